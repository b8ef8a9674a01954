/* Slabs and cine in the viewer, under Xvfb, on CIP ct-64 (64×64×79, LPS):
 * the slab keys and what the view then renders, cine stepping and looping,
 * the sweep export of a view (APNG frame count and size, PNG series) and the
 * main loop's longest stall while it runs (on P001), and the slab and cine
 * settings kept from one run to the next. */
#include <glib/gstdio.h>
#include <string.h>

#include "app/pulmo-slice-view-private.h"
#include "core/pulmo-error.h"
#include "app-test-window.h"
#include "app-test.h"
#include "pulmo-test.h"

typedef struct {
  PulmoWindow *window;
  PulmoViewState *state;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  app_test_reset_preferences ();
  f->window = pulmo_window_new (NULL);
  f->state = pulmo_window_get_state (f->window);
  gtk_window_present (GTK_WINDOW (f->window));
  g_autofree char *path = pulmo_test_data (data);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  pulmo_window_open (f->window, file);
  app_test_wait_for (app_test_window_loaded, f->window, 60);
  g_assert_null (pulmo_window_get_error (f->window));
}

static void
teardown (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  app_test_iterate_pending ();
}

static PulmoReslice
view_reslice (Fixture *f, PulmoViewAxis axis)
{
  PulmoVolume *ct = pulmo_view_state_get_volume (f->state);
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  PulmoReslice reslice;
  pulmo_reslice_init (&reslice, axis, pulmo_volume_get_affine (ct), dims);
  return reslice;
}

/* S turns the thin slice into a MinIP of 10 mm, plus and minus move by 5 mm,
 * and the axial image then holds the minimum through the slab's slices. */
static void
test_slab_keys (Fixture *f, gconstpointer data)
{
  PulmoSliceView *view = pulmo_window_get_view (f->window, PULMO_VIEW_AXIAL);
  g_assert_cmpint (pulmo_view_state_get_slab_mode (f->state), ==, PULMO_SLAB_NONE);
  _pulmo_slice_view_next_slab_mode (view);
  g_assert_cmpint (pulmo_view_state_get_slab_mode (f->state), ==, PULMO_SLAB_MIN);
  g_assert_cmpfloat (pulmo_view_state_get_slab_mm (f->state), ==, 10.0);
  _pulmo_slice_view_change_slab (view, 1);
  g_assert_cmpfloat (pulmo_view_state_get_slab_mm (f->state), ==, 15.0);
  _pulmo_slice_view_change_slab (view, -3);
  g_assert_cmpfloat (pulmo_view_state_get_slab_mm (f->state), ==, 1.0);
  _pulmo_slice_view_change_slab (view, 1);
  g_assert_cmpfloat (pulmo_view_state_get_slab_mm (f->state), ==, 5.0);
  g_object_set (f->state, "slab-mm", 20.0, NULL);

  PulmoReslice reslice = view_reslice (f, PULMO_VIEW_AXIAL);
  int slice = pulmo_slice_view_get_slice (view), first, last;
  pulmo_slab_range (&reslice, slice, 20.0, &first, &last);
  g_assert_cmpint (last - first + 1, ==, 5); /* 20 mm over 3.99 mm slices */
  cairo_surface_t *image = pulmo_slice_view_get_image (view);
  PulmoVolume *ct = pulmo_view_state_get_volume (f->state);
  int wrong = 0;
  for (int v = 0; v < reslice.height; v++)
    for (int u = 0; u < reslice.width; u++)
      {
        double lowest = G_MAXDOUBLE;
        for (int s = first; s <= last; s++)
          {
            int ijk[3];
            pulmo_reslice_to_voxel (&reslice, u, v, s, ijk);
            lowest = MIN (lowest, pulmo_volume_get_value (ct, ijk[0], ijk[1], ijk[2]));
          }
        const uint32_t *row = (const uint32_t *) (cairo_image_surface_get_data (image)
                                                  + (size_t) v * cairo_image_surface_get_stride (image));
        wrong += (row[u] & 0xff) != pulmo_window_grey (lowest, pulmo_view_state_get_window (f->state),
                                                       pulmo_view_state_get_level (f->state));
      }
  g_assert_cmpint (wrong, ==, 0);
  /* Three more presses: MIP, mean, and back to the thin slice. */
  for (int press = 0; press < 3; press++)
    _pulmo_slice_view_next_slab_mode (view);
  g_assert_cmpint (pulmo_view_state_get_slab_mode (f->state), ==, PULMO_SLAB_NONE);
}

static gboolean
slice_is_first (gpointer data)
{
  Fixture *f = data;
  int cursor[3];
  pulmo_view_state_get_cursor (f->state, cursor);
  return cursor[2] == 0;
}

/* At 30 slices a second the axial view steps toward the head, past the last
 * slice starts again at the first, and stops when asked or when the CT goes. */
static void
test_cine (Fixture *f, gconstpointer data)
{
  PulmoSliceView *view = pulmo_window_get_view (f->window, PULMO_VIEW_AXIAL);
  g_object_set (f->state, "cine-fps", 30.0, NULL);
  int cursor[3];
  pulmo_view_state_get_cursor (f->state, cursor);
  cursor[2] = 75; /* of 0..78; k runs toward the head in ct-64 */
  pulmo_view_state_set_cursor (f->state, cursor);
  pulmo_slice_view_set_playing (view, TRUE);
  g_assert_true (pulmo_slice_view_get_playing (view));
  app_test_wait_for (slice_is_first, f, 5);
  pulmo_slice_view_set_playing (view, FALSE);
  pulmo_view_state_get_cursor (f->state, cursor);
  int stopped_at = cursor[2];
  g_usleep (200 * 1000);
  app_test_iterate_pending ();
  pulmo_view_state_get_cursor (f->state, cursor);
  g_assert_cmpint (cursor[2], ==, stopped_at);

  pulmo_slice_view_set_playing (view, TRUE);
  pulmo_view_state_set_volume (f->state, NULL, NULL);
  g_assert_false (pulmo_slice_view_get_playing (view));
}

typedef struct {
  gboolean done, written;
  GError *error;
} Export;

static void
exported (GObject *source, GAsyncResult *result, gpointer data)
{
  Export *export = data;
  export->written = pulmo_slice_view_export_sweep_finish (PULMO_SLICE_VIEW (source), result, &export->error);
  export->done = TRUE;
}

static gboolean
export_done (gpointer data)
{
  return ((Export *) data)->done;
}

/* Exports @axis's slices at @width × @height and waits for the worker; the
 * main loop runs meanwhile. Sets *@stall_ms to its longest iteration. */
static gboolean
export_sweep_sized (Fixture *f, PulmoViewAxis axis, const char *path, PulmoSweepFormat format, int width,
                    int height, double *stall_ms, GError **error)
{
  Export export = { 0 };
  pulmo_slice_view_export_sweep_async (pulmo_window_get_view (f->window, axis), path, format, width, height,
                                       exported, &export);
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
  *stall_ms = 0;
  while (!export.done)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      gint64 start = g_get_monotonic_time ();
      g_main_context_iteration (NULL, FALSE);
      *stall_ms = MAX (*stall_ms, (g_get_monotonic_time () - start) / 1000.0);
      g_usleep (1000);
    }
  if (export.error != NULL)
    g_propagate_error (error, export.error);
  return export.written;
}

static gboolean
export_sweep (Fixture *f, PulmoViewAxis axis, const char *path, PulmoSweepFormat format, GError **error)
{
  double stall_ms;
  return export_sweep_sized (f, axis, path, format, 200, 150, &stall_ms, error);
}

static int
count_chunks (const uint8_t *bytes, gsize size, const char *type)
{
  int count = 0;
  for (gsize at = 8; at + 12 <= size;)
    {
      guint32 length = (guint32) bytes[at] << 24 | bytes[at + 1] << 16 | bytes[at + 2] << 8 | bytes[at + 3];
      count += memcmp (bytes + at + 4, type, 4) == 0;
      at += 12 + (gsize) length;
    }
  return count;
}

/* Every slice of a view, drawn as on screen: 79 axial frames in the APNG, 64
 * coronal PNGs in the series, each 200 × 150; the crosshair stays where it was. */
static void
test_export_sweep (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_dir_make_tmp ("pulmo-sweep-XXXXXX", NULL);
  g_autofree char *apng = g_build_filename (dir, "axial.png", NULL);
  int before[3], after[3];
  pulmo_view_state_get_cursor (f->state, before);
  g_autoptr (GError) error = NULL;
  g_object_set (f->state, "slab-mode", PULMO_SLAB_MAX, NULL);
  g_assert_true (export_sweep (f, PULMO_VIEW_AXIAL, apng, PULMO_SWEEP_APNG, &error));
  g_assert_no_error (error);
  pulmo_view_state_get_cursor (f->state, after);
  g_assert_cmpmem (before, sizeof before, after, sizeof after);
  gsize size;
  g_autofree uint8_t *bytes = (uint8_t *) pulmo_test_read_file (apng, &size);
  g_assert_cmpint (count_chunks (bytes, size, "acTL"), ==, 1);
  g_assert_cmpint (count_chunks (bytes, size, "fcTL"), ==, 79);
  g_assert_cmpint (count_chunks (bytes, size, "fdAT"), ==, 78);
  cairo_surface_t *first = cairo_image_surface_create_from_png (apng); /* a plain reader sees frame 1 */
  g_assert_cmpint (cairo_surface_status (first), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (first), ==, 200);
  g_assert_cmpint (cairo_image_surface_get_height (first), ==, 150);
  cairo_surface_destroy (first);

  g_autofree char *series = g_build_filename (dir, "coronal.png", NULL);
  g_assert_true (export_sweep (f, PULMO_VIEW_CORONAL, series, PULMO_SWEEP_PNG_SERIES, &error));
  g_assert_no_error (error);
  for (int index = 0; index < 64; index++)
    {
      g_autofree char *frame = pulmo_sweep_series_path (series, index);
      cairo_surface_t *png = cairo_image_surface_create_from_png (frame);
      g_assert_cmpint (cairo_surface_status (png), ==, CAIRO_STATUS_SUCCESS);
      g_assert_cmpint (cairo_image_surface_get_width (png), ==, 200);
      g_assert_cmpint (cairo_image_surface_get_height (png), ==, 150);
      cairo_surface_destroy (png);
    }
  g_autofree char *beyond = pulmo_sweep_series_path (series, 64);
  g_assert_false (g_file_test (beyond, G_FILE_TEST_EXISTS));

  /* Closing the CT stops an export and leaves no APNG behind, nor its temporary file. */
  g_autofree char *stopped = g_build_filename (dir, "stopped.png", NULL);
  Export export = { 0 };
  pulmo_slice_view_export_sweep_async (pulmo_window_get_view (f->window, PULMO_VIEW_AXIAL), stopped,
                                       PULMO_SWEEP_APNG, 200, 150, exported, &export);
  pulmo_view_state_set_volume (f->state, NULL, NULL);
  app_test_wait_for (export_done, &export, 60);
  g_assert_false (export.written);
  g_assert_error (export.error, PULMO_ERROR, PULMO_ERROR_CANCELLED);
  g_clear_error (&export.error);
  g_autofree char *part = g_strconcat (stopped, ".part", NULL);
  g_assert_false (g_file_test (stopped, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  pulmo_test_remove_tree (dir);
}

/* While a sweep of P001's 148 axial slices is written at 768 × 768, with a
 * 10 mm MIP, the window answers: the main loop only draws frames. Written in
 * the main loop, each frame would stall it for its deflate. */
static void
test_export_responsive (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_dir_make_tmp ("pulmo-sweep-XXXXXX", NULL);
  g_autofree char *apng = g_build_filename (dir, "axial.png", NULL);
  g_object_set (f->state, "slab-mode", PULMO_SLAB_MAX, NULL);
  g_autoptr (GError) error = NULL;
  double stall_ms;
  gint64 start = g_get_monotonic_time ();
  g_assert_true (export_sweep_sized (f, PULMO_VIEW_AXIAL, apng, PULMO_SWEEP_APNG, 768, 768, &stall_ms, &error));
  g_assert_no_error (error);
  g_test_message ("148 frames of 768×768 in %.1f s; longest main-loop iteration %.1f ms",
                  (g_get_monotonic_time () - start) / 1e6, stall_ms);
  g_assert_cmpfloat (stall_ms, <, 250.0);
  pulmo_test_remove_tree (dir);
}

/* The slab and the cine speed come back in the next window. */
static void
test_settings_kept (Fixture *f, gconstpointer data)
{
  g_object_set (f->state, "slab-mode", PULMO_SLAB_MEAN, "slab-mm", 25.0, "cine-fps", 12.0, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_preferences_save (f->state, &error));
  g_assert_no_error (error);
  g_autoptr (PulmoViewState) next = pulmo_view_state_new ();
  pulmo_preferences_load (next);
  g_assert_cmpint (pulmo_view_state_get_slab_mode (next), ==, PULMO_SLAB_MEAN);
  g_assert_cmpfloat (pulmo_view_state_get_slab_mm (next), ==, 25.0);
  g_assert_cmpfloat (pulmo_view_state_get_cine_fps (next), ==, 12.0);
}

int
main (int argc, char **argv)
{
  if (!app_test_init (&argc, &argv, "/slab-cine/no-display"))
    return g_test_run ();
  const char *ct64 = "cip-chest-ct/ct-64.nii.gz";
  g_test_add ("/slab-cine/slab-keys", Fixture, ct64, setup, test_slab_keys, teardown);
  g_test_add ("/slab-cine/cine", Fixture, ct64, setup, test_cine, teardown);
  g_test_add ("/slab-cine/export-sweep", Fixture, ct64, setup, test_export_sweep, teardown);
  g_test_add ("/slab-cine/export-responsive", Fixture, "covid-ct-md/P001-256.nii.gz", setup,
              test_export_responsive, teardown);
  g_test_add ("/slab-cine/settings-kept", Fixture, ct64, setup, test_settings_kept, teardown);
  return g_test_run ();
}
