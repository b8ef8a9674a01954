/* batchnorm.c: batch normalisation, split over channels. Each channel's
 * statistics are summed in double over its N planes in a fixed order, so the
 * result does not depend on the number of threads. */
#include "nn/batchnorm.h"

#include <math.h>

#include "nn/parallel.h"
#include "nn/vec4.h"

/* Σ (x - centre) and Σ (x - centre)² over one plane: float lanes over short
 * blocks (in registers), blocks added in double. */
static void
plane_moments (const float *x, size_t n, float centre, double *sum, double *sum_sq)
{
  PulmoVec4 c4 = pulmo_vec4_splat (centre);
  double s = 0.0, q = 0.0;
  size_t i = 0;
  while (i < n)
    {
      size_t stop = MIN (n, i + 1024);
      PulmoVec4 ls = { 0 }, lq = { 0 };
      for (; i + 4 <= stop; i += 4)
        {
          PulmoVec4 d = pulmo_vec4_load (x + i) - c4;
          ls += d;
          lq += d * d;
        }
      for (; i < stop; i++)
        {
          float d = x[i] - centre;
          ls[0] += d;
          lq[0] += d * d;
        }
      s += (double) ls[0] + ls[1] + ls[2] + ls[3];
      q += (double) lq[0] + lq[1] + lq[2] + lq[3];
    }
  *sum = s;
  *sum_sq = q;
}

typedef struct {
  const PulmoTensor *x;
  const PulmoTensor *dy;
  const float *gamma;
  const float *beta;
  float *running_mean;
  float *running_var;
  const float *mean;     /* backward: the batch statistics */
  const float *inv_std;
  const float *scale;    /* inference: the folded affine map */
  const float *shift;
  float momentum;
  float eps;
  gboolean relu;         /* forward: max(·, 0) after the affine map */
  PulmoTensor *out;
  float *save_mean;
  float *save_inv_std;
  float *dgamma;
  float *dbeta;
} BatchnormJob;

/* out = scale · x + shift (then max(·, 0) if relu) over channel c of every
 * sample. */
static void
apply_affine (const PulmoTensor *x, PulmoTensor *out, int c, float scale, float shift, gboolean relu)
{
  size_t plane = (size_t) x->h * x->w;
  for (int n = 0; n < x->n; n++)
    {
      const float *in = pulmo_tensor_plane (x, n, c);
      float *o = pulmo_tensor_plane (out, n, c);
      PulmoVec4 scale4 = pulmo_vec4_splat (scale), shift4 = pulmo_vec4_splat (shift);
      size_t i = 0;
      if (relu)
        {
          for (; i + 4 <= plane; i += 4)
            pulmo_vec4_store (o + i, pulmo_vec4_relu (scale4 * pulmo_vec4_load (in + i) + shift4));
          for (; i < plane; i++)
            {
              float v = scale * in[i] + shift;
              o[i] = v > 0.0f ? v : 0.0f;
            }
        }
      else
        {
          for (; i + 4 <= plane; i += 4)
            pulmo_vec4_store (o + i, scale4 * pulmo_vec4_load (in + i) + shift4);
          for (; i < plane; i++)
            o[i] = scale * in[i] + shift;
        }
    }
}

static void
batchnorm_train_channels (void *data, int begin, int end, int worker)
{
  const BatchnormJob *job = data;
  const PulmoTensor *x = job->x;
  size_t plane = (size_t) x->h * x->w;

  for (int c = begin; c < end; c++)
    {
      /* Per plane: its mean, then the moments about it while the plane is
       * still in cache (two passes, no cancellation, one read from memory);
       * planes are merged with Chan's formula. */
      double mean = 0.0, m2 = 0.0, count = 0.0;
      for (int n = 0; n < x->n; n++)
        {
          const float *p = pulmo_tensor_plane (x, n, c);
          float centre = (float) (pulmo_sum_floats (p, plane) / plane);
          double dev, dev_sq;
          plane_moments (p, plane, centre, &dev, &dev_sq);
          double plane_mean = centre + dev / plane;
          double plane_m2 = MAX (0.0, dev_sq - dev * dev / plane);
          double delta = plane_mean - mean;
          double total = count + plane;
          mean += delta * plane / total;
          m2 += plane_m2 + delta * delta * count * plane / total;
          count = total;
        }
      double var = m2 / count;

      double inv_std = 1.0 / sqrt (var + job->eps);
      job->save_mean[c] = (float) mean;
      job->save_inv_std[c] = (float) inv_std;
      job->running_mean[c] = (float) ((1.0 - job->momentum) * job->running_mean[c] + job->momentum * mean);
      job->running_var[c] = (float) ((1.0 - job->momentum) * job->running_var[c]
                                     + job->momentum * m2 / (count - 1.0));

      float scale = (float) (job->gamma[c] * inv_std);
      apply_affine (x, job->out, c, scale, (float) (job->beta[c] - mean * scale), job->relu);
    }
}

static gboolean
same_shape (const PulmoTensor *a, const PulmoTensor *b)
{
  return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w;
}

void
pulmo_batchnorm_forward_train (const PulmoTensor *x,
                               const float *gamma,
                               const float *beta,
                               float *running_mean,
                               float *running_var,
                               float momentum,
                               float eps,
                               gboolean relu,
                               PulmoTensor *y,
                               float *save_mean,
                               float *save_inv_std)
{
  g_return_if_fail (x != NULL && y != NULL && x != y && same_shape (x, y));
  g_return_if_fail (gamma != NULL && beta != NULL && running_mean != NULL && running_var != NULL);
  g_return_if_fail (save_mean != NULL && save_inv_std != NULL);
  g_return_if_fail ((size_t) x->n * x->h * x->w >= 2);

  BatchnormJob job = { 0 };
  job.x = x;
  job.gamma = gamma;
  job.beta = beta;
  job.running_mean = running_mean;
  job.running_var = running_var;
  job.momentum = momentum;
  job.eps = eps;
  job.relu = relu;
  job.out = y;
  job.save_mean = save_mean;
  job.save_inv_std = save_inv_std;
  pulmo_parallel_for (x->c, batchnorm_train_channels, &job);
}

void
pulmo_batchnorm_fold (int channels,
                      const float *gamma,
                      const float *beta,
                      const float *running_mean,
                      const float *running_var,
                      float eps,
                      float *scale,
                      float *shift)
{
  g_return_if_fail (gamma != NULL && beta != NULL && running_mean != NULL && running_var != NULL);
  g_return_if_fail (scale != NULL && shift != NULL);

  for (int c = 0; c < channels; c++)
    {
      double s = gamma[c] / sqrt ((double) running_var[c] + eps);
      scale[c] = (float) s;
      shift[c] = (float) (beta[c] - running_mean[c] * s);
    }
}

static void
batchnorm_infer_channels (void *data, int begin, int end, int worker)
{
  const BatchnormJob *job = data;
  for (int c = begin; c < end; c++)
    apply_affine (job->x, job->out, c, job->scale[c], job->shift[c], FALSE);
}

void
pulmo_batchnorm_forward_infer (const PulmoTensor *x,
                               const float *gamma,
                               const float *beta,
                               const float *running_mean,
                               const float *running_var,
                               float eps,
                               PulmoTensor *y)
{
  g_return_if_fail (x != NULL && y != NULL && same_shape (x, y));

  g_autofree float *scale = g_new (float, x->c);
  g_autofree float *shift = g_new (float, x->c);
  pulmo_batchnorm_fold (x->c, gamma, beta, running_mean, running_var, eps, scale, shift);

  BatchnormJob job = { 0 };
  job.x = x;
  job.out = y;
  job.scale = scale;
  job.shift = shift;
  pulmo_parallel_for (x->c, batchnorm_infer_channels, &job);
}

static void
batchnorm_backward_channels (void *data, int begin, int end, int worker)
{
  const BatchnormJob *job = data;
  const PulmoTensor *x = job->x;
  size_t plane = (size_t) x->h * x->w;
  double count = (double) x->n * plane;

  for (int c = begin; c < end; c++)
    {
      float mean = job->mean[c], inv_std = job->inv_std[c];
      /* Σ dy and Σ dy · x̂, x̂ = (x - mean) · inv_std. */
      double sum_dy = 0.0, sum_dy_xhat = 0.0;
      for (int n = 0; n < x->n; n++)
        {
          const float *xp = pulmo_tensor_plane (x, n, c);
          const float *dp = pulmo_tensor_plane (job->dy, n, c);
          PulmoVec4 mean4 = pulmo_vec4_splat (mean);
          size_t i = 0;
          while (i < plane)
            {
              size_t stop = MIN (plane, i + 1024);
              PulmoVec4 ls = { 0 }, lp = { 0 };
              for (; i + 4 <= stop; i += 4)
                {
                  PulmoVec4 d = pulmo_vec4_load (dp + i);
                  ls += d;
                  lp += d * (pulmo_vec4_load (xp + i) - mean4);
                }
              for (; i < stop; i++)
                {
                  ls[0] += dp[i];
                  lp[0] += dp[i] * (xp[i] - mean);
                }
              sum_dy += (double) ls[0] + ls[1] + ls[2] + ls[3];
              sum_dy_xhat += (double) lp[0] + lp[1] + lp[2] + lp[3];
            }
        }
      sum_dy_xhat *= inv_std;

      if (job->dgamma != NULL)
        job->dgamma[c] += (float) sum_dy_xhat;
      if (job->dbeta != NULL)
        job->dbeta[c] += (float) sum_dy;

      /* dx = gamma · inv_std · (dy - mean(dy) - x̂ · mean(dy · x̂)), written as
       * dx = a · dy + b · x + k with per-channel constants. */
      float a = job->gamma[c] * inv_std;
      float b = (float) (-a * sum_dy_xhat / count * inv_std);
      float k = (float) (-a * sum_dy / count) - b * mean;
      for (int n = 0; n < x->n; n++)
        {
          const float *xp = pulmo_tensor_plane (x, n, c);
          const float *dp = pulmo_tensor_plane (job->dy, n, c);
          float *o = pulmo_tensor_plane (job->out, n, c);
          PulmoVec4 a4 = pulmo_vec4_splat (a), b4 = pulmo_vec4_splat (b), k4 = pulmo_vec4_splat (k);
          size_t i = 0;
          for (; i + 4 <= plane; i += 4)
            pulmo_vec4_store (o + i, a4 * pulmo_vec4_load (dp + i) + b4 * pulmo_vec4_load (xp + i) + k4);
          for (; i < plane; i++)
            o[i] = a * dp[i] + b * xp[i] + k;
        }
    }
}

void
pulmo_batchnorm_backward (const PulmoTensor *x,
                          const PulmoTensor *dy,
                          const float *gamma,
                          const float *save_mean,
                          const float *save_inv_std,
                          PulmoTensor *dx,
                          float *dgamma,
                          float *dbeta)
{
  g_return_if_fail (x != NULL && dy != NULL && dx != NULL);
  g_return_if_fail (same_shape (x, dy) && same_shape (x, dx));
  g_return_if_fail (gamma != NULL && save_mean != NULL && save_inv_std != NULL);

  BatchnormJob job = { 0 };
  job.x = x;
  job.dy = dy;
  job.gamma = gamma;
  job.mean = save_mean;
  job.inv_std = save_inv_std;
  job.out = dx;
  job.dgamma = dgamma;
  job.dbeta = dbeta;
  pulmo_parallel_for (x->c, batchnorm_backward_channels, &job);
}
