/* app-test.h: what every GUI test's main does before adding its tests. */
#pragma once

#include <adwaita.h>

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
    {
      /* What AdwApplication does at startup: the windows need libadwaita's types and
       * styles, and Pulmo's own. */
      adw_init ();
      g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
      gtk_css_provider_load_from_resource (css, "/org/pulmo/Pulmo/style.css");
      gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                                  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
      return TRUE;
    }
  g_test_add_func (no_display_path, app_test_no_display);
  return FALSE;
}

/* Runs what the main loop has ready. */
static inline void
app_test_iterate_pending (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Runs the main loop until @done (@data) holds, which must happen within
 * @seconds; polls, as a worker's state may change without waking the loop. */
static inline void
app_test_wait_for (gboolean (*done) (gpointer data), gpointer data, double seconds)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  while (!done (data))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  app_test_iterate_pending ();
}

/* Activates @action of @group, which must be there and enabled. */
static inline void
app_test_activate (GActionGroup *group, const char *action, GVariant *parameter)
{
  g_assert_true (g_action_group_has_action (group, action));
  g_assert_true (g_action_group_get_action_enabled (group, action));
  g_action_group_activate_action (group, action, parameter);
}

/* Writes what @widget shows to $PULMO_SCREENSHOT_DIR/@name.png, when that is
 * set: a window's own rendering, for looking at dialogs that an X server
 * without a compositor leaves unpainted. */
static inline void
app_test_screenshot (GtkWidget *widget, const char *name)
{
  const char *dir = g_getenv ("PULMO_SCREENSHOT_DIR");
  if (dir == NULL)
    return;
  /* A few frames first: a window that has just changed (a longer message, a
   * stroke) is laid out and drawn anew by then, not empty. */
  gint64 until = g_get_monotonic_time () + 300 * 1000;
  while (g_get_monotonic_time () < until)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (10 * 1000);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  /* A window's background comes from its theme: white under the paintable. */
  gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 1, 1, 1, 1 }, &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  g_assert_nonnull (node);
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  g_autoptr (GdkTexture) texture = gsk_renderer_render_texture (renderer, node, NULL);
  g_autofree char *file = g_strdup_printf ("%s.png", name);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_assert_true (gdk_texture_save_to_png (texture, path));
}

/* The first widget under @root (itself included) of @type whose "label" is
 * @label (any label when NULL). */
static inline GtkWidget *
app_test_find (GtkWidget *root, GType type, const char *label)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    {
      g_autofree char *text = NULL;
      if (g_object_class_find_property (G_OBJECT_GET_CLASS (root), "label") != NULL)
        g_object_get (root, "label", &text, NULL);
      if (label == NULL || g_strcmp0 (text, label) == 0)
        return root;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = app_test_find (child, type, label);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The first preferences row under @root whose title is @title. */
static inline AdwPreferencesRow *
app_test_find_row (GtkWidget *root, const char *title)
{
  if (ADW_IS_PREFERENCES_ROW (root) && g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (root)), title) == 0)
    return ADW_PREFERENCES_ROW (root);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      AdwPreferencesRow *found = app_test_find_row (child, title);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The toplevel window titled @title, or NULL. */
static inline GtkWindow *
app_test_find_window (const char *title)
{
  GListModel *toplevels = gtk_window_get_toplevels (); /* GTK's own list */
  for (guint w = 0; w < g_list_model_get_n_items (toplevels); w++)
    {
      g_autoptr (GtkWindow) window = g_list_model_get_item (toplevels, w);
      if (g_strcmp0 (gtk_window_get_title (window), title) == 0)
        return window;
    }
  return NULL;
}

/* Clicks the button labelled @label under @root: it must be there and sensitive. */
static inline void
app_test_click (GtkWidget *root, const char *label)
{
  GtkWidget *button = app_test_find (root, GTK_TYPE_BUTTON, label);
  g_assert_nonnull (button);
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}
