/* recovery-child.h: the edits recovery-child makes, which test-recovery replays. */
#pragma once

#include "core/pulmo-label-map.h"

/* Edit @k (from 1): a 24×24×6 box of label 1 + k % 4 that moves with k. */
static inline void
recovery_child_edit (PulmoLabelMap *map, guint k)
{
  int dims[3];
  pulmo_volume_get_dims (pulmo_label_map_get_volume (map), dims);
  PulmoBox box;
  const int size[3] = { 24, 24, 6 };
  const guint step[3] = { 37, 53, 7 };
  for (int a = 0; a < 3; a++)
    {
      box.lo[a] = (int) ((k * step[a]) % (guint) (dims[a] - size[a]));
      box.hi[a] = box.lo[a] + size[a] - 1;
    }
  uint8_t *labels = pulmo_label_map_get_data_mutable (map);
  for (int z = box.lo[2]; z <= box.hi[2]; z++)
    for (int y = box.lo[1]; y <= box.hi[1]; y++)
      for (int x = box.lo[0]; x <= box.hi[0]; x++)
        labels[((gsize) z * dims[1] + y) * dims[0] + x] = (uint8_t) (1 + k % 4);
  pulmo_label_map_changed (map, &box);
}
