/* pulmo-3d-view.h: the labels in 3D — lungs as translucent glass, each lesion
 * class as a shaded surface in its label colour — turned by dragging, zoomed by
 * scrolling; a click on a lesion moves the crosshair (and so the slice views)
 * there. Shares a PulmoViewState with the slice views and follows its edits,
 * segmentation and label visibility. */
#pragma once

#include <gtk/gtk.h>

#include "app/pulmo-view-state.h"
#include "render/volume-render.h"

G_BEGIN_DECLS

#define PULMO_TYPE_3D_VIEW (pulmo_3d_view_get_type ())
G_DECLARE_FINAL_TYPE (Pulmo3dView, pulmo_3d_view, PULMO, 3D_VIEW, GtkWidget)

void pulmo_3d_view_set_state (Pulmo3dView *view, PulmoViewState *state);
/* Front view, whole volume in sight. */
void pulmo_3d_view_reset (Pulmo3dView *view);
/* The camera as drawn last (its size is the widget's). */
const PulmoCamera3D *pulmo_3d_view_get_camera (Pulmo3dView *view);
void pulmo_3d_view_set_rotation (Pulmo3dView *view, double yaw_deg, double pitch_deg);
/* TRUE once the view's grids hold the current labels (they are built in a worker). */
gboolean pulmo_3d_view_is_ready (Pulmo3dView *view);
/* What a click at widget point (@x, @y) does: moves the crosshair to the voxel
 * picked there; FALSE when nothing is under it. */
gboolean pulmo_3d_view_click (Pulmo3dView *view, double x, double y);

G_END_DECLS
