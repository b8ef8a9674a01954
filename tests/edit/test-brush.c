/* The brush and eraser on a real CT (P001: 512×512×148, 0.748×0.748×2 mm, LAS;
 * ct-64 with its expert lung mask): voxel counts against the analytic disc and
 * sphere on each view, gapless fast strokes, HU-constrained painting, where
 * paint may go, the eraser of one label, and exact bytes after undo. */
#include <math.h>
#include <string.h>

#include "edit/brush.h"
#include "pulmo-test.h"

static void
view_reslice (PulmoVolume *ct, PulmoViewAxis view, PulmoReslice *reslice)
{
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  pulmo_reslice_init (reslice, view, pulmo_volume_get_affine (ct), dims);
}

static guint64
count_value (PulmoLabelMap *map, uint8_t value)
{
  guint64 counts[256];
  pulmo_label_map_count (map, counts);
  return counts[value];
}

/* One stroke through @points (u, v pairs) on @slice of @view; returns whether it recorded a step. */
static gboolean
paint (PulmoEditHistory *history, PulmoViewAxis view, int slice, const PulmoBrush *brush,
       const PulmoPaintMask *mask, uint8_t value, int only_label, const double *points, int n_points)
{
  PulmoLabelMap *map = pulmo_edit_history_get_map (history);
  PulmoVolume *ct = pulmo_label_map_get_volume (map);
  PulmoReslice reslice;
  view_reslice (ct, view, &reslice);
  PulmoPaintMask all;
  pulmo_paint_mask_init (&all);
  PulmoPainter painter;
  pulmo_painter_init (&painter, map, ct, mask ? mask : &all, value, only_label);
  PulmoStroke *stroke = pulmo_stroke_begin (history, &reslice, slice, brush, &painter, "Brush");
  for (int p = 0; p < n_points; p++)
    pulmo_stroke_to (stroke, points[2 * p], points[2 * p + 1]);
  return pulmo_stroke_end (stroke);
}

/* Every painted voxel lies within the brush's radius of the centre voxel, in mm. */
static void
assert_within_radius (PulmoLabelMap *map, const int centre[3], double radius_mm)
{
  PulmoVolume *ct = pulmo_label_map_get_volume (map);
  const double *spacing = pulmo_volume_get_spacing (ct);
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  const uint8_t *labels = pulmo_label_map_get_data (map);
  gsize n = 0;
  for (int k = 0; k < dims[2]; k++)
    for (int j = 0; j < dims[1]; j++)
      for (int i = 0; i < dims[0]; i++, n++)
        if (labels[n])
          {
            double d[3] = { (i - centre[0]) * spacing[0], (j - centre[1]) * spacing[1],
                            (k - centre[2]) * spacing[2] };
            g_assert_cmpfloat (sqrt (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]), <=, radius_mm + 1e-6);
          }
}

static void
test_disc_and_sphere (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("covid-ct-md/P001.nii.gz");
  const double *spacing = pulmo_volume_get_spacing (ct);
  const int slice_of[PULMO_N_VIEWS] = { 70, 256, 256 };

  for (int view = 0; view < PULMO_N_VIEWS; view++)
    for (int three_d = 0; three_d <= 1; three_d++)
      {
        g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
        g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
        PulmoReslice reslice;
        view_reslice (ct, view, &reslice);
        PulmoBrush brush = { .shape = PULMO_BRUSH_ROUND, .size_mm = 20.0, .three_d = three_d };
        const double centre_uv[2] = { 250.0, view == PULMO_VIEW_AXIAL ? 250.0 : 70.0 };
        g_assert_true (paint (history, view, slice_of[view], &brush, NULL, 1, -1, centre_uv, 1));

        double expected;
        if (three_d)
          expected = 4.0 / 3.0 * G_PI * 1000.0 / (spacing[0] * spacing[1] * spacing[2]);
        else
          expected = G_PI * 100.0 / (reslice.u_spacing_mm * reslice.v_spacing_mm);
        guint64 painted = count_value (map, 1);
        g_test_message ("%s %s: %" G_GUINT64_FORMAT " voxels, analytic %.1f",
                        pulmo_view_axis_name (view), three_d ? "sphere" : "disc", painted, expected);
        g_assert_cmpfloat (fabs (painted - expected) / expected, <, 0.03);

        int centre[3];
        pulmo_reslice_to_voxel (&reslice, 250, (int) centre_uv[1], slice_of[view], centre);
        assert_within_radius (map, centre, 10.0);
      }
}

static void
test_square (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("covid-ct-md/P001.nii.gz");
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
  /* 10 mm at 0.748 mm: centres within 5 mm of the centre, 6 voxels each side. */
  PulmoBrush brush = { .shape = PULMO_BRUSH_SQUARE, .size_mm = 10.0 };
  const double at[2] = { 100.0, 100.0 };
  g_assert_true (paint (history, PULMO_VIEW_AXIAL, 70, &brush, NULL, 4, -1, at, 1));
  g_assert_cmpuint (count_value (map, 4), ==, 13 * 13);

  /* As a cube on the coronal view: 13 × 13 in plane (2 mm rows: 5 of them) … */
  brush.three_d = TRUE;
  g_assert_true (paint (history, PULMO_VIEW_CORONAL, 300, &brush, NULL, 3, -1, at, 1));
  g_assert_cmpuint (count_value (map, 3), ==, 13 * 5 * 13);

  /* A brush smaller than a voxel still paints the voxel under the pointer. */
  brush = (PulmoBrush) { .shape = PULMO_BRUSH_ROUND, .size_mm = 0.1 };
  g_assert_true (paint (history, PULMO_VIEW_SAGITTAL, 400, &brush, NULL, 2, -1, at, 1));
  g_assert_cmpuint (count_value (map, 2), ==, 1);
}

/* A fast drag reported as two pointer events far apart paints a band with no
 * gaps: one 4-connected piece that reaches every column between them. */
static void
test_gapless_stroke (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("covid-ct-md/P001.nii.gz");
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
  PulmoReslice reslice;
  view_reslice (ct, PULMO_VIEW_AXIAL, &reslice);
  PulmoBrush brush = { .shape = PULMO_BRUSH_ROUND, .size_mm = 2.0 };
  const double points[] = { 50.0, 100.0, 450.0, 300.0, 60.0, 480.0 };
  g_assert_true (paint (history, PULMO_VIEW_AXIAL, 70, &brush, NULL, 1, -1, points, 3));

  /* The slice as a display image. */
  int w = reslice.width, h = reslice.height, dims[3];
  pulmo_volume_get_dims (ct, dims);
  g_autofree uint8_t *image = g_malloc0 ((gsize) w * h);
  const uint8_t *labels = pulmo_label_map_get_data (map);
  for (int v = 0; v < h; v++)
    {
      gint64 start, step;
      pulmo_reslice_row (&reslice, dims, 70, v, &start, &step);
      for (int u = 0; u < w; u++)
        image[v * w + u] = labels[start + step * u];
    }
  /* Nothing off the slice. */
  guint64 on_slice = 0;
  for (gsize p = 0; p < (gsize) w * h; p++)
    on_slice += image[p];
  g_assert_cmpuint (on_slice, ==, count_value (map, 1));

  for (int u = 50; u <= 450; u++)
    {
      gboolean any = FALSE;
      for (int v = 0; v < h; v++)
        any |= image[v * w + u] != 0;
      g_assert_true (any);
    }

  /* Flood the band from its start: it must reach every painted pixel. */
  g_autofree int *queue = g_new (int, (gsize) w * h);
  int head = 0, tail = 0;
  queue[tail++] = 100 * w + 50;
  image[100 * w + 50] = 2;
  while (head < tail)
    {
      int p = queue[head++], u = p % w, v = p / w;
      const int nu[4] = { u - 1, u + 1, u, u }, nv[4] = { v, v, v - 1, v + 1 };
      for (int n = 0; n < 4; n++)
        if (nu[n] >= 0 && nu[n] < w && nv[n] >= 0 && nv[n] < h && image[nv[n] * w + nu[n]] == 1)
          {
            image[nv[n] * w + nu[n]] = 2;
            queue[tail++] = nv[n] * w + nu[n];
          }
    }
  g_assert_cmpuint ((guint64) tail, ==, on_slice);
}

/* With the HU range on, the stroke paints exactly the voxels it would paint
 * without it whose CT value lies in the range. */
static void
test_hu_range (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("covid-ct-md/P001.nii.gz");
  g_autoptr (PulmoLabelMap) free_map = pulmo_label_map_new (ct);
  g_autoptr (PulmoLabelMap) masked_map = pulmo_label_map_new (ct);
  g_autoptr (PulmoEditHistory) free_history = pulmo_edit_history_new (free_map, 0);
  g_autoptr (PulmoEditHistory) masked_history = pulmo_edit_history_new (masked_map, 0);
  /* A 3D drag across the right lung and the mediastinum of slice 70. */
  PulmoBrush brush = { .shape = PULMO_BRUSH_ROUND, .size_mm = 30.0, .three_d = TRUE };
  const double points[] = { 120.0, 250.0, 260.0, 260.0 };
  PulmoPaintMask mask;
  pulmo_paint_mask_init (&mask);
  mask.hu_enabled = TRUE;
  mask.hu_min = -800.0;
  mask.hu_max = -99.5;
  g_assert_true (paint (free_history, PULMO_VIEW_AXIAL, 70, &brush, NULL, 3, -1, points, 2));
  g_assert_true (paint (masked_history, PULMO_VIEW_AXIAL, 70, &brush, &mask, 3, -1, points, 2));

  const int16_t *hu = pulmo_volume_get_int16 (ct);
  g_assert_nonnull (hu);
  const uint8_t *all = pulmo_label_map_get_data (free_map);
  const uint8_t *masked = pulmo_label_map_get_data (masked_map);
  guint64 in_range = 0, out_of_range = 0;
  for (gsize n = 0; n < pulmo_volume_get_n_voxels (ct); n++)
    {
      gboolean expect = all[n] == 3 && hu[n] >= -800 && hu[n] <= -100;
      g_assert_cmpint (masked[n] == 3, ==, expect);
      in_range += expect;
      out_of_range += all[n] == 3 && !expect;
    }
  /* The drag met both lung and soft tissue, so the mask did something. */
  g_assert_cmpuint (in_range, >, 1000);
  g_assert_cmpuint (out_of_range, >, 1000);
}

/* Painting over background only, inside the lungs only, over visible labels
 * only, and erasing one label, on ct-64 with its expert lung mask. */
static void
test_paint_over (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *lung_path = pulmo_test_data ("cip-chest-ct/wholeLung-64.nii.gz");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_load (ct, lung_path, NULL, NULL, &error);
  g_assert_no_error (error);
  gsize n = pulmo_volume_get_n_voxels (ct);
  const uint8_t *labels = pulmo_label_map_get_data (map);
  /* The mask marks the lungs with one value; make it "right lung" (1). */
  uint8_t *mutable = pulmo_label_map_get_data_mutable (map);
  for (gsize p = 0; p < n; p++)
    mutable[p] = mutable[p] ? PULMO_LABEL_RIGHT_LUNG : 0;
  g_autofree uint8_t *lungs = g_memdup2 (labels, n);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);

  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  PulmoReslice reslice;
  view_reslice (ct, PULMO_VIEW_CORONAL, &reslice);
  /* A big sphere across the whole chest on a coronal slice through the lungs. */
  PulmoBrush brush = { .shape = PULMO_BRUSH_ROUND, .size_mm = 120.0, .three_d = TRUE };
  const double centre[2] = { reslice.width / 2.0, reslice.height / 2.0 };
  int slice = reslice.n_slices / 2;
  PulmoPaintMask mask;
  pulmo_paint_mask_init (&mask);

  mask.over = PULMO_PAINT_OVER_BACKGROUND;
  g_assert_true (paint (history, PULMO_VIEW_CORONAL, slice, &brush, &mask, 5, -1, centre, 1));
  guint64 effusion = 0;
  for (gsize p = 0; p < n; p++)
    {
      if (lungs[p])
        g_assert_cmpuint (labels[p], ==, PULMO_LABEL_RIGHT_LUNG);
      effusion += labels[p] == 5;
    }
  g_assert_cmpuint (effusion, >, 0);

  mask.over = PULMO_PAINT_OVER_LUNGS;
  g_assert_true (paint (history, PULMO_VIEW_CORONAL, slice, &brush, &mask, 3, -1, centre, 1));
  guint64 lesion = 0;
  for (gsize p = 0; p < n; p++)
    {
      if (!lungs[p])
        g_assert_cmpuint (labels[p], !=, 3);
      lesion += labels[p] == 3;
    }
  g_assert_cmpuint (lesion, >, 0);

  /* Hide ground glass: "visible labels" now means lung only (effusion too). */
  PulmoLabelTable *table = pulmo_label_map_get_table (map);
  pulmo_label_table_set_visible (table, PULMO_LABEL_GROUND_GLASS, FALSE);
  g_autofree uint8_t *before_visible = g_memdup2 (labels, n);
  mask.over = PULMO_PAINT_OVER_VISIBLE;
  brush.size_mm = 200.0;
  g_assert_true (paint (history, PULMO_VIEW_CORONAL, slice, &brush, &mask, 4, -1, centre, 1));
  for (gsize p = 0; p < n; p++)
    if (before_visible[p] == 0 || before_visible[p] == 3)
      g_assert_cmpuint (labels[p], ==, before_visible[p]);

  /* The eraser of consolidation only: everything else stays. */
  g_autofree uint8_t *before_erase = g_memdup2 (labels, n);
  pulmo_paint_mask_init (&mask);
  brush.size_mm = 300.0;
  g_assert_true (paint (history, PULMO_VIEW_CORONAL, slice, &brush, &mask, 0, 4, centre, 1));
  for (gsize p = 0; p < n; p++)
    g_assert_cmpuint (labels[p], ==, before_erase[p] == 4 ? 0 : before_erase[p]);

  /* Four steps, each undone to the exact bytes. */
  g_assert_cmpuint (pulmo_edit_history_get_n_steps (history), ==, 4);
  g_assert_true (pulmo_edit_history_undo (history));
  g_assert_cmpmem (labels, n, before_erase, n);
  g_assert_true (pulmo_edit_history_undo (history));
  g_assert_cmpmem (labels, n, before_visible, n);
  g_assert_true (pulmo_edit_history_undo (history));
  g_assert_true (pulmo_edit_history_undo (history));
  g_assert_cmpmem (labels, n, lungs, n);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/edit/brush/disc-and-sphere", test_disc_and_sphere);
  g_test_add_func ("/edit/brush/square", test_square);
  g_test_add_func ("/edit/brush/gapless-stroke", test_gapless_stroke);
  g_test_add_func ("/edit/brush/hu-range", test_hu_range);
  g_test_add_func ("/edit/brush/paint-over", test_paint_over);
  return g_test_run ();
}
