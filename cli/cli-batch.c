/* The hippotag command: what the batch commands share: the options --jobs,
 * --shard and --precision, the split of the files into shards, the
 * progress bar and the report of a file that failed. */

#include <string.h>
#include <unistd.h>

#include "cli.h"

/* --- options ----------------------------------------------------------- */

void
cli_batch_clear (CliBatch *b)
{
  g_clear_pointer (&b->shard, g_free);
  g_clear_pointer (&b->precision, g_free);
}

gboolean
cli_batch_check (CliBatch *b)
{
  if (b->jobs < 0 || b->jobs > 1024)
    {
      cli_error ("--jobs must be 0..1024");
      return FALSE;
    }
  if (!cli_parse_precision (b->precision, &b->prec))
    return FALSE;
  b->shard_k = b->shard_n = 1;
  if (b->shard)
    {
      guint64 k, n;
      char *end;

      k = g_ascii_strtoull (b->shard, &end, 10);
      if (end == b->shard || *end != '/')
        goto bad;
      n = g_ascii_strtoull (end + 1, &end, 10);
      if (*end != '\0' || n < 1 || n > 1000000 || k < 1 || k > n)
        goto bad;
      b->shard_k = (guint) k;
      b->shard_n = (guint) n;
    }
  return TRUE;

bad:
  cli_error ("--shard must be K/N with 1 <= K <= N, e.g. 2/8");
  return FALSE;
}

/* --- shards ------------------------------------------------------------ */

static guint64
fnv1a64 (const char *s)
{
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325);

  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      h ^= *p;
      h *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  return h;
}

static gboolean
in_shard (const CliBatch *b, const char *path)
{
  return b->shard_n <= 1 || fnv1a64 (path) % b->shard_n == b->shard_k - 1;
}

void
cli_shard_filter (const CliBatch *b, GPtrArray *paths)
{
  guint j = 0;

  if (b->shard_n <= 1)
    return;
  for (guint i = 0; i < paths->len; i++)
    if (in_shard (b, paths->pdata[i]))
      {
        char *tmp = paths->pdata[j];
        paths->pdata[j++] = paths->pdata[i];
        paths->pdata[i] = tmp;
      }
  g_ptr_array_set_size (paths, j);
}

GPtrArray *
cli_batch_paths (const CliBatch *b, char **args, int n_args)
{
  GPtrArray *paths = cli_collect_paths (args, n_args);

  cli_shard_filter (b, paths);
  return paths;
}

/* --- progress ---------------------------------------------------------- */

void
cli_progress_start (CliProgress *p, const char *what, guint64 total)
{
  p->on = total > 0 && isatty (STDERR_FILENO);
  p->what = what;
  p->total = total;
  p->t0 = g_get_monotonic_time ();
  p->last = 0;
  p->drawn = FALSE;
}

void
cli_progress_update (CliProgress *p, guint64 done)
{
  enum
  {
    WIDTH = 30
  };
  char bar[WIDTH + 1];
  gint64 now;
  guint filled;
  double elapsed, eta;

  if (!p->on)
    return;
  now = g_get_monotonic_time ();
  if (done < p->total && now - p->last < 100000)
    return;
  p->last = now;
  done = MIN (done, p->total);
  filled = (guint) (WIDTH * done / p->total);
  memset (bar, '#', filled);
  memset (bar + filled, '.', WIDTH - filled);
  bar[WIDTH] = '\0';
  elapsed = (now - p->t0) / 1e6;
  fprintf (stderr,
           "\r%s [%s] %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " %3d%%",
           p->what, bar, done, p->total, (int) (100 * done / p->total));
  if (done > 0 && done < p->total)
    {
      eta = elapsed * (p->total - done) / done;
      fprintf (stderr, " ETA %d:%02d", (int) (eta / 60), (int) eta % 60);
    }
  fputs ("\033[K", stderr);
  fflush (stderr);
  p->drawn = TRUE;
}

void
cli_progress_clear (CliProgress *p)
{
  if (p->on && p->drawn)
    {
      fputs ("\r\033[K", stderr);
      fflush (stderr);
      p->drawn = FALSE;
    }
}

gboolean
cli_progress_func (guint64 done, guint64 total, gpointer user_data)
{
  CliProgress *p = user_data;

  if (total > 0)
    p->total = total;
  cli_progress_update (p, done);
  return TRUE;
}

void
cli_file_error (CliProgress *p, const char *path, const char *message)
{
  g_autofree char *display = g_filename_display_name (path);

  if (p)
    cli_progress_clear (p);
  if (strstr (message, display) || strstr (message, path))
    cli_error ("%s", message);
  else
    cli_error ("%s: %s", display, message);
}
