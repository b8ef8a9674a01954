/* fuzz-label-description.c: an ITK-SNAP label description file. */
#include "fuzz-target.h"

#include "core/label-description.h"
#include "fuzz-input.h"

gboolean
pulmo_fuzz_one (const guint8 *data, size_t size, GError **error)
{
  g_autofree char *path = pulmo_fuzz_input_file (data, size, "labels.txt");
  PulmoLabelTable *table = pulmo_label_description_load (path, error);
  if (table == NULL)
    return FALSE;
  pulmo_label_table_free (table);
  return TRUE;
}
