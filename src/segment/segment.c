/* segment.c: see segment.h. */
#include "segment/segment.h"

#include <glib/gi18n-lib.h>
#include <math.h>

#include "core/pulmo-error.h"
#include "core/pulmo-label-table.h"
#include "nn/activation.h"
#include "nn/parallel.h"
#include "segment/preprocess.h"

void
pulmo_segment_options_init (PulmoSegmentOptions *options)
{
  *options = (PulmoSegmentOptions) { .first_slice = -1, .postprocess = TRUE };
  pulmo_postprocess_options_init (&options->postprocess_options);
}

int
pulmo_segment_slice_order (int n_slices, int first, int index)
{
  g_return_val_if_fail (n_slices > 0 && index >= 0 && index < n_slices, 0);
  if (first < 0 || first >= n_slices)
    first = n_slices / 2;
  /* Pairs (first + d, first - d) for d = 1, 2, … until one side runs out;
   * then the rest of the other side in order. */
  int below = first, above = n_slices - 1 - first;
  int both = MIN (below, above);
  if (index <= 2 * both)
    return index == 0 ? first : (index % 2 == 1 ? first + (index + 1) / 2 : first - index / 2);
  int rest = index - 2 * both;
  return above > below ? first + both + rest : first - both - rest;
}

/* The decision for one slice, row by row on all cores: class probabilities
 * on the input grid, read at each slice pixel's position, the most probable
 * class's label value written straight to the voxel it shows. */
typedef struct {
  const PulmoTensor *probabilities;
  const PulmoSliceFit *fit;
  const PulmoModelInfo *info;
  const PulmoReslice *axial;
  const int *dims;
  int slice;
  uint8_t *labels;
} Decision;

static void
decide_rows (void *ctx, int begin, int end, int worker)
{
  const Decision *d = ctx;
  const PulmoSliceFit *fit = d->fit;
  int w = fit->input_width, h = fit->input_height, classes = d->probabilities->c;
  for (int y = begin; y < end; y++)
    {
      double py = CLAMP ((y + 0.5) * fit->scale_y + fit->offset_y - 0.5, 0, h - 1);
      int y0 = MIN ((int) py, h - 2), y1 = y0 + 1;
      float fy = (float) (py - y0);
      gint64 index, step;
      pulmo_reslice_row (d->axial, d->dims, d->slice, y, &index, &step);
      for (int x = 0; x < fit->src_width; x++, index += step)
        {
          double px = CLAMP ((x + 0.5) * fit->scale_x + fit->offset_x - 0.5, 0, w - 1);
          int x0 = MIN ((int) px, w - 2), x1 = x0 + 1;
          float fx = (float) (px - x0);
          int best = 0;
          float best_p = -1;
          for (int c = 0; c < classes; c++)
            {
              const float *p = pulmo_tensor_plane (d->probabilities, 0, c);
              float top = p[y0 * w + x0] * (1 - fx) + p[y0 * w + x1] * fx;
              float bottom = p[y1 * w + x0] * (1 - fx) + p[y1 * w + x1] * fx;
              float value = top * (1 - fy) + bottom * fy;
              if (value > best_p)
                {
                  best_p = value;
                  best = c;
                }
            }
          d->labels[index] = d->info->labels[best].value;
        }
    }
}

/* The label values inside the lungs (segment.h's PulmoSegmentUncertainty). */
static gboolean
label_in_lungs (guint8 value)
{
  return value == PULMO_LABEL_RIGHT_LUNG || value == PULMO_LABEL_LEFT_LUNG
         || value == PULMO_LABEL_GROUND_GLASS || value == PULMO_LABEL_CONSOLIDATION
         || value == PULMO_LABEL_LUNG_UNKNOWN_SIDE || value == PULMO_LABEL_INFECTION_UNKNOWN_TYPE;
}

/* One slice's sum of normalised entropies over the input-grid pixels that
 * show the slice (not its padding) and whose most probable class lies inside
 * the lungs; their number goes to @n_pixels. On one thread: a few
 * logarithms per pixel are nothing beside the network that made them. */
static double
slice_lung_entropy (const PulmoTensor *probabilities, const PulmoSliceFit *fit,
                    const PulmoModelInfo *info, guint64 *n_pixels)
{
  int w = probabilities->w, h = probabilities->h, classes = probabilities->c;
  size_t plane = (size_t) w * h;
  /* Input pixel u shows the slice when its centre u + 0.5 lies within
   * offset .. offset + src · scale (preprocess.h's fit). */
  int x_lo = MAX (0, (int) ceil (fit->offset_x - 0.5));
  int x_hi = MIN (w - 1, (int) floor (fit->offset_x + fit->src_width * fit->scale_x - 0.5));
  int y_lo = MAX (0, (int) ceil (fit->offset_y - 0.5));
  int y_hi = MIN (h - 1, (int) floor (fit->offset_y + fit->src_height * fit->scale_y - 0.5));
  double norm = classes > 1 ? 1.0 / log (classes) : 0.0;
  double sum = 0;
  guint64 count = 0;
  for (int y = y_lo; y <= y_hi; y++)
    for (int x = x_lo; x <= x_hi; x++)
      {
        const float *p = probabilities->data + (size_t) y * w + x;
        int best = 0;
        for (int c = 1; c < classes; c++)
          if (p[c * plane] > p[best * plane])
            best = c;
        if (!label_in_lungs (info->labels[best].value))
          continue;
        double entropy = 0;
        for (int c = 0; c < classes; c++)
          if (p[c * plane] > 0)
            entropy -= p[c * plane] * log (p[c * plane]);
        sum += entropy * norm;
        count++;
      }
  *n_pixels = count;
  return sum;
}

static double
seconds_since (gint64 *start)
{
  gint64 now = g_get_monotonic_time ();
  double s = (now - *start) * 1e-6;
  *start = now;
  return s;
}

gboolean
pulmo_segment_volume (PulmoUNet *net, const PulmoModelInfo *info, PulmoVolume *volume,
                      uint8_t *labels, const PulmoSegmentOptions *options,
                      PulmoProgress *progress, GCancellable *cancellable, GError **error)
{
  const PulmoUNetConfig *config = pulmo_unet_get_config (net);
  if (config->in_channels != 1)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED,
                        _("models of %d adjacent slices are not supported yet"), config->in_channels),
           FALSE;
  PulmoSegmentOptions defaults;
  pulmo_segment_options_init (&defaults);
  if (options == NULL)
    options = &defaults;
  PulmoSegmentTimes unmeasured = { 0 };
  PulmoSegmentTimes *times = options->times != NULL ? options->times : &unmeasured;

  int dims[3];
  pulmo_volume_get_dims (volume, dims);
  PulmoReslice axial;
  PulmoSliceFit fit;
  pulmo_preprocess_axial (volume, info, &axial, &fit);
  PulmoIntensityKind kind = pulmo_volume_get_intensity_kind (volume);

  g_autofree float *values = g_new (float, (size_t) axial.width * axial.height);
  g_autoptr (PulmoTensor) input = pulmo_tensor_new (1, 1, info->input_height, info->input_width);
  g_autoptr (PulmoTensor) logits = pulmo_tensor_new (1, config->classes, info->input_height,
                                                     info->input_width);
  g_autoptr (PulmoTensor) probabilities = pulmo_tensor_new (1, config->classes, info->input_height,
                                                            info->input_width);
  g_autoptr (PulmoUNetWorkspace) ws = pulmo_unet_workspace_new (net, info->input_height,
                                                                info->input_width);
  Decision decision = { probabilities, &fit, info, &axial, dims, 0, labels };
  /* Each slice's entropy sum and pixel count, kept by slice so that the
   * total is added up in slice order, not in the order slices ran. */
  g_autofree double *entropy_sums = options->uncertainty ? g_new0 (double, axial.n_slices) : NULL;
  g_autofree guint64 *lung_pixels = options->uncertainty ? g_new0 (guint64, axial.n_slices) : NULL;
  pulmo_progress_begin (progress, N_("Segmenting"), axial.n_slices);
  for (int i = 0; i < axial.n_slices; i++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      int s = pulmo_segment_slice_order (axial.n_slices, options->first_slice, i);
      gint64 start = g_get_monotonic_time ();
      pulmo_preprocess_extract (volume, &axial, s, values);
      pulmo_preprocess_slice (info, kind, values, &fit, input->data);
      times->preprocess_s += seconds_since (&start);
      pulmo_unet_infer (net, ws, input, logits);
      pulmo_softmax_forward (logits, probabilities);
      times->inference_s += seconds_since (&start);
      decision.slice = s;
      pulmo_parallel_for (axial.height, decide_rows, &decision);
      if (options->uncertainty != NULL)
        entropy_sums[s] = slice_lung_entropy (probabilities, &fit, info, &lung_pixels[s]);
      times->resample_s += seconds_since (&start);
      if (options->slice_done != NULL)
        options->slice_done (s, options->user_data);
      pulmo_progress_set (progress, i + 1);
    }
  if (options->uncertainty != NULL)
    {
      double sum = 0;
      guint64 n = 0;
      for (int s = 0; s < axial.n_slices; s++)
        {
          sum += entropy_sums[s];
          n += lung_pixels[s];
        }
      *options->uncertainty = (PulmoSegmentUncertainty) { .mean_entropy = n > 0 ? sum / n : 0,
                                                          .n_pixels = n };
    }
  return TRUE;
}

gboolean
pulmo_segment_ct (PulmoUNet *net, const PulmoModelInfo *info, PulmoVolume *volume,
                  uint8_t *labels, const PulmoSegmentOptions *options, PulmoProgress *progress,
                  GCancellable *cancellable, GError **error)
{
  PulmoSegmentOptions defaults;
  pulmo_segment_options_init (&defaults);
  if (options == NULL)
    options = &defaults;
  if (!pulmo_segment_volume (net, info, volume, labels, options, progress, cancellable, error))
    return FALSE;
  if (!options->postprocess)
    return TRUE;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  pulmo_progress_begin (progress, N_("Finishing"), 0);
  gint64 start = g_get_monotonic_time ();
  gboolean ok = pulmo_postprocess (volume, labels, &options->postprocess_options, error);
  if (options->times != NULL)
    options->times->postprocess_s += seconds_since (&start);
  return ok;
}
