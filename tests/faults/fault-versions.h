/* fault-versions.h: the numbered versions of each file that fault-child writes
 * and test-kill rebuilds, so that the test can tell the old version from the
 * new one byte for byte. */
#pragma once

#include <string.h>

#include "edit/recovery-child.h"
#include "nn/weights.h"
#include "train/checkpoint.h"

/* Version @k of a label map: a fresh map with only edit @k (edit/recovery-child.h). */
static inline void
fault_labels_version (PulmoLabelMap *map, guint k)
{
  gsize n = pulmo_volume_get_n_voxels (pulmo_label_map_get_volume (map));
  memset (pulmo_label_map_get_data_mutable (map), 0, n);
  recovery_child_edit (map, k);
}

/* A two-level U-Net small enough that a child writes it hundreds of times a second. */
static inline PulmoModelInfo
fault_model_info (void)
{
  static PulmoModelLabel labels[2] = {
    { 0, { 0, 0, 0, 0 }, (char *) "background" },
    { 1, { 255, 0, 0, 255 }, (char *) "lung" },
  };
  return (PulmoModelInfo) {
    .normalisation = PULMO_NORMALISE_SLICE_MINMAX,
    .window_hu_low = -1024, .window_hu_high = 3071, .window_gray8_low = 0, .window_gray8_high = 255,
    .clahe_clip = 7, .clahe_tiles = 8, .input_width = 64, .input_height = 64, .n_slices = 1,
    .n_labels = 2, .labels = labels,
  };
}

static inline PulmoUNet *
fault_model_new (guint64 seed)
{
  const PulmoUNetConfig config = { .in_channels = 1, .base = 4, .depth = 2, .classes = 2 };
  return pulmo_unet_new (&config, seed);
}

/* Version @k of a model file: the small U-Net initialised with seed @k. */
static inline GBytes *
fault_model_bytes (guint k)
{
  g_autoptr (PulmoUNet) net = fault_model_new (k);
  PulmoModelInfo info = fault_model_info ();
  GBytes *bytes = pulmo_weights_to_bytes (net, &info, NULL);
  g_assert_nonnull (bytes);
  return bytes;
}

/* Writes version @k of a checkpoint: the same model, @k epochs done. */
static inline gboolean
fault_checkpoint_save (const char *path, guint k, GError **error)
{
  g_autoptr (PulmoUNet) net = fault_model_new (1);
  PulmoModelInfo info = fault_model_info ();
  PulmoAdamWConfig config = pulmo_adamw_config_default ();
  g_autoptr (PulmoAdamW) optim = pulmo_unet_adamw_new (net, &config);
  g_autofree char *log = g_strdup_printf ("epoch,loss\n%u,0.5\n", k);
  PulmoCheckpointState state = { .epochs_done = (int) k, .settings = (char *) "base=4", .log = log };
  return pulmo_checkpoint_save (path, &state, net, &info, optim, error);
}
