/* pulmo-window.h: the main window: three linked slice views, the side panel,
 * the status line, and opening files off the main thread. */
#pragma once

#include <gtk/gtk.h>

#include "app/pulmo-slice-view.h"
#include "app/pulmo-view-state.h"

G_BEGIN_DECLS

#define PULMO_TYPE_WINDOW (pulmo_window_get_type ())
G_DECLARE_FINAL_TYPE (PulmoWindow, pulmo_window, PULMO, WINDOW, GtkApplicationWindow)

PulmoWindow *pulmo_window_new (GtkApplication *application);

/* Opens a NIfTI file or a DICOM folder as the CT, in the background. */
void pulmo_window_open (PulmoWindow *window, GFile *file);
/* Opens @ct, then @labels onto it once it has loaded, then names them from
 * @label_names (an ITK-SNAP label description; may be NULL). */
void pulmo_window_open_with_labels (PulmoWindow *window, GFile *ct, GFile *labels, GFile *label_names);
/* Opens a label file onto the current CT, in the background. */
void pulmo_window_open_labels (PulmoWindow *window, GFile *file);
/* Names and colours for the open label map from an ITK-SNAP label description. */
void pulmo_window_open_label_names (PulmoWindow *window, GFile *file);
gboolean pulmo_window_is_loading (PulmoWindow *window);

/* Segments the CT with the shipped model in the background; with @ask, asks
 * first when that would replace labels the user has. */
void pulmo_window_segment (PulmoWindow *window, gboolean ask);
gboolean pulmo_window_is_segmenting (PulmoWindow *window);
/* The longest the main loop went without running during the last
 * segmentation, in milliseconds. */
double pulmo_window_get_segment_stall_ms (PulmoWindow *window);
/* Where the labels shown came from, for reports: the model's identity or the
 * label file's name; NULL without labels. */
const char *pulmo_window_get_labels_source (PulmoWindow *window);
/* Writes the report on the labels shown to @path: PDF, JSON or CSV by its
 * extension (report.h). */
gboolean pulmo_window_export_report (PulmoWindow *window, const char *path, GError **error);

PulmoViewState *pulmo_window_get_state (PulmoWindow *window);
PulmoSliceView *pulmo_window_get_view (PulmoWindow *window, PulmoViewAxis axis);
/* The message of the last failure shown in the window, or NULL. */
const char *pulmo_window_get_error (PulmoWindow *window);
/* The status line: value, voxel, world position and label under the pointer. */
const char *pulmo_window_get_status (PulmoWindow *window);

G_END_DECLS
