/* activation.h: ReLU and the softmax over channels. */
#pragma once

#include "nn/tensor.h"

G_BEGIN_DECLS

/* y = max(x, 0). y has x's shape, allocated by the caller; y may be x. */
void pulmo_relu_forward (const PulmoTensor *x, PulmoTensor *y);

/* dx = dy where the forward OUTPUT y > 0, else 0 (so the input need not be
 * kept, and an in-place forward is fine). dx is overwritten; it may be dy. */
void pulmo_relu_backward (const PulmoTensor *y,
                          const PulmoTensor *dy,
                          PulmoTensor *dx);

/* probs[n, :, i, j] = softmax over c of logits[n, c, i, j], computed with the
 * maximum subtracted. probs has the logits' shape, allocated by the caller;
 * it may be logits (in place). */
void pulmo_softmax_forward (const PulmoTensor *logits, PulmoTensor *probs);

/* dlogits = probs ⊙ (dprobs - Σ_c probs · dprobs), per pixel. dlogits is
 * overwritten; it may be dprobs. (The loss in loss.h fuses its own softmax;
 * this is for other uses of the probabilities.) */
void pulmo_softmax_backward (const PulmoTensor *probs,
                             const PulmoTensor *dprobs,
                             PulmoTensor *dlogits);

G_END_DECLS
