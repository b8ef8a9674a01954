/* loss.c: weighted partial-label cross-entropy plus batch soft Dice, from
 * logits (see loss.h for the definitions).
 *
 * Two passes over runs of pixels: the first computes the softmax and sums the
 * cross-entropy and the per-class Dice terms (partial sums per run, added in
 * run order so the result does not depend on the threads), leaving the
 * probabilities in dlogits; the second, given the totals, turns them into the
 * gradient. */
#include "nn/loss.h"

#include <math.h>
#include <string.h>

#include "nn/parallel.h"

/* Pixels per run: the per-run working set lives on the stack. */
#define RUN_PIXELS 256

/* Partial sums of one run: CE numerator, Σ w(S), labelled pixels, then per
 * class Σ p·t, Σ p, Σ t and the count of the pixels where the class is known. */
#define SUM_CE 0
#define SUM_WEIGHT 1
#define SUM_LABELLED 2
#define SUM_INTER 0
#define SUM_PRED 1
#define SUM_TARGET 2
#define SUM_KNOWN 3
#define SUM_CLASS(k, c) (3 + 4 * (c) + (k))
#define N_SUMS(n_classes) (3 + 4 * (n_classes))

typedef struct {
  const PulmoTensor *logits;
  const uint16_t *masks;
  PulmoTensor *dlogits;
  int n_classes;
  uint16_t all;              /* every class allowed */
  float weight[PULMO_LOSS_MAX_CLASSES];
  int runs_per_sample;
  double *sums;              /* pass 1: N_SUMS per item */
  /* pass 2 */
  float ce_scale;            /* ce_weight / Σ w(S) */
  float dice_a[PULMO_LOSS_MAX_CLASSES];  /* dL/dp = a·t + b where known */
  float dice_b[PULMO_LOSS_MAX_CLASSES];
} LossJob;

/* Below this, the sum over the allowed set of exp (z_c - max) (or of the
 * probabilities) is recomputed about the set's own maximum: the allowed classes
 * are then so unlikely (-log P(S) > 69) that their terms may have underflowed. */
#define SET_SUM_FLOOR 1e-30f

/* One run of pixels: the masks turned into numbers, and the probabilities.
 * mask[i] is the pixel's allowed set cut to the model's classes. */
typedef struct {
  int n;           /* sample */
  size_t p0;       /* first pixel in the plane */
  int len;
  uint16_t mask[RUN_PIXELS];
  float labelled[RUN_PIXELS];      /* 1 when the pixel takes part */
  float set_weight[RUN_PIXELS];    /* w(S) */
  /* Dice: 1 where membership in c is known, and then the target (0 or 1).
   * As numbers rather than branches: masks vary from pixel to pixel. */
  float known[PULMO_LOSS_MAX_CLASSES][RUN_PIXELS];
  float target[PULMO_LOSS_MAX_CLASSES][RUN_PIXELS];
  float prob[PULMO_LOSS_MAX_CLASSES][RUN_PIXELS];
} LossRun;

static void
load_masks (const LossJob *job, int item, LossRun *run)
{
  size_t plane = (size_t) job->logits->h * job->logits->w;
  run->n = item / job->runs_per_sample;
  run->p0 = (size_t) (item % job->runs_per_sample) * RUN_PIXELS;
  int len = run->len = (int) MIN ((size_t) RUN_PIXELS, plane - run->p0);
  const uint16_t *masks = job->masks + (size_t) run->n * plane + run->p0;
  float n_allowed[RUN_PIXELS];

  for (int i = 0; i < len; i++)
    {
      unsigned m = run->mask[i] = masks[i] & job->all;
      run->labelled[i] = (float) ((m != 0) & (m != job->all));
      run->set_weight[i] = 0.0f;
      n_allowed[i] = 0.0f;
    }
  for (int c = 0; c < job->n_classes; c++)
    {
      unsigned only_c = 1u << c;
      for (int i = 0; i < len; i++)
        {
          unsigned m = run->mask[i];
          float allowed = (float) ((m >> c) & 1);
          float t = (float) (m == only_c);
          run->set_weight[i] += allowed * job->weight[c];
          n_allowed[i] += allowed;
          /* known: c alone (t = 1) or c excluded, on a labelled pixel. */
          run->known[c][i] = run->labelled[i] * (t + 1.0f - allowed);
          run->target[c][i] = t;
        }
    }
  for (int i = 0; i < len; i++)
    run->set_weight[i] = n_allowed[i] > 0.0f ? run->set_weight[i] / n_allowed[i] : 0.0f;
}

/* log Σ_{c∈S} exp z_c for one pixel, about the set's own maximum, and
 * optionally q_c = exp z_c / Σ_{S} exp z (0 outside S): the rare pixel whose
 * allowed classes all lie far below the most likely one. */
static float
far_set (const LossJob *job, int n, size_t p, unsigned mask, float *q)
{
  float set_max = -INFINITY;
  for (int c = 0; c < job->n_classes; c++)
    if ((mask >> c) & 1)
      set_max = MAX (set_max, pulmo_tensor_plane (job->logits, n, c)[p]);
  float e[PULMO_LOSS_MAX_CLASSES], set_sum = 0.0f;
  for (int c = 0; c < job->n_classes; c++)
    {
      e[c] = ((mask >> c) & 1) ? expf (pulmo_tensor_plane (job->logits, n, c)[p] - set_max) : 0.0f;
      set_sum += e[c];
    }
  for (int c = 0; q != NULL && c < job->n_classes; c++)
    q[c] = e[c] / set_sum;
  return set_max + logf (set_sum);
}

/* Pass 1 for one run: the softmax into run->prob (and into dlogits, if
 * given, for pass 2) and ce[i] = -log Σ_{c∈S} p_c. One exponential per class
 * and pixel serves both. */
static void
softmax_run (const LossJob *job, LossRun *run, float *ce)
{
  int len = run->len;
  float max[RUN_PIXELS], sum[RUN_PIXELS], set_sum[RUN_PIXELS];

  for (int i = 0; i < len; i++)
    {
      max[i] = -INFINITY;
      sum[i] = 0.0f;
      set_sum[i] = 0.0f;
    }
  for (int c = 0; c < job->n_classes; c++)
    {
      const float *z = pulmo_tensor_plane (job->logits, run->n, c) + run->p0;
      for (int i = 0; i < len; i++)
        max[i] = z[i] > max[i] ? z[i] : max[i];
    }
  for (int c = 0; c < job->n_classes; c++)
    {
      const float *z = pulmo_tensor_plane (job->logits, run->n, c) + run->p0;
      float *e = run->prob[c];
      for (int i = 0; i < len; i++)
        {
          e[i] = expf (z[i] - max[i]);
          sum[i] += e[i];
          set_sum[i] += (float) ((run->mask[i] >> c) & 1) * e[i];
        }
    }
  for (int i = 0; i < len; i++)
    {
      /* -log P(S) = log (Σ_c e^z / Σ_{S} e^z), both relative to the maximum. */
      ce[i] = logf (sum[i] / MAX (set_sum[i], SET_SUM_FLOOR));
      if (set_sum[i] < SET_SUM_FLOOR && run->labelled[i] != 0.0f)
        ce[i] = max[i] + logf (sum[i]) - far_set (job, run->n, run->p0 + i, run->mask[i], NULL);
      sum[i] = 1.0f / sum[i];
    }
  for (int c = 0; c < job->n_classes; c++)
    {
      float *p = run->prob[c];
      for (int i = 0; i < len; i++)
        p[i] *= sum[i];
      if (job->dlogits != NULL)
        memcpy (pulmo_tensor_plane (job->dlogits, run->n, c) + run->p0, p, len * sizeof (float));
    }
}

static void
loss_sum_runs (void *data, int begin, int end, int worker)
{
  const LossJob *job = data;
  LossRun run;
  float ce_pixel[RUN_PIXELS];

  for (int item = begin; item < end; item++)
    {
      double *sums = job->sums + (size_t) item * N_SUMS (job->n_classes);
      load_masks (job, item, &run);
      softmax_run (job, &run, ce_pixel);

      double ce = 0.0, weight = 0.0, count = 0.0;
      for (int i = 0; i < run.len; i++)
        if (run.labelled[i] != 0.0f)
          {
            ce += (double) run.set_weight[i] * ce_pixel[i];
            weight += run.set_weight[i];
            count += 1.0;
          }
      sums[SUM_CE] = ce;
      sums[SUM_WEIGHT] = weight;
      sums[SUM_LABELLED] = count;

      for (int c = 0; c < job->n_classes; c++)
        {
          float inter = 0.0f, pred = 0.0f, target = 0.0f, n_known = 0.0f;
          const float *p = run.prob[c], *known = run.known[c], *t = run.target[c];
          for (int i = 0; i < run.len; i++)
            {
              inter += known[i] * p[i] * t[i];
              pred += known[i] * p[i];
              target += known[i] * t[i];
              n_known += known[i];
            }
          sums[SUM_CLASS (SUM_INTER, c)] = inter;
          sums[SUM_CLASS (SUM_PRED, c)] = pred;
          sums[SUM_CLASS (SUM_TARGET, c)] = target;
          sums[SUM_CLASS (SUM_KNOWN, c)] = n_known;
        }
    }
}

/* Pass 2: the probabilities come back from dlogits, where pass 1 left them,
 * and the gradient replaces them. */
static void
loss_gradient_runs (void *data, int begin, int end, int worker)
{
  const LossJob *job = data;
  LossRun run;
  float set_prob[PULMO_LOSS_MAX_CLASSES][RUN_PIXELS]; /* q_c = p_c / Σ_{S} p, 0 outside S */
  float grad[PULMO_LOSS_MAX_CLASSES][RUN_PIXELS];     /* Dice: dL/dp_c */
  float set_sum[RUN_PIXELS], inv_set_sum[RUN_PIXELS], dot[RUN_PIXELS];

  for (int item = begin; item < end; item++)
    {
      load_masks (job, item, &run);
      for (int c = 0; c < job->n_classes; c++)
        memcpy (run.prob[c], pulmo_tensor_plane (job->dlogits, run.n, c) + run.p0,
                run.len * sizeof (float));

      for (int i = 0; i < run.len; i++)
        set_sum[i] = dot[i] = 0.0f;
      for (int c = 0; c < job->n_classes; c++)
        for (int i = 0; i < run.len; i++)
          {
            set_prob[c][i] = (float) ((run.mask[i] >> c) & 1) * run.prob[c][i];
            set_sum[i] += set_prob[c][i];
            grad[c][i] = run.known[c][i] * (job->dice_a[c] * run.target[c][i] + job->dice_b[c]);
            dot[i] += run.prob[c][i] * grad[c][i];
          }
      for (int i = 0; i < run.len; i++)
        inv_set_sum[i] = 1.0f / MAX (set_sum[i], SET_SUM_FLOOR);
      for (int c = 0; c < job->n_classes; c++)
        for (int i = 0; i < run.len; i++)
          set_prob[c][i] *= inv_set_sum[i];
      for (int i = 0; i < run.len; i++)
        if (set_sum[i] < SET_SUM_FLOOR && run.labelled[i] != 0.0f)
          {
            float q[PULMO_LOSS_MAX_CLASSES];
            far_set (job, run.n, run.p0 + i, run.mask[i], q);
            for (int c = 0; c < job->n_classes; c++)
              set_prob[c][i] = q[c];
          }

      for (int c = 0; c < job->n_classes; c++)
        {
          float *dz = pulmo_tensor_plane (job->dlogits, run.n, c) + run.p0;
          const float *p = run.prob[c];
          for (int i = 0; i < run.len; i++)
            {
              /* CE: w(S) · (p_c - q_c); Dice through the softmax. */
              float g = job->ce_scale * run.set_weight[i] * (p[i] - set_prob[c][i])
                        + p[i] * (grad[c][i] - dot[i]);
              dz[i] = run.labelled[i] != 0.0f ? g : 0.0f;
            }
        }
    }
}

double
pulmo_seg_loss (const PulmoTensor *logits,
                const uint16_t *masks,
                const PulmoSegLossOptions *options,
                PulmoTensor *dlogits,
                PulmoSegLossParts *parts)
{
  g_return_val_if_fail (logits != NULL && masks != NULL && options != NULL, 0.0);
  g_return_val_if_fail (logits->c >= 2 && logits->c <= PULMO_LOSS_MAX_CLASSES, 0.0);
  g_return_val_if_fail (dlogits != logits, 0.0);
  g_return_val_if_fail (options->dice_smooth > 0.0f, 0.0);
  g_return_val_if_fail (dlogits == NULL || (dlogits->n == logits->n && dlogits->c == logits->c
                                            && dlogits->h == logits->h && dlogits->w == logits->w), 0.0);

  int n_classes = logits->c;
  LossJob job = { 0 };
  job.logits = logits;
  job.masks = masks;
  job.dlogits = dlogits;
  job.n_classes = n_classes;
  job.all = (uint16_t) ((1u << n_classes) - 1);
  for (int c = 0; c < n_classes; c++)
    job.weight[c] = options->class_weights != NULL ? options->class_weights[c] : 1.0f;
  job.runs_per_sample = (int) (((size_t) logits->h * logits->w + RUN_PIXELS - 1) / RUN_PIXELS);
  int n_items = logits->n * job.runs_per_sample;

  g_autofree double *sums = g_new (double, (size_t) n_items * N_SUMS (n_classes));
  job.sums = sums;
  pulmo_parallel_for (n_items, loss_sum_runs, &job);

  double total[N_SUMS (PULMO_LOSS_MAX_CLASSES)] = { 0 };
  for (int item = 0; item < n_items; item++)
    for (int k = 0; k < N_SUMS (n_classes); k++)
      total[k] += sums[(size_t) item * N_SUMS (n_classes) + k];

  double ce = total[SUM_WEIGHT] > 0.0 ? total[SUM_CE] / total[SUM_WEIGHT] : 0.0;

  /* Dice over the classes with at least one known pixel. */
  double smooth = options->dice_smooth;
  double dice_sum = 0.0;
  int n_present = 0;
  for (int c = 0; c < n_classes; c++)
    {
      if (total[SUM_CLASS (SUM_KNOWN, c)] == 0.0)
        continue;
      double union_sum = total[SUM_CLASS (SUM_PRED, c)] + total[SUM_CLASS (SUM_TARGET, c)];
      dice_sum += (2.0 * total[SUM_CLASS (SUM_INTER, c)] + smooth) / (union_sum + smooth);
      n_present++;
    }
  double dice = n_present > 0 ? 1.0 - dice_sum / n_present : 0.0;

  if (parts != NULL)
    {
      parts->ce = ce;
      parts->dice = dice;
      parts->n_labelled = (long) total[SUM_LABELLED];
    }

  if (dlogits != NULL)
    {
      job.ce_scale = total[SUM_WEIGHT] > 0.0 ? (float) (options->ce_weight / total[SUM_WEIGHT]) : 0.0f;
      for (int c = 0; c < n_classes; c++)
        {
          if (total[SUM_CLASS (SUM_KNOWN, c)] == 0.0)
            continue;
          double inter = total[SUM_CLASS (SUM_INTER, c)];
          double union_sum = total[SUM_CLASS (SUM_PRED, c)] + total[SUM_CLASS (SUM_TARGET, c)];
          /* D = (2I + s) / (U + s); dD/dp = (2t (U + s) - (2I + s)) / (U + s)². */
          double scale = -options->dice_weight / n_present;
          double denom = union_sum + smooth;
          job.dice_a[c] = (float) (scale * 2.0 / denom);
          job.dice_b[c] = (float) (-scale * (2.0 * inter + smooth) / (denom * denom));
        }
      pulmo_parallel_for (n_items, loss_gradient_runs, &job);
    }

  return options->ce_weight * ce + options->dice_weight * dice;
}
