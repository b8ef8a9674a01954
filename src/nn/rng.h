/* rng.h: a small seeded pseudo-random generator (xoshiro256**, seeded with
 * splitmix64) so that initialisation, sampling and augmentation give the same
 * numbers on every machine and run for the same seed. Not for cryptography.
 * One generator per thread: the state is plain data, not locked. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint64 s[4];
} PulmoRng;

void pulmo_rng_init (PulmoRng *rng, guint64 seed);
guint64 pulmo_rng_next (PulmoRng *rng);
/* Uniform in [0, 1). */
double pulmo_rng_uniform (PulmoRng *rng);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
guint32 pulmo_rng_below (PulmoRng *rng, guint32 n);
/* Standard normal (mean 0, standard deviation 1), Box–Muller. */
double pulmo_rng_normal (PulmoRng *rng);

G_END_DECLS
