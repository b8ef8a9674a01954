#include "app/pulmo-3d-view.h"

#include <glib/gi18n.h>
#include <math.h>

/* Labels settle this long after the last edit before their grids are rebuilt,
 * and the camera this long after the last move before the still frame is drawn. */
enum { REBUILD_DELAY_MS = 250, STILL_DELAY_MS = 120 };

struct _Pulmo3dView {
  GtkWidget parent_instance;
  PulmoViewState *state;
  PulmoCamera3D camera;
  PulmoVolumeGrid *quick_grid, *still_grid;  /* rotating and still quality */
  guint64 generation;                        /* bumped by every change to what is drawn */
  cairo_surface_t *still;
  guint64 still_generation;
  GCancellable *grid_cancellable, *still_cancellable;
  guint rebuild_timeout, still_timeout;
  gboolean grids_current;                    /* no label change since the grids' copy */
  int builds_running;                        /* workers building grids, cancelled ones too */
  char *grid_error;
  double drag_yaw, drag_pitch;
  gboolean dragged;
};

G_DEFINE_FINAL_TYPE (Pulmo3dView, pulmo_3d_view, GTK_TYPE_WIDGET)

static void schedule_still (Pulmo3dView *self);

static void
changed (Pulmo3dView *self)
{
  self->generation++;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  schedule_still (self);
}

/* Grids: built in a worker from a copy of the labels --------------------- */

typedef struct {
  GBytes *labels;
  int dims[3];
  PulmoAffine affine;
  PulmoVolumeGrid *quick, *still;
} GridJob;

static void
grid_job_free (GridJob *job)
{
  g_bytes_unref (job->labels);
  g_clear_pointer (&job->quick, pulmo_volume_grid_unref);
  g_clear_pointer (&job->still, pulmo_volume_grid_unref);
  g_free (job);
}

static void
build_grids (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GridJob *job = data;
  GError *error = NULL;
  const uint8_t *labels = g_bytes_get_data (job->labels, NULL);
  job->quick = pulmo_volume_grid_new (labels, job->dims, &job->affine, PULMO_VOLUME_INTERACTIVE_GRID, &error);
  if (job->quick != NULL)
    job->still = pulmo_volume_grid_new (labels, job->dims, &job->affine, PULMO_VOLUME_STILL_GRID, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
grids_built (GObject *source, GAsyncResult *result, gpointer data)
{
  Pulmo3dView *self = PULMO_3D_VIEW (source);
  GridJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  self->builds_running--;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;  /* a newer build replaced this one */
      g_free (self->grid_error);
      self->grid_error = g_strdup (error->message);
    }
  g_clear_pointer (&self->quick_grid, pulmo_volume_grid_unref);
  g_clear_pointer (&self->still_grid, pulmo_volume_grid_unref);
  self->quick_grid = g_steal_pointer (&job->quick);
  self->still_grid = g_steal_pointer (&job->still);
  changed (self);
}

static gboolean
rebuild (gpointer data)
{
  Pulmo3dView *self = data;
  self->rebuild_timeout = 0;
  g_cancellable_cancel (self->grid_cancellable);
  g_clear_object (&self->grid_cancellable);
  g_clear_pointer (&self->grid_error, g_free);
  PulmoLabelMap *labels = self->state != NULL ? pulmo_view_state_get_labels (self->state) : NULL;
  self->grids_current = TRUE;
  if (labels == NULL)
    {
      g_clear_pointer (&self->quick_grid, pulmo_volume_grid_unref);
      g_clear_pointer (&self->still_grid, pulmo_volume_grid_unref);
      changed (self);
      return G_SOURCE_REMOVE;
    }
  PulmoVolume *volume = pulmo_label_map_get_volume (labels);
  GridJob *job = g_new0 (GridJob, 1);
  pulmo_volume_get_dims (volume, job->dims);
  job->affine = *pulmo_volume_get_affine (volume);
  /* The map changes on the main thread only: the worker reads its own copy. */
  job->labels = g_bytes_new (pulmo_label_map_get_data (labels), pulmo_volume_get_n_voxels (volume));
  self->grid_cancellable = g_cancellable_new ();
  self->builds_running++;
  GTask *task = g_task_new (self, self->grid_cancellable, grids_built, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) grid_job_free);
  g_task_run_in_thread (task, build_grids);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

/* Hidden, the view costs nothing: its grids wait until it is shown. */
static void
schedule_rebuild (Pulmo3dView *self, guint delay_ms)
{
  self->grids_current = FALSE;
  g_clear_handle_id (&self->rebuild_timeout, g_source_remove);
  if (!gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;
  self->rebuild_timeout = g_timeout_add (delay_ms, rebuild, self);
}

/* The still frame: full size, fine grid, in a worker ------------------------ */

typedef struct {
  PulmoVolumeGrid *grid;
  PulmoLabelTable *table;
  PulmoCamera3D camera;
  guint64 generation;
  cairo_surface_t *image;
} StillJob;

static void
still_job_free (StillJob *job)
{
  pulmo_volume_grid_unref (job->grid);
  pulmo_label_table_free (job->table);
  g_clear_pointer (&job->image, cairo_surface_destroy);
  g_free (job);
}

static cairo_surface_t *
render_image (const PulmoVolumeGrid *grid, const PulmoLabelTable *table, const PulmoCamera3D *camera)
{
  cairo_surface_t *image = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, camera->width, camera->height);
  cairo_surface_flush (image);
  pulmo_volume_render (grid, table, camera, (uint32_t *) cairo_image_surface_get_data (image),
                       cairo_image_surface_get_stride (image));
  cairo_surface_mark_dirty (image);
  return image;
}

static void
render_still (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  StillJob *job = data;
  job->image = render_image (job->grid, job->table, &job->camera);
  g_task_return_boolean (task, TRUE);
}

static void
still_rendered (GObject *source, GAsyncResult *result, gpointer data)
{
  Pulmo3dView *self = PULMO_3D_VIEW (source);
  StillJob *job = g_task_get_task_data (G_TASK (result));
  if (!g_task_propagate_boolean (G_TASK (result), NULL) || job->generation != self->generation)
    return;
  g_clear_pointer (&self->still, cairo_surface_destroy);
  self->still = g_steal_pointer (&job->image);
  self->still_generation = job->generation;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
start_still (gpointer data)
{
  Pulmo3dView *self = data;
  self->still_timeout = 0;
  PulmoLabelMap *labels = self->state != NULL ? pulmo_view_state_get_labels (self->state) : NULL;
  if (self->still_grid == NULL || labels == NULL)
    return G_SOURCE_REMOVE;
  g_cancellable_cancel (self->still_cancellable);
  g_clear_object (&self->still_cancellable);
  StillJob *job = g_new0 (StillJob, 1);
  job->grid = pulmo_volume_grid_ref (self->still_grid);
  job->table = pulmo_label_table_copy (pulmo_label_map_get_table (labels));
  job->camera = self->camera;
  job->generation = self->generation;
  self->still_cancellable = g_cancellable_new ();
  GTask *task = g_task_new (self, self->still_cancellable, still_rendered, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) still_job_free);
  g_task_run_in_thread (task, render_still);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static void
schedule_still (Pulmo3dView *self)
{
  g_clear_handle_id (&self->still_timeout, g_source_remove);
  self->still_timeout = g_timeout_add (STILL_DELAY_MS, start_still, self);
}

/* Drawing ----------------------------------------------------------------- */

/* Where the patient's six directions point, around a corner of the view. */
static void
draw_orientation (Pulmo3dView *self, cairo_t *cr, PangoLayout *layout, double height)
{
  static const struct { const char *letter; double direction[3]; } axes[] = {
    { "R", { 1, 0, 0 } }, { "L", { -1, 0, 0 } }, { "A", { 0, 1, 0 } },
    { "P", { 0, -1, 0 } }, { "S", { 0, 0, 1 } }, { "I", { 0, 0, -1 } },
  };
  double cx = 44, cy = height - 44;
  for (size_t a = 0; a < G_N_ELEMENTS (axes); a++)
    {
      double x, y;
      pulmo_camera_3d_project_direction (&self->camera, axes[a].direction, &x, &y);
      /* A direction toward or away from the eye has no place on screen. */
      if (hypot (x, y) < 0.5)
        continue;
      cairo_set_source_rgba (cr, 1, 1, 1, 0.6);
      cairo_set_line_width (cr, 1.5);
      cairo_move_to (cr, cx, cy);
      cairo_line_to (cr, cx + 22 * x, cy + 22 * y);
      cairo_stroke (cr);
      int width, text_height;
      pango_layout_set_text (layout, axes[a].letter, -1);
      pango_layout_get_pixel_size (layout, &width, &text_height);
      cairo_set_source_rgb (cr, 1.0, 0.85, 0.3);
      cairo_move_to (cr, cx + 34 * x - width / 2.0, cy + 34 * y - text_height / 2.0);
      pango_cairo_show_layout (cr, layout);
    }
}

static void
show_text (cairo_t *cr, PangoLayout *layout, const char *text, double x, double y)
{
  pango_layout_set_text (layout, text, -1);
  cairo_set_source_rgb (cr, 0.85, 0.85, 0.85);
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
}

static void
draw_cursor (Pulmo3dView *self, cairo_t *cr)
{
  PulmoVolume *volume = pulmo_view_state_get_volume (self->state);
  int ijk[3];
  pulmo_view_state_get_cursor (self->state, ijk);
  double voxel[3] = { ijk[0], ijk[1], ijk[2] }, world[3], x, y;
  pulmo_affine_apply (pulmo_volume_get_affine (volume), voxel, world);
  pulmo_camera_3d_project_point (&self->camera, world, &x, &y);
  /* White: the lesion it often marks is ground glass's yellow. */
  cairo_set_source_rgb (cr, 1.0, 1.0, 1.0);
  cairo_set_line_width (cr, 1.5);
  cairo_arc (cr, x, y, 6, 0, 2 * G_PI);
  cairo_move_to (cr, x - 11, y);
  cairo_line_to (cr, x - 3, y);
  cairo_move_to (cr, x + 3, y);
  cairo_line_to (cr, x + 11, y);
  cairo_move_to (cr, x, y - 11);
  cairo_line_to (cr, x, y - 3);
  cairo_move_to (cr, x, y + 3);
  cairo_line_to (cr, x, y + 11);
  cairo_stroke (cr);
}

static void
pulmo_3d_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  Pulmo3dView *self = PULMO_3D_VIEW (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  if (width <= 0 || height <= 0)
    return;
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_paint (cr);
  PangoLayout *layout = pango_cairo_create_layout (cr);
  PulmoLabelMap *labels = self->state != NULL ? pulmo_view_state_get_labels (self->state) : NULL;
  if (self->camera.width != width || self->camera.height != height)
    {
      self->camera.width = width;
      self->camera.height = height;
      self->generation++;
      schedule_still (self);
    }

  if (self->quick_grid != NULL && labels != NULL)
    {
      if (self->still != NULL && self->still_generation == self->generation)
        {
          cairo_set_source_surface (cr, self->still, 0, 0);
          cairo_paint (cr);
        }
      else
        {
          /* While the camera moves: the coarse grid at a fraction of the size, scaled up. */
          PulmoCamera3D quick = self->camera;
          quick.width = MAX (width / PULMO_VOLUME_INTERACTIVE_SCALE, 1);
          quick.height = MAX (height / PULMO_VOLUME_INTERACTIVE_SCALE, 1);
          cairo_surface_t *image = render_image (self->quick_grid, pulmo_label_map_get_table (labels), &quick);
          cairo_save (cr);
          cairo_scale (cr, (double) width / quick.width, (double) height / quick.height);
          cairo_set_source_surface (cr, image, 0, 0);
          cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_BILINEAR);
          cairo_paint (cr);
          cairo_restore (cr);
          cairo_surface_destroy (image);
        }
      draw_cursor (self, cr);
      draw_orientation (self, cr, layout, height);
    }
  else if (self->state != NULL && pulmo_view_state_get_volume (self->state) != NULL)
    {
      const char *hint = self->grid_error != NULL ? self->grid_error
                         : labels == NULL         ? _("No labels to show in 3D: segment the CT or open a label map")
                                                  : _("Preparing the 3D view…");
      pango_layout_set_width (layout, (width - 24) * PANGO_SCALE);
      pango_layout_set_wrap (layout, PANGO_WRAP_WORD);
      show_text (cr, layout, hint, 12, height / 2.0);
      pango_layout_set_width (layout, -1);
    }
  /* Translators: the heading of the 3D view, beside Axial, Coronal and Sagittal. */
  show_text (cr, layout, _("3D"), 8, 6);
  g_object_unref (layout);
  cairo_destroy (cr);
}

/* Input ------------------------------------------------------------------- */

gboolean
pulmo_3d_view_click (Pulmo3dView *self, double x, double y)
{
  PulmoLabelMap *labels = self->state != NULL ? pulmo_view_state_get_labels (self->state) : NULL;
  if (labels == NULL)
    return FALSE;
  PulmoVolume *volume = pulmo_label_map_get_volume (labels);
  int dims[3], ijk[3];
  double world[3];
  uint8_t label;
  pulmo_volume_get_dims (volume, dims);
  if (!pulmo_volume_pick (pulmo_label_map_get_data (labels), dims, pulmo_volume_get_affine (volume),
                          pulmo_label_map_get_table (labels), &self->camera, x, y, ijk, world, &label))
    return FALSE;
  pulmo_view_state_set_cursor (self->state, ijk);
  return TRUE;
}

static void
drag_begin (GtkGestureDrag *gesture, double x, double y, Pulmo3dView *self)
{
  self->drag_yaw = self->camera.yaw_deg;
  self->drag_pitch = self->camera.pitch_deg;
  self->dragged = FALSE;
}

static void
drag_update (GtkGestureDrag *gesture, double dx, double dy, Pulmo3dView *self)
{
  /* A few pixels of jitter are still a click. */
  if (!self->dragged && hypot (dx, dy) < 4)
    return;
  self->dragged = TRUE;
  pulmo_3d_view_set_rotation (self, self->drag_yaw - dx * 0.5, self->drag_pitch + dy * 0.5);
}

static gboolean
scrolled (GtkEventControllerScroll *controller, double dx, double dy, Pulmo3dView *self)
{
  self->camera.zoom = CLAMP (self->camera.zoom * exp (-0.15 * dy), 0.5, 10.0);
  changed (self);
  return TRUE;
}

static void
pressed (GtkGestureClick *gesture, int n_press, double x, double y, Pulmo3dView *self)
{
  if (n_press == 2)
    pulmo_3d_view_reset (self);
}

/* A click that did not turn the view (a drag cancels the click gesture). */
static void
released (GtkGestureClick *gesture, int n_press, double x, double y, Pulmo3dView *self)
{
  if (n_press == 1 && !self->dragged)
    pulmo_3d_view_click (self, x, y);
}

/* Public ------------------------------------------------------------------ */

void
pulmo_3d_view_set_rotation (Pulmo3dView *self, double yaw_deg, double pitch_deg)
{
  self->camera.yaw_deg = fmod (yaw_deg, 360.0);
  self->camera.pitch_deg = CLAMP (pitch_deg, -90.0, 90.0);
  changed (self);
}

void
pulmo_3d_view_reset (Pulmo3dView *self)
{
  PulmoVolume *volume = self->state != NULL ? pulmo_view_state_get_volume (self->state) : NULL;
  int width = gtk_widget_get_width (GTK_WIDGET (self)), height = gtk_widget_get_height (GTK_WIDGET (self));
  if (volume != NULL)
    {
      int dims[3];
      pulmo_volume_get_dims (volume, dims);
      pulmo_camera_3d_reset (&self->camera, dims, pulmo_volume_get_affine (volume), width, height);
    }
  changed (self);
}

const PulmoCamera3D *
pulmo_3d_view_get_camera (Pulmo3dView *self)
{
  return &self->camera;
}

gboolean
pulmo_3d_view_is_ready (Pulmo3dView *self)
{
  return self->grids_current && self->builds_running == 0 && self->rebuild_timeout == 0;
}

static void
on_volume_changed (Pulmo3dView *self)
{
  pulmo_3d_view_reset (self);
  schedule_rebuild (self, 0);
}

static void
on_labels_changed (Pulmo3dView *self)
{
  schedule_rebuild (self, REBUILD_DELAY_MS);
}

static void
on_labels_replaced (Pulmo3dView *self)
{
  schedule_rebuild (self, 0);
}

void
pulmo_3d_view_set_state (Pulmo3dView *self, PulmoViewState *state)
{
  if (self->state == state)
    return;
  if (self->state != NULL)
    g_signal_handlers_disconnect_by_data (self->state, self);
  g_set_object (&self->state, state);
  if (state != NULL)
    {
      g_signal_connect_swapped (state, "volume-changed", G_CALLBACK (on_volume_changed), self);
      g_signal_connect_swapped (state, "labels-changed", G_CALLBACK (on_labels_changed), self);
      g_signal_connect_swapped (state, "notify::labels", G_CALLBACK (on_labels_replaced), self);
      /* Label colours and visibility, and the crosshair. */
      g_signal_connect_swapped (state, "display-changed", G_CALLBACK (changed), self);
      g_signal_connect_swapped (state, "cursor-changed", G_CALLBACK (gtk_widget_queue_draw), self);
      on_volume_changed (self);
    }
}

static void
pulmo_3d_view_map (GtkWidget *widget)
{
  Pulmo3dView *self = PULMO_3D_VIEW (widget);
  GTK_WIDGET_CLASS (pulmo_3d_view_parent_class)->map (widget);
  if (!self->grids_current)
    schedule_rebuild (self, 0);
}

static void
pulmo_3d_view_dispose (GObject *object)
{
  Pulmo3dView *self = PULMO_3D_VIEW (object);
  pulmo_3d_view_set_state (self, NULL);
  g_clear_handle_id (&self->rebuild_timeout, g_source_remove);
  g_clear_handle_id (&self->still_timeout, g_source_remove);
  g_cancellable_cancel (self->grid_cancellable);
  g_cancellable_cancel (self->still_cancellable);
  g_clear_object (&self->grid_cancellable);
  g_clear_object (&self->still_cancellable);
  g_clear_pointer (&self->quick_grid, pulmo_volume_grid_unref);
  g_clear_pointer (&self->still_grid, pulmo_volume_grid_unref);
  g_clear_pointer (&self->still, cairo_surface_destroy);
  g_clear_pointer (&self->grid_error, g_free);
  G_OBJECT_CLASS (pulmo_3d_view_parent_class)->dispose (object);
}

static void
pulmo_3d_view_class_init (Pulmo3dViewClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pulmo_3d_view_dispose;
  GTK_WIDGET_CLASS (klass)->snapshot = pulmo_3d_view_snapshot;
  GTK_WIDGET_CLASS (klass)->map = pulmo_3d_view_map;
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "pulmo-3d-view");
  gtk_widget_class_set_accessible_role (GTK_WIDGET_CLASS (klass), GTK_ACCESSIBLE_ROLE_IMG);
}

static void
pulmo_3d_view_init (Pulmo3dView *self)
{
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_size_request (GTK_WIDGET (self), 120, 120);
  self->camera.zoom = 1.0;
  self->camera.fit_mm = 1.0;
  GtkGesture *drag = gtk_gesture_drag_new ();
  g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (drag_update), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (pressed), self);
  g_signal_connect (click, "released", G_CALLBACK (released), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect (scroll, "scroll", G_CALLBACK (scrolled), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("3D view of the lungs and lesions"), -1);
}
