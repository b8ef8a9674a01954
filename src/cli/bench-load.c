/* `pulmo bench load`: how long opening a large compressed CT takes, and how much
 * memory it needs at its peak, beside `gzip -dc` of the same file in the same run.
 *
 * The 512×512×400 int16 .nii.gz is made by pulmo_bench_make_ct (bench-ct.c).
 * Each load runs in a fresh child process, which reports its own time and peak
 * memory (VmHWM), so one run cannot warm the heap for the next. */
#include "cli/pulmo-cli.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pulmo-volume.h"

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
  g_autofree char *path = folder != NULL ? pulmo_bench_make_ct (folder, BENCH_NZ, &error) : NULL;
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
