/* The report's figures: a drawn label map whose volumes, zones, HU and
 * peripheral share are known voxel by voxel, stored RAS and LPS; CIP's lung
 * mask of ct-64 with its dense voxels as consolidation; the JSON, CSV and PDF
 * files and the errors of a bad path. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "core/pulmo-error.h"
#include "core/pulmo-label-table.h"
#include "pulmo-test.h"
#include "segment/postprocess.h"
#include "segment/report.h"

enum { W = 40, H = 30, D = 30 };

#define AT(i, j, k) ((i) + (j) * W + (k) * W * H)
#define VOXEL_ML 0.002   /* 1 × 1 × 2 mm */

typedef struct {
  uint8_t labels[W * H * D];
  int16_t hu[W * H * D];
} Drawn;

static void
fill_box (Drawn *drawn, int i0, int i1, int j0, int j1, int k0, int k1, uint8_t value, int16_t hu)
{
  for (int k = k0; k <= k1; k++)
    for (int j = j0; j <= j1; j++)
      for (int i = i0; i <= i1; i++)
        {
          drawn->labels[AT (i, j, k)] = value;
          drawn->hu[AT (i, j, k)] = hu;
        }
}

/* Stored RAS-like (i to the patient's right). The right lung spans i 22–36,
 * the left i 3–17, both j 5–24 and k 3–26 (z = 2k: 6–52 mm, so each third is
 * 8 slices: lower k 3–10, middle 11–18, upper 19–26), 7200 voxels each.
 * Deepest point of each lung: 8 mm (along i), so the outer third is closer
 * than 8/3 mm to the outside. */
static void
draw (Drawn *drawn)
{
  memset (drawn, 0, sizeof *drawn);
  for (gsize v = 0; v < W * H * D; v++)
    drawn->hu[v] = -1000;
  fill_box (drawn, 22, 36, 5, 24, 3, 26, PULMO_LABEL_RIGHT_LUNG, -850);
  fill_box (drawn, 3, 17, 5, 24, 3, 26, PULMO_LABEL_LEFT_LUNG, -850);
  /* Right upper: 64 voxels of ground glass, central (3 mm or more from the outside). */
  fill_box (drawn, 24, 27, 10, 13, 20, 23, PULMO_LABEL_GROUND_GLASS, -500);
  /* Right lower: 8 voxels of consolidation against the lateral edge (1–2 mm): peripheral. */
  fill_box (drawn, 35, 36, 15, 16, 5, 6, PULMO_LABEL_CONSOLIDATION, 20);
  /* Left middle: 32 voxels of ground glass, central. */
  fill_box (drawn, 8, 11, 8, 11, 13, 14, PULMO_LABEL_GROUND_GLASS, -600);
  /* Pleural effusion outside the lungs. */
  fill_box (drawn, 0, 1, 5, 9, 3, 7, PULMO_LABEL_PLEURAL_EFFUSION, 10);
}

/* The drawn volume as stored: with @lps, i runs to the patient's left. */
static PulmoVolume *
drawn_volume (const Drawn *drawn, gboolean lps, uint8_t **labels)
{
  int16_t *hu = g_new (int16_t, W * H * D);
  *labels = g_new (uint8_t, W * H * D);
  for (int k = 0; k < D; k++)
    for (int j = 0; j < H; j++)
      for (int i = 0; i < W; i++)
        {
          int stored = lps ? AT (W - 1 - i, j, k) : AT (i, j, k);
          hu[stored] = drawn->hu[AT (i, j, k)];
          (*labels)[stored] = drawn->labels[AT (i, j, k)];
        }
  double x_sign = lps ? -1 : 1;
  PulmoAffine affine = { { { x_sign, 0, 0, lps ? W - 1 : 0 }, { 0, 1, 0, 0 }, { 0, 0, 2, 0 }, { 0, 0, 0, 1 } } };
  PulmoVolume *ct = pulmo_volume_new_int16 ((int[3]){ W, H, D }, &affine, hu);
  g_assert_cmpint (pulmo_volume_get_intensity_kind (ct), ==, PULMO_INTENSITY_HU);
  return ct;
}

static void
assert_close (double value, double expected)
{
  g_assert_cmpfloat_with_epsilon (value, expected, 1e-9 + fabs (expected) * 1e-9);
}

static void
check_drawn_report (const PulmoReport *r)
{
  assert_close (r->right.lung_ml, 7200 * VOXEL_ML);
  assert_close (r->left.lung_ml, 7200 * VOXEL_ML);
  assert_close (r->total.lung_ml, 14400 * VOXEL_ML);
  assert_close (r->right.ggo_ml, 64 * VOXEL_ML);
  assert_close (r->right.consolidation_ml, 8 * VOXEL_ML);
  assert_close (r->left.ggo_ml, 32 * VOXEL_ML);
  assert_close (r->left.consolidation_ml, 0);
  assert_close (r->right.involved_percent, 100.0 * 72 / 7200);
  assert_close (r->left.involved_percent, 100.0 * 32 / 7200);
  assert_close (r->total.involved_percent, 100.0 * 104 / 14400);
  g_assert_cmpint (r->right.severity, ==, 1);
  g_assert_cmpint (r->left.severity, ==, 1);
  g_assert_cmpint (r->severity_sum, ==, 2);
  assert_close (r->lesion_mean_hu, (64 * -500.0 + 8 * 20.0 + 32 * -600.0) / 104);
  /* Each zone of a lung holds 2400 voxels. */
  assert_close (r->right.zone_involved_percent[PULMO_ZONE_UPPER], 100.0 * 64 / 2400);
  assert_close (r->right.zone_involved_percent[PULMO_ZONE_MIDDLE], 0);
  assert_close (r->right.zone_involved_percent[PULMO_ZONE_LOWER], 100.0 * 8 / 2400);
  assert_close (r->left.zone_involved_percent[PULMO_ZONE_MIDDLE], 100.0 * 32 / 2400);
  g_assert_true (r->right.zone_involved[PULMO_ZONE_UPPER] && r->right.zone_involved[PULMO_ZONE_LOWER]);
  g_assert_false (r->right.zone_involved[PULMO_ZONE_MIDDLE]);
  g_assert_true (r->left.zone_involved[PULMO_ZONE_MIDDLE]);
  g_assert_false (r->left.zone_involved[PULMO_ZONE_UPPER] || r->left.zone_involved[PULMO_ZONE_LOWER]);
  g_assert_cmpint (r->n_zones_involved, ==, 3);
  assert_close (r->peripheral_percent, 100.0 * 8 / 104);
  assert_close (r->central_percent, 100.0 * 96 / 104);
  g_assert_true (r->bilateral);
  assert_close (r->effusion_ml, 50 * VOXEL_ML);
}

/* The same anatomy stored RAS and LPS gives the same figures. */
static void
test_drawn (void)
{
  static Drawn drawn;
  draw (&drawn);
  for (int lps = 0; lps <= 1; lps++)
    {
      g_autofree uint8_t *labels = NULL;
      g_autoptr (PulmoVolume) ct = drawn_volume (&drawn, lps, &labels);
      PulmoReport report;
      g_autoptr (GError) error = NULL;
      g_assert_true (pulmo_report_compute (ct, labels, &report, &error));
      g_assert_no_error (error);
      check_drawn_report (&report);
    }
}

/* A lesion reaching out of its lung counts with that lung; islands touching
 * no lung take the side of the midline they lie on. */
static void
test_sides (void)
{
  static Drawn drawn;
  draw (&drawn);
  fill_box (&drawn, 37, 39, 15, 16, 5, 6, PULMO_LABEL_CONSOLIDATION, 30);  /* from the right lung out: 12 */
  fill_box (&drawn, 38, 39, 0, 1, 0, 1, PULMO_LABEL_GROUND_GLASS, -400);   /* right island: 8 */
  fill_box (&drawn, 0, 1, 26, 27, 28, 29, PULMO_LABEL_GROUND_GLASS, -400); /* left island: 8 */
  for (int lps = 0; lps <= 1; lps++)
    {
      g_autofree uint8_t *labels = NULL;
      g_autoptr (PulmoVolume) ct = drawn_volume (&drawn, lps, &labels);
      PulmoReport r;
      g_assert_true (pulmo_report_compute (ct, labels, &r, NULL));
      assert_close (r.right.consolidation_ml, (8 + 12) * VOXEL_ML);
      assert_close (r.right.ggo_ml, (64 + 8) * VOXEL_ML);
      assert_close (r.left.ggo_ml, (32 + 8) * VOXEL_ML);
      assert_close (r.right.lung_ml, (7200 + 12 + 8) * VOXEL_ML);
      assert_close (r.left.lung_ml, (7200 + 8) * VOXEL_ML);
    }
}

static void
test_no_lesion (void)
{
  static Drawn drawn;
  draw (&drawn);
  for (gsize v = 0; v < W * H * D; v++)
    if (drawn.labels[v] == PULMO_LABEL_GROUND_GLASS || drawn.labels[v] == PULMO_LABEL_CONSOLIDATION)
      drawn.labels[v] = PULMO_LABEL_LEFT_LUNG;
  g_autofree uint8_t *labels = NULL;
  g_autoptr (PulmoVolume) ct = drawn_volume (&drawn, FALSE, &labels);
  PulmoReport r;
  g_assert_true (pulmo_report_compute (ct, labels, &r, NULL));
  g_assert_cmpint (r.right.severity, ==, 0);
  g_assert_cmpint (r.severity_sum, ==, 0);
  g_assert_true (isnan (r.lesion_mean_hu));
  g_assert_false (r.bilateral);
  g_assert_cmpint (r.n_zones_involved, ==, 0);
  assert_close (r.peripheral_percent, 0);
  assert_close (r.right.lung_ml + r.left.lung_ml, 14400 * VOXEL_ML);
}

static void
test_severity (void)
{
  const struct { double percent; gboolean any; int category; } cases[] = {
    { 0, FALSE, 0 }, { 0, TRUE, 1 }, { 4.99, TRUE, 1 }, { 5, TRUE, 2 }, { 25, TRUE, 2 },
    { 25.01, TRUE, 3 }, { 50, TRUE, 3 }, { 50.01, TRUE, 4 }, { 75, TRUE, 4 }, { 75.01, TRUE, 5 },
    { 100, TRUE, 5 },
  };
  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    g_assert_cmpint (pulmo_report_severity (cases[c].percent, cases[c].any), ==, cases[c].category);
}

/* CIP's ct-64: its lung mask split by post-processing, the mask's voxels
 * denser than -500 HU marked as consolidation: volumes from the voxel count
 * and the affine, mean HU straight from the CT. */
static void
test_ct64 (void)
{
  g_autofree char *ct_path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *mask_path = pulmo_test_data ("cip-chest-ct/wholeLung-64.nii.gz");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) ct = pulmo_volume_load (ct_path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (PulmoVolume) mask = pulmo_volume_load (mask_path, NULL, NULL, &error);
  g_assert_no_error (error);
  gsize n = pulmo_volume_get_n_voxels (ct);
  const int16_t *hu = pulmo_volume_get_int16 (ct);
  const int16_t *in_mask = pulmo_volume_get_int16 (mask);
  g_assert_nonnull (hu);
  g_assert_nonnull (in_mask);
  g_autofree uint8_t *labels = g_malloc (n);
  for (gsize v = 0; v < n; v++)
    labels[v] = in_mask[v] ? PULMO_LABEL_LUNG_UNKNOWN_SIDE : 0;
  PulmoPostprocessOptions options;
  pulmo_postprocess_options_init (&options);
  g_assert_true (pulmo_postprocess (ct, labels, &options, &error));
  gsize lung = 0, dense = 0;
  double dense_hu = 0;
  for (gsize v = 0; v < n; v++)
    if (labels[v] != 0)
      {
        lung++;
        if (hu[v] > -500)
          {
            labels[v] = PULMO_LABEL_CONSOLIDATION;
            dense++;
            dense_hu += hu[v];
          }
      }
  g_assert_cmpuint (dense, >, 0);

  PulmoReport r;
  g_assert_true (pulmo_report_compute (ct, labels, &r, &error));
  g_assert_no_error (error);
  const double voxel_ml = 4.171872 * 4.171872 * 3.987342 / 1000;
  g_test_message ("ct-64: lungs %.1f mL (right %.1f, left %.1f), %" G_GSIZE_FORMAT
                  " voxels above -500 HU: %.1f mL, mean %.0f HU, %.0f %% peripheral",
                  r.total.lung_ml, r.right.lung_ml, r.left.lung_ml, dense, r.total.consolidation_ml,
                  r.lesion_mean_hu, r.peripheral_percent);
  g_assert_cmpfloat_with_epsilon (r.total.lung_ml, lung * voxel_ml, lung * voxel_ml * 1e-6);
  g_assert_cmpfloat_with_epsilon (r.right.lung_ml + r.left.lung_ml, r.total.lung_ml, 1e-6);
  g_assert_cmpfloat_with_epsilon (r.total.consolidation_ml, dense * voxel_ml, dense * voxel_ml * 1e-6);
  g_assert_cmpfloat_with_epsilon (r.lesion_mean_hu, dense_hu / dense, 1e-6);
  /* An adult's lungs, each a fair share of both. */
  g_assert_cmpfloat (r.total.lung_ml, >, 2500);
  g_assert_cmpfloat (r.total.lung_ml, <, 9000);
  g_assert_cmpfloat (r.right.lung_ml, >, 0.35 * r.total.lung_ml);
  g_assert_cmpfloat (r.left.lung_ml, >, 0.35 * r.total.lung_ml);
  g_assert_cmpfloat_with_epsilon (r.peripheral_percent + r.central_percent, 100, 1e-9);
  g_assert_true (r.bilateral);
}

static char *
temp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("pulmo-report-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  for (const char *name; listing != NULL && (name = g_dir_read_name (listing)) != NULL;)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
test_files (void)
{
  static Drawn drawn;
  draw (&drawn);
  g_autofree uint8_t *labels = NULL;
  g_autoptr (PulmoVolume) ct = drawn_volume (&drawn, TRUE, &labels);
  PulmoReport r;
  g_assert_true (pulmo_report_compute (ct, labels, &r, NULL));
  g_autofree char *dir = temp_dir ();
  g_autoptr (GError) error = NULL;

  /* JSON: the figures as computed, by name. */
  g_autofree char *json_path = g_build_filename (dir, "drawn.JSON", NULL);
  g_assert_true (pulmo_report_save (&r, ct, labels, "drawn \"CT\"", "pulmo-lung-lesion 12345678", json_path, &error));
  g_assert_no_error (error);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, json_path, &error));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "ct"), ==, "drawn \"CT\"");
  g_assert_cmpstr (json_object_get_string_member (root, "model"), ==, "pulmo-lung-lesion 12345678");
  g_assert_nonnull (strstr (json_object_get_string_member (root, "disclaimer"), "radiologist"));
  JsonObject *right = json_object_get_object_member (root, "right");
  assert_close (json_object_get_double_member (right, "lung_ml"), r.right.lung_ml);
  assert_close (json_object_get_double_member (right, "ggo_ml"), r.right.ggo_ml);
  g_assert_cmpint (json_object_get_int_member (right, "severity"), ==, 1);
  JsonObject *zones = json_object_get_object_member (right, "zones");
  assert_close (json_object_get_double_member (zones, "upper"), 100.0 * 64 / 2400);
  g_assert_cmpint (json_object_get_int_member (root, "severity_sum"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (root, "zones_involved"), ==, 3);
  g_assert_true (json_object_get_boolean_member (root, "bilateral"));
  assert_close (json_object_get_double_member (root, "lesion_mean_hu"), r.lesion_mean_hu);

  /* No lesion: the mean HU is null, not a number. */
  PulmoReport clear = r;
  clear.lesion_mean_hu = NAN;
  g_autoptr (JsonNode) clear_json = pulmo_report_to_json (&clear, "x", "y");
  g_assert_true (json_object_get_null_member (json_node_get_object (clear_json), "lesion_mean_hu"));

  /* CSV: a header and three rows naming the CT; the total's severity is the sum. */
  g_autofree char *csv_path = g_build_filename (dir, "drawn.csv", NULL);
  g_assert_true (pulmo_report_save (&r, ct, labels, "drawn \"CT\"", "m", csv_path, &error));
  g_autofree char *csv = NULL;
  g_assert_true (g_file_get_contents (csv_path, &csv, NULL, NULL));
  g_auto (GStrv) rows = g_strsplit (csv, "\n", -1);
  g_assert_cmpuint (g_strv_length (rows), ==, 5);
  g_assert_true (g_str_has_prefix (rows[0], "ct,model,region,lung_ml,"));
  g_assert_cmpstr (rows[1], ==, "\"drawn \"\"CT\"\"\",\"m\",right,14.4,0.1,0.0,1.00,1,2.67,0.00,0.33");
  g_assert_true (g_str_has_prefix (rows[3], "\"drawn \"\"CT\"\"\",\"m\",total,28.8,"));
  g_assert_true (g_str_has_suffix (rows[3], ",0.72,2,1.33,0.67,0.17"));
  g_assert_cmpstr (rows[4], ==, "");

  /* PDF: one page with its key slices' images. */
  g_autofree char *pdf_path = g_build_filename (dir, "drawn.pdf", NULL);
  g_assert_true (pulmo_report_save (&r, ct, labels, "drawn", "pulmo-lung-lesion 12345678", pdf_path, &error));
  g_assert_no_error (error);
  g_autofree char *pdf = NULL;
  gsize pdf_size = 0;
  g_assert_true (g_file_get_contents (pdf_path, &pdf, &pdf_size, NULL));
  g_test_message ("PDF: %" G_GSIZE_FORMAT " bytes", pdf_size);
  g_assert_true (g_str_has_prefix (pdf, "%PDF-"));
  g_assert_nonnull (memmem (pdf, pdf_size, "/Type /Page", 11));
  g_assert_nonnull (memmem (pdf, pdf_size, "/Subtype /Image", 15));
  g_assert_cmpuint (pdf_size, >, 5000);

  /* Bad paths: a clear message, nothing written. */
  g_autofree char *txt_path = g_build_filename (dir, "drawn.txt", NULL);
  g_assert_false (pulmo_report_save (&r, ct, labels, "drawn", "m", txt_path, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, ".json, .csv or .pdf"));
  g_assert_false (g_file_test (txt_path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);
  g_autofree char *missing = g_build_filename (dir, "no-such-folder", "drawn.json", NULL);
  g_assert_false (pulmo_report_save (&r, ct, labels, "drawn", "m", missing, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "no-such-folder"));
  remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/report/drawn", test_drawn);
  g_test_add_func ("/report/sides", test_sides);
  g_test_add_func ("/report/no-lesion", test_no_lesion);
  g_test_add_func ("/report/severity", test_severity);
  g_test_add_func ("/report/ct-64", test_ct64);
  g_test_add_func ("/report/files", test_files);
  return g_test_run ();
}
