/* concat.h: concatenation along channels, y = [a ; b] (the U-Net's skip
 * connection joins the encoder feature a with the up-sampled feature b). */
#pragma once

#include "nn/tensor.h"

G_BEGIN_DECLS

/* a: (N, Ca, H, W), b: (N, Cb, H, W); y: (N, Ca + Cb, H, W), allocated by the
 * caller, overwritten. */
void pulmo_concat_forward (const PulmoTensor *a,
                           const PulmoTensor *b,
                           PulmoTensor *y);

/* Splits dy (N, Ca + Cb, H, W) into da (N, Ca, H, W) and db (N, Cb, H, W);
 * either may be NULL. accumulate FALSE: da and db are overwritten; TRUE: the
 * slices are added to them. */
void pulmo_concat_backward (const PulmoTensor *dy,
                            PulmoTensor *da,
                            PulmoTensor *db,
                            gboolean accumulate);

G_END_DECLS
