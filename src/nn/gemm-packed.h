/* gemm-packed.h: C = A·B by Pulmo's own microkernels (AVX-512, or AVX2 with
 * FMA), on operands that are already stored in the panel layouts they read,
 * so that no call copies them (OpenBLAS packs both operands on every call,
 * and its speed depends on the core type a user chose). Used for the
 * Winograd products, whose operands Pulmo writes itself.
 *
 * A (rows × depth) is stored in row panels of PULMO_GEMM_PACKED_ROWS rows:
 *   A(r, k) at a[(r / ROWS) · depth · ROWS + k · ROWS + r % ROWS],
 * B (depth × columns) in column panels of PULMO_GEMM_PACKED_COLUMNS columns:
 *   B(k, j) at b[(j / COLUMNS) · depth · COLUMNS + k · COLUMNS + j % COLUMNS].
 * Both hold whole panels (a last, partial panel is read in full; its padding
 * only reaches rows and columns of C that are not written). C is row-major
 * with leading dimension ldc, and only its rows × columns are written.
 *
 * Each element of C is one chain of fused multiply-adds over k = 0, 1, ...,
 * depth − 1 in that order, whatever the shapes and the kernel: results do
 * not depend on how a caller splits its work, and both kernels give the same
 * bits. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PULMO_GEMM_PACKED_ROWS    8
#define PULMO_GEMM_PACKED_COLUMNS 32

typedef enum {
  PULMO_GEMM_PACKED_NONE,   /* no kernel: callers use cblas_sgemm */
  PULMO_GEMM_PACKED_AVX2,   /* AVX2 and FMA */
  PULMO_GEMM_PACKED_AVX512, /* AVX-512F */
} PulmoGemmPackedKernel;

/* Whether this CPU runs @kernel, whatever the environment says. */
gboolean pulmo_gemm_packed_cpu_runs (PulmoGemmPackedKernel kernel);

/* The kernel Pulmo uses: the widest this CPU runs. With PULMO_NO_AVX512 set
 * in the environment, Pulmo behaves as on a CPU without AVX-512F (AVX2
 * kernel, 8-tile Winograd transforms); with PULMO_NO_AVX2 set, as on one
 * without AVX2 either (no kernel). Tests run the fallbacks that way. */
PulmoGemmPackedKernel pulmo_gemm_packed_kernel (void);

/* Whether Pulmo uses a kernel at all; callers fall back to cblas_sgemm otherwise. */
gboolean pulmo_gemm_packed_supported (void);

/* Only when pulmo_gemm_packed_supported(). */
void pulmo_gemm_packed (int rows, int columns, int depth, const float *a, const float *b, float *c,
                        size_t ldc);

/* The same with a given @kernel, which this CPU must run (tests). */
void pulmo_gemm_packed_with (PulmoGemmPackedKernel kernel, int rows, int columns, int depth,
                             const float *a, const float *b, float *c, size_t ldc);

G_END_DECLS
