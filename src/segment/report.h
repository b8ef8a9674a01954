/* report.h: the lesion burden of a label map in DESIGN.md's convention, per
 * lung and in total, and its JSON, CSV and PDF forms.
 *
 * Label values 1 and 2 are the right and left lung parenchyma, 3 ground glass
 * and 4 consolidation (lesions, inside a lung), 5 pleural effusion; any other
 * value is ignored. Definitions:
 *   - a lesion voxel belongs to the lung it lies in: a breadth-first search
 *     (6-connected) from every lung voxel through the lesion voxels gives each
 *     the side of the nearest lung voxel, ties to the first to reach it (lung
 *     voxels in storage order). A lesion component touching no lung takes the
 *     side of its centre's world x against the midpoint of the two lungs'
 *     centres (RAS +x is the patient's right), or against the volume's centre
 *     when there are not two lungs;
 *   - a lung is its parenchyma and its lesions; the involvement is
 *     (ground glass + consolidation) / lung × 100, its category the severity
 *     (pulmo_report_severity);
 *   - zones: each lung's superior–inferior extent (world z of its voxels'
 *     centres) split in three equal thirds, upper the most superior; a zone's
 *     involvement is its lesion volume over its lung volume;
 *   - peripheral: a lesion voxel whose Euclidean distance (mm, to the nearest
 *     voxel centre outside its lung: background, the other lung, or beyond
 *     the scan's edge) is below a third of that lung's greatest depth lies in
 *     the outer third of the lung; the other lesion voxels are central.
 * Volumes come from the voxel count × |det| of the affine's 3×3 part. */
#pragma once

#include <json-glib/json-glib.h>
#include <stdint.h>

#include "core/pulmo-volume.h"

G_BEGIN_DECLS

/* Every form of the report carries it. */
/* Marked for translation (where it is used, N_ comes from glib/gi18n-lib.h); the JSON
 * report keeps it in English, the PDF shows it translated. */
#define PULMO_REPORT_DISCLAIMER N_("These figures are a model's output and must be checked by a radiologist.")

enum { PULMO_ZONE_UPPER, PULMO_ZONE_MIDDLE, PULMO_ZONE_LOWER, PULMO_N_ZONES };

typedef struct {
  double lung_ml;            /* the whole lung: parenchyma + its lesions */
  double ggo_ml, consolidation_ml;
  double involved_percent;   /* (ggo + consolidation) / lung × 100; 0 if no lung */
  int severity;              /* 0 none, 1 < 5 %, 2 5–25 %, 3 26–50 %, 4 51–75 %, 5 > 75 % */
  double zone_involved_percent[PULMO_N_ZONES];  /* lesion / lung volume of the zone × 100 */
  gboolean zone_involved[PULMO_N_ZONES];        /* the zone holds any lesion */
} PulmoLungFigures;

typedef struct {
  /* total's zones are both lungs' zones together; total.severity is unused (0):
   * read severity_sum. */
  PulmoLungFigures right, left, total;
  int severity_sum;                /* right + left: 0–10 */
  double lesion_mean_hu;           /* NAN when there is no lesion or the CT is not in HU */
  double peripheral_percent, central_percent;  /* of the lesion volume; 0 and 0 without lesions */
  gboolean bilateral;              /* lesions in both lungs */
  int n_zones_involved;            /* of the 6 zones */
  double effusion_ml;
} PulmoReport;

/* The category of @involved_percent: 0 without any lesion voxel; else 1 below
 * 5 %, 2 up to 25 %, 3 up to 50 %, 4 up to 75 %, 5 above (bounds inclusive). */
int pulmo_report_severity (double involved_percent, gboolean any_lesion);

/* @labels: one per voxel of @ct, storage order. FALSE with a message only for
 * volumes too large to index or to hold the work buffers. */
gboolean pulmo_report_compute (PulmoVolume *ct, const uint8_t *labels, PulmoReport *report,
                               GError **error);

JsonNode *pulmo_report_to_json (const PulmoReport *report, const char *ct_name, const char *model_name);
/* A header row and rows for right, left and total (whose severity is the sum),
 * each naming the CT and the model so that many reports concatenate into one
 * table; dots for decimals whatever the locale. */
char *pulmo_report_to_csv (const PulmoReport *report, const char *ct_name, const char *model_name);

/* Writes @path by its extension, .json, .csv or .pdf (any case), atomically:
 * a temporary file in the same folder, then renamed over @path. @ct and
 * @labels are what the PDF's key slices show. */
gboolean pulmo_report_save (const PulmoReport *report, PulmoVolume *ct, const uint8_t *labels,
                            const char *ct_name, const char *model_name, const char *path,
                            GError **error);

G_END_DECLS
