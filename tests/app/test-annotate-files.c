/* The window's side of annotation, under Xvfb, on P001 of COVID-CT-MD
 * (512 × 512 × 148, int16 HU): undo and redo through win.undo and win.redo,
 * saving through win.save-labels (geometry and voxels of the file written),
 * the unsaved-edits mark and question, the label palette, the ITK-SNAP label
 * description round trip, and crash recovery (autosave, restore, discard).
 * XDG_STATE_HOME points at the build folder (meson.build): recovery files land there. */
#include <glib/gstdio.h>
#include <nifti1.h>
#include <string.h>
#include <zlib.h>

#include "app/pulmo-preferences.h"
#include "app/pulmo-window-private.h"
#include "core/label-description.h"
#include "edit/recovery.h"
#include "app-test-window.h"
#include "app-test.h"
#include "pulmo-test.h"

typedef struct {
  PulmoWindow *window;
  PulmoViewState *state;
  char *ct_path;
  char *dir;            /* a temporary folder for the files a test writes */
} Fixture;

static void
wait_until_loaded (Fixture *f)
{
  app_test_wait_for (app_test_window_loaded, f->window, 120);
  g_assert_null (pulmo_window_get_error (f->window));
}

/* The CT's hash and recovery-file lookup run on a worker once it is shown. */
static void
wait_for_recovery_lookup (Fixture *f)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (f->window->ct_hash == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  app_test_iterate_pending ();
}

static void
open_ct (Fixture *f, GFile *labels)
{
  g_autoptr (GFile) ct = g_file_new_for_path (f->ct_path);
  pulmo_window_open_with_labels (f->window, ct, labels, NULL);
  wait_until_loaded (f);
  g_assert_nonnull (pulmo_view_state_get_volume (f->state));
  wait_for_recovery_lookup (f);
}

static void
remove_recovery_file (Fixture *f)
{
  g_autofree char *recovery = pulmo_recovery_path (f->ct_path);
  g_unlink (recovery);
}

static void
setup (Fixture *f, gconstpointer data)
{
  app_test_reset_preferences ();
  f->ct_path = pulmo_test_data ("covid-ct-md/P001.nii.gz");
  remove_recovery_file (f);
  f->dir = g_dir_make_tmp ("pulmo-annotate-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->window = pulmo_window_new (NULL);
  f->state = pulmo_window_get_state (f->window);
  gtk_window_present (GTK_WINDOW (f->window));
}

static void
teardown (Fixture *f, gconstpointer data)
{
  /* Unsaved edits would ask: the test's edits are discarded. */
  f->window->close_confirmed = TRUE;
  gtk_window_destroy (GTK_WINDOW (f->window));
  app_test_iterate_pending ();
  remove_recovery_file (f);
  pulmo_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->ct_path);
}

static void
activate (Fixture *f, const char *action)
{
  app_test_activate (G_ACTION_GROUP (f->window), action, NULL);
}

static gboolean
enabled (Fixture *f, const char *action)
{
  return g_action_group_get_action_enabled (G_ACTION_GROUP (f->window), action);
}

static PulmoLabelMap *
labels_of (Fixture *f)
{
  PulmoLabelMap *labels = pulmo_view_state_get_labels (f->state);
  g_assert_nonnull (labels);
  return labels;
}

static gsize
n_voxels (Fixture *f)
{
  return pulmo_volume_get_n_voxels (pulmo_view_state_get_volume (f->state));
}

/* A copy of the labels shown, to compare with later. */
static uint8_t *
snapshot (Fixture *f)
{
  return g_memdup2 (pulmo_label_map_get_data (labels_of (f)), n_voxels (f));
}

static void
assert_labels_equal (Fixture *f, const uint8_t *expected)
{
  g_assert_cmpmem (pulmo_label_map_get_data (labels_of (f)), n_voxels (f), expected, n_voxels (f));
}

/* Paints a 10 mm round stroke of @value across the axial slice @k, through
 * the window's edit state, as the brush tool does; returns the voxels set. */
static guint64
paint_stroke (Fixture *f, uint8_t value, int k)
{
  PulmoVolume *ct = pulmo_view_state_get_volume (f->state);
  if (pulmo_view_state_get_labels (f->state) == NULL)
    {
      g_autoptr (PulmoLabelMap) labels = pulmo_label_map_new (ct);
      pulmo_view_state_set_labels (f->state, labels);
    }
  guint64 before[256], after[256];
  pulmo_label_map_count (labels_of (f), before);
  app_test_paint_stroke (f->window, value, k, 150, 200, 300, 260);
  pulmo_label_map_count (labels_of (f), after);
  g_assert_cmpuint (after[value], >, before[value]);
  return after[value] - before[value];
}

static const char *
subtitle (Fixture *f)
{
  return gtk_label_get_text (f->window->subtitle_label);
}

/* The label of the edit section's item @index (0 undo, 1 redo). */
static char *
edit_menu_label (Fixture *f, int index)
{
  char *label = NULL;
  g_assert_true (g_menu_model_get_item_attribute (G_MENU_MODEL (f->window->edit_section), index,
                                                  G_MENU_ATTRIBUTE_LABEL, "s", &label));
  return label;
}

/* The one GtkDialog shown over the window, or NULL. */
static GtkDialog *
find_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  for (guint w = 0; w < g_list_model_get_n_items (toplevels); w++)
    {
      g_autoptr (GtkWidget) window = g_list_model_get_item (toplevels, w);
      if (GTK_IS_DIALOG (window) && gtk_widget_get_visible (window))
        return GTK_DIALOG (window);
    }
  return NULL;
}

static void
respond (int response)
{
  GtkDialog *dialog = find_dialog ();
  g_assert_nonnull (dialog);
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_dialog_response (dialog, response);
  G_GNUC_END_IGNORE_DEPRECATIONS
  app_test_iterate_pending ();
}

/* An empty label file for P001, which the window then saves to. */
static GFile *
write_empty_labels (Fixture *f, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) ct = pulmo_volume_load (f->ct_path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (PulmoLabelMap) empty = pulmo_label_map_new (ct);
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  g_assert_true (pulmo_label_map_save (empty, path, &error));
  g_assert_no_error (error);
  return g_file_new_for_path (path);
}

/* Undo and redo ---------------------------------------------------------------- */

/* win.undo and win.redo bring back the exact bytes, are enabled only when they
 * can act, name their step in the menu, and move the unsaved-edits mark. */
static void
test_undo_redo (Fixture *f, gconstpointer data)
{
  open_ct (f, NULL);
  g_assert_cmpstr (subtitle (f), ==, "P001.nii.gz");
  g_assert_false (enabled (f, "undo"));
  g_assert_false (enabled (f, "redo"));

  paint_stroke (f, PULMO_LABEL_GROUND_GLASS, 74);
  g_autofree uint8_t *one = snapshot (f);
  paint_stroke (f, PULMO_LABEL_CONSOLIDATION, 75);
  g_autofree uint8_t *two = snapshot (f);
  g_assert_cmpstr (subtitle (f), ==, "• P001.nii.gz");
  g_assert_true (enabled (f, "undo"));
  g_assert_false (enabled (f, "redo"));
  g_autofree char *undo_label = edit_menu_label (f, 0);
  g_assert_cmpstr (undo_label, ==, "_Undo Paint");

  activate (f, "undo");
  assert_labels_equal (f, one);
  g_assert_true (enabled (f, "redo"));
  activate (f, "undo");
  g_autofree uint8_t *zero = g_malloc0 (n_voxels (f));
  assert_labels_equal (f, zero);
  /* Back where the map started: nothing is unsaved. */
  g_assert_cmpstr (subtitle (f), ==, "P001.nii.gz");
  g_assert_false (enabled (f, "undo"));

  activate (f, "redo");
  assert_labels_equal (f, one);
  activate (f, "redo");
  assert_labels_equal (f, two);
  g_assert_false (enabled (f, "redo"));
  g_assert_cmpstr (subtitle (f), ==, "• P001.nii.gz");
}

/* Saving ----------------------------------------------------------------------- */

static nifti_1_header
read_header (const char *path)
{
  nifti_1_header h;
  gzFile gz = gzopen (path, "rb");
  g_assert_nonnull (gz);
  g_assert_cmpint (gzread (gz, &h, sizeof h), ==, (int) sizeof h);
  gzclose (gz);
  return h;
}

/* Ctrl+S (win.save-labels) writes the labels to the file they came from, on
 * the CT's grid with its qform and sform; the mark clears, and undo away from
 * the saved labels and redo back to them sets and clears it again. */
static void
test_save (Fixture *f, gconstpointer data)
{
  g_autoptr (GFile) file = write_empty_labels (f, "P001-labels.nii.gz");
  open_ct (f, file);
  g_assert_cmpstr (subtitle (f), ==, "P001.nii.gz");
  guint64 painted = paint_stroke (f, PULMO_LABEL_GROUND_GLASS, 74);
  g_assert_cmpstr (subtitle (f), ==, "• P001.nii.gz");

  activate (f, "save-labels");
  g_assert_null (pulmo_window_get_error (f->window));
  g_assert_cmpstr (subtitle (f), ==, "P001.nii.gz");

  g_autofree char *path = g_file_get_path (file);
  nifti_1_header saved = read_header (path), ct = read_header (f->ct_path);
  g_assert_cmpint (saved.datatype, ==, NIFTI_TYPE_UINT8);
  for (int d = 0; d < 4; d++)
    g_assert_cmpint (saved.dim[d], ==, ct.dim[d]);
  for (int d = 1; d < 4; d++)
    g_assert_cmpfloat (saved.pixdim[d], ==, ct.pixdim[d]);
  g_assert_cmpint (saved.qform_code, ==, ct.qform_code);
  g_assert_cmpint (saved.sform_code, ==, ct.sform_code);
  g_assert_cmpfloat (saved.pixdim[0], ==, ct.pixdim[0]);
  g_assert_cmpfloat (saved.quatern_b, ==, ct.quatern_b);
  g_assert_cmpfloat (saved.quatern_c, ==, ct.quatern_c);
  g_assert_cmpfloat (saved.quatern_d, ==, ct.quatern_d);
  g_assert_cmpfloat (saved.qoffset_x, ==, ct.qoffset_x);
  g_assert_cmpfloat (saved.qoffset_y, ==, ct.qoffset_y);
  g_assert_cmpfloat (saved.qoffset_z, ==, ct.qoffset_z);
  for (int c = 0; c < 4; c++)
    {
      g_assert_cmpfloat (saved.srow_x[c], ==, ct.srow_x[c]);
      g_assert_cmpfloat (saved.srow_y[c], ==, ct.srow_y[c]);
      g_assert_cmpfloat (saved.srow_z[c], ==, ct.srow_z[c]);
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoLabelMap) back = pulmo_label_map_load (pulmo_view_state_get_volume (f->state), path, NULL,
                                                         NULL, &error);
  g_assert_no_error (error);
  assert_labels_equal (f, pulmo_label_map_get_data (back));
  guint64 counts[256];
  pulmo_label_map_count (back, counts);
  g_assert_cmpuint (counts[PULMO_LABEL_GROUND_GLASS], ==, painted);

  activate (f, "undo");
  g_assert_cmpstr (subtitle (f), ==, "• P001.nii.gz");
  activate (f, "redo");
  g_assert_cmpstr (subtitle (f), ==, "P001.nii.gz");
  /* A new step after an undo past the save leaves the saved labels out of reach. */
  activate (f, "undo");
  paint_stroke (f, PULMO_LABEL_CONSOLIDATION, 80);
  activate (f, "undo");
  g_assert_cmpstr (subtitle (f), ==, "• P001.nii.gz");
}

/* With unsaved edits, opening another CT asks: Cancel keeps everything, Save
 * writes the labels' file and goes on, Discard goes on without saving. */
static void
test_unsaved_question (Fixture *f, gconstpointer data)
{
  g_autoptr (GFile) file = write_empty_labels (f, "P001-labels.nii.gz");
  open_ct (f, file);
  paint_stroke (f, PULMO_LABEL_GROUND_GLASS, 74);
  g_autofree uint8_t *painted = snapshot (f);
  g_autoptr (GFile) ct = g_file_new_for_path (f->ct_path);

  pulmo_window_open (f->window, ct);
  g_assert_false (pulmo_window_is_loading (f->window));
  respond (GTK_RESPONSE_CANCEL);
  g_assert_null (find_dialog ());
  g_assert_false (pulmo_window_is_loading (f->window));
  assert_labels_equal (f, painted);

  pulmo_window_open (f->window, ct);
  respond (GTK_RESPONSE_ACCEPT);
  g_assert_true (pulmo_window_is_loading (f->window));
  wait_until_loaded (f);
  g_autofree char *path = g_file_get_path (file);
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoLabelMap) back = pulmo_label_map_load (pulmo_view_state_get_volume (f->state), path, NULL,
                                                         NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (pulmo_label_map_get_data (back), n_voxels (f), painted, n_voxels (f));

  /* The CT came back without labels; edit again and discard. */
  paint_stroke (f, PULMO_LABEL_CONSOLIDATION, 80);
  pulmo_window_open (f->window, ct);
  respond (GTK_RESPONSE_REJECT);
  wait_until_loaded (f);
  g_assert_null (pulmo_view_state_get_labels (f->state));
  g_autoptr (PulmoLabelMap) unchanged = pulmo_label_map_load (pulmo_view_state_get_volume (f->state), path, NULL,
                                                              NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (pulmo_label_map_get_data (unchanged), n_voxels (f), painted, n_voxels (f));

  /* Closing with unsaved edits asks too, and Cancel keeps the window. */
  wait_for_recovery_lookup (f);
  paint_stroke (f, PULMO_LABEL_CONSOLIDATION, 80);
  gtk_window_close (GTK_WINDOW (f->window));
  respond (GTK_RESPONSE_CANCEL);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (f->window)));
}

/* The palette ------------------------------------------------------------------ */

static gpointer
panel_child (Fixture *f, const char *name)
{
  GObject *child = gtk_widget_get_template_child (GTK_WIDGET (f->window->panel), PULMO_TYPE_PANEL, name);
  g_assert_nonnull (child);
  return child;
}

static const PulmoLabel *
table_entry (Fixture *f, uint8_t value)
{
  return pulmo_label_table_get (pulmo_label_map_get_table (labels_of (f)), value);
}

/* A button's "clicked", as a click gives it (activate would wait for its animation). */
static void
click (Fixture *f, const char *button)
{
  g_signal_emit_by_name (panel_child (f, button), "clicked");
  app_test_iterate_pending ();
}

/* The legend's row for @value. */
static GtkListBoxRow *
palette_row (Fixture *f, uint8_t value)
{
  GtkListBox *list = panel_child (f, "legend_list");
  for (int r = 0;; r++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (list, r);
      if (row == NULL)
        return NULL;
      if (GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "label-value")) == value)
        return row;
    }
}

/* A click on a row makes its label active; add, rename, recolour, hide and
 * delete change the table, and delete erases the label's voxels as one undo step. */
static void
test_palette (Fixture *f, gconstpointer data)
{
  open_ct (f, NULL);
  PulmoEditState *edit = f->window->edit;
  GtkListBox *list = panel_child (f, "legend_list");
  /* Before there are labels the palette offers the convention's, to choose what to paint. */
  g_assert_null (pulmo_view_state_get_labels (f->state));
  gtk_list_box_select_row (list, palette_row (f, PULMO_LABEL_GROUND_GLASS));
  g_assert_cmpuint (pulmo_edit_state_get_active_label (edit), ==, PULMO_LABEL_GROUND_GLASS);
  pulmo_edit_state_set_active_label (edit, PULMO_LABEL_RIGHT_LUNG);

  guint64 painted = paint_stroke (f, PULMO_LABEL_GROUND_GLASS, 74);
  g_autofree uint8_t *with_label = snapshot (f);

  /* Every label of the convention is offered, the active one selected. */
  g_assert_nonnull (palette_row (f, PULMO_LABEL_UNKNOWN_NOT_INFECTION));
  g_assert_true (gtk_list_box_get_selected_row (list) == palette_row (f, PULMO_LABEL_RIGHT_LUNG));
  gtk_list_box_select_row (list, palette_row (f, PULMO_LABEL_CONSOLIDATION));
  g_assert_cmpuint (pulmo_edit_state_get_active_label (edit), ==, PULMO_LABEL_CONSOLIDATION);
  pulmo_edit_state_set_active_label (edit, PULMO_LABEL_LEFT_LUNG);
  g_assert_true (gtk_list_box_get_selected_row (list) == palette_row (f, PULMO_LABEL_LEFT_LUNG));

  /* Add: the next free value, active at once, with a colour unlike the others'. */
  g_assert_false (table_entry (f, 9)->defined);
  click (f, "add_button");
  g_assert_true (table_entry (f, 9)->defined);
  g_assert_cmpstr (table_entry (f, 9)->name, ==, "Label 9");
  g_assert_cmpuint (pulmo_edit_state_get_active_label (edit), ==, 9);
  g_assert_nonnull (palette_row (f, 9));
  for (int v = 1; v < 9; v++)
    g_assert_true (memcmp (table_entry (f, v)->rgba, table_entry (f, 9)->rgba, 3) != 0);

  /* Rename and recolour the active label. */
  gtk_editable_set_text (panel_child (f, "name_entry"), "Nodule");
  g_assert_cmpstr (table_entry (f, 9)->name, ==, "Nodule");
  GtkColorChooser *colour = panel_child (f, "color_button");
  gtk_color_chooser_set_rgba (colour, &(GdkRGBA) { 0.0f, 0.2f, 1.0f, 1.0f });
  g_signal_emit_by_name (colour, "color-set");
  const uint8_t blue[3] = { 0, 51, 255 };
  g_assert_cmpmem (table_entry (f, 9)->rgba, 3, blue, 3);
  g_assert_cmpstr (table_entry (f, 9)->name, ==, "Nodule");

  /* Hide: the row's check button. */
  GtkWidget *check = gtk_widget_get_first_child (gtk_list_box_row_get_child (palette_row (f, PULMO_LABEL_GROUND_GLASS)));
  g_assert_true (GTK_IS_CHECK_BUTTON (check));
  g_assert_true (table_entry (f, PULMO_LABEL_GROUND_GLASS)->visible);
  gtk_check_button_set_active (GTK_CHECK_BUTTON (check), FALSE);
  g_assert_false (table_entry (f, PULMO_LABEL_GROUND_GLASS)->visible);

  /* Delete a label without voxels: no question. */
  click (f, "delete_button");
  g_assert_null (find_dialog ());
  g_assert_false (table_entry (f, 9)->defined);
  g_assert_null (palette_row (f, 9));
  g_assert_cmpuint (pulmo_edit_state_get_active_label (edit), ==, PULMO_LABEL_UNKNOWN_NOT_INFECTION);

  /* Delete ground glass: it has voxels, so the palette asks; Cancel keeps them. */
  pulmo_edit_state_set_active_label (edit, PULMO_LABEL_GROUND_GLASS);
  click (f, "delete_button");
  respond (GTK_RESPONSE_CANCEL);
  assert_labels_equal (f, with_label);
  g_assert_true (table_entry (f, PULMO_LABEL_GROUND_GLASS)->defined);
  click (f, "delete_button");
  respond (GTK_RESPONSE_ACCEPT);
  g_assert_false (table_entry (f, PULMO_LABEL_GROUND_GLASS)->defined);
  guint64 counts[256];
  pulmo_label_map_count (labels_of (f), counts);
  g_assert_cmpuint (counts[PULMO_LABEL_GROUND_GLASS], ==, 0);
  g_assert_cmpuint (counts[PULMO_LABEL_BACKGROUND], ==, n_voxels (f));
  g_autofree char *undo_label = edit_menu_label (f, 0);
  g_assert_cmpstr (undo_label, ==, "_Undo Delete Label");

  /* Undo brings the voxels back, byte for byte, and the palette a row for them. */
  activate (f, "undo");
  assert_labels_equal (f, with_label);
  pulmo_label_map_count (labels_of (f), counts);
  g_assert_cmpuint (counts[PULMO_LABEL_GROUND_GLASS], ==, painted);
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (palette_row (f, PULMO_LABEL_GROUND_GLASS) == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_true (table_entry (f, PULMO_LABEL_GROUND_GLASS)->defined);
}

/* ITK-SNAP label descriptions -------------------------------------------------- */

/* Exported names, colours, opacities and visibility read back as they were,
 * and the window imports them onto its labels. */
static void
test_label_description_round_trip (Fixture *f, gconstpointer data)
{
  g_autoptr (PulmoLabelTable) table = pulmo_label_table_new_default ();
  pulmo_label_table_set (table, 200, "Nodule \"A\"\nsecond line", (const uint8_t[4]) { 12, 34, 56, 128 });
  pulmo_label_table_set_visible (table, PULMO_LABEL_LEFT_LUNG, FALSE);
  pulmo_label_table_set (table, 7, "Infection (type unknown) — ünïcode", (const uint8_t[4]) { 1, 2, 3, 0 });
  g_autofree char *path = g_build_filename (f->dir, "labels.txt", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_label_description_save (table, path, &error));
  g_assert_no_error (error);

  g_autoptr (PulmoLabelTable) back = pulmo_label_description_load (path, &error);
  g_assert_no_error (error);
  uint8_t values[256], back_values[256];
  int n = pulmo_label_table_list (table, values);
  g_assert_cmpint (pulmo_label_table_list (back, back_values), ==, n);
  g_assert_cmpmem (back_values, n, values, n);
  for (int e = 0; e < n; e++)
    {
      const PulmoLabel *a = pulmo_label_table_get (table, values[e]), *b = pulmo_label_table_get (back, values[e]);
      g_assert_cmpmem (b->rgba, 4, a->rgba, 4);
      g_assert_cmpint (b->visible, ==, a->visible);
      if (values[e] == 200)
        g_assert_cmpstr (b->name, ==, "Nodule \"A\" second line");
      else
        g_assert_cmpstr (b->name, ==, a->name);
    }

  /* An unwritable place is an error, not a crash. */
  g_autofree char *nowhere = g_build_filename (f->dir, "missing", "labels.txt", NULL);
  g_assert_false (pulmo_label_description_save (table, nowhere, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  open_ct (f, NULL);
  paint_stroke (f, 200, 74);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  pulmo_window_open_label_names (f->window, file);
  g_assert_null (pulmo_window_get_error (f->window));
  g_assert_cmpstr (table_entry (f, 200)->name, ==, "Nodule \"A\" second line");
  g_assert_false (table_entry (f, PULMO_LABEL_LEFT_LUNG)->visible);
}

/* Recovery --------------------------------------------------------------------- */

/* Labels with every value 0..8 somewhere: a recovery file worth restoring. */
static PulmoLabelMap *
patterned_labels (PulmoVolume *ct)
{
  PulmoLabelMap *labels = pulmo_label_map_new (ct);
  uint8_t *voxels = pulmo_label_map_get_data_mutable (labels);
  gsize n = pulmo_volume_get_n_voxels (ct);
  for (gsize v = 0; v < n; v++)
    voxels[v] = (v / 1000) % 9;
  return labels;
}

static void
write_recovery (Fixture *f, uint8_t **expected)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) ct = pulmo_volume_load (f->ct_path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (PulmoLabelMap) labels = patterned_labels (ct);
  g_autofree char *hash = pulmo_recovery_ct_hash (ct);
  g_autofree char *recovery = pulmo_recovery_path (f->ct_path);
  g_assert_true (pulmo_recovery_write (recovery, f->ct_path, hash, ct, pulmo_label_map_get_data (labels),
                                       pulmo_label_map_get_table (labels), &error));
  g_assert_no_error (error);
  *expected = g_memdup2 (pulmo_label_map_get_data (labels), pulmo_volume_get_n_voxels (ct));
}

/* Opening a CT with a recovery file offers it; Restore shows its labels,
 * unsaved, byte for byte. */
static void
test_recovery_restore (Fixture *f, gconstpointer data)
{
  g_autofree uint8_t *expected = NULL;
  write_recovery (f, &expected);
  open_ct (f, NULL);
  g_assert_true (gtk_info_bar_get_revealed (f->window->recovery_bar));
  g_assert_nonnull (strstr (gtk_label_get_text (f->window->recovery_label), "Unsaved edits from"));
  g_assert_null (pulmo_view_state_get_labels (f->state));

  gtk_info_bar_response (f->window->recovery_bar, GTK_RESPONSE_ACCEPT);
  g_assert_false (gtk_info_bar_get_revealed (f->window->recovery_bar));
  assert_labels_equal (f, expected);
  g_assert_cmpstr (subtitle (f), ==, "• P001.nii.gz");
  /* The file stays until the edits are saved or declined. */
  g_autofree char *recovery = pulmo_recovery_path (f->ct_path);
  g_assert_true (g_file_test (recovery, G_FILE_TEST_EXISTS));
}

/* Discard removes the recovery file; the labels shown stay as they were. */
static void
test_recovery_discard (Fixture *f, gconstpointer data)
{
  g_autofree uint8_t *expected = NULL;
  write_recovery (f, &expected);
  open_ct (f, NULL);
  g_assert_true (gtk_info_bar_get_revealed (f->window->recovery_bar));
  gtk_info_bar_response (f->window->recovery_bar, GTK_RESPONSE_REJECT);
  g_assert_null (pulmo_view_state_get_labels (f->state));
  g_autofree char *recovery = pulmo_recovery_path (f->ct_path);
  g_assert_false (g_file_test (recovery, G_FILE_TEST_EXISTS));
}

/* Edits are autosaved within about a second, restorable byte for byte; saving
 * them removes the file. */
static void
test_autosave (Fixture *f, gconstpointer data)
{
  g_autoptr (GFile) file = write_empty_labels (f, "P001-labels.nii.gz");
  open_ct (f, file);
  g_assert_false (gtk_info_bar_get_revealed (f->window->recovery_bar));
  paint_stroke (f, PULMO_LABEL_GROUND_GLASS, 74);
  paint_stroke (f, PULMO_LABEL_CONSOLIDATION, 90);
  g_autofree uint8_t *painted = snapshot (f);

  g_autofree char *recovery = pulmo_recovery_path (f->ct_path);
  PulmoVolume *ct = pulmo_view_state_get_volume (f->state);
  g_autoptr (PulmoLabelMap) kept = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (kept == NULL || memcmp (pulmo_label_map_get_data (kept), painted, n_voxels (f)) != 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (20000);
      g_clear_object (&kept);
      if (g_file_test (recovery, G_FILE_TEST_EXISTS))
        kept = pulmo_recovery_read (recovery, ct, f->window->ct_hash, NULL);
    }

  activate (f, "save-labels");
  g_assert_null (pulmo_window_get_error (f->window));
  g_assert_false (g_file_test (recovery, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  if (!app_test_init (&argc, &argv, "/annotate-files/no-display"))
    return g_test_run ();
  g_test_add ("/annotate-files/undo-redo", Fixture, NULL, setup, test_undo_redo, teardown);
  g_test_add ("/annotate-files/save", Fixture, NULL, setup, test_save, teardown);
  g_test_add ("/annotate-files/unsaved-question", Fixture, NULL, setup, test_unsaved_question, teardown);
  g_test_add ("/annotate-files/palette", Fixture, NULL, setup, test_palette, teardown);
  g_test_add ("/annotate-files/label-description-round-trip", Fixture, NULL, setup,
              test_label_description_round_trip, teardown);
  g_test_add ("/annotate-files/recovery-restore", Fixture, NULL, setup, test_recovery_restore, teardown);
  g_test_add ("/annotate-files/recovery-discard", Fixture, NULL, setup, test_recovery_discard, teardown);
  g_test_add ("/annotate-files/autosave", Fixture, NULL, setup, test_autosave, teardown);
  return g_test_run ();
}
