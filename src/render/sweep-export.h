/* sweep-export.h: a view's slices, one frame each, rendered with their overlay
 * and slab and written through the sweep writer at the voxels' true shape.
 * What `pulmo export-sweep` does; the viewer draws its own frames (with the
 * view's text) and feeds the same writer. GTK-free. */
#pragma once

#include "core/pulmo-volume.h"
#include "render/slice-render.h"
#include "render/sweep-writer.h"

G_BEGIN_DECLS

typedef struct {
  PulmoViewAxis view;
  PulmoRenderParams render;  /* window, labels, overlay and slab of every frame */
  int first, last;           /* slices, inclusive; -1 for the first or last of the view */
  double pixels_per_mm;      /* frame scale; 0: one pixel per voxel across */
  double fps;
  PulmoSweepFormat format;
} PulmoSweepOptions;

/* The frame size a sweep of @options has on @ct. */
void pulmo_sweep_frame_size (PulmoVolume *ct, const PulmoSweepOptions *options, int *width, int *height);
gboolean pulmo_sweep_export (PulmoVolume *ct, const PulmoSweepOptions *options, const char *path,
                             GError **error);

G_END_DECLS
