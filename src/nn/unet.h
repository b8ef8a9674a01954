/* unet.h: Pulmo's U-Net (Ronneberger et al., 2015) on plain tensors.
 *
 * Shape, for depth D and base width B (channels C_l = B·2^l):
 *   encoder level l < D:  2 × (3×3 conv → BN → ReLU) to C_l, kept as the skip,
 *                         then 2×2 max-pool;
 *   bottom:               2 × (3×3 conv → BN → ReLU) to C_D;
 *   decoder level l < D:  2×2 stride-2 transposed conv (with bias) C_{l+1} → C_l,
 *                         concat [skip_l ; up], 2 × (3×3 conv → BN → ReLU) to C_l;
 *   head:                 1×1 conv (with bias) C_0 → classes (logits).
 * 3×3 convolutions carry no bias: the BN after them has its own shift. With
 * B 32, D 4, 1 input channel and 4 classes this gives 7,762,564 trainable
 * parameters and 12.04 G multiply-adds per 256×256 slice (PyTorch's
 * tests/anchors/pytorch_unet.py is the same network, name for name).
 *
 * Threads: training (forward_train, backward, the optimiser) changes the model
 * and must not overlap anything else on it. Inference (pulmo_unet_infer) may
 * run on any number of threads at once, each with its own workspace. */
#pragma once

#include "nn/optim.h"
#include "nn/tensor.h"

G_BEGIN_DECLS

typedef struct {
  int in_channels;  /* 1, or 3 adjacent slices */
  int base;         /* channels of the first level */
  int depth;        /* number of 2×2 poolings */
  int classes;      /* output channels (logits) */
} PulmoUNetConfig;

/* Limits checked by pulmo_unet_config_check(): in_channels 1..16, base
 * 1..256, depth 1..PULMO_UNET_MAX_DEPTH, classes 2..16 (the loss's limit),
 * and at most PULMO_UNET_MAX_PARAMS numbers in all tensors together. */
#define PULMO_UNET_MAX_DEPTH 6
#define PULMO_UNET_MAX_PARAMS (256u * 1024 * 1024)

/* One named tensor of the model, in a fixed order (forward order). */
typedef struct {
  const char *name;     /* "enc0.conv1.weight", "enc0.bn1.running_mean", "head.bias" */
  int ndim;             /* 1 (per-channel vectors) or 4 (kernels) */
  int shape[4];         /* PyTorch's shape; conv Cout×Cin×K×K, transposed Cin×Cout×2×2 */
  PulmoTensor *value;
  PulmoTensor *grad;    /* NULL for BN running statistics (not trained) */
  gboolean decay;       /* AdamW weight decay applies (kernels only) */
} PulmoUNetParam;

typedef struct _PulmoUNet PulmoUNet;

/* FALSE with a PULMO_ERROR (INVALID or TOO_LARGE) naming the bad field. */
gboolean pulmo_unet_config_check (const PulmoUNetConfig *config, GError **error);
/* Numbers in all named tensors (trainable and running statistics); needs a
 * checked config; never overflows. */
guint64 pulmo_unet_config_n_values (const PulmoUNetConfig *config);

/* He-initialised kernels, zero biases, BN scale 1 and shift 0, running mean 0
 * and variance 1. The same seed gives the same network. The config must pass
 * pulmo_unet_config_check(). */
PulmoUNet *pulmo_unet_new (const PulmoUNetConfig *config, guint64 seed);
/* All tensors zero, for a loader that fills every one of them. */
PulmoUNet *pulmo_unet_new_empty (const PulmoUNetConfig *config);
void pulmo_unet_free (PulmoUNet *net);
const PulmoUNetConfig *pulmo_unet_get_config (const PulmoUNet *net);

const PulmoUNetParam *pulmo_unet_get_params (const PulmoUNet *net, int *n_params);
const PulmoUNetParam *pulmo_unet_find_param (const PulmoUNet *net, const char *name);
/* Trainable numbers (what papers call the parameter count). */
guint64 pulmo_unet_n_trainable (const PulmoUNet *net);
/* Multiply-adds of one forward pass over one height × width sample. */
double pulmo_unet_macs (const PulmoUNet *net, int height, int width);
/* TRUE if height and width are positive multiples of 2^depth. */
gboolean pulmo_unet_size_ok (const PulmoUNet *net, int height, int width);

/* Call after changing any value directly (loading, tests); the training
 * functions below call it themselves. It drops the cached folded weights. */
void pulmo_unet_weights_changed (PulmoUNet *net);

/* ---- Training ---------------------------------------------------------- */

/* Everything the backward pass needs for batches of batch × height × width. */
typedef struct _PulmoUNetActivations PulmoUNetActivations;

PulmoUNetActivations *pulmo_unet_activations_new (const PulmoUNet *net,
                                                  int batch, int height, int width);
void pulmo_unet_activations_free (PulmoUNetActivations *acts);

/* Forward with BN batch statistics (running statistics are updated), keeping
 * every activation. @input: batch × in_channels × height × width as the
 * activations were made for; it is kept by reference and must stay unchanged
 * until pulmo_unet_backward(). Returns the logits, owned by @acts. */
const PulmoTensor *pulmo_unet_forward_train (PulmoUNet *net,
                                             PulmoUNetActivations *acts,
                                             const PulmoTensor *input);
/* Backward of the last forward_train on @acts: parameter gradients are ADDED
 * to each param's grad (zero them between steps). */
void pulmo_unet_backward (PulmoUNet *net,
                          PulmoUNetActivations *acts,
                          const PulmoTensor *grad_logits);
void pulmo_unet_zero_grad (PulmoUNet *net);
/* An AdamW over the trainable tensors, weight decay on kernels only. */
PulmoAdamW *pulmo_unet_adamw_new (PulmoUNet *net, const PulmoAdamWConfig *config);
/* Optimiser step and pulmo_unet_weights_changed(). */
void pulmo_unet_adamw_step (PulmoUNet *net, PulmoAdamW *optim);

/* ---- Inference --------------------------------------------------------- */

/* Buffers for one height × width sample, reused from call to call. One per
 * thread; the model itself holds no scratch. */
typedef struct _PulmoUNetWorkspace PulmoUNetWorkspace;

PulmoUNetWorkspace *pulmo_unet_workspace_new (const PulmoUNet *net, int height, int width);
void pulmo_unet_workspace_free (PulmoUNetWorkspace *ws);

/* Eval-mode forward with BN folded into the convolutions (folded once and
 * cached in the model until the weights change). @input: N × in_channels ×
 * height × width (samples run one after another); @logits: N × classes ×
 * height × width, overwritten. Safe on several threads at once. */
void pulmo_unet_infer (PulmoUNet *net,
                       PulmoUNetWorkspace *ws,
                       const PulmoTensor *input,
                       PulmoTensor *logits);
/* The same eval-mode forward without folding: convolution, then BN with the
 * running statistics, then ReLU, as separate steps (the reference for the
 * folded path). */
void pulmo_unet_forward_eval (const PulmoUNet *net,
                              PulmoUNetWorkspace *ws,
                              const PulmoTensor *input,
                              PulmoTensor *logits);

/* ---- Where the time goes ----------------------------------------------- */

typedef enum {
  PULMO_UNET_STAGE_CONV,          /* 3×3 and 1×1 convolution forward */
  PULMO_UNET_STAGE_CONV_BACKWARD,
  PULMO_UNET_STAGE_BATCHNORM,     /* forward and backward, with ReLU */
  PULMO_UNET_STAGE_POOL,          /* max-pool forward and backward */
  PULMO_UNET_STAGE_UPCONV,        /* transposed convolution forward and backward */
  PULMO_UNET_STAGE_CONCAT,        /* concat forward and backward */
  PULMO_UNET_N_STAGES
} PulmoUNetStage;

typedef struct {
  double seconds[PULMO_UNET_N_STAGES];
  /* The same time by resolution level: level l is 2^l times smaller than the
   * input; the encoder, decoder and transposed conv of level l count there,
   * the 1×1 head at level 0. */
  double level_seconds[PULMO_UNET_MAX_DEPTH + 1];
} PulmoUNetProfile;

const char *pulmo_unet_stage_name (PulmoUNetStage stage);
/* While set (not NULL), forward_train and backward on @acts, or inference on
 * @ws, add their time to @profile. */
void pulmo_unet_activations_set_profile (PulmoUNetActivations *acts, PulmoUNetProfile *profile);
void pulmo_unet_workspace_set_profile (PulmoUNetWorkspace *ws, PulmoUNetProfile *profile);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoUNet, pulmo_unet_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoUNetActivations, pulmo_unet_activations_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoUNetWorkspace, pulmo_unet_workspace_free)

G_END_DECLS
