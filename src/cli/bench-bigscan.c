/* `pulmo bench bigscan`: the memory a 1024×1024×1000 int16 CT (2 GiB of voxels)
 * needs above its voxel bytes while it is opened, labelled, edited, undone,
 * scrolled through and segmented, against the 1.5 GB budget.
 *
 * The CT is COVID-CT-MD P001 resampled to that grid (bench-ct.c), written as an
 * uncompressed .nii into a temporary folder and deleted afterwards. The viewer's
 * work runs in one child process and `pulmo segment` in another, so that each
 * peak (VmHWM, and wait4's rusage for the second) is its own. */
#include "cli/pulmo-cli.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "core/pulmo-label-table.h"
#include "edit/brush.h"
#include "edit/fill.h"
#include "render/slice-render.h"

#define BUDGET_BYTES 1.5e9

static const int big_dims[3] = { 1024, 1024, 1000 };

static double
peak_bytes (void)
{
  return pulmo_peak_resident_mib () * 1024.0 * 1024.0;
}

static void
print_stage (const char *what, double seconds, double voxel_bytes)
{
  double above = peak_bytes () - voxel_bytes;
  printf ("  %-46s %7.2f s   peak = voxels + %7.1f MB  (%s the 1.5 GB budget)\n", what, seconds, above / 1e6,
          above <= BUDGET_BYTES ? "within" : "OVER");
  fflush (stdout);
}

static void
make_painter (PulmoLabelMap *map, PulmoVolume *ct, uint8_t value, PulmoPainter *painter)
{
  PulmoPaintMask mask;
  pulmo_paint_mask_init (&mask);
  pulmo_painter_init (painter, map, ct, &mask, value, -1);
}

/* The viewer's work, stage by stage, each with the peak memory so far. */
static int
run_viewer (const char *path)
{
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  g_autoptr (PulmoVolume) ct = pulmo_volume_load (path, NULL, NULL, &error);
  if (ct == NULL)
    {
      fprintf (stderr, "pulmo bench bigscan: %s\n", error->message);
      return 1;
    }
  double voxel_bytes = (double) pulmo_volume_get_memory_bytes (ct);
  print_stage ("open the .nii", (g_get_monotonic_time () - start) / 1e6, voxel_bytes);

  start = g_get_monotonic_time ();
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
  print_stage ("+ label map and undo history", (g_get_monotonic_time () - start) / 1e6, voxel_bytes);

  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  PulmoReslice reslice[PULMO_N_VIEWS];
  for (int view = 0; view < PULMO_N_VIEWS; view++)
    pulmo_reslice_init (&reslice[view], view, pulmo_volume_get_affine (ct), dims);

  /* A 3D brush click of 20 mm and a flood fill of a lung, each undone. */
  start = g_get_monotonic_time ();
  PulmoBrush brush = { .shape = PULMO_BRUSH_ROUND, .size_mm = 20.0, .three_d = TRUE };
  PulmoPainter painter;
  make_painter (map, ct, PULMO_LABEL_GROUND_GLASS, &painter);
  const PulmoReslice *axial = &reslice[PULMO_VIEW_AXIAL];
  PulmoStroke *stroke = pulmo_stroke_begin (history, axial, axial->n_slices / 2, &brush, &painter, "Brush");
  pulmo_stroke_to (stroke, axial->width / 3.0, axial->height / 2.0);
  pulmo_stroke_end (stroke);
  int seed[3];
  gsize filled = 0;
  if (pulmo_bench_find_lung_seed (ct, seed))
    {
      make_painter (map, ct, PULMO_LABEL_RIGHT_LUNG, &painter);
      filled = pulmo_flood_fill (history, ct, &painter, seed, -1024.0, -500.0, NULL, "Fill");
    }
  guint steps = pulmo_edit_history_get_n_steps (history);
  gsize history_bytes = pulmo_edit_history_get_bytes (history);
  while (pulmo_edit_history_undo (history))
    ;
  g_autofree char *fill_what = g_strdup_printf ("+ 3D brush, fill of %.1f M voxels, both undone", filled / 1e6);
  print_stage (fill_what, (g_get_monotonic_time () - start) / 1e6, voxel_bytes);
  g_autofree char *history_size = g_format_size (history_bytes);
  printf ("    (%u undo steps holding %s)\n", steps, history_size);

  /* Scrolling: every 10th slice of each view, with the overlay. */
  start = g_get_monotonic_time ();
  g_autoptr (PulmoSliceRenderer) renderer = pulmo_slice_renderer_new ();
  g_autoptr (PulmoLabelTable) table = pulmo_label_table_new_default ();
  PulmoRenderParams params = {
    .window = 1500, .level = -600, .labels = pulmo_label_map_get_data (map),
    .table = table, .opacity = 0.5, .overlay_mode = PULMO_OVERLAY_FILL,
  };
  int side = MAX (dims[0], MAX (dims[1], dims[2]));
  g_autofree uint32_t *pixels = g_new (uint32_t, (gsize) side * side);
  int rendered = 0;
  for (int view = 0; view < PULMO_N_VIEWS; view++)
    for (int slice = 0; slice < reslice[view].n_slices; slice += 10, rendered++)
      pulmo_slice_renderer_render (renderer, ct, &reslice[view], slice, &params, pixels, reslice[view].width * 4);
  g_autofree char *scroll_what = g_strdup_printf ("+ scrolling: %d slices in three views", rendered);
  print_stage (scroll_what, (g_get_monotonic_time () - start) / 1e6, voxel_bytes);
  return 0;
}

/* `pulmo segment` on the CT, as a user would run it; its peak from wait4. */
static gboolean
run_segment (const char *self, const char *path, const char *folder, double voxel_bytes, GError **error)
{
  g_autofree char *out = g_build_filename (folder, "labels.nii.gz", NULL);
  const char *argv[] = { self, "segment", path, "-o", out, NULL };
  GPid pid = 0;
  gint64 start = g_get_monotonic_time ();
  if (!g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                      NULL, &pid, error))
    return FALSE;
  int status = 0;
  struct rusage usage;
  if (wait4 (pid, &status, 0, &usage) != pid || !g_spawn_check_wait_status (status, error))
    return FALSE;
  double above = usage.ru_maxrss * 1024.0 - voxel_bytes;
  printf ("  %-46s %7.2f s   peak = voxels + %7.1f MB  (%s the 1.5 GB budget)\n", "pulmo segment (own process)",
          (g_get_monotonic_time () - start) / 1e6, above / 1e6, above <= BUDGET_BYTES ? "within" : "OVER");
  g_unlink (out);
  return TRUE;
}

int
pulmo_bench_bigscan (int argc, char **argv)
{
  gboolean segment = TRUE;
  for (int a = 1; a < argc; a++)
    {
      if (strcmp (argv[a], "--child") == 0 && a + 1 < argc)
        return run_viewer (argv[a + 1]);
      else if (strcmp (argv[a], "--no-segment") == 0)
        segment = FALSE;
      else
        {
          fprintf (stderr, "Usage: pulmo bench bigscan [--no-segment]\n"
                           "Makes a 1024×1024×1000 int16 CT (2 GiB, in a temporary folder, deleted after),\n"
                           "opens, labels, edits, undoes and scrolls it in one process and segments it with\n"
                           "`pulmo segment` in another, printing each step's peak memory above the voxels.\n"
                           "Needs about 4 GB of memory and 2 GB of disk.\n");
          return strcmp (argv[a], "--help") == 0 ? 0 : 2;
        }
    }

  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_dir_make_tmp ("pulmo-bench-XXXXXX", &error);
  g_autofree char *path = folder != NULL ? pulmo_bench_make_big_ct (folder, big_dims, &error) : NULL;
  if (path == NULL)
    {
      fprintf (stderr, "pulmo bench bigscan: %s\n", error->message);
      if (folder != NULL)
        g_rmdir (folder);
      return 1;
    }
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  double voxel_bytes = 2.0 * big_dims[0] * big_dims[1] * big_dims[2];
  printf ("\n%d×%d×%d int16 CT, %.1f MB of voxels; peak resident memory (VmHWM) after each step:\n", big_dims[0],
          big_dims[1], big_dims[2], voxel_bytes / 1e6);
  fflush (stdout);

  const char *viewer_argv[] = { self, "bench", "bigscan", "--child", path, NULL };
  int status = 0;
  gboolean ok = g_spawn_sync (NULL, (char **) viewer_argv, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, NULL,
                              NULL, &status, &error)
                && g_spawn_check_wait_status (status, &error);
  ok = ok && (!segment || run_segment (self, path, folder, voxel_bytes, &error));
  g_unlink (path);
  g_rmdir (folder);
  if (!ok)
    {
      fprintf (stderr, "pulmo bench bigscan: %s\n", error->message);
      return 1;
    }
  return 0;
}
