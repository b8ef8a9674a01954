/* Headers that lie: copies of a real CT (ct-64, NIfTI-1, int16, LPS) with
 * header fields rewritten. Each is refused with a clear error, or opens with
 * the right voxels and a warning that says what could not be trusted. */
#include <glib/gstdio.h>
#include <locale.h>
#include <math.h>
#include <string.h>
#include <zlib.h>

#include "core/pulmo-error.h"
#include "core/pulmo-volume.h"
#include "pulmo-test.h"

/* Byte offsets in the NIfTI-1 header. */
#define OFFSET_PIXDIM1 80
#define OFFSET_VOX_OFFSET 108
#define OFFSET_SCL_SLOPE 112
#define OFFSET_QFORM_CODE 252
#define OFFSET_SROW_X 280
#define OFFSET_MAGIC 344

typedef struct {
  char *dir;
  guint8 *bytes; /* ct-64 decompressed: header, extension gap, voxels */
  size_t size;
  PulmoVolume *reference;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  f->reference = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  gzFile gz = gzopen (path, "rb");
  g_assert_nonnull (gz);
  size_t capacity = 1 << 20;
  f->bytes = g_malloc (capacity);
  int got;
  while ((got = gzread (gz, f->bytes + f->size, (unsigned) (capacity - f->size))) > 0)
    {
      f->size += (size_t) got;
      if (f->size == capacity)
        f->bytes = g_realloc (f->bytes, capacity *= 2);
    }
  gzclose (gz);
  g_assert_cmpuint (f->size, ==, 352 + pulmo_volume_get_n_voxels (f->reference) * 2);
  f->dir = g_dir_make_tmp ("pulmo-lying-XXXXXX", NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  pulmo_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->bytes);
  pulmo_volume_unref (f->reference);
}

static void
set_float (Fixture *f, size_t offset, float value)
{
  memcpy (f->bytes + offset, &value, sizeof value);
}

static char *
write_copy (Fixture *f, const char *name, size_t from, size_t n)
{
  char *path = g_build_filename (f->dir, name, NULL);
  g_assert_true (g_file_set_contents (path, (const char *) f->bytes + from, (gssize) n, NULL));
  return path;
}

static void
assert_voxels_are_ct64 (Fixture *f, PulmoVolume *volume)
{
  g_assert_cmpint (pulmo_volume_get_voxel_type (volume), ==, PULMO_VOXEL_INT16);
  g_assert_cmpmem (pulmo_volume_get_int16 (volume), pulmo_volume_get_n_voxels (volume) * 2,
                   pulmo_volume_get_int16 (f->reference), pulmo_volume_get_n_voxels (f->reference) * 2);
  /* A known voxel: air outside the body in the first corner. */
  g_assert_cmpfloat (pulmo_volume_get_value (volume, 0, 0, 0), ==,
                     pulmo_volume_get_value (f->reference, 0, 0, 0));
}

static void
test_nii_without_magic (Fixture *f, gconstpointer data)
{
  memset (f->bytes + OFFSET_MAGIC, 0, 4);
  g_autofree char *path = write_copy (f, "no-magic.nii", 0, f->size);
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) volume = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_null (volume);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_NOT_NIFTI);
  g_assert_nonnull (strstr (error->message, "lacks the NIfTI magic"));
}

static void
test_analyze_pair (Fixture *f, gconstpointer data)
{
  memset (f->bytes + OFFSET_MAGIC, 0, 4);
  set_float (f, OFFSET_VOX_OFFSET, 0);
  g_autofree char *hdr = write_copy (f, "scan.hdr", 0, 348);
  g_free (write_copy (f, "scan.img", 352, f->size - 352));
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) volume = pulmo_volume_load (hdr, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_voxels_are_ct64 (f, volume);
  g_assert_nonnull (pulmo_volume_get_warning (volume));
  g_assert_nonnull (strstr (pulmo_volume_get_warning (volume), "left and right may be swapped"));
  /* Its orientation code is an assumption, and says so; the NIfTI file it came from gives one. */
  g_assert_false (pulmo_volume_orientation_known (volume));
  g_autoptr (PulmoVolume) original = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_assert_true (pulmo_volume_orientation_known (original));
}

static void
test_nan_scaling (Fixture *f, gconstpointer data)
{
  set_float (f, OFFSET_SCL_SLOPE, NAN);
  g_autofree char *path = write_copy (f, "nan-slope.nii", 0, f->size);
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) volume = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_voxels_are_ct64 (f, volume);
  g_assert_nonnull (pulmo_volume_get_warning (volume));
  g_assert_nonnull (strstr (pulmo_volume_get_warning (volume), "stored values are shown unscaled"));
}

static void
test_infinite_affine (Fixture *f, gconstpointer data)
{
  set_float (f, OFFSET_SROW_X, INFINITY);
  memset (f->bytes + OFFSET_QFORM_CODE, 0, 2); /* no qform to fall back on */
  g_autofree char *path = write_copy (f, "nan-affine.nii", 0, f->size);
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) volume = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_voxels_are_ct64 (f, volume);
  g_assert_nonnull (pulmo_volume_get_warning (volume));
  g_assert_nonnull (strstr (pulmo_volume_get_warning (volume), "orientation matrix is not usable"));
  /* The fallback: pixdim's spacing in voxel order. */
  g_assert_cmpfloat_with_epsilon (pulmo_volume_get_affine (volume)->m[0][0], 4.171872, 1e-5);
}

static void
test_nan_spacing (Fixture *f, gconstpointer data)
{
  set_float (f, OFFSET_PIXDIM1, NAN);
  g_autofree char *path = write_copy (f, "nan-spacing.nii", 0, f->size);
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) volume = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_null (volume);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "voxel spacing nan along axis 1"));
}

static void
test_sound_header_has_no_warning (Fixture *f, gconstpointer data)
{
  g_assert_null (pulmo_volume_get_warning (f->reference));
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add ("/lying-headers/" name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("nii-without-magic", test_nii_without_magic);
  ADD ("analyze-pair", test_analyze_pair);
  ADD ("nan-scaling", test_nan_scaling);
  ADD ("infinite-affine", test_infinite_affine);
  ADD ("nan-spacing", test_nan_spacing);
  ADD ("sound-header", test_sound_header_has_no_warning);
  return g_test_run ();
}
