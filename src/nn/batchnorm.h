/* batchnorm.h: batch normalisation over (N, H, W) per channel.
 *
 * y = gamma[c] · (x - mean[c]) / sqrt(var[c] + eps) + beta[c]
 *
 * Training uses the batch's mean and biased variance and updates the running
 * statistics as PyTorch does: running = (1 - momentum) · running
 * + momentum · batch, with the unbiased variance (M / (M - 1)) for running_var,
 * M = N·H·W. Inference uses the running statistics, and is usually folded into
 * the preceding convolution with pulmo_batchnorm_fold().
 *
 * All per-channel arrays hold C floats and are owned by the caller. Work is
 * split over channels; results do not depend on the number of threads. */
#pragma once

#include "nn/tensor.h"

G_BEGIN_DECLS

#define PULMO_BATCHNORM_EPS 1e-5f
#define PULMO_BATCHNORM_MOMENTUM 0.1f

/* x: (N, C, H, W) with N·H·W >= 2; y: same shape, allocated by the caller,
 * overwritten; y must not alias x (the backward pass needs x). running_mean
 * and running_var are updated in place. save_mean and save_inv_std receive the
 * batch mean and 1 / sqrt(batch var + eps) for pulmo_batchnorm_backward().
 *
 * With relu, y = max(BN(x), 0) in the same pass over memory (the usual
 * conv → BN → ReLU block); backward is then pulmo_relu_backward() with this y,
 * then pulmo_batchnorm_backward(). */
void pulmo_batchnorm_forward_train (const PulmoTensor *x,
                                    const float *gamma,
                                    const float *beta,
                                    float *running_mean,
                                    float *running_var,
                                    float momentum,
                                    float eps,
                                    gboolean relu,
                                    PulmoTensor *y,
                                    float *save_mean,
                                    float *save_inv_std);

/* Inference with the running statistics. y may be x (in place). */
void pulmo_batchnorm_forward_infer (const PulmoTensor *x,
                                    const float *gamma,
                                    const float *beta,
                                    const float *running_mean,
                                    const float *running_var,
                                    float eps,
                                    PulmoTensor *y);

/* x: the forward input; dy: gradient of y; save_mean, save_inv_std from the
 * training forward pass. dx: (N, C, H, W), overwritten (may be dy itself).
 * dgamma, dbeta: NULL, or ACCUMULATED (+=). */
void pulmo_batchnorm_backward (const PulmoTensor *x,
                               const PulmoTensor *dy,
                               const float *gamma,
                               const float *save_mean,
                               const float *save_inv_std,
                               PulmoTensor *dx,
                               float *dgamma,
                               float *dbeta);

/* Inference BN as y = scale[c] · x + shift[c]: scale = gamma / sqrt(var + eps),
 * shift = beta - mean · scale. To fold into a preceding convolution, multiply
 * its output channel c's weights and bias by scale[c] and add shift[c]. */
void pulmo_batchnorm_fold (int channels,
                           const float *gamma,
                           const float *beta,
                           const float *running_mean,
                           const float *running_var,
                           float eps,
                           float *scale,
                           float *shift);

G_END_DECLS
