/* pulmo-report-panel.c: see pulmo-report-panel.h. */
#include "app/pulmo-report-panel.h"

#include <glib/gi18n.h>
#include <math.h>

/* Edits come a brush dab at a time, and a report over the whole map takes
 * a few hundred milliseconds: recompute once the edits pause. */
#define REPORT_DELAY_MS 300

struct _PulmoReportPanel {
  GtkBox parent_instance;

  PulmoViewState *state;
  PulmoLabelMap *labels;       /* the state's label map, whose edits we follow */
  guint delay_timeout;
  GCancellable *cancellable;   /* the running computation's */
  gboolean computing;
  gboolean segmenting;         /* the labels are being streamed in: no figures yet */
  gboolean have_report;
  PulmoReport report;
  guint64 report_revision;     /* the labels' revision the report is of */

  GtkWidget *empty_label;
  GtkWidget *figures_box;
  GtkGrid *table_grid;
  GtkLabel *summary_label;
  GtkLabel *source_label;
  GtkWidget *export_button;
  char *empty_hint;            /* what to do for figures, where there is no Segment button */
};

enum { SIGNAL_UPDATED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (PulmoReportPanel, pulmo_report_panel, GTK_TYPE_BOX)

typedef struct {
  PulmoVolume *ct;
  uint8_t *labels;        /* a snapshot: the map may change meanwhile */
  guint64 revision;
  PulmoReport report;
} ReportJob;

static void
report_job_free (ReportJob *job)
{
  pulmo_volume_unref (job->ct);
  g_free (job->labels);
  g_free (job);
}

static void
report_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ReportJob *job = task_data;
  GError *error = NULL;
  if (pulmo_report_compute (job->ct, job->labels, &job->report, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static GtkWidget *
cell (const char *text, gboolean heading)
{
  GtkWidget *label = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (label), heading ? 0 : 1);
  gtk_widget_add_css_class (label, heading ? "dim-label" : "numeric");
  return label;
}

static void
table_row (PulmoReportPanel *self, int row, const char *name, const PulmoLungFigures *lung,
           int severity)
{
  g_autofree char *litres = g_strdup_printf ("%.2f", lung->lung_ml / 1000);
  g_autofree char *ggo = g_strdup_printf ("%.0f", lung->ggo_ml);
  g_autofree char *consolidation = g_strdup_printf ("%.0f", lung->consolidation_ml);
  g_autofree char *percent = g_strdup_printf ("%.1f", lung->involved_percent);
  g_autofree char *score = g_strdup_printf ("%d", severity);
  const char *texts[] = { litres, ggo, consolidation, percent, score };
  gtk_grid_attach (self->table_grid, cell (name, TRUE), 0, row, 1, 1);
  for (int c = 0; c < 5; c++)
    gtk_grid_attach (self->table_grid, cell (texts[c], FALSE), c + 1, row, 1, 1);
}

static const char *
zone_name (int side, int zone)
{
  /* Translators: the upper, middle and lower third of the right and left lung, short. */
  const char *names[2][3] = { { N_("right upper"), N_("right middle"), N_("right lower") },
                              { N_("left upper"), N_("left middle"), N_("left lower") } };
  return _(names[side][zone]);
}

static void show_figures (PulmoReportPanel *self);
static void show_empty_text (PulmoReportPanel *self);

static void
show_report (PulmoReportPanel *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->table_grid))) != NULL)
    gtk_grid_remove (self->table_grid, child);
  gtk_widget_set_visible (self->empty_label, !self->have_report);
  gtk_widget_set_visible (self->figures_box, self->have_report);
  if (self->have_report)
    show_figures (self);
  g_signal_emit (self, signals[SIGNAL_UPDATED], 0);
}

static void
show_figures (PulmoReportPanel *self)
{
  const PulmoReport *r = &self->report;
  /* Translators: the report table's column heads: lung volume in litres, ground-glass and
   * consolidation volumes in millilitres, percent of the lung involved, severity score 0–5. */
  const char *heads[] = { N_("Lung L"), N_("GGO mL"), N_("Cons. mL"), N_("Inv. %"), N_("Score") };
  for (int c = 0; c < 5; c++)
    {
      GtkWidget *head = cell (_(heads[c]), FALSE);
      gtk_widget_remove_css_class (head, "numeric");
      gtk_widget_add_css_class (head, "caption-heading");
      gtk_grid_attach (self->table_grid, head, c + 1, 0, 1, 1);
    }
  table_row (self, 1, _("Right"), &r->right, r->right.severity);
  table_row (self, 2, _("Left"), &r->left, r->left.severity);
  table_row (self, 3, _("Total"), &r->total, r->severity_sum);

  GString *text = g_string_new (NULL);
  /* Translators: the severity score: right lung's + left lung's = sum, out of 10. */
  g_string_append_printf (text, _("Severity score %d + %d = %d of 10"), r->right.severity,
                          r->left.severity, r->severity_sum);
  if (!isnan (r->lesion_mean_hu))
    /* Translators: the mean CT value of all lesion voxels. */
    g_string_append_printf (text, _("\nLesions' mean %.0f HU"), r->lesion_mean_hu);
  if (r->total.ggo_ml + r->total.consolidation_ml > 0)
    {
      g_string_append_printf (text, "\n%s", r->bilateral ? _("Bilateral") : _("Unilateral"));
      /* Translators: how much of the lesion volume lies in the outer third of the lung. */
      g_string_append_printf (text, _(", %.0f %% peripheral, %.0f %% central"),
                              r->peripheral_percent, r->central_percent);
      /* Translators: how many of the six lung zones (upper, middle, lower third of each lung)
       * hold lesions, then their names. */
      g_string_append_printf (text, _("\nZones involved: %d of 6"), r->n_zones_involved);
      const PulmoLungFigures *sides[2] = { &r->right, &r->left };
      const char *sep = " (";
      for (int s = 0; s < 2; s++)
        for (int z = 0; z < 3; z++)
          if (sides[s]->zone_involved[z])
            {
              g_string_append_printf (text, "%s%s", sep, zone_name (s, z));
              sep = ", ";
            }
      if (r->n_zones_involved > 0)
        g_string_append (text, ")");
    }
  else
    g_string_append_printf (text, "\n%s", _("No ground glass or consolidation"));
  if (r->effusion_ml > 0)
    /* Translators: volume of pleural effusion in millilitres. */
    g_string_append_printf (text, _("\nPleural effusion %.0f mL"), r->effusion_ml);
  gtk_label_set_text (self->summary_label, text->str);
  g_string_free (text, TRUE);
}

static void start_computation (PulmoReportPanel *self);

static void
report_done (GObject *source, GAsyncResult *result, gpointer data)
{
  PulmoReportPanel *self = PULMO_REPORT_PANEL (source);
  ReportJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->computing = FALSE;
  if (self->labels == NULL)
    return;
  if (pulmo_label_map_get_revision (self->labels) != job->revision)
    {
      start_computation (self);   /* edited meanwhile */
      return;
    }
  self->have_report = ok;
  if (ok)
    {
      self->report = job->report;
      self->report_revision = job->revision;
    }
  else
    g_warning ("The report could not be computed: %s", error->message);
  show_report (self);
}

static void
start_computation (PulmoReportPanel *self)
{
  if (self->labels == NULL || self->computing || self->segmenting)
    return;
  ReportJob *job = g_new0 (ReportJob, 1);
  job->ct = pulmo_volume_ref (pulmo_label_map_get_volume (self->labels));
  job->labels = g_memdup2 (pulmo_label_map_get_data (self->labels), pulmo_volume_get_n_voxels (job->ct));
  job->revision = pulmo_label_map_get_revision (self->labels);
  GTask *task = g_task_new (self, self->cancellable, report_done, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) report_job_free);
  g_task_run_in_thread (task, report_thread);
  g_object_unref (task);
  self->computing = TRUE;
}

static gboolean
delay_due (gpointer data)
{
  PulmoReportPanel *self = data;
  self->delay_timeout = 0;
  start_computation (self);
  return G_SOURCE_REMOVE;
}

static void
labels_edited (PulmoReportPanel *self)
{
  if (self->segmenting)
    return;
  g_clear_handle_id (&self->delay_timeout, g_source_remove);
  self->delay_timeout = g_timeout_add (REPORT_DELAY_MS, delay_due, self);
}

static void
watch_labels (PulmoReportPanel *self, PulmoLabelMap *labels)
{
  g_clear_handle_id (&self->delay_timeout, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->computing = FALSE;
  self->have_report = FALSE;
  if (self->labels != NULL)
    g_signal_handlers_disconnect_by_data (self->labels, self);
  g_set_object (&self->labels, labels);
  if (labels != NULL)
    {
      g_signal_connect_swapped (labels, "changed", G_CALLBACK (labels_edited), self);
      start_computation (self);
    }
  show_report (self);
}

static void
labels_replaced (PulmoReportPanel *self)
{
  watch_labels (self, self->state ? pulmo_view_state_get_labels (self->state) : NULL);
}

void
pulmo_report_panel_set_state (PulmoReportPanel *self, PulmoViewState *state)
{
  if (self->state != NULL)
    g_signal_handlers_disconnect_by_data (self->state, self);
  g_set_object (&self->state, state);
  if (state != NULL)
    g_signal_connect_swapped (state, "notify::labels", G_CALLBACK (labels_replaced), self);
  labels_replaced (self);
}

void
pulmo_report_panel_set_source (PulmoReportPanel *self, const char *source)
{
  g_autofree char *text = source != NULL
    /* Translators: %s names where the labels came from: the model and its version, or a file. */
    ? g_strdup_printf (_("From %s. A model's output and edits: a radiologist must check these figures."), source)
    : g_strdup (_("A radiologist must check these figures."));
  gtk_label_set_text (self->source_label, text);
}

static void
show_empty_text (PulmoReportPanel *self)
{
  gtk_label_set_text (GTK_LABEL (self->empty_label),
                      self->segmenting    ? _("Segmenting: the figures follow when the model is done.")
                      : self->empty_hint ? self->empty_hint
                                         : _("Press Segment, or open a label map, for the lung and lesion figures."));
}

void
pulmo_report_panel_set_empty_hint (PulmoReportPanel *self, const char *hint)
{
  g_free (self->empty_hint);
  self->empty_hint = g_strdup (hint);
  show_empty_text (self);
}

void
pulmo_report_panel_set_export_visible (PulmoReportPanel *self, gboolean visible)
{
  gtk_widget_set_visible (self->export_button, visible);
}

void
pulmo_report_panel_set_segmenting (PulmoReportPanel *self, gboolean segmenting)
{
  self->segmenting = segmenting;
  show_empty_text (self);
  labels_replaced (self);
}

const PulmoReport *
pulmo_report_panel_get_report (PulmoReportPanel *self)
{
  gboolean current = self->have_report && self->labels != NULL &&
                     pulmo_label_map_get_revision (self->labels) == self->report_revision;
  return current ? &self->report : NULL;
}

static void
pulmo_report_panel_dispose (GObject *object)
{
  PulmoReportPanel *self = PULMO_REPORT_PANEL (object);
  if (self->state != NULL)
    g_signal_handlers_disconnect_by_data (self->state, self);
  g_clear_object (&self->state);
  watch_labels (self, NULL);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->empty_hint, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), PULMO_TYPE_REPORT_PANEL);
  G_OBJECT_CLASS (pulmo_report_panel_parent_class)->dispose (object);
}

static void
pulmo_report_panel_class_init (PulmoReportPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = pulmo_report_panel_dispose;
  gtk_widget_class_set_template_from_resource (widget_class, "/org/pulmo/Pulmo/ui/pulmo-report-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, PulmoReportPanel, empty_label);
  gtk_widget_class_bind_template_child (widget_class, PulmoReportPanel, figures_box);
  gtk_widget_class_bind_template_child (widget_class, PulmoReportPanel, table_grid);
  gtk_widget_class_bind_template_child (widget_class, PulmoReportPanel, summary_label);
  gtk_widget_class_bind_template_child (widget_class, PulmoReportPanel, source_label);
  gtk_widget_class_bind_template_child (widget_class, PulmoReportPanel, export_button);
  signals[SIGNAL_UPDATED] = g_signal_new ("updated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                          NULL, NULL, G_TYPE_NONE, 0);
}

static void
pulmo_report_panel_init (PulmoReportPanel *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  show_empty_text (self);
  pulmo_report_panel_set_source (self, NULL);
}
