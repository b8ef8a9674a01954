#include "cli/pulmo-cli.h"

#include "pulmo-config.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} PulmoCommand;

static const PulmoCommand commands[] = {
  { "info", pulmo_cmd_info, N_("print dimensions, spacing, orientation and intensities of CT files") },
  { "train", pulmo_cmd_train, N_("train a model on dataset folders (nnU-Net v2 raw layout)") },
  { "eval", pulmo_cmd_eval, N_("Dice and volume difference between predicted and reference labels") },
  { "export", pulmo_cmd_export, N_("append a corrected CT and its labels to a training set") },
  { "export-sweep", pulmo_cmd_export_sweep, N_("write a view's slices, labels and slab as an animated PNG or a PNG series") },
  { "model", pulmo_cmd_model, N_("the installed models and the one in use; safetensors export and import") },
  { "samples", pulmo_cmd_samples, N_("write a dataset's preprocessed slices as NumPy arrays for other trainers") },
  { "segment", pulmo_cmd_segment, N_("segment a CT with a model and write its label map") },
  { "review", pulmo_cmd_review, N_("pre-segment a folder of CTs and list it for review, most uncertain first") },
  { "bench", pulmo_cmd_bench, N_("run a benchmark (load, render, conv, ops, nn) beside its anchor") },
};

static void
print_usage (FILE *out)
{
  fprintf (out, _("Usage: pulmo [FILE]            open FILE (NIfTI or DICOM folder) in the viewer\n"
                "       pulmo COMMAND [ARGS…]   run a command\n\n"
                "Viewer options:\n"
                "  -l, --labels=FILE       open FILE as the label map of the CT\n"
                "  --label-names=FILE      name and colour those labels from an ITK-SNAP label description\n"
                "  --help-all              every option, GTK's included\n\n"
                "Commands:\n"));
  for (size_t c = 0; c < G_N_ELEMENTS (commands); c++)
    fprintf (out, "  %-8s %s\n", commands[c].name, _(commands[c].summary));
  fprintf (out, _("\n`pulmo COMMAND --help` describes a command's options.\n"));
}

gboolean
pulmo_cli_is_command (const char *name)
{
  if (g_strcmp0 (name, "help") == 0 || g_strcmp0 (name, "--help") == 0 || g_strcmp0 (name, "-h") == 0
      || g_strcmp0 (name, "--version") == 0)
    return TRUE;
  for (size_t c = 0; c < G_N_ELEMENTS (commands); c++)
    if (g_strcmp0 (name, commands[c].name) == 0)
      return TRUE;
  return FALSE;
}

int
pulmo_cli_run (int argc, char **argv)
{
  const char *name = argc > 1 ? argv[1] : "help";

  if (strcmp (name, "--version") == 0)
    {
      printf ("pulmo %s\n", PULMO_VERSION);
      return 0;
    }
  for (size_t c = 0; c < G_N_ELEMENTS (commands); c++)
    if (strcmp (name, commands[c].name) == 0)
      return commands[c].run (argc - 1, argv + 1);

  gboolean asked = strcmp (name, "help") == 0 || strcmp (name, "--help") == 0 || strcmp (name, "-h") == 0;
  if (!asked)
    fprintf (stderr, _("pulmo: unknown command “%s”\n\n"), name);
  print_usage (asked ? stdout : stderr);
  return asked ? 0 : 2;
}
