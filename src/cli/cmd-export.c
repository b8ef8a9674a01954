/* `pulmo export CT LABELS --to DIR`: append a corrected CT to a training set
 * in the nnU-Net v2 raw layout (train/export.c), and print the new case's id. */
#include "cli/pulmo-cli.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>

#include "core/pulmo-label-map.h"
#include "train/export.h"

int
pulmo_cmd_export (int argc, char **argv)
{
  g_autofree char *to = NULL, *convention_name = NULL, *prefix = NULL, *annotator = NULL;
  g_autofree char *model_labels_path = NULL, *model_version = NULL;
  double editing_seconds = -1.0;
  gboolean anonymise = FALSE;
  GOptionEntry entries[] = {
    { "to", 't', 0, G_OPTION_ARG_FILENAME, &to, N_("dataset folder to append to (made if missing)"), N_("DIR") },
    { "convention", 'c', 0, G_OPTION_ARG_STRING, &convention_name,
      N_("label values: pulmo (default), covid19-ct-seg (1 left lung, 2 right lung, 3 infection) or binary-infection"), N_("NAME") },
    { "prefix", 0, 0, G_OPTION_ARG_STRING, &prefix, N_("case ids are PREFIX_NNNN (default pulmo)"), N_("PREFIX") },
    { "annotator", 'a', 0, G_OPTION_ARG_STRING, &annotator, N_("who corrected the labels"), N_("NAME") },
    { "model-labels", 0, 0, G_OPTION_ARG_FILENAME, &model_labels_path,
      N_("the model's labels before correction: records the Dice of the corrections"), N_("FILE") },
    { "model", 0, 0, G_OPTION_ARG_STRING, &model_version, N_("the model that pre-labelled the CT"), N_("NAME") },
    { "editing-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &editing_seconds, N_("time spent correcting"), N_("S") },
    { "anonymise", 0, 0, G_OPTION_ARG_NONE, &anonymise, N_("record only the CT's SHA-256, not its path"), NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (N_("CT LABELS - append a corrected CT to a training set"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "pulmo export: %s\n", error->message);
      return 2;
    }
  if (argc != 3 || to == NULL)
    {
      fprintf (stderr, _("pulmo export: give a CT, its labels and --to DIR (see --help)\n"));
      return 2;
    }

  PulmoExportOptions options;
  pulmo_export_options_init (&options);
  if (convention_name != NULL && !pulmo_export_convention_from_name (convention_name, &options.convention))
    {
      fprintf (stderr, _("pulmo export: unknown convention “%s” (pulmo, covid19-ct-seg, binary-infection)\n"),
               convention_name);
      return 2;
    }
  options.case_prefix = prefix;
  options.annotator = annotator;
  options.model_version = model_version;
  options.editing_seconds = editing_seconds;
  options.anonymise = anonymise;

  g_autoptr (PulmoVolume) ct = pulmo_volume_load (argv[1], NULL, NULL, &error);
  g_autoptr (PulmoLabelMap) labels = ct ? pulmo_label_map_load (ct, argv[2], NULL, NULL, &error) : NULL;
  g_autoptr (PulmoLabelMap) model = NULL;
  if (labels != NULL && model_labels_path != NULL)
    {
      model = pulmo_label_map_load (ct, model_labels_path, NULL, NULL, &error);
      if (model != NULL)
        options.model_labels = pulmo_label_map_get_data (model);
    }
  g_autofree char *id = error == NULL ? pulmo_export_case (to, labels, &options, &error) : NULL;
  if (id == NULL)
    {
      fprintf (stderr, "pulmo export: %s\n", error->message);
      return 1;
    }
  printf ("%s\n", id);
  return 0;
}
