/* segment.h: a model over a whole CT — every axial slice through the one
 * preprocessing, the network, and back onto the CT's own grid — and then
 * post-processing, the pipeline that the app and `pulmo segment` share.
 *
 * The class probabilities are resampled to the slice's pixels (bilinearly,
 * from the model's input grid) before the decision, so edges are as fine as
 * the CT's, and each voxel takes the label value of its most probable class. */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

#include "core/pulmo-progress.h"
#include "core/pulmo-volume.h"
#include "nn/unet.h"
#include "nn/weights.h"
#include "segment/postprocess.h"

G_BEGIN_DECLS

/* Seconds spent in each phase, added to as the work goes on. */
typedef struct {
  double preprocess_s;    /* extraction from the CT, fit, window, CLAHE */
  double inference_s;     /* the network and its softmax */
  double resample_s;      /* probabilities to the CT's pixels, decision, scatter */
  double postprocess_s;
} PulmoSegmentTimes;

/* How unsure the model is inside the lungs, for ordering a review queue
 * (train/review-queue.h). Measured on the model's input grid, per slice, from
 * the softmax the network gave (before resampling to the CT's pixels and
 * before post-processing):
 *   - the pixels counted are those of the slice itself (not the padding
 *     around it) whose most probable class has a label value inside the
 *     lungs: right or left lung, ground glass, consolidation, or the partial
 *     values 6 and 7 (not background, not pleural effusion);
 *   - each counts its entropy -Σ_c p_c ln p_c divided by ln(n_classes), so
 *     0 is a certain pixel and 1 one where every class is equally likely;
 *   - mean_entropy is the mean over all counted pixels of every slice.
 * Slices are summed in slice order whatever order they ran in, so the same
 * CT and model always give the same figure. */
typedef struct {
  double mean_entropy;   /* 0..1; 0 when n_pixels is 0 */
  guint64 n_pixels;      /* counted pixels on the model's grid, all slices */
} PulmoSegmentUncertainty;

/* Called on the worker thread once axial @slice (in core/geometry.c's axial
 * reslice of the CT) is written to the labels. */
typedef void (*PulmoSegmentSliceDone) (int slice, void *user_data);

typedef struct {
  /* The axial slice to segment first, the one on screen; the others follow
   * nearest first, alternating above and below. -1 starts at the middle. */
  int first_slice;
  PulmoSegmentSliceDone slice_done;
  void *user_data;
  gboolean postprocess;            /* pulmo_segment_ct only */
  PulmoPostprocessOptions postprocess_options;
  PulmoSegmentTimes *times;        /* NULL when nobody is measuring */
  /* Filled in when segmentation succeeds; NULL: not measured, at no cost. */
  PulmoSegmentUncertainty *uncertainty;
} PulmoSegmentOptions;

/* Defaults: start at the middle, post-process with its defaults, no callbacks. */
void pulmo_segment_options_init (PulmoSegmentOptions *options);

/* The @index-th slice (0-based) of @n_slices to segment when starting at
 * @first: first, first+1, first-1, first+2, … skipping those outside. */
int pulmo_segment_slice_order (int n_slices, int first, int index);

/* Writes the network's label value per voxel of @volume to @labels (in
 * storage order, one byte per voxel). Progress counts slices. FALSE with
 * G_IO_ERROR_CANCELLED when cancelled; @labels then holds a partial result. */
gboolean pulmo_segment_volume (PulmoUNet *net, const PulmoModelInfo *info, PulmoVolume *volume,
                               uint8_t *labels, const PulmoSegmentOptions *options,
                               PulmoProgress *progress, GCancellable *cancellable, GError **error);

/* pulmo_segment_volume, then (if options->postprocess) post-processing: the
 * label map a radiologist reads, in DESIGN.md's convention. */
gboolean pulmo_segment_ct (PulmoUNet *net, const PulmoModelInfo *info, PulmoVolume *volume,
                           uint8_t *labels, const PulmoSegmentOptions *options,
                           PulmoProgress *progress, GCancellable *cancellable, GError **error);

G_END_DECLS
