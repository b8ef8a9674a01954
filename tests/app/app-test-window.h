/* app-test-window.h: the main window in GUI tests: the default settings it
 * starts from, waiting for it to load or segment (with app_test_wait_for), and
 * a brush stroke as the brush tool paints it. */
#pragma once

#include "app/pulmo-preferences.h"
#include "app/pulmo-window-private.h"
#include "edit/brush.h"

/* Puts every setting back to its default, whatever an earlier test saved:
 * GSETTINGS_BACKEND=memory keeps them for the whole test program. */
static inline void
app_test_reset_preferences (void)
{
  GSettings *settings = pulmo_preferences_get_settings ();
  g_autoptr (GSettingsSchema) schema = NULL;
  g_object_get (settings, "settings-schema", &schema, NULL);
  g_auto (GStrv) keys = g_settings_schema_list_keys (schema);
  for (char **key = keys; *key != NULL; key++)
    g_settings_reset (settings, *key);
}

static inline gboolean
app_test_window_loaded (gpointer window)
{
  return !pulmo_window_is_loading (window);
}

static inline gboolean
app_test_window_segmented (gpointer window)
{
  return !pulmo_window_is_segmenting (window);
}

/* A 10 mm round stroke of @label across axial slice @k of the CT @window
 * shows, from view pixel (@u0, @v0) to (@u1, @v1), through the window's edit
 * state as the brush tool paints it. */
static inline void
app_test_paint_stroke (PulmoWindow *window, uint8_t label, int k, double u0, double v0, double u1, double v1)
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
  pulmo_stroke_to (stroke, u0, v0);
  pulmo_stroke_to (stroke, u1, v1);
  g_assert_true (pulmo_stroke_end (stroke));
  pulmo_edit_state_edited (edit);
}
