/* fuzz-safetensors.c: a model in safetensors. */
#include "fuzz-target.h"

#include "nn/safetensors.h"
#include "nn/unet.h"

gboolean
pulmo_fuzz_one (const guint8 *data, size_t size, GError **error)
{
  g_auto (PulmoModelInfo) info = { 0 };
  PulmoUNet *net = pulmo_safetensors_to_unet (data, size, "model.safetensors", &info, error);
  if (net == NULL)
    return FALSE;
  pulmo_unet_free (net);
  return TRUE;
}
