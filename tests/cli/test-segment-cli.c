/* `pulmo segment` as a user runs it: the built program on CIP's ct-64 and its
 * DICOM series, checked for the output's grid, its lungs against CIP's mask,
 * the report, the exit codes, the batch going on past bad inputs, and inputs
 * never written over. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/dicom-import.h"
#include "core/pulmo-label-map.h"
#include "core/pulmo-label-table.h"
#include "pulmo-test.h"

typedef struct {
  int status;       /* exit status */
  char *out, *err;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

/* Runs `pulmo segment` with @args (NULL-terminated). */
static void
run_segment (Run *run, const char *const *args)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) g_getenv ("PULMO_EXE"));
  g_ptr_array_add (argv, "segment");
  for (const char *const *arg = args; *arg != NULL; arg++)
    g_ptr_array_add (argv, (char *) *arg);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  int wait_status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &run->out,
                               &run->err, &wait_status, &error));
  g_assert_no_error (error);
  g_ptr_array_free (argv, TRUE);
  g_assert_true (WIFEXITED (wait_status));
  run->status = WEXITSTATUS (wait_status);
  g_test_message ("exit %d; stdout: %s; stderr: %s", run->status, run->out, run->err);
}

static char *
temp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("pulmo-segment-XXXXXX", &error);
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

/* The labels at @path lie exactly on @ct's grid, in the label convention;
 * returns their Dice against @mask's non-zero voxels. */
static double
check_output (PulmoVolume *ct, const char *path, PulmoVolume *mask)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) written = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  int dims[3], written_dims[3];
  pulmo_volume_get_dims (ct, dims);
  pulmo_volume_get_dims (written, written_dims);
  g_assert_cmpmem (dims, sizeof dims, written_dims, sizeof written_dims);
  const PulmoAffine *a = pulmo_volume_get_affine (ct), *b = pulmo_volume_get_affine (written);
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 4; c++)
      g_assert_cmpfloat_with_epsilon (a->m[r][c], b->m[r][c], 1e-4);
  g_assert_cmpstr (pulmo_volume_get_orientation (ct), ==, pulmo_volume_get_orientation (written));

  g_autoptr (PulmoLabelMap) labels = pulmo_label_map_load (ct, path, NULL, NULL, &error);
  g_assert_no_error (error);
  guint64 counts[256];
  pulmo_label_map_count (labels, counts);
  for (int value = PULMO_LABEL_PLEURAL_EFFUSION + 1; value < 256; value++)
    g_assert_cmpuint (counts[value], ==, 0);
  g_assert_cmpuint (counts[PULMO_LABEL_RIGHT_LUNG], >, 0);
  g_assert_cmpuint (counts[PULMO_LABEL_LEFT_LUNG], >, 0);

  const uint8_t *data = pulmo_label_map_get_data (labels);
  gsize n = pulmo_volume_get_n_voxels (ct), both = 0, in_labels = 0, in_mask = 0;
  for (gsize v = 0; v < n; v++)
    {
      gboolean lung = data[v] >= PULMO_LABEL_RIGHT_LUNG && data[v] <= PULMO_LABEL_CONSOLIDATION;
      gboolean expert = pulmo_volume_get_value (mask, (int) (v % dims[0]), (int) (v / dims[0] % dims[1]),
                                                (int) (v / ((gsize) dims[0] * dims[1]))) != 0;
      in_labels += lung;
      in_mask += expert;
      both += lung && expert;
    }
  return 2.0 * both / (in_labels + in_mask);
}

/* One CT with -o and two reports: the labels on the CT's grid, the lungs
 * against CIP's mask, the reports written. */
static void
test_one (void)
{
  g_autofree char *ct_path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *mask_path = pulmo_test_data ("cip-chest-ct/wholeLung-64.nii.gz");
  g_autofree char *dir = temp_dir ();
  g_autofree char *out = g_build_filename (dir, "ct-64-labels.nii.gz", NULL);
  g_autofree char *json = g_build_filename (dir, "report.json", NULL);
  g_autofree char *csv = g_build_filename (dir, "report.csv", NULL);
  g_auto (Run) run = { 0 };
  run_segment (&run, (const char *[]){ ct_path, "-o", out, "--report", json, "-r", csv, NULL });
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "lungs"));

  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) ct = pulmo_volume_load (ct_path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (PulmoVolume) mask = pulmo_volume_load (mask_path, NULL, NULL, &error);
  g_assert_no_error (error);
  double dice = check_output (ct, out, mask);
  g_test_message ("ct-64 lungs against wholeLung-64: Dice %.3f", dice);
  g_assert_cmpfloat (dice, >=, 0.88);

  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, json, &error));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "ct"), ==, "ct-64");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (root, "model"), "pulmo-lung-lesion "));
  double lung_ml = json_object_get_double_member (json_object_get_object_member (root, "total"), "lung_ml");
  g_assert_cmpfloat (lung_ml, >, 3000);
  g_assert_cmpfloat (lung_ml, <, 7000);
  g_assert_true (g_file_test (csv, G_FILE_TEST_IS_REGULAR));
  remove_dir (dir);
}

/* A batch into a folder: a missing file and a corrupt one each get an error
 * line naming them, the good CT and the DICOM folder after them are still
 * done, and the exit status says some failed. */
static void
test_batch (void)
{
  g_autofree char *ct_path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *dicom = pulmo_test_data ("dicom-series/cip-ct-64Dicom");
  g_autofree char *dir = temp_dir ();
  g_autofree char *missing = g_build_filename (dir, "missing.nii.gz", NULL);
  g_autofree char *corrupt = g_build_filename (dir, "corrupt.nii.gz", NULL);
  g_assert_true (g_file_set_contents (corrupt, "not a NIfTI file at all", -1, NULL));
  g_autofree char *out_dir = g_build_filename (dir, "out", NULL);
  g_autofree char *dcm2niix = g_find_program_in_path ("dcm2niix");
  g_auto (Run) run = { 0 };
  run_segment (&run, (const char *[]){ missing, corrupt, ct_path, dcm2niix != NULL ? dicom : ct_path,
                                       "--output-dir", out_dir, "--report", "json", NULL });
  g_assert_cmpint (run.status, ==, 1);
  g_auto (GStrv) lines = g_strsplit (run.err, "\n", -1);
  int missing_lines = 0, corrupt_lines = 0;
  for (char **line = lines; *line != NULL; line++)
    {
      missing_lines += strstr (*line, "missing.nii.gz") != NULL;
      corrupt_lines += strstr (*line, "corrupt.nii.gz") != NULL;
    }
  g_assert_cmpint (missing_lines, ==, 1);
  g_assert_cmpint (corrupt_lines, ==, 1);
  g_assert_nonnull (strstr (run.err, "2 of 4 inputs failed"));
  g_autofree char *labels = g_build_filename (out_dir, "ct-64-labels.nii.gz", NULL);
  g_autofree char *report = g_build_filename (out_dir, "ct-64-report.json", NULL);
  g_assert_true (g_file_test (labels, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (report, G_FILE_TEST_IS_REGULAR));
  if (dcm2niix != NULL)
    {
      /* The DICOM series' labels lie on the grid dcm2niix gives it. */
      g_autoptr (GError) error = NULL;
      g_autoptr (PulmoVolume) series = pulmo_dicom_import (dicom, NULL, NULL, &error);
      g_assert_no_error (error);
      g_autofree char *series_labels = g_build_filename (out_dir, "cip-ct-64Dicom-labels.nii.gz", NULL);
      g_autoptr (PulmoLabelMap) map = pulmo_label_map_load (series, series_labels, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (map);
    }
  else
    /* Without dcm2niix the fourth input is ct-64 again: its output name is taken. */
    g_assert_nonnull (strstr (run.err, "another input"));
  remove_dir (out_dir);
  remove_dir (dir);
}

/* Usage errors exit 2 and write nothing. */
static void
test_usage (void)
{
  g_autofree char *ct_path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *dir = temp_dir ();
  g_autofree char *out = g_build_filename (dir, "x.nii.gz", NULL);
  const char *const *cases[] = {
    (const char *[]){ ct_path, NULL },                                   /* no output */
    (const char *[]){ ct_path, "-o", out, "--output-dir", dir, NULL },   /* both */
    (const char *[]){ ct_path, ct_path, "-o", out, NULL },               /* -o for two CTs */
    (const char *[]){ "-o", out, NULL },                                 /* no CT */
    (const char *[]){ ct_path, "-o", out, "--no-such-option", NULL },
  };
  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_auto (Run) run = { 0 };
      run_segment (&run, cases[c]);
      g_assert_cmpint (run.status, ==, 2);
      g_assert_true (g_str_has_prefix (run.err, "pulmo segment: "));
      g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
    }
  remove_dir (dir);
}

/* An output or a report that is an input, by name or through a link, is
 * refused and the input keeps its bytes. */
static void
test_never_overwrites_input (void)
{
  g_autofree char *ct_path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *dir = temp_dir ();
  g_autofree char *copy = g_build_filename (dir, "ct.nii.gz", NULL);
  g_autofree char *link = g_build_filename (dir, "link.nii.gz", NULL);
  g_autofree char *original = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (ct_path, &original, &size, NULL));
  g_assert_true (g_file_set_contents (copy, original, size, NULL));
  g_assert_cmpint (symlink (copy, link), ==, 0);
  g_autofree char *report = g_build_filename (dir, "r.json", NULL);
  const char *const *cases[] = {
    (const char *[]){ copy, "-o", copy, NULL },
    (const char *[]){ copy, "-o", link, NULL },
    (const char *[]){ copy, "-o", report, "--report", link, NULL },
  };
  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_auto (Run) run = { 0 };
      run_segment (&run, cases[c]);
      g_assert_cmpint (run.status, ==, 1);
      g_assert_nonnull (strstr (run.err, "never writes over an input"));
      g_autofree char *after = NULL;
      gsize after_size = 0;
      g_assert_true (g_file_get_contents (copy, &after, &after_size, NULL));
      g_assert_cmpmem (after, after_size, original, size);
    }
  remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/segment-cli/one", test_one);
  g_test_add_func ("/segment-cli/batch", test_batch);
  g_test_add_func ("/segment-cli/usage", test_usage);
  g_test_add_func ("/segment-cli/never-overwrites-input", test_never_overwrites_input);
  return g_test_run ();
}
