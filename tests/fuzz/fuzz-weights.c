/* fuzz-weights.c: a model file (.pulmonet). */
#include "fuzz-target.h"

#include "nn/unet.h"
#include "nn/weights.h"

gboolean
pulmo_fuzz_one (const guint8 *data, size_t size, GError **error)
{
  g_auto (PulmoModelInfo) info = { 0 };
  PulmoUNet *net = pulmo_weights_load_bytes (data, size, "model.pulmonet", &info, error);
  if (net == NULL)
    return FALSE;
  pulmo_unet_free (net);
  return TRUE;
}
