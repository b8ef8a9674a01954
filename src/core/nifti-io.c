#include "core/nifti-io.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <libdeflate.h>
#include <math.h>
#include <nifti2_io.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "core/pulmo-error.h"

/* zlib's own buffer: larger than its 8 KiB default, so inflate works on long runs. */
#define GZ_BUFFER_BYTES (256 * 1024)

static void
swap4 (void *value)
{
  nifti_swap_4bytes (1, value);
}

/* ---- Reading the header ---------------------------------------------------- */

/* The header fields Pulmo checks, in host order, for either version. */
typedef struct {
  int version;
  gboolean swap;
  gint64 dim[8];
  double pixdim[8];
  int datatype;
  double vox_offset;
  double slope, inter;
} RawFields;

static gboolean
read_header_bytes (const char *path, char *buffer, size_t size, size_t *n_read, GError **error)
{
  gzFile file = gzopen (path, "rb");
  if (file == NULL)
    {
      int saved = errno;
      g_set_error (error, PULMO_ERROR, saved == ENOENT ? PULMO_ERROR_NOT_FOUND : PULMO_ERROR_IO,
                   _("%s: cannot open: %s"), path, g_strerror (saved));
      return FALSE;
    }
  int got = gzread (file, buffer, (unsigned) size);
  int zerr = Z_OK;
  const char *message = gzerror (file, &zerr);
  gboolean ok = got >= 0 && (zerr == Z_OK || zerr == Z_BUF_ERROR);
  if (!ok)
    g_set_error (error, PULMO_ERROR, PULMO_ERROR_CORRUPT,
                 _("%s: the compressed data is damaged (%s)"), path, message);
  gzclose (file);
  *n_read = got > 0 ? (size_t) got : 0;
  return ok;
}

static gboolean
parse_fields (const char *path, const char *bytes, size_t n, RawFields *fields, GError **error)
{
  int32_t sizeof_hdr;
  if (n < sizeof (nifti_1_header))
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_NIFTI,
                   _("%s: not a NIfTI file (only %zu bytes, a header needs 348)"), path, n);
      return FALSE;
    }
  memcpy (&sizeof_hdr, bytes, 4);
  fields->swap = FALSE;
  if (sizeof_hdr != 348 && sizeof_hdr != 540)
    {
      swap4 (&sizeof_hdr);
      fields->swap = TRUE;
    }
  if (sizeof_hdr == 540 && n < sizeof (nifti_2_header))
    sizeof_hdr = 0; /* too short for the NIfTI-2 header it claims */
  if (sizeof_hdr != 348 && sizeof_hdr != 540)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_NIFTI,
                   _("%s: not a NIfTI file (the header size field is not 348 or 540)"), path);
      return FALSE;
    }

  if (sizeof_hdr == 348)
    {
      nifti_1_header h;
      memcpy (&h, bytes, sizeof h);
      int version = NIFTI_VERSION (h);
      if (fields->swap)
        swap_nifti_header (&h, version);
      fields->version = version;
      for (int d = 0; d < 8; d++)
        {
          fields->dim[d] = h.dim[d];
          fields->pixdim[d] = h.pixdim[d];
        }
      fields->datatype = h.datatype;
      fields->vox_offset = h.vox_offset;
      fields->slope = version > 0 ? h.scl_slope : 0.0;
      fields->inter = version > 0 ? h.scl_inter : 0.0;
    }
  else
    {
      nifti_2_header h;
      memcpy (&h, bytes, sizeof h);
      if (NIFTI_VERSION (h) != 2)
        {
          g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_NIFTI,
                       _("%s: not a NIfTI file (NIfTI-2 header size without the NIfTI-2 magic)"),
                       path);
          return FALSE;
        }
      if (fields->swap)
        swap_nifti_header (&h, 2);
      fields->version = 2;
      for (int d = 0; d < 8; d++)
        {
          fields->dim[d] = h.dim[d];
          fields->pixdim[d] = h.pixdim[d];
        }
      fields->datatype = h.datatype;
      fields->vox_offset = (double) h.vox_offset;
      fields->slope = h.scl_slope;
      fields->inter = h.scl_inter;
    }
  return TRUE;
}

static gboolean
datatype_supported (int datatype)
{
  switch (datatype)
    {
    case NIFTI_TYPE_UINT8:
    case NIFTI_TYPE_INT8:
    case NIFTI_TYPE_INT16:
    case NIFTI_TYPE_UINT16:
    case NIFTI_TYPE_INT32:
    case NIFTI_TYPE_UINT32:
    case NIFTI_TYPE_FLOAT32:
    case NIFTI_TYPE_FLOAT64:
      return TRUE;
    default:
      return FALSE;
    }
}

const char *
pulmo_nifti_datatype_name (int datatype)
{
  switch (datatype)
    {
    case NIFTI_TYPE_UINT8: return "uint8";
    case NIFTI_TYPE_INT8: return "int8";
    case NIFTI_TYPE_INT16: return "int16";
    case NIFTI_TYPE_UINT16: return "uint16";
    case NIFTI_TYPE_INT32: return "int32";
    case NIFTI_TYPE_UINT32: return "uint32";
    case NIFTI_TYPE_FLOAT32: return "float32";
    case NIFTI_TYPE_FLOAT64: return "float64";
    default: return nifti_datatype_string (datatype);
    }
}

/* Everything a hostile header could use to make us misbehave is checked here,
 * before niftilib or any allocation sees it. */
static gboolean
validate_fields (const char *path, const RawFields *f, int dims[3], size_t *n_voxels, GError **error)
{
  const char *name = path;
  gint64 ndim = f->dim[0];

  if (ndim < 1 || ndim > 7)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_CORRUPT,
                   _("%s: the header is damaged (it gives %" PRId64 " dimensions)"), name, ndim);
      return FALSE;
    }
  for (int d = 1; d <= 3; d++)
    {
      gint64 size = d <= ndim ? f->dim[d] : 1;
      if (size < 1)
        {
          g_set_error (error, PULMO_ERROR, PULMO_ERROR_CORRUPT,
                       _("%s: the header is damaged (dimension %d is %" PRId64 ")"), name, d, size);
          return FALSE;
        }
      if (size > PULMO_MAX_DIM)
        {
          g_set_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE,
                       _("%s: dimension %d is %" PRId64 " voxels; Pulmo opens at most %d per axis"),
                       name, d, size, PULMO_MAX_DIM);
          return FALSE;
        }
      dims[d - 1] = (int) size;
    }
  for (int d = 4; d <= ndim; d++)
    if (f->dim[d] > 1)
      {
        g_set_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED,
                     _("%s: this is a %" PRId64 "-D image with %" PRId64
                     " volumes along dimension %d; Pulmo opens single 3-D CT volumes"),
                     name, ndim, f->dim[d], d);
        return FALSE;
      }

  size_t slice = 0, total = 0;
  if (!g_size_checked_mul (&slice, (size_t) dims[0], (size_t) dims[1])
      || !g_size_checked_mul (&total, slice, (size_t) dims[2]) || total > PULMO_MAX_VOXELS)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE,
                   _("%s: %d×%d×%d voxels is more than Pulmo opens (at most %zu voxels)"), name,
                   dims[0], dims[1], dims[2], PULMO_MAX_VOXELS);
      return FALSE;
    }
  *n_voxels = total;

  if (!datatype_supported (f->datatype))
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED,
                   _("%s: voxel datatype %s (code %d) is not supported; Pulmo reads uint8, int8, "
                   "int16, uint16, int32, uint32, float32 and float64"), name,
                   nifti_datatype_string (f->datatype), f->datatype);
      return FALSE;
    }
  for (int d = 1; d <= 3; d++)
    if (!isfinite (f->pixdim[d]) || fabs (f->pixdim[d]) > 1e6)
      {
        g_set_error (error, PULMO_ERROR, PULMO_ERROR_CORRUPT,
                     _("%s: the header is damaged (voxel spacing %g along axis %d)"), name, f->pixdim[d], d);
        return FALSE;
      }
  if (!isfinite (f->vox_offset) || f->vox_offset < 0 || f->vox_offset > (double) G_MAXINT32)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_CORRUPT,
                   _("%s: the header is damaged (voxel data offset %g)"), name, f->vox_offset);
      return FALSE;
    }
  return TRUE;
}

static void
affine_from_dmat (PulmoAffine *affine, const nifti_dmat44 *m)
{
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      affine->m[r][c] = m->m[r][c];
}

static gboolean
affine_usable (const PulmoAffine *affine)
{
  PulmoAffine inverse;
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 4; c++)
      if (!isfinite (affine->m[r][c]))
        return FALSE;
  return pulmo_affine_invert (affine, &inverse);
}

/* Refuses a header that claims more voxels than its file can hold, before any
 * allocation: exactly for a plain file, and for a gzip file by deflate's largest
 * possible expansion (1032:1), so a tiny hostile file cannot ask for gigabytes. */
static gboolean
check_data_fits (const PulmoNiftiHeader *header, GError **error)
{
  GStatBuf info;
  guint8 magic[2] = { 0, 0 };
  size_t data_bytes = 0;

  if (g_stat (header->image_path, &info) != 0)
    {
      int saved = errno;
      g_set_error (error, PULMO_ERROR, saved == ENOENT ? PULMO_ERROR_NOT_FOUND : PULMO_ERROR_IO,
                   _("%s: cannot open: %s"), header->image_path, g_strerror (saved));
      return FALSE;
    }
  FILE *file = fopen (header->image_path, "rb");
  if (file != NULL)
    {
      if (fread (magic, 1, 2, file) != 2)
        magic[0] = 0;
      fclose (file);
    }
  gboolean compressed = magic[0] == 0x1f && magic[1] == 0x8b;
  double capacity = compressed ? (double) info.st_size * 1032.0 + 1024.0 : (double) info.st_size;

  if (g_size_checked_mul (&data_bytes, header->n_voxels, (size_t) header->bytes_per_voxel)
      && (double) header->data_offset + (double) data_bytes <= capacity)
    return TRUE;

  if (compressed)
    g_set_error (error, PULMO_ERROR, PULMO_ERROR_TRUNCATED,
                 _("%s: the header says %d×%d×%d voxels of %s, more than a compressed file of %" PRId64
                 " bytes can hold; the file is truncated or its header is damaged"),
                 header->path, header->dims[0], header->dims[1], header->dims[2],
                 pulmo_nifti_datatype_name (header->datatype), (gint64) info.st_size);
  else
    {
      double slice_bytes = (double) header->dims[0] * header->dims[1] * header->bytes_per_voxel;
      double held = MAX (0.0, floor (((double) info.st_size - (double) header->data_offset) / slice_bytes));
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_TRUNCATED,
                   _("%s: the header says %d×%d×%d voxels but the file holds only %.0f complete slices; "
                   "it was probably cut short while copying"), header->path, header->dims[0],
                   header->dims[1], header->dims[2], held);
    }
  return FALSE;
}

gboolean
pulmo_nifti_read_header (const char *path, PulmoNiftiHeader *header, GError **error)
{
  char bytes[sizeof (nifti_2_header)];
  size_t n = 0;
  RawFields fields;

  memset (header, 0, sizeof *header);
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_NIFTI,
                   _("%s: is a folder, not a NIfTI file"), path);
      return FALSE;
    }
  if (!read_header_bytes (path, bytes, sizeof bytes, &n, error))
    return FALSE;
  if (!parse_fields (path, bytes, n, &fields, error))
    return FALSE;
  if (!validate_fields (path, &fields, header->dims, &header->n_voxels, error))
    return FALSE;
  /* Without NIfTI's magic the bytes are an ANALYZE 7.5 header, which only a
   * .hdr names; a .nii without it is not a NIfTI file, whatever its size field says. */
  gboolean hdr_file = g_str_has_suffix (path, ".hdr") || g_str_has_suffix (path, ".hdr.gz");
  if (fields.version == 0 && !hdr_file)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_NIFTI,
                   _("%s: not a NIfTI file (the header lacks the NIfTI magic “n+1” or “ni1”)"), path);
      return FALSE;
    }
  g_autoptr (GString) warning = g_string_new (NULL);
  if (fields.version == 0)
    g_string_append (warning, _("This is an ANALYZE 7.5 file: its orientation is unknown, so left and "
                                "right may be swapped. "));

  /* niftilib turns the checked header into geometry (quaternion, sform, pixdim). */
  nifti_image *nim = fields.version == 2
                         ? nifti_convert_n2hdr2nim (*(nifti_2_header *) (void *) bytes, NULL)
                         : nifti_convert_n1hdr2nim (*(nifti_1_header *) (void *) bytes, NULL);
  if (nim == NULL)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_CORRUPT, _("%s: the NIfTI header is damaged"),
                   path);
      return FALSE;
    }

  header->path = g_strdup (path);
  header->version = fields.version;
  header->datatype = fields.datatype;
  header->bytes_per_voxel = nim->nbyper;
  header->swap = fields.swap;
  header->slope = fields.slope;
  header->inter = fields.inter;
  /* NIfTI: a zero slope means the values are stored unscaled. A non-finite
   * slope or intercept would make every voxel NaN: shown unscaled, and said so. */
  if (!isfinite (header->slope) || !isfinite (header->inter))
    g_string_append_printf (warning, _("The header's value scaling (slope %g, intercept %g) is not "
                                       "a number; the stored values are shown unscaled. "),
                            header->slope, header->inter);
  if (header->slope == 0.0 || !isfinite (header->slope) || !isfinite (header->inter))
    {
      header->slope = 1.0;
      header->inter = 0.0;
    }

  gboolean one_file = fields.version > 0 && (nim->nifti_type == NIFTI_FTYPE_NIFTI1_1
                                             || nim->nifti_type == NIFTI_FTYPE_NIFTI2_1);
  if (one_file)
    {
      header->image_path = g_strdup (path);
      header->data_offset = MAX ((gint64) fields.vox_offset,
                                 fields.version == 2 ? (gint64) sizeof (nifti_2_header)
                                                     : (gint64) sizeof (nifti_1_header));
    }
  else
    {
      char *image = nifti_findimgname (path, nim->nifti_type);
      header->image_path = g_strdup (image);
      free (image);
      header->data_offset = (gint64) fields.vox_offset;
    }

  PulmoNiftiGeometry *g = &header->geometry;
  g->qform_code = nim->qform_code;
  g->sform_code = nim->sform_code;
  g->quatern_b = nim->quatern_b;
  g->quatern_c = nim->quatern_c;
  g->quatern_d = nim->quatern_d;
  g->qoffset_x = nim->qoffset_x;
  g->qoffset_y = nim->qoffset_y;
  g->qoffset_z = nim->qoffset_z;
  g->qfac = nim->qfac;
  for (int d = 1; d <= 3; d++)
    g->pixdim[d] = nim->pixdim[d];
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 4; c++)
      g->sform[r][c] = nim->sto_xyz.m[r][c];
  g->xyz_units = nim->xyz_units;

  /* sform when its code > 0, else qform, else pixdim; an unusable matrix falls
   * through to the next, so a damaged transform cannot make the views singular. */
  PulmoAffine candidate;
  gboolean found = FALSE;
  if (nim->sform_code > 0)
    {
      affine_from_dmat (&candidate, &nim->sto_xyz);
      found = affine_usable (&candidate);
    }
  if (!found && nim->qform_code > 0)
    {
      affine_from_dmat (&candidate, &nim->qto_xyz);
      found = affine_usable (&candidate);
    }
  if (!found && (nim->sform_code > 0 || nim->qform_code > 0))
    g_string_append (warning, _("The header's orientation matrix is not usable; the scan is shown "
                                "in voxel order, so its orientation may be wrong. "));
  if (!found)
    {
      double spacing[3];
      for (int d = 0; d < 3; d++)
        spacing[d] = fields.pixdim[d + 1] != 0.0 ? fabs (fields.pixdim[d + 1]) : 1.0;
      pulmo_affine_from_spacing (&candidate, spacing);
    }
  header->affine = candidate;
  nifti_image_free (nim);
  if (warning->len > 0)
    {
      g_string_truncate (warning, warning->len - 1); /* the last sentence's space */
      header->warning = g_strdup (warning->str);
    }

  if (header->image_path == NULL)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND,
                   _("%s: the image file that goes with this header is missing"), path);
      pulmo_nifti_header_clear (header);
      return FALSE;
    }
  if (!check_data_fits (header, error))
    {
      pulmo_nifti_header_clear (header);
      return FALSE;
    }
  return TRUE;
}

void
pulmo_nifti_header_clear (PulmoNiftiHeader *header)
{
  g_clear_pointer (&header->path, g_free);
  g_clear_pointer (&header->image_path, g_free);
  g_clear_pointer (&header->warning, g_free);
}

/* ---- Streaming the voxels -------------------------------------------------- */

struct _PulmoNiftiReader {
  gzFile file;
  char *path;
  int bytes_per_voxel;
  gboolean swap;
  size_t voxels_per_slice;
  size_t n_total;
  size_t n_done;
};

PulmoNiftiReader *
pulmo_nifti_reader_open (const PulmoNiftiHeader *header, GError **error)
{
  gzFile file = gzopen (header->image_path, "rb");
  if (file == NULL)
    {
      int saved = errno;
      g_set_error (error, PULMO_ERROR, saved == ENOENT ? PULMO_ERROR_NOT_FOUND : PULMO_ERROR_IO,
                   _("%s: cannot open: %s"), header->image_path, g_strerror (saved));
      return NULL;
    }
  gzbuffer (file, GZ_BUFFER_BYTES);
  if (gzseek (file, (z_off_t) header->data_offset, SEEK_SET) != (z_off_t) header->data_offset)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_TRUNCATED,
                   _("%s: the file ends before its voxel data begins (at byte %" PRId64 ")"),
                   header->path, header->data_offset);
      gzclose (file);
      return NULL;
    }

  PulmoNiftiReader *reader = g_new0 (PulmoNiftiReader, 1);
  reader->file = file;
  reader->path = g_strdup (header->path);
  reader->bytes_per_voxel = header->bytes_per_voxel;
  reader->swap = header->swap;
  reader->voxels_per_slice = (size_t) header->dims[0] * (size_t) header->dims[1];
  reader->n_total = header->n_voxels;
  return reader;
}

gboolean
pulmo_nifti_reader_read (PulmoNiftiReader *reader, void *buffer, size_t n, GError **error)
{
  g_return_val_if_fail (reader->n_done + n <= reader->n_total, FALSE);

  size_t bytes = n * (size_t) reader->bytes_per_voxel;
  size_t got = 0;
  while (got < bytes)
    {
      /* gzread takes an unsigned int: read in pieces of at most 1 GiB. */
      unsigned piece = (unsigned) MIN (bytes - got, (size_t) 1 << 30);
      int r = gzread (reader->file, (char *) buffer + got, piece);
      if (r <= 0)
        {
          int zerr = Z_OK;
          const char *message = gzerror (reader->file, &zerr);
          size_t slices = (reader->n_done * reader->bytes_per_voxel + got)
                          / ((size_t) reader->bytes_per_voxel * reader->voxels_per_slice);
          if (zerr != Z_OK && zerr != Z_BUF_ERROR)
            g_set_error (error, PULMO_ERROR, PULMO_ERROR_CORRUPT,
                         _("%s: the compressed data is damaged after %zu complete slices (%s)"),
                         reader->path, slices, message);
          else
            g_set_error (error, PULMO_ERROR, PULMO_ERROR_TRUNCATED,
                         _("%s: the header says %zu slices of %zu voxels but the file holds only %zu "
                         "complete slices; it was probably cut short while copying"),
                         reader->path, reader->n_total / reader->voxels_per_slice,
                         reader->voxels_per_slice, slices);
          return FALSE;
        }
      got += (size_t) r;
    }
  if (reader->swap && reader->bytes_per_voxel > 1)
    nifti_swap_Nbytes ((int64_t) n, reader->bytes_per_voxel, buffer);
  reader->n_done += n;
  return TRUE;
}

gboolean
pulmo_nifti_reader_finish (PulmoNiftiReader *reader, GError **error)
{
  if (gzdirect (reader->file))
    return TRUE; /* uncompressed: nothing more to check */

  /* Inflate to the end of the stream so zlib checks the CRC and length in the
   * gzip trailer: damage that still inflates to wrong voxels is caught here. */
  char rest[16 * 1024];
  int r;
  while ((r = gzread (reader->file, rest, sizeof rest)) > 0)
    ;
  int zerr = Z_OK;
  const char *message = gzerror (reader->file, &zerr);
  if (r < 0 || zerr != Z_OK)
    {
      g_set_error (error, PULMO_ERROR, zerr == Z_BUF_ERROR ? PULMO_ERROR_TRUNCATED : PULMO_ERROR_CORRUPT,
                   _("%s: the compressed file is damaged or cut short at its end (%s); its voxels "
                   "cannot be trusted"), reader->path, message);
      return FALSE;
    }
  return TRUE;
}

void
pulmo_nifti_reader_free (PulmoNiftiReader *reader)
{
  if (reader == NULL)
    return;
  gzclose (reader->file);
  g_free (reader->path);
  g_free (reader);
}

/* ---- Inflating a whole gzip file at once ---------------------------------- */

/* Room between the end of the output and the end of the buffer when inflating
 * in place: deflate's stored blocks grow by 5 bytes per 64 KiB and one block
 * of long Huffman codes can lag a few KiB behind its input, so the writes
 * never reach compressed bytes not yet read (see pulmo_nifti_inflate_all). */
static size_t
inflate_margin (size_t compressed_bytes)
{
  return compressed_bytes / 1024 + 64 * 1024;
}

static gboolean
pread_all (int fd, void *buffer, size_t size, off_t offset)
{
  char *p = buffer;
  while (size > 0)
    {
      ssize_t r = pread (fd, p, MIN (size, (size_t) 1 << 30), offset);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return FALSE;
      p += r;
      offset += r;
      size -= (size_t) r;
    }
  return TRUE;
}

void *
pulmo_nifti_inflate_all (const PulmoNiftiHeader *header)
{
  size_t data_bytes = header->n_voxels * (size_t) header->bytes_per_voxel;
  size_t expected = (size_t) header->data_offset + data_bytes;
  /* `pulmo bench load` measures zlib's streaming beside this in the same run. */
  if (g_strcmp0 (g_getenv ("PULMO_INFLATE"), "zlib") == 0)
    return NULL;
  int fd = open (header->image_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;

  /* A gzip file ends with ISIZE, its inflated length mod 2^32: it must match
   * the header's voxels, and a longer stream (several members, extra data)
   * is left to zlib. */
  GStatBuf info;
  guint8 head[2];
  guint32 isize = 0;
  guint8 *buffer = NULL;
  gboolean ok = fstat (fd, &info) == 0 && info.st_size >= 18 && pread_all (fd, head, 2, 0)
                && head[0] == 0x1f && head[1] == 0x8b
                && pread_all (fd, &isize, 4, info.st_size - 4) && GUINT32_FROM_LE (isize) == (guint32) expected;
  size_t compressed = ok ? (size_t) info.st_size : 0;
  size_t size = MAX (expected, compressed) + inflate_margin (compressed);

  /* In place: the compressed bytes at the end of the voxels' own buffer, the
   * output from its start, so the peak is the voxels and the margin. */
  if (ok)
    buffer = g_try_malloc (size);
  /* Huge pages: faulting in 4 KiB pages costs more than the inflate's last third. */
  if (buffer != NULL)
    madvise ((void *) ((uintptr_t) buffer & ~(uintptr_t) 4095), size, MADV_HUGEPAGE);
  ok = buffer != NULL && pread_all (fd, buffer + size - compressed, compressed, 0);
  close (fd);

  struct libdeflate_decompressor *inflater = ok ? libdeflate_alloc_decompressor () : NULL;
  size_t used = 0, produced = 0;
  /* Any failure, even the CRC, hands the file back to zlib, whose streaming
   * read tells a damaged file apart and says what is wrong with it. */
  ok = inflater != NULL
       && libdeflate_gzip_decompress_ex (inflater, buffer + size - compressed, compressed, buffer, expected,
                                         &used, &produced) == LIBDEFLATE_SUCCESS
       && used == compressed && produced == expected;
  if (inflater != NULL)
    libdeflate_free_decompressor (inflater);
  if (!ok)
    {
      g_free (buffer);
      return NULL;
    }
  memmove (buffer, buffer + header->data_offset, data_bytes);
  buffer = g_realloc (buffer, MAX (data_bytes, 1));
  if (header->swap && header->bytes_per_voxel > 1)
    nifti_swap_Nbytes ((int64_t) header->n_voxels, header->bytes_per_voxel, buffer);
  return buffer;
}

#define CONVERT_LOOP(type)                                   \
  do                                                         \
    {                                                        \
      const type *in = raw;                                  \
      for (size_t v = 0; v < n; v++)                         \
        out[v] = slope * (double) in[v] + inter;             \
    }                                                        \
  while (0)

void
pulmo_nifti_to_double (int datatype, const void *raw, size_t n, double slope, double inter, double *out)
{
  switch (datatype)
    {
    case NIFTI_TYPE_UINT8: CONVERT_LOOP (uint8_t); break;
    case NIFTI_TYPE_INT8: CONVERT_LOOP (int8_t); break;
    case NIFTI_TYPE_INT16: CONVERT_LOOP (int16_t); break;
    case NIFTI_TYPE_UINT16: CONVERT_LOOP (uint16_t); break;
    case NIFTI_TYPE_INT32: CONVERT_LOOP (int32_t); break;
    case NIFTI_TYPE_UINT32: CONVERT_LOOP (uint32_t); break;
    case NIFTI_TYPE_FLOAT32: CONVERT_LOOP (float); break;
    case NIFTI_TYPE_FLOAT64: CONVERT_LOOP (double); break;
    default: g_return_if_reached ();
    }
}

/* ---- Writing --------------------------------------------------------------- */

void
pulmo_nifti_geometry_from_affine (const PulmoAffine *affine, PulmoNiftiGeometry *geometry)
{
  nifti_dmat44 m;
  double dx, dy, dz;

  memset (geometry, 0, sizeof *geometry);
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      m.m[r][c] = affine->m[r][c];
  nifti_dmat44_to_quatern (m, &geometry->quatern_b, &geometry->quatern_c, &geometry->quatern_d,
                           &geometry->qoffset_x, &geometry->qoffset_y, &geometry->qoffset_z,
                           &dx, &dy, &dz, &geometry->qfac);
  geometry->pixdim[1] = dx;
  geometry->pixdim[2] = dy;
  geometry->pixdim[3] = dz;
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 4; c++)
      geometry->sform[r][c] = affine->m[r][c];
  geometry->qform_code = NIFTI_XFORM_SCANNER_ANAT;
  geometry->sform_code = NIFTI_XFORM_SCANNER_ANAT;
  geometry->xyz_units = NIFTI_UNITS_MM;
}

/* The header bytes (header, then a 4-byte empty extension block) for @dims. */
static GBytes *
make_header (const int dims[3], int datatype, const PulmoNiftiGeometry *g)
{
  int64_t nifti_dims[8] = { 3, dims[0], dims[1], dims[2], 1, 1, 1, 1 };
  nifti_image *nim = nifti_make_new_nim (nifti_dims, datatype, 0);
  gboolean nifti2 = dims[0] > G_MAXINT16 || dims[1] > G_MAXINT16 || dims[2] > G_MAXINT16;
  size_t header_size = nifti2 ? sizeof (nifti_2_header) : sizeof (nifti_1_header);

  nim->qform_code = g->qform_code;
  nim->sform_code = g->sform_code;
  nim->quatern_b = g->quatern_b;
  nim->quatern_c = g->quatern_c;
  nim->quatern_d = g->quatern_d;
  nim->qoffset_x = g->qoffset_x;
  nim->qoffset_y = g->qoffset_y;
  nim->qoffset_z = g->qoffset_z;
  nim->qfac = g->qfac != 0.0 ? g->qfac : 1.0;
  for (int d = 1; d <= 3; d++)
    nim->pixdim[d] = g->pixdim[d] != 0.0 ? g->pixdim[d] : 1.0;
  nim->dx = nim->pixdim[1];
  nim->dy = nim->pixdim[2];
  nim->dz = nim->pixdim[3];
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 4; c++)
      nim->sto_xyz.m[r][c] = g->sform[r][c];
  nim->xyz_units = g->xyz_units != 0 ? g->xyz_units : NIFTI_UNITS_MM;
  nim->scl_slope = 1.0;
  nim->scl_inter = 0.0;
  nim->nifti_type = nifti2 ? NIFTI_FTYPE_NIFTI2_1 : NIFTI_FTYPE_NIFTI1_1;
  nim->iname_offset = (int64_t) header_size + 4;

  guint8 *bytes = g_malloc0 (header_size + 4);
  if (nifti2)
    nifti_convert_nim2n2hdr (nim, (nifti_2_header *) (void *) bytes);
  else
    nifti_convert_nim2n1hdr (nim, (nifti_1_header *) (void *) bytes);
  nifti_image_free (nim);
  return g_bytes_new_take (bytes, header_size + 4);
}

gboolean
pulmo_write_all (int fd, const void *data, size_t size)
{
  const char *p = data;
  while (size > 0)
    {
      ssize_t w = write (fd, p, MIN (size, (size_t) 1 << 30));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return FALSE;
      p += w;
      size -= (size_t) w;
    }
  return TRUE;
}

static gboolean
write_all_gz (gzFile gz, const void *data, size_t size)
{
  const char *p = data;
  while (size > 0)
    {
      unsigned piece = (unsigned) MIN (size, (size_t) 1 << 30);
      if (gzwrite (gz, p, piece) != (int) piece)
        return FALSE;
      p += piece;
      size -= piece;
    }
  return TRUE;
}

gboolean
pulmo_write_file_atomically (const char *path, PulmoWriteContentsFunc write_contents, gpointer user_data,
                             GError **error)
{
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *temp_path = g_strdup_printf ("%s/.%s.XXXXXX", folder, base);

  int fd = g_mkstemp_full (temp_path, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("%s: cannot write in folder %s: %s"),
                   path, folder, g_strerror (saved));
      return FALSE;
    }

  errno = 0;
  gboolean ok = write_contents (fd, user_data);
  int saved = errno;
  if (ok && fsync (fd) != 0)
    {
      ok = FALSE;
      saved = errno;
    }
  close (fd);
  if (ok && g_rename (temp_path, path) != 0)
    {
      ok = FALSE;
      saved = errno;
    }
  if (!ok)
    {
      g_unlink (temp_path);
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("%s: writing failed: %s (the previous file, if any, is unchanged)"),
                   path, g_strerror (saved != 0 ? saved : EIO));
      return FALSE;
    }

  /* Make the rename itself durable. */
  int folder_fd = open (folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder_fd >= 0)
    {
      fsync (folder_fd);
      close (folder_fd);
    }
  return TRUE;
}

typedef struct {
  GBytes *header;
  const void *data;
  size_t data_size;
  gboolean compress;
  gboolean labels;
} NiftiContents;

static gboolean
write_nifti_contents (int fd, gpointer user_data)
{
  const NiftiContents *contents = user_data;
  gsize header_size = 0;
  const void *header_bytes = g_bytes_get_data (contents->header, &header_size);
  if (!contents->compress)
    return pulmo_write_all (fd, header_bytes, header_size)
           && pulmo_write_all (fd, contents->data, contents->data_size);

  /* zlib closes the descriptor it is given: hand it a duplicate, keep ours to fsync. */
  /* Label maps are long runs of few values: run-length matching (Z_RLE)
   * packs them smaller than the default strategy, four times faster. */
  gzFile gz = gzdopen (dup (fd), contents->labels ? "wb6R" : "wb6");
  gboolean ok = gz != NULL && write_all_gz (gz, header_bytes, header_size)
                && write_all_gz (gz, contents->data, contents->data_size);
  if (gz != NULL && gzclose (gz) != Z_OK)
    ok = FALSE;
  return ok;
}

gboolean
pulmo_nifti_write (const char *path, const int dims[3], int datatype, const void *data,
                   const PulmoNiftiGeometry *geometry, GError **error)
{
  int bytes_per_voxel = 0, swap_size = 0;
  nifti_datatype_sizes (datatype, &bytes_per_voxel, &swap_size);
  g_autoptr (GBytes) header = make_header (dims, datatype, geometry);
  NiftiContents contents = {
    .header = header,
    .data = data,
    .data_size = (size_t) dims[0] * (size_t) dims[1] * (size_t) dims[2] * (size_t) bytes_per_voxel,
    .compress = g_str_has_suffix (path, ".gz"),
    .labels = datatype == NIFTI_TYPE_UINT8,
  };
  return pulmo_write_file_atomically (path, write_nifti_contents, &contents, error);
}
