/* pulmo-application.h: the application: one window per CT opened from the
 * command line, app-wide actions and keyboard accelerators. An AdwApplication,
 * so that libadwaita's styles load and the style manager follows the system. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define PULMO_TYPE_APPLICATION (pulmo_application_get_type ())
G_DECLARE_FINAL_TYPE (PulmoApplication, pulmo_application, PULMO, APPLICATION, AdwApplication)

PulmoApplication *pulmo_application_new (void);

G_END_DECLS
