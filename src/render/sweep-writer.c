#include "render/sweep-writer.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/pulmo-error.h"

struct _PulmoSweepWriter {
  char *path;          /* what the user asked for */
  char *temp_path;     /* the APNG being written */
  PulmoSweepFormat format;
  int width, height, n_frames, n_written;
  uint16_t delay_num, delay_den;
  FILE *file;          /* the APNG, or the series' current PNG */
  guint32 sequence;    /* APNG chunk sequence number: fcTL and fdAT share it */
  uint8_t *raw;        /* one frame's filtered scanlines */
  uint8_t *packed;     /* … deflated */
  size_t raw_bytes, packed_capacity;
};

static const uint8_t png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

static void
put_be32 (uint8_t *p, guint32 value)
{
  p[0] = value >> 24;
  p[1] = value >> 16;
  p[2] = value >> 8;
  p[3] = value;
}

static gboolean
write_failed (PulmoSweepWriter *writer, const char *path, GError **error)
{
  int saved = errno;
  /* Translators: a file's path, then the system's reason. */
  g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("Could not write %s: %s"), path, g_strerror (saved));
  return FALSE;
}

/* A PNG chunk: length, type, @head (a sequence number, or NULL), @data, CRC over type and all data. */
static gboolean
write_chunk (PulmoSweepWriter *writer, const char *path, const char type[4], const uint8_t *head,
             size_t head_bytes, const uint8_t *data, size_t data_bytes, GError **error)
{
  uint8_t prefix[8], crc_bytes[4];
  put_be32 (prefix, (guint32) (head_bytes + data_bytes));
  memcpy (prefix + 4, type, 4);
  uLong crc = crc32 (0, (const Bytef *) type, 4);
  if (head_bytes > 0)
    crc = crc32 (crc, head, (uInt) head_bytes);
  if (data_bytes > 0)
    crc = crc32 (crc, data, (uInt) data_bytes);
  put_be32 (crc_bytes, (guint32) crc);
  if (fwrite (prefix, 1, 8, writer->file) != 8
      || (head_bytes > 0 && fwrite (head, 1, head_bytes, writer->file) != head_bytes)
      || (data_bytes > 0 && fwrite (data, 1, data_bytes, writer->file) != data_bytes)
      || fwrite (crc_bytes, 1, 4, writer->file) != 4)
    return write_failed (writer, path, error);
  return TRUE;
}

/* The signature and IHDR: 8-bit RGB, no interlace. */
static gboolean
write_header (PulmoSweepWriter *writer, const char *path, GError **error)
{
  uint8_t ihdr[13] = { 0 };
  put_be32 (ihdr, (guint32) writer->width);
  put_be32 (ihdr + 4, (guint32) writer->height);
  ihdr[8] = 8;
  ihdr[9] = 2;
  if (fwrite (png_signature, 1, 8, writer->file) != 8)
    return write_failed (writer, path, error);
  return write_chunk (writer, path, "IHDR", NULL, 0, ihdr, sizeof ihdr, error);
}

static gboolean
open_file (PulmoSweepWriter *writer, const char *path, GError **error)
{
  writer->file = g_fopen (path, "wb");
  if (writer->file == NULL)
    return write_failed (writer, path, error);
  return write_header (writer, path, error);
}

static gboolean
close_file (PulmoSweepWriter *writer, const char *path, GError **error)
{
  gboolean written = write_chunk (writer, path, "IEND", NULL, 0, NULL, 0, error);
  /* fsync before the rename: a crash leaves the old file or the whole new one. */
  if (written && (fflush (writer->file) != 0 || fsync (fileno (writer->file)) != 0))
    written = write_failed (writer, path, error);
  if (fclose (writer->file) != 0 && written)
    written = write_failed (writer, path, error);
  writer->file = NULL;
  return written;
}

char *
pulmo_sweep_series_path (const char *path, int index)
{
  const char *dot = strrchr (path, '.');
  const char *slash = strrchr (path, G_DIR_SEPARATOR);
  size_t stem = dot != NULL && (slash == NULL || dot > slash) ? (size_t) (dot - path) : strlen (path);
  return g_strdup_printf ("%.*s-%03d.png", (int) stem, path, index + 1);
}

PulmoSweepWriter *
pulmo_sweep_writer_new (const char *path, PulmoSweepFormat format, int width, int height, int n_frames,
                        double fps, GError **error)
{
  if (width < 1 || height < 1 || width > PULMO_SWEEP_MAX_SIDE || height > PULMO_SWEEP_MAX_SIDE
      || n_frames < 1 || n_frames > PULMO_SWEEP_MAX_FRAMES)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE,
                   /* Translators: a sweep's frame size and count, then the limits. */
                   _("A sweep of %d frames of %d×%d pixels is outside Pulmo's limits (1 to %d frames, "
                     "sides of 1 to %d pixels)"),
                   n_frames, width, height, PULMO_SWEEP_MAX_FRAMES, PULMO_SWEEP_MAX_SIDE);
      return NULL;
    }
  if (!(fps >= 1.0 && fps <= 60.0))
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                   _("A sweep plays at 1 to 60 frames a second, not %g"), fps);
      return NULL;
    }
  g_autoptr (PulmoSweepWriter) writer = g_new0 (PulmoSweepWriter, 1);
  writer->path = g_strdup (path);
  writer->format = format;
  writer->width = width;
  writer->height = height;
  writer->n_frames = n_frames;
  /* The delay in hundredths of a second, as most players round it anyway. */
  writer->delay_num = (uint16_t) MAX (lround (100.0 / fps), 1);
  writer->delay_den = 100;
  writer->raw_bytes = (size_t) height * (1 + (size_t) width * 3);
  writer->raw = g_malloc (writer->raw_bytes);
  writer->packed_capacity = compressBound ((uLong) writer->raw_bytes);
  writer->packed = g_malloc (writer->packed_capacity);
  if (format == PULMO_SWEEP_APNG)
    {
      writer->temp_path = g_strconcat (path, ".part", NULL);
      if (!open_file (writer, writer->temp_path, error))
        return NULL;
      uint8_t actl[8];
      put_be32 (actl, (guint32) n_frames);
      put_be32 (actl + 4, 0); /* loop forever, as a sweep on a slide should */
      if (!write_chunk (writer, writer->temp_path, "acTL", NULL, 0, actl, sizeof actl, error))
        return NULL;
    }
  return g_steal_pointer (&writer);
}

/* Scanlines with the Sub filter: CT's smooth greys deflate far better than raw. */
static void
filter_frame (PulmoSweepWriter *writer, const uint32_t *pixels, int stride_bytes)
{
  uint8_t *line = writer->raw;
  for (int y = 0; y < writer->height; y++)
    {
      const uint32_t *row = (const uint32_t *) ((const uint8_t *) pixels + (ptrdiff_t) y * stride_bytes);
      *line++ = 1;
      uint8_t previous[3] = { 0, 0, 0 };
      for (int x = 0; x < writer->width; x++)
        {
          uint8_t rgb[3] = { (uint8_t) (row[x] >> 16), (uint8_t) (row[x] >> 8), (uint8_t) row[x] };
          for (int c = 0; c < 3; c++)
            {
              *line++ = (uint8_t) (rgb[c] - previous[c]);
              previous[c] = rgb[c];
            }
        }
    }
}

gboolean
pulmo_sweep_writer_add (PulmoSweepWriter *writer, const uint32_t *pixels, int stride_bytes, GError **error)
{
  g_return_val_if_fail (writer != NULL && writer->n_written < writer->n_frames, FALSE);
  filter_frame (writer, pixels, stride_bytes);
  uLongf packed_bytes = writer->packed_capacity;
  if (compress2 (writer->packed, &packed_bytes, writer->raw, (uLong) writer->raw_bytes, 6) != Z_OK)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("Could not compress frame %d of %s"),
                   writer->n_written + 1, writer->path);
      return FALSE;
    }
  int index = writer->n_written++;
  if (writer->format == PULMO_SWEEP_PNG_SERIES)
    {
      g_autofree char *path = pulmo_sweep_series_path (writer->path, index);
      return open_file (writer, path, error)
             && write_chunk (writer, path, "IDAT", NULL, 0, writer->packed, packed_bytes, error)
             && close_file (writer, path, error);
    }

  /* fcTL: every frame covers the whole image and replaces the last one. */
  uint8_t fctl[26] = { 0 };
  put_be32 (fctl, writer->sequence++);
  put_be32 (fctl + 4, (guint32) writer->width);
  put_be32 (fctl + 8, (guint32) writer->height);
  fctl[20] = writer->delay_num >> 8;
  fctl[21] = writer->delay_num & 0xff;
  fctl[22] = writer->delay_den >> 8;
  fctl[23] = writer->delay_den & 0xff;
  if (!write_chunk (writer, writer->temp_path, "fcTL", NULL, 0, fctl, sizeof fctl, error))
    return FALSE;
  /* The first frame is the IDAT that plain PNG readers show; the others are fdAT. */
  if (index == 0)
    return write_chunk (writer, writer->temp_path, "IDAT", NULL, 0, writer->packed, packed_bytes, error);
  uint8_t sequence[4];
  put_be32 (sequence, writer->sequence++);
  return write_chunk (writer, writer->temp_path, "fdAT", sequence, 4, writer->packed, packed_bytes, error);
}

gboolean
pulmo_sweep_writer_finish (PulmoSweepWriter *finished, GError **error)
{
  /* Finishing frees the writer, whatever the outcome. */
  g_autoptr (PulmoSweepWriter) writer = finished;
  if (writer->n_written != writer->n_frames)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, _("%s: %d of %d frames were written"),
                   writer->path, writer->n_written, writer->n_frames);
      return FALSE;
    }
  if (writer->format == PULMO_SWEEP_PNG_SERIES)
    return TRUE;
  if (!close_file (writer, writer->temp_path, error))
    return FALSE;
  if (g_rename (writer->temp_path, writer->path) != 0)
    return write_failed (writer, writer->path, error);
  g_clear_pointer (&writer->temp_path, g_free);
  return TRUE;
}

void
pulmo_sweep_writer_abort (PulmoSweepWriter *writer)
{
  if (writer == NULL)
    return;
  if (writer->file != NULL)
    fclose (writer->file);
  if (writer->temp_path != NULL)
    g_unlink (writer->temp_path);
  g_free (writer->temp_path);
  g_free (writer->path);
  g_free (writer->raw);
  g_free (writer->packed);
  g_free (writer);
}
