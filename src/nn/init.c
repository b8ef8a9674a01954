#include "nn/init.h"

#include <math.h>

static void
fill_normal (PulmoTensor *weight, double fan_in, PulmoRng *rng)
{
  double sd = sqrt (2.0 / fan_in);
  size_t n = pulmo_tensor_numel (weight);
  for (size_t i = 0; i < n; i++)
    weight->data[i] = (float) (sd * pulmo_rng_normal (rng));
}

void
pulmo_init_he_conv (PulmoTensor *weight, PulmoRng *rng)
{
  g_return_if_fail (weight != NULL && rng != NULL);
  fill_normal (weight, (double) weight->c * weight->h * weight->w, rng);
}

void
pulmo_init_he_upconv (PulmoTensor *weight, int in_channels, PulmoRng *rng)
{
  g_return_if_fail (weight != NULL && rng != NULL && in_channels > 0);
  fill_normal (weight, in_channels, rng);
}
