/* Sorting files into class folders: class folders, free names, and the
 * actions themselves. See hippotag-sort.h for the guarantees and the
 * recovery rule; the journal is in sort-journal.c, undo in sort-undo.c. */
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

#define SUFFIX_MAX 100000

void
hippo_sort_params_default (HippoSortParams *params)
{
  g_return_if_fail (params != NULL);

  params->action = HIPPO_SORT_COPY;
  params->dest_root = NULL;
  params->unsure = HIPPO_SORT_UNSURE_FOLDER;
  params->unsure_name = HIPPO_SORT_UNSURE_DEFAULT;
  params->dry_run = FALSE;
}

/* The class folder name: one path component, never "." or "..". */
static char *
folder_name (const char *label, GError **error)
{
  GString *s = g_string_new (NULL);

  for (const char *p = label; *p != '\0'; p++)
    g_string_append_c (s, *p == '/' ? '_' : *p);
  if (s->len == 0 || strcmp (s->str, ".") == 0 || strcmp (s->str, "..") == 0)
    g_string_prepend_c (s, '_');
  if (s->len > 255)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "class name \"%.40s...\" is too long for a folder name",
                   label);
      g_string_free (s, TRUE);
      return NULL;
    }
  return g_string_free (s, FALSE);
}

/* NAME, then STEM-1.EXT, STEM-2.EXT, ... */
static char *
candidate_name (const char *base, int n)
{
  const char *dot = strrchr (base, '.');

  if (n == 0)
    return g_strdup (base);
  if (dot == NULL || dot == base)
    return g_strdup_printf ("%s-%d", base, n);
  return g_strdup_printf ("%.*s-%d%s", (int) (dot - base), base, n, dot);
}

/* The first free destination at or after suffix *N (advanced past it). */
static char *
next_free (HippoSortJournal *j, const char *dir, const char *base, int *n,
           GError **error)
{
  for (; *n < SUFFIX_MAX; (*n)++)
    {
      g_autofree char *name = candidate_name (base, *n);
      char *path = g_build_filename (dir, name, NULL);

      if (strlen (name) <= 255 && !hippo_sort_exists (path)
          && (j == NULL || j->planned == NULL
              || !g_hash_table_contains (j->planned, path)))
        {
          (*n)++;
          return path;
        }
      g_free (path);
    }
  g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
               "no free name for %s in the class folder", base);
  return NULL;
}

/* Creates DIR and missing parents, journaling each before creating it. */
static gboolean
ensure_dir (HippoSortJournal *j, const char *dir, GError **error)
{
  g_autoptr (GPtrArray) missing = g_ptr_array_new_with_free_func (g_free);
  char *p = g_strdup (dir);
  struct stat st;

  while (stat (p, &st) != 0)
    {
      char *parent;

      if (errno != ENOENT)
        {
          hippo_sort_set_errno_error (error, errno, "cannot use folder", p);
          g_free (p);
          return FALSE;
        }
      parent = g_path_get_dirname (p);
      g_ptr_array_add (missing, p);
      p = parent;
    }
  g_free (p);
  if (!S_ISDIR (st.st_mode))
    {
      hippo_sort_set_errno_error (error, ENOTDIR, "cannot use folder", dir);
      return FALSE;
    }
  for (guint i = missing->len; i-- > 0;)
    {
      const char *m = g_ptr_array_index (missing, i);
      g_autoptr (JsonObject) o = hippo_sort_record_new ("mkdir", 0);

      hippo_sort_set_path_member (o, "path", m);
      if (!hippo_sort_journal_write (j, o, TRUE, error))
        return FALSE;
      g_ptr_array_add (j->mkdirs, g_strdup (m));
      hippo_sort_crash_point (j);
      if (mkdir (m, 0777) != 0 && errno != EEXIST)
        {
          hippo_sort_set_errno_error (error, errno, "cannot create folder", m);
          return FALSE;
        }
      if (!hippo_sort_fsync_parent (m, error))
        return FALSE;
    }
  return TRUE;
}

/* A previous run already made this copy or link (a re-run after a crash or
 * an interruption) and the destination is still what it made. */
static HippoSortEntry *
find_done (HippoSortJournal *j, const char *src, const char *dest_dir,
           HippoSortAction action)
{
  HippoSortEntry *e = g_hash_table_lookup (j->by_src, src);
  g_autofree char *dir = NULL;
  struct stat a, b;

  if (e == NULL || !e->done || e->undone || e->action != action)
    return NULL;
  dir = g_path_get_dirname (e->dest);
  if (strcmp (dir, dest_dir) != 0)
    return NULL;
  switch (action)
    {
      case HIPPO_SORT_COPY:
        if (stat (src, &a) == 0 && lstat (e->dest, &b) == 0
            && S_ISREG (b.st_mode) && a.st_size == b.st_size
            && a.st_mtim.tv_sec == b.st_mtim.tv_sec
            && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec)
          return e;
        return NULL;
      case HIPPO_SORT_SYMLINK:
        return hippo_sort_is_our_symlink (e->dest, e->src) ? e : NULL;
      case HIPPO_SORT_HARDLINK:
        return hippo_sort_same_inode (e->src, e->dest) ? e : NULL;
      case HIPPO_SORT_MOVE:
        break;
    }
  return NULL;
}

static char *
new_token (void)
{
  return g_strdup_printf ("%08x%08x", g_random_int (), g_random_int ());
}

/* Records a new destination after a clash. */
static gboolean
retarget (HippoSortJournal *j, HippoSortEntry *e, const char *dir,
          const char *base, int *n, GError **error)
{
  g_autoptr (JsonObject) o = NULL;
  char *next = next_free (j, dir, base, n, error);

  if (next == NULL)
    return FALSE;
  g_free (e->dest);
  e->dest = next;
  o = hippo_sort_record_new ("dest", e->id);
  hippo_sort_set_path_member (o, "dest", e->dest);
  if (!hippo_sort_journal_write (j, o, TRUE, error))
    return FALSE;
  hippo_sort_crash_point (j);
  return TRUE;
}

/* Copy (or a move across file systems): verified copy to a temporary name
 * in the class folder, no-clobber rename into place, then for a move the
 * source is unlinked. */
static gboolean
do_copy (HippoSortJournal *j, HippoSortEntry *e, const char *dir,
         const char *base, int *n, gboolean move, GError **error)
{
  g_autofree char *tmp = hippo_sort_temp_path (e->dest, e->token, ".part");
  g_autofree char *sha = NULL;
  struct stat st, st2;
  gboolean ok = FALSE;
  int in;

  in = open (e->src, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK
                       | (move ? O_NOFOLLOW : 0));
  if (in < 0 || fstat (in, &st) != 0)
    {
      hippo_sort_set_errno_error (error, errno, "cannot open", e->src);
      goto out;
    }
  if (!S_ISREG (st.st_mode))
    {
      hippo_sort_set_errno_error (error, EINVAL, "not a regular file:", e->src);
      goto out;
    }
  if (move)
    {
      g_autofree char *src_dir = g_path_get_dirname (e->src);

      /* the source must be removable before it is worth copying */
      if (access (src_dir, W_OK) != 0)
        {
          hippo_sort_set_errno_error (error, errno, "cannot move out of",
                                      src_dir);
          goto out;
        }
    }
  if (!hippo_sort_copy_verified (in, &st, e->src, tmp, move, &sha, error))
    goto out;
  hippo_sort_crash_point (j);
  if (fstat (in, &st2) != 0 || st2.st_size != st.st_size
      || st2.st_mtim.tv_sec != st.st_mtim.tv_sec
      || st2.st_mtim.tv_nsec != st.st_mtim.tv_nsec)
    {
      g_autofree char *display = g_filename_display_name (e->src);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                   "%s changed while being copied; not sorted", display);
      goto out;
    }
  while (hippo_sort_rename_noreplace (tmp, e->dest) != 0)
    {
      if (errno != EEXIST)
        {
          hippo_sort_set_errno_error (error, errno, "cannot create", e->dest);
          goto out;
        }
      if (!retarget (j, e, dir, base, n, error))
        goto out;
    }
  g_clear_pointer (&tmp, g_free);
  hippo_sort_crash_point (j);
  if (!hippo_sort_fsync_dir (dir, error))
    goto out;
  e->sha256 = g_steal_pointer (&sha);
  if (move)
    {
      if (!hippo_sort_write_simple (j, "placed", e, TRUE, TRUE, error))
        goto out;
      hippo_sort_crash_point (j);
      if (g_unlink (e->src) != 0)
        {
          hippo_sort_set_errno_error (error, errno, "cannot remove", e->src);
          goto out;
        }
      hippo_sort_crash_point (j);
      if (!hippo_sort_fsync_parent (e->src, error))
        goto out;
    }
  ok = TRUE;

out:
  if (tmp != NULL)
    g_unlink (tmp);
  if (in >= 0)
    close (in);
  return ok;
}

static gboolean
do_action (HippoSortJournal *j, HippoSortEntry *e, const char *dir,
           const char *base, int *n, GError **error)
{
  for (;;)
    {
      int r = 0;

      switch (e->action)
        {
          case HIPPO_SORT_COPY:
            return do_copy (j, e, dir, base, n, FALSE, error);
          case HIPPO_SORT_MOVE:
            r = renameat2 (AT_FDCWD, e->src, AT_FDCWD, e->dest,
                           RENAME_NOREPLACE);
            if (r != 0 && (errno == EINVAL || errno == ENOSYS))
              {
                /* no RENAME_NOREPLACE here: link + unlink */
                r = link (e->src, e->dest);
                if (r == 0)
                  {
                    hippo_sort_crash_point (j);
                    if (g_unlink (e->src) != 0)
                      {
                        hippo_sort_set_errno_error (error, errno,
                                                    "cannot remove", e->src);
                        return FALSE;
                      }
                  }
                else if (errno != EEXIST)
                  errno = EXDEV; /* no hard links either: copy */
              }
            if (r != 0 && errno == EXDEV)
              return do_copy (j, e, dir, base, n, TRUE, error);
            break;
          case HIPPO_SORT_SYMLINK:
            r = symlink (e->src, e->dest);
            break;
          case HIPPO_SORT_HARDLINK:
            r = linkat (AT_FDCWD, e->src, AT_FDCWD, e->dest, AT_SYMLINK_FOLLOW);
            if (r != 0 && errno == EXDEV)
              {
                g_autofree char *display = g_filename_display_name (e->src);

                g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                             "cannot hard-link %s into another file system; "
                             "use a symbolic link or a copy",
                             display);
                return FALSE;
              }
            break;
        }
      if (r == 0)
        return TRUE;
      if (errno != EEXIST)
        {
          hippo_sort_set_errno_error (error, errno, "cannot sort", e->src);
          return FALSE;
        }
      if (!retarget (j, e, dir, base, n, error))
        return FALSE;
    }
}

static gboolean
same_dir (const char *a, const char *b)
{
  struct stat sa, sb;

  if (strcmp (a, b) == 0)
    return TRUE;
  return stat (a, &sa) == 0 && stat (b, &sb) == 0 && sa.st_dev == sb.st_dev
         && sa.st_ino == sb.st_ino;
}

gboolean
hippo_sort_file (HippoSortJournal *journal, const char *src,
                 const char *class_label, const HippoSortParams *params,
                 char **dest_out, GError **error)
{
  g_autofree char *abs_src = NULL;
  g_autofree char *root = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *src_dir = NULL;
  g_autofree char *base = NULL;
  g_autoptr (JsonObject) o = NULL;
  HippoSortEntry *e;
  struct stat st;
  int n = 0;

  g_return_val_if_fail (src != NULL, FALSE);
  g_return_val_if_fail (params != NULL, FALSE);
  g_return_val_if_fail (params->dest_root != NULL, FALSE);
  g_return_val_if_fail (journal != NULL || params->dry_run, FALSE);
  g_return_val_if_fail (
    (guint) params->action < G_N_ELEMENTS (hippo_sort_action_names), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (dest_out != NULL)
    *dest_out = NULL;
  abs_src = g_canonicalize_filename (src, NULL);
  if (lstat (abs_src, &st) != 0)
    {
      hippo_sort_set_errno_error (error, errno, "cannot sort", abs_src);
      return FALSE;
    }
  if (S_ISLNK (st.st_mode) && params->action == HIPPO_SORT_MOVE)
    {
      g_autofree char *display = g_filename_display_name (abs_src);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s is a symbolic link; not moved", display);
      return FALSE;
    }
  if (S_ISLNK (st.st_mode) && stat (abs_src, &st) != 0)
    {
      hippo_sort_set_errno_error (error, errno, "cannot follow", abs_src);
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_autofree char *display = g_filename_display_name (abs_src);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s is not a regular file", display);
      return FALSE;
    }

  if (class_label == NULL && params->unsure == HIPPO_SORT_UNSURE_LEAVE)
    {
      if (dest_out != NULL)
        *dest_out = g_steal_pointer (&abs_src);
      return TRUE;
    }
  folder = folder_name (class_label != NULL ? class_label
                                            : (params->unsure_name != NULL
                                                 ? params->unsure_name
                                                 : HIPPO_SORT_UNSURE_DEFAULT),
                        error);
  if (folder == NULL)
    return FALSE;
  root = g_canonicalize_filename (params->dest_root, NULL);
  dir = g_build_filename (root, folder, NULL);
  src_dir = g_path_get_dirname (abs_src);
  base = g_path_get_basename (abs_src);

  if (same_dir (src_dir, dir))
    {
      if (dest_out != NULL)
        *dest_out = g_steal_pointer (&abs_src);
      return TRUE;
    }
  if (journal != NULL && !params->dry_run)
    {
      HippoSortEntry *prev = find_done (journal, abs_src, dir, params->action);

      if (prev != NULL)
        {
          if (dest_out != NULL)
            *dest_out = g_strdup (prev->dest);
          return TRUE;
        }
    }
  if (params->dry_run)
    {
      char *planned = next_free (journal, dir, base, &n, error);

      if (planned == NULL)
        return FALSE;
      if (journal != NULL)
        {
          if (journal->planned == NULL)
            journal->planned
              = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
          g_hash_table_add (journal->planned, g_strdup (planned));
        }
      if (dest_out != NULL)
        *dest_out = planned;
      else
        g_free (planned);
      return TRUE;
    }

  if (!ensure_dir (journal, dir, error))
    return FALSE;
  e = g_new0 (HippoSortEntry, 1);
  e->id = journal->next_id++;
  e->action = params->action;
  e->src = g_strdup (abs_src);
  e->token = new_token ();
  e->dest = next_free (journal, dir, base, &n, error);
  if (e->dest == NULL)
    {
      hippo_sort_entry_free (e);
      return FALSE;
    }
  o = hippo_sort_record_new ("begin", e->id);
  json_object_set_string_member (o, "action",
                                 hippo_sort_action_names[e->action]);
  json_object_set_string_member (o, "token", e->token);
  hippo_sort_set_path_member (o, "src", e->src);
  hippo_sort_set_path_member (o, "dest", e->dest);
  if (!hippo_sort_journal_write (journal, o, TRUE, error))
    {
      hippo_sort_entry_free (e);
      return FALSE;
    }
  g_ptr_array_add (journal->entries, e);
  g_hash_table_insert (journal->by_id, &e->id, e);
  g_hash_table_insert (journal->by_src, e->src, e);
  hippo_sort_crash_point (journal);

  if (!do_action (journal, e, dir, base, &n, error))
    {
      /* Settle by what is on disk (normally: back; nothing was left). */
      g_autoptr (GError) local = NULL;

      if (!hippo_sort_settle (journal, e, &local))
        g_debug ("cannot settle %s now: %s", e->src, local->message);
      return FALSE;
    }
  hippo_sort_crash_point (journal);
  if (!hippo_sort_write_mark (journal, e, "done", error))
    return FALSE;
  hippo_sort_crash_point (journal);
  if (dest_out != NULL)
    *dest_out = g_strdup (e->dest);
  return TRUE;
}
