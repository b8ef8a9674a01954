/* slice-labels.h: agreement with experts' slice-level labels, where a scan
 * has no voxel masks (COVID-CT-MD's P001). */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Experts' slice-level infection labels, as COVID-CT-MD gives them: a CSV
 * file with a header row naming at least the columns "z" (the slice, a
 * storage index along the third voxel axis) and "infected" (0 or 1).
 * @infected gets n_slices entries: 1, 0, or -1 where the file says nothing. */
gboolean pulmo_eval_read_slice_labels (const char *path, int n_slices, gint8 *infected,
                                       GError **error);

typedef struct {
  int infected, infected_found;   /* experts' infected slices; those with predicted infection */
  int clean, clean_found;         /* experts' clean slices; those with predicted infection */
} PulmoEvalSliceAgreement;

/* A slice counts as predicted infected when its infection (values 3, 4, 7)
 * covers at least @min_area_mm2; @pixel_area_mm2 is one voxel's area in the
 * slice. */
void pulmo_eval_slices (const uint8_t *pred, const int dims[3], double pixel_area_mm2,
                        double min_area_mm2, const gint8 *infected,
                        PulmoEvalSliceAgreement *agreement);

G_END_DECLS
