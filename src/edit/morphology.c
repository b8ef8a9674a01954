/* morphology.c: see morphology.h.
 *
 * Every operation works on the label's box, widened as far as it can reach,
 * and decides a new mask there before writing anything: growing keeps the
 * voxels within the radius of the label (a distance map to the label), shrinking
 * keeps those farther than the radius from its outside (a distance map to the
 * outside), opening and closing chain the two, and the median counts the label
 * in a ball with prefix sums along rows. Beyond the scan's edge lies nothing:
 * shrinking does not eat a label that touches the edge. */
#include "edit/morphology.h"

#include <math.h>
#include <string.h>

#include "edit/distance-map.h"

/* Voxel centres exactly at the radius count as within it, despite the float
 * distance maps' rounding. */
#define RADIUS_EPSILON_MM 1e-3

/* The median's cost grows with the ball's voxels; smoothing needs a few mm. */
#define MEDIAN_MAX_RADIUS_MM 10.0

/* The box the operation decides on, and the label inside it. */
typedef struct {
  const uint8_t *labels;
  int dims[3];
  uint8_t value;
  double spacing_mm[3];
  double limit_mm2;   /* squared radius, with the epsilon */
  int lo[3];          /* the box's first voxel */
  int size[3];
  gsize n;            /* its voxels */
} Region;

static gint64
region_row (const Region *region, int y, int z)
{
  return ((gint64) (region->lo[2] + z) * region->dims[1] + region->lo[1] + y) * region->dims[0]
         + region->lo[0];
}

/* The label's extent, widened by @margin voxels per axis within the scan;
 * FALSE without any voxel of the label. */
static gboolean
find_region (Region *region, const int margin[3])
{
  int lo[3] = { G_MAXINT, G_MAXINT, G_MAXINT }, hi[3] = { -1, -1, -1 };
  const uint8_t *row = region->labels;
  for (int k = 0; k < region->dims[2]; k++)
    for (int j = 0; j < region->dims[1]; j++, row += region->dims[0])
      {
        const uint8_t *first = memchr (row, region->value, region->dims[0]);
        if (first == NULL)
          continue;
        int i = region->dims[0] - 1;
        while (row[i] != region->value)
          i--;
        const int at_lo[3] = { (int) (first - row), j, k }, at_hi[3] = { i, j, k };
        for (int a = 0; a < 3; a++)
          {
            lo[a] = MIN (lo[a], at_lo[a]);
            hi[a] = MAX (hi[a], at_hi[a]);
          }
      }
  if (hi[0] < 0)
    return FALSE;
  region->n = 1;
  for (int a = 0; a < 3; a++)
    {
      region->lo[a] = MAX (lo[a] - margin[a], 0);
      region->size[a] = MIN (hi[a] + margin[a], region->dims[a] - 1) - region->lo[a] + 1;
      region->n *= region->size[a];
    }
  return TRUE;
}

/* @mask (the region's layout) becomes the voxels within the radius of @mask. */
static void
dilate (const Region *region, uint8_t *mask, float *dist)
{
  for (gsize v = 0; v < region->n; v++)
    dist[v] = !mask[v];
  pulmo_distance_map_squared (dist, region->size, region->spacing_mm, PULMO_DISTANCE_EDGE_NONE);
  for (gsize v = 0; v < region->n; v++)
    mask[v] = dist[v] <= region->limit_mm2;
}

/* @mask keeps the voxels farther than the radius from its outside. */
static void
erode (const Region *region, uint8_t *mask, float *dist)
{
  for (gsize v = 0; v < region->n; v++)
    dist[v] = mask[v];
  pulmo_distance_map_squared (dist, region->size, region->spacing_mm, PULMO_DISTANCE_EDGE_NONE);
  for (gsize v = 0; v < region->n; v++)
    mask[v] = mask[v] && dist[v] > region->limit_mm2;
}

/* A row of the ball: voxels −du…du along i at row offset (dj, dk). */
typedef struct {
  int dj, dk, du;
} BallRow;

/* @mask becomes the majority of @mask in the ball around each voxel, among the
 * ball's voxels inside the scan; a tie keeps the voxel as it is. */
static gboolean
median (const Region *region, uint8_t *mask, double radius_mm)
{
  const int nx = region->size[0];
  const int reach_j = (int) floor ((radius_mm + RADIUS_EPSILON_MM) / region->spacing_mm[1]);
  const int reach_k = (int) floor ((radius_mm + RADIUS_EPSILON_MM) / region->spacing_mm[2]);
  g_autofree BallRow *ball = g_new (BallRow, (gsize) (2 * reach_j + 1) * (2 * reach_k + 1));
  int n_ball = 0;
  for (int dk = -reach_k; dk <= reach_k; dk++)
    for (int dj = -reach_j; dj <= reach_j; dj++)
      {
        double left = region->limit_mm2 - pow (dj * region->spacing_mm[1], 2) - pow (dk * region->spacing_mm[2], 2);
        if (left >= 0.0)
          ball[n_ball++] = (BallRow) { dj, dk, (int) floor (sqrt (left) / region->spacing_mm[0]) };
      }

  /* Label voxels before each position of each region row. */
  g_autofree guint32 *prefix = g_try_new (guint32, (gsize) (nx + 1) * region->size[1] * region->size[2]);
  g_autofree uint8_t *result = g_try_malloc (region->n);
  if (prefix == NULL || result == NULL)
    return FALSE;
  for (gsize r = 0; r < (gsize) region->size[1] * region->size[2]; r++)
    {
      guint32 *p = prefix + r * (nx + 1);
      p[0] = 0;
      for (int i = 0; i < nx; i++)
        p[i + 1] = p[i] + mask[r * nx + i];
    }

  gsize v = 0;
  for (int z = 0; z < region->size[2]; z++)
    for (int y = 0; y < region->size[1]; y++)
      for (int x = 0; x < nx; x++, v++)
        {
          const int i = region->lo[0] + x, j = region->lo[1] + y, k = region->lo[2] + z;
          guint32 in_scan = 0, labelled = 0;
          for (int b = 0; b < n_ball; b++)
            {
              const int jj = j + ball[b].dj, kk = k + ball[b].dk;
              if (jj < 0 || jj >= region->dims[1] || kk < 0 || kk >= region->dims[2])
                continue;
              in_scan += MIN (i + ball[b].du, region->dims[0] - 1) - MAX (i - ball[b].du, 0) + 1;
              const int yy = y + ball[b].dj, zz = z + ball[b].dk;
              if (yy < 0 || yy >= region->size[1] || zz < 0 || zz >= region->size[2])
                continue;   /* beyond the region: no label */
              const int x_lo = MAX (x - ball[b].du, 0), x_hi = MIN (x + ball[b].du, nx - 1);
              const guint32 *p = prefix + ((gsize) zz * region->size[1] + yy) * (nx + 1);
              labelled += p[x_hi + 1] - p[x_lo];
            }
          result[v] = 2 * labelled > in_scan ? 1 : 2 * labelled < in_scan ? 0 : mask[v];
        }
  memcpy (mask, result, region->n);
  return TRUE;
}

/* Writes the difference between @mask and the label: gained voxels through
 * @painter, lost ones through @eraser. One undo step; returns the voxels changed. */
static gsize
apply (PulmoEditHistory *history, const Region *region, const uint8_t *mask, const PulmoPainter *painter,
       const PulmoPainter *eraser, const char *name)
{
  PulmoBox box = { { G_MAXINT, G_MAXINT, G_MAXINT }, { -1, -1, -1 } };
  const int nx = region->size[0];
  for (int z = 0; z < region->size[2]; z++)
    for (int y = 0; y < region->size[1]; y++)
      {
        const uint8_t *labels = region->labels + region_row (region, y, z);
        const uint8_t *row = mask + ((gsize) z * region->size[1] + y) * nx;
        for (int x = 0; x < nx; x++)
          if (row[x] != (labels[x] == region->value))
            {
              const int at[3] = { region->lo[0] + x, region->lo[1] + y, region->lo[2] + z };
              for (int a = 0; a < 3; a++)
                {
                  box.lo[a] = MIN (box.lo[a], at[a]);
                  box.hi[a] = MAX (box.hi[a], at[a]);
                }
            }
      }
  if (box.hi[0] < 0)
    return 0;

  pulmo_edit_history_begin (history, name);
  pulmo_edit_history_touch (history, &box);
  gsize changed = 0;
  for (int z = 0; z < region->size[2]; z++)
    for (int y = 0; y < region->size[1]; y++)
      {
        const gint64 start = region_row (region, y, z);
        const uint8_t *row = mask + ((gsize) z * region->size[1] + y) * nx;
        for (int x = 0; x < nx; x++)
          {
            const gboolean was = region->labels[start + x] == region->value;
            if (row[x] == was)
              continue;
            /* A run of voxels that all gain, or all lose, the label. */
            int end = x;
            while (end + 1 < nx && row[end + 1] == row[x]
                   && (region->labels[start + end + 1] == region->value) == was)
              end++;
            changed += pulmo_painter_run (row[x] ? painter : eraser, start + x, 1, end - x + 1);
            x = end;
          }
      }
  if (changed > 0)
    pulmo_label_map_changed (pulmo_edit_history_get_map (history), &box);
  pulmo_edit_history_end (history);
  return changed;
}

gsize
pulmo_morphology (PulmoEditHistory *history, PulmoVolume *ct, const PulmoPainter *painter,
                  PulmoMorphOp op, double radius_mm, uint8_t replacement, const char *name)
{
  g_return_val_if_fail (radius_mm > 0.0 && isfinite (radius_mm), 0);
  g_return_val_if_fail (op != PULMO_MORPH_MEDIAN || radius_mm <= MEDIAN_MAX_RADIUS_MM, 0);
  Region region = { .labels = painter->labels, .value = painter->value };
  pulmo_volume_get_dims (ct, region.dims);
  memcpy (region.spacing_mm, pulmo_volume_get_spacing (ct), sizeof region.spacing_mm);

  /* A radius beyond the scan's diagonal reaches as far as the diagonal. */
  double diagonal_mm = 0.0;
  for (int a = 0; a < 3; a++)
    diagonal_mm += pow (region.dims[a] * region.spacing_mm[a], 2);
  radius_mm = MIN (radius_mm, sqrt (diagonal_mm));
  region.limit_mm2 = pow (radius_mm + RADIUS_EPSILON_MM, 2);

  /* Growing can reach the radius beyond the label; closing then needs one
   * more voxel of outside to shrink back from. Shrinking needs that voxel only. */
  gboolean grows = op == PULMO_MORPH_GROW || op == PULMO_MORPH_CLOSE || op == PULMO_MORPH_MEDIAN;
  int margin[3];
  for (int a = 0; a < 3; a++)
    margin[a] = grows ? (int) floor ((radius_mm + RADIUS_EPSILON_MM) / region.spacing_mm[a]) + 1 : 1;
  if (!find_region (&region, margin))
    return 0;

  g_autofree uint8_t *mask = g_try_malloc (region.n);
  g_autofree float *dist = op == PULMO_MORPH_MEDIAN ? NULL : g_try_new (float, region.n);
  if (mask == NULL || (op != PULMO_MORPH_MEDIAN && dist == NULL))
    {
      g_warning ("morphology: not enough memory for a box of %" G_GSIZE_FORMAT " voxels", region.n);
      return 0;
    }
  for (int z = 0; z < region.size[2]; z++)
    for (int y = 0; y < region.size[1]; y++)
      {
        const uint8_t *labels = region.labels + region_row (&region, y, z);
        uint8_t *row = mask + ((gsize) z * region.size[1] + y) * region.size[0];
        for (int x = 0; x < region.size[0]; x++)
          row[x] = labels[x] == region.value;
      }

  switch (op)
    {
    case PULMO_MORPH_OPEN:
      erode (&region, mask, dist);
      dilate (&region, mask, dist);
      break;
    case PULMO_MORPH_CLOSE:
      dilate (&region, mask, dist);
      erode (&region, mask, dist);
      break;
    case PULMO_MORPH_MEDIAN:
      if (!median (&region, mask, radius_mm))
        {
          g_warning ("morphology: not enough memory for a box of %" G_GSIZE_FORMAT " voxels", region.n);
          return 0;
        }
      break;
    case PULMO_MORPH_GROW:
      dilate (&region, mask, dist);
      break;
    case PULMO_MORPH_SHRINK:
      erode (&region, mask, dist);
      break;
    }

  PulmoLabelMap *map = pulmo_edit_history_get_map (history);
  PulmoPaintMask everywhere;
  pulmo_paint_mask_init (&everywhere);
  PulmoPainter eraser;
  pulmo_painter_init (&eraser, map, ct, &everywhere, replacement, region.value);
  return apply (history, &region, mask, painter, &eraser, name);
}
