/* trainer.c: the training loop (see trainer.h). */
#include "train/trainer.h"

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
  };
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

static void
validate (PulmoUNet *net, const PulmoModelInfo *info, GPtrArray *cases, double dice[],
          GCancellable *cancellable)
{
  PulmoEvalCounts counts[PULMO_EVAL_N_STRUCTURES] = { 0 };
  for (guint c = 0; c < cases->len; c++)
    {
      ValidationCase *vc = g_ptr_array_index (cases, c);
      size_t n = pulmo_volume_get_n_voxels (vc->volume);
      g_autofree uint8_t *predicted = g_malloc (n);
      if (!pulmo_segment_volume (net, info, vc->volume, predicted, NULL, NULL, cancellable, NULL))
        break;
      pulmo_eval_count (predicted, pulmo_label_map_get_data (vc->reference), n, counts);
    }
  for (int s = 0; s < PULMO_EVAL_N_STRUCTURES; s++)
    dice[s] = pulmo_eval_dice (&counts[s]);
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

/* Poly decay (nnU-Net's) after a one-epoch linear warm-up. */
static double
learning_rate (const PulmoTrainOptions *options, int step, int steps_per_epoch)
{
  int total = options->epochs * steps_per_epoch;
  double warm = MIN (1.0, (step + 1.0) / steps_per_epoch);
  return options->lr * warm * pow (1.0 - (double) step / total, 0.9);
}

static char *
settings_text (const PulmoTrainOptions *options)
{
  g_autofree char *dirs = g_strjoinv (" ", (char **) options->data_dirs);
  char lr[G_ASCII_DTOSTR_BUF_SIZE], fraction[G_ASCII_DTOSTR_BUF_SIZE];
  return g_strdup_printf ("init %s, epochs %d, base %d, depth %d, input %d, batch %d, lr %s, seed %"
                          G_GUINT64_FORMAT ", slices per case %d, validation %s, data %s",
                          options->init_path ? options->init_path : "none", options->epochs,
                          options->base, options->depth, options->input_size,
                          options->batch, g_ascii_formatd (lr, sizeof lr, "%g", options->lr),
                          options->seed, options->max_samples_per_case,
                          options->validation_ids ? options->validation_ids
                            : g_ascii_formatd (fraction, sizeof fraction, "%g",
                                               options->validation_fraction),
                          dirs);
}

static gboolean
check_options (const PulmoTrainOptions *o, GError **error)
{
  if (o->data_dirs == NULL || o->data_dirs[0] == NULL)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, "no dataset folder given"), FALSE;
  if (o->out_path == NULL)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, "no output model file given"),
           FALSE;
  if (o->epochs < 1 || o->epochs > 100000 || o->batch < 1 || o->batch > 256 || !(o->lr > 0)
      || !(o->lr < 1) || !(o->validation_fraction >= 0 && o->validation_fraction < 1))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        "epochs must be 1 to 100000, the batch 1 to 256, the learning rate "
                        "between 0 and 1 and the validation fraction from 0 to below 1"), FALSE;
  PulmoUNetConfig config = { 1, o->base, o->depth, N_CLASSES };
  if (!pulmo_unet_config_check (&config, error))
    return FALSE;
  int step = 1 << o->depth;
  if (o->input_size < step || o->input_size > PULMO_WEIGHTS_MAX_SIZE || o->input_size % step != 0)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        "the input size %d must be a multiple of %d up to %d", o->input_size, step,
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

gboolean
pulmo_train (const PulmoTrainOptions *options, PulmoTrainReport report, gpointer user_data,
             GCancellable *cancellable, GError **error)
{
  if (!check_options (options, error))
    return FALSE;
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
                       "the checkpoint was made with other settings (%s) than this run's (%s)",
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
  g_autofree char *chosen_ids = NULL;
  if (state.validation_ids != NULL)
    chosen_ids = g_strjoinv (",", state.validation_ids);
  if (!pulmo_dataset_split (dataset, chosen_ids ? chosen_ids : options->validation_ids,
                            options->validation_fraction, options->seed, is_validation, error))
    {
      pulmo_checkpoint_state_clear (&state);
      return FALSE;
    }
  if (state.validation_ids == NULL)
    {
      GPtrArray *ids = g_ptr_array_new ();
      for (int c = 0; c < dataset->n_cases; c++)
        if (is_validation[c])
          g_ptr_array_add (ids, g_strdup (dataset->cases[c].id));
      g_ptr_array_add (ids, NULL);
      state.validation_ids = (char **) g_ptr_array_free (ids, FALSE);
    }

  /* Every case weighs the square root of its slice count: a 100-slice volume
   * counts more than one slice, but does not drown the single-slice cases. */
  PulmoTrainProgress progress = { .epochs = options->epochs };
  g_autofree size_t *train_samples = g_new (size_t, MAX (dataset->n_samples, 1));
  g_autofree double *cumulative = g_new (double, MAX (dataset->n_samples, 1));
  size_t n_train = 0;
  double total_weight = 0;
  for (size_t s = 0; s < dataset->n_samples; s++)
    {
      const PulmoDatasetCase *c = &dataset->cases[dataset->sample_case[s]];
      if (is_validation[dataset->sample_case[s]])
        continue;
      total_weight += 1.0 / sqrt (c->n_samples);
      cumulative[n_train] = total_weight;
      train_samples[n_train++] = s;
    }
  for (int c = 0; c < dataset->n_cases; c++)
    if (is_validation[c])
      progress.n_validation_cases++;
    else
      progress.n_train_cases++;
  progress.n_train_samples = n_train;
  if (n_train == 0)
    {
      pulmo_checkpoint_state_clear (&state);
      return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                          "no training slices are left after choosing the validation cases"), FALSE;
    }
  g_autoptr (GPtrArray) validation = load_validation_cases (dataset, is_validation, error);
  if (validation == NULL)
    {
      pulmo_checkpoint_state_clear (&state);
      return FALSE;
    }

  progress.validation_ids = (const char *const *) state.validation_ids;
  for (int d = 0; d < PULMO_EVAL_N_STRUCTURES; d++)
    progress.initial_dice[d] = progress.validation_dice[d] = NAN;
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
      validate (init ? init : net, init ? &init_info : &info, validation, progress.initial_dice, cancellable);
      if (report)
        report (&progress, user_data);
    }
  int steps_per_epoch = (int) MAX (n_train / (size_t) options->batch, 1);
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
  gboolean ok = TRUE;

  for (int epoch = state.epochs_done; epoch < options->epochs && ok; epoch++)
    {
      double loss_sum = 0, lr = 0;
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
          double waiting = g_timer_elapsed (timer, NULL);
          Batch *batch = g_async_queue_pop (producer.ready);
          progress.waiting_seconds += g_timer_elapsed (timer, NULL) - waiting;
          PulmoTensor images = { options->batch, 1, info.input_height, info.input_width,
                                 batch->images };
          double started = g_timer_elapsed (timer, NULL);
          lr = learning_rate (options, epoch * steps_per_epoch + step, steps_per_epoch);
          pulmo_adamw_set_lr (optim, (float) lr);
          const PulmoTensor *logits = pulmo_unet_forward_train (net, acts, &images);
          loss_sum += pulmo_seg_loss (logits, batch->masks, &loss_options, grad, NULL);
          pulmo_unet_zero_grad (net);
          pulmo_unet_backward (net, acts, grad);
          pulmo_unet_adamw_step (net, optim);
          g_async_queue_push (producer.free_batches, batch);
          /* A running mean of the step time makes the ETA steady. */
          double took = g_timer_elapsed (timer, NULL) - started;
          step_seconds = step_seconds > 0 ? 0.95 * step_seconds + 0.05 * took : took;

          progress.step = step + 1;
          progress.loss = loss_sum / (step + 1);
          progress.elapsed_seconds = seconds_before + g_timer_elapsed (timer, NULL);
          int steps_left = (options->epochs - epoch) * steps_per_epoch - step - 1;
          progress.eta_seconds = steps_left * step_seconds;
          if (report)
            report (&progress, user_data);
        }
      if (!ok)
        break;

      validate (net, &info, validation, progress.validation_dice, cancellable);
      double elapsed = seconds_before + g_timer_elapsed (timer, NULL);
      append_log_row (log, epoch + 1, (epoch + 1) * steps_per_epoch, lr, progress.loss, elapsed,
                      progress.validation_dice);
      g_autoptr (GError) log_error = NULL;
      if (!g_file_set_contents (log_path, log->str, (gssize) log->len, &log_error))
        g_warning ("%s", log_error->message);
      progress.epoch_done = TRUE;
      progress.elapsed_seconds = elapsed;
      if (report)
        report (&progress, user_data);

      gboolean last = epoch + 1 == options->epochs;
      if (last || g_timer_elapsed (timer, NULL) - last_checkpoint >= options->checkpoint_seconds)
        {
          state.epochs_done = epoch + 1;
          state.seconds = elapsed;
          g_free (state.log);
          state.log = g_strdup (log->str);
          ok = pulmo_checkpoint_save (checkpoint_path, &state, net, &info, optim, error);
          last_checkpoint = g_timer_elapsed (timer, NULL);
        }
    }

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
