/* conv-winograd.c: Winograd F(4×4, 3×3) (Lavin & Gray, 2016).
 *
 *   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
 *
 * with d a 6×6 input tile starting one pixel above and left of its 4×4 output
 * tile. The element-wise product summed over input channels becomes, for each
 * of the 36 positions ξ, a matrix product M[ξ] (Cout × tiles) =
 * U[ξ] (Cout × Cin) · V[ξ] (Cin × tiles).
 *
 * Tiles are handled in groups along a tile row, one tile per lane of a
 * vector, so the transforms are vector arithmetic on whole groups
 * (conv-winograd-tiles.h): 16 tiles in AVX-512 registers where the CPU has
 * AVX-512F, else 8. V and M only hold the columns of real tiles, so ragged
 * image edges waste no multiply work.
 *
 * On CPUs with AVX-512F, or AVX2 and FMA, the products run on Pulmo's own
 * microkernels (gemm-packed.h), whatever OpenBLAS core is chosen: U is
 * stored in their row panels, and the input transform writes V straight into
 * their column panels, so nothing is packed per call. Elsewhere they are
 * cblas_sgemm calls on row-major U and V (V as a single panel). M is
 * row-major either way.
 *
 * Two schedules: small images with many channels go in three passes over
 * whole-layer V and M (input transform, 36 products as wide as the layer,
 * output transform); larger ones in blocks of tiles, each block transformed,
 * multiplied and transformed back by one worker in its own scratch.
 *
 * The weight gradient is the gradient of this computation: the same input
 * transform and blocks of tiles, the output gradient transformed by A · Aᵀ,
 * 36 products summed over the tiles, and Gᵀ · G back to 3×3. */
#include "nn/conv-winograd.h"

#include "nn/conv-private.h"
#include "nn/conv-winograd-private.h"
#include "nn/gemm-packed.h"
#include "nn/parallel.h"

#include <cblas.h>
#include <string.h>

#define LANES PULMO_LANES
#define POSITIONS PULMO_WINOGRAD_POSITIONS
#define CACHE_LINE_FLOATS 16
/* Floats of V and M per worker (3 MiB): the block of tiles in flight, unless
 * MIN_BLOCK_TILES needs more. */
#define BLOCK_BUDGET_FLOATS (768 * 1024)
#define MAX_BLOCK_TILES 512
/* Narrower sgemms lose more than a larger block costs (2 × 36 × 64 floats
 * per channel: 8 MiB per worker for the widest U-Net layers). */
#define MIN_BLOCK_TILES 64
/* The packed kernel packs nothing per call, so narrow products cost it
 * little: its blocks are sized for V and M to stay in L2 (384 KiB), down
 * to two groups of 16 tiles (pulmo bench nn). */
#define PACKED_BLOCK_BUDGET_FLOATS (96 * 1024)
#define PACKED_MIN_BLOCK_TILES 32
/* Floats of whole-layer V and M (12 MiB) below which a layer goes in three
 * passes instead of blocks (small images with many channels); with the
 * packed kernel, only if it makes too few blocks to share among the cores. */
#define LAYER_BUDGET_FLOATS (3 * 1024 * 1024)

typedef PulmoLanes Lanes; /* eight input channels of the weight transform */

/* ---- Weight transform: U[ξ][o][c] = (G g Gᵀ)[ξ] ---- */

/* U[ξ] is stored in row panels of row_panel output channels (see
 * gemm-packed.h): U[ξ][o][c] at u[ξ·position_stride + (o / row_panel) · Cin ·
 * row_panel + c · row_panel + o % row_panel]. With row_panel 1 that is plain
 * row-major Cout × Cin, as cblas_sgemm reads it. */
typedef struct {
  const PulmoTensor *weight;
  int row_panel;
  size_t position_stride;
  float *u;
} WeightJob;

/* Products by Pulmo's packed microkernels where the CPU runs one, whatever
 * OpenBLAS core is chosen; by cblas_sgemm elsewhere. */
static gboolean
use_packed_products (void)
{
  return pulmo_gemm_packed_supported ();
}

static int
weight_row_panel (void)
{
  return use_packed_products () ? PULMO_GEMM_PACKED_ROWS : 1;
}

/* Floats of U per position: Cout rounded up to whole row panels, × Cin. */
static size_t
weight_position_stride (int cout, int cin, int row_panel)
{
  return (size_t) (cout + row_panel - 1) / row_panel * row_panel * cin;
}

/* G applied to three values (a column or a row of a kernel), giving six.
 * Multiplications by constant reciprocals, not divisions. */
static inline __attribute__ ((always_inline)) void
weight_transform_3 (const Lanes *g, size_t stride, Lanes *out, size_t out_stride)
{
  const float q = 1.0f / 4.0f, s = 1.0f / 6.0f, e = 1.0f / 12.0f, t24 = 1.0f / 24.0f;
  Lanes g0 = g[0], g1 = g[stride], g2 = g[2 * stride];
  out[0] = q * g0;
  out[out_stride] = -s * (g0 + g1 + g2);
  out[2 * out_stride] = -s * (g0 - g1 + g2);
  out[3 * out_stride] = t24 * g0 + e * g1 + s * g2;
  out[4 * out_stride] = t24 * g0 - e * g1 + s * g2;
  out[5 * out_stride] = g2;
}

/* U for eight input channels of one output channel, one per lane, from
 * their 3×3 kernels at @kernels; lanes past @n_lanes are zero. */
static inline __attribute__ ((always_inline)) void
transform_kernels (const float *kernels, int n_lanes, Lanes *u)
{
  Lanes g[9], t[18];
  if (n_lanes < LANES)
    memset (g, 0, sizeof g);
  for (int lane = 0; lane < n_lanes; lane++)
    for (int k = 0; k < 9; k++)
      g[k][lane] = kernels[lane * 9 + k];
  for (int j = 0; j < 3; j++)
    weight_transform_3 (g + j, 3, t + j, 3); /* columns: G g, 6 × 3 */
  for (int i = 0; i < 6; i++)
    weight_transform_3 (t + i * 3, 1, u + i * 6, 1); /* rows: (G g) Gᵀ, 6 × 6 */
}

/* Items are row panels. Eight input channels at a time, one per lane, so
 * that each position's results are stored as a contiguous run of U (strided
 * stores across 36 pages per kernel would cost more than the arithmetic):
 * packed, the run holds the eight channels of every row of the panel. */
PULMO_AVX2_CLONES
static void
transform_weight_items (void *data, int begin, int end, int worker)
{
  WeightJob *job = data;
  int cout = job->weight->n, cin = job->weight->c, row_panel = job->row_panel;
  size_t position_stride = job->position_stride;

  for (int panel = begin; panel < end; panel++)
    for (int c0 = 0; c0 < cin; c0 += LANES)
      {
        int n_lanes = MIN (LANES, cin - c0);
        int o0 = panel * row_panel, n_rows = MIN (row_panel, cout - o0);
        Lanes u[PULMO_GEMM_PACKED_ROWS][POSITIONS];
        for (int r = 0; r < n_rows; r++)
          transform_kernels (job->weight->data + ((size_t) (o0 + r) * cin + c0) * 9, n_lanes, u[r]);
        if (n_rows < row_panel) /* a last, partial panel: zero rows */
          memset (u[n_rows], 0, (size_t) (row_panel - n_rows) * sizeof u[0]);
        float *dst = job->u + ((size_t) panel * cin + c0) * row_panel;
        if (row_panel > 1) /* packed */
          for (int xi = 0; xi < POSITIONS; xi++)
            for (int lane = 0; lane < n_lanes; lane++)
              for (int r = 0; r < row_panel; r++)
                dst[xi * position_stride + (size_t) lane * row_panel + r] = u[r][xi][lane];
        else if (n_lanes == LANES) /* fixed size: one vector store each */
          for (int xi = 0; xi < POSITIONS; xi++)
            memcpy (dst + xi * position_stride, &u[0][xi], sizeof (Lanes));
        else
          for (int xi = 0; xi < POSITIONS; xi++)
            memcpy (dst + xi * position_stride, &u[0][xi], n_lanes * sizeof (float));
      }
}

/* ---- The layer's tiles ---- */

/* The layer's tile groups, in blocks of as many tiles as @budget floats hold
 * for V (@cin channels) and M (@cout), from @min_tiles up. */
static void
plan_blocks (PulmoWinogradJob *job, int cin, int cout, size_t budget, int min_tiles)
{
  const PulmoTensor *input = job->input;
  job->kernel = pulmo_gemm_packed_kernel ();
  job->lanes = job->kernel == PULMO_GEMM_PACKED_AVX512 ? 16 : 8;
  job->tiles_y = (input->h + 3) / 4;
  job->tiles_x = (input->w + 3) / 4;
  job->groups_x = (job->tiles_x + job->lanes - 1) / job->lanes;
  job->n_groups = input->n * job->tiles_y * job->groups_x;
  int columns = (int) CLAMP (budget / (POSITIONS * (cin + cout)), (size_t) min_tiles, MAX_BLOCK_TILES);
  job->groups_per_block = columns / job->lanes;
  job->n_blocks = (job->n_groups + job->groups_per_block - 1) / job->groups_per_block;
}

/* Sets the strides of V and M for ld columns. */
static void
plan_strides (PulmoWinogradJob *job)
{
  int cin = job->input->c;
  job->v_panel = job->packed ? PULMO_GEMM_PACKED_COLUMNS : job->ld;
  job->v_stride = (job->ld + job->v_panel - 1) / job->v_panel * job->v_panel * cin;
  job->m_stride = (size_t) job->output->c * job->ld;
  /* Positions a multiple of 4 KiB apart (whole panels of V whenever Cin is a
   * multiple of 32) would put a group's 36 loads or stores in one L1 set. */
  if (job->packed)
    {
      job->v_stride += CACHE_LINE_FLOATS;
      job->m_stride += CACHE_LINE_FLOATS;
    }
  job->aligned = job->tiles_x % job->lanes == 0 && job->ld % job->lanes == 0
                 && job->v_panel % job->lanes == 0;
}

static void
transform_block_input (const PulmoWinogradJob *job, int g_begin, int g_end, int c0, int c1, float *v)
{
  switch (job->kernel)
    {
    case PULMO_GEMM_PACKED_AVX512:
      pulmo_winograd_input_16 (job, g_begin, g_end, c0, c1, v);
      break;
    case PULMO_GEMM_PACKED_AVX2:
      pulmo_winograd_input_8_avx2 (job, g_begin, g_end, c0, c1, v);
      break;
    case PULMO_GEMM_PACKED_NONE:
      pulmo_winograd_input_8 (job, g_begin, g_end, c0, c1, v);
      break;
    }
}

static void
transform_block_output (const PulmoWinogradJob *job, int g_begin, int g_end, int o0, int n_out,
                        const float *m)
{
  switch (job->kernel)
    {
    case PULMO_GEMM_PACKED_AVX512:
      pulmo_winograd_output_16 (job, g_begin, g_end, o0, n_out, m);
      break;
    case PULMO_GEMM_PACKED_AVX2:
      pulmo_winograd_output_8_avx2 (job, g_begin, g_end, o0, n_out, m);
      break;
    case PULMO_GEMM_PACKED_NONE:
      pulmo_winograd_output_8 (job, g_begin, g_end, o0, n_out, m);
      break;
    }
}

/* M[ξ] (Cout × columns) = U[ξ] · V[ξ] for positions [xi0, xi1). */
static void
multiply_positions (const PulmoWinogradJob *job, int xi0, int xi1, int columns, const float *v, float *m)
{
  int cin = job->input->c, cout = job->output->c;
  for (int xi = xi0; xi < xi1; xi++)
    if (job->packed)
      pulmo_gemm_packed (cout, columns, cin, job->u + xi * job->u_stride, v + xi * job->v_stride,
                         m + xi * job->m_stride, job->ld);
    else
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, columns, cin, 1.0f,
                   job->u + xi * job->u_stride, cin, v + xi * job->v_stride, (int) job->ld, 0.0f,
                   m + xi * job->m_stride, (int) job->ld);
}

/* The groups [*g_begin, *g_end) of @block, and its columns (real tiles). */
static int
block_groups (const PulmoWinogradJob *job, int block, int *g_begin, int *g_end)
{
  *g_begin = block * job->groups_per_block;
  *g_end = MIN (job->n_groups, *g_begin + job->groups_per_block);
  int last_n, last_ty, last_tx0, last_tiles;
  pulmo_winograd_group_position (job, *g_end - 1, &last_n, &last_ty, &last_tx0, &last_tiles);
  return (int) (pulmo_winograd_group_column (job, *g_end - 1) + last_tiles
                - pulmo_winograd_group_column (job, *g_begin));
}

/* Block mode (large images): an item transforms a block of tiles, multiplies
 * and transforms back, all in the worker's scratch. */
static void
block_items (void *data, int begin, int end, int worker)
{
  PulmoWinogradJob *job = data;
  int cout = job->output->c;
  float *v = pulmo_worker_scratch_get (&job->scratch, worker);
  float *m = v + POSITIONS * job->v_stride;

  for (int block = begin; block < end; block++)
    {
      int g_begin, g_end;
      int columns = block_groups (job, block, &g_begin, &g_end);
      transform_block_input (job, g_begin, g_end, 0, job->input->c, v);
      multiply_positions (job, 0, POSITIONS, columns, v, m);
      transform_block_output (job, g_begin, g_end, 0, cout, m);
    }
}

/* Layer mode (small images, many channels): three passes over whole-layer
 * V and M, so each U[ξ] is read once and the products are as wide as the
 * layer. Items: input channels, then positions, then output channels. */
static void
layer_input_items (void *data, int begin, int end, int worker)
{
  PulmoWinogradJob *job = data;
  transform_block_input (job, 0, job->n_groups, begin, end, job->v);
}

static void
layer_multiply_items (void *data, int begin, int end, int worker)
{
  PulmoWinogradJob *job = data;
  int columns = (int) job->ld - job->lanes;
  multiply_positions (job, begin, end, columns, job->v, job->m);
}

static void
layer_output_items (void *data, int begin, int end, int worker)
{
  PulmoWinogradJob *job = data;
  transform_block_output (job, 0, job->n_groups, begin, end - begin, job->m + (size_t) begin * job->ld);
}

float *
pulmo_conv_winograd_transform_weight (const PulmoTensor *weight)
{
  int row_panel = weight_row_panel ();
  size_t position_stride = weight_position_stride (weight->n, weight->c, row_panel);
  float *u = g_aligned_alloc (POSITIONS * position_stride, sizeof (float), 64);
  WeightJob weight_job = { weight, row_panel, position_stride, u };
  pulmo_parallel_for ((weight->n + row_panel - 1) / row_panel, transform_weight_items, &weight_job);
  return u;
}

void
pulmo_conv_winograd_forward (const PulmoTensor *input,
                             const PulmoTensor *weight,
                             const float *transformed_weight,
                             const float *bias,
                             gboolean relu,
                             PulmoTensor *output)
{
  int cin = input->c, cout = output->c;
  float *owned = transformed_weight == NULL ? pulmo_conv_winograd_transform_weight (weight) : NULL;
  const float *u = transformed_weight != NULL ? transformed_weight : owned;

  PulmoWinogradJob job = { .input = input, .output = output, .u = u, .bias = bias, .relu = relu };
  job.packed = use_packed_products ();
  job.u_stride = weight_position_stride (cout, cin, weight_row_panel ());

  /* Blocks with all input and output channels. Layers too big for layer
   * mode make at least LAYER_BUDGET / BLOCK_BUDGET blocks: enough items. */
  if (job.packed)
    plan_blocks (&job, cin, cout, PACKED_BLOCK_BUDGET_FLOATS, PACKED_MIN_BLOCK_TILES);
  else
    plan_blocks (&job, cin, cout, BLOCK_BUDGET_FLOATS, MIN_BLOCK_TILES);
  size_t layer_columns = (size_t) input->n * job.tiles_y * job.tiles_x;

  if ((size_t) POSITIONS * (cin + cout) * (layer_columns + job.lanes) <= LAYER_BUDGET_FLOATS
      && (!job.packed || job.n_blocks < PULMO_CONV_MIN_ITEMS))
    {
      job.ld = layer_columns + job.lanes;
      plan_strides (&job);
      /* Not zeroed (megabytes, by this thread alone): what the passes read
       * but do not write (panel padding of V, spare lanes of M) only reaches
       * columns of M and lanes of groups that are never stored. */
      job.v = g_aligned_alloc (POSITIONS * (job.v_stride + job.m_stride), sizeof (float), 64);
      job.m = job.v + POSITIONS * job.v_stride;
      pulmo_parallel_for (cin, layer_input_items, &job);
      pulmo_parallel_for (POSITIONS, layer_multiply_items, &job);
      pulmo_parallel_for (cout, layer_output_items, &job);
      g_aligned_free (job.v);
    }
  else
    {
      job.ld = (size_t) (job.groups_per_block + 1) * job.lanes;
      plan_strides (&job);
      pulmo_worker_scratch_init (&job.scratch, POSITIONS * (job.v_stride + job.m_stride));
      pulmo_parallel_for (job.n_blocks, block_items, &job);
      pulmo_worker_scratch_clear (&job.scratch);
    }
  g_aligned_free (owned);
}

/* ---- Weight gradient ---- */

/* Floats of per-group partial sums of dU (16 MiB), and at most this many groups. */
#define GRAD_BUDGET_FLOATS (4 << 20)
#define MAX_GRAD_GROUPS 16

/* Items are (group of tile blocks, output-channel block); each group sums
 * its blocks into its own dU, in block order, and the groups' sums are added
 * in group order afterwards: the same sums whatever the thread count. */
typedef struct {
  PulmoWinogradJob tiles; /* input = the layer's input, output = dL/d output */
  float *partials;        /* n_groups × 36 × Cout × Cin */
  float *grad_weight;
  int n_groups, cout_block, n_cout_blocks;
  size_t dy_stride; /* floats per position of the transformed dY: cout_block × ld, padded */
} WeightGradJob;

/* A applied to four values (a column or a row of a dY tile), giving six:
 * the transpose of output_transform_6 in conv-winograd-tiles.h. */
static inline __attribute__ ((always_inline)) void
grad_output_transform_4 (const Lanes *y, size_t stride, Lanes *out, size_t out_stride)
{
  Lanes y0 = y[0], y1 = y[stride], y2 = y[2 * stride], y3 = y[3 * stride];
  Lanes even = y0 + y2, odd = y1 + y3, even4 = y0 + 4.0f * y2, odd8 = 2.0f * y1 + 8.0f * y3;
  out[0] = y0;
  out[out_stride] = even + odd;
  out[2 * out_stride] = even - odd;
  out[3 * out_stride] = even4 + odd8;
  out[4 * out_stride] = even4 - odd8;
  out[5 * out_stride] = y3;
}

/* d[j][lane] = row[4·lane + j] for j < 4: the four columns of eight tiles,
 * by shuffles of four loads rather than 32 scalar moves. */
static inline __attribute__ ((always_inline)) void
dy_row_columns (const float *row, size_t next_plane, Lanes *d)
{
  Lanes r0, r1, r2, r3;
  /* The same window of the next channel comes next: start loading it now,
   * since short row streams defeat the hardware prefetcher. */
  __builtin_prefetch (row + next_plane);
  __builtin_prefetch (row + next_plane + 4 * LANES - 1);
  memcpy (&r0, row, sizeof r0);
  memcpy (&r1, row + LANES, sizeof r1);
  memcpy (&r2, row + 2 * LANES, sizeof r2);
  memcpy (&r3, row + 3 * LANES, sizeof r3);
  /* Each half gathers column j of four tiles; then the halves are joined. */
#define HALF(a, b, j) __builtin_shufflevector (a, b, j, j + 4, j + 8, j + 12, 0, 0, 0, 0)
#define COLUMN(j) __builtin_shufflevector (HALF (r0, r1, j), HALF (r2, r3, j), 0, 1, 2, 3, 8, 9, 10, 11)
  d[0] = COLUMN (0);
  d[1] = COLUMN (1);
  d[2] = COLUMN (2);
  d[3] = COLUMN (3);
#undef COLUMN
#undef HALF
}

/* A dY Aᵀ for output channels [o0, o0 + n_out) of groups [g_begin, g_end),
 * into m (position ξ at m + ξ·m_stride, rows of ld floats), eight tiles per
 * vector. Lanes past a group's tiles are written too: the next group, or
 * nothing, reads them. */
PULMO_AVX2_CLONES
static void
grad_output_tiles (const PulmoWinogradJob *job, int g_begin, int g_end, int o0, int n_out, float *m,
                   size_t m_stride)
{
  const PulmoTensor *gout = job->output;
  int h = gout->h, w = gout->w;
  size_t first = pulmo_winograd_group_column (job, g_begin);

  for (int o = 0; o < n_out; o++)
    for (int g = g_begin; g < g_end; g++)
      {
        int n, ty, tx0, n_tiles;
        pulmo_winograd_group_position (job, g, &n, &ty, &tx0, &n_tiles);
        const float *plane = pulmo_tensor_plane (gout, n, o0 + o);
        float *dst = m + (size_t) o * job->ld + pulmo_winograd_group_column (job, g) - first;
        for (int t0 = 0; t0 < n_tiles; t0 += LANES, dst += LANES)
          {
            Lanes d[16] = { 0 }, t[24], s[36];
            int x0 = (tx0 + t0) * 4;
            if (n_tiles - t0 >= LANES && x0 + 4 * LANES <= w) /* eight tiles inside the image */
              for (int i = 0; i < 4 && ty * 4 + i < h; i++)
                dy_row_columns (plane + (size_t) (ty * 4 + i) * w + x0, (size_t) h * w, d + i * 4);
            else /* the right or bottom edge: zero outside the image */
              for (int lane = 0; lane < MIN (LANES, n_tiles - t0); lane++)
                for (int i = 0; i < 4 && ty * 4 + i < h; i++)
                  {
                    int x = x0 + lane * 4;
                    const float *row = plane + (size_t) (ty * 4 + i) * w + x;
                    for (int j = 0; j < MIN (4, w - x); j++)
                      d[i * 4 + j][lane] = row[j];
                  }
            for (int j = 0; j < 4; j++)
              grad_output_transform_4 (d + j, 4, t + j, 4); /* columns: A dY, 6 × 4 */
            for (int i = 0; i < 6; i++)
              grad_output_transform_4 (t + i * 4, 1, s + i * 6, 1); /* rows: (A dY) Aᵀ */
            for (int xi = 0; xi < POSITIONS; xi++)
              memcpy (dst + xi * m_stride, &s[xi], sizeof (Lanes));
          }
      }
}

static void
weight_grad_items (void *data, int begin, int end, int worker)
{
  WeightGradJob *job = data;
  const PulmoWinogradJob *tiles = &job->tiles;
  int cin = tiles->input->c, cout = tiles->output->c;
  float *v = pulmo_worker_scratch_get (&job->tiles.scratch, worker);
  float *m = v + POSITIONS * tiles->v_stride;

  for (int item = begin; item < end; item++)
    {
      int cb = item % job->n_cout_blocks, group = item / job->n_cout_blocks;
      int o0 = cb * job->cout_block, n_out = MIN (cout, o0 + job->cout_block) - o0;
      int b_begin = (int) ((long) group * tiles->n_blocks / job->n_groups);
      int b_end = (int) ((long) (group + 1) * tiles->n_blocks / job->n_groups);
      float *du = job->partials + (size_t) group * POSITIONS * cout * cin + (size_t) o0 * cin;

      for (int block = b_begin; block < b_end; block++)
        {
          int g_begin, g_end;
          int columns = block_groups (tiles, block, &g_begin, &g_end);
          transform_block_input (tiles, g_begin, g_end, 0, cin, v);
          grad_output_tiles (tiles, g_begin, g_end, o0, n_out, m, job->dy_stride);
          for (int xi = 0; xi < POSITIONS; xi++)
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, n_out, cin, columns, 1.0f,
                         m + xi * job->dy_stride, (int) tiles->ld, v + xi * tiles->v_stride,
                         (int) tiles->ld, block == b_begin ? 0.0f : 1.0f,
                         du + (size_t) xi * cout * cin, cin);
        }
    }
}

/* Gᵀ applied to six values (a column or a row of dU), giving three: the
 * transpose of weight_transform_3. */
static inline void
grad_weight_transform_6 (const double *s, size_t stride, double *out, size_t out_stride)
{
  double s0 = s[0], s1 = s[stride], s2 = s[2 * stride], s3 = s[3 * stride], s4 = s[4 * stride],
         s5 = s[5 * stride];
  out[0] = s0 / 4 - (s1 + s2) / 6 + (s3 + s4) / 24;
  out[out_stride] = (s2 - s1) / 6 + (s3 - s4) / 12;
  out[2 * out_stride] = (s3 + s4 - s1 - s2) / 6 + s5;
}

/* Items are output channels: dU summed over the groups in group order, then
 * Gᵀ dU G added to the gradient. */
static void
weight_grad_reduce_items (void *data, int begin, int end, int worker)
{
  WeightGradJob *job = data;
  int cin = job->tiles.input->c, cout = job->tiles.output->c;
  size_t position_floats = (size_t) cout * cin, group_floats = POSITIONS * position_floats;

  for (int o = begin; o < end; o++)
    for (int c = 0; c < cin; c++)
      {
        double du[POSITIONS], t[18], dg[9];
        const float *src = job->partials + (size_t) o * cin + c;
        for (int xi = 0; xi < POSITIONS; xi++)
          {
            float sum = src[xi * position_floats];
            for (int g = 1; g < job->n_groups; g++)
              sum += src[g * group_floats + xi * position_floats];
            du[xi] = sum;
          }
        for (int j = 0; j < 6; j++)
          grad_weight_transform_6 (du + j, 6, t + j, 6); /* columns: Gᵀ dU, 3 × 6 */
        for (int i = 0; i < 3; i++)
          grad_weight_transform_6 (t + i * 6, 1, dg + i * 3, 1); /* rows: (Gᵀ dU) G */
        float *dst = job->grad_weight + ((size_t) o * cin + c) * 9;
        for (int k = 0; k < 9; k++)
          dst[k] += (float) dg[k];
      }
}

void
pulmo_conv_winograd_weight_grad (const PulmoTensor *input,
                                 const PulmoTensor *grad_output,
                                 PulmoTensor *grad_weight)
{
  int cin = input->c, cout = grad_output->c;
  /* The tiles' output is dL/d output, only read here: no output transform runs. */
  WeightGradJob job = { .tiles = { .input = input, .output = (PulmoTensor *) grad_output },
                        .grad_weight = grad_weight->data };
  PulmoWinogradJob *tiles = &job.tiles;

  /* The input transform writes V row-major (one panel), as cblas_sgemm reads it. */
  tiles->packed = FALSE;
  plan_blocks (tiles, cin, cout, BLOCK_BUDGET_FLOATS, MIN_BLOCK_TILES);
  tiles->ld = (size_t) (tiles->groups_per_block + 1) * tiles->lanes;
  plan_strides (tiles);
  /* As plan_strides() does for packed V: positions a multiple of 4 KiB apart
   * would put a group's 36 loads or stores in one L1 set. */
  tiles->v_stride += CACHE_LINE_FLOATS;

  size_t group_floats = POSITIONS * (size_t) cout * cin;
  job.n_groups = (int) CLAMP (GRAD_BUDGET_FLOATS / group_floats, (size_t) 1,
                                (size_t) MIN (tiles->n_blocks, MAX_GRAD_GROUPS));
  pulmo_conv_plan_cout_blocks (cout, job.n_groups, &job.cout_block, &job.n_cout_blocks);
  job.dy_stride = (size_t) job.cout_block * tiles->ld + CACHE_LINE_FLOATS;
  job.partials = g_new (float, group_floats * job.n_groups);

  pulmo_worker_scratch_init (&tiles->scratch, POSITIONS * (tiles->v_stride + job.dy_stride));
  pulmo_parallel_for (job.n_groups * job.n_cout_blocks, weight_grad_items, &job);
  pulmo_worker_scratch_clear (&tiles->scratch);
  pulmo_parallel_for (cout, weight_grad_reduce_items, &job);
  g_free (job.partials);
}
