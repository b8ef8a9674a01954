/* recovery-child: edits a label map without end under an autosave, for
 * test-recovery to kill with SIGKILL. Edit k (from 1) writes label 1 + k % 4
 * into a box that moves with k; after each edit it prints k. State k is thus
 * the same in the parent, which rebuilds it with recovery_child_edit. With a
 * second argument "flush" it also flushes after every edit, so that writes
 * follow one another and a kill mostly lands in the middle of one. */
#include <stdio.h>

#include "edit/recovery.h"
#include "recovery-child.h"

int
main (int argc, char **argv)
{
  if (argc < 2 || argc > 3)
    return 2;
  gboolean flush = argc == 3 && g_str_equal (argv[2], "flush");
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) ct = pulmo_volume_load (argv[1], NULL, NULL, &error);
  if (ct == NULL)
    g_error ("%s", error->message);
  g_autoptr (PulmoLabelMap) map = pulmo_label_map_new (ct);
  g_autofree char *hash = pulmo_recovery_ct_hash (ct);
  PulmoAutosave *autosave = pulmo_autosave_new (map, argv[1], hash);
  GMainContext *context = g_main_context_default ();
  for (guint k = 1;; k++)
    {
      recovery_child_edit (map, k);
      printf ("%u\n", k);
      fflush (stdout);
      if (flush && !pulmo_autosave_flush (autosave, &error))
        g_error ("%s", error->message);
      /* As the app's main loop would, between pointer events. */
      gint64 until = g_get_monotonic_time () + 3000;
      while (g_get_monotonic_time () < until)
        if (!g_main_context_iteration (context, FALSE))
          g_usleep (500);
    }
  pulmo_autosave_free (autosave, FALSE);
  return 0;
}
