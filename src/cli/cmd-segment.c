/* `pulmo segment CT… (-o OUT | --output-dir DIR)`: CT files or DICOM folders
 * through the model to label maps on the CTs' grids, with their reports. A
 * bad input gets an error line and the batch goes on; no input is ever
 * overwritten. Exit status: 0 all done, 1 some inputs failed, 2 usage. */
#include "cli/pulmo-cli.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dicom-import.h"
#include "core/pulmo-error.h"
#include "core/pulmo-label-map.h"
#include "segment/report.h"
#include "segment/segment.h"
#include "train/model-registry.h"

typedef struct {
  char **inputs;        /* every CT of the batch, to refuse writing over one */
  GHashTable *written;  /* files this run wrote, so two CTs named alike cannot share one */
  const char *name;     /* the CT being segmented, for progress lines */
  PulmoProgress progress;
  gint64 start_us;
  gboolean terminal;
  gboolean timings;     /* print each phase's seconds and the peak memory */
} Batch;

/* A CT's name without its folder and NIfTI extension: "P001" for P001.nii.gz. */
static char *
case_name (const char *input)
{
  g_autofree char *trimmed = g_strdup (input);
  size_t n = strlen (trimmed);
  while (n > 1 && trimmed[n - 1] == G_DIR_SEPARATOR)
    trimmed[--n] = '\0';
  char *base = g_path_get_basename (trimmed);
  const char *extensions[] = { ".nii.gz", ".nii" };
  for (size_t e = 0; e < G_N_ELEMENTS (extensions); e++)
    if (g_str_has_suffix (base, extensions[e]) && strlen (base) > strlen (extensions[e]))
      {
        base[strlen (base) - strlen (extensions[e])] = '\0';
        break;
      }
  return base;
}

static gboolean
same_file (const char *a, const char *b)
{
  struct stat sa, sb;
  return stat (a, &sa) == 0 && stat (b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* FALSE with a message when @path is one of the batch's inputs. */
static gboolean
check_not_input (const Batch *batch, const char *path, GError **error)
{
  for (char **input = batch->inputs; *input != NULL; input++)
    if (g_strcmp0 (path, *input) == 0 || same_file (path, *input))
      return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                          _("%s is an input of this run; Pulmo never writes over an input"), path),
             FALSE;
  if (g_hash_table_contains (batch->written, path))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("%s was written for another input of this run (two CTs of the same name?)"), path),
           FALSE;
  return TRUE;
}

static void
print_progress (int slice, void *user_data)
{
  Batch *batch = user_data;
  if (!batch->terminal)
    return;
  gint64 done = batch->progress.done + 1, total = batch->progress.total;
  double elapsed = (g_get_monotonic_time () - batch->start_us) * 1e-6;
  double eta = done > 0 ? elapsed / done * (total - done) : 0;
  fprintf (stderr, "\r");
  fprintf (stderr, _("%s: slice %" PRId64 " of %" PRId64 " (%3.0f %%), %.0f s left  "),
           batch->name, done, total, 100.0 * done / MAX (total, 1), eta);
  fflush (stderr);
}

static double
seconds_since (gint64 *lap)
{
  gint64 now = g_get_monotonic_time ();
  double s = (now - *lap) * 1e-6;
  *lap = now;
  return s;
}

static PulmoVolume *
load_ct (const char *input, GError **error)
{
  if (g_file_test (input, G_FILE_TEST_IS_DIR))
    return pulmo_dicom_import (input, NULL, NULL, error);
  return pulmo_volume_load (input, NULL, NULL, error);
}

static gboolean
segment_one (Batch *batch, PulmoModel *model, const char *input, const char *out,
             char **report_paths, const PulmoSegmentOptions *options, GError **error)
{
  if (!check_not_input (batch, out, error))
    return FALSE;
  for (char **report = report_paths; report != NULL && *report != NULL; report++)
    if (!check_not_input (batch, *report, error))
      return FALSE;
  g_autofree char *name = case_name (input);
  batch->name = name;
  batch->start_us = g_get_monotonic_time ();
  gint64 lap = batch->start_us;
  g_autoptr (PulmoVolume) volume = load_ct (input, error);
  if (volume == NULL)
    return FALSE;
  double load_s = seconds_since (&lap);
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (volume);
  uint8_t *labels = pulmo_label_map_get_data_mutable (map);
  PulmoSegmentTimes times = { 0 };
  PulmoSegmentOptions timed = *options;
  timed.times = &times;
  gboolean ok = pulmo_segment_ct (model->net, &model->info, volume, labels, &timed,
                                  &batch->progress, NULL, error);
  if (batch->terminal)
    fprintf (stderr, "\r\033[K");
  seconds_since (&lap);
  if (!ok || !pulmo_label_map_save (map, out, error))
    return FALSE;
  g_hash_table_add (batch->written, g_strdup (out));
  double save_s = seconds_since (&lap);
  PulmoReport report;
  if (!pulmo_report_compute (volume, labels, &report, error))
    return FALSE;
  for (char **path = report_paths; path != NULL && *path != NULL; path++)
    {
      if (!pulmo_report_save (&report, volume, labels, name, model->identity, *path, error))
        return FALSE;
      g_hash_table_add (batch->written, g_strdup (*path));
    }
  double report_s = seconds_since (&lap);
  if (batch->timings)
    printf ("phase load %.3f\nphase preprocessing %.3f\nphase inference %.3f\n"
            "phase resampling %.3f\nphase post-processing %.3f\nphase save %.3f\n"
            "phase report %.3f\npeak_mib %.0f\n",
            load_s, times.preprocess_s, times.inference_s, times.resample_s, times.postprocess_s,
            save_s, report_s, pulmo_peak_resident_mib ());
  printf (_("%s: %s in %.1f s; lungs %.2f L (right %.2f, left %.2f), ground glass %.1f mL, "
          "consolidation %.1f mL, severity %d + %d\n"),
          input, out, (g_get_monotonic_time () - batch->start_us) * 1e-6, report.total.lung_ml / 1000,
          report.right.lung_ml / 1000, report.left.lung_ml / 1000, report.total.ggo_ml,
          report.total.consolidation_ml, report.right.severity, report.left.severity);
  fflush (stdout);
  return TRUE;
}

/* With --output-dir, every --report names only a format, as a file name
 * ("x.pdf") or the extension alone ("pdf"): DIR/NAME-report.EXT. */
static char **
batch_report_paths (char **reports, const char *dir, const char *name)
{
  GPtrArray *paths = g_ptr_array_new ();
  for (char **report = reports; report != NULL && *report != NULL; report++)
    {
      const char *dot = strrchr (*report, '.');
      g_autofree char *file = g_strdup_printf ("%s-report.%s", name, dot != NULL ? dot + 1 : *report);
      g_ptr_array_add (paths, g_build_filename (dir, file, NULL));
    }
  g_ptr_array_add (paths, NULL);
  return (char **) g_ptr_array_free (paths, FALSE);
}

int
pulmo_cmd_segment (int argc, char **argv)
{
  g_autofree char *model_path = NULL, *out = NULL, *out_dir = NULL;
  g_auto (GStrv) reports = NULL;
  gboolean no_clahe = FALSE, no_postprocess = FALSE, timings = FALSE;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("The label map to write, for one CT"), N_("LABELS.nii.gz") },
    { "output-dir", 'd', 0, G_OPTION_ARG_FILENAME, &out_dir, N_("Write NAME-labels.nii.gz for each CT into DIR"), N_("DIR") },
    { "report", 'r', 0, G_OPTION_ARG_FILENAME_ARRAY, &reports, N_("Also write the report as JSON, CSV or PDF, by extension (repeatable; with --output-dir, DIR/NAME-report.EXT)"), N_("FILE.json") },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, N_("The model file or training checkpoint (default: the shipped model)"), N_("MODEL.pulmonet") },
    { "timings", 0, 0, G_OPTION_ARG_NONE, &timings, N_("Print the seconds of each phase and the peak memory (for `pulmo bench segment`)"), NULL },
    { "no-clahe", 0, 0, G_OPTION_ARG_NONE, &no_clahe, N_("Leave out the model's local-contrast step (to measure what it does)"), NULL },
    { "no-postprocess", 0, 0, G_OPTION_ARG_NONE, &no_postprocess, N_("Write the network's decisions as they are: no lung sides, islands kept"), NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (N_("CT… (-o LABELS | --output-dir DIR)"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                N_("Segments the lungs, ground-glass opacities and consolidations of "
                                "each CT (NIfTI file or DICOM folder) and writes its label map on "
                                "the CT's grid.\nExit status: 0 all done, 1 some inputs failed, 2 usage."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "pulmo segment: %s\n", error->message);
      return 2;
    }
  int n_inputs = argc - 1;
  if (n_inputs < 1 || (out == NULL) == (out_dir == NULL) || (out != NULL && n_inputs != 1))
    {
      fprintf (stderr, _("pulmo segment: give one CT with -o LABELS, or CTs with --output-dir DIR\n"));
      return 2;
    }
  if (out_dir != NULL && g_mkdir_with_parents (out_dir, 0755) != 0)
    {
      fprintf (stderr, _("pulmo segment: cannot create %s: %s\n"), out_dir, g_strerror (errno));
      return 1;
    }

  g_autoptr (PulmoModel) model = pulmo_model_load (model_path, &error);
  if (model == NULL)
    {
      fprintf (stderr, "pulmo segment: %s\n", error->message);
      return 1;
    }
  if (no_clahe)
    model->info.clahe_clip = 0;
  g_autoptr (GHashTable) written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Batch batch = { .inputs = argv + 1, .written = written, .terminal = isatty (fileno (stderr)),
                  .timings = timings };
  PulmoSegmentOptions options;
  pulmo_segment_options_init (&options);
  options.postprocess = !no_postprocess;
  options.slice_done = print_progress;
  options.user_data = &batch;

  int failed = 0;
  for (int i = 1; i <= n_inputs; i++)
    {
      g_autofree char *name = case_name (argv[i]);
      g_autofree char *file = g_strdup_printf ("%s-labels.nii.gz", name);
      g_autofree char *path = out != NULL ? g_strdup (out) : g_build_filename (out_dir, file, NULL);
      g_auto (GStrv) report_paths = out != NULL ? g_strdupv (reports)
                                                : batch_report_paths (reports, out_dir, name);
      g_autoptr (GError) case_error = NULL;
      if (!segment_one (&batch, model, argv[i], path, report_paths, &options, &case_error))
        {
          /* Load errors already begin with the file's name. */
          if (g_str_has_prefix (case_error->message, argv[i]))
            fprintf (stderr, "pulmo segment: %s\n", case_error->message);
          else
            fprintf (stderr, "pulmo segment: %s: %s\n", argv[i], case_error->message);
          failed++;
        }
    }
  if (failed > 0 && n_inputs > 1)
    fprintf (stderr, g_dngettext (GETTEXT_PACKAGE, "pulmo segment: %d of %d input failed\n", "pulmo segment: %d of %d inputs failed\n", n_inputs),
             failed, n_inputs);
  return failed > 0 ? 1 : 0;
}
