/* The editing tools driven through the window's actions and the views' pointer
 * handlers (the code paths of the gestures), under Xvfb, on P001 of
 * COVID-CT-MD (512 × 512 × 148, 0.75 × 0.75 × 2 mm, int16 HU), opened without
 * labels: the first edit makes the map. Expected voxel counts are computed here
 * from their definitions (the lattice disc, the HU range, a breadth-first fill),
 * independently of src/edit. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "app/pulmo-preferences.h"
#include "app/pulmo-slice-view-private.h"
#include "app/pulmo-window.h"
#include "app-test-window.h"
#include "app-test.h"
#include "pulmo-test.h"

#define SPACING_UV_MM 0.75

typedef struct {
  PulmoWindow *window;
  PulmoViewState *state;
  PulmoEditState *edit;
  PulmoSliceView *axial;
  PulmoVolume *ct;
  int dims[3];
  int slice;            /* the axial slice shown: k of the crosshair */
  guint n_edited;       /* "edited" emissions */
} Fixture;

static void
count_edited (PulmoEditState *edit, Fixture *f)
{
  f->n_edited++;
}

static void
setup (Fixture *f, gconstpointer data)
{
  app_test_reset_preferences ();
  f->window = pulmo_window_new (NULL);
  f->state = pulmo_window_get_state (f->window);
  gtk_window_present (GTK_WINDOW (f->window));

  g_autofree char *path = pulmo_test_data ("covid-ct-md/P001.nii.gz");
  g_autoptr (GFile) file = g_file_new_for_path (path);
  pulmo_window_open (f->window, file);
  app_test_wait_for (app_test_window_loaded, f->window, 120);
  g_assert_null (pulmo_window_get_error (f->window));
  f->axial = pulmo_window_get_view (f->window, PULMO_VIEW_AXIAL);
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
  while (gtk_widget_get_width (GTK_WIDGET (f->axial)) < 50)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  while (g_main_context_iteration (NULL, FALSE))
    ;
  f->ct = pulmo_view_state_get_volume (f->state);
  pulmo_volume_get_dims (f->ct, f->dims);
  g_assert_cmpint (f->dims[0], ==, 512);
  g_assert_cmpint (f->dims[2], ==, 148);
  f->slice = pulmo_slice_view_get_slice (f->axial);
  /* The window gives every view its edit state. */
  f->edit = pulmo_slice_view_get_edit_state (f->axial);
  g_assert_nonnull (f->edit);
  g_assert_true (pulmo_slice_view_get_edit_state (pulmo_window_get_view (f->window, PULMO_VIEW_CORONAL))
                 == f->edit);
  g_signal_connect (f->edit, "edited", G_CALLBACK (count_edited), f);
  g_assert_null (pulmo_view_state_get_labels (f->state));
  g_object_set (f->edit, "brush-size-mm", 10.0, "brush-3d", FALSE, "brush-shape", PULMO_BRUSH_ROUND,
                "hu-enabled", FALSE, NULL);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_signal_handlers_disconnect_by_data (f->edit, f);
  gtk_window_destroy (GTK_WINDOW (f->window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
activate (Fixture *f, const char *action, GVariant *parameter)
{
  app_test_activate (G_ACTION_GROUP (f->window), action, parameter);
}

static void
set_tool (Fixture *f, const char *name)
{
  activate (f, "tool", g_variant_new_string (name));
  g_autoptr (GVariant) state = g_action_group_get_action_state (G_ACTION_GROUP (f->window), "tool");
  g_assert_cmpstr (g_variant_get_string (state, NULL), ==, name);
}

/* Widget position of the centre of voxel (i, j) on the axial slice shown. */
static void
at_voxel (Fixture *f, int i, int j, double *x, double *y)
{
  pulmo_slice_view_voxel_to_widget (f->axial, (const int[3]) { i, j, f->slice }, x, y);
}

static void
click (Fixture *f, int i, int j)
{
  double x, y;
  at_voxel (f, i, j, &x, &y);
  _pulmo_slice_view_primary_press (f->axial, x, y);
  _pulmo_slice_view_primary_release (f->axial, x, y);
}

/* A drag through the voxels (i, j) of @path, one pointer event per point. */
static void
drag (Fixture *f, const int (*path)[2], int n_points)
{
  double x, y;
  at_voxel (f, path[0][0], path[0][1], &x, &y);
  _pulmo_slice_view_primary_press (f->axial, x, y);
  for (int p = 1; p < n_points; p++)
    {
      at_voxel (f, path[p][0], path[p][1], &x, &y);
      _pulmo_slice_view_primary_drag (f->axial, x, y);
    }
  _pulmo_slice_view_primary_release (f->axial, x, y);
}

static const uint8_t *
labels (Fixture *f)
{
  PulmoLabelMap *map = pulmo_view_state_get_labels (f->state);
  g_assert_nonnull (map);
  return pulmo_label_map_get_data (map);
}

static gsize
index_of (Fixture *f, int i, int j, int k)
{
  return ((gsize) k * f->dims[1] + j) * f->dims[0] + i;
}

static guint64
count_label (Fixture *f, uint8_t value)
{
  guint64 counts[256];
  pulmo_label_map_count (pulmo_view_state_get_labels (f->state), counts);
  return counts[value];
}

/* Voxels of the axial slice within @radius_mm of the segment from (i0, j0) to
 * (i1, j1) — a disc when both ends are one voxel — whose HU lies in
 * @hu_min…@hu_max; with @value, those that hold it. */
static guint64
count_capsule (Fixture *f, int i0, int j0, int i1, int j1, double radius_mm, double hu_min, double hu_max,
               int value)
{
  const int16_t *hu = pulmo_volume_get_int16 (f->ct);
  const uint8_t *map = value >= 0 ? labels (f) : NULL;
  int reach = (int) ceil (radius_mm / SPACING_UV_MM) + 1;
  guint64 n = 0;
  for (int j = MIN (j0, j1) - reach; j <= MAX (j0, j1) + reach; j++)
    for (int i = MIN (i0, i1) - reach; i <= MAX (i0, i1) + reach; i++)
      {
        /* Distance to the segment, which runs along i or is a point. */
        int ci = CLAMP (i, MIN (i0, i1), MAX (i0, i1)), cj = CLAMP (j, MIN (j0, j1), MAX (j0, j1));
        double d_mm = hypot (i - ci, j - cj) * SPACING_UV_MM;
        gsize index = index_of (f, i, j, f->slice);
        if (d_mm <= radius_mm + 1e-9 && hu[index] >= hu_min && hu[index] <= hu_max
            && (map == NULL || map[index] == value))
          n++;
      }
  return n;
}

/* Whether the axial view shows voxel (i, j) of its slice without overlay colour. */
static gboolean
shown_grey (Fixture *f, int i, int j)
{
  cairo_surface_t *image = pulmo_slice_view_get_image (f->axial);
  PulmoReslice reslice;
  int u, v, slice;
  pulmo_reslice_init (&reslice, PULMO_VIEW_AXIAL, pulmo_volume_get_affine (f->ct), f->dims);
  pulmo_reslice_from_voxel (&reslice, (const int[3]) { i, j, f->slice }, &u, &v, &slice);
  const uint8_t *row = cairo_image_surface_get_data (image) + (gsize) v * cairo_image_surface_get_stride (image);
  uint32_t pixel = ((const uint32_t *) row)[u];
  return ((pixel >> 16) & 0xff) == (pixel & 0xff) && ((pixel >> 8) & 0xff) == (pixel & 0xff);
}

/* Brush --------------------------------------------------------------------- */

/* A click paints the lattice disc of the brush's diameter, on this slice only,
 * as one undo step; a fast drag paints the whole band between its events. */
static void
test_brush_disc_and_stroke (Fixture *f, gconstpointer data)
{
  set_tool (f, "brush");
  pulmo_edit_state_set_active_label (f->edit, PULMO_LABEL_GROUND_GLASS);
  click (f, 256, 256);
  guint64 disc = count_capsule (f, 256, 256, 256, 256, 5.0, -G_MAXDOUBLE, G_MAXDOUBLE, -1);
  g_assert_cmpuint (disc, ==, 137); /* |(di, dj)| <= 6.67 voxels */
  g_assert_cmpuint (count_label (f, PULMO_LABEL_GROUND_GLASS), ==, disc);
  g_assert_cmpuint (count_capsule (f, 256, 256, 256, 256, 5.0, -G_MAXDOUBLE, G_MAXDOUBLE, 3), ==, disc);
  PulmoEditHistory *history = pulmo_edit_state_get_history (f->edit);
  g_assert_cmpuint (pulmo_edit_history_get_n_steps (history), ==, 1);
  g_assert_cmpuint (f->n_edited, ==, 1);
  /* The view shows it: the painted voxel is no longer grey. */
  g_assert_false (shown_grey (f, 256, 256));
  g_assert_true (shown_grey (f, 256, 256 + 20));

  /* Two pointer events 100 voxels apart leave no gap. */
  pulmo_edit_state_set_active_label (f->edit, PULMO_LABEL_CONSOLIDATION);
  drag (f, (const int[][2]) { { 150, 350 }, { 250, 350 } }, 2);
  g_assert_cmpuint (count_label (f, PULMO_LABEL_CONSOLIDATION), ==,
                    count_capsule (f, 150, 350, 250, 350, 5.0, -G_MAXDOUBLE, G_MAXDOUBLE, -1));
  g_assert_cmpuint (pulmo_edit_history_get_n_steps (history), ==, 2);
  /* Painting over the same voxels changes nothing and adds no step. */
  drag (f, (const int[][2]) { { 150, 350 }, { 250, 350 } }, 2);
  g_assert_cmpuint (pulmo_edit_history_get_n_steps (history), ==, 2);
  g_assert_cmpuint (f->n_edited, ==, 2);

  /* Undo restores the exact bytes before the stroke. */
  g_assert_true (pulmo_edit_history_undo (history));
  g_assert_cmpuint (count_label (f, PULMO_LABEL_CONSOLIDATION), ==, 0);
  g_assert_cmpuint (count_label (f, PULMO_LABEL_GROUND_GLASS), ==, disc);

  /* The tool chosen again goes back to the crosshair, as the ruler did. */
  activate (f, "tool", g_variant_new_string ("brush"));
  g_assert_cmpint (pulmo_view_state_get_tool (f->state), ==, PULMO_TOOL_CROSSHAIR);
}

/* The HU mask and its key: only voxels of the range take the paint. */
static void
test_brush_hu_range (Fixture *f, gconstpointer data)
{
  gboolean enabled;
  activate (f, "hu-mask", NULL);
  g_object_get (f->edit, "hu-enabled", &enabled, NULL);
  g_assert_true (enabled);
  g_object_set (f->edit, "hu-min", -1000.0, "hu-max", -400.0, NULL);
  set_tool (f, "brush");
  /* Across the boundary of the right lung (screen left of the mediastinum). */
  int path[][2] = { { 170, 256 }, { 250, 256 } };
  drag (f, path, 2);
  guint64 expected = count_capsule (f, 170, 256, 250, 256, 5.0, -1000, -400, -1);
  guint64 all = count_capsule (f, 170, 256, 250, 256, 5.0, -G_MAXDOUBLE, G_MAXDOUBLE, -1);
  g_assert_cmpuint (expected, >, 0);
  g_assert_cmpuint (expected, <, all); /* the range really excluded some */
  g_assert_cmpuint (count_label (f, 1), ==, expected);
  activate (f, "hu-mask", NULL);
  g_object_get (f->edit, "hu-enabled", &enabled, NULL);
  g_assert_false (enabled);
}

/* [ and ] step the size; the eraser clears, of the active label alone if asked. */
static void
test_brush_size_and_eraser (Fixture *f, gconstpointer data)
{
  double size;
  g_object_set (f->edit, "brush-size-mm", 9.0, NULL);
  const struct { const char *action; double size; } steps[] = {
    { "brush-size-up", 10.0 }, { "brush-size-up", 15.0 }, { "brush-size-down", 10.0 }, { "brush-size-down", 9.0 },
  };
  for (size_t s = 0; s < G_N_ELEMENTS (steps); s++)
    {
      activate (f, steps[s].action, NULL);
      g_object_get (f->edit, "brush-size-mm", &size, NULL);
      g_assert_cmpfloat (size, ==, steps[s].size);
    }

  g_object_set (f->edit, "brush-size-mm", 10.0, NULL);
  set_tool (f, "brush");
  pulmo_edit_state_set_active_label (f->edit, 2);
  click (f, 300, 300);
  guint64 disc = count_label (f, 2);
  g_assert_cmpuint (disc, ==, 137);

  set_tool (f, "eraser");
  activate (f, "erase-only-active", NULL);
  pulmo_edit_state_set_active_label (f->edit, 1);
  click (f, 300, 300);
  g_assert_cmpuint (count_label (f, 2), ==, disc);
  /* A 4 mm eraser off-centre clears the lattice disc of 2 mm around its voxel. */
  pulmo_edit_state_set_active_label (f->edit, 2);
  g_object_set (f->edit, "brush-size-mm", 4.0, NULL);
  click (f, 303, 300);
  g_assert_cmpuint (count_label (f, 2), ==, disc - count_capsule (f, 303, 300, 303, 300, 2.0, -G_MAXDOUBLE,
                                                                   G_MAXDOUBLE, -1));
  g_assert_cmpuint (labels (f)[index_of (f, 303, 300, f->slice)], ==, 0);
}

/* Ctrl+click picks the label under the pointer, whatever the tool. */
static void
test_pick_label (Fixture *f, gconstpointer data)
{
  set_tool (f, "brush");
  pulmo_edit_state_set_active_label (f->edit, PULMO_LABEL_CONSOLIDATION);
  click (f, 200, 200);
  pulmo_edit_state_set_active_label (f->edit, 1);
  set_tool (f, "fill");
  double x, y;
  at_voxel (f, 200, 200, &x, &y);
  _pulmo_slice_view_pick_label (f->axial, x, y);
  g_assert_cmpuint (pulmo_edit_state_get_active_label (f->edit), ==, PULMO_LABEL_CONSOLIDATION);
  /* Background is not a label to pick. */
  at_voxel (f, 20, 20, &x, &y);
  _pulmo_slice_view_pick_label (f->axial, x, y);
  g_assert_cmpuint (pulmo_edit_state_get_active_label (f->edit), ==, PULMO_LABEL_CONSOLIDATION);
}

/* Fill, polygon, lasso ------------------------------------------------------ */

/* Voxels face-connected to @seed with HU in the range: on the axial slice, or
 * in 3D. A plain breadth-first search, to check the tool against. */
static guint64
reference_fill (Fixture *f, const int seed[3], int16_t hu_min, int16_t hu_max, gboolean three_d)
{
  const int16_t *hu = pulmo_volume_get_int16 (f->ct);
  gsize n_voxels = (gsize) f->dims[0] * f->dims[1] * f->dims[2];
  g_autofree uint8_t *seen = g_malloc0 (n_voxels);
  g_autoptr (GArray) queue = g_array_new (FALSE, FALSE, sizeof (gsize));
  gsize first = index_of (f, seed[0], seed[1], seed[2]);
  seen[first] = 1;
  g_array_append_val (queue, first);
  for (guint head = 0; head < queue->len; head++)
    {
      gsize index = g_array_index (queue, gsize, head);
      int i = index % f->dims[0], j = (index / f->dims[0]) % f->dims[1], k = index / ((gsize) f->dims[0] * f->dims[1]);
      const int steps[6][3] = { { 1, 0, 0 }, { -1, 0, 0 }, { 0, 1, 0 }, { 0, -1, 0 }, { 0, 0, 1 }, { 0, 0, -1 } };
      for (int s = 0; s < (three_d ? 6 : 4); s++)
        {
          int ni = i + steps[s][0], nj = j + steps[s][1], nk = k + steps[s][2];
          if (ni < 0 || nj < 0 || nk < 0 || ni >= f->dims[0] || nj >= f->dims[1] || nk >= f->dims[2])
            continue;
          gsize next = index_of (f, ni, nj, nk);
          if (!seen[next] && hu[next] >= hu_min && hu[next] <= hu_max)
            {
              seen[next] = 1;
              g_array_append_val (queue, next);
            }
        }
    }
  return queue->len;
}

static void
test_flood_fill (Fixture *f, gconstpointer data)
{
  const int seed[3] = { 130, 300, f->slice };
  const int16_t *hu = pulmo_volume_get_int16 (f->ct);
  g_assert_cmpint (hu[index_of (f, seed[0], seed[1], seed[2])], <, -700); /* inside the lung */
  g_object_set (f->edit, "hu-min", -1000.0, "hu-max", -400.0, NULL);
  set_tool (f, "fill");
  pulmo_edit_state_set_active_label (f->edit, 1);
  click (f, seed[0], seed[1]);
  guint64 expected_2d = reference_fill (f, seed, -1000, -400, FALSE);
  g_assert_cmpuint (expected_2d, >, 5000);
  g_assert_cmpuint (count_label (f, 1), ==, expected_2d);
  g_assert_cmpuint (f->n_edited, ==, 1);

  g_assert_true (pulmo_edit_history_undo (pulmo_edit_state_get_history (f->edit)));
  g_object_set (f->state, "fill-3d", TRUE, NULL);
  click (f, seed[0], seed[1]);
  guint64 expected_3d = reference_fill (f, seed, -1000, -400, TRUE);
  g_assert_cmpuint (expected_3d, >, expected_2d);
  g_assert_cmpuint (count_label (f, 1), ==, expected_3d);
}

/* A square of 41 × 41 voxel centres, outlined by its corners: edges included. */
static const int square[][2] = { { 200, 200 }, { 240, 200 }, { 240, 240 }, { 200, 240 } };

static void
test_polygon (Fixture *f, gconstpointer data)
{
  set_tool (f, "polygon");
  pulmo_edit_state_set_active_label (f->edit, 3);
  for (int p = 0; p < 4; p++)
    click (f, square[p][0], square[p][1]);
  g_assert_null (pulmo_view_state_get_labels (f->state)); /* nothing painted until it closes */
  _pulmo_slice_view_finish_shape (f->axial, TRUE);
  g_assert_cmpuint (count_label (f, 3), ==, 41 * 41);
  g_assert_cmpuint (labels (f)[index_of (f, 200, 240, f->slice)], ==, 3);
  g_assert_cmpuint (labels (f)[index_of (f, 199, 220, f->slice)], ==, 0);
  g_assert_cmpuint (f->n_edited, ==, 1);

  /* Escape drops a polygon: no change, no step. */
  pulmo_edit_state_set_active_label (f->edit, 4);
  for (int p = 0; p < 4; p++)
    click (f, square[p][0] + 100, square[p][1]);
  _pulmo_slice_view_finish_shape (f->axial, FALSE);
  g_assert_cmpuint (count_label (f, 4), ==, 0);
  g_assert_cmpuint (pulmo_edit_history_get_n_steps (pulmo_edit_state_get_history (f->edit)), ==, 1);
}

static void
test_lasso (Fixture *f, gconstpointer data)
{
  set_tool (f, "lasso");
  pulmo_edit_state_set_active_label (f->edit, 4);
  const int outline[][2] = { { 200, 200 }, { 220, 200 }, { 240, 200 }, { 240, 220 }, { 240, 240 },
                             { 220, 240 }, { 200, 240 }, { 200, 220 }, { 200, 200 } };
  drag (f, outline, G_N_ELEMENTS (outline));
  g_assert_cmpuint (count_label (f, 4), ==, 41 * 41);
}

/* Operations on the active label ------------------------------------------- */

/* Two discs of label 3 on the slice: 10 mm (137 voxels) and 4 mm (21). */
static void
paint_two_islands (Fixture *f)
{
  set_tool (f, "brush");
  pulmo_edit_state_set_active_label (f->edit, 3);
  click (f, 150, 300);
  g_object_set (f->edit, "brush-size-mm", 4.0, NULL);
  click (f, 300, 300);
  g_assert_cmpuint (count_label (f, 3), ==, 137 + 21);
  set_tool (f, "crosshair");
}

static void
test_islands (Fixture *f, gconstpointer data)
{
  paint_two_islands (f);
  PulmoEditHistory *history = pulmo_edit_state_get_history (f->edit);
  activate (f, "islands", g_variant_new ("(sd)", "keep-largest", 0.0));
  g_assert_cmpuint (count_label (f, 3), ==, 137);
  g_assert_cmpuint (labels (f)[index_of (f, 300, 300, f->slice)], ==, 0);
  g_assert_true (pulmo_edit_history_undo (history));

  /* 21 voxels of 1.125 mm³ are 23.6 mm³: below 30, above 20. */
  activate (f, "islands", g_variant_new ("(sd)", "remove-small", 20.0));
  g_assert_cmpuint (count_label (f, 3), ==, 137 + 21);
  activate (f, "islands", g_variant_new ("(sd)", "remove-small", 30.0));
  g_assert_cmpuint (count_label (f, 3), ==, 137);
  g_assert_true (pulmo_edit_history_undo (history));

  /* The selected island is the one under the crosshair. */
  pulmo_view_state_set_cursor (f->state, (const int[3]) { 300, 300, f->slice });
  activate (f, "islands", g_variant_new ("(sd)", "keep-selected", 0.0));
  g_assert_cmpuint (count_label (f, 3), ==, 21);
  g_assert_true (pulmo_edit_history_undo (history));
  activate (f, "islands", g_variant_new ("(sd)", "remove-selected", 0.0));
  g_assert_cmpuint (count_label (f, 3), ==, 137);
}

/* Grow by 1.6 mm adds, in the plane, every voxel within 1.6 mm of the disc
 * (the slices 2 mm away are beyond reach); shrink removes those within 1.6 mm
 * of the outside. */
static void
test_grow_shrink (Fixture *f, gconstpointer data)
{
  set_tool (f, "brush");
  pulmo_edit_state_set_active_label (f->edit, 3);
  click (f, 256, 256);
  g_assert_cmpuint (count_label (f, 3), ==, 137);
  activate (f, "morphology", g_variant_new ("(sd)", "grow", 1.6));
  /* Within 5 mm of the centre, then 1.6 mm more: the lattice disc reaching
   * 6.6 mm when the 5 mm disc's boundary voxels lie on its rim. Counted directly. */
  guint64 grown = 0;
  const uint8_t *map = labels (f);
  for (int j = 256 - 12; j <= 256 + 12; j++)
    for (int i = 256 - 12; i <= 256 + 12; i++)
      {
        gboolean near = FALSE;
        for (int dj = -3; dj <= 3 && !near; dj++)
          for (int di = -3; di <= 3 && !near; di++)
            near = hypot (i + di - 256, j + dj - 256) * SPACING_UV_MM <= 5.0 + 1e-9
                   && hypot (di, dj) * SPACING_UV_MM <= 1.6;
        grown += near;
        g_assert_cmpuint (map[index_of (f, i, j, f->slice)] == 3, ==, near);
      }
  g_assert_cmpuint (count_label (f, 3), ==, grown);

  /* A voxel stays when every voxel within 1.6 mm of it holds the label. */
  g_autofree uint8_t *before = g_memdup2 (labels (f), (gsize) f->dims[0] * f->dims[1] * f->dims[2]);
  activate (f, "morphology", g_variant_new ("(sd)", "shrink", 1.6));
  guint64 kept = 0;
  for (int j = 256 - 12; j <= 256 + 12; j++)
    for (int i = 256 - 12; i <= 256 + 12; i++)
      {
        gboolean inner = before[index_of (f, i, j, f->slice)] == 3;
        for (int dj = -3; dj <= 3 && inner; dj++)
          for (int di = -3; di <= 3 && inner; di++)
            if (hypot (di, dj) * SPACING_UV_MM <= 1.6)
              inner = before[index_of (f, i + di, j + dj, f->slice)] == 3;
        kept += inner;
        g_assert_cmpuint (labels (f)[index_of (f, i, j, f->slice)] == 3, ==, inner);
      }
  g_assert_cmpuint (count_label (f, 3), ==, kept);
  g_assert_cmpuint (kept, <, grown);
}

/* The same disc on slices k and k + 4: the three between take it too. */
static void
test_fill_between (Fixture *f, gconstpointer data)
{
  set_tool (f, "brush");
  pulmo_edit_state_set_active_label (f->edit, 3);
  click (f, 256, 256);
  int k = f->slice;
  pulmo_view_state_set_cursor (f->state, (const int[3]) { 256, 256, k + 4 });
  f->slice = pulmo_slice_view_get_slice (f->axial);
  g_assert_cmpint (f->slice, ==, k + 4);
  click (f, 256, 256);
  g_assert_cmpuint (count_label (f, 3), ==, 2 * 137);
  activate (f, "fill-between", g_variant_new_string ("axial"));
  g_assert_cmpuint (count_label (f, 3), ==, 5 * 137);
  for (f->slice = k; f->slice <= k + 4; f->slice++)
    g_assert_cmpuint (count_capsule (f, 256, 256, 256, 256, 5.0, -G_MAXDOUBLE, G_MAXDOUBLE, 3), ==, 137);
}

int
main (int argc, char **argv)
{
  if (!app_test_init (&argc, &argv, "/annotate-tools/no-display"))
    return g_test_run ();
  g_test_add ("/annotate-tools/brush-disc-and-stroke", Fixture, NULL, setup, test_brush_disc_and_stroke, teardown);
  g_test_add ("/annotate-tools/brush-hu-range", Fixture, NULL, setup, test_brush_hu_range, teardown);
  g_test_add ("/annotate-tools/brush-size-and-eraser", Fixture, NULL, setup, test_brush_size_and_eraser, teardown);
  g_test_add ("/annotate-tools/pick-label", Fixture, NULL, setup, test_pick_label, teardown);
  g_test_add ("/annotate-tools/flood-fill", Fixture, NULL, setup, test_flood_fill, teardown);
  g_test_add ("/annotate-tools/polygon", Fixture, NULL, setup, test_polygon, teardown);
  g_test_add ("/annotate-tools/lasso", Fixture, NULL, setup, test_lasso, teardown);
  g_test_add ("/annotate-tools/islands", Fixture, NULL, setup, test_islands, teardown);
  g_test_add ("/annotate-tools/grow-shrink", Fixture, NULL, setup, test_grow_shrink, teardown);
  g_test_add ("/annotate-tools/fill-between", Fixture, NULL, setup, test_fill_between, teardown);
  return g_test_run ();
}
