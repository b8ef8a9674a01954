/* pulmo-accessible.h: names for screen readers. GTK 4.8 gives no way to read
 * an accessible property back, so the name set here is also kept on the
 * widget: the GUI tests check through it that every control has a name. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Sets @widget's accessible label to @label (copied). */
void pulmo_accessible_set_label (GtkWidget *widget, const char *label);
/* The label last set through pulmo_accessible_set_label, or NULL. */
const char *pulmo_accessible_get_label (GtkWidget *widget);

G_END_DECLS
