/* islands.c: see islands.h.
 *
 * Connected-component labelling on runs: the label's voxels, row by row along
 * i, become runs; runs of neighbouring rows that touch (26-connected: their i
 * ranges overlap once widened by one) are joined in a union-find. Memory is a
 * few words per run, never per voxel. */
#include "edit/islands.h"

#include <math.h>

#include "edit/painter.h"

typedef struct {
  int lo, hi;        /* voxels lo…hi along i */
  guint32 parent;    /* union-find: index of a run of the same island */
} Run;

typedef struct {
  const uint8_t *labels;
  int dims[3];
  uint8_t label;
  PulmoBox box;       /* the label's extent */
  int n_rows;         /* rows (j, k) of the box */
  guint32 *row_first; /* row r's runs are row_first[r] … row_first[r + 1] − 1 */
  Run *runs;
} Islands;

static const uint8_t *
row_of (const Islands *is, int j, int k)
{
  return is->labels + ((gsize) k * is->dims[1] + j) * is->dims[0];
}

/* The label's extent; FALSE without any voxel of it. */
static gboolean
find_box (Islands *is)
{
  PulmoBox *box = &is->box;
  for (int a = 0; a < 3; a++)
    {
      box->lo[a] = G_MAXINT;
      box->hi[a] = -1;
    }
  for (int k = 0; k < is->dims[2]; k++)
    for (int j = 0; j < is->dims[1]; j++)
      {
        const uint8_t *row = row_of (is, j, k);
        for (int i = 0; i < is->dims[0]; i++)
          if (row[i] == is->label)
            {
              box->lo[0] = MIN (box->lo[0], i);
              box->hi[0] = MAX (box->hi[0], i);
              box->lo[1] = MIN (box->lo[1], j);
              box->hi[1] = MAX (box->hi[1], j);
              box->lo[2] = MIN (box->lo[2], k);
              box->hi[2] = MAX (box->hi[2], k);
            }
      }
  return box->hi[0] >= 0;
}

/* Counts the runs of row (j, k) inside the box and, with @runs, stores them. */
static guint32
row_runs (const Islands *is, int j, int k, Run *runs, guint32 first)
{
  const uint8_t *row = row_of (is, j, k);
  guint32 n = 0;
  for (int i = is->box.lo[0]; i <= is->box.hi[0]; i++)
    if (row[i] == is->label)
      {
        int end = i;
        while (end < is->box.hi[0] && row[end + 1] == is->label)
          end++;
        if (runs)
          runs[first + n] = (Run) { i, end, first + n };
        n++;
        i = end;
      }
  return n;
}

static guint32
find_root (Run *runs, guint32 r)
{
  while (runs[r].parent != r)
    {
      runs[r].parent = runs[runs[r].parent].parent;   /* path halving */
      r = runs[r].parent;
    }
  return r;
}

static void
join (Run *runs, guint32 a, guint32 b)
{
  a = find_root (runs, a);
  b = find_root (runs, b);
  /* The earlier run stays the root: an island's root is its first run in storage order. */
  if (a < b)
    runs[b].parent = a;
  else if (b < a)
    runs[a].parent = b;
}

/* Joins the touching runs of rows @r and @s. */
static void
join_rows (Islands *is, int r, int s)
{
  guint32 a = is->row_first[r], a_end = is->row_first[r + 1];
  guint32 b = is->row_first[s], b_end = is->row_first[s + 1];
  while (a < a_end && b < b_end)
    {
      const Run *ra = &is->runs[a], *rb = &is->runs[b];
      if (ra->lo <= rb->hi + 1 && rb->lo <= ra->hi + 1)
        join (is->runs, a, b);
      if (ra->hi < rb->hi)
        a++;
      else
        b++;
    }
}

/* Finds the runs and joins them into islands; FALSE when their bookkeeping
 * does not fit in memory. */
static gboolean
label_islands (Islands *is)
{
  const int ny = is->box.hi[1] - is->box.lo[1] + 1, nz = is->box.hi[2] - is->box.lo[2] + 1;
  is->n_rows = ny * nz;
  is->row_first = g_try_new (guint32, (gsize) is->n_rows + 1);
  if (is->row_first == NULL)
    return FALSE;
  /* Count first, so that the runs take exactly the memory they need. */
  guint64 n_runs = 0;
  for (int r = 0; r < is->n_rows; r++)
    {
      is->row_first[r] = (guint32) MIN (n_runs, G_MAXUINT32);
      n_runs += row_runs (is, is->box.lo[1] + r % ny, is->box.lo[2] + r / ny, NULL, 0);
    }
  if (n_runs >= G_MAXUINT32)
    return FALSE;
  is->row_first[is->n_rows] = (guint32) n_runs;
  is->runs = g_try_new (Run, MAX (n_runs, 1));
  if (is->runs == NULL)
    return FALSE;
  for (int r = 0; r < is->n_rows; r++)
    row_runs (is, is->box.lo[1] + r % ny, is->box.lo[2] + r / ny, is->runs, is->row_first[r]);

  /* Each row meets the four of its eight neighbouring rows that come before it. */
  for (int r = 0; r < is->n_rows; r++)
    {
      int dj = r % ny, dk = r / ny;
      if (dj > 0)
        join_rows (is, r, r - 1);
      if (dk > 0)
        {
          join_rows (is, r, r - ny);
          if (dj > 0)
            join_rows (is, r, r - ny - 1);
          if (dj < ny - 1)
            join_rows (is, r, r - ny + 1);
        }
    }
  return TRUE;
}

static double
voxel_mm3 (PulmoVolume *ct)
{
  const double (*m)[4] = pulmo_volume_get_affine (ct)->m;
  return fabs (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
               - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
               + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]));
}

/* The root of the island holding voxel @seed; G_MAXUINT32 if no island does. */
static guint32
island_at (Islands *is, const int seed[3])
{
  for (int a = 0; a < 3; a++)
    if (seed[a] < is->box.lo[a] || seed[a] > is->box.hi[a])
      return G_MAXUINT32;
  const int ny = is->box.hi[1] - is->box.lo[1] + 1;
  int r = (seed[2] - is->box.lo[2]) * ny + (seed[1] - is->box.lo[1]);
  for (guint32 n = is->row_first[r]; n < is->row_first[r + 1]; n++)
    if (is->runs[n].lo <= seed[0] && seed[0] <= is->runs[n].hi)
      return find_root (is->runs, n);
  return G_MAXUINT32;
}

typedef struct {
  PulmoIslandsOp op;
  guint32 chosen;          /* the largest or the selected island's root */
  const guint64 *voxels;   /* per root */
  double min_voxels;       /* for REMOVE_SMALL */
} Decision;

static gboolean
removes (const Decision *d, guint32 root)
{
  switch (d->op)
    {
    case PULMO_ISLANDS_REMOVE_SMALL:
      return d->voxels[root] < d->min_voxels;
    case PULMO_ISLANDS_REMOVE_SELECTED:
      return root == d->chosen;
    case PULMO_ISLANDS_KEEP_LARGEST:
    case PULMO_ISLANDS_KEEP_SELECTED:
      break;
    }
  return root != d->chosen;
}

gsize
pulmo_islands (PulmoEditHistory *history, PulmoVolume *ct, uint8_t label, PulmoIslandsOp op,
               double min_mm3, const int seed[3], uint8_t replacement, const char *name)
{
  PulmoLabelMap *map = pulmo_edit_history_get_map (history);
  Islands is = { .labels = pulmo_label_map_get_data (map), .label = label };
  pulmo_volume_get_dims (ct, is.dims);
  if (!find_box (&is))
    return 0;
  gboolean labelled = label_islands (&is);
  g_autofree guint32 *row_first = is.row_first;
  g_autofree Run *runs = is.runs;
  if (!labelled)
    {
      g_warning ("islands: label %d has too many pieces to follow in memory", label);
      return 0;
    }
  const guint32 n_runs = row_first[is.n_rows];

  Decision decision = { .op = op, .chosen = G_MAXUINT32, .min_voxels = min_mm3 / voxel_mm3 (ct) };
  if (op == PULMO_ISLANDS_KEEP_SELECTED || op == PULMO_ISLANDS_REMOVE_SELECTED)
    {
      decision.chosen = island_at (&is, seed);
      g_return_val_if_fail (decision.chosen != G_MAXUINT32, 0);
    }
  /* A run's parent comes before it, so one pass in order points every run at
   * its root; then each island's voxel count gathers at its root. */
  g_autofree guint64 *voxels = g_new0 (guint64, n_runs);
  for (guint32 n = 0; n < n_runs; n++)
    {
      runs[n].parent = runs[runs[n].parent].parent;
      voxels[runs[n].parent] += runs[n].hi - runs[n].lo + 1;
    }
  decision.voxels = voxels;
  if (op == PULMO_ISLANDS_KEEP_LARGEST)
    for (guint32 n = 0; n < n_runs; n++)
      if (runs[n].parent == n && (decision.chosen == G_MAXUINT32 || voxels[n] > voxels[decision.chosen]))
        decision.chosen = n;

  PulmoBox box = { { G_MAXINT, G_MAXINT, G_MAXINT }, { -1, -1, -1 } };
  const int ny = is.box.hi[1] - is.box.lo[1] + 1;
  for (int r = 0; r < is.n_rows; r++)
    for (guint32 n = is.row_first[r]; n < is.row_first[r + 1]; n++)
      if (removes (&decision, runs[n].parent))
        {
          const int j = is.box.lo[1] + r % ny, k = is.box.lo[2] + r / ny;
          box.lo[0] = MIN (box.lo[0], runs[n].lo);
          box.hi[0] = MAX (box.hi[0], runs[n].hi);
          box.lo[1] = MIN (box.lo[1], j);
          box.hi[1] = MAX (box.hi[1], j);
          box.lo[2] = MIN (box.lo[2], k);
          box.hi[2] = MAX (box.hi[2], k);
        }
  if (box.hi[0] < 0)
    return 0;

  /* Writes @replacement over this label only. */
  PulmoPaintMask everywhere;
  pulmo_paint_mask_init (&everywhere);
  PulmoPainter eraser;
  pulmo_painter_init (&eraser, map, ct, &everywhere, replacement, label);
  pulmo_edit_history_begin (history, name);
  pulmo_edit_history_touch (history, &box);
  gsize changed = 0;
  for (int r = 0; r < is.n_rows; r++)
    {
      const int j = is.box.lo[1] + r % ny, k = is.box.lo[2] + r / ny;
      const gint64 row = ((gint64) k * is.dims[1] + j) * is.dims[0];
      for (guint32 n = is.row_first[r]; n < is.row_first[r + 1]; n++)
        if (removes (&decision, runs[n].parent))
          changed += pulmo_painter_run (&eraser, row + runs[n].lo, 1, runs[n].hi - runs[n].lo + 1);
    }
  if (changed > 0)
    pulmo_label_map_changed (map, &box);
  pulmo_edit_history_end (history);
  return changed;
}
