/* postprocess.c: see postprocess.h. */
#include "segment/postprocess.h"

#include <glib/gi18n-lib.h>
#include <math.h>

#include "core/pulmo-error.h"
#include "nn/parallel.h"

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

/* A box of voxels with a one-voxel border that holds nothing, so that
 * every voxel worked on has its six neighbours in the array: the floods
 * need no bounds checks. @origin is the CT voxel of the box's (0, 0, 0). */
typedef struct {
  int dims[3];
  gsize stride[3];
  gsize n;
  int origin[3];
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

/* The padded grid of the box lo..hi (inclusive) of a grid whose own origin is @origin. */
static void
grid_init_box (Grid *grid, const int origin[3], const int lo[3], const int hi[3])
{
  for (int axis = 0; axis < 3; axis++)
    {
      grid->dims[axis] = hi[axis] - lo[axis] + 3;
      grid->origin[axis] = origin[axis] + lo[axis] - 1;
    }
  grid->stride[0] = 1;
  grid->stride[1] = (gsize) grid->dims[0];
  grid->stride[2] = (gsize) grid->dims[0] * grid->dims[1];
  grid->n = grid->stride[2] * grid->dims[2];
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
 * being the seeds already in it (each already valued @to). @from is never
 * the border's value. */
static void
grow (const Grid *grid, uint8_t *mask, uint8_t from, uint8_t to, VoxelList *out)
{
  const gsize steps[3] = { 1, grid->stride[1], grid->stride[2] };
  for (gsize head = 0; head < out->n; head++)
    {
      guint32 voxel = out->v[head];
      for (int axis = 0; axis < 3; axis++)
        {
          if (mask[voxel - steps[axis]] == from)
            {
              mask[voxel - steps[axis]] = to;
              list_push (out, (guint32) (voxel - steps[axis]));
            }
          if (mask[voxel + steps[axis]] == from)
            {
              mask[voxel + steps[axis]] = to;
              list_push (out, (guint32) (voxel + steps[axis]));
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
  double ijk[3], xyz[3];
  for (int axis = 0; axis < 3; axis++)
    ijk[axis] = sum[axis] / list->n + grid->origin[axis];
  pulmo_affine_apply (affine, ijk, xyz);
  return xyz[0];
}

/* In-plane city-block distance of each set voxel of @sub to the nearest
 * unset pixel of its axial plane (axes @u, @v), into @depth, at most @cap:
 * a voxel survives e in-plane erosions by the 4-neighbour cross exactly
 * when its depth exceeds e. Two chamfer passes per plane; the border is
 * unset, so every set voxel's neighbours are in the array. */
static void
in_plane_depth (const Grid *sub_grid, const uint8_t *sub, uint8_t *depth, int u, int v, int cap)
{
  const int s = 3 - u - v;
  const gsize su = sub_grid->stride[u], sv = sub_grid->stride[v];
  const int w = sub_grid->dims[u], h = sub_grid->dims[v];
  for (int t = 0; t < sub_grid->dims[s]; t++)
    {
      uint8_t *plane = depth + t * sub_grid->stride[s];
      const uint8_t *in = sub + t * sub_grid->stride[s];
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          {
            gsize at = x * su + y * sv;
            plane[at] = in[at] == 0 ? 0 : (uint8_t) MIN (MIN (plane[at - su], plane[at - sv]) + 1, 254);
          }
      for (int y = h - 1; y >= 0; y--)
        for (int x = w - 1; x >= 0; x--)
          {
            gsize at = x * su + y * sv;
            if (plane[at] != 0)
              plane[at] = (uint8_t) MIN (plane[at], MIN (plane[at + su], plane[at + sv]) + 1);
          }
    }
  for (gsize n = 0; n < sub_grid->n; n++)
    depth[n] = (uint8_t) MIN (depth[n], cap);
}

/* Union–find over the box's voxels: a root holds minus its component's size. */
static gint32
find_root (gint32 *parent, gint32 x)
{
  while (parent[x] >= 0)
    {
      if (parent[parent[x]] >= 0)
        parent[x] = parent[parent[x]];
      x = parent[x];
    }
  return x;
}

/* The in-plane erosion of postprocess.h's step 1, for every erosion count
 * at once: the sets {depth > r} for r = MAX_EROSIONS down to 1 are built by
 * adding voxels deepest first and joining 6-connected neighbours, and the
 * fewest erosions r at which the two largest components compare
 * (MIN_PART_RATIO) win. Returns that r, 0 if there is none; @part gets the
 * two components' roots and sizes. */
static int
fewest_erosions_to_split (const Grid *sub_grid, uint8_t *depth, Component part[2])
{
  enum { ADDED = 0x80 };
  const int top = MAX_EROSIONS + 1;   /* depth > MAX_EROSIONS: all alike */
  g_autofree gint32 *parent = g_new (gint32, sub_grid->n);
  /* Until a voxel is added, its parent slot links the voxels of its depth. */
  gint32 head[MAX_EROSIONS + 2];
  for (int level = 0; level <= top; level++)
    head[level] = -1;
  for (gsize n = 0; n < sub_grid->n; n++)
    if (depth[n] > 1)
      {
        parent[n] = head[depth[n]];
        head[depth[n]] = (gint32) n;
      }
  const gsize steps[3] = { 1, sub_grid->stride[1], sub_grid->stride[2] };
  g_autoptr (GArray) roots = g_array_new (FALSE, FALSE, sizeof (gint32));
  int found = 0;
  for (int level = top; level >= 2; level--)
    {
      for (gint32 x = head[level], next; x >= 0; x = next)
        {
          next = parent[x];
          depth[x] |= ADDED;
          parent[x] = -1;
          gint32 root = -1;
          for (int axis = 0; axis < 3; axis++)
            for (int sign = -1; sign <= 1; sign += 2)
              {
                gint32 neighbour = x + sign * (gint32) steps[axis];
                if (!(depth[neighbour] & ADDED))
                  continue;
                gint32 other = find_root (parent, neighbour);
                if (root < 0)
                  {
                    /* The new voxel joins its first neighbour's component, so
                     * every root was once a voxel that joined none. */
                    root = find_root (parent, x);
                    if (root == x)
                      {
                        parent[other] -= 1;
                        parent[x] = other;
                        root = other;
                        continue;
                      }
                  }
                if (other == root)
                  continue;
                gint32 big = parent[root] <= parent[other] ? root : other, small = big == root ? other : root;
                parent[big] += parent[small];
                parent[small] = big;
                root = big;
              }
          if (root < 0)
            g_array_append_val (roots, x);
        }
      /* The set {depth >= level} is the one left by level - 1 erosions. */
      int erosions = level - 1;
      if (erosions > MAX_EROSIONS)
        continue;
      Component best[2] = { { 0, 0 }, { 0, 0 } };
      guint kept = 0;
      for (guint r = 0; r < roots->len; r++)
        {
          gint32 x = g_array_index (roots, gint32, r);
          if (parent[x] >= 0)
            continue;
          g_array_index (roots, gint32, kept++) = x;
          Component c = { (guint32) x, (gsize) -parent[x] };
          if (c.size > best[0].size || (c.size == best[0].size && c.seed < best[0].seed))
            {
              best[1] = best[0];
              best[0] = c;
            }
          else if (c.size > best[1].size || (c.size == best[1].size && c.seed < best[1].seed))
            best[1] = c;
        }
      g_array_set_size (roots, kept);
      if (best[1].size > 0 && best[1].size >= MIN_PART_RATIO * best[0].size)
        {
          found = erosions;
          part[0] = best[0];
          part[1] = best[1];
        }
    }
  return found;
}

/* Splits the component in @list (valued REGION_SPLITTING in @region) into
 * two lungs joined by a thin in-plane bridge: the fewest in-plane erosions
 * after which two parts of comparable size fall apart, then both parts grown
 * back through the component, nearest part first. The parts end REGION_PART_A and _B, their
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
  if (list->n == 0)
    return FALSE;
  /* The component's box, with a border of its own; its voxels lie inside
   * @grid's border, so the box with border stays within @grid. */
  Grid sub_grid;
  grid_init_box (&sub_grid, (const int[3]){ 0, 0, 0 }, lo, hi);
  if (sub_grid.n > G_MAXINT32)
    return FALSE;   /* beyond the union–find's indices: left as one lung */
  g_autofree uint8_t *sub = g_malloc0 (sub_grid.n);
  const gsize origin = (lo[0] - 1) + (lo[1] - 1) * grid->stride[1] + (lo[2] - 1) * grid->stride[2];
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

  Component part[2];
  g_autofree uint8_t *depth = g_malloc0 (sub_grid.n);
  in_plane_depth (&sub_grid, sub, depth, u, v, MAX_EROSIONS + 1);
  int erosions = fewest_erosions_to_split (&sub_grid, depth, part);
  if (erosions == 0)
    return FALSE;
  /* The two parts left by that many erosions, valued 2 for the floods below. */
  for (gsize n = 0; n < sub_grid.n; n++)
    sub[n] = (depth[n] & 0x7f) > erosions ? 2 : 0;

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
      for (int axis = 0; axis < 3; axis++)
        for (int sign = -1; sign <= 1; sign += 2)
          {
            gsize neighbour = voxel + sign * (gssize) grid->stride[axis];
            if (region[neighbour] == REGION_SPLITTING)
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
find_lungs (const Grid *grid, const PulmoAffine *affine, double centre_x_ct, int u, int v, uint8_t *region)
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
          if (centre_x (grid, affine, &scratch) < centre_x_ct)
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

/* Step 4 over the planes, on all cores: each plane is written by one worker only. */
typedef struct {
  const Grid *grid;
  uint8_t *labels, *region;
  int u, v, s;
  uint8_t **outside;
  int **queue;
} FillPlanes;

static void
fill_planes (void *ctx, int begin, int end, int worker)
{
  FillPlanes *f = ctx;
  gsize plane = (gsize) f->grid->dims[f->u] * f->grid->dims[f->v];
  if (f->outside[worker] == NULL)
    {
      f->outside[worker] = g_malloc (plane);
      f->queue[worker] = g_new (int, plane);
    }
  for (int slice = begin; slice < end; slice++)
    for (int side = 0; side < 2; side++)
      fill_plane (f->grid, f->labels, f->region, f->u, f->v, f->s, slice, side == 0,
                  f->outside[worker], f->queue[worker]);
}

gboolean
pulmo_postprocess (PulmoVolume *ct, uint8_t *labels, const PulmoPostprocessOptions *options,
                   GError **error)
{
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  gsize n_voxels = pulmo_volume_get_n_voxels (ct);
  if (n_voxels > G_MAXUINT32)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED,
                        _("post-processing handles at most %u voxels; this CT has %zu"),
                        G_MAXUINT32, n_voxels),
           FALSE;
  const PulmoAffine *affine = pulmo_volume_get_affine (ct);
  PulmoReslice axial;
  pulmo_reslice_init (&axial, PULMO_VIEW_AXIAL, affine, dims);

  /* The work happens in the box of the lung region (a third or so of a chest
   * CT); outside it only effusion is kept. */
  int lo[3] = { G_MAXINT, G_MAXINT, G_MAXINT }, hi[3] = { -1, -1, -1 };
  gsize voxel = 0;
  for (int k = 0; k < dims[2]; k++)
    for (int j = 0; j < dims[1]; j++)
      {
        int first = -1, last = -1;
        for (int i = 0; i < dims[0]; i++, voxel++)
          {
            uint8_t value = labels[voxel];
            if (is_lung (value) || is_lesion (value))
              {
                if (first < 0)
                  first = i;
                last = i;
              }
            else if (value != LABEL_EFFUSION)
              labels[voxel] = 0;
          }
        if (first < 0)
          continue;
        const int c_lo[3] = { first, j, k }, c_hi[3] = { last, j, k };
        for (int axis = 0; axis < 3; axis++)
          {
            lo[axis] = MIN (lo[axis], c_lo[axis]);
            hi[axis] = MAX (hi[axis], c_hi[axis]);
          }
      }
  if (hi[0] < 0)
    return TRUE;

  Grid grid;
  grid_init_box (&grid, (const int[3]){ 0, 0, 0 }, lo, hi);
  g_autofree uint8_t *box = g_malloc0 (grid.n);
  g_autofree uint8_t *region = g_malloc (grid.n);
#define CT_INDEX(i, j, k) ((gsize) (i) + (gsize) (j) * dims[0] + (gsize) (k) * dims[0] * dims[1])
  for (int k = lo[2]; k <= hi[2]; k++)
    for (int j = lo[1]; j <= hi[1]; j++)
      memcpy (box + (k - grid.origin[2]) * grid.stride[2] + (j - grid.origin[1]) * grid.stride[1] + 1,
              labels + CT_INDEX (lo[0], j, k), hi[0] - lo[0] + 1);
  for (gsize n = 0; n < grid.n; n++)
    region[n] = is_lung (box[n]) || is_lesion (box[n]) ? REGION_UNVISITED : REGION_NONE;

  double centre[3] = { (dims[0] - 1) / 2.0, (dims[1] - 1) / 2.0, (dims[2] - 1) / 2.0 }, xyz[3];
  pulmo_affine_apply (affine, centre, xyz);
  find_lungs (&grid, affine, xyz[0], axial.u_axis, axial.v_axis, region);

  for (gsize n = 0; n < grid.n; n++)
    {
      uint8_t value = box[n];
      gboolean lung = region[n] == REGION_PART_A || region[n] == REGION_PART_B;
      gboolean right = region[n] == REGION_PART_A;
      if (!lung)
        {
          box[n] = value == LABEL_EFFUSION ? value : 0;
          region[n] = REGION_NONE;
        }
      else if (is_lesion (value))
        region[n] = right ? REGION_RIGHT_LESION : REGION_LEFT_LESION;
      else
        {
          box[n] = right ? LABEL_RIGHT : LABEL_LEFT;
          region[n] = right ? REGION_RIGHT : REGION_LEFT;
        }
    }

  double voxel_mm3 = 1;
  for (int axis = 0; axis < 3; axis++)
    voxel_mm3 *= pulmo_affine_axis_spacing (affine, axis);
  drop_small_lesions (&grid, box, region, options->min_lesion_mm3 / voxel_mm3);

  int n_workers = pulmo_parallel_n_threads ();
  g_autofree uint8_t **outside = g_new0 (uint8_t *, n_workers);
  g_autofree int **queue = g_new0 (int *, n_workers);
  FillPlanes fill = { &grid, box, region, axial.u_axis, axial.v_axis, axial.slice_axis, outside, queue };
  pulmo_parallel_for (grid.dims[axial.slice_axis], fill_planes, &fill);
  for (int w = 0; w < n_workers; w++)
    {
      g_free (outside[w]);
      g_free (queue[w]);
    }

  for (int k = lo[2]; k <= hi[2]; k++)
    for (int j = lo[1]; j <= hi[1]; j++)
      memcpy (labels + CT_INDEX (lo[0], j, k),
              box + (k - grid.origin[2]) * grid.stride[2] + (j - grid.origin[1]) * grid.stride[1] + 1,
              hi[0] - lo[0] + 1);
#undef CT_INDEX
  return TRUE;
}
