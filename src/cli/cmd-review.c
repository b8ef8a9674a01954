/* `pulmo review DIR [--model M]`: pre-segments every case of a review queue
 * (train/review-queue.h) not yet done, then prints the queue in order, most
 * uncertain first. Exit status: 0 all cases measured, 1 some could not be,
 * 2 usage. */
#include "cli/pulmo-cli.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>
#include <unistd.h>

#include "train/review-queue.h"

int
pulmo_cmd_review (int argc, char **argv)
{
  g_autofree char *model_path = NULL;
  gboolean list_only = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path,
      N_("The model file or training checkpoint (default: the model in use)"), N_("MODEL.pulmonet") },
    { "list", 'l', 0, G_OPTION_ARG_NONE, &list_only, N_("Only print the queue; pre-segment nothing"), NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (N_("DIR - pre-segment a folder of CTs and list it for review"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                N_("Each CT (.nii, .nii.gz) in DIR is segmented into "
                                "DIR/pulmo-labels/NAME-labels.nii.gz (never over an "
                                "annotator's labels) and ordered by the model's uncertainty: the mean "
                                "normalised softmax entropy (0..1) over the pixels it puts inside the "
                                "lungs, highest first. States persist in DIR/.pulmo-review.json."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "pulmo review: %s\n", error->message);
      return 2;
    }
  if (argc != 2)
    {
      fprintf (stderr, _("pulmo review: give one folder of CTs (see --help)\n"));
      return 2;
    }
  g_autoptr (PulmoReviewQueue) queue = pulmo_review_queue_open (argv[1], &error);
  if (queue == NULL)
    {
      fprintf (stderr, "pulmo review: %s\n", error->message);
      return 1;
    }
  if (pulmo_review_queue_get_warning (queue) != NULL)
    fprintf (stderr, "pulmo review: %s\n", pulmo_review_queue_get_warning (queue));

  if (!list_only)
    {
      if (model_path == NULL)
        model_path = pulmo_model_default_path (&error);
      g_autoptr (PulmoModel) model = model_path != NULL ? pulmo_model_load (model_path, &error) : NULL;
      if (model == NULL)
        {
          fprintf (stderr, "pulmo review: %s\n", error->message);
          return 1;
        }
      gboolean terminal = isatty (fileno (stderr));
      /* Every case is tried once: a failure is recorded, and not offered again
       * until its file changes. */
      for (char *name; (name = pulmo_review_queue_next_to_segment (queue, model->identity)) != NULL; g_free (name))
        {
          if (terminal)
            fprintf (stderr, _("pulmo review: segmenting %s…\n"), name);
          g_autoptr (GError) case_error = NULL;
          if (!pulmo_review_queue_presegment (queue, name, model, NULL, NULL, &case_error))
            {
              /* Load errors already begin with the file's path. */
              g_autofree char *path = g_build_filename (pulmo_review_queue_get_dir (queue), name, NULL);
              if (g_str_has_prefix (case_error->message, path))
                fprintf (stderr, "pulmo review: %s\n", case_error->message);
              else
                fprintf (stderr, "pulmo review: %s: %s\n", name, case_error->message);
            }
        }
    }

  g_autoptr (GPtrArray) cases = pulmo_review_queue_list (queue);
  int unmeasured = 0;
  printf ("%-32s %-12s %s\n", "case", "state", "uncertainty");
  for (guint i = 0; i < cases->len; i++)
    {
      const PulmoReviewCase *c = cases->pdata[i];
      g_autofree char *figure = c->segmented ? g_strdup_printf ("%.4f", c->uncertainty)
                                             : g_strdup (c->error != NULL ? "error" : "—");
      printf ("%-32s %-12s %s", c->name, pulmo_review_state_name (c->state), figure);
      if (c->error != NULL)
        printf (" (%s)", c->error);
      printf ("\n");
      unmeasured += !c->segmented && c->state != PULMO_REVIEW_DONE;
    }
  return unmeasured > 0 && !list_only ? 1 : 0;
}
