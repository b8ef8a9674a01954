#include "app/pulmo-preferences.h"

#include <errno.h>
#include <glib/gstdio.h>

#define GROUP "View"
/* A settings file is a few lines; anything much larger is not ours to load. */
#define MAX_BYTES (64 * 1024)

char *
pulmo_preferences_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "pulmo", "viewer.ini", NULL);
}

void
pulmo_preferences_load (PulmoViewState *state)
{
  g_autofree char *path = pulmo_preferences_path ();
  GStatBuf info;
  if (g_stat (path, &info) != 0 || info.st_size > MAX_BYTES)
    return;
  g_autoptr (GKeyFile) file = g_key_file_new ();
  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, NULL))
    return;

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
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_key_file_set_boolean (file, GROUP, "smooth", smooth);
  g_key_file_set_boolean (file, GROUP, "label-outline", outline);
  g_key_file_set_double (file, GROUP, "label-opacity", opacity);

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
