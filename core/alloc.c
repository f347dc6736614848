/* Large blocks with transparent huge pages. */
#include "hippo-config.h"

#include <stdlib.h>
#include <sys/mman.h>

#include "alloc.h"

gpointer
hippo_alloc_large (gsize bytes)
{
  gpointer p = NULL;

  if (bytes < HIPPO_HUGE_PAGE)
    return g_try_malloc (MAX (bytes, 1));
  if (bytes > G_MAXSIZE - HIPPO_HUGE_PAGE)
    return NULL;
  bytes = (bytes + HIPPO_HUGE_PAGE - 1) / HIPPO_HUGE_PAGE * HIPPO_HUGE_PAGE;
  if (posix_memalign (&p, HIPPO_HUGE_PAGE, bytes) != 0)
    return NULL;
#ifdef MADV_HUGEPAGE
  madvise (p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}
