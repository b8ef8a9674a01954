/* tensor.h: a plain fp32 tensor in NCHW order. `nn` works on these alone and
 * never sees a volume. */
#pragma once

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

typedef struct {
  int n, c, h, w;
  float *data;   /* n*c*h*w floats, 64-byte aligned, owned by the tensor */
} PulmoTensor;

/* Zero-filled. Aborts only on programmer error (non-positive sizes); sizes come
 * from the network's own configuration, never from a file unchecked. */
PulmoTensor *pulmo_tensor_new (int n, int c, int h, int w);
void pulmo_tensor_free (PulmoTensor *tensor);
size_t pulmo_tensor_numel (const PulmoTensor *tensor);
void pulmo_tensor_zero (PulmoTensor *tensor);
/* Σ values[i], accurate for millions of terms (float sums in eight lanes over
 * short blocks, blocks added in double) and fast. */
double pulmo_sum_floats (const float *values, size_t n);
/* Pointer to sample @n, channel @c. */
static inline float *
pulmo_tensor_plane (const PulmoTensor *tensor, int n, int c)
{
  return tensor->data + ((size_t) n * tensor->c + c) * (size_t) tensor->h * tensor->w;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoTensor, pulmo_tensor_free)

G_END_DECLS
