#include "train/samples.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "core/pulmo-error.h"
#include "nn/label-mask.h"

/* Writes an .npy file (format 1.0): magic, header length, a Python dict
 * padded to a multiple of 64 bytes, then the array in C order. */
static gboolean
write_npy (const char *path, const char *descr, int n, int height, int width, const void *data,
           gsize item_size, GError **error)
{
  g_autofree char *dict = g_strdup_printf ("{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d, %d), }",
                                           descr, n, height, width);
  gsize unpadded = 10 + strlen (dict) + 1;
  gsize header_len = (unpadded + 63) / 64 * 64 - 10;
  GString *header = g_string_new_len ("\x93NUMPY\x01\x00", 8);
  g_string_append_c (header, (char) (header_len & 0xff));
  g_string_append_c (header, (char) (header_len >> 8));
  g_string_append (header, dict);
  while (header->len < 10 + header_len - 1)
    g_string_append_c (header, ' ');
  g_string_append_c (header, '\n');

  g_autofree char *display = g_filename_display_name (path);
  FILE *file = g_fopen (path, "wb");
  gsize count = (gsize) n * height * width;
  gboolean ok = file != NULL && fwrite (header->str, 1, header->len, file) == header->len
                && fwrite (data, item_size, count, file) == count;
  int saved = errno;
  if (file != NULL && fclose (file) != 0 && ok)
    {
      ok = FALSE;
      saved = errno;
    }
  g_string_free (header, TRUE);
  if (!ok)
    g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("Cannot write %s: %s"), display, g_strerror (saved));
  return ok;
}

gboolean
pulmo_samples_write (const PulmoDataset *dataset, int n_classes, const char *out_dir, GError **error)
{
  if (g_mkdir_with_parents (out_dir, 0755) != 0)
    {
      int saved = errno;
      g_autofree char *display = g_filename_display_name (out_dir);
      return g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("Cannot make %s: %s"), display,
                          g_strerror (saved)), FALSE;
    }
  int n = (int) dataset->n_samples;
  gsize pixels = dataset->n_samples * dataset->width * dataset->height;
  g_autofree uint16_t *masks = g_new (uint16_t, pixels);
  if (!pulmo_label_masks_from_labels (dataset->labels, pixels, n_classes, masks, error))
    return FALSE;

  g_autofree char *images_path = g_build_filename (out_dir, "images.npy", NULL);
  g_autofree char *masks_path = g_build_filename (out_dir, "masks.npy", NULL);
  if (!write_npy (images_path, "|u1", n, dataset->height, dataset->width, dataset->images, 1, error)
      || !write_npy (masks_path, "<u2", n, dataset->height, dataset->width, masks, 2, error))
    return FALSE;

  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "cases");
  json_builder_begin_array (builder);
  for (int c = 0; c < dataset->n_cases; c++)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, dataset->cases[c].id);
      json_builder_set_member_name (builder, "first_sample");
      json_builder_add_int_value (builder, (gint64) dataset->cases[c].first_sample);
      json_builder_set_member_name (builder, "n_samples");
      json_builder_add_int_value (builder, dataset->cases[c].n_samples);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = json_to_string (root, TRUE);
  g_autofree char *cases_path = g_build_filename (out_dir, "cases.json", NULL);
  return g_file_set_contents (cases_path, text, -1, error);
}
