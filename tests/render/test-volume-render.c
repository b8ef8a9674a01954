/* The 3D view's renderer on a real lung mask (CIP's wholeLung-64, LPS) with a
 * ground-glass lesion placed in the right lung: the silhouette matches the mask's
 * projection along each axis-aligned view direction, and a click finds the lesion. */
#include <math.h>

#include "pulmo-test.h"
#include "core/pulmo-error.h"
#include "render/volume-render.h"

enum { SIZE = 240, LESION_RADIUS = 5 };

typedef struct {
  int dims[3];
  PulmoAffine affine;
  uint8_t *labels;
  int lesion[3];  /* the lesion's centre voxel */
} Scene;

static uint8_t *
voxel (Scene *scene, int i, int j, int k)
{
  return &scene->labels[((size_t) k * scene->dims[1] + j) * scene->dims[0] + i];
}

/* Lungs 1 (right, x > 0 in world) and 2; a ball of label 3 around the right lung's centroid. */
static void
scene_load (Scene *scene)
{
  g_autoptr (PulmoVolume) mask = pulmo_test_load_ct ("cip-chest-ct/wholeLung-64.nii.gz");
  pulmo_volume_get_dims (mask, scene->dims);
  scene->affine = *pulmo_volume_get_affine (mask);
  scene->labels = g_malloc0 (pulmo_volume_get_n_voxels (mask));
  double sum[3] = { 0, 0, 0 };
  gsize n_right = 0;
  for (int k = 0; k < scene->dims[2]; k++)
    for (int j = 0; j < scene->dims[1]; j++)
      for (int i = 0; i < scene->dims[0]; i++)
        {
          if (pulmo_volume_get_value (mask, i, j, k) == 0)
            continue;
          double at[3] = { i, j, k }, world[3];
          pulmo_affine_apply (&scene->affine, at, world);
          gboolean right = world[0] > 0;
          *voxel (scene, i, j, k) = right ? PULMO_LABEL_RIGHT_LUNG : PULMO_LABEL_LEFT_LUNG;
          if (right)
            {
              sum[0] += i, sum[1] += j, sum[2] += k;
              n_right++;
            }
        }
  g_assert_cmpuint (n_right, >, 10000);
  for (int a = 0; a < 3; a++)
    scene->lesion[a] = (int) lround (sum[a] / n_right);
  gsize n_lesion = 0;
  for (int k = -LESION_RADIUS; k <= LESION_RADIUS; k++)
    for (int j = -LESION_RADIUS; j <= LESION_RADIUS; j++)
      for (int i = -LESION_RADIUS; i <= LESION_RADIUS; i++)
        if (i * i + j * j + k * k <= LESION_RADIUS * LESION_RADIUS)
          {
            uint8_t *at = voxel (scene, scene->lesion[0] + i, scene->lesion[1] + j, scene->lesion[2] + k);
            if (*at != 0)
              {
                *at = PULMO_LABEL_GROUND_GLASS;
                n_lesion++;
              }
          }
  g_assert_cmpuint (n_lesion, >, 100);
}

/* The view looking along voxel axis @axis: IoU of the rendered silhouette and
 * the labels projected along that axis, sampled at each pixel's ray. */
static void
check_silhouette (Scene *scene, double yaw, double pitch, int axis)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolumeGrid) grid = pulmo_volume_grid_new (scene->labels, scene->dims, &scene->affine,
                                                            PULMO_VOLUME_STILL_GRID, &error);
  g_assert_no_error (error);
  g_autoptr (PulmoLabelTable) table = pulmo_label_table_new_default ();
  PulmoCamera3D camera;
  pulmo_camera_3d_reset (&camera, scene->dims, &scene->affine, SIZE, SIZE);
  camera.yaw_deg = yaw;
  camera.pitch_deg = pitch;
  g_autofree uint32_t *image = g_new (uint32_t, SIZE * SIZE);
  pulmo_volume_render (grid, table, &camera, image, SIZE * 4);

  PulmoAffine inverse;
  g_assert_true (pulmo_affine_invert (&scene->affine, &inverse));
  gsize both = 0, either = 0, rendered = 0;
  for (int y = 0; y < SIZE; y++)
    for (int x = 0; x < SIZE; x++)
      {
        double origin[3], direction[3], at[3];
        pulmo_camera_3d_ray (&camera, x + 0.5, y + 0.5, origin, direction);
        pulmo_affine_apply (&inverse, origin, at);
        /* The ray runs along @axis: the other two indices pick the column. */
        gboolean projected = FALSE, inside = TRUE;
        int ijk[3];
        for (int a = 0; a < 3; a++)
          {
            ijk[a] = (int) floor (at[a] + 0.5);
            inside = inside && (a == axis || (ijk[a] >= 0 && ijk[a] < scene->dims[a]));
          }
        for (int s = 0; inside && s < scene->dims[axis] && !projected; s++)
          {
            ijk[axis] = s;
            projected = *voxel (scene, ijk[0], ijk[1], ijk[2]) != 0;
          }
        gboolean drawn = (image[y * SIZE + x] >> 24) != 0;
        both += projected && drawn;
        either += projected || drawn;
        rendered += drawn;
      }
  g_assert_cmpuint (rendered, >, SIZE * SIZE / 10);
  double iou = (double) both / either;
  g_test_message ("yaw %.0f pitch %.0f: IoU %.4f over %" G_GSIZE_FORMAT " pixels", yaw, pitch, iou, either);
  g_assert_cmpfloat (iou, >=, 0.98);
}

static void
test_silhouette (void)
{
  Scene scene;
  scene_load (&scene);
  /* LPS storage: j runs anterior–posterior, i right–left, k inferior–superior. */
  check_silhouette (&scene, 0, 0, 1);   /* from the front */
  check_silhouette (&scene, 90, 0, 0);  /* from the patient's left */
  check_silhouette (&scene, 0, 90, 2);  /* from above */
  g_free (scene.labels);
}

static void
test_pick (void)
{
  Scene scene;
  scene_load (&scene);
  g_autoptr (PulmoLabelTable) table = pulmo_label_table_new_default ();
  PulmoCamera3D camera;
  pulmo_camera_3d_reset (&camera, scene.dims, &scene.affine, SIZE, SIZE);
  camera.yaw_deg = 30;
  camera.pitch_deg = 20;
  double centre[3], at[3] = { scene.lesion[0], scene.lesion[1], scene.lesion[2] }, x, y;
  pulmo_affine_apply (&scene.affine, at, centre);
  pulmo_camera_3d_project_point (&camera, centre, &x, &y);

  /* The rendered pixel there shows the lesion, in ground glass's colour. */
  g_autoptr (GError) error = NULL;
  g_autoptr (PulmoVolumeGrid) grid = pulmo_volume_grid_new (scene.labels, scene.dims, &scene.affine,
                                                            PULMO_VOLUME_STILL_GRID, &error);
  g_assert_no_error (error);
  g_autofree uint32_t *image = g_new (uint32_t, SIZE * SIZE);
  pulmo_volume_render (grid, table, &camera, image, SIZE * 4);
  uint32_t pixel = image[(int) y * SIZE + (int) x];
  const PulmoLabel *glass = pulmo_label_table_get (table, PULMO_LABEL_GROUND_GLASS);
  g_assert_cmpuint (pixel >> 24, ==, 255);
  int rgb[3] = { pixel >> 16 & 255, pixel >> 8 & 255, pixel & 255 };
  int brightest = MAX (rgb[0], MAX (rgb[1], rgb[2])), colour_brightest = MAX (glass->rgba[0], MAX (glass->rgba[1], glass->rgba[2]));
  for (int c = 0; c < 3; c++)
    g_assert_cmpfloat (fabs (rgb[c] / (double) brightest - glass->rgba[c] / (double) colour_brightest), <, 0.15);

  int ijk[3];
  double world[3];
  uint8_t label = 0;
  g_assert_true (pulmo_volume_pick (scene.labels, scene.dims, &scene.affine, table, &camera, x, y, ijk, world, &label));
  g_assert_cmpuint (label, ==, PULMO_LABEL_GROUND_GLASS);
  g_assert_cmpuint (*voxel (&scene, ijk[0], ijk[1], ijk[2]), ==, PULMO_LABEL_GROUND_GLASS);
  /* The lesion's near side, within its radius of the centre. */
  double distance = 0, toward_eye = 0, origin[3], direction[3];
  pulmo_camera_3d_ray (&camera, x, y, origin, direction);
  for (int a = 0; a < 3; a++)
    {
      distance += (world[a] - centre[a]) * (world[a] - centre[a]);
      toward_eye -= (world[a] - centre[a]) * direction[a];
    }
  g_assert_cmpfloat (sqrt (distance), <=, (LESION_RADIUS + 1) * 4.2);
  g_assert_cmpfloat (toward_eye, >, 0);

  /* With ground glass hidden, the same click finds the lung around it. */
  pulmo_label_table_set_visible (table, PULMO_LABEL_GROUND_GLASS, FALSE);
  g_assert_true (pulmo_volume_pick (scene.labels, scene.dims, &scene.affine, table, &camera, x, y, ijk, world, &label));
  g_assert_cmpuint (label, ==, PULMO_LABEL_RIGHT_LUNG);
  /* A corner of the image holds nothing. */
  g_assert_false (pulmo_volume_pick (scene.labels, scene.dims, &scene.affine, table, &camera, 1, 1, ijk, world, &label));
  g_free (scene.labels);
}

static void
test_bad_sizes (void)
{
  uint8_t labels[1] = { 0 };
  PulmoAffine affine;
  const double spacing[3] = { 1, 1, 1 };
  pulmo_affine_from_spacing (&affine, spacing);
  const int bad[3] = { 0, 4, 4 };
  g_autoptr (GError) error = NULL;
  g_assert_null (pulmo_volume_grid_new (labels, bad, &affine, 128, &error));
  g_assert_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/volume-render/silhouette", test_silhouette);
  g_test_add_func ("/volume-render/pick", test_pick);
  g_test_add_func ("/volume-render/bad-sizes", test_bad_sizes);
  return g_test_run ();
}
