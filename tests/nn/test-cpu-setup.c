/* The pure kernel choice of cpu-setup.c for the CPUs OpenBLAS 0.3.21
 * misdetects, and the probe of the CPU this test runs on. */
#include "nn/cpu-setup.h"

#include <string.h>

static PulmoCpuFeatures
cpu_with (const char *vendor, int family, gboolean avx2_fma, gboolean avx512)
{
  PulmoCpuFeatures cpu = { .family = family, .avx = TRUE, .avx2 = avx2_fma, .fma = avx2_fma };
  g_strlcpy (cpu.vendor, vendor, sizeof cpu.vendor);
  cpu.avx512f = cpu.avx512cd = cpu.avx512bw = cpu.avx512dq = cpu.avx512vl = avx512;
  cpu.avx512_bf16 = avx512;
  return cpu;
}

static void
test_xeon_prescott (void)
{
  /* A recent AVX-512 Xeon that 0.3.21 does not know falls back to Prescott. */
  PulmoCpuFeatures xeon = cpu_with ("GenuineIntel", 6, TRUE, TRUE);
  g_assert_cmpstr (pulmo_cpu_choose_core (&xeon, "Prescott", NULL), ==, "SkylakeX");
  /* Detected correctly: nothing to do, and a newer kernel is never downgraded. */
  g_assert_null (pulmo_cpu_choose_core (&xeon, "SkylakeX", NULL));
  g_assert_null (pulmo_cpu_choose_core (&xeon, "Cooperlake", NULL));
  g_assert_null (pulmo_cpu_choose_core (&xeon, "SapphireRapids", NULL));
  /* An AVX2 Xeon without AVX-512 gets Haswell, never an AVX-512 kernel. */
  PulmoCpuFeatures avx2_xeon = cpu_with ("GenuineIntel", 6, TRUE, FALSE);
  g_assert_cmpstr (pulmo_cpu_choose_core (&avx2_xeon, "Prescott", NULL), ==, "Haswell");
  g_assert_null (pulmo_cpu_choose_core (&avx2_xeon, "Haswell", NULL));
}

static void
test_zen (void)
{
  /* Zen 4: OpenBLAS picks the AVX-512 Cooperlake kernel; Zen is faster. */
  PulmoCpuFeatures zen4 = cpu_with ("AuthenticAMD", 0x19, TRUE, TRUE);
  g_assert_cmpstr (pulmo_cpu_choose_core (&zen4, "Cooperlake", NULL), ==, "Zen");
  g_assert_cmpstr (pulmo_cpu_choose_core (&zen4, "SkylakeX", NULL), ==, "Zen");
  g_assert_cmpstr (pulmo_cpu_choose_core (&zen4, "Prescott", NULL), ==, "Zen");
  g_assert_null (pulmo_cpu_choose_core (&zen4, "Zen", NULL));
  PulmoCpuFeatures zen2 = cpu_with ("AuthenticAMD", 0x17, TRUE, FALSE);
  g_assert_null (pulmo_cpu_choose_core (&zen2, "Zen", NULL));
  /* Zen 5: full-width AVX-512, where the AVX-512 kernels win: keep Cooperlake,
   * upgrade anything weaker to SkylakeX. */
  PulmoCpuFeatures zen5 = cpu_with ("AuthenticAMD", 0x1a, TRUE, TRUE);
  g_assert_null (pulmo_cpu_choose_core (&zen5, "Cooperlake", NULL));
  g_assert_cmpstr (pulmo_cpu_choose_core (&zen5, "Zen", NULL), ==, "SkylakeX");
  g_assert_cmpstr (pulmo_cpu_choose_core (&zen5, "Prescott", NULL), ==, "SkylakeX");
  /* A Zen 5 whose hypervisor hides AVX-512 gets Zen. */
  PulmoCpuFeatures zen5_no512 = cpu_with ("AuthenticAMD", 0x1a, TRUE, FALSE);
  g_assert_cmpstr (pulmo_cpu_choose_core (&zen5_no512, "Prescott", NULL), ==, "Zen");
  PulmoCpuFeatures hygon = cpu_with ("HygonGenuine", 0x18, TRUE, FALSE);
  g_assert_cmpstr (pulmo_cpu_choose_core (&hygon, "Prescott", NULL), ==, "Zen");
}

static void
test_user_setting_wins (void)
{
  PulmoCpuFeatures zen4 = cpu_with ("AuthenticAMD", 0x19, TRUE, TRUE);
  PulmoCpuFeatures xeon = cpu_with ("GenuineIntel", 6, TRUE, TRUE);
  g_assert_null (pulmo_cpu_choose_core (&zen4, "Cooperlake", "Cooperlake"));
  g_assert_null (pulmo_cpu_choose_core (&xeon, "Prescott", "Prescott"));
  g_assert_null (pulmo_cpu_choose_core (&xeon, "Haswell", "Haswell"));
  /* An empty variable is no setting. */
  g_assert_cmpstr (pulmo_cpu_choose_core (&xeon, "Prescott", ""), ==, "SkylakeX");
}

static void
test_no_avx2 (void)
{
  /* AVX without AVX2/FMA (Sandy Bridge, or a VM hiding them): at most Sandybridge. */
  PulmoCpuFeatures sandy = cpu_with ("GenuineIntel", 6, FALSE, FALSE);
  g_assert_cmpstr (pulmo_cpu_choose_core (&sandy, "Prescott", NULL), ==, "Sandybridge");
  g_assert_null (pulmo_cpu_choose_core (&sandy, "Sandybridge", NULL));
  PulmoCpuFeatures old_amd = cpu_with ("AuthenticAMD", 0x15, FALSE, FALSE);
  g_assert_cmpstr (pulmo_cpu_choose_core (&old_amd, "Barcelona", NULL), ==, "Sandybridge");
  g_assert_null (pulmo_cpu_choose_core (&old_amd, "Bulldozer", NULL));
  /* AVX-512 flags without AVX2/FMA are contradictory: no AVX-512 kernel. */
  PulmoCpuFeatures odd = cpu_with ("GenuineIntel", 6, FALSE, TRUE);
  g_assert_cmpstr (pulmo_cpu_choose_core (&odd, "Prescott", NULL), ==, "Sandybridge");
  /* SSE only: keep what OpenBLAS found. */
  PulmoCpuFeatures sse = { .vendor = "GenuineIntel", .family = 6 };
  g_assert_null (pulmo_cpu_choose_core (&sse, "Prescott", NULL));
  g_assert_null (pulmo_cpu_choose_core (&sse, "Core2", NULL));
}

static void
test_this_cpu (void)
{
  PulmoCpuFeatures cpu;
  pulmo_cpu_features_detect (&cpu);
  g_test_message ("vendor %s family %#x avx %d avx2 %d fma %d avx512f %d bw %d vl %d dq %d", cpu.vendor,
                  cpu.family, cpu.avx, cpu.avx2, cpu.fma, cpu.avx512f, cpu.avx512bw, cpu.avx512vl, cpu.avx512dq);
  g_assert_cmpuint (strlen (cpu.vendor), ==, 12);
  g_assert_cmpint (cpu.family, >=, 3);
  /* Feature implications the probe must respect. */
  g_assert_true (!cpu.avx2 || cpu.avx);
  g_assert_true (!cpu.avx512bw || cpu.avx512f);
  g_assert_nonnull (pulmo_cpu_core_name ());
  /* Whatever is chosen for this CPU, it must be able to run it. */
  const char *choice = pulmo_cpu_choose_core (&cpu, "Prescott", NULL);
  if (g_strcmp0 (choice, "SkylakeX") == 0)
    g_assert_true (cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512dq);
  if (g_strcmp0 (choice, "Haswell") == 0 || g_strcmp0 (choice, "Zen") == 0)
    g_assert_true (cpu.avx2 && cpu.fma);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu-setup/xeon-detected-as-prescott", test_xeon_prescott);
  g_test_add_func ("/cpu-setup/zen", test_zen);
  g_test_add_func ("/cpu-setup/user-setting-wins", test_user_setting_wins);
  g_test_add_func ("/cpu-setup/no-avx2", test_no_avx2);
  g_test_add_func ("/cpu-setup/this-cpu", test_this_cpu);
  return g_test_run ();
}
