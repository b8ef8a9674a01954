/* pulmo-window-training.c: the window's side of the correct-and-retrain loop:
 * exporting the CT shown and its corrected labels as a training case, and
 * opening the fine-tune, review-queue and preferences windows.
 *
 * An export records how much the annotator corrected: the model's labels are
 * kept, as the model gave them, from the end of a segmentation until another
 * CT is shown, and editing time is the time between edits, each gap counted
 * up to EDIT_PAUSE_S (a longer one is a pause, not editing). */
#include "app/pulmo-window-private.h"

#include <glib/gi18n.h>

#include "app/pulmo-finetune-dialog.h"
#include "app/pulmo-preferences-window.h"
#include "app/pulmo-preferences.h"
#include "app/pulmo-review-window.h"
#include "app/pulmo-weak-ref.h"
#include "train/export.h"

#define EDIT_PAUSE_S 60.0

void
_pulmo_window_training_edited (PulmoWindow *self)
{
  gint64 now = g_get_monotonic_time ();
  if (self->last_edit_us != 0)
    self->editing_seconds += MIN ((now - self->last_edit_us) * 1e-6, EDIT_PAUSE_S);
  self->last_edit_us = now;
}

void
_pulmo_window_training_volume_changed (PulmoWindow *self)
{
  g_clear_pointer (&self->model_labels, g_bytes_unref);
  g_clear_pointer (&self->model_labels_identity, g_free);
  self->editing_seconds = 0;
  self->last_edit_us = 0;
}

/* ---- Export as a training case ---- */

/* The dialog's widgets and, while it runs, the export. */
typedef struct {
  PulmoWindow *window;
  GtkWindow *dialog;
  GtkButton *folder_button;
  char *folder;
  GtkDropDown *convention;
  GtkEntry *annotator;
  GtkCheckButton *anonymise;
  GtkButton *export_button;
  GtkLabel *message;
} ExportDialog;

typedef struct {
  char *folder;
  PulmoLabelMap *labels;       /* a copy: editing goes on meanwhile */
  GBytes *model_labels;
  char *model_identity;
  char *annotator;
  PulmoExportOptions options;
} ExportJob;

static void
export_job_free (ExportJob *job)
{
  g_free (job->folder);
  g_clear_object (&job->labels);
  g_clear_pointer (&job->model_labels, g_bytes_unref);
  g_free (job->model_identity);
  g_free (job->annotator);
  g_free (job);
}

static void
export_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ExportJob *job = task_data;
  GError *error = NULL;
  char *id = pulmo_export_case (job->folder, job->labels, &job->options, &error);
  if (id == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, id, g_free);
}

void
_pulmo_window_set_folder_button (GtkButton *button, const char *folder)
{
  g_autofree char *name = folder != NULL && *folder ? g_filename_display_basename (folder) : NULL;
  gtk_button_set_label (button, name != NULL ? name : _("Choose…"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (button), folder);
}

static void
export_dialog_free (ExportDialog *d)
{
  g_free (d->folder);
  g_free (d);
}

static void
export_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GtkWindow) dialog = pulmo_weak_ref_take (data);
  g_autoptr (GError) error = NULL;
  g_autofree char *id = g_task_propagate_pointer (G_TASK (result), &error);
  ExportDialog *d = dialog != NULL ? g_object_get_data (G_OBJECT (dialog), "export") : NULL;
  if (d == NULL)
    return;
  gtk_widget_set_sensitive (GTK_WIDGET (d->export_button), TRUE);
  if (id == NULL)
    {
      /* Translators: %s says why an export as a training case failed. */
      g_autofree char *text = g_strdup_printf (_("Not exported: %s"), error->message);
      gtk_label_set_text (d->message, text);
      return;
    }
  /* Translators: shown after an export; %s is the new case's id, e.g. pulmo_0003, then the folder. */
  g_autofree char *text = g_strdup_printf (_("Exported as case %s to %s."), id, d->folder);
  _pulmo_window_show_toast (d->window, text);
  gtk_window_destroy (d->dialog);
}

static void
export_clicked (GtkButton *button, ExportDialog *d)
{
  PulmoWindow *self = d->window;
  PulmoLabelMap *labels = pulmo_view_state_get_labels (self->state);
  PulmoVolume *ct = pulmo_view_state_get_volume (self->state);
  if (labels == NULL || ct == NULL || pulmo_window_is_segmenting (self))
    {
      gtk_label_set_text (d->message, _("There are no finished labels to export."));
      return;
    }
  if (d->folder == NULL || *d->folder == '\0')
    {
      gtk_label_set_text (d->message, _("Choose the dataset folder first."));
      return;
    }

  PulmoTrainingPreferences prefs;
  pulmo_training_preferences_load (&prefs);
  static const PulmoExportConvention conventions[] = { PULMO_EXPORT_PULMO, PULMO_EXPORT_COVID19_CT_SEG,
                                                       PULMO_EXPORT_BINARY_INFECTION };
  PulmoExportConvention convention = conventions[MIN (gtk_drop_down_get_selected (d->convention), 2)];
  g_free (prefs.annotator);
  prefs.annotator = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (d->annotator))));
  g_free (prefs.dataset_dir);
  prefs.dataset_dir = g_strdup (d->folder);
  g_free (prefs.convention);
  prefs.convention = g_strdup (pulmo_export_convention_name (convention));
  prefs.anonymise = gtk_check_button_get_active (d->anonymise);
  g_autoptr (GError) error = NULL;
  if (!pulmo_training_preferences_save (&prefs, &error))
    g_warning ("The training settings were not saved: %s", error->message);

  ExportJob *job = g_new0 (ExportJob, 1);
  job->folder = g_strdup (d->folder);
  job->labels = pulmo_label_map_new (ct);
  memcpy (pulmo_label_map_get_data_mutable (job->labels), pulmo_label_map_get_data (labels),
          pulmo_volume_get_n_voxels (ct));
  pulmo_label_map_set_table (job->labels, pulmo_label_map_get_table (labels));
  job->annotator = g_strdup (prefs.annotator);
  pulmo_export_options_init (&job->options);
  job->options.convention = convention;
  job->options.annotator = *job->annotator ? job->annotator : NULL;
  job->options.anonymise = prefs.anonymise;
  job->options.editing_seconds = self->editing_seconds;
  if (self->model_labels != NULL)
    {
      job->model_labels = g_bytes_ref (self->model_labels);
      job->model_identity = g_strdup (self->model_labels_identity);
      job->options.model_labels = g_bytes_get_data (job->model_labels, NULL);
      job->options.model_version = job->model_identity;
    }
  pulmo_training_preferences_clear (&prefs);

  gtk_widget_set_sensitive (GTK_WIDGET (d->export_button), FALSE);
  gtk_label_set_text (d->message, _("Exporting…"));
  g_autoptr (GTask) task = g_task_new (NULL, NULL, export_done, pulmo_weak_ref_new (d->dialog));
  g_task_set_task_data (task, job, (GDestroyNotify) export_job_free);
  g_task_run_in_thread (task, export_thread);
}

static void
folder_chosen (GtkNativeDialog *chooser, int response, ExportDialog *d)
{
  g_autoptr (GFile) file = _pulmo_window_chosen_folder (chooser, response);
  if (file != NULL)
    {
      g_free (d->folder);
      d->folder = g_file_get_path (file);
      _pulmo_window_set_folder_button (d->folder_button, d->folder);
    }
  g_object_unref (chooser);
}

GFile *
_pulmo_window_chosen_folder (GtkNativeDialog *chooser, int response)
{
  return response == GTK_RESPONSE_ACCEPT ? gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser)) : NULL;
}

GtkFileChooserNative *
_pulmo_window_choose_folder (GtkWindow *parent, const char *title, const char *current)
{
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new (title, parent, GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                                               _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  if (current != NULL && *current)
    {
      g_autoptr (GFile) file = g_file_new_for_path (current);
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), file, NULL);
    }
  return chooser;
}

static void
choose_export_folder (GtkButton *button, ExportDialog *d)
{
  GtkFileChooserNative *chooser = _pulmo_window_choose_folder (d->dialog, _("Dataset Folder"), d->folder);
  gtk_file_chooser_set_create_folders (GTK_FILE_CHOOSER (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (folder_chosen), d);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* What the export will record of the corrections, said before it runs. */
static char *
corrections_text (PulmoWindow *self)
{
  int minutes = (int) (self->editing_seconds / 60.0 + 0.5);
  if (self->model_labels == NULL)
    /* Translators: %d is minutes of editing. */
    return g_strdup_printf (ngettext ("No segmentation by Pulmo's model of this CT: the case records %d minute "
                                      "of editing but not how much was corrected.",
                                      "No segmentation by Pulmo's model of this CT: the case records %d minutes "
                                      "of editing but not how much was corrected.", minutes), minutes);
  /* Translators: %s is the model that pre-labelled the CT, %d minutes of editing. */
  return g_strdup_printf (ngettext ("Pre-labelled by %s, then %d minute of editing: the case records how much "
                                    "of each label was corrected.",
                                    "Pre-labelled by %s, then %d minutes of editing: the case records how much "
                                    "of each label was corrected.", minutes),
                          self->model_labels_identity, minutes);
}

GtkWidget *
_pulmo_window_row_label (const char *text, GtkWidget *control)
{
  GtkWidget *label = gtk_label_new_with_mnemonic (text);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), control);
  gtk_label_set_xalign (GTK_LABEL (label), 1.0);
  gtk_widget_add_css_class (label, "dim-label");
  return label;
}

static void
export_case_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  PulmoWindow *self = data;
  PulmoTrainingPreferences prefs;
  pulmo_training_preferences_load (&prefs);

  ExportDialog *d = g_new0 (ExportDialog, 1);
  d->window = self;
  d->folder = g_strdup (prefs.dataset_dir);
  d->dialog = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_title (d->dialog, _("Export as Training Case"));
  gtk_window_set_transient_for (d->dialog, GTK_WINDOW (self));
  gtk_window_set_modal (d->dialog, TRUE);
  gtk_window_set_destroy_with_parent (d->dialog, TRUE);
  gtk_window_set_default_size (d->dialog, 520, -1);
  g_object_set_data_full (G_OBJECT (d->dialog), "export", d, (GDestroyNotify) export_dialog_free);

  GtkWidget *grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 10);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  g_object_set (grid, "margin-top", 18, "margin-bottom", 18, "margin-start", 18, "margin-end", 18, NULL);

  d->folder_button = GTK_BUTTON (gtk_button_new ());
  gtk_widget_set_hexpand (GTK_WIDGET (d->folder_button), TRUE);
  _pulmo_window_set_folder_button (d->folder_button, d->folder);
  g_signal_connect (d->folder_button, "clicked", G_CALLBACK (choose_export_folder), d);
  gtk_grid_attach (GTK_GRID (grid), _pulmo_window_row_label (_("_Dataset folder"), GTK_WIDGET (d->folder_button)), 0, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (d->folder_button), 1, 0, 1, 1);

  static const char *const convention_labels[] = { N_("Pulmo (sides and lesion types)"),
                                                   N_("COVID-19-CT-Seg (1 left, 2 right lung, 3 infection)"),
                                                   N_("Binary infection"), NULL };
  const char *translated[4];
  for (int c = 0; c < 4; c++)
    translated[c] = convention_labels[c] != NULL ? _(convention_labels[c]) : NULL;
  d->convention = GTK_DROP_DOWN (gtk_drop_down_new_from_strings (translated));
  PulmoExportConvention convention = PULMO_EXPORT_PULMO;
  pulmo_export_convention_from_name (prefs.convention, &convention);
  gtk_drop_down_set_selected (d->convention, convention);
  gtk_grid_attach (GTK_GRID (grid), _pulmo_window_row_label (_("_Labels as"), GTK_WIDGET (d->convention)), 0, 1, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (d->convention), 1, 1, 1, 1);

  d->annotator = GTK_ENTRY (gtk_entry_new ());
  gtk_editable_set_text (GTK_EDITABLE (d->annotator), prefs.annotator);
  gtk_entry_set_placeholder_text (d->annotator, _("Your name, recorded with the case"));
  gtk_grid_attach (GTK_GRID (grid), _pulmo_window_row_label (_("_Annotator"), GTK_WIDGET (d->annotator)), 0, 2, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (d->annotator), 1, 2, 1, 1);

  d->anonymise = GTK_CHECK_BUTTON (gtk_check_button_new_with_mnemonic (_("_Record no source path (it may name "
                                                                         "the patient)")));
  gtk_check_button_set_active (d->anonymise, prefs.anonymise);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (d->anonymise), 1, 3, 1, 1);

  g_autofree char *corrections = corrections_text (self);
  GtkWidget *info = gtk_label_new (corrections);
  gtk_label_set_wrap (GTK_LABEL (info), TRUE);
  gtk_label_set_xalign (GTK_LABEL (info), 0);
  gtk_label_set_max_width_chars (GTK_LABEL (info), 50);
  gtk_grid_attach (GTK_GRID (grid), info, 1, 4, 1, 1);

  d->message = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (d->message, TRUE);
  gtk_label_set_xalign (d->message, 0);
  gtk_label_set_max_width_chars (d->message, 50);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (d->message), 1, 5, 1, 1);

  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  GtkWidget *cancel = gtk_button_new_with_mnemonic (_("_Cancel"));
  g_signal_connect_swapped (cancel, "clicked", G_CALLBACK (gtk_window_destroy), d->dialog);
  d->export_button = GTK_BUTTON (gtk_button_new_with_mnemonic (_("_Export")));
  gtk_widget_add_css_class (GTK_WIDGET (d->export_button), "suggested-action");
  g_signal_connect (d->export_button, "clicked", G_CALLBACK (export_clicked), d);
  gtk_box_append (GTK_BOX (buttons), cancel);
  gtk_box_append (GTK_BOX (buttons), GTK_WIDGET (d->export_button));
  gtk_grid_attach (GTK_GRID (grid), buttons, 0, 6, 2, 1);

  gtk_window_set_child (d->dialog, grid);
  gtk_window_set_default_widget (d->dialog, GTK_WIDGET (d->export_button));
  pulmo_training_preferences_clear (&prefs);
  gtk_window_present (d->dialog);
}

/* ---- Fine-tune, review queue and preferences ---- */

static void
finetune_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  PulmoWindow *self = data;
  if (self->finetune_dialog == NULL)
    {
      self->finetune_dialog = GTK_WINDOW (pulmo_finetune_dialog_new (GTK_WINDOW (self)));
      g_object_add_weak_pointer (G_OBJECT (self->finetune_dialog), (gpointer *) &self->finetune_dialog);
    }
  gtk_window_present (self->finetune_dialog);
}

static void
review_folder_chosen (GtkNativeDialog *chooser, int response, gpointer data)
{
  g_autoptr (GFile) folder = _pulmo_window_chosen_folder (chooser, response);
  if (folder != NULL)
    gtk_window_present (GTK_WINDOW (pulmo_review_window_new (data, folder)));
  g_object_unref (chooser);
}

static void
review_queue_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  GtkFileChooserNative *chooser = _pulmo_window_choose_folder (GTK_WINDOW (data), _("Folder of CTs to Review"), NULL);
  g_signal_connect (chooser, "response", G_CALLBACK (review_folder_chosen), data);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
preferences_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  gtk_window_present (GTK_WINDOW (pulmo_preferences_window_new (data)));
}

static const GActionEntry training_actions[] = {
  { "export-case", export_case_activated },
  { "fine-tune", finetune_activated },
  { "review-queue", review_queue_activated },
  { "preferences", preferences_activated },
};

void
_pulmo_window_install_training_actions (PulmoWindow *self)
{
  g_action_map_add_action_entries (G_ACTION_MAP (self), training_actions, G_N_ELEMENTS (training_actions), self);
}

void
_pulmo_window_dispose_training (PulmoWindow *self)
{
  /* A fine-tune stops with the window it was started from. */
  if (self->finetune_dialog != NULL)
    gtk_window_destroy (self->finetune_dialog);
  _pulmo_window_training_volume_changed (self);
}
