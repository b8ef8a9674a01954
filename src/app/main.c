/* The `pulmo` binary: a sub-command runs the CLI; otherwise the GUI starts. */
#include <gtk/gtk.h>

#include "cli/pulmo-cli.h"
#include "nn/cpu-setup.h"

static void
on_activate (GtkApplication *app)
{
  GtkWidget *window = gtk_application_window_new (app);
  gtk_window_set_title (GTK_WINDOW (window), "Pulmo");
  gtk_window_present (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  pulmo_cpu_setup (argv);
  if (argc > 1 && pulmo_cli_is_command (argv[1]))
    return pulmo_cli_run (argc, argv);

  g_autoptr (GtkApplication) app = gtk_application_new ("org.pulmo.Pulmo", G_APPLICATION_HANDLES_OPEN);
  g_signal_connect (app, "activate", G_CALLBACK (on_activate), NULL);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
