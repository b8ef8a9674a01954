#include "app/pulmo-preferences-window.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "app/pulmo-accessible.h"
#include "app/pulmo-appearance.h"
#include "app/pulmo-preferences.h"
#include "train/model-registry.h"

typedef struct {
  AdwPreferencesWindow *window;
  GtkListBox *models;
  GtkLabel *error;          /* why a model or the annotator could not be saved */
  gboolean filling;         /* the list is being rebuilt: toggles are not the user's */
} Preferences;

static void fill_models (Preferences *p);

static void
show_error (Preferences *p, const char *message)
{
  gtk_label_set_text (p->error, message);
  gtk_widget_set_visible (GTK_WIDGET (p->error), message != NULL);
}

static void
model_toggled (GtkCheckButton *button, Preferences *p)
{
  if (p->filling || !gtk_check_button_get_active (button))
    return;
  int index = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "index"));
  g_autoptr (GError) error = NULL;
  if (!pulmo_model_use (index, &error))
    show_error (p, error->message);
  else
    {
      show_error (p, NULL);
      adw_preferences_window_add_toast (p->window, adw_toast_new (_("The next segmentation uses this model")));
    }
  fill_models (p);
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
fill_models (Preferences *p)
{
  p->filling = TRUE;
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (p->models))) != NULL)
    gtk_list_box_remove (p->models, child);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries = pulmo_model_history (&error);
  if (entries == NULL)
    {
      show_error (p, error->message);
      p->filling = FALSE;
      return;
    }
  GtkCheckButton *group = NULL;
  for (guint e = 0; e < entries->len; e++)
    {
      PulmoModelEntry *entry = g_ptr_array_index (entries, e);
      g_autofree char *when = installed_when (entry->installed);
      /* Translators: how a model came to be, under its name; the first is the model Pulmo ships. */
      g_autofree char *about = entry->installed == NULL
                                 ? g_strdup (_("Shipped with Pulmo"))
                                 : g_strdup_printf (_("Installed %s — %s"), when,
                                                    entry->note != NULL ? entry->note : "");
      GtkWidget *row = adw_action_row_new ();
      /* Titles are markup: a model's identity or note may hold any character. */
      g_autofree char *title = g_markup_escape_text (entry->identity, -1);
      g_autofree char *subtitle = g_markup_escape_text (about, -1);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      GtkWidget *button = gtk_check_button_new ();
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      pulmo_accessible_set_label (button, entry->identity);
      if (group == NULL)
        group = GTK_CHECK_BUTTON (button);
      else
        gtk_check_button_set_group (GTK_CHECK_BUTTON (button), group);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (button), entry->in_use);
      g_object_set_data (G_OBJECT (button), "index", GINT_TO_POINTER (e));
      g_signal_connect (button, "toggled", G_CALLBACK (model_toggled), p);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), button);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), button);
      gtk_list_box_append (p->models, row);
    }
  p->filling = FALSE;
}

static void
annotator_changed (GtkEditable *editable, Preferences *p)
{
  PulmoTrainingPreferences prefs;
  pulmo_training_preferences_load (&prefs);
  g_free (prefs.annotator);
  prefs.annotator = g_strstrip (g_strdup (gtk_editable_get_text (editable)));
  g_autoptr (GError) error = NULL;
  if (!pulmo_training_preferences_save (&prefs, &error))
    show_error (p, error->message);
  pulmo_training_preferences_clear (&prefs);
}

static void
appearance_selected (AdwComboRow *row, GParamSpec *pspec, gpointer data)
{
  PulmoAppearance appearance = adw_combo_row_get_selected (row);
  pulmo_appearance_apply (appearance);
  g_autoptr (GError) error = NULL;
  if (!pulmo_style_preferences_save (appearance, &error))
    g_warning ("The appearance was not saved: %s", error->message);
}

/* A row with @control at its end, which the row's title names for screen readers. */
static GtkWidget *
control_row (const char *title, const char *subtitle, GtkWidget *control)
{
  GtkWidget *row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (row), TRUE);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_widget_set_valign (control, GTK_ALIGN_CENTER);
  g_autofree char *name = g_strdup (title);
  /* The accessible name without the mnemonic's underscore. */
  char *out = name;
  for (const char *in = title; *in; in++)
    if (*in != '_')
      *out++ = *in;
  *out = '\0';
  pulmo_accessible_set_label (control, name);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), control);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), control);
  return row;
}

static gboolean
opacity_to_percent (GBinding *binding, const GValue *from, GValue *to, gpointer data)
{
  g_value_set_double (to, g_value_get_double (from) * 100.0);
  return TRUE;
}

static gboolean
percent_to_opacity (GBinding *binding, const GValue *from, GValue *to, gpointer data)
{
  g_value_set_double (to, g_value_get_double (from) / 100.0);
  return TRUE;
}

static GtkWidget *
view_page (PulmoViewState *state)
{
  GtkWidget *page = adw_preferences_page_new ();
  adw_preferences_page_set_title (ADW_PREFERENCES_PAGE (page), _("View"));
  adw_preferences_page_set_name (ADW_PREFERENCES_PAGE (page), "view");
  adw_preferences_page_set_icon_name (ADW_PREFERENCES_PAGE (page), "preferences-desktop-appearance-symbolic");

  GtkWidget *style = adw_preferences_group_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (style), _("Appearance"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (style),
                                         _("The slices stay on black in either style."));
  /* In PulmoAppearance's order. */
  const char *const styles[] = { _("Follow System"), _("Light"), _("Dark"), NULL };
  GtkWidget *appearance = adw_combo_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (appearance), _("_Style"));
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (appearance), TRUE);
  g_autoptr (GtkStringList) style_names = gtk_string_list_new (styles);
  adw_combo_row_set_model (ADW_COMBO_ROW (appearance), G_LIST_MODEL (style_names));
  adw_combo_row_set_selected (ADW_COMBO_ROW (appearance), pulmo_style_preferences_load ());
  g_signal_connect (appearance, "notify::selected", G_CALLBACK (appearance_selected), NULL);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (style), appearance);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (style));

  GtkWidget *display = adw_preferences_group_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (display), _("Slices and Labels"));
  GtkWidget *smooth = gtk_switch_new ();
  g_object_bind_property (state, "smooth", smooth, "active", G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (display),
                             control_row (_("S_mooth Display"), _("Interpolate magnified voxels; labels stay sharp (I)"),
                                          smooth));
  GtkWidget *outline = gtk_switch_new ();
  g_object_bind_property (state, "overlay-outline", outline, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (display),
                             control_row (_("_Outline Labels"), _("Draw each label's edge instead of filling it (Shift+F)"),
                                          outline));
  GtkWidget *opacity = gtk_spin_button_new_with_range (0, 100, 5);
  g_object_bind_property_full (state, "overlay-opacity", gtk_spin_button_get_adjustment (GTK_SPIN_BUTTON (opacity)),
                               "value", G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE, opacity_to_percent,
                               percent_to_opacity, NULL, NULL);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (display),
                             control_row (_("Label O_pacity"), _("In percent: 0 shows the CT alone"), opacity));
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (display));
  return page;
}

static GtkWidget *
training_page (Preferences *p)
{
  GtkWidget *page = adw_preferences_page_new ();
  adw_preferences_page_set_title (ADW_PREFERENCES_PAGE (page), _("Training"));
  adw_preferences_page_set_name (ADW_PREFERENCES_PAGE (page), "training");
  adw_preferences_page_set_icon_name (ADW_PREFERENCES_PAGE (page), "system-run-symbolic");

  GtkWidget *cases = adw_preferences_group_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (cases), _("Exported Cases"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (cases),
                                         _("Your name is recorded with every case you export."));
  GtkWidget *annotator = adw_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (annotator), _("_Annotator"));
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (annotator), TRUE);
  PulmoTrainingPreferences prefs;
  pulmo_training_preferences_load (&prefs);
  gtk_editable_set_text (GTK_EDITABLE (annotator), prefs.annotator);
  pulmo_training_preferences_clear (&prefs);
  g_signal_connect (annotator, "changed", G_CALLBACK (annotator_changed), p);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (cases), annotator);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (cases));

  GtkWidget *models = adw_preferences_group_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (models), _("Model in Use"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (models),
                                         _("Every model fine-tuned here is kept. Choose one to go back to it: "
                                           "segmentation then uses exactly that file again."));
  p->models = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (p->models, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (p->models), "boxed-list");
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (models), GTK_WIDGET (p->models));
  p->error = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (p->error, TRUE);
  gtk_label_set_xalign (p->error, 0);
  gtk_label_set_selectable (p->error, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (p->error), "error");
  gtk_widget_set_margin_top (GTK_WIDGET (p->error), 12);
  gtk_widget_set_visible (GTK_WIDGET (p->error), FALSE);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (models), GTK_WIDGET (p->error));
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (models));
  fill_models (p);
  return page;
}

GtkWidget *
pulmo_preferences_window_new (PulmoWindow *parent)
{
  Preferences *p = g_new0 (Preferences, 1);
  p->window = ADW_PREFERENCES_WINDOW (adw_preferences_window_new ());
  gtk_window_set_title (GTK_WINDOW (p->window), _("Preferences"));
  gtk_window_set_transient_for (GTK_WINDOW (p->window), GTK_WINDOW (parent));
  gtk_window_set_modal (GTK_WINDOW (p->window), TRUE);
  gtk_window_set_destroy_with_parent (GTK_WINDOW (p->window), TRUE);
  gtk_window_set_default_size (GTK_WINDOW (p->window), 640, 620);
  /* Nothing to search among a dozen rows. */
  adw_preferences_window_set_search_enabled (p->window, FALSE);
  g_object_set_data_full (G_OBJECT (p->window), "preferences", p, g_free);
  adw_preferences_window_add (p->window, ADW_PREFERENCES_PAGE (view_page (pulmo_window_get_state (parent))));
  adw_preferences_window_add (p->window, ADW_PREFERENCES_PAGE (training_page (p)));
  return GTK_WIDGET (p->window);
}
