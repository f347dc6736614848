/* hippotag init | class: create a project, manage its classes. */

#include <glib/gstdio.h>
#include <string.h>

#include "cli.h"

static void
remove_project_files (const char *path)
{
  static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (path, suffixes[i], NULL);
      g_unlink (p);
    }
}

/* A model given as a path is stored absolute, so the project works from
 * any folder; a plain name stays a name. */
static char *
model_argument (const char *model)
{
  if (model == NULL)
    return NULL;
  if (strchr (model, G_DIR_SEPARATOR) || g_str_has_suffix (model, ".json")
      || g_file_test (model, G_FILE_TEST_IS_DIR))
    return g_canonicalize_filename (model, NULL);
  return g_strdup (model);
}

int
cli_cmd_init (int argc, char **argv)
{
  g_autofree char *model_name = NULL;
  g_autofree char *model_arg = NULL;
  g_autofree char *layers = NULL;
  gboolean multi_label = FALSE;
  GOptionEntry entries[]
    = { { "model", 'm', 0, G_OPTION_ARG_STRING, &model_name,
          "Model name or path (default " HIPPO_DEFAULT_MODEL ")", "NAME|PATH" },
        { "multi-label", 0, 0, G_OPTION_ARG_NONE, &multi_label,
          "An image may have several classes (independent yes/no per class)",
          NULL },
        { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GError) error = NULL;
  HippoClassifierParams params;
  const char *path;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx, "Create a project file (e.g. "
                                     "photos.hippotag); fails if it exists.");
  if (!cli_parse (ctx, &argc, &argv))
    return CLI_USAGE;
  if (argc != 2)
    {
      cli_error ("usage: hippotag init PROJECT [--model NAME|PATH] "
                 "[--multi-label]");
      return CLI_USAGE;
    }
  path = argv[1];
  if (g_file_test (path, G_FILE_TEST_EXISTS)
      || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      cli_error ("%s already exists; not touched", path);
      return CLI_NOTHING_RAN;
    }
  model_arg = model_argument (model_name);
  hippo_classifier_params_default (&params);
  params.create = TRUE;
  params.model = model_arg;
  params.multi_label = multi_label;
  c = hippo_classifier_open (path, &params, &error);
  if (c == NULL)
    {
      cli_error ("%s", error->message);
      remove_project_files (path);
      return CLI_NOTHING_RAN;
    }
  layers = hippo_project_get_string (hippo_classifier_get_project (c),
                                     HIPPO_SETTING_LAYERS, "", NULL);
  printf ("created %s: model %s, layers %s, %s\n", path,
          hippo_model_get_name (hippo_classifier_get_model (c)),
          layers ? layers : "", multi_label ? "multi-label" : "single-label");
  return cli_finish_output () ? CLI_OK : CLI_NOTHING_RAN;
}

/* --- class ------------------------------------------------------------- */

int
cli_cmd_class (int argc, char **argv)
{
  gboolean force = FALSE;
  GOptionEntry entries[]
    = { { "force", 'f', 0, G_OPTION_ARG_NONE, &force,
          "remove: also delete the class's labelled examples (their cached "
          "features stay)",
          NULL },
        { NULL } };
  g_autoptr (GOptionContext) ctx
    = g_option_context_new ("add|rename|remove|list PROJECT [NAME [NEWNAME]]");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *stored = NULL;
  HippoProject *project;
  const char *sub;
  gboolean ok = FALSE;
  int want;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Manage the classes of a project.\n\n"
         "  add PROJECT NAME         add a class\n"
         "  rename PROJECT NAME NEW  rename it (its examples follow)\n"
         "  remove PROJECT NAME      remove a class without examples; with\n"
         "                           --force also unlabel its examples\n"
         "  list PROJECT             list classes and example counts\n\n"
         "Any change marks the trained head stale: train again.");
  if (!cli_parse (ctx, &argc, &argv))
    return CLI_USAGE;
  sub = argc > 1 ? argv[1] : "";
  want = strcmp (sub, "add") == 0      ? 4
         : strcmp (sub, "rename") == 0 ? 5
         : strcmp (sub, "remove") == 0 ? 4
         : strcmp (sub, "list") == 0   ? 3
                                       : -1;
  if (want < 0 || argc != want)
    {
      cli_error ("usage: hippotag class add|rename|remove PROJECT NAME "
                 "[NEWNAME], or class list PROJECT");
      return CLI_USAGE;
    }
  c = cli_open_project (argv[2], 0, HIPPO_PRECISION_FLOAT32,
                    strcmp (sub, "list") == 0 ? CLI_OPEN_READ : CLI_OPEN_WRITE);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  project = hippo_classifier_get_project (c);

  if (strcmp (sub, "list") == 0)
    {
      g_autoptr (GPtrArray) classes
        = hippo_project_list_classes (project, &error);
      if (classes == NULL)
        {
          cli_error ("%s", error->message);
          return CLI_NOTHING_RAN;
        }
      for (guint i = 0; i < classes->len; i++)
        {
          HippoClassInfo *ci = classes->pdata[i];
          printf ("%s\t%u\n", ci->name, ci->n_examples);
        }
      return cli_finish_output () ? CLI_OK : CLI_NOTHING_RAN;
    }
  if (strcmp (sub, "add") == 0)
    {
      ok = hippo_project_add_class (project, argv[3], NULL, NULL, &error);
      if (ok)
        printf ("added class '%s'\n", argv[3]);
    }
  else if ((stored = cli_find_class (project, argv[3], &error)) == NULL)
    ok = FALSE;
  else if (strcmp (sub, "rename") == 0)
    {
      ok = hippo_project_rename_class (project, stored, argv[4], &error);
      if (ok)
        printf ("renamed class '%s' to '%s'\n", stored, argv[4]);
    }
  else
    {
      guint n = 0;
      ok = hippo_project_remove_class (project, stored, force, &n, &error);
      if (ok)
        printf ("removed class '%s' and %u labelled example%s\n", stored, n,
                n == 1 ? "" : "s");
      else if (error->code == HIPPO_ERROR_STATE)
        {
          cli_error ("%s", error->message);
          cli_error ("not removed; 'hippotag class remove --force %s %s' "
                     "deletes its examples too",
                     argv[2], argv[3]);
          return CLI_NOTHING_RAN;
        }
    }
  if (!ok)
    {
      cli_error ("%s", error->message);
      return cli_error_rc (error);
    }
  return cli_finish_output () ? CLI_OK : CLI_NOTHING_RAN;
}
