/* pool.c: 2×2 max-pool, stride 2. Work is split over the N·C planes; each
 * plane is processed a pair of input rows at a time. */
#include "nn/pool.h"

#include <string.h>

#include "nn/parallel.h"

typedef struct {
  const PulmoTensor *x;
  PulmoTensor *y;
  uint8_t *argmax;
} PoolForward;

static void
pool_forward_planes (void *data, int begin, int end, int worker)
{
  const PoolForward *job = data;
  int w = job->x->w;
  int out_h = job->y->h, out_w = job->y->w;
  size_t out_plane = (size_t) out_h * out_w;

  for (int p = begin; p < end; p++)
    {
      const float *in = job->x->data + (size_t) p * job->x->h * w;
      float *out = job->y->data + (size_t) p * out_plane;
      uint8_t *arg = job->argmax != NULL ? job->argmax + (size_t) p * out_plane : NULL;

      for (int i = 0; i < out_h; i++)
        {
          const float *r0 = in + (size_t) 2 * i * w;
          const float *r1 = r0 + w;
          float *o = out + (size_t) i * out_w;
          if (arg == NULL)
            {
              for (int j = 0; j < out_w; j++)
                {
                  float m0 = r0[2 * j + 1] > r0[2 * j] ? r0[2 * j + 1] : r0[2 * j];
                  float m1 = r1[2 * j + 1] > r1[2 * j] ? r1[2 * j + 1] : r1[2 * j];
                  o[j] = m1 > m0 ? m1 : m0;
                }
              continue;
            }
          uint8_t *a = arg + (size_t) i * out_w;
          for (int j = 0; j < out_w; j++)
            {
              /* Strict > keeps the first maximum on ties. */
              float m = r0[2 * j];
              uint8_t k = 0;
              if (r0[2 * j + 1] > m) { m = r0[2 * j + 1]; k = 1; }
              if (r1[2 * j] > m) { m = r1[2 * j]; k = 2; }
              if (r1[2 * j + 1] > m) { m = r1[2 * j + 1]; k = 3; }
              o[j] = m;
              a[j] = k;
            }
        }
    }
}

void
pulmo_maxpool2_forward (const PulmoTensor *x, PulmoTensor *y, uint8_t *argmax)
{
  g_return_if_fail (x != NULL && y != NULL);
  g_return_if_fail (x->h >= 2 && x->w >= 2);
  g_return_if_fail (y->n == x->n && y->c == x->c && y->h == x->h / 2 && y->w == x->w / 2);

  PoolForward job = { x, y, argmax };
  pulmo_parallel_for (x->n * x->c, pool_forward_planes, &job);
}

typedef struct {
  const PulmoTensor *dy;
  const uint8_t *argmax;
  PulmoTensor *dx;
  gboolean accumulate;
} PoolBackward;

static void
pool_backward_planes (void *data, int begin, int end, int worker)
{
  const PoolBackward *job = data;
  int h = job->dx->h, w = job->dx->w;
  int out_h = job->dy->h, out_w = job->dy->w;
  size_t out_plane = (size_t) out_h * out_w;

  for (int p = begin; p < end; p++)
    {
      float *in = job->dx->data + (size_t) p * h * w;
      const float *out = job->dy->data + (size_t) p * out_plane;
      const uint8_t *arg = job->argmax + (size_t) p * out_plane;

      for (int i = 0; i < out_h; i++)
        {
          float *r0 = in + (size_t) 2 * i * w;
          float *r1 = r0 + w;
          const float *g = out + (size_t) i * out_w;
          const uint8_t *a = arg + (size_t) i * out_w;
          /* Every element of the 2×2 block is written, so no separate
           * clearing pass is needed when overwriting (and stale values, even
           * NaN, never leak through). */
          if (job->accumulate)
            for (int j = 0; j < out_w; j++)
              {
                r0[2 * j] += a[j] == 0 ? g[j] : 0.0f;
                r0[2 * j + 1] += a[j] == 1 ? g[j] : 0.0f;
                r1[2 * j] += a[j] == 2 ? g[j] : 0.0f;
                r1[2 * j + 1] += a[j] == 3 ? g[j] : 0.0f;
              }
          else
            for (int j = 0; j < out_w; j++)
              {
                r0[2 * j] = a[j] == 0 ? g[j] : 0.0f;
                r0[2 * j + 1] = a[j] == 1 ? g[j] : 0.0f;
                r1[2 * j] = a[j] == 2 ? g[j] : 0.0f;
                r1[2 * j + 1] = a[j] == 3 ? g[j] : 0.0f;
              }
          if (w % 2 != 0 && !job->accumulate)
            r0[w - 1] = r1[w - 1] = 0.0f;
        }
      if (h % 2 != 0 && !job->accumulate)
        memset (in + (size_t) (h - 1) * w, 0, (size_t) w * sizeof (float));
    }
}

void
pulmo_maxpool2_backward (const PulmoTensor *dy,
                         const uint8_t *argmax,
                         PulmoTensor *dx,
                         gboolean accumulate)
{
  g_return_if_fail (dy != NULL && argmax != NULL && dx != NULL);
  g_return_if_fail (dy->n == dx->n && dy->c == dx->c && dy->h == dx->h / 2 && dy->w == dx->w / 2);

  PoolBackward job = { dy, argmax, dx, accumulate };
  pulmo_parallel_for (dx->n * dx->c, pool_backward_planes, &job);
}
