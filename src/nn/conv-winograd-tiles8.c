/* conv-winograd-tiles8.c: the Winograd tile transforms on groups of 8 tiles
 * for plain x86-64, where the CPU has neither AVX-512F nor AVX2. */
#define TILE_LANES      8
#define TILES_FN(name)  name##_8

#include "nn/conv-winograd-tiles.h"
