/* distance-map.h: the exact Euclidean distance transform of a binary grid with
 * anisotropic spacing (Felzenszwalb & Huttenlocher, "Distance transforms of
 * sampled functions", 2012), in mm². The report's lung depths and the edit
 * tools' margins, smoothing and fill between slices all measure with it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What lies beyond the grid's faces. */
typedef enum {
  PULMO_DISTANCE_EDGE_FEATURE,   /* feature voxels: distances reach at most to the edge */
  PULMO_DISTANCE_EDGE_NONE,      /* nothing: only the grid's own feature voxels count */
} PulmoDistanceEdge;

/* The squared distance of a voxel that no feature voxel can reach (EDGE_NONE
 * on a grid without any): larger than any real one, and finite so that the
 * transform's arithmetic stays exact for the others. */
#define PULMO_DISTANCE_FAR 1e30f

/* @dist holds a grid of @size voxels, the first axis fastest. On entry a zero
 * marks a feature voxel and any other value a voxel to measure; on return each
 * holds its squared distance in mm² to the centre of the nearest feature voxel
 * (0 for the features themselves), or PULMO_DISTANCE_FAR when there is none.
 * @spacing_mm gives each axis' voxel spacing; an axis of size 1 makes it a
 * per-slice (2D) transform. Runs on all cores; memory beyond @dist is a few
 * lines per core. */
void pulmo_distance_map_squared (float *dist, const int size[3], const double spacing_mm[3],
                                 PulmoDistanceEdge edge);

G_END_DECLS
