/* The recovery file on COVID-CT-MD P001: the labels and table come back byte
 * for byte, only onto the CT they were made on; damaged, truncated and newer
 * files are refused with a message; the autosave writes within about a second
 * of a change; and a process editing under autosave, killed with SIGKILL at
 * random moments (during writes too), always leaves a file that holds exactly
 * one of the states it had reached. */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <zlib.h>

#include "core/pulmo-error.h"
#include "edit/recovery.h"
#include "pulmo-test.h"
#include "recovery-child.h"

static char *state_home;

static void
test_round_trip (void)
{
  g_autofree char *ct_path = pulmo_test_data ("covid-ct-md/P001.nii.gz");
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("covid-ct-md/P001.nii.gz");
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  gsize n = pulmo_volume_get_n_voxels (ct);
  /* Lung by HU, a lesion, and a label of the annotator's own, hidden. */
  const int16_t *hu = pulmo_volume_get_int16 (ct);
  uint8_t *labels = pulmo_label_map_get_data_mutable (map);
  for (gsize p = 0; p < n; p++)
    labels[p] = hu[p] < -500 ? (hu[p] < -950 ? 12 : 1) : (hu[p] > 300 ? 3 : 0);
  g_autoptr (PulmoLabelTable) table = pulmo_label_table_copy (pulmo_label_map_get_table (map));
  const uint8_t teal[4] = { 0, 128, 128, 255 };
  pulmo_label_table_set (table, 12, "Emphysema, très sévère", teal);
  pulmo_label_table_set_visible (table, 12, FALSE);
  pulmo_label_map_set_table (map, table);

  g_autofree char *hash = pulmo_recovery_ct_hash (ct);
  g_assert_cmpuint (strlen (hash), ==, 64);
  g_autofree char *path = pulmo_recovery_path (ct_path);
  g_assert_true (g_str_has_prefix (path, state_home));
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_recovery_write (path, ct_path, hash, ct, labels, table, &error));
  g_assert_no_error (error);

  g_autoptr (PulmoLabelMap) back = pulmo_recovery_read (path, ct, hash, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (pulmo_label_map_get_data (back), n, labels, n);
  const PulmoLabel *label = pulmo_label_table_get (pulmo_label_map_get_table (back), 12);
  g_assert_true (label->defined);
  g_assert_cmpstr (label->name, ==, "Emphysema, très sévère");
  g_assert_cmpmem (label->rgba, 4, teal, 4);
  g_assert_false (label->visible);

  /* Another CT (P001 at 256×256) is refused, as is the same grid with other voxels. */
  g_autoptr (PulmoVolume) other = pulmo_test_load_ct ("covid-ct-md/P001-256.nii.gz");
  g_autofree char *other_hash = pulmo_recovery_ct_hash (other);
  g_assert_cmpstr (other_hash, !=, hash);
  g_autoptr (PulmoLabelMap) refused = pulmo_recovery_read (path, other, other_hash, &error);
  g_assert_null (refused);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_GRID_MISMATCH);
  g_clear_error (&error);
  g_autoptr (PulmoLabelMap) changed = pulmo_recovery_read (path, ct, other_hash, &error);
  g_assert_null (changed);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_GRID_MISMATCH);
  g_clear_error (&error);
  pulmo_recovery_discard (path);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  pulmo_recovery_discard (path); /* absent: no error */
}

static PulmoLabelMap *
read_bytes (PulmoVolume *ct, const char *hash, const char *bytes, gsize size, GError **error)
{
  g_autofree char *path = g_build_filename (state_home, "damaged.pulmo-recovery", NULL);
  g_assert_true (g_file_set_contents (path, bytes, (gssize) size, NULL));
  return pulmo_recovery_read (path, ct, hash, error);
}

static void
test_damaged (void)
{
  g_autofree char *ct_path = pulmo_test_data ("covid-ct-md/P001-256.nii.gz");
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("covid-ct-md/P001-256.nii.gz");
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  uint8_t *labels = pulmo_label_map_get_data_mutable (map);
  for (gsize p = 0; p < pulmo_volume_get_n_voxels (ct); p++)
    labels[p] = (uint8_t) (p / 1000 % 5);
  g_autofree char *hash = pulmo_recovery_ct_hash (ct);
  g_autofree char *path = g_build_filename (state_home, "good.pulmo-recovery", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_recovery_write (path, ct_path, hash, ct, labels, pulmo_label_map_get_table (map), &error));
  g_autofree char *good = NULL;
  gsize size;
  g_assert_true (g_file_get_contents (path, &good, &size, NULL));

  /* One flipped bit anywhere: header, path, table, labels, CRC. */
  g_autofree char *bad = g_memdup2 (good, size);
  for (gsize at = 0; at < size; at += 1 + at / 7)
    {
      bad[at] ^= 0x10;
      g_autoptr (PulmoLabelMap) refused = read_bytes (ct, hash, bad, size, &error);
      g_assert_null (refused);
      g_assert_nonnull (error);
      g_clear_error (&error);
      bad[at] = good[at];
    }
  /* Cut anywhere. */
  for (gsize cut = 0; cut < size; cut += 1 + cut / 5)
    {
      g_autoptr (PulmoLabelMap) refused = read_bytes (ct, hash, good, cut, &error);
      g_assert_null (refused);
      g_assert_error (error, PULMO_ERROR, PULMO_ERROR_CORRUPT);
      g_clear_error (&error);
    }
  /* A later format, with a valid checksum: said to be from a newer Pulmo. */
  bad[8] = 2;
  guint32 crc = GUINT32_TO_LE ((guint32) crc32 (0, (const Bytef *) bad, (uInt) (size - 4)));
  memcpy (bad + size - 4, &crc, 4);
  g_autoptr (PulmoLabelMap) newer = read_bytes (ct, hash, bad, size, &error);
  g_assert_null (newer);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "newer Pulmo"));
  g_clear_error (&error);
  /* Enormous dims under the right hash and a valid checksum: refused before
   * anything of that size is allocated (g_malloc would abort). Dims follow
   * magic, version, flags, the path and the hash, each length-prefixed. */
  memcpy (bad, good, size);
  guint32 path_length;
  memcpy (&path_length, good + 16, 4);
  gsize dims_at = 16 + 4 + GUINT32_FROM_LE (path_length) + 4 + 64;
  const guint32 huge = GUINT32_TO_LE (32767);
  for (int a = 0; a < 3; a++)
    memcpy (bad + dims_at + 4 * a, &huge, 4);
  crc = GUINT32_TO_LE ((guint32) crc32 (0, (const Bytef *) bad, (uInt) (size - 4)));
  memcpy (bad + size - 4, &crc, 4);
  g_autoptr (PulmoLabelMap) enormous = read_bytes (ct, hash, bad, size, &error);
  g_assert_null (enormous);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_GRID_MISMATCH);
  g_clear_error (&error);
  /* Not there at all. */
  g_autofree char *missing = g_build_filename (state_home, "missing.pulmo-recovery", NULL);
  g_autoptr (PulmoLabelMap) none = pulmo_recovery_read (missing, ct, hash, &error);
  g_assert_null (none);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND);
}

static gboolean
file_holds (const char *path, PulmoVolume *ct, const char *hash, const uint8_t *expected)
{
  g_autoptr (PulmoLabelMap) back = pulmo_recovery_read (path, ct, hash, NULL);
  gsize n = pulmo_volume_get_n_voxels (ct);
  return back != NULL && memcmp (pulmo_label_map_get_data (back), expected, n) == 0;
}

static void
test_autosave (void)
{
  g_autofree char *ct_path = pulmo_test_data ("covid-ct-md/P001.nii.gz");
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("covid-ct-md/P001.nii.gz");
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  g_autofree char *hash = pulmo_recovery_ct_hash (ct);
  PulmoAutosave *autosave = pulmo_autosave_new (map, ct_path, hash);
  const char *path = pulmo_autosave_get_path (autosave);
  g_autofree char *expected_path = pulmo_recovery_path (ct_path);
  g_assert_cmpstr (path, ==, expected_path);
  g_usleep (500000);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS)); /* nothing changed yet */

  /* A change is on disk within about a second, the main loop running. */
  gint64 worst_us = 0;
  for (guint k = 1; k <= 3; k++)
    {
      gint64 start = g_get_monotonic_time ();
      recovery_child_edit (map, k);
      gint64 handler_us = g_get_monotonic_time () - start;
      g_test_message ("edit %u: %.2f ms on the main thread", k, handler_us / 1000.0);
      while (!file_holds (path, ct, hash, pulmo_label_map_get_data (map)))
        {
          g_main_context_iteration (NULL, FALSE);
          g_usleep (20000);
          g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
        }
      worst_us = MAX (worst_us, g_get_monotonic_time () - start);
    }
  g_test_message ("changes on disk within %.0f ms", worst_us / 1000.0);
  g_assert_cmpint (worst_us, <, 1500 * G_TIME_SPAN_MILLISECOND);

  /* The table too, and flush writes at once. */
  g_autoptr (PulmoLabelTable) table = pulmo_label_table_copy (pulmo_label_map_get_table (map));
  const uint8_t red[4] = { 255, 0, 0, 255 };
  pulmo_label_table_set (table, 3, "Ground glass, confirmed", red);
  pulmo_label_map_set_table (map, table);
  recovery_child_edit (map, 4);
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_autosave_flush (autosave, &error));
  g_assert_no_error (error);
  g_assert_null (pulmo_autosave_get_error (autosave));
  g_autoptr (PulmoLabelMap) back = pulmo_recovery_read (path, ct, hash, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pulmo_label_table_get (pulmo_label_map_get_table (back), 3)->name, ==, "Ground glass, confirmed");
  g_assert_true (file_holds (path, ct, hash, pulmo_label_map_get_data (map)));

  /* Saved or declined edits take the file with them. */
  pulmo_autosave_free (autosave, TRUE);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_sigkill (void)
{
  g_autofree char *ct_path = pulmo_test_data ("covid-ct-md/P001-256.nii.gz");
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("covid-ct-md/P001-256.nii.gz");
  g_autofree char *hash = pulmo_recovery_ct_hash (ct);
  g_autofree char *path = pulmo_recovery_path (ct_path);
  gsize n = pulmo_volume_get_n_voxels (ct);
  g_autoptr (GRand) rand = g_rand_new_with_seed (18);
  int recovered = 0, mid_write = 0;

  for (int run = 0; run < 30; run++)
    {
      pulmo_recovery_discard (path);
      g_autoptr (GError) error = NULL;
      /* Every other child flushes after each edit: its kill mostly interrupts a write. */
      g_autoptr (GSubprocess) child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                                                        g_getenv ("RECOVERY_CHILD"), ct_path,
                                                        run % 2 ? "flush" : NULL, NULL);
      g_assert_no_error (error);
      g_usleep ((gulong) g_rand_int_range (rand, 400000, 1400000));
      g_subprocess_send_signal (child, SIGKILL);
      g_autofree char *out = NULL;
      g_assert_true (g_subprocess_communicate_utf8 (child, NULL, NULL, &out, NULL, &error));
      g_assert_true (g_subprocess_get_if_signaled (child));
      /* A kill in the middle of a write leaves its temporary twin behind. */
      g_autofree char *folder = g_path_get_dirname (path);
      g_autoptr (GDir) listing = g_dir_open (folder, 0, NULL);
      for (const char *name; listing != NULL && (name = g_dir_read_name (listing)) != NULL;)
        if (name[0] == '.')
          {
            g_autofree char *twin = g_build_filename (folder, name, NULL);
            g_unlink (twin);
            mid_write++;
          }
      guint last = 0;
      g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
      for (int l = 0; lines[l] != NULL; l++)
        if (lines[l][0] != '\0')
          last = (guint) g_ascii_strtoull (lines[l], NULL, 10);

      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        continue; /* killed before its first write */
      g_autoptr (PulmoLabelMap) back = pulmo_recovery_read (path, ct, hash, &error);
      g_assert_no_error (error); /* never a torn file */
      const uint8_t *kept = pulmo_label_map_get_data (back);
      /* Replay the child's edits until the file's state: it must be one of them. */
      g_autoptr (PulmoLabelMap) replay = pulmo_label_map_new (ct);
      gboolean found = memcmp (pulmo_label_map_get_data (replay), kept, n) == 0;
      guint at = 0;
      for (guint k = 1; !found && k <= last + 1; k++)
        {
          recovery_child_edit (replay, k);
          found = memcmp (pulmo_label_map_get_data (replay), kept, n) == 0;
          at = k;
        }
      g_assert_true (found);
      g_test_message ("run %d: killed after edit %u, the file holds edit %u", run, last, at);
      /* Autosaved within about a second of the edits: little is lost. */
      g_assert_cmpuint (last - MIN (at, last), <, 1000);
      recovered++;
    }
  g_test_message ("%d of 30 kills left a recovery file, all exact; %d of them in the middle of a write", recovered, mid_write);
  g_assert_cmpint (recovered, >=, 20);
  pulmo_recovery_discard (path);
}

int
main (int argc, char **argv)
{
  state_home = g_dir_make_tmp ("pulmo-state-XXXXXX", NULL);
  g_setenv ("XDG_STATE_HOME", state_home, TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/recovery/round-trip", test_round_trip);
  g_test_add_func ("/recovery/damaged", test_damaged);
  g_test_add_func ("/recovery/autosave", test_autosave);
  g_test_add_func ("/recovery/sigkill", test_sigkill);
  int status = g_test_run ();
  pulmo_test_remove_tree (state_home);
  g_free (state_home);
  return status;
}
