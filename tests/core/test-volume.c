/* Loading real CT files: geometry, datatypes, scaling and known voxel values.
 * The expected values were read once with nibabel 5.0 (get_fdata) from the same
 * files in ../shared/data. */
#include <glib/gstdio.h>
#include <math.h>
#include <nifti1.h>
#include <nifti2.h>
#include <zlib.h>
#include <string.h>

#include "core/nifti-io.h"
#include "core/pulmo-error.h"
#include "core/pulmo-volume.h"
#include "pulmo-test.h"

typedef struct {
  int i, j, k;
  double value;
} KnownVoxel;

static PulmoVolume *
load_shared (const char *relative)
{
  g_autofree char *path = pulmo_test_data (relative);
  g_autoptr (GError) error = NULL;
  PulmoVolume *volume = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (volume);
  return volume;
}

static void
assert_voxels (PulmoVolume *volume, const KnownVoxel *known, size_t n)
{
  for (size_t v = 0; v < n; v++)
    g_assert_cmpfloat (pulmo_volume_get_value (volume, known[v].i, known[v].j, known[v].k), ==, known[v].value);
}

/* CIP ct-64: int16 HU stored LPS, sform and qform. */
static void
test_lps_int16 (void)
{
  static const KnownVoxel known[] = {
    { 0, 0, 0, -998 }, { 32, 32, 40, -327 }, { 20, 30, 50, -473 }, { 63, 63, 78, -887 }, { 10, 40, 30, -945 },
  };
  g_autoptr (PulmoVolume) volume = load_shared ("cip-chest-ct/ct-64.nii.gz");
  int dims[3];
  double min, max;

  pulmo_volume_get_dims (volume, dims);
  g_assert_cmpint (dims[0], ==, 64);
  g_assert_cmpint (dims[1], ==, 64);
  g_assert_cmpint (dims[2], ==, 79);
  g_assert_cmpstr (pulmo_volume_get_orientation (volume), ==, "LPS");
  g_assert_cmpfloat_with_epsilon (pulmo_volume_get_spacing (volume)[0], 4.171872, 1e-5);
  g_assert_cmpfloat_with_epsilon (pulmo_volume_get_spacing (volume)[2], 3.987342, 1e-5);
  g_assert_cmpfloat_with_epsilon (pulmo_volume_get_affine (volume)->m[0][3], 128.4138, 1e-3);
  g_assert_cmpfloat_with_epsilon (pulmo_volume_get_affine (volume)->m[2][3], -360.2563, 1e-3);
  g_assert_cmpint (pulmo_volume_get_voxel_type (volume), ==, PULMO_VOXEL_INT16);
  pulmo_volume_get_range (volume, &min, &max);
  g_assert_cmpfloat (min, ==, -1007);
  g_assert_cmpfloat (max, ==, 1095);
  g_assert_cmpint (pulmo_volume_get_intensity_kind (volume), ==, PULMO_INTENSITY_HU);
  assert_voxels (volume, known, G_N_ELEMENTS (known));
}

/* TotalSegmentator example: int32 HU, RAS, sform only (qform code 0). It must
 * be stored as int16 (exact), not cost twice the memory. */
static void
test_ras_int32_sform_only (void)
{
  static const KnownVoxel known[] = {
    { 0, 0, 0, -1023 }, { 61, 50, 56, 164 }, { 100, 20, 100, -116 }, { 121, 100, 111, -997 }, { 30, 70, 10, -69 },
  };
  g_autoptr (PulmoVolume) volume = load_shared ("totalsegmentator-example-ct/example_ct.nii.gz");
  const PulmoAffine *affine = pulmo_volume_get_affine (volume);

  g_assert_cmpstr (pulmo_volume_get_orientation (volume), ==, "RAS");
  g_assert_cmpstr (pulmo_volume_get_source_datatype (volume), ==, "int32");
  g_assert_cmpint (pulmo_volume_get_voxel_type (volume), ==, PULMO_VOXEL_INT16);
  g_assert_cmpuint (pulmo_volume_get_memory_bytes (volume), ==, 122 * 101 * 112 * sizeof (int16_t));
  /* The sform, since the qform code is 0. */
  g_assert_cmpfloat_with_epsilon (affine->m[0][0], 3.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (affine->m[0][3], -177.9563, 1e-3);
  g_assert_cmpfloat_with_epsilon (affine->m[1][3], 11.319, 1e-3);
  g_assert_cmpfloat_with_epsilon (affine->m[2][3], 94.3018, 1e-3);
  assert_voxels (volume, known, G_N_ELEMENTS (known));
}

static void
test_las_sample (void)
{
  static const KnownVoxel known[] = { { 128, 128, 74, 45 }, { 60, 120, 50, -914 }, { 200, 100, 100, -322 }, { 0, 0, 0, -1024 } };
  g_autoptr (PulmoVolume) volume = load_shared ("covid-ct-md/P001-256.nii.gz");
  g_assert_cmpstr (pulmo_volume_get_orientation (volume), ==, "LAS");
  assert_voxels (volume, known, G_N_ELEMENTS (known));
}

/* The same CT stored LPS (ct-64) and LAS (dcm2niix of its DICOM series): every
 * world point must hold the same HU in both. */
static void
test_same_anatomy_two_orders (void)
{
  g_autoptr (PulmoVolume) lps = load_shared ("cip-chest-ct/ct-64.nii.gz");
  g_autoptr (PulmoVolume) las = load_shared ("dicom-series/cip-ct-64Dicom.dcm2niix.nii.gz");
  PulmoAffine to_las;
  int dims[3];

  g_assert_cmpstr (pulmo_volume_get_orientation (las), ==, "LAS");
  g_assert_true (pulmo_affine_invert (pulmo_volume_get_affine (las), &to_las));
  pulmo_volume_get_dims (lps, dims);
  for (int k = 0; k < dims[2]; k += 7)
    for (int j = 0; j < dims[1]; j += 5)
      for (int i = 0; i < dims[0]; i += 3)
        {
          double ijk[3] = { i, j, k }, world[3], other[3];
          pulmo_affine_apply (pulmo_volume_get_affine (lps), ijk, world);
          pulmo_affine_apply (&to_las, world, other);
          int oi = (int) lround (other[0]), oj = (int) lround (other[1]), ok = (int) lround (other[2]);
          g_assert_cmpfloat (fabs (other[0] - oi) + fabs (other[1] - oj) + fabs (other[2] - ok), <, 0.01);
          g_assert_cmpfloat (pulmo_volume_get_value (las, oi, oj, ok), ==, pulmo_volume_get_value (lps, i, j, k));
        }
}

static void
test_prewindowed_8bit (void)
{
  g_autoptr (PulmoVolume) volume = load_shared ("covid-2d-train/imagesTr/medseg_000_0000.nii.gz");
  g_assert_cmpstr (pulmo_volume_get_source_datatype (volume), ==, "uint8");
  g_assert_cmpint (pulmo_volume_get_intensity_kind (volume), ==, PULMO_INTENSITY_PREWINDOWED_8BIT);
}

/* ---- Files written here by hand: NIfTI-2, .hdr/.img pairs, scaling, floats ---- */

static void
write_bytes (const char *path, const void *a, size_t a_size, const void *b, size_t b_size)
{
  FILE *file = fopen (path, "wb");
  g_assert_nonnull (file);
  g_assert_cmpuint (fwrite (a, 1, a_size, file), ==, a_size);
  if (b_size > 0)
    g_assert_cmpuint (fwrite (b, 1, b_size, file), ==, b_size);
  g_assert_cmpint (fclose (file), ==, 0);
}

static nifti_1_header
header1 (int nx, int ny, int nz, int datatype, int bitpix, const char magic[4])
{
  nifti_1_header h;
  memset (&h, 0, sizeof h);
  h.sizeof_hdr = 348;
  h.dim[0] = 3;
  h.dim[1] = (short) nx;
  h.dim[2] = (short) ny;
  h.dim[3] = (short) nz;
  h.dim[4] = h.dim[5] = h.dim[6] = h.dim[7] = 1;
  h.pixdim[0] = -1; /* qfac */
  h.pixdim[1] = 0.8f;
  h.pixdim[2] = 0.8f;
  h.pixdim[3] = 2.5f;
  h.datatype = (short) datatype;
  h.bitpix = (short) bitpix;
  h.vox_offset = 352;
  h.scl_slope = 1;
  h.qform_code = 1;
  h.quatern_b = 0; /* with qfac -1: i→x, j→y, k→-z */
  h.qoffset_x = 5;
  memcpy (h.magic, magic, 4);
  return h;
}

static void
test_hdr_img_pair_big_endian (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pulmo-test-XXXXXX", NULL);
  g_autofree char *hdr_path = g_build_filename (dir, "pair.hdr", NULL);
  g_autofree char *img_path = g_build_filename (dir, "pair.img", NULL);
  int16_t voxels[4 * 3 * 2];
  nifti_1_header h = header1 (4, 3, 2, NIFTI_TYPE_INT16, 16, "ni1");

  h.vox_offset = 0;
  for (int v = 0; v < 24; v++)
    voxels[v] = (int16_t) GUINT16_TO_BE ((guint16) (int16_t) (v * 100 - 1000));
  /* Whole header to big-endian, as a workstation of another byte order wrote it. */
  nifti_1_header be = h;
  be.sizeof_hdr = (int) GUINT32_SWAP_LE_BE ((guint32) h.sizeof_hdr);
  for (int d = 0; d < 8; d++)
    {
      be.dim[d] = (short) GUINT16_SWAP_LE_BE ((guint16) h.dim[d]);
      guint32 bits;
      memcpy (&bits, &h.pixdim[d], 4);
      bits = GUINT32_SWAP_LE_BE (bits);
      memcpy (&be.pixdim[d], &bits, 4);
    }
  be.datatype = (short) GUINT16_SWAP_LE_BE ((guint16) h.datatype);
  be.bitpix = (short) GUINT16_SWAP_LE_BE ((guint16) h.bitpix);
  be.qform_code = (short) GUINT16_SWAP_LE_BE ((guint16) h.qform_code);
  guint32 bits;
  memcpy (&bits, &h.scl_slope, 4);
  bits = GUINT32_SWAP_LE_BE (bits);
  memcpy (&be.scl_slope, &bits, 4);
  memcpy (&bits, &h.qoffset_x, 4);
  bits = GUINT32_SWAP_LE_BE (bits);
  memcpy (&be.qoffset_x, &bits, 4);
  be.vox_offset = 0;
  write_bytes (hdr_path, &be, sizeof be, NULL, 0);
  write_bytes (img_path, voxels, sizeof voxels, NULL, 0);

  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) volume = pulmo_volume_load (hdr_path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (pulmo_volume_get_value (volume, 0, 0, 0), ==, -1000);
  g_assert_cmpfloat (pulmo_volume_get_value (volume, 3, 2, 1), ==, 23 * 100 - 1000);
  g_assert_cmpfloat_with_epsilon (pulmo_volume_get_spacing (volume)[2], 2.5, 1e-6);
  /* qfac -1 flips k: stored R A I. */
  g_assert_cmpstr (pulmo_volume_get_orientation (volume), ==, "RAI");
  g_assert_cmpfloat_with_epsilon (pulmo_volume_get_affine (volume)->m[0][3], 5.0, 1e-6);

  g_unlink (hdr_path);
  g_unlink (img_path);
  g_rmdir (dir);
}

static void
test_nifti2_float64_scaled (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pulmo-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "two.nii", NULL);
  nifti_2_header h;
  double voxels[5 * 4 * 3];

  memset (&h, 0, sizeof h);
  h.sizeof_hdr = 540;
  memcpy (h.magic, "n+2\0\r\n\032\n", 8);
  h.dim[0] = 3;
  h.dim[1] = 5;
  h.dim[2] = 4;
  h.dim[3] = 3;
  h.dim[4] = h.dim[5] = h.dim[6] = h.dim[7] = 1;
  h.pixdim[1] = h.pixdim[2] = h.pixdim[3] = 1.5;
  h.datatype = NIFTI_TYPE_FLOAT64;
  h.bitpix = 64;
  h.vox_offset = 544;
  h.scl_slope = 2.0;
  h.scl_inter = -1024.0;
  h.sform_code = 2;
  h.srow_x[0] = -1.5;
  h.srow_y[1] = -1.5;
  h.srow_z[2] = 1.5;
  for (int v = 0; v < 60; v++)
    voxels[v] = v + 0.25; /* 2 * (v + 0.25) - 1024: not an integer → float32 storage */
  char pad[4] = { 0 };
  g_autofree char *bytes = g_malloc (sizeof h + 4);
  memcpy (bytes, &h, sizeof h);
  memcpy (bytes + sizeof h, pad, 4);
  write_bytes (path, bytes, sizeof h + 4, voxels, sizeof voxels);

  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) volume = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pulmo_volume_get_voxel_type (volume), ==, PULMO_VOXEL_FLOAT32);
  g_assert_cmpstr (pulmo_volume_get_orientation (volume), ==, "LPS");
  g_assert_cmpfloat_with_epsilon (pulmo_volume_get_value (volume, 4, 3, 2), 2.0 * 59.25 - 1024.0, 1e-4);
  g_assert_cmpfloat_with_epsilon (pulmo_volume_get_value (volume, 0, 0, 0), 2.0 * 0.25 - 1024.0, 1e-4);
  g_unlink (path);
  g_rmdir (dir);
}

/* uint16 stored with scl_inter = -1024, as dcm2niix writes many scanners' CT:
 * the HU must be applied and the volume kept as int16. */
static void
test_uint16_with_intercept (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pulmo-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "u16.nii.gz", NULL);
  nifti_1_header h = header1 (6, 5, 4, NIFTI_TYPE_UINT16, 16, "n+1");
  uint16_t voxels[120];

  h.scl_inter = -1024;
  for (int v = 0; v < 120; v++)
    voxels[v] = (uint16_t) (v * 30);
  /* Compressed, with the 4-byte extension block. */
  gzFile gz = gzopen (path, "wb");
  char pad[4] = { 0 };
  gzwrite (gz, &h, sizeof h);
  gzwrite (gz, pad, 4);
  gzwrite (gz, voxels, sizeof voxels);
  g_assert_cmpint (gzclose (gz), ==, Z_OK);

  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) volume = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pulmo_volume_get_voxel_type (volume), ==, PULMO_VOXEL_INT16);
  g_assert_cmpfloat (pulmo_volume_get_value (volume, 0, 0, 0), ==, -1024);
  g_assert_cmpfloat (pulmo_volume_get_value (volume, 5, 4, 3), ==, 119 * 30 - 1024);
  g_unlink (path);
  g_rmdir (dir);
}

/* A volume written by Pulmo reads back bit for bit, with its geometry. */
static void
test_save_round_trip (void)
{
  g_autoptr (PulmoVolume) ct = load_shared ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *dir = g_dir_make_tmp ("pulmo-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "copy.nii.gz", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (pulmo_volume_save (ct, path, &error));
  g_assert_no_error (error);
  g_autoptr (PulmoVolume) copy = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (pulmo_volume_get_int16 (copy), pulmo_volume_get_memory_bytes (copy),
                   pulmo_volume_get_int16 (ct), pulmo_volume_get_memory_bytes (ct));
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 4; c++)
      g_assert_cmpfloat_with_epsilon (pulmo_volume_get_affine (copy)->m[r][c],
                                      pulmo_volume_get_affine (ct)->m[r][c], 1e-4);
  g_unlink (path);
  g_rmdir (dir);
}

/* The whole-file inflate (libdeflate) and zlib's streaming give the same voxels:
 * ct-64.nii.gz takes the first; the same bytes split into two gzip members, whose
 * last ISIZE does not match the header, the second; uncompressed, neither. */
static void
test_inflate_whole_and_streamed (void)
{
  g_autofree char *source = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *dir = g_dir_make_tmp ("pulmo-test-XXXXXX", NULL);
  g_autofree char *members = g_build_filename (dir, "members.nii.gz", NULL);
  g_autofree char *plain = g_build_filename (dir, "plain.nii", NULL);
  g_autoptr (GError) error = NULL;
  PulmoNiftiHeader header;

  g_assert_true (pulmo_nifti_read_header (source, &header, &error));
  g_autofree int16_t *whole = pulmo_nifti_inflate_all (&header);
  g_assert_nonnull (whole);
  g_assert_cmpint (whole[(40 * 64 + 32) * 64 + 32], ==, -327);
  size_t file_bytes = (size_t) header.data_offset + header.n_voxels * 2;
  pulmo_nifti_header_clear (&header);

  g_autofree char *bytes = g_malloc (file_bytes);
  gzFile in = gzopen (source, "rb");
  g_assert_cmpint (gzread (in, bytes, (unsigned) file_bytes), ==, (int) file_bytes);
  gzclose (in);
  for (int m = 0; m < 2; m++)
    {
      gzFile out = gzopen (members, m == 0 ? "wb" : "ab");
      size_t from = m == 0 ? 0 : 1000, to = m == 0 ? 1000 : file_bytes;
      g_assert_cmpint (gzwrite (out, bytes + from, (unsigned) (to - from)), ==, (int) (to - from));
      gzclose (out);
    }
  g_assert_true (g_file_set_contents (plain, bytes, (gssize) file_bytes, &error));

  const char *copies[] = { members, plain };
  for (size_t c = 0; c < G_N_ELEMENTS (copies); c++)
    {
      g_assert_true (pulmo_nifti_read_header (copies[c], &header, &error));
      g_assert_null (pulmo_nifti_inflate_all (&header));
      pulmo_nifti_header_clear (&header);
      g_autoptr (PulmoVolume) streamed = pulmo_volume_load (copies[c], NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (pulmo_volume_get_int16 (streamed), pulmo_volume_get_memory_bytes (streamed), whole,
                       (size_t) 64 * 64 * 79 * 2);
      g_unlink (copies[c]);
    }
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/volume/lps-int16", test_lps_int16);
  g_test_add_func ("/volume/ras-int32-sform-only", test_ras_int32_sform_only);
  g_test_add_func ("/volume/las-sample", test_las_sample);
  g_test_add_func ("/volume/same-anatomy-two-orders", test_same_anatomy_two_orders);
  g_test_add_func ("/volume/prewindowed-8bit", test_prewindowed_8bit);
  g_test_add_func ("/volume/hdr-img-big-endian", test_hdr_img_pair_big_endian);
  g_test_add_func ("/volume/nifti2-float64-scaled", test_nifti2_float64_scaled);
  g_test_add_func ("/volume/uint16-intercept", test_uint16_with_intercept);
  g_test_add_func ("/volume/save-round-trip", test_save_round_trip);
  g_test_add_func ("/volume/inflate-whole-and-streamed", test_inflate_whole_and_streamed);
  return g_test_run ();
}
