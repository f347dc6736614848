/* Hippotag — features of many image files: decoding and the network in
 * batches, every file's outcome reported in input order.
 */
#ifndef HIPPOTAG_EXTRACT_H
#define HIPPOTAG_EXTRACT_H

#include <hippotag/hippotag-common.h>
#include <hippotag/hippotag-model.h>

G_BEGIN_DECLS

/**
 * HippoExtractor:
 *
 * Turns image files into feature vectors on its threads: each thread
 * decodes files and runs the network on them with a session of its own, so
 * decoding on one thread overlaps the network on another, and T threads
 * keep at most T cores busy. Used by one thread at a time.
 */
typedef struct _HippoExtractor HippoExtractor;

/**
 * HippoExtractFunc:
 * @index: the file's position in the list given to hippo_extractor_run().
 * @path: the file.
 * @features: (nullable): its hippo_extractor_get_dim() features, or %NULL
 *   when it failed; valid only during the call.
 * @error: (nullable): why it failed, or %NULL.
 * @user_data: the data given to hippo_extractor_run().
 *
 * Receives each file's outcome, in input order, on the calling thread.
 *
 * Returns: %TRUE to go on, %FALSE to stop (the run then fails with
 *   %HIPPO_ERROR_CANCELLED).
 */
typedef gboolean (*HippoExtractFunc) (guint index, const char *path,
                                      const float *features,
                                      const GError *error,
                                      gpointer user_data);

/**
 * hippo_extractor_new:
 * @model: the model; the extractor keeps a reference.
 * @params: (nullable): session options (threads, batch, layers), or %NULL
 *   for the defaults. The batch is that of each thread: files decoded by
 *   one thread and run through the network together.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: (transfer full): an extractor to free with hippo_extractor_free(),
 *   or %NULL with @error set as by hippo_session_new().
 */
HippoExtractor *hippo_extractor_new (HippoModel *model,
                                     const HippoSessionParams *params,
                                     GError **error);

/**
 * hippo_extractor_free:
 * @extractor: (nullable): an extractor. %NULL is a no-op.
 */
void hippo_extractor_free (HippoExtractor *extractor);

/**
 * hippo_extractor_get_dim:
 * @extractor: an extractor.
 *
 * Returns: the length of one feature vector.
 */
guint hippo_extractor_get_dim (const HippoExtractor *extractor);

/**
 * hippo_extractor_get_session:
 * @extractor: an extractor.
 *
 * Returns: (transfer none): a session with all the extractor's threads
 *   that splits each layer over them, for single images (with more than
 *   one thread, hippo_extractor_run() uses sessions of its own, one per
 *   thread).
 */
HippoSession *hippo_extractor_get_session (const HippoExtractor *extractor);

/**
 * hippo_extractor_run:
 * @extractor: an extractor.
 * @paths: the image files.
 * @n_paths: how many.
 * @func: receives every file's outcome in order.
 * @user_data: data for @func.
 * @error: return location for a #GError, or %NULL.
 *
 * Extracts the features of every file. A file that cannot be read or
 * decoded is reported to @func with its error and the rest go on. Memory
 * does not grow with @n_paths: a few files per thread are in flight.
 *
 * Returns: %TRUE when every file was reported (whether or not it
 *   succeeded); %FALSE with %HIPPO_ERROR_CANCELLED when @func stopped it,
 *   or with %HIPPO_ERROR_LIMIT when not even one thread's buffers could be
 *   allocated.
 */
gboolean hippo_extractor_run (HippoExtractor *extractor,
                              const char *const *paths, guint n_paths,
                              HippoExtractFunc func, gpointer user_data,
                              GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoExtractor, hippo_extractor_free)

G_END_DECLS

#endif /* HIPPOTAG_EXTRACT_H */
