/* pulmo-progress.h: progress of long work, written by a worker thread and
 * polled by the main loop. Plain atomics, so reading it never blocks the worker. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gint64 done;        /* units finished, atomic */
  gint64 total;       /* units in all, atomic; 0 while unknown */
  const char *phase;  /* static string naming the current phase ("Reading", …) */
} PulmoProgress;

static inline void
pulmo_progress_begin (PulmoProgress *progress, const char *phase, gint64 total)
{
  if (progress == NULL)
    return;
  g_atomic_pointer_set (&progress->phase, phase);
  __atomic_store_n (&progress->done, 0, __ATOMIC_RELAXED);
  __atomic_store_n (&progress->total, total, __ATOMIC_RELAXED);
}

static inline void
pulmo_progress_set (PulmoProgress *progress, gint64 done)
{
  if (progress != NULL)
    __atomic_store_n (&progress->done, done, __ATOMIC_RELAXED);
}

/* @seconds as "m:ss", or "h:mm:ss" from an hour on, for time spent and left. */
static inline void
pulmo_progress_format_duration (double seconds, char *out, size_t size)
{
  long s = (long) MAX (seconds, 0);
  if (s >= 3600)
    g_snprintf (out, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    g_snprintf (out, size, "%ld:%02ld", s / 60, s % 60);
}

/* Fraction finished in 0..1, or -1 while the total is unknown. */
static inline double
pulmo_progress_fraction (const PulmoProgress *progress)
{
  gint64 total = __atomic_load_n (&progress->total, __ATOMIC_RELAXED);
  gint64 done = __atomic_load_n (&progress->done, __ATOMIC_RELAXED);
  return total > 0 ? CLAMP ((double) done / (double) total, 0.0, 1.0) : -1.0;
}

G_END_DECLS
