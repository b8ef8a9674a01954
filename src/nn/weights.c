/* weights.c: writing docs/model-format.md version 2, reading versions 1 and 2. */
#include "nn/weights.h"

#include "core/pulmo-error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "PULMONET"
#define HEADER_SIZE 32
/* The largest network's tensors plus generous room for names and labels. */
#define MAX_PAYLOAD ((guint64) PULMO_UNET_MAX_PARAMS * 4 + 16 * 1024 * 1024)

/* ---- Model information ------------------------------------------------- */

void
pulmo_model_info_clear (PulmoModelInfo *info)
{
  if (info == NULL)
    return;
  for (int i = 0; i < info->n_labels && info->labels != NULL; i++)
    g_free (info->labels[i].name);
  g_free (info->labels);
  memset (info, 0, sizeof *info);
}

static gboolean
window_ok (float low, float high)
{
  return isfinite (low) && isfinite (high) && low < high;
}

gboolean
pulmo_model_info_check (const PulmoModelInfo *info, const PulmoUNetConfig *config, GError **error)
{
  if (!window_ok (info->window_hu_low, info->window_hu_high))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("the HU window [%g, %g] is not an increasing pair of numbers"),
                        info->window_hu_low, info->window_hu_high), FALSE;
  if (!window_ok (info->window_gray8_low, info->window_gray8_high))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("the 8-bit window [%g, %g] is not an increasing pair of numbers"),
                        info->window_gray8_low, info->window_gray8_high), FALSE;
  if (info->normalisation != PULMO_NORMALISE_WINDOW &&
      info->normalisation != PULMO_NORMALISE_SLICE_MINMAX)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("normalisation %d is not one Pulmo knows"), (int) info->normalisation), FALSE;
  if (!isfinite (info->clahe_clip) || info->clahe_clip < 0 || info->clahe_clip > 1000)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("the CLAHE clip limit %g is not between 0 and 1000"), info->clahe_clip), FALSE;
  if (info->clahe_tiles < 1 || info->clahe_tiles > 64)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("%d CLAHE tiles per side: expected 1 to 64"), info->clahe_tiles), FALSE;
  int step = 1 << config->depth;
  if (info->input_width < step || info->input_width > PULMO_WEIGHTS_MAX_SIZE ||
      info->input_height < step || info->input_height > PULMO_WEIGHTS_MAX_SIZE ||
      info->input_width % step != 0 || info->input_height % step != 0)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("input size %d×%d: expected multiples of %d up to %d"),
                        info->input_width, info->input_height, step, PULMO_WEIGHTS_MAX_SIZE), FALSE;
  if (info->n_slices != config->in_channels)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("%d adjacent slices for a network with %d input channels"),
                        info->n_slices, config->in_channels), FALSE;
  if (info->n_labels != config->classes)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("%d labels for a network with %d classes"),
                        info->n_labels, config->classes), FALSE;
  gboolean seen[256] = { FALSE };
  for (int i = 0; i < info->n_labels; i++)
    {
      const PulmoModelLabel *label = &info->labels[i];
      size_t length = label->name ? strlen (label->name) : 0;
      if (length < 1 || length > 255 || !g_utf8_validate (label->name, -1, NULL))
        return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                            _("label %d: its name must be 1 to 255 bytes of UTF-8"), i), FALSE;
      if (seen[label->value])
        return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                            _("label value %u is used by two classes"), label->value), FALSE;
      seen[label->value] = TRUE;
    }
  return TRUE;
}

/* ---- Writing ----------------------------------------------------------- */

static void
put_u8 (GByteArray *out, guint8 v)
{
  g_byte_array_append (out, &v, 1);
}

static void
put_u32 (GByteArray *out, guint32 v)
{
  guint8 b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };
  g_byte_array_append (out, b, 4);
}

static void
put_u64 (GByteArray *out, guint64 v)
{
  put_u32 (out, (guint32) v);
  put_u32 (out, (guint32) (v >> 32));
}

static void
put_f32 (GByteArray *out, float f)
{
  guint32 v;
  memcpy (&v, &f, 4);
  put_u32 (out, v);
}

static void
put_name (GByteArray *out, const char *name)
{
  size_t length = strlen (name);
  put_u8 (out, (guint8) length);
  g_byte_array_append (out, (const guint8 *) name, (guint) length);
}

static GByteArray *
build_payload (const PulmoUNet *net, const PulmoModelInfo *info)
{
  const PulmoUNetConfig *config = pulmo_unet_get_config (net);
  GByteArray *out = g_byte_array_sized_new ((guint) MIN (pulmo_unet_config_n_values (config) * 4
                                                         + 65536, G_MAXUINT));
  put_u32 (out, (guint32) config->in_channels);
  put_u32 (out, (guint32) config->base);
  put_u32 (out, (guint32) config->depth);
  put_u32 (out, (guint32) config->classes);

  put_f32 (out, info->window_hu_low);
  put_f32 (out, info->window_hu_high);
  put_f32 (out, info->window_gray8_low);
  put_f32 (out, info->window_gray8_high);
  put_u32 (out, (guint32) info->input_width);
  put_u32 (out, (guint32) info->input_height);
  put_u32 (out, (guint32) info->n_slices);
  put_u32 (out, (guint32) info->normalisation);
  put_f32 (out, info->clahe_clip);
  put_u32 (out, (guint32) info->clahe_tiles);

  put_u32 (out, (guint32) info->n_labels);
  for (int i = 0; i < info->n_labels; i++)
    {
      put_u8 (out, info->labels[i].value);
      for (int k = 0; k < 4; k++)
        put_u8 (out, info->labels[i].rgba[k]);
      put_name (out, info->labels[i].name);
    }

  int n_params;
  const PulmoUNetParam *params = pulmo_unet_get_params (net, &n_params);
  put_u32 (out, (guint32) n_params);
  for (int i = 0; i < n_params; i++)
    {
      put_name (out, params[i].name);
      put_u8 (out, (guint8) params[i].ndim);
      for (int d = 0; d < params[i].ndim; d++)
        put_u32 (out, (guint32) params[i].shape[d]);
      size_t count = pulmo_tensor_numel (params[i].value);
      if (G_BYTE_ORDER == G_LITTLE_ENDIAN)
        g_byte_array_append (out, (const guint8 *) params[i].value->data, (guint) (count * 4));
      else
        for (size_t k = 0; k < count; k++)
          put_f32 (out, params[i].value->data[k]);
    }
  return out;
}

static gboolean
write_all (int fd, const guint8 *data, size_t size)
{
  while (size > 0)
    {
      ssize_t written = write (fd, data, size);
      if (written < 0 && errno == EINTR)
        continue;
      if (written <= 0)
        return FALSE;
      data += written;
      size -= (size_t) written;
    }
  return TRUE;
}

GBytes *
pulmo_weights_to_bytes (const PulmoUNet *net, const PulmoModelInfo *info, GError **error)
{
  g_return_val_if_fail (net != NULL && info != NULL, NULL);
  if (!pulmo_model_info_check (info, pulmo_unet_get_config (net), error))
    return NULL;
  g_autoptr (GByteArray) payload = build_payload (net, info);
  GByteArray *file = g_byte_array_sized_new (HEADER_SIZE + payload->len);
  g_byte_array_append (file, (const guint8 *) MAGIC, 8);
  put_u32 (file, PULMO_WEIGHTS_VERSION);
  put_u32 (file, 0);
  put_u64 (file, payload->len);
  put_u32 (file, (guint32) crc32 (crc32 (0, NULL, 0), payload->data, payload->len));
  put_u32 (file, 0);
  g_byte_array_append (file, payload->data, payload->len);
  return g_byte_array_free_to_bytes (file);
}

gboolean
pulmo_weights_save (const char *path, const PulmoUNet *net, const PulmoModelInfo *info,
                    GError **error)
{
  g_return_val_if_fail (path != NULL && net != NULL && info != NULL, FALSE);

  g_autofree char *display = g_filename_display_name (path);
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) bytes = pulmo_weights_to_bytes (net, info, &local_error);
  if (bytes == NULL)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, _("%s: not saved: %s"),
                        display, local_error->message), FALSE;
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);

  g_autofree char *tmp_path = g_strdup_printf ("%s.XXXXXX", path);
  int fd = g_mkstemp_full (tmp_path, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int saved = errno;
      return g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("%s: cannot create a file beside it: %s"),
                          display, g_strerror (saved)), FALSE;
    }
  gboolean ok = write_all (fd, data, size) && fsync (fd) == 0;
  int saved = errno;
  if (close (fd) != 0 && ok)
    {
      ok = FALSE;
      saved = errno;
    }
  if (ok && rename (tmp_path, path) != 0)
    {
      ok = FALSE;
      saved = errno;
    }
  if (!ok)
    {
      unlink (tmp_path);
      return g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("%s: writing failed: %s"),
                          display, g_strerror (saved)), FALSE;
    }
  /* Make the rename itself durable. */
  g_autofree char *folder = g_path_get_dirname (path);
  int dir_fd = open (folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0)
    {
      fsync (dir_fd);
      close (dir_fd);
    }
  return TRUE;
}

/* ---- Reading ----------------------------------------------------------- */

typedef struct {
  const guint8 *p;
  gsize left;
  const char *display;
  GError **error;
} Reader;

static gboolean
fail (Reader *r, PulmoErrorCode code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (Reader *r, PulmoErrorCode code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (r->error, PULMO_ERROR, code, "%s: %s", r->display, message);
  return FALSE;
}

/* Running out inside a payload whose length and CRC were right means the
 * writer produced nonsense: corrupt, not truncated. */
static gboolean
take (Reader *r, gsize n, const guint8 **out, const char *what)
{
  if (n > r->left)
    return fail (r, PULMO_ERROR_CORRUPT, _("the contents end inside %s"), what);
  *out = r->p;
  r->p += n;
  r->left -= n;
  return TRUE;
}

static guint32
le32 (const guint8 *b)
{
  return (guint32) b[0] | (guint32) b[1] << 8 | (guint32) b[2] << 16 | (guint32) b[3] << 24;
}

static gboolean
get_u8 (Reader *r, guint8 *v, const char *what)
{
  const guint8 *b = NULL;
  if (!take (r, 1, &b, what))
    return FALSE;
  *v = b[0];
  return TRUE;
}

static gboolean
get_u32 (Reader *r, guint32 *v, const char *what)
{
  const guint8 *b = NULL;
  if (!take (r, 4, &b, what))
    return FALSE;
  *v = le32 (b);
  return TRUE;
}

/* A u32 that must fit an int field; larger values are caught by the range
 * checks that follow. */
static gboolean
get_int (Reader *r, int *v, const char *what)
{
  guint32 u;
  if (!get_u32 (r, &u, what))
    return FALSE;
  *v = u > G_MAXINT ? G_MAXINT : (int) u;
  return TRUE;
}

static gboolean
get_f32 (Reader *r, float *v, const char *what)
{
  guint32 u;
  if (!get_u32 (r, &u, what))
    return FALSE;
  memcpy (v, &u, 4);
  return TRUE;
}

/* A length-prefixed string, 1 to 255 bytes, returned NUL-terminated. */
static gboolean
get_name (Reader *r, char **name, const char *what)
{
  guint8 length;
  const guint8 *bytes = NULL;
  if (!get_u8 (r, &length, what) || !take (r, length, &bytes, what))
    return FALSE;
  if (length == 0 || memchr (bytes, 0, length) != NULL ||
      !g_utf8_validate ((const char *) bytes, length, NULL))
    return fail (r, PULMO_ERROR_CORRUPT, _("%s is not a valid name"), what);
  *name = g_strndup ((const char *) bytes, length);
  return TRUE;
}

static gboolean
read_info (Reader *r, guint32 version, const PulmoUNetConfig *config, PulmoModelInfo *info)
{
  if (!get_f32 (r, &info->window_hu_low, _("the preprocessing")) ||
      !get_f32 (r, &info->window_hu_high, _("the preprocessing")) ||
      !get_f32 (r, &info->window_gray8_low, _("the preprocessing")) ||
      !get_f32 (r, &info->window_gray8_high, _("the preprocessing")) ||
      !get_int (r, &info->input_width, _("the preprocessing")) ||
      !get_int (r, &info->input_height, _("the preprocessing")) ||
      !get_int (r, &info->n_slices, _("the preprocessing")))
    return FALSE;
  /* Version 1 knew only the linear window. */
  info->normalisation = PULMO_NORMALISE_WINDOW;
  info->clahe_clip = 0;
  info->clahe_tiles = 8;
  if (version >= 2)
    {
      int normalisation;
      if (!get_int (r, &normalisation, _("the preprocessing")) ||
          !get_f32 (r, &info->clahe_clip, _("the preprocessing")) ||
          !get_int (r, &info->clahe_tiles, _("the preprocessing")))
        return FALSE;
      info->normalisation = (PulmoNormalisation) normalisation;
    }
  guint32 n_labels;
  if (!get_u32 (r, &n_labels, _("the label table")))
    return FALSE;
  if (n_labels != (guint32) config->classes)
    return fail (r, PULMO_ERROR_INVALID, _("the label table has %u entries for %d classes"),
                 n_labels, config->classes);
  info->labels = g_new0 (PulmoModelLabel, n_labels);
  info->n_labels = (int) n_labels;
  for (guint32 i = 0; i < n_labels; i++)
    {
      PulmoModelLabel *label = &info->labels[i];
      if (!get_u8 (r, &label->value, _("the label table")))
        return FALSE;
      for (int k = 0; k < 4; k++)
        if (!get_u8 (r, &label->rgba[k], _("the label table")))
          return FALSE;
      if (!get_name (r, &label->name, _("a label name")))
        return FALSE;
    }
  g_autoptr (GError) local_error = NULL;
  if (!pulmo_model_info_check (info, config, &local_error))
    return fail (r, PULMO_ERROR_INVALID, "%s", local_error->message);
  return TRUE;
}

static gboolean
read_tensors (Reader *r, PulmoUNet *net)
{
  int n_params;
  const PulmoUNetParam *params = pulmo_unet_get_params (net, &n_params);
  guint32 n_tensors;
  if (!get_u32 (r, &n_tensors, _("the tensor count")))
    return FALSE;
  if (n_tensors != (guint32) n_params)
    return fail (r, PULMO_ERROR_INVALID, _("%u tensors where the architecture has %d"),
                 n_tensors, n_params);

  g_autofree gboolean *seen = g_new0 (gboolean, n_params);
  for (guint32 t = 0; t < n_tensors; t++)
    {
      g_autofree char *name = NULL;
      if (!get_name (r, &name, _("a tensor name")))
        return FALSE;
      int index = -1;
      for (int i = 0; i < n_params && index < 0; i++)
        if (strcmp (params[i].name, name) == 0)
          index = i;
      if (index < 0)
        return fail (r, PULMO_ERROR_INVALID, _("tensor “%s” is not part of this architecture"), name);
      if (seen[index])
        return fail (r, PULMO_ERROR_INVALID, _("tensor “%s” appears twice"), name);
      seen[index] = TRUE;

      const PulmoUNetParam *param = &params[index];
      guint8 ndim;
      if (!get_u8 (r, &ndim, _("a tensor shape")))
        return FALSE;
      if (ndim != param->ndim)
        return fail (r, PULMO_ERROR_INVALID, _("tensor “%s” has %u dimensions, expected %d"),
                     name, ndim, param->ndim);
      for (int d = 0; d < ndim; d++)
        {
          guint32 size;
          if (!get_u32 (r, &size, _("a tensor shape")))
            return FALSE;
          if (size != (guint32) param->shape[d])
            return fail (r, PULMO_ERROR_INVALID,
                         _("tensor “%s” has size %u in dimension %d, expected %d"),
                         name, size, d, param->shape[d]);
        }
      /* The shape equals the architecture's, so the count is the model's own. */
      size_t count = pulmo_tensor_numel (param->value);
      const guint8 *bytes = NULL;
      if (!take (r, count * 4, &bytes, _("tensor data")))
        return FALSE;
      for (size_t k = 0; k < count; k++)
        {
          guint32 u = le32 (bytes + 4 * k);
          memcpy (&param->value->data[k], &u, 4);
          if (!isfinite (param->value->data[k]))
            return fail (r, PULMO_ERROR_CORRUPT, _("tensor “%s” holds a value that is not a finite number"),
                         name);
        }
    }
  if (r->left != 0)
    return fail (r, PULMO_ERROR_CORRUPT, _("%zu unexpected bytes after the tensors"),
                 r->left);
  return TRUE;
}

PulmoUNet *
pulmo_weights_load_bytes (const guint8 *data, gsize size, const char *display_name,
                          PulmoModelInfo *info, GError **error)
{
  g_return_val_if_fail (data != NULL || size == 0, NULL);
  g_return_val_if_fail (info != NULL && display_name != NULL, NULL);
  memset (info, 0, sizeof *info);

  Reader r = { data, size, display_name, error };
  if (size > 0 && memcmp (data, MAGIC, MIN (size, (gsize) 8)) != 0)
    return fail (&r, PULMO_ERROR_INVALID, _("not a Pulmo model file (no PULMONET signature)")), NULL;
  if (size < HEADER_SIZE)
    return fail (&r, PULMO_ERROR_TRUNCATED, _("the file ends after %zu"
                 " bytes, inside the %d-byte header"), size, HEADER_SIZE), NULL;
  guint32 version = le32 (data + 8);
  if (version < 1 || version > PULMO_WEIGHTS_VERSION)
    return fail (&r, PULMO_ERROR_UNSUPPORTED, _("model format version %u; this Pulmo reads versions "
                 "1 to %d"), version, PULMO_WEIGHTS_VERSION), NULL;
  if (le32 (data + 12) != 0 || le32 (data + 28) != 0)
    return fail (&r, PULMO_ERROR_CORRUPT, _("reserved header fields are not zero")), NULL;
  guint64 payload_size = le32 (data + 16) | (guint64) le32 (data + 20) << 32;
  guint64 available = size - HEADER_SIZE;
  if (payload_size > MAX_PAYLOAD)
    return fail (&r, PULMO_ERROR_TOO_LARGE, _("the header claims %" PRIu64
                 " bytes of contents, more than any Pulmo model"), payload_size), NULL;
  if (payload_size > available)
    return fail (&r, PULMO_ERROR_TRUNCATED, _("the header says %" PRIu64
                 " bytes of contents but the file holds only %" PRIu64
                 " (truncated?)"), payload_size, available), NULL;
  if (payload_size < available)
    return fail (&r, PULMO_ERROR_CORRUPT, _("%" PRIu64 " unexpected bytes after the contents"),
                 available - payload_size), NULL;
  r.p = data + HEADER_SIZE;
  r.left = (gsize) payload_size;
  /* zlib's crc32 takes a uInt length: feed it in pieces. */
  uLong crc = crc32 (0, NULL, 0);
  for (gsize done = 0; done < r.left;)
    {
      uInt piece = (uInt) MIN (r.left - done, (gsize) 1 << 30);
      crc = crc32 (crc, r.p + done, piece);
      done += piece;
    }
  if ((guint32) crc != le32 (data + 24))
    return fail (&r, PULMO_ERROR_CORRUPT, _("checksum mismatch: the contents are damaged")), NULL;

  PulmoUNetConfig config;
  if (!get_int (&r, &config.in_channels, _("the architecture")) ||
      !get_int (&r, &config.base, _("the architecture")) ||
      !get_int (&r, &config.depth, _("the architecture")) ||
      !get_int (&r, &config.classes, _("the architecture")))
    return NULL;
  g_autoptr (GError) config_error = NULL;
  if (!pulmo_unet_config_check (&config, &config_error))
    return fail (&r, config_error->code, _("architecture: %s"), config_error->message), NULL;
  /* Allocate the network only if the file can hold its tensors. */
  if (pulmo_unet_config_n_values (&config) * 4 > r.left)
    return fail (&r, PULMO_ERROR_INVALID, _("the architecture (base %d, depth %d) needs %"
                 PRIu64 " bytes of tensors but the file holds only %zu"),
                 config.base, config.depth, pulmo_unet_config_n_values (&config) * 4, r.left), NULL;

  if (!read_info (&r, version, &config, info))
    {
      pulmo_model_info_clear (info);
      return NULL;
    }
  g_autoptr (PulmoUNet) net = pulmo_unet_new_empty (&config);
  if (!read_tensors (&r, net))
    {
      pulmo_model_info_clear (info);
      return NULL;
    }
  pulmo_unet_weights_changed (net);
  return g_steal_pointer (&net);
}

PulmoUNet *
pulmo_weights_load (const char *path, PulmoModelInfo *info, GError **error)
{
  g_return_val_if_fail (path != NULL && info != NULL, NULL);
  memset (info, 0, sizeof *info);

  g_autofree char *display = g_filename_display_name (path);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, PULMO_ERROR, saved == ENOENT ? PULMO_ERROR_NOT_FOUND : PULMO_ERROR_IO,
                   "%s: %s", display, g_strerror (saved));
      return NULL;
    }
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("%s: not a regular file"), display);
      return NULL;
    }
  if ((guint64) st.st_size > HEADER_SIZE + MAX_PAYLOAD)
    {
      close (fd);
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE,
                   _("%s: %" PRIu64 " bytes is larger than any Pulmo model"), display,
                   (guint64) st.st_size);
      return NULL;
    }
  gsize size = (gsize) st.st_size;
  g_autofree guint8 *data = g_malloc (MAX (size, 1));
  gsize done = 0;
  while (done < size)
    {
      ssize_t got = read (fd, data + done, size - done);
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        {
          int saved = errno;
          close (fd);
          g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, "%s: %s", display, g_strerror (saved));
          return NULL;
        }
      if (got == 0)
        break;   /* shrank while reading: judged as a shorter file */
      done += (gsize) got;
    }
  close (fd);
  return pulmo_weights_load_bytes (data, done, display, info, error);
}
