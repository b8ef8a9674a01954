#include "core/pulmo-volume.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <nifti1.h>
#include <string.h>

#include "core/nifti-io.h"
#include "core/pulmo-error.h"

/* Voxels converted per step when the file's values need scaling or conversion:
 * bounds the scratch memory and sets how often progress and cancel are checked. */
#define CHUNK_VOXELS ((size_t) 1 << 20)

struct _PulmoVolume {
  gatomicrefcount ref_count;
  char *path;
  int dims[3];
  size_t n_voxels;
  double spacing_mm[3];
  PulmoAffine affine;
  PulmoNiftiGeometry geometry;
  char orientation[4];
  PulmoVoxelType voxel_type;
  int16_t *hu;        /* INT16 voxels, or NULL */
  float *values;      /* FLOAT32 voxels, or NULL */
  double min, max;    /* over finite values */
  PulmoIntensityKind intensity_kind;
  const char *source_datatype;
  char *warning;      /* the file's header, from PulmoNiftiHeader */
};

static PulmoVolume *
volume_new (const int dims[3], const PulmoAffine *affine, const PulmoNiftiGeometry *geometry)
{
  PulmoVolume *volume = g_new0 (PulmoVolume, 1);
  g_atomic_ref_count_init (&volume->ref_count);
  memcpy (volume->dims, dims, sizeof volume->dims);
  volume->n_voxels = (size_t) dims[0] * (size_t) dims[1] * (size_t) dims[2];
  volume->affine = *affine;
  volume->geometry = *geometry;
  for (int a = 0; a < 3; a++)
    volume->spacing_mm[a] = pulmo_affine_axis_spacing (affine, a);
  pulmo_affine_orientation_code (affine, volume->orientation);
  return volume;
}

/* Chest CT in HU always contains air (about -1000 HU) around and inside the
 * body; pre-windowed exports hold integer greys 0..255 and nothing else. */
static PulmoIntensityKind
classify_intensities (const PulmoVolume *volume)
{
  if (volume->voxel_type == PULMO_VOXEL_INT16 && volume->min >= 0 && volume->max <= 255)
    return PULMO_INTENSITY_PREWINDOWED_8BIT;
  if (volume->min <= -500 && volume->max <= 40000)
    return PULMO_INTENSITY_HU;
  return PULMO_INTENSITY_UNKNOWN;
}

static void
compute_range (PulmoVolume *volume)
{
  double min = INFINITY, max = -INFINITY;
  if (volume->voxel_type == PULMO_VOXEL_INT16)
    {
      int lo = G_MAXINT16, hi = G_MININT16;
      for (size_t v = 0; v < volume->n_voxels; v++)
        {
          int value = volume->hu[v];
          lo = MIN (lo, value);
          hi = MAX (hi, value);
        }
      min = lo;
      max = hi;
    }
  else
    for (size_t v = 0; v < volume->n_voxels; v++)
      {
        float value = volume->values[v];
        if (isfinite (value))
          {
            min = MIN (min, value);
            max = MAX (max, value);
          }
      }
  if (min > max) /* no finite value at all */
    min = max = 0;
  volume->min = min;
  volume->max = max;
  volume->intensity_kind = classify_intensities (volume);
}

PulmoVolume *
pulmo_volume_new_int16 (const int dims[3], const PulmoAffine *affine, int16_t *hu)
{
  PulmoNiftiGeometry geometry;
  pulmo_nifti_geometry_from_affine (affine, &geometry);
  PulmoVolume *volume = volume_new (dims, affine, &geometry);
  volume->voxel_type = PULMO_VOXEL_INT16;
  volume->hu = hu;
  volume->source_datatype = "int16";
  compute_range (volume);
  return volume;
}

/* Switches storage from int16 to float32 once a value is not an exact int16:
 * the voxels read so far are converted, and the int16 buffer freed. */
static gboolean
promote_to_float (PulmoVolume *volume, size_t n_done, GError **error)
{
  volume->values = g_try_new (float, volume->n_voxels);
  if (volume->values == NULL)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE,
                   _("%s: not enough memory for %zu voxels as floating point"), volume->path, volume->n_voxels);
      return FALSE;
    }
  for (size_t v = 0; v < n_done; v++)
    volume->values[v] = volume->hu[v];
  g_clear_pointer (&volume->hu, g_free);
  volume->voxel_type = PULMO_VOXEL_FLOAT32;
  return TRUE;
}

static gboolean
check_cancelled (GCancellable *cancellable, GError **error)
{
  if (g_cancellable_is_cancelled (cancellable))
    {
      g_set_error_literal (error, PULMO_ERROR, PULMO_ERROR_CANCELLED, _("Loading was cancelled"));
      return TRUE;
    }
  return FALSE;
}

/* int16 files stored unscaled: read straight into the voxel buffer, the common
 * case for CT, so peak memory is the voxels themselves. */
static gboolean
read_int16_direct (PulmoVolume *volume, PulmoNiftiReader *reader, PulmoProgress *progress,
                   GCancellable *cancellable, GError **error)
{
  volume->voxel_type = PULMO_VOXEL_INT16;
  volume->hu = g_try_new (int16_t, volume->n_voxels);
  if (volume->hu == NULL)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE, _("%s: not enough memory for %zu voxels"),
                   volume->path, volume->n_voxels);
      return FALSE;
    }
  for (size_t done = 0; done < volume->n_voxels;)
    {
      size_t n = MIN (CHUNK_VOXELS * 4, volume->n_voxels - done);
      if (check_cancelled (cancellable, error)
          || !pulmo_nifti_reader_read (reader, volume->hu + done, n, error))
        return FALSE;
      done += n;
      pulmo_progress_set (progress, (gint64) done);
    }
  return TRUE;
}

/* Every other datatype or scaling: convert chunk by chunk, keeping int16 while
 * every value is an exact integer in range. */
static gboolean
read_converted (PulmoVolume *volume, PulmoNiftiReader *reader, const PulmoNiftiHeader *header,
                PulmoProgress *progress, GCancellable *cancellable, GError **error)
{
  volume->hu = g_try_new (int16_t, volume->n_voxels);
  if (volume->hu == NULL)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE, _("%s: not enough memory for %zu voxels"),
                   volume->path, volume->n_voxels);
      return FALSE;
    }
  volume->voxel_type = PULMO_VOXEL_INT16;
  g_autofree void *raw = g_malloc (CHUNK_VOXELS * (size_t) header->bytes_per_voxel);
  g_autofree double *real = g_new (double, CHUNK_VOXELS);

  for (size_t done = 0; done < volume->n_voxels;)
    {
      size_t n = MIN (CHUNK_VOXELS, volume->n_voxels - done);
      if (check_cancelled (cancellable, error) || !pulmo_nifti_reader_read (reader, raw, n, error))
        return FALSE;
      pulmo_nifti_to_double (header->datatype, raw, n, header->slope, header->inter, real);

      size_t v = 0;
      if (volume->voxel_type == PULMO_VOXEL_INT16)
        {
          int16_t *out = volume->hu + done;
          for (; v < n; v++)
            {
              double value = real[v];
              if (!(value >= G_MININT16 && value <= G_MAXINT16 && value == floor (value)))
                break;
              out[v] = (int16_t) value;
            }
          if (v < n && !promote_to_float (volume, done + v, error))
            return FALSE;
        }
      if (volume->voxel_type == PULMO_VOXEL_FLOAT32)
        {
          float *out = volume->values + done;
          for (; v < n; v++)
            out[v] = (float) real[v];
        }
      done += n;
      pulmo_progress_set (progress, (gint64) done);
    }
  return TRUE;
}

PulmoVolume *
pulmo_volume_load (const char *path, PulmoProgress *progress, GCancellable *cancellable, GError **error)
{
  PulmoNiftiHeader header;
  if (!pulmo_nifti_read_header (path, &header, error))
    return NULL;

  g_autoptr (PulmoVolume) volume = volume_new (header.dims, &header.affine, &header.geometry);
  volume->path = g_strdup (path);
  volume->source_datatype = pulmo_nifti_datatype_name (header.datatype);
  volume->warning = g_strdup (header.warning);
  pulmo_progress_begin (progress, N_("Reading voxels"), (gint64) volume->n_voxels);

  gboolean ok = FALSE;
  gboolean direct = header.datatype == NIFTI_TYPE_INT16 && header.slope == 1.0 && header.inter == 0.0;
  /* A .nii.gz of int16 inflated whole (its CRC checked) when it can be, else streamed. */
  if (direct && (volume->hu = pulmo_nifti_inflate_all (&header)) != NULL)
    {
      volume->voxel_type = PULMO_VOXEL_INT16;
      ok = !check_cancelled (cancellable, error);
    }
  else
    {
      g_autoptr (PulmoNiftiReader) reader = pulmo_nifti_reader_open (&header, error);
      if (reader != NULL)
        {
          ok = direct ? read_int16_direct (volume, reader, progress, cancellable, error)
                      : read_converted (volume, reader, &header, progress, cancellable, error);
          ok = ok && pulmo_nifti_reader_finish (reader, error);
        }
    }
  pulmo_nifti_header_clear (&header);
  if (!ok)
    return NULL;

  compute_range (volume);
  return g_steal_pointer (&volume);
}

gboolean
pulmo_volume_save (PulmoVolume *volume, const char *path, GError **error)
{
  if (volume->voxel_type == PULMO_VOXEL_INT16)
    return pulmo_nifti_write (path, volume->dims, NIFTI_TYPE_INT16, volume->hu, &volume->geometry, error);
  return pulmo_nifti_write (path, volume->dims, NIFTI_TYPE_FLOAT32, volume->values, &volume->geometry, error);
}

PulmoVolume *
pulmo_volume_ref (PulmoVolume *volume)
{
  g_atomic_ref_count_inc (&volume->ref_count);
  return volume;
}

void
pulmo_volume_unref (PulmoVolume *volume)
{
  if (volume == NULL || !g_atomic_ref_count_dec (&volume->ref_count))
    return;
  g_free (volume->path);
  g_free (volume->warning);
  g_free (volume->hu);
  g_free (volume->values);
  g_free (volume);
}

const char *
pulmo_volume_get_path (const PulmoVolume *volume)
{
  return volume->path;
}

void
pulmo_volume_get_dims (const PulmoVolume *volume, int dims[3])
{
  memcpy (dims, volume->dims, sizeof volume->dims);
}

size_t
pulmo_volume_get_n_voxels (const PulmoVolume *volume)
{
  return volume->n_voxels;
}

const double *
pulmo_volume_get_spacing (const PulmoVolume *volume)
{
  return volume->spacing_mm;
}

const PulmoAffine *
pulmo_volume_get_affine (const PulmoVolume *volume)
{
  return &volume->affine;
}

const PulmoNiftiGeometry *
pulmo_volume_get_nifti_geometry (const PulmoVolume *volume)
{
  return &volume->geometry;
}

const char *
pulmo_volume_get_orientation (const PulmoVolume *volume)
{
  return volume->orientation;
}

gboolean
pulmo_volume_orientation_known (const PulmoVolume *volume)
{
  return volume->geometry.qform_code > 0 || volume->geometry.sform_code > 0;
}

PulmoVoxelType
pulmo_volume_get_voxel_type (const PulmoVolume *volume)
{
  return volume->voxel_type;
}

const int16_t *
pulmo_volume_get_int16 (const PulmoVolume *volume)
{
  return volume->hu;
}

const float *
pulmo_volume_get_float (const PulmoVolume *volume)
{
  return volume->values;
}

double
pulmo_volume_get_value (const PulmoVolume *volume, int i, int j, int k)
{
  g_return_val_if_fail (i >= 0 && j >= 0 && k >= 0 && i < volume->dims[0] && j < volume->dims[1]
                            && k < volume->dims[2], NAN);
  size_t index = ((size_t) k * volume->dims[1] + j) * volume->dims[0] + i;
  return volume->voxel_type == PULMO_VOXEL_INT16 ? volume->hu[index] : volume->values[index];
}

void
pulmo_volume_get_range (const PulmoVolume *volume, double *min, double *max)
{
  *min = volume->min;
  *max = volume->max;
}

PulmoIntensityKind
pulmo_volume_get_intensity_kind (const PulmoVolume *volume)
{
  return volume->intensity_kind;
}

const char *
pulmo_intensity_kind_describe (PulmoIntensityKind kind)
{
  switch (kind)
    {
    case PULMO_INTENSITY_HU: return _("Hounsfield units");
    case PULMO_INTENSITY_PREWINDOWED_8BIT: return _("pre-windowed 8-bit greyscale (not HU)");
    case PULMO_INTENSITY_UNKNOWN: return _("unknown scale (not HU-like)");
    default: g_return_val_if_reached ("unknown");
    }
}

size_t
pulmo_volume_get_memory_bytes (const PulmoVolume *volume)
{
  return volume->n_voxels * (volume->voxel_type == PULMO_VOXEL_INT16 ? sizeof (int16_t) : sizeof (float));
}

const char *
pulmo_volume_get_source_datatype (const PulmoVolume *volume)
{
  return volume->source_datatype;
}

const char *
pulmo_volume_get_warning (const PulmoVolume *volume)
{
  return volume->warning;
}
