#include "app/pulmo-slice-view-private.h"

#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>

#include "app/pulmo-accessible.h"
#include "core/pulmo-error.h"
#include "edit/fill.h"
#include "render/sweep-writer.h"

struct _PulmoSliceView {
  GtkWidget parent_instance;

  PulmoViewState *state;
  PulmoViewAxis axis;
  PulmoReslice reslice;          /* valid while the state has a volume */
  int next_sign;                 /* voxel step toward S, A or R: the "next" slice */
  /* The crosshair's vertical line is the plane of the view slicing along u, its
   * horizontal line that of the view slicing along v; each takes that view's colour. */
  PulmoViewAxis vertical_line_view, horizontal_line_view;

  PulmoSliceRenderer *renderer;
  cairo_surface_t *image;        /* the rendered slice, voxel resolution */
  cairo_surface_t *overlay;      /* with smooth display: the labels alone, drawn sharp over it */
  gboolean has_overlay;          /* @overlay is current and shown */
  int image_slice;               /* the slice it shows */
  int named_slice;               /* the slice the accessible label names; -2 before the first */
  gboolean image_dirty;          /* window, overlay or volume changed since */

  double zoom;                   /* 1 = the slice fits the view */
  double pan_x, pan_y;           /* widget pixels from centred */
  double scroll_rest;            /* fraction of a slice left over from smooth scrolling */
  double pointer_x, pointer_y;   /* last pointer position, the centre of Ctrl+wheel zoom */
  gboolean pointer_inside;

  /* Drag state: where it started and what it changes. */
  double drag_x, drag_y;
  double drag_pan_x, drag_pan_y, drag_window, drag_level;

  gboolean has_ruler;
  double ruler[4];               /* u0, v0, u1, v1 in voxel units of the ruler's slice */
  int ruler_slice;

  PulmoEditState *edit;          /* NULL: the view only reads */
  gboolean picking;              /* this press was a Ctrl+click: the drag does nothing */
  PulmoStroke *stroke;           /* the brush stroke being dragged */
  /* The polygon or lasso being drawn on @shape_slice: (u, v) pairs in edit
   * coordinates (voxel centres at integers); NULL when none. */
  GArray *shape;
  int shape_slice;
  double shape_last_x, shape_last_y; /* widget position of the lasso's last point */

  guint cine_source;             /* while playing: the timeout that steps a slice */
  int frame_slice;               /* while a sweep draws a frame: its slice, else -1 */
};

G_DEFINE_FINAL_TYPE (PulmoSliceView, pulmo_slice_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_STATE,
  PROP_AXIS,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

/* Each view's colour, as in 3D Slicer: axial red, coronal green, sagittal yellow.
 * A crosshair line takes the colour of the view whose plane it is. */
static const double view_colours[PULMO_N_VIEWS][3] = {
  { 0.95, 0.33, 0.30 },
  { 0.43, 0.78, 0.35 },
  { 0.93, 0.84, 0.30 },
};

/* Each view's title in its heading; pulmo_view_axis_name() stays English for action targets and
 * file names. */
static const char *const view_titles[PULMO_N_VIEWS] = {
  [PULMO_VIEW_AXIAL] = N_("Axial"),
  [PULMO_VIEW_CORONAL] = N_("Coronal"),
  [PULMO_VIEW_SAGITTAL] = N_("Sagittal"),
};

static gboolean
has_volume (PulmoSliceView *self)
{
  return self->state != NULL && pulmo_view_state_get_volume (self->state) != NULL;
}

/* Pixels per voxel along u and v, and the widget position of the image's corner.
 * Voxels keep their true shape: one millimetre is as long across as down. */
static void
view_transform (PulmoSliceView *self, double width, double height, double *scale_u, double *scale_v,
                double *origin_x, double *origin_y)
{
  const PulmoReslice *r = &self->reslice;
  double width_mm = r->width * r->u_spacing_mm, height_mm = r->height * r->v_spacing_mm;
  double pixels_per_mm = MIN (width / width_mm, height / height_mm) * self->zoom;
  *scale_u = pixels_per_mm * r->u_spacing_mm;
  *scale_v = pixels_per_mm * r->v_spacing_mm;
  *origin_x = width / 2.0 + self->pan_x - r->width * *scale_u / 2.0;
  *origin_y = height / 2.0 + self->pan_y - r->height * *scale_v / 2.0;
}

static void
widget_to_display (PulmoSliceView *self, double x, double y, double *u, double *v)
{
  double su, sv, ox, oy;
  view_transform (self, gtk_widget_get_width (GTK_WIDGET (self)),
                  gtk_widget_get_height (GTK_WIDGET (self)), &su, &sv, &ox, &oy);
  *u = (x - ox) / su;
  *v = (y - oy) / sv;
}

/* The display point under widget point (@x, @y) as src/edit takes it: voxel
 * centres at integers, where the view's display coordinates put them at +0.5. */
static void
widget_to_edit_point (PulmoSliceView *self, double x, double y, double *u, double *v)
{
  widget_to_display (self, x, y, u, v);
  *u -= 0.5;
  *v -= 0.5;
}

int
pulmo_slice_view_get_slice (PulmoSliceView *self)
{
  if (!has_volume (self))
    return -1;
  if (self->frame_slice >= 0)
    return self->frame_slice;
  int cursor[3];
  pulmo_view_state_get_cursor (self->state, cursor);
  return cursor[self->reslice.slice_axis];
}

PulmoViewAxis
pulmo_slice_view_get_axis (PulmoSliceView *self)
{
  return self->axis;
}

void
pulmo_slice_view_get_edge_letters (PulmoSliceView *self, const char *edges[4])
{
  pulmo_view_edge_letters (self->axis, edges);
}

void
pulmo_slice_view_voxel_to_widget (PulmoSliceView *self, const int ijk[3], double *x, double *y)
{
  double su, sv, ox, oy;
  int u, v, slice;
  view_transform (self, gtk_widget_get_width (GTK_WIDGET (self)),
                  gtk_widget_get_height (GTK_WIDGET (self)), &su, &sv, &ox, &oy);
  pulmo_reslice_from_voxel (&self->reslice, ijk, &u, &v, &slice);
  *x = ox + (u + 0.5) * su;
  *y = oy + (v + 0.5) * sv;
}

gboolean
pulmo_slice_view_widget_to_voxel (PulmoSliceView *self, double x, double y, int ijk[3])
{
  if (!has_volume (self))
    return FALSE;
  double u, v;
  widget_to_display (self, x, y, &u, &v);
  if (u < 0 || v < 0 || u >= self->reslice.width || v >= self->reslice.height)
    return FALSE;
  pulmo_reslice_to_voxel (&self->reslice, (int) u, (int) v, pulmo_slice_view_get_slice (self), ijk);
  return TRUE;
}

void
pulmo_slice_view_reset (PulmoSliceView *self)
{
  self->zoom = 1.0;
  self->pan_x = self->pan_y = 0.0;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Rendering ---------------------------------------------------------------- */

static void
render_into (PulmoSliceView *self, cairo_surface_t *surface, int slice, const PulmoRenderParams *params)
{
  cairo_surface_flush (surface);
  pulmo_slice_renderer_render (self->renderer, pulmo_view_state_get_volume (self->state), &self->reslice,
                               slice, params, (uint32_t *) cairo_image_surface_get_data (surface),
                               cairo_image_surface_get_stride (surface));
  cairo_surface_mark_dirty (surface);
}

/* With smooth display the grey image and the labels are two images, so that
 * scaling blurs the grey but never a label's edge. */
static void
update_images (PulmoSliceView *self)
{
  const PulmoReslice *r = &self->reslice;
  int slice = pulmo_slice_view_get_slice (self);
  if (self->image != NULL && !self->image_dirty && self->image_slice == slice)
    return;
  if (self->image == NULL)
    self->image = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, r->width, r->height);
  PulmoRenderParams params;
  pulmo_view_state_get_render_params (self->state, &params);
  self->has_overlay = pulmo_view_state_get_smooth (self->state) && params.labels != NULL;
  if (self->has_overlay)
    {
      PulmoRenderParams grey = params;
      grey.labels = NULL;
      render_into (self, self->image, slice, &grey);
      if (self->overlay == NULL)
        self->overlay = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, r->width, r->height);
      params.overlay_alone = TRUE;
      render_into (self, self->overlay, slice, &params);
    }
  else
    render_into (self, self->image, slice, &params);
  self->image_slice = slice;
  self->image_dirty = FALSE;
}

cairo_surface_t *
pulmo_slice_view_get_image (PulmoSliceView *self)
{
  if (!has_volume (self))
    return NULL;
  update_images (self);
  return self->image;
}

cairo_surface_t *
pulmo_slice_view_get_overlay_image (PulmoSliceView *self)
{
  if (!has_volume (self))
    return NULL;
  update_images (self);
  return self->has_overlay ? self->overlay : NULL;
}

static void
show_text (cairo_t *cr, PangoLayout *layout, const char *text, double x, double y, double align_x,
           double align_y, const double rgb[3])
{
  int text_width, text_height;
  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &text_width, &text_height);
  x -= align_x * text_width;
  y -= align_y * text_height;
  /* A translucent dark plate keeps text legible over bone, contrast and overlays. */
  const double pad = 3.0, radius = 3.0;
  double left = x - pad, top = y - pad / 2, right = x + text_width + pad, bottom = y + text_height + pad / 2;
  cairo_new_sub_path (cr);
  cairo_arc (cr, right - radius, top + radius, radius, -G_PI / 2, 0);
  cairo_arc (cr, right - radius, bottom - radius, radius, 0, G_PI / 2);
  cairo_arc (cr, left + radius, bottom - radius, radius, G_PI / 2, G_PI);
  cairo_arc (cr, left + radius, top + radius, radius, G_PI, 3 * G_PI / 2);
  cairo_close_path (cr);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.55);
  cairo_fill (cr);
  cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
}

static void
draw_crosshair (PulmoSliceView *self, cairo_t *cr, double width, double height)
{
  int cursor[3], u, v, slice;
  double su, sv, ox, oy;
  pulmo_view_state_get_cursor (self->state, cursor);
  pulmo_reslice_from_voxel (&self->reslice, cursor, &u, &v, &slice);
  view_transform (self, width, height, &su, &sv, &ox, &oy);
  double x = floor (ox + (u + 0.5) * su) + 0.5, y = floor (oy + (v + 0.5) * sv) + 0.5;

  const double gap = 10.0; /* leave the voxel under the crosshair visible */
  cairo_set_line_width (cr, 1.0);
  const double *c = view_colours[self->vertical_line_view];
  cairo_set_source_rgba (cr, c[0], c[1], c[2], 0.75);
  cairo_move_to (cr, x, 0);
  cairo_line_to (cr, x, y - gap);
  cairo_move_to (cr, x, y + gap);
  cairo_line_to (cr, x, height);
  cairo_stroke (cr);
  c = view_colours[self->horizontal_line_view];
  cairo_set_source_rgba (cr, c[0], c[1], c[2], 0.75);
  cairo_move_to (cr, 0, y);
  cairo_line_to (cr, x - gap, y);
  cairo_move_to (cr, x + gap, y);
  cairo_line_to (cr, width, y);
  cairo_stroke (cr);
}

double
_pulmo_slice_view_get_ruler_mm (PulmoSliceView *self)
{
  if (!self->has_ruler || self->ruler_slice != pulmo_slice_view_get_slice (self))
    return -1.0;
  double du = (self->ruler[2] - self->ruler[0]) * self->reslice.u_spacing_mm;
  double dv = (self->ruler[3] - self->ruler[1]) * self->reslice.v_spacing_mm;
  return sqrt (du * du + dv * dv);
}

static void
draw_ruler (PulmoSliceView *self, cairo_t *cr, PangoLayout *layout, double width, double height)
{
  double length_mm = _pulmo_slice_view_get_ruler_mm (self);
  if (length_mm < 0)
    return;
  double su, sv, ox, oy;
  view_transform (self, width, height, &su, &sv, &ox, &oy);
  double x0 = ox + self->ruler[0] * su, y0 = oy + self->ruler[1] * sv;
  double x1 = ox + self->ruler[2] * su, y1 = oy + self->ruler[3] * sv;
  static const double ruler_rgb[3] = { 0.35, 0.85, 1.0 };

  cairo_set_line_width (cr, 1.5);
  cairo_set_source_rgb (cr, ruler_rgb[0], ruler_rgb[1], ruler_rgb[2]);
  cairo_move_to (cr, x0, y0);
  cairo_line_to (cr, x1, y1);
  cairo_stroke (cr);
  for (int end = 0; end < 2; end++)
    {
      cairo_arc (cr, end ? x1 : x0, end ? y1 : y0, 2.5, 0, 2 * G_PI);
      cairo_fill (cr);
    }
  /* Translators: the ruler's length in millimetres. */
  g_autofree char *text = g_strdup_printf (_("%.1f mm"), length_mm);
  show_text (cr, layout, text, (x0 + x1) / 2 + 8, (y0 + y1) / 2, 0.0, 1.0, ruler_rgb);
}

static void
draw_text (PulmoSliceView *self, cairo_t *cr, PangoLayout *layout, double width, double height)
{
  static const double white[3] = { 0.92, 0.92, 0.92 };
  static const double letter_rgb[3] = { 1.0, 0.86, 0.45 };
  const double margin = 6.0;
  PulmoVolume *volume = pulmo_view_state_get_volume (self->state);

  /* Top left: which view, which slice, and where it lies in the patient. */
  int cursor[3];
  double world[3], voxel[3];
  pulmo_view_state_get_cursor (self->state, cursor);
  for (int a = 0; a < 3; a++)
    voxel[a] = cursor[a];
  pulmo_affine_apply (pulmo_volume_get_affine (volume), voxel, world);
  static const char *normal_names[PULMO_N_VIEWS] = { "z", "y", "x" };
  static const int normal_world_axis[PULMO_N_VIEWS] = { 2, 1, 0 };
  /* Translators: a view's heading in two lines: the view ("Axial"), the slice shown and the number
   * of slices; then the world axis normal to the slice (x, y or z) and the slice's position on it
   * in millimetres, e.g. "Axial  41 / 80\nz -200.8 mm". */
  g_autofree char *heading = g_strdup_printf (_("%s  %d / %d\n%s %.1f mm"), _(view_titles[self->axis]),
                                              pulmo_slice_view_get_slice (self) + 1,
                                              self->reslice.n_slices, normal_names[self->axis],
                                              world[normal_world_axis[self->axis]]);
  show_text (cr, layout, heading, margin, margin, 0, 0, view_colours[self->axis]);

  /* Translators: W is the display window's width and L its level (centre), as radiologists
   * abbreviate them. */
  g_autofree char *wl = g_strdup_printf (_("W %.0f  L %.0f"), pulmo_view_state_get_window (self->state),
                                         pulmo_view_state_get_level (self->state));
  show_text (cr, layout, wl, margin, height - margin, 0, 1, white);

  /* Top right: a slab's kind and thickness, so that a MinIP is never read as a slice. */
  PulmoSlabMode slab = pulmo_view_state_get_slab_mode (self->state);
  if (slab != PULMO_SLAB_NONE)
    {
      int first, last;
      pulmo_slab_range (&self->reslice, pulmo_slice_view_get_slice (self),
                        pulmo_view_state_get_slab_mm (self->state), &first, &last);
      /* Translators: a thick slab on a view: its projection ("MinIP"), its thickness in mm, and
       * the number of slices it covers, e.g. "MinIP 10 mm\n5 slices". */
      g_autofree char *text = g_strdup_printf (ngettext ("%s %.0f mm\n%d slice", "%s %.0f mm\n%d slices",
                                                         last - first + 1),
                                               _(pulmo_slab_mode_get_label (slab)),
                                               pulmo_view_state_get_slab_mm (self->state), last - first + 1);
      pango_layout_set_alignment (layout, PANGO_ALIGN_RIGHT);
      show_text (cr, layout, text, width - margin, margin, 1, 0, letter_rgb);
      pango_layout_set_alignment (layout, PANGO_ALIGN_LEFT);
    }
  if (self->cine_source != 0)
    {
      /* Translators: shown while a view plays through its slices; %.0f is the speed. */
      g_autofree char *text = g_strdup_printf (_("Cine %.0f slices/s"), pulmo_view_state_get_cine_fps (self->state));
      show_text (cr, layout, text, width - margin, height - margin, 1, 1, white);
    }

  /* Orientation letters at the middle of each edge, where the patient lies. */
  const char *edges[4];
  pulmo_view_edge_letters (self->axis, edges);
  PangoFontDescription *bold = pango_font_description_copy (pango_layout_get_font_description (layout)
                                                            ? pango_layout_get_font_description (layout)
                                                            : pango_context_get_font_description (
                                                                pango_layout_get_context (layout)));
  pango_font_description_set_weight (bold, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description (layout, bold);
  show_text (cr, layout, edges[0], margin, height / 2, 0, 0.5, letter_rgb);
  show_text (cr, layout, edges[1], width - margin, height / 2, 1, 0.5, letter_rgb);
  show_text (cr, layout, edges[2], width / 2, margin, 0.5, 0, letter_rgb);
  show_text (cr, layout, edges[3], width / 2, height - margin, 0.5, 1, letter_rgb);
  pango_font_description_free (bold);
}

/* Draws the view at @width × @height widget pixels, each @device_scale pixels of the target across. */
static void
draw_view (PulmoSliceView *self, cairo_t *cr, double width, double height, int device_scale)
{
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_paint (cr);
  if (!has_volume (self))
    return;

  double su, sv, ox, oy;
  view_transform (self, width, height, &su, &sv, &ox, &oy);
  cairo_save (cr);
  cairo_rectangle (cr, ox, oy, self->reslice.width * su, self->reslice.height * sv);
  cairo_clip (cr);
  cairo_translate (cr, ox, oy);
  cairo_scale (cr, su, sv);
  /* Magnified, nearest neighbour shows each voxel as a block (ITK-SNAP's default)
   * and bilinear scaling reads like a PACS; shrunk, a filtered image avoids
   * dropping whole rows of voxels. Labels are never blurred. Magnified means
   * on the screen's pixels: at scale 2 a voxel may span less than a widget
   * pixel but more than a screen pixel. (The context is a recording, replayed
   * at the screen's scale later, so it cannot tell.) */
  gboolean magnified = MIN (su, sv) * device_scale >= 1.0;
  cairo_filter_t sharp = magnified ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD;
  cairo_set_source_surface (cr, pulmo_slice_view_get_image (self), 0, 0);
  cairo_pattern_set_extend (cairo_get_source (cr), CAIRO_EXTEND_PAD);
  gboolean smooth = pulmo_view_state_get_smooth (self->state);
  cairo_pattern_set_filter (cairo_get_source (cr), smooth && magnified ? CAIRO_FILTER_BILINEAR : sharp);
  cairo_paint (cr);
  if (self->has_overlay)
    {
      cairo_set_source_surface (cr, self->overlay, 0, 0);
      cairo_pattern_set_filter (cairo_get_source (cr), sharp);
      cairo_paint (cr);
    }
  cairo_restore (cr);

  draw_crosshair (self, cr, width, height);

  PangoLayout *layout = pango_cairo_create_layout (cr);
  PangoContext *widget_context = gtk_widget_get_pango_context (GTK_WIDGET (self));
  pango_layout_set_font_description (layout, pango_context_get_font_description (widget_context));
  draw_ruler (self, cr, layout, width, height);
  draw_text (self, cr, layout, width, height);
  g_object_unref (layout);
}

static gboolean
tool_is_brush (PulmoSliceView *self)
{
  if (self->edit == NULL || self->state == NULL)
    return FALSE;
  PulmoTool tool = pulmo_view_state_get_tool (self->state);
  return tool == PULMO_TOOL_BRUSH || tool == PULMO_TOOL_ERASER;
}

/* The active label's colour; white for the eraser or without labels. */
static void
active_label_rgb (PulmoSliceView *self, double rgb[3])
{
  PulmoLabelMap *labels = pulmo_view_state_get_labels (self->state);
  const PulmoLabel *label = NULL;
  if (labels != NULL && pulmo_view_state_get_tool (self->state) != PULMO_TOOL_ERASER)
    label = pulmo_label_table_get (pulmo_label_map_get_table (labels), pulmo_edit_state_get_active_label (self->edit));
  for (int c = 0; c < 3; c++)
    rgb[c] = label != NULL && label->defined ? label->rgba[c] / 255.0 : 1.0;
}

/* A light line on a dark one, legible on any grey. */
static void
stroke_outline (cairo_t *cr, const double rgb[3])
{
  cairo_set_source_rgba (cr, 0, 0, 0, 0.6);
  cairo_set_line_width (cr, 3.0);
  cairo_stroke_preserve (cr);
  cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
  cairo_set_line_width (cr, 1.5);
  cairo_stroke (cr);
}

/* The brush's footprint under the pointer, centred on the voxel a stroke would
 * start from, at its true size in mm. */
static void
draw_brush_outline (PulmoSliceView *self, cairo_t *cr, double width, double height)
{
  double su, sv, ox, oy, u, v, half_u, half_v, half_slices, rgb[3];
  PulmoBrush brush;
  pulmo_edit_state_get_brush (self->edit, &brush);
  pulmo_brush_half_extent (&brush, &self->reslice, &half_u, &half_v, &half_slices);
  view_transform (self, width, height, &su, &sv, &ox, &oy);
  widget_to_edit_point (self, self->pointer_x, self->pointer_y, &u, &v);
  double x = ox + (floor (u + 0.5) + 0.5) * su, y = oy + (floor (v + 0.5) + 0.5) * sv;
  double radius_x = MAX (half_u * su, 1.0), radius_y = MAX (half_v * sv, 1.0);
  cairo_new_path (cr); /* the text left a current point: no line from it */
  if (brush.shape == PULMO_BRUSH_ROUND)
    {
      cairo_save (cr);
      cairo_translate (cr, x, y);
      cairo_scale (cr, radius_x, radius_y);
      cairo_arc (cr, 0, 0, 1.0, 0, 2 * G_PI);
      cairo_restore (cr);
    }
  else
    cairo_rectangle (cr, x - radius_x, y - radius_y, 2 * radius_x, 2 * radius_y);
  active_label_rgb (self, rgb);
  stroke_outline (cr, rgb);
}

static void
draw_shape (PulmoSliceView *self, cairo_t *cr, double width, double height)
{
  double su, sv, ox, oy, rgb[3];
  view_transform (self, width, height, &su, &sv, &ox, &oy);
  const double *uv = (const double *) self->shape->data;
  cairo_new_path (cr);
  for (guint p = 0; p < self->shape->len / 2; p++)
    cairo_line_to (cr, ox + (uv[2 * p] + 0.5) * su, oy + (uv[2 * p + 1] + 0.5) * sv);
  /* A polygon's last edge follows the pointer until it is closed. */
  if (pulmo_view_state_get_tool (self->state) == PULMO_TOOL_POLYGON && self->pointer_inside)
    cairo_line_to (cr, self->pointer_x, self->pointer_y);
  active_label_rgb (self, rgb);
  stroke_outline (cr, rgb);
}

/* With PULMO_REPORT_FIRST_IMAGE in the environment (`pulmo bench load`), the
 * app prints the monotonic clock once the first CT slice is on screen, and quits. */
static gboolean report_first_image;

static void
first_image_painted (GdkFrameClock *clock, gpointer data)
{
  g_signal_handlers_disconnect_by_func (clock, first_image_painted, data);
  printf ("first-image %" G_GINT64_FORMAT "\n", g_get_monotonic_time ());
  fflush (stdout);
  g_application_quit (g_application_get_default ());
}

static void
pulmo_slice_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  PulmoSliceView *self = PULMO_SLICE_VIEW (widget);
  if (report_first_image && has_volume (self))
    {
      report_first_image = FALSE;
      g_signal_connect (gtk_widget_get_frame_clock (widget), "after-paint", G_CALLBACK (first_image_painted), NULL);
    }
  double width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  draw_view (self, cr, width, height, gtk_widget_get_scale_factor (widget));
  /* What the pointer is doing belongs on screen, not in exported images. */
  if (has_volume (self) && self->edit != NULL)
    {
      if (self->shape != NULL && self->shape_slice == pulmo_slice_view_get_slice (self))
        draw_shape (self, cr, width, height);
      if (tool_is_brush (self) && self->pointer_inside)
        draw_brush_outline (self, cr, width, height);
    }
  cairo_destroy (cr);
}

gboolean
pulmo_slice_view_export_png (PulmoSliceView *self, const char *path, int width, int height,
                             GError **error)
{
  g_return_val_if_fail (width > 0 && height > 0, FALSE);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
  cairo_t *cr = cairo_create (surface);
  draw_view (self, cr, width, height, 1);
  cairo_destroy (cr);
  cairo_status_t status = cairo_surface_write_to_png (surface, path);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      /* Translators: a file's path, then cairo's reason in English. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not write %s: %s"), path,
                   cairo_status_to_string (status));
      return FALSE;
    }
  return TRUE;
}

/* A sweep export: the main loop draws the frames (GTK and pango live there),
 * a worker thread deflates and writes them, so the window keeps answering.
 * The queue carries frames (cairo surfaces) and then one of the markers. */
#define SWEEP_END GINT_TO_POINTER (1)
#define SWEEP_ABORT GINT_TO_POINTER (2)
enum { SWEEP_FRAMES_AHEAD = 4 };

typedef struct {
  PulmoSliceView *view;
  PulmoVolume *volume;      /* the CT drawn: another one stops the export */
  PulmoSweepWriter *writer; /* the worker's once it runs */
  GAsyncQueue *frames;
  int width, height, next_slice;
  guint source;
} SweepJob;

static void
sweep_job_free (SweepJob *job)
{
  g_clear_handle_id (&job->source, g_source_remove);
  g_async_queue_unref (job->frames);
  pulmo_volume_unref (job->volume);
  g_object_unref (job->view);
  g_free (job);
}

static void
sweep_write (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  SweepJob *job = data;
  g_autoptr (PulmoSweepWriter) writer = g_steal_pointer (&job->writer);
  g_autoptr (GError) error = NULL;
  for (;;)
    {
      gpointer frame = g_async_queue_pop (job->frames);
      if (frame == SWEEP_ABORT)
        {
          g_task_return_new_error (task, PULMO_ERROR, PULMO_ERROR_CANCELLED,
                                   _("The export stopped: the CT was closed"));
          return;
        }
      if (frame == SWEEP_END)
        break;
      /* After a failure the rest is drained, not written. */
      if (error == NULL)
        pulmo_sweep_writer_add (writer, (const uint32_t *) cairo_image_surface_get_data (frame),
                                cairo_image_surface_get_stride (frame), &error);
      cairo_surface_destroy (frame);
    }
  if (error == NULL && pulmo_sweep_writer_finish (g_steal_pointer (&writer), &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

/* The next frame, drawn as the view is on screen but at the frame's slice. */
static gboolean
sweep_draw_frame (gpointer data)
{
  SweepJob *job = data;
  PulmoSliceView *self = job->view;
  if (self->state == NULL || pulmo_view_state_get_volume (self->state) != job->volume)
    {
      job->source = 0;
      g_async_queue_push (job->frames, SWEEP_ABORT);
      return G_SOURCE_REMOVE;
    }
  /* The worker is behind: wait for it rather than fill memory with frames. */
  if (g_async_queue_length (job->frames) >= SWEEP_FRAMES_AHEAD)
    return G_SOURCE_CONTINUE;
  cairo_surface_t *frame = cairo_image_surface_create (CAIRO_FORMAT_RGB24, job->width, job->height);
  cairo_t *cr = cairo_create (frame);
  self->frame_slice = job->next_slice++;
  draw_view (self, cr, job->width, job->height, 1);
  self->frame_slice = -1;
  cairo_destroy (cr);
  cairo_surface_flush (frame);
  g_async_queue_push (job->frames, frame);
  if (job->next_slice < self->reslice.n_slices)
    return G_SOURCE_CONTINUE;
  job->source = 0;
  g_async_queue_push (job->frames, SWEEP_END);
  return G_SOURCE_REMOVE;
}

void
pulmo_slice_view_export_sweep_async (PulmoSliceView *self, const char *path, PulmoSweepFormat format, int width,
                                     int height, GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (has_volume (self));
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, pulmo_slice_view_export_sweep_async);
  GError *error = NULL;
  PulmoSweepWriter *writer = pulmo_sweep_writer_new (path, format, width, height, self->reslice.n_slices,
                                                     pulmo_view_state_get_cine_fps (self->state), &error);
  if (writer == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  SweepJob *job = g_new0 (SweepJob, 1);
  job->view = g_object_ref (self);
  job->volume = pulmo_volume_ref (pulmo_view_state_get_volume (self->state));
  job->writer = writer;
  job->frames = g_async_queue_new ();
  job->width = width;
  job->height = height;
  g_task_set_task_data (task, job, (GDestroyNotify) sweep_job_free);
  /* A timeout, not an idle: while the worker is behind, the loop sleeps between checks. */
  job->source = g_timeout_add (1, sweep_draw_frame, job);
  g_task_run_in_thread (task, sweep_write);
}

gboolean
pulmo_slice_view_export_sweep_finish (PulmoSliceView *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Cine ---------------------------------------------------------------------- */

/* One slice on, toward the head, the front or the patient's right; past the
 * last it starts again at the first, as a loop on a teaching screen does. */
static gboolean
cine_step (gpointer data)
{
  PulmoSliceView *self = data;
  int cursor[3], axis = self->reslice.slice_axis;
  pulmo_view_state_get_cursor (self->state, cursor);
  cursor[axis] += self->next_sign;
  if (cursor[axis] < 0 || cursor[axis] >= self->reslice.n_slices)
    cursor[axis] = self->next_sign > 0 ? 0 : self->reslice.n_slices - 1;
  pulmo_view_state_set_cursor (self->state, cursor);
  return G_SOURCE_CONTINUE;
}

gboolean
pulmo_slice_view_get_playing (PulmoSliceView *self)
{
  return self->cine_source != 0;
}

void
pulmo_slice_view_set_playing (PulmoSliceView *self, gboolean playing)
{
  g_clear_handle_id (&self->cine_source, g_source_remove);
  if (playing && has_volume (self))
    {
      guint interval_ms = (guint) lround (1000.0 / pulmo_view_state_get_cine_fps (self->state));
      self->cine_source = g_timeout_add (interval_ms, cine_step, self);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* A new speed takes effect at once. */
static void
on_cine_fps_changed (PulmoSliceView *self)
{
  if (self->cine_source != 0)
    pulmo_slice_view_set_playing (self, TRUE);
}

/* State ------------------------------------------------------------------- */

/* Screen readers hear which view this is and the slice it shows, as the heading says it. */
static void
update_accessible_label (PulmoSliceView *self)
{
  int slice = pulmo_slice_view_get_slice (self);
  if (slice == self->named_slice)
    return;
  self->named_slice = slice;
  g_autofree char *label = NULL;
  if (slice < 0)
    /* Translators: a slice view's name for screen readers while no CT is open, e.g. "Axial view". */
    label = g_strdup_printf (_("%s view"), _(view_titles[self->axis]));
  else
    /* Translators: a slice view's name for screen readers: the view, the slice shown and the number of
     * slices, e.g. "Axial view, slice 41 of 80". */
    label = g_strdup_printf (_("%s view, slice %d of %d"), _(view_titles[self->axis]), slice + 1,
                             self->reslice.n_slices);
  pulmo_accessible_set_label (GTK_WIDGET (self), label);
}

static void end_stroke (PulmoSliceView *self);
static void finish_shape (PulmoSliceView *self, gboolean apply);

static void
on_volume_changed (PulmoSliceView *self)
{
  pulmo_slice_view_set_playing (self, FALSE);
  end_stroke (self);
  finish_shape (self, FALSE);
  g_clear_pointer (&self->image, cairo_surface_destroy);
  g_clear_pointer (&self->overlay, cairo_surface_destroy);
  self->has_ruler = FALSE;
  self->zoom = 1.0;
  self->pan_x = self->pan_y = 0.0;
  PulmoVolume *volume = pulmo_view_state_get_volume (self->state);
  if (volume != NULL)
    {
      int dims[3], world_axis[3], sign[3];
      const PulmoAffine *affine = pulmo_volume_get_affine (volume);
      pulmo_volume_get_dims (volume, dims);
      pulmo_reslice_init (&self->reslice, self->axis, affine, dims);
      pulmo_affine_nearest_axes (affine, world_axis, sign);
      self->next_sign = sign[self->reslice.slice_axis];
      for (int view = 0; view < PULMO_N_VIEWS; view++)
        {
          PulmoReslice other;
          pulmo_reslice_init (&other, view, affine, dims);
          if (other.slice_axis == self->reslice.u_axis)
            self->vertical_line_view = view;
          if (other.slice_axis == self->reslice.v_axis)
            self->horizontal_line_view = view;
        }
    }
  self->image_dirty = TRUE;
  self->named_slice = -2;
  update_accessible_label (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_display_changed (PulmoSliceView *self)
{
  self->image_dirty = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* The slices the view shows: its slice, or the slab around it. */
static void
slab_range (PulmoSliceView *self, int *first, int *last)
{
  *first = *last = pulmo_slice_view_get_slice (self);
  if (pulmo_view_state_get_slab_mode (self->state) != PULMO_SLAB_NONE)
    pulmo_slab_range (&self->reslice, *first, pulmo_view_state_get_slab_mm (self->state), first, last);
}

/* An edit redraws the views whose slice or slab it touched, not the others. */
static void
on_labels_changed (PulmoSliceView *self, const PulmoBox *box)
{
  int first, last, axis = self->reslice.slice_axis;
  slab_range (self, &first, &last);
  if (last >= box->lo[axis] && first <= box->hi[axis])
    on_display_changed (self);
}

/* A stroke or shape on labels that go away goes with them. This runs before the
 * edit state drops their history, for the views take the state first. */
static void
on_labels_replaced (PulmoSliceView *self)
{
  end_stroke (self);
  finish_shape (self, FALSE);
}

/* A new tool drops what the last one was drawing. */
static void
on_tool_changed (PulmoSliceView *self)
{
  end_stroke (self);
  finish_shape (self, FALSE);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_cursor_changed (PulmoSliceView *self)
{
  /* Every view's crosshair moves; pulmo_slice_view_get_image notices a new slice. */
  update_accessible_label (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
pulmo_slice_view_set_state (PulmoSliceView *self, PulmoViewState *state)
{
  if (self->state == state)
    return;
  if (self->state != NULL)
    g_signal_handlers_disconnect_by_data (self->state, self);
  g_clear_handle_id (&self->cine_source, g_source_remove);
  g_set_object (&self->state, state);
  if (state != NULL)
    {
      g_signal_connect_swapped (state, "volume-changed", G_CALLBACK (on_volume_changed), self);
      g_signal_connect_swapped (state, "display-changed", G_CALLBACK (on_display_changed), self);
      g_signal_connect_swapped (state, "cursor-changed", G_CALLBACK (on_cursor_changed), self);
      g_signal_connect_swapped (state, "labels-changed", G_CALLBACK (on_labels_changed), self);
      g_signal_connect_swapped (state, "notify::tool", G_CALLBACK (on_tool_changed), self);
      g_signal_connect_swapped (state, "notify::labels", G_CALLBACK (on_labels_replaced), self);
      g_signal_connect_swapped (state, "notify::cine-fps", G_CALLBACK (on_cine_fps_changed), self);
      on_volume_changed (self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

void
pulmo_slice_view_set_edit_state (PulmoSliceView *self, PulmoEditState *edit)
{
  if (self->edit == edit)
    return;
  end_stroke (self);
  finish_shape (self, FALSE);
  if (self->edit != NULL)
    g_signal_handlers_disconnect_by_data (self->edit, self);
  g_set_object (&self->edit, edit);
  /* The brush outline follows its size, shape and colour. */
  if (edit != NULL)
    g_signal_connect_swapped (edit, "notify", G_CALLBACK (gtk_widget_queue_draw), self);
}

PulmoEditState *
pulmo_slice_view_get_edit_state (PulmoSliceView *self)
{
  return self->edit;
}

/* Input ------------------------------------------------------------------- */

void
_pulmo_slice_view_step (PulmoSliceView *self, int steps)
{
  if (!has_volume (self) || steps == 0)
    return;
  int cursor[3];
  pulmo_view_state_get_cursor (self->state, cursor);
  cursor[self->reslice.slice_axis] += steps * self->next_sign;
  pulmo_view_state_set_cursor (self->state, cursor);
  /* The pointer now lies over another voxel: keep the readout true. */
  if (self->pointer_inside)
    _pulmo_slice_view_hover (self, self->pointer_x, self->pointer_y);
}

static void
set_cursor_at (PulmoSliceView *self, double x, double y)
{
  double u, v;
  int ijk[3];
  widget_to_display (self, x, y, &u, &v);
  u = CLAMP (u, 0, self->reslice.width - 1);
  v = CLAMP (v, 0, self->reslice.height - 1);
  pulmo_reslice_to_voxel (&self->reslice, (int) u, (int) v, pulmo_slice_view_get_slice (self), ijk);
  pulmo_view_state_set_cursor (self->state, ijk);
}

/* Editing ------------------------------------------------------------------ */

/* The history of the labels shown. An annotator who opens a CT without labels
 * expects to paint, so the first edit makes an empty map (Pulmo's label table). */
static PulmoEditHistory *
edit_history (PulmoSliceView *self)
{
  if (self->edit == NULL)
    return NULL;
  if (pulmo_view_state_get_labels (self->state) == NULL)
    {
      g_autoptr (PulmoLabelMap) labels = pulmo_label_map_new (pulmo_view_state_get_volume (self->state));
      pulmo_view_state_set_labels (self->state, labels);
    }
  return pulmo_edit_state_get_history (self->edit);
}

/* The painter of the current tool: the active label, or background for the
 * eraser (of the active label alone if so chosen); the mask applies to both. */
static void
tool_painter (PulmoSliceView *self, PulmoPainter *painter)
{
  uint8_t active = pulmo_edit_state_get_active_label (self->edit);
  gboolean eraser = pulmo_view_state_get_tool (self->state) == PULMO_TOOL_ERASER;
  int only_label = eraser && pulmo_view_state_get_erase_only_active (self->state) ? active : -1;
  PulmoPaintMask mask;
  pulmo_edit_state_get_mask (self->edit, &mask);
  pulmo_painter_init (painter, pulmo_view_state_get_labels (self->state),
                      pulmo_view_state_get_volume (self->state), &mask,
                      eraser ? PULMO_LABEL_BACKGROUND : active, only_label);
}

static void
begin_stroke (PulmoSliceView *self, double x, double y)
{
  PulmoEditHistory *history = edit_history (self);
  if (history == NULL)
    return;
  PulmoPainter painter;
  PulmoBrush brush;
  tool_painter (self, &painter);
  pulmo_edit_state_get_brush (self->edit, &brush);
  gboolean eraser = pulmo_view_state_get_tool (self->state) == PULMO_TOOL_ERASER;
  self->stroke = pulmo_stroke_begin (history, &self->reslice, pulmo_slice_view_get_slice (self), &brush,
                                     &painter, eraser ? _("Erase") : _("Paint"));
  double u, v;
  widget_to_edit_point (self, x, y, &u, &v);
  pulmo_stroke_to (self->stroke, u, v);
}

static void
end_stroke (PulmoSliceView *self)
{
  if (self->stroke == NULL)
    return;
  if (pulmo_stroke_end (g_steal_pointer (&self->stroke)))
    pulmo_edit_state_edited (self->edit);
}

static void
flood_fill_at (PulmoSliceView *self, double x, double y)
{
  int seed[3];
  if (!pulmo_slice_view_widget_to_voxel (self, x, y, seed))
    return;
  PulmoEditHistory *history = edit_history (self);
  if (history == NULL)
    return;
  PulmoPainter painter;
  PulmoPaintMask mask;
  tool_painter (self, &painter);
  pulmo_edit_state_get_mask (self->edit, &mask);
  /* The fill always keeps to the HU range, whether or not it masks the brush. */
  const PulmoReslice *plane = pulmo_view_state_get_fill_3d (self->state) ? NULL : &self->reslice;
  if (pulmo_flood_fill (history, pulmo_view_state_get_volume (self->state), &painter, seed, mask.hu_min,
                        mask.hu_max, plane, _("Fill")) > 0)
    pulmo_edit_state_edited (self->edit);
}

static void
add_shape_point (PulmoSliceView *self, double x, double y)
{
  double uv[2];
  if (self->shape == NULL)
    {
      self->shape = g_array_new (FALSE, FALSE, sizeof (double));
      self->shape_slice = pulmo_slice_view_get_slice (self);
    }
  widget_to_edit_point (self, x, y, &uv[0], &uv[1]);
  g_array_append_vals (self->shape, uv, 2);
  self->shape_last_x = x;
  self->shape_last_y = y;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Fills the polygon or lasso drawn (when @apply) and forgets it. */
static void
finish_shape (PulmoSliceView *self, gboolean apply)
{
  if (self->shape == NULL)
    return;
  g_autoptr (GArray) shape = g_steal_pointer (&self->shape);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  int n_points = shape->len / 2;
  PulmoEditHistory *history = apply && n_points >= 3 ? edit_history (self) : NULL;
  if (history == NULL)
    return;
  PulmoPainter painter;
  tool_painter (self, &painter);
  gboolean lasso = pulmo_view_state_get_tool (self->state) == PULMO_TOOL_LASSO;
  if (pulmo_polygon_fill (history, &painter, &self->reslice, self->shape_slice, (const double *) shape->data,
                          n_points, lasso ? _("Lasso") : _("Polygon")) > 0)
    pulmo_edit_state_edited (self->edit);
}

void
_pulmo_slice_view_finish_shape (PulmoSliceView *self, gboolean apply)
{
  finish_shape (self, apply);
}

void
_pulmo_slice_view_pick_label (PulmoSliceView *self, double x, double y)
{
  int ijk[3];
  PulmoLabelMap *labels = has_volume (self) ? pulmo_view_state_get_labels (self->state) : NULL;
  if (labels == NULL || self->edit == NULL || !pulmo_slice_view_widget_to_voxel (self, x, y, ijk))
    return;
  /* Background is the eraser's, not a label to paint with. */
  uint8_t label = pulmo_label_map_get (labels, ijk[0], ijk[1], ijk[2]);
  if (label != PULMO_LABEL_BACKGROUND)
    pulmo_edit_state_set_active_label (self->edit, label);
}

void
_pulmo_slice_view_primary_press (PulmoSliceView *self, double x, double y)
{
  if (!has_volume (self))
    return;
  self->drag_x = x;
  self->drag_y = y;
  PulmoTool tool = pulmo_view_state_get_tool (self->state);
  /* Without an edit state the editing tools act as the crosshair. */
  if (self->edit == NULL && tool != PULMO_TOOL_RULER)
    tool = PULMO_TOOL_CROSSHAIR;
  switch (tool)
    {
    case PULMO_TOOL_RULER:
      {
        double u, v;
        widget_to_display (self, x, y, &u, &v);
        self->has_ruler = TRUE;
        self->ruler_slice = pulmo_slice_view_get_slice (self);
        self->ruler[0] = self->ruler[2] = u;
        self->ruler[1] = self->ruler[3] = v;
        gtk_widget_queue_draw (GTK_WIDGET (self));
      }
      return;
    case PULMO_TOOL_BRUSH:
    case PULMO_TOOL_ERASER:
      begin_stroke (self, x, y);
      return;
    case PULMO_TOOL_FILL:
      flood_fill_at (self, x, y);
      return;
    case PULMO_TOOL_POLYGON:
      /* A vertex per click, on the slice where the polygon began. */
      if (self->shape != NULL && self->shape_slice != pulmo_slice_view_get_slice (self))
        finish_shape (self, FALSE);
      add_shape_point (self, x, y);
      return;
    case PULMO_TOOL_LASSO:
      finish_shape (self, FALSE);
      add_shape_point (self, x, y);
      return;
    case PULMO_TOOL_CROSSHAIR:
    case PULMO_N_TOOLS:
    default:
      set_cursor_at (self, x, y);
      return;
    }
}

void
_pulmo_slice_view_primary_drag (PulmoSliceView *self, double x, double y)
{
  if (!has_volume (self))
    return;
  PulmoTool tool = pulmo_view_state_get_tool (self->state);
  if (tool == PULMO_TOOL_RULER)
    {
      widget_to_display (self, x, y, &self->ruler[2], &self->ruler[3]);
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
  else if (self->stroke != NULL)
    {
      double u, v;
      widget_to_edit_point (self, x, y, &u, &v);
      pulmo_stroke_to (self->stroke, u, v);
    }
  else if (tool == PULMO_TOOL_LASSO && self->shape != NULL)
    {
      /* A point every two pixels keeps the outline smooth and short. */
      if (hypot (x - self->shape_last_x, y - self->shape_last_y) >= 2.0)
        add_shape_point (self, x, y);
    }
  else if (tool == PULMO_TOOL_CROSSHAIR || self->edit == NULL)
    set_cursor_at (self, x, y);
}

void
_pulmo_slice_view_primary_release (PulmoSliceView *self, double x, double y)
{
  _pulmo_slice_view_primary_drag (self, x, y);
  end_stroke (self);
  if (has_volume (self) && pulmo_view_state_get_tool (self->state) == PULMO_TOOL_LASSO)
    finish_shape (self, TRUE);
}

void
_pulmo_slice_view_hover (PulmoSliceView *self, double x, double y)
{
  int ijk[3];
  if (has_volume (self) && pulmo_slice_view_widget_to_voxel (self, x, y, ijk))
    pulmo_view_state_hover (self->state, ijk);
  else if (self->state != NULL)
    pulmo_view_state_hover (self->state, NULL);
}

static void
primary_drag_begin (GtkGestureDrag *gesture, double x, double y, PulmoSliceView *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self));
  GdkModifierType modifiers = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (gesture));
  /* Ctrl+click picks the label under the pointer, whatever the tool. */
  self->picking = (modifiers & GDK_CONTROL_MASK) != 0;
  if (self->picking)
    _pulmo_slice_view_pick_label (self, x, y);
  else
    _pulmo_slice_view_primary_press (self, x, y);
}

static void
primary_drag_update (GtkGestureDrag *gesture, double dx, double dy, PulmoSliceView *self)
{
  self->pointer_x = self->drag_x + dx;
  self->pointer_y = self->drag_y + dy;
  if (!self->picking)
    _pulmo_slice_view_primary_drag (self, self->pointer_x, self->pointer_y);
  _pulmo_slice_view_hover (self, self->pointer_x, self->pointer_y);
  if (self->edit != NULL)
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
primary_drag_end (GtkGestureDrag *gesture, double dx, double dy, PulmoSliceView *self)
{
  if (!self->picking)
    _pulmo_slice_view_primary_release (self, self->drag_x + dx, self->drag_y + dy);
  self->picking = FALSE;
}

/* A double-click maximises the view, or closes the polygon being drawn; while
 * painting it does nothing. */
static void
primary_pressed (GtkGestureClick *gesture, int n_press, double x, double y, PulmoSliceView *self)
{
  if (n_press != 2 || self->state == NULL)
    return;
  switch (pulmo_view_state_get_tool (self->state))
    {
    case PULMO_TOOL_POLYGON:
      finish_shape (self, TRUE);
      break;
    case PULMO_TOOL_CROSSHAIR:
    case PULMO_TOOL_RULER:
      gtk_widget_activate_action (GTK_WIDGET (self), "win.toggle-maximized", "s",
                                  pulmo_view_axis_name (self->axis));
      break;
    case PULMO_TOOL_BRUSH:
    case PULMO_TOOL_ERASER:
    case PULMO_TOOL_FILL:
    case PULMO_TOOL_LASSO:
    case PULMO_N_TOOLS:
    default:
      break;
    }
}

static void
pan_drag_begin (GtkGestureDrag *gesture, double x, double y, PulmoSliceView *self)
{
  self->drag_pan_x = self->pan_x;
  self->drag_pan_y = self->pan_y;
}

static void
pan_drag_update (GtkGestureDrag *gesture, double dx, double dy, PulmoSliceView *self)
{
  self->pan_x = self->drag_pan_x + dx;
  self->pan_y = self->drag_pan_y + dy;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
window_drag_begin (GtkGestureDrag *gesture, double x, double y, PulmoSliceView *self)
{
  if (self->state == NULL)
    return;
  self->drag_window = pulmo_view_state_get_window (self->state);
  self->drag_level = pulmo_view_state_get_level (self->state);
}

/* Right-drag as in ITK-SNAP and Slicer: right widens the window, up raises the
 * level. The rate follows the starting window so narrow and wide windows both
 * respond usefully. */
static void
window_drag_update (GtkGestureDrag *gesture, double dx, double dy, PulmoSliceView *self)
{
  if (!has_volume (self))
    return;
  double per_pixel = MAX (self->drag_window, 50.0) / 300.0;
  pulmo_view_state_set_window (self->state, self->drag_window + dx * per_pixel,
                               self->drag_level - dy * per_pixel);
}

static void
zoom_at (PulmoSliceView *self, double factor, double x, double y)
{
  double width = gtk_widget_get_width (GTK_WIDGET (self)), height = gtk_widget_get_height (GTK_WIDGET (self));
  double u, v, su, sv, ox, oy;
  widget_to_display (self, x, y, &u, &v);
  self->zoom = CLAMP (self->zoom * factor, 0.25, 40.0);
  /* Keep the point under the pointer where it is. */
  view_transform (self, width, height, &su, &sv, &ox, &oy);
  self->pan_x += x - (ox + u * su);
  self->pan_y += y - (oy + v * sv);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
scrolled (GtkEventControllerScroll *controller, double dx, double dy, PulmoSliceView *self)
{
  if (!has_volume (self))
    return FALSE;
  GdkModifierType modifiers = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  if (modifiers & GDK_CONTROL_MASK)
    {
      zoom_at (self, pow (1.15, -dy), self->pointer_x, self->pointer_y);
      return TRUE;
    }
  /* Shift+wheel up makes the brush larger, as in ITK-SNAP. */
  if ((modifiers & GDK_SHIFT_MASK) && self->edit != NULL)
    {
      if (dy != 0)
        gtk_widget_activate_action (GTK_WIDGET (self), dy < 0 ? "win.brush-size-up" : "win.brush-size-down",
                                    NULL);
      return TRUE;
    }
  /* Wheel up moves toward the head, the front or the patient's right. */
  self->scroll_rest -= dy;
  int steps = (int) trunc (self->scroll_rest);
  self->scroll_rest -= steps;
  _pulmo_slice_view_step (self, steps);
  return TRUE;
}

static void
motion (GtkEventControllerMotion *controller, double x, double y, PulmoSliceView *self)
{
  self->pointer_x = x;
  self->pointer_y = y;
  self->pointer_inside = TRUE;
  _pulmo_slice_view_hover (self, x, y);
  /* The brush outline and the polygon's open edge follow the pointer. */
  if (self->edit != NULL && (tool_is_brush (self) || self->shape != NULL))
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
enter (GtkEventControllerMotion *controller, double x, double y, PulmoSliceView *self)
{
  self->pointer_x = x;
  self->pointer_y = y;
  self->pointer_inside = TRUE;
  /* The view under the pointer takes the keys, as in ITK-SNAP, unless the user
   * is typing a number into the panel. */
  GtkWidget *focus = gtk_root_get_focus (gtk_widget_get_root (GTK_WIDGET (self)));
  if (focus == NULL || !GTK_IS_EDITABLE (focus))
    gtk_widget_grab_focus (GTK_WIDGET (self));
}

static void
leave (GtkEventControllerMotion *controller, PulmoSliceView *self)
{
  self->pointer_inside = FALSE;
  if (self->state != NULL)
    pulmo_view_state_hover (self->state, NULL);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
_pulmo_slice_view_next_slab_mode (PulmoSliceView *self)
{
  if (self->state != NULL)
    g_object_set (self->state, "slab-mode", (pulmo_view_state_get_slab_mode (self->state) + 1) % PULMO_N_SLAB_MODES,
                  NULL);
}

/* Thicker or thinner by 5 mm stops (1, 5, 10, …), the steps readers use; a
 * thin slice becomes a MinIP first, the projection this issue is for. */
void
_pulmo_slice_view_change_slab (PulmoSliceView *self, int steps)
{
  if (self->state == NULL || steps == 0)
    return;
  if (pulmo_view_state_get_slab_mode (self->state) == PULMO_SLAB_NONE)
    {
      if (steps > 0)
        g_object_set (self->state, "slab-mode", PULMO_SLAB_MIN, NULL);
      return;
    }
  double mm = pulmo_view_state_get_slab_mm (self->state);
  mm = steps > 0 ? floor (mm / 5.0 + 1e-6) * 5.0 + 5.0 * steps : ceil (mm / 5.0 - 1e-6) * 5.0 + 5.0 * steps;
  g_object_set (self->state, "slab-mm", CLAMP (mm, 1.0, PULMO_SLAB_MAX_MM), NULL);
}

static gboolean
key_pressed (GtkEventControllerKey *controller, guint keyval, guint keycode, GdkModifierType modifiers,
             PulmoSliceView *self)
{
  if (modifiers & (GDK_CONTROL_MASK | GDK_ALT_MASK))
    return FALSE;
  switch (keyval)
    {
    case GDK_KEY_Up: case GDK_KEY_KP_Up: case GDK_KEY_Right: case GDK_KEY_KP_Right:
      _pulmo_slice_view_step (self, 1);
      return TRUE;
    case GDK_KEY_Down: case GDK_KEY_KP_Down: case GDK_KEY_Left: case GDK_KEY_KP_Left:
      _pulmo_slice_view_step (self, -1);
      return TRUE;
    case GDK_KEY_Page_Up: case GDK_KEY_KP_Page_Up:
      _pulmo_slice_view_step (self, 5);
      return TRUE;
    case GDK_KEY_Page_Down: case GDK_KEY_KP_Page_Down:
      _pulmo_slice_view_step (self, -5);
      return TRUE;
    case GDK_KEY_space:
      pulmo_slice_view_set_playing (self, !pulmo_slice_view_get_playing (self));
      return TRUE;
    case GDK_KEY_s:
      _pulmo_slice_view_next_slab_mode (self);
      return TRUE;
    case GDK_KEY_plus: case GDK_KEY_equal: case GDK_KEY_KP_Add:
      _pulmo_slice_view_change_slab (self, 1);
      return TRUE;
    case GDK_KEY_minus: case GDK_KEY_KP_Subtract:
      _pulmo_slice_view_change_slab (self, -1);
      return TRUE;
    /* Enter fills the polygon drawn, Escape drops it; without one, Escape goes
     * on to the views' shortcuts (back to the crosshair). */
    case GDK_KEY_Return: case GDK_KEY_KP_Enter:
    case GDK_KEY_Escape:
      if (self->shape == NULL)
        return FALSE;
      finish_shape (self, keyval != GDK_KEY_Escape);
      return TRUE;
    default:
      return FALSE;
    }
}

/* GObject ------------------------------------------------------------------ */

static void
pulmo_slice_view_dispose (GObject *object)
{
  PulmoSliceView *self = PULMO_SLICE_VIEW (object);
  pulmo_slice_view_set_edit_state (self, NULL);
  pulmo_slice_view_set_state (self, NULL);
  g_clear_handle_id (&self->cine_source, g_source_remove);
  g_clear_pointer (&self->image, cairo_surface_destroy);
  g_clear_pointer (&self->overlay, cairo_surface_destroy);
  g_clear_pointer (&self->renderer, pulmo_slice_renderer_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), PULMO_TYPE_SLICE_VIEW);
  G_OBJECT_CLASS (pulmo_slice_view_parent_class)->dispose (object);
}

static void
pulmo_slice_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PulmoSliceView *self = PULMO_SLICE_VIEW (object);
  switch (prop_id)
    {
    case PROP_STATE: g_value_set_object (value, self->state); break;
    case PROP_AXIS: g_value_set_int (value, self->axis); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pulmo_slice_view_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  PulmoSliceView *self = PULMO_SLICE_VIEW (object);
  switch (prop_id)
    {
    case PROP_STATE:
      pulmo_slice_view_set_state (self, g_value_get_object (value));
      break;
    case PROP_AXIS:
      self->axis = g_value_get_int (value);
      if (self->state != NULL)
        on_volume_changed (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pulmo_slice_view_class_init (PulmoSliceViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  report_first_image = g_getenv ("PULMO_REPORT_FIRST_IMAGE") != NULL;
  object_class->dispose = pulmo_slice_view_dispose;
  object_class->get_property = pulmo_slice_view_get_property;
  object_class->set_property = pulmo_slice_view_set_property;
  widget_class->snapshot = pulmo_slice_view_snapshot;

  properties[PROP_STATE] = g_param_spec_object ("state", NULL, NULL, PULMO_TYPE_VIEW_STATE,
                                                G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY
                                                  | G_PARAM_STATIC_STRINGS);
  properties[PROP_AXIS] = g_param_spec_int ("axis", NULL, NULL, PULMO_VIEW_AXIAL, PULMO_VIEW_SAGITTAL,
                                            PULMO_VIEW_AXIAL,
                                            G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/pulmo/Pulmo/ui/pulmo-slice-view.ui");
  gtk_widget_class_bind_template_callback (widget_class, primary_drag_begin);
  gtk_widget_class_bind_template_callback (widget_class, primary_drag_update);
  gtk_widget_class_bind_template_callback (widget_class, primary_drag_end);
  gtk_widget_class_bind_template_callback (widget_class, primary_pressed);
  gtk_widget_class_bind_template_callback (widget_class, pan_drag_begin);
  gtk_widget_class_bind_template_callback (widget_class, pan_drag_update);
  gtk_widget_class_bind_template_callback (widget_class, window_drag_begin);
  gtk_widget_class_bind_template_callback (widget_class, window_drag_update);
  gtk_widget_class_bind_template_callback (widget_class, scrolled);
  gtk_widget_class_bind_template_callback (widget_class, motion);
  gtk_widget_class_bind_template_callback (widget_class, enter);
  gtk_widget_class_bind_template_callback (widget_class, leave);
  gtk_widget_class_bind_template_callback (widget_class, key_pressed);
  gtk_widget_class_set_css_name (widget_class, "sliceview");
  /* GTK 4.8 has no canvas role: to a screen reader a view is the image it shows. */
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
pulmo_slice_view_init (PulmoSliceView *self)
{
  self->renderer = pulmo_slice_renderer_new ();
  self->frame_slice = -1;
  self->zoom = 1.0;
  self->image_dirty = TRUE;
  self->named_slice = -2;
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  _("Arrow keys and Page Up or Down change the slice; 1, 2, 3 and 0 the layout; "
                                    "Space plays the slices; S, plus and minus set the slab"),
                                  -1);
}
