/* Thick slabs on real CTs: each projection (MinIP, MIP, mean) in each view
 * against a direct computation over the voxels, the slab's thickness in mm
 * honoured along each view's own spacing (P001: 0.75 × 0.75 × 2 mm), and the
 * labels projected through the slab (CIP ct-64 with its lung region codes). */
#include <math.h>

#include "core/pulmo-label-table.h"
#include "pulmo-test.h"
#include "render/slice-render.h"

static const double lung_window = 1500, lung_level = -600;

/* The projection by @mode of the voxels under display (u, v) from @first to @last. */
static double
direct_projection (PulmoVolume *ct, const PulmoReslice *reslice, int u, int v, int first, int last,
                   PulmoSlabMode mode)
{
  double min = G_MAXDOUBLE, max = -G_MAXDOUBLE, sum = 0;
  for (int s = first; s <= last; s++)
    {
      int ijk[3];
      pulmo_reslice_to_voxel (reslice, u, v, s, ijk);
      double value = pulmo_volume_get_value (ct, ijk[0], ijk[1], ijk[2]);
      min = MIN (min, value);
      max = MAX (max, value);
      sum += value;
    }
  return mode == PULMO_SLAB_MIN ? min : mode == PULMO_SLAB_MAX ? max : sum / (last - first + 1);
}

static uint32_t *
render (PulmoVolume *ct, const PulmoReslice *reslice, int slice, const PulmoRenderParams *params)
{
  g_autoptr (PulmoSliceRenderer) renderer = pulmo_slice_renderer_new ();
  uint32_t *pixels = g_new (uint32_t, (size_t) reslice->width * reslice->height);
  pulmo_slice_renderer_render (renderer, ct, reslice, slice, params, pixels, reslice->width * 4);
  return pixels;
}

static void
test_projections (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("covid-ct-md/P001.nii.gz");
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  for (int view = 0; view < PULMO_N_VIEWS; view++)
    {
      PulmoReslice reslice;
      pulmo_reslice_init (&reslice, view, pulmo_volume_get_affine (ct), dims);
      int slice = reslice.n_slices / 2, first, last;
      pulmo_slab_range (&reslice, slice, 10.0, &first, &last);
      PulmoRenderParams thin = { .window = lung_window, .level = lung_level };
      g_autofree uint32_t *thin_pixels = render (ct, &reslice, slice, &thin);
      for (PulmoSlabMode mode = PULMO_SLAB_MIN; mode <= PULMO_SLAB_MEAN; mode++)
        {
          PulmoRenderParams params = thin;
          params.slab_mode = mode;
          params.slab_mm = 10.0;
          g_autofree uint32_t *pixels = render (ct, &reslice, slice, &params);
          int wrong = 0, changed = 0;
          for (int v = 0; v < reslice.height; v++)
            for (int u = 0; u < reslice.width; u++)
              {
                double value = direct_projection (ct, &reslice, u, v, first, last, mode);
                int expected = pulmo_window_grey (value, lung_window, lung_level);
                uint32_t pixel = pixels[(size_t) v * reslice.width + u];
                /* The mean is a float sum in the renderer, a double here: a grey level apart at most. */
                int tolerance = mode == PULMO_SLAB_MEAN ? 1 : 0;
                if (abs ((int) (pixel & 0xff) - expected) > tolerance || pixel >> 24 != 0xff)
                  wrong++;
                changed += pixel != thin_pixels[(size_t) v * reslice.width + u];
              }
          g_test_message ("%s %s: %d of %d pixels differ from the thin slice", pulmo_view_axis_name (view),
                          pulmo_slab_mode_get_name (mode), changed, reslice.width * reslice.height);
          g_assert_cmpint (wrong, ==, 0);
          /* A slab that showed the thin slice would pass the check above only by luck of the data. */
          g_assert_cmpint (changed, >, reslice.width * reslice.height / 20);
        }
    }
}

/* Slices used = thickness / spacing along the view's axis: P001's 2 mm axial
 * spacing gives 5 slices for 10 mm, its 0.75 mm in-plane spacing 13. */
static void
test_thickness (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("covid-ct-md/P001.nii.gz");
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  const double *spacing = pulmo_volume_get_spacing (ct);
  static const double thickness_mm[] = { 1.0, 4.0, 10.0, 30.0 };
  static const int expected[PULMO_N_VIEWS][G_N_ELEMENTS (thickness_mm)] = {
    { 1, 2, 5, 15 },   /* axial: 2 mm */
    { 1, 5, 13, 40 },  /* coronal: 0.748 mm */
    { 1, 5, 13, 40 },  /* sagittal: 0.748 mm */
  };
  for (int view = 0; view < PULMO_N_VIEWS; view++)
    {
      PulmoReslice reslice;
      pulmo_reslice_init (&reslice, view, pulmo_volume_get_affine (ct), dims);
      g_assert_cmpfloat_with_epsilon (reslice.slice_spacing_mm, spacing[reslice.slice_axis], 1e-6);
      for (size_t t = 0; t < G_N_ELEMENTS (thickness_mm); t++)
        {
          int slice = reslice.n_slices / 2, first, last;
          pulmo_slab_range (&reslice, slice, thickness_mm[t], &first, &last);
          g_assert_cmpint (last - first + 1, ==, expected[view][t]);
          g_assert_cmpint (lround (thickness_mm[t] / reslice.slice_spacing_mm), ==, MAX (last - first + 1, 1));
          g_assert_true (first <= slice && slice <= last);
          /* At the volume's end the slab is cut, not shifted: it still holds the slice shown. */
          pulmo_slab_range (&reslice, 0, thickness_mm[t], &first, &last);
          g_assert_cmpint (first, ==, 0);
          g_assert_cmpint (last, ==, expected[view][t] / 2);
        }
    }
}

/* What a slab shows along a ray where several labels lie, first to last
 * (slab.h): consolidation, ground glass, infection of unknown type, effusion,
 * then the others by value. */
static const uint8_t shown_first[] = { 4, 3, 7, 5, 8, 6, 2, 1 };

/* A slab's overlay shows, per pixel, the label first in that order along the
 * ray, hidden labels left out: lesions over lung and effusion. ct-64's CIP
 * codes are mapped to labels 1..8 by region, so that every pair meets. */
static void
test_label_projection (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autoptr (PulmoVolume) regions = pulmo_test_load_ct ("cip-chest-ct/lm-64.nii.gz");
  size_t n = pulmo_volume_get_n_voxels (ct);
  g_autofree uint8_t *labels = g_new (uint8_t, n);
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  int n_labelled = 0;
  for (int k = 0; k < dims[2]; k++)
    for (int j = 0; j < dims[1]; j++)
      for (int i = 0; i < dims[0]; i++)
        {
          int code = (int) pulmo_volume_get_value (regions, i, j, k);
          uint8_t label = code == 0 ? 0 : (uint8_t) (1 + (code & 0xff) % 8);
          labels[((size_t) k * dims[1] + j) * dims[0] + i] = label;
          n_labelled += label != 0;
        }
  g_assert_cmpint (n_labelled, >, 1000);
  g_autoptr (PulmoLabelTable) table = pulmo_label_table_new_default ();
  for (uint8_t value = 1; value <= 8; value++)
    pulmo_label_table_ensure (table, value);
  int not_highest = 0;

  /* All labels shown (ranks computed sixteen at a time), then one hidden: it
   * shows nowhere and hides nothing behind it (ranks from the table); each
   * through 20, 40 and 80 mm: rays of 5, 10 and 19 to 20 slices, which the
   * renderer takes one by one, as eight and eight, and sixteen at a time. */
  static const double slab_thickness_mm[] = { 20.0, 40.0, 80.0 };
  for (int pass = 0; pass < 6; pass++)
    {
      const uint8_t hidden = pass % 2 == 0 ? 0 : PULMO_LABEL_LEFT_LUNG;
      const double slab_mm = slab_thickness_mm[pass / 2];
      for (int view = 0; view < PULMO_N_VIEWS; view++)
        {
          pulmo_label_table_set_visible (table, PULMO_LABEL_LEFT_LUNG, hidden == 0);
          PulmoReslice reslice;
          pulmo_reslice_init (&reslice, view, pulmo_volume_get_affine (ct), dims);
          int slice = reslice.n_slices / 2, first, last;
          pulmo_slab_range (&reslice, slice, slab_mm, &first, &last);
          g_assert_cmpint (last - first + 1, ==, slab_mm == 20.0 ? 5 : lround (slab_mm / reslice.slice_spacing_mm));
          for (int outline = 0; outline < 2; outline++)
            {
              PulmoRenderParams params = {
                .window = lung_window, .level = lung_level, .labels = labels, .table = table, .opacity = 1.0,
                .overlay_alone = TRUE, .slab_mode = PULMO_SLAB_MAX, .slab_mm = slab_mm,
                .overlay_mode = outline ? PULMO_OVERLAY_OUTLINE : PULMO_OVERLAY_FILL,
              };
              g_autofree uint32_t *pixels = render (ct, &reslice, slice, &params);
              int wrong = 0, deeper = 0;
              for (int v = 0; v < reslice.height; v++)
                for (int u = 0; u < reslice.width; u++)
                  {
                    int ijk[3];
                    gboolean on_ray[256] = { FALSE };
                    for (int s = first; s <= last; s++)
                      {
                        pulmo_reslice_to_voxel (&reslice, u, v, s, ijk);
                        on_ray[labels[((size_t) ijk[2] * dims[1] + ijk[1]) * dims[0] + ijk[0]]] = TRUE;
                      }
                    uint8_t highest = 0;
                    for (size_t o = 0; o < sizeof shown_first && highest == 0; o++)
                      if (on_ray[shown_first[o]] && (hidden == 0 || shown_first[o] != hidden))
                        highest = shown_first[o];
                    int highest_value = 0;
                    for (int value = 1; value <= 8; value++)
                      if (on_ray[value] && (hidden == 0 || value != hidden))
                        highest_value = value;
                    not_highest += highest != highest_value;
                    pulmo_reslice_to_voxel (&reslice, u, v, slice, ijk);
                    deeper += highest != labels[((size_t) ijk[2] * dims[1] + ijk[1]) * dims[0] + ijk[0]];
                    const PulmoLabel *label = pulmo_label_table_get (table, highest);
                    uint32_t colour = highest == 0 ? 0
                                                   : 0xff000000u | (uint32_t) label->rgba[0] << 16
                                                       | (uint32_t) label->rgba[1] << 8 | label->rgba[2];
                    uint32_t pixel = pixels[(size_t) v * reslice.width + u];
                    /* Filled, every pixel is its ray's label; outlined, a pixel is that label or clear. */
                    if (outline ? pixel != 0 && pixel != colour : pixel != colour)
                      wrong++;
                  }
              g_assert_cmpint (wrong, ==, 0);
              /* The slab must show labels the centre slice does not hold. */
              g_assert_cmpint (deeper, >, 20);
            }
        }
    }
  /* The order matters on this map: on many rays a lesion outranks a higher value. */
  g_assert_cmpint (not_highest, >, 20);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/slab/projections", test_projections);
  g_test_add_func ("/slab/thickness", test_thickness);
  g_test_add_func ("/slab/labels", test_label_projection);
  return g_test_run ();
}
