/* Slice sweeps of a real CT (CIP ct-64, LPS, 4.17 × 4.17 × 3.99 mm): the APNG's
 * chunks (acTL frame count, one fcTL per frame with its size and delay, chunk
 * sequence numbers, CRCs, frames that inflate to the frame's bytes) and the
 * numbered PNG series; bad requests fail with an error and leave no file. */
#include <zlib.h>

#include "core/pulmo-error.h"
#include "pulmo-test.h"
#include "render/sweep-export.h"

typedef struct {
  char type[5];
  const uint8_t *data;
  guint32 length;
} Chunk;

static guint32
be32 (const uint8_t *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* The file's chunks, each CRC checked. */
static GArray *
read_chunks (const uint8_t *bytes, gsize size)
{
  static const uint8_t signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_assert_cmpuint (size, >, 8);
  g_assert_cmpmem (bytes, 8, signature, 8);
  GArray *chunks = g_array_new (FALSE, TRUE, sizeof (Chunk));
  for (gsize at = 8; at < size;)
    {
      g_assert_cmpuint (at + 12, <=, size);
      Chunk chunk = { .length = be32 (bytes + at), .data = bytes + at + 8 };
      memcpy (chunk.type, bytes + at + 4, 4);
      g_assert_cmpuint (at + 12 + chunk.length, <=, size);
      g_assert_cmpuint (crc32 (0, bytes + at + 4, chunk.length + 4), ==, be32 (bytes + at + 8 + chunk.length));
      g_array_append_val (chunks, chunk);
      at += 12 + chunk.length;
    }
  g_assert_cmpstr (g_array_index (chunks, Chunk, 0).type, ==, "IHDR");
  g_assert_cmpstr (g_array_index (chunks, Chunk, chunks->len - 1).type, ==, "IEND");
  return chunks;
}

static void
assert_inflates_to (const uint8_t *data, guint32 length, uLongf expected)
{
  g_autofree uint8_t *raw = g_malloc (expected + 1);
  uLongf raw_bytes = expected + 1;
  g_assert_cmpint (uncompress (raw, &raw_bytes, data, length), ==, Z_OK);
  g_assert_cmpuint (raw_bytes, ==, expected);
}

static PulmoSweepOptions
ct64_options (PulmoSweepFormat format)
{
  return (PulmoSweepOptions) {
    .view = PULMO_VIEW_CORONAL,
    .render = { .window = 1500, .level = -600, .slab_mode = PULMO_SLAB_MIN, .slab_mm = 12 },
    .first = -1, .last = -1, .fps = 10, .format = format,
  };
}

static void
test_apng (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *dir = g_dir_make_tmp ("pulmo-sweep-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "coronal.png", NULL);
  PulmoSweepOptions options = ct64_options (PULMO_SWEEP_APNG);
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_sweep_export (ct, &options, path, &error));
  g_assert_no_error (error);

  /* Coronal: 64 voxels of 4.17 mm across, 79 slices of 3.99 mm down, at one pixel per 4.17 mm. */
  const int width = 64, height = 76, n_frames = 64;
  int frame_width, frame_height;
  pulmo_sweep_frame_size (ct, &options, &frame_width, &frame_height);
  g_assert_cmpint (frame_width, ==, width);
  g_assert_cmpint (frame_height, ==, height);

  gsize size;
  g_autofree uint8_t *bytes = (uint8_t *) pulmo_test_read_file (path, &size);
  g_autoptr (GArray) chunks = read_chunks (bytes, size);
  const Chunk *ihdr = &g_array_index (chunks, Chunk, 0);
  g_assert_cmpuint (be32 (ihdr->data), ==, width);
  g_assert_cmpuint (be32 (ihdr->data + 4), ==, height);
  int n_actl = 0, n_fctl = 0, n_idat = 0, n_fdat = 0;
  guint32 sequence = 0;
  for (guint c = 1; c < chunks->len; c++)
    {
      const Chunk *chunk = &g_array_index (chunks, Chunk, c);
      if (strcmp (chunk->type, "acTL") == 0)
        {
          g_assert_cmpint (n_fctl, ==, 0); /* before any frame */
          g_assert_cmpuint (be32 (chunk->data), ==, n_frames);
          g_assert_cmpuint (be32 (chunk->data + 4), ==, 0); /* loops */
          n_actl++;
        }
      else if (strcmp (chunk->type, "fcTL") == 0)
        {
          g_assert_cmpuint (chunk->length, ==, 26);
          g_assert_cmpuint (be32 (chunk->data), ==, sequence++);
          g_assert_cmpuint (be32 (chunk->data + 4), ==, width);
          g_assert_cmpuint (be32 (chunk->data + 8), ==, height);
          g_assert_cmpuint (be32 (chunk->data + 12), ==, 0);
          g_assert_cmpuint (be32 (chunk->data + 16), ==, 0);
          g_assert_cmpuint (chunk->data[20] << 8 | chunk->data[21], ==, 10); /* 10/100 s at 10 fps */
          g_assert_cmpuint (chunk->data[22] << 8 | chunk->data[23], ==, 100);
          n_fctl++;
        }
      else if (strcmp (chunk->type, "IDAT") == 0)
        {
          g_assert_cmpint (n_fctl, ==, 1);
          assert_inflates_to (chunk->data, chunk->length, (uLongf) height * (1 + width * 3));
          n_idat++;
        }
      else if (strcmp (chunk->type, "fdAT") == 0)
        {
          g_assert_cmpuint (be32 (chunk->data), ==, sequence++);
          assert_inflates_to (chunk->data + 4, chunk->length - 4, (uLongf) height * (1 + width * 3));
          n_fdat++;
        }
    }
  g_assert_cmpint (n_actl, ==, 1);
  g_assert_cmpint (n_fctl, ==, n_frames);
  g_assert_cmpint (n_idat, ==, 1);
  g_assert_cmpint (n_fdat, ==, n_frames - 1);

  /* Slices 11 to 20 alone: ten frames. */
  options.first = 10;
  options.last = 19;
  g_assert_true (pulmo_sweep_export (ct, &options, path, &error));
  g_autofree uint8_t *part = (uint8_t *) pulmo_test_read_file (path, &size);
  g_autoptr (GArray) part_chunks = read_chunks (part, size);
  g_assert_cmpuint (be32 (g_array_index (part_chunks, Chunk, 1).data), ==, 10);
  pulmo_test_remove_tree (dir);
}

static void
test_png_series (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *dir = g_dir_make_tmp ("pulmo-sweep-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "axial.png", NULL);
  PulmoSweepOptions options = ct64_options (PULMO_SWEEP_PNG_SERIES);
  options.view = PULMO_VIEW_AXIAL;
  options.pixels_per_mm = 0.5; /* 64 × 4.17 mm → 133 pixels */
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_sweep_export (ct, &options, path, &error));
  g_assert_no_error (error);
  for (int index = 0; index < 79; index++)
    {
      g_autofree char *frame = pulmo_sweep_series_path (path, index);
      gsize size;
      g_autofree uint8_t *bytes = (uint8_t *) pulmo_test_read_file (frame, &size);
      g_autoptr (GArray) chunks = read_chunks (bytes, size);
      g_assert_cmpuint (chunks->len, ==, 3); /* IHDR, IDAT, IEND: a plain PNG */
      g_assert_cmpuint (be32 (g_array_index (chunks, Chunk, 0).data), ==, 133);
      g_assert_cmpuint (be32 (g_array_index (chunks, Chunk, 0).data + 4), ==, 133);
    }
  g_autofree char *first = pulmo_sweep_series_path (path, 0);
  g_assert_true (g_str_has_suffix (first, "axial-001.png"));
  g_autofree char *beyond = pulmo_sweep_series_path (path, 79);
  g_assert_false (g_file_test (beyond, G_FILE_TEST_EXISTS));
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  int n_files = 0;
  while (g_dir_read_name (listing) != NULL)
    n_files++;
  g_assert_cmpint (n_files, ==, 79);
  pulmo_test_remove_tree (dir);
}

static void
test_errors (void)
{
  g_autoptr (PulmoVolume) ct = pulmo_test_load_ct ("cip-chest-ct/ct-64.nii.gz");
  g_autofree char *dir = g_dir_make_tmp ("pulmo-sweep-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "sweep.png", NULL);
  PulmoSweepOptions options = ct64_options (PULMO_SWEEP_APNG);
  g_autoptr (GError) error = NULL;
  options.first = 70; /* coronal has 64 slices */
  g_assert_false (pulmo_sweep_export (ct, &options, path, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_INVALID);
  g_clear_error (&error);
  options.first = -1;
  options.fps = 0;
  g_assert_false (pulmo_sweep_export (ct, &options, path, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_INVALID);
  g_clear_error (&error);
  options.fps = 10;
  options.pixels_per_mm = 1000; /* 267,000 pixels across */
  g_assert_false (pulmo_sweep_export (ct, &options, path, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE);
  g_clear_error (&error);
  options.pixels_per_mm = 0;
  g_autofree char *missing = g_build_filename (dir, "no-such-folder", "sweep.png", NULL);
  g_assert_false (pulmo_sweep_export (ct, &options, missing, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_IO);
  /* Nothing was left behind, not even the temporary file. */
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  g_assert_null (g_dir_read_name (listing));
  pulmo_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sweep/apng", test_apng);
  g_test_add_func ("/sweep/png-series", test_png_series);
  g_test_add_func ("/sweep/errors", test_errors);
  return g_test_run ();
}
