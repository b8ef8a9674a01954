/* painter.h: where an edit may write, as Slicer's Segment Editor masks it: over
 * everything, background only, inside the lungs only or visible labels only, and
 * optionally only where the CT lies in an HU range. Every tool writes through a
 * painter, a run of voxels at a time. */
#pragma once

#include "core/pulmo-label-map.h"
#include "core/pulmo-volume.h"

G_BEGIN_DECLS

typedef enum {
  PULMO_PAINT_OVER_ALL,         /* any voxel */
  PULMO_PAINT_OVER_BACKGROUND,  /* voxels labelled 0 */
  PULMO_PAINT_OVER_LUNGS,       /* voxels inside a lung: its parenchyma or a lesion (1–4, 6, 7) */
  PULMO_PAINT_OVER_VISIBLE,     /* voxels whose label is shown (background is never "visible") */
} PulmoPaintOver;

typedef struct {
  PulmoPaintOver over;
  gboolean hu_enabled;   /* paint only where hu_min <= CT value <= hu_max */
  double hu_min, hu_max;
} PulmoPaintMask;

/* Over everything, HU range off, set to −800…−100 (ground glass). */
void pulmo_paint_mask_init (PulmoPaintMask *mask);

/* A mask resolved for one edit: the value written, which current labels it may
 * replace, and the HU limits in the CT's stored type. Cheap to make; make one per edit. */
typedef struct {
  uint8_t *labels;
  const int16_t *ct_int16;   /* exactly one of these two is set */
  const float *ct_float;
  int dims[3];
  uint8_t value;
  uint8_t replace[256];      /* non-zero: a voxel holding this label may be changed */
  gboolean hu_enabled;
  int16_t hu_min_int16, hu_max_int16;
  float hu_min_float, hu_max_float;
} PulmoPainter;

/* Writes @value. With @only_label >= 0 only voxels holding it may change (an
 * eraser of one label); the mask applies on top. The labels must lie on @ct's grid. */
void pulmo_painter_init (PulmoPainter *painter, PulmoLabelMap *map, PulmoVolume *ct,
                         const PulmoPaintMask *mask, uint8_t value, int only_label);
/* Whether voxel @index (linear, storage order) may take the painter's value. */
gboolean pulmo_painter_allows (const PulmoPainter *painter, gint64 index);
/* Paints @n voxels from linear index @start, @step apart; returns how many changed. */
gsize pulmo_painter_run (const PulmoPainter *painter, gint64 start, gint64 step, int n);

G_END_DECLS
