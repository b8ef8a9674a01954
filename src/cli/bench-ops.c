/* `pulmo bench ops`: the U-Net's operations other than convolution (base 32,
 * depth 4, 256×256) at every level where the network uses them, beside an
 * anchor measured in the same run: for the memory-bound operations a memcpy of
 * the operation's input tensor (ratio 1 means "as fast as copying its input
 * once"); for the transposed convolution one multi-threaded cblas_sgemm of the
 * same FLOP (M = Cout·4, K = Cin, N = pixels); for softmax and loss, whose cost
 * is exponentials, libm's expf over the logits on all our cores (the softmax
 * needs one per logit, the loss one per logit in each of its two passes). The
 * totals weight each row by how often one inference (batch 1) or training step
 * (per sample) runs it. */
#include "cli/pulmo-cli.h"

#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/concat.h"
#include "nn/cpu-setup.h"
#include "nn/label-mask.h"
#include "nn/loss.h"
#include "nn/parallel.h"
#include "nn/pool.h"
#include "nn/upconv.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE 32
#define DEPTH 4
#define SIZE 256
#define CLASSES 4

typedef enum {
  OP_POOL_INFER,
  OP_POOL_TRAIN,
  OP_POOL_BACKWARD,
  OP_UPCONV,
  OP_UPCONV_BACKWARD,
  OP_CONCAT,
  OP_CONCAT_BACKWARD,
  OP_BN_RELU,
  OP_BN_RELU_BACKWARD,
  OP_SOFTMAX,
  OP_LOSS,
  OP_COPY,
  OP_SGEMM,
  OP_EXP,
} OpKind;

/* Everything one row needs; unused members stay NULL. */
typedef struct {
  OpKind kind;
  PulmoTensor *x, *y, *dx, *dy, *skip;
  uint8_t *argmax;
  float *weight, *bias, *dweight, *dbias;
  float *gamma, *beta, *running_mean, *running_var, *mean, *inv_std;
  uint16_t *masks;
  float *a, *b, *c;
  int m, n, k;
  size_t copy_bytes;
} OpBench;

static void
exp_chunks (void *data, int begin, int end, int worker)
{
  const OpBench *ob = data;
  size_t numel = pulmo_tensor_numel (ob->x);
  size_t first = (size_t) begin * 16384, last = MIN ((size_t) end * 16384, numel);
  for (size_t i = first; i < last; i++)
    ob->y->data[i] = expf (ob->x->data[i]);
}

static void
run_op (void *data)
{
  OpBench *ob = data;
  PulmoSegLossOptions loss_options = { NULL, 1.0f, 1.0f, 1.0f };

  switch (ob->kind)
    {
    case OP_POOL_INFER:
      pulmo_maxpool2_forward (ob->x, ob->y, NULL);
      break;
    case OP_POOL_TRAIN:
      pulmo_maxpool2_forward (ob->x, ob->y, ob->argmax);
      break;
    case OP_POOL_BACKWARD:
      pulmo_maxpool2_backward (ob->dy, ob->argmax, ob->dx, TRUE);
      break;
    case OP_UPCONV:
      pulmo_upconv2_forward (ob->x, ob->weight, ob->bias, ob->y);
      break;
    case OP_UPCONV_BACKWARD:
      pulmo_upconv2_backward (ob->x, ob->weight, ob->dy, ob->dx, ob->dweight, ob->dbias);
      break;
    case OP_CONCAT:
      pulmo_concat_forward (ob->skip, ob->x, ob->y);
      break;
    case OP_CONCAT_BACKWARD:
      pulmo_concat_backward (ob->dy, ob->skip, ob->dx, FALSE);
      break;
    case OP_BN_RELU:
      pulmo_batchnorm_forward_train (ob->x, ob->gamma, ob->beta, ob->running_mean,
                                     ob->running_var, PULMO_BATCHNORM_MOMENTUM,
                                     PULMO_BATCHNORM_EPS, TRUE, ob->y, ob->mean, ob->inv_std);
      break;
    case OP_BN_RELU_BACKWARD:
      pulmo_relu_backward (ob->y, ob->dy, ob->dx);
      pulmo_batchnorm_backward (ob->x, ob->dx, ob->gamma, ob->mean, ob->inv_std, ob->dx,
                                ob->dweight, ob->dbias);
      break;
    case OP_SOFTMAX:
      pulmo_softmax_forward (ob->x, ob->y);
      break;
    case OP_LOSS:
      pulmo_seg_loss (ob->x, ob->masks, &loss_options, ob->dx, NULL);
      break;
    case OP_COPY:
      memcpy (ob->a, ob->b, ob->copy_bytes);
      break;
    case OP_EXP:
      pulmo_parallel_for ((int) ((pulmo_tensor_numel (ob->x) + 16383) / 16384), exp_chunks, ob);
      break;
    case OP_SGEMM:
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, ob->m, ob->n, ob->k, 1.0f, ob->a,
                   ob->k, ob->b, ob->n, 0.0f, ob->c, ob->n);
      break;
    }
}

/* OpenBLAS's own threads spin for about 0.1 s after a multi-threaded call
 * (and after openblas_set_num_threads) before they sleep; let them, so they do
 * not compete with the next measurement for the cores. */
static void
let_openblas_settle (void)
{
  g_usleep (G_USEC_PER_SEC / 4);
}

static PulmoTensor *
random_tensor (GRand *rand, int n, int c, int h, int w)
{
  PulmoTensor *t = pulmo_tensor_new (n, c, h, w);
  for (size_t i = 0; i < pulmo_tensor_numel (t); i++)
    t->data[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  return t;
}

static float *
random_floats (GRand *rand, size_t n, double lo, double hi)
{
  float *v = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rand, lo, hi);
  return v;
}

typedef struct {
  double budget_s;
  double infer_s;  /* weighted totals */
  double train_s;
  int batch;
} Totals;

/* Times one operation and its memcpy anchor (a copy of input_bytes), prints a
 * row, and adds the time count_infer / count_train times to the totals. */
static void
row_copy_anchor (const char *name, OpBench *ob, size_t input_bytes, int count_infer,
                 int count_train, Totals *totals)
{
  double op_s = pulmo_bench_median_seconds (run_op, ob, totals->budget_s);
  OpBench copy = { .kind = OP_COPY, .copy_bytes = input_bytes };
  copy.a = g_malloc (input_bytes);
  copy.b = g_malloc (input_bytes);
  memset (copy.b, 1, input_bytes);
  double copy_s = pulmo_bench_median_seconds (run_op, &copy, totals->budget_s);
  g_free (copy.a);
  g_free (copy.b);

  printf ("%-34s %9.3f %9.3f %6.2f\n", name, op_s * 1e3, copy_s * 1e3, op_s / copy_s);
  fflush (stdout);
  totals->infer_s += count_infer * op_s;
  totals->train_s += count_train * op_s;
}

/* The same with expf over ob->x (into ob->y) as the anchor. */
static void
row_exp_anchor (const char *name, OpBench *ob, int count_infer, int count_train, Totals *totals)
{
  double op_s = pulmo_bench_median_seconds (run_op, ob, totals->budget_s);
  OpKind kind = ob->kind;
  ob->kind = OP_EXP;
  double exp_s = pulmo_bench_median_seconds (run_op, ob, totals->budget_s);
  ob->kind = kind;

  printf ("%-34s %9.3f %9.3f %6.2f\n", name, op_s * 1e3, exp_s * 1e3, op_s / exp_s);
  fflush (stdout);
  totals->infer_s += count_infer * op_s;
  totals->train_s += count_train * op_s;
}

static void
bench_level (GRand *rand, int level, Totals *totals)
{
  int batch = totals->batch;
  int c = BASE << level, size = SIZE >> level;
  size_t plane_bytes = (size_t) size * size * sizeof (float);
  char name[64];

  /* Batch norm + ReLU: two per encoder level, two per decoder level (one at
   * the bottom level's encoder only); training only (inference folds them). */
  {
    int count = level < DEPTH ? 4 : 2;
    OpBench ob = { .kind = OP_BN_RELU };
    ob.x = random_tensor (rand, batch, c, size, size);
    ob.y = pulmo_tensor_new (batch, c, size, size);
    ob.dy = random_tensor (rand, batch, c, size, size);
    ob.dx = pulmo_tensor_new (batch, c, size, size);
    ob.gamma = random_floats (rand, c, 0.5, 2.0);
    ob.beta = random_floats (rand, c, -1.0, 1.0);
    ob.running_mean = g_new0 (float, c);
    ob.running_var = random_floats (rand, c, 1.0, 1.0);
    ob.mean = g_new (float, c);
    ob.inv_std = g_new (float, c);
    ob.dweight = g_new0 (float, c);
    ob.dbias = g_new0 (float, c);
    size_t bytes = (size_t) batch * c * plane_bytes;
    g_snprintf (name, sizeof name, "bn+relu fwd      %3d@%d", c, size);
    row_copy_anchor (name, &ob, bytes, 0, count, totals);
    ob.kind = OP_BN_RELU_BACKWARD;
    g_snprintf (name, sizeof name, "relu+bn bwd      %3d@%d", c, size);
    row_copy_anchor (name, &ob, bytes, 0, count, totals);
    pulmo_tensor_free (ob.x);
    pulmo_tensor_free (ob.y);
    pulmo_tensor_free (ob.dy);
    pulmo_tensor_free (ob.dx);
    g_free (ob.gamma);
    g_free (ob.beta);
    g_free (ob.running_mean);
    g_free (ob.running_var);
    g_free (ob.mean);
    g_free (ob.inv_std);
    g_free (ob.dweight);
    g_free (ob.dbias);
  }
  if (level == DEPTH)
    return;

  /* Max-pool from this level down; inference without indices. */
  {
    OpBench ob = { .kind = OP_POOL_INFER };
    ob.x = random_tensor (rand, batch, c, size, size);
    ob.y = pulmo_tensor_new (batch, c, size / 2, size / 2);
    ob.argmax = g_new (uint8_t, pulmo_tensor_numel (ob.y));
    ob.dy = random_tensor (rand, batch, c, size / 2, size / 2);
    ob.dx = pulmo_tensor_new (batch, c, size, size);
    size_t bytes = (size_t) batch * c * plane_bytes;
    g_snprintf (name, sizeof name, "max-pool infer   %3d@%d", c, size);
    row_copy_anchor (name, &ob, bytes, 1, 0, totals);
    ob.kind = OP_POOL_TRAIN;
    g_snprintf (name, sizeof name, "max-pool fwd     %3d@%d", c, size);
    row_copy_anchor (name, &ob, bytes, 0, 1, totals);
    ob.kind = OP_POOL_BACKWARD;
    g_snprintf (name, sizeof name, "max-pool bwd     %3d@%d", c, size);
    row_copy_anchor (name, &ob, bytes, 0, 1, totals);
    pulmo_tensor_free (ob.x);
    pulmo_tensor_free (ob.y);
    pulmo_tensor_free (ob.dy);
    pulmo_tensor_free (ob.dx);
    g_free (ob.argmax);
  }

  /* Skip connection: concat of the encoder feature and the up-sampled one
   * (inference writes the up-sampling straight into the joined tensor). */
  {
    OpBench ob = { .kind = OP_CONCAT };
    ob.skip = random_tensor (rand, batch, c, size, size);
    ob.x = random_tensor (rand, batch, c, size, size);
    ob.y = pulmo_tensor_new (batch, 2 * c, size, size);
    ob.dy = random_tensor (rand, batch, 2 * c, size, size);
    ob.dx = pulmo_tensor_new (batch, c, size, size);
    size_t bytes = (size_t) batch * 2 * c * plane_bytes;
    g_snprintf (name, sizeof name, "concat fwd   %3d+%d@%d", c, c, size);
    row_copy_anchor (name, &ob, bytes, 0, 1, totals);
    ob.kind = OP_CONCAT_BACKWARD;
    g_snprintf (name, sizeof name, "concat bwd   %3d+%d@%d", c, c, size);
    row_copy_anchor (name, &ob, bytes, 0, 1, totals);
    pulmo_tensor_free (ob.skip);
    pulmo_tensor_free (ob.x);
    pulmo_tensor_free (ob.y);
    pulmo_tensor_free (ob.dy);
    pulmo_tensor_free (ob.dx);
  }

  /* Transposed convolution from the level below up to this one. */
  {
    int c_in = 2 * c, low = size / 2;
    size_t n_weights = (size_t) c_in * c * 4;
    OpBench ob = { .kind = OP_UPCONV };
    ob.x = random_tensor (rand, batch, c_in, low, low);
    ob.y = pulmo_tensor_new (batch, c, size, size);
    ob.dy = random_tensor (rand, batch, c, size, size);
    ob.dx = pulmo_tensor_new (batch, c_in, low, low);
    ob.weight = random_floats (rand, n_weights, -0.1, 0.1);
    ob.bias = random_floats (rand, c, -0.1, 0.1);
    ob.dweight = g_new0 (float, n_weights);
    ob.dbias = g_new0 (float, c);
    double flop = 2.0 * batch * c_in * c * 4.0 * low * low;
    double fwd_s = pulmo_bench_median_seconds (run_op, &ob, totals->budget_s);
    ob.kind = OP_UPCONV_BACKWARD;
    double bwd_s = pulmo_bench_median_seconds (run_op, &ob, totals->budget_s);

    OpBench gemm = { .kind = OP_SGEMM, .m = 4 * c, .k = c_in, .n = batch * low * low };
    gemm.a = random_floats (rand, (size_t) gemm.m * gemm.k, -1.0, 1.0);
    gemm.b = random_floats (rand, (size_t) gemm.k * gemm.n, -1.0, 1.0);
    gemm.c = g_new (float, (size_t) gemm.m * gemm.n);
    openblas_set_num_threads (pulmo_parallel_n_threads ());
    double gemm_s = pulmo_bench_median_seconds (run_op, &gemm, totals->budget_s);
    openblas_set_num_threads (1);
    let_openblas_settle ();

    g_snprintf (name, sizeof name, "upconv fwd   %3d@%d->%d@%d", c_in, low, c, size);
    printf ("%-34s %9.3f %9.3f %6.2f  (%.0f vs %.0f GFLOPS)\n", name, fwd_s * 1e3, gemm_s * 1e3,
            fwd_s / gemm_s, flop / fwd_s * 1e-9, flop / gemm_s * 1e-9);
    g_snprintf (name, sizeof name, "upconv bwd   %3d@%d->%d@%d", c_in, low, c, size);
    printf ("%-34s %9.3f %9.3f %6.2f  (%.0f vs %.0f GFLOPS; two products)\n", name, bwd_s * 1e3,
            2 * gemm_s * 1e3, bwd_s / (2 * gemm_s), 2 * flop / bwd_s * 1e-9, flop / gemm_s * 1e-9);
    fflush (stdout);
    totals->infer_s += fwd_s;
    totals->train_s += fwd_s + bwd_s;

    g_free (gemm.a);
    g_free (gemm.b);
    g_free (gemm.c);
    pulmo_tensor_free (ob.x);
    pulmo_tensor_free (ob.y);
    pulmo_tensor_free (ob.dy);
    pulmo_tensor_free (ob.dx);
    g_free (ob.weight);
    g_free (ob.bias);
    g_free (ob.dweight);
    g_free (ob.dbias);
  }
}

static void
bench_output (GRand *rand, Totals *totals)
{
  int batch = totals->batch;
  char name[64];
  OpBench ob = { .kind = OP_SOFTMAX };
  ob.x = random_tensor (rand, batch, CLASSES, SIZE, SIZE);
  ob.y = pulmo_tensor_new (batch, CLASSES, SIZE, SIZE);
  ob.dx = pulmo_tensor_new (batch, CLASSES, SIZE, SIZE);
  size_t pixels = (size_t) batch * SIZE * SIZE;
  ob.masks = g_new (uint16_t, pixels);
  /* Every label value of the convention, partial ones included. */
  for (size_t i = 0; i < pixels; i++)
    ob.masks[i] = pulmo_label_mask ((unsigned) g_rand_int_range (rand, 0, 9), CLASSES);

  g_snprintf (name, sizeof name, "softmax            %d@%d", CLASSES, SIZE);
  row_exp_anchor (name, &ob, 1, 0, totals);
  ob.kind = OP_LOSS;
  g_snprintf (name, sizeof name, "CE+Dice loss+grad  %d@%d", CLASSES, SIZE);
  row_exp_anchor (name, &ob, 0, 1, totals);
  pulmo_tensor_free (ob.x);
  pulmo_tensor_free (ob.y);
  pulmo_tensor_free (ob.dx);
  g_free (ob.masks);
}

int
pulmo_bench_ops (int argc, char **argv)
{
  Totals totals = { .budget_s = 0.3, .batch = 1 };
  GOptionEntry entries[] = {
    { "batch", 'b', 0, G_OPTION_ARG_INT, &totals.batch, "Samples per batch (default 1; training uses 8)", "N" },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &totals.budget_s, "Time per measurement (default 0.3)", "S" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- U-Net operations other than convolution");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "pulmo bench ops: %s\n", error->message);
      return 2;
    }
  if (totals.batch < 1 || totals.batch > 64 || totals.budget_s <= 0.0 || totals.budget_s > 60.0)
    {
      fprintf (stderr, "pulmo bench ops: --batch must be 1..64 and --seconds 0..60\n");
      return 2;
    }

  printf ("U-Net base %d, depth %d, %d×%d, %d classes; batch %d; %d threads; OpenBLAS core %s (%s)\n",
          BASE, DEPTH, SIZE, SIZE, CLASSES, totals.batch, pulmo_parallel_n_threads (),
          pulmo_cpu_core_name (), pulmo_cpu_core_origin ());
  printf ("%-34s %9s %9s %6s\n", "operation (batch)", "ms", "anchor ms", "ratio");
  let_openblas_settle ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (1);
  for (int level = 0; level <= DEPTH; level++)
    bench_level (rand, level, &totals);
  bench_output (rand, &totals);

  printf ("these operations in one inference: %.1f ms per sample (max-pool, transposed "
          "convolution, softmax; batch norm folded, concat written in place)\n",
          totals.infer_s * 1e3 / totals.batch);
  printf ("these operations in one training step: %.1f ms per sample\n",
          totals.train_s * 1e3 / totals.batch);
  return 0;
}
