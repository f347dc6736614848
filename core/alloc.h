/* Private: memory for the model's large float buffers. */
#ifndef HIPPO_ALLOC_H
#define HIPPO_ALLOC_H

#include <glib.h>

G_BEGIN_DECLS

#define HIPPO_HUGE_PAGE ((gsize) 2 << 20)

/* bytes (not zeroed) to free with g_free, or NULL when there is no
 * memory. From 2 MB on, the block is aligned to 2 MB, rounded up to a
 * multiple of it and marked for transparent huge pages, so that writing
 * it costs one page fault per 2 MB instead of one per 4 KB: page faults
 * were about half of the time it took to load mobilenet_v2_mid. */
gpointer hippo_alloc_large (gsize bytes);

G_END_DECLS

#endif /* HIPPO_ALLOC_H */
