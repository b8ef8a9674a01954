#include "nn/safetensors.h"

#include <glib/gi18n-lib.h>
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "core/pulmo-error.h"

/* No Pulmo model's header comes near this: a larger claim is a damaged file. */
#define MAX_HEADER_SIZE ((guint64) 16 << 20)

static void
set_int (JsonBuilder *builder, const char *key, int value)
{
  g_autofree char *text = g_strdup_printf ("%d", value);
  json_builder_set_member_name (builder, key);
  json_builder_add_string_value (builder, text);
}

/* Nine significant digits bring every float32 back exactly. */
static void
set_float (JsonBuilder *builder, const char *key, float value)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (text, sizeof text, "%.9g", value);
  json_builder_set_member_name (builder, key);
  json_builder_add_string_value (builder, text);
}

static char *
labels_json (const PulmoModelInfo *info)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_array (builder);
  for (int i = 0; i < info->n_labels; i++)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "value");
      json_builder_add_int_value (builder, info->labels[i].value);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, info->labels[i].name);
      json_builder_set_member_name (builder, "rgba");
      json_builder_begin_array (builder);
      for (int k = 0; k < 4; k++)
        json_builder_add_int_value (builder, info->labels[i].rgba[k]);
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

GBytes *
pulmo_safetensors_from_unet (const PulmoUNet *net, const PulmoModelInfo *info, GError **error)
{
  const PulmoUNetConfig *config = pulmo_unet_get_config (net);
  if (!pulmo_model_info_check (info, config, error))
    return NULL;

  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "__metadata__");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_string_value (builder, "pulmonet");
  set_int (builder, "pulmonet_version", PULMO_WEIGHTS_VERSION);
  set_int (builder, "in_channels", config->in_channels);
  set_int (builder, "base", config->base);
  set_int (builder, "depth", config->depth);
  set_int (builder, "classes", config->classes);
  set_int (builder, "normalisation", info->normalisation);
  set_float (builder, "window_hu_low", info->window_hu_low);
  set_float (builder, "window_hu_high", info->window_hu_high);
  set_float (builder, "window_gray8_low", info->window_gray8_low);
  set_float (builder, "window_gray8_high", info->window_gray8_high);
  set_float (builder, "clahe_clip", info->clahe_clip);
  set_int (builder, "clahe_tiles", info->clahe_tiles);
  set_int (builder, "input_width", info->input_width);
  set_int (builder, "input_height", info->input_height);
  set_int (builder, "slices", info->n_slices);
  g_autofree char *labels = labels_json (info);
  json_builder_set_member_name (builder, "labels");
  json_builder_add_string_value (builder, labels);
  json_builder_end_object (builder);

  int n_params;
  const PulmoUNetParam *params = pulmo_unet_get_params (net, &n_params);
  guint64 offset = 0;
  for (int i = 0; i < n_params; i++)
    {
      guint64 bytes = pulmo_tensor_numel (params[i].value) * 4;
      json_builder_set_member_name (builder, params[i].name);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "dtype");
      json_builder_add_string_value (builder, "F32");
      json_builder_set_member_name (builder, "shape");
      json_builder_begin_array (builder);
      for (int d = 0; d < params[i].ndim; d++)
        json_builder_add_int_value (builder, params[i].shape[d]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "data_offsets");
      json_builder_begin_array (builder);
      json_builder_add_int_value (builder, (gint64) offset);
      json_builder_add_int_value (builder, (gint64) (offset + bytes));
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      offset += bytes;
    }
  json_builder_end_object (builder);
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autofree char *header = json_to_string (root, FALSE);

  /* The format allows trailing spaces; padding to 8 bytes aligns the tensors. */
  gsize header_size = strlen (header);
  gsize padded = (header_size + 7) / 8 * 8;
  GByteArray *out = g_byte_array_sized_new ((guint) (8 + padded + offset));
  guint8 size_le[8];
  for (int b = 0; b < 8; b++)
    size_le[b] = (guint8) ((guint64) padded >> (8 * b));
  g_byte_array_append (out, size_le, 8);
  g_byte_array_append (out, (const guint8 *) header, (guint) header_size);
  for (gsize p = header_size; p < padded; p++)
    g_byte_array_append (out, (const guint8 *) " ", 1);
  for (int i = 0; i < n_params; i++)
    {
      size_t count = pulmo_tensor_numel (params[i].value);
      for (size_t k = 0; k < count; k++)
        {
          guint32 u;
          memcpy (&u, &params[i].value->data[k], 4);
          u = GUINT32_TO_LE (u);
          g_byte_array_append (out, (const guint8 *) &u, 4);
        }
    }
  return g_byte_array_free_to_bytes (out);
}

typedef struct {
  const char *display_name;
  GError **error;
} Reader;

G_GNUC_PRINTF (3, 4) static gboolean
fail (Reader *r, int code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (r->error, PULMO_ERROR, code, "%s: %s", r->display_name, message);
  return FALSE;
}

static const char *
meta_string (Reader *r, JsonObject *meta, const char *key)
{
  JsonNode *node = json_object_get_member (meta, key);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      fail (r, PULMO_ERROR_INVALID, _("the metadata lack “%s” (not exported by Pulmo?)"), key);
      return NULL;
    }
  return json_node_get_string (node);
}

static gboolean
meta_int (Reader *r, JsonObject *meta, const char *key, int *value)
{
  const char *text = meta_string (r, meta, key);
  gint64 parsed;
  if (text == NULL)
    return FALSE;
  if (!g_ascii_string_to_signed (text, 10, 0, 1 << 20, &parsed, NULL))
    return fail (r, PULMO_ERROR_INVALID, _("metadata “%s” is “%s”, not a whole number"), key, text);
  *value = (int) parsed;
  return TRUE;
}

static gboolean
meta_float (Reader *r, JsonObject *meta, const char *key, float *value)
{
  const char *text = meta_string (r, meta, key);
  if (text == NULL)
    return FALSE;
  char *end;
  double parsed = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || !isfinite (parsed) || fabs (parsed) > 1e30)
    return fail (r, PULMO_ERROR_INVALID, _("metadata “%s” is “%s”, not a number"), key, text);
  *value = (float) parsed;
  return TRUE;
}

static gboolean
read_labels (Reader *r, const char *text, PulmoModelInfo *info)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  /* Blank text parses, with no root node at all. */
  JsonNode *root = json_parser_load_from_data (parser, text, -1, NULL) ? json_parser_get_root (parser) : NULL;
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    return fail (r, PULMO_ERROR_INVALID, _("metadata “labels” is not a JSON array"));
  JsonArray *array = json_node_get_array (root);
  guint n = json_array_get_length (array);
  if (n < 2 || n > 16)
    return fail (r, PULMO_ERROR_INVALID, _("metadata “labels” holds %u labels"), n);
  info->labels = g_new0 (PulmoModelLabel, n);
  info->n_labels = (int) n;
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      JsonObject *label = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonNode *value = label ? json_object_get_member (label, "value") : NULL;
      JsonNode *name = label ? json_object_get_member (label, "name") : NULL;
      JsonNode *rgba = label ? json_object_get_member (label, "rgba") : NULL;
      if (value == NULL || json_node_get_value_type (value) != G_TYPE_INT64 || name == NULL
          || json_node_get_value_type (name) != G_TYPE_STRING || rgba == NULL
          || !JSON_NODE_HOLDS_ARRAY (rgba) || json_array_get_length (json_node_get_array (rgba)) != 4)
        return fail (r, PULMO_ERROR_INVALID, _("label %u of the metadata is not {value, name, rgba}"), i);
      gint64 v = json_node_get_int (value);
      if (v < 0 || v > 255)
        return fail (r, PULMO_ERROR_INVALID, _("label %u has value %" PRId64), i, v);
      info->labels[i].value = (guint8) v;
      info->labels[i].name = g_strdup (json_node_get_string (name));
      for (int k = 0; k < 4; k++)
        {
          JsonNode *c = json_array_get_element (json_node_get_array (rgba), k);
          gint64 channel = json_node_get_value_type (c) == G_TYPE_INT64 ? json_node_get_int (c) : -1;
          if (channel < 0 || channel > 255)
            return fail (r, PULMO_ERROR_INVALID, _("label %u has a colour outside 0..255"), i);
          info->labels[i].rgba[k] = (guint8) channel;
        }
    }
  return TRUE;
}

static gboolean
read_metadata (Reader *r, JsonObject *header, PulmoUNetConfig *config, PulmoModelInfo *info)
{
  JsonNode *node = json_object_get_member (header, "__metadata__");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return fail (r, PULMO_ERROR_INVALID, _("no “__metadata__”: the architecture and preprocessing are unknown"));
  JsonObject *meta = json_node_get_object (node);
  const char *format = meta_string (r, meta, "format");
  if (format == NULL)
    return FALSE;
  if (strcmp (format, "pulmonet") != 0)
    return fail (r, PULMO_ERROR_INVALID, _("metadata format “%s”, not “pulmonet”"), format);
  int normalisation;
  const char *labels;
  if (!meta_int (r, meta, "in_channels", &config->in_channels) || !meta_int (r, meta, "base", &config->base)
      || !meta_int (r, meta, "depth", &config->depth) || !meta_int (r, meta, "classes", &config->classes)
      || !meta_int (r, meta, "normalisation", &normalisation)
      || !meta_float (r, meta, "window_hu_low", &info->window_hu_low)
      || !meta_float (r, meta, "window_hu_high", &info->window_hu_high)
      || !meta_float (r, meta, "window_gray8_low", &info->window_gray8_low)
      || !meta_float (r, meta, "window_gray8_high", &info->window_gray8_high)
      || !meta_float (r, meta, "clahe_clip", &info->clahe_clip)
      || !meta_int (r, meta, "clahe_tiles", &info->clahe_tiles)
      || !meta_int (r, meta, "input_width", &info->input_width)
      || !meta_int (r, meta, "input_height", &info->input_height)
      || !meta_int (r, meta, "slices", &info->n_slices) || (labels = meta_string (r, meta, "labels")) == NULL)
    return FALSE;
  if (normalisation != PULMO_NORMALISE_WINDOW && normalisation != PULMO_NORMALISE_SLICE_MINMAX)
    return fail (r, PULMO_ERROR_INVALID, _("unknown normalisation %d"), normalisation);
  info->normalisation = (PulmoNormalisation) normalisation;
  g_autoptr (GError) local = NULL;
  if (!pulmo_unet_config_check (config, &local))
    return fail (r, local->code, _("architecture: %s"), local->message);
  if (!read_labels (r, labels, info))
    return FALSE;
  g_clear_error (&local);
  if (!pulmo_model_info_check (info, config, &local))
    return fail (r, local->code, "%s", local->message);
  return TRUE;
}

/* Copies tensor @name (described by @entry) from @data into @net. */
static gboolean
read_tensor (Reader *r, PulmoUNet *net, const char *name, JsonNode *entry, const guint8 *data,
             guint64 data_size, gboolean *seen)
{
  int n_params;
  const PulmoUNetParam *params = pulmo_unet_get_params (net, &n_params);
  const PulmoUNetParam *param = pulmo_unet_find_param (net, name);
  if (param == NULL)
    return g_str_has_suffix (name, ".num_batches_tracked")
             ? TRUE : fail (r, PULMO_ERROR_INVALID, _("tensor “%s” is not part of this architecture"), name);
  int index = (int) (param - params);
  if (seen[index])
    return fail (r, PULMO_ERROR_INVALID, _("tensor “%s” appears twice"), name);
  seen[index] = TRUE;

  JsonObject *object = JSON_NODE_HOLDS_OBJECT (entry) ? json_node_get_object (entry) : NULL;
  JsonNode *dtype = object ? json_object_get_member (object, "dtype") : NULL;
  JsonNode *shape = object ? json_object_get_member (object, "shape") : NULL;
  JsonNode *offsets = object ? json_object_get_member (object, "data_offsets") : NULL;
  if (dtype == NULL || json_node_get_value_type (dtype) != G_TYPE_STRING || shape == NULL
      || !JSON_NODE_HOLDS_ARRAY (shape) || offsets == NULL || !JSON_NODE_HOLDS_ARRAY (offsets)
      || json_array_get_length (json_node_get_array (offsets)) != 2)
    return fail (r, PULMO_ERROR_INVALID, _("tensor “%s” lacks its dtype, shape or data_offsets"), name);
  if (strcmp (json_node_get_string (dtype), "F32") != 0)
    return fail (r, PULMO_ERROR_UNSUPPORTED, _("tensor “%s” is %s; Pulmo reads F32"), name,
                 json_node_get_string (dtype));
  JsonArray *dims = json_node_get_array (shape);
  gboolean shape_ok = json_array_get_length (dims) == (guint) param->ndim;
  for (int d = 0; shape_ok && d < param->ndim; d++)
    {
      JsonNode *size = json_array_get_element (dims, d);
      shape_ok = json_node_get_value_type (size) == G_TYPE_INT64 && json_node_get_int (size) == param->shape[d];
    }
  if (!shape_ok)
    return fail (r, PULMO_ERROR_INVALID, _("tensor “%s” does not have the architecture’s shape"), name);
  JsonArray *range = json_node_get_array (offsets);
  JsonNode *begin_node = json_array_get_element (range, 0), *end_node = json_array_get_element (range, 1);
  if (json_node_get_value_type (begin_node) != G_TYPE_INT64 || json_node_get_value_type (end_node) != G_TYPE_INT64)
    return fail (r, PULMO_ERROR_INVALID, _("tensor “%s” has data_offsets that are not numbers"), name);
  gint64 begin = json_node_get_int (begin_node), end = json_node_get_int (end_node);
  size_t count = pulmo_tensor_numel (param->value);
  if (begin < 0 || end < begin || (guint64) end > data_size || (guint64) (end - begin) != count * 4)
    return fail (r, PULMO_ERROR_CORRUPT, _("tensor “%s” has data_offsets %" PRId64 "…%" PRId64
                 " outside the file or of the wrong size"), name, begin, end);
  for (size_t k = 0; k < count; k++)
    {
      guint32 u;
      memcpy (&u, data + begin + 4 * k, 4);
      u = GUINT32_FROM_LE (u);
      memcpy (&param->value->data[k], &u, 4);
      if (!isfinite (param->value->data[k]))
        return fail (r, PULMO_ERROR_CORRUPT, _("tensor “%s” holds a value that is not a finite number"), name);
    }
  return TRUE;
}

PulmoUNet *
pulmo_safetensors_to_unet (const guint8 *data, gsize size, const char *display_name, PulmoModelInfo *info,
                           GError **error)
{
  memset (info, 0, sizeof *info);
  Reader r = { display_name, error };
  if (size < 8)
    return fail (&r, PULMO_ERROR_TRUNCATED, _("too short for a safetensors file")), NULL;
  guint64 header_size = 0;
  for (int b = 0; b < 8; b++)
    header_size |= (guint64) data[b] << (8 * b);
  if (header_size > MAX_HEADER_SIZE || header_size > size - 8)
    return fail (&r, PULMO_ERROR_CORRUPT, _("the header claims %" PRIu64 " bytes, more than the "
                 "file holds or any model needs"), header_size), NULL;

  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) json_error = NULL;
  JsonNode *root = json_parser_load_from_data (parser, (const char *) data + 8, (gssize) header_size, &json_error)
                       ? json_parser_get_root (parser)
                       : NULL;
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return fail (&r, PULMO_ERROR_CORRUPT, _("the header is not a JSON object%s%s"), json_error ? ": " : "",
                 json_error ? json_error->message : ""), NULL;
  JsonObject *header = json_node_get_object (root);

  PulmoUNetConfig config;
  if (!read_metadata (&r, header, &config, info))
    {
      pulmo_model_info_clear (info);
      return NULL;
    }
  g_autoptr (PulmoUNet) net = pulmo_unet_new_empty (&config);
  int n_params;
  pulmo_unet_get_params (net, &n_params);
  g_autofree gboolean *seen = g_new0 (gboolean, n_params);
  const guint8 *tensors = data + 8 + header_size;
  guint64 tensors_size = size - 8 - header_size;
  g_autoptr (GList) names = json_object_get_members (header);
  for (GList *l = names; l != NULL; l = l->next)
    if (strcmp (l->data, "__metadata__") != 0
        && !read_tensor (&r, net, l->data, json_object_get_member (header, l->data), tensors, tensors_size, seen))
      {
        pulmo_model_info_clear (info);
        return NULL;
      }
  const PulmoUNetParam *params = pulmo_unet_get_params (net, &n_params);
  for (int i = 0; i < n_params; i++)
    if (!seen[i])
      {
        fail (&r, PULMO_ERROR_INVALID, _("tensor “%s” is missing"), params[i].name);
        pulmo_model_info_clear (info);
        return NULL;
      }
  pulmo_unet_weights_changed (net);
  return g_steal_pointer (&net);
}
