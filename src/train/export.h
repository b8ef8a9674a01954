/* export.h: a corrected CT joins a training set. The CT and its labels are
 * appended as a new case to a folder in the nnU-Net v2 raw layout (what
 * `pulmo train` and nnU-Net itself read), with a sidecar JSON that records
 * where the case came from and how much the annotator corrected.
 *
 * Nothing already in the folder is ever overwritten. Exports into one folder
 * take turns under a lock; each writes dataset.json (counting the cases
 * already there), its label, then its image (the case exists from that
 * moment), then dataset.json again, so an export killed at any point leaves a
 * dataset that loads (tests/faults/test-kill.c). */
#pragma once

#include "core/pulmo-label-map.h"

G_BEGIN_DECLS

/* The label values a case is written in. */
typedef enum {
  PULMO_EXPORT_PULMO,              /* DESIGN.md's convention, as edited */
  PULMO_EXPORT_COVID19_CT_SEG,     /* 1 left lung, 2 right lung, 3 infection */
  PULMO_EXPORT_BINARY_INFECTION,   /* 1 ground glass or consolidation */
} PulmoExportConvention;

/* "pulmo", "covid19-ct-seg", "binary-infection"; FALSE for an unknown name. */
gboolean pulmo_export_convention_from_name (const char *name, PulmoExportConvention *convention);
const char *pulmo_export_convention_name (PulmoExportConvention convention);

typedef struct {
  PulmoExportConvention convention;
  const char *case_prefix;       /* case ids are <prefix>_NNNN; NULL: "pulmo" */
  const char *annotator;         /* NULL: not recorded */
  const char *model_version;     /* the model that pre-labelled the CT; NULL: none */
  const uint8_t *model_labels;   /* its labels on the CT's grid, to measure the corrections; or NULL */
  double editing_seconds;        /* < 0: not recorded */
  /* Records only the source's SHA-256, not its path (paths often name the patient).
   * The NIfTI files never carry the source's text header fields either way. */
  gboolean anonymise;
} PulmoExportOptions;

void pulmo_export_options_init (PulmoExportOptions *options);

/* Appends @labels' CT (read from its file, which is hashed) and @labels to
 * @dataset_dir, made if missing. Returns the new case id. Refuses labels that
 * the convention cannot express (lung of unknown side for COVID-19-CT-Seg) and
 * a folder whose dataset.json was written in another convention. */
char *pulmo_export_case (const char *dataset_dir, PulmoLabelMap *labels,
                         const PulmoExportOptions *options, GError **error);

G_END_DECLS
