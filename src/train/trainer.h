/* trainer.h: training a U-Net on dataset folders (`pulmo train`), on the CPU.
 *
 * Validation is on whole cases it never trains on, chosen once per run and
 * kept in the checkpoint; after every epoch each validation case is segmented
 * as a user's CT would be (segment/segment.c) and compared with its labels
 * (train/evaluate.c).
 *
 * Fine-tuning on the user's corrected scans: the first n_user_dirs folders
 * hold the user's cases, the rest the original training data mixed in so
 * that nothing is forgotten. One corrected scan is one case, so whole-case
 * validation cannot judge it; with holdout_slice_fraction each user case
 * gives slabs of its slices to validation instead (dataset.h,
 * pulmo_dataset_hold_out_slices), with gaps beside them trained on by
 * neither. Held-out slices are judged on the model's input grid, where the
 * dataset keeps them: the network's most probable class per pixel against
 * the labels there (the same pulmo_eval_count). max_seconds bounds a run by
 * the clock, for "fine-tune for 5 minutes". Augmentation runs on its own thread, a few batches
 * ahead of the compute. Runs are reproducible: every random choice comes from
 * the seed, the epoch and the batch number, so a resumed run continues exactly
 * as an uninterrupted one would. */
#pragma once

#include <gio/gio.h>

#include "train/dataset.h"
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

  /* Fine-tuning on the user's cases (all 0 in a plain training run). */
  int n_user_dirs;                /* data_dirs[0 … n−1] hold the user's cases */
  double holdout_slice_fraction;  /* of each user case's slices, held out (0 to 0.5; 0: off) */
  int holdout_gap_slices;         /* on either side of a held-out slab, not trained on (4) */
  /* The share of the training slices drawn from the user's cases (0.5):
   * one 300-slice scan is neither drowned by the 649 original slices nor
   * drowns them, whatever the sizes; 0: every case weighs as in a plain run. */
  double user_share;
  int steps_per_epoch;            /* steps between validations; 0: one pass over the training slices */
  /* 0: no limit. Else the whole run (loading and validation included, and
   * the time of the runs it resumes) ends by then: the learning rate decays
   * over the time as well as the steps, and when a step and the last
   * validation would no longer fit, the epoch in progress is the last. The
   * clock decides where such a run stops, so it is not reproducible step for
   * step. */
  double max_seconds;
} PulmoTrainOptions;

/* Pulmo's defaults for the shipped model (base 16, depth 4, 256², batch 8,
 * 100 epochs, lr 2e-3, a fifth of each kind of case for validation); for a
 * fine-tune, gaps of 4 slices and a user share of 0.5. */
void pulmo_train_options_init (PulmoTrainOptions *options);
/* A fine-tune of the --init model on the first @n_user_dirs folders (the
 * user's corrected cases) mixed with the rest: a fifth of each user case's
 * slices held out in slabs, a validation every 60 steps, a peak learning rate
 * of 2e-4 (a tenth of training's: it moves a trained model gently) and, with
 * @max_seconds > 0, the clock ending the run. */
void pulmo_train_options_finetune (PulmoTrainOptions *options, int n_user_dirs, double max_seconds);
/* Seconds-long settings for tests: 64², base 8, depth 3, two slices per case. */
void pulmo_train_options_quick (PulmoTrainOptions *options);

typedef struct {
  int epoch, epochs;              /* the epoch in progress, from 1 */
  int step, steps_per_epoch;      /* steps done in this epoch */
  double loss;                    /* mean training loss of this epoch so far */
  double elapsed_seconds, eta_seconds;
  double waiting_seconds;         /* of this epoch, spent waiting for augmented batches */
  gboolean epoch_done;            /* the validation figures below are this epoch's */
  /* Over everything validated: the mean of the held-out slices' Dice and the
   * whole validation cases' Dice (either alone where the other has no data).
   * What pulmo_train_not_worse weighs. */
  double validation_dice[PULMO_EVAL_N_STRUCTURES];   /* NaN where no data */
  double initial_dice[PULMO_EVAL_N_STRUCTURES];      /* the init model's; NaN without one */
  /* The same on the held-out slices alone and on the whole cases alone. */
  double holdout_dice[PULMO_EVAL_N_STRUCTURES], initial_holdout_dice[PULMO_EVAL_N_STRUCTURES];
  double case_dice[PULMO_EVAL_N_STRUCTURES], initial_case_dice[PULMO_EVAL_N_STRUCTURES];
  int n_train_cases, n_validation_cases;
  size_t n_train_samples;          /* slices trained on */
  size_t n_user_train_samples;     /* of which from the user's cases */
  size_t n_holdout_samples;        /* held-out slices validated on */
  size_t n_gap_samples;            /* slices beside them, used for neither */
  const char *const *validation_ids;   /* whole cases; NULL-terminated */
  /* "ID:A-B+C-D": held-out sample ranges (inclusive) of a case; NULL-terminated. */
  const char *const *holdout_slices;
} PulmoTrainProgress;

typedef void (*PulmoTrainReport) (const PulmoTrainProgress *progress, gpointer user_data);

/* What "better" means when a fine-tune is weighed against its starting model:
 * the mean of the lung and infection Dice that validation could measure
 * (NaN if neither). A fine-tune is kept only if its score is not lower. */
double pulmo_train_score (const double dice[PULMO_EVAL_N_STRUCTURES]);
gboolean pulmo_train_not_worse (const double before[PULMO_EVAL_N_STRUCTURES],
                                const double after[PULMO_EVAL_N_STRUCTURES]);

/* What each sample of @dataset (loaded for the run's model) is for in a new
 * run with @options: @roles gets dataset->n_samples entries. pulmo_train
 * trains on exactly the samples this marks PULMO_SAMPLE_TRAIN. */
gboolean pulmo_train_split (const PulmoTrainOptions *options, const PulmoDataset *dataset,
                            PulmoSampleRole *roles, GError **error);

/* Trains, reporting after every step and epoch (and once before the first
 * epoch of a fine-tune, with initial_dice). FALSE with the reason (a
 * dataset problem names its case) or G_IO_ERROR_CANCELLED. */
gboolean pulmo_train (const PulmoTrainOptions *options, PulmoTrainReport report, gpointer user_data,
                      GCancellable *cancellable, GError **error);

G_END_DECLS
