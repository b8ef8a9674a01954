/* make-seeds.c: writes the seed corpora of tests/fuzz/corpus/ from small cuts
 * of real files: make-seeds DATA_DIR MODEL OUT_DIR. Run by hand when a file
 * format changes; the seeds are kept in the repository. */
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>

#include "core/label-description.h"
#include "core/pulmo-label-map.h"
#include "edit/recovery.h"
#include "fuzz-input.h"
#include "nn/safetensors.h"
#include "nn/unet.h"
#include "nn/weights.h"

static char *
seed_path (const char *out, const char *target, const char *name)
{
  g_autofree char *dir = g_build_filename (out, target, NULL);
  g_mkdir_with_parents (dir, 0755);
  return g_build_filename (dir, name, NULL);
}

static void
save_bytes (const char *path, GBytes *bytes)
{
  g_autoptr (GError) error = NULL;
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);
  g_file_set_contents (path, data, (gssize) size, &error);
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  g_assert (argc == 4);
  const char *data_dir = argv[1], *model = argv[2], *out = argv[3];
  g_autoptr (GError) error = NULL;

  /* The small CT's grid, with voxels and lung labels from the middle of ct-64. */
  g_autofree char *ct_path = g_build_filename (data_dir, "cip-chest-ct", "ct-64.nii.gz", NULL);
  g_autofree char *lung_path = g_build_filename (data_dir, "cip-chest-ct", "wholeLung-64.nii.gz", NULL);
  g_autoptr (PulmoVolume) ct64 = pulmo_volume_load (ct_path, NULL, NULL, &error);
  g_assert_no_error (error);
  PulmoLabelMap *lung64 = pulmo_label_map_load (ct64, lung_path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (PulmoVolume) small = pulmo_fuzz_small_ct ();
  int dims[3];
  pulmo_volume_get_dims (small, dims);
  size_t n = pulmo_volume_get_n_voxels (small);
  int16_t *hu = g_new (int16_t, n);
  g_autofree uint8_t *labels = g_new (uint8_t, n);
  const uint8_t *lung = pulmo_label_map_get_data (lung64);
  for (int k = 0; k < dims[2]; k++)
    for (int j = 0; j < dims[1]; j++)
      for (int i = 0; i < dims[0]; i++)
        {
          size_t at = ((size_t) k * dims[1] + j) * dims[0] + i;
          size_t from = ((size_t) (k + 36) * 64 + (j + 24)) * 64 + (i + 8);
          hu[at] = pulmo_volume_get_int16 (ct64)[from];
          labels[at] = lung[from];
        }
  g_autoptr (PulmoVolume) cut = pulmo_volume_new_int16 (dims, pulmo_volume_get_affine (small), hu);
  g_autofree char *nii = seed_path (out, "volume", "ct-64-cut.nii");
  g_autofree char *nii_gz = seed_path (out, "volume", "ct-64-cut.nii.gz");
  g_assert (pulmo_volume_save (cut, nii, &error) && pulmo_volume_save (cut, nii_gz, &error));

  PulmoLabelMap *map = pulmo_label_map_new (small);
  memcpy (pulmo_label_map_get_data_mutable (map), labels, n);
  g_autofree char *map_path = seed_path (out, "label-map", "wholelung-64-cut.nii.gz");
  g_assert (pulmo_label_map_save (map, map_path, &error));
  g_autofree char *hash = pulmo_recovery_ct_hash (small);
  g_autofree char *recovery = seed_path (out, "recovery", "wholelung-64-cut.recovery");
  g_assert (pulmo_recovery_write (recovery, "/ct.nii.gz", hash, small, labels,
                                  pulmo_label_map_get_table (map), &error));
  g_autofree char *description = seed_path (out, "label-description", "pulmo-labels.txt");
  g_assert (pulmo_label_description_save (pulmo_label_map_get_table (map), description, &error));
  g_object_unref (map);
  g_object_unref (lung64);

  /* The shipped model's preprocessing and labels on the smallest U-Net. */
  g_auto (PulmoModelInfo) info = { 0 };
  PulmoUNet *shipped = pulmo_weights_load (model, &info, &error);
  g_assert_no_error (error);
  pulmo_unet_free (shipped);
  PulmoUNetConfig config = { .in_channels = info.n_slices, .base = 1, .depth = 1, .classes = info.n_labels };
  PulmoUNet *tiny = pulmo_unet_new (&config, 1);
  g_autoptr (GBytes) weights = pulmo_weights_to_bytes (tiny, &info, &error);
  g_assert_no_error (error);
  g_autofree char *weights_path = seed_path (out, "weights", "tiny.pulmonet");
  save_bytes (weights_path, weights);
  g_autoptr (GBytes) tensors = pulmo_safetensors_from_unet (tiny, &info, &error);
  g_assert_no_error (error);
  g_autofree char *tensors_path = seed_path (out, "safetensors", "tiny.safetensors");
  save_bytes (tensors_path, tensors);
  pulmo_unet_free (tiny);

  g_autofree char *json_from = g_build_filename (data_dir, "covid-2d-train", "dataset.json", NULL);
  g_autofree char *json = NULL;
  gsize json_size;
  g_assert (g_file_get_contents (json_from, &json, &json_size, &error));
  g_autofree char *json_path = seed_path (out, "dataset", "covid-2d-train.json");
  g_assert (g_file_set_contents (json_path, json, (gssize) json_size, &error));
  return 0;
}
