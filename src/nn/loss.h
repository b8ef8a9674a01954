/* loss.h: the segmentation loss, weighted cross-entropy plus soft Dice, from
 * logits, for partially labelled data.
 *
 * Targets are per-pixel bitmasks of the classes the annotation allows (bit c
 * set: class c allowed; see label-mask.h to make them from a label map).
 *
 * Cross-entropy: a pixel with allowed set S contributes
 *   -w(S) · log Σ_{c∈S} p_c
 * (the marginal likelihood of the annotation), w(S) the mean of the class
 * weights over S. The sum is divided by Σ w(S) over the labelled pixels
 * (PyTorch's weighted mean). A pixel that allows every class (unlabelled), or
 * none (invalid), contributes nothing; bits >= n_classes are ignored.
 *
 * Soft Dice per class c, over the whole batch (one sum over all samples,
 * "batch Dice"), on the pixels where membership in c is known: mask == {c}
 * gives target 1, c not allowed gives target 0, c allowed with others leaves
 * the pixel out for class c:
 *   D_c = (2 Σ p_c t_c + s) / (Σ p_c + Σ t_c + s),   s = dice_smooth.
 * The Dice loss is 1 - mean of D_c over the classes with at least one known
 * pixel; a class with known pixels but no positives still counts (its D_c
 * rewards predicting none of it); a class with no known pixel is left out.
 * If no class has a known pixel the Dice loss is 0.
 *
 * loss = ce_weight · CE + dice_weight · Dice. Partial sums are added in a
 * fixed order: the result does not depend on the number of threads. */
#pragma once

#include <stdint.h>

#include "nn/tensor.h"

G_BEGIN_DECLS

#define PULMO_LOSS_MAX_CLASSES 16

typedef struct {
  const float *class_weights; /* n_classes floats (> 0), or NULL for all 1 */
  float ce_weight;            /* weight of the cross-entropy term, e.g. 1 */
  float dice_weight;          /* weight of the Dice term, e.g. 1 */
  float dice_smooth;          /* s above (> 0), e.g. 1 */
} PulmoSegLossOptions;

typedef struct {
  double ce;    /* the cross-entropy term, before ce_weight */
  double dice;  /* the Dice loss term (1 - mean D_c), before dice_weight */
  long n_labelled;   /* pixels that took part in the cross-entropy */
} PulmoSegLossParts;

/* logits: (N, K, H, W), 2 <= K <= PULMO_LOSS_MAX_CLASSES. masks: N·H·W
 * bitmasks in (n, i, j) order. dlogits: NULL, or (N, K, H, W), not logits
 * itself, overwritten with d(loss)/d(logits). parts: NULL, or receives the
 * two terms.
 * Returns the loss. */
double pulmo_seg_loss (const PulmoTensor *logits,
                       const uint16_t *masks,
                       const PulmoSegLossOptions *options,
                       PulmoTensor *dlogits,
                       PulmoSegLossParts *parts);

G_END_DECLS
