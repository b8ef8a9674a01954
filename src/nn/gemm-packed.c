/* gemm-packed.c: the microkernels of gemm-packed.h, each compiled for its
 * instruction set alone and called only where the CPU has it. */
#include "nn/gemm-packed.h"

#include <immintrin.h>

#define ROWS    PULMO_GEMM_PACKED_ROWS
#define COLUMNS PULMO_GEMM_PACKED_COLUMNS

gboolean
pulmo_gemm_packed_cpu_runs (PulmoGemmPackedKernel kernel)
{
  switch (kernel)
    {
    case PULMO_GEMM_PACKED_AVX512:
      return __builtin_cpu_supports ("avx512f");
    case PULMO_GEMM_PACKED_AVX2:
      return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");
    case PULMO_GEMM_PACKED_NONE:
      return TRUE;
    }
  return FALSE;
}

static PulmoGemmPackedKernel
choose_kernel (void)
{
  if (g_getenv ("PULMO_NO_AVX2") != NULL)
    return PULMO_GEMM_PACKED_NONE;
  if (pulmo_gemm_packed_cpu_runs (PULMO_GEMM_PACKED_AVX512) && g_getenv ("PULMO_NO_AVX512") == NULL)
    return PULMO_GEMM_PACKED_AVX512;
  if (pulmo_gemm_packed_cpu_runs (PULMO_GEMM_PACKED_AVX2))
    return PULMO_GEMM_PACKED_AVX2;
  return PULMO_GEMM_PACKED_NONE;
}

PulmoGemmPackedKernel
pulmo_gemm_packed_kernel (void)
{
  static gsize kernel; /* 1 + the kernel, once chosen */
  if (g_once_init_enter (&kernel))
    g_once_init_leave (&kernel, 1 + choose_kernel ());
  return (PulmoGemmPackedKernel) (kernel - 1);
}

gboolean
pulmo_gemm_packed_supported (void)
{
  return pulmo_gemm_packed_kernel () != PULMO_GEMM_PACKED_NONE;
}

/* ---- AVX-512 ----
 *
 * A tile of C is 8 rows × 32 columns held in 16 registers: per step of k,
 * two vectors of B are loaded and each of the 8 values of A is broadcast
 * into two fused multiply-adds. That keeps both FMA pipes busy with few
 * loads, and 8 rows divide every channel count of the U-Net, so no rows are
 * wasted. A last panel of at most 16 columns (small images) uses one vector
 * of B, not two. */

#define AVX512_FLOATS 16

/* Lanes [0, n) of a vector, n clamped to [0, 16]. */
__attribute__ ((target ("avx512f"))) static inline __mmask16
avx512_first_lanes (int n)
{
  if (n <= 0)
    return 0;
  return n >= AVX512_FLOATS ? 0xffff : (__mmask16) ((1u << n) - 1);
}

/* C[0..rows)[0..columns) of one tile, @n_vectors (1 or 2, a constant once
 * inlined) vectors of B per k. The loops over the rows are unrolled so that
 * the accumulators stay in registers. */
__attribute__ ((target ("avx512f"), always_inline)) static inline void
avx512_tile (const float *a, const float *b, int depth, float *c, size_t ldc, int rows, int columns,
             int n_vectors)
{
  __m512 acc[ROWS][2];

#pragma GCC unroll 8
  for (int r = 0; r < ROWS; r++)
    acc[r][0] = acc[r][1] = _mm512_setzero_ps ();
  for (int k = 0; k < depth; k++)
    {
      const float *b_row = b + (size_t) k * COLUMNS;
      __m512 b0 = _mm512_loadu_ps (b_row);
      __m512 b1 = n_vectors == 2 ? _mm512_loadu_ps (b_row + AVX512_FLOATS) : b0;
#pragma GCC unroll 8
      for (int r = 0; r < ROWS; r++)
        {
          __m512 a_rk = _mm512_set1_ps (a[(size_t) k * ROWS + r]);
          acc[r][0] = _mm512_fmadd_ps (a_rk, b0, acc[r][0]);
          if (n_vectors == 2)
            acc[r][1] = _mm512_fmadd_ps (a_rk, b1, acc[r][1]);
        }
    }

  __mmask16 mask0 = avx512_first_lanes (columns), mask1 = avx512_first_lanes (columns - AVX512_FLOATS);
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; r++)
    if (r < rows)
      {
        _mm512_mask_storeu_ps (c + r * ldc, mask0, acc[r][0]);
        if (n_vectors == 2)
          _mm512_mask_storeu_ps (c + r * ldc + AVX512_FLOATS, mask1, acc[r][1]);
      }
}

/* Column panels outside, row panels inside: a panel of B (depth × 32) stays
 * in L1 while the panels of A stream past it. */
__attribute__ ((target ("avx512f"))) static void
gemm_avx512 (int rows, int columns, int depth, const float *a, const float *b, float *c, size_t ldc)
{
  for (int j = 0; j < columns; j += COLUMNS)
    {
      int width = MIN (COLUMNS, columns - j);
      const float *b_panel = b + (size_t) j * depth;
      for (int i = 0; i < rows; i += ROWS)
        {
          const float *a_panel = a + (size_t) i * depth;
          float *c_tile = c + (size_t) i * ldc + j;
          if (width > AVX512_FLOATS)
            avx512_tile (a_panel, b_panel, depth, c_tile, ldc, MIN (ROWS, rows - i), width, 2);
          else
            avx512_tile (a_panel, b_panel, depth, c_tile, ldc, MIN (ROWS, rows - i), width, 1);
        }
    }
}

/* ---- AVX2 and FMA ----
 *
 * Sixteen 256-bit registers hold a quarter of an 8 × 32 tile: 4 rows × 16
 * columns, in 8 accumulators, with two vectors of B and a broadcast value
 * of A. Per step of k that is 6 loads for 8 fused multiply-adds, and 8
 * independent chains cover the FMA latency of two pipes. The panel layouts
 * stay those of the AVX-512 kernel, so callers pack the same way. */

#define AVX2_FLOATS  8
#define AVX2_ROWS    4
#define AVX2_COLUMNS 16

/* Lanes [0, n) of a vector as a mask for _mm256_maskstore_ps. */
__attribute__ ((target ("avx2,fma"))) static inline __m256i
avx2_first_lanes (int n)
{
  return _mm256_cmpgt_epi32 (_mm256_set1_epi32 (n), _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7));
}

/* C[0..rows)[0..columns) of one sub-tile: A's rows at a + k · ROWS, B's
 * columns at b + k · COLUMNS; @n_vectors (1 or 2) vectors of B per k. */
__attribute__ ((target ("avx2,fma"), always_inline)) static inline void
avx2_tile (const float *a, const float *b, int depth, float *c, size_t ldc, int rows, int columns,
           int n_vectors)
{
  __m256 acc[AVX2_ROWS][2];

#pragma GCC unroll 4
  for (int r = 0; r < AVX2_ROWS; r++)
    acc[r][0] = acc[r][1] = _mm256_setzero_ps ();
  for (int k = 0; k < depth; k++)
    {
      const float *b_row = b + (size_t) k * COLUMNS;
      __m256 b0 = _mm256_loadu_ps (b_row);
      __m256 b1 = n_vectors == 2 ? _mm256_loadu_ps (b_row + AVX2_FLOATS) : b0;
#pragma GCC unroll 4
      for (int r = 0; r < AVX2_ROWS; r++)
        {
          __m256 a_rk = _mm256_broadcast_ss (a + (size_t) k * ROWS + r);
          acc[r][0] = _mm256_fmadd_ps (a_rk, b0, acc[r][0]);
          if (n_vectors == 2)
            acc[r][1] = _mm256_fmadd_ps (a_rk, b1, acc[r][1]);
        }
    }

  /* Masked stores only at ragged edges: they cost more than plain ones. */
  gboolean full = columns >= n_vectors * AVX2_FLOATS;
  __m256i mask0 = avx2_first_lanes (columns), mask1 = avx2_first_lanes (columns - AVX2_FLOATS);
#pragma GCC unroll 4
  for (int r = 0; r < AVX2_ROWS; r++)
    if (r < rows)
      {
        float *c_row = c + r * ldc;
        if (full)
          _mm256_storeu_ps (c_row, acc[r][0]);
        else
          _mm256_maskstore_ps (c_row, mask0, acc[r][0]);
        if (n_vectors == 2 && full)
          _mm256_storeu_ps (c_row + AVX2_FLOATS, acc[r][1]);
        else if (n_vectors == 2)
          _mm256_maskstore_ps (c_row + AVX2_FLOATS, mask1, acc[r][1]);
      }
}

/* Halves of column panels outside, row panels inside: half a panel of B
 * (depth × 16) stays in L1 while A streams past it; the two halves of a row
 * panel read the same cache lines of A one after the other. */
__attribute__ ((target ("avx2,fma"))) static void
gemm_avx2 (int rows, int columns, int depth, const float *a, const float *b, float *c, size_t ldc)
{
  for (int j = 0; j < columns; j += AVX2_COLUMNS)
    {
      int width = MIN (AVX2_COLUMNS, columns - j);
      const float *b_half = b + (size_t) (j / COLUMNS) * COLUMNS * depth + j % COLUMNS;
      for (int i = 0; i < rows; i += AVX2_ROWS)
        {
          const float *a_rows = a + (size_t) (i / ROWS) * ROWS * depth + i % ROWS;
          float *c_tile = c + (size_t) i * ldc + j;
          if (width > AVX2_FLOATS)
            avx2_tile (a_rows, b_half, depth, c_tile, ldc, MIN (AVX2_ROWS, rows - i), width, 2);
          else
            avx2_tile (a_rows, b_half, depth, c_tile, ldc, MIN (AVX2_ROWS, rows - i), width, 1);
        }
    }
}

/* ---- Dispatch ---- */

void
pulmo_gemm_packed_with (PulmoGemmPackedKernel kernel, int rows, int columns, int depth,
                        const float *a, const float *b, float *c, size_t ldc)
{
  g_return_if_fail (kernel != PULMO_GEMM_PACKED_NONE && pulmo_gemm_packed_cpu_runs (kernel));
  if (kernel == PULMO_GEMM_PACKED_AVX512)
    gemm_avx512 (rows, columns, depth, a, b, c, ldc);
  else
    gemm_avx2 (rows, columns, depth, a, b, c, ldc);
}

void
pulmo_gemm_packed (int rows, int columns, int depth, const float *a, const float *b, float *c,
                   size_t ldc)
{
  pulmo_gemm_packed_with (pulmo_gemm_packed_kernel (), rows, columns, depth, a, b, c, ldc);
}
