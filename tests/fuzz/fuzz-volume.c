/* fuzz-volume.c: a CT volume file, NIfTI-1/2 plain or (from its first bytes) gzip. */
#include "fuzz-target.h"

#include "fuzz-input.h"

gboolean
pulmo_fuzz_one (const guint8 *data, size_t size, GError **error)
{
  gboolean gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  g_autofree char *path = pulmo_fuzz_input_file (data, size, gzip ? "ct.nii.gz" : "ct.nii");
  PulmoVolume *volume = pulmo_volume_load (path, NULL, NULL, error);
  if (volume == NULL)
    return FALSE;
  pulmo_volume_unref (volume);
  return TRUE;
}
