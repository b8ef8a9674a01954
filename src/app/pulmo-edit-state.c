#include "app/pulmo-edit-state.h"

struct _PulmoEditState {
  GObject parent_instance;

  PulmoViewState *view_state;
  PulmoEditHistory *history;   /* of view_state's labels; NULL without labels */
  uint8_t active_label;
  PulmoBrush brush;
  PulmoPaintMask mask;
};

G_DEFINE_FINAL_TYPE (PulmoEditState, pulmo_edit_state, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_VIEW_STATE,
  PROP_HISTORY,
  PROP_ACTIVE_LABEL,
  PROP_BRUSH_SHAPE,
  PROP_BRUSH_SIZE_MM,
  PROP_BRUSH_3D,
  PROP_PAINT_OVER,
  PROP_HU_ENABLED,
  PROP_HU_MIN,
  PROP_HU_MAX,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_EDITED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

PulmoEditState *
pulmo_edit_state_new (PulmoViewState *view_state)
{
  g_return_val_if_fail (PULMO_IS_VIEW_STATE (view_state), NULL);
  return g_object_new (PULMO_TYPE_EDIT_STATE, "view-state", view_state, NULL);
}

PulmoViewState *
pulmo_edit_state_get_view_state (PulmoEditState *state)
{
  return state->view_state;
}

/* Another label map (or none) starts another history: the steps of the old
 * one describe voxels that are no longer shown. */
static void
on_labels (PulmoViewState *view_state, GParamSpec *pspec, PulmoEditState *state)
{
  PulmoLabelMap *labels = pulmo_view_state_get_labels (view_state);
  PulmoLabelMap *current = state->history != NULL ? pulmo_edit_history_get_map (state->history) : NULL;
  if (labels == current)
    return;
  g_clear_pointer (&state->history, pulmo_edit_history_free);
  if (labels != NULL)
    state->history = pulmo_edit_history_new (labels, 0);
  g_object_notify_by_pspec (G_OBJECT (state), properties[PROP_HISTORY]);
}

PulmoEditHistory *
pulmo_edit_state_get_history (PulmoEditState *state)
{
  return state->history;
}

void
pulmo_edit_state_edited (PulmoEditState *state)
{
  g_signal_emit (state, signals[SIGNAL_EDITED], 0);
}

uint8_t
pulmo_edit_state_get_active_label (PulmoEditState *state)
{
  return state->active_label;
}

void
pulmo_edit_state_set_active_label (PulmoEditState *state, uint8_t value)
{
  g_object_set (state, "active-label", (guint) value, NULL);
}

void
pulmo_edit_state_get_brush (PulmoEditState *state, PulmoBrush *brush)
{
  *brush = state->brush;
}

void
pulmo_edit_state_get_mask (PulmoEditState *state, PulmoPaintMask *mask)
{
  *mask = state->mask;
}

gboolean
pulmo_edit_state_make_painter (PulmoEditState *state, uint8_t value, PulmoPainter *painter)
{
  PulmoLabelMap *labels = pulmo_view_state_get_labels (state->view_state);
  if (labels == NULL)
    return FALSE;
  pulmo_painter_init (painter, labels, pulmo_view_state_get_volume (state->view_state), &state->mask, value, -1);
  return TRUE;
}

static void
pulmo_edit_state_dispose (GObject *object)
{
  PulmoEditState *state = PULMO_EDIT_STATE (object);
  if (state->view_state != NULL)
    g_signal_handlers_disconnect_by_data (state->view_state, state);
  g_clear_object (&state->view_state);
  g_clear_pointer (&state->history, pulmo_edit_history_free);
  G_OBJECT_CLASS (pulmo_edit_state_parent_class)->dispose (object);
}

static void
pulmo_edit_state_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PulmoEditState *state = PULMO_EDIT_STATE (object);
  switch (prop_id)
    {
    case PROP_VIEW_STATE: g_value_set_object (value, state->view_state); break;
    case PROP_HISTORY: g_value_set_pointer (value, state->history); break;
    case PROP_ACTIVE_LABEL: g_value_set_uint (value, state->active_label); break;
    case PROP_BRUSH_SHAPE: g_value_set_uint (value, state->brush.shape); break;
    case PROP_BRUSH_SIZE_MM: g_value_set_double (value, state->brush.size_mm); break;
    case PROP_BRUSH_3D: g_value_set_boolean (value, state->brush.three_d); break;
    case PROP_PAINT_OVER: g_value_set_uint (value, state->mask.over); break;
    case PROP_HU_ENABLED: g_value_set_boolean (value, state->mask.hu_enabled); break;
    case PROP_HU_MIN: g_value_set_double (value, state->mask.hu_min); break;
    case PROP_HU_MAX: g_value_set_double (value, state->mask.hu_max); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pulmo_edit_state_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  PulmoEditState *state = PULMO_EDIT_STATE (object);
  if (prop_id == PROP_VIEW_STATE)
    {
      state->view_state = g_value_dup_object (value);
      g_signal_connect (state->view_state, "notify::labels", G_CALLBACK (on_labels), state);
      on_labels (state->view_state, NULL, state);
      return;
    }

  /* Notify only on a change, so that two-way bindings to the panel's widgets settle. */
  g_auto (GValue) old = G_VALUE_INIT;
  g_value_init (&old, pspec->value_type);
  pulmo_edit_state_get_property (object, prop_id, &old, pspec);
  if (g_param_values_cmp (pspec, &old, value) == 0)
    return;
  switch (prop_id)
    {
    case PROP_ACTIVE_LABEL: state->active_label = g_value_get_uint (value); break;
    case PROP_BRUSH_SHAPE: state->brush.shape = g_value_get_uint (value); break;
    case PROP_BRUSH_SIZE_MM: state->brush.size_mm = g_value_get_double (value); break;
    case PROP_BRUSH_3D: state->brush.three_d = g_value_get_boolean (value); break;
    case PROP_PAINT_OVER: state->mask.over = g_value_get_uint (value); break;
    case PROP_HU_ENABLED: state->mask.hu_enabled = g_value_get_boolean (value); break;
    case PROP_HU_MIN: state->mask.hu_min = g_value_get_double (value); break;
    case PROP_HU_MAX: state->mask.hu_max = g_value_get_double (value); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      return;
    }
  g_object_notify_by_pspec (object, pspec);
}

static void
pulmo_edit_state_class_init (PulmoEditStateClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = pulmo_edit_state_dispose;
  object_class->get_property = pulmo_edit_state_get_property;
  object_class->set_property = pulmo_edit_state_set_property;

  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  properties[PROP_VIEW_STATE] = g_param_spec_object ("view-state", NULL, NULL, PULMO_TYPE_VIEW_STATE,
                                                     G_PARAM_WRITABLE | G_PARAM_READABLE
                                                       | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HISTORY] = g_param_spec_pointer ("history", NULL, NULL,
                                                   G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY
                                                     | G_PARAM_STATIC_STRINGS);
  /* 0 is background: the eraser paints it, not the active label. */
  properties[PROP_ACTIVE_LABEL] = g_param_spec_uint ("active-label", NULL, NULL, 1, 255,
                                                     PULMO_LABEL_RIGHT_LUNG, rw);
  /* Unsigned like a GtkDropDown's "selected", which the tool panel binds them to. */
  properties[PROP_BRUSH_SHAPE] = g_param_spec_uint ("brush-shape", NULL, NULL, PULMO_BRUSH_ROUND,
                                                    PULMO_BRUSH_SQUARE, PULMO_BRUSH_ROUND, rw);
  properties[PROP_BRUSH_SIZE_MM] = g_param_spec_double ("brush-size-mm", NULL, NULL, 0.5, 100.0, 5.0, rw);
  properties[PROP_BRUSH_3D] = g_param_spec_boolean ("brush-3d", NULL, NULL, FALSE, rw);
  properties[PROP_PAINT_OVER] = g_param_spec_uint ("paint-over", NULL, NULL, PULMO_PAINT_OVER_ALL,
                                                   PULMO_PAINT_OVER_VISIBLE, PULMO_PAINT_OVER_ALL, rw);
  properties[PROP_HU_ENABLED] = g_param_spec_boolean ("hu-enabled", NULL, NULL, FALSE, rw);
  properties[PROP_HU_MIN] = g_param_spec_double ("hu-min", NULL, NULL, -10000.0, 10000.0, -800.0, rw);
  properties[PROP_HU_MAX] = g_param_spec_double ("hu-max", NULL, NULL, -10000.0, 10000.0, -100.0, rw);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_EDITED] = g_signal_new ("edited", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                         NULL, NULL, G_TYPE_NONE, 0);
}

static void
pulmo_edit_state_init (PulmoEditState *state)
{
  state->active_label = PULMO_LABEL_RIGHT_LUNG;
  state->brush = (PulmoBrush) { .shape = PULMO_BRUSH_ROUND, .size_mm = 5.0, .three_d = FALSE };
  pulmo_paint_mask_init (&state->mask);
}
