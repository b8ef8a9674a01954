/* pulmo-cli.h: the `pulmo` sub-commands. GLib only: the same binary starts the
 * GUI when no sub-command is given. */
#pragma once

#include <glib.h>

#include "core/pulmo-volume.h"

G_BEGIN_DECLS

/* TRUE if @name is a sub-command (so argv[1] is not a file for the GUI to open). */
gboolean pulmo_cli_is_command (const char *name);
/* Runs argv[1] as a sub-command; returns the process exit status. */
int pulmo_cli_run (int argc, char **argv);

/* One function per sub-command, each in its own cmd-*.c. argv[0] is the command name. */
int pulmo_cmd_info (int argc, char **argv);
int pulmo_cmd_bench (int argc, char **argv);
int pulmo_cmd_eval (int argc, char **argv);
int pulmo_cmd_export (int argc, char **argv);
int pulmo_cmd_export_sweep (int argc, char **argv);
int pulmo_cmd_model (int argc, char **argv);
int pulmo_cmd_samples (int argc, char **argv);
int pulmo_cmd_segment (int argc, char **argv);
int pulmo_cmd_review (int argc, char **argv);
int pulmo_cmd_train (int argc, char **argv);

/* Benchmarks, each in its own bench-*.c, dispatched by `pulmo bench NAME`. */
int pulmo_bench_bigscan (int argc, char **argv);
int pulmo_bench_conv (int argc, char **argv);
int pulmo_bench_edit (int argc, char **argv);
int pulmo_bench_load (int argc, char **argv);
int pulmo_bench_nn (int argc, char **argv);
int pulmo_bench_ops (int argc, char **argv);
int pulmo_bench_render (int argc, char **argv);
int pulmo_bench_render3d (int argc, char **argv);
int pulmo_bench_segment (int argc, char **argv);

/* Medians for the benchmarks (cmd-bench.c); both sort @values (n >= 1) in place.
 * pulmo_bench_median: for an even @n, the mean of the two middle values.
 * pulmo_bench_upper_median: values[n / 2], for an even @n the larger of the two. */
double pulmo_bench_median (double *values, int n);
/* A monotonic clock in milliseconds, for timing one run. */
double pulmo_bench_now_ms (void);
double pulmo_bench_upper_median (double *values, int n);
/* The upper median of the seconds @run takes, after one warm-up run, over at
 * least 3 runs and about @budget_s seconds (at most 64 runs). */
double pulmo_bench_median_seconds (void (*run) (void *ctx), void *ctx, double budget_s);

/* A 512×512×@n_slices int16 chest CT in memory (bench-ct.c) … */
PulmoVolume *pulmo_bench_make_volume (int n_slices);
/* … and the same written into @folder; returns its path. */
char *pulmo_bench_make_ct (const char *folder, int n_slices, GError **error);
/* A voxel of aerated lung on the middle axial slice, going out from the centre of the chest along a row. */
gboolean pulmo_bench_find_lung_seed (PulmoVolume *ct, int seed[3]);
/* COVID-CT-MD P001 resampled (trilinear) to @dims, written into @folder as an
 * uncompressed .nii; returns its path. */
char *pulmo_bench_make_big_ct (const char *folder, const int dims[3], GError **error);
/* Peak resident memory of this process so far (VmHWM), in MiB; -1 if unknown. */
double pulmo_peak_resident_mib (void);

G_END_DECLS
