/* pulmo-window-private.h: the window's parts, shared by pulmo-window.c,
 * its actions (pulmo-window-actions.c) and its file opening (pulmo-window-open.c). */
#pragma once

#include "app/pulmo-panel.h"
#include "app/pulmo-report-panel.h"
#include "app/pulmo-window.h"

G_BEGIN_DECLS

struct _PulmoWindow {
  GtkApplicationWindow parent_instance;

  PulmoViewState *state;
  char *layout;                  /* "all" or the maximised view's name */
  PulmoViewAxis active_view;     /* the view last under the pointer: exported to PNG */

  GTask *load_task;              /* the running load, if any */
  GCancellable *load_cancellable;
  GFile *pending_labels;         /* opened onto the CT being loaded, once it is there */
  GFile *pending_label_names;    /* applied to those labels once they are there */
  guint progress_timeout;
  GMenu *recent_submenu;         /* template: rebuilt from GtkRecentManager */

  GTask *segment_task;           /* the running segmentation, if any */
  GCancellable *segment_cancellable;
  PulmoLabelMap *segment_previous; /* the labels before it, put back on Cancel */
  PulmoLabelMap *segment_result;   /* the map the slices stream into */
  gint64 segment_start_us;
  guint segment_timeout, stall_timeout;
  gint64 stall_last_us;
  double segment_longest_stall_ms;
  PulmoLabelMap *segmented_labels; /* the model's last result (weak pointer) … */
  guint64 segmented_revision;      /* … and its revision then: unedited if unchanged */
  char *labels_source;           /* the model's identity, or the label file's name, for reports */

  /* Template children */
  GtkLabel *title_label;
  GtkLabel *subtitle_label;
  GtkMenuButton *primary_menu_button;
  GtkInfoBar *error_bar;
  GtkLabel *error_label;
  GtkStack *main_stack;
  GtkGrid *view_grid;
  PulmoSliceView *axial_view;
  PulmoSliceView *coronal_view;
  PulmoSliceView *sagittal_view;
  GtkWidget *panel_scroller;
  PulmoPanel *panel;
  PulmoReportPanel *report_panel;
  GtkLabel *status_label;
  GtkProgressBar *progress_bar;
  GtkWidget *segment_box;
  GtkProgressBar *segment_progress;
};

void _pulmo_window_install_actions (PulmoWindow *window);
void _pulmo_window_update_actions (PulmoWindow *window);
void _pulmo_window_set_layout (PulmoWindow *window, const char *layout);
void _pulmo_window_show_error (PulmoWindow *window, const char *message);
void _pulmo_window_update_recent_menu (PulmoWindow *window);
void _pulmo_window_cancel_load (PulmoWindow *window);
/* Records where the labels shown came from (report.h's model name); @source is copied. */
void _pulmo_window_set_labels_source (PulmoWindow *window, const char *source);
/* Stops a segmentation; its labels are put back when the worker has stopped. */
void _pulmo_window_cancel_segment (PulmoWindow *window);
/* Stops a segmentation whose CT is going away: nothing is put back. */
void _pulmo_window_abandon_segment (PulmoWindow *window);

G_END_DECLS
