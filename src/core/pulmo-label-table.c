#include "core/pulmo-label-table.h"

#include <math.h>
#include <string.h>

struct _PulmoLabelTable {
  PulmoLabel labels[256];
};

PulmoLabelTable *
pulmo_label_table_new (void)
{
  PulmoLabelTable *table = g_new0 (PulmoLabelTable, 1);
  for (int v = 0; v < 256; v++)
    table->labels[v].value = (uint8_t) v;
  pulmo_label_table_set (table, PULMO_LABEL_BACKGROUND, "Background", (const uint8_t[4]) { 0, 0, 0, 0 });
  return table;
}

PulmoLabelTable *
pulmo_label_table_new_default (void)
{
  static const struct {
    uint8_t value;
    const char *name;
    uint8_t rgba[4];
  } convention[] = {
    { PULMO_LABEL_RIGHT_LUNG, "Right lung", { 64, 160, 255, 255 } },
    { PULMO_LABEL_LEFT_LUNG, "Left lung", { 80, 220, 120, 255 } },
    { PULMO_LABEL_GROUND_GLASS, "Ground-glass opacity", { 255, 210, 40, 255 } },
    { PULMO_LABEL_CONSOLIDATION, "Consolidation", { 235, 60, 50, 255 } },
    { PULMO_LABEL_PLEURAL_EFFUSION, "Pleural effusion", { 170, 90, 230, 255 } },
    { PULMO_LABEL_LUNG_UNKNOWN_SIDE, "Lung, side unknown", { 70, 200, 200, 255 } },
    { PULMO_LABEL_INFECTION_UNKNOWN_TYPE, "Infection, type unknown", { 255, 140, 30, 255 } },
    { PULMO_LABEL_UNKNOWN_NOT_INFECTION, "Unknown, not infection", { 150, 150, 150, 255 } },
  };
  PulmoLabelTable *table = pulmo_label_table_new ();
  for (size_t e = 0; e < G_N_ELEMENTS (convention); e++)
    pulmo_label_table_set (table, convention[e].value, convention[e].name, convention[e].rgba);
  return table;
}

PulmoLabelTable *
pulmo_label_table_copy (const PulmoLabelTable *table)
{
  PulmoLabelTable *copy = g_memdup2 (table, sizeof *table);
  for (int v = 0; v < 256; v++)
    copy->labels[v].name = g_strdup (table->labels[v].name);
  return copy;
}

void
pulmo_label_table_free (PulmoLabelTable *table)
{
  if (table == NULL)
    return;
  for (int v = 0; v < 256; v++)
    g_free (table->labels[v].name);
  g_free (table);
}

const PulmoLabel *
pulmo_label_table_get (const PulmoLabelTable *table, uint8_t value)
{
  return &table->labels[value];
}

void
pulmo_label_table_set (PulmoLabelTable *table, uint8_t value, const char *name, const uint8_t rgba[4])
{
  PulmoLabel *label = &table->labels[value];
  g_free (label->name);
  label->name = g_strdup (name);
  memcpy (label->rgba, rgba, 4);
  label->visible = TRUE;
  label->defined = TRUE;
}

void
pulmo_label_table_ensure (PulmoLabelTable *table, uint8_t value)
{
  if (table->labels[value].defined)
    return;
  /* Golden-angle hues keep neighbouring values apart in colour. */
  double hue = fmod (value * 137.508, 360.0) / 60.0;
  double saturation = 0.65, brightness = 0.95;
  double chroma = brightness * saturation;
  double x = chroma * (1.0 - fabs (fmod (hue, 2.0) - 1.0));
  double rgb[3] = { 0, 0, 0 };
  int sector = (int) hue % 6;
  /* Per 60° sector: the channel that takes the chroma, and the one that takes x. */
  static const int order[6][2] = { { 0, 1 }, { 1, 0 }, { 1, 2 }, { 2, 1 }, { 2, 0 }, { 0, 2 } };
  rgb[order[sector][0]] = chroma; /* the dominant channel */
  rgb[order[sector][1]] = x;
  uint8_t rgba[4];
  for (int c = 0; c < 3; c++)
    rgba[c] = (uint8_t) lround ((rgb[c] + brightness - chroma) * 255.0);
  rgba[3] = 255;

  g_autofree char *name = g_strdup_printf ("Label %u", value);
  pulmo_label_table_set (table, value, name, rgba);
}

void
pulmo_label_table_set_visible (PulmoLabelTable *table, uint8_t value, gboolean visible)
{
  table->labels[value].visible = visible;
}

int
pulmo_label_table_list (const PulmoLabelTable *table, uint8_t values[256])
{
  int n = 0;
  for (int v = 1; v < 256; v++)
    if (table->labels[v].defined)
      values[n++] = (uint8_t) v;
  return n;
}
