/* fuzz-main.c: libFuzzer's entry point around the target's pulmo_fuzz_one. */
#include "fuzz-target.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  /* Refusal is an answer too; only a crash, hang, leak or huge allocation is a finding. */
  if (!pulmo_fuzz_one (data, size, &error))
    g_assert (error != NULL && error->message != NULL && error->message[0] != '\0');
  return 0;
}
