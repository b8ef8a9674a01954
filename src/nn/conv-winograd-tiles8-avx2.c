/* conv-winograd-tiles8-avx2.c: the Winograd tile transforms on groups of 8
 * tiles, one AVX register each, for CPUs with AVX2 but not AVX-512F. Compiled
 * for AVX2 and only called where the CPU has it: an explicit choice in
 * conv-winograd.c, not target_clones, whose resolution across files GCC and
 * clang do differently. */
/* Declared before the target switch, like conv-winograd-tiles16.c. */
#include "nn/conv-winograd-private.h"

#ifdef __clang__
#pragma clang attribute push (__attribute__ ((target ("avx2"))), apply_to = function)
#else
#pragma GCC target ("avx2")
#endif

#define TILE_LANES      8
#define TILES_FN(name)  name##_8_avx2

#include "nn/conv-winograd-tiles.h"

#ifdef __clang__
#pragma clang attribute pop
#endif
