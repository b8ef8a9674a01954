/* pulmo-window-compare.c: the compare window opened from the main window,
 * which lends it its CT and labels (their edits show there as they are made):
 * against another scan of the patient (a follow-up), against another label
 * map of the same CT, or against the model's labels as it gave them, before
 * they were corrected. */
#include "app/pulmo-window-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "app/pulmo-compare-window.h"

/* What the compare window's first side takes from the main window's views. */
static const char *carried_properties[] = { "window", "level", "slab-mode", "slab-mm", "cine-fps",
                                            "overlay-visible", "overlay-opacity", "overlay-outline", "smooth" };

static PulmoCompareWindow *
new_compare_window (PulmoWindow *self)
{
  PulmoCompareWindow *compare = pulmo_compare_window_new (gtk_window_get_application (GTK_WINDOW (self)));
  PulmoViewState *first = pulmo_compare_window_get_state (compare, 0);
  for (size_t p = 0; p < G_N_ELEMENTS (carried_properties); p++)
    {
      GValue value = G_VALUE_INIT;
      g_object_get_property (G_OBJECT (self->state), carried_properties[p], &value);
      g_object_set_property (G_OBJECT (first), carried_properties[p], &value);
      g_value_unset (&value);
    }
  return compare;
}

/* The main window's CT and labels on @side, titled @name; then its crosshair. */
static void
lend_ct (PulmoWindow *self, PulmoCompareWindow *compare, int side, PulmoLabelMap *labels, const char *name,
         const char *source)
{
  PulmoVolume *volume = pulmo_view_state_get_volume (self->state);
  pulmo_compare_window_set_side (compare, side, volume, labels, name, source);
  int cursor[3];
  pulmo_view_state_get_cursor (self->state, cursor);
  pulmo_view_state_set_cursor (pulmo_compare_window_get_state (compare, side), cursor);
}

void
_pulmo_window_compare_scan (PulmoWindow *self, GFile *file)
{
  if (pulmo_view_state_get_volume (self->state) == NULL)
    return;
  PulmoCompareWindow *compare = new_compare_window (self);
  g_autofree char *name = _pulmo_window_ct_base_name (self);
  lend_ct (self, compare, 0, pulmo_view_state_get_labels (self->state), name, pulmo_window_get_labels_source (self));
  pulmo_compare_window_open (compare, 1, file, NULL);
  gtk_window_present (GTK_WINDOW (compare));
}

void
_pulmo_window_compare_labels (PulmoWindow *self, GFile *file)
{
  if (pulmo_view_state_get_volume (self->state) == NULL)
    return;
  PulmoCompareWindow *compare = new_compare_window (self);
  g_autofree char *base = _pulmo_window_ct_base_name (self);
  const char *source = pulmo_window_get_labels_source (self);
  /* Translators: a side of the compare window: the CT's name, then where its labels came from. */
  g_autofree char *first = g_strdup_printf (_("%s, %s"), base, source != NULL ? source : _("no labels"));
  lend_ct (self, compare, 0, pulmo_view_state_get_labels (self->state), first, source);
  g_autofree char *basename = g_file_get_basename (file);
  g_autofree char *file_name = g_filename_display_name (basename);
  g_autofree char *second = g_strdup_printf (_("%s, %s"), base, file_name);
  lend_ct (self, compare, 1, NULL, second, NULL);
  pulmo_compare_window_open_labels (compare, 1, file);
  gtk_window_present (GTK_WINDOW (compare));
}

void
_pulmo_window_compare_model (PulmoWindow *self)
{
  PulmoVolume *volume = pulmo_view_state_get_volume (self->state);
  PulmoLabelMap *labels = pulmo_view_state_get_labels (self->state);
  if (volume == NULL || labels == NULL || self->model_labels == NULL ||
      g_bytes_get_size (self->model_labels) != pulmo_volume_get_n_voxels (volume))
    return;
  g_autoptr (PulmoLabelMap) model = pulmo_label_map_new (volume);
  memcpy (pulmo_label_map_get_data_mutable (model), g_bytes_get_data (self->model_labels, NULL),
          g_bytes_get_size (self->model_labels));
  pulmo_label_map_set_table (model, pulmo_label_map_get_table (labels));
  PulmoCompareWindow *compare = new_compare_window (self);
  g_autofree char *base = _pulmo_window_ct_base_name (self);
  /* Translators: the two sides of the compare window for one CT: the labels as
   * the model gave them, and as the annotator corrected them. */
  g_autofree char *before = g_strdup_printf (_("%s, as segmented"), base);
  g_autofree char *after = g_strdup_printf (_("%s, as corrected"), base);
  lend_ct (self, compare, 0, model, before, self->model_labels_identity);
  lend_ct (self, compare, 1, labels, after, pulmo_window_get_labels_source (self));
  gtk_window_present (GTK_WINDOW (compare));
}
