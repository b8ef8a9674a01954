/* samples.h: a dataset's preprocessed slices as NumPy arrays, so that other
 * trainers (tools/train_pytorch.py on a GPU cluster) see exactly the input
 * Pulmo's one preprocessing gives, with no second copy of it. Writes into
 * @out_dir (made if missing):
 *   images.npy  uint8  (N, H, W)  the network's input × 255
 *   masks.npy   uint16 (N, H, W)  per pixel, the classes its label allows
 *                                 (bit c: class c; nn/label-mask.h)
 *   cases.json  the case id, first sample and sample count of every case. */
#pragma once

#include "train/dataset.h"

G_BEGIN_DECLS

gboolean pulmo_samples_write (const PulmoDataset *dataset, int n_classes, const char *out_dir,
                              GError **error);

G_END_DECLS
