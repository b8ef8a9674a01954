#include "train/export.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <nifti1.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/nifti-io.h"
#include "core/pulmo-error.h"
#include "pulmo-config.h"

#define STAGING_DIR ".pulmo-staging"
#define LOCK_FILE ".pulmo-export.lock"
#define SIDECAR_DIR "pulmo-cases"
#define FILE_ENDING ".nii.gz"

static const char *const convention_names[] = { "pulmo", "covid19-ct-seg", "binary-infection" };

gboolean
pulmo_export_convention_from_name (const char *name, PulmoExportConvention *convention)
{
  for (guint c = 0; c < G_N_ELEMENTS (convention_names); c++)
    if (g_strcmp0 (name, convention_names[c]) == 0)
      {
        *convention = (PulmoExportConvention) c;
        return TRUE;
      }
  return FALSE;
}

const char *
pulmo_export_convention_name (PulmoExportConvention convention)
{
  return convention_names[convention];
}

void
pulmo_export_options_init (PulmoExportOptions *options)
{
  memset (options, 0, sizeof *options);
  options->convention = PULMO_EXPORT_PULMO;
  options->editing_seconds = -1.0;
}

/* The names dataset.json gives Pulmo's own values (as in covid-2d-train). */
static const char *const pulmo_value_names[] = {
  "background", "right_lung", "left_lung", "ground_glass_opacity", "consolidation",
  "pleural_effusion", "lung_unknown_side", "infection_unknown_type", "unknown_not_infection",
};

/* A label's name as a dataset.json key: lower case, words joined by "_". */
static char *
json_label_name (const PulmoLabelTable *table, int value)
{
  if (value < (int) G_N_ELEMENTS (pulmo_value_names))
    return g_strdup (pulmo_value_names[value]);
  const PulmoLabel *label = pulmo_label_table_get (table, (uint8_t) value);
  GString *name = g_string_new (NULL);
  for (const char *c = label->defined ? label->name : ""; *c; c++)
    if (g_ascii_isalnum (*c))
      g_string_append_c (name, g_ascii_tolower (*c));
    else if (name->len > 0 && name->str[name->len - 1] != '_')
      g_string_append_c (name, '_');
  while (name->len > 0 && name->str[name->len - 1] == '_')
    g_string_truncate (name, name->len - 1);
  if (name->len == 0)
    g_string_printf (name, "label_%d", value);
  return g_string_free (name, FALSE);
}

/* @out gets @in in the convention's values; @names[v] the name of each value
 * used (others NULL). */
static gboolean
convert_labels (const uint8_t *in, gsize n, PulmoExportConvention convention,
                const PulmoLabelTable *table, uint8_t *out, char *names[256], GError **error)
{
  uint8_t lut[256] = { 0 };
  for (int v = 0; v < 256; v++)
    lut[v] = (uint8_t) v;
  if (convention == PULMO_EXPORT_COVID19_CT_SEG)
    {
      memset (lut, 0, sizeof lut);
      lut[PULMO_LABEL_RIGHT_LUNG] = 2;
      lut[PULMO_LABEL_LEFT_LUNG] = 1;
      lut[PULMO_LABEL_GROUND_GLASS] = lut[PULMO_LABEL_CONSOLIDATION] = 3;
      lut[PULMO_LABEL_INFECTION_UNKNOWN_TYPE] = 3;
    }
  else if (convention == PULMO_EXPORT_BINARY_INFECTION)
    {
      memset (lut, 0, sizeof lut);
      lut[PULMO_LABEL_GROUND_GLASS] = lut[PULMO_LABEL_CONSOLIDATION] = 1;
      lut[PULMO_LABEL_INFECTION_UNKNOWN_TYPE] = 1;
    }

  gboolean present[256] = { FALSE };
  for (gsize p = 0; p < n; p++)
    present[in[p]] = TRUE;
  if (convention == PULMO_EXPORT_COVID19_CT_SEG
      && (present[PULMO_LABEL_LUNG_UNKNOWN_SIDE] || present[PULMO_LABEL_UNKNOWN_NOT_INFECTION]))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("The labels hold “%s”, which COVID-19-CT-Seg’s labels (left lung, right "
                        "lung, infection) cannot express: name the lungs’ sides first"),
                        present[PULMO_LABEL_LUNG_UNKNOWN_SIDE] ? _("lung, side unknown")
                                                               : _("unknown, not infection")),
           FALSE;
  for (gsize p = 0; p < n; p++)
    out[p] = lut[in[p]];

  static const char *const covid_names[] = { "background", "left_lung", "right_lung", "infection" };
  static const char *const binary_names[] = { "background", "infection" };
  memset (names, 0, 256 * sizeof *names);
  if (convention == PULMO_EXPORT_COVID19_CT_SEG)
    for (int v = 0; v < 4; v++)
      names[v] = g_strdup (covid_names[v]);
  else if (convention == PULMO_EXPORT_BINARY_INFECTION)
    for (int v = 0; v < 2; v++)
      names[v] = g_strdup (binary_names[v]);
  else
    for (int v = 0; v < 256; v++)
      if (v <= PULMO_LABEL_PLEURAL_EFFUSION || present[v])
        names[v] = json_label_name (table, v);
  return TRUE;
}

/* The SHA-256 of a file's bytes, read in pieces. */
static char *
file_sha256 (const char *path, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileInputStream) stream = g_file_read (file, NULL, error);
  if (stream == NULL)
    return NULL;
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guchar buffer[1 << 16];
  gssize got;
  while ((got = g_input_stream_read (G_INPUT_STREAM (stream), buffer, sizeof buffer, NULL, error)) > 0)
    g_checksum_update (checksum, buffer, got);
  if (got < 0)
    return NULL;
  return g_strdup (g_checksum_get_string (checksum));
}

static gboolean
make_dir (const char *path, GError **error)
{
  if (g_mkdir_with_parents (path, 0755) == 0)
    return TRUE;
  int saved = errno;
  g_autofree char *display = g_filename_display_name (path);
  return g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("Cannot make the folder %s: %s"), display,
                      g_strerror (saved)), FALSE;
}

/* Takes the folder's export lock (blocking until another export is done);
 * returns the descriptor to close, or -1. */
static int
lock_dataset (const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, LOCK_FILE, NULL);
  int fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  int saved = errno;
  if (fd >= 0 && flock (fd, LOCK_EX) == 0)
    return fd;
  if (fd >= 0)
    {
      saved = errno;
      close (fd);
    }
  g_autofree char *display = g_filename_display_name (path);
  g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("Cannot lock %s: %s"), display, g_strerror (saved));
  return -1;
}

/* The number in "<prefix>_NNNN<anything>", or -1. */
static int
case_number (const char *name, const char *prefix)
{
  gsize len = strlen (prefix);
  if (strncmp (name, prefix, len) != 0 || name[len] != '_' || !g_ascii_isdigit (name[len + 1]))
    return -1;
  return (int) MIN (g_ascii_strtoull (name + len + 1, NULL, 10), G_MAXINT / 2);
}

/* One more than the highest case number any file of the folder uses. */
static int
next_case_number (const char *dir, const char *prefix)
{
  static const char *const subdirs[] = { "imagesTr", "labelsTr", SIDECAR_DIR, STAGING_DIR };
  int highest = -1;
  for (guint s = 0; s < G_N_ELEMENTS (subdirs); s++)
    {
      g_autofree char *path = g_build_filename (dir, subdirs[s], NULL);
      g_autoptr (GDir) listing = g_dir_open (path, 0, NULL);
      for (const char *name; listing != NULL && (name = g_dir_read_name (listing)) != NULL;)
        highest = MAX (highest, case_number (name, prefix));
    }
  return highest + 1;
}

/* An export killed between adding its sidecar or label and its image left
 * them without image; its marker in the staging folder names them: remove them.
 * Whatever else staging holds is half-written and goes too. */
static void
clean_interrupted (const char *dir)
{
  g_autofree char *staging = g_build_filename (dir, STAGING_DIR, NULL);
  g_autoptr (GDir) listing = g_dir_open (staging, 0, NULL);
  for (const char *name; listing != NULL && (name = g_dir_read_name (listing)) != NULL;)
    {
      if (g_str_has_suffix (name, ".pending"))
        {
          g_autofree char *id = g_strndup (name, strlen (name) - strlen (".pending"));
          g_autofree char *image_name = g_strconcat (id, "_0000" FILE_ENDING, NULL);
          g_autofree char *label_name = g_strconcat (id, FILE_ENDING, NULL);
          g_autofree char *image = g_build_filename (dir, "imagesTr", image_name, NULL);
          g_autofree char *label = g_build_filename (dir, "labelsTr", label_name, NULL);
          g_autofree char *sidecar_name = g_strconcat (id, ".json", NULL);
          g_autofree char *sidecar_path = g_build_filename (dir, SIDECAR_DIR, sidecar_name, NULL);
          if (!g_file_test (image, G_FILE_TEST_EXISTS))
            {
              g_unlink (label);
              g_unlink (sidecar_path);
            }
        }
      g_autofree char *path = g_build_filename (staging, name, NULL);
      g_unlink (path);
    }
}

/* Moves the finished file @staged to @final without replacing anything there. */
static gboolean
publish (const char *staged, const char *final, GError **error)
{
  if (link (staged, final) != 0)
    {
      int saved = errno;
      g_autofree char *display = g_filename_display_name (final);
      return g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("Cannot add %s: %s"), display,
                          g_strerror (saved)), FALSE;
    }
  g_unlink (staged);
  return TRUE;
}

static guint
count_images (const char *dir)
{
  g_autofree char *images = g_build_filename (dir, "imagesTr", NULL);
  g_autoptr (GDir) listing = g_dir_open (images, 0, NULL);
  guint n = 0;
  for (const char *name; listing != NULL && (name = g_dir_read_name (listing)) != NULL;)
    n += g_str_has_suffix (name, "_0000" FILE_ENDING);
  return n;
}

/* Reads dataset.json (or starts one) and checks that it can take a case in
 * @convention with @names; adds the names it lacks. */
static JsonObject *
load_dataset_json (const char *path, PulmoExportConvention convention, char *names[256], GError **error)
{
  g_autofree char *display = g_filename_display_name (path);
  JsonObject *object;
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      if (!json_parser_load_from_file (parser, path, error))
        return NULL;
      JsonNode *root = json_parser_get_root (parser);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, _("%s: not a JSON object"), display), NULL;
      object = json_object_ref (json_node_get_object (root));
    }
  else
    {
      object = json_object_new ();
      json_object_set_string_member (object, "name", "pulmo-corrections");
      json_object_set_string_member (object, "description",
                                     "Chest CT corrected in Pulmo and exported as training cases");
    }

  const char *stated = json_object_has_member (object, "pulmo_label_convention")
                         ? json_object_get_string_member (object, "pulmo_label_convention") : NULL;
  if (stated != NULL && g_strcmp0 (stated, pulmo_export_convention_name (convention)) != 0)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                   _("%s holds cases in the “%s” label convention, not “%s”: export into another folder"),
                   display, stated, pulmo_export_convention_name (convention));
      json_object_unref (object);
      return NULL;
    }
  json_object_set_string_member (object, "pulmo_label_convention", pulmo_export_convention_name (convention));
  if (!json_object_has_member (object, "channel_names"))
    {
      JsonObject *channels = json_object_new ();
      json_object_set_string_member (channels, "0", "CT");
      json_object_set_object_member (object, "channel_names", channels);
    }
  json_object_set_string_member (object, "file_ending", FILE_ENDING);

  if (!json_object_has_member (object, "labels"))
    json_object_set_object_member (object, "labels", json_object_new ());
  JsonObject *labels = json_object_get_object_member (object, "labels");
  if (labels == NULL)
    {
      json_object_unref (object);
      return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, _("%s: “labels” is not an object"), display), NULL;
    }
  for (int v = 0; v < 256; v++)
    {
      if (names[v] == NULL)
        continue;
      gboolean declared = FALSE;
      g_autoptr (GList) members = json_object_get_members (labels);
      for (GList *m = members; m != NULL; m = m->next)
        {
          JsonNode *node = json_object_get_member (labels, m->data);
          if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64
              && json_node_get_int (node) == v)
            declared = TRUE;
        }
      if (declared)
        continue;
      /* A name already taken by another value gets the value appended. */
      g_autofree char *name = json_object_has_member (labels, names[v])
                                ? g_strdup_printf ("%s_%d", names[v], v) : g_strdup (names[v]);
      json_object_set_int_member (labels, name, v);
    }
  return object;
}

static gboolean
write_json (const char *path, JsonObject *object, GError **error)
{
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (root, object);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);
  gsize length;
  g_autofree char *text = json_generator_to_data (generator, &length);
  /* g_file_set_contents writes a temporary file, syncs it and renames it over @path. */
  return g_file_set_contents (path, text, (gssize) length, error);
}

/* Dice per label between what the model said and what was saved. */
static JsonObject *
corrections (PulmoLabelMap *map, const uint8_t *model)
{
  const uint8_t *saved = pulmo_label_map_get_data (map);
  gsize n = pulmo_volume_get_n_voxels (pulmo_label_map_get_volume (map));
  g_autofree guint64 *counts = g_new0 (guint64, 3 * 256); /* model, saved, both */
  for (gsize p = 0; p < n; p++)
    {
      counts[model[p]]++;
      counts[256 + saved[p]]++;
      counts[512 + saved[p]] += model[p] == saved[p];
    }
  JsonObject *object = json_object_new ();
  for (int v = 1; v < 256; v++)
    {
      if (counts[v] + counts[256 + v] == 0)
        continue;
      JsonObject *entry = json_object_new ();
      g_autofree char *name = json_label_name (pulmo_label_map_get_table (map), v);
      json_object_set_string_member (entry, "name", name);
      json_object_set_int_member (entry, "model_voxels", (gint64) counts[v]);
      json_object_set_int_member (entry, "saved_voxels", (gint64) counts[256 + v]);
      json_object_set_double_member (entry, "dice", 2.0 * counts[512 + v] / (counts[v] + counts[256 + v]));
      g_autofree char *key = g_strdup_printf ("%d", v);
      json_object_set_object_member (object, key, entry);
    }
  return object;
}

static JsonObject *
sidecar (const char *id, const char *source, const char *sha256, PulmoLabelMap *map,
         const PulmoExportOptions *options)
{
  JsonObject *object = json_object_new ();
  json_object_set_string_member (object, "case", id);
  if (!options->anonymise)
    json_object_set_string_member (object, "source", source);
  json_object_set_string_member (object, "source_sha256", sha256);
  json_object_set_string_member (object, "label_convention", pulmo_export_convention_name (options->convention));
  if (options->model_version != NULL)
    json_object_set_string_member (object, "model", options->model_version);
  if (options->annotator != NULL)
    json_object_set_string_member (object, "annotator", options->annotator);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format_iso8601 (now);
  json_object_set_string_member (object, "exported", date);
  if (options->editing_seconds >= 0)
    json_object_set_double_member (object, "editing_seconds", options->editing_seconds);
  if (options->model_labels != NULL)
    json_object_set_object_member (object, "corrections", corrections (map, options->model_labels));
  json_object_set_string_member (object, "pulmo_version", PULMO_VERSION);
  return object;
}

/* Everything after the lock is taken. */
static char *
export_locked (const char *dir, PulmoLabelMap *map, const PulmoExportOptions *options, GError **error)
{
  PulmoVolume *ct = pulmo_label_map_get_volume (map);
  const char *source = pulmo_volume_get_path (ct);
  if (source == NULL)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, _("The CT was not read from a file")), NULL;

  gsize n = pulmo_volume_get_n_voxels (ct);
  g_autofree uint8_t *converted = g_malloc (n);
  char *names[256];
  if (!convert_labels (pulmo_label_map_get_data (map), n, options->convention,
                       pulmo_label_map_get_table (map), converted, names, error))
    return NULL;
  g_autofree char *json_path = g_build_filename (dir, "dataset.json", NULL);
  JsonObject *dataset = load_dataset_json (json_path, options->convention, names, error);
  for (int v = 0; v < 256; v++)
    g_free (names[v]);
  if (dataset == NULL)
    return NULL;

  clean_interrupted (dir);
  const char *prefix = options->case_prefix ? options->case_prefix : "pulmo";
  char *id = g_strdup_printf ("%s_%04d", prefix, next_case_number (dir, prefix));
  g_autofree char *sha256 = file_sha256 (source, error);
  g_autofree char *image_name = g_strconcat (id, "_0000" FILE_ENDING, NULL);
  g_autofree char *label_name = g_strconcat (id, FILE_ENDING, NULL);
  g_autofree char *marker_name = g_strconcat (id, ".pending", NULL);
  g_autofree char *sidecar_name = g_strconcat (id, ".json", NULL);
  g_autofree char *staged_image = g_build_filename (dir, STAGING_DIR, image_name, NULL);
  g_autofree char *staged_label = g_build_filename (dir, STAGING_DIR, label_name, NULL);
  g_autofree char *marker = g_build_filename (dir, STAGING_DIR, marker_name, NULL);
  g_autofree char *image = g_build_filename (dir, "imagesTr", image_name, NULL);
  g_autofree char *label = g_build_filename (dir, "labelsTr", label_name, NULL);
  g_autofree char *sidecar_path = g_build_filename (dir, SIDECAR_DIR, sidecar_name, NULL);
  int dims[3];
  pulmo_volume_get_dims (ct, dims);
  static const char *const subdirs[] = { STAGING_DIR, "imagesTr", "labelsTr", SIDECAR_DIR };
  gboolean ok = sha256 != NULL;
  for (guint d = 0; ok && d < G_N_ELEMENTS (subdirs); d++)
    {
      g_autofree char *path = g_build_filename (dir, subdirs[d], NULL);
      ok = make_dir (path, error);
    }

  /* The sidecar and the label land before the image: a case exists once its
   * image does, and the marker lets the next export remove the sidecar and
   * label of a case whose image never came. */
  g_autofree char *staged_sidecar = g_build_filename (dir, STAGING_DIR, sidecar_name, NULL);
  g_autoptr (JsonObject) record = ok ? sidecar (id, source, sha256, map, options) : NULL;
  /* dataset.json comes first too: a kill just after the first image lands
   * would otherwise leave a folder that `pulmo train` refuses. */
  if (ok)
    {
      json_object_set_int_member (dataset, "numTraining", count_images (dir));
      ok = write_json (json_path, dataset, error);
    }
  ok = ok && g_file_set_contents (marker, "", 0, error) && write_json (staged_sidecar, record, error)
       && pulmo_nifti_write (staged_label, dims, NIFTI_TYPE_UINT8, converted,
                             pulmo_volume_get_nifti_geometry (ct), error)
       && pulmo_volume_save (ct, staged_image, error) && publish (staged_sidecar, sidecar_path, error)
       && publish (staged_label, label, error);
  if (ok && !publish (staged_image, image, error))
    ok = FALSE;
  if (!ok)
    {
      g_unlink (sidecar_path);
      g_unlink (label);
    }
  g_unlink (staged_sidecar);
  g_unlink (staged_label);
  g_unlink (staged_image);
  g_unlink (marker);
  if (ok)
    {
      json_object_set_int_member (dataset, "numTraining", count_images (dir));
      ok = write_json (json_path, dataset, error);
    }
  json_object_unref (dataset);
  if (!ok)
    g_clear_pointer (&id, g_free);
  return id;
}

char *
pulmo_export_case (const char *dataset_dir, PulmoLabelMap *labels, const PulmoExportOptions *options,
                   GError **error)
{
  if (!make_dir (dataset_dir, error))
    return NULL;
  int lock = lock_dataset (dataset_dir, error);
  if (lock < 0)
    return NULL;
  char *id = export_locked (dataset_dir, labels, options, error);
  close (lock); /* releases the lock */
  return id;
}
