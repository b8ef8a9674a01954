/* report-pdf.c: see report-pdf.h. Sizes are in PDF points (1/72 inch). */
#include "segment/report-pdf.h"

#include <cairo-pdf.h>
#include <glib/gi18n-lib.h>
#include <math.h>

#include "core/geometry.h"
#include "core/pulmo-error.h"
#include "core/pulmo-label-table.h"
#include "render/slice-render.h"
#include "render/window-level.h"

#define PAGE_WIDTH 595.0    /* A4 */
#define PAGE_HEIGHT 842.0
#define MARGIN 48.0
#define N_KEY_SLICES 3

typedef struct {
  cairo_t *cr;
  double y;   /* baseline of the next line */
} Page;

static void
text_at (Page *page, double x, double size, gboolean bold, const char *text)
{
  cairo_select_font_face (page->cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                          bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (page->cr, size);
  cairo_move_to (page->cr, x, page->y);
  cairo_show_text (page->cr, text);
}

/* Right-aligned at @right. */
static void
text_right (Page *page, double right, double size, gboolean bold, const char *text)
{
  cairo_text_extents_t extents;
  cairo_select_font_face (page->cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                          bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (page->cr, size);
  cairo_text_extents (page->cr, text, &extents);
  cairo_move_to (page->cr, right - extents.x_advance, page->y);
  cairo_show_text (page->cr, text);
}

static void
line (Page *page, double size, gboolean bold, const char *text)
{
  text_at (page, MARGIN, size, bold, text);
  page->y += size * 1.45;
}

static void
rule (Page *page)
{
  cairo_set_line_width (page->cr, 0.5);
  cairo_move_to (page->cr, MARGIN, page->y - 12);
  cairo_line_to (page->cr, PAGE_WIDTH - MARGIN, page->y - 12);
  cairo_stroke (page->cr);
}

static const char *
zone_list (const PulmoLungFigures *lung, char *buffer, gsize size)
{
  /* Translators: thirds of a lung, listed as "Zones involved: … (right: upper, middle; left: none)". */
  static const char *names[PULMO_N_ZONES] = { N_("upper"), N_("middle"), N_("lower") };
  buffer[0] = '\0';
  for (int zone = 0; zone < PULMO_N_ZONES; zone++)
    if (lung->zone_involved[zone])
      {
        if (buffer[0] != '\0')
          g_strlcat (buffer, ", ", size);
        g_strlcat (buffer, _(names[zone]), size);
      }
  if (buffer[0] == '\0')
    g_strlcpy (buffer, _("none"), size);
  return buffer;
}

/* A table: a header row, then rows whose first cell is bold for @bold_row
 * (-1 for none); the first column left-aligned, the others right-aligned at
 * @columns' right edges. */
static void
draw_rows (Page *page, int n_columns, const double *right_edges, const char *const *headers, int n_rows,
           const char *cells[][8], int bold_row)
{
  text_at (page, MARGIN, 9, TRUE, _(headers[0]));
  for (int c = 1; c < n_columns; c++)
    text_right (page, right_edges[c], 9, TRUE, _(headers[c]));
  page->y += 17;
  rule (page);   /* between the header's descenders and the first row's capitals */
  for (int r = 0; r < n_rows; r++)
    {
      text_at (page, MARGIN, 10, r == bold_row, cells[r][0]);
      for (int c = 1; c < n_columns; c++)
        text_right (page, right_edges[c], 10, r == bold_row, cells[r][c]);
      page->y += 15;
    }
}

static void
grey_note (Page *page, const char *text)
{
  cairo_set_source_rgb (page->cr, 0.35, 0.35, 0.35);
  line (page, 8, FALSE, text);
  cairo_set_source_rgb (page->cr, 0, 0, 0);
}

static void
draw_table (Page *page, const PulmoReport *report)
{
  static const char *const headers[] = { N_("Region"), N_("Lung (L)"), N_("Ground glass (mL)"),
                                         N_("Consolidation (mL)"), N_("Involved"), N_("Severity") };
  const double edges[] = { 0, MARGIN + 130, MARGIN + 245, MARGIN + 355, MARGIN + 425, PAGE_WIDTH - MARGIN };
  const PulmoLungFigures *rows[3] = { &report->right, &report->left, &report->total };
  static const char *names[3] = { N_("Right lung"), N_("Left lung"), N_("Both lungs") };
  char text[3][5][32];
  const char *cells[3][8];
  for (int r = 0; r < 3; r++)
    {
      const PulmoLungFigures *f = rows[r];
      g_snprintf (text[r][0], sizeof text[r][0], "%.2f", f->lung_ml / 1000.0);
      g_snprintf (text[r][1], sizeof text[r][1], "%.1f", f->ggo_ml);
      g_snprintf (text[r][2], sizeof text[r][2], "%.1f", f->consolidation_ml);
      g_snprintf (text[r][3], sizeof text[r][3], "%.1f %%", f->involved_percent);
      if (r < 2)
        g_snprintf (text[r][4], sizeof text[r][4], _("%d of 5"), f->severity);
      else
        g_snprintf (text[r][4], sizeof text[r][4], _("%d of 10"), report->severity_sum);
      cells[r][0] = _(names[r]);
      for (int c = 0; c < 5; c++)
        cells[r][c + 1] = text[r][c];
    }
  draw_rows (page, 6, edges, headers, 3, cells, 2);
  page->y += 2;
  grey_note (page, _("Involved: ground glass and consolidation over the lung's volume. Severity per lung: "
                     "0 none, 1 < 5 %, 2 5–25 %,"));
  grey_note (page, _("3 26–50 %, 4 51–75 %, 5 > 75 %; for both lungs, the sum of the two."));
}

static void
draw_zones (Page *page, const PulmoReport *report)
{
  static const char *const headers[] = { N_("Lesion share of each third"), N_("Upper"), N_("Middle"), N_("Lower") };
  const double edges[] = { 0, MARGIN + 250, MARGIN + 330, MARGIN + 410 };
  const PulmoLungFigures *rows[2] = { &report->right, &report->left };
  static const char *names[2] = { N_("Right lung"), N_("Left lung") };
  char text[2][3][32];
  const char *cells[2][8];
  for (int r = 0; r < 2; r++)
    {
      cells[r][0] = _(names[r]);
      for (int zone = 0; zone < PULMO_N_ZONES; zone++)
        {
          g_snprintf (text[r][zone], sizeof text[r][zone], "%.1f %%", rows[r]->zone_involved_percent[zone]);
          cells[r][zone + 1] = text[r][zone];
        }
    }
  draw_rows (page, 4, edges, headers, 2, cells, -1);
  page->y += 2;
  grey_note (page, _("Thirds of each lung's superior–inferior extent; the share is the third's lesion volume "
                     "over its lung volume."));
}

static void
draw_distribution (Page *page, const PulmoReport *report)
{
  char text[256], right[64], left[64];
  page->y += 6;
  line (page, 12, TRUE, _("Distribution"));
  g_snprintf (text, sizeof text, _("%s. Zones involved: %d of 6 (right: %s; left: %s)."),
              report->bilateral ? _("Bilateral") : _("Not bilateral"), report->n_zones_involved,
              zone_list (&report->right, right, sizeof right), zone_list (&report->left, left, sizeof left));
  line (page, 10, FALSE, text);
  g_snprintf (text, sizeof text,
              _("Of the lesion volume, %.0f %% is peripheral (outer third of the lung's depth) and %.0f %% central."),
              report->peripheral_percent, report->central_percent);
  line (page, 10, FALSE, text);
  if (isfinite (report->lesion_mean_hu))
    g_snprintf (text, sizeof text, _("Mean attenuation of the lesions: %.0f HU. Pleural effusion: %.1f mL."),
                report->lesion_mean_hu, report->effusion_ml);
  else
    g_snprintf (text, sizeof text, _("Mean attenuation of the lesions: not available (%s). Pleural effusion: %.1f mL."),
                report->total.ggo_ml + report->total.consolidation_ml > 0 ? _("the CT is not in HU") : _("no lesion"),
                report->effusion_ml);
  line (page, 10, FALSE, text);
  page->y += 6;
  draw_zones (page, report);
}

/* Per axial slice: lesion voxels, and whether it holds lung. */
static void
count_axial (PulmoVolume *ct, const PulmoReslice *reslice, const uint8_t *labels, guint64 *lesions,
             gboolean *lung)
{
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  for (int slice = 0; slice < reslice->n_slices; slice++)
    {
      lesions[slice] = 0;
      lung[slice] = FALSE;
      for (int v = 0; v < reslice->height; v++)
        {
          gint64 start, step;
          pulmo_reslice_row (reslice, dims, slice, v, &start, &step);
          for (int u = 0; u < reslice->width; u++)
            {
              uint8_t value = labels[start + step * u];
              lesions[slice] += value == PULMO_LABEL_GROUND_GLASS || value == PULMO_LABEL_CONSOLIDATION;
              lung[slice] |= value >= PULMO_LABEL_RIGHT_LUNG && value <= PULMO_LABEL_CONSOLIDATION;
            }
        }
    }
}

/* The key slices, most superior first: in each third of the slices that hold
 * lung, the one with most lesion voxels (its middle one when none has any). */
static int
key_slices (PulmoVolume *ct, const PulmoReslice *reslice, const uint8_t *labels, int slices[N_KEY_SLICES])
{
  g_autofree guint64 *lesions = g_new (guint64, reslice->n_slices);
  g_autofree gboolean *lung = g_new (gboolean, reslice->n_slices);
  count_axial (ct, reslice, labels, lesions, lung);
  int first = 0, last = reslice->n_slices - 1;
  while (first < last && !lung[first])
    first++;
  while (last > first && !lung[last])
    last--;
  if (!lung[first])
    first = 0, last = reslice->n_slices - 1;
  int extent = last - first + 1, n = MIN (N_KEY_SLICES, extent);
  for (int part = 0; part < n; part++)
    {
      int lo = first + extent * part / n, hi = first + extent * (part + 1) / n - 1;
      int best = (lo + hi) / 2;
      for (int s = lo; s <= hi; s++)
        if (lesions[s] > lesions[best])
          best = s;
      slices[part] = best;
    }
  /* Display slices run from inferior to superior when the slice axis points
   * up; the page shows the most superior first. */
  int ijk[3], ijk_last[3];
  pulmo_reslice_to_voxel (reslice, 0, 0, 0, ijk);
  pulmo_reslice_to_voxel (reslice, 0, 0, reslice->n_slices - 1, ijk_last);
  const PulmoAffine *affine = pulmo_volume_get_affine (ct);
  double a[3] = { ijk[0], ijk[1], ijk[2] }, b[3] = { ijk_last[0], ijk_last[1], ijk_last[2] }, wa[3], wb[3];
  pulmo_affine_apply (affine, a, wa);
  pulmo_affine_apply (affine, b, wb);
  if (wb[2] > wa[2])
    for (int i = 0; i < n / 2; i++)
      {
        int t = slices[i];
        slices[i] = slices[n - 1 - i];
        slices[n - 1 - i] = t;
      }
  return n;
}

/* One key slice, fitted into the square of side @size at (@x, @y): the CT
 * under @lesions (filled, so the lesions' extent shows) and @lungs (outlined,
 * so the parenchyma stays readable). */
static void
draw_slice (cairo_t *cr, PulmoSliceRenderer *renderer, PulmoVolume *ct, const PulmoReslice *reslice,
            int slice, const PulmoRenderParams *lesions, const PulmoRenderParams *lungs, double x, double y,
            double size)
{
  const int width = reslice->width, height = reslice->height;
  const int stride = cairo_format_stride_for_width (CAIRO_FORMAT_ARGB32, width);
  g_autofree uint32_t *pixels = g_malloc ((gsize) stride * height);
  g_autofree uint32_t *outline = g_malloc ((gsize) stride * height);
  pulmo_slice_renderer_render (renderer, ct, reslice, slice, lesions, pixels, stride);
  pulmo_slice_renderer_render (renderer, ct, reslice, slice, lungs, outline, stride);
  /* Premultiplied "over": the outline on the filled image. */
  for (gsize p = 0; p < (gsize) stride / 4 * height; p++)
    {
      uint32_t top = outline[p], alpha = top >> 24, bottom = pixels[p], out = 0xff000000u;
      for (int shift = 0; shift < 24; shift += 8)
        out |= (((top >> shift) & 0xff) + ((bottom >> shift) & 0xff) * (255 - alpha) / 255) << shift;
      pixels[p] = out;
    }
  cairo_surface_t *image = cairo_image_surface_create_for_data ((unsigned char *) pixels, CAIRO_FORMAT_ARGB32,
                                                                width, height, stride);
  const double w_mm = width * reslice->u_spacing_mm, h_mm = height * reslice->v_spacing_mm;
  const double scale = size / MAX (w_mm, h_mm);
  const double draw_w = w_mm * scale, draw_h = h_mm * scale;
  cairo_save (cr);
  cairo_rectangle (cr, x, y, size, size);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_fill (cr);
  cairo_translate (cr, x + (size - draw_w) / 2, y + (size - draw_h) / 2);
  cairo_scale (cr, draw_w / width, draw_h / height);
  cairo_set_source_surface (cr, image, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_GOOD);
  cairo_paint (cr);
  cairo_restore (cr);
  cairo_surface_destroy (image);

  /* The patient's right is on the image's left (radiological convention). */
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_select_font_face (cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size (cr, 10);
  cairo_move_to (cr, x + 4, y + size / 2 + 4);
  cairo_show_text (cr, "R");
  cairo_set_source_rgb (cr, 0, 0, 0);
}

static void
draw_key_slices (Page *page, PulmoVolume *ct, const uint8_t *labels)
{
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  PulmoReslice reslice;
  pulmo_reslice_init (&reslice, PULMO_VIEW_AXIAL, pulmo_volume_get_affine (ct), dims);
  int slices[N_KEY_SLICES];
  int n = key_slices (ct, &reslice, labels, slices);

  g_autoptr (PulmoLabelTable) table = pulmo_label_table_new_default ();
  g_autoptr (PulmoLabelTable) lesion_table = pulmo_label_table_copy (table);
  g_autoptr (PulmoLabelTable) lung_table = pulmo_label_table_copy (table);
  uint8_t values[256];
  for (int v = 0, n_values = pulmo_label_table_list (table, values); v < n_values; v++)
    {
      gboolean lung = values[v] == PULMO_LABEL_RIGHT_LUNG || values[v] == PULMO_LABEL_LEFT_LUNG;
      pulmo_label_table_set_visible (lesion_table, values[v], !lung);
      pulmo_label_table_set_visible (lung_table, values[v], lung);
    }
  PulmoRenderParams lesions = { .labels = labels, .table = lesion_table, .opacity = 0.55,
                                .overlay_mode = PULMO_OVERLAY_FILL };
  if (pulmo_volume_get_intensity_kind (ct) == PULMO_INTENSITY_HU)
    {
      const PulmoWindowPreset *lung = pulmo_window_preset_find ("lung");
      lesions.window = lung->window;
      lesions.level = lung->level;
    }
  else
    pulmo_window_default (ct, &lesions.window, &lesions.level);
  PulmoRenderParams lungs = lesions;
  lungs.table = lung_table;
  lungs.opacity = 1.0;
  lungs.overlay_mode = PULMO_OVERLAY_OUTLINE;
  lungs.overlay_alone = TRUE;
  g_autoptr (PulmoSliceRenderer) renderer = pulmo_slice_renderer_new ();

  page->y += 6;
  line (page, 12, TRUE, _("Key slices"));
  const double gap = 12, size = (PAGE_WIDTH - 2 * MARGIN - gap * (N_KEY_SLICES - 1)) / N_KEY_SLICES;
  const double top = page->y - 8;
  for (int s = 0; s < n; s++)
    {
      double x = MARGIN + s * (size + gap);
      draw_slice (page->cr, renderer, ct, &reslice, slices[s], &lesions, &lungs, x, top, size);
      /* Whole captions, not "%s third": the third's word is declined in other languages. */
      char caption[64];
      int shown_slice = slices[s] + 1;
      if (n != N_KEY_SLICES)
        g_snprintf (caption, sizeof caption, _("Axial %d of %d, lungs"), shown_slice, reslice.n_slices);
      else if (s == 0)
        g_snprintf (caption, sizeof caption, _("Axial %d of %d, upper third"), shown_slice, reslice.n_slices);
      else if (s == 1)
        g_snprintf (caption, sizeof caption, _("Axial %d of %d, middle third"), shown_slice, reslice.n_slices);
      else
        g_snprintf (caption, sizeof caption, _("Axial %d of %d, lower third"), shown_slice, reslice.n_slices);
      Page below = { page->cr, top + size + 13 };
      text_at (&below, x, 9, FALSE, caption);
    }
  page->y = top + size + 32;

  /* The legend: the label convention's colours as the overlay draws them. */
  static const uint8_t shown[] = { PULMO_LABEL_RIGHT_LUNG, PULMO_LABEL_LEFT_LUNG, PULMO_LABEL_GROUND_GLASS,
                                   PULMO_LABEL_CONSOLIDATION };
  double x = MARGIN;
  for (gsize i = 0; i < G_N_ELEMENTS (shown); i++)
    {
      const PulmoLabel *label = pulmo_label_table_get (table, shown[i]);
      cairo_rectangle (page->cr, x, page->y - 8, 9, 9);
      cairo_set_source_rgb (page->cr, label->rgba[0] / 255.0, label->rgba[1] / 255.0, label->rgba[2] / 255.0);
      cairo_fill (page->cr);
      cairo_set_source_rgb (page->cr, 0, 0, 0);
      cairo_text_extents_t extents;
      text_at (page, x + 13, 9, FALSE, label->name);
      cairo_text_extents (page->cr, label->name, &extents);
      x += 13 + extents.x_advance + 18;
    }
  page->y += 18;
}

static cairo_status_t
append_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

GBytes *
pulmo_report_pdf (const PulmoReport *report, PulmoVolume *ct, const uint8_t *labels, const char *ct_name,
                  const char *model_name, GError **error)
{
  GByteArray *bytes = g_byte_array_new ();
  cairo_surface_t *surface = cairo_pdf_surface_create_for_stream (append_bytes, bytes, PAGE_WIDTH, PAGE_HEIGHT);
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, _("Pulmo chest CT report"));
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "Pulmo");
  cairo_t *cr = cairo_create (surface);
  Page page = { cr, MARGIN + 10 };

  line (&page, 18, TRUE, _("Chest CT: lungs and lesions"));
  page.y += 4;
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = g_date_time_format (now, "%Y-%m-%d %H:%M");
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  const PulmoAffine *affine = pulmo_volume_get_affine (ct);
  g_autofree char *ct_line = g_strdup_printf (
    _("CT: %s, %d × %d × %d voxels of %.2f × %.2f × %.2f mm, %s"), ct_name != NULL ? ct_name : _("(unnamed)"),
    dims[0], dims[1], dims[2], pulmo_affine_axis_spacing (affine, 0), pulmo_affine_axis_spacing (affine, 1),
    pulmo_affine_axis_spacing (affine, 2), pulmo_intensity_kind_describe (pulmo_volume_get_intensity_kind (ct)));
  g_autofree char *model_line = g_strdup_printf (_("Segmentation: %s"), model_name != NULL && *model_name
                                                                          ? model_name : _("not recorded"));
  g_autofree char *date_line = g_strdup_printf (_("Report drawn: %s"), date);
  line (&page, 10, FALSE, ct_line);
  line (&page, 10, FALSE, model_line);
  line (&page, 10, FALSE, date_line);
  page.y += 10;
  draw_table (&page, report);
  draw_distribution (&page, report);
  draw_key_slices (&page, ct, labels);

  page.y = PAGE_HEIGHT - MARGIN - 14;
  cairo_set_source_rgb (cr, 0.6, 0.0, 0.0);
  line (&page, 10, TRUE, _(PULMO_REPORT_DISCLAIMER));
  cairo_set_source_rgb (cr, 0, 0, 0);
  line (&page, 8, FALSE, _("Drawn by Pulmo, open-source chest CT software. Pulmo is not a medical device."));

  cairo_show_page (cr);
  cairo_status_t status = cairo_status (cr);
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_byte_array_unref (bytes);
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("cannot draw the report's PDF: %s"),
                   cairo_status_to_string (status));
      return NULL;
    }
  return g_byte_array_free_to_bytes (bytes);
}
