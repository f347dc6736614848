/* Hippotag — transfer learning for images, in C.
 * Common definitions: version, error domain.
 */
#ifndef HIPPOTAG_COMMON_H
#define HIPPOTAG_COMMON_H

#include <glib.h>

G_BEGIN_DECLS

#define HIPPO_VERSION_MAJOR 0
#define HIPPO_VERSION_MINOR 1
#define HIPPO_VERSION_MICRO 0
#define HIPPO_VERSION_STRING "0.1.0"

/**
 * HIPPO_ERROR:
 *
 * The error domain of every fallible call in libhippotag.
 */
#define HIPPO_ERROR (hippo_error_quark ())

/**
 * HippoErrorCode:
 * @HIPPO_ERROR_FAILED: anything not covered below.
 * @HIPPO_ERROR_IO: a file could not be read or written.
 * @HIPPO_ERROR_NOT_FOUND: a named thing (model, layer, class, file) does not
 *   exist.
 * @HIPPO_ERROR_INVALID_ARGUMENT: a caller passed a value outside its range
 *   (user input, not a programming error).
 * @HIPPO_ERROR_MODEL_FORMAT: a model file is malformed (bad JSON, missing
 *   keys, wrong types, truncated or inconsistent weights).
 * @HIPPO_ERROR_MODEL_UNSUPPORTED: a model uses a layer, op, dtype or attribute
 *   the engine does not implement; the message names it.
 * @HIPPO_ERROR_MODEL_INVALID: a model is well-formed but wrong: shapes that do
 *   not fit, non-finite weights, a cycle or a missing input.
 * @HIPPO_ERROR_LIMIT: an input exceeds a safety limit (size, count, pixels).
 * @HIPPO_ERROR_IMAGE: an image could not be decoded.
 * @HIPPO_ERROR_CANCELLED: a progress callback asked to stop.
 * @HIPPO_ERROR_PROJECT: a project file is malformed, locked, read-only or
 *   from a newer version.
 * @HIPPO_ERROR_STATE: the operation needs a state that is missing (e.g. an
 *   untrained project, a project with no classes).
 *
 * Error codes in the %HIPPO_ERROR domain.
 */
typedef enum
{
  HIPPO_ERROR_FAILED,
  HIPPO_ERROR_IO,
  HIPPO_ERROR_NOT_FOUND,
  HIPPO_ERROR_INVALID_ARGUMENT,
  HIPPO_ERROR_MODEL_FORMAT,
  HIPPO_ERROR_MODEL_UNSUPPORTED,
  HIPPO_ERROR_MODEL_INVALID,
  HIPPO_ERROR_LIMIT,
  HIPPO_ERROR_IMAGE,
  HIPPO_ERROR_CANCELLED,
  HIPPO_ERROR_PROJECT,
  HIPPO_ERROR_STATE,
} HippoErrorCode;

/**
 * hippo_error_quark:
 *
 * Returns: the #GQuark of the %HIPPO_ERROR domain.
 */
GQuark hippo_error_quark (void);

/**
 * HippoProgressFunc:
 * @done: units of work finished so far.
 * @total: all units of work (0 when unknown).
 * @user_data: the data given with the callback.
 *
 * Reports progress of a long call. Called on the thread that made the call.
 *
 * Returns: %TRUE to go on, %FALSE to cancel (the call then fails with
 *   %HIPPO_ERROR_CANCELLED after leaving everything consistent).
 */
typedef gboolean (*HippoProgressFunc) (guint64 done, guint64 total,
                                       gpointer user_data);

G_END_DECLS

#endif /* HIPPOTAG_COMMON_H */
