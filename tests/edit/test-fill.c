/* Flood fill and polygon fill on real CT: a 3D fill of the lungs of ct-64
 * within −1000…−400 HU against its expert lung mask and against a plain
 * breadth-first search, the same on P001 (512×512×148) and on single slices
 * of every view, masks that stop the fill, polygon counts against the
 * analytic area, exact bytes after undo, and no undo step for a no-op. */
#include <math.h>
#include <string.h>

#include "edit/fill.h"
#include "pulmo-test.h"

static void
view_reslice (PulmoVolume *ct, PulmoViewAxis view, PulmoReslice *reslice)
{
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  pulmo_reslice_init (reslice, view, pulmo_volume_get_affine (ct), dims);
}

static void
painter_over (PulmoPainter *painter, PulmoLabelMap *map, PulmoPaintOver over, uint8_t value)
{
  PulmoPaintMask mask;
  pulmo_paint_mask_init (&mask);
  mask.over = over;
  pulmo_painter_init (painter, map, pulmo_label_map_get_volume (map), &mask, value, -1);
}

/* The voxels 6-connected to @seed with HU in range, by a plain breadth-first
 * search over the whole grid; with @slice_axis >= 0 only in the seed's slice. */
static uint8_t *
reference_region (PulmoVolume *ct, const int seed[3], double hu_min, double hu_max, int slice_axis,
                  gsize *n_region)
{
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  gsize n = pulmo_volume_get_n_voxels (ct);
  const int16_t *hu = pulmo_volume_get_int16 (ct);
  uint8_t *region = g_malloc0 (n);
  guint32 *queue = g_new (guint32, n);
  gsize head = 0, tail = 0;
  gsize s = ((gsize) seed[2] * dims[1] + seed[1]) * dims[0] + seed[0];
  region[s] = 1;
  queue[tail++] = (guint32) s;
  while (head < tail)
    {
      gsize v = queue[head++];
      int c[3] = { (int) (v % dims[0]), (int) (v / dims[0] % dims[1]), (int) (v / dims[0] / dims[1]) };
      for (int a = 0; a < 3; a++)
        for (int d = -1; d <= 1; d += 2)
          {
            if (a == slice_axis)
              continue;
            int m[3] = { c[0], c[1], c[2] };
            m[a] += d;
            if (m[a] < 0 || m[a] >= dims[a])
              continue;
            gsize w = ((gsize) m[2] * dims[1] + m[1]) * dims[0] + m[0];
            if (!region[w] && hu[w] >= hu_min && hu[w] <= hu_max)
              {
                region[w] = 1;
                queue[tail++] = (guint32) w;
              }
          }
    }
  g_free (queue);
  *n_region = tail;
  return region;
}

/* The map holds @value exactly on @region and 0 elsewhere. */
static void
assert_labels_are (PulmoLabelMap *map, const uint8_t *region, uint8_t value)
{
  const uint8_t *labels = pulmo_label_map_get_data (map);
  gsize n = pulmo_volume_get_n_voxels (pulmo_label_map_get_volume (map));
  gsize wrong = 0;
  for (gsize v = 0; v < n; v++)
    wrong += labels[v] != (region[v] ? value : 0);
  g_assert_cmpuint (wrong, ==, 0);
}

/* A voxel of the expert lung mask deep in air, with its six neighbours in it too. */
static void
seed_in_lung (PulmoVolume *ct, const int16_t *lung, int seed[3])
{
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  const int16_t *hu = pulmo_volume_get_int16 (ct);
  for (int k = dims[2] / 2; k < dims[2] - 1; k++)
    for (int j = 1; j < dims[1] - 1; j++)
      for (int i = 1; i < dims[0] - 1; i++)
        {
          gsize v = ((gsize) k * dims[1] + j) * dims[0] + i;
          gsize sx = 1, sy = dims[0], sz = (gsize) dims[0] * dims[1];
          if (lung[v] && hu[v] < -850 && lung[v - sx] && lung[v + sx] && lung[v - sy] && lung[v + sy]
              && lung[v - sz] && lung[v + sz])
            {
              seed[0] = i, seed[1] = j, seed[2] = k;
              return;
            }
        }
  g_assert_not_reached ();
}

static void
test_lung_3d (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autoptr (PulmoVolume) lung_mask = pulmo_test_load_ct ("cip-chest-ct/wholeLung-64.nii.gz");
  const int16_t *lung = pulmo_volume_get_int16 (lung_mask);
  const int16_t *hu = pulmo_volume_get_int16 (ct);
  g_assert_nonnull (lung);
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
  gsize n = pulmo_volume_get_n_voxels (ct);

  int seed[3];
  seed_in_lung (ct, lung, seed);
  PulmoPainter painter;
  painter_over (&painter, map, PULMO_PAINT_OVER_ALL, 1);
  guint64 revision = pulmo_label_map_get_revision (map);
  gsize filled = pulmo_flood_fill (history, ct, &painter, seed, -1000, -400, NULL, "Fill");

  gsize n_reference;
  g_autofree uint8_t *reference = reference_region (ct, seed, -1000, -400, -1, &n_reference);
  g_assert_cmpuint (filled, ==, n_reference);
  assert_labels_are (map, reference, 1);
  g_assert_cmpuint (pulmo_label_map_get_revision (map), >, revision);

  /* Against the expert mask: the fill holds the lungs' air, and little else. */
  gsize lung_air = 0, lung_air_filled = 0, filled_in_lung = 0;
  for (gsize v = 0; v < n; v++)
    {
      gboolean air = hu[v] >= -1000 && hu[v] <= -400;
      lung_air += lung[v] && air;
      lung_air_filled += lung[v] && air && reference[v];
      filled_in_lung += lung[v] && reference[v];
    }
  double contained = (double) lung_air_filled / lung_air, precision = (double) filled_in_lung / filled;
  g_test_message ("ct-64: filled %" G_GSIZE_FORMAT " voxels; %.3f of the mask's air, %.3f inside the mask",
                  filled, contained, precision);
  g_assert_cmpfloat (contained, >, 0.97);
  g_assert_cmpfloat (precision, >, 0.85);

  /* A fill of what is filled already changes nothing and records no step. */
  g_assert_cmpuint (pulmo_edit_history_get_n_steps (history), ==, 1);
  g_assert_cmpuint (pulmo_flood_fill (history, ct, &painter, seed, -1000, -400, NULL, "Fill"), ==, 0);
  g_assert_cmpuint (pulmo_edit_history_get_n_steps (history), ==, 1);
  g_assert_true (pulmo_edit_history_can_undo (history));
  g_assert_false (pulmo_edit_history_can_redo (history));

  /* Undo restores the empty map byte for byte; redo the fill. */
  g_autofree uint8_t *zeros = g_malloc0 (n);
  g_assert_true (pulmo_edit_history_undo (history));
  g_assert_cmpmem (pulmo_label_map_get_data (map), n, zeros, n);
  g_assert_true (pulmo_edit_history_redo (history));
  assert_labels_are (map, reference, 1);
}

/* P001: the fill of its air within −1000…−400 from a seed in the right lung is
 * exactly the breadth-first search's region, however many runs it holds. */
static void
test_p001_3d (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("covid-ct-md/P001.nii.gz");
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
  const int seed[3] = { 150, 250, 70 };
  g_assert_cmpfloat (pulmo_volume_get_value (ct, seed[0], seed[1], seed[2]), <, -700);
  PulmoPainter painter;
  painter_over (&painter, map, PULMO_PAINT_OVER_ALL, 2);
  gsize filled = pulmo_flood_fill (history, ct, &painter, seed, -1000, -400, NULL, "Fill");
  gsize n_reference;
  g_autofree uint8_t *reference = reference_region (ct, seed, -1000, -400, -1, &n_reference);
  g_test_message ("P001: filled %" G_GSIZE_FORMAT " voxels (%.0f mL)", filled,
                  filled * 0.748 * 0.748 * 2.0 / 1000.0);
  g_assert_cmpuint (filled, ==, n_reference);
  assert_labels_are (map, reference, 2);
}

/* A 2D fill on each view stays in the seed's slice and is the 2D search's region. */
static void
test_slices (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("covid-ct-md/P001.nii.gz");
  const int seed[3] = { 150, 250, 70 };
  for (int view = 0; view < PULMO_N_VIEWS; view++)
    {
      g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
      g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
      PulmoReslice reslice;
      view_reslice (ct, view, &reslice);
      PulmoPainter painter;
      painter_over (&painter, map, PULMO_PAINT_OVER_ALL, 3);
      gsize filled = pulmo_flood_fill (history, ct, &painter, seed, -1000, -400, &reslice, "Fill");
      gsize n_reference;
      g_autofree uint8_t *reference = reference_region (ct, seed, -1000, -400, reslice.slice_axis, &n_reference);
      g_test_message ("%s: %" G_GSIZE_FORMAT " voxels", pulmo_view_axis_name (view), filled);
      g_assert_cmpuint (filled, >, 1000);
      g_assert_cmpuint (filled, ==, n_reference);
      assert_labels_are (map, reference, 3);   /* in the slice: the reference never leaves it */
    }
}

/* Where paint may not go, the fill neither paints nor passes. */
static void
test_masks (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autoptr (PulmoVolume) lung_mask = pulmo_test_load_ct ("cip-chest-ct/wholeLung-64.nii.gz");
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  gsize n = pulmo_volume_get_n_voxels (ct);
  int seed[3];
  seed_in_lung (ct, pulmo_volume_get_int16 (lung_mask), seed);

  /* A wall of label 5 across the whole grid at the seed's slice + 2. */
  uint8_t *labels = pulmo_label_map_get_data_mutable (map);
  const int wall = seed[2] + 2;
  memset (labels + (gsize) wall * dims[0] * dims[1], 5, (gsize) dims[0] * dims[1]);
  g_autofree uint8_t *before = g_memdup2 (labels, n);

  PulmoPainter painter;
  painter_over (&painter, map, PULMO_PAINT_OVER_BACKGROUND, 1);
  gsize filled = pulmo_flood_fill (history, ct, &painter, seed, -1000, -400, NULL, "Fill");
  g_assert_cmpuint (filled, >, 0);
  gsize beyond = 0, wall_kept = 0;
  for (gsize v = 0; v < n; v++)
    {
      int k = (int) (v / ((gsize) dims[0] * dims[1]));
      beyond += k >= wall && labels[v] == 1;
      wall_kept += k == wall && labels[v] == 5;
    }
  g_assert_cmpuint (beyond, ==, 0);
  g_assert_cmpuint (wall_kept, ==, (gsize) dims[0] * dims[1]);

  /* The same fill over everything goes through the wall. */
  g_assert_true (pulmo_edit_history_undo (history));
  g_assert_cmpmem (labels, n, before, n);
  painter_over (&painter, map, PULMO_PAINT_OVER_ALL, 1);
  gsize through = pulmo_flood_fill (history, ct, &painter, seed, -1000, -400, NULL, "Fill");
  g_assert_cmpuint (through, >, filled);

  /* A seed outside the HU range fills nothing and records nothing. */
  guint n_steps = pulmo_edit_history_get_n_steps (history);
  g_assert_cmpuint (pulmo_flood_fill (history, ct, &painter, seed, 0, 100, NULL, "Fill"), ==, 0);
  g_assert_cmpuint (pulmo_edit_history_get_n_steps (history), ==, n_steps);
}

static guint64
count_value (PulmoLabelMap *map, uint8_t value)
{
  guint64 counts[256];
  pulmo_label_map_count (map, counts);
  return counts[value];
}

/* Polygons with vertices on voxel corners: a rectangle holds exactly its area
 * in voxels; a right triangle its area plus half of the 40 voxels whose centres
 * its hypotenuse passes through (the edge rule takes them whole). */
static void
test_polygons (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("covid-ct-md/P001.nii.gz");
  gsize n = pulmo_volume_get_n_voxels (ct);
  for (int view = 0; view < PULMO_N_VIEWS; view++)
    {
      g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
      g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
      PulmoReslice reslice;
      view_reslice (ct, view, &reslice);
      PulmoPainter painter;
      painter_over (&painter, map, PULMO_PAINT_OVER_ALL, 4);
      const int slice = reslice.n_slices / 2;

      const double rectangle[] = { 10.5, 20.5, 30.5, 20.5, 30.5, 50.5, 10.5, 50.5 };
      g_assert_cmpuint (pulmo_polygon_fill (history, &painter, &reslice, slice, rectangle, 4, "Polygon"), ==, 600);
      g_assert_cmpuint (count_value (map, 4), ==, 600);
      /* Every voxel on the slice, inside the rectangle. */
      for (int v = 0; v < reslice.height; v++)
        for (int u = 0; u < reslice.width; u++)
          {
            int ijk[3];
            pulmo_reslice_to_voxel (&reslice, u, v, slice, ijk);
            gboolean inside = u >= 11 && u <= 30 && v >= 21 && v <= 50;
            g_assert_cmpint (pulmo_label_map_get (map, ijk[0], ijk[1], ijk[2]) == 4, ==, inside);
          }

      const double triangle[] = { 60.5, 10.5, 100.5, 10.5, 60.5, 50.5 };
      g_assert_cmpuint (pulmo_polygon_fill (history, &painter, &reslice, slice, triangle, 3, "Polygon"), ==,
                        800 + 20);

      /* Filling the triangle again changes nothing and adds no step. */
      g_assert_cmpuint (pulmo_edit_history_get_n_steps (history), ==, 2);
      g_assert_cmpuint (pulmo_polygon_fill (history, &painter, &reslice, slice, triangle, 3, "Polygon"), ==, 0);
      g_assert_cmpuint (pulmo_edit_history_get_n_steps (history), ==, 2);

      g_autofree uint8_t *zeros = g_malloc0 (n);
      g_assert_true (pulmo_edit_history_undo (history));
      g_assert_cmpuint (count_value (map, 4), ==, 600);
      g_assert_true (pulmo_edit_history_undo (history));
      g_assert_cmpmem (pulmo_label_map_get_data (map), n, zeros, n);
    }
}

/* A lasso: a circle of 720 points of radius 40 voxels, a part of it beyond the
 * view's edge, holds the disc's area within its rim, clipped to the view. */
static void
test_lasso (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("covid-ct-md/P001.nii.gz");
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
  PulmoReslice reslice;
  view_reslice (ct, PULMO_VIEW_AXIAL, &reslice);
  PulmoPainter painter;
  painter_over (&painter, map, PULMO_PAINT_OVER_ALL, 1);

  const int n_points = 720;
  g_autofree double *uv = g_new (double, 2 * n_points);
  for (int p = 0; p < n_points; p++)
    {
      uv[2 * p] = 200.0 + 40.0 * cos (2 * G_PI * p / n_points);
      uv[2 * p + 1] = 20.0 + 40.0 * sin (2 * G_PI * p / n_points);   /* v < 0 for half of it */
    }
  gsize painted = pulmo_polygon_fill (history, &painter, &reslice, 70, uv, n_points, "Lasso");
  /* The disc's voxel centres with v >= 0: by counting lattice points. */
  gsize lattice = 0, rim = 0;
  for (int v = 0; v <= 60; v++)
    for (int u = 160; u <= 240; u++)
      {
        double r = hypot (u - 200.0, v - 20.0);
        lattice += r <= 40.0;
        rim += fabs (r - 40.0) < 0.71;
      }
  g_test_message ("lasso: %" G_GSIZE_FORMAT " voxels, %" G_GSIZE_FORMAT " centres inside", painted, lattice);
  g_assert_cmpuint (painted, >=, lattice - rim);
  g_assert_cmpuint (painted, <=, lattice + rim);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fill/lung-3d", test_lung_3d);
  g_test_add_func ("/fill/p001-3d", test_p001_3d);
  g_test_add_func ("/fill/slices", test_slices);
  g_test_add_func ("/fill/masks", test_masks);
  g_test_add_func ("/fill/polygons", test_polygons);
  g_test_add_func ("/fill/lasso", test_lasso);
  return g_test_run ();
}
