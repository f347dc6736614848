/* hippotag classify: the trained head's predictions for images. */

#include <string.h>

#include "cli.h"

typedef enum
{
  FORMAT_TEXT,
  FORMAT_JSONL,
  FORMAT_CSV,
} Format;

typedef struct
{
  Format format;
  int top;
  CliProgress *progress;
  GString *line;
  guint n_ok;
  guint n_failed;
  gboolean multi_label;
  gboolean write_failed;
} ClassifyCtx;

static void
append_scores_json (GString *out, const HippoPrediction *p, int top)
{
  g_autofree guint *order = g_new (guint, MAX (p->n_classes, 1));
  guint n = p->n_classes;

  if (top > 0)
    {
      cli_rank_scores (p->scores, p->n_classes, order);
      n = MIN (n, (guint) top);
    }
  else
    for (guint i = 0; i < n; i++)
      order[i] = i;
  g_string_append_c (out, '{');
  for (guint i = 0; i < n; i++)
    {
      if (i)
        g_string_append (out, ", ");
      cli_json_string (out, p->names[order[i]]);
      g_string_append (out, ": ");
      cli_json_number (out, p->scores[order[i]]);
    }
  g_string_append_c (out, '}');
}

static gboolean
on_classified (guint index, const char *path, const HippoPrediction *p,
               const GError *error, gpointer user_data)
{
  ClassifyCtx *x = user_data;
  GString *line = x->line;

  g_string_truncate (line, 0);
  if (p == NULL)
    {
      x->n_failed++;
      cli_file_error (x->progress, path, error ? error->message : "failed");
      if (x->format == FORMAT_JSONL)
        {
          g_string_append (line, "{\"file\": ");
          cli_json_string (line, path);
          g_string_append (line, ", \"error\": ");
          cli_json_string (line, error ? error->message : "failed");
          g_string_append (line, "}\n");
        }
      else if (x->format == FORMAT_CSV)
        {
          cli_csv_field (line, path);
          g_string_append (line, ",,,,,");
          cli_csv_field (line, error ? error->message : "failed");
          g_string_append (line, "\r\n");
        }
    }
  else if (x->format == FORMAT_JSONL)
    {
      x->n_ok++;
      g_string_append (line, "{\"file\": ");
      cli_json_string (line, path);
      g_string_append (line, ", \"label\": ");
      if (p->label)
        cli_json_string (line, p->label);
      else
        g_string_append (line, "null");
      g_string_append (line, ", \"confidence\": ");
      cli_json_number (line, p->confidence);
      g_string_append_printf (line, ", \"unsure\": %s",
                              p->unsure ? "true" : "false");
      if (x->multi_label)
        {
          gboolean first = TRUE;
          g_string_append (line, ", \"labels\": [");
          for (guint i = 0; i < p->n_classes; i++)
            if (p->scores[i] >= 0.5f)
              {
                if (!first)
                  g_string_append (line, ", ");
                cli_json_string (line, p->names[i]);
                first = FALSE;
              }
          g_string_append_c (line, ']');
        }
      g_string_append (line, ", \"scores\": ");
      append_scores_json (line, p, x->top);
      g_string_append (line, "}\n");
    }
  else if (x->format == FORMAT_CSV)
    {
      g_autofree guint *order = g_new (guint, MAX (p->n_classes, 1));
      g_autoptr (GString) scores = g_string_new (NULL);
      guint n = x->top > 0 ? MIN ((guint) x->top, p->n_classes) : p->n_classes;

      x->n_ok++;
      cli_rank_scores (p->scores, p->n_classes, order);
      for (guint i = 0; i < n; i++)
        g_string_append_printf (scores, "%s%s:%.4f", i ? ";" : "",
                                p->names[order[i]], p->scores[order[i]]);
      cli_csv_field (line, path);
      g_string_append_c (line, ',');
      cli_csv_field (line, p->label ? p->label : "");
      g_string_append_printf (line, ",%.4f,%s,", p->confidence,
                              p->unsure ? "true" : "false");
      cli_csv_field (line, scores->str);
      g_string_append (line, ",\r\n");
    }
  else
    {
      g_autofree char *display = g_filename_display_name (path);
      x->n_ok++;
      g_string_append_printf (line, "%s\t%s\t%.3f%s\n", display,
                              p->label ? p->label : "-", p->confidence,
                              p->unsure ? "\tunsure" : "");
    }
  if (line->len > 0)
    {
      cli_progress_clear (x->progress);
      if (fwrite (line->str, 1, line->len, stdout) != line->len)
        x->write_failed = TRUE;
    }
  cli_progress_update (x->progress, index + 1);
  return !x->write_failed;
}

int
cli_cmd_classify (int argc, char **argv)
{
  g_autofree char *format = NULL;
  int top = 0;
  g_auto (CliBatch) b = { 0 };
  GOptionEntry entries[]
    = { { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
          "text (FILE<TAB>LABEL<TAB>CONFIDENCE[<TAB>unsure], the default), "
          "jsonl (one object per file, errors included) or csv (RFC 4180 with "
          "a header: file,label,confidence,unsure,scores,error)",
          "FORMAT" },
        { "top", 'n', 0, G_OPTION_ARG_INT, &top,
          "Only the N best classes in the scores, best first", "N" },
        BATCH_ENTRIES (b),
        { NULL } };
  static const char *const formats[] = { "text", "jsonl", "csv", NULL };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT PATH...");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GError) error = NULL;
  CliProgress progress;
  ClassifyCtx x = { 0 };
  gboolean ok;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Classify images (folders are read recursively) with the trained "
         "head. A file that fails is reported (stderr, and a line in jsonl "
         "and csv) and the rest go on.");
  if (!cli_parse (ctx, &argc, &argv) || !cli_batch_check (&b))
    return CLI_USAGE;
  if (argc < 3 || !cli_check_format (format, formats) || top < 0)
    {
      cli_error ("usage: hippotag classify PROJECT [--format "
                 "text|jsonl|csv] [--top N] PATH...");
      return CLI_USAGE;
    }
  x.format = format == NULL || strcmp (format, "text") == 0 ? FORMAT_TEXT
             : strcmp (format, "jsonl") == 0                ? FORMAT_JSONL
                                                            : FORMAT_CSV;
  x.top = top;
  x.progress = &progress;
  paths = cli_batch_paths (&b, argv + 2, argc - 2);

  c = cli_open_project (argv[1], b.jobs, b.prec, CLI_OPEN_READ);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  x.multi_label
    = hippo_project_get_multi_label (hippo_classifier_get_project (c), NULL);
  cli_warn_if_stale (c);
  x.line = g_string_new (NULL);
  if (x.format == FORMAT_CSV)
    fputs ("file,label,confidence,unsure,scores,error\r\n", stdout);
  cli_progress_start (&progress, "classify", paths->len);
  ok = hippo_classifier_classify_files (c, (const char *const *) paths->pdata,
                                        paths->len, on_classified, &x, &error);
  cli_progress_clear (&progress);
  g_string_free (x.line, TRUE);
  if (!ok && !x.write_failed)
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  if (!cli_finish_output () || x.write_failed)
    return CLI_NOTHING_RAN;
  if (paths->len == 0)
    {
      cli_error ("no files to classify");
      return CLI_SOME_FAILED;
    }
  return x.n_failed ? CLI_SOME_FAILED : CLI_OK;
}
