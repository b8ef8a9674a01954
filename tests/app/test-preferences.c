/* Pulmo's settings in GSettings (app/pulmo-preferences.h): what the windows
 * save comes back, and viewer.ini is migrated once. Runs with
 * GSETTINGS_BACKEND=memory and no GSETTINGS_SCHEMA_DIR, so the schema is the
 * one compiled in the build folder, as in the README's uninstalled run. */
#include <glib/gstdio.h>

#include "app/pulmo-preferences.h"
#include "train/export.h"

/* viewer.ini as Pulmo 0.1 wrote it, every value changed from its default. */
static const char old_ini[] = "[View]\n"
                              "smooth=true\n"
                              "label-outline=true\n"
                              "label-opacity=0.80000000000000004\n"
                              "\n"
                              "[Training]\n"
                              "annotator=Dr A. N. Otator\n"
                              "dataset-folder=/data/cases\n"
                              "original-data-folder=/data/covid\\sct\n"
                              "export-labels=covid19-ct-seg\n"
                              "anonymise=false\n"
                              "fine-tune-minutes=30\n";

static void
reset_all (GSettings *settings)
{
  g_autoptr (GSettingsSchema) schema = NULL;
  g_object_get (settings, "settings-schema", &schema, NULL);
  g_auto (GStrv) keys = g_settings_schema_list_keys (schema);
  for (char **key = keys; *key != NULL; key++)
    g_settings_reset (settings, *key);
}

static void
write_ini (const char *contents, gssize length)
{
  g_autofree char *path = pulmo_preferences_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, contents, length, NULL));
}

static void
assert_view (gboolean smooth, gboolean outline, double opacity)
{
  g_autoptr (PulmoViewState) state = pulmo_view_state_new ();
  pulmo_preferences_load (state);
  gboolean got_smooth, got_outline;
  double got_opacity;
  g_object_get (state, "smooth", &got_smooth, "overlay-outline", &got_outline, "overlay-opacity", &got_opacity,
                NULL);
  g_assert_cmpint (got_smooth, ==, smooth);
  g_assert_cmpint (got_outline, ==, outline);
  g_assert_cmpfloat_with_epsilon (got_opacity, opacity, 1e-9);
}

/* The first use of the settings takes viewer.ini's values and renames it;
 * a viewer.ini seen later, by then stale, changes nothing the user set. */
static void
test_migrate_once (void)
{
  g_autofree char *path = pulmo_preferences_path ();
  g_autofree char *migrated = g_strconcat (path, ".migrated", NULL);
  /* main () wrote viewer.ini before anything read the settings. */
  GSettings *settings = pulmo_preferences_get_settings ();
  g_assert_nonnull (settings);
  g_assert_true (g_settings_get_boolean (settings, "migrated-viewer-ini"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (migrated, G_FILE_TEST_IS_REGULAR));

  assert_view (TRUE, TRUE, 0.8);
  PulmoTrainingPreferences prefs;
  pulmo_training_preferences_load (&prefs);
  g_assert_cmpstr (prefs.annotator, ==, "Dr A. N. Otator");
  g_assert_cmpstr (prefs.dataset_dir, ==, "/data/cases");
  g_assert_cmpstr (prefs.original_dir, ==, "/data/covid ct");
  g_assert_cmpstr (prefs.convention, ==, "covid19-ct-seg");
  g_assert_false (prefs.anonymise);
  g_assert_cmpint (prefs.finetune_minutes, ==, 30);
  pulmo_training_preferences_clear (&prefs);

  /* The user turns smoothing off; next start, viewer.ini is back (an older
   * Pulmo wrote it): it is not read again, nor renamed. */
  g_settings_set_boolean (settings, "smooth", FALSE);
  write_ini (old_ini, -1);
  pulmo_preferences_migrate (settings, path);
  assert_view (FALSE, TRUE, 0.8);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  g_unlink (path);
}

/* Values that are not booleans, out of the schema's range or not among its
 * choices, then a file that is not a key file: the defaults stay. */
static void
test_migrate_malformed (void)
{
  static const char *const malformed[] = {
    "[View]\nsmooth=maybe\nlabel-outline=2\nlabel-opacity=7\n"
    "[Training]\nexport-labels=nnunet\nfine-tune-minutes=0\nanonymise=no\n",
    "[View]\nsmooth=true\n\x01\xff",
  };
  GSettings *settings = pulmo_preferences_get_settings ();
  g_autofree char *path = pulmo_preferences_path ();
  for (size_t m = 0; m < G_N_ELEMENTS (malformed); m++)
    {
      reset_all (settings);
      write_ini (malformed[m], -1);
      pulmo_preferences_migrate (settings, path);
      g_assert_true (g_settings_get_boolean (settings, "migrated-viewer-ini"));
      assert_view (FALSE, FALSE, 0.5);
      PulmoTrainingPreferences prefs;
      pulmo_training_preferences_load (&prefs);
      g_assert_cmpstr (prefs.convention, ==, "pulmo");
      g_assert_true (prefs.anonymise);
      g_assert_cmpint (prefs.finetune_minutes, ==, 5);
      pulmo_training_preferences_clear (&prefs);
    }
}

/* What is saved is in GSettings' keys, and loads back into new objects. */
static void
test_save_load (void)
{
  GSettings *settings = pulmo_preferences_get_settings ();
  reset_all (settings);

  g_autoptr (PulmoViewState) state = pulmo_view_state_new ();
  g_object_set (state, "smooth", TRUE, "overlay-outline", TRUE, "overlay-opacity", 0.25, NULL);
  g_assert_true (pulmo_preferences_save (state, NULL));
  g_assert_true (g_settings_get_boolean (settings, "smooth"));
  g_assert_cmpfloat (g_settings_get_double (settings, "label-opacity"), ==, 0.25);
  assert_view (TRUE, TRUE, 0.25);

  g_autoptr (PulmoEditState) edit = pulmo_edit_state_new (state);
  g_object_set (edit, "brush-shape", PULMO_BRUSH_SQUARE, "brush-size-mm", 12.5, "brush-3d", TRUE, NULL);
  g_assert_true (pulmo_brush_preferences_save (edit, NULL));
  g_assert_cmpstr (g_settings_get_string (settings, "brush-shape"), ==, "square");
  g_autoptr (PulmoEditState) again = pulmo_edit_state_new (state);
  pulmo_brush_preferences_load (again);
  PulmoBrush brush;
  pulmo_edit_state_get_brush (again, &brush);
  g_assert_cmpint (brush.shape, ==, PULMO_BRUSH_SQUARE);
  g_assert_cmpfloat (brush.size_mm, ==, 12.5);
  g_assert_true (brush.three_d);

  PulmoTrainingPreferences prefs = { .annotator = g_strdup ("B"), .dataset_dir = g_strdup ("/d"),
                                     .original_dir = g_strdup ("/o"), .convention = g_strdup ("binary-infection"),
                                     .anonymise = FALSE, .finetune_minutes = 90 };
  g_assert_true (pulmo_training_preferences_save (&prefs, NULL));
  pulmo_training_preferences_clear (&prefs);
  g_assert_cmpint (g_settings_get_int (settings, "fine-tune-minutes"), ==, 90);
  pulmo_training_preferences_load (&prefs);
  g_assert_cmpstr (prefs.annotator, ==, "B");
  g_assert_cmpstr (prefs.dataset_dir, ==, "/d");
  g_assert_cmpstr (prefs.original_dir, ==, "/o");
  g_assert_cmpstr (prefs.convention, ==, "binary-infection");
  g_assert_false (prefs.anonymise);
  g_assert_cmpint (prefs.finetune_minutes, ==, 90);
  pulmo_training_preferences_clear (&prefs);
}

/* The schema's label conventions are exactly train/export.h's. */
static void
test_conventions_match_export (void)
{
  g_autoptr (GSettingsSchema) schema = NULL;
  g_object_get (pulmo_preferences_get_settings (), "settings-schema", &schema, NULL);
  g_autoptr (GSettingsSchemaKey) key = g_settings_schema_get_key (schema, "export-labels");
  g_autoptr (GVariant) range = g_settings_schema_key_get_range (key);
  const char *kind;
  g_autoptr (GVariant) choices = NULL;
  g_variant_get (range, "(&sv)", &kind, &choices);
  g_assert_cmpstr (kind, ==, "enum");
  g_assert_cmpuint (g_variant_n_children (choices), ==, PULMO_EXPORT_BINARY_INFECTION + 1);
  for (int c = 0; c <= PULMO_EXPORT_BINARY_INFECTION; c++)
    {
      const char *name = NULL;
      g_variant_get_child (choices, c, "&s", &name);
      g_assert_cmpstr (name, ==, pulmo_export_convention_name (c));
    }
}

int
main (int argc, char **argv)
{
  /* A config folder of this run's own, holding the viewer.ini of an earlier
   * version before anything reads the settings. */
  g_autofree char *config = g_dir_make_tmp ("pulmo-preferences-XXXXXX", NULL);
  g_assert_nonnull (config);
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  write_ini (old_ini, -1);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/preferences/migrate-once", test_migrate_once);
  g_test_add_func ("/preferences/migrate-malformed", test_migrate_malformed);
  g_test_add_func ("/preferences/save-load", test_save_load);
  g_test_add_func ("/preferences/conventions-match-export", test_conventions_match_export);
  int status = g_test_run ();
  g_autofree char *migrated = g_build_filename (config, "pulmo", "viewer.ini.migrated", NULL);
  g_autofree char *dir = g_path_get_dirname (migrated);
  g_unlink (migrated);
  g_rmdir (dir);
  g_rmdir (config);
  return status;
}
