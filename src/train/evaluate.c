/* evaluate.c: see evaluate.h. */
#include "train/evaluate.h"

#include <glib/gi18n-lib.h>
#include <math.h>

/* name: for people (marked for translation); key: for JSON and CSV. */
typedef struct {
  const char *name, *key;
  const guint8 *positive;   /* label values in the structure */
  const guint8 *unknown;    /* reference values that leave it open */
} Structure;

#define END 255
static const guint8 lung[] = { 1, 2, 3, 4, 6, 7, END }, infection[] = { 3, 4, 7, END };
static const guint8 right[] = { 1, END }, left[] = { 2, END }, ggo[] = { 3, END };
static const guint8 cons[] = { 4, END }, effusion[] = { 5, END };
static const guint8 open_8[] = { 8, END }, open_sides[] = { 6, 8, END }, open_7[] = { 7, END };
static const guint8 none[] = { END };

static const Structure structures[PULMO_EVAL_N_STRUCTURES] = {
  [PULMO_EVAL_LUNG] = { N_("lung"), "lung", lung, open_8 },
  [PULMO_EVAL_INFECTION] = { N_("infection"), "infection", infection, none },
  [PULMO_EVAL_RIGHT_LUNG] = { N_("right lung"), "right_lung", right, open_sides },
  [PULMO_EVAL_LEFT_LUNG] = { N_("left lung"), "left_lung", left, open_sides },
  [PULMO_EVAL_GROUND_GLASS] = { N_("ground-glass opacity"), "ground_glass_opacity", ggo, open_7 },
  [PULMO_EVAL_CONSOLIDATION] = { N_("consolidation"), "consolidation", cons, open_7 },
  [PULMO_EVAL_EFFUSION] = { N_("pleural effusion"), "pleural_effusion", effusion, open_8 },
};

const char *
pulmo_eval_structure_name (PulmoEvalStructure structure)
{
  g_return_val_if_fail (structure < PULMO_EVAL_N_STRUCTURES, NULL);
  return structures[structure].name;
}

const char *
pulmo_eval_structure_key (PulmoEvalStructure structure)
{
  g_return_val_if_fail (structure < PULMO_EVAL_N_STRUCTURES, NULL);
  return structures[structure].key;
}

/* Reference classes in a table: 0 negative, 1 positive, 2 unknown. Values
 * past Pulmo's convention (above 8) are unlabelled: unknown everywhere. */
enum { NEGATIVE, POSITIVE, UNKNOWN };

void
pulmo_eval_count (const uint8_t *pred, const uint8_t *reference, size_t n,
                  PulmoEvalCounts counts[PULMO_EVAL_N_STRUCTURES])
{
  for (int s = 0; s < PULMO_EVAL_N_STRUCTURES; s++)
    {
      guint8 predicted[256] = { 0 }, truth[256];
      for (int v = 0; v < 256; v++)
        truth[v] = v > 8 ? UNKNOWN : NEGATIVE;
      for (const guint8 *v = structures[s].positive; *v != END; v++)
        predicted[*v] = truth[*v] = POSITIVE;
      for (const guint8 *v = structures[s].unknown; *v != END; v++)
        truth[*v] = UNKNOWN;

      guint64 tp = 0, fp = 0, fn = 0, known = 0;
      for (size_t i = 0; i < n; i++)
        {
          guint8 t = truth[reference[i]], p = predicted[pred[i]];
          known += t != UNKNOWN;
          tp += t == POSITIVE && p;
          fp += t == NEGATIVE && p;
          fn += t == POSITIVE && !p;
        }
      counts[s].tp += tp;
      counts[s].fp += fp;
      counts[s].fn += fn;
      counts[s].known += known;
    }
}

double
pulmo_eval_dice (const PulmoEvalCounts *counts)
{
  guint64 sum = 2 * counts->tp + counts->fp + counts->fn;
  return sum == 0 ? NAN : 2.0 * counts->tp / sum;
}

gint64
pulmo_eval_volume_difference (const PulmoEvalCounts *counts)
{
  return (gint64) counts->fp - (gint64) counts->fn;
}

gboolean
pulmo_eval_has_data (const PulmoEvalCounts *counts)
{
  return counts->tp + counts->fp + counts->fn > 0;
}
