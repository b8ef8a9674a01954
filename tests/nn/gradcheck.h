/* gradcheck.h: central finite differences against an analytic gradient, for
 * the tests of src/nn. Usage: make the loss a scalar in double, e.g. Σ r·y for
 * a fixed random r (then dy = r for the backward pass), compute the analytic
 * gradient of some float array, and let pulmo_gradcheck() perturb each entry
 * and call the loss again. */
#pragma once

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* Recomputes the forward pass from the current inputs and returns the loss. */
typedef double (*PulmoGradcheckLoss) (void *ctx);

typedef struct {
  float step;     /* perturbation h, e.g. 1e-2 for values of order 1 */
  double atol;    /* pass when |analytic - numeric| <= atol + rtol · max(|a|, |n|) */
  double rtol;
  size_t max_checks; /* 0: every entry; else this many, evenly spread */
} PulmoGradcheckOptions;

/* Compares analytic[i] with (loss(v + h) - loss(v - h)) / (2h) for entries of
 * values (n floats; each is restored afterwards). Fails the running test with
 * the index and both values of the worst entry if any is out of tolerance.
 * Returns the largest |analytic - numeric|. */
double pulmo_gradcheck (const char *what,
                        float *values,
                        size_t n,
                        const float *analytic,
                        PulmoGradcheckLoss loss,
                        void *ctx,
                        const PulmoGradcheckOptions *options);

/* Σ a_i · b_i in double: the projection loss Σ r·y. */
double pulmo_gradcheck_dot (const float *a, const float *b, size_t n);

/* Fills values with uniform numbers in [lo, hi) from rng. */
void pulmo_gradcheck_fill (GRand *rng, float *values, size_t n, double lo, double hi);

G_END_DECLS
