/* pulmo-window-report.c: the window's report export. */
#include "app/pulmo-window-private.h"

#include <glib/gi18n.h>

#include "core/pulmo-error.h"
#include "segment/report.h"

gboolean
pulmo_window_export_report (PulmoWindow *self, const char *path, GError **error)
{
  PulmoVolume *ct = pulmo_view_state_get_volume (self->state);
  PulmoLabelMap *labels = pulmo_view_state_get_labels (self->state);
  if (ct == NULL || labels == NULL)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("There are no labels to report on: segment the CT or open a label map")),
           FALSE;
  const uint8_t *data = pulmo_label_map_get_data (labels);
  /* The panel's figures are those of the labels now unless an edit is still
   * being counted; then count them here, so the export matches the screen. */
  PulmoReport report;
  const PulmoReport *shown = pulmo_report_panel_get_report (self->report_panel);
  if (shown != NULL)
    report = *shown;
  else if (!pulmo_report_compute (ct, data, &report, error))
    return FALSE;
  gboolean saved = pulmo_report_save (&report, ct, data, pulmo_view_state_get_display_name (self->state),
                                      pulmo_window_get_labels_source (self), path, error);
  if (saved)
    {
      g_autofree char *name = g_path_get_basename (path);
      /* Translators: %s is the report file's name. */
      g_autofree char *text = g_strdup_printf (_("Report saved as %s"), name);
      _pulmo_window_show_toast (self, text);
    }
  return saved;
}
