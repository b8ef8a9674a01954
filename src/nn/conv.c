/* conv.c: convolution by banded im2col + cblas_sgemm (the general path) or
 * plain multiply-adds (very narrow layers), the dispatch to Winograd for 3×3
 * layers on large enough images, prepared weights, and the backward passes.
 *
 * Every blocking decision (band height, output-channel blocks, gradient
 * groups) depends on the shapes only, never on the number of threads, so the
 * same sgemm calls run in the same order whatever the machine is doing: that
 * is what makes results bit-identical run to run. */
#include "nn/conv.h"

#include "nn/conv-private.h"
#include "nn/conv-winograd.h"
#include "nn/gemm-packed.h"
#include "nn/parallel.h"

#include <cblas.h>
#include <string.h>

/* Floats in one worker's im2col band (4 MiB): large enough for a wide sgemm,
 * small enough to stay in L2/L3 next to the output band. */
#define COL_BUDGET_FLOATS (1 << 20)
/* Below these, sgemm costs more than plain multiply-adds (pulmo bench conv). */
#define DIRECT_MAX_KDIM 16
#define DIRECT_BELOW_COUT 8
/* Below these, Winograd's transforms cost more than they save (pulmo bench conv).
 * With AVX-512 transforms and the packed kernel it wins from one input
 * channel up (0.2 against 0.5 ms for the U-Net's first layer at base 16). */
#define WINOGRAD_MIN_TILES 64
#define WINOGRAD_MIN_TILES_PREPARED 16
#define WINOGRAD_MIN_CHANNELS 8
#define WINOGRAD_MIN_CHANNELS_PACKED 1
/* Floats of partial weight gradients kept at once (8 MiB), and at most this
 * many partial sums per layer. */
#define GRAD_BUDGET_FLOATS (2 << 20)
#define MAX_GRAD_GROUPS 16

static gboolean
check_conv_shapes (const PulmoTensor *input, const PulmoTensor *weight, const PulmoTensor *output)
{
  return (weight->h == 1 || weight->h == 3) && weight->w == weight->h && input->c == weight->c
         && output->n == input->n && output->c == weight->n && output->h == input->h
         && output->w == input->w;
}

/* Rows per band for a sample of width @w with @kdim im2col rows: as many as
 * fit the budget, then evened out over the bands. */
static void
plan_bands (int h, int w, int kdim, int *rows, int *n_bands)
{
  size_t per_row = (size_t) kdim * w;
  int rows_max = (int) MAX (1, MIN ((size_t) h, COL_BUDGET_FLOATS / per_row));
  *n_bands = (h + rows_max - 1) / rows_max;
  *rows = (h + *n_bands - 1) / *n_bands;
}

/* im2col of output rows [y0, y1) of one sample (3×3, zero padding):
 * col[(c·3 + ky)·3 + kx][(y − y0)·w + x] = in[c][y + ky − 1][x + kx − 1]. */
static void
im2col_band (const float *in, int cin, int h, int w, int y0, int y1, float *col)
{
  size_t band_px = (size_t) (y1 - y0) * w;
  size_t row_bytes = (size_t) w * sizeof (float);

  for (int c = 0; c < cin; c++)
    {
      const float *plane = in + (size_t) c * h * w;
      for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++)
          {
            float *dst = col + ((size_t) (c * 3 + ky) * 3 + kx) * band_px;
            for (int y = y0; y < y1; y++, dst += w)
              {
                int sy = y + ky - 1;
                if (sy < 0 || sy >= h)
                  {
                    memset (dst, 0, row_bytes);
                    continue;
                  }
                const float *src = plane + (size_t) sy * w;
                if (kx == 1)
                  memcpy (dst, src, row_bytes);
                else if (kx == 0)
                  {
                    dst[0] = 0.0f;
                    memcpy (dst + 1, src, row_bytes - sizeof (float));
                  }
                else
                  {
                    memcpy (dst, src + 1, row_bytes - sizeof (float));
                    dst[w - 1] = 0.0f;
                  }
              }
          }
    }
}

/* ---- Forward, im2col path ---- */

typedef struct {
  const PulmoTensor *input;
  const PulmoTensor *weight; /* Cout × (Cin·K·K), row-major */
  const float *bias;
  gboolean relu;
  PulmoTensor *output;
  int rows, n_bands, cout_block, n_cout_blocks;
  gboolean direct; /* plain multiply-adds instead of sgemm */
  PulmoWorkerScratch scratch;
} ForwardJob;

/* out[o][p] = out[o][p] + bias[o], then max (0, ·) if @relu, over a band
 * still in cache; eight pixels at a time. */
PULMO_AVX2_CLONES
static void
bias_relu_rows (float *out, size_t ld, int n_rows, size_t n_px, const float *bias, gboolean relu)
{
  if (bias == NULL && !relu)
    return;

  PulmoLanes zero = { 0 };
  for (int o = 0; o < n_rows; o++)
    {
      float *row = out + (size_t) o * ld;
      float b = bias != NULL ? bias[o] : 0.0f;
      size_t i = 0;
      for (; i + PULMO_LANES <= n_px; i += PULMO_LANES)
        {
          PulmoLanes v;
          memcpy (&v, row + i, sizeof v);
          v += b;
          if (relu)
            v = (PulmoLanes) ((PulmoLaneMask) v & (v > zero));
          memcpy (row + i, &v, sizeof v);
        }
      for (; i < n_px; i++)
        {
          float v = row[i] + b;
          row[i] = relu && !(v > 0.0f) ? 0.0f : v;
        }
    }
}

/* C (m × n_px, ld ldc) = A (m × kdim) · B (kdim × n_px, ld ldb) by plain
 * multiply-adds, for layers with very few input rows (the first layer) or
 * outputs (the classifier), where sgemm spends more on packing than on
 * arithmetic. Pixels go in chunks whose accumulator stays in L1. */
PULMO_AVX2_CLONES
static void
direct_rows (const float *a, int m, int kdim, const float *b, size_t ldb, size_t n_px, float *c,
             size_t ldc)
{
  enum { CHUNK = 512 };
  float acc[CHUNK] __attribute__ ((aligned (32)));

  for (size_t p0 = 0; p0 < n_px; p0 += CHUNK)
    {
      size_t n = MIN ((size_t) CHUNK, n_px - p0);
      size_t n_vec = n / PULMO_LANES * PULMO_LANES;
      for (int o = 0; o < m; o++)
        {
          memset (acc, 0, n * sizeof (float));
          for (int k = 0; k < kdim; k++)
            {
              float weight = a[(size_t) o * kdim + k];
              const float *row = b + (size_t) k * ldb + p0;
              for (size_t i = 0; i < n_vec; i += PULMO_LANES)
                {
                  PulmoLanes sum, x;
                  memcpy (&sum, acc + i, sizeof sum);
                  memcpy (&x, row + i, sizeof x);
                  sum += weight * x;
                  memcpy (acc + i, &sum, sizeof sum);
                }
              for (size_t i = n_vec; i < n; i++)
                acc[i] += weight * row[i];
            }
          memcpy (c + (size_t) o * ldc + p0, acc, n * sizeof (float));
        }
    }
}

static void
forward_items (void *data, int begin, int end, int worker)
{
  ForwardJob *job = data;
  const PulmoTensor *in = job->input;
  PulmoTensor *out = job->output;
  int k = job->weight->h;
  int cin = in->c, cout = out->c, h = in->h, w = in->w;
  size_t hw = (size_t) h * w;
  int kdim = cin * k * k;

  for (int item = begin; item < end; item++)
    {
      int cb = item % job->n_cout_blocks;
      int band = item / job->n_cout_blocks % job->n_bands;
      int n = item / job->n_cout_blocks / job->n_bands;
      int y0 = band * job->rows, y1 = MIN (h, y0 + job->rows);
      int o0 = cb * job->cout_block, m = MIN (cout, o0 + job->cout_block) - o0;
      size_t band_px = (size_t) (y1 - y0) * w;
      const float *sample = pulmo_tensor_plane (in, n, 0);
      const float *b_mat;
      int ldb;

      if (k == 3)
        {
          float *col = pulmo_worker_scratch_get (&job->scratch, worker);
          im2col_band (sample, cin, h, w, y0, y1, col);
          b_mat = col;
          ldb = (int) band_px;
        }
      else
        {
          b_mat = sample + (size_t) y0 * w;
          ldb = (int) hw;
        }

      float *c_mat = pulmo_tensor_plane (out, n, o0) + (size_t) y0 * w;
      const float *a_mat = job->weight->data + (size_t) o0 * kdim;
      if (job->direct)
        direct_rows (a_mat, m, kdim, b_mat, ldb, band_px, c_mat, hw);
      else
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, (int) band_px, kdim, 1.0f, a_mat,
                     kdim, b_mat, ldb, 0.0f, c_mat, (int) hw);
      bias_relu_rows (c_mat, hw, m, band_px, job->bias != NULL ? job->bias + o0 : NULL, job->relu);
    }
}

static void
forward_im2col (const PulmoTensor *input, const PulmoTensor *weight, const float *bias,
                gboolean relu, PulmoTensor *output)
{
  int k = weight->h;
  int kdim = input->c * k * k;
  ForwardJob job = { .input = input, .weight = weight, .bias = bias, .relu = relu, .output = output };
  job.direct = kdim <= DIRECT_MAX_KDIM || output->c < DIRECT_BELOW_COUT;

  plan_bands (input->h, input->w, kdim, &job.rows, &job.n_bands);
  pulmo_conv_plan_cout_blocks (output->c, input->n * job.n_bands, &job.cout_block, &job.n_cout_blocks);
  int units = input->n * job.n_cout_blocks;
  if (units * job.n_bands < PULMO_CONV_MIN_ITEMS)
    {
      /* Too few output channels to split (the classifier, or the first layer
       * on one sample): thinner bands instead, so that every core works. */
      int bands = MIN (input->h, (PULMO_CONV_MIN_ITEMS + units - 1) / units);
      job.rows = (input->h + bands - 1) / bands;
      job.n_bands = (input->h + job.rows - 1) / job.rows;
    }
  pulmo_worker_scratch_init (&job.scratch, k == 3 ? (size_t) kdim * job.rows * input->w : 0);
  pulmo_parallel_for (input->n * job.n_bands * job.n_cout_blocks, forward_items, &job);
  pulmo_worker_scratch_clear (&job.scratch);
}

PulmoConvAlgorithm
pulmo_conv2d_choose (const PulmoTensor *input, const PulmoTensor *weight, gboolean prepared)
{
  g_return_val_if_fail (input != NULL && weight != NULL, PULMO_CONV_IM2COL);

  /* Winograd needs enough tiles per image for wide sgemms, and enough input
   * channels for its transforms to pay off; without prepared weights, small
   * images also spend more on transforming the weights than they save. */
  long tiles = (long) ((input->h + 3) / 4) * ((input->w + 3) / 4);
  long min_tiles = prepared ? WINOGRAD_MIN_TILES_PREPARED : WINOGRAD_MIN_TILES;
  int min_channels = pulmo_gemm_packed_supported () ? WINOGRAD_MIN_CHANNELS_PACKED : WINOGRAD_MIN_CHANNELS;
  if (weight->h == 3 && tiles >= min_tiles && input->c >= min_channels)
    return PULMO_CONV_WINOGRAD;
  return PULMO_CONV_IM2COL;
}

static void
forward (const PulmoTensor *input, const PulmoTensor *weight, float **transformed,
         const PulmoTensor *bias, gboolean relu, PulmoTensor *output, PulmoConvAlgorithm algorithm)
{
  g_return_if_fail (input != NULL && weight != NULL && output != NULL);
  g_return_if_fail (check_conv_shapes (input, weight, output));
  g_return_if_fail (bias == NULL || pulmo_tensor_numel (bias) == (size_t) weight->n);
  g_return_if_fail (input->data != output->data);

  if (algorithm == PULMO_CONV_AUTO)
    algorithm = pulmo_conv2d_choose (input, weight, transformed != NULL);
  const float *bias_data = bias != NULL ? bias->data : NULL;
  if (algorithm == PULMO_CONV_WINOGRAD && weight->h == 3)
    {
      const float *u = NULL;
      /* Prepared weights: transform once, whichever thread gets here first. */
      if (transformed != NULL)
        {
          if (g_once_init_enter (transformed))
            g_once_init_leave (transformed, pulmo_conv_winograd_transform_weight (weight));
          u = *transformed;
        }
      pulmo_conv_winograd_forward (input, weight, u, bias_data, relu, output);
    }
  else
    forward_im2col (input, weight, bias_data, relu, output);
}

void
pulmo_conv2d_forward_with (const PulmoTensor *input,
                           const PulmoTensor *weight,
                           const PulmoTensor *bias,
                           gboolean relu,
                           PulmoTensor *output,
                           PulmoConvAlgorithm algorithm)
{
  forward (input, weight, NULL, bias, relu, output, algorithm);
}

struct _PulmoConvPrepared {
  const PulmoTensor *weight;
  float *transformed; /* Winograd U, made on first use */
};

PulmoConvPrepared *
pulmo_conv2d_prepare (const PulmoTensor *weight)
{
  g_return_val_if_fail (weight != NULL, NULL);
  PulmoConvPrepared *prepared = g_new0 (PulmoConvPrepared, 1);
  prepared->weight = weight;
  return prepared;
}

void
pulmo_conv2d_prepared_free (PulmoConvPrepared *prepared)
{
  if (prepared == NULL)
    return;
  g_aligned_free (prepared->transformed);
  g_free (prepared);
}

void
pulmo_conv2d_forward_prepared (const PulmoTensor *input,
                               const PulmoConvPrepared *prepared,
                               const PulmoTensor *bias,
                               gboolean relu,
                               PulmoTensor *output)
{
  g_return_if_fail (prepared != NULL);
  /* The lazily filled slot is the one mutable part, guarded by g_once. */
  forward (input, prepared->weight, (float **) &prepared->transformed, bias, relu, output,
           PULMO_CONV_AUTO);
}

void
pulmo_conv2d_forward (const PulmoTensor *input,
                      const PulmoTensor *weight,
                      const PulmoTensor *bias,
                      gboolean relu,
                      PulmoTensor *output)
{
  pulmo_conv2d_forward_with (input, weight, bias, relu, output, PULMO_CONV_AUTO);
}

/* ---- Backward ---- */

/* Weight gradient: items are (group of sample-bands, output-channel block).
 * With one group the sgemms accumulate straight into grad_weight; otherwise
 * each group fills its own partial sum and the partials are added in group
 * order afterwards. */
typedef struct {
  const PulmoTensor *input;
  const PulmoTensor *grad_output;
  float *target;        /* grad_weight, or n_groups partial sums */
  gboolean accumulate;  /* target already holds a sum to add to */
  int rows, n_bands, n_groups, cout_block, n_cout_blocks;
  int kdim;
  PulmoWorkerScratch scratch;
} WeightGradJob;

static void
weight_grad_items (void *data, int begin, int end, int worker)
{
  WeightGradJob *job = data;
  const PulmoTensor *in = job->input;
  const PulmoTensor *gout = job->grad_output;
  int h = in->h, w = in->w, cout = gout->c;
  size_t hw = (size_t) h * w;
  int units = in->n * job->n_bands;

  for (int item = begin; item < end; item++)
    {
      int cb = item % job->n_cout_blocks;
      int group = item / job->n_cout_blocks;
      int o0 = cb * job->cout_block, m = MIN (cout, o0 + job->cout_block) - o0;
      int u_begin = (int) ((long) group * units / job->n_groups);
      int u_end = (int) ((long) (group + 1) * units / job->n_groups);
      float *c_mat = job->target + ((size_t) group * cout + o0) * job->kdim;
      float beta = job->accumulate ? 1.0f : 0.0f;

      for (int unit = u_begin; unit < u_end; unit++, beta = 1.0f)
        {
          int n = unit / job->n_bands, band = unit % job->n_bands;
          int y0 = band * job->rows, y1 = MIN (h, y0 + job->rows);
          size_t band_px = (size_t) (y1 - y0) * w;
          const float *sample = pulmo_tensor_plane (in, n, 0);
          const float *b_mat;
          int ldb;

          if (job->kdim != in->c)
            {
              float *col = pulmo_worker_scratch_get (&job->scratch, worker);
              im2col_band (sample, in->c, h, w, y0, y1, col);
              b_mat = col;
              ldb = (int) band_px;
            }
          else
            {
              b_mat = sample + (size_t) y0 * w;
              ldb = (int) hw;
            }
          const float *a_mat = pulmo_tensor_plane (gout, n, o0) + (size_t) y0 * w;
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, job->kdim, (int) band_px, 1.0f,
                       a_mat, (int) hw, b_mat, ldb, beta, c_mat, job->kdim);
        }
    }
}

typedef struct {
  float *grad_weight;
  const float *partials;
  size_t numel;
  int n_groups;
} ReduceJob;

#define REDUCE_CHUNK 4096

static void
reduce_items (void *data, int begin, int end, int worker)
{
  ReduceJob *job = data;
  size_t i0 = (size_t) begin * REDUCE_CHUNK;
  size_t i1 = MIN (job->numel, (size_t) end * REDUCE_CHUNK);

  for (size_t i = i0; i < i1; i++)
    {
      float sum = job->partials[i];
      for (int g = 1; g < job->n_groups; g++)
        sum += job->partials[(size_t) g * job->numel + i];
      job->grad_weight[i] += sum;
    }
}

static void
weight_grad (const PulmoTensor *input, const PulmoTensor *grad_output, PulmoTensor *grad_weight)
{
  int k = grad_weight->h;
  int cout = grad_output->c;
  WeightGradJob job = { .input = input, .grad_output = grad_output, .kdim = input->c * k * k };
  size_t numel = (size_t) cout * job.kdim;

  plan_bands (input->h, input->w, job.kdim, &job.rows, &job.n_bands);
  int units = input->n * job.n_bands;
  job.n_groups = (int) MIN ((size_t) MIN (units, MAX_GRAD_GROUPS), MAX (1, GRAD_BUDGET_FLOATS / numel));
  pulmo_conv_plan_cout_blocks (cout, job.n_groups, &job.cout_block, &job.n_cout_blocks);
  pulmo_worker_scratch_init (&job.scratch, k == 3 ? (size_t) job.kdim * job.rows * input->w : 0);

  float *partials = NULL;
  if (job.n_groups == 1)
    {
      job.target = grad_weight->data;
      job.accumulate = TRUE;
    }
  else
    {
      partials = g_new (float, numel * job.n_groups);
      job.target = partials;
      job.accumulate = FALSE;
    }
  pulmo_parallel_for (job.n_groups * job.n_cout_blocks, weight_grad_items, &job);
  pulmo_worker_scratch_clear (&job.scratch);

  if (partials != NULL)
    {
      ReduceJob reduce = { grad_weight->data, partials, numel, job.n_groups };
      pulmo_parallel_for ((int) ((numel + REDUCE_CHUNK - 1) / REDUCE_CHUNK), reduce_items, &reduce);
      g_free (partials);
    }
}

typedef struct {
  const PulmoTensor *grad_output;
  float *grad_bias;
} BiasGradJob;

static void
bias_grad_items (void *data, int begin, int end, int worker)
{
  BiasGradJob *job = data;
  const PulmoTensor *gout = job->grad_output;
  size_t hw = (size_t) gout->h * gout->w;

  for (int o = begin; o < end; o++)
    {
      /* Double: a 256×256×8 sum in float would lose the small terms. */
      double sum = 0.0;
      for (int n = 0; n < gout->n; n++)
        {
          const float *plane = pulmo_tensor_plane (gout, n, o);
          for (size_t i = 0; i < hw; i++)
            sum += plane[i];
        }
      job->grad_bias[o] += (float) sum;
    }
}

void
pulmo_conv2d_backward (const PulmoTensor *input,
                       const PulmoTensor *weight,
                       const PulmoTensor *grad_output,
                       PulmoTensor *grad_input,
                       PulmoTensor *grad_weight,
                       PulmoTensor *grad_bias)
{
  g_return_if_fail (input != NULL && weight != NULL && grad_output != NULL && grad_weight != NULL);
  g_return_if_fail (check_conv_shapes (input, weight, grad_output));
  g_return_if_fail (grad_weight->n == weight->n && grad_weight->c == weight->c
                    && grad_weight->h == weight->h && grad_weight->w == weight->w);
  g_return_if_fail (grad_bias == NULL || pulmo_tensor_numel (grad_bias) == (size_t) weight->n);
  g_return_if_fail (grad_input == NULL
                    || (grad_input->n == input->n && grad_input->c == input->c
                        && grad_input->h == input->h && grad_input->w == input->w));

  if (grad_input != NULL)
    {
      /* dL/d input is the convolution of dL/d output with the weights
       * transposed (Cin ↔ Cout) and rotated by 180°: a forward pass, so it
       * gets the same banded and Winograd kernels. */
      int cout = weight->n, cin = weight->c, k = weight->h, kk = k * k;
      g_autoptr (PulmoTensor) flipped = pulmo_tensor_new (cin, cout, k, k);
      for (int o = 0; o < cout; o++)
        for (int c = 0; c < cin; c++)
          {
            const float *src = weight->data + ((size_t) o * cin + c) * kk;
            float *dst = flipped->data + ((size_t) c * cout + o) * kk;
            for (int i = 0; i < kk; i++)
              dst[i] = src[kk - 1 - i];
          }
      pulmo_conv2d_forward (grad_output, flipped, NULL, FALSE, grad_input);
    }

  /* Winograd where the forward pass would with prepared weights (the
   * gradient transforms no weights per call): 4× fewer multiplications, and
   * no im2col. Not for a few input channels, whose products are too narrow
   * for cblas_sgemm (the first layer). */
  if (input->c >= WINOGRAD_MIN_CHANNELS
      && pulmo_conv2d_choose (input, weight, TRUE) == PULMO_CONV_WINOGRAD)
    pulmo_conv_winograd_weight_grad (input, grad_output, grad_weight);
  else
    weight_grad (input, grad_output, grad_weight);

  if (grad_bias != NULL)
    {
      BiasGradJob job = { grad_output, grad_bias->data };
      pulmo_parallel_for (grad_output->c, bias_grad_items, &job);
    }
}

double
pulmo_conv2d_macs (const PulmoTensor *input, const PulmoTensor *weight)
{
  return (double) input->n * input->h * input->w * weight->n * weight->c * weight->h * weight->w;
}
