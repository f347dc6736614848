/* Private: a small fork-join thread pool owned by one session. */
#ifndef HIPPO_POOL_H
#define HIPPO_POOL_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _HippoPool HippoPool;

/* Runs task (ctx, index, thread) for index 0 .. n_tasks-1; thread is
 * 0 .. n_threads-1 and names per-thread scratch. */
typedef void (*HippoTaskFunc) (gpointer ctx, int index, int thread);

/* n_threads includes the calling thread; 1 means no extra threads. */
HippoPool *hippo_pool_new (int n_threads, GError **error);
void hippo_pool_free (HippoPool *pool);
int hippo_pool_get_n_threads (const HippoPool *pool);

/* Runs all tasks, the caller taking part, and returns when all are done. */
void hippo_pool_run (HippoPool *pool, int n_tasks, HippoTaskFunc func,
                     gpointer ctx);

G_END_DECLS

#endif /* HIPPO_POOL_H */
