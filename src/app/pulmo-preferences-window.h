/* pulmo-preferences-window.h: Preferences: the look (system, light or dark
 * style; smooth display, filled or outlined labels and their opacity in the
 * views of @parent), the annotator's name recorded with exported cases, and
 * the models: the shipped one and every fine-tuned one installed, any of
 * which can be put back in use (model-registry.h). */
#pragma once

#include <gtk/gtk.h>

#include "app/pulmo-window.h"

G_BEGIN_DECLS

GtkWidget *pulmo_preferences_window_new (PulmoWindow *parent);

G_END_DECLS
