/* fault-child: writes one kind of file over and over until test-kill kills
 * it with SIGKILL. Usage: fault-child OPERATION FOLDER FIRST, where
 * OPERATION is save, autosave, export, checkpoint or install. Before it
 * starts writing version k (from FIRST) it prints k, so the test knows that
 * version k - 1 was complete and version k may be in flight. */
#include <stdio.h>
#include <stdlib.h>

#include "core/pulmo-error.h"
#include "edit/recovery.h"
#include "fault-versions.h"
#include "pulmo-test.h"
#include "train/export.h"
#include "train/model-registry.h"

static void
announce (guint k)
{
  printf ("%u\n", k);
  fflush (stdout);
}

static void
check (gboolean ok, GError *error)
{
  if (!ok)
    g_error ("%s", error->message);
}

int
main (int argc, char **argv)
{
  if (argc != 4)
    return 2;
  const char *operation = argv[1], *folder = argv[2];
  guint first = (guint) strtoul (argv[3], NULL, 10);
  g_autoptr (GError) error = NULL;
  g_autofree char *ct_path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autoptr (PulmoVolume) ct = pulmo_volume_load (ct_path, NULL, NULL, &error);
  check (ct != NULL, error);

  if (g_str_equal (operation, "save"))
    {
      g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
      g_autofree char *path = g_build_filename (folder, "labels.nii.gz", NULL);
      for (guint k = first;; k++)
        {
          fault_labels_version (map, k);
          announce (k);
          check (pulmo_label_map_save (map, path, &error), error);
        }
    }
  if (g_str_equal (operation, "autosave"))
    {
      /* As the app does on opening a CT: the edits a crash left are restored. */
      g_autofree char *hash = pulmo_recovery_ct_hash (ct);
      g_autofree char *recovery = pulmo_recovery_path (ct_path);
      g_autoptr (PulmoLabelMap) map = NULL;
      if (g_file_test (recovery, G_FILE_TEST_EXISTS))
        check ((map = pulmo_recovery_read (recovery, ct, hash, &error)) != NULL, error);
      else
        map = pulmo_label_map_new (ct);
      PulmoAutosave *autosave = pulmo_autosave_new (map, ct_path, hash);
      for (guint k = first;; k++)
        {
          recovery_child_edit (map, k);
          announce (k);
          check (pulmo_autosave_flush (autosave, &error), error);
          g_main_context_iteration (NULL, FALSE);
        }
    }
  if (g_str_equal (operation, "export"))
    {
      g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
      fault_labels_version (map, 1);
      g_autofree char *dataset = g_build_filename (folder, "dataset", NULL);
      PulmoExportOptions options;
      pulmo_export_options_init (&options);
      for (guint k = first;; k++)
        {
          announce (k);
          g_autofree char *id = pulmo_export_case (dataset, map, &options, &error);
          check (id != NULL, error);
        }
    }
  if (g_str_equal (operation, "checkpoint"))
    {
      g_autofree char *path = g_build_filename (folder, "run.checkpoint", NULL);
      for (guint k = first;; k++)
        {
          announce (k);
          check (fault_checkpoint_save (path, k, &error), error);
        }
    }
  if (g_str_equal (operation, "install"))
    {
      for (guint k = first;; k++)
        {
          g_autoptr (GBytes) bytes = fault_model_bytes (k);
          g_autofree char *name = g_strdup_printf ("model-%u.pulmonet", k);
          g_autofree char *staged = g_build_filename (folder, name, NULL);
          gsize size;
          const char *data = g_bytes_get_data (bytes, &size);
          check (g_file_set_contents (staged, data, (gssize) size, &error), error);
          announce (k);
          check (pulmo_model_install (staged, "fault test", &error) >= 0, error);
          g_unlink (staged);
        }
    }
  return 2;
}
