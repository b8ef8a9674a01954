/* pulmo-review-window.h: a review queue (train/review-queue.h) beside the
 * main window: the folder's cases, most uncertain first, with their state
 * and uncertainty.
 *
 * While it is open, a worker thread pre-segments the cases one after another
 * with the model in use, and the list follows; the user keeps working in the
 * main window, and while it segments no case is started, so that the CT
 * being read gets both cores. Closing the window cancels the worker (the case it was on is
 * left as it was, and is done next time).
 *
 * Open (or a double-click) and Next open a case in the main window, with its
 * pre-segmented labels when they exist, so that Save Labels writes the
 * corrections to the queue's label file; opening a not-started case marks it
 * in progress (done and flagged ones keep their state when looked at again).
 * Next goes on from the case opened last (review-queue.h's order). Done and
 * Flag for Expert mark the selected case; Done on the case open in the main
 * window saves its edits first. */
#pragma once

#include <gtk/gtk.h>

#include "app/pulmo-window.h"

G_BEGIN_DECLS

#define PULMO_TYPE_REVIEW_WINDOW (pulmo_review_window_get_type ())
G_DECLARE_FINAL_TYPE (PulmoReviewWindow, pulmo_review_window, PULMO, REVIEW_WINDOW, GtkWindow)

/* The queue of @folder, transient for @main; shows an error in its status
 * line if the folder cannot be opened as a queue. */
PulmoReviewWindow *pulmo_review_window_new (PulmoWindow *main, GFile *folder);

/* Opens the next case after the one opened last in the main window and
 * marks it in progress; FALSE when none is left to review. */
gboolean pulmo_review_window_next (PulmoReviewWindow *self);

/* For tests: whether the worker is pre-segmenting, and the status line. */
gboolean pulmo_review_window_is_segmenting (PulmoReviewWindow *self);
const char *pulmo_review_window_get_status (PulmoReviewWindow *self);
/* The name of the case opened last, or NULL. */
const char *pulmo_review_window_get_current (PulmoReviewWindow *self);

G_END_DECLS
