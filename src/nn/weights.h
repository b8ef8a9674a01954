/* weights.h: Pulmo's model file (docs/model-format.md): the U-Net's
 * architecture, the preprocessing it expects, its label table and all named
 * tensors, little-endian, with a CRC-32 over the contents.
 *
 * The loader trusts nothing in the file: every size is checked before it is
 * used, names and shapes must match the architecture exactly, and any
 * damaged, truncated or mismatched file gives a PULMO_ERROR naming the file
 * and the problem. Files are written atomically (temporary file in the same
 * folder, fsync, rename). */
#pragma once

#include "nn/unet.h"

G_BEGIN_DECLS

#define PULMO_WEIGHTS_VERSION 1
#define PULMO_WEIGHTS_MAX_SIZE 4096   /* largest input width or height */

/* Output class i of the model writes label value labels[i].value. */
typedef struct {
  guint8 value;
  guint8 rgba[4];
  char *name;        /* UTF-8, 1 to 255 bytes */
} PulmoModelLabel;

typedef struct {
  /* Intensities are clamped to [low, high] and mapped linearly to [0, 1]:
   * in HU for CT stored in HU, in stored grey values for pre-windowed 8-bit CT. */
  float window_hu_low, window_hu_high;
  float window_gray8_low, window_gray8_high;
  int input_width, input_height;   /* slices are resampled to this size */
  int n_slices;                    /* adjacent slices per input: the U-Net's in_channels */
  int n_labels;                    /* one per output class */
  PulmoModelLabel *labels;
} PulmoModelInfo;

/* Frees the label names and array, and zeroes @info. */
void pulmo_model_info_clear (PulmoModelInfo *info);
/* FALSE with PULMO_ERROR_INVALID if @info does not fit @config (window
 * order, input size a multiple of 2^depth, slices, one label per class with
 * distinct values, name lengths). */
gboolean pulmo_model_info_check (const PulmoModelInfo *info, const PulmoUNetConfig *config,
                                 GError **error);

gboolean pulmo_weights_save (const char *path, const PulmoUNet *net, const PulmoModelInfo *info,
                             GError **error);
/* A new U-Net with the file's architecture and values, and @info filled in
 * (clear it with pulmo_model_info_clear()). NULL and @error on any problem. */
PulmoUNet *pulmo_weights_load (const char *path, PulmoModelInfo *info, GError **error);
/* The same from bytes in memory; @display_name stands for the file in messages. */
PulmoUNet *pulmo_weights_load_bytes (const guint8 *data, gsize size, const char *display_name,
                                     PulmoModelInfo *info, GError **error);

G_END_DECLS
