/* pulmo-slice-view-private.h: pointer input as the view's event controllers
 * deliver it, for the window's tests to drive the view without a real mouse. */
#pragma once

#include "app/pulmo-slice-view.h"

G_BEGIN_DECLS

void _pulmo_slice_view_primary_press (PulmoSliceView *view, double x, double y);
void _pulmo_slice_view_primary_drag (PulmoSliceView *view, double x, double y);
void _pulmo_slice_view_primary_release (PulmoSliceView *view, double x, double y);
void _pulmo_slice_view_hover (PulmoSliceView *view, double x, double y);
/* Ctrl+click: the label under the point becomes the active label. */
void _pulmo_slice_view_pick_label (PulmoSliceView *view, double x, double y);
/* Enter or double-click (@apply) and Escape on the polygon being drawn. */
void _pulmo_slice_view_finish_shape (PulmoSliceView *view, gboolean apply);
/* Moves @steps slices toward the head (axial), the front (coronal) or the
 * patient's right (sagittal), as the wheel, arrows and Page Up/Down do. */
void _pulmo_slice_view_step (PulmoSliceView *view, int steps);
/* Length of the ruler on the shown slice in mm, or -1 when there is none. */
double _pulmo_slice_view_get_ruler_mm (PulmoSliceView *view);

/* The S key: the next slab mode (slice, MinIP, MIP, mean); plus and minus:
 * @steps of 5 mm thicker or thinner. */
void _pulmo_slice_view_next_slab_mode (PulmoSliceView *view);
void _pulmo_slice_view_change_slab (PulmoSliceView *view, int steps);

G_END_DECLS
