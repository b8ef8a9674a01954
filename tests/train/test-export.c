/* Export to a training set, on ct-64 (Chest Imaging Platform) with labels made
 * from its expert lung mask: the case's files equal the CT and labels, its
 * sidecar records the source's hash and the corrections' Dice, nothing is
 * overwritten, conventions map as documented, two `pulmo export` processes at
 * once both land, and one killed at any moment leaves a dataset that loads. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>

#include "core/pulmo-error.h"
#include "train/dataset.h"
#include "train/export.h"
#include "pulmo-test.h"

typedef struct {
  PulmoVolume *ct;
  PulmoLabelMap *labels;   /* right lung 1 / left lung 2 by storage half, a ground-glass block 3 */
  char *ct_path, *labels_path;
  char *dir;               /* a fresh folder for the test's datasets */
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->ct_path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *lung_path = pulmo_test_data ("cip-chest-ct/wholeLung-64.nii.gz");
  f->ct = pulmo_volume_load (f->ct_path, NULL, NULL, &error);
  g_assert_no_error (error);
  f->labels = pulmo_label_map_load (f->ct, lung_path, NULL, NULL, &error);
  g_assert_no_error (error);
  int dims[3];
  pulmo_volume_get_dims (f->ct, dims);
  uint8_t *labels = pulmo_label_map_get_data_mutable (f->labels);
  gsize n = 0;
  for (int k = 0; k < dims[2]; k++)
    for (int j = 0; j < dims[1]; j++)
      for (int i = 0; i < dims[0]; i++, n++)
        if (labels[n])
          labels[n] = (k > dims[2] / 2 && j > dims[1] / 2 && i < 20) ? 3 : (i < dims[0] / 2 ? 1 : 2);
  f->dir = g_dir_make_tmp ("pulmo-export-XXXXXX", &error);
  g_assert_no_error (error);
  f->labels_path = g_build_filename (f->dir, "labels.nii.gz", NULL);
  g_assert_true (pulmo_label_map_save (f->labels, f->labels_path, &error));
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  pulmo_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->ct_path);
  g_free (f->labels_path);
  g_object_unref (f->labels);
  pulmo_volume_unref (f->ct);
}

static char *
dataset_path (Fixture *f, const char *name)
{
  char *path = g_build_filename (f->dir, name, NULL);
  return path;
}

static JsonObject *
read_json (const char *path)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* Loads @dir as `pulmo train` does and returns its number of cases. */
static int
load_dataset (const char *dir)
{
  PulmoModelInfo info = {
    .normalisation = PULMO_NORMALISE_SLICE_MINMAX,
    .window_hu_low = -1024, .window_hu_high = 3071, .window_gray8_low = 0, .window_gray8_high = 255,
    .clahe_clip = 7, .clahe_tiles = 8, .input_width = 64, .input_height = 64, .n_slices = 1,
  };
  const char *dirs[] = { dir, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoDataset) dataset = pulmo_dataset_load (dirs, &info, 2, NULL, &error);
  g_assert_no_error (error);
  return dataset->n_cases;
}

static void
test_append (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = dataset_path (f, "corrections");
  g_autoptr (GError) error = NULL;
  PulmoExportOptions options;
  pulmo_export_options_init (&options);
  options.annotator = "A. Annotator";
  options.model_version = "pulmo-lung-lesion 1";
  options.editing_seconds = 312.5;
  /* The model had said right lung where the annotator drew ground glass. */
  gsize n = pulmo_volume_get_n_voxels (f->ct);
  g_autofree uint8_t *model = g_memdup2 (pulmo_label_map_get_data (f->labels), n);
  guint64 lesion = 0, right = 0;
  for (gsize p = 0; p < n; p++)
    {
      lesion += model[p] == 3;
      if (model[p] == 3)
        model[p] = 1;
      right += model[p] == 1;
    }
  g_assert_cmpuint (lesion, >, 100);
  options.model_labels = model;

  g_autofree char *first = pulmo_export_case (dir, f->labels, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (first, ==, "pulmo_0000");

  /* Someone's own case named like ours: the next export steps past it and
   * leaves its bytes alone. */
  g_autofree char *foreign = g_build_filename (dir, "imagesTr", "pulmo_0001_0000.nii.gz", NULL);
  g_autofree char *foreign_label = g_build_filename (dir, "labelsTr", "pulmo_0001.nii.gz", NULL);
  g_autofree char *image0 = g_build_filename (dir, "imagesTr", "pulmo_0000_0000.nii.gz", NULL);
  g_autofree char *label0 = g_build_filename (dir, "labelsTr", "pulmo_0000.nii.gz", NULL);
  g_autofree char *bytes = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (image0, &bytes, &length, NULL));
  g_assert_true (g_file_set_contents (foreign, bytes, (gssize) length, NULL));
  g_autofree char *label_bytes = NULL;
  gsize label_length;
  g_assert_true (g_file_get_contents (label0, &label_bytes, &label_length, NULL));
  g_assert_true (g_file_set_contents (foreign_label, label_bytes, (gssize) label_length, NULL));
  options.model_labels = NULL;
  g_autofree char *second = pulmo_export_case (dir, f->labels, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (second, ==, "pulmo_0002");
  g_autofree char *after = NULL;
  g_assert_true (g_file_get_contents (foreign, &after, &length, NULL));
  g_assert_cmpmem (after, length, bytes, length);
  g_assert_cmpint (load_dataset (dir), ==, 3);

  /* The files hold the CT and the labels, on the CT's grid. */
  g_autoptr (PulmoVolume) image = pulmo_volume_load (image0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (pulmo_volume_get_int16 (image), n * 2, pulmo_volume_get_int16 (f->ct), n * 2);
  g_assert_cmpmem (pulmo_volume_get_affine (image), sizeof (PulmoAffine), pulmo_volume_get_affine (f->ct),
                   sizeof (PulmoAffine));
  g_autoptr (PulmoLabelMap) saved = pulmo_label_map_load (f->ct, label0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (pulmo_label_map_get_data (saved), n, pulmo_label_map_get_data (f->labels), n);

  g_autofree char *json_path = g_build_filename (dir, "dataset.json", NULL);
  g_autoptr (JsonObject) dataset = read_json (json_path);
  g_assert_cmpint (json_object_get_int_member (dataset, "numTraining"), ==, 3);
  JsonObject *labels = json_object_get_object_member (dataset, "labels");
  g_assert_cmpint (json_object_get_int_member (labels, "ground_glass_opacity"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (labels, "left_lung"), ==, 2);

  /* The sidecar: the source's SHA-256, who, which model, and the Dice of the
   * corrections: right lung lost the lesion's voxels, ground glass is new. */
  g_autofree char *sidecar_path = g_build_filename (dir, "pulmo-cases", "pulmo_0000.json", NULL);
  g_autoptr (JsonObject) sidecar = read_json (sidecar_path);
  g_autofree char *ct_bytes = NULL;
  g_assert_true (g_file_get_contents (f->ct_path, &ct_bytes, &length, NULL));
  g_autofree char *sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) ct_bytes, length);
  g_assert_cmpstr (json_object_get_string_member (sidecar, "source_sha256"), ==, sha);
  g_assert_cmpstr (json_object_get_string_member (sidecar, "source"), ==, f->ct_path);
  g_assert_cmpstr (json_object_get_string_member (sidecar, "annotator"), ==, "A. Annotator");
  g_assert_cmpstr (json_object_get_string_member (sidecar, "model"), ==, "pulmo-lung-lesion 1");
  g_assert_cmpfloat (json_object_get_double_member (sidecar, "editing_seconds"), ==, 312.5);
  JsonObject *corrections = json_object_get_object_member (sidecar, "corrections");
  JsonObject *right_lung = json_object_get_object_member (corrections, "1");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (right_lung, "dice"),
                                  2.0 * (right - lesion) / (2.0 * right - lesion), 1e-9);
  JsonObject *ground_glass = json_object_get_object_member (corrections, "3");
  g_assert_cmpfloat (json_object_get_double_member (ground_glass, "dice"), ==, 0.0);
  JsonObject *left_lung = json_object_get_object_member (corrections, "2");
  g_assert_cmpfloat (json_object_get_double_member (left_lung, "dice"), ==, 1.0);
}

static void
test_conventions (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  PulmoExportOptions options;
  pulmo_export_options_init (&options);
  options.anonymise = TRUE;
  gsize n = pulmo_volume_get_n_voxels (f->ct);
  const uint8_t *ours = pulmo_label_map_get_data (f->labels);

  static const uint8_t covid[4] = { 0, 2, 1, 3 }, binary[4] = { 0, 0, 0, 1 };
  const struct { PulmoExportConvention convention; const char *folder; const uint8_t *lut; } cases[] = {
    { PULMO_EXPORT_COVID19_CT_SEG, "covid", covid },
    { PULMO_EXPORT_BINARY_INFECTION, "binary", binary },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autofree char *dir = dataset_path (f, cases[c].folder);
      options.convention = cases[c].convention;
      g_autofree char *id = pulmo_export_case (dir, f->labels, &options, &error);
      g_assert_no_error (error);
      g_autofree char *label_name = g_strconcat (id, ".nii.gz", NULL);
      g_autofree char *label = g_build_filename (dir, "labelsTr", label_name, NULL);
      g_autoptr (PulmoLabelMap) saved = pulmo_label_map_load (f->ct, label, NULL, NULL, &error);
      g_assert_no_error (error);
      const uint8_t *values = pulmo_label_map_get_data (saved);
      for (gsize p = 0; p < n; p++)
        g_assert_cmpuint (values[p], ==, cases[c].lut[ours[p]]);

      g_autofree char *sidecar_name = g_strconcat (id, ".json", NULL);
      g_autofree char *sidecar_path = g_build_filename (dir, "pulmo-cases", sidecar_name, NULL);
      g_autoptr (JsonObject) sidecar = read_json (sidecar_path);
      g_assert_false (json_object_has_member (sidecar, "source"));

      /* The folder is now in that convention: Pulmo's labels do not go in. */
      options.convention = PULMO_EXPORT_PULMO;
      g_autofree char *refused = pulmo_export_case (dir, f->labels, &options, &error);
      g_assert_null (refused);
      g_assert_error (error, PULMO_ERROR, PULMO_ERROR_INVALID);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, cases[c].convention == PULMO_EXPORT_COVID19_CT_SEG
                                                  ? "covid19-ct-seg" : "binary-infection"));
      g_clear_error (&error);
    }

  /* Lung without a side cannot be said in COVID-19-CT-Seg's labels. */
  uint8_t *labels = pulmo_label_map_get_data_mutable (f->labels);
  for (gsize p = 0; p < n; p++)
    if (labels[p] == 1)
      labels[p] = 6;
  g_autofree char *dir = dataset_path (f, "covid-2");
  options.convention = PULMO_EXPORT_COVID19_CT_SEG;
  g_autofree char *refused = pulmo_export_case (dir, f->labels, &options, &error);
  g_assert_null (refused);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_INVALID);
  g_autofree char *images = g_build_filename (dir, "imagesTr", NULL);
  g_assert_false (g_file_test (images, G_FILE_TEST_EXISTS));
}

static GSubprocess *
spawn_export (Fixture *f, const char *dir)
{
  g_autoptr (GError) error = NULL;
  GSubprocess *process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, g_getenv ("PULMO_BINARY"),
                                           "export", f->ct_path, f->labels_path, "--to", dir, NULL);
  g_assert_no_error (error);
  return process;
}

/* Two `pulmo export` processes into one folder at the same moment both land. */
static void
test_two_at_once (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = dataset_path (f, "together");
  for (int round = 0; round < 3; round++)
    {
      g_autoptr (GSubprocess) a = spawn_export (f, dir);
      g_autoptr (GSubprocess) b = spawn_export (f, dir);
      g_autofree char *out_a = NULL, *out_b = NULL;
      g_autoptr (GError) error = NULL;
      g_assert_true (g_subprocess_communicate_utf8 (a, NULL, NULL, &out_a, NULL, &error));
      g_assert_true (g_subprocess_communicate_utf8 (b, NULL, NULL, &out_b, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (g_subprocess_get_successful (a) && g_subprocess_get_successful (b));
      g_assert_cmpstr (out_a, !=, out_b);
    }
  g_assert_cmpint (load_dataset (dir), ==, 6);
  g_autofree char *json_path = g_build_filename (dir, "dataset.json", NULL);
  g_autoptr (JsonObject) dataset = read_json (json_path);
  g_assert_cmpint (json_object_get_int_member (dataset, "numTraining"), ==, 6);
}

/* `pulmo export` killed with SIGKILL after a growing delay: every time, the
 * folder loads, and a later export completes it. */
static void
test_killed (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = dataset_path (f, "killed");
  g_autoptr (GError) error = NULL;
  PulmoExportOptions options;
  pulmo_export_options_init (&options);
  g_autofree char *seed = pulmo_export_case (dir, f->labels, &options, &error);
  g_assert_no_error (error);
  g_assert_nonnull (seed);

  int killed_mid_way = 0;
  for (int attempt = 0; attempt < 30; attempt++)
    {
      g_autoptr (GSubprocess) process = spawn_export (f, dir);
      g_usleep (10000 + attempt * 7000);
      g_subprocess_force_exit (process);
      g_assert_true (g_subprocess_wait (process, NULL, &error));
      killed_mid_way += g_subprocess_get_if_signaled (process);
      int cases = load_dataset (dir);
      g_assert_cmpint (cases, >=, 1);
    }
  g_test_message ("%d of 30 exports killed before they finished", killed_mid_way);
  g_assert_cmpint (killed_mid_way, >, 0);

  /* The next export cleans up after the killed ones and counts every case. */
  g_autofree char *last = pulmo_export_case (dir, f->labels, &options, &error);
  g_assert_no_error (error);
  g_assert_nonnull (last);
  int cases = load_dataset (dir);
  g_autofree char *json_path = g_build_filename (dir, "dataset.json", NULL);
  g_autoptr (JsonObject) dataset = read_json (json_path);
  g_assert_cmpint (json_object_get_int_member (dataset, "numTraining"), ==, cases);
  g_autofree char *labels_dir = g_build_filename (dir, "labelsTr", NULL);
  g_autoptr (GDir) listing = g_dir_open (labels_dir, 0, NULL);
  int n_labels = 0;
  while (g_dir_read_name (listing) != NULL)
    n_labels++;
  g_assert_cmpint (n_labels, ==, cases);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/export/append", Fixture, NULL, fixture_set_up, test_append, fixture_tear_down);
  g_test_add ("/export/conventions", Fixture, NULL, fixture_set_up, test_conventions, fixture_tear_down);
  g_test_add ("/export/two-at-once", Fixture, NULL, fixture_set_up, test_two_at_once, fixture_tear_down);
  g_test_add ("/export/killed", Fixture, NULL, fixture_set_up, test_killed, fixture_tear_down);
  return g_test_run ();
}
