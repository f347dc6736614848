/* Sorting, private: undo, newest action first, judged by what is on disk. */
#define _GNU_SOURCE
#include "sort-private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* Moves DEST back to SRC: a rename, or across file systems a verified copy
 * back, then the unlink of DEST. Never replaces a file at SRC. */
static gboolean
move_back (HippoSortJournal *j, HippoSortEntry *e, GError **error)
{
  g_autofree char *src_dir = g_path_get_dirname (e->src);
  g_autofree char *tmp = NULL;
  g_autofree char *sha = NULL;
  struct stat st;
  gboolean ok = FALSE;
  int in;

  if (g_mkdir_with_parents (src_dir, 0777) != 0)
    {
      hippo_sort_set_errno_error (error, errno, "cannot create folder",
                                  src_dir);
      return FALSE;
    }
  if (renameat2 (AT_FDCWD, e->dest, AT_FDCWD, e->src, RENAME_NOREPLACE) == 0)
    return TRUE;
  if (errno == EINVAL || errno == ENOSYS)
    {
      if (link (e->dest, e->src) == 0)
        {
          hippo_sort_crash_point (j);
          if (g_unlink (e->dest) == 0)
            return TRUE;
        }
      if (errno != EXDEV && errno != EPERM)
        {
          hippo_sort_set_errno_error (error, errno, "cannot restore", e->src);
          return FALSE;
        }
    }
  else if (errno != EXDEV)
    {
      hippo_sort_set_errno_error (error, errno, "cannot restore", e->src);
      return FALSE;
    }

  tmp = hippo_sort_temp_path (e->src, e->token, ".undo.part");
  in
    = open (e->dest, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
  if (in < 0 || fstat (in, &st) != 0)
    {
      hippo_sort_set_errno_error (error, errno, "cannot open", e->dest);
      goto out;
    }
  if (!hippo_sort_copy_verified (in, &st, e->dest, tmp, TRUE, &sha, error))
    goto out;
  hippo_sort_crash_point (j);
  if (hippo_sort_rename_noreplace (tmp, e->src) != 0)
    {
      hippo_sort_set_errno_error (error, errno, "cannot restore", e->src);
      goto out;
    }
  g_clear_pointer (&tmp, g_free);
  if (!hippo_sort_fsync_dir (src_dir, error))
    goto out;
  hippo_sort_crash_point (j);
  if (g_unlink (e->dest) != 0)
    {
      hippo_sort_set_errno_error (error, errno, "cannot remove", e->dest);
      goto out;
    }
  ok = hippo_sort_fsync_parent (e->dest, error);

out:
  if (tmp != NULL)
    g_unlink (tmp);
  if (in >= 0)
    close (in);
  return ok;
}

/* Undoes one done action by what is on disk. Returns FALSE with a message
 * (counted as a file not restored) when it cannot, touching nothing. */
static gboolean
undo_entry (HippoSortJournal *j, HippoSortEntry *e, GError **error)
{
  g_autofree char *undo_tmp
    = hippo_sort_temp_path (e->src, e->token, ".undo.part");
  g_autofree char *display = g_filename_display_name (e->dest);
  gboolean s, d;

  if (!hippo_sort_remove_temp (undo_tmp, error))
    return FALSE;
  s = hippo_sort_exists (e->src);
  d = hippo_sort_exists (e->dest);
  switch (e->action)
    {
      case HIPPO_SORT_MOVE:
        if (d && !s)
          return move_back (j, e, error);
        if (d && s)
          {
            if (!hippo_sort_same_content (e->src, e->dest))
              {
                g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                             "%s: its old place is taken by another file",
                             display);
                return FALSE;
              }
            /* an undo across file systems stopped before this unlink */
            if (g_unlink (e->dest) != 0)
              {
                hippo_sort_set_errno_error (error, errno, "cannot remove",
                                            e->dest);
                return FALSE;
              }
            return TRUE;
          }
        if (!d && !s)
          {
            g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND,
                         "%s is gone from both places", display);
            return FALSE;
          }
        return TRUE;
      case HIPPO_SORT_COPY:
        if (!d)
          return TRUE;
        if (!s)
          {
            g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                         "%s: its source is gone; the copy is kept", display);
            return FALSE;
          }
        if (!hippo_sort_same_content (e->src, e->dest))
          {
            g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                         "%s differs from its source now; kept", display);
            return FALSE;
          }
        break;
      case HIPPO_SORT_SYMLINK:
        if (!d)
          return TRUE;
        if (!hippo_sort_is_our_symlink (e->dest, e->src))
          {
            g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                         "%s is no longer the link made; kept", display);
            return FALSE;
          }
        break;
      case HIPPO_SORT_HARDLINK:
        if (!d)
          return TRUE;
        if (!s || !hippo_sort_same_inode (e->src, e->dest))
          {
            g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                         "%s is no longer a second name of its source; kept",
                         display);
            return FALSE;
          }
        break;
    }
  if (g_unlink (e->dest) != 0 && errno != ENOENT)
    {
      hippo_sort_set_errno_error (error, errno, "cannot remove", e->dest);
      return FALSE;
    }
  return TRUE;
}

static gboolean
undo_internal (const char *journal_path, HippoProgressFunc progress,
               gpointer user_data, int crash_at, int *n_points_out,
               GError **error)
{
  g_autoptr (HippoSortJournal) j = NULL;
  g_autofree char *first_failure = NULL;
  guint64 total = 0, done = 0, failed = 0;

  if (!g_file_test (journal_path, G_FILE_TEST_EXISTS))
    {
      hippo_sort_set_errno_error (error, ENOENT, "no journal", journal_path);
      return FALSE;
    }
  j = hippo_sort_journal_open (journal_path, error);
  if (j == NULL)
    return FALSE;
  j->crash_at = crash_at;
  for (guint i = 0; i < j->entries->len; i++)
    {
      HippoSortEntry *e = g_ptr_array_index (j->entries, i);

      if (e->done && !e->undone)
        total++;
    }
  for (guint i = j->entries->len; i-- > 0;)
    {
      HippoSortEntry *e = g_ptr_array_index (j->entries, i);
      g_autoptr (GError) local = NULL;

      if (!e->done || e->undone)
        continue;
      hippo_sort_crash_point (j);
      if (undo_entry (j, e, &local))
        {
          hippo_sort_crash_point (j);
          /* losing this record only means re-checking the entry */
          if (!hippo_sort_write_simple (j, "undone", e, FALSE, FALSE, error))
            return FALSE;
          e->undone = TRUE;
        }
      else
        {
          failed++;
          if (first_failure == NULL)
            first_failure = g_strdup (local->message);
        }
      done++;
      if (progress != NULL && !progress (done, total, user_data))
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED,
                       "undo cancelled after %" G_GUINT64_FORMAT
                       " of %" G_GUINT64_FORMAT " actions",
                       done, total);
          return FALSE;
        }
    }
  for (guint i = j->mkdirs->len; i-- > 0;)
    {
      /* only when empty: anything else in there stays */
      (void) !rmdir (g_ptr_array_index (j->mkdirs, i));
    }
  if (n_points_out != NULL)
    *n_points_out = j->crash_count;
  if (failed > 0)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                   "%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                   " actions could not be undone (first: %s); the rest were",
                   failed, total, first_failure);
      return FALSE;
    }
  return TRUE;
}

gboolean
hippo_sort_undo (const char *journal_path, HippoProgressFunc progress,
                 gpointer user_data, GError **error)
{
  g_return_val_if_fail (journal_path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return undo_internal (journal_path, progress, user_data, 0, NULL, error);
}

gboolean
hippo_sort_undo_with_crash_point (const char *journal_path, int n,
                                  int *n_points_out, GError **error)
{
  g_return_val_if_fail (journal_path != NULL, FALSE);

  return undo_internal (journal_path, NULL, NULL, n, n_points_out, error);
}
