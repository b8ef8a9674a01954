/* preprocess.h: the one preprocessing, from a slice of a PulmoVolume to the
 * network's input, used by training, evaluation, inference and fine-tuning.
 *
 * A slice is taken in the model's axial orientation (core/geometry.c's axial
 * reslice: patient's left to the right of the image, posterior down), then:
 *   1. fitted into input_width × input_height: scaled by one factor in mm (so
 *      the anatomy keeps its aspect), centred, the rest padded as air;
 *   2. clamped to the model's window (HU, or grey values for pre-windowed
 *      8-bit CT) and, for SLICE_MINMAX, stretched from the slice's own
 *      minimum..maximum to 0..255 in whole 8-bit steps — what the Zenodo
 *      COVID-19-CT-Seg images went through (per-slice min-max, × 255, uint8);
 *   3. for CT in HU (or of unknown scale), local contrast by CLAHE (clip
 *      limit and tiles from the model file), as those images had (OpenCV
 *      createCLAHE, clip 7, 8×8 tiles; pulmo_clahe gives OpenCV 4.6's
 *      bytes exactly). Pre-windowed 8-bit images were made for display and
 *      are left without: the COVID-19-CT-Seg slices already carry theirs;
 *      training shows the model 8-bit slices with and without it;
 *   4. divided by 255 to [0, 1].
 * The parameters all come from PulmoModelInfo, so a model and its
 * preprocessing cannot disagree. */
#pragma once

#include <stdint.h>

#include "core/geometry.h"
#include "core/pulmo-volume.h"
#include "nn/weights.h"

G_BEGIN_DECLS

/* Where a slice of src_width × src_height pixels lies in the model's input:
 * input x = src x · scale_x + offset_x (pixel centres at integer + 0.5 on both
 * sides). */
typedef struct {
  int src_width, src_height;
  int input_width, input_height;
  double scale_x, scale_y;
  double offset_x, offset_y;
} PulmoSliceFit;

/* The fit of a slice whose pixels are @spacing_x × @spacing_y mm (any
 * positive values; 1 × 1 when unknown). */
void pulmo_slice_fit_init (PulmoSliceFit *fit, int src_width, int src_height,
                           double spacing_x, double spacing_y, int input_width, int input_height);

/* The axial reslice of @volume and the fit of its slices into @info's input. */
void pulmo_preprocess_axial (const PulmoVolume *volume, const PulmoModelInfo *info,
                             PulmoReslice *axial, PulmoSliceFit *fit);

/* A slice's raw values (HU or grey) in the axial reslice of @volume, as
 * floats: @values holds reslice->width × reslice->height, row by row. */
void pulmo_preprocess_extract (const PulmoVolume *volume, const PulmoReslice *reslice, int slice,
                               float *values);

/* The same slice of a uint8 label array on the volume's grid (@dims). */
void pulmo_preprocess_extract_labels (const uint8_t *labels, const int dims[3],
                                      const PulmoReslice *reslice, int slice, uint8_t *values);

/* Steps 1–4 above on one extracted slice of intensity @kind. @input holds
 * info->input_width × input_height floats. */
void pulmo_preprocess_slice (const PulmoModelInfo *info, PulmoIntensityKind kind,
                             const float *values, const PulmoSliceFit *fit, float *input);

/* The same slice's labels on the input grid, nearest neighbour; padding is
 * background (0). For training. */
void pulmo_preprocess_labels (const uint8_t *labels, const PulmoSliceFit *fit, uint8_t *input_labels);

/* Contrast-limited adaptive histogram equalisation of an 8-bit image on a
 * tiles_x × tiles_y grid: each tile's histogram is clipped at
 * max(1, clip_limit · tile pixels / 256) counts, the excess spread over all
 * bins, the cumulative histogram scaled to 0..255 is the tile's mapping, and
 * each pixel blends the mappings of its four nearest tile centres
 * bilinearly. Images not divisible by the grid are extended by mirroring
 * (without repeating the edge pixel) for the histograms, as OpenCV does.
 * @in and @out may not overlap. */
void pulmo_clahe (const uint8_t *in, int width, int height, float clip_limit, int tiles_x,
                  int tiles_y, uint8_t *out);

G_END_DECLS
