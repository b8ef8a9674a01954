/* conv-winograd-tiles16.c: the Winograd tile transforms on groups of 16
 * tiles, one AVX-512 register each: twice the tiles per instruction of the
 * 8-tile groups. Everything here is compiled for AVX-512F and is only called
 * where the CPU has it. */
#pragma GCC target ("avx512f")

#define TILE_LANES      16
#define TILES_TARGET
#define TILES_FN(name)  name##_16

#include "nn/conv-winograd-tiles.h"
