/* conv-private.h: what conv.c and conv-winograd.c share: how a layer is cut
 * into work items, and the vector type of their hand-vectorised loops.
 * Decisions depend on shapes only (never on the thread count), which keeps
 * results bit-identical whatever the machine is doing. */
#pragma once

#include <glib.h>

/* Split a layer into at least this many work items (load balance on a few cores). */
#define PULMO_CONV_MIN_ITEMS 8
/* Output channels per block are a multiple of this (sgemm kernel width). */
#define PULMO_CONV_COUT_ALIGN 16

/* Output-channel blocks so that @units × blocks reaches PULMO_CONV_MIN_ITEMS where possible. */
static inline void
pulmo_conv_plan_cout_blocks (int cout, int units, int *block, int *n_blocks)
{
  int wanted = units >= PULMO_CONV_MIN_ITEMS ? 1 : (PULMO_CONV_MIN_ITEMS + units - 1) / units;
  int b = (cout + wanted - 1) / wanted;
  b = (b + PULMO_CONV_COUT_ALIGN - 1) / PULMO_CONV_COUT_ALIGN * PULMO_CONV_COUT_ALIGN;
  *block = MIN (b, cout);
  *n_blocks = (cout + *block - 1) / *block;
}

/* Eight floats: one AVX register, two SSE ones. Loops written on these are
 * compiled for AVX2 and for plain x86-64 (target_clones), chosen at load time. */
#define PULMO_LANES 8
typedef float PulmoLanes __attribute__ ((vector_size (PULMO_LANES * sizeof (float))));
/* The loader runs the clones' resolver before ThreadSanitizer is set up, and
 * TSan instruments it, which crashes: a TSan build keeps the plain clone. */
#ifdef __SANITIZE_THREAD__
#define PULMO_AVX2_CLONES
#else
#define PULMO_AVX2_CLONES __attribute__ ((target_clones ("avx2", "default")))
#endif
typedef int PulmoLaneMask __attribute__ ((vector_size (PULMO_LANES * sizeof (int))));
