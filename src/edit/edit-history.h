/* edit-history.h: undo and redo of every label edit. A step keeps, for the box
 * its edit changed, the XOR of the labels before and after, deflated: a brush
 * stroke costs bytes rather than megabytes, and undo and redo apply the same delta. */
#pragma once

#include "core/pulmo-label-map.h"

G_BEGIN_DECLS

typedef struct _PulmoEditHistory PulmoEditHistory;

/* Keeps at most @budget_bytes of steps (0: 256 MiB), dropping the oldest first.
 * Holds a reference to @map. */
PulmoEditHistory *pulmo_edit_history_new (PulmoLabelMap *map, gsize budget_bytes);
void pulmo_edit_history_free (PulmoEditHistory *history);
PulmoLabelMap *pulmo_edit_history_get_map (PulmoEditHistory *history);

/* An edit: begin, touch every box before writing into it, write, then end.
 * Touching only copies what the edit's boxes did not yet cover. A recorded
 * step clears redo; an edit that changed nothing leaves it. */
void pulmo_edit_history_begin (PulmoEditHistory *history, const char *name);
void pulmo_edit_history_touch (PulmoEditHistory *history, const PulmoBox *box);
/* Closes the edit. Records a step only if a voxel changed, and returns TRUE then. */
gboolean pulmo_edit_history_end (PulmoEditHistory *history);
gboolean pulmo_edit_history_in_edit (PulmoEditHistory *history);

gboolean pulmo_edit_history_can_undo (PulmoEditHistory *history);
gboolean pulmo_edit_history_can_redo (PulmoEditHistory *history);
/* The name given to begin for the step undo (redo) would apply; NULL if none. */
const char *pulmo_edit_history_get_undo_name (PulmoEditHistory *history);
const char *pulmo_edit_history_get_redo_name (PulmoEditHistory *history);
/* Apply a step and emit the map's change for its box; FALSE when there is none. */
gboolean pulmo_edit_history_undo (PulmoEditHistory *history);
gboolean pulmo_edit_history_redo (PulmoEditHistory *history);

/* Bytes held by all steps (deltas and bookkeeping), and how many steps. */
gsize pulmo_edit_history_get_bytes (PulmoEditHistory *history);
guint pulmo_edit_history_get_n_steps (PulmoEditHistory *history);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoEditHistory, pulmo_edit_history_free)

G_END_DECLS
