/* conv-winograd.c: Winograd F(4×4, 3×3) (Lavin & Gray, 2016).
 *
 *   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
 *
 * with d a 6×6 input tile starting one pixel above and left of its 4×4 output
 * tile. The element-wise product summed over input channels becomes, for each
 * of the 36 positions ξ, a matrix product M[ξ] (Cout × tiles) =
 * U[ξ] (Cout × Cin) · V[ξ] (Cin × tiles).
 *
 * Tiles are handled in groups of 8 along a tile row: the 8 tiles are the 8
 * lanes of a vector, so the transforms are vector arithmetic on whole groups
 * (see conv-private.h). V and M only hold the columns of real tiles, so
 * ragged image edges waste no multiply work.
 *
 * On CPUs with AVX-512F the products run on Pulmo's own microkernel
 * (gemm-packed.h), whatever OpenBLAS core is chosen: U is stored in its row
 * panels, and the input transform writes V straight into its column panels,
 * so nothing is packed per call. Elsewhere they are cblas_sgemm calls on
 * row-major U and V (V as a single panel). M is row-major either way.
 *
 * Two schedules: small images with many channels go in three passes over
 * whole-layer V and M (input transform, 36 products as wide as the layer,
 * output transform); larger ones in blocks of tiles, each block transformed,
 * multiplied and transformed back by one worker in its own scratch. */
#include "nn/conv-winograd.h"

#include "nn/conv-private.h"
#include "nn/gemm-packed.h"
#include "nn/parallel.h"

#include <cblas.h>
#include <string.h>

#define LANES PULMO_LANES
#define POSITIONS 36
#define CACHE_LINE_FLOATS 16
/* Floats of V and M per worker (3 MiB): the block of tiles in flight, unless
 * MIN_BLOCK_TILES needs more. */
#define BLOCK_BUDGET_FLOATS (768 * 1024)
#define MAX_BLOCK_TILES 512
/* Narrower sgemms lose more than a larger block costs (2 × 36 × 64 floats
 * per channel: 8 MiB per worker for the widest U-Net layers). */
#define MIN_BLOCK_TILES 64
/* Floats of whole-layer V and M (12 MiB) below which a layer goes in three
 * passes instead of blocks (small images with many channels). */
#define LAYER_BUDGET_FLOATS (3 * 1024 * 1024)

typedef PulmoLanes Lanes;
typedef PulmoLaneMask LaneMask;

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

/* Products by Pulmo's packed microkernel where the CPU runs it, whatever
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

/* ---- Input transform: V = Bᵀ d B for a group of 8 tiles ---- */

/* Bᵀ applied to six values (a column or a row of a tile). */
static inline __attribute__ ((always_inline)) void
input_transform_6 (const Lanes *d, size_t stride, Lanes *out, size_t out_stride)
{
  Lanes d0 = d[0], d1 = d[stride], d2 = d[2 * stride], d3 = d[3 * stride], d4 = d[4 * stride],
        d5 = d[5 * stride];
  out[0] = 4.0f * d0 - 5.0f * d2 + d4;
  out[out_stride] = -4.0f * (d1 + d2) + d3 + d4;
  out[2 * out_stride] = 4.0f * (d1 - d2) - d3 + d4;
  out[3 * out_stride] = 2.0f * (d3 - d1) - d2 + d4;
  out[4 * out_stride] = 2.0f * (d1 - d3) - d2 + d4;
  out[5 * out_stride] = 4.0f * d1 - 5.0f * d3 + d5;
}

/* d[j][lane] = row[4·lane + j] for j < 6: the six columns of eight tiles,
 * by shuffles with constant masks rather than 48 scalar moves. Columns 4 and
 * 5 are columns 0 and 1 of the row shifted by one tile. Reads row[0..35]. */
#define TILE_COLUMN(r0, r1, r2, r3, j)                                                    \
  __builtin_shuffle (__builtin_shuffle (r0, r1, (LaneMask) { j, j + 4, j + 8, j + 12 }),    \
                     __builtin_shuffle (r2, r3, (LaneMask) { j, j + 4, j + 8, j + 12 }),    \
                     (LaneMask) { 0, 1, 2, 3, 8, 9, 10, 11 })

static inline __attribute__ ((always_inline)) void
deinterleave_row (const float *row, Lanes *d)
{
  /* Separate variables, not an array: they stay in registers. */
  Lanes r0, r1, r2, r3, s0, s1, s2, s3;
  memcpy (&r0, row, sizeof r0);
  memcpy (&r1, row + 8, sizeof r1);
  memcpy (&r2, row + 16, sizeof r2);
  memcpy (&r3, row + 24, sizeof r3);
  d[0] = TILE_COLUMN (r0, r1, r2, r3, 0);
  d[1] = TILE_COLUMN (r0, r1, r2, r3, 1);
  d[2] = TILE_COLUMN (r0, r1, r2, r3, 2);
  d[3] = TILE_COLUMN (r0, r1, r2, r3, 3);
  memcpy (&s0, row + 4, sizeof s0);
  memcpy (&s1, row + 12, sizeof s1);
  memcpy (&s2, row + 20, sizeof s2);
  memcpy (&s3, row + 28, sizeof s3);
  d[4] = TILE_COLUMN (s0, s1, s2, s3, 0);
  d[5] = TILE_COLUMN (s0, s1, s2, s3, 1);
}

/* row[4·lane + j] = y[j][lane] for j < 4: the inverse, for four columns. */
static inline __attribute__ ((always_inline)) void
interleave_row (const Lanes *y, float *row)
{
  const LaneMask pairs_low = { 0, 8, 1, 9, 2, 10, 3, 11 }, pairs_high = { 4, 12, 5, 13, 6, 14, 7, 15 };
  const LaneMask quads_low = { 0, 1, 8, 9, 2, 3, 10, 11 }, quads_high = { 4, 5, 12, 13, 6, 7, 14, 15 };
  Lanes a = __builtin_shuffle (y[0], y[1], pairs_low), b = __builtin_shuffle (y[2], y[3], pairs_low);
  Lanes c = __builtin_shuffle (y[0], y[1], pairs_high), d = __builtin_shuffle (y[2], y[3], pairs_high);
  Lanes out[4] = {
    __builtin_shuffle (a, b, quads_low),
    __builtin_shuffle (a, b, quads_high),
    __builtin_shuffle (c, d, quads_low),
    __builtin_shuffle (c, d, quads_high),
  };
  memcpy (row, out, sizeof out);
}

/* Transforms channel plane @plane for the group of tiles whose first tile's
 * input window starts at (y0, x0) and writes the 36 positions to
 * v[ξ·v_stride .. + n_first) and, where the group's lanes run past the end of
 * a column panel, the rest to v[ξ·v_stride + wrap ..]. The lanes past the
 * group's real tiles are written too (the caller's buffer has room): the
 * next group overwrites them. */
static inline __attribute__ ((always_inline)) void
input_group (const float *plane, size_t plane_stride, int h, int w, int y0, int x0, float *v,
             size_t v_stride, int n_first, size_t wrap, gboolean aligned)
{
  /* A row of the group's window: 8 tiles × 4 + 2 pixels, zero outside the image. */
  enum { SPAN = LANES * 4 + 2 };
  Lanes d[36], t[36];

  for (int i = 0; i < 6; i++)
    {
      int y = y0 + i;
      float row[SPAN + 6]; /* + 6: deinterleave_row reads row[0..35] */
      if (y >= 0 && y < h && x0 >= 0 && x0 + SPAN + 2 <= w)
        {
          /* Inside the image: shuffle straight from the plane. The same
           * window of the next channel comes next: start loading it now,
           * since short row streams defeat the hardware prefetcher. */
          const float *src = plane + (size_t) y * w + x0;
          __builtin_prefetch (src + plane_stride);
          __builtin_prefetch (src + plane_stride + 16);
          __builtin_prefetch (src + plane_stride + SPAN + 1);
          deinterleave_row (src, d + i * 6);
          continue;
        }
      if (y >= 0 && y < h && x0 == -1 && SPAN + 5 <= w)
        {
          /* The left edge, the commonest edge: one padding column, fixed size. */
          row[0] = 0.0f;
          memcpy (row + 1, plane + (size_t) y * w, (SPAN + 5) * sizeof (float));
          deinterleave_row (row, d + i * 6);
          continue;
        }
      memset (row, 0, sizeof row);
      if (y >= 0 && y < h)
        {
          /* The image's left or right edge: copy what is inside. */
          int k0 = MAX (0, -x0), k1 = MIN (SPAN, w - x0);
          if (k1 > k0)
            memcpy (row + k0, plane + (size_t) y * w + x0 + k0, (size_t) (k1 - k0) * sizeof (float));
        }
      deinterleave_row (row, d + i * 6);
    }
  for (int j = 0; j < 6; j++)
    input_transform_6 (d + j, 6, t + j, 6); /* columns: Bᵀ d */
  for (int i = 0; i < 6; i++)
    input_transform_6 (t + i * 6, 1, d + i * 6, 1); /* rows: (Bᵀ d) B */
  /* Telling the compiler V is aligned turns each store into one instruction
   * instead of two halves (GCC's generic tuning splits unaligned 32-byte
   * moves, and the halves then stall the loads that follow). */
  float *dst = aligned ? __builtin_assume_aligned (v, sizeof (Lanes)) : v;
  for (int xi = 0; xi < POSITIONS; xi++)
    if (n_first == LANES)
      memcpy (dst + xi * v_stride, &d[xi], sizeof (Lanes));
    else
      {
        const float *lanes = (const float *) &d[xi];
        memcpy (dst + xi * v_stride, lanes, (size_t) n_first * sizeof (float));
        memcpy (dst + xi * v_stride + wrap, lanes + n_first, (size_t) (LANES - n_first) * sizeof (float));
      }
}

/* ---- Output transform: Y = Aᵀ m A ---- */

static inline __attribute__ ((always_inline)) void
output_transform_6 (const Lanes *m, size_t stride, Lanes *out, size_t out_stride)
{
  Lanes m0 = m[0], m1 = m[stride], m2 = m[2 * stride], m3 = m[3 * stride], m4 = m[4 * stride],
        m5 = m[5 * stride];
  Lanes sum12 = m1 + m2, diff12 = m1 - m2, sum34 = m3 + m4, diff34 = m3 - m4;
  out[0] = m0 + sum12 + sum34;
  out[out_stride] = diff12 + 2.0f * diff34;
  out[2 * out_stride] = sum12 + 4.0f * sum34;
  out[3 * out_stride] = diff12 + 8.0f * diff34 + m5;
}

/* The 4×4 outputs of a group for one output channel, from m[ξ·m_stride ..]. */
static inline __attribute__ ((always_inline)) void
output_group (const float *m, size_t m_stride, gboolean aligned, float bias, gboolean relu,
              float *plane, int h, int w, int y0, int x0, int n_tiles)
{
  Lanes s[36], t[24], y[16];
  const float *src = aligned ? __builtin_assume_aligned (m, sizeof (Lanes)) : m;

  for (int xi = 0; xi < POSITIONS; xi++)
    memcpy (&s[xi], src + xi * m_stride, sizeof (Lanes));
  for (int j = 0; j < 6; j++)
    output_transform_6 (s + j, 6, t + j, 6); /* columns: Aᵀ m, 4 × 6 */
  for (int i = 0; i < 4; i++)
    output_transform_6 (t + i * 6, 1, y + i * 4, 1); /* rows: (Aᵀ m) A, 4 × 4 */

  Lanes zero = { 0 };
  for (int k = 0; k < 16; k++)
    {
      y[k] += bias;
      if (relu)
        y[k] = (Lanes) ((LaneMask) y[k] & (y[k] > zero)); /* max (0, y) without branches */
    }

  int n_x = MIN (w - x0, 4 * n_tiles);
  for (int i = 0; i < 4 && y0 + i < h; i++)
    {
      float row[4 * LANES];
      interleave_row (y + i * 4, row);
      if (n_x == 4 * LANES)
        memcpy (plane + (size_t) (y0 + i) * w + x0, row, sizeof row); /* inlined: fixed size */
      else
        memcpy (plane + (size_t) (y0 + i) * w + x0, row, (size_t) n_x * sizeof (float));
    }
}

/* ---- The layer's tiles: groups of LANES tiles along each tile row ---- */

typedef struct {
  const PulmoTensor *input;
  PulmoTensor *output;
  const float *u;
  const float *bias;
  gboolean relu;
  int tiles_y, tiles_x, groups_x;
  int n_groups; /* over the whole batch */
  int groups_per_block, n_blocks;
  /* A column is a tile; ld columns (those of a block, or of the layer, plus
   * room for a group's spare lanes). M[ξ][o][column]: row-major, rows of ld
   * floats. V[ξ] (Cin × ld): in column panels of v_panel columns (see
   * gemm-packed.h), Cin × v_panel floats each; with v_panel = ld that is one
   * row-major panel, as cblas_sgemm reads it. Positions are u_stride,
   * v_stride and m_stride apart. */
  gboolean packed; /* products by pulmo_gemm_packed(), not cblas_sgemm */
  size_t ld, v_panel, u_stride, v_stride, m_stride;
  gboolean aligned; /* every group's columns start on a vector boundary, within one panel */
  float *v, *m; /* whole-layer buffers (layer mode) */
  PulmoWorkerScratch scratch; /* per-block buffers (block mode) */
} ForwardJob;

static void
group_position (const ForwardJob *job, int group, int *n, int *ty, int *tx0, int *n_tiles)
{
  int gx = group % job->groups_x;
  int row = group / job->groups_x;
  *ty = row % job->tiles_y;
  *n = row / job->tiles_y;
  *tx0 = gx * LANES;
  *n_tiles = MIN (LANES, job->tiles_x - *tx0);
}

/* Column of a group's first tile, counting tiles in (sample, tile row, x) order. */
static size_t
group_column (const ForwardJob *job, int group)
{
  return (size_t) (group / job->groups_x) * job->tiles_x + (size_t) (group % job->groups_x) * LANES;
}

/* Sets the strides of V and M for ld columns. */
static void
plan_strides (ForwardJob *job)
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
  job->aligned = job->tiles_x % LANES == 0 && job->ld % LANES == 0 && job->v_panel % LANES == 0;
}

/* V for input channels [c0, c1) of groups [g_begin, g_end), columns counted
 * from g_begin's. Groups go in increasing column order: each overwrites the
 * spare lanes its predecessor wrote. */
__attribute__ ((target_clones ("avx2", "default")))
static void
transform_block_input (const ForwardJob *job, int g_begin, int g_end, int c0, int c1, float *v)
{
  const PulmoTensor *in = job->input;
  size_t first = group_column (job, g_begin);
  size_t panel = job->v_panel, panel_floats = (size_t) in->c * panel;

  for (int c = c0; c < c1; c++)
    for (int g = g_begin; g < g_end; g++)
      {
        int n, ty, tx0, n_tiles;
        group_position (job, g, &n, &ty, &tx0, &n_tiles);
        const float *plane = pulmo_tensor_plane (in, n, c);
        size_t plane_stride = (size_t) in->h * in->w;
        size_t column = group_column (job, g) - first, offset = column % panel;
        float *dst = v + column / panel * panel_floats + c * panel + offset;
        /* Two calls so that each inlined copy knows its alignment. */
        if (job->aligned)
          input_group (plane, plane_stride, in->h, in->w, ty * 4 - 1, tx0 * 4 - 1, dst, job->v_stride,
                       LANES, 0, TRUE);
        else
          input_group (plane, plane_stride, in->h, in->w, ty * 4 - 1, tx0 * 4 - 1, dst, job->v_stride,
                       (int) MIN (LANES, panel - offset), panel_floats - offset, FALSE);
      }
}

/* Output channels [o0, o0 + n_out) of groups [g_begin, g_end) from M, whose
 * first row is output channel o0. */
__attribute__ ((target_clones ("avx2", "default")))
static void
transform_block_output (const ForwardJob *job, int g_begin, int g_end, int o0, int n_out,
                        const float *m)
{
  PulmoTensor *out = job->output;
  size_t first = group_column (job, g_begin);

  for (int o = 0; o < n_out; o++)
    {
      float bias = job->bias != NULL ? job->bias[o0 + o] : 0.0f;
      for (int g = g_begin; g < g_end; g++)
        {
          int n, ty, tx0, n_tiles;
          group_position (job, g, &n, &ty, &tx0, &n_tiles);
          const float *src = m + (size_t) o * job->ld + group_column (job, g) - first;
          float *plane = pulmo_tensor_plane (out, n, o0 + o);
          if (job->aligned)
            output_group (src, job->m_stride, TRUE, bias, job->relu, plane, out->h, out->w, ty * 4,
                          tx0 * 4, n_tiles);
          else
            output_group (src, job->m_stride, FALSE, bias, job->relu, plane, out->h, out->w, ty * 4,
                          tx0 * 4, n_tiles);
        }
    }
}

/* M[ξ] (Cout × columns) = U[ξ] · V[ξ] for positions [xi0, xi1). */
static void
multiply_positions (const ForwardJob *job, int xi0, int xi1, int columns, const float *v, float *m)
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
  ForwardJob *job = data;
  int cout = job->output->c;
  float *v = pulmo_worker_scratch_get (&job->scratch, worker);
  float *m = v + POSITIONS * job->v_stride;

  for (int block = begin; block < end; block++)
    {
      int g_begin = block * job->groups_per_block;
      int g_end = MIN (job->n_groups, g_begin + job->groups_per_block);
      int last_n, last_ty, last_tx0, last_tiles;
      group_position (job, g_end - 1, &last_n, &last_ty, &last_tx0, &last_tiles);
      int columns = (int) (group_column (job, g_end - 1) + last_tiles - group_column (job, g_begin));

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
  ForwardJob *job = data;
  transform_block_input (job, 0, job->n_groups, begin, end, job->v);
}

static void
layer_multiply_items (void *data, int begin, int end, int worker)
{
  ForwardJob *job = data;
  int columns = (int) job->ld - LANES;
  multiply_positions (job, begin, end, columns, job->v, job->m);
}

static void
layer_output_items (void *data, int begin, int end, int worker)
{
  ForwardJob *job = data;
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

  ForwardJob job = { .input = input, .output = output, .u = u, .bias = bias, .relu = relu };
  job.packed = use_packed_products ();
  job.u_stride = weight_position_stride (cout, cin, weight_row_panel ());
  job.tiles_y = (input->h + 3) / 4;
  job.tiles_x = (input->w + 3) / 4;
  job.groups_x = (job.tiles_x + LANES - 1) / LANES;
  job.n_groups = input->n * job.tiles_y * job.groups_x;
  size_t layer_columns = (size_t) input->n * job.tiles_y * job.tiles_x;

  if ((size_t) POSITIONS * (cin + cout) * (layer_columns + LANES) <= LAYER_BUDGET_FLOATS)
    {
      job.ld = layer_columns + LANES;
      plan_strides (&job);
      job.v = g_aligned_alloc0 (POSITIONS * (job.v_stride + job.m_stride), sizeof (float), 64);
      job.m = job.v + POSITIONS * job.v_stride;
      pulmo_parallel_for (cin, layer_input_items, &job);
      pulmo_parallel_for (POSITIONS, layer_multiply_items, &job);
      pulmo_parallel_for (cout, layer_output_items, &job);
      g_aligned_free (job.v);
    }
  else
    {
      /* As many tiles per block as the budget holds for V (all input
       * channels) and M (all output channels). Layers too big for layer mode
       * make at least LAYER_BUDGET / BLOCK_BUDGET blocks: enough items. */
      int columns = BLOCK_BUDGET_FLOATS / (POSITIONS * (cin + cout));
      columns = CLAMP (columns, MIN_BLOCK_TILES, MAX_BLOCK_TILES);
      job.groups_per_block = columns / LANES;
      job.n_blocks = (job.n_groups + job.groups_per_block - 1) / job.groups_per_block;

      job.ld = (size_t) (job.groups_per_block + 1) * LANES;
      plan_strides (&job);
      pulmo_worker_scratch_init (&job.scratch, POSITIONS * (job.v_stride + job.m_stride));
      pulmo_parallel_for (job.n_blocks, block_items, &job);
      pulmo_worker_scratch_clear (&job.scratch);
    }
  g_aligned_free (owned);
}
