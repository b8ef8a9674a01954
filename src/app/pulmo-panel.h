/* pulmo-panel.h: the side panel: the file and its geometry, window and level,
 * and the label overlay with its palette: the labels with their volumes, the
 * active one, and adding, renaming, recolouring, hiding and deleting labels. */
#pragma once

#include <gtk/gtk.h>

#include "app/pulmo-edit-state.h"
#include "app/pulmo-view-state.h"

G_BEGIN_DECLS

#define PULMO_TYPE_PANEL (pulmo_panel_get_type ())
G_DECLARE_FINAL_TYPE (PulmoPanel, pulmo_panel, PULMO, PANEL, GtkBox)

void pulmo_panel_set_state (PulmoPanel *panel, PulmoViewState *state);
/* The palette's active label is @edit's; deleting a label is an undo step in its
 * history. Without one (while a segmentation writes the labels) it deletes nothing. */
void pulmo_panel_set_edit_state (PulmoPanel *panel, PulmoEditState *edit);

G_END_DECLS
