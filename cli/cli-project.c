/* The hippotag command: a project opened with its model, and its classes
 * found by name. */

#include <string.h>

#include "cli.h"

HippoClassifier *
cli_open_project (const char *path, int jobs, HippoPrecision precision,
                  CliOpenMode mode)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) error_ro = NULL;
  HippoClassifierParams params;
  HippoClassifier *c;

  hippo_classifier_params_default (&params);
  params.n_threads = jobs;
  params.precision = precision;
  c = hippo_classifier_open (path, &params, &error);
  if (c != NULL
      && hippo_project_is_read_only (hippo_classifier_get_project (c)))
    {
      /* the file or its folder cannot be written: the core opened it
       * read-only */
      if (mode == CLI_OPEN_WRITE)
        {
          cli_error ("%s: the project is not writable (a read-only file or "
                     "folder)", path);
          hippo_classifier_free (c);
          return NULL;
        }
      cli_error ("%s is not writable; opened read-only (new features are "
                 "not cached)", path);
    }
  if (c != NULL)
    return c;
  if (mode == CLI_OPEN_READ && error->domain == HIPPO_ERROR
      && error->code == HIPPO_ERROR_PROJECT
      && g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      params.read_only = TRUE;
      c = hippo_classifier_open (path, &params, &error_ro);
      if (c != NULL)
        {
          cli_error ("%s; opened read-only (new features are not cached)",
                     error->message);
          return c;
        }
    }
  cli_error ("%s", error->message);
  return NULL;
}

void
cli_warn_if_stale (HippoClassifier *c)
{
  if (hippo_classifier_is_stale (c))
    cli_error ("warning: classes or labels changed since the last training; "
               "run 'hippotag train %s'",
               hippo_project_get_path (hippo_classifier_get_project (c)));
}

char *
cli_class_key (const char *name)
{
  g_autofree char *nfc = NULL;

  if (!g_utf8_validate (name, -1, NULL))
    return NULL;
  nfc = g_utf8_normalize (name, -1, G_NORMALIZE_NFC);
  if (nfc == NULL)
    return NULL;
  g_strstrip (nfc);
  return g_utf8_casefold (nfc, -1);
}

char *
cli_find_class (HippoProject *project, const char *name, GError **error)
{
  g_autoptr (HippoClassInfo) ci = NULL;
  GError *local = NULL;

  ci = hippo_project_lookup_class (project, name, &local);
  if (ci != NULL)
    return g_strdup (ci->name);
  g_propagate_error (error, local);
  return NULL;
}

char *
cli_ensure_class (HippoProject *project, const char *name, gboolean *created,
                  GError **error)
{
  g_autoptr (GError) local = NULL;
  char *found;

  *created = FALSE;
  found = cli_find_class (project, name, &local);
  if (found || local->code != HIPPO_ERROR_NOT_FOUND)
    {
      if (!found)
        g_propagate_error (error, g_steal_pointer (&local));
      return found;
    }
  if (!hippo_project_add_class (project, name, NULL, NULL, error))
    {
      /* another process may have added it meanwhile */
      found = cli_find_class (project, name, NULL);
      if (found)
        g_clear_error (error);
      return found;
    }
  *created = TRUE;
  return cli_find_class (project, name, error);
}

