/* Kill tests: fault-child writes a label map (save), a recovery file
 * (autosave), a training case (export), a training checkpoint or an
 * installed model over and over, and is killed with SIGKILL after a random
 * delay, hundreds of times per operation. After every kill each file must be
 * byte for byte the old version or the new one, the next run must go on from
 * there, and the autosaved edits must come back.
 *
 * PULMO_FAULT_KILLS (default 100; 300 or more for a longer run) sets the kills per operation and
 * PULMO_FAULT_SEED (default 1) the delays, so a failure can be replayed. */
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdlib.h>

#include "edit/recovery.h"
#include "fault-versions.h"
#include "pulmo-test.h"
#include "train/dataset.h"
#include "train/export.h"
#include "train/model-registry.h"

/* The longest delay before a kill: a few writes of each kind (an export,
 * which hashes and compresses the CT, takes about 0.1 s; an install, 0.05 s). */
static int
max_delay_us (const char *operation)
{
  return g_str_equal (operation, "export") ? 150000 : g_str_equal (operation, "install") ? 60000 : 20000;
}

static char *base_dir;

typedef struct {
  const char *operation;
  char *folder;
  guint next;            /* the first version the next child writes */
  guint current;         /* save, checkpoint: the version the file holds */
  guint kills, mid_write; /* kills, and those that left a temporary file behind */
  PulmoVolume *ct;
  char *ct_path;
  PulmoLabelMap *replay; /* autosave: the edits the recovery file holds so far */
  GHashTable *models;    /* install: the bytes of every model version written */
  GBytes *image, *label; /* export: the bytes of the case's two files */
} Run;

static guint
env_uint (const char *name, guint fallback)
{
  const char *value = g_getenv (name);
  return value != NULL ? (guint) strtoul (value, NULL, 10) : fallback;
}

static GBytes *
file_bytes (const char *path)
{
  gsize size;
  char *data = pulmo_test_read_file (path, &size);
  return g_bytes_new_take (data, size);
}

/* Temporary twins a killed write left in @folder ("name.XXXXXX" or ".name.XXXXXX"). */
static guint
count_temporaries (const char *folder)
{
  g_autoptr (GDir) listing = g_dir_open (folder, 0, NULL);
  guint n = 0;
  for (const char *name; listing != NULL && (name = g_dir_read_name (listing)) != NULL;)
    {
      const char *dot = strrchr (name, '.');
      n += dot != NULL && strlen (dot) == 7 && !g_str_equal (dot, ".pulmonet");
    }
  return n;
}

/* Starts a child at version run->next, kills it after a random delay and
 * returns the last version it announced. */
static guint
kill_one (Run *run, GRand *rand)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *first = g_strdup_printf ("%u", run->next);
  g_autoptr (GSubprocess) child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                                                    g_getenv ("FAULT_CHILD"), run->operation,
                                                    run->folder, first, NULL);
  g_assert_no_error (error);
  g_autoptr (GDataInputStream) out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child));
  g_autofree char *line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  if (line == NULL)
    g_error ("fault-child %s stopped before writing", run->operation);
  g_usleep ((gulong) g_rand_int_range (rand, 0, max_delay_us (run->operation)));
  g_subprocess_send_signal (child, SIGKILL);
  guint last = (guint) strtoul (line, NULL, 10);
  for (char *more; (more = g_data_input_stream_read_line (out, NULL, NULL, &error)) != NULL; g_free (more))
    last = (guint) strtoul (more, NULL, 10);
  g_assert_true (g_subprocess_wait (child, NULL, &error));
  /* It died by the kill, not by an error of its own. */
  g_assert_true (g_subprocess_get_if_signaled (child));
  g_assert_cmpint (g_subprocess_get_term_sig (child), ==, SIGKILL);
  run->kills++;
  return last;
}

static gboolean
bytes_equal_file (GBytes *expected, const char *path)
{
  g_autoptr (GBytes) actual = file_bytes (path);
  return g_bytes_equal (expected, actual);
}

static GBytes *
labels_version_bytes (Run *run, guint k)
{
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (run->ct);
  fault_labels_version (map, k);
  g_autofree char *path = g_build_filename (base_dir, "reference.nii.gz", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_label_map_save (map, path, &error));
  return file_bytes (path);
}

static GBytes *
checkpoint_version_bytes (guint k)
{
  g_autofree char *path = g_build_filename (base_dir, "reference.checkpoint", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (fault_checkpoint_save (path, k, &error));
  return file_bytes (path);
}

static GBytes *
version_bytes (Run *run, guint k)
{
  return g_str_equal (run->operation, "save") ? labels_version_bytes (run, k) : checkpoint_version_bytes (k);
}

/* save, checkpoint: the one file is version @last or the one it replaced
 * (the child's previous write, or the file as the last child left it). */
static void
check_one_file (Run *run, const char *name, guint last)
{
  g_autofree char *path = g_build_filename (run->folder, name, NULL);
  guint before = last > run->next ? last - 1 : run->current;
  g_autoptr (GBytes) now_bytes = version_bytes (run, last);
  g_autoptr (GBytes) before_bytes = version_bytes (run, before);
  if (bytes_equal_file (now_bytes, path))
    run->current = last;
  else if (bytes_equal_file (before_bytes, path))
    run->current = before;
  else
    g_error ("%s: killed while writing version %u, it is neither that nor %u", path, last, before);
  run->next = last + 1;
}

/* autosave: the recovery file holds the edits up to @last - 1 at least, and
 * no edit that was not made. */
static void
check_recovery (Run *run, guint last)
{
  g_autofree char *path = pulmo_recovery_path (run->ct_path);
  g_autofree char *hash = pulmo_recovery_ct_hash (run->ct);
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoLabelMap) restored = NULL;
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      restored = pulmo_recovery_read (path, run->ct, hash, &error);
      g_assert_no_error (error);
    }
  guint state = run->next - 1;
  gsize n = pulmo_volume_get_n_voxels (run->ct);
  if (restored == NULL)
    {
      /* Only the very first write can have been cut short before any file existed. */
      g_assert_cmpuint (state, ==, 0);
      g_assert_cmpuint (last, ==, 1);
      return;
    }
  const uint8_t *kept = pulmo_label_map_get_data (restored);
  for (;; state++)
    {
      if (state + 1 >= last && memcmp (kept, pulmo_label_map_get_data (run->replay), n) == 0)
        break;
      if (state > last)
        g_error ("%s: killed after edit %u, it holds none of edits %u to %u", path, last, last - 1, last);
      recovery_child_edit (run->replay, state + 1);
    }
  run->next = state + 1;
}

/* export: every case file is complete, at most one label waits for its image,
 * and the next export cleans up after the killed one. */
static void
check_dataset (Run *run)
{
  const char *const kinds[] = { "imagesTr", "labelsTr" };
  GBytes *expected[] = { run->image, run->label };
  guint counts[2] = { 0, 0 };
  for (int d = 0; d < 2; d++)
    {
      g_autofree char *folder = g_build_filename (run->folder, "dataset", kinds[d], NULL);
      g_autoptr (GDir) listing = g_dir_open (folder, 0, NULL);
      for (const char *name; listing != NULL && (name = g_dir_read_name (listing)) != NULL;)
        {
          g_autofree char *path = g_build_filename (folder, name, NULL);
          if (!bytes_equal_file (expected[d], path))
            g_error ("%s: a torn or foreign file in the training set", path);
          counts[d]++;
        }
    }
  g_assert_cmpuint (counts[1], >=, counts[0]);
  g_assert_cmpuint (counts[1], <=, counts[0] + 1);
  g_autofree char *json = g_build_filename (run->folder, "dataset", "dataset.json", NULL);
  if (counts[0] > 0)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      g_assert_true (json_parser_load_from_file (parser, json, &error));
    }
  run->mid_write += counts[1] > counts[0];
  run->current = counts[0];
}

/* install: every model kept is one the child wrote, whole, and the history
 * reads and names only files that are there. */
static void
check_models (Run *run, guint last)
{
  for (guint k = run->next; k <= last; k++)
    g_hash_table_add (run->models, fault_model_bytes (k));
  run->next = last + 1;
  g_autofree char *folder = g_build_filename (g_get_user_data_dir (), "pulmo", "models", NULL);
  g_autoptr (GDir) listing = g_dir_open (folder, 0, NULL);
  for (const char *name; listing != NULL && (name = g_dir_read_name (listing)) != NULL;)
    {
      if (!g_str_has_suffix (name, ".pulmonet"))
        continue;
      g_autofree char *path = g_build_filename (folder, name, NULL);
      g_autoptr (GBytes) bytes = file_bytes (path);
      if (!g_hash_table_contains (run->models, bytes))
        g_error ("%s: not a whole model of those installed", path);
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) history = pulmo_model_history (&error);
  g_assert_no_error (error);
  for (guint e = 0; e < history->len; e++)
    {
      PulmoModelEntry *entry = g_ptr_array_index (history, e);
      g_assert_true (g_file_test (entry->path, G_FILE_TEST_IS_REGULAR));
    }
}

static void
check_after_kill (Run *run, guint last)
{
  if (g_str_equal (run->operation, "save"))
    check_one_file (run, "labels.nii.gz", last);
  else if (g_str_equal (run->operation, "checkpoint"))
    check_one_file (run, "run.checkpoint", last);
  else if (g_str_equal (run->operation, "autosave"))
    check_recovery (run, last);
  else if (g_str_equal (run->operation, "export"))
    {
      check_dataset (run);
      run->next = last + 1;
    }
  else
    check_models (run, last);
}

static void
prepare (Run *run)
{
  g_autoptr (GError) error = NULL;
  if (g_str_equal (run->operation, "save") || g_str_equal (run->operation, "checkpoint"))
    {
      /* Version 0 is there before the first child: every kill replaces a file. */
      const char *name = g_str_equal (run->operation, "save") ? "labels.nii.gz" : "run.checkpoint";
      g_autofree char *path = g_build_filename (run->folder, name, NULL);
      g_autoptr (GBytes) first = version_bytes (run, 0);
      g_assert_true (g_file_set_contents (path, g_bytes_get_data (first, NULL),
                                          (gssize) g_bytes_get_size (first), &error));
    }
  else if (g_str_equal (run->operation, "autosave"))
    run->replay = pulmo_label_map_new (run->ct);
  else if (g_str_equal (run->operation, "export"))
    {
      /* One export made whole, to compare the killed ones' files with. */
      g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (run->ct);
      fault_labels_version (map, 1);
      g_autofree char *reference = g_build_filename (base_dir, "export-reference", NULL);
      PulmoExportOptions options;
      pulmo_export_options_init (&options);
      g_autofree char *id = pulmo_export_case (reference, map, &options, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (id, ==, "pulmo_0000");
      g_autofree char *image = g_build_filename (reference, "imagesTr", "pulmo_0000_0000.nii.gz", NULL);
      g_autofree char *label = g_build_filename (reference, "labelsTr", "pulmo_0000.nii.gz", NULL);
      run->image = file_bytes (image);
      run->label = file_bytes (label);
    }
  else
    run->models = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, NULL);
}

static void
test_kills (gconstpointer data)
{
  Run run = { .operation = data, .next = 1 };
  run.folder = g_build_filename (base_dir, run.operation, NULL);
  g_assert_cmpint (g_mkdir_with_parents (run.folder, 0755), ==, 0);
  run.ct_path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  run.ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  prepare (&run);

  guint kills = env_uint ("PULMO_FAULT_KILLS", 100), seed = env_uint ("PULMO_FAULT_SEED", 1);
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  gint64 start = g_get_monotonic_time ();
  guint last = 0;
  for (guint k = 0; k < kills; k++)
    {
      last = kill_one (&run, rand);
      check_after_kill (&run, last);
    }
  if (g_str_equal (run.operation, "export") && run.current > 0)
    {
      /* After all the kills the folder still loads as a training set. */
      PulmoModelInfo info = fault_model_info ();
      g_autofree char *dataset_dir = g_build_filename (run.folder, "dataset", NULL);
      const char *dirs[] = { dataset_dir, NULL };
      g_autoptr (GError) error = NULL;
      g_autoptr (PulmoDataset) dataset = pulmo_dataset_load (dirs, &info, 0, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (dataset->n_cases, >, 0);
      g_test_message ("export: %d cases made it whole", dataset->n_cases);
    }
  else if (!g_str_equal (run.operation, "autosave"))
    {
      g_autofree char *models = g_build_filename (g_get_user_data_dir (), "pulmo", "models", NULL);
      run.mid_write = count_temporaries (g_str_equal (run.operation, "install") ? models : run.folder);
    }
  g_test_message ("%s: %u kills (seed %u) in %.1f s, %u versions written; %u left a temporary file or an unfinished case",
                  run.operation, run.kills, seed, (g_get_monotonic_time () - start) / 1e6, last,
                  run.mid_write);
  g_clear_object (&run.replay);
  g_clear_pointer (&run.models, g_hash_table_unref);
  g_clear_pointer (&run.image, g_bytes_unref);
  g_clear_pointer (&run.label, g_bytes_unref);
  g_clear_pointer (&run.ct, pulmo_volume_unref);
  g_free (run.ct_path);
  g_free (run.folder);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  base_dir = g_dir_make_tmp ("pulmo-kill-XXXXXX", &error);
  g_assert_no_error (error);
  /* The child's recovery files and installed models go where this test looks. */
  g_autofree char *state = g_build_filename (base_dir, "state", NULL);
  g_autofree char *data = g_build_filename (base_dir, "data", NULL);
  g_setenv ("XDG_STATE_HOME", state, TRUE);
  g_setenv ("XDG_DATA_HOME", data, TRUE);
  const char *operations[] = { "save", "autosave", "export", "checkpoint", "install" };
  for (guint o = 0; o < G_N_ELEMENTS (operations); o++)
    {
      g_autofree char *name = g_strdup_printf ("/kill/%s", operations[o]);
      g_test_add_data_func (name, operations[o], test_kills);
    }
  int status = g_test_run ();
  pulmo_test_remove_tree (base_dir);
  g_free (base_dir);
  return status;
}
