/* pulmo-report-panel.h: the report's figures for the labels on screen — lung
 * volumes, ground glass and consolidation, involvement and severity per lung,
 * the lesions' distribution — recomputed off the main thread after edits. */
#pragma once

#include <gtk/gtk.h>

#include "app/pulmo-view-state.h"
#include "segment/report.h"

G_BEGIN_DECLS

#define PULMO_TYPE_REPORT_PANEL (pulmo_report_panel_get_type ())
G_DECLARE_FINAL_TYPE (PulmoReportPanel, pulmo_report_panel, PULMO, REPORT_PANEL, GtkBox)

void pulmo_report_panel_set_state (PulmoReportPanel *panel, PulmoViewState *state);
/* The line under the figures that says where the labels came from. */
void pulmo_report_panel_set_source (PulmoReportPanel *panel, const char *source);
/* While Segment streams labels in, the panel shows no figures (they would be
 * of half a scan) and computes none (the cores are the model's). */
void pulmo_report_panel_set_segmenting (PulmoReportPanel *panel, gboolean segmenting);

/* What the panel says to do for figures while there are no labels (NULL: press
 * Segment or open a label map). */
void pulmo_report_panel_set_empty_hint (PulmoReportPanel *panel, const char *hint);
/* Whether the panel offers Export Report… (action win.export-report); it does by default. */
void pulmo_report_panel_set_export_visible (PulmoReportPanel *panel, gboolean visible);

/* Signal "updated": the figures shown changed, or went (no labels, or an edit
 * being counted). */

/* The figures of the labels as they are now, or NULL (no labels, or an edit
 * not yet counted). */
const PulmoReport *pulmo_report_panel_get_report (PulmoReportPanel *panel);

G_END_DECLS
