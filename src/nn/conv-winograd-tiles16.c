/* conv-winograd-tiles16.c: the Winograd tile transforms on groups of 16
 * tiles, one AVX-512 register each: twice the tiles per instruction of the
 * 8-tile groups. Everything here is compiled for AVX-512F and is only called
 * where the CPU has it. */
/* Declared before the target switch, which must not reach the 8-tile clones. */
#include "nn/conv-winograd-private.h"

#ifdef __clang__
#pragma clang attribute push (__attribute__ ((target ("avx512f"))), apply_to = function)
#else
#pragma GCC target ("avx512f")
#endif

#define TILE_LANES      16
#define TILES_FN(name)  name##_16

#include "nn/conv-winograd-tiles.h"

#ifdef __clang__
#pragma clang attribute pop
#endif
