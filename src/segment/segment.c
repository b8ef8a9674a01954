/* segment.c: see segment.h. */
#include "segment/segment.h"

#include <math.h>

#include "core/pulmo-error.h"
#include "nn/activation.h"
#include "segment/preprocess.h"

/* The decision for one slice: class probabilities on the input grid, read at
 * each slice pixel's position, the most probable class's label value. */
static void
decide_slice (const PulmoTensor *probabilities, const PulmoSliceFit *fit, const PulmoModelInfo *info,
              uint8_t *slice_labels)
{
  int w = fit->input_width, h = fit->input_height, classes = probabilities->c;
  for (int y = 0; y < fit->src_height; y++)
    {
      double py = CLAMP ((y + 0.5) * fit->scale_y + fit->offset_y - 0.5, 0, h - 1);
      int y0 = MIN ((int) py, h - 2), y1 = y0 + 1;
      float fy = (float) (py - y0);
      for (int x = 0; x < fit->src_width; x++)
        {
          double px = CLAMP ((x + 0.5) * fit->scale_x + fit->offset_x - 0.5, 0, w - 1);
          int x0 = MIN ((int) px, w - 2), x1 = x0 + 1;
          float fx = (float) (px - x0);
          int best = 0;
          float best_p = -1;
          for (int c = 0; c < classes; c++)
            {
              const float *p = pulmo_tensor_plane (probabilities, 0, c);
              float top = p[y0 * w + x0] * (1 - fx) + p[y0 * w + x1] * fx;
              float bottom = p[y1 * w + x0] * (1 - fx) + p[y1 * w + x1] * fx;
              float value = top * (1 - fy) + bottom * fy;
              if (value > best_p)
                {
                  best_p = value;
                  best = c;
                }
            }
          slice_labels[(size_t) y * fit->src_width + x] = info->labels[best].value;
        }
    }
}

gboolean
pulmo_segment_volume (PulmoUNet *net, const PulmoModelInfo *info, PulmoVolume *volume,
                      uint8_t *labels, PulmoProgress *progress, GCancellable *cancellable,
                      GError **error)
{
  const PulmoUNetConfig *config = pulmo_unet_get_config (net);
  if (config->in_channels != 1)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED,
                        "models of %d adjacent slices are not supported yet", config->in_channels),
           FALSE;

  int dims[3];
  pulmo_volume_get_dims (volume, dims);
  PulmoReslice axial;
  PulmoSliceFit fit;
  pulmo_preprocess_axial (volume, info, &axial, &fit);
  PulmoIntensityKind kind = pulmo_volume_get_intensity_kind (volume);

  size_t slice_pixels = (size_t) axial.width * axial.height;
  g_autofree float *values = g_new (float, slice_pixels);
  g_autofree uint8_t *slice_labels = g_malloc (slice_pixels);
  g_autoptr (PulmoTensor) input = pulmo_tensor_new (1, 1, info->input_height, info->input_width);
  g_autoptr (PulmoTensor) logits = pulmo_tensor_new (1, config->classes, info->input_height,
                                                     info->input_width);
  g_autoptr (PulmoTensor) probabilities = pulmo_tensor_new (1, config->classes, info->input_height,
                                                            info->input_width);
  g_autoptr (PulmoUNetWorkspace) ws = pulmo_unet_workspace_new (net, info->input_height,
                                                                info->input_width);
  const gint64 stride[3] = { 1, dims[0], (gint64) dims[0] * dims[1] };
  pulmo_progress_begin (progress, "Segmenting", axial.n_slices);
  for (int s = 0; s < axial.n_slices; s++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      pulmo_preprocess_extract (volume, &axial, s, values);
      pulmo_preprocess_slice (info, kind, values, &fit, input->data);
      pulmo_unet_infer (net, ws, input, logits);
      pulmo_softmax_forward (logits, probabilities);
      decide_slice (probabilities, &fit, info, slice_labels);
      for (int v = 0; v < axial.height; v++)
        for (int u = 0; u < axial.width; u++)
          {
            int ijk[3];
            pulmo_reslice_to_voxel (&axial, u, v, s, ijk);
            labels[ijk[0] + ijk[1] * stride[1] + ijk[2] * stride[2]] =
              slice_labels[(size_t) v * axial.width + u];
          }
      pulmo_progress_set (progress, s + 1);
    }
  return TRUE;
}
