/* The `pulmo` binary: a sub-command runs the CLI; otherwise the GUI starts. */
#include <gtk/gtk.h>
#include <glib/gi18n.h>
#include <locale.h>

#include "app/pulmo-application.h"
#include "cli/pulmo-cli.h"
#include "nn/cpu-setup.h"
#include "pulmo-config.h"

int
main (int argc, char **argv)
{
  pulmo_cpu_setup (argv);
  if (argc > 1 && pulmo_cli_is_command (argv[1]))
    return pulmo_cli_run (argc, argv);

  /* The GUI only: the CLI keeps the C locale so that the numbers it prints stay
   * machine-readable whatever the user's language. */
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, PULMO_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_autoptr (PulmoApplication) app = pulmo_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
