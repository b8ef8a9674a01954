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

  /* Messages follow the user's language in the GUI and the CLI alike;
   * PULMO_LOCALEDIR in the environment points an uninstalled run at the build tree's catalogues. */
  setlocale (LC_ALL, "");
  const char *localedir = g_getenv ("PULMO_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL ? localedir : PULMO_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (argc > 1 && pulmo_cli_is_command (argv[1]))
    {
      /* The numbers a command prints stay machine-readable whatever the user's locale. */
      setlocale (LC_NUMERIC, "C");
      return pulmo_cli_run (argc, argv);
    }

  g_autoptr (PulmoApplication) app = pulmo_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
