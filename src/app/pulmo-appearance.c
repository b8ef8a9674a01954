#include "app/pulmo-appearance.h"

#include <adwaita.h>

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
