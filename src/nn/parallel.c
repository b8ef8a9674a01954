/* parallel.c: a persistent pool of n_threads - 1 helper threads; the caller
 * works as worker 0. Each worker owns an equal, contiguous share of the
 * items and works through it in small chunks, then takes the chunks left in
 * the others' shares, so a core slowed by another process does not hold up
 * the rest. Owning the same share in every job keeps a worker on the same
 * part of the data from one layer to the next (the same rows of an image,
 * the same channels), which then is still in its own caches.
 *
 * One job at a time: a caller that finds the pool busy (another thread's job,
 * or a nested call from inside fn) runs its items itself, so two inferences on
 * two threads both progress and nothing can deadlock.
 *
 * A forward pass makes dozens of jobs a few tens of microseconds apart, and
 * waking a sleeping thread costs about as much (more in a virtual machine),
 * so helpers and the caller spin for a short while before they sleep. */
#include "nn/parallel.h"

#include <cblas.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define PULMO_MAX_THREADS 256
/* How long a helper waits for the next job, or the caller for the helpers,
 * before sleeping. */
#define SPIN_MICROSECONDS 100

/* Items [next, end) of a worker's share are still to do; one cache line
 * each, since workers take chunks from their shares at the same time. */
typedef struct {
  alignas (64) atomic_int next;
  int end;
} PulmoParallelShare;

typedef struct {
  void (*fn) (void *ctx, int begin, int end, int worker);
  void *ctx;
  int chunk;
  PulmoParallelShare shares[PULMO_MAX_THREADS];
} PulmoParallelJob;

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static int pool_n_threads = 1;
static atomic_flag pool_busy = ATOMIC_FLAG_INIT;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_work_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pool_done_cond = PTHREAD_COND_INITIALIZER;
/* Written under pool_lock; read without it while spinning. */
static atomic_ulong pool_generation; /* bumped for each job */
static atomic_int pool_pending;      /* helpers still working on the job */
static PulmoParallelJob pool_job;

/* The worker's own share first, then what is left of the others'. */
static void
run_chunks (PulmoParallelJob *job, int worker)
{
  for (int k = 0; k < pool_n_threads; k++)
    {
      PulmoParallelShare *share = &job->shares[(worker + k) % pool_n_threads];
      for (;;)
        {
          int begin = atomic_fetch_add (&share->next, job->chunk);
          if (begin >= share->end)
            break;
          job->fn (job->ctx, begin, MIN (begin + job->chunk, share->end), worker);
        }
    }
}

/* Spins until @done (ctx) or SPIN_MICROSECONDS have passed; TRUE if done. */
static gboolean
spin_until (gboolean (*done) (const void *ctx), const void *ctx)
{
  gint64 deadline = g_get_monotonic_time () + SPIN_MICROSECONDS;
  do
    {
      for (int i = 0; i < 64; i++)
        {
          if (done (ctx))
            return TRUE;
          __builtin_ia32_pause ();
        }
    }
  while (g_get_monotonic_time () < deadline);
  return FALSE;
}

static gboolean
new_job (const void *seen)
{
  return atomic_load (&pool_generation) != *(const unsigned long *) seen;
}

static gboolean
helpers_done (const void *unused)
{
  return atomic_load (&pool_pending) == 0;
}

static void *
helper_main (void *data)
{
  int worker = GPOINTER_TO_INT (data);
  unsigned long seen = 0;

  for (;;)
    {
      spin_until (new_job, &seen);
      pthread_mutex_lock (&pool_lock);
      while (atomic_load (&pool_generation) == seen)
        pthread_cond_wait (&pool_work_cond, &pool_lock);
      seen = atomic_load (&pool_generation);
      pthread_mutex_unlock (&pool_lock);

      run_chunks (&pool_job, worker);

      pthread_mutex_lock (&pool_lock);
      if (--pool_pending == 0)
        pthread_cond_signal (&pool_done_cond);
      pthread_mutex_unlock (&pool_lock);
    }
  return NULL;
}

static void
pool_init (void)
{
  /* Our workers each call sgemm; OpenBLAS threads on top would oversubscribe. */
  openblas_set_num_threads (1);

  int n = (int) g_get_num_processors ();
  const char *env = g_getenv ("PULMO_NUM_THREADS");
  if (env != NULL)
    {
      int requested = atoi (env);
      if (requested >= 1 && requested <= PULMO_MAX_THREADS)
        n = requested;
    }
  n = CLAMP (n, 1, PULMO_MAX_THREADS);

  int started = 1;
  for (int worker = 1; worker < n; worker++)
    {
      pthread_t thread;
      pthread_attr_t attr;
      pthread_attr_init (&attr);
      pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
      int failed = pthread_create (&thread, &attr, helper_main, GINT_TO_POINTER (worker));
      pthread_attr_destroy (&attr);
      if (failed)
        break;
      started++;
    }
  pool_n_threads = started;
}

int
pulmo_parallel_n_threads (void)
{
  pthread_once (&pool_once, pool_init);
  return pool_n_threads;
}

void
pulmo_parallel_for (int n_items,
                    void (*fn) (void *ctx, int begin, int end, int worker),
                    void *ctx)
{
  g_return_if_fail (fn != NULL);
  if (n_items <= 0)
    return;

  int n_threads = pulmo_parallel_n_threads ();
  if (n_threads == 1 || n_items == 1 || atomic_flag_test_and_set (&pool_busy))
    {
      fn (ctx, 0, n_items, 0);
      return;
    }

  pool_job.fn = fn;
  pool_job.ctx = ctx;
  pool_job.chunk = MAX (1, n_items / (4 * n_threads));
  for (int worker = 0; worker < n_threads; worker++)
    {
      atomic_store (&pool_job.shares[worker].next, (int) ((long) worker * n_items / n_threads));
      pool_job.shares[worker].end = (int) ((long) (worker + 1) * n_items / n_threads);
    }

  pthread_mutex_lock (&pool_lock);
  pool_pending = n_threads - 1;
  pool_generation++;
  pthread_cond_broadcast (&pool_work_cond);
  pthread_mutex_unlock (&pool_lock);

  run_chunks (&pool_job, 0);

  if (!spin_until (helpers_done, NULL))
    {
      pthread_mutex_lock (&pool_lock);
      while (atomic_load (&pool_pending) > 0)
        pthread_cond_wait (&pool_done_cond, &pool_lock);
      pthread_mutex_unlock (&pool_lock);
    }

  atomic_flag_clear (&pool_busy);
}

void
pulmo_worker_scratch_init (PulmoWorkerScratch *scratch, size_t floats)
{
  scratch->n_slots = pulmo_parallel_n_threads ();
  scratch->slots = g_new0 (float *, scratch->n_slots);
  scratch->floats = MAX (floats, 1);
}

float *
pulmo_worker_scratch_get (PulmoWorkerScratch *scratch, int worker)
{
  g_return_val_if_fail (worker >= 0 && worker < scratch->n_slots, NULL);
  if (scratch->slots[worker] == NULL)
    {
      scratch->slots[worker] = g_aligned_alloc (scratch->floats, sizeof (float), 64);
      memset (scratch->slots[worker], 0, scratch->floats * sizeof (float));
    }
  return scratch->slots[worker];
}

void
pulmo_worker_scratch_clear (PulmoWorkerScratch *scratch)
{
  for (int i = 0; i < scratch->n_slots; i++)
    g_aligned_free (scratch->slots[i]);
  g_clear_pointer (&scratch->slots, g_free);
}
