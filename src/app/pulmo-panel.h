/* pulmo-panel.h: the side panel: the file and its geometry, window and level,
 * and the label overlay with its legend. */
#pragma once

#include <gtk/gtk.h>

#include "app/pulmo-view-state.h"

G_BEGIN_DECLS

#define PULMO_TYPE_PANEL (pulmo_panel_get_type ())
G_DECLARE_FINAL_TYPE (PulmoPanel, pulmo_panel, PULMO, PANEL, GtkBox)

void pulmo_panel_set_state (PulmoPanel *panel, PulmoViewState *state);

G_END_DECLS
