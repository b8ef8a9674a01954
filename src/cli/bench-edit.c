/* `pulmo bench edit`: what an annotator waits for while correcting a
 * 512×512×400 CT: a 2D brush stroke, a 3D sphere with the redraw of the three
 * views through it, a 3D flood fill of a lung, the undo of that fill, and the
 * autosave, each beside a memcpy of the same bytes measured in the same run. */
#include "cli/pulmo-cli.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "core/pulmo-label-table.h"
#include "edit/brush.h"
#include "edit/fill.h"
#include "edit/recovery.h"
#include "render/slice-render.h"

typedef struct {
  PulmoVolume *ct;
  PulmoLabelMap *map;
  PulmoEditHistory *history;
  int dims[3];
  PulmoReslice reslice[PULMO_N_VIEWS];
  uint8_t *copy_dest;   /* memcpy anchors write here */
} Bench;

static double
elapsed_ms (gint64 start_us)
{
  return (g_get_monotonic_time () - start_us) / 1000.0;
}

/* Median milliseconds of copying @bytes of labels from spots spread over the map. */
static double
memcpy_ms (Bench *bench, gsize bytes, int runs)
{
  const uint8_t *labels = pulmo_label_map_get_data (bench->map);
  gsize n = pulmo_volume_get_n_voxels (bench->ct);
  bytes = MIN (bytes, n);
  double times[64];
  runs = MIN (runs, (int) G_N_ELEMENTS (times));
  for (int r = 0; r < runs; r++)
    {
      gsize offset = (gsize) r * 7919 * 4096 % (n - bytes + 1);
      gint64 start = g_get_monotonic_time ();
      memcpy (bench->copy_dest, labels + offset, bytes);
      times[r] = elapsed_ms (start);
    }
  return pulmo_bench_upper_median (times, runs);
}

static void
print_row (const char *what, double ms, const char *goal, double anchor_ms, gsize anchor_bytes)
{
  g_autofree char *bytes = g_format_size (anchor_bytes);
  printf ("%-44s %10.3f %8s %12.3f %10s %9.1fx\n", what, ms, goal, anchor_ms, bytes,
          ms / MAX (anchor_ms, 1e-6));
}

static void
make_painter (Bench *bench, uint8_t value, PulmoPainter *painter)
{
  PulmoPaintMask mask;
  pulmo_paint_mask_init (&mask);
  pulmo_painter_init (painter, bench->map, bench->ct, &mask, value, -1);
}

/* A drag of a 10 mm brush across 200 voxels of an axial slice, in 20 pointer events. */
static double
time_2d_stroke (Bench *bench, int run)
{
  const PulmoReslice *axial = &bench->reslice[PULMO_VIEW_AXIAL];
  PulmoBrush brush = { .shape = PULMO_BRUSH_ROUND, .size_mm = 10.0 };
  PulmoPainter painter;
  make_painter (bench, (uint8_t) (1 + run % 2), &painter);
  int slice = axial->n_slices / 4 + run % (axial->n_slices / 2);
  gint64 start = g_get_monotonic_time ();
  PulmoStroke *stroke = pulmo_stroke_begin (bench->history, axial, slice, &brush, &painter, "Brush");
  for (int e = 0; e <= 20; e++)
    pulmo_stroke_to (stroke, 150.0 + 10.0 * e, 200.0 + 4.0 * e);
  pulmo_stroke_end (stroke);
  return elapsed_ms (start);
}

/* A click of a 20 mm 3D brush (a sphere of radius 10 mm), then the redraw of
 * the three views through its centre, as the app does after the change. */
static double
time_sphere (Bench *bench, PulmoSliceRenderer *renderer, uint32_t *pixels, int run)
{
  const PulmoReslice *axial = &bench->reslice[PULMO_VIEW_AXIAL];
  PulmoBrush brush = { .shape = PULMO_BRUSH_ROUND, .size_mm = 20.0, .three_d = TRUE };
  PulmoPainter painter;
  make_painter (bench, (uint8_t) (3 + run % 2), &painter);
  int u = 120 + run * 13 % 270, v = 150 + run * 29 % 200, slice = axial->n_slices / 4 + run * 7 % (axial->n_slices / 2);
  g_autoptr (PulmoLabelTable) table = pulmo_label_table_new_default ();
  PulmoRenderParams params = {
    .window = 1500, .level = -600, .labels = pulmo_label_map_get_data (bench->map),
    .table = table, .opacity = 0.5, .overlay_mode = PULMO_OVERLAY_FILL,
  };

  gint64 start = g_get_monotonic_time ();
  PulmoStroke *stroke = pulmo_stroke_begin (bench->history, axial, slice, &brush, &painter, "Brush");
  pulmo_stroke_to (stroke, u, v);
  pulmo_stroke_end (stroke);
  int ijk[3];
  pulmo_reslice_to_voxel (axial, u, v, slice, ijk);
  for (int view = 0; view < PULMO_N_VIEWS; view++)
    {
      const PulmoReslice *reslice = &bench->reslice[view];
      int u_view, v_view, view_slice;
      pulmo_reslice_from_voxel (reslice, ijk, &u_view, &v_view, &view_slice);
      pulmo_slice_renderer_render (renderer, bench->ct, reslice, view_slice, &params, pixels,
                                   reslice->width * 4);
    }
  return elapsed_ms (start);
}

static int
parse_options (int *argc, char ***argv, int *n_slices, int *runs)
{
  GOptionEntry entries[] = {
    { "slices", 'n', 0, G_OPTION_ARG_INT, n_slices, "slices of the 512×512 CT (default 400)", "N" },
    { "runs", 'r', 0, G_OPTION_ARG_INT, runs, "timed runs per row (default 25)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- time the editing tools");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      fprintf (stderr, "pulmo bench edit: %s\n", error->message);
      return 2;
    }
  *n_slices = CLAMP (*n_slices, 32, 2000);
  *runs = CLAMP (*runs, 3, 64);
  return 0;
}

int
pulmo_bench_edit (int argc, char **argv)
{
  int n_slices = 400, runs = 25;
  int status = parse_options (&argc, &argv, &n_slices, &runs);
  if (status != 0)
    return status;

  Bench bench = { .ct = pulmo_bench_make_volume (n_slices) };
  bench.map = pulmo_label_map_new (bench.ct);
  bench.history = pulmo_edit_history_new (bench.map, 0);
  pulmo_volume_get_dims (bench.ct, bench.dims);
  for (int view = 0; view < PULMO_N_VIEWS; view++)
    pulmo_reslice_init (&bench.reslice[view], view, pulmo_volume_get_affine (bench.ct), bench.dims);
  gsize n_voxels = pulmo_volume_get_n_voxels (bench.ct);
  bench.copy_dest = g_malloc (n_voxels);
  memset (bench.copy_dest, 1, n_voxels);
  g_autoptr (PulmoSliceRenderer) renderer = pulmo_slice_renderer_new ();
  g_autofree uint32_t *pixels = g_new (uint32_t, (gsize) MAX (bench.dims[0], bench.dims[2]) * MAX (bench.dims[1], bench.dims[2]));

  g_autofree char *label_bytes = g_format_size (n_voxels);
  printf ("pulmo bench edit: %d×%d×%d CT, labels %s, median of %d runs per row\n\n", bench.dims[0],
          bench.dims[1], bench.dims[2], label_bytes, runs);
  printf ("%-44s %10s %8s %12s %10s %10s\n", "operation", "median ms", "goal", "memcpy ms", "bytes", "x memcpy");

  double times[64];
  for (int r = 0; r < runs; r++)
    times[r] = time_2d_stroke (&bench, r);
  gsize slice_bytes = (gsize) bench.dims[0] * bench.dims[1];
  print_row ("2D brush stroke, 10 mm, 200 voxels long", pulmo_bench_upper_median (times, runs), "2",
             memcpy_ms (&bench, slice_bytes, runs), slice_bytes);

  for (int r = 0; r < runs; r++)
    times[r] = time_sphere (&bench, renderer, pixels, r);
  gsize redraw_bytes = 4 * ((gsize) bench.dims[0] * bench.dims[1] + 2 * (gsize) bench.dims[0] * bench.dims[2]);
  print_row ("3D sphere r = 10 mm + redraw of three views", pulmo_bench_upper_median (times, runs), "16",
             memcpy_ms (&bench, redraw_bytes, runs), redraw_bytes);

  /* Fill a lung, undo it, again: each fill and each undo timed on its own. */
  int seed[3];
  if (!pulmo_bench_find_lung_seed (bench.ct, seed))
    {
      fprintf (stderr, "pulmo bench edit: no aerated lung on the middle slice\n");
      return 1;
    }
  int fill_runs = MIN (runs, 5);
  double undo_times[64];
  gsize filled = 0, undo_box_bytes = 0;
  for (int r = 0; r < fill_runs; r++)
    {
      PulmoPainter painter;
      make_painter (&bench, PULMO_LABEL_RIGHT_LUNG, &painter);
      gint64 start = g_get_monotonic_time ();
      filled = pulmo_flood_fill (bench.history, bench.ct, &painter, seed, -1024.0, -500.0, NULL, "Fill");
      times[r] = elapsed_ms (start);
      start = g_get_monotonic_time ();
      pulmo_edit_history_undo (bench.history);
      undo_times[r] = elapsed_ms (start);
      const PulmoBox *box = pulmo_label_map_get_dirty_box (bench.map);
      undo_box_bytes = (gsize) (box->hi[0] - box->lo[0] + 1) * (box->hi[1] - box->lo[1] + 1)
                       * (box->hi[2] - box->lo[2] + 1);
    }
  const double *spacing = pulmo_volume_get_spacing (bench.ct);
  g_autofree char *fill_what = g_strdup_printf ("3D flood fill from a lung seed (%.0f ml)",
                                                filled * spacing[0] * spacing[1] * spacing[2] / 1000.0);
  print_row (fill_what, pulmo_bench_upper_median (times, fill_runs), "-",
             memcpy_ms (&bench, n_voxels, fill_runs), n_voxels);
  print_row ("undo of that fill", pulmo_bench_upper_median (undo_times, fill_runs), "-",
             memcpy_ms (&bench, undo_box_bytes, fill_runs), undo_box_bytes);

  /* The autosave: the worker writes the whole map; the main thread only copies
   * the changed box when the map says it changed. */
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_dir_make_tmp ("pulmo-bench-XXXXXX", &error);
  if (folder == NULL)
    {
      fprintf (stderr, "pulmo bench edit: %s\n", error->message);
      return 1;
    }
  g_autofree char *recovery = g_build_filename (folder, "bench.pulmo-recovery", NULL);
  g_autofree char *hash = pulmo_recovery_ct_hash (bench.ct);
  int write_runs = MIN (runs, 5);
  for (int r = 0; r < write_runs; r++)
    {
      gint64 start = g_get_monotonic_time ();
      if (!pulmo_recovery_write (recovery, "bench.nii.gz", hash, bench.ct, pulmo_label_map_get_data (bench.map),
                                 pulmo_label_map_get_table (bench.map), &error))
        {
          fprintf (stderr, "pulmo bench edit: %s\n", error->message);
          return 1;
        }
      times[r] = elapsed_ms (start);
    }
  print_row ("autosave: recovery file write (worker)", pulmo_bench_upper_median (times, write_runs), "1000",
             memcpy_ms (&bench, n_voxels, write_runs), n_voxels);

  PulmoAutosave *autosave = pulmo_autosave_new (bench.map, "bench.nii.gz", hash);
  PulmoBox sphere_box = { { 200, 200, n_slices / 2 - 5 }, { 228, 228, n_slices / 2 + 5 } };
  for (int r = 0; r < runs; r++)
    {
      gint64 start = g_get_monotonic_time ();
      pulmo_label_map_changed (bench.map, &sphere_box);
      times[r] = elapsed_ms (start);
    }
  gsize sphere_bytes = 29 * 29 * 11;
  print_row ("autosave: main thread per sphere edit", pulmo_bench_upper_median (times, runs), "-",
             memcpy_ms (&bench, sphere_bytes, runs), sphere_bytes);
  pulmo_autosave_free (autosave, TRUE);
  g_unlink (recovery);
  g_rmdir (folder);

  printf ("\n“goal”: issue 18's target in ms. “memcpy ms”: a memcpy of the bytes shown, from spots\n"
          "spread over the label map, in this run. The flood fill runs within −1024…−500 HU from a\n"
          "seed in the lung at the middle slice; undo inflates and applies its delta.\n");
  pulmo_edit_history_free (bench.history);
  g_object_unref (bench.map);
  pulmo_volume_unref (bench.ct);
  g_free (bench.copy_dest);
  return 0;
}
