/* upconv.c: 2×2 stride-2 transposed convolution as GEMMs.
 *
 * With the weight read as a c_in × (c_out·4) matrix W (column o·4 + ky·2 + kx),
 * the forward pass for a band of input pixels is T = Wᵀ · X_band, a
 * (c_out·4) × pixels matrix whose rows are then interleaved into the output
 * rows 2i + ky, columns 2j + kx. The backward pass gathers dy the other way
 * (G, same layout as T): dx_band = W · G_band, dW += X · Gᵀ.
 *
 * Bands keep the scratch matrix small enough to stay in cache while it is
 * scattered; each worker owns one scratch slot.
 *
 * Where the CPU has AVX-512F the forward products run on Pulmo's packed
 * AVX-512 microkernel (gemm-packed.h), twice as wide as OpenBLAS's AVX2
 * kernels: Wᵀ is packed into its row panels once per call, and each band of
 * X into its column panels (a copy no larger than the band, which OpenBLAS
 * would make as well). The AVX2 kernel is no faster than OpenBLAS's, so
 * there the copy would be lost (pulmo bench ops: 8–12 % slower). */
#include "nn/upconv.h"

#include <cblas.h>
#include <string.h>

#include "nn/gemm-packed.h"
#include "nn/parallel.h"
#include "nn/vec4.h"

/* Scratch per worker, in floats (512 KiB: half of a Zen core's L2). */
#define UPCONV_SCRATCH_FLOATS (128 * 1024)
/* Bands per sample in the forward pass, where it has enough rows: work
 * items for the cores even on the smallest images (batch 1 inference). */
#define UPCONV_MIN_BANDS 8
/* Output channels per work item of the weight gradient. */
#define UPCONV_BLOCK_CHANNELS 16

/* Input rows per band so that c_out·4 rows of band pixels fit the scratch. */
static int
band_rows (int c_out, int h, int w)
{
  size_t per_row = (size_t) c_out * 4 * w;
  size_t rows = UPCONV_SCRATCH_FLOATS / per_row;
  return (int) CLAMP (rows, 1, (size_t) h);
}

typedef struct {
  const PulmoTensor *x;
  const float *weight;
  const float *bias;
  PulmoTensor *y;
  int rows;      /* input rows per band */
  int n_bands;
  const float *weight_packed; /* Wᵀ in row panels, or NULL: cblas_sgemm */
  float *scratch; /* per worker: T, then (packed) the band of X in column panels */
  size_t scratch_floats;
} UpconvForward;

/* Rows [0, depth) of the band (row k at x + k·ld, @columns floats) into
 * column panels of PULMO_GEMM_PACKED_COLUMNS (see gemm-packed.h). */
static void
pack_columns (const float *x, size_t ld, int depth, int columns, float *b)
{
  for (int j0 = 0; j0 < columns; j0 += PULMO_GEMM_PACKED_COLUMNS)
    {
      int width = MIN (PULMO_GEMM_PACKED_COLUMNS, columns - j0);
      float *panel = b + (size_t) j0 * depth;
      for (int k = 0; k < depth; k++)
        memcpy (panel + (size_t) k * PULMO_GEMM_PACKED_COLUMNS, x + k * ld + j0, width * sizeof (float));
    }
}

static void
upconv_forward_bands (void *data, int begin, int end, int worker)
{
  const UpconvForward *job = data;
  int c_in = job->x->c, h = job->x->h, w = job->x->w;
  int c_out = job->y->c, out_w = job->y->w;
  size_t plane = (size_t) h * w;
  size_t out_plane = (size_t) job->y->h * out_w;
  float *t = job->scratch + (size_t) worker * job->scratch_floats;

  for (int item = begin; item < end; item++)
    {
      int n = item / job->n_bands;
      int i0 = (item % job->n_bands) * job->rows;
      int rows = MIN (job->rows, h - i0);
      int pixels = rows * w;

      const float *band = job->x->data + (size_t) n * c_in * plane + (size_t) i0 * w;
      if (job->weight_packed != NULL)
        {
          float *b = t + (size_t) c_out * 4 * job->rows * w;
          pack_columns (band, plane, c_in, pixels, b);
          pulmo_gemm_packed (c_out * 4, pixels, c_in, job->weight_packed, b, t, pixels);
        }
      else
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, c_out * 4, pixels, c_in, 1.0f,
                     job->weight, c_out * 4, band, (int) plane, 0.0f, t, pixels);

      for (int o = 0; o < c_out; o++)
        {
          PulmoVec4 b4 = pulmo_vec4_splat (job->bias[o]);
          float *out = job->y->data + ((size_t) n * c_out + o) * out_plane;
          /* Output rows in memory order, so the writes stream. */
          for (int i = 0; i < rows; i++)
            for (int ky = 0; ky < 2; ky++)
              {
                const float *s0 = t + (size_t) (o * 4 + ky * 2) * pixels + (size_t) i * w;
                const float *s1 = s0 + pixels;
                float *row = out + (size_t) (2 * (i0 + i) + ky) * out_w;
                int j = 0;
                for (; j + 4 <= w; j += 4)
                  pulmo_vec4_store_interleave (row + 2 * j, pulmo_vec4_load (s0 + j) + b4,
                                               pulmo_vec4_load (s1 + j) + b4);
                for (; j < w; j++)
                  {
                    row[2 * j] = s0[j] + b4[0];
                    row[2 * j + 1] = s1[j] + b4[0];
                  }
              }
        }
    }
}

void
pulmo_upconv2_forward (const PulmoTensor *x,
                       const float *weight,
                       const float *bias,
                       PulmoTensor *y)
{
  g_return_if_fail (x != NULL && weight != NULL && bias != NULL && y != NULL);
  g_return_if_fail (y->n == x->n && y->h == 2 * x->h && y->w == 2 * x->w);

  UpconvForward job = { x, weight, bias, y, 0, 0, NULL, NULL, 0 };
  job.rows = MIN (band_rows (y->c, x->h, x->w), (x->h + UPCONV_MIN_BANDS - 1) / UPCONV_MIN_BANDS);
  job.n_bands = (x->h + job.rows - 1) / job.rows;
  job.scratch_floats = (size_t) y->c * 4 * job.rows * x->w;

  float *weight_packed = NULL;
  if (pulmo_gemm_packed_kernel () == PULMO_GEMM_PACKED_AVX512)
    {
      /* Wᵀ (c_out·4 × c_in), rows padded with zeros to whole panels. */
      int rows = y->c * 4, panels = (rows + PULMO_GEMM_PACKED_ROWS - 1) / PULMO_GEMM_PACKED_ROWS;
      weight_packed = g_aligned_alloc0 ((size_t) panels * PULMO_GEMM_PACKED_ROWS * x->c, sizeof (float), 64);
      for (int k = 0; k < x->c; k++)
        for (int r = 0; r < rows; r++)
          weight_packed[((size_t) (r / PULMO_GEMM_PACKED_ROWS) * x->c + k) * PULMO_GEMM_PACKED_ROWS
                        + r % PULMO_GEMM_PACKED_ROWS] = weight[(size_t) k * rows + r];
      job.weight_packed = weight_packed;
      /* The band of X, in whole column panels. */
      size_t columns = (size_t) job.rows * x->w;
      job.scratch_floats += (columns + PULMO_GEMM_PACKED_COLUMNS - 1) / PULMO_GEMM_PACKED_COLUMNS
                            * PULMO_GEMM_PACKED_COLUMNS * x->c;
    }
  job.scratch = g_new (float, job.scratch_floats * pulmo_parallel_n_threads ());
  pulmo_parallel_for (x->n * job.n_bands, upconv_forward_bands, &job);
  g_free (job.scratch);
  g_aligned_free (weight_packed);
}

/* G[k, p] for k = o·4 + ky·2 + kx, o in [o0, o0 + n_o), and the input pixels p
 * of rows [i0, i0 + rows) of sample n: the inverse of the forward scatter. */
static void
gather_dy (const PulmoTensor *dy, int n, int o0, int n_o, int i0, int rows, float *g)
{
  int out_w = dy->w, w = out_w / 2;
  size_t out_plane = (size_t) dy->h * out_w;
  size_t pixels = (size_t) rows * w;

  for (int o = 0; o < n_o; o++)
    {
      const float *in = dy->data + ((size_t) n * dy->c + o0 + o) * out_plane;
      /* Input rows in memory order, so the reads stream. */
      for (int i = 0; i < rows; i++)
        for (int ky = 0; ky < 2; ky++)
          {
            const float *row = in + (size_t) (2 * (i0 + i) + ky) * out_w;
            float *d0 = g + (size_t) (o * 4 + ky * 2) * pixels + (size_t) i * w;
            float *d1 = d0 + pixels;
            int j = 0;
            for (; j + 4 <= w; j += 4)
              {
                PulmoVec4 even, odd;
                pulmo_vec4_load_deinterleave (row + 2 * j, &even, &odd);
                pulmo_vec4_store (d0 + j, even);
                pulmo_vec4_store (d1 + j, odd);
              }
            for (; j < w; j++)
              {
                d0[j] = row[2 * j];
                d1[j] = row[2 * j + 1];
              }
          }
    }
}

typedef struct {
  const PulmoTensor *x;
  const float *weight;
  const PulmoTensor *dy;
  PulmoTensor *dx;
  float *dweight;
  float *dbias;
  int rows;        /* input rows per band */
  int n_bands;     /* dx: bands per sample */
  int block;       /* dweight, dbias: output channels per item */
  float *scratch;
  size_t scratch_floats;
} UpconvBackward;

static void
upconv_backward_input_bands (void *data, int begin, int end, int worker)
{
  const UpconvBackward *job = data;
  int c_in = job->x->c, h = job->x->h, w = job->x->w;
  int c_out = job->dy->c;
  size_t plane = (size_t) h * w;
  float *g = job->scratch + (size_t) worker * job->scratch_floats;

  for (int item = begin; item < end; item++)
    {
      int n = item / job->n_bands;
      int i0 = (item % job->n_bands) * job->rows;
      int rows = MIN (job->rows, h - i0);
      int pixels = rows * w;

      gather_dy (job->dy, n, 0, c_out, i0, rows, g);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans,
                   c_in, pixels, c_out * 4,
                   1.0f, job->weight, c_out * 4,
                   g, pixels,
                   0.0f, job->dx->data + (size_t) n * c_in * plane + (size_t) i0 * w, (int) plane);
    }
}

/* Each item owns a block of output channels, i.e. a block of columns of dW
 * and entries of dbias, and sums over samples and bands in order, so the
 * result does not depend on the split. */
static void
upconv_backward_param_blocks (void *data, int begin, int end, int worker)
{
  const UpconvBackward *job = data;
  int c_in = job->x->c, h = job->x->h, w = job->x->w;
  int c_out = job->dy->c;
  size_t plane = (size_t) h * w;
  size_t out_plane = plane * 4;
  float *g = job->scratch + (size_t) worker * job->scratch_floats;

  for (int item = begin; item < end; item++)
    {
      int o0 = item * job->block;
      int n_o = MIN (job->block, c_out - o0);
      for (int n = 0; n < job->x->n; n++)
        {
          for (int i0 = 0; job->dweight != NULL && i0 < h; i0 += job->rows)
            {
              int rows = MIN (job->rows, h - i0);
              int pixels = rows * w;
              gather_dy (job->dy, n, o0, n_o, i0, rows, g);
              cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
                           c_in, n_o * 4, pixels,
                           1.0f, job->x->data + (size_t) n * c_in * plane + (size_t) i0 * w, (int) plane,
                           g, pixels,
                           1.0f, job->dweight + (size_t) o0 * 4, c_out * 4);
            }
          for (int o = o0; job->dbias != NULL && o < o0 + n_o; o++)
            {
              const float *d = job->dy->data + ((size_t) n * c_out + o) * out_plane;
              job->dbias[o] += (float) pulmo_sum_floats (d, out_plane);
            }
        }
    }
}

void
pulmo_upconv2_backward (const PulmoTensor *x,
                        const float *weight,
                        const PulmoTensor *dy,
                        PulmoTensor *dx,
                        float *dweight,
                        float *dbias)
{
  g_return_if_fail (x != NULL && weight != NULL && dy != NULL);
  g_return_if_fail (dy->n == x->n && dy->h == 2 * x->h && dy->w == 2 * x->w);
  g_return_if_fail (dx == NULL || (dx->n == x->n && dx->c == x->c && dx->h == x->h && dx->w == x->w));

  int n_threads = pulmo_parallel_n_threads ();
  UpconvBackward job = { x, weight, dy, dx, dweight, dbias, 0, 0, 0, NULL, 0 };

  if (dx != NULL)
    {
      job.rows = band_rows (dy->c, x->h, x->w);
      job.n_bands = (x->h + job.rows - 1) / job.rows;
      job.scratch_floats = (size_t) dy->c * 4 * job.rows * x->w;
      job.scratch = g_new (float, job.scratch_floats * n_threads);
      pulmo_parallel_for (x->n * job.n_bands, upconv_backward_input_bands, &job);
      g_clear_pointer (&job.scratch, g_free);
    }

  if (dweight != NULL || dbias != NULL)
    {
      /* Blocks and bands follow from the shape alone, never from the number
       * of threads, so the summation order (and every bit of dW) is the same
       * on any machine. 64 columns keep the GEMM efficient. */
      job.block = MIN (dy->c, UPCONV_BLOCK_CHANNELS);
      job.rows = band_rows (job.block, x->h, x->w);
      job.scratch_floats = (size_t) job.block * 4 * job.rows * x->w;
      job.scratch = g_new (float, job.scratch_floats * n_threads);
      pulmo_parallel_for ((dy->c + job.block - 1) / job.block, upconv_backward_param_blocks, &job);
      g_free (job.scratch);
    }
}
