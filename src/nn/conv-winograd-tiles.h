/* conv-winograd-tiles.h: the input and output transforms of Winograd
 * F(4×4, 3×3) on groups of TILE_LANES tiles along a tile row, the tiles being
 * the lanes of a vector, so that the transforms are vector arithmetic on
 * whole groups. Included once by each file that compiles them for one width
 * and instruction set (conv-winograd-tiles8.c, conv-winograd-tiles8-avx2.c,
 * conv-winograd-tiles16.c), which defines
 *
 *   TILE_LANES      8 or 16
 *   TILES_FN(name)  the entry point's name for this width
 *
 * Not a header to include anywhere else. */
#include "nn/conv-winograd-private.h"

#include <string.h>

/* The helpers below take vectors by value but are always inlined, so no call
 * crosses the ABI that clang warns about in the plain x86-64 build. */
#ifdef __clang__
#pragma clang diagnostic ignored "-Wpsabi"
#endif

#define LANES     TILE_LANES
#define POSITIONS PULMO_WINOGRAD_POSITIONS

typedef float Lanes __attribute__ ((vector_size (LANES * sizeof (float))));
/* Lanes in V and M, read and written as whole vectors: memcpy of a vector
 * goes in 16-byte pieces under GCC's generic tuning, and the halves stall
 * the whole-vector accesses that follow. */
typedef float AlignedLanes __attribute__ ((vector_size (LANES * sizeof (float)), may_alias));
typedef float UnalignedLanes __attribute__ ((vector_size (LANES * sizeof (float)), may_alias,
                                             aligned (sizeof (float))));
typedef int LaneMask __attribute__ ((vector_size (LANES * sizeof (int))));

/* Shuffle indices for __builtin_shufflevector (see deinterleave_row and
 * interleave_row); lanes that no later shuffle reads take index 0. */
#if TILE_LANES == 16
#define HALF_COLUMN_MASK(j) j, j + 4, j + 8, j + 12, j + 16, j + 20, j + 24, j + 28, 0, 0, 0, 0, 0, 0, 0, 0
#define JOIN_HALVES_MASK    0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define PAIRS_LOW_MASK      0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define PAIRS_HIGH_MASK     8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#define QUADS_LOW_MASK      0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23
#define QUADS_HIGH_MASK     8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31
#define NEXT_TILE_MASK(k)   1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 + (k)
#elif TILE_LANES == 8
#define HALF_COLUMN_MASK(j) j, j + 4, j + 8, j + 12, 0, 0, 0, 0
#define JOIN_HALVES_MASK    0, 1, 2, 3, 8, 9, 10, 11
#define PAIRS_LOW_MASK      0, 8, 1, 9, 2, 10, 3, 11
#define PAIRS_HIGH_MASK     4, 12, 5, 13, 6, 14, 7, 15
#define QUADS_LOW_MASK      0, 1, 8, 9, 2, 3, 10, 11
#define QUADS_HIGH_MASK     4, 5, 12, 13, 6, 7, 14, 15
#define NEXT_TILE_MASK(k)   1, 2, 3, 4, 5, 6, 7, 8 + (k)
#define LANE_OVER_MASK      7, 8, 9, 10, 11, 12, 13, 14 /* a's last lane, b's first 7 */
#else
#error "TILE_LANES must be 8 or 16"
#endif

/* ---- Input transform: V = Bᵀ d B for a group of tiles ---- */

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

/* d[j][lane] = row[4·lane + j] for j < 6: the six columns of a group's
 * tiles, by shuffles with constant masks rather than scalar moves, from
 * r_k = row[k·LANES ..] and r4 = row[4 + 3·LANES ..]. Columns 4 and 5 are
 * columns 0 and 1 of the next tile: one lane over, the last lane from r4. */
#define TILE_COLUMN(r0, r1, r2, r3, j)                                                              \
  __builtin_shufflevector (__builtin_shufflevector (r0, r1, HALF_COLUMN_MASK (j)),                  \
                           __builtin_shufflevector (r2, r3, HALF_COLUMN_MASK (j)), JOIN_HALVES_MASK)

static inline __attribute__ ((always_inline)) void
deinterleave (Lanes r0, Lanes r1, Lanes r2, Lanes r3, Lanes r4, Lanes *d)
{
  d[0] = TILE_COLUMN (r0, r1, r2, r3, 0);
  d[1] = TILE_COLUMN (r0, r1, r2, r3, 1);
  d[2] = TILE_COLUMN (r0, r1, r2, r3, 2);
  d[3] = TILE_COLUMN (r0, r1, r2, r3, 3);
  d[4] = __builtin_shufflevector (d[0], r4, NEXT_TILE_MASK (LANES - 4)); /* row[4·LANES] */
  d[5] = __builtin_shufflevector (d[1], r4, NEXT_TILE_MASK (LANES - 3));
}

/* The columns from row[0 .. 4·LANES + 4). */
static inline __attribute__ ((always_inline)) void
deinterleave_row (const float *row, Lanes *d)
{
  /* Separate variables, not an array: they stay in registers. */
  Lanes r0, r1, r2, r3, r4;
  memcpy (&r0, row, sizeof r0);
  memcpy (&r1, row + LANES, sizeof r1);
  memcpy (&r2, row + 2 * LANES, sizeof r2);
  memcpy (&r3, row + 3 * LANES, sizeof r3);
  memcpy (&r4, row + 4 + 3 * LANES, sizeof r4);
  deinterleave (r0, r1, r2, r3, r4, d);
}

#if TILE_LANES == 16
#include <immintrin.h>

/* The lanes of a vector of row[x ..] that lie in [0, w). */
static inline __attribute__ ((always_inline)) __mmask16
lanes_inside (int x, int w)
{
  int lo = CLAMP (-x, 0, LANES), hi = CLAMP (w - x, 0, LANES);
  return (__mmask16) (((1u << hi) - 1) & ~((1u << lo) - 1));
}

/* deinterleave_row() for a window row that crosses the image's left or right
 * edge, with row[k] = image_row[x0 + k]: masked loads read nothing outside
 * the image and give zeros there, where copying into a padded buffer would
 * cost a variable-length copy and stall the loads that follow it. */
static inline __attribute__ ((always_inline)) void
deinterleave_edge_row (const float *image_row, int x0, int w, Lanes *d)
{
#define EDGE_LOAD(x) (Lanes) _mm512_maskz_loadu_ps (lanes_inside (x, w), image_row + (x))
  deinterleave (EDGE_LOAD (x0), EDGE_LOAD (x0 + LANES), EDGE_LOAD (x0 + 2 * LANES),
                EDGE_LOAD (x0 + 3 * LANES), EDGE_LOAD (x0 + 4 + 3 * LANES), d);
#undef EDGE_LOAD
}
#endif

/* row[4·lane + j] = y[j][lane] for j < 4: the inverse, for four columns. */
static inline __attribute__ ((always_inline)) void
interleave_row (const Lanes *y, float *row)
{
  Lanes a = __builtin_shufflevector (y[0], y[1], PAIRS_LOW_MASK);
  Lanes b = __builtin_shufflevector (y[2], y[3], PAIRS_LOW_MASK);
  Lanes c = __builtin_shufflevector (y[0], y[1], PAIRS_HIGH_MASK);
  Lanes d = __builtin_shufflevector (y[2], y[3], PAIRS_HIGH_MASK);
  Lanes out[4] = {
    __builtin_shufflevector (a, b, QUADS_LOW_MASK),
    __builtin_shufflevector (a, b, QUADS_HIGH_MASK),
    __builtin_shufflevector (c, d, QUADS_LOW_MASK),
    __builtin_shufflevector (c, d, QUADS_HIGH_MASK),
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
  /* A row of the group's window: LANES tiles × 4 + 2 pixels, zero outside the image. */
  enum { SPAN = LANES * 4 + 2 };
  Lanes d[36], t[36];

  for (int i = 0; i < 6; i++)
    {
      int y = y0 + i;
      if (y < 0 || y >= h)
        {
          memset (d + i * 6, 0, 6 * sizeof (Lanes)); /* padding rows */
          continue;
        }
      /* The same window of the next channel comes next: start loading it
       * now, since short row streams defeat the hardware prefetcher. */
      const float *image_row = plane + (size_t) y * w;
      for (int k = 0; k < SPAN + 2; k += 16)
        __builtin_prefetch (image_row + plane_stride + MAX (x0, 0) + k);
      if (x0 >= 0 && x0 + SPAN + 2 <= w)
        {
          deinterleave_row (image_row + x0, d + i * 6); /* inside the image */
          continue;
        }
#if TILE_LANES == 16
      deinterleave_edge_row (image_row, x0, w, d + i * 6);
#else
      if (x0 == -1 && SPAN + 1 <= w)
        {
          /* The left edge, the commonest edge: the row one lane over, by
           * shuffles of whole loads. A copy into a buffer after one padding
           * column would stall the loads that follow on store forwarding. */
          Lanes zero = { 0 }, a0, a1, a2, a3, r4;
          memcpy (&a0, image_row, sizeof a0);
          memcpy (&a1, image_row + LANES, sizeof a1);
          memcpy (&a2, image_row + 2 * LANES, sizeof a2);
          memcpy (&a3, image_row + 3 * LANES, sizeof a3);
          memcpy (&r4, image_row + 3 + 3 * LANES, sizeof r4);
          deinterleave (__builtin_shufflevector (zero, a0, LANE_OVER_MASK),
                        __builtin_shufflevector (a0, a1, LANE_OVER_MASK),
                        __builtin_shufflevector (a1, a2, LANE_OVER_MASK),
                        __builtin_shufflevector (a2, a3, LANE_OVER_MASK), r4, d + i * 6);
          continue;
        }
      /* The image's right edge, or both: copy what is inside. */
      float row[SPAN + 2]; /* deinterleave_row reads row[0 .. SPAN + 2) */
      int k0 = MAX (0, -x0), k1 = MIN (SPAN, w - x0);
      memset (row, 0, sizeof row);
      if (k1 > k0)
        memcpy (row + k0, image_row + x0 + k0, (size_t) (k1 - k0) * sizeof (float));
      deinterleave_row (row, d + i * 6);
#endif
    }
  for (int j = 0; j < 6; j++)
    input_transform_6 (d + j, 6, t + j, 6); /* columns: Bᵀ d */
  for (int i = 0; i < 6; i++)
    input_transform_6 (t + i * 6, 1, d + i * 6, 1); /* rows: (Bᵀ d) B */
  for (int xi = 0; xi < POSITIONS; xi++)
    if (aligned)
      *(AlignedLanes *) (v + xi * v_stride) = d[xi];
    else if (n_first == LANES)
      *(UnalignedLanes *) (v + xi * v_stride) = d[xi];
    else
      {
        const float *lanes = (const float *) &d[xi];
        memcpy (v + xi * v_stride, lanes, (size_t) n_first * sizeof (float));
        memcpy (v + xi * v_stride + wrap, lanes + n_first, (size_t) (LANES - n_first) * sizeof (float));
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

  for (int xi = 0; xi < POSITIONS; xi++)
    s[xi] = aligned ? *(const AlignedLanes *) (m + xi * m_stride)
                    : *(const UnalignedLanes *) (m + xi * m_stride);
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

/* ---- Entry points ---- */

void
TILES_FN (pulmo_winograd_input) (const PulmoWinogradJob *job, int g_begin, int g_end, int c0, int c1,
                                 float *v)
{
  const PulmoTensor *in = job->input;
  size_t first = pulmo_winograd_group_column (job, g_begin);
  size_t panel = job->v_panel, panel_floats = (size_t) in->c * panel;

  for (int c = c0; c < c1; c++)
    for (int g = g_begin; g < g_end; g++)
      {
        int n, ty, tx0, n_tiles;
        pulmo_winograd_group_position (job, g, &n, &ty, &tx0, &n_tiles);
        const float *plane = pulmo_tensor_plane (in, n, c);
        size_t plane_stride = (size_t) in->h * in->w;
        size_t column = pulmo_winograd_group_column (job, g) - first, offset = column % panel;
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

void
TILES_FN (pulmo_winograd_output) (const PulmoWinogradJob *job, int g_begin, int g_end, int o0, int n_out,
                                  const float *m)
{
  PulmoTensor *out = job->output;
  size_t first = pulmo_winograd_group_column (job, g_begin);

  for (int o = 0; o < n_out; o++)
    {
      float bias = job->bias != NULL ? job->bias[o0 + o] : 0.0f;
      for (int g = g_begin; g < g_end; g++)
        {
          int n, ty, tx0, n_tiles;
          pulmo_winograd_group_position (job, g, &n, &ty, &tx0, &n_tiles);
          const float *src = m + (size_t) o * job->ld + pulmo_winograd_group_column (job, g) - first;
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
