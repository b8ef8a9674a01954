/* rng.c: xoshiro256** by Blackman and Vigna (public domain reference at
 * prng.di.unimi.it); splitmix64 spreads a 64-bit seed over its 256-bit state
 * so that nearby seeds give unrelated streams and the state is never zero. */
#include "nn/rng.h"

#include <math.h>

static guint64
splitmix64 (guint64 *x)
{
  guint64 z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline guint64
rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

void
pulmo_rng_init (PulmoRng *rng, guint64 seed)
{
  guint64 x = seed;
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&x);
}

guint64
pulmo_rng_next (PulmoRng *rng)
{
  guint64 *s = rng->s;
  guint64 result = rotl (s[1] * 5, 7) * 9;
  guint64 t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

double
pulmo_rng_uniform (PulmoRng *rng)
{
  /* The top 53 bits fill a double's mantissa exactly. */
  return (double) (pulmo_rng_next (rng) >> 11) * 0x1.0p-53;
}

guint32
pulmo_rng_below (PulmoRng *rng, guint32 n)
{
  g_return_val_if_fail (n >= 1, 0);
  /* Lemire's multiply-shift with rejection of the biased low range. */
  guint64 m = (pulmo_rng_next (rng) >> 32) * n;
  guint32 low = (guint32) m;
  if (low < n)
    {
      guint32 threshold = (guint32) -n % n;
      while (low < threshold)
        {
          m = (pulmo_rng_next (rng) >> 32) * n;
          low = (guint32) m;
        }
    }
  return (guint32) (m >> 32);
}

double
pulmo_rng_normal (PulmoRng *rng)
{
  /* 1 - u lies in (0, 1], so the logarithm is finite. */
  double u1 = 1.0 - pulmo_rng_uniform (rng);
  double u2 = pulmo_rng_uniform (rng);
  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}
