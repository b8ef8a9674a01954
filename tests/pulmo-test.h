/* pulmo-test.h: what every Pulmo test needs to find the shared CT data. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "core/pulmo-volume.h"

/* The bytes of the file at @path (which must be readable), and their count
 * in @size unless NULL. */
static inline char *
pulmo_test_read_file (const char *path, gsize *size)
{
  char *bytes = NULL;
  g_assert_true (g_file_get_contents (path, &bytes, size, NULL));
  return bytes;
}

/* The files at @a and @b hold the same bytes. */
static inline void
pulmo_test_assert_files_equal (const char *a, const char *b)
{
  gsize a_size, b_size;
  g_autofree char *a_bytes = pulmo_test_read_file (a, &a_size);
  g_autofree char *b_bytes = pulmo_test_read_file (b, &b_size);
  g_assert_cmpmem (a_bytes, a_size, b_bytes, b_size);
}

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

/* The CT at @relative inside ../shared/data, loaded or the test fails. */
static inline PulmoVolume *
pulmo_test_load_ct (const char *relative)
{
  char *path = pulmo_test_data (relative);
  GError *error = NULL;
  PulmoVolume *ct = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_free (path);
  return ct;
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

/* A dataset folder @dir/dataset of symbolic links to the covid-2d-train
 * cases @cases (NULL-terminated), with that dataset's dataset.json counting
 * them; returns its path. */
static inline char *
pulmo_test_link_dataset (const char *dir, const char *const *cases)
{
  char *source = pulmo_test_data ("covid-2d-train");
  char *dataset = g_build_filename (dir, "dataset", NULL);
  int n = 0;
  for (; cases[n] != NULL; n++)
    for (int sub = 0; sub < 2; sub++)
      {
        char *folder = g_build_filename (dataset, sub ? "labelsTr" : "imagesTr", NULL);
        char *name = g_strconcat (cases[n], sub ? ".nii.gz" : "_0000.nii.gz", NULL);
        char *target = g_build_filename (source, sub ? "labelsTr" : "imagesTr", name, NULL);
        char *link = g_build_filename (folder, name, NULL);
        g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
        g_assert_cmpint (symlink (target, link), ==, 0);
        g_free (folder);
        g_free (name);
        g_free (target);
        g_free (link);
      }
  char *json_source = g_build_filename (source, "dataset.json", NULL);
  char *json = NULL;
  g_assert_true (g_file_get_contents (json_source, &json, NULL, NULL));
  GRegex *count = g_regex_new ("\"numTraining\": *[0-9]+", 0, 0, NULL);
  char *replacement = g_strdup_printf ("\"numTraining\": %d", n);
  char *counted = g_regex_replace_literal (count, json, -1, 0, replacement, 0, NULL);
  char *json_dest = g_build_filename (dataset, "dataset.json", NULL);
  g_assert_true (g_file_set_contents (json_dest, counted, -1, NULL));
  g_free (json_dest);
  g_free (counted);
  g_free (replacement);
  g_regex_unref (count);
  g_free (json);
  g_free (json_source);
  g_free (source);
  return dataset;
}
