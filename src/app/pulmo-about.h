/* pulmo-about.h: the About window: version, licence, credits, and where the
 * shipped model's training data and the bundled sample come from, with their
 * licences (data/models/MODEL.md, data/samples/README.md). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Shows the About window, transient for @parent (may be NULL). */
GtkWidget *pulmo_about_present (GtkWindow *parent);

G_END_DECLS
