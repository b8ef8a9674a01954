/* safetensors: the shipped model goes to safetensors and back to exactly the
 * same model file bytes; damaged or foreign files are refused with a message,
 * never a crash. */
#include <string.h>

#include "core/pulmo-error.h"
#include "nn/safetensors.h"

typedef struct {
  char *model_bytes;
  gsize model_size;
  GBytes *tensors;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (g_getenv ("PULMO_SOURCE_DIR"), "data", "models",
                                            "pulmo-lung-lesion.pulmonet", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &f->model_bytes, &f->model_size, &error));
  g_auto (PulmoModelInfo) info = { 0 };
  g_autoptr (PulmoUNet) net = pulmo_weights_load_bytes ((guint8 *) f->model_bytes, f->model_size, "shipped",
                                                        &info, &error);
  g_assert_no_error (error);
  f->tensors = pulmo_safetensors_from_unet (net, &info, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_free (f->model_bytes);
  g_bytes_unref (f->tensors);
}

static void
test_round_trip (Fixture *f, gconstpointer data)
{
  gsize size;
  const guint8 *bytes = g_bytes_get_data (f->tensors, &size);
  /* The header: a little-endian size, then JSON with PyTorch's names. */
  guint64 header_size = 0;
  for (int b = 0; b < 8; b++)
    header_size |= (guint64) bytes[b] << (8 * b);
  g_assert_cmpuint (header_size % 8, ==, 0);
  g_autofree char *header = g_strndup ((const char *) bytes + 8, header_size);
  g_assert_nonnull (strstr (header, "\"enc0.conv1.weight\":{\"dtype\":\"F32\",\"shape\":[16,1,3,3]"));
  g_assert_nonnull (strstr (header, "\"dec0.up.weight\""));
  g_assert_nonnull (strstr (header, "\"clahe_clip\":\"7\""));

  g_autoptr (GError) error = NULL;
  g_auto (PulmoModelInfo) info = { 0 };
  g_autoptr (PulmoUNet) net = pulmo_safetensors_to_unet (bytes, size, "round trip", &info, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) again = pulmo_weights_to_bytes (net, &info, &error);
  g_assert_no_error (error);
  gsize again_size;
  const guint8 *again_bytes = g_bytes_get_data (again, &again_size);
  g_assert_cmpmem (again_bytes, again_size, f->model_bytes, f->model_size);
}

/* Edits the exported bytes' header text: replaces @from by @to (same length or
 * not; the size field is rewritten), and expects an error containing @expect. */
static void
expect_refused_edit (Fixture *f, const char *from, const char *to, const char *expect)
{
  gsize size;
  const guint8 *bytes = g_bytes_get_data (f->tensors, &size);
  guint64 header_size = 0;
  for (int b = 0; b < 8; b++)
    header_size |= (guint64) bytes[b] << (8 * b);
  g_autofree char *header = g_strndup ((const char *) bytes + 8, header_size);
  char *at = strstr (header, from);
  g_assert_nonnull (at);
  g_autofree char *edited = g_strdup_printf ("%.*s%s%s", (int) (at - header), header, to, at + strlen (from));
  GByteArray *file = g_byte_array_new ();
  guint64 new_size = strlen (edited);
  for (int b = 0; b < 8; b++)
    {
      guint8 byte = (guint8) (new_size >> (8 * b));
      g_byte_array_append (file, &byte, 1);
    }
  g_byte_array_append (file, (const guint8 *) edited, (guint) new_size);
  g_byte_array_append (file, bytes + 8 + header_size, (guint) (size - 8 - header_size));

  g_autoptr (GError) error = NULL;
  g_auto (PulmoModelInfo) info = { 0 };
  g_autoptr (PulmoUNet) net = pulmo_safetensors_to_unet (file->data, file->len, "edited", &info, &error);
  g_assert_null (net);
  g_assert_true (error->domain == PULMO_ERROR);
  g_test_message ("%s → %s", to, error->message);
  g_assert_nonnull (strstr (error->message, expect));
  g_byte_array_unref (file);
}

static void
test_refused (Fixture *f, gconstpointer data)
{
  expect_refused_edit (f, "\"dtype\":\"F32\"", "\"dtype\":\"F16\"", "Pulmo reads F32");
  expect_refused_edit (f, "\"shape\":[16,1,3,3]", "\"shape\":[16,1,3,4]", "shape");
  expect_refused_edit (f, "\"enc0.conv1.weight\"", "\"enc0.conv9.weight\"", "not part of this architecture");
  expect_refused_edit (f, "\"format\":\"pulmonet\"", "\"format\":\"other\"", "not “pulmonet”");
  expect_refused_edit (f, "\"depth\":\"4\"", "\"depth\":\"40\"", "architecture");
  expect_refused_edit (f, "\"__metadata__\"", "\"__metadata_x\"", "__metadata__");
  expect_refused_edit (f, "\"data_offsets\":[0,", "\"data_offsets\":[4,", "data_offsets");
  expect_refused_edit (f, "{", "[", "JSON object");
}

/* Cut at many lengths, and with a size field claiming too much: always an error. */
static void
test_truncated (Fixture *f, gconstpointer data)
{
  gsize size;
  const guint8 *bytes = g_bytes_get_data (f->tensors, &size);
  for (gsize cut = 0; cut < size; cut += 1 + cut / 3)
    {
      g_autoptr (GError) error = NULL;
      g_auto (PulmoModelInfo) info = { 0 };
      g_autoptr (PulmoUNet) net = pulmo_safetensors_to_unet (bytes, cut, "cut", &info, &error);
      g_assert_null (net);
      g_assert_nonnull (error);
    }
  g_autofree guint8 *huge = g_memdup2 (bytes, size);
  memset (huge, 0xff, 8);
  g_autoptr (GError) error = NULL;
  g_auto (PulmoModelInfo) info = { 0 };
  g_autoptr (PulmoUNet) net = pulmo_safetensors_to_unet (huge, size, "huge", &info, &error);
  g_assert_null (net);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_CORRUPT);

  /* A NaN in the tensors. */
  g_autofree guint8 *nan = g_memdup2 (bytes, size);
  const guint32 quiet_nan = GUINT32_TO_LE (0x7fc00000);
  memcpy (nan + size - 4, &quiet_nan, 4);
  g_clear_error (&error);
  g_autoptr (PulmoUNet) nan_net = pulmo_safetensors_to_unet (nan, size, "nan", &info, &error);
  g_assert_null (nan_net);
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_CORRUPT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/safetensors/round-trip", Fixture, NULL, fixture_set_up, test_round_trip, fixture_tear_down);
  g_test_add ("/safetensors/refused", Fixture, NULL, fixture_set_up, test_refused, fixture_tear_down);
  g_test_add ("/safetensors/truncated", Fixture, NULL, fixture_set_up, test_truncated, fixture_tear_down);
  return g_test_run ();
}
