/* slice-labels.c: see slice-labels.h. */
#include "train/slice-labels.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "core/pulmo-error.h"


gboolean
pulmo_eval_read_slice_labels (const char *path, int n_slices, gint8 *infected, GError **error)
{
  g_autofree char *display = g_filename_display_name (path);
  g_autofree char *text = NULL;
  gsize length;
  g_autoptr (GError) local_error = NULL;
  memset (infected, -1, n_slices);
  if (!g_file_get_contents (path, &text, &length, &local_error))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND, "%s", local_error->message),
           FALSE;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  int z_column = -1, infected_column = -1;
  if (lines[0] != NULL)
    {
      g_auto (GStrv) header = g_strsplit (g_strstrip (lines[0]), ",", -1);
      for (int c = 0; header[c] != NULL; c++)
        {
          if (g_strcmp0 (g_strstrip (header[c]), "z") == 0)
            z_column = c;
          else if (g_strcmp0 (header[c], "infected") == 0)
            infected_column = c;
        }
    }
  if (z_column < 0 || infected_column < 0)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("%s: the first row must name the columns “z” and “infected”"), display),
           FALSE;
  for (int row = 1; lines[row] != NULL; row++)
    {
      if (*g_strstrip (lines[row]) == '\0')
        continue;
      g_auto (GStrv) fields = g_strsplit (lines[row], ",", -1);
      guint n = g_strv_length (fields);
      guint64 z, value;
      if ((guint) MAX (z_column, infected_column) >= n ||
          !g_ascii_string_to_unsigned (g_strstrip (fields[z_column]), 10, 0, (guint64) n_slices - 1,
                                       &z, NULL) ||
          !g_ascii_string_to_unsigned (g_strstrip (fields[infected_column]), 10, 0, 1, &value, NULL))
        return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                            _("%s, row %d: expected a slice from 0 to %d and 0 or 1"), display, row + 1,
                            n_slices - 1), FALSE;
      infected[z] = (gint8) value;
    }
  return TRUE;
}

void
pulmo_eval_slices (const uint8_t *pred, const int dims[3], double pixel_area_mm2,
                   double min_area_mm2, const gint8 *infected, PulmoEvalSliceAgreement *agreement)
{
  memset (agreement, 0, sizeof *agreement);
  size_t plane = (size_t) dims[0] * dims[1];
  for (int k = 0; k < dims[2]; k++)
    {
      if (infected[k] < 0)
        continue;
      const uint8_t *slice = pred + k * plane;
      size_t lesion = 0;
      for (size_t i = 0; i < plane; i++)
        lesion += slice[i] == 3 || slice[i] == 4 || slice[i] == 7;
      gboolean found = lesion * pixel_area_mm2 >= min_area_mm2;
      if (infected[k])
        {
          agreement->infected++;
          agreement->infected_found += found;
        }
      else
        {
          agreement->clean++;
          agreement->clean_found += found;
        }
    }
}
