#include "edit/recovery.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <zlib.h>

#include "core/nifti-io.h"
#include "core/pulmo-error.h"

/* The file, little-endian:
 *   "PULMOREC", u32 version, u32 0,
 *   u32 path length + the CT's absolute path, u32 64 + the CT's hash (hex),
 *   u32 dims[3],
 *   u32 label count, per label: u8 value, u8 rgba[4], u8 visible, u16 name length + name,
 *   u64 deflated size + the labels deflated (zlib),
 *   u32 CRC-32 of everything before it. */
#define MAGIC "PULMOREC"
#define VERSION 1
#define MAX_PATH_BYTES 65536
#define HASH_BYTES 64

char *
pulmo_recovery_ct_hash (PulmoVolume *ct)
{
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  for (int a = 0; a < 3; a++)
    {
      guint32 le = GUINT32_TO_LE ((guint32) dims[a]);
      g_checksum_update (checksum, (const guchar *) &le, 4);
    }
  const PulmoAffine *affine = pulmo_volume_get_affine (ct);
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      {
        char number[G_ASCII_DTOSTR_BUF_SIZE];
        g_ascii_formatd (number, sizeof number, "%.17g", affine->m[r][c]);
        g_checksum_update (checksum, (const guchar *) number, (gssize) strlen (number) + 1);
      }
  gsize n = pulmo_volume_get_n_voxels (ct);
  const guchar *voxels = pulmo_volume_get_int16 (ct) ? (const guchar *) pulmo_volume_get_int16 (ct)
                                                     : (const guchar *) pulmo_volume_get_float (ct);
  gsize bytes = n * (pulmo_volume_get_int16 (ct) ? 2 : 4);
  /* g_checksum_update takes a gssize: feed it in pieces. */
  for (gsize done = 0; done < bytes;)
    {
      gsize piece = MIN (bytes - done, (gsize) 1 << 30);
      g_checksum_update (checksum, voxels + done, (gssize) piece);
      done += piece;
    }
  return g_strdup (g_checksum_get_string (checksum));
}

char *
pulmo_recovery_path (const char *ct_path)
{
  g_autofree char *absolute = g_canonicalize_filename (ct_path, NULL);
  g_autofree char *name = g_compute_checksum_for_string (G_CHECKSUM_SHA256, absolute, -1);
  g_autofree char *file = g_strconcat (name, ".pulmo-recovery", NULL);
  return g_build_filename (g_get_user_state_dir (), "pulmo", "recovery", file, NULL);
}

/* ---- Writing ----------------------------------------------------------- */

static void
put_u32 (GByteArray *out, guint32 value)
{
  guint32 le = GUINT32_TO_LE (value);
  g_byte_array_append (out, (const guint8 *) &le, 4);
}

static void
put_u64 (GByteArray *out, guint64 value)
{
  guint64 le = GUINT64_TO_LE (value);
  g_byte_array_append (out, (const guint8 *) &le, 8);
}

static void
put_bytes (GByteArray *out, const char *text, gsize length)
{
  put_u32 (out, (guint32) length);
  g_byte_array_append (out, (const guint8 *) text, (guint) length);
}

/* Appends @n labels deflated, preceded by their deflated size. */
static void
put_deflated (GByteArray *out, const uint8_t *labels, gsize n)
{
  guint size_at = out->len;
  put_u64 (out, 0);
  z_stream zs = { 0 };
  /* Z_RLE at level 1: label maps are long runs of few values. */
  if (deflateInit2 (&zs, 1, Z_DEFLATED, 15, 8, Z_RLE) != Z_OK)
    g_error ("zlib: deflateInit2 failed");
  guint8 chunk[1 << 16];
  gsize offset = 0;
  int ret;
  do
    {
      gsize in = MIN (n - offset, (gsize) 1 << 30);
      zs.next_in = (Bytef *) labels + offset;
      zs.avail_in = (uInt) in;
      int flush = offset + in == n ? Z_FINISH : Z_NO_FLUSH;
      do
        {
          zs.next_out = chunk;
          zs.avail_out = sizeof chunk;
          ret = deflate (&zs, flush);
          g_byte_array_append (out, chunk, (guint) (sizeof chunk - zs.avail_out));
        }
      while (zs.avail_out == 0);
      offset += in - zs.avail_in;
    }
  while (ret != Z_STREAM_END);
  deflateEnd (&zs);
  guint64 deflated = GUINT64_TO_LE ((guint64) (out->len - size_at - 8));
  memcpy (out->data + size_at, &deflated, 8);
}

static gboolean
write_contents (int fd, gpointer user_data)
{
  GByteArray *contents = user_data;
  return pulmo_write_all (fd, contents->data, contents->len);
}

gboolean
pulmo_recovery_write (const char *path, const char *ct_path, const char *ct_hash, PulmoVolume *ct,
                      const uint8_t *labels, const PulmoLabelTable *table, GError **error)
{
  g_autofree char *absolute = g_canonicalize_filename (ct_path, NULL);
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_byte_array_append (out, (const guint8 *) MAGIC, 8);
  put_u32 (out, VERSION);
  put_u32 (out, 0);
  put_bytes (out, absolute, MIN (strlen (absolute), MAX_PATH_BYTES));
  put_bytes (out, ct_hash, MIN (strlen (ct_hash), HASH_BYTES));
  for (int a = 0; a < 3; a++)
    put_u32 (out, (guint32) dims[a]);

  uint8_t values[256];
  int n_labels = pulmo_label_table_list (table, values);
  put_u32 (out, (guint32) n_labels);
  for (int l = 0; l < n_labels; l++)
    {
      const PulmoLabel *label = pulmo_label_table_get (table, values[l]);
      g_byte_array_append (out, &label->value, 1);
      g_byte_array_append (out, label->rgba, 4);
      guint8 visible = label->visible ? 1 : 0;
      g_byte_array_append (out, &visible, 1);
      guint16 length = (guint16) MIN (strlen (label->name), G_MAXUINT16);
      guint16 le = GUINT16_TO_LE (length);
      g_byte_array_append (out, (const guint8 *) &le, 2);
      g_byte_array_append (out, (const guint8 *) label->name, length);
    }
  put_deflated (out, labels, pulmo_volume_get_n_voxels (ct));
  uLong crc = crc32 (0, out->data, out->len);
  put_u32 (out, (guint32) crc);

  g_autofree char *folder = g_path_get_dirname (path);
  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      int saved = errno;
      g_autofree char *display = g_filename_display_name (folder);
      return g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("Cannot make the recovery folder %s: %s"),
                          display, g_strerror (saved)), FALSE;
    }
  return pulmo_write_file_atomically (path, write_contents, out, error);
}

/* ---- Reading ----------------------------------------------------------- */

typedef struct {
  const guint8 *p;
  gsize left;
} Reader;

static gboolean
take (Reader *r, gsize n, const guint8 **bytes)
{
  if (n > r->left)
    return FALSE;
  *bytes = r->p;
  r->p += n;
  r->left -= n;
  return TRUE;
}

static gboolean
get_u32 (Reader *r, guint32 *value)
{
  const guint8 *b;
  if (!take (r, 4, &b))
    return FALSE;
  *value = (guint32) b[0] | (guint32) b[1] << 8 | (guint32) b[2] << 16 | (guint32) b[3] << 24;
  return TRUE;
}

static gboolean
get_u64 (Reader *r, guint64 *value)
{
  guint32 lo, hi;
  if (!get_u32 (r, &lo) || !get_u32 (r, &hi))
    return FALSE;
  *value = (guint64) hi << 32 | lo;
  return TRUE;
}

/* A length-prefixed string of at most @max bytes, NUL-terminated in a copy. */
static char *
get_text (Reader *r, guint32 max)
{
  guint32 length;
  const guint8 *bytes;
  if (!get_u32 (r, &length) || length > max || !take (r, length, &bytes))
    return NULL;
  return g_strndup ((const char *) bytes, length);
}

/* Inflates exactly @n bytes into @out from the whole of @in. */
static gboolean
inflate_exactly (const guint8 *in, guint64 in_size, uint8_t *out, gsize n)
{
  z_stream zs = { 0 };
  if (inflateInit (&zs) != Z_OK)
    return FALSE;
  gboolean ok = TRUE;
  gsize in_done = 0, out_done = 0;
  int ret = Z_OK;
  while (ok && ret != Z_STREAM_END)
    {
      if (zs.avail_in == 0)
        {
          if (in_done == in_size)
            {
              ok = FALSE;
              break;
            }
          zs.next_in = (Bytef *) in + in_done;
          zs.avail_in = (uInt) MIN (in_size - in_done, (guint64) 1 << 30);
          in_done += zs.avail_in;
        }
      if (zs.avail_out == 0)
        {
          if (out_done == n)
            {
              ok = FALSE; /* more labels than the grid holds */
              break;
            }
          zs.next_out = out + out_done;
          zs.avail_out = (uInt) MIN (n - out_done, (gsize) 1 << 30);
          out_done += zs.avail_out;
        }
      ret = inflate (&zs, Z_NO_FLUSH);
      ok = ret == Z_OK || ret == Z_STREAM_END;
    }
  ok = ok && zs.avail_out == 0 && out_done == n && zs.avail_in == 0 && in_done == in_size;
  inflateEnd (&zs);
  return ok;
}

PulmoLabelMap *
pulmo_recovery_read (const char *path, PulmoVolume *ct, const char *ct_hash, GError **error)
{
  g_autofree char *display = g_filename_display_name (path);
  g_autoptr (GError) local = NULL;
  g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, &local);
  if (file == NULL)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND, "%s: %s", display, local->message), NULL;
  const guint8 *data = (const guint8 *) g_mapped_file_get_contents (file);
  gsize size = g_mapped_file_get_length (file);

#define DAMAGED(what) \
  (g_set_error (error, PULMO_ERROR, PULMO_ERROR_CORRUPT, _("%s: the recovery file is damaged (%s)"), display, what), \
   (PulmoLabelMap *) NULL)

  if (size < 8 + 4 || memcmp (data, MAGIC, 8) != 0)
    return DAMAGED (_("not a Pulmo recovery file"));
  Reader r = { data + 8, size - 8 };
  guint32 version, flags;
  if (!get_u32 (&r, &version))
    return DAMAGED (_("truncated"));
  if (version > VERSION)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED,
                        _("%s: the recovery file is from a newer Pulmo (format %u; this one reads %d)"),
                        display, version, VERSION), NULL;
  if (size < 8 + 4 + 4 || crc32 (0, data, (uInt) MIN (size - 4, (gsize) G_MAXUINT32)) != (uLong) (
        data[size - 4] | (guint32) data[size - 3] << 8 | (guint32) data[size - 2] << 16
        | (guint32) data[size - 1] << 24) || size - 4 > G_MAXUINT32)
    return DAMAGED (_("checksum mismatch"));
  r.left -= 4; /* the CRC */

  g_autofree char *stored_path = NULL, *stored_hash = NULL;
  guint32 stored_dims[3], n_labels;
  if (!get_u32 (&r, &flags) || (stored_path = get_text (&r, MAX_PATH_BYTES)) == NULL
      || (stored_hash = get_text (&r, HASH_BYTES)) == NULL || !get_u32 (&r, &stored_dims[0])
      || !get_u32 (&r, &stored_dims[1]) || !get_u32 (&r, &stored_dims[2]) || !get_u32 (&r, &n_labels)
      || n_labels > 255)
    return DAMAGED (_("header"));
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  if (stored_dims[0] != (guint32) dims[0] || stored_dims[1] != (guint32) dims[1]
      || stored_dims[2] != (guint32) dims[2] || strcmp (stored_hash, ct_hash) != 0)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_GRID_MISMATCH,
                        _("%s: these edits were made on another CT, or the CT file has changed since"), display),
           NULL;

  g_autoptr (PulmoLabelTable) table = pulmo_label_table_new ();
  for (guint32 l = 0; l < n_labels; l++)
    {
      const guint8 *entry, *name;
      if (!take (&r, 8, &entry))
        return DAMAGED (_("label table"));
      guint16 length = (guint16) (entry[6] | entry[7] << 8);
      if (!take (&r, length, &name) || entry[0] == 0)
        return DAMAGED (_("label table"));
      g_autofree char *text = g_strndup ((const char *) name, length);
      if (!g_utf8_validate (text, -1, NULL))
        return DAMAGED (_("label name"));
      pulmo_label_table_set (table, entry[0], text, entry + 1);
      pulmo_label_table_set_visible (table, entry[0], entry[5] != 0);
    }
  guint64 deflated_size;
  const guint8 *deflated;
  if (!get_u64 (&r, &deflated_size) || deflated_size != r.left || !take (&r, r.left, &deflated))
    return DAMAGED (_("labels"));

  /* The allocation is the CT's own size, whatever the file claims. */
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  if (!inflate_exactly (deflated, deflated_size, pulmo_label_map_get_data_mutable (map),
                        pulmo_volume_get_n_voxels (ct)))
    return DAMAGED (_("labels"));
  pulmo_label_map_set_table (map, table);
#undef DAMAGED
  return g_steal_pointer (&map);
}

void
pulmo_recovery_discard (const char *path)
{
  g_unlink (path);
}

/* ---- Autosave ---------------------------------------------------------- */

/* How long after a change the write starts: a burst of strokes makes one write. */
#define DELAY_US (300 * G_TIME_SPAN_MILLISECOND)
/* How often the main thread retries copying a change the writer kept it from. */
#define RETRY_MS 50

struct _PulmoAutosave {
  PulmoLabelMap *map;
  PulmoVolume *ct;
  char *ct_path, *ct_hash, *path;
  gulong changed_id, table_id;

  /* Main thread only: the box of changes not yet copied (the writer held the lock). */
  gboolean has_pending;
  PulmoBox pending;
  gboolean table_pending;
  guint retry_source;

  /* Under lock: the labels and table as last copied, and the writer's state. */
  GMutex lock;
  GCond cond;
  uint8_t *shadow;
  PulmoLabelTable *table;
  guint64 copied, written;   /* changes copied into the shadow, and those on disk */
  gint64 due_us;             /* when to write; 0: nothing to write */
  gboolean stop;
  GError *error;
  GThread *thread;

  /* Main thread only: the copy of `error` get_error last returned. */
  GError *reported_error;
};

static void
union_box (PulmoBox *into, const PulmoBox *box)
{
  for (int a = 0; a < 3; a++)
    {
      into->lo[a] = MIN (into->lo[a], box->lo[a]);
      into->hi[a] = MAX (into->hi[a], box->hi[a]);
    }
}

/* Copies the pending box and table into the shadow; lock held. */
static void
copy_pending (PulmoAutosave *autosave)
{
  if (autosave->has_pending)
    {
      int dims[3];
      pulmo_volume_get_dims (autosave->ct, dims);
      const uint8_t *labels = pulmo_label_map_get_data (autosave->map);
      const PulmoBox *b = &autosave->pending;
      gsize n = (gsize) (b->hi[0] - b->lo[0] + 1);
      for (int k = MAX (b->lo[2], 0); k <= MIN (b->hi[2], dims[2] - 1); k++)
        for (int j = MAX (b->lo[1], 0); j <= MIN (b->hi[1], dims[1] - 1); j++)
          {
            gsize at = ((gsize) k * dims[1] + j) * dims[0] + b->lo[0];
            memcpy (autosave->shadow + at, labels + at, n);
          }
    }
  if (autosave->table_pending)
    {
      pulmo_label_table_free (autosave->table);
      autosave->table = pulmo_label_table_copy (pulmo_label_map_get_table (autosave->map));
    }
  if (autosave->has_pending || autosave->table_pending)
    {
      autosave->copied++;
      if (autosave->due_us == 0)
        autosave->due_us = g_get_monotonic_time () + DELAY_US;
      g_cond_broadcast (&autosave->cond);
    }
  autosave->has_pending = autosave->table_pending = FALSE;
}

static gboolean retry_copy (gpointer data);

/* Copies what changed unless the writer holds the shadow; then tries again soon. */
static void
try_copy (PulmoAutosave *autosave)
{
  if (g_mutex_trylock (&autosave->lock))
    {
      copy_pending (autosave);
      g_mutex_unlock (&autosave->lock);
      g_clear_handle_id (&autosave->retry_source, g_source_remove);
    }
  else if (autosave->retry_source == 0)
    autosave->retry_source = g_timeout_add (RETRY_MS, retry_copy, autosave);
}

static gboolean
retry_copy (gpointer data)
{
  PulmoAutosave *autosave = data;
  autosave->retry_source = 0;
  try_copy (autosave);
  return G_SOURCE_REMOVE;
}

static void
on_changed (PulmoLabelMap *map, const PulmoBox *box, PulmoAutosave *autosave)
{
  if (autosave->has_pending)
    union_box (&autosave->pending, box);
  else
    autosave->pending = *box;
  autosave->has_pending = TRUE;
  try_copy (autosave);
}

static void
on_table_changed (PulmoLabelMap *map, PulmoAutosave *autosave)
{
  autosave->table_pending = TRUE;
  try_copy (autosave);
}

/* Writes the shadow; lock held, as the main thread may not change it meanwhile. */
static void
write_shadow (PulmoAutosave *autosave)
{
  guint64 copied = autosave->copied;
  g_autoptr (GError) error = NULL;
  autosave->due_us = 0;
  gboolean ok = pulmo_recovery_write (autosave->path, autosave->ct_path, autosave->ct_hash, autosave->ct,
                                      autosave->shadow, autosave->table, &error);
  g_clear_error (&autosave->error);
  if (ok)
    autosave->written = copied;
  else
    autosave->error = g_steal_pointer (&error);
  g_cond_broadcast (&autosave->cond);
}

static gpointer
writer (gpointer data)
{
  PulmoAutosave *autosave = data;
  g_mutex_lock (&autosave->lock);
  while (!autosave->stop)
    {
      if (autosave->due_us == 0)
        g_cond_wait (&autosave->cond, &autosave->lock);
      else if (!g_cond_wait_until (&autosave->cond, &autosave->lock, autosave->due_us))
        write_shadow (autosave);
    }
  g_mutex_unlock (&autosave->lock);
  return NULL;
}

PulmoAutosave *
pulmo_autosave_new (PulmoLabelMap *map, const char *ct_path, const char *ct_hash)
{
  PulmoAutosave *autosave = g_new0 (PulmoAutosave, 1);
  autosave->map = g_object_ref (map);
  autosave->ct = pulmo_volume_ref (pulmo_label_map_get_volume (map));
  autosave->ct_path = g_strdup (ct_path);
  autosave->ct_hash = g_strdup (ct_hash);
  autosave->path = pulmo_recovery_path (ct_path);
  autosave->shadow = g_memdup2 (pulmo_label_map_get_data (map), pulmo_volume_get_n_voxels (autosave->ct));
  autosave->table = pulmo_label_table_copy (pulmo_label_map_get_table (map));
  g_mutex_init (&autosave->lock);
  g_cond_init (&autosave->cond);
  autosave->changed_id = g_signal_connect (map, "changed", G_CALLBACK (on_changed), autosave);
  autosave->table_id = g_signal_connect (map, "table-changed", G_CALLBACK (on_table_changed), autosave);
  autosave->thread = g_thread_new ("pulmo-autosave", writer, autosave);
  return autosave;
}

gboolean
pulmo_autosave_flush (PulmoAutosave *autosave, GError **error)
{
  g_mutex_lock (&autosave->lock);
  copy_pending (autosave);
  g_clear_handle_id (&autosave->retry_source, g_source_remove);
  if (autosave->written != autosave->copied)
    write_shadow (autosave);
  gboolean ok = autosave->error == NULL;
  if (!ok)
    g_propagate_error (error, g_error_copy (autosave->error));
  g_mutex_unlock (&autosave->lock);
  return ok;
}

const GError *
pulmo_autosave_get_error (PulmoAutosave *autosave)
{
  /* A copy: the writer frees its own error when it next writes. */
  g_clear_error (&autosave->reported_error);
  g_mutex_lock (&autosave->lock);
  if (autosave->error != NULL)
    autosave->reported_error = g_error_copy (autosave->error);
  g_mutex_unlock (&autosave->lock);
  return autosave->reported_error;
}

const char *
pulmo_autosave_get_path (PulmoAutosave *autosave)
{
  return autosave->path;
}

void
pulmo_autosave_free (PulmoAutosave *autosave, gboolean discard)
{
  if (autosave == NULL)
    return;
  /* Edits not yet on disk are written first, unless they are being thrown away. */
  if (!discard)
    pulmo_autosave_flush (autosave, NULL);
  g_mutex_lock (&autosave->lock);
  autosave->stop = TRUE;
  g_cond_broadcast (&autosave->cond);
  g_mutex_unlock (&autosave->lock);
  g_thread_join (autosave->thread);
  g_clear_handle_id (&autosave->retry_source, g_source_remove);
  g_signal_handler_disconnect (autosave->map, autosave->changed_id);
  g_signal_handler_disconnect (autosave->map, autosave->table_id);
  if (discard)
    pulmo_recovery_discard (autosave->path);
  g_mutex_clear (&autosave->lock);
  g_cond_clear (&autosave->cond);
  g_clear_error (&autosave->error);
  g_clear_error (&autosave->reported_error);
  pulmo_label_table_free (autosave->table);
  g_free (autosave->shadow);
  g_free (autosave->ct_path);
  g_free (autosave->ct_hash);
  g_free (autosave->path);
  pulmo_volume_unref (autosave->ct);
  g_object_unref (autosave->map);
  g_free (autosave);
}
