/* Tests for src/train/evaluate.c and `pulmo eval`: Dice and volumes against
 * counts worked out by hand, every partial label included. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include "core/pulmo-label-map.h"
#include "train/evaluate.h"

/* Twelve voxels; reference and prediction side by side, and what each
 * structure makes of them (T true positive, F false positive, N false
 * negative, · true negative, ? reference unknown):
 *
 *   reference   0  1  2  6  6  7  7  8  8  3  4  9
 *   prediction  0  1  1  1  0  3  0  3  0  4  4  1
 *   lung        ·  T  T  T  N  T  N  ?  ?  T  T  ?   6 / 0 / 2, 9 known
 *   infection   ·  ·  ·  ·  ·  T  N  F  ·  T  T  ?   3 / 1 / 1, 11 known
 *   right lung  ·  T  F  ?  ?  ·  ·  ?  ?  ·  ·  ?   1 / 1 / 0, 7 known
 *   left lung   ·  ·  N  ?  ?  ·  ·  ?  ?  ·  ·  ?   0 / 0 / 1, 7 known
 *   ground gl.  ·  ·  ·  ·  ·  ?  ?  F  ·  N  ·  ?   0 / 1 / 1, 9 known
 *   consolid.   ·  ·  ·  ·  ·  ?  ?  ·  ·  F  T  ?   1 / 1 / 0, 9 known
 *   effusion    ·  ·  ·  ·  ·  ·  ·  ?  ?  ·  ·  ?   0 / 0 / 0, 9 known
 * (9 is past the label convention: unknown for every structure.) */
static const uint8_t reference[12] = { 0, 1, 2, 6, 6, 7, 7, 8, 8, 3, 4, 9 };
static const uint8_t prediction[12] = { 0, 1, 1, 1, 0, 3, 0, 3, 0, 4, 4, 1 };
static const guint64 expected[PULMO_EVAL_N_STRUCTURES][4] = {
  [PULMO_EVAL_LUNG] = { 6, 0, 2, 9 },
  [PULMO_EVAL_INFECTION] = { 3, 1, 1, 11 },
  [PULMO_EVAL_RIGHT_LUNG] = { 1, 1, 0, 7 },
  [PULMO_EVAL_LEFT_LUNG] = { 0, 0, 1, 7 },
  [PULMO_EVAL_GROUND_GLASS] = { 0, 1, 1, 9 },
  [PULMO_EVAL_CONSOLIDATION] = { 1, 1, 0, 9 },
  [PULMO_EVAL_EFFUSION] = { 0, 0, 0, 9 },
};
static const double expected_dice[PULMO_EVAL_N_STRUCTURES] = {
  12.0 / 14, 6.0 / 8, 2.0 / 3, 0, 0, 2.0 / 3, NAN,
};

static void
test_counts_by_hand (void)
{
  PulmoEvalCounts counts[PULMO_EVAL_N_STRUCTURES] = { 0 };
  pulmo_eval_count (prediction, reference, 12, counts);
  for (int s = 0; s < PULMO_EVAL_N_STRUCTURES; s++)
    {
      g_test_message ("%s", pulmo_eval_structure_name (s));
      g_assert_cmpuint (counts[s].tp, ==, expected[s][0]);
      g_assert_cmpuint (counts[s].fp, ==, expected[s][1]);
      g_assert_cmpuint (counts[s].fn, ==, expected[s][2]);
      g_assert_cmpuint (counts[s].known, ==, expected[s][3]);
      double dice = pulmo_eval_dice (&counts[s]);
      if (isnan (expected_dice[s]))
        g_assert_true (isnan (dice));
      else
        g_assert_cmpfloat_with_epsilon (dice, expected_dice[s], 1e-12);
      g_assert_cmpint (pulmo_eval_volume_difference (&counts[s]), ==,
                       (gint64) expected[s][1] - (gint64) expected[s][2]);
    }
  g_assert_false (pulmo_eval_has_data (&counts[PULMO_EVAL_EFFUSION]));

  /* Counts add up over calls (cases, slices); Dice stays. */
  pulmo_eval_count (prediction, reference, 12, counts);
  g_assert_cmpuint (counts[PULMO_EVAL_LUNG].tp, ==, 12);
  g_assert_cmpfloat_with_epsilon (pulmo_eval_dice (&counts[PULMO_EVAL_LUNG]), 12.0 / 14, 1e-12);
}

/* ---- pulmo eval -------------------------------------------------------- */

/* A 4×3×1 label file with 2 × 2.5 × 4 mm voxels (20 mm³, 0.02 mL). */
static void
write_labels (const char *path, const uint8_t *values, int nx)
{
  int dims[3] = { nx, 3, 1 };
  const double spacing[3] = { 2, 2.5, 4 };
  PulmoAffine affine;
  pulmo_affine_from_spacing (&affine, spacing);
  int16_t *zeros = g_new0 (int16_t, nx * 3);
  g_autoptr (PulmoVolume) grid = pulmo_volume_new_int16 (dims, &affine, zeros);
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (grid);
  memcpy (pulmo_label_map_get_data_mutable (map), values, (size_t) nx * 3);
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_label_map_save (map, path, &error));
  g_assert_no_error (error);
}

static char *
run_eval (const char *const *args, int *status, char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("PULMO_BINARY"));
  g_ptr_array_add (argv, "eval");
  for (int i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  char *out = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                               err, status, &error));
  g_assert_no_error (error);
  *status = WIFEXITED (*status) ? WEXITSTATUS (*status) : -1;
  return out;
}

static JsonObject *
structure_of (JsonObject *parent, const char *key)
{
  return json_object_get_object_member (json_object_get_object_member (parent, "structures"), key);
}

static void
test_command (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pulmo-eval-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *pred_dir = g_build_filename (dir, "pred", NULL);
  g_autofree char *gt_dir = g_build_filename (dir, "gt", NULL);
  g_autofree char *gt_labels = g_build_filename (gt_dir, "labelsTr", NULL);
  g_assert_cmpint (g_mkdir (pred_dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (gt_labels, 0755), ==, 0);

  /* Case a: the hand-worked voxels. Case b: lungs all right (Dice 1) and one
   * of its two consolidation voxels missed. */
  const uint8_t b_gt[12] = { 0, 0, 1, 1, 2, 2, 4, 4, 0, 0, 0, 0 };
  const uint8_t b_pred[12] = { 0, 0, 1, 1, 2, 2, 4, 2, 0, 0, 0, 0 };
  g_autofree char *a_pred = g_build_filename (pred_dir, "a.nii.gz", NULL);
  g_autofree char *a_gt = g_build_filename (gt_labels, "a.nii.gz", NULL);
  g_autofree char *b_pred_path = g_build_filename (pred_dir, "b.nii.gz", NULL);
  g_autofree char *b_gt_path = g_build_filename (gt_labels, "b.nii.gz", NULL);
  write_labels (a_pred, prediction, 4);
  write_labels (a_gt, reference, 4);
  write_labels (b_pred_path, b_pred, 4);
  write_labels (b_gt_path, b_gt, 4);

  /* Two files. */
  int status;
  g_autofree char *err = NULL;
  const char *files[] = { "--json", "-", a_pred, a_gt, NULL };
  g_autofree char *out = run_eval (files, &status, &err);
  g_assert_cmpint (status, ==, 0);
  const char *json = strchr (out, '{');
  g_assert_nonnull (json);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonObject *total = json_object_get_object_member (root, "total");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (structure_of (total, "lung"), "dice"),
                                  12.0 / 14, 1e-9);
  JsonObject *infection = structure_of (total, "infection");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (infection, "dice"), 0.75, 1e-9);
  /* 4 predicted and 4 reference infection voxels of 0.02 mL. */
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (infection, "predicted_ml"), 0.08,
                                  1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (infection, "reference_ml"), 0.08,
                                  1e-9);
  g_assert_cmpfloat (json_object_get_double_member (structure_of (total, "left_lung"), "dice"), ==, 0);
  g_assert_false (json_object_has_member (json_object_get_object_member (total, "structures"),
                                          "pleural_effusion"));

  /* Two folders: voxels summed over cases, and the mean of per-case Dice.
   * Consolidation: a has 1 / 1 / 0, b has 1 / 0 / 1: summed 2 / 1 / 1 is
   * Dice 4 / 6; the mean of 2/3 and 2/3 is 2/3 too. Lungs: b adds 6 true
   * positives (the missed consolidation, predicted left lung, is still
   * lung): 12 / 0 / 2 → Dice 24 / 26. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  const char *folders[] = { "--json", "-", pred_dir, gt_dir, NULL };
  out = run_eval (folders, &status, &err);
  g_assert_cmpint (status, ==, 0);
  g_autoptr (JsonParser) folder_parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (folder_parser, strchr (out, '{'), -1, &error));
  root = json_node_get_object (json_parser_get_root (folder_parser));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "cases")), ==, 2);
  total = json_object_get_object_member (root, "total");
  JsonObject *cons = structure_of (total, "consolidation");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (cons, "dice"), 4.0 / 6, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (cons, "mean_case_dice"), 2.0 / 3,
                                  1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (structure_of (total, "lung"), "dice"),
                                  24.0 / 26, 1e-9);

  /* A reference case without its prediction is refused, naming the case. */
  g_assert_cmpint (g_unlink (b_pred_path), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  const char *missing[] = { pred_dir, gt_dir, NULL };
  out = run_eval (missing, &status, &err);
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (err, "case b: no prediction"));

  /* A prediction on another grid is refused. */
  const uint8_t small[9] = { 0 };
  write_labels (b_pred_path, small, 3);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  const char *mismatch[] = { b_pred_path, b_gt_path, NULL };
  out = run_eval (mismatch, &status, &err);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (err, "3×3×1"));

  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_cmpint (system (command), ==, 0);
}

/* A real mask against itself. */
static void
test_real_mask (void)
{
  g_autofree char *mask = g_build_filename (g_getenv ("PULMO_DATA_DIR"), "cip-chest-ct",
                                            "wholeLung-64.nii.gz", NULL);
  int status;
  g_autofree char *err = NULL;
  const char *args[] = { "--json", "-", mask, mask, NULL };
  g_autofree char *out = run_eval (args, &status, &err);
  g_assert_cmpint (status, ==, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, strchr (out, '{'), -1, NULL));
  JsonObject *total = json_object_get_object_member (
    json_node_get_object (json_parser_get_root (parser)), "total");
  JsonObject *lung = structure_of (total, "lung");
  g_assert_cmpfloat (json_object_get_double_member (lung, "dice"), ==, 1);
  /* 65624 voxels of 4.2 × 4.2 × 4 mm (README's legend check: 4554.2 mL). */
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (lung, "reference_ml"), 4554.2, 0.1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/evaluate/counts-by-hand", test_counts_by_hand);
  g_test_add_func ("/evaluate/command", test_command);
  g_test_add_func ("/evaluate/real-mask", test_real_mask);
  return g_test_run ();
}
