/* A full disk (a file-size limit, RLIMIT_FSIZE with SIGXFSZ ignored, so that
 * write() fails as on a full disk) and a read-only folder: every kind of
 * write Pulmo makes returns a GError that names the file, leaves the previous
 * version byte for byte and no temporary file, and autosave keeps the edits
 * to write them once the disk has room again. */
#include <errno.h>
#include <json-glib/json-glib.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "core/pulmo-error.h"
#include "edit/recovery.h"
#include "fault-versions.h"
#include "pulmo-test.h"
#include "train/export.h"
#include "train/model-registry.h"

typedef enum { FAULT_FULL_DISK, FAULT_READ_ONLY } Fault;

static char *base_dir;
static PulmoVolume *ct;
static char *ct_path;

/* Root writes into a read-only folder anyway: the test drops that power
 * (CAP_DAC_OVERRIDE) from this thread while the fault lasts. */
static void
set_dac_override (gboolean on)
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct caps[2];
  g_assert_cmpint (syscall (SYS_capget, &header, caps), ==, 0);
  if (on)
    caps[0].effective |= caps[0].permitted & (1u << CAP_DAC_OVERRIDE);
  else
    caps[0].effective &= ~(1u << CAP_DAC_OVERRIDE);
  g_assert_cmpint (syscall (SYS_capset, &header, caps), ==, 0);
}

static void
fault_begin (Fault fault, const char *folder)
{
  if (fault == FAULT_FULL_DISK)
    {
      /* Room for a header, not for a file. */
      struct rlimit limit;
      g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &limit), ==, 0);
      limit.rlim_cur = 200;
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
    }
  else
    {
      g_assert_cmpint (g_chmod (folder, 0555), ==, 0);
      set_dac_override (FALSE);
    }
}

static void
fault_end (Fault fault, const char *folder)
{
  if (fault == FAULT_FULL_DISK)
    {
      struct rlimit limit;
      g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &limit), ==, 0);
      limit.rlim_cur = limit.rlim_max;
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
    }
  else
    {
      set_dac_override (TRUE);
      g_assert_cmpint (g_chmod (folder, 0755), ==, 0);
    }
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The names in @folder, sorted and joined: what a failed write must leave as it was. */
static char *
listing_of (const char *folder)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) listing = g_dir_open (folder, 0, NULL);
  for (const char *name; listing != NULL && (name = g_dir_read_name (listing)) != NULL;)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

/* @error is a PULMO_ERROR (or GLib file error) that names @name. */
static void
assert_clear_error (const GError *error, const char *name)
{
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (error->domain == PULMO_ERROR || error->domain == G_FILE_ERROR);
  if (strstr (error->message, name) == NULL)
    g_error ("“%s” does not name %s", error->message, name);
}

/* What a failed write to @path in @folder must leave as it was: the folder's
 * names and the file's bytes. */
typedef struct {
  char *listing;
  char *bytes;
  gsize size;
} Before;

static void
before_take (Before *before, const char *folder, const char *path)
{
  before->bytes = pulmo_test_read_file (path, &before->size);
  before->listing = listing_of (folder);
}

/* The write returned @written and @error: it must have failed naming @path and
 * left @folder and @path as @before saw them. */
static void
assert_refused_and_kept (gboolean written, const GError *error, Before *before, const char *folder,
                         const char *path)
{
  g_assert_false (written);
  assert_clear_error (error, path);
  g_autofree char *after = listing_of (folder);
  g_assert_cmpstr (after, ==, before->listing);
  gsize kept_size;
  g_autofree char *kept = pulmo_test_read_file (path, &kept_size);
  g_assert_cmpmem (kept, kept_size, before->bytes, before->size);
  g_free (before->listing);
  g_free (before->bytes);
}

static char *
fault_folder (Fault fault, const char *what)
{
  char *folder = g_build_filename (base_dir, fault == FAULT_FULL_DISK ? "full" : "read-only", what, NULL);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  return folder;
}

/* The label map: Save fails, the saved file is the old one, the edits stay in memory. */
static void
test_save (gconstpointer data)
{
  Fault fault = GPOINTER_TO_INT (data);
  g_autofree char *folder = fault_folder (fault, "save");
  g_autofree char *path = g_build_filename (folder, "labels.nii.gz", NULL);
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  g_autoptr (GError) error = NULL;
  fault_labels_version (map, 1);
  g_assert_true (pulmo_label_map_save (map, path, &error));
  Before before;
  before_take (&before, folder, path);

  fault_labels_version (map, 2);
  g_autofree uint8_t *edited = g_memdup2 (pulmo_label_map_get_data (map), pulmo_volume_get_n_voxels (ct));
  fault_begin (fault, folder);
  gboolean saved = pulmo_label_map_save (map, path, &error);
  fault_end (fault, folder);
  assert_refused_and_kept (saved, error, &before, folder, path);
  g_assert_cmpmem (pulmo_label_map_get_data (map), pulmo_volume_get_n_voxels (ct), edited,
                   pulmo_volume_get_n_voxels (ct));
}

/* The recovery file: a failed autosave keeps the last good one and the edits,
 * and writes them when it can again. */
static void
test_autosave (gconstpointer data)
{
  Fault fault = GPOINTER_TO_INT (data);
  g_autofree char *state = g_build_filename (g_get_user_state_dir (), "pulmo", "recovery", NULL);
  g_assert_cmpint (g_mkdir_with_parents (state, 0755), ==, 0);
  g_autofree char *hash = pulmo_recovery_ct_hash (ct);
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  g_autofree char *path = pulmo_recovery_path (ct_path);
  g_autoptr (GError) error = NULL;
  recovery_child_edit (map, 1);
  g_assert_true (pulmo_recovery_write (path, ct_path, hash, ct, pulmo_label_map_get_data (map),
                                       pulmo_label_map_get_table (map), &error));
  Before before;
  before_take (&before, state, path);

  recovery_child_edit (map, 2);
  fault_begin (fault, state);
  gboolean written = pulmo_recovery_write (path, ct_path, hash, ct, pulmo_label_map_get_data (map),
                                           pulmo_label_map_get_table (map), &error);
  fault_end (fault, state);
  assert_refused_and_kept (written, error, &before, state, path);
  g_clear_error (&error);

  if (fault != FAULT_FULL_DISK)
    return;
  /* The autosave thread itself, under the limit (which holds for the whole process). */
  PulmoAutosave *autosave = pulmo_autosave_new (map, ct_path, hash);
  recovery_child_edit (map, 3);
  fault_begin (fault, state);
  gboolean flushed = pulmo_autosave_flush (autosave, &error);
  fault_end (fault, state);
  g_assert_false (flushed);
  assert_clear_error (error, path);
  g_assert_nonnull (pulmo_autosave_get_error (autosave));
  g_clear_error (&error);
  /* Room again: the edits the failed write held come back from the file. */
  g_assert_true (pulmo_autosave_flush (autosave, &error));
  g_autoptr (PulmoLabelMap) restored = pulmo_recovery_read (path, ct, hash, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (pulmo_label_map_get_data (restored), pulmo_volume_get_n_voxels (ct),
                   pulmo_label_map_get_data (map), pulmo_volume_get_n_voxels (ct));
  pulmo_autosave_free (autosave, TRUE);
}

/* Export: the training set keeps its cases and dataset.json as they were. */
static void
test_export (gconstpointer data)
{
  Fault fault = GPOINTER_TO_INT (data);
  g_autofree char *folder = fault_folder (fault, "export");
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  fault_labels_version (map, 1);
  PulmoExportOptions options;
  pulmo_export_options_init (&options);
  g_autoptr (GError) error = NULL;
  g_autofree char *first = pulmo_export_case (folder, map, &options, &error);
  g_assert_no_error (error);
  g_assert_nonnull (first);
  g_autofree char *json = g_build_filename (folder, "dataset.json", NULL);
  g_autofree char *old = pulmo_test_read_file (json, NULL);
  const char *const subdirs[] = { "", "imagesTr", "labelsTr" };
  char *before[3];
  for (int d = 0; d < 3; d++)
    {
      g_autofree char *sub = g_build_filename (folder, subdirs[d], NULL);
      before[d] = listing_of (sub);
    }

  /* Read-only: the case folders, where the files land. */
  g_autofree char *images = g_build_filename (folder, "imagesTr", NULL);
  g_autofree char *labels = g_build_filename (folder, "labelsTr", NULL);
  g_autofree char *sidecars = g_build_filename (folder, "pulmo-cases", NULL);
  if (fault == FAULT_READ_ONLY)
    {
      g_assert_cmpint (g_chmod (images, 0555), ==, 0);
      g_assert_cmpint (g_chmod (labels, 0555), ==, 0);
      g_assert_cmpint (g_chmod (sidecars, 0555), ==, 0);
    }
  fault_begin (fault, folder);
  g_autofree char *second = pulmo_export_case (folder, map, &options, &error);
  fault_end (fault, folder);
  if (fault == FAULT_READ_ONLY)
    {
      g_assert_cmpint (g_chmod (images, 0755), ==, 0);
      g_assert_cmpint (g_chmod (labels, 0755), ==, 0);
      g_assert_cmpint (g_chmod (sidecars, 0755), ==, 0);
    }
  g_assert_null (second);
  assert_clear_error (error, folder);
  for (int d = 0; d < 3; d++)
    {
      g_autofree char *sub = g_build_filename (folder, subdirs[d], NULL);
      g_autofree char *after = listing_of (sub);
      g_assert_cmpstr (after, ==, before[d]);
      g_free (before[d]);
    }
  g_autofree char *kept = pulmo_test_read_file (json, NULL);
  g_assert_cmpstr (kept, ==, old);
}

/* A training checkpoint: the previous one stays, so the run can still resume. */
static void
test_checkpoint (gconstpointer data)
{
  Fault fault = GPOINTER_TO_INT (data);
  g_autofree char *folder = fault_folder (fault, "checkpoint");
  g_autofree char *path = g_build_filename (folder, "run.checkpoint", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (fault_checkpoint_save (path, 1, &error));
  Before before;
  before_take (&before, folder, path);
  fault_begin (fault, folder);
  gboolean saved = fault_checkpoint_save (path, 2, &error);
  fault_end (fault, folder);
  assert_refused_and_kept (saved, error, &before, folder, path);
}

/* Installing a model: the models folder and its history stay as they were. */
static void
test_install (gconstpointer data)
{
  Fault fault = GPOINTER_TO_INT (data);
  g_autofree char *folder = fault_folder (fault, "install");
  g_autoptr (GError) error = NULL;
  g_autofree char *models = g_build_filename (g_get_user_data_dir (), "pulmo", "models", NULL);
  g_autofree char *history = g_build_filename (models, "history.json", NULL);
  for (guint k = 1; k <= 2; k++)
    {
      g_autoptr (GBytes) bytes = fault_model_bytes (k + 10 * (guint) fault);
      g_autofree char *name = g_strdup_printf ("model-%u.pulmonet", k);
      g_autofree char *staged = g_build_filename (folder, name, NULL);
      g_assert_true (g_file_set_contents (staged, g_bytes_get_data (bytes, NULL),
                                          (gssize) g_bytes_get_size (bytes), &error));
      if (k == 1)
        {
          g_assert_cmpint (pulmo_model_install (staged, NULL, &error), >, 0);
          continue;
        }
      g_autofree char *old = pulmo_test_read_file (history, NULL);
      g_autofree char *before = listing_of (models);
      fault_begin (fault, models);
      int index = pulmo_model_install (staged, NULL, &error);
      fault_end (fault, models);
      g_assert_cmpint (index, ==, -1);
      assert_clear_error (error, models);
      g_autofree char *after = listing_of (models);
      g_assert_cmpstr (after, ==, before);
      g_autofree char *kept = pulmo_test_read_file (history, NULL);
      g_assert_cmpstr (kept, ==, old);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Writes past the limit fail with EFBIG instead of killing the process. */
  signal (SIGXFSZ, SIG_IGN);
  g_autoptr (GError) error = NULL;
  base_dir = g_dir_make_tmp ("pulmo-disk-faults-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *state = g_build_filename (base_dir, "state", NULL);
  g_autofree char *data = g_build_filename (base_dir, "data", NULL);
  g_setenv ("XDG_STATE_HOME", state, TRUE);
  g_setenv ("XDG_DATA_HOME", data, TRUE);
  ct_path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  const struct { const char *name; GTestDataFunc func; } writers[] = {
    { "save", test_save }, { "autosave", test_autosave }, { "export", test_export },
    { "checkpoint", test_checkpoint }, { "install", test_install },
  };
  for (guint w = 0; w < G_N_ELEMENTS (writers); w++)
    {
      g_autofree char *full = g_strdup_printf ("/disk-faults/full-disk/%s", writers[w].name);
      g_autofree char *read_only = g_strdup_printf ("/disk-faults/read-only/%s", writers[w].name);
      g_test_add_data_func (full, GINT_TO_POINTER (FAULT_FULL_DISK), writers[w].func);
      g_test_add_data_func (read_only, GINT_TO_POINTER (FAULT_READ_ONLY), writers[w].func);
    }
  int status = g_test_run ();
  pulmo_volume_unref (ct);
  g_free (ct_path);
  pulmo_test_remove_tree (base_dir);
  g_free (base_dir);
  return status;
}
