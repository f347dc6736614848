/* A fork-join pool: workers spin briefly on a generation counter, then
 * sleep on a condition variable; tasks are claimed with an atomic counter. */
#include "hippo-config.h"

#include "hippotag/hippotag-common.h"
#include "pool.h"

#include <sched.h>

/* An idle worker spins (yielding the CPU to anyone else who wants it) for
 * this long before it sleeps: longer than the gap between two layers, so
 * it is awake when the next layer starts instead of paying a futex wake-up
 * (tens of microseconds on a VM) per layer. */
#define SPIN_US 300

typedef struct
{
  HippoPool *pool;
  int index;
  GThread *thread;
} Worker;

struct _HippoPool
{
  int n_threads;
  Worker *workers;

  GMutex lock;
  GCond wake;
  GCond done_cond;
  gint generation;   /* bumped for each job */
  gint quit;

  /* the current job */
  HippoTaskFunc func;
  gpointer ctx;
  gint n_tasks;
  gint next_task;
  gint busy;         /* workers still in the job */

  /* who sleeps on a condition: the other side takes the lock and signals
   * only then (each side sets its flag before it looks at the other's
   * counter, so no wake-up is lost) */
  gint sleepers;     /* workers in g_cond_wait (wake) */
  gint main_waiting; /* the caller in g_cond_wait (done_cond) */
};

static void
work (HippoPool *pool, int thread)
{
  for (;;)
    {
      int i = g_atomic_int_add (&pool->next_task, 1);
      if (i >= pool->n_tasks)
        break;
      pool->func (pool->ctx, i, thread);
    }
}

static gpointer
worker_main (gpointer data)
{
  Worker *w = data;
  HippoPool *pool = w->pool;
  int seen = 0;

  for (;;)
    {
      gint64 start = g_get_monotonic_time ();

      while (g_atomic_int_get (&pool->generation) == seen
             && !g_atomic_int_get (&pool->quit)
             && g_get_monotonic_time () - start < SPIN_US)
        sched_yield ();
      if (g_atomic_int_get (&pool->generation) == seen
          && !g_atomic_int_get (&pool->quit))
        {
          g_mutex_lock (&pool->lock);
          g_atomic_int_inc (&pool->sleepers);
          while (g_atomic_int_get (&pool->generation) == seen
                 && !g_atomic_int_get (&pool->quit))
            g_cond_wait (&pool->wake, &pool->lock);
          g_atomic_int_add (&pool->sleepers, -1);
          g_mutex_unlock (&pool->lock);
        }
      if (g_atomic_int_get (&pool->quit))
        return NULL;
      seen = g_atomic_int_get (&pool->generation);
      work (pool, w->index);
      if (g_atomic_int_dec_and_test (&pool->busy)
          && g_atomic_int_get (&pool->main_waiting))
        {
          g_mutex_lock (&pool->lock);
          g_cond_signal (&pool->done_cond);
          g_mutex_unlock (&pool->lock);
        }
    }
}

HippoPool *
hippo_pool_new (int n_threads, GError **error)
{
  HippoPool *pool;

  if (n_threads < 1 || n_threads > 1024)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "thread count %d out of range 1..1024", n_threads);
      return NULL;
    }
  pool = g_new0 (HippoPool, 1);
  pool->n_threads = n_threads;
  g_mutex_init (&pool->lock);
  g_cond_init (&pool->wake);
  g_cond_init (&pool->done_cond);
  pool->workers = g_new0 (Worker, n_threads);
  for (int i = 1; i < n_threads; i++)
    {
      Worker *w = &pool->workers[i];
      w->pool = pool;
      w->index = i;
      w->thread = g_thread_try_new ("hippo-worker", worker_main, w, error);
      if (w->thread == NULL)
        {
          hippo_pool_free (pool);
          return NULL;
        }
    }
  return pool;
}

void
hippo_pool_free (HippoPool *pool)
{
  if (pool == NULL)
    return;
  g_mutex_lock (&pool->lock);
  g_atomic_int_set (&pool->quit, 1);
  g_cond_broadcast (&pool->wake);
  g_mutex_unlock (&pool->lock);
  for (int i = 1; i < pool->n_threads; i++)
    if (pool->workers[i].thread)
      g_thread_join (pool->workers[i].thread);
  g_free (pool->workers);
  g_mutex_clear (&pool->lock);
  g_cond_clear (&pool->wake);
  g_cond_clear (&pool->done_cond);
  g_free (pool);
}

int
hippo_pool_get_n_threads (const HippoPool *pool)
{
  return pool->n_threads;
}

void
hippo_pool_run (HippoPool *pool, int n_tasks, HippoTaskFunc func,
                gpointer ctx)
{
  if (n_tasks <= 0)
    return;
  if (pool->n_threads == 1 || n_tasks == 1)
    {
      for (int i = 0; i < n_tasks; i++)
        func (ctx, i, 0);
      return;
    }
  pool->func = func;
  pool->ctx = ctx;
  pool->n_tasks = n_tasks;
  g_atomic_int_set (&pool->next_task, 0);
  g_atomic_int_set (&pool->busy, pool->n_threads - 1);
  g_atomic_int_inc (&pool->generation);
  if (g_atomic_int_get (&pool->sleepers) > 0)
    {
      g_mutex_lock (&pool->lock);
      g_cond_broadcast (&pool->wake);
      g_mutex_unlock (&pool->lock);
    }

  work (pool, 0);

  /* Wait for the workers: spin first, then sleep. */
  {
    gint64 start = g_get_monotonic_time ();
    while (g_atomic_int_get (&pool->busy) > 0
           && g_get_monotonic_time () - start < SPIN_US)
      sched_yield ();
  }
  if (g_atomic_int_get (&pool->busy) > 0)
    {
      g_mutex_lock (&pool->lock);
      g_atomic_int_set (&pool->main_waiting, 1);
      while (g_atomic_int_get (&pool->busy) > 0)
        g_cond_wait (&pool->done_cond, &pool->lock);
      g_atomic_int_set (&pool->main_waiting, 0);
      g_mutex_unlock (&pool->lock);
    }
}
