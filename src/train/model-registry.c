/* model-registry.c: see model-registry.h. */
#include "train/model-registry.h"

#include "core/pulmo-error.h"
#include "pulmo-config.h"
#include "train/checkpoint.h"

char *
pulmo_model_default_path (GError **error)
{
  const char *folders[] = { PULMO_MODEL_DIR, PULMO_SOURCE_DIR "/data/models" };
  for (size_t f = 0; f < G_N_ELEMENTS (folders); f++)
    {
      char *path = g_build_filename (folders[f], PULMO_SHIPPED_MODEL, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return path;
      g_free (path);
    }
  g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND,
               "the shipped model %s is neither in %s nor in %s; reinstall Pulmo or give a model",
               PULMO_SHIPPED_MODEL, folders[0], folders[1]);
  return NULL;
}

static char *
model_identity (const char *path, GError **error)
{
  g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, error);
  if (file == NULL)
    return NULL;
  g_autofree char *sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                      (const guchar *) g_mapped_file_get_contents (file),
                                                      g_mapped_file_get_length (file));
  g_autofree char *base = g_path_get_basename (path);
  char *dot = g_strrstr (base, ".");
  if (dot != NULL && dot != base)
    *dot = '\0';
  return g_strdup_printf ("%s %.8s", base, sha);
}

PulmoModel *
pulmo_model_load (const char *path, GError **error)
{
  g_autofree char *found = path == NULL ? pulmo_model_default_path (error) : g_strdup (path);
  if (found == NULL)
    return NULL;
  g_autoptr (PulmoModel) model = g_new0 (PulmoModel, 1);
  model->net = pulmo_checkpoint_load_model (found, &model->info, error);
  if (model->net == NULL)
    return NULL;
  model->identity = model_identity (found, error);
  if (model->identity == NULL)
    return NULL;
  model->path = g_steal_pointer (&found);
  return g_steal_pointer (&model);
}

void
pulmo_model_free (PulmoModel *model)
{
  if (model == NULL)
    return;
  g_clear_pointer (&model->net, pulmo_unet_free);
  pulmo_model_info_clear (&model->info);
  g_free (model->path);
  g_free (model->identity);
  g_free (model);
}
