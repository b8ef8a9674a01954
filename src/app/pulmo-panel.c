#include "app/pulmo-panel.h"

#include <glib/gi18n.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

struct _PulmoPanel {
  GtkBox parent_instance;

  PulmoViewState *state;
  PulmoEditState *edit;    /* the active label, and the history label deletions go through */
  GPtrArray *bindings;
  PulmoLabelMap *labels;   /* the state's label map, whose edits the legend follows */
  PulmoLabelTable *default_table; /* what the palette offers before there are labels */
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
  GtkDropDown *slab_dropdown;
  GtkAdjustment *slab_adjustment, *cine_adjustment;
  GtkListBox *legend_list;
  GtkWidget *label_editor;
  GtkColorButton *color_button;
  GtkEntry *name_entry;
  GtkWidget *add_button;
  GtkWidget *delete_button;
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
  g_autofree char *orientation_text =
    pulmo_volume_orientation_known (volume)
      ? g_strdup (pulmo_volume_get_orientation (volume))
      /* Translators: the orientation code when the file gives none ("RAS, assumed"). */
      : g_strdup_printf (_("%s, assumed"), pulmo_volume_get_orientation (volume));
  gtk_label_set_text (self->orientation_label, orientation_text);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->orientation_label),
                               pulmo_volume_orientation_known (volume)
                                 ? NULL
                                 : _("The file gives no orientation: left and right may be swapped."));
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

static uint8_t
active_label (PulmoPanel *self)
{
  return self->edit != NULL ? pulmo_edit_state_get_active_label (self->edit) : PULMO_LABEL_RIGHT_LUNG;
}

static PulmoLabelTable *
shown_table (PulmoPanel *self)
{
  PulmoLabelMap *labels = self->state != NULL ? pulmo_view_state_get_labels (self->state) : NULL;
  return labels != NULL ? pulmo_label_map_get_table (labels) : NULL;
}

/* The editor shows the active label's name and colour; typing there must not rename it back. */
static void name_changed (GtkEditable *entry, PulmoPanel *self);

static void
update_editor (PulmoPanel *self)
{
  PulmoLabelTable *table = shown_table (self);
  const PulmoLabel *label = table != NULL ? pulmo_label_table_get (table, active_label (self)) : NULL;
  gboolean defined = label != NULL && label->defined;
  gtk_widget_set_sensitive (self->label_editor, table != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->color_button), defined);
  gtk_widget_set_sensitive (GTK_WIDGET (self->name_entry), defined);
  gtk_widget_set_sensitive (self->delete_button, defined);
  g_signal_handlers_block_by_func (self->name_entry, name_changed, self);
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->name_entry)), defined ? label->name : "") != 0)
    gtk_editable_set_text (GTK_EDITABLE (self->name_entry), defined ? label->name : "");
  g_signal_handlers_unblock_by_func (self->name_entry, name_changed, self);
  if (defined)
    {
      GdkRGBA rgba = { label->rgba[0] / 255.0f, label->rgba[1] / 255.0f, label->rgba[2] / 255.0f, 1.0f };
      gtk_color_chooser_set_rgba (GTK_COLOR_CHOOSER (self->color_button), &rgba);
    }
}

/* The row of the active label is the selected one. */
static void
select_active_row (PulmoPanel *self)
{
  uint8_t active = active_label (self);
  GtkListBoxRow *selected = NULL;
  for (int r = 0;; r++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (self->legend_list, r);
      if (row == NULL)
        break;
      if (GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "label-value")) == active)
        selected = row;
    }
  if (selected != gtk_list_box_get_selected_row (self->legend_list))
    gtk_list_box_select_row (self->legend_list, selected);
  update_editor (self);
}

static void
row_selected (GtkListBox *list, GtkListBoxRow *row, PulmoPanel *self)
{
  if (row != NULL && self->edit != NULL)
    pulmo_edit_state_set_active_label (self->edit,
                                       GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "label-value")));
}

/* A row of the palette: visibility, colour, "value  name" and the volume
 * (@volume NULL for a CT without labels yet). */
static void
append_row (PulmoPanel *self, const PulmoLabel *label, const char *volume)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  gtk_widget_set_margin_start (row, 6);
  gtk_widget_set_margin_end (row, 6);
  gtk_widget_set_margin_top (row, 3);
  gtk_widget_set_margin_bottom (row, 3);

  GtkWidget *check = gtk_check_button_new ();
  gtk_check_button_set_active (GTK_CHECK_BUTTON (check), label->visible);
  gtk_widget_set_sensitive (check, volume != NULL);
  gtk_widget_set_tooltip_text (check, _("Show this label"));
  g_object_set_data (G_OBJECT (check), "label-value", GUINT_TO_POINTER (label->value));
  g_signal_connect (check, "toggled", G_CALLBACK (label_visible_toggled), self);
  gtk_box_append (GTK_BOX (row), check);

  GtkWidget *swatch = gtk_drawing_area_new ();
  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (swatch), 14);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (swatch), 14);
  gtk_widget_set_valign (swatch, GTK_ALIGN_CENTER);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (swatch), draw_swatch, g_memdup2 (label->rgba, 4), g_free);
  gtk_box_append (GTK_BOX (row), swatch);

  g_autofree char *name = g_strdup_printf ("%u  %s", label->value, label->name);
  GtkWidget *name_label = gtk_label_new (name);
  gtk_label_set_xalign (GTK_LABEL (name_label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name_label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (name_label, TRUE);
  gtk_box_append (GTK_BOX (row), name_label);

  if (volume != NULL)
    {
      GtkWidget *volume_label = gtk_label_new (volume);
      gtk_widget_add_css_class (volume_label, "dim-label");
      gtk_widget_add_css_class (volume_label, "numeric");
      gtk_box_append (GTK_BOX (row), volume_label);
    }

  gtk_list_box_append (self->legend_list, row);
  g_object_set_data (G_OBJECT (gtk_widget_get_parent (row)), "label-value", GUINT_TO_POINTER (label->value));
}

/* One row per defined label. A CT without labels offers Pulmo's convention, to
 * choose what the first stroke paints; a value in the map without an entry (a
 * deleted label its undo brought back) gets one. */
static void
update_legend (PulmoPanel *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->legend_list))) != NULL)
    gtk_list_box_remove (self->legend_list, child);

  PulmoLabelMap *labels = self->state ? pulmo_view_state_get_labels (self->state) : NULL;
  gboolean volume = self->state != NULL && pulmo_view_state_get_volume (self->state) != NULL;
  gtk_widget_set_sensitive (self->overlay_controls, labels != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->overlay_switch), labels != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->legend_list), volume);
  update_editor (self);
  if (!volume)
    return;

  uint8_t values[256];
  if (labels == NULL)
    {
      int n = pulmo_label_table_list (self->default_table, values);
      for (int e = 0; e < n; e++)
        append_row (self, pulmo_label_table_get (self->default_table, values[e]), NULL);
      select_active_row (self);
      return;
    }

  PulmoLabelTable *table = pulmo_label_map_get_table (labels);
  const double *spacing = pulmo_volume_get_spacing (pulmo_label_map_get_volume (labels));
  double voxel_ml = spacing[0] * spacing[1] * spacing[2] / 1000.0;
  guint64 counts[256];
  pulmo_label_map_count (labels, counts);
  gboolean defined_more = FALSE;
  for (int v = 1; v < 256; v++)
    if (counts[v] > 0 && !pulmo_label_table_get (table, v)->defined)
      {
        pulmo_label_table_ensure (table, v);
        defined_more = TRUE;
      }
  if (defined_more)
    pulmo_view_state_overlay_changed (self->state);
  int n = pulmo_label_table_list (table, values);
  for (int e = 0; e < n; e++)
    {
      /* Translators: a label's volume in millilitres. */
      g_autofree char *volume_text = g_strdup_printf (_("%.1f mL"), counts[values[e]] * voxel_ml);
      append_row (self, pulmo_label_table_get (table, values[e]), volume_text);
    }
  select_active_row (self);
}

/* Label table edits ---------------------------------------------------------- */

/* The labels' table is replaced by @table, which tells the views and the legend. */
static void
apply_table (PulmoPanel *self, const PulmoLabelTable *table)
{
  pulmo_label_map_set_table (pulmo_view_state_get_labels (self->state), table);
}

static void
name_changed (GtkEditable *entry, PulmoPanel *self)
{
  PulmoLabelTable *table = shown_table (self);
  const char *name = gtk_editable_get_text (entry);
  uint8_t value = active_label (self);
  if (table == NULL || *name == '\0' || !pulmo_label_table_get (table, value)->defined)
    return;
  g_autoptr (PulmoLabelTable) renamed = pulmo_label_table_copy (table);
  const PulmoLabel *label = pulmo_label_table_get (renamed, value);
  gboolean visible = label->visible;
  uint8_t rgba[4];
  memcpy (rgba, label->rgba, 4);
  pulmo_label_table_set (renamed, value, name, rgba);
  pulmo_label_table_set_visible (renamed, value, visible);
  apply_table (self, renamed);
}

static void
color_set (GtkColorButton *button, PulmoPanel *self)
{
  PulmoLabelTable *table = shown_table (self);
  uint8_t value = active_label (self);
  if (table == NULL || !pulmo_label_table_get (table, value)->defined)
    return;
  GdkRGBA chosen;
  gtk_color_chooser_get_rgba (GTK_COLOR_CHOOSER (button), &chosen);
  g_autoptr (PulmoLabelTable) recoloured = pulmo_label_table_copy (table);
  const PulmoLabel *label = pulmo_label_table_get (recoloured, value);
  gboolean visible = label->visible;
  g_autofree char *name = g_strdup (label->name);
  uint8_t rgba[4] = { (uint8_t) lround (chosen.red * 255), (uint8_t) lround (chosen.green * 255),
                      (uint8_t) lround (chosen.blue * 255), label->rgba[3] };
  pulmo_label_table_set (recoloured, value, name, rgba);
  pulmo_label_table_set_visible (recoloured, value, visible);
  apply_table (self, recoloured);
}

/* A new label takes the lowest free value, "Label N" and a colour apart from its neighbours'. */
static void
add_clicked (GtkButton *button, PulmoPanel *self)
{
  PulmoLabelTable *table = shown_table (self);
  if (table == NULL)
    return;
  for (int v = 1; v < 256; v++)
    if (!pulmo_label_table_get (table, v)->defined)
      {
        g_autoptr (PulmoLabelTable) more = pulmo_label_table_copy (table);
        pulmo_label_table_ensure (more, v);
        apply_table (self, more);
        if (self->edit != NULL)
          pulmo_edit_state_set_active_label (self->edit, v);
        return;
      }
}

/* Erases @value's voxels to background as one undo step, then drops its entry. */
static void
delete_label (PulmoPanel *self, uint8_t value)
{
  PulmoLabelMap *labels = pulmo_view_state_get_labels (self->state);
  PulmoEditHistory *history = self->edit != NULL ? pulmo_edit_state_get_history (self->edit) : NULL;
  if (labels == NULL || history == NULL)
    return;
  int dims[3];
  pulmo_volume_get_dims (pulmo_label_map_get_volume (labels), dims);
  uint8_t *voxels = pulmo_label_map_get_data_mutable (labels);
  PulmoBox box = { { dims[0], dims[1], dims[2] }, { -1, -1, -1 } };
  gint64 index = 0;
  for (int k = 0; k < dims[2]; k++)
    for (int j = 0; j < dims[1]; j++)
      for (int i = 0; i < dims[0]; i++, index++)
        if (voxels[index] == value)
          {
            const int ijk[3] = { i, j, k };
            for (int a = 0; a < 3; a++)
              {
                box.lo[a] = MIN (box.lo[a], ijk[a]);
                box.hi[a] = MAX (box.hi[a], ijk[a]);
              }
          }
  if (box.hi[0] >= 0)
    {
      pulmo_edit_history_begin (history, _("Delete Label"));
      pulmo_edit_history_touch (history, &box);
      for (int k = box.lo[2]; k <= box.hi[2]; k++)
        for (int j = box.lo[1]; j <= box.hi[1]; j++)
          {
            uint8_t *run = voxels + ((gint64) k * dims[1] + j) * dims[0];
            for (int i = box.lo[0]; i <= box.hi[0]; i++)
              if (run[i] == value)
                run[i] = PULMO_LABEL_BACKGROUND;
          }
      pulmo_label_map_changed (labels, &box);
      if (pulmo_edit_history_end (history))
        pulmo_edit_state_edited (self->edit);
    }

  PulmoLabelTable *table = pulmo_label_map_get_table (labels);
  g_autoptr (PulmoLabelTable) fewer = pulmo_label_table_new ();
  uint8_t values[256];
  int n = pulmo_label_table_list (table, values);
  uint8_t next_active = 0;
  for (int e = 0; e < n; e++)
    if (values[e] != value)
      {
        const PulmoLabel *label = pulmo_label_table_get (table, values[e]);
        pulmo_label_table_set (fewer, label->value, label->name, label->rgba);
        pulmo_label_table_set_visible (fewer, label->value, label->visible);
        if (next_active == 0 || values[e] < value)
          next_active = values[e];
      }
  apply_table (self, fewer);
  /* The tools paint with the nearest remaining label. */
  if (next_active != 0 && active_label (self) == value)
    pulmo_edit_state_set_active_label (self->edit, next_active);
}

static void
delete_response (GtkDialog *dialog, int response, PulmoPanel *self)
{
  guint value = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (dialog), "label-value"));
  gtk_window_destroy (GTK_WINDOW (dialog));
  if (response == GTK_RESPONSE_ACCEPT)
    delete_label (self, value);
}

/* Deleting a label with voxels asks first: it changes the map, not just the table. */
static void
delete_clicked (GtkButton *button, PulmoPanel *self)
{
  PulmoLabelMap *labels = pulmo_view_state_get_labels (self->state);
  uint8_t value = active_label (self);
  if (labels == NULL || !pulmo_label_table_get (pulmo_label_map_get_table (labels), value)->defined)
    return;
  guint64 counts[256];
  pulmo_label_map_count (labels, counts);
  if (counts[value] == 0)
    {
      delete_label (self, value);
      return;
    }
  const PulmoLabel *label = pulmo_label_table_get (pulmo_label_map_get_table (labels), value);
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  /* GTK 4.8 has no GtkAlertDialog yet (4.10): the message dialog it offers. */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GtkWidget *dialog = gtk_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                              GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                              GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
                                              _("Delete the label “%s”?"), label->name);
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                            _("Its %" PRIu64 " voxels become background. "
                                              "Undo brings them back."), counts[value]);
  gtk_dialog_add_buttons (GTK_DIALOG (dialog), _("_Cancel"), GTK_RESPONSE_CANCEL, _("_Delete"),
                          GTK_RESPONSE_ACCEPT, NULL);
  gtk_widget_add_css_class (gtk_dialog_get_widget_for_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT),
                            "destructive-action");
  G_GNUC_END_IGNORE_DEPRECATIONS
  g_object_set_data (G_OBJECT (dialog), "label-value", GUINT_TO_POINTER (value));
  g_signal_connect_object (dialog, "response", G_CALLBACK (delete_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
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
  /* The drop-down lists the modes in PulmoSlabMode's order. */
  bind (self, "slab-mode", self->slab_dropdown, "selected");
  bind (self, "slab-mm", self->slab_adjustment, "value");
  bind (self, "cine-fps", self->cine_adjustment, "value");
  g_signal_connect_swapped (state, "volume-changed", G_CALLBACK (update_image_info), self);
  g_signal_connect_swapped (state, "notify::labels", G_CALLBACK (labels_replaced), self);
  update_image_info (self);
  labels_replaced (self);
}

void
pulmo_panel_set_edit_state (PulmoPanel *self, PulmoEditState *edit)
{
  if (self->edit == edit)
    return;
  if (self->edit != NULL)
    g_signal_handlers_disconnect_by_data (self->edit, self);
  g_set_object (&self->edit, edit);
  if (edit != NULL)
    {
      g_signal_connect_swapped (edit, "notify::active-label", G_CALLBACK (select_active_row), self);
      select_active_row (self);
    }
}

static void
pulmo_panel_dispose (GObject *object)
{
  PulmoPanel *self = PULMO_PANEL (object);
  pulmo_panel_set_edit_state (self, NULL);
  clear_state (self);
  g_clear_pointer (&self->bindings, g_ptr_array_unref);
  g_clear_pointer (&self->default_table, pulmo_label_table_free);
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
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, slab_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, slab_adjustment);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, cine_adjustment);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, legend_list);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, label_editor);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, color_button);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, name_entry);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, add_button);
  gtk_widget_class_bind_template_child (widget_class, PulmoPanel, delete_button);
  gtk_widget_class_bind_template_callback (widget_class, row_selected);
  gtk_widget_class_bind_template_callback (widget_class, name_changed);
  gtk_widget_class_bind_template_callback (widget_class, color_set);
  gtk_widget_class_bind_template_callback (widget_class, add_clicked);
  gtk_widget_class_bind_template_callback (widget_class, delete_clicked);
}

static void
pulmo_panel_init (PulmoPanel *self)
{
  /* Dropping the array unbinds, so a new state never fights the old one. */
  self->bindings = g_ptr_array_new_with_free_func ((GDestroyNotify) g_binding_unbind);
  self->default_table = pulmo_label_table_new_default ();
  gtk_widget_init_template (GTK_WIDGET (self));
}
