/* conv-plan.h: how conv.c and conv-winograd.c cut a layer into work items.
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
