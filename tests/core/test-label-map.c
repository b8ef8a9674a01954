/* Label maps: loading any datatype onto the CT's grid, refusing a map from
 * another grid, and saving with exactly the CT's geometry, atomically.
 * Expected counts were read once with nibabel 5.0 from the same files. */
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/resource.h>
#include <nifti1.h>
#include <string.h>
#include <zlib.h>

#include "core/pulmo-error.h"
#include "core/pulmo-label-map.h"
#include "pulmo-test.h"

static PulmoLabelMap *
load_labels (PulmoVolume *ct, const char *relative, GError **error)
{
  g_autofree char *path = pulmo_test_data (relative);
  return pulmo_label_map_load (ct, path, NULL, NULL, error);
}

static void
test_float64_labels (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("totalsegmentator-example-ct/example_ct.nii.gz");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoLabelMap) map = load_labels (ct, "totalsegmentator-example-ct/example_seg_v2022_float64.nii.gz", &error);
  guint64 counts[256];

  g_assert_no_error (error);
  pulmo_label_map_count (map, counts);
  g_assert_cmpuint (counts[0], ==, 1039278);
  g_assert_cmpuint (counts[1], ==, 9677);
  g_assert_cmpuint (counts[14], ==, 1322);
  g_assert_cmpuint (counts[17], ==, 2659);
  g_assert_cmpuint (pulmo_label_map_get (map, 61, 50, 56), ==, 19);
  g_assert_cmpuint (pulmo_label_map_get (map, 60, 60, 105), ==, 5);
  /* Values beyond Pulmo's convention get an entry of their own. */
  const PulmoLabel *label = pulmo_label_table_get (pulmo_label_map_get_table (map), 104);
  g_assert_true (label->defined);
  g_assert_cmpstr (label->name, ==, "Label 104");
  /* Values in the convention keep its names. */
  g_assert_cmpstr (pulmo_label_table_get (pulmo_label_map_get_table (map), 3)->name, ==, "Ground-glass opacity");
}

static void
test_uint8_lung_mask_lps (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoLabelMap) map = load_labels (ct, "cip-chest-ct/wholeLung-64.nii.gz", &error);
  guint64 counts[256];

  g_assert_no_error (error);
  pulmo_label_map_count (map, counts);
  g_assert_cmpuint (counts[1], ==, 65624);
  g_assert_cmpuint (pulmo_label_map_get (map, 20, 30, 50), ==, 1);
  g_assert_cmpuint (pulmo_label_map_get (map, 32, 32, 40), ==, 0);
}

static void
test_grid_mismatch (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("totalsegmentator-example-ct/example_ct.nii.gz");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoLabelMap) map = load_labels (ct, "cip-chest-ct/wholeLung-64.nii.gz", &error);

  g_assert_null (map);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_GRID_MISMATCH);
  g_assert_nonnull (strstr (error->message, "64×64×79"));
  g_assert_nonnull (strstr (error->message, "122×101×112"));
}

/* Same dimensions, but the DICOM conversion's LAS grid is not ct-64's LPS grid
 * voxel for voxel: a label map from one must not be laid on the other. */
static void
test_grid_same_dims_other_position (void)
{
  g_autoptr (PulmoVolume) las = pulmo_test_load_ct ("dicom-series/cip-ct-64Dicom.dcm2niix.nii.gz");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoLabelMap) map = load_labels (las, "cip-chest-ct/wholeLung-64.nii.gz", &error);

  g_assert_null (map);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_GRID_MISMATCH);
  g_assert_nonnull (strstr (error->message, "mm away"));
}

static void
test_values_out_of_range (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoLabelMap) map = load_labels (ct, "cip-chest-ct/lm-64.nii.gz", &error);

  g_assert_null (map);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "0 to 255"));
}

/* Reads the raw NIfTI-1 header of a written file. */
static nifti_1_header
read_header (const char *path)
{
  nifti_1_header h;
  gzFile gz = gzopen (path, "rb");
  g_assert_nonnull (gz);
  g_assert_cmpint (gzread (gz, &h, sizeof h), ==, (int) sizeof h);
  gzclose (gz);
  return h;
}

static void
test_save_keeps_geometry (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoLabelMap) map = load_labels (ct, "cip-chest-ct/wholeLung-64.nii.gz", &error);
  g_autofree char *dir = g_dir_make_tmp ("pulmo-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "lungs.nii.gz", NULL);
  g_autofree char *ct_path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");

  /* Change a voxel so the round trip proves the new content is written. */
  pulmo_label_map_get_data_mutable (map)[0] = PULMO_LABEL_CONSOLIDATION;
  g_assert_true (pulmo_label_map_save (map, path, &error));
  g_assert_no_error (error);

  nifti_1_header saved = read_header (path), original = read_header (ct_path);
  g_assert_cmpint (saved.datatype, ==, NIFTI_TYPE_UINT8);
  g_assert_cmpint (saved.qform_code, ==, original.qform_code);
  g_assert_cmpint (saved.sform_code, ==, original.sform_code);
  for (int c = 0; c < 4; c++)
    {
      g_assert_cmpfloat_with_epsilon (saved.srow_x[c], original.srow_x[c], 1e-4);
      g_assert_cmpfloat_with_epsilon (saved.srow_y[c], original.srow_y[c], 1e-4);
      g_assert_cmpfloat_with_epsilon (saved.srow_z[c], original.srow_z[c], 1e-4);
    }
  g_assert_cmpfloat_with_epsilon (saved.quatern_b, original.quatern_b, 1e-5);
  g_assert_cmpfloat_with_epsilon (saved.quatern_c, original.quatern_c, 1e-5);
  g_assert_cmpfloat_with_epsilon (saved.quatern_d, original.quatern_d, 1e-5);
  g_assert_cmpfloat_with_epsilon (saved.qoffset_x, original.qoffset_x, 1e-4);
  g_assert_cmpfloat_with_epsilon (saved.pixdim[0], original.pixdim[0], 1e-6);

  g_autoptr (PulmoLabelMap) back = pulmo_label_map_load (ct, path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (pulmo_label_map_get_data (back), pulmo_volume_get_n_voxels (ct),
                   pulmo_label_map_get_data (map), pulmo_volume_get_n_voxels (ct));

  /* Nothing but the saved file is left in the folder: no temporary files. */
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (listing), ==, "lungs.nii.gz");
  g_assert_null (g_dir_read_name (listing));
  g_unlink (path);
  g_rmdir (dir);
}

/* A failed save leaves the previous file exactly as it was. */
static void
test_failed_save_keeps_previous (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  g_autoptr (GError) error = NULL;

  g_assert_false (pulmo_label_map_save (map, "/nonexistent-folder/labels.nii.gz", &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_IO);
  g_clear_error (&error);

  /* Fault injection: a file size limit makes the write fail half way, as a
   * full disk would. The file already there must survive untouched. */
  g_autofree char *dir = g_dir_make_tmp ("pulmo-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "labels.nii", NULL);
  struct rlimit saved_limit, small_limit;
  g_assert_true (g_file_set_contents (path, "previous", -1, NULL));
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved_limit), ==, 0);
  small_limit = saved_limit;
  small_limit.rlim_cur = 4096;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small_limit), ==, 0);
  gboolean saved = pulmo_label_map_save (map, path, &error);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved_limit), ==, 0);
  g_assert_false (saved);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_IO);

  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "previous");
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (listing), ==, "labels.nii");
  g_assert_null (g_dir_read_name (listing));
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_changed_signal (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  PulmoBox box = { { 1, 2, 3 }, { 4, 5, 6 } };

  g_assert_cmpuint (pulmo_label_map_get_revision (map), ==, 0);
  pulmo_label_map_changed (map, &box);
  g_assert_cmpuint (pulmo_label_map_get_revision (map), ==, 1);
  g_assert_cmpint (pulmo_label_map_get_dirty_box (map)->hi[2], ==, 6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/label-map/float64", test_float64_labels);
  g_test_add_func ("/label-map/uint8-lps", test_uint8_lung_mask_lps);
  g_test_add_func ("/label-map/grid-mismatch", test_grid_mismatch);
  g_test_add_func ("/label-map/grid-other-position", test_grid_same_dims_other_position);
  g_test_add_func ("/label-map/values-out-of-range", test_values_out_of_range);
  g_test_add_func ("/label-map/save-keeps-geometry", test_save_keeps_geometry);
  g_test_add_func ("/label-map/failed-save-keeps-previous", test_failed_save_keeps_previous);
  g_test_add_func ("/label-map/changed", test_changed_signal);
  return g_test_run ();
}
