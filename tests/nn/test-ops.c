/* test-ops.c: the operations of src/nn other than convolution: known values
 * of each forward pass, and each backward pass against central finite
 * differences on small random tensors with batch > 1 and odd sizes. */
#include <math.h>
#include <string.h>

#include "core/pulmo-error.h"
#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/concat.h"
#include "nn/label-mask.h"
#include "nn/loss.h"
#include "nn/pool.h"
#include "nn/upconv.h"

#include "gradcheck.h"

/* Smooth operations: h = 1e-2 keeps the float rounding of the loss well below
 * the differences, and the O(h²) truncation error is far below the tolerance. */
static const PulmoGradcheckOptions smooth_check = { 1e-2f, 1e-3, 1e-2, 0 };

static PulmoTensor *
random_tensor (GRand *rng, int n, int c, int h, int w, double lo, double hi)
{
  PulmoTensor *t = pulmo_tensor_new (n, c, h, w);
  pulmo_gradcheck_fill (rng, t->data, pulmo_tensor_numel (t), lo, hi);
  return t;
}

static float *
random_floats (GRand *rng, size_t n, double lo, double hi)
{
  float *v = g_new (float, n);
  pulmo_gradcheck_fill (rng, v, n, lo, hi);
  return v;
}

static void
assert_close (const char *what, const float *a, const float *b, size_t n, double tol)
{
  for (size_t i = 0; i < n; i++)
    if (fabs ((double) a[i] - b[i]) > tol * MAX (1.0, fabs ((double) b[i])))
      {
        g_test_fail_printf ("%s: entry %zu: %.7g, expected %.7g", what, i, (double) a[i], (double) b[i]);
        return;
      }
}

/* ---- max-pool ---------------------------------------------------------- */

static void
test_maxpool_forward (void)
{
  /* 3×5: the last row and column are dropped (floor). */
  static const float x_values[] = {
    1, 5, 2, 2, 9,
    3, 4, 8, 7, 0,
    6, 6, 6, 6, 6,
  };
  g_autoptr (PulmoTensor) x = pulmo_tensor_new (1, 1, 3, 5);
  memcpy (x->data, x_values, sizeof x_values);
  g_autoptr (PulmoTensor) y = pulmo_tensor_new (1, 1, 1, 2);
  uint8_t argmax[2];

  pulmo_maxpool2_forward (x, y, argmax);
  g_assert_cmpfloat (y->data[0], ==, 5);
  g_assert_cmpfloat (y->data[1], ==, 8);
  g_assert_cmpuint (argmax[0], ==, 1);   /* (0, 1) */
  g_assert_cmpuint (argmax[1], ==, 2);   /* (1, 0) */

  /* Inference without indices gives the same values. */
  pulmo_tensor_zero (y);
  pulmo_maxpool2_forward (x, y, NULL);
  g_assert_cmpfloat (y->data[0], ==, 5);
  g_assert_cmpfloat (y->data[1], ==, 8);

  /* Ties: the first maximum in window order. */
  g_autoptr (PulmoTensor) flat = pulmo_tensor_new (1, 1, 2, 2);
  for (int i = 0; i < 4; i++)
    flat->data[i] = -2.5f;
  g_autoptr (PulmoTensor) one = pulmo_tensor_new (1, 1, 1, 1);
  uint8_t tie;
  pulmo_maxpool2_forward (flat, one, &tie);
  g_assert_cmpuint (tie, ==, 0);
  g_assert_cmpfloat (one->data[0], ==, -2.5f);

  /* Backward routes to the maxima only; the dropped row and column get 0
   * even where dx held garbage. */
  g_autoptr (PulmoTensor) dy = pulmo_tensor_new (1, 1, 1, 2);
  dy->data[0] = 10;
  dy->data[1] = 20;
  g_autoptr (PulmoTensor) dx = pulmo_tensor_new (1, 1, 3, 5);
  for (int i = 0; i < 15; i++)
    dx->data[i] = NAN;
  pulmo_maxpool2_backward (dy, argmax, dx, FALSE);
  for (int i = 0; i < 15; i++)
    g_assert_cmpfloat (dx->data[i], ==, i == 1 ? 10 : i == 7 ? 20 : 0);

  /* Accumulating adds onto what is there. */
  for (int i = 0; i < 15; i++)
    dx->data[i] = 1;
  pulmo_maxpool2_backward (dy, argmax, dx, TRUE);
  for (int i = 0; i < 15; i++)
    g_assert_cmpfloat (dx->data[i], ==, i == 1 ? 11 : i == 7 ? 21 : 1);
}

/* Wide rows (vector path and scalar tail) with many ties, against a plain
 * reference: first maximum in window order. */
static void
test_maxpool_reference (void)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (21);
  int n = 2, c = 3, h = 5, w = 19, oh = 2, ow = 9;
  g_autoptr (PulmoTensor) x = pulmo_tensor_new (n, c, h, w);
  for (size_t i = 0; i < pulmo_tensor_numel (x); i++)
    x->data[i] = (float) g_rand_int_range (rng, -2, 3);
  g_autoptr (PulmoTensor) y = pulmo_tensor_new (n, c, oh, ow);
  g_autofree uint8_t *argmax = g_new (uint8_t, pulmo_tensor_numel (y));
  g_autoptr (PulmoTensor) dy = random_tensor (rng, n, c, oh, ow, -1, 1);
  g_autoptr (PulmoTensor) dx = random_tensor (rng, n, c, h, w, -1, 1);
  g_autoptr (PulmoTensor) dx_acc = random_tensor (rng, n, c, h, w, -1, 1);
  g_autoptr (PulmoTensor) dx_before = pulmo_tensor_new (n, c, h, w);
  memcpy (dx_before->data, dx_acc->data, pulmo_tensor_numel (dx_acc) * sizeof (float));

  pulmo_maxpool2_forward (x, y, argmax);
  pulmo_maxpool2_backward (dy, argmax, dx, FALSE);
  pulmo_maxpool2_backward (dy, argmax, dx_acc, TRUE);

  for (int p = 0; p < n * c; p++)
    {
      const float *in = x->data + (size_t) p * h * w;
      for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++)
          {
            /* The gradient an input element should receive. */
            float routed = 0;
            if (i / 2 < oh && j / 2 < ow)
              {
                int oi = i / 2, oj = j / 2, best = 0;
                float vals[4] = { in[2 * oi * w + 2 * oj], in[2 * oi * w + 2 * oj + 1],
                                  in[(2 * oi + 1) * w + 2 * oj], in[(2 * oi + 1) * w + 2 * oj + 1] };
                for (int k = 1; k < 4; k++)
                  if (vals[k] > vals[best])
                    best = k;
                size_t o = (size_t) p * oh * ow + oi * ow + oj;
                g_assert_cmpfloat (y->data[o], ==, vals[best]);
                g_assert_cmpuint (argmax[o], ==, best);
                if ((i % 2) * 2 + j % 2 == best)
                  routed = dy->data[o];
              }
            size_t e = (size_t) p * h * w + i * w + j;
            g_assert_cmpfloat (dx->data[e], ==, routed);
            g_assert_cmpfloat (dx_acc->data[e], ==, dx_before->data[e] + routed);
          }
    }

  /* Inference without indices: the same maxima. */
  g_autoptr (PulmoTensor) y2 = pulmo_tensor_new (n, c, oh, ow);
  pulmo_maxpool2_forward (x, y2, NULL);
  g_assert_cmpmem (y2->data, pulmo_tensor_numel (y) * sizeof (float), y->data, pulmo_tensor_numel (y) * sizeof (float));
}

typedef struct {
  PulmoTensor *x, *y, *r;
  uint8_t *argmax;
} PoolCase;

static double
pool_loss (void *data)
{
  PoolCase *pc = data;
  pulmo_maxpool2_forward (pc->x, pc->y, pc->argmax);
  return pulmo_gradcheck_dot (pc->y->data, pc->r->data, pulmo_tensor_numel (pc->y));
}

static void
test_maxpool_gradient (void)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (11);
  g_autoptr (PulmoTensor) x = pulmo_tensor_new (2, 3, 7, 9);
  size_t numel = pulmo_tensor_numel (x);
  /* Distinct values 0.05 apart, shuffled: a perturbation of 1e-3 never
   * changes which element wins. */
  for (size_t i = 0; i < numel; i++)
    x->data[i] = 0.05f * (float) i - 10.0f;
  for (size_t i = numel - 1; i > 0; i--)
    {
      size_t j = (size_t) g_rand_int_range (rng, 0, (gint32) i + 1);
      float t = x->data[i];
      x->data[i] = x->data[j];
      x->data[j] = t;
    }
  g_autoptr (PulmoTensor) y = pulmo_tensor_new (2, 3, 3, 4);
  g_autoptr (PulmoTensor) r = random_tensor (rng, 2, 3, 3, 4, -1, 1);
  g_autofree uint8_t *argmax = g_new (uint8_t, pulmo_tensor_numel (y));
  PoolCase pc = { x, y, r, argmax };

  pool_loss (&pc);
  g_autoptr (PulmoTensor) dx = pulmo_tensor_new (2, 3, 7, 9);
  pulmo_maxpool2_backward (r, argmax, dx, FALSE);
  PulmoGradcheckOptions options = { 1e-3f, 1e-3, 1e-2, 0 };
  pulmo_gradcheck ("maxpool dx", x->data, numel, dx->data, pool_loss, &pc, &options);
}

/* ---- transposed convolution ------------------------------------------- */

static void
upconv_reference (const PulmoTensor *x, const float *weight, const float *bias, PulmoTensor *y)
{
  int c_out = y->c;
  for (int n = 0; n < x->n; n++)
    for (int o = 0; o < c_out; o++)
      for (int i = 0; i < y->h; i++)
        for (int j = 0; j < y->w; j++)
          {
            double sum = bias[o];
            for (int c = 0; c < x->c; c++)
              sum += (double) pulmo_tensor_plane (x, n, c)[(i / 2) * x->w + j / 2]
                     * weight[((c * c_out + o) * 2 + i % 2) * 2 + j % 2];
            pulmo_tensor_plane (y, n, o)[i * y->w + j] = (float) sum;
          }
}

static void
upconv_backward_reference (const PulmoTensor *x, const float *weight, const PulmoTensor *dy,
                           PulmoTensor *dx, float *dweight, float *dbias)
{
  int c_out = dy->c;
  pulmo_tensor_zero (dx);
  for (int n = 0; n < x->n; n++)
    for (int o = 0; o < c_out; o++)
      for (int i = 0; i < dy->h; i++)
        for (int j = 0; j < dy->w; j++)
          {
            float g = pulmo_tensor_plane (dy, n, o)[i * dy->w + j];
            dbias[o] += g;
            for (int c = 0; c < x->c; c++)
              {
                size_t k = ((size_t) (c * c_out + o) * 2 + i % 2) * 2 + j % 2;
                size_t p = (size_t) (i / 2) * x->w + j / 2;
                pulmo_tensor_plane (dx, n, c)[p] += g * weight[k];
                dweight[k] += g * pulmo_tensor_plane (x, n, c)[p];
              }
          }
}

/* Sizes that need several bands per sample and several channel blocks. */
static void
test_upconv_reference (void)
{
  static const int sizes[][5] = {  /* n, c_in, c_out, h, w */
    { 2, 3, 5, 5, 7 },
    { 3, 7, 16, 45, 67 },
    { 1, 32, 64, 9, 3 },
    { 1, 40, 24, 16, 16 }, /* bands of 32 pixels: one whole column panel each */
    { 2, 1, 9, 11, 37 },   /* one input channel; bands of ragged panels */
  };
  g_autoptr (GRand) rng = g_rand_new_with_seed (7);

  for (size_t s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      int n = sizes[s][0], c_in = sizes[s][1], c_out = sizes[s][2], h = sizes[s][3], w = sizes[s][4];
      size_t n_weights = (size_t) c_in * c_out * 4;
      g_autoptr (PulmoTensor) x = random_tensor (rng, n, c_in, h, w, -1, 1);
      g_autofree float *weight = random_floats (rng, n_weights, -1, 1);
      g_autofree float *bias = random_floats (rng, c_out, -1, 1);
      g_autoptr (PulmoTensor) y = pulmo_tensor_new (n, c_out, 2 * h, 2 * w);
      g_autoptr (PulmoTensor) expected = pulmo_tensor_new (n, c_out, 2 * h, 2 * w);

      pulmo_upconv2_forward (x, weight, bias, y);
      upconv_reference (x, weight, bias, expected);
      assert_close ("upconv y", y->data, expected->data, pulmo_tensor_numel (y), 1e-5);

      /* Backward; parameter gradients start non-zero to check they add. */
      g_autoptr (PulmoTensor) dy = random_tensor (rng, n, c_out, 2 * h, 2 * w, -1, 1);
      g_autoptr (PulmoTensor) dx = pulmo_tensor_new (n, c_in, h, w);
      g_autoptr (PulmoTensor) dx_expected = pulmo_tensor_new (n, c_in, h, w);
      g_autofree float *dweight = random_floats (rng, n_weights, -1, 1);
      g_autofree float *dweight_expected = g_memdup2 (dweight, n_weights * sizeof (float));
      g_autofree float *dbias = random_floats (rng, c_out, -1, 1);
      g_autofree float *dbias_expected = g_memdup2 (dbias, c_out * sizeof (float));

      pulmo_upconv2_backward (x, weight, dy, dx, dweight, dbias);
      upconv_backward_reference (x, weight, dy, dx_expected, dweight_expected, dbias_expected);
      assert_close ("upconv dx", dx->data, dx_expected->data, pulmo_tensor_numel (dx), 1e-4);
      /* Sums over up to 3·90·134 terms in float in the reference. */
      assert_close ("upconv dweight", dweight, dweight_expected, n_weights, 2e-3);
      assert_close ("upconv dbias", dbias, dbias_expected, c_out, 2e-3);
    }
}

typedef struct {
  PulmoTensor *x, *y, *r;
  float *weight, *bias;
} UpconvCase;

static double
upconv_loss (void *data)
{
  UpconvCase *uc = data;
  pulmo_upconv2_forward (uc->x, uc->weight, uc->bias, uc->y);
  return pulmo_gradcheck_dot (uc->y->data, uc->r->data, pulmo_tensor_numel (uc->y));
}

static void
test_upconv_gradient (void)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (8);
  int n = 2, c_in = 3, c_out = 4, h = 3, w = 5;
  size_t n_weights = (size_t) c_in * c_out * 4;
  g_autoptr (PulmoTensor) x = random_tensor (rng, n, c_in, h, w, -1, 1);
  g_autofree float *weight = random_floats (rng, n_weights, -1, 1);
  g_autofree float *bias = random_floats (rng, c_out, -1, 1);
  g_autoptr (PulmoTensor) y = pulmo_tensor_new (n, c_out, 2 * h, 2 * w);
  g_autoptr (PulmoTensor) r = random_tensor (rng, n, c_out, 2 * h, 2 * w, -1, 1);
  UpconvCase uc = { x, y, r, weight, bias };

  g_autoptr (PulmoTensor) dx = pulmo_tensor_new (n, c_in, h, w);
  g_autofree float *dweight = g_new0 (float, n_weights);
  g_autofree float *dbias = g_new0 (float, c_out);
  pulmo_upconv2_backward (x, weight, r, dx, dweight, dbias);

  pulmo_gradcheck ("upconv dx", x->data, pulmo_tensor_numel (x), dx->data, upconv_loss, &uc, &smooth_check);
  pulmo_gradcheck ("upconv dweight", weight, n_weights, dweight, upconv_loss, &uc, &smooth_check);
  pulmo_gradcheck ("upconv dbias", bias, c_out, dbias, upconv_loss, &uc, &smooth_check);
}

/* ---- concat ------------------------------------------------------------ */

typedef struct {
  PulmoTensor *a, *b, *y, *r;
} ConcatCase;

static double
concat_loss (void *data)
{
  ConcatCase *cc = data;
  pulmo_concat_forward (cc->a, cc->b, cc->y);
  return pulmo_gradcheck_dot (cc->y->data, cc->r->data, pulmo_tensor_numel (cc->y));
}

static void
test_concat (void)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (9);
  int n = 2, ca = 3, cb = 2, h = 5, w = 3;
  size_t plane = (size_t) h * w;
  g_autoptr (PulmoTensor) a = random_tensor (rng, n, ca, h, w, -1, 1);
  g_autoptr (PulmoTensor) b = random_tensor (rng, n, cb, h, w, -1, 1);
  g_autoptr (PulmoTensor) y = pulmo_tensor_new (n, ca + cb, h, w);

  pulmo_concat_forward (a, b, y);
  for (int s = 0; s < n; s++)
    for (int c = 0; c < ca + cb; c++)
      {
        const float *src = c < ca ? pulmo_tensor_plane (a, s, c) : pulmo_tensor_plane (b, s, c - ca);
        g_assert_cmpmem (pulmo_tensor_plane (y, s, c), plane * sizeof (float), src, plane * sizeof (float));
      }

  /* Backward: a split of dy; accumulate adds onto what is there. */
  g_autoptr (PulmoTensor) r = random_tensor (rng, n, ca + cb, h, w, -1, 1);
  g_autoptr (PulmoTensor) da = pulmo_tensor_new (n, ca, h, w);
  g_autoptr (PulmoTensor) db = pulmo_tensor_new (n, cb, h, w);
  pulmo_concat_backward (r, da, db, FALSE);
  ConcatCase cc = { a, b, y, r };
  pulmo_gradcheck ("concat da", a->data, pulmo_tensor_numel (a), da->data, concat_loss, &cc, &smooth_check);
  pulmo_gradcheck ("concat db", b->data, pulmo_tensor_numel (b), db->data, concat_loss, &cc, &smooth_check);

  pulmo_concat_backward (r, NULL, db, TRUE);
  for (int s = 0; s < n; s++)
    for (int c = 0; c < cb; c++)
      for (size_t i = 0; i < plane; i++)
        g_assert_cmpfloat (pulmo_tensor_plane (db, s, c)[i], ==, 2 * pulmo_tensor_plane (r, s, ca + c)[i]);
}

/* ---- batch normalisation ----------------------------------------------- */

static void
test_batchnorm_forward (void)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (10);
  int n = 3, channels = 4, h = 5, w = 7;
  size_t plane = (size_t) h * w;
  double count = (double) n * plane;
  /* Channel c has mean about 10^c: the large offsets test the two-pass
   * statistics (a one-pass Σx² in float would lose the variance). */
  g_autoptr (PulmoTensor) x = pulmo_tensor_new (n, channels, h, w);
  for (int s = 0; s < n; s++)
    for (int c = 0; c < channels; c++)
      pulmo_gradcheck_fill (rng, pulmo_tensor_plane (x, s, c), plane, pow (10, c) - 2, pow (10, c) + 2);
  float gamma[4] = { 1, 1, 1, 1 }, beta[4] = { 0 };
  float running_mean[4] = { 0 }, running_var[4] = { 1, 1, 1, 1 };
  float save_mean[4], save_inv_std[4];
  g_autoptr (PulmoTensor) y = pulmo_tensor_new (n, channels, h, w);

  pulmo_batchnorm_forward_train (x, gamma, beta, running_mean, running_var,
                                 PULMO_BATCHNORM_MOMENTUM, PULMO_BATCHNORM_EPS, FALSE,
                                 y, save_mean, save_inv_std);

  for (int c = 0; c < channels; c++)
    {
      double mean = 0, var = 0, out_mean = 0, out_var = 0;
      for (int s = 0; s < n; s++)
        for (size_t i = 0; i < plane; i++)
          {
            mean += pulmo_tensor_plane (x, s, c)[i];
            out_mean += pulmo_tensor_plane (y, s, c)[i];
          }
      mean /= count;
      out_mean /= count;
      for (int s = 0; s < n; s++)
        for (size_t i = 0; i < plane; i++)
          {
            var += pow (pulmo_tensor_plane (x, s, c)[i] - mean, 2);
            out_var += pow (pulmo_tensor_plane (y, s, c)[i] - out_mean, 2);
          }
      var /= count;
      out_var /= count;

      /* The output is normalised ... */
      g_assert_cmpfloat_with_epsilon (out_mean, 0.0, 1e-4);
      g_assert_cmpfloat_with_epsilon (out_var, var / (var + PULMO_BATCHNORM_EPS), 1e-3);
      /* ... the saved statistics are the batch's ... */
      g_assert_cmpfloat_with_epsilon (save_mean[c], mean, 1e-6 * MAX (1.0, fabs (mean)));
      g_assert_cmpfloat_with_epsilon (save_inv_std[c], 1.0 / sqrt (var + PULMO_BATCHNORM_EPS), 1e-4);
      /* ... and the running ones moved by momentum, variance unbiased. */
      g_assert_cmpfloat_with_epsilon (running_mean[c], 0.1 * mean, 1e-6 * MAX (1.0, fabs (mean)));
      g_assert_cmpfloat_with_epsilon (running_var[c], 0.9 + 0.1 * var * count / (count - 1), 1e-5);
    }

  /* The fused BN + ReLU equals ReLU after BN, bit for bit, and updates the
   * running statistics the same way. */
  g_autoptr (PulmoTensor) fused = pulmo_tensor_new (n, channels, h, w);
  float fused_mean[4] = { 0 }, fused_var[4] = { 1, 1, 1, 1 }, fused_save[4], fused_inv[4];
  pulmo_batchnorm_forward_train (x, gamma, beta, fused_mean, fused_var,
                                 PULMO_BATCHNORM_MOMENTUM, PULMO_BATCHNORM_EPS, TRUE,
                                 fused, fused_save, fused_inv);
  pulmo_relu_forward (y, y);
  g_assert_cmpmem (fused->data, pulmo_tensor_numel (y) * sizeof (float), y->data, pulmo_tensor_numel (y) * sizeof (float));
  g_assert_cmpmem (fused_mean, sizeof fused_mean, running_mean, sizeof running_mean);
  g_assert_cmpmem (fused_var, sizeof fused_var, running_var, sizeof running_var);

  /* Inference = scale · x + shift from the fold, also in place. */
  float g2[4] = { 0.5f, -2, 1.5f, 3 }, b2[4] = { 1, 0, -1, 0.25f };
  float scale[4], shift[4];
  pulmo_batchnorm_fold (channels, g2, b2, running_mean, running_var, PULMO_BATCHNORM_EPS, scale, shift);
  pulmo_batchnorm_forward_infer (x, g2, b2, running_mean, running_var, PULMO_BATCHNORM_EPS, y);
  for (int s = 0; s < n; s++)
    for (int c = 0; c < channels; c++)
      for (size_t i = 0; i < plane; i++)
        {
          double xv = pulmo_tensor_plane (x, s, c)[i];
          double expected = g2[c] * (xv - running_mean[c]) / sqrt (running_var[c] + PULMO_BATCHNORM_EPS) + b2[c];
          g_assert_cmpfloat_with_epsilon (pulmo_tensor_plane (y, s, c)[i], expected, 1e-4 * MAX (1.0, fabs (expected)));
          g_assert_cmpfloat_with_epsilon (pulmo_tensor_plane (y, s, c)[i], scale[c] * xv + shift[c], 1e-4 * MAX (1.0, fabs (expected)));
        }
  pulmo_batchnorm_forward_infer (x, g2, b2, running_mean, running_var, PULMO_BATCHNORM_EPS, x);
  g_assert_cmpmem (x->data, pulmo_tensor_numel (x) * sizeof (float), y->data, pulmo_tensor_numel (y) * sizeof (float));
}

typedef struct {
  PulmoTensor *x, *y, *r;
  float *gamma, *beta;
  float running_mean[8], running_var[8], save_mean[8], save_inv_std[8];
} BatchnormCase;

static double
batchnorm_loss (void *data)
{
  BatchnormCase *bc = data;
  pulmo_batchnorm_forward_train (bc->x, bc->gamma, bc->beta, bc->running_mean, bc->running_var,
                                 PULMO_BATCHNORM_MOMENTUM, PULMO_BATCHNORM_EPS, FALSE,
                                 bc->y, bc->save_mean, bc->save_inv_std);
  return pulmo_gradcheck_dot (bc->y->data, bc->r->data, pulmo_tensor_numel (bc->y));
}

static void
test_batchnorm_gradient (void)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (12);
  int n = 2, channels = 3, h = 3, w = 5;
  g_autoptr (PulmoTensor) x = random_tensor (rng, n, channels, h, w, -2, 3);
  g_autofree float *gamma = random_floats (rng, channels, 0.5, 2);
  g_autofree float *beta = random_floats (rng, channels, -1, 1);
  g_autoptr (PulmoTensor) y = pulmo_tensor_new (n, channels, h, w);
  g_autoptr (PulmoTensor) r = random_tensor (rng, n, channels, h, w, -1, 1);
  BatchnormCase bc = { x, y, r, gamma, beta, { 0 }, { 0 }, { 0 }, { 0 } };

  batchnorm_loss (&bc);
  g_autoptr (PulmoTensor) dx = pulmo_tensor_new (n, channels, h, w);
  float dgamma[3] = { 1, 2, 3 }, dbeta[3] = { -1, -2, -3 };  /* accumulated onto */
  pulmo_batchnorm_backward (x, r, gamma, bc.save_mean, bc.save_inv_std, dx, dgamma, dbeta);
  for (int c = 0; c < channels; c++)
    {
      dgamma[c] -= (float) (c + 1);
      dbeta[c] += (float) (c + 1);
    }

  PulmoGradcheckOptions options = { 1e-2f, 2e-3, 2e-2, 0 };
  pulmo_gradcheck ("batchnorm dx", x->data, pulmo_tensor_numel (x), dx->data, batchnorm_loss, &bc, &options);
  pulmo_gradcheck ("batchnorm dgamma", gamma, channels, dgamma, batchnorm_loss, &bc, &options);
  pulmo_gradcheck ("batchnorm dbeta", beta, channels, dbeta, batchnorm_loss, &bc, &options);

  /* dx may overwrite dy. */
  g_autoptr (PulmoTensor) dy = pulmo_tensor_new (n, channels, h, w);
  memcpy (dy->data, r->data, pulmo_tensor_numel (r) * sizeof (float));
  pulmo_batchnorm_backward (x, dy, gamma, bc.save_mean, bc.save_inv_std, dy, NULL, NULL);
  g_assert_cmpmem (dy->data, pulmo_tensor_numel (dy) * sizeof (float), dx->data, pulmo_tensor_numel (dx) * sizeof (float));
}

/* ---- ReLU and softmax -------------------------------------------------- */

typedef struct {
  PulmoTensor *x, *y, *r;
} UnaryCase;

static double
relu_loss (void *data)
{
  UnaryCase *uc = data;
  pulmo_relu_forward (uc->x, uc->y);
  return pulmo_gradcheck_dot (uc->y->data, uc->r->data, pulmo_tensor_numel (uc->y));
}

static void
test_relu (void)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (13);
  int n = 2, c = 3, h = 5, w = 7;
  g_autoptr (PulmoTensor) x = random_tensor (rng, n, c, h, w, -1, 1);
  size_t numel = pulmo_tensor_numel (x);
  /* Keep away from the kink at 0, where the derivative is not defined. */
  for (size_t i = 0; i < numel; i++)
    x->data[i] += x->data[i] >= 0 ? 0.1f : -0.1f;
  g_autoptr (PulmoTensor) y = pulmo_tensor_new (n, c, h, w);
  g_autoptr (PulmoTensor) r = random_tensor (rng, n, c, h, w, -1, 1);

  pulmo_relu_forward (x, y);
  for (size_t i = 0; i < numel; i++)
    g_assert_cmpfloat (y->data[i], ==, x->data[i] > 0 ? x->data[i] : 0);

  g_autoptr (PulmoTensor) dx = pulmo_tensor_new (n, c, h, w);
  pulmo_relu_backward (y, r, dx);
  UnaryCase uc = { x, y, r };
  pulmo_gradcheck ("relu dx", x->data, numel, dx->data, relu_loss, &uc, &smooth_check);

  /* In place, forward and backward. */
  g_autoptr (PulmoTensor) z = pulmo_tensor_new (n, c, h, w);
  memcpy (z->data, x->data, numel * sizeof (float));
  pulmo_relu_forward (z, z);
  g_assert_cmpmem (z->data, numel * sizeof (float), y->data, numel * sizeof (float));
  pulmo_relu_backward (y, r, r);
  g_assert_cmpmem (r->data, numel * sizeof (float), dx->data, numel * sizeof (float));
}

static double
softmax_loss (void *data)
{
  UnaryCase *uc = data;
  pulmo_softmax_forward (uc->x, uc->y);
  return pulmo_gradcheck_dot (uc->y->data, uc->r->data, pulmo_tensor_numel (uc->y));
}

static void
test_softmax (void)
{
  /* Hand values: logits (0, ln 2, ln 3) → (1, 2, 3) / 6; a huge logit
   * neither overflows nor makes NaN. */
  g_autoptr (PulmoTensor) small = pulmo_tensor_new (1, 3, 1, 2);
  float logits[6] = { 0, 1000, logf (2), 0, logf (3), -1000 };
  memcpy (small->data, logits, sizeof logits);
  pulmo_softmax_forward (small, small);
  g_assert_cmpfloat_with_epsilon (small->data[0], 1.0 / 6, 1e-6);
  g_assert_cmpfloat_with_epsilon (small->data[2], 2.0 / 6, 1e-6);
  g_assert_cmpfloat_with_epsilon (small->data[4], 3.0 / 6, 1e-6);
  g_assert_cmpfloat (small->data[1], ==, 1.0f);
  g_assert_cmpfloat (small->data[3], ==, 0.0f);
  g_assert_cmpfloat (small->data[5], ==, 0.0f);

  /* Sums to 1 over channels, on a plane longer than one internal run. */
  g_autoptr (GRand) rng = g_rand_new_with_seed (14);
  int n = 2, c = 5, h = 17, w = 19;
  g_autoptr (PulmoTensor) x = random_tensor (rng, n, c, h, w, -8, 8);
  g_autoptr (PulmoTensor) y = pulmo_tensor_new (n, c, h, w);
  pulmo_softmax_forward (x, y);
  for (int s = 0; s < n; s++)
    for (int i = 0; i < h * w; i++)
      {
        double sum = 0;
        for (int k = 0; k < c; k++)
          {
            float p = pulmo_tensor_plane (y, s, k)[i];
            g_assert_true (p >= 0 && p <= 1);
            sum += p;
          }
        g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-5);
      }

  /* Gradient, on a smaller tensor. */
  g_autoptr (PulmoTensor) gx = random_tensor (rng, 2, 4, 3, 5, -2, 2);
  g_autoptr (PulmoTensor) gy = pulmo_tensor_new (2, 4, 3, 5);
  g_autoptr (PulmoTensor) r = random_tensor (rng, 2, 4, 3, 5, -1, 1);
  pulmo_softmax_forward (gx, gy);
  g_autoptr (PulmoTensor) dx = pulmo_tensor_new (2, 4, 3, 5);
  pulmo_softmax_backward (gy, r, dx);
  UnaryCase uc = { gx, gy, r };
  PulmoGradcheckOptions options = { 1e-2f, 1e-4, 1e-2, 0 };
  pulmo_gradcheck ("softmax dx", gx->data, pulmo_tensor_numel (gx), dx->data, softmax_loss, &uc, &options);
}

/* ---- loss -------------------------------------------------------------- */

/* The loss straight from its definition in loss.h, in double. */
static double
reference_loss (const PulmoTensor *logits, const uint16_t *masks, const PulmoSegLossOptions *options)
{
  int k = logits->c;
  size_t plane = (size_t) logits->h * logits->w;
  unsigned all = (1u << k) - 1;
  double ce = 0, ce_weight = 0;
  double inter[PULMO_LOSS_MAX_CLASSES] = { 0 }, pred[PULMO_LOSS_MAX_CLASSES] = { 0 };
  double target[PULMO_LOSS_MAX_CLASSES] = { 0 };
  gboolean known_any[PULMO_LOSS_MAX_CLASSES] = { 0 };

  for (int n = 0; n < logits->n; n++)
    for (size_t i = 0; i < plane; i++)
      {
        unsigned m = masks[n * plane + i] & all;
        if (m == 0 || m == all)
          continue;
        double p[PULMO_LOSS_MAX_CLASSES], sum = 0, allowed = 0, w = 0;
        int n_allowed = 0;
        for (int c = 0; c < k; c++)
          sum += p[c] = exp (pulmo_tensor_plane (logits, n, c)[i]);
        for (int c = 0; c < k; c++)
          {
            p[c] /= sum;
            if (m & (1u << c))
              {
                allowed += p[c];
                w += options->class_weights != NULL ? options->class_weights[c] : 1.0;
                n_allowed++;
              }
          }
        w /= n_allowed;
        ce += -w * log (allowed);
        ce_weight += w;
        for (int c = 0; c < k; c++)
          {
            if (m != (1u << c) && (m & (1u << c)))
              continue;
            double t = m == (1u << c);
            inter[c] += p[c] * t;
            pred[c] += p[c];
            target[c] += t;
            known_any[c] = TRUE;
          }
      }

  double dice = 0;
  int present = 0;
  for (int c = 0; c < k; c++)
    if (known_any[c])
      {
        dice += (2 * inter[c] + options->dice_smooth) / (pred[c] + target[c] + options->dice_smooth);
        present++;
      }
  dice = present > 0 ? 1 - dice / present : 0;
  return options->ce_weight * (ce_weight > 0 ? ce / ce_weight : 0) + options->dice_weight * dice;
}

static void
test_loss_perfect (void)
{
  /* Logits of 40 for the true class: p = 1 up to e^-40, so both terms ~0. */
  g_autoptr (GRand) rng = g_rand_new_with_seed (15);
  int n = 2, k = 4, h = 5, w = 7;
  size_t plane = (size_t) h * w;
  g_autoptr (PulmoTensor) logits = pulmo_tensor_new (n, k, h, w);
  g_autofree uint16_t *masks = g_new (uint16_t, n * plane);
  for (int s = 0; s < n; s++)
    for (size_t i = 0; i < plane; i++)
      {
        int c = g_rand_int_range (rng, 0, k);
        masks[s * plane + i] = (uint16_t) (1u << c);
        pulmo_tensor_plane (logits, s, c)[i] = 40;
      }
  PulmoSegLossOptions options = { NULL, 1, 1, 1 };
  PulmoSegLossParts parts;
  g_autoptr (PulmoTensor) grad = pulmo_tensor_new (n, k, h, w);
  double loss = pulmo_seg_loss (logits, masks, &options, grad, &parts);
  g_assert_cmpfloat (loss, <, 1e-6);
  g_assert_cmpfloat (loss, >=, 0);
  g_assert_cmpint (parts.n_labelled, ==, n * plane);
  for (size_t i = 0; i < pulmo_tensor_numel (grad); i++)
    g_assert_cmpfloat (fabs (grad->data[i]), <, 1e-6);

  /* The opposite prediction costs a lot: CE ≈ 40, Dice ≈ 1. */
  for (size_t i = 0; i < pulmo_tensor_numel (logits); i++)
    logits->data[i] = 40 - logits->data[i];
  loss = pulmo_seg_loss (logits, masks, &options, NULL, &parts);
  g_assert_cmpfloat (parts.ce, >, 39);
  g_assert_cmpfloat (parts.dice, >, 0.9);
}

static void
test_loss_partial_ce (void)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (16);
  int k = 5;
  g_autoptr (PulmoTensor) logits = random_tensor (rng, 1, k, 1, 1, -3, 3);
  PulmoSegLossOptions ce_only = { NULL, 1, 0, 1 };

  /* One pixel allowed {1, 2} (lung, side unknown): -log (p1 + p2). */
  uint16_t mask = (1u << 1) | (1u << 2);
  double sum = 0;
  for (int c = 0; c < k; c++)
    sum += exp (logits->data[c]);
  double expected = -log ((exp (logits->data[1]) + exp (logits->data[2])) / sum);
  double loss = pulmo_seg_loss (logits, &mask, &ce_only, NULL, NULL);
  g_assert_cmpfloat_with_epsilon (loss, expected, 1e-5);

  /* A single allowed class is ordinary cross-entropy. */
  mask = 1u << 3;
  loss = pulmo_seg_loss (logits, &mask, &ce_only, NULL, NULL);
  g_assert_cmpfloat_with_epsilon (loss, -log (exp (logits->data[3]) / sum), 1e-5);

  /* An allowed class far below the others: -log p stays finite and right
   * (p underflows in float, the log-sum-exp does not). */
  logits->data[4] = -200;
  mask = 1u << 4;
  loss = pulmo_seg_loss (logits, &mask, &ce_only, NULL, NULL);
  sum = 0;
  for (int c = 0; c < 4; c++)
    sum += exp (logits->data[c]);
  g_assert_cmpfloat_with_epsilon (loss, log (sum) + 200, 1e-3);
  /* ... and so does its gradient: p - q with q = (0, 0, 0, 0, 1). */
  g_autoptr (PulmoTensor) grad = pulmo_tensor_new (1, k, 1, 1);
  pulmo_seg_loss (logits, &mask, &ce_only, grad, NULL);
  for (int c = 0; c < 4; c++)
    g_assert_cmpfloat_with_epsilon (grad->data[c], exp (logits->data[c]) / sum, 1e-6);
  g_assert_cmpfloat_with_epsilon (grad->data[4], -1.0, 1e-6);

  /* Class weights with mixed pixels, against the definition. */
  int n = 2, h = 3, w = 5;
  size_t plane = (size_t) h * w;
  g_autoptr (PulmoTensor) many = random_tensor (rng, n, k, h, w, -3, 3);
  g_autofree uint16_t *masks = g_new (uint16_t, n * plane);
  for (size_t i = 0; i < n * plane; i++)
    masks[i] = (uint16_t) g_rand_int_range (rng, 1, 1 << k);
  float weights[5] = { 0.25f, 1, 2, 3, 1.5f };
  PulmoSegLossOptions weighted = { weights, 1, 0, 1 };
  g_assert_cmpfloat_with_epsilon (pulmo_seg_loss (many, masks, &weighted, NULL, NULL),
                                  reference_loss (many, masks, &weighted), 1e-5);
}

static void
test_loss_dice (void)
{
  /* Two classes, four pixels: targets {0}, {1}, {1}, {0,1} (unlabelled). */
  float logits[8] = { 2, 0, -1, 3, /* class 0 */ 0, 1, 0.5f, -3 /* class 1 */ };
  g_autoptr (PulmoTensor) t = pulmo_tensor_new (1, 2, 2, 2);
  memcpy (t->data, logits, sizeof logits);
  uint16_t masks[4] = { 1, 2, 2, 3 };
  double p1[3];
  for (int i = 0; i < 3; i++)
    p1[i] = 1 / (1 + exp (logits[i] - logits[4 + i]));
  /* D_0 = (2 p0(px0) + 1) / (Σ p0 + 1 + 1), D_1 = (2 (p1(1) + p1(2)) + 1) / (Σ p1 + 2 + 1) */
  double d0 = (2 * (1 - p1[0]) + 1) / ((3 - p1[0] - p1[1] - p1[2]) + 1 + 1);
  double d1 = (2 * (p1[1] + p1[2]) + 1) / ((p1[0] + p1[1] + p1[2]) + 2 + 1);
  PulmoSegLossOptions dice_only = { NULL, 0, 1, 1 };
  PulmoSegLossParts parts;
  double loss = pulmo_seg_loss (t, masks, &dice_only, NULL, &parts);
  g_assert_cmpfloat_with_epsilon (loss, 1 - (d0 + d1) / 2, 1e-6);
  g_assert_cmpfloat_with_epsilon (parts.dice, loss, 1e-12);
  g_assert_cmpint (parts.n_labelled, ==, 3);

  /* Partial labels and classes without known pixels, against the definition:
   * K = 4 where only {0}, {2,3} and unlabelled pixels occur, so classes 2 and
   * 3 have no known pixel, 1 has known negatives only. */
  g_autoptr (GRand) rng = g_rand_new_with_seed (17);
  g_autoptr (PulmoTensor) many = random_tensor (rng, 2, 4, 3, 5, -3, 3);
  uint16_t choices[3] = { 1, 12, 15 };
  uint16_t many_masks[30];
  for (int i = 0; i < 30; i++)
    many_masks[i] = choices[i % 3];
  PulmoSegLossOptions both = { NULL, 1, 1, 1 };
  g_assert_cmpfloat_with_epsilon (pulmo_seg_loss (many, many_masks, &both, NULL, NULL),
                                  reference_loss (many, many_masks, &both), 1e-5);

  /* A class known only as absent, predicted so unlikely that its float
   * probabilities underflow to 0, still counts (D = s / s = 1). */
  g_autoptr (PulmoTensor) three = random_tensor (rng, 2, 3, 3, 5, -1, 1);
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < 15; i++)
      pulmo_tensor_plane (three, s, 2)[i] = -200;
  uint16_t only_0[30];
  for (int i = 0; i < 30; i++)
    only_0[i] = i % 2 ? 1 : 3;
  g_assert_cmpfloat_with_epsilon (pulmo_seg_loss (three, only_0, &both, NULL, NULL),
                                  reference_loss (three, only_0, &both), 1e-5);

  /* Nothing labelled: loss 0, gradient 0. */
  for (int i = 0; i < 30; i++)
    many_masks[i] = i % 2 ? 15 : 0;
  g_autoptr (PulmoTensor) grad = pulmo_tensor_new (2, 4, 3, 5);
  g_assert_cmpfloat (pulmo_seg_loss (many, many_masks, &both, grad, NULL), ==, 0);
  for (size_t i = 0; i < pulmo_tensor_numel (grad); i++)
    g_assert_cmpfloat (grad->data[i], ==, 0);
}

static void
test_loss_unlabelled (void)
{
  /* Pixels whose mask allows every class (also with stray bits above K),
   * or none, have zero gradient, and their logits do not change the loss. */
  g_autoptr (GRand) rng = g_rand_new_with_seed (18);
  int n = 2, k = 4, h = 5, w = 7;
  size_t plane = (size_t) h * w;
  g_autoptr (PulmoTensor) logits = random_tensor (rng, n, k, h, w, -3, 3);
  g_autofree uint16_t *masks = g_new (uint16_t, n * plane);
  for (size_t i = 0; i < n * plane; i++)
    masks[i] = i % 3 == 0 ? (i % 2 ? 0xffff : 0x000f) : i % 7 == 0 ? 0x0010 : (uint16_t) g_rand_int_range (rng, 1, 15);
  PulmoSegLossOptions options = { NULL, 1, 1, 1 };
  g_autoptr (PulmoTensor) grad = pulmo_tensor_new (n, k, h, w);
  double loss = pulmo_seg_loss (logits, masks, &options, grad, NULL);

  for (int s = 0; s < n; s++)
    for (size_t i = 0; i < plane; i++)
      {
        unsigned m = masks[s * plane + i] & 0xf;
        if (m != 0 && m != 0xf)
          continue;
        for (int c = 0; c < k; c++)
          {
            g_assert_cmpfloat (pulmo_tensor_plane (grad, s, c)[i], ==, 0);
            pulmo_tensor_plane (logits, s, c)[i] = (float) g_rand_double_range (rng, -50, 50);
          }
      }
  g_assert_cmpfloat_with_epsilon (pulmo_seg_loss (logits, masks, &options, NULL, NULL), loss, 1e-6);
}

typedef struct {
  PulmoTensor *logits;
  const uint16_t *masks;
  const PulmoSegLossOptions *options;
} LossCase;

static double
seg_loss (void *data)
{
  LossCase *lc = data;
  return pulmo_seg_loss (lc->logits, lc->masks, lc->options, NULL, NULL);
}

static void
test_loss_gradient (void)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (19);
  for (int k = 4; k <= 6; k++)
    {
      int n = 2, h = 3, w = 5;
      size_t plane = (size_t) h * w;
      g_autoptr (PulmoTensor) logits = random_tensor (rng, n, k, h, w, -2, 2);
      g_autofree uint16_t *masks = g_new (uint16_t, n * plane);
      /* Singletons, partial sets and unlabelled pixels from the label map
       * convention, values 0..9. */
      for (size_t i = 0; i < n * plane; i++)
        masks[i] = pulmo_label_mask ((unsigned) g_rand_int_range (rng, 0, 10), k);
      g_autofree float *weights = random_floats (rng, k, 0.2, 3);
      PulmoSegLossOptions options = { weights, 1, 0.7f, 1 };
      LossCase lc = { logits, masks, &options };

      g_autoptr (PulmoTensor) grad = pulmo_tensor_new (n, k, h, w);
      double loss = pulmo_seg_loss (logits, masks, &options, grad, NULL);
      g_assert_cmpfloat_with_epsilon (loss, reference_loss (logits, masks, &options), 1e-5);
      PulmoGradcheckOptions check = { 1e-2f, 2e-5, 1e-2, 0 };
      pulmo_gradcheck ("loss dlogits", logits->data, pulmo_tensor_numel (logits), grad->data,
                       seg_loss, &lc, &check);
    }
}

/* ---- label masks ------------------------------------------------------- */

static void
test_label_mask (void)
{
  /* Value → allowed classes, for 4-, 5- and 6-class models. */
  static const struct { unsigned label; uint16_t k4, k5, k6; } cases[] = {
    { 0, 0x01, 0x01, 0x01 },
    { 1, 0x02, 0x02, 0x02 },
    { 2, 0x02, 0x04, 0x04 },
    { 3, 0x04, 0x08, 0x08 },
    { 4, 0x08, 0x10, 0x10 },
    { 5, 0x01, 0x01, 0x20 },
    { 6, 0x02, 0x06, 0x06 },
    { 7, 0x0c, 0x18, 0x18 },
    { 8, 0x03, 0x07, 0x27 },
    { 9, 0x0f, 0x1f, 0x3f },
    { 255, 0x0f, 0x1f, 0x3f },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_assert_cmphex (pulmo_label_mask (cases[i].label, 4), ==, cases[i].k4);
      g_assert_cmphex (pulmo_label_mask (cases[i].label, 5), ==, cases[i].k5);
      g_assert_cmphex (pulmo_label_mask (cases[i].label, 6), ==, cases[i].k6);
    }

  uint8_t labels[4] = { 0, 7, 8, 200 };
  uint16_t masks[4];
  g_autoptr (GError) error = NULL;
  g_assert_true (pulmo_label_masks_from_labels (labels, 4, 4, masks, &error));
  g_assert_no_error (error);
  g_assert_cmphex (masks[1], ==, 0x0c);
  g_assert_cmphex (masks[3], ==, 0x0f);
  g_assert_false (pulmo_label_mask_supported (3));
  g_assert_false (pulmo_label_masks_from_labels (labels, 4, 3, masks, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED);
}

/* ---- determinism across threads ---------------------------------------- */

typedef struct {
  const PulmoTensor *x;
  const float *weight, *bias;
  const uint16_t *masks;
  PulmoTensor *y;       /* upconv output, then the logits' gradient */
  PulmoTensor *dx;
  float *dweight;
  double loss;
} RunCase;

/* A little forward/backward chain: upconv → BN → ReLU → softmax-free loss. */
static gpointer
run_chain (gpointer data)
{
  RunCase *rc = data;
  int c_out = rc->y->c;
  g_autoptr (PulmoTensor) bn = pulmo_tensor_new (rc->y->n, c_out, rc->y->h, rc->y->w);
  g_autoptr (PulmoTensor) grad = pulmo_tensor_new (rc->y->n, c_out, rc->y->h, rc->y->w);
  float gamma[4] = { 1, 0.5f, 2, 1 }, beta[4] = { 0, 0.1f, -0.2f, 0.3f };
  float running_mean[4] = { 0 }, running_var[4] = { 1, 1, 1, 1 }, mean[4], inv_std[4];
  float dgamma[4] = { 0 }, dbeta[4] = { 0 };
  PulmoSegLossOptions options = { NULL, 1, 1, 1 };

  pulmo_upconv2_forward (rc->x, rc->weight, rc->bias, rc->y);
  pulmo_batchnorm_forward_train (rc->y, gamma, beta, running_mean, running_var,
                                 PULMO_BATCHNORM_MOMENTUM, PULMO_BATCHNORM_EPS, FALSE, bn, mean,
                                 inv_std);
  pulmo_relu_forward (bn, bn);
  rc->loss = pulmo_seg_loss (bn, rc->masks, &options, grad, NULL);
  pulmo_relu_backward (bn, grad, grad);
  pulmo_batchnorm_backward (rc->y, grad, gamma, mean, inv_std, grad, dgamma, dbeta);
  pulmo_upconv2_backward (rc->x, rc->weight, grad, rc->dx, rc->dweight, NULL);
  return NULL;
}

static void
test_threads_identical (void)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (20);
  int n = 2, c_in = 16, c_out = 4, h = 48, w = 40;
  size_t n_weights = (size_t) c_in * c_out * 4;
  g_autoptr (PulmoTensor) x = random_tensor (rng, n, c_in, h, w, -1, 1);
  g_autofree float *weight = random_floats (rng, n_weights, -0.5, 0.5);
  g_autofree float *bias = random_floats (rng, c_out, -0.1, 0.1);
  size_t pixels = (size_t) n * 4 * h * w;
  g_autofree uint16_t *masks = g_new (uint16_t, pixels);
  for (size_t i = 0; i < pixels; i++)
    masks[i] = pulmo_label_mask ((unsigned) g_rand_int_range (rng, 0, 9), 4);

  RunCase runs[3];
  for (int i = 0; i < 3; i++)
    {
      runs[i] = (RunCase) { x, weight, bias, masks, pulmo_tensor_new (n, c_out, 2 * h, 2 * w),
                            pulmo_tensor_new (n, c_in, h, w), g_new0 (float, n_weights), 0 };
    }
  /* One run alone, then two at the same time. */
  run_chain (&runs[0]);
  GThread *a = g_thread_new ("chain-a", run_chain, &runs[1]);
  GThread *b = g_thread_new ("chain-b", run_chain, &runs[2]);
  g_thread_join (a);
  g_thread_join (b);

  for (int i = 1; i < 3; i++)
    {
      g_assert_cmpfloat (runs[i].loss, ==, runs[0].loss);
      g_assert_cmpmem (runs[i].y->data, pulmo_tensor_numel (runs[i].y) * sizeof (float),
                       runs[0].y->data, pulmo_tensor_numel (runs[0].y) * sizeof (float));
      g_assert_cmpmem (runs[i].dx->data, pulmo_tensor_numel (x) * sizeof (float),
                       runs[0].dx->data, pulmo_tensor_numel (x) * sizeof (float));
      g_assert_cmpmem (runs[i].dweight, n_weights * sizeof (float), runs[0].dweight, n_weights * sizeof (float));
    }
  for (int i = 0; i < 3; i++)
    {
      pulmo_tensor_free (runs[i].y);
      pulmo_tensor_free (runs[i].dx);
      g_free (runs[i].dweight);
    }
}

/* FNV-1a over the bytes of @n floats, continuing from @hash. */
static guint64
fingerprint_floats (guint64 hash, const float *values, size_t n)
{
  const guint8 *bytes = (const guint8 *) values;
  for (size_t i = 0; i < n * sizeof (float); i++)
    hash = (hash ^ bytes[i]) * 0x100000001b3ull;
  return hash;
}

/* Every operation with a reduction, on shapes that need several bands, blocks
 * and work items, reduced to one number. */
static guint64
ops_fingerprint (void)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (22);
  int n = 3, c_in = 24, c_out = 20, h = 48, w = 80;
  size_t n_weights = (size_t) c_in * c_out * 4;
  g_autoptr (PulmoTensor) x = random_tensor (rng, n, c_in, h, w, -1, 1);
  g_autofree float *weight = random_floats (rng, n_weights, -0.5, 0.5);
  g_autofree float *bias = random_floats (rng, c_out, -0.1, 0.1);
  g_autoptr (PulmoTensor) y = pulmo_tensor_new (n, c_out, 2 * h, 2 * w);
  g_autoptr (PulmoTensor) bn = pulmo_tensor_new (n, c_out, 2 * h, 2 * w);
  g_autoptr (PulmoTensor) dy = random_tensor (rng, n, c_out, 2 * h, 2 * w, -1, 1);
  g_autoptr (PulmoTensor) dx = pulmo_tensor_new (n, c_in, h, w);
  g_autofree float *dweight = g_new0 (float, n_weights);
  g_autofree float *dbias = g_new0 (float, c_out);
  g_autofree float *gamma = random_floats (rng, c_out, 0.5, 2);
  g_autofree float *beta = random_floats (rng, c_out, -1, 1);
  g_autofree float *running_mean = g_new0 (float, c_out);
  g_autofree float *running_var = g_new0 (float, c_out);
  g_autofree float *mean = g_new (float, c_out);
  g_autofree float *inv_std = g_new (float, c_out);
  g_autofree float *dgamma = g_new0 (float, c_out);
  g_autofree float *dbeta = g_new0 (float, c_out);

  pulmo_upconv2_forward (x, weight, bias, y);
  pulmo_upconv2_backward (x, weight, dy, dx, dweight, dbias);
  pulmo_batchnorm_forward_train (y, gamma, beta, running_mean, running_var,
                                 PULMO_BATCHNORM_MOMENTUM, PULMO_BATCHNORM_EPS, TRUE, bn, mean,
                                 inv_std);
  pulmo_relu_backward (bn, dy, dy);
  pulmo_batchnorm_backward (y, dy, gamma, mean, inv_std, dy, dgamma, dbeta);

  int k = 5;
  g_autoptr (PulmoTensor) logits = random_tensor (rng, n, k, 2 * h, 2 * w, -3, 3);
  g_autoptr (PulmoTensor) grad = pulmo_tensor_new (n, k, 2 * h, 2 * w);
  size_t pixels = (size_t) n * 4 * h * w;
  g_autofree uint16_t *masks = g_new (uint16_t, pixels);
  for (size_t i = 0; i < pixels; i++)
    masks[i] = pulmo_label_mask ((unsigned) g_rand_int_range (rng, 0, 10), k);
  PulmoSegLossOptions options = { NULL, 1, 1, 1 };
  float loss = (float) pulmo_seg_loss (logits, masks, &options, grad, NULL);

  guint64 hash = 0xcbf29ce484222325ull;
  hash = fingerprint_floats (hash, y->data, pulmo_tensor_numel (y));
  hash = fingerprint_floats (hash, dx->data, pulmo_tensor_numel (dx));
  hash = fingerprint_floats (hash, dweight, n_weights);
  hash = fingerprint_floats (hash, dbias, c_out);
  hash = fingerprint_floats (hash, bn->data, pulmo_tensor_numel (bn));
  hash = fingerprint_floats (hash, dy->data, pulmo_tensor_numel (dy));
  hash = fingerprint_floats (hash, running_var, c_out);
  hash = fingerprint_floats (hash, dgamma, c_out);
  hash = fingerprint_floats (hash, &loss, 1);
  hash = fingerprint_floats (hash, grad->data, pulmo_tensor_numel (grad));
  return hash;
}

/* Reproducible runs: the same bits with 1, 2 or 3 worker threads (each count
 * in its own process, as the pool is sized once per process). */
static void
test_thread_count_independent (void)
{
  if (g_test_subprocess ())
    {
      g_print ("fingerprint %016" G_GINT64_MODIFIER "x\n", ops_fingerprint ());
      return;
    }
  g_autofree char *expected = g_strdup_printf ("*fingerprint %016" G_GINT64_MODIFIER "x*",
                                               ops_fingerprint ());
  const char *counts[] = { "1", "2", "3" };
  for (size_t i = 0; i < G_N_ELEMENTS (counts); i++)
    {
      g_setenv ("PULMO_NUM_THREADS", counts[i], TRUE);
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      g_test_trap_assert_stdout (expected);
    }
  g_unsetenv ("PULMO_NUM_THREADS");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/nn/ops/maxpool/forward", test_maxpool_forward);
  g_test_add_func ("/nn/ops/maxpool/reference", test_maxpool_reference);
  g_test_add_func ("/nn/ops/maxpool/gradient", test_maxpool_gradient);
  g_test_add_func ("/nn/ops/upconv/reference", test_upconv_reference);
  g_test_add_func ("/nn/ops/upconv/gradient", test_upconv_gradient);
  g_test_add_func ("/nn/ops/concat", test_concat);
  g_test_add_func ("/nn/ops/batchnorm/forward", test_batchnorm_forward);
  g_test_add_func ("/nn/ops/batchnorm/gradient", test_batchnorm_gradient);
  g_test_add_func ("/nn/ops/relu", test_relu);
  g_test_add_func ("/nn/ops/softmax", test_softmax);
  g_test_add_func ("/nn/ops/loss/perfect", test_loss_perfect);
  g_test_add_func ("/nn/ops/loss/partial-ce", test_loss_partial_ce);
  g_test_add_func ("/nn/ops/loss/dice", test_loss_dice);
  g_test_add_func ("/nn/ops/loss/unlabelled", test_loss_unlabelled);
  g_test_add_func ("/nn/ops/loss/gradient", test_loss_gradient);
  g_test_add_func ("/nn/ops/label-mask", test_label_mask);
  g_test_add_func ("/nn/ops/threads-identical", test_threads_identical);
  g_test_add_func ("/nn/ops/thread-count-independent", test_thread_count_independent);

  return g_test_run ();
}
