/* DICOM folders through dcm2niix: the CIP series converts to the same CT as
 * cip-chest-ct/ct-64 (flipped along j, PROVENANCE.md), the temporary files go
 * away, and a missing dcm2niix or an empty folder gives a clear error. */
#include <glib/gstdio.h>

#include "core/dicom-import.h"
#include "core/pulmo-error.h"
#include "pulmo-test.h"

static gboolean
have_dcm2niix (void)
{
  g_autofree char *program = g_find_program_in_path ("dcm2niix");
  return program != NULL;
}

static int
count_conversion_folders (void)
{
  g_autoptr (GDir) dir = g_dir_open (g_get_tmp_dir (), 0, NULL);
  int n = 0;
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    n += g_str_has_prefix (name, "pulmo-dicom-");
  return n;
}

static void
test_cip_series (void)
{
  if (!have_dcm2niix ())
    {
      g_test_skip ("dcm2niix is not installed");
      return;
    }
  g_autofree char *folder = pulmo_test_data ("dicom-series/cip-ct-64Dicom");
  g_autofree char *nifti = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  int folders_before = count_conversion_folders ();
  PulmoProgress progress = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) dicom = pulmo_dicom_import (folder, &progress, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (PulmoVolume) reference = pulmo_volume_load (nifti, NULL, NULL, &error);
  g_assert_no_error (error);

  int dims[3];
  pulmo_volume_get_dims (dicom, dims);
  g_assert_cmpint (dims[0], ==, 64);
  g_assert_cmpint (dims[1], ==, 64);
  g_assert_cmpint (dims[2], ==, 79);
  for (int k = 0; k < 79; k += 6)
    for (int j = 0; j < 64; j += 3)
      for (int i = 0; i < 64; i += 3)
        g_assert_cmpfloat (pulmo_volume_get_value (dicom, i, 63 - j, k), ==,
                           pulmo_volume_get_value (reference, i, j, k));
  g_assert_cmpint (count_conversion_folders (), ==, folders_before);
}

static void
test_no_series (void)
{
  if (!have_dcm2niix ())
    {
      g_test_skip ("dcm2niix is not installed");
      return;
    }
  g_autofree char *empty = g_dir_make_tmp ("pulmo-empty-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  PulmoVolume *volume = pulmo_dicom_import (empty, NULL, NULL, &error);
  g_assert_null (volume);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, empty));
  g_rmdir (empty);
}

static void
test_missing_dcm2niix (void)
{
  g_autofree char *folder = pulmo_test_data ("dicom-series/cip-ct-64Dicom");
  g_autofree char *old_path = g_strdup (g_getenv ("PATH"));
  g_autofree char *nowhere = g_dir_make_tmp ("pulmo-path-XXXXXX", NULL);
  g_setenv ("PATH", nowhere, TRUE);
  g_autoptr (GError) error = NULL;
  PulmoVolume *volume = pulmo_dicom_import (folder, NULL, NULL, &error);
  g_setenv ("PATH", old_path, TRUE);
  g_rmdir (nowhere);
  g_assert_null (volume);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_MISSING_TOOL);
  g_assert_nonnull (strstr (error->message, "dcm2niix"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dicom-import/cip-series", test_cip_series);
  g_test_add_func ("/dicom-import/no-series", test_no_series);
  g_test_add_func ("/dicom-import/missing-dcm2niix", test_missing_dcm2niix);
  return g_test_run ();
}
