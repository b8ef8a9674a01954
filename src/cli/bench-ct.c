/* bench-ct.c: the large CT that benchmarks load and segment, made on the spot:
 * COVID-CT-MD P001 (512×512×148, shared data) stretched to the slices asked
 * for by linear interpolation when it is there, so the file compresses and
 * segments like a real CT; otherwise a synthetic chest phantom. */
#include "cli/pulmo-cli.h"

#include <math.h>
#include <stdio.h>

#include "core/pulmo-volume.h"
#include "pulmo-config.h"

#define BENCH_NX 512
#define BENCH_NY 512

static int16_t *
stretch_source (PulmoVolume *source, int n_slices, PulmoAffine *affine)
{
  int dims[3];
  pulmo_volume_get_dims (source, dims);
  const int16_t *hu = pulmo_volume_get_int16 (source);
  size_t plane = (size_t) BENCH_NX * BENCH_NY;
  int16_t *out = g_new (int16_t, plane * n_slices);

  for (int k = 0; k < n_slices; k++)
    {
      double z = k * (dims[2] - 1.0) / (n_slices - 1.0);
      int k0 = (int) floor (z), k1 = MIN (k0 + 1, dims[2] - 1);
      double t = z - k0;
      const int16_t *a = hu + (size_t) k0 * plane, *b = hu + (size_t) k1 * plane;
      for (size_t v = 0; v < plane; v++)
        out[(size_t) k * plane + v] = (int16_t) lround ((1.0 - t) * a[v] + t * b[v]);
    }
  *affine = *pulmo_volume_get_affine (source);
  for (int r = 0; r < 3; r++)
    affine->m[r][2] *= (dims[2] - 1.0) / (n_slices - 1.0);
  return out;
}

/* A chest-like phantom: air outside, soft-tissue body, two lungs with noise. */
static int16_t *
make_phantom (int n_slices, PulmoAffine *affine)
{
  size_t plane = (size_t) BENCH_NX * BENCH_NY;
  int16_t *out = g_new (int16_t, plane * n_slices);
  g_autoptr (GRand) rand = g_rand_new_with_seed (400);
  for (int k = 0; k < n_slices; k++)
    for (int j = 0; j < BENCH_NY; j++)
      for (int i = 0; i < BENCH_NX; i++)
        {
          double x = (i - 256.0) / 200.0, y = (j - 256.0) / 150.0;
          double lx = (fabs (x) - 0.45) / 0.3, ly = y / 0.7;
          int value = -1000;
          if (x * x + y * y < 1.0)
            value = lx * lx + ly * ly < 1.0 ? -850 : 40;
          value += g_rand_int_range (rand, -20, 21);
          out[(size_t) k * plane + (size_t) j * BENCH_NX + i] = (int16_t) value;
        }
  double spacing[3] = { 0.7, 0.7, 1.0 };
  pulmo_affine_from_spacing (affine, spacing);
  return out;
}

PulmoVolume *
pulmo_bench_make_volume (int n_slices)
{
  g_autofree char *source_path = g_build_filename (PULMO_SOURCE_DIR, "..", "shared", "data",
                                                   "covid-ct-md", "P001.nii.gz", NULL);
  g_autoptr (PulmoVolume) source = NULL;
  int dims[3] = { 0, 0, 0 };
  PulmoAffine affine;
  int16_t *hu;

  if (g_file_test (source_path, G_FILE_TEST_EXISTS))
    source = pulmo_volume_load (source_path, NULL, NULL, NULL);
  if (source != NULL)
    pulmo_volume_get_dims (source, dims);
  if (source != NULL && dims[0] == BENCH_NX && dims[1] == BENCH_NY
      && pulmo_volume_get_voxel_type (source) == PULMO_VOXEL_INT16)
    {
      printf ("Making the benchmark CT from %s, stretched to %d slices…\n", source_path, n_slices);
      hu = stretch_source (source, n_slices, &affine);
    }
  else
    {
      printf ("Making a synthetic benchmark CT (COVID-CT-MD P001 not found)…\n");
      hu = make_phantom (n_slices, &affine);
    }
  fflush (stdout);

  const int bench_dims[3] = { BENCH_NX, BENCH_NY, n_slices };
  return pulmo_volume_new_int16 (bench_dims, &affine, hu);
}

char *
pulmo_bench_make_ct (const char *folder, int n_slices, GError **error)
{
  g_autoptr (PulmoVolume) volume = pulmo_bench_make_volume (n_slices);
  g_autofree char *name = g_strdup_printf ("bench-%dx%dx%d.nii.gz", BENCH_NX, BENCH_NY, n_slices);
  char *path = g_build_filename (folder, name, NULL);
  if (!pulmo_volume_save (volume, path, error))
    g_clear_pointer (&path, g_free);
  return path;
}
