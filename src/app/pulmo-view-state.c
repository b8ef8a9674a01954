#include "app/pulmo-view-state.h"

#include <glib/gi18n.h>
#include <string.h>

#include "render/window-level.h"

struct _PulmoViewState {
  GObject parent_instance;

  PulmoVolume *volume;
  char *display_name;
  PulmoLabelMap *labels;
  int cursor[3];
  double window, level;
  gboolean overlay_visible, overlay_outline;
  double overlay_opacity;
  gboolean smooth;              /* grey image scaled bilinearly, not as voxel blocks */
  PulmoTool tool;
  gboolean fill_3d, erase_only_active;
  PulmoSlabMode slab_mode;
  double slab_mm;
  double cine_fps;              /* slices a second while a view plays */
};

G_DEFINE_FINAL_TYPE (PulmoViewState, pulmo_view_state, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_HAS_VOLUME,
  PROP_LABELS,
  PROP_WINDOW,
  PROP_LEVEL,
  PROP_OVERLAY_VISIBLE,
  PROP_OVERLAY_OPACITY,
  PROP_OVERLAY_OUTLINE,
  PROP_SMOOTH,
  PROP_TOOL,
  PROP_FILL_3D,
  PROP_ERASE_ONLY_ACTIVE,
  PROP_SLAB_MODE,
  PROP_SLAB_MM,
  PROP_CINE_FPS,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_VOLUME_CHANGED,   /* a new volume (or none): views reset zoom and pan */
  SIGNAL_CURSOR_CHANGED,
  SIGNAL_DISPLAY_CHANGED,  /* anything that changes rendered pixels */
  SIGNAL_HOVER,            /* (gpointer ijk or NULL) */
  SIGNAL_LABELS_CHANGED,   /* (gpointer PulmoBox): voxels of the labels changed */
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static const char *const tool_names[PULMO_N_TOOLS] = {
  [PULMO_TOOL_CROSSHAIR] = "crosshair",
  [PULMO_TOOL_RULER] = "ruler",
  [PULMO_TOOL_BRUSH] = "brush",
  [PULMO_TOOL_ERASER] = "eraser",
  [PULMO_TOOL_FILL] = "fill",
  [PULMO_TOOL_POLYGON] = "polygon",
  [PULMO_TOOL_LASSO] = "lasso",
};

const char *
pulmo_tool_get_name (PulmoTool tool)
{
  g_return_val_if_fail (tool < PULMO_N_TOOLS, NULL);
  return tool_names[tool];
}

gboolean
pulmo_tool_from_name (const char *name, PulmoTool *tool)
{
  for (int t = 0; t < PULMO_N_TOOLS; t++)
    if (g_strcmp0 (name, tool_names[t]) == 0)
      {
        *tool = t;
        return TRUE;
      }
  return FALSE;
}

PulmoViewState *
pulmo_view_state_new (void)
{
  return g_object_new (PULMO_TYPE_VIEW_STATE, NULL);
}

static void
display_changed (PulmoViewState *state)
{
  g_signal_emit (state, signals[SIGNAL_DISPLAY_CHANGED], 0);
}

static void
labels_changed (PulmoLabelMap *labels, const PulmoBox *box, PulmoViewState *state)
{
  g_signal_emit (state, signals[SIGNAL_LABELS_CHANGED], 0, box);
}

void
pulmo_view_state_set_volume (PulmoViewState *state, PulmoVolume *volume, const char *display_name)
{
  g_return_if_fail (PULMO_IS_VIEW_STATE (state));

  if (state->labels != NULL)
    g_signal_handlers_disconnect_by_data (state->labels, state);
  g_clear_object (&state->labels);
  g_clear_pointer (&state->volume, pulmo_volume_unref);
  g_clear_pointer (&state->display_name, g_free);
  if (volume != NULL)
    {
      state->volume = pulmo_volume_ref (volume);
      state->display_name = g_strdup (display_name);
      int dims[3];
      pulmo_volume_get_dims (volume, dims);
      for (int a = 0; a < 3; a++)
        state->cursor[a] = dims[a] / 2;
      double window, level;
      pulmo_window_default (volume, &window, &level);
      state->window = window;
      state->level = level;
    }
  g_object_freeze_notify (G_OBJECT (state));
  g_object_notify_by_pspec (G_OBJECT (state), properties[PROP_HAS_VOLUME]);
  g_object_notify_by_pspec (G_OBJECT (state), properties[PROP_LABELS]);
  g_object_notify_by_pspec (G_OBJECT (state), properties[PROP_WINDOW]);
  g_object_notify_by_pspec (G_OBJECT (state), properties[PROP_LEVEL]);
  g_object_thaw_notify (G_OBJECT (state));
  g_signal_emit (state, signals[SIGNAL_VOLUME_CHANGED], 0);
  g_signal_emit (state, signals[SIGNAL_CURSOR_CHANGED], 0);
  display_changed (state);
}

PulmoVolume *
pulmo_view_state_get_volume (PulmoViewState *state)
{
  return state->volume;
}

const char *
pulmo_view_state_get_display_name (PulmoViewState *state)
{
  return state->display_name;
}

char *
pulmo_view_state_describe_voxel (PulmoViewState *state, const int ijk[3])
{
  PulmoVolume *volume = pulmo_view_state_get_volume (state);
  if (volume == NULL)
    return NULL;
  double voxel[3] = { ijk[0], ijk[1], ijk[2] }, world[3];
  pulmo_affine_apply (pulmo_volume_get_affine (volume), voxel, world);
  double value = pulmo_volume_get_value (volume, ijk[0], ijk[1], ijk[2]);

  GString *text = g_string_new (NULL);
  switch (pulmo_volume_get_intensity_kind (volume))
    {
    case PULMO_INTENSITY_HU:
      /* Translators: the CT value under the pointer in Hounsfield units, e.g. "-962 HU". */
      g_string_append_printf (text, _("%.0f HU"), value);
      break;
    case PULMO_INTENSITY_PREWINDOWED_8BIT:
    case PULMO_INTENSITY_UNKNOWN:
    default:
      /* Translators: the image value under the pointer when it is not in Hounsfield units. */
      g_string_append_printf (text, _("value %.6g"), value);
      break;
    }
  /* The status line's parts stand apart by four spaces. */
  g_string_append (text, "    ");
  /* Translators: the voxel under the pointer, by its indices in the file's storage order. */
  g_string_append_printf (text, _("voxel [%d, %d, %d]"), ijk[0], ijk[1], ijk[2]);
  g_string_append (text, "    ");
  /* Translators: the point under the pointer in patient coordinates, in millimetres: RAS means
   * x toward the patient's Right, y Anterior, z Superior, as in NIfTI. */
  g_string_append_printf (text, _("RAS (%.1f, %.1f, %.1f) mm"), world[0], world[1], world[2]);
  PulmoLabelMap *labels = pulmo_view_state_get_labels (state);
  if (labels != NULL)
    {
      uint8_t label = pulmo_label_map_get (labels, ijk[0], ijk[1], ijk[2]);
      const PulmoLabel *entry = pulmo_label_table_get (pulmo_label_map_get_table (labels), label);
      g_string_append (text, "    ");
      /* Translators: the label value under the pointer, then its name from the label map
       * (which may be empty), e.g. "label 1 Right lung". */
      g_string_append_printf (text, _("label %u %s"), label, entry->defined ? entry->name : "");
    }
  return g_string_free (text, FALSE);
}

char *
pulmo_view_state_dup_base_name (PulmoViewState *state)
{
  return pulmo_display_base_name (pulmo_view_state_get_display_name (state));
}

char *
pulmo_display_base_name (const char *display_name)
{
  char *base = g_path_get_basename (display_name);
  char *dot = strchr (base, '.');
  if (dot != NULL && dot != base)
    *dot = '\0';
  return base;
}

void
pulmo_view_state_set_labels (PulmoViewState *state, PulmoLabelMap *labels)
{
  g_return_if_fail (labels == NULL || pulmo_label_map_get_volume (labels) == state->volume);
  if (state->labels == labels)
    return;
  if (state->labels != NULL)
    g_signal_handlers_disconnect_by_data (state->labels, state);
  if (g_set_object (&state->labels, labels))
    {
      /* Edits (brush, model output) and new names or colours redraw the views. */
      if (labels != NULL)
        {
          g_signal_connect (labels, "changed", G_CALLBACK (labels_changed), state);
          g_signal_connect_swapped (labels, "table-changed", G_CALLBACK (display_changed), state);
          state->overlay_visible = TRUE;
        }
      g_object_notify_by_pspec (G_OBJECT (state), properties[PROP_LABELS]);
      g_object_notify_by_pspec (G_OBJECT (state), properties[PROP_OVERLAY_VISIBLE]);
      display_changed (state);
    }
}

PulmoLabelMap *
pulmo_view_state_get_labels (PulmoViewState *state)
{
  return state->labels;
}

void
pulmo_view_state_overlay_changed (PulmoViewState *state)
{
  display_changed (state);
}

void
pulmo_view_state_set_cursor (PulmoViewState *state, const int ijk[3])
{
  if (state->volume == NULL)
    return;
  int dims[3], clamped[3];
  pulmo_volume_get_dims (state->volume, dims);
  for (int a = 0; a < 3; a++)
    clamped[a] = CLAMP (ijk[a], 0, dims[a] - 1);
  if (memcmp (clamped, state->cursor, sizeof clamped) == 0)
    return;
  memcpy (state->cursor, clamped, sizeof clamped);
  g_signal_emit (state, signals[SIGNAL_CURSOR_CHANGED], 0);
}

void
pulmo_view_state_get_cursor (PulmoViewState *state, int ijk[3])
{
  memcpy (ijk, state->cursor, sizeof state->cursor);
}

void
pulmo_view_state_set_window (PulmoViewState *state, double window, double level)
{
  window = CLAMP (window, 1.0, 100000.0);
  level = CLAMP (level, -100000.0, 100000.0);
  if (window == state->window && level == state->level)
    return;
  g_object_freeze_notify (G_OBJECT (state));
  if (window != state->window)
    {
      state->window = window;
      g_object_notify_by_pspec (G_OBJECT (state), properties[PROP_WINDOW]);
    }
  if (level != state->level)
    {
      state->level = level;
      g_object_notify_by_pspec (G_OBJECT (state), properties[PROP_LEVEL]);
    }
  g_object_thaw_notify (G_OBJECT (state));
  display_changed (state);
}

double
pulmo_view_state_get_window (PulmoViewState *state)
{
  return state->window;
}

double
pulmo_view_state_get_level (PulmoViewState *state)
{
  return state->level;
}

void
pulmo_view_state_get_render_params (PulmoViewState *state, PulmoRenderParams *params)
{
  gboolean overlay = state->labels != NULL && state->overlay_visible;
  *params = (PulmoRenderParams) {
    .window = state->window,
    .level = state->level,
    .labels = overlay ? pulmo_label_map_get_data (state->labels) : NULL,
    .table = state->labels != NULL ? pulmo_label_map_get_table (state->labels) : NULL,
    .opacity = state->overlay_opacity,
    .overlay_mode = state->overlay_outline ? PULMO_OVERLAY_OUTLINE : PULMO_OVERLAY_FILL,
    .slab_mode = state->slab_mode,
    .slab_mm = state->slab_mm,
  };
}

PulmoSlabMode
pulmo_view_state_get_slab_mode (PulmoViewState *state)
{
  return state->slab_mode;
}

double
pulmo_view_state_get_slab_mm (PulmoViewState *state)
{
  return state->slab_mm;
}

double
pulmo_view_state_get_cine_fps (PulmoViewState *state)
{
  return state->cine_fps;
}

gboolean
pulmo_view_state_get_smooth (PulmoViewState *state)
{
  return state->smooth;
}

PulmoTool
pulmo_view_state_get_tool (PulmoViewState *state)
{
  return state->tool;
}

void
pulmo_view_state_set_tool (PulmoViewState *state, PulmoTool tool)
{
  g_return_if_fail (tool < PULMO_N_TOOLS);
  if (state->tool == tool)
    return;
  state->tool = tool;
  g_object_notify_by_pspec (G_OBJECT (state), properties[PROP_TOOL]);
}

gboolean
pulmo_view_state_get_fill_3d (PulmoViewState *state)
{
  return state->fill_3d;
}

gboolean
pulmo_view_state_get_erase_only_active (PulmoViewState *state)
{
  return state->erase_only_active;
}

void
pulmo_view_state_hover (PulmoViewState *state, const int *ijk)
{
  g_signal_emit (state, signals[SIGNAL_HOVER], 0, ijk);
}

static void
pulmo_view_state_finalize (GObject *object)
{
  PulmoViewState *state = PULMO_VIEW_STATE (object);
  if (state->labels != NULL)
    g_signal_handlers_disconnect_by_data (state->labels, state);
  g_clear_object (&state->labels);
  g_clear_pointer (&state->volume, pulmo_volume_unref);
  g_free (state->display_name);
  G_OBJECT_CLASS (pulmo_view_state_parent_class)->finalize (object);
}

static void
pulmo_view_state_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PulmoViewState *state = PULMO_VIEW_STATE (object);
  switch (prop_id)
    {
    case PROP_HAS_VOLUME: g_value_set_boolean (value, state->volume != NULL); break;
    case PROP_LABELS: g_value_set_object (value, state->labels); break;
    case PROP_WINDOW: g_value_set_double (value, state->window); break;
    case PROP_LEVEL: g_value_set_double (value, state->level); break;
    case PROP_OVERLAY_VISIBLE: g_value_set_boolean (value, state->overlay_visible); break;
    case PROP_OVERLAY_OPACITY: g_value_set_double (value, state->overlay_opacity); break;
    case PROP_OVERLAY_OUTLINE: g_value_set_boolean (value, state->overlay_outline); break;
    case PROP_SMOOTH: g_value_set_boolean (value, state->smooth); break;
    case PROP_TOOL: g_value_set_int (value, state->tool); break;
    case PROP_FILL_3D: g_value_set_boolean (value, state->fill_3d); break;
    case PROP_ERASE_ONLY_ACTIVE: g_value_set_boolean (value, state->erase_only_active); break;
    case PROP_SLAB_MODE: g_value_set_int (value, state->slab_mode); break;
    case PROP_SLAB_MM: g_value_set_double (value, state->slab_mm); break;
    case PROP_CINE_FPS: g_value_set_double (value, state->cine_fps); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pulmo_view_state_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  PulmoViewState *state = PULMO_VIEW_STATE (object);
  switch (prop_id)
    {
    case PROP_LABELS:
      pulmo_view_state_set_labels (state, g_value_get_object (value));
      return;
    case PROP_WINDOW:
      pulmo_view_state_set_window (state, g_value_get_double (value), state->level);
      return;
    case PROP_LEVEL:
      pulmo_view_state_set_window (state, state->window, g_value_get_double (value));
      return;
    case PROP_OVERLAY_VISIBLE:
      state->overlay_visible = g_value_get_boolean (value);
      break;
    case PROP_OVERLAY_OPACITY:
      state->overlay_opacity = g_value_get_double (value);
      break;
    case PROP_OVERLAY_OUTLINE:
      state->overlay_outline = g_value_get_boolean (value);
      break;
    case PROP_SMOOTH:
      state->smooth = g_value_get_boolean (value);
      break;
    case PROP_TOOL:
      pulmo_view_state_set_tool (state, g_value_get_int (value));
      return;
    case PROP_SLAB_MODE:
      if (state->slab_mode == (PulmoSlabMode) g_value_get_int (value))
        return;
      state->slab_mode = g_value_get_int (value);
      break;
    case PROP_SLAB_MM:
      if (state->slab_mm == g_value_get_double (value))
        return;
      state->slab_mm = g_value_get_double (value);
      /* A thin slice does not change with the slab's thickness. */
      if (state->slab_mode == PULMO_SLAB_NONE)
        {
          g_object_notify_by_pspec (object, pspec);
          return;
        }
      break;
    case PROP_CINE_FPS:
      if (state->cine_fps != g_value_get_double (value))
        {
          state->cine_fps = g_value_get_double (value);
          g_object_notify_by_pspec (object, pspec);
        }
      return;
    /* Tool options change no pixels. */
    case PROP_FILL_3D:
      if (state->fill_3d != g_value_get_boolean (value))
        {
          state->fill_3d = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      return;
    case PROP_ERASE_ONLY_ACTIVE:
      if (state->erase_only_active != g_value_get_boolean (value))
        {
          state->erase_only_active = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      return;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      return;
    }
  g_object_notify_by_pspec (object, pspec);
  display_changed (state);
}

static void
pulmo_view_state_class_init (PulmoViewStateClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->finalize = pulmo_view_state_finalize;
  object_class->get_property = pulmo_view_state_get_property;
  object_class->set_property = pulmo_view_state_set_property;

  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  properties[PROP_HAS_VOLUME] = g_param_spec_boolean ("has-volume", NULL, NULL, FALSE,
                                                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_LABELS] = g_param_spec_object ("labels", NULL, NULL, PULMO_TYPE_LABEL_MAP, rw);
  properties[PROP_WINDOW] = g_param_spec_double ("window", NULL, NULL, 1.0, 100000.0, 1500.0, rw);
  properties[PROP_LEVEL] = g_param_spec_double ("level", NULL, NULL, -100000.0, 100000.0, -600.0, rw);
  properties[PROP_OVERLAY_VISIBLE] = g_param_spec_boolean ("overlay-visible", NULL, NULL, TRUE, rw);
  properties[PROP_OVERLAY_OPACITY] = g_param_spec_double ("overlay-opacity", NULL, NULL, 0.0, 1.0, 0.5, rw);
  properties[PROP_OVERLAY_OUTLINE] = g_param_spec_boolean ("overlay-outline", NULL, NULL, FALSE, rw);
  properties[PROP_SMOOTH] = g_param_spec_boolean ("smooth", NULL, NULL, FALSE, rw);
  properties[PROP_TOOL] = g_param_spec_int ("tool", NULL, NULL, PULMO_TOOL_CROSSHAIR, PULMO_N_TOOLS - 1,
                                            PULMO_TOOL_CROSSHAIR, rw);
  properties[PROP_FILL_3D] = g_param_spec_boolean ("fill-3d", NULL, NULL, FALSE, rw);
  properties[PROP_ERASE_ONLY_ACTIVE] = g_param_spec_boolean ("erase-only-active", NULL, NULL, FALSE, rw);
  properties[PROP_SLAB_MODE] = g_param_spec_int ("slab-mode", NULL, NULL, PULMO_SLAB_NONE, PULMO_N_SLAB_MODES - 1,
                                                 PULMO_SLAB_NONE, rw);
  properties[PROP_SLAB_MM] = g_param_spec_double ("slab-mm", NULL, NULL, 1.0, PULMO_SLAB_MAX_MM, 10.0, rw);
  properties[PROP_CINE_FPS] = g_param_spec_double ("cine-fps", NULL, NULL, 1.0, 30.0, 8.0, rw);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_VOLUME_CHANGED] = g_signal_new ("volume-changed", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 0);
  signals[SIGNAL_CURSOR_CHANGED] = g_signal_new ("cursor-changed", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 0);
  signals[SIGNAL_DISPLAY_CHANGED] = g_signal_new ("display-changed", G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                  G_TYPE_NONE, 0);
  signals[SIGNAL_LABELS_CHANGED] = g_signal_new ("labels-changed", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_HOVER] = g_signal_new ("hover", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
pulmo_view_state_init (PulmoViewState *state)
{
  state->window = 1500.0;
  state->level = -600.0;
  state->overlay_visible = TRUE;
  state->overlay_opacity = 0.5;
  state->slab_mm = 10.0;
  state->cine_fps = 8.0;
}
