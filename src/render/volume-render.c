#include "render/volume-render.h"

#include <math.h>
#include <string.h>

#include "core/pulmo-error.h"

/* Sizes a label map can have (as nifti-io accepts): each axis below 2^16 voxels. */
enum { MAX_AXIS = 65535 };

/* How a label is drawn. */
enum { DRAW_NONE, DRAW_LUNG, DRAW_SURFACE };

/* Glass: a surface the ray enters adds this much opacity face-on, more at grazing
 * angles so that the lung's outline reads; each voxel inside adds a trace. */
#define LUNG_FACE_ALPHA 0.06
#define LUNG_RIM_ALPHA 0.30
#define LUNG_INSIDE_ALPHA 0.004
/* Lesion surfaces lit by a light at the eye: never darker than this. */
#define SURFACE_AMBIENT 0.28

struct _PulmoVolumeGrid {
  int dims[3];          /* grid voxels per axis */
  int factor[3];        /* full-resolution voxels per grid voxel */
  int full_dims[3];
  PulmoAffine affine;   /* grid voxel → world */
  int lo[3], hi[3];     /* grid box of the labelled voxels; lo > hi when none */
  uint8_t *labels;
};

gboolean
pulmo_label_is_lung (uint8_t value)
{
  return value == PULMO_LABEL_RIGHT_LUNG || value == PULMO_LABEL_LEFT_LUNG
         || value == PULMO_LABEL_LUNG_UNKNOWN_SIDE;
}

/* ---- camera ---------------------------------------------------------------- */

void
pulmo_camera_3d_reset (PulmoCamera3D *camera, const int dims[3], const PulmoAffine *affine, int width,
                       int height)
{
  double lo[3] = { G_MAXDOUBLE, G_MAXDOUBLE, G_MAXDOUBLE }, hi[3] = { -G_MAXDOUBLE, -G_MAXDOUBLE, -G_MAXDOUBLE };
  for (int corner = 0; corner < 8; corner++)
    {
      double voxel[3], world[3];
      for (int a = 0; a < 3; a++)
        voxel[a] = (corner >> a & 1) ? dims[a] - 0.5 : -0.5;
      pulmo_affine_apply (affine, voxel, world);
      for (int a = 0; a < 3; a++)
        {
          lo[a] = MIN (lo[a], world[a]);
          hi[a] = MAX (hi[a], world[a]);
        }
    }
  *camera = (PulmoCamera3D) { .zoom = 1.0, .width = MAX (width, 1), .height = MAX (height, 1) };
  for (int a = 0; a < 3; a++)
    {
      camera->center[a] = (lo[a] + hi[a]) / 2;
      camera->fit_mm = MAX (camera->fit_mm, hi[a] - lo[a]);
    }
  camera->fit_mm = MAX (camera->fit_mm * 1.05, 1.0);
}

/* Screen right, screen up and the viewing direction, in world coordinates. */
static void
camera_basis (const PulmoCamera3D *camera, double right[3], double up[3], double forward[3])
{
  double pitch = camera->pitch_deg * G_PI / 180, yaw = camera->yaw_deg * G_PI / 180;
  /* From the front: right is the patient's left (−x), up superior, looking posterior (−y). */
  double r[3] = { -1, 0, 0 };
  double u[3] = { 0, -sin (pitch), cos (pitch) };
  double f[3] = { 0, -cos (pitch), -sin (pitch) };
  double c = cos (yaw), s = sin (yaw);
  double *in[3] = { r, u, f }, *out[3] = { right, up, forward };
  for (int v = 0; v < 3; v++)
    {
      out[v][0] = in[v][0] * c - in[v][1] * s;
      out[v][1] = in[v][0] * s + in[v][1] * c;
      out[v][2] = in[v][2];
    }
}

static double
mm_per_pixel (const PulmoCamera3D *camera)
{
  return camera->fit_mm / (MIN (camera->width, camera->height) * MAX (camera->zoom, 1e-3));
}

void
pulmo_camera_3d_ray (const PulmoCamera3D *camera, double x, double y, double origin[3], double direction[3])
{
  double right[3], up[3];
  camera_basis (camera, right, up, direction);
  double mm = mm_per_pixel (camera);
  double across = (x - camera->width / 2.0) * mm, down = (y - camera->height / 2.0) * mm;
  for (int a = 0; a < 3; a++)
    origin[a] = camera->center[a] + across * right[a] - down * up[a];
}

void
pulmo_camera_3d_project_direction (const PulmoCamera3D *camera, const double world_direction[3], double *x,
                                   double *y)
{
  double right[3], up[3], forward[3];
  camera_basis (camera, right, up, forward);
  *x = *y = 0;
  for (int a = 0; a < 3; a++)
    {
      *x += world_direction[a] * right[a];
      *y -= world_direction[a] * up[a];
    }
}

void
pulmo_camera_3d_project_point (const PulmoCamera3D *camera, const double world[3], double *x, double *y)
{
  double offset[3] = { world[0] - camera->center[0], world[1] - camera->center[1], world[2] - camera->center[2] };
  double mm = mm_per_pixel (camera);
  pulmo_camera_3d_project_direction (camera, offset, x, y);
  *x = *x / mm + camera->width / 2.0;
  *y = *y / mm + camera->height / 2.0;
}

/* ---- grid ------------------------------------------------------------------ */

static int
draw_rank (uint8_t value)
{
  return value == 0 ? 0 : pulmo_label_is_lung (value) ? 1 : 2;
}

PulmoVolumeGrid *
pulmo_volume_grid_new (const uint8_t *labels, const int dims[3], const PulmoAffine *affine, int max_size,
                       GError **error)
{
  g_return_val_if_fail (labels != NULL && max_size > 0, NULL);
  for (int a = 0; a < 3; a++)
    if (dims[a] < 1 || dims[a] > MAX_AXIS)
      {
        g_set_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE,
                     "a label map of %d×%d×%d voxels cannot be shown in 3D: each axis must hold 1 to %d voxels",
                     dims[0], dims[1], dims[2], MAX_AXIS);
        return NULL;
      }
  PulmoVolumeGrid *grid = g_atomic_rc_box_new0 (PulmoVolumeGrid);
  for (int a = 0; a < 3; a++)
    {
      grid->full_dims[a] = dims[a];
      grid->factor[a] = (dims[a] + max_size - 1) / max_size;
      grid->dims[a] = (dims[a] + grid->factor[a] - 1) / grid->factor[a];
      grid->lo[a] = grid->dims[a];
      grid->hi[a] = -1;
    }
  /* Grid voxel g covers full voxels f·g … f·g + f − 1: its centre is f·g + (f − 1)/2. */
  grid->affine = *affine;
  for (int r = 0; r < 3; r++)
    {
      for (int a = 0; a < 3; a++)
        {
          grid->affine.m[r][3] += affine->m[r][a] * (grid->factor[a] - 1) / 2.0;
          grid->affine.m[r][a] = affine->m[r][a] * grid->factor[a];
        }
    }
  size_t grid_n = (size_t) grid->dims[0] * grid->dims[1] * grid->dims[2];
  grid->labels = g_malloc0 (grid_n);

  g_autofree int *grid_i = g_new (int, dims[0]);
  for (int i = 0; i < dims[0]; i++)
    grid_i[i] = i / grid->factor[0];
  int rank[256];
  for (int v = 0; v < 256; v++)
    rank[v] = draw_rank ((uint8_t) v);
  for (int k = 0; k < dims[2]; k++)
    for (int j = 0; j < dims[1]; j++)
      {
        const uint8_t *row = labels + ((size_t) k * dims[1] + j) * dims[0];
        int gk = k / grid->factor[2], gj = j / grid->factor[1];
        uint8_t *grid_row = grid->labels + ((size_t) gk * grid->dims[1] + gj) * grid->dims[0];
        for (int i = 0; i < dims[0]; i++)
          {
            uint8_t *cell = &grid_row[grid_i[i]];
            if (rank[row[i]] > rank[*cell])
              *cell = row[i];
          }
      }
  for (int k = 0; k < grid->dims[2]; k++)
    for (int j = 0; j < grid->dims[1]; j++)
      {
        const uint8_t *row = grid->labels + ((size_t) k * grid->dims[1] + j) * grid->dims[0];
        int first = -1, last = -1;
        for (int i = 0; i < grid->dims[0]; i++)
          if (row[i] != 0)
            {
              if (first < 0)
                first = i;
              last = i;
            }
        if (first < 0)
          continue;
        int at_lo[3] = { first, j, k }, at_hi[3] = { last, j, k };
        for (int a = 0; a < 3; a++)
          {
            grid->lo[a] = MIN (grid->lo[a], at_lo[a]);
            grid->hi[a] = MAX (grid->hi[a], at_hi[a]);
          }
      }
  return grid;
}

PulmoVolumeGrid *
pulmo_volume_grid_ref (PulmoVolumeGrid *grid)
{
  return g_atomic_rc_box_acquire (grid);
}

static void
grid_clear (PulmoVolumeGrid *grid)
{
  g_free (grid->labels);
}

void
pulmo_volume_grid_unref (PulmoVolumeGrid *grid)
{
  g_atomic_rc_box_release_full (grid, (GDestroyNotify) grid_clear);
}

void
pulmo_volume_grid_get_dims (const PulmoVolumeGrid *grid, int dims[3])
{
  memcpy (dims, grid->dims, sizeof grid->dims);
}

/* ---- rays ------------------------------------------------------------------ */

/* The part of the ray p(t) = start + t·step inside the box lo − ½ … hi + ½ (in
 * the grid's voxel coordinates); FALSE when it misses the box. */
static gboolean
clip_ray (const double start[3], const double step[3], const int lo[3], const int hi[3], double *t0, double *t1)
{
  *t0 = -G_MAXDOUBLE;
  *t1 = G_MAXDOUBLE;
  for (int a = 0; a < 3; a++)
    {
      double low = lo[a] - 0.5, high = hi[a] + 0.5;
      if (fabs (step[a]) < 1e-12)
        {
          if (start[a] < low || start[a] >= high)
            return FALSE;
          continue;
        }
      double ta = (low - start[a]) / step[a], tb = (high - start[a]) / step[a];
      *t0 = MAX (*t0, MIN (ta, tb));
      *t1 = MIN (*t1, MAX (ta, tb));
    }
  return *t0 <= *t1;
}

/* World point and direction in the voxel coordinates of @affine, the direction
 * scaled so that one step moves @voxels voxels along the axis it runs most along. */
static void
ray_to_voxels (const PulmoAffine *inverse, const double origin[3], const double direction[3], double voxels,
               double start[3], double step[3])
{
  pulmo_affine_apply (inverse, origin, start);
  double largest = 0;
  for (int a = 0; a < 3; a++)
    {
      step[a] = inverse->m[a][0] * direction[0] + inverse->m[a][1] * direction[1] + inverse->m[a][2] * direction[2];
      largest = MAX (largest, fabs (step[a]));
    }
  for (int a = 0; a < 3; a++)
    step[a] *= voxels / largest;
}

typedef struct {
  const uint8_t *labels;
  int dims[3];
  const uint8_t *draw;   /* DRAW_* per label value */
} Occupancy;

static int
occupied (const Occupancy *o, int kind, int i, int j, int k)
{
  i = CLAMP (i, 0, o->dims[0] - 1);
  j = CLAMP (j, 0, o->dims[1] - 1);
  k = CLAMP (k, 0, o->dims[2] - 1);
  return o->draw[o->labels[((size_t) k * o->dims[1] + j) * o->dims[0] + i]] == kind;
}

/* How squarely the ray meets the surface of @kind at voxel (i, j, k): |cos| of the
 * angle between the view direction and the occupancy gradient (summed over the
 * 3×3 neighbours on each side, for smoother normals than one difference gives). */
static double
facing (const Occupancy *o, const double normal_to_world[3][3], const double forward[3], int kind, int i, int j,
        int k)
{
  double gradient[3] = { 0, 0, 0 };
  for (int b = -1; b <= 1; b++)
    for (int c = -1; c <= 1; c++)
      {
        gradient[0] += occupied (o, kind, i - 1, j + b, k + c) - occupied (o, kind, i + 1, j + b, k + c);
        gradient[1] += occupied (o, kind, i + b, j - 1, k + c) - occupied (o, kind, i + b, j + 1, k + c);
        gradient[2] += occupied (o, kind, i + b, j + c, k - 1) - occupied (o, kind, i + b, j + c, k + 1);
      }
  double normal[3], length = 0, along = 0;
  for (int a = 0; a < 3; a++)
    {
      normal[a] = normal_to_world[a][0] * gradient[0] + normal_to_world[a][1] * gradient[1]
                  + normal_to_world[a][2] * gradient[2];
      length += normal[a] * normal[a];
      along += normal[a] * forward[a];
    }
  return length > 0 ? fabs (along) / sqrt (length) : 1.0;
}

void
pulmo_volume_render (const PulmoVolumeGrid *grid, const PulmoLabelTable *table, const PulmoCamera3D *camera,
                     uint32_t *pixels, int stride_bytes)
{
  for (int y = 0; y < camera->height; y++)
    memset ((uint8_t *) pixels + (size_t) y * stride_bytes, 0, (size_t) camera->width * 4);
  if (grid->lo[0] > grid->hi[0])
    return;

  uint8_t draw[256];
  double colour[256][3];
  for (int v = 0; v < 256; v++)
    {
      const PulmoLabel *label = pulmo_label_table_get (table, (uint8_t) v);
      draw[v] = v == 0 || !label->defined || !label->visible ? DRAW_NONE
                : pulmo_label_is_lung ((uint8_t) v)          ? DRAW_LUNG
                                                             : DRAW_SURFACE;
      for (int c = 0; c < 3; c++)
        colour[v][c] = label->rgba[c] / 255.0;
    }
  /* A hidden lesion still lies in its lung: draw it as the lung around it would be. */
  const PulmoLabel *lung = pulmo_label_table_get (table, PULMO_LABEL_RIGHT_LUNG);
  for (int v = 1; v < 256; v++)
    if (draw[v] == DRAW_NONE && !pulmo_label_is_lung ((uint8_t) v) && lung->defined && lung->visible)
      {
        draw[v] = DRAW_LUNG;
        memcpy (colour[v], colour[PULMO_LABEL_RIGHT_LUNG], sizeof colour[v]);
      }

  PulmoAffine inverse;
  if (!pulmo_affine_invert (&grid->affine, &inverse))
    return;
  /* Normals are gradients: they map to world by the inverse's transpose. */
  double normal_to_world[3][3];
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 3; c++)
      normal_to_world[r][c] = inverse.m[c][r];
  Occupancy occupancy = { grid->labels, { grid->dims[0], grid->dims[1], grid->dims[2] }, draw };

  /* Orthographic rays: each pixel's start is linear in (x, y); the step is shared. */
  double origin[3], direction[3], start[3], step[3], next_x[3], next_y[3], unused[3];
  pulmo_camera_3d_ray (camera, 0.5, 0.5, origin, direction);
  ray_to_voxels (&inverse, origin, direction, 1.0, start, step);
  pulmo_camera_3d_ray (camera, 1.5, 0.5, origin, unused);
  pulmo_affine_apply (&inverse, origin, next_x);
  pulmo_camera_3d_ray (camera, 0.5, 1.5, origin, unused);
  pulmo_affine_apply (&inverse, origin, next_y);
  for (int a = 0; a < 3; a++)
    {
      next_x[a] -= start[a];
      next_y[a] -= start[a];
    }
  const size_t row_stride = grid->dims[0], slice_stride = (size_t) grid->dims[0] * grid->dims[1];
  const int last[3] = { grid->dims[0] - 1, grid->dims[1] - 1, grid->dims[2] - 1 };

  for (int y = 0; y < camera->height; y++)
    {
      uint32_t *out = (uint32_t *) ((uint8_t *) pixels + (size_t) y * stride_bytes);
      for (int x = 0; x < camera->width; x++)
        {
          double p[3], t0, t1;
          for (int a = 0; a < 3; a++)
            p[a] = start[a] + x * next_x[a] + y * next_y[a];
          if (!clip_ray (p, step, grid->lo, grid->hi, &t0, &t1))
            continue;
          double t = ceil (t0);
          for (int a = 0; a < 3; a++)
            p[a] += t * step[a];
          double red = 0, green = 0, blue = 0, alpha = 0;
          gboolean in_lung = FALSE;
          for (; t <= t1 && alpha < 0.98; t += 1.0)
            {
              int i = MIN ((int) (p[0] + 0.5), last[0]);
              int j = MIN ((int) (p[1] + 0.5), last[1]);
              int k = MIN ((int) (p[2] + 0.5), last[2]);
              for (int a = 0; a < 3; a++)
                p[a] += step[a];
              uint8_t value = grid->labels[k * slice_stride + j * row_stride + i];
              int kind = draw[value];
              double add = 0, shade = 1;
              if (kind == DRAW_SURFACE)
                {
                  shade = SURFACE_AMBIENT
                          + (1 - SURFACE_AMBIENT) * facing (&occupancy, normal_to_world, direction, kind, i, j, k);
                  add = 1.0;
                }
              else if (kind == DRAW_LUNG)
                {
                  add = LUNG_INSIDE_ALPHA;
                  if (!in_lung)
                    add += LUNG_FACE_ALPHA
                           + LUNG_RIM_ALPHA
                               * (1 - facing (&occupancy, normal_to_world, direction, kind, i, j, k));
                }
              in_lung = kind == DRAW_LUNG;
              if (add == 0)
                continue;
              double weight = (1 - alpha) * add * shade;
              red += weight * colour[value][0];
              green += weight * colour[value][1];
              blue += weight * colour[value][2];
              alpha += (1 - alpha) * add;
              if (kind == DRAW_SURFACE)
                break;
            }
          if (alpha <= 0)
            continue;
          /* Premultiplied: each channel is already weighted by the opacity it came with. */
          out[x] = (uint32_t) lround (MIN (alpha, 1.0) * 255) << 24 | (uint32_t) lround (MIN (red, 1.0) * 255) << 16
                   | (uint32_t) lround (MIN (green, 1.0) * 255) << 8 | (uint32_t) lround (MIN (blue, 1.0) * 255);
        }
    }
}

gboolean
pulmo_volume_pick (const uint8_t *labels, const int dims[3], const PulmoAffine *affine,
                   const PulmoLabelTable *table, const PulmoCamera3D *camera, double x, double y, int ijk[3],
                   double world[3], uint8_t *label)
{
  PulmoAffine inverse;
  if (!pulmo_affine_invert (affine, &inverse))
    return FALSE;
  double origin[3], direction[3], start[3], step[3], t0, t1;
  pulmo_camera_3d_ray (camera, x, y, origin, direction);
  /* Half-voxel steps: the ray cannot jump over a voxel it crosses squarely. */
  ray_to_voxels (&inverse, origin, direction, 0.5, start, step);
  const int lo[3] = { 0, 0, 0 }, hi[3] = { dims[0] - 1, dims[1] - 1, dims[2] - 1 };
  if (!clip_ray (start, step, lo, hi, &t0, &t1))
    return FALSE;
  gboolean found_lung = FALSE, found_lesion = FALSE;
  for (double t = ceil (t0); t <= t1 && !found_lesion; t += 1.0)
    {
      int at[3];
      for (int a = 0; a < 3; a++)
        at[a] = CLAMP ((int) floor (start[a] + t * step[a] + 0.5), 0, dims[a] - 1);
      uint8_t value = labels[((size_t) at[2] * dims[1] + at[1]) * dims[0] + at[0]];
      const PulmoLabel *entry = pulmo_label_table_get (table, value);
      if (value == 0 || !entry->defined || !entry->visible)
        continue;
      found_lesion = !pulmo_label_is_lung (value);
      if (found_lesion || !found_lung)
        {
          memcpy (ijk, at, sizeof at);
          *label = value;
        }
      found_lung = TRUE;
    }
  if (!found_lung)
    return FALSE;
  double voxel[3] = { ijk[0], ijk[1], ijk[2] };
  pulmo_affine_apply (affine, voxel, world);
  return TRUE;
}
