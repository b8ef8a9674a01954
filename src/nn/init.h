/* init.h: He (Kaiming) initialisation, normal with standard deviation
 * sqrt(2 / fan_in), so that activations keep their scale through ReLU layers
 * (He et al., 2015). */
#pragma once

#include "nn/rng.h"
#include "nn/tensor.h"

G_BEGIN_DECLS

/* Convolution weight Cout × Cin × K × K: fan_in = Cin·K·K. */
void pulmo_init_he_conv (PulmoTensor *weight, PulmoRng *rng);
/* 2×2 stride-2 transposed convolution: kernel windows do not overlap, so each
 * output pixel sums exactly @in_channels products: fan_in = in_channels. */
void pulmo_init_he_upconv (PulmoTensor *weight, int in_channels, PulmoRng *rng);

G_END_DECLS
