/* pulmo-window-3d.c: the 3D view beside the three slice views. Action
 * "show-3d" (the layout's toggle) follows GSettings key "show-3d" when the
 * schema is there, so that the choice outlives the window. */
#include "app/pulmo-window-private.h"

#include "app/pulmo-preferences.h"

static void
show_3d_changed (GAction *action, GParamSpec *pspec, PulmoWindow *self)
{
  _pulmo_window_set_layout (self, self->layout);
}

gboolean
_pulmo_window_shows_3d (PulmoWindow *self)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), "show-3d");
  g_autoptr (GVariant) state = action != NULL ? g_action_get_state (action) : NULL;
  return state != NULL && g_variant_get_boolean (state);
}

void
_pulmo_window_init_3d (PulmoWindow *self)
{
  pulmo_3d_view_set_state (self->view_3d, self->state);
  GSettings *settings = pulmo_preferences_get_settings ();
  g_autoptr (GAction) action = settings != NULL ? g_settings_create_action (settings, "show-3d")
                                                : G_ACTION (g_simple_action_new_stateful ("show-3d", NULL,
                                                                                          g_variant_new_boolean (FALSE)));
  g_signal_connect (action, "notify::state", G_CALLBACK (show_3d_changed), self);
  g_action_map_add_action (G_ACTION_MAP (self), action);
  _pulmo_window_set_layout (self, self->layout);
}
