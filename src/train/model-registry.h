/* model-registry.h: where Pulmo finds its models, and a model loaded for use.
 *
 * The shipped model is installed to datadir/pulmo/models; a Pulmo run from
 * its build folder, not installed, finds it in the source tree's data/models.
 *
 * Fine-tuned models are installed into the user's models folder,
 * g_get_user_data_dir()/pulmo/models/, and kept there unchanged for good;
 * history.json lists them in the order they came and names the one in use.
 * Going back to an earlier model (or the shipped one) only changes which is
 * in use, so the file used is byte for byte the one installed then. */
#pragma once

#include <gio/gio.h>

#include "nn/unet.h"
#include "nn/weights.h"

G_BEGIN_DECLS

#define PULMO_SHIPPED_MODEL "pulmo-lung-lesion.pulmonet"

typedef struct {
  PulmoUNet *net;
  PulmoModelInfo info;
  char *path;
  /* "pulmo-lung-lesion 3f2a9c1d": the file's name and the start of its
   * SHA-256, which names exactly these weights in reports. */
  char *identity;
} PulmoModel;

/* The shipped model's path, or NULL with PULMO_ERROR_NOT_FOUND naming the
 * places looked in. */
char *pulmo_model_shipped_path (GError **error);
/* The model in use: the user's chosen installed model, else the shipped one. */
char *pulmo_model_default_path (GError **error);

typedef struct {
  char *path;        /* the kept file */
  char *identity;    /* as PulmoModel's */
  char *installed;   /* ISO 8601 date and time; NULL for the shipped model */
  char *note;        /* how it was made; NULL for the shipped model */
  gboolean in_use;
} PulmoModelEntry;

void pulmo_model_entry_free (PulmoModelEntry *entry);
/* The shipped model, then every installed one, oldest first. */
GPtrArray *pulmo_model_history (GError **error);
/* Copies @path into the user's models folder, records it with @note and puts
 * it in use; a model already there (same bytes) is only put in use again.
 * Returns its entry's index in pulmo_model_history (). */
int pulmo_model_install (const char *path, const char *note, GError **error);
/* Puts entry @index of pulmo_model_history () in use (0: the shipped model). */
gboolean pulmo_model_use (int index, GError **error);

/* Loads @path (a model file or a training checkpoint), or the model in use
 * (pulmo_model_default_path) when @path is NULL. */
PulmoModel *pulmo_model_load (const char *path, GError **error);
void pulmo_model_free (PulmoModel *model);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoModel, pulmo_model_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoModelEntry, pulmo_model_entry_free)

G_END_DECLS
