/* evaluate.h: how well a predicted label map matches a reference, in
 * DESIGN.md's label convention, honouring the reference's partial labels.
 *
 * Each structure is a set of label values. For a reference voxel the
 * structure is positive, negative, or unknown (a partial label that allows
 * both): 6 (lung, side unknown) is unknown for the right and the left lung,
 * 7 (infection, type unknown) for ground glass and consolidation, 8 (not
 * infection) for background-side structures (lung, right, left, effusion).
 * Unknown voxels are left out of that structure's counts. Predicted values
 * are taken literally: a predicted 6 is lung but neither right nor left. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum {
  PULMO_EVAL_LUNG,           /* both lungs with their lesions: 1 2 3 4 6 7 */
  PULMO_EVAL_INFECTION,      /* 3 4 7 */
  PULMO_EVAL_RIGHT_LUNG,     /* 1 */
  PULMO_EVAL_LEFT_LUNG,      /* 2 */
  PULMO_EVAL_GROUND_GLASS,   /* 3 */
  PULMO_EVAL_CONSOLIDATION,  /* 4 */
  PULMO_EVAL_EFFUSION,       /* 5 */
  PULMO_EVAL_N_STRUCTURES
} PulmoEvalStructure;

typedef struct {
  guint64 tp, fp, fn;   /* over the voxels where the reference is known */
  guint64 known;        /* voxels where the reference is known */
} PulmoEvalCounts;

/* "lung", "infection", "right lung", … */
const char *pulmo_eval_structure_name (PulmoEvalStructure structure);
/* Machine-readable key for JSON and CSV: "lung", "infection", "right_lung", … */
const char *pulmo_eval_structure_key (PulmoEvalStructure structure);

/* ADDS the counts of @n voxels to @counts (so cases and slices accumulate). */
void pulmo_eval_count (const uint8_t *pred, const uint8_t *reference, size_t n,
                       PulmoEvalCounts counts[PULMO_EVAL_N_STRUCTURES]);
/* 2·tp / (2·tp + fp + fn); NaN when the structure is in neither (tp+fp+fn = 0). */
double pulmo_eval_dice (const PulmoEvalCounts *counts);
/* Predicted minus reference voxels, over the known voxels. */
gint64 pulmo_eval_volume_difference (const PulmoEvalCounts *counts);
/* TRUE when the reference has any known voxel of the structure or the
 * prediction any where the reference is known: the row is worth reporting. */
gboolean pulmo_eval_has_data (const PulmoEvalCounts *counts);

G_END_DECLS
