#include "core/pulmo-label-map.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <nifti1.h>
#include <string.h>

#include "core/nifti-io.h"
#include "core/pulmo-error.h"

#define CHUNK_VOXELS ((size_t) 1 << 20)

struct _PulmoLabelMap {
  GObject parent_instance;
  PulmoVolume *ct;
  PulmoLabelTable *table;
  uint8_t *labels;
  guint64 revision;
  PulmoBox dirty;
};

enum {
  SIGNAL_CHANGED,
  SIGNAL_TABLE_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (PulmoLabelMap, pulmo_label_map, G_TYPE_OBJECT)

static void
pulmo_label_map_finalize (GObject *object)
{
  PulmoLabelMap *map = PULMO_LABEL_MAP (object);
  g_clear_pointer (&map->ct, pulmo_volume_unref);
  g_clear_pointer (&map->table, pulmo_label_table_free);
  g_clear_pointer (&map->labels, g_free);
  G_OBJECT_CLASS (pulmo_label_map_parent_class)->finalize (object);
}

static void
pulmo_label_map_class_init (PulmoLabelMapClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pulmo_label_map_finalize;

  /* Emitted after voxels changed, with the PulmoBox that holds every change. */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                          NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  /* Emitted after the label table was replaced: names and colours, not voxels. */
  signals[SIGNAL_TABLE_CHANGED] = g_signal_new ("table-changed", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

/* Values in the map that the table does not describe get "Label N" entries. */
static void
define_present_values (PulmoLabelMap *map)
{
  guint64 counts[256];
  pulmo_label_map_count (map, counts);
  for (int value = 1; value < 256; value++)
    if (counts[value] > 0)
      pulmo_label_table_ensure (map->table, (uint8_t) value);
}

static void
pulmo_label_map_init (PulmoLabelMap *map)
{
}

static PulmoLabelMap *
label_map_new_with (PulmoVolume *ct, uint8_t *labels)
{
  PulmoLabelMap *map = g_object_new (PULMO_TYPE_LABEL_MAP, NULL);
  map->ct = pulmo_volume_ref (ct);
  map->table = pulmo_label_table_new_default ();
  map->labels = labels;
  return map;
}

PulmoLabelMap *
pulmo_label_map_new (PulmoVolume *ct)
{
  return label_map_new_with (ct, g_new0 (uint8_t, pulmo_volume_get_n_voxels (ct)));
}

/* The label file must lie on the CT's grid: same dimensions, and the voxel
 * centres at the eight corners within a tenth of a voxel of the CT's. */
static gboolean
check_grid (PulmoVolume *ct, const PulmoNiftiHeader *header, GError **error)
{
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  if (memcmp (dims, header->dims, sizeof dims) != 0)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_GRID_MISMATCH,
                   _("%s: the label map is %d×%d×%d voxels but the CT is %d×%d×%d; it belongs to "
                   "another scan or was resampled"), header->path, header->dims[0], header->dims[1],
                   header->dims[2], dims[0], dims[1], dims[2]);
      return FALSE;
    }

  const double *spacing = pulmo_volume_get_spacing (ct);
  double tolerance = 0.1 * MIN (spacing[0], MIN (spacing[1], spacing[2]));
  double worst = 0;
  for (int corner = 0; corner < 8; corner++)
    {
      double ijk[3], a[3], b[3];
      for (int axis = 0; axis < 3; axis++)
        ijk[axis] = (corner >> axis) & 1 ? dims[axis] - 1 : 0;
      pulmo_affine_apply (pulmo_volume_get_affine (ct), ijk, a);
      pulmo_affine_apply (&header->affine, ijk, b);
      double distance = sqrt ((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1])
                              + (a[2] - b[2]) * (a[2] - b[2]));
      worst = MAX (worst, distance);
    }
  if (!(worst <= tolerance))
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_GRID_MISMATCH,
                   _("%s: the label map has the CT's dimensions but lies up to %.1f mm away from the "
                   "CT's voxels (its position or orientation in the header differs)"),
                   header->path, worst);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_labels (const PulmoNiftiHeader *header, uint8_t *labels, PulmoProgress *progress,
             GCancellable *cancellable, GError **error)
{
  g_autoptr (PulmoNiftiReader) reader = pulmo_nifti_reader_open (header, error);
  if (reader == NULL)
    return FALSE;

  g_autofree void *raw = g_malloc (CHUNK_VOXELS * (size_t) header->bytes_per_voxel);
  g_autofree double *values = g_new (double, CHUNK_VOXELS);
  for (size_t done = 0; done < header->n_voxels;)
    {
      size_t n = MIN (CHUNK_VOXELS, header->n_voxels - done);
      if (g_cancellable_is_cancelled (cancellable))
        {
          g_set_error_literal (error, PULMO_ERROR, PULMO_ERROR_CANCELLED, _("Loading was cancelled"));
          return FALSE;
        }
      if (!pulmo_nifti_reader_read (reader, raw, n, error))
        return FALSE;
      pulmo_nifti_to_double (header->datatype, raw, n, header->slope, header->inter, values);
      for (size_t v = 0; v < n; v++)
        {
          double value = values[v];
          if (!(value >= 0 && value <= 255 && value == floor (value)))
            {
              size_t index = done + v;
              size_t plane = (size_t) header->dims[0] * header->dims[1];
              g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                           _("%s: voxel (%zu, %zu, %zu) holds %g; a label map holds whole numbers "
                           "from 0 to 255"), header->path, index % header->dims[0],
                           index % plane / header->dims[0], index / plane, value);
              return FALSE;
            }
          labels[done + v] = (uint8_t) value;
        }
      done += n;
      pulmo_progress_set (progress, (gint64) done);
    }
  return pulmo_nifti_reader_finish (reader, error);
}

PulmoLabelMap *
pulmo_label_map_load (PulmoVolume *ct, const char *path, PulmoProgress *progress,
                      GCancellable *cancellable, GError **error)
{
  PulmoNiftiHeader header;
  if (!pulmo_nifti_read_header (path, &header, error))
    return NULL;

  g_autofree uint8_t *labels = NULL;
  gboolean ok = check_grid (ct, &header, error);
  if (ok)
    {
      pulmo_progress_begin (progress, N_("Reading labels"), (gint64) header.n_voxels);
      labels = g_new (uint8_t, header.n_voxels);
      ok = read_labels (&header, labels, progress, cancellable, error);
    }
  pulmo_nifti_header_clear (&header);
  if (!ok)
    return NULL;

  PulmoLabelMap *map = label_map_new_with (ct, g_steal_pointer (&labels));
  define_present_values (map);
  return map;
}

gboolean
pulmo_label_map_save (PulmoLabelMap *map, const char *path, GError **error)
{
  int dims[3];
  pulmo_volume_get_dims (map->ct, dims);
  return pulmo_nifti_write (path, dims, NIFTI_TYPE_UINT8, map->labels,
                            pulmo_volume_get_nifti_geometry (map->ct), error);
}

PulmoVolume *
pulmo_label_map_get_volume (PulmoLabelMap *map)
{
  return map->ct;
}

PulmoLabelTable *
pulmo_label_map_get_table (PulmoLabelMap *map)
{
  return map->table;
}

void
pulmo_label_map_set_table (PulmoLabelMap *map, const PulmoLabelTable *table)
{
  pulmo_label_table_free (map->table);
  map->table = pulmo_label_table_copy (table);
  define_present_values (map);
  g_signal_emit (map, signals[SIGNAL_TABLE_CHANGED], 0);
}

const uint8_t *
pulmo_label_map_get_data (PulmoLabelMap *map)
{
  return map->labels;
}

uint8_t *
pulmo_label_map_get_data_mutable (PulmoLabelMap *map)
{
  return map->labels;
}

void
pulmo_label_map_changed (PulmoLabelMap *map, const PulmoBox *box)
{
  map->revision++;
  map->dirty = *box;
  g_signal_emit (map, signals[SIGNAL_CHANGED], 0, &map->dirty);
}

guint64
pulmo_label_map_get_revision (PulmoLabelMap *map)
{
  return map->revision;
}

const PulmoBox *
pulmo_label_map_get_dirty_box (PulmoLabelMap *map)
{
  return &map->dirty;
}

uint8_t
pulmo_label_map_get (PulmoLabelMap *map, int i, int j, int k)
{
  int dims[3];
  pulmo_volume_get_dims (map->ct, dims);
  g_return_val_if_fail (i >= 0 && j >= 0 && k >= 0 && i < dims[0] && j < dims[1] && k < dims[2], 0);
  return map->labels[((size_t) k * dims[1] + j) * dims[0] + i];
}

void
pulmo_label_map_count (PulmoLabelMap *map, guint64 counts[256])
{
  size_t n = pulmo_volume_get_n_voxels (map->ct);
  memset (counts, 0, 256 * sizeof counts[0]);
  for (size_t v = 0; v < n; v++)
    counts[map->labels[v]]++;
}
