/* Private: the file pipeline under hippo_extractor_run(), with the hooks
 * the classifier uses to look files up in a project's caches. */
#ifndef HIPPO_EXTRACT_PRIVATE_H
#define HIPPO_EXTRACT_PRIVATE_H

#include <sys/stat.h>

#include "hippotag/hippotag-extract.h"
#include "hippotag/hippotag-project.h"

G_BEGIN_DECLS

/* Where the time of a run goes (HIPPOTAG_PROFILE=1 or =pipeline prints
 * it when the extractor is freed). */
typedef enum
{
  HIPPO_STAGE_HASH,    /* reading a file and hashing its bytes */
  HIPPO_STAGE_DECODE,  /* reading and decoding an image */
  HIPPO_STAGE_RESIZE,  /* resizing it to the model's input */
  HIPPO_STAGE_NETWORK, /* the network */
  HIPPO_STAGE_LOOKUP,  /* cache look-ups (calling thread) */
  HIPPO_STAGE_HEAD,    /* the classifier head */
  HIPPO_STAGE_OUTPUT,  /* what the caller does with each outcome */
  HIPPO_STAGE_STORE,   /* cache writes */
  HIPPO_STAGE_IDLE,    /* a thread with nothing to do */
  HIPPO_N_STAGES
} HippoStage;

/* One file on its way through the pipeline. */
typedef struct
{
  guint index;      /* in the list given to the run */
  const char *path; /* as given */
  /* hashing: set hash_path (a g_malloc'd path to read, freed by the
   * pipeline) or leave it NULL to hash path */
  char *hash_path;
  char hash[HIPPO_HASH_HEX_LEN + 1]; /* "" until known */
  struct stat st;     /* after hashing: the file's state when read */
  gboolean stable;    /* after hashing: it did not change while read */
  float *features;    /* dim floats, owned by the pipeline */
  gboolean have;      /* features holds the file's features */
  gboolean extracted; /* ... and they come from the network */
  GError *error;      /* why it failed, when it did */
} HippoItem;

typedef enum
{
  HIPPO_ITEM_EXTRACT, /* decode it and run the network */
  HIPPO_ITEM_HASH,    /* hash its bytes, then ask again (hashed) */
  HIPPO_ITEM_HAVE,    /* its features were filled in: nothing to do */
  HIPPO_ITEM_FAIL,    /* item->error was set */
} HippoItemAction;

/* All called on the thread that runs the pipeline, one at a time:
 * prepare for each file in input order once it enters the pipeline's
 * window (NULL: extract every file); hashed after a HIPPO_ITEM_HASH once
 * item->hash is known (not called when hashing failed; NULL: extract);
 * deliver for each file in input order, FALSE to stop. */
typedef struct
{
  HippoItemAction (*prepare) (HippoItem *item, gpointer user_data);
  HippoItemAction (*hashed) (HippoItem *item, gpointer user_data);
  gboolean (*deliver) (HippoItem *item, gpointer user_data);
} HippoItemFuncs;

/* Runs the files through the pipeline. FALSE with HIPPO_ERROR_CANCELLED
 * when deliver stopped it. */
gboolean hippo_extractor_run_items (HippoExtractor *ex,
                                    const char *const *paths, guint n_paths,
                                    const HippoItemFuncs *funcs,
                                    gpointer user_data, GError **error);

/* TRUE when stage times are being kept. */
gboolean hippo_extractor_is_profiling (const HippoExtractor *ex);

/* Adds time the caller spent in a stage on the calling thread (head,
 * output, cache writes). */
void hippo_extractor_add_time (HippoExtractor *ex, HippoStage stage, gint64 us);

G_END_DECLS

#endif /* HIPPO_EXTRACT_PRIVATE_H */
