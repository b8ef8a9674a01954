/* The viewer in German (LANG=de_DE.UTF-8, LANGUAGE=de from meson, the build
 * tree's catalogues through PULMO_LOCALEDIR as main.c reads it): the empty
 * window's title and the image panel's figures, whose numbers take the
 * locale's decimal comma and whose words come from libpulmo's catalogue. */
#include <glib/gi18n.h>
#include <locale.h>
#include <string.h>

#include "app-test-window.h"
#include "app-test.h"
#include "pulmo-test.h"

/* The label under @widget (itself included) whose text contains @text, or NULL. */
static GtkLabel *
find_label (GtkWidget *widget, const char *text)
{
  if (GTK_IS_LABEL (widget) && strstr (gtk_label_get_text (GTK_LABEL (widget)), text) != NULL)
    return GTK_LABEL (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkLabel *found = find_label (child, text);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
test_german_window (void)
{
  PulmoWindow *window = pulmo_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  app_test_iterate_pending ();
  g_assert_nonnull (find_label (GTK_WIDGET (window), "Ein Thorax-CT öffnen"));
  g_assert_null (find_label (GTK_WIDGET (window), "Open a Chest CT"));

  /* ct-64's voxels are 4.171872 × 4.171872 × 3.987342 mm. */
  g_autofree char *path = pulmo_test_data ("cip-chest-ct/ct-64.nii.gz");
  g_autoptr (GFile) file = g_file_new_for_path (path);
  pulmo_window_open (window, file);
  app_test_wait_for (app_test_window_loaded, window, 60);
  g_assert_null (pulmo_window_get_error (window));
  g_assert_nonnull (find_label (GTK_WIDGET (window), "4,17 × 4,17 × 3,99 mm"));
  g_assert_nonnull (find_label (GTK_WIDGET (window), "Hounsfield-Einheiten"));

  gtk_window_destroy (GTK_WINDOW (window));
  app_test_iterate_pending ();
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  const char *localedir = g_getenv ("PULMO_LOCALEDIR");
  g_assert_nonnull (localedir);
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  if (!app_test_init (&argc, &argv, "/german/no-display"))
    return g_test_run ();
  /* A German desktop without the de_DE.UTF-8 locale would show English. */
  g_assert_cmpstr (setlocale (LC_MESSAGES, NULL), ==, "de_DE.UTF-8");
  g_test_add_func ("/german/window", test_german_window);
  return g_test_run ();
}
