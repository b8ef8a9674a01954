/* Convolution kernels against a naive direct convolution written plainly
 * here, against finite differences, and for bit-identical results across runs
 * and threads. Shapes are odd on purpose: widths that are not multiples of the
 * Winograd tile, channel counts that are not multiples of 8, 1×1 images,
 * batches of 3, and layers large enough to take the banded and Winograd paths
 * with several bands and output-channel blocks. */
#include "nn/conv.h"

#include <math.h>
#include <string.h>

static PulmoTensor *
random_tensor (GRand *rand, int n, int c, int h, int w)
{
  PulmoTensor *t = pulmo_tensor_new (n, c, h, w);
  for (size_t i = 0; i < pulmo_tensor_numel (t); i++)
    t->data[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  return t;
}

static float
at (const PulmoTensor *t, int n, int c, int y, int x)
{
  if (y < 0 || y >= t->h || x < 0 || x >= t->w)
    return 0.0f;
  return t->data[(((size_t) n * t->c + c) * t->h + y) * t->w + x];
}

/* Reference forward in double; @abs_sum gets Σ|terms| per output for the tolerance. */
static void
naive_forward (const PulmoTensor *in, const PulmoTensor *wt, const PulmoTensor *bias,
               gboolean relu, double *out, double *abs_sum)
{
  int k = wt->h, r = k / 2;
  size_t i = 0;
  for (int n = 0; n < in->n; n++)
    for (int o = 0; o < wt->n; o++)
      for (int y = 0; y < in->h; y++)
        for (int x = 0; x < in->w; x++, i++)
          {
            double sum = bias != NULL ? bias->data[o] : 0.0, mag = fabs (sum);
            for (int c = 0; c < in->c; c++)
              for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                  {
                    double term = (double) at (wt, o, c, ky, kx) * at (in, n, c, y + ky - r, x + kx - r);
                    sum += term;
                    mag += fabs (term);
                  }
            out[i] = relu && sum < 0.0 ? 0.0 : sum;
            abs_sum[i] = mag;
          }
}

/* Reference backward in double: input, weight and bias gradients, with Σ|terms|. */
static void
naive_backward (const PulmoTensor *in, const PulmoTensor *wt, const PulmoTensor *gout,
                double *gin, double *gin_mag, double *gw, double *gw_mag, double *gb, double *gb_mag)
{
  int k = wt->h, r = k / 2;
  size_t i = 0;
  for (int n = 0; n < in->n; n++)
    for (int c = 0; c < in->c; c++)
      for (int y = 0; y < in->h; y++)
        for (int x = 0; x < in->w; x++, i++)
          {
            double sum = 0.0, mag = 0.0;
            for (int o = 0; o < wt->n; o++)
              for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                  {
                    double term = (double) at (gout, n, o, y - ky + r, x - kx + r) * at (wt, o, c, ky, kx);
                    sum += term;
                    mag += fabs (term);
                  }
            gin[i] = sum;
            gin_mag[i] = mag;
          }
  i = 0;
  for (int o = 0; o < wt->n; o++)
    for (int c = 0; c < wt->c; c++)
      for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++, i++)
          {
            double sum = 0.0, mag = 0.0;
            for (int n = 0; n < in->n; n++)
              for (int y = 0; y < in->h; y++)
                for (int x = 0; x < in->w; x++)
                  {
                    double term = (double) at (gout, n, o, y, x) * at (in, n, c, y + ky - r, x + kx - r);
                    sum += term;
                    mag += fabs (term);
                  }
            gw[i] = sum;
            gw_mag[i] = mag;
          }
  for (int o = 0; o < wt->n; o++)
    {
      double sum = 0.0, mag = 0.0;
      for (int n = 0; n < gout->n; n++)
        for (int y = 0; y < gout->h; y++)
          for (int x = 0; x < gout->w; x++)
            {
              sum += at (gout, n, o, y, x);
              mag += fabs (at (gout, n, o, y, x));
            }
      gb[o] = sum;
      gb_mag[o] = mag;
    }
}

/* |got − want| must stay within a small fraction of the summed magnitudes:
 * the error bound of a float dot product (Winograd's transforms add a few ulps). */
static void
assert_close (const char *what, const float *got, const double *want, const double *mag, size_t count)
{
  for (size_t i = 0; i < count; i++)
    {
      double tolerance = 2e-5 * mag[i] + 1e-6;
      if (fabs (got[i] - want[i]) > tolerance)
        g_error ("%s[%zu]: got %.8g, want %.8g (tolerance %.3g)", what, i, got[i], want[i], tolerance);
    }
}

typedef struct {
  int n, cin, cout, h, w, k;
} Shape;

static const Shape shapes[] = {
  { 3, 5, 7, 7, 13, 3 },     /* odd everything */
  { 1, 1, 4, 1, 1, 3 },      /* 1×1 image: every tap but the centre is padding */
  { 2, 3, 5, 1, 9, 3 },      /* one row */
  { 3, 6, 3, 10, 1, 3 },     /* one column */
  { 2, 17, 33, 9, 11, 1 },   /* 1×1 kernel */
  { 3, 1, 9, 5, 6, 1 },
  { 2, 12, 20, 37, 45, 3 },  /* large enough for Winograd, ragged tiles */
  { 1, 36, 40, 24, 24, 3 },  /* one sample: output-channel blocks */
  { 1, 150, 6, 3, 900, 3 },  /* im2col rows exceed the band budget: several bands */
  { 1, 12, 10, 61, 66, 3 },  /* enough tiles for AUTO to choose Winograd, forward and backward */
  { 2, 12, 10, 37, 64, 3 },  /* width a multiple of 32: Winograd's aligned path */
  { 1, 16, 16, 40, 96, 3 },  /* 24 tiles a row: whole groups of 8, not of 16 */
  { 2, 1, 16, 33, 70, 3 },   /* one input channel, as the first layer (Winograd with AVX-512) */
  { 1, 9, 7, 383, 384, 3 },  /* too big for one pass: Winograd in blocks of tiles (aligned) */
  { 2, 40, 36, 45, 47, 3 },  /* Winograd weight gradient: two groups, a partial output-channel block */
  { 3, 20, 24, 17, 19, 3 },  /* Winograd weight gradient from 16 tiles an image, ragged edges */
};

static void
test_forward (gconstpointer data)
{
  const Shape *s = data;
  g_autoptr (GRand) rand = g_rand_new_with_seed (42 + s->h * 31 + s->w);
  g_autoptr (PulmoTensor) in = random_tensor (rand, s->n, s->cin, s->h, s->w);
  g_autoptr (PulmoTensor) wt = random_tensor (rand, s->cout, s->cin, s->k, s->k);
  g_autoptr (PulmoTensor) bias = random_tensor (rand, 1, s->cout, 1, 1);
  g_autoptr (PulmoTensor) out = pulmo_tensor_new (s->n, s->cout, s->h, s->w);
  size_t count = pulmo_tensor_numel (out);
  g_autofree double *want = g_new (double, count);
  g_autofree double *mag = g_new (double, count);

  static const PulmoConvAlgorithm algorithms[] = { PULMO_CONV_AUTO, PULMO_CONV_IM2COL, PULMO_CONV_WINOGRAD };
  static const char *const names[] = { "auto", "im2col", "winograd" };
  /* With bias and ReLU, with bias, and with neither. */
  static const struct {
    gboolean bias, relu;
  } variants[] = { { TRUE, TRUE }, { TRUE, FALSE }, { FALSE, FALSE } };

  for (size_t v = 0; v < G_N_ELEMENTS (variants); v++)
    {
      const PulmoTensor *b = variants[v].bias ? bias : NULL;
      naive_forward (in, wt, b, variants[v].relu, want, mag);
      for (size_t a = 0; a < G_N_ELEMENTS (algorithms); a++)
        {
          g_autofree char *what = g_strdup_printf ("%s forward%s%s", names[a], b != NULL ? "+bias" : "",
                                                   variants[v].relu ? "+relu" : "");
          pulmo_tensor_zero (out);
          pulmo_conv2d_forward_with (in, wt, b, variants[v].relu, out, algorithms[a]);
          assert_close (what, out->data, want, mag, count);
        }
    }
}

static void
test_backward (gconstpointer data)
{
  const Shape *s = data;
  g_autoptr (GRand) rand = g_rand_new_with_seed (7 + s->h * 31 + s->w);
  g_autoptr (PulmoTensor) in = random_tensor (rand, s->n, s->cin, s->h, s->w);
  g_autoptr (PulmoTensor) wt = random_tensor (rand, s->cout, s->cin, s->k, s->k);
  g_autoptr (PulmoTensor) gout = random_tensor (rand, s->n, s->cout, s->h, s->w);
  g_autoptr (PulmoTensor) gin = random_tensor (rand, s->n, s->cin, s->h, s->w); /* overwritten */
  g_autoptr (PulmoTensor) gw = random_tensor (rand, s->cout, s->cin, s->k, s->k);
  g_autoptr (PulmoTensor) gb = random_tensor (rand, 1, s->cout, 1, 1);
  size_t n_in = pulmo_tensor_numel (in), n_w = pulmo_tensor_numel (wt);
  g_autofree float *gw_before = g_memdup2 (gw->data, n_w * sizeof (float));
  g_autofree float *gb_before = g_memdup2 (gb->data, s->cout * sizeof (float));
  g_autofree double *want_in = g_new (double, n_in), *mag_in = g_new (double, n_in);
  g_autofree double *want_w = g_new (double, n_w), *mag_w = g_new (double, n_w);
  g_autofree double *want_b = g_new (double, s->cout), *mag_b = g_new (double, s->cout);

  naive_backward (in, wt, gout, want_in, mag_in, want_w, mag_w, want_b, mag_b);
  /* Parameter gradients accumulate: expect the old values plus the new ones. */
  for (size_t i = 0; i < n_w; i++)
    {
      want_w[i] += gw_before[i];
      mag_w[i] += fabs (gw_before[i]);
    }
  for (int o = 0; o < s->cout; o++)
    {
      want_b[o] += gb_before[o];
      mag_b[o] += fabs (gb_before[o]);
    }

  pulmo_conv2d_backward (in, wt, gout, gin, gw, gb);
  assert_close ("grad input", gin->data, want_in, mag_in, n_in);
  assert_close ("grad weight", gw->data, want_w, mag_w, n_w);
  assert_close ("grad bias", gb->data, want_b, mag_b, s->cout);

  /* Without an input gradient (first layer) the parameter gradients are the same. */
  memcpy (gw->data, gw_before, n_w * sizeof (float));
  pulmo_conv2d_backward (in, wt, gout, NULL, gw, NULL);
  assert_close ("grad weight, no grad input", gw->data, want_w, mag_w, n_w);
}

/* L = Σ r ⊙ conv(x) for a fixed random r, so dL/d out = r; central
 * differences in float with a step large enough to dominate rounding. */
static double
loss (const PulmoTensor *in, const PulmoTensor *wt, const PulmoTensor *bias,
      const PulmoTensor *r, PulmoTensor *out)
{
  pulmo_conv2d_forward (in, wt, bias, FALSE, out);
  double sum = 0.0;
  for (size_t i = 0; i < pulmo_tensor_numel (out); i++)
    sum += (double) r->data[i] * out->data[i];
  return sum;
}

static void
check_finite_difference (const char *what, float *param, float analytic,
                         const PulmoTensor *in, const PulmoTensor *wt, const PulmoTensor *bias,
                         const PulmoTensor *r, PulmoTensor *out)
{
  const float step = 1e-2f;
  float saved = *param;
  *param = saved + step;
  double plus = loss (in, wt, bias, r, out);
  *param = saved - step;
  double minus = loss (in, wt, bias, r, out);
  *param = saved;
  double numeric = (plus - minus) / (2.0 * step);
  double tolerance = 1e-2 * (1.0 + fabs (numeric));
  if (fabs (numeric - analytic) > tolerance)
    g_error ("%s: analytic %.6g, finite difference %.6g", what, analytic, numeric);
}

static void
test_finite_differences (gconstpointer data)
{
  const Shape *s = data;
  g_autoptr (GRand) rand = g_rand_new_with_seed (1234);
  g_autoptr (PulmoTensor) in = random_tensor (rand, s->n, s->cin, s->h, s->w);
  g_autoptr (PulmoTensor) wt = random_tensor (rand, s->cout, s->cin, s->k, s->k);
  g_autoptr (PulmoTensor) bias = random_tensor (rand, 1, s->cout, 1, 1);
  g_autoptr (PulmoTensor) r = random_tensor (rand, s->n, s->cout, s->h, s->w);
  g_autoptr (PulmoTensor) out = pulmo_tensor_new (s->n, s->cout, s->h, s->w);
  g_autoptr (PulmoTensor) gin = pulmo_tensor_new (s->n, s->cin, s->h, s->w);
  g_autoptr (PulmoTensor) gw = pulmo_tensor_new (s->cout, s->cin, s->k, s->k);
  g_autoptr (PulmoTensor) gb = pulmo_tensor_new (1, s->cout, 1, 1);

  pulmo_conv2d_backward (in, wt, r, gin, gw, gb);
  for (int probe = 0; probe < 12; probe++)
    {
      size_t i = g_rand_int_range (rand, 0, (gint32) pulmo_tensor_numel (in));
      check_finite_difference ("input", &in->data[i], gin->data[i], in, wt, bias, r, out);
      size_t j = g_rand_int_range (rand, 0, (gint32) pulmo_tensor_numel (wt));
      check_finite_difference ("weight", &wt->data[j], gw->data[j], in, wt, bias, r, out);
      int o = g_rand_int_range (rand, 0, s->cout);
      check_finite_difference ("bias", &bias->data[o], gb->data[o], in, wt, bias, r, out);
    }
}

/* ---- Determinism: twice in a row and on two threads at once ---- */

typedef struct {
  const PulmoTensor *in, *wt, *bias, *gout;
  PulmoTensor *out, *gin, *gw;
} ConvRun;

static void
conv_run (ConvRun *run)
{
  pulmo_conv2d_forward (run->in, run->wt, run->bias, TRUE, run->out);
  pulmo_tensor_zero (run->gw);
  pulmo_conv2d_backward (run->in, run->wt, run->gout, run->gin, run->gw, NULL);
}

static gpointer
conv_run_thread (gpointer data)
{
  conv_run (data);
  return NULL;
}

static void
conv_run_init (ConvRun *run, const PulmoTensor *in, const PulmoTensor *wt,
               const PulmoTensor *bias, const PulmoTensor *gout)
{
  *run = (ConvRun) { in, wt, bias, gout,
                     pulmo_tensor_new (in->n, wt->n, in->h, in->w),
                     pulmo_tensor_new (in->n, in->c, in->h, in->w),
                     pulmo_tensor_new (wt->n, wt->c, wt->h, wt->w) };
}

static void
conv_run_assert_equal (const ConvRun *a, const ConvRun *b)
{
  g_assert_cmpmem (a->out->data, pulmo_tensor_numel (a->out) * sizeof (float),
                   b->out->data, pulmo_tensor_numel (b->out) * sizeof (float));
  g_assert_cmpmem (a->gin->data, pulmo_tensor_numel (a->gin) * sizeof (float),
                   b->gin->data, pulmo_tensor_numel (b->gin) * sizeof (float));
  g_assert_cmpmem (a->gw->data, pulmo_tensor_numel (a->gw) * sizeof (float),
                   b->gw->data, pulmo_tensor_numel (b->gw) * sizeof (float));
}

static void
conv_run_clear (ConvRun *run)
{
  pulmo_tensor_free (run->out);
  pulmo_tensor_free (run->gin);
  pulmo_tensor_free (run->gw);
}

static void
test_deterministic (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (99);
  /* Large enough for Winograd forward and backward, several blocks and gradient groups. */
  g_autoptr (PulmoTensor) in = random_tensor (rand, 2, 24, 70, 52);
  g_autoptr (PulmoTensor) wt = random_tensor (rand, 32, 24, 3, 3);
  g_autoptr (PulmoTensor) bias = random_tensor (rand, 1, 32, 1, 1);
  g_autoptr (PulmoTensor) gout = random_tensor (rand, 2, 32, 70, 52);
  ConvRun first, again, threaded[2];

  g_assert_cmpint (pulmo_conv2d_choose (in, wt, FALSE), ==, PULMO_CONV_WINOGRAD);

  conv_run_init (&first, in, wt, bias, gout);
  conv_run_init (&again, in, wt, bias, gout);
  conv_run (&first);
  conv_run (&again);
  conv_run_assert_equal (&first, &again);

  GThread *threads[2];
  for (int t = 0; t < 2; t++)
    {
      conv_run_init (&threaded[t], in, wt, bias, gout);
      threads[t] = g_thread_new ("conv", conv_run_thread, &threaded[t]);
    }
  for (int t = 0; t < 2; t++)
    {
      g_thread_join (threads[t]);
      conv_run_assert_equal (&first, &threaded[t]);
      conv_run_clear (&threaded[t]);
    }
  conv_run_clear (&first);
  conv_run_clear (&again);
}

/* Prepared weights give the same bits as plain calls, including when two
 * threads make the first (transforming) call on the same prepared weights. */
typedef struct {
  const PulmoTensor *in, *bias;
  const PulmoConvPrepared *prepared;
  PulmoTensor *out;
} PreparedRun;

static gpointer
prepared_run_thread (gpointer data)
{
  PreparedRun *run = data;
  pulmo_conv2d_forward_prepared (run->in, run->prepared, run->bias, TRUE, run->out);
  return NULL;
}

static void
test_prepared (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (5);
  /* Winograd with and without prepared weights, Winograd only when prepared, im2col, 1×1. */
  static const Shape prepared_shapes[] = {
    { 1, 20, 24, 64, 60, 3 }, { 2, 20, 24, 16, 14, 3 }, { 2, 20, 24, 9, 11, 3 }, { 1, 20, 24, 9, 11, 1 },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (prepared_shapes); i++)
    {
      const Shape *s = &prepared_shapes[i];
      g_autoptr (PulmoTensor) in = random_tensor (rand, s->n, s->cin, s->h, s->w);
      g_autoptr (PulmoTensor) wt = random_tensor (rand, s->cout, s->cin, s->k, s->k);
      g_autoptr (PulmoTensor) bias = random_tensor (rand, 1, s->cout, 1, 1);
      g_autoptr (PulmoTensor) want = pulmo_tensor_new (s->n, s->cout, s->h, s->w);
      g_autoptr (PulmoConvPrepared) prepared = pulmo_conv2d_prepare (wt);
      PreparedRun runs[2];
      GThread *threads[2];
      size_t bytes = pulmo_tensor_numel (want) * sizeof (float);

      /* The prepared path may take another algorithm: compare with that one. */
      pulmo_conv2d_forward_with (in, wt, bias, TRUE, want, pulmo_conv2d_choose (in, wt, TRUE));
      for (int t = 0; t < 2; t++)
        {
          runs[t] = (PreparedRun) { in, bias, prepared, pulmo_tensor_new (s->n, s->cout, s->h, s->w) };
          threads[t] = g_thread_new ("prepared", prepared_run_thread, &runs[t]);
        }
      for (int t = 0; t < 2; t++)
        {
          g_thread_join (threads[t]);
          g_assert_cmpmem (runs[t].out->data, bytes, want->data, bytes);
          /* Again, now that the transform is cached. */
          pulmo_conv2d_forward_prepared (in, prepared, bias, TRUE, runs[t].out);
          g_assert_cmpmem (runs[t].out->data, bytes, want->data, bytes);
          pulmo_tensor_free (runs[t].out);
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (size_t i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      const Shape *s = &shapes[i];
      g_autofree char *name = g_strdup_printf ("%d×%d→%d×%d×%d-k%d", s->n, s->cin, s->cout, s->h, s->w, s->k);
      g_autofree char *forward = g_strdup_printf ("/conv/forward/%s", name);
      g_autofree char *backward = g_strdup_printf ("/conv/backward/%s", name);
      g_test_add_data_func (forward, s, test_forward);
      g_test_add_data_func (backward, s, test_backward);
    }
  /* Finite differences on small shapes only: each probe is two forward passes. */
  g_test_add_data_func ("/conv/finite-differences/3x3", &shapes[0], test_finite_differences);
  g_test_add_data_func ("/conv/finite-differences/1x1", &shapes[4], test_finite_differences);
  g_test_add_data_func ("/conv/finite-differences/1-pixel", &shapes[1], test_finite_differences);
  g_test_add_func ("/conv/deterministic", test_deterministic);
  g_test_add_func ("/conv/prepared", test_prepared);

  return g_test_run ();
}
