/* nifti-io.h: reading and writing NIfTI-1/NIfTI-2 (.nii, .nii.gz, .hdr/.img)
 * through niftilib, with every header field checked before it is trusted.
 * Private to src/core: the rest of Pulmo uses PulmoVolume and PulmoLabelMap. */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

#include "core/pulmo-progress.h"
#include "core/pulmo-volume.h"

G_BEGIN_DECLS

/* Largest volume Pulmo opens: 2^31 voxels (4 GiB as int16), and 32767 per axis. */
#define PULMO_MAX_VOXELS ((size_t) 1 << 31)
#define PULMO_MAX_DIM 32767

typedef struct {
  char *path;             /* the header file, as given */
  char *image_path;       /* the file holding the voxels (.nii itself, or the .img) */
  int version;            /* 0 ANALYZE 7.5, 1 NIfTI-1, 2 NIfTI-2 */
  int dims[3];
  size_t n_voxels;
  int datatype;           /* NIFTI_TYPE_* */
  int bytes_per_voxel;
  gboolean swap;          /* the file's byte order differs from ours */
  gint64 data_offset;     /* where the voxels start in image_path */
  double slope, inter;    /* value = slope * stored + inter; 1 and 0 when unscaled */
  PulmoAffine affine;     /* sform if its code > 0, else qform, else pixdim */
  PulmoNiftiGeometry geometry;
  /* What the reader could not trust and what it did instead, for the user to
   * see (unknown ANALYZE orientation, unusable scaling or transform); NULL
   * when the header is sound. */
  char *warning;
} PulmoNiftiHeader;

gboolean pulmo_nifti_read_header (const char *path, PulmoNiftiHeader *header, GError **error);
void pulmo_nifti_header_clear (PulmoNiftiHeader *header);

/* Streams the voxels in order, in native byte order, @n at a time. Each call
 * fills @buffer completely or fails with a message naming how much was there. */
typedef struct _PulmoNiftiReader PulmoNiftiReader;
PulmoNiftiReader *pulmo_nifti_reader_open (const PulmoNiftiHeader *header, GError **error);
gboolean pulmo_nifti_reader_read (PulmoNiftiReader *reader, void *buffer, size_t n, GError **error);
/* After the last voxel: for a compressed file, checks the gzip trailer (CRC). */
gboolean pulmo_nifti_reader_finish (PulmoNiftiReader *reader, GError **error);
void pulmo_nifti_reader_free (PulmoNiftiReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoNiftiReader, pulmo_nifti_reader_free)

/* For a .nii.gz that holds exactly the header's voxels: all of them at once
 * (libdeflate, about twice zlib's speed), in native byte order, in a new
 * buffer of n_voxels × bytes_per_voxel bytes. NULL when the file is not such a
 * file, or is damaged, or memory is short: the caller then streams it with the
 * reader, which gives the precise error. Neither progress nor cancel is seen
 * meanwhile (about 0.3 s per 100 MB of voxels). */
void *pulmo_nifti_inflate_all (const PulmoNiftiHeader *header);

/* Stored values of @datatype to real values: out[v] = slope * raw[v] + inter. */
void pulmo_nifti_to_double (int datatype, const void *raw, size_t n, double slope, double inter,
                            double *out);
const char *pulmo_nifti_datatype_name (int datatype);

/* A geometry for a volume made in memory: sform and qform both from @affine. */
void pulmo_nifti_geometry_from_affine (const PulmoAffine *affine, PulmoNiftiGeometry *geometry);

/* Writes @data (dims[0]*dims[1]*dims[2] voxels of @datatype) with @geometry, gzip
 * compressed when @path ends in ".gz". Atomic: a temporary file in the same folder
 * is written, flushed to disk, then renamed over @path. */
gboolean pulmo_nifti_write (const char *path, const int dims[3], int datatype, const void *data,
                            const PulmoNiftiGeometry *geometry, GError **error);

/* The atomic write under pulmo_nifti_write, shared with the recovery file
 * (src/edit/recovery.c). @write_contents fills @fd, a temporary file in
 * @path's folder, and returns FALSE with errno set if it could not; the file
 * is then flushed to disk and renamed over @path, so that a reader, even
 * after a crash, sees the old file or the new, never a torn one. */
typedef gboolean (*PulmoWriteContentsFunc) (int fd, gpointer user_data);
gboolean pulmo_write_file_atomically (const char *path, PulmoWriteContentsFunc write_contents,
                                      gpointer user_data, GError **error);
/* write(2) until all @size bytes are out; FALSE with errno set on failure. */
gboolean pulmo_write_all (int fd, const void *data, size_t size);

G_END_DECLS
