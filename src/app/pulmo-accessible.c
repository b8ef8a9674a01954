#include "app/pulmo-accessible.h"

#define KEY "pulmo-accessible-label"

void
pulmo_accessible_set_label (GtkWidget *widget, const char *label)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  g_object_set_data_full (G_OBJECT (widget), KEY, g_strdup (label), g_free);
}

const char *
pulmo_accessible_get_label (GtkWidget *widget)
{
  return g_object_get_data (G_OBJECT (widget), KEY);
}
