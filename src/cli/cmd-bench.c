/* `pulmo bench NAME`: benchmarks are programs, not timed tests. Each prints its
 * figure beside an anchor measured in the same run. */
#include "cli/pulmo-cli.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* bench-finetune.c (declared here, beside the table that names it). */
int pulmo_bench_finetune (int argc, char **argv);

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} PulmoBenchmark;

static const PulmoBenchmark benchmarks[] = {
  { "bigscan", pulmo_bench_bigscan, "open, label, edit, undo, scroll and segment a 1024×1024×1000 CT (2 GiB), peak memory against 1.5 GB" },
  { "conv", pulmo_bench_conv, "convolution GFLOPS on each U-Net layer shape, against plain sgemm" },
  { "edit", pulmo_bench_edit, "brush, sphere, lung flood fill, undo and autosave on a 512×512×400 CT, against memcpy" },
  { "finetune", pulmo_bench_finetune, "fine-tune the shipped model on one corrected 512×512×300 CT mixed with its training data, against 5 minutes" },
  { "load", pulmo_bench_load, "load a 512×512×400 int16 .nii.gz, against gzip -dc" },
  { "render", pulmo_bench_render, "render 512×512 slices with overlay in three orientations, against memcpy" },
  { "render3d", pulmo_bench_render3d, "rotate the 3D view of a 512×512×400 label map, frames per second against 20" },
  { "nn", pulmo_bench_nn, "U-Net inference and training step, against PyTorch" },
  { "segment", pulmo_bench_segment, "segment a 512×512×300 CT end to end, phase by phase, against PyTorch" },
  { "ops", pulmo_bench_ops, "U-Net operations other than convolution, against memcpy, sgemm and expf" },
};

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

double
pulmo_bench_now_ms (void)
{
  return g_get_monotonic_time () / 1e3;
}

double
pulmo_bench_median (double *values, int n)
{
  qsort (values, (size_t) n, sizeof *values, compare_doubles);
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double
pulmo_bench_upper_median (double *values, int n)
{
  qsort (values, (size_t) n, sizeof *values, compare_doubles);
  return values[n / 2];
}

double
pulmo_bench_median_seconds (void (*run) (void *ctx), void *ctx, double budget_s)
{
  double times[64];
  int n = 0;
  double spent = 0.0;

  run (ctx); /* warm-up: page faults, caches */
  while (n < (int) G_N_ELEMENTS (times) && (n < 3 || spent < budget_s))
    {
      gint64 start = g_get_monotonic_time ();
      run (ctx);
      times[n] = (g_get_monotonic_time () - start) * 1e-6;
      spent += times[n++];
    }
  return pulmo_bench_upper_median (times, n);
}

int
pulmo_cmd_bench (int argc, char **argv)
{
  if (argc >= 2)
    for (size_t b = 0; b < G_N_ELEMENTS (benchmarks); b++)
      if (strcmp (argv[1], benchmarks[b].name) == 0)
        return benchmarks[b].run (argc - 1, argv + 1);

  fprintf (stderr, _("Usage: pulmo bench NAME [OPTIONS]\n\n"));
  for (size_t b = 0; b < G_N_ELEMENTS (benchmarks); b++)
    fprintf (stderr, "  %-8s %s\n", benchmarks[b].name, benchmarks[b].summary);
  return 2;
}

double
pulmo_peak_resident_mib (void)
{
  g_autofree char *status = NULL;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  const char *line = strstr (status, "VmHWM:");
  return line != NULL ? g_ascii_strtod (line + 6, NULL) / 1024 : -1;
}
