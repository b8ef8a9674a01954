/* pulmo-window-open.c: opening a CT, a DICOM folder or a label file in a worker
 * thread, with progress in the status bar and errors in the window, which stays
 * usable meanwhile; and label names for the open label map. */
#include "app/pulmo-window-private.h"

#include <glib/gi18n.h>

#include "core/dicom-import.h"
#include "core/label-description.h"
#include "core/pulmo-error.h"

typedef enum {
  LOAD_CT,
  LOAD_DICOM,
  LOAD_LABELS,
} LoadKind;

/* Owned by the task: the worker writes @progress, the main loop polls it. */
typedef struct {
  LoadKind kind;
  GFile *file;
  char *path;
  PulmoVolume *ct;       /* LOAD_LABELS: the grid the labels must lie on */
  PulmoProgress progress;
} LoadJob;

static void
load_job_free (LoadJob *job)
{
  g_clear_object (&job->file);
  g_free (job->path);
  g_clear_pointer (&job->ct, pulmo_volume_unref);
  g_free (job);
}

static void
load_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  LoadJob *job = task_data;
  GError *error = NULL;
  switch (job->kind)
    {
    case LOAD_CT:
    case LOAD_DICOM:
      {
        PulmoVolume *volume = job->kind == LOAD_DICOM
                                ? pulmo_dicom_import (job->path, &job->progress, cancellable, &error)
                                : pulmo_volume_load (job->path, &job->progress, cancellable, &error);
        if (volume == NULL)
          g_task_return_error (task, error);
        else
          g_task_return_pointer (task, volume, (GDestroyNotify) pulmo_volume_unref);
        return;
      }
    case LOAD_LABELS:
      {
        PulmoLabelMap *labels = pulmo_label_map_load (job->ct, job->path, &job->progress, cancellable, &error);
        if (labels == NULL)
          g_task_return_error (task, error);
        else
          g_task_return_pointer (task, labels, g_object_unref);
        return;
      }
    default:
      g_assert_not_reached ();
    }
}

static gboolean
poll_progress (gpointer data)
{
  PulmoWindow *self = data;
  if (self->load_task == NULL)
    return G_SOURCE_CONTINUE;
  LoadJob *job = g_task_get_task_data (self->load_task);
  double fraction = pulmo_progress_fraction (&job->progress);
  const char *phase = g_atomic_pointer_get (&job->progress.phase);
  g_autofree char *basename = g_file_get_basename (job->file);
  g_autofree char *text = NULL;
  if (phase != NULL) /* the library's phase names ("Reading voxels") are marked with N_() */
    text = g_strdup_printf ("%s %s", _(phase), basename);
  else
    /* Translators: progress while a CT, DICOM folder or label file starts loading; %s is its name. */
    text = g_strdup_printf (_("Opening %s"), basename);
  gtk_progress_bar_set_text (self->progress_bar, text);
  if (fraction < 0)
    gtk_progress_bar_pulse (self->progress_bar);
  else
    gtk_progress_bar_set_fraction (self->progress_bar, fraction);
  return G_SOURCE_CONTINUE;
}

static void
load_finished (GObject *source, GAsyncResult *result, gpointer data)
{
  PulmoWindow *self = PULMO_WINDOW (source);
  GTask *task = G_TASK (result);
  LoadJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  gpointer loaded = g_task_propagate_pointer (task, &error);
  if (self->state == NULL) /* the window closed meanwhile */
    {
      if (loaded != NULL)
        job->kind == LOAD_LABELS ? g_object_unref (loaded) : pulmo_volume_unref (loaded);
      return;
    }

  /* A newer load replaced this one: it owns the progress bar now. */
  if (self->load_task == task)
    {
      g_clear_object (&self->load_task);
      g_clear_object (&self->load_cancellable);
      g_clear_handle_id (&self->progress_timeout, g_source_remove);
      gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), FALSE);
    }
  if (loaded == NULL)
    {
      if (!g_error_matches (error, PULMO_ERROR, PULMO_ERROR_CANCELLED)
          && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _pulmo_window_show_error (self, error->message);
      return;
    }

  if (job->kind == LOAD_LABELS)
    {
      /* The CT may have changed while the labels loaded. */
      if (pulmo_view_state_get_volume (self->state) == job->ct)
        {
          _pulmo_window_abandon_segment (self);
          pulmo_view_state_set_labels (self->state, loaded);
          _pulmo_window_set_labels_file (self, job->file);
          g_autofree char *name = g_file_get_basename (job->file);
          _pulmo_window_set_labels_source (self, name);
        }
      g_object_unref (loaded);
      g_autoptr (GFile) label_names = g_steal_pointer (&self->pending_label_names);
      if (label_names != NULL)
        pulmo_window_open_label_names (self, label_names);
      return;
    }

  g_autofree char *name = g_file_get_basename (job->file);
  pulmo_view_state_set_volume (self->state, loaded, name);
  /* What the header could not be trusted for (left and right of an ANALYZE
   * file) stays in the bar above the views until the user closes it. */
  if (pulmo_volume_get_warning (loaded) != NULL)
    _pulmo_window_show_error (self, pulmo_volume_get_warning (loaded));
  else
    gtk_info_bar_set_revealed (self->error_bar, FALSE);
  pulmo_volume_unref (loaded);
  g_autofree char *uri = g_file_get_uri (job->file);
  gtk_recent_manager_add_item (gtk_recent_manager_get_default (), uri);
  g_action_group_activate_action (G_ACTION_GROUP (self), "layout", g_variant_new_string ("all"));
  if (self->pending_labels != NULL)
    {
      g_autoptr (GFile) labels = g_steal_pointer (&self->pending_labels);
      g_autoptr (GFile) label_names = g_steal_pointer (&self->pending_label_names);
      pulmo_window_open_labels (self, labels);
      g_set_object (&self->pending_label_names, label_names);
    }
}

void
_pulmo_window_cancel_load (PulmoWindow *self)
{
  g_clear_object (&self->pending_labels);
  g_clear_object (&self->pending_label_names);
  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_task);
  g_clear_object (&self->load_cancellable);
  g_clear_handle_id (&self->progress_timeout, g_source_remove);
  if (self->progress_bar != NULL)
    gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), FALSE);
}

static void
start_load (PulmoWindow *self, LoadKind kind, GFile *file)
{
  g_autofree char *path = g_file_get_path (file);
  if (path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (file);
      g_autofree char *message = g_strdup_printf (_("%s is not a local file"), uri);
      _pulmo_window_show_error (self, message);
      return;
    }
  _pulmo_window_cancel_load (self);
  gtk_info_bar_set_revealed (self->error_bar, FALSE);

  LoadJob *job = g_new0 (LoadJob, 1);
  job->kind = kind;
  job->file = g_object_ref (file);
  job->path = g_steal_pointer (&path);
  if (kind == LOAD_LABELS)
    job->ct = pulmo_volume_ref (pulmo_view_state_get_volume (self->state));

  self->load_cancellable = g_cancellable_new ();
  self->load_task = g_task_new (self, self->load_cancellable, load_finished, NULL);
  g_task_set_task_data (self->load_task, job, (GDestroyNotify) load_job_free);
  g_task_set_return_on_cancel (self->load_task, FALSE);
  /* The callback holds its own reference; ours tells which load is current. */
  GTask *task = g_object_ref (self->load_task);
  g_task_run_in_thread (task, load_thread);
  g_object_unref (task);

  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), TRUE);
  self->progress_timeout = g_timeout_add (100, poll_progress, self);
  poll_progress (self);
}

/* What to open once unsaved edits are saved or discarded. */
typedef struct {
  GFile *ct;              /* NULL: @labels onto the CT shown */
  GFile *labels;
  GFile *label_names;
} OpenRequest;

static void
open_request_free (OpenRequest *request)
{
  g_clear_object (&request->ct);
  g_clear_object (&request->labels);
  g_clear_object (&request->label_names);
  g_free (request);
}

static void
open_now (PulmoWindow *self, gpointer data)
{
  OpenRequest *request = data;
  if (request->ct == NULL)
    {
      start_load (self, LOAD_LABELS, request->labels);
      return;
    }
  gboolean folder = g_file_query_file_type (request->ct, G_FILE_QUERY_INFO_NONE, NULL) == G_FILE_TYPE_DIRECTORY;
  start_load (self, folder ? LOAD_DICOM : LOAD_CT, request->ct);
  /* After start_load, which forgets what an older load had pending. */
  g_set_object (&self->pending_labels, request->labels);
  g_set_object (&self->pending_label_names, request->label_names);
}

/* Another CT, or other labels, replace the labels shown: unsaved edits to them are asked about first. */
static void
request_open (PulmoWindow *self, GFile *ct, GFile *labels, GFile *label_names)
{
  OpenRequest *request = g_new0 (OpenRequest, 1);
  g_set_object (&request->ct, ct);
  g_set_object (&request->labels, labels);
  g_set_object (&request->label_names, label_names);
  _pulmo_window_ask_unsaved (self, open_now, request, (GDestroyNotify) open_request_free);
}

void
pulmo_window_open (PulmoWindow *self, GFile *file)
{
  g_return_if_fail (PULMO_IS_WINDOW (self));
  request_open (self, file, NULL, NULL);
}

void
pulmo_window_open_with_labels (PulmoWindow *self, GFile *ct, GFile *labels, GFile *label_names)
{
  g_return_if_fail (PULMO_IS_WINDOW (self));
  request_open (self, ct, labels, label_names);
}

void
pulmo_window_open_labels (PulmoWindow *self, GFile *file)
{
  g_return_if_fail (PULMO_IS_WINDOW (self));
  if (pulmo_view_state_get_volume (self->state) == NULL)
    {
      _pulmo_window_show_error (self, _("Open a CT before its labels"));
      return;
    }
  request_open (self, NULL, file, NULL);
}

/* A label description is a few KiB (and never more than 1 MiB): read at once. */
void
pulmo_window_open_label_names (PulmoWindow *self, GFile *file)
{
  g_return_if_fail (PULMO_IS_WINDOW (self));
  PulmoLabelMap *labels = pulmo_view_state_get_labels (self->state);
  if (labels == NULL)
    {
      _pulmo_window_show_error (self, _("Open a label map before its label names"));
      return;
    }
  g_autofree char *path = g_file_get_path (file);
  if (path == NULL)
    {
      _pulmo_window_show_error (self, _("Label names must be in a local file"));
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoLabelTable) table = pulmo_label_description_load (path, &error);
  if (table == NULL)
    {
      _pulmo_window_show_error (self, error->message);
      return;
    }
  gtk_info_bar_set_revealed (self->error_bar, FALSE);
  pulmo_label_map_set_table (labels, table);
}

gboolean
pulmo_window_is_loading (PulmoWindow *self)
{
  return self->load_task != NULL;
}
