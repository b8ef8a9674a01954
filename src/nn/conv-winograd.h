/* conv-winograd.h: 3×3 convolution by Winograd F(4×4, 3×3), for conv.c.
 *
 * Each 4×4 output tile costs 36 multiplications per input/output channel pair
 * instead of 144: the input tiles (6×6) and the weights are transformed,
 * multiplied position by position as 36 matrix products over channels (Pulmo's
 * own AVX-512 or AVX2 kernel where the CPU has one, else cblas_sgemm), and transformed
 * back. Work is done a block of tiles at a time,
 * with every channel, so the transformed data stays within a few MB per
 * worker. Same contract as pulmo_conv2d_forward() for 3×3 weights. */
#pragma once

#include "nn/tensor.h"

G_BEGIN_DECLS

/* U[ξ][o][c] for 3×3 @weight, laid out for pulmo_conv_winograd_forward() on
 * this CPU (36 × Cout × Cin floats, Cout rounded up to whole row panels when
 * packed); g_aligned_free() them. */
float *pulmo_conv_winograd_transform_weight (const PulmoTensor *weight);

/* @transformed_weight: from pulmo_conv_winograd_transform_weight(), or NULL
 * to transform @weight for this call only. */
void pulmo_conv_winograd_forward (const PulmoTensor *input,
                                  const PulmoTensor *weight,
                                  const float *transformed_weight,
                                  const float *bias,
                                  gboolean relu,
                                  PulmoTensor *output);

/* @grad_weight += dL/d weight of a 3×3 layer, summed over the batch, as the
 * gradient of the Winograd forward: per position ξ, dU[ξ] (Cout × Cin) =
 * (A dY Aᵀ)[ξ] · V[ξ]ᵀ summed over the tiles, then Gᵀ dU G. Products by
 * cblas_sgemm. */
void pulmo_conv_winograd_weight_grad (const PulmoTensor *input,
                                      const PulmoTensor *grad_output,
                                      PulmoTensor *grad_weight);

G_END_DECLS
