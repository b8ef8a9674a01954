/* gradcheck.c: see gradcheck.h. */
#include "gradcheck.h"

#include <math.h>

double
pulmo_gradcheck (const char *what,
                 float *values,
                 size_t n,
                 const float *analytic,
                 PulmoGradcheckLoss loss,
                 void *ctx,
                 const PulmoGradcheckOptions *options)
{
  size_t stride = 1;
  if (options->max_checks > 0 && n > options->max_checks)
    stride = (n + options->max_checks - 1) / options->max_checks;

  double worst_excess = -INFINITY, worst_error = 0.0;
  size_t worst = 0;
  double worst_numeric = 0.0;

  for (size_t i = 0; i < n; i += stride)
    {
      float saved = values[i];
      /* Use the perturbations float actually represents, not the nominal h. */
      values[i] = saved + options->step;
      double plus_value = values[i];
      double plus = loss (ctx);
      values[i] = saved - options->step;
      double minus_value = values[i];
      double minus = loss (ctx);
      values[i] = saved;

      double numeric = (plus - minus) / (plus_value - minus_value);
      double error = fabs (analytic[i] - numeric);
      double allowed = options->atol + options->rtol * MAX (fabs (analytic[i]), fabs (numeric));
      worst_error = MAX (worst_error, error);
      if (error - allowed > worst_excess)
        {
          worst_excess = error - allowed;
          worst = i;
          worst_numeric = numeric;
        }
    }

  if (worst_excess > 0.0)
    g_test_fail_printf ("%s: gradient entry %zu: analytic %.7g, numeric %.7g", what, worst,
                        (double) analytic[worst], worst_numeric);
  g_test_message ("%s: %zu entries, max |analytic - numeric| %.3g", what,
                  (n + stride - 1) / stride, worst_error);
  return worst_error;
}

double
pulmo_gradcheck_dot (const float *a, const float *b, size_t n)
{
  double sum = 0.0;
  for (size_t i = 0; i < n; i++)
    sum += (double) a[i] * b[i];
  return sum;
}

void
pulmo_gradcheck_fill (GRand *rng, float *values, size_t n, double lo, double hi)
{
  for (size_t i = 0; i < n; i++)
    values[i] = (float) g_rand_double_range (rng, lo, hi);
}
