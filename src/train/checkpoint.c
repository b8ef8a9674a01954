/* checkpoint.c: see checkpoint.h. */
#include "train/checkpoint.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "core/pulmo-error.h"

#define MAGIC "PULMOCKP"
#define VERSION 1
#define HEADER_SIZE 16
/* epochs done, optimiser steps, seconds, settings, validation ids, log,
 * model file, moments (m then v of every tensor, little-endian floats). */
#define CHECKPOINT_TYPE "(uudsassayay)"
#define CHECKPOINT_FORMAT "(uuds^ass@ay@ay)"

void
pulmo_checkpoint_state_clear (PulmoCheckpointState *state)
{
  g_free (state->settings);
  g_strfreev (state->validation_ids);
  g_free (state->log);
  memset (state, 0, sizeof *state);
}

static guint32
crc_of (const guint8 *data, gsize size)
{
  uLong crc = crc32 (0, NULL, 0);
  for (gsize done = 0; done < size;)
    {
      uInt piece = (uInt) MIN (size - done, (gsize) 1 << 30);
      crc = crc32 (crc, data + done, piece);
      done += piece;
    }
  return (guint32) crc;
}

gboolean
pulmo_checkpoint_save (const char *path, const PulmoCheckpointState *state, const PulmoUNet *net,
                       const PulmoModelInfo *info, PulmoAdamW *optim, GError **error)
{
  g_autoptr (GBytes) model = pulmo_weights_to_bytes (net, info, error);
  if (model == NULL)
    return FALSE;
  g_autoptr (GByteArray) moments = g_byte_array_new ();
  for (int i = 0; i < pulmo_adamw_n_params (optim); i++)
    {
      float *m, *v;
      size_t count;
      pulmo_adamw_moments (optim, i, &m, &v, &count);
      g_byte_array_append (moments, (const guint8 *) m, (guint) (count * sizeof (float)));
      g_byte_array_append (moments, (const guint8 *) v, (guint) (count * sizeof (float)));
    }
  g_autoptr (GBytes) moment_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&moments));
  const char *const empty[] = { NULL };
  g_autoptr (GVariant) variant = g_variant_ref_sink (g_variant_new (
    CHECKPOINT_FORMAT, (guint32) state->epochs_done, (guint32) pulmo_adamw_n_steps (optim),
    state->seconds, state->settings ? state->settings : "",
    state->validation_ids ? (const char *const *) state->validation_ids : empty,
    state->log ? state->log : "",
    g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, model, TRUE),
    g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, moment_bytes, TRUE)));

  gsize body = g_variant_get_size (variant);
  g_autofree guint8 *file = g_malloc (HEADER_SIZE + body);
  memcpy (file, MAGIC, 8);
  g_variant_store (variant, file + HEADER_SIZE);
  guint32 version = GUINT32_TO_LE (VERSION), crc = GUINT32_TO_LE (crc_of (file + HEADER_SIZE, body));
  memcpy (file + 8, &version, 4);
  memcpy (file + 12, &crc, 4);

  g_autoptr (GError) local_error = NULL;
  if (!g_file_set_contents_full (path, (const char *) file, (gssize) (HEADER_SIZE + body),
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644,
                                 &local_error))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("checkpoint not saved: %s"),
                        local_error->message), FALSE;
  return TRUE;
}

PulmoUNet *
pulmo_checkpoint_load (const char *path, PulmoCheckpointState *state, PulmoModelInfo *info,
                       const PulmoAdamWConfig *optim_config, PulmoAdamW **optim, GError **error)
{
  memset (state, 0, sizeof *state);
  g_autofree char *display = g_filename_display_name (path);
  g_autoptr (GMappedFile) mapped = g_mapped_file_new (path, FALSE, NULL);
  if (mapped == NULL)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND, _("%s: cannot be read"), display),
           NULL;
  const guint8 *data = (const guint8 *) g_mapped_file_get_contents (mapped);
  gsize size = g_mapped_file_get_length (mapped);
  guint32 version = 0, crc = 0;
  if (size < HEADER_SIZE || memcmp (data, MAGIC, 8) != 0)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, _("%s: not a Pulmo checkpoint"),
                        display), NULL;
  memcpy (&version, data + 8, 4);
  memcpy (&crc, data + 12, 4);
  if (GUINT32_FROM_LE (version) != VERSION)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_UNSUPPORTED,
                        _("%s: checkpoint version %u; this Pulmo reads version %d"), display,
                        GUINT32_FROM_LE (version), VERSION), NULL;
  if (GUINT32_FROM_LE (crc) != crc_of (data + HEADER_SIZE, size - HEADER_SIZE))
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_CORRUPT,
                        _("%s: checksum mismatch: the checkpoint is damaged"), display), NULL;

  g_autoptr (GBytes) body = g_bytes_new (data + HEADER_SIZE, size - HEADER_SIZE);
  g_autoptr (GVariant) variant = g_variant_ref_sink (
    g_variant_new_from_bytes (G_VARIANT_TYPE (CHECKPOINT_TYPE), body, FALSE));
  guint32 epochs, steps;
  g_autoptr (GVariant) model = NULL, moments = NULL;
  g_variant_get (variant, CHECKPOINT_FORMAT, &epochs, &steps, &state->seconds, &state->settings,
                 &state->validation_ids, &state->log, &model, &moments);
  state->epochs_done = (int) MIN (epochs, (guint32) G_MAXINT);

  gsize model_size;
  const guint8 *model_data = g_variant_get_fixed_array (model, &model_size, 1);
  g_autoptr (PulmoUNet) net = pulmo_weights_load_bytes (model_data, model_size, display, info, error);
  if (net == NULL)
    {
      pulmo_checkpoint_state_clear (state);
      return NULL;
    }
  g_autoptr (PulmoAdamW) adamw = pulmo_unet_adamw_new (net, optim_config);
  gsize moments_size;
  const guint8 *moment_data = g_variant_get_fixed_array (moments, &moments_size, 1);
  gsize offset = 0;
  for (int i = 0; i < pulmo_adamw_n_params (adamw); i++)
    {
      float *m, *v;
      size_t count;
      pulmo_adamw_moments (adamw, i, &m, &v, &count);
      if (moments_size - offset < 2 * count * sizeof (float))
        {
          pulmo_checkpoint_state_clear (state);
          pulmo_model_info_clear (info);
          return g_set_error (error, PULMO_ERROR, PULMO_ERROR_CORRUPT,
                              _("%s: the optimiser's state is shorter than the model"), display), NULL;
        }
      memcpy (m, moment_data + offset, count * sizeof (float));
      memcpy (v, moment_data + offset + count * sizeof (float), count * sizeof (float));
      offset += 2 * count * sizeof (float);
    }
  if (offset != moments_size)
    {
      pulmo_checkpoint_state_clear (state);
      pulmo_model_info_clear (info);
      return g_set_error (error, PULMO_ERROR, PULMO_ERROR_CORRUPT,
                          _("%s: the optimiser's state does not match the model"), display), NULL;
    }
  pulmo_adamw_set_n_steps (adamw, (int) MIN (steps, (guint32) G_MAXINT));
  *optim = g_steal_pointer (&adamw);
  return g_steal_pointer (&net);
}

PulmoUNet *
pulmo_checkpoint_load_model (const char *path, PulmoModelInfo *info, GError **error)
{
  char magic[8] = { 0 };
  FILE *file = fopen (path, "rb");
  gboolean is_checkpoint = file != NULL && fread (magic, 1, 8, file) == 8 &&
                           memcmp (magic, MAGIC, 8) == 0;
  if (file != NULL)
    fclose (file);
  if (!is_checkpoint)
    return pulmo_weights_load (path, info, error);

  PulmoCheckpointState state;
  PulmoAdamWConfig config = pulmo_adamw_config_default ();
  g_autoptr (PulmoAdamW) optim = NULL;
  PulmoUNet *net = pulmo_checkpoint_load (path, &state, info, &config, &optim, error);
  pulmo_checkpoint_state_clear (&state);
  return net;
}
