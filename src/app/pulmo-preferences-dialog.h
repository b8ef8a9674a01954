/* pulmo-preferences-dialog.h: Preferences: the annotator's name recorded with
 * exported cases, and the models: the shipped one and every fine-tuned one
 * installed, any of which can be put back in use (model-registry.h). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

GtkWidget *pulmo_preferences_dialog_new (GtkWindow *parent);

G_END_DECLS
