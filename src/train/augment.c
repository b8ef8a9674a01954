/* augment.c: see augment.h. */
#include "train/augment.h"

#include <math.h>
#include <string.h>

/* Control points per side of the elastic displacement field. */
#define ELASTIC_GRID 5

typedef struct {
  double a[2][2];     /* output offset from the centre → source offset */
  double shift[2];    /* source shift in pixels */
  gboolean elastic;
  float dx[ELASTIC_GRID][ELASTIC_GRID], dy[ELASTIC_GRID][ELASTIC_GRID];
} Mapping;

static double
uniform (PulmoRng *rng, double low, double high)
{
  return low + (high - low) * pulmo_rng_uniform (rng);
}

static gboolean
chance (PulmoRng *rng, double p)
{
  return pulmo_rng_uniform (rng) < p;
}

static void
random_mapping (PulmoRng *rng, int width, int height, Mapping *map)
{
  /* One of the eight symmetries of the square: k quarter turns, then a flip. */
  int turns = (int) pulmo_rng_below (rng, 4);
  gboolean flip = pulmo_rng_below (rng, 2);
  double angle = turns * G_PI / 2 + (chance (rng, 0.5) ? uniform (rng, -15, 15) * G_PI / 180 : 0);
  double scale = chance (rng, 0.5) ? exp (uniform (rng, log (0.8), log (1.25))) : 1;
  double c = cos (angle) / scale, s = sin (angle) / scale;
  double f = flip ? -1 : 1;
  map->a[0][0] = c * f;
  map->a[0][1] = -s;
  map->a[1][0] = s * f;
  map->a[1][1] = c;
  map->shift[0] = uniform (rng, -0.06, 0.06) * width;
  map->shift[1] = uniform (rng, -0.06, 0.06) * height;

  map->elastic = chance (rng, 0.3);
  if (map->elastic)
    {
      /* Up to about 2.5 % of the slice: the shape bends, anatomy stays plausible. */
      double sigma = uniform (rng, 0, 0.025) * MIN (width, height);
      for (int i = 0; i < ELASTIC_GRID; i++)
        for (int j = 0; j < ELASTIC_GRID; j++)
          {
            map->dx[i][j] = (float) (pulmo_rng_normal (rng) * sigma);
            map->dy[i][j] = (float) (pulmo_rng_normal (rng) * sigma);
          }
    }
}

/* Bilinear interpolation of the elastic control points at output (x, y). */
static void
elastic_at (const Mapping *map, double x, double y, int width, int height, double *dx, double *dy)
{
  double gx = x / width * (ELASTIC_GRID - 1), gy = y / height * (ELASTIC_GRID - 1);
  int i = CLAMP ((int) gy, 0, ELASTIC_GRID - 2), j = CLAMP ((int) gx, 0, ELASTIC_GRID - 2);
  double fy = CLAMP (gy - i, 0, 1), fx = CLAMP (gx - j, 0, 1);
  *dx = (map->dx[i][j] * (1 - fx) + map->dx[i][j + 1] * fx) * (1 - fy)
        + (map->dx[i + 1][j] * (1 - fx) + map->dx[i + 1][j + 1] * fx) * fy;
  *dy = (map->dy[i][j] * (1 - fx) + map->dy[i][j + 1] * fx) * (1 - fy)
        + (map->dy[i + 1][j] * (1 - fx) + map->dy[i + 1][j + 1] * fx) * fy;
}

static void
apply_mapping (const Mapping *map, const float *image, const uint8_t *labels, int width, int height,
               float *out_image, uint8_t *out_labels)
{
  double cx = width / 2.0, cy = height / 2.0;
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        double ox = x + 0.5 - cx, oy = y + 0.5 - cy;
        double sx = map->a[0][0] * ox + map->a[0][1] * oy + cx + map->shift[0];
        double sy = map->a[1][0] * ox + map->a[1][1] * oy + cy + map->shift[1];
        if (map->elastic)
          {
            double dx, dy;
            elastic_at (map, x + 0.5, y + 0.5, width, height, &dx, &dy);
            sx += dx;
            sy += dy;
          }
        size_t o = (size_t) y * width + x;
        /* Labels: the source pixel that contains the point. */
        int lx = (int) floor (sx), ly = (int) floor (sy);
        out_labels[o] = lx >= 0 && ly >= 0 && lx < width && ly < height
                          ? labels[(size_t) ly * width + lx] : 0;
        /* Image: bilinear between pixel centres, air outside. */
        double px = sx - 0.5, py = sy - 0.5;
        int x0 = (int) floor (px), y0 = (int) floor (py);
        double fx = px - x0, fy = py - y0;
        double sum = 0;
        for (int k = 0; k < 4; k++)
          {
            int xi = x0 + (k & 1), yi = y0 + (k >> 1);
            double w = ((k & 1) ? fx : 1 - fx) * ((k >> 1) ? fy : 1 - fy);
            if (xi >= 0 && yi >= 0 && xi < width && yi < height)
              sum += w * image[(size_t) yi * width + xi];
          }
        out_image[o] = (float) sum;
      }
}

/* Separable Gaussian blur in place, edges extended. */
static void
blur (float *image, int width, int height, double sigma)
{
  int radius = MIN ((int) ceil (3 * sigma), 16);
  float kernel[33];
  double total = 0;
  for (int i = -radius; i <= radius; i++)
    total += kernel[i + radius] = (float) exp (-0.5 * i * i / (sigma * sigma));
  for (int i = 0; i <= 2 * radius; i++)
    kernel[i] = (float) (kernel[i] / total);

  g_autofree float *line = g_new (float, MAX (width, height));
  for (int y = 0; y < height; y++)
    {
      float *row = image + (size_t) y * width;
      for (int x = 0; x < width; x++)
        {
          float sum = 0;
          for (int i = -radius; i <= radius; i++)
            sum += kernel[i + radius] * row[CLAMP (x + i, 0, width - 1)];
          line[x] = sum;
        }
      memcpy (row, line, width * sizeof (float));
    }
  for (int x = 0; x < width; x++)
    {
      for (int y = 0; y < height; y++)
        {
          float sum = 0;
          for (int i = -radius; i <= radius; i++)
            sum += kernel[i + radius] * image[(size_t) CLAMP (y + i, 0, height - 1) * width + x];
          line[y] = sum;
        }
      for (int y = 0; y < height; y++)
        image[(size_t) y * width + x] = line[y];
    }
}

static void
change_intensity (PulmoRng *rng, float *image, int width, int height)
{
  size_t n = (size_t) width * height;
  if (chance (rng, 0.2))
    blur (image, width, height, uniform (rng, 0.5, 2.0));
  double mean = 0;
  for (size_t i = 0; i < n; i++)
    mean += image[i];
  mean /= n;
  float contrast = chance (rng, 0.5) ? (float) uniform (rng, 0.75, 1.25) : 1;
  float brightness = chance (rng, 0.5) ? (float) uniform (rng, -0.08, 0.08) : 0;
  float gamma = chance (rng, 0.3) ? (float) exp (uniform (rng, log (0.7), log (1.5))) : 1;
  float noise = chance (rng, 0.15) ? (float) uniform (rng, 0, 0.04) : 0;
  for (size_t i = 0; i < n; i++)
    {
      float v = (float) ((image[i] - mean) * contrast + mean) + brightness;
      v = CLAMP (v, 0, 1);
      if (gamma != 1)
        v = powf (v, gamma);
      if (noise > 0)
        v += noise * (float) pulmo_rng_normal (rng);
      image[i] = v;
    }
}

/* Bilinear sample of a coarse grid at fine pixel @x (centres aligned). */
static void
coarse_coordinate (int x, int fine, int coarse, int *i0, double *t)
{
  double u = (x + 0.5) * coarse / fine - 0.5;
  u = CLAMP (u, 0, coarse - 1);
  *i0 = MIN ((int) u, coarse - 2);
  *t = u - *i0;
}

gboolean
pulmo_augment_acquisition (PulmoRng *rng, const uint8_t *grey, int width, int height,
                           uint8_t *out)
{
  gboolean coarser = chance (rng, 0.25), noisier = chance (rng, 0.15);
  if (!coarser && !noisier)
    return FALSE;
  size_t n = (size_t) width * height;
  g_autofree float *image = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    image[i] = grey[i];

  if (coarser)
    {
      /* Average onto a grid 1.5 to 4 times coarser, as a scan with larger
       * pixels records the same anatomy, then interpolate back as
       * preprocessing does when it fits such a slice to the model. */
      double factor = uniform (rng, 1.5, 4.0);
      int cw = MAX (2, (int) lround (width / factor)), ch = MAX (2, (int) lround (height / factor));
      g_autofree double *sum = g_new0 (double, (size_t) cw * ch);
      g_autofree int *count = g_new0 (int, (size_t) cw * ch);
      for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
          {
            size_t c = (size_t) (y * ch / height) * cw + x * cw / width;
            sum[c] += image[(size_t) y * width + x];
            count[c]++;
          }
      for (size_t c = 0; c < (size_t) cw * ch; c++)
        sum[c] /= MAX (count[c], 1);
      for (int y = 0; y < height; y++)
        {
          int j;
          double ty;
          coarse_coordinate (y, height, ch, &j, &ty);
          for (int x = 0; x < width; x++)
            {
              int i;
              double tx;
              coarse_coordinate (x, width, cw, &i, &tx);
              const double *r0 = sum + (size_t) j * cw, *r1 = r0 + cw;
              image[(size_t) y * width + x]
                = (float) ((1 - ty) * ((1 - tx) * r0[i] + tx * r0[i + 1])
                           + ty * ((1 - tx) * r1[i] + tx * r1[i + 1]));
            }
        }
    }
  if (noisier)
    {
      /* Quantum noise of a low-dose scan, in grey levels of the 8-bit slice. */
      double sigma = uniform (rng, 1, 5);
      for (size_t i = 0; i < n; i++)
        image[i] += (float) (sigma * pulmo_rng_normal (rng));
    }
  for (size_t i = 0; i < n; i++)
    out[i] = (uint8_t) CLAMP (lrintf (image[i]), 0, 255);
  return TRUE;
}

void
pulmo_augment (PulmoRng *rng, const PulmoAugmentOptions *options, const float *image,
               const uint8_t *labels, int width, int height, float *out_image, uint8_t *out_labels)
{
  size_t n = (size_t) width * height;
  if (options->spatial)
    {
      Mapping map;
      random_mapping (rng, width, height, &map);
      apply_mapping (&map, image, labels, width, height, out_image, out_labels);
    }
  else
    {
      memcpy (out_image, image, n * sizeof (float));
      memcpy (out_labels, labels, n);
    }
  if (options->intensity)
    change_intensity (rng, out_image, width, height);
}
