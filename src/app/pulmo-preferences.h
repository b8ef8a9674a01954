/* pulmo-preferences.h: the settings Pulmo keeps from one run to the next, in
 * GSettings (schema org.pulmo.Pulmo, data/org.pulmo.Pulmo.gschema.xml): the
 * view settings a reader expects (smooth display, label opacity, filled or
 * outlined labels), the brush, and what the training dialogs remember
 * (annotator, dataset folders, export choices).
 *
 * Earlier versions kept them in $XDG_CONFIG_HOME/pulmo/viewer.ini: on the
 * first run with the schema its values are copied into GSettings, key
 * "migrated-viewer-ini" is set so that this happens once, and the file is
 * renamed viewer.ini.migrated (kept, not deleted, for going back by hand).
 *
 * The schema is found where GLib looks (installed, or GSETTINGS_SCHEMA_DIR),
 * else in the install prefix's schema folder, else compiled in the build
 * folder, for the README's run without installing. Without it anywhere, the
 * defaults hold and nothing is saved: a warning, never an abort. */
#pragma once

#include <gio/gio.h>

#include "app/pulmo-appearance.h"
#include "app/pulmo-edit-state.h"

G_BEGIN_DECLS

/* The settings file of earlier versions, which pulmo_preferences_migrate reads. */
char *pulmo_preferences_path (void);
/* Pulmo's settings, shared and owned by this module, viewer.ini migrated into
 * them; NULL when the schema is nowhere to be found. Main thread only. */
GSettings *pulmo_preferences_get_settings (void);
/* Copies the values of the settings file @path into @settings, then renames it
 * @path.migrated, unless @settings say that this was done already. A value
 * missing, malformed or out of the schema's range keeps its default. */
void pulmo_preferences_migrate (GSettings *settings, const char *path);

/* Applies the saved view settings to @state. */
void pulmo_preferences_load (PulmoViewState *state);
gboolean pulmo_preferences_save (PulmoViewState *state, GError **error);

/* The brush's shape, size and 3D flag, as the last window left them. */
void pulmo_brush_preferences_load (PulmoEditState *edit);
gboolean pulmo_brush_preferences_save (PulmoEditState *edit, GError **error);

/* The light or dark style chosen; PULMO_APPEARANCE_SYSTEM without settings. */
PulmoAppearance pulmo_style_preferences_load (void);
gboolean pulmo_style_preferences_save (PulmoAppearance appearance, GError **error);

typedef struct {
  char *annotator;          /* recorded in exported cases; "" when not given */
  char *dataset_dir;        /* where cases are exported and fine-tuning reads them; "" unset */
  char *original_dir;       /* the model's own training data, mixed into a fine-tune; "" unset */
  char *convention;         /* train/export.h's name for the label values of exported cases */
  gboolean anonymise;       /* exported cases record no source path */
  int finetune_minutes;     /* how long a fine-tune may take */
} PulmoTrainingPreferences;

/* Never fails: without settings, every field takes its default. */
void pulmo_training_preferences_load (PulmoTrainingPreferences *prefs);
/* @prefs must hold a convention train/export.h names and 1 to 1440 minutes,
 * the schema's range: GSettings refuses anything else with a critical. */
gboolean pulmo_training_preferences_save (const PulmoTrainingPreferences *prefs, GError **error);
void pulmo_training_preferences_clear (PulmoTrainingPreferences *prefs);

G_END_DECLS
