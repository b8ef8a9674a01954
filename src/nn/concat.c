/* concat.c: channel concatenation. In NCHW each sample's channels are one
 * contiguous block, so both directions are plane copies (or adds), split over
 * the N·(Ca + Cb) output planes. */
#include "nn/concat.h"

#include <string.h>

#include "nn/parallel.h"

typedef struct {
  PulmoTensor *a;     /* forward: sources; backward: destinations */
  PulmoTensor *b;
  PulmoTensor *y;     /* forward: destination; backward: source */
  gboolean backward;
  gboolean accumulate;
} ConcatJob;

static void
concat_planes (void *data, int begin, int end, int worker)
{
  const ConcatJob *job = data;
  int c = job->y->c;
  int ca = job->a != NULL ? job->a->c : c - job->b->c;
  size_t plane = (size_t) job->y->h * job->y->w;

  for (int p = begin; p < end; p++)
    {
      int n = p / c, ch = p % c;
      PulmoTensor *part = ch < ca ? job->a : job->b;
      if (part == NULL)
        continue;
      float *y = pulmo_tensor_plane (job->y, n, ch);
      float *x = pulmo_tensor_plane (part, n, ch < ca ? ch : ch - ca);
      if (!job->backward)
        memcpy (y, x, plane * sizeof (float));
      else if (!job->accumulate)
        memcpy (x, y, plane * sizeof (float));
      else
        for (size_t i = 0; i < plane; i++)
          x[i] += y[i];
    }
}

static gboolean
same_grid (const PulmoTensor *t, const PulmoTensor *y)
{
  return t->n == y->n && t->h == y->h && t->w == y->w;
}

void
pulmo_concat_forward (const PulmoTensor *a, const PulmoTensor *b, PulmoTensor *y)
{
  g_return_if_fail (a != NULL && b != NULL && y != NULL);
  g_return_if_fail (same_grid (a, y) && same_grid (b, y) && y->c == a->c + b->c);

  /* The job's tensors are only read in the forward direction. */
  ConcatJob job = { (PulmoTensor *) a, (PulmoTensor *) b, y, FALSE, FALSE };
  pulmo_parallel_for (y->n * y->c, concat_planes, &job);
}

void
pulmo_concat_backward (const PulmoTensor *dy,
                       PulmoTensor *da,
                       PulmoTensor *db,
                       gboolean accumulate)
{
  g_return_if_fail (dy != NULL && (da != NULL || db != NULL));
  g_return_if_fail (da == NULL || (same_grid (da, dy) && da->c < dy->c));
  g_return_if_fail (db == NULL || (same_grid (db, dy) && db->c < dy->c));
  g_return_if_fail (da == NULL || db == NULL || da->c + db->c == dy->c);

  ConcatJob job = { da, db, (PulmoTensor *) dy, TRUE, accumulate };
  pulmo_parallel_for (dy->n * dy->c, concat_planes, &job);
}
