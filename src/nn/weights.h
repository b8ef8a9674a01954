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

/* Version 2 adds the normalisation and local-contrast step; version 1 files
 * still load, as a linear window without local contrast. */
#define PULMO_WEIGHTS_VERSION 2
#define PULMO_WEIGHTS_MAX_SIZE 4096   /* largest input width or height */

/* Output class i of the model writes label value labels[i].value. */
typedef struct {
  guint8 value;
  guint8 rgba[4];
  char *name;        /* UTF-8, 1 to 255 bytes */
} PulmoModelLabel;

/* How a slice's intensities become the network's input (src/segment/preprocess.h). */
typedef enum {
  /* Clamp to the window, map linearly to [0, 1] (version 1's only kind). */
  PULMO_NORMALISE_WINDOW = 0,
  /* Clamp to the window, then the slice's own minimum..maximum to 0..255 in
   * 8-bit steps, then local contrast (CLAHE) if clahe_clip > 0, then / 255. */
  PULMO_NORMALISE_SLICE_MINMAX = 1,
} PulmoNormalisation;

typedef struct {
  PulmoNormalisation normalisation;
  /* Intensities are clamped to [low, high]: in HU for CT stored in HU, in
   * stored grey values for pre-windowed 8-bit CT. */
  float window_hu_low, window_hu_high;
  float window_gray8_low, window_gray8_high;
  /* Contrast-limited adaptive histogram equalisation (Zuiderveld 1994, as
   * OpenCV's createCLAHE): clip limit in multiples of the mean bin height, 0
   * for none, on a clahe_tiles × clahe_tiles grid (1..64). */
  float clahe_clip;
  int clahe_tiles;
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

/* The file's bytes in memory (for checkpoints that embed a model). */
GBytes *pulmo_weights_to_bytes (const PulmoUNet *net, const PulmoModelInfo *info, GError **error);
gboolean pulmo_weights_save (const char *path, const PulmoUNet *net, const PulmoModelInfo *info,
                             GError **error);
/* A new U-Net with the file's architecture and values, and @info filled in
 * (clear it with pulmo_model_info_clear()). NULL and @error on any problem. */
PulmoUNet *pulmo_weights_load (const char *path, PulmoModelInfo *info, GError **error);
/* The same from bytes in memory; @display_name stands for the file in messages. */
PulmoUNet *pulmo_weights_load_bytes (const guint8 *data, gsize size, const char *display_name,
                                     PulmoModelInfo *info, GError **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PulmoModelInfo, pulmo_model_info_clear)

G_END_DECLS
