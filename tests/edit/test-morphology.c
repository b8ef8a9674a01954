/* Morphology on real CT: every operation on ct-64's expert lung mask (4.17 ×
 * 4.17 × 3.99 mm) equals, voxel for voxel, a brute-force search over the ball
 * of the radius (so a 4 mm margin reaches along the 3.99 mm axis only); a
 * lesion grown inside the lungs respects the painter's mask; a 10 mm ball on
 * P001 grown by 5 mm holds the analytic 15 mm ball's volume; undo restores
 * the exact bytes; opening or closing twice records one step. */
#include <math.h>
#include <string.h>

#include "edit/morphology.h"
#include "pulmo-test.h"

/* The tools count a voxel centre at the radius as within it, despite rounding. */
#define RADIUS_EPSILON_MM 1e-3

typedef struct {
  int di, dj, dk;
} Offset;

typedef struct {
  PulmoVolume *ct;
  int dims[3];
  gsize n;
  const double *spacing;
  GArray *ball;   /* Offsets within the radius */
  int lo[3], hi[3];   /* the box the brute force looks at */
} Brute;

static void
brute_init (Brute *b, PulmoVolume *ct, double radius_mm)
{
  b->ct = ct;
  pulmo_volume_get_dims (ct, b->dims);
  b->n = pulmo_volume_get_n_voxels (ct);
  b->spacing = pulmo_volume_get_spacing (ct);
  b->ball = g_array_new (FALSE, FALSE, sizeof (Offset));
  int reach[3];
  for (int a = 0; a < 3; a++)
    {
      reach[a] = (int) ceil (radius_mm / b->spacing[a]) + 1;
      b->lo[a] = 0;
      b->hi[a] = b->dims[a] - 1;
    }
  for (int dk = -reach[2]; dk <= reach[2]; dk++)
    for (int dj = -reach[1]; dj <= reach[1]; dj++)
      for (int di = -reach[0]; di <= reach[0]; di++)
        {
          double d = sqrt (pow (di * b->spacing[0], 2) + pow (dj * b->spacing[1], 2) + pow (dk * b->spacing[2], 2));
          if (d <= radius_mm + RADIUS_EPSILON_MM)
            {
              Offset o = { di, dj, dk };
              g_array_append_val (b->ball, o);
            }
        }
}

static void
brute_clear (Brute *b)
{
  g_array_unref (b->ball);
}

/* The ball around voxel (i, j, k), within the scan: how many voxels, and of them in @mask. */
static void
ball_count (const Brute *b, const uint8_t *mask, int i, int j, int k, guint *total, guint *in_mask)
{
  *total = *in_mask = 0;
  for (guint o = 0; o < b->ball->len; o++)
    {
      const Offset *off = &g_array_index (b->ball, Offset, o);
      int x = i + off->di, y = j + off->dj, z = k + off->dk;
      if (x < 0 || y < 0 || z < 0 || x >= b->dims[0] || y >= b->dims[1] || z >= b->dims[2])
        continue;
      (*total)++;
      *in_mask += mask[((gsize) z * b->dims[1] + y) * b->dims[0] + x];
    }
}

typedef enum { BRUTE_DILATE, BRUTE_ERODE, BRUTE_MEDIAN } BruteOp;

/* @mask after @op, within the brute force's box (outside it unchanged). */
static uint8_t *
brute (const Brute *b, const uint8_t *mask, BruteOp op)
{
  uint8_t *out = g_memdup2 (mask, b->n);
  for (int k = b->lo[2]; k <= b->hi[2]; k++)
    for (int j = b->lo[1]; j <= b->hi[1]; j++)
      for (int i = b->lo[0]; i <= b->hi[0]; i++)
        {
          gsize v = ((gsize) k * b->dims[1] + j) * b->dims[0] + i;
          guint total, in_mask;
          ball_count (b, mask, i, j, k, &total, &in_mask);
          if (op == BRUTE_DILATE)
            out[v] = in_mask > 0;
          else if (op == BRUTE_ERODE)
            out[v] = in_mask == total;
          else
            out[v] = 2 * in_mask > total ? 1 : 2 * in_mask < total ? 0 : mask[v];
        }
  return out;
}

static uint8_t *
brute_op (const Brute *b, const uint8_t *mask, PulmoMorphOp op)
{
  switch (op)
    {
    case PULMO_MORPH_GROW:
      return brute (b, mask, BRUTE_DILATE);
    case PULMO_MORPH_SHRINK:
      return brute (b, mask, BRUTE_ERODE);
    case PULMO_MORPH_MEDIAN:
      return brute (b, mask, BRUTE_MEDIAN);
    case PULMO_MORPH_OPEN:
    case PULMO_MORPH_CLOSE:
      {
        g_autofree uint8_t *first = brute (b, mask, op == PULMO_MORPH_OPEN ? BRUTE_ERODE : BRUTE_DILATE);
        return brute (b, first, op == PULMO_MORPH_OPEN ? BRUTE_DILATE : BRUTE_ERODE);
      }
    }
  g_assert_not_reached ();
}

/* The lung mask of ct-64 as label 1 of a new map. */
static PulmoLabelMap *
lung_map (PulmoVolume *ct)
{
  g_autofree char *path = pulmo_test_data ("cip-chest-ct/wholeLung-64.nii.gz");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) lung = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  PulmoLabelMap *map = pulmo_label_map_new (ct);
  uint8_t *labels = pulmo_label_map_get_data_mutable (map);
  const int16_t *mask = pulmo_volume_get_int16 (lung);
  g_assert_nonnull (mask);
  for (gsize v = 0; v < pulmo_volume_get_n_voxels (ct); v++)
    labels[v] = mask[v] != 0;
  return map;
}

static gsize
differences (const uint8_t *a, const uint8_t *b, gsize n)
{
  gsize d = 0;
  for (gsize v = 0; v < n; v++)
    d += a[v] != b[v];
  return d;
}

static const char *const op_names[] = { "open", "close", "median", "grow", "shrink" };

/* Each operation on the lung mask equals the brute force exactly, and undo restores it. */
static void
test_against_brute_force (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autoptr (PulmoLabelMap) map = lung_map (ct);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
  const gsize n = pulmo_volume_get_n_voxels (ct);
  g_autofree uint8_t *lungs = g_memdup2 (pulmo_label_map_get_data (map), n);
  PulmoPaintMask everywhere;
  pulmo_paint_mask_init (&everywhere);
  PulmoPainter painter;
  pulmo_painter_init (&painter, map, ct, &everywhere, 1, -1);

  const double radii_mm[] = { 4.0, 9.0 };
  for (guint r = 0; r < G_N_ELEMENTS (radii_mm); r++)
    {
      Brute b;
      brute_init (&b, ct, radii_mm[r]);
      for (int op = PULMO_MORPH_OPEN; op <= PULMO_MORPH_SHRINK; op++)
        {
          g_autofree uint8_t *expected = brute_op (&b, lungs, op);
          gsize expected_changes = differences (expected, lungs, n);
          gsize changed = pulmo_morphology (history, ct, &painter, op, radii_mm[r], 0, op_names[op]);
          g_test_message ("%s %.0f mm: %" G_GSIZE_FORMAT " voxels changed", op_names[op], radii_mm[r], changed);
          g_assert_cmpuint (changed, >, 0);
          g_assert_cmpuint (changed, ==, expected_changes);
          g_assert_cmpmem (pulmo_label_map_get_data (map), n, expected, n);
          g_assert_true (pulmo_edit_history_undo (history));
          g_assert_cmpmem (pulmo_label_map_get_data (map), n, lungs, n);
        }
      brute_clear (&b);
    }

  /* 4 mm is beyond the 3.99 mm slices but short of the 4.17 mm columns: growing
   * adds only the voxels above and below the lungs. */
  pulmo_morphology (history, ct, &painter, PULMO_MORPH_GROW, 4.0, 0, "grow");
  const uint8_t *labels = pulmo_label_map_get_data (map);
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  const gsize slice = (gsize) dims[0] * dims[1];
  for (gsize v = 0; v < n; v++)
    if (labels[v] && !lungs[v])
      g_assert_true ((v >= slice && lungs[v - slice]) || (v + slice < n && lungs[v + slice]));
  g_assert_true (pulmo_edit_history_undo (history));
}

/* Opening and closing are idempotent: the second changes nothing and records no step. */
static void
test_idempotent (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autoptr (PulmoLabelMap) map = lung_map (ct);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
  PulmoPaintMask everywhere;
  pulmo_paint_mask_init (&everywhere);
  PulmoPainter painter;
  pulmo_painter_init (&painter, map, ct, &everywhere, 1, -1);
  for (int op = PULMO_MORPH_OPEN; op <= PULMO_MORPH_CLOSE; op++)
    {
      g_assert_cmpuint (pulmo_morphology (history, ct, &painter, op, 9.0, 0, op_names[op]), >, 0);
      guint n_steps = pulmo_edit_history_get_n_steps (history);
      g_assert_cmpuint (pulmo_morphology (history, ct, &painter, op, 9.0, 0, op_names[op]), ==, 0);
      g_assert_cmpuint (pulmo_edit_history_get_n_steps (history), ==, n_steps);
    }
  /* Shrinking a label that is not there does nothing either. */
  pulmo_painter_init (&painter, map, ct, &everywhere, 4, -1);
  g_assert_cmpuint (pulmo_morphology (history, ct, &painter, PULMO_MORPH_SHRINK, 9.0, 0, "shrink"), ==, 0);
  g_assert_cmpuint (pulmo_edit_history_get_n_steps (history), ==, 2);
}

/* A lesion (label 3) grown with paint allowed inside the lungs only gains the
 * brute-force dilation's voxels that lie in the lungs. */
static void
test_painter_mask (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autoptr (PulmoLabelMap) map = lung_map (ct);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
  const gsize n = pulmo_volume_get_n_voxels (ct);
  uint8_t *labels = pulmo_label_map_get_data_mutable (map);
  /* A lesion on the lungs' edge: the first lung voxel in storage order from the middle slice on. */
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  gsize first = (gsize) dims[2] / 2 * dims[0] * dims[1];
  while (!labels[first])
    first++;
  labels[first] = 3;
  labels[first + 1] = 3;
  g_autofree uint8_t *before = g_memdup2 (labels, n);

  Brute b;
  brute_init (&b, ct, 9.0);
  g_autofree uint8_t *lesion = g_malloc (n);
  for (gsize v = 0; v < n; v++)
    lesion[v] = before[v] == 3;
  g_autofree uint8_t *grown = brute (&b, lesion, BRUTE_DILATE);
  brute_clear (&b);

  PulmoPaintMask lungs_only;
  pulmo_paint_mask_init (&lungs_only);
  lungs_only.over = PULMO_PAINT_OVER_LUNGS;
  PulmoPainter painter;
  pulmo_painter_init (&painter, map, ct, &lungs_only, 3, -1);
  gsize changed = pulmo_morphology (history, ct, &painter, PULMO_MORPH_GROW, 9.0, 0, "grow");
  gsize expected = 0, outside = 0;
  for (gsize v = 0; v < n; v++)
    {
      gboolean gains = grown[v] && before[v] == 1;
      expected += gains;
      outside += grown[v] && before[v] == 0;
      g_assert_cmpint (labels[v], ==, gains ? 3 : before[v]);
    }
  g_test_message ("lesion grown by 9 mm: %" G_GSIZE_FORMAT " voxels in the lungs, %" G_GSIZE_FORMAT
                  " outside kept", expected, outside);
  g_assert_cmpuint (outside, >, 0);
  g_assert_cmpuint (changed, ==, expected);
  g_assert_true (pulmo_edit_history_undo (history));
  g_assert_cmpmem (labels, n, before, n);
}

/* P001 (0.748 × 0.748 × 2 mm): a ball of 10 mm grown by 5 mm equals the brute
 * force and holds the volume of a 15 mm ball; shrunk by 5 mm, that of a 5 mm one. */
static void
test_ball (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("covid-ct-md/P001.nii.gz");
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  g_autoptr (PulmoEditHistory) history = pulmo_edit_history_new (map, 0);
  const gsize n = pulmo_volume_get_n_voxels (ct);
  const double *spacing = pulmo_volume_get_spacing (ct);
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  const int centre[3] = { 200, 300, 70 };
  uint8_t *labels = pulmo_label_map_get_data_mutable (map);
  gsize v = 0;
  for (int k = 0; k < dims[2]; k++)
    for (int j = 0; j < dims[1]; j++)
      for (int i = 0; i < dims[0]; i++, v++)
        labels[v] = 2 * (hypot (hypot ((i - centre[0]) * spacing[0], (j - centre[1]) * spacing[1]),
                                (k - centre[2]) * spacing[2]) <= 10.0);
  g_autofree uint8_t *ball = g_memdup2 (labels, n);
  const double voxel_mm3 = spacing[0] * spacing[1] * spacing[2];

  PulmoPaintMask everywhere;
  pulmo_paint_mask_init (&everywhere);
  PulmoPainter painter;
  pulmo_painter_init (&painter, map, ct, &everywhere, 2, -1);
  Brute b;
  brute_init (&b, ct, 5.0);
  for (int a = 0; a < 3; a++)
    {
      int reach = (int) ceil (16.0 / spacing[a]);
      b.lo[a] = centre[a] - reach;
      b.hi[a] = centre[a] + reach;
    }
  g_autofree uint8_t *mask = g_malloc (n);
  gsize ball_voxels = 0;
  for (gsize w = 0; w < n; w++)
    ball_voxels += mask[w] = ball[w] != 0;
  g_autofree uint8_t *expected = brute (&b, mask, BRUTE_DILATE);
  brute_clear (&b);

  gsize grown = pulmo_morphology (history, ct, &painter, PULMO_MORPH_GROW, 5.0, 0, "grow");
  guint64 counts[256];
  pulmo_label_map_count (map, counts);
  double analytic = 4.0 / 3.0 * G_PI * pow (15.0, 3) / voxel_mm3;
  g_test_message ("grown: %" G_GUINT64_FORMAT " voxels, the 15 mm ball %.0f", counts[2], analytic);
  /* On 2 mm slices the sum of two voxel balls falls short of the 15 mm ball
   * (14 mm above the centre it is 10 + 4 mm, no wider than 3 mm), by about 5 %. */
  g_assert_cmpfloat (counts[2], <, analytic);
  g_assert_cmpfloat (counts[2], >, 0.93 * analytic);
  gsize wrong = 0;
  for (gsize w = 0; w < n; w++)
    wrong += (labels[w] == 2) != expected[w];
  g_assert_cmpuint (wrong, ==, 0);
  g_assert_cmpuint (grown, ==, counts[2] - ball_voxels);
  g_assert_true (pulmo_edit_history_undo (history));
  g_assert_cmpmem (labels, n, ball, n);

  pulmo_morphology (history, ct, &painter, PULMO_MORPH_SHRINK, 5.0, 0, "shrink");
  pulmo_label_map_count (map, counts);
  analytic = 4.0 / 3.0 * G_PI * pow (5.0, 3) / voxel_mm3;
  g_test_message ("shrunk: %" G_GUINT64_FORMAT " voxels, the 5 mm ball %.0f", counts[2], analytic);
  g_assert_cmpfloat (fabs (counts[2] - analytic) / analytic, <, 0.1);
  g_assert_true (pulmo_edit_history_undo (history));
  g_assert_cmpmem (labels, n, ball, n);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/morphology/brute-force", test_against_brute_force);
  g_test_add_func ("/morphology/idempotent", test_idempotent);
  g_test_add_func ("/morphology/painter-mask", test_painter_mask);
  g_test_add_func ("/morphology/ball", test_ball);
  return g_test_run ();
}
