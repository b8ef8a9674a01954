/* pulmo-label-table.h: what each label value means and how it is drawn. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Pulmo's label convention (see README): values a model, a label map and an export share. */
enum {
  PULMO_LABEL_BACKGROUND = 0,
  PULMO_LABEL_RIGHT_LUNG = 1,
  PULMO_LABEL_LEFT_LUNG = 2,
  PULMO_LABEL_GROUND_GLASS = 3,
  PULMO_LABEL_CONSOLIDATION = 4,
  PULMO_LABEL_PLEURAL_EFFUSION = 5,
  PULMO_LABEL_LUNG_UNKNOWN_SIDE = 6,
  PULMO_LABEL_INFECTION_UNKNOWN_TYPE = 7,
  PULMO_LABEL_UNKNOWN_NOT_INFECTION = 8,
};

typedef struct {
  uint8_t value;
  char *name;
  uint8_t rgba[4];
  gboolean visible;
  gboolean defined;   /* FALSE for values with no entry */
} PulmoLabel;

typedef struct _PulmoLabelTable PulmoLabelTable;

PulmoLabelTable *pulmo_label_table_new (void);          /* empty but for background */
PulmoLabelTable *pulmo_label_table_new_default (void);  /* Pulmo's convention */
PulmoLabelTable *pulmo_label_table_copy (const PulmoLabelTable *table);
void pulmo_label_table_free (PulmoLabelTable *table);

/* Entry for @value; its `defined` is FALSE when the table has no such label. */
const PulmoLabel *pulmo_label_table_get (const PulmoLabelTable *table, uint8_t value);
void pulmo_label_table_set (PulmoLabelTable *table, uint8_t value, const char *name,
                            const uint8_t rgba[4]);
/* Defines @value as "Label N" with a distinct colour if it has no entry yet. */
void pulmo_label_table_ensure (PulmoLabelTable *table, uint8_t value);
void pulmo_label_table_set_visible (PulmoLabelTable *table, uint8_t value, gboolean visible);
/* Defined values in increasing order, background excluded; returns how many. */
int pulmo_label_table_list (const PulmoLabelTable *table, uint8_t values[256]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoLabelTable, pulmo_label_table_free)

G_END_DECLS
