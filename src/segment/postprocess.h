/* postprocess.h: from the network's per-voxel decisions to the label map a
 * radiologist reads, in DESIGN.md's convention.
 *
 * The network knows lung, ground glass and consolidation, not sides, and its
 * decisions are per slice. Post-processing works on the whole volume:
 *   1. the lung region (lung and lesion voxels) as 3D components (6-connected);
 *      the two lungs are the two largest, or, where they touch, the largest
 *      split at its thinnest in-plane bridge (erosion until it falls apart,
 *      then both parts grown back through the region); everything else goes;
 *   2. right and left from the CT's orientation: the part whose centre lies
 *      further toward the patient's right (RAS +x) is the right lung;
 *   3. lesion islands smaller than min_lesion_mm3 become lung parenchyma;
 *   4. holes enclosed by a lung in an axial plane are filled as that lung.
 * Lesions keep their values 3 and 4 and lie only inside the kept lungs;
 * pleural effusion (5) is left as it is. */
#pragma once

#include <stdint.h>

#include "core/pulmo-volume.h"

G_BEGIN_DECLS

typedef struct {
  double min_lesion_mm3;   /* smaller lesion islands are dropped */
} PulmoPostprocessOptions;

/* The defaults: a lesion must be at least as big as a sphere 4 mm across. */
void pulmo_postprocess_options_init (PulmoPostprocessOptions *options);

/* Rewrites @labels (one per voxel of @ct, storage order) in place. Input
 * values 1, 2 and 6 count as lung, 3 and 4 as lesion. FALSE with a message
 * only for volumes too large to index. */
gboolean pulmo_postprocess (PulmoVolume *ct, uint8_t *labels, const PulmoPostprocessOptions *options,
                            GError **error);

G_END_DECLS
