/* Sorting, private: the journal (JSON lines), its records, loading, and
 * recovery of actions a crash interrupted. */
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

#define JOURNAL_MAGIC "hippotag-sort"
#define JOURNAL_VERSION 1
#define LINE_MAX_BYTES (64 * 1024)
#define TOKEN_LEN 16

const char *const hippo_sort_action_names[]
  = { "copy", "move", "symlink", "hardlink" };

void
hippo_sort_entry_free (gpointer data)
{
  HippoSortEntry *e = data;

  g_free (e->src);
  g_free (e->dest);
  g_free (e->token);
  g_free (e->sha256);
  g_free (e);
}

void
hippo_sort_crash_point (HippoSortJournal *j)
{
  if (j->crash_at > 0 && ++j->crash_count == j->crash_at)
    raise (SIGKILL);
  else if (j->crash_at == 0)
    j->crash_count++;
}

void
hippo_sort_journal_set_crash_point (HippoSortJournal *journal, int n)
{
  g_return_if_fail (journal != NULL);

  journal->crash_at = n;
  journal->crash_count = 0;
}

int
hippo_sort_journal_get_crash_count (const HippoSortJournal *journal)
{
  g_return_val_if_fail (journal != NULL, 0);

  return journal->crash_count;
}

/* ---- journal records ---- */

void
hippo_sort_set_path_member (JsonObject *o, const char *key, const char *path)
{
  if (g_utf8_validate (path, -1, NULL))
    json_object_set_string_member (o, key, path);
  else
    {
      g_autofree char *hex_key = g_strconcat (key, "_hex", NULL);
      GString *hex = g_string_new (NULL);

      for (const guchar *p = (const guchar *) path; *p != '\0'; p++)
        g_string_append_printf (hex, "%02x", *p);
      json_object_set_string_member (o, hex_key, hex->str);
      g_string_free (hex, TRUE);
    }
}

/* An absolute path from KEY or KEY_hex, or NULL. */
static char *
get_path_member (JsonObject *o, const char *key)
{
  g_autofree char *hex_key = g_strconcat (key, "_hex", NULL);
  JsonNode *n = json_object_get_member (o, key);
  char *path = NULL;

  if (n != NULL && JSON_NODE_HOLDS_VALUE (n)
      && json_node_get_value_type (n) == G_TYPE_STRING)
    path = g_strdup (json_node_get_string (n));
  else if ((n = json_object_get_member (o, hex_key)) != NULL
           && JSON_NODE_HOLDS_VALUE (n)
           && json_node_get_value_type (n) == G_TYPE_STRING)
    {
      const char *hex = json_node_get_string (n);
      gsize len = strlen (hex);

      if (len % 2 != 0)
        return NULL;
      path = g_malloc (len / 2 + 1);
      for (gsize i = 0; i < len / 2; i++)
        {
          int hi = g_ascii_xdigit_value (hex[2 * i]);
          int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

          if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            {
              g_free (path);
              return NULL;
            }
          path[i] = (char) (hi * 16 + lo);
        }
      path[len / 2] = '\0';
    }
  if (path != NULL && (path[0] != '/' || strlen (path) > 4 * PATH_MAX))
    g_clear_pointer (&path, g_free);
  return path;
}

static const char *
get_string_member (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n)
      || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static gint64
get_id_member (JsonObject *o)
{
  JsonNode *n = json_object_get_member (o, "id");

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n)
      || json_node_get_value_type (n) != G_TYPE_INT64)
    return -1;
  return json_node_get_int (n);
}

/* Appends one record and (when SYNC) makes it durable; a failed write is
 * cut off again so the journal never holds half a line. */
gboolean
hippo_sort_journal_write (HippoSortJournal *j, JsonObject *o, gboolean sync,
                          GError **error)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), o);
  g_autofree char *text = json_to_string (node, FALSE);
  g_autofree char *line = g_strconcat (text, "\n", NULL);
  off_t end = lseek (j->fd, 0, SEEK_END);

  if (end < 0 || !hippo_sort_write_all (j->fd, line, strlen (line))
      || (sync && fdatasync (j->fd) != 0))
    {
      int err = errno;

      if (end >= 0)
        (void) !ftruncate (j->fd, end);
      hippo_sort_set_errno_error (error, err, "cannot write the journal",
                                  j->path);
      return FALSE;
    }
  return TRUE;
}

JsonObject *
hippo_sort_record_new (const char *op, gint64 id)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "op", op);
  if (id > 0)
    json_object_set_int_member (o, "id", id);
  return o;
}

gboolean
hippo_sort_write_simple (HippoSortJournal *j, const char *op, HippoSortEntry *e,
                         gboolean sha, gboolean sync, GError **error)
{
  g_autoptr (JsonObject) o = hippo_sort_record_new (op, e->id);

  if (sha && e->sha256 != NULL)
    json_object_set_string_member (o, "sha256", e->sha256);
  return hippo_sort_journal_write (j, o, sync, error);
}

gboolean
hippo_sort_write_mark (HippoSortJournal *j, HippoSortEntry *e, const char *op,
                       GError **error)
{
  if (!hippo_sort_write_simple (j, op, e, strcmp (op, "done") == 0, TRUE,
                                error))
    return FALSE;
  if (strcmp (op, "done") == 0)
    e->done = TRUE;
  else if (strcmp (op, "abort") == 0)
    e->aborted = TRUE;
  return TRUE;
}

/* ---- loading ---- */

static gboolean
token_valid (const char *t)
{
  if (t == NULL || strlen (t) != TOKEN_LEN)
    return FALSE;
  for (; *t != '\0'; t++)
    if (!g_ascii_isxdigit (*t) || g_ascii_isupper (*t))
      return FALSE;
  return TRUE;
}

static gboolean
parse_record (HippoSortJournal *j, JsonObject *o)
{
  const char *op = get_string_member (o, "op");
  gint64 id = get_id_member (o);
  HippoSortEntry *e = NULL;

  if (op == NULL)
    return FALSE;
  if (strcmp (op, "mkdir") == 0)
    {
      char *p = get_path_member (o, "path");

      if (p == NULL)
        return FALSE;
      g_ptr_array_add (j->mkdirs, p);
      return TRUE;
    }
  if (id <= 0)
    return FALSE;
  if (strcmp (op, "begin") == 0)
    {
      const char *action = get_string_member (o, "action");
      const char *token = get_string_member (o, "token");

      if (action == NULL || !token_valid (token)
          || g_hash_table_contains (j->by_id, &id))
        return FALSE;
      e = g_new0 (HippoSortEntry, 1);
      e->id = id;
      e->action = G_N_ELEMENTS (hippo_sort_action_names);
      for (gsize i = 0; i < G_N_ELEMENTS (hippo_sort_action_names); i++)
        if (strcmp (action, hippo_sort_action_names[i]) == 0)
          e->action = (HippoSortAction) i;
      e->src = get_path_member (o, "src");
      e->dest = get_path_member (o, "dest");
      e->token = g_strdup (token);
      if (e->action == G_N_ELEMENTS (hippo_sort_action_names) || e->src == NULL
          || e->dest == NULL)
        {
          hippo_sort_entry_free (e);
          return FALSE;
        }
      g_ptr_array_add (j->entries, e);
      g_hash_table_insert (j->by_id, &e->id, e);
      g_hash_table_insert (j->by_src, e->src, e);
      j->next_id = MAX (j->next_id, id + 1);
      return TRUE;
    }
  e = g_hash_table_lookup (j->by_id, &id);
  if (e == NULL)
    return FALSE;
  if (strcmp (op, "dest") == 0)
    {
      char *d = get_path_member (o, "dest");

      if (d == NULL)
        return FALSE;
      g_free (e->dest);
      e->dest = d;
    }
  else if (strcmp (op, "placed") == 0 || strcmp (op, "done") == 0)
    {
      const char *sha = get_string_member (o, "sha256");

      if (sha != NULL)
        {
          g_free (e->sha256);
          e->sha256 = g_strdup (sha);
        }
      if (op[0] == 'd')
        e->done = TRUE;
    }
  else if (strcmp (op, "abort") == 0)
    e->aborted = TRUE;
  else if (strcmp (op, "undone") == 0)
    e->undone = TRUE;
  else
    return FALSE;
  return TRUE;
}

static gboolean
load_line (HippoSortJournal *j, JsonParser *parser, const char *line, gsize len,
           guint64 lineno, GError **error)
{
  g_autofree char *display = g_filename_display_name (j->path);
  JsonNode *root;

  if (len > LINE_MAX_BYTES)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "journal %s: line %" G_GUINT64_FORMAT " is too long",
                   display, lineno);
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, line, (gssize) len, NULL)
      || (root = json_parser_get_root (parser)) == NULL
      || !JSON_NODE_HOLDS_OBJECT (root))
    goto malformed;
  if (lineno == 1)
    {
      JsonObject *o = json_node_get_object (root);
      const char *magic = get_string_member (o, "journal");

      if (magic == NULL || strcmp (magic, JOURNAL_MAGIC) != 0)
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED,
                       "%s is not a Hippotag sort journal", display);
          return FALSE;
        }
      if (json_object_get_int_member_with_default (o, "version", 0)
          != JOURNAL_VERSION)
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED,
                       "journal %s has an unknown version", display);
          return FALSE;
        }
      return TRUE;
    }
  if (parse_record (j, json_node_get_object (root)))
    return TRUE;

malformed:
  g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED,
               "journal %s: line %" G_GUINT64_FORMAT " is malformed", display,
               lineno);
  return FALSE;
}

static JsonObject *
header_new (void)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "journal", JOURNAL_MAGIC);
  json_object_set_int_member (o, "version", JOURNAL_VERSION);
  return o;
}

/* Can TAIL (after the last newline) be a record torn by a crash? Before
 * any complete line it must be the start of our header, so that a file
 * that is no journal at all is never cut. */
static gboolean
torn_tail_plausible (const guint8 *tail, gsize len, guint64 lines)
{
  g_autoptr (JsonObject) o = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *header = NULL;

  if (lines > 0)
    return tail[0] == '{' && memchr (tail, '\0', len) == NULL;
  o = header_new ();
  node = json_node_init_object (json_node_alloc (), o);
  header = json_to_string (node, FALSE);
  return len <= strlen (header) && memcmp (tail, header, len) == 0;
}

/* Reads every record. Bytes after the last newline are a record torn by a
 * crash mid-append (its action never started): they are cut off. */
static gboolean
journal_load (HippoSortJournal *j, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GByteArray) pending = g_byte_array_new ();
  g_autofree guint8 *buf = g_malloc (HIPPO_SORT_COPY_CHUNK);
  guint64 lineno = 0;
  off_t pos = 0, good_end = 0;

  for (;;)
    {
      ssize_t n = pread (j->fd, buf, HIPPO_SORT_COPY_CHUNK, pos);
      gsize start = 0;
      guint8 *nl;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          hippo_sort_set_errno_error (error, errno, "cannot read", j->path);
          return FALSE;
        }
      if (n == 0)
        break;
      pos += n;
      g_byte_array_append (pending, buf, (guint) n);
      while ((nl = memchr (pending->data + start, '\n', pending->len - start))
             != NULL)
        {
          gsize len = (gsize) (nl - (pending->data + start));

          if (!load_line (j, parser, (const char *) pending->data + start, len,
                          ++lineno, error))
            return FALSE;
          start += len + 1;
          good_end += (off_t) len + 1;
        }
      g_byte_array_remove_range (pending, 0, (guint) start);
      if (pending->len > LINE_MAX_BYTES)
        goto not_ours;
    }
  if (good_end < pos)
    {
      if (!torn_tail_plausible (pending->data, pending->len, lineno))
        goto not_ours;
      if (ftruncate (j->fd, good_end) != 0)
        {
          hippo_sort_set_errno_error (error, errno, "cannot repair", j->path);
          return FALSE;
        }
    }
  return TRUE;

not_ours:
  {
    g_autofree char *display = g_filename_display_name (j->path);

    if (lineno == 0)
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED,
                   "%s is not a Hippotag sort journal", display);
    else
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED,
                   "journal %s: line %" G_GUINT64_FORMAT " is malformed",
                   display, lineno + 1);
    return FALSE;
  }
}

/* ---- recovery ---- */

/* Settles one action begun but neither done nor aborted. */
gboolean
hippo_sort_settle (HippoSortJournal *j, HippoSortEntry *e, GError **error)
{
  g_autofree char *tmp = hippo_sort_temp_path (e->dest, e->token, ".part");
  gboolean s = hippo_sort_exists (e->src);
  gboolean d = hippo_sort_exists (e->dest);
  gboolean forward = FALSE;

  if (!hippo_sort_remove_temp (tmp, error))
    return FALSE;
  switch (e->action)
    {
      case HIPPO_SORT_MOVE:
        if (d && s && hippo_sort_same_content (e->src, e->dest))
          {
            /* A copy across file systems completed before the unlink: finish
             * it, or where the source cannot be removed (read-only), drop the
             * identical copy instead. */
            if (g_unlink (e->src) == 0)
              {
                (void) hippo_sort_fsync_parent (e->src, NULL);
                forward = TRUE;
              }
            else if (g_unlink (e->dest) != 0)
              {
                hippo_sort_set_errno_error (error, errno, "cannot remove",
                                            e->dest);
                return FALSE;
              }
          }
        else
          forward = d && !s;
        break;
      case HIPPO_SORT_COPY:
        forward = d && s && hippo_sort_same_content (e->src, e->dest);
        if (forward && e->sha256 == NULL)
          e->sha256 = hippo_sort_hash_file (e->dest, NULL);
        break;
      case HIPPO_SORT_SYMLINK:
        forward = hippo_sort_is_our_symlink (e->dest, e->src);
        break;
      case HIPPO_SORT_HARDLINK:
        forward = d && s && hippo_sort_same_inode (e->src, e->dest);
        break;
    }
  return hippo_sort_write_mark (j, e, forward ? "done" : "abort", error);
}

static gboolean
journal_recover (HippoSortJournal *j, GError **error)
{
  for (guint i = 0; i < j->entries->len; i++)
    {
      HippoSortEntry *e = g_ptr_array_index (j->entries, i);

      if (!e->done && !e->aborted && !hippo_sort_settle (j, e, error))
        return FALSE;
    }
  return TRUE;
}

/* ---- open / close ---- */

HippoSortJournal *
hippo_sort_journal_open (const char *path, GError **error)
{
  HippoSortJournal *j;
  struct stat st;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  j = g_new0 (HippoSortJournal, 1);
  j->path = g_canonicalize_filename (path, NULL);
  j->next_id = 1;
  j->entries = g_ptr_array_new_with_free_func (hippo_sort_entry_free);
  j->by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  j->by_src = g_hash_table_new (g_str_hash, g_str_equal);
  j->mkdirs = g_ptr_array_new_with_free_func (g_free);
  j->fd = open (j->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
                0644);
  if (j->fd < 0)
    {
      hippo_sort_set_errno_error (error, errno, "cannot open the journal",
                                  j->path);
      goto fail;
    }
  if (flock (j->fd, LOCK_EX | LOCK_NB) != 0)
    {
      int err = errno;

      if (err == EWOULDBLOCK)
        {
          g_autofree char *display = g_filename_display_name (j->path);

          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                       "journal %s is in use by another process", display);
        }
      else
        hippo_sort_set_errno_error (error, err, "cannot lock the journal",
                                    j->path);
      goto fail;
    }
  if (fstat (j->fd, &st) != 0)
    {
      hippo_sort_set_errno_error (error, errno, "cannot stat the journal",
                                  j->path);
      goto fail;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_autofree char *display = g_filename_display_name (j->path);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED,
                   "%s is not a Hippotag sort journal", display);
      goto fail;
    }
  if (!journal_load (j, error))
    goto fail;
  if (lseek (j->fd, 0, SEEK_END) == 0)
    {
      g_autoptr (JsonObject) o = header_new ();

      if (!hippo_sort_journal_write (j, o, TRUE, error)
          || !hippo_sort_fsync_parent (j->path, error))
        goto fail;
    }
  if (!journal_recover (j, error))
    goto fail;
  return j;

fail:
  hippo_sort_journal_close (j);
  return NULL;
}

void
hippo_sort_journal_close (HippoSortJournal *journal)
{
  if (journal == NULL)
    return;
  if (journal->fd >= 0)
    close (journal->fd);
  g_free (journal->path);
  g_ptr_array_unref (journal->entries);
  g_hash_table_unref (journal->by_id);
  g_hash_table_unref (journal->by_src);
  g_ptr_array_unref (journal->mkdirs);
  if (journal->planned != NULL)
    g_hash_table_unref (journal->planned);
  g_free (journal);
}

const char *
hippo_sort_journal_get_path (const HippoSortJournal *journal)
{
  g_return_val_if_fail (journal != NULL, NULL);

  return journal->path;
}

gboolean
hippo_sort_recover (const char *journal_path, GError **error)
{
  HippoSortJournal *j;

  g_return_val_if_fail (journal_path != NULL, FALSE);

  if (!g_file_test (journal_path, G_FILE_TEST_EXISTS))
    {
      hippo_sort_set_errno_error (error, ENOENT, "no journal", journal_path);
      return FALSE;
    }
  j = hippo_sort_journal_open (journal_path, error);
  hippo_sort_journal_close (j);
  return j != NULL;
}
