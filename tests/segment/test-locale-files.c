/* Files written for machines keep a decimal point when the process runs in a
 * locale with a decimal comma, as the GUI does (it never sets LC_NUMERIC to C):
 * the report's JSON and CSV, label descriptions, the recovery file's CT hash. */
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <math.h>
#include <string.h>

#include "core/label-description.h"
#include "core/pulmo-label-table.h"
#include "edit/recovery.h"
#include "pulmo-test.h"
#include "segment/report.h"

static void
use_german_numbers (void)
{
  if (setlocale (LC_NUMERIC, "de_DE.UTF-8") == NULL)
    g_error ("the de_DE.UTF-8 locale is missing (Debian: apt-get install locales-all)");
  g_autofree char *shown = g_strdup_printf ("%.1f", 1.5);
  g_assert_cmpstr (shown, ==, "1,5");
}

static PulmoReport
fractional_report (void)
{
  PulmoReport report = { 0 };
  report.right = (PulmoLungFigures) { 2512.25, 120.5, 3.75, 4.95, 1, { 1.25, 2.5, 0.75 }, { TRUE, TRUE, TRUE } };
  report.left = (PulmoLungFigures) { 2210.5, 0.25, 0, 0.01, 1, { 0.5, 0, 0 }, { TRUE, FALSE, FALSE } };
  report.total = (PulmoLungFigures) { 4722.75, 120.75, 3.75, 2.64, 0, { 0.9, 1.3, 0.4 }, { TRUE, TRUE, TRUE } };
  report.severity_sum = 2;
  report.lesion_mean_hu = -512.5;
  report.peripheral_percent = 62.5;
  report.central_percent = 37.5;
  report.bilateral = TRUE;
  report.n_zones_involved = 4;
  report.effusion_ml = 12.5;
  return report;
}

static void
test_report_json (void)
{
  use_german_numbers ();
  PulmoReport report = fractional_report ();
  g_autofree char *dir = g_dir_make_tmp ("pulmo-locale-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "report.json", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_report_save (&report, NULL, NULL, "ct", "model", path, &error));
  g_assert_no_error (error);

  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonObject *right = json_object_get_object_member (root, "right");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (right, "lung_ml"), 2512.25, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (right, "ggo_ml"), 120.5, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (root, "lesion_mean_hu"), -512.5, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (root, "effusion_ml"), 12.5, 1e-9);
  g_assert_cmpstr (json_object_get_string_member (root, "disclaimer"), ==, PULMO_REPORT_DISCLAIMER);
  pulmo_test_remove_tree (dir);
}

static void
test_report_csv (void)
{
  use_german_numbers ();
  PulmoReport report = fractional_report ();
  g_autofree char *csv = pulmo_report_to_csv (&report, "ct", "model");
  g_auto (GStrv) rows = g_strsplit (csv, "\n", -1);
  g_auto (GStrv) header = g_strsplit (rows[0], ",", -1);
  guint n_columns = g_strv_length (header);
  g_assert_cmpstr (header[3], ==, "lung_ml");
  for (int r = 1; r <= 3; r++)
    {
      g_auto (GStrv) fields = g_strsplit (rows[r], ",", -1);
      g_assert_cmpuint (g_strv_length (fields), ==, n_columns);
    }
  g_auto (GStrv) right = g_strsplit (rows[1], ",", -1);
  g_assert_cmpstr (right[2], ==, "right");
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (right[3], NULL), 2512.2, 0.051);
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (right[4], NULL), 120.5, 0.051);
}

static void
test_label_description (void)
{
  use_german_numbers ();
  g_autoptr (PulmoLabelTable) table = pulmo_label_table_new ();
  pulmo_label_table_set (table, 3, "ground glass", (const uint8_t[4]) { 255, 200, 0, 128 });
  g_autofree char *dir = g_dir_make_tmp ("pulmo-locale-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "labels.txt", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_label_description_save (table, path, &error));
  g_assert_no_error (error);

  g_autofree char *text = pulmo_test_read_file (path, NULL);
  g_assert_nonnull (strstr (text, "0.5020"));
  g_autoptr (PulmoLabelTable) loaded = pulmo_label_description_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pulmo_label_table_get (loaded, 3)->rgba[3], ==, 128);
  pulmo_test_remove_tree (dir);
}

/* The recovery file restores onto the CT whose hash it records: a hash that
 * followed the locale would lose the edits of a German user after a restart
 * in another locale. */
static void
test_recovery_hash (void)
{
  PulmoAffine affine = { { { -0.7, 0, 0, 180.35 }, { 0, 0.7, 0, -120.5 }, { 0, 0, 1.25, -300.125 }, { 0, 0, 0, 1 } } };
  int16_t *hu = g_new0 (int16_t, 4 * 4 * 4);
  g_autoptr (PulmoVolume) ct = pulmo_volume_new_int16 ((int[3]){ 4, 4, 4 }, &affine, hu);
  setlocale (LC_NUMERIC, "C");
  g_autofree char *c_hash = pulmo_recovery_ct_hash (ct);
  use_german_numbers ();
  g_autofree char *german_hash = pulmo_recovery_ct_hash (ct);
  g_assert_cmpstr (german_hash, ==, c_hash);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/locale-files/report-json", test_report_json);
  g_test_add_func ("/locale-files/report-csv", test_report_csv);
  g_test_add_func ("/locale-files/label-description", test_label_description);
  g_test_add_func ("/locale-files/recovery-hash", test_recovery_hash);
  return g_test_run ();
}
