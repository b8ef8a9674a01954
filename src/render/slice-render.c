#include "render/slice-render.h"

#include <string.h>

struct _PulmoSliceRenderer {
  /* Grey pixel for every int16 value, indexed by value + 32768: one load per voxel. */
  uint32_t grey_lut[65536];
  double lut_window, lut_level;
  gboolean lut_valid;
  /* Three gathered label rows (above, current, below) for the overlay. */
  uint8_t *label_rows;
  int label_rows_width;
  /* A slab's projected row and the sums or extremes behind it. */
  float *slab_row;
  int16_t *slab_extremes;
  int32_t *slab_sums;
  int slab_width;
};

/* Per label value: its blending weight out of 256, and its colour premultiplied by it. */
typedef struct {
  uint16_t alpha[256];
  uint32_t red[256], green[256], blue[256];
} OverlayColours;

PulmoSliceRenderer *
pulmo_slice_renderer_new (void)
{
  return g_new0 (PulmoSliceRenderer, 1);
}

void
pulmo_slice_renderer_free (PulmoSliceRenderer *renderer)
{
  if (renderer == NULL)
    return;
  g_free (renderer->label_rows);
  g_free (renderer->slab_row);
  g_free (renderer->slab_extremes);
  g_free (renderer->slab_sums);
  g_free (renderer);
}

/* The linear ramp both paths share: grey = value * scale + offset, clamped. */
static void
window_ramp (double window, double level, float *scale, float *offset)
{
  window = MAX (window, 1e-3);
  double low = level - window / 2.0;
  *scale = (float) (255.0 / window);
  *offset = (float) (-low * 255.0 / window + 0.5);
}

static inline uint8_t
ramp_grey (float value, float scale, float offset)
{
  float grey = value * scale + offset;
  grey = grey > 0.0f ? grey : 0.0f; /* also maps NaN to black */
  grey = grey < 255.0f ? grey : 255.0f;
  return (uint8_t) grey;
}

uint8_t
pulmo_window_grey (double value, double window, double level)
{
  float scale, offset;
  window_ramp (window, level, &scale, &offset);
  return ramp_grey ((float) value, scale, offset);
}

static inline uint32_t
grey_pixel (uint32_t grey)
{
  return 0xff000000u | grey << 16 | grey << 8 | grey;
}

static void
ensure_grey_lut (PulmoSliceRenderer *renderer, double window, double level)
{
  if (renderer->lut_valid && renderer->lut_window == window && renderer->lut_level == level)
    return;
  float scale, offset;
  window_ramp (window, level, &scale, &offset);
  for (int value = -32768; value <= 32767; value++)
    renderer->grey_lut[value + 32768] = grey_pixel (ramp_grey ((float) value, scale, offset));
  renderer->lut_window = window;
  renderer->lut_level = level;
  renderer->lut_valid = TRUE;
}

static void
overlay_colours_init (OverlayColours *colours, const PulmoLabelTable *table, double opacity)
{
  opacity = CLAMP (opacity, 0.0, 1.0);
  for (int value = 0; value < 256; value++)
    {
      const PulmoLabel *label = pulmo_label_table_get (table, (uint8_t) value);
      uint32_t alpha = 0;
      if (value != 0 && label->defined && label->visible)
        alpha = (uint32_t) (label->rgba[3] * opacity * 256.0 / 255.0 + 0.5);
      colours->alpha[value] = (uint16_t) MIN (alpha, 256u);
      colours->red[value] = label->rgba[0] * colours->alpha[value];
      colours->green[value] = label->rgba[1] * colours->alpha[value];
      colours->blue[value] = label->rgba[2] * colours->alpha[value];
    }
}

/* The labels a display row shows: one slice's, or their projection through
 * @n_slices slices @slice_step apart. */
static void
gather_labels (const uint8_t *labels, ptrdiff_t start, ptrdiff_t step, ptrdiff_t slice_step, int n_slices,
               const PulmoSlabLabelOrder *order, int width, uint8_t *row)
{
  if (n_slices > 1)
    pulmo_slab_project_labels (labels, start, step, slice_step, n_slices, width, order, row);
  else if (step == 1)
    memcpy (row, labels + start, (size_t) width);
  else
    for (int u = 0; u < width; u++)
      row[u] = labels[start + u * step];
}

/* The label colour over @pixel, premultiplied: an opaque grey pixel stays
 * opaque, a transparent one takes the label's own alpha. */
static inline uint32_t
blend (uint32_t pixel, const OverlayColours *colours, uint8_t value)
{
  uint32_t keep = 256 - colours->alpha[value];
  uint32_t alpha = ((pixel >> 24) * keep + 255 * colours->alpha[value]) >> 8;
  uint32_t red = (((pixel >> 16) & 0xff) * keep + colours->red[value]) >> 8;
  uint32_t green = (((pixel >> 8) & 0xff) * keep + colours->green[value]) >> 8;
  uint32_t blue = ((pixel & 0xff) * keep + colours->blue[value]) >> 8;
  return alpha << 24 | red << 16 | green << 8 | blue;
}

static void
blend_fill_row (uint32_t *out, const uint8_t *labels, int width, const OverlayColours *colours)
{
  for (int u = 0; u < width; u++)
    if (labels[u] != 0)
      out[u] = blend (out[u], colours, labels[u]);
}

/* A labelled voxel is on the outline when one of its four in-plane neighbours
 * holds another value; the slice's own edges do not count as a boundary. */
static void
blend_outline_row (uint32_t *out, const uint8_t *above, const uint8_t *row, const uint8_t *below,
                   int width, const OverlayColours *colours)
{
  for (int u = 0; u < width; u++)
    {
      uint8_t value = row[u];
      if (value == 0)
        continue;
      uint8_t left = u > 0 ? row[u - 1] : value;
      uint8_t right = u + 1 < width ? row[u + 1] : value;
      if (left != value || right != value || above[u] != value || below[u] != value)
        out[u] = blend (out[u], colours, value);
    }
}

void
pulmo_slice_renderer_render (PulmoSliceRenderer *renderer, const PulmoVolume *volume,
                             const PulmoReslice *reslice, int slice,
                             const PulmoRenderParams *params, uint32_t *pixels, int stride_bytes)
{
  g_return_if_fail (renderer != NULL && volume != NULL && reslice != NULL && params != NULL);
  g_return_if_fail (slice >= 0 && slice < reslice->n_slices);
  g_return_if_fail (params->labels == NULL || params->table != NULL);

  int dims[3];
  pulmo_volume_get_dims (volume, dims);
  const ptrdiff_t axis_stride[3] = { 1, dims[0], (ptrdiff_t) dims[0] * dims[1] };
  const int width = reslice->width, height = reslice->height;

  /* Display (u, v) reads voxel row_start(v) + u * u_step, whatever the storage order. */
  ptrdiff_t u_step = axis_stride[reslice->u_axis] * (reslice->u_flip ? -1 : 1);
  ptrdiff_t v_step = axis_stride[reslice->v_axis] * (reslice->v_flip ? -1 : 1);
  /* A slab starts at its first slice and runs through n_slices of them. */
  int first = slice, last = slice;
  if (params->slab_mode != PULMO_SLAB_NONE)
    pulmo_slab_range (reslice, slice, params->slab_mm, &first, &last);
  const int n_slices = last - first + 1;
  const ptrdiff_t slice_step = axis_stride[reslice->slice_axis];
  ptrdiff_t origin = (ptrdiff_t) first * slice_step
                     + (reslice->u_flip ? (ptrdiff_t) (width - 1) * axis_stride[reslice->u_axis] : 0)
                     + (reslice->v_flip ? (ptrdiff_t) (height - 1) * axis_stride[reslice->v_axis] : 0);

  const int16_t *hu = pulmo_volume_get_int16 (volume);
  const float *values = pulmo_volume_get_float (volume);
  float scale = 0, offset = 0;
  if (hu != NULL)
    ensure_grey_lut (renderer, params->window, params->level);
  else
    window_ramp (params->window, params->level, &scale, &offset);
  const uint32_t *lut = renderer->grey_lut + 32768;
  if (n_slices > 1)
    {
      window_ramp (params->window, params->level, &scale, &offset);
      if (renderer->slab_width < width)
        {
          g_free (renderer->slab_row);
          g_free (renderer->slab_extremes);
          g_free (renderer->slab_sums);
          renderer->slab_row = g_new (float, width);
          renderer->slab_extremes = g_new (int16_t, width);
          renderer->slab_sums = g_new (int32_t, width);
          renderer->slab_width = width;
        }
    }

  for (int v = 0; v < height; v++)
    {
      uint32_t *out = (uint32_t *) ((uint8_t *) pixels + (ptrdiff_t) v * stride_bytes);
      ptrdiff_t start = origin + v * v_step;
      if (params->overlay_alone)
        memset (out, 0, (size_t) width * sizeof *out);
      else if (n_slices > 1)
        {
          float *projected = renderer->slab_row;
          pulmo_slab_project_row (hu, values, start, u_step, slice_step, n_slices, width, params->slab_mode,
                                  projected, renderer->slab_extremes, renderer->slab_sums);
          for (int u = 0; u < width; u++)
            out[u] = grey_pixel (ramp_grey (projected[u], scale, offset));
        }
      else if (hu != NULL)
        {
          const int16_t *src = hu + start;
          if (u_step == 1)
            for (int u = 0; u < width; u++)
              out[u] = lut[src[u]];
          else
            for (int u = 0; u < width; u++)
              out[u] = lut[src[u * u_step]];
        }
      else
        {
          const float *src = values + start;
          for (int u = 0; u < width; u++)
            out[u] = grey_pixel (ramp_grey (src[u * u_step], scale, offset));
        }
    }

  if (params->labels == NULL || params->opacity <= 0.0)
    return;

  OverlayColours colours;
  overlay_colours_init (&colours, params->table, params->opacity);
  if (renderer->label_rows_width < width)
    {
      g_free (renderer->label_rows);
      renderer->label_rows = g_malloc ((size_t) width * 3);
      renderer->label_rows_width = width;
    }
  uint8_t *above = renderer->label_rows, *row = above + width, *below = row + width;
  PulmoSlabLabelOrder order;
  if (n_slices > 1)
    pulmo_slab_label_order_init (&order, params->table);

  gather_labels (params->labels, origin, u_step, slice_step, n_slices, &order, width, row);
  memcpy (above, row, (size_t) width);
  for (int v = 0; v < height; v++)
    {
      uint32_t *out = (uint32_t *) ((uint8_t *) pixels + (ptrdiff_t) v * stride_bytes);
      if (params->overlay_mode == PULMO_OVERLAY_FILL)
        {
          if (v > 0)
            gather_labels (params->labels, origin + v * v_step, u_step, slice_step, n_slices, &order, width, row);
          blend_fill_row (out, row, width, &colours);
          continue;
        }
      if (v + 1 < height)
        gather_labels (params->labels, origin + (v + 1) * v_step, u_step, slice_step, n_slices, &order, width, below);
      else
        memcpy (below, row, (size_t) width);
      blend_outline_row (out, above, row, below, width, &colours);
      /* Rotate: this row becomes the one above, the one below becomes current. */
      uint8_t *spare = above;
      above = row;
      row = below;
      below = spare;
    }
}
