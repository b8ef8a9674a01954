/* volume-render.h: the 3D view's renderer. Lungs are drawn as translucent
 * glass and every other label as an opaque shaded surface, each in its label
 * table colour, by casting orthographic rays through a downsampled copy of the
 * label map. GTK-free, so tests and benchmarks see what the 3D view shows.
 *
 * The camera lives in world (RAS mm) coordinates, so the patient stands upright
 * whatever the file's storage order: yaw 0, pitch 0 looks from the front
 * (anterior), patient's right on screen left, superior up. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "core/geometry.h"
#include "core/pulmo-label-table.h"

G_BEGIN_DECLS

typedef struct {
  double yaw_deg;      /* turn about the patient's S–I axis; 90 looks from the patient's left */
  double pitch_deg;    /* tilt about the screen's horizontal; 90 looks from above */
  double zoom;         /* 1: the whole volume fits the image */
  double center[3];    /* world point at the image centre */
  double fit_mm;       /* world size that fits the image's shorter side at zoom 1 */
  int width, height;   /* image size in pixels */
} PulmoCamera3D;

/* Looks at the volume of @dims on @affine from the front, fitting it into @width × @height. */
void pulmo_camera_3d_reset (PulmoCamera3D *camera, const int dims[3], const PulmoAffine *affine,
                            int width, int height);
/* The ray through the centre of pixel (@x, @y): it starts on the plane through
 * the camera's centre and runs along @direction (unit, world mm). */
void pulmo_camera_3d_ray (const PulmoCamera3D *camera, double x, double y, double origin[3],
                          double direction[3]);
/* Where the world direction @world_direction points on screen (x right, y down, unit length
 * when it lies in the screen plane, shorter the more it points into or out of it). */
void pulmo_camera_3d_project_direction (const PulmoCamera3D *camera, const double world_direction[3],
                                        double *x, double *y);
/* The pixel position of the world point @world (the inverse of pulmo_camera_3d_ray). */
void pulmo_camera_3d_project_point (const PulmoCamera3D *camera, const double world[3], double *x, double *y);

/* The labels downsampled by an integer factor per axis, so that no axis holds
 * more than @max_size voxels; a lesion in a block wins over lung, lung over
 * background. Immutable once built: shared between threads by reference. */
typedef struct _PulmoVolumeGrid PulmoVolumeGrid;

/* The 3D view rotates a grid of at most this many voxels per axis, drawn at
 * 1/PULMO_VOLUME_INTERACTIVE_SCALE of its size, and refines to the still grid
 * at full size when the mouse stops. */
#define PULMO_VOLUME_INTERACTIVE_GRID 128
#define PULMO_VOLUME_INTERACTIVE_SCALE 2
#define PULMO_VOLUME_STILL_GRID 256

/* @labels: @dims voxels in storage order on @affine. NULL with @error for sizes
 * that cannot be a label map. */
PulmoVolumeGrid *pulmo_volume_grid_new (const uint8_t *labels, const int dims[3], const PulmoAffine *affine,
                                        int max_size, GError **error);
PulmoVolumeGrid *pulmo_volume_grid_ref (PulmoVolumeGrid *grid);
void pulmo_volume_grid_unref (PulmoVolumeGrid *grid);
void pulmo_volume_grid_get_dims (const PulmoVolumeGrid *grid, int dims[3]);

/* Renders the grid as seen by @camera into camera->width × camera->height
 * premultiplied ARGB pixels, rows @stride_bytes apart; pixels no ray lights
 * stay transparent. Only the @table's visible labels are drawn. */
void pulmo_volume_render (const PulmoVolumeGrid *grid, const PulmoLabelTable *table, const PulmoCamera3D *camera,
                          uint32_t *pixels, int stride_bytes);

/* What lies under pixel (@x, @y), along the full-resolution @labels: the first
 * visible lesion voxel on the ray, else the first visible lung voxel. Returns
 * FALSE when the ray meets neither; else its voxel, world centre and label. */
gboolean pulmo_volume_pick (const uint8_t *labels, const int dims[3], const PulmoAffine *affine,
                            const PulmoLabelTable *table, const PulmoCamera3D *camera, double x, double y,
                            int ijk[3], double world[3], uint8_t *label);

/* Lungs (1, 2 and lung of unknown side) are drawn translucent; every other label opaque. */
gboolean pulmo_label_is_lung (uint8_t value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoVolumeGrid, pulmo_volume_grid_unref)

G_END_DECLS
