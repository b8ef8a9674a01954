/* The route to a GPU cluster, run here on the CPU with Debian's python3-torch:
 * `pulmo samples` on two real covid-2d-train cases, `pulmo model export`,
 * tools/train_pytorch.py for three steps, `pulmo model import`; then Pulmo's
 * engine, on the same input slices, gives the classes PyTorch gave. */
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nn/weights.h"
#include "pulmo-test.h"

static void
run (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (process, NULL, &error));
  g_assert_no_error (error);
}

/* A .npy file's (N, H, W) array of @item_size-byte items: its data and shape. */
static guint8 *
read_npy (const char *path, gsize item_size, int shape[3], char **contents)
{
  gsize length;
  g_assert_true (g_file_get_contents (path, contents, &length, NULL));
  const guint8 *bytes = (const guint8 *) *contents;
  g_assert_cmpmem (bytes, 6, "\x93NUMPY", 6);
  gsize header_len = bytes[8] | bytes[9] << 8, data = 10 + header_len;
  if (bytes[6] >= 2)
    {
      header_len = bytes[8] | bytes[9] << 8 | (gsize) bytes[10] << 16 | (gsize) bytes[11] << 24;
      data = 12 + header_len;
    }
  g_autofree char *header = g_strndup ((const char *) bytes + data - header_len, header_len);
  const char *at = strstr (header, "'shape': (");
  g_assert_nonnull (at);
  g_assert_cmpint (sscanf (at, "'shape': (%d, %d, %d)", &shape[0], &shape[1], &shape[2]), ==, 3);
  g_assert_cmpuint (length, ==, data + (gsize) shape[0] * shape[1] * shape[2] * item_size);
  return (guint8 *) *contents + data;
}

static void
test_route (void)
{
  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    g_error ("/usr/bin/python3 is missing: .ci/install-deps installs python3-torch");
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pulmo-torch-XXXXXX", &error);
  g_assert_no_error (error);

  /* A dataset of two real cases, one of each source. */
  static const char *const cases[] = { "zenodo_coronacases_001", "medseg_001", NULL };
  g_autofree char *dataset = pulmo_test_link_dataset (dir, cases);

  const char *pulmo = g_getenv ("PULMO_BINARY");
  g_autofree char *shipped = g_build_filename (g_getenv ("PULMO_SOURCE_DIR"), "data", "models",
                                               "pulmo-lung-lesion.pulmonet", NULL);
  g_autofree char *trainer = g_build_filename (g_getenv ("PULMO_SOURCE_DIR"), "tools", "train_pytorch.py", NULL);
  g_autofree char *samples = g_build_filename (dir, "samples", NULL);
  g_autofree char *init = g_build_filename (dir, "init.safetensors", NULL);
  g_autofree char *trained = g_build_filename (dir, "trained.safetensors", NULL);
  g_autofree char *imported = g_build_filename (dir, "trained.pulmonet", NULL);
  g_autofree char *predicted = g_build_filename (dir, "predicted.npy", NULL);
  run ((const char *[]) { pulmo, "samples", "--data", dataset, "--model", shipped, "--out", samples, NULL });
  run ((const char *[]) { pulmo, "model", "export", shipped, init, NULL });
  run ((const char *[]) { "/usr/bin/python3", trainer, "--samples", samples, "--init", init, "--out", trained,
                          "--batch", "4", "--max-steps", "3", "--threads", "2", "--predict", predicted, NULL });
  run ((const char *[]) { pulmo, "model", "import", trained, imported, NULL });

  /* Training changed the weights. */
  g_autofree char *before = NULL, *after = NULL;
  gsize before_size, after_size;
  g_assert_true (g_file_get_contents (shipped, &before, &before_size, NULL));
  g_assert_true (g_file_get_contents (imported, &after, &after_size, NULL));
  g_assert_cmpuint (before_size, ==, after_size);
  g_assert_true (memcmp (before, after, before_size) != 0);

  g_auto (PulmoModelInfo) info = { 0 };
  g_autoptr (PulmoUNet) net = pulmo_weights_load (imported, &info, &error);
  g_assert_no_error (error);
  g_autofree char *images_path = g_build_filename (samples, "images.npy", NULL);
  g_autofree char *images_file = NULL, *predicted_file = NULL;
  int shape[3], predicted_shape[3];
  const guint8 *images = read_npy (images_path, 1, shape, &images_file);
  const guint8 *torch_classes = read_npy (predicted, 1, predicted_shape, &predicted_file);
  g_assert_cmpmem (shape, sizeof shape, predicted_shape, sizeof predicted_shape);
  g_assert_cmpint (shape[0], >, 20);

  int classes = pulmo_unet_get_config (net)->classes, h = shape[1], w = shape[2];
  g_autoptr (PulmoTensor) input = pulmo_tensor_new (1, 1, h, w);
  g_autoptr (PulmoTensor) logits = pulmo_tensor_new (1, classes, h, w);
  PulmoUNetWorkspace *ws = pulmo_unet_workspace_new (net, h, w);
  guint64 agree = 0, total = 0;
  for (int s = 0; s < shape[0]; s++)
    {
      for (int p = 0; p < h * w; p++)
        input->data[p] = images[(gsize) s * h * w + p] / 255.0f;
      pulmo_unet_infer (net, ws, input, logits);
      for (int p = 0; p < h * w; p++)
        {
          int best = 0;
          for (int c = 1; c < classes; c++)
            if (logits->data[(gsize) c * h * w + p] > logits->data[(gsize) best * h * w + p])
              best = c;
          agree += best == torch_classes[(gsize) s * h * w + p];
          total++;
        }
    }
  pulmo_unet_workspace_free (ws);
  g_test_message ("Pulmo and PyTorch give the same class to %.4f%% of %" G_GUINT64_FORMAT " pixels",
                  100.0 * agree / total, total);
  g_assert_cmpfloat ((double) agree / total, >=, 0.999);
  pulmo_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/torch-route/train-import-agree", test_route);
  return g_test_run ();
}
