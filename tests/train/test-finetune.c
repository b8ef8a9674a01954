/* Fine-tuning on a user's corrected scan (trainer.h): the held-out slices
 * and the gaps beside them are never trained on, the split is the seed's
 * and survives a resume, a short fine-tune on exported corrections raises
 * Dice on their held-out part, and a run bounded by the clock ends in time.
 *
 * The user's scan is cip-chest-ct's ct-64 (64×64×79, HU, LPS) with its
 * wholeLung-64 mask as the corrected lungs, exported as a training case the
 * way the app exports one; the starting model is a seconds-long model
 * trained on covid-2d-train (8-bit slices, no HU), which knows lungs only
 * roughly on HU input. */
#include <math.h>
#include <string.h>

#include "core/pulmo-error.h"
#include "core/pulmo-label-map.h"
#include "pulmo-test.h"
#include "train/dataset.h"
#include "train/export.h"
#include "train/trainer.h"

typedef struct {
  char *dir;            /* everything below is in here */
  char *original;       /* covid-2d-train */
  char *user;           /* the exported corrections */
  char *init;           /* the starting model */
} Fixture;

static Fixture fixture;

/* ct-64 with wholeLung-64's lungs as "lung, side unknown" (the mask does not
 * say which is which), exported into fixture.user. */
static void
export_corrected_case (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *mask_path = pulmo_test_data ("cip-chest-ct/wholeLung-64.nii.gz");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoLabelMap) mask = pulmo_label_map_load (ct, mask_path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (PulmoLabelMap) corrected = pulmo_label_map_new (ct);
  const uint8_t *in = pulmo_label_map_get_data (mask);
  uint8_t *out = pulmo_label_map_get_data_mutable (corrected);
  size_t n = pulmo_volume_get_n_voxels (ct);
  for (size_t i = 0; i < n; i++)
    out[i] = in[i] ? PULMO_LABEL_LUNG_UNKNOWN_SIDE : PULMO_LABEL_BACKGROUND;
  PulmoExportOptions options;
  pulmo_export_options_init (&options);
  options.case_prefix = "user";
  g_autofree char *id = pulmo_export_case (fixture.user, corrected, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (id, ==, "user_0000");
}

static void
fixture_setup (void)
{
  g_autoptr (GError) error = NULL;
  fixture.dir = g_dir_make_tmp ("pulmo-finetune-XXXXXX", &error);
  g_assert_no_error (error);
  fixture.original = pulmo_test_data ("covid-2d-train");
  fixture.user = g_build_filename (fixture.dir, "user", NULL);
  fixture.init = g_build_filename (fixture.dir, "start.pulmonet", NULL);
  export_corrected_case ();

  const char *dirs[] = { fixture.original, NULL };
  PulmoTrainOptions options;
  pulmo_train_options_init (&options);
  pulmo_train_options_quick (&options);
  options.data_dirs = dirs;
  options.out_path = fixture.init;
  options.validation_fraction = 0;
  g_assert_true (pulmo_train (&options, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

/* A fine-tune of the starting model on the user's case and the original
 * data, validated on a quarter of the user's slices. */
static void
finetune_options (PulmoTrainOptions *options, const char *const *dirs, const char *out)
{
  pulmo_train_options_init (options);
  options->data_dirs = dirs;
  options->n_user_dirs = 1;
  options->init_path = fixture.init;
  options->out_path = out;
  options->holdout_slice_fraction = 0.25;
  options->holdout_gap_slices = 3;
  options->validation_fraction = 0;
  options->max_samples_per_case = 0;   /* every slice of the user's case */
  options->epochs = 4;
  options->steps_per_epoch = 25;
  options->lr = 2e-3;
  options->checkpoint_seconds = 0;
}

static PulmoDataset *
load_for_init (const char *const *dirs)
{
  g_autoptr (GError) error = NULL;
  g_auto (PulmoModelInfo) info = { 0 };
  g_autoptr (PulmoUNet) net = pulmo_weights_load (fixture.init, &info, &error);
  g_assert_no_error (error);
  g_assert_nonnull (net);
  PulmoDataset *dataset = pulmo_dataset_load (dirs, &info, 0, NULL, &error);
  g_assert_no_error (error);
  return dataset;
}

static void
test_split (void)
{
  const char *dirs[] = { fixture.user, fixture.original, NULL };
  g_autoptr (PulmoDataset) dataset = load_for_init (dirs);
  PulmoTrainOptions options;
  finetune_options (&options, dirs, "unused");
  g_autoptr (GError) error = NULL;
  g_autofree PulmoSampleRole *roles = g_new (PulmoSampleRole, dataset->n_samples);
  g_autofree PulmoSampleRole *again = g_new (PulmoSampleRole, dataset->n_samples);
  g_assert_true (pulmo_train_split (&options, dataset, roles, &error));
  g_assert_no_error (error);
  g_assert_true (pulmo_train_split (&options, dataset, again, &error));
  g_assert_cmpmem (roles, dataset->n_samples * sizeof *roles, again,
                   dataset->n_samples * sizeof *again);

  /* The user's case comes first (its folder does) and holds out a quarter
   * of its 79 slices; no training slice lies within the gap of a held-out
   * one, and every gap slice is within the gap of one. */
  g_assert_cmpstr (dataset->cases[0].id, ==, "user_0000");
  g_assert_cmpint (dataset->cases[0].dir_index, ==, 0);
  int n = dataset->cases[0].n_samples, gap = options.holdout_gap_slices, held = 0, slabs = 0;
  g_assert_cmpint (n, ==, 79);
  for (int s = 0; s < n; s++)
    {
      gboolean near_held_out = FALSE;
      for (int t = MAX (s - gap, 0); t <= MIN (s + gap, n - 1); t++)
        near_held_out |= roles[t] == PULMO_SAMPLE_HELD_OUT;
      if (roles[s] == PULMO_SAMPLE_TRAIN)
        g_assert_false (near_held_out);
      else if (roles[s] == PULMO_SAMPLE_GAP)
        g_assert_true (near_held_out);
      else
        g_assert_cmpint (roles[s], ==, PULMO_SAMPLE_HELD_OUT);
      held += roles[s] == PULMO_SAMPLE_HELD_OUT;
      slabs += roles[s] == PULMO_SAMPLE_HELD_OUT && (s == 0 || roles[s - 1] != PULMO_SAMPLE_HELD_OUT);
    }
  g_assert_cmpint (held, ==, 20);
  g_assert_cmpint (slabs, ==, 2);   /* about PULMO_HOLDOUT_SLAB_SLICES each, spread out */
  /* The original data is only trained on: no whole validation cases asked for. */
  for (size_t s = dataset->cases[1].first_sample; s < dataset->n_samples; s++)
    g_assert_cmpint (roles[s], ==, PULMO_SAMPLE_TRAIN);

  /* Another seed, other slabs. */
  options.seed = 2;
  g_assert_true (pulmo_train_split (&options, dataset, again, &error));
  g_assert_true (memcmp (roles, again, n * sizeof *roles) != 0);

  /* Holding out needs to know whose cases are the user's. */
  options.n_user_dirs = 0;
  options.out_path = "unused";
  g_assert_false (pulmo_train (&options, NULL, NULL, NULL, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_INVALID);
}

typedef struct {
  PulmoTrainProgress first, last;   /* the before report and the last epoch's */
  int epochs;
  size_t n_train;
  int stop_after_epoch;
  GCancellable *cancellable;
  GPtrArray *holdout_slices;        /* as the run reported them */
} Watch;

static void
watch (const PulmoTrainProgress *p, gpointer user_data)
{
  Watch *w = user_data;
  if (p->epoch == 0)
    w->first = *p;
  if (!p->epoch_done)
    return;
  w->last = *p;
  w->epochs++;
  w->n_train = p->n_train_samples;
  if (w->holdout_slices->len == 0)
    for (int i = 0; p->holdout_slices[i] != NULL; i++)
      g_ptr_array_add (w->holdout_slices, g_strdup (p->holdout_slices[i]));
  if (p->epoch == w->stop_after_epoch)
    g_cancellable_cancel (w->cancellable);
}

static void
watch_init (Watch *w)
{
  *w = (Watch) { .holdout_slices = g_ptr_array_new_with_free_func (g_free) };
}

static void
watch_clear (Watch *w)
{
  g_ptr_array_unref (w->holdout_slices);
  g_clear_object (&w->cancellable);
}

static void
test_finetune_improves (void)
{
  const char *dirs[] = { fixture.user, fixture.original, NULL };
  g_autofree char *out = g_build_filename (fixture.dir, "tuned.pulmonet", NULL);
  PulmoTrainOptions options;
  finetune_options (&options, dirs, out);
  Watch w;
  watch_init (&w);
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_train (&options, watch, &w, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (w.epochs, ==, options.epochs);

  /* What the run trained on is what pulmo_train_split marks for training. */
  g_autoptr (PulmoDataset) dataset = load_for_init (dirs);
  g_autofree PulmoSampleRole *roles = g_new (PulmoSampleRole, dataset->n_samples);
  g_assert_true (pulmo_train_split (&options, dataset, roles, &error));
  size_t train = 0, held = 0;
  for (size_t s = 0; s < dataset->n_samples; s++)
    {
      train += roles[s] == PULMO_SAMPLE_TRAIN;
      held += roles[s] == PULMO_SAMPLE_HELD_OUT;
    }
  g_assert_cmpuint (w.n_train, ==, train);
  g_assert_cmpuint (w.last.n_holdout_samples, ==, held);
  g_assert_cmpuint (w.last.n_user_train_samples, ==, 79 - held - w.last.n_gap_samples);
  g_assert_cmpint (w.last.n_validation_cases, ==, 0);

  /* Only held-out slices are validated: the overall figures are theirs. */
  double before = w.first.initial_holdout_dice[PULMO_EVAL_LUNG];
  double after = w.last.holdout_dice[PULMO_EVAL_LUNG];
  g_assert_cmpfloat (w.first.initial_dice[PULMO_EVAL_LUNG], ==, before);
  g_assert_cmpfloat (w.last.validation_dice[PULMO_EVAL_LUNG], ==, after);
  g_assert_true (isnan (w.last.case_dice[PULMO_EVAL_LUNG]));
  g_test_message ("held-out lung Dice %.3f before, %.3f after %d steps", before, after,
                  options.epochs * options.steps_per_epoch);
  g_assert_cmpfloat (after, >, before + 0.05);
  g_assert_true (pulmo_train_not_worse (w.first.initial_dice, w.last.validation_dice));

  /* Stopped after epoch 2 and resumed, it ends with the same bytes and
   * validates on the same slices. */
  g_autofree char *resumed = g_build_filename (fixture.dir, "resumed.pulmonet", NULL);
  options.out_path = resumed;
  Watch stopped;
  watch_init (&stopped);
  stopped.stop_after_epoch = 2;
  stopped.cancellable = g_cancellable_new ();
  g_assert_false (pulmo_train (&options, watch, &stopped, stopped.cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  options.resume = TRUE;
  Watch rest;
  watch_init (&rest);
  g_assert_true (pulmo_train (&options, watch, &rest, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (rest.epochs, ==, options.epochs - 2);
  g_assert_cmpuint (rest.holdout_slices->len, ==, w.holdout_slices->len);
  for (guint i = 0; i < w.holdout_slices->len; i++)
    g_assert_cmpstr (g_ptr_array_index (rest.holdout_slices, i), ==,
                     g_ptr_array_index (w.holdout_slices, i));
  pulmo_test_assert_files_equal (out, resumed);
  watch_clear (&w);
  watch_clear (&stopped);
  watch_clear (&rest);
}

/* A run with far more steps than its time allows ends by its time limit,
 * with its last (shortened) epoch validated and the model written. */
static void
test_time_bound (void)
{
  const char *dirs[] = { fixture.user, fixture.original, NULL };
  g_autofree char *out = g_build_filename (fixture.dir, "timed.pulmonet", NULL);
  PulmoTrainOptions options;
  finetune_options (&options, dirs, out);
  options.epochs = 1000;
  options.max_seconds = 6;
  Watch w;
  watch_init (&w);
  g_autoptr (GError) error = NULL;
  g_autoptr (GTimer) timer = g_timer_new ();
  g_assert_true (pulmo_train (&options, watch, &w, NULL, &error));
  g_assert_no_error (error);
  double seconds = g_timer_elapsed (timer, NULL);
  g_test_message ("a 6 s run took %.2f s, %d epochs", seconds, w.epochs);
  g_assert_cmpint (w.epochs, >=, 1);
  g_assert_cmpint (w.epochs, <, options.epochs);
  g_assert_false (isnan (w.last.validation_dice[PULMO_EVAL_LUNG]));
  /* The limit is kept by estimates of a step and a validation, which other
   * work on the cores (the suite runs tests side by side, under ASan too)
   * can throw off: the test asks that the clock ended the run, and `pulmo
   * bench finetune` measures how closely on a quiet machine. */
  g_assert_cmpfloat (seconds, <, 2 * options.max_seconds);
  g_assert_true (g_file_test (out, G_FILE_TEST_EXISTS));
  watch_clear (&w);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  fixture_setup ();
  g_test_add_func ("/finetune/split", test_split);
  g_test_add_func ("/finetune/improves", test_finetune_improves);
  g_test_add_func ("/finetune/time-bound", test_time_bound);
  int status = g_test_run ();
  pulmo_test_remove_tree (fixture.dir);
  g_free (fixture.dir);
  g_free (fixture.original);
  g_free (fixture.user);
  g_free (fixture.init);
  return status;
}
