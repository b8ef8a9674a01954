/* trainer.c: the training loop (see trainer.h). */
#include "train/trainer.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "core/pulmo-error.h"
#include "core/pulmo-label-map.h"
#include "nn/label-mask.h"
#include "nn/loss.h"
#include "nn/rng.h"
#include "nn/unet.h"
#include "nn/weights.h"
#include "segment/preprocess.h"
#include "segment/segment.h"
#include "train/augment.h"
#include "train/checkpoint.h"
#include "train/dataset.h"

/* Batches the augmentation thread may prepare ahead of the compute. */
#define QUEUE_AHEAD 3
#define N_CLASSES 4

void
pulmo_train_options_init (PulmoTrainOptions *options)
{
  *options = (PulmoTrainOptions) {
    .validation_fraction = 0.2,
    .epochs = 100,
    .base = 16,
    .depth = 4,
    .input_size = 256,
    .batch = 8,
    .lr = 2e-3,
    .seed = 1,
    .checkpoint_seconds = 180,
    .holdout_gap_slices = 4,
    .user_share = 0.5,
  };
}

void
pulmo_train_options_finetune (PulmoTrainOptions *options, int n_user_dirs, double max_seconds)
{
  options->n_user_dirs = n_user_dirs;
  options->holdout_slice_fraction = 0.2;
  options->steps_per_epoch = 60;
  options->lr = 2e-4;
  options->max_seconds = max_seconds;
  if (max_seconds > 0)
    options->epochs = 1000;
}

void
pulmo_train_options_quick (PulmoTrainOptions *options)
{
  options->epochs = 6;
  options->base = 8;
  options->depth = 3;
  options->input_size = 64;
  options->max_samples_per_case = 2;
  options->checkpoint_seconds = 0;
}

/* The preprocessing every model Pulmo trains carries: the slice's own range
 * to 8 bits and CLAHE (clip 7, 8×8 tiles), as the COVID-19-CT-Seg images it
 * learns from were made; HU below -1024 (outside the scanner's field of view)
 * count as air. */
static void
model_info_init (PulmoModelInfo *info, int input_size)
{
  static const struct {
    guint8 value, rgba[4];
    const char *name;
  } classes[N_CLASSES] = {
    { 0, { 0, 0, 0, 0 }, "background" },
    { 6, { 80, 140, 255, 255 }, "lung" },
    { 3, { 255, 220, 0, 255 }, "ground-glass opacity" },
    { 4, { 230, 40, 40, 255 }, "consolidation" },
  };
  *info = (PulmoModelInfo) {
    .normalisation = PULMO_NORMALISE_SLICE_MINMAX,
    .window_hu_low = -1024, .window_hu_high = 3071,
    .window_gray8_low = 0, .window_gray8_high = 255,
    .clahe_clip = 7, .clahe_tiles = 8,
    .input_width = input_size, .input_height = input_size,
    .n_slices = 1,
    .n_labels = N_CLASSES,
    .labels = g_new0 (PulmoModelLabel, N_CLASSES),
  };
  for (int c = 0; c < N_CLASSES; c++)
    {
      info->labels[c].value = classes[c].value;
      memcpy (info->labels[c].rgba, classes[c].rgba, 4);
      info->labels[c].name = g_strdup (classes[c].name);
    }
}

/* ---- Sampling and the augmentation thread ------------------------------- */

typedef struct {
  float *images;      /* batch × pixels */
  uint16_t *masks;    /* batch × pixels */
} Batch;

typedef struct {
  const PulmoDataset *dataset;
  const PulmoModelInfo *info;
  const double *cumulative;   /* sampling weights of the training samples, summed */
  const size_t *train_samples;
  size_t n_train;
  int batch, steps_per_epoch;
  int first_epoch, epochs;
  guint64 seed;
  GAsyncQueue *ready;         /* Batch* in order */
  GAsyncQueue *free_batches;  /* recycled Batch* */
  gint stop;
} Producer;

static guint64
mix_seed (guint64 seed, guint64 a, guint64 b)
{
  /* splitmix64 finaliser over the three: nearby epochs get unrelated streams. */
  guint64 z = seed + 0x9e3779b97f4a7c15ull * (a + 1) + 0xbf58476d1ce4e5b9ull * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static size_t
draw_sample (const Producer *p, PulmoRng *rng)
{
  double target = pulmo_rng_uniform (rng) * p->cumulative[p->n_train - 1];
  size_t lo = 0, hi = p->n_train - 1;
  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;
      if (p->cumulative[mid] > target)
        hi = mid;
      else
        lo = mid + 1;
    }
  return p->train_samples[lo];
}

static gpointer
produce (gpointer data)
{
  Producer *p = data;
  const PulmoDataset *ds = p->dataset;
  size_t pixels = (size_t) ds->width * ds->height;
  PulmoAugmentOptions augment = { TRUE, TRUE };
  g_autofree float *image = g_new (float, pixels);
  g_autofree uint8_t *labels = g_malloc (pixels);
  g_autofree uint8_t *equalised = g_malloc (pixels);
  g_autofree uint8_t *acquired = g_malloc (pixels);

  for (int epoch = p->first_epoch; epoch < p->epochs; epoch++)
    for (int step = 0; step < p->steps_per_epoch; step++)
      {
        Batch *batch = g_async_queue_pop (p->free_batches);
        if (g_atomic_int_get (&p->stop))
          return NULL;
        PulmoRng rng;
        pulmo_rng_init (&rng, mix_seed (p->seed, (guint64) epoch, (guint64) step));
        for (int b = 0; b < p->batch; b++)
          {
            size_t s = draw_sample (p, &rng);
            const uint8_t *grey = ds->images + s * pixels;
            if (pulmo_augment_acquisition (&rng, grey, ds->width, ds->height, acquired))
              grey = acquired;
            /* 8-bit slices come with or without local contrast (their own, if
             * any, or none): half of them get the CLAHE that HU input gets. */
            if (ds->cases[ds->sample_case[s]].prewindowed && pulmo_rng_below (&rng, 2))
              {
                pulmo_clahe (grey, ds->width, ds->height, p->info->clahe_clip,
                             p->info->clahe_tiles, p->info->clahe_tiles, equalised);
                grey = equalised;
              }
            float *source = batch->images + b * pixels; /* scratch until augmented */
            for (size_t i = 0; i < pixels; i++)
              source[i] = grey[i] * (1.0f / 255);
            pulmo_augment (&rng, &augment, source, ds->labels + s * pixels, ds->width, ds->height,
                           image, labels);
            memcpy (source, image, pixels * sizeof (float));
            pulmo_label_masks_from_labels (labels, pixels, N_CLASSES, batch->masks + b * pixels,
                                           NULL);
          }
        g_async_queue_push (p->ready, batch);
      }
  return NULL;
}

/* ---- Validation -------------------------------------------------------- */

typedef struct {
  PulmoVolume *volume;
  PulmoLabelMap *reference;
} ValidationCase;

typedef struct {
  GPtrArray *cases;              /* ValidationCase: whole cases, segmented as a user's CT */
  const PulmoDataset *dataset;   /* and the held-out slices, judged where the dataset keeps them */
  const size_t *held_out;        /* their sample indices */
  size_t n_held_out;
} Validation;

/* The network's most probable class on each pixel of the held-out slices,
 * on the model's input grid (the argmax of the logits: softmax keeps the
 * order), against the slices' labels there. */
static void
count_held_out (PulmoUNet *net, const PulmoModelInfo *info, const Validation *v,
                PulmoEvalCounts counts[], GCancellable *cancellable)
{
  if (v->n_held_out == 0)
    return;
  const PulmoDataset *ds = v->dataset;
  size_t pixels = (size_t) ds->width * ds->height;
  int classes = pulmo_unet_get_config (net)->classes;
  g_autoptr (PulmoTensor) input = pulmo_tensor_new (1, 1, ds->height, ds->width);
  g_autoptr (PulmoTensor) logits = pulmo_tensor_new (1, classes, ds->height, ds->width);
  g_autoptr (PulmoUNetWorkspace) ws = pulmo_unet_workspace_new (net, ds->height, ds->width);
  g_autofree const float **planes = g_new (const float *, classes);
  g_autofree uint8_t *predicted = g_malloc (pixels);
  for (int c = 0; c < classes; c++)
    planes[c] = pulmo_tensor_plane (logits, 0, c);
  for (size_t i = 0; i < v->n_held_out; i++)
    {
      if (g_cancellable_is_cancelled (cancellable))
        return;
      size_t s = v->held_out[i];
      const uint8_t *grey = ds->images + s * pixels;
      for (size_t p = 0; p < pixels; p++)
        input->data[p] = grey[p] * (1.0f / 255);
      pulmo_unet_infer (net, ws, input, logits);
      for (size_t p = 0; p < pixels; p++)
        {
          int best = 0;
          for (int c = 1; c < classes; c++)
            if (planes[c][p] > planes[best][p])
              best = c;
          predicted[p] = info->labels[best].value;
        }
      pulmo_eval_count (predicted, ds->labels + s * pixels, pixels, counts);
    }
}

/* Dice over everything validated (@all), over the held-out slices alone
 * and over the whole cases alone; NaN where there is nothing. */
static void
validate (PulmoUNet *net, const PulmoModelInfo *info, const Validation *v, double all[],
          double held_out[], double whole[], GCancellable *cancellable)
{
  PulmoEvalCounts slices[PULMO_EVAL_N_STRUCTURES] = { 0 };
  PulmoEvalCounts cases[PULMO_EVAL_N_STRUCTURES] = { 0 };
  count_held_out (net, info, v, slices, cancellable);
  for (guint c = 0; c < v->cases->len; c++)
    {
      ValidationCase *vc = g_ptr_array_index (v->cases, c);
      size_t n = pulmo_volume_get_n_voxels (vc->volume);
      g_autofree uint8_t *predicted = g_malloc (n);
      if (!pulmo_segment_volume (net, info, vc->volume, predicted, NULL, NULL, cancellable, NULL))
        break;
      pulmo_eval_count (predicted, pulmo_label_map_get_data (vc->reference), n, cases);
    }
  for (int s = 0; s < PULMO_EVAL_N_STRUCTURES; s++)
    {
      held_out[s] = pulmo_eval_dice (&slices[s]);
      whole[s] = pulmo_eval_dice (&cases[s]);
      /* The two sets weigh equally, not by their voxels: a few held-out
       * slices of the user's scan would otherwise count for nothing beside
       * whole original cases, and the original cases are what shows forgetting. */
      all[s] = isnan (held_out[s]) ? whole[s] : isnan (whole[s]) ? held_out[s] : 0.5 * (held_out[s] + whole[s]);
    }
}

static void
validation_case_free (gpointer data)
{
  ValidationCase *vc = data;
  g_object_unref (vc->reference);
  pulmo_volume_unref (vc->volume);
  g_free (vc);
}

static GPtrArray *
load_validation_cases (const PulmoDataset *ds, const gboolean *is_validation, GError **error)
{
  g_autoptr (GPtrArray) cases = g_ptr_array_new_with_free_func (validation_case_free);
  for (int c = 0; c < ds->n_cases; c++)
    {
      if (!is_validation[c])
        continue;
      PulmoVolume *volume = pulmo_volume_load (ds->cases[c].image_path, NULL, NULL, error);
      if (volume == NULL)
        return NULL;
      PulmoLabelMap *map = pulmo_label_map_load (volume, ds->cases[c].label_path, NULL, NULL, error);
      if (map == NULL)
        {
          pulmo_volume_unref (volume);
          return NULL;
        }
      ValidationCase *vc = g_new (ValidationCase, 1);
      vc->volume = volume;
      vc->reference = map;
      g_ptr_array_add (cases, vc);
    }
  return g_steal_pointer (&cases);
}

/* ---- The split --------------------------------------------------------- */

static gboolean
is_user_case (const PulmoTrainOptions *o, const PulmoDataset *ds, int c)
{
  return ds->cases[c].dir_index < o->n_user_dirs;
}

/* Marks the samples of @ranges ("A-B+C-D", inclusive, from a checkpoint)
 * of case @c held out. */
static gboolean
parse_held_out (const PulmoDataset *ds, int c, const char *ranges, PulmoSampleRole *roles,
                GError **error)
{
  const PulmoDatasetCase *pc = &ds->cases[c];
  g_auto (GStrv) parts = g_strsplit (ranges, "+", -1);
  for (int i = 0; parts[i] != NULL; i++)
    {
      char *end;
      gint64 first = g_ascii_strtoll (parts[i], &end, 10), last = -1;
      if (*end == '-')
        last = g_ascii_strtoll (end + 1, &end, 10);
      if (*end != '\0' || first < 0 || last < first || last >= pc->n_samples)
        return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                            _("the held-out slices “%s” of case %s do not fit its %d slices"),
                            parts[i], pc->id, pc->n_samples), FALSE;
      for (gint64 s = first; s <= last; s++)
        roles[pc->first_sample + (size_t) s] = PULMO_SAMPLE_HELD_OUT;
    }
  return TRUE;
}

/* The gaps beside held-out slabs given as ranges: what
 * pulmo_dataset_hold_out_slices leaves out around the slabs it chooses. */
static void
mark_gaps (const PulmoDataset *ds, int c, int gap, PulmoSampleRole *roles)
{
  PulmoSampleRole *r = roles + ds->cases[c].first_sample;
  int n = ds->cases[c].n_samples;
  for (int s = 0; s < n; s++)
    if (r[s] == PULMO_SAMPLE_HELD_OUT)
      for (int t = MAX (s - gap, 0); t <= MIN (s + gap, n - 1); t++)
        if (r[t] == PULMO_SAMPLE_TRAIN)
          r[t] = PULMO_SAMPLE_GAP;
}

/* Whole validation cases, then held-out slabs of the user's other cases:
 * from @stored (a checkpoint's list of case ids and "ID:A-B+C-D" entries)
 * when resuming, so that the run goes on with the very same split, else
 * chosen from the options and the seed. */
static gboolean
split_samples (const PulmoTrainOptions *o, const PulmoDataset *ds, char **stored,
               gboolean *is_validation, PulmoSampleRole *roles, GError **error)
{
  gboolean holdout = o->holdout_slice_fraction > 0;
  g_autofree gboolean *eligible = g_new (gboolean, MAX (ds->n_cases, 1));
  for (int c = 0; c < ds->n_cases; c++)
    eligible[c] = !(holdout && is_user_case (o, ds, c));
  g_autoptr (GString) whole = g_string_new (NULL);
  g_autoptr (GPtrArray) slabs = g_ptr_array_new ();
  for (int i = 0; stored != NULL && stored[i] != NULL; i++)
    if (strchr (stored[i], ':') != NULL)
      g_ptr_array_add (slabs, stored[i]);
    else
      g_string_append_printf (whole, "%s%s", whole->len ? "," : "", stored[i]);
  if (!pulmo_dataset_split (ds, stored ? whole->str : o->validation_ids, o->validation_fraction,
                            o->seed, eligible, is_validation, error))
    return FALSE;
  for (int c = 0; c < ds->n_cases; c++)
    for (int s = 0; s < ds->cases[c].n_samples; s++)
      roles[ds->cases[c].first_sample + s] = is_validation[c] ? PULMO_SAMPLE_VALIDATION_CASE
                                                              : PULMO_SAMPLE_TRAIN;
  if (!holdout)
    return TRUE;

  if (stored != NULL)
    {
      for (guint i = 0; i < slabs->len; i++)
        {
          const char *entry = g_ptr_array_index (slabs, i);
          g_autofree char *id = g_strndup (entry, strrchr (entry, ':') - entry);
          int c = 0;
          while (c < ds->n_cases && strcmp (ds->cases[c].id, id) != 0)
            c++;
          if (c == ds->n_cases || is_validation[c])
            return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                                _("the checkpoint holds out slices of case %s, which is not a "
                                "training case of these folders"), id), FALSE;
          if (!parse_held_out (ds, c, strrchr (entry, ':') + 1, roles, error))
            return FALSE;
          mark_gaps (ds, c, o->holdout_gap_slices, roles);
        }
      return TRUE;
    }
  for (int c = 0; c < ds->n_cases; c++)
    if (is_user_case (o, ds, c) && !is_validation[c])
      pulmo_dataset_hold_out_slices (ds, c, o->holdout_slice_fraction, o->holdout_gap_slices,
                                     o->seed, roles + ds->cases[c].first_sample);
  return TRUE;
}

/* The split as the checkpoint keeps it: whole validation case ids, and an
 * "ID:A-B+C-D" entry of held-out ranges for every case with any. */
static void
describe_split (const PulmoDataset *ds, const gboolean *is_validation,
                const PulmoSampleRole *roles, GStrv *whole_ids, GStrv *holdout_entries)
{
  GPtrArray *whole = g_ptr_array_new (), *slabs = g_ptr_array_new ();
  for (int c = 0; c < ds->n_cases; c++)
    {
      if (is_validation[c])
        {
          g_ptr_array_add (whole, g_strdup (ds->cases[c].id));
          continue;
        }
      const PulmoSampleRole *r = roles + ds->cases[c].first_sample;
      int n = ds->cases[c].n_samples, n_ranges = 0;
      GString *entry = g_string_new (ds->cases[c].id);
      for (int s = 0; s < n; s++)
        if (r[s] == PULMO_SAMPLE_HELD_OUT && (s == 0 || r[s - 1] != PULMO_SAMPLE_HELD_OUT))
          {
            int last = s;
            while (last + 1 < n && r[last + 1] == PULMO_SAMPLE_HELD_OUT)
              last++;
            g_string_append_printf (entry, "%c%d-%d", n_ranges++ ? '+' : ':', s, last);
          }
      if (n_ranges > 0)
        g_ptr_array_add (slabs, g_string_free (entry, FALSE));
      else
        g_string_free (entry, TRUE);
    }
  g_ptr_array_add (whole, NULL);
  g_ptr_array_add (slabs, NULL);
  *whole_ids = (GStrv) g_ptr_array_free (whole, FALSE);
  *holdout_entries = (GStrv) g_ptr_array_free (slabs, FALSE);
}

gboolean
pulmo_train_split (const PulmoTrainOptions *options, const PulmoDataset *dataset,
                   PulmoSampleRole *roles, GError **error)
{
  g_return_val_if_fail (options != NULL && dataset != NULL && roles != NULL, FALSE);
  g_autofree gboolean *is_validation = g_new0 (gboolean, MAX (dataset->n_cases, 1));
  return split_samples (options, dataset, NULL, is_validation, roles, error);
}

/* ---- The run ----------------------------------------------------------- */

static const PulmoEvalStructure logged[] = {
  PULMO_EVAL_LUNG, PULMO_EVAL_INFECTION, PULMO_EVAL_GROUND_GLASS, PULMO_EVAL_CONSOLIDATION,
};

static void
append_log_header (GString *log)
{
  g_string_append (log, "epoch,steps,lr,loss,seconds");
  for (size_t i = 0; i < G_N_ELEMENTS (logged); i++)
    g_string_append_printf (log, ",val_dice_%s", pulmo_eval_structure_key (logged[i]));
  g_string_append_c (log, '\n');
}

static void
append_log_row (GString *log, int epoch, int steps, double lr, double loss, double seconds,
                const double dice[])
{
  char number[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append_printf (log, "%d,%d,", epoch, steps);
  g_string_append (log, g_ascii_formatd (number, sizeof number, "%.6g", lr));
  g_string_append_c (log, ',');
  g_string_append (log, g_ascii_formatd (number, sizeof number, "%.5f", loss));
  g_string_append_c (log, ',');
  g_string_append (log, g_ascii_formatd (number, sizeof number, "%.1f", seconds));
  for (size_t i = 0; i < G_N_ELEMENTS (logged); i++)
    {
      g_string_append_c (log, ',');
      if (!isnan (dice[logged[i]]))
        g_string_append (log, g_ascii_formatd (number, sizeof number, "%.4f", dice[logged[i]]));
    }
  g_string_append_c (log, '\n');
}

/* Poly decay (nnU-Net's) after a one-epoch linear warm-up, over the steps
 * or, in a run bounded by the clock, over the time if that runs out first
 * (@time_fraction: of the time for training, used). */
static double
learning_rate (const PulmoTrainOptions *options, int step, int steps_per_epoch,
               double time_fraction)
{
  double total = (double) options->epochs * steps_per_epoch;
  double warm = MIN (1.0, (step + 1.0) / steps_per_epoch);
  double done = MIN (MAX (step / total, time_fraction), 1.0);
  return options->lr * warm * pow (1.0 - done, 0.9);
}

static char *
settings_text (const PulmoTrainOptions *options)
{
  g_autofree char *dirs = g_strjoinv (" ", (char **) options->data_dirs);
  char lr[G_ASCII_DTOSTR_BUF_SIZE], fraction[G_ASCII_DTOSTR_BUF_SIZE];
  char holdout[G_ASCII_DTOSTR_BUF_SIZE], share[G_ASCII_DTOSTR_BUF_SIZE];
  char seconds[G_ASCII_DTOSTR_BUF_SIZE];
  /* Only a fine-tune's text grows, so plain runs' checkpoints still resume. */
  g_autofree char *fine_tune = NULL;
  if (options->n_user_dirs > 0 || options->holdout_slice_fraction > 0
      || options->steps_per_epoch > 0 || options->max_seconds > 0)
    fine_tune = g_strdup_printf (", user folders %d, held-out slices %s, gap %d, user share %s, "
                                 "steps per epoch %d, max seconds %s", options->n_user_dirs,
                                 g_ascii_formatd (holdout, sizeof holdout, "%g",
                                                  options->holdout_slice_fraction),
                                 options->holdout_gap_slices,
                                 g_ascii_formatd (share, sizeof share, "%g", options->user_share),
                                 options->steps_per_epoch,
                                 g_ascii_formatd (seconds, sizeof seconds, "%g",
                                                  options->max_seconds));
  return g_strdup_printf ("init %s, epochs %d, base %d, depth %d, input %d, batch %d, lr %s, seed %"
                          G_GUINT64_FORMAT ", slices per case %d, validation %s, data %s%s",
                          options->init_path ? options->init_path : "none", options->epochs,
                          options->base, options->depth, options->input_size,
                          options->batch, g_ascii_formatd (lr, sizeof lr, "%g", options->lr),
                          options->seed, options->max_samples_per_case,
                          options->validation_ids ? options->validation_ids
                            : g_ascii_formatd (fraction, sizeof fraction, "%g",
                                               options->validation_fraction),
                          dirs, fine_tune ? fine_tune : "");
}

static gboolean
check_options (const PulmoTrainOptions *o, GError **error)
{
  if (o->data_dirs == NULL || o->data_dirs[0] == NULL)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, _("no dataset folder given")), FALSE;
  if (o->out_path == NULL)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, _("no output model file given")),
           FALSE;
  if (o->epochs < 1 || o->epochs > 100000 || o->batch < 1 || o->batch > 256 || !(o->lr > 0)
      || !(o->lr < 1) || !(o->validation_fraction >= 0 && o->validation_fraction < 1))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("epochs must be 1 to 100000, the batch 1 to 256, the learning rate "
                        "between 0 and 1 and the validation fraction from 0 to below 1")), FALSE;
  int n_dirs = (int) g_strv_length ((char **) o->data_dirs);
  if (o->n_user_dirs < 0 || o->n_user_dirs > n_dirs)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("%d of the %d dataset folders cannot be the user's"), o->n_user_dirs,
                        n_dirs), FALSE;
  if (!(o->holdout_slice_fraction >= 0 && o->holdout_slice_fraction <= 0.5)
      || o->holdout_gap_slices < 0 || o->holdout_gap_slices > 100
      || !(o->user_share >= 0 && o->user_share < 1) || o->steps_per_epoch < 0
      || o->steps_per_epoch > 1000000 || !(o->max_seconds >= 0))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("the held-out fraction must be 0 to 0.5, the gap 0 to 100 slices, the "
                        "user share from 0 to below 1, the steps per epoch 0 to 1000000 and "
                        "the time limit 0 or more seconds")), FALSE;
  if (o->holdout_slice_fraction > 0 && o->n_user_dirs == 0)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("slices are held out of the user's cases: say which dataset folders "
                        "hold them")), FALSE;
  PulmoUNetConfig config = { 1, o->base, o->depth, N_CLASSES };
  if (!pulmo_unet_config_check (&config, error))
    return FALSE;
  int step = 1 << o->depth;
  if (o->input_size < step || o->input_size > PULMO_WEIGHTS_MAX_SIZE || o->input_size % step != 0)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("the input size %d must be a multiple of %d up to %d"), o->input_size, step,
                        PULMO_WEIGHTS_MAX_SIZE), FALSE;
  return TRUE;
}

double
pulmo_train_score (const double dice[PULMO_EVAL_N_STRUCTURES])
{
  double sum = 0;
  int n = 0;
  for (int s = PULMO_EVAL_LUNG; s <= PULMO_EVAL_INFECTION; s++)
    if (!isnan (dice[s]))
      {
        sum += dice[s];
        n++;
      }
  return n ? sum / n : NAN;
}

gboolean
pulmo_train_not_worse (const double before[PULMO_EVAL_N_STRUCTURES],
                       const double after[PULMO_EVAL_N_STRUCTURES])
{
  double a = pulmo_train_score (before), b = pulmo_train_score (after);
  return isnan (a) || (!isnan (b) && b >= a);
}

/* The checkpoint after @epochs_done epochs; @save_seconds gets how long the
 * writing took, for a run bounded by the clock to keep time for it. */
static gboolean
save_checkpoint (const char *path, PulmoCheckpointState *state, int epochs_done, double seconds,
                 const GString *log, const PulmoUNet *net, const PulmoModelInfo *info,
                 PulmoAdamW *optim, double *save_seconds, GError **error)
{
  gint64 start = g_get_monotonic_time ();
  state->epochs_done = epochs_done;
  state->seconds = seconds;
  g_free (state->log);
  state->log = g_strdup (log->str);
  gboolean ok = pulmo_checkpoint_save (path, state, net, info, optim, error);
  *save_seconds = (g_get_monotonic_time () - start) * 1e-6;
  return ok;
}

gboolean
pulmo_train (const PulmoTrainOptions *options, PulmoTrainReport report, gpointer user_data,
             GCancellable *cancellable, GError **error)
{
  if (!check_options (options, error))
    return FALSE;
  /* max_seconds counts from here: reading the data is part of the wait. */
  g_autoptr (GTimer) run_timer = g_timer_new ();
  g_autofree char *checkpoint_path = options->checkpoint_path
    ? g_strdup (options->checkpoint_path) : g_strconcat (options->out_path, ".checkpoint", NULL);
  g_autofree char *log_path = options->log_path
    ? g_strdup (options->log_path) : g_strconcat (options->out_path, ".csv", NULL);
  g_autofree char *settings = settings_text (options);
  PulmoAdamWConfig adamw_config = pulmo_adamw_config_default ();
  adamw_config.lr = (float) options->lr;

  g_autoptr (PulmoUNet) net = NULL;
  g_autoptr (PulmoAdamW) optim = NULL;
  g_auto (PulmoModelInfo) info = { 0 };
  PulmoCheckpointState state = { 0 };
  if (options->resume)
    {
      net = pulmo_checkpoint_load (checkpoint_path, &state, &info, &adamw_config, &optim, error);
      if (net == NULL)
        return FALSE;
      if (g_strcmp0 (state.settings, settings) != 0)
        {
          g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                       _("the checkpoint was made with other settings (%s) than this run's (%s)"),
                       state.settings, settings);
          pulmo_checkpoint_state_clear (&state);
          return FALSE;
        }
    }
  else
    {
      if (options->init_path != NULL)
        net = pulmo_checkpoint_load_model (options->init_path, &info, error);
      else
        {
          model_info_init (&info, options->input_size);
          PulmoUNetConfig config = { 1, options->base, options->depth, N_CLASSES };
          net = pulmo_unet_new (&config, options->seed);
        }
      if (net == NULL)
        return FALSE;
      optim = pulmo_unet_adamw_new (net, &adamw_config);
      state.settings = g_strdup (settings);
    }

  g_autoptr (PulmoDataset) dataset = pulmo_dataset_load (options->data_dirs, &info,
                                                         options->max_samples_per_case,
                                                         cancellable, error);
  if (dataset == NULL)
    {
      pulmo_checkpoint_state_clear (&state);
      return FALSE;
    }
  g_autofree gboolean *is_validation = g_new0 (gboolean, MAX (dataset->n_cases, 1));
  g_autofree PulmoSampleRole *roles = g_new (PulmoSampleRole, MAX (dataset->n_samples, 1));
  if (!split_samples (options, dataset, state.validation_ids, is_validation, roles, error))
    {
      pulmo_checkpoint_state_clear (&state);
      return FALSE;
    }
  g_auto (GStrv) whole_ids = NULL, holdout_entries = NULL;
  describe_split (dataset, is_validation, roles, &whole_ids, &holdout_entries);
  g_strfreev (state.validation_ids);
  state.validation_ids = g_new0 (char *, g_strv_length (whole_ids) + g_strv_length (holdout_entries) + 1);
  {
    int n = 0;
    for (int i = 0; whole_ids[i] != NULL; i++)
      state.validation_ids[n++] = g_strdup (whole_ids[i]);
    for (int i = 0; holdout_entries[i] != NULL; i++)
      state.validation_ids[n++] = g_strdup (holdout_entries[i]);
  }

  /* Every case weighs the square root of its slice count: a 100-slice volume
   * counts more than one slice, but does not drown the single-slice cases.
   * With a user share, the user's cases together are drawn that often and
   * the others the rest of the time, each group weighted so within. */
  PulmoTrainProgress progress = { .epochs = options->epochs };
  g_autofree size_t *train_samples = g_new (size_t, MAX (dataset->n_samples, 1));
  g_autofree size_t *held_out = g_new (size_t, MAX (dataset->n_samples, 1));
  g_autofree double *cumulative = g_new (double, MAX (dataset->n_samples, 1));
  double group_weight[2] = { 0, 0 };   /* others, the user's */
  for (size_t s = 0; s < dataset->n_samples; s++)
    if (roles[s] == PULMO_SAMPLE_TRAIN)
      {
        int c = dataset->sample_case[s];
        group_weight[is_user_case (options, dataset, c)] += 1.0 / sqrt (dataset->cases[c].n_samples);
      }
  double group_scale[2] = { 1, 1 };
  if (options->user_share > 0 && group_weight[0] > 0 && group_weight[1] > 0)
    {
      group_scale[0] = (1 - options->user_share) / group_weight[0];
      group_scale[1] = options->user_share / group_weight[1];
    }
  size_t n_train = 0;
  double total_weight = 0;
  for (size_t s = 0; s < dataset->n_samples; s++)
    {
      int c = dataset->sample_case[s];
      gboolean user = is_user_case (options, dataset, c);
      if (roles[s] == PULMO_SAMPLE_HELD_OUT)
        held_out[progress.n_holdout_samples++] = s;
      progress.n_gap_samples += roles[s] == PULMO_SAMPLE_GAP;
      if (roles[s] != PULMO_SAMPLE_TRAIN)
        continue;
      total_weight += group_scale[user] / sqrt (dataset->cases[c].n_samples);
      cumulative[n_train] = total_weight;
      train_samples[n_train++] = s;
      progress.n_user_train_samples += user;
    }
  for (int c = 0; c < dataset->n_cases; c++)
    if (is_validation[c])
      progress.n_validation_cases++;
    else
      progress.n_train_cases++;
  progress.n_train_samples = n_train;
  if (n_train == 0 || (options->holdout_slice_fraction > 0 && progress.n_holdout_samples == 0))
    {
      pulmo_checkpoint_state_clear (&state);
      return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, n_train == 0
                            ? _("no training slices are left after choosing the validation cases")
                            : _("no slices can be held out of the user's cases: each is too thin "
                                "for a slab, its gaps and a slice to train on")), FALSE;
    }
  g_autoptr (GPtrArray) validation_cases = load_validation_cases (dataset, is_validation, error);
  if (validation_cases == NULL)
    {
      pulmo_checkpoint_state_clear (&state);
      return FALSE;
    }
  Validation validation = { validation_cases, dataset, held_out, progress.n_holdout_samples };

  progress.validation_ids = (const char *const *) whole_ids;
  progress.holdout_slices = (const char *const *) holdout_entries;
  for (int d = 0; d < PULMO_EVAL_N_STRUCTURES; d++)
    progress.initial_dice[d] = progress.validation_dice[d] = progress.initial_holdout_dice[d]
      = progress.holdout_dice[d] = progress.initial_case_dice[d] = progress.case_dice[d] = NAN;
  /* How long a validation takes, for a run bounded by the clock to keep
   * time for its last one. */
  double validation_seconds = 0;
  if (options->init_path != NULL)
    {
      /* The starting model's figures, to weigh the fine-tune against: the
       * network itself before its first step, else the init file again. */
      g_auto (PulmoModelInfo) init_info = { 0 };
      g_autoptr (PulmoUNet) init = state.epochs_done > 0
        ? pulmo_checkpoint_load_model (options->init_path, &init_info, error) : NULL;
      if (state.epochs_done > 0 && init == NULL)
        {
          pulmo_checkpoint_state_clear (&state);
          return FALSE;
        }
      double started = g_timer_elapsed (run_timer, NULL);
      validate (init ? init : net, init ? &init_info : &info, &validation, progress.initial_dice,
                progress.initial_holdout_dice, progress.initial_case_dice, cancellable);
      validation_seconds = g_timer_elapsed (run_timer, NULL) - started;
      if (report)
        report (&progress, user_data);
    }
  int steps_per_epoch = options->steps_per_epoch > 0 ? options->steps_per_epoch
                                                     : (int) MAX (n_train / (size_t) options->batch, 1);
  progress.steps_per_epoch = steps_per_epoch;
  int hw = info.input_width * info.input_height;
  size_t pixels = (size_t) hw;
  Batch batches[QUEUE_AHEAD + 1];
  Producer producer = {
    .dataset = dataset, .info = &info, .cumulative = cumulative, .train_samples = train_samples,
    .n_train = n_train, .batch = options->batch, .steps_per_epoch = steps_per_epoch,
    .first_epoch = state.epochs_done, .epochs = options->epochs, .seed = options->seed,
    .ready = g_async_queue_new (), .free_batches = g_async_queue_new (),
  };
  for (int b = 0; b < QUEUE_AHEAD + 1; b++)
    {
      batches[b].images = g_new (float, options->batch * pixels);
      batches[b].masks = g_new (uint16_t, options->batch * pixels);
      g_async_queue_push (producer.free_batches, &batches[b]);
    }
  GThread *thread = g_thread_new ("pulmo-augment", produce, &producer);

  g_autoptr (GString) log = g_string_new (state.log);
  if (log->len == 0)
    append_log_header (log);
  g_autoptr (PulmoUNetActivations) acts = pulmo_unet_activations_new (net, options->batch,
                                                                      info.input_height,
                                                                      info.input_width);
  g_autoptr (PulmoTensor) grad = pulmo_tensor_new (options->batch, N_CLASSES, info.input_height,
                                                   info.input_width);
  PulmoSegLossOptions loss_options = { NULL, 1, 1, 1 };
  g_autoptr (GTimer) timer = g_timer_new ();
  double seconds_before = state.seconds, last_checkpoint = 0, step_seconds = 0;
  /* Writing a checkpoint takes about a second; measured after the first. */
  double save_seconds = 1;
  int epochs_done = state.epochs_done, steps_this_run = 0;
  gboolean ok = TRUE, out_of_time = FALSE;

  for (int epoch = state.epochs_done; epoch < options->epochs && ok && !out_of_time; epoch++)
    {
      double loss_sum = 0, lr = 0;
      int steps_done = 0;
      progress.epoch = epoch + 1;
      progress.epoch_done = FALSE;
      progress.waiting_seconds = 0;
      for (int step = 0; step < steps_per_epoch; step++)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            {
              ok = FALSE;
              break;
            }
          /* Time for this step and the last validation and save, or this
           * epoch is the last (but every run takes one step). */
          double used = seconds_before + g_timer_elapsed (run_timer, NULL);
          double for_training = options->max_seconds - validation_seconds - save_seconds;
          if (options->max_seconds > 0 && steps_this_run > 0
              && used + step_seconds > for_training)
            {
              out_of_time = TRUE;
              break;
            }
          double waiting = g_timer_elapsed (timer, NULL);
          Batch *batch = g_async_queue_pop (producer.ready);
          progress.waiting_seconds += g_timer_elapsed (timer, NULL) - waiting;
          PulmoTensor images = { options->batch, 1, info.input_height, info.input_width,
                                 batch->images };
          double started = g_timer_elapsed (timer, NULL);
          double time_fraction = options->max_seconds > 0 ? used / MAX (for_training, 1) : 0;
          lr = learning_rate (options, pulmo_adamw_n_steps (optim), steps_per_epoch, time_fraction);
          pulmo_adamw_set_lr (optim, (float) lr);
          const PulmoTensor *logits = pulmo_unet_forward_train (net, acts, &images);
          loss_sum += pulmo_seg_loss (logits, batch->masks, &loss_options, grad, NULL);
          pulmo_unet_zero_grad (net);
          pulmo_unet_backward (net, acts, grad);
          pulmo_unet_adamw_step (net, optim);
          g_async_queue_push (producer.free_batches, batch);
          steps_done++;
          steps_this_run++;
          /* A running mean of the step time makes the ETA steady. */
          double took = g_timer_elapsed (timer, NULL) - started;
          step_seconds = step_seconds > 0 ? 0.95 * step_seconds + 0.05 * took : took;

          progress.step = step + 1;
          progress.loss = loss_sum / (step + 1);
          progress.elapsed_seconds = seconds_before + g_timer_elapsed (timer, NULL);
          double steps_left = (double) (options->epochs - epoch) * steps_per_epoch - step - 1;
          progress.eta_seconds = steps_left * step_seconds;
          if (options->max_seconds > 0)
            progress.eta_seconds = MIN (progress.eta_seconds,
                                        MAX (options->max_seconds - used - took, 0));
          if (report)
            report (&progress, user_data);
        }
      /* Out of time before this epoch's first step: the one before is the last. */
      if (!ok || steps_done == 0)
        break;

      double started = g_timer_elapsed (run_timer, NULL);
      validate (net, &info, &validation, progress.validation_dice, progress.holdout_dice,
                progress.case_dice, cancellable);
      validation_seconds = g_timer_elapsed (run_timer, NULL) - started;
      double elapsed = seconds_before + g_timer_elapsed (timer, NULL);
      append_log_row (log, epoch + 1, pulmo_adamw_n_steps (optim), lr, progress.loss, elapsed,
                      progress.validation_dice);
      g_autoptr (GError) log_error = NULL;
      if (!g_file_set_contents (log_path, log->str, (gssize) log->len, &log_error))
        g_warning ("%s", log_error->message);
      progress.epoch_done = TRUE;
      progress.elapsed_seconds = elapsed;
      epochs_done = epoch + 1;
      if (report)
        report (&progress, user_data);

      gboolean last = epoch + 1 == options->epochs || out_of_time;
      if (last || g_timer_elapsed (timer, NULL) - last_checkpoint >= options->checkpoint_seconds)
        {
          ok = save_checkpoint (checkpoint_path, &state, epochs_done, elapsed, log, net, &info,
                                optim, &save_seconds, error);
          last_checkpoint = g_timer_elapsed (timer, NULL);
        }
    }
  /* A run that ran out of time between epochs ends with the last one saved. */
  if (ok && state.epochs_done != epochs_done)
    ok = save_checkpoint (checkpoint_path, &state, epochs_done, progress.elapsed_seconds, log, net,
                          &info, optim, &save_seconds, error);

  /* Stop the augmentation thread: it waits for a free batch, then sees stop. */
  g_atomic_int_set (&producer.stop, 1);
  for (int b = 0; b < QUEUE_AHEAD + 1; b++)
    g_async_queue_push (producer.free_batches, &batches[b]);
  g_thread_join (thread);
  for (int b = 0; b < QUEUE_AHEAD + 1; b++)
    {
      g_free (batches[b].images);
      g_free (batches[b].masks);
    }
  g_async_queue_unref (producer.ready);
  g_async_queue_unref (producer.free_batches);
  pulmo_checkpoint_state_clear (&state);

  return ok && pulmo_weights_save (options->out_path, net, &info, error);
}
