/* pulmo-preferences.h: the settings Pulmo keeps from one run to the next, in
 * $XDG_CONFIG_HOME/pulmo/viewer.ini: the view settings a reader expects
 * (smooth display, label opacity, filled or outlined labels) and what the
 * training dialogs remember (annotator, dataset folders, export choices). */
#pragma once

#include "app/pulmo-view-state.h"

G_BEGIN_DECLS

/* The file the settings live in. */
char *pulmo_preferences_path (void);
/* Applies the saved settings to @state; a missing, unreadable or malformed
 * file, or a value out of range, leaves the defaults in place. */
void pulmo_preferences_load (PulmoViewState *state);
gboolean pulmo_preferences_save (PulmoViewState *state, GError **error);

typedef struct {
  char *annotator;          /* recorded in exported cases; "" when not given */
  char *dataset_dir;        /* where cases are exported and fine-tuning reads them; "" unset */
  char *original_dir;       /* the model's own training data, mixed into a fine-tune; "" unset */
  char *convention;         /* train/export.h's name for the label values of exported cases */
  gboolean anonymise;       /* exported cases record no source path */
  int finetune_minutes;     /* how long a fine-tune may take */
} PulmoTrainingPreferences;

/* Never fails: what is missing or malformed takes its default. */
void pulmo_training_preferences_load (PulmoTrainingPreferences *prefs);
gboolean pulmo_training_preferences_save (const PulmoTrainingPreferences *prefs, GError **error);
void pulmo_training_preferences_clear (PulmoTrainingPreferences *prefs);

G_END_DECLS
