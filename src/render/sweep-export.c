#include "render/sweep-export.h"

#include <cairo.h>
#include <glib/gi18n-lib.h>
#include <math.h>

#include "core/pulmo-error.h"

static void
view_reslice (PulmoVolume *ct, PulmoViewAxis view, PulmoReslice *reslice)
{
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  pulmo_reslice_init (reslice, view, pulmo_volume_get_affine (ct), dims);
}

void
pulmo_sweep_frame_size (PulmoVolume *ct, const PulmoSweepOptions *options, int *width, int *height)
{
  PulmoReslice r;
  view_reslice (ct, options->view, &r);
  double per_mm = options->pixels_per_mm > 0 ? options->pixels_per_mm : 1.0 / r.u_spacing_mm;
  *width = (int) MAX (lround (r.width * r.u_spacing_mm * per_mm), 1);
  *height = (int) MAX (lround (r.height * r.v_spacing_mm * per_mm), 1);
}

gboolean
pulmo_sweep_export (PulmoVolume *ct, const PulmoSweepOptions *options, const char *path, GError **error)
{
  PulmoReslice r;
  view_reslice (ct, options->view, &r);
  int first = options->first < 0 ? 0 : options->first;
  int last = options->last < 0 ? r.n_slices - 1 : options->last;
  if (first > last || last >= r.n_slices)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                   /* Translators: the slices asked for, then the view's count. */
                   _("Slices %d to %d are not in the view, which has slices 1 to %d"), first + 1, last + 1,
                   r.n_slices);
      return FALSE;
    }
  int width, height;
  pulmo_sweep_frame_size (ct, options, &width, &height);
  g_autoptr (PulmoSweepWriter) writer
    = pulmo_sweep_writer_new (path, options->format, width, height, last - first + 1, options->fps, error);
  if (writer == NULL)
    return FALSE;

  g_autoptr (PulmoSliceRenderer) renderer = pulmo_slice_renderer_new ();
  cairo_surface_t *slice = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, r.width, r.height);
  cairo_surface_t *frame = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
  gboolean written = cairo_surface_status (slice) == CAIRO_STATUS_SUCCESS
                     && cairo_surface_status (frame) == CAIRO_STATUS_SUCCESS;
  if (!written)
    g_set_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE, _("Not enough memory for %d×%d frames"), width,
                 height);
  for (int s = first; written && s <= last; s++)
    {
      cairo_surface_flush (slice);
      pulmo_slice_renderer_render (renderer, ct, &r, s, &options->render,
                                   (uint32_t *) cairo_image_surface_get_data (slice),
                                   cairo_image_surface_get_stride (slice));
      cairo_surface_mark_dirty (slice);
      /* Voxels keep their true shape: anisotropic slices are stretched, not squashed. */
      cairo_t *cr = cairo_create (frame);
      cairo_scale (cr, (double) width / r.width, (double) height / r.height);
      cairo_set_source_surface (cr, slice, 0, 0);
      cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_GOOD);
      cairo_pattern_set_extend (cairo_get_source (cr), CAIRO_EXTEND_PAD);
      cairo_paint (cr);
      cairo_destroy (cr);
      cairo_surface_flush (frame);
      written = pulmo_sweep_writer_add (writer, (const uint32_t *) cairo_image_surface_get_data (frame),
                                        cairo_image_surface_get_stride (frame), error);
    }
  cairo_surface_destroy (slice);
  cairo_surface_destroy (frame);
  return written && pulmo_sweep_writer_finish (g_steal_pointer (&writer), error);
}
