#include "cli/pulmo-cli.h"

#include <stdio.h>

int
pulmo_bench_load (int argc, char **argv)
{
  fprintf (stderr, "pulmo bench load: being written\n");
  return 1;
}
