#include "edit/edit-history.h"

#include <string.h>
#include <zlib.h>

/* Deflate in and out through buffers of this size, so that undoing a
 * whole-volume edit never needs a second copy of the volume. */
#define ZCHUNK ((size_t) 1 << 16)

/* While a stroke grows, its snapshot box grows by at least this many voxels
 * per side, so that a drag copies each part of the slice about once. */
#define GROW_SLACK 16

typedef struct {
  char *name;
  PulmoBox box;
  GBytes *delta;   /* deflated XOR of the labels in box, before and after */
} PulmoEditStep;

struct _PulmoEditHistory {
  PulmoLabelMap *map;
  int dims[3];
  gsize budget;
  GPtrArray *undo;   /* oldest first */
  GPtrArray *redo;   /* next to redo last */
  gsize bytes;

  /* The edit in progress: the labels of @box as they were before it. */
  gboolean in_edit;
  char *name;
  gboolean touched;
  PulmoBox box;
  uint8_t *before;
};

static gsize
box_voxels (const PulmoBox *box)
{
  return (gsize) (box->hi[0] - box->lo[0] + 1) * (gsize) (box->hi[1] - box->lo[1] + 1)
         * (gsize) (box->hi[2] - box->lo[2] + 1);
}

static gsize
step_bytes (const PulmoEditStep *step)
{
  return sizeof *step + strlen (step->name) + 1 + g_bytes_get_size (step->delta);
}

static void
step_free (gpointer data)
{
  PulmoEditStep *step = data;
  g_free (step->name);
  g_bytes_unref (step->delta);
  g_free (step);
}

PulmoEditHistory *
pulmo_edit_history_new (PulmoLabelMap *map, gsize budget_bytes)
{
  PulmoEditHistory *history = g_new0 (PulmoEditHistory, 1);
  history->map = g_object_ref (map);
  pulmo_volume_get_dims (pulmo_label_map_get_volume (map), history->dims);
  history->budget = budget_bytes ? budget_bytes : (gsize) 256 << 20;
  history->undo = g_ptr_array_new_with_free_func (step_free);
  history->redo = g_ptr_array_new_with_free_func (step_free);
  return history;
}

void
pulmo_edit_history_free (PulmoEditHistory *history)
{
  if (history == NULL)
    return;
  g_ptr_array_unref (history->undo);
  g_ptr_array_unref (history->redo);
  g_free (history->name);
  g_free (history->before);
  g_object_unref (history->map);
  g_free (history);
}

PulmoLabelMap *
pulmo_edit_history_get_map (PulmoEditHistory *history)
{
  return history->map;
}

void
pulmo_edit_history_begin (PulmoEditHistory *history, const char *name)
{
  g_return_if_fail (!history->in_edit);
  history->in_edit = TRUE;
  history->touched = FALSE;
  history->name = g_strdup (name ? name : "Edit");
}

gboolean
pulmo_edit_history_in_edit (PulmoEditHistory *history)
{
  return history->in_edit;
}

/* Copies the map's voxels of @box into @dest, a buffer laid out as @within
 * (which contains @box), row by row along the first axis. */
static void
copy_box_from_map (PulmoEditHistory *history, const PulmoBox *box, const PulmoBox *within,
                   uint8_t *dest)
{
  const uint8_t *labels = pulmo_label_map_get_data (history->map);
  gsize w_nx = (gsize) (within->hi[0] - within->lo[0] + 1);
  gsize w_ny = (gsize) (within->hi[1] - within->lo[1] + 1);
  gsize n = (gsize) (box->hi[0] - box->lo[0] + 1);
  for (int k = box->lo[2]; k <= box->hi[2]; k++)
    for (int j = box->lo[1]; j <= box->hi[1]; j++)
      {
        gsize src = ((gsize) k * history->dims[1] + j) * history->dims[0] + box->lo[0];
        gsize dst = ((gsize) (k - within->lo[2]) * w_ny + (j - within->lo[1])) * w_nx
                    + (box->lo[0] - within->lo[0]);
        memcpy (dest + dst, labels + src, n);
      }
}

static gboolean
box_contains (const PulmoBox *outer, const PulmoBox *inner)
{
  for (int a = 0; a < 3; a++)
    if (inner->lo[a] < outer->lo[a] || inner->hi[a] > outer->hi[a])
      return FALSE;
  return TRUE;
}

void
pulmo_edit_history_touch (PulmoEditHistory *history, const PulmoBox *box)
{
  g_return_if_fail (history->in_edit);

  PulmoBox clipped;
  for (int a = 0; a < 3; a++)
    {
      clipped.lo[a] = MAX (box->lo[a], 0);
      clipped.hi[a] = MIN (box->hi[a], history->dims[a] - 1);
      if (clipped.lo[a] > clipped.hi[a])
        return;
    }

  if (!history->touched)
    {
      history->touched = TRUE;
      history->box = clipped;
      history->before = g_malloc (box_voxels (&clipped));
      copy_box_from_map (history, &clipped, &clipped, history->before);
      return;
    }
  if (box_contains (&history->box, &clipped))
    return;

  /* Grow the snapshot to the union with slack. The voxels outside the old box
   * are still unedited (edits write only into touched boxes), so the map holds
   * their "before"; the old box's come from the old snapshot. */
  PulmoBox grown;
  for (int a = 0; a < 3; a++)
    {
      grown.lo[a] = history->box.lo[a];
      grown.hi[a] = history->box.hi[a];
      if (clipped.lo[a] < grown.lo[a])
        grown.lo[a] = MAX (clipped.lo[a] - GROW_SLACK, 0);
      if (clipped.hi[a] > grown.hi[a])
        grown.hi[a] = MIN (clipped.hi[a] + GROW_SLACK, history->dims[a] - 1);
    }
  uint8_t *before = g_malloc (box_voxels (&grown));
  copy_box_from_map (history, &grown, &grown, before);
  gsize o_nx = (gsize) (history->box.hi[0] - history->box.lo[0] + 1);
  gsize o_ny = (gsize) (history->box.hi[1] - history->box.lo[1] + 1);
  gsize g_nx = (gsize) (grown.hi[0] - grown.lo[0] + 1);
  gsize g_ny = (gsize) (grown.hi[1] - grown.lo[1] + 1);
  for (int k = history->box.lo[2]; k <= history->box.hi[2]; k++)
    for (int j = history->box.lo[1]; j <= history->box.hi[1]; j++)
      {
        gsize src = ((gsize) (k - history->box.lo[2]) * o_ny + (j - history->box.lo[1])) * o_nx;
        gsize dst = ((gsize) (k - grown.lo[2]) * g_ny + (j - grown.lo[1])) * g_nx
                    + (history->box.lo[0] - grown.lo[0]);
        memcpy (before + dst, history->before + src, o_nx);
      }
  g_free (history->before);
  history->before = before;
  history->box = grown;
}

/* XORs the map's voxels of @box into @buffer (laid out as @box) and returns
 * whether any voxel differed. */
static gboolean
xor_with_map (PulmoEditHistory *history, const PulmoBox *box, uint8_t *buffer)
{
  const uint8_t *labels = pulmo_label_map_get_data (history->map);
  gsize nx = (gsize) (box->hi[0] - box->lo[0] + 1);
  uint8_t any = 0;
  gsize at = 0;
  for (int k = box->lo[2]; k <= box->hi[2]; k++)
    for (int j = box->lo[1]; j <= box->hi[1]; j++, at += nx)
      {
        const uint8_t *row = labels + ((gsize) k * history->dims[1] + j) * history->dims[0] + box->lo[0];
        for (gsize i = 0; i < nx; i++)
          {
            buffer[at + i] ^= row[i];
            any |= buffer[at + i];
          }
      }
  return any != 0;
}

static GBytes *
deflate_buffer (const uint8_t *data, gsize size)
{
  z_stream zs = { 0 };
  /* Z_RLE: a delta is mostly runs of zeros, which RLE codes as well as full
   * deflate at a fraction of the time. */
  if (deflateInit2 (&zs, 1, Z_DEFLATED, 15, 8, Z_RLE) != Z_OK)
    g_error ("zlib: deflateInit2 failed");
  GByteArray *out = g_byte_array_new ();
  uint8_t chunk[ZCHUNK];
  gsize offset = 0;
  int ret;
  do
    {
      gsize in = MIN (size - offset, (gsize) UINT_MAX);
      zs.next_in = (Bytef *) data + offset;
      zs.avail_in = (uInt) in;
      int flush = offset + in == size ? Z_FINISH : Z_NO_FLUSH;
      do
        {
          zs.next_out = chunk;
          zs.avail_out = ZCHUNK;
          ret = deflate (&zs, flush);
          g_byte_array_append (out, chunk, (guint) (ZCHUNK - zs.avail_out));
        }
      while (zs.avail_out == 0);
      offset += in - zs.avail_in;
    }
  while (ret != Z_STREAM_END);
  deflateEnd (&zs);
  return g_byte_array_free_to_bytes (out);
}

static void
drop_oldest_beyond_budget (PulmoEditHistory *history)
{
  while (history->bytes > history->budget && history->undo->len > 1)
    {
      history->bytes -= step_bytes (g_ptr_array_index (history->undo, 0));
      g_ptr_array_remove_index (history->undo, 0);
    }
}

gboolean
pulmo_edit_history_end (PulmoEditHistory *history)
{
  g_return_val_if_fail (history->in_edit, FALSE);
  history->in_edit = FALSE;

  gboolean changed = history->touched && xor_with_map (history, &history->box, history->before);
  if (changed)
    {
      PulmoEditStep *step = g_new0 (PulmoEditStep, 1);
      step->name = g_steal_pointer (&history->name);
      step->box = history->box;
      step->delta = deflate_buffer (history->before, box_voxels (&history->box));
      for (guint i = 0; i < history->redo->len; i++)
        history->bytes -= step_bytes (g_ptr_array_index (history->redo, i));
      g_ptr_array_set_size (history->redo, 0);
      g_ptr_array_add (history->undo, step);
      history->bytes += step_bytes (step);
      drop_oldest_beyond_budget (history);
    }
  g_clear_pointer (&history->name, g_free);
  g_clear_pointer (&history->before, g_free);
  history->touched = FALSE;
  return changed;
}

gboolean
pulmo_edit_history_can_undo (PulmoEditHistory *history)
{
  return !history->in_edit && history->undo->len > 0;
}

gboolean
pulmo_edit_history_can_redo (PulmoEditHistory *history)
{
  return !history->in_edit && history->redo->len > 0;
}

static const char *
top_name (GPtrArray *steps)
{
  if (steps->len == 0)
    return NULL;
  return ((PulmoEditStep *) g_ptr_array_index (steps, steps->len - 1))->name;
}

const char *
pulmo_edit_history_get_undo_name (PulmoEditHistory *history)
{
  return top_name (history->undo);
}

const char *
pulmo_edit_history_get_redo_name (PulmoEditHistory *history)
{
  return top_name (history->redo);
}

/* XORs the step's inflated delta into the map, one box row at a time. */
static void
apply_step (PulmoEditHistory *history, const PulmoEditStep *step)
{
  uint8_t *labels = pulmo_label_map_get_data_mutable (history->map);
  const PulmoBox *box = &step->box;
  gsize nx = (gsize) (box->hi[0] - box->lo[0] + 1);
  g_autofree uint8_t *row = g_malloc (nx);
  gsize size;
  const uint8_t *delta = g_bytes_get_data (step->delta, &size);

  z_stream zs = { 0 };
  if (inflateInit (&zs) != Z_OK)
    g_error ("zlib: inflateInit failed");
  zs.next_in = (Bytef *) delta;
  zs.avail_in = (uInt) size;
  for (int k = box->lo[2]; k <= box->hi[2]; k++)
    for (int j = box->lo[1]; j <= box->hi[1]; j++)
      {
        zs.next_out = row;
        zs.avail_out = (uInt) nx;
        int ret = inflate (&zs, Z_SYNC_FLUSH);
        /* The delta was deflated here from exactly this box: anything else is a bug. */
        g_assert (zs.avail_out == 0 && (ret == Z_OK || ret == Z_STREAM_END));
        uint8_t *dest = labels + ((gsize) k * history->dims[1] + j) * history->dims[0] + box->lo[0];
        for (gsize i = 0; i < nx; i++)
          dest[i] ^= row[i];
      }
  inflateEnd (&zs);
  pulmo_label_map_changed (history->map, box);
}

/* Moves the top step of @from onto @to, applying it. */
static gboolean
move_step (PulmoEditHistory *history, GPtrArray *from, GPtrArray *to)
{
  g_return_val_if_fail (!history->in_edit, FALSE);
  if (from->len == 0)
    return FALSE;
  PulmoEditStep *step = g_ptr_array_steal_index (from, from->len - 1);
  g_ptr_array_add (to, step);
  apply_step (history, step);
  return TRUE;
}

gboolean
pulmo_edit_history_undo (PulmoEditHistory *history)
{
  return move_step (history, history->undo, history->redo);
}

gboolean
pulmo_edit_history_redo (PulmoEditHistory *history)
{
  return move_step (history, history->redo, history->undo);
}

gsize
pulmo_edit_history_get_bytes (PulmoEditHistory *history)
{
  return history->bytes;
}

guint
pulmo_edit_history_get_n_steps (PulmoEditHistory *history)
{
  return history->undo->len + history->redo->len;
}
