/* pulmo-preferences.h: the view settings a reader expects Pulmo to keep from
 * one run to the next (smooth display, label opacity, filled or outlined
 * labels), in $XDG_CONFIG_HOME/pulmo/viewer.ini. */
#pragma once

#include "app/pulmo-view-state.h"

G_BEGIN_DECLS

/* The file the settings live in. */
char *pulmo_preferences_path (void);
/* Applies the saved settings to @state; a missing, unreadable or malformed
 * file, or a value out of range, leaves the defaults in place. */
void pulmo_preferences_load (PulmoViewState *state);
gboolean pulmo_preferences_save (PulmoViewState *state, GError **error);

G_END_DECLS
