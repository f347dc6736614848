/* hippotag tag | sort: classify images, then write their keywords or
 * sort them into class folders. */

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "cli.h"

typedef struct
{
  CliProgress *progress;
  HippoTagParams params;
  double min_confidence; /* < 0: the project's unsure flag */
  gboolean multi_label;
  guint n_failed;
  guint n_tagged;
  guint n_unsure;
} TagCtx;

static gboolean
is_unsure (const HippoPrediction *p, double min_confidence)
{
  return min_confidence >= 0 ? p->confidence < min_confidence : p->unsure;
}

static gboolean
on_tag (guint index, const char *path, const HippoPrediction *p,
        const GError *error, gpointer user_data)
{
  TagCtx *t = user_data;
  g_autofree char *display = g_filename_display_name (path);
  g_autoptr (GPtrArray) labels = g_ptr_array_new ();
  g_autoptr (GError) e = NULL;
  g_autoptr (GString) shown = g_string_new (NULL);
  gboolean changed = FALSE;
  const char *status;
  guint n_labels;

  cli_progress_update (t->progress, index + 1);
  if (p == NULL)
    {
      t->n_failed++;
      cli_file_error (t->progress, path, error ? error->message : "failed");
      return TRUE;
    }
  if (t->multi_label)
    {
      for (guint i = 0; i < p->n_classes; i++)
        if (p->scores[i] >= 0.5f)
          g_ptr_array_add (labels, (gpointer) p->names[i]);
    }
  else if (p->label)
    g_ptr_array_add (labels, (gpointer) p->label);
  for (guint i = 0; i < labels->len; i++)
    g_string_append_printf (shown, "%s%s", i ? "," : "",
                            (const char *) labels->pdata[i]);
  n_labels = labels->len;
  g_ptr_array_add (labels, NULL);

  cli_progress_clear (t->progress);
  if (is_unsure (p, t->min_confidence) || n_labels == 0)
    {
      t->n_unsure++;
      printf ("%s\t%s\t%.3f\tunsure: not tagged\n", display,
              p->label ? p->label : "-", p->confidence);
      return TRUE;
    }
  if (!hippo_tag_file (path, (const char *const *) labels->pdata, &t->params,
                       &changed, &e))
    {
      t->n_failed++;
      cli_file_error (t->progress, path, e->message);
      return TRUE;
    }
  if (t->params.dry_run)
    status = changed ? "would tag" : "already tagged";
  else
    status = changed ? "tagged" : "already tagged";
  if (changed)
    t->n_tagged++;
  printf ("%s\t%s\t%.3f\t%s\n", display, shown->str, p->confidence, status);
  return TRUE;
}

int
cli_cmd_tag (int argc, char **argv)
{
  gboolean sidecar = FALSE, in_place = FALSE, dry_run = FALSE;
  double min_confidence = -1;
  g_autofree char *parent_opt = NULL;
  g_auto (CliBatch) b = { 0 };
  GOptionEntry entries[]
    = { { "sidecar", 0, 0, G_OPTION_ARG_NONE, &sidecar,
          "Write an XMP sidecar FILE.EXT.xmp; the image is not touched "
          "(default)",
          NULL },
        { "in-place", 0, 0, G_OPTION_ARG_NONE, &in_place,
          "Write into the image through a temporary copy and an atomic rename, "
          "keeping all other metadata",
          NULL },
        { "min-confidence", 'p', 0, G_OPTION_ARG_DOUBLE, &min_confidence,
          "Below this confidence nothing is written and the file is reported "
          "unsure (default: the project's unsure threshold)",
          "P" },
        { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
          "Print what would be written; write nothing", NULL },
        { "parent", 0, 0, G_OPTION_ARG_STRING, &parent_opt,
          "Parent of the hierarchical keywords (default: the project's "
          "keyword_parent setting, else Hippotag); \"\" for none",
          "NAME" },
        BATCH_ENTRIES (b),
        { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT PATH...");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *parent = NULL;
  HippoProject *project;
  CliProgress progress;
  TagCtx t = { 0 };

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Classify images and write the predicted class as keywords: XMP "
         "dc:subject, lr:hierarchicalSubject PARENT|LABEL, digiKam TagsList "
         "and (in place) IPTC Keywords. Keywords already there are not "
         "added twice. Prints FILE<TAB>LABEL<TAB>CONFIDENCE<TAB>STATUS.");
  if (!cli_parse (ctx, &argc, &argv) || !cli_batch_check (&b))
    return CLI_USAGE;
  if (argc < 3 || (sidecar && in_place)
      || (min_confidence != -1
          && !(min_confidence >= 0 && min_confidence <= 1)))
    {
      cli_error ("usage: hippotag tag PROJECT [--sidecar|--in-place] "
                 "[--min-confidence P (0..1)] [--dry-run] PATH...");
      return CLI_USAGE;
    }
  paths = cli_batch_paths (&b, argv + 2, argc - 2);
  c = cli_open_project (argv[1], b.jobs, b.prec, CLI_OPEN_READ);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  project = hippo_classifier_get_project (c);
  cli_warn_if_stale (c);
  parent = parent_opt
             ? g_strdup (parent_opt)
             : hippo_project_get_string (project, HIPPO_SETTING_KEYWORD_PARENT,
                                         HIPPO_DEFAULT_KEYWORD_PARENT, NULL);
  hippo_tag_params_default (&t.params);
  t.params.mode = in_place ? HIPPO_TAG_MODE_IN_PLACE : HIPPO_TAG_MODE_SIDECAR;
  t.params.parent = parent;
  t.params.dry_run = dry_run;
  t.min_confidence = min_confidence;
  t.multi_label = hippo_project_get_multi_label (project, NULL);
  t.progress = &progress;
  cli_progress_start (&progress, "tag", paths->len);
  if (!hippo_classifier_classify_files (c, (const char *const *) paths->pdata,
                                        paths->len, on_tag, &t, &error))
    {
      cli_progress_clear (&progress);
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  cli_progress_clear (&progress);
  if (!cli_finish_output ())
    return CLI_NOTHING_RAN;
  if (dry_run)
    cli_error ("dry run: nothing was written");
  if (paths->len == 0)
    {
      cli_error ("no files to tag");
      return CLI_SOME_FAILED;
    }
  return t.n_failed ? CLI_SOME_FAILED : CLI_OK;
}

/* --- sort -------------------------------------------------------------- */

typedef struct
{
  CliProgress *progress;
  HippoSortJournal *journal;
  HippoSortParams params;
  double min_confidence;
  guint n_failed;
  guint n_unsure;
} SortCtx;

static gboolean
on_sort (guint index, const char *path, const HippoPrediction *p,
         const GError *error, gpointer user_data)
{
  SortCtx *s = user_data;
  g_autofree char *display = g_filename_display_name (path);
  g_autofree char *dest = NULL;
  g_autofree char *dest_display = NULL;
  g_autoptr (GError) e = NULL;
  gboolean unsure;

  cli_progress_update (s->progress, index + 1);
  if (p == NULL)
    {
      s->n_failed++;
      cli_file_error (s->progress, path, error ? error->message : "failed");
      return TRUE;
    }
  unsure = is_unsure (p, s->min_confidence) || p->label == NULL;
  if (unsure)
    s->n_unsure++;
  if (!hippo_sort_file (s->journal, path, unsure ? NULL : p->label, &s->params,
                        &dest, &e))
    {
      s->n_failed++;
      cli_file_error (s->progress, path, e->message);
      return TRUE;
    }
  dest_display = g_filename_display_name (dest);
  cli_progress_clear (s->progress);
  printf ("%s\t%s\t%s\t%.3f\n", display, dest_display,
          unsure ? "unsure" : p->label, p->confidence);
  return TRUE;
}

static gboolean
undo_progress (guint64 done, guint64 total, gpointer user_data)
{
  CliProgress *p = user_data;

  if (!p->on && total > 0 && p->total == 0)
    cli_progress_start (p, "undo", total);
  return cli_progress_func (done, total, user_data);
}

static int
sort_undo (const char *journal)
{
  g_autoptr (GError) error = NULL;
  CliProgress progress = { 0 };
  gboolean ok;

  ok = hippo_sort_undo (journal, undo_progress, &progress, &error);
  cli_progress_clear (&progress);
  if (!ok)
    {
      cli_error ("%s", error->message);
      return error->code == HIPPO_ERROR_IO ? CLI_SOME_FAILED : CLI_NOTHING_RAN;
    }
  printf ("undone: %s\n", journal);
  return cli_finish_output () ? CLI_OK : CLI_NOTHING_RAN;
}

static char *
default_journal (const char *dest)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");

  for (guint i = 0;; i++)
    {
      g_autofree char *name
        = i == 0 ? g_strdup_printf (".hippotag-sort-%s.journal", stamp)
                 : g_strdup_printf (".hippotag-sort-%s-%u.journal", stamp, i);
      g_autofree char *rel = g_build_filename (dest, name, NULL);
      char *p = g_canonicalize_filename (rel, NULL);
      if (!g_file_test (p, G_FILE_TEST_EXISTS))
        return p;
      g_free (p);
    }
}

int
cli_cmd_sort (int argc, char **argv)
{
  g_autofree char *into = NULL;
  g_autofree char *undo = NULL;
  g_autofree char *journal_path = NULL;
  g_autofree char *unsure = NULL;
  gboolean copy = FALSE, move = FALSE, symlink = FALSE, hardlink = FALSE;
  gboolean dry_run = FALSE;
  double min_confidence = -1;
  g_auto (CliBatch) b = { 0 };
  GOptionEntry entries[]
    = { { "into", 'o', 0, G_OPTION_ARG_FILENAME, &into,
          "Destination: one folder per class is made in DEST", "DEST" },
        { "copy", 0, 0, G_OPTION_ARG_NONE, &copy,
          "Copy the files (verified; the default)", NULL },
        { "move", 0, 0, G_OPTION_ARG_NONE, &move,
          "Move the files (across file systems: copy, sync, verify, then "
          "unlink)",
          NULL },
        { "link", 0, 0, G_OPTION_ARG_NONE, &symlink,
          "Make symbolic links to the files", NULL },
        { "hardlink", 0, 0, G_OPTION_ARG_NONE, &hardlink,
          "Make hard links (same file system only)", NULL },
        { "min-confidence", 'p', 0, G_OPTION_ARG_DOUBLE, &min_confidence,
          "Files below this confidence are unsure (default: the project's "
          "unsure threshold)",
          "P" },
        { "unsure", 0, 0, G_OPTION_ARG_STRING, &unsure,
          "folder: unsure files go to DEST/unsure (default); leave: they stay",
          "leave|folder" },
        { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
          "Print where each file would go; change nothing", NULL },
        { "journal", 0, 0, G_OPTION_ARG_FILENAME, &journal_path,
          "Journal file (default DEST/.hippotag-sort-DATE-TIME.journal); an "
          "existing one is appended to, and files it records as done are "
          "skipped",
          "FILE" },
        { "undo", 0, 0, G_OPTION_ARG_FILENAME, &undo,
          "Undo the sort recorded in JOURNAL (no PROJECT or PATH)", "JOURNAL" },
        BATCH_ENTRIES (b),
        { NULL } };
  g_autoptr (GOptionContext) ctx
    = g_option_context_new ("PROJECT --into DEST PATH... | --undo JOURNAL");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoSortJournal) journal = NULL;
  CliProgress progress;
  SortCtx s = { 0 };
  gboolean ok;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Classify images and sort them into DEST/CLASS/. No file is "
         "overwritten (clashes get -1, -2, ...); every action is journaled "
         "before it is done, so a crash loses nothing and 'sort --undo "
         "JOURNAL' restores everything. Prints SOURCE<TAB>DESTINATION<TAB>"
         "LABEL<TAB>CONFIDENCE; the journal is named on stderr.");
  if (!cli_parse (ctx, &argc, &argv) || !cli_batch_check (&b))
    return CLI_USAGE;
  if (undo)
    {
      if (argc != 1 || into)
        {
          cli_error ("usage: hippotag sort --undo JOURNAL");
          return CLI_USAGE;
        }
      return sort_undo (undo);
    }
  if (argc < 3 || into == NULL || copy + move + symlink + hardlink > 1
      || (unsure && strcmp (unsure, "leave") != 0
          && strcmp (unsure, "folder") != 0)
      || (min_confidence != -1
          && !(min_confidence >= 0 && min_confidence <= 1)))
    {
      cli_error ("usage: hippotag sort PROJECT --into DEST "
                 "[--copy|--move|--link] [--min-confidence P] "
                 "[--unsure leave|folder] [--dry-run] PATH...");
      return CLI_USAGE;
    }
  paths = cli_batch_paths (&b, argv + 2, argc - 2);
  c = cli_open_project (argv[1], b.jobs, b.prec, CLI_OPEN_READ);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  cli_warn_if_stale (c);

  hippo_sort_params_default (&s.params);
  s.params.action = move       ? HIPPO_SORT_MOVE
                    : symlink  ? HIPPO_SORT_SYMLINK
                    : hardlink ? HIPPO_SORT_HARDLINK
                               : HIPPO_SORT_COPY;
  s.params.dest_root = into;
  s.params.unsure = unsure && strcmp (unsure, "leave") == 0
                      ? HIPPO_SORT_UNSURE_LEAVE
                      : HIPPO_SORT_UNSURE_FOLDER;
  s.params.dry_run = dry_run;
  s.min_confidence = min_confidence;
  s.progress = &progress;
  if (!dry_run)
    {
      if (g_mkdir_with_parents (into, 0777) != 0)
        {
          cli_error ("cannot create %s: %s", into, g_strerror (errno));
          return CLI_NOTHING_RAN;
        }
      if (journal_path == NULL)
        journal_path = default_journal (into);
      else
        {
          char *abs = g_canonicalize_filename (journal_path, NULL);
          g_free (journal_path);
          journal_path = abs;
        }
      journal = hippo_sort_journal_open (journal_path, &error);
      if (journal == NULL)
        {
          cli_error ("%s", error->message);
          return CLI_NOTHING_RAN;
        }
      s.journal = journal;
      cli_error ("journal: %s", journal_path);
    }
  cli_progress_start (&progress, "sort", paths->len);
  ok = hippo_classifier_classify_files (c, (const char *const *) paths->pdata,
                                        paths->len, on_sort, &s, &error);
  cli_progress_clear (&progress);
  if (!ok)
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  if (!cli_finish_output ())
    return CLI_NOTHING_RAN;
  if (dry_run)
    cli_error ("dry run: nothing was changed");
  else
    cli_error ("undo with: hippotag sort --undo %s", journal_path);
  if (paths->len == 0)
    {
      cli_error ("no files to sort");
      return CLI_SOME_FAILED;
    }
  return s.n_failed ? CLI_SOME_FAILED : CLI_OK;
}
