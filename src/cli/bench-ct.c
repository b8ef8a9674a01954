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

gboolean
pulmo_bench_find_lung_seed (PulmoVolume *ct, int seed[3])
{
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  int k = dims[2] / 2, j = dims[1] / 2;
  for (int i = dims[0] / 2; i >= 0; i--)
    if (pulmo_volume_get_value (ct, i, j, k) < -600.0)
      {
        seed[0] = i, seed[1] = j, seed[2] = k;
        return TRUE;
      }
  return FALSE;
}

/* Linear interpolation of @a and @b at @t in 0..1, in whole HU. */
static int16_t
mix (int a, int b, double t)
{
  return (int16_t) lround (a + t * (b - a));
}

char *
pulmo_bench_make_big_ct (const char *folder, const int dims[3], GError **error)
{
  g_autofree char *source_path = g_build_filename (PULMO_SOURCE_DIR, "..", "shared", "data",
                                                   "covid-ct-md", "P001.nii.gz", NULL);
  g_autoptr (PulmoVolume) source = pulmo_volume_load (source_path, NULL, NULL, error);
  if (source == NULL)
    return NULL;
  int from[3];
  pulmo_volume_get_dims (source, from);
  const int16_t *hu = pulmo_volume_get_int16 (source);
  printf ("Making a %d×%d×%d CT from %s by trilinear interpolation…\n", dims[0], dims[1], dims[2], source_path);
  fflush (stdout);

  /* Voxel centres of the new grid at these positions of the source's. */
  double scale[3];
  for (int a = 0; a < 3; a++)
    scale[a] = a < 2 ? (double) from[a] / dims[a] : (from[2] - 1.0) / (dims[2] - 1.0);
  int16_t *out = g_new (int16_t, (size_t) dims[0] * dims[1] * dims[2]);
  g_autofree int16_t *plane = g_new (int16_t, (size_t) from[0] * from[1]);
  size_t plane_in = (size_t) from[0] * from[1];
  for (int k = 0; k < dims[2]; k++)
    {
      double z = k * scale[2];
      int k0 = MIN ((int) z, from[2] - 1), k1 = MIN (k0 + 1, from[2] - 1);
      for (size_t v = 0; v < plane_in; v++)
        plane[v] = mix (hu[k0 * plane_in + v], hu[k1 * plane_in + v], z - k0);
      for (int j = 0; j < dims[1]; j++)
        {
          double y = CLAMP ((j + 0.5) * scale[1] - 0.5, 0.0, from[1] - 1.0);
          int j0 = (int) y, j1 = MIN (j0 + 1, from[1] - 1);
          int16_t *row = out + ((size_t) k * dims[1] + j) * dims[0];
          for (int i = 0; i < dims[0]; i++)
            {
              double x = CLAMP ((i + 0.5) * scale[0] - 0.5, 0.0, from[0] - 1.0);
              int i0 = (int) x, i1 = MIN (i0 + 1, from[0] - 1);
              int top = mix (plane[j0 * from[0] + i0], plane[j0 * from[0] + i1], x - i0);
              int bottom = mix (plane[j1 * from[0] + i0], plane[j1 * from[0] + i1], x - i0);
              row[i] = mix (top, bottom, y - j0);
            }
        }
    }

  PulmoAffine affine = *pulmo_volume_get_affine (source);
  for (int r = 0; r < 3; r++)
    {
      affine.m[r][3] += (0.5 * scale[0] - 0.5) * affine.m[r][0] + (0.5 * scale[1] - 0.5) * affine.m[r][1];
      for (int a = 0; a < 3; a++)
        affine.m[r][a] *= scale[a];
    }
  g_autoptr (PulmoVolume) volume = pulmo_volume_new_int16 (dims, &affine, out);
  g_autofree char *name = g_strdup_printf ("bench-%dx%dx%d.nii", dims[0], dims[1], dims[2]);
  char *path = g_build_filename (folder, name, NULL);
  if (!pulmo_volume_save (volume, path, error))
    g_clear_pointer (&path, g_free);
  return path;
}
