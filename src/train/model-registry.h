/* model-registry.h: where Pulmo finds its models, and a model loaded for use.
 *
 * The shipped model is installed to datadir/pulmo/models; a Pulmo run from
 * its build folder, not installed, finds it in the source tree's data/models. */
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
char *pulmo_model_default_path (GError **error);

/* Loads @path (a model file or a training checkpoint), or the shipped model
 * when @path is NULL. */
PulmoModel *pulmo_model_load (const char *path, GError **error);
void pulmo_model_free (PulmoModel *model);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoModel, pulmo_model_free)

G_END_DECLS
