/* conv.h: 3×3 and 1×1 convolution, stride 1, "same" zero padding, fp32 NCHW
 * with batches, forward and backward.
 *
 * Shapes:
 *   input        N × Cin  × H × W
 *   weight       Cout × Cin × K × K     (K = 3 or 1; tensor n = Cout, c = Cin)
 *   bias         Cout numbers (any shape with Cout elements, e.g. 1 × Cout × 1 × 1)
 *   output       N × Cout × H × W
 *
 * How: a band of output rows at a time, im2col of that band into a bounded
 * per-worker buffer and one cblas_sgemm writing straight into the output, bias
 * and ReLU applied while the band is still in cache. 3×3 layers on images of
 * 32×32 and more (16×16 with prepared weights) use Winograd F(4×4, 3×3)
 * instead: 4× fewer multiplications, results within float rounding of the
 * direct sum (tests/nn/test-conv.c bounds the error by 2e-5 of the summed
 * magnitudes). Backward, the input gradient is such a forward convolution
 * (of the output gradient, with the weights flipped), and the weight
 * gradient of a 3×3 layer that Winograd suits is Winograd's own gradient
 * (within the same bound). Work is split over the cores with pulmo_parallel_for().
 * Scratch lives per call, so any number of threads may convolve at once;
 * results are bit-identical from run to run and whatever the number of
 * threads.
 *
 * Sizes are the network's own (programmer errors are g_return_if_fail). */
#pragma once

#include "nn/tensor.h"

G_BEGIN_DECLS

/* output = conv(input, weight) + bias, then max(0, ·) if @relu.
 * @bias may be NULL (no bias). @output is overwritten; it must not alias @input. */
void pulmo_conv2d_forward (const PulmoTensor *input,
                           const PulmoTensor *weight,
                           const PulmoTensor *bias,
                           gboolean relu,
                           PulmoTensor *output);

/* How a forward convolution is computed. AUTO picks by shape; the others
 * exist for tests and benchmarks (WINOGRAD falls back to IM2COL for 1×1). */
typedef enum {
  PULMO_CONV_AUTO,
  PULMO_CONV_IM2COL,
  PULMO_CONV_WINOGRAD,
} PulmoConvAlgorithm;

void pulmo_conv2d_forward_with (const PulmoTensor *input,
                                const PulmoTensor *weight,
                                const PulmoTensor *bias,
                                gboolean relu,
                                PulmoTensor *output,
                                PulmoConvAlgorithm algorithm);

/* The algorithm AUTO uses for this shape, with or without prepared weights. */
PulmoConvAlgorithm pulmo_conv2d_choose (const PulmoTensor *input,
                                        const PulmoTensor *weight,
                                        gboolean prepared);

/* Weights prepared for many forward passes with the same weights
 * (inference): the Winograd transform is computed once, on first use by a
 * layer that takes the Winograd path, instead of on every call. Holds a
 * pointer to @weight, which must stay alive and unchanged; may be shared by
 * threads running forward passes at once. Costs 4× the weights' memory for
 * layers that use Winograd. */
typedef struct _PulmoConvPrepared PulmoConvPrepared;

PulmoConvPrepared *pulmo_conv2d_prepare (const PulmoTensor *weight);
void pulmo_conv2d_prepared_free (PulmoConvPrepared *prepared);
/* pulmo_conv2d_forward() with prepared weights; bit-identical results. */
void pulmo_conv2d_forward_prepared (const PulmoTensor *input,
                                    const PulmoConvPrepared *prepared,
                                    const PulmoTensor *bias,
                                    gboolean relu,
                                    PulmoTensor *output);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoConvPrepared, pulmo_conv2d_prepared_free)

/* Backward of pulmo_conv2d_forward() WITHOUT ReLU: @grad_output is the
 * gradient with respect to the convolution's output before any activation
 * (apply the ReLU mask first when the forward fused it).
 *
 *   grad_input   OVERWRITTEN with dL/d input; NULL to skip (first layer).
 *   grad_weight  dL/d weight is ADDED (+=), same shape as @weight.
 *   grad_bias    dL/d bias is ADDED (+=), Cout elements; NULL to skip.
 *
 * Weight and bias gradients are summed over the batch. */
void pulmo_conv2d_backward (const PulmoTensor *input,
                            const PulmoTensor *weight,
                            const PulmoTensor *grad_output,
                            PulmoTensor *grad_input,
                            PulmoTensor *grad_weight,
                            PulmoTensor *grad_bias);

/* Multiply-adds of one forward pass (for GFLOPS figures: 2 FLOP per MAC). */
double pulmo_conv2d_macs (const PulmoTensor *input, const PulmoTensor *weight);

G_END_DECLS
