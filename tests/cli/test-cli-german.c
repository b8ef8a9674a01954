/* The CLI under LANG=de_DE.UTF-8 (from meson, with the build tree's
 * catalogues through PULMO_LOCALEDIR): help and labels in German, numbers
 * with a decimal point, so that scripts read them whatever the user's language. */
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/wait.h>

#include "pulmo-test.h"

/* Runs `pulmo` with @args (NULL-terminated); its standard output, after
 * checking that it exited with 0. */
static char *
run_pulmo (const char *const *args)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) g_getenv ("PULMO_EXE"));
  for (const char *const *arg = args; *arg != NULL; arg++)
    g_ptr_array_add (argv, (char *) *arg);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  char *out = NULL;
  g_autofree char *err = NULL;
  int wait_status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &wait_status, &error));
  g_assert_no_error (error);
  g_ptr_array_free (argv, TRUE);
  g_test_message ("stdout: %s; stderr: %s", out, err);
  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, 0);
  return out;
}

static void
test_help (void)
{
  g_autofree char *out = run_pulmo ((const char *[]) { "segment", "--help", NULL });
  g_assert_nonnull (strstr (out, "Die zu schreibende Labelkarte, für ein CT"));
  g_assert_nonnull (strstr (out, "Segmentiert Lunge, Milchglastrübungen und Konsolidierungen"));
  g_assert_null (strstr (out, "The label map to write"));
}

/* ct-64's voxels are 4.171872 × 4.171872 × 3.987342 mm. */
static void
test_info (void)
{
  g_autofree char *ct = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *out = run_pulmo ((const char *[]) { "info", ct, NULL });
  g_assert_nonnull (strstr (out, "Abmessungen"));
  g_assert_nonnull (strstr (out, "4.172 × 4.172 × 3.987 mm"));
}

/* A label map against itself: Dice 1 and its volumes, as JSON on standard output. */
static void
test_eval_json (void)
{
  g_autofree char *labels = pulmo_test_data ("cip-chest-ct/wholeLung-64.nii.gz");
  g_autofree char *out = run_pulmo ((const char *[]) { "eval", "--json", "-", labels, labels, NULL });
  /* The table comes first, then the JSON from its first line that opens an object. */
  const char *json = strstr (out, "\n{");
  g_assert_nonnull (json);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (json, "\"predicted_ml\" : 4554.158"));
  g_assert_null (strstr (json, "4554,158"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli-german/help", test_help);
  g_test_add_func ("/cli-german/info", test_info);
  g_test_add_func ("/cli-german/eval-json", test_eval_json);
  return g_test_run ();
}
