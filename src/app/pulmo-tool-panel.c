/* pulmo-tool-panel.c: the editing tools' controls. Options are bindings to the
 * edit and view states' properties; tools and operations are the window's
 * actions (pulmo-edit-actions.c), whose parameters the panel's fields fill in. */
#include "app/pulmo-tool-panel.h"

struct _PulmoToolPanel {
  GtkWidget parent_instance;

  PulmoEditState *edit;

  GtkDropDown *shape_dropdown;
  GtkAdjustment *brush_size_adjustment;
  GtkCheckButton *brush_3d_check;
  GtkCheckButton *erase_only_check;
  GtkDropDown *paint_over_dropdown;
  GtkCheckButton *hu_check;
  GtkAdjustment *hu_min_adjustment;
  GtkAdjustment *hu_max_adjustment;
  GtkCheckButton *fill_3d_check;
  GtkAdjustment *island_size_adjustment;
  GtkWidget *keep_largest_button;
  GtkWidget *remove_small_button;
  GtkWidget *keep_selected_button;
  GtkWidget *remove_selected_button;
  GtkDropDown *between_axis_dropdown;
  GtkWidget *fill_between_button;
  GtkDropDown *smooth_dropdown;
  GtkAdjustment *smooth_radius_adjustment;
  GtkWidget *smooth_button;
  GtkAdjustment *margin_adjustment;
  GtkWidget *grow_button;
  GtkWidget *shrink_button;
};

G_DEFINE_FINAL_TYPE (PulmoToolPanel, pulmo_tool_panel, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_EDIT_STATE,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

/* In the order of the smoothing drop-down's items. */
static const char *const smooth_ops[] = { "open", "close", "median" };

GtkWidget *
pulmo_tool_panel_new (PulmoEditState *edit)
{
  return g_object_new (PULMO_TYPE_TOOL_PANEL, "edit-state", edit, NULL);
}

/* The operation buttons' action targets carry the fields' current values. */
static void
update_targets (PulmoToolPanel *self)
{
  double island_mm3 = gtk_adjustment_get_value (self->island_size_adjustment);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->keep_largest_button), "(sd)", "keep-largest", island_mm3);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->remove_small_button), "(sd)", "remove-small", island_mm3);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->keep_selected_button), "(sd)", "keep-selected", 0.0);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->remove_selected_button), "(sd)", "remove-selected",
                                    0.0);
  guint axis = gtk_drop_down_get_selected (self->between_axis_dropdown);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->fill_between_button), "s",
                                    pulmo_view_axis_name (MIN (axis, PULMO_N_VIEWS - 1)));
  guint smooth = MIN (gtk_drop_down_get_selected (self->smooth_dropdown), G_N_ELEMENTS (smooth_ops) - 1);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->smooth_button), "(sd)", smooth_ops[smooth],
                                    gtk_adjustment_get_value (self->smooth_radius_adjustment));
  double margin_mm = gtk_adjustment_get_value (self->margin_adjustment);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->grow_button), "(sd)", "grow", margin_mm);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->shrink_button), "(sd)", "shrink", margin_mm);
}

static void
set_hu_range (PulmoToolPanel *self, double hu_min, double hu_max)
{
  g_object_set (self->edit, "hu-min", hu_min, "hu-max", hu_max, NULL);
}

static void
ground_glass_clicked (GtkButton *button, PulmoToolPanel *self)
{
  set_hu_range (self, -800, -100);
}

static void
consolidation_clicked (GtkButton *button, PulmoToolPanel *self)
{
  set_hu_range (self, -100, 100);
}

static void
lung_clicked (GtkButton *button, PulmoToolPanel *self)
{
  set_hu_range (self, -1000, -400);
}

/* The adjustment takes the property's bounds, so the spin never offers a
 * value the property would refuse. */
static void
bind_adjustment (PulmoToolPanel *self, const char *property, GtkAdjustment *adjustment)
{
  GParamSpecDouble *pspec = G_PARAM_SPEC_DOUBLE (
    g_object_class_find_property (G_OBJECT_GET_CLASS (self->edit), property));
  gtk_adjustment_set_lower (adjustment, pspec->minimum);
  gtk_adjustment_set_upper (adjustment, pspec->maximum);
  g_object_bind_property (self->edit, property, adjustment, "value",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
}

static void
bind_check (gpointer source, const char *property, GtkCheckButton *check)
{
  g_object_bind_property (source, property, check, "active", G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
}

static void
bind_dropdown (PulmoToolPanel *self, const char *property, GtkDropDown *dropdown)
{
  g_object_bind_property (self->edit, property, dropdown, "selected",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
}

static void
set_edit_state (PulmoToolPanel *self, PulmoEditState *edit)
{
  g_return_if_fail (PULMO_IS_EDIT_STATE (edit));
  self->edit = g_object_ref (edit);
  PulmoViewState *view_state = pulmo_edit_state_get_view_state (edit);
  bind_dropdown (self, "brush-shape", self->shape_dropdown);
  bind_adjustment (self, "brush-size-mm", self->brush_size_adjustment);
  bind_check (edit, "brush-3d", self->brush_3d_check);
  bind_check (view_state, "erase-only-active", self->erase_only_check);
  bind_dropdown (self, "paint-over", self->paint_over_dropdown);
  bind_check (edit, "hu-enabled", self->hu_check);
  bind_adjustment (self, "hu-min", self->hu_min_adjustment);
  bind_adjustment (self, "hu-max", self->hu_max_adjustment);
  bind_check (view_state, "fill-3d", self->fill_3d_check);
}

static void
pulmo_tool_panel_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  PulmoToolPanel *self = PULMO_TOOL_PANEL (object);
  switch (prop_id)
    {
    case PROP_EDIT_STATE:
      set_edit_state (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pulmo_tool_panel_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PulmoToolPanel *self = PULMO_TOOL_PANEL (object);
  switch (prop_id)
    {
    case PROP_EDIT_STATE: g_value_set_object (value, self->edit); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pulmo_tool_panel_dispose (GObject *object)
{
  PulmoToolPanel *self = PULMO_TOOL_PANEL (object);
  /* Bindings go with the template's widgets and adjustments. A plain widget
   * must unparent its sections itself. */
  gtk_widget_dispose_template (GTK_WIDGET (self), PULMO_TYPE_TOOL_PANEL);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->edit);
  G_OBJECT_CLASS (pulmo_tool_panel_parent_class)->dispose (object);
}

static void
pulmo_tool_panel_class_init (PulmoToolPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = pulmo_tool_panel_dispose;
  object_class->set_property = pulmo_tool_panel_set_property;
  object_class->get_property = pulmo_tool_panel_get_property;

  properties[PROP_EDIT_STATE] = g_param_spec_object ("edit-state", NULL, NULL, PULMO_TYPE_EDIT_STATE,
                                                     G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                                                       | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/pulmo/Pulmo/ui/pulmo-tool-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, shape_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, brush_size_adjustment);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, brush_3d_check);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, erase_only_check);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, paint_over_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, hu_check);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, hu_min_adjustment);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, hu_max_adjustment);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, fill_3d_check);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, island_size_adjustment);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, keep_largest_button);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, remove_small_button);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, keep_selected_button);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, remove_selected_button);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, between_axis_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, fill_between_button);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, smooth_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, smooth_radius_adjustment);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, smooth_button);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, margin_adjustment);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, grow_button);
  gtk_widget_class_bind_template_child (widget_class, PulmoToolPanel, shrink_button);
  gtk_widget_class_bind_template_callback (widget_class, ground_glass_clicked);
  gtk_widget_class_bind_template_callback (widget_class, consolidation_clicked);
  gtk_widget_class_bind_template_callback (widget_class, lung_clicked);
  gtk_widget_class_set_css_name (widget_class, "toolpanel");
}

static void
pulmo_tool_panel_init (PulmoToolPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  update_targets (self);
  g_signal_connect_swapped (self->island_size_adjustment, "value-changed", G_CALLBACK (update_targets), self);
  g_signal_connect_swapped (self->smooth_radius_adjustment, "value-changed", G_CALLBACK (update_targets), self);
  g_signal_connect_swapped (self->margin_adjustment, "value-changed", G_CALLBACK (update_targets), self);
  g_signal_connect_swapped (self->between_axis_dropdown, "notify::selected", G_CALLBACK (update_targets), self);
  g_signal_connect_swapped (self->smooth_dropdown, "notify::selected", G_CALLBACK (update_targets), self);
}
