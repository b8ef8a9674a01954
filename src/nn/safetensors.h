/* safetensors.h: Pulmo's model in the safetensors format that PyTorch tools
 * read (https://github.com/huggingface/safetensors): a little-endian u64
 * header size, a JSON header naming each tensor's dtype, shape and byte
 * range, then the tensors. Tensor names and shapes are PyTorch's state_dict
 * keys of tests/anchors/pytorch_unet.py (F32); the architecture, the
 * preprocessing and the label table travel as strings in "__metadata__", so
 * that a model goes to a GPU cluster and back without losing a bit.
 *
 * The reader trusts nothing: header size, JSON, dtypes, shapes and byte
 * ranges are checked before use, and every value must be finite. */
#pragma once

#include "nn/weights.h"

G_BEGIN_DECLS

GBytes *pulmo_safetensors_from_unet (const PulmoUNet *net, const PulmoModelInfo *info, GError **error);
/* A new U-Net and its @info from safetensors bytes; @display_name stands for
 * the file in messages. Tensors named "*.num_batches_tracked" (PyTorch's
 * BN counters) are ignored; any other name must be the architecture's. */
PulmoUNet *pulmo_safetensors_to_unet (const guint8 *data, gsize size, const char *display_name,
                                      PulmoModelInfo *info, GError **error);

G_END_DECLS
