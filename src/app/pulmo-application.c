#include "app/pulmo-application.h"

#include <glib/gi18n.h>

#include "app/pulmo-about.h"
#include "app/pulmo-appearance.h"
#include "app/pulmo-compare-window.h"
#include "app/pulmo-preferences.h"
#include "app/pulmo-window.h"

struct _PulmoApplication {
  AdwApplication parent_instance;
  GFile *labels;        /* --labels FILE: opened onto the CT given with it */
  GFile *label_names;   /* --label-names FILE: names and colours for those labels */
  GFile *compare;       /* --compare FILE: the scan shown beside the CT */
  GFile *compare_labels; /* --compare-labels FILE: its labels */
};

G_DEFINE_FINAL_TYPE (PulmoApplication, pulmo_application, ADW_TYPE_APPLICATION)

PulmoApplication *
pulmo_application_new (void)
{
  return g_object_new (PULMO_TYPE_APPLICATION, "application-id", "org.pulmo.Pulmo", "flags",
                       G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE, NULL);
}

static void
pulmo_application_activate (GApplication *application)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (application));
  if (window == NULL)
    window = GTK_WINDOW (pulmo_window_new (GTK_APPLICATION (application)));
  gtk_window_present (window);
}

/* `pulmo FILE…`: each file or DICOM folder in its own window; `--labels` goes
 * onto the first. With `--compare`, the first and that scan side by side. */
static void
pulmo_application_open (GApplication *application, GFile **files, int n_files, const char *hint)
{
  PulmoApplication *self = PULMO_APPLICATION (application);
  if (self->compare != NULL)
    {
      PulmoCompareWindow *compare = pulmo_compare_window_new (GTK_APPLICATION (application));
      pulmo_compare_window_open (compare, 0, files[0], self->labels);
      pulmo_compare_window_open (compare, 1, self->compare, self->compare_labels);
      gtk_window_present (GTK_WINDOW (compare));
      return;
    }
  for (int f = 0; f < n_files; f++)
    {
      PulmoWindow *window = pulmo_window_new (GTK_APPLICATION (application));
      if (f == 0 && self->labels != NULL)
        pulmo_window_open_with_labels (window, files[f], self->labels, self->label_names);
      else
        pulmo_window_open (window, files[f]);
      gtk_window_present (GTK_WINDOW (window));
    }
}

static int
pulmo_application_handle_local_options (GApplication *application, GVariantDict *options)
{
  PulmoApplication *self = PULMO_APPLICATION (application);
  const char *labels = NULL;
  if (g_variant_dict_lookup (options, "labels", "^&ay", &labels))
    {
      g_clear_object (&self->labels);
      self->labels = g_file_new_for_commandline_arg (labels);
    }
  const char *label_names = NULL;
  if (g_variant_dict_lookup (options, "label-names", "^&ay", &label_names))
    {
      g_clear_object (&self->label_names);
      self->label_names = g_file_new_for_commandline_arg (label_names);
    }
  const char *compare = NULL, *compare_labels = NULL;
  if (g_variant_dict_lookup (options, "compare", "^&ay", &compare))
    {
      g_clear_object (&self->compare);
      self->compare = g_file_new_for_commandline_arg (compare);
    }
  if (g_variant_dict_lookup (options, "compare-labels", "^&ay", &compare_labels))
    {
      g_clear_object (&self->compare_labels);
      self->compare_labels = g_file_new_for_commandline_arg (compare_labels);
    }
  return -1; /* carry on */
}

static void
pulmo_application_finalize (GObject *object)
{
  g_clear_object (&PULMO_APPLICATION (object)->labels);
  g_clear_object (&PULMO_APPLICATION (object)->label_names);
  g_clear_object (&PULMO_APPLICATION (object)->compare);
  g_clear_object (&PULMO_APPLICATION (object)->compare_labels);
  G_OBJECT_CLASS (pulmo_application_parent_class)->finalize (object);
}

static void
about_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  pulmo_about_present (gtk_application_get_active_window (data));
}

static void
quit_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  /* Closing the windows, rather than stopping the main loop under them, lets
   * each one finish: ask about unsaved edits, cancel its load, save the view
   * settings. The application ends with its last window; one whose annotator
   * chose Cancel stays open. */
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (data)));
  for (GList *w = windows; w != NULL; w = w->next)
    gtk_window_close (w->data);
  g_list_free (windows);
}

static const GActionEntry app_actions[] = {
  { "about", about_activated },
  { "quit", quit_activated },
};

static void
pulmo_application_startup (GApplication *application)
{
  G_APPLICATION_CLASS (pulmo_application_parent_class)->startup (application);
  pulmo_appearance_apply (pulmo_style_preferences_load ());

  g_action_map_add_action_entries (G_ACTION_MAP (application), app_actions, G_N_ELEMENTS (app_actions),
                                   application);
  /* Keys with a modifier work everywhere; single keys live on the views (see pulmo-window.ui). */
  static const struct {
    const char *action;
    const char *accels[2];
  } accels[] = {
    { "app.quit", { "<Primary>q", NULL } },
    { "win.open", { "<Primary>o", NULL } },
    { "win.open-dicom", { "<Primary><Shift>o", NULL } },
    { "win.open-labels", { "<Primary>l", NULL } },
    { "win.export-png", { "<Primary>e", NULL } },
    { "win.segment", { "<Primary>r", NULL } },
    { "win.segment-cancel", { "Escape", NULL } },
    { "win.save-labels", { "<Primary>s", NULL } },
    { "window.close", { "<Primary>w", NULL } },
    { "win.preferences", { "<Primary>comma", NULL } },
  };
  for (size_t a = 0; a < G_N_ELEMENTS (accels); a++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (application), accels[a].action, accels[a].accels);
}

static void
pulmo_application_class_init (PulmoApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);
  G_OBJECT_CLASS (klass)->finalize = pulmo_application_finalize;
  app_class->handle_local_options = pulmo_application_handle_local_options;
  app_class->activate = pulmo_application_activate;
  app_class->open = pulmo_application_open;
  app_class->startup = pulmo_application_startup;
}

static void
pulmo_application_init (PulmoApplication *self)
{
  /* N_(): GOption translates these when it prints --help. */
  static const GOptionEntry options[] = {
    { "labels", 'l', 0, G_OPTION_ARG_FILENAME, NULL, N_("Open FILE as the label map of the CT"),
      /* Translators: the placeholder for the file after --labels in --help; use the same word
       * in "Open FILE as the label map of the CT". */
      N_("FILE") },
    { "label-names", 0, 0, G_OPTION_ARG_FILENAME, NULL,
      N_("Name and colour those labels from FILE, an ITK-SNAP label description"), N_("FILE") },
    { "compare", 0, 0, G_OPTION_ARG_FILENAME, NULL,
      N_("Show the CT beside the scan in FILE (a follow-up), linked by position"), N_("FILE") },
    { "compare-labels", 0, 0, G_OPTION_ARG_FILENAME, NULL, N_("Open FILE as the label map of the compared scan"),
      N_("FILE") },
    { NULL },
  };
  g_application_add_main_option_entries (G_APPLICATION (self), options);
  /* Translators: the arguments `pulmo --help` shows after the program's name. */
  g_application_set_option_context_parameter_string (G_APPLICATION (self), _("[CT.nii.gz | DICOM-FOLDER…]"));
}
