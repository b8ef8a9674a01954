/* Slice rendering on volumes made in memory: every display pixel shows the voxel
 * the reslice transform names, with the window's grey; overlays blend the label
 * colour in fill mode and only the boundary in outline mode. */
#include <glib/gstdio.h>
#include <math.h>
#include <nifti1.h>
#include <string.h>

#include "core/pulmo-label-table.h"
#include "core/pulmo-volume.h"
#include "render/slice-render.h"
#include "render/window-level.h"

static uint8_t
grey_of (uint32_t pixel)
{
  g_assert_cmphex (pixel >> 24, ==, 0xff);
  uint8_t red = (pixel >> 16) & 0xff, green = (pixel >> 8) & 0xff, blue = pixel & 0xff;
  g_assert_cmpuint (red, ==, green);
  g_assert_cmpuint (green, ==, blue);
  return blue;
}

/* A 7×5×3 volume whose every voxel holds a distinct HU: 100 i + 10 j + k - 800. */
static PulmoVolume *
make_volume (const PulmoAffine *affine)
{
  const int dims[3] = { 7, 5, 3 };
  int16_t *hu = g_new (int16_t, 7 * 5 * 3);
  for (int k = 0; k < 3; k++)
    for (int j = 0; j < 5; j++)
      for (int i = 0; i < 7; i++)
        hu[(k * 5 + j) * 7 + i] = (int16_t) (100 * i + 10 * j + k - 800);
  return pulmo_volume_new_int16 (dims, affine, hu);
}

static void
test_window_grey (void)
{
  /* The ramp: level - window/2 is black, level + window/2 white, level mid-grey. */
  g_assert_cmpuint (pulmo_window_grey (-1350, 1500, -600), ==, 0);
  g_assert_cmpuint (pulmo_window_grey (-600, 1500, -600), ==, 128);
  g_assert_cmpuint (pulmo_window_grey (150, 1500, -600), ==, 255);
  g_assert_cmpuint (pulmo_window_grey (3000, 1500, -600), ==, 255);
  g_assert_cmpuint (pulmo_window_grey (-3000, 1500, -600), ==, 0);
  /* -1000 HU in the lung window: (−1000 + 1350) / 1500 · 255 = 59.5, rounds to 60. */
  g_assert_cmpuint (pulmo_window_grey (-1000, 1500, -600), ==, 60);
  g_assert_cmpuint (pulmo_window_grey (NAN, 400, 40), ==, 0);
}

/* Every pixel of every view, for storage orders that need no flip, two flips,
 * and a permutation of the axes. */
static void
test_every_pixel_follows_reslice (void)
{
  const PulmoAffine affines[] = {
    { { { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 2, 0 }, { 0, 0, 0, 1 } } },     /* RAS */
    { { { -1, 0, 0, 0 }, { 0, -1, 0, 0 }, { 0, 0, 2, 0 }, { 0, 0, 0, 1 } } },   /* LPS */
    { { { 0, 0, -2, 0 }, { 1, 0, 0, 0 }, { 0, -1, 0, 0 }, { 0, 0, 0, 1 } } },   /* AIL: i → A, j → I, k → L */
  };
  g_autoptr (PulmoSliceRenderer) renderer = pulmo_slice_renderer_new ();
  PulmoRenderParams params = { .window = 2000, .level = -200 };

  for (size_t a = 0; a < G_N_ELEMENTS (affines); a++)
    {
      g_autoptr (PulmoVolume) volume = make_volume (&affines[a]);
      int dims[3];
      pulmo_volume_get_dims (volume, dims);
      for (int view = 0; view < PULMO_N_VIEWS; view++)
        {
          PulmoReslice reslice;
          pulmo_reslice_init (&reslice, view, &affines[a], dims);
          int stride = reslice.width + 3; /* rows padded, as cairo may */
          g_autofree uint32_t *pixels = g_new0 (uint32_t, (size_t) stride * reslice.height);
          for (int slice = 0; slice < reslice.n_slices; slice++)
            {
              pulmo_slice_renderer_render (renderer, volume, &reslice, slice, &params, pixels, stride * 4);
              for (int v = 0; v < reslice.height; v++)
                for (int u = 0; u < reslice.width; u++)
                  {
                    int ijk[3];
                    pulmo_reslice_to_voxel (&reslice, u, v, slice, ijk);
                    double value = pulmo_volume_get_value (volume, ijk[0], ijk[1], ijk[2]);
                    g_assert_cmpuint (grey_of (pixels[v * stride + u]), ==,
                                      pulmo_window_grey (value, params.window, params.level));
                  }
            }
        }
    }
}

/* A preset changes the grey of a known voxel as its ramp says. */
static void
test_presets_change_grey (void)
{
  PulmoAffine affine;
  pulmo_affine_from_spacing (&affine, (const double[3]) { 1, 1, 1 });
  g_autoptr (PulmoVolume) volume = make_volume (&affine);
  int dims[3];
  pulmo_volume_get_dims (volume, dims);
  PulmoReslice reslice;
  pulmo_reslice_init (&reslice, PULMO_VIEW_AXIAL, &affine, dims);
  g_autoptr (PulmoSliceRenderer) renderer = pulmo_slice_renderer_new ();
  g_autofree uint32_t *pixels = g_new (uint32_t, (size_t) reslice.width * reslice.height);

  /* Voxel (1, 2, 0) holds 100 + 20 + 0 - 800 = -680 HU (lung-like). */
  int u, v, slice;
  pulmo_reslice_from_voxel (&reslice, (const int[3]) { 1, 2, 0 }, &u, &v, &slice);
  const struct {
    const char *preset;
    uint8_t grey;
  } expected[] = {
    { "lung", 114 },        /* (−680 + 1350) · 255 / 1500 = 113.9, rounds to 114 */
    { "mediastinum", 0 },   /* below −125: black */
    { "bone", 0 },          /* below −500: black */
    { "soft-tissue", 0 },   /* below −160: black */
  };
  for (size_t p = 0; p < G_N_ELEMENTS (expected); p++)
    {
      const PulmoWindowPreset *preset = pulmo_window_preset_find (expected[p].preset);
      g_assert_nonnull (preset);
      PulmoRenderParams params = { .window = preset->window, .level = preset->level };
      pulmo_slice_renderer_render (renderer, volume, &reslice, slice, &params, pixels, reslice.width * 4);
      g_assert_cmpuint (grey_of (pixels[v * reslice.width + u]), ==, expected[p].grey);
    }
  /* Voxel (6, 4, 2) holds 600 + 40 + 2 - 800 = -158 HU: grey in soft tissue, (−158 + 160) / 400 · 255 = 1.3 → 1. */
  pulmo_reslice_from_voxel (&reslice, (const int[3]) { 6, 4, 2 }, &u, &v, &slice);
  PulmoRenderParams soft = { .window = 400, .level = 40 };
  pulmo_slice_renderer_render (renderer, volume, &reslice, slice, &soft, pixels, reslice.width * 4);
  g_assert_cmpuint (grey_of (pixels[v * reslice.width + u]), ==, 1);
}

typedef struct {
  PulmoVolume *volume;
  PulmoReslice reslice;
  uint8_t *labels;
  PulmoLabelTable *table;
  uint32_t *pixels;
} OverlayFixture;

/* A 16×16×3 slab at −1000 HU with a 6×6 square of label 1 and one voxel of label 3. */
static void
overlay_setup (OverlayFixture *f, gconstpointer data)
{
  const int dims[3] = { 16, 16, 3 };
  int16_t *hu = g_new (int16_t, 16 * 16 * 3);
  for (int n = 0; n < 16 * 16 * 3; n++)
    hu[n] = -1000;
  PulmoAffine affine;
  pulmo_affine_from_spacing (&affine, (const double[3]) { 1, 1, 1 });
  f->volume = pulmo_volume_new_int16 (dims, &affine, hu);
  f->labels = g_new0 (uint8_t, 16 * 16 * 3);
  for (int j = 4; j < 10; j++)
    for (int i = 4; i < 10; i++)
      f->labels[(1 * 16 + j) * 16 + i] = PULMO_LABEL_RIGHT_LUNG;
  f->labels[(1 * 16 + 12) * 16 + 12] = PULMO_LABEL_GROUND_GLASS;
  f->table = pulmo_label_table_new_default ();
  pulmo_reslice_init (&f->reslice, PULMO_VIEW_AXIAL, &affine, dims);
  f->pixels = g_new (uint32_t, 16 * 16);
}

static void
overlay_teardown (OverlayFixture *f, gconstpointer data)
{
  pulmo_volume_unref (f->volume);
  g_free (f->labels);
  pulmo_label_table_free (f->table);
  g_free (f->pixels);
}

static uint32_t
pixel_at_voxel (OverlayFixture *f, int i, int j)
{
  int u, v, slice;
  pulmo_reslice_from_voxel (&f->reslice, (const int[3]) { i, j, 1 }, &u, &v, &slice);
  return f->pixels[v * 16 + u];
}

static void
assert_blend (uint32_t pixel, uint8_t grey, const uint8_t rgba[4], double opacity)
{
  for (int c = 0; c < 3; c++)
    {
      double expected = grey * (1 - opacity) + rgba[c] * opacity;
      int channel = (pixel >> (16 - 8 * c)) & 0xff;
      g_assert_cmpfloat (fabs (channel - expected), <=, 1.0);
    }
}

static void
test_overlay_fill (OverlayFixture *f, gconstpointer data)
{
  g_autoptr (PulmoSliceRenderer) renderer = pulmo_slice_renderer_new ();
  PulmoRenderParams params = { .window = 1500, .level = -600, .labels = f->labels, .table = f->table,
                               .opacity = 0.5, .overlay_mode = PULMO_OVERLAY_FILL };
  pulmo_slice_renderer_render (renderer, f->volume, &f->reslice, 1, &params, f->pixels, 16 * 4);

  uint8_t grey = pulmo_window_grey (-1000, 1500, -600);
  const uint8_t *lung = pulmo_label_table_get (f->table, PULMO_LABEL_RIGHT_LUNG)->rgba;
  const uint8_t *ggo = pulmo_label_table_get (f->table, PULMO_LABEL_GROUND_GLASS)->rgba;
  assert_blend (pixel_at_voxel (f, 6, 6), grey, lung, 0.5);  /* inside the square */
  assert_blend (pixel_at_voxel (f, 4, 4), grey, lung, 0.5);  /* its corner */
  assert_blend (pixel_at_voxel (f, 12, 12), grey, ggo, 0.5);
  g_assert_cmpuint (grey_of (pixel_at_voxel (f, 2, 2)), ==, grey); /* unlabelled */

  /* Full opacity shows the label's own colour. */
  params.opacity = 1.0;
  pulmo_slice_renderer_render (renderer, f->volume, &f->reslice, 1, &params, f->pixels, 16 * 4);
  g_assert_cmphex (pixel_at_voxel (f, 6, 6), ==, 0xff000000u | lung[0] << 16 | lung[1] << 8 | lung[2]);

  /* A hidden label leaves the grey alone; the others still show. */
  pulmo_label_table_set_visible (f->table, PULMO_LABEL_RIGHT_LUNG, FALSE);
  pulmo_slice_renderer_render (renderer, f->volume, &f->reslice, 1, &params, f->pixels, 16 * 4);
  g_assert_cmpuint (grey_of (pixel_at_voxel (f, 6, 6)), ==, grey);
  g_assert_cmphex (pixel_at_voxel (f, 12, 12), ==, 0xff000000u | ggo[0] << 16 | ggo[1] << 8 | ggo[2]);

  /* Other slices hold no labels. */
  pulmo_slice_renderer_render (renderer, f->volume, &f->reslice, 0, &params, f->pixels, 16 * 4);
  for (int n = 0; n < 16 * 16; n++)
    g_assert_cmpuint (grey_of (f->pixels[n]), ==, grey);
}

static void
test_overlay_outline (OverlayFixture *f, gconstpointer data)
{
  g_autoptr (PulmoSliceRenderer) renderer = pulmo_slice_renderer_new ();
  PulmoRenderParams params = { .window = 1500, .level = -600, .labels = f->labels, .table = f->table,
                               .opacity = 1.0, .overlay_mode = PULMO_OVERLAY_OUTLINE };
  pulmo_slice_renderer_render (renderer, f->volume, &f->reslice, 1, &params, f->pixels, 16 * 4);
  uint8_t grey = pulmo_window_grey (-1000, 1500, -600);
  const uint8_t *lung = pulmo_label_table_get (f->table, PULMO_LABEL_RIGHT_LUNG)->rgba;
  uint32_t lung_pixel = 0xff000000u | lung[0] << 16 | lung[1] << 8 | lung[2];

  /* The square's 20 boundary voxels are coloured, its 16 inner ones are not. */
  int coloured = 0;
  for (int j = 4; j < 10; j++)
    for (int i = 4; i < 10; i++)
      {
        gboolean edge = i == 4 || i == 9 || j == 4 || j == 9;
        uint32_t pixel = pixel_at_voxel (f, i, j);
        if (edge)
          g_assert_cmphex (pixel, ==, lung_pixel);
        else
          g_assert_cmpuint (grey_of (pixel), ==, grey);
        coloured += pixel == lung_pixel;
      }
  g_assert_cmpint (coloured, ==, 20);
  /* A single voxel is all boundary. */
  g_assert_cmphex (pixel_at_voxel (f, 12, 12) & 0xffffff, !=, (uint32_t) grey * 0x010101);
}

/* A float32 NIfTI (values that are not integers) goes through the float path. */
/* Alone, the overlay is premultiplied ARGB on transparent pixels: laid over the
 * grey image (as the view does when it scales the grey smoothly), it gives
 * the pixels of the composited render. */
static void
test_overlay_alone (OverlayFixture *f, gconstpointer data)
{
  g_autoptr (PulmoSliceRenderer) renderer = pulmo_slice_renderer_new ();
  PulmoRenderParams params = { .window = 1500, .level = -600, .labels = f->labels, .table = f->table,
                               .opacity = 0.5, .overlay_mode = PULMO_OVERLAY_FILL, .overlay_alone = TRUE };
  pulmo_slice_renderer_render (renderer, f->volume, &f->reslice, 1, &params, f->pixels, 16 * 4);
  uint8_t grey = pulmo_window_grey (-1000, 1500, -600);
  const uint8_t *lung = pulmo_label_table_get (f->table, PULMO_LABEL_RIGHT_LUNG)->rgba;

  g_assert_cmphex (pixel_at_voxel (f, 2, 2), ==, 0);  /* unlabelled: transparent */
  uint32_t over = pixel_at_voxel (f, 6, 6);
  double alpha = (over >> 24) / 255.0;
  g_assert_cmpfloat (fabs (alpha - lung[3] / 255.0 * 0.5), <=, 1.0 / 255);
  uint32_t composited = 0xff000000u;
  for (int c = 0; c < 3; c++)
    {
      int shift = 16 - 8 * c;
      g_assert_cmpuint ((over >> shift) & 0xff, <=, over >> 24);  /* valid premultiplied */
      composited |= (uint32_t) (((over >> shift) & 0xff) + grey * (1 - alpha) + 0.5) << shift;
    }
  assert_blend (composited, grey, lung, 0.5 * lung[3] / 255.0);

  /* Outlined, the square's inner voxels stay transparent. */
  params.overlay_mode = PULMO_OVERLAY_OUTLINE;
  pulmo_slice_renderer_render (renderer, f->volume, &f->reslice, 1, &params, f->pixels, 16 * 4);
  g_assert_cmphex (pixel_at_voxel (f, 6, 6), ==, 0);
  g_assert_cmpuint (pixel_at_voxel (f, 4, 6) >> 24, >, 0);
}

static void
test_float_volume (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pulmo-render-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "float.nii", NULL);
  nifti_1_header header = { 0 };
  header.sizeof_hdr = 348;
  header.dim[0] = 3;
  header.dim[1] = 4;
  header.dim[2] = 3;
  header.dim[3] = 2;
  header.dim[4] = header.dim[5] = header.dim[6] = header.dim[7] = 1;
  header.datatype = NIFTI_TYPE_FLOAT32;
  header.bitpix = 32;
  header.pixdim[0] = 1;
  header.pixdim[1] = header.pixdim[2] = header.pixdim[3] = 1;
  header.vox_offset = 352;
  header.scl_slope = 1;
  header.sform_code = 1;
  header.srow_x[0] = header.srow_y[1] = header.srow_z[2] = 1;
  header.xyzt_units = NIFTI_UNITS_MM;
  memcpy (header.magic, "n+1", 4);
  float values[24];
  for (int n = 0; n < 24; n++)
    values[n] = -900.5f + 75.25f * n;
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  g_byte_array_append (bytes, (const guint8 *) &header, sizeof header);
  g_byte_array_append (bytes, (const guint8[4]) { 0, 0, 0, 0 }, 4);
  g_byte_array_append (bytes, (const guint8 *) values, sizeof values);
  g_assert_true (g_file_set_contents (path, (const char *) bytes->data, bytes->len, NULL));

  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) volume = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pulmo_volume_get_voxel_type (volume), ==, PULMO_VOXEL_FLOAT32);

  int dims[3];
  pulmo_volume_get_dims (volume, dims);
  g_autoptr (PulmoSliceRenderer) renderer = pulmo_slice_renderer_new ();
  PulmoRenderParams params = { .window = 1500, .level = -600 };
  for (int view = 0; view < PULMO_N_VIEWS; view++)
    {
      PulmoReslice reslice;
      pulmo_reslice_init (&reslice, view, pulmo_volume_get_affine (volume), dims);
      g_autofree uint32_t *pixels = g_new (uint32_t, (size_t) reslice.width * reslice.height);
      for (int slice = 0; slice < reslice.n_slices; slice++)
        {
          pulmo_slice_renderer_render (renderer, volume, &reslice, slice, &params, pixels, reslice.width * 4);
          for (int v = 0; v < reslice.height; v++)
            for (int u = 0; u < reslice.width; u++)
              {
                int ijk[3];
                pulmo_reslice_to_voxel (&reslice, u, v, slice, ijk);
                float value = values[(ijk[2] * 3 + ijk[1]) * 4 + ijk[0]];
                g_assert_cmpuint (grey_of (pixels[v * reslice.width + u]), ==,
                                  pulmo_window_grey (value, 1500, -600));
              }
        }
    }
  g_unlink (path);
  g_rmdir (dir);
}

/* Pre-windowed 8-bit images open at 0..255; the automatic window spans the
 * 1st to 99th percentile of what is above the minimum. */
static void
test_default_and_auto_window (void)
{
  const int dims[3] = { 100, 100, 10 };
  int16_t *hu = g_new (int16_t, 100 * 100 * 10);
  /* Padding at -3024 in a quarter of the volume, the rest spread evenly over -1000..999. */
  for (int n = 0; n < 100 * 100 * 10; n++)
    hu[n] = n % 4 == 0 ? -3024 : (int16_t) (n % 2000 - 1000);
  PulmoAffine affine;
  pulmo_affine_from_spacing (&affine, (const double[3]) { 1, 1, 1 });
  g_autoptr (PulmoVolume) volume = pulmo_volume_new_int16 (dims, &affine, hu);
  double window, level;
  pulmo_window_auto (volume, &window, &level);
  /* 1st..99th percentile of -1000..999 is about -980..980: within one histogram bin (1 HU). */
  g_assert_cmpfloat (fabs (level), <, 5.0);
  g_assert_cmpfloat (fabs (window - 1960), <, 10.0);

  /* HU opens in the lung window. */
  pulmo_window_default (volume, &window, &level);
  g_assert_cmpfloat (window, ==, 1500);
  g_assert_cmpfloat (level, ==, -600);

  /* An 8-bit pre-windowed image opens at 0..255: 0 black, 255 white. */
  int16_t *greys = g_new (int16_t, 100 * 100 * 10);
  for (int n = 0; n < 100 * 100 * 10; n++)
    greys[n] = (int16_t) (n % 256);
  g_autoptr (PulmoVolume) prewindowed = pulmo_volume_new_int16 (dims, &affine, greys);
  g_assert_cmpint (pulmo_volume_get_intensity_kind (prewindowed), ==, PULMO_INTENSITY_PREWINDOWED_8BIT);
  pulmo_window_default (prewindowed, &window, &level);
  g_assert_cmpuint (pulmo_window_grey (0, window, level), ==, 0);
  g_assert_cmpuint (pulmo_window_grey (128, window, level), ==, 128);
  g_assert_cmpuint (pulmo_window_grey (255, window, level), ==, 255);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/render/window-grey", test_window_grey);
  g_test_add_func ("/render/every-pixel-follows-reslice", test_every_pixel_follows_reslice);
  g_test_add_func ("/render/presets-change-grey", test_presets_change_grey);
  g_test_add ("/render/overlay-fill", OverlayFixture, NULL, overlay_setup, test_overlay_fill, overlay_teardown);
  g_test_add ("/render/overlay-outline", OverlayFixture, NULL, overlay_setup, test_overlay_outline,
              overlay_teardown);
  g_test_add ("/render/overlay-alone", OverlayFixture, NULL, overlay_setup, test_overlay_alone,
              overlay_teardown);
  g_test_add_func ("/render/float-volume", test_float_volume);
  g_test_add_func ("/render/default-and-auto-window", test_default_and_auto_window);
  return g_test_run ();
}
