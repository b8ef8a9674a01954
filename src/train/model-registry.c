/* model-registry.c: see model-registry.h. */
#include "train/model-registry.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "core/pulmo-error.h"
#include "pulmo-config.h"
#include "train/checkpoint.h"

char *
pulmo_model_shipped_path (GError **error)
{
  const char *folders[] = { PULMO_MODEL_DIR, PULMO_SOURCE_DIR "/data/models" };
  for (size_t f = 0; f < G_N_ELEMENTS (folders); f++)
    {
      char *path = g_build_filename (folders[f], PULMO_SHIPPED_MODEL, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return path;
      g_free (path);
    }
  g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND,
               _("the shipped model %s is neither in %s nor in %s; reinstall Pulmo or give a model"),
               PULMO_SHIPPED_MODEL, folders[0], folders[1]);
  return NULL;
}

static char *
model_identity (const char *path, GError **error)
{
  g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, error);
  if (file == NULL)
    return NULL;
  g_autofree char *sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                      (const guchar *) g_mapped_file_get_contents (file),
                                                      g_mapped_file_get_length (file));
  g_autofree char *base = g_path_get_basename (path);
  char *dot = g_strrstr (base, ".");
  if (dot != NULL && dot != base)
    *dot = '\0';
  return g_strdup_printf ("%s %.8s", base, sha);
}

void
pulmo_model_entry_free (PulmoModelEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->path);
  g_free (entry->identity);
  g_free (entry->installed);
  g_free (entry->note);
  g_free (entry);
}

static char *
user_models_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "pulmo", "models", NULL);
}

/* history.json: {"in_use": FILE or null, "models": [{"file", "installed", "note"}…]}.
 * A missing file is an empty history. */
static JsonObject *
read_history (GError **error)
{
  g_autofree char *dir = user_models_dir ();
  g_autofree char *path = g_build_filename (dir, "history.json", NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      JsonObject *empty = json_object_new ();
      json_object_set_null_member (empty, "in_use");
      json_object_set_array_member (empty, "models", json_array_new ());
      return empty;
    }
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_file (parser, path, error))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *object = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonNode *models = object ? json_object_get_member (object, "models") : NULL;
  if (models == NULL || !JSON_NODE_HOLDS_ARRAY (models))
    {
      g_autofree char *display = g_filename_display_name (path);
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, _("%s: not a Pulmo model history"), display);
      return NULL;
    }
  return json_object_ref (object);
}

static gboolean
write_history (JsonObject *history, GError **error)
{
  g_autofree char *dir = user_models_dir ();
  g_autofree char *path = g_build_filename (dir, "history.json", NULL);
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (root, history);
  g_autofree char *text = json_to_string (root, TRUE);
  /* Written to a temporary file and renamed: the history is never torn. */
  return g_file_set_contents (path, text, -1, error);
}

static const char *
member_string (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);
  return node && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
           ? json_node_get_string (node) : NULL;
}

GPtrArray *
pulmo_model_history (GError **error)
{
  g_autofree char *shipped = pulmo_model_shipped_path (error);
  g_autoptr (JsonObject) history = shipped ? read_history (error) : NULL;
  if (history == NULL)
    return NULL;
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) pulmo_model_entry_free);
  const char *in_use = member_string (history, "in_use");
  gboolean any_in_use = FALSE;
  g_autofree char *dir = user_models_dir ();

  PulmoModelEntry *first = g_new0 (PulmoModelEntry, 1);
  first->path = g_steal_pointer (&shipped);
  g_ptr_array_add (entries, first);
  JsonArray *models = json_object_get_array_member (history, "models");
  for (guint m = 0; m < json_array_get_length (models); m++)
    {
      JsonNode *node = json_array_get_element (models, m);
      JsonObject *model = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *file = model ? member_string (model, "file") : NULL;
      /* Only plain names inside the folder: the history cannot point elsewhere. */
      if (file == NULL || strchr (file, G_DIR_SEPARATOR) != NULL || file[0] == '.')
        continue;
      PulmoModelEntry *entry = g_new0 (PulmoModelEntry, 1);
      entry->path = g_build_filename (dir, file, NULL);
      entry->installed = g_strdup (member_string (model, "installed"));
      entry->note = g_strdup (member_string (model, "note"));
      entry->in_use = g_strcmp0 (file, in_use) == 0 && g_file_test (entry->path, G_FILE_TEST_IS_REGULAR);
      any_in_use |= entry->in_use;
      g_ptr_array_add (entries, entry);
    }
  first->in_use = !any_in_use;
  for (guint e = 0; e < entries->len; e++)
    {
      PulmoModelEntry *entry = g_ptr_array_index (entries, e);
      entry->identity = model_identity (entry->path, NULL);
      if (entry->identity == NULL)
        entry->identity = g_strdup_printf ("%s (missing)", entry->path);
    }
  return g_steal_pointer (&entries);
}

char *
pulmo_model_default_path (GError **error)
{
  g_autoptr (GPtrArray) entries = pulmo_model_history (error);
  if (entries == NULL)
    return NULL;
  for (guint e = 0; e < entries->len; e++)
    {
      PulmoModelEntry *entry = g_ptr_array_index (entries, e);
      if (entry->in_use)
        return g_strdup (entry->path);
    }
  g_assert_not_reached ();
}

gboolean
pulmo_model_use (int index, GError **error)
{
  g_autoptr (GPtrArray) entries = pulmo_model_history (error);
  g_autoptr (JsonObject) history = entries ? read_history (error) : NULL;
  if (history == NULL)
    return FALSE;
  if (index < 0 || (guint) index >= entries->len)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("there is no model %d (0 to %u: see pulmo model list)"), index, entries->len - 1), FALSE;
  PulmoModelEntry *entry = g_ptr_array_index (entries, index);
  if (index > 0 && !g_file_test (entry->path, G_FILE_TEST_IS_REGULAR))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND, _("model %d (%s) is missing"), index,
                        entry->path), FALSE;
  if (index == 0)
    json_object_set_null_member (history, "in_use");
  else
    {
      g_autofree char *file = g_path_get_basename (entry->path);
      json_object_set_string_member (history, "in_use", file);
    }
  return write_history (history, error);
}

int
pulmo_model_install (const char *path, const char *note, GError **error)
{
  g_autofree char *data = NULL;
  gsize size;
  g_auto (PulmoModelInfo) info = { 0 };
  if (!g_file_get_contents (path, &data, &size, error))
    return -1;
  /* Only a model that loads is installed. */
  g_autofree char *display = g_filename_display_name (path);
  g_autoptr (PulmoUNet) net = pulmo_weights_load_bytes ((const guint8 *) data, size, display, &info, error);
  if (net == NULL)
    return -1;

  g_autoptr (GPtrArray) entries = pulmo_model_history (error);
  if (entries == NULL)
    return -1;
  for (guint e = 1; e < entries->len; e++)
    {
      PulmoModelEntry *entry = g_ptr_array_index (entries, e);
      g_autofree char *kept = NULL;
      gsize kept_size;
      if (g_file_get_contents (entry->path, &kept, &kept_size, NULL) && kept_size == size
          && memcmp (kept, data, size) == 0)
        return pulmo_model_use ((int) e, error) ? (int) e : -1;
    }

  g_autofree char *dir = user_models_dir ();
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("Cannot make %s: %s"), dir, g_strerror (saved));
      return -1;
    }
  /* Kept as <name>-<n>.pulmonet, never over an earlier file. */
  g_autofree char *base = g_path_get_basename (path);
  if (g_str_has_suffix (base, ".pulmonet"))
    base[strlen (base) - strlen (".pulmonet")] = '\0';
  g_autofree char *file = NULL, *dest = NULL;
  for (int n = (int) entries->len; dest == NULL || g_file_test (dest, G_FILE_TEST_EXISTS); n++)
    {
      g_free (file);
      g_free (dest);
      file = g_strdup_printf ("%s-%d.pulmonet", base, n);
      dest = g_build_filename (dir, file, NULL);
    }
  if (!g_file_set_contents (dest, data, (gssize) size, error))
    return -1;

  g_autoptr (JsonObject) history = read_history (error);
  if (history == NULL)
    return -1;
  JsonObject *model = json_object_new ();
  json_object_set_string_member (model, "file", file);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = g_date_time_format_iso8601 (now);
  json_object_set_string_member (model, "installed", date);
  json_object_set_string_member (model, "note", note ? note : "");
  json_array_add_object_element (json_object_get_array_member (history, "models"), model);
  json_object_set_string_member (history, "in_use", file);
  if (!write_history (history, error))
    return -1;
  return (int) json_array_get_length (json_object_get_array_member (history, "models"));
}

PulmoModel *
pulmo_model_load (const char *path, GError **error)
{
  g_autofree char *found = path == NULL ? pulmo_model_default_path (error) : g_strdup (path);
  if (found == NULL)
    return NULL;
  g_autoptr (PulmoModel) model = g_new0 (PulmoModel, 1);
  model->net = pulmo_checkpoint_load_model (found, &model->info, error);
  if (model->net == NULL)
    return NULL;
  model->identity = model_identity (found, error);
  if (model->identity == NULL)
    return NULL;
  model->path = g_steal_pointer (&found);
  return g_steal_pointer (&model);
}

void
pulmo_model_free (PulmoModel *model)
{
  if (model == NULL)
    return;
  g_clear_pointer (&model->net, pulmo_unet_free);
  pulmo_model_info_clear (&model->info);
  g_free (model->path);
  g_free (model->identity);
  g_free (model);
}
