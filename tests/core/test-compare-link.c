/* Two scans of one patient on different grids (COVID-CT-MD's P001 at 512×512
 * and its 2×2 block mean at 256×256) are linked by world position: a voxel of
 * one maps onto the other's voxel of the same place, and back. */
#include <math.h>
#include <stdlib.h>

#include "pulmo-test.h"
#include "core/geometry.h"

static void
test_link (void)
{
  g_autoptr (PulmoVolume) full = pulmo_test_load_ct ("covid-ct-md/P001.nii.gz");
  g_autoptr (PulmoVolume) half = pulmo_test_load_ct ("covid-ct-md/P001-256.nii.gz");
  int full_dims[3], half_dims[3], at[3], back[3];
  pulmo_volume_get_dims (full, full_dims);
  pulmo_volume_get_dims (half, half_dims);
  const PulmoAffine *full_affine = pulmo_volume_get_affine (full), *half_affine = pulmo_volume_get_affine (half);

  /* Full voxels 2g and 2g + 1 are averaged into half voxel g: their centres lie ¼ voxel either side. */
  const int right_lower_lobe[3] = { 101, 300, 40 };
  g_assert_true (pulmo_affine_map_voxel (full_affine, right_lower_lobe, NULL, half_affine, half_dims, at));
  g_assert_cmpint (at[0], ==, 50);
  g_assert_cmpint (at[1], ==, 150);
  g_assert_cmpint (at[2], ==, 40);
  /* Same place, same tissue: the half voxel is the mean of the four full voxels it covers. */
  double mean = 0;
  for (int dj = 0; dj < 2; dj++)
    for (int di = 0; di < 2; di++)
      mean += pulmo_volume_get_value (full, 2 * at[0] + di, 2 * at[1] + dj, at[2]) / 4;
  g_assert_cmpfloat (fabs (mean - pulmo_volume_get_value (half, at[0], at[1], at[2])), <=, 0.5);
  /* Back onto the full grid: within one full voxel of where it started. */
  g_assert_true (pulmo_affine_map_voxel (half_affine, at, NULL, full_affine, full_dims, back));
  for (int a = 0; a < 3; a++)
    g_assert_cmpint (abs (back[a] - right_lower_lobe[a]), <=, 1);

  /* Every voxel of the half grid lands inside the full one; a point beyond it does not. */
  const int corner[3] = { half_dims[0] - 1, half_dims[1] - 1, half_dims[2] - 1 };
  g_assert_true (pulmo_affine_map_voxel (half_affine, corner, NULL, full_affine, full_dims, back));
  const int outside[3] = { -3, 0, 0 };
  g_assert_false (pulmo_affine_map_voxel (full_affine, outside, NULL, half_affine, half_dims, at));
  /* … and is clamped onto the grid's edge. */
  g_assert_cmpint (at[0], ==, 0);

  /* A shift moves the point in world mm: 10 mm superior is round(10 / slice
   * spacing) slices along k, the axis nearest S–I, and nothing across the slice. */
  const double *full_spacing = pulmo_volume_get_spacing (full);
  const double shift[3] = { 0, 0, 10.0 };
  int shifted[3];
  g_assert_true (pulmo_affine_map_voxel (full_affine, right_lower_lobe, shift, full_affine, full_dims, shifted));
  g_assert_cmpint (shifted[0], ==, right_lower_lobe[0]);
  g_assert_cmpint (shifted[1], ==, right_lower_lobe[1]);
  g_assert_cmpint (abs (shifted[2] - right_lower_lobe[2]), ==, (int) floor (10.0 / full_spacing[2] + 0.5));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/compare/link-by-world", test_link);
  return g_test_run ();
}
