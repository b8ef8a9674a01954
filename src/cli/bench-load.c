/* `pulmo bench load`: how long opening a large compressed CT takes, and how much
 * memory it needs at its peak, beside `gzip -dc` of the same file in the same run.
 *
 * The 512×512×400 int16 .nii.gz is made here: from COVID-CT-MD P001 (512×512×148,
 * shared data) stretched to 400 slices by linear interpolation when it is there,
 * so the file compresses like a real CT; otherwise from a synthetic chest phantom.
 * Each load runs in a fresh child process, which reports its own time and peak
 * memory (VmHWM), so one run cannot warm the heap for the next. */
#include "cli/pulmo-cli.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pulmo-volume.h"
#include "pulmo-config.h"

#define BENCH_NX 512
#define BENCH_NY 512
#define BENCH_NZ 400

static gint64
status_kib (const char *field)
{
  g_autofree char *status = NULL;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  const char *line = strstr (status, field);
  return line != NULL ? g_ascii_strtoll (line + strlen (field), NULL, 10) : -1;
}

/* The child: load once, print seconds and the peak memory the load added. */
static int
run_child (const char *path)
{
  g_autoptr (GError) error = NULL;
  gint64 rss_before = status_kib ("VmRSS:");
  gint64 start = g_get_monotonic_time ();
  g_autoptr (PulmoVolume) volume = pulmo_volume_load (path, NULL, NULL, &error);
  gint64 elapsed = g_get_monotonic_time () - start;
  if (volume == NULL)
    {
      fprintf (stderr, "pulmo bench load: %s\n", error->message);
      return 1;
    }
  gint64 peak = status_kib ("VmHWM:");
  printf ("%.6f %" G_GINT64_FORMAT "\n", elapsed / 1e6, (peak - rss_before) * 1024);
  return 0;
}

static int16_t *
stretch_source (PulmoVolume *source, PulmoAffine *affine)
{
  int dims[3];
  pulmo_volume_get_dims (source, dims);
  const int16_t *hu = pulmo_volume_get_int16 (source);
  size_t plane = (size_t) BENCH_NX * BENCH_NY;
  int16_t *out = g_new (int16_t, plane * BENCH_NZ);

  for (int k = 0; k < BENCH_NZ; k++)
    {
      double z = k * (dims[2] - 1.0) / (BENCH_NZ - 1.0);
      int k0 = (int) floor (z), k1 = MIN (k0 + 1, dims[2] - 1);
      double t = z - k0;
      const int16_t *a = hu + (size_t) k0 * plane, *b = hu + (size_t) k1 * plane;
      for (size_t v = 0; v < plane; v++)
        out[(size_t) k * plane + v] = (int16_t) lround ((1.0 - t) * a[v] + t * b[v]);
    }
  *affine = *pulmo_volume_get_affine (source);
  for (int r = 0; r < 3; r++)
    affine->m[r][2] *= (dims[2] - 1.0) / (BENCH_NZ - 1.0);
  return out;
}

/* A chest-like phantom: air outside, soft-tissue body, two lungs with noise. */
static int16_t *
make_phantom (PulmoAffine *affine)
{
  size_t plane = (size_t) BENCH_NX * BENCH_NY;
  int16_t *out = g_new (int16_t, plane * BENCH_NZ);
  g_autoptr (GRand) rand = g_rand_new_with_seed (400);
  for (int k = 0; k < BENCH_NZ; k++)
    for (int j = 0; j < BENCH_NY; j++)
      for (int i = 0; i < BENCH_NX; i++)
        {
          double x = (i - 256.0) / 200.0, y = (j - 256.0) / 150.0;
          double lx = (fabs (x) - 0.45) / 0.3, ly = y / 0.7;
          int value = -1000;
          if (x * x + y * y < 1.0)
            value = lx * lx + ly * ly < 1.0 ? -850 : 40;
          value += g_rand_int_range (rand, -20, 21);
          out[(size_t) k * plane + (size_t) j * BENCH_NX + i] = (int16_t) value;
        }
  double spacing[3] = { 0.7, 0.7, 1.0 };
  pulmo_affine_from_spacing (affine, spacing);
  return out;
}

static char *
make_benchmark_file (const char *folder, GError **error)
{
  g_autofree char *source_path = g_build_filename (PULMO_SOURCE_DIR, "..", "shared", "data",
                                                   "covid-ct-md", "P001.nii.gz", NULL);
  g_autoptr (PulmoVolume) source = NULL;
  int dims[3] = { 0, 0, 0 };
  PulmoAffine affine;
  int16_t *hu;

  if (g_file_test (source_path, G_FILE_TEST_EXISTS))
    source = pulmo_volume_load (source_path, NULL, NULL, NULL);
  if (source != NULL)
    pulmo_volume_get_dims (source, dims);
  if (source != NULL && dims[0] == BENCH_NX && dims[1] == BENCH_NY
      && pulmo_volume_get_voxel_type (source) == PULMO_VOXEL_INT16)
    {
      printf ("Making the benchmark CT from %s, stretched to %d slices…\n", source_path, BENCH_NZ);
      hu = stretch_source (source, &affine);
    }
  else
    {
      printf ("Making a synthetic benchmark CT (COVID-CT-MD P001 not found)…\n");
      hu = make_phantom (&affine);
    }
  fflush (stdout);

  const int bench_dims[3] = { BENCH_NX, BENCH_NY, BENCH_NZ };
  g_autoptr (PulmoVolume) volume = pulmo_volume_new_int16 (bench_dims, &affine, hu);
  char *path = g_build_filename (folder, "bench-512x512x400.nii.gz", NULL);
  if (!pulmo_volume_save (volume, path, error))
    g_clear_pointer (&path, g_free);
  return path;
}

static gboolean
time_gzip (const char *path, double *seconds, GError **error)
{
  const char *argv[] = { "sh", "-c", "gzip -dc \"$1\" > /dev/null", "sh", path, NULL };
  int status = 0;
  gint64 start = g_get_monotonic_time ();
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, error)
      || !g_spawn_check_wait_status (status, error))
    return FALSE;
  *seconds = (g_get_monotonic_time () - start) / 1e6;
  return TRUE;
}

static gboolean
time_pulmo (const char *self, const char *path, double *seconds, double *peak_bytes, GError **error)
{
  const char *argv[] = { self, "bench", "load", "--child", path, NULL };
  g_autofree char *output = NULL;
  int status = 0;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &output, NULL, &status, error)
      || !g_spawn_check_wait_status (status, error))
    return FALSE;
  if (sscanf (output, "%lf %lf", seconds, peak_bytes) != 2)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "unexpected output from the loading process: %s", output);
      return FALSE;
    }
  return TRUE;
}

int
pulmo_bench_load (int argc, char **argv)
{
  int runs = 5;
  const char *keep = NULL;

  for (int a = 1; a < argc; a++)
    {
      if (strcmp (argv[a], "--child") == 0 && a + 1 < argc)
        return run_child (argv[a + 1]);
      else if (strcmp (argv[a], "--runs") == 0 && a + 1 < argc)
        {
          runs = atoi (argv[++a]);
          runs = CLAMP (runs, 1, 50);
        }
      else if (strcmp (argv[a], "--keep") == 0 && a + 1 < argc)
        keep = argv[++a];
      else
        {
          fprintf (stderr, "Usage: pulmo bench load [--runs N] [--keep FOLDER]\n"
                           "Loads a generated 512×512×400 int16 .nii.gz N times (default 5), each in a\n"
                           "fresh process, beside `gzip -dc` of the same file; --keep writes the file\n"
                           "into FOLDER and leaves it there.\n");
          return strcmp (argv[a], "--help") == 0 ? 0 : 2;
        }
    }

  g_autoptr (GError) error = NULL;
  g_autofree char *folder = keep != NULL ? g_strdup (keep) : g_dir_make_tmp ("pulmo-bench-XXXXXX", &error);
  g_autofree char *path = folder != NULL ? make_benchmark_file (folder, &error) : NULL;
  if (path == NULL)
    {
      fprintf (stderr, "pulmo bench load: %s\n", error->message);
      return 1;
    }
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  GStatBuf info;
  g_stat (path, &info);
  double voxel_bytes = 2.0 * BENCH_NX * BENCH_NY * BENCH_NZ;

  double gzip_seconds[50], pulmo_seconds[50], peaks[50], warm;
  gboolean ok = time_gzip (path, &warm, &error); /* bring the file into the page cache */
  for (int r = 0; ok && r < runs; r++)
    ok = time_gzip (path, &gzip_seconds[r], &error)
         && time_pulmo (self, path, &pulmo_seconds[r], &peaks[r], &error);
  if (keep == NULL)
    {
      g_unlink (path);
      g_rmdir (folder);
    }
  if (!ok)
    {
      fprintf (stderr, "pulmo bench load: %s\n", error->message);
      return 1;
    }

  double anchor = pulmo_bench_median (gzip_seconds, runs);
  double ours = pulmo_bench_median (pulmo_seconds, runs), peak = pulmo_bench_median (peaks, runs);
  printf ("\nLoading a %d×%d×%d int16 CT: %.1f MB compressed, %.1f MB of voxels; medians of %d runs\n",
          BENCH_NX, BENCH_NY, BENCH_NZ, info.st_size / 1e6, voxel_bytes / 1e6, runs);
  printf ("  %-22s %7.3f s\n", "gzip -dc (anchor)", anchor);
  printf ("  %-22s %7.3f s   %.2f× the anchor (target ≤ 1.30×)\n", "pulmo load", ours, ours / anchor);
  printf ("  %-22s %7.1f MB  %.3f× the voxel bytes (target ≤ 1.10×)\n", "peak memory of load", peak / 1e6,
          peak / voxel_bytes);
  return 0;
}
