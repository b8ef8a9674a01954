/* `pulmo bench render`: median time to render one slice of a 512×512×400 CT,
 * with and without the label overlay, in the three orientations, beside the
 * 16 ms frame budget and a memcpy of the same image bytes in the same run; then
 * thick slabs (MinIP, MIP, mean up to 30 mm) beside the thin slice with the
 * same overlay and the 16.7 ms frame of a 60 Hz display. */
#include "cli/pulmo-cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/pulmo-label-table.h"
#include "core/pulmo-volume.h"
#include "render/slice-render.h"

enum { NX = 512, NY = 512, NZ = 400 };

/* A chest-like phantom: air, an elliptic body of soft tissue with noise, two
 * lungs at -850 HU with a lesion, a spine; labels follow Pulmo's convention. */
static void
make_phantom (int16_t *hu, uint8_t *labels)
{
  guint32 noise = 12345;
  for (int k = 0; k < NZ; k++)
    for (int j = 0; j < NY; j++)
      {
        size_t row = ((size_t) k * NY + j) * NX;
        double y = (j - NY / 2.0) / (NY * 0.35);
        for (int i = 0; i < NX; i++)
          {
            double x = (i - NX / 2.0) / (NX * 0.45);
            double lung_x = fabs (x) - 0.45, lung_y = y / 0.8;
            noise = noise * 1664525u + 1013904223u;
            int jitter = (int) (noise >> 27) - 16;
            int16_t value = -1000;
            uint8_t label = 0;
            if (x * x + y * y < 1.0)
              value = (int16_t) (40 + jitter);
            if ((lung_x * lung_x) / 0.09 + lung_y * lung_y < 1.0 && k > NZ / 8)
              {
                value = (int16_t) (-850 + jitter);
                label = x < 0 ? 2 : 1; /* storage i runs to the patient's left (LAS) */
                if (lung_x * lung_x + (lung_y - 0.3) * (lung_y - 0.3) < 0.01)
                  {
                    value = (int16_t) (-400 + jitter);
                    label = 3;
                  }
              }
            if (fabs (x) < 0.08 && y > 0.7)
              value = (int16_t) (700 + jitter);
            hu[row + i] = value;
            labels[row + i] = label;
          }
      }
}

int
pulmo_bench_render (int argc, char **argv)
{
  int n_slices = 200;
  GOptionEntry entries[] = {
    { "slices", 'n', 0, G_OPTION_ARG_INT, &n_slices, "slices timed per orientation (default 200)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- time slice rendering");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "pulmo bench render: %s\n", error->message);
      return 2;
    }
  n_slices = CLAMP (n_slices, 5, 10000);

  const int dims[3] = { NX, NY, NZ };
  const size_t n_voxels = (size_t) NX * NY * NZ;
  int16_t *hu = g_malloc (n_voxels * sizeof *hu);
  g_autofree uint8_t *labels = g_malloc (n_voxels);
  make_phantom (hu, labels);
  /* LAS storage like COVID-CT-MD's P001: the axial view reads its rows backwards. */
  PulmoAffine affine = { { { -0.75, 0, 0, 0 }, { 0, 0.75, 0, 0 }, { 0, 0, 1.0, 0 }, { 0, 0, 0, 1 } } };
  g_autoptr (PulmoVolume) volume = pulmo_volume_new_int16 (dims, &affine, hu);
  g_autoptr (PulmoLabelTable) table = pulmo_label_table_new_default ();
  g_autoptr (PulmoSliceRenderer) renderer = pulmo_slice_renderer_new ();

  printf ("pulmo bench render: %d×%d×%d int16 CT (LAS, 0.75×0.75×1 mm) with a label map, "
          "median of %d slices per row\n\n",
          NX, NY, NZ, n_slices);
  printf ("%-9s %-8s %9s %10s %12s %14s %10s\n", "view", "overlay", "image", "median ms",
          "frame 16 ms", "memcpy ms", "x memcpy");

  g_autofree double *times = g_new (double, n_slices);
  g_autofree double *copy_times = g_new (double, n_slices);
  double thin_fill_ms[PULMO_N_VIEWS];
  for (int view = 0; view < PULMO_N_VIEWS; view++)
    {
      PulmoReslice reslice;
      pulmo_reslice_init (&reslice, view, &affine, dims);
      size_t bytes = (size_t) reslice.width * reslice.height * 4;
      g_autofree uint32_t *image = g_malloc (bytes);
      g_autofree uint32_t *copy = g_malloc (bytes);

      /* The anchor: copying as many bytes as the image holds from places spread
       * over the volume (out of cache, as a slice is), the least a frame can cost. */
      const uint8_t *voxel_bytes = (const uint8_t *) pulmo_volume_get_int16 (volume);
      size_t n_blocks = n_voxels * sizeof *hu / bytes;
      for (int s = 0; s < n_slices; s++)
        {
          const uint8_t *source = voxel_bytes + (size_t) s * 7919 % n_blocks * bytes;
          double start = pulmo_bench_now_ms ();
          memcpy (copy, source, bytes);
          copy_times[s] = pulmo_bench_now_ms () - start;
          image[s % (bytes / 4)] ^= copy[(s * 7) % (bytes / 4)]; /* keep the copy live */
        }
      double copy_ms = pulmo_bench_upper_median (copy_times, n_slices);

      static const char *modes[] = { "none", "fill", "outline" };
      for (int mode = 0; mode < 3; mode++)
        {
          PulmoRenderParams params = {
            .window = 1500, .level = -600,
            .labels = mode > 0 ? labels : NULL,
            .table = table,
            .opacity = 0.5,
            .overlay_mode = mode == 2 ? PULMO_OVERLAY_OUTLINE : PULMO_OVERLAY_FILL,
          };
          for (int s = 0; s < n_slices; s++)
            {
              /* Spread over the whole volume so that caches do not flatter us. */
              int slice = (int) ((gint64) s * 7919 % reslice.n_slices);
              double start = pulmo_bench_now_ms ();
              pulmo_slice_renderer_render (renderer, volume, &reslice, slice, &params, image,
                                           reslice.width * 4);
              times[s] = pulmo_bench_now_ms () - start;
            }
          double render_ms = pulmo_bench_upper_median (times, n_slices);
          if (mode == 1)
            thin_fill_ms[view] = render_ms;
          g_autofree char *size = g_strdup_printf ("%d×%d", reslice.width, reslice.height);
          printf ("%-9s %-8s %9s %10.3f %11.1f%% %14.3f %9.1fx\n", pulmo_view_axis_name (view),
                  modes[mode], size, render_ms, 100.0 * render_ms / 16.0, copy_ms,
                  render_ms / MAX (copy_ms, 1e-6));
        }
    }
  printf ("\n“frame 16 ms”: the median render time as a share of one 60 Hz frame.\n"
          "“memcpy ms”: median memcpy of the image's byte count from spots spread over the volume.\n");

  printf ("\nThick slabs, filled overlay projected through the slab:\n");
  printf ("%-9s %-6s %6s %7s %10s %12s %10s %14s\n", "view", "slab", "mm", "slices", "median ms",
          "thin ms", "x thin", "frame 16.7 ms");
  static const struct {
    PulmoSlabMode mode;
    double mm;
  } slabs[] = {
    { PULMO_SLAB_MIN, 10 }, { PULMO_SLAB_MAX, 10 }, { PULMO_SLAB_MIN, 30 },
    { PULMO_SLAB_MAX, 30 }, { PULMO_SLAB_MEAN, 30 },
  };
  for (int view = 0; view < PULMO_N_VIEWS; view++)
    {
      PulmoReslice reslice;
      pulmo_reslice_init (&reslice, view, &affine, dims);
      g_autofree uint32_t *image = g_malloc ((size_t) reslice.width * reslice.height * 4);
      for (size_t b = 0; b < G_N_ELEMENTS (slabs); b++)
        {
          PulmoRenderParams params = {
            .window = 1500, .level = -600, .labels = labels, .table = table, .opacity = 0.5,
            .overlay_mode = PULMO_OVERLAY_FILL, .slab_mode = slabs[b].mode, .slab_mm = slabs[b].mm,
          };
          int first = 0, last = 0;
          for (int s = 0; s < n_slices; s++)
            {
              int slice = (int) ((gint64) s * 7919 % reslice.n_slices);
              double start = pulmo_bench_now_ms ();
              pulmo_slice_renderer_render (renderer, volume, &reslice, slice, &params, image,
                                           reslice.width * 4);
              times[s] = pulmo_bench_now_ms () - start;
            }
          pulmo_slab_range (&reslice, reslice.n_slices / 2, slabs[b].mm, &first, &last);
          double render_ms = pulmo_bench_upper_median (times, n_slices);
          printf ("%-9s %-6s %6.0f %7d %10.3f %12.3f %9.1fx %13.1f%%\n", pulmo_view_axis_name (view),
                  pulmo_slab_mode_get_label (slabs[b].mode), slabs[b].mm, last - first + 1, render_ms,
                  thin_fill_ms[view], render_ms / MAX (thin_fill_ms[view], 1e-6), 100.0 * render_ms / 16.7);
        }
    }
  printf ("\n“slices”: slices a slab covers at mid-volume (thickness / spacing along the view's axis).\n"
          "“thin ms”: the same view's thin slice with the filled overlay, from the table above.\n");
  return 0;
}
