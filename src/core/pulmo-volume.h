/* pulmo-volume.h: a CT volume, immutable once loaded and shared by reference
 * between threads. Voxels are stored as int16 when every value is an exact
 * integer in range (HU usually are), otherwise as float32. */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

#include "core/geometry.h"
#include "core/pulmo-progress.h"

G_BEGIN_DECLS

typedef enum {
  PULMO_VOXEL_INT16,
  PULMO_VOXEL_FLOAT32,
} PulmoVoxelType;

typedef enum {
  PULMO_INTENSITY_HU,                 /* Hounsfield units: air near -1000 */
  PULMO_INTENSITY_PREWINDOWED_8BIT,   /* 0..255 greyscale already windowed, not HU */
  PULMO_INTENSITY_UNKNOWN,
} PulmoIntensityKind;

/* The header geometry of the file a volume came from, kept so that label maps
 * and exports are written with exactly the CT's qform and sform. */
typedef struct {
  int qform_code, sform_code;
  double quatern_b, quatern_c, quatern_d;
  double qoffset_x, qoffset_y, qoffset_z, qfac;
  double pixdim[4];          /* pixdim[1..3] as in the file */
  double sform[3][4];        /* srow_x, srow_y, srow_z */
  int xyz_units;             /* NIFTI_UNITS_* */
} PulmoNiftiGeometry;

typedef struct _PulmoVolume PulmoVolume;

PulmoVolume *pulmo_volume_load (const char *path, PulmoProgress *progress,
                                GCancellable *cancellable, GError **error);
/* Takes ownership of @hu (g_malloc'd, dims[0]*dims[1]*dims[2] values). For tools,
 * tests and benchmarks that make volumes in memory. */
PulmoVolume *pulmo_volume_new_int16 (const int dims[3], const PulmoAffine *affine, int16_t *hu);
gboolean pulmo_volume_save (PulmoVolume *volume, const char *path, GError **error);

PulmoVolume *pulmo_volume_ref (PulmoVolume *volume);
void pulmo_volume_unref (PulmoVolume *volume);

const char *pulmo_volume_get_path (const PulmoVolume *volume);     /* NULL if made in memory */
void pulmo_volume_get_dims (const PulmoVolume *volume, int dims[3]);
size_t pulmo_volume_get_n_voxels (const PulmoVolume *volume);
const double *pulmo_volume_get_spacing (const PulmoVolume *volume); /* 3 values, mm */
const PulmoAffine *pulmo_volume_get_affine (const PulmoVolume *volume);
const PulmoNiftiGeometry *pulmo_volume_get_nifti_geometry (const PulmoVolume *volume);
const char *pulmo_volume_get_orientation (const PulmoVolume *volume); /* "LPS", "RAS", … */
/* FALSE when the file gives no orientation (an ANALYZE 7.5 file, or NIfTI with
 * qform and sform codes 0): the orientation above is then NIfTI's default
 * reading of the voxel axes, an assumption the reader must be told of. */
gboolean pulmo_volume_orientation_known (const PulmoVolume *volume);

PulmoVoxelType pulmo_volume_get_voxel_type (const PulmoVolume *volume);
const int16_t *pulmo_volume_get_int16 (const PulmoVolume *volume);  /* NULL unless INT16 */
const float *pulmo_volume_get_float (const PulmoVolume *volume);    /* NULL unless FLOAT32 */
/* One voxel's value (HU for CT), for readouts and tests, not for hot loops. */
double pulmo_volume_get_value (const PulmoVolume *volume, int i, int j, int k);
void pulmo_volume_get_range (const PulmoVolume *volume, double *min, double *max);
PulmoIntensityKind pulmo_volume_get_intensity_kind (const PulmoVolume *volume);
const char *pulmo_intensity_kind_describe (PulmoIntensityKind kind);
/* Bytes the voxels take in memory. */
size_t pulmo_volume_get_memory_bytes (const PulmoVolume *volume);
/* The datatype as stored in the file ("int32", "float64", …). */
const char *pulmo_volume_get_source_datatype (const PulmoVolume *volume);
/* What the file's header could not be trusted for and what Pulmo did instead
 * (unknown ANALYZE orientation, unusable scaling or transform), for the user
 * to see; NULL when the header is sound. */
const char *pulmo_volume_get_warning (const PulmoVolume *volume);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoVolume, pulmo_volume_unref)

G_END_DECLS
