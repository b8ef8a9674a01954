/* gemm-packed.c: the AVX-512 microkernel of gemm-packed.h.
 *
 * A tile of C is 8 rows × 32 columns held in 16 registers: per step of k,
 * two vectors of B are loaded and each of the 8 values of A is broadcast
 * into two fused multiply-adds. That keeps both FMA pipes busy with few
 * loads, and 8 rows divide every channel count of the U-Net, so no rows are
 * wasted. A last panel of at most 16 columns (small images) uses one vector
 * of B, not two. */
#include "nn/gemm-packed.h"

#include <immintrin.h>

#define ROWS    PULMO_GEMM_PACKED_ROWS
#define COLUMNS PULMO_GEMM_PACKED_COLUMNS
#define FLOATS_PER_VECTOR 16

gboolean
pulmo_gemm_packed_supported (void)
{
  static gsize supported; /* 1 + the answer, once known */
  if (g_once_init_enter (&supported))
    g_once_init_leave (&supported,
                       1 + (__builtin_cpu_supports ("avx512f") && g_getenv ("PULMO_NO_AVX512") == NULL));
  return supported - 1;
}

/* Lanes [0, n) of a vector, n clamped to [0, 16]. */
__attribute__ ((target ("avx512f"))) static inline __mmask16
first_lanes (int n)
{
  if (n <= 0)
    return 0;
  return n >= FLOATS_PER_VECTOR ? 0xffff : (__mmask16) ((1u << n) - 1);
}

/* C[0..rows)[0..columns) of one tile, @n_vectors (1 or 2, a constant once
 * inlined) vectors of B per k. The loops over the rows are unrolled so that
 * the accumulators stay in registers. */
__attribute__ ((target ("avx512f"), always_inline)) static inline void
tile (const float *a, const float *b, int depth, float *c, size_t ldc, int rows, int columns,
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
      __m512 b1 = n_vectors == 2 ? _mm512_loadu_ps (b_row + FLOATS_PER_VECTOR) : b0;
#pragma GCC unroll 8
      for (int r = 0; r < ROWS; r++)
        {
          __m512 a_rk = _mm512_set1_ps (a[(size_t) k * ROWS + r]);
          acc[r][0] = _mm512_fmadd_ps (a_rk, b0, acc[r][0]);
          if (n_vectors == 2)
            acc[r][1] = _mm512_fmadd_ps (a_rk, b1, acc[r][1]);
        }
    }

  __mmask16 mask0 = first_lanes (columns), mask1 = first_lanes (columns - FLOATS_PER_VECTOR);
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; r++)
    if (r < rows)
      {
        _mm512_mask_storeu_ps (c + r * ldc, mask0, acc[r][0]);
        if (n_vectors == 2)
          _mm512_mask_storeu_ps (c + r * ldc + FLOATS_PER_VECTOR, mask1, acc[r][1]);
      }
}

/* Column panels outside, row panels inside: a panel of B (depth × 32) stays
 * in L1 while the panels of A stream past it. */
__attribute__ ((target ("avx512f"))) void
pulmo_gemm_packed (int rows, int columns, int depth, const float *a, const float *b, float *c,
                   size_t ldc)
{
  for (int j = 0; j < columns; j += COLUMNS)
    {
      int width = MIN (COLUMNS, columns - j);
      const float *b_panel = b + (size_t) j * depth;
      for (int i = 0; i < rows; i += ROWS)
        {
          const float *a_panel = a + (size_t) i * depth;
          float *c_tile = c + (size_t) i * ldc + j;
          if (width > FLOATS_PER_VECTOR)
            tile (a_panel, b_panel, depth, c_tile, ldc, MIN (ROWS, rows - i), width, 2);
          else
            tile (a_panel, b_panel, depth, c_tile, ldc, MIN (ROWS, rows - i), width, 1);
        }
    }
}
