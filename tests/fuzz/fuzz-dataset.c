/* fuzz-dataset.c: a dataset folder's dataset.json (nnU-Net v2 raw layout),
 * beside empty imagesTr/ and labelsTr/. */
#include "fuzz-target.h"

#include <glib/gstdio.h>

#include "fuzz-input.h"
#include "nn/unet.h"
#include "nn/weights.h"
#include "train/dataset.h"

gboolean
pulmo_fuzz_one (const guint8 *data, size_t size, GError **error)
{
  static PulmoModelInfo info;
  static char *folder;
  if (folder == NULL)
    {
      g_autoptr (GError) local_error = NULL;
      PulmoUNet *net = pulmo_weights_load (PULMO_FUZZ_MODEL, &info, &local_error);
      g_assert_no_error (local_error);
      pulmo_unet_free (net);
      g_autofree char *json = pulmo_fuzz_input_file (NULL, 0, "dataset.json");
      folder = g_path_get_dirname (json);
      g_autofree char *images = g_build_filename (folder, "imagesTr", NULL);
      g_autofree char *labels = g_build_filename (folder, "labelsTr", NULL);
      g_mkdir (images, 0700);
      g_mkdir (labels, 0700);
    }
  g_free (pulmo_fuzz_input_file (data, size, "dataset.json"));
  const char *dirs[] = { folder, NULL };
  PulmoDataset *dataset = pulmo_dataset_load (dirs, &info, 0, NULL, error);
  if (dataset == NULL)
    return FALSE;
  pulmo_dataset_free (dataset);
  return TRUE;
}
