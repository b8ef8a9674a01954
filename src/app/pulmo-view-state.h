/* pulmo-view-state.h: what the three slice views and the panel share while a
 * CT is read: the volume, its label map, the crosshair voxel, the window and
 * the overlay settings. Views draw from it and write to it; nothing else links them. */
#pragma once

#include <glib-object.h>

#include "core/pulmo-label-map.h"
#include "core/pulmo-volume.h"
#include "render/slice-render.h"

G_BEGIN_DECLS

#define PULMO_TYPE_VIEW_STATE (pulmo_view_state_get_type ())
G_DECLARE_FINAL_TYPE (PulmoViewState, pulmo_view_state, PULMO, VIEW_STATE, GObject)

typedef enum {
  PULMO_TOOL_CROSSHAIR,  /* click and drag move the crosshair */
  PULMO_TOOL_RULER,      /* click and drag draw a ruler */
  PULMO_TOOL_BRUSH,      /* drag paints the active label */
  PULMO_TOOL_ERASER,     /* drag paints background */
  PULMO_TOOL_FILL,       /* click flood-fills within the HU range */
  PULMO_TOOL_POLYGON,    /* clicks place vertices; double-click or Enter fills, Escape cancels */
  PULMO_TOOL_LASSO,      /* drag outlines freehand; release fills */
  PULMO_N_TOOLS
} PulmoTool;

/* The tool's name in actions and settings ("crosshair", "brush", …), and back;
 * FALSE for an unknown name. */
const char *pulmo_tool_get_name (PulmoTool tool);
gboolean pulmo_tool_from_name (const char *name, PulmoTool *tool);

PulmoViewState *pulmo_view_state_new (void);

/* Replaces the volume (NULL to close it): drops the label map, centres the
 * crosshair and applies the volume's default window. */
void pulmo_view_state_set_volume (PulmoViewState *state, PulmoVolume *volume, const char *display_name);
PulmoVolume *pulmo_view_state_get_volume (PulmoViewState *state);
/* The file or folder name the user opened (a DICOM folder shows as itself). */
const char *pulmo_view_state_get_display_name (PulmoViewState *state);
/* That name without its folder or extension: "P001" for "/scans/P001.nii.gz"
 * (pulmo_display_base_name of it). */
char *pulmo_view_state_dup_base_name (PulmoViewState *state);
char *pulmo_display_base_name (const char *display_name);

/* @labels must lie on the current volume's grid. Their edits emit
 * "labels-changed" (gpointer PulmoBox of the voxels changed), not "display-changed",
 * so that a view redraws only when its slice holds a change. */
void pulmo_view_state_set_labels (PulmoViewState *state, PulmoLabelMap *labels);
PulmoLabelMap *pulmo_view_state_get_labels (PulmoViewState *state);
/* Call after changing the label table's colours or visibility, to redraw. */
void pulmo_view_state_overlay_changed (PulmoViewState *state);

/* The crosshair in voxel indices; clamped into the volume. */
void pulmo_view_state_set_cursor (PulmoViewState *state, const int ijk[3]);
void pulmo_view_state_get_cursor (PulmoViewState *state, int ijk[3]);

void pulmo_view_state_set_window (PulmoViewState *state, double window, double level);
double pulmo_view_state_get_window (PulmoViewState *state);
double pulmo_view_state_get_level (PulmoViewState *state);

/* The parameters the renderer needs for what the state shows now. */
void pulmo_view_state_get_render_params (PulmoViewState *state, PulmoRenderParams *params);

/* Whether views scale the grey image smoothly (bilinear) instead of showing
 * voxel blocks; labels stay sharp either way. */
gboolean pulmo_view_state_get_smooth (PulmoViewState *state);

/* Properties "slab-mode" (a PulmoSlabMode) and "slab-mm" (thickness, 1 to
 * PULMO_SLAB_MAX_MM): what every view projects around the crosshair. */
PulmoSlabMode pulmo_view_state_get_slab_mode (PulmoViewState *state);
double pulmo_view_state_get_slab_mm (PulmoViewState *state);
/* Property "cine-fps": slices a second while a view plays through its slices. */
double pulmo_view_state_get_cine_fps (PulmoViewState *state);

/* Property "tool"; the tools' options that are not the brush's or the mask's
 * are properties too: "fill-3d" (flood fill across slices) and
 * "erase-only-active" (the eraser clears only the active label). */
PulmoTool pulmo_view_state_get_tool (PulmoViewState *state);
void pulmo_view_state_set_tool (PulmoViewState *state, PulmoTool tool);
gboolean pulmo_view_state_get_fill_3d (PulmoViewState *state);
gboolean pulmo_view_state_get_erase_only_active (PulmoViewState *state);

/* What a status line says of voxel @ijk: its value (HU or not), indices,
 * world position and label; NULL without a volume. */
char *pulmo_view_state_describe_voxel (PulmoViewState *state, const int ijk[3]);

/* Where the pointer is, for the status line: a voxel, or NULL when outside. */
void pulmo_view_state_hover (PulmoViewState *state, const int *ijk);

G_END_DECLS
