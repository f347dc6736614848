/* hippotag suggest | eval: what to label next; the head measured on
 * held-out images. */

#include <json-glib/json-glib.h>
#include <string.h>

#include "cli.h"

typedef struct
{
  HippoClassifier *c;
  CliProgress *progress;
  gboolean multi_label;
  GArray *index;       /* guint: candidates (unlabelled, classified) */
  GArray *uncertainty; /* float */
  GPtrArray *guess;    /* char*: their best class */
  guint n_failed;
} SuggestCtx;

static gboolean
on_suggest (guint index, const char *path, const HippoPrediction *p,
            const GError *error, gpointer user_data)
{
  SuggestCtx *s = user_data;
  HippoProject *project = hippo_classifier_get_project (s->c);
  g_autoptr (GPtrArray) labelled = NULL;
  g_autofree char *hash = NULL;
  float u;

  cli_progress_update (s->progress, index + 1);
  if (p == NULL)
    {
      s->n_failed++;
      cli_file_error (s->progress, path, error ? error->message : "failed");
      return TRUE;
    }
  hash = hippo_project_hash_file (project, path, NULL);
  if (hash)
    labelled = hippo_project_find_examples_by_hash (project, hash, NULL);
  if (labelled && labelled->len > 0)
    return TRUE;
  hippo_head_uncertainty (p->scores, 1, p->n_classes, s->multi_label, &u);
  g_array_append_val (s->index, index);
  g_array_append_val (s->uncertainty, u);
  g_ptr_array_add (s->guess, g_strdup (p->label ? p->label : "-"));
  return TRUE;
}

int
cli_cmd_suggest (int argc, char **argv)
{
  int n_best = 10;
  g_auto (CliBatch) b = { 0 };
  GOptionEntry entries[] = { { "number", 'n', 0, G_OPTION_ARG_INT, &n_best,
                               "How many files to suggest (10)", "N" },
                             BATCH_ENTRIES (b),
                             { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT PATH...");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) index = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr (GArray) unc = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr (GPtrArray) guess = g_ptr_array_new_with_free_func (g_free);
  g_autofree guint *rank = NULL;
  CliProgress progress;
  SuggestCtx s = { 0 };
  guint m;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Active learning: print the N unlabelled images the head is least "
         "sure about (labelling those helps most), as "
         "FILE<TAB>UNCERTAINTY<TAB>BEST-GUESS, most uncertain first. "
         "Uncertainty is 1 - (p1 - p2) of the two best classes, in [0, 1]. "
         "Files already labelled (same content) are left out.");
  if (!cli_parse (ctx, &argc, &argv) || !cli_batch_check (&b))
    return CLI_USAGE;
  if (argc < 3 || n_best < 1)
    {
      cli_error ("usage: hippotag suggest PROJECT [-n N] PATH...");
      return CLI_USAGE;
    }
  paths = cli_batch_paths (&b, argv + 2, argc - 2);
  c = cli_open_project (argv[1], b.jobs, b.prec, CLI_OPEN_READ);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  cli_warn_if_stale (c);
  s.c = c;
  s.progress = &progress;
  s.multi_label
    = hippo_project_get_multi_label (hippo_classifier_get_project (c), NULL);
  s.index = index;
  s.uncertainty = unc;
  s.guess = guess;
  cli_progress_start (&progress, "suggest", paths->len);
  if (!hippo_classifier_classify_files (c, (const char *const *) paths->pdata,
                                        paths->len, on_suggest, &s, &error))
    {
      cli_progress_clear (&progress);
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  cli_progress_clear (&progress);
  m = index->len;
  rank = g_new (guint, MAX (m, 1));
  hippo_head_rank_uncertain ((const float *) unc->data, m, rank);
  for (guint i = 0; i < MIN (m, (guint) n_best); i++)
    {
      guint r = rank[i];
      const char *path = paths->pdata[g_array_index (index, guint, r)];
      g_autofree char *display = g_filename_display_name (path);
      printf ("%s\t%.4f\t%s\n", display, g_array_index (unc, float, r),
              (const char *) guess->pdata[r]);
    }
  if (!cli_finish_output ())
    return CLI_NOTHING_RAN;
  if (paths->len == 0)
    {
      cli_error ("no files given");
      return CLI_SOME_FAILED;
    }
  if (m == 0 && s.n_failed == 0)
    cli_error ("every file given is already labelled");
  return s.n_failed ? CLI_SOME_FAILED : CLI_OK;
}

/* --- eval -------------------------------------------------------------- */

typedef struct
{
  CliProgress *progress;
  guint n_files;
  guint k;               /* classes of the head, once known */
  GPtrArray *head_names; /* char*, copied from the first prediction */
  float *probs;          /* n_files * k, from the first prediction on */
  gboolean *ok;          /* n_files */
  guint n_failed;
} EvalCtx;

static gboolean
on_eval (guint index, const char *path, const HippoPrediction *p,
         const GError *error, gpointer user_data)
{
  EvalCtx *e = user_data;

  cli_progress_update (e->progress, index + 1);
  if (p == NULL)
    {
      e->n_failed++;
      cli_file_error (e->progress, path, error ? error->message : "failed");
      return TRUE;
    }
  if (e->head_names == NULL)
    {
      e->k = p->n_classes;
      e->head_names = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < p->n_classes; i++)
        g_ptr_array_add (e->head_names, g_strdup (p->names[i]));
      g_ptr_array_add (e->head_names, NULL);
      e->probs = g_new (float, (gsize) e->n_files * e->k);
    }
  memcpy (e->probs + (gsize) index * e->k, p->scores, e->k * sizeof (float));
  e->ok[index] = TRUE;
  return TRUE;
}

int
cli_cmd_eval (int argc, char **argv)
{
  g_autofree char *tree = NULL;
  g_autofree char *format = NULL;
  g_auto (CliBatch) b = { 0 };
  GOptionEntry entries[]
    = { { "tree", 't', 0, G_OPTION_ARG_FILENAME, &tree,
          "Held-out images as DIR/CLASS/...; every CLASS must be a class of "
          "the project",
          "DIR" },
        { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
          "text (default) or json", "FORMAT" },
        BATCH_ENTRIES (b),
        { NULL } };
  static const char *const formats[] = { "text", "json", NULL };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GPtrArray) dirs = NULL;
  g_autoptr (GPtrArray) stored = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) truth = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr (GString) unknown = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoMetrics) metrics = NULL;
  g_autoptr (GPtrArray) head_names = NULL;
  g_autofree float *probs = NULL;
  g_autofree gboolean *ok = NULL;
  g_autofree guint *dir_to_head = NULL;
  g_autofree float *tested = NULL;
  g_autofree guint *labels = NULL;
  g_autofree guint8 *matrix = NULL;
  HippoProject *project;
  CliProgress progress;
  EvalCtx e = { 0 };
  gboolean multi_label;
  double threshold = 0.5;
  guint n_loose, n_tested = 0, k;
  int rc;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Measure the trained head on labelled images it has not seen: "
         "accuracy, per-class precision and recall, confusion matrix.");
  if (!cli_parse (ctx, &argc, &argv) || !cli_batch_check (&b))
    return CLI_USAGE;
  if (argc != 2 || tree == NULL || !cli_check_format (format, formats))
    {
      cli_error ("usage: hippotag eval PROJECT --tree DIR "
                 "[--format text|json]");
      return CLI_USAGE;
    }
  dirs = cli_list_subdirs (tree, &n_loose);
  if (dirs == NULL)
    return CLI_NOTHING_RAN;
  if (dirs->len == 0)
    {
      cli_error ("%s has no class folders (DIR/CLASS/...)", tree);
      return CLI_USAGE;
    }
  if (n_loose > 0)
    cli_error ("%u file%s directly in %s ignored: not in a class folder",
               n_loose, n_loose == 1 ? "" : "s", tree);
  c = cli_open_project (argv[1], b.jobs, b.prec, CLI_OPEN_READ);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  project = hippo_classifier_get_project (c);
  multi_label = hippo_project_get_multi_label (project, NULL);
  if (!hippo_project_get_double (project, HIPPO_SETTING_UNSURE_THRESHOLD, 0.5,
                                 &threshold, &error))
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }

  for (guint i = 0; i < dirs->len; i++)
    {
      g_autoptr (GError) local = NULL;
      char *name = cli_find_class (project, dirs->pdata[i], &local);
      if (name == NULL && local->code != HIPPO_ERROR_NOT_FOUND)
        {
          cli_error ("%s", local->message);
          return CLI_NOTHING_RAN;
        }
      if (name == NULL)
        {
          g_autofree char *display = g_filename_display_name (dirs->pdata[i]);
          g_string_append_printf (unknown, "%s'%s'", unknown->len ? ", " : "",
                                  display);
        }
      g_ptr_array_add (stored, name);
    }
  if (unknown->len > 0)
    {
      cli_error ("classes in %s that the project does not have: %s", tree,
                 unknown->str);
      return CLI_USAGE;
    }
  for (guint i = 0; i < dirs->len; i++)
    {
      g_autofree char *sub = g_build_filename (tree, dirs->pdata[i], NULL);
      g_autoptr (GPtrArray) found = cli_collect_paths (&sub, 1);

      cli_shard_filter (&b, found);
      for (guint j = 0; j < found->len; j++)
        {
          g_ptr_array_add (paths, g_steal_pointer (&found->pdata[j]));
          g_array_append_val (truth, i);
        }
    }
  if (paths->len == 0)
    {
      cli_error ("no images under %s", tree);
      return CLI_SOME_FAILED;
    }
  cli_warn_if_stale (c);

  e.progress = &progress;
  e.n_files = paths->len;
  ok = g_new0 (gboolean, paths->len);
  e.ok = ok;
  cli_progress_start (&progress, "eval", paths->len);
  if (!hippo_classifier_classify_files (c, (const char *const *) paths->pdata,
                                        paths->len, on_eval, &e, &error))
    {
      cli_progress_clear (&progress);
      g_clear_pointer (&e.head_names, g_ptr_array_unref);
      g_free (e.probs);
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  cli_progress_clear (&progress);
  head_names = e.head_names;
  probs = e.probs;
  k = e.k;
  if (head_names == NULL)
    {
      cli_error ("no image could be classified");
      return CLI_NOTHING_RAN;
    }

  /* folder classes -> head classes */
  dir_to_head = g_new (guint, dirs->len);
  g_string_truncate (unknown, 0);
  for (guint i = 0; i < dirs->len; i++)
    {
      g_autofree char *key = cli_class_key (stored->pdata[i]);
      dir_to_head[i] = G_MAXUINT;
      for (guint j = 0; j < k; j++)
        {
          g_autofree char *hk = cli_class_key (head_names->pdata[j]);
          if (g_strcmp0 (key, hk) == 0)
            dir_to_head[i] = j;
        }
      if (dir_to_head[i] == G_MAXUINT)
        g_string_append_printf (unknown, "%s'%s'", unknown->len ? ", " : "",
                                (const char *) stored->pdata[i]);
    }
  if (unknown->len > 0)
    {
      cli_error ("the trained head does not know %s (added or renamed after "
                 "training); run 'hippotag train %s'",
                 unknown->str, argv[1]);
      return CLI_NOTHING_RAN;
    }

  tested = g_new (float, (gsize) paths->len *k);
  labels = g_new (guint, paths->len);
  matrix = g_new0 (guint8, (gsize) paths->len * k);
  for (guint i = 0; i < paths->len; i++)
    if (ok[i])
      {
        guint t = dir_to_head[g_array_index (truth, guint, i)];
        memcpy (tested + (gsize) n_tested * k, probs + (gsize) i * k,
                k * sizeof (float));
        labels[n_tested] = t;
        matrix[(gsize) n_tested * k + t] = 1;
        n_tested++;
      }
  if (n_tested == 0)
    {
      cli_error ("no image could be classified");
      return CLI_NOTHING_RAN;
    }
  metrics = hippo_metrics_from_predictions (
    tested, n_tested, multi_label ? NULL : labels, multi_label ? matrix : NULL,
    k, threshold, &error);
  if (metrics == NULL)
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  if (format && strcmp (format, "json") == 0)
    {
      g_autofree char *json = hippo_metrics_to_json (
        metrics, (const char *const *) head_names->pdata);
      g_autoptr (JsonNode) root = cli_json_parse_object (json);
      if (root)
        {
          g_autofree char *text = NULL;
          json_object_set_int_member (json_node_get_object (root), "failed",
                                      e.n_failed);
          text = cli_json_to_text (root);
          printf ("%s\n", text);
        }
      else
        printf ("%s\n", json);
    }
  else
    {
      g_autofree char *text = hippo_metrics_to_text (
        metrics, (const char *const *) head_names->pdata);
      printf ("%s", text);
      if (e.n_failed > 0)
        printf ("%u file%s could not be classified\n", e.n_failed,
                e.n_failed == 1 ? "" : "s");
    }
  rc = e.n_failed ? CLI_SOME_FAILED : CLI_OK;
  return cli_finish_output () ? rc : CLI_NOTHING_RAN;
}
