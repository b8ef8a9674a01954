#include "edit/brush.h"

#include <math.h>
#include <stdlib.h>

/* Voxel centres exactly on the brush's edge belong to it, despite rounding. */
#define EDGE_EPSILON 1e-9

void
pulmo_brush_half_extent (const PulmoBrush *brush, const PulmoReslice *reslice, double *half_u,
                         double *half_v, double *half_slices)
{
  double radius_mm = 0.5 * brush->size_mm;
  *half_u = radius_mm / reslice->u_spacing_mm;
  *half_v = radius_mm / reslice->v_spacing_mm;
  *half_slices = brush->three_d ? radius_mm / reslice->slice_spacing_mm : 0.0;
}

/* The brush's footprint as runs along the view's u axis: voxels
 * (du_lo…du_hi, dv, ds) from the voxel under the brush's centre. */
typedef struct {
  int dv, ds, du_lo, du_hi;
} BrushRun;

struct _PulmoStroke {
  PulmoEditHistory *history;
  PulmoReslice reslice;
  int slice;
  PulmoPainter painter;
  int dims[3];
  int reach_u, reach_v, reach_slices;   /* the footprint's extent from its centre */
  BrushRun *runs;
  int n_runs;
  gboolean has_point;
  int u, v;                             /* the last voxel stamped */
};

static void
build_footprint (PulmoStroke *stroke, const PulmoBrush *brush)
{
  const PulmoReslice *r = &stroke->reslice;
  double radius = 0.5 * brush->size_mm + EDGE_EPSILON;
  int reach_v = (int) floor (radius / r->v_spacing_mm);
  int reach_s = brush->three_d ? (int) floor (radius / r->slice_spacing_mm) : 0;

  stroke->runs = g_new (BrushRun, (gsize) (2 * reach_v + 1) * (2 * reach_s + 1));
  stroke->n_runs = 0;
  stroke->reach_u = 0;
  for (int ds = -reach_s; ds <= reach_s; ds++)
    for (int dv = -reach_v; dv <= reach_v; dv++)
      {
        double dv_mm = dv * r->v_spacing_mm, ds_mm = ds * r->slice_spacing_mm;
        double reach_u_mm;
        if (brush->shape == PULMO_BRUSH_ROUND)
          {
            double left = radius * radius - dv_mm * dv_mm - ds_mm * ds_mm;
            if (left < 0.0)
              continue;
            reach_u_mm = sqrt (left);
          }
        else
          reach_u_mm = radius;
        int reach_u = (int) floor (reach_u_mm / r->u_spacing_mm);
        stroke->runs[stroke->n_runs++] = (BrushRun) { dv, ds, -reach_u, reach_u };
        stroke->reach_u = MAX (stroke->reach_u, reach_u);
      }
  stroke->reach_v = reach_v;
  stroke->reach_slices = reach_s;
}

PulmoStroke *
pulmo_stroke_begin (PulmoEditHistory *history, const PulmoReslice *reslice, int slice,
                    const PulmoBrush *brush, const PulmoPainter *painter, const char *name)
{
  PulmoStroke *stroke = g_new0 (PulmoStroke, 1);
  stroke->history = history;
  stroke->reslice = *reslice;
  stroke->slice = slice;
  stroke->painter = *painter;
  pulmo_volume_get_dims (pulmo_label_map_get_volume (pulmo_edit_history_get_map (history)), stroke->dims);
  build_footprint (stroke, brush);
  pulmo_edit_history_begin (history, name);
  return stroke;
}

/* The voxel box of the display box around the segment (u0, v0)–(u1, v1) that
 * the footprint can reach; FALSE when it lies outside the volume. */
static gboolean
segment_box (const PulmoStroke *stroke, int u0, int v0, int u1, int v1, PulmoBox *box)
{
  const PulmoReslice *r = &stroke->reslice;
  int lo[3] = { MIN (u0, u1) - stroke->reach_u, MIN (v0, v1) - stroke->reach_v,
                stroke->slice - stroke->reach_slices };
  int hi[3] = { MAX (u0, u1) + stroke->reach_u, MAX (v0, v1) + stroke->reach_v,
                stroke->slice + stroke->reach_slices };
  const int size[3] = { r->width, r->height, r->n_slices };
  for (int a = 0; a < 3; a++)
    {
      lo[a] = MAX (lo[a], 0);
      hi[a] = MIN (hi[a], size[a] - 1);
      if (lo[a] > hi[a])
        return FALSE;
    }
  pulmo_reslice_box_to_voxel (r, lo, hi, box->lo, box->hi);
  return TRUE;
}

/* Paints the footprint centred on display voxel (u, v); returns the voxels changed. */
static gsize
stamp (const PulmoStroke *stroke, int u, int v)
{
  const PulmoReslice *r = &stroke->reslice;
  gsize changed = 0;
  for (int n = 0; n < stroke->n_runs; n++)
    {
      const BrushRun *run = &stroke->runs[n];
      int slice = stroke->slice + run->ds, row = v + run->dv;
      int u_lo = MAX (u + run->du_lo, 0), u_hi = MIN (u + run->du_hi, r->width - 1);
      if (slice < 0 || slice >= r->n_slices || row < 0 || row >= r->height || u_lo > u_hi)
        continue;
      gint64 start, step;
      pulmo_reslice_row (r, stroke->dims, slice, row, &start, &step);
      changed += pulmo_painter_run (&stroke->painter, start + step * u_lo, step, u_hi - u_lo + 1);
    }
  return changed;
}

void
pulmo_stroke_to (PulmoStroke *stroke, double u, double v)
{
  /* Positions far outside the view cannot reach it; clamping keeps the walk bounded. */
  double limit = 4.0 * (stroke->reslice.width + stroke->reslice.height);
  int u1 = (int) floor (CLAMP (u, -limit, limit) + 0.5);
  int v1 = (int) floor (CLAMP (v, -limit, limit) + 0.5);
  int u0 = stroke->has_point ? stroke->u : u1;
  int v0 = stroke->has_point ? stroke->v : v1;

  PulmoBox box;
  if (segment_box (stroke, u0, v0, u1, v1, &box))
    {
      pulmo_edit_history_touch (stroke->history, &box);
      /* Walk from the last voxel to this one in steps of at most one voxel on
       * each axis, stamping at each: consecutive footprints overlap, so the
       * painted band has no gaps however fast the pointer moved. */
      int steps = MAX (abs (u1 - u0), abs (v1 - v0));
      gsize changed = stroke->has_point ? 0 : stamp (stroke, u0, v0);
      for (int s = 1; s <= steps; s++)
        {
          int us = u0 + (int) lround ((double) (u1 - u0) * s / steps);
          int vs = v0 + (int) lround ((double) (v1 - v0) * s / steps);
          changed += stamp (stroke, us, vs);
        }
      if (changed > 0)
        pulmo_label_map_changed (pulmo_edit_history_get_map (stroke->history), &box);
    }
  stroke->has_point = TRUE;
  stroke->u = u1;
  stroke->v = v1;
}

gboolean
pulmo_stroke_end (PulmoStroke *stroke)
{
  gboolean recorded = pulmo_edit_history_end (stroke->history);
  g_free (stroke->runs);
  g_free (stroke);
  return recorded;
}
