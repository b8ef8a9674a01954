#include "core/geometry.h"

#include <math.h>
#include <string.h>

void
pulmo_affine_from_spacing (PulmoAffine *affine, const double spacing_mm[3])
{
  memset (affine, 0, sizeof *affine);
  for (int a = 0; a < 3; a++)
    affine->m[a][a] = spacing_mm[a];
  affine->m[3][3] = 1.0;
}

void
pulmo_affine_apply (const PulmoAffine *affine, const double in[3], double out[3])
{
  double result[3];
  for (int r = 0; r < 3; r++)
    result[r] = affine->m[r][0] * in[0] + affine->m[r][1] * in[1] + affine->m[r][2] * in[2]
                + affine->m[r][3];
  memcpy (out, result, sizeof result);
}

gboolean
pulmo_affine_invert (const PulmoAffine *affine, PulmoAffine *inverse)
{
  const double (*m)[4] = affine->m;
  /* Inverse of the 3×3 linear part by cofactors, then the translation. */
  double c00 = m[1][1] * m[2][2] - m[1][2] * m[2][1];
  double c01 = m[1][2] * m[2][0] - m[1][0] * m[2][2];
  double c02 = m[1][0] * m[2][1] - m[1][1] * m[2][0];
  double det = m[0][0] * c00 + m[0][1] * c01 + m[0][2] * c02;
  if (!isfinite (det) || fabs (det) < 1e-12)
    return FALSE;

  double r[3][3] = {
    { c00, m[0][2] * m[2][1] - m[0][1] * m[2][2], m[0][1] * m[1][2] - m[0][2] * m[1][1] },
    { c01, m[0][0] * m[2][2] - m[0][2] * m[2][0], m[0][2] * m[1][0] - m[0][0] * m[1][2] },
    { c02, m[0][1] * m[2][0] - m[0][0] * m[2][1], m[0][0] * m[1][1] - m[0][1] * m[1][0] },
  };
  PulmoAffine result = { { { 0 } } };
  for (int i = 0; i < 3; i++)
    {
      for (int j = 0; j < 3; j++)
        result.m[i][j] = r[i][j] / det;
      result.m[i][3] = -(result.m[i][0] * m[0][3] + result.m[i][1] * m[1][3] + result.m[i][2] * m[2][3]);
    }
  result.m[3][3] = 1.0;
  *inverse = result;
  return TRUE;
}

double
pulmo_affine_axis_spacing (const PulmoAffine *affine, int axis)
{
  double x = affine->m[0][axis], y = affine->m[1][axis], z = affine->m[2][axis];
  return sqrt (x * x + y * y + z * z);
}

void
pulmo_affine_nearest_axes (const PulmoAffine *affine, int world_axis[3], int sign[3])
{
  /* Try the six assignments of voxel axes to world axes and keep the one whose
   * direction cosines agree best; a greedy choice could give two voxel axes the
   * same world axis in a strongly oblique file. */
  static const int permutations[6][3] = {
    { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
  };
  double cosine[3][3]; /* cosine[voxel axis][world axis] */
  for (int v = 0; v < 3; v++)
    {
      double length = pulmo_affine_axis_spacing (affine, v);
      for (int w = 0; w < 3; w++)
        cosine[v][w] = length > 0 ? affine->m[w][v] / length : (v == w);
    }

  int best = 0;
  double best_score = -1.0;
  for (int p = 0; p < 6; p++)
    {
      double score = 0;
      for (int v = 0; v < 3; v++)
        score += fabs (cosine[v][permutations[p][v]]);
      if (score > best_score + 1e-9)
        {
          best_score = score;
          best = p;
        }
    }
  for (int v = 0; v < 3; v++)
    {
      world_axis[v] = permutations[best][v];
      sign[v] = cosine[v][world_axis[v]] < 0 ? -1 : 1;
    }
}

void
pulmo_affine_orientation_code (const PulmoAffine *affine, char code[4])
{
  static const char positive[3] = { 'R', 'A', 'S' };
  static const char negative[3] = { 'L', 'P', 'I' };
  int world_axis[3], sign[3];

  pulmo_affine_nearest_axes (affine, world_axis, sign);
  for (int v = 0; v < 3; v++)
    code[v] = sign[v] > 0 ? positive[world_axis[v]] : negative[world_axis[v]];
  code[3] = '\0';
}

/* For each view: the world axis along screen u, screen v and the slice normal,
 * and the world direction (+1/-1) that u and v increase toward. */
static const struct {
  int u_world, v_world, slice_world;
  int u_sign, v_sign;
} view_layout[PULMO_N_VIEWS] = {
  [PULMO_VIEW_AXIAL] = { 0, 1, 2, -1, -1 },    /* u → Left, v → Posterior */
  [PULMO_VIEW_CORONAL] = { 0, 2, 1, -1, -1 },  /* u → Left, v → Inferior */
  [PULMO_VIEW_SAGITTAL] = { 1, 2, 0, -1, -1 }, /* u → Posterior, v → Inferior */
};

void
pulmo_reslice_init (PulmoReslice *reslice, PulmoViewAxis view, const PulmoAffine *affine,
                    const int dims[3])
{
  int world_axis[3], sign[3], voxel_of_world[3];

  pulmo_affine_nearest_axes (affine, world_axis, sign);
  for (int v = 0; v < 3; v++)
    voxel_of_world[world_axis[v]] = v;

  int u_axis = voxel_of_world[view_layout[view].u_world];
  int v_axis = voxel_of_world[view_layout[view].v_world];
  int slice_axis = voxel_of_world[view_layout[view].slice_world];

  reslice->view = view;
  reslice->u_axis = u_axis;
  reslice->v_axis = v_axis;
  reslice->slice_axis = slice_axis;
  reslice->u_flip = sign[u_axis] != view_layout[view].u_sign;
  reslice->v_flip = sign[v_axis] != view_layout[view].v_sign;
  reslice->width = dims[u_axis];
  reslice->height = dims[v_axis];
  reslice->n_slices = dims[slice_axis];
  reslice->u_spacing_mm = pulmo_affine_axis_spacing (affine, u_axis);
  reslice->v_spacing_mm = pulmo_affine_axis_spacing (affine, v_axis);
  reslice->slice_spacing_mm = pulmo_affine_axis_spacing (affine, slice_axis);
}

void
pulmo_reslice_to_voxel (const PulmoReslice *reslice, int u, int v, int slice, int ijk[3])
{
  ijk[reslice->u_axis] = reslice->u_flip ? reslice->width - 1 - u : u;
  ijk[reslice->v_axis] = reslice->v_flip ? reslice->height - 1 - v : v;
  ijk[reslice->slice_axis] = slice;
}

void
pulmo_reslice_row (const PulmoReslice *reslice, const int dims[3], int slice, int v, gint64 *start,
                   gint64 *step)
{
  const gint64 stride[3] = { 1, dims[0], (gint64) dims[0] * dims[1] };
  int ijk[3];
  pulmo_reslice_to_voxel (reslice, 0, v, slice, ijk);
  *start = ijk[0] + ijk[1] * stride[1] + ijk[2] * stride[2];
  *step = (reslice->u_flip ? -1 : 1) * stride[reslice->u_axis];
}

void
pulmo_reslice_box_to_voxel (const PulmoReslice *reslice, const int lo[3], const int hi[3],
                            int voxel_lo[3], int voxel_hi[3])
{
  int a[3], b[3];
  pulmo_reslice_to_voxel (reslice, lo[0], lo[1], lo[2], a);
  pulmo_reslice_to_voxel (reslice, hi[0], hi[1], hi[2], b);
  for (int axis = 0; axis < 3; axis++)
    {
      voxel_lo[axis] = MIN (a[axis], b[axis]);
      voxel_hi[axis] = MAX (a[axis], b[axis]);
    }
}

void
pulmo_reslice_from_voxel (const PulmoReslice *reslice, const int ijk[3], int *u, int *v, int *slice)
{
  int iu = ijk[reslice->u_axis], iv = ijk[reslice->v_axis];
  *u = reslice->u_flip ? reslice->width - 1 - iu : iu;
  *v = reslice->v_flip ? reslice->height - 1 - iv : iv;
  *slice = ijk[reslice->slice_axis];
}

void
pulmo_view_edge_letters (PulmoViewAxis view, const char *edges[4])
{
  static const char *letters[PULMO_N_VIEWS][4] = {
    [PULMO_VIEW_AXIAL] = { "R", "L", "A", "P" },
    [PULMO_VIEW_CORONAL] = { "R", "L", "S", "I" },
    [PULMO_VIEW_SAGITTAL] = { "A", "P", "S", "I" },
  };
  memcpy (edges, letters[view], sizeof letters[view]);
}

const char *
pulmo_view_axis_name (PulmoViewAxis view)
{
  static const char *names[PULMO_N_VIEWS] = { "Axial", "Coronal", "Sagittal" };
  return names[view];
}

gboolean
pulmo_affine_map_voxel (const PulmoAffine *from, const int from_ijk[3], const double *shift_mm,
                        const PulmoAffine *to, const int to_dims[3], int to_ijk[3])
{
  PulmoAffine inverse;
  if (!pulmo_affine_invert (to, &inverse))
    return FALSE;
  double voxel[3] = { from_ijk[0], from_ijk[1], from_ijk[2] }, world[3], at[3];
  pulmo_affine_apply (from, voxel, world);
  for (int a = 0; a < 3 && shift_mm != NULL; a++)
    world[a] += shift_mm[a];
  pulmo_affine_apply (&inverse, world, at);
  gboolean inside = TRUE;
  for (int a = 0; a < 3; a++)
    {
      double nearest = floor (at[a] + 0.5);
      if (!(nearest >= 0 && nearest < to_dims[a]))
        {
          inside = FALSE;
          nearest = nearest >= to_dims[a] ? to_dims[a] - 1 : 0;  /* NaN too lands on 0 */
        }
      to_ijk[a] = (int) nearest;
    }
  return inside;
}
