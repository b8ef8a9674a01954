#include "fuzz-input.h"

#include <glib/gstdio.h>

char *
pulmo_fuzz_input_file (const guint8 *data, size_t size, const char *name)
{
  static char *folder;
  if (folder == NULL)
    {
      g_autoptr (GError) error = NULL;
      folder = g_dir_make_tmp ("pulmo-fuzz-XXXXXX", &error);
      g_assert_no_error (error);
    }
  char *path = g_build_filename (folder, name, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, size > 0 ? (const char *) data : "", (gssize) size, &error);
  g_assert_no_error (error);
  return path;
}

PulmoVolume *
pulmo_fuzz_small_ct (void)
{
  const int dims[3] = { 16, 16, 8 };
  const double spacing_mm[3] = { 1, 1, 1 };
  size_t n = (size_t) dims[0] * dims[1] * dims[2];
  int16_t *hu = g_new (int16_t, n);
  for (size_t i = 0; i < n; i++)
    hu[i] = -1000;
  PulmoAffine affine;
  pulmo_affine_from_spacing (&affine, spacing_mm);
  return pulmo_volume_new_int16 (dims, &affine, hu);
}
