/* Hippotag trainer — one thread that owns the HippoClassifier and runs the
 * project jobs (label, unlabel, train, classify, apply) in order, so label
 * changes reach the project in the order they were made. Private to ui/. */
#ifndef HIPPO_TRAINER_WORKER_H
#define HIPPO_TRAINER_WORKER_H

#include <hippotag/hippotag.h>

G_BEGIN_DECLS

typedef struct _HippoWorker HippoWorker;

/* Runs on the worker thread; reports to the main thread itself (e.g. with
 * g_main_context_invoke()). */
typedef void (*HippoWorkerFunc) (HippoWorker *worker,
                                 HippoClassifier *classifier, gpointer data);

/* Takes @classifier; from now on only the worker thread uses it. */
HippoWorker *hippo_worker_new (HippoClassifier *classifier);
/* Cancels the running job, drops queued ones (their @destroy runs), waits
 * for the thread, frees the classifier. */
void hippo_worker_free (HippoWorker *worker);
/* A @cancellable job is skipped or stopped by hippo_worker_cancel(); label
 * changes are pushed not cancellable so none is lost. */
void hippo_worker_push (HippoWorker *worker, HippoWorkerFunc func,
                        gpointer data, GDestroyNotify destroy,
                        gboolean cancellable);
/* From a running job (on the worker): queues @func as its continuation,
 * behind what is queued now, in the job's own generation: a Cancel of the
 * job skips the continuation too (its @destroy still runs). */
void hippo_worker_push_next (HippoWorker *worker, HippoWorkerFunc func,
                             gpointer data, GDestroyNotify destroy);
/* Asks the running cancellable job (and the ones queued before this call)
 * to stop. */
void hippo_worker_cancel (HippoWorker *worker);
/* For jobs: whether to stop. */
gboolean hippo_worker_is_cancelled (HippoWorker *worker);
/* Jobs queued or running (main thread). */
guint hippo_worker_get_pending (HippoWorker *worker);

G_END_DECLS

#endif /* HIPPO_TRAINER_WORKER_H */
