/* pulmo-label-map.h: uint8 labels on exactly a CT's grid. Mutated on the main
 * thread only; every change bumps the revision and records its dirty box. */
#pragma once

#include <glib-object.h>

#include "core/pulmo-label-table.h"
#include "core/pulmo-volume.h"

G_BEGIN_DECLS

#define PULMO_TYPE_LABEL_MAP (pulmo_label_map_get_type ())
G_DECLARE_FINAL_TYPE (PulmoLabelMap, pulmo_label_map, PULMO, LABEL_MAP, GObject)

/* Inclusive voxel box: lo[a] <= index <= hi[a] on each axis. */
typedef struct {
  int lo[3], hi[3];
} PulmoBox;

PulmoLabelMap *pulmo_label_map_new (PulmoVolume *ct);
/* Reads a label file of any integer or float datatype; it must lie on @ct's grid
 * and hold integer values 0..255. Unknown values get "Label N" entries. */
PulmoLabelMap *pulmo_label_map_load (PulmoVolume *ct, const char *path, PulmoProgress *progress,
                                     GCancellable *cancellable, GError **error);
/* Writes uint8 NIfTI with the CT's qform and sform, atomically. */
gboolean pulmo_label_map_save (PulmoLabelMap *map, const char *path, GError **error);

PulmoVolume *pulmo_label_map_get_volume (PulmoLabelMap *map);
PulmoLabelTable *pulmo_label_map_get_table (PulmoLabelMap *map);
/* Replaces the table by a copy of @table (values present in the map that it
 * does not describe get "Label N"), then emits "table-changed". */
void pulmo_label_map_set_table (PulmoLabelMap *map, const PulmoLabelTable *table);
const uint8_t *pulmo_label_map_get_data (PulmoLabelMap *map);
/* For writers: change the voxels, then call pulmo_label_map_changed with the box. */
uint8_t *pulmo_label_map_get_data_mutable (PulmoLabelMap *map);
void pulmo_label_map_changed (PulmoLabelMap *map, const PulmoBox *box);
guint64 pulmo_label_map_get_revision (PulmoLabelMap *map);
const PulmoBox *pulmo_label_map_get_dirty_box (PulmoLabelMap *map);
uint8_t pulmo_label_map_get (PulmoLabelMap *map, int i, int j, int k);
/* Voxel count per label value. */
void pulmo_label_map_count (PulmoLabelMap *map, guint64 counts[256]);

G_END_DECLS
