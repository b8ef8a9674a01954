/* Post-processing from the network's decisions to right and left lungs:
 * a drawn volume whose every voxel's answer is known, then CIP's real lung
 * mask of ct-64 against CIP's own right/left region labels. */
#include "pulmo-test.h"
#include "segment/postprocess.h"

enum { W = 40, H = 30, D = 20 };

#define AT(i, j, k) ((i) + (j) * W + (k) * W * H)

static void
fill_box (uint8_t *labels, int i0, int i1, int j0, int j1, int k0, int k1, uint8_t value)
{
  for (int k = k0; k <= k1; k++)
    for (int j = j0; j <= j1; j++)
      for (int i = i0; i <= i1; i++)
        labels[AT (i, j, k)] = value;
}

/* A volume on W × H × D voxels of 1 × 1 × 2 mm; @x_sign -1 stores it with i
 * running to the patient's left (LPS-like), +1 to the right. */
static PulmoVolume *
drawn_volume (int x_sign)
{
  PulmoAffine affine = { { { x_sign, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 2, 0 }, { 0, 0, 0, 1 } } };
  return pulmo_volume_new_int16 ((int[3]){ W, H, D }, &affine, g_new0 (int16_t, W * H * D));
}

/* Lung A at low i, lung B at high i, joined by a bridge two voxels thick; a
 * stray blob; a lesion big enough to keep in A and a speck in B; a hole in B. */
static uint8_t *
drawn_labels (gboolean bridge)
{
  uint8_t *labels = g_malloc0 (W * H * D);
  fill_box (labels, 3, 15, 5, 25, 2, 17, 6);
  fill_box (labels, 22, 36, 5, 25, 2, 17, 6);
  if (bridge)
    fill_box (labels, 16, 21, 14, 15, 2, 17, 6);
  fill_box (labels, 37, 39, 0, 2, 0, 2, 6);
  fill_box (labels, 5, 9, 8, 12, 5, 9, 3);
  fill_box (labels, 30, 31, 20, 20, 12, 12, 4);
  fill_box (labels, 28, 30, 18, 20, 8, 10, 0);
  return labels;
}

static void
count_values (const uint8_t *labels, gsize n, gsize counts[256])
{
  memset (counts, 0, 256 * sizeof *counts);
  for (gsize v = 0; v < n; v++)
    counts[labels[v]]++;
}

static void
check_drawn (int x_sign, gboolean bridge)
{
  g_autoptr (PulmoVolume) ct = drawn_volume (x_sign);
  g_autofree uint8_t *labels = drawn_labels (bridge);
  PulmoPostprocessOptions options;
  pulmo_postprocess_options_init (&options);
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_postprocess (ct, labels, &options, &error));
  g_assert_no_error (error);

  /* Lung B lies toward +i: the patient's right when i runs right. */
  uint8_t a = x_sign > 0 ? 2 : 1, b = x_sign > 0 ? 1 : 2;
  g_assert_cmpint (labels[AT (3, 5, 2)], ==, a);
  g_assert_cmpint (labels[AT (36, 25, 17)], ==, b);
  /* The bridge goes half to each side, split where the lungs meet. */
  if (bridge)
    {
      g_assert_cmpint (labels[AT (17, 14, 9)], ==, a);
      g_assert_cmpint (labels[AT (20, 15, 9)], ==, b);
    }
  g_assert_cmpint (labels[AT (38, 1, 1)], ==, 0);      /* the blob is gone */
  g_assert_cmpint (labels[AT (30, 20, 12)], ==, b);    /* the speck is lung */
  g_assert_cmpint (labels[AT (29, 19, 9)], ==, b);     /* the hole is filled */

  gsize counts[256];
  count_values (labels, W * H * D, counts);
  gsize box = 13 * 21 * 16, lesion = 5 * 5 * 5;
  g_assert_cmpuint (counts[3], ==, lesion);
  g_assert_cmpuint (counts[4], ==, 0);
  g_assert_cmpuint (counts[a] + counts[3], ==, box + (bridge ? 3 * 2 * 16 : 0));
  g_assert_cmpuint (counts[b], ==, 15 * 21 * 16 + (bridge ? 3 * 2 * 16 : 0));
  g_assert_cmpuint (counts[0] + counts[a] + counts[b] + counts[3], ==, W * H * D);
}

static void
test_drawn (void)
{
  for (int x_sign = -1; x_sign <= 1; x_sign += 2)
    for (int bridge = 0; bridge <= 1; bridge++)
      check_drawn (x_sign, bridge);
}

/* Only one lung in the scan: named by the side of the scan it lies on. */
static void
test_one_lung (void)
{
  for (int x_sign = -1; x_sign <= 1; x_sign += 2)
    {
      g_autoptr (PulmoVolume) ct = drawn_volume (x_sign);
      g_autofree uint8_t *labels = g_malloc0 (W * H * D);
      fill_box (labels, 3, 15, 5, 25, 2, 17, 6);
      PulmoPostprocessOptions options;
      pulmo_postprocess_options_init (&options);
      g_assert_true (pulmo_postprocess (ct, labels, &options, NULL));
      g_assert_cmpint (labels[AT (9, 15, 9)], ==, x_sign > 0 ? 2 : 1);
    }
}

/* CIP's lung mask of ct-64 (one value for both lungs, stored LPS), split by
 * post-processing, against the right and left thirds of CIP's region label
 * map lm-64 (region = value mod 256: 9–11 left thirds, 12–14 right). */
static void
test_cip_sides (void)
{
  g_autofree char *mask_path = pulmo_test_data ("cip-chest-ct/wholeLung-64.nii.gz");
  g_autofree char *regions_path = pulmo_test_data ("cip-chest-ct/lm-64.nii.gz");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) mask = pulmo_volume_load (mask_path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (PulmoVolume) regions = pulmo_volume_load (regions_path, NULL, NULL, &error);
  g_assert_no_error (error);
  int dims[3];
  pulmo_volume_get_dims (mask, dims);
  gsize n = pulmo_volume_get_n_voxels (mask);
  g_autofree uint8_t *labels = g_malloc (n);
  const int16_t *mask_values = pulmo_volume_get_int16 (mask);
  const int16_t *region_values = pulmo_volume_get_int16 (regions);
  g_assert_nonnull (mask_values);
  g_assert_nonnull (region_values);
  for (gsize v = 0; v < n; v++)
    labels[v] = mask_values[v] ? 6 : 0;

  PulmoPostprocessOptions options;
  pulmo_postprocess_options_init (&options);
  g_assert_true (pulmo_postprocess (mask, labels, &options, &error));
  g_assert_no_error (error);

  gsize agree = 0, compared = 0, in_mask = 0, in_labels = 0;
  for (gsize v = 0; v < n; v++)
    {
      int region = region_values[v] % 256;
      in_mask += mask_values[v] != 0;
      in_labels += labels[v] != 0;
      if (region >= 9 && region <= 14 && labels[v] != 0)
        {
          compared++;
          agree += labels[v] == (region >= 12 ? 1 : 2);
        }
    }
  g_test_message ("ct-64: %" G_GSIZE_FORMAT " mask voxels, %" G_GSIZE_FORMAT
                  " after post-processing; side agrees with CIP on %.2f %%",
                  in_mask, in_labels, 100.0 * agree / compared);
  g_assert_cmpuint (compared, >, in_mask * 9 / 10);
  g_assert_cmpfloat ((double) agree / compared, >=, 0.99);
  g_assert_cmpuint (in_labels, >=, in_mask * 98 / 100);
  g_assert_cmpuint (in_labels, <=, in_mask * 102 / 100);

  /* The same scan stored RAS (i and j reversed) gives the same anatomy. */
  g_autofree uint8_t *flipped = g_malloc (n);
  for (int k = 0; k < dims[2]; k++)
    for (int j = 0; j < dims[1]; j++)
      for (int i = 0; i < dims[0]; i++)
        flipped[(dims[0] - 1 - i) + (gsize) (dims[1] - 1 - j) * dims[0] + (gsize) k * dims[0] * dims[1]] =
          mask_values[i + (gsize) j * dims[0] + (gsize) k * dims[0] * dims[1]] ? 6 : 0;
  PulmoAffine ras = *pulmo_volume_get_affine (mask);
  for (int row = 0; row < 3; row++)
    for (int axis = 0; axis < 2; axis++)
      {
        ras.m[row][3] += ras.m[row][axis] * (dims[axis] - 1);
        ras.m[row][axis] = -ras.m[row][axis];
      }
  g_autoptr (PulmoVolume) ras_volume = pulmo_volume_new_int16 (dims, &ras, g_new0 (int16_t, n));
  g_assert_true (pulmo_postprocess (ras_volume, flipped, &options, &error));
  for (int k = 0; k < dims[2]; k++)
    for (int j = 0; j < dims[1]; j++)
      for (int i = 0; i < dims[0]; i++)
        g_assert_cmpint (flipped[(dims[0] - 1 - i) + (gsize) (dims[1] - 1 - j) * dims[0] +
                                 (gsize) k * dims[0] * dims[1]],
                         ==, labels[i + (gsize) j * dims[0] + (gsize) k * dims[0] * dims[1]]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/postprocess/drawn", test_drawn);
  g_test_add_func ("/postprocess/one-lung", test_one_lung);
  g_test_add_func ("/postprocess/cip-sides", test_cip_sides);
  return g_test_run ();
}
