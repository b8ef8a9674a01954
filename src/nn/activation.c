/* activation.c: ReLU (element-wise, split into fixed chunks) and the softmax
 * over channels (per pixel; pixels are taken in runs along a plane so every
 * channel plane is read row-wise, never with a stride per element). */
#include "nn/activation.h"

#include <math.h>

#include "nn/parallel.h"
#include "nn/vec4.h"

/* Elements per work item of the element-wise operations. */
#define CHUNK_ELEMENTS 16384
/* Pixels per softmax run: the per-pixel maxima and sums stay on the stack. */
#define RUN_PIXELS 256

static gboolean
same_shape (const PulmoTensor *a, const PulmoTensor *b)
{
  return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w;
}

static int
n_chunks (const PulmoTensor *t)
{
  return (int) ((pulmo_tensor_numel (t) + CHUNK_ELEMENTS - 1) / CHUNK_ELEMENTS);
}

typedef struct {
  const PulmoTensor *x;   /* forward: input; backward: forward output */
  const PulmoTensor *dy;  /* backward only */
  PulmoTensor *out;
} ReluJob;

static void
relu_forward_chunks (void *data, int begin, int end, int worker)
{
  const ReluJob *job = data;
  size_t numel = pulmo_tensor_numel (job->x);
  size_t first = (size_t) begin * CHUNK_ELEMENTS;
  size_t last = MIN ((size_t) end * CHUNK_ELEMENTS, numel);
  const float *x = job->x->data;
  float *y = job->out->data;

  size_t i = first;
  for (; i + 4 <= last; i += 4)
    pulmo_vec4_store (y + i, pulmo_vec4_relu (pulmo_vec4_load (x + i)));
  for (; i < last; i++)
    y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void
pulmo_relu_forward (const PulmoTensor *x, PulmoTensor *y)
{
  g_return_if_fail (x != NULL && y != NULL && same_shape (x, y));

  ReluJob job = { x, NULL, y };
  pulmo_parallel_for (n_chunks (x), relu_forward_chunks, &job);
}

static void
relu_backward_chunks (void *data, int begin, int end, int worker)
{
  const ReluJob *job = data;
  size_t numel = pulmo_tensor_numel (job->x);
  size_t first = (size_t) begin * CHUNK_ELEMENTS;
  size_t last = MIN ((size_t) end * CHUNK_ELEMENTS, numel);
  const float *y = job->x->data;
  const float *dy = job->dy->data;
  float *dx = job->out->data;

  size_t i = first;
  for (; i + 4 <= last; i += 4)
    {
      PulmoMask4 on = pulmo_vec4_load (y + i) > pulmo_vec4_splat (0.0f);
      pulmo_vec4_store (dx + i, (PulmoVec4) (on & (PulmoMask4) pulmo_vec4_load (dy + i)));
    }
  for (; i < last; i++)
    dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

void
pulmo_relu_backward (const PulmoTensor *y, const PulmoTensor *dy, PulmoTensor *dx)
{
  g_return_if_fail (y != NULL && dy != NULL && dx != NULL);
  g_return_if_fail (same_shape (y, dy) && same_shape (y, dx));

  ReluJob job = { y, dy, dx };
  pulmo_parallel_for (n_chunks (y), relu_backward_chunks, &job);
}

typedef struct {
  const PulmoTensor *in;   /* forward: logits; backward: probs */
  const PulmoTensor *din;  /* backward: dprobs */
  PulmoTensor *out;
  int runs_per_sample;
} SoftmaxJob;

static void
softmax_forward_runs (void *data, int begin, int end, int worker)
{
  const SoftmaxJob *job = data;
  int channels = job->in->c;
  size_t plane = (size_t) job->in->h * job->in->w;
  float max[RUN_PIXELS], sum[RUN_PIXELS];

  for (int item = begin; item < end; item++)
    {
      int n = item / job->runs_per_sample;
      size_t p0 = (size_t) (item % job->runs_per_sample) * RUN_PIXELS;
      int len = (int) MIN ((size_t) RUN_PIXELS, plane - p0);

      const float *z = pulmo_tensor_plane (job->in, n, 0) + p0;
      for (int i = 0; i < len; i++)
        max[i] = z[i];
      for (int c = 1; c < channels; c++)
        {
          const float *zc = z + c * plane;
          for (int i = 0; i < len; i++)
            max[i] = zc[i] > max[i] ? zc[i] : max[i];
        }
      for (int i = 0; i < len; i++)
        sum[i] = 0.0f;
      for (int c = 0; c < channels; c++)
        {
          const float *zc = z + c * plane;
          float *pc = pulmo_tensor_plane (job->out, n, c) + p0;
          for (int i = 0; i < len; i++)
            {
              pc[i] = expf (zc[i] - max[i]);
              sum[i] += pc[i];
            }
        }
      for (int i = 0; i < len; i++)
        sum[i] = 1.0f / sum[i];
      for (int c = 0; c < channels; c++)
        {
          float *pc = pulmo_tensor_plane (job->out, n, c) + p0;
          for (int i = 0; i < len; i++)
            pc[i] *= sum[i];
        }
    }
}

static int
runs_per_sample (const PulmoTensor *t)
{
  return (int) (((size_t) t->h * t->w + RUN_PIXELS - 1) / RUN_PIXELS);
}

void
pulmo_softmax_forward (const PulmoTensor *logits, PulmoTensor *probs)
{
  g_return_if_fail (logits != NULL && probs != NULL && same_shape (logits, probs));

  SoftmaxJob job = { logits, NULL, probs, runs_per_sample (logits) };
  pulmo_parallel_for (logits->n * job.runs_per_sample, softmax_forward_runs, &job);
}

static void
softmax_backward_runs (void *data, int begin, int end, int worker)
{
  const SoftmaxJob *job = data;
  int channels = job->in->c;
  size_t plane = (size_t) job->in->h * job->in->w;
  float dot[RUN_PIXELS];

  for (int item = begin; item < end; item++)
    {
      int n = item / job->runs_per_sample;
      size_t p0 = (size_t) (item % job->runs_per_sample) * RUN_PIXELS;
      int len = (int) MIN ((size_t) RUN_PIXELS, plane - p0);

      for (int i = 0; i < len; i++)
        dot[i] = 0.0f;
      for (int c = 0; c < channels; c++)
        {
          const float *pc = pulmo_tensor_plane (job->in, n, c) + p0;
          const float *gc = pulmo_tensor_plane (job->din, n, c) + p0;
          for (int i = 0; i < len; i++)
            dot[i] += pc[i] * gc[i];
        }
      for (int c = 0; c < channels; c++)
        {
          const float *pc = pulmo_tensor_plane (job->in, n, c) + p0;
          const float *gc = pulmo_tensor_plane (job->din, n, c) + p0;
          float *dc = pulmo_tensor_plane (job->out, n, c) + p0;
          for (int i = 0; i < len; i++)
            dc[i] = pc[i] * (gc[i] - dot[i]);
        }
    }
}

void
pulmo_softmax_backward (const PulmoTensor *probs,
                        const PulmoTensor *dprobs,
                        PulmoTensor *dlogits)
{
  g_return_if_fail (probs != NULL && dprobs != NULL && dlogits != NULL);
  g_return_if_fail (same_shape (probs, dprobs) && same_shape (probs, dlogits));

  SoftmaxJob job = { probs, dprobs, dlogits, runs_per_sample (probs) };
  pulmo_parallel_for (probs->n * job.runs_per_sample, softmax_backward_runs, &job);
}
