/* islands.h: the connected pieces (26-connected) of one label. */
#pragma once

#include "edit/edit-history.h"

G_BEGIN_DECLS

typedef enum {
  PULMO_ISLANDS_KEEP_LARGEST,
  PULMO_ISLANDS_REMOVE_SMALL,     /* those below min_mm3 */
  PULMO_ISLANDS_KEEP_SELECTED,    /* the one holding the seed */
  PULMO_ISLANDS_REMOVE_SELECTED,
} PulmoIslandsOp;

/* Applies @op to the islands of @label; removed voxels take @replacement.
 * @ct gives the voxel volume; @seed is used by the *_SELECTED operations and must
 * lie on @label. One undo step; returns the voxels changed. */
gsize pulmo_islands (PulmoEditHistory *history, PulmoVolume *ct, uint8_t label, PulmoIslandsOp op,
                     double min_mm3, const int seed[3], uint8_t replacement, const char *name);

G_END_DECLS
