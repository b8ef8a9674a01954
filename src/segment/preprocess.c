/* preprocess.c: the one preprocessing (see preprocess.h). */
#include "segment/preprocess.h"

#include <math.h>
#include <string.h>

#include "nn/parallel.h"

#define HIST_BINS 256

void
pulmo_slice_fit_init (PulmoSliceFit *fit, int src_width, int src_height, double spacing_x,
                      double spacing_y, int input_width, int input_height)
{
  g_return_if_fail (src_width > 0 && src_height > 0 && input_width > 0 && input_height > 0);
  if (!(spacing_x > 0) || !isfinite (spacing_x) || !(spacing_y > 0) || !isfinite (spacing_y))
    spacing_x = spacing_y = 1;
  /* Input pixels per mm: the whole slice fits, the anatomy keeps its aspect. */
  double per_mm = MIN (input_width / (src_width * spacing_x), input_height / (src_height * spacing_y));
  fit->src_width = src_width;
  fit->src_height = src_height;
  fit->input_width = input_width;
  fit->input_height = input_height;
  fit->scale_x = per_mm * spacing_x;
  fit->scale_y = per_mm * spacing_y;
  fit->offset_x = (input_width - src_width * fit->scale_x) / 2;
  fit->offset_y = (input_height - src_height * fit->scale_y) / 2;
}

void
pulmo_preprocess_axial (const PulmoVolume *volume, const PulmoModelInfo *info,
                        PulmoReslice *axial, PulmoSliceFit *fit)
{
  int dims[3];
  pulmo_volume_get_dims (volume, dims);
  pulmo_reslice_init (axial, PULMO_VIEW_AXIAL, pulmo_volume_get_affine (volume), dims);
  pulmo_slice_fit_init (fit, axial->width, axial->height, axial->u_spacing_mm, axial->v_spacing_mm,
                        info->input_width, info->input_height);
}

typedef struct {
  const PulmoVolume *volume;
  const PulmoReslice *reslice;
  int slice;
  float *values;
} Extract;

static void
extract_rows (void *ctx, int begin, int end, int worker)
{
  const Extract *e = ctx;
  int dims[3];
  pulmo_volume_get_dims (e->volume, dims);
  const int16_t *hu = pulmo_volume_get_int16 (e->volume);
  const float *real = pulmo_volume_get_float (e->volume);
  for (int v = begin; v < end; v++)
    {
      gint64 index, step;
      pulmo_reslice_row (e->reslice, dims, e->slice, v, &index, &step);
      float *row = e->values + (size_t) v * e->reslice->width;
      if (hu != NULL)
        for (int u = 0; u < e->reslice->width; u++, index += step)
          row[u] = hu[index];
      else
        for (int u = 0; u < e->reslice->width; u++, index += step)
          row[u] = real[index];
    }
}

/* Rows on all cores: the reads stride through the volume. */
void
pulmo_preprocess_extract (const PulmoVolume *volume, const PulmoReslice *reslice, int slice,
                          float *values)
{
  Extract e = { volume, reslice, slice, values };
  pulmo_parallel_for (reslice->height, extract_rows, &e);
}

void
pulmo_preprocess_extract_labels (const uint8_t *labels, const int dims[3],
                                 const PulmoReslice *reslice, int slice, uint8_t *values)
{
  for (int v = 0; v < reslice->height; v++)
    {
      gint64 index, step;
      pulmo_reslice_row (reslice, dims, slice, v, &index, &step);
      uint8_t *row = values + (size_t) v * reslice->width;
      for (int u = 0; u < reslice->width; u++, index += step)
        row[u] = labels[index];
    }
}

/* One bilinear tap along an axis: the two source pixels and the weight of
 * the second, at pixel-centre coordinate @c, edges extended. */
typedef struct {
  int i0, i1;
  float w;
} Tap;

static Tap
tap_at (double c, int size)
{
  c = CLAMP (c, 0, size - 1);
  Tap t;
  t.i0 = MIN ((int) c, size - 2 < 0 ? 0 : size - 2);
  t.i1 = MIN (t.i0 + 1, size - 1);
  t.w = (float) (c - t.i0);
  return t;
}

typedef struct {
  const float *values;
  const PulmoSliceFit *fit;
  float low, high;
  float *input;
} Resample;

static void
resample_rows (void *ctx, int begin, int end, int worker)
{
  const Resample *r = ctx;
  const PulmoSliceFit *fit = r->fit;
  int fx = fit->scale_x < 1 ? (int) ceil (1 / fit->scale_x - 1e-6) : 1;
  int fy = fit->scale_y < 1 ? (int) ceil (1 / fit->scale_y - 1e-6) : 1;
  int width = fit->input_width;
  /* The taps depend on the column or the row alone: worked out once, not per pixel. */
  g_autofree Tap *column_taps = g_new (Tap, (gsize) width * fx);
  g_autofree gboolean *column_inside = g_new (gboolean, width);
  for (int x = 0; x < width; x++)
    {
      double cx = (x + 0.5 - fit->offset_x) / fit->scale_x;
      column_inside[x] = cx >= 0 && cx <= fit->src_width;
      for (int sx = 0; sx < fx; sx++)
        column_taps[x * fx + sx] = tap_at ((x + (sx + 0.5) / fx - fit->offset_x) / fit->scale_x - 0.5,
                                           fit->src_width);
    }
  g_autofree Tap *row_taps = g_new (Tap, fy);
  for (int y = begin; y < end; y++)
    {
      double cy = (y + 0.5 - fit->offset_y) / fit->scale_y;
      gboolean row_inside = cy >= 0 && cy <= fit->src_height;
      for (int sy = 0; sy < fy; sy++)
        row_taps[sy] = tap_at ((y + (sy + 0.5) / fy - fit->offset_y) / fit->scale_y - 0.5, fit->src_height);
      float *out = &r->input[(size_t) y * width];
      for (int x = 0; x < width; x++)
        {
          if (!row_inside || !column_inside[x])
            {
              out[x] = NAN;
              continue;
            }
          double sum = 0;
          for (int sy = 0; sy < fy; sy++)
            {
              const Tap *ty = &row_taps[sy];
              const float *r0 = r->values + (size_t) ty->i0 * fit->src_width;
              const float *r1 = r->values + (size_t) ty->i1 * fit->src_width;
              for (int sx = 0; sx < fx; sx++)
                {
                  const Tap *tx = &column_taps[x * fx + sx];
                  float a = CLAMP (r0[tx->i0], r->low, r->high), b = CLAMP (r0[tx->i1], r->low, r->high);
                  float c = CLAMP (r1[tx->i0], r->low, r->high), d = CLAMP (r1[tx->i1], r->low, r->high);
                  sum += (a + (b - a) * tx->w) * (1 - ty->w) + (c + (d - c) * tx->w) * ty->w;
                }
            }
          out[x] = (float) (sum / (fx * fy));
        }
    }
}

/* Resamples the clamped slice into the input grid, rows on all cores; pixels
 * outside the slice become NAN. Shrinking averages f × f bilinear samples per
 * pixel so that a large slice is not aliased. */
static void
resample_into_input (const float *values, const PulmoSliceFit *fit, float low, float high,
                     float *input)
{
  Resample r = { values, fit, low, high, input };
  pulmo_parallel_for (fit->input_height, resample_rows, &r);
}

void
pulmo_preprocess_slice (const PulmoModelInfo *info, PulmoIntensityKind kind, const float *values,
                        const PulmoSliceFit *fit, float *input)
{
  g_return_if_fail (fit->input_width == info->input_width && fit->input_height == info->input_height);
  gboolean hu = kind != PULMO_INTENSITY_PREWINDOWED_8BIT;
  float low = hu ? info->window_hu_low : info->window_gray8_low;
  float high = hu ? info->window_hu_high : info->window_gray8_high;
  size_t n = (size_t) info->input_width * info->input_height;

  resample_into_input (values, fit, low, high, input);

  if (info->normalisation == PULMO_NORMALISE_SLICE_MINMAX)
    {
      float min = high, max = low;
      for (size_t i = 0; i < n; i++)
        if (!isnan (input[i]))
          {
            min = MIN (min, input[i]);
            max = MAX (max, input[i]);
          }
      low = min;
      high = max > min ? max : min + 1;
    }
  /* To [0, 1]; padding is the darkest value, as air is. */
  float scale = 1 / (high - low);
  for (size_t i = 0; i < n; i++)
    input[i] = isnan (input[i]) ? 0 : CLAMP ((input[i] - low) * scale, 0, 1);

  /* A pre-windowed 8-bit image was made for display and may carry its own
   * local contrast already (the COVID-19-CT-Seg slices do; a second CLAHE
   * changes them by about 30 grey levels on average): only HU get it. */
  gboolean local_contrast = info->clahe_clip > 0 && hu;
  if (info->normalisation == PULMO_NORMALISE_WINDOW && !local_contrast)
    return;
  /* 8-bit steps, as the images the models learn from were stored. */
  g_autofree uint8_t *grey = g_malloc (n);
  for (size_t i = 0; i < n; i++)
    grey[i] = (uint8_t) lrintf (input[i] * 255);
  if (local_contrast)
    {
      g_autofree uint8_t *equalised = g_malloc (n);
      pulmo_clahe (grey, info->input_width, info->input_height, info->clahe_clip, info->clahe_tiles,
                   info->clahe_tiles, equalised);
      memcpy (grey, equalised, n);
    }
  for (size_t i = 0; i < n; i++)
    input[i] = grey[i] * (1.0f / 255);
}

void
pulmo_preprocess_labels (const uint8_t *labels, const PulmoSliceFit *fit, uint8_t *input_labels)
{
  for (int y = 0; y < fit->input_height; y++)
    {
      double cy = (y + 0.5 - fit->offset_y) / fit->scale_y;
      int sy = (int) floor (cy);
      for (int x = 0; x < fit->input_width; x++)
        {
          double cx = (x + 0.5 - fit->offset_x) / fit->scale_x;
          int sx = (int) floor (cx);
          gboolean inside = sx >= 0 && sy >= 0 && sx < fit->src_width && sy < fit->src_height;
          input_labels[(size_t) y * fit->input_width + x] =
            inside ? labels[(size_t) sy * fit->src_width + sx] : 0;
        }
    }
}

/* ---- CLAHE ------------------------------------------------------------- */

/* Index into an axis of @size extended by mirroring without repeating the edge. */
static int
mirror_101 (int i, int size)
{
  if (size == 1)
    return 0;
  while (i < 0 || i >= size)
    i = i < 0 ? -i : 2 * size - 2 - i;
  return i;
}

/* One tile's mapping: clipped, redistributed, cumulative histogram. */
static void
tile_mapping (const uint8_t *in, int width, int height, int x0, int y0, int tile_w, int tile_h,
              int clip, uint8_t lut[HIST_BINS])
{
  int hist[HIST_BINS] = { 0 };
  for (int y = y0; y < y0 + tile_h; y++)
    {
      const uint8_t *row = in + (size_t) mirror_101 (y, height) * width;
      if (x0 + tile_w <= width)
        for (int x = x0; x < x0 + tile_w; x++)
          hist[row[x]]++;
      else
        for (int x = x0; x < x0 + tile_w; x++)
          hist[row[mirror_101 (x, width)]]++;
    }

  int excess = 0;
  for (int b = 0; b < HIST_BINS; b++)
    if (hist[b] > clip)
      {
        excess += hist[b] - clip;
        hist[b] = clip;
      }
  int batch = excess / HIST_BINS, residual = excess - batch * HIST_BINS;
  for (int b = 0; b < HIST_BINS; b++)
    hist[b] += batch;
  /* The remainder goes one count at a time to bins spread over the range. */
  if (residual > 0)
    for (int b = 0, step = MAX (HIST_BINS / residual, 1); b < HIST_BINS && residual > 0;
         b += step, residual--)
      hist[b]++;

  float scale = (float) (HIST_BINS - 1) / ((float) tile_w * tile_h);
  int sum = 0;
  for (int b = 0; b < HIST_BINS; b++)
    {
      sum += hist[b];
      lut[b] = (uint8_t) CLAMP (lrintf (sum * scale), 0, 255);
    }
}

void
pulmo_clahe (const uint8_t *in, int width, int height, float clip_limit, int tiles_x, int tiles_y,
             uint8_t *out)
{
  g_return_if_fail (width > 0 && height > 0 && tiles_x > 0 && tiles_y > 0);
  /* The grid covers the image extended to a multiple of the tile count. */
  int tile_w = (width + tiles_x - 1) / tiles_x;
  int tile_h = (height + tiles_y - 1) / tiles_y;
  int clip = MAX ((int) (clip_limit * tile_w * tile_h / HIST_BINS), 1);

  g_autofree uint8_t *luts = g_malloc ((size_t) tiles_x * tiles_y * HIST_BINS);
  for (int ty = 0; ty < tiles_y; ty++)
    for (int tx = 0; tx < tiles_x; tx++)
      tile_mapping (in, width, height, tx * tile_w, ty * tile_h, tile_w, tile_h, clip,
                    luts + ((size_t) ty * tiles_x + tx) * HIST_BINS);

  /* Per column: the two tile columns it blends and the weight of the second. */
  g_autofree int *col_lo = g_new (int, width);
  g_autofree int *col_hi = g_new (int, width);
  g_autofree float *col_w = g_new (float, width);
  for (int x = 0; x < width; x++)
    {
      float t = x * (1.0f / tile_w) - 0.5f;
      int t0 = (int) floorf (t);
      col_w[x] = t - t0;
      col_lo[x] = MAX (t0, 0);
      col_hi[x] = MIN (t0 + 1, tiles_x - 1);
    }
  for (int y = 0; y < height; y++)
    {
      float t = y * (1.0f / tile_h) - 0.5f;
      int t0 = (int) floorf (t);
      float wy = t - t0;
      const uint8_t *top = luts + (size_t) MAX (t0, 0) * tiles_x * HIST_BINS;
      const uint8_t *bottom = luts + (size_t) MIN (t0 + 1, tiles_y - 1) * tiles_x * HIST_BINS;
      const uint8_t *row = in + (size_t) y * width;
      uint8_t *dst = out + (size_t) y * width;
      for (int x = 0; x < width; x++)
        {
          int v = row[x];
          const float wx = col_w[x];
          float upper = top[col_lo[x] * HIST_BINS + v] * (1 - wx) + top[col_hi[x] * HIST_BINS + v] * wx;
          float lower = bottom[col_lo[x] * HIST_BINS + v] * (1 - wx)
                        + bottom[col_hi[x] * HIST_BINS + v] * wx;
          dst[x] = (uint8_t) CLAMP (lrintf (upper * (1 - wy) + lower * wy), 0, 255);
        }
    }
}
