/* ITK-SNAP label descriptions: names, colours and visibility read from the
 * text ITK-SNAP exports, every malformed line refused with its line number,
 * and a description applied to a real label map (wholeLung-64 on ct-64). */
#include <glib/gstdio.h>
#include <string.h>

#include "core/label-description.h"
#include "core/pulmo-error.h"
#include "core/pulmo-label-map.h"
#include "pulmo-test.h"

typedef struct {
  char *dir;
} Scratch;

static void
scratch_setup (Scratch *s, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  s->dir = g_dir_make_tmp ("pulmo-label-description-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
scratch_teardown (Scratch *s, gconstpointer data)
{
  g_autoptr (GDir) dir = g_dir_open (s->dir, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (s->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (s->dir);
  g_free (s->dir);
}

static char *
write_file (Scratch *s, const char *contents, gssize length)
{
  char *path = g_build_filename (s->dir, "labels.txt", NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, contents, length, &error);
  g_assert_no_error (error);
  return path;
}

/* As ITK-SNAP writes it, with a Windows line end and tabs thrown in. */
static const char itk_snap_export[] =
  "################################################\n"
  "# ITK-SnAP Label Description File\n"
  "# File format: \n"
  "# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL\n"
  "# Fields: \n"
  "#    IDX:   Zero-based index \n"
  "################################################\n"
  "    0     0    0    0        0  0  0    \"Clear Label\"\n"
  "    1   255    0    0        1  1  1    \"Lungs, both\"\r\n"
  "\t3\t0\t255\t0\t0.5\t0\t1\t\"Ground glass\"\n"
  "\n"
  "  255    10   20   30        1  1  0    \"\"\n";

static void
test_itk_snap_export (Scratch *s, gconstpointer data)
{
  g_autofree char *path = write_file (s, itk_snap_export, -1);
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoLabelTable) table = pulmo_label_description_load (path, &error);
  g_assert_no_error (error);

  uint8_t values[256];
  g_assert_cmpint (pulmo_label_table_list (table, values), ==, 3);
  g_assert_cmpuint (values[0], ==, 1);
  g_assert_cmpuint (values[1], ==, 3);
  g_assert_cmpuint (values[2], ==, 255);

  const PulmoLabel *lungs = pulmo_label_table_get (table, 1);
  g_assert_cmpstr (lungs->name, ==, "Lungs, both");
  g_assert_cmpmem (lungs->rgba, 4, ((const uint8_t[4]) { 255, 0, 0, 255 }), 4);
  g_assert_true (lungs->visible);
  const PulmoLabel *ground_glass = pulmo_label_table_get (table, 3);
  g_assert_cmpstr (ground_glass->name, ==, "Ground glass");
  g_assert_cmpmem (ground_glass->rgba, 4, ((const uint8_t[4]) { 0, 255, 0, 128 }), 4);
  g_assert_false (ground_glass->visible);
  g_assert_cmpstr (pulmo_label_table_get (table, 255)->name, ==, "");
  g_assert_false (pulmo_label_table_get (table, 2)->defined);
  /* Value 0 stays Pulmo's background whatever the file calls it. */
  g_assert_cmpstr (pulmo_label_table_get (table, 0)->name, ==, "Background");
}

typedef struct {
  const char *line;
  const char *says;
} BadLine;

/* Each bad line is refused with the file's name, its line number and what is wrong. */
static void
test_bad_lines (Scratch *s, gconstpointer data)
{
  static const BadLine bad[] = {
    { "1 255 0 0 1 1 1 Lungs", "double quotes" },
    { "1 255 0 0 1 1 1 \"Lungs", "double quotes" },
    { "1 255 0 0 1 1 \"Lungs\"", "6 numbers" },
    { "1 255 0 0 1 1 1 1 \"Lungs\"", "more than seven" },
    { "256 255 0 0 1 1 1 \"Lungs\"", "the value “256”" },
    { "-1 255 0 0 1 1 1 \"Lungs\"", "the value “-1”" },
    { "1 300 0 0 1 1 1 \"Lungs\"", "red “300”" },
    { "1 255 0 0x10 1 1 1 \"Lungs\"", "blue “0x10”" },
    { "1 255 0 0 1.5 1 1 \"Lungs\"", "opacity “1.5”" },
    { "1 255 0 0 nan 1 1 \"Lungs\"", "opacity “nan”" },
    { "1 255 0 0 1 2 1 \"Lungs\"", "visible “2”" },
    { "1 255 0 0 1 1 1 \"Lungs\" extra", "after the label's quoted name" },
    { "1 255 0 0 1 1 1 \"\xff\xfe\"", "not UTF-8" },
    /* A field the message quotes is made valid UTF-8 and cut short. */
    { "1 255 0 0 0.\xc3 1 1 \"Lungs\"", "opacity “0.\xef\xbf\xbd”" },
    { "1 255 0 123456789012345678901234567890 1 1 1 \"Lungs\"", "blue “123456789012345678901234…”" },
  };
  for (size_t b = 0; b < G_N_ELEMENTS (bad); b++)
    {
      g_autofree char *contents = g_strdup_printf ("# header\n2 0 255 0 1 1 1 \"Left lung\"\n%s\n", bad[b].line);
      g_autofree char *path = write_file (s, contents, -1);
      g_autoptr (GError) error = NULL;
      g_autoptr (PulmoLabelTable) table = pulmo_label_description_load (path, &error);
      g_assert_null (table);
      g_assert_error (error, PULMO_ERROR, PULMO_ERROR_INVALID);
      g_autofree char *where = g_strdup_printf ("%s, line 3: ", path);
      g_assert_true (g_str_has_prefix (error->message, where));
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      if (strstr (error->message, bad[b].says) == NULL)
        g_error ("“%s” gave “%s”, which does not say “%s”", bad[b].line, error->message, bad[b].says);
    }
}

static void
test_bad_files (Scratch *s, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *missing = g_build_filename (s->dir, "missing.txt", NULL);
  g_assert_null (pulmo_label_description_load (missing, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_autofree char *twice = write_file (s, "1 255 0 0 1 1 1 \"A\"\n\n1 0 255 0 1 1 1 \"B\"\n", -1);
  g_assert_null (pulmo_label_description_load (twice, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "line 3: value 1 is already described on line 1"));
  g_clear_error (&error);

  g_autofree char *empty = write_file (s, "# only comments\n0 0 0 0 0 0 0 \"Clear Label\"\n", -1);
  g_assert_null (pulmo_label_description_load (empty, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "no label other than background"));
  g_clear_error (&error);

  static const char binary[] = "1 255 0 0 1 1 1 \"A\"\n\0\x1f\x8b";
  g_autofree char *nul = write_file (s, binary, sizeof binary);
  g_assert_null (pulmo_label_description_load (nul, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "binary data"));
  g_clear_error (&error);

  /* One byte over the limit, made of valid comment lines: refused for its size alone. */
  gsize size = PULMO_LABEL_DESCRIPTION_MAX_BYTES + 1;
  g_autofree char *large_text = g_malloc (size);
  memset (large_text, '#', size);
  for (gsize i = 79; i < size; i += 80)
    large_text[i] = '\n';
  g_autofree char *large = write_file (s, large_text, size);
  g_assert_null (pulmo_label_description_load (large, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE);
}

static void
count_emission (PulmoLabelMap *map, int *emitted)
{
  (*emitted)++;
}

/* A description replaces the convention's names on a real label map; values
 * it does not describe keep an entry of their own. */
static void
test_apply_to_label_map (Scratch *s, gconstpointer data)
{
  g_autofree char *ct_path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *mask_path = pulmo_test_data ("cip-chest-ct/wholeLung-64.nii.gz");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) ct = pulmo_volume_load (ct_path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_load (ct, mask_path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pulmo_label_table_get (pulmo_label_map_get_table (map), 1)->name, ==, "Right lung");
  int emitted = 0;
  g_signal_connect (map, "table-changed", G_CALLBACK (count_emission), &emitted);

  g_autofree char *lungs = write_file (s, "1 200 100 50 1 1 1 \"Lungs\"\n", -1);
  g_autoptr (PulmoLabelTable) table = pulmo_label_description_load (lungs, &error);
  g_assert_no_error (error);
  pulmo_label_map_set_table (map, table);
  g_assert_cmpint (emitted, ==, 1);
  PulmoLabelTable *applied = pulmo_label_map_get_table (map);
  g_assert_cmpstr (pulmo_label_table_get (applied, 1)->name, ==, "Lungs");
  g_assert_cmpmem (pulmo_label_table_get (applied, 1)->rgba, 4, ((const uint8_t[4]) { 200, 100, 50, 255 }), 4);
  /* The convention's other names are gone: the description is the whole table. */
  g_assert_false (pulmo_label_table_get (applied, 2)->defined);

  g_autofree char *other = write_file (s, "3 0 255 0 1 1 1 \"Ground glass\"\n", -1);
  g_autoptr (PulmoLabelTable) other_table = pulmo_label_description_load (other, &error);
  g_assert_no_error (error);
  pulmo_label_map_set_table (map, other_table);
  g_assert_cmpint (emitted, ==, 2);
  g_assert_cmpstr (pulmo_label_table_get (pulmo_label_map_get_table (map), 1)->name, ==, "Label 1");
  g_assert_cmpstr (pulmo_label_table_get (pulmo_label_map_get_table (map), 3)->name, ==, "Ground glass");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/label-description/itk-snap-export", Scratch, NULL, scratch_setup, test_itk_snap_export,
              scratch_teardown);
  g_test_add ("/label-description/bad-lines", Scratch, NULL, scratch_setup, test_bad_lines, scratch_teardown);
  g_test_add ("/label-description/bad-files", Scratch, NULL, scratch_setup, test_bad_files, scratch_teardown);
  g_test_add ("/label-description/apply-to-label-map", Scratch, NULL, scratch_setup,
              test_apply_to_label_map, scratch_teardown);
  return g_test_run ();
}
