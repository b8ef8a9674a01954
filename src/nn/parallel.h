/* parallel.h: Pulmo's own worker threads for compute kernels.
 *
 * Kernels split their work into items (bands of rows, channel blocks, ...) and
 * hand them to pulmo_parallel_for(), which runs them on all cores. OpenBLAS is
 * set to one thread at start-up so that each worker's cblas_sgemm stays on its
 * own core instead of spawning threads of its own. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Number of workers pulmo_parallel_for() may use: the CPUs this process may
 * run on, or PULMO_NUM_THREADS if set (1..256). Always >= 1. */
int pulmo_parallel_n_threads (void);

/* Calls fn(ctx, begin, end, worker) over disjoint ranges [begin, end) that
 * together cover [0, n_items), and returns once all have finished. `worker`
 * is in [0, pulmo_parallel_n_threads()) and no two concurrent calls of fn
 * within one pulmo_parallel_for() share it, so a caller may keep scratch per
 * worker. Which worker gets which range is not fixed: a result must not depend
 * on it (write to disjoint outputs, reduce partial sums in item order).
 *
 * Safe to call from several threads at once, and from inside fn: a call that
 * finds the pool busy runs its items on the calling thread (worker 0). */
void pulmo_parallel_for (int n_items,
                         void (*fn) (void *ctx, int begin, int end, int worker),
                         void *ctx);

/* Scratch buffers for one pulmo_parallel_for(): one slot per worker, each
 * allocated (64-byte aligned, zero-filled) by its worker on first use, so a kernel keeps
 * its buffers bounded per core and never shares them between threads. */
typedef struct {
  float **slots;
  int n_slots;
  size_t floats;
} PulmoWorkerScratch;

void pulmo_worker_scratch_init (PulmoWorkerScratch *scratch, size_t floats);
float *pulmo_worker_scratch_get (PulmoWorkerScratch *scratch, int worker);
void pulmo_worker_scratch_clear (PulmoWorkerScratch *scratch);

G_END_DECLS
