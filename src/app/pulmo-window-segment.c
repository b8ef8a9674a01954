/* pulmo-window-segment.c: the Segment action. The shipped model runs on a
 * worker thread over the CT on screen: the axial slice shown first, then the
 * others nearest first, each streamed into the overlay as it is done; then
 * post-processing names the lungs and the final labels replace the streamed
 * ones. Cancel (or a failure) puts back the labels that were there before.
 *
 * The worker writes only its own buffers. It pushes each finished slice onto
 * a queue; the main loop copies those slices into the label map it shows.
 * Post-processing works on a copy, so the main loop may still read any slice
 * it was told about. */
#include "app/pulmo-window-private.h"

#include <glib/gi18n.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/pulmo-error.h"
#include "segment/segment.h"
#include "train/model-registry.h"

/* How often the main loop takes finished slices into the overlay. */
#define STREAM_INTERVAL_MS 40
/* The tick that measures how long the main loop is kept from running. */
#define STALL_TICK_MS 5

typedef struct {
  PulmoVolume *ct;
  PulmoReslice axial;
  int first_slice;
  uint8_t *network;       /* the network's decisions, written by the worker */
  uint8_t *final;         /* post-processed copy: the result */
  GAsyncQueue *finished;  /* slice + 1 for each slice written to @network */
  PulmoProgress progress;
  char *model_identity;
} SegmentJob;

static void
segment_job_free (SegmentJob *job)
{
  pulmo_volume_unref (job->ct);
  g_free (job->network);
  g_free (job->final);
  g_async_queue_unref (job->finished);
  g_free (job->model_identity);
  g_free (job);
}

static void
slice_done (int slice, void *user_data)
{
  SegmentJob *job = user_data;
  g_async_queue_push (job->finished, GINT_TO_POINTER (slice + 1));
}

static void
segment_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SegmentJob *job = task_data;
  GError *error = NULL;
  pulmo_progress_begin (&job->progress, "Loading the model", 0);
  g_autoptr (PulmoModel) model = pulmo_model_load (NULL, &error);
  if (model == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  job->model_identity = g_strdup (model->identity);
  PulmoSegmentOptions options;
  pulmo_segment_options_init (&options);
  options.first_slice = job->first_slice;
  options.slice_done = slice_done;
  options.user_data = job;
  options.postprocess = FALSE;
  if (!pulmo_segment_volume (model->net, &model->info, job->ct, job->network, &options,
                             &job->progress, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  pulmo_progress_begin (&job->progress, "Finishing", 0);
  job->final = g_memdup2 (job->network, pulmo_volume_get_n_voxels (job->ct));
  if (!pulmo_postprocess (job->ct, job->final, &options.postprocess_options, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* Copies the slices the worker has finished into the streamed label map. */
static void
take_finished_slices (PulmoWindow *self, SegmentJob *job)
{
  PulmoLabelMap *map = self->segment_result;
  int dims[3];
  pulmo_volume_get_dims (job->ct, dims);
  uint8_t *labels = pulmo_label_map_get_data_mutable (map);
  int lo = G_MAXINT, hi = -1;
  for (gpointer item; (item = g_async_queue_try_pop (job->finished)) != NULL;)
    {
      int slice = GPOINTER_TO_INT (item) - 1;
      for (int v = 0; v < job->axial.height; v++)
        {
          gint64 index, step;
          pulmo_reslice_row (&job->axial, dims, slice, v, &index, &step);
          for (int u = 0; u < job->axial.width; u++, index += step)
            labels[index] = job->network[index];
        }
      lo = MIN (lo, slice);
      hi = MAX (hi, slice);
    }
  if (hi < 0)
    return;
  PulmoBox box = { { 0, 0, 0 }, { dims[0] - 1, dims[1] - 1, dims[2] - 1 } };
  box.lo[job->axial.slice_axis] = lo;
  box.hi[job->axial.slice_axis] = hi;
  pulmo_label_map_changed (map, &box);
}

static void
show_segment_progress (PulmoWindow *self, SegmentJob *job)
{
  double fraction = pulmo_progress_fraction (&job->progress);
  const char *phase = g_atomic_pointer_get (&job->progress.phase);
  gint64 done = __atomic_load_n (&job->progress.done, __ATOMIC_RELAXED);
  gint64 total = __atomic_load_n (&job->progress.total, __ATOMIC_RELAXED);
  g_autofree char *text = NULL;
  if (g_strcmp0 (phase, "Segmenting") == 0 && done > 0)
    {
      double elapsed = (g_get_monotonic_time () - self->segment_start_us) * 1e-6;
      double left = elapsed / done * (total - done);
      /* Translators: segmentation progress: slices done, slices in all, seconds left. */
      text = g_strdup_printf (_("Segmenting: slice %" PRId64 " of %" PRId64 ", %.0f s left"),
                              done, total, ceil (left));
    }
  else if (g_strcmp0 (phase, "Finishing") == 0)
    text = g_strdup (_("Naming the lungs…"));
  else
    text = g_strdup (_("Starting segmentation…"));
  gtk_progress_bar_set_text (self->segment_progress, text);
  if (fraction < 0)
    gtk_progress_bar_pulse (self->segment_progress);
  else
    gtk_progress_bar_set_fraction (self->segment_progress, fraction);
}

static gboolean
stream_tick (gpointer data)
{
  PulmoWindow *self = data;
  if (self->segment_task == NULL)
    return G_SOURCE_CONTINUE;
  SegmentJob *job = g_task_get_task_data (self->segment_task);
  take_finished_slices (self, job);
  show_segment_progress (self, job);
  return G_SOURCE_CONTINUE;
}

static gboolean
stall_tick (gpointer data)
{
  PulmoWindow *self = data;
  gint64 now = g_get_monotonic_time ();
  double gap_ms = (now - self->stall_last_us) / 1e3;
  self->segment_longest_stall_ms = MAX (self->segment_longest_stall_ms, gap_ms);
  self->stall_last_us = now;
  return G_SOURCE_CONTINUE;
}

static void
stop_ticks (PulmoWindow *self)
{
  g_clear_handle_id (&self->segment_timeout, g_source_remove);
  g_clear_handle_id (&self->stall_timeout, g_source_remove);
  gtk_widget_set_visible (self->segment_box, FALSE);
}

static void
segment_finished (GObject *source, GAsyncResult *result, gpointer data)
{
  PulmoWindow *self = PULMO_WINDOW (source);
  GTask *task = G_TASK (result);
  SegmentJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (task, &error);
  if (self->segment_task != task) /* cancelled and replaced, or the window closed */
    return;
  stop_ticks (self);
  g_clear_object (&self->segment_task);
  g_clear_object (&self->segment_cancellable);
  g_autoptr (PulmoLabelMap) previous = g_steal_pointer (&self->segment_previous);
  g_autoptr (PulmoLabelMap) map = g_steal_pointer (&self->segment_result);
  _pulmo_window_update_actions (self);

  if (!ok)
    {
      if (pulmo_view_state_get_volume (self->state) == job->ct)
        pulmo_view_state_set_labels (self->state, previous);
      pulmo_report_panel_set_segmenting (self->report_panel, FALSE);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _pulmo_window_show_error (self, error->message);
      return;
    }
  size_t n = pulmo_volume_get_n_voxels (job->ct);
  memcpy (pulmo_label_map_get_data_mutable (map), job->final, n);
  int dims[3];
  pulmo_volume_get_dims (job->ct, dims);
  PulmoBox all = { { 0, 0, 0 }, { dims[0] - 1, dims[1] - 1, dims[2] - 1 } };
  pulmo_label_map_changed (map, &all);
  pulmo_report_panel_set_segmenting (self->report_panel, FALSE);
  g_set_weak_pointer (&self->segmented_labels, map);
  g_clear_pointer (&self->model_labels, g_bytes_unref);
  self->model_labels = g_bytes_new (job->final, n);
  g_free (self->model_labels_identity);
  self->model_labels_identity = g_strdup (job->model_identity);
  self->segmented_revision = pulmo_label_map_get_revision (map);
  _pulmo_window_set_labels_source (self, job->model_identity);
  _pulmo_window_update_actions (self);  /* Compare with the Model's Labels */
  /* The model's labels are editable now: the history's users take them up. */
  g_object_notify (G_OBJECT (self->edit), "history");
  double seconds = (g_get_monotonic_time () - self->segment_start_us) * 1e-6;
  g_debug ("segmentation: %.2f s, longest main-loop stall %.1f ms", seconds,
           self->segment_longest_stall_ms);
  /* Translators: shown when segmentation ends; %.1f is seconds, %s the model's name. */
  g_autofree char *done = g_strdup_printf (_("Segmented in %.1f s with %s. These labels are a "
                                             "model's output: check them."),
                                           seconds, job->model_identity);
  _pulmo_window_show_toast (self, done);
}

void
_pulmo_window_cancel_segment (PulmoWindow *self)
{
  if (self->segment_task == NULL)
    return;
  g_cancellable_cancel (self->segment_cancellable);
  /* The worker stops at its next slice; segment_finished restores the labels. */
}

void
_pulmo_window_abandon_segment (PulmoWindow *self)
{
  if (self->segment_task == NULL)
    return;
  g_cancellable_cancel (self->segment_cancellable);
  stop_ticks (self);
  g_clear_object (&self->segment_task);  /* segment_finished will see it is not current */
  g_clear_object (&self->segment_cancellable);
  g_clear_object (&self->segment_previous);
  g_clear_object (&self->segment_result);
  pulmo_report_panel_set_segmenting (self->report_panel, FALSE);
}

static void
start_segment (PulmoWindow *self)
{
  PulmoVolume *ct = pulmo_view_state_get_volume (self->state);
  if (ct == NULL || self->segment_task != NULL)
    return;
  gtk_info_bar_set_revealed (self->error_bar, FALSE);
  SegmentJob *job = g_new0 (SegmentJob, 1);
  job->ct = pulmo_volume_ref (ct);
  int dims[3], cursor[3], u, v;
  pulmo_volume_get_dims (ct, dims);
  pulmo_reslice_init (&job->axial, PULMO_VIEW_AXIAL, pulmo_volume_get_affine (ct), dims);
  pulmo_view_state_get_cursor (self->state, cursor);
  pulmo_reslice_from_voxel (&job->axial, cursor, &u, &v, &job->first_slice);
  job->network = g_malloc0 (pulmo_volume_get_n_voxels (ct));
  job->finished = g_async_queue_new ();

  self->segment_cancellable = g_cancellable_new ();
  self->segment_task = g_task_new (self, self->segment_cancellable, segment_finished, NULL);
  g_task_set_task_data (self->segment_task, job, (GDestroyNotify) segment_job_free);

  /* The streamed result is a new map; the old one comes back on Cancel. It is
   * shown once segmenting, so that no edit or autosave starts on it. */
  PulmoLabelMap *current = pulmo_view_state_get_labels (self->state);
  g_set_object (&self->segment_previous, current);
  self->segment_result = pulmo_label_map_new (ct);
  pulmo_report_panel_set_segmenting (self->report_panel, TRUE);
  pulmo_view_state_set_labels (self->state, self->segment_result);
  GTask *task = g_object_ref (self->segment_task);
  g_task_run_in_thread (task, segment_thread);
  g_object_unref (task);

  self->segment_start_us = self->stall_last_us = g_get_monotonic_time ();
  self->segment_longest_stall_ms = 0;
  gtk_progress_bar_set_fraction (self->segment_progress, 0);
  gtk_widget_set_visible (self->segment_box, TRUE);
  self->segment_timeout = g_timeout_add (STREAM_INTERVAL_MS, stream_tick, self);
  self->stall_timeout = g_timeout_add (STALL_TICK_MS, stall_tick, self);
  show_segment_progress (self, job);
  _pulmo_window_update_actions (self);
}

static void
start_segment_then (PulmoWindow *self, gpointer data)
{
  start_segment (self);
}

static void
replace_response (GtkDialog *dialog, int response, PulmoWindow *self)
{
  gtk_window_destroy (GTK_WINDOW (dialog));
  if (response == GTK_RESPONSE_ACCEPT)
    start_segment (self);
}

/* Labels the user has, other than the model's untouched last result. */
static gboolean
labels_worth_asking (PulmoWindow *self)
{
  PulmoLabelMap *labels = pulmo_view_state_get_labels (self->state);
  return labels != NULL && !(labels == self->segmented_labels
                             && pulmo_label_map_get_revision (labels) == self->segmented_revision);
}

void
pulmo_window_segment (PulmoWindow *self, gboolean ask)
{
  g_return_if_fail (PULMO_IS_WINDOW (self));
  if (ask && _pulmo_window_has_unsaved_edits (self))
    {
      _pulmo_window_ask_unsaved (self, start_segment_then, NULL, NULL);
      return;
    }
  if (!ask || !labels_worth_asking (self))
    {
      start_segment (self);
      return;
    }
  /* GTK 4.8 has no GtkAlertDialog yet (4.10): the message dialog it offers. */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GtkWidget *dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                              GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
                                              _("Replace the labels?"));
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                            _("The model's segmentation replaces the labels shown "
                                              "now, with their edits. Save them first to keep them."));
  gtk_dialog_add_buttons (GTK_DIALOG (dialog), _("_Cancel"), GTK_RESPONSE_CANCEL, _("_Replace"),
                          GTK_RESPONSE_ACCEPT, NULL);
  G_GNUC_END_IGNORE_DEPRECATIONS
  g_signal_connect (dialog, "response", G_CALLBACK (replace_response), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

gboolean
pulmo_window_is_segmenting (PulmoWindow *self)
{
  return self->segment_task != NULL;
}

double
pulmo_window_get_segment_stall_ms (PulmoWindow *self)
{
  return self->segment_longest_stall_ms;
}
