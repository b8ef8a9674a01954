/* review-queue.h: a folder of CTs to review, most uncertain first.
 *
 * The cases are the folder's own .nii and .nii.gz files (not hidden ones, not
 * subfolders, not "*-labels.nii[.gz]" files, which are label maps). Each is
 * pre-segmented by a model (segment.h, with post-processing) into
 *   <dir>/pulmo-labels/<name>-labels.nii.gz
 * (<name> without .nii/.nii.gz), and measured: the model's mean normalised
 * softmax entropy inside the lungs (segment.h's PulmoSegmentUncertainty),
 * 0 certain .. 1 every class equally likely.
 *
 * Order: pre-segmented cases by uncertainty, highest first; then cases not
 * pre-segmented yet; then cases whose CT could not be read; ties by name.
 * The order does not depend on the state, so a case stays where the
 * annotator last saw it when they mark it done.
 *
 * State per case persists in <dir>/.pulmo-review.json, rewritten atomically
 * (temporary file, fsync, rename) after every change: not-started,
 * in-progress, done, flagged (for an expert), with the uncertainty, the
 * model's identity, the label file and the CT's size and modification time
 * when it was measured. Entries of CTs no longer in the folder are kept, so
 * a CT moved away and back keeps its state.
 *
 * The annotator's work is never lost: pre-segmentation writes the label file
 * only where there is none, or where the file there is still exactly the one
 * pre-segmentation wrote (same size and modification time as recorded) and
 * the case is not-started. Otherwise it measures the uncertainty and keeps
 * the file.
 *
 * A state file that cannot be read as one (bad JSON, wrong shape) is moved
 * aside to .pulmo-review.json.corrupt and the queue starts afresh, with a
 * warning: the label files, the annotators' work, stay untouched (by the
 * rule above) and are what matters; refusing to open would leave the
 * annotator stuck with a file to mend by hand. A state file of a newer
 * format version is refused with a GError instead, so an older Pulmo never
 * overwrites what a newer one wrote.
 *
 * Thread-safe: the app pre-segments on a worker thread while the main
 * thread lists cases and changes states. Cases are handed out as copies. */
#pragma once

#include <gio/gio.h>

#include "core/pulmo-progress.h"
#include "train/model-registry.h"

G_BEGIN_DECLS

#define PULMO_REVIEW_STATE_FILE ".pulmo-review.json"
#define PULMO_REVIEW_LABELS_DIR "pulmo-labels"

typedef enum {
  PULMO_REVIEW_NOT_STARTED,
  PULMO_REVIEW_IN_PROGRESS,
  PULMO_REVIEW_DONE,
  PULMO_REVIEW_FLAGGED,      /* flagged for an expert */
} PulmoReviewState;

/* "not-started", "in-progress", "done", "flagged" (the state file's words). */
const char *pulmo_review_state_name (PulmoReviewState state);
/* For people: "Not started", "In progress", "Done", "Flagged for an expert". */
const char *pulmo_review_state_label (PulmoReviewState state);
gboolean pulmo_review_state_from_name (const char *name, PulmoReviewState *state);

typedef struct {
  char *name;              /* the CT's file name in the folder: "P001.nii.gz" */
  char *ct_path;
  char *labels_path;       /* where its labels go, whether or not written yet */
  PulmoReviewState state;
  /* TRUE once measured on the CT as it is now; uncertainty, lung_pixels
   * and model are meaningful only then. */
  gboolean segmented;
  double uncertainty;      /* mean normalised entropy inside the lungs, 0..1 */
  guint64 lung_pixels;     /* pixels it is the mean of, on the model's grid */
  char *model;             /* identity of the model that measured it */
  char *error;             /* why the last pre-segmentation failed, or NULL */
} PulmoReviewCase;

void pulmo_review_case_free (PulmoReviewCase *review_case);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoReviewCase, pulmo_review_case_free)

typedef struct _PulmoReviewQueue PulmoReviewQueue;

/* Lists @dir's CTs and reads its state file (see above). NULL with an error
 * when @dir cannot be read or its state file is of a newer version. */
PulmoReviewQueue *pulmo_review_queue_open (const char *dir, GError **error);
void pulmo_review_queue_free (PulmoReviewQueue *queue);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoReviewQueue, pulmo_review_queue_free)

const char *pulmo_review_queue_get_dir (PulmoReviewQueue *queue);
/* What opening had to do (a corrupt state file set aside), or NULL. */
const char *pulmo_review_queue_get_warning (PulmoReviewQueue *queue);

/* Copies of the cases in queue order (PulmoReviewCase, freed with the array). */
GPtrArray *pulmo_review_queue_list (PulmoReviewQueue *queue);
/* A copy of the case named @name, or NULL. */
PulmoReviewCase *pulmo_review_queue_get_case (PulmoReviewQueue *queue, const char *name);

/* Sets @name's state and saves the state file. */
gboolean pulmo_review_queue_set_state (PulmoReviewQueue *queue, const char *name,
                                       PulmoReviewState state, GError **error);

/* The case to open after @after (NULL: from the top), or NULL when none is
 * left: the first case after it in queue order, wrapping round to the top,
 * that is neither done nor flagged (flagged ones wait for an expert, not
 * for this annotator) and whose CT could be read. @after itself comes back
 * only when it is the last one left. Cases not measured yet come after all
 * measured ones, as in the order. */
PulmoReviewCase *pulmo_review_queue_next (PulmoReviewQueue *queue, const char *after);

/* The name of a case that pre-segmentation with the model @model_identity
 * should run on next, in name order, or NULL when none is left: a case not
 * done that was never measured or whose CT changed on disk since (size or
 * modification time), or a not-started one measured by another model. A CT
 * that failed to load is tried again only once its file has changed. */
char *pulmo_review_queue_next_to_segment (PulmoReviewQueue *queue, const char *model_identity);

/* Pre-segments case @name with @model: loads the CT, segments it with
 * post-processing and the uncertainty, writes its label file (if the rule
 * above allows), records the result and saves the state file. Runs on any
 * thread; the queue stays usable meanwhile. A CT that fails to load gets its
 * error recorded in the case (and returned). FALSE with G_IO_ERROR_CANCELLED
 * when cancelled: then nothing is recorded or written. */
gboolean pulmo_review_queue_presegment (PulmoReviewQueue *queue, const char *name,
                                        PulmoModel *model, PulmoProgress *progress,
                                        GCancellable *cancellable, GError **error);

G_END_DECLS
