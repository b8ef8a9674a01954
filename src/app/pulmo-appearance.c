#include "app/pulmo-appearance.h"

#include <adwaita.h>
#include <errno.h>
#include <glib/gstdio.h>

#include "app/pulmo-preferences.h"

#define GROUP "Appearance"
#define KEY "style"
/* A settings file is a few lines; anything much larger is not ours to load. */
#define MAX_BYTES (64 * 1024)

/* The key file's names, in PulmoAppearance's order. */
static const char *const names[] = { "system", "light", "dark" };

/* The settings file as it is, so that saving keeps the other groups; empty if
 * missing, too large or malformed. */
static GKeyFile *
load_file (const char *path)
{
  GKeyFile *file = g_key_file_new ();
  GStatBuf info;
  if (g_stat (path, &info) == 0 && info.st_size <= MAX_BYTES
      && !g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, NULL))
    {
      g_key_file_free (file);
      file = g_key_file_new ();
    }
  return file;
}

PulmoAppearance
pulmo_appearance_load (void)
{
  g_autofree char *path = pulmo_preferences_path ();
  g_autoptr (GKeyFile) file = load_file (path);
  g_autofree char *name = g_key_file_get_string (file, GROUP, KEY, NULL);
  for (size_t a = 0; a < G_N_ELEMENTS (names); a++)
    if (g_strcmp0 (name, names[a]) == 0)
      return a;
  return PULMO_APPEARANCE_SYSTEM;
}

gboolean
pulmo_appearance_save (PulmoAppearance appearance, GError **error)
{
  g_return_val_if_fail (appearance < G_N_ELEMENTS (names), FALSE);
  g_autofree char *path = pulmo_preferences_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: cannot create: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  g_autoptr (GKeyFile) file = load_file (path);
  g_key_file_set_string (file, GROUP, KEY, names[appearance]);
  return g_key_file_save_to_file (file, path, error);
}

void
pulmo_appearance_apply (PulmoAppearance appearance)
{
  static const AdwColorScheme schemes[] = {
    [PULMO_APPEARANCE_SYSTEM] = ADW_COLOR_SCHEME_DEFAULT,
    [PULMO_APPEARANCE_LIGHT] = ADW_COLOR_SCHEME_FORCE_LIGHT,
    [PULMO_APPEARANCE_DARK] = ADW_COLOR_SCHEME_FORCE_DARK,
  };
  g_return_if_fail (appearance < G_N_ELEMENTS (schemes));
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), schemes[appearance]);
}
