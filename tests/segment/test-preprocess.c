/* Tests for src/segment/preprocess.c: CLAHE and the normalisation against
 * values worked out by hand, the fit of a slice into the model's input, and
 * the preprocessing of a real HU slice. */
#include <math.h>
#include <string.h>

#include "core/pulmo-volume.h"
#include "segment/preprocess.h"

/* A 4×4 image of one grey value, one tile, clip 7: the clip is
 * max(1, ⌊7·16/256⌋) = 1, so bin 100 keeps 1 of its 16 counts; the 15 over
 * the clip go one each to bins 0, 17, 34, …, 238. Up to 100 the cumulative
 * histogram holds bins 0, 17, 34, 51, 68, 85 and 100: 7 counts, and
 * 7 · 255 / 16 = 111.56 rounds to 112. */
static void
test_clahe_uniform (void)
{
  uint8_t in[16], out[16];
  memset (in, 100, sizeof in);
  pulmo_clahe (in, 4, 4, 7, 1, 1, out);
  for (int i = 0; i < 16; i++)
    g_assert_cmpuint (out[i], ==, 112);
}

/* Without clipping one tile is plain histogram equalisation: four values
 * once each map to round(k · 255 / 4) for k = 1..4 (127.5 rounds to even). */
static void
test_clahe_equalises (void)
{
  const uint8_t in[4] = { 0, 50, 100, 200 };
  const uint8_t expected[4] = { 64, 128, 191, 255 };
  uint8_t out[4];
  pulmo_clahe (in, 2, 2, 1000, 1, 1, out);
  g_assert_cmpmem (out, 4, expected, 4);
}

/* Two tiles side by side on a 4×1 image: the left tile holds 0 and 10, the
 * right 10 and 20, so left maps 0→128, 10→255; right maps 10→128, 20→255.
 * Pixel centres at tile-relative x/2 − 0.5 = −0.5, 0, 0.5, 1: the outer two
 * and pixel 1 take one tile's mapping, pixel 2 the mean of both for 10,
 * (255 + 128) / 2 = 191.5, which rounds to even: 192. */
static void
test_clahe_interpolates (void)
{
  const uint8_t in[4] = { 0, 10, 10, 20 };
  const uint8_t expected[4] = { 128, 255, 192, 255 };
  uint8_t out[4];
  pulmo_clahe (in, 4, 1, 1000, 2, 1, out);
  g_assert_cmpmem (out, 4, expected, 4);
}

static PulmoModelInfo
minmax_info (int size, float clahe_clip)
{
  return (PulmoModelInfo) {
    .normalisation = PULMO_NORMALISE_SLICE_MINMAX,
    .window_hu_low = -1024, .window_hu_high = 3071,
    .window_gray8_low = 0, .window_gray8_high = 255,
    .clahe_clip = clahe_clip, .clahe_tiles = 8,
    .input_width = size, .input_height = size, .n_slices = 1,
  };
}

/* HU −2000 (outside the field of view) counts as air at −1024; the slice's
 * range −1024..1000 becomes 0..255: 0 HU is 1024 / 2024 · 255 = 129.0 → 129.
 * An 8-bit slice is stretched the same way from its own range. */
static void
test_normalise_by_hand (void)
{
  PulmoModelInfo info = minmax_info (2, 0);
  PulmoSliceFit fit;
  pulmo_slice_fit_init (&fit, 2, 2, 0.7, 0.7, 2, 2);
  const float hu[4] = { -2000, -1024, 0, 1000 };
  float input[4];
  pulmo_preprocess_slice (&info, PULMO_INTENSITY_HU, hu, &fit, input);
  const float expected_hu[4] = { 0, 0, 129 / 255.0f, 1 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (input[i], expected_hu[i], 1e-6);

  const float grey[4] = { 10, 20, 30, 40 };
  pulmo_preprocess_slice (&info, PULMO_INTENSITY_PREWINDOWED_8BIT, grey, &fit, input);
  const float expected_grey[4] = { 0, 85 / 255.0f, 170 / 255.0f, 1 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (input[i], expected_grey[i], 1e-6);
}

/* A 512 × 256 slice of square pixels fills the width of a 256² input at half
 * scale, centred with 64 rows of padding above and below, which is air
 * (0) in the image and background in the labels. Non-square pixels keep the
 * anatomy's aspect in mm. */
static void
test_fit (void)
{
  PulmoSliceFit fit;
  pulmo_slice_fit_init (&fit, 512, 256, 0.8, 0.8, 256, 256);
  g_assert_cmpfloat (fit.scale_x, ==, 0.5);
  g_assert_cmpfloat (fit.scale_y, ==, 0.5);
  g_assert_cmpfloat (fit.offset_x, ==, 0);
  g_assert_cmpfloat (fit.offset_y, ==, 64);

  g_autofree uint8_t *labels = g_malloc (512 * 256);
  memset (labels, 3, 512 * 256);
  g_autofree uint8_t *input_labels = g_malloc (256 * 256);
  pulmo_preprocess_labels (labels, &fit, input_labels);
  g_assert_cmpuint (input_labels[63 * 256 + 100], ==, 0);
  g_assert_cmpuint (input_labels[64 * 256 + 100], ==, 3);
  g_assert_cmpuint (input_labels[191 * 256 + 255], ==, 3);
  g_assert_cmpuint (input_labels[192 * 256 + 100], ==, 0);

  PulmoModelInfo info = minmax_info (256, 0);
  g_autofree float *values = g_new (float, 512 * 256);
  for (int i = 0; i < 512 * 256; i++)
    values[i] = (i % 512) < 256 ? -500 : 500;
  g_autofree float *input = g_new (float, 256 * 256);
  pulmo_preprocess_slice (&info, PULMO_INTENSITY_HU, values, &fit, input);
  g_assert_cmpfloat (input[10 * 256 + 100], ==, 0);       /* padding */
  g_assert_cmpfloat (input[100 * 256 + 10], ==, 0);       /* −500, the slice's minimum */
  g_assert_cmpfloat (input[100 * 256 + 250], ==, 1);      /* 500, its maximum */

  /* 1 × 2 mm pixels: 100 × 50 pixels are 100 × 100 mm, a square. */
  pulmo_slice_fit_init (&fit, 100, 50, 1, 2, 64, 64);
  g_assert_cmpfloat_with_epsilon (fit.scale_x, 0.64, 1e-12);
  g_assert_cmpfloat_with_epsilon (fit.scale_y, 1.28, 1e-12);
  g_assert_cmpfloat_with_epsilon (fit.offset_y, 0, 1e-9);
}

/* A real HU slice (ct-64, 64×64 at 4.2 mm, stored LPS): the axial reslice
 * shows it anterior up whatever the storage order, and the preprocessed
 * input spans 0..1 with CLAHE's output in whole 8-bit steps. The air in
 * front of the chest is darker than the spine. */
static void
test_real_hu_slice (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("PULMO_DATA_DIR"), "cip-chest-ct",
                                            "ct-64.nii.gz", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) volume = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  int dims[3];
  pulmo_volume_get_dims (volume, dims);
  PulmoReslice axial;
  pulmo_reslice_init (&axial, PULMO_VIEW_AXIAL, pulmo_volume_get_affine (volume), dims);
  g_assert_cmpint (axial.width, ==, 64);
  g_assert_cmpint (axial.height, ==, 64);

  g_autofree float *values = g_new (float, 64 * 64);
  int slice = axial.n_slices / 2;
  pulmo_preprocess_extract (volume, &axial, slice, values);
  /* Each extracted pixel is the voxel the reslice names. */
  for (int v = 0; v < 64; v += 9)
    for (int u = 0; u < 64; u += 7)
      {
        int ijk[3];
        pulmo_reslice_to_voxel (&axial, u, v, slice, ijk);
        g_assert_cmpfloat (values[v * 64 + u], ==,
                           pulmo_volume_get_value (volume, ijk[0], ijk[1], ijk[2]));
      }

  PulmoModelInfo info = minmax_info (256, 7);
  PulmoSliceFit fit;
  pulmo_slice_fit_init (&fit, 64, 64, axial.u_spacing_mm, axial.v_spacing_mm, 256, 256);
  g_autofree float *input = g_new (float, 256 * 256);
  pulmo_preprocess_slice (&info, pulmo_volume_get_intensity_kind (volume), values, &fit, input);
  float min = 1, max = 0;
  for (int i = 0; i < 256 * 256; i++)
    {
      min = MIN (min, input[i]);
      max = MAX (max, input[i]);
      float steps = input[i] * 255;
      g_assert_cmpfloat_with_epsilon (steps, roundf (steps), 1e-4);
    }
  g_assert_cmpfloat (min, >=, 0);
  g_assert_cmpfloat (max, <=, 1);
  g_assert_cmpfloat (max - min, >, 0.9);
  /* Top centre (in front of the chest, outside the body) against the middle
   * of the bottom third (the spine). */
  double air = 0, spine = 0;
  for (int y = 0; y < 8; y++)
    for (int x = 120; x < 136; x++)
      air += input[y * 256 + x];
  for (int y = 190; y < 198; y++)
    for (int x = 120; x < 136; x++)
      spine += input[y * 256 + x];
  g_assert_cmpfloat (air, <, spine);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/preprocess/clahe-uniform", test_clahe_uniform);
  g_test_add_func ("/preprocess/clahe-equalises", test_clahe_equalises);
  g_test_add_func ("/preprocess/clahe-interpolates", test_clahe_interpolates);
  g_test_add_func ("/preprocess/normalise-by-hand", test_normalise_by_hand);
  g_test_add_func ("/preprocess/fit", test_fit);
  g_test_add_func ("/preprocess/real-hu-slice", test_real_hu_slice);
  return g_test_run ();
}
