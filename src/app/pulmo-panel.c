#include "app/pulmo-panel.h"

#include <glib/gi18n.h>

struct _PulmoPanel {
  GtkBox parent_instance;

  PulmoViewState *state;
  GPtrArray *bindings;
  PulmoLabelMap *labels;   /* the state's label map, whose edits the legend follows */
  guint legend_timeout;    /* a pending recount of the legend's volumes */

  GtkLabel *file_label;
  GtkLabel *dims_label;
  GtkLabel *spacing_label;
  GtkLabel *orientation_label;
  GtkLabel *values_label;
  GtkAdjustment *window_adjustment;
  GtkAdjustment *level_adjustment;
  GtkSwitch *overlay_switch;
  GtkWidget *overlay_controls;
  GtkAdjustment *opacity_adjustment;
  GtkListBox *legend_list;
};

G_DEFINE_FINAL_TYPE (PulmoPanel, pulmo_panel, GTK_TYPE_BOX)

static void
update_image_info (PulmoPanel *self)
{
  PulmoVolume *volume = self->state ? pulmo_view_state_get_volume (self->state) : NULL;
  if (volume == NULL)
    {
      gtk_label_set_text (self->file_label, "—");
      gtk_label_set_text (self->dims_label, "—");
      gtk_label_set_text (self->spacing_label, "—");
      gtk_label_set_text (self->orientation_label, "—");
      gtk_label_set_text (self->values_label, "—");
      return;
    }
  int dims[3];
  const double *spacing = pulmo_volume_get_spacing (volume);
  double min, max;
  pulmo_volume_get_dims (volume, dims);
  pulmo_volume_get_range (volume, &min, &max);

  const char *name = pulmo_view_state_get_display_name (self->state);
  gtk_label_set_text (self->file_label, name);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->file_label), name);
  g_autofree char *dims_text = g_strdup_printf ("%d × %d × %d", dims[0], dims[1], dims[2]);
  gtk_label_set_text (self->dims_label, dims_text);
  g_autofree char *spacing_text = g_strdup_printf (
    /* Translators: voxel spacing along the three axes, in millimetres. */
    _("%.3g × %.3g × %.3g mm"), spacing[0], spacing[1], spacing[2]);
  gtk_label_set_text (self->spacing_label, spacing_text);
  gtk_label_set_text (self->orientation_label, pulmo_volume_get_orientation (volume));
  g_autofree char *values_text = g_strdup_printf (
    /* Translators: the file's datatype, what its values are, then their range. */
    _("%s, %s\n%.0f … %.0f"), pulmo_volume_get_source_datatype (volume),
    pulmo_intensity_kind_describe (pulmo_volume_get_intensity_kind (volume)), min, max);
  gtk_label_set_text (self->values_label, values_text);
}

static void
draw_swatch (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  const uint8_t *rgba = data;
  cairo_arc (cr, width / 2.0, height / 2.0, MIN (width, height) / 2.0 - 1, 0, 2 * G_PI);
  cairo_set_source_rgb (cr, rgba[0] / 255.0, rgba[1] / 255.0, rgba[2] / 255.0);
  cairo_fill_preserve (cr);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.4);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);
}

static void
label_visible_toggled (GtkCheckButton *check, PulmoPanel *self)
{
  PulmoLabelMap *labels = pulmo_view_state_get_labels (self->state);
  if (labels == NULL)
    return;
  guint value = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (check), "label-value"));
  pulmo_label_table_set_visible (pulmo_label_map_get_table (labels), (uint8_t) value,
                                 gtk_check_button_get_active (check));
  pulmo_view_state_overlay_changed (self->state);
}

/* One row per defined label with voxels in the map: visibility, colour, name, volume. */
static void
update_legend (PulmoPanel *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->legend_list))) != NULL)
    gtk_list_box_remove (self->legend_list, child);

  PulmoLabelMap *labels = self->state ? pulmo_view_state_get_labels (self->state) : NULL;
  gtk_widget_set_sensitive (self->overlay_controls, labels != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->overlay_switch), labels != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->legend_list), labels != NULL);
  if (labels == NULL)
    return;

  PulmoLabelTable *table = pulmo_label_map_get_table (labels);
  const double *spacing = pulmo_volume_get_spacing (pulmo_label_map_get_volume (labels));
  double voxel_ml = spacing[0] * spacing[1] * spacing[2] / 1000.0;
  guint64 counts[256];
  uint8_t values[256];
  pulmo_label_map_count (labels, counts);
  int n = pulmo_label_table_list (table, values);
  for (int e = 0; e < n; e++)
    {
      const PulmoLabel *label = pulmo_label_table_get (table, values[e]);
      if (counts[values[e]] == 0)
        continue;
      GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
      gtk_widget_set_margin_start (row, 6);
      gtk_widget_set_margin_end (row, 6);
      gtk_widget_set_margin_top (row, 3);
      gtk_widget_set_margin_bottom (row, 3);

      GtkWidget *check = gtk_check_button_new ();
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check), label->visible);
      g_object_set_data (G_OBJECT (check), "label-value", GUINT_TO_POINTER (label->value));
      g_signal_connect (check, "toggled", G_CALLBACK (label_visible_toggled), self);
      gtk_box_append (GTK_BOX (row), check);

      GtkWidget *swatch = gtk_drawing_area_new ();
      gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (swatch), 14);
      gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (swatch), 14);
      gtk_widget_set_valign (swatch, GTK_ALIGN_CENTER);
      gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (swatch), draw_swatch,
                                      g_memdup2 (label->rgba, 4), g_free);
      gtk_box_append (GTK_BOX (row), swatch);

      g_autofree char *name = g_strdup_printf ("%u  %s", label->value, label->name);
      GtkWidget *name_label = gtk_label_new (name);
      gtk_label_set_xalign (GTK_LABEL (name_label), 0);
      gtk_label_set_ellipsize (GTK_LABEL (name_label), PANGO_ELLIPSIZE_END);
      gtk_widget_set_hexpand (name_label, TRUE);
      gtk_box_append (GTK_BOX (row), name_label);

      g_autofree char *volume = g_strdup_printf (
        /* Translators: a label's volume in millilitres. */
        _("%.1f mL"), counts[values[e]] * voxel_ml);
      GtkWidget *volume_label = gtk_label_new (volume);
      gtk_widget_add_css_class (volume_label, "dim-label");
      gtk_widget_add_css_class (volume_label, "numeric");
      gtk_box_append (GTK_BOX (row), volume_label);

      gtk_list_box_append (self->legend_list, row);
    }
}

/* Edits come a brush dab at a time: recount at most every quarter second,
 * not on every change (a whole-map count is tens of milliseconds). */
#define LEGEND_RECOUNT_MS 250

static gboolean
legend_recount_due (gpointer data)
{
  PulmoPanel *self = data;
  self->legend_timeout = 0;
  update_legend (self);
  return G_SOURCE_REMOVE;
}

static void
labels_edited (PulmoPanel *self)
{
  if (self->legend_timeout == 0)
    self->legend_timeout = g_timeout_add (LEGEND_RECOUNT_MS, legend_recount_due, self);
}

static void
watch_labels (PulmoPanel *self, PulmoLabelMap *labels)
{
  g_clear_handle_id (&self->legend_timeout, g_source_remove);
  if (self->labels != NULL)
    g_signal_handlers_disconnect_by_data (self->labels, self);
  g_set_object (&self->labels, labels);
  if (labels != NULL)
    {
      g_signal_connect_swapped (labels, "changed", G_CALLBACK (labels_edited), self);
      g_signal_connect_swapped (labels, "table-changed", G_CALLBACK (update_legend), self);
    }
}

static void
labels_replaced (PulmoPanel *self)
{
  watch_labels (self, pulmo_view_state_get_labels (self->state));
  update_legend (self);
}

static void
clear_state (PulmoPanel *self)
{
  if (self->state == NULL)
    return;
  watch_labels (self, NULL);
  g_ptr_array_set_size (self->bindings, 0);
  g_signal_handlers_disconnect_by_data (self->state, self);
  g_clear_object (&self->state);
}

static void
bind (PulmoPanel *self, const char *source_property, gpointer target, const char *target_property)
{
  GBinding *binding = g_object_bind_property (self->state, source_property, target, target_property,
                                              G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_ptr_array_add (self->bindings, binding);
}

void
pulmo_panel_set_state (PulmoPanel *self, PulmoViewState *state)
{
  clear_state (self);
  if (state == NULL)
    return;
  self->state = g_object_ref (state);
  bind (self, "window", self->window_adjustment, "value");
  bind (self, "level", self->level_adjustment, "value");
  bind (self, "overlay-visible", self->overlay_switch, "active");
  bind (self, "overlay-opacity", self->opacity_adjustment, "value");
  g_signal_connect_swapped (state, "volume-changed", G_CALLBACK (update_image_info), self);
  g_signal_connect_swapped (state, "notify::labels", G_CALLBACK (labels_replaced), self);
  update_image_info (self);
  labels_replaced (self);
}

static void
pulmo_panel_dispose (GObject *object)
{
  PulmoPanel *self = PULMO_PANEL (object);
  clear_state (self);
  g_clear_pointer (&self->bindings, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), PULMO_TYPE_PANEL);
  G_OBJECT_CLASS (pulmo_panel_parent_class)->dispose (object);
}

static void
pulmo_panel_class_init (PulmoPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = pulmo_panel_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/pulmo/Pulmo/ui/pulmo-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, file_label);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, dims_label);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, spacing_label);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, orientation_label);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, values_label);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, window_adjustment);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, level_adjustment);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, overlay_switch);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, overlay_controls);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, opacity_adjustment);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, legend_list);
}

static void
pulmo_panel_init (PulmoPanel *self)
{
  /* Dropping the array unbinds, so a new state never fights the old one. */
  self->bindings = g_ptr_array_new_with_free_func ((GDestroyNotify) g_binding_unbind);
  gtk_widget_init_template (GTK_WIDGET (self));
}
