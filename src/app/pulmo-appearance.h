/* pulmo-appearance.h: whether Pulmo follows the system's light or dark style
 * or keeps one, applied through AdwStyleManager. The choice is the "style"
 * key of Pulmo's GSettings. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PULMO_APPEARANCE_SYSTEM,
  PULMO_APPEARANCE_LIGHT,
  PULMO_APPEARANCE_DARK,
} PulmoAppearance;

/* The saved choice; PULMO_APPEARANCE_SYSTEM when none or a malformed one is saved. */
PulmoAppearance pulmo_appearance_load (void);
gboolean pulmo_appearance_save (PulmoAppearance appearance, GError **error);
/* Sets the application's colour scheme (libadwaita must be initialised). */
void pulmo_appearance_apply (PulmoAppearance appearance);

G_END_DECLS
