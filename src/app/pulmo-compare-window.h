/* pulmo-compare-window.h: two scans side by side, each with its own labels
 * and report figures: a baseline and its follow-up, or one CT with its labels
 * before and after correction. The two views are linked by world position
 * (moving the crosshair, scrolling or playing one moves the other to the same
 * place), and share the window, level, slab and overlay settings; the change
 * between the two reports is written under them. */
#pragma once

#include <gtk/gtk.h>

#include "app/pulmo-report-panel.h"
#include "app/pulmo-slice-view.h"
#include "app/pulmo-view-state.h"

G_BEGIN_DECLS

#define PULMO_TYPE_COMPARE_WINDOW (pulmo_compare_window_get_type ())
G_DECLARE_FINAL_TYPE (PulmoCompareWindow, pulmo_compare_window, PULMO, COMPARE_WINDOW, GtkApplicationWindow)

/* Side 0 is the first (left: the baseline, or the labels before correction). */
enum { PULMO_COMPARE_N_SIDES = 2 };

PulmoCompareWindow *pulmo_compare_window_new (GtkApplication *application);

/* Shows @volume on @side with @labels (NULL for none; they must lie on its
 * grid), titled @name, the labels' origin being @source (may be NULL). Labels
 * shared with another window show its edits as they are made. */
void pulmo_compare_window_set_side (PulmoCompareWindow *window, int side, PulmoVolume *volume,
                                    PulmoLabelMap *labels, const char *name, const char *source);
/* What @side's title says its labels came from (NULL: no labels). */
void pulmo_compare_window_set_side_source (PulmoCompareWindow *window, int side, const char *source);
/* Opens @ct (a NIfTI file or a DICOM folder) on @side in the background, then
 * @labels (may be NULL) onto it; a failure is written on that side. */
void pulmo_compare_window_open (PulmoCompareWindow *window, int side, GFile *ct, GFile *labels);
/* Opens a label map onto @side's CT in the background. */
void pulmo_compare_window_open_labels (PulmoCompareWindow *window, int side, GFile *labels);
gboolean pulmo_compare_window_is_loading (PulmoCompareWindow *window);

/* Which view both sides show; the stateful action "compare.axis" ("axial",
 * "coronal", "sagittal"; keys 1–3) sets it. */
void pulmo_compare_window_set_axis (PulmoCompareWindow *window, PulmoViewAxis axis);
/* Linked (action "compare.linked"): a move on one side moves the other to the
 * same place. Linking again keeps the two crosshairs where they are, so that a
 * reader who unlinked to line up the same structure on a follow-up scan in
 * another position keeps that shift; "compare.align-world" drops the shift. */
void pulmo_compare_window_set_linked (PulmoCompareWindow *window, gboolean linked);
/* The world shift (mm, RAS) of the second side's crosshair from the first's. */
void pulmo_compare_window_get_shift (PulmoCompareWindow *window, double shift_mm[3]);

PulmoViewState *pulmo_compare_window_get_state (PulmoCompareWindow *window, int side);
PulmoSliceView *pulmo_compare_window_get_view (PulmoCompareWindow *window, int side);
PulmoReportPanel *pulmo_compare_window_get_report_panel (PulmoCompareWindow *window, int side);
/* The line under the two reports: the change from the first to the second; and
 * the message written on @side (an error, or the load in progress), or NULL. */
const char *pulmo_compare_window_get_change (PulmoCompareWindow *window);
const char *pulmo_compare_window_get_message (PulmoCompareWindow *window, int side);
/* @side's status line: the voxel under the pointer on either side (on the
 * other, the same place while linked), its value, position and label. */
const char *pulmo_compare_window_get_status (PulmoCompareWindow *window, int side);

G_END_DECLS
