/* Hippotag GIMP plug-in — tagging and sorting a folder in a worker thread.
 *
 * The worker walks the folder, classifies every file with the project's
 * head (hippo_classifier_classify_files()), and tags (hippo_tag_file()) and
 * sorts (hippo_sort_file() with a journal) each one as the CLI's tag and
 * sort commands do. It makes no PDB call: the plug-in's main thread polls
 * its progress for gimp_progress_update() and passes on a cancel, which
 * the worker honours between files (everything done so far stays
 * consistent and, for a sort, undoable through the journal).
 */
#include "plugin-batch.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

/* A folder tree deeper or fuller than this is refused. */
#define MAX_DEPTH 64
#define MAX_FILES 1000000
/* Files per hippo_classifier_classify_files() call: the classifier
 * extracts a whole call's features before it reports any file, so a
 * cancel (and the progress bar) moves in steps of this many files. */
#define SLICE 8

struct _HippoPluginBatch
{
  HippoPluginBatchParams params;
  char *project;
  char *folder;
  char *dest;
  GThread *thread;

  guint offset; /* of the slice being classified */
  int done;     /* atomic */
  int total;    /* atomic */
  int cancel;   /* atomic */
  int finished; /* atomic */

  /* the worker's; read by the main thread after the join */
  HippoPluginBatchResult result;
  GError *error;
  HippoSortJournal *journal;
  HippoTagParams tag_params;
  HippoSortParams sort_params;
  char *parent;
  gboolean multi_label;
};

/**
 * hippo_plugin_batch_result_clear:
 * @result: a result filled by hippo_plugin_batch_finish().
 *
 * Frees what it holds and zeroes it.
 */
void
hippo_plugin_batch_result_clear (HippoPluginBatchResult *result)
{
  g_free (result->journal);
  if (result->messages != NULL)
    g_ptr_array_unref (result->messages);
  memset (result, 0, sizeof *result);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static char *
dev_ino_key (const GStatBuf *st)
{
  return g_strdup_printf ("%ju:%ju", (uintmax_t) st->st_dev,
                          (uintmax_t) st->st_ino);
}

/* Depth-first, names sorted; a set of visited folders (device, inode)
 * breaks symlink loops. FALSE with @error past MAX_FILES or MAX_DEPTH. */
static gboolean
walk (const char *dir, GHashTable *seen, const char *skip_key, GPtrArray *out,
      int depth, GError **error)
{
  g_autoptr (GDir) d = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  GStatBuf st;
  char *key;
  guint i;

  if (depth > MAX_DEPTH)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "folders nested deeper than %d levels at %s", MAX_DEPTH,
                   dir);
      return FALSE;
    }
  if (g_stat (dir, &st) != 0)
    return TRUE;
  key = dev_ino_key (&st);
  if (skip_key != NULL && strcmp (key, skip_key) == 0)
    {
      g_free (key);
      return TRUE;
    }
  if (!g_hash_table_add (seen, key))
    return TRUE;
  d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    {
      /* listed itself: its error (e.g. permission denied) is counted and
       * reported, not skipped in silence */
      g_ptr_array_add (out, g_strdup (dir));
      return TRUE;
    }
  while ((name = g_dir_read_name (d)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  for (i = 0; i < names->len; i++)
    {
      char *p = g_build_filename (dir, names->pdata[i], NULL);

      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        {
          gboolean ok = walk (p, seen, skip_key, out, depth + 1, error);

          g_free (p);
          if (!ok)
            return FALSE;
        }
      else if (g_str_has_suffix (p, ".xmp") || g_str_has_suffix (p, ".XMP"))
        g_free (p); /* sidecars are never images */
      else if (out->len >= MAX_FILES)
        {
          g_free (p);
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                       "more than %d files under %s", MAX_FILES, dir);
          return FALSE;
        }
      else
        g_ptr_array_add (out, p);
    }
  return TRUE;
}

/**
 * hippo_plugin_collect_files:
 * @folder: a folder.
 * @skip: (nullable): a folder to leave out (e.g. the sort destination
 *   inside @folder).
 * @error: return location for a #GError, or %NULL.
 *
 * Lists the files under @folder as the CLI does: recursively, names
 * sorted, hidden files and folders and XMP sidecars left out, symlinked
 * folders followed once; a folder that cannot be read is listed itself, so
 * that its error is reported.
 *
 * Returns: (transfer full) (element-type utf8): the paths, or %NULL with
 *   %HIPPO_ERROR_NOT_FOUND (not a folder) or %HIPPO_ERROR_LIMIT.
 */
GPtrArray *
hippo_plugin_collect_files (const char *folder, const char *skip,
                            GError **error)
{
  g_autoptr (GHashTable) seen = NULL;
  g_autoptr (GPtrArray) out = NULL;
  g_autofree char *skip_key = NULL;
  GStatBuf st;

  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND,
                   "%s is not a folder", folder);
      return NULL;
    }
  if (skip != NULL && g_stat (skip, &st) == 0)
    skip_key = dev_ino_key (&st);
  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  out = g_ptr_array_new_with_free_func (g_free);
  if (!walk (folder, seen, skip_key, out, 0, error))
    return NULL;
  return g_steal_pointer (&out);
}

static void note (HippoPluginBatch *b, const char *path, const char *format,
                  ...) G_GNUC_PRINTF (3, 4);

/* Keeps a line about @path while there is room. */
static void
note (HippoPluginBatch *b, const char *path, const char *format, ...)
{
  g_autofree char *display = g_filename_display_name (path);
  g_autofree char *text = NULL;
  va_list ap;

  if (b->result.messages->len >= HIPPO_PLUGIN_BATCH_MAX_MESSAGES)
    return;
  va_start (ap, format);
  text = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_ptr_array_add (b->result.messages,
                   g_strdup_printf ("%s: %s", display, text));
}

static gboolean
on_file (guint index, const char *path, const HippoPrediction *p,
         const GError *error, gpointer user_data)
{
  HippoPluginBatch *b = user_data;
  const HippoPluginBatchParams *bp = &b->params;
  g_autoptr (GPtrArray) labels = g_ptr_array_new ();
  g_autoptr (GString) shown = g_string_new (NULL);
  g_autofree char *dest = NULL;
  GError *e = NULL;
  const char *target = path;
  gboolean unsure, changed = FALSE, acted = FALSE;
  guint i;

  g_atomic_int_set (&b->done, (int) (b->offset + index + 1));
  if (p == NULL)
    {
      b->result.n_failed++;
      note (b, path, "%s", error != NULL ? error->message : "failed");
      return !g_atomic_int_get (&b->cancel);
    }
  /* as 'hippotag tag': every class at >= 0.5 in a multi-label project */
  if (b->multi_label)
    {
      for (i = 0; i < p->n_classes; i++)
        if (p->scores[i] >= 0.5f)
          g_ptr_array_add (labels, (gpointer) p->names[i]);
    }
  else if (p->label != NULL)
    g_ptr_array_add (labels, (gpointer) p->label);
  for (i = 0; i < labels->len; i++)
    g_string_append_printf (shown, "%s%s", i ? "," : "",
                            (const char *) labels->pdata[i]);
  unsure
    = (bp->min_confidence >= 0 ? p->confidence < bp->min_confidence : p->unsure)
      || labels->len == 0 || p->label == NULL;
  g_ptr_array_add (labels, NULL);
  if (unsure)
    b->result.n_unsure++;

  if (bp->sort)
    {
      if (!hippo_sort_file (b->journal, path, unsure ? NULL : p->label,
                            &b->sort_params, &dest, &e))
        {
          b->result.n_failed++;
          note (b, path, "%s", e->message);
          g_error_free (e);
          return !g_atomic_int_get (&b->cancel);
        }
      if (!bp->dry_run)
        target = dest;
      acted = !unsure || bp->unsure == HIPPO_SORT_UNSURE_FOLDER;
      if (bp->dry_run && acted)
        note (b, path, "would go to %s (%s %.3f)", dest,
              unsure ? "unsure" : p->label, p->confidence);
    }
  if (bp->tag && !unsure)
    {
      /* A copy this batch has just made keeps its source's mode; a
       * read-only one is still ours to tag in place (hippo_tag_file()
       * leaves files without a write bit alone), and gets its mode back
       * after. A moved file is the user's own and stays refused. */
      GStatBuf st;
      gboolean own_copy
        = bp->sort && !bp->dry_run && b->sort_params.action == HIPPO_SORT_COPY
          && b->tag_params.mode == HIPPO_TAG_MODE_IN_PLACE
          && g_stat (target, &st) == 0 && S_ISREG (st.st_mode)
          && (st.st_mode & S_IWUSR) == 0
          && g_chmod (target, (st.st_mode & 07777) | S_IWUSR) == 0;
      gboolean tagged
        = hippo_tag_file (target, (const char *const *) labels->pdata,
                          &b->tag_params, &changed, &e);

      if (own_copy)
        g_chmod (target, st.st_mode & 07777);
      if (!tagged)
        {
          b->result.n_failed++;
          note (b, target, "%s", e->message);
          g_error_free (e);
          return !g_atomic_int_get (&b->cancel);
        }
      acted = TRUE;
      if (bp->dry_run)
        note (b, path, "%s %s (%.3f)",
              changed ? "would be tagged" : "already tagged", shown->str,
              p->confidence);
    }
  if (acted)
    b->result.n_done++;
  else if (bp->dry_run)
    note (b, path, "unsure (%s %.3f): left as it is",
          p->label != NULL ? p->label : "-", p->confidence);
  return !g_atomic_int_get (&b->cancel);
}

/* DEST/.hippotag-sort-DATE-TIME[-N].journal, as the CLI names it. */
static char *
default_journal (const char *dest)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  guint i;

  for (i = 0;; i++)
    {
      g_autofree char *name
        = i == 0 ? g_strdup_printf (".hippotag-sort-%s.journal", stamp)
                 : g_strdup_printf (".hippotag-sort-%s-%u.journal", stamp, i);
      char *p = g_build_filename (dest, name, NULL);

      if (!g_file_test (p, G_FILE_TEST_EXISTS))
        return p;
      g_free (p);
    }
}

static gboolean
run (HippoPluginBatch *b, GError **error)
{
  const HippoPluginBatchParams *bp = &b->params;
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (HippoClassifier) c = NULL;
  HippoClassifierParams cp;
  HippoProject *project;
  gboolean ok = TRUE;
  guint first;

  paths = hippo_plugin_collect_files (bp->folder, bp->sort ? bp->dest : NULL,
                                      error);
  if (paths == NULL)
    return FALSE;
  b->result.n_files = paths->len;
  g_atomic_int_set (&b->total, (int) paths->len);

  /* read-only: a long batch must not hold the project's write lock that
   * labelling in GIMP or the trainer needs */
  hippo_classifier_params_default (&cp);
  cp.read_only = TRUE;
  c = hippo_classifier_open (bp->project, &cp, error);
  if (c == NULL)
    return FALSE;
  project = hippo_classifier_get_project (c);
  b->multi_label = hippo_project_get_multi_label (project, NULL);

  hippo_tag_params_default (&b->tag_params);
  b->tag_params.mode = bp->tag_mode;
  b->tag_params.dry_run = bp->dry_run;
  b->parent = hippo_project_get_string (project, HIPPO_SETTING_KEYWORD_PARENT,
                                        HIPPO_DEFAULT_KEYWORD_PARENT, NULL);
  b->tag_params.parent = b->parent;

  hippo_sort_params_default (&b->sort_params);
  b->sort_params.action = bp->action;
  b->sort_params.dest_root = bp->dest;
  b->sort_params.unsure = bp->unsure;
  b->sort_params.dry_run = bp->dry_run;
  if (bp->sort && !bp->dry_run)
    {
      if (g_mkdir_with_parents (bp->dest, 0777) != 0)
        {
          int e = errno;

          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                       "cannot create %s: %s", bp->dest, g_strerror (e));
          return FALSE;
        }
      b->result.journal = default_journal (bp->dest);
      b->journal = hippo_sort_journal_open (b->result.journal, error);
      if (b->journal == NULL)
        {
          g_clear_pointer (&b->result.journal, g_free);
          return FALSE;
        }
    }
  for (first = 0; ok && first < paths->len; first += SLICE)
    {
      if (g_atomic_int_get (&b->cancel))
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED, "cancelled");
          ok = FALSE;
          break;
        }
      b->offset = first;
      ok = hippo_classifier_classify_files (
        c, (const char *const *) paths->pdata + first,
        MIN (SLICE, paths->len - first), on_file, b, error);
    }
  g_clear_pointer (&b->journal, hippo_sort_journal_close);
  return ok;
}

static gpointer
worker (gpointer data)
{
  HippoPluginBatch *b = data;
  GError *error = NULL;

  if (!run (b, &error))
    {
      if (g_error_matches (error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED))
        {
          b->result.cancelled = TRUE;
          g_clear_error (&error);
        }
      else
        b->error = error;
    }
  g_atomic_int_set (&b->finished, 1);
  return NULL;
}

/**
 * hippo_plugin_batch_start:
 * @params: what to do (copied).
 *
 * Starts the batch in a worker thread. Poll it with
 * hippo_plugin_batch_poll() and end it with hippo_plugin_batch_finish().
 *
 * Returns: (transfer full): the running batch.
 */
HippoPluginBatch *
hippo_plugin_batch_start (const HippoPluginBatchParams *params)
{
  HippoPluginBatch *b = g_new0 (HippoPluginBatch, 1);

  b->params = *params;
  b->project = g_strdup (params->project);
  b->folder = g_strdup (params->folder);
  b->dest = g_strdup (params->dest);
  b->params.project = b->project;
  b->params.folder = b->folder;
  b->params.dest = b->dest;
  b->result.messages = g_ptr_array_new_with_free_func (g_free);
  b->thread = g_thread_new ("hippotag-batch", worker, b);
  return b;
}

/**
 * hippo_plugin_batch_poll:
 * @batch: a running batch.
 * @done: (out): files handled so far.
 * @total: (out): files in all (0 while the folder is being read).
 *
 * Returns: %TRUE once the worker has finished.
 */
gboolean
hippo_plugin_batch_poll (HippoPluginBatch *batch, guint *done, guint *total)
{
  *done = (guint) g_atomic_int_get (&batch->done);
  *total = (guint) g_atomic_int_get (&batch->total);
  return g_atomic_int_get (&batch->finished) != 0;
}

/**
 * hippo_plugin_batch_cancel:
 * @batch: a running batch.
 *
 * Asks the worker to stop after the current file.
 */
void
hippo_plugin_batch_cancel (HippoPluginBatch *batch)
{
  g_atomic_int_set (&batch->cancel, 1);
}

/**
 * hippo_plugin_batch_finish:
 * @batch: (transfer full): a batch; freed.
 * @result: (out caller-allocates): what it did (also on failure, as far as
 *   it got); clear with hippo_plugin_batch_result_clear().
 * @error: return location for a #GError, or %NULL.
 *
 * Waits for the worker and frees the batch.
 *
 * Returns: %TRUE when the batch ran (per-file failures are counted in
 *   @result; a cancelled batch returns %TRUE with @result->cancelled);
 *   %FALSE with @error when it could not run at all (no folder, the project
 *   or its model, an untrained project, the destination or journal).
 */
gboolean
hippo_plugin_batch_finish (HippoPluginBatch *batch,
                           HippoPluginBatchResult *result, GError **error)
{
  gboolean ok;

  g_thread_join (batch->thread);
  *result = batch->result;
  ok = batch->error == NULL;
  if (!ok)
    g_propagate_error (error, batch->error);
  g_free (batch->project);
  g_free (batch->folder);
  g_free (batch->dest);
  g_free (batch->parent);
  g_free (batch);
  return ok;
}
