/* postprocess.c: see postprocess.h. */
#include "segment/postprocess.h"

#include <math.h>

#include "core/pulmo-error.h"

/* Where in the lung region a voxel stands while the lungs are worked out. */
enum {
  REGION_NONE,
  REGION_UNVISITED,     /* lung or lesion, component not yet seen */
  REGION_SEEN,          /* in a component that is not (yet) a lung */
  REGION_SPLITTING,     /* in the component being split */
  REGION_PART_A,        /* the lungs, sides not yet named */
  REGION_PART_B,
  REGION_RIGHT,         /* right lung parenchyma */
  REGION_LEFT,
  REGION_RIGHT_LESION,
  REGION_LEFT_LESION,
  REGION_RIGHT_ISLAND,  /* lesion voxels already measured as an island */
  REGION_LEFT_ISLAND,
};

enum { LABEL_RIGHT = 1, LABEL_LEFT = 2, LABEL_GGO = 3, LABEL_CONSOLIDATION = 4,
       LABEL_EFFUSION = 5, LABEL_LUNG_UNKNOWN = 6 };

/* The two lungs' parts must each hold this share of the larger one. */
#define MIN_PART_RATIO 0.1
/* In-plane erosions tried before a component counts as one lung. */
#define MAX_EROSIONS 24

typedef struct {
  int dims[3];
  gsize stride[3];
  gsize n;
} Grid;

/* Voxel indices; a component's voxels after a flood, or a FIFO queue. */
typedef struct {
  guint32 *v;
  gsize n, cap;
} VoxelList;

typedef struct {
  guint32 seed;
  gsize size;
} Component;

static void
grid_init (Grid *grid, const int dims[3])
{
  memcpy (grid->dims, dims, sizeof grid->dims);
  grid->stride[0] = 1;
  grid->stride[1] = (gsize) dims[0];
  grid->stride[2] = (gsize) dims[0] * dims[1];
  grid->n = grid->stride[2] * dims[2];
}

static void
list_push (VoxelList *list, guint32 voxel)
{
  if (list->n == list->cap)
    {
      list->cap = MAX (1024, list->cap * 2);
      list->v = g_renew (guint32, list->v, list->cap);
    }
  list->v[list->n++] = voxel;
}

static gboolean
is_lung (uint8_t value)
{
  return value == LABEL_RIGHT || value == LABEL_LEFT || value == LABEL_LUNG_UNKNOWN;
}

static gboolean
is_lesion (uint8_t value)
{
  return value == LABEL_GGO || value == LABEL_CONSOLIDATION;
}

/* Breadth-first through the voxels of @mask valued @from, rewriting them to
 * @to; @out receives the voxels in the order reached, @out's first entries
 * being the seeds already in it (each already valued @to). */
static void
grow (const Grid *grid, uint8_t *mask, uint8_t from, uint8_t to, VoxelList *out)
{
  for (gsize head = 0; head < out->n; head++)
    {
      guint32 voxel = out->v[head];
      int c[3] = { (int) (voxel % grid->stride[1]), (int) (voxel / grid->stride[1] % grid->dims[1]),
                   (int) (voxel / grid->stride[2]) };
      for (int axis = 0; axis < 3; axis++)
        {
          if (c[axis] > 0 && mask[voxel - grid->stride[axis]] == from)
            {
              mask[voxel - grid->stride[axis]] = to;
              list_push (out, (guint32) (voxel - grid->stride[axis]));
            }
          if (c[axis] + 1 < grid->dims[axis] && mask[voxel + grid->stride[axis]] == from)
            {
              mask[voxel + grid->stride[axis]] = to;
              list_push (out, (guint32) (voxel + grid->stride[axis]));
            }
        }
    }
}

/* The 6-connected component of @seed among @from voxels, rewritten to @to. */
static void
flood (const Grid *grid, uint8_t *mask, guint32 seed, uint8_t from, uint8_t to, VoxelList *out)
{
  out->n = 0;
  mask[seed] = to;
  list_push (out, seed);
  grow (grid, mask, from, to, out);
}

static int
compare_size_descending (gconstpointer a, gconstpointer b)
{
  gsize sa = ((const Component *) a)->size, sb = ((const Component *) b)->size;
  return sa < sb ? 1 : sa > sb ? -1 : 0;
}

/* Every component of @from voxels, rewritten to @to, largest first. */
static GArray *
components (const Grid *grid, uint8_t *mask, uint8_t from, uint8_t to, VoxelList *scratch)
{
  GArray *found = g_array_new (FALSE, FALSE, sizeof (Component));
  for (gsize voxel = 0; voxel < grid->n; voxel++)
    if (mask[voxel] == from)
      {
        flood (grid, mask, (guint32) voxel, from, to, scratch);
        Component component = { (guint32) voxel, scratch->n };
        g_array_append_val (found, component);
      }
  g_array_sort (found, compare_size_descending);
  return found;
}

/* World x (toward the patient's right) of the centre of @list's voxels. */
static double
centre_x (const Grid *grid, const PulmoAffine *affine, const VoxelList *list)
{
  double sum[3] = { 0, 0, 0 };
  for (gsize n = 0; n < list->n; n++)
    {
      guint32 voxel = list->v[n];
      sum[0] += (double) (voxel % grid->stride[1]);
      sum[1] += (double) (voxel / grid->stride[1] % grid->dims[1]);
      sum[2] += (double) (voxel / grid->stride[2]);
    }
  double ijk[3] = { sum[0] / list->n, sum[1] / list->n, sum[2] / list->n }, xyz[3];
  pulmo_affine_apply (affine, ijk, xyz);
  return xyz[0];
}

/* Erodes @sub by one pixel in the axial plane (axes @u, @v) into @next:
 * a voxel stays when its four in-plane neighbours are set. Returns the
 * voxels left. */
static gsize
erode_in_plane (const Grid *sub_grid, const uint8_t *sub, uint8_t *next, int u, int v)
{
  gsize left = 0;
  for (gsize voxel = 0; voxel < sub_grid->n; voxel++)
    {
      next[voxel] = 0;
      if (sub[voxel] == 0)
        continue;
      int c[3] = { (int) (voxel % sub_grid->stride[1]),
                   (int) (voxel / sub_grid->stride[1] % sub_grid->dims[1]),
                   (int) (voxel / sub_grid->stride[2]) };
      gboolean keep = TRUE;
      for (int n = 0; n < 2 && keep; n++)
        {
          int axis = n == 0 ? u : v;
          gsize step = sub_grid->stride[axis];
          keep = c[axis] > 0 && c[axis] + 1 < sub_grid->dims[axis] && sub[voxel - step] != 0 &&
                 sub[voxel + step] != 0;
        }
      if (keep)
        {
          next[voxel] = 1;
          left++;
        }
    }
  return left;
}

/* Splits the component in @list (valued REGION_SPLITTING in @region) into
 * two lungs joined by a thin in-plane bridge: erodes its bounding box until
 * two parts of comparable size fall apart, then grows both back through the
 * component, nearest part first. The parts end REGION_PART_A and _B, their
 * voxels in @a and @b. FALSE, and @region untouched, if it never splits. */
static gboolean
split_lungs (const Grid *grid, uint8_t *region, const VoxelList *list, int u, int v, VoxelList *a,
             VoxelList *b)
{
  int lo[3] = { G_MAXINT, G_MAXINT, G_MAXINT }, hi[3] = { -1, -1, -1 };
  for (gsize n = 0; n < list->n; n++)
    {
      guint32 voxel = list->v[n];
      int c[3] = { (int) (voxel % grid->stride[1]), (int) (voxel / grid->stride[1] % grid->dims[1]),
                   (int) (voxel / grid->stride[2]) };
      for (int axis = 0; axis < 3; axis++)
        {
          lo[axis] = MIN (lo[axis], c[axis]);
          hi[axis] = MAX (hi[axis], c[axis]);
        }
    }
  for (int axis = 0; axis < 3; axis++)
    if (hi[axis] < lo[axis])
      return FALSE;
  Grid sub_grid;
  grid_init (&sub_grid, (int[3]){ hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1 });
  g_autofree uint8_t *sub = g_malloc0 (sub_grid.n);
  g_autofree uint8_t *next = g_malloc (sub_grid.n);
  const gsize origin = lo[0] + lo[1] * grid->stride[1] + lo[2] * grid->stride[2];
#define SUB_TO_GRID(s) \
  (origin + (s) % sub_grid.stride[1] + (s) / sub_grid.stride[1] % sub_grid.dims[1] * grid->stride[1] + \
   (s) / sub_grid.stride[2] * grid->stride[2])
  for (gsize n = 0; n < list->n; n++)
    {
      guint32 voxel = list->v[n] - (guint32) origin;
      int c[3] = { (int) (voxel % grid->stride[1]), (int) (voxel / grid->stride[1] % grid->dims[1]),
                   (int) (voxel / grid->stride[2]) };
      sub[c[0] + c[1] * sub_grid.stride[1] + c[2] * sub_grid.stride[2]] = 1;
    }

  VoxelList scratch = { 0 };
  gboolean split = FALSE;
  Component part[2] = { { 0 } };
  for (int erosion = 0; erosion < MAX_EROSIONS && !split; erosion++)
    {
      if (erode_in_plane (&sub_grid, sub, next, u, v) == 0)
        break;
      uint8_t *swap = sub;
      sub = next;
      next = swap;
      g_autoptr (GArray) parts = components (&sub_grid, sub, 1, 2, &scratch);
      if (parts->len >= 2)
        {
          part[0] = g_array_index (parts, Component, 0);
          part[1] = g_array_index (parts, Component, 1);
          split = part[1].size >= MIN_PART_RATIO * part[0].size;
        }
    }
  g_free (scratch.v);
  if (!split)
    return FALSE;

  /* Both parts' cores seed one breadth-first growth, so each voxel of the
   * component goes to the part it is nearest to through the component. */
  VoxelList queue = { 0 };
  for (int p = 0; p < 2; p++)
    {
      VoxelList core = { 0 };
      flood (&sub_grid, sub, part[p].seed, 2, 3, &core);
      for (gsize n = 0; n < core.n; n++)
        {
          gsize voxel = SUB_TO_GRID (core.v[n]);
          region[voxel] = p == 0 ? REGION_PART_A : REGION_PART_B;
          list_push (&queue, (guint32) voxel);
        }
      g_free (core.v);
    }
#undef SUB_TO_GRID
  for (gsize head = 0; head < queue.n; head++)
    {
      guint32 voxel = queue.v[head];
      uint8_t mark = region[voxel];
      int c[3] = { (int) (voxel % grid->stride[1]), (int) (voxel / grid->stride[1] % grid->dims[1]),
                   (int) (voxel / grid->stride[2]) };
      for (int axis = 0; axis < 3; axis++)
        for (int sign = -1; sign <= 1; sign += 2)
          {
            int at = c[axis] + sign;
            gsize neighbour = voxel + sign * (gssize) grid->stride[axis];
            if (at >= 0 && at < grid->dims[axis] && region[neighbour] == REGION_SPLITTING)
              {
                region[neighbour] = mark;
                list_push (&queue, (guint32) neighbour);
              }
          }
    }
  g_free (queue.v);
  a->n = b->n = 0;
  for (gsize n = 0; n < list->n; n++)
    list_push (region[list->v[n]] == REGION_PART_A ? a : b, list->v[n]);
  return TRUE;
}

/* Steps 1–2 of postprocess.h: @region ends REGION_PART_A/_B on the lungs
 * (A the right one) and REGION_SEEN on the rest of the lung region. */
static void
find_lungs (const Grid *grid, const PulmoAffine *affine, int u, int v, uint8_t *region)
{
  VoxelList a = { 0 }, b = { 0 }, scratch = { 0 };
  g_autoptr (GArray) found = components (grid, region, REGION_UNVISITED, REGION_SEEN, &scratch);
  if (found->len == 0)
    {
      g_free (scratch.v);
      return;
    }
  const Component *first = &g_array_index (found, Component, 0);
  if (found->len >= 2 && g_array_index (found, Component, 1).size >= MIN_PART_RATIO * first->size)
    {
      flood (grid, region, first->seed, REGION_SEEN, REGION_PART_A, &a);
      flood (grid, region, g_array_index (found, Component, 1).seed, REGION_SEEN, REGION_PART_B, &b);
    }
  else
    {
      flood (grid, region, first->seed, REGION_SEEN, REGION_SPLITTING, &scratch);
      if (!split_lungs (grid, region, &scratch, u, v, &a, &b))
        {
          /* One lung: its side is the side of the scan's centre it lies on. */
          for (gsize n = 0; n < scratch.n; n++)
            region[scratch.v[n]] = REGION_PART_A;
          double centre[3] = { (grid->dims[0] - 1) / 2.0, (grid->dims[1] - 1) / 2.0,
                               (grid->dims[2] - 1) / 2.0 }, xyz[3];
          pulmo_affine_apply (affine, centre, xyz);
          if (centre_x (grid, affine, &scratch) < xyz[0])
            for (gsize n = 0; n < scratch.n; n++)
              region[scratch.v[n]] = REGION_PART_B;
        }
    }
  if (a.n > 0 && b.n > 0 && centre_x (grid, affine, &a) < centre_x (grid, affine, &b))
    {
      for (gsize n = 0; n < a.n; n++)
        region[a.v[n]] = REGION_PART_B;
      for (gsize n = 0; n < b.n; n++)
        region[b.v[n]] = REGION_PART_A;
    }
  g_free (a.v);
  g_free (b.v);
  g_free (scratch.v);
}

/* Step 3: lesion islands below @min_voxels become their lung's parenchyma. */
static void
drop_small_lesions (const Grid *grid, uint8_t *labels, uint8_t *region, double min_voxels)
{
  VoxelList island = { 0 };
  for (gsize voxel = 0; voxel < grid->n; voxel++)
    {
      gboolean right = region[voxel] == REGION_RIGHT_LESION;
      if (!right && region[voxel] != REGION_LEFT_LESION)
        continue;
      flood (grid, region, (guint32) voxel, region[voxel],
             right ? REGION_RIGHT_ISLAND : REGION_LEFT_ISLAND, &island);
      if ((double) island.n >= min_voxels)
        continue;
      for (gsize n = 0; n < island.n; n++)
        {
          labels[island.v[n]] = right ? LABEL_RIGHT : LABEL_LEFT;
          region[island.v[n]] = right ? REGION_RIGHT : REGION_LEFT;
        }
    }
  g_free (island.v);
}

static gboolean
on_side (uint8_t region, gboolean right)
{
  return right ? region == REGION_RIGHT || region == REGION_RIGHT_ISLAND
               : region == REGION_LEFT || region == REGION_LEFT_ISLAND;
}

/* Step 4 for one lung in one axial plane (voxel axes @u, @v at @slice along
 * @s): background that the lung encloses in the plane becomes the lung. */
static void
fill_plane (const Grid *grid, uint8_t *labels, uint8_t *region, int u, int v, int s, int slice,
            gboolean right, uint8_t *outside, int *queue)
{
  const gsize base = slice * grid->stride[s];
  int lo_u = G_MAXINT, hi_u = -1, lo_v = G_MAXINT, hi_v = -1;
  for (int y = 0; y < grid->dims[v]; y++)
    for (int x = 0; x < grid->dims[u]; x++)
      if (on_side (region[base + x * grid->stride[u] + y * grid->stride[v]], right))
        {
          lo_u = MIN (lo_u, x), hi_u = MAX (hi_u, x);
          lo_v = MIN (lo_v, y), hi_v = MAX (hi_v, y);
        }
  if (hi_u < 0 || hi_u - lo_u < 2 || hi_v - lo_v < 2)
    return;
  /* The lung's box in the plane; its rim reaches the outside where it is not lung. */
  int w = hi_u - lo_u + 1, h = hi_v - lo_v + 1, n = 0;
#define AT(x, y) (base + (gsize) ((x) + lo_u) * grid->stride[u] + (gsize) ((y) + lo_v) * grid->stride[v])
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        gboolean rim = x == 0 || y == 0 || x == w - 1 || y == h - 1;
        outside[y * w + x] = rim && !on_side (region[AT (x, y)], right);
        if (outside[y * w + x])
          queue[n++] = y * w + x;
      }
  for (int head = 0; head < n; head++)
    {
      int x = queue[head] % w, y = queue[head] / w;
      const int nx[4] = { x - 1, x + 1, x, x }, ny[4] = { y, y, y - 1, y + 1 };
      for (int d = 0; d < 4; d++)
        if (nx[d] >= 0 && nx[d] < w && ny[d] >= 0 && ny[d] < h && !outside[ny[d] * w + nx[d]] &&
            !on_side (region[AT (nx[d], ny[d])], right))
          {
            outside[ny[d] * w + nx[d]] = 1;
            queue[n++] = ny[d] * w + nx[d];
          }
    }
  for (int y = 1; y < h - 1; y++)
    for (int x = 1; x < w - 1; x++)
      if (!outside[y * w + x] && labels[AT (x, y)] == 0)
        {
          labels[AT (x, y)] = right ? LABEL_RIGHT : LABEL_LEFT;
          region[AT (x, y)] = right ? REGION_RIGHT : REGION_LEFT;
        }
#undef AT
}

void
pulmo_postprocess_options_init (PulmoPostprocessOptions *options)
{
  options->min_lesion_mm3 = 4.0 / 3.0 * G_PI * 2.0 * 2.0 * 2.0;
}

gboolean
pulmo_postprocess (PulmoVolume *ct, uint8_t *labels, const PulmoPostprocessOptions *options,
                   GError **error)
{
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  Grid grid;
  grid_init (&grid, dims);
  if (grid.n > G_MAXUINT32)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED,
                        "post-processing handles at most %u voxels; this CT has %" G_GSIZE_FORMAT,
                        G_MAXUINT32, grid.n),
           FALSE;
  const PulmoAffine *affine = pulmo_volume_get_affine (ct);
  PulmoReslice axial;
  pulmo_reslice_init (&axial, PULMO_VIEW_AXIAL, affine, dims);

  g_autofree uint8_t *region = g_malloc (grid.n);
  for (gsize voxel = 0; voxel < grid.n; voxel++)
    region[voxel] = is_lung (labels[voxel]) || is_lesion (labels[voxel]) ? REGION_UNVISITED
                                                                          : REGION_NONE;
  find_lungs (&grid, affine, axial.u_axis, axial.v_axis, region);

  for (gsize voxel = 0; voxel < grid.n; voxel++)
    {
      uint8_t value = labels[voxel];
      gboolean lung = region[voxel] == REGION_PART_A || region[voxel] == REGION_PART_B;
      gboolean right = region[voxel] == REGION_PART_A;
      if (!lung)
        {
          labels[voxel] = value == LABEL_EFFUSION ? value : 0;
          region[voxel] = REGION_NONE;
        }
      else if (is_lesion (value))
        region[voxel] = right ? REGION_RIGHT_LESION : REGION_LEFT_LESION;
      else
        {
          labels[voxel] = right ? LABEL_RIGHT : LABEL_LEFT;
          region[voxel] = right ? REGION_RIGHT : REGION_LEFT;
        }
    }

  double voxel_mm3 = 1;
  for (int axis = 0; axis < 3; axis++)
    voxel_mm3 *= pulmo_affine_axis_spacing (affine, axis);
  drop_small_lesions (&grid, labels, region, options->min_lesion_mm3 / voxel_mm3);

  int u = axial.u_axis, v = axial.v_axis, s = axial.slice_axis;
  g_autofree uint8_t *outside = g_malloc ((gsize) dims[u] * dims[v]);
  g_autofree int *queue = g_new (int, (gsize) dims[u] * dims[v]);
  for (int slice = 0; slice < dims[s]; slice++)
    for (int side = 0; side < 2; side++)
      fill_plane (&grid, labels, region, u, v, s, slice, side == 0, outside, queue);
  return TRUE;
}
