#include "core/label-description.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/pulmo-error.h"

/* The seven numbers before the quoted name. */
enum { FIELD_VALUE, FIELD_RED, FIELD_GREEN, FIELD_BLUE, FIELD_ALPHA, FIELD_VISIBLE, FIELD_MESH, N_FIELDS };

typedef struct {
  uint8_t value;
  uint8_t rgba[4];
  gboolean visible;
  char *name;
} Entry;

/* A field of the file as a message may quote it: valid UTF-8 (the window
 * shows the message), at most 24 characters. */
static char *
quotable (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  if (g_utf8_strlen (valid, -1) <= 24)
    return g_steal_pointer (&valid);
  g_autofree char *start = g_utf8_substring (valid, 0, 24);
  return g_strconcat (start, "…", NULL);
}

static gboolean
parse_integer (const char *text, guint64 max, guint64 *out, const char *what, char **why)
{
  if (!g_ascii_string_to_unsigned (text, 10, 0, max, out, NULL))
    {
      g_autofree char *shown = quotable (text);
      /* Translators: the first %s is a column of the file ("the value", or red, green, blue, visible, mesh). */
      *why = g_strdup_printf (_("%s “%s” is not a whole number from 0 to %" PRIu64), what, shown, max);
      return FALSE;
    }
  return TRUE;
}

/* Parses one label line into @entry; on failure *why says what is wrong. */
static gboolean
parse_line (const char *line, Entry *entry, char **why)
{
  const char *open = strchr (line, '"');
  const char *close = open != NULL ? strrchr (line, '"') : NULL;
  if (open == NULL || close == open)
    {
      *why = g_strdup (_("the label's name must stand last, in double quotes"));
      return FALSE;
    }
  for (const char *rest = close + 1; *rest != '\0'; rest++)
    if (!g_ascii_isspace (*rest))
      {
        *why = g_strdup (_("text after the label's quoted name"));
        return FALSE;
      }

  g_autofree char *numbers = g_strndup (line, open - line);
  g_auto (GStrv) tokens = g_strsplit_set (numbers, " \t", -1);
  const char *fields[N_FIELDS];
  int n = 0;
  for (char **t = tokens; *t != NULL; t++)
    if (**t != '\0')
      {
        if (n == N_FIELDS)
          {
            *why = g_strdup (_("more than seven numbers before the name"));
            return FALSE;
          }
        fields[n++] = *t;
      }
  if (n != N_FIELDS)
    {
      *why = g_strdup_printf (_("%d numbers before the name; a label has seven "
                                "(value, red, green, blue, opacity, visible, mesh)"), n);
      return FALSE;
    }

  /* The colour columns keep the file format's own names. */
  const char *const names[] = { _("the value"), "red", "green", "blue" };
  guint64 number[4], visible, mesh;
  for (int f = FIELD_VALUE; f <= FIELD_BLUE; f++)
    if (!parse_integer (fields[f], 255, &number[f], names[f], why))
      return FALSE;
  if (!parse_integer (fields[FIELD_VISIBLE], 1, &visible, "visible", why)
      || !parse_integer (fields[FIELD_MESH], 1, &mesh, "mesh", why))
    return FALSE;
  char *end = NULL;
  double alpha = g_ascii_strtod (fields[FIELD_ALPHA], &end);
  if (end == fields[FIELD_ALPHA] || *end != '\0' || !(alpha >= 0.0 && alpha <= 1.0))
    {
      g_autofree char *shown = quotable (fields[FIELD_ALPHA]);
      *why = g_strdup_printf (_("opacity “%s” is not a number from 0 to 1"), shown);
      return FALSE;
    }

  g_autofree char *name = g_strndup (open + 1, close - open - 1);
  if (!g_utf8_validate (name, -1, NULL))
    {
      *why = g_strdup (_("the name is not UTF-8 text"));
      return FALSE;
    }
  entry->value = (uint8_t) number[FIELD_VALUE];
  for (int c = 0; c < 3; c++)
    entry->rgba[c] = (uint8_t) number[FIELD_RED + c];
  entry->rgba[3] = (uint8_t) lround (alpha * 255.0);
  entry->visible = visible != 0;
  entry->name = g_steal_pointer (&name);
  return TRUE;
}

/* Reads at most PULMO_LABEL_DESCRIPTION_MAX_BYTES: a larger file is refused
 * without reading the rest. */
static gboolean
read_text (const char *path, char **contents, GError **error)
{
  FILE *file = g_fopen (path, "rb");
  if (file == NULL)
    {
      int saved = errno;
      g_set_error (error, PULMO_ERROR, saved == ENOENT ? PULMO_ERROR_NOT_FOUND : PULMO_ERROR_IO,
                   _("%s: cannot open: %s"), path, g_strerror (saved));
      return FALSE;
    }
  g_autofree char *text = g_malloc (PULMO_LABEL_DESCRIPTION_MAX_BYTES + 2);
  size_t length = fread (text, 1, PULMO_LABEL_DESCRIPTION_MAX_BYTES + 1, file);
  int saved = errno;
  gboolean failed = ferror (file);
  fclose (file);
  if (failed)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("%s: cannot read: %s"), path, g_strerror (saved));
      return FALSE;
    }
  if (length > PULMO_LABEL_DESCRIPTION_MAX_BYTES)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE,
                   _("%s: too large for a label description (more than %d bytes)"), path,
                   PULMO_LABEL_DESCRIPTION_MAX_BYTES);
      return FALSE;
    }
  if (memchr (text, '\0', length) != NULL)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                   _("%s: not a label description (it holds binary data)"), path);
      return FALSE;
    }
  text[length] = '\0';
  *contents = g_steal_pointer (&text);
  return TRUE;
}

PulmoLabelTable *
pulmo_label_description_load (const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  if (!read_text (path, &contents, error))
    return NULL;

  g_autoptr (PulmoLabelTable) table = pulmo_label_table_new ();
  int line_of[256] = { 0 };
  int n_labels = 0;
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  for (int l = 0; lines[l] != NULL; l++)
    {
      char *line = g_strstrip (lines[l]); /* also drops a Windows line end's \r */
      if (*line == '\0' || *line == '#')
        continue;
      Entry entry = { 0 };
      g_autofree char *why = NULL;
      if (!parse_line (line, &entry, &why))
        {
          g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                       _("%s, line %d: %s (a label description line reads: "
                       "value red green blue opacity visible mesh \"name\")"),
                       path, l + 1, why);
          return NULL;
        }
      g_autofree char *name = entry.name;
      if (line_of[entry.value] != 0)
        {
          g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                       _("%s, line %d: value %u is already described on line %d"), path, l + 1,
                       entry.value, line_of[entry.value]);
          return NULL;
        }
      line_of[entry.value] = l + 1;
      /* ITK-SNAP's value 0 is its eraser ("Clear Label"): Pulmo keeps its background. */
      if (entry.value == PULMO_LABEL_BACKGROUND)
        continue;
      pulmo_label_table_set (table, entry.value, name, entry.rgba);
      pulmo_label_table_set_visible (table, entry.value, entry.visible);
      n_labels++;
    }
  if (n_labels == 0)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                   _("%s: describes no label other than background (is it an ITK-SNAP label description?)"),
                   path);
      return NULL;
    }
  return g_steal_pointer (&table);
}

gboolean
pulmo_label_description_save (const PulmoLabelTable *table, const char *path, GError **error)
{
  GString *text = g_string_new ("# ITK-SNAP Label Description File, written by Pulmo\n"
                                "# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL\n"
                                "    0     0    0    0     0    0   0  \"Clear Label\"\n");
  uint8_t values[256];
  int n = pulmo_label_table_list (table, values);
  for (int e = 0; e < n; e++)
    {
      const PulmoLabel *label = pulmo_label_table_get (table, values[e]);
      /* Four decimals bring the reader's lround (opacity × 255) back to the same byte. */
      char opacity[G_ASCII_DTOSTR_BUF_SIZE];
      g_ascii_formatd (opacity, sizeof opacity, "%.4f", label->rgba[3] / 255.0);
      g_autofree char *name = g_strdup (label->name);
      g_strdelimit (name, "\r\n", ' ');
      g_string_append_printf (text, "%5u %5u %4u %4u %6s %4d %3d  \"%s\"\n", label->value, label->rgba[0],
                              label->rgba[1], label->rgba[2], opacity, label->visible ? 1 : 0, 1, name);
    }
  g_autoptr (GError) local = NULL;
  gboolean ok = g_file_set_contents (path, text->str, text->len, &local);
  g_string_free (text, TRUE);
  if (!ok)
    g_set_error_literal (error, PULMO_ERROR, PULMO_ERROR_IO, local->message);  /* it names the file */
  return ok;
}
