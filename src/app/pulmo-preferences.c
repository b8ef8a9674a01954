#include "app/pulmo-preferences.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "pulmo-config.h"

#define SCHEMA_ID "org.pulmo.Pulmo"
#define MIGRATED_KEY "migrated-viewer-ini"
/* A settings file is a few lines; anything much larger is not ours to load. */
#define MAX_BYTES (64 * 1024)

char *
pulmo_preferences_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "pulmo", "viewer.ini", NULL);
}

/* Where GLib looks first; then the prefix Pulmo was installed to, which
 * XDG_DATA_DIRS need not name (a prefix of one's own); then the build folder. */
static GSettings *
new_settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = source ? g_settings_schema_source_lookup (source, SCHEMA_ID, TRUE) : NULL;
  const char *dirs[] = { PULMO_SCHEMA_DIR, PULMO_BUILD_SCHEMA_DIR };
  for (size_t d = 0; schema == NULL && d < G_N_ELEMENTS (dirs); d++)
    {
      g_autoptr (GSettingsSchemaSource) own = g_settings_schema_source_new_from_directory (dirs[d], source, FALSE,
                                                                                          NULL);
      if (own != NULL)
        schema = g_settings_schema_source_lookup (own, SCHEMA_ID, FALSE);
    }
  if (schema == NULL)
    {
      g_warning ("The settings schema %s is installed neither where GLib looks nor in %s or %s: "
                 "settings are not kept; reinstall Pulmo",
                 SCHEMA_ID, dirs[0], dirs[1]);
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}

GSettings *
pulmo_preferences_get_settings (void)
{
  static GSettings *settings;
  static gboolean looked;
  if (!looked)
    {
      looked = TRUE;
      settings = new_settings ();
      if (settings != NULL)
        {
          g_autofree char *path = pulmo_preferences_path ();
          pulmo_preferences_migrate (settings, path);
        }
    }
  return settings;
}

/* The viewer.ini keys, named as the schema's. */
static const struct {
  const char *group, *key;
} ini_keys[] = {
  { "View", "smooth" },
  { "View", "label-outline" },
  { "View", "label-opacity" },
  { "Training", "annotator" },
  { "Training", "dataset-folder" },
  { "Training", "original-data-folder" },
  { "Training", "export-labels" },
  { "Training", "anonymise" },
  { "Training", "fine-tune-minutes" },
};

/* GKeyFile wrote strings escaped and every other value as GVariant text reads
 * it ("true", "0.5", "5"). */
static void
migrate_key (GSettings *settings, GSettingsSchema *schema, GKeyFile *file, const char *group, const char *name)
{
  g_autoptr (GSettingsSchemaKey) key = g_settings_schema_get_key (schema, name);
  const GVariantType *type = g_settings_schema_key_get_value_type (key);
  g_autoptr (GVariant) value = NULL;
  if (g_variant_type_equal (type, G_VARIANT_TYPE_STRING))
    {
      char *text = g_key_file_get_string (file, group, name, NULL);
      if (text != NULL)
        value = g_variant_ref_sink (g_variant_new_take_string (text));
    }
  else
    {
      g_autofree char *text = g_key_file_get_value (file, group, name, NULL);
      if (text != NULL)
        value = g_variant_parse (type, text, NULL, NULL, NULL);
    }
  if (value != NULL && g_settings_schema_key_range_check (key, value))
    g_settings_set_value (settings, name, value);
}

void
pulmo_preferences_migrate (GSettings *settings, const char *path)
{
  if (g_settings_get_boolean (settings, MIGRATED_KEY))
    return;
  g_autoptr (GKeyFile) file = g_key_file_new ();
  GStatBuf info;
  if (g_stat (path, &info) == 0 && info.st_size <= MAX_BYTES
      && g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, NULL))
    {
      g_autoptr (GSettingsSchema) schema = NULL;
      g_object_get (settings, "settings-schema", &schema, NULL);
      for (size_t k = 0; k < G_N_ELEMENTS (ini_keys); k++)
        migrate_key (settings, schema, file, ini_keys[k].group, ini_keys[k].key);
    }
  /* Renamed, not deleted: a user going back to an earlier version can rename it back. */
  g_autofree char *migrated = g_strconcat (path, ".migrated", NULL);
  if (g_rename (path, migrated) != 0 && errno != ENOENT)
    g_warning ("%s: cannot rename to %s: %s", path, migrated, g_strerror (errno));
  g_settings_set_boolean (settings, MIGRATED_KEY, TRUE);
}

/* The settings to save into, or NULL with @error saying why there are none. */
static GSettings *
writable_settings (GError **error)
{
  GSettings *settings = pulmo_preferences_get_settings ();
  if (settings == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("the settings schema %s is not installed"), SCHEMA_ID);
  return settings;
}

/* g_settings_set_* fail only on a key the administrator locked. */
static gboolean
set_or_fail (gboolean written, const char *key, GError **error)
{
  if (!written)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, _("the setting %s is locked"), key);
  return written;
}

void
pulmo_preferences_load (PulmoViewState *state)
{
  GSettings *settings = pulmo_preferences_get_settings ();
  if (settings != NULL)
    g_object_set (state, "smooth", g_settings_get_boolean (settings, "smooth"), "overlay-outline",
                  g_settings_get_boolean (settings, "label-outline"), "overlay-opacity",
                  g_settings_get_double (settings, "label-opacity"), "slab-mode",
                  g_settings_get_enum (settings, "slab-mode"), "slab-mm", g_settings_get_double (settings, "slab-mm"),
                  "cine-fps", g_settings_get_double (settings, "cine-fps"), NULL);
}

gboolean
pulmo_preferences_save (PulmoViewState *state, GError **error)
{
  GSettings *settings = writable_settings (error);
  if (settings == NULL)
    return FALSE;
  gboolean smooth, outline;
  double opacity, slab_mm, cine_fps;
  int slab_mode;
  g_object_get (state, "smooth", &smooth, "overlay-outline", &outline, "overlay-opacity", &opacity, "slab-mode",
                &slab_mode, "slab-mm", &slab_mm, "cine-fps", &cine_fps, NULL);
  return set_or_fail (g_settings_set_boolean (settings, "smooth", smooth), "smooth", error)
         && set_or_fail (g_settings_set_boolean (settings, "label-outline", outline), "label-outline", error)
         && set_or_fail (g_settings_set_double (settings, "label-opacity", opacity), "label-opacity", error)
         && set_or_fail (g_settings_set_enum (settings, "slab-mode", slab_mode), "slab-mode", error)
         && set_or_fail (g_settings_set_double (settings, "slab-mm", slab_mm), "slab-mm", error)
         && set_or_fail (g_settings_set_double (settings, "cine-fps", cine_fps), "cine-fps", error);
}

void
pulmo_brush_preferences_load (PulmoEditState *edit)
{
  GSettings *settings = pulmo_preferences_get_settings ();
  if (settings != NULL)
    g_object_set (edit, "brush-shape", (guint) g_settings_get_enum (settings, "brush-shape"), "brush-size-mm",
                  g_settings_get_double (settings, "brush-size-mm"), "brush-3d",
                  g_settings_get_boolean (settings, "brush-3d"), NULL);
}

gboolean
pulmo_brush_preferences_save (PulmoEditState *edit, GError **error)
{
  GSettings *settings = writable_settings (error);
  if (settings == NULL)
    return FALSE;
  PulmoBrush brush;
  pulmo_edit_state_get_brush (edit, &brush);
  return set_or_fail (g_settings_set_enum (settings, "brush-shape", brush.shape), "brush-shape", error)
         && set_or_fail (g_settings_set_double (settings, "brush-size-mm", brush.size_mm), "brush-size-mm", error)
         && set_or_fail (g_settings_set_boolean (settings, "brush-3d", brush.three_d), "brush-3d", error);
}

PulmoAppearance
pulmo_style_preferences_load (void)
{
  GSettings *settings = pulmo_preferences_get_settings ();
  return settings ? (PulmoAppearance) g_settings_get_enum (settings, "style") : PULMO_APPEARANCE_SYSTEM;
}

gboolean
pulmo_style_preferences_save (PulmoAppearance appearance, GError **error)
{
  GSettings *settings = writable_settings (error);
  return settings != NULL && set_or_fail (g_settings_set_enum (settings, "style", (int) appearance), "style", error);
}

void
pulmo_training_preferences_load (PulmoTrainingPreferences *prefs)
{
  GSettings *settings = pulmo_preferences_get_settings ();
  if (settings == NULL)
    {
      /* The schema's defaults. */
      *prefs = (PulmoTrainingPreferences) { .annotator = g_strdup (""), .dataset_dir = g_strdup (""),
                                            .original_dir = g_strdup (""), .convention = g_strdup ("pulmo"),
                                            .anonymise = TRUE, .finetune_minutes = 5 };
      return;
    }
  /* The schema's choices and range keep out what train/export.h would not know. */
  prefs->annotator = g_settings_get_string (settings, "annotator");
  prefs->dataset_dir = g_settings_get_string (settings, "dataset-folder");
  prefs->original_dir = g_settings_get_string (settings, "original-data-folder");
  prefs->convention = g_settings_get_string (settings, "export-labels");
  prefs->anonymise = g_settings_get_boolean (settings, "anonymise");
  prefs->finetune_minutes = g_settings_get_int (settings, "fine-tune-minutes");
}

gboolean
pulmo_training_preferences_save (const PulmoTrainingPreferences *prefs, GError **error)
{
  GSettings *settings = writable_settings (error);
  if (settings == NULL)
    return FALSE;
  return set_or_fail (g_settings_set_string (settings, "annotator", prefs->annotator), "annotator", error)
         && set_or_fail (g_settings_set_string (settings, "dataset-folder", prefs->dataset_dir), "dataset-folder",
                         error)
         && set_or_fail (g_settings_set_string (settings, "original-data-folder", prefs->original_dir),
                         "original-data-folder", error)
         && set_or_fail (g_settings_set_string (settings, "export-labels", prefs->convention), "export-labels",
                         error)
         && set_or_fail (g_settings_set_boolean (settings, "anonymise", prefs->anonymise), "anonymise", error)
         && set_or_fail (g_settings_set_int (settings, "fine-tune-minutes", prefs->finetune_minutes),
                         "fine-tune-minutes", error);
}

void
pulmo_training_preferences_clear (PulmoTrainingPreferences *prefs)
{
  g_clear_pointer (&prefs->annotator, g_free);
  g_clear_pointer (&prefs->dataset_dir, g_free);
  g_clear_pointer (&prefs->original_dir, g_free);
  g_clear_pointer (&prefs->convention, g_free);
}
