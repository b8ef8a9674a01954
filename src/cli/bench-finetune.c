/* `pulmo bench finetune`: the shipped model fine-tuned on one corrected
 * 512×512×300 scan mixed with its original training data, timed against the
 * goal of five minutes, with Dice on the scan's held-out slices before and
 * after (and on original cases neither model trained on, to see that
 * nothing is forgotten).
 *
 * The shared data holds no 512×512×300 scan with voxel expert masks, so the
 * corrected case is a proxy, made from evidence independent of the model
 * where there is any:
 *   - the CT: COVID-CT-MD P001 (HU, 512×512×148) stretched to 300 slices
 *     (bench-ct.c);
 *   - lungs by a HU rule: per axial slice, air (< −400 HU) not connected to
 *     the image border through air, that is, air inside the body; then
 *     Pulmo's own post-processing (segment/postprocess.h: the two largest 3D
 *     components, sides from the orientation, holes in an axial plane filled)
 *     keeps the lungs and drops bowel gas. The trachea and main bronchi stay
 *     in: a real annotator would take them out;
 *   - lesions: the model's own ground glass and consolidation, kept only on
 *     the slices the experts' P001-slices.csv calls infected (a stretched
 *     slice counts as infected if either source slice it is made from is),
 *     removed on all others.
 * The case is exported with pulmo_export_case, as the app exports one, and
 * the fine-tune is the real pulmo_train loop with the options the app's
 * Fine-Tune dialog sets. */
#include "cli/pulmo-cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/pulmo-label-map.h"
#include "nn/parallel.h"
#include "pulmo-config.h"
#include "segment/postprocess.h"
#include "segment/segment.h"
#include "train/export.h"
#include "train/model-registry.h"
#include "train/trainer.h"

/* Registered in cmd-bench.c. */
int pulmo_bench_finetune (int argc, char **argv);

#define AIR_HU (-400)
#define P001_SLICES 148

/* The validation cases of the shipped model (data/models/MODEL.md): it
 * never trained on them, and the fine-tune does not either. */
static const char *const original_validation =
  "medseg_000,medseg_004,medseg_010,medseg_013,medseg_023,medseg_028,medseg_054,medseg_058,"
  "medseg_059,medseg_063,medseg_066,medseg_071,medseg_087,medseg_095,medseg_096,"
  "zenodo_coronacases_006,zenodo_radiopaedia_seg06,zenodo_radiopaedia_seg08";

static char *
shared_data (const char *relative)
{
  return g_build_filename (PULMO_SOURCE_DIR, "..", "shared", "data", relative, NULL);
}

static double
load_average (void)
{
  g_autofree char *text = NULL;
  return g_file_get_contents ("/proc/loadavg", &text, NULL, NULL) ? g_ascii_strtod (text, NULL) : -1;
}

/* The experts' slice labels of P001: infected[z] for z = 0 … 147. */
static gboolean
read_infected_slices (gboolean infected[P001_SLICES], GError **error)
{
  g_autofree char *path = shared_data ("covid-ct-md/P001-slices.csv");
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, error))
    return FALSE;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  int n = 0;
  for (int i = 1; lines[i] != NULL; i++)   /* line 0 is the header: z,infected,… */
    {
      char *end;
      gint64 z = g_ascii_strtoll (lines[i], &end, 10);
      if (end == lines[i] || *end != ',')
        continue;
      if (z < 0 || z >= P001_SLICES)
        return g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: slice %" G_GINT64_FORMAT
                            " is outside P001's %d", path, z, P001_SLICES), FALSE;
      infected[z] = end[1] == '1';
      n++;
    }
  if (n != P001_SLICES)
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %d slices, not %d", path,
                        n, P001_SLICES), FALSE;
  return TRUE;
}

/* Marks in @outside the air pixels of one slice connected to its border
 * through air (face neighbours): the air around the patient. */
static void
flood_outside (const int16_t *hu, int nx, int ny, uint8_t *outside, gint32 *stack)
{
  memset (outside, 0, (size_t) nx * ny);
  size_t top = 0;
  for (int x = 0; x < nx; x++)
    for (int side = 0; side < 2; side++)
      stack[top++] = (side ? ny - 1 : 0) * nx + x;
  for (int y = 1; y < ny - 1; y++)
    for (int side = 0; side < 2; side++)
      stack[top++] = y * nx + (side ? nx - 1 : 0);
  while (top > 0)
    {
      gint32 p = stack[--top];
      if (outside[p] || hu[p] >= AIR_HU)
        continue;
      outside[p] = 1;
      int x = p % nx, y = p / nx;
      /* Each pixel is pushed at most once per neighbour: 4 × pixels bounds the stack. */
      if (x > 0 && !outside[p - 1]) stack[top++] = p - 1;
      if (x < nx - 1 && !outside[p + 1]) stack[top++] = p + 1;
      if (y > 0 && !outside[p - nx]) stack[top++] = p - nx;
      if (y < ny - 1 && !outside[p + nx]) stack[top++] = p + nx;
    }
}

/* The annotator's corrections of @model_labels, as the header describes.
 * P001 is stored LAS, so its axial slices are the storage slices k. */
static gboolean
correct_labels (PulmoVolume *ct, const uint8_t *model_labels, uint8_t *labels, GError **error)
{
  gboolean infected[P001_SLICES] = { FALSE };
  if (!read_infected_slices (infected, error))
    return FALSE;
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  const int16_t *hu = pulmo_volume_get_int16 (ct);
  size_t plane = (size_t) dims[0] * dims[1];
  g_autofree uint8_t *outside = g_malloc (plane);
  g_autofree gint32 *stack = g_new (gint32, 4 * plane + 2 * (dims[0] + dims[1]));
  int n_infected = 0;
  for (int k = 0; k < dims[2]; k++)
    {
      /* bench-ct.c's stretch: slice k lies at P001 slice z, between k0 and k0 + 1. */
      double z = dims[2] > 1 ? k * (P001_SLICES - 1.0) / (dims[2] - 1.0) : 0;
      int k0 = (int) floor (z), k1 = MIN (k0 + 1, P001_SLICES - 1);
      gboolean slice_infected = infected[k0] || (z > k0 && infected[k1]);
      n_infected += slice_infected;
      const int16_t *slice_hu = hu + k * plane;
      const uint8_t *model = model_labels + k * plane;
      uint8_t *out = labels + k * plane;
      flood_outside (slice_hu, dims[0], dims[1], outside, stack);
      for (size_t p = 0; p < plane; p++)
        {
          gboolean lesion = model[p] == PULMO_LABEL_GROUND_GLASS || model[p] == PULMO_LABEL_CONSOLIDATION;
          if (slice_infected && lesion)
            out[p] = model[p];
          else if (slice_hu[p] < AIR_HU && !outside[p])
            out[p] = PULMO_LABEL_LUNG_UNKNOWN_SIDE;
          else
            out[p] = PULMO_LABEL_BACKGROUND;
        }
    }
  printf ("  corrections: %d of %d slices infected by the experts' labels; lesions elsewhere "
          "removed, lungs by the HU rule\n", n_infected, dims[2]);
  PulmoPostprocessOptions postprocess;
  pulmo_postprocess_options_init (&postprocess);
  return pulmo_postprocess (ct, labels, &postprocess, error);
}

/* Builds the corrected case and exports it into @user_dir. */
static gboolean
make_corrected_case (const char *folder, const char *user_dir, const PulmoModel *model,
                     int n_slices, GError **error)
{
  g_autofree char *ct_path = pulmo_bench_make_ct (folder, n_slices, error);
  if (ct_path == NULL)
    return FALSE;
  g_autoptr (PulmoVolume) ct = pulmo_volume_load (ct_path, NULL, NULL, error);
  if (ct == NULL)
    return FALSE;
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  if (pulmo_volume_get_voxel_type (ct) != PULMO_VOXEL_INT16 || dims[0] != 512 || dims[1] != 512)
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                        "the corrected case is made from COVID-CT-MD P001, which was not found"),
           FALSE;
  size_t n = pulmo_volume_get_n_voxels (ct);
  g_autofree uint8_t *model_labels = g_malloc (n);
  gint64 start = g_get_monotonic_time ();
  if (!pulmo_segment_ct (model->net, &model->info, ct, model_labels, NULL, NULL,
                         NULL, error))
    return FALSE;
  printf ("  the model's segmentation (what the annotator starts from): %.1f s\n",
          (g_get_monotonic_time () - start) * 1e-6);
  g_autoptr (PulmoLabelMap) corrected = pulmo_label_map_new (ct);
  if (!correct_labels (ct, model_labels, pulmo_label_map_get_data_mutable (corrected), error))
    return FALSE;

  PulmoExportOptions options;
  pulmo_export_options_init (&options);
  options.case_prefix = "p001corrected";
  options.annotator = "proxy: HU rule for the lungs, P001-slices.csv for the infected slices";
  options.model_version = model->identity;
  options.model_labels = model_labels;
  g_autofree char *id = pulmo_export_case (user_dir, corrected, &options, error);
  if (id == NULL)
    return FALSE;
  printf ("  exported as case %s into %s\n", id, user_dir);
  return TRUE;
}

typedef struct {
  PulmoTrainProgress before, last;
  int epochs;
  double first_step_s;
} Run;

static void
print_pair (const char *what, const double dice[])
{
  printf ("%s lungs %.4f, infection %.4f", what, dice[PULMO_EVAL_LUNG], dice[PULMO_EVAL_INFECTION]);
}

static void
report (const PulmoTrainProgress *p, gpointer user_data)
{
  Run *run = user_data;
  if (p->epoch == 0)
    {
      run->before = *p;
      printf ("  %zu slices to train on (%zu the user's), %zu held out, %zu gap slices beside "
              "them, %d whole original cases validated\n",
              p->n_train_samples, p->n_user_train_samples, p->n_holdout_samples, p->n_gap_samples,
              p->n_validation_cases);
      printf ("  held-out slabs: %s\n", p->holdout_slices[0] ? p->holdout_slices[0] : "none");
      print_pair ("  before: held-out slices", p->initial_holdout_dice);
      print_pair ("; original cases", p->initial_case_dice);
      printf ("\n");
      fflush (stdout);
      return;
    }
  if (!p->epoch_done)
    return;
  run->last = *p;
  run->epochs = p->epoch;
  printf ("  epoch %d, %.0f s, loss %.4f:", p->epoch, p->elapsed_seconds, p->loss);
  print_pair (" held-out slices", p->holdout_dice);
  print_pair ("; original cases", p->case_dice);
  printf ("\n");
  fflush (stdout);
}

int
pulmo_bench_finetune (int argc, char **argv)
{
  /* 0 or below: the dialog's setting (pulmo_train_options_finetune). */
  int n_slices = 300, steps_per_epoch = 0;
  double budget = 300, lr = 0, holdout = -1, share = -1;
  g_autofree char *keep = NULL, *model_path = NULL, *original = NULL;
  GOptionEntry entries[] = {
    { "slices", 0, 0, G_OPTION_ARG_INT, &n_slices, "Slices of the 512×512 corrected CT (default 300)", "N" },
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &budget, "The fine-tune's time limit (default 300: the goal)", "S" },
    { "steps-per-epoch", 0, 0, G_OPTION_ARG_INT, &steps_per_epoch, "Steps between validations (default: the dialog's, 60)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Peak learning rate (default: the dialog's, 0.0002)", "RATE" },
    { "holdout-slices", 0, 0, G_OPTION_ARG_DOUBLE, &holdout, "Fraction of the case's slices held out (default: the dialog's, 0.2)", "FRACTION" },
    { "user-share", 0, 0, G_OPTION_ARG_DOUBLE, &share, "Share of training slices from the corrected case (default 0.5)", "FRACTION" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "The starting model (default: the shipped model)", "MODEL" },
    { "original", 0, 0, G_OPTION_ARG_FILENAME, &original, "The original training data (default: ../shared/data/covid-2d-train)", "DIR" },
    { "keep", 0, 0, G_OPTION_ARG_FILENAME, &keep, "Work in FOLDER and leave the case and the model there", "FOLDER" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- fine-tune on one corrected 512×512×300 scan, against 5 minutes");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error) || n_slices < 40 || n_slices > 2000
      || !(budget > 0))
    {
      fprintf (stderr, "pulmo bench finetune: %s\n",
               error ? error->message : "slices must be 40 to 2000 and seconds positive");
      return 2;
    }
  if (model_path == NULL && (model_path = pulmo_model_shipped_path (&error)) == NULL)
    {
      fprintf (stderr, "pulmo bench finetune: %s\n", error->message);
      return 1;
    }
  if (original == NULL)
    original = shared_data ("covid-2d-train");
  g_autoptr (PulmoModel) model = pulmo_model_load (model_path, &error);
  g_autofree char *folder = keep != NULL ? g_strdup (keep) : g_dir_make_tmp ("pulmo-bench-XXXXXX", &error);
  if (model == NULL || folder == NULL || g_mkdir_with_parents (folder, 0755) != 0)
    {
      fprintf (stderr, "pulmo bench finetune: %s\n", error ? error->message : "no work folder");
      return 1;
    }
  g_autofree char *user_dir = g_build_filename (folder, "corrections", NULL);
  g_autofree char *out = g_build_filename (folder, "fine-tuned.pulmonet", NULL);

  printf ("pulmo bench finetune: %s fine-tuned on one corrected 512×512×%d scan mixed with %s, "
          "%d threads; load average %.2f at the start (other work on the machine shares the cores)\n",
          model->identity, n_slices, original, pulmo_parallel_n_threads (), load_average ());
  printf ("The corrected case is a PROXY (no 512×512×300 scan with expert voxel masks exists in "
          "the data): P001 stretched to %d slices; lungs = air < %d HU inside the body, then Pulmo's "
          "post-processing (two largest components, holes filled; trachea kept); lesions = the "
          "model's own, kept only on slices P001-slices.csv calls infected.\n", n_slices, AIR_HU);
  fflush (stdout);
  gint64 start = g_get_monotonic_time ();
  if (!make_corrected_case (folder, user_dir, model, n_slices, &error))
    {
      fprintf (stderr, "pulmo bench finetune: %s\n", error->message);
      return 1;
    }
  double prepare_s = (g_get_monotonic_time () - start) * 1e-6;
  int input_size = model->info.input_width;
  g_clear_pointer (&model, pulmo_model_free);

  /* What the app's Fine-Tune dialog sets: the user's folder first, the
   * original data after, and the time limit. */
  const char *dirs[] = { user_dir, original, NULL };
  PulmoTrainOptions options;
  pulmo_train_options_init (&options);
  pulmo_train_options_finetune (&options, 1, budget);
  options.data_dirs = dirs;
  options.init_path = model_path;
  options.out_path = out;
  options.validation_ids = original_validation;
  if (holdout >= 0) options.holdout_slice_fraction = holdout;
  if (share >= 0) options.user_share = share;
  if (steps_per_epoch > 0) options.steps_per_epoch = steps_per_epoch;
  if (lr > 0) options.lr = lr;
  printf ("Fine-tuning: lr %g, batch %d, %d steps per epoch, held-out fraction %g (gaps of %d "
          "slices), user share %g, limit %.0f s\n", options.lr, options.batch,
          options.steps_per_epoch, options.holdout_slice_fraction, options.holdout_gap_slices,
          options.user_share, options.max_seconds);
  fflush (stdout);
  Run run = { 0 };
  start = g_get_monotonic_time ();
  gboolean ok = pulmo_train (&options, report, &run, NULL, &error);
  double train_s = (g_get_monotonic_time () - start) * 1e-6;
  if (!ok)
    {
      fprintf (stderr, "pulmo bench finetune: %s\n", error->message);
      return 1;
    }

  printf ("\n  preparing the corrected case (stretch, segment, correct, export; not part of a "
          "fine-tune): %.1f s\n", prepare_s);
  printf ("  fine-tune from start to model written: %.1f s for %d epochs of %d steps (goal ≤ 300 s "
          "= 5 min on this machine)\n", train_s, run.epochs, options.steps_per_epoch);
  printf ("  Dice on the corrected case's %zu held-out slices (on the model's %d² input grid):\n",
          run.before.n_holdout_samples, input_size);
  printf ("    lungs     %.4f → %.4f\n    infection %.4f → %.4f\n",
          run.before.initial_holdout_dice[PULMO_EVAL_LUNG], run.last.holdout_dice[PULMO_EVAL_LUNG],
          run.before.initial_holdout_dice[PULMO_EVAL_INFECTION],
          run.last.holdout_dice[PULMO_EVAL_INFECTION]);
  printf ("  Dice on %d original cases neither model trained on (forgetting):\n",
          run.before.n_validation_cases);
  printf ("    lungs     %.4f → %.4f\n    infection %.4f → %.4f\n",
          run.before.initial_case_dice[PULMO_EVAL_LUNG], run.last.case_dice[PULMO_EVAL_LUNG],
          run.before.initial_case_dice[PULMO_EVAL_INFECTION], run.last.case_dice[PULMO_EVAL_INFECTION]);
  printf ("  score (mean of lung and infection Dice, all validation) %.4f → %.4f: %s\n",
          pulmo_train_score (run.before.initial_dice), pulmo_train_score (run.last.validation_dice),
          pulmo_train_not_worse (run.before.initial_dice, run.last.validation_dice)
            ? "not worse, the app would install it" : "worse, the app would not install it");
  printf ("  load average at the end %.2f\n", load_average ());
  if (keep == NULL)
    {
      const char *rm[] = { "rm", "-rf", folder, NULL };
      if (!g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                         NULL, NULL))
        fprintf (stderr, "pulmo bench finetune: %s was not removed\n", folder);
    }
  return 0;
}
