/* The review queue (train/review-queue.h) on a folder of three real CTs —
 * ct-64 (Chest Imaging Platform, 4 mm), example_ct (TotalSegmentator,
 * abdomen with the lung bases) and P001-256 (COVID-CT-MD) — and a file that
 * is not a CT, pre-segmented once with the shipped model: the queue's order
 * follows the measured uncertainty, states persist, the annotator's labels
 * are never overwritten, a corrupt state file is set aside, and the broken
 * file gets an error entry. */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "core/pulmo-error.h"
#include "core/pulmo-label-map.h"
#include "segment/segment.h"
#include "train/review-queue.h"
#include "pulmo-test.h"

static const char *const sources[] = {
  "cip-chest-ct/ct-64.nii.gz",
  "totalsegmentator-example-ct/example_ct.nii.gz",
  "covid-ct-md/P001-256.nii.gz",
};

static char *folder;        /* the queue's folder, pre-segmented once in main () */
static PulmoModel *model;   /* the shipped model */

static PulmoReviewQueue *
open_queue (void)
{
  g_autoptr (GError) error = NULL;
  PulmoReviewQueue *queue = pulmo_review_queue_open (folder, &error);
  g_assert_no_error (error);
  return queue;
}

/* Pre-segments every case that asks for it; returns how many were tried. */
static int
presegment_all (PulmoReviewQueue *queue, PulmoModel *with)
{
  int tried = 0;
  for (char *name; (name = pulmo_review_queue_next_to_segment (queue, with->identity)) != NULL; g_free (name))
    {
      g_autoptr (GError) error = NULL;
      gboolean ok = pulmo_review_queue_presegment (queue, name, with, NULL, NULL, &error);
      g_assert_true (ok == (error == NULL));
      g_assert_true (ok || strcmp (name, "broken.nii.gz") == 0);
      tried++;
      g_assert_cmpint (tried, <=, 4);
    }
  return tried;
}

static PulmoReviewCase *
get_case (PulmoReviewQueue *queue, const char *name)
{
  PulmoReviewCase *c = pulmo_review_queue_get_case (queue, name);
  g_assert_nonnull (c);
  return c;
}

static void
test_order (void)
{
  g_autoptr (PulmoReviewQueue) queue = open_queue ();
  g_assert_null (pulmo_review_queue_get_warning (queue));
  g_autoptr (GPtrArray) cases = pulmo_review_queue_list (queue);
  /* The hidden file, the label file, the text file and the subfolder are not cases. */
  g_assert_cmpuint (cases->len, ==, 4);
  for (guint i = 0; i < 3; i++)
    {
      const PulmoReviewCase *c = cases->pdata[i];
      g_test_message ("%u. %s: uncertainty %.4f over %" G_GUINT64_FORMAT " lung pixels", i + 1, c->name,
                      c->uncertainty, c->lung_pixels);
      g_assert_true (c->segmented);
      g_assert_null (c->error);
      g_assert_cmpstr (c->model, ==, model->identity);
      g_assert_cmpint (c->state, ==, PULMO_REVIEW_NOT_STARTED);
      g_assert_cmpfloat (c->uncertainty, >, 0);
      g_assert_cmpfloat (c->uncertainty, <, 1);
      g_assert_cmpuint (c->lung_pixels, >, 1000);
      /* Most uncertain first, and the figures tell the cases apart. */
      if (i > 0)
        g_assert_cmpfloat (((PulmoReviewCase *) cases->pdata[i - 1])->uncertainty, >, c->uncertainty);
      g_assert_true (g_file_test (c->labels_path, G_FILE_TEST_IS_REGULAR));
    }
  /* The file that is not a CT comes last, with a message naming it. */
  const PulmoReviewCase *broken = cases->pdata[3];
  g_assert_cmpstr (broken->name, ==, "broken.nii.gz");
  g_assert_false (broken->segmented);
  g_assert_nonnull (broken->error);
  g_assert_nonnull (strstr (broken->error, "broken.nii.gz"));
  g_assert_false (g_file_test (broken->labels_path, G_FILE_TEST_EXISTS));
  /* … and is not tried again until its file changes. */
  g_assert_null (pulmo_review_queue_next_to_segment (queue, model->identity));
}

/* The pre-segmentation's labels are those of pulmo_segment_ct without the
 * uncertainty, and the uncertainty does not depend on the slice order. */
static void
test_labels_unchanged (void)
{
  g_autoptr (PulmoReviewQueue) queue = open_queue ();
  g_autoptr (PulmoReviewCase) c = get_case (queue, "ct-64.nii.gz");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) ct = pulmo_volume_load (c->ct_path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (PulmoLabelMap) saved = pulmo_label_map_load (ct, c->labels_path, NULL, NULL, &error);
  g_assert_no_error (error);
  gsize n = pulmo_volume_get_n_voxels (ct);
  g_autofree uint8_t *plain = g_malloc (n);
  g_autofree uint8_t *measured = g_malloc (n);
  PulmoSegmentOptions options;
  pulmo_segment_options_init (&options);
  g_assert_true (pulmo_segment_ct (model->net, &model->info, ct, plain, &options, NULL, NULL, &error));
  PulmoSegmentUncertainty uncertainty = { 0 };
  options.uncertainty = &uncertainty;
  options.first_slice = 0;
  g_assert_true (pulmo_segment_ct (model->net, &model->info, ct, measured, &options, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (plain, n, pulmo_label_map_get_data (saved), n);
  g_assert_cmpmem (measured, n, plain, n);
  g_assert_cmpfloat (uncertainty.mean_entropy, ==, c->uncertainty);
  g_assert_cmpuint (uncertainty.n_pixels, ==, c->lung_pixels);
  guint64 counts[256];
  pulmo_label_map_count (saved, counts);
  g_assert_cmpuint (counts[1] + counts[2], >, 1000);
}

static void
test_next_and_persistence (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoReviewQueue) queue = open_queue ();
  g_autoptr (GPtrArray) cases = pulmo_review_queue_list (queue);
  const char *a = ((PulmoReviewCase *) cases->pdata[0])->name;
  const char *b = ((PulmoReviewCase *) cases->pdata[1])->name;
  const char *c = ((PulmoReviewCase *) cases->pdata[2])->name;

  g_autoptr (PulmoReviewCase) first = pulmo_review_queue_next (queue, NULL);
  g_assert_cmpstr (first->name, ==, a);
  g_autoptr (PulmoReviewCase) second = pulmo_review_queue_next (queue, a);
  g_assert_cmpstr (second->name, ==, b);
  /* After the last measured case it wraps round; the broken one is never offered. */
  g_autoptr (PulmoReviewCase) wrapped = pulmo_review_queue_next (queue, c);
  g_assert_cmpstr (wrapped->name, ==, a);

  g_assert_true (pulmo_review_queue_set_state (queue, a, PULMO_REVIEW_IN_PROGRESS, &error));
  g_assert_true (pulmo_review_queue_set_state (queue, b, PULMO_REVIEW_DONE, &error));
  g_assert_true (pulmo_review_queue_set_state (queue, c, PULMO_REVIEW_FLAGGED, &error));
  g_assert_no_error (error);
  g_assert_false (pulmo_review_queue_set_state (queue, "absent.nii.gz", PULMO_REVIEW_DONE, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  /* Done and flagged cases are skipped; the one left is the one open. */
  g_autoptr (PulmoReviewCase) only = pulmo_review_queue_next (queue, a);
  g_assert_cmpstr (only->name, ==, a);

  /* Reopened: the same states, the same order, nothing to segment again. */
  g_autoptr (PulmoReviewQueue) again = open_queue ();
  g_autoptr (GPtrArray) reread = pulmo_review_queue_list (again);
  g_assert_cmpuint (reread->len, ==, cases->len);
  for (guint i = 0; i < cases->len; i++)
    {
      const PulmoReviewCase *before = cases->pdata[i], *after = reread->pdata[i];
      g_assert_cmpstr (after->name, ==, before->name);
      g_assert_cmpfloat (after->uncertainty, ==, before->uncertainty);
      g_assert_cmpuint (after->lung_pixels, ==, before->lung_pixels);
    }
  g_assert_cmpint (((PulmoReviewCase *) reread->pdata[0])->state, ==, PULMO_REVIEW_IN_PROGRESS);
  g_assert_cmpint (((PulmoReviewCase *) reread->pdata[1])->state, ==, PULMO_REVIEW_DONE);
  g_assert_cmpint (((PulmoReviewCase *) reread->pdata[2])->state, ==, PULMO_REVIEW_FLAGGED);
  g_assert_null (pulmo_review_queue_next_to_segment (again, model->identity));

  g_assert_true (pulmo_review_queue_set_state (again, a, PULMO_REVIEW_DONE, &error));
  g_assert_null (pulmo_review_queue_next (again, NULL));
  for (guint i = 0; i < 3; i++)
    g_assert_true (pulmo_review_queue_set_state (again, ((PulmoReviewCase *) reread->pdata[i])->name,
                                                 PULMO_REVIEW_NOT_STARTED, &error));
}

/* Replaces the CT's link by a copy of its file: another modification time. */
static void
replace_ct (const char *path)
{
  gsize size;
  g_autofree char *bytes = pulmo_test_read_file (path, &size);
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_true (g_file_set_contents (path, bytes, (gssize) size, NULL));
}

static void
test_annotator_labels_kept (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoReviewQueue) queue = open_queue ();
  g_autoptr (PulmoReviewCase) c = get_case (queue, "ct-64.nii.gz");

  /* Another model's pre-segmentation replaces ours while nobody has started. */
  PulmoModel other = *model;
  other.identity = (char *) "other-model 00000000";
  g_autofree char *to_redo = pulmo_review_queue_next_to_segment (queue, other.identity);
  g_assert_nonnull (to_redo);   /* every not-started case, first in name order */
  GStatBuf before, after;
  g_assert_cmpint (g_stat (c->labels_path, &before), ==, 0);
  g_usleep (10000);
  g_assert_true (pulmo_review_queue_presegment (queue, c->name, &other, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (c->labels_path, &after), ==, 0);
  g_assert_true (after.st_ino != before.st_ino);
  g_autoptr (PulmoReviewCase) redone = get_case (queue, c->name);
  g_assert_cmpstr (redone->model, ==, other.identity);

  /* The annotator corrects the labels and marks the case done. */
  g_autoptr (PulmoVolume) ct = pulmo_volume_load (c->ct_path, NULL, NULL, &error);
  g_autoptr (PulmoLabelMap) labels = pulmo_label_map_load (ct, c->labels_path, NULL, NULL, &error);
  g_assert_no_error (error);
  memset (pulmo_label_map_get_data_mutable (labels), PULMO_LABEL_GROUND_GLASS, 100);
  g_assert_true (pulmo_label_map_save (labels, c->labels_path, &error));
  gsize corrected_size;
  g_autofree char *corrected = pulmo_test_read_file (c->labels_path, &corrected_size);
  g_assert_true (pulmo_review_queue_set_state (queue, c->name, PULMO_REVIEW_DONE, &error));

  /* Pre-segmenting it again, asked for directly or because its CT changed,
   * measures it but leaves the annotator's file alone, done or in progress. */
  g_assert_true (pulmo_review_queue_presegment (queue, c->name, model, NULL, NULL, &error));
  g_assert_no_error (error);
  replace_ct (c->ct_path);
  g_assert_true (pulmo_review_queue_set_state (queue, c->name, PULMO_REVIEW_IN_PROGRESS, &error));
  g_autofree char *changed = pulmo_review_queue_next_to_segment (queue, model->identity);
  g_assert_cmpstr (changed, ==, "ct-64.nii.gz");
  g_autoptr (PulmoReviewCase) stale = get_case (queue, c->name);
  g_assert_false (stale->segmented);
  g_assert_cmpint (presegment_all (queue, model), ==, 1);
  g_autoptr (PulmoReviewCase) measured = get_case (queue, c->name);
  g_assert_true (measured->segmented);
  g_assert_cmpfloat (measured->uncertainty, ==, c->uncertainty);   /* the same voxels */
  gsize size;
  g_autofree char *kept = pulmo_test_read_file (c->labels_path, &size);
  g_assert_cmpmem (kept, size, corrected, corrected_size);
  /* Even back to not-started: the file is no longer the one it wrote. */
  g_assert_true (pulmo_review_queue_set_state (queue, c->name, PULMO_REVIEW_NOT_STARTED, &error));
  g_assert_true (pulmo_review_queue_presegment (queue, c->name, &other, NULL, NULL, &error));
  g_autofree char *still = pulmo_test_read_file (c->labels_path, &size);
  g_assert_cmpmem (still, size, corrected, corrected_size);
}

static void
test_corrupt_state (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *state = g_build_filename (folder, PULMO_REVIEW_STATE_FILE, NULL);
  g_autofree char *aside = g_strconcat (state, ".corrupt", NULL);
  g_autofree char *labels = g_build_filename (folder, PULMO_REVIEW_LABELS_DIR, "ct-64-labels.nii.gz", NULL);
  gsize labels_size;
  g_autofree char *labels_before = pulmo_test_read_file (labels, &labels_size);

  /* A newer version is refused, and its file left as it is. */
  const char *newer = "{\"version\": 99, \"cases\": {}}";
  g_assert_true (g_file_set_contents (state, newer, -1, NULL));
  g_assert_null (pulmo_review_queue_open (folder, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  gsize size;
  g_autofree char *untouched = pulmo_test_read_file (state, &size);
  g_assert_cmpstr (untouched, ==, newer);

  /* Broken JSON, and valid JSON of the wrong shape: set aside, started afresh. */
  const char *broken[] = { "{\"version\": 1, \"cases\": {\"ct-64.nii.gz\": {\"sta",
                           "{\"version\": 1, \"cases\": {\"ct-64.nii.gz\": {\"state\": 5}}}",
                           "[1, 2, 3]" };
  for (size_t b = 0; b < G_N_ELEMENTS (broken); b++)
    {
      g_assert_true (g_file_set_contents (state, broken[b], -1, NULL));
      g_autoptr (PulmoReviewQueue) queue = pulmo_review_queue_open (folder, &error);
      g_assert_no_error (error);
      g_assert_nonnull (pulmo_review_queue_get_warning (queue));
      g_test_message ("%s", pulmo_review_queue_get_warning (queue));
      g_autofree char *kept = pulmo_test_read_file (aside, &size);
      g_assert_cmpstr (kept, ==, broken[b]);
      g_autoptr (GPtrArray) cases = pulmo_review_queue_list (queue);
      g_assert_cmpuint (cases->len, ==, 4);
      for (guint i = 0; i < cases->len; i++)
        {
          g_assert_false (((PulmoReviewCase *) cases->pdata[i])->segmented);
          g_assert_cmpint (((PulmoReviewCase *) cases->pdata[i])->state, ==, PULMO_REVIEW_NOT_STARTED);
        }
    }
  /* Pre-segmenting afresh measures the case but keeps the label file found
   * there: nothing records that pre-segmentation wrote it. */
  g_autoptr (PulmoReviewQueue) queue = open_queue ();
  g_assert_true (pulmo_review_queue_presegment (queue, "ct-64.nii.gz", model, NULL, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *labels_after = pulmo_test_read_file (labels, &size);
  g_assert_cmpmem (labels_after, size, labels_before, labels_size);
  g_autoptr (PulmoReviewCase) c = get_case (queue, "ct-64.nii.gz");
  g_assert_true (c->segmented);
}

static void
write_file (const char *name, const char *contents)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  folder = g_dir_make_tmp ("pulmo-review-XXXXXX", &error);
  g_assert_no_error (error);
  for (size_t s = 0; s < G_N_ELEMENTS (sources); s++)
    {
      g_autofree char *target = pulmo_test_data (sources[s]);
      g_autofree char *base = g_path_get_basename (target);
      g_autofree char *link = g_build_filename (folder, base, NULL);
      g_assert_cmpint (symlink (target, link), ==, 0);
    }
  write_file ("broken.nii.gz", "not a CT at all");
  write_file (".hidden.nii.gz", "hidden");
  write_file ("old-labels.nii.gz", "a label map, not a case");
  write_file ("notes.txt", "not NIfTI");
  g_autofree char *sub = g_build_filename (folder, "series.nii", NULL);
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);

  model = pulmo_model_load (NULL, &error);
  g_assert_no_error (error);
  gint64 start = g_get_monotonic_time ();
  PulmoReviewQueue *queue = open_queue ();
  g_assert_cmpint (presegment_all (queue, model), ==, 4);
  pulmo_review_queue_free (queue);
  g_test_message ("pre-segmented in %.1f s", (g_get_monotonic_time () - start) * 1e-6);

  g_test_add_func ("/review-queue/order", test_order);
  g_test_add_func ("/review-queue/labels-unchanged", test_labels_unchanged);
  g_test_add_func ("/review-queue/next-and-persistence", test_next_and_persistence);
  g_test_add_func ("/review-queue/annotator-labels-kept", test_annotator_labels_kept);
  g_test_add_func ("/review-queue/corrupt-state", test_corrupt_state);
  int status = g_test_run ();
  pulmo_model_free (model);
  pulmo_test_remove_tree (folder);
  g_free (folder);
  return status;
}
