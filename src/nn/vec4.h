/* vec4.h: four floats at a time for the memory-bound operations (ReLU, batch
 * norm, max-pool), through the GCC/Clang vector extensions. The project's -O2
 * does not vectorise these loops by itself, and a ReLU or a max written as a
 * branch mispredicts on real feature maps; selects through masks do neither.
 * Internal to src/nn. */
#pragma once

#include <stdint.h>
#include <string.h>

typedef float PulmoVec4 __attribute__ ((vector_size (16)));
typedef int32_t PulmoMask4 __attribute__ ((vector_size (16)));

static inline PulmoVec4
pulmo_vec4_load (const float *p)
{
  PulmoVec4 v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
pulmo_vec4_store (float *p, PulmoVec4 v)
{
  memcpy (p, &v, sizeof v);
}

static inline PulmoVec4
pulmo_vec4_splat (float x)
{
  return (PulmoVec4) { x, x, x, x };
}

/* mask ? a : b, lane by lane (mask lanes are all ones or all zeros, as a
 * vector comparison gives). */
static inline PulmoVec4
pulmo_vec4_select (PulmoMask4 mask, PulmoVec4 a, PulmoVec4 b)
{
  return (PulmoVec4) ((mask & (PulmoMask4) a) | (~mask & (PulmoMask4) b));
}

/* max(v, 0) with v > 0 ? v : 0 semantics (NaN gives 0). */
static inline PulmoVec4
pulmo_vec4_relu (PulmoVec4 v)
{
  return (PulmoVec4) ((PulmoMask4) v & (v > pulmo_vec4_splat (0.0f)));
}

/* Eight consecutive floats split into their even and odd elements (the
 * left and right columns of four 2×2 windows). */
static inline void
pulmo_vec4_load_deinterleave (const float *p, PulmoVec4 *even, PulmoVec4 *odd)
{
  PulmoVec4 lo = pulmo_vec4_load (p), hi = pulmo_vec4_load (p + 4);
  *even = __builtin_shufflevector (lo, hi, 0, 2, 4, 6);
  *odd = __builtin_shufflevector (lo, hi, 1, 3, 5, 7);
}

/* The inverse: even and odd elements woven back into eight floats. */
static inline void
pulmo_vec4_store_interleave (float *p, PulmoVec4 even, PulmoVec4 odd)
{
  pulmo_vec4_store (p, __builtin_shufflevector (even, odd, 0, 4, 1, 5));
  pulmo_vec4_store (p + 4, __builtin_shufflevector (even, odd, 2, 6, 3, 7));
}
