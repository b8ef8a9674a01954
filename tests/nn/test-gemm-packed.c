/* Each packed microkernel (AVX-512, AVX2) against a plain triple loop, on
 * sizes around their tiles (8 rows × 32 columns; 4 × 16 for AVX2): one row,
 * one column, depth 1, one more and one less than a tile, several panels with
 * ragged edges. Also checks that nothing outside rows × columns of C is
 * written, and that the two kernels give the same bits. A kernel this CPU
 * does not run is skipped. */
#include "nn/gemm-packed.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define ROWS    PULMO_GEMM_PACKED_ROWS
#define COLUMNS PULMO_GEMM_PACKED_COLUMNS
/* A value C never holds, to find stray writes. */
#define UNTOUCHED 1234.5f

static int
round_up (int n, int multiple)
{
  return (n + multiple - 1) / multiple * multiple;
}

/* The other kernel's C for the same product, to compare bits with. */
static float *
product_with_other_kernel (PulmoGemmPackedKernel kernel, int rows, int columns, int depth,
                           const float *a_packed, const float *b_packed, size_t ldc)
{
  PulmoGemmPackedKernel other = kernel == PULMO_GEMM_PACKED_AVX512 ? PULMO_GEMM_PACKED_AVX2
                                                                   : PULMO_GEMM_PACKED_AVX512;
  if (!pulmo_gemm_packed_cpu_runs (other))
    return NULL;
  float *c = g_new (float, (size_t) rows * ldc);
  pulmo_gemm_packed_with (other, rows, columns, depth, a_packed, b_packed, c, ldc);
  return c;
}

static void
check_product (PulmoGemmPackedKernel kernel, GRand *rand, int rows, int columns, int depth)
{
  int padded_rows = round_up (rows, ROWS), padded_columns = round_up (columns, COLUMNS);
  size_t ldc = (size_t) columns + 3;
  g_autofree float *a = g_new (float, (size_t) rows * depth);
  g_autofree float *b = g_new (float, (size_t) depth * columns);
  /* Panel padding is filled with NaN: it must never reach C. */
  g_autofree float *a_packed = g_new (float, (size_t) padded_rows * depth);
  g_autofree float *b_packed = g_new (float, (size_t) depth * padded_columns);
  g_autofree float *c = g_new (float, (size_t) (rows + 1) * ldc);

  for (size_t i = 0; i < (size_t) padded_rows * depth; i++)
    a_packed[i] = NAN;
  for (size_t i = 0; i < (size_t) depth * padded_columns; i++)
    b_packed[i] = NAN;
  for (size_t i = 0; i < (size_t) (rows + 1) * ldc; i++)
    c[i] = UNTOUCHED;
  for (int r = 0; r < rows; r++)
    for (int k = 0; k < depth; k++)
      {
        a[(size_t) r * depth + k] = (float) g_rand_double_range (rand, -1.0, 1.0);
        a_packed[(size_t) (r / ROWS) * depth * ROWS + (size_t) k * ROWS + r % ROWS] = a[(size_t) r * depth + k];
      }
  for (int k = 0; k < depth; k++)
    for (int j = 0; j < columns; j++)
      {
        b[(size_t) k * columns + j] = (float) g_rand_double_range (rand, -1.0, 1.0);
        b_packed[(size_t) (j / COLUMNS) * depth * COLUMNS + (size_t) k * COLUMNS + j % COLUMNS]
            = b[(size_t) k * columns + j];
      }

  pulmo_gemm_packed_with (kernel, rows, columns, depth, a_packed, b_packed, c, ldc);
  g_autofree float *c_other = product_with_other_kernel (kernel, rows, columns, depth, a_packed,
                                                         b_packed, ldc);

  for (int r = 0; r < rows + 1; r++)
    for (size_t j = 0; j < ldc; j++)
      {
        float got = c[r * ldc + j];
        if (r == rows || j >= (size_t) columns)
          {
            if (got != UNTOUCHED)
              g_error ("%d×%d·%d: C[%d][%zu] written outside the product", rows, depth, columns, r, j);
            continue;
          }
        double want = 0.0, abs_sum = 0.0;
        for (int k = 0; k < depth; k++)
          {
            double term = (double) a[(size_t) r * depth + k] * b[(size_t) k * columns + j];
            want += term;
            abs_sum += fabs (term);
          }
        /* Rounding of a float sum of @depth terms, with room. */
        double tolerance = 4.0 * depth * FLT_EPSILON * abs_sum + 1e-30;
        if (!(fabs (got - want) <= tolerance))
          g_error ("%d×%d·%d: C[%d][%zu] = %.9g, want %.9g", rows, depth, columns, r, j, got, want);
        if (c_other != NULL && memcmp (&got, &c_other[r * ldc + j], sizeof got) != 0)
          g_error ("%d×%d·%d: C[%d][%zu] = %.9g, the other kernel gives %.9g", rows, depth, columns, r,
                   j, got, c_other[r * ldc + j]);
      }
}

static void
test_sizes (gconstpointer data)
{
  PulmoGemmPackedKernel kernel = GPOINTER_TO_INT (data);
  if (!pulmo_gemm_packed_cpu_runs (kernel))
    {
      g_test_skip ("this CPU does not run the kernel");
      return;
    }
  const int rows[] = { 1, 3, 4, 5, ROWS - 1, ROWS, ROWS + 1, 3 * ROWS + 5 };
  const int columns[] = { 1, 7, 8, 9, 15, 16, 17, 24, COLUMNS - 1, COLUMNS, COLUMNS + 1, 2 * COLUMNS + 16,
                          3 * COLUMNS + 7 };
  const int depths[] = { 1, 2, 7, 64, 131 };
  g_autoptr (GRand) rand = g_rand_new_with_seed (17);

  for (size_t i = 0; i < G_N_ELEMENTS (rows); i++)
    for (size_t j = 0; j < G_N_ELEMENTS (columns); j++)
      for (size_t k = 0; k < G_N_ELEMENTS (depths); k++)
        check_product (kernel, rand, rows[i], columns[j], depths[k]);
}

/* The kernel Pulmo uses: the widest the CPU runs that the environment allows. */
static void
test_choice (void)
{
  PulmoGemmPackedKernel want = PULMO_GEMM_PACKED_NONE;
  if (g_getenv ("PULMO_NO_AVX2") == NULL)
    {
      if (pulmo_gemm_packed_cpu_runs (PULMO_GEMM_PACKED_AVX512) && g_getenv ("PULMO_NO_AVX512") == NULL)
        want = PULMO_GEMM_PACKED_AVX512;
      else if (pulmo_gemm_packed_cpu_runs (PULMO_GEMM_PACKED_AVX2))
        want = PULMO_GEMM_PACKED_AVX2;
    }
  g_assert_cmpint (pulmo_gemm_packed_kernel (), ==, want);
  g_assert_cmpint (pulmo_gemm_packed_supported (), ==, want != PULMO_GEMM_PACKED_NONE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/gemm-packed/avx512/sizes", GINT_TO_POINTER (PULMO_GEMM_PACKED_AVX512), test_sizes);
  g_test_add_data_func ("/gemm-packed/avx2/sizes", GINT_TO_POINTER (PULMO_GEMM_PACKED_AVX2), test_sizes);
  g_test_add_func ("/gemm-packed/choice", test_choice);
  return g_test_run ();
}
