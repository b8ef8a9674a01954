/* cpu-setup.h: make OpenBLAS use the best kernel this CPU really supports.
 *
 * Debian 12's OpenBLAS 0.3.21 misdetects some recent CPUs: recent Xeons come
 * out as "Prescott" (SSE3 kernels, ~5x slower) and AMD Zen 4/5 as
 * "Cooperlake", whose kernels are 30–55 % slower than the Zen ones on the
 * narrow, wide matrices that convolutions make. OPENBLAS_CORETYPE is read only
 * when the library loads, so the fix is to set it and re-execute. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the CPU and the operating system support (AVX state enabled by the OS). */
typedef struct {
  char vendor[13];      /* "GenuineIntel", "AuthenticAMD", "HygonGenuine", ... */
  int family;           /* display family: 0x19 Zen 3/4, 0x1a Zen 5 */
  gboolean avx, avx2, fma;
  gboolean avx512f, avx512cd, avx512bw, avx512dq, avx512vl, avx512_bf16;
} PulmoCpuFeatures;

/* Reads cpuid and xgetbv. */
void pulmo_cpu_features_detect (PulmoCpuFeatures *features);

/* The OpenBLAS core type to force, or NULL to keep @detected (what OpenBLAS
 * chose by itself). @user_setting is OPENBLAS_CORETYPE as the user set it (or
 * NULL): a user's own setting always wins. Never returns a kernel whose
 * instructions @cpu lacks. Pure: no side effects. */
const char *pulmo_cpu_choose_core (const PulmoCpuFeatures *cpu,
                                   const char *detected,
                                   const char *user_setting);

/* First statement of main(): if OPENBLAS_CORETYPE is unset and a better
 * kernel exists, sets it and re-executes /proc/self/exe with @argv (once: a
 * marker variable prevents loops). Returns normally otherwise, and if the
 * re-execution fails. */
void pulmo_cpu_setup (char **argv);

/* The OpenBLAS kernel in use, e.g. "Zen". */
const char *pulmo_cpu_core_name (void);

/* How it was chosen, for `pulmo info` and the benchmarks: "detected by
 * OpenBLAS", "set by OPENBLAS_CORETYPE", or "chosen by Pulmo (OpenBLAS
 * detected Cooperlake)". */
const char *pulmo_cpu_core_origin (void);

G_END_DECLS
