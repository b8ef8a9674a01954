/* conv-winograd-private.h: what conv-winograd.c shares with the tile
 * transforms of conv-winograd-tiles.h, which are compiled once per vector
 * width: groups of 16 tiles in AVX-512 registers (conv-winograd-tiles16.c)
 * where the CPU has AVX-512F, else groups of 8 (conv-winograd-tiles8.c). */
#pragma once

#include "nn/conv-private.h"
#include "nn/parallel.h"
#include "nn/tensor.h"

#define PULMO_WINOGRAD_POSITIONS 36

/* One layer's forward pass. Tiles are handled in groups of @lanes along a
 * tile row, one tile per lane of a vector. */
typedef struct {
  const PulmoTensor *input;
  PulmoTensor *output;
  const float *u;
  const float *bias;
  gboolean relu;
  int lanes; /* tiles per group: 16 where the CPU has AVX-512F, else 8 */
  int tiles_y, tiles_x, groups_x;
  int n_groups; /* over the whole batch */
  int groups_per_block, n_blocks;
  /* A column is a tile; ld columns (those of a block, or of the layer, plus
   * room for a group's spare lanes). M[ξ][o][column]: row-major, rows of ld
   * floats. V[ξ] (Cin × ld): in column panels of v_panel columns (see
   * gemm-packed.h), Cin × v_panel floats each; with v_panel = ld that is one
   * row-major panel, as cblas_sgemm reads it. Positions are u_stride,
   * v_stride and m_stride apart. */
  gboolean packed; /* products by pulmo_gemm_packed(), not cblas_sgemm */
  size_t ld, v_panel, u_stride, v_stride, m_stride;
  gboolean aligned; /* every group's columns start on a vector boundary, within one panel */
  float *v, *m; /* whole-layer buffers (layer mode) */
  PulmoWorkerScratch scratch; /* per-block buffers (block mode) */
} PulmoWinogradJob;

static inline void
pulmo_winograd_group_position (const PulmoWinogradJob *job, int group, int *n, int *ty, int *tx0,
                               int *n_tiles)
{
  int gx = group % job->groups_x;
  int row = group / job->groups_x;
  *ty = row % job->tiles_y;
  *n = row / job->tiles_y;
  *tx0 = gx * job->lanes;
  *n_tiles = MIN (job->lanes, job->tiles_x - *tx0);
}

/* Column of a group's first tile, counting tiles in (sample, tile row, x) order. */
static inline size_t
pulmo_winograd_group_column (const PulmoWinogradJob *job, int group)
{
  return (size_t) (group / job->groups_x) * job->tiles_x + (size_t) (group % job->groups_x) * job->lanes;
}

/* The 8-tile transforms are compiled for AVX2 and for plain x86-64. GCC
 * resolves the clones where they are defined and wants the attribute there
 * alone; clang resolves them where they are called, through a declaration
 * that carries it. */
#define PULMO_WINOGRAD_TILES8_CLONES PULMO_AVX2_CLONES
#ifdef __clang__
#define PULMO_WINOGRAD_TILES8_DECL PULMO_WINOGRAD_TILES8_CLONES
#else
#define PULMO_WINOGRAD_TILES8_DECL
#endif

/* V for input channels [c0, c1) of groups [g_begin, g_end), columns counted
 * from g_begin's. Groups go in increasing column order: each overwrites the
 * spare lanes its predecessor wrote. */
PULMO_WINOGRAD_TILES8_DECL void pulmo_winograd_input_8 (const PulmoWinogradJob *job, int g_begin, int g_end, int c0, int c1, float *v);
void pulmo_winograd_input_16 (const PulmoWinogradJob *job, int g_begin, int g_end, int c0, int c1, float *v);

/* Output channels [o0, o0 + n_out) of groups [g_begin, g_end) from M, whose
 * first row is output channel o0: Y = Aᵀ m A, plus bias, then ReLU. */
PULMO_WINOGRAD_TILES8_DECL void pulmo_winograd_output_8 (const PulmoWinogradJob *job, int g_begin,
                                                         int g_end, int o0, int n_out,
                                                         const float *m);
void pulmo_winograd_output_16 (const PulmoWinogradJob *job, int g_begin, int g_end, int o0, int n_out,
                               const float *m);
