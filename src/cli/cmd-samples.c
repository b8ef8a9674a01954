/* `pulmo samples --data DIR… --out DIR`: a dataset's slices through Pulmo's
 * one preprocessing, written as NumPy arrays for other trainers
 * (tools/train_pytorch.py; train/samples.h says what is written). */
#include "cli/pulmo-cli.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>

#include "train/dataset.h"
#include "train/model-registry.h"
#include "train/samples.h"

int
pulmo_cmd_samples (int argc, char **argv)
{
  g_auto (GStrv) data = NULL;
  g_autofree char *out = NULL, *model_path = NULL;
  int max_per_case = 0;
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME_ARRAY, &data, N_("A dataset folder in the nnU-Net v2 raw layout (repeat for more)"), N_("DIR") },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("The folder to write images.npy, masks.npy and cases.json into"), N_("DIR") },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, N_("The model whose preprocessing and classes to use (the shipped one)"), N_("MODEL") },
    { "max-per-case", 0, 0, G_OPTION_ARG_INT, &max_per_case, N_("At most N slices of each case, evenly spread (all)"), N_("N") },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (N_("--data DIR… --out DIR"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "pulmo samples: %s\n", error->message);
      return 2;
    }
  if (argc > 1 || data == NULL || out == NULL)
    {
      fprintf (stderr, "pulmo samples: %s\n", argc > 1 ? "unexpected arguments" : "--data and --out are required");
      return 2;
    }

  g_autoptr (PulmoModel) model = pulmo_model_load (model_path, &error);
  g_autoptr (PulmoDataset) dataset = model ? pulmo_dataset_load ((const char *const *) data, &model->info,
                                                                 MAX (max_per_case, 0), NULL, &error) : NULL;
  if (dataset == NULL
      || !pulmo_samples_write (dataset, pulmo_unet_get_config (model->net)->classes, out, &error))
    {
      fprintf (stderr, "pulmo samples: %s\n", error->message);
      return 1;
    }
  printf (_("%zu slices of %d cases, %d×%d, for %s\n"), dataset->n_samples, dataset->n_cases, dataset->width,
          dataset->height, model->identity);
  return 0;
}
