/* Hippotag trainer — the project worker thread. */
#include "trainer-worker.h"

typedef struct
{
  HippoWorkerFunc func; /* NULL: quit */
  gpointer data;
  GDestroyNotify destroy;
  guint generation;
  gboolean cancellable;
} Job;

struct _HippoWorker
{
  GThread *thread;
  GAsyncQueue *jobs;
  HippoClassifier *classifier;
  gint generation; /* atomic: bumped by cancel */
  gint current;    /* atomic: generation of the running job */
  gint pending;    /* atomic */
};

static void
job_free (Job *job)
{
  if (job->destroy)
    job->destroy (job->data);
  g_free (job);
}

static gpointer
worker_main (gpointer data)
{
  HippoWorker *w = data;

  for (;;)
    {
      Job *job = g_async_queue_pop (w->jobs);
      if (job->func == NULL)
        {
          job_free (job);
          break;
        }
      g_atomic_int_set (&w->current,
                        job->cancellable ? (gint) job->generation : G_MININT);
      if (!job->cancellable
          || job->generation == (guint) g_atomic_int_get (&w->generation))
        job->func (w, w->classifier, job->data);
      job_free (job);
      g_atomic_int_add (&w->pending, -1);
    }
  return NULL;
}

HippoWorker *
hippo_worker_new (HippoClassifier *classifier)
{
  HippoWorker *w = g_new0 (HippoWorker, 1);

  w->classifier = classifier;
  w->jobs = g_async_queue_new ();
  w->thread = g_thread_new ("hippotag-worker", worker_main, w);
  return w;
}

void
hippo_worker_free (HippoWorker *w)
{
  Job *quit;

  if (w == NULL)
    return;
  hippo_worker_cancel (w);
  quit = g_new0 (Job, 1);
  g_async_queue_push (w->jobs, quit);
  g_thread_join (w->thread);
  for (Job *job; (job = g_async_queue_try_pop (w->jobs)) != NULL;)
    job_free (job);
  g_async_queue_unref (w->jobs);
  hippo_classifier_free (w->classifier);
  g_free (w);
}

void
hippo_worker_push (HippoWorker *w, HippoWorkerFunc func, gpointer data,
                   GDestroyNotify destroy, gboolean cancellable)
{
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (func != NULL);
  job->func = func;
  job->data = data;
  job->destroy = destroy;
  job->cancellable = cancellable;
  job->generation = (guint) g_atomic_int_get (&w->generation);
  g_atomic_int_inc (&w->pending);
  g_async_queue_push (w->jobs, job);
}

void
hippo_worker_push_next (HippoWorker *w, HippoWorkerFunc func, gpointer data,
                        GDestroyNotify destroy)
{
  Job *job = g_new0 (Job, 1);
  gint current = g_atomic_int_get (&w->current);

  g_return_if_fail (func != NULL);
  job->func = func;
  job->data = data;
  job->destroy = destroy;
  job->cancellable = current != G_MININT;
  job->generation = (guint) current;
  g_atomic_int_inc (&w->pending);
  g_async_queue_push (w->jobs, job);
}

void
hippo_worker_cancel (HippoWorker *w)
{
  g_atomic_int_inc (&w->generation);
}

gboolean
hippo_worker_is_cancelled (HippoWorker *w)
{
  gint current = g_atomic_int_get (&w->current);

  return current != G_MININT && current != g_atomic_int_get (&w->generation);
}

guint
hippo_worker_get_pending (HippoWorker *w)
{
  return (guint) g_atomic_int_get (&w->pending);
}
