/* Sorting, private: file-system steps (verified copies, no-clobber renames,
 * comparisons, syncs). */
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

void
hippo_sort_set_errno_error (GError **error, int err, const char *what,
                            const char *path)
{
  g_autofree char *display = g_filename_display_name (path);

  g_set_error (error, HIPPO_ERROR,
               err == ENOENT ? HIPPO_ERROR_NOT_FOUND : HIPPO_ERROR_IO,
               "%s %s: %s", what, display, g_strerror (err));
}

gboolean
hippo_sort_fsync_dir (const char *dir, GError **error)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || fsync (fd) != 0)
    {
      int err = errno;

      if (fd >= 0)
        close (fd);
      hippo_sort_set_errno_error (error, err, "cannot sync folder", dir);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

gboolean
hippo_sort_fsync_parent (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  return hippo_sort_fsync_dir (dir, error);
}

gboolean
hippo_sort_exists (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0;
}

/* Removes a leftover temporary file, if there is one. */
gboolean
hippo_sort_remove_temp (const char *path, GError **error)
{
  struct stat st;

  if (lstat (path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR))
    return TRUE;
  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      hippo_sort_set_errno_error (error, errno, "cannot remove", path);
      return FALSE;
    }
  return TRUE;
}

gboolean
hippo_sort_write_all (int fd, const char *buf, gsize len)
{
  while (len > 0)
    {
      ssize_t w = write (fd, buf, len);

      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return FALSE;
      buf += w;
      len -= (gsize) w;
    }
  return TRUE;
}

/* SHA-256 of all of FD from its current offset. */
static char *
hash_fd (int fd, const char *path, GError **error)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *buf = g_malloc (HIPPO_SORT_COPY_CHUNK);

  for (;;)
    {
      ssize_t n = read (fd, buf, HIPPO_SORT_COPY_CHUNK);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          hippo_sort_set_errno_error (error, errno, "cannot read", path);
          return NULL;
        }
      if (n == 0)
        break;
      g_checksum_update (sum, buf, n);
    }
  return g_strdup (g_checksum_get_string (sum));
}

char *
hippo_sort_hash_file (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  char *h;

  if (fd < 0)
    {
      hippo_sort_set_errno_error (error, errno, "cannot open", path);
      return NULL;
    }
  h = hash_fd (fd, path, error);
  close (fd);
  return h;
}

/* TRUE when A and B are the same file or regular files with equal bytes;
 * FALSE also when either cannot be read. */
gboolean
hippo_sort_same_content (const char *a, const char *b)
{
  g_autofree guchar *ba = NULL;
  g_autofree guchar *bb = NULL;
  struct stat sa, sb;
  gboolean equal = FALSE;
  int fa, fb = -1;

  fa = open (a, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fa < 0)
    return FALSE;
  fb = open (b, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fb < 0 || fstat (fa, &sa) != 0 || fstat (fb, &sb) != 0)
    goto out;
  if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
    {
      equal = TRUE;
      goto out;
    }
  if (!S_ISREG (sa.st_mode) || !S_ISREG (sb.st_mode)
      || sa.st_size != sb.st_size)
    goto out;
  ba = g_malloc (HIPPO_SORT_COPY_CHUNK);
  bb = g_malloc (HIPPO_SORT_COPY_CHUNK);
  for (;;)
    {
      ssize_t na = read (fa, ba, HIPPO_SORT_COPY_CHUNK);
      ssize_t got = 0;

      if (na < 0 && errno == EINTR)
        continue;
      if (na < 0)
        goto out;
      while (got < na)
        {
          ssize_t nb = read (fb, bb + got, (gsize) (na - got));

          if (nb < 0 && errno == EINTR)
            continue;
          if (nb <= 0)
            goto out;
          got += nb;
        }
      if (memcmp (ba, bb, (gsize) na) != 0)
        goto out;
      if (na == 0)
        {
          char c;

          equal = read (fb, &c, 1) == 0;
          goto out;
        }
    }

out:
  if (fb >= 0)
    close (fb);
  close (fa);
  return equal;
}

/* Copies IN to a new file TMP (O_EXCL), hashing what it reads; syncs it,
 * drops it from the cache and reads it back to verify. Gives it the mode
 * and times of ST (and the owner when KEEP_OWNER, where allowed). */
gboolean
hippo_sort_copy_verified (int in, const struct stat *st, const char *src,
                          const char *tmp, gboolean keep_owner, char **sha_out,
                          GError **error)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *buf = g_malloc (HIPPO_SORT_COPY_CHUNK);
  g_autofree char *check = NULL;
  struct timespec times[2];
  int out;

  out = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (out < 0)
    {
      hippo_sort_set_errno_error (error, errno, "cannot create", tmp);
      return FALSE;
    }
  for (;;)
    {
      ssize_t n = read (in, buf, HIPPO_SORT_COPY_CHUNK);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          hippo_sort_set_errno_error (error, errno, "cannot read", src);
          goto fail;
        }
      if (n == 0)
        break;
      g_checksum_update (sum, buf, n);
      if (!hippo_sort_write_all (out, (const char *) buf, (gsize) n))
        {
          hippo_sort_set_errno_error (error, errno, "cannot write", tmp);
          goto fail;
        }
    }
  if (keep_owner)
    (void) !fchown (out, st->st_uid, st->st_gid);
  times[0] = st->st_atim;
  times[1] = st->st_mtim;
  if (fchmod (out, st->st_mode & 07777) != 0 || futimens (out, times) != 0
      || fsync (out) != 0)
    {
      hippo_sort_set_errno_error (error, errno, "cannot write", tmp);
      goto fail;
    }
  (void) posix_fadvise (out, 0, 0, POSIX_FADV_DONTNEED);
  if (close (out) != 0)
    {
      out = -1;
      hippo_sort_set_errno_error (error, errno, "cannot write", tmp);
      goto fail;
    }
  out = -1;
  check = hippo_sort_hash_file (tmp, error);
  if (check == NULL)
    goto fail;
  if (strcmp (check, g_checksum_get_string (sum)) != 0)
    {
      g_autofree char *display = g_filename_display_name (tmp);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                   "the copy %s does not read back as written", display);
      goto fail;
    }
  *sha_out = g_strdup (g_checksum_get_string (sum));
  return TRUE;

fail:
  if (out >= 0)
    close (out);
  g_unlink (tmp);
  return FALSE;
}

/* rename(2) that never replaces: RENAME_NOREPLACE, or link + unlink where
 * the file system lacks it. Sets errno. */
int
hippo_sort_rename_noreplace (const char *from, const char *to)
{
  if (renameat2 (AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
    return -1;
  if (link (from, to) != 0)
    return -1;
  return unlink (from);
}

char *
hippo_sort_temp_path (const char *dir_of, const char *token, const char *suffix)
{
  g_autofree char *dir = g_path_get_dirname (dir_of);
  g_autofree char *name = g_strdup_printf (".hippotag-%s%s", token, suffix);

  return g_build_filename (dir, name, NULL);
}

gboolean
hippo_sort_is_our_symlink (const char *link, const char *target)
{
  g_autofree char *got = g_file_read_link (link, NULL);

  return got != NULL && strcmp (got, target) == 0;
}

gboolean
hippo_sort_same_inode (const char *a, const char *b)
{
  struct stat sa, sb;

  return stat (a, &sa) == 0 && stat (b, &sb) == 0 && sa.st_dev == sb.st_dev
         && sa.st_ino == sb.st_ino;
}
