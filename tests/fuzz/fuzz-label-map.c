/* fuzz-label-map.c: a label map (NIfTI, plain or gzip) read onto a small CT. */
#include "fuzz-target.h"

#include "core/pulmo-label-map.h"
#include "fuzz-input.h"

gboolean
pulmo_fuzz_one (const guint8 *data, size_t size, GError **error)
{
  static PulmoVolume *ct;
  if (ct == NULL)
    ct = pulmo_fuzz_small_ct ();
  gboolean gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  g_autofree char *path = pulmo_fuzz_input_file (data, size, gzip ? "labels.nii.gz" : "labels.nii");
  PulmoLabelMap *map = pulmo_label_map_load (ct, path, NULL, NULL, error);
  if (map == NULL)
    return FALSE;
  g_object_unref (map);
  return TRUE;
}
