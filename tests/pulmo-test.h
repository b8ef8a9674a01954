/* pulmo-test.h: what every Pulmo test needs to find the shared CT data. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

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

/* Removes @path and everything under it (a test's temporary folder). */
static inline void
pulmo_test_remove_tree (const char *path)
{
  GDir *listing = g_dir_open (path, 0, NULL);
  for (const char *name; listing != NULL && (name = g_dir_read_name (listing)) != NULL;)
    {
      char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        pulmo_test_remove_tree (child);
      else
        g_unlink (child);
      g_free (child);
    }
  if (listing != NULL)
    g_dir_close (listing);
  g_rmdir (path);
}
