/* slab.h: thick slabs, the minimum, maximum or mean intensity projection of the
 * slices around the crosshair (MinIP brings out airways and ground glass, MIP
 * vessels and nodules), and the labels seen through them. GTK-free. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "core/geometry.h"
#include "core/pulmo-label-table.h"

G_BEGIN_DECLS

typedef enum {
  PULMO_SLAB_NONE,  /* the thin slice alone */
  PULMO_SLAB_MIN,   /* MinIP */
  PULMO_SLAB_MAX,   /* MIP */
  PULMO_SLAB_MEAN,  /* average */
  PULMO_N_SLAB_MODES
} PulmoSlabMode;

/* Thickest slab the views and the CLI accept, in mm. */
#define PULMO_SLAB_MAX_MM 100.0

/* The mode's name in settings and the CLI ("none", "minip", "mip", "mean"), and
 * back (FALSE for an unknown name); its short label on a view ("MinIP", "MIP",
 * "Mean"; marked N_(), translated by the caller). */
const char *pulmo_slab_mode_get_name (PulmoSlabMode mode);
gboolean pulmo_slab_mode_from_name (const char *name, PulmoSlabMode *mode);
const char *pulmo_slab_mode_get_label (PulmoSlabMode mode);

/* The slices a slab of @slab_mm around @slice covers along @reslice's slice
 * axis: round(@slab_mm / slice spacing) of them, at least one, centred on
 * @slice and cut at the volume's ends. */
void pulmo_slab_range (const PulmoReslice *reslice, int slice, double slab_mm, int *first, int *last);

/* One display row of a slab: @out[u] is the projection by @mode of the @n_slices
 * voxels start + u * u_step + s * slice_step, s = 0 … n_slices - 1. Exactly one
 * of @hu and @values is non-NULL (the volume's voxels); @extremes and @sums
 * are scratch rows of @width values. */
void pulmo_slab_project_row (const int16_t *hu, const float *values, ptrdiff_t start, ptrdiff_t u_step,
                             ptrdiff_t slice_step, int n_slices, int width, PulmoSlabMode mode, float *out,
                             int16_t *extremes, int32_t *sums);

/* Which label a slab shows where several lie along a ray: the lesions before
 * the tissue around them, consolidation (4) first, then ground glass (3),
 * infection of unknown type (7) and pleural effusion (5); then any other
 * value, the higher first (so the lungs, 1 and 2, show over background).
 * Hidden labels do not show, so they hide nothing behind them. @rank maps a
 * value to its place in that order (0: never shown), @value maps it back. */
typedef struct {
  uint8_t rank[256];
  uint8_t value[256];
  gboolean any_hidden;   /* else ranks are computed, sixteen at a time */
} PulmoSlabLabelOrder;

void pulmo_slab_label_order_init (PulmoSlabLabelOrder *order, const PulmoLabelTable *table);

/* The labels of a slab row: along each ray, the label first in @order. */
void pulmo_slab_project_labels (const uint8_t *labels, ptrdiff_t start, ptrdiff_t u_step,
                                ptrdiff_t slice_step, int n_slices, int width, const PulmoSlabLabelOrder *order,
                                uint8_t *out);

G_END_DECLS
