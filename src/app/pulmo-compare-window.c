/* pulmo-compare-window.c: see pulmo-compare-window.h. Each side owns a view
 * state, one slice view per axis in a stack (the one for the window's axis
 * shows), a report panel and its title; the window links the two states. */
#include "app/pulmo-compare-window.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "core/dicom-import.h"
#include "core/geometry.h"
#include "render/window-level.h"

static const char *axis_ids[PULMO_N_VIEWS] = { "axial", "coronal", "sagittal" };

/* The display settings both sides share, whatever their scans. */
static const char *shared_properties[] = { "slab-mode", "slab-mm", "cine-fps", "overlay-visible",
                                           "overlay-opacity", "overlay-outline", "smooth" };

typedef struct {
  PulmoCompareWindow *window;
  int index;
  PulmoViewState *state;
  char *name;
  GtkLabel *name_label, *source_label, *message_label;
  GtkLabel *status_label;          /* the voxel under the pointer, or the same place as on the other side */
  GtkWidget *labels_button;
  GtkStack *stack;
  PulmoSliceView *views[PULMO_N_VIEWS];
  PulmoReportPanel *report;
  GCancellable *load_cancellable;  /* the side's running load, if any */
  PulmoProgress *load_progress;    /* … and its progress, which the task owns */
  GFile *load_file;
} CompareSide;

struct _PulmoCompareWindow {
  GtkApplicationWindow parent_instance;

  CompareSide sides[PULMO_COMPARE_N_SIDES];
  PulmoViewAxis axis;
  gboolean linked;
  gboolean syncing;                /* a linked move is being copied: no copy back */
  double shift_mm[3];              /* world(second crosshair) − world(first) */
  GBinding *window_binding, *level_binding;
  GSimpleActionGroup *actions;
  guint progress_timeout;
  char *change_text;

  GtkBox *sides_box;
  GtkLabel *change_label;
  GtkLabel *link_label;
};

G_DEFINE_FINAL_TYPE (PulmoCompareWindow, pulmo_compare_window, GTK_TYPE_APPLICATION_WINDOW)

static void
world_of_cursor (CompareSide *side, double world[3])
{
  PulmoVolume *volume = pulmo_view_state_get_volume (side->state);
  int ijk[3];
  pulmo_view_state_get_cursor (side->state, ijk);
  const double voxel[3] = { ijk[0], ijk[1], ijk[2] };
  pulmo_affine_apply (pulmo_volume_get_affine (volume), voxel, world);
}

static gboolean
both_have_volumes (PulmoCompareWindow *self)
{
  return pulmo_view_state_get_volume (self->sides[0].state) != NULL &&
         pulmo_view_state_get_volume (self->sides[1].state) != NULL;
}

static void
show_link (PulmoCompareWindow *self)
{
  const double *s = self->shift_mm;
  g_autofree char *text = NULL;
  if (!self->linked)
    text = g_strdup (_("Not linked: each view moves alone"));
  else if (fabs (s[0]) < 0.5 && fabs (s[1]) < 0.5 && fabs (s[2]) < 0.5)
    text = g_strdup (_("Linked by world position"));
  else
    /* Translators: how far the second scan's crosshair lies from the first's, in mm
     * toward the patient's left, posterior and superior (negative: the other way). */
    text = g_strdup_printf (_("Linked with a shift of %.1f mm L, %.1f mm P, %.1f mm S"), -s[0], -s[1], s[2]);
  gtk_label_set_text (self->link_label, text);
}

/* The voxel of @to's scan at the place of @from's voxel @ijk, shifted; clamped
 * onto @to's grid, FALSE when the place lies outside it. */
static gboolean
map_to_other (PulmoCompareWindow *self, CompareSide *from, CompareSide *to, const int ijk[3], int at[3])
{
  PulmoVolume *from_volume = pulmo_view_state_get_volume (from->state);
  PulmoVolume *to_volume = pulmo_view_state_get_volume (to->state);
  double shift[3];
  for (int a = 0; a < 3; a++)
    shift[a] = from->index == 0 ? self->shift_mm[a] : -self->shift_mm[a];
  int dims[3];
  pulmo_volume_get_dims (to_volume, dims);
  return pulmo_affine_map_voxel (pulmo_volume_get_affine (from_volume), ijk, shift,
                                 pulmo_volume_get_affine (to_volume), dims, at);
}

/* Moves @to's crosshair to the place of @from's, shifted. */
static void
copy_cursor (PulmoCompareWindow *self, CompareSide *from, CompareSide *to)
{
  if (!self->linked || self->syncing || !both_have_volumes (self))
    return;
  int ijk[3], at[3];
  pulmo_view_state_get_cursor (from->state, ijk);
  /* Outside the other scan, its crosshair waits at the nearest edge. */
  map_to_other (self, from, to, ijk, at);
  self->syncing = TRUE;
  pulmo_view_state_set_cursor (to->state, at);
  self->syncing = FALSE;
}

/* The pointer over one side: its voxel there, and the same place on the
 * other side when linked, so that values read side by side. */
static void
hovered (PulmoViewState *state, const int *ijk, CompareSide *side)
{
  PulmoCompareWindow *self = side->window;
  CompareSide *other = &self->sides[1 - side->index];
  g_autofree char *here = ijk != NULL ? pulmo_view_state_describe_voxel (side->state, ijk) : NULL;
  g_autofree char *there = NULL;
  int at[3];
  if (ijk != NULL && self->linked && both_have_volumes (self) && map_to_other (self, side, other, ijk, at))
    there = pulmo_view_state_describe_voxel (other->state, at);
  gtk_label_set_text (side->status_label, here != NULL ? here : "");
  gtk_label_set_text (other->status_label, there != NULL ? there : "");
}

static void
cursor_changed (PulmoViewState *state, CompareSide *side)
{
  PulmoCompareWindow *self = side->window;
  copy_cursor (self, side, &self->sides[1 - side->index]);
}

/* Window and level are linked only between scans of one kind of intensity:
 * a Hounsfield window on a pre-windowed 8-bit image shows nothing. */
static void
relink_window_level (PulmoCompareWindow *self)
{
  g_clear_pointer (&self->window_binding, g_binding_unbind);
  g_clear_pointer (&self->level_binding, g_binding_unbind);
  if (!both_have_volumes (self))
    return;
  PulmoVolume *first = pulmo_view_state_get_volume (self->sides[0].state);
  PulmoVolume *second = pulmo_view_state_get_volume (self->sides[1].state);
  if (pulmo_volume_get_intensity_kind (first) != pulmo_volume_get_intensity_kind (second))
    return;
  const GBindingFlags flags = G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE;
  self->window_binding = g_object_bind_property (self->sides[0].state, "window", self->sides[1].state, "window", flags);
  self->level_binding = g_object_bind_property (self->sides[0].state, "level", self->sides[1].state, "level", flags);
}

static void
show_title (PulmoCompareWindow *self)
{
  const char *first = self->sides[0].name, *second = self->sides[1].name;
  g_autofree char *title = first != NULL && second != NULL
                             /* Translators: the compare window's title: the two scans' names. */
                             ? g_strdup_printf (_("Compare %s and %s"), first, second)
                             : g_strdup (_("Compare"));
  gtk_window_set_title (GTK_WINDOW (self), title);
}

static const char *
signed_number (char *buffer, size_t size, double value, int decimals)
{
  /* "+3.2", "−1.0": a real minus sign reads better beside the arrows. */
  double shown = fabs (value) < 0.5 * pow (10, -decimals) ? 0 : value;
  g_snprintf (buffer, size, "%s%.*f", shown > 0 ? "+" : shown < 0 ? "−" : "±", decimals, fabs (shown));
  return buffer;
}

static void
show_change (PulmoCompareWindow *self)
{
  const PulmoReport *a = pulmo_report_panel_get_report (self->sides[0].report);
  const PulmoReport *b = pulmo_report_panel_get_report (self->sides[1].report);
  g_free (self->change_text);
  if (a == NULL || b == NULL)
    self->change_text = g_strdup (_("The change between the two reports shows once both sides have labels."));
  else
    {
      char involved[32], ggo[32], consolidation[32], severity[32];
      /* Translators: the change from the first scan's report to the second's: involvement
       * in percent (and its change in percentage points), ground glass and consolidation
       * volumes in mL, and the severity score out of 10. */
      self->change_text = g_strdup_printf (
        _("From %s to %s: involvement %.1f %% → %.1f %% (%s points), ground glass %.0f → %.0f mL (%s), "
          "consolidation %.0f → %.0f mL (%s), severity score %d → %d of 10 (%s)"),
        self->sides[0].name, self->sides[1].name, a->total.involved_percent, b->total.involved_percent,
        signed_number (involved, sizeof involved, b->total.involved_percent - a->total.involved_percent, 1),
        a->total.ggo_ml, b->total.ggo_ml,
        signed_number (ggo, sizeof ggo, b->total.ggo_ml - a->total.ggo_ml, 0), a->total.consolidation_ml,
        b->total.consolidation_ml,
        signed_number (consolidation, sizeof consolidation, b->total.consolidation_ml - a->total.consolidation_ml, 0),
        a->severity_sum, b->severity_sum,
        signed_number (severity, sizeof severity, b->severity_sum - a->severity_sum, 0));
    }
  gtk_label_set_text (self->change_label, self->change_text);
}

static void
set_message (CompareSide *side, const char *message)
{
  gtk_label_set_text (side->message_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (side->message_label), message != NULL);
}

void
pulmo_compare_window_set_side (PulmoCompareWindow *self, int index, PulmoVolume *volume, PulmoLabelMap *labels,
                               const char *name, const char *source)
{
  g_return_if_fail (index >= 0 && index < PULMO_COMPARE_N_SIDES);
  CompareSide *side = &self->sides[index];
  g_free (side->name);
  side->name = g_strdup (name);
  gtk_label_set_text (side->name_label, name);
  self->syncing = TRUE; /* the new scan takes the other side's place, below */
  pulmo_view_state_set_volume (side->state, volume, name);
  self->syncing = FALSE;
  pulmo_view_state_set_labels (side->state, labels);
  pulmo_compare_window_set_side_source (self, index, labels != NULL ? source : NULL);
  gtk_widget_set_sensitive (side->labels_button, volume != NULL);
  set_message (side, NULL);
  relink_window_level (self);
  for (int axis = 0; axis < PULMO_N_VIEWS; axis++)
    pulmo_slice_view_reset (side->views[axis]);
  if (both_have_volumes (self))
    copy_cursor (self, &self->sides[1 - index], side);
  /* The keys (slices, slab, cine) go to a view, not to the report's text. */
  if (gtk_window_get_focus (GTK_WINDOW (self)) == NULL || index == 0)
    gtk_widget_grab_focus (GTK_WIDGET (side->views[self->axis]));
  show_title (self);
  show_change (self);
}

void
pulmo_compare_window_set_side_source (PulmoCompareWindow *self, int index, const char *source)
{
  CompareSide *side = &self->sides[index];
  g_autofree char *text = source != NULL
                            /* Translators: where a side's labels came from: a file or the model. */
                            ? g_strdup_printf (_("Labels: %s"), source)
                            : g_strdup (_("No labels"));
  gtk_label_set_text (side->source_label, text);
  pulmo_report_panel_set_source (side->report, source);
}

/* Loading: the CT (unless the side keeps its own), then the labels. */

typedef struct {
  GFile *ct_file, *labels_file;
  PulmoVolume *ct;        /* opened here, or the side's when only labels are */
  PulmoLabelMap *labels;
  PulmoProgress progress;
} LoadJob;

static void
load_job_free (LoadJob *job)
{
  g_clear_object (&job->ct_file);
  g_clear_object (&job->labels_file);
  g_clear_pointer (&job->ct, pulmo_volume_unref);
  g_clear_object (&job->labels);
  g_free (job);
}

static void
load_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  LoadJob *job = task_data;
  GError *error = NULL;
  if (job->ct_file != NULL)
    {
      g_autofree char *path = g_file_get_path (job->ct_file);
      gboolean folder = g_file_query_file_type (job->ct_file, G_FILE_QUERY_INFO_NONE, cancellable)
                        == G_FILE_TYPE_DIRECTORY;
      job->ct = folder ? pulmo_dicom_import (path, &job->progress, cancellable, &error)
                       : pulmo_volume_load (path, &job->progress, cancellable, &error);
      if (job->ct == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }
  if (job->labels_file != NULL)
    {
      g_autofree char *path = g_file_get_path (job->labels_file);
      job->labels = pulmo_label_map_load (job->ct, path, &job->progress, cancellable, &error);
      if (job->labels == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }
  g_task_return_boolean (task, TRUE);
}

static char *
file_display_name (GFile *file)
{
  g_autofree char *basename = g_file_get_basename (file);
  return g_filename_display_name (basename);
}


static void
load_done (GObject *source, GAsyncResult *result, gpointer data)
{
  CompareSide *side = data;
  LoadJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;   /* the window closed, or the side opened something else */
    }
  PulmoCompareWindow *self = side->window;
  g_clear_object (&side->load_cancellable);
  g_clear_object (&side->load_file);
  side->load_progress = NULL;
  if (error != NULL)
    {
      set_message (side, error->message);
      return;
    }
  g_autofree char *source_name = job->labels_file != NULL ? file_display_name (job->labels_file) : NULL;
  if (job->ct_file != NULL)
    {
      g_autofree char *display = file_display_name (job->ct_file);
      g_autofree char *name = pulmo_display_base_name (display);
      pulmo_compare_window_set_side (self, side->index, job->ct, job->labels, name, source_name);
    }
  else
    {
      set_message (side, NULL);
      pulmo_view_state_set_labels (side->state, job->labels);
      pulmo_compare_window_set_side_source (self, side->index, source_name);
    }
}

static gboolean
poll_progress (gpointer data)
{
  PulmoCompareWindow *self = data;
  for (int s = 0; s < PULMO_COMPARE_N_SIDES; s++)
    {
      CompareSide *side = &self->sides[s];
      if (side->load_progress == NULL)
        continue;
      g_autofree char *name = file_display_name (side->load_file);
      /* Translators: a side of the compare window opening a file: its name and how far. */
      g_autofree char *text = g_strdup_printf (_("Opening %s… %.0f %%"), name,
                                               100 * pulmo_progress_fraction (side->load_progress));
      set_message (side, text);
    }
  return G_SOURCE_CONTINUE;
}

static void
start_load (CompareSide *side, GFile *ct, GFile *labels)
{
  g_cancellable_cancel (side->load_cancellable);
  g_clear_object (&side->load_cancellable);
  side->load_cancellable = g_cancellable_new ();
  LoadJob *job = g_new0 (LoadJob, 1);
  job->ct_file = ct != NULL ? g_object_ref (ct) : NULL;
  job->labels_file = labels != NULL ? g_object_ref (labels) : NULL;
  if (ct == NULL)
    job->ct = pulmo_volume_ref (pulmo_view_state_get_volume (side->state));
  g_set_object (&side->load_file, G_FILE (ct != NULL ? ct : labels));
  side->load_progress = &job->progress;
  /* The task holds the window: its side is there when the load ends. */
  GTask *task = g_task_new (side->window, side->load_cancellable, load_done, side);
  g_task_set_task_data (task, job, (GDestroyNotify) load_job_free);
  g_task_run_in_thread (task, load_thread);
  g_object_unref (task);
  poll_progress (side->window);
}

void
pulmo_compare_window_open (PulmoCompareWindow *self, int index, GFile *ct, GFile *labels)
{
  g_return_if_fail (index >= 0 && index < PULMO_COMPARE_N_SIDES && ct != NULL);
  start_load (&self->sides[index], ct, labels);
}

void
pulmo_compare_window_open_labels (PulmoCompareWindow *self, int index, GFile *labels)
{
  g_return_if_fail (index >= 0 && index < PULMO_COMPARE_N_SIDES && labels != NULL);
  if (pulmo_view_state_get_volume (self->sides[index].state) != NULL)
    start_load (&self->sides[index], NULL, labels);
}

gboolean
pulmo_compare_window_is_loading (PulmoCompareWindow *self)
{
  return self->sides[0].load_cancellable != NULL || self->sides[1].load_cancellable != NULL;
}

static void
labels_chosen (GtkNativeDialog *dialog, int response, CompareSide *side)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (file != NULL)
        pulmo_compare_window_open_labels (side->window, side->index, file);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
open_labels_clicked (GtkButton *button, CompareSide *side)
{
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (_("Open Labels"), GTK_WINDOW (side->window),
                                                              GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (labels_chosen), side);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* Settings and actions. */

void
pulmo_compare_window_set_axis (PulmoCompareWindow *self, PulmoViewAxis axis)
{
  g_return_if_fail (axis < PULMO_N_VIEWS);
  self->axis = axis;
  for (int s = 0; s < PULMO_COMPARE_N_SIDES; s++)
    gtk_stack_set_visible_child_name (self->sides[s].stack, axis_ids[axis]);
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self->actions), "axis");
  g_simple_action_set_state (G_SIMPLE_ACTION (action), g_variant_new_string (axis_ids[axis]));
}

static void
show_linked (PulmoCompareWindow *self)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self->actions), "linked");
  g_simple_action_set_state (G_SIMPLE_ACTION (action), g_variant_new_boolean (self->linked));
  show_link (self);
}

void
pulmo_compare_window_set_linked (PulmoCompareWindow *self, gboolean linked)
{
  if (linked && !self->linked && both_have_volumes (self))
    {
      double first[3], second[3];
      world_of_cursor (&self->sides[0], first);
      world_of_cursor (&self->sides[1], second);
      for (int a = 0; a < 3; a++)
        self->shift_mm[a] = second[a] - first[a];
    }
  self->linked = linked;
  show_linked (self);
}

void
pulmo_compare_window_get_shift (PulmoCompareWindow *self, double shift_mm[3])
{
  memcpy (shift_mm, self->shift_mm, sizeof self->shift_mm);
}

static void
axis_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  for (int axis = 0; axis < PULMO_N_VIEWS; axis++)
    if (g_strcmp0 (g_variant_get_string (parameter, NULL), axis_ids[axis]) == 0)
      pulmo_compare_window_set_axis (data, axis);
}

static void
linked_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  pulmo_compare_window_set_linked (data, !PULMO_COMPARE_WINDOW (data)->linked);
}

static void
align_world_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  PulmoCompareWindow *self = data;
  memset (self->shift_mm, 0, sizeof self->shift_mm);
  self->linked = TRUE;
  copy_cursor (self, &self->sides[0], &self->sides[1]);
  show_linked (self);
}

static void
reset_view_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  PulmoCompareWindow *self = data;
  for (int s = 0; s < PULMO_COMPARE_N_SIDES; s++)
    for (int axis = 0; axis < PULMO_N_VIEWS; axis++)
      pulmo_slice_view_reset (self->sides[s].views[axis]);
}

static void
preset_activated (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  PulmoCompareWindow *self = data;
  const PulmoWindowPreset *preset = pulmo_window_preset_find (g_variant_get_string (parameter, NULL));
  /* Presets are Hounsfield windows: each HU side takes it (linked sides together). */
  for (int s = 0; s < PULMO_COMPARE_N_SIDES && preset != NULL; s++)
    {
      PulmoVolume *volume = pulmo_view_state_get_volume (self->sides[s].state);
      if (volume != NULL && pulmo_volume_get_intensity_kind (volume) == PULMO_INTENSITY_HU)
        pulmo_view_state_set_window (self->sides[s].state, preset->window, preset->level);
    }
}

static const GActionEntry action_entries[] = {
  { "axis", axis_activated, "s", "'axial'" },
  { "linked", linked_activated, NULL, "true" },
  { "align-world", align_world_activated },
  { "reset-view", reset_view_activated },
  { "preset", preset_activated, "s" },
};

/* The sides: a title (scan name, labels' origin, Open Labels…), the message
 * line, the views and the report. */
static void
build_side (PulmoCompareWindow *self, int index)
{
  CompareSide *side = &self->sides[index];
  side->window = self;
  side->index = index;
  side->state = pulmo_view_state_new ();
  g_signal_connect (side->state, "cursor-changed", G_CALLBACK (cursor_changed), side);
  g_signal_connect (side->state, "hover", G_CALLBACK (hovered), side);

  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *title_row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_margin_start (title_row, 12);
  gtk_widget_set_margin_end (title_row, 12);
  gtk_widget_set_margin_top (title_row, 6);
  gtk_widget_set_margin_bottom (title_row, 6);
  GtkWidget *titles = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_set_hexpand (titles, TRUE);
  side->name_label = GTK_LABEL (gtk_label_new (NULL));
  side->source_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_widget_add_css_class (GTK_WIDGET (side->name_label), "heading");
  gtk_widget_add_css_class (GTK_WIDGET (side->source_label), "dim-label");
  gtk_widget_add_css_class (GTK_WIDGET (side->source_label), "caption");
  GtkLabel *labels[] = { side->name_label, side->source_label };
  for (size_t l = 0; l < G_N_ELEMENTS (labels); l++)
    {
      gtk_label_set_xalign (labels[l], 0);
      gtk_label_set_ellipsize (labels[l], PANGO_ELLIPSIZE_MIDDLE);
      gtk_box_append (GTK_BOX (titles), GTK_WIDGET (labels[l]));
    }
  gtk_box_append (GTK_BOX (title_row), titles);
  side->labels_button = gtk_button_new_with_mnemonic (_("Open _Labels…"));
  gtk_widget_set_valign (side->labels_button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (side->labels_button, _("Open a label map onto this side's CT"));
  gtk_widget_set_sensitive (side->labels_button, FALSE);
  g_signal_connect (side->labels_button, "clicked", G_CALLBACK (open_labels_clicked), side);
  gtk_box_append (GTK_BOX (title_row), side->labels_button);
  gtk_box_append (GTK_BOX (box), title_row);

  side->message_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (side->message_label, TRUE);
  gtk_label_set_xalign (side->message_label, 0);
  gtk_widget_set_margin_start (GTK_WIDGET (side->message_label), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (side->message_label), 12);
  gtk_widget_set_visible (GTK_WIDGET (side->message_label), FALSE);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (side->message_label));

  side->stack = GTK_STACK (gtk_stack_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (side->stack), TRUE);
  for (int axis = 0; axis < PULMO_N_VIEWS; axis++)
    {
      side->views[axis] = g_object_new (PULMO_TYPE_SLICE_VIEW, "axis", axis, NULL);
      pulmo_slice_view_set_state (side->views[axis], side->state);
      gtk_stack_add_named (side->stack, GTK_WIDGET (side->views[axis]), axis_ids[axis]);
    }
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (side->stack));
  side->status_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (side->status_label, 0);
  gtk_label_set_ellipsize (side->status_label, PANGO_ELLIPSIZE_END);
  gtk_widget_set_margin_start (GTK_WIDGET (side->status_label), 12);
  gtk_widget_add_css_class (GTK_WIDGET (side->status_label), "numeric");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (side->status_label));

  side->report = g_object_new (PULMO_TYPE_REPORT_PANEL, NULL);
  gtk_widget_set_margin_top (GTK_WIDGET (side->report), 6);
  pulmo_report_panel_set_export_visible (side->report, FALSE);
  pulmo_report_panel_set_empty_hint (side->report, _("Open a label map (Open Labels…) for this side's figures."));
  pulmo_report_panel_set_state (side->report, side->state);
  g_signal_connect_swapped (side->report, "updated", G_CALLBACK (show_change), self);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (side->report));

  gtk_box_append (self->sides_box, box);
  pulmo_compare_window_set_side_source (self, index, NULL);
}

PulmoViewState *
pulmo_compare_window_get_state (PulmoCompareWindow *self, int side)
{
  g_return_val_if_fail (side >= 0 && side < PULMO_COMPARE_N_SIDES, NULL);
  return self->sides[side].state;
}

PulmoSliceView *
pulmo_compare_window_get_view (PulmoCompareWindow *self, int side)
{
  g_return_val_if_fail (side >= 0 && side < PULMO_COMPARE_N_SIDES, NULL);
  return self->sides[side].views[self->axis];
}

PulmoReportPanel *
pulmo_compare_window_get_report_panel (PulmoCompareWindow *self, int side)
{
  g_return_val_if_fail (side >= 0 && side < PULMO_COMPARE_N_SIDES, NULL);
  return self->sides[side].report;
}

const char *
pulmo_compare_window_get_change (PulmoCompareWindow *self)
{
  return self->change_text;
}

const char *
pulmo_compare_window_get_status (PulmoCompareWindow *self, int side)
{
  g_return_val_if_fail (side >= 0 && side < PULMO_COMPARE_N_SIDES, NULL);
  return gtk_label_get_text (self->sides[side].status_label);
}

const char *
pulmo_compare_window_get_message (PulmoCompareWindow *self, int side)
{
  g_return_val_if_fail (side >= 0 && side < PULMO_COMPARE_N_SIDES, NULL);
  GtkLabel *label = self->sides[side].message_label;
  return gtk_widget_get_visible (GTK_WIDGET (label)) ? gtk_label_get_text (label) : NULL;
}

PulmoCompareWindow *
pulmo_compare_window_new (GtkApplication *application)
{
  return g_object_new (PULMO_TYPE_COMPARE_WINDOW, "application", application, NULL);
}

static void
pulmo_compare_window_dispose (GObject *object)
{
  PulmoCompareWindow *self = PULMO_COMPARE_WINDOW (object);
  g_clear_handle_id (&self->progress_timeout, g_source_remove);
  g_clear_pointer (&self->window_binding, g_binding_unbind);
  g_clear_pointer (&self->level_binding, g_binding_unbind);
  for (int s = 0; s < PULMO_COMPARE_N_SIDES; s++)
    {
      CompareSide *side = &self->sides[s];
      /* A load still running finds its side gone: cancelled, it touches nothing. */
      g_cancellable_cancel (side->load_cancellable);
      g_clear_object (&side->load_cancellable);
      g_clear_object (&side->load_file);
      side->load_progress = NULL;
      if (side->state != NULL)
        g_signal_handlers_disconnect_by_data (side->state, side);
      if (side->report != NULL)  /* its "updated" as the template goes would find no change label */
        g_signal_handlers_disconnect_by_data (side->report, self);
      side->report = NULL;
      g_clear_object (&side->state);
      g_clear_pointer (&side->name, g_free);
    }
  g_clear_object (&self->actions);
  g_clear_pointer (&self->change_text, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), PULMO_TYPE_COMPARE_WINDOW);
  G_OBJECT_CLASS (pulmo_compare_window_parent_class)->dispose (object);
}

static void
pulmo_compare_window_class_init (PulmoCompareWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = pulmo_compare_window_dispose;
  gtk_widget_class_set_template_from_resource (widget_class, "/org/pulmo/Pulmo/ui/pulmo-compare-window.ui");
  gtk_widget_class_bind_template_child (widget_class, PulmoCompareWindow, sides_box);
  gtk_widget_class_bind_template_child (widget_class, PulmoCompareWindow, change_label);
  gtk_widget_class_bind_template_child (widget_class, PulmoCompareWindow, link_label);
}

static void
pulmo_compare_window_init (PulmoCompareWindow *self)
{
  self->linked = TRUE;
  self->actions = g_simple_action_group_new ();
  g_action_map_add_action_entries (G_ACTION_MAP (self->actions), action_entries, G_N_ELEMENTS (action_entries), self);
  gtk_widget_init_template (GTK_WIDGET (self));
  for (int s = 0; s < PULMO_COMPARE_N_SIDES; s++)
    build_side (self, s);
  for (size_t p = 0; p < G_N_ELEMENTS (shared_properties); p++)
    g_object_bind_property (self->sides[0].state, shared_properties[p], self->sides[1].state, shared_properties[p],
                            G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_autoptr (GPropertyAction) overlay = g_property_action_new ("overlay-visible", self->sides[0].state,
                                                               "overlay-visible");
  g_action_map_add_action (G_ACTION_MAP (self->actions), G_ACTION (overlay));
  gtk_widget_insert_action_group (GTK_WIDGET (self), "compare", G_ACTION_GROUP (self->actions));
  self->progress_timeout = g_timeout_add (200, poll_progress, self);
  show_link (self);
  show_change (self);
}
