#include "app/pulmo-window-private.h"

#include <glib/gi18n.h>
#include <math.h>

#include "app/pulmo-preferences.h"

G_DEFINE_FINAL_TYPE (PulmoWindow, pulmo_window, GTK_TYPE_APPLICATION_WINDOW)

PulmoWindow *
pulmo_window_new (GtkApplication *application)
{
  return g_object_new (PULMO_TYPE_WINDOW, "application", application, NULL);
}

PulmoViewState *
pulmo_window_get_state (PulmoWindow *self)
{
  return self->state;
}

PulmoSliceView *
pulmo_window_get_view (PulmoWindow *self, PulmoViewAxis axis)
{
  switch (axis)
    {
    case PULMO_VIEW_AXIAL: return self->axial_view;
    case PULMO_VIEW_CORONAL: return self->coronal_view;
    case PULMO_VIEW_SAGITTAL: return self->sagittal_view;
    case PULMO_N_VIEWS:
    default: g_return_val_if_reached (NULL);
    }
}

const char *
pulmo_window_get_error (PulmoWindow *self)
{
  if (!gtk_info_bar_get_revealed (self->error_bar))
    return NULL;
  return gtk_label_get_text (self->error_label);
}

const char *
pulmo_window_get_labels_source (PulmoWindow *self)
{
  return pulmo_view_state_get_labels (self->state) != NULL ? self->labels_source : NULL;
}

void
_pulmo_window_set_labels_source (PulmoWindow *self, const char *source)
{
  g_free (self->labels_source);
  self->labels_source = g_strdup (source);
  pulmo_report_panel_set_source (self->report_panel, source);
}

const char *
pulmo_window_get_status (PulmoWindow *self)
{
  return gtk_label_get_text (self->status_label);
}

void
_pulmo_window_show_error (PulmoWindow *self, const char *message)
{
  gtk_label_set_text (self->error_label, message);
  gtk_info_bar_set_revealed (self->error_bar, TRUE);
}

static void
toast_dismissed (AdwToast *toast, PulmoWindow *self)
{
  if (self->toast == toast)
    g_clear_object (&self->toast);
}

void
_pulmo_window_show_toast (PulmoWindow *self, const char *text)
{
  /* libadwaita 1.2 reads a toast's title as markup: a file name may hold '&' or '<'. */
  g_autofree char *markup = g_markup_escape_text (text, -1);
  /* The newest news replaces the last, rather than waiting behind it. */
  if (self->toast != NULL)
    adw_toast_dismiss (self->toast);
  AdwToast *toast = adw_toast_new (markup);
  g_signal_connect_object (toast, "dismissed", G_CALLBACK (toast_dismissed), self, 0);
  g_set_object (&self->toast, toast);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

const char *
_pulmo_window_get_toast (PulmoWindow *self)
{
  return self->toast != NULL ? adw_toast_get_title (self->toast) : NULL;
}

static void
error_bar_response (GtkInfoBar *bar, int response, PulmoWindow *self)
{
  gtk_info_bar_set_revealed (bar, FALSE);
}

/* "all" shows the three views (and the 3D view below the axial one if
 * "show-3d" is on); a view's name ("3d" too) shows that view alone. */
void
_pulmo_window_set_layout (PulmoWindow *self, const char *layout)
{
  gboolean all = g_strcmp0 (layout, "all") == 0;
  gboolean alone_3d = g_strcmp0 (layout, "3d") == 0, with_3d = all && _pulmo_window_shows_3d (self);
  gtk_widget_set_visible (GTK_WIDGET (self->view_3d), alone_3d || with_3d);
  gtk_grid_layout_child_set_row_span (GTK_GRID_LAYOUT_CHILD (gtk_layout_manager_get_layout_child (
                                          gtk_widget_get_layout_manager (GTK_WIDGET (self->view_grid)),
                                          GTK_WIDGET (self->axial_view))),
                                      with_3d ? 1 : 2);
  for (int axis = 0; axis < PULMO_N_VIEWS; axis++)
    {
      PulmoSliceView *view = pulmo_window_get_view (self, axis);
      gboolean alone = g_ascii_strcasecmp (layout, pulmo_view_axis_name (axis)) == 0;
      gtk_widget_set_visible (GTK_WIDGET (view), all || alone);
      if (alone)
        self->active_view = axis;
    }
  g_free (self->layout);
  self->layout = g_strdup (all ? "all" : layout);
}

/* The status line: what lies under the pointer. */
static void
on_hover (PulmoViewState *state, const int *ijk, PulmoWindow *self)
{
  g_autofree char *text = ijk != NULL ? pulmo_view_state_describe_voxel (state, ijk) : NULL;
  gtk_label_set_text (self->status_label, text != NULL ? text : "");
}

static void
on_volume_changed (PulmoViewState *state, PulmoWindow *self)
{
  _pulmo_window_abandon_segment (self);
  _pulmo_window_set_labels_source (self, NULL);
  _pulmo_window_edit_volume_changed (self);
  _pulmo_window_training_volume_changed (self);
  gboolean has = pulmo_view_state_get_volume (state) != NULL;
  gtk_stack_set_visible_child_name (self->main_stack, has ? "views" : "empty");
  gtk_widget_set_visible (self->panel_scroller, has);
  _pulmo_window_update_actions (self);
}

static void
view_entered (GtkEventControllerMotion *controller, double x, double y, PulmoWindow *self)
{
  GtkWidget *view = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller));
  self->active_view = pulmo_slice_view_get_axis (PULMO_SLICE_VIEW (view));
}

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, PulmoWindow *self)
{
  GSList *files = g_value_get_boxed (value);
  if (files == NULL)
    return FALSE;
  pulmo_window_open (self, files->data);
  return TRUE;
}

/* Dropped on the side panel, a file is the label map of the open CT. */
static gboolean
on_drop_labels (GtkDropTarget *target, const GValue *value, double x, double y, PulmoWindow *self)
{
  GSList *files = g_value_get_boxed (value);
  if (files == NULL || pulmo_view_state_get_volume (self->state) == NULL)
    return FALSE;
  pulmo_window_open_labels (self, files->data);
  return TRUE;
}

static void
pulmo_window_dispose (GObject *object)
{
  PulmoWindow *self = PULMO_WINDOW (object);
  _pulmo_window_cancel_load (self);
  _pulmo_window_abandon_segment (self);
  g_clear_weak_pointer (&self->segmented_labels);
  _pulmo_window_dispose_edit (self);
  _pulmo_window_dispose_training (self);
  if (self->state != NULL)
    {
      g_autoptr (GError) error = NULL;
      if (!pulmo_preferences_save (self->state, &error))
        g_warning ("The view settings were not saved: %s", error->message);
      g_signal_handlers_disconnect_by_data (self->state, self);
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), PULMO_TYPE_WINDOW);
  g_clear_object (&self->toast);
  g_clear_object (&self->state);
  G_OBJECT_CLASS (pulmo_window_parent_class)->dispose (object);
}

static void
pulmo_window_finalize (GObject *object)
{
  PulmoWindow *self = PULMO_WINDOW (object);
  g_free (self->layout);
  g_free (self->labels_source);
  G_OBJECT_CLASS (pulmo_window_parent_class)->finalize (object);
}

static void
pulmo_window_class_init (PulmoWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = pulmo_window_dispose;
  object_class->finalize = pulmo_window_finalize;

  g_type_ensure (PULMO_TYPE_SLICE_VIEW);
  g_type_ensure (PULMO_TYPE_3D_VIEW);
  g_type_ensure (PULMO_TYPE_PANEL);
  g_type_ensure (PULMO_TYPE_REPORT_PANEL);
  g_type_ensure (ADW_TYPE_TOAST_OVERLAY);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/pulmo/Pulmo/ui/pulmo-window.ui");
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, title_label);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, primary_menu_button);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, error_bar);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, error_label);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, recovery_bar);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, recovery_label);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, edit_section);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, view_grid);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, axial_view);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, coronal_view);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, sagittal_view);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, view_3d);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, panel_scroller);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, panel);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, report_panel);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, status_label);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, segment_box);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, segment_progress);
  gtk_widget_class_bind_template_child (widget_class, PulmoWindow, recent_submenu);
  gtk_widget_class_bind_template_callback (widget_class, error_bar_response);
}

static void
pulmo_window_init (PulmoWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  /* Not a bound template child: disposing the template would unparent it
   * behind the window's back, which still holds it as its child. */
  self->toast_overlay = ADW_TOAST_OVERLAY (gtk_window_get_child (GTK_WINDOW (self)));

  self->state = pulmo_view_state_new ();
  self->layout = g_strdup ("all");
  for (int axis = 0; axis < PULMO_N_VIEWS; axis++)
    {
      PulmoSliceView *view = pulmo_window_get_view (self, axis);
      pulmo_slice_view_set_state (view, self->state);
      GtkEventController *motion = gtk_event_controller_motion_new ();
      g_signal_connect (motion, "enter", G_CALLBACK (view_entered), self);
      gtk_widget_add_controller (GTK_WIDGET (view), motion);
    }
  pulmo_panel_set_state (self->panel, self->state);
  pulmo_report_panel_set_state (self->report_panel, self->state);
  g_signal_connect (self->state, "hover", G_CALLBACK (on_hover), self);
  g_signal_connect (self->state, "volume-changed", G_CALLBACK (on_volume_changed), self);

  GtkDropTarget *drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
  GtkDropTarget *drop_labels = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop_labels, "drop", G_CALLBACK (on_drop_labels), self);
  gtk_widget_add_controller (self->panel_scroller, GTK_EVENT_CONTROLLER (drop_labels));

  _pulmo_window_install_actions (self);
  _pulmo_window_install_training_actions (self);
  _pulmo_window_init_edit (self);
  _pulmo_window_init_3d (self);
  pulmo_preferences_load (self->state);
  _pulmo_window_update_recent_menu (self);
  g_signal_connect_object (gtk_recent_manager_get_default (), "changed",
                           G_CALLBACK (_pulmo_window_update_recent_menu), self, G_CONNECT_SWAPPED);
  on_volume_changed (self->state, self);
}
