/* fuzz-target.h: what every fuzz target in tests/fuzz/ defines. The same
 * function runs under libFuzzer (clang, fuzz-main.c) and in the replay test
 * (any compiler, replay.c), so a corpus file goes through exactly the
 * parser's entry point in both. */
#pragma once

#include <glib.h>

/* Parses @data as the target's file type. FALSE with @error when the parser
 * refuses it; TRUE when it was read (and everything it made is freed again). */
gboolean pulmo_fuzz_one (const guint8 *data, size_t size, GError **error);
