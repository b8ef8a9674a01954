/* label-mask.c: the label convention → class-set tables, one row per
 * supported model size. */
#include "nn/label-mask.h"

#include <glib/gi18n-lib.h>

#include "core/pulmo-error.h"

#define BIT(c) ((uint16_t) (1u << (c)))
#define N_LABEL_VALUES 9

typedef struct {
  int n_classes;
  uint16_t allowed[N_LABEL_VALUES]; /* indexed by label value 0..8 */
} LabelMaskTable;

static const LabelMaskTable tables[] = {
  /* 0 background, 1 lung, 2 GGO, 3 consolidation. */
  { 4, {
      [0] = BIT (0),
      [1] = BIT (1),
      [2] = BIT (1),
      [3] = BIT (2),
      [4] = BIT (3),
      [5] = BIT (0),                    /* effusion lies outside the lung */
      [6] = BIT (1),
      [7] = BIT (2) | BIT (3),
      [8] = BIT (0) | BIT (1),
    } },
  /* 0 background, 1 right lung, 2 left lung, 3 GGO, 4 consolidation. */
  { 5, {
      [0] = BIT (0),
      [1] = BIT (1),
      [2] = BIT (2),
      [3] = BIT (3),
      [4] = BIT (4),
      [5] = BIT (0),
      [6] = BIT (1) | BIT (2),
      [7] = BIT (3) | BIT (4),
      [8] = BIT (0) | BIT (1) | BIT (2),
    } },
  /* As 5, plus 5 pleural effusion. */
  { 6, {
      [0] = BIT (0),
      [1] = BIT (1),
      [2] = BIT (2),
      [3] = BIT (3),
      [4] = BIT (4),
      [5] = BIT (5),
      [6] = BIT (1) | BIT (2),
      [7] = BIT (3) | BIT (4),
      [8] = BIT (0) | BIT (1) | BIT (2) | BIT (5),
    } },
};

static const LabelMaskTable *
find_table (int n_classes)
{
  for (size_t i = 0; i < G_N_ELEMENTS (tables); i++)
    if (tables[i].n_classes == n_classes)
      return &tables[i];
  return NULL;
}

gboolean
pulmo_label_mask_supported (int n_classes)
{
  return find_table (n_classes) != NULL;
}

static uint16_t
lookup (const LabelMaskTable *table, unsigned label)
{
  if (label >= N_LABEL_VALUES)
    return (uint16_t) ((1u << table->n_classes) - 1); /* unknown value: unlabelled */
  return table->allowed[label];
}

uint16_t
pulmo_label_mask (unsigned label, int n_classes)
{
  const LabelMaskTable *table = find_table (n_classes);
  g_return_val_if_fail (table != NULL, 0);
  return lookup (table, label);
}

gboolean
pulmo_label_masks_from_labels (const uint8_t *labels,
                               size_t n_pixels,
                               int n_classes,
                               uint16_t *masks,
                               GError **error)
{
  g_return_val_if_fail (labels != NULL || n_pixels == 0, FALSE);
  g_return_val_if_fail (masks != NULL || n_pixels == 0, FALSE);

  const LabelMaskTable *table = find_table (n_classes);
  if (table == NULL)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED,
                   _("no label mapping for a model with %d classes "
                   "(supported: 4, 5 or 6 classes)"), n_classes);
      return FALSE;
    }

  uint16_t lut[256];
  for (unsigned v = 0; v < 256; v++)
    lut[v] = lookup (table, v);
  for (size_t i = 0; i < n_pixels; i++)
    masks[i] = lut[labels[i]];
  return TRUE;
}
