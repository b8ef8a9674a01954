/* geometry.h: every conversion between voxel, world and display coordinates.
 *
 * voxel   (i, j, k): indices in the file's storage order.
 * world   (x, y, z): RAS millimetres (+x patient Right, +y Anterior, +z Superior).
 * display (u, v, slice): a view's screen column, screen row and slice number. Each
 *   view shows the patient the radiological way whatever the storage order:
 *   axial    u → patient Left, v → Posterior, slice → voxel axis nearest S–I
 *   coronal  u → patient Left, v → Inferior,  slice → voxel axis nearest A–P
 *   sagittal u → Posterior,    v → Inferior,  slice → voxel axis nearest R–L
 * The slice number is the voxel index along that axis, so it matches the file. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  double m[4][4];   /* row-major; world = m · (i, j, k, 1) */
} PulmoAffine;

typedef enum {
  PULMO_VIEW_AXIAL,
  PULMO_VIEW_CORONAL,
  PULMO_VIEW_SAGITTAL,
  PULMO_N_VIEWS
} PulmoViewAxis;

/* A view's reslice transform: which voxel axis runs along each display axis, and
 * whether it runs backwards. Pure axis permutation and flips: oblique files are
 * shown on their nearest orthogonal axes, without interpolation. */
typedef struct {
  PulmoViewAxis view;
  int u_axis, v_axis, slice_axis;  /* voxel axis (0 = i, 1 = j, 2 = k) */
  gboolean u_flip, v_flip;         /* TRUE: display index runs against voxel index */
  int width, height, n_slices;     /* display size in voxels */
  double u_spacing_mm, v_spacing_mm, slice_spacing_mm;
} PulmoReslice;

void pulmo_affine_from_spacing (PulmoAffine *affine, const double spacing_mm[3]);
void pulmo_affine_apply (const PulmoAffine *affine, const double in[3], double out[3]);
gboolean pulmo_affine_invert (const PulmoAffine *affine, PulmoAffine *inverse);
/* Length of the world vector of voxel axis @axis: that axis' spacing in mm. */
double pulmo_affine_axis_spacing (const PulmoAffine *affine, int axis);
/* For each voxel axis, the world axis it runs nearest to (0 = x, 1 = y, 2 = z) and
 * its sign (+1 toward R/A/S, -1 toward L/P/I). A permutation: no two voxel axes share
 * a world axis, even for oblique files. */
void pulmo_affine_nearest_axes (const PulmoAffine *affine, int world_axis[3], int sign[3]);
/* Three-letter code of where each voxel axis points, nibabel style: "LPS", "RAS". */
void pulmo_affine_orientation_code (const PulmoAffine *affine, char code[4]);

void pulmo_reslice_init (PulmoReslice *reslice, PulmoViewAxis view,
                         const PulmoAffine *affine, const int dims[3]);
void pulmo_reslice_to_voxel (const PulmoReslice *reslice, int u, int v, int slice, int ijk[3]);
/* Display row @v of @slice as a run through the voxel array of @dims (storage
 * order): it starts at linear index *start and moves by *step per column. */
void pulmo_reslice_row (const PulmoReslice *reslice, const int dims[3], int slice, int v,
                        gint64 *start, gint64 *step);
/* The voxel box (inclusive lo/hi per voxel axis) of the display box from
 * @lo to @hi (inclusive u, v, slice), both inside the display. */
void pulmo_reslice_box_to_voxel (const PulmoReslice *reslice, const int lo[3], const int hi[3],
                                 int voxel_lo[3], int voxel_hi[3]);
/* Inverse of pulmo_reslice_to_voxel. */
void pulmo_reslice_from_voxel (const PulmoReslice *reslice, const int ijk[3],
                               int *u, int *v, int *slice);
/* The patient direction at each screen edge: left, right, top, bottom ("R", "L", "A", "P"). */
void pulmo_view_edge_letters (PulmoViewAxis view, const char *edges[4]);
const char *pulmo_view_axis_name (PulmoViewAxis view);
/* The voxel of a grid on @to (@to_dims voxels) nearest the world point of voxel
 * @from_ijk on @from moved by @shift_mm (NULL for none): how two scans of one
 * patient on different grids show the same place, the shift being how far the
 * patient lies from there in the second scan. @to_ijk is that voxel, clamped
 * into the grid; FALSE when the point lies outside it (or @to cannot be inverted). */
gboolean pulmo_affine_map_voxel (const PulmoAffine *from, const int from_ijk[3], const double *shift_mm,
                                 const PulmoAffine *to, const int to_dims[3], int to_ijk[3]);

G_END_DECLS
