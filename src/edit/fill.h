/* fill.h: flood fill within an HU range, and polygon (or lasso) fill on a slice. */
#pragma once

#include "core/geometry.h"
#include "edit/edit-history.h"
#include "edit/painter.h"

G_BEGIN_DECLS

/* Paints the voxels connected to @seed (face neighbours) whose CT value lies in
 * @hu_min…@hu_max and that the painter allows: in 3D when @plane is NULL, else
 * only on the slice of @plane's view that holds @seed. One undo step named
 * @name; returns the voxels changed. Works in bounded memory for any volume. */
gsize pulmo_flood_fill (PulmoEditHistory *history, PulmoVolume *ct, const PulmoPainter *painter,
                        const int seed[3], double hu_min, double hu_max, const PulmoReslice *plane,
                        const char *name);

/* Paints, on @slice of @reslice's view, the voxels whose centres lie inside the
 * closed polygon of @n_points display points @uv (u0, v0, u1, v1, …; even-odd
 * rule), and those its edges pass through. A lasso is the same with many points. */
gsize pulmo_polygon_fill (PulmoEditHistory *history, const PulmoPainter *painter,
                          const PulmoReslice *reslice, int slice, const double *uv, int n_points,
                          const char *name);

G_END_DECLS
