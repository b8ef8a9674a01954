/* The U-Net as a whole: its size, its outputs and gradients against PyTorch
 * (tests/anchors/make_unet_reference.py), learning a small segmentation task,
 * AdamW against PyTorch's, the model file (round trip and every kind of
 * damage), two inferences at once, and folded against unfolded batch norm. */
#include "nn/unet.h"

#include "core/pulmo-error.h"
#include "nn/loss.h"
#include "nn/rng.h"
#include "nn/weights.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <zlib.h>

/* ---- Helpers ----------------------------------------------------------- */

static char *
source_data (const char *name)
{
  const char *root = g_getenv ("PULMO_SOURCE_DIR");
  if (root == NULL)
    g_error ("PULMO_SOURCE_DIR is not set: run the tests through `meson test`");
  return g_build_filename (root, "tests", "nn", "data", name, NULL);
}

/* Largest |a - b| relative to the reference's largest magnitude. */
static double
max_rel_diff (const float *a, const float *ref, size_t n)
{
  double diff = 0, scale = 1e-6;
  for (size_t i = 0; i < n; i++)
    {
      diff = MAX (diff, fabs ((double) a[i] - ref[i]));
      scale = MAX (scale, fabs ((double) ref[i]));
    }
  return diff / scale;
}

static PulmoModelInfo
test_info (const PulmoUNetConfig *config, int size)
{
  static const char *const names[] = { "background", "lung", "ground-glass opacity",
                                       "consolidation", "effusion", "five", "six", "seven" };
  PulmoModelInfo info = {
    .normalisation = PULMO_NORMALISE_SLICE_MINMAX,
    .clahe_clip = 7, .clahe_tiles = 8,
    .window_hu_low = -1000, .window_hu_high = 400,
    .window_gray8_low = 0, .window_gray8_high = 255,
    .input_width = size, .input_height = size,
    .n_slices = config->in_channels, .n_labels = config->classes,
  };
  info.labels = g_new0 (PulmoModelLabel, config->classes);
  for (int i = 0; i < config->classes; i++)
    {
      info.labels[i].value = (guint8) i;
      info.labels[i].name = g_strdup (names[i % G_N_ELEMENTS (names)]);
      info.labels[i].rgba[0] = (guint8) (40 * i);
      info.labels[i].rgba[3] = 255;
    }
  return info;
}

/* Moves BN away from its identity start so that folding matters. */
static void
randomise_batchnorm (PulmoUNet *net, guint64 seed)
{
  PulmoRng rng;
  pulmo_rng_init (&rng, seed);
  int n_params;
  const PulmoUNetParam *params = pulmo_unet_get_params (net, &n_params);
  for (int i = 0; i < n_params; i++)
    {
      if (strstr (params[i].name, ".bn") == NULL && strstr (params[i].name, "bias") == NULL)
        continue;
      gboolean positive = g_str_has_suffix (params[i].name, "running_var") ||
                          g_str_has_suffix (params[i].name, "bn1.weight") ||
                          g_str_has_suffix (params[i].name, "bn2.weight");
      for (size_t k = 0; k < pulmo_tensor_numel (params[i].value); k++)
        params[i].value->data[k] = positive ? (float) (0.5 + pulmo_rng_uniform (&rng))
                                            : (float) (0.2 * pulmo_rng_normal (&rng));
    }
  pulmo_unet_weights_changed (net);
}

static PulmoTensor *
random_input (int n, int c, int h, int w, guint64 seed)
{
  PulmoRng rng;
  pulmo_rng_init (&rng, seed);
  PulmoTensor *t = pulmo_tensor_new (n, c, h, w);
  for (size_t i = 0; i < pulmo_tensor_numel (t); i++)
    t->data[i] = (float) (2 * pulmo_rng_uniform (&rng) - 1);
  return t;
}

/* ---- Size -------------------------------------------------------------- */

static void
test_architecture (void)
{
  PulmoUNetConfig config = { .in_channels = 1, .base = 32, .depth = 4, .classes = 4 };
  g_autoptr (PulmoUNet) net = pulmo_unet_new (&config, 1);
  /* PERF-NOTES.md and PyTorch (tests/anchors/pytorch_unet.py) agree on these. */
  g_assert_cmpuint (pulmo_unet_n_trainable (net), ==, 7762564);
  g_assert_cmpfloat (pulmo_unet_macs (net, 256, 256), ==, 12039749632.0);

  int n_params;
  const PulmoUNetParam *params = pulmo_unet_get_params (net, &n_params);
  /* Per 3×3 conv (18): its kernel and four BN tensors; per decoder level (4):
   * the transposed conv's weight and bias; the head's weight and bias. */
  g_assert_cmpint (n_params, ==, 18 * 5 + 4 * 2 + 2);
  g_assert_cmpstr (params[0].name, ==, "enc0.conv1.weight");
  g_assert_cmpint (params[0].shape[0], ==, 32);
  g_assert_cmpint (params[0].shape[1], ==, 1);
  const PulmoUNetParam *up = pulmo_unet_find_param (net, "dec3.up.weight");
  g_assert_nonnull (up);
  g_assert_cmpint (up->shape[0], ==, 512);
  g_assert_cmpint (up->shape[1], ==, 256);
  g_assert_null (pulmo_unet_find_param (net, "enc0.bn1.running_mean")->grad);
  g_assert_cmpstr (params[n_params - 1].name, ==, "head.bias");

  config.base = 16;
  g_autoptr (PulmoUNet) small = pulmo_unet_new (&config, 1);
  g_assert_cmpuint (pulmo_unet_n_trainable (small), ==, 1942340);

  /* The same seed gives the same weights; another seed does not. */
  g_autoptr (PulmoUNet) again = pulmo_unet_new (&config, 1);
  g_autoptr (PulmoUNet) other = pulmo_unet_new (&config, 2);
  const PulmoUNetParam *a = pulmo_unet_find_param (small, "dec1.conv2.weight");
  const PulmoUNetParam *b = pulmo_unet_find_param (again, "dec1.conv2.weight");
  const PulmoUNetParam *c = pulmo_unet_find_param (other, "dec1.conv2.weight");
  size_t bytes = pulmo_tensor_numel (a->value) * sizeof (float);
  g_assert_cmpmem (a->value->data, bytes, b->value->data, bytes);
  g_assert_true (memcmp (a->value->data, c->value->data, bytes) != 0);
}

/* ---- Against PyTorch --------------------------------------------------- */

typedef struct {
  GHashTable *arrays;   /* name → GArray of float */
} Reference;

static Reference
load_reference (const char *path)
{
  g_autofree char *data = NULL;
  gsize size;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &data, &size, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (data, 8, "PULMOREF", 8);

  Reference ref = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) g_array_unref) };
  const guint8 *p = (const guint8 *) data + 8, *end = (const guint8 *) data + size;
  guint32 count;
  memcpy (&count, p, 4);
  p += 4;
  for (guint32 i = 0; i < count; i++)
    {
      g_assert_true (p < end);
      guint8 length = *p++;
      char *name = g_strndup ((const char *) p, length);
      p += length;
      guint32 n;
      memcpy (&n, p, 4);
      p += 4;
      g_assert_true ((gsize) (end - p) >= (gsize) n * 4);
      GArray *values = g_array_sized_new (FALSE, FALSE, sizeof (float), n);
      g_array_append_vals (values, p, n);
      p += (gsize) n * 4;
      g_hash_table_insert (ref.arrays, name, values);
    }
  g_assert_true (p == end);
  return ref;
}

static const float *
ref_array (Reference *ref, const char *name, size_t expected_count)
{
  GArray *values = g_hash_table_lookup (ref->arrays, name);
  if (values == NULL)
    g_error ("reference array %s missing", name);
  g_assert_cmpuint (values->len, ==, expected_count);
  return (const float *) values->data;
}

static void
test_reference (void)
{
  g_autofree char *model_path = source_data ("unet-tiny.pulmonet");
  g_autofree char *ref_path = source_data ("unet-tiny.ref");
  g_autoptr (GError) error = NULL;
  PulmoModelInfo info;
  g_autoptr (PulmoUNet) net = pulmo_weights_load (model_path, &info, &error);
  g_assert_no_error (error);
  const PulmoUNetConfig *config = pulmo_unet_get_config (net);
  g_assert_cmpint (config->in_channels, ==, 3);
  g_assert_cmpint (config->base, ==, 4);
  g_assert_cmpint (config->depth, ==, 2);
  g_assert_cmpint (config->classes, ==, 3);
  g_assert_cmpint (info.n_labels, ==, 3);
  g_assert_cmpstr (info.labels[2].name, ==, "ground-glass opacity");
  g_assert_cmpuint (info.labels[2].value, ==, 3);
  g_assert_cmpfloat (info.window_hu_low, ==, -1000.0f);
  /* The fixture is a version 1 file: a linear window, no local contrast. */
  g_assert_cmpint (info.normalisation, ==, PULMO_NORMALISE_WINDOW);
  g_assert_cmpfloat (info.clahe_clip, ==, 0);
  g_assert_cmpint (info.clahe_tiles, ==, 8);
  pulmo_model_info_clear (&info);

  Reference ref = load_reference (ref_path);
  PulmoTensor input = { 2, 3, 16, 16, NULL };
  input.data = (float *) ref_array (&ref, "input", 2 * 3 * 16 * 16);
  size_t n_logits = 2 * 3 * 16 * 16;

  /* Eval mode, folded and unfolded. */
  g_autoptr (PulmoUNetWorkspace) ws = pulmo_unet_workspace_new (net, 16, 16);
  g_autoptr (PulmoTensor) logits = pulmo_tensor_new (2, 3, 16, 16);
  const float *eval_ref = ref_array (&ref, "eval.logits", n_logits);
  pulmo_unet_infer (net, ws, &input, logits);
  g_assert_cmpfloat (max_rel_diff (logits->data, eval_ref, n_logits), <, 1e-5);
  pulmo_unet_forward_eval (net, ws, &input, logits);
  g_assert_cmpfloat (max_rel_diff (logits->data, eval_ref, n_logits), <, 1e-5);

  /* Training mode: batch statistics, then the backward pass. */
  g_autoptr (PulmoUNetActivations) acts = pulmo_unet_activations_new (net, 2, 16, 16);
  const PulmoTensor *train_logits = pulmo_unet_forward_train (net, acts, &input);
  g_assert_cmpfloat (max_rel_diff (train_logits->data, ref_array (&ref, "train.logits", n_logits),
                                   n_logits), <, 1e-5);
  PulmoTensor grad_logits = { 2, 3, 16, 16, NULL };
  grad_logits.data = (float *) ref_array (&ref, "train.grad_logits", n_logits);
  pulmo_unet_zero_grad (net);
  pulmo_unet_backward (net, acts, &grad_logits);

  int n_params, n_checked = 0;
  const PulmoUNetParam *params = pulmo_unet_get_params (net, &n_params);
  for (int i = 0; i < n_params; i++)
    {
      size_t count = pulmo_tensor_numel (params[i].value);
      g_autofree char *key = g_strconcat (params[i].grad ? "grad." : "after.", params[i].name, NULL);
      const float *expected = ref_array (&ref, key, count);
      const float *actual = params[i].grad ? params[i].grad->data : params[i].value->data;
      double diff = max_rel_diff (actual, expected, count);
      if (diff >= 1e-4)
        g_error ("%s differs from PyTorch by %g (relative to its largest value)", key, diff);
      n_checked++;
    }
  g_assert_cmpint (n_checked, ==, n_params);

  /* Two AdamW steps from PyTorch's own gradients, so that the optimiser is
   * checked alone (a gradient that is nearly zero could flip sign between two
   * implementations and AdamW would magnify it to a full step). */
  for (int i = 0; i < n_params; i++)
    if (params[i].grad != NULL)
      {
        g_autofree char *key = g_strconcat ("grad.", params[i].name, NULL);
        size_t count = pulmo_tensor_numel (params[i].grad);
        memcpy (params[i].grad->data, ref_array (&ref, key, count), count * sizeof (float));
      }
  PulmoAdamWConfig adam = pulmo_adamw_config_default ();
  adam.lr = 0.01f;
  adam.weight_decay = 0.1f;
  g_autoptr (PulmoAdamW) optim = pulmo_unet_adamw_new (net, &adam);
  pulmo_unet_adamw_step (net, optim);
  pulmo_unet_adamw_step (net, optim);
  g_assert_cmpint (pulmo_adamw_n_steps (optim), ==, 2);
  for (int i = 0; i < n_params; i++)
    if (params[i].grad != NULL)
      {
        g_autofree char *key = g_strconcat ("adamw.", params[i].name, NULL);
        size_t count = pulmo_tensor_numel (params[i].value);
        double diff = max_rel_diff (params[i].value->data, ref_array (&ref, key, count), count);
        if (diff >= 1e-5)
          g_error ("%s differs from PyTorch by %g (relative to its largest value)", key, diff);
      }
  g_hash_table_unref (ref.arrays);
}

/* ---- Learning a synthetic task ----------------------------------------- */

/* Discs (class 1) and squares (class 2) of the same brightness on noise: the
 * network must tell them apart by shape, not intensity. */
static void
make_sample (PulmoRng *rng, int size, float *image, guint8 *labels)
{
  for (int i = 0; i < size * size; i++)
    {
      image[i] = (float) (0.3 * pulmo_rng_normal (rng));
      labels[i] = 0;
    }
  int n_shapes = 1 + (int) pulmo_rng_below (rng, 3);
  for (int s = 0; s < n_shapes; s++)
    {
      int r = 3 + (int) pulmo_rng_below (rng, 5);
      int cx = r + (int) pulmo_rng_below (rng, (guint32) (size - 2 * r));
      int cy = r + (int) pulmo_rng_below (rng, (guint32) (size - 2 * r));
      gboolean disc = pulmo_rng_below (rng, 2) == 0;
      for (int y = cy - r; y <= cy + r; y++)
        for (int x = cx - r; x <= cx + r; x++)
          {
            int dx = x - cx, dy = y - cy;
            if (disc && dx * dx + dy * dy > r * r)
              continue;
            image[y * size + x] += 1.0f;
            labels[y * size + x] = disc ? 1 : 2;
          }
    }
}

static void
make_batch (PulmoRng *rng, PulmoTensor *images, guint8 *labels)
{
  int pixels = images->h * images->w;
  for (int n = 0; n < images->n; n++)
    make_sample (rng, images->w, pulmo_tensor_plane (images, n, 0), labels + (size_t) n * pixels);
}

/* Mean Dice of classes 1 and 2 of the eval-mode prediction. */
static double
dice (PulmoUNet *net, PulmoUNetWorkspace *ws, const PulmoTensor *images, const guint8 *labels)
{
  g_autoptr (PulmoTensor) logits = pulmo_tensor_new (images->n, 3, images->h, images->w);
  pulmo_unet_infer (net, ws, images, logits);
  size_t pixels = (size_t) images->h * images->w;
  double inter[3] = { 0 }, total[3] = { 0 };
  for (int n = 0; n < images->n; n++)
    for (size_t i = 0; i < pixels; i++)
      {
        int best = 0;
        for (int c = 1; c < 3; c++)
          if (pulmo_tensor_plane (logits, n, c)[i] > pulmo_tensor_plane (logits, n, best)[i])
            best = c;
        int truth = labels[n * pixels + i];
        inter[truth] += best == truth;
        total[truth] += 1;
        total[best] += 1;
      }
  return (2 * inter[1] / total[1] + 2 * inter[2] / total[2]) / 2;
}

static void
test_learns (void)
{
  const int size = 32, batch = 8, max_steps = 1200;
  PulmoUNetConfig config = { .in_channels = 1, .base = 16, .depth = 3, .classes = 3 };
  g_autoptr (PulmoUNet) net = pulmo_unet_new (&config, 42);
  PulmoAdamWConfig adam = pulmo_adamw_config_default ();
  adam.lr = 3e-3f;
  g_autoptr (PulmoAdamW) optim = pulmo_unet_adamw_new (net, &adam);
  g_autoptr (PulmoUNetActivations) acts = pulmo_unet_activations_new (net, batch, size, size);
  g_autoptr (PulmoUNetWorkspace) ws = pulmo_unet_workspace_new (net, size, size);

  PulmoRng data_rng, held_out_rng;
  pulmo_rng_init (&data_rng, 1);
  pulmo_rng_init (&held_out_rng, 2);
  g_autoptr (PulmoTensor) test_images = pulmo_tensor_new (32, 1, size, size);
  g_autofree guint8 *test_labels = g_new (guint8, 32 * size * size);
  make_batch (&held_out_rng, test_images, test_labels);

  g_autoptr (PulmoTensor) images = pulmo_tensor_new (batch, 1, size, size);
  g_autoptr (PulmoTensor) grad = pulmo_tensor_new (batch, 3, size, size);
  g_autofree guint8 *labels = g_new (guint8, batch * size * size);
  g_autofree guint16 *masks = g_new (guint16, batch * size * size);
  PulmoSegLossOptions loss_options = { NULL, 1.0f, 1.0f, 1.0f };

  double first_loss = 0, reached = 0;
  int step;
  for (step = 1; step <= max_steps; step++)
    {
      make_batch (&data_rng, images, labels);
      for (int i = 0; i < batch * size * size; i++)
        masks[i] = (guint16) (1u << labels[i]);
      /* Linear decay of the learning rate to a tenth settles the last details. */
      pulmo_adamw_set_lr (optim, adam.lr * (1.0f - 0.9f * (float) step / max_steps));
      pulmo_unet_zero_grad (net);
      const PulmoTensor *logits = pulmo_unet_forward_train (net, acts, images);
      double loss = pulmo_seg_loss (logits, masks, &loss_options, grad, NULL);
      g_assert_true (isfinite (loss));
      if (step == 1)
        first_loss = loss;
      pulmo_unet_backward (net, acts, grad);
      pulmo_unet_adamw_step (net, optim);
      if (step % 50 == 0)
        {
          reached = dice (net, ws, test_images, test_labels);
          g_test_message ("step %d: loss %.4f (first %.4f), held-out Dice %.4f",
                          step, loss, first_loss, reached);
          if (reached > 0.95)
            break;
        }
    }
  g_assert_cmpfloat (reached, >, 0.95);
  g_assert_cmpint (step, <=, max_steps);
}

/* Five training steps from the same seed and data, twice: bit-identical
 * weights and running statistics (the kernels never depend on which thread
 * does what). */
static void
train_a_little (PulmoUNet *net)
{
  const int size = 32, batch = 4;
  g_autoptr (PulmoAdamW) optim = pulmo_unet_adamw_new (net, &(PulmoAdamWConfig) {
    .lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f });
  g_autoptr (PulmoUNetActivations) acts = pulmo_unet_activations_new (net, batch, size, size);
  g_autoptr (PulmoTensor) images = pulmo_tensor_new (batch, 1, size, size);
  g_autoptr (PulmoTensor) grad = pulmo_tensor_new (batch, 3, size, size);
  g_autofree guint8 *labels = g_new (guint8, batch * size * size);
  g_autofree guint16 *masks = g_new (guint16, batch * size * size);
  PulmoSegLossOptions loss_options = { NULL, 1.0f, 1.0f, 1.0f };
  PulmoRng rng;
  pulmo_rng_init (&rng, 77);
  for (int step = 0; step < 5; step++)
    {
      make_batch (&rng, images, labels);
      for (int i = 0; i < batch * size * size; i++)
        masks[i] = (guint16) (1u << labels[i]);
      pulmo_unet_zero_grad (net);
      const PulmoTensor *logits = pulmo_unet_forward_train (net, acts, images);
      pulmo_seg_loss (logits, masks, &loss_options, grad, NULL);
      pulmo_unet_backward (net, acts, grad);
      pulmo_unet_adamw_step (net, optim);
    }
}

static void
test_reproducible (void)
{
  PulmoUNetConfig config = { .in_channels = 1, .base = 8, .depth = 2, .classes = 3 };
  g_autoptr (PulmoUNet) a = pulmo_unet_new (&config, 3);
  g_autoptr (PulmoUNet) b = pulmo_unet_new (&config, 3);
  train_a_little (a);
  train_a_little (b);
  int n_params;
  const PulmoUNetParam *pa = pulmo_unet_get_params (a, &n_params);
  const PulmoUNetParam *pb = pulmo_unet_get_params (b, &n_params);
  for (int i = 0; i < n_params; i++)
    {
      size_t bytes = pulmo_tensor_numel (pa[i].value) * sizeof (float);
      g_assert_cmpmem (pa[i].value->data, bytes, pb[i].value->data, bytes);
    }
  /* And training did change the weights. */
  g_autoptr (PulmoUNet) fresh = pulmo_unet_new (&config, 3);
  const PulmoUNetParam *w = pulmo_unet_find_param (fresh, "dec0.conv2.weight");
  const PulmoUNetParam *trained = pulmo_unet_find_param (a, "dec0.conv2.weight");
  g_assert_true (memcmp (w->value->data, trained->value->data,
                         pulmo_tensor_numel (w->value) * sizeof (float)) != 0);
}

/* ---- Model file -------------------------------------------------------- */

static PulmoUNet *
small_net (void)
{
  PulmoUNetConfig config = { .in_channels = 3, .base = 4, .depth = 2, .classes = 4 };
  PulmoUNet *net = pulmo_unet_new (&config, 9);
  randomise_batchnorm (net, 10);
  return net;
}

static void
test_round_trip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pulmo-weights-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "model.pulmonet", NULL);
  g_autoptr (PulmoUNet) net = small_net ();
  PulmoModelInfo info = test_info (pulmo_unet_get_config (net), 32);
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_weights_save (path, net, &info, &error));
  g_assert_no_error (error);

  PulmoModelInfo loaded_info;
  g_autoptr (PulmoUNet) loaded = pulmo_weights_load (path, &loaded_info, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (pulmo_unet_get_config (loaded), sizeof (PulmoUNetConfig),
                   pulmo_unet_get_config (net), sizeof (PulmoUNetConfig));
  g_assert_cmpint (loaded_info.input_width, ==, 32);
  g_assert_cmpint (loaded_info.n_slices, ==, 3);
  g_assert_cmpfloat (loaded_info.window_hu_high, ==, 400.0f);
  g_assert_cmpint (loaded_info.normalisation, ==, PULMO_NORMALISE_SLICE_MINMAX);
  g_assert_cmpfloat (loaded_info.clahe_clip, ==, 7.0f);
  g_assert_cmpint (loaded_info.clahe_tiles, ==, 8);

  /* The bytes in memory are the file's, byte for byte. */
  g_autoptr (GBytes) bytes = pulmo_weights_to_bytes (net, &info, &error);
  g_assert_no_error (error);
  g_autofree char *file = NULL;
  gsize file_size;
  g_assert_true (g_file_get_contents (path, &file, &file_size, NULL));
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), file, file_size);
  g_assert_cmpint (loaded_info.n_labels, ==, 4);
  for (int i = 0; i < 4; i++)
    {
      g_assert_cmpstr (loaded_info.labels[i].name, ==, info.labels[i].name);
      g_assert_cmpmem (loaded_info.labels[i].rgba, 4, info.labels[i].rgba, 4);
      g_assert_cmpuint (loaded_info.labels[i].value, ==, info.labels[i].value);
    }

  g_autoptr (PulmoTensor) input = random_input (2, 3, 32, 32, 11);
  g_autoptr (PulmoTensor) a = pulmo_tensor_new (2, 4, 32, 32);
  g_autoptr (PulmoTensor) b = pulmo_tensor_new (2, 4, 32, 32);
  g_autoptr (PulmoUNetWorkspace) ws = pulmo_unet_workspace_new (net, 32, 32);
  pulmo_unet_infer (net, ws, input, a);
  pulmo_unet_infer (loaded, ws, input, b);
  g_assert_cmpmem (a->data, pulmo_tensor_numel (a) * 4, b->data, pulmo_tensor_numel (b) * 4);

  /* A folder that does not exist: an error, not a crash. */
  g_autofree char *nowhere = g_build_filename (dir, "missing-folder", "model.pulmonet", NULL);
  g_assert_false (pulmo_weights_save (nowhere, net, &info, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "model.pulmonet"));
  g_clear_error (&error);

  /* No temporary file is left beside it. */
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (listing), ==, "model.pulmonet");
  g_assert_null (g_dir_read_name (listing));

  pulmo_model_info_clear (&info);
  pulmo_model_info_clear (&loaded_info);
  g_unlink (path);
  g_rmdir (dir);
}

/* Writes @bytes to a file and expects the loader to refuse it with @code, a
 * message naming the file, and no network. */
static void
expect_rejected (const char *dir, const guint8 *bytes, gsize size, PulmoErrorCode code,
                 const char *what)
{
  g_autofree char *path = g_build_filename (dir, "damaged.pulmonet", NULL);
  g_assert_true (g_file_set_contents (path, (const char *) bytes, (gssize) size, NULL));
  g_autoptr (GError) error = NULL;
  PulmoModelInfo info;
  g_autoptr (PulmoUNet) net = pulmo_weights_load (path, &info, &error);
  if (net != NULL || error == NULL || error->domain != PULMO_ERROR || error->code != (int) code)
    g_error ("%s: expected error code %d, got %s (%s)", what, code,
             error ? "another error" : "success", error ? error->message : "");
  g_assert_nonnull (strstr (error->message, "damaged.pulmonet"));
  g_assert_null (info.labels);
  g_test_message ("%s: %s", what, error->message);
  g_unlink (path);
}

static void
set_crc (guint8 *bytes, gsize size)
{
  guint32 crc = (guint32) crc32 (crc32 (0, NULL, 0), bytes + 32, (uInt) (size - 32));
  guint32 le = GUINT32_TO_LE (crc);
  memcpy (bytes + 24, &le, 4);
}

static void
put_le32 (guint8 *at, guint32 value)
{
  guint32 le = GUINT32_TO_LE (value);
  memcpy (at, &le, 4);
}

static void
test_corrupt (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pulmo-weights-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "good.pulmonet", NULL);
  g_autoptr (PulmoUNet) net = small_net ();
  PulmoModelInfo info = test_info (pulmo_unet_get_config (net), 32);
  g_assert_true (pulmo_weights_save (path, net, &info, NULL));
  pulmo_model_info_clear (&info);
  g_autofree guint8 *good = NULL;
  gsize size;
  g_assert_true (g_file_get_contents (path, (char **) &good, &size, NULL));
  g_autofree guint8 *bad = g_memdup2 (good, size);

  /* Truncated anywhere: in the signature, the header, the label table, the
   * tensor data, one byte short. */
  gsize cuts[] = { 0, 5, 8, 20, 31, 32, 40, 100, size / 2, size - 4, size - 1 };
  for (size_t i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      g_autofree char *what = g_strdup_printf ("truncated to %" G_GSIZE_FORMAT " bytes", cuts[i]);
      expect_rejected (dir, good, cuts[i], PULMO_ERROR_TRUNCATED, what);
    }

  /* One flipped byte in the architecture, a label, a name, a tensor, the CRC. */
  gsize flips[] = { 32, 60, 80, size / 2, size - 1, 24 };
  for (size_t i = 0; i < G_N_ELEMENTS (flips); i++)
    {
      memcpy (bad, good, size);
      bad[flips[i]] ^= 0x40;
      g_autofree char *what = g_strdup_printf ("byte %" G_GSIZE_FORMAT " flipped", flips[i]);
      expect_rejected (dir, bad, size, PULMO_ERROR_CORRUPT, what);
    }

  memcpy (bad, good, size);
  bad[0] = 'X';
  expect_rejected (dir, bad, size, PULMO_ERROR_INVALID, "wrong signature");
  expect_rejected (dir, (const guint8 *) "GIF89a", 6, PULMO_ERROR_INVALID, "another format");

  memcpy (bad, good, size);
  put_le32 (bad + 8, 3);
  expect_rejected (dir, bad, size, PULMO_ERROR_UNSUPPORTED, "version 3");
  memcpy (bad, good, size);
  put_le32 (bad + 8, 0);
  expect_rejected (dir, bad, size, PULMO_ERROR_UNSUPPORTED, "version 0");

  /* Version 2's preprocessing fields follow the 4 architecture and 7
   * version 1 preprocessing numbers: normalisation, CLAHE clip, tiles. */
  const gsize normalisation_at = 32 + 4 * 4 + 7 * 4;
  const struct { gsize offset; guint32 value; const char *what; } fields[] = {
    { normalisation_at, 2, "unknown normalisation" },
    { normalisation_at + 4, 0xbf800000, "negative CLAHE clip" },    /* -1.0f */
    { normalisation_at + 4, 0x7fc00000, "NaN CLAHE clip" },
    { normalisation_at + 8, 0, "no CLAHE tiles" },
    { normalisation_at + 8, 65, "65 CLAHE tiles" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      memcpy (bad, good, size);
      put_le32 (bad + fields[i].offset, fields[i].value);
      set_crc (bad, size);
      expect_rejected (dir, bad, size, PULMO_ERROR_INVALID, fields[i].what);
    }

  /* A header that claims a huge size must not make a huge allocation. */
  memcpy (bad, good, size);
  put_le32 (bad + 20, 0x7fffffff);
  expect_rejected (dir, bad, size, PULMO_ERROR_TOO_LARGE, "huge payload size");

  g_autofree guint8 *longer = g_malloc (size + 1);
  memcpy (longer, good, size);
  longer[size] = 0;
  expect_rejected (dir, longer, size + 1, PULMO_ERROR_CORRUPT, "trailing byte");

  /* Well-formed files (valid CRC) that do not fit their own architecture. */
  memcpy (bad, good, size);
  put_le32 (bad + 32 + 4, 256);   /* base */
  put_le32 (bad + 32 + 8, 6);     /* depth */
  set_crc (bad, size);
  expect_rejected (dir, bad, size, PULMO_ERROR_TOO_LARGE, "enormous architecture");

  memcpy (bad, good, size);
  put_le32 (bad + 32 + 4, 8);     /* base 8: more data than the file holds */
  set_crc (bad, size);
  expect_rejected (dir, bad, size, PULMO_ERROR_INVALID, "architecture larger than the tensors");

  memcpy (bad, good, size);
  put_le32 (bad + 32 + 12, 3);    /* classes 3 with 4 labels */
  set_crc (bad, size);
  expect_rejected (dir, bad, size, PULMO_ERROR_INVALID, "label count mismatch");

  /* enc0.conv1.weight declared 4×2×3×3 instead of 4×3×3×3. */
  memcpy (bad, good, size);
  const char *name = "enc0.conv1.weight";
  guint8 *at = memmem (bad, size, name, strlen (name));
  g_assert_nonnull (at);
  guint8 *dims = at + strlen (name) + 1;
  g_assert_cmpuint (at[strlen (name)], ==, 4);
  put_le32 (dims + 4, 2);
  set_crc (bad, size);
  expect_rejected (dir, bad, size, PULMO_ERROR_INVALID, "shape mismatch");

  /* A name that is not in the architecture. */
  memcpy (bad, good, size);
  at = memmem (bad, size, name, strlen (name));
  at[3] = '7';   /* "enc7.conv1.weight" */
  set_crc (bad, size);
  expect_rejected (dir, bad, size, PULMO_ERROR_INVALID, "unknown tensor name");

  /* A NaN in the weights. */
  memcpy (bad, good, size);
  put_le32 (bad + size - 4, 0x7fc00000);
  set_crc (bad, size);
  expect_rejected (dir, bad, size, PULMO_ERROR_CORRUPT, "NaN weight");

  /* Missing file. */
  g_autoptr (GError) error = NULL;
  PulmoModelInfo none;
  g_autofree char *missing = g_build_filename (dir, "absent.pulmonet", NULL);
  g_assert_null (pulmo_weights_load (missing, &none, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND);

  g_unlink (path);
  g_rmdir (dir);
}

/* Every byte of the header and metadata, and a spread of tensor bytes, set to
 * hostile values with the CRC made valid again, so the parser itself sees the
 * damage: each file either loads or gives a PULMO_ERROR, never anything else
 * (run under ASan/UBSan this also checks every read stays in bounds). */
static void
test_hostile_bytes (void)
{
  g_autoptr (PulmoUNet) net = small_net ();
  g_autofree char *dir = g_dir_make_tmp ("pulmo-weights-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "good.pulmonet", NULL);
  PulmoModelInfo info = test_info (pulmo_unet_get_config (net), 32);
  g_assert_true (pulmo_weights_save (path, net, &info, NULL));
  pulmo_model_info_clear (&info);
  g_autofree guint8 *good = NULL;
  gsize size;
  g_assert_true (g_file_get_contents (path, (char **) &good, &size, NULL));
  g_autofree guint8 *bad = g_malloc (size);

  static const guint8 values[] = { 0x00, 0xff, 0x80, 0x01 };
  int n_loaded = 0, n_rejected = 0;
  for (gsize at = 0; at < size; at += at < 700 ? 1 : 997)
    for (size_t v = 0; v < G_N_ELEMENTS (values); v++)
      {
        memcpy (bad, good, size);
        if (bad[at] == values[v])
          continue;
        bad[at] = values[v];
        if (at >= 32)
          set_crc (bad, size);
        g_autoptr (GError) error = NULL;
        PulmoModelInfo loaded_info;
        g_autoptr (PulmoUNet) loaded = pulmo_weights_load_bytes (bad, size, "hostile.pulmonet",
                                                                 &loaded_info, &error);
        if (loaded != NULL)
          {
            g_assert_no_error (error);
            pulmo_model_info_clear (&loaded_info);
            n_loaded++;
          }
        else
          {
            g_assert_nonnull (error);
            g_assert_true (error->domain == PULMO_ERROR);
            g_assert_true (g_str_has_prefix (error->message, "hostile.pulmonet: "));
            g_assert_null (loaded_info.labels);
            n_rejected++;
          }
      }
  /* Changed weights and label colours load; broken structure does not. */
  g_assert_cmpint (n_loaded, >, 0);
  g_assert_cmpint (n_rejected, >, 0);
  g_test_message ("%d variants loaded, %d rejected", n_loaded, n_rejected);
  g_unlink (path);
  g_rmdir (dir);
}

/* ---- Threads and folding ----------------------------------------------- */

typedef struct {
  PulmoUNet *net;
  const PulmoTensor *input;
  PulmoTensor *output;
} InferJob;

static gpointer
infer_thread (gpointer data)
{
  InferJob *job = data;
  g_autoptr (PulmoUNetWorkspace) ws = pulmo_unet_workspace_new (job->net, job->input->h,
                                                               job->input->w);
  for (int i = 0; i < 3; i++)
    pulmo_unet_infer (job->net, ws, job->input, job->output);
  return NULL;
}

static void
test_two_threads (void)
{
  PulmoUNetConfig config = { .in_channels = 1, .base = 8, .depth = 3, .classes = 4 };
  g_autoptr (PulmoUNet) net = pulmo_unet_new (&config, 5);
  randomise_batchnorm (net, 6);
  g_autoptr (PulmoTensor) input = random_input (1, 1, 96, 96, 7);
  g_autoptr (PulmoTensor) alone = pulmo_tensor_new (1, 4, 96, 96);
  g_autoptr (PulmoTensor) first = pulmo_tensor_new (1, 4, 96, 96);
  g_autoptr (PulmoTensor) second = pulmo_tensor_new (1, 4, 96, 96);

  /* Both threads start on a model whose folded weights are stale, so they
   * also race to fold them. */
  InferJob jobs[2] = { { net, input, first }, { net, input, second } };
  GThread *threads[2];
  for (int t = 0; t < 2; t++)
    threads[t] = g_thread_new ("infer", infer_thread, &jobs[t]);
  for (int t = 0; t < 2; t++)
    g_thread_join (threads[t]);

  g_autoptr (PulmoUNetWorkspace) ws = pulmo_unet_workspace_new (net, 96, 96);
  pulmo_unet_infer (net, ws, input, alone);
  size_t bytes = pulmo_tensor_numel (alone) * sizeof (float);
  g_assert_cmpmem (first->data, bytes, alone->data, bytes);
  g_assert_cmpmem (second->data, bytes, alone->data, bytes);
}

static void
test_folded (void)
{
  PulmoUNetConfig config = { .in_channels = 3, .base = 8, .depth = 3, .classes = 5 };
  g_autoptr (PulmoUNet) net = pulmo_unet_new (&config, 12);
  randomise_batchnorm (net, 13);
  g_autoptr (PulmoTensor) input = random_input (2, 3, 64, 48, 14);
  g_autoptr (PulmoTensor) folded = pulmo_tensor_new (2, 5, 64, 48);
  g_autoptr (PulmoTensor) unfolded = pulmo_tensor_new (2, 5, 64, 48);
  g_autoptr (PulmoUNetWorkspace) ws = pulmo_unet_workspace_new (net, 64, 48);
  pulmo_unet_infer (net, ws, input, folded);
  pulmo_unet_forward_eval (net, ws, input, unfolded);
  g_assert_cmpfloat (max_rel_diff (folded->data, unfolded->data, pulmo_tensor_numel (folded)), <, 1e-5);

  /* Changing a BN statistic must reach the folded path. */
  pulmo_unet_find_param (net, "enc1.bn2.running_mean")->value->data[0] += 1.0f;
  pulmo_unet_weights_changed (net);
  g_autoptr (PulmoTensor) refolded = pulmo_tensor_new (2, 5, 64, 48);
  pulmo_unet_infer (net, ws, input, refolded);
  pulmo_unet_forward_eval (net, ws, input, unfolded);
  g_assert_cmpfloat (max_rel_diff (refolded->data, unfolded->data, pulmo_tensor_numel (folded)), <, 1e-5);
  g_assert_true (memcmp (refolded->data, folded->data, pulmo_tensor_numel (folded) * 4) != 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/unet/architecture", test_architecture);
  g_test_add_func ("/unet/pytorch-reference", test_reference);
  g_test_add_func ("/unet/folded-batchnorm", test_folded);
  g_test_add_func ("/unet/two-threads", test_two_threads);
  g_test_add_func ("/unet/weights-round-trip", test_round_trip);
  g_test_add_func ("/unet/weights-rejected", test_corrupt);
  g_test_add_func ("/unet/weights-hostile-bytes", test_hostile_bytes);
  g_test_add_func ("/unet/reproducible-training", test_reproducible);
  g_test_add_func ("/unet/learns-discs-and-squares", test_learns);
  return g_test_run ();
}
