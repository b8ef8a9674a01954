/* window-level.h: the display windows a reader chooses from: named presets,
 * a window from the volume's histogram, and the window a volume opens with. */
#pragma once

#include <glib.h>

#include "core/pulmo-volume.h"

G_BEGIN_DECLS

typedef struct {
  const char *id;     /* action target: "lung", "mediastinum", "bone", "soft-tissue" */
  const char *name;   /* shown to the user; marked with N_(), translated by the caller */
  double window, level;
} PulmoWindowPreset;

/* The presets in menu order; sets *n_presets. */
const PulmoWindowPreset *pulmo_window_presets (int *n_presets);
const PulmoWindowPreset *pulmo_window_preset_find (const char *id);

/* Window from the histogram: the 1st to 99th percentile of the voxels above the
 * volume's minimum (so padding outside the scanner's field of view is ignored). */
void pulmo_window_auto (const PulmoVolume *volume, double *window, double *level);

/* What a volume opens with: 0..255 for pre-windowed 8-bit images, the lung preset
 * for HU, else the automatic window. */
void pulmo_window_default (const PulmoVolume *volume, double *window, double *level);

G_END_DECLS
