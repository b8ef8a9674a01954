/* `pulmo bench render3d`: frames per second of the 3D view while it rotates a
 * 512×512×400 label map (lungs and lesions), beside the 20 fps target and one
 * plain pass over the same grid's bytes measured in the same run. */
#include "cli/pulmo-cli.h"

#include <math.h>
#include <stdio.h>

#include "core/pulmo-label-table.h"
#include "render/volume-render.h"

enum { NX = 512, NY = 512, NZ = 400, VIEW_WIDTH = 640, VIEW_HEIGHT = 480 };

/* Two elliptic lungs through most of the slices with twelve spherical lesions
 * of ground glass and consolidation spread through them (LAS storage: i runs
 * to the patient's left). */
static void
make_labels (uint8_t *labels)
{
  double lesions[12][4];
  guint32 seed = 2024;
  for (int n = 0; n < 12; n++)
    for (int c = 0; c < 4; c++)
      {
        seed = seed * 1664525u + 1013904223u;
        lesions[n][c] = (seed >> 8) / 16777216.0;
      }
  for (int k = 0; k < NZ; k++)
    for (int j = 0; j < NY; j++)
      for (int i = 0; i < NX; i++)
        {
          double x = (i - NX / 2.0) / (NX * 0.45), y = (j - NY / 2.0) / (NY * 0.35), z = (k - NZ / 2.0) / (NZ * 0.42);
          double lung_x = fabs (x) - 0.45, lung_y = y / 0.8;
          uint8_t label = 0;
          if (lung_x * lung_x / 0.09 + lung_y * lung_y + z * z * z * z < 1.0)
            {
              label = x < 0 ? PULMO_LABEL_RIGHT_LUNG : PULMO_LABEL_LEFT_LUNG;
              for (int n = 0; n < 12; n++)
                {
                  double dx = lung_x - (lesions[n][0] - 0.5) * 0.4, dy = lung_y - (lesions[n][1] - 0.5) * 1.2;
                  double dz = z - (lesions[n][2] - 0.5) * 1.4, radius = 0.08 + 0.12 * lesions[n][3];
                  if (dx * dx + dy * dy + dz * dz < radius * radius)
                    label = n % 3 == 0 ? PULMO_LABEL_CONSOLIDATION : PULMO_LABEL_GROUND_GLASS;
                }
            }
          labels[((size_t) k * NY + j) * NX + i] = label;
        }
}

/* The least a frame that reads its grid can cost: one pass summing its bytes. */
static double
grid_pass_ms (const uint8_t *bytes, size_t n)
{
  double start = pulmo_bench_now_ms ();
  guint64 sum = 0;
  for (size_t v = 0; v < n; v++)
    sum += bytes[v];
  double ms = pulmo_bench_now_ms () - start;
  if (sum == G_MAXUINT64)
    printf ("!");
  return ms;
}

int
pulmo_bench_render3d (int argc, char **argv)
{
  int n_frames = 120;
  GOptionEntry entries[] = {
    { "frames", 'n', 0, G_OPTION_ARG_INT, &n_frames, "frames timed per row (default 120)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- time the 3D view while it rotates");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "pulmo bench render3d: %s\n", error->message);
      return 2;
    }
  n_frames = CLAMP (n_frames, 5, 10000);

  const int dims[3] = { NX, NY, NZ };
  g_autofree uint8_t *labels = g_malloc ((size_t) NX * NY * NZ);
  make_labels (labels);
  PulmoAffine affine = { { { -0.75, 0, 0, 0 }, { 0, 0.75, 0, 0 }, { 0, 0, 1.0, 0 }, { 0, 0, 0, 1 } } };
  g_autoptr (PulmoLabelTable) table = pulmo_label_table_new_default ();

  printf ("pulmo bench render3d: %d×%d×%d label map (LAS, 0.75×0.75×1 mm; lungs and 12 lesions) in a "
          "%d×%d view, turning 3° a frame; median of %d frames per row\n\n",
          NX, NY, NZ, VIEW_WIDTH, VIEW_HEIGHT, n_frames);
  printf ("%-12s %12s %9s %9s %10s %8s %11s %12s\n", "mode", "grid", "build ms", "image", "median ms", "fps",
          "target fps", "grid pass ms");

  const struct { const char *mode; int grid_size, scale; } rows[] = {
    { "rotating", PULMO_VOLUME_INTERACTIVE_GRID, PULMO_VOLUME_INTERACTIVE_SCALE },
    { "still", PULMO_VOLUME_STILL_GRID, 1 },
  };
  g_autofree double *times = g_new (double, n_frames);
  for (size_t r = 0; r < G_N_ELEMENTS (rows); r++)
    {
      double start = pulmo_bench_now_ms ();
      g_autoptr (PulmoVolumeGrid) grid = pulmo_volume_grid_new (labels, dims, &affine, rows[r].grid_size, &error);
      double build_ms = pulmo_bench_now_ms () - start;
      if (grid == NULL)
        {
          fprintf (stderr, "pulmo bench render3d: %s\n", error->message);
          return 1;
        }
      int grid_dims[3];
      pulmo_volume_grid_get_dims (grid, grid_dims);

      PulmoCamera3D camera;
      pulmo_camera_3d_reset (&camera, dims, &affine, VIEW_WIDTH / rows[r].scale, VIEW_HEIGHT / rows[r].scale);
      camera.pitch_deg = 20;
      g_autofree uint32_t *image = g_new (uint32_t, (size_t) camera.width * camera.height);
      for (int f = 0; f < n_frames; f++)
        {
          camera.yaw_deg = 3.0 * f;
          start = pulmo_bench_now_ms ();
          pulmo_volume_render (grid, table, &camera, image, camera.width * 4);
          times[f] = pulmo_bench_now_ms () - start;
        }
      double median_ms = pulmo_bench_upper_median (times, n_frames);
      size_t grid_n = (size_t) grid_dims[0] * grid_dims[1] * grid_dims[2];
      g_autofree char *grid_text = g_strdup_printf ("%d×%d×%d", grid_dims[0], grid_dims[1], grid_dims[2]);
      g_autofree char *image_text = g_strdup_printf ("%d×%d", camera.width, camera.height);
      printf ("%-12s %12s %9.1f %9s %10.2f %8.1f %11d %12.3f\n", rows[r].mode, grid_text, build_ms, image_text,
              median_ms, 1000.0 / median_ms, 20, grid_pass_ms (labels, grid_n));
    }
  printf ("\n“rotating”: what the view draws while the mouse turns it (then scaled up on screen); "
          "“still”: the refined frame drawn in a worker thread when it stops.\n"
          "“fps”: 1000 / median ms, on one core. “build ms”: downsampling the labels after an edit.\n"
          "“grid pass ms”: summing as many bytes as the grid holds, the least a frame that reads it costs.\n");
  return 0;
}
