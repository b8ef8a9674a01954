/* Undo and redo: exact bytes after any sequence of undos and redos, no step
 * for an edit that changes nothing, the memory of 500 brush strokes on a
 * 512×512×400 scan, and the budget that drops the oldest steps. */
#include <string.h>

#include "edit/brush.h"
#include "edit/edit-history.h"

/* A 512×512×400 scan of 0.7×0.7×1 mm. The CT's voxels are never read (no HU
 * mask): calloc's untouched pages cost no memory. */
static PulmoVolume *
make_ct (int nx, int ny, int nz)
{
  const int dims[3] = { nx, ny, nz };
  const double spacing[3] = { 0.7, 0.7, 1.0 };
  PulmoAffine affine;
  pulmo_affine_from_spacing (&affine, spacing);
  int16_t *hu = g_malloc0 ((gsize) nx * ny * nz * sizeof *hu);
  return pulmo_volume_new_int16 (dims, &affine, hu);
}

/* Labels with structure everywhere, so that deltas XOR real values. */
static PulmoLabelMap *
make_labels (PulmoVolume *ct)
{
  PulmoLabelMap *map = pulmo_label_map_new (ct);
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  uint8_t *labels = pulmo_label_map_get_data_mutable (map);
  gsize n = 0;
  for (int k = 0; k < dims[2]; k++)
    for (int j = 0; j < dims[1]; j++)
      for (int i = 0; i < dims[0]; i++)
        labels[n++] = (uint8_t) ((i / 37 + j / 41 + k / 13) % 3);
  return map;
}

static char *
labels_hash (PulmoLabelMap *map)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, pulmo_label_map_get_data (map),
                                      pulmo_volume_get_n_voxels (pulmo_label_map_get_volume (map)));
}

static void
make_painter (PulmoLabelMap *map, uint8_t value, PulmoPainter *painter)
{
  PulmoPaintMask mask;
  pulmo_paint_mask_init (&mask);
  pulmo_painter_init (painter, map, pulmo_label_map_get_volume (map), &mask, value, -1);
}

/* One drag as an annotator makes it: a brush of 3–20 mm, 2D on a random view
 * or sometimes 3D, twenty pointer events up to 15 voxels apart. */
static void
random_stroke (PulmoEditHistory *history, GRand *rand)
{
  PulmoLabelMap *map = pulmo_edit_history_get_map (history);
  PulmoVolume *ct = pulmo_label_map_get_volume (map);
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  PulmoReslice reslice;
  pulmo_reslice_init (&reslice, (PulmoViewAxis) g_rand_int_range (rand, 0, PULMO_N_VIEWS),
                      pulmo_volume_get_affine (ct), dims);
  PulmoBrush brush = {
    .shape = g_rand_boolean (rand) ? PULMO_BRUSH_ROUND : PULMO_BRUSH_SQUARE,
    .size_mm = g_rand_double_range (rand, 3.0, 20.0),
    .three_d = g_rand_int_range (rand, 0, 10) == 0,
  };
  PulmoPainter painter;
  make_painter (map, (uint8_t) g_rand_int_range (rand, 0, 5), &painter);
  PulmoStroke *stroke = pulmo_stroke_begin (history, &reslice, g_rand_int_range (rand, 0, reslice.n_slices),
                                            &brush, &painter, "Brush");
  double u = g_rand_double_range (rand, 0, reslice.width), v = g_rand_double_range (rand, 0, reslice.height);
  for (int e = 0; e < 20; e++)
    {
      pulmo_stroke_to (stroke, u, v);
      u = CLAMP (u + g_rand_double_range (rand, -15, 15), 0, reslice.width - 1);
      v = CLAMP (v + g_rand_double_range (rand, -15, 15), 0, reslice.height - 1);
    }
  pulmo_stroke_end (stroke);
}

static void
test_500_strokes (void)
{
  g_autoptr (PulmoVolume) ct = make_ct (512, 512, 400);
  g_autoptr (PulmoLabelMap) map = make_labels (ct);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
  g_autoptr (GRand) rand = g_rand_new_with_seed (18);
  g_autofree char *original = labels_hash (map);

  for (int s = 0; s < 500; s++)
    random_stroke (history, rand);
  guint n_steps = pulmo_edit_history_get_n_steps (history);
  gsize bytes = pulmo_edit_history_get_bytes (history);
  g_test_message ("500 strokes: %u steps, %.2f MB of history", n_steps, bytes / 1e6);
  g_assert_cmpuint (n_steps, >, 450); /* a few may paint what was there */
  g_assert_cmpuint (bytes, <=, 50 * 1000 * 1000);
  g_autofree char *edited = labels_hash (map);
  g_assert_cmpstr (edited, !=, original);

  while (pulmo_edit_history_undo (history))
    ;
  g_autofree char *undone = labels_hash (map);
  g_assert_cmpstr (undone, ==, original);
  g_assert_false (pulmo_edit_history_can_undo (history));

  while (pulmo_edit_history_redo (history))
    ;
  g_autofree char *redone = labels_hash (map);
  g_assert_cmpstr (redone, ==, edited);
  g_assert_cmpuint (pulmo_edit_history_get_bytes (history), ==, bytes);
}

/* Paints a 10 mm disc at display (u, v) of axial slice @slice. */
static gboolean
click (PulmoEditHistory *history, uint8_t value, int slice, double u, double v, const char *name)
{
  PulmoLabelMap *map = pulmo_edit_history_get_map (history);
  PulmoVolume *ct = pulmo_label_map_get_volume (map);
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  PulmoReslice reslice;
  pulmo_reslice_init (&reslice, PULMO_VIEW_AXIAL, pulmo_volume_get_affine (ct), dims);
  PulmoBrush brush = { .shape = PULMO_BRUSH_ROUND, .size_mm = 10.0 };
  PulmoPainter painter;
  make_painter (map, value, &painter);
  PulmoStroke *stroke = pulmo_stroke_begin (history, &reslice, slice, &brush, &painter, name);
  pulmo_stroke_to (stroke, u, v);
  return pulmo_stroke_end (stroke);
}

static void
test_no_op_and_names (void)
{
  g_autoptr (PulmoVolume) ct = make_ct (64, 64, 16);
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
  gsize n = pulmo_volume_get_n_voxels (ct);
  g_autofree uint8_t *empty = g_memdup2 (pulmo_label_map_get_data (map), n);

  g_assert_null (pulmo_edit_history_get_undo_name (history));
  g_assert_true (click (history, 1, 5, 20, 20, "Brush"));
  g_autofree uint8_t *after_first = g_memdup2 (pulmo_label_map_get_data (map), n);
  g_assert_true (click (history, 2, 5, 40, 40, "Second brush"));
  g_assert_cmpstr (pulmo_edit_history_get_undo_name (history), ==, "Second brush");

  /* The same disc again changes nothing: no step, and redo survives it. */
  guint64 revision = pulmo_label_map_get_revision (map);
  g_assert_false (click (history, 2, 5, 40, 40, "Same brush"));
  g_assert_cmpuint (pulmo_edit_history_get_n_steps (history), ==, 2);
  g_assert_cmpuint (pulmo_label_map_get_revision (map), ==, revision);
  g_assert_true (pulmo_edit_history_undo (history));
  g_assert_cmpmem (pulmo_label_map_get_data (map), n, after_first, n);
  g_assert_cmpstr (pulmo_edit_history_get_redo_name (history), ==, "Second brush");
  g_assert_false (click (history, 1, 5, 20, 20, "Nothing"));
  g_assert_true (pulmo_edit_history_can_redo (history));

  /* A new step drops what could be redone. */
  g_assert_true (click (history, 3, 9, 30, 30, "Third"));
  g_assert_false (pulmo_edit_history_can_redo (history));
  g_assert_true (pulmo_edit_history_undo (history));
  g_assert_true (pulmo_edit_history_undo (history));
  g_assert_false (pulmo_edit_history_undo (history));
  g_assert_cmpmem (pulmo_label_map_get_data (map), n, empty, n);
  g_assert_cmpuint (pulmo_edit_history_get_n_steps (history), ==, 2);
}

/* Touching boxes that overlap, grow and lie apart in one edit, with writes
 * between them, still undoes to the exact bytes. */
static void
test_growing_touches (void)
{
  g_autoptr (PulmoVolume) ct = make_ct (50, 40, 30);
  g_autoptr (PulmoLabelMap) map = make_labels (ct);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  gsize n = pulmo_volume_get_n_voxels (ct);
  g_autofree uint8_t *before = g_memdup2 (pulmo_label_map_get_data (map), n);
  uint8_t *labels = pulmo_label_map_get_data_mutable (map);

  pulmo_edit_history_begin (history, "Scattered");
  for (int t = 0; t < 40; t++)
    {
      PulmoBox box;
      const int dims[3] = { 50, 40, 30 };
      for (int a = 0; a < 3; a++)
        {
          box.lo[a] = g_rand_int_range (rand, -5, dims[a]);
          box.hi[a] = box.lo[a] + g_rand_int_range (rand, 0, 8);
        }
      pulmo_edit_history_touch (history, &box);
      for (int k = MAX (box.lo[2], 0); k <= MIN (box.hi[2], 29); k++)
        for (int j = MAX (box.lo[1], 0); j <= MIN (box.hi[1], 39); j++)
          for (int i = MAX (box.lo[0], 0); i <= MIN (box.hi[0], 49); i++)
            labels[((gsize) k * 40 + j) * 50 + i] = (uint8_t) g_rand_int_range (rand, 0, 256);
    }
  g_assert_true (pulmo_edit_history_end (history));
  g_autofree uint8_t *after = g_memdup2 (labels, n);
  g_assert_true (pulmo_edit_history_undo (history));
  g_assert_cmpmem (labels, n, before, n);
  g_assert_true (pulmo_edit_history_redo (history));
  g_assert_cmpmem (labels, n, after, n);
}

static void
test_budget (void)
{
  g_autoptr (PulmoVolume) ct = make_ct (64, 64, 16);
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 4096);

  for (int s = 0; s < 100; s++)
    g_assert_true (click (history, (uint8_t) (1 + (s / 16) % 2), s % 16, 32, 32, "Brush"));
  g_assert_cmpuint (pulmo_edit_history_get_bytes (history), <=, 4096);
  guint kept = pulmo_edit_history_get_n_steps (history);
  g_assert_cmpuint (kept, >, 1);
  g_assert_cmpuint (kept, <, 100);
  guint undone = 0;
  while (pulmo_edit_history_undo (history))
    undone++;
  g_assert_cmpuint (undone, ==, kept);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/edit/history/500-strokes", test_500_strokes);
  g_test_add_func ("/edit/history/no-op-and-names", test_no_op_and_names);
  g_test_add_func ("/edit/history/growing-touches", test_growing_touches);
  g_test_add_func ("/edit/history/budget", test_budget);
  return g_test_run ();
}
