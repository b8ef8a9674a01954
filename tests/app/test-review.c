/* The review window under Xvfb, on a folder of ct-64 (Chest Imaging
 * Platform), example_ct (TotalSegmentator) and a file that is not a CT: the
 * worker pre-segments both CTs while the main loop runs, the list follows the
 * queue's order, Next opens the most uncertain case with its labels in the
 * main window and marks it in progress, Done saves a correction made there
 * and, like Flag, persists, the worker waits while the main window
 * segments, Review Queue… in the main menu opens the chosen folder, and closing
 * the window mid-way cancels the worker without recording anything. */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "app/pulmo-review-window.h"
#include "app/pulmo-window.h"
#include "app-test-window.h"
#include "app-test.h"
#include "pulmo-test.h"
#include "train/review-queue.h"

static char *
make_folder (const char *const *sources, gboolean with_broken)
{
  g_autoptr (GError) error = NULL;
  char *folder = g_dir_make_tmp ("pulmo-review-gui-XXXXXX", &error);
  g_assert_no_error (error);
  for (; *sources != NULL; sources++)
    {
      g_autofree char *target = pulmo_test_data (*sources);
      g_autofree char *base = g_path_get_basename (target);
      g_autofree char *link = g_build_filename (folder, base, NULL);
      g_assert_cmpint (symlink (target, link), ==, 0);
    }
  if (with_broken)
    {
      g_autofree char *broken = g_build_filename (folder, "broken.nii", NULL);
      g_assert_true (g_file_set_contents (broken, "not a CT", -1, NULL));
    }
  return folder;
}

static gboolean
segmenting_done (gpointer data)
{
  return !pulmo_review_window_is_segmenting (data);
}

/* Closes both windows, lets their workers see it, and removes the folder. */
static void
close_all (PulmoReviewWindow *review, PulmoWindow *main, const char *folder)
{
  gtk_window_destroy (GTK_WINDOW (review));
  gtk_window_destroy (GTK_WINDOW (main));
  app_test_iterate_pending ();
  pulmo_test_remove_tree (folder);
}

/* The queue as saved on disk, through a queue of its own. */
static PulmoReviewCase *
saved_case (const char *folder, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoReviewQueue) queue = pulmo_review_queue_open (folder, &error);
  g_assert_no_error (error);
  return pulmo_review_queue_get_case (queue, name);
}

static void
test_review (void)
{
  const char *sources[] = { "cip-chest-ct/ct-64.nii.gz", "totalsegmentator-example-ct/example_ct.nii.gz", NULL };
  g_autofree char *folder = make_folder (sources, TRUE);
  PulmoWindow *main = pulmo_window_new (NULL);
  gtk_window_present (GTK_WINDOW (main));
  g_autoptr (GFile) dir = g_file_new_for_path (folder);
  PulmoReviewWindow *review = pulmo_review_window_new (main, dir);
  gtk_window_present (GTK_WINDOW (review));
  g_assert_true (pulmo_review_window_is_segmenting (review));
  app_test_wait_for (segmenting_done, review, 120);
  g_test_message ("%s", pulmo_review_window_get_status (review));
  while (g_main_context_iteration (NULL, FALSE))
    ;

  /* The rows are the queue's cases in its order. */
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoReviewQueue) queue = pulmo_review_queue_open (folder, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) cases = pulmo_review_queue_list (queue);
  g_assert_cmpuint (cases->len, ==, 3);
  GtkListBox *list = GTK_LIST_BOX (app_test_find (GTK_WIDGET (review), GTK_TYPE_LIST_BOX, NULL));
  for (guint i = 0; i < cases->len; i++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (list, (int) i);
      g_assert_nonnull (row);
      g_assert_cmpstr (g_object_get_data (G_OBJECT (row), "pulmo-case"), ==,
                       ((PulmoReviewCase *) cases->pdata[i])->name);
    }
  g_assert_null (gtk_list_box_get_row_at_index (list, 3));
  const PulmoReviewCase *first = cases->pdata[0], *second = cases->pdata[1];
  g_assert_true (first->segmented && second->segmented);
  g_assert_cmpfloat (first->uncertainty, >, second->uncertainty);
  g_assert_cmpstr (((PulmoReviewCase *) cases->pdata[2])->name, ==, "broken.nii");

  /* Next: the most uncertain case, with its labels, now in progress. */
  g_assert_true (pulmo_review_window_next (review));
  g_assert_cmpstr (pulmo_review_window_get_current (review), ==, first->name);
  app_test_wait_for (app_test_window_loaded, main, 60);
  g_assert_null (pulmo_window_get_error (main));
  g_autofree char *labels_name = g_path_get_basename (first->labels_path);
  g_assert_cmpstr (pulmo_window_get_labels_source (main), ==, labels_name);
  g_autoptr (PulmoReviewCase) opened = saved_case (folder, first->name);
  g_assert_cmpint (opened->state, ==, PULMO_REVIEW_IN_PROGRESS);
  app_test_screenshot (GTK_WIDGET (review), "review-window");

  /* Done on the case being corrected saves the corrections first. */
  gsize before_length = 0;
  g_autofree char *before = pulmo_test_read_file (first->labels_path, &before_length);
  app_test_paint_stroke (main, PULMO_LABEL_CONSOLIDATION, 30, 60, 100, 110, 130);
  g_assert_true (_pulmo_window_has_unsaved_edits (main));
  app_test_click (GTK_WIDGET (review), "_Done");
  g_assert_false (_pulmo_window_has_unsaved_edits (main));
  gsize after_length = 0;
  g_autofree char *after = pulmo_test_read_file (first->labels_path, &after_length);
  g_assert_true (before_length != after_length || memcmp (before, after, after_length) != 0);
  g_autoptr (PulmoReviewCase) done = saved_case (folder, first->name);
  g_assert_cmpint (done->state, ==, PULMO_REVIEW_DONE);
  g_assert_true (pulmo_review_window_next (review));
  g_assert_cmpstr (pulmo_review_window_get_current (review), ==, second->name);
  app_test_wait_for (app_test_window_loaded, main, 60);
  app_test_click (GTK_WIDGET (review), "_Flag for Expert");
  g_autoptr (PulmoReviewCase) flagged = saved_case (folder, second->name);
  g_assert_cmpint (flagged->state, ==, PULMO_REVIEW_FLAGGED);
  /* Nothing left: the broken file is never offered. */
  g_assert_false (pulmo_review_window_next (review));

  close_all (review, main, folder);
}

static void
test_close_cancels (void)
{
  const char *sources[] = { "covid-ct-md/P001-256.nii.gz", NULL };
  g_autofree char *folder = make_folder (sources, FALSE);
  PulmoWindow *main = pulmo_window_new (NULL);
  g_autoptr (GFile) dir = g_file_new_for_path (folder);
  PulmoReviewWindow *review = g_object_ref (pulmo_review_window_new (main, dir));
  gtk_window_present (GTK_WINDOW (review));
  /* Let the worker load the model and start on the CT. */
  for (gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC / 2; g_get_monotonic_time () < until;)
    g_main_context_iteration (NULL, FALSE);
  g_assert_true (pulmo_review_window_is_segmenting (review));
  gtk_window_destroy (GTK_WINDOW (review));
  g_assert_false (pulmo_review_window_is_segmenting (review));
  g_object_unref (review);
  /* The worker stops at its next slice, long before it could have finished. */
  for (gint64 until = g_get_monotonic_time () + 2 * G_USEC_PER_SEC; g_get_monotonic_time () < until;)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_autoptr (PulmoReviewCase) c = saved_case (folder, "P001-256.nii.gz");
  g_assert_false (c->segmented);
  g_assert_null (c->error);
  g_assert_false (g_file_test (c->labels_path, G_FILE_TEST_EXISTS));
  gtk_window_destroy (GTK_WINDOW (main));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  pulmo_test_remove_tree (folder);
}

/* While the main window segments the CT being read, the queue starts no
 * case; once it is done, the queue goes on. */
static void
test_waits_for_main (void)
{
  const char *sources[] = { "cip-chest-ct/ct-64.nii.gz", NULL };
  g_autofree char *folder = make_folder (sources, FALSE);
  PulmoWindow *main = pulmo_window_new (NULL);
  gtk_window_present (GTK_WINDOW (main));
  g_autofree char *sample = g_build_filename (g_getenv ("PULMO_SOURCE_DIR"), "data", "samples", "P001-256.nii.gz",
                                              NULL);
  g_autoptr (GFile) ct = g_file_new_for_path (sample);
  pulmo_window_open (main, ct);
  app_test_wait_for (app_test_window_loaded, main, 60);
  pulmo_window_segment (main, FALSE);
  g_assert_true (pulmo_window_is_segmenting (main));

  g_autoptr (GFile) dir = g_file_new_for_path (folder);
  PulmoReviewWindow *review = pulmo_review_window_new (main, dir);
  gtk_window_present (GTK_WINDOW (review));
  for (gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC; g_get_monotonic_time () < until;)
    g_main_context_iteration (NULL, FALSE);
  g_assert_true (pulmo_window_is_segmenting (main));
  g_assert_nonnull (strstr (pulmo_review_window_get_status (review), "Waiting"));

  app_test_wait_for (app_test_window_segmented, main, 300);
  app_test_wait_for (segmenting_done, review, 120);
  g_autoptr (PulmoReviewCase) c = saved_case (folder, "ct-64.nii.gz");
  g_assert_true (c->segmented);
  close_all (review, main, folder);
}

/* Review Queue… in the main menu: a folder chooser, then the queue of the
 * chosen folder beside the main window. */
static void
test_menu_opens_queue (void)
{
  const char *sources[] = { "cip-chest-ct/ct-64.nii.gz", NULL };
  g_autofree char *folder = make_folder (sources, FALSE);
  PulmoWindow *main = pulmo_window_new (NULL);
  gtk_window_present (GTK_WINDOW (main));
  app_test_activate (G_ACTION_GROUP (main), "review-queue", NULL);
  app_test_iterate_pending ();
  GtkWindow *chooser = app_test_find_window ("Folder of CTs to Review");
  g_assert_true (GTK_IS_FILE_CHOOSER (chooser));
  g_autoptr (GFile) dir = g_file_new_for_path (folder);
  /* Select with nothing selected in the folder: the folder itself, as for a user. */
  g_assert_true (gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), dir, NULL));
  app_test_iterate_pending ();
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_ACCEPT);
  G_GNUC_END_IGNORE_DEPRECATIONS
  app_test_iterate_pending ();

  PulmoReviewWindow *review = NULL;
  GListModel *toplevels = gtk_window_get_toplevels ();
  for (guint w = 0; w < g_list_model_get_n_items (toplevels); w++)
    {
      g_autoptr (GtkWidget) window = g_list_model_get_item (toplevels, w);
      if (PULMO_IS_REVIEW_WINDOW (window))
        review = PULMO_REVIEW_WINDOW (window);
    }
  g_assert_nonnull (review);
  app_test_wait_for (segmenting_done, review, 120);
  g_autoptr (PulmoReviewCase) c = saved_case (folder, "ct-64.nii.gz");
  g_assert_true (c->segmented);
  close_all (review, main, folder);
}

int
main (int argc, char **argv)
{
  if (!app_test_init (&argc, &argv, "/review/no-display"))
    return g_test_run ();
  g_test_add_func ("/review/next-done-flag", test_review);
  g_test_add_func ("/review/close-cancels", test_close_cancels);
  g_test_add_func ("/review/waits-for-main", test_waits_for_main);
  g_test_add_func ("/review/menu-opens-queue", test_menu_opens_queue);
  return g_test_run ();
}
