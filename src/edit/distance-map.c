/* distance-map.c: see distance-map.h. */
#include "edit/distance-map.h"

#include <math.h>

#include "nn/parallel.h"

/* One line of the squared distance transform: out[q] = min over p of
 * f[p] + (h·(q − p))², from the lower envelope of the parabolas. @site and
 * @bound hold n and n + 1 entries. */
static void
transform_line (const double *f, int n, double h2, double *out, int *site, double *bound)
{
  int k = 0;
  site[0] = 0;
  bound[0] = -INFINITY;
  bound[1] = INFINITY;
  for (int q = 1; q < n; q++)
    {
      const double fq = f[q] + h2 * q * q;
      double s;
      /* Ends at k = 0 at the latest: bound[0] is -inf and every f is finite. */
      for (;;)
        {
          int p = site[k];
          s = (fq - (f[p] + h2 * p * p)) / (2.0 * h2 * (q - p));
          if (s > bound[k])
            break;
          k--;
        }
      k++;
      site[k] = q;
      bound[k] = s;
      bound[k + 1] = INFINITY;
    }
  k = 0;
  for (int q = 0; q < n; q++)
    {
      while (bound[k + 1] < q)
        k++;
      double d = q - site[k];
      out[q] = h2 * d * d + f[site[k]];
    }
}

/* One worker's line buffers, for lines of up to n voxels and the two beyond their ends. */
typedef struct {
  double *f, *out, *bound;
  int *site;
} LineScratch;

typedef struct {
  float *dist;
  const int *size;
  int axis;
  double h2;
  PulmoDistanceEdge edge;
  const LineScratch *lines;   /* one per worker */
} Pass;

static void
transform_lines (void *ctx, int begin, int end, int worker)
{
  const Pass *p = ctx;
  const int *size = p->size;
  const gsize stride[3] = { 1, (gsize) size[0], (gsize) size[0] * size[1] };
  /* Lines next to each other in i are next to each other in memory: i varies fastest. */
  const int a = 0, b = p->axis == 1 ? 2 : 1;
  const int n = size[p->axis];
  /* With features beyond the edge, each line gets a zero before and after it. */
  const int pad = p->edge == PULMO_DISTANCE_EDGE_FEATURE;
  const LineScratch *line = &p->lines[worker];
  for (int y = begin; y < end; y++)
    for (int x = 0; x < size[a]; x++)
      {
        float *first = p->dist + x * stride[a] + y * stride[b];
        gboolean measured = FALSE, reachable = pad;
        line->f[0] = line->f[n + 1] = 0.0;
        for (int q = 0; q < n; q++)
          {
            line->f[q + pad] = first[q * stride[p->axis]];
            measured |= line->f[q + pad] != 0.0;
            reachable |= line->f[q + pad] < PULMO_DISTANCE_FAR;
          }
        /* All features, or nothing to measure from: the line stays as it is. */
        if (!measured || !reachable)
          continue;
        transform_line (line->f, n + 2 * pad, p->h2, line->out, line->site, line->bound);
        for (int q = 0; q < n; q++)
          first[q * stride[p->axis]] = (float) line->out[q + pad];
      }
}

/* Along the first axis the input is binary: two running counts of the voxels
 * since the last feature give the distance in voxels. */
static void
transform_rows (float *dist, const int size[3], double h2, PulmoDistanceEdge edge)
{
  /* A count of -1: no feature yet on this side of the row. */
  const int start = edge == PULMO_DISTANCE_EDGE_FEATURE ? 0 : -1;
  const gsize n_rows = (gsize) size[1] * size[2];
  for (gsize r = 0; r < n_rows; r++)
    {
      float *out = dist + r * size[0];
      int run = start;
      for (int i = 0; i < size[0]; i++)
        {
          run = out[i] == 0.0f ? 0 : run < 0 ? -1 : run + 1;
          out[i] = run < 0 ? INFINITY : (float) run;
        }
      run = start;
      for (int i = size[0] - 1; i >= 0; i--)
        {
          run = out[i] == 0.0f ? 0 : run < 0 ? -1 : run + 1;
          double d = run < 0 ? out[i] : MIN (out[i], (float) run);
          out[i] = isinf (d) ? PULMO_DISTANCE_FAR : (float) (h2 * d * d);
        }
    }
}

void
pulmo_distance_map_squared (float *dist, const int size[3], const double spacing_mm[3],
                            PulmoDistanceEdge edge)
{
  g_return_if_fail (size[0] > 0 && size[1] > 0 && size[2] > 0);
  transform_rows (dist, size, spacing_mm[0] * spacing_mm[0], edge);

  const int longest = MAX (size[1], size[2]);
  const int n_workers = pulmo_parallel_n_threads ();
  g_autofree LineScratch *lines = g_new (LineScratch, n_workers);
  for (int w = 0; w < n_workers; w++)
    {
      lines[w].f = g_new (double, 3 * ((gsize) longest + 3));
      lines[w].out = lines[w].f + longest + 3;
      lines[w].bound = lines[w].out + longest + 3;
      lines[w].site = g_new (int, (gsize) longest + 2);
    }
  for (int axis = 1; axis <= 2; axis++)
    {
      Pass pass = { dist, size, axis, spacing_mm[axis] * spacing_mm[axis], edge, lines };
      pulmo_parallel_for (size[axis == 1 ? 2 : 1], transform_lines, &pass);
    }
  for (int w = 0; w < n_workers; w++)
    {
      g_free (lines[w].f);
      g_free (lines[w].site);
    }
}
