/* fuzz-input.h: what the fuzz targets share. */
#pragma once

#include "core/pulmo-volume.h"

/* Writes @data to @name in a folder of this process's own (made once, in
 * $TMPDIR) and returns its path: the parsers read files, not memory. */
char *pulmo_fuzz_input_file (const guint8 *data, size_t size, const char *name);
/* The CT that label maps and recovery files are read onto: 16×16×8 voxels of
 * 1 mm, HU -1000 (the seeds in corpus/ were written on this grid). */
PulmoVolume *pulmo_fuzz_small_ct (void);
