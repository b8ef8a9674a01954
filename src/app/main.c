/* The `pulmo` binary: a sub-command runs the CLI; otherwise the GUI starts. */
#include <gtk/gtk.h>

#include "app/pulmo-application.h"
#include "cli/pulmo-cli.h"
#include "nn/cpu-setup.h"

int
main (int argc, char **argv)
{
  pulmo_cpu_setup (argv);
  if (argc > 1 && pulmo_cli_is_command (argv[1]))
    return pulmo_cli_run (argc, argv);

  g_autoptr (PulmoApplication) app = pulmo_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
