/* dataset.c: reading nnU-Net v2 raw folders (see dataset.h). */
#include "train/dataset.h"

#include <glib/gi18n-lib.h>
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "core/pulmo-error.h"
#include "core/pulmo-label-map.h"
#include "nn/rng.h"
#include "segment/preprocess.h"

/* Pulmo's label convention: values 0..8 (DESIGN.md). */
#define N_CONVENTION_VALUES 9

typedef struct {
  char *id, *image_path, *label_path;
  int dir_index;
} CaseFiles;

static void
case_files_clear (gpointer data)
{
  CaseFiles *files = data;
  g_free (files->id);
  g_free (files->image_path);
  g_free (files->label_path);
}

/* dataset.json: the declared label values (a bit set) and the file ending. */
static gboolean
read_dataset_json (const char *dir, guint *declared, char **file_ending, int *n_training,
                   GError **error)
{
  g_autofree char *path = g_build_filename (dir, "dataset.json", NULL);
  g_autofree char *display = g_filename_display_name (path);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local_error = NULL;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND,
                        _("%s is missing: is this a dataset folder in the nnU-Net v2 raw layout?"),
                        display), FALSE;
  /* json-glib's message names the file, line and column. */
  if (!json_parser_load_from_file (parser, path, &local_error))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, "%s", local_error->message),
           FALSE;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, _("%s: not a JSON object"), display),
           FALSE;
  JsonObject *object = json_node_get_object (root);

  JsonNode *channels = json_object_get_member (object, "channel_names");
  if (channels == NULL || !JSON_NODE_HOLDS_OBJECT (channels))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("%s: “channel_names” is missing or not an object"), display), FALSE;
  if (json_object_get_size (json_node_get_object (channels)) != 1)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED,
                        _("%s: %u input channels; Pulmo trains on one (the CT)"), display,
                        json_object_get_size (json_node_get_object (channels))), FALSE;

  JsonNode *labels = json_object_get_member (object, "labels");
  if (labels == NULL || !JSON_NODE_HOLDS_OBJECT (labels))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("%s: “labels” is missing or not an object"), display), FALSE;
  *declared = 0;
  g_autoptr (GList) names = json_object_get_members (json_node_get_object (labels));
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *value = json_object_get_member (json_node_get_object (labels), l->data);
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_INT64)
        return g_set_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED,
                            _("%s: label “%s” is not one whole number (region-based labels are "
                            "not supported)"), display, (const char *) l->data), FALSE;
      gint64 v = json_node_get_int (value);
      if (v < 0 || v >= N_CONVENTION_VALUES)
        return g_set_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED,
                            _("%s: label “%s” has value %" PRId64
                            ", outside Pulmo's label convention (0 to 8)"), display,
                            (const char *) l->data, v), FALSE;
      *declared |= 1u << v;
    }

  *file_ending = g_strdup (json_object_has_member (object, "file_ending")
                             ? json_object_get_string_member (object, "file_ending") : NULL);
  if (*file_ending == NULL || **file_ending == '\0')
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("%s: “file_ending” is missing or empty"), display), FALSE;
  *n_training = json_object_has_member (object, "numTraining")
                  ? (int) json_object_get_int_member (object, "numTraining") : -1;
  return TRUE;
}

/* g_ptr_array_sort passes pointers to the elements. */
static int
compare_ids (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The cases of one folder, sorted by id. */
static gboolean
list_cases (const char *dir, const char *file_ending, int n_training, GArray *cases,
            GError **error)
{
  g_autofree char *images_dir = g_build_filename (dir, "imagesTr", NULL);
  g_autofree char *display = g_filename_display_name (images_dir);
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GDir) listing = g_dir_open (images_dir, 0, &local_error);
  if (listing == NULL)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND, "%s: %s", display,
                        local_error->message), FALSE;

  g_autofree char *suffix = g_strconcat ("_0000", file_ending, NULL);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  for (const char *name; (name = g_dir_read_name (listing)) != NULL;)
    if (g_str_has_suffix (name, suffix) && strlen (name) > strlen (suffix))
      g_ptr_array_add (ids, g_strndup (name, strlen (name) - strlen (suffix)));
    else if (g_str_has_suffix (name, file_ending))
      return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                          _("%s: “%s” is not named <case>_0000%s (one channel per case)"), display,
                          name, file_ending), FALSE;
  if (ids->len == 0)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, _("%s: no <case>_0000%s images"),
                        display, file_ending), FALSE;
  /* Fewer cases than dataset.json counts means some are missing. More is
   * fine: an export killed after adding its case but before updating
   * dataset.json (train/export.c) leaves the count one behind. */
  if (n_training >= 0 && (guint) n_training > ids->len)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("%s: dataset.json says numTraining %d but the folder holds %u cases"),
                        display, n_training, ids->len), FALSE;
  g_ptr_array_sort (ids, compare_ids);
  for (guint i = 0; i < ids->len; i++)
    {
      const char *id = g_ptr_array_index (ids, i);
      g_autofree char *image = g_strconcat (id, suffix, NULL);
      g_autofree char *label = g_strconcat (id, file_ending, NULL);
      CaseFiles files = {
        g_strdup (id),
        g_build_filename (images_dir, image, NULL),
        g_build_filename (dir, "labelsTr", label, NULL),
      };
      g_array_append_val (cases, files);
    }
  return TRUE;
}

static int
compare_case_ids (gconstpointer a, gconstpointer b)
{
  return strcmp (((const CaseFiles *) a)->id, ((const CaseFiles *) b)->id);
}

/* Loads one case and appends its slices to the sample buffers. */
static gboolean
load_case (const CaseFiles *files, guint declared, const PulmoModelInfo *info, int max_samples,
           GByteArray *images, GByteArray *labels, PulmoDatasetCase *out, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  if (!g_file_test (files->label_path, G_FILE_TEST_EXISTS))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("case %s: its label file %s is missing"), files->id, files->label_path),
           FALSE;
  g_autoptr (PulmoVolume) volume = pulmo_volume_load (files->image_path, NULL, NULL, &local_error);
  g_autoptr (PulmoLabelMap) map = volume ? pulmo_label_map_load (volume, files->label_path, NULL,
                                                                 NULL, &local_error) : NULL;
  if (map == NULL)
    return g_set_error (error, PULMO_ERROR, local_error->code, _("case %s: %s"), files->id,
                        local_error->message), FALSE;

  guint64 counts[256];
  pulmo_label_map_count (map, counts);
  out->value_set = 0;
  for (int v = 0; v < 256; v++)
    if (counts[v] > 0)
      {
        if (v >= N_CONVENTION_VALUES || !(declared & (1u << v)))
          return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                              _("case %s: %" PRIu64 " voxels hold label value %d, which "
                              "dataset.json does not declare"), files->id, counts[v], v), FALSE;
        out->value_set |= 1u << v;
      }

  int dims[3];
  pulmo_volume_get_dims (volume, dims);
  PulmoReslice axial;
  PulmoSliceFit fit;
  pulmo_preprocess_axial (volume, info, &axial, &fit);

  int n = axial.n_slices;
  int keep = max_samples > 0 ? MIN (n, max_samples) : n;
  size_t slice_pixels = (size_t) axial.width * axial.height;
  size_t input_pixels = (size_t) info->input_width * info->input_height;
  g_autofree float *values = g_new (float, slice_pixels);
  g_autofree uint8_t *slice_labels = g_malloc (slice_pixels);
  g_autofree float *input = g_new (float, input_pixels);
  g_autofree uint8_t *grey = g_malloc (input_pixels);
  g_autofree uint8_t *input_labels = g_malloc (input_pixels);
  PulmoIntensityKind kind = pulmo_volume_get_intensity_kind (volume);
  out->prewindowed = kind == PULMO_INTENSITY_PREWINDOWED_8BIT;
  for (int s = 0; s < keep; s++)
    {
      int slice = (int) (((double) s + 0.5) * n / keep);
      pulmo_preprocess_extract (volume, &axial, slice, values);
      pulmo_preprocess_slice (info, kind, values, &fit, input);
      for (size_t i = 0; i < input_pixels; i++)
        grey[i] = (uint8_t) (input[i] * 255 + 0.5f);
      pulmo_preprocess_extract_labels (pulmo_label_map_get_data (map), dims, &axial, slice,
                                       slice_labels);
      pulmo_preprocess_labels (slice_labels, &fit, input_labels);
      g_byte_array_append (images, grey, (guint) input_pixels);
      g_byte_array_append (labels, input_labels, (guint) input_pixels);
    }
  out->n_samples = keep;
  return TRUE;
}

PulmoDataset *
pulmo_dataset_load (const char *const *dirs, const PulmoModelInfo *info, int max_samples_per_case,
                    GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (dirs != NULL && info != NULL, NULL);

  g_autoptr (GArray) files = g_array_new (FALSE, TRUE, sizeof (CaseFiles));
  g_array_set_clear_func (files, case_files_clear);
  GArray *declared = g_array_new (FALSE, TRUE, sizeof (guint));
  for (int d = 0; dirs[d] != NULL; d++)
    {
      guint values;
      int n_training;
      g_autofree char *ending = NULL;
      guint before = files->len;
      if (!read_dataset_json (dirs[d], &values, &ending, &n_training, error) ||
          !list_cases (dirs[d], ending, n_training, files, error))
        {
          g_array_unref (declared);
          return NULL;
        }
      for (guint i = before; i < files->len; i++)
        {
          g_array_index (files, CaseFiles, i).dir_index = d;
          g_array_append_val (declared, values);
        }
    }
  /* Ids must be unique over all folders: a case is one patient's scan. */
  g_autoptr (GArray) sorted = g_array_sized_new (FALSE, FALSE, sizeof (CaseFiles), files->len);
  g_array_append_vals (sorted, files->data, files->len);
  g_array_sort (sorted, compare_case_ids);
  for (guint i = 1; i < sorted->len; i++)
    if (compare_case_ids (&g_array_index (sorted, CaseFiles, i - 1),
                          &g_array_index (sorted, CaseFiles, i)) == 0)
      {
        g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, _("case %s appears in two folders"),
                     g_array_index (sorted, CaseFiles, i).id);
        g_array_unref (declared);
        return NULL;
      }

  g_autoptr (PulmoDataset) dataset = g_new0 (PulmoDataset, 1);
  dataset->width = info->input_width;
  dataset->height = info->input_height;
  dataset->n_cases = (int) files->len;
  dataset->cases = g_new0 (PulmoDatasetCase, files->len);
  g_autoptr (GByteArray) images = g_byte_array_new ();
  g_autoptr (GByteArray) labels = g_byte_array_new ();
  for (guint c = 0; c < files->len; c++)
    {
      const CaseFiles *case_files = &g_array_index (files, CaseFiles, c);
      PulmoDatasetCase *out = &dataset->cases[c];
      out->id = g_strdup (case_files->id);
      out->image_path = g_strdup (case_files->image_path);
      out->label_path = g_strdup (case_files->label_path);
      out->dir_index = case_files->dir_index;
      out->first_sample = dataset->n_samples;
      if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
          !load_case (case_files, g_array_index (declared, guint, c), info, max_samples_per_case,
                      images, labels, out, error))
        {
          g_array_unref (declared);
          return NULL;
        }
      dataset->n_samples += out->n_samples;
    }
  g_array_unref (declared);

  dataset->images = g_byte_array_steal (images, NULL);
  dataset->labels = g_byte_array_steal (labels, NULL);
  dataset->sample_case = g_new (int, MAX (dataset->n_samples, 1));
  for (int c = 0; c < dataset->n_cases; c++)
    for (int s = 0; s < dataset->cases[c].n_samples; s++)
      dataset->sample_case[dataset->cases[c].first_sample + s] = c;
  return g_steal_pointer (&dataset);
}

void
pulmo_dataset_free (PulmoDataset *dataset)
{
  if (dataset == NULL)
    return;
  for (int c = 0; c < dataset->n_cases; c++)
    {
      g_free (dataset->cases[c].id);
      g_free (dataset->cases[c].image_path);
      g_free (dataset->cases[c].label_path);
    }
  g_free (dataset->cases);
  g_free (dataset->images);
  g_free (dataset->labels);
  g_free (dataset->sample_case);
  g_free (dataset);
}

gboolean
pulmo_dataset_split (const PulmoDataset *dataset, const char *ids, double fraction, guint64 seed,
                     const gboolean *eligible, gboolean *is_validation, GError **error)
{
  memset (is_validation, 0, dataset->n_cases * sizeof (gboolean));
  if (ids != NULL)
    {
      g_auto (GStrv) wanted = g_strsplit (ids, ",", -1);
      for (int w = 0; wanted[w] != NULL; w++)
        {
          const char *id = g_strstrip (wanted[w]);
          if (*id == '\0')
            continue;
          int found = -1;
          for (int c = 0; c < dataset->n_cases && found < 0; c++)
            if (strcmp (dataset->cases[c].id, id) == 0)
              found = c;
          if (found < 0)
            return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                                _("validation case %s is not in the dataset"), id), FALSE;
          is_validation[found] = TRUE;
        }
      return TRUE;
    }

  /* Per kind of case, a seeded shuffle; the first round(fraction · n) go to
   * validation, at least one of every kind that has two or more cases. */
  g_autofree int *order = g_new (int, MAX (dataset->n_cases, 1));
  PulmoRng rng;
  pulmo_rng_init (&rng, seed ^ 0x5e1ec7ull);
  g_autoptr (GHashTable) done = g_hash_table_new (g_direct_hash, g_direct_equal);
  for (int c = 0; c < dataset->n_cases; c++)
    {
      guint kind = dataset->cases[c].value_set;
      if (eligible != NULL && !eligible[c])
        continue;
      if (g_hash_table_contains (done, GUINT_TO_POINTER (kind + 1)))
        continue;
      g_hash_table_add (done, GUINT_TO_POINTER (kind + 1));
      int n = 0;
      for (int k = c; k < dataset->n_cases; k++)
        if (dataset->cases[k].value_set == kind && (eligible == NULL || eligible[k]))
          order[n++] = k;
      for (int i = n - 1; i > 0; i--)
        {
          int j = (int) pulmo_rng_below (&rng, (guint32) i + 1);
          int t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
      int n_val = (int) (fraction * n + 0.5);
      if (n >= 2 && fraction > 0)
        n_val = CLAMP (n_val, 1, n - 1);
      for (int i = 0; i < n_val && i < n; i++)
        is_validation[order[i]] = TRUE;
    }
  return TRUE;
}

int
pulmo_dataset_hold_out_slices (const PulmoDataset *dataset, int c, double fraction, int gap,
                               guint64 seed, PulmoSampleRole *roles)
{
  g_return_val_if_fail (c >= 0 && c < dataset->n_cases && gap >= 0, 0);
  int n = dataset->cases[c].n_samples;
  for (int s = 0; s < n; s++)
    roles[s] = PULMO_SAMPLE_TRAIN;
  int want = (int) (fraction * n + 0.5);
  if (want < 1)
    return 0;
  /* Fewer slabs until each fits in its part of the scan with its two gaps
   * and one slice to spare; one slab shrinks until it fits. */
  int slabs = MAX (1, (want + PULMO_HOLDOUT_SLAB_SLICES / 2) / PULMO_HOLDOUT_SLAB_SLICES);
  while (slabs > 1 && (want + slabs - 1) / slabs + 2 * gap >= n / slabs)
    slabs--;
  if (slabs == 1)
    want = MIN (want, n - 2 * gap - 1);
  if (want < 1)
    return 0;

  /* The case's own stream: adding a case leaves the others' slabs alone. */
  PulmoRng rng;
  pulmo_rng_init (&rng, seed ^ ((guint64) g_str_hash (dataset->cases[c].id) << 17) ^ 0x401dc0deull);
  for (int i = 0; i < slabs; i++)
    {
      int part_begin = (int) ((gint64) n * i / slabs), part_end = (int) ((gint64) n * (i + 1) / slabs);
      int length = (int) ((gint64) want * (i + 1) / slabs - (gint64) want * i / slabs);
      int room = part_end - part_begin - length - 2 * gap;   /* >= 0 by the choice above */
      int begin = part_begin + gap + (int) pulmo_rng_below (&rng, (guint32) room + 1);
      for (int s = MAX (begin - gap, 0); s < MIN (begin + length + gap, n); s++)
        roles[s] = s >= begin && s < begin + length ? PULMO_SAMPLE_HELD_OUT : PULMO_SAMPLE_GAP;
    }
  return want;
}
