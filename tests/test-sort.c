/* Tests of sorting into class folders (core/files/sort.c): copy, move, links,
 * clashes, dry runs, undo, moves across file systems, and crashes: a child
 * process sorting a tree is killed with SIGKILL at random moments and at
 * every crash point in turn; every file must then exist exactly once (after
 * the documented recovery where a move crosses file systems), a re-run must
 * finish the job, and undo must restore the tree byte for byte (a manifest
 * of path, mode, mtime and SHA-256 compared before and after).
 *
 * Cross-file-system cases use a tmpfs mounted in a private mount namespace
 * (tests run as root); without the privilege they are skipped, loudly.
 */
#define _GNU_SOURCE
#include <hippotag/hippotag.h>
#include "files/sort-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *tmpdir;
static char *fs_a; /* two tmpfs mounts, or NULL */
static char *fs_b;

/* ---- helpers ---- */

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static void
write_file (const char *path, const char *data, gssize len)
{
  g_autofree char *dir = g_path_get_dirname (path);
  GError *error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_unlink (path); /* CONTENTS_NONE writes in place without truncating */
  g_file_set_contents_full (path, data, len, G_FILE_SET_CONTENTS_NONE, 0644,
                            &error);
  g_assert_no_error (error);
}

static char *
file_sha256 (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  GError *error = NULL;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data,
                                      len);
}

static gboolean
is_temp_name (const char *name)
{
  return g_str_has_prefix (name, ".hippotag-");
}

/* Lines "F rel mode mtime sha", "L rel target", "D rel" for everything under
 * ROOT (sorted), optionally skipping our temporary files. */
static void
walk (const char *root, const char *rel, GPtrArray *out, gboolean skip_temp)
{
  g_autofree char *path
    = rel[0] != '\0' ? g_build_filename (root, rel, NULL) : g_strdup (root);
  GDir *d = g_dir_open (path, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *r
        = rel[0] != '\0' ? g_build_filename (rel, name, NULL) : g_strdup (name);
      g_autofree char *p = g_build_filename (root, r, NULL);
      struct stat st;

      if (skip_temp && is_temp_name (name))
        continue;
      g_assert_cmpint (lstat (p, &st), ==, 0);
      if (S_ISDIR (st.st_mode))
        {
          g_ptr_array_add (out, g_strdup_printf ("D %s", r));
          walk (root, r, out, skip_temp);
        }
      else if (S_ISLNK (st.st_mode))
        {
          g_autofree char *t = g_file_read_link (p, NULL);

          g_ptr_array_add (out, g_strdup_printf ("L %s %s", r, t));
        }
      else
        {
          g_autofree char *h = file_sha256 (p);

          g_ptr_array_add (
            out, g_strdup_printf (
                   "F %s %o %ld.%09ld %s", r, (unsigned) (st.st_mode & 07777),
                   (long) st.st_mtim.tv_sec, (long) st.st_mtim.tv_nsec, h));
        }
    }
  g_dir_close (d);
}

static int
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static char *
manifest (const char *root)
{
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  if (!g_file_test (root, G_FILE_TEST_EXISTS))
    return g_strdup ("(missing)");
  walk (root, "", lines, FALSE);
  g_ptr_array_sort (lines, cmp_str);
  g_ptr_array_add (lines, NULL);
  return g_strjoinv ("\n", (char **) lines->pdata);
}

/* Content hash -> number of regular files holding it, under each root. */
static GHashTable *
content_counts (const char *const *roots, int *n_temp)
{
  GHashTable *counts
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  *n_temp = 0;
  for (gsize i = 0; roots[i] != NULL; i++)
    {
      g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func (g_free);

      walk (roots[i], "", all, FALSE);
      for (guint k = 0; k < all->len; k++)
        {
          const char *line = g_ptr_array_index (all, k);
          g_auto (GStrv) f = NULL;
          g_autofree char *base = NULL;

          if (line[0] != 'F')
            continue;
          f = g_strsplit (line, " ", -1);
          base = g_path_get_basename (f[1]);
          if (is_temp_name (base))
            {
              (*n_temp)++;
              continue;
            }
          g_hash_table_insert (
            counts, g_strdup (f[4]),
            GINT_TO_POINTER (
              GPOINTER_TO_INT (g_hash_table_lookup (counts, f[4])) + 1));
        }
    }
  return counts;
}

typedef struct
{
  char *root;
  char *src;
  char *dest;
  char *journal;
  GPtrArray *files;  /* absolute source paths */
  GPtrArray *hashes; /* their SHA-256 */
  char *before;      /* manifest of src */
} Tree;

static void
tree_free (Tree *t)
{
  g_free (t->root);
  g_free (t->src);
  g_free (t->dest);
  g_free (t->journal);
  g_ptr_array_unref (t->files);
  g_ptr_array_unref (t->hashes);
  g_free (t->before);
  g_free (t);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Tree, tree_free)

/* N small files with distinct contents under ROOT/src in a few folders, with
 * repeated base names (clashes in the class folders). DEST_ROOT (optional)
 * puts dest elsewhere (another file system). */
static Tree *
tree_new_at (const char *base, const char *name, int n, guint32 seed,
             const char *dest_root, int max_size)
{
  Tree *t = g_new0 (Tree, 1);
  GRand *rand = g_rand_new_with_seed (seed);

  t->root = g_build_filename (base, name, NULL);
  t->src = g_build_filename (t->root, "src", NULL);
  t->dest = dest_root != NULL ? g_build_filename (dest_root, name, NULL)
                              : g_build_filename (t->root, "dest", NULL);
  t->journal = g_build_filename (t->root, "journal.jsonl", NULL);
  t->files = g_ptr_array_new_with_free_func (g_free);
  t->hashes = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; i < n; i++)
    {
      g_autofree char *rel = g_strdup_printf ("f%d/img%02d.jpg", i % 3, i / 3);
      char *path = g_build_filename (t->src, rel, NULL);
      gsize len = 16 + g_rand_int_range (rand, 0, max_size);
      g_autofree char *data = g_malloc (len);

      for (gsize k = 0; k < len; k++)
        data[k] = (char) g_rand_int (rand);
      memcpy (data, &i, sizeof i); /* distinct */
      write_file (path, data, (gssize) len);
      g_ptr_array_add (t->files, path);
      g_ptr_array_add (t->hashes, file_sha256 (path));
    }
  g_rand_free (rand);
  t->before = manifest (t->src);
  return t;
}

static Tree *
tree_new_sized (const char *name, int n, guint32 seed, const char *dest_root,
                int max_size)
{
  return tree_new_at (tmpdir, name, n, seed, dest_root, max_size);
}

static Tree *
tree_new (const char *name, int n, guint32 seed, const char *dest_root)
{
  return tree_new_sized (name, n, seed, dest_root, 3000);
}

static const char *
label_of (int i)
{
  static const char *const labels[] = { "cat", "dog", "bird", NULL };

  return labels[i % 4];
}

static void
params_for (HippoSortParams *p, const Tree *t, HippoSortAction action)
{
  hippo_sort_params_default (p);
  p->action = action;
  p->dest_root = t->dest;
}

/* Sorts every file of T that still exists; returns the failures. */
static int
sort_all (const Tree *t, HippoSortAction action, int crash_at, int *n_points)
{
  g_autoptr (HippoSortJournal) j = NULL;
  HippoSortParams params;
  GError *error = NULL;
  int failures = 0;

  params_for (&params, t, action);
  j = hippo_sort_journal_open (t->journal, &error);
  g_assert_no_error (error);
  hippo_sort_journal_set_crash_point (j, crash_at);
  for (guint i = 0; i < t->files->len; i++)
    {
      const char *f = g_ptr_array_index (t->files, i);

      if (!g_file_test (f, G_FILE_TEST_EXISTS))
        continue;
      if (!hippo_sort_file (j, f, label_of ((int) i), &params, NULL, &error))
        {
          g_test_message ("sort %s: %s", f, error->message);
          g_clear_error (&error);
          failures++;
        }
    }
  if (n_points != NULL)
    *n_points = hippo_sort_journal_get_crash_count (j);
  return failures;
}

static void
assert_undo_restores (const Tree *t)
{
  g_autofree char *after = NULL;
  GError *error = NULL;
  gboolean ok = hippo_sort_undo (t->journal, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
  after = manifest (t->src);
  g_assert_cmpstr (after, ==, t->before);
  g_assert_false (g_file_test (t->dest, G_FILE_TEST_EXISTS));
}

/* Every file of T exists exactly once (by content) across src and dest. */
static void
assert_exactly_once (const Tree *t, gboolean allow_temp)
{
  const char *roots[] = { t->src, t->dest, NULL };
  int n_temp = 0;
  g_autoptr (GHashTable) counts = content_counts (roots, &n_temp);

  for (guint i = 0; i < t->hashes->len; i++)
    {
      const char *h = g_ptr_array_index (t->hashes, i);
      int c = GPOINTER_TO_INT (g_hash_table_lookup (counts, h));

      if (c != 1)
        g_error ("%s exists %d times", (char *) g_ptr_array_index (t->files, i),
                 c);
    }
  g_assert_cmpuint (g_hash_table_size (counts), ==, t->hashes->len);
  if (!allow_temp)
    g_assert_cmpint (n_temp, ==, 0);
}

/* Every file at least once, and at most one file (the one in flight) twice.
 */
static int
assert_none_lost (const Tree *t)
{
  const char *roots[] = { t->src, t->dest, NULL };
  int n_temp = 0, twice = 0;
  g_autoptr (GHashTable) counts = content_counts (roots, &n_temp);

  for (guint i = 0; i < t->hashes->len; i++)
    {
      int c = GPOINTER_TO_INT (
        g_hash_table_lookup (counts, g_ptr_array_index (t->hashes, i)));

      g_assert_cmpint (c, >=, 1);
      g_assert_cmpint (c, <=, 2);
      twice += c == 2;
    }
  g_assert_cmpint (twice, <=, 1);
  g_assert_cmpint (n_temp, <=, 1);
  return twice + n_temp;
}

static int
count_files (const char *root)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func (g_free);
  int n = 0;

  walk (root, "", all, TRUE);
  for (guint i = 0; i < all->len; i++)
    n += ((char *) g_ptr_array_index (all, i))[0] != 'D';
  return n;
}

static char *
mount_tmpfs_sized (const char *name, const char *size)
{
  char *dir = tmp_path (name);
  g_autofree char *opts = g_strdup_printf ("size=%s,mode=0755", size);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  if (mount ("tmpfs", dir, "tmpfs", 0, opts) != 0)
    {
      g_autofree char *msg = g_strdup_printf (
        "SKIPPED: cannot mount a tmpfs for a second file system (%s); needs "
        "root in a mount namespace",
        g_strerror (errno));
      g_printerr ("# %s\n", msg);
      g_test_skip (msg);
      g_free (dir);
      return NULL;
    }
  return dir;
}

static char *
mount_tmpfs (const char *name)
{
  return mount_tmpfs_sized (name, "64m");
}

/* ---- basic actions ---- */

static void
test_copy (void)
{
  g_autoptr (Tree) t = tree_new ("copy", 6, 1, NULL);
  g_autoptr (HippoSortJournal) j = NULL;
  g_autofree char *expect_clash = NULL;
  g_autofree char *text = NULL;
  HippoSortParams params;
  GError *error = NULL;
  char *dests[6];

  params_for (&params, t, HIPPO_SORT_COPY);
  j = hippo_sort_journal_open (t->journal, &error);
  g_assert_no_error (error);
  /* f0/img00.jpg, f1/img00.jpg and f2/img00.jpg all go to cat/ */
  for (int i = 0; i < 6; i++)
    {
      const char *f = g_ptr_array_index (t->files, i);
      g_autofree char *h = NULL;
      struct stat a, b;

      g_assert_true (hippo_sort_file (j, f, i < 3 ? "cat" : "dog", &params,
                                      &dests[i], &error));
      g_assert_no_error (error);
      h = file_sha256 (dests[i]);
      g_assert_cmpstr (h, ==, g_ptr_array_index (t->hashes, i));
      g_assert_cmpint (stat (f, &a), ==, 0);
      g_assert_cmpint (stat (dests[i], &b), ==, 0);
      g_assert_cmpint (a.st_mode, ==, b.st_mode);
      g_assert_cmpint (a.st_mtim.tv_sec, ==, b.st_mtim.tv_sec);
      g_assert_cmpint (a.st_mtim.tv_nsec, ==, b.st_mtim.tv_nsec);
    }
  g_assert_true (g_str_has_suffix (dests[0], "/dest/cat/img00.jpg"));
  g_assert_true (g_str_has_suffix (dests[1], "/dest/cat/img00-1.jpg"));
  g_assert_true (g_str_has_suffix (dests[2], "/dest/cat/img00-2.jpg"));
  g_assert_true (g_str_has_suffix (dests[3], "/dest/dog/img01.jpg"));
  {
    g_autofree char *now = manifest (t->src);

    g_assert_cmpstr (now, ==, t->before);
  }
  /* a re-run finds its copies and makes no new ones */
  for (int i = 0; i < 6; i++)
    {
      g_autofree char *again = NULL;

      g_assert_true (hippo_sort_file (j, g_ptr_array_index (t->files, i),
                                      i < 3 ? "cat" : "dog", &params, &again,
                                      &error));
      g_assert_no_error (error);
      g_assert_cmpstr (again, ==, dests[i]);
      g_free (dests[i]);
    }
  g_assert_cmpint (count_files (t->dest), ==, 6);
  g_clear_pointer (&j, hippo_sort_journal_close);

  g_file_get_contents (t->journal, &text, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (text, "{\"journal\":\"hippotag-sort\""));
  g_assert_nonnull (strstr (text, "\"op\":\"begin\""));
  g_assert_nonnull (strstr (text, "\"op\":\"done\""));
  g_assert_nonnull (strstr (text, "\"op\":\"mkdir\""));

  assert_undo_restores (t);
  /* undo again: nothing left to do, still fine */
  g_assert_true (hippo_sort_undo (t->journal, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
test_move (void)
{
  g_autoptr (Tree) t = tree_new ("move", 12, 2, NULL);

  g_assert_cmpint (sort_all (t, HIPPO_SORT_MOVE, 0, NULL), ==, 0);
  g_assert_cmpint (count_files (t->src), ==, 0);
  g_assert_cmpint (count_files (t->dest), ==, 12);
  assert_exactly_once (t, FALSE);
  assert_undo_restores (t);
}

static void
test_links (void)
{
  g_autoptr (Tree) t = tree_new ("links", 4, 3, NULL);
  g_autoptr (HippoSortJournal) j = NULL;
  HippoSortParams params;
  GError *error = NULL;
  g_autofree char *sym = NULL;
  g_autofree char *hard = NULL;
  g_autofree char *target = NULL;
  struct stat a, b;
  const char *f0 = g_ptr_array_index (t->files, 0);
  const char *f1 = g_ptr_array_index (t->files, 1);

  j = hippo_sort_journal_open (t->journal, &error);
  g_assert_no_error (error);
  params_for (&params, t, HIPPO_SORT_SYMLINK);
  g_assert_true (hippo_sort_file (j, f0, "cat", &params, &sym, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (sym, G_FILE_TEST_IS_SYMLINK));
  target = g_file_read_link (sym, NULL);
  g_assert_cmpstr (target, ==, f0);

  params.action = HIPPO_SORT_HARDLINK;
  g_assert_true (hippo_sort_file (j, f1, "cat", &params, &hard, &error));
  g_assert_no_error (error);
  g_assert_cmpint (stat (f1, &a), ==, 0);
  g_assert_cmpint (stat (hard, &b), ==, 0);
  g_assert_cmpint (a.st_ino, ==, b.st_ino);
  g_assert_cmpint (a.st_nlink, ==, 2);
  g_clear_pointer (&j, hippo_sort_journal_close);

  assert_undo_restores (t);
  g_assert_cmpint (stat (f1, &a), ==, 0);
  g_assert_cmpint (a.st_nlink, ==, 1);
}

static void
test_clash_with_existing (void)
{
  g_autoptr (Tree) t = tree_new ("clash", 2, 4, NULL);
  g_autofree char *theirs
    = g_build_filename (t->dest, "cat", "img00.jpg", NULL);
  g_autofree char *ours = NULL;
  g_autofree char *h = NULL;
  g_autoptr (HippoSortJournal) j = NULL;
  HippoSortParams params;
  GError *error = NULL;

  write_file (theirs, "someone else's file", -1);
  params_for (&params, t, HIPPO_SORT_MOVE);
  j = hippo_sort_journal_open (t->journal, &error);
  g_assert_no_error (error);
  g_assert_true (hippo_sort_file (j, g_ptr_array_index (t->files, 0), "cat",
                                  &params, &ours, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (ours, "/cat/img00-1.jpg"));
  h = file_sha256 (ours);
  g_assert_cmpstr (h, ==, g_ptr_array_index (t->hashes, 0));
  g_clear_pointer (&j, hippo_sort_journal_close);

  g_assert_true (hippo_sort_undo (t->journal, NULL, NULL, &error));
  g_assert_no_error (error);
  {
    g_autofree char *now = manifest (t->src);
    g_autofree char *data = NULL;

    g_assert_cmpstr (now, ==, t->before);
    /* their file and folder stay */
    g_file_get_contents (theirs, &data, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (data, ==, "someone else's file");
    g_assert_cmpint (count_files (t->dest), ==, 1);
  }
}

static void
test_dry_run_and_unsure (void)
{
  g_autoptr (Tree) t = tree_new ("dry", 4, 5, NULL);
  g_autoptr (HippoSortJournal) j = NULL;
  g_autofree char *d0 = NULL;
  g_autofree char *d1 = NULL;
  g_autofree char *d2 = NULL;
  g_autofree char *u = NULL;
  g_autofree char *stay = NULL;
  HippoSortParams params;
  GError *error = NULL;
  const char *f0 = g_ptr_array_index (t->files, 0);
  const char *f1 = g_ptr_array_index (t->files, 1);

  params_for (&params, t, HIPPO_SORT_MOVE);
  params.dry_run = TRUE;
  g_assert_true (hippo_sort_file (NULL, f0, "cat", &params, &d0, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (d0, "/dest/cat/img00.jpg"));
  j = hippo_sort_journal_open (t->journal, &error);
  g_assert_no_error (error);
  g_assert_true (hippo_sort_file (j, f0, "cat", &params, &d1, &error));
  g_assert_true (hippo_sort_file (j, f1, "cat", &params, &d2, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (d2, "/dest/cat/img00-1.jpg"));
  g_assert_true (hippo_sort_file (j, f0, NULL, &params, &u, &error));
  g_assert_true (g_str_has_suffix (u, "/dest/unsure/img00.jpg"));
  g_assert_false (g_file_test (t->dest, G_FILE_TEST_EXISTS));
  {
    g_autofree char *now = manifest (t->src);

    g_assert_cmpstr (now, ==, t->before);
  }

  params.dry_run = FALSE;
  params.unsure = HIPPO_SORT_UNSURE_LEAVE;
  g_assert_true (hippo_sort_file (j, f0, NULL, &params, &stay, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (stay, ==, f0);
  g_assert_false (g_file_test (t->dest, G_FILE_TEST_EXISTS));
  g_clear_pointer (&u, g_free);
  params.unsure = HIPPO_SORT_UNSURE_FOLDER;
  params.unsure_name = "not sure";
  g_assert_true (hippo_sort_file (j, f0, NULL, &params, &u, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (u, "/dest/not sure/img00.jpg"));
  g_assert_true (g_file_test (u, G_FILE_TEST_IS_REGULAR));
  g_clear_pointer (&j, hippo_sort_journal_close);
  assert_undo_restores (t);
}

static void
test_bad_inputs (void)
{
  g_autoptr (Tree) t = tree_new ("bad", 3, 6, NULL);
  g_autoptr (HippoSortJournal) j = NULL;
  g_autofree char *missing = g_build_filename (t->src, "missing.jpg", NULL);
  g_autofree char *link = g_build_filename (t->src, "link.jpg", NULL);
  g_autofree char *evil = NULL;
  g_autofree char *dots = NULL;
  g_autofree char *long_label = g_strnfill (300, 'x');
  HippoSortParams params;
  GError *error = NULL;
  const char *f0 = g_ptr_array_index (t->files, 0);
  const char *f1 = g_ptr_array_index (t->files, 1);

  params_for (&params, t, HIPPO_SORT_MOVE);
  j = hippo_sort_journal_open (t->journal, &error);
  g_assert_no_error (error);

  g_assert_false (hippo_sort_file (j, missing, "cat", &params, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (hippo_sort_file (j, t->src, "cat", &params, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpint (symlink (f0, link), ==, 0);
  g_assert_false (hippo_sort_file (j, link, "cat", &params, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpint (unlink (link), ==, 0);
  g_assert_false (hippo_sort_file (j, f0, long_label, &params, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* class names never leave the destination folder */
  g_assert_true (hippo_sort_file (j, f0, "../../evil", &params, &evil, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (evil, "/dest/.._.._evil/img00.jpg"));
  g_assert_true (hippo_sort_file (j, f1, "..", &params, &dots, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (dots, "/dest/_../img00.jpg"));

  /* one writer at a time */
  g_assert_null (hippo_sort_journal_open (t->journal, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IO);
  g_clear_error (&error);
  g_clear_pointer (&j, hippo_sort_journal_close);

  /* a torn last record (a crash mid-append) is dropped; appending goes on */
  {
    g_autofree char *text = NULL;
    g_autofree char *torn = NULL;
    gsize len = 0;

    g_file_get_contents (t->journal, &text, &len, &error);
    g_assert_no_error (error);
    torn = g_strconcat (text, "{\"op\":\"begin\",\"id\":99,\"act", NULL);
    write_file (t->journal, torn, -1);
    j = hippo_sort_journal_open (t->journal, &error);
    g_assert_no_error (error);
    g_clear_pointer (&j, hippo_sort_journal_close);
    g_clear_pointer (&torn, g_free);
    g_file_get_contents (t->journal, &torn, NULL, &error);
    g_assert_cmpstr (torn, ==, text);
  }
  assert_undo_restores (t);

  /* hostile journals: clear errors, nothing touched */
  {
    static const char *const journals[] = {
      "",
      "not json\n",
      "{\"journal\":\"something else\",\"version\":1}\n",
      "{\"journal\":\"hippotag-sort\",\"version\":99}\n",
      "{\"journal\":\"hippotag-sort\",\"version\":1}\n{\"op\":\"begin\","
      "\"id\":1,\"action\":\"move\",\"token\":\"../../../etc/x\",\"src\":"
      "\"/a\",\"dest\":\"/b\"}\n",
      "{\"journal\":\"hippotag-sort\",\"version\":1}\n{\"op\":\"begin\","
      "\"id\":1,\"action\":\"move\",\"token\":\"0123456789abcdef\",\"src\":"
      "\"relative\",\"dest\":\"/b\"}\n",
      "{\"journal\":\"hippotag-sort\",\"version\":1}\n{\"op\":\"done\","
      "\"id\":7}\n",
      "{\"journal\":\"hippotag-sort\",\"version\":1}\n[1,2,3]\n",
      /* no newline at all: not a torn journal, must not be cut */
      "\xff\xd8\xff\xe0 a small binary file",
      "{\"journal\":\"hippotag-sort\",\"version\":1}\nnot a record",
      "{\"journal\":\"hippotag-sort\",\"version\":1}\n{\"op\":\"begin\","
      "\"id\":1,\"action\":\"move\",\"token\":\"0123456789abcdef\","
      "\"src_hex\":\"2f00\",\"dest\":\"/b\"}\n",
    };
    g_autofree char *bad = tmp_path ("bad-journal.jsonl");

    for (gsize i = 0; i < G_N_ELEMENTS (journals); i++)
      {
        g_autofree char *text = NULL;
        gboolean ok;

        write_file (bad, journals[i], -1);
        ok = hippo_sort_undo (bad, NULL, NULL, &error);
        if (i == 0)
          {
            /* an empty file is a journal of nothing */
            g_assert_no_error (error);
            g_assert_true (ok);
            continue;
          }
        g_assert_false (ok);
        g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED);
        g_clear_error (&error);
        g_file_get_contents (bad, &text, NULL, &error);
        g_assert_cmpstr (text, ==, journals[i]);
      }
    /* a header torn while the journal was being created: a journal of
     * nothing, repaired */
    write_file (bad, "{\"journal\":\"hippo", -1);
    g_assert_true (hippo_sort_undo (bad, NULL, NULL, &error));
    g_assert_no_error (error);
    {
      g_autofree char *text = NULL;

      g_file_get_contents (bad, &text, NULL, &error);
      g_assert_cmpstr (text, ==,
                       "{\"journal\":\"hippotag-sort\",\"version\":1}\n");
    }
    g_assert_false (hippo_sort_undo (missing, NULL, NULL, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }
}

static void
test_non_utf8_names (void)
{
  g_autoptr (Tree) t = tree_new ("latin1", 1, 7, NULL);
  g_autofree char *odd = g_build_filename (t->src, "caf\xe9.jpg", NULL);
  g_autofree char *dest = NULL;
  g_autofree char *text = NULL;
  g_autoptr (HippoSortJournal) j = NULL;
  HippoSortParams params;
  GError *error = NULL;

  write_file (odd, "latin-1 name", -1);
  g_free (t->before);
  t->before = manifest (t->src);
  params_for (&params, t, HIPPO_SORT_MOVE);
  j = hippo_sort_journal_open (t->journal, &error);
  g_assert_no_error (error);
  g_assert_true (hippo_sort_file (j, odd, "cat", &params, &dest, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (dest, "/cat/caf\xe9.jpg"));
  g_clear_pointer (&j, hippo_sort_journal_close);
  g_file_get_contents (t->journal, &text, NULL, &error);
  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_nonnull (strstr (text, "\"src_hex\":\""));
  assert_undo_restores (t);
}

static void
test_undo_keeps_edited_copy (void)
{
  g_autoptr (Tree) t = tree_new ("edited", 3, 8, NULL);
  g_autofree char *edited
    = g_build_filename (t->dest, "cat", "img00.jpg", NULL);
  g_autofree char *now = NULL;
  GError *error = NULL;

  g_assert_cmpint (sort_all (t, HIPPO_SORT_COPY, 0, NULL), ==, 0);
  write_file (edited, "edited by the user", -1);
  g_assert_false (hippo_sort_undo (t->journal, NULL, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "1 of 3"));
  g_clear_error (&error);
  g_assert_true (g_file_test (edited, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (count_files (t->dest), ==, 1);
  now = manifest (t->src);
  g_assert_cmpstr (now, ==, t->before);
}

static gboolean
cancel_after_one (guint64 done, guint64 total, gpointer data)
{
  int *calls = data;

  (*calls)++;
  g_assert_cmpuint (total, ==, 5);
  return done < 1;
}

static void
test_undo_cancel (void)
{
  g_autoptr (Tree) t = tree_new ("cancel", 5, 9, NULL);
  GError *error = NULL;
  int calls = 0;

  g_assert_cmpint (sort_all (t, HIPPO_SORT_MOVE, 0, NULL), ==, 0);
  g_assert_false (
    hippo_sort_undo (t->journal, cancel_after_one, &calls, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpint (calls, ==, 1);
  assert_exactly_once (t, FALSE);
  assert_undo_restores (t);
}

/* ---- across file systems ---- */

static void
test_cross_fs (void)
{
  g_autofree char *mnt = mount_tmpfs ("xdev-mnt");
  g_autoptr (Tree) t = NULL;
  g_autoptr (HippoSortJournal) j = NULL;
  g_autofree char *text = NULL;
  HippoSortParams params;
  GError *error = NULL;

  if (mnt == NULL)
    return;
  t = tree_new ("xdev", 8, 10, mnt);
  g_assert_cmpint (sort_all (t, HIPPO_SORT_MOVE, 0, NULL), ==, 0);
  g_assert_cmpint (count_files (t->src), ==, 0);
  assert_exactly_once (t, FALSE);
  g_file_get_contents (t->journal, &text, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "\"op\":\"placed\""));

  params_for (&params, t, HIPPO_SORT_HARDLINK);
  j = hippo_sort_journal_open (t->journal, &error);
  g_assert_no_error (error);
  {
    g_autofree char *other = tmp_path ("xdev-other.jpg");

    write_file (other, "x", -1);
    g_assert_false (hippo_sort_file (j, other, "cat", &params, NULL, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "symbolic link"));
    g_clear_error (&error);
    g_unlink (other);
  }
  g_clear_pointer (&j, hippo_sort_journal_close);
  assert_undo_restores (t);
  g_assert_cmpint (umount2 (mnt, MNT_DETACH), ==, 0);
}

/* ---- faults ---- */

static void
fill (const char *path)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  char buf[4096];

  memset (buf, 0x5a, sizeof buf);
  g_assert_cmpint (fd, >=, 0);
  while (write (fd, buf, sizeof buf) > 0)
    ;
  g_assert_cmpint (errno, ==, ENOSPC);
  close (fd);
}

static void
test_full_dest (void)
{
  g_autofree char *mnt = mount_tmpfs_sized ("full-mnt", "64k");
  g_autoptr (Tree) t = NULL;
  g_autoptr (HippoSortJournal) j = NULL;
  HippoSortParams params;
  GError *error = NULL;
  int moved = 0, failed = 0;

  if (mnt == NULL)
    return;
  t = tree_new_sized ("full", 8, 11, mnt, 20000);
  params_for (&params, t, HIPPO_SORT_MOVE);
  j = hippo_sort_journal_open (t->journal, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < t->files->len; i++)
    {
      const char *f = g_ptr_array_index (t->files, i);

      if (hippo_sort_file (j, f, "cat", &params, NULL, &error))
        moved++;
      else
        {
          g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IO);
          g_assert_nonnull (strstr (error->message, "No space"));
          g_clear_error (&error);
          g_assert_true (g_file_test (f, G_FILE_TEST_IS_REGULAR));
          failed++;
        }
      assert_exactly_once (t, FALSE);
    }
  g_assert_cmpint (moved, >, 0);
  g_assert_cmpint (failed, >, 0);
  g_clear_pointer (&j, hippo_sort_journal_close);
  assert_undo_restores (t);

  /* the journal itself on a full disk: nothing is done unjournaled */
  {
    g_autofree char *jpath = g_build_filename (mnt, "journal.jsonl", NULL);
    g_autofree char *filler = g_build_filename (mnt, "filler", NULL);
    g_autofree char *text = NULL;
    g_autoptr (Tree) t2 = tree_new ("full-journal", 40, 13, NULL);
    gboolean failed_once = FALSE;

    j = hippo_sort_journal_open (jpath, &error);
    g_assert_no_error (error);
    fill (filler);
    /* room for the files (on another disk), none for the journal once its
     * last page is used up */
    params.dest_root = t2->dest;
    for (guint i = 0; i < t2->files->len && !failed_once; i++)
      {
        const char *f = g_ptr_array_index (t2->files, i);

        if (!hippo_sort_file (j, f, label_of ((int) i), &params, NULL, &error))
          {
            g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IO);
            g_assert_nonnull (strstr (error->message, "journal"));
            g_clear_error (&error);
            g_assert_true (g_file_test (f, G_FILE_TEST_IS_REGULAR));
            failed_once = TRUE;
          }
      }
    g_assert_true (failed_once);
    g_clear_pointer (&j, hippo_sort_journal_close);
    g_file_get_contents (jpath, &text, NULL, &error);
    g_assert_true (g_str_has_suffix (text, "}\n"));
    g_unlink (filler);
    g_assert_true (hippo_sort_undo (jpath, NULL, NULL, &error));
    g_assert_no_error (error);
    g_clear_pointer (&text, g_free);
    text = manifest (t2->src);
    g_assert_cmpstr (text, ==, t2->before);
  }
  {
    g_autofree char *now = manifest (t->src);

    g_assert_cmpstr (now, ==, t->before);
  }
  g_assert_cmpint (umount2 (mnt, MNT_DETACH), ==, 0);
}

static void
test_read_only_source (void)
{
  g_autofree char *mnt = mount_tmpfs_sized ("ro-mnt", "1m");
  g_autoptr (Tree) t = NULL;
  g_autoptr (HippoSortJournal) j = NULL;
  g_autofree char *dest = NULL;
  HippoSortParams params;
  GError *error = NULL;

  if (mnt == NULL)
    return;
  /* the source tree on the read-only mount, dest and journal on disk */
  t = tree_new_at (mnt, "ro", 3, 12, NULL, 3000);
  g_free (t->dest);
  g_free (t->journal);
  t->dest = tmp_path ("ro-dest");
  t->journal = tmp_path ("ro-journal.jsonl");
  g_assert_cmpint (mount (NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, "size=1m"),
                   ==, 0);

  params_for (&params, t, HIPPO_SORT_MOVE);
  j = hippo_sort_journal_open (t->journal, &error);
  g_assert_no_error (error);
  g_assert_false (hippo_sort_file (j, g_ptr_array_index (t->files, 0), "cat",
                                   &params, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IO);
  g_clear_error (&error);
  g_assert_cmpint (count_files (t->dest), ==, 0);
  params.action = HIPPO_SORT_COPY;
  g_assert_true (hippo_sort_file (j, g_ptr_array_index (t->files, 0), "cat",
                                  &params, &dest, &error));
  g_assert_no_error (error);
  g_clear_pointer (&j, hippo_sort_journal_close);
  assert_undo_restores (t);
  g_assert_cmpint (umount2 (mnt, MNT_DETACH), ==, 0);
}

/* ---- crashes ---- */

/* Runs sort_all in a child; returns TRUE when the child was killed. With
 * KILL_AFTER_US >= 0 the child is killed that long after it starts sorting;
 * *RAN_US (optional) receives how long it ran from there. */
static gboolean
run_child_timed (const Tree *t, HippoSortAction action, int crash_at,
                 gint64 kill_after_us, gint64 *ran_us)
{
  int status = 0, fds[2];
  gint64 t0;
  pid_t pid;
  char c;

  g_assert_cmpint (pipe (fds), ==, 0);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      close (fds[0]);
      (void) !write (fds[1], "r", 1);
      sort_all (t, action, crash_at, NULL);
      _exit (0);
    }
  close (fds[1]);
  g_assert_cmpint (read (fds[0], &c, 1), ==, 1);
  close (fds[0]);
  t0 = g_get_monotonic_time ();
  if (kill_after_us >= 0)
    {
      g_usleep ((gulong) kill_after_us);
      kill (pid, SIGKILL);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  if (ran_us != NULL)
    *ran_us = g_get_monotonic_time () - t0;
  if (WIFSIGNALED (status))
    {
      g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
      return TRUE;
    }
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  return FALSE;
}

static gboolean
run_child (const Tree *t, HippoSortAction action, int crash_at)
{
  return run_child_timed (t, action, crash_at, -1, NULL);
}

/* After a kill: checks, recovers, re-runs to the end, undoes. Returns 1
 * when recovery had something to settle on disk (a file in two places or a
 * temporary copy). */
static int
check_after_crash (const Tree *t, HippoSortAction action, gboolean same_fs)
{
  GError *error = NULL;
  gboolean ok;
  int in_flight = 0;

  if (action == HIPPO_SORT_MOVE && same_fs)
    assert_exactly_once (t, FALSE); /* rename(2): no window at all */
  else if (action == HIPPO_SORT_MOVE)
    in_flight = assert_none_lost (t) > 0;
  if (!g_file_test (t->journal, G_FILE_TEST_EXISTS))
    {
      /* killed before the journal existed: nothing can have happened */
      g_autofree char *now = manifest (t->src);

      g_assert_cmpstr (now, ==, t->before);
      g_assert_false (g_file_test (t->dest, G_FILE_TEST_EXISTS));
    }
  else
    {
      ok = hippo_sort_recover (t->journal, &error);
      g_assert_no_error (error);
      g_assert_true (ok);
    }
  if (action == HIPPO_SORT_MOVE)
    assert_exactly_once (t, FALSE);
  /* the re-run finishes the job */
  g_assert_cmpint (sort_all (t, action, 0, NULL), ==, 0);
  if (action == HIPPO_SORT_MOVE)
    {
      assert_exactly_once (t, FALSE);
      g_assert_cmpint (count_files (t->src), ==, 0);
    }
  g_assert_cmpint (count_files (t->dest), ==, (int) t->files->len);
  assert_undo_restores (t);
  return in_flight;
}

static void
crash_random (const char *base, const char *dest_root, const char *tag,
              int max_size)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  gint64 full_us;
  int trials = 30, ran_trials = 0, killed = 0, midway = 0, in_flight = 0;

  /* how long an uninterrupted sort of 50 files takes here (the fastest of
   * three runs: the first pays for warming up) */
  full_us = G_MAXINT32;
  for (int k = 0; k < 3; k++)
    {
      g_autofree char *name = g_strdup_printf ("%s-calib%d", tag, k);
      g_autoptr (Tree) t
        = tree_new_at (base, name, 50, 100, dest_root, max_size);
      gint64 ran = 0;

      g_assert_false (run_child_timed (t, HIPPO_SORT_MOVE, 0, -1, &ran));
      full_us = MIN (full_us, ran);
      assert_exactly_once (t, FALSE);
      assert_undo_restores (t);
    }
  full_us = MAX (full_us, 100);
  /* fsync times swing by several times when other tests share the disk, so
   * the kill window follows the runs: a run that finished before its kill
   * shrinks it to that run's length. Trials go on until a third of the
   * planned ones were killed with some files moved (at most 4x as many). */
  for (int trial = 0; midway < trials / 3 || trial < trials; trial++)
    {
      g_autofree char *name = g_strdup_printf ("%s-%02d", tag, trial);
      g_autoptr (Tree) t = NULL;
      gint64 delay, ran = 0;
      int moved;

      g_assert_cmpint (trial, <, 4 * trials);
      t = tree_new_at (base, name, 50, 200 + trial, dest_root, max_size);
      delay = g_rand_int_range (rand, 0, (gint32) MIN (full_us, G_MAXINT32));
      if (run_child_timed (t, HIPPO_SORT_MOVE, 0, delay, &ran))
        killed++;
      else
        full_us = MAX (MIN (full_us, ran), 100);
      moved = count_files (t->dest);
      midway += moved > 0 && moved < 50;
      in_flight += check_after_crash (t, HIPPO_SORT_MOVE, dest_root == NULL);
      ran_trials = trial + 1;
    }
  g_test_message (
    "%s: %d trials, %d killed mid-run (%d with some files "
    "moved, %d with a copy in flight), kill window %" G_GINT64_FORMAT
    " us at the end",
    tag, ran_trials, killed, midway, in_flight, full_us);
  g_assert_cmpint (midway, >=, trials / 3);
}

/* On the disk's own file system (ext4 or whatever /tmp is): real fsyncs. */
static void
test_crash_random_same_fs (void)
{
  crash_random (tmpdir, NULL, "crash-same", 3000);
}

/* From one tmpfs to another: the crash behaviour does not depend on the
 * file system, and tmpfs keeps the many trials fast. */
static gboolean
have_two_fs (void)
{
  if (fs_a != NULL)
    return TRUE;
  g_printerr ("# SKIPPED: no tmpfs could be mounted for a second file "
              "system; needs root in a mount namespace\n");
  g_test_skip ("SKIPPED: cannot mount two tmpfs file systems");
  return FALSE;
}

static void
test_crash_random_cross_fs (void)
{
  if (have_two_fs ())
    crash_random (fs_a, fs_b, "crash-xdev", 40000);
}

/* Kills the sort at each of its crash points in turn. */
static void
crash_every_point (const char *base, const char *dest_root, const char *tag,
                   HippoSortAction action)
{
  int n_points = 0, in_flight = 0;

  {
    g_autofree char *name = g_strdup_printf ("%s-count", tag);
    g_autoptr (Tree) t = tree_new_at (base, name, 4, 300, dest_root, 3000);

    g_assert_cmpint (sort_all (t, action, 0, &n_points), ==, 0);
    assert_undo_restores (t);
  }
  g_assert_cmpint (n_points, >, 4);
  for (int k = 1; k <= n_points; k++)
    {
      g_autofree char *name = g_strdup_printf ("%s-%03d", tag, k);
      g_autoptr (Tree) t = tree_new_at (base, name, 4, 300, dest_root, 3000);

      g_assert_true (run_child (t, action, k));
      in_flight += check_after_crash (t, action, dest_root == NULL);
    }
  g_test_message ("%s: killed at each of %d crash points (%d with a copy in "
                  "flight)",
                  tag, n_points, in_flight);
}

/* Kills the undo at each of its crash points; a second undo finishes. */
static void
crash_undo_every_point (const char *base, const char *dest_root,
                        const char *tag)
{
  int n_points = 0;

  {
    g_autofree char *name = g_strdup_printf ("%s-count", tag);
    g_autoptr (Tree) t = tree_new_at (base, name, 4, 400, dest_root, 3000);
    GError *error = NULL;

    g_assert_cmpint (sort_all (t, HIPPO_SORT_MOVE, 0, NULL), ==, 0);
    g_assert_true (
      hippo_sort_undo_with_crash_point (t->journal, 0, &n_points, &error));
    g_assert_no_error (error);
  }
  g_assert_cmpint (n_points, >=, 8);
  for (int k = 1; k <= n_points; k++)
    {
      g_autofree char *name = g_strdup_printf ("%s-%03d", tag, k);
      g_autoptr (Tree) t = tree_new_at (base, name, 4, 400, dest_root, 3000);
      int status = 0;
      pid_t pid;

      g_assert_cmpint (sort_all (t, HIPPO_SORT_MOVE, 0, NULL), ==, 0);
      pid = fork ();
      g_assert_cmpint (pid, >=, 0);
      if (pid == 0)
        {
          hippo_sort_undo_with_crash_point (t->journal, k, NULL, NULL);
          _exit (0);
        }
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      g_assert_true (WIFSIGNALED (status));
      if (dest_root == NULL)
        assert_exactly_once (t, FALSE);
      else
        assert_none_lost (t);
      assert_undo_restores (t);
    }
  g_test_message ("%s: undo killed at each of %d crash points", tag, n_points);
}

static void
test_crash_points_same_fs (void)
{
  const char *base = fs_a != NULL ? fs_a : tmpdir;

  crash_every_point (base, NULL, "points-move", HIPPO_SORT_MOVE);
  crash_every_point (base, NULL, "points-copy", HIPPO_SORT_COPY);
  crash_every_point (base, NULL, "points-symlink", HIPPO_SORT_SYMLINK);
  crash_every_point (base, NULL, "points-hardlink", HIPPO_SORT_HARDLINK);
  crash_undo_every_point (base, NULL, "points-undo");
}

static void
test_crash_points_cross_fs (void)
{
  if (!have_two_fs ())
    return;
  crash_every_point (fs_a, fs_b, "xpoints-move", HIPPO_SORT_MOVE);
  crash_every_point (fs_a, fs_b, "xpoints-copy", HIPPO_SORT_COPY);
  crash_undo_every_point (fs_a, fs_b, "xpoints-undo");
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("hippotag-test-sort-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  /* Mounts made by the tests vanish with this process. */
  if (unshare (CLONE_NEWNS) != 0
      || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    g_printerr ("# no private mount namespace: cross-file-system tests may "
                "be skipped\n");
  fs_a = tmp_path ("fs-a");
  fs_b = tmp_path ("fs-b");
  g_mkdir (fs_a, 0755);
  g_mkdir (fs_b, 0755);
  if (mount ("tmpfs", fs_a, "tmpfs", 0, "size=256m") != 0
      || mount ("tmpfs", fs_b, "tmpfs", 0, "size=256m") != 0)
    {
      umount2 (fs_a, MNT_DETACH);
      g_clear_pointer (&fs_a, g_free);
      g_clear_pointer (&fs_b, g_free);
    }

  g_test_add_func ("/sort/copy", test_copy);
  g_test_add_func ("/sort/move", test_move);
  g_test_add_func ("/sort/links", test_links);
  g_test_add_func ("/sort/clash-with-existing", test_clash_with_existing);
  g_test_add_func ("/sort/dry-run-and-unsure", test_dry_run_and_unsure);
  g_test_add_func ("/sort/bad-inputs", test_bad_inputs);
  g_test_add_func ("/sort/non-utf8-names", test_non_utf8_names);
  g_test_add_func ("/sort/undo/keeps-edited-copy", test_undo_keeps_edited_copy);
  g_test_add_func ("/sort/undo/cancel", test_undo_cancel);
  g_test_add_func ("/sort/cross-fs", test_cross_fs);
  g_test_add_func ("/sort/fault/full-dest", test_full_dest);
  g_test_add_func ("/sort/fault/read-only-source", test_read_only_source);
  g_test_add_func ("/sort/crash/random-same-fs", test_crash_random_same_fs);
  g_test_add_func ("/sort/crash/random-cross-fs", test_crash_random_cross_fs);
  g_test_add_func ("/sort/crash/points-same-fs", test_crash_points_same_fs);
  g_test_add_func ("/sort/crash/points-cross-fs", test_crash_points_cross_fs);
  ret = g_test_run ();
  if (fs_a != NULL)
    {
      umount2 (fs_a, MNT_DETACH);
      umount2 (fs_b, MNT_DETACH);
    }
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmpdir);

    (void) !system (cmd);
  }
  g_free (tmpdir);
  return ret;
}
