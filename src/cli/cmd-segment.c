/* `pulmo segment`: a CT through a model to a label map on the CT's grid. */
#include "cli/pulmo-cli.h"

#include <stdio.h>

#include "core/pulmo-label-map.h"
#include "segment/postprocess.h"
#include "segment/segment.h"
#include "train/checkpoint.h"

int
pulmo_cmd_segment (int argc, char **argv)
{
  g_autofree char *model_path = NULL, *out = NULL;
  gboolean no_clahe = FALSE, no_postprocess = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "The model file (or a training checkpoint)", "MODEL.pulmonet" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The label map to write (NIfTI)", "LABELS.nii.gz" },
    { "no-clahe", 0, 0, G_OPTION_ARG_NONE, &no_clahe, "Leave out the model's local-contrast step (to measure what it does)", NULL },
    { "no-postprocess", 0, 0, G_OPTION_ARG_NONE, &no_postprocess, "Write the network's decisions as they are: no lung sides, islands kept", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("--model MODEL --out LABELS CT");
  g_option_context_set_summary (context, "Segments every axial slice of CT with the model and "
                                         "writes the label map on the CT's grid.");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "pulmo segment: %s\n", error->message);
      return 2;
    }
  if (argc != 2 || model_path == NULL || out == NULL)
    {
      fprintf (stderr, "pulmo segment: give --model, --out and one CT file\n");
      return 2;
    }

  g_auto (PulmoModelInfo) info = { 0 };
  g_autoptr (PulmoUNet) net = pulmo_checkpoint_load_model (model_path, &info, &error);
  if (net != NULL && no_clahe)
    info.clahe_clip = 0;
  g_autoptr (PulmoVolume) volume = net ? pulmo_volume_load (argv[1], NULL, NULL, &error) : NULL;
  g_autoptr (PulmoLabelMap) map = volume ? pulmo_label_map_new (volume) : NULL;
  PulmoPostprocessOptions options;
  pulmo_postprocess_options_init (&options);
  uint8_t *labels = map ? pulmo_label_map_get_data_mutable (map) : NULL;
  if (map == NULL || !pulmo_segment_volume (net, &info, volume, labels, NULL, NULL, &error) ||
      (!no_postprocess && !pulmo_postprocess (volume, labels, &options, &error)) ||
      !pulmo_label_map_save (map, out, &error))
    {
      fprintf (stderr, "pulmo segment: %s\n", error->message);
      return 1;
    }
  return 0;
}
