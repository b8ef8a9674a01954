/* checkpoint.h: everything a training run needs to go on after being
 * stopped at any moment — the model, the optimiser's moments, how far it
 * got, which cases it validates on, its log so far — in one file written
 * atomically (temporary file, fsync, rename), so a kill leaves the previous
 * checkpoint or the new one, never a torn file.
 *
 * Layout: "PULMOCKP", u32 version (1), u32 CRC-32 of the rest, then a
 * GVariant of type CHECKPOINT_TYPE in checkpoint.c (GLib's own serialisation,
 * which reads any bytes safely). */
#pragma once

#include <gio/gio.h>

#include "nn/optim.h"
#include "nn/unet.h"
#include "nn/weights.h"

G_BEGIN_DECLS

typedef struct {
  int epochs_done;
  char *settings;          /* the run's settings that a resume must keep, as text */
  char **validation_ids;   /* NULL-terminated */
  char *log;               /* the CSV log up to epochs_done */
  double seconds;          /* training time so far */
} PulmoCheckpointState;

void pulmo_checkpoint_state_clear (PulmoCheckpointState *state);

gboolean pulmo_checkpoint_save (const char *path, const PulmoCheckpointState *state,
                                const PulmoUNet *net, const PulmoModelInfo *info,
                                PulmoAdamW *optim, GError **error);
/* Returns the model and fills @state and @info; @optim is created for the
 * model with @optim_config and its moments and step count restored. */
PulmoUNet *pulmo_checkpoint_load (const char *path, PulmoCheckpointState *state,
                                  PulmoModelInfo *info, const PulmoAdamWConfig *optim_config,
                                  PulmoAdamW **optim, GError **error);

/* The model alone, from a model file or a checkpoint (to look at a run
 * while it trains). */
PulmoUNet *pulmo_checkpoint_load_model (const char *path, PulmoModelInfo *info, GError **error);

G_END_DECLS
