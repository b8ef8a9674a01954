/* pulmo-window-private.h: the window's parts, shared by pulmo-window.c,
 * its actions (pulmo-window-actions.c) and its file opening (pulmo-window-open.c). */
#pragma once

#include "app/pulmo-panel.h"
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
  GtkLabel *status_label;
  GtkProgressBar *progress_bar;
};

void _pulmo_window_install_actions (PulmoWindow *window);
void _pulmo_window_update_actions (PulmoWindow *window);
void _pulmo_window_set_layout (PulmoWindow *window, const char *layout);
void _pulmo_window_show_error (PulmoWindow *window, const char *message);
void _pulmo_window_update_recent_menu (PulmoWindow *window);
void _pulmo_window_cancel_load (PulmoWindow *window);

G_END_DECLS
