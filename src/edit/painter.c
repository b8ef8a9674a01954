#include "edit/painter.h"

#include <math.h>
#include <string.h>

void
pulmo_paint_mask_init (PulmoPaintMask *mask)
{
  mask->over = PULMO_PAINT_OVER_ALL;
  mask->hu_enabled = FALSE;
  mask->hu_min = -800.0;
  mask->hu_max = -100.0;
}

/* The smallest float >= @x and the largest float <= @x: a float CT value passes
 * the float test exactly when it passes the test against the double limits. */
static float
float_at_least (double x)
{
  float f = (float) x;
  return (double) f < x ? nextafterf (f, INFINITY) : f;
}

static float
float_at_most (double x)
{
  float f = (float) x;
  return (double) f > x ? nextafterf (f, -INFINITY) : f;
}

static int16_t
int16_clamp (double x)
{
  return (int16_t) CLAMP (x, -32768.0, 32767.0);
}

void
pulmo_painter_init (PulmoPainter *painter, PulmoLabelMap *map, PulmoVolume *ct,
                    const PulmoPaintMask *mask, uint8_t value, int only_label)
{
  memset (painter, 0, sizeof *painter);
  painter->labels = pulmo_label_map_get_data_mutable (map);
  painter->ct_int16 = pulmo_volume_get_int16 (ct);
  painter->ct_float = pulmo_volume_get_float (ct);
  pulmo_volume_get_dims (ct, painter->dims);
  painter->value = value;

  const PulmoLabelTable *table = pulmo_label_map_get_table (map);
  for (int label = 0; label < 256; label++)
    {
      gboolean allowed = FALSE;
      switch (mask->over)
        {
        case PULMO_PAINT_OVER_ALL:
          allowed = TRUE;
          break;
        case PULMO_PAINT_OVER_BACKGROUND:
          allowed = label == PULMO_LABEL_BACKGROUND;
          break;
        case PULMO_PAINT_OVER_LUNGS:
          allowed = label == PULMO_LABEL_RIGHT_LUNG || label == PULMO_LABEL_LEFT_LUNG
                    || label == PULMO_LABEL_GROUND_GLASS || label == PULMO_LABEL_CONSOLIDATION
                    || label == PULMO_LABEL_LUNG_UNKNOWN_SIDE
                    || label == PULMO_LABEL_INFECTION_UNKNOWN_TYPE;
          break;
        case PULMO_PAINT_OVER_VISIBLE:
          {
            const PulmoLabel *entry = pulmo_label_table_get (table, (uint8_t) label);
            allowed = label != PULMO_LABEL_BACKGROUND && entry->defined && entry->visible;
          }
          break;
        }
      if (only_label >= 0 && label != only_label)
        allowed = FALSE;
      painter->replace[label] = allowed;
    }

  painter->hu_enabled = mask->hu_enabled;
  if (mask->hu_enabled)
    {
      /* Integer CT values in [ceil(min), floor(max)] are those in [min, max]. */
      painter->hu_min_int16 = int16_clamp (ceil (mask->hu_min));
      painter->hu_max_int16 = int16_clamp (floor (mask->hu_max));
      if (ceil (mask->hu_min) > 32767.0 || floor (mask->hu_max) < -32768.0)
        {
          /* No int16 value lies in the range: make it empty rather than clamped. */
          painter->hu_min_int16 = 1;
          painter->hu_max_int16 = 0;
        }
      painter->hu_min_float = float_at_least (mask->hu_min);
      painter->hu_max_float = float_at_most (mask->hu_max);
    }
}

static inline gboolean
allows (const PulmoPainter *painter, gint64 index)
{
  if (!painter->replace[painter->labels[index]])
    return FALSE;
  if (!painter->hu_enabled)
    return TRUE;
  if (painter->ct_int16)
    {
      int16_t hu = painter->ct_int16[index];
      return hu >= painter->hu_min_int16 && hu <= painter->hu_max_int16;
    }
  float hu = painter->ct_float[index];
  return hu >= painter->hu_min_float && hu <= painter->hu_max_float;
}

gboolean
pulmo_painter_allows (const PulmoPainter *painter, gint64 index)
{
  return allows (painter, index);
}

gsize
pulmo_painter_run (const PulmoPainter *painter, gint64 start, gint64 step, int n)
{
  gsize changed = 0;
  uint8_t value = painter->value;
  for (int i = 0; i < n; i++)
    {
      gint64 index = start + step * i;
      if (painter->labels[index] != value && allows (painter, index))
        {
          painter->labels[index] = value;
          changed++;
        }
    }
  return changed;
}
