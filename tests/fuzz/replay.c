/* replay.c: every file of a fuzz target's corpus (tests/fuzz/corpus/TARGET/)
 * through the target's pulmo_fuzz_one, with any compiler. A file NAME with a
 * NAME.error beside it (a crash the fuzzer found, now refused) must fail with
 * a message that contains that file's first line. */
#include <locale.h>
#include <string.h>

#include "fuzz-target.h"

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
replay_file (gconstpointer data)
{
  const char *path = data;
  g_autofree char *contents = NULL;
  gsize size = 0;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (path, &contents, &size, &error);
  g_assert_no_error (error);

  g_autofree char *expected_path = g_strconcat (path, ".error", NULL);
  g_autofree char *expected = NULL;
  gboolean ok = pulmo_fuzz_one ((const guint8 *) contents, size, &error);
  if (g_file_get_contents (expected_path, &expected, NULL, NULL))
    {
      g_strchomp (expected);
      g_assert_false (ok);
      g_assert_nonnull (error);
      if (strstr (error->message, expected) == NULL)
        g_error ("%s: the error was \"%s\", not one with \"%s\"", path, error->message, expected);
    }
  else if (!ok)
    g_assert (error != NULL && error->message[0] != '\0');
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);
  g_assert (argc == 2);
  g_autoptr (GDir) dir = g_dir_open (argv[1], 0, NULL);
  g_assert_nonnull (dir);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    if (!g_str_has_suffix (name, ".error"))
      g_ptr_array_add (names, g_strdup (name));
  g_assert_cmpuint (names->len, >, 0);
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      const char *file = g_ptr_array_index (names, i);
      g_autofree char *test = g_strconcat ("/fuzz/", file, NULL);
      g_test_add_data_func_full (test, g_build_filename (argv[1], file, NULL), replay_file, g_free);
    }
  return g_test_run ();
}
