/* The project file: the feature cache, content hashes of files (with their
 * cache) and the trained head. */
#include "hippo-config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "digest.h"
#include "project-private.h"

/* Feature cache */

static gboolean
check_key_text (HippoProject *p, const char *model_id, const char *layer,
                int preprocess_version, GError **error)
{
  if (model_id == NULL || layer == NULL || *model_id == '\0'
      || !g_utf8_validate (model_id, -1, NULL)
      || !g_utf8_validate (layer, -1, NULL) || preprocess_version < 0)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s: a feature cache key needs a model id, a UTF-8 layer "
                   "spec and a preprocessing version >= 0",
                   p->display);
      return FALSE;
    }
  return TRUE;
}

gboolean
hippo_project_get_features (HippoProject *project, const char *content_hash,
                            const char *model_id, const char *layer,
                            int preprocess_version, float **features,
                            guint *dim, GError **error)
{
  const char *what = "reading the feature cache";
  char hash[HIPPO_HASH_HEX_LEN + 1];
  const guint8 *data;
  sqlite3_stmt *stmt;
  gint64 d;
  float *out;
  int rc, n;

  g_return_val_if_fail (project != NULL && features != NULL && dim != NULL,
                        FALSE);

  *features = NULL;
  *dim = 0;
  if (!hippo_prj_normalize_hash (content_hash, hash, error)
      || !check_key_text (project, model_id, layer, preprocess_version, error))
    return FALSE;
  stmt = hippo_prj_stmt (project,
                         "SELECT dim, data FROM features WHERE content_hash = ?"
                         " AND model_id = ? AND layer = ?"
                         " AND preprocess_version = ?",
                         what, error);
  if (stmt == NULL || !hippo_prj_bind_text (project, stmt, 1, hash, what, error)
      || !hippo_prj_bind_text (project, stmt, 2, model_id, what, error)
      || !hippo_prj_bind_text (project, stmt, 3, layer, what, error))
    {
      if (stmt)
        hippo_prj_stmt_done (stmt);
      return FALSE;
    }
  sqlite3_bind_int (stmt, 4, preprocess_version);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      hippo_prj_stmt_done (stmt);
      return TRUE;
    }
  if (rc != SQLITE_ROW)
    {
      hippo_prj_set_error (project, rc, what, error);
      hippo_prj_stmt_done (stmt);
      return FALSE;
    }
  d = sqlite3_column_int64 (stmt, 0);
  data = sqlite3_column_blob (stmt, 1);
  n = sqlite3_column_bytes (stmt, 1);
  if (sqlite3_column_type (stmt, 0) != SQLITE_INTEGER
      || sqlite3_column_type (stmt, 1) != SQLITE_BLOB || d < 1
      || d > HIPPO_PROJECT_MAX_FEATURE_DIM || data == NULL
      || (gint64) n != d * (gint64) sizeof (float))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                   "%s: %s: the cached features of %.12s... are damaged "
                   "(dim %" G_GINT64_FORMAT ", %d bytes); clear the feature "
                   "cache",
                   project->display, what, hash, d, n);
      hippo_prj_stmt_done (stmt);
      return FALSE;
    }
  out = g_new (float, d);
  for (gint64 i = 0; i < d; i++)
    {
      guint32 u;

      memcpy (&u, data + 4 * i, 4);
      u = GUINT32_FROM_LE (u);
      memcpy (out + i, &u, 4);
      if (!isfinite (out[i]))
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                       "%s: %s: the cached features of %.12s... hold a "
                       "non-finite value; clear the feature cache",
                       project->display, what, hash);
          hippo_prj_stmt_done (stmt);
          g_free (out);
          return FALSE;
        }
    }
  hippo_prj_stmt_done (stmt);
  *features = out;
  *dim = (guint) d;
  return TRUE;
}

gboolean
hippo_project_put_features (HippoProject *project, const char *content_hash,
                            const char *model_id, const char *layer,
                            int preprocess_version, const float *features,
                            guint dim, GError **error)
{
  const char *what = "writing the feature cache";
  char hash[HIPPO_HASH_HEX_LEN + 1];
  g_autofree guint32 *le = NULL;
  sqlite3_stmt *stmt;
  gboolean ok;

  g_return_val_if_fail (project != NULL, FALSE);
  g_return_val_if_fail (features != NULL || dim == 0, FALSE);

  if (!hippo_prj_normalize_hash (content_hash, hash, error)
      || !check_key_text (project, model_id, layer, preprocess_version, error))
    return FALSE;
  if (dim < 1 || dim > HIPPO_PROJECT_MAX_FEATURE_DIM)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s: %s: bad feature length %u", project->display, what,
                   dim);
      return FALSE;
    }
  le = g_new (guint32, dim);
  for (guint i = 0; i < dim; i++)
    {
      if (!isfinite (features[i]))
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                       "%s: %s: feature %u is not finite", project->display,
                       what, i);
          return FALSE;
        }
      memcpy (le + i, features + i, 4);
      le[i] = GUINT32_TO_LE (le[i]);
    }
  if (!hippo_prj_write_begin (project, what, error))
    return FALSE;
  stmt = hippo_prj_stmt (project,
                         "INSERT OR REPLACE INTO features (content_hash,"
                         " model_id, layer, preprocess_version, dim, data)"
                         " VALUES (?, ?, ?, ?, ?, ?)",
                         what, error);
  ok = stmt != NULL && hippo_prj_bind_text (project, stmt, 1, hash, what, error)
       && hippo_prj_bind_text (project, stmt, 2, model_id, what, error)
       && hippo_prj_bind_text (project, stmt, 3, layer, what, error);
  if (ok)
    {
      sqlite3_bind_int (stmt, 4, preprocess_version);
      sqlite3_bind_int64 (stmt, 5, dim);
      sqlite3_bind_blob64 (stmt, 6, le, (sqlite3_uint64) dim * 4,
                           SQLITE_STATIC);
      ok = hippo_prj_run (project, stmt, what, error);
    }
  else if (stmt != NULL)
    hippo_prj_stmt_done (stmt);
  return hippo_prj_write_end (project, ok, what, error);
}

gboolean
hippo_project_clear_features (HippoProject *project, guint64 *n_removed,
                              GError **error)
{
  const char *what = "clearing the feature cache";
  sqlite3_stmt *stmt = NULL;
  gint64 n = 0;
  gboolean ok;

  g_return_val_if_fail (project != NULL, FALSE);

  if (n_removed)
    *n_removed = 0;
  if (!hippo_prj_write_begin (project, what, error))
    return FALSE;
  /* Counting may fail on a damaged table: then the count is unknown. */
  if (sqlite3_prepare_v2 (project->db, "SELECT count(*) FROM features", -1,
                          &stmt, NULL)
        == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  /* Drop and make again rather than delete: works on damaged pages. */
  ok = hippo_prj_exec (
    project, "DROP TABLE IF EXISTS features;" HIPPO_PRJ_FEATURES_TABLE_SQL,
    what, error);
  ok = hippo_prj_write_end (project, ok, what, error);
  if (ok && n_removed)
    *n_removed = (guint64) MAX (n, 0);
  return ok;
}

/* Content hashes */

/* Hashes a file; *st is its state when opened, *stable whether it did not
 * change while being read. */
static char *
hash_file (const char *path, struct stat *st, gboolean *stable, GError **error)
{
  char hex[HIPPO_HASH_HEX_LEN + 1];

  if (!hippo_digest_file (path, hex, st, stable, error))
    return NULL;
  return g_strdup (hex);
}

char *
hippo_file_hash (const char *path, GError **error)
{
  struct stat st;
  gboolean stable;

  g_return_val_if_fail (path != NULL, NULL);
  return hash_file (path, &st, &stable, error);
}

static gint64
ns (const struct timespec *t)
{
  return (gint64) t->tv_sec * 1000000000 + t->tv_nsec;
}

/* Hash cache entries not yet written (a transaction each would cost a
 * disk sync per file): flushed together every HASH_FLUSH files, on close,
 * and directly inside a batch. */
#define HASH_FLUSH 256

typedef struct
{
  gint64 size, mtime_ns, ctime_ns, inode;
  char hash[HIPPO_HASH_HEX_LEN + 1];
} PendingHash;

static gboolean
pending_matches (const PendingHash *e, const struct stat *st)
{
  return e->size == st->st_size && e->mtime_ns == ns (&st->st_mtim)
         && e->ctime_ns == ns (&st->st_ctim) && e->inode == (gint64) st->st_ino;
}

/* Looks the file up in the hash cache; returns the hash when its stat
 * matches. Errors are only logged: it is a cache. */
static char *
cached_hash (HippoProject *p, const char *abs, const struct stat *st)
{
  PendingHash *e
    = p->pending_hashes ? g_hash_table_lookup (p->pending_hashes, abs) : NULL;
  sqlite3_stmt *stmt;
  char *res = NULL;
  int rc;

  if (e != NULL && pending_matches (e, st))
    return g_strdup (e->hash);
  stmt = hippo_prj_stmt (p,
                         "SELECT size, mtime_ns, ctime_ns, inode, content_hash"
                         " FROM file_hashes WHERE path = ?",
                         "reading the hash cache", NULL);
  if (stmt == NULL
      || sqlite3_bind_text (stmt, 1, abs, -1, SQLITE_TRANSIENT) != SQLITE_OK)
    return NULL;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW && sqlite3_column_int64 (stmt, 0) == st->st_size
      && sqlite3_column_int64 (stmt, 1) == ns (&st->st_mtim)
      && sqlite3_column_int64 (stmt, 2) == ns (&st->st_ctim)
      && sqlite3_column_int64 (stmt, 3) == (gint64) st->st_ino
      && sqlite3_column_type (stmt, 4) == SQLITE_TEXT
      && hippo_prj_is_hash ((const char *) sqlite3_column_text (stmt, 4)))
    res = g_strdup ((const char *) sqlite3_column_text (stmt, 4));
  else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    g_debug ("%s: hash cache: %s", p->display, sqlite3_errmsg (p->db));
  hippo_prj_stmt_done (stmt);
  return res;
}

/* Writes one entry inside the current transaction. */
static gboolean
write_hash (HippoProject *p, const char *abs, const PendingHash *e,
            GError **error)
{
  const char *what = "writing the hash cache";
  sqlite3_stmt *stmt;
  gboolean ok;

  stmt = hippo_prj_stmt (p,
                         "INSERT OR REPLACE INTO file_hashes (path, size,"
                         " mtime_ns, ctime_ns, inode, content_hash)"
                         " VALUES (?, ?, ?, ?, ?, ?)",
                         what, error);
  ok = stmt != NULL && hippo_prj_bind_text (p, stmt, 1, abs, what, error)
       && hippo_prj_bind_text (p, stmt, 6, e->hash, what, error);
  if (ok)
    {
      sqlite3_bind_int64 (stmt, 2, e->size);
      sqlite3_bind_int64 (stmt, 3, e->mtime_ns);
      sqlite3_bind_int64 (stmt, 4, e->ctime_ns);
      sqlite3_bind_int64 (stmt, 5, e->inode);
      ok = hippo_prj_run (p, stmt, what, error);
    }
  else if (stmt != NULL)
    hippo_prj_stmt_done (stmt);
  return ok;
}

void
hippo_prj_flush_hashes (HippoProject *p)
{
  const char *what = "writing the hash cache";
  g_autoptr (GError) error = NULL;
  GHashTableIter it;
  gpointer key, value;
  gboolean ok;

  if (p->pending_hashes == NULL || g_hash_table_size (p->pending_hashes) == 0)
    return;
  /* Only a cache: do not wait long for another writer. */
  sqlite3_busy_timeout (p->db, MIN (p->busy_timeout, 250));
  ok = hippo_prj_write_begin (p, what, &error);
  if (ok)
    {
      g_hash_table_iter_init (&it, p->pending_hashes);
      while (ok && g_hash_table_iter_next (&it, &key, &value))
        ok = write_hash (p, key, value, &error);
      ok = hippo_prj_write_end (p, ok, what, &error);
    }
  sqlite3_busy_timeout (p->db, p->busy_timeout);
  if (!ok && error != NULL)
    g_debug ("%s", error->message);
  g_hash_table_remove_all (p->pending_hashes);
}

static void
store_hash (HippoProject *p, const char *abs, const struct stat *st,
            const char *hash)
{
  g_autoptr (GError) error = NULL;
  PendingHash *e = g_new (PendingHash, 1);

  e->size = st->st_size;
  e->mtime_ns = ns (&st->st_mtim);
  e->ctime_ns = ns (&st->st_ctim);
  e->inode = (gint64) st->st_ino;
  memcpy (e->hash, hash, HIPPO_HASH_HEX_LEN + 1);
  if (p->write_depth > 0)
    {
      /* In a batch: a savepoint costs no sync. */
      const char *what = "writing the hash cache";
      gboolean ok = hippo_prj_write_begin (p, what, &error);

      if (ok)
        ok = hippo_prj_write_end (p, write_hash (p, abs, e, &error), what,
                                  &error);
      if (!ok && error != NULL)
        g_debug ("%s", error->message);
      g_free (e);
      return;
    }
  if (p->pending_hashes == NULL)
    p->pending_hashes
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_replace (p->pending_hashes, g_strdup (abs), e);
  if (g_hash_table_size (p->pending_hashes) >= HASH_FLUSH)
    hippo_prj_flush_hashes (p);
}

char *
hippo_project_hash_file (HippoProject *project, const char *path,
                         GError **error)
{
  g_autofree char *abs = NULL;
  struct stat st;
  gboolean stable;
  char *hash;

  g_return_val_if_fail (project != NULL && path != NULL, NULL);

  abs = hippo_prj_absolute_path (path);
  if (g_stat (abs, &st) == 0 && S_ISREG (st.st_mode))
    {
      hash = cached_hash (project, abs, &st);
      if (hash != NULL)
        return hash;
    }
  hash = hash_file (abs, &st, &stable, error);
  if (hash != NULL && stable && !project->read_only && hippo_prj_is_hash (hash))
    store_hash (project, abs, &st, hash);
  return hash;
}

char *
hippo_prj_cached_file_hash (HippoProject *project, const char *abs)
{
  struct stat st;

  if (g_stat (abs, &st) != 0 || !S_ISREG (st.st_mode))
    return NULL;
  return cached_hash (project, abs, &st);
}

void
hippo_prj_remember_file_hash (HippoProject *project, const char *abs,
                              const struct stat *st, const char *hash)
{
  if (!project->read_only && hippo_prj_is_hash (hash))
    store_hash (project, abs, st, hash);
}

/* Trained head */

void
hippo_head_record_free (HippoHeadRecord *record)
{
  if (record == NULL)
    return;
  g_clear_pointer (&record->blob, g_bytes_unref);
  g_free (record->metrics_json);
  g_free (record->model_id);
  g_free (record->layer);
  g_free (record);
}

gboolean
hippo_project_save_head (HippoProject *project, GBytes *blob,
                         const char *metrics_json, const char *model_id,
                         const char *layer, gint64 labels_revision,
                         GError **error)
{
  const char *what = "saving the trained head";
  sqlite3_stmt *stmt;
  gconstpointer data;
  gsize size;
  gboolean ok;

  g_return_val_if_fail (project != NULL && blob != NULL, FALSE);

  if (model_id == NULL || layer == NULL || !g_utf8_validate (model_id, -1, NULL)
      || !g_utf8_validate (layer, -1, NULL)
      || (metrics_json && !g_utf8_validate (metrics_json, -1, NULL)))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s: %s: the model id, layer and metrics must be UTF-8",
                   project->display, what);
      return FALSE;
    }
  data = g_bytes_get_data (blob, &size);
  if (!hippo_prj_write_begin (project, what, error))
    return FALSE;
  stmt = hippo_prj_stmt (project,
                         "INSERT OR REPLACE INTO head (id, blob, metrics,"
                         " model_id, layer, trained_at, labels_revision)"
                         " VALUES (1, ?, ?, ?, ?, ?, ?)",
                         what, error);
  ok = stmt != NULL;
  if (ok)
    {
      /* A zero-length blob: bind "" so it is not NULL. */
      sqlite3_bind_blob64 (stmt, 1, size ? data : "", size, SQLITE_STATIC);
      ok = hippo_prj_bind_text (project, stmt, 2, metrics_json, what, error)
           && hippo_prj_bind_text (project, stmt, 3, model_id, what, error)
           && hippo_prj_bind_text (project, stmt, 4, layer, what, error);
      sqlite3_bind_int64 (stmt, 5, g_get_real_time () / G_USEC_PER_SEC);
      sqlite3_bind_int64 (stmt, 6, labels_revision);
      if (ok)
        ok = hippo_prj_run (project, stmt, what, error);
      else
        hippo_prj_stmt_done (stmt);
    }
  return hippo_prj_write_end (project, ok, what, error);
}

HippoHeadRecord *
hippo_project_load_head (HippoProject *project, GError **error)
{
  const char *what = "loading the trained head";
  g_autoptr (HippoHeadRecord) r = NULL;
  const char *metrics, *model_id, *layer;
  sqlite3_stmt *stmt;
  gint64 revision;
  int rc;

  g_return_val_if_fail (project != NULL, NULL);

  stmt = hippo_prj_stmt (project,
                         "SELECT blob, metrics, model_id, layer, trained_at,"
                         " labels_revision FROM head WHERE id = 1",
                         what, error);
  if (stmt == NULL)
    return NULL;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      hippo_prj_stmt_done (stmt);
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                   "%s has not been trained yet (run hippotag train)",
                   project->display);
      return NULL;
    }
  if (rc != SQLITE_ROW)
    {
      hippo_prj_set_error (project, rc, what, error);
      hippo_prj_stmt_done (stmt);
      return NULL;
    }
  metrics = (const char *) sqlite3_column_text (stmt, 1);
  model_id = (const char *) sqlite3_column_text (stmt, 2);
  layer = (const char *) sqlite3_column_text (stmt, 3);
  if (sqlite3_column_type (stmt, 0) != SQLITE_BLOB
      || sqlite3_column_type (stmt, 4) != SQLITE_INTEGER
      || sqlite3_column_type (stmt, 5) != SQLITE_INTEGER || model_id == NULL
      || layer == NULL || !g_utf8_validate (model_id, -1, NULL)
      || !g_utf8_validate (layer, -1, NULL)
      || (metrics != NULL && !g_utf8_validate (metrics, -1, NULL)))
    {
      hippo_prj_stmt_done (stmt);
      hippo_prj_malformed (project, what, "a bad head row", error);
      return NULL;
    }
  r = g_new0 (HippoHeadRecord, 1);
  r->blob = g_bytes_new (sqlite3_column_blob (stmt, 0),
                         sqlite3_column_bytes (stmt, 0));
  r->metrics_json = g_strdup (metrics);
  r->model_id = g_strdup (model_id);
  r->layer = g_strdup (layer);
  r->trained_at = sqlite3_column_int64 (stmt, 4);
  r->labels_revision = sqlite3_column_int64 (stmt, 5);
  hippo_prj_stmt_done (stmt);
  if (!hippo_project_get_labels_revision (project, &revision, error))
    return NULL;
  r->stale = revision != r->labels_revision;
  return g_steal_pointer (&r);
}

gboolean
hippo_project_delete_head (HippoProject *project, GError **error)
{
  const char *what = "deleting the trained head";
  gboolean ok;

  g_return_val_if_fail (project != NULL, FALSE);

  if (!hippo_prj_write_begin (project, what, error))
    return FALSE;
  ok = hippo_prj_exec (project, "DELETE FROM head", what, error);
  return hippo_prj_write_end (project, ok, what, error);
}
