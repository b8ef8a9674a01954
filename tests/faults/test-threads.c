/* Segmentation, rendering and autosave at once, on the threads the app uses:
 * a GTask worker runs the shipped model over a CT (with the kernels' own
 * threads) and streams finished slices; the main thread copies them into a
 * label map as the window does, renders slices of all three views with the
 * labels over them, and paints edits into a second map whose autosave thread
 * writes its recovery file. Built with -Db_sanitize=thread this is the
 * ThreadSanitizer run (README: Guarantees); in any build it checks that what
 * each thread made arrived whole. */
#include <gio/gio.h>

#include "edit/recovery.h"
#include "edit/recovery-child.h"
#include "pulmo-test.h"
#include "render/slice-render.h"
#include "segment/segment.h"
#include "train/model-registry.h"

typedef struct {
  PulmoVolume *ct;
  PulmoModel *model;
  uint8_t *network;        /* the worker's labels; a slice is the main thread's once announced */
  uint8_t *final;          /* after post-processing, set before the task returns */
  GAsyncQueue *finished;   /* slice + 1, as slice_done announces them */
  PulmoProgress progress;
} Job;

static void
slice_done (int slice, void *user_data)
{
  Job *job = user_data;
  g_async_queue_push (job->finished, GINT_TO_POINTER (slice + 1));
}

static void
segment_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  PulmoSegmentOptions options;
  pulmo_segment_options_init (&options);
  options.slice_done = slice_done;
  options.user_data = job;
  options.postprocess = FALSE;
  GError *error = NULL;
  if (!pulmo_segment_volume (job->model->net, &job->model->info, job->ct, job->network, &options,
                             &job->progress, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  uint8_t *final = g_memdup2 (job->network, pulmo_volume_get_n_voxels (job->ct));
  if (!pulmo_postprocess (job->ct, final, &options.postprocess_options, &error))
    {
      g_free (final);
      g_task_return_error (task, error);
      return;
    }
  job->final = final;
  g_task_return_boolean (task, TRUE);
}

/* Copies the announced slices into @streamed; returns how many there were. */
static int
take_finished_slices (Job *job, const PulmoReslice *axial, PulmoLabelMap *streamed)
{
  int dims[3], taken = 0;
  pulmo_volume_get_dims (job->ct, dims);
  uint8_t *labels = pulmo_label_map_get_data_mutable (streamed);
  for (gpointer item; (item = g_async_queue_try_pop (job->finished)) != NULL; taken++)
    {
      int slice = GPOINTER_TO_INT (item) - 1;
      for (int v = 0; v < axial->height; v++)
        {
          gint64 index, step;
          pulmo_reslice_row (axial, dims, slice, v, &index, &step);
          for (int u = 0; u < axial->width; u++, index += step)
            labels[index] = job->network[index];
        }
    }
  if (taken > 0)
    {
      PulmoBox all = { { 0, 0, 0 }, { dims[0] - 1, dims[1] - 1, dims[2] - 1 } };
      pulmo_label_map_changed (streamed, &all);
    }
  return taken;
}

static void
finished (GObject *source, GAsyncResult *result, gpointer data)
{
  gboolean *done = data;
  *done = TRUE;
}

static void
test_segment_render_autosave (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ct_path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *shipped = pulmo_model_shipped_path (&error);
  g_assert_no_error (error);
  Job job = { .ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz"), .finished = g_async_queue_new () };
  job.model = pulmo_model_load (shipped, &error);
  g_assert_no_error (error);
  job.network = g_malloc0 (pulmo_volume_get_n_voxels (job.ct));
  int dims[3];
  pulmo_volume_get_dims (job.ct, dims);
  PulmoReslice views[3];
  for (int view = 0; view < 3; view++)
    pulmo_reslice_init (&views[view], (PulmoViewAxis) view, pulmo_volume_get_affine (job.ct), dims);
  const PulmoReslice *axial = &views[PULMO_VIEW_AXIAL];

  g_autoptr (PulmoLabelMap) streamed = pulmo_label_map_new (job.ct);
  g_autoptr (PulmoLabelMap) edited = pulmo_label_map_new (job.ct);
  g_autofree char *hash = pulmo_recovery_ct_hash (job.ct);
  PulmoAutosave *autosave = pulmo_autosave_new (edited, ct_path, hash);

  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  gboolean done = FALSE;
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, finished, &done);
  g_task_set_task_data (task, &job, NULL);
  g_task_run_in_thread (task, segment_thread);

  g_autoptr (PulmoSliceRenderer) renderer = pulmo_slice_renderer_new ();
  int most = MAX (MAX (dims[0], dims[1]), dims[2]);
  g_autofree uint32_t *pixels = g_new (uint32_t, (gsize) most * most);
  int slices = 0, frames = 0;
  guint edits = 0;
  while (!done)
    {
      slices += take_finished_slices (&job, axial, streamed);
      /* Scroll every view, the streamed labels and the edited ones in turn. */
      PulmoLabelMap *shown = frames % 2 ? streamed : edited;
      PulmoRenderParams params = {
        .window = 1500, .level = -600, .labels = pulmo_label_map_get_data (shown),
        .table = pulmo_label_map_get_table (shown), .opacity = 0.5,
      };
      const PulmoReslice *view = &views[frames % 3];
      pulmo_slice_renderer_render (renderer, job.ct, view, frames % view->n_slices, &params, pixels,
                                   view->width * 4);
      frames++;
      /* A brush stroke every few frames; autosave writes them behind. */
      if (frames % 4 == 0)
        recovery_child_edit (edited, ++edits);
      g_main_context_iteration (NULL, FALSE);
    }
  g_assert_true (g_task_propagate_boolean (task, &error));
  g_assert_no_error (error);
  slices += take_finished_slices (&job, axial, streamed);

  /* Every slice arrived once and whole; the edits all reach the recovery file. */
  g_assert_cmpint (slices, ==, axial->n_slices);
  gsize n = pulmo_volume_get_n_voxels (job.ct);
  g_assert_cmpmem (pulmo_label_map_get_data (streamed), n, job.network, n);
  g_assert_nonnull (job.final);
  g_assert_true (pulmo_autosave_flush (autosave, &error));
  g_autoptr (PulmoLabelMap) restored = pulmo_recovery_read (pulmo_autosave_get_path (autosave), job.ct,
                                                            hash, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (pulmo_label_map_get_data (restored), n, pulmo_label_map_get_data (edited), n);
  g_test_message ("%d slices segmented while %d frames were drawn and %u edits autosaved", slices,
                  frames, edits);
  g_assert_cmpuint (edits, >, 0);
  pulmo_autosave_free (autosave, TRUE);
  g_free (job.final);
  g_free (job.network);
  g_async_queue_unref (job.finished);
  pulmo_model_free (job.model);
  pulmo_volume_unref (job.ct);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *state = g_dir_make_tmp ("pulmo-threads-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("XDG_STATE_HOME", state, TRUE);
  g_test_add_func ("/threads/segment-render-autosave", test_segment_render_autosave);
  int status = g_test_run ();
  pulmo_test_remove_tree (state);
  return status;
}
