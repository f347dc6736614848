/* Features of many files: decode a batch in parallel, then run it. */
#include "hippo-config.h"

#include <string.h>

#include "hippotag/hippotag-extract.h"
#include "hippotag/hippotag-image.h"
#include "pool.h"

struct _HippoExtractor
{
  HippoSession *session;
  HippoPool *pool;
  int batch;
  gsize in_floats;     /* one image's input */
  float *inputs;       /* batch * in_floats */
  float *features;     /* batch * dim */
  GError **errors;     /* per slot of the batch */
};

typedef struct
{
  HippoExtractor *ex;
  const char *const *paths;
  guint first;
} DecodeJob;

HippoExtractor *
hippo_extractor_new (HippoModel *model, const HippoSessionParams *params,
                     GError **error)
{
  HippoExtractor *ex;
  int w, h;

  g_return_val_if_fail (model != NULL, NULL);
  ex = g_new0 (HippoExtractor, 1);
  ex->session = hippo_session_new (model, params, error);
  if (ex->session == NULL)
    {
      hippo_extractor_free (ex);
      return NULL;
    }
  ex->batch = params ? params->max_batch : 1;
  ex->pool = hippo_pool_new (hippo_session_get_n_threads (ex->session),
                             error);
  if (ex->pool == NULL)
    {
      hippo_extractor_free (ex);
      return NULL;
    }
  hippo_model_get_input_size (model, &w, &h);
  ex->in_floats = (gsize) w * h * 3;
  ex->inputs = g_try_malloc ((gsize) ex->batch * ex->in_floats
                             * sizeof (float));
  ex->features = g_try_malloc ((gsize) ex->batch
                               * hippo_session_get_dim (ex->session)
                               * sizeof (float));
  ex->errors = g_new0 (GError *, ex->batch);
  if (ex->inputs == NULL || ex->features == NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "out of memory for a batch of %d", ex->batch);
      hippo_extractor_free (ex);
      return NULL;
    }
  return ex;
}

void
hippo_extractor_free (HippoExtractor *ex)
{
  if (ex == NULL)
    return;
  for (int i = 0; ex->errors && i < ex->batch; i++)
    g_clear_error (&ex->errors[i]);
  g_free (ex->errors);
  g_free (ex->inputs);
  g_free (ex->features);
  hippo_pool_free (ex->pool);
  hippo_session_free (ex->session);
  g_free (ex);
}

guint
hippo_extractor_get_dim (const HippoExtractor *ex)
{
  g_return_val_if_fail (ex != NULL, 0);
  return hippo_session_get_dim (ex->session);
}

HippoSession *
hippo_extractor_get_session (const HippoExtractor *ex)
{
  g_return_val_if_fail (ex != NULL, NULL);
  return ex->session;
}

static void
decode_task (gpointer data, int slot, int thread)
{
  DecodeJob *job = data;
  HippoExtractor *ex = job->ex;

  g_clear_error (&ex->errors[slot]);
  hippo_image_load_input (hippo_session_get_model (ex->session),
                          job->paths[job->first + slot],
                          ex->inputs + (gsize) slot * ex->in_floats,
                          &ex->errors[slot]);
}

gboolean
hippo_extractor_run (HippoExtractor *ex, const char *const *paths,
                     guint n_paths, HippoExtractFunc func,
                     gpointer user_data, GError **error)
{
  guint dim;

  g_return_val_if_fail (ex != NULL && func != NULL, FALSE);
  g_return_val_if_fail (n_paths == 0 || paths != NULL, FALSE);
  dim = hippo_session_get_dim (ex->session);

  for (guint first = 0; first < n_paths; first += ex->batch)
    {
      guint n = MIN ((guint) ex->batch, n_paths - first);
      DecodeJob job = { ex, paths, first };
      guint n_ok = 0;
      int *map = g_newa (int, n);

      hippo_pool_run (ex->pool, n, decode_task, &job);
      /* pack the decoded ones together */
      for (guint i = 0; i < n; i++)
        {
          map[i] = -1;
          if (ex->errors[i] == NULL)
            {
              if (n_ok != i)
                memcpy (ex->inputs + (gsize) n_ok * ex->in_floats,
                        ex->inputs + (gsize) i * ex->in_floats,
                        ex->in_floats * sizeof (float));
              map[i] = n_ok++;
            }
        }
      if (n_ok > 0)
        {
          GError *local = NULL;
          if (!hippo_session_run (ex->session, ex->inputs, n_ok, ex->features,
                                  &local))
            {
              for (guint i = 0; i < n; i++)
                if (map[i] >= 0)
                  {
                    ex->errors[i] = g_error_copy (local);
                    map[i] = -1;
                  }
              g_error_free (local);
            }
        }
      for (guint i = 0; i < n; i++)
        {
          const float *f = map[i] >= 0 ? ex->features + (gsize) map[i] * dim
                                       : NULL;
          if (!func (first + i, paths[first + i], f, ex->errors[i],
                     user_data))
            {
              g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED,
                           "cancelled");
              return FALSE;
            }
        }
    }
  return TRUE;
}
