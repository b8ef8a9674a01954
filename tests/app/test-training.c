/* The correct-and-retrain loop in the app, under Xvfb, on the bundled sample
 * (P001 of COVID-CT-MD at 256 × 256 × 148, int16 HU): segment with the
 * shipped model, correct with a brush stroke, export through the Export as
 * Training Case dialog, fine-tune through the Fine-Tune dialog (the real
 * trainer, held-out slices of the exported case, a one-minute budget), and go
 * back to the shipped model in Preferences, byte for byte. With
 * PULMO_SCREENSHOT_DIR set, each dialog is saved there as a PNG. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "app/pulmo-finetune-dialog.h"
#include "app/pulmo-preferences.h"
#include "train/model-registry.h"
#include "app-test-window.h"
#include "app-test.h"
#include "pulmo-test.h"

typedef struct {
  PulmoWindow *window;
  PulmoViewState *state;
  char *dir;            /* the dataset the test exports into, and its models */
  char *cases;
} Fixture;

static gboolean
window_gone (gpointer title)
{
  return app_test_find_window (title) == NULL;
}

static gboolean
finetune_done (gpointer dialog)
{
  return !pulmo_finetune_dialog_is_running (dialog);
}

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("pulmo-training-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->cases = g_build_filename (f->dir, "cases", NULL);
  /* The user's models start from the shipped one alone, and no edits of an
   * earlier run wait to be recovered: a new user's first loop. */
  g_autofree char *models = g_build_filename (g_get_user_data_dir (), "pulmo", "models", NULL);
  pulmo_test_remove_tree (models);
  g_autofree char *recovery = g_build_filename (g_get_user_state_dir (), "pulmo", "recovery", NULL);
  pulmo_test_remove_tree (recovery);
  app_test_reset_preferences ();
  PulmoTrainingPreferences prefs = { .annotator = g_strdup ("Test Annotator"), .dataset_dir = g_strdup (f->cases),
                                     .original_dir = g_strdup (""), .convention = g_strdup ("pulmo"),
                                     .anonymise = TRUE, .finetune_minutes = 1 };
  g_assert_true (pulmo_training_preferences_save (&prefs, NULL));
  pulmo_training_preferences_clear (&prefs);

  f->window = pulmo_window_new (NULL);
  f->state = pulmo_window_get_state (f->window);
  gtk_window_present (GTK_WINDOW (f->window));
}

static void
teardown (Fixture *f, gconstpointer data)
{
  f->window->close_confirmed = TRUE;
  gtk_window_destroy (GTK_WINDOW (f->window));
  app_test_iterate_pending ();
  g_autofree char *models = g_build_filename (g_get_user_data_dir (), "pulmo", "models", NULL);
  pulmo_test_remove_tree (models);
  pulmo_test_remove_tree (f->dir);
  g_free (f->cases);
  g_free (f->dir);
}

static JsonObject *
read_json (JsonParser *parser, const char *path)
{
  g_assert_true (json_parser_load_from_file (parser, path, NULL));
  return json_node_get_object (json_parser_get_root (parser));
}

static void
test_loop (Fixture *f, gconstpointer data)
{
  g_autofree char *ct_path = pulmo_test_data ("covid-ct-md/P001-256.nii.gz");
  g_autoptr (GFile) ct = g_file_new_for_path (ct_path);
  pulmo_window_open (f->window, ct);
  app_test_wait_for (app_test_window_loaded, f->window, 120);
  g_assert_null (pulmo_window_get_error (f->window));

  /* Segment, then correct: the stroke is what the export must find changed. */
  pulmo_window_segment (f->window, FALSE);
  app_test_wait_for (app_test_window_segmented, f->window, 300);
  g_assert_null (pulmo_window_get_error (f->window));
  g_assert_nonnull (f->window->model_labels);
  for (int k = 60; k < 90; k += 3)
    app_test_paint_stroke (f->window, PULMO_LABEL_GROUND_GLASS, k, 60, 100, 110, 130);
  app_test_screenshot (GTK_WIDGET (f->window), "training-1-corrected");

  /* Export through the dialog: its settings come from the preferences. */
  app_test_activate (G_ACTION_GROUP (f->window), "export-case", NULL);
  GtkWindow *export = app_test_find_window ("Export as Training Case");
  g_assert_nonnull (export);
  app_test_iterate_pending ();
  app_test_screenshot (GTK_WIDGET (export), "training-2-export");
  app_test_click (GTK_WIDGET (export), "_Export");
  app_test_wait_for (window_gone, "Export as Training Case", 120);
  g_assert_null (pulmo_window_get_error (f->window));
  g_assert_nonnull (strstr (_pulmo_window_get_toast (f->window), "pulmo_0000"));

  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *dataset_json = g_build_filename (f->cases, "dataset.json", NULL);
  JsonObject *dataset = read_json (parser, dataset_json);
  g_assert_cmpint (json_object_get_int_member (dataset, "numTraining"), ==, 1);
  g_autofree char *sidecar_path = g_build_filename (f->cases, "pulmo-cases", "pulmo_0000.json", NULL);
  g_autoptr (JsonParser) sidecar_parser = json_parser_new ();
  JsonObject *sidecar = read_json (sidecar_parser, sidecar_path);
  g_assert_cmpstr (json_object_get_string_member (sidecar, "annotator"), ==, "Test Annotator");
  g_assert_nonnull (strstr (json_object_get_string_member (sidecar, "model"), "pulmo-lung-lesion"));
  g_assert_false (json_object_has_member (sidecar, "source"));
  g_assert_cmpfloat (json_object_get_double_member (sidecar, "editing_seconds"), >=, 0);
  /* The strokes changed ground glass, not much else. */
  JsonObject *corrections = json_object_get_object_member (sidecar, "corrections");
  g_assert_nonnull (corrections);
  JsonObject *ground_glass = json_object_get_object_member (corrections, "3");
  JsonObject *right_lung = json_object_get_object_member (corrections, "1");
  g_assert_cmpint (json_object_get_int_member (ground_glass, "saved_voxels"), >,
                   json_object_get_int_member (ground_glass, "model_voxels"));
  g_assert_cmpfloat (json_object_get_double_member (ground_glass, "dice"), <, 0.99);
  g_assert_cmpfloat (json_object_get_double_member (right_lung, "dice"), >, 0.95);

  /* Fine-tune through its dialog, on the case just exported. */
  app_test_activate (G_ACTION_GROUP (f->window), "fine-tune", NULL);
  GtkWindow *finetune = app_test_find_window ("Fine-Tune the Model");
  g_assert_nonnull (finetune);
  app_test_iterate_pending ();
  app_test_screenshot (GTK_WIDGET (finetune), "training-3-fine-tune");
  app_test_click (GTK_WIDGET (finetune), "_Start");
  g_assert_true (pulmo_finetune_dialog_is_running (GTK_WIDGET (finetune)));
  /* Viewing and editing go on meanwhile. */
  app_test_paint_stroke (f->window, PULMO_LABEL_GROUND_GLASS, 100, 60, 100, 110, 130);
  gint64 until = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < until && pulmo_finetune_dialog_is_running (GTK_WIDGET (finetune)))
    g_main_context_iteration (NULL, TRUE);
  app_test_screenshot (GTK_WIDGET (finetune), "training-4-fine-tuning");
  app_test_wait_for (finetune_done, finetune, 600);
  app_test_screenshot (GTK_WIDGET (finetune), "training-5-fine-tuned");
  const char *text = pulmo_finetune_dialog_get_result (GTK_WIDGET (finetune));
  g_test_message ("fine-tune: %s", text);
  /* Without the original data, the held-out slices alone are measured. */
  g_assert_nonnull (strstr (text, "Held-out slices of your cases: lung 0."));
  g_assert_null (strstr (text, "Original cases:"));
  g_autoptr (GPtrArray) history = pulmo_model_history (NULL);
  g_assert_nonnull (history);
  gboolean installed = strstr (text, "installed and in use") != NULL;
  g_assert_cmpuint (history->len, ==, installed ? 2 : 1);
  PulmoModelEntry *last = g_ptr_array_index (history, history->len - 1);
  g_assert_true (last->in_use);
  /* Its work files went with it: only an installed copy is kept. */
  g_autofree char *work = g_build_filename (g_get_user_cache_dir (), "pulmo", "fine-tune", NULL);
  g_autoptr (GDir) left = g_dir_open (work, 0, NULL);
  g_assert_nonnull (left);
  g_assert_null (g_dir_read_name (left));

  /* Preferences go back to the shipped model: the file in use is its bytes. */
  app_test_activate (G_ACTION_GROUP (f->window), "preferences", NULL);
  GtkWindow *preferences = app_test_find_window ("Preferences");
  g_assert_nonnull (preferences);
  adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (preferences), "training");
  app_test_iterate_pending ();
  app_test_screenshot (GTK_WIDGET (preferences), "training-6-preferences");
  PulmoModelEntry *shipped = g_ptr_array_index (history, 0);
  AdwPreferencesRow *row = app_test_find_row (GTK_WIDGET (preferences), shipped->identity);
  g_assert_nonnull (row);
  GtkWidget *first = adw_action_row_get_activatable_widget (ADW_ACTION_ROW (row));
  g_assert_true (GTK_IS_CHECK_BUTTON (first));
  gtk_check_button_set_active (GTK_CHECK_BUTTON (first), TRUE);
  app_test_iterate_pending ();
  g_autofree char *in_use = pulmo_model_default_path (NULL);
  g_autofree char *shipped_path = pulmo_model_shipped_path (NULL);
  pulmo_test_assert_files_equal (in_use, shipped_path);
  gtk_window_destroy (preferences);
}

int
main (int argc, char **argv)
{
  if (!app_test_init (&argc, &argv, "/training/no-display"))
    return g_test_run ();
  g_test_add ("/training/segment-correct-export-fine-tune-roll-back", Fixture, NULL, setup, test_loop, teardown);
  return g_test_run ();
}
