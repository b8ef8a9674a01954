/* `pulmo train`: trains Pulmo's model on dataset folders, with a progress
 * line, a CSV log and checkpoints to resume from. */
#include "cli/pulmo-cli.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "train/model-registry.h"
#include "train/trainer.h"

typedef struct {
  gboolean tty, started;
  double initial_dice[PULMO_EVAL_N_STRUCTURES];
  double final_dice[PULMO_EVAL_N_STRUCTURES];
} Run;

static void
print_dice (const char *name, double dice)
{
  if (isnan (dice))
    printf ("  %s —", name);
  else
    printf ("  %s %.3f", name, dice);
}

static void
print_figures (const double dice[])
{
  print_dice (_("lung"), dice[PULMO_EVAL_LUNG]);
  print_dice (_("infection"), dice[PULMO_EVAL_INFECTION]);
  print_dice (_("ground glass"), dice[PULMO_EVAL_GROUND_GLASS]);
  print_dice (_("consolidation"), dice[PULMO_EVAL_CONSOLIDATION]);
}

/* With both kinds of validation, each is shown beside the sum. */
static void
print_parts (const double holdout[], const double cases[])
{
  printf (_("  on the held-out slices:"));
  print_figures (holdout);
  printf (_("\n  on the whole cases:"));
  print_figures (cases);
  printf ("\n");
}

static void
report (const PulmoTrainProgress *p, gpointer user_data)
{
  Run *run = user_data;
  gboolean tty = run->tty;
  if (!run->started)
    {
      g_autofree char *ids = g_strjoinv (", ", (char **) p->validation_ids);
      printf (_("training on %d cases (%zu slices"), p->n_train_cases, p->n_train_samples);
      if (p->n_user_train_samples > 0)
        printf (_(", %zu of them the user's"), p->n_user_train_samples);
      printf (_("), validating on %d whole cases%s%s\n"), p->n_validation_cases,
              p->n_validation_cases ? ": " : "", ids);
      if (p->n_holdout_samples > 0)
        {
          g_autofree char *slabs = g_strjoinv (", ", (char **) p->holdout_slices);
          printf (_("and on %zu held-out slices of the user's cases (%zu beside them left out of "
                  "training): %s\n"), p->n_holdout_samples, p->n_gap_samples, slabs);
        }
      run->started = TRUE;
    }
  memcpy (run->initial_dice, p->initial_dice, sizeof run->initial_dice);
  gboolean both = p->n_holdout_samples > 0 && p->n_validation_cases > 0;
  if (p->epoch == 0)
    {
      printf (_("the starting model, validation Dice:"));
      print_figures (p->initial_dice);
      printf ("\n");
      if (both)
        print_parts (p->initial_holdout_dice, p->initial_case_dice);
      return;
    }
  char elapsed[32], eta[32];
  pulmo_progress_format_duration (p->elapsed_seconds, elapsed, sizeof elapsed);
  pulmo_progress_format_duration (p->eta_seconds, eta, sizeof eta);
  if (!p->epoch_done)
    {
      if (tty)
        {
          printf ("\r");
          printf (_("epoch %d/%d  step %d/%d  loss %.4f  %s elapsed, about %s left   "), p->epoch,
                  p->epochs, p->step, p->steps_per_epoch, p->loss, elapsed, eta);
          fflush (stdout);
        }
      return;
    }
  memcpy (run->final_dice, p->validation_dice, sizeof run->final_dice);
  printf (_("%sepoch %d/%d  loss %.4f  validation Dice:"), tty ? "\r" : "", p->epoch, p->epochs,
          p->loss);
  print_figures (p->validation_dice);
  printf (_("  %s elapsed, about %s left, %.1f s waiting for augmentation\n"), elapsed, eta,
          p->waiting_seconds);
  if (both)
    print_parts (p->holdout_dice, p->case_dice);
  fflush (stdout);
}

int
pulmo_cmd_train (int argc, char **argv)
{
  g_auto (GStrv) data = NULL, user_data = NULL;
  g_autofree char *out = NULL, *checkpoint = NULL, *log = NULL, *validation = NULL, *init = NULL;
  gboolean resume = FALSE, quick = FALSE, install = FALSE;
  PulmoTrainOptions options;
  pulmo_train_options_init (&options);
  int epochs = 0, base = 0, depth = 0, input = 0, batch = 0;
  gint64 seed = -1;
  double lr = 0, holdout = -1, share = -1, validation_fraction = -1, max_seconds = 0;
  int steps_per_epoch = 0, gap = -1;
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME_ARRAY, &data, N_("A dataset folder in the nnU-Net v2 raw layout (repeat for more)"), N_("DIR") },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("The model file to write"), N_("MODEL.pulmonet") },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &init, N_("Fine-tune this model instead of starting afresh (its architecture and preprocessing are kept)"), N_("MODEL") },
    { "install", 0, 0, G_OPTION_ARG_NONE, &install, N_("With --init: put the result in use if its validation Dice is not worse than the starting model's"), NULL },
    { "user-data", 'u', 0, G_OPTION_ARG_FILENAME_ARRAY, &user_data, N_("A folder of the user's corrected cases (repeat for more): slices held out of them for validation, a share of every step drawn from them; --data then names the original training data mixed in"), N_("DIR") },
    { "holdout-slices", 0, 0, G_OPTION_ARG_DOUBLE, &holdout, N_("Fraction of each user case's slices held out for validation, in slabs (0.2 with --user-data; 0: off)"), N_("FRACTION") },
    { "holdout-gap", 0, 0, G_OPTION_ARG_INT, &gap, N_("Slices beside each held-out slab left out of training too (4)"), N_("N") },
    { "user-share", 0, 0, G_OPTION_ARG_DOUBLE, &share, N_("Share of the training slices drawn from the user's cases (0.5; 0: weighted like any case)"), N_("FRACTION") },
    { "steps-per-epoch", 0, 0, G_OPTION_ARG_INT, &steps_per_epoch, N_("Steps between validations (default: one pass over the training slices; 60 with --user-data)"), N_("N") },
    { "max-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &max_seconds, N_("End the whole run by then, the last validation included (0: no limit)"), N_("S") },
    { "validation-fraction", 0, 0, G_OPTION_ARG_DOUBLE, &validation_fraction, N_("Fraction of each kind of case validated on whole, when --validation does not name them (0.2)"), N_("FRACTION") },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, N_("Passes over the training slices (100; with --user-data and --max-seconds, the clock ends the run)"), N_("N") },
    { "base", 0, 0, G_OPTION_ARG_INT, &base, N_("Channels of the U-Net's first level (16)"), N_("N") },
    { "depth", 0, 0, G_OPTION_ARG_INT, &depth, N_("Poolings of the U-Net (4)"), N_("N") },
    { "input-size", 0, 0, G_OPTION_ARG_INT, &input, N_("The model's input is N×N (256)"), N_("N") },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, N_("Slices per step (8)"), N_("N") },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, N_("Peak learning rate (0.002; 0.0002 with --user-data)"), N_("RATE") },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_("Seed of every random choice (1)"), N_("N") },
    { "validation", 0, 0, G_OPTION_ARG_STRING, &validation, N_("Comma-separated case ids to validate on (default: a fifth of each kind of case)"), N_("IDS") },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint, N_("Checkpoint file (MODEL.pulmonet.checkpoint)"), N_("FILE") },
    { "log", 0, 0, G_OPTION_ARG_FILENAME, &log, N_("CSV log, one row per epoch (MODEL.pulmonet.csv)"), N_("FILE") },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &resume, N_("Go on from the checkpoint"), NULL },
    { "quick", 0, 0, G_OPTION_ARG_NONE, &quick, N_("A tiny model on two slices per case, in seconds (for tests)"), NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (N_("--data DIR… --out MODEL.pulmonet"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    N_("Trains Pulmo's lung and lesion model (background, lung, ground-glass opacity,\n"
    "consolidation) on dataset folders in the nnU-Net v2 raw layout, validating after\n"
    "every epoch on whole cases it does not train on. A checkpoint is written every\n"
    "few minutes; after a stop, the same command with --resume goes on from it.\n\n"
    "Fine-tuning on corrected scans: --init MODEL --user-data EXPORTS --data ORIGINAL\n"
    "validates on slabs of slices held out of the user's cases (and on whole original\n"
    "cases), draws half of every step from the user's cases, and with --max-seconds\n"
    "ends in time; --install keeps the result only if it is not worse."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "pulmo train: %s\n", error->message);
      return 2;
    }
  if (argc > 1 || (data == NULL && user_data == NULL) || out == NULL)
    {
      fprintf (stderr, "pulmo train: %s\n", argc > 1 ? "unexpected arguments"
                                                     : "--data (or --user-data) and --out are required");
      return 2;
    }
  /* The user's folders come first: PulmoTrainOptions.n_user_dirs counts them. */
  g_autoptr (GStrvBuilder) dirs_builder = g_strv_builder_new ();
  if (user_data != NULL)
    g_strv_builder_addv (dirs_builder, (const char **) user_data);
  if (data != NULL)
    g_strv_builder_addv (dirs_builder, (const char **) data);
  g_auto (GStrv) dirs = g_strv_builder_end (dirs_builder);

  if (quick)
    pulmo_train_options_quick (&options);
  options.data_dirs = (const char *const *) dirs;
  if (user_data != NULL)
    pulmo_train_options_finetune (&options, (int) g_strv_length (user_data), max_seconds);
  options.max_seconds = max_seconds;
  if (holdout >= 0) options.holdout_slice_fraction = holdout;
  if (gap >= 0) options.holdout_gap_slices = gap;
  if (share >= 0) options.user_share = share;
  if (validation_fraction >= 0) options.validation_fraction = validation_fraction;
  if (steps_per_epoch) options.steps_per_epoch = steps_per_epoch;
  options.init_path = init;
  options.out_path = out;
  options.checkpoint_path = checkpoint;
  options.log_path = log;
  options.validation_ids = validation;
  options.resume = resume;
  if (epochs) options.epochs = epochs;
  if (base) options.base = base;
  if (depth) options.depth = depth;
  if (input) options.input_size = input;
  if (batch) options.batch = batch;
  if (lr > 0) options.lr = lr;
  if (seed >= 0) options.seed = (guint64) seed;

  Run run = { .tty = isatty (STDOUT_FILENO) };
  if (install && init == NULL)
    {
      fprintf (stderr, _("pulmo train: --install goes with --init\n"));
      return 2;
    }
  if (!pulmo_train (&options, report, &run, NULL, &error))
    {
      fprintf (stderr, "%spulmo train: %s\n", run.tty ? "\n" : "", error->message);
      return 1;
    }
  printf (_("wrote %s\n"), out);
  if (!install)
    return 0;

  double before = pulmo_train_score (run.initial_dice), after = pulmo_train_score (run.final_dice);
  if (!pulmo_train_not_worse (run.initial_dice, run.final_dice))
    {
      printf (_("not installed: validation Dice (lung and infection) fell from %.4f to %.4f\n"), before, after);
      return 0;
    }
  g_autofree char *dir_list = g_strjoinv (", ", dirs);
  g_autofree char *note = g_strdup_printf (_("fine-tuned from %s on %s for up to %d epochs; validation Dice %.4f → %.4f"),
                                           init, dir_list, options.epochs, before, after);
  int index = pulmo_model_install (out, note, &error);
  if (index < 0)
    {
      fprintf (stderr, "pulmo train: %s\n", error->message);
      return 1;
    }
  printf (_("installed as model %d and in use: validation Dice %.4f → %.4f (pulmo model list)\n"), index, before, after);
  return 0;
}
