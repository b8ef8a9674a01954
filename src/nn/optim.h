/* optim.h: AdamW (Loshchilov & Hutter, "Decoupled weight decay
 * regularization"), the same update as PyTorch's torch.optim.AdamW:
 *
 *   p -= lr · weight_decay · p                      (decoupled, only if @decay)
 *   m  = β1·m + (1-β1)·g        v = β2·v + (1-β2)·g²
 *   p -= lr · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + eps)
 *
 * The optimiser keeps the moments; parameters and gradients stay owned by the
 * model. Steps run over all cores with pulmo_parallel_for(). */
#pragma once

#include "nn/tensor.h"

G_BEGIN_DECLS

typedef struct {
  PulmoTensor *value;
  PulmoTensor *grad;    /* same number of elements as @value */
  gboolean decay;       /* weight decay applies (conv weights: yes; biases, BN: no) */
} PulmoParamRef;

typedef struct {
  float lr;
  float beta1, beta2;
  float eps;
  float weight_decay;
} PulmoAdamWConfig;

typedef struct _PulmoAdamW PulmoAdamW;

/* PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
PulmoAdamWConfig pulmo_adamw_config_default (void);

/* @params is copied (the tensors are not). */
PulmoAdamW *pulmo_adamw_new (const PulmoParamRef *params, int n_params,
                             const PulmoAdamWConfig *config);
void pulmo_adamw_free (PulmoAdamW *optim);
/* Changes the learning rate for the following steps (schedules). */
void pulmo_adamw_set_lr (PulmoAdamW *optim, float lr);
/* One update from the gradients as they are now. */
void pulmo_adamw_step (PulmoAdamW *optim);
/* Sets every gradient to zero (backward passes accumulate). */
void pulmo_adamw_zero_grad (PulmoAdamW *optim);
/* Steps taken so far. */
int pulmo_adamw_n_steps (const PulmoAdamW *optim);

/* For checkpoints: the number of parameter tensors, and the first and second
 * moments of tensor @i (@count floats each, writable to restore them). */
int pulmo_adamw_n_params (const PulmoAdamW *optim);
void pulmo_adamw_moments (PulmoAdamW *optim, int i, float **m, float **v, size_t *count);
/* Restores the step count that the bias corrections depend on. */
void pulmo_adamw_set_n_steps (PulmoAdamW *optim, int n_steps);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoAdamW, pulmo_adamw_free)

G_END_DECLS
