/* app-test-paint.h: a brush stroke in the main window, as the brush tool
 * paints it, for GUI tests that correct labels. */
#pragma once

#include "app/pulmo-window-private.h"
#include "edit/brush.h"

/* A 10 mm stroke of @label across axial slice @k of the CT @window shows. */
static inline void
app_test_paint_stroke (PulmoWindow *window, uint8_t label, int k)
{
  PulmoEditState *edit = window->edit;
  PulmoVolume *ct = pulmo_view_state_get_volume (pulmo_window_get_state (window));
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  PulmoReslice axial;
  pulmo_reslice_init (&axial, PULMO_VIEW_AXIAL, pulmo_volume_get_affine (ct), dims);
  PulmoPainter painter;
  g_assert_true (pulmo_edit_state_make_painter (edit, label, &painter));
  const PulmoBrush brush = { .shape = PULMO_BRUSH_ROUND, .size_mm = 10.0, .three_d = FALSE };
  PulmoStroke *stroke = pulmo_stroke_begin (pulmo_edit_state_get_history (edit), &axial, k, &brush, &painter,
                                            "Paint");
  pulmo_stroke_to (stroke, 60, 100);
  pulmo_stroke_to (stroke, 110, 130);
  g_assert_true (pulmo_stroke_end (stroke));
  pulmo_edit_state_edited (edit);
}
