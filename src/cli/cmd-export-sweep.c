/* `pulmo export-sweep CT -o OUT`: a view's slices with their labels and slab as
 * an animated PNG or a numbered PNG series (render/sweep-export.c), for slides
 * and teaching scripts. */
#include "cli/pulmo-cli.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>

#include "core/pulmo-label-map.h"
#include "render/sweep-export.h"
#include "render/window-level.h"

static gboolean
view_from_name (const char *name, PulmoViewAxis *view)
{
  for (int v = 0; v < PULMO_N_VIEWS; v++)
    if (g_ascii_strcasecmp (name, pulmo_view_axis_name (v)) == 0)
      {
        *view = v;
        return TRUE;
      }
  return FALSE;
}

int
pulmo_cmd_export_sweep (int argc, char **argv)
{
  g_autofree char *output = NULL, *labels_path = NULL, *view_name = NULL, *slab_name = NULL;
  g_autofree char *preset_name = NULL, *format_name = NULL;
  double slab_mm = 10.0, window = 0.0, level = 0.0, fps = 8.0, pixels_per_mm = 0.0, opacity = 0.5;
  int from = 0, to = 0;
  gboolean outline = FALSE;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("the APNG, or the series' name (OUT-001.png, …)"), N_("OUT") },
    { "view", 'v', 0, G_OPTION_ARG_STRING, &view_name, N_("axial (default), coronal or sagittal"), N_("VIEW") },
    { "labels", 'l', 0, G_OPTION_ARG_FILENAME, &labels_path, N_("label map drawn over the CT"), N_("FILE") },
    { "outline", 0, 0, G_OPTION_ARG_NONE, &outline, N_("draw the labels' outlines, not filled"), NULL },
    { "opacity", 0, 0, G_OPTION_ARG_DOUBLE, &opacity, N_("label opacity, 0 to 1 (default 0.5)"), N_("A") },
    { "slab", 's', 0, G_OPTION_ARG_STRING, &slab_name, N_("none (default), minip, mip or mean"), N_("MODE") },
    { "slab-mm", 0, 0, G_OPTION_ARG_DOUBLE, &slab_mm, N_("slab thickness in mm (default 10)"), N_("MM") },
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset_name, N_("window: lung, mediastinum, bone or soft-tissue"), N_("NAME") },
    { "window", 'w', 0, G_OPTION_ARG_DOUBLE, &window, N_("window width (with --level)"), N_("W") },
    { "level", 'L', 0, G_OPTION_ARG_DOUBLE, &level, N_("window level"), N_("L") },
    { "from", 0, 0, G_OPTION_ARG_INT, &from, N_("first slice, from 1 (default the first)"), N_("N") },
    { "to", 0, 0, G_OPTION_ARG_INT, &to, N_("last slice (default the last)"), N_("N") },
    { "fps", 0, 0, G_OPTION_ARG_DOUBLE, &fps, N_("frames a second of the APNG (default 8)"), N_("FPS") },
    { "scale", 0, 0, G_OPTION_ARG_DOUBLE, &pixels_per_mm, N_("pixels per mm (default one pixel per voxel across)"), N_("PX") },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format_name, N_("apng (default) or png (a numbered series)"), N_("FORMAT") },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (N_("CT - write a view's slices as an animated PNG or a PNG series"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "pulmo export-sweep: %s\n", error->message);
      return 2;
    }
  if (argc != 2 || output == NULL)
    {
      fprintf (stderr, _("pulmo export-sweep: give a CT and -o OUT (see --help)\n"));
      return 2;
    }
  PulmoSweepOptions options = { .view = PULMO_VIEW_AXIAL, .first = from - 1, .last = to - 1, .fps = fps,
                                .pixels_per_mm = pixels_per_mm, .format = PULMO_SWEEP_APNG };
  if (view_name != NULL && !view_from_name (view_name, &options.view))
    {
      fprintf (stderr, _("pulmo export-sweep: unknown view “%s” (axial, coronal, sagittal)\n"), view_name);
      return 2;
    }
  if (slab_name != NULL && !pulmo_slab_mode_from_name (slab_name, &options.render.slab_mode))
    {
      fprintf (stderr, _("pulmo export-sweep: unknown slab “%s” (none, minip, mip, mean)\n"), slab_name);
      return 2;
    }
  if (format_name != NULL && g_strcmp0 (format_name, "apng") != 0 && g_strcmp0 (format_name, "png") != 0)
    {
      fprintf (stderr, _("pulmo export-sweep: unknown format “%s” (apng, png)\n"), format_name);
      return 2;
    }
  if (g_strcmp0 (format_name, "png") == 0)
    options.format = PULMO_SWEEP_PNG_SERIES;
  const PulmoWindowPreset *preset = preset_name != NULL ? pulmo_window_preset_find (preset_name) : NULL;
  if (preset_name != NULL && preset == NULL)
    {
      fprintf (stderr, _("pulmo export-sweep: unknown preset “%s” (lung, mediastinum, bone, soft-tissue)\n"),
               preset_name);
      return 2;
    }
  if (!(slab_mm >= 1.0 && slab_mm <= PULMO_SLAB_MAX_MM) || !(opacity >= 0.0 && opacity <= 1.0))
    {
      fprintf (stderr, _("pulmo export-sweep: --slab-mm takes 1 to %g mm and --opacity 0 to 1\n"),
               PULMO_SLAB_MAX_MM);
      return 2;
    }

  g_autoptr (PulmoVolume) ct = pulmo_volume_load (argv[1], NULL, NULL, &error);
  g_autoptr (PulmoLabelMap) labels = ct != NULL && labels_path != NULL
                                       ? pulmo_label_map_load (ct, labels_path, NULL, NULL, &error)
                                       : NULL;
  if (error == NULL)
    {
      pulmo_window_default (ct, &options.render.window, &options.render.level);
      if (preset != NULL)
        {
          options.render.window = preset->window;
          options.render.level = preset->level;
        }
      if (window > 0)
        {
          options.render.window = window;
          options.render.level = level;
        }
      options.render.slab_mm = slab_mm;
      options.render.opacity = opacity;
      options.render.overlay_mode = outline ? PULMO_OVERLAY_OUTLINE : PULMO_OVERLAY_FILL;
      if (labels != NULL)
        {
          options.render.labels = pulmo_label_map_get_data (labels);
          options.render.table = pulmo_label_map_get_table (labels);
        }
      pulmo_sweep_export (ct, &options, output, &error);
    }
  if (error != NULL)
    {
      fprintf (stderr, "pulmo export-sweep: %s\n", error->message);
      return 1;
    }
  int width, height;
  pulmo_sweep_frame_size (ct, &options, &width, &height);
  /* Translators: the output, then the view's English name and the frame size. */
  printf (_("%s: %s sweep, frames of %d×%d\n"), output, pulmo_view_axis_name (options.view), width, height);
  return 0;
}
