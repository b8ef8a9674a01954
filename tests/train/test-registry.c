/* Installed models and fine-tuning: a model goes in use when installed, going
 * back to any earlier one (or the shipped one) gives its file byte for byte,
 * and `pulmo train --init … --install` keeps a fine-tune that raised the
 * validation Dice and refuses one that lowered it. On real covid-2d-train cases. */
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nn/weights.h"
#include "train/model-registry.h"
#include "pulmo-test.h"

static char *data_home;

static void
assert_in_use_equals (const char *expected_path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *in_use = pulmo_model_default_path (&error);
  g_assert_no_error (error);
  pulmo_test_assert_files_equal (in_use, expected_path);
}

/* The shipped model with one weight changed by @delta, saved in @dir. */
static char *
variant (const char *dir, const char *name, float delta)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *shipped = pulmo_model_shipped_path (&error);
  g_auto (PulmoModelInfo) info = { 0 };
  g_autoptr (PulmoUNet) net = pulmo_weights_load (shipped, &info, &error);
  g_assert_no_error (error);
  pulmo_unet_find_param (net, "head.bias")->value->data[0] += delta;
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (pulmo_weights_save (path, net, &info, &error));
  return path;
}

static void
test_install_and_go_back (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pulmo-models-XXXXXX", &error);
  g_autofree char *shipped = pulmo_model_shipped_path (&error);
  g_assert_no_error (error);

  g_autoptr (GPtrArray) fresh = pulmo_model_history (&error);
  g_assert_no_error (error);
  g_assert_cmpuint (fresh->len, ==, 1);
  g_assert_true (((PulmoModelEntry *) g_ptr_array_index (fresh, 0))->in_use);
  assert_in_use_equals (shipped);

  g_autofree char *a = variant (dir, "tuned.pulmonet", 0.25f);
  g_autofree char *b = variant (dir, "tuned-again.pulmonet", -0.5f);
  g_assert_cmpint (pulmo_model_install (a, "first", &error), ==, 1);
  assert_in_use_equals (a);
  g_assert_cmpint (pulmo_model_install (b, "second", &error), ==, 2);
  assert_in_use_equals (b);
  /* The same bytes again: no new entry, only in use again. */
  g_assert_cmpint (pulmo_model_install (a, "again", &error), ==, 1);
  assert_in_use_equals (a);

  /* The installed copies outlive the originals. */
  g_assert_cmpint (g_unlink (a), ==, 0);
  g_autofree char *a_again = variant (dir, "tuned.pulmonet", 0.25f);
  g_assert_true (pulmo_model_use (0, &error));
  assert_in_use_equals (shipped);
  g_assert_true (pulmo_model_use (2, &error));
  assert_in_use_equals (b);
  g_assert_true (pulmo_model_use (1, &error));
  assert_in_use_equals (a_again);

  g_autoptr (GPtrArray) entries = pulmo_model_history (&error);
  g_assert_cmpuint (entries->len, ==, 3);
  PulmoModelEntry *second = g_ptr_array_index (entries, 2);
  g_assert_cmpstr (second->note, ==, "second");
  g_assert_nonnull (second->installed);
  g_assert_false (second->in_use);
  g_assert_true (((PulmoModelEntry *) g_ptr_array_index (entries, 1))->in_use);

  g_assert_false (pulmo_model_use (3, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  /* Not a model: refused, nothing installed. */
  g_autofree char *junk = g_build_filename (dir, "junk.pulmonet", NULL);
  g_assert_true (g_file_set_contents (junk, "PULMONET and nothing else", -1, NULL));
  g_assert_cmpint (pulmo_model_install (junk, NULL, &error), ==, -1);
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_autoptr (GPtrArray) after = pulmo_model_history (&error);
  g_assert_cmpuint (after->len, ==, 3);

  /* A damaged history is reported, not guessed at. */
  g_autofree char *history = g_build_filename (data_home, "pulmo", "models", "history.json", NULL);
  g_autofree char *kept = pulmo_test_read_file (history, NULL);
  g_assert_true (g_file_set_contents (history, "{\"models\": 3}", -1, NULL));
  g_autofree char *none = pulmo_model_default_path (&error);
  g_assert_null (none);
  g_assert_nonnull (strstr (error->message, "history.json"));
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (history, kept, -1, NULL));
  g_assert_true (pulmo_model_use (0, &error));
  pulmo_test_remove_tree (dir);
}

static char *
pulmo (const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("PULMO_BINARY"));
  for (int a = 0; args[a] != NULL; a++)
    g_ptr_array_add (argv, (gpointer) args[a]);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) process = g_subprocess_newv ((const char *const *) argv->pdata,
                                                       G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  char *out = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error));
  g_assert_true (g_subprocess_get_successful (process));
  g_test_message ("%s", out);
  return out;
}

static void
test_fine_tune (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pulmo-finetune-XXXXXX", &error);
  static const char *const cases[] = {
    "zenodo_coronacases_001", "zenodo_coronacases_005", "zenodo_radiopaedia_seg01",
    "zenodo_radiopaedia_seg02", "zenodo_radiopaedia_seg03", "medseg_001", "medseg_002", NULL,
  };
  g_autofree char *dataset = pulmo_test_link_dataset (dir, cases);
  g_autofree char *base = g_build_filename (dir, "base.pulmonet", NULL);
  g_autofree char *tuned = g_build_filename (dir, "tuned.pulmonet", NULL);
  g_autofree char *ruined = g_build_filename (dir, "ruined.pulmonet", NULL);
  const char *validation = "zenodo_radiopaedia_seg03,medseg_002";
  g_autofree char *models = g_build_filename (data_home, "pulmo", NULL);
  pulmo_test_remove_tree (models);

  /* A barely trained model, then twenty more epochs from it. */
  g_free (pulmo ((const char *[]) { "train", "--quick", "--data", dataset, "--validation", validation,
                                    "--out", base, "--epochs", "2", NULL }));
  g_autofree char *out = pulmo ((const char *[]) { "train", "--quick", "--init", base, "--data", dataset,
                                                   "--validation", validation, "--out", tuned,
                                                   "--epochs", "20", "--lr", "0.01", "--install", NULL });
  double before, after;
  const char *line = strstr (out, "installed as model 1 and in use: validation Dice ");
  g_assert_nonnull (line);
  g_assert_cmpint (sscanf (line, "installed as model 1 and in use: validation Dice %lf → %lf", &before, &after), ==, 2);
  g_assert_cmpfloat (after, >, before + 0.1);
  assert_in_use_equals (tuned);

  /* A learning rate that wrecks the network: trained, not installed. */
  g_autofree char *bad = pulmo ((const char *[]) { "train", "--quick", "--init", tuned, "--data", dataset,
                                                   "--validation", validation, "--out", ruined,
                                                   "--epochs", "2", "--lr", "0.9", "--install", NULL });
  g_assert_nonnull (strstr (bad, "not installed: validation Dice"));
  g_assert_true (g_file_test (ruined, G_FILE_TEST_EXISTS));
  assert_in_use_equals (tuned);
  g_autoptr (GPtrArray) entries = pulmo_model_history (&error);
  g_assert_cmpuint (entries->len, ==, 2);
  g_assert_nonnull (strstr (((PulmoModelEntry *) g_ptr_array_index (entries, 1))->note, "fine-tuned from"));
  g_assert_true (pulmo_model_use (0, &error));
  pulmo_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  /* The user's models folder of this test only, for it and the pulmo it runs. */
  data_home = g_dir_make_tmp ("pulmo-data-home-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/registry/install-and-go-back", test_install_and_go_back);
  g_test_add_func ("/registry/fine-tune", test_fine_tune);
  int status = g_test_run ();
  pulmo_test_remove_tree (data_home);
  g_free (data_home);
  return status;
}
