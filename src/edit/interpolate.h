/* interpolate.h: fill between slices. An annotator outlines a label on a few
 * slices of a view; the slices between take the shape that blends the two
 * nearest outlined ones (shape-based: linear blend of signed distance maps). */
#pragma once

#include "core/geometry.h"
#include "edit/edit-history.h"
#include "edit/painter.h"

G_BEGIN_DECLS

/* For the painter's value, along @reslice's slice axis: every slice without that
 * value that lies between two slices with it is filled where the blend of their
 * signed distances (in mm, in the plane) is inside; the painter's mask applies.
 * One undo step; returns the voxels changed. */
gsize pulmo_interpolate_slices (PulmoEditHistory *history, const PulmoPainter *painter,
                                const PulmoReslice *reslice, const char *name);

G_END_DECLS
