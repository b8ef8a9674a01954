/* pulmo-edit-actions.c: the window's editing actions (win.*). Options are
 * stateful actions over the edit and view states' properties, so that the tool
 * panel, the header bar and the views' keys stay in step; operations take their
 * millimetre parameters as the action's parameter. */
#include "app/pulmo-edit-actions.h"

#include <glib/gi18n.h>
#include <string.h>

#include "edit/interpolate.h"
#include "edit/islands.h"
#include "edit/morphology.h"

typedef struct {
  GActionMap *map;               /* the window, which these live as long as */
  PulmoEditState *edit;          /* owned references */
  PulmoViewState *view_state;
} EditActions;

static const char *const paint_over_names[] = {
  [PULMO_PAINT_OVER_ALL] = "all",
  [PULMO_PAINT_OVER_BACKGROUND] = "background",
  [PULMO_PAINT_OVER_LUNGS] = "lungs",
  [PULMO_PAINT_OVER_VISIBLE] = "visible",
};

/* Operations by the name their action takes, with the name of their undo step. */
typedef struct {
  const char *name;
  int op;
  const char *step_name;
} Operation;

static const Operation islands_ops[] = {
  { "keep-largest", PULMO_ISLANDS_KEEP_LARGEST, N_("Keep largest island") },
  { "remove-small", PULMO_ISLANDS_REMOVE_SMALL, N_("Remove small islands") },
  { "keep-selected", PULMO_ISLANDS_KEEP_SELECTED, N_("Keep island") },
  { "remove-selected", PULMO_ISLANDS_REMOVE_SELECTED, N_("Remove island") },
};

static const Operation morph_ops[] = {
  { "open", PULMO_MORPH_OPEN, N_("Smooth (opening)") },
  { "close", PULMO_MORPH_CLOSE, N_("Smooth (closing)") },
  { "median", PULMO_MORPH_MEDIAN, N_("Smooth (median)") },
  { "grow", PULMO_MORPH_GROW, N_("Grow") },
  { "shrink", PULMO_MORPH_SHRINK, N_("Shrink") },
};

static const Operation *
find_operation (const Operation *ops, gsize n_ops, const char *name)
{
  for (gsize o = 0; o < n_ops; o++)
    if (strcmp (name, ops[o].name) == 0)
      return &ops[o];
  return NULL;
}

/* Tools ---------------------------------------------------------------------- */

static void
tool_change_state (GSimpleAction *action, GVariant *value, gpointer data)
{
  EditActions *self = data;
  PulmoTool tool;
  if (pulmo_tool_from_name (g_variant_get_string (value, NULL), &tool))
    pulmo_view_state_set_tool (self->view_state, tool);
}

/* Choosing the tool in use again goes back to the crosshair, so that a tool's
 * toggle button and key switch it off as the ruler's did. */
static void
tool_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  EditActions *self = data;
  PulmoTool tool;
  if (!pulmo_tool_from_name (g_variant_get_string (parameter, NULL), &tool))
    return;
  if (tool == pulmo_view_state_get_tool (self->view_state))
    tool = PULMO_TOOL_CROSSHAIR;
  pulmo_view_state_set_tool (self->view_state, tool);
}

/* The action's state follows the property, whoever sets it. */
static void
on_tool (PulmoViewState *state, GParamSpec *pspec, EditActions *self)
{
  GAction *action = g_action_map_lookup_action (self->map, "tool");
  const char *name = pulmo_tool_get_name (pulmo_view_state_get_tool (state));
  g_simple_action_set_state (G_SIMPLE_ACTION (action), g_variant_new_string (name));
}

/* Brush size steps: millimetres for small brushes, five for large ones. The
 * next size down from 15 is 10, from 10 is 9. */
static void
brush_size_step (EditActions *self, int direction)
{
  GParamSpecDouble *pspec = G_PARAM_SPEC_DOUBLE (
    g_object_class_find_property (G_OBJECT_GET_CLASS (self->edit), "brush-size-mm"));
  double size;
  g_object_get (self->edit, "brush-size-mm", &size, NULL);
  double step = (direction > 0 ? size < 10.0 : size <= 10.0) ? 1.0 : 5.0;
  size = CLAMP (size + direction * step, pspec->minimum, pspec->maximum);
  g_object_set (self->edit, "brush-size-mm", size, NULL);
}

static void
brush_size_up_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  brush_size_step (data, +1);
}

static void
brush_size_down_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  brush_size_step (data, -1);
}

static void
paint_over_change_state (GSimpleAction *action, GVariant *value, gpointer data)
{
  EditActions *self = data;
  const char *name = g_variant_get_string (value, NULL);
  for (guint over = 0; over < G_N_ELEMENTS (paint_over_names); over++)
    if (strcmp (name, paint_over_names[over]) == 0)
      g_object_set (self->edit, "paint-over", over, NULL);
}

static void
on_paint_over (PulmoEditState *edit, GParamSpec *pspec, EditActions *self)
{
  PulmoPaintMask mask;
  pulmo_edit_state_get_mask (edit, &mask);
  GAction *action = g_action_map_lookup_action (self->map, "paint-over");
  g_simple_action_set_state (G_SIMPLE_ACTION (action), g_variant_new_string (paint_over_names[mask.over]));
}

/* Operations on the active label ------------------------------------------ */

/* The history and a painter of the active label, or FALSE without labels. */
static PulmoEditHistory *
begin_operation (EditActions *self, PulmoPainter *painter)
{
  PulmoEditHistory *history = pulmo_edit_state_get_history (self->edit);
  if (history == NULL
      || !pulmo_edit_state_make_painter (self->edit, pulmo_edit_state_get_active_label (self->edit), painter))
    return NULL;
  return history;
}

static void
end_operation (EditActions *self, gsize changed)
{
  if (changed > 0)
    pulmo_edit_state_edited (self->edit);
}

static void
islands_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  EditActions *self = data;
  const char *name;
  double min_mm3;
  g_variant_get (parameter, "(&sd)", &name, &min_mm3);
  const Operation *operation = find_operation (islands_ops, G_N_ELEMENTS (islands_ops), name);
  PulmoPainter painter;
  PulmoEditHistory *history = begin_operation (self, &painter);
  if (operation == NULL || history == NULL)
    return;
  /* The selected island is the one under the crosshair: click it first. */
  int seed[3];
  pulmo_view_state_get_cursor (self->view_state, seed);
  gboolean selected = operation->op == PULMO_ISLANDS_KEEP_SELECTED
                      || operation->op == PULMO_ISLANDS_REMOVE_SELECTED;
  if (selected && pulmo_label_map_get (pulmo_edit_history_get_map (history), seed[0], seed[1], seed[2])
                    != painter.value)
    return;
  end_operation (self, pulmo_islands (history, pulmo_view_state_get_volume (self->view_state), painter.value,
                                      operation->op, min_mm3, seed, PULMO_LABEL_BACKGROUND,
                                      _(operation->step_name)));
}

static void
fill_between_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  EditActions *self = data;
  const char *axis_name = g_variant_get_string (parameter, NULL);
  PulmoPainter painter;
  PulmoEditHistory *history = begin_operation (self, &painter);
  if (history == NULL)
    return;
  for (int axis = 0; axis < PULMO_N_VIEWS; axis++)
    if (g_ascii_strcasecmp (axis_name, pulmo_view_axis_name (axis)) == 0)
      {
        PulmoVolume *ct = pulmo_view_state_get_volume (self->view_state);
        PulmoReslice reslice;
        int dims[3];
        pulmo_volume_get_dims (ct, dims);
        pulmo_reslice_init (&reslice, axis, pulmo_volume_get_affine (ct), dims);
        end_operation (self, pulmo_interpolate_slices (history, &painter, &reslice, _("Fill between slices")));
      }
}

static void
morphology_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  EditActions *self = data;
  const char *name;
  double radius_mm;
  g_variant_get (parameter, "(&sd)", &name, &radius_mm);
  const Operation *operation = find_operation (morph_ops, G_N_ELEMENTS (morph_ops), name);
  PulmoPainter painter;
  PulmoEditHistory *history = begin_operation (self, &painter);
  if (operation == NULL || history == NULL || !(radius_mm > 0.0))
    return;
  end_operation (self, pulmo_morphology (history, pulmo_view_state_get_volume (self->view_state), &painter,
                                         operation->op, radius_mm, PULMO_LABEL_BACKGROUND,
                                         _(operation->step_name)));
}

/* Installation ------------------------------------------------------------ */

static const GActionEntry edit_actions[] = {
  { "tool", tool_activated, "s", "'crosshair'", tool_change_state },
  { "brush-size-up", brush_size_up_activated },
  { "brush-size-down", brush_size_down_activated },
  { "paint-over", NULL, "s", "'all'", paint_over_change_state },
  { "islands", islands_activated, "(sd)" },
  { "fill-between", fill_between_activated, "s" },
  { "morphology", morphology_activated, "(sd)" },
};

/* Tools need a CT; operations need labels to work on. */
static void
update_enabled (EditActions *self)
{
  gboolean volume = pulmo_view_state_get_volume (self->view_state) != NULL;
  gboolean history = pulmo_edit_state_get_history (self->edit) != NULL;
  const struct { const char *name; gboolean enabled; } enabled[] = {
    { "tool", volume }, { "islands", history }, { "fill-between", history }, { "morphology", history },
  };
  for (size_t a = 0; a < G_N_ELEMENTS (enabled); a++)
    {
      GAction *action = g_action_map_lookup_action (self->map, enabled[a].name);
      g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled[a].enabled);
    }
}

static void
add_property_action (GActionMap *map, const char *name, gpointer object, const char *property)
{
  g_autoptr (GPropertyAction) action = g_property_action_new (name, object, property);
  g_action_map_add_action (map, G_ACTION (action));
}

/* When the window goes. */
static void
edit_actions_free (gpointer data, GObject *map)
{
  EditActions *self = data;
  g_signal_handlers_disconnect_by_data (self->view_state, self);
  g_signal_handlers_disconnect_by_data (self->edit, self);
  g_object_unref (self->view_state);
  g_object_unref (self->edit);
  g_free (self);
}

void
pulmo_edit_actions_install (GActionMap *map, GtkApplication *app, PulmoEditState *edit)
{
  EditActions *self = g_new0 (EditActions, 1);
  self->map = map;
  self->edit = g_object_ref (edit);
  self->view_state = g_object_ref (pulmo_edit_state_get_view_state (edit));
  g_object_weak_ref (G_OBJECT (map), edit_actions_free, self);

  g_action_map_add_action_entries (map, edit_actions, G_N_ELEMENTS (edit_actions), self);
  add_property_action (map, "hu-mask", edit, "hu-enabled");
  add_property_action (map, "brush-3d", edit, "brush-3d");
  add_property_action (map, "fill-3d", self->view_state, "fill-3d");
  add_property_action (map, "erase-only-active", self->view_state, "erase-only-active");

  g_signal_connect (self->view_state, "notify::tool", G_CALLBACK (on_tool), self);
  g_signal_connect (edit, "notify::paint-over", G_CALLBACK (on_paint_over), self);
  g_signal_connect_swapped (self->view_state, "notify::has-volume", G_CALLBACK (update_enabled), self);
  g_signal_connect_swapped (edit, "notify::history", G_CALLBACK (update_enabled), self);
  on_tool (self->view_state, NULL, self);
  on_paint_over (edit, NULL, self);
  update_enabled (self);
  /* Every shortcut of these is a single key, which lives on the views
   * (pulmo-slice-view.ui) so as not to steal typing from the panels: @app gets none. */
}
