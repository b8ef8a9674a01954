/* pool.h: 2×2 max-pooling with stride 2 on NCHW tensors.
 *
 * Odd sizes: the output is floor(h/2) × floor(w/2), as PyTorch's MaxPool2d(2)
 * with ceil_mode off; a trailing odd row or column of the input is never read
 * and gets a zero gradient. Ties pick the first maximum in the order
 * (0,0), (0,1), (1,0), (1,1) of the window. */
#pragma once

#include <stdint.h>

#include "nn/tensor.h"

G_BEGIN_DECLS

/* x: (N, C, H, W) with H, W >= 2. y: (N, C, H/2, W/2), allocated by the caller,
 * overwritten. argmax: NULL for inference, or N*C*(H/2)*(W/2) bytes allocated
 * by the caller that receive, for each output element, the winning position
 * in its window (dy * 2 + dx, 0..3) for pulmo_maxpool2_backward(). */
void pulmo_maxpool2_forward (const PulmoTensor *x,
                             PulmoTensor *y,
                             uint8_t *argmax);

/* dy: (N, C, H/2, W/2); argmax from the forward pass; dx: (N, C, H, W).
 * accumulate FALSE: dx is overwritten (zero where no maximum was taken);
 * TRUE: the routed gradient is added to dx (a U-Net's encoder feature also
 * receives its skip connection's gradient). */
void pulmo_maxpool2_backward (const PulmoTensor *dy,
                              const uint8_t *argmax,
                              PulmoTensor *dx,
                              gboolean accumulate);

G_END_DECLS
