/* `pulmo model`: the installed models and the one in use (list, use, install;
 * train/model-registry.h), and Pulmo's model file to safetensors and back
 * (export, import), for training the same network with PyTorch on a GPU
 * cluster (nn/safetensors.h). */
#include "cli/pulmo-cli.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>
#include <string.h>

#include "nn/safetensors.h"
#include "train/model-registry.h"

static int
usage (void)
{
  fprintf (stderr, _("Usage: pulmo model list                  the shipped and installed models, * in use\n"
                   "       pulmo model use N                 put model N of the list in use (0: shipped)\n"
                   "       pulmo model install MODEL [NOTE]  keep MODEL among the installed ones, in use\n"
                   "       pulmo model export MODEL.pulmonet OUT.safetensors\n"
                   "       pulmo model import IN.safetensors OUT.pulmonet\n"));
  return 2;
}

static int
export_model (const char *in, const char *out)
{
  g_autoptr (GError) error = NULL;
  g_auto (PulmoModelInfo) info = { 0 };
  g_autoptr (PulmoUNet) net = pulmo_weights_load (in, &info, &error);
  g_autoptr (GBytes) bytes = net ? pulmo_safetensors_from_unet (net, &info, &error) : NULL;
  gsize size = 0;
  const char *data = bytes ? g_bytes_get_data (bytes, &size) : NULL;
  /* g_file_set_contents writes a temporary file and renames it: atomic. */
  if (bytes == NULL || !g_file_set_contents (out, data, (gssize) size, &error))
    {
      fprintf (stderr, "pulmo model export: %s\n", error->message);
      return 1;
    }
  return 0;
}

static int
import_model (const char *in, const char *out)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;
  gsize size = 0;
  g_autofree char *display = g_filename_display_name (in);
  g_auto (PulmoModelInfo) info = { 0 };
  g_autoptr (PulmoUNet) net = NULL;
  if (g_file_get_contents (in, &data, &size, &error))
    net = pulmo_safetensors_to_unet ((const guint8 *) data, size, display, &info, &error);
  if (net == NULL || !pulmo_weights_save (out, net, &info, &error))
    {
      fprintf (stderr, "pulmo model import: %s\n", error->message);
      return 1;
    }
  return 0;
}

static int
list_models (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries = pulmo_model_history (&error);
  if (entries == NULL)
    {
      fprintf (stderr, "pulmo model list: %s\n", error->message);
      return 1;
    }
  for (guint e = 0; e < entries->len; e++)
    {
      PulmoModelEntry *entry = g_ptr_array_index (entries, e);
      printf ("%c %u  %s  %s\n     %s\n", entry->in_use ? '*' : ' ', e, entry->identity,
              entry->installed ? entry->installed : "shipped", entry->note ? entry->note : entry->path);
    }
  return 0;
}

int
pulmo_cmd_model (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  if (argc == 2 && strcmp (argv[1], "list") == 0)
    return list_models ();
  if (argc == 3 && strcmp (argv[1], "use") == 0)
    {
      gint64 index;
      if (!g_ascii_string_to_signed (argv[2], 10, 0, G_MAXINT, &index, &error)
          || !pulmo_model_use ((int) index, &error))
        {
          fprintf (stderr, "pulmo model use: %s\n", error->message);
          return 1;
        }
      return list_models ();
    }
  if ((argc == 3 || argc == 4) && strcmp (argv[1], "install") == 0)
    {
      if (pulmo_model_install (argv[2], argc == 4 ? argv[3] : NULL, &error) < 0)
        {
          fprintf (stderr, "pulmo model install: %s\n", error->message);
          return 1;
        }
      return list_models ();
    }
  if (argc != 4)
    return usage ();
  if (strcmp (argv[1], "export") == 0)
    return export_model (argv[2], argv[3]);
  if (strcmp (argv[1], "import") == 0)
    return import_model (argv[2], argv[3]);
  return usage ();
}
