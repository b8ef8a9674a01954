/* morphology.h: smoothing, growing and shrinking one label by a distance in mm,
 * exact for anisotropic voxels (Euclidean distance maps, not voxel steps). */
#pragma once

#include "edit/edit-history.h"
#include "edit/painter.h"

G_BEGIN_DECLS

typedef enum {
  PULMO_MORPH_OPEN,    /* removes spurs and bridges thinner than the radius */
  PULMO_MORPH_CLOSE,   /* fills gaps and notches narrower than the radius */
  PULMO_MORPH_MEDIAN,  /* majority in a ball of the radius */
  PULMO_MORPH_GROW,    /* adds every voxel within the radius of the label */
  PULMO_MORPH_SHRINK,  /* removes every voxel within the radius of its outside */
} PulmoMorphOp;

/* Applies @op to the painter's value with @radius_mm. Voxels gained go through
 * the painter (its mask applies); voxels lost take @replacement. One undo step;
 * returns the voxels changed. */
gsize pulmo_morphology (PulmoEditHistory *history, PulmoVolume *ct, const PulmoPainter *painter,
                        PulmoMorphOp op, double radius_mm, uint8_t replacement, const char *name);

G_END_DECLS
