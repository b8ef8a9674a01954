/* pulmo-window-private.h: the window's parts, shared by pulmo-window.c,
 * its actions (pulmo-window-actions.c) and its file opening (pulmo-window-open.c). */
#pragma once

#include <adwaita.h>

#include "app/pulmo-3d-view.h"
#include "app/pulmo-edit-state.h"
#include "app/pulmo-panel.h"
#include "app/pulmo-report-panel.h"
#include "app/pulmo-window.h"
#include "edit/recovery.h"

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
  GBytes *model_labels;          /* the model's labels on the CT shown, as it gave them: an */
  char *model_labels_identity;   /* export measures the corrections against them */

  /* Training (pulmo-window-training.c). */
  double editing_seconds;        /* spent editing the labels of the CT shown */
  gint64 last_edit_us;
  GtkWindow *finetune_dialog;    /* kept while a fine-tune runs, hidden or not */

  /* Editing (pulmo-window-edit.c). */
  PulmoEditState *edit;
  PulmoEditHistory *history;     /* the edit state's, as last seen: a new one is a new map */
  GFile *labels_file;            /* where Save writes the labels shown; NULL: Save asks */
  int history_position;          /* steps applied to the map shown … */
  int saved_position;            /* … and their count when it was saved; -1 if no undo gets there */
  gboolean stepping;             /* in undo or redo: the "edited" that follows is no new step */
  gboolean close_confirmed;      /* the user answered the unsaved-changes question */
  GCancellable *hash_cancellable;
  char *ct_hash;                 /* pulmo_recovery_ct_hash of the CT shown, once computed */
  char *recovery_path;           /* its recovery file */
  PulmoLabelMap *recovered;      /* the labels the recovery bar offers */
  PulmoAutosave *autosave;       /* keeps recovery_path current for the labels shown */

  AdwToast *toast;               /* the toast on screen, if any */

  /* Template children */
  GtkLabel *title_label;
  GtkLabel *subtitle_label;
  GtkMenuButton *primary_menu_button;
  AdwToastOverlay *toast_overlay; /* the window's child */
  GtkInfoBar *error_bar;
  GtkLabel *error_label;
  GtkInfoBar *recovery_bar;
  GtkLabel *recovery_label;
  GMenu *edit_section;           /* Undo and Redo, named after their steps */
  GtkStack *main_stack;
  GtkGrid *view_grid;
  PulmoSliceView *axial_view;
  PulmoSliceView *coronal_view;
  PulmoSliceView *sagittal_view;
  Pulmo3dView *view_3d;
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
/* The 3D view (pulmo-window-3d.c): its state, and action "show-3d" saved in the settings. */
void _pulmo_window_init_3d (PulmoWindow *window);
gboolean _pulmo_window_shows_3d (PulmoWindow *window);
void _pulmo_window_show_error (PulmoWindow *window, const char *message);
/* Says briefly, in a toast, that something the user asked for is done (@text is plain text). */
void _pulmo_window_show_toast (PulmoWindow *window, const char *text);
/* The title of the toast on screen (markup: the text escaped), or NULL. */
const char *_pulmo_window_get_toast (PulmoWindow *window);
void _pulmo_window_update_recent_menu (PulmoWindow *window);
void _pulmo_window_cancel_load (PulmoWindow *window);
/* Records where the labels shown came from (report.h's model name); @source is copied. */
void _pulmo_window_set_labels_source (PulmoWindow *window, const char *source);
/* Stops a segmentation; its labels are put back when the worker has stopped. */
void _pulmo_window_cancel_segment (PulmoWindow *window);
/* Stops a segmentation whose CT is going away: nothing is put back. */
void _pulmo_window_abandon_segment (PulmoWindow *window);

/* For file choosers: NIfTI filters, and the CT's name without extension ("P001"). */
void _pulmo_window_add_nifti_filters (GtkFileChooser *chooser);
char *_pulmo_window_ct_base_name (PulmoWindow *window);

/* Comparing (pulmo-window-compare.c): a compare window with this CT and its
 * labels on one side and, on the other, the scan in @file, the labels in
 * @file on this CT, or the model's labels before they were corrected. */
void _pulmo_window_compare_scan (PulmoWindow *window, GFile *file);
void _pulmo_window_compare_labels (PulmoWindow *window, GFile *file);
void _pulmo_window_compare_model (PulmoWindow *window);

/* Editing (pulmo-window-edit.c): the edit state, undo, saving, recovery. */
void _pulmo_window_init_edit (PulmoWindow *window);
void _pulmo_window_dispose_edit (PulmoWindow *window);
void _pulmo_window_update_edit_actions (PulmoWindow *window);
/* A new CT is shown (or none): its recovery file is looked for. */
void _pulmo_window_edit_volume_changed (PulmoWindow *window);
/* The labels shown were read from @file: Save writes there. */
void _pulmo_window_set_labels_file (PulmoWindow *window, GFile *file);
/* Edits not saved since the labels were shown or last saved. */
gboolean _pulmo_window_has_unsaved_edits (PulmoWindow *window);
typedef void (*PulmoWindowThen) (PulmoWindow *window, gpointer data);
/* Runs @then (and @destroy on @data) at once without unsaved edits; otherwise
 * once the user has saved or discarded them, or never if they cancel. */
void _pulmo_window_ask_unsaved (PulmoWindow *window, PulmoWindowThen then, gpointer data, GDestroyNotify destroy);
/* Saves unsaved edits (asking where if the labels have no file yet), then
 * runs @then; at once without unsaved edits; never if saving fails or is
 * cancelled. */
void _pulmo_window_save_unsaved (PulmoWindow *window, PulmoWindowThen then, gpointer data, GDestroyNotify destroy);

/* Training (pulmo-window-training.c): export as a training case, fine-tune, review queue, preferences. */
void _pulmo_window_install_training_actions (PulmoWindow *window);
void _pulmo_window_dispose_training (PulmoWindow *window);
/* An edit happened now: editing time counts it. */
void _pulmo_window_training_edited (PulmoWindow *window);
/* A new CT is shown (or none): no model labels, no editing time yet. */
void _pulmo_window_training_volume_changed (PulmoWindow *window);
/* For the training dialogs: a modal folder chooser titled @title, opening at
 * @current; a button that shows a chosen folder's name (the path as its
 * tooltip); a right-aligned label for a settings row, whose mnemonic
 * focuses @control and which names it for screen readers. */
GtkFileChooserNative *_pulmo_window_choose_folder (GtkWindow *parent, const char *title, const char *current);
/* The folder such a chooser was answered with: NULL unless the user accepted one. */
GFile *_pulmo_window_chosen_folder (GtkNativeDialog *chooser, int response);
void _pulmo_window_set_folder_button (GtkButton *button, const char *folder);
GtkWidget *_pulmo_window_row_label (const char *text, GtkWidget *control);

G_END_DECLS
