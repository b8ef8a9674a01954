/* `pulmo info FILE…`: what a radiologist or engineer wants to know of a CT file
 * before opening it. */
#include "cli/pulmo-cli.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>

#include "core/pulmo-volume.h"

static void
print_volume (const char *path, PulmoVolume *volume)
{
  int dims[3];
  double min, max;
  const double *spacing = pulmo_volume_get_spacing (volume);

  pulmo_volume_get_dims (volume, dims);
  pulmo_volume_get_range (volume, &min, &max);
  printf ("%s\n", path);
  printf (_("  dimensions   %d × %d × %d voxels\n"), dims[0], dims[1], dims[2]);
  printf (_("  spacing      %.4g × %.4g × %.4g mm\n"), spacing[0], spacing[1], spacing[2]);
  if (pulmo_volume_orientation_known (volume))
    printf (_("  orientation  %s (the direction each voxel axis runs toward)\n"),
            pulmo_volume_get_orientation (volume));
  else
    printf (_("  orientation  %s, assumed: the file gives none, so left and right may be swapped\n"),
            pulmo_volume_get_orientation (volume));
  printf (_("  datatype     %s in the file, stored as %s\n"), pulmo_volume_get_source_datatype (volume),
          pulmo_volume_get_voxel_type (volume) == PULMO_VOXEL_INT16 ? "int16" : "float32");
  printf (_("  intensities  %g to %g: %s\n"), min, max,
          pulmo_intensity_kind_describe (pulmo_volume_get_intensity_kind (volume)));
  printf (_("  memory       %.1f MiB\n"), pulmo_volume_get_memory_bytes (volume) / (1024.0 * 1024.0));
  if (pulmo_volume_get_warning (volume) != NULL)
    printf (_("  warning      %s\n"), pulmo_volume_get_warning (volume));
}

int
pulmo_cmd_info (int argc, char **argv)
{
  if (argc < 2 || g_strcmp0 (argv[1], "--help") == 0)
    {
      fprintf (argc < 2 ? stderr : stdout, _("Usage: pulmo info FILE…\n"
               "Prints dimensions, spacing, orientation, datatype, intensity range (and whether it\n"
               "looks like Hounsfield units) and the memory each CT volume takes.\n"));
      return argc < 2 ? 2 : 0;
    }

  int status = 0;
  for (int a = 1; a < argc; a++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (PulmoVolume) volume = pulmo_volume_load (argv[a], NULL, NULL, &error);
      if (volume == NULL)
        {
          fprintf (stderr, "pulmo info: %s\n", error->message);
          status = 1;
          continue;
        }
      print_volume (argv[a], volume);
    }
  return status;
}
