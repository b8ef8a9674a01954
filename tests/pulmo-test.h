/* pulmo-test.h: what every Pulmo test needs to find the shared CT data. */
#pragma once

#include <glib.h>

/* Path of @relative inside ../shared/data (PULMO_DATA_DIR, set by meson test). */
static inline char *
pulmo_test_data (const char *relative)
{
  const char *root = g_getenv ("PULMO_DATA_DIR");
  if (root == NULL)
    g_error ("PULMO_DATA_DIR is not set: run the tests through `meson test`");
  char *path = g_build_filename (root, relative, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    g_error ("test data %s is missing: the tests read the shared CT data in ../shared/data", path);
  return path;
}
