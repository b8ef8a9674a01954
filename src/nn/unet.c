/* unet.c: the U-Net's layers, named tensors, training forward/backward and the
 * folded inference path. The operations themselves live in conv.c, batchnorm.c,
 * pool.c, upconv.c, concat.c and activation.c; this file only wires them. */
#include "nn/unet.h"

#include "core/pulmo-error.h"
#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/concat.h"
#include "nn/conv.h"
#include "nn/init.h"
#include "nn/pool.h"
#include "nn/rng.h"
#include "nn/upconv.h"

#include <glib/gi18n-lib.h>
#include <inttypes.h>
#include <string.h>

#define MAX_DEPTH PULMO_UNET_MAX_DEPTH

/* 3×3 conv (no bias) → BN → ReLU. */
typedef struct {
  int cin, cout;
  PulmoTensor *weight, *gamma, *beta, *running_mean, *running_var;
  PulmoTensor *grad_weight, *grad_gamma, *grad_beta;
  /* Inference: the kernel scaled by BN's scale, BN's shift as bias, and
   * that kernel prepared (Winograd transform kept) for repeated passes. */
  PulmoTensor *folded_weight, *folded_bias;
  PulmoConvPrepared *prepared;
} ConvBn;

typedef struct {
  ConvBn conv[2];
} Block;

typedef struct {
  int cin, cout;
  PulmoTensor *weight, *bias, *grad_weight, *grad_bias;
} UpConv;

struct _PulmoUNet {
  PulmoUNetConfig config;
  Block enc[MAX_DEPTH + 1];   /* enc[depth] is the bottom */
  Block dec[MAX_DEPTH];
  UpConv up[MAX_DEPTH];       /* up[l]: C_{l+1} → C_l, feeding dec[l] */
  PulmoTensor *head_weight, *head_bias, *grad_head_weight, *grad_head_bias;

  GArray *params;             /* PulmoUNetParam, names owned */

  /* The folded kernels are valid while folded_version == version. */
  GMutex fold_lock;
  gint version;
  gint folded_version;
};

static int
channels (const PulmoUNetConfig *config, int level)
{
  return config->base << level;
}

/* ---- Configuration ----------------------------------------------------- */

gboolean
pulmo_unet_config_check (const PulmoUNetConfig *config, GError **error)
{
  g_return_val_if_fail (config != NULL, FALSE);

  if (config->in_channels < 1 || config->in_channels > 16)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("%d input channels (expected 1 to 16)"), config->in_channels), FALSE;
  if (config->base < 1 || config->base > 256)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("base width %d (expected 1 to 256)"), config->base), FALSE;
  if (config->depth < 1 || config->depth > MAX_DEPTH)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("depth %d (expected 1 to %d)"), config->depth, MAX_DEPTH), FALSE;
  if (config->classes < 2 || config->classes > 16)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_INVALID,
                        _("%d classes (expected 2 to 16)"), config->classes), FALSE;
  guint64 n_values = pulmo_unet_config_n_values (config);
  if (n_values > PULMO_UNET_MAX_PARAMS)
    return g_set_error (error, PULMO_ERROR, PULMO_ERROR_TOO_LARGE,
                        _("base width %d and depth %d make %" PRIu64
                        " parameters, more than Pulmo's limit of %u"),
                        config->base, config->depth, n_values, PULMO_UNET_MAX_PARAMS), FALSE;
  return TRUE;
}

/* All fields are bounded by the checks above (at most 16384 channels), so
 * these products fit comfortably in 64 bits. */
guint64
pulmo_unet_config_n_values (const PulmoUNetConfig *config)
{
  guint64 total = 0;
  guint64 cin = (guint64) config->in_channels;
  for (int l = 0; l <= config->depth; l++)
    {
      guint64 c = (guint64) channels (config, l);
      total += cin * c * 9 + 4 * c + c * c * 9 + 4 * c;       /* encoder / bottom */
      cin = c;
    }
  for (int l = 0; l < config->depth; l++)
    {
      guint64 c = (guint64) channels (config, l);
      total += 2 * c * c * 4 + c;                               /* transposed conv */
      total += 2 * c * c * 9 + 4 * c + c * c * 9 + 4 * c;      /* decoder */
    }
  total += (guint64) channels (config, 0) * config->classes + config->classes;
  return total;
}

/* ---- Named tensors ----------------------------------------------------- */

static PulmoTensor *
add_param (PulmoUNet *net, char *name, int ndim, int s0, int s1, int s2, int s3,
           PulmoTensor **grad, gboolean decay)
{
  PulmoUNetParam param = {
    .name = name, .ndim = ndim, .shape = { s0, s1, s2, s3 }, .decay = decay,
  };
  if (ndim == 4)
    param.value = pulmo_tensor_new (s0, s1, s2, s3);
  else
    param.value = pulmo_tensor_new (1, s0, 1, 1);
  if (grad != NULL)
    {
      param.grad = pulmo_tensor_new (param.value->n, param.value->c, param.value->h, param.value->w);
      *grad = param.grad;
    }
  g_array_append_val (net->params, param);
  return param.value;
}

static void
add_conv_bn (PulmoUNet *net, ConvBn *layer, const char *prefix, int index, int cin, int cout)
{
  layer->cin = cin;
  layer->cout = cout;
  layer->weight = add_param (net, g_strdup_printf ("%s.conv%d.weight", prefix, index),
                             4, cout, cin, 3, 3, &layer->grad_weight, TRUE);
  layer->gamma = add_param (net, g_strdup_printf ("%s.bn%d.weight", prefix, index),
                            1, cout, 0, 0, 0, &layer->grad_gamma, FALSE);
  layer->beta = add_param (net, g_strdup_printf ("%s.bn%d.bias", prefix, index),
                           1, cout, 0, 0, 0, &layer->grad_beta, FALSE);
  layer->running_mean = add_param (net, g_strdup_printf ("%s.bn%d.running_mean", prefix, index),
                                   1, cout, 0, 0, 0, NULL, FALSE);
  layer->running_var = add_param (net, g_strdup_printf ("%s.bn%d.running_var", prefix, index),
                                  1, cout, 0, 0, 0, NULL, FALSE);
  layer->folded_weight = pulmo_tensor_new (cout, cin, 3, 3);
  layer->folded_bias = pulmo_tensor_new (1, cout, 1, 1);
}

static void
add_block (PulmoUNet *net, Block *block, const char *prefix, int cin, int cout)
{
  add_conv_bn (net, &block->conv[0], prefix, 1, cin, cout);
  add_conv_bn (net, &block->conv[1], prefix, 2, cout, cout);
}

static void
init_conv_bn (ConvBn *layer, PulmoRng *rng)
{
  pulmo_init_he_conv (layer->weight, rng);
  for (int c = 0; c < layer->cout; c++)
    {
      layer->gamma->data[c] = 1.0f;
      layer->running_var->data[c] = 1.0f;
    }
}

PulmoUNet *
pulmo_unet_new_empty (const PulmoUNetConfig *config)
{
  g_return_val_if_fail (pulmo_unet_config_check (config, NULL), NULL);

  PulmoUNet *net = g_new0 (PulmoUNet, 1);
  net->config = *config;
  net->params = g_array_new (FALSE, TRUE, sizeof (PulmoUNetParam));
  g_mutex_init (&net->fold_lock);
  net->folded_version = -1;

  int depth = config->depth;
  int cin = config->in_channels;
  for (int l = 0; l <= depth; l++)
    {
      g_autofree char *prefix = l < depth ? g_strdup_printf ("enc%d", l) : g_strdup ("bottom");
      add_block (net, &net->enc[l], prefix, cin, channels (config, l));
      cin = channels (config, l);
    }
  for (int l = depth - 1; l >= 0; l--)
    {
      int c = channels (config, l);
      UpConv *up = &net->up[l];
      up->cin = 2 * c;
      up->cout = c;
      up->weight = add_param (net, g_strdup_printf ("dec%d.up.weight", l),
                              4, 2 * c, c, 2, 2, &up->grad_weight, TRUE);
      up->bias = add_param (net, g_strdup_printf ("dec%d.up.bias", l),
                            1, c, 0, 0, 0, &up->grad_bias, FALSE);
      g_autofree char *prefix = g_strdup_printf ("dec%d", l);
      add_block (net, &net->dec[l], prefix, 2 * c, c);
    }
  net->head_weight = add_param (net, g_strdup ("head.weight"), 4, config->classes,
                                channels (config, 0), 1, 1, &net->grad_head_weight, TRUE);
  net->head_bias = add_param (net, g_strdup ("head.bias"), 1, config->classes, 0, 0, 0,
                              &net->grad_head_bias, FALSE);
  return net;
}

PulmoUNet *
pulmo_unet_new (const PulmoUNetConfig *config, guint64 seed)
{
  PulmoUNet *net = pulmo_unet_new_empty (config);
  if (net == NULL)
    return NULL;
  int depth = config->depth;

  /* Initialise in forward order so the seed fixes every number. */
  PulmoRng rng;
  pulmo_rng_init (&rng, seed);
  for (int l = 0; l <= depth; l++)
    for (int k = 0; k < 2; k++)
      init_conv_bn (&net->enc[l].conv[k], &rng);
  for (int l = depth - 1; l >= 0; l--)
    {
      pulmo_init_he_upconv (net->up[l].weight, net->up[l].cin, &rng);
      for (int k = 0; k < 2; k++)
        init_conv_bn (&net->dec[l].conv[k], &rng);
    }
  pulmo_init_he_conv (net->head_weight, &rng);
  return net;
}

static void
free_conv_bn (ConvBn *layer)
{
  g_clear_pointer (&layer->prepared, pulmo_conv2d_prepared_free);
  pulmo_tensor_free (layer->folded_weight);
  pulmo_tensor_free (layer->folded_bias);
}

void
pulmo_unet_free (PulmoUNet *net)
{
  if (net == NULL)
    return;
  for (guint i = 0; i < net->params->len; i++)
    {
      PulmoUNetParam *param = &g_array_index (net->params, PulmoUNetParam, i);
      g_free ((char *) param->name);
      pulmo_tensor_free (param->value);
      pulmo_tensor_free (param->grad);
    }
  g_array_free (net->params, TRUE);
  for (int l = 0; l <= net->config.depth; l++)
    for (int k = 0; k < 2; k++)
      free_conv_bn (&net->enc[l].conv[k]);
  for (int l = 0; l < net->config.depth; l++)
    for (int k = 0; k < 2; k++)
      free_conv_bn (&net->dec[l].conv[k]);
  g_mutex_clear (&net->fold_lock);
  g_free (net);
}

const PulmoUNetConfig *
pulmo_unet_get_config (const PulmoUNet *net)
{
  return &net->config;
}

const PulmoUNetParam *
pulmo_unet_get_params (const PulmoUNet *net, int *n_params)
{
  *n_params = (int) net->params->len;
  return (const PulmoUNetParam *) net->params->data;
}

const PulmoUNetParam *
pulmo_unet_find_param (const PulmoUNet *net, const char *name)
{
  for (guint i = 0; i < net->params->len; i++)
    {
      const PulmoUNetParam *param = &g_array_index (net->params, PulmoUNetParam, i);
      if (strcmp (param->name, name) == 0)
        return param;
    }
  return NULL;
}

guint64
pulmo_unet_n_trainable (const PulmoUNet *net)
{
  guint64 total = 0;
  for (guint i = 0; i < net->params->len; i++)
    {
      const PulmoUNetParam *param = &g_array_index (net->params, PulmoUNetParam, i);
      if (param->grad != NULL)
        total += pulmo_tensor_numel (param->value);
    }
  return total;
}

double
pulmo_unet_macs (const PulmoUNet *net, int height, int width)
{
  const PulmoUNetConfig *config = &net->config;
  double macs = 0;
  for (int l = 0; l <= config->depth; l++)
    {
      double pixels = (double) (height >> l) * (width >> l);
      for (int k = 0; k < 2; k++)
        macs += 9.0 * net->enc[l].conv[k].cin * net->enc[l].conv[k].cout * pixels;
      if (l < config->depth)
        {
          for (int k = 0; k < 2; k++)
            macs += 9.0 * net->dec[l].conv[k].cin * net->dec[l].conv[k].cout * pixels;
          /* Each input pixel of the transposed conv paints 4 output pixels. */
          macs += 4.0 * net->up[l].cin * net->up[l].cout * pixels / 4.0;
        }
    }
  macs += (double) channels (config, 0) * config->classes * height * width;
  return macs;
}

gboolean
pulmo_unet_size_ok (const PulmoUNet *net, int height, int width)
{
  int step = 1 << net->config.depth;
  return height > 0 && width > 0 && height % step == 0 && width % step == 0;
}

void
pulmo_unet_weights_changed (PulmoUNet *net)
{
  g_atomic_int_inc (&net->version);
}

/* ---- Profiling --------------------------------------------------------- */

const char *
pulmo_unet_stage_name (PulmoUNetStage stage)
{
  static const char *const names[PULMO_UNET_N_STAGES] = {
    [PULMO_UNET_STAGE_CONV] = "convolution forward",
    [PULMO_UNET_STAGE_CONV_BACKWARD] = "convolution backward",
    [PULMO_UNET_STAGE_BATCHNORM] = "batch norm + ReLU",
    [PULMO_UNET_STAGE_POOL] = "max-pool",
    [PULMO_UNET_STAGE_UPCONV] = "transposed convolution",
    [PULMO_UNET_STAGE_CONCAT] = "concat",
  };
  g_return_val_if_fail (stage < PULMO_UNET_N_STAGES, "");
  return names[stage];
}

/* Runs @statement and, when @owner (activations or workspace) is profiling,
 * adds its time to @stage and to the owner's current level. */
#define TIMED(owner, stage, statement)                                        \
  do                                                                          \
    {                                                                         \
      gint64 timed_start_ = (owner)->profile ? g_get_monotonic_time () : 0;   \
      statement;                                                              \
      if ((owner)->profile)                                                   \
        {                                                                     \
          double timed_s_ = (g_get_monotonic_time () - timed_start_) * 1e-6;  \
          (owner)->profile->seconds[stage] += timed_s_;                       \
          (owner)->profile->level_seconds[(owner)->level] += timed_s_;        \
        }                                                                     \
    }                                                                         \
  while (0)

/* ---- Training ---------------------------------------------------------- */

typedef struct {
  PulmoTensor *conv_out;     /* BN input */
  PulmoTensor *out;          /* after BN and ReLU */
  float *save_mean, *save_inv_std;
} ConvBnActs;

typedef struct {
  ConvBnActs conv[2];
} BlockActs;

struct _PulmoUNetActivations {
  int batch, height, width, depth;
  BlockActs enc[MAX_DEPTH + 1], dec[MAX_DEPTH];
  PulmoTensor *pooled[MAX_DEPTH];
  guint8 *argmax[MAX_DEPTH];
  PulmoTensor *up[MAX_DEPTH], *cat[MAX_DEPTH];
  PulmoTensor *logits;
  const PulmoTensor *input;   /* borrowed from the last forward_train */

  /* Gradients, per level: of a block's output, of its middle activation, of
   * the concat, skip and up-sampled halves, and of the pooled map. */
  PulmoTensor *grad_out[MAX_DEPTH + 1], *grad_mid[MAX_DEPTH + 1];
  PulmoTensor *grad_cat[MAX_DEPTH], *grad_skip[MAX_DEPTH], *grad_up[MAX_DEPTH];
  PulmoTensor *grad_pooled[MAX_DEPTH];

  PulmoUNetProfile *profile;
  int level;                  /* for the profile */
};

static void
conv_bn_acts_init (ConvBnActs *acts, int n, int c, int h, int w)
{
  acts->conv_out = pulmo_tensor_new (n, c, h, w);
  acts->out = pulmo_tensor_new (n, c, h, w);
  acts->save_mean = g_new0 (float, c);
  acts->save_inv_std = g_new0 (float, c);
}

static void
conv_bn_acts_clear (ConvBnActs *acts)
{
  pulmo_tensor_free (acts->conv_out);
  pulmo_tensor_free (acts->out);
  g_free (acts->save_mean);
  g_free (acts->save_inv_std);
}

PulmoUNetActivations *
pulmo_unet_activations_new (const PulmoUNet *net, int batch, int height, int width)
{
  g_return_val_if_fail (net != NULL && batch > 0, NULL);
  g_return_val_if_fail (pulmo_unet_size_ok (net, height, width), NULL);
  /* BN needs at least two numbers per channel at the bottom. */
  g_return_val_if_fail ((gint64) batch * (height >> net->config.depth) * (width >> net->config.depth) >= 2, NULL);

  const PulmoUNetConfig *config = &net->config;
  PulmoUNetActivations *acts = g_new0 (PulmoUNetActivations, 1);
  acts->batch = batch;
  acts->height = height;
  acts->width = width;
  acts->depth = config->depth;
  for (int l = 0; l <= config->depth; l++)
    {
      int c = channels (config, l), h = height >> l, w = width >> l;
      for (int k = 0; k < 2; k++)
        conv_bn_acts_init (&acts->enc[l].conv[k], batch, c, h, w);
      acts->grad_out[l] = pulmo_tensor_new (batch, c, h, w);
      acts->grad_mid[l] = pulmo_tensor_new (batch, c, h, w);
      if (l == config->depth)
        continue;
      for (int k = 0; k < 2; k++)
        conv_bn_acts_init (&acts->dec[l].conv[k], batch, c, h, w);
      acts->pooled[l] = pulmo_tensor_new (batch, c, h / 2, w / 2);
      acts->argmax[l] = g_new0 (guint8, (gsize) batch * c * (h / 2) * (w / 2));
      acts->up[l] = pulmo_tensor_new (batch, c, h, w);
      acts->cat[l] = pulmo_tensor_new (batch, 2 * c, h, w);
      acts->grad_cat[l] = pulmo_tensor_new (batch, 2 * c, h, w);
      acts->grad_skip[l] = pulmo_tensor_new (batch, c, h, w);
      acts->grad_up[l] = pulmo_tensor_new (batch, c, h, w);
      acts->grad_pooled[l] = pulmo_tensor_new (batch, c, h / 2, w / 2);
    }
  acts->logits = pulmo_tensor_new (batch, config->classes, height, width);
  return acts;
}

void
pulmo_unet_activations_free (PulmoUNetActivations *acts)
{
  if (acts == NULL)
    return;
  for (int l = 0; l <= acts->depth; l++)
    {
      for (int k = 0; k < 2; k++)
        conv_bn_acts_clear (&acts->enc[l].conv[k]);
      pulmo_tensor_free (acts->grad_out[l]);
      pulmo_tensor_free (acts->grad_mid[l]);
      if (l == acts->depth)
        continue;
      for (int k = 0; k < 2; k++)
        conv_bn_acts_clear (&acts->dec[l].conv[k]);
      pulmo_tensor_free (acts->pooled[l]);
      g_free (acts->argmax[l]);
      pulmo_tensor_free (acts->up[l]);
      pulmo_tensor_free (acts->cat[l]);
      pulmo_tensor_free (acts->grad_cat[l]);
      pulmo_tensor_free (acts->grad_skip[l]);
      pulmo_tensor_free (acts->grad_up[l]);
      pulmo_tensor_free (acts->grad_pooled[l]);
    }
  pulmo_tensor_free (acts->logits);
  g_free (acts);
}

void
pulmo_unet_activations_set_profile (PulmoUNetActivations *acts, PulmoUNetProfile *profile)
{
  acts->profile = profile;
}

static void
conv_bn_forward_train (PulmoUNetActivations *acts, ConvBn *layer, ConvBnActs *la,
                       const PulmoTensor *input)
{
  TIMED (acts, PULMO_UNET_STAGE_CONV,
         pulmo_conv2d_forward (input, layer->weight, NULL, FALSE, la->conv_out));
  TIMED (acts, PULMO_UNET_STAGE_BATCHNORM,
         pulmo_batchnorm_forward_train (la->conv_out, layer->gamma->data, layer->beta->data,
                                        layer->running_mean->data, layer->running_var->data,
                                        PULMO_BATCHNORM_MOMENTUM, PULMO_BATCHNORM_EPS, TRUE,
                                        la->out, la->save_mean, la->save_inv_std));
}

/* @grad_out (gradient of the layer's output) is used as scratch. */
static void
conv_bn_backward (PulmoUNetActivations *acts, ConvBn *layer, ConvBnActs *la,
                  const PulmoTensor *input, PulmoTensor *grad_out, PulmoTensor *grad_input)
{
  TIMED (acts, PULMO_UNET_STAGE_BATCHNORM, {
    pulmo_relu_backward (la->out, grad_out, grad_out);
    pulmo_batchnorm_backward (la->conv_out, grad_out, layer->gamma->data, la->save_mean,
                              la->save_inv_std, grad_out, layer->grad_gamma->data,
                              layer->grad_beta->data);
  });
  TIMED (acts, PULMO_UNET_STAGE_CONV_BACKWARD,
         pulmo_conv2d_backward (input, layer->weight, grad_out, grad_input,
                                layer->grad_weight, NULL));
}

const PulmoTensor *
pulmo_unet_forward_train (PulmoUNet *net, PulmoUNetActivations *acts, const PulmoTensor *input)
{
  const PulmoUNetConfig *config = &net->config;
  g_return_val_if_fail (input->n == acts->batch && input->c == config->in_channels &&
                        input->h == acts->height && input->w == acts->width, NULL);
  g_return_val_if_fail (acts->depth == config->depth, NULL);

  int depth = config->depth;
  acts->input = input;
  const PulmoTensor *x = input;
  for (int l = 0; l <= depth; l++)
    {
      acts->level = l;
      for (int k = 0; k < 2; k++)
        {
          conv_bn_forward_train (acts, &net->enc[l].conv[k], &acts->enc[l].conv[k], x);
          x = acts->enc[l].conv[k].out;
        }
      if (l < depth)
        {
          TIMED (acts, PULMO_UNET_STAGE_POOL,
                 pulmo_maxpool2_forward (x, acts->pooled[l], acts->argmax[l]));
          x = acts->pooled[l];
        }
    }
  for (int l = depth - 1; l >= 0; l--)
    {
      acts->level = l;
      TIMED (acts, PULMO_UNET_STAGE_UPCONV,
             pulmo_upconv2_forward (x, net->up[l].weight->data, net->up[l].bias->data,
                                    acts->up[l]));
      TIMED (acts, PULMO_UNET_STAGE_CONCAT,
             pulmo_concat_forward (acts->enc[l].conv[1].out, acts->up[l], acts->cat[l]));
      x = acts->cat[l];
      for (int k = 0; k < 2; k++)
        {
          conv_bn_forward_train (acts, &net->dec[l].conv[k], &acts->dec[l].conv[k], x);
          x = acts->dec[l].conv[k].out;
        }
    }
  TIMED (acts, PULMO_UNET_STAGE_CONV,
         pulmo_conv2d_forward (x, net->head_weight, net->head_bias, FALSE, acts->logits));
  /* The running statistics changed. */
  pulmo_unet_weights_changed (net);
  return acts->logits;
}

/* Backward through a block whose output gradient is in @grad_out (consumed);
 * the gradient of its input goes to @grad_input (NULL: not needed). */
static void
block_backward (PulmoUNetActivations *acts, Block *block, BlockActs *ba, const PulmoTensor *input,
                PulmoTensor *grad_out, PulmoTensor *grad_mid, PulmoTensor *grad_input)
{
  conv_bn_backward (acts, &block->conv[1], &ba->conv[1], ba->conv[0].out, grad_out, grad_mid);
  conv_bn_backward (acts, &block->conv[0], &ba->conv[0], input, grad_mid, grad_input);
}

void
pulmo_unet_backward (PulmoUNet *net, PulmoUNetActivations *acts, const PulmoTensor *grad_logits)
{
  const PulmoUNetConfig *config = &net->config;
  g_return_if_fail (acts->input != NULL);
  g_return_if_fail (grad_logits->n == acts->logits->n && grad_logits->c == acts->logits->c &&
                    grad_logits->h == acts->logits->h && grad_logits->w == acts->logits->w);

  int depth = config->depth;
  acts->level = 0;
  TIMED (acts, PULMO_UNET_STAGE_CONV_BACKWARD,
         pulmo_conv2d_backward (acts->dec[0].conv[1].out, net->head_weight, grad_logits,
                                acts->grad_out[0], net->grad_head_weight, net->grad_head_bias));
  for (int l = 0; l < depth; l++)
    {
      acts->level = l;
      block_backward (acts, &net->dec[l], &acts->dec[l], acts->cat[l],
                      acts->grad_out[l], acts->grad_mid[l], acts->grad_cat[l]);
      TIMED (acts, PULMO_UNET_STAGE_CONCAT,
             pulmo_concat_backward (acts->grad_cat[l], acts->grad_skip[l], acts->grad_up[l], FALSE));
      const PulmoTensor *below = l + 1 < depth ? acts->dec[l + 1].conv[1].out
                                               : acts->enc[depth].conv[1].out;
      TIMED (acts, PULMO_UNET_STAGE_UPCONV,
             pulmo_upconv2_backward (below, net->up[l].weight->data, acts->grad_up[l],
                                     acts->grad_out[l + 1], net->up[l].grad_weight->data,
                                     net->up[l].grad_bias->data));
    }
  /* Bottom, then the encoder upwards: each level's output gradient is its
   * skip's gradient plus what the max-pool routes back. */
  PulmoTensor *grad_out = acts->grad_out[depth];
  for (int l = depth; l >= 0; l--)
    {
      const PulmoTensor *input = l > 0 ? acts->pooled[l - 1] : acts->input;
      PulmoTensor *grad_input = l > 0 ? acts->grad_pooled[l - 1] : NULL;
      acts->level = l;
      block_backward (acts, &net->enc[l], &acts->enc[l], input, grad_out, acts->grad_mid[l],
                      grad_input);
      if (l > 0)
        {
          TIMED (acts, PULMO_UNET_STAGE_POOL,
                 pulmo_maxpool2_backward (acts->grad_pooled[l - 1], acts->argmax[l - 1],
                                          acts->grad_skip[l - 1], TRUE));
          grad_out = acts->grad_skip[l - 1];
        }
    }
}

void
pulmo_unet_zero_grad (PulmoUNet *net)
{
  for (guint i = 0; i < net->params->len; i++)
    {
      PulmoUNetParam *param = &g_array_index (net->params, PulmoUNetParam, i);
      if (param->grad != NULL)
        pulmo_tensor_zero (param->grad);
    }
}

PulmoAdamW *
pulmo_unet_adamw_new (PulmoUNet *net, const PulmoAdamWConfig *config)
{
  g_autoptr (GArray) refs = g_array_new (FALSE, FALSE, sizeof (PulmoParamRef));
  for (guint i = 0; i < net->params->len; i++)
    {
      PulmoUNetParam *param = &g_array_index (net->params, PulmoUNetParam, i);
      if (param->grad == NULL)
        continue;
      PulmoParamRef ref = { param->value, param->grad, param->decay };
      g_array_append_val (refs, ref);
    }
  return pulmo_adamw_new ((PulmoParamRef *) refs->data, (int) refs->len, config);
}

void
pulmo_unet_adamw_step (PulmoUNet *net, PulmoAdamW *optim)
{
  pulmo_adamw_step (optim);
  pulmo_unet_weights_changed (net);
}

/* ---- Inference --------------------------------------------------------- */

/* Per level l < depth, cat[l] holds [skip ; up-sampled] (2·C_l channels): the
 * encoder writes its output straight into the first half and the transposed
 * conv into the second, so the concat costs nothing; the decoder's output
 * then reuses the first half. mid[l] holds the first conv's output of both
 * blocks at level l, pooled[l] the pooled skip, bottom the bottom's output. */
struct _PulmoUNetWorkspace {
  int height, width, depth;
  PulmoTensor *cat[MAX_DEPTH], *mid[MAX_DEPTH + 1], *pooled[MAX_DEPTH], *bottom;
  PulmoUNetProfile *profile;
  int level;                  /* for the profile */
};

PulmoUNetWorkspace *
pulmo_unet_workspace_new (const PulmoUNet *net, int height, int width)
{
  g_return_val_if_fail (net != NULL && pulmo_unet_size_ok (net, height, width), NULL);

  const PulmoUNetConfig *config = &net->config;
  PulmoUNetWorkspace *ws = g_new0 (PulmoUNetWorkspace, 1);
  ws->height = height;
  ws->width = width;
  ws->depth = config->depth;
  for (int l = 0; l <= config->depth; l++)
    {
      int c = channels (config, l), h = height >> l, w = width >> l;
      ws->mid[l] = pulmo_tensor_new (1, c, h, w);
      if (l < config->depth)
        {
          ws->cat[l] = pulmo_tensor_new (1, 2 * c, h, w);
          ws->pooled[l] = pulmo_tensor_new (1, c, h / 2, w / 2);
        }
      else
        ws->bottom = pulmo_tensor_new (1, c, h, w);
    }
  return ws;
}

void
pulmo_unet_workspace_free (PulmoUNetWorkspace *ws)
{
  if (ws == NULL)
    return;
  for (int l = 0; l <= ws->depth; l++)
    {
      pulmo_tensor_free (ws->mid[l]);
      if (l < ws->depth)
        {
          pulmo_tensor_free (ws->cat[l]);
          pulmo_tensor_free (ws->pooled[l]);
        }
    }
  pulmo_tensor_free (ws->bottom);
  g_free (ws);
}

void
pulmo_unet_workspace_set_profile (PulmoUNetWorkspace *ws, PulmoUNetProfile *profile)
{
  ws->profile = profile;
}

/* A tensor header over @channels channels of @whole starting at @first. */
static PulmoTensor
channel_view (const PulmoTensor *whole, int first, int n_channels)
{
  return (PulmoTensor) { 1, n_channels, whole->h, whole->w, pulmo_tensor_plane (whole, 0, first) };
}

static void
conv_bn_infer (PulmoUNetWorkspace *ws, const ConvBn *layer, gboolean folded,
               const PulmoTensor *input, PulmoTensor *output)
{
  if (folded)
    {
      TIMED (ws, PULMO_UNET_STAGE_CONV,
             pulmo_conv2d_forward_prepared (input, layer->prepared, layer->folded_bias, TRUE,
                                            output));
      return;
    }
  TIMED (ws, PULMO_UNET_STAGE_CONV,
         pulmo_conv2d_forward (input, layer->weight, NULL, FALSE, output));
  TIMED (ws, PULMO_UNET_STAGE_BATCHNORM, {
    pulmo_batchnorm_forward_infer (output, layer->gamma->data, layer->beta->data,
                                   layer->running_mean->data, layer->running_var->data,
                                   PULMO_BATCHNORM_EPS, output);
    pulmo_relu_forward (output, output);
  });
}

static void
infer_sample (const PulmoUNet *net, PulmoUNetWorkspace *ws, gboolean folded,
              const PulmoTensor *input, PulmoTensor *logits)
{
  int depth = net->config.depth;
  PulmoTensor x = *input;
  PulmoTensor skip[MAX_DEPTH], decoded;

  for (int l = 0; l < depth; l++)
    {
      int c = channels (&net->config, l);
      ws->level = l;
      skip[l] = channel_view (ws->cat[l], 0, c);
      conv_bn_infer (ws, &net->enc[l].conv[0], folded, &x, ws->mid[l]);
      conv_bn_infer (ws, &net->enc[l].conv[1], folded, ws->mid[l], &skip[l]);
      TIMED (ws, PULMO_UNET_STAGE_POOL, pulmo_maxpool2_forward (&skip[l], ws->pooled[l], NULL));
      x = *ws->pooled[l];
    }
  ws->level = depth;
  conv_bn_infer (ws, &net->enc[depth].conv[0], folded, &x, ws->mid[depth]);
  conv_bn_infer (ws, &net->enc[depth].conv[1], folded, ws->mid[depth], ws->bottom);
  decoded = *ws->bottom;
  for (int l = depth - 1; l >= 0; l--)
    {
      int c = channels (&net->config, l);
      PulmoTensor up = channel_view (ws->cat[l], c, c);
      ws->level = l;
      TIMED (ws, PULMO_UNET_STAGE_UPCONV,
             pulmo_upconv2_forward (&decoded, net->up[l].weight->data, net->up[l].bias->data, &up));
      conv_bn_infer (ws, &net->dec[l].conv[0], folded, ws->cat[l], ws->mid[l]);
      conv_bn_infer (ws, &net->dec[l].conv[1], folded, ws->mid[l], &skip[l]);
      decoded = skip[l];
    }
  TIMED (ws, PULMO_UNET_STAGE_CONV,
         pulmo_conv2d_forward (&decoded, net->head_weight, net->head_bias, FALSE, logits));
}

static void
fold_conv_bn (ConvBn *layer)
{
  g_autofree float *scale = g_new (float, layer->cout);
  pulmo_batchnorm_fold (layer->cout, layer->gamma->data, layer->beta->data,
                        layer->running_mean->data, layer->running_var->data,
                        PULMO_BATCHNORM_EPS, scale, layer->folded_bias->data);
  size_t per_output = (size_t) layer->cin * 9;
  for (int o = 0; o < layer->cout; o++)
    for (size_t i = 0; i < per_output; i++)
      layer->folded_weight->data[o * per_output + i] =
        layer->weight->data[o * per_output + i] * scale[o];
  /* The previous preparation holds the transform of the previous kernel. */
  g_clear_pointer (&layer->prepared, pulmo_conv2d_prepared_free);
  layer->prepared = pulmo_conv2d_prepare (layer->folded_weight);
}

static void
ensure_folded (PulmoUNet *net)
{
  g_mutex_lock (&net->fold_lock);
  int version = g_atomic_int_get (&net->version);
  if (net->folded_version != version)
    {
      for (int l = 0; l <= net->config.depth; l++)
        for (int k = 0; k < 2; k++)
          {
            fold_conv_bn (&net->enc[l].conv[k]);
            if (l < net->config.depth)
              fold_conv_bn (&net->dec[l].conv[k]);
          }
      net->folded_version = version;
    }
  g_mutex_unlock (&net->fold_lock);
}

static gboolean
infer_shapes_ok (const PulmoUNet *net, const PulmoUNetWorkspace *ws,
                 const PulmoTensor *input, const PulmoTensor *logits)
{
  return ws->depth == net->config.depth && input->c == net->config.in_channels &&
         input->h == ws->height && input->w == ws->width && logits->n == input->n &&
         logits->c == net->config.classes && logits->h == ws->height && logits->w == ws->width;
}

static void
infer_all (const PulmoUNet *net, PulmoUNetWorkspace *ws, gboolean folded,
           const PulmoTensor *input, PulmoTensor *logits)
{
  for (int n = 0; n < input->n; n++)
    {
      PulmoTensor in = { 1, input->c, input->h, input->w, pulmo_tensor_plane (input, n, 0) };
      PulmoTensor out = { 1, logits->c, logits->h, logits->w, pulmo_tensor_plane (logits, n, 0) };
      infer_sample (net, ws, folded, &in, &out);
    }
}

void
pulmo_unet_infer (PulmoUNet *net, PulmoUNetWorkspace *ws, const PulmoTensor *input,
                  PulmoTensor *logits)
{
  g_return_if_fail (infer_shapes_ok (net, ws, input, logits));
  ensure_folded (net);
  infer_all (net, ws, TRUE, input, logits);
}

void
pulmo_unet_forward_eval (const PulmoUNet *net, PulmoUNetWorkspace *ws, const PulmoTensor *input,
                         PulmoTensor *logits)
{
  g_return_if_fail (infer_shapes_ok (net, ws, input, logits));
  infer_all (net, ws, FALSE, input, logits);
}
