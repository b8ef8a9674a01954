/* dataset.h: training data in the nnU-Net v2 raw layout — dataset.json,
 * imagesTr/<case>_0000<ending>, labelsTr/<case><ending> — 2D or 3D cases of
 * any size, in DESIGN.md's label convention (partial values 6, 7, 8 included).
 *
 * Loading checks every case and refuses the dataset with a message naming
 * the case (label missing, grid differs from the image, a value that
 * dataset.json does not declare). Each axial slice of each case becomes one
 * sample, preprocessed once by segment/preprocess.c for the model's
 * PulmoModelInfo and kept in 8-bit steps with its labels on the input grid. */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

#include "core/pulmo-volume.h"
#include "nn/weights.h"

G_BEGIN_DECLS

typedef struct {
  char *id;                 /* "zenodo_coronacases_001" */
  char *image_path, *label_path;
  int n_samples;            /* its axial slices */
  size_t first_sample;      /* index of its first slice among the dataset's samples */
  guint value_set;          /* bit v set: label value v occurs in the case */
  gboolean prewindowed;     /* an 8-bit image, not HU (preprocess.c gives it no CLAHE) */
  int dir_index;            /* the folder of pulmo_dataset_load's @dirs it came from */
} PulmoDatasetCase;

typedef struct {
  PulmoDatasetCase *cases;
  int n_cases;
  int width, height;        /* the model's input size */
  size_t n_samples;
  uint8_t *images;          /* n_samples × width × height, input × 255 */
  uint8_t *labels;          /* n_samples × width × height label values */
  int *sample_case;         /* n_samples: index of the case a sample belongs to */
} PulmoDataset;

/* Reads every folder in @dirs (NULL-terminated); case ids must be unique
 * over all of them. At most @max_samples_per_case slices of a case are kept
 * (evenly spread; 0 keeps all), for quick runs. */
PulmoDataset *pulmo_dataset_load (const char *const *dirs, const PulmoModelInfo *info,
                                  int max_samples_per_case, GCancellable *cancellable,
                                  GError **error);
void pulmo_dataset_free (PulmoDataset *dataset);

/* Chooses whole cases for validation: with @ids (comma-separated case ids)
 * exactly those, else about @fraction of the cases of every kind (cases with
 * the same set of label values, so each source is represented), by a
 * shuffle seeded with @seed, among the cases @eligible marks (NULL: all).
 * @is_validation gets one flag per case. */
gboolean pulmo_dataset_split (const PulmoDataset *dataset, const char *ids, double fraction,
                              guint64 seed, const gboolean *eligible, gboolean *is_validation,
                              GError **error);

/* What a run does with each sample (slice). */
typedef enum {
  PULMO_SAMPLE_TRAIN,
  PULMO_SAMPLE_HELD_OUT,          /* validated on: a held-out slice of a case trained on */
  PULMO_SAMPLE_GAP,               /* beside held-out slices: neither trained nor validated on */
  PULMO_SAMPLE_VALIDATION_CASE,   /* of a whole validation case */
} PulmoSampleRole;

/* Holds out about @fraction of case @c's slices for validation: slabs of
 * about PULMO_HOLDOUT_SLAB_SLICES contiguous slices, one in each equal part
 * of the scan at an offset drawn from @seed and the case id, each with @gap
 * slices on either side that are not trained on either (adjacent CT slices
 * are near copies, so training on a neighbour would leak the answer). Sets
 * @roles[s] for the case's samples s = 0 … n_samples − 1 (HELD_OUT, GAP or
 * TRAIN) and returns how many are held out: 0 when the case is too thin to
 * keep a slab and its gaps apart from at least one training slice. */
#define PULMO_HOLDOUT_SLAB_SLICES 12
int pulmo_dataset_hold_out_slices (const PulmoDataset *dataset, int c, double fraction, int gap,
                                   guint64 seed, PulmoSampleRole *roles);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoDataset, pulmo_dataset_free)

G_END_DECLS
