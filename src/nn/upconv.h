/* upconv.h: 2×2 transposed convolution with stride 2 and bias (the U-Net's
 * up-sampling). Each input pixel (i, j) paints the 2×2 output block at
 * (2i, 2j): y[n, o, 2i+ky, 2j+kx] = bias[o] + Σ_c x[n, c, i, j] · w[c, o, ky, kx].
 * The blocks never overlap, so each of the four kernel positions is one GEMM
 * (cblas_sgemm) over the input pixels.
 *
 * weight: c_in × c_out × 2 × 2 floats, row-major (PyTorch's ConvTranspose2d
 * layout). bias: c_out floats.
 *
 * Work is split over pulmo_parallel_for(); results are bit-identical whatever
 * the number of threads and whatever runs beside them. */
#pragma once

#include "nn/tensor.h"

G_BEGIN_DECLS

/* x: (N, c_in, H, W); y: (N, c_out, 2H, 2W), allocated by the caller,
 * overwritten. */
void pulmo_upconv2_forward (const PulmoTensor *x,
                            const float *weight,
                            const float *bias,
                            PulmoTensor *y);

/* dy: (N, c_out, 2H, 2W); x: the forward input (N, c_in, H, W).
 * dx: NULL, or (N, c_in, H, W), overwritten.
 * dweight (c_in*c_out*4 floats) and dbias (c_out floats): NULL, or
 * ACCUMULATED (+=), so several batches may add into one gradient. */
void pulmo_upconv2_backward (const PulmoTensor *x,
                             const float *weight,
                             const PulmoTensor *dy,
                             PulmoTensor *dx,
                             float *dweight,
                             float *dbias);

G_END_DECLS
