/* `pulmo bench nn`: the U-Net (depth 4, 256×256, 1 → 4 classes; base 32 and
 * base 16) in milliseconds per slice for inference (batch 1) and per sample
 * for a training step (batch 8: forward, loss, backward, AdamW), with the
 * GFLOPS reached, beside PyTorch on the identical network measured the same
 * way in the same run (tests/anchors/pytorch_unet.py, Debian's python3-torch).
 * The anchor runs as a child process that waits for commands, and the two
 * take turns, never running at the same time, so that both see the same
 * machine even when other work comes and goes; the figures are medians.
 * PyTorch's thread pools keep spinning for 100–200 ms after a command, so
 * Pulmo's turns wait until the anchor's threads have stopped. */
#include "cli/pulmo-cli.h"

#include "nn/cpu-setup.h"
#include "nn/loss.h"
#include "nn/parallel.h"
#include "nn/rng.h"
#include "nn/unet.h"
#include "pulmo-config.h"

#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_DEPTH 4
#define BENCH_CLASSES 4

typedef struct {
  int size, batch, infer_iters, train_iters;
  gboolean profile;
} BenchOptions;

typedef struct {
  double infer_ms, train_ms_per_sample;   /* < 0: not measured */
} Figures;

static void
fill_uniform (PulmoTensor *t, PulmoRng *rng)
{
  for (size_t i = 0; i < pulmo_tensor_numel (t); i++)
    t->data[i] = (float) pulmo_rng_uniform (rng);
}

/* ---- The PyTorch anchor, a child process answering "infer" and "train" ---- */

typedef struct {
  GSubprocess *process;
  GDataInputStream *out;
  char *torch_version;
} Anchor;

static void
anchor_stop (Anchor *anchor)
{
  if (anchor->process != NULL)
    {
      g_output_stream_close (g_subprocess_get_stdin_pipe (anchor->process), NULL, NULL);
      g_subprocess_wait (anchor->process, NULL, NULL);
    }
  g_clear_object (&anchor->out);
  g_clear_object (&anchor->process);
  g_clear_pointer (&anchor->torch_version, g_free);
}

/* Why the child failed, from its standard error. */
static char *
anchor_failure (Anchor *anchor)
{
  GInputStream *err = g_subprocess_get_stderr_pipe (anchor->process);
  char buffer[4096];
  gsize got = 0;
  g_input_stream_read_all (err, buffer, sizeof buffer - 1, &got, NULL, NULL);
  buffer[got] = '\0';
  if (strstr (buffer, "No module named 'torch'") != NULL)
    return g_strdup ("python3-torch is not installed");
  const char *last = buffer;
  for (const char *p = buffer; *p != '\0'; p++)
    if (*p == '\n' && p[1] != '\0')
      last = p + 1;
  return g_strdup_printf ("the anchor script failed: %s", got > 0 ? g_strstrip ((char *) last) : "no output");
}

static gboolean
anchor_start (Anchor *anchor, int base, const BenchOptions *opt)
{
  g_autofree char *script = g_build_filename (PULMO_SOURCE_DIR, "tests", "anchors",
                                              "pytorch_unet.py", NULL);
  g_autofree char *base_arg = g_strdup_printf ("%d", base);
  g_autofree char *size_arg = g_strdup_printf ("%d", opt->size);
  g_autofree char *batch_arg = g_strdup_printf ("%d", opt->batch);
  g_autofree char *threads_arg = g_strdup_printf ("%d", pulmo_parallel_n_threads ());
  g_autoptr (GError) error = NULL;
  anchor->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                      | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error,
                                      "/usr/bin/python3", script, "--serve", "--base", base_arg,
                                      "--depth", "4", "--classes", "4", "--in-channels", "1",
                                      "--size", size_arg, "--batch", batch_arg,
                                      "--threads", threads_arg, NULL);
  g_autofree char *why = NULL;
  if (anchor->process != NULL)
    {
      anchor->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (anchor->process));
      for (;;)
        {
          g_autofree char *line = g_data_input_stream_read_line (anchor->out, NULL, NULL, NULL);
          if (line == NULL)
            {
              why = anchor_failure (anchor);
              break;
            }
          if (g_str_has_prefix (line, "torch_version "))
            anchor->torch_version = g_strdup (line + 14);
          if (strcmp (line, "ready") == 0)
            return TRUE;
        }
    }
  else
    why = g_strdup (error->message);
  printf ("  PyTorch anchor unavailable (%s).\n"
          "  Install it with: sudo apt-get install python3-torch\n", why);
  anchor_stop (anchor);
  return FALSE;
}

/* Nanoseconds of CPU the anchor's threads have used so far, or -1 if unknown. */
static gint64
anchor_cpu_ns (Anchor *anchor)
{
  if (anchor->process == NULL)
    return -1;
  g_autofree char *tasks = g_strdup_printf ("/proc/%s/task", g_subprocess_get_identifier (anchor->process));
  g_autoptr (GDir) dir = g_dir_open (tasks, 0, NULL);
  if (dir == NULL)
    return -1;
  gint64 total = 0;
  for (const char *task; (task = g_dir_read_name (dir)) != NULL;)
    {
      g_autofree char *path = g_build_filename (tasks, task, "schedstat", NULL);
      g_autofree char *text = NULL;
      if (g_file_get_contents (path, &text, NULL, NULL))
        total += g_ascii_strtoll (text, NULL, 10); /* first field: time on a CPU */
    }
  return total;
}

/* Returns once the anchor has used less than a twentieth of a core over
 * ANCHOR_IDLE_POLL_US (or after ANCHOR_IDLE_TIMEOUT_US). */
#define ANCHOR_IDLE_POLL_US 5000
#define ANCHOR_IDLE_TIMEOUT_US 2000000

static void
anchor_wait_idle (Anchor *anchor)
{
  gint64 deadline = g_get_monotonic_time () + ANCHOR_IDLE_TIMEOUT_US;
  gint64 before = anchor_cpu_ns (anchor);
  while (before >= 0 && g_get_monotonic_time () < deadline)
    {
      g_usleep (ANCHOR_IDLE_POLL_US);
      gint64 after = anchor_cpu_ns (anchor);
      if (after - before < ANCHOR_IDLE_POLL_US * 1000 / 20)
        return;
      before = after;
    }
}

/* Milliseconds of one run of @command in the anchor, or -1 if it failed. */
static double
anchor_run (Anchor *anchor, const char *command)
{
  if (anchor->process == NULL)
    return -1;
  GOutputStream *in = g_subprocess_get_stdin_pipe (anchor->process);
  g_autofree char *line = NULL;
  if (g_output_stream_write_all (in, command, strlen (command), NULL, NULL, NULL) &&
      g_output_stream_write_all (in, "\n", 1, NULL, NULL, NULL) && g_output_stream_flush (in, NULL, NULL))
    line = g_data_input_stream_read_line (anchor->out, NULL, NULL, NULL);
  if (line == NULL || !g_str_has_prefix (line, "ms "))
    {
      g_autofree char *why = anchor_failure (anchor);
      printf ("  PyTorch anchor stopped (%s)\n", why);
      anchor_stop (anchor);
      return -1;
    }
  return g_ascii_strtod (line + 3, NULL);
}

/* ---- Measurements ------------------------------------------------------ */

/* Milliseconds per sample by stage and by resolution level. */
static void
print_profile (const char *title, const PulmoUNetProfile *profile, double samples,
               const char *const *extra_names, const double *extra_s, int n_extra)
{
  double per = 1e3 / samples;
  printf ("    Pulmo %s, ms per sample:\n", title);
  for (int s = 0; s < PULMO_UNET_N_STAGES; s++)
    if (profile->seconds[s] > 0)
      printf ("      %-24s %8.2f\n", pulmo_unet_stage_name (s), profile->seconds[s] * per);
  for (int i = 0; i < n_extra; i++)
    printf ("      %-24s %8.2f\n", extra_names[i], extra_s[i] * per);
  printf ("      by level (level l is 2^l times smaller):");
  for (int l = 0; l <= BENCH_DEPTH; l++)
    printf (" L%d %.1f", l, profile->level_seconds[l] * per);
  printf ("\n");
}

/* Inference takes turns: Pulmo runs once untimed (to warm its caches again
 * after the other process) and then INFER_TURN timed times, then PyTorch the
 * same, so that both are measured as a volume is segmented, slice after
 * slice with warm caches, and both see the same machine over the run. */
#define INFER_TURN 3

static void
measure_inference (PulmoUNet *net, const BenchOptions *opt, PulmoRng *rng, Anchor *anchor,
                   Figures *pulmo, Figures *torch)
{
  g_autoptr (PulmoUNetWorkspace) ws = pulmo_unet_workspace_new (net, opt->size, opt->size);
  g_autoptr (PulmoTensor) input = pulmo_tensor_new (1, 1, opt->size, opt->size);
  g_autoptr (PulmoTensor) logits = pulmo_tensor_new (1, BENCH_CLASSES, opt->size, opt->size);
  fill_uniform (input, rng);
  PulmoUNetProfile profile = { { 0 }, { 0 } };
  g_autofree double *ms = g_new (double, opt->infer_iters);
  g_autofree double *anchor_ms = g_new (double, opt->infer_iters);
  pulmo_unet_infer (net, ws, input, logits);   /* folds BN, faults pages in */
  anchor_run (anchor, "infer");
  for (int done = 0; done < opt->infer_iters;)
    {
      int turn = MIN (INFER_TURN, opt->infer_iters - done);
      anchor_wait_idle (anchor);
      pulmo_unet_infer (net, ws, input, logits);
      pulmo_unet_workspace_set_profile (ws, opt->profile ? &profile : NULL);
      for (int i = done; i < done + turn; i++)
        {
          gint64 start = g_get_monotonic_time ();
          pulmo_unet_infer (net, ws, input, logits);
          ms[i] = (g_get_monotonic_time () - start) / 1e3;
        }
      pulmo_unet_workspace_set_profile (ws, NULL);
      anchor_run (anchor, "infer");
      for (int i = done; i < done + turn; i++)
        anchor_ms[i] = anchor_run (anchor, "infer");
      done += turn;
    }
  if (opt->profile)
    print_profile ("inference", &profile, opt->infer_iters, NULL, NULL, 0);
  pulmo->infer_ms = pulmo_bench_median (ms, opt->infer_iters);
  if (anchor->process != NULL)
    torch->infer_ms = pulmo_bench_median (anchor_ms, opt->infer_iters);
}

static void
measure_training (PulmoUNet *net, const BenchOptions *opt, PulmoRng *rng, Anchor *anchor,
                  Figures *pulmo, Figures *torch)
{
  int size = opt->size, batch = opt->batch;
  g_autoptr (PulmoUNetActivations) acts = pulmo_unet_activations_new (net, batch, size, size);
  g_autoptr (PulmoTensor) input = pulmo_tensor_new (batch, 1, size, size);
  g_autoptr (PulmoTensor) grad = pulmo_tensor_new (batch, BENCH_CLASSES, size, size);
  g_autofree guint16 *masks = g_new (guint16, (gsize) batch * size * size);
  fill_uniform (input, rng);
  for (gsize i = 0; i < (gsize) batch * size * size; i++)
    masks[i] = (guint16) (1u << pulmo_rng_below (rng, BENCH_CLASSES));
  PulmoAdamWConfig adam = pulmo_adamw_config_default ();
  g_autoptr (PulmoAdamW) optim = pulmo_unet_adamw_new (net, &adam);
  PulmoSegLossOptions loss_options = { NULL, 1.0f, 1.0f, 1.0f };
  PulmoUNetProfile profile = { { 0 }, { 0 } };
  double loss_s = 0, optim_s = 0;

  g_autofree double *ms = g_new (double, opt->train_iters);
  g_autofree double *anchor_ms = g_new (double, opt->train_iters);
  for (int i = -1; i < opt->train_iters; i++)   /* one warm-up step */
    {
      pulmo_unet_activations_set_profile (acts, opt->profile && i >= 0 ? &profile : NULL);
      anchor_wait_idle (anchor);
      gint64 start = g_get_monotonic_time ();
      pulmo_unet_zero_grad (net);
      const PulmoTensor *logits = pulmo_unet_forward_train (net, acts, input);
      gint64 loss_start = g_get_monotonic_time ();
      pulmo_seg_loss (logits, masks, &loss_options, grad, NULL);
      gint64 loss_end = g_get_monotonic_time ();
      pulmo_unet_backward (net, acts, grad);
      gint64 optim_start = g_get_monotonic_time ();
      pulmo_unet_adamw_step (net, optim);
      gint64 end = g_get_monotonic_time ();
      double anchor_elapsed = anchor_run (anchor, "train");
      if (i < 0)
        continue;
      ms[i] = (end - start) / 1e3 / batch;
      anchor_ms[i] = anchor_elapsed / batch;
      loss_s += (loss_end - loss_start) * 1e-6;
      optim_s += (end - optim_start) * 1e-6;
    }
  if (opt->profile)
    {
      const char *const names[] = { "loss", "AdamW" };
      double seconds[] = { loss_s, optim_s };
      print_profile ("training step", &profile, (double) opt->train_iters * batch, names, seconds, 2);
    }
  pulmo->train_ms_per_sample = pulmo_bench_median (ms, opt->train_iters);
  if (anchor->process != NULL)
    torch->train_ms_per_sample = pulmo_bench_median (anchor_ms, opt->train_iters);
}

static void
print_row (const char *what, const char *unit, double pulmo_ms, double gflop, double anchor_ms,
           double target)
{
  printf ("  %-26s Pulmo %8.1f ms/%s (%5.0f GFLOPS)", what, pulmo_ms, unit, gflop / pulmo_ms * 1e3);
  if (anchor_ms > 0)
    printf ("   PyTorch %8.1f ms/%s (%5.0f GFLOPS)   speed-up %.2fx (target %.1fx)",
            anchor_ms, unit, gflop / anchor_ms * 1e3, anchor_ms / pulmo_ms, target);
  printf ("\n");
}

static void
bench_base (int base, const BenchOptions *opt, gboolean use_anchor, char **torch_version)
{
  PulmoUNetConfig config = { 1, base, BENCH_DEPTH, BENCH_CLASSES };
  g_autoptr (PulmoUNet) net = pulmo_unet_new (&config, 1);
  PulmoRng rng;
  pulmo_rng_init (&rng, 2);
  double forward_gflop = 2 * pulmo_unet_macs (net, opt->size, opt->size) / 1e9;
  printf ("base %d: %" G_GUINT64_FORMAT " parameters, %.2f GFLOP per forward pass "
          "(training step counted as 3x)\n", base, pulmo_unet_n_trainable (net), forward_gflop);
  fflush (stdout);

  Figures pulmo = { -1, -1 }, torch = { -1, -1 };
  Anchor anchor = { NULL, NULL, NULL };
  if (use_anchor && anchor_start (&anchor, base, opt) && *torch_version == NULL)
    *torch_version = g_strdup (anchor.torch_version);
  if (opt->infer_iters > 0)
    measure_inference (net, opt, &rng, &anchor, &pulmo, &torch);
  if (opt->train_iters > 0)
    measure_training (net, opt, &rng, &anchor, &pulmo, &torch);
  anchor_stop (&anchor);

  if (pulmo.infer_ms > 0)
    print_row ("inference, batch 1", "slice", pulmo.infer_ms, forward_gflop, torch.infer_ms, 2.0);
  if (pulmo.train_ms_per_sample > 0)
    print_row ("training step, batch 8", "sample", pulmo.train_ms_per_sample, 3 * forward_gflop,
               torch.train_ms_per_sample, 1.5);
  printf ("  Pulmo peak resident memory so far: %.0f MiB\n", pulmo_peak_resident_mib ());
  fflush (stdout);
}

int
pulmo_bench_nn (int argc, char **argv)
{
  BenchOptions opt = { .size = 256, .batch = 8, .infer_iters = 10, .train_iters = 5 };
  int only_base = 0;
  gboolean no_anchor = FALSE;
  GOptionEntry entries[] = {
    { "base", 0, 0, G_OPTION_ARG_INT, &only_base, "Only this base width (default: 32 and 16)", "N" },
    { "infer-iters", 0, 0, G_OPTION_ARG_INT, &opt.infer_iters, "Timed inferences (default 10; 0 skips)", "N" },
    { "train-iters", 0, 0, G_OPTION_ARG_INT, &opt.train_iters, "Timed training steps (default 5; 0 skips)", "N" },
    { "profile", 0, 0, G_OPTION_ARG_NONE, &opt.profile, "Show where a training step's time goes", NULL },
    { "no-anchor", 0, 0, G_OPTION_ARG_NONE, &no_anchor, "Skip the PyTorch anchor", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- U-Net inference and training against PyTorch");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "pulmo bench nn: %s\n", error->message);
      return 2;
    }
  if (opt.infer_iters < 0 || opt.infer_iters > 1000 || opt.train_iters < 0 || opt.train_iters > 1000 ||
      (only_base != 0 && (only_base < 1 || only_base > 128)))
    {
      fprintf (stderr, "pulmo bench nn: iterations must be 0 to 1000, the base 1 to 128\n");
      return 2;
    }

  printf ("pulmo bench nn: U-Net depth %d, 1 -> %d classes, %dx%d, %d threads, OpenBLAS core %s (%s)\n",
          BENCH_DEPTH, BENCH_CLASSES, opt.size, opt.size, pulmo_parallel_n_threads (),
          pulmo_cpu_core_name (), pulmo_cpu_core_origin ());
  g_autofree char *torch_version = NULL;
  int bases[] = { 32, 16 };
  for (size_t b = 0; b < G_N_ELEMENTS (bases); b++)
    if (only_base == 0 || only_base == bases[b])
      bench_base (bases[b], &opt, !no_anchor, &torch_version);
  if (only_base != 0 && only_base != 32 && only_base != 16)
    bench_base (only_base, &opt, !no_anchor, &torch_version);
  if (torch_version != NULL)
    printf ("anchor: PyTorch %s (tests/anchors/pytorch_unet.py), same network, taking turns with "
            "Pulmo (inference: %d runs per turn after one untimed; training: one step per turn), "
            "medians; eval mode (BN not folded), training with CE + Dice and AdamW\n",
            torch_version, INFER_TURN);
  return 0;
}
