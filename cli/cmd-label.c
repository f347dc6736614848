/* hippotag label | unlabel: labelled examples of a project. */

#include <string.h>

#include "cli.h"

typedef struct
{
  CliProgress *progress;
  guint64 done_before;
  guint n_ok;
  guint n_failed;
} LabelCtx;

static gboolean
on_labelled (guint index, const char *path, const HippoPrediction *pred,
             const GError *error, gpointer user_data)
{
  LabelCtx *l = user_data;

  if (error)
    {
      cli_file_error (l->progress, path, error->message);
      l->n_failed++;
    }
  else
    l->n_ok++;
  cli_progress_update (l->progress, l->done_before + index + 1);
  return TRUE;
}

typedef struct
{
  char *name; /* as given (folder name or --class) */
  GPtrArray *paths;
} LabelJob;

static void
label_job_free (gpointer p)
{
  LabelJob *j = p;

  g_free (j->name);
  g_ptr_array_unref (j->paths);
  g_free (j);
}

int
cli_cmd_label (int argc, char **argv)
{
  g_autofree char *class_name = NULL;
  g_autofree char *tree = NULL;
  g_auto (CliBatch) b = { 0 };
  GOptionEntry entries[]
    = { { "class", 'c', 0, G_OPTION_ARG_STRING, &class_name,
          "Label the files as this class (created if missing)", "NAME" },
        { "tree", 't', 0, G_OPTION_ARG_FILENAME, &tree,
          "Label every image under DIR/CLASS/ as CLASS (classes are created "
          "as needed; files directly in DIR are ignored)",
          "DIR" },
        BATCH_ENTRIES (b),
        { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT [PATH...]");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GPtrArray) jobs = g_ptr_array_new_with_free_func (label_job_free);
  HippoProject *project;
  CliProgress progress;
  LabelCtx l = { &progress, 0, 0, 0 };
  guint64 total = 0;
  int rc = CLI_OK;
  gboolean fatal = FALSE;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Label images (files or folders, read recursively) as a class. "
         "Features are computed once and cached in the project.");
  if (!cli_parse (ctx, &argc, &argv) || !cli_batch_check (&b))
    return CLI_USAGE;
  if (argc < 2 || (class_name == NULL) == (tree == NULL)
      || (class_name && argc < 3) || (tree && argc != 2))
    {
      cli_error ("usage: hippotag label PROJECT --class NAME PATH..., or "
                 "hippotag label PROJECT --tree DIR");
      return CLI_USAGE;
    }

  if (class_name)
    {
      LabelJob *j = g_new0 (LabelJob, 1);
      j->name = g_strdup (class_name);
      j->paths = cli_collect_paths (argv + 2, argc - 2);
      g_ptr_array_add (jobs, j);
    }
  else
    {
      guint n_loose;
      g_autoptr (GPtrArray) dirs = cli_list_subdirs (tree, &n_loose);
      if (dirs == NULL)
        return CLI_NOTHING_RAN;
      if (n_loose > 0)
        cli_error ("%u file%s directly in %s ignored: not in a class folder",
                   n_loose, n_loose == 1 ? "" : "s", tree);
      for (guint i = 0; i < dirs->len; i++)
        {
          g_autofree char *sub = g_build_filename (tree, dirs->pdata[i], NULL);
          LabelJob *j = g_new0 (LabelJob, 1);
          j->name = g_strdup (dirs->pdata[i]);
          j->paths = cli_collect_paths (&sub, 1);
          if (j->paths->len == 0)
            {
              cli_error ("%s has no files; class '%s' skipped", sub, j->name);
              label_job_free (j);
              continue;
            }
          g_ptr_array_add (jobs, j);
        }
      if (jobs->len == 0)
        {
          cli_error ("no class folders with files in %s", tree);
          return CLI_SOME_FAILED;
        }
    }
  for (guint i = 0; i < jobs->len; i++)
    {
      LabelJob *j = jobs->pdata[i];
      cli_shard_filter (&b, j->paths);
      total += j->paths->len;
    }

  c = cli_open_project (argv[1], b.jobs, b.prec, CLI_OPEN_WRITE);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  project = hippo_classifier_get_project (c);

  cli_progress_start (&progress, "label", total);
  for (guint i = 0; i < jobs->len && !fatal; i++)
    {
      LabelJob *j = jobs->pdata[i];
      g_autoptr (GError) error = NULL;
      g_autofree char *stored = NULL;
      gboolean created;
      guint ok_before = l.n_ok, failed_before = l.n_failed;

      stored = cli_ensure_class (project, j->name, &created, &error);
      if (stored == NULL)
        {
          cli_progress_clear (&progress);
          cli_error ("class '%s': %s", j->name, error->message);
          if (error->code == HIPPO_ERROR_PROJECT)
            fatal = TRUE;
          l.n_failed += j->paths->len;
          l.done_before += j->paths->len;
          continue;
        }
      if (created)
        {
          cli_progress_clear (&progress);
          cli_error ("created class '%s'", stored);
        }
      if (!hippo_classifier_label_files (
            c, stored, (const char *const *) j->paths->pdata, j->paths->len,
            on_labelled, &l, &error))
        {
          cli_progress_clear (&progress);
          cli_error ("%s", error->message);
          fatal = TRUE;
          break;
        }
      l.done_before += j->paths->len;
      cli_progress_clear (&progress);
      printf ("%s\t%u labelled", stored, l.n_ok - ok_before);
      if (l.n_failed > failed_before)
        printf (", %u failed", l.n_failed - failed_before);
      putchar ('\n');
    }
  cli_progress_clear (&progress);
  if (total == 0)
    cli_error ("no files to label");
  if (fatal)
    rc = l.n_ok > 0 ? CLI_SOME_FAILED : CLI_NOTHING_RAN;
  else if (l.n_failed > 0 || total == 0)
    rc = CLI_SOME_FAILED;
  if (!cli_finish_output ())
    rc = CLI_NOTHING_RAN;
  return rc;
}

int
cli_cmd_unlabel (int argc, char **argv)
{
  g_autofree char *class_name = NULL;
  GOptionEntry entries[]
    = { { "class", 'c', 0, G_OPTION_ARG_STRING, &class_name,
          "Only remove this class's label", "NAME" },
        { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT PATH...");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *stored = NULL;
  HippoProject *project;
  guint n_failed = 0, n_total = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Remove the labels of files (folders are read recursively). A file "
         "is found by its path, or by its content when it was labelled "
         "under another path.");
  if (!cli_parse (ctx, &argc, &argv))
    return CLI_USAGE;
  if (argc < 3)
    {
      cli_error ("usage: hippotag unlabel PROJECT PATH...");
      return CLI_USAGE;
    }
  c = cli_open_project (argv[1], 0, HIPPO_PRECISION_FLOAT32, CLI_OPEN_WRITE);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  project = hippo_classifier_get_project (c);
  if (class_name && (stored = cli_find_class (project, class_name, &error)) == NULL)
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  paths = cli_collect_paths (argv + 2, argc - 2);
  if (!hippo_project_begin (project, &error))
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = paths->pdata[i];
      g_autofree char *display = g_filename_display_name (path);
      g_autoptr (GError) e = NULL;
      guint n = 0;

      if (!hippo_project_remove_examples_by_path (project, path, stored, &n,
                                                  &e))
        {
          cli_file_error (NULL, path, e->message);
          n_failed++;
          continue;
        }
      if (n == 0 && g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          g_autofree char *hash = hippo_project_hash_file (project, path, &e);
          if (hash == NULL
              || !hippo_project_remove_examples_by_hash (project, hash, stored,
                                                         &n, &e))
            {
              cli_file_error (NULL, path, e->message);
              n_failed++;
              continue;
            }
        }
      if (n == 0 && !g_file_test (path, G_FILE_TEST_EXISTS))
        {
          cli_file_error (NULL, path, "no such file, and not labelled");
          n_failed++;
          continue;
        }
      n_total += n;
      if (n == 0)
        printf ("%s\tnot labelled\n", display);
      else
        printf ("%s\t%u label%s removed\n", display, n, n == 1 ? "" : "s");
    }
  if (!hippo_project_commit (project, &error))
    {
      hippo_project_rollback (project);
      cli_error ("%s; nothing was unlabelled", error->message);
      return CLI_NOTHING_RAN;
    }
  if (!cli_finish_output ())
    return CLI_NOTHING_RAN;
  return n_failed ? CLI_SOME_FAILED : CLI_OK;
}
