/* Damaged and hostile files: truncated, bit-flipped, hand-crafted headers and
 * random header mutations. Each must give a GError (or, where the damage cannot
 * touch the voxels, the exact original voxels) — never a crash, a hang or a
 * huge allocation. Run under ASan/UBSan too. */
#include <glib/gstdio.h>
#include <math.h>
#include <nifti1.h>
#include <nifti2.h>
#include <string.h>
#include <zlib.h>

#include "core/pulmo-error.h"
#include "core/pulmo-volume.h"
#include "pulmo-test.h"

typedef struct {
  char *dir;
  int serial;
} Scratch;

static char *
scratch_write (Scratch *scratch, const char *suffix, const void *bytes, size_t size)
{
  char *path = g_strdup_printf ("%s/case-%d%s", scratch->dir, scratch->serial++, suffix);
  g_assert_true (g_file_set_contents (path, bytes, (gssize) size, NULL));
  return path;
}

/* Loads @path expecting failure; returns the error code. */
static int
expect_error (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) volume = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_null (volume);
  g_assert_nonnull (error);
  g_assert_true (error->domain == PULMO_ERROR);
  g_assert_cmpuint (strlen (error->message), >, 10);
  g_assert_nonnull (strstr (error->message, path)); /* every message names the file */
  return error->code;
}

/* A small valid uncompressed NIfTI-1: 4×3×2 int16 with its voxel data. */
static GByteArray *
tiny_nifti (void)
{
  nifti_1_header h;
  memset (&h, 0, sizeof h);
  h.sizeof_hdr = 348;
  h.dim[0] = 3;
  h.dim[1] = 4;
  h.dim[2] = 3;
  h.dim[3] = 2;
  h.dim[4] = h.dim[5] = h.dim[6] = h.dim[7] = 1;
  h.pixdim[0] = 1;
  h.pixdim[1] = h.pixdim[2] = h.pixdim[3] = 1.0f;
  h.datatype = NIFTI_TYPE_INT16;
  h.bitpix = 16;
  h.vox_offset = 352;
  h.scl_slope = 1;
  h.sform_code = 1;
  h.srow_x[0] = h.srow_y[1] = h.srow_z[2] = 1.0f;
  memcpy (h.magic, "n+1", 4);

  GByteArray *bytes = g_byte_array_new ();
  g_byte_array_append (bytes, (const guint8 *) &h, sizeof h);
  g_byte_array_append (bytes, (const guint8 *) "\0\0\0\0", 4);
  for (int v = 0; v < 24; v++)
    {
      int16_t value = (int16_t) (v * 10 - 1000);
      g_byte_array_append (bytes, (const guint8 *) &value, 2);
    }
  return bytes;
}

static void
test_not_nifti (Scratch *scratch, gconstpointer unused)
{
  g_autofree char *empty = scratch_write (scratch, ".nii", "", 0);
  g_autofree char *text = scratch_write (scratch, ".nii", "this is not a CT scan\n", 22);
  g_assert_cmpint (expect_error (empty), ==, PULMO_ERROR_NOT_NIFTI);
  g_assert_cmpint (expect_error (text), ==, PULMO_ERROR_NOT_NIFTI);
  g_assert_cmpint (expect_error (scratch->dir), ==, PULMO_ERROR_NOT_NIFTI);

  g_autofree char *missing = g_build_filename (scratch->dir, "missing.nii.gz", NULL);
  g_assert_cmpint (expect_error (missing), ==, PULMO_ERROR_NOT_FOUND);
}

/* The real CT file cut short at many points, compressed and uncompressed. */
static void
test_truncated (Scratch *scratch, gconstpointer unused)
{
  g_autofree char *path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *compressed = NULL;
  gsize compressed_size = 0;
  g_assert_true (g_file_get_contents (path, &compressed, &compressed_size, NULL));

  const gsize cuts[] = { 1, 10, 100, 347, 400, 5000, compressed_size / 2, compressed_size - 9, compressed_size - 1 };
  for (size_t c = 0; c < G_N_ELEMENTS (cuts); c++)
    {
      g_autofree char *cut = scratch_write (scratch, ".nii.gz", compressed, cuts[c]);
      int code = expect_error (cut);
      g_assert_true (code == PULMO_ERROR_NOT_NIFTI || code == PULMO_ERROR_TRUNCATED || code == PULMO_ERROR_CORRUPT);
    }

  /* Uncompressed: the message says how many slices the file holds. */
  gzFile gz = gzopen (path, "rb");
  const size_t raw_size = 352 + 64 * 64 * 79 * 2;
  g_autofree char *raw = g_malloc (raw_size);
  g_assert_cmpint (gzread (gz, raw, (unsigned) raw_size), ==, (int) raw_size);
  gzclose (gz);
  g_autofree char *half = scratch_write (scratch, ".nii", raw, 352 + 64 * 64 * 2 * 30 + 77);
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) volume = pulmo_volume_load (half, NULL, NULL, &error);
  g_assert_null (volume);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_TRUNCATED);
  g_assert_nonnull (strstr (error->message, "64×64×79"));
  g_assert_nonnull (strstr (error->message, "holds only 30 complete slices"));
}

/* Single flipped bytes in the compressed stream: zlib's CRC catches damage to
 * the voxels; a flip in the gzip header's metadata leaves them intact. */
static void
test_bit_flips (Scratch *scratch, gconstpointer unused)
{
  g_autofree char *path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *bytes = NULL;
  gsize size = 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) original = pulmo_volume_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &bytes, &size, NULL));

  g_autoptr (GRand) rand = g_rand_new_with_seed (20261126);
  int failures = 0;
  for (int flip = 0; flip < 60; flip++)
    {
      gsize offset = flip < 10 ? (gsize) flip : (gsize) g_rand_int_range (rand, 10, (gint32) size);
      guint8 mask = (guint8) (1u << g_rand_int_range (rand, 0, 8));
      bytes[offset] ^= (char) mask;
      g_autofree char *damaged = scratch_write (scratch, ".nii.gz", bytes, size);
      bytes[offset] ^= (char) mask;

      g_autoptr (GError) load_error = NULL;
      g_autoptr (PulmoVolume) volume = pulmo_volume_load (damaged, NULL, NULL, &load_error);
      if (volume == NULL)
        {
          g_assert_true (load_error->domain == PULMO_ERROR);
          failures++;
        }
      else
        g_assert_cmpmem (pulmo_volume_get_int16 (volume), pulmo_volume_get_memory_bytes (volume),
                         pulmo_volume_get_int16 (original), pulmo_volume_get_memory_bytes (original));
    }
  g_assert_cmpint (failures, >=, 45); /* flips past the gzip header must be caught */
}

typedef void (*HeaderEdit) (nifti_1_header *h);

static void edit_ndim_zero (nifti_1_header *h) { h->dim[0] = 0; }
static void edit_ndim_nine (nifti_1_header *h) { h->dim[0] = 9; }
static void edit_negative_dim (nifti_1_header *h) { h->dim[2] = -5; }
static void edit_zero_dim (nifti_1_header *h) { h->dim[1] = 0; }
static void edit_huge_dims (nifti_1_header *h) { h->dim[1] = h->dim[2] = h->dim[3] = 32767; }
static void edit_four_d (nifti_1_header *h) { h->dim[0] = 4; h->dim[4] = 5; }
static void edit_rgb (nifti_1_header *h) { h->datatype = NIFTI_TYPE_RGB24; h->bitpix = 24; }
static void edit_no_datatype (nifti_1_header *h) { h->datatype = 0; }
static void edit_complex (nifti_1_header *h) { h->datatype = NIFTI_TYPE_COMPLEX64; }
static void edit_offset_nan (nifti_1_header *h) { h->vox_offset = NAN; }
static void edit_offset_huge (nifti_1_header *h) { h->vox_offset = 1e30f; }
static void edit_offset_negative (nifti_1_header *h) { h->vox_offset = -352; }
static void edit_offset_past_end (nifti_1_header *h) { h->vox_offset = 100000; }
static void edit_pixdim_nan (nifti_1_header *h) { h->pixdim[2] = NAN; }
static void edit_claims_big (nifti_1_header *h) { h->dim[1] = 512; h->dim[2] = 512; h->dim[3] = 400; }
static void edit_sizeof_hdr (nifti_1_header *h) { h->sizeof_hdr = 349; }
static void edit_nifti2_size (nifti_1_header *h) { h->sizeof_hdr = 540; }

static void
test_hostile_headers (Scratch *scratch, gconstpointer unused)
{
  static const struct {
    HeaderEdit edit;
    int code;
  } cases[] = {
    { edit_ndim_zero, PULMO_ERROR_CORRUPT },       { edit_ndim_nine, PULMO_ERROR_CORRUPT },
    { edit_negative_dim, PULMO_ERROR_CORRUPT },    { edit_zero_dim, PULMO_ERROR_CORRUPT },
    { edit_huge_dims, PULMO_ERROR_TOO_LARGE },     { edit_four_d, PULMO_ERROR_UNSUPPORTED },
    { edit_rgb, PULMO_ERROR_UNSUPPORTED },         { edit_no_datatype, PULMO_ERROR_UNSUPPORTED },
    { edit_complex, PULMO_ERROR_UNSUPPORTED },     { edit_offset_nan, PULMO_ERROR_CORRUPT },
    { edit_offset_huge, PULMO_ERROR_CORRUPT },     { edit_offset_negative, PULMO_ERROR_CORRUPT },
    { edit_offset_past_end, PULMO_ERROR_TRUNCATED }, { edit_pixdim_nan, PULMO_ERROR_CORRUPT },
    { edit_claims_big, PULMO_ERROR_TRUNCATED },    { edit_sizeof_hdr, PULMO_ERROR_NOT_NIFTI },
    { edit_nifti2_size, PULMO_ERROR_NOT_NIFTI },
  };
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (GByteArray) bytes = tiny_nifti ();
      cases[c].edit ((nifti_1_header *) (void *) bytes->data);
      g_autofree char *plain = scratch_write (scratch, ".nii", bytes->data, bytes->len);
      g_test_message ("hostile header case %zu", c);
      g_assert_cmpint (expect_error (plain), ==, cases[c].code);
    }

  /* A compressed file of a few hundred bytes claiming 1024³ voxels is refused
   * before anything is allocated for them. */
  g_autoptr (GByteArray) bytes = tiny_nifti ();
  nifti_1_header *h = (nifti_1_header *) (void *) bytes->data;
  h->dim[1] = h->dim[2] = h->dim[3] = 1024;
  g_autofree char *path = g_strdup_printf ("%s/bomb.nii.gz", scratch->dir);
  gzFile gz = gzopen (path, "wb");
  gzwrite (gz, bytes->data, bytes->len);
  g_assert_cmpint (gzclose (gz), ==, Z_OK);
  g_assert_cmpint (expect_error (path), ==, PULMO_ERROR_TRUNCATED);
}

static void
test_hostile_nifti2 (Scratch *scratch, gconstpointer unused)
{
  nifti_2_header h;
  memset (&h, 0, sizeof h);
  h.sizeof_hdr = 540;
  memcpy (h.magic, "n+2\0\r\n\032\n", 8);
  h.dim[0] = 3;
  h.dim[1] = (int64_t) 1 << 40; /* would overflow any size computed from it */
  h.dim[2] = (int64_t) 1 << 40;
  h.dim[3] = 3;
  h.pixdim[1] = h.pixdim[2] = h.pixdim[3] = 1;
  h.datatype = NIFTI_TYPE_INT16;
  h.vox_offset = 544;
  g_autofree char *path = scratch_write (scratch, ".nii", &h, sizeof h);
  g_assert_cmpint (expect_error (path), ==, PULMO_ERROR_TOO_LARGE);

  h.dim[1] = -3;
  g_autofree char *negative = scratch_write (scratch, ".nii", &h, sizeof h);
  g_assert_cmpint (expect_error (negative), ==, PULMO_ERROR_CORRUPT);

  /* Claims NIfTI-2 but is cut inside the 540-byte header. */
  g_autofree char *short_file = scratch_write (scratch, ".nii", &h, 400);
  g_assert_cmpint (expect_error (short_file), ==, PULMO_ERROR_NOT_NIFTI);
}

/* Random mutations of the header bytes: whatever comes of them, loading ends in
 * a volume or a GError. */
static void
test_header_fuzz (Scratch *scratch, gconstpointer unused)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (348);
  int loaded = 0;
  for (int round = 0; round < 3000; round++)
    {
      g_autoptr (GByteArray) bytes = tiny_nifti ();
      int n_edits = g_rand_int_range (rand, 1, 5);
      for (int e = 0; e < n_edits; e++)
        bytes->data[g_rand_int_range (rand, 0, 352)] = (guint8) g_rand_int_range (rand, 0, 256);
      g_autofree char *path = g_strdup_printf ("%s/fuzz.nii", scratch->dir);
      g_assert_true (g_file_set_contents (path, (const char *) bytes->data, bytes->len, NULL));

      g_autoptr (GError) error = NULL;
      g_autoptr (PulmoVolume) volume = pulmo_volume_load (path, NULL, NULL, &error);
      g_assert_true ((volume == NULL) != (error == NULL));
      if (volume != NULL)
        {
          int dims[3];
          pulmo_volume_get_dims (volume, dims);
          g_assert_cmpuint ((size_t) dims[0] * dims[1] * dims[2], <=, 24 * 4);
          loaded++;
        }
    }
  g_test_message ("%d of 3000 mutated headers still loaded", loaded);
}

static void
scratch_setup (Scratch *scratch, gconstpointer unused)
{
  scratch->dir = g_dir_make_tmp ("pulmo-hostile-XXXXXX", NULL);
  scratch->serial = 0;
}

static void
scratch_teardown (Scratch *scratch, gconstpointer unused)
{
  g_autoptr (GDir) dir = g_dir_open (scratch->dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (scratch->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (scratch->dir);
  g_free (scratch->dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, func) g_test_add (name, Scratch, NULL, scratch_setup, func, scratch_teardown)
  ADD ("/hostile/not-nifti", test_not_nifti);
  ADD ("/hostile/truncated", test_truncated);
  ADD ("/hostile/bit-flips", test_bit_flips);
  ADD ("/hostile/headers", test_hostile_headers);
  ADD ("/hostile/nifti2", test_hostile_nifti2);
  ADD ("/hostile/header-fuzz", test_header_fuzz);
#undef ADD
  return g_test_run ();
}
