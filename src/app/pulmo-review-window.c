/* pulmo-review-window.c: see pulmo-review-window.h. */
#include "app/pulmo-review-window.h"

#include <glib/gi18n.h>

#include "app/pulmo-weak-ref.h"
#include "app/pulmo-window-private.h"
#include "train/review-queue.h"

#define TICK_MS 300

/* What the worker shares with the window; reference counted, since a closed
 * window's worker runs on until it sees the cancel. */
typedef struct {
  PulmoReviewQueue *queue;   /* thread-safe itself */
  char *model_path;
  PulmoProgress progress;    /* of the case being pre-segmented */
  GMutex lock;               /* guards segmenting */
  char *segmenting;          /* the case the worker is on, or NULL */
  int generation;            /* atomic: one more after each case, so the list follows */
  int paused;                /* atomic: the main window is segmenting; it has the cores */
} Shared;

struct _PulmoReviewWindow {
  GtkWindow parent_instance;
  PulmoWindow *main;         /* weak */
  Shared *shared;            /* NULL when the folder could not be opened */
  GCancellable *cancellable; /* while the worker runs */
  guint tick;
  int shown_generation;
  char *current;             /* the case opened last */
  GtkListBox *list;
  GtkLabel *status;
  GtkWidget *buttons;
};

G_DEFINE_FINAL_TYPE (PulmoReviewWindow, pulmo_review_window, GTK_TYPE_WINDOW)

static void
shared_clear (gpointer data)
{
  Shared *shared = data;
  pulmo_review_queue_free (shared->queue);
  g_free (shared->model_path);
  g_free (shared->segmenting);
  g_mutex_clear (&shared->lock);
}

static void
shared_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, shared_clear);
}

static void
set_segmenting (Shared *shared, const char *name)
{
  g_mutex_lock (&shared->lock);
  g_free (shared->segmenting);
  shared->segmenting = g_strdup (name);
  g_mutex_unlock (&shared->lock);
}

static char *
dup_segmenting (Shared *shared)
{
  g_mutex_lock (&shared->lock);
  char *name = g_strdup (shared->segmenting);
  g_mutex_unlock (&shared->lock);
  return name;
}

/* Worker thread: every case that asks for it, one after another. A case that
 * fails has its error recorded in the queue and is not offered again. While
 * the main window segments the CT the user is reading, no case is started. */
static void
presegment_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Shared *shared = task_data;
  GError *error = NULL;
  g_autoptr (PulmoModel) model = pulmo_model_load (shared->model_path, &error);
  if (model == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  char *name;
  for (;;)
    {
      while (g_atomic_int_get (&shared->paused) && !g_cancellable_is_cancelled (cancellable))
        g_usleep (100 * 1000);
      if (g_cancellable_is_cancelled (cancellable)
          || (name = pulmo_review_queue_next_to_segment (shared->queue, model->identity)) == NULL)
        break;
      set_segmenting (shared, name);
      g_autoptr (GError) case_error = NULL;
      pulmo_review_queue_presegment (shared->queue, name, model, &shared->progress, cancellable, &case_error);
      g_free (name);
      g_atomic_int_inc (&shared->generation);
    }
  set_segmenting (shared, NULL);
  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* The list ------------------------------------------------------------------ */

static GtkWidget *
cell (const char *text, int width_chars, float xalign, gboolean expand)
{
  GtkWidget *label = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (label), xalign);
  gtk_label_set_width_chars (GTK_LABEL (label), width_chars);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_set_hexpand (label, expand);
  return label;
}

static GtkWidget *
row_box (const char *name, const char *uncertainty, const char *state)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_widget_set_margin_top (box, 3);
  gtk_widget_set_margin_bottom (box, 3);
  gtk_box_append (GTK_BOX (box), cell (name, 16, 0, TRUE));
  gtk_box_append (GTK_BOX (box), cell (uncertainty, 11, 1, FALSE));
  gtk_box_append (GTK_BOX (box), cell (state, 18, 0, FALSE));
  return box;
}

static const char *
row_name (GtkListBoxRow *row)
{
  return row != NULL ? g_object_get_data (G_OBJECT (row), "pulmo-case") : NULL;
}

/* The case the buttons act on: the selected one, else the one opened last. */
static const char *
chosen_case (PulmoReviewWindow *self)
{
  const char *selected = row_name (gtk_list_box_get_selected_row (self->list));
  return selected != NULL ? selected : self->current;
}

/* Rebuilds the list from the queue, keeping the selection. */
static void
refresh (PulmoReviewWindow *self)
{
  if (self->shared == NULL)
    return;
  g_autofree char *selected = g_strdup (chosen_case (self));
  g_autofree char *segmenting = dup_segmenting (self->shared);
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL;)
    gtk_list_box_remove (self->list, child);
  g_autoptr (GPtrArray) cases = pulmo_review_queue_list (self->shared->queue);
  for (guint i = 0; i < cases->len; i++)
    {
      const PulmoReviewCase *c = cases->pdata[i];
      g_autofree char *figure = c->segmented ? g_strdup_printf ("%.3f", c->uncertainty)
                                             : g_strdup (g_strcmp0 (c->name, segmenting) == 0 ? "…" : "—");
      const char *state = c->error != NULL ? _("Cannot be read") : _(pulmo_review_state_label (c->state));
      GtkWidget *row = gtk_list_box_row_new ();
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), row_box (c->name, figure, state));
      if (c->error != NULL)
        gtk_widget_set_tooltip_text (row, c->error);
      g_object_set_data_full (G_OBJECT (row), "pulmo-case", g_strdup (c->name), g_free);
      gtk_list_box_append (self->list, row);
      if (g_strcmp0 (c->name, selected) == 0)
        gtk_list_box_select_row (self->list, GTK_LIST_BOX_ROW (row));
    }
}

static void
show_status (PulmoReviewWindow *self, const char *text)
{
  gtk_label_set_text (self->status, text);
}

/* The worker waits while the main window segments. */
static gboolean
update_paused (PulmoReviewWindow *self)
{
  gboolean paused = self->main != NULL && pulmo_window_is_segmenting (self->main);
  g_atomic_int_set (&self->shared->paused, paused);
  return paused;
}

static gboolean
tick (gpointer data)
{
  PulmoReviewWindow *self = data;
  gboolean paused = update_paused (self);
  int generation = g_atomic_int_get (&self->shared->generation);
  if (generation != self->shown_generation)
    {
      self->shown_generation = generation;
      refresh (self);
    }
  g_autofree char *segmenting = dup_segmenting (self->shared);
  if (segmenting != NULL)
    {
      double fraction = pulmo_progress_fraction (&self->shared->progress);
      /* Translators: the case pre-segmented in the background, and how far it is. */
      g_autofree char *text = g_strdup_printf (_("Pre-segmenting %s… %.0f %%"), segmenting,
                                               100 * MAX (fraction, 0.0));
      show_status (self, text);
    }
  else if (paused && self->cancellable != NULL)
    show_status (self, _("Waiting while the main window segments…"));
  return G_SOURCE_CONTINUE;
}

/* Main thread, when the worker has stopped. */
static void
presegment_finished (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (PulmoReviewWindow) self = pulmo_weak_ref_take (data);
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);
  if (self == NULL)
    return;
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->tick, g_source_remove);
  refresh (self);
  if (!ok && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    show_status (self, error->message);
  else if (ok)
    show_status (self, _("Every case is pre-segmented."));
}

static void
start_worker (PulmoReviewWindow *self)
{
  g_autoptr (GError) error = NULL;
  self->shared->model_path = pulmo_model_default_path (&error);
  if (self->shared->model_path == NULL)
    {
      show_status (self, error->message);
      return;
    }
  self->cancellable = g_cancellable_new ();
  update_paused (self);
  g_autoptr (GTask) task = g_task_new (NULL, self->cancellable, presegment_finished,
                                       pulmo_weak_ref_new (self));
  g_task_set_task_data (task, g_atomic_rc_box_acquire (self->shared), shared_release);
  g_task_run_in_thread (task, presegment_thread);
  self->tick = g_timeout_add (TICK_MS, tick, self);
}

/* Opening and marking ------------------------------------------------------- */

static gboolean
open_case (PulmoReviewWindow *self, const char *name)
{
  if (self->main == NULL)
    {
      show_status (self, _("The main window is closed."));
      return FALSE;
    }
  g_autoptr (PulmoReviewCase) c = pulmo_review_queue_get_case (self->shared->queue, name);
  if (c == NULL || c->error != NULL)
    {
      show_status (self, c != NULL ? c->error : _("That CT is no longer in the folder."));
      return FALSE;
    }
  g_autoptr (GError) error = NULL;
  if (c->state == PULMO_REVIEW_NOT_STARTED
      && !pulmo_review_queue_set_state (self->shared->queue, name, PULMO_REVIEW_IN_PROGRESS, &error))
    show_status (self, error->message);
  g_autoptr (GFile) ct = g_file_new_for_path (c->ct_path);
  g_autofree char *text = NULL;
  if (g_file_test (c->labels_path, G_FILE_TEST_IS_REGULAR))
    {
      g_autoptr (GFile) labels = g_file_new_for_path (c->labels_path);
      pulmo_window_open_with_labels (self->main, ct, labels, NULL);
      text = g_strdup_printf (_("Opened %s; Save Labels keeps the corrections in the queue."), name);
    }
  else
    {
      pulmo_window_open (self->main, ct);
      text = g_strdup_printf (_("Opened %s, not pre-segmented yet."), name);
    }
  g_free (self->current);
  self->current = g_strdup (name);
  refresh (self);
  if (error == NULL)
    show_status (self, text);
  return TRUE;
}

gboolean
pulmo_review_window_next (PulmoReviewWindow *self)
{
  g_return_val_if_fail (PULMO_IS_REVIEW_WINDOW (self), FALSE);
  if (self->shared == NULL)
    return FALSE;
  g_autoptr (PulmoReviewCase) next = pulmo_review_queue_next (self->shared->queue, self->current);
  if (next == NULL)
    {
      show_status (self, _("Every case is done or flagged for an expert."));
      return FALSE;
    }
  /* The row follows the case opened, so Done and Flag act on it. */
  gtk_list_box_unselect_all (self->list);
  return open_case (self, next->name);
}

static void
mark (PulmoReviewWindow *self, PulmoReviewState state)
{
  const char *name = chosen_case (self);
  if (name == NULL)
    {
      show_status (self, _("Select a case first."));
      return;
    }
  g_autofree char *marked = g_strdup (name);
  g_autoptr (GError) error = NULL;
  if (!pulmo_review_queue_set_state (self->shared->queue, marked, state, &error))
    {
      show_status (self, error->message);
      return;
    }
  refresh (self);
  /* Translators: a case and the state it was given. */
  g_autofree char *text = g_strdup_printf (_("%s: %s"), marked, _(pulmo_review_state_label (state)));
  show_status (self, text);
}

static void
row_activated (GtkListBox *list, GtkListBoxRow *row, PulmoReviewWindow *self)
{
  g_autofree char *name = g_strdup (row_name (row));
  if (name != NULL)
    open_case (self, name);
}

static void
open_clicked (GtkButton *button, PulmoReviewWindow *self)
{
  const char *selected = row_name (gtk_list_box_get_selected_row (self->list));
  if (selected == NULL)
    show_status (self, _("Select a case first."));
  else
    {
      g_autofree char *name = g_strdup (selected);
      open_case (self, name);
    }
}

static void
next_clicked (GtkButton *button, PulmoReviewWindow *self)
{
  pulmo_review_window_next (self);
}

static void
mark_done_saved (PulmoWindow *main, gpointer data)
{
  g_autoptr (PulmoReviewWindow) self = g_weak_ref_get (data);
  if (self != NULL)
    mark (self, PULMO_REVIEW_DONE);
}

/* Done with the case open in the main window saves its corrections first:
 * a case is never marked done with its edits unsaved. */
static void
done_clicked (GtkButton *button, PulmoReviewWindow *self)
{
  const char *name = chosen_case (self);
  if (name != NULL && self->main != NULL && g_strcmp0 (name, self->current) == 0)
    _pulmo_window_save_unsaved (self->main, mark_done_saved, pulmo_weak_ref_new (self),
                                pulmo_weak_ref_free);
  else
    mark (self, PULMO_REVIEW_DONE);
}

static void
flag_clicked (GtkButton *button, PulmoReviewWindow *self)
{
  mark (self, PULMO_REVIEW_FLAGGED);
}

/* The window ---------------------------------------------------------------- */

static GtkWidget *
button (PulmoReviewWindow *self, const char *label, const char *tooltip, GCallback clicked)
{
  GtkWidget *widget = gtk_button_new_with_mnemonic (label);
  gtk_widget_set_tooltip_text (widget, tooltip);
  g_signal_connect (widget, "clicked", clicked, self);
  gtk_box_append (GTK_BOX (self->buttons), widget);
  return widget;
}

static void
pulmo_review_window_init (PulmoReviewWindow *self)
{
  gtk_window_set_default_size (GTK_WINDOW (self), 460, 520);
  GtkWidget *content = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_margin_start (content, 12);
  gtk_widget_set_margin_end (content, 12);
  gtk_widget_set_margin_top (content, 12);
  gtk_widget_set_margin_bottom (content, 12);
  gtk_window_set_child (GTK_WINDOW (self), content);

  GtkWidget *explanation = gtk_label_new (_("Most uncertain first. Uncertainty: the model's mean softmax "
                                            "entropy over what it calls lung or lesion, from 0 (sure) to 1 "
                                            "(every class equally likely)."));
  gtk_label_set_wrap (GTK_LABEL (explanation), TRUE);
  gtk_label_set_xalign (GTK_LABEL (explanation), 0);
  gtk_widget_add_css_class (explanation, "dim-label");
  gtk_box_append (GTK_BOX (content), explanation);

  GtkWidget *header = row_box (_("Case"), _("Uncertainty"), _("State"));
  gtk_widget_add_css_class (header, "heading");
  gtk_box_append (GTK_BOX (content), header);
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  gtk_widget_set_vexpand (scrolled, TRUE);
  gtk_scrolled_window_set_has_frame (GTK_SCROLLED_WINDOW (scrolled), TRUE);
  self->list = GTK_LIST_BOX (gtk_list_box_new ());
  /* A click selects (for Done and Flag); a double-click or Enter opens. */
  gtk_list_box_set_activate_on_single_click (self->list, FALSE);
  g_signal_connect (self->list, "row-activated", G_CALLBACK (row_activated), self);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), GTK_WIDGET (self->list));
  gtk_box_append (GTK_BOX (content), scrolled);

  self->buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  button (self, _("_Open"), _("Open the selected case in the main window"), G_CALLBACK (open_clicked));
  GtkWidget *next = button (self, _("_Next"), _("Open the next case that is neither done nor flagged"),
                            G_CALLBACK (next_clicked));
  gtk_widget_add_css_class (next, "suggested-action");
  button (self, _("_Done"), _("Mark the selected case done"), G_CALLBACK (done_clicked));
  button (self, _("_Flag for Expert"), _("Mark the selected case for an expert to look at"),
          G_CALLBACK (flag_clicked));
  gtk_box_append (GTK_BOX (content), self->buttons);

  self->status = GTK_LABEL (gtk_label_new (""));
  gtk_label_set_xalign (self->status, 0);
  gtk_label_set_wrap (self->status, TRUE);
  gtk_label_set_selectable (self->status, TRUE);
  gtk_box_append (GTK_BOX (content), GTK_WIDGET (self->status));
}

/* The worker stops at its next slice; it holds its own reference to the queue. */
static void
stop_worker (PulmoReviewWindow *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->tick, g_source_remove);
}

/* Closed (destroyed) windows are unrealized at once, even while something
 * still holds a reference, so the worker stops with the window. */
static void
pulmo_review_window_unrealize (GtkWidget *widget)
{
  stop_worker (PULMO_REVIEW_WINDOW (widget));
  GTK_WIDGET_CLASS (pulmo_review_window_parent_class)->unrealize (widget);
}

static void
pulmo_review_window_dispose (GObject *object)
{
  PulmoReviewWindow *self = PULMO_REVIEW_WINDOW (object);
  stop_worker (self);
  g_clear_weak_pointer (&self->main);
  g_clear_pointer (&self->shared, shared_release);
  G_OBJECT_CLASS (pulmo_review_window_parent_class)->dispose (object);
}

static void
pulmo_review_window_finalize (GObject *object)
{
  PulmoReviewWindow *self = PULMO_REVIEW_WINDOW (object);
  g_free (self->current);
  G_OBJECT_CLASS (pulmo_review_window_parent_class)->finalize (object);
}

static void
pulmo_review_window_class_init (PulmoReviewWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = pulmo_review_window_dispose;
  object_class->finalize = pulmo_review_window_finalize;
  GTK_WIDGET_CLASS (klass)->unrealize = pulmo_review_window_unrealize;
}

PulmoReviewWindow *
pulmo_review_window_new (PulmoWindow *main, GFile *folder)
{
  g_return_val_if_fail (PULMO_IS_WINDOW (main) && G_IS_FILE (folder), NULL);
  PulmoReviewWindow *self = g_object_new (PULMO_TYPE_REVIEW_WINDOW, "transient-for", main,
                                          "destroy-with-parent", TRUE, NULL);
  g_set_weak_pointer (&self->main, main);
  g_autofree char *base = g_file_get_basename (folder);
  /* Translators: the review window's title, with the folder's name. */
  g_autofree char *title = g_strdup_printf (_("Review Queue — %s"), base);
  gtk_window_set_title (GTK_WINDOW (self), title);

  g_autofree char *path = g_file_get_path (folder);
  g_autoptr (GError) error = NULL;
  PulmoReviewQueue *queue = path != NULL ? pulmo_review_queue_open (path, &error) : NULL;
  if (queue == NULL)
    {
      show_status (self, error != NULL ? error->message : _("The review queue must be a local folder."));
      gtk_widget_set_sensitive (self->buttons, FALSE);
      return self;
    }
  self->shared = g_atomic_rc_box_new0 (Shared);
  g_mutex_init (&self->shared->lock);
  self->shared->queue = queue;
  refresh (self);
  if (pulmo_review_queue_get_warning (queue) != NULL)
    show_status (self, pulmo_review_queue_get_warning (queue));
  start_worker (self);
  return self;
}

gboolean
pulmo_review_window_is_segmenting (PulmoReviewWindow *self)
{
  g_return_val_if_fail (PULMO_IS_REVIEW_WINDOW (self), FALSE);
  return self->cancellable != NULL;
}

const char *
pulmo_review_window_get_status (PulmoReviewWindow *self)
{
  g_return_val_if_fail (PULMO_IS_REVIEW_WINDOW (self), NULL);
  return gtk_label_get_text (self->status);
}

const char *
pulmo_review_window_get_current (PulmoReviewWindow *self)
{
  g_return_val_if_fail (PULMO_IS_REVIEW_WINDOW (self), NULL);
  return self->current;
}
