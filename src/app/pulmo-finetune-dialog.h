/* pulmo-finetune-dialog.h: fine-tuning the model in use on the user's
 * corrected cases, in the background, from the app.
 *
 * The dialog names the user's dataset folder (where exports go) and the
 * model's original training data, mixed in so that nothing is forgotten, and
 * a time budget. Training runs on a worker thread with progress, time left
 * and Cancel, while viewing and editing go on (closing the dialog only hides
 * it). It validates before and after on slices it did not train on, shows
 * both, and installs the result only if it is not worse (model-registry.h). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

GtkWidget *pulmo_finetune_dialog_new (GtkWindow *parent);
gboolean pulmo_finetune_dialog_is_running (GtkWidget *dialog);
/* What the last fine-tune ended with: the Dice before and after and whether
 * the model was installed, or why it stopped; "" before any. */
const char *pulmo_finetune_dialog_get_result (GtkWidget *dialog);

G_END_DECLS
