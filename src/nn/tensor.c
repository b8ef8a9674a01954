#include "nn/tensor.h"
#include "nn/vec4.h"

#include <stdlib.h>
#include <string.h>

PulmoTensor *
pulmo_tensor_new (int n, int c, int h, int w)
{
  g_return_val_if_fail (n > 0 && c > 0 && h > 0 && w > 0, NULL);

  PulmoTensor *tensor = g_new0 (PulmoTensor, 1);
  tensor->n = n;
  tensor->c = c;
  tensor->h = h;
  tensor->w = w;
  size_t bytes = pulmo_tensor_numel (tensor) * sizeof (float);
  /* Round up to the alignment so aligned_alloc's contract holds. */
  size_t padded = (bytes + 63) & ~(size_t) 63;
  tensor->data = aligned_alloc (64, padded);
  if (tensor->data == NULL)
    g_error ("out of memory allocating a %d×%d×%d×%d tensor", n, c, h, w);
  memset (tensor->data, 0, padded);
  return tensor;
}

void
pulmo_tensor_free (PulmoTensor *tensor)
{
  if (tensor == NULL)
    return;
  free (tensor->data);
  g_free (tensor);
}

size_t
pulmo_tensor_numel (const PulmoTensor *tensor)
{
  return (size_t) tensor->n * tensor->c * tensor->h * tensor->w;
}

void
pulmo_tensor_zero (PulmoTensor *tensor)
{
  memset (tensor->data, 0, pulmo_tensor_numel (tensor) * sizeof (float));
}

double
pulmo_sum_floats (const float *values, size_t n)
{
  double total = 0.0;
  size_t i = 0;
  while (i < n)
    {
      size_t stop = MIN (n, i + 1024);
      /* Two vector accumulators: independent chains, in registers. */
      PulmoVec4 a = { 0 }, b = { 0 };
      for (; i + 8 <= stop; i += 8)
        {
          a += pulmo_vec4_load (values + i);
          b += pulmo_vec4_load (values + i + 4);
        }
      a += b;
      float tail = 0.0f;
      for (; i < stop; i++)
        tail += values[i];
      total += (double) a[0] + a[1] + a[2] + a[3] + tail;
    }
  return total;
}
