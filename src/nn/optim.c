#include "nn/optim.h"

#include "nn/parallel.h"

#include <math.h>
#include <string.h>

/* Work items are slices of one parameter so that big and small tensors spread
 * evenly over the cores. */
#define CHUNK_FLOATS 16384

typedef struct {
  int param;
  size_t offset, count;
} Chunk;

typedef struct {
  PulmoParamRef ref;
  float *m, *v;
} ParamState;

struct _PulmoAdamW {
  PulmoAdamWConfig config;
  ParamState *params;
  int n_params;
  Chunk *chunks;
  int n_chunks;
  int n_steps;
};

PulmoAdamWConfig
pulmo_adamw_config_default (void)
{
  return (PulmoAdamWConfig) { .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f,
                              .eps = 1e-8f, .weight_decay = 0.01f };
}

PulmoAdamW *
pulmo_adamw_new (const PulmoParamRef *params, int n_params, const PulmoAdamWConfig *config)
{
  g_return_val_if_fail (params != NULL && n_params > 0 && config != NULL, NULL);

  PulmoAdamW *optim = g_new0 (PulmoAdamW, 1);
  optim->config = *config;
  optim->n_params = n_params;
  optim->params = g_new0 (ParamState, n_params);
  size_t n_chunks = 0;
  for (int i = 0; i < n_params; i++)
    {
      size_t count = pulmo_tensor_numel (params[i].value);
      g_return_val_if_fail (pulmo_tensor_numel (params[i].grad) == count, NULL);
      optim->params[i].ref = params[i];
      optim->params[i].m = g_new0 (float, count);
      optim->params[i].v = g_new0 (float, count);
      n_chunks += (count + CHUNK_FLOATS - 1) / CHUNK_FLOATS;
    }
  g_return_val_if_fail (n_chunks <= G_MAXINT, NULL);
  optim->chunks = g_new (Chunk, n_chunks);
  for (int i = 0; i < n_params; i++)
    {
      size_t count = pulmo_tensor_numel (params[i].value);
      for (size_t offset = 0; offset < count; offset += CHUNK_FLOATS)
        optim->chunks[optim->n_chunks++] =
          (Chunk) { i, offset, MIN ((size_t) CHUNK_FLOATS, count - offset) };
    }
  return optim;
}

void
pulmo_adamw_free (PulmoAdamW *optim)
{
  if (optim == NULL)
    return;
  for (int i = 0; i < optim->n_params; i++)
    {
      g_free (optim->params[i].m);
      g_free (optim->params[i].v);
    }
  g_free (optim->params);
  g_free (optim->chunks);
  g_free (optim);
}

void
pulmo_adamw_set_lr (PulmoAdamW *optim, float lr)
{
  g_return_if_fail (optim != NULL);
  optim->config.lr = lr;
}

int
pulmo_adamw_n_steps (const PulmoAdamW *optim)
{
  return optim->n_steps;
}

int
pulmo_adamw_n_params (const PulmoAdamW *optim)
{
  return optim->n_params;
}

void
pulmo_adamw_moments (PulmoAdamW *optim, int i, float **m, float **v, size_t *count)
{
  g_return_if_fail (optim != NULL && i >= 0 && i < optim->n_params);
  *m = optim->params[i].m;
  *v = optim->params[i].v;
  *count = pulmo_tensor_numel (optim->params[i].ref.value);
}

void
pulmo_adamw_set_n_steps (PulmoAdamW *optim, int n_steps)
{
  g_return_if_fail (optim != NULL && n_steps >= 0);
  optim->n_steps = n_steps;
}

typedef struct {
  PulmoAdamW *optim;
  float step_size;   /* lr / (1 - β1^t) */
  float v_scale;     /* 1 / (1 - β2^t) */
} StepJob;

static void
step_chunks (void *ctx, int begin, int end, int worker)
{
  const StepJob *job = ctx;
  const PulmoAdamWConfig *cfg = &job->optim->config;
  float b1 = cfg->beta1, b2 = cfg->beta2;

  for (int c = begin; c < end; c++)
    {
      const Chunk *chunk = &job->optim->chunks[c];
      ParamState *state = &job->optim->params[chunk->param];
      float *p = state->ref.value->data + chunk->offset;
      const float *g = state->ref.grad->data + chunk->offset;
      float *m = state->m + chunk->offset;
      float *v = state->v + chunk->offset;
      float keep = state->ref.decay ? 1.0f - cfg->lr * cfg->weight_decay : 1.0f;

      for (size_t i = 0; i < chunk->count; i++)
        {
          m[i] = b1 * m[i] + (1.0f - b1) * g[i];
          v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
          p[i] = p[i] * keep - job->step_size * m[i] / (sqrtf (v[i] * job->v_scale) + cfg->eps);
        }
    }
}

void
pulmo_adamw_step (PulmoAdamW *optim)
{
  g_return_if_fail (optim != NULL);

  optim->n_steps++;
  const PulmoAdamWConfig *cfg = &optim->config;
  StepJob job = {
    .optim = optim,
    .step_size = (float) (cfg->lr / (1.0 - pow (cfg->beta1, optim->n_steps))),
    .v_scale = (float) (1.0 / (1.0 - pow (cfg->beta2, optim->n_steps))),
  };
  pulmo_parallel_for (optim->n_chunks, step_chunks, &job);
}

void
pulmo_adamw_zero_grad (PulmoAdamW *optim)
{
  g_return_if_fail (optim != NULL);
  for (int i = 0; i < optim->n_params; i++)
    pulmo_tensor_zero (optim->params[i].ref.grad);
}
