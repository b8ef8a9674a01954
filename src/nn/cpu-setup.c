/* cpu-setup.c: choose OpenBLAS's kernel from cpuid, re-execute if needed. */
#include "nn/cpu-setup.h"

#include <cblas.h>
#include <cpuid.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Set in the re-executed process to what OpenBLAS had detected; its presence
 * also stops a second re-execution. */
#define REEXEC_MARKER "PULMO_OPENBLAS_DETECTED"

/* Written once, at the top of main() before any thread exists. */
static char core_origin[96];

/* The instruction level of OpenBLAS's x86-64 kernels: 1 SSE, 2 AVX, 3 AVX2 +
 * FMA, 4 AVX-512, 5 AVX-512 + AMX. Unknown names rank 0. */
static int
core_level (const char *name)
{
  static const struct {
    const char *name;
    int level;
  } levels[] = {
    { "Katmai", 1 },      { "Coppermine", 1 },  { "Northwood", 1 }, { "Prescott", 1 },
    { "Banias", 1 },      { "Atom", 1 },        { "Core2", 1 },     { "Penryn", 1 },
    { "Dunnington", 1 },  { "Nehalem", 1 },     { "Athlon", 1 },    { "Opteron", 1 },
    { "Opteron(SSE3)", 1 }, { "Barcelona", 1 }, { "Nano", 1 },      { "Bobcat", 1 },
    { "Sandybridge", 2 }, { "Bulldozer", 2 },   { "Piledriver", 2 }, { "Steamroller", 2 },
    { "Excavator", 2 },   { "Haswell", 3 },     { "Zen", 3 },       { "SkylakeX", 4 },
    { "Cooperlake", 4 },  { "SapphireRapids", 5 },
  };

  if (name != NULL)
    for (size_t i = 0; i < G_N_ELEMENTS (levels); i++)
      if (g_ascii_strcasecmp (name, levels[i].name) == 0)
        return levels[i].level;
  return 0;
}

const char *
pulmo_cpu_choose_core (const PulmoCpuFeatures *cpu, const char *detected, const char *user_setting)
{
  g_return_val_if_fail (cpu != NULL, NULL);

  if (user_setting != NULL && user_setting[0] != '\0')
    return NULL;

  gboolean amd = strcmp (cpu->vendor, "AuthenticAMD") == 0 || strcmp (cpu->vendor, "HygonGenuine") == 0;
  gboolean avx512 = cpu->avx512f && cpu->avx512cd && cpu->avx512bw && cpu->avx512dq && cpu->avx512vl;
  gboolean avx2_fma = cpu->avx && cpu->avx2 && cpu->fma;

  /* Zen 4 runs AVX-512 at half width and is faster with the Zen kernels
   * (PERF-NOTES.md); Zen 5 (family 0x1a) runs it at full width and is faster
   * with the AVX-512 ones, chosen below like an Intel CPU's. */
  if (amd && avx2_fma && !(avx512 && cpu->family >= 0x1a))
    return detected != NULL && g_ascii_strcasecmp (detected, "Zen") == 0 ? NULL : "Zen";

  const char *best;
  if (avx512 && avx2_fma)
    best = "SkylakeX";
  else if (avx2_fma)
    best = "Haswell";
  else if (cpu->avx)
    best = "Sandybridge";
  else
    return NULL; /* SSE-only: OpenBLAS's own choice is as good as ours */

  /* Only ever upgrade: a newer kernel OpenBLAS recognised itself stays. */
  return core_level (detected) >= core_level (best) ? NULL : best;
}

static uint64_t
read_xcr0 (void)
{
  uint32_t eax, edx;
  __asm__ volatile ("xgetbv" : "=a" (eax), "=d" (edx) : "c" (0));
  return ((uint64_t) edx << 32) | eax;
}

void
pulmo_cpu_features_detect (PulmoCpuFeatures *features)
{
  unsigned int eax, ebx, ecx, edx;

  memset (features, 0, sizeof *features);
  if (!__get_cpuid (0, &eax, &ebx, &ecx, &edx))
    return;
  unsigned int max_leaf = eax;
  memcpy (features->vendor, &ebx, 4);
  memcpy (features->vendor + 4, &edx, 4);
  memcpy (features->vendor + 8, &ecx, 4);
  features->vendor[12] = '\0';

  __get_cpuid (1, &eax, &ebx, &ecx, &edx);
  features->family = (int) ((eax >> 8) & 0xf);
  if (features->family == 0xf)
    features->family += (int) ((eax >> 20) & 0xff);
  gboolean osxsave = (ecx & bit_OSXSAVE) != 0;
  uint64_t xcr0 = osxsave ? read_xcr0 () : 0;
  /* The OS must save the YMM (and for AVX-512 the opmask and ZMM) state. */
  gboolean ymm_state = (xcr0 & 0x6) == 0x6;
  gboolean zmm_state = ymm_state && (xcr0 & 0xe0) == 0xe0;

  features->avx = ymm_state && (ecx & bit_AVX) != 0;
  features->fma = features->avx && (ecx & bit_FMA) != 0;
  if (max_leaf < 7)
    return;

  __cpuid_count (7, 0, eax, ebx, ecx, edx);
  features->avx2 = features->avx && (ebx & bit_AVX2) != 0;
  features->avx512f = zmm_state && (ebx & bit_AVX512F) != 0;
  features->avx512dq = features->avx512f && (ebx & bit_AVX512DQ) != 0;
  features->avx512cd = features->avx512f && (ebx & bit_AVX512CD) != 0;
  features->avx512bw = features->avx512f && (ebx & bit_AVX512BW) != 0;
  features->avx512vl = features->avx512f && (ebx & bit_AVX512VL) != 0;
  __cpuid_count (7, 1, eax, ebx, ecx, edx);
  features->avx512_bf16 = features->avx512f && (eax & (1u << 5)) != 0;
}

void
pulmo_cpu_setup (char **argv)
{
  g_return_if_fail (argv != NULL && argv[0] != NULL);

  const char *detected_before = getenv (REEXEC_MARKER);
  if (detected_before != NULL)
    {
      g_snprintf (core_origin, sizeof core_origin, "chosen by Pulmo (OpenBLAS detected %s)",
                  detected_before);
      /* Our own children (anchor scripts) need not see it. */
      unsetenv (REEXEC_MARKER);
      return;
    }

  const char *user_setting = getenv ("OPENBLAS_CORETYPE");
  if (user_setting != NULL && user_setting[0] != '\0')
    {
      g_strlcpy (core_origin, "set by OPENBLAS_CORETYPE", sizeof core_origin);
      return;
    }

  g_strlcpy (core_origin, "detected by OpenBLAS", sizeof core_origin);
  PulmoCpuFeatures cpu;
  pulmo_cpu_features_detect (&cpu);
  const char *detected = openblas_get_corename ();
  const char *choice = pulmo_cpu_choose_core (&cpu, detected, NULL);
  if (choice == NULL)
    return;

  setenv ("OPENBLAS_CORETYPE", choice, 1);
  setenv (REEXEC_MARKER, detected != NULL ? detected : "unknown", 1);
  execv ("/proc/self/exe", argv);

  /* Still here: run on with the detected kernel rather than not at all. */
  unsetenv ("OPENBLAS_CORETYPE");
  unsetenv (REEXEC_MARKER);
}

const char *
pulmo_cpu_core_name (void)
{
  return openblas_get_corename ();
}

const char *
pulmo_cpu_core_origin (void)
{
  if (core_origin[0] != '\0')
    return core_origin;
  /* pulmo_cpu_setup() was not called (tests, other programs). */
  return getenv ("OPENBLAS_CORETYPE") != NULL ? "set by OPENBLAS_CORETYPE" : "detected by OpenBLAS";
}
