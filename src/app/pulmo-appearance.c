#include "app/pulmo-appearance.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "app/pulmo-preferences.h"

PulmoAppearance
pulmo_appearance_load (void)
{
  GSettings *settings = pulmo_preferences_get_settings ();
  return settings ? (PulmoAppearance) g_settings_get_enum (settings, "style") : PULMO_APPEARANCE_SYSTEM;
}

gboolean
pulmo_appearance_save (PulmoAppearance appearance, GError **error)
{
  g_return_val_if_fail (appearance <= PULMO_APPEARANCE_DARK, FALSE);
  GSettings *settings = pulmo_preferences_get_settings ();
  if (settings == NULL || !g_settings_set_enum (settings, "style", (int) appearance))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           _("The style could not be saved: Pulmo's settings are not available"));
      return FALSE;
    }
  return TRUE;
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
