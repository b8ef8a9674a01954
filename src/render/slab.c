#include "render/slab.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

static const char *const mode_names[PULMO_N_SLAB_MODES] = {
  [PULMO_SLAB_NONE] = "none",
  [PULMO_SLAB_MIN] = "minip",
  [PULMO_SLAB_MAX] = "mip",
  [PULMO_SLAB_MEAN] = "mean",
};

static const char *const mode_labels[PULMO_N_SLAB_MODES] = {
  [PULMO_SLAB_NONE] = N_("Slice"),
  [PULMO_SLAB_MIN] = N_("MinIP"),
  [PULMO_SLAB_MAX] = N_("MIP"),
  [PULMO_SLAB_MEAN] = N_("Mean"),
};

const char *
pulmo_slab_mode_get_name (PulmoSlabMode mode)
{
  g_return_val_if_fail (mode < PULMO_N_SLAB_MODES, NULL);
  return mode_names[mode];
}

gboolean
pulmo_slab_mode_from_name (const char *name, PulmoSlabMode *mode)
{
  for (int m = 0; m < PULMO_N_SLAB_MODES; m++)
    if (g_strcmp0 (name, mode_names[m]) == 0)
      {
        *mode = m;
        return TRUE;
      }
  return FALSE;
}

const char *
pulmo_slab_mode_get_label (PulmoSlabMode mode)
{
  g_return_val_if_fail (mode < PULMO_N_SLAB_MODES, NULL);
  return mode_labels[mode];
}

void
pulmo_slab_range (const PulmoReslice *reslice, int slice, double slab_mm, int *first, int *last)
{
  double spacing = reslice->slice_spacing_mm > 0 ? reslice->slice_spacing_mm : 1.0;
  double count = CLAMP (round (CLAMP (slab_mm, 0.0, PULMO_SLAB_MAX_MM) / spacing), 1.0, reslice->n_slices);
  int n = (int) count;
  *first = MAX (slice - (n - 1) / 2, 0);
  *last = MIN (slice - (n - 1) / 2 + n - 1, reslice->n_slices - 1);
}

/* A row read backwards (u_step < 0) is the same voxels read forwards and
 * reversed: every loop below then walks memory upwards. */
static gboolean
forward_row (ptrdiff_t *start, ptrdiff_t *u_step, int width)
{
  if (*u_step >= 0)
    return FALSE;
  *start += (ptrdiff_t) (width - 1) * *u_step;
  *u_step = -*u_step;
  return TRUE;
}

/* Eight HU or sixteen labels at a time through the GCC/Clang vector
 * extensions: the project's -O2 does not vectorise these loops by itself. */
typedef int16_t HuVec __attribute__ ((vector_size (16)));
typedef uint8_t LabelVec __attribute__ ((vector_size (16)));
/* Means sum four HU at a time, widened to int32. */
typedef int16_t HuQuad __attribute__ ((vector_size (8)));
typedef int32_t SumVec __attribute__ ((vector_size (16)));
enum { HU_LANES = 8, LABEL_LANES = 16, SUM_LANES = 4 };

static inline SumVec
hu_widen (const int16_t *p)
{
  HuQuad v;
  memcpy (&v, p, sizeof v);
  return __builtin_convertvector (v, SumVec);
}

/* One ray's sum through @n contiguous values. */
static int32_t
ray_sum (const int16_t *ray, int n)
{
  SumVec lanes = { 0, 0, 0, 0 };
  int s = 0;
  for (; s + SUM_LANES <= n; s += SUM_LANES)
    lanes += hu_widen (ray + s);
  int32_t sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  for (; s < n; s++)
    sum += ray[s];
  return sum;
}

static inline HuVec
hu_load (const int16_t *p)
{
  HuVec v;
  memcpy (&v, p, sizeof v);
  return v;
}

/* The lane-wise minimum (@min) or maximum of @a and @b, through a mask. */
static inline HuVec
hu_pick (HuVec a, HuVec b, gboolean min)
{
  HuVec take_a = min ? (HuVec) (a < b) : (HuVec) (a > b);
  return (a & take_a) | (b & ~take_a);
}

static inline int16_t
hu_pick1 (int16_t a, int16_t b, gboolean min)
{
  return min ? (a < b ? a : b) : (a > b ? a : b);
}

/* One ray's minimum or maximum through @n contiguous values. */
static int16_t
ray_extreme (const int16_t *ray, int n, gboolean min)
{
  int16_t value = ray[0];
  int s = 0;
  if (n >= HU_LANES)
    {
      HuVec lanes = hu_load (ray);
      for (s = HU_LANES; s + HU_LANES <= n; s += HU_LANES)
        lanes = hu_pick (lanes, hu_load (ray + s), min);
      for (int lane = 0; lane < HU_LANES; lane++)
        value = hu_pick1 (value, lanes[lane], min);
    }
  for (; s < n; s++)
    value = hu_pick1 (value, ray[s], min);
  return value;
}

/* Min, max or mean over the slab of an int16 row into @out. The loop order
 * follows memory: along the row when it is contiguous (axial and coronal on
 * most files), along each ray when the slab is (sagittal). @extremes and @sums
 * hold @width values. */
static void
project_int16 (const int16_t *hu, ptrdiff_t u_step, ptrdiff_t slice_step, int n_slices, int width,
               PulmoSlabMode mode, float *out, int16_t *extremes, int32_t *sums)
{
  gboolean min = mode == PULMO_SLAB_MIN, mean = mode == PULMO_SLAB_MEAN;
  float scale = 1.0f / (float) n_slices;
  if (slice_step == 1 && u_step != 1)
    {
      for (int u = 0; u < width; u++)
        {
          const int16_t *ray = hu + u * u_step;
          if (mean)
            out[u] = (float) ray_sum (ray, n_slices) * scale;
          else
            out[u] = ray_extreme (ray, n_slices, min);
        }
      return;
    }
  for (int u = 0; u < width; u++)
    extremes[u] = hu[u * u_step];
  if (mean)
    for (int u = 0; u < width; u++)
      sums[u] = extremes[u];
  for (int s = 1; s < n_slices; s++)
    {
      const int16_t *src = hu + s * slice_step;
      if (mean)
        {
          int u = 0;
          if (u_step == 1)
            for (; u + SUM_LANES <= width; u += SUM_LANES)
              {
                SumVec sum;
                memcpy (&sum, sums + u, sizeof sum);
                sum += hu_widen (src + u);
                memcpy (sums + u, &sum, sizeof sum);
              }
          for (; u < width; u++)
            sums[u] += src[u * u_step];
        }
      else
        {
          int u = 0;
          if (u_step == 1)
            for (; u + HU_LANES <= width; u += HU_LANES)
              {
                HuVec picked = hu_pick (hu_load (extremes + u), hu_load (src + u), min);
                memcpy (extremes + u, &picked, sizeof picked);
              }
          for (; u < width; u++)
            extremes[u] = hu_pick1 (extremes[u], src[u * u_step], min);
        }
    }
  for (int u = 0; u < width; u++)
    out[u] = mean ? (float) sums[u] * scale : extremes[u];
}

/* Float volumes are rare (non-integer data): one plain loop order. */
static void
project_float (const float *values, ptrdiff_t u_step, ptrdiff_t slice_step, int n_slices, int width,
               PulmoSlabMode mode, float *restrict out)
{
  for (int u = 0; u < width; u++)
    out[u] = values[u * u_step];
  for (int s = 1; s < n_slices; s++)
    {
      const float *restrict src = values + s * slice_step;
      for (int u = 0; u < width; u++)
        {
          float value = src[u * u_step];
          out[u] = mode == PULMO_SLAB_MIN ? (value < out[u] ? value : out[u])
                   : mode == PULMO_SLAB_MAX ? (value > out[u] ? value : out[u]) : out[u] + value;
        }
    }
}

static void
reverse_floats (float *row, int width)
{
  for (int a = 0, b = width - 1; a < b; a++, b--)
    {
      float swap = row[a];
      row[a] = row[b];
      row[b] = swap;
    }
}

void
pulmo_slab_project_row (const int16_t *hu, const float *values, ptrdiff_t start, ptrdiff_t u_step,
                        ptrdiff_t slice_step, int n_slices, int width, PulmoSlabMode mode, float *out,
                        int16_t *extremes, int32_t *sums)
{
  g_return_if_fail ((hu == NULL) != (values == NULL) && n_slices >= 1);
  g_return_if_fail (mode == PULMO_SLAB_MIN || mode == PULMO_SLAB_MAX || mode == PULMO_SLAB_MEAN);
  gboolean reversed = forward_row (&start, &u_step, width);
  if (hu != NULL)
    project_int16 (hu + start, u_step, slice_step, n_slices, width, mode, out, extremes, sums);
  else
    {
      project_float (values + start, u_step, slice_step, n_slices, width, mode, out);
      if (mode == PULMO_SLAB_MEAN)
        for (int u = 0; u < width; u++)
          out[u] /= (float) n_slices;
    }
  if (reversed)
    reverse_floats (out, width);
}

/* The order of slab.h as arithmetic: every value but 3, 4, 5 and 7 keeps
 * its place and they close up (0, 1, 2, 6, 8, 9… rank 0, 1, 2, 3, 4, 5…);
 * effusion, unknown infection, ground glass and consolidation rank 252–255. */
static inline uint8_t
label_rank (uint8_t value)
{
  switch (value)
    {
    case PULMO_LABEL_CONSOLIDATION: return 255;
    case PULMO_LABEL_GROUND_GLASS: return 254;
    case PULMO_LABEL_INFECTION_UNKNOWN_TYPE: return 253;
    case PULMO_LABEL_PLEURAL_EFFUSION: return 252;
    case PULMO_LABEL_LUNG_UNKNOWN_SIDE: return 3;
    default: return value >= 8 ? value - 4 : value;
    }
}

static inline LabelVec
label_select (LabelVec mask, LabelVec a, LabelVec b)
{
  return (a & mask) | (b & ~mask);
}

/* label_rank on sixteen labels at once. */
static inline LabelVec
label_rank_lanes (LabelVec v)
{
  LabelVec rank = v - ((LabelVec) (v >= 8) & 4);
  rank = label_select ((LabelVec) (v == PULMO_LABEL_LUNG_UNKNOWN_SIDE), (LabelVec) {} + 3, rank);
  rank = label_select ((LabelVec) (v == PULMO_LABEL_PLEURAL_EFFUSION), (LabelVec) {} + 252, rank);
  rank = label_select ((LabelVec) (v == PULMO_LABEL_INFECTION_UNKNOWN_TYPE), (LabelVec) {} + 253, rank);
  rank = label_select ((LabelVec) (v == PULMO_LABEL_GROUND_GLASS), (LabelVec) {} + 254, rank);
  rank = label_select ((LabelVec) (v == PULMO_LABEL_CONSOLIDATION), (LabelVec) {} + 255, rank);
  return rank;
}

void
pulmo_slab_label_order_init (PulmoSlabLabelOrder *order, const PulmoLabelTable *table)
{
  order->any_hidden = FALSE;
  for (int value = 0; value < 256; value++)
    {
      const PulmoLabel *label = pulmo_label_table_get (table, (uint8_t) value);
      gboolean hidden = value != 0 && label->defined && !label->visible;
      order->any_hidden |= hidden;
      order->rank[value] = hidden ? 0 : label_rank ((uint8_t) value);
      order->value[label_rank ((uint8_t) value)] = (uint8_t) value;
    }
}

static inline LabelVec
label_load (const uint8_t *p)
{
  LabelVec v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline LabelVec
label_max (LabelVec a, LabelVec b)
{
  return label_select ((LabelVec) (a > b), a, b);
}

/* The best rank along a ray of @n adjacent voxels: through the table, or
 * sixteen at a time when no label is hidden, the last sixteen (or, for a
 * ray of eight to fifteen, the first and last eight) overlapping the rest. */
static inline uint8_t
ray_rank (const uint8_t *ray, int n, const PulmoSlabLabelOrder *order)
{
  uint8_t best = 0;
  if (order->any_hidden || n < LABEL_LANES / 2)
    {
      for (int s = 0; s < n; s++)
        best = MAX (best, order->rank[ray[s]]);
      return best;
    }
  LabelVec lanes;
  if (n < LABEL_LANES)
    {
      memcpy (&lanes, ray, LABEL_LANES / 2);
      memcpy ((uint8_t *) &lanes + LABEL_LANES / 2, ray + n - LABEL_LANES / 2, LABEL_LANES / 2);
      lanes = label_rank_lanes (lanes);
    }
  else
    {
      lanes = label_rank_lanes (label_load (ray + n - LABEL_LANES));
      for (int s = 0; s + LABEL_LANES <= n; s += LABEL_LANES)
        lanes = label_max (lanes, label_rank_lanes (label_load (ray + s)));
    }
  for (int lane = 0; lane < LABEL_LANES; lane++)
    best = MAX (best, lanes[lane]);
  return best;
}

void
pulmo_slab_project_labels (const uint8_t *labels, ptrdiff_t start, ptrdiff_t u_step, ptrdiff_t slice_step,
                           int n_slices, int width, const PulmoSlabLabelOrder *order, uint8_t *restrict out)
{
  gboolean reversed = forward_row (&start, &u_step, width);
  const uint8_t *first = labels + start;
  const uint8_t *rank = order->rank;
  /* Ranks are compared, then turned back into values. Without hidden labels
   * the ranks are computed sixteen at a time; with them, they come from the
   * table voxel by voxel (SSE2 has no byte gather). */
  if (slice_step == 1 && u_step != 1)
    for (int u = 0; u < width; u++)
      out[u] = ray_rank (first + u * u_step, n_slices, order);
  else
    {
      for (int u = 0; u < width; u++)
        out[u] = rank[first[u * u_step]];
      for (int s = 1; s < n_slices; s++)
        {
          const uint8_t *restrict src = first + s * slice_step;
          int u = 0;
          if (u_step == 1 && !order->any_hidden)
            for (; u + LABEL_LANES <= width; u += LABEL_LANES)
              {
                LabelVec best = label_max (label_load (out + u), label_rank_lanes (label_load (src + u)));
                memcpy (out + u, &best, sizeof best);
              }
          for (; u < width; u++)
            out[u] = MAX (out[u], rank[src[u * u_step]]);
        }
    }
  for (int u = 0; u < width; u++)
    out[u] = order->value[out[u]];
  if (reversed)
    for (int a = 0, b = width - 1; a < b; a++, b--)
      {
        uint8_t swap = out[a];
        out[a] = out[b];
        out[b] = swap;
      }
}
