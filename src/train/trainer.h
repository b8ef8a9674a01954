/* trainer.h: training a U-Net on dataset folders (`pulmo train`), on the CPU.
 *
 * Validation is on whole cases it never trains on, chosen once per run and
 * kept in the checkpoint; after every epoch each validation case is segmented
 * as a user's CT would be (segment/segment.c) and compared with its labels
 * (train/evaluate.c). Augmentation runs on its own thread, a few batches
 * ahead of the compute. Runs are reproducible: every random choice comes from
 * the seed, the epoch and the batch number, so a resumed run continues exactly
 * as an uninterrupted one would. */
#pragma once

#include <gio/gio.h>

#include "train/evaluate.h"

G_BEGIN_DECLS

typedef struct {
  const char *const *data_dirs;   /* NULL-terminated */
  const char *init_path;          /* fine-tune this model (or checkpoint); NULL: a new network */
  const char *out_path;           /* the model file written at the end */
  const char *checkpoint_path;    /* NULL: out_path + ".checkpoint" */
  const char *log_path;           /* CSV, one row per epoch; NULL: out_path + ".csv" */
  const char *validation_ids;     /* comma-separated case ids, or NULL to choose */
  double validation_fraction;     /* of the cases of each kind, when choosing */
  int epochs;
  int base, depth;                /* U-Net width and number of poolings (not with init_path) */
  int input_size;                 /* the model's input is input_size² (not with init_path) */
  int batch;
  double lr;                      /* peak learning rate (AdamW) */
  guint64 seed;
  double checkpoint_seconds;      /* at least this long between checkpoints */
  int max_samples_per_case;       /* 0: every slice */
  gboolean resume;                /* go on from checkpoint_path */
} PulmoTrainOptions;

/* Pulmo's defaults for the shipped model (base 16, depth 4, 256², batch 8,
 * 100 epochs, lr 2e-3, a fifth of each kind of case for validation). */
void pulmo_train_options_init (PulmoTrainOptions *options);
/* Seconds-long settings for tests: 64², base 8, depth 3, two slices per case. */
void pulmo_train_options_quick (PulmoTrainOptions *options);

typedef struct {
  int epoch, epochs;              /* the epoch in progress, from 1 */
  int step, steps_per_epoch;      /* steps done in this epoch */
  double loss;                    /* mean training loss of this epoch so far */
  double elapsed_seconds, eta_seconds;
  double waiting_seconds;         /* of this epoch, spent waiting for augmented batches */
  gboolean epoch_done;            /* the validation figures below are this epoch's */
  double validation_dice[PULMO_EVAL_N_STRUCTURES];   /* NaN where no data */
  double initial_dice[PULMO_EVAL_N_STRUCTURES];      /* the init model's; NaN without one */
  int n_train_cases, n_validation_cases;
  size_t n_train_samples;
  const char *const *validation_ids;   /* NULL-terminated */
} PulmoTrainProgress;

typedef void (*PulmoTrainReport) (const PulmoTrainProgress *progress, gpointer user_data);

/* What "better" means when a fine-tune is weighed against its starting model:
 * the mean of the lung and infection Dice that validation could measure
 * (NaN if neither). A fine-tune is kept only if its score is not lower. */
double pulmo_train_score (const double dice[PULMO_EVAL_N_STRUCTURES]);
gboolean pulmo_train_not_worse (const double before[PULMO_EVAL_N_STRUCTURES],
                                const double after[PULMO_EVAL_N_STRUCTURES]);

/* Trains, reporting after every step and epoch (and once before the first
 * epoch of a fine-tune, with initial_dice). FALSE with the reason (a
 * dataset problem names its case) or G_IO_ERROR_CANCELLED. */
gboolean pulmo_train (const PulmoTrainOptions *options, PulmoTrainReport report, gpointer user_data,
                      GCancellable *cancellable, GError **error);

G_END_DECLS
