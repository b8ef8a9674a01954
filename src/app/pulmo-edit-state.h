/* pulmo-edit-state.h: what the editing tools share while a CT's labels are
 * corrected: the active label, the brush, the painter's mask, the fill's HU
 * range, and the undo history of the labels shown. One per window, beside its
 * PulmoViewState; the views, the tool panel and the label palette read and write it. */
#pragma once

#include <glib-object.h>

#include "app/pulmo-view-state.h"
#include "edit/brush.h"
#include "edit/edit-history.h"
#include "edit/painter.h"

G_BEGIN_DECLS

#define PULMO_TYPE_EDIT_STATE (pulmo_edit_state_get_type ())
G_DECLARE_FINAL_TYPE (PulmoEditState, pulmo_edit_state, PULMO, EDIT_STATE, GObject)

/* Follows @view_state's labels: a new label map gets a new, empty history. */
PulmoEditState *pulmo_edit_state_new (PulmoViewState *view_state);
PulmoViewState *pulmo_edit_state_get_view_state (PulmoEditState *state);

/* The undo history of the labels shown; NULL without labels. Every edit of
 * those labels goes through it (property "history" notifies on a new map;
 * signal "edited" is emitted after every recorded step, undo and redo). */
PulmoEditHistory *pulmo_edit_state_get_history (PulmoEditState *state);
void pulmo_edit_state_edited (PulmoEditState *state);

/* Property "active-label" (uint8 value painted; default 1, right lung). */
uint8_t pulmo_edit_state_get_active_label (PulmoEditState *state);
void pulmo_edit_state_set_active_label (PulmoEditState *state, uint8_t value);

/* Properties "brush-shape", "brush-size-mm", "brush-3d". */
void pulmo_edit_state_get_brush (PulmoEditState *state, PulmoBrush *brush);
/* Properties "paint-over", "hu-enabled", "hu-min", "hu-max". */
void pulmo_edit_state_get_mask (PulmoEditState *state, PulmoPaintMask *mask);

/* A painter of @value (0 for the eraser) for the labels shown under the current
 * mask; FALSE without labels. */
gboolean pulmo_edit_state_make_painter (PulmoEditState *state, uint8_t value, PulmoPainter *painter);

G_END_DECLS
