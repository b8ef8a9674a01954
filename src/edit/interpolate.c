/* interpolate.c: see interpolate.h.
 *
 * Between outlined slices a and b, slice t takes the voxels where
 * (1 − w)·φa + w·φb < 0, w = (t − a) / (b − a), with φ a slice's signed
 * distance: to the shape outside it, minus to the outside within it. A blend
 * of two non-negative values is non-negative, so the result lies within the
 * union of the two shapes: the work stays in that union's box. */
#include "edit/interpolate.h"

#include <math.h>
#include <string.h>

#include "edit/distance-map.h"

typedef struct {
  const PulmoPainter *painter;
  const PulmoReslice *reslice;
  int width, height;
} Slices;

/* Display slice @slice as 1 where it holds the painter's value, row by row. */
static void
read_slice (const Slices *s, int slice, uint8_t *shape)
{
  for (int v = 0; v < s->height; v++)
    {
      gint64 start, step;
      pulmo_reslice_row (s->reslice, s->painter->dims, slice, v, &start, &step);
      for (int u = 0; u < s->width; u++)
        shape[(gsize) v * s->width + u] = s->painter->labels[start + step * u] == s->painter->value;
    }
}

/* Which slices along the view's slice axis hold the value, from one pass in storage order. */
static void
find_outlined (const Slices *s, uint8_t *outlined)
{
  const int *dims = s->painter->dims;
  const int axis = s->reslice->slice_axis;
  const uint8_t *row = s->painter->labels;
  for (int k = 0; k < dims[2]; k++)
    for (int j = 0; j < dims[1]; j++, row += dims[0])
      if (axis == 0)
        {
          for (int i = 0; i < dims[0]; i++)
            outlined[i] |= row[i] == s->painter->value;
        }
      else if (memchr (row, s->painter->value, dims[0]))
        outlined[axis == 1 ? j : k] = 1;
}

/* φ of @shape (a whole display slice) over the box @lo, @size, into @phi; @scratch as large. */
static void
signed_distance (const Slices *s, const uint8_t *shape, const int lo[2], const int size[3], float *phi,
                 float *scratch)
{
  const double spacing_mm[3] = { s->reslice->u_spacing_mm, s->reslice->v_spacing_mm, 1.0 };
  const gsize n = (gsize) size[0] * size[1];
  for (int pass = 0; pass < 2; pass++)
    {
      /* Pass 0 measures to the shape, pass 1 to its outside. */
      float *dist = pass == 0 ? phi : scratch;
      for (int y = 0; y < size[1]; y++)
        for (int x = 0; x < size[0]; x++)
          {
            gboolean inside = shape[(gsize) (lo[1] + y) * s->width + lo[0] + x];
            dist[(gsize) y * size[0] + x] = pass == 0 ? !inside : inside;
          }
      /* Beyond the view lies nothing: a shape that reaches its edge stays whole there. */
      pulmo_distance_map_squared (dist, size, spacing_mm, PULMO_DISTANCE_EDGE_NONE);
    }
  for (gsize v = 0; v < n; v++)
    phi[v] = sqrtf (phi[v]) - sqrtf (scratch[v]);
}

/* Whether the blend at weight @w of signed distances @phi_a and @phi_b is inside. */
static inline gboolean
blend_inside (float phi_a, float phi_b, float w)
{
  return (1.0f - w) * phi_a + w * phi_b < 0.0f;
}

/* Fills the slices strictly between outlined slices @a and @b; returns the voxels changed. */
static gsize
fill_gap (PulmoEditHistory *history, const Slices *s, int a, int b, uint8_t *shape_a, uint8_t *shape_b)
{
  read_slice (s, a, shape_a);
  read_slice (s, b, shape_b);
  int lo[2] = { G_MAXINT, G_MAXINT }, hi[2] = { -1, -1 };
  for (int v = 0; v < s->height; v++)
    for (int u = 0; u < s->width; u++)
      if (shape_a[(gsize) v * s->width + u] || shape_b[(gsize) v * s->width + u])
        {
          lo[0] = MIN (lo[0], u);
          hi[0] = MAX (hi[0], u);
          lo[1] = MIN (lo[1], v);
          hi[1] = MAX (hi[1], v);
        }

  /* The distance maps need one voxel of outside around the union. */
  const int map_lo[2] = { MAX (lo[0] - 1, 0), MAX (lo[1] - 1, 0) };
  const int size[3] = { MIN (hi[0] + 1, s->width - 1) - map_lo[0] + 1,
                        MIN (hi[1] + 1, s->height - 1) - map_lo[1] + 1, 1 };
  const gsize n = (gsize) size[0] * size[1];
  g_autofree float *phi_a = g_new (float, n);
  g_autofree float *phi_b = g_new (float, n);
  g_autofree float *scratch = g_new (float, n);
  signed_distance (s, shape_a, map_lo, size, phi_a, scratch);
  signed_distance (s, shape_b, map_lo, size, phi_b, scratch);

  const int box_lo[3] = { lo[0], lo[1], a + 1 }, box_hi[3] = { hi[0], hi[1], b - 1 };
  PulmoBox box;
  pulmo_reslice_box_to_voxel (s->reslice, box_lo, box_hi, box.lo, box.hi);
  pulmo_edit_history_touch (history, &box);
  gsize changed = 0;
  for (int t = a + 1; t < b; t++)
    {
      const float w = (float) (t - a) / (float) (b - a);
      for (int v = lo[1]; v <= hi[1]; v++)
        {
          /* Column u of the maps' row v. */
          const float *row_a = phi_a + (gsize) (v - map_lo[1]) * size[0] + (lo[0] - map_lo[0]);
          const float *row_b = phi_b + (gsize) (v - map_lo[1]) * size[0] + (lo[0] - map_lo[0]);
          gint64 start, step;
          pulmo_reslice_row (s->reslice, s->painter->dims, t, v, &start, &step);
          for (int u = lo[0]; u <= hi[0]; u++)
            {
              if (!blend_inside (row_a[u - lo[0]], row_b[u - lo[0]], w))
                continue;
              int end = u;
              while (end < hi[0] && blend_inside (row_a[end + 1 - lo[0]], row_b[end + 1 - lo[0]], w))
                end++;
              changed += pulmo_painter_run (s->painter, start + step * u, step, end - u + 1);
              u = end;
            }
        }
    }
  if (changed > 0)
    pulmo_label_map_changed (pulmo_edit_history_get_map (history), &box);
  return changed;
}

gsize
pulmo_interpolate_slices (PulmoEditHistory *history, const PulmoPainter *painter,
                          const PulmoReslice *reslice, const char *name)
{
  const Slices s = { painter, reslice, reslice->width, reslice->height };
  g_autofree uint8_t *outlined = g_malloc0 (reslice->n_slices);
  find_outlined (&s, outlined);

  const gsize slice_voxels = (gsize) reslice->width * reslice->height;
  g_autofree uint8_t *shape_a = g_malloc (slice_voxels);
  g_autofree uint8_t *shape_b = g_malloc (slice_voxels);
  gsize changed = 0;
  pulmo_edit_history_begin (history, name);
  int previous = -1;
  for (int slice = 0; slice < reslice->n_slices; slice++)
    if (outlined[slice])
      {
        if (previous >= 0 && slice - previous > 1)
          changed += fill_gap (history, &s, previous, slice, shape_a, shape_b);
        previous = slice;
      }
  pulmo_edit_history_end (history);
  return changed;
}
