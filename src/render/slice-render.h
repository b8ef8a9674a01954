/* slice-render.h: one slice of a volume, with an optional label overlay, as a
 * cairo ARGB32 image at voxel resolution. GTK-free, so tests and benchmarks
 * render exactly what the viewer shows.
 *
 * Display pixel (u, v) of the image shows the voxel that pulmo_reslice_to_voxel
 * gives for (u, v, slice): the image is already in radiological orientation. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "core/geometry.h"
#include "core/pulmo-label-table.h"
#include "core/pulmo-volume.h"
#include "render/slab.h"

G_BEGIN_DECLS

typedef enum {
  PULMO_OVERLAY_FILL,     /* every labelled voxel tinted with its label's colour */
  PULMO_OVERLAY_OUTLINE,  /* only the label's boundary voxels, fully coloured */
} PulmoOverlayMode;

typedef struct {
  double window, level;          /* grey ramp from level - window/2 (black) to level + window/2 (white) */
  const uint8_t *labels;         /* on the volume's grid, storage order; NULL for no overlay */
  const PulmoLabelTable *table;  /* colours and visibility of @labels; required with @labels */
  double opacity;                /* 0..1, scales every label colour's own alpha */
  PulmoOverlayMode overlay_mode;
  /* Render the overlay alone, on transparent pixels (premultiplied ARGB), to lay
   * sharp over a grey image that the view scales smoothly. */
  gboolean overlay_alone;
  /* A thick slab of @slab_mm around the slice (pulmo_slab_range) instead of the
   * slice alone, unless PULMO_SLAB_NONE; the labels are projected through it too. */
  PulmoSlabMode slab_mode;
  double slab_mm;
} PulmoRenderParams;

/* Keeps the grey lookup table between frames: it is rebuilt only when the
 * window or level changes, so scrolling costs one pass over the slice. */
typedef struct _PulmoSliceRenderer PulmoSliceRenderer;

PulmoSliceRenderer *pulmo_slice_renderer_new (void);
void pulmo_slice_renderer_free (PulmoSliceRenderer *renderer);

/* Writes reslice->width × reslice->height pixels (0xAARRGGBB, premultiplied;
 * opaque unless @params->overlay_alone) into @pixels, rows @stride_bytes apart.
 * @slice must lie in 0..n_slices-1; it is the centre of the slab if there is one. */
void pulmo_slice_renderer_render (PulmoSliceRenderer *renderer, const PulmoVolume *volume,
                                  const PulmoReslice *reslice, int slice,
                                  const PulmoRenderParams *params, uint32_t *pixels,
                                  int stride_bytes);

/* The grey value (0..255) the renderer gives @value under @window/@level. */
uint8_t pulmo_window_grey (double value, double window, double level);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoSliceRenderer, pulmo_slice_renderer_free)

G_END_DECLS
