/* Hippotag GIMP plug-in — projects, classifying and labelling an image.
 *
 * A thin layer over HippoClassifier (hippotag-classifier.h): open a
 * project with its model, read a GIMP image the way the engine wants it,
 * classify it with the project's trained head, label it as a class.
 */
#include "plugin-classify.h"

#include <string.h>

#include "plugin-image.h"
#include "plugin-timing.h"

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
  g_free (result->label);
  g_free (result->project);
  g_free (result->model);
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
 * @project: (nullable): the project argument; %NULL for the per-user
 *   default project.
 * @path: (out) (transfer full): the project's local path.
 * @error: return location for a #GError, or %NULL.
 *
 * Checks that the project exists, is a local file and starts like an
 * SQLite database, so that the common mistakes get a clear message before
 * the model is loaded.
 *
 * Returns: %TRUE when usable; %FALSE with %HIPPO_ERROR_NOT_FOUND (no such
 *   file, or no default project), %HIPPO_ERROR_INVALID_ARGUMENT (not a
 *   local file), %HIPPO_ERROR_IO or %HIPPO_ERROR_PROJECT.
 */
gboolean
hippo_plugin_check_project (GFile *project, char **path, GError **error)
{
  g_autofree char *p = NULL;
  g_autoptr (GFile) file = NULL;
  g_autoptr (GFileInputStream) in = NULL;
  GError *local_error = NULL;
  char header[16];
  gsize n = 0;

  *path = NULL;
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
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND,
                       "no project given and no default project at %s "
                       "(pass a project, or make one there with 'hippotag "
                       "init', 'hippotag label' and 'hippotag train')",
                       p);
          return FALSE;
        }
    }

  file = g_file_new_for_path (p);
  in = g_file_read (file, NULL, &local_error);
  if (in == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND,
                     "no project at %s (create it with 'hippotag init')", p);
      else
        g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                     "cannot read the project %s: %s", p, local_error->message);
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

/**
 * hippo_plugin_open_classifier:
 * @path: the project file.
 * @read_only: open the project read-only (classify only); otherwise
 *   read-write where the file can be written, and read-only when a
 *   read-write open fails (e.g. another process holds the write lock).
 * @error: return location for a #GError, or %NULL.
 *
 * Opens a project and loads its model. An error of the model (not of the
 * project) is prefixed with "cannot load the model NAME of PROJECT".
 *
 * Returns: (transfer full): the classifier, or %NULL with @error set (the
 *   errors of hippo_classifier_open()).
 */
HippoClassifier *
hippo_plugin_open_classifier (const char *path, gboolean read_only,
                              GError **error)
{
  HippoClassifierParams params;
  HippoClassifier *c;
  GError *local_error = NULL;

  hippo_classifier_params_default (&params);
  params.read_only = read_only;
  c = hippo_classifier_open (path, &params, &local_error);
  if (c == NULL && !read_only
      && g_error_matches (local_error, HIPPO_ERROR, HIPPO_ERROR_PROJECT)
      && g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      /* e.g. another process holds the write lock: classify anyway */
      params.read_only = TRUE;
      c = hippo_classifier_open (path, &params, NULL);
      if (c != NULL)
        g_clear_error (&local_error);
    }
  if (c == NULL)
    {
      if (local_error->domain == HIPPO_ERROR
          && local_error->code != HIPPO_ERROR_PROJECT)
        {
          /* only on failure: name the model the project asks for */
          g_autoptr (HippoProject) p
            = hippo_project_open (path, HIPPO_PROJECT_OPEN_READ_ONLY, NULL);
          g_autofree char *model
            = p != NULL ? hippo_project_get_string (p, HIPPO_SETTING_MODEL,
                                                    HIPPO_DEFAULT_MODEL, NULL)
                        : NULL;

          g_prefix_error (&local_error,
                          "cannot load the model %s of the project %s: ",
                          model != NULL ? model : "?", path);
        }
      g_propagate_error (error, local_error);
      return NULL;
    }
  hippo_plugin_timing_mark ("classifier: project and model loaded");
  return c;
}

/**
 * hippo_plugin_read_image:
 * @classifier: the classifier that will see the pixels.
 * @image: a GIMP image.
 * @drawable: (nullable): one drawable alone, or %NULL for the visible
 *   composite.
 * @error: return location for a #GError, or %NULL.
 *
 * Reads the pixels, box-averaged down to no less than twice the model's
 * input size (see hippo_plugin_image_read()). Main thread only.
 *
 * Returns: (transfer full): the image, or %NULL with @error set.
 */
HippoImage *
hippo_plugin_read_image (HippoClassifier *classifier, GimpImage *image,
                         GimpDrawable *drawable, GError **error)
{
  int w, h;

  hippo_model_get_input_size (hippo_classifier_get_model (classifier), &w, &h);
  return hippo_plugin_image_read (image, drawable, 2 * w, 2 * h, error);
}

static int
compare_scores (gconstpointer a, gconstpointer b)
{
  double sa = ((const HippoPluginScore *) a)->score;
  double sb = ((const HippoPluginScore *) b)->score;

  return (sa < sb) - (sa > sb);
}

/**
 * hippo_plugin_classify:
 * @classifier: a classifier whose project is trained.
 * @image: the pixels.
 * @error: return location for a #GError, or %NULL.
 *
 * Classifies with the project's trained head.
 *
 * Returns: (transfer full): every class ranked, the label, confidence and
 *   unsure flag; %NULL with @error set (%HIPPO_ERROR_STATE for an untrained
 *   project, with what to do about it).
 */
HippoPluginResult *
hippo_plugin_classify (HippoClassifier *classifier, const HippoImage *image,
                       GError **error)
{
  g_autoptr (HippoPluginResult) result = NULL;
  HippoPrediction p;
  guint i;

  if (!hippo_classifier_classify_image (classifier, image, &p, error))
    return NULL;
  hippo_plugin_timing_mark ("classifier: network and head run");
  if (p.n_classes == 0)
    {
      hippo_prediction_clear (&p);
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                   "the trained head has no classes; train the project "
                   "again");
      return NULL;
    }
  result = g_new0 (HippoPluginResult, 1);
  result->n_scores = p.n_classes;
  result->scores = g_new0 (HippoPluginScore, p.n_classes);
  for (i = 0; i < p.n_classes; i++)
    {
      result->scores[i].name = g_strdup (p.names[i]);
      result->scores[i].score = p.scores[i];
    }
  qsort (result->scores, result->n_scores, sizeof *result->scores,
         compare_scores);
  /* a multi-label project may name no class: show the likeliest, unsure */
  result->label = g_strdup (p.label != NULL ? p.label : result->scores[0].name);
  result->confidence = p.label != NULL ? p.confidence : result->scores[0].score;
  result->unsure = p.unsure || p.label == NULL;
  hippo_prediction_clear (&p);

  result->project = g_strdup (
    hippo_project_get_path (hippo_classifier_get_project (classifier)));
  result->model
    = g_strdup (hippo_model_get_name (hippo_classifier_get_model (classifier)));
  result->stale = hippo_classifier_is_stale (classifier);
  return g_steal_pointer (&result);
}

/**
 * hippo_plugin_list_classes:
 * @classifier: a classifier.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: (transfer full): the project's class names in their order,
 *   %NULL-terminated (g_strfreev()); %NULL with %HIPPO_ERROR_PROJECT.
 */
char **
hippo_plugin_list_classes (HippoClassifier *classifier, GError **error)
{
  g_autoptr (GPtrArray) classes = NULL;
  GPtrArray *names;
  guint i;

  classes = hippo_project_list_classes (
    hippo_classifier_get_project (classifier), error);
  if (classes == NULL)
    return NULL;
  names = g_ptr_array_new ();
  for (i = 0; i < classes->len; i++)
    g_ptr_array_add (names,
                     g_strdup (((HippoClassInfo *) classes->pdata[i])->name));
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}

/* The stored name of the class called @name in any case, or NULL (with
 * @error only when the project fails). */
static char *
find_class (HippoProject *project, const char *name, GError **error)
{
  g_autoptr (HippoClassInfo) ci = NULL;
  GError *local = NULL;

  ci = hippo_project_lookup_class (project, name, &local);
  if (ci != NULL)
    return g_strdup (ci->name);
  if (local->code != HIPPO_ERROR_NOT_FOUND)
    g_propagate_error (error, local);
  else
    g_error_free (local);
  return NULL;
}

/**
 * hippo_plugin_label:
 * @classifier: a classifier opened read-write.
 * @class_name: the class (matched ignoring case; created when missing).
 * @image: the pixels.
 * @created: (out) (optional): whether the class was created.
 * @error: return location for a #GError, or %NULL.
 *
 * Adds the pixels as an example of the class: their features are stored
 * in the project under the hash of the pixels (no file needed). The head
 * is stale afterwards until the project is trained again.
 *
 * Returns: (transfer full): the class's stored name, or %NULL with @error
 *   set (%HIPPO_ERROR_INVALID_ARGUMENT for a bad class name,
 *   %HIPPO_ERROR_PROJECT when the project cannot be written).
 */
char *
hippo_plugin_label (HippoClassifier *classifier, const char *class_name,
                    const HippoImage *image, gboolean *created, GError **error)
{
  HippoProject *project = hippo_classifier_get_project (classifier);
  g_autofree char *stored = NULL;
  GError *local_error = NULL;

  if (created != NULL)
    *created = FALSE;
  if (hippo_project_is_read_only (project))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                   "the project %s cannot be written (read-only file or "
                   "folder)",
                   hippo_project_get_path (project));
      return NULL;
    }
  stored = find_class (project, class_name, error);
  if (stored == NULL)
    {
      if (error != NULL && *error != NULL)
        return NULL;
      if (!hippo_project_add_class (project, class_name, NULL, NULL,
                                    &local_error))
        {
          /* another process may have added it meanwhile */
          stored = find_class (project, class_name, NULL);
          if (stored == NULL)
            {
              g_propagate_prefixed_error (
                error, local_error, "cannot add the class '%s': ", class_name);
              return NULL;
            }
          g_clear_error (&local_error);
        }
      else
        {
          stored = find_class (project, class_name, error);
          if (stored == NULL)
            {
              if (error != NULL && *error == NULL)
                g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                             "the class '%s' was added but cannot be found",
                             class_name);
              return NULL;
            }
          if (created != NULL)
            *created = TRUE;
        }
    }
  if (!hippo_classifier_label_image (classifier, stored, image, NULL, error))
    return NULL;
  return g_steal_pointer (&stored);
}
