/* Orientation codes and the reslice transforms that show every file the
 * radiological way, whatever its storage order. */
#include "core/geometry.h"

static PulmoAffine
diagonal (double x, double y, double z)
{
  PulmoAffine affine = { { { x, 0, 0, 10 }, { 0, y, 0, -20 }, { 0, 0, z, 30 }, { 0, 0, 0, 1 } } };
  return affine;
}

static void
test_orientation_codes (void)
{
  char code[4];
  PulmoAffine ras = diagonal (3, 3, 3), lps = diagonal (-4, -4, 4), las = diagonal (-0.75, 0.75, 2);
  pulmo_affine_orientation_code (&ras, code);
  g_assert_cmpstr (code, ==, "RAS");
  pulmo_affine_orientation_code (&lps, code);
  g_assert_cmpstr (code, ==, "LPS");
  pulmo_affine_orientation_code (&las, code);
  g_assert_cmpstr (code, ==, "LAS");

  /* Axes permuted: i runs inferior, j left, k anterior (a sagittal-stored file). */
  PulmoAffine permuted = { { { 0, -1, 0, 0 }, { 0, 0, 1, 0 }, { -1, 0, 0, 0 }, { 0, 0, 0, 1 } } };
  pulmo_affine_orientation_code (&permuted, code);
  g_assert_cmpstr (code, ==, "ILA");

  /* 40° oblique about z: still one distinct world axis per voxel axis. */
  double c = 0.766, s = 0.643;
  PulmoAffine oblique = { { { c, -s, 0, 0 }, { s, c, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 } } };
  pulmo_affine_orientation_code (&oblique, code);
  g_assert_cmpstr (code, ==, "RAS");
}

/* Whatever the storage order, screen u must run toward the patient's left and
 * screen v toward posterior (axial) or inferior (coronal, sagittal). */
static void
assert_radiological (const PulmoAffine *affine, const int dims[3])
{
  static const struct {
    int u_world, u_sign, v_world, v_sign;
  } expected[PULMO_N_VIEWS] = { { 0, -1, 1, -1 }, { 0, -1, 2, -1 }, { 1, -1, 2, -1 } };

  for (int view = 0; view < PULMO_N_VIEWS; view++)
    {
      PulmoReslice reslice;
      int a[3], b[3], c[3];
      double wa[3], wb[3], wc[3], da[3], db[3], dc[3];

      pulmo_reslice_init (&reslice, view, affine, dims);
      pulmo_reslice_to_voxel (&reslice, 0, 0, 1, a);
      pulmo_reslice_to_voxel (&reslice, 1, 0, 1, b);
      pulmo_reslice_to_voxel (&reslice, 0, 1, 1, c);
      for (int d = 0; d < 3; d++)
        {
          da[d] = a[d];
          db[d] = b[d];
          dc[d] = c[d];
        }
      pulmo_affine_apply (affine, da, wa);
      pulmo_affine_apply (affine, db, wb);
      pulmo_affine_apply (affine, dc, wc);
      g_assert_cmpfloat ((wb[expected[view].u_world] - wa[expected[view].u_world]) * expected[view].u_sign, >, 0);
      g_assert_cmpfloat ((wc[expected[view].v_world] - wa[expected[view].v_world]) * expected[view].v_sign, >, 0);

      /* And back again, for every display position of a small grid. */
      for (int u = 0; u < reslice.width; u++)
        for (int v = 0; v < reslice.height; v++)
          {
            int ijk[3], u2, v2, slice2;
            pulmo_reslice_to_voxel (&reslice, u, v, 2, ijk);
            for (int d = 0; d < 3; d++)
              g_assert_true (ijk[d] >= 0 && ijk[d] < dims[d]);
            pulmo_reslice_from_voxel (&reslice, ijk, &u2, &v2, &slice2);
            g_assert_cmpint (u2, ==, u);
            g_assert_cmpint (v2, ==, v);
            g_assert_cmpint (slice2, ==, 2);
          }
    }
}

static void
test_reslice_radiological (void)
{
  const int dims[3] = { 5, 6, 7 };
  PulmoAffine ras = diagonal (3, 3, 3), lps = diagonal (-4, -4, 4), las = diagonal (-0.75, 0.75, 2);
  PulmoAffine permuted = { { { 0, -1, 0, 0 }, { 0, 0, 1, 0 }, { -1, 0, 0, 0 }, { 0, 0, 0, 1 } } };

  assert_radiological (&ras, dims);
  assert_radiological (&lps, dims);
  assert_radiological (&las, dims);
  assert_radiological (&permuted, dims);
}

static void
test_reslice_sizes (void)
{
  const int dims[3] = { 64, 48, 30 };
  PulmoAffine las = diagonal (-0.75, 0.75, 2);
  PulmoReslice axial, coronal, sagittal;

  pulmo_reslice_init (&axial, PULMO_VIEW_AXIAL, &las, dims);
  pulmo_reslice_init (&coronal, PULMO_VIEW_CORONAL, &las, dims);
  pulmo_reslice_init (&sagittal, PULMO_VIEW_SAGITTAL, &las, dims);
  g_assert_cmpint (axial.width, ==, 64);
  g_assert_cmpint (axial.height, ==, 48);
  g_assert_cmpint (axial.n_slices, ==, 30);
  g_assert_cmpint (coronal.height, ==, 30);
  g_assert_cmpint (sagittal.width, ==, 48);
  g_assert_cmpfloat_with_epsilon (coronal.v_spacing_mm, 2.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (axial.u_spacing_mm, 0.75, 1e-12);
  /* LAS: i already runs to the patient's left, j anterior: only v is flipped. */
  g_assert_false (axial.u_flip);
  g_assert_true (axial.v_flip);
}

static void
test_affine_inverse (void)
{
  PulmoAffine affine = { { { -0.7, 0.1, 0.05, 172 }, { 0.02, 0.75, -0.1, -54 }, { 0, 0.2, 2, -346 }, { 0, 0, 0, 1 } } };
  PulmoAffine inverse, singular = diagonal (1, 0, 1);
  double p[3] = { 10, 20, 30 }, w[3], back[3];

  g_assert_true (pulmo_affine_invert (&affine, &inverse));
  pulmo_affine_apply (&affine, p, w);
  pulmo_affine_apply (&inverse, w, back);
  for (int d = 0; d < 3; d++)
    g_assert_cmpfloat_with_epsilon (back[d], p[d], 1e-9);
  g_assert_false (pulmo_affine_invert (&singular, &inverse));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/geometry/orientation-codes", test_orientation_codes);
  g_test_add_func ("/geometry/reslice-radiological", test_reslice_radiological);
  g_test_add_func ("/geometry/reslice-sizes", test_reslice_sizes);
  g_test_add_func ("/geometry/affine-inverse", test_affine_inverse);
  return g_test_run ();
}
