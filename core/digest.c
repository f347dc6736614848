/* SHA-256 of files. */
#include "hippo-config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <glib/gstdio.h>

#ifdef HAVE_NETTLE
#include <nettle/sha2.h>
#endif

#include "digest.h"

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef O_NOCTTY
#define O_NOCTTY 0
#endif

#define HASH_CHUNK (256 * 1024)

typedef struct _HippoDigest
{
#ifdef HAVE_NETTLE
  struct sha256_ctx ctx;
#else
  GChecksum *sum;
#endif
} Sha256;

static void
sha_init (Sha256 *s)
{
#ifdef HAVE_NETTLE
  sha256_init (&s->ctx);
#else
  s->sum = g_checksum_new (G_CHECKSUM_SHA256);
#endif
}

static void
sha_update (Sha256 *s, const guint8 *p, gsize n)
{
#ifdef HAVE_NETTLE
  sha256_update (&s->ctx, n, p);
#else
  g_checksum_update (s->sum, p, (gssize) n);
#endif
}

/* Writes the hex digest and frees what sha_init took. */
static void
sha_finish (Sha256 *s, char hex[HIPPO_HASH_HEX_LEN + 1])
{
#ifdef HAVE_NETTLE
  static const char digits[] = "0123456789abcdef";
  guint8 d[SHA256_DIGEST_SIZE];

  sha256_digest (&s->ctx, sizeof d, d);
  for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
    {
      hex[2 * i] = digits[d[i] >> 4];
      hex[2 * i + 1] = digits[d[i] & 15];
    }
  hex[HIPPO_HASH_HEX_LEN] = '\0';
#else
  g_strlcpy (hex, g_checksum_get_string (s->sum), HIPPO_HASH_HEX_LEN + 1);
  g_checksum_free (s->sum);
#endif
}

static void
sha_abandon (Sha256 *s)
{
#ifndef HAVE_NETTLE
  g_checksum_free (s->sum);
#else
  (void) s;
#endif
}

HippoDigest *
hippo_digest_new (void)
{
  HippoDigest *d = g_new (HippoDigest, 1);

  sha_init (d);
  return d;
}

void
hippo_digest_update (HippoDigest *digest, const void *data, gsize len)
{
  sha_update (digest, data, len);
}

void
hippo_digest_finish (HippoDigest *digest, char hex[HIPPO_HASH_HEX_LEN + 1])
{
  sha_finish (digest, hex);
  g_free (digest);
}

void
hippo_digest_free (HippoDigest *digest)
{
  if (digest == NULL)
    return;
  sha_abandon (digest);
  g_free (digest);
}

static gboolean
same_stat (const struct stat *a, const struct stat *b)
{
  return a->st_size == b->st_size && a->st_ino == b->st_ino
         && a->st_dev == b->st_dev && a->st_mtim.tv_sec == b->st_mtim.tv_sec
         && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec
         && a->st_ctim.tv_sec == b->st_ctim.tv_sec
         && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

gboolean
hippo_digest_file (const char *path, char hex[HIPPO_HASH_HEX_LEN + 1],
                   struct stat *st, gboolean *stable, GError **error)
{
  g_autofree char *display = NULL;
  g_autofree guint8 *buf = NULL;
  struct stat after;
  guint64 total = 0;
  Sha256 sha;
  int fd, flags, e;

  *stable = FALSE;
  hex[0] = '\0';
  /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
  if (fd < 0)
    {
      e = errno;
      display = g_filename_display_name (path);
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO, "cannot open %s: %s",
                   display, g_strerror (e));
      return FALSE;
    }
  if (fstat (fd, st) != 0)
    {
      e = errno;
      display = g_filename_display_name (path);
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO, "cannot read %s: %s",
                   display, g_strerror (e));
      close (fd);
      return FALSE;
    }
  if (!S_ISREG (st->st_mode))
    {
      display = g_filename_display_name (path);
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s is not a regular file", display);
      close (fd);
      return FALSE;
    }
  flags = fcntl (fd, F_GETFL);
  if (flags >= 0)
    fcntl (fd, F_SETFL, flags & ~O_NONBLOCK);
#ifdef POSIX_FADV_SEQUENTIAL
  posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  buf = g_malloc (HASH_CHUNK);
  sha_init (&sha);
  for (;;)
    {
      ssize_t n = read (fd, buf, HASH_CHUNK);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          e = errno;
          display = g_filename_display_name (path);
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO, "cannot read %s: %s",
                       display, g_strerror (e));
          sha_abandon (&sha);
          close (fd);
          return FALSE;
        }
      if (n == 0)
        break;
      sha_update (&sha, buf, (gsize) n);
      total += (guint64) n;
    }
  *stable = fstat (fd, &after) == 0 && same_stat (st, &after)
            && total == (guint64) st->st_size;
  close (fd);
  sha_finish (&sha, hex);
  return TRUE;
}
