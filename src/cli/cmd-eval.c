/* `pulmo eval PRED GT`: Dice and volume difference per structure between
 * predicted and reference label maps (two files, or two dataset folders
 * matched case by case), honouring the reference's partial labels; or, with
 * --slice-labels, agreement with experts' slice-level infection labels. */
#include "cli/pulmo-cli.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/pulmo-error.h"
#include "core/pulmo-label-map.h"
#include "train/evaluate.h"
#include "train/slice-labels.h"

typedef struct {
  char *id;
  PulmoEvalCounts counts[PULMO_EVAL_N_STRUCTURES];
  double voxel_ml;
} CaseResult;

static void
case_result_free (gpointer data)
{
  CaseResult *result = data;
  g_free (result->id);
  g_free (result);
}

/* Both files on the reference's grid: the reference is read as a CT first,
 * so that the label-map loader checks the prediction's grid against it. */
static CaseResult *
evaluate_files (const char *id, const char *pred_path, const char *gt_path, GError **error)
{
  g_autoptr (PulmoVolume) grid = pulmo_volume_load (gt_path, NULL, NULL, error);
  if (grid == NULL)
    return NULL;
  g_autoptr (PulmoLabelMap) reference = pulmo_label_map_load (grid, gt_path, NULL, NULL, error);
  if (reference == NULL)
    return NULL;
  g_autoptr (PulmoLabelMap) predicted = pulmo_label_map_load (grid, pred_path, NULL, NULL, error);
  if (predicted == NULL)
    return NULL;
  CaseResult *result = g_new0 (CaseResult, 1);
  result->id = g_strdup (id);
  const double *spacing = pulmo_volume_get_spacing (grid);
  result->voxel_ml = spacing[0] * spacing[1] * spacing[2] / 1000;
  pulmo_eval_count (pulmo_label_map_get_data (predicted), pulmo_label_map_get_data (reference),
                    pulmo_volume_get_n_voxels (grid), result->counts);
  return result;
}

static gboolean
is_label_file (const char *name)
{
  return g_str_has_suffix (name, ".nii.gz") || g_str_has_suffix (name, ".nii");
}

static char *
case_id (const char *name)
{
  return g_strndup (name, strlen (name) - (g_str_has_suffix (name, ".gz") ? 7 : 4));
}

/* A dataset folder's labelsTr/, or the folder itself. */
static char *
labels_folder (const char *dir)
{
  char *labels = g_build_filename (dir, "labelsTr", NULL);
  if (g_file_test (labels, G_FILE_TEST_IS_DIR))
    return labels;
  g_free (labels);
  return g_strdup (dir);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static GPtrArray *
evaluate_folders (const char *pred_dir, const char *gt_dir, GError **error)
{
  g_autofree char *pred_labels = labels_folder (pred_dir);
  g_autofree char *gt_labels = labels_folder (gt_dir);
  g_autoptr (GDir) listing = g_dir_open (gt_labels, 0, error);
  if (listing == NULL)
    return NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (const char *name; (name = g_dir_read_name (listing)) != NULL;)
    if (is_label_file (name))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  if (names->len == 0)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID, _("%s holds no label files"),
                        gt_labels), NULL;

  g_autoptr (GHashTable) matched = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) results = g_ptr_array_new_with_free_func (case_result_free);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *id = case_id (name);
      g_autofree char *gt = g_build_filename (gt_labels, name, NULL);
      g_autofree char *pred = NULL;
      const char *endings[] = { ".nii.gz", ".nii" };
      for (size_t e = 0; e < G_N_ELEMENTS (endings) && pred == NULL; e++)
        {
          g_autofree char *candidate_name = g_strconcat (id, endings[e], NULL);
          g_autofree char *candidate = g_build_filename (pred_labels, candidate_name, NULL);
          if (g_file_test (candidate, G_FILE_TEST_EXISTS))
            {
              pred = g_steal_pointer (&candidate);
              g_hash_table_add (matched, g_steal_pointer (&candidate_name));
            }
        }
      if (pred == NULL)
        return g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND,
                            _("case %s: no prediction in %s"), id, pred_labels), NULL;
      g_autoptr (GError) local_error = NULL;
      CaseResult *result = evaluate_files (id, pred, gt, &local_error);
      if (result == NULL)
        return g_set_error (error, PULMO_ERROR, local_error->code, _("case %s: %s"), id,
                            local_error->message), NULL;
      g_ptr_array_add (results, result);
    }
  g_autoptr (GDir) pred_listing = g_dir_open (pred_labels, 0, NULL);
  for (const char *name; pred_listing && (name = g_dir_read_name (pred_listing)) != NULL;)
    if (is_label_file (name) && !g_hash_table_contains (matched, name))
      fprintf (stderr, _("pulmo eval: note: %s has no reference and is left out\n"), name);
  return g_steal_pointer (&results);
}

/* ---- Output ------------------------------------------------------------ */

static void
print_dice (double dice)
{
  if (isnan (dice))
    printf ("  %7s", "—");
  else
    printf ("  %7.3f", dice);
}

static void
print_table (const char *title, const PulmoEvalCounts *counts, double voxel_ml)
{
  /* Translators: column heads of `pulmo eval`'s table, the mL ones 12 characters at most; mL is millilitres. */
  printf ("%s\n  %-22s %7s  %12s  %12s  %12s\n", title, _("structure"), _("Dice"), _("predicted mL"),
          _("reference mL"), _("difference mL"));
  for (int s = 0; s < PULMO_EVAL_N_STRUCTURES; s++)
    {
      const PulmoEvalCounts *c = &counts[s];
      if (!pulmo_eval_has_data (c))
        continue;
      printf ("  %-22s", _(pulmo_eval_structure_name (s)));
      print_dice (pulmo_eval_dice (c));
      printf ("  %12.1f  %12.1f  %+12.1f\n", (c->tp + c->fp) * voxel_ml, (c->tp + c->fn) * voxel_ml,
              pulmo_eval_volume_difference (c) * voxel_ml);
    }
}

static void
json_add_double (JsonBuilder *builder, const char *name, double value)
{
  json_builder_set_member_name (builder, name);
  if (isnan (value))
    json_builder_add_null_value (builder);
  else
    json_builder_add_double_value (builder, value);
}

static void
json_add_structures (JsonBuilder *builder, const PulmoEvalCounts *counts, double voxel_ml,
                     const double *mean_dice)
{
  json_builder_set_member_name (builder, "structures");
  json_builder_begin_object (builder);
  for (int s = 0; s < PULMO_EVAL_N_STRUCTURES; s++)
    {
      const PulmoEvalCounts *c = &counts[s];
      if (!pulmo_eval_has_data (c))
        continue;
      json_builder_set_member_name (builder, pulmo_eval_structure_key (s));
      json_builder_begin_object (builder);
      json_add_double (builder, "dice", pulmo_eval_dice (c));
      if (mean_dice)
        json_add_double (builder, "mean_case_dice", mean_dice[s]);
      if (voxel_ml > 0)
        {
          json_add_double (builder, "predicted_ml", (c->tp + c->fp) * voxel_ml);
          json_add_double (builder, "reference_ml", (c->tp + c->fn) * voxel_ml);
          json_add_double (builder, "difference_ml", pulmo_eval_volume_difference (c) * voxel_ml);
        }
      json_builder_set_member_name (builder, "true_positive_voxels");
      json_builder_add_int_value (builder, (gint64) c->tp);
      json_builder_set_member_name (builder, "false_positive_voxels");
      json_builder_add_int_value (builder, (gint64) c->fp);
      json_builder_set_member_name (builder, "false_negative_voxels");
      json_builder_add_int_value (builder, (gint64) c->fn);
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);
}

static gboolean
write_json (const char *path, JsonBuilder *builder, GError **error)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  g_autofree char *text = json_generator_to_data (generator, NULL);
  if (strcmp (path, "-") == 0)
    {
      printf ("%s\n", text);
      return TRUE;
    }
  return g_file_set_contents (path, text, -1, error);
}

static int
report_overlap (GPtrArray *results, gboolean folders, gboolean per_case, const char *json_path)
{
  PulmoEvalCounts total[PULMO_EVAL_N_STRUCTURES] = { 0 };
  double mean_dice[PULMO_EVAL_N_STRUCTURES] = { 0 };
  int n_dice[PULMO_EVAL_N_STRUCTURES] = { 0 };
  /* Volumes add up in mL, so the total keeps each case's voxel size. */
  double ml[PULMO_EVAL_N_STRUCTURES][3] = { { 0 } };
  for (guint i = 0; i < results->len; i++)
    {
      CaseResult *r = g_ptr_array_index (results, i);
      for (int s = 0; s < PULMO_EVAL_N_STRUCTURES; s++)
        {
          total[s].tp += r->counts[s].tp;
          total[s].fp += r->counts[s].fp;
          total[s].fn += r->counts[s].fn;
          total[s].known += r->counts[s].known;
          ml[s][0] += (r->counts[s].tp + r->counts[s].fp) * r->voxel_ml;
          ml[s][1] += (r->counts[s].tp + r->counts[s].fn) * r->voxel_ml;
          double dice = pulmo_eval_dice (&r->counts[s]);
          if (!isnan (dice))
            {
              mean_dice[s] += dice;
              n_dice[s]++;
            }
        }
    }
  for (int s = 0; s < PULMO_EVAL_N_STRUCTURES; s++)
    mean_dice[s] = n_dice[s] > 0 ? mean_dice[s] / n_dice[s] : NAN;

  gboolean same_voxels = TRUE;
  for (guint i = 1; i < results->len; i++)
    same_voxels &= ((CaseResult *) g_ptr_array_index (results, i))->voxel_ml
                   == ((CaseResult *) g_ptr_array_index (results, 0))->voxel_ml;

  if (per_case || !folders)
    for (guint i = 0; i < results->len; i++)
      {
        CaseResult *r = g_ptr_array_index (results, i);
        print_table (r->id, r->counts, r->voxel_ml);
      }
  if (folders)
    {
      g_autofree char *title = g_strdup_printf (_("all %u cases (voxels summed)"), results->len);
      printf ("%s\n  %-22s %7s  %9s  %12s  %12s\n", title, _("structure"), _("Dice"), _("mean Dice"),
              _("predicted mL"), _("reference mL"));
      for (int s = 0; s < PULMO_EVAL_N_STRUCTURES; s++)
        if (pulmo_eval_has_data (&total[s]))
          {
            printf ("  %-22s", _(pulmo_eval_structure_name (s)));
            print_dice (pulmo_eval_dice (&total[s]));
            printf ("  ");
            print_dice (mean_dice[s]);
            printf ("  %12.1f  %12.1f\n", ml[s][0], ml[s][1]);
          }
    }

  if (json_path == NULL)
    return 0;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "cases");
  json_builder_begin_array (builder);
  for (guint i = 0; i < results->len; i++)
    {
      CaseResult *r = g_ptr_array_index (results, i);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, r->id);
      json_add_structures (builder, r->counts, r->voxel_ml, NULL);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "total");
  json_builder_begin_object (builder);
  json_add_structures (builder, total,
                       same_voxels && results->len > 0
                         ? ((CaseResult *) g_ptr_array_index (results, 0))->voxel_ml : 0,
                       mean_dice);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  g_autoptr (GError) error = NULL;
  if (!write_json (json_path, builder, &error))
    {
      fprintf (stderr, "pulmo eval: %s\n", error->message);
      return 1;
    }
  return 0;
}

static int
report_slices (const char *pred_path, const char *csv_path, double min_area_mm2,
               const char *json_path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolume) grid = pulmo_volume_load (pred_path, NULL, NULL, &error);
  g_autoptr (PulmoLabelMap) predicted = grid ? pulmo_label_map_load (grid, pred_path, NULL, NULL,
                                                                     &error) : NULL;
  if (predicted == NULL)
    {
      fprintf (stderr, "pulmo eval: %s\n", error->message);
      return 1;
    }
  int dims[3];
  pulmo_volume_get_dims (grid, dims);
  g_autofree gint8 *infected = g_new (gint8, dims[2]);
  if (!pulmo_eval_read_slice_labels (csv_path, dims[2], infected, &error))
    {
      fprintf (stderr, "pulmo eval: %s\n", error->message);
      return 1;
    }
  const double *spacing = pulmo_volume_get_spacing (grid);
  PulmoEvalSliceAgreement a;
  pulmo_eval_slices (pulmo_label_map_get_data (predicted), dims, spacing[0] * spacing[1],
                     min_area_mm2, infected, &a);
  printf (_("slices with at least %g mm² of predicted infection:\n"
          "  %d of %d slices the experts marked infected (%.1f %%)\n"
          "  %d of %d slices the experts marked clean (%.1f %%)\n"),
          min_area_mm2, a.infected_found, a.infected,
          a.infected ? 100.0 * a.infected_found / a.infected : NAN, a.clean_found, a.clean,
          a.clean ? 100.0 * a.clean_found / a.clean : NAN);
  if (json_path == NULL)
    return 0;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_add_double (builder, "min_area_mm2", min_area_mm2);
  const struct { const char *name; int value; } fields[] = {
    { "infected_slices", a.infected }, { "infected_slices_found", a.infected_found },
    { "clean_slices", a.clean }, { "clean_slices_found", a.clean_found },
  };
  for (size_t f = 0; f < G_N_ELEMENTS (fields); f++)
    {
      json_builder_set_member_name (builder, fields[f].name);
      json_builder_add_int_value (builder, fields[f].value);
    }
  json_builder_end_object (builder);
  if (!write_json (json_path, builder, &error))
    {
      fprintf (stderr, "pulmo eval: %s\n", error->message);
      return 1;
    }
  return 0;
}

int
pulmo_cmd_eval (int argc, char **argv)
{
  g_autofree char *json_path = NULL, *slice_labels = NULL;
  gboolean per_case = FALSE;
  double min_area = 20;
  GOptionEntry entries[] = {
    { "json", 'j', 0, G_OPTION_ARG_FILENAME, &json_path, N_("Also write the figures as JSON (- for standard output)"), N_("FILE") },
    { "per-case", 0, 0, G_OPTION_ARG_NONE, &per_case, N_("With folders, a table per case too"), NULL },
    { "slice-labels", 0, 0, G_OPTION_ARG_FILENAME, &slice_labels, N_("Compare PRED with experts' slice-level labels (CSV with columns z and infected) instead of a GT"), N_("CSV") },
    { "min-area", 0, 0, G_OPTION_ARG_DOUBLE, &min_area, N_("With --slice-labels, mm² of infection that make a slice infected (20)"), N_("MM2") },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (N_("PRED GT | --slice-labels CSV PRED"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    N_("Dice and volume difference per structure (lung, infection, right and left lung,\n"
    "ground glass, consolidation, effusion) between predicted and reference labels in\n"
    "Pulmo's label convention. PRED and GT are two label files, or two folders (dataset\n"
    "folders use their labelsTr/) whose cases are matched by file name. Partial labels in\n"
    "the reference (6 lung of either side, 7 infection of either type, 8 not infection)\n"
    "leave out what they do not say."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "pulmo eval: %s\n", error->message);
      return 2;
    }
  /* Machine-readable numbers whatever the user's locale. */
  setlocale (LC_NUMERIC, "C");
  if (slice_labels != NULL)
    {
      if (argc != 2 || !(min_area >= 0))
        {
          fprintf (stderr, _("pulmo eval: --slice-labels takes one prediction file\n"));
          return 2;
        }
      return report_slices (argv[1], slice_labels, min_area, json_path);
    }
  if (argc != 3)
    {
      fprintf (stderr, _("pulmo eval: give a prediction and a reference (files or folders)\n"));
      return 2;
    }
  gboolean folders = g_file_test (argv[1], G_FILE_TEST_IS_DIR);
  if (folders != g_file_test (argv[2], G_FILE_TEST_IS_DIR))
    {
      fprintf (stderr, _("pulmo eval: give two files or two folders\n"));
      return 2;
    }
  g_autoptr (GPtrArray) results = NULL;
  if (folders)
    results = evaluate_folders (argv[1], argv[2], &error);
  else
    {
      g_autofree char *base = g_path_get_basename (argv[2]);
      g_autofree char *id = is_label_file (base) ? case_id (base) : g_strdup (base);
      CaseResult *one = evaluate_files (id, argv[1], argv[2], &error);
      if (one != NULL)
        {
          results = g_ptr_array_new_with_free_func (case_result_free);
          g_ptr_array_add (results, one);
        }
    }
  if (results == NULL)
    {
      fprintf (stderr, "pulmo eval: %s\n", error->message);
      return 1;
    }
  return report_overlap (results, folders, per_case, json_path);
}
