#include "app/pulmo-preferences.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "train/export.h"

#define GROUP "View"
#define TRAINING "Training"
#define MAX_FINETUNE_MINUTES (24 * 60)
/* A settings file is a few lines; anything much larger is not ours to load. */
#define MAX_BYTES (64 * 1024)

char *
pulmo_preferences_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "pulmo", "viewer.ini", NULL);
}

/* The settings file as it is now, so that saving one group keeps the other;
 * empty if missing, too large or malformed. */
static GKeyFile *
load_file (void)
{
  GKeyFile *file = g_key_file_new ();
  g_autofree char *path = pulmo_preferences_path ();
  GStatBuf info;
  if (g_stat (path, &info) == 0 && info.st_size <= MAX_BYTES
      && !g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, NULL))
    {
      g_key_file_free (file);
      file = g_key_file_new ();
    }
  return file;
}

static gboolean
save_file (GKeyFile *file, GError **error)
{
  g_autofree char *path = pulmo_preferences_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: cannot create: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  /* g_key_file_save_to_file writes a temporary file and renames it. */
  return g_key_file_save_to_file (file, path, error);
}

void
pulmo_preferences_load (PulmoViewState *state)
{
  g_autoptr (GKeyFile) file = load_file ();
  g_autoptr (GError) error = NULL;
  gboolean smooth = g_key_file_get_boolean (file, GROUP, "smooth", &error);
  if (error == NULL)
    g_object_set (state, "smooth", smooth, NULL);
  g_clear_error (&error);
  gboolean outline = g_key_file_get_boolean (file, GROUP, "label-outline", &error);
  if (error == NULL)
    g_object_set (state, "overlay-outline", outline, NULL);
  g_clear_error (&error);
  double opacity = g_key_file_get_double (file, GROUP, "label-opacity", &error);
  if (error == NULL && opacity >= 0.0 && opacity <= 1.0)
    g_object_set (state, "overlay-opacity", opacity, NULL);
}

gboolean
pulmo_preferences_save (PulmoViewState *state, GError **error)
{
  gboolean smooth, outline;
  double opacity;
  g_object_get (state, "smooth", &smooth, "overlay-outline", &outline, "overlay-opacity", &opacity, NULL);
  g_autoptr (GKeyFile) file = load_file ();
  g_key_file_set_boolean (file, GROUP, "smooth", smooth);
  g_key_file_set_boolean (file, GROUP, "label-outline", outline);
  g_key_file_set_double (file, GROUP, "label-opacity", opacity);
  return save_file (file, error);
}

static char *
get_string (GKeyFile *file, const char *key, const char *fallback)
{
  char *value = g_key_file_get_string (file, TRAINING, key, NULL);
  return value != NULL ? value : g_strdup (fallback);
}

void
pulmo_training_preferences_load (PulmoTrainingPreferences *prefs)
{
  g_autoptr (GKeyFile) file = load_file ();
  prefs->annotator = get_string (file, "annotator", "");
  prefs->dataset_dir = get_string (file, "dataset-folder", "");
  prefs->original_dir = get_string (file, "original-data-folder", "");
  prefs->convention = get_string (file, "export-labels", "pulmo");
  PulmoExportConvention convention;
  if (!pulmo_export_convention_from_name (prefs->convention, &convention))
    {
      g_free (prefs->convention);
      prefs->convention = g_strdup ("pulmo");
    }
  g_autoptr (GError) error = NULL;
  prefs->anonymise = g_key_file_get_boolean (file, TRAINING, "anonymise", &error);
  if (error != NULL)
    prefs->anonymise = TRUE;
  g_clear_error (&error);
  prefs->finetune_minutes = g_key_file_get_integer (file, TRAINING, "fine-tune-minutes", &error);
  if (error != NULL || prefs->finetune_minutes < 1 || prefs->finetune_minutes > MAX_FINETUNE_MINUTES)
    prefs->finetune_minutes = 5;
}

gboolean
pulmo_training_preferences_save (const PulmoTrainingPreferences *prefs, GError **error)
{
  g_autoptr (GKeyFile) file = load_file ();
  g_key_file_set_string (file, TRAINING, "annotator", prefs->annotator);
  g_key_file_set_string (file, TRAINING, "dataset-folder", prefs->dataset_dir);
  g_key_file_set_string (file, TRAINING, "original-data-folder", prefs->original_dir);
  g_key_file_set_string (file, TRAINING, "export-labels", prefs->convention);
  g_key_file_set_boolean (file, TRAINING, "anonymise", prefs->anonymise);
  g_key_file_set_integer (file, TRAINING, "fine-tune-minutes", prefs->finetune_minutes);
  return save_file (file, error);
}

void
pulmo_training_preferences_clear (PulmoTrainingPreferences *prefs)
{
  g_clear_pointer (&prefs->annotator, g_free);
  g_clear_pointer (&prefs->dataset_dir, g_free);
  g_clear_pointer (&prefs->original_dir, g_free);
  g_clear_pointer (&prefs->convention, g_free);
}
