/* segment.h: a model over a whole CT — every axial slice through the one
 * preprocessing, the network, and back onto the CT's own grid.
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

G_BEGIN_DECLS

/* Writes one label value per voxel of @volume to @labels (in storage order).
 * Progress counts slices. FALSE with G_IO_ERROR_CANCELLED when cancelled. */
gboolean pulmo_segment_volume (PulmoUNet *net, const PulmoModelInfo *info, PulmoVolume *volume,
                               uint8_t *labels, PulmoProgress *progress,
                               GCancellable *cancellable, GError **error);

G_END_DECLS
