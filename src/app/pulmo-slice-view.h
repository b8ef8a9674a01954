/* pulmo-slice-view.h: one slice of the CT (axial, coronal or sagittal) with its
 * overlay, crosshair, orientation letters, slice position and ruler, and the
 * editing tools on it. Reads and writes a PulmoViewState that it shares with
 * the other views, and edits the labels through a PulmoEditState. */
#pragma once

#include <gtk/gtk.h>

#include "app/pulmo-edit-state.h"
#include "app/pulmo-view-state.h"
#include "render/sweep-writer.h"

G_BEGIN_DECLS

#define PULMO_TYPE_SLICE_VIEW (pulmo_slice_view_get_type ())
G_DECLARE_FINAL_TYPE (PulmoSliceView, pulmo_slice_view, PULMO, SLICE_VIEW, GtkWidget)

PulmoViewAxis pulmo_slice_view_get_axis (PulmoSliceView *view);
void pulmo_slice_view_set_state (PulmoSliceView *view, PulmoViewState *state);
/* The brush, fill, polygon and lasso paint through @edit (on @state's labels);
 * without one they act as the crosshair. */
void pulmo_slice_view_set_edit_state (PulmoSliceView *view, PulmoEditState *edit);
PulmoEditState *pulmo_slice_view_get_edit_state (PulmoSliceView *view);
/* The slice shown: the crosshair's voxel index along this view's slice axis; -1 without a volume. */
int pulmo_slice_view_get_slice (PulmoSliceView *view);
/* Zoom to fit, centred. */
void pulmo_slice_view_reset (PulmoSliceView *view);
/* The patient directions written at the left, right, top and bottom edges. */
void pulmo_slice_view_get_edge_letters (PulmoSliceView *view, const char *edges[4]);

/* The slice as rendered now, at voxel resolution, overlay included unless the
 * display is smooth; NULL without a volume. */
cairo_surface_t *pulmo_slice_view_get_image (PulmoSliceView *view);
/* With smooth display, the labels alone (premultiplied ARGB) that are drawn
 * sharp over the smoothly scaled image; NULL otherwise. */
cairo_surface_t *pulmo_slice_view_get_overlay_image (PulmoSliceView *view);
/* Widget coordinates of a voxel's centre, and the voxel under a widget point. */
void pulmo_slice_view_voxel_to_widget (PulmoSliceView *view, const int ijk[3], double *x, double *y);
gboolean pulmo_slice_view_widget_to_voxel (PulmoSliceView *view, double x, double y, int ijk[3]);
/* Draws the view as on screen (image, overlay, crosshair, text) into a PNG of @width × @height. */
gboolean pulmo_slice_view_export_png (PulmoSliceView *view, const char *path, int width, int height,
                                      GError **error);

/* Every slice of the view, drawn as on screen at @width × @height (the
 * crosshair stays), as an APNG at the state's cine speed or a numbered PNG
 * series; frames are drawn in the main loop and written by a worker. Opening
 * another CT meanwhile stops it with PULMO_ERROR_CANCELLED. */
void pulmo_slice_view_export_sweep_async (PulmoSliceView *view, const char *path, PulmoSweepFormat format,
                                          int width, int height, GAsyncReadyCallback callback, gpointer user_data);
gboolean pulmo_slice_view_export_sweep_finish (PulmoSliceView *view, GAsyncResult *result, GError **error);
/* Cine: the view steps through its slices at the state's "cine-fps", looping
 * at the end, until stopped or the CT changes. */
gboolean pulmo_slice_view_get_playing (PulmoSliceView *view);
void pulmo_slice_view_set_playing (PulmoSliceView *view, gboolean playing);

G_END_DECLS
