/* Hippotag GIMP plug-in — classifying an image.
 *
 * INTERIM: until the project/classifier API (hippotag-classifier.h) lands,
 * HippoPluginClassifier runs the default model's own 5-class output
 * (nsfwjs: Drawing, Hentai, Neutral, Porn, Sexy) and ignores the project's
 * trained head. Its three calls map onto that API: open the project (and
 * its model), classify an image with the project's head, return the ranked
 * classes. Everything else
 * in the plug-in (arguments, image reading, keywords, errors, tests) stays.
 */
#include "plugin-classify.h"

#include <string.h>
#include <libgimp/gimp.h>
#include <hippotag/hippotag.h>

#include "plugin-timing.h"

/* INTERIM: the class names of the nsfwjs models' output, in order */
static const char *const interim_class_names[] = {
  "Drawing", "Hentai", "Neutral", "Porn", "Sexy",
};

/**
 * hippo_plugin_result_free:
 * @result: (nullable): a result. %NULL is a no-op.
 */
void
hippo_plugin_result_free (HippoPluginResult *result)
{
  guint i;

  if (result == NULL)
    return;
  for (i = 0; i < result->n_scores; i++)
    g_free (result->scores[i].name);
  g_free (result->scores);
  g_free (result->project);
  g_free (result->classifier);
  g_free (result);
}

/**
 * hippo_plugin_default_project:
 *
 * Returns: (transfer full): the per-user default project,
 *   gimp_directory()/hippotag/default.hippotag.
 */
char *
hippo_plugin_default_project (void)
{
  return g_build_filename (gimp_directory (), "hippotag", "default.hippotag",
                           NULL);
}

/**
 * hippo_plugin_check_project:
 * @project: (nullable): the project argument; %NULL for the default.
 * @is_default: (out): whether the default project was chosen.
 * @path: (out) (transfer full): the project's local path; %NULL when the
 *   default project does not exist yet.
 * @error: return location for a #GError, or %NULL.
 *
 * Checks that a project named by the user exists, is a local file and starts
 * like an SQLite database. The per-user default may be missing (interim
 * only: the model's own classes need no project).
 *
 * Returns: %TRUE when usable; %FALSE with %HIPPO_ERROR_NOT_FOUND,
 *   %HIPPO_ERROR_IO or %HIPPO_ERROR_PROJECT.
 */
gboolean
hippo_plugin_check_project (GFile *project, gboolean *is_default, char **path,
                            GError **error)
{
  g_autofree char *p = NULL;
  g_autoptr (GFile) file = NULL;
  g_autoptr (GFileInputStream) in = NULL;
  GError *local_error = NULL;
  char header[16];
  gsize n = 0;

  *path = NULL;
  *is_default = (project == NULL);
  if (project != NULL)
    {
      p = g_file_get_path (project);
      if (p == NULL)
        {
          g_autofree char *uri = g_file_get_uri (project);

          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                       "the project %s is not a local file", uri);
          return FALSE;
        }
    }
  else
    {
      p = hippo_plugin_default_project ();
      if (!g_file_test (p, G_FILE_TEST_EXISTS))
        return TRUE; /* INTERIM: no project needed yet */
    }

  file = g_file_new_for_path (p);
  in = g_file_read (file, NULL, &local_error);
  if (in == NULL)
    {
      int code = g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
                   ? HIPPO_ERROR_NOT_FOUND
                   : HIPPO_ERROR_IO;

      if (code == HIPPO_ERROR_NOT_FOUND)
        g_set_error (error, HIPPO_ERROR, code,
                     "no project at %s (create it with the trainer or "
                     "'hippotag init')",
                     p);
      else
        g_set_error (error, HIPPO_ERROR, code, "cannot read the project %s: %s",
                     p, local_error->message);
      g_error_free (local_error);
      return FALSE;
    }
  if (!g_input_stream_read_all (G_INPUT_STREAM (in), header, sizeof header, &n,
                                NULL, &local_error))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                   "cannot read the project %s: %s", p, local_error->message);
      g_error_free (local_error);
      return FALSE;
    }
  if (n != sizeof header || memcmp (header, "SQLite format 3", 16) != 0)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                   "%s is not a Hippotag project (not an SQLite file)", p);
      return FALSE;
    }
  *path = g_steal_pointer (&p);
  return TRUE;
}

static int
compare_scores (gconstpointer a, gconstpointer b)
{
  double sa = ((const HippoPluginScore *) a)->score;
  double sb = ((const HippoPluginScore *) b)->score;

  return (sa < sb) - (sa > sb);
}

struct _HippoPluginClassifier
{
  HippoModel *model;
  HippoSession *session;
  char *project;
};

/**
 * hippo_plugin_classifier_open:
 * @project: (nullable): the project's path.
 * @error: return location for a #GError, or %NULL.
 *
 * INTERIM: loads the default model with a session on its own output layer;
 * the project is only recorded (see the top of this file).
 *
 * Returns: (transfer full): the classifier, or %NULL with @error set (errors
 *   of hippo_model_load() and hippo_session_new()).
 */
HippoPluginClassifier *
hippo_plugin_classifier_open (const char *project, GError **error)
{
  g_autoptr (HippoPluginClassifier) c = g_new0 (HippoPluginClassifier, 1);
  HippoSessionParams params;

  c->model = hippo_model_load (NULL, error);
  if (c->model == NULL)
    {
      g_prefix_error (error, "cannot load the model %s: ", HIPPO_DEFAULT_MODEL);
      return NULL;
    }
  hippo_plugin_timing_mark ("classifier: model loaded");
  hippo_session_params_default (&params);
  params.n_threads = 0;
  params.layers = hippo_model_get_output_layer (c->model);
  c->session = hippo_session_new (c->model, &params, error);
  if (c->session == NULL)
    return NULL;
  c->project = g_strdup (project);
  hippo_plugin_timing_mark ("classifier: session made");
  return g_steal_pointer (&c);
}

/**
 * hippo_plugin_classifier_free:
 * @classifier: (nullable): a classifier. %NULL is a no-op.
 */
void
hippo_plugin_classifier_free (HippoPluginClassifier *classifier)
{
  if (classifier == NULL)
    return;
  hippo_session_free (classifier->session);
  hippo_model_free (classifier->model);
  g_free (classifier->project);
  g_free (classifier);
}

/**
 * hippo_plugin_classifier_get_input_size:
 * @classifier: a classifier.
 * @width: (out): the model's input width.
 * @height: (out): the model's input height.
 */
void
hippo_plugin_classifier_get_input_size (const HippoPluginClassifier *classifier,
                                        int *width, int *height)
{
  hippo_model_get_input_size (classifier->model, width, height);
}

/**
 * hippo_plugin_classifier_run:
 * @classifier: a classifier.
 * @image: the image to classify.
 * @error: return location for a #GError, or %NULL.
 *
 * INTERIM: the model's own output, not the project's head (see the top of
 * this file).
 *
 * Returns: (transfer full): the ranked classes, or %NULL with @error set
 *   (errors of hippo_session_run()).
 */
HippoPluginResult *
hippo_plugin_classifier_run (HippoPluginClassifier *classifier,
                             const HippoImage *image, GError **error)
{
  g_autoptr (HippoPluginResult) result = NULL;
  g_autofree float *input = NULL;
  g_autofree float *out = NULL;
  int w, h;
  guint dim, i;

  hippo_model_get_input_size (classifier->model, &w, &h);
  input = g_new (float, (gsize) w *h * 3);
  hippo_image_to_input (image, w, h, input);
  dim = hippo_session_get_dim (classifier->session);
  out = g_new (float, dim);
  if (!hippo_session_run (classifier->session, input, 1, out, error))
    return NULL;
  hippo_plugin_timing_mark ("classifier: network run");

  result = g_new0 (HippoPluginResult, 1);
  result->scores = g_new0 (HippoPluginScore, dim);
  result->n_scores = dim;
  for (i = 0; i < dim; i++)
    {
      result->scores[i].name = dim == G_N_ELEMENTS (interim_class_names)
                                 ? g_strdup (interim_class_names[i])
                                 : g_strdup_printf ("class-%u", i);
      result->scores[i].score = out[i];
    }
  qsort (result->scores, dim, sizeof *result->scores, compare_scores);
  result->project = g_strdup (classifier->project);
  result->classifier = g_strdup_printf (
    "%s's own classes (interim: the project's classes are not used yet)",
    hippo_model_get_name (classifier->model));
  return g_steal_pointer (&result);
}
