/* Tests for src/train: augmentation keeps image and labels aligned, datasets
 * in the nnU-Net layout are read or refused with a message naming the case,
 * and a quick training run on the real covid-2d-train data beats a trivial
 * baseline, resumes to the same bytes, and saves a model that loads. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "core/pulmo-error.h"
#include "core/pulmo-label-map.h"
#include "segment/segment.h"
#include "train/augment.h"
#include "train/dataset.h"
#include "train/evaluate.h"
#include "train/trainer.h"
#include "pulmo-test.h"

/* An off-centre disk (bright, label 3) and a bar (grey, label 4) on a dark
 * background: after any spatial change the labels still cover the same
 * structures, pixel for pixel up to the edges. */
static void
test_augment_aligned (void)
{
  enum { W = 96, H = 80 };
  float image[W * H], out_image[W * H];
  uint8_t labels[W * H], out_labels[W * H];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        gboolean disk = (x - 30) * (x - 30) + (y - 25) * (y - 25) < 12 * 12;
        gboolean bar = x >= 60 && x < 85 && y >= 45 && y < 55;
        image[y * W + x] = disk ? 1.0f : bar ? 0.6f : 0.1f;
        labels[y * W + x] = disk ? 3 : bar ? 4 : 0;
      }
  PulmoAugmentOptions spatial = { TRUE, FALSE };
  for (guint64 seed = 1; seed <= 200; seed++)
    {
      PulmoRng rng;
      pulmo_rng_init (&rng, seed);
      pulmo_augment (&rng, &spatial, image, labels, W, H, out_image, out_labels);
      int disk = 0, disk_bright = 0, bright = 0, bright_disk = 0, bar = 0, bar_grey = 0;
      for (int i = 0; i < W * H; i++)
        {
          if (out_labels[i] == 3 && (disk++, out_image[i] > 0.8f))
            disk_bright++;
          if (out_image[i] > 0.95f && (bright++, out_labels[i] == 3))
            bright_disk++;
          if (out_labels[i] == 4 && (bar++, fabsf (out_image[i] - 0.6f) < 0.2f))
            bar_grey++;
        }
      /* Scaling keeps between 0.64 and 1.56 of the disk's area. */
      g_assert_cmpint (disk, >, 0.5 * G_PI * 144);
      g_assert_cmpint (disk_bright, >=, 0.9 * disk);
      g_assert_cmpint (bright_disk, >=, 0.97 * bright);
      if (bar > 40)
        g_assert_cmpint (bar_grey, >=, 0.75 * bar);
    }

  /* Intensity changes leave the labels alone and the image in range. */
  PulmoAugmentOptions intensity = { FALSE, TRUE };
  for (guint64 seed = 1; seed <= 50; seed++)
    {
      PulmoRng rng;
      pulmo_rng_init (&rng, seed);
      pulmo_augment (&rng, &intensity, image, labels, W, H, out_image, out_labels);
      g_assert_cmpmem (out_labels, sizeof labels, labels, sizeof labels);
      for (int i = 0; i < W * H; i++)
        g_assert_true (isfinite (out_image[i]) && out_image[i] > -0.5f && out_image[i] < 1.5f);
    }
}

/* A coarser or noisier acquisition keeps each structure where it was: the
 * disk's core stays bright and the background far from it dark, so the
 * labels, which it leaves alone, still fit. */
static void
test_augment_acquisition (void)
{
  enum { W = 96, H = 80 };
  uint8_t grey[W * H], out[W * H];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      grey[y * W + x] = (x - 30) * (x - 30) + (y - 25) * (y - 25) < 12 * 12 ? 240 : 20;
  int changed = 0;
  for (guint64 seed = 1; seed <= 200; seed++)
    {
      PulmoRng rng;
      pulmo_rng_init (&rng, seed);
      memset (out, 0, sizeof out);
      if (!pulmo_augment_acquisition (&rng, grey, W, H, out))
        {
          g_assert_cmpint (out[25 * W + 30], ==, 0);
          continue;
        }
      changed++;
      double core = 0, far = 0;
      int n_core = 0, n_far = 0;
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          {
            int d2 = (x - 30) * (x - 30) + (y - 25) * (y - 25);
            if (d2 < 5 * 5)
              core += out[y * W + x], n_core++;
            else if (d2 > 25 * 25)
              far += out[y * W + x], n_far++;
          }
      g_assert_cmpfloat (core / n_core, >, 200);
      g_assert_cmpfloat (far / n_far, <, 30);
    }
  /* About 36 % of samples change (1 - 0.75 × 0.85). */
  g_assert_cmpint (changed, >, 40);
  g_assert_cmpint (changed, <, 110);
}

/* ---- Datasets ---------------------------------------------------------- */

static PulmoModelInfo
small_info (void)
{
  return (PulmoModelInfo) {
    .normalisation = PULMO_NORMALISE_SLICE_MINMAX,
    .window_hu_low = -1024, .window_hu_high = 3071,
    .window_gray8_low = 0, .window_gray8_high = 255,
    .clahe_clip = 7, .clahe_tiles = 8,
    .input_width = 64, .input_height = 64, .n_slices = 1,
  };
}

static const char *standard_json =
  "{\"channel_names\": {\"0\": \"CT\"}, \"labels\": {\"background\": 0, \"ground_glass\": 3,"
  " \"consolidation\": 4, \"lung\": 6, \"infection\": 7, \"not_infection\": 8},"
  " \"numTraining\": NUM, \"file_ending\": \".nii.gz\"}";

/* A dataset folder made of links to real covid-2d-train cases. */
static char *
make_dataset (const char *json, const char *const *cases)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("pulmo-dataset-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *images = g_build_filename (dir, "imagesTr", NULL);
  g_autofree char *labels = g_build_filename (dir, "labelsTr", NULL);
  g_assert_cmpint (g_mkdir (images, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (labels, 0755), ==, 0);
  int n = 0;
  for (; cases[n] != NULL; n++)
    {
      g_autofree char *image_name = g_strdup_printf ("imagesTr/%s_0000.nii.gz", cases[n]);
      g_autofree char *label_name = g_strdup_printf ("labelsTr/%s.nii.gz", cases[n]);
      g_autofree char *image_rel = g_strconcat ("covid-2d-train/", image_name, NULL);
      g_autofree char *label_rel = g_strconcat ("covid-2d-train/", label_name, NULL);
      g_autofree char *image_src = pulmo_test_data (image_rel);
      g_autofree char *label_src = pulmo_test_data (label_rel);
      g_autofree char *image_dst = g_build_filename (dir, image_name, NULL);
      g_autofree char *label_dst = g_build_filename (dir, label_name, NULL);
      g_assert_cmpint (symlink (image_src, image_dst), ==, 0);
      g_assert_cmpint (symlink (label_src, label_dst), ==, 0);
    }
  g_autoptr (GString) text_buffer = g_string_new (json);
  g_autofree char *count = g_strdup_printf ("%d", n);
  g_string_replace (text_buffer, "NUM", count, 0);
  const char *text = text_buffer->str;
  g_autofree char *json_path = g_build_filename (dir, "dataset.json", NULL);
  g_assert_true (g_file_set_contents (json_path, text, -1, NULL));
  return dir;
}

static void
remove_tree (const char *dir)
{
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_cmpint (system (command), ==, 0);
}

static void
test_dataset_reads (void)
{
  const char *cases[] = { "medseg_059", "zenodo_radiopaedia_seg05", NULL };
  g_autofree char *dir = make_dataset (standard_json, cases);
  PulmoModelInfo info = small_info ();
  const char *dirs[] = { dir, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoDataset) dataset = pulmo_dataset_load (dirs, &info, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dataset->n_cases, ==, 2);
  g_assert_cmpstr (dataset->cases[0].id, ==, "medseg_059");
  g_assert_cmpint (dataset->cases[0].n_samples, ==, 1);
  g_assert_cmpint (dataset->cases[1].n_samples, ==, 2);
  g_assert_cmpuint (dataset->n_samples, ==, 3);
  g_assert_cmpuint (dataset->cases[0].value_set, ==, (1u << 3) | (1u << 4) | (1u << 8));
  g_assert_cmpuint (dataset->cases[1].value_set, ==, (1u << 0) | (1u << 6) | (1u << 7));
  g_assert_true (dataset->cases[0].prewindowed);

  /* PROVENANCE.md's counts for medseg_059: 36932 GGO and 1097 consolidation
   * pixels of 361×301; at 64² (scale 64/361) about (64/361)² of them remain. */
  size_t pixels = 64 * 64, ggo = 0, cons = 0;
  for (size_t i = 0; i < pixels; i++)
    {
      ggo += dataset->labels[i] == 3;
      cons += dataset->labels[i] == 4;
    }
  double kept = (64.0 / 361) * (64.0 / 361);
  g_assert_cmpfloat (fabs (ggo - 36932 * kept), <, 0.1 * 36932 * kept);
  g_assert_cmpfloat (fabs (cons - 1097 * kept), <, 0.35 * 1097 * kept + 3);
  /* The slice is 361 × 301 voxels on its axial display axes: it fills the
   * width, and the (64 − 301 · 64 / 361) / 2 = 5.3 rows above and below it
   * are padding. */
  for (int x = 0; x < 64; x++)
    for (int y = 0; y < 5; y++)
      {
        g_assert_cmpuint (dataset->images[y * 64 + x], ==, 0);
        g_assert_cmpuint (dataset->images[(63 - y) * 64 + x], ==, 0);
      }
  int lit = 0;
  for (int x = 0; x < 64; x++)
    lit += dataset->images[32 * 64 + x] > 0;
  g_assert_cmpint (lit, >, 32);
  remove_tree (dir);
}

static void
assert_refused (const char *json, const char *const *cases, void (*damage) (const char *dir),
                const char *message_part)
{
  g_autofree char *dir = make_dataset (json, cases);
  if (damage)
    damage (dir);
  PulmoModelInfo info = small_info ();
  const char *dirs[] = { dir, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoDataset) dataset = pulmo_dataset_load (dirs, &info, 0, NULL, &error);
  g_assert_null (dataset);
  g_assert_nonnull (error);
  g_test_message ("refused: %s", error->message);
  if (strstr (error->message, message_part) == NULL)
    g_error ("“%s” does not say “%s”", error->message, message_part);
  remove_tree (dir);
}

static void
remove_label (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "labelsTr", "medseg_062.nii.gz", NULL);
  g_assert_cmpint (g_unlink (path), ==, 0);
}

/* medseg_062's labels replaced by medseg_059's, which are another size. */
static void
swap_label (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "labelsTr", "medseg_062.nii.gz", NULL);
  g_autofree char *other = pulmo_test_data ("covid-2d-train/labelsTr/medseg_059.nii.gz");
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (symlink (other, path), ==, 0);
}

static void
break_json (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "dataset.json", NULL);
  g_assert_true (g_file_set_contents (path, "{\"labels\": {", -1, NULL));
}

static void
remove_json (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "dataset.json", NULL);
  g_assert_cmpint (g_unlink (path), ==, 0);
}

static void
test_dataset_refused (void)
{
  const char *cases[] = { "medseg_059", "medseg_062", NULL };
  assert_refused (standard_json, cases, remove_label, "case medseg_062: its label file");
  assert_refused (standard_json, cases, swap_label, "case medseg_062:");
  assert_refused (standard_json, cases, break_json, "dataset.json");
  assert_refused (standard_json, cases, remove_json, "dataset.json");
  /* Value 4 (consolidation) occurs in medseg_059 but is not declared. */
  assert_refused ("{\"channel_names\": {\"0\": \"CT\"}, \"labels\": {\"background\": 0,"
                  " \"ground_glass\": 3, \"not_infection\": 8}, \"numTraining\": NUM,"
                  " \"file_ending\": \".nii.gz\"}", cases, NULL,
                  "case medseg_059: 1097 voxels hold label value 4, which dataset.json does not declare");
  assert_refused ("{\"channel_names\": {\"0\": \"CT\", \"1\": \"PET\"}, \"labels\": {\"background\": 0},"
                  " \"numTraining\": NUM, \"file_ending\": \".nii.gz\"}", cases, NULL,
                  "2 input channels");
  assert_refused ("{\"channel_names\": {\"0\": \"CT\"}, \"labels\": {\"background\": 0,"
                  " \"lungs\": [1, 2]}, \"numTraining\": NUM, \"file_ending\": \".nii.gz\"}", cases,
                  NULL, "region-based");
  assert_refused ("{\"channel_names\": {\"0\": \"CT\"}, \"labels\": {\"background\": 0,"
                  " \"liver\": 12}, \"numTraining\": NUM, \"file_ending\": \".nii.gz\"}", cases,
                  NULL, "outside Pulmo's label convention");
  assert_refused ("{\"channel_names\": {\"0\": \"CT\"}, \"labels\": {\"background\": 0},"
                  " \"numTraining\": 5, \"file_ending\": \".nii.gz\"}", cases, NULL,
                  "numTraining 5 but the folder holds 2");
}

/* ---- Training ---------------------------------------------------------- */

typedef struct {
  int stop_after_epoch;
  GCancellable *cancellable;
  int epochs_reported;
} RunWatch;

static void
watch (const PulmoTrainProgress *progress, gpointer user_data)
{
  RunWatch *w = user_data;
  g_assert_cmpint (progress->step, <=, progress->steps_per_epoch);
  if (!progress->epoch_done)
    return;
  w->epochs_reported++;
  if (progress->epoch == w->stop_after_epoch)
    g_cancellable_cancel (w->cancellable);
}

/* Lung Dice on the validation cases that have lung labels, against the
 * baseline of calling every pixel lung (its Dice is 2L / (L + N)). */
static void
assert_beats_baseline (const char *model_path, const char *const *validation_ids)
{
  g_autoptr (GError) error = NULL;
  g_auto (PulmoModelInfo) info = { 0 };
  g_autoptr (PulmoUNet) net = pulmo_weights_load (model_path, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.clahe_clip, ==, 7);
  PulmoEvalCounts counts[PULMO_EVAL_N_STRUCTURES] = { 0 };
  PulmoEvalCounts baseline[PULMO_EVAL_N_STRUCTURES] = { 0 };
  for (int c = 0; validation_ids[c] != NULL; c++)
    {
      g_autofree char *image_rel = g_strdup_printf ("covid-2d-train/imagesTr/%s_0000.nii.gz",
                                                    validation_ids[c]);
      g_autofree char *label_rel = g_strdup_printf ("covid-2d-train/labelsTr/%s.nii.gz",
                                                    validation_ids[c]);
      g_autofree char *image = pulmo_test_data (image_rel);
      g_autofree char *label = pulmo_test_data (label_rel);
      g_autoptr (PulmoVolume) volume = pulmo_volume_load (image, NULL, NULL, &error);
      g_assert_no_error (error);
      g_autoptr (PulmoLabelMap) reference = pulmo_label_map_load (volume, label, NULL, NULL, &error);
      g_assert_no_error (error);
      size_t n = pulmo_volume_get_n_voxels (volume);
      g_autofree uint8_t *predicted = g_malloc (n);
      g_assert_true (pulmo_segment_volume (net, &info, volume, predicted, NULL, NULL, NULL, &error));
      pulmo_eval_count (predicted, pulmo_label_map_get_data (reference), n, counts);
      memset (predicted, 6, n);
      pulmo_eval_count (predicted, pulmo_label_map_get_data (reference), n, baseline);
    }
  double dice = pulmo_eval_dice (&counts[PULMO_EVAL_LUNG]);
  double trivial = pulmo_eval_dice (&baseline[PULMO_EVAL_LUNG]);
  g_test_message ("quick model: lung Dice %.3f on validation, all-lung baseline %.3f", dice, trivial);
  g_assert_cmpfloat (dice, >, trivial + 0.2);
}

static void
test_quick_train_resume (void)
{
  g_autofree char *data = pulmo_test_data ("covid-2d-train");
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pulmo-train-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *straight = g_build_filename (dir, "straight.pulmonet", NULL);
  g_autofree char *resumed = g_build_filename (dir, "resumed.pulmonet", NULL);
  const char *dirs[] = { data, NULL };

  PulmoTrainOptions options;
  pulmo_train_options_init (&options);
  pulmo_train_options_quick (&options);
  options.data_dirs = dirs;
  options.out_path = straight;
  options.validation_ids = "zenodo_coronacases_005,zenodo_radiopaedia_seg03,medseg_059";
  RunWatch all = { 0 };
  g_assert_true (pulmo_train (&options, watch, &all, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (all.epochs_reported, ==, options.epochs);

  /* The same run stopped after epoch 2, then resumed from its checkpoint. */
  options.out_path = resumed;
  RunWatch stopped = { 2, g_cancellable_new (), 0 };
  g_assert_false (pulmo_train (&options, watch, &stopped, stopped.cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_object_unref (stopped.cancellable);
  g_assert_false (g_file_test (resumed, G_FILE_TEST_EXISTS));
  options.resume = TRUE;
  RunWatch rest = { 0 };
  g_assert_true (pulmo_train (&options, watch, &rest, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (rest.epochs_reported, ==, options.epochs - 2);
  pulmo_test_assert_files_equal (straight, resumed);

  /* The log has a header and one row per epoch, also after the resume. */
  g_autofree char *log_path = g_strconcat (resumed, ".csv", NULL);
  g_autofree char *log = NULL;
  g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
  g_auto (GStrv) rows = g_strsplit (g_strchomp (log), "\n", -1);
  g_assert_cmpint (g_strv_length (rows), ==, options.epochs + 1);
  g_assert_true (g_str_has_prefix (rows[0], "epoch,"));

  /* Other settings cannot resume this checkpoint. */
  options.base = 4;
  g_assert_false (pulmo_train (&options, NULL, NULL, NULL, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_INVALID);
  g_clear_error (&error);

  const char *validation[] = { "zenodo_coronacases_005", "zenodo_radiopaedia_seg03", NULL };
  assert_beats_baseline (straight, validation);
  remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train/augment-aligned", test_augment_aligned);
  g_test_add_func ("/train/augment-acquisition", test_augment_acquisition);
  g_test_add_func ("/train/dataset-reads", test_dataset_reads);
  g_test_add_func ("/train/dataset-refused", test_dataset_refused);
  g_test_add_func ("/train/quick-train-resume", test_quick_train_resume);
  return g_test_run ();
}
