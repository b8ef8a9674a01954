/* label-description.h: label names and colours from an ITK-SNAP label
 * description file, the text format annotators already keep beside their
 * NIfTI label maps (ITK-SNAP ▸ Segmentation ▸ Export Label Descriptions):
 *
 *   # IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL
 *       1   255    0    0     1    1   1  "Right lung"
 *
 * One label per line: value 0..255, red, green, blue 0..255, opacity 0..1,
 * visible 0/1, mesh 0/1 (not used by Pulmo), the name in double quotes.
 * Lines starting with # and blank lines are skipped. */
#pragma once

#include <glib.h>

#include "core/pulmo-label-table.h"

G_BEGIN_DECLS

/* Larger files are refused before they are read: a description of all 256
 * values takes a few KiB. */
#define PULMO_LABEL_DESCRIPTION_MAX_BYTES (1024 * 1024)

/* A table holding Pulmo's background and exactly the labels 1..255 the file
 * describes (its value 0, ITK-SNAP's "Clear Label", is not a label);
 * NULL with a PULMO_ERROR naming the file and line when it cannot be used. */
PulmoLabelTable *pulmo_label_description_load (const char *path, GError **error);

/* Writes @table's labels 1..255 in that format, after ITK-SNAP's "Clear Label"
 * line for value 0, atomically. Line breaks in a name become spaces. */
gboolean pulmo_label_description_save (const PulmoLabelTable *table, const char *path, GError **error);

G_END_DECLS
