/* review-queue.c: see review-queue.h. */
#include "train/review-queue.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "core/nifti-io.h"
#include "core/pulmo-error.h"
#include "core/pulmo-label-map.h"
#include "segment/segment.h"

#define STATE_VERSION 1

/* A file's size and modification time: what tells that a CT was replaced, or
 * that a label file is no longer the one pre-segmentation wrote. */
typedef struct {
  gint64 size;
  gint64 mtime_us;
} Stamp;

typedef struct {
  PulmoReviewCase c;     /* what the public copy is made from */
  gboolean present;      /* the CT is in the folder now */
  char *clash;           /* another CT that would share the label file, or NULL */
  Stamp now;             /* the CT as on disk at the last scan */
  gboolean measured;     /* c.uncertainty, c.lung_pixels and c.model were recorded … */
  Stamp ct;              /* … for the CT as it was then (also the stamp of a failure) */
  gboolean labels_ours;  /* the label file is pre-segmentation's, as it left it: */
  Stamp labels;
} Entry;

struct _PulmoReviewQueue {
  GMutex lock;           /* guards everything below */
  char *dir;
  char *state_path;
  char *warning;
  GHashTable *entries;   /* CT file name → Entry, also of CTs no longer present */
};

static const char *const state_names[] = { "not-started", "in-progress", "done", "flagged" };

const char *
pulmo_review_state_name (PulmoReviewState state)
{
  g_return_val_if_fail ((guint) state < G_N_ELEMENTS (state_names), NULL);
  return state_names[state];
}

const char *
pulmo_review_state_label (PulmoReviewState state)
{
  /* Marked only: the caller translates them. */
  static const char *const labels[] = { N_("Not started"), N_("In progress"), N_("Done"), N_("Flagged for an expert") };
  g_return_val_if_fail ((guint) state < G_N_ELEMENTS (labels), NULL);
  return labels[state];
}

gboolean
pulmo_review_state_from_name (const char *name, PulmoReviewState *state)
{
  for (guint s = 0; s < G_N_ELEMENTS (state_names); s++)
    if (g_strcmp0 (name, state_names[s]) == 0)
      {
        *state = (PulmoReviewState) s;
        return TRUE;
      }
  return FALSE;
}

void
pulmo_review_case_free (PulmoReviewCase *review_case)
{
  if (review_case == NULL)
    return;
  g_free (review_case->name);
  g_free (review_case->ct_path);
  g_free (review_case->labels_path);
  g_free (review_case->model);
  g_free (review_case->error);
  g_free (review_case);
}

static void
entry_free (Entry *entry)
{
  g_free (entry->c.name);
  g_free (entry->c.ct_path);
  g_free (entry->c.labels_path);
  g_free (entry->c.model);
  g_free (entry->c.error);
  g_free (entry->clash);
  g_free (entry);
}

static gboolean
stamp_file (const char *path, Stamp *stamp)
{
  GStatBuf st;
  if (g_stat (path, &st) != 0)
    return FALSE;
  *stamp = (Stamp) { .size = st.st_size,
                     .mtime_us = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000 };
  return TRUE;
}

static gboolean
stamp_equal (const Stamp *a, const Stamp *b)
{
  return a->size == b->size && a->mtime_us == b->mtime_us;
}

/* The CT's name without .nii.gz or .nii: "P001" for "P001.nii.gz". */
static char *
ct_stem (const char *file_name)
{
  const char *extensions[] = { ".nii.gz", ".nii" };
  for (size_t e = 0; e < G_N_ELEMENTS (extensions); e++)
    if (g_str_has_suffix (file_name, extensions[e]))
      return g_strndup (file_name, strlen (file_name) - strlen (extensions[e]));
  return g_strdup (file_name);
}

/* A folder entry is a case when it is a visible NIfTI file that is not a label map. */
static gboolean
is_ct_name (const char *name)
{
  if (name[0] == '.')
    return FALSE;
  if (!g_str_has_suffix (name, ".nii") && !g_str_has_suffix (name, ".nii.gz"))
    return FALSE;
  g_autofree char *stem = ct_stem (name);
  return stem[0] != '\0' && !g_str_has_suffix (stem, "-labels");
}

static Entry *
entry_new (PulmoReviewQueue *queue, const char *name)
{
  Entry *entry = g_new0 (Entry, 1);
  g_autofree char *stem = ct_stem (name);
  g_autofree char *labels_name = g_strdup_printf ("%s-labels.nii.gz", stem);
  entry->c.name = g_strdup (name);
  entry->c.ct_path = g_build_filename (queue->dir, name, NULL);
  entry->c.labels_path = g_build_filename (queue->dir, PULMO_REVIEW_LABELS_DIR, labels_name, NULL);
  g_hash_table_insert (queue->entries, entry->c.name, entry);
  return entry;
}

/* Whether the recorded measurement holds for the CT on disk now. */
static gboolean
entry_segmented (const Entry *entry)
{
  return entry->present && entry->measured && stamp_equal (&entry->ct, &entry->now);
}

/* A recorded failure counts until the CT file changes; a clash always. */
static gboolean
entry_failed (const Entry *entry)
{
  return entry->clash != NULL || (entry->c.error != NULL && stamp_equal (&entry->ct, &entry->now));
}

static PulmoReviewCase *
entry_copy (const Entry *entry)
{
  PulmoReviewCase *copy = g_new0 (PulmoReviewCase, 1);
  *copy = entry->c;
  copy->name = g_strdup (entry->c.name);
  copy->ct_path = g_strdup (entry->c.ct_path);
  copy->labels_path = g_strdup (entry->c.labels_path);
  copy->segmented = entry_segmented (entry);
  copy->model = copy->segmented ? g_strdup (entry->c.model) : NULL;
  if (!copy->segmented)
    {
      copy->uncertainty = 0;
      copy->lung_pixels = 0;
    }
  if (entry->clash != NULL)
    copy->error = g_strdup_printf ("%s and %s would share the label file %s: rename one of them",
                                   entry->clash, entry->c.name, entry->c.labels_path);
  else
    copy->error = entry_failed (entry) ? g_strdup (entry->c.error) : NULL;
  return copy;
}

/* Queue order: measured cases by uncertainty, highest first; then those not
 * measured yet; then failures; ties by name. */
static int
entry_group (const Entry *entry)
{
  return entry_failed (entry) ? 2 : entry_segmented (entry) ? 0 : 1;
}

static int
compare_queue_order (gconstpointer a, gconstpointer b)
{
  const Entry *ea = *(Entry *const *) a, *eb = *(Entry *const *) b;
  int ga = entry_group (ea), gb = entry_group (eb);
  if (ga != gb)
    return ga < gb ? -1 : 1;
  if (ga == 0 && ea->c.uncertainty != eb->c.uncertainty)
    return ea->c.uncertainty > eb->c.uncertainty ? -1 : 1;
  return strcmp (ea->c.name, eb->c.name);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  const Entry *ea = *(Entry *const *) a, *eb = *(Entry *const *) b;
  return strcmp (ea->c.name, eb->c.name);
}

/* The present entries, sorted by @compare. Under the lock. */
static GPtrArray *
present_entries (PulmoReviewQueue *queue, GCompareFunc compare)
{
  GPtrArray *entries = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, queue->entries);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((Entry *) value)->present)
      g_ptr_array_add (entries, value);
  g_ptr_array_sort (entries, compare);
  return entries;
}

/* Lists the folder again: which CTs are present, their stamps now, and which
 * would share a label file. Under the lock. */
static gboolean
scan (PulmoReviewQueue *queue, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GDir) listing = g_dir_open (queue->dir, 0, &local);
  if (listing == NULL)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND, _("%s: cannot list the folder: %s"),
                        queue->dir, local->message),
           FALSE;
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, queue->entries);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ((Entry *) value)->present = FALSE;
  for (const char *name; (name = g_dir_read_name (listing)) != NULL;)
    {
      if (!is_ct_name (name))
        continue;
      g_autofree char *path = g_build_filename (queue->dir, name, NULL);
      /* Subfolders (DICOM series, our own pulmo-labels) are not cases. */
      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      Entry *entry = g_hash_table_lookup (queue->entries, name);
      if (entry == NULL)
        entry = entry_new (queue, name);
      entry->present = stamp_file (path, &entry->now);
    }
  /* "a.nii" and "a.nii.gz" would both write pulmo-labels/a-labels.nii.gz:
   * the first in name order keeps it, the other is refused. */
  g_autoptr (GPtrArray) present = present_entries (queue, compare_names);
  g_autoptr (GHashTable) owners = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < present->len; i++)
    {
      Entry *entry = present->pdata[i];
      Entry *owner = g_hash_table_lookup (owners, entry->c.labels_path);
      g_clear_pointer (&entry->clash, g_free);
      if (owner != NULL)
        entry->clash = g_strdup (owner->c.name);
      else
        g_hash_table_insert (owners, entry->c.labels_path, entry);
    }
  return TRUE;
}

/* The state file ------------------------------------------------------------ */

/* Members of a case in the state file. Absent members keep their defaults;
 * a member of the wrong type makes the file unreadable (never a critical). */
static gboolean
get_member (JsonObject *object, const char *name, GType type, JsonNode **node)
{
  *node = json_object_get_member (object, name);
  if (*node == NULL || JSON_NODE_HOLDS_NULL (*node))
    {
      *node = NULL;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (*node))
    return FALSE;
  GType held = json_node_get_value_type (*node);
  /* 0.0 may come back as an integer from other writers. */
  return held == type || (type == G_TYPE_DOUBLE && held == G_TYPE_INT64);
}

static gboolean
get_string (JsonObject *object, const char *name, char **out)
{
  JsonNode *node;
  if (!get_member (object, name, G_TYPE_STRING, &node))
    return FALSE;
  if (node != NULL)
    {
      g_free (*out);
      *out = g_strdup (json_node_get_string (node));
    }
  return TRUE;
}

static gboolean
get_int (JsonObject *object, const char *name, gint64 *out)
{
  JsonNode *node;
  if (!get_member (object, name, G_TYPE_INT64, &node))
    return FALSE;
  if (node != NULL)
    *out = json_node_get_int (node);
  return TRUE;
}

static gboolean
get_double (JsonObject *object, const char *name, double *out)
{
  JsonNode *node;
  if (!get_member (object, name, G_TYPE_DOUBLE, &node))
    return FALSE;
  if (node != NULL)
    *out = json_node_get_value_type (node) == G_TYPE_INT64 ? (double) json_node_get_int (node)
                                                           : json_node_get_double (node);
  return TRUE;
}

/* One case's record into a new entry; FALSE if it is malformed. */
static gboolean
read_case (PulmoReviewQueue *queue, const char *name, JsonNode *node)
{
  if (!JSON_NODE_HOLDS_OBJECT (node) || strchr (name, G_DIR_SEPARATOR) != NULL || !is_ct_name (name))
    return FALSE;
  JsonObject *object = json_node_get_object (node);
  g_autofree char *state = NULL;
  if (!get_string (object, "state", &state))
    return FALSE;
  Entry *entry = entry_new (queue, name);
  gint64 lung_pixels = 0;
  gboolean ok = pulmo_review_state_from_name (state, &entry->c.state)
                && get_double (object, "uncertainty", &entry->c.uncertainty)
                && get_int (object, "lung-pixels", &lung_pixels) && lung_pixels >= 0
                && get_string (object, "model", &entry->c.model)
                && get_string (object, "error", &entry->c.error)
                && get_int (object, "ct-size", &entry->ct.size)
                && get_int (object, "ct-mtime-us", &entry->ct.mtime_us)
                && get_int (object, "labels-size", &entry->labels.size)
                && get_int (object, "labels-mtime-us", &entry->labels.mtime_us);
  entry->c.lung_pixels = (guint64) lung_pixels;
  /* Measured means the model is named; the label file is ours when its stamp was recorded. */
  entry->measured = entry->c.model != NULL;
  entry->labels_ours = json_object_has_member (object, "labels-size");
  return ok && entry->c.uncertainty >= 0 && entry->c.uncertainty <= 1;
}

/* Reads the state file into the entries. FALSE with @error only for a newer
 * version; a malformed file gives TRUE and its problem in @malformed. */
static gboolean
read_state (PulmoReviewQueue *queue, char **malformed, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!g_file_test (queue->state_path, G_FILE_TEST_EXISTS))
    return TRUE;
  if (!json_parser_load_from_file (parser, queue->state_path, &local))
    {
      *malformed = g_strdup (local->message);
      return TRUE;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *object = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  gint64 version = -1;
  if (object == NULL || !get_int (object, "version", &version) || version < 1)
    {
      *malformed = g_strdup ("not a Pulmo review state (no version)");
      return TRUE;
    }
  if (version > STATE_VERSION)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED,
                        _("%s was written by a newer Pulmo (version %" PRId64
                        "; this one reads %d): update Pulmo to open this review queue"),
                        queue->state_path, version, STATE_VERSION),
           FALSE;
  JsonNode *cases = json_object_get_member (object, "cases");
  if (cases == NULL || !JSON_NODE_HOLDS_OBJECT (cases))
    {
      *malformed = g_strdup ("no \"cases\" object");
      return TRUE;
    }
  g_autoptr (GList) names = json_object_get_members (json_node_get_object (cases));
  for (GList *l = names; l != NULL; l = l->next)
    if (!read_case (queue, l->data, json_object_get_member (json_node_get_object (cases), l->data)))
      {
        *malformed = g_strdup_printf ("the record of “%s” is not valid", (const char *) l->data);
        g_hash_table_remove_all (queue->entries);
        return TRUE;
      }
  return TRUE;
}

static gboolean
write_text (int fd, gpointer user_data)
{
  const char *text = user_data;
  return pulmo_write_all (fd, text, strlen (text));
}

/* Writes every entry, present or not, atomically. Under the lock. */
static gboolean
save_state (PulmoReviewQueue *queue, GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, STATE_VERSION);
  json_builder_set_member_name (builder, "cases");
  json_builder_begin_object (builder);
  /* In name order, so that the file diffs well and reads easily. */
  GList *all = g_hash_table_get_values (queue->entries);
  g_autoptr (GPtrArray) entries = g_ptr_array_new ();
  for (GList *l = all; l != NULL; l = l->next)
    g_ptr_array_add (entries, l->data);
  g_list_free (all);
  g_ptr_array_sort (entries, compare_names);
  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *entry = entries->pdata[i];
      json_builder_set_member_name (builder, entry->c.name);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "state");
      json_builder_add_string_value (builder, pulmo_review_state_name (entry->c.state));
      json_builder_set_member_name (builder, "labels");
      g_autofree char *labels_name = g_path_get_basename (entry->c.labels_path);
      g_autofree char *labels = g_build_filename (PULMO_REVIEW_LABELS_DIR, labels_name, NULL);
      json_builder_add_string_value (builder, labels);
      if (entry->measured)
        {
          json_builder_set_member_name (builder, "uncertainty");
          json_builder_add_double_value (builder, entry->c.uncertainty);
          json_builder_set_member_name (builder, "lung-pixels");
          json_builder_add_int_value (builder, (gint64) entry->c.lung_pixels);
          json_builder_set_member_name (builder, "model");
          json_builder_add_string_value (builder, entry->c.model);
        }
      if (entry->c.error != NULL)
        {
          json_builder_set_member_name (builder, "error");
          json_builder_add_string_value (builder, entry->c.error);
        }
      if (entry->measured || entry->c.error != NULL)
        {
          json_builder_set_member_name (builder, "ct-size");
          json_builder_add_int_value (builder, entry->ct.size);
          json_builder_set_member_name (builder, "ct-mtime-us");
          json_builder_add_int_value (builder, entry->ct.mtime_us);
        }
      if (entry->labels_ours)
        {
          json_builder_set_member_name (builder, "labels-size");
          json_builder_add_int_value (builder, entry->labels.size);
          json_builder_set_member_name (builder, "labels-mtime-us");
          json_builder_add_int_value (builder, entry->labels.mtime_us);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);
  g_autofree char *text = json_generator_to_data (generator, NULL);
  return pulmo_write_file_atomically (queue->state_path, write_text, text, error);
}

/* The queue ----------------------------------------------------------------- */

PulmoReviewQueue *
pulmo_review_queue_open (const char *dir, GError **error)
{
  g_return_val_if_fail (dir != NULL, NULL);
  g_autoptr (PulmoReviewQueue) queue = g_new0 (PulmoReviewQueue, 1);
  g_mutex_init (&queue->lock);
  queue->dir = g_canonicalize_filename (dir, NULL);
  queue->state_path = g_build_filename (queue->dir, PULMO_REVIEW_STATE_FILE, NULL);
  queue->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) entry_free);
  if (!g_file_test (queue->dir, G_FILE_TEST_IS_DIR))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND, _("%s is not a folder"), queue->dir),
           NULL;
  g_autofree char *malformed = NULL;
  if (!read_state (queue, &malformed, error))
    return NULL;
  if (malformed != NULL)
    {
      /* Set aside, not deleted: a person may still want what it held. */
      g_autofree char *aside = g_strconcat (queue->state_path, ".corrupt", NULL);
      if (g_rename (queue->state_path, aside) != 0)
        return g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO,
                            _("%s cannot be read (%s) nor moved aside: %s"), queue->state_path,
                            malformed, g_strerror (errno)),
               NULL;
      queue->warning = g_strdup_printf (_("%s could not be read (%s); it was moved to %s and the "
                                          "queue starts afresh. Label files are kept as they are."),
                                        queue->state_path, malformed, aside);
    }
  if (!scan (queue, error))
    return NULL;
  return g_steal_pointer (&queue);
}

void
pulmo_review_queue_free (PulmoReviewQueue *queue)
{
  if (queue == NULL)
    return;
  g_mutex_clear (&queue->lock);
  g_clear_pointer (&queue->entries, g_hash_table_unref);
  g_free (queue->dir);
  g_free (queue->state_path);
  g_free (queue->warning);
  g_free (queue);
}

const char *
pulmo_review_queue_get_dir (PulmoReviewQueue *queue)
{
  return queue->dir;
}

const char *
pulmo_review_queue_get_warning (PulmoReviewQueue *queue)
{
  return queue->warning;
}

GPtrArray *
pulmo_review_queue_list (PulmoReviewQueue *queue)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) pulmo_review_case_free);
  g_mutex_lock (&queue->lock);
  g_autoptr (GPtrArray) entries = present_entries (queue, compare_queue_order);
  for (guint i = 0; i < entries->len; i++)
    g_ptr_array_add (list, entry_copy (entries->pdata[i]));
  g_mutex_unlock (&queue->lock);
  return list;
}

static Entry *
lookup_present (PulmoReviewQueue *queue, const char *name, GError **error)
{
  Entry *entry = g_hash_table_lookup (queue->entries, name);
  if (entry == NULL || !entry->present)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND, _("%s: no CT named “%s” in this review queue"),
                   queue->dir, name);
      return NULL;
    }
  return entry;
}

PulmoReviewCase *
pulmo_review_queue_get_case (PulmoReviewQueue *queue, const char *name)
{
  g_mutex_lock (&queue->lock);
  Entry *entry = lookup_present (queue, name, NULL);
  PulmoReviewCase *copy = entry != NULL ? entry_copy (entry) : NULL;
  g_mutex_unlock (&queue->lock);
  return copy;
}

gboolean
pulmo_review_queue_set_state (PulmoReviewQueue *queue, const char *name, PulmoReviewState state,
                              GError **error)
{
  g_return_val_if_fail ((guint) state < G_N_ELEMENTS (state_names), FALSE);
  g_mutex_lock (&queue->lock);
  Entry *entry = lookup_present (queue, name, error);
  gboolean ok = entry != NULL;
  if (ok && entry->c.state != state)
    {
      entry->c.state = state;
      ok = save_state (queue, error);
    }
  g_mutex_unlock (&queue->lock);
  return ok;
}

PulmoReviewCase *
pulmo_review_queue_next (PulmoReviewQueue *queue, const char *after)
{
  g_mutex_lock (&queue->lock);
  g_autoptr (GPtrArray) order = present_entries (queue, compare_queue_order);
  int n = (int) order->len, from = -1;
  for (int i = 0; after != NULL && i < n; i++)
    if (strcmp (((Entry *) order->pdata[i])->c.name, after) == 0)
      from = i;
  PulmoReviewCase *next = NULL;
  /* From the case after @after round to @after itself (or, from the top, all). */
  for (int step = 1; step <= n && next == NULL; step++)
    {
      const Entry *entry = order->pdata[(from + step + n) % n];
      if (entry->c.state != PULMO_REVIEW_DONE && entry->c.state != PULMO_REVIEW_FLAGGED
          && !entry_failed (entry))
        next = entry_copy (entry);
    }
  g_mutex_unlock (&queue->lock);
  return next;
}

char *
pulmo_review_queue_next_to_segment (PulmoReviewQueue *queue, const char *model_identity)
{
  g_mutex_lock (&queue->lock);
  /* A folder that can no longer be listed keeps what was last seen. */
  scan (queue, NULL);
  g_autoptr (GPtrArray) entries = present_entries (queue, compare_names);
  char *name = NULL;
  for (guint i = 0; i < entries->len && name == NULL; i++)
    {
      const Entry *entry = entries->pdata[i];
      if (entry->c.state == PULMO_REVIEW_DONE || entry_failed (entry))
        continue;
      if (!entry_segmented (entry)
          || (entry->c.state == PULMO_REVIEW_NOT_STARTED && g_strcmp0 (entry->c.model, model_identity) != 0))
        name = g_strdup (entry->c.name);
    }
  g_mutex_unlock (&queue->lock);
  return name;
}

/* Records a failure of case @name on its CT as stamped @ct, and saves. */
static void
record_failure (PulmoReviewQueue *queue, const char *name, const Stamp *ct, const GError *failure)
{
  g_mutex_lock (&queue->lock);
  Entry *entry = g_hash_table_lookup (queue->entries, name);
  if (entry != NULL)
    {
      g_free (entry->c.error);
      entry->c.error = g_strdup (failure->message);
      entry->measured = FALSE;
      entry->ct = *ct;
      /* The failure is what the queue shows; a state file that cannot be
       * written now is tried again on the next change. */
      save_state (queue, NULL);
    }
  g_mutex_unlock (&queue->lock);
}

gboolean
pulmo_review_queue_presegment (PulmoReviewQueue *queue, const char *name, PulmoModel *model,
                               PulmoProgress *progress, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (queue != NULL && name != NULL && model != NULL, FALSE);
  g_mutex_lock (&queue->lock);
  Entry *entry = lookup_present (queue, name, error);
  g_autofree char *ct_path = entry != NULL ? g_strdup (entry->c.ct_path) : NULL;
  g_autofree char *labels_path = entry != NULL ? g_strdup (entry->c.labels_path) : NULL;
  g_mutex_unlock (&queue->lock);
  if (entry == NULL)
    return FALSE;

  /* Stamped before loading: a CT replaced while we read it then counts as
   * changed, and is measured again. */
  Stamp ct_stamp = { -1, -1 };
  stamp_file (ct_path, &ct_stamp);
  g_autoptr (GError) local = NULL;
  g_autoptr (PulmoVolume) ct = pulmo_volume_load (ct_path, progress, cancellable, &local);
  g_autoptr (PulmoLabelMap) map = ct != NULL ? pulmo_label_map_new (ct) : NULL;
  PulmoSegmentOptions options;
  pulmo_segment_options_init (&options);
  PulmoSegmentUncertainty uncertainty = { 0 };
  options.uncertainty = &uncertainty;
  gboolean ok = ct != NULL
                && pulmo_segment_ct (model->net, &model->info, ct, pulmo_label_map_get_data_mutable (map),
                                     &options, progress, cancellable, &local);
  /* Written beside the label file under a hidden name, then renamed into
   * place under the lock only if the rule allows: the check and the
   * replacement are one step for anyone changing the case's state. */
  g_autofree char *labels_dir = g_path_get_dirname (labels_path);
  g_autofree char *labels_name = g_path_get_basename (labels_path);
  g_autofree char *staged_name = g_strdup_printf (".%s.presegment.nii.gz", labels_name);
  g_autofree char *staged = g_build_filename (labels_dir, staged_name, NULL);
  if (ok && g_mkdir_with_parents (labels_dir, 0755) != 0)
    {
      int saved = errno;
      ok = FALSE;
      g_set_error (&local, PULMO_ERROR, PULMO_ERROR_IO, _("%s: cannot create the folder: %s"), labels_dir,
                   g_strerror (saved));
    }
  ok = ok && pulmo_label_map_save (map, staged, &local);
  ok = ok && !g_cancellable_set_error_if_cancelled (cancellable, &local);
  if (!ok)
    {
      g_unlink (staged);
      if (!g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        record_failure (queue, name, &ct_stamp, local);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }

  g_mutex_lock (&queue->lock);
  entry = g_hash_table_lookup (queue->entries, name);
  Stamp labels_now;
  gboolean exists = stamp_file (labels_path, &labels_now);
  gboolean replace = !exists || (entry->c.state == PULMO_REVIEW_NOT_STARTED && entry->labels_ours
                                 && stamp_equal (&labels_now, &entry->labels));
  if (replace && g_rename (staged, labels_path) == 0 && stamp_file (labels_path, &entry->labels))
    entry->labels_ours = TRUE;
  else
    {
      /* The annotator's file stays; so does ours not being it. */
      g_unlink (staged);
      if (replace)
        {
          int saved = errno;
          g_set_error (&local, PULMO_ERROR, PULMO_ERROR_IO, _("%s: cannot write the labels: %s"), labels_path,
                       g_strerror (saved));
        }
    }
  if (local == NULL)
    {
      entry->measured = TRUE;
      entry->ct = ct_stamp;
      entry->c.uncertainty = uncertainty.mean_entropy;
      entry->c.lung_pixels = uncertainty.n_pixels;
      g_free (entry->c.model);
      entry->c.model = g_strdup (model->identity);
      g_clear_pointer (&entry->c.error, g_free);
    }
  else
    {
      g_free (entry->c.error);
      entry->c.error = g_strdup (local->message);
      entry->measured = FALSE;
      entry->ct = ct_stamp;
    }
  /* A failure to write the labels is what we report, even if saving works. */
  ok = local == NULL;
  if (!save_state (queue, ok ? &local : NULL))
    ok = FALSE;
  g_mutex_unlock (&queue->lock);
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&local));
  return ok;
}
