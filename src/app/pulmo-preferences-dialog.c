#include "app/pulmo-preferences-dialog.h"

#include <glib/gi18n.h>

#include "app/pulmo-preferences.h"
#include "app/pulmo-window-private.h"
#include "train/model-registry.h"

typedef struct {
  GtkWindow *window;
  GtkEntry *annotator;
  GtkListBox *models;
  GtkLabel *message;
  gboolean filling;        /* the list is being rebuilt: toggles are not the user's */
} Dialog;

static void fill_models (Dialog *d);

static void
model_toggled (GtkCheckButton *button, Dialog *d)
{
  if (d->filling || !gtk_check_button_get_active (button))
    return;
  int index = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "index"));
  g_autoptr (GError) error = NULL;
  if (!pulmo_model_use (index, &error))
    gtk_label_set_text (d->message, error->message);
  else
    gtk_label_set_text (d->message, _("The next segmentation uses this model."));
  fill_models (d);
}

/* "2026-12-07 08:58" in local time, from the history's ISO 8601 time. */
static char *
installed_when (const char *iso)
{
  if (iso == NULL)
    return NULL;
  g_autoptr (GDateTime) utc = g_date_time_new_from_iso8601 (iso, NULL);
  if (utc == NULL)
    return g_strdup (iso);
  g_autoptr (GDateTime) local = g_date_time_to_local (utc);
  return g_date_time_format (local, "%Y-%m-%d %H:%M");
}

/* One row per model, oldest first, the one in use checked. */
static void
fill_models (Dialog *d)
{
  d->filling = TRUE;
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (d->models))) != NULL)
    gtk_list_box_remove (d->models, child);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries = pulmo_model_history (&error);
  if (entries == NULL)
    {
      gtk_label_set_text (d->message, error->message);
      d->filling = FALSE;
      return;
    }
  GtkCheckButton *group = NULL;
  for (guint e = 0; e < entries->len; e++)
    {
      PulmoModelEntry *entry = g_ptr_array_index (entries, e);
      GtkWidget *row = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
      g_object_set (row, "margin-top", 6, "margin-bottom", 6, "margin-start", 8, "margin-end", 8, NULL);
      GtkWidget *button = gtk_check_button_new_with_label (entry->identity);
      if (group == NULL)
        group = GTK_CHECK_BUTTON (button);
      else
        gtk_check_button_set_group (GTK_CHECK_BUTTON (button), group);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (button), entry->in_use);
      g_object_set_data (G_OBJECT (button), "index", GINT_TO_POINTER (e));
      g_signal_connect (button, "toggled", G_CALLBACK (model_toggled), d);
      g_autofree char *when = installed_when (entry->installed);
      /* Translators: how a model came to be, under its name; the first is the model Pulmo ships. */
      g_autofree char *about = entry->installed == NULL
                                 ? g_strdup (_("Shipped with Pulmo"))
                                 : g_strdup_printf (_("Installed %s — %s"), when,
                                                    entry->note != NULL ? entry->note : "");
      GtkWidget *detail = gtk_label_new (about);
      gtk_label_set_xalign (GTK_LABEL (detail), 0);
      gtk_label_set_wrap (GTK_LABEL (detail), TRUE);
      gtk_widget_set_margin_start (detail, 28);
      gtk_widget_add_css_class (detail, "dim-label");
      gtk_box_append (GTK_BOX (row), button);
      gtk_box_append (GTK_BOX (row), detail);
      gtk_list_box_append (d->models, row);
    }
  d->filling = FALSE;
}

static void
annotator_changed (GtkEditable *editable, Dialog *d)
{
  PulmoTrainingPreferences prefs;
  pulmo_training_preferences_load (&prefs);
  g_free (prefs.annotator);
  prefs.annotator = g_strstrip (g_strdup (gtk_editable_get_text (editable)));
  g_autoptr (GError) error = NULL;
  if (!pulmo_training_preferences_save (&prefs, &error))
    gtk_label_set_text (d->message, error->message);
  pulmo_training_preferences_clear (&prefs);
}

GtkWidget *
pulmo_preferences_dialog_new (GtkWindow *parent)
{
  Dialog *d = g_new0 (Dialog, 1);
  d->window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_title (d->window, _("Preferences"));
  gtk_window_set_transient_for (d->window, parent);
  gtk_window_set_modal (d->window, TRUE);
  gtk_window_set_destroy_with_parent (d->window, TRUE);
  gtk_window_set_default_size (d->window, 560, 420);
  g_object_set_data_full (G_OBJECT (d->window), "preferences", d, g_free);

  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 10);
  g_object_set (box, "margin-top", 18, "margin-bottom", 18, "margin-start", 18, "margin-end", 18, NULL);
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  d->annotator = GTK_ENTRY (gtk_entry_new ());
  gtk_widget_set_hexpand (GTK_WIDGET (d->annotator), TRUE);
  gtk_entry_set_placeholder_text (d->annotator, _("Recorded with every case you export"));
  PulmoTrainingPreferences prefs;
  pulmo_training_preferences_load (&prefs);
  gtk_editable_set_text (GTK_EDITABLE (d->annotator), prefs.annotator);
  pulmo_training_preferences_clear (&prefs);
  g_signal_connect (d->annotator, "changed", G_CALLBACK (annotator_changed), d);
  GtkWidget *annotator_label = _pulmo_window_row_label (_("_Annotator"));
  gtk_label_set_mnemonic_widget (GTK_LABEL (annotator_label), GTK_WIDGET (d->annotator));
  gtk_box_append (GTK_BOX (row), annotator_label);
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (d->annotator));
  gtk_box_append (GTK_BOX (box), row);

  GtkWidget *heading = gtk_label_new (_("Model in use"));
  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_widget_add_css_class (heading, "heading");
  gtk_widget_set_margin_top (heading, 8);
  gtk_box_append (GTK_BOX (box), heading);
  GtkWidget *explain = gtk_label_new (_("Every model fine-tuned here is kept. Choose one to go back to it: "
                                        "segmentation then uses exactly that file again."));
  gtk_label_set_wrap (GTK_LABEL (explain), TRUE);
  gtk_label_set_xalign (GTK_LABEL (explain), 0);
  gtk_box_append (GTK_BOX (box), explain);

  d->models = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (d->models, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (d->models), "boxed-list");
  GtkWidget *scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (d->models));
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (scroller, TRUE);
  gtk_box_append (GTK_BOX (box), scroller);

  d->message = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (d->message, 0);
  gtk_label_set_wrap (d->message, TRUE);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (d->message));
  fill_models (d);

  gtk_window_set_child (d->window, box);
  return GTK_WIDGET (d->window);
}
