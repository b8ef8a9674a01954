/* app-test.h: what every GUI test's main does before adding its tests. */
#pragma once

#include <gtk/gtk.h>

static void
app_test_no_display (void)
{
  g_test_skip ("no display: run under xvfb-run");
}

/* Starts GLib's test framework and GTK. Without a display it adds one test
 * that says so, named @no_display_path, and returns FALSE: then only run it. */
static inline gboolean
app_test_init (int *argc, char ***argv, const char *no_display_path)
{
  g_test_init (argc, argv, NULL);
  /* Under Xvfb there is no session bus for the accessibility bridge, and its
   * warning would be fatal in a test. */
  g_setenv ("GTK_A11Y", "none", TRUE);
  if (gtk_init_check ())
    return TRUE;
  g_test_add_func (no_display_path, app_test_no_display);
  return FALSE;
}

/* Activates @action of @group, which must be there and enabled. */
static inline void
app_test_activate (GActionGroup *group, const char *action, GVariant *parameter)
{
  g_assert_true (g_action_group_has_action (group, action));
  g_assert_true (g_action_group_get_action_enabled (group, action));
  g_action_group_activate_action (group, action, parameter);
}
