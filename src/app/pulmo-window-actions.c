/* pulmo-window-actions.c: the window's actions (win.*), bound to the menu, the
 * header bar, the panel's buttons and the views' single-key shortcuts. */
#include "app/pulmo-window-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/label-description.h"
#include "render/window-level.h"

void
_pulmo_window_add_nifti_filters (GtkFileChooser *chooser)
{
  GtkFileFilter *nifti = gtk_file_filter_new ();
  gtk_file_filter_set_name (nifti, _("NIfTI images (.nii, .nii.gz, .hdr)"));
  gtk_file_filter_add_pattern (nifti, "*.nii");
  gtk_file_filter_add_pattern (nifti, "*.nii.gz");
  gtk_file_filter_add_pattern (nifti, "*.NII");
  gtk_file_filter_add_pattern (nifti, "*.NII.GZ");
  gtk_file_filter_add_pattern (nifti, "*.hdr");
  gtk_file_chooser_add_filter (chooser, nifti);
  g_object_unref (nifti);
  GtkFileFilter *all = gtk_file_filter_new ();
  gtk_file_filter_set_name (all, _("All files"));
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (chooser, all);
  g_object_unref (all);
}

typedef void (*ChosenFunc) (PulmoWindow *window, GFile *file);

static void
chooser_response (GtkNativeDialog *dialog, int response, PulmoWindow *self)
{
  ChosenFunc chosen = g_object_get_data (G_OBJECT (dialog), "pulmo-chosen");
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (file != NULL)
        chosen (self, file);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

/* A native file chooser, to be shown; @chosen gets the file once the user accepts. */
static GtkNativeDialog *
new_chooser (PulmoWindow *self, const char *title, GtkFileChooserAction action, const char *accept,
             ChosenFunc chosen, gboolean nifti_filters)
{
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (title, GTK_WINDOW (self), action, accept, NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  if (nifti_filters)
    _pulmo_window_add_nifti_filters (GTK_FILE_CHOOSER (dialog));
  g_object_set_data (G_OBJECT (dialog), "pulmo-chosen", chosen);
  g_signal_connect (dialog, "response", G_CALLBACK (chooser_response), self);
  return GTK_NATIVE_DIALOG (dialog);
}

static void
open_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  gtk_native_dialog_show (new_chooser (data, _("Open CT"), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"),
                                       pulmo_window_open, TRUE));
}

static void
open_dicom_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  gtk_native_dialog_show (new_chooser (data, _("Open DICOM Folder"), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                       _("_Open"), pulmo_window_open, FALSE));
}

static void
open_labels_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  gtk_native_dialog_show (new_chooser (data, _("Open Labels"), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"),
                                       pulmo_window_open_labels, TRUE));
}

static void
add_label_description_filters (GtkFileChooser *chooser)
{
  GtkFileFilter *text = gtk_file_filter_new ();
  gtk_file_filter_set_name (text, _("ITK-SNAP label descriptions (.txt, .label)"));
  gtk_file_filter_add_pattern (text, "*.txt");
  gtk_file_filter_add_pattern (text, "*.label");
  gtk_file_filter_add_pattern (text, "*.TXT");
  gtk_file_chooser_add_filter (chooser, text);
  g_object_unref (text);
}

static void
open_label_names_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  GtkNativeDialog *chooser = new_chooser (data, _("Open Label Names"), GTK_FILE_CHOOSER_ACTION_OPEN,
                                          _("_Open"), pulmo_window_open_label_names, FALSE);
  add_label_description_filters (GTK_FILE_CHOOSER (chooser));
  gtk_native_dialog_show (chooser);
}

static void
export_label_names_to (PulmoWindow *self, GFile *file)
{
  PulmoLabelMap *labels = pulmo_view_state_get_labels (self->state);
  g_autofree char *path = g_file_get_path (file);
  g_autoptr (GError) error = NULL;
  if (labels == NULL)
    return;
  if (path == NULL)
    _pulmo_window_show_error (self, _("Label names can be saved only to a local file"));
  else if (!pulmo_label_description_save (pulmo_label_map_get_table (labels), path, &error))
    _pulmo_window_show_error (self, error->message);
  else
    {
      g_autofree char *name = g_file_get_basename (file);
      /* Translators: %s is the label description file's name. */
      g_autofree char *text = g_strdup_printf (_("Label names saved as %s"), name);
      _pulmo_window_show_toast (self, text);
    }
}

static void
export_label_names_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  PulmoWindow *self = data;
  GtkNativeDialog *chooser = new_chooser (self, _("Export Label Names"), GTK_FILE_CHOOSER_ACTION_SAVE,
                                          _("_Export"), export_label_names_to, FALSE);
  add_label_description_filters (GTK_FILE_CHOOSER (chooser));
  g_autofree char *base = _pulmo_window_ct_base_name (self);
  g_autofree char *name = g_strdup_printf ("%s-labels.txt", base);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_native_dialog_show (chooser);
}

static void
compare_scan_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  gtk_native_dialog_show (new_chooser (data, _("Compare with Another Scan"), GTK_FILE_CHOOSER_ACTION_OPEN,
                                       _("_Compare"), _pulmo_window_compare_scan, TRUE));
}

static void
compare_labels_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  gtk_native_dialog_show (new_chooser (data, _("Compare with Other Labels"), GTK_FILE_CHOOSER_ACTION_OPEN,
                                       _("_Compare"), _pulmo_window_compare_labels, TRUE));
}

static void
compare_model_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  _pulmo_window_compare_model (data);
}

static void
open_recent_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  g_autoptr (GFile) file = g_file_new_for_uri (g_variant_get_string (parameter, NULL));
  pulmo_window_open (data, file);
}

static void
export_to (PulmoWindow *self, GFile *file)
{
  PulmoSliceView *view = pulmo_window_get_view (self, self->active_view);
  int width = gtk_widget_get_width (GTK_WIDGET (view)), height = gtk_widget_get_height (GTK_WIDGET (view));
  if (width < 64 || height < 64)
    width = height = 768;
  g_autofree char *path = g_file_get_path (file);
  g_autoptr (GError) error = NULL;
  if (path == NULL)
    _pulmo_window_show_error (self, _("PNG export needs a local file"));
  else if (!pulmo_slice_view_export_png (view, path, width, height, &error))
    _pulmo_window_show_error (self, error->message);
  else
    {
      g_autofree char *name = g_file_get_basename (file);
      /* Translators: %s is the PNG file's name. */
      g_autofree char *text = g_strdup_printf (_("View exported as %s"), name);
      _pulmo_window_show_toast (self, text);
    }
}

static void
export_png_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  PulmoWindow *self = data;
  GtkNativeDialog *chooser = new_chooser (self, _("Export View as PNG"), GTK_FILE_CHOOSER_ACTION_SAVE,
                                          _("_Export"), export_to, FALSE);
  g_autofree char *base = g_path_get_basename (pulmo_view_state_get_display_name (self->state));
  char *dot = strchr (base, '.');
  if (dot != NULL)
    *dot = '\0';
  /* The view's English name, so that exports are named alike whatever the reader's language. */
  g_autofree char *name = g_strdup_printf ("%s-%s.png", base, pulmo_view_axis_name (self->active_view));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_native_dialog_show (chooser);
}

static void
sweep_exported (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (PulmoWindow) self = data;
  g_autoptr (GError) error = NULL;
  if (!pulmo_slice_view_export_sweep_finish (PULMO_SLICE_VIEW (source), result, &error))
    _pulmo_window_show_error (self, error->message);
  else
    _pulmo_window_show_toast (self, _("Slices exported"));
}

/* A sweep is as large as the view on screen, like a PNG export. */
static void
export_sweep_to (PulmoWindow *self, GFile *file, PulmoSweepFormat format)
{
  PulmoSliceView *view = pulmo_window_get_view (self, self->active_view);
  int width = gtk_widget_get_width (GTK_WIDGET (view)), height = gtk_widget_get_height (GTK_WIDGET (view));
  if (width < 64 || height < 64)
    width = height = 768;
  g_autofree char *path = g_file_get_path (file);
  if (path == NULL)
    _pulmo_window_show_error (self, _("PNG export needs a local file"));
  else
    pulmo_slice_view_export_sweep_async (view, path, format, width, height, sweep_exported, g_object_ref (self));
}

static void
export_apng_to (PulmoWindow *self, GFile *file)
{
  export_sweep_to (self, file, PULMO_SWEEP_APNG);
}

static void
export_png_series_to (PulmoWindow *self, GFile *file)
{
  export_sweep_to (self, file, PULMO_SWEEP_PNG_SERIES);
}

/* "apng": one animated PNG; "png-series": PNGs numbered from -001. */
static void
export_sweep_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  PulmoWindow *self = data;
  gboolean apng = g_strcmp0 (g_variant_get_string (parameter, NULL), "apng") == 0;
  GtkNativeDialog *chooser = new_chooser (self, apng ? _("Export Slices as Animated PNG") : _("Export Slices as PNG Series"),
                                          GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"),
                                          apng ? export_apng_to : export_png_series_to, FALSE);
  g_autofree char *base = _pulmo_window_ct_base_name (self);
  g_autofree char *name = g_strdup_printf ("%s-%s-sweep.png", base, pulmo_view_axis_name (self->active_view));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_native_dialog_show (chooser);
}

/* The CT's file name without its extension: "P001" for P001.nii.gz. */
char *
_pulmo_window_ct_base_name (PulmoWindow *self)
{
  return pulmo_view_state_dup_base_name (self->state);
}

static void
export_report_to (PulmoWindow *self, GFile *file)
{
  g_autofree char *path = g_file_get_path (file);
  g_autoptr (GError) error = NULL;
  if (path == NULL)
    _pulmo_window_show_error (self, _("Reports can be saved only to a local file"));
  else if (!pulmo_window_export_report (self, path, &error))
    _pulmo_window_show_error (self, error->message);
}

static void
export_report_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  PulmoWindow *self = data;
  GtkNativeDialog *chooser = new_chooser (self, _("Export Report"), GTK_FILE_CHOOSER_ACTION_SAVE,
                                          _("_Export"), export_report_to, FALSE);
  const struct { const char *name, *pattern; } formats[] = {
    { N_("PDF report (.pdf)"), "*.pdf" },
    { N_("Figures as JSON (.json)"), "*.json" },
    { N_("Figures as CSV (.csv)"), "*.csv" },
  };
  for (size_t f = 0; f < G_N_ELEMENTS (formats); f++)
    {
      GtkFileFilter *filter = gtk_file_filter_new ();
      gtk_file_filter_set_name (filter, _(formats[f].name));
      gtk_file_filter_add_pattern (filter, formats[f].pattern);
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
      g_object_unref (filter);
    }
  g_autofree char *base = _pulmo_window_ct_base_name (self);
  g_autofree char *name = g_strdup_printf ("%s-report.pdf", base);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_native_dialog_show (chooser);
}

static void
segment_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  pulmo_window_segment (data, TRUE);
}

static void
segment_cancel_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  _pulmo_window_cancel_segment (data);
}

static void
layout_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  _pulmo_window_set_layout (data, g_variant_get_string (parameter, NULL));
  g_simple_action_set_state (action, parameter);
}

/* Double-click: a view fills the window, and a second double-click brings the three back. */
static void
toggle_maximized_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  PulmoWindow *self = data;
  g_autofree char *layout = g_ascii_strdown (g_variant_get_string (parameter, NULL), -1);
  const char *next = g_strcmp0 (self->layout, "all") == 0 ? layout : "all";
  g_action_group_activate_action (G_ACTION_GROUP (self), "layout", g_variant_new_string (next));
}

static void
reset_view_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  for (int axis = 0; axis < PULMO_N_VIEWS; axis++)
    pulmo_slice_view_reset (pulmo_window_get_view (data, axis));
  pulmo_3d_view_reset (PULMO_WINDOW (data)->view_3d);
}

static void
preset_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  PulmoWindow *self = data;
  const PulmoWindowPreset *preset = pulmo_window_preset_find (g_variant_get_string (parameter, NULL));
  if (preset != NULL)
    pulmo_view_state_set_window (self->state, preset->window, preset->level);
}

static void
auto_window_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  PulmoWindow *self = data;
  PulmoVolume *volume = pulmo_view_state_get_volume (self->state);
  double window, level;
  if (volume == NULL)
    return;
  pulmo_window_auto (volume, &window, &level);
  pulmo_view_state_set_window (self->state, window, level);
}

static void
overlay_mode_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  PulmoWindow *self = data;
  gboolean outline = g_strcmp0 (g_variant_get_string (parameter, NULL), "outline") == 0;
  g_object_set (self->state, "overlay-outline", outline, NULL);
}

/* The action's state follows the property, whoever sets it (the saved settings too). */
static void
on_overlay_outline (PulmoViewState *state, GParamSpec *pspec, PulmoWindow *self)
{
  gboolean outline;
  g_object_get (state, "overlay-outline", &outline, NULL);
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), "overlay-mode");
  g_simple_action_set_state (G_SIMPLE_ACTION (action), g_variant_new_string (outline ? "outline" : "fill"));
}

static const GActionEntry window_actions[] = {
  { "open", open_activated },
  { "open-dicom", open_dicom_activated },
  { "open-recent", open_recent_activated, "s" },
  { "open-labels", open_labels_activated },
  { "open-label-names", open_label_names_activated },
  { "export-label-names", export_label_names_activated },
  { "export-png", export_png_activated },
  { "export-sweep", export_sweep_activated, "s" },
  { "export-report", export_report_activated },
  { "compare-scan", compare_scan_activated },
  { "compare-labels", compare_labels_activated },
  { "compare-model", compare_model_activated },
  { "segment", segment_activated },
  { "segment-cancel", segment_cancel_activated },
  { "layout", layout_activated, "s", "'all'" },
  { "toggle-maximized", toggle_maximized_activated, "s" },
  { "reset-view", reset_view_activated },
  { "preset", preset_activated, "s" },
  { "auto-window", auto_window_activated },
  { "overlay-mode", overlay_mode_activated, "s", "'fill'" },
};

/* Actions that need a CT ("preset" needs one in HU: see below). */
static const char *const volume_actions[] = {
  "open-labels", "open-label-names", "export-png", "export-sweep", "layout", "toggle-maximized", "reset-view",
  "auto-window", "overlay-mode", "overlay-visible", "compare-scan", "compare-labels",
};

void
_pulmo_window_update_actions (PulmoWindow *self)
{
  PulmoVolume *volume = pulmo_view_state_get_volume (self->state);
  for (size_t a = 0; a < G_N_ELEMENTS (volume_actions); a++)
    {
      GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), volume_actions[a]);
      if (G_IS_SIMPLE_ACTION (action))
        g_simple_action_set_enabled (G_SIMPLE_ACTION (action), volume != NULL);
    }
  /* The presets are windows in Hounsfield units: on pre-windowed 8-bit or
   * unknown intensities they would show a blank image. */
  GAction *preset = g_action_map_lookup_action (G_ACTION_MAP (self), "preset");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (preset), volume != NULL && pulmo_volume_get_intensity_kind (volume)
                                                                             == PULMO_INTENSITY_HU);
  /* One segmentation at a time; labels to save or report only when there are some. */
  gboolean segmenting = pulmo_window_is_segmenting (self);
  gboolean labels = pulmo_view_state_get_labels (self->state) != NULL && !segmenting;
  const struct { const char *name; gboolean enabled; } depends[] = {
    { "segment", volume != NULL && !segmenting },
    { "segment-cancel", segmenting },
    { "save-labels", labels },
    { "export-label-names", labels },
    { "export-report", labels },
    { "export-case", labels && volume != NULL && pulmo_volume_get_path (volume) != NULL },
    { "compare-model", labels && self->model_labels != NULL },
  };
  for (size_t a = 0; a < G_N_ELEMENTS (depends); a++)
    {
      GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), depends[a].name);
      g_simple_action_set_enabled (G_SIMPLE_ACTION (action), depends[a].enabled);
    }
  _pulmo_window_update_edit_actions (self);
}

void
_pulmo_window_install_actions (PulmoWindow *self)
{
  g_action_map_add_action_entries (G_ACTION_MAP (self), window_actions, G_N_ELEMENTS (window_actions), self);
  g_signal_connect (self->state, "notify::overlay-outline", G_CALLBACK (on_overlay_outline), self);
  g_signal_connect_swapped (self->state, "notify::labels", G_CALLBACK (_pulmo_window_update_actions), self);
  /* The overlay switch in the panel and the O key share the state's property. */
  g_autoptr (GPropertyAction) overlay_visible = g_property_action_new ("overlay-visible", self->state,
                                                                      "overlay-visible");
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (overlay_visible));
  g_autoptr (GPropertyAction) smooth = g_property_action_new ("smooth", self->state, "smooth");
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (smooth));
}

static int
compare_recent (gconstpointer a, gconstpointer b)
{
  GDateTime *time_a = gtk_recent_info_get_modified ((GtkRecentInfo *) a);
  GDateTime *time_b = gtk_recent_info_get_modified ((GtkRecentInfo *) b);
  return g_date_time_compare (time_b, time_a); /* newest first */
}

/* The ten files and folders Pulmo opened last, newest first. */
void
_pulmo_window_update_recent_menu (PulmoWindow *self)
{
  GList *items = gtk_recent_manager_get_items (gtk_recent_manager_get_default ());
  items = g_list_sort (items, compare_recent);
  g_menu_remove_all (self->recent_submenu);
  int shown = 0;
  for (GList *l = items; l != NULL && shown < 10; l = l->next)
    {
      GtkRecentInfo *info = l->data;
      if (!gtk_recent_info_has_application (info, g_get_application_name ()))
        continue;
      g_autoptr (GMenuItem) item = g_menu_item_new (gtk_recent_info_get_display_name (info), NULL);
      g_menu_item_set_action_and_target_value (item, "win.open-recent",
                                               g_variant_new_string (gtk_recent_info_get_uri (info)));
      g_menu_append_item (self->recent_submenu, item);
      shown++;
    }
  if (shown == 0)
    g_menu_append (self->recent_submenu, _("No Recent Files"), "win.no-recent-files");
  g_list_free_full (items, (GDestroyNotify) gtk_recent_info_unref);
}
