/* The packed AVX-512 microkernel against a plain triple loop, on sizes around
 * its tile (8 rows × 32 columns): one row, one column, depth 1, one more and
 * one less than a tile, several panels with ragged edges. Also checks that
 * nothing outside rows × columns of C is written. Skipped on CPUs without
 * AVX-512F, where Pulmo does not use the kernel. */
#include "nn/gemm-packed.h"

#include <float.h>
#include <math.h>

#define ROWS    PULMO_GEMM_PACKED_ROWS
#define COLUMNS PULMO_GEMM_PACKED_COLUMNS
/* A value C never holds, to find stray writes. */
#define UNTOUCHED 1234.5f

static int
round_up (int n, int multiple)
{
  return (n + multiple - 1) / multiple * multiple;
}

static void
check_product (GRand *rand, int rows, int columns, int depth)
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

  pulmo_gemm_packed (rows, columns, depth, a_packed, b_packed, c, ldc);

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
      }
}

static void
test_sizes (void)
{
  if (!pulmo_gemm_packed_supported ())
    {
      g_test_skip ("this CPU has no AVX-512F");
      return;
    }
  const int rows[] = { 1, ROWS - 1, ROWS, ROWS + 1, 3 * ROWS + 5 };
  const int columns[] = { 1, 15, 16, 17, COLUMNS - 1, COLUMNS, COLUMNS + 1, 2 * COLUMNS + 16, 3 * COLUMNS + 7 };
  const int depths[] = { 1, 2, 7, 64, 131 };
  g_autoptr (GRand) rand = g_rand_new_with_seed (17);

  for (size_t i = 0; i < G_N_ELEMENTS (rows); i++)
    for (size_t j = 0; j < G_N_ELEMENTS (columns); j++)
      for (size_t k = 0; k < G_N_ELEMENTS (depths); k++)
        check_product (rand, rows[i], columns[j], depths[k]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gemm-packed/sizes", test_sizes);
  return g_test_run ();
}
