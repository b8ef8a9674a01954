/* Radiological display of real CTs stored in different orders: an LPS file
 * (CIP ct-64) and a RAS file (TotalSegmentator example_ct) must show the same
 * anatomy on the same side of the screen. Anatomy comes from each file's own
 * label map, drawn as an opaque overlay, and is located in the rendered pixels. */
#include <math.h>

#include "core/pulmo-label-map.h"
#include "core/pulmo-volume.h"
#include "pulmo-test.h"
#include "render/slice-render.h"

typedef struct {
  PulmoVolume *ct;
  uint8_t *labels;          /* on the CT's grid */
  PulmoLabelTable *table;   /* two structures coloured, the rest hidden */
} Scan;

static const uint8_t first_rgba[4] = { 255, 0, 0, 255 };
static const uint8_t second_rgba[4] = { 0, 0, 255, 255 };

static PulmoVolume *
load (const char *relative)
{
  g_autofree char *path = pulmo_test_data (relative);
  g_autoptr (GError) error = NULL;
  PulmoVolume *volume = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  return volume;
}

/* Label 1 = @first_values, label 2 = @second_values (each list ends with 0). */
static void
scan_init (Scan *scan, PulmoVolume *ct, PulmoVolume *source_labels, const int *first_values,
           const int *second_values)
{
  scan->ct = ct;
  size_t n = pulmo_volume_get_n_voxels (ct);
  scan->labels = g_new0 (uint8_t, n);
  const int16_t *source = pulmo_volume_get_int16 (source_labels);
  g_assert_nonnull (source);
  for (size_t v = 0; v < n; v++)
    {
      for (const int *value = first_values; *value != 0; value++)
        if (source[v] == *value)
          scan->labels[v] = 1;
      for (const int *value = second_values; *value != 0; value++)
        if (source[v] == *value)
          scan->labels[v] = 2;
    }
  scan->table = pulmo_label_table_new ();
  pulmo_label_table_set (scan->table, 1, "first", first_rgba);
  pulmo_label_table_set (scan->table, 2, "second", second_rgba);
}

static void
scan_clear (Scan *scan)
{
  pulmo_volume_unref (scan->ct);
  g_free (scan->labels);
  pulmo_label_table_free (scan->table);
}

/* The slice of @view holding most of both structures (the larger of their minima). */
static int
best_slice (const Scan *scan, const PulmoReslice *reslice)
{
  int dims[3];
  pulmo_volume_get_dims (scan->ct, dims);
  g_autofree int *first = g_new0 (int, reslice->n_slices);
  g_autofree int *second = g_new0 (int, reslice->n_slices);
  for (int k = 0; k < dims[2]; k++)
    for (int j = 0; j < dims[1]; j++)
      for (int i = 0; i < dims[0]; i++)
        {
          uint8_t label = scan->labels[((size_t) k * dims[1] + j) * dims[0] + i];
          int ijk[3] = { i, j, k };
          if (label == 1)
            first[ijk[reslice->slice_axis]]++;
          else if (label == 2)
            second[ijk[reslice->slice_axis]]++;
        }
  int best = 0;
  for (int s = 1; s < reslice->n_slices; s++)
    if (MIN (first[s], second[s]) > MIN (first[best], second[best]))
      best = s;
  g_assert_cmpint (MIN (first[best], second[best]), >, 0);
  return best;
}

/* Mean screen position (u, v) of each structure in the rendered slice of @view. */
static void
locate (const Scan *scan, PulmoViewAxis view, double first_uv[2], double second_uv[2], PulmoReslice *reslice)
{
  int dims[3];
  pulmo_volume_get_dims (scan->ct, dims);
  pulmo_reslice_init (reslice, view, pulmo_volume_get_affine (scan->ct), dims);
  int slice = best_slice (scan, reslice);
  g_autofree uint32_t *pixels = g_new (uint32_t, (size_t) reslice->width * reslice->height);
  g_autoptr (PulmoSliceRenderer) renderer = pulmo_slice_renderer_new ();
  PulmoRenderParams params = { .window = 1500, .level = -600, .labels = scan->labels, .table = scan->table,
                               .opacity = 1.0, .overlay_mode = PULMO_OVERLAY_FILL };
  pulmo_slice_renderer_render (renderer, scan->ct, reslice, slice, &params, pixels, reslice->width * 4);

  const uint32_t first_pixel = 0xffff0000u, second_pixel = 0xff0000ffu;
  double sums[2][3] = { { 0 } };
  for (int v = 0; v < reslice->height; v++)
    for (int u = 0; u < reslice->width; u++)
      {
        uint32_t pixel = pixels[(size_t) v * reslice->width + u];
        int which = pixel == first_pixel ? 0 : pixel == second_pixel ? 1 : -1;
        if (which < 0)
          continue;
        sums[which][0] += u;
        sums[which][1] += v;
        sums[which][2] += 1;
      }
  g_assert_cmpfloat (sums[0][2], >, 0);
  g_assert_cmpfloat (sums[1][2], >, 0);
  for (int a = 0; a < 2; a++)
    {
      first_uv[a] = sums[0][a] / sums[0][2];
      second_uv[a] = sums[1][a] / sums[1][2];
    }
}

/* CIP region codes (value & 255): 12..14 right lung thirds, 9..11 left. */
static void
test_lps_lungs (void)
{
  Scan scan;
  g_autoptr (PulmoVolume) regions = load ("cip-chest-ct/lm-64.nii.gz");
  /* Codes with a type in the high byte (512 + region, 768 + region) count as their region. */
  static const int right[] = { 12, 13, 14, 524, 525, 526, 780, 781, 782, 0 };
  static const int left[] = { 9, 10, 11, 521, 522, 777, 778, 779, 0 };
  scan_init (&scan, load ("cip-chest-ct/ct-64.nii.gz"), regions, right, left);
  g_assert_cmpstr (pulmo_volume_get_orientation (scan.ct), ==, "LPS");

  double right_uv[2], left_uv[2];
  PulmoReslice reslice;
  for (int view = PULMO_VIEW_AXIAL; view <= PULMO_VIEW_CORONAL; view++)
    {
      locate (&scan, view, right_uv, left_uv, &reslice);
      /* Patient's right on the screen's left, in both axial and coronal. */
      g_assert_cmpfloat (right_uv[0], <, reslice.width / 2.0);
      g_assert_cmpfloat (left_uv[0], >, reslice.width / 2.0);
    }
  scan_clear (&scan);
}

/* TotalSegmentator v1 classes: 1 spleen, 5 liver, 7 aorta, 13..17 lung lobes,
 * 18..41 vertebrae. */
static void
test_ras_organs (void)
{
  g_autoptr (PulmoVolume) segmentation = load ("totalsegmentator-example-ct/example_seg_v2022_float64.nii.gz");
  double first_uv[2], second_uv[2];
  PulmoReslice reslice;
  Scan scan;

  /* Axial: liver (patient's right) on the screen's left, spleen on its right. */
  static const int liver[] = { 5, 0 }, spleen[] = { 1, 0 };
  scan_init (&scan, load ("totalsegmentator-example-ct/example_ct.nii.gz"), segmentation, liver, spleen);
  g_assert_cmpstr (pulmo_volume_get_orientation (scan.ct), ==, "RAS");
  locate (&scan, PULMO_VIEW_AXIAL, first_uv, second_uv, &reslice);
  g_assert_cmpfloat (first_uv[0], <, reslice.width / 2.0);
  g_assert_cmpfloat (second_uv[0], >, reslice.width / 2.0);
  scan_clear (&scan);

  /* Aorta in front of the spine: above it in axial, left of it in sagittal. */
  static const int aorta[] = { 7, 0 };
  int vertebrae[25];
  for (int v = 0; v < 24; v++)
    vertebrae[v] = 18 + v;
  vertebrae[24] = 0;
  scan_init (&scan, load ("totalsegmentator-example-ct/example_ct.nii.gz"), segmentation, aorta, vertebrae);
  locate (&scan, PULMO_VIEW_AXIAL, first_uv, second_uv, &reslice);
  g_assert_cmpfloat (first_uv[1], <, second_uv[1]);
  g_assert_cmpfloat (second_uv[1], >, reslice.height / 2.0); /* the spine lies in the bottom half */
  locate (&scan, PULMO_VIEW_SAGITTAL, first_uv, second_uv, &reslice);
  g_assert_cmpfloat (first_uv[0], <, second_uv[0]);
  scan_clear (&scan);

  /* Coronal: the lung bases above the liver. */
  static const int lungs[] = { 13, 14, 15, 16, 17, 0 };
  scan_init (&scan, load ("totalsegmentator-example-ct/example_ct.nii.gz"), segmentation, lungs, liver);
  locate (&scan, PULMO_VIEW_CORONAL, first_uv, second_uv, &reslice);
  g_assert_cmpfloat (first_uv[1], <, second_uv[1]);
  scan_clear (&scan);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/render/orientation/lps-lungs", test_lps_lungs);
  g_test_add_func ("/render/orientation/ras-organs", test_ras_organs);
  return g_test_run ();
}
