/* pulmo-window-edit.c: the window's side of annotation: undo and redo, saving
 * the labels, the mark and the question for unsaved edits, and crash recovery.
 *
 * Unsaved edits are counted in undo steps: the map is clean when as many steps
 * are applied as when it was last saved (or shown), so undoing back to the
 * saved labels clears the mark. Recovery: once a CT is shown, a worker hashes
 * it and reads its recovery file, which the recovery bar offers to restore;
 * from then on an autosave keeps that file current with the labels shown. A
 * deliberate close, a save or a replacement the user agreed to removes it. */
#include "app/pulmo-window-private.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "app/pulmo-edit-actions.h"
#include "app/pulmo-preferences.h"
#include "app/pulmo-slice-view.h"
#include "app/pulmo-tool-panel.h"
#include "app/pulmo-weak-ref.h"

/* The editing operations that are not the window's own (pulmo-edit-actions.c):
 * off while a segmentation writes the labels. */
static const char *const operation_actions[] = { "islands", "fill-between", "morphology" };

gboolean
_pulmo_window_has_unsaved_edits (PulmoWindow *self)
{
  return self->history != NULL && self->history_position != self->saved_position;
}

static void
update_title (PulmoWindow *self)
{
  const char *name = pulmo_view_state_get_display_name (self->state);
  gboolean has = pulmo_view_state_get_volume (self->state) != NULL;
  /* Translators: the file name in the title bar while its labels have unsaved edits. */
  g_autofree char *marked = g_strdup_printf (_("• %s"), name);
  gtk_label_set_text (self->subtitle_label, !has ? "" : _pulmo_window_has_unsaved_edits (self) ? marked : name);
  gtk_widget_set_visible (GTK_WIDGET (self->subtitle_label), has);
}

/* Undo and Redo in the menu say what they would change: "Undo Paint". */
static void
update_edit_menu (PulmoWindow *self)
{
  const char *undo = self->history != NULL ? pulmo_edit_history_get_undo_name (self->history) : NULL;
  const char *redo = self->history != NULL ? pulmo_edit_history_get_redo_name (self->history) : NULL;
  /* Translators: the menu item that undoes the last edit, named by it, e.g. "Undo Paint". */
  g_autofree char *undo_label = undo != NULL ? g_strdup_printf (_("_Undo %s"), undo) : g_strdup (_("_Undo"));
  /* Translators: the menu item that redoes an undone edit, e.g. "Redo Paint". */
  g_autofree char *redo_label = redo != NULL ? g_strdup_printf (_("_Redo %s"), redo) : g_strdup (_("_Redo"));
  g_menu_remove_all (self->edit_section);
  g_menu_append (self->edit_section, undo_label, "win.undo");
  g_menu_append (self->edit_section, redo_label, "win.redo");
}

void
_pulmo_window_update_edit_actions (PulmoWindow *self)
{
  if (self->edit == NULL)
    return;
  /* A segmentation owns the labels until it ends: no tool, undo or operation may write them. */
  gboolean segmenting = pulmo_window_is_segmenting (self);
  gboolean editable = self->history != NULL && !segmenting;
  const struct { const char *name; gboolean enabled; } depends[] = {
    { "undo", editable && pulmo_edit_history_can_undo (self->history) },
    { "redo", editable && pulmo_edit_history_can_redo (self->history) },
    { "save-labels-as", editable },
  };
  for (size_t a = 0; a < G_N_ELEMENTS (depends); a++)
    {
      GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), depends[a].name);
      g_simple_action_set_enabled (G_SIMPLE_ACTION (action), depends[a].enabled);
    }
  if (segmenting)
    for (size_t a = 0; a < G_N_ELEMENTS (operation_actions); a++)
      {
        GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), operation_actions[a]);
        if (G_IS_SIMPLE_ACTION (action))
          g_simple_action_set_enabled (G_SIMPLE_ACTION (action), FALSE);
      }
  for (int axis = 0; axis < PULMO_N_VIEWS; axis++)
    pulmo_slice_view_set_edit_state (pulmo_window_get_view (self, axis), segmenting ? NULL : self->edit);
  pulmo_panel_set_edit_state (self->panel, segmenting ? NULL : self->edit);
  update_edit_menu (self);
  update_title (self);
}

/* Autosave ------------------------------------------------------------------ */

static void
stop_autosave (PulmoWindow *self, gboolean discard)
{
  if (self->autosave != NULL)
    pulmo_autosave_free (g_steal_pointer (&self->autosave), discard);
}

/* Autosaves the labels shown, once the CT's hash is known and the user has
 * answered the recovery bar (an autosave would overwrite the file it offers).
 * Nothing is written before the first change. */
static void
start_autosave (PulmoWindow *self)
{
  if (self->autosave != NULL || self->history == NULL || self->ct_hash == NULL || self->recovered != NULL
      || pulmo_window_is_segmenting (self))
    return;
  const char *ct_path = pulmo_volume_get_path (pulmo_view_state_get_volume (self->state));
  self->autosave = pulmo_autosave_new (pulmo_edit_history_get_map (self->history), ct_path, self->ct_hash);
}

/* History ------------------------------------------------------------------- */

/* Another label map is shown: its history starts clean. The user agreed to
 * replacing the old map's edits, so their recovery file goes. */
static void
on_history (PulmoEditState *edit, GParamSpec *pspec, PulmoWindow *self)
{
  PulmoEditHistory *history = pulmo_edit_state_get_history (edit);
  if (history != self->history)
    {
      self->history = history;
      self->history_position = self->saved_position = 0;
      g_clear_object (&self->labels_file);
      stop_autosave (self, TRUE);
    }
  start_autosave (self);
  _pulmo_window_update_edit_actions (self);
}

static void
on_edited (PulmoEditState *edit, PulmoWindow *self)
{
  if (!self->stepping)
    {
      /* A new step drops the redo steps: a save among them is out of reach. */
      self->history_position++;
      if (self->saved_position >= self->history_position)
        self->saved_position = -1;
    }
  _pulmo_window_training_edited (self);
  _pulmo_window_update_edit_actions (self);
}

static void
step (PulmoWindow *self, gboolean redo)
{
  if (self->history == NULL || pulmo_window_is_segmenting (self))
    return;
  if (!(redo ? pulmo_edit_history_redo (self->history) : pulmo_edit_history_undo (self->history)))
    return;
  self->history_position += redo ? 1 : -1;
  self->stepping = TRUE;
  pulmo_edit_state_edited (self->edit);
  self->stepping = FALSE;
}

static void
undo_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  step (data, FALSE);
}

static void
redo_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  step (data, TRUE);
}

/* Saving -------------------------------------------------------------------- */

void
_pulmo_window_set_labels_file (PulmoWindow *self, GFile *file)
{
  g_set_object (&self->labels_file, file);
}

/* Writes the labels shown to @file; FALSE (with the error shown) if they were not saved. */
static gboolean
save_to (PulmoWindow *self, GFile *file)
{
  PulmoLabelMap *labels = pulmo_view_state_get_labels (self->state);
  g_autofree char *path = g_file_get_path (file);
  const char *ct_path = pulmo_volume_get_path (pulmo_view_state_get_volume (self->state));
  g_autoptr (GFile) ct = ct_path != NULL ? g_file_new_for_path (ct_path) : NULL;
  g_autoptr (GError) error = NULL;
  if (labels == NULL)
    return FALSE;
  if (path == NULL)
    _pulmo_window_show_error (self, _("Labels can be saved only to a local file"));
  else if (ct != NULL && g_file_equal (ct, file))
    _pulmo_window_show_error (self, _("That is the CT itself: choose another name for its labels"));
  else if (!pulmo_label_map_save (labels, path, &error))
    _pulmo_window_show_error (self, error->message);
  else
    {
      _pulmo_window_set_labels_file (self, file);
      self->saved_position = self->history_position;
      g_autofree char *name = g_file_get_basename (file);
      _pulmo_window_set_labels_source (self, name);
      /* Translators: %s is the label file's name. */
      g_autofree char *text = g_strdup_printf (_("Labels saved as %s"), name);
      _pulmo_window_show_toast (self, text);
      /* Saved edits need no recovery; later ones start a new file. */
      stop_autosave (self, TRUE);
      start_autosave (self);
      _pulmo_window_update_edit_actions (self);
      return TRUE;
    }
  return FALSE;
}

/* What to do once the labels are saved; owned by the Save As chooser. */
typedef struct {
  PulmoWindowThen then;
  gpointer data;
  GDestroyNotify destroy;
} Continuation;

static void
continuation_free (Continuation *next)
{
  if (next->destroy != NULL)
    next->destroy (next->data);
  g_free (next);
}

static void
continue_with (PulmoWindow *self, Continuation *next)
{
  if (next->then != NULL)
    next->then (self, next->data);
  continuation_free (next);
}

static void
save_as_response (GtkNativeDialog *dialog, int response, PulmoWindow *self)
{
  Continuation *next = g_object_steal_data (G_OBJECT (dialog), "pulmo-next");
  g_autoptr (GFile) file = response == GTK_RESPONSE_ACCEPT ? gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog))
                                                           : NULL;
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  if (file != NULL && save_to (self, file))
    continue_with (self, next);
  else
    continuation_free (next);
}

/* Asks where to save the labels, saves them there and then runs @next. */
static void
save_as (PulmoWindow *self, Continuation *next)
{
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (_("Save Labels"), GTK_WINDOW (self),
                                                              GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  _pulmo_window_add_nifti_filters (GTK_FILE_CHOOSER (dialog));
  g_autofree char *base = _pulmo_window_ct_base_name (self);
  g_autofree char *name = g_strdup_printf ("%s-labels.nii.gz", base);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
  g_object_set_data_full (G_OBJECT (dialog), "pulmo-next", next, (GDestroyNotify) continuation_free);
  g_signal_connect (dialog, "response", G_CALLBACK (save_as_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* Saves to the labels' own file, or asks for one for the model's output or a new map. */
static void
save (PulmoWindow *self, Continuation *next)
{
  if (self->labels_file == NULL)
    save_as (self, next);
  else if (save_to (self, self->labels_file))
    continue_with (self, next);
  else
    continuation_free (next);
}

static void
save_labels_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  save (data, g_new0 (Continuation, 1));
}

static void
save_labels_as_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  save_as (data, g_new0 (Continuation, 1));
}

/* The unsaved-edits question ------------------------------------------------ */

static void
unsaved_response (GtkDialog *dialog, int response, PulmoWindow *self)
{
  Continuation *next = g_object_steal_data (G_OBJECT (dialog), "pulmo-next");
  gtk_window_destroy (GTK_WINDOW (dialog));
  if (response == GTK_RESPONSE_ACCEPT)
    save (self, next);
  else if (response == GTK_RESPONSE_REJECT)
    continue_with (self, next);
  else
    continuation_free (next);
}

void
_pulmo_window_save_unsaved (PulmoWindow *self, PulmoWindowThen then, gpointer data, GDestroyNotify destroy)
{
  Continuation *next = g_new (Continuation, 1);
  *next = (Continuation) { then, data, destroy };
  if (_pulmo_window_has_unsaved_edits (self))
    save (self, next);
  else
    continue_with (self, next);
}

void
_pulmo_window_ask_unsaved (PulmoWindow *self, PulmoWindowThen then, gpointer data, GDestroyNotify destroy)
{
  Continuation *next = g_new (Continuation, 1);
  *next = (Continuation) { then, data, destroy };
  if (!_pulmo_window_has_unsaved_edits (self))
    {
      continue_with (self, next);
      return;
    }
  /* GTK 4.8 has no GtkAlertDialog yet (4.10): the message dialog it offers. */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GtkWidget *dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                              GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
                                              _("Save the edited labels of %s?"),
                                              pulmo_view_state_get_display_name (self->state));
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                            _("Your edits are lost if you do not save them."));
  gtk_dialog_add_buttons (GTK_DIALOG (dialog), _("_Cancel"), GTK_RESPONSE_CANCEL, _("_Discard"),
                          GTK_RESPONSE_REJECT, _("_Save"), GTK_RESPONSE_ACCEPT, NULL);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  gtk_widget_add_css_class (gtk_dialog_get_widget_for_response (GTK_DIALOG (dialog), GTK_RESPONSE_REJECT),
                            "destructive-action");
  G_GNUC_END_IGNORE_DEPRECATIONS
  /* The dialog owns the continuation: closing the window with it frees it. */
  g_object_set_data_full (G_OBJECT (dialog), "pulmo-next", next, (GDestroyNotify) continuation_free);
  g_signal_connect (dialog, "response", G_CALLBACK (unsaved_response), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
close_now (PulmoWindow *self, gpointer data)
{
  self->close_confirmed = TRUE;
  gtk_window_close (GTK_WINDOW (self));
}

/* Closing with unsaved edits asks first; a deliberate close leaves no recovery file. */
static gboolean
on_close_request (GtkWindow *window, PulmoWindow *self)
{
  if (!self->close_confirmed && _pulmo_window_has_unsaved_edits (self))
    {
      _pulmo_window_ask_unsaved (self, close_now, NULL, NULL);
      return TRUE;
    }
  stop_autosave (self, TRUE);
  return FALSE;
}

/* Recovery ------------------------------------------------------------------ */

typedef struct {
  PulmoVolume *ct;
  char *ct_path;
  char *hash;            /* results: the CT's hash … */
  char *recovery_path;   /* … where its recovery file lives … */
  PulmoLabelMap *map;    /* … and the labels in it, if it holds any for this CT */
  GDateTime *written;
} RecoveryJob;

static void
recovery_job_free (RecoveryJob *job)
{
  pulmo_volume_unref (job->ct);
  g_free (job->ct_path);
  g_free (job->hash);
  g_free (job->recovery_path);
  g_clear_object (&job->map);
  g_clear_pointer (&job->written, g_date_time_unref);
  g_free (job);
}

/* Hashing a CT reads all its voxels and the recovery file is deflated: both off the main thread. */
static void
recovery_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  RecoveryJob *job = task_data;
  job->hash = pulmo_recovery_ct_hash (job->ct);
  job->recovery_path = pulmo_recovery_path (job->ct_path);
  GStatBuf info;
  if (g_stat (job->recovery_path, &info) == 0)
    {
      g_autoptr (GError) error = NULL;
      job->map = pulmo_recovery_read (job->recovery_path, job->ct, job->hash, &error);
      if (job->map != NULL)
        job->written = g_date_time_new_from_unix_local (info.st_mtime);
      else
        g_debug ("%s is not restored: %s", job->recovery_path, error->message);
    }
  g_task_return_boolean (task, TRUE);
}

/* @data is a weak reference to the window: hashing a large CT must not keep
 * a closed window (and its settings, saved when it goes) alive. */
static void
recovery_found (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (PulmoWindow) self = pulmo_weak_ref_take (data);
  RecoveryJob *job = g_task_get_task_data (G_TASK (result));
  /* A newer CT (or none) is shown, or the window is closing. */
  if (self == NULL || g_task_get_cancellable (G_TASK (result)) != self->hash_cancellable)
    return;
  self->ct_hash = g_steal_pointer (&job->hash);
  self->recovery_path = g_steal_pointer (&job->recovery_path);
  if (job->map != NULL)
    {
      self->recovered = g_steal_pointer (&job->map);
      g_autofree char *when = g_date_time_format (job->written, "%Y-%m-%d %H:%M");
      /* Translators: %s is the date and time the edits were last autosaved. */
      g_autofree char *text = g_strdup_printf (_("Unsaved edits from %s were recovered."), when);
      gtk_label_set_text (self->recovery_label, text);
      gtk_info_bar_set_revealed (self->recovery_bar, TRUE);
    }
  start_autosave (self);
}

static void
cancel_recovery (PulmoWindow *self)
{
  if (self->hash_cancellable != NULL)
    g_cancellable_cancel (self->hash_cancellable);
  g_clear_object (&self->hash_cancellable);
  g_clear_pointer (&self->ct_hash, g_free);
  g_clear_pointer (&self->recovery_path, g_free);
  g_clear_object (&self->recovered);
  if (self->recovery_bar != NULL)
    gtk_info_bar_set_revealed (self->recovery_bar, FALSE);
}

void
_pulmo_window_edit_volume_changed (PulmoWindow *self)
{
  /* The old CT's labels, and with them their autosave, went first (on_history). */
  cancel_recovery (self);
  PulmoVolume *ct = pulmo_view_state_get_volume (self->state);
  const char *ct_path = ct != NULL ? pulmo_volume_get_path (ct) : NULL;
  if (ct_path == NULL)
    return;
  RecoveryJob *job = g_new0 (RecoveryJob, 1);
  job->ct = pulmo_volume_ref (ct);
  job->ct_path = g_strdup (ct_path);
  self->hash_cancellable = g_cancellable_new ();
  g_autoptr (GTask) task = g_task_new (NULL, self->hash_cancellable, recovery_found,
                                       pulmo_weak_ref_new (self));
  g_task_set_task_data (task, job, (GDestroyNotify) recovery_job_free);
  g_task_run_in_thread (task, recovery_thread);
}

/* Restore shows the recovered labels as unsaved edits (they are in no file);
 * Discard removes the file. Either way autosaving starts. */
static void
recovery_bar_response (GtkInfoBar *bar, int response, PulmoWindow *self)
{
  gtk_info_bar_set_revealed (bar, FALSE);
  g_autoptr (PulmoLabelMap) recovered = g_steal_pointer (&self->recovered);
  if (recovered == NULL)
    return;
  if (response == GTK_RESPONSE_ACCEPT)
    {
      _pulmo_window_abandon_segment (self);
      pulmo_view_state_set_labels (self->state, recovered);
      _pulmo_window_set_labels_source (self, _("recovered edits"));
      self->saved_position = -1;
    }
  else
    pulmo_recovery_discard (self->recovery_path);
  start_autosave (self);
  _pulmo_window_update_edit_actions (self);
}

/* Setup --------------------------------------------------------------------- */

static const GActionEntry edit_window_actions[] = {
  { "undo", undo_activated },
  { "redo", redo_activated },
  { "save-labels", save_labels_activated },
  { "save-labels-as", save_labels_as_activated },
};

/* Accelerators with a modifier are the application's (Ctrl+S is set there). */
static void
on_application (PulmoWindow *self, GParamSpec *pspec, gpointer data)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  if (app == NULL)
    return;
  static const struct {
    const char *action;
    const char *accels[3];
  } accels[] = {
    { "win.undo", { "<Primary>z", NULL } },
    { "win.redo", { "<Primary><Shift>z", "<Primary>y", NULL } },
    { "win.save-labels-as", { "<Primary><Shift>s", NULL } },
  };
  for (size_t a = 0; a < G_N_ELEMENTS (accels); a++)
    gtk_application_set_accels_for_action (app, accels[a].action, accels[a].accels);
}

void
_pulmo_window_init_edit (PulmoWindow *self)
{
  self->edit = pulmo_edit_state_new (self->state);
  pulmo_brush_preferences_load (self->edit);
  g_action_map_add_action_entries (G_ACTION_MAP (self), edit_window_actions, G_N_ELEMENTS (edit_window_actions),
                                   self);
  g_signal_connect (self->edit, "notify::history", G_CALLBACK (on_history), self);
  g_signal_connect (self->edit, "edited", G_CALLBACK (on_edited), self);
  g_signal_connect (self, "close-request", G_CALLBACK (on_close_request), self);
  g_signal_connect (self->recovery_bar, "response", G_CALLBACK (recovery_bar_response), self);
  g_signal_connect (self, "notify::application", G_CALLBACK (on_application), NULL);
  /* The tools' actions have only single-key shortcuts, on the views: they need no application. */
  pulmo_edit_actions_install (G_ACTION_MAP (self), NULL, self->edit);
  /* The tools follow the palette, the labels they paint with. */
  gtk_box_insert_child_after (GTK_BOX (gtk_widget_get_parent (GTK_WIDGET (self->panel))),
                              pulmo_tool_panel_new (self->edit), GTK_WIDGET (self->panel));
  on_history (self->edit, NULL, self);
}

/* Quitting (app.quit closes no window politely) keeps unsaved edits in the
 * recovery file, written now; otherwise the file goes with the window. */
void
_pulmo_window_dispose_edit (PulmoWindow *self)
{
  if (self->autosave != NULL && _pulmo_window_has_unsaved_edits (self))
    {
      g_autoptr (GError) error = NULL;
      if (!pulmo_autosave_flush (self->autosave, &error))
        g_warning ("The unsaved edits were not kept for recovery: %s", error->message);
    }
  stop_autosave (self, !_pulmo_window_has_unsaved_edits (self));
  cancel_recovery (self);
  if (self->edit != NULL)
    {
      g_autoptr (GError) error = NULL;
      if (!pulmo_brush_preferences_save (self->edit, &error))
        g_warning ("The brush settings were not saved: %s", error->message);
      g_signal_handlers_disconnect_by_data (self->edit, self);
    }
  g_clear_object (&self->edit);
  self->history = NULL;
  g_clear_object (&self->labels_file);
}
