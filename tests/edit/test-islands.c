/* Islands on ct-64's expert lung mask (64×64×79, 4.2×4.2×4 mm) with lesion
 * pieces of known sizes placed in it: exact counts for every operation, 26-
 * connectivity through edges and corners, the lungs' largest piece against a
 * plain breadth-first search, exact bytes after undo, no step for a no-op. */
#include <string.h>

#include "edit/islands.h"
#include "pulmo-test.h"

typedef struct {
  PulmoVolume *ct;
  PulmoLabelMap *map;
  PulmoEditHistory *history;
  int dims[3];
  gsize n;
  double voxel_mm3;
} Fixture;

static void
set_voxel (Fixture *f, int i, int j, int k, uint8_t value)
{
  pulmo_label_map_get_data_mutable (f->map)[((gsize) k * f->dims[1] + j) * f->dims[0] + i] = value;
}

static void
set_block (Fixture *f, int i, int j, int k, int ni, int nj, int nk, uint8_t value)
{
  for (int c = k; c < k + nk; c++)
    for (int b = j; b < j + nj; b++)
      for (int a = i; a < i + ni; a++)
        set_voxel (f, a, b, c, value);
}

/* The lungs as label 1, and label 3 in eight islands of 102 voxels:
 * 27, 8, 1, 2 (a corner pair), 2 (an edge pair), 60, 1 and 1. */
static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *ct_path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *lung_path = pulmo_test_data ("cip-chest-ct/wholeLung-64.nii.gz");
  g_autoptr (GError) error = NULL;
  f->ct = pulmo_volume_load (ct_path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (PulmoVolume) lung = pulmo_volume_load (lung_path, NULL, NULL, &error);
  g_assert_no_error (error);
  pulmo_volume_get_dims (f->ct, f->dims);
  f->n = pulmo_volume_get_n_voxels (f->ct);
  const double *spacing = pulmo_volume_get_spacing (f->ct);
  f->voxel_mm3 = spacing[0] * spacing[1] * spacing[2];
  f->map = pulmo_label_map_new (f->ct);
  f->history = pulmo_edit_history_new (f->map, 0);

  uint8_t *labels = pulmo_label_map_get_data_mutable (f->map);
  for (gsize v = 0; v < f->n; v++)
    labels[v] = pulmo_volume_get_value (lung, (int) (v % f->dims[0]), (int) (v / f->dims[0] % f->dims[1]),
                                        (int) (v / f->dims[0] / f->dims[1])) != 0;
  set_block (f, 10, 10, 10, 3, 3, 3, 3);
  set_block (f, 20, 10, 10, 2, 2, 2, 3);
  set_voxel (f, 30, 10, 10, 3);
  set_voxel (f, 40, 10, 10, 3);   /* and its corner neighbour, one row on and a slice back */
  set_voxel (f, 41, 11, 9, 3);
  set_voxel (f, 50, 10, 10, 3);   /* and its edge neighbour */
  set_voxel (f, 51, 10, 11, 3);
  set_block (f, 10, 30, 30, 5, 4, 3, 3);
  set_voxel (f, 30, 30, 30, 3);   /* two voxels a voxel apart: two islands */
  set_voxel (f, 32, 30, 30, 3);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  pulmo_edit_history_free (f->history);
  g_object_unref (f->map);
  pulmo_volume_unref (f->ct);
}

static guint64
count_value (Fixture *f, uint8_t value)
{
  guint64 counts[256];
  pulmo_label_map_count (f->map, counts);
  return counts[value];
}

static uint8_t
at (Fixture *f, int i, int j, int k)
{
  return pulmo_label_map_get (f->map, i, j, k);
}

/* Runs @op and checks its count, then that undo restores the map byte for byte. */
static void
run_and_undo (Fixture *f, uint8_t label, PulmoIslandsOp op, double min_mm3, const int seed[3],
              uint8_t replacement, gsize expected)
{
  g_autofree uint8_t *before = g_memdup2 (pulmo_label_map_get_data (f->map), f->n);
  guint n_steps = pulmo_edit_history_get_n_steps (f->history);
  gboolean could_redo = pulmo_edit_history_can_redo (f->history);
  g_assert_cmpuint (pulmo_islands (f->history, f->ct, label, op, min_mm3, seed, replacement, "Islands"), ==,
                    expected);
  if (expected == 0)
    {
      /* No change: no step, and what could be redone still can. */
      g_assert_cmpuint (pulmo_edit_history_get_n_steps (f->history), ==, n_steps);
      g_assert_cmpint (pulmo_edit_history_can_redo (f->history), ==, could_redo);
      return;
    }
  g_assert_false (pulmo_edit_history_can_redo (f->history));
  g_assert_true (pulmo_edit_history_undo (f->history));
  g_assert_cmpmem (pulmo_label_map_get_data (f->map), f->n, before, f->n);
}

static void
test_remove_small (Fixture *f, gconstpointer data)
{
  guint64 lung = count_value (f, 1);
  g_assert_cmpuint (count_value (f, 3), ==, 102);
  /* Below 1.5 voxels: the three single voxels go, the pairs stay. */
  g_assert_cmpuint (pulmo_islands (f->history, f->ct, 3, PULMO_ISLANDS_REMOVE_SMALL, 1.5 * f->voxel_mm3, NULL,
                                   1, "Remove small"), ==, 3);
  g_assert_cmpuint (count_value (f, 3), ==, 99);
  g_assert_cmpuint (count_value (f, 1), ==, lung + 3);
  g_assert_cmpint (at (f, 30, 10, 10), ==, 1);
  g_assert_cmpint (at (f, 41, 11, 9), ==, 3);
  g_assert_true (pulmo_edit_history_undo (f->history));

  /* Below 5 voxels: the pairs too (7 voxels); 27, 8 and 60 stay. */
  run_and_undo (f, 3, PULMO_ISLANDS_REMOVE_SMALL, 5 * f->voxel_mm3, NULL, 0, 7);
  /* Nothing below 1 voxel: no change, no step. */
  guint n_steps = pulmo_edit_history_get_n_steps (f->history);
  g_assert_cmpuint (pulmo_islands (f->history, f->ct, 3, PULMO_ISLANDS_REMOVE_SMALL, 0.5 * f->voxel_mm3, NULL,
                                   0, "Remove small"), ==, 0);
  g_assert_cmpuint (pulmo_edit_history_get_n_steps (f->history), ==, n_steps);
}

static void
test_keep_largest (Fixture *f, gconstpointer data)
{
  run_and_undo (f, 3, PULMO_ISLANDS_KEEP_LARGEST, 0, NULL, 0, 102 - 60);

  g_assert_cmpuint (pulmo_islands (f->history, f->ct, 3, PULMO_ISLANDS_KEEP_LARGEST, 0, NULL, 0, "Keep"), ==, 42);
  g_assert_cmpint (at (f, 12, 32, 31), ==, 3);
  g_assert_cmpint (at (f, 11, 11, 11), ==, 0);
  /* Once one island is left, keeping the largest changes nothing and adds no step. */
  guint n_steps = pulmo_edit_history_get_n_steps (f->history);
  g_assert_cmpuint (pulmo_islands (f->history, f->ct, 3, PULMO_ISLANDS_KEEP_LARGEST, 0, NULL, 0, "Keep"), ==, 0);
  g_assert_cmpuint (pulmo_edit_history_get_n_steps (f->history), ==, n_steps);
}

static void
test_selected (Fixture *f, gconstpointer data)
{
  const int in_small_cube[3] = { 21, 11, 11 };
  run_and_undo (f, 3, PULMO_ISLANDS_KEEP_SELECTED, 0, in_small_cube, 0, 102 - 8);
  /* The corner pair is one island, from either voxel. */
  const int corner[3] = { 41, 11, 9 };
  run_and_undo (f, 3, PULMO_ISLANDS_REMOVE_SELECTED, 0, corner, 0, 2);
  const int edge[3] = { 50, 10, 10 };
  run_and_undo (f, 3, PULMO_ISLANDS_REMOVE_SELECTED, 0, edge, 0, 2);
  const int gap[3] = { 32, 30, 30 };
  run_and_undo (f, 3, PULMO_ISLANDS_REMOVE_SELECTED, 0, gap, 0, 1);
}

/* The sizes of the 26-connected pieces of @label, by a plain breadth-first search. */
static GArray *
reference_sizes (Fixture *f, uint8_t label)
{
  const uint8_t *labels = pulmo_label_map_get_data (f->map);
  g_autofree uint8_t *seen = g_malloc0 (f->n);
  g_autofree guint32 *queue = g_new (guint32, f->n);
  GArray *sizes = g_array_new (FALSE, FALSE, sizeof (gsize));
  for (gsize s = 0; s < f->n; s++)
    {
      if (labels[s] != label || seen[s])
        continue;
      gsize head = 0, tail = 0;
      seen[s] = 1;
      queue[tail++] = (guint32) s;
      while (head < tail)
        {
          gsize v = queue[head++];
          int c[3] = { (int) (v % f->dims[0]), (int) (v / f->dims[0] % f->dims[1]),
                       (int) (v / f->dims[0] / f->dims[1]) };
          for (int dk = -1; dk <= 1; dk++)
            for (int dj = -1; dj <= 1; dj++)
              for (int di = -1; di <= 1; di++)
                {
                  int i = c[0] + di, j = c[1] + dj, k = c[2] + dk;
                  if (i < 0 || j < 0 || k < 0 || i >= f->dims[0] || j >= f->dims[1] || k >= f->dims[2])
                    continue;
                  gsize w = ((gsize) k * f->dims[1] + j) * f->dims[0] + i;
                  if (labels[w] == label && !seen[w])
                    {
                      seen[w] = 1;
                      queue[tail++] = (guint32) w;
                    }
                }
        }
      g_array_append_val (sizes, tail);
    }
  return sizes;
}

/* The lung mask is one piece; three stray lung pieces in the air outside the
 * body (5, 50 and 200 voxels) give the operations something to do. */
static void
test_lungs (Fixture *f, gconstpointer data)
{
  g_assert_cmpint (at (f, 1, 1, 1), ==, 0);
  g_assert_cmpint (at (f, 1, 10, 1), ==, 0);
  g_assert_cmpint (at (f, 1, 1, 70), ==, 0);
  set_block (f, 1, 1, 1, 5, 1, 1, 1);
  set_block (f, 1, 10, 1, 5, 5, 2, 1);
  set_block (f, 1, 1, 70, 10, 5, 4, 1);
  g_autoptr (GArray) sizes = reference_sizes (f, 1);
  gsize total = 0, largest = 0;
  for (guint n = 0; n < sizes->len; n++)
    {
      total += g_array_index (sizes, gsize, n);
      largest = MAX (largest, g_array_index (sizes, gsize, n));
    }
  g_test_message ("ct-64's lung mask: %u pieces, %" G_GSIZE_FORMAT " voxels, the largest %" G_GSIZE_FORMAT,
                  sizes->len, total, largest);
  g_assert_cmpuint (sizes->len, ==, 4);
  g_assert_cmpuint (total - largest, ==, 255);
  run_and_undo (f, 1, PULMO_ISLANDS_KEEP_LARGEST, 0, NULL, 0, total - largest);
  gsize small = 0;
  for (guint n = 0; n < sizes->len; n++)
    if (g_array_index (sizes, gsize, n) < 100)
      small += g_array_index (sizes, gsize, n);
  g_assert_cmpuint (small, ==, 55);
  run_and_undo (f, 1, PULMO_ISLANDS_REMOVE_SMALL, 99.5 * f->voxel_mm3, NULL, 0, small);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/islands/remove-small", Fixture, NULL, fixture_set_up, test_remove_small, fixture_tear_down);
  g_test_add ("/islands/keep-largest", Fixture, NULL, fixture_set_up, test_keep_largest, fixture_tear_down);
  g_test_add ("/islands/selected", Fixture, NULL, fixture_set_up, test_selected, fixture_tear_down);
  g_test_add ("/islands/lungs", Fixture, NULL, fixture_set_up, test_lungs, fixture_tear_down);
  return g_test_run ();
}
