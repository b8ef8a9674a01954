/* report.c: see report.h. */
#include "segment/report.h"

#include <glib/gi18n-lib.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/pulmo-error.h"
#include "core/pulmo-label-table.h"
#include "edit/distance-map.h"
#include "segment/report-pdf.h"

/* What the side buffer holds per voxel while the report is worked out. */
enum {
  MARK_NONE,            /* not in a lung */
  MARK_RIGHT,           /* right lung parenchyma */
  MARK_LEFT,
  MARK_PENDING,         /* lesion, side not yet known */
  MARK_RIGHT_LESION,
  MARK_LEFT_LESION,
  MARK_ISLAND,          /* lesion in the island being measured */
  N_MARKS
};

enum { SIDE_RIGHT = 1, SIDE_LEFT = 2 };

/* The lung (side) a mark belongs to, 0 for none. */
static const uint8_t side_of_mark[N_MARKS] = { 0, SIDE_RIGHT, SIDE_LEFT, 0, SIDE_RIGHT, SIDE_LEFT, 0 };

typedef struct {
  int dims[3];
  gsize stride[3];
  gsize n;
} Grid;

/* Inclusive voxel box of one lung; empty while hi < lo. */
typedef struct {
  int lo[3], hi[3];
} Box;

/* Voxel counts of one lung, gathered before they become millilitres. */
typedef struct {
  guint64 lung, ggo, consolidation;
  guint64 zone_lung[PULMO_N_ZONES], zone_lesion[PULMO_N_ZONES];
  guint64 peripheral;
  double z_min, z_max;       /* world z of its voxels' centres */
  Box box;
} SideCounts;

int
pulmo_report_severity (double involved_percent, gboolean any_lesion)
{
  if (!any_lesion)
    return 0;
  if (involved_percent < 5.0)
    return 1;
  if (involved_percent <= 25.0)
    return 2;
  if (involved_percent <= 50.0)
    return 3;
  if (involved_percent <= 75.0)
    return 4;
  return 5;
}

static void
side_counts_init (SideCounts *counts)
{
  memset (counts, 0, sizeof *counts);
  counts->z_min = INFINITY;
  counts->z_max = -INFINITY;
  for (int axis = 0; axis < 3; axis++)
    {
      counts->box.lo[axis] = G_MAXINT;
      counts->box.hi[axis] = -1;
    }
}

static gboolean
box_empty (const Box *box)
{
  return box->hi[0] < box->lo[0];
}

static double
world_x (const PulmoAffine *affine, const double ijk[3])
{
  double xyz[3];
  pulmo_affine_apply (affine, ijk, xyz);
  return xyz[0];
}

/* Marks lung and lesion voxels; returns the number of lesion voxels. */
static guint64
mark_voxels (gsize n, const uint8_t *labels, uint8_t *marks)
{
  uint8_t mark_of_label[256] = { 0 };
  mark_of_label[PULMO_LABEL_RIGHT_LUNG] = MARK_RIGHT;
  mark_of_label[PULMO_LABEL_LEFT_LUNG] = MARK_LEFT;
  mark_of_label[PULMO_LABEL_GROUND_GLASS] = MARK_PENDING;
  mark_of_label[PULMO_LABEL_CONSOLIDATION] = MARK_PENDING;
  guint64 lesions = 0;
  for (gsize voxel = 0; voxel < n; voxel++)
    {
      uint8_t mark = mark_of_label[labels[voxel]];
      marks[voxel] = mark;
      lesions += mark == MARK_PENDING;
    }
  return lesions;
}

/* World x of the midline between the lungs' parenchyma centres, or of the
 * volume's centre when there are not two lungs. */
static double
midline_x (const Grid *grid, const PulmoAffine *affine, const uint8_t *marks)
{
  double sum[3][3] = { { 0 } };
  guint64 total[3] = { 0 };
  for (int k = 0; k < grid->dims[2]; k++)
    for (int j = 0; j < grid->dims[1]; j++)
      {
        const uint8_t *row = marks + j * grid->stride[1] + k * grid->stride[2];
        guint64 count[3] = { 0 }, sum_i[3] = { 0 };
        for (int i = 0; i < grid->dims[0]; i++)
          if (row[i] == MARK_RIGHT || row[i] == MARK_LEFT)
            {
              count[row[i]]++;
              sum_i[row[i]] += i;
            }
        for (int s = SIDE_RIGHT; s <= SIDE_LEFT; s++)
          {
            total[s] += count[s];
            sum[s][0] += sum_i[s];
            sum[s][1] += (double) j * count[s];
            sum[s][2] += (double) k * count[s];
          }
      }
  double centre[3] = { (grid->dims[0] - 1) / 2.0, (grid->dims[1] - 1) / 2.0, (grid->dims[2] - 1) / 2.0 };
  if (total[SIDE_RIGHT] == 0 || total[SIDE_LEFT] == 0)
    return world_x (affine, centre);
  double x = 0;
  for (int s = SIDE_RIGHT; s <= SIDE_LEFT; s++)
    {
      for (int axis = 0; axis < 3; axis++)
        centre[axis] = sum[s][axis] / total[s];
      x += world_x (affine, centre) / 2.0;
    }
  return x;
}

static void
voxel_coords (const Grid *grid, gsize voxel, int c[3])
{
  c[0] = (int) (voxel % grid->stride[1]);
  c[1] = (int) (voxel / grid->stride[1] % grid->dims[1]);
  c[2] = (int) (voxel / grid->stride[2]);
}

/* Breadth-first from @queue[0..n) through MARK_PENDING voxels, rewriting each
 * to the mark of the voxel that reaches it first. Returns the queue's length. */
static gsize
spread_sides (const Grid *grid, uint8_t *marks, guint32 *queue, gsize n)
{
  for (gsize head = 0; head < n; head++)
    {
      guint32 voxel = queue[head];
      uint8_t mark = marks[voxel];
      int c[3];
      voxel_coords (grid, voxel, c);
      for (int axis = 2; axis >= 0; axis--)
        if (c[axis] > 0 && marks[voxel - grid->stride[axis]] == MARK_PENDING)
          {
            marks[voxel - grid->stride[axis]] = mark;
            queue[n++] = (guint32) (voxel - grid->stride[axis]);
          }
      for (int axis = 0; axis < 3; axis++)
        if (c[axis] + 1 < grid->dims[axis] && marks[voxel + grid->stride[axis]] == MARK_PENDING)
          {
            marks[voxel + grid->stride[axis]] = mark;
            queue[n++] = (guint32) (voxel + grid->stride[axis]);
          }
    }
  return n;
}

/* The parenchyma mark next to @voxel of lowest index, MARK_NONE if none. */
static uint8_t
lung_neighbour (const Grid *grid, const uint8_t *marks, gsize voxel)
{
  int c[3];
  voxel_coords (grid, voxel, c);
  for (int axis = 2; axis >= 0; axis--)
    if (c[axis] > 0 && (marks[voxel - grid->stride[axis]] == MARK_RIGHT ||
                        marks[voxel - grid->stride[axis]] == MARK_LEFT))
      return marks[voxel - grid->stride[axis]];
  for (int axis = 0; axis < 3; axis++)
    if (c[axis] + 1 < grid->dims[axis] && (marks[voxel + grid->stride[axis]] == MARK_RIGHT ||
                                           marks[voxel + grid->stride[axis]] == MARK_LEFT))
      return marks[voxel + grid->stride[axis]];
  return MARK_NONE;
}

/* Gives every lesion voxel a side (report.h). @queue holds room for every lesion voxel. */
static void
assign_lesion_sides (const Grid *grid, const PulmoAffine *affine, uint8_t *marks, guint32 *queue)
{
  /* Lung voxels are the sources in storage order, so a lesion voxel next to a
   * lung takes the side of its lung neighbour of lowest index. Its lesion mark
   * does not pass for lung when its own neighbours are looked at. */
  gsize n = 0;
  for (gsize voxel = 0; voxel < grid->n; voxel++)
    if (marks[voxel] == MARK_PENDING)
      {
        uint8_t lung = lung_neighbour (grid, marks, voxel);
        if (lung == MARK_NONE)
          continue;
        marks[voxel] = lung == MARK_RIGHT ? MARK_RIGHT_LESION : MARK_LEFT_LESION;
        queue[n++] = (guint32) voxel;
      }
  spread_sides (grid, marks, queue, n);

  /* Islands that touch no lung: by their centre's side of the midline. */
  double midline = NAN;
  for (gsize seed = 0; seed < grid->n; seed++)
    {
      if (marks[seed] != MARK_PENDING)
        continue;
      if (isnan (midline))
        midline = midline_x (grid, affine, marks);
      marks[seed] = MARK_ISLAND;
      queue[0] = (guint32) seed;
      gsize size = 1;
      double sum[3] = { 0, 0, 0 };
      for (gsize head = 0; head < size; head++)
        {
          guint32 voxel = queue[head];
          int c[3];
          voxel_coords (grid, voxel, c);
          for (int axis = 0; axis < 3; axis++)
            {
              sum[axis] += c[axis];
              if (c[axis] > 0 && marks[voxel - grid->stride[axis]] == MARK_PENDING)
                {
                  marks[voxel - grid->stride[axis]] = MARK_ISLAND;
                  queue[size++] = (guint32) (voxel - grid->stride[axis]);
                }
              if (c[axis] + 1 < grid->dims[axis] && marks[voxel + grid->stride[axis]] == MARK_PENDING)
                {
                  marks[voxel + grid->stride[axis]] = MARK_ISLAND;
                  queue[size++] = (guint32) (voxel + grid->stride[axis]);
                }
            }
        }
      double centre[3] = { sum[0] / size, sum[1] / size, sum[2] / size };
      uint8_t mark = world_x (affine, centre) >= midline ? MARK_RIGHT_LESION : MARK_LEFT_LESION;
      for (gsize q = 0; q < size; q++)
        marks[queue[q]] = mark;
    }
}

/* Volumes, lesion HU and each lung's box and z extent, in one pass. */
static void
count_voxels (const Grid *grid, const PulmoAffine *affine, const uint8_t *labels, const uint8_t *marks,
              const int16_t *hu16, const float *hu32, SideCounts side[3], guint64 *effusion,
              double *hu_sum)
{
  const double dz_di = affine->m[2][0];
  for (int k = 0; k < grid->dims[2]; k++)
    for (int j = 0; j < grid->dims[1]; j++)
      {
        const gsize row = j * grid->stride[1] + k * grid->stride[2];
        const double z0 = affine->m[2][1] * j + affine->m[2][2] * k + affine->m[2][3];
        int first[3] = { G_MAXINT, G_MAXINT, G_MAXINT }, last[3] = { -1, -1, -1 };
        for (int i = 0; i < grid->dims[0]; i++)
          {
            const gsize voxel = row + i;
            uint8_t mark = marks[voxel];
            if (mark == MARK_NONE)
              {
                *effusion += labels[voxel] == PULMO_LABEL_PLEURAL_EFFUSION;
                continue;
              }
            SideCounts *s = &side[side_of_mark[mark]];
            double z = z0 + dz_di * i;
            s->lung++;
            s->z_min = MIN (s->z_min, z);
            s->z_max = MAX (s->z_max, z);
            first[side_of_mark[mark]] = MIN (first[side_of_mark[mark]], i);
            last[side_of_mark[mark]] = i;
            if (mark >= MARK_RIGHT_LESION)
              {
                s->ggo += labels[voxel] == PULMO_LABEL_GROUND_GLASS;
                s->consolidation += labels[voxel] == PULMO_LABEL_CONSOLIDATION;
                if (hu16 != NULL)
                  *hu_sum += hu16[voxel];
                else if (hu32 != NULL)
                  *hu_sum += hu32[voxel];
              }
          }
        for (int n = SIDE_RIGHT; n <= SIDE_LEFT; n++)
          if (last[n] >= 0)
            {
              Box *box = &side[n].box;
              box->lo[0] = MIN (box->lo[0], first[n]);
              box->hi[0] = MAX (box->hi[0], last[n]);
              box->lo[1] = MIN (box->lo[1], j);
              box->hi[1] = MAX (box->hi[1], j);
              box->lo[2] = MIN (box->lo[2], k);
              box->hi[2] = MAX (box->hi[2], k);
            }
      }
}

/* Lung and lesion voxels per zone of lung @n (report.h). */
static void
count_zones (const Grid *grid, const PulmoAffine *affine, const uint8_t *marks, int n, SideCounts *s)
{
  const double extent = s->z_max - s->z_min;
  const double thirds = extent > 0 ? 3.0 / extent : 0.0;
  const double dz_di = affine->m[2][0];
  const Box *box = &s->box;
  for (int k = box->lo[2]; k <= box->hi[2]; k++)
    for (int j = box->lo[1]; j <= box->hi[1]; j++)
      {
        const gsize row = j * grid->stride[1] + k * grid->stride[2];
        const double z0 = affine->m[2][1] * j + affine->m[2][2] * k + affine->m[2][3];
        for (int i = box->lo[0]; i <= box->hi[0]; i++)
          {
            uint8_t mark = marks[row + i];
            if (side_of_mark[mark] != n)
              continue;
            double t = (s->z_max - (z0 + dz_di * i)) * thirds;
            int zone = t >= 2.0 ? PULMO_ZONE_LOWER : t >= 1.0 ? PULMO_ZONE_MIDDLE : PULMO_ZONE_UPPER;
            s->zone_lung[zone]++;
            s->zone_lesion[zone] += mark >= MARK_RIGHT_LESION;
          }
      }
}

/* Squared distance (mm²) of each voxel of lung @n's box to the nearest voxel
 * outside the lung, into @dist; returns the lung's greatest squared depth. */
static float
lung_distance (const Grid *grid, const uint8_t *marks, int n, const Box *box, const double spacing_mm[3],
               float *dist)
{
  const int size[3] = { box->hi[0] - box->lo[0] + 1, box->hi[1] - box->lo[1] + 1,
                        box->hi[2] - box->lo[2] + 1 };
  for (int k = 0; k < size[2]; k++)
    for (int j = 0; j < size[1]; j++)
      {
        const uint8_t *row = marks + box->lo[0] + (j + box->lo[1]) * grid->stride[1] +
                             (k + box->lo[2]) * grid->stride[2];
        float *out = dist + (gsize) j * size[0] + (gsize) k * size[0] * size[1];
        for (int i = 0; i < size[0]; i++)
          out[i] = side_of_mark[row[i]] == n;
      }
  /* Beyond the box lies no voxel of this lung: the outside. */
  pulmo_distance_map_squared (dist, size, spacing_mm, PULMO_DISTANCE_EDGE_FEATURE);
  gsize count = (gsize) size[0] * size[1] * size[2];
  float deepest = 0;
  for (gsize v = 0; v < count; v++)
    deepest = MAX (deepest, dist[v]);
  return deepest;
}

/* Lesion voxels of lung @n in the outer third of its depth. */
static guint64
count_peripheral (const Grid *grid, const uint8_t *marks, int n, const Box *box, const float *dist,
                  float deepest)
{
  const uint8_t lesion = n == SIDE_RIGHT ? MARK_RIGHT_LESION : MARK_LEFT_LESION;
  /* distance < depth / 3, compared squared. */
  const double limit = deepest / 9.0;
  guint64 peripheral = 0;
  const float *d = dist;
  for (int k = box->lo[2]; k <= box->hi[2]; k++)
    for (int j = box->lo[1]; j <= box->hi[1]; j++)
      {
        const uint8_t *row = marks + j * grid->stride[1] + k * grid->stride[2];
        for (int i = box->lo[0]; i <= box->hi[0]; i++, d++)
          peripheral += row[i] == lesion && *d < limit;
      }
  return peripheral;
}

static void
figures_from_counts (PulmoLungFigures *figures, const SideCounts *s, double voxel_ml)
{
  guint64 lesion = s->ggo + s->consolidation;
  figures->lung_ml = s->lung * voxel_ml;
  figures->ggo_ml = s->ggo * voxel_ml;
  figures->consolidation_ml = s->consolidation * voxel_ml;
  figures->involved_percent = s->lung > 0 ? 100.0 * lesion / s->lung : 0.0;
  figures->severity = pulmo_report_severity (figures->involved_percent, lesion > 0);
  for (int zone = 0; zone < PULMO_N_ZONES; zone++)
    {
      figures->zone_involved[zone] = s->zone_lesion[zone] > 0;
      figures->zone_involved_percent[zone] =
        s->zone_lung[zone] > 0 ? 100.0 * s->zone_lesion[zone] / s->zone_lung[zone] : 0.0;
    }
}

static double
voxel_volume_ml (const PulmoAffine *affine)
{
  const double (*m)[4] = affine->m;
  double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
               m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
               m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  return fabs (det) / 1000.0;
}

gboolean
pulmo_report_compute (PulmoVolume *ct, const uint8_t *labels, PulmoReport *report, GError **error)
{
  g_return_val_if_fail (ct != NULL && labels != NULL && report != NULL, FALSE);
  Grid grid;
  pulmo_volume_get_dims (ct, grid.dims);
  grid.stride[0] = 1;
  if (!g_size_checked_mul (&grid.stride[1], 1, (gsize) grid.dims[0]) ||
      !g_size_checked_mul (&grid.stride[2], grid.stride[1], (gsize) grid.dims[1]) ||
      !g_size_checked_mul (&grid.n, grid.stride[2], (gsize) grid.dims[2]) || grid.n > G_MAXUINT32)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE,
                        _("the report handles at most %u voxels; this CT has %d×%d×%d"), G_MAXUINT32,
                        grid.dims[0], grid.dims[1], grid.dims[2]),
           FALSE;
  const PulmoAffine *affine = pulmo_volume_get_affine (ct);

  g_autofree uint8_t *marks = g_try_malloc (MAX (grid.n, 1));
  if (marks == NULL)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE,
                        _("not enough memory to report on %zu voxels"), grid.n),
           FALSE;
  SideCounts side[3];
  for (int n = 0; n < 3; n++)
    side_counts_init (&side[n]);
  guint64 lesions = mark_voxels (grid.n, labels, marks);
  if (lesions > 0)
    {
      g_autofree guint32 *queue = g_try_new (guint32, lesions);
      if (queue == NULL)
        return g_set_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE,
                            _("not enough memory to follow %" PRIu64 " lesion voxels"), lesions),
               FALSE;
      assign_lesion_sides (&grid, affine, marks, queue);
    }

  gboolean hu = pulmo_volume_get_intensity_kind (ct) == PULMO_INTENSITY_HU;
  guint64 effusion = 0;
  double hu_sum = 0;
  count_voxels (&grid, affine, labels, marks, hu ? pulmo_volume_get_int16 (ct) : NULL,
                hu ? pulmo_volume_get_float (ct) : NULL, side, &effusion, &hu_sum);

  /* One distance buffer, as large as the larger lung's box, serves both. */
  gsize box_voxels = 0;
  for (int n = SIDE_RIGHT; n <= SIDE_LEFT; n++)
    if (!box_empty (&side[n].box))
      {
        gsize size = 1;
        for (int axis = 0; axis < 3; axis++)
          size *= side[n].box.hi[axis] - side[n].box.lo[axis] + 1;   /* ≤ grid.n: no overflow */
        box_voxels = MAX (box_voxels, size);
      }
  if (lesions > 0 && box_voxels > 0)
    {
      g_autofree float *dist = g_try_new (float, box_voxels);
      if (dist == NULL)
        return g_set_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE,
                            _("not enough memory for the lungs' distance map (%zu voxels)"),
                            box_voxels),
               FALSE;
      const double spacing_mm[3] = { pulmo_affine_axis_spacing (affine, 0),
                                     pulmo_affine_axis_spacing (affine, 1),
                                     pulmo_affine_axis_spacing (affine, 2) };
      for (int n = SIDE_RIGHT; n <= SIDE_LEFT; n++)
        if (side[n].ggo + side[n].consolidation > 0)
          {
            float deepest = lung_distance (&grid, marks, n, &side[n].box, spacing_mm, dist);
            side[n].peripheral = count_peripheral (&grid, marks, n, &side[n].box, dist, deepest);
          }
    }
  for (int n = SIDE_RIGHT; n <= SIDE_LEFT; n++)
    if (!box_empty (&side[n].box))
      count_zones (&grid, affine, marks, n, &side[n]);

  /* The total: both lungs' counts added, zone by zone. */
  SideCounts *total = &side[0];
  side_counts_init (total);
  for (int n = SIDE_RIGHT; n <= SIDE_LEFT; n++)
    {
      total->lung += side[n].lung;
      total->ggo += side[n].ggo;
      total->consolidation += side[n].consolidation;
      total->peripheral += side[n].peripheral;
      for (int zone = 0; zone < PULMO_N_ZONES; zone++)
        {
          total->zone_lung[zone] += side[n].zone_lung[zone];
          total->zone_lesion[zone] += side[n].zone_lesion[zone];
        }
    }

  const double voxel_ml = voxel_volume_ml (affine);
  memset (report, 0, sizeof *report);
  figures_from_counts (&report->right, &side[SIDE_RIGHT], voxel_ml);
  figures_from_counts (&report->left, &side[SIDE_LEFT], voxel_ml);
  figures_from_counts (&report->total, total, voxel_ml);
  report->total.severity = 0;
  report->severity_sum = report->right.severity + report->left.severity;
  guint64 lesion = total->ggo + total->consolidation;
  report->lesion_mean_hu = hu && lesion > 0 ? hu_sum / lesion : NAN;
  if (lesion > 0)
    {
      report->peripheral_percent = 100.0 * total->peripheral / lesion;
      report->central_percent = 100.0 - report->peripheral_percent;
    }
  report->bilateral = side[SIDE_RIGHT].ggo + side[SIDE_RIGHT].consolidation > 0 &&
                      side[SIDE_LEFT].ggo + side[SIDE_LEFT].consolidation > 0;
  for (int zone = 0; zone < PULMO_N_ZONES; zone++)
    report->n_zones_involved += report->right.zone_involved[zone] + report->left.zone_involved[zone];
  report->effusion_ml = effusion * voxel_ml;
  return TRUE;
}

static void
add_double (JsonBuilder *builder, const char *name, double value)
{
  json_builder_set_member_name (builder, name);
  if (isfinite (value))
    json_builder_add_double_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static void
add_figures (JsonBuilder *builder, const char *name, const PulmoLungFigures *figures, gboolean per_lung)
{
  json_builder_set_member_name (builder, name);
  json_builder_begin_object (builder);
  add_double (builder, "lung_ml", figures->lung_ml);
  add_double (builder, "ggo_ml", figures->ggo_ml);
  add_double (builder, "consolidation_ml", figures->consolidation_ml);
  add_double (builder, "involved_percent", figures->involved_percent);
  if (per_lung)
    {
      json_builder_set_member_name (builder, "severity");
      json_builder_add_int_value (builder, figures->severity);
      json_builder_set_member_name (builder, "zones");
      json_builder_begin_object (builder);
      add_double (builder, "upper", figures->zone_involved_percent[PULMO_ZONE_UPPER]);
      add_double (builder, "middle", figures->zone_involved_percent[PULMO_ZONE_MIDDLE]);
      add_double (builder, "lower", figures->zone_involved_percent[PULMO_ZONE_LOWER]);
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);
}

JsonNode *
pulmo_report_to_json (const PulmoReport *report, const char *ct_name, const char *model_name)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "ct");
  json_builder_add_string_value (builder, ct_name != NULL ? ct_name : "");
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, model_name != NULL ? model_name : "");
  json_builder_set_member_name (builder, "disclaimer");
  json_builder_add_string_value (builder, PULMO_REPORT_DISCLAIMER);
  add_figures (builder, "right", &report->right, TRUE);
  add_figures (builder, "left", &report->left, TRUE);
  add_figures (builder, "total", &report->total, FALSE);
  json_builder_set_member_name (builder, "severity_sum");
  json_builder_add_int_value (builder, report->severity_sum);
  add_double (builder, "lesion_mean_hu", report->lesion_mean_hu);
  add_double (builder, "peripheral_percent", report->peripheral_percent);
  add_double (builder, "central_percent", report->central_percent);
  json_builder_set_member_name (builder, "bilateral");
  json_builder_add_boolean_value (builder, report->bilateral);
  json_builder_set_member_name (builder, "zones_involved");
  json_builder_add_int_value (builder, report->n_zones_involved);
  add_double (builder, "effusion_ml", report->effusion_ml);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/* @value with @format ("%.1f"), a dot for decimals whatever the locale. */
static void
append_number (GString *out, const char *format, double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append_c (out, ',');
  g_string_append (out, g_ascii_formatd (buffer, sizeof buffer, format, value));
}

/* @field as a CSV field: quoted, with quotes doubled. */
static void
append_field (GString *out, const char *field)
{
  g_string_append_c (out, '"');
  for (const char *c = field != NULL ? field : ""; *c != '\0'; c++)
    {
      if (*c == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *c);
    }
  g_string_append (out, "\",");
}

static void
append_row (GString *out, const char *ct_name, const char *model_name, const char *region,
            const PulmoLungFigures *figures, int severity)
{
  append_field (out, ct_name);
  append_field (out, model_name);
  g_string_append (out, region);
  append_number (out, "%.1f", figures->lung_ml);
  append_number (out, "%.1f", figures->ggo_ml);
  append_number (out, "%.1f", figures->consolidation_ml);
  append_number (out, "%.2f", figures->involved_percent);
  g_string_append_printf (out, ",%d", severity);
  for (int zone = 0; zone < PULMO_N_ZONES; zone++)
    append_number (out, "%.2f", figures->zone_involved_percent[zone]);
  g_string_append_c (out, '\n');
}

char *
pulmo_report_to_csv (const PulmoReport *report, const char *ct_name, const char *model_name)
{
  GString *out = g_string_new ("ct,model,region,lung_ml,ggo_ml,consolidation_ml,involved_percent,severity,"
                               "upper_percent,middle_percent,lower_percent\n");
  append_row (out, ct_name, model_name, "right", &report->right, report->right.severity);
  append_row (out, ct_name, model_name, "left", &report->left, report->left.severity);
  append_row (out, ct_name, model_name, "total", &report->total, report->severity_sum);
  return g_string_free (out, FALSE);
}

static gboolean
write_file (const char *path, const void *data, gsize size, GError **error)
{
  g_autoptr (GError) local = NULL;
  if (g_file_set_contents_full (path, data, (gssize) size,
                                G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0666, &local))
    return TRUE;
  gboolean missing = local->domain == G_FILE_ERROR &&
                     (local->code == G_FILE_ERROR_NOENT || local->code == G_FILE_ERROR_NOTDIR);
  g_autofree char *folder = g_path_get_dirname (path);
  if (missing)
    g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND,
                 _("%s: cannot write the report: the folder %s does not exist"), path, folder);
  else
    g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("%s: cannot write the report: %s"), path,
                 local->message);
  return FALSE;
}

gboolean
pulmo_report_save (const PulmoReport *report, PulmoVolume *ct, const uint8_t *labels, const char *ct_name,
                   const char *model_name, const char *path, GError **error)
{
  g_return_val_if_fail (report != NULL && path != NULL, FALSE);
  g_autofree char *lower = g_ascii_strdown (path, -1);
  if (g_str_has_suffix (lower, ".json"))
    {
      g_autoptr (JsonNode) root = pulmo_report_to_json (report, ct_name, model_name);
      g_autofree char *text = json_to_string (root, TRUE);
      g_autofree char *contents = g_strconcat (text, "\n", NULL);
      return write_file (path, contents, strlen (contents), error);
    }
  if (g_str_has_suffix (lower, ".csv"))
    {
      g_autofree char *text = pulmo_report_to_csv (report, ct_name, model_name);
      return write_file (path, text, strlen (text), error);
    }
  if (g_str_has_suffix (lower, ".pdf"))
    {
      g_autoptr (GBytes) pdf = pulmo_report_pdf (report, ct, labels, ct_name, model_name, error);
      return pdf != NULL && write_file (path, g_bytes_get_data (pdf, NULL), g_bytes_get_size (pdf), error);
    }
  return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                      _("%s: unknown report format; the name must end in .json, .csv or .pdf"), path),
         FALSE;
}
