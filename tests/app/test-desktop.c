/* The desktop side of the main window, under Xvfb: the About window and its
 * data attributions; the Preferences window's settings reaching the views and
 * the style manager; toasts after a save; and a name for screen readers on
 * every control of the main and Preferences windows. With
 * PULMO_SCREENSHOT_DIR set, screenshots of each in light and dark style. */
#include <glib/gstdio.h>
#include <string.h>

#include "app/pulmo-about.h"
#include "app/pulmo-accessible.h"
#include "app/pulmo-appearance.h"
#include "app/pulmo-preferences.h"
#include "app/pulmo-window-private.h"
#include "app-test-window.h"
#include "app-test.h"
#include "pulmo-test.h"

typedef struct {
  PulmoWindow *window;
  PulmoViewState *state;
  char *dir;          /* a copy of the CT's labels, for Save to write to */
} Fixture;

static void
open_ct_and_labels (Fixture *f)
{
  g_autofree char *ct_path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *lung_path = pulmo_test_data ("cip-chest-ct/wholeLung-64.nii.gz");
  g_autofree char *labels_path = g_build_filename (f->dir, "ct-64-labels.nii.gz", NULL);
  g_autofree char *bytes = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (lung_path, &bytes, &length, NULL));
  g_assert_true (g_file_set_contents (labels_path, bytes, length, NULL));
  g_autoptr (GFile) ct = g_file_new_for_path (ct_path);
  g_autoptr (GFile) labels = g_file_new_for_path (labels_path);
  pulmo_window_open_with_labels (f->window, ct, labels, NULL);
  app_test_wait_for (app_test_window_loaded, f->window, 60);
  g_assert_null (pulmo_window_get_error (f->window));
  g_assert_nonnull (pulmo_view_state_get_labels (f->state));
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autofree char *preferences = pulmo_preferences_path ();
  g_unlink (preferences);
  pulmo_appearance_apply (PULMO_APPEARANCE_SYSTEM);
  f->dir = g_dir_make_tmp ("pulmo-desktop-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->window = pulmo_window_new (NULL);
  f->state = pulmo_window_get_state (f->window);
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1200, 800);
  gtk_window_present (GTK_WINDOW (f->window));
  open_ct_and_labels (f);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  app_test_iterate_pending ();
  pulmo_test_remove_tree (f->dir);
  g_free (f->dir);
  pulmo_appearance_apply (PULMO_APPEARANCE_SYSTEM);
}

/* Whether some label under @root (itself included) shows text containing @needle. */
static gboolean
shows_text (GtkWidget *root, const char *needle)
{
  if (GTK_IS_LABEL (root) && strstr (gtk_label_get_text (GTK_LABEL (root)), needle) != NULL)
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL; child = gtk_widget_get_next_sibling (child))
    if (shows_text (child, needle))
      return TRUE;
  return FALSE;
}

static GtkWindow *
open_preferences (Fixture *f)
{
  app_test_activate (G_ACTION_GROUP (f->window), "preferences", NULL);
  GtkWindow *preferences = app_test_find_window ("Preferences");
  g_assert_true (ADW_IS_PREFERENCES_WINDOW (preferences));
  app_test_iterate_pending ();
  return preferences;
}

/* The About window ---------------------------------------------------------- */

/* It names the data sets the model was trained on and the sample comes from,
 * with their licences, and says Pulmo is not a medical device. */
static void
test_about (Fixture *f, gconstpointer data)
{
  GtkWidget *about = pulmo_about_present (GTK_WINDOW (f->window));
  g_assert_true (ADW_IS_ABOUT_WINDOW (about));
  app_test_iterate_pending ();
  g_assert_cmpstr (adw_about_window_get_application_name (ADW_ABOUT_WINDOW (about)), ==, "Pulmo");
  g_assert_cmpint (adw_about_window_get_license_type (ADW_ABOUT_WINDOW (about)), ==, GTK_LICENSE_GPL_3_0);
  g_assert_cmpstr (adw_about_window_get_developer_name (ADW_ABOUT_WINDOW (about)), ==, "The Pulmo developers");
  g_assert_nonnull (strstr (adw_about_window_get_comments (ADW_ABOUT_WINDOW (about)), "not a medical device"));
  static const char *const attributions[] = {
    "COVID-19-CT-Seg", "doi:10.5281/zenodo.3757476", "CC BY-NC-SA 4.0", "MedSeg", "Inf-Net", "CC0 1.0",
    "COVID-CT-MD", "Afshar P.", "doi:10.1038/s41597-021-00900-3", "Chest Imaging Platform", "COPDGene",
    "TotalSegmentator", "Apache-2.0",
  };
  for (size_t a = 0; a < G_N_ELEMENTS (attributions); a++)
    if (!shows_text (about, attributions[a]))
      g_error ("The About window does not show “%s”", attributions[a]);
  app_test_screenshot (about, "desktop-about");
  gtk_window_destroy (GTK_WINDOW (about));
}

/* The Preferences window ------------------------------------------------------ */

/* A switch or spin button at the end of the row titled @title. */
static GtkWidget *
row_control (GtkWindow *preferences, const char *title)
{
  AdwPreferencesRow *row = app_test_find_row (GTK_WIDGET (preferences), title);
  g_assert_nonnull (row);
  GtkWidget *control = adw_action_row_get_activatable_widget (ADW_ACTION_ROW (row));
  g_assert_nonnull (control);
  return control;
}

static guint64
image_checksum (PulmoSliceView *view)
{
  cairo_surface_t *image = pulmo_slice_view_get_image (view);
  const guint8 *pixels = cairo_image_surface_get_data (image);
  size_t n = (size_t) cairo_image_surface_get_stride (image) * cairo_image_surface_get_height (image);
  guint64 sum = 0;
  for (size_t p = 0; p < n; p++)
    sum = sum * 31 + pixels[p];
  return sum;
}

/* Outline and opacity set there change the overlay the views draw, and are
 * kept for the next window. */
static void
test_preferences_view (Fixture *f, gconstpointer data)
{
  PulmoSliceView *axial = pulmo_window_get_view (f->window, PULMO_VIEW_AXIAL);
  guint64 filled = image_checksum (axial);
  GtkWindow *preferences = open_preferences (f);
  app_test_screenshot (GTK_WIDGET (preferences), "desktop-preferences-view");

  gtk_switch_set_active (GTK_SWITCH (row_control (preferences, "_Outline Labels")), TRUE);
  PulmoRenderParams params;
  pulmo_view_state_get_render_params (f->state, &params);
  g_assert_cmpint (params.overlay_mode, ==, PULMO_OVERLAY_OUTLINE);
  guint64 outlined = image_checksum (axial);
  g_assert_cmpuint (outlined, !=, filled);
  g_autoptr (GVariant) mode = g_action_group_get_action_state (G_ACTION_GROUP (f->window), "overlay-mode");
  g_assert_cmpstr (g_variant_get_string (mode, NULL), ==, "outline");

  gtk_spin_button_set_value (GTK_SPIN_BUTTON (row_control (preferences, "Label O_pacity")), 100);
  pulmo_view_state_get_render_params (f->state, &params);
  g_assert_cmpfloat (params.opacity, ==, 1.0);
  g_assert_cmpuint (image_checksum (axial), !=, outlined);

  gtk_switch_set_active (GTK_SWITCH (row_control (preferences, "S_mooth Display")), TRUE);
  g_assert_true (pulmo_view_state_get_smooth (f->state));
  /* … and the other way: the O key's state shows in the window. */
  g_object_set (f->state, "overlay-outline", FALSE, NULL);
  g_assert_false (gtk_switch_get_active (GTK_SWITCH (row_control (preferences, "_Outline Labels"))));
  gtk_window_destroy (preferences);

  gtk_window_destroy (GTK_WINDOW (f->window));
  f->window = pulmo_window_new (NULL);
  f->state = pulmo_window_get_state (f->window);
  pulmo_view_state_get_render_params (f->state, &params);
  g_assert_cmpfloat (params.opacity, ==, 1.0);
  g_assert_true (pulmo_view_state_get_smooth (f->state));
}

/* The Style row switches the application between light and dark, and the
 * choice is kept; the slices stay on black in both. */
static void
test_preferences_style (Fixture *f, gconstpointer data)
{
  AdwStyleManager *style = adw_style_manager_get_default ();
  GtkWindow *preferences = open_preferences (f);
  AdwComboRow *row = ADW_COMBO_ROW (app_test_find_row (GTK_WIDGET (preferences), "_Style"));
  g_assert_nonnull (row);
  g_assert_cmpuint (adw_combo_row_get_selected (row), ==, PULMO_APPEARANCE_SYSTEM);

  adw_combo_row_set_selected (row, PULMO_APPEARANCE_DARK);
  g_assert_cmpint (adw_style_manager_get_color_scheme (style), ==, ADW_COLOR_SCHEME_FORCE_DARK);
  g_assert_true (adw_style_manager_get_dark (style));
  g_assert_cmpint (pulmo_style_preferences_load (), ==, PULMO_APPEARANCE_DARK);
  app_test_screenshot (GTK_WIDGET (preferences), "desktop-preferences-dark");
  gtk_widget_set_visible (GTK_WIDGET (preferences), FALSE);
  app_test_screenshot (GTK_WIDGET (f->window), "desktop-window-dark");
  gtk_widget_set_visible (GTK_WIDGET (preferences), TRUE);

  adw_combo_row_set_selected (row, PULMO_APPEARANCE_LIGHT);
  g_assert_cmpint (adw_style_manager_get_color_scheme (style), ==, ADW_COLOR_SCHEME_FORCE_LIGHT);
  g_assert_false (adw_style_manager_get_dark (style));
  g_assert_cmpint (pulmo_style_preferences_load (), ==, PULMO_APPEARANCE_LIGHT);
  gtk_window_destroy (preferences);
  app_test_screenshot (GTK_WIDGET (f->window), "desktop-window-light");

  preferences = open_preferences (f);
  row = ADW_COMBO_ROW (app_test_find_row (GTK_WIDGET (preferences), "_Style"));
  g_assert_cmpuint (adw_combo_row_get_selected (row), ==, PULMO_APPEARANCE_LIGHT);
  adw_combo_row_set_selected (row, PULMO_APPEARANCE_SYSTEM);
  g_assert_cmpint (adw_style_manager_get_color_scheme (style), ==, ADW_COLOR_SCHEME_DEFAULT);
  gtk_window_destroy (preferences);
}

/* Toasts ------------------------------------------------------------------- */

/* Saving the labels or a report says so in a toast on the window; an error stays in the bar. */
static void
test_toast (Fixture *f, gconstpointer data)
{
  g_assert_null (_pulmo_window_get_toast (f->window));
  app_test_activate (G_ACTION_GROUP (f->window), "save-labels", NULL);
  app_test_iterate_pending ();
  g_assert_null (pulmo_window_get_error (f->window));
  g_assert_cmpstr (_pulmo_window_get_toast (f->window), ==, "Labels saved as ct-64-labels.nii.gz");
  /* On screen, not just queued. */
  g_assert_true (shows_text (GTK_WIDGET (f->window), "Labels saved as ct-64-labels.nii.gz"));
  app_test_screenshot (GTK_WIDGET (f->window), "desktop-toast");

  g_autofree char *report = g_build_filename (f->dir, "R&D <report>.csv", NULL);
  g_assert_true (pulmo_window_export_report (f->window, report, NULL));
  app_test_iterate_pending ();
  g_assert_cmpstr (_pulmo_window_get_toast (f->window), ==, "Report saved as R&amp;D &lt;report&gt;.csv");
  g_assert_true (shows_text (GTK_WIDGET (f->window), "Report saved as R&D <report>.csv"));
  g_assert_null (pulmo_window_get_error (f->window));
}

/* Names for screen readers ---------------------------------------------------- */

static const char *
label_text (GtkWidget *widget)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_LABEL (child) && *gtk_label_get_text (GTK_LABEL (child)))
        return gtk_label_get_text (GTK_LABEL (child));
      const char *text = label_text (child);
      if (text != NULL)
        return text;
    }
  return NULL;
}

/* What a screen reader calls @widget, as far as GTK 4.8 lets a test see:
 * a label given through pulmo_accessible_set_label, a mnemonic label, the
 * text the control shows, a row's title, or its tooltip. */
static const char *
control_name (GtkWidget *widget)
{
  const char *name = pulmo_accessible_get_label (widget);
  if (name != NULL && *name)
    return name;
  GList *mnemonic = gtk_widget_list_mnemonic_labels (widget);
  name = mnemonic != NULL ? gtk_label_get_text (mnemonic->data) : NULL;
  g_list_free (mnemonic);
  if (name != NULL && *name)
    return name;
  if (ADW_IS_PREFERENCES_ROW (widget) && *adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)))
    return adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget));
  if (GTK_IS_BUTTON (widget) || GTK_IS_MENU_BUTTON (widget) || GTK_IS_CHECK_BUTTON (widget))
    {
      name = label_text (widget);
      if (name != NULL)
        return name;
    }
  name = gtk_widget_get_tooltip_text (widget);
  return name != NULL && *name ? name : NULL;
}

static gboolean
is_control (GtkWidget *widget)
{
  return GTK_IS_BUTTON (widget) || GTK_IS_MENU_BUTTON (widget) || GTK_IS_CHECK_BUTTON (widget)
         || GTK_IS_SWITCH (widget) || GTK_IS_SPIN_BUTTON (widget) || GTK_IS_SCALE (widget)
         || GTK_IS_DROP_DOWN (widget) || GTK_IS_ENTRY (widget) || GTK_IS_COLOR_BUTTON (widget)
         || ADW_IS_ENTRY_ROW (widget) || ADW_IS_COMBO_ROW (widget) || PULMO_IS_SLICE_VIEW (widget);
}

/* Every control shown under @root has a name; appends the unnamed ones to @missing.
 * A control's own parts (a spin button's +/-, a drop-down's button) go with it,
 * the window buttons are GTK's, which names them, and what is hidden cannot be
 * reached. */
static void
check_names (GtkWidget *root, GString *missing, int *n_controls)
{
  if (!gtk_widget_get_visible (root) || GTK_IS_WINDOW_CONTROLS (root) || GTK_IS_POPOVER (root))
    return;
  if (is_control (root))
    {
      (*n_controls)++;
      if (control_name (root) == NULL)
        {
          const char *id = gtk_buildable_get_buildable_id (GTK_BUILDABLE (root));
          g_string_append_printf (missing, " %s%s%s in", G_OBJECT_TYPE_NAME (root), id != NULL ? "#" : "",
                                  id != NULL ? id : "");
          for (GtkWidget *up = gtk_widget_get_parent (root); up != NULL; up = gtk_widget_get_parent (up))
            g_string_append_printf (missing, " %s", G_OBJECT_TYPE_NAME (up));
          g_string_append (missing, ";");
        }
      return;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL; child = gtk_widget_get_next_sibling (child))
    check_names (child, missing, n_controls);
}

static void
assert_all_named (GtkWidget *root, int at_least)
{
  g_autoptr (GString) missing = g_string_new (NULL);
  int n_controls = 0;
  check_names (root, missing, &n_controls);
  g_test_message ("%s: %d controls", G_OBJECT_TYPE_NAME (root), n_controls);
  if (missing->len > 0)
    g_error ("Controls without a name for screen readers under %s:%s", G_OBJECT_TYPE_NAME (root), missing->str);
  g_assert_cmpint (n_controls, >=, at_least);
}

static void
test_accessible_names (Fixture *f, gconstpointer data)
{
  assert_all_named (GTK_WIDGET (f->window), 40);
  /* The views say which they are and the slice they show, and take the keyboard focus. */
  int cursor[3];
  pulmo_view_state_get_cursor (f->state, cursor);
  g_autofree char *axial_name = g_strdup_printf ("Axial view, slice %d of 79", cursor[2] + 1);
  g_assert_cmpstr (pulmo_accessible_get_label (GTK_WIDGET (pulmo_window_get_view (f->window, PULMO_VIEW_AXIAL))),
                   ==, axial_name);
  g_assert_nonnull (strstr (pulmo_accessible_get_label (GTK_WIDGET (pulmo_window_get_view (f->window,
                                                                                         PULMO_VIEW_CORONAL))),
                            "Coronal view, slice "));
  for (int axis = 0; axis < PULMO_N_VIEWS; axis++)
    g_assert_true (gtk_widget_get_focusable (GTK_WIDGET (pulmo_window_get_view (f->window, axis))));
  cursor[2]++;
  pulmo_view_state_set_cursor (f->state, cursor);
  g_autofree char *next_name = g_strdup_printf ("Axial view, slice %d of 79", cursor[2] + 1);
  g_assert_cmpstr (pulmo_accessible_get_label (GTK_WIDGET (pulmo_window_get_view (f->window, PULMO_VIEW_AXIAL))),
                   ==, next_name);

  GtkWindow *preferences = open_preferences (f);
  assert_all_named (GTK_WIDGET (preferences), 6);
  adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (preferences), "training");
  app_test_screenshot (GTK_WIDGET (preferences), "desktop-preferences-training");
  gtk_window_destroy (preferences);

  /* … and the training dialogs. */
  app_test_activate (G_ACTION_GROUP (f->window), "export-case", NULL);
  GtkWindow *export = app_test_find_window ("Export as Training Case");
  g_assert_nonnull (export);
  assert_all_named (GTK_WIDGET (export), 5);
  gtk_window_destroy (export);
  app_test_activate (G_ACTION_GROUP (f->window), "fine-tune", NULL);
  GtkWindow *finetune = app_test_find_window ("Fine-Tune the Model");
  g_assert_nonnull (finetune);
  assert_all_named (GTK_WIDGET (finetune), 4);
  gtk_window_destroy (finetune);
}

/* The controls under @root that Tab should reach: shown, sensitive, focusable. */
static void
collect_controls (GtkWidget *root, GPtrArray *controls)
{
  if (!gtk_widget_get_visible (root) || !gtk_widget_get_child_visible (root) || GTK_IS_WINDOW_CONTROLS (root)
      || GTK_IS_POPOVER (root))
    return;
  if (is_control (root))
    {
      if (gtk_widget_is_sensitive (root) && gtk_widget_get_focusable (root))
        g_ptr_array_add (controls, root);
      return;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL; child = gtk_widget_get_next_sibling (child))
    collect_controls (child, controls);
}

/* Tab goes round every control of the window, the three views among them. */
static void
test_keyboard (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) controls = g_ptr_array_new ();
  collect_controls (GTK_WIDGET (f->window), controls);
  g_autoptr (GHashTable) reached = g_hash_table_new (NULL, NULL);
  GtkWidget *first = NULL;
  for (int step = 0; step < 500; step++)
    {
      if (!gtk_widget_child_focus (GTK_WIDGET (f->window), GTK_DIR_TAB_FORWARD))
        gtk_widget_child_focus (GTK_WIDGET (f->window), GTK_DIR_TAB_FORWARD); /* wrapped round */
      GtkWidget *focus = gtk_window_get_focus (GTK_WINDOW (f->window));
      g_assert_nonnull (focus);
      if (focus == first)
        break;
      if (first == NULL)
        first = focus;
      /* A control takes the focus itself or in one of its parts (a spin button's text). */
      for (GtkWidget *up = focus; up != NULL; up = gtk_widget_get_parent (up))
        g_hash_table_add (reached, up);
    }
  g_autoptr (GString) missed = g_string_new (NULL);
  for (guint c = 0; c < controls->len; c++)
    if (!g_hash_table_contains (reached, controls->pdata[c]))
      g_string_append_printf (missed, " %s “%s”", G_OBJECT_TYPE_NAME (controls->pdata[c]),
                              control_name (controls->pdata[c]));
  g_test_message ("Tab reaches %u widgets; %u controls", g_hash_table_size (reached), controls->len);
  if (missed->len > 0)
    g_error ("Tab does not reach:%s", missed->str);
  for (int axis = 0; axis < PULMO_N_VIEWS; axis++)
    g_assert_true (g_hash_table_contains (reached, pulmo_window_get_view (f->window, axis)));
}

int
main (int argc, char **argv)
{
  if (!app_test_init (&argc, &argv, "/desktop/no-display"))
    return g_test_run ();
  g_test_add ("/desktop/about", Fixture, NULL, setup, test_about, teardown);
  g_test_add ("/desktop/preferences-view", Fixture, NULL, setup, test_preferences_view, teardown);
  g_test_add ("/desktop/preferences-style", Fixture, NULL, setup, test_preferences_style, teardown);
  g_test_add ("/desktop/toast", Fixture, NULL, setup, test_toast, teardown);
  g_test_add ("/desktop/accessible-names", Fixture, NULL, setup, test_accessible_names, teardown);
  g_test_add ("/desktop/keyboard", Fixture, NULL, setup, test_keyboard, teardown);
  return g_test_run ();
}
