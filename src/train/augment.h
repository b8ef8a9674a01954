/* augment.h: random changes to a training sample, so that a few hundred
 * slices teach a model what varies between scanners, patients and sources.
 *
 * Spatial (image and labels through one mapping, so they stay aligned):
 *   a random 90° rotation and flip (the sources differ in orientation; left
 *   and right come from the CT's geometry later, not from the network), a
 *   small rotation, scaling, a shift, and a smooth elastic deformation.
 *   The image is sampled bilinearly, the labels by nearest neighbour; what
 *   comes from outside the slice is air (0) and background.
 * Intensity (image only): contrast, brightness, gamma, blur (as a thick or
 *   low-resolution scan looks) and noise.
 * Acquisition (the 8-bit slice, before the local contrast preprocessing may
 *   give it, which amplifies what the scanner recorded): a coarser pixel grid
 *   and low-dose noise. */
#pragma once

#include <stdint.h>

#include "nn/rng.h"

G_BEGIN_DECLS

typedef struct {
  gboolean spatial;
  gboolean intensity;
} PulmoAugmentOptions;

/* @image: width × height values in [0, 1]; @labels: label values. Writes the
 * transformed sample to @out_image and @out_labels (no overlap with the
 * inputs). All randomness comes from @rng. */
void pulmo_augment (PulmoRng *rng, const PulmoAugmentOptions *options, const float *image,
                    const uint8_t *labels, int width, int height, float *out_image,
                    uint8_t *out_labels);

/* With some probability, writes @grey (width × height, 8-bit) as a coarser
 * or noisier scan would have recorded it to @out and returns TRUE; otherwise
 * leaves @out alone and returns FALSE. Labels need no change: the anatomy
 * stays where it was. */
gboolean pulmo_augment_acquisition (PulmoRng *rng, const uint8_t *grey, int width, int height,
                                    uint8_t *out);

G_END_DECLS
