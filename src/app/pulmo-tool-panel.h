/* pulmo-tool-panel.h: the side panel's editing tools: brush, masks, fills,
 * islands, fill between slices, smoothing, grow and shrink. */
#pragma once

#include <gtk/gtk.h>

#include "app/pulmo-edit-state.h"

G_BEGIN_DECLS

#define PULMO_TYPE_TOOL_PANEL (pulmo_tool_panel_get_type ())
G_DECLARE_FINAL_TYPE (PulmoToolPanel, pulmo_tool_panel, PULMO, TOOL_PANEL, GtkWidget)

GtkWidget *pulmo_tool_panel_new (PulmoEditState *edit);

G_END_DECLS
