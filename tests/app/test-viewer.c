/* The viewer driven through its actions, properties and the views' pointer
 * handlers, under Xvfb: opening real CTs from ../shared/data, crosshair syncing,
 * window presets on rendered pixels, the readout, orientation letters, labels,
 * layout, ruler and export; segmentation with the shipped model, its Cancel and
 * its report panel.
 *
 * Known values were read once with nibabel 5.0 (python3-nibabel, np.asarray(img.dataobj)):
 *   cip-chest-ct/ct-64.nii.gz voxel (16, 32, 40) = -962 HU (inside the right lung;
 *   wholeLung-64 is 1 there); wholeLung-64 holds 65624 voxels of 1, of
 *   4.171872 × 4.171872 × 3.987342 mm = 0.0693978 mL each: 4554.2 mL. */
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app/pulmo-preferences.h"
#include "app/pulmo-slice-view-private.h"
#include "app/pulmo-window-private.h"
#include "app-test-window.h"
#include "app-test.h"
#include "pulmo-test.h"
#include "render/slice-render.h"
#include "segment/report.h"

typedef struct {
  PulmoWindow *window;
  PulmoViewState *state;
} Fixture;

static gboolean
have_dcm2niix (void)
{
  g_autofree char *program = g_find_program_in_path ("dcm2niix");
  return program != NULL;
}

static void
wait_until_loaded (PulmoWindow *window)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (pulmo_window_is_loading (window))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  /* Let the views take their new size and draw. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
wait_for_allocation (PulmoWindow *window)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  for (int axis = 0; axis < PULMO_N_VIEWS; axis++)
    {
      GtkWidget *view = GTK_WIDGET (pulmo_window_get_view (window, axis));
      while (gtk_widget_get_visible (view) && gtk_widget_get_width (view) < 50)
        {
          g_assert_cmpint (g_get_monotonic_time (), <, deadline);
          g_main_context_iteration (NULL, TRUE);
        }
    }
}

static void
open_shared (Fixture *f, const char *relative)
{
  g_autofree char *path = pulmo_test_data (relative);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  pulmo_window_open (f->window, file);
  g_assert_true (pulmo_window_is_loading (f->window));
  wait_until_loaded (f->window);
  g_assert_null (pulmo_window_get_error (f->window));
  g_assert_nonnull (pulmo_view_state_get_volume (f->state));
  wait_for_allocation (f->window);
}

/* Opens a label map from the shared data folder on the loaded CT; the caller
 * checks whether it was accepted. */
static void
open_shared_labels (Fixture *f, const char *relative)
{
  g_autofree char *path = pulmo_test_data (relative);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  pulmo_window_open_labels (f->window, file);
  wait_until_loaded (f->window);
}

static void
setup (Fixture *f, gconstpointer data)
{
  /* Each test starts from the default view settings, whatever the last one saved. */
  app_test_reset_preferences ();
  f->window = pulmo_window_new (NULL);
  f->state = pulmo_window_get_state (f->window);
  gtk_window_present (GTK_WINDOW (f->window));
  if (data != NULL)
    open_shared (f, data);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
activate (Fixture *f, const char *action, GVariant *parameter)
{
  app_test_activate (G_ACTION_GROUP (f->window), action, parameter);
}

/* Puts the crosshair on @ijk, so that every view shows a slice through it. */
static void
set_cursor (Fixture *f, int i, int j, int k)
{
  pulmo_view_state_set_cursor (f->state, (const int[3]) { i, j, k });
  g_main_context_iteration (NULL, FALSE);
}

/* The pixel of voxel @ijk in @image, one of @view's images at voxel
 * resolution in display order. */
static uint32_t
pixel_at (PulmoSliceView *view, cairo_surface_t *image, const int ijk[3])
{
  g_assert_nonnull (image);
  double x, y;
  pulmo_slice_view_voxel_to_widget (view, ijk, &x, &y);
  int found[3];
  g_assert_true (pulmo_slice_view_widget_to_voxel (view, x, y, found));
  g_assert_cmpmem (found, sizeof found, ijk, sizeof found);
  PulmoReslice reslice;
  PulmoVolume *ct = pulmo_view_state_get_volume (g_object_get_data (G_OBJECT (view), "test-state"));
  int dims[3], u, v, slice;
  pulmo_volume_get_dims (ct, dims);
  pulmo_reslice_init (&reslice, pulmo_slice_view_get_axis (view), pulmo_volume_get_affine (ct), dims);
  pulmo_reslice_from_voxel (&reslice, ijk, &u, &v, &slice);
  const uint8_t *row = cairo_image_surface_get_data (image) + (size_t) v * cairo_image_surface_get_stride (image);
  return ((const uint32_t *) row)[u];
}

/* The rendered pixel of voxel @ijk (xRGB). */
static uint32_t
image_pixel_at (PulmoSliceView *view, const int ijk[3])
{
  return pixel_at (view, pulmo_slice_view_get_image (view), ijk);
}

static uint8_t
image_grey_at (PulmoSliceView *view, const int ijk[3])
{
  uint32_t pixel = image_pixel_at (view, ijk);
  g_assert_cmpuint ((pixel >> 16) & 0xff, ==, pixel & 0xff); /* grey: no overlay here */
  return pixel & 0xff;
}

static PulmoSliceView *
view_of (Fixture *f, PulmoViewAxis axis)
{
  PulmoSliceView *view = pulmo_window_get_view (f->window, axis);
  g_object_set_data (G_OBJECT (view), "test-state", f->state);
  return view;
}

/* Opening ----------------------------------------------------------------- */

static void
test_open_ct (Fixture *f, gconstpointer data)
{
  PulmoVolume *volume = pulmo_view_state_get_volume (f->state);
  int dims[3], cursor[3];
  pulmo_volume_get_dims (volume, dims);
  g_assert_cmpint (dims[0], ==, 64);
  g_assert_cmpint (dims[1], ==, 64);
  g_assert_cmpint (dims[2], ==, 79);
  /* The crosshair starts in the middle; each view shows the slice through it. */
  pulmo_view_state_get_cursor (f->state, cursor);
  g_assert_cmpint (cursor[0], ==, 32);
  g_assert_cmpint (cursor[1], ==, 32);
  g_assert_cmpint (cursor[2], ==, 39);
  g_assert_cmpint (pulmo_slice_view_get_slice (view_of (f, PULMO_VIEW_AXIAL)), ==, 39);
  g_assert_cmpint (pulmo_slice_view_get_slice (view_of (f, PULMO_VIEW_CORONAL)), ==, 32);
  g_assert_cmpint (pulmo_slice_view_get_slice (view_of (f, PULMO_VIEW_SAGITTAL)), ==, 32);
  /* A HU CT opens in the lung window. */
  g_assert_cmpfloat (pulmo_view_state_get_window (f->state), ==, 1500);
  g_assert_cmpfloat (pulmo_view_state_get_level (f->state), ==, -600);
}

/* A failed open says why and leaves the CT that was open, and the window, usable. */
static void
test_open_error_keeps_window (Fixture *f, gconstpointer data)
{
  PulmoVolume *before = pulmo_view_state_get_volume (f->state);
  g_autoptr (GFile) missing = g_file_new_for_path ("/nonexistent/ct.nii.gz");
  pulmo_window_open (f->window, missing);
  wait_until_loaded (f->window);
  const char *error = pulmo_window_get_error (f->window);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error, "/nonexistent/ct.nii.gz"));
  g_assert_true (pulmo_view_state_get_volume (f->state) == before);
  activate (f, "preset", g_variant_new_string ("bone"));
  g_assert_cmpfloat (pulmo_view_state_get_window (f->state), ==, 1800);

  /* Labels on another grid are refused with a message, the CT stays. */
  open_shared_labels (f, "totalsegmentator-example-ct/example_seg_fast_force_split.nii.gz");
  g_assert_nonnull (pulmo_window_get_error (f->window));
  g_assert_null (pulmo_view_state_get_labels (f->state));
}

static void
test_open_dicom_folder (Fixture *f, gconstpointer data)
{
  if (!have_dcm2niix ())
    {
      g_test_skip ("dcm2niix is not installed");
      return;
    }
  open_shared (f, "dicom-series/cip-ct-64Dicom");
  PulmoVolume *volume = pulmo_view_state_get_volume (f->state);
  int dims[3];
  pulmo_volume_get_dims (volume, dims);
  g_assert_cmpint (dims[0], ==, 64);
  g_assert_cmpint (dims[1], ==, 64);
  g_assert_cmpint (dims[2], ==, 79);
  /* dcm2niix writes this series LAS: ct-64's voxel (16, 32, 40) is (16, 63 - 32, 40). */
  g_assert_cmpstr (pulmo_volume_get_orientation (volume), ==, "LAS");
  g_assert_cmpfloat (pulmo_volume_get_value (volume, 16, 31, 40), ==, -962);
  g_assert_cmpstr (pulmo_view_state_get_display_name (f->state), ==, "cip-ct-64Dicom");
}

/* An opened file joins the Open Recent menu, and its item opens it again. */
static void
test_recent_files (Fixture *f, gconstpointer data)
{
  g_autofree char *path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autofree char *uri = g_file_get_uri (file);
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  gboolean listed = FALSE;
  while (!listed)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      GMenuModel *menu = G_MENU_MODEL (f->window->recent_submenu);
      for (int item = 0; item < g_menu_model_get_n_items (menu); item++)
        {
          g_autofree char *target = NULL;
          if (g_menu_model_get_item_attribute (menu, item, G_MENU_ATTRIBUTE_TARGET, "s", &target))
            listed |= g_strcmp0 (target, uri) == 0;
        }
    }

  /* Open another CT, then the recent item: ct-64 is back. */
  open_shared (f, "totalsegmentator-example-ct/example_ct.nii.gz");
  activate (f, "open-recent", g_variant_new_string (uri));
  wait_until_loaded (f->window);
  g_assert_cmpstr (pulmo_view_state_get_display_name (f->state), ==, "ct-64.nii.gz");
}

/* Crosshair --------------------------------------------------------------- */

static void
test_crosshair_sync (Fixture *f, gconstpointer data)
{
  PulmoSliceView *axial = view_of (f, PULMO_VIEW_AXIAL);
  PulmoSliceView *coronal = view_of (f, PULMO_VIEW_CORONAL);
  PulmoSliceView *sagittal = view_of (f, PULMO_VIEW_SAGITTAL);
  double x, y;
  int cursor[3];

  /* Click voxel (16, 20, 39) in the axial view (slice 39): the coronal view moves
   * to j = 20, the sagittal to i = 16. */
  pulmo_slice_view_voxel_to_widget (axial, (const int[3]) { 16, 20, 39 }, &x, &y);
  _pulmo_slice_view_primary_press (axial, x, y);
  pulmo_view_state_get_cursor (f->state, cursor);
  g_assert_cmpint (cursor[0], ==, 16);
  g_assert_cmpint (cursor[1], ==, 20);
  g_assert_cmpint (cursor[2], ==, 39);
  g_assert_cmpint (pulmo_slice_view_get_slice (coronal), ==, 20);
  g_assert_cmpint (pulmo_slice_view_get_slice (sagittal), ==, 16);

  /* Drag in the coronal view to (40, 20, 60): the axial view follows to k = 60. */
  pulmo_slice_view_voxel_to_widget (coronal, (const int[3]) { 40, 20, 60 }, &x, &y);
  _pulmo_slice_view_primary_drag (coronal, x, y);
  g_assert_cmpint (pulmo_slice_view_get_slice (axial), ==, 60);
  g_assert_cmpint (pulmo_slice_view_get_slice (sagittal), ==, 40);
  g_assert_cmpint (pulmo_slice_view_get_slice (coronal), ==, 20);

  /* And the sagittal view sets j and k. */
  pulmo_slice_view_voxel_to_widget (sagittal, (const int[3]) { 40, 10, 30 }, &x, &y);
  _pulmo_slice_view_primary_press (sagittal, x, y);
  g_assert_cmpint (pulmo_slice_view_get_slice (axial), ==, 30);
  g_assert_cmpint (pulmo_slice_view_get_slice (coronal), ==, 10);
}

/* The wheel, arrows and Page Up/Down step toward S, A and R whatever the storage
 * order: ct-64 is LPS, so k grows toward S but i and j toward L and P. */
static void
test_slice_steps (Fixture *f, gconstpointer data)
{
  int cursor[3];
  _pulmo_slice_view_step (view_of (f, PULMO_VIEW_AXIAL), 1);
  _pulmo_slice_view_step (view_of (f, PULMO_VIEW_CORONAL), 2);
  _pulmo_slice_view_step (view_of (f, PULMO_VIEW_SAGITTAL), 3);
  pulmo_view_state_get_cursor (f->state, cursor);
  g_assert_cmpint (cursor[2], ==, 39 + 1);
  g_assert_cmpint (cursor[1], ==, 32 - 2);
  g_assert_cmpint (cursor[0], ==, 32 - 3);
  /* The first and last slices hold. */
  _pulmo_slice_view_step (view_of (f, PULMO_VIEW_AXIAL), 1000);
  pulmo_view_state_get_cursor (f->state, cursor);
  g_assert_cmpint (cursor[2], ==, 78);
  _pulmo_slice_view_step (view_of (f, PULMO_VIEW_AXIAL), -1000);
  pulmo_view_state_get_cursor (f->state, cursor);
  g_assert_cmpint (cursor[2], ==, 0);
}

/* Window and level -------------------------------------------------------- */

/* The pixel at widget point (@x, @y) of the view exported as PNG at its size. */
static uint32_t
exported_pixel (PulmoSliceView *view, double x, double y)
{
  g_autofree char *dir = g_dir_make_tmp ("pulmo-viewer-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "view.png", NULL);
  int width = gtk_widget_get_width (GTK_WIDGET (view)), height = gtk_widget_get_height (GTK_WIDGET (view));
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_slice_view_export_png (view, png, width, height, &error));
  g_assert_no_error (error);
  cairo_surface_t *surface = cairo_image_surface_create_from_png (png);
  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (surface), ==, width);
  const uint8_t *row = cairo_image_surface_get_data (surface) + (int) y * cairo_image_surface_get_stride (surface);
  uint32_t pixel = ((const uint32_t *) row)[(int) x];
  cairo_surface_destroy (surface);
  g_unlink (png);
  g_rmdir (dir);
  return pixel;
}

static void
test_presets_change_pixels (Fixture *f, gconstpointer data)
{
  const int voxel[3] = { 16, 32, 40 }; /* -962 HU */
  set_cursor (f, voxel[0], voxel[1], voxel[2]);
  PulmoSliceView *axial = view_of (f, PULMO_VIEW_AXIAL);

  /* Lung W 1500 / L -600: (-962 + 1350) · 255 / 1500 = 65.96 → grey 66. */
  activate (f, "preset", g_variant_new_string ("lung"));
  g_assert_cmpuint (image_grey_at (axial, voxel), ==, 66);
  /* Mediastinum W 350 / L 50: below -125 is black. */
  activate (f, "preset", g_variant_new_string ("mediastinum"));
  g_assert_cmpfloat (pulmo_view_state_get_window (f->state), ==, 350);
  g_assert_cmpfloat (pulmo_view_state_get_level (f->state), ==, 50);
  g_assert_cmpuint (image_grey_at (axial, voxel), ==, 0);
  /* A hand-set window -1100..-800: (-962 + 1100) · 255 / 300 = 117.3 → 117, in every view. */
  g_object_set (f->state, "window", 300.0, "level", -950.0, NULL);
  for (int axis = 0; axis < PULMO_N_VIEWS; axis++)
    g_assert_cmpuint (image_grey_at (view_of (f, axis), voxel), ==, 117);

  /* The exported view (scaled, with crosshair and text) shows the same grey at the
   * voxel: the crosshair leaves a gap around its centre. */
  double x, y;
  pulmo_slice_view_voxel_to_widget (axial, voxel, &x, &y);
  g_assert_cmphex (exported_pixel (axial, x, y) & 0xffffff, ==, 117u * 0x010101u);

  /* Automatic window: from the histogram, neither preset. */
  activate (f, "auto-window", NULL);
  g_assert_cmpfloat (pulmo_view_state_get_window (f->state), !=, 300);
}

static void
test_readout (Fixture *f, gconstpointer data)
{
  const int voxel[3] = { 16, 32, 40 };
  set_cursor (f, voxel[0], voxel[1], voxel[2]);
  PulmoSliceView *axial = view_of (f, PULMO_VIEW_AXIAL);
  double x, y;
  pulmo_slice_view_voxel_to_widget (axial, voxel, &x, &y);
  _pulmo_slice_view_hover (axial, x, y);
  const char *status = pulmo_window_get_status (f->window);
  g_assert_nonnull (strstr (status, "-962 HU"));
  g_assert_nonnull (strstr (status, "voxel [16, 32, 40]"));
  /* World: the affine of ct-64 gives x = -4.171872 · 16 + 128.4138 = 61.7, y = -4.171872 · 32 + 264.4138
   * = 130.9, z = 3.987342 · 40 - 360.2563 = -200.8. */
  g_assert_nonnull (strstr (status, "RAS (61.7, 130.9, -200.8) mm"));

  /* With the lung mask on the CT, the readout names the label. */
  open_shared_labels (f, "cip-chest-ct/wholeLung-64.nii.gz");
  g_assert_null (pulmo_window_get_error (f->window));
  g_assert_nonnull (pulmo_view_state_get_labels (f->state));
  _pulmo_slice_view_hover (axial, x, y);
  g_assert_nonnull (strstr (pulmo_window_get_status (f->window), "label 1"));

  /* The overlay tints the lung voxel; the O key's action hides it again. */
  uint32_t tinted = image_pixel_at (axial, voxel);
  g_assert_cmpuint ((tinted >> 16) & 0xff, !=, tinted & 0xff);

  /* An edit of the label map (as the brush or the model make) redraws the views. */
  PulmoLabelMap *labels = pulmo_view_state_get_labels (f->state);
  int dims[3];
  pulmo_volume_get_dims (pulmo_view_state_get_volume (f->state), dims);
  size_t index = ((size_t) voxel[2] * dims[1] + voxel[1]) * dims[0] + voxel[0];
  const PulmoBox box = { { voxel[0], voxel[1], voxel[2] }, { voxel[0], voxel[1], voxel[2] } };
  pulmo_label_map_get_data_mutable (labels)[index] = 0;
  pulmo_label_map_changed (labels, &box);
  g_assert_cmpuint (image_grey_at (axial, voxel), ==, 66);
  pulmo_label_map_get_data_mutable (labels)[index] = 1;
  pulmo_label_map_changed (labels, &box);
  g_assert_cmphex (image_pixel_at (axial, voxel), ==, tinted);

  activate (f, "overlay-visible", NULL);
  g_assert_cmpuint (image_grey_at (axial, voxel), ==, 66);
}

/* A pre-windowed 8-bit CT opens on its whole 0..255 range, and the presets,
 * which are windows in HU, are disabled for it until a CT in HU is opened. */
static void
test_prewindowed_8bit (Fixture *f, gconstpointer data)
{
  open_shared (f, "covid-2d-train/imagesTr/zenodo_coronacases_010_0000.nii.gz");
  PulmoVolume *volume = pulmo_view_state_get_volume (f->state);
  g_assert_cmpint (pulmo_volume_get_intensity_kind (volume), ==, PULMO_INTENSITY_PREWINDOWED_8BIT);
  double window = pulmo_view_state_get_window (f->state), level = pulmo_view_state_get_level (f->state);
  g_assert_cmpfloat (fabs ((level - window / 2) - 0), <=, 1);
  g_assert_cmpfloat (fabs ((level + window / 2) - 255), <=, 1);
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (f->window), "preset"));
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (f->window), "auto-window"));

  open_shared (f, "cip-chest-ct/ct-64.nii.gz");
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (f->window), "preset"));
}

/* Smooth display scales the grey bilinearly: a quarter of the way between two
 * voxel centres the exported view shows a grey between theirs. The labels stay
 * a separate, sharp image. */
static void
test_smooth_display (Fixture *f, gconstpointer data)
{
  const int lung[3] = { 16, 32, 40 }; /* inside the lung mask */
  set_cursor (f, lung[0], lung[1], lung[2]);
  PulmoSliceView *axial = view_of (f, PULMO_VIEW_AXIAL);
  int dims[3];
  pulmo_volume_get_dims (pulmo_view_state_get_volume (f->state), dims);
  /* Two neighbours along the image's rows, away from the crosshair lines, that differ well in grey. */
  int a[3] = { 0, lung[1] + 6, lung[2] }, b[3];
  int best = 0, grey_a = 0, grey_b = 0;
  for (int i = 0; i + 1 < dims[0]; i++)
    {
      if (abs (i - lung[0]) <= 2)
        continue;
      int p[3] = { i, a[1], a[2] }, q[3] = { i + 1, a[1], a[2] };
      int gp = image_grey_at (axial, p), gq = image_grey_at (axial, q);
      if (abs (gp - gq) > best)
        {
          best = abs (gp - gq);
          memcpy (a, p, sizeof a);
          memcpy (b, q, sizeof b);
          grey_a = gp;
          grey_b = gq;
        }
    }
  g_assert_cmpint (best, >=, 40);
  double xa, ya, xb, yb;
  pulmo_slice_view_voxel_to_widget (axial, a, &xa, &ya);
  pulmo_slice_view_voxel_to_widget (axial, b, &xb, &yb);
  g_assert_cmpfloat (fabs (xb - xa), >=, 4.0);  /* magnified: voxels span several pixels */
  double x = xa + 0.75 * (xb - xa), y = ya + 0.75 * (yb - ya);

  int blocky = exported_pixel (axial, x, y) & 0xff;
  g_assert_true (blocky == grey_a || blocky == grey_b);
  activate (f, "smooth", NULL);
  g_assert_true (pulmo_view_state_get_smooth (f->state));
  int smooth = exported_pixel (axial, x, y) & 0xff;
  g_assert_cmpint (smooth, >, MIN (grey_a, grey_b) + 5);
  g_assert_cmpint (smooth, <, MAX (grey_a, grey_b) - 5);

  /* With labels, the image stays grey and the overlay image holds the tint. */
  open_shared_labels (f, "cip-chest-ct/wholeLung-64.nii.gz");
  image_grey_at (axial, lung);  /* asserts grey: no tint */
  cairo_surface_t *overlay = pulmo_slice_view_get_overlay_image (axial);
  g_assert_cmpuint (pixel_at (axial, overlay, lung) >> 24, >, 0);
  const int outside[3] = { 0, 0, 40 };  /* a corner of the scan, outside the body */
  g_assert_cmphex (pixel_at (axial, overlay, outside), ==, 0);

  activate (f, "smooth", NULL);
  g_assert_null (pulmo_slice_view_get_overlay_image (axial));
  g_assert_cmpuint ((image_pixel_at (axial, lung) >> 16) & 0xff, !=, image_pixel_at (axial, lung) & 0xff);
}

/* Smooth display, label opacity, outline and the brush survive closing the
 * window (in GSettings: test-preferences checks them there, and viewer.ini's
 * migration). */
static void
test_preferences (Fixture *f, gconstpointer data)
{
  g_assert_false (pulmo_view_state_get_smooth (f->state));
  activate (f, "smooth", NULL);
  g_object_set (f->state, "overlay-outline", TRUE, "overlay-opacity", 0.8, NULL);
  g_object_set (f->window->edit, "brush-shape", PULMO_BRUSH_SQUARE, "brush-size-mm", 12.0, NULL);
  teardown (f, data);

  f->window = pulmo_window_new (NULL);
  f->state = pulmo_window_get_state (f->window);
  g_assert_true (pulmo_view_state_get_smooth (f->state));
  PulmoRenderParams params;
  pulmo_view_state_get_render_params (f->state, &params);
  g_assert_cmpint (params.overlay_mode, ==, PULMO_OVERLAY_OUTLINE);
  g_assert_cmpfloat (params.opacity, ==, 0.8);
  g_autoptr (GVariant) mode = g_action_group_get_action_state (G_ACTION_GROUP (f->window), "overlay-mode");
  g_assert_cmpstr (g_variant_get_string (mode, NULL), ==, "outline");
  PulmoBrush brush;
  pulmo_edit_state_get_brush (f->window->edit, &brush);
  g_assert_cmpint (brush.shape, ==, PULMO_BRUSH_SQUARE);
  g_assert_cmpfloat (brush.size_mm, ==, 12.0);
}

/* Orientation letters -------------------------------------------------------- */

/* Each edge letter names the patient direction the image runs toward there:
 * compare the world positions of voxels a little left and right (up and down)
 * of the view's centre. */
static void
assert_letters_match_anatomy (Fixture *f)
{
  PulmoVolume *volume = pulmo_view_state_get_volume (f->state);
  const PulmoAffine *affine = pulmo_volume_get_affine (volume);
  static const char *expected[PULMO_N_VIEWS][4] = {
    { "R", "L", "A", "P" }, { "R", "L", "S", "I" }, { "A", "P", "S", "I" },
  };
  for (int axis = 0; axis < PULMO_N_VIEWS; axis++)
    {
      PulmoSliceView *view = view_of (f, axis);
      const char *edges[4];
      pulmo_slice_view_get_edge_letters (view, edges);
      int cursor[3];
      double cx, cy;
      pulmo_view_state_get_cursor (f->state, cursor);
      pulmo_slice_view_voxel_to_widget (view, cursor, &cx, &cy);
      for (int pair = 0; pair < 2; pair++)
        {
          g_assert_cmpstr (edges[2 * pair], ==, expected[axis][2 * pair]);
          g_assert_cmpstr (edges[2 * pair + 1], ==, expected[axis][2 * pair + 1]);
          /* pair 0: left vs right edge; pair 1: top vs bottom edge. */
          double step = 40.0;
          int near_first[3], near_second[3];
          g_assert_true (pulmo_slice_view_widget_to_voxel (view, cx - (pair == 0 ? step : 0),
                                                           cy - (pair == 1 ? step : 0), near_first));
          g_assert_true (pulmo_slice_view_widget_to_voxel (view, cx + (pair == 0 ? step : 0),
                                                           cy + (pair == 1 ? step : 0), near_second));
          double a[3] = { near_first[0], near_first[1], near_first[2] };
          double b[3] = { near_second[0], near_second[1], near_second[2] };
          double world_a[3], world_b[3];
          pulmo_affine_apply (affine, a, world_a);
          pulmo_affine_apply (affine, b, world_b);
          /* R, A, S are the positive RAS directions; L, P, I the negative. */
          const char *letter = edges[2 * pair];
          int world_axis = strchr ("RL", letter[0]) ? 0 : strchr ("AP", letter[0]) ? 1 : 2;
          double sign = strchr ("RAS", letter[0]) ? 1 : -1;
          g_assert_cmpfloat (sign * (world_a[world_axis] - world_b[world_axis]), >, 0);
        }
    }
}

static void
test_letters_lps (Fixture *f, gconstpointer data)
{
  g_assert_cmpstr (pulmo_volume_get_orientation (pulmo_view_state_get_volume (f->state)), ==, "LPS");
  assert_letters_match_anatomy (f);
}

static void
test_letters_ras (Fixture *f, gconstpointer data)
{
  g_assert_cmpstr (pulmo_volume_get_orientation (pulmo_view_state_get_volume (f->state)), ==, "RAS");
  assert_letters_match_anatomy (f);
}

/* Layout, ruler, export ------------------------------------------------------ */

static void
test_layout (Fixture *f, gconstpointer data)
{
  GtkWidget *axial = GTK_WIDGET (view_of (f, PULMO_VIEW_AXIAL));
  GtkWidget *coronal = GTK_WIDGET (view_of (f, PULMO_VIEW_CORONAL));
  GtkWidget *sagittal = GTK_WIDGET (view_of (f, PULMO_VIEW_SAGITTAL));
  activate (f, "layout", g_variant_new_string ("coronal"));
  g_assert_false (gtk_widget_get_visible (axial));
  g_assert_true (gtk_widget_get_visible (coronal));
  g_assert_false (gtk_widget_get_visible (sagittal));
  activate (f, "layout", g_variant_new_string ("all"));
  g_assert_true (gtk_widget_get_visible (axial) && gtk_widget_get_visible (coronal)
                 && gtk_widget_get_visible (sagittal));
  /* A double-click toggles one view maximised, and back. */
  activate (f, "toggle-maximized", g_variant_new_string ("Sagittal"));
  g_assert_false (gtk_widget_get_visible (axial));
  g_assert_true (gtk_widget_get_visible (sagittal));
  activate (f, "toggle-maximized", g_variant_new_string ("Sagittal"));
  g_assert_true (gtk_widget_get_visible (axial));
}

static void
test_ruler (Fixture *f, gconstpointer data)
{
  PulmoSliceView *axial = view_of (f, PULMO_VIEW_AXIAL);
  int cursor_before[3], cursor_after[3];
  double x0, y0, x1, y1;
  activate (f, "tool", g_variant_new_string ("ruler"));
  g_assert_cmpint (pulmo_view_state_get_tool (f->state), ==, PULMO_TOOL_RULER);
  pulmo_view_state_get_cursor (f->state, cursor_before);
  /* From voxel (10, 30) to (20, 30): ten voxels of 4.171872 mm along i. */
  pulmo_slice_view_voxel_to_widget (axial, (const int[3]) { 10, 30, cursor_before[2] }, &x0, &y0);
  pulmo_slice_view_voxel_to_widget (axial, (const int[3]) { 20, 30, cursor_before[2] }, &x1, &y1);
  _pulmo_slice_view_primary_press (axial, x0, y0);
  _pulmo_slice_view_primary_drag (axial, x1, y1);
  _pulmo_slice_view_primary_release (axial, x1, y1);
  g_assert_cmpfloat_with_epsilon (_pulmo_slice_view_get_ruler_mm (axial), 41.71872, 1e-3);
  /* Measuring does not move the crosshair. */
  pulmo_view_state_get_cursor (f->state, cursor_after);
  g_assert_cmpmem (cursor_before, sizeof cursor_before, cursor_after, sizeof cursor_after);
  /* The ruler belongs to its slice. */
  set_cursor (f, cursor_before[0], cursor_before[1], cursor_before[2] + 1);
  g_assert_cmpfloat (_pulmo_slice_view_get_ruler_mm (axial), <, 0);
  activate (f, "tool", g_variant_new_string ("ruler"));
  g_assert_cmpint (pulmo_view_state_get_tool (f->state), ==, PULMO_TOOL_CROSSHAIR);
}

/* Drag and drop -------------------------------------------------------------- */

static GtkDropTarget *
drop_target_of (GtkWidget *widget)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) controller = g_list_model_get_item (controllers, i);
      if (GTK_IS_DROP_TARGET (controller))
        return GTK_DROP_TARGET (controller);
    }
  g_assert_not_reached ();
}

/* Emits the drop target's "drop" with the file list a file manager gives. */
static gboolean
drop_file (GtkWidget *widget, const char *relative)
{
  g_autofree char *path = pulmo_test_data (relative);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  GSList *files = g_slist_prepend (NULL, file);
  g_auto (GValue) value = G_VALUE_INIT;
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_list (files));
  g_slist_free (files);
  gboolean accepted = FALSE;
  g_signal_emit_by_name (drop_target_of (widget), "drop", &value, 10.0, 10.0, &accepted);
  return accepted;
}

/* A CT dropped on the window opens; a label file dropped on the side panel
 * opens onto it. */
static void
test_drop_files (Fixture *f, gconstpointer data)
{
  g_assert_true (drop_file (GTK_WIDGET (f->window), "cip-chest-ct/ct-64.nii.gz"));
  wait_until_loaded (f->window);
  g_assert_null (pulmo_window_get_error (f->window));
  g_assert_cmpstr (pulmo_view_state_get_display_name (f->state), ==, "ct-64.nii.gz");
  g_assert_true (drop_file (f->window->panel_scroller, "cip-chest-ct/wholeLung-64.nii.gz"));
  wait_until_loaded (f->window);
  g_assert_null (pulmo_window_get_error (f->window));
  PulmoLabelMap *labels = pulmo_view_state_get_labels (f->state);
  g_assert_nonnull (labels);
  g_assert_cmpuint (pulmo_label_map_get_data (labels)[(40 * 64 + 32) * 64 + 16], ==, 1);
}

/* Legend ----------------------------------------------------------------------- */

static GtkListBox *
find_list_box (GtkWidget *widget)
{
  if (GTK_IS_LIST_BOX (widget))
    return GTK_LIST_BOX (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkListBox *found = find_list_box (child);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
append_label_texts (GtkWidget *widget, GString *text)
{
  if (GTK_IS_LABEL (widget))
    g_string_append_printf (text, "%s|", gtk_label_get_text (GTK_LABEL (widget)));
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    append_label_texts (child, text);
}

/* The legend's rows as "value  name|volume|" lines. */
static char *
legend_text (Fixture *f)
{
  GtkListBox *legend = find_list_box (GTK_WIDGET (f->window->panel));
  g_assert_nonnull (legend);
  GString *text = g_string_new (NULL);
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (legend)); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    {
      append_label_texts (row, text);
      g_string_append_c (text, '\n');
    }
  return g_string_free (text, FALSE);
}

/* The legend (the palette) lists every label of the table, each with its
 * volume, and follows edits of the map. */
static void
test_legend_follows_edits (Fixture *f, gconstpointer data)
{
  open_shared_labels (f, "cip-chest-ct/wholeLung-64.nii.gz");
  g_assert_null (pulmo_window_get_error (f->window));
  g_autofree char *before = legend_text (f);
  static const char *rest = "3  Ground-glass opacity|0.0 mL|\n4  Consolidation|0.0 mL|\n"
                            "5  Pleural effusion|0.0 mL|\n6  Lung, side unknown|0.0 mL|\n"
                            "7  Infection, type unknown|0.0 mL|\n8  Unknown, not infection|0.0 mL|\n";
  g_autofree char *expected_before = g_strconcat ("1  Right lung|4554.2 mL|\n2  Left lung|0.0 mL|\n", rest, NULL);
  g_assert_cmpstr (before, ==, expected_before);

  /* Relabel the first 1000 lung voxels as left lung, as a brush would. */
  PulmoLabelMap *labels = pulmo_view_state_get_labels (f->state);
  uint8_t *voxels = pulmo_label_map_get_data_mutable (labels);
  int moved = 0;
  for (size_t i = 0; moved < 1000; i++)
    if (voxels[i] == 1)
      {
        voxels[i] = 2;
        moved++;
      }
  const PulmoBox whole = { { 0, 0, 0 }, { 63, 63, 78 } };
  pulmo_label_map_changed (labels, &whole);

  /* The recount comes a moment later, once for a burst of edits. */
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  char *after = legend_text (f);
  while (g_strcmp0 (after, before) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
      g_free (after);
      after = legend_text (f);
    }
  g_autofree char *expected_after = g_strconcat ("1  Right lung|4484.8 mL|\n2  Left lung|69.4 mL|\n", rest, NULL);
  g_assert_cmpstr (after, ==, expected_after);
  g_free (after);
}

/* An ITK-SNAP label description names and colours the labels in the legend
 * and the views; a bad one is refused with its line and changes nothing. */
static void
test_label_names (Fixture *f, gconstpointer data)
{
  open_shared_labels (f, "cip-chest-ct/wholeLung-64.nii.gz");
  g_assert_null (pulmo_window_get_error (f->window));
  const int voxel[3] = { 16, 32, 40 };
  set_cursor (f, voxel[0], voxel[1], voxel[2]);
  PulmoSliceView *axial = view_of (f, PULMO_VIEW_AXIAL);
  g_autofree char *legend_before = legend_text (f);

  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pulmo-viewer-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *good = g_build_filename (dir, "lungs.txt", NULL);
  g_autofree char *bad = g_build_filename (dir, "bad.txt", NULL);
  g_file_set_contents (good, "# ITK-SnAP Label Description File\n"
                             "0 0 0 0 0 0 0 \"Clear Label\"\n"
                             "1 255 0 255 1 1 1 \"Lungs\"\n", -1, &error);
  g_assert_no_error (error);
  g_file_set_contents (bad, "1 255 0 255 1 1 \"Lungs\"\n", -1, &error);
  g_assert_no_error (error);

  g_autoptr (GFile) bad_file = g_file_new_for_path (bad);
  pulmo_window_open_label_names (f->window, bad_file);
  g_assert_nonnull (strstr (pulmo_window_get_error (f->window), "line 1"));
  g_autofree char *legend_after_bad = legend_text (f);
  g_assert_cmpstr (legend_after_bad, ==, legend_before);

  g_autoptr (GFile) good_file = g_file_new_for_path (good);
  pulmo_window_open_label_names (f->window, good_file);
  g_assert_null (pulmo_window_get_error (f->window));
  g_autofree char *legend_after = legend_text (f);
  g_assert_cmpstr (legend_after, ==, "1  Lungs|4554.2 mL|\n");
  /* The lung voxel is now tinted magenta: red and blue above green. */
  double x, y;
  pulmo_slice_view_voxel_to_widget (axial, voxel, &x, &y);
  _pulmo_slice_view_hover (axial, x, y);
  g_assert_nonnull (strstr (pulmo_window_get_status (f->window), "Lungs"));
  uint32_t pixel = image_pixel_at (axial, voxel);
  guint red = (pixel >> 16) & 0xff, green = (pixel >> 8) & 0xff, blue = pixel & 0xff;
  g_assert_cmpuint (red, >, green + 40);
  g_assert_cmpuint (blue, >, green + 40);

  g_unlink (good);
  g_unlink (bad);
  g_rmdir (dir);
}

static void
wait_until_segmented (Fixture *f)
{
  app_test_wait_for (app_test_window_segmented, f->window, 120);
}

/* Labelled voxels on the axial slice through the cursor. */
static gsize
labelled_on_cursor_slice (Fixture *f)
{
  PulmoLabelMap *labels = pulmo_view_state_get_labels (f->state);
  if (labels == NULL)
    return 0;
  PulmoVolume *ct = pulmo_view_state_get_volume (f->state);
  int dims[3], cursor[3], u, v, slice;
  pulmo_volume_get_dims (ct, dims);
  pulmo_view_state_get_cursor (f->state, cursor);
  PulmoReslice axial;
  pulmo_reslice_init (&axial, PULMO_VIEW_AXIAL, pulmo_volume_get_affine (ct), dims);
  pulmo_reslice_from_voxel (&axial, cursor, &u, &v, &slice);
  const uint8_t *data = pulmo_label_map_get_data (labels);
  gsize count = 0;
  for (int row = 0; row < axial.height; row++)
    {
      gint64 start, step;
      pulmo_reslice_row (&axial, dims, slice, row, &start, &step);
      for (int col = 0; col < axial.width; col++)
        count += data[start + step * col] != 0;
    }
  return count;
}

static void
open_sample (Fixture *f)
{
  g_autofree char *path = g_build_filename (g_getenv ("PULMO_SOURCE_DIR"), "data", "samples",
                                            "P001-256.nii.gz", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  pulmo_window_open (f->window, file);
  wait_until_loaded (f->window);
  g_assert_null (pulmo_window_get_error (f->window));
  wait_for_allocation (f->window);
}

/* Segment on the bundled sample: the slice on screen comes first, the window
 * keeps running, the report panel fills in, and the labels are byte for byte
 * what `pulmo segment` writes for the same CT. */
static void
test_segment (Fixture *f, gconstpointer data)
{
  open_sample (f);
  g_autofree char *path = g_build_filename (g_getenv ("PULMO_SOURCE_DIR"), "data", "samples",
                                            "P001-256.nii.gz", NULL);
  /* A slice through the lower lungs, away from the volume's middle. */
  set_cursor (f, 128, 128, 40);
  gint64 start = g_get_monotonic_time ();
  activate (f, "segment", NULL);
  g_assert_true (pulmo_window_is_segmenting (f->window));
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (f->window), "segment"));
  gint64 first_us = 0;
  gint64 deadline = start + 120 * G_USEC_PER_SEC;
  while (pulmo_window_is_segmenting (f->window))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
      if (first_us == 0 && labelled_on_cursor_slice (f) > 1000)
        first_us = g_get_monotonic_time () - start;
    }
  double total_s = (g_get_monotonic_time () - start) * 1e-6;
  double stall_ms = pulmo_window_get_segment_stall_ms (f->window);
  g_test_message ("segment in the app: slice on screen after %.2f s, all %.1f s, longest main-loop stall %.1f ms",
                  first_us * 1e-6, total_s, stall_ms);
  g_assert_null (pulmo_window_get_error (f->window));
  g_assert_cmpint (first_us, >, 0);
  /* The slice on screen is done long before the whole scan. */
  g_assert_cmpfloat (first_us * 1e-6, <, total_s / 4);
  /* A loose bound that holds on a loaded 2-core machine; the figure above is what counts. */
  g_assert_cmpfloat (stall_ms, <, 250);
  g_assert_nonnull (strstr (pulmo_window_get_labels_source (f->window), "pulmo-lung-lesion"));

  PulmoLabelMap *labels = pulmo_view_state_get_labels (f->state);
  g_assert_nonnull (labels);
  guint64 counts[256];
  pulmo_label_map_count (labels, counts);
  g_assert_cmpuint (counts[PULMO_LABEL_RIGHT_LUNG], >, 100000);
  g_assert_cmpuint (counts[PULMO_LABEL_LEFT_LUNG], >, 100000);
  g_assert_cmpuint (counts[PULMO_LABEL_LUNG_UNKNOWN_SIDE], ==, 0);

  /* The CLI on the same file. */
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pulmo-viewer-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *out = g_build_filename (dir, "labels.nii.gz", NULL);
  const char *argv[] = { g_getenv ("PULMO_EXE"), "segment", path, "-o", out, NULL };
  int status = -1;
  g_autofree char *err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                               &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("pulmo segment failed: %s", err);
  g_autoptr (PulmoLabelMap) cli = pulmo_label_map_load (pulmo_view_state_get_volume (f->state), out, NULL,
                                                        NULL, &error);
  g_assert_no_error (error);
  gsize n = pulmo_volume_get_n_voxels (pulmo_view_state_get_volume (f->state));
  g_assert_true (memcmp (pulmo_label_map_get_data (cli), pulmo_label_map_get_data (labels), n) == 0);

  /* The report panel catches up with the labels, and follows an edit. */
  PulmoReportPanel *panel = f->window->report_panel;
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (pulmo_report_panel_get_report (panel) == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  PulmoReport expected;
  g_assert_true (pulmo_report_compute (pulmo_view_state_get_volume (f->state), pulmo_label_map_get_data (labels),
                                       &expected, NULL));
  double lung_before = pulmo_report_panel_get_report (panel)->total.lung_ml;
  g_assert_cmpfloat (lung_before, ==, expected.total.lung_ml);
  uint8_t *voxels = pulmo_label_map_get_data_mutable (labels);
  gsize cleared = 0;
  for (gsize v = 0; v < n; v++)
    if (voxels[v] == PULMO_LABEL_LEFT_LUNG)
      {
        voxels[v] = 0;
        cleared++;
      }
  int dims[3];
  pulmo_volume_get_dims (pulmo_view_state_get_volume (f->state), dims);
  pulmo_label_map_changed (labels, &(PulmoBox){ { 0, 0, 0 }, { dims[0] - 1, dims[1] - 1, dims[2] - 1 } });
  g_assert_null (pulmo_report_panel_get_report (panel));
  while (pulmo_report_panel_get_report (panel) == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  /* What is left of the left lung is its lesions. */
  const PulmoLungFigures *left = &pulmo_report_panel_get_report (panel)->left;
  g_assert_cmpfloat_with_epsilon (left->lung_ml, left->ggo_ml + left->consolidation_ml, 1e-6);
  g_assert_cmpfloat (pulmo_report_panel_get_report (panel)->total.lung_ml, <, lung_before);

  /* Export: the PDF of what is on screen. */
  g_autofree char *pdf = g_build_filename (dir, "report.pdf", NULL);
  g_assert_true (pulmo_window_export_report (f->window, pdf, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (pdf, G_FILE_TEST_IS_REGULAR));
  g_unlink (pdf);
  g_unlink (out);
  g_rmdir (dir);
}

/* Labels with edits: Segment asks before replacing them; Cancel mid-run puts
 * them back exactly. */
static void
test_segment_cancel (Fixture *f, gconstpointer data)
{
  open_sample (f);
  PulmoVolume *ct = pulmo_view_state_get_volume (f->state);
  g_autoptr (PulmoLabelMap) mine = pulmo_label_map_new (ct);
  gsize n = pulmo_volume_get_n_voxels (ct);
  uint8_t *voxels = pulmo_label_map_get_data_mutable (mine);
  for (gsize v = 0; v < n; v++)
    voxels[v] = (v / 4096) % 7 == 0 ? PULMO_LABEL_CONSOLIDATION : 0;
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  pulmo_label_map_changed (mine, &(PulmoBox){ { 0, 0, 0 }, { dims[0] - 1, dims[1] - 1, dims[2] - 1 } });
  pulmo_view_state_set_labels (f->state, mine);
  g_autofree uint8_t *before = g_memdup2 (voxels, n);

  /* The action asks first: nothing runs until the user says Replace. */
  GListModel *toplevels = gtk_window_get_toplevels ();
  guint windows = g_list_model_get_n_items (toplevels);
  activate (f, "segment", NULL);
  g_assert_false (pulmo_window_is_segmenting (f->window));
  g_assert_cmpuint (g_list_model_get_n_items (toplevels), ==, windows + 1);
  GtkWidget *dialog = NULL;
  for (guint w = 0; w < g_list_model_get_n_items (toplevels); w++)
    {
      g_autoptr (GtkWidget) window = g_list_model_get_item (toplevels, w);
      if (GTK_IS_DIALOG (window))
        dialog = window;
    }
  g_assert_nonnull (dialog);
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  G_GNUC_END_IGNORE_DEPRECATIONS
  g_assert_true (pulmo_window_is_segmenting (f->window));

  /* Cancel once the first slices are in. */
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (labelled_on_cursor_slice (f) == 0)
    {
      g_assert_true (pulmo_window_is_segmenting (f->window));
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_true (pulmo_view_state_get_labels (f->state) != mine);
  activate (f, "segment-cancel", NULL);
  wait_until_segmented (f);
  g_assert_null (pulmo_window_get_error (f->window));
  g_assert_true (pulmo_view_state_get_labels (f->state) == mine);
  g_assert_true (memcmp (pulmo_label_map_get_data (mine), before, n) == 0);
}

int
main (int argc, char **argv)
{
  if (!app_test_init (&argc, &argv, "/viewer/no-display"))
    return g_test_run ();
  const char *lps = "cip-chest-ct/ct-64.nii.gz";
  const char *ras = "totalsegmentator-example-ct/example_ct.nii.gz";
  g_test_add ("/viewer/open-ct", Fixture, lps, setup, test_open_ct, teardown);
  g_test_add ("/viewer/open-error-keeps-window", Fixture, lps, setup, test_open_error_keeps_window, teardown);
  g_test_add ("/viewer/open-dicom-folder", Fixture, NULL, setup, test_open_dicom_folder, teardown);
  g_test_add ("/viewer/recent-files", Fixture, lps, setup, test_recent_files, teardown);
  g_test_add ("/viewer/crosshair-sync", Fixture, lps, setup, test_crosshair_sync, teardown);
  g_test_add ("/viewer/slice-steps", Fixture, lps, setup, test_slice_steps, teardown);
  g_test_add ("/viewer/presets-change-pixels", Fixture, lps, setup, test_presets_change_pixels, teardown);
  g_test_add ("/viewer/readout", Fixture, lps, setup, test_readout, teardown);
  g_test_add ("/viewer/prewindowed-8bit", Fixture, NULL, setup, test_prewindowed_8bit, teardown);
  g_test_add ("/viewer/preferences", Fixture, NULL, setup, test_preferences, teardown);
  g_test_add ("/viewer/smooth-display", Fixture, lps, setup, test_smooth_display, teardown);
  g_test_add ("/viewer/letters-lps", Fixture, lps, setup, test_letters_lps, teardown);
  g_test_add ("/viewer/letters-ras", Fixture, ras, setup, test_letters_ras, teardown);
  g_test_add ("/viewer/layout", Fixture, lps, setup, test_layout, teardown);
  g_test_add ("/viewer/ruler", Fixture, lps, setup, test_ruler, teardown);
  g_test_add ("/viewer/drop-files", Fixture, NULL, setup, test_drop_files, teardown);
  g_test_add ("/viewer/legend-follows-edits", Fixture, lps, setup, test_legend_follows_edits, teardown);
  g_test_add ("/viewer/label-names", Fixture, lps, setup, test_label_names, teardown);
  g_test_add ("/viewer/segment", Fixture, NULL, setup, test_segment, teardown);
  g_test_add ("/viewer/segment-cancel", Fixture, NULL, setup, test_segment_cancel, teardown);
  return g_test_run ();
}
