/* `pulmo bench conv`: the convolution kernels on every layer shape of the
 * U-Net (base 32 or --base, depth 4, 256×256), in GFLOPS, beside a plain multi-threaded
 * cblas_sgemm of the im2col size (M = Cout, K = Cin·9, N = pixels) measured in
 * the same run. Both forward algorithms are timed; "fwd ms" is the one the
 * kernels choose (w: Winograd, i: im2col) with prepared weights, as inference
 * runs it. GFLOPS count the direct
 * convolution's FLOP, so Winograd can exceed the sgemm anchor. The weighted
 * total estimates the convolution part of one U-Net forward (and backward). */
#include "cli/pulmo-cli.h"

#include "nn/conv.h"
#include "nn/cpu-setup.h"
#include "nn/parallel.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int cin, cout, size, k, count; /* count: how often the U-Net uses this shape */
} LayerShape;

#define BENCH_DEPTH 4
#define BENCH_SIZE 256
#define BENCH_CLASSES 4
#define N_LAYER_SHAPES (3 * BENCH_DEPTH + 3)

/* The convolutions of a U-Net with one input channel, from the top level
 * down: per level the encoder's first conv, the two C → C convs (encoder's
 * second, decoder's second), the decoder's first conv on the concatenation;
 * then the bottom's two convs and the 1×1 classifier. */
static void
unet_layer_shapes (int base, LayerShape *shapes)
{
  int n = 0;
  for (int l = 0; l < BENCH_DEPTH; l++)
    {
      int c = base << l, size = BENCH_SIZE >> l, cin = l == 0 ? 1 : c / 2;
      shapes[n++] = (LayerShape) { cin, c, size, 3, 1 };
      shapes[n++] = (LayerShape) { c, c, size, 3, 2 };
      shapes[n++] = (LayerShape) { 2 * c, c, size, 3, 1 };
    }
  int bottom = base << BENCH_DEPTH, size = BENCH_SIZE >> BENCH_DEPTH;
  shapes[n++] = (LayerShape) { bottom / 2, bottom, size, 3, 1 };
  shapes[n++] = (LayerShape) { bottom, bottom, size, 3, 1 };
  shapes[n++] = (LayerShape) { base, BENCH_CLASSES, BENCH_SIZE, 1, 1 };
}

static void
fill_random (PulmoTensor *t, GRand *rand)
{
  for (size_t i = 0; i < pulmo_tensor_numel (t); i++)
    t->data[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
}

typedef struct {
  PulmoTensor *input, *weight, *bias, *output, *grad_output, *grad_input, *grad_weight, *grad_bias;
  gboolean first_layer;
  PulmoConvAlgorithm algorithm;
  PulmoConvPrepared *prepared;
  float *a, *b, *c;
  int m, n, k;
} LayerBench;

static void
run_forward (void *ctx)
{
  LayerBench *lb = ctx;
  pulmo_conv2d_forward_with (lb->input, lb->weight, lb->bias, TRUE, lb->output, lb->algorithm);
}

static void
run_prepared (void *ctx)
{
  LayerBench *lb = ctx;
  pulmo_conv2d_forward_prepared (lb->input, lb->prepared, lb->bias, TRUE, lb->output);
}

static void
run_backward (void *ctx)
{
  LayerBench *lb = ctx;
  pulmo_conv2d_backward (lb->input, lb->weight, lb->grad_output,
                         lb->first_layer ? NULL : lb->grad_input, lb->grad_weight, lb->grad_bias);
}

static void
run_sgemm (void *ctx)
{
  LayerBench *lb = ctx;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, lb->m, lb->n, lb->k, 1.0f, lb->a, lb->k,
               lb->b, lb->n, 0.0f, lb->c, lb->n);
}

int
pulmo_bench_conv (int argc, char **argv)
{
  int batch = 1, base = 32;
  gboolean backward = FALSE;
  double budget_s = 0.5;
  GOptionEntry entries[] = {
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Samples per batch (default 1)", "N" },
    { "base", 0, 0, G_OPTION_ARG_INT, &base, "U-Net base width (default 32)", "N" },
    { "backward", 0, 0, G_OPTION_ARG_NONE, &backward, "Also time the backward pass", NULL },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &budget_s, "Time per measurement (default 0.5)", "S" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- convolution GFLOPS per U-Net layer");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "pulmo bench conv: %s\n", error->message);
      return 2;
    }
  if (batch < 1 || batch > 64 || base < 1 || base > 64 || budget_s <= 0.0 || budget_s > 60.0)
    {
      fprintf (stderr, "pulmo bench conv: --batch must be 1..64, --base 1..64 and --seconds 0..60\n");
      return 2;
    }
  LayerShape unet_layers[N_LAYER_SHAPES];
  unet_layer_shapes (base, unet_layers);

  int n_threads = pulmo_parallel_n_threads ();
  printf ("OpenBLAS core: %s, %s; %d threads; U-Net base %d; batch %d\n", pulmo_cpu_core_name (),
          pulmo_cpu_core_origin (), n_threads, base, batch);
  printf ("%-16s %5s %9s %9s %9s %8s %9s %6s", "layer", "count", "im2col ms", "wino ms", "fwd ms",
          "GFLOPS", "sgemm GF", "ratio");
  if (backward)
    printf (" %9s %8s", "bwd ms", "GFLOPS");
  printf ("\n");

  g_autoptr (GRand) rand = g_rand_new_with_seed (1);
  double total_fwd_s = 0.0, total_bwd_s = 0.0, total_sgemm_s = 0.0, total_flop = 0.0;

  for (size_t l = 0; l < G_N_ELEMENTS (unet_layers); l++)
    {
      const LayerShape *s = &unet_layers[l];
      LayerBench lb = {
        .input = pulmo_tensor_new (batch, s->cin, s->size, s->size),
        .weight = pulmo_tensor_new (s->cout, s->cin, s->k, s->k),
        .bias = pulmo_tensor_new (1, s->cout, 1, 1),
        .output = pulmo_tensor_new (batch, s->cout, s->size, s->size),
        .first_layer = s->cin == 1,
        .m = s->cout,
        .n = batch * s->size * s->size,
        .k = s->cin * s->k * s->k,
      };
      fill_random (lb.input, rand);
      fill_random (lb.weight, rand);
      fill_random (lb.bias, rand);
      double flop = 2.0 * pulmo_conv2d_macs (lb.input, lb.weight);

      /* Both algorithms for the record; the figure that counts is AUTO's choice. */
      lb.algorithm = PULMO_CONV_IM2COL;
      double im2col_s = pulmo_bench_median_seconds (run_forward, &lb, budget_s);
      double winograd_s = 0.0;
      if (s->k == 3)
        {
          lb.algorithm = PULMO_CONV_WINOGRAD;
          winograd_s = pulmo_bench_median_seconds (run_forward, &lb, budget_s);
        }
      gboolean winograd = pulmo_conv2d_choose (lb.input, lb.weight, TRUE) == PULMO_CONV_WINOGRAD;
      /* Inference: the choice with prepared weights (Winograd transform cached). */
      lb.prepared = pulmo_conv2d_prepare (lb.weight);
      double fwd_s = pulmo_bench_median_seconds (run_prepared, &lb, budget_s);
      pulmo_conv2d_prepared_free (lb.prepared);

      /* The anchor: one sgemm of the im2col product, OpenBLAS on all our cores. */
      lb.a = g_new (float, (size_t) lb.m * lb.k);
      lb.b = g_new (float, (size_t) lb.k * lb.n);
      lb.c = g_new (float, (size_t) lb.m * lb.n);
      memcpy (lb.a, lb.weight->data, (size_t) lb.m * lb.k * sizeof (float));
      for (size_t i = 0; i < (size_t) lb.k * lb.n; i++)
        lb.b[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
      openblas_set_num_threads (n_threads);
      double sgemm_s = pulmo_bench_median_seconds (run_sgemm, &lb, budget_s);
      openblas_set_num_threads (1);
      g_free (lb.a);
      g_free (lb.b);
      g_free (lb.c);

      char name[32];
      g_snprintf (name, sizeof name, "%d→%d %d² %d×%d", s->cin, s->cout, s->size, s->k, s->k);
      printf ("%-18s %3d %9.2f %9.2f %8.2f%s %8.1f %9.1f %6.2f", name, s->count, im2col_s * 1e3,
              winograd_s * 1e3, fwd_s * 1e3, winograd ? "w" : "i", flop / fwd_s * 1e-9,
              flop / sgemm_s * 1e-9, sgemm_s / fwd_s);
      total_fwd_s += s->count * fwd_s;
      total_sgemm_s += s->count * sgemm_s;
      total_flop += s->count * flop;

      if (backward)
        {
          lb.grad_output = pulmo_tensor_new (batch, s->cout, s->size, s->size);
          lb.grad_input = pulmo_tensor_new (batch, s->cin, s->size, s->size);
          lb.grad_weight = pulmo_tensor_new (s->cout, s->cin, s->k, s->k);
          lb.grad_bias = pulmo_tensor_new (1, s->cout, 1, 1);
          fill_random (lb.grad_output, rand);
          double bwd_s = pulmo_bench_median_seconds (run_backward, &lb, budget_s);
          double bwd_flop = lb.first_layer ? flop : 2.0 * flop;
          printf (" %9.2f %8.1f", bwd_s * 1e3, bwd_flop / bwd_s * 1e-9);
          total_bwd_s += s->count * bwd_s;
          pulmo_tensor_free (lb.grad_output);
          pulmo_tensor_free (lb.grad_input);
          pulmo_tensor_free (lb.grad_weight);
          pulmo_tensor_free (lb.grad_bias);
        }
      printf ("\n");
      fflush (stdout);

      pulmo_tensor_free (lb.input);
      pulmo_tensor_free (lb.weight);
      pulmo_tensor_free (lb.bias);
      pulmo_tensor_free (lb.output);
    }

  printf ("U-Net convolutions, forward: %.1f ms per batch (%.1f ms per sample), %.1f GFLOPS "
          "(effective: direct-convolution FLOP); the same work as plain sgemm: %.1f ms (%.1f GFLOPS)\n",
          total_fwd_s * 1e3, total_fwd_s * 1e3 / batch, total_flop / total_fwd_s * 1e-9,
          total_sgemm_s * 1e3, total_flop / total_sgemm_s * 1e-9);
  if (backward)
    printf ("U-Net convolutions, backward: %.1f ms per batch (%.1f ms per sample)\n",
            total_bwd_s * 1e3, total_bwd_s * 1e3 / batch);
  return 0;
}
