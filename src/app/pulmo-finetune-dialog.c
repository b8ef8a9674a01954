#include "app/pulmo-finetune-dialog.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>

#include "app/pulmo-preferences.h"
#include "app/pulmo-window-private.h"
#include "app/pulmo-weak-ref.h"
#include "train/model-registry.h"
#include "train/trainer.h"

#define TICK_MS 250

/* What the worker shares with the main thread, under the lock; reference
 * counted, since a closed dialog's worker runs on until it sees the cancel. */
typedef struct {
  GMutex lock;
  PulmoTrainProgress latest;      /* pointers cleared: they are the trainer's */
  gboolean started;
  PulmoTrainProgress validated;   /* the last with epoch_done, if any */
} Shared;

typedef struct {
  char *data_dirs[3];
  char *init_path, *out_path, *checkpoint_path, *log_path;
  PulmoTrainOptions options;
  Shared *shared;
} Job;

typedef struct {
  GtkWindow *window;
  GtkButton *user_button, *original_button;
  char *user_dir, *original_dir;
  GtkSpinButton *minutes;
  GtkWidget *settings;            /* the rows above: off while training */
  GtkButton *start_button, *cancel_button;
  GtkProgressBar *progress;
  GtkLabel *status, *result;
  GCancellable *cancellable;      /* while a fine-tune runs */
  Shared *shared;
  guint tick;
} Dialog;

static Dialog *
dialog_of (GtkWidget *window)
{
  return g_object_get_data (G_OBJECT (window), "finetune");
}

gboolean
pulmo_finetune_dialog_is_running (GtkWidget *window)
{
  return dialog_of (window)->cancellable != NULL;
}

static void
shared_clear (gpointer data)
{
  g_mutex_clear (&((Shared *) data)->lock);
}

const char *
pulmo_finetune_dialog_get_result (GtkWidget *window)
{
  return gtk_label_get_text (dialog_of (window)->result);
}

static void
job_free (Job *job)
{
  if (job->shared != NULL)
    g_atomic_rc_box_release_full (job->shared, shared_clear);
  for (int d = 0; d < 3; d++)
    g_free (job->data_dirs[d]);
  /* The trained file, its checkpoint and its log are work files: an
   * installed model is a copy (model-registry.h), and the dialog shows the figures. */
  if (job->out_path != NULL)
    {
      g_remove (job->out_path);
      g_remove (job->checkpoint_path);
      g_remove (job->log_path);
    }
  g_free (job->init_path);
  g_free (job->out_path);
  g_free (job->checkpoint_path);
  g_free (job->log_path);
  g_free (job);
}

/* Worker thread: keeps the latest progress and the last validated one. */
static void
report (const PulmoTrainProgress *progress, gpointer data)
{
  Shared *shared = data;
  g_mutex_lock (&shared->lock);
  shared->latest = *progress;
  shared->latest.validation_ids = NULL;
  shared->latest.holdout_slices = NULL;
  shared->started = TRUE;
  if (progress->epoch_done)
    shared->validated = shared->latest;
  g_mutex_unlock (&shared->lock);
}

static void
train_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Job *job = task_data;
  GError *error = NULL;
  if (pulmo_train (&job->options, report, job->shared, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
tick (gpointer data)
{
  Dialog *d = data;
  g_mutex_lock (&d->shared->lock);
  PulmoTrainProgress p = d->shared->latest;
  gboolean started = d->shared->started;
  g_mutex_unlock (&d->shared->lock);
  if (!started)
    {
      gtk_progress_bar_pulse (d->progress);
      return G_SOURCE_CONTINUE;
    }
  double total = p.elapsed_seconds + p.eta_seconds;
  gtk_progress_bar_set_fraction (d->progress, total > 0 ? CLAMP (p.elapsed_seconds / total, 0, 1) : 0);
  char left[32];
  pulmo_progress_format_duration (p.eta_seconds, left, sizeof left);
  /* Translators: fine-tune progress: the validation round under way, training loss, time left (m:ss). */
  g_autofree char *text = p.epoch == 0
                            ? g_strdup (_("Measuring the model in use on the held-out slices…"))
                            : g_strdup_printf (_("Round %d · loss %.3f · %s left"), p.epoch, p.loss, left);
  gtk_label_set_text (d->status, text);
  return G_SOURCE_CONTINUE;
}

/* One validation set's Dice before and after, e.g. "…: lung 0.965 → 0.980 ·
 * infection 0.652 → 0.949"; nothing if the set had nothing to measure. */
static void
append_dice (GString *text, const char *heading, const double before[PULMO_EVAL_N_STRUCTURES],
             const double after[PULMO_EVAL_N_STRUCTURES])
{
  static const PulmoEvalStructure shown[] = { PULMO_EVAL_LUNG, PULMO_EVAL_INFECTION };
  if (isnan (pulmo_train_score (before)) && isnan (pulmo_train_score (after)))
    return;
  g_string_append (text, heading);
  for (guint s = 0; s < G_N_ELEMENTS (shown); s++)
    {
      const char *name = _(pulmo_eval_structure_name (shown[s]));
      double a = before[shown[s]], b = after[shown[s]];
      if (isnan (a) || isnan (b))
        /* Translators: a structure with nothing to measure, e.g. " · infection —". */
        g_string_append_printf (text, _("%s %s —"), s ? " ·" : "", name);
      else
        /* Translators: a structure's Dice before and after, e.g. " · lung 0.965 → 0.980". */
        g_string_append_printf (text, _("%s %s %.3f → %.3f"), s ? " ·" : "", name, a, b);
    }
  g_string_append_c (text, '\n');
}

static void
set_running (Dialog *d, gboolean running)
{
  gtk_widget_set_sensitive (d->settings, !running);
  gtk_widget_set_visible (GTK_WIDGET (d->start_button), !running);
  gtk_widget_set_visible (GTK_WIDGET (d->cancel_button), running);
  gtk_widget_set_visible (GTK_WIDGET (d->progress), running);
  if (!running)
    g_clear_handle_id (&d->tick, g_source_remove);
}

/* Main thread, when training has stopped: weighs the result and installs it
 * if it is not worse than the model it started from. */
static void
train_finished (GObject *source, GAsyncResult *result, gpointer data)
{
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);
  g_autoptr (GtkWidget) window = pulmo_weak_ref_take (data);
  if (window == NULL)
    return;
  Dialog *d = dialog_of (window);
  g_clear_object (&d->cancellable);
  set_running (d, FALSE);
  gtk_label_set_text (d->status, "");
  if (!ok)
    {
      gtk_label_set_text (d->result, g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                                       ? _("Fine-tuning was cancelled; the model in use is unchanged.")
                                       : error->message);
      return;
    }

  const PulmoTrainProgress *v = &d->shared->validated;
  if (!v->epoch_done)
    {
      gtk_label_set_text (d->result, _("The fine-tune ended before it could be measured; the model in use is "
                                       "unchanged."));
      return;
    }
  g_autoptr (GString) text = g_string_new (_("Dice before → after, on what neither model trained on:\n"));
  append_dice (text, _("Held-out slices of your cases:"), v->initial_holdout_dice, v->holdout_dice);
  append_dice (text, _("Original cases:"), v->initial_case_dice, v->case_dice);
  double before = pulmo_train_score (v->initial_dice);
  double after = pulmo_train_score (v->validation_dice);
  if (!pulmo_train_not_worse (v->initial_dice, v->validation_dice))
    {
      g_string_append_printf (text, _("Not installed: the fine-tuned model scored %.3f, lower than the model "
                                      "in use (%.3f), which stays in use."), after, before);
    }
  else
    {
      g_autofree char *data_name = g_path_get_basename (job->data_dirs[0]);
      g_autofree char *note = g_strdup_printf ("fine-tuned in the app on %s; validation Dice %.4f -> %.4f",
                                               data_name, before, after);
      g_autoptr (GError) install_error = NULL;
      int index = pulmo_model_install (job->out_path, note, &install_error);
      if (index < 0)
        g_string_append_printf (text, _("Not installed: %s"), install_error->message);
      else
        g_string_append_printf (text, _("Score %.3f → %.3f: installed and in use (model %d). Preferences can "
                                        "go back to any earlier model."), before, after, index);
    }
  gtk_label_set_text (d->result, text->str);
}

static char *
folder_path (const char *dir)
{
  return dir != NULL && *dir ? g_strdup (dir) : NULL;
}

static void
start_clicked (GtkButton *button, Dialog *d)
{
  if (d->user_dir == NULL || *d->user_dir == '\0')
    {
      gtk_label_set_text (d->result, _("Choose the folder of your corrected cases first."));
      return;
    }
  PulmoTrainingPreferences prefs;
  pulmo_training_preferences_load (&prefs);
  g_free (prefs.dataset_dir);
  prefs.dataset_dir = g_strdup (d->user_dir);
  g_free (prefs.original_dir);
  prefs.original_dir = g_strdup (d->original_dir != NULL ? d->original_dir : "");
  prefs.finetune_minutes = gtk_spin_button_get_value_as_int (d->minutes);
  g_autoptr (GError) error = NULL;
  if (!pulmo_training_preferences_save (&prefs, &error))
    g_warning ("The training settings were not saved: %s", error->message);

  Job *job = g_new0 (Job, 1);
  job->init_path = pulmo_model_default_path (&error);
  if (job->init_path == NULL)
    {
      gtk_label_set_text (d->result, error->message);
      job_free (job);
      pulmo_training_preferences_clear (&prefs);
      return;
    }
  job->data_dirs[0] = g_strdup (d->user_dir);
  job->data_dirs[1] = folder_path (d->original_dir);
  g_autofree char *work = g_build_filename (g_get_user_cache_dir (), "pulmo", "fine-tune", NULL);
  g_mkdir_with_parents (work, 0700);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%dT%H%M%S");
  g_autofree char *name = g_strdup_printf ("pulmo-fine-tuned-%s.pulmonet", stamp);
  job->out_path = g_build_filename (work, name, NULL);
  job->checkpoint_path = g_strconcat (job->out_path, ".checkpoint", NULL);
  job->log_path = g_strconcat (job->out_path, ".csv", NULL);

  PulmoTrainOptions *o = &job->options;
  pulmo_train_options_init (o);
  o->data_dirs = (const char *const *) job->data_dirs;
  o->init_path = job->init_path;
  o->out_path = job->out_path;
  o->checkpoint_path = job->checkpoint_path;
  o->log_path = job->log_path;
  /* The user's folder first; the clock ends the run within the budget, its
   * last validation included. */
  pulmo_train_options_finetune (o, 1, 60.0 * gtk_spin_button_get_value_as_int (d->minutes));
  pulmo_training_preferences_clear (&prefs);

  memset (&d->shared->latest, 0, sizeof d->shared->latest);
  memset (&d->shared->validated, 0, sizeof d->shared->validated);
  d->shared->started = FALSE;
  job->shared = g_atomic_rc_box_acquire (d->shared);
  d->cancellable = g_cancellable_new ();
  g_autoptr (GTask) task = g_task_new (NULL, d->cancellable, train_finished, pulmo_weak_ref_new (d->window));
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, train_thread);

  set_running (d, TRUE);
  gtk_label_set_text (d->result, "");
  gtk_label_set_text (d->status, _("Reading the training data…"));
  d->tick = g_timeout_add (TICK_MS, tick, d);
}

static void
cancel_clicked (GtkButton *button, Dialog *d)
{
  if (d->cancellable != NULL)
    g_cancellable_cancel (d->cancellable);
  gtk_label_set_text (d->status, _("Stopping…"));
}

typedef struct {
  Dialog *dialog;
  gboolean original;
} FolderChoice;

static void
folder_chosen (GtkNativeDialog *chooser, int response, FolderChoice *choice)
{
  Dialog *d = choice->dialog;
  g_autoptr (GFile) file = _pulmo_window_chosen_folder (chooser, response);
  if (file != NULL)
    {
      char **dir = choice->original ? &d->original_dir : &d->user_dir;
      g_free (*dir);
      *dir = g_file_get_path (file);
      _pulmo_window_set_folder_button (choice->original ? d->original_button : d->user_button, *dir);
    }
  g_free (choice);
  g_object_unref (chooser);
}

static void
choose (Dialog *d, gboolean original)
{
  const char *current = original ? d->original_dir : d->user_dir;
  GtkFileChooserNative *chooser = _pulmo_window_choose_folder (
    d->window, original ? _("Original Training Data") : _("Your Corrected Cases"), current);
  FolderChoice *choice = g_new0 (FolderChoice, 1);
  choice->dialog = d;
  choice->original = original;
  g_signal_connect (chooser, "response", G_CALLBACK (folder_chosen), choice);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
choose_user (GtkButton *button, Dialog *d)
{
  choose (d, FALSE);
}

static void
choose_original (GtkButton *button, Dialog *d)
{
  choose (d, TRUE);
}

/* Closing hides a running fine-tune's dialog: the work goes on, and the
 * menu item shows it again. */
static gboolean
close_request (GtkWindow *window, Dialog *d)
{
  if (d->cancellable == NULL)
    return FALSE;
  gtk_widget_set_visible (GTK_WIDGET (window), FALSE);
  return TRUE;
}

static void
dialog_free (Dialog *d)
{
  if (d->cancellable != NULL)
    g_cancellable_cancel (d->cancellable);
  g_clear_object (&d->cancellable);
  g_clear_handle_id (&d->tick, g_source_remove);
  g_atomic_rc_box_release_full (d->shared, shared_clear);
  g_free (d->user_dir);
  g_free (d->original_dir);
  g_free (d);
}

GtkWidget *
pulmo_finetune_dialog_new (GtkWindow *parent)
{
  PulmoTrainingPreferences prefs;
  pulmo_training_preferences_load (&prefs);
  Dialog *d = g_new0 (Dialog, 1);
  d->shared = g_atomic_rc_box_new0 (Shared);
  g_mutex_init (&d->shared->lock);
  d->user_dir = g_strdup (prefs.dataset_dir);
  d->original_dir = g_strdup (prefs.original_dir);
  d->window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_title (d->window, _("Fine-Tune the Model"));
  gtk_window_set_transient_for (d->window, parent);
  gtk_window_set_destroy_with_parent (d->window, TRUE);
  gtk_window_set_default_size (d->window, 560, -1);
  g_object_set_data_full (G_OBJECT (d->window), "finetune", d, (GDestroyNotify) dialog_free);
  g_signal_connect (d->window, "close-request", G_CALLBACK (close_request), d);

  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  g_object_set (box, "margin-top", 18, "margin-bottom", 18, "margin-start", 18, "margin-end", 18, NULL);
  GtkWidget *intro = gtk_label_new (_("Trains the model in use further on your corrected cases, mixed with its "
                                      "original training data so that it forgets nothing. Slices of your cases "
                                      "are held out to measure it before and after; the new model is put in "
                                      "use only if it is not worse. You can go on working meanwhile."));
  gtk_label_set_wrap (GTK_LABEL (intro), TRUE);
  gtk_label_set_xalign (GTK_LABEL (intro), 0);
  gtk_label_set_max_width_chars (GTK_LABEL (intro), 60);
  gtk_box_append (GTK_BOX (box), intro);

  GtkWidget *grid = gtk_grid_new ();
  d->settings = grid;
  gtk_grid_set_row_spacing (GTK_GRID (grid), 10);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  d->user_button = GTK_BUTTON (gtk_button_new ());
  gtk_widget_set_hexpand (GTK_WIDGET (d->user_button), TRUE);
  _pulmo_window_set_folder_button (d->user_button, d->user_dir);
  g_signal_connect (d->user_button, "clicked", G_CALLBACK (choose_user), d);
  gtk_grid_attach (GTK_GRID (grid), _pulmo_window_row_label (_("_Your corrected cases"), GTK_WIDGET (d->user_button)), 0, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (d->user_button), 1, 0, 1, 1);
  d->original_button = GTK_BUTTON (gtk_button_new ());
  _pulmo_window_set_folder_button (d->original_button, d->original_dir);
  g_signal_connect (d->original_button, "clicked", G_CALLBACK (choose_original), d);
  gtk_grid_attach (GTK_GRID (grid), _pulmo_window_row_label (_("_Original training data"), GTK_WIDGET (d->original_button)), 0, 1, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (d->original_button), 1, 1, 1, 1);
  d->minutes = GTK_SPIN_BUTTON (gtk_spin_button_new_with_range (1, 24 * 60, 1));
  gtk_spin_button_set_value (d->minutes, prefs.finetune_minutes);
  gtk_widget_set_halign (GTK_WIDGET (d->minutes), GTK_ALIGN_START);
  gtk_grid_attach (GTK_GRID (grid), _pulmo_window_row_label (_("_Minutes at most"), GTK_WIDGET (d->minutes)), 0, 2, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (d->minutes), 1, 2, 1, 1);
  gtk_box_append (GTK_BOX (box), grid);

  d->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_widget_set_visible (GTK_WIDGET (d->progress), FALSE);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (d->progress));
  d->status = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (d->status, 0);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (d->status));
  d->result = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (d->result, TRUE);
  gtk_label_set_xalign (d->result, 0);
  gtk_label_set_max_width_chars (d->result, 60);
  gtk_label_set_selectable (d->result, TRUE);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (d->result));

  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  GtkWidget *close = gtk_button_new_with_mnemonic (_("C_lose"));
  g_signal_connect_swapped (close, "clicked", G_CALLBACK (gtk_window_close), d->window);
  d->cancel_button = GTK_BUTTON (gtk_button_new_with_mnemonic (_("_Cancel Fine-Tuning")));
  gtk_widget_add_css_class (GTK_WIDGET (d->cancel_button), "destructive-action");
  g_signal_connect (d->cancel_button, "clicked", G_CALLBACK (cancel_clicked), d);
  d->start_button = GTK_BUTTON (gtk_button_new_with_mnemonic (_("_Start")));
  gtk_widget_add_css_class (GTK_WIDGET (d->start_button), "suggested-action");
  g_signal_connect (d->start_button, "clicked", G_CALLBACK (start_clicked), d);
  gtk_box_append (GTK_BOX (buttons), close);
  gtk_box_append (GTK_BOX (buttons), GTK_WIDGET (d->cancel_button));
  gtk_box_append (GTK_BOX (buttons), GTK_WIDGET (d->start_button));
  gtk_box_append (GTK_BOX (box), buttons);
  set_running (d, FALSE);

  gtk_window_set_child (d->window, box);
  pulmo_training_preferences_clear (&prefs);
  return GTK_WIDGET (d->window);
}
