/* brush.h: the paintbrush and eraser. A stroke on one view paints every voxel
 * the brush sweeps between successive pointer positions, so fast drags leave no gaps. */
#pragma once

#include "core/geometry.h"
#include "edit/edit-history.h"
#include "edit/painter.h"

G_BEGIN_DECLS

typedef enum {
  PULMO_BRUSH_ROUND,   /* disc, or sphere in 3D */
  PULMO_BRUSH_SQUARE,  /* square, or cube in 3D */
} PulmoBrushShape;

typedef struct {
  PulmoBrushShape shape;
  double size_mm;      /* diameter of the disc or sphere, side of the square or cube */
  gboolean three_d;    /* across slices too, by the slice spacing */
} PulmoBrush;

/* Half the brush's extent along the view's u, v and slice axes, in display
 * voxels (fractional): what the view draws as the outline under the pointer. */
void pulmo_brush_half_extent (const PulmoBrush *brush, const PulmoReslice *reslice, double *half_u,
                              double *half_v, double *half_slices);

typedef struct _PulmoStroke PulmoStroke;

/* Opens an edit in @history named @name and returns the stroke; @painter
 * is copied. Painting happens on @slice of @reslice's view. */
PulmoStroke *pulmo_stroke_begin (PulmoEditHistory *history, const PulmoReslice *reslice, int slice,
                                 const PulmoBrush *brush, const PulmoPainter *painter, const char *name);
/* Paints at display point (@u, @v) (voxel units, voxel centres at integers) and
 * along the segment from the previous point; emits the map's change for the box painted. */
void pulmo_stroke_to (PulmoStroke *stroke, double u, double v);
/* Ends the edit and frees the stroke; TRUE when it recorded an undo step. */
gboolean pulmo_stroke_end (PulmoStroke *stroke);

G_END_DECLS
