/* fill.c: see fill.h.
 *
 * The flood fill is a scanline fill: it grows whole runs along one axis and
 * keeps a stack of runs whose neighbouring rows are still to be scanned, with
 * one bit per voxel for "in the region". The stack has a fixed size; when it
 * is full a run is left for later, and scans of the box then pick up every
 * voxel that borders the region until none is left. Memory is thus the bitset
 * plus a megabyte, whatever the shape. */
#include "edit/fill.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Runs waiting for their neighbours to be scanned: at most this many. */
#define STACK_RUNS (1 << 16)

typedef struct {
  int y, z, lo, hi;   /* voxels lo…hi along x, on row (y, z) */
} Run;

/* The fill works in its own axes x, y, z (voxel axes axis[0…2]) over a box:
 * the whole volume, or the one slice of a 2D fill (size[2] = 1). */
typedef struct {
  const PulmoPainter *painter;
  const int16_t *ct_int16;
  const float *ct_float;
  double hu_min, hu_max;
  int axis[3];
  int size[3];
  gint64 origin;       /* linear index of the box's voxel (0, 0, 0) */
  gint64 stride[3];    /* linear step along x, y and z */
  guint64 *in_region;  /* one bit per box voxel, x fastest */
  Run *stack;
  int n_stack;
  gboolean overflowed; /* a run was left out since the last scan began */
  int lo[3], hi[3];    /* the region's extent along x, y, z */
} Fill;

static inline gsize
bit_of (const Fill *fill, int x, int y, int z)
{
  return (gsize) x + (gsize) fill->size[0] * ((gsize) y + (gsize) fill->size[1] * z);
}

static inline gboolean
in_region (const Fill *fill, int x, int y, int z)
{
  gsize bit = bit_of (fill, x, y, z);
  return (fill->in_region[bit / 64] >> (bit % 64)) & 1;
}

/* In the HU range, and either paintable or painted already: a fill that
 * reaches voxels of its own value goes on through them. */
static inline gboolean
passable (const Fill *fill, int x, int y, int z)
{
  gint64 index = fill->origin + x * fill->stride[0] + y * fill->stride[1] + z * fill->stride[2];
  double hu = fill->ct_int16 ? fill->ct_int16[index] : fill->ct_float[index];
  if (!(hu >= fill->hu_min && hu <= fill->hu_max))
    return FALSE;
  return fill->painter->labels[index] == fill->painter->value || pulmo_painter_allows (fill->painter, index);
}

static inline gboolean
can_enter (const Fill *fill, int x, int y, int z)
{
  return !in_region (fill, x, y, z) && passable (fill, x, y, z);
}

/* Grows the run through (x, y, z), which can be entered, adds it to the region
 * and stacks it; returns its last x. With the stack full it leaves the voxel
 * for the next scan and returns x. */
static int
add_run (Fill *fill, int x, int y, int z)
{
  if (fill->n_stack == STACK_RUNS)
    {
      fill->overflowed = TRUE;
      return x;
    }
  int lo = x, hi = x;
  while (lo > 0 && can_enter (fill, lo - 1, y, z))
    lo--;
  while (hi < fill->size[0] - 1 && can_enter (fill, hi + 1, y, z))
    hi++;
  for (int i = lo; i <= hi; i++)
    {
      gsize bit = bit_of (fill, i, y, z);
      fill->in_region[bit / 64] |= (guint64) 1 << (bit % 64);
    }
  const int run_lo[3] = { lo, y, z }, run_hi[3] = { hi, y, z };
  for (int a = 0; a < 3; a++)
    {
      fill->lo[a] = MIN (fill->lo[a], run_lo[a]);
      fill->hi[a] = MAX (fill->hi[a], run_hi[a]);
    }
  fill->stack[fill->n_stack++] = (Run) { y, z, lo, hi };
  return hi;
}

/* Adds every run of row (y, z) that touches @lo…@hi and can be entered. */
static void
scan_row (Fill *fill, int y, int z, int lo, int hi)
{
  if (y < 0 || y >= fill->size[1] || z < 0 || z >= fill->size[2])
    return;
  for (int x = lo; x <= hi; x++)
    if (can_enter (fill, x, y, z))
      x = add_run (fill, x, y, z);
}

static void
drain (Fill *fill)
{
  while (fill->n_stack > 0)
    {
      Run run = fill->stack[--fill->n_stack];
      scan_row (fill, run.y - 1, run.z, run.lo, run.hi);
      scan_row (fill, run.y + 1, run.z, run.lo, run.hi);
      scan_row (fill, run.y, run.z - 1, run.lo, run.hi);
      scan_row (fill, run.y, run.z + 1, run.lo, run.hi);
    }
}

static gboolean
borders_region (const Fill *fill, int x, int y, int z)
{
  return (x > 0 && in_region (fill, x - 1, y, z)) || (x < fill->size[0] - 1 && in_region (fill, x + 1, y, z))
         || (y > 0 && in_region (fill, x, y - 1, z)) || (y < fill->size[1] - 1 && in_region (fill, x, y + 1, z))
         || (z > 0 && in_region (fill, x, y, z - 1)) || (z < fill->size[2] - 1 && in_region (fill, x, y, z + 1));
}

/* After the stack overflowed: adds what borders the region, scan after scan,
 * until a scan leaves nothing out. */
static void
rescan (Fill *fill)
{
  while (fill->overflowed)
    {
      fill->overflowed = FALSE;
      for (int z = 0; z < fill->size[2]; z++)
        for (int y = 0; y < fill->size[1]; y++)
          for (int x = 0; x < fill->size[0]; x++)
            if (can_enter (fill, x, y, z) && borders_region (fill, x, y, z))
              {
                x = add_run (fill, x, y, z);
                drain (fill);
              }
    }
}

/* Paints the region through the painter, a run along x at a time. */
static gsize
paint_region (const Fill *fill)
{
  gsize changed = 0;
  for (int z = fill->lo[2]; z <= fill->hi[2]; z++)
    for (int y = fill->lo[1]; y <= fill->hi[1]; y++)
      for (int x = fill->lo[0]; x <= fill->hi[0]; x++)
        {
          if (!in_region (fill, x, y, z))
            continue;
          int end = x;
          while (end < fill->hi[0] && in_region (fill, end + 1, y, z))
            end++;
          gint64 start = fill->origin + x * fill->stride[0] + y * fill->stride[1] + z * fill->stride[2];
          changed += pulmo_painter_run (fill->painter, start, fill->stride[0], end - x + 1);
          x = end;
        }
  return changed;
}

gsize
pulmo_flood_fill (PulmoEditHistory *history, PulmoVolume *ct, const PulmoPainter *painter,
                  const int seed[3], double hu_min, double hu_max, const PulmoReslice *plane,
                  const char *name)
{
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  for (int a = 0; a < 3; a++)
    g_return_val_if_fail (seed[a] >= 0 && seed[a] < dims[a], 0);

  Fill fill = { .painter = painter, .ct_int16 = pulmo_volume_get_int16 (ct),
                .ct_float = pulmo_volume_get_float (ct), .hu_min = hu_min, .hu_max = hu_max };
  const gint64 voxel_stride[3] = { 1, dims[0], (gint64) dims[0] * dims[1] };
  int base[3] = { 0, 0, 0 };
  if (plane == NULL)
    for (int a = 0; a < 3; a++)
      fill.axis[a] = a;
  else
    {
      /* The slice is z; x is the in-plane axis nearer in memory. */
      fill.axis[2] = plane->slice_axis;
      fill.axis[0] = plane->slice_axis == 0 ? 1 : 0;
      fill.axis[1] = 3 - fill.axis[0] - fill.axis[2];
      base[plane->slice_axis] = seed[plane->slice_axis];
    }
  fill.origin = base[0] + base[1] * voxel_stride[1] + base[2] * voxel_stride[2];
  for (int a = 0; a < 3; a++)
    {
      fill.size[a] = a == 2 && plane != NULL ? 1 : dims[fill.axis[a]];
      fill.stride[a] = voxel_stride[fill.axis[a]];
      fill.lo[a] = G_MAXINT;
      fill.hi[a] = -1;
    }
  const int x = seed[fill.axis[0]], y = seed[fill.axis[1]], z = plane ? 0 : seed[2];
  if (!passable (&fill, x, y, z))
    return 0;

  gsize n_bits = (gsize) fill.size[0] * fill.size[1] * fill.size[2];
  g_autofree guint64 *bits = g_new0 (guint64, n_bits / 64 + 1);
  g_autofree Run *stack = g_new (Run, STACK_RUNS);
  fill.in_region = bits;
  fill.stack = stack;
  add_run (&fill, x, y, z);
  drain (&fill);
  rescan (&fill);

  PulmoBox box;
  for (int a = 0; a < 3; a++)
    {
      box.lo[fill.axis[a]] = base[fill.axis[a]] + fill.lo[a];
      box.hi[fill.axis[a]] = base[fill.axis[a]] + fill.hi[a];
    }
  pulmo_edit_history_begin (history, name);
  pulmo_edit_history_touch (history, &box);
  gsize changed = paint_region (&fill);
  if (changed > 0)
    pulmo_label_map_changed (pulmo_edit_history_get_map (history), &box);
  pulmo_edit_history_end (history);
  return changed;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Clamps a display coordinate into the ints, beyond the view by at most one. */
static int
clamp_to_view (double u, int size)
{
  return (int) CLAMP (u, -1.0, (double) size);
}

/* Marks in @row the voxels of display row @v whose open squares the edge
 * (x0, y0)–(x1, y1) passes through: an edge along a voxel boundary marks neither side. */
static void
mark_edge (uint8_t *row, int width, int v, double x0, double y0, double x1, double y1)
{
  double y_lo = MIN (y0, y1), y_hi = MAX (y0, y1);
  if (!(y_lo < v + 0.5 && y_hi > v - 0.5))
    return;
  double x_lo = MIN (x0, x1), x_hi = MAX (x0, x1);
  if (y0 != y1)
    {
      /* The part of the edge within the row's band. */
      double ya = MAX (y_lo, v - 0.5), yb = MIN (y_hi, v + 0.5);
      double xa = x0 + (ya - y0) * (x1 - x0) / (y1 - y0);
      double xb = x0 + (yb - y0) * (x1 - x0) / (y1 - y0);
      x_lo = MIN (xa, xb);
      x_hi = MAX (xa, xb);
    }
  /* Voxel u's open square (u − ½, u + ½) overlaps [x_lo, x_hi]. */
  int u_lo = MAX (clamp_to_view (floor (x_lo - 0.5), width) + 1, 0);
  int u_hi = MIN (clamp_to_view (ceil (x_hi + 0.5), width) - 1, width - 1);
  if (u_lo <= u_hi)
    memset (row + u_lo, 1, u_hi - u_lo + 1);
}

gsize
pulmo_polygon_fill (PulmoEditHistory *history, const PulmoPainter *painter,
                    const PulmoReslice *reslice, int slice, const double *uv, int n_points,
                    const char *name)
{
  g_return_val_if_fail (slice >= 0 && slice < reslice->n_slices && n_points >= 1, 0);
  double u_min = INFINITY, u_max = -INFINITY, v_min = INFINITY, v_max = -INFINITY;
  for (int p = 0; p < n_points; p++)
    {
      /* Far beyond any view (and not NaN): keeps the arithmetic below finite. */
      g_return_val_if_fail (fabs (uv[2 * p]) <= 1e9 && fabs (uv[2 * p + 1]) <= 1e9, 0);
      u_min = MIN (u_min, uv[2 * p]);
      u_max = MAX (u_max, uv[2 * p]);
      v_min = MIN (v_min, uv[2 * p + 1]);
      v_max = MAX (v_max, uv[2 * p + 1]);
    }
  /* The display voxels whose squares the polygon's box reaches, within the view. */
  const int lo[3] = { MAX (clamp_to_view (floor (u_min - 0.5), reslice->width) + 1, 0),
                      MAX (clamp_to_view (floor (v_min - 0.5), reslice->height) + 1, 0), slice };
  const int hi[3] = { MIN (clamp_to_view (ceil (u_max + 0.5), reslice->width) - 1, reslice->width - 1),
                      MIN (clamp_to_view (ceil (v_max + 0.5), reslice->height) - 1, reslice->height - 1),
                      slice };
  if (lo[0] > hi[0] || lo[1] > hi[1])
    return 0;

  PulmoLabelMap *map = pulmo_edit_history_get_map (history);
  int dims[3];
  pulmo_volume_get_dims (pulmo_label_map_get_volume (map), dims);
  PulmoBox box;
  pulmo_reslice_box_to_voxel (reslice, lo, hi, box.lo, box.hi);
  pulmo_edit_history_begin (history, name);
  pulmo_edit_history_touch (history, &box);

  g_autofree uint8_t *row = g_malloc (reslice->width);
  g_autofree double *crossings = g_new (double, n_points);
  gsize changed = 0;
  for (int v = lo[1]; v <= hi[1]; v++)
    {
      memset (row, 0, reslice->width);
      /* Centres inside, by the even-odd rule along the row. */
      int n_crossings = 0;
      for (int p = 0; p < n_points; p++)
        {
          const double *a = uv + 2 * p, *b = uv + 2 * ((p + 1) % n_points);
          if ((a[1] <= v) != (b[1] <= v))
            crossings[n_crossings++] = a[0] + (v - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
        }
      qsort (crossings, n_crossings, sizeof *crossings, compare_doubles);
      for (int c = 0; c + 1 < n_crossings; c += 2)
        {
          int u_lo = MAX (clamp_to_view (ceil (crossings[c]), reslice->width), 0);
          int u_hi = MIN (clamp_to_view (floor (crossings[c + 1]), reslice->width), reslice->width - 1);
          if (u_lo <= u_hi)
            memset (row + u_lo, 1, u_hi - u_lo + 1);
        }
      for (int p = 0; p < n_points; p++)
        {
          const double *a = uv + 2 * p, *b = uv + 2 * ((p + 1) % n_points);
          mark_edge (row, reslice->width, v, a[0], a[1], b[0], b[1]);
        }

      gint64 start, step;
      pulmo_reslice_row (reslice, dims, slice, v, &start, &step);
      for (int u = lo[0]; u <= hi[0]; u++)
        if (row[u])
          {
            int end = u;
            while (end < hi[0] && row[end + 1])
              end++;
            changed += pulmo_painter_run (painter, start + step * u, step, end - u + 1);
            u = end;
          }
    }
  if (changed > 0)
    pulmo_label_map_changed (map, &box);
  pulmo_edit_history_end (history);
  return changed;
}
