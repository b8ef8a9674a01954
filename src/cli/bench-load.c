/* `pulmo bench load`: how long opening a large compressed CT takes, and how much
 * memory it needs at its peak, beside `gzip -dc` and `libdeflate-gunzip` of the
 * same file in the same run; and, with a display, the time from launching the
 * app on it to its first slice on screen.
 *
 * The 512×512×400 int16 .nii.gz is made by pulmo_bench_make_ct (bench-ct.c).
 * Each load runs in a fresh child process, which reports its own time and peak
 * memory (VmHWM), so one run cannot warm the heap for the next. Every row runs
 * twice: with the whole-file inflate (libdeflate) and, as the "before", with
 * zlib's streaming (PULMO_INFLATE=zlib). */
#include "cli/pulmo-cli.h"

#include <glib/gstdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
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

/* @tool ("gzip -dc", "libdeflate-gunzip -c") inflating @path to /dev/null. */
static gboolean
time_gunzip (const char *tool, const char *path, double *seconds, GError **error)
{
  g_autofree char *script = g_strdup_printf ("%s \"$1\" > /dev/null", tool);
  const char *argv[] = { "sh", "-c", script, "sh", path, NULL };
  int status = 0;
  gint64 start = g_get_monotonic_time ();
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, error)
      || !g_spawn_check_wait_status (status, error))
    return FALSE;
  *seconds = (g_get_monotonic_time () - start) / 1e6;
  return TRUE;
}

static char **
child_environment (gboolean zlib, gboolean first_image)
{
  char **env = g_get_environ ();
  if (zlib)
    env = g_environ_setenv (env, "PULMO_INFLATE", "zlib", TRUE);
  if (first_image)
    env = g_environ_setenv (env, "PULMO_REPORT_FIRST_IMAGE", "1", TRUE);
  return env;
}

static gboolean
time_pulmo (const char *self, const char *path, gboolean zlib, double *seconds, double *peak_bytes,
            GError **error)
{
  const char *argv[] = { self, "bench", "load", "--child", path, NULL };
  g_auto (GStrv) env = child_environment (zlib, FALSE);
  g_autofree char *output = NULL;
  int status = 0;
  if (!g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &output, NULL, &status, error)
      || !g_spawn_check_wait_status (status, error))
    return FALSE;
  if (sscanf (output, "%lf %lf", seconds, peak_bytes) != 2)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "unexpected output from the loading process: %s", output);
      return FALSE;
    }
  return TRUE;
}

/* Launches the app on @path and waits for it to print when its first slice
 * was painted (it quits then); its peak memory comes from wait4's rusage. */
static gboolean
time_first_image (const char *self, const char *path, gboolean zlib, double *seconds, double *peak_bytes,
                  GError **error)
{
  const char *argv[] = { self, path, NULL };
  g_auto (GStrv) env = child_environment (zlib, TRUE);
  GPid pid = 0;
  int out_fd = -1;
  gint64 launch = g_get_monotonic_time ();
  if (!g_spawn_async_with_pipes (NULL, (char **) argv, env, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL,
                                 &out_fd, NULL, error))
    return FALSE;
  FILE *out = fdopen (out_fd, "r");
  char line[256];
  gint64 painted = 0;
  while (fgets (line, sizeof line, out) != NULL)
    if (sscanf (line, "first-image %" G_GINT64_FORMAT, &painted) == 1)
      break;
  fclose (out);
  int status = 0;
  struct rusage usage;
  if (wait4 (pid, &status, 0, &usage) != pid || !g_spawn_check_wait_status (status, error) || painted == 0)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the app did not report its first image");
      return FALSE;
    }
  *seconds = (painted - launch) / 1e6;
  *peak_bytes = usage.ru_maxrss * 1024.0;
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
                           "fresh process, beside `gzip -dc` and `libdeflate-gunzip` of the same file,\n"
                           "and with a display also launches the app on it up to its first image;\n"
                           "--keep writes the file into FOLDER and leaves it there.\n");
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

  gboolean display = g_getenv ("DISPLAY") != NULL || g_getenv ("WAYLAND_DISPLAY") != NULL;
  double gzip_s[50], deflate_s[50], load_s[2][50], load_peak[2][50], first_s[2][50], first_peak[2][50], warm;
  gboolean ok = time_gunzip ("gzip -dc", path, &warm, &error); /* bring the file into the page cache */
  for (int r = 0; ok && r < runs; r++)
    {
      ok = time_gunzip ("gzip -dc", path, &gzip_s[r], &error)
           && time_gunzip ("libdeflate-gunzip -c", path, &deflate_s[r], &error);
      for (int z = 0; ok && z < 2; z++)
        ok = time_pulmo (self, path, z, &load_s[z][r], &load_peak[z][r], &error)
             && (!display || time_first_image (self, path, z, &first_s[z][r], &first_peak[z][r], &error));
    }
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

  double gzip = pulmo_bench_median (gzip_s, runs), deflate = pulmo_bench_median (deflate_s, runs);
  printf ("\nLoading a %d×%d×%d int16 CT: %.1f MB compressed, %.1f MB of voxels; medians of %d runs\n",
          BENCH_NX, BENCH_NY, BENCH_NZ, info.st_size / 1e6, voxel_bytes / 1e6, runs);
  printf ("  %-50s %7.3f s\n", "gzip -dc (anchor)", gzip);
  printf ("  %-50s %7.3f s   %.2f× gzip -dc\n", "libdeflate-gunzip (anchor)", deflate, deflate / gzip);
  static const char *const inflaters[2] = { "libdeflate", "zlib streaming, before" };
  for (int z = 0; z < 2; z++)
    {
      double seconds = pulmo_bench_median (load_s[z], runs), peak = pulmo_bench_median (load_peak[z], runs);
      g_autofree char *name = g_strdup_printf ("pulmo load (%s)", inflaters[z]);
      printf ("  %-50s %7.3f s   %.2f× gzip -dc, %.2f× libdeflate-gunzip; peak +%.1f MB over the voxels "
              "(target ≤ +120 MB)\n", name, seconds, seconds / gzip, seconds / deflate, (peak - voxel_bytes) / 1e6);
    }
  if (!display)
    {
      printf ("  (no display: run under xvfb-run for the time from launch to the first image)\n");
      return 0;
    }
  for (int z = 0; z < 2; z++)
    {
      double seconds = pulmo_bench_median (first_s[z], runs), peak = pulmo_bench_median (first_peak[z], runs);
      g_autofree char *name = g_strdup_printf ("app launch → first image (%s)", inflaters[z]);
      printf ("  %-50s %7.3f s   (target ≤ 1.0 s); app's peak %.1f MB = voxels + %.1f MB\n", name, seconds,
              peak / 1e6, (peak - voxel_bytes) / 1e6);
    }
  return 0;
}
