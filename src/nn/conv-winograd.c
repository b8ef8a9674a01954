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
 * multiplied and transformed back by one worker in its own scratch. */
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
__attribute__ ((target_clones ("avx2", "default")))
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
  if (job->lanes == 16)
    pulmo_winograd_input_16 (job, g_begin, g_end, c0, c1, v);
  else
    pulmo_winograd_input_8 (job, g_begin, g_end, c0, c1, v);
}

static void
transform_block_output (const PulmoWinogradJob *job, int g_begin, int g_end, int o0, int n_out,
                        const float *m)
{
  if (job->lanes == 16)
    pulmo_winograd_output_16 (job, g_begin, g_end, o0, n_out, m);
  else
    pulmo_winograd_output_8 (job, g_begin, g_end, o0, n_out, m);
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
      int g_begin = block * job->groups_per_block;
      int g_end = MIN (job->n_groups, g_begin + job->groups_per_block);
      int last_n, last_ty, last_tx0, last_tiles;
      pulmo_winograd_group_position (job, g_end - 1, &last_n, &last_ty, &last_tx0, &last_tiles);
      int columns = (int) (pulmo_winograd_group_column (job, g_end - 1) + last_tiles
                           - pulmo_winograd_group_column (job, g_begin));

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
  job.lanes = pulmo_gemm_packed_kernel () == PULMO_GEMM_PACKED_AVX512 ? 16 : 8;
  job.u_stride = weight_position_stride (cout, cin, weight_row_panel ());
  job.tiles_y = (input->h + 3) / 4;
  job.tiles_x = (input->w + 3) / 4;
  job.groups_x = (job.tiles_x + job.lanes - 1) / job.lanes;
  job.n_groups = input->n * job.tiles_y * job.groups_x;
  size_t layer_columns = (size_t) input->n * job.tiles_y * job.tiles_x;

  /* Blocks of as many tiles as the budget holds for V (all input channels)
   * and M (all output channels). Layers too big for layer mode make at least
   * LAYER_BUDGET / BLOCK_BUDGET blocks: enough items. */
  size_t budget = job.packed ? PACKED_BLOCK_BUDGET_FLOATS : BLOCK_BUDGET_FLOATS;
  int min_tiles = job.packed ? PACKED_MIN_BLOCK_TILES : MIN_BLOCK_TILES;
  int columns = (int) CLAMP (budget / (POSITIONS * (cin + cout)), (size_t) min_tiles, MAX_BLOCK_TILES);
  job.groups_per_block = columns / job.lanes;
  job.n_blocks = (job.n_groups + job.groups_per_block - 1) / job.groups_per_block;

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
