/* `pulmo bench segment`: a 512×512×300 CT segmented end to end — from the
 * start of `pulmo segment` to its labels saved — phase by phase, beside the
 * same network with the same weights in PyTorch over the same slices
 * (tests/anchors/pytorch_segment.py: nibabel, OpenCV's CLAHE, PyTorch, SciPy),
 * measured in the same run. Each run of either is a fresh process, and the
 * two take turns; the figures are medians. The CT is P001 stretched to 300
 * slices (bench-ct.c). The two label maps are compared too, so that a fast
 * Pulmo is seen to do the same work. */
#include "cli/pulmo-cli.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "core/pulmo-label-map.h"
#include "nn/parallel.h"
#include "pulmo-config.h"
#include "train/model-registry.h"

#define MAX_RUNS 20

static const char *const phases[] = {
  "load", "preprocessing", "inference", "resampling", "post-processing", "save",
};
#define N_PHASES G_N_ELEMENTS (phases)

typedef struct {
  double phase_s[N_PHASES][MAX_RUNS];
  double wall_s[MAX_RUNS];
  double saved_s[MAX_RUNS];   /* wall time less the report Pulmo counts after the save */
  double peak_mib[MAX_RUNS];
} Runs;

/* Runs @argv, records its wall time and the "phase NAME S" and "peak_mib M"
 * lines it prints. */
static gboolean
run_timed (const char *const *argv, Runs *runs, int r, GError **error)
{
  g_autofree char *output = NULL, *errors = NULL;
  int status = 0;
  gint64 start = g_get_monotonic_time ();
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &output, &errors,
                     &status, error))
    return FALSE;
  runs->wall_s[r] = (g_get_monotonic_time () - start) * 1e-6;
  if (!g_spawn_check_wait_status (status, NULL))
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s failed: %s", argv[0],
                        errors != NULL ? g_strstrip (errors) : ""),
           FALSE;
  g_auto (GStrv) lines = g_strsplit (output, "\n", -1);
  runs->peak_mib[r] = -1;
  runs->saved_s[r] = runs->wall_s[r];
  for (char **line = lines; *line != NULL; line++)
    {
      if (g_str_has_prefix (*line, "peak_mib "))
        runs->peak_mib[r] = g_ascii_strtod (*line + 9, NULL);
      if (g_str_has_prefix (*line, "phase report "))
        runs->saved_s[r] = runs->wall_s[r] - g_ascii_strtod (*line + 13, NULL);
      for (size_t p = 0; p < N_PHASES; p++)
        if (g_str_has_prefix (*line, "phase ") && g_str_has_prefix (*line + 6, phases[p])
            && (*line)[6 + strlen (phases[p])] == ' ')
          runs->phase_s[p][r] = g_ascii_strtod (*line + 7 + strlen (phases[p]), NULL);
    }
  return TRUE;
}

/* Dice of the voxels whose values @in marks, between two label arrays. */
static double
dice (const uint8_t *a, const uint8_t *b, size_t n, const gboolean in[256])
{
  guint64 both = 0, sum = 0;
  for (size_t i = 0; i < n; i++)
    {
      both += in[a[i]] && in[b[i]];
      sum += in[a[i]] + in[b[i]];
    }
  return sum > 0 ? 2.0 * both / sum : 1.0;
}

static void
print_agreement (const char *ct_path, const char *pulmo_out, const char *anchor_out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) ct = pulmo_volume_load (ct_path, NULL, NULL, &error);
  g_autoptr (PulmoLabelMap) ours = ct ? pulmo_label_map_load (ct, pulmo_out, NULL, NULL, &error) : NULL;
  g_autoptr (PulmoLabelMap) theirs = ours ? pulmo_label_map_load (ct, anchor_out, NULL, NULL, &error) : NULL;
  if (theirs == NULL)
    {
      printf ("  (labels not compared: %s)\n", error->message);
      return;
    }
  gboolean lung[256] = { FALSE }, right[256] = { FALSE }, lesion[256] = { FALSE };
  lung[1] = lung[2] = lung[3] = lung[4] = TRUE;
  right[1] = TRUE;
  lesion[3] = lesion[4] = TRUE;
  const uint8_t *a = pulmo_label_map_get_data (ours), *b = pulmo_label_map_get_data (theirs);
  size_t n = pulmo_volume_get_n_voxels (ct);
  printf ("  the two label maps agree: Dice lungs %.4f, right lung parenchyma %.4f, lesions %.4f\n",
          dice (a, b, n, lung), dice (a, b, n, right), dice (a, b, n, lesion));
}

static double
median_of (double *values, int n)
{
  double copy[MAX_RUNS];
  memcpy (copy, values, sizeof (double) * n);
  return pulmo_bench_median (copy, n);
}

int
pulmo_bench_segment (int argc, char **argv)
{
  int runs = 2, n_slices = 300;
  gboolean no_anchor = FALSE;
  g_autofree char *keep = NULL, *model_path = NULL;
  GOptionEntry entries[] = {
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs of each (default 2)", "N" },
    { "slices", 0, 0, G_OPTION_ARG_INT, &n_slices, "Slices of the 512×512 CT (default 300)", "N" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "The model (default: the shipped model)", "MODEL" },
    { "keep", 0, 0, G_OPTION_ARG_FILENAME, &keep, "Write the CT and both label maps into FOLDER and leave them", "FOLDER" },
    { "no-anchor", 0, 0, G_OPTION_ARG_NONE, &no_anchor, "Skip the PyTorch anchor", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- a whole CT segmented, against PyTorch");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error) || runs < 1 || runs > MAX_RUNS
      || n_slices < 1 || n_slices > 2000)
    {
      fprintf (stderr, "pulmo bench segment: %s\n",
               error ? error->message : "runs must be 1 to 20, slices 1 to 2000");
      return 2;
    }
  if (model_path == NULL && (model_path = pulmo_model_default_path (&error)) == NULL)
    {
      fprintf (stderr, "pulmo bench segment: %s\n", error->message);
      return 1;
    }

  g_autofree char *folder = keep != NULL ? g_strdup (keep) : g_dir_make_tmp ("pulmo-bench-XXXXXX", &error);
  if (folder != NULL && keep != NULL)
    g_mkdir_with_parents (folder, 0755);
  g_autofree char *ct = folder != NULL ? pulmo_bench_make_ct (folder, n_slices, &error) : NULL;
  if (ct == NULL)
    {
      fprintf (stderr, "pulmo bench segment: %s\n", error->message);
      return 1;
    }
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *pulmo_out = g_build_filename (folder, "pulmo-labels.nii.gz", NULL);
  g_autofree char *anchor_out = g_build_filename (folder, "pytorch-labels.nii.gz", NULL);
  g_autofree char *script = g_build_filename (PULMO_SOURCE_DIR, "tests", "anchors",
                                              "pytorch_segment.py", NULL);
  g_autofree char *threads = g_strdup_printf ("%d", pulmo_parallel_n_threads ());
  const char *pulmo_argv[] = { self, "segment", ct, "-o", pulmo_out, "--model", model_path,
                               "--timings", NULL };
  const char *anchor_argv[] = { "/usr/bin/python3", script, model_path, ct, anchor_out,
                                "--threads", threads, NULL };

  printf ("pulmo bench segment: 512×512×%d CT, %s threads, %d runs each, taking turns\n", n_slices,
          threads, runs);
  fflush (stdout);
  static Runs pulmo, torch;
  gboolean anchor_ok = !no_anchor;
  g_autofree char *anchor_why = NULL;
  for (int r = 0; r < runs; r++)
    {
      if (!run_timed (pulmo_argv, &pulmo, r, &error))
        {
          fprintf (stderr, "pulmo bench segment: %s\n", error->message);
          return 1;
        }
      g_autoptr (GError) anchor_error = NULL;
      if (anchor_ok && !run_timed (anchor_argv, &torch, r, &anchor_error))
        {
          anchor_ok = FALSE;
          anchor_why = g_strdup (anchor_error->message);
        }
    }

  printf ("\n  %-18s %10s %12s\n", "phase", "Pulmo s", "PyTorch s");
  double pulmo_sum = 0, torch_sum = 0;
  for (size_t p = 0; p < N_PHASES; p++)
    {
      double ours = median_of (pulmo.phase_s[p], runs);
      pulmo_sum += ours;
      printf ("  %-18s %10.2f", phases[p], ours);
      if (anchor_ok)
        {
          double theirs = median_of (torch.phase_s[p], runs);
          torch_sum += theirs;
          printf (" %12.2f", theirs);
        }
      printf ("\n");
    }
  double wall = median_of (pulmo.wall_s, runs);
  printf ("  %-18s %10.2f", "phases together", pulmo_sum);
  if (anchor_ok)
    printf (" %12.2f   speed-up %.2f×", torch_sum, torch_sum / pulmo_sum);
  printf ("\n  %-18s %10.2f", "whole process", wall);
  if (anchor_ok)
    {
      double torch_wall = median_of (torch.wall_s, runs);
      printf (" %12.2f   speed-up %.2f× (target ≥ 3×)", torch_wall, torch_wall / wall);
    }
  printf ("\n  Pulmo from start to labels saved: %.2f s (target ≤ 12 s for 300 slices; the whole "
          "process less the report's figures, which come after the save)\n",
          median_of (pulmo.saved_s, runs));
  double voxel_mib = 2.0 * 512 * 512 * n_slices / (1024.0 * 1024.0);
  printf ("  Pulmo peak memory %.0f MiB = the CT's voxels (%.0f MiB) + %.0f MiB (target ≤ + 500 MiB)\n",
          median_of (pulmo.peak_mib, runs), voxel_mib, median_of (pulmo.peak_mib, runs) - voxel_mib);
  if (anchor_ok)
    print_agreement (ct, pulmo_out, anchor_out);
  else if (!no_anchor)
    printf ("  PyTorch anchor unavailable (%s).\n  Install it with: sudo apt-get install "
            "python3-torch python3-nibabel python3-scipy python3-opencv\n", anchor_why);
  if (keep == NULL)
    {
      g_unlink (ct);
      g_unlink (pulmo_out);
      g_unlink (anchor_out);
      g_rmdir (folder);
    }
  return 0;
}
