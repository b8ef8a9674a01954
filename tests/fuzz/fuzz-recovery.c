/* fuzz-recovery.c: a recovery file read onto the small CT it names by hash. */
#include "fuzz-target.h"

#include "core/pulmo-label-map.h"
#include "edit/recovery.h"
#include "fuzz-input.h"

gboolean
pulmo_fuzz_one (const guint8 *data, size_t size, GError **error)
{
  static PulmoVolume *ct;
  static char *ct_hash;
  if (ct == NULL)
    {
      ct = pulmo_fuzz_small_ct ();
      ct_hash = pulmo_recovery_ct_hash (ct);
    }
  g_autofree char *path = pulmo_fuzz_input_file (data, size, "labels.recovery");
  PulmoLabelMap *map = pulmo_recovery_read (path, ct, ct_hash, error);
  if (map == NULL)
    return FALSE;
  g_object_unref (map);
  return TRUE;
}
