/* pulmo-appearance.h: whether Pulmo follows the system's light or dark style
 * or keeps one, applied through AdwStyleManager. The choice is kept with the
 * other settings (pulmo_style_preferences_load in pulmo-preferences.h). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PULMO_APPEARANCE_SYSTEM,
  PULMO_APPEARANCE_LIGHT,
  PULMO_APPEARANCE_DARK,
} PulmoAppearance;

/* Sets the application's colour scheme (libadwaita must be initialised). */
void pulmo_appearance_apply (PulmoAppearance appearance);

G_END_DECLS
