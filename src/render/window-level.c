#include "render/window-level.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

static const PulmoWindowPreset presets[] = {
  { "lung", N_("Lung"), 1500, -600 },
  { "mediastinum", N_("Mediastinum"), 350, 50 },
  { "bone", N_("Bone"), 1800, 400 },
  { "soft-tissue", N_("Soft tissue"), 400, 40 },
};

const PulmoWindowPreset *
pulmo_window_presets (int *n_presets)
{
  *n_presets = G_N_ELEMENTS (presets);
  return presets;
}

const PulmoWindowPreset *
pulmo_window_preset_find (const char *id)
{
  for (size_t p = 0; p < G_N_ELEMENTS (presets); p++)
    if (g_strcmp0 (presets[p].id, id) == 0)
      return &presets[p];
  return NULL;
}

#define N_BINS 4096

/* Counts at most ~4 M voxels spread over the volume: enough for percentiles,
 * and quick on a 100 M-voxel scan. */
static size_t
sample_step (size_t n_voxels)
{
  size_t step = n_voxels / ((size_t) 1 << 22);
  return step | 1; /* odd, so it does not alias with even row lengths */
}

void
pulmo_window_auto (const PulmoVolume *volume, double *window, double *level)
{
  double min, max;
  pulmo_volume_get_range (volume, &min, &max);
  if (!(max > min))
    {
      *window = 1.0;
      *level = min;
      return;
    }

  const int16_t *hu = pulmo_volume_get_int16 (volume);
  const float *values = pulmo_volume_get_float (volume);
  size_t n = pulmo_volume_get_n_voxels (volume), step = sample_step (n);
  double bin_width = (max - min) / N_BINS;
  g_autofree guint64 *counts = g_new0 (guint64, N_BINS);
  guint64 total = 0;

  for (size_t index = 0; index < n; index += step)
    {
      double value = hu != NULL ? hu[index] : values[index];
      if (!(value > min)) /* the minimum is padding or air at the edge; NaN too */
        continue;
      int bin = (int) ((value - min) / bin_width);
      counts[MIN (bin, N_BINS - 1)]++;
      total++;
    }
  if (total == 0)
    {
      *window = max - min;
      *level = (max + min) / 2.0;
      return;
    }

  guint64 low_count = total / 100, high_count = total - total / 100, seen = 0;
  int low_bin = -1, high_bin = N_BINS - 1;
  for (int bin = 0; bin < N_BINS; bin++)
    {
      seen += counts[bin];
      if (low_bin < 0 && seen > low_count)
        low_bin = bin;
      if (seen >= high_count)
        {
          high_bin = bin;
          break;
        }
    }
  double low = min + low_bin * bin_width, high = min + (high_bin + 1) * bin_width;
  *window = MAX (high - low, 1.0);
  *level = (high + low) / 2.0;
}

void
pulmo_window_default (const PulmoVolume *volume, double *window, double *level)
{
  switch (pulmo_volume_get_intensity_kind (volume))
    {
    case PULMO_INTENSITY_PREWINDOWED_8BIT:
      *window = 255.0;
      *level = 127.5;
      return;
    case PULMO_INTENSITY_HU:
      *window = presets[0].window;
      *level = presets[0].level;
      return;
    case PULMO_INTENSITY_UNKNOWN:
    default:
      pulmo_window_auto (volume, window, level);
      return;
    }
}
