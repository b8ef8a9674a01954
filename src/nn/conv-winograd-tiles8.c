/* conv-winograd-tiles8.c: the Winograd tile transforms on groups of 8 tiles,
 * for CPUs without AVX-512F: compiled for AVX2 and for plain x86-64, chosen
 * at load time. */
#define TILE_LANES      8
#define TILES_TARGET    PULMO_WINOGRAD_TILES8_CLONES
#define TILES_FN(name)  name##_8

#include "nn/conv-winograd-tiles.h"
