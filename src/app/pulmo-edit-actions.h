/* pulmo-edit-actions.h: the window's editing-tool actions (tool choice, brush
 * size, HU mask toggle, paint-over, islands, fill between slices, morphology). */
#pragma once

#include <gtk/gtk.h>

#include "app/pulmo-edit-state.h"

G_BEGIN_DECLS

/* Adds the actions to @map (the window) and their shortcuts to @app. */
void pulmo_edit_actions_install (GActionMap *map, GtkApplication *app, PulmoEditState *edit);

G_END_DECLS
