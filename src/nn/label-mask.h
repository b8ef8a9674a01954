/* label-mask.h: Pulmo's label-map values as sets of model classes.
 *
 * A label map value (DESIGN.md: 0 background, 1 right lung, 2 left lung,
 * 3 ground-glass opacity, 4 consolidation, 5 pleural effusion, and the partial
 * labels 6 = {1,2}, 7 = {3,4}, 8 = {0,1,2,5}) becomes the bitmask of the
 * classes of a K-class model it allows, as loss.h expects. Supported models:
 *   K = 4: 0 background, 1 lung, 2 GGO, 3 consolidation (sides merged,
 *          effusion counted as background);
 *   K = 5: 0 background, 1 right lung, 2 left lung, 3 GGO, 4 consolidation
 *          (effusion counted as background);
 *   K = 6: as K = 5 plus 5 pleural effusion.
 * A value outside 0..8 allows every class: the pixel is unlabelled. */
#pragma once

#include <stdint.h>

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when a model with n_classes classes has a mapping above. */
gboolean pulmo_label_mask_supported (int n_classes);

/* The bitmask for one label value; n_classes must be supported. */
uint16_t pulmo_label_mask (unsigned label, int n_classes);

/* masks[i] = pulmo_label_mask (labels[i], n_classes) for n_pixels pixels.
 * Returns FALSE with PULMO_ERROR_UNSUPPORTED if n_classes is not supported. */
gboolean pulmo_label_masks_from_labels (const uint8_t *labels,
                                        size_t n_pixels,
                                        int n_classes,
                                        uint16_t *masks,
                                        GError **error);

G_END_DECLS
