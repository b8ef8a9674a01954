/* The compare window under Xvfb: COVID-CT-MD's P001 (512×512) beside its
 * 256×256 block mean, linked by world position (a move on either side, the
 * shift kept across unlinking, alignment by world position again), their
 * shared window, level and slab, the axis both show, and a file that is no CT
 * refused on its side alone; and CIP's ct-64 with the model's labels beside
 * the labels an annotator corrected, each with the figures of its own labels
 * (against a direct computation) and the change between them, live as the
 * annotator goes on editing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app/pulmo-compare-window.h"
#include "core/geometry.h"
#include "segment/report.h"
#include "app-test-window.h"
#include "app-test.h"
#include "pulmo-test.h"

static gboolean
compare_loaded (gpointer compare)
{
  return !pulmo_compare_window_is_loading (compare);
}

static gboolean
reports_ready (gpointer compare)
{
  return pulmo_report_panel_get_report (pulmo_compare_window_get_report_panel (compare, 0)) != NULL &&
         pulmo_report_panel_get_report (pulmo_compare_window_get_report_panel (compare, 1)) != NULL;
}

static GFile *
data_file (const char *relative)
{
  g_autofree char *path = pulmo_test_data (relative);
  return g_file_new_for_path (path);
}

static void
cursor_of (PulmoCompareWindow *compare, int side, int ijk[3])
{
  pulmo_view_state_get_cursor (pulmo_compare_window_get_state (compare, side), ijk);
}

/* Where side @from's crosshair lies on side @to's grid, shifted by @shift_mm. */
static void
expected_on (PulmoCompareWindow *compare, int from, int to, const double *shift_mm, int at[3])
{
  PulmoVolume *from_ct = pulmo_view_state_get_volume (pulmo_compare_window_get_state (compare, from));
  PulmoVolume *to_ct = pulmo_view_state_get_volume (pulmo_compare_window_get_state (compare, to));
  int ijk[3], dims[3];
  cursor_of (compare, from, ijk);
  pulmo_volume_get_dims (to_ct, dims);
  g_assert_true (pulmo_affine_map_voxel (pulmo_volume_get_affine (from_ct), ijk, shift_mm,
                                         pulmo_volume_get_affine (to_ct), dims, at));
}

static void
assert_cursor (PulmoCompareWindow *compare, int side, const int expected[3])
{
  int ijk[3];
  cursor_of (compare, side, ijk);
  for (int a = 0; a < 3; a++)
    g_assert_cmpint (ijk[a], ==, expected[a]);
}

static void
test_scans_linked (void)
{
  PulmoCompareWindow *compare = pulmo_compare_window_new (NULL);
  gtk_window_present (GTK_WINDOW (compare));
  g_autoptr (GFile) full = data_file ("covid-ct-md/P001.nii.gz");
  g_autoptr (GFile) half = data_file ("covid-ct-md/P001-256.nii.gz");
  pulmo_compare_window_open (compare, 0, full, NULL);
  pulmo_compare_window_open (compare, 1, half, NULL);
  g_assert_true (pulmo_compare_window_is_loading (compare));
  app_test_wait_for (compare_loaded, compare, 60);
  g_assert_null (pulmo_compare_window_get_message (compare, 0));
  g_assert_null (pulmo_compare_window_get_message (compare, 1));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (compare)), ==, "Compare P001 and P001-256");
  PulmoViewState *first = pulmo_compare_window_get_state (compare, 0);
  PulmoViewState *second = pulmo_compare_window_get_state (compare, 1);

  /* A move on the first side takes the second to the same place (test
   * compare-link: full voxel (101, 300, 40) is half voxel (50, 150, 40)) … */
  const int right_lower_lobe[3] = { 101, 300, 40 };
  pulmo_view_state_set_cursor (first, right_lower_lobe);
  assert_cursor (compare, 1, (const int[]) { 50, 150, 40 });
  /* … and a move on the second, the first. */
  const int left_upper[3] = { 180, 80, 120 };
  pulmo_view_state_set_cursor (second, left_upper);
  int at[3];
  expected_on (compare, 1, 0, NULL, at);
  assert_cursor (compare, 0, at);
  assert_cursor (compare, 1, left_upper);

  /* The pointer over one side reads the value there and, on the other side,
   * at the same place. */
  pulmo_view_state_hover (first, right_lower_lobe);
  g_autofree char *here = pulmo_view_state_describe_voxel (first, right_lower_lobe);
  g_autofree char *there = pulmo_view_state_describe_voxel (second, (const int[]) { 50, 150, 40 });
  g_assert_cmpstr (pulmo_compare_window_get_status (compare, 0), ==, here);
  g_assert_cmpstr (pulmo_compare_window_get_status (compare, 1), ==, there);
  g_assert_nonnull (strstr (there, "voxel [50, 150, 40]"));
  g_assert_nonnull (strstr (there, " HU"));
  pulmo_view_state_hover (first, NULL);
  g_assert_cmpstr (pulmo_compare_window_get_status (compare, 1), ==, "");

  /* Window, level and slab are the same on both sides, whichever set them. */
  pulmo_view_state_set_window (first, 400, 40);
  g_assert_cmpfloat (pulmo_view_state_get_window (second), ==, 400);
  g_assert_cmpfloat (pulmo_view_state_get_level (second), ==, 40);
  g_object_set (second, "slab-mode", PULMO_SLAB_MIN, "slab-mm", 15.0, NULL);
  g_assert_cmpint (pulmo_view_state_get_slab_mode (first), ==, PULMO_SLAB_MIN);
  g_assert_cmpfloat (pulmo_view_state_get_slab_mm (first), ==, 15.0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (compare), "compare.preset", "s", "lung"));
  g_assert_cmpfloat (pulmo_view_state_get_window (first), ==, 1500);
  g_assert_cmpfloat (pulmo_view_state_get_level (second), ==, -600);

  /* Both sides show the axis chosen, at the crosshair's slice. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (compare), "compare.axis", "s", "coronal"));
  for (int s = 0; s < PULMO_COMPARE_N_SIDES; s++)
    {
      PulmoSliceView *view = pulmo_compare_window_get_view (compare, s);
      g_assert_cmpint (pulmo_slice_view_get_axis (view), ==, PULMO_VIEW_CORONAL);
      g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (view)));
    }
  g_assert_cmpint (pulmo_slice_view_get_slice (pulmo_compare_window_get_view (compare, 1)), ==, left_upper[1]);
  app_test_screenshot (GTK_WIDGET (compare), "compare-scans");

  /* Unlinked, the second side moves alone: 10 slices up, as a reader lines up
   * a structure on a follow-up taken at another breath. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (compare), "compare.linked", NULL));
  int before[3], moved[3];
  cursor_of (compare, 0, before);
  memcpy (moved, left_upper, sizeof moved);
  moved[2] += 10;
  pulmo_view_state_set_cursor (second, moved);
  assert_cursor (compare, 0, before);
  /* Linked again, the shift stays: from the first crosshair's world point to the second's. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (compare), "compare.linked", NULL));
  double shift[3], first_world[3], second_world[3];
  pulmo_compare_window_get_shift (compare, shift);
  PulmoVolume *half_ct = pulmo_view_state_get_volume (second);
  pulmo_affine_apply (pulmo_volume_get_affine (pulmo_view_state_get_volume (first)),
                      (const double[]) { before[0], before[1], before[2] }, first_world);
  pulmo_affine_apply (pulmo_volume_get_affine (half_ct), (const double[]) { moved[0], moved[1], moved[2] },
                      second_world);
  for (int a = 0; a < 3; a++)
    g_assert_cmpfloat (fabs (shift[a] - (second_world[a] - first_world[a])), <, 1e-9);
  /* … and a move on the first side takes the second to the shifted place. */
  const int lower[3] = { 300, 260, 30 };
  pulmo_view_state_set_cursor (first, lower);
  expected_on (compare, 0, 1, shift, at);
  assert_cursor (compare, 1, at);
  int unshifted[3];
  expected_on (compare, 0, 1, NULL, unshifted);
  g_assert_cmpint (abs (at[2] - unshifted[2] - 10), <=, 1);
  /* Aligning by world position drops the shift. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (compare), "compare.align-world", NULL));
  pulmo_compare_window_get_shift (compare, shift);
  g_assert_cmpfloat (fabs (shift[0]) + fabs (shift[1]) + fabs (shift[2]), ==, 0);
  assert_cursor (compare, 1, unshifted);

  /* A file that is no CT is refused on its side; the other keeps its scan. */
  g_autoptr (GFile) text = data_file ("covid-ct-md/PROVENANCE.md");
  pulmo_compare_window_open (compare, 1, text, NULL);
  app_test_wait_for (compare_loaded, compare, 30);
  const char *message = pulmo_compare_window_get_message (compare, 1);
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, "PROVENANCE.md"));
  g_assert_true (pulmo_view_state_get_volume (second) == half_ct);
  g_assert_null (pulmo_compare_window_get_message (compare, 0));

  gtk_window_destroy (GTK_WINDOW (compare));
  app_test_iterate_pending ();
}

/* The figures a side shows are those of its labels, computed directly. */
static void
assert_report_of (PulmoCompareWindow *compare, int side, const uint8_t *labels)
{
  PulmoVolume *ct = pulmo_view_state_get_volume (pulmo_compare_window_get_state (compare, side));
  PulmoReport direct;
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_report_compute (ct, labels, &direct, &error));
  const PulmoReport *shown = pulmo_report_panel_get_report (pulmo_compare_window_get_report_panel (compare, side));
  g_assert_nonnull (shown);
  g_assert_cmpfloat (shown->total.ggo_ml, ==, direct.total.ggo_ml);
  g_assert_cmpfloat (shown->total.consolidation_ml, ==, direct.total.consolidation_ml);
  g_assert_cmpfloat (shown->total.lung_ml, ==, direct.total.lung_ml);
  g_assert_cmpint (shown->severity_sum, ==, direct.severity_sum);
}

typedef struct {
  PulmoCompareWindow *compare;
  guint64 revision;
} ReportWait;

static gboolean
report_caught_up (gpointer data)
{
  ReportWait *wait = data;
  PulmoLabelMap *labels = pulmo_view_state_get_labels (pulmo_compare_window_get_state (wait->compare, 1));
  return pulmo_label_map_get_revision (labels) == wait->revision && reports_ready (wait->compare);
}

static PulmoCompareWindow *
new_compare_window (void)
{
  GList *windows = gtk_window_list_toplevels ();
  PulmoCompareWindow *compare = NULL;
  for (GList *w = windows; w != NULL; w = w->next)
    if (PULMO_IS_COMPARE_WINDOW (w->data))
      compare = w->data;
  g_list_free (windows);
  g_assert_nonnull (compare);
  return compare;
}

static void
test_before_after_correction (void)
{
  app_test_reset_preferences ();
  PulmoWindow *window = pulmo_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  g_autoptr (GFile) ct = data_file ("cip-chest-ct/ct-64.nii.gz");
  pulmo_window_open (window, ct);
  app_test_wait_for (app_test_window_loaded, window, 60);
  /* Nothing to compare the labels with before the model has given any. */
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (window), "compare-model"));
  pulmo_window_segment (window, FALSE);
  app_test_wait_for (app_test_window_segmented, window, 300);
  g_assert_null (pulmo_window_get_error (window));
  PulmoLabelMap *corrected = pulmo_view_state_get_labels (pulmo_window_get_state (window));
  g_autofree uint8_t *model = g_memdup2 (pulmo_label_map_get_data (corrected),
                                         pulmo_volume_get_n_voxels (pulmo_label_map_get_volume (corrected)));
  app_test_paint_stroke (window, PULMO_LABEL_GROUND_GLASS, 40, 14, 30, 24, 34);

  app_test_activate (G_ACTION_GROUP (window), "compare-model", NULL);
  PulmoCompareWindow *compare = new_compare_window ();
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (compare)), ==,
                   "Compare ct-64, as segmented and ct-64, as corrected");
  /* The corrected side shows the main window's labels themselves. */
  g_assert_true (pulmo_view_state_get_labels (pulmo_compare_window_get_state (compare, 1)) == corrected);
  g_assert_cmpmem (pulmo_label_map_get_data (pulmo_view_state_get_labels (pulmo_compare_window_get_state (compare, 0))),
                   pulmo_volume_get_n_voxels (pulmo_label_map_get_volume (corrected)), model,
                   pulmo_volume_get_n_voxels (pulmo_label_map_get_volume (corrected)));
  /* The crosshair is where the main window's is. */
  int main_cursor[3];
  pulmo_view_state_get_cursor (pulmo_window_get_state (window), main_cursor);
  assert_cursor (compare, 0, main_cursor);
  assert_cursor (compare, 1, main_cursor);

  app_test_wait_for (reports_ready, compare, 60);
  app_test_screenshot (GTK_WIDGET (compare), "compare-model");
  assert_report_of (compare, 0, model);
  assert_report_of (compare, 1, pulmo_label_map_get_data (corrected));
  const PulmoReport *a = pulmo_report_panel_get_report (pulmo_compare_window_get_report_panel (compare, 0));
  const PulmoReport *b = pulmo_report_panel_get_report (pulmo_compare_window_get_report_panel (compare, 1));
  g_assert_cmpfloat (b->total.ggo_ml, >, a->total.ggo_ml);
  g_autofree char *ggo_change = g_strdup_printf ("ground glass %.0f → %.0f mL", a->total.ggo_ml, b->total.ggo_ml);
  g_assert_nonnull (strstr (pulmo_compare_window_get_change (compare), ggo_change));

  /* Edits in the main window show on the corrected side, figures and all. */
  double ggo_before = b->total.ggo_ml;
  app_test_paint_stroke (window, PULMO_LABEL_GROUND_GLASS, 30, 40, 30, 50, 34);
  ReportWait wait = { compare, pulmo_label_map_get_revision (corrected) };
  app_test_wait_for (report_caught_up, &wait, 60);
  assert_report_of (compare, 1, pulmo_label_map_get_data (corrected));
  b = pulmo_report_panel_get_report (pulmo_compare_window_get_report_panel (compare, 1));
  g_assert_cmpfloat (b->total.ggo_ml, >, ggo_before);
  g_free (ggo_change);
  ggo_change = g_strdup_printf ("ground glass %.0f → %.0f mL", a->total.ggo_ml, b->total.ggo_ml);
  g_assert_nonnull (strstr (pulmo_compare_window_get_change (compare), ggo_change));
  gtk_window_destroy (GTK_WINDOW (compare));
  app_test_iterate_pending ();

  /* Against a label file on the same CT: the expert's lung mask, no lesions. */
  g_autoptr (GFile) mask = data_file ("cip-chest-ct/wholeLung-64.nii.gz");
  _pulmo_window_compare_labels (window, mask);
  compare = new_compare_window ();
  app_test_wait_for (compare_loaded, compare, 60);
  g_assert_null (pulmo_compare_window_get_message (compare, 1));
  app_test_wait_for (reports_ready, compare, 60);
  PulmoLabelMap *expert = pulmo_view_state_get_labels (pulmo_compare_window_get_state (compare, 1));
  g_assert_true (expert != corrected);
  assert_report_of (compare, 1, pulmo_label_map_get_data (expert));
  g_assert_cmpfloat (pulmo_report_panel_get_report (pulmo_compare_window_get_report_panel (compare, 1))->total.ggo_ml,
                     ==, 0);

  gtk_window_destroy (GTK_WINDOW (compare));
  gtk_window_destroy (GTK_WINDOW (window));
  app_test_iterate_pending ();
}

int
main (int argc, char **argv)
{
  if (!app_test_init (&argc, &argv, "/compare/no-display"))
    return g_test_run ();
  g_test_add_func ("/compare/scans-linked", test_scans_linked);
  g_test_add_func ("/compare/before-after-correction", test_before_after_correction);
  return g_test_run ();
}
