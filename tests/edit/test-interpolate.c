/* Fill between slices on P001 (512×512×148, 0.748×0.748×2 mm): discs drawn on
 * a few slices of a view give, on the slices between, discs whose radius
 * moves linearly from one to the next, in mm also on the coronal view's
 * anisotropic plane; the painter's mask holds; one undo step restores the
 * exact bytes; a second run, with nothing left to fill, records nothing. */
#include <math.h>
#include <string.h>

#include "edit/interpolate.h"
#include "pulmo-test.h"

#define CENTRE_U 250
#define CENTRE_V 90

typedef struct {
  PulmoVolume *ct;
  PulmoLabelMap *map;
  PulmoEditHistory *history;
  PulmoReslice reslice;
  gsize n;
} Scene;

static void
scene_init (Scene *s, PulmoVolume *ct, PulmoViewAxis view)
{
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  s->ct = ct;
  s->map = pulmo_label_map_new (ct);
  s->history = pulmo_edit_history_new (s->map, 0);
  pulmo_reslice_init (&s->reslice, view, pulmo_volume_get_affine (ct), dims);
  s->n = pulmo_volume_get_n_voxels (ct);
}

static void
scene_clear (Scene *s)
{
  pulmo_edit_history_free (s->history);
  g_object_unref (s->map);
}

static double
radius_mm_of (const Scene *s, int u, int v)
{
  return hypot ((u - CENTRE_U) * s->reslice.u_spacing_mm, (v - CENTRE_V) * s->reslice.v_spacing_mm);
}

static void
set_display (Scene *s, int u, int v, int slice, uint8_t value)
{
  int ijk[3];
  pulmo_reslice_to_voxel (&s->reslice, u, v, slice, ijk);
  int dims[3];
  pulmo_volume_get_dims (s->ct, dims);
  pulmo_label_map_get_data_mutable (s->map)[((gsize) ijk[2] * dims[1] + ijk[1]) * dims[0] + ijk[0]] = value;
}

static void
draw_disc (Scene *s, int slice, double radius_mm, uint8_t value)
{
  for (int v = 0; v < s->reslice.height; v++)
    for (int u = 0; u < s->reslice.width; u++)
      if (radius_mm_of (s, u, v) <= radius_mm)
        set_display (s, u, v, slice, value);
}

static gsize
count_on_slice (Scene *s, int slice, uint8_t value)
{
  gsize count = 0;
  for (int v = 0; v < s->reslice.height; v++)
    for (int u = 0; u < s->reslice.width; u++)
      {
        int ijk[3];
        pulmo_reslice_to_voxel (&s->reslice, u, v, slice, ijk);
        count += pulmo_label_map_get (s->map, ijk[0], ijk[1], ijk[2]) == value;
      }
  return count;
}

/* Slice @slice holds a disc of @radius_mm: every voxel more than @slack_mm
 * inside the radius is painted, none more than @slack_mm outside, and the
 * area gives the radius within @slack_mm / 2. */
static void
assert_disc (Scene *s, int slice, double radius_mm, double slack_mm)
{
  for (int v = 0; v < s->reslice.height; v++)
    for (int u = 0; u < s->reslice.width; u++)
      {
        int ijk[3];
        pulmo_reslice_to_voxel (&s->reslice, u, v, slice, ijk);
        gboolean painted = pulmo_label_map_get (s->map, ijk[0], ijk[1], ijk[2]) == 3;
        double r = radius_mm_of (s, u, v);
        if (r < radius_mm - slack_mm)
          g_assert_true (painted);
        if (r > radius_mm + slack_mm)
          g_assert_false (painted);
      }
  double area_mm2 = count_on_slice (s, slice, 3) * s->reslice.u_spacing_mm * s->reslice.v_spacing_mm;
  double estimate = sqrt (area_mm2 / G_PI);
  g_test_message ("slice %d: radius %.2f mm, expected %.2f", slice, estimate, radius_mm);
  g_assert_cmpfloat (fabs (estimate - radius_mm), <, slack_mm / 2);
}

/* Axial: discs of 20 mm on slice 50, 8 mm on 56 and 16 mm on 60; the 8 slices
 * between are filled in one step. */
static void
test_axial (void)
{
  g_autofree char *path = pulmo_test_data ("covid-ct-md/P001.nii.gz");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) ct = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  Scene s;
  scene_init (&s, ct, PULMO_VIEW_AXIAL);
  draw_disc (&s, 50, 20.0, 3);
  draw_disc (&s, 56, 8.0, 3);
  draw_disc (&s, 60, 16.0, 3);
  g_autofree uint8_t *before = g_memdup2 (pulmo_label_map_get_data (s.map), s.n);
  const gsize outlined = count_on_slice (&s, 50, 3) + count_on_slice (&s, 56, 3) + count_on_slice (&s, 60, 3);

  PulmoPaintMask mask;
  pulmo_paint_mask_init (&mask);
  PulmoPainter painter;
  pulmo_painter_init (&painter, s.map, ct, &mask, 3, -1);
  gsize filled = pulmo_interpolate_slices (s.history, &painter, &s.reslice, "Fill between slices");
  g_assert_cmpuint (pulmo_edit_history_get_n_steps (s.history), ==, 1);

  gsize between = 0;
  for (int t = 51; t <= 59; t++)
    if (t != 56)
      {
        double radius = t < 56 ? 20.0 + (8.0 - 20.0) * (t - 50) / 6.0 : 8.0 + (16.0 - 8.0) * (t - 56) / 4.0;
        assert_disc (&s, t, radius, 1.0);
        between += count_on_slice (&s, t, 3);
      }
  g_assert_cmpuint (filled, ==, between);
  guint64 counts[256];
  pulmo_label_map_count (s.map, counts);
  g_assert_cmpuint (counts[3], ==, outlined + between);   /* nothing beyond slices 50…60 */

  /* Every slice between is filled now: nothing to do, no step. */
  g_assert_cmpuint (pulmo_interpolate_slices (s.history, &painter, &s.reslice, "Fill between slices"), ==, 0);
  g_assert_cmpuint (pulmo_edit_history_get_n_steps (s.history), ==, 1);
  g_assert_true (pulmo_edit_history_undo (s.history));
  g_assert_cmpmem (pulmo_label_map_get_data (s.map), s.n, before, s.n);

  /* Over background only: a 5×5 block of label 1 in the middle of slice 53 stays. */
  for (int v = CENTRE_V - 2; v <= CENTRE_V + 2; v++)
    for (int u = CENTRE_U - 2; u <= CENTRE_U + 2; u++)
      set_display (&s, u, v, 53, 1);
  mask.over = PULMO_PAINT_OVER_BACKGROUND;
  pulmo_painter_init (&painter, s.map, ct, &mask, 3, -1);
  gsize masked = pulmo_interpolate_slices (s.history, &painter, &s.reslice, "Fill between slices");
  g_assert_cmpuint (masked, ==, filled - 25);
  g_assert_cmpuint (count_on_slice (&s, 53, 1), ==, 25);
  scene_clear (&s);
}

/* Coronal: u runs along 0.748 mm voxels, v along 2 mm ones; discs of 10 mm on
 * slice 200 and 20 mm on slice 204 blend in mm, not in voxels. */
static void
test_coronal (void)
{
  g_autofree char *path = pulmo_test_data ("covid-ct-md/P001.nii.gz");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) ct = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  Scene s;
  scene_init (&s, ct, PULMO_VIEW_CORONAL);
  g_assert_cmpfloat (s.reslice.v_spacing_mm, >, 2 * s.reslice.u_spacing_mm);
  draw_disc (&s, 200, 10.0, 3);
  draw_disc (&s, 204, 20.0, 3);
  PulmoPaintMask mask;
  pulmo_paint_mask_init (&mask);
  PulmoPainter painter;
  pulmo_painter_init (&painter, s.map, ct, &mask, 3, -1);
  g_assert_cmpuint (pulmo_interpolate_slices (s.history, &painter, &s.reslice, "Fill between slices"), >, 0);
  for (int t = 201; t <= 203; t++)
    assert_disc (&s, t, 10.0 + 10.0 * (t - 200) / 4.0, s.reslice.v_spacing_mm);
  scene_clear (&s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/interpolate/axial", test_axial);
  g_test_add_func ("/interpolate/coronal", test_coronal);
  return g_test_run ();
}
