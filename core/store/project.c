/* The project file: open, schema and migrations, errors, statements,
 * transactions. Settings are in project-settings.c, classes and examples
 * in project-labels.c, caches and the head in project-cache.c. */
#include "hippo-config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "project-private.h"

/* Longest string or blob SQLite hands us from a (hostile) file. */
#define MAX_VALUE_BYTES (256 * 1024 * 1024)

/* Schema N-1 -> N. Applied in order in one transaction, also when creating
 * a file (0 -> 1 -> 2), so every step runs on every new project. Never edit
 * a released step: add one. Schema 1: settings, classes and examples;
 * schema 2: the source of examples, the feature and hash caches, the head
 * and the labels revision. */
static const char *const migrations[HIPPO_PROJECT_SCHEMA_VERSION] = {
  /* 0 -> 1 */
  "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value);"
  "CREATE TABLE settings (key TEXT PRIMARY KEY NOT NULL, value);"
  "CREATE TABLE classes ("
  " id INTEGER PRIMARY KEY,"
  " name TEXT NOT NULL UNIQUE CHECK (length (name) > 0),"
  " colour TEXT NOT NULL,"
  " position INTEGER NOT NULL);"
  "CREATE TABLE examples ("
  " id INTEGER PRIMARY KEY,"
  " class_id INTEGER NOT NULL REFERENCES classes (id) ON DELETE CASCADE,"
  " path TEXT,"
  " content_hash TEXT NOT NULL,"
  " added_at INTEGER NOT NULL,"
  " UNIQUE (content_hash, class_id));"
  "CREATE INDEX examples_path ON examples (path);",
  /* 1 -> 2 */
  "ALTER TABLE examples ADD COLUMN source TEXT NOT NULL DEFAULT 'file'"
  " CHECK (source IN ('file', 'gimp'));"
  "CREATE INDEX examples_class ON examples "
  "(class_id);" HIPPO_PRJ_FEATURES_TABLE_SQL ";"
  "CREATE TABLE head ("
  " id INTEGER PRIMARY KEY CHECK (id = 1),"
  " blob BLOB NOT NULL,"
  " metrics TEXT,"
  " model_id TEXT NOT NULL,"
  " layer TEXT NOT NULL,"
  " trained_at INTEGER NOT NULL,"
  " labels_revision INTEGER NOT NULL);"
  "CREATE TABLE file_hashes ("
  " path TEXT PRIMARY KEY NOT NULL,"
  " size INTEGER NOT NULL,"
  " mtime_ns INTEGER NOT NULL,"
  " ctime_ns INTEGER NOT NULL,"
  " inode INTEGER NOT NULL,"
  " content_hash TEXT NOT NULL);"
  "INSERT OR REPLACE INTO meta (key, value) VALUES ('labels_revision', 1);",
};

/* What every table must look like to this version: preparing these checks
 * the schema of a file that claims to be current. */
static const char *const schema_probes[] = {
  "SELECT key, value FROM meta LIMIT 0",
  "SELECT key, value FROM settings LIMIT 0",
  "SELECT id, name, colour, position FROM classes LIMIT 0",
  "SELECT id, class_id, path, content_hash, added_at, source FROM examples"
  " LIMIT 0",
  "SELECT content_hash, model_id, layer, preprocess_version, dim, data"
  " FROM features LIMIT 0",
  "SELECT id, blob, metrics, model_id, layer, trained_at, labels_revision"
  " FROM head LIMIT 0",
  "SELECT path, size, mtime_ns, ctime_ns, inode, content_hash"
  " FROM file_hashes LIMIT 0",
};

/* The small tables, checked on every open (the caches are checked entry by
 * entry as they are read). */
static const char *const checked_tables[] = {
  "meta", "settings", "classes", "examples", "head",
};

/* Errors */

void
hippo_prj_set_error (HippoProject *p, int rc, const char *what, GError **error)
{
  const char *msg = p->db ? sqlite3_errmsg (p->db) : sqlite3_errstr (rc);
  int sys = p->db ? sqlite3_system_errno (p->db) : 0;
  g_autofree char *cause = NULL;

  switch (rc & 0xff)
    {
      case SQLITE_NOTADB:
        cause = g_strdup ("not a Hippotag project (not an SQLite database)");
        break;
      case SQLITE_CORRUPT:
        cause = g_strdup_printf ("the file is damaged (%s); restore it from "
                                 "a backup",
                                 msg);
        break;
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        cause = g_strdup_printf ("the project is locked by another program "
                                 "(waited %d ms); try again when it is done",
                                 p->busy_timeout);
        break;
      case SQLITE_READONLY:
        cause = g_strdup_printf ("the project cannot be written (%s)", msg);
        break;
      case SQLITE_FULL:
        cause = g_strdup ("the disk is full; nothing was changed");
        break;
      case SQLITE_IOERR:
      case SQLITE_CANTOPEN:
      case SQLITE_PERM:
        /* a write (or the -shm of a WAL opened for reading) that found no
         * room: say so as SQLITE_FULL does */
        if (sys == ENOSPC || sys == EDQUOT)
          cause = g_strdup_printf ("the disk is full (%s); nothing was "
                                   "changed",
                                   g_strerror (sys));
        else if (sys != 0)
          cause = g_strdup_printf ("%s (%s)", msg, g_strerror (sys));
        else
          cause = g_strdup (msg);
        break;
      case SQLITE_TOOBIG:
        cause = g_strdup ("a value is too large");
        break;
      case SQLITE_ERROR:
        /* SQL errors on our own statements mean a schema we do not know:
         * missing tables or columns. */
        cause = g_strdup_printf ("the project is malformed (%s)", msg);
        break;
      default:
        cause = g_strdup (msg);
        break;
    }
  p->last_rc = rc;
  g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT, "%s: %s: %s",
               p->display, what, cause);
}

void
hippo_prj_malformed (HippoProject *p, const char *what, const char *detail,
                     GError **error)
{
  g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
               "%s: %s: the project is malformed (%s)", p->display, what,
               detail);
}

/* Statements */

sqlite3_stmt *
hippo_prj_stmt (HippoProject *p, const char *sql, const char *what,
                GError **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (p->stmts, sql);
  int rc;

  if (stmt != NULL)
    return stmt;
  rc = sqlite3_prepare_v3 (p->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                           NULL);
  if (rc != SQLITE_OK)
    {
      hippo_prj_set_error (p, rc, what, error);
      sqlite3_finalize (stmt);
      return NULL;
    }
  g_hash_table_insert (p->stmts, (gpointer) sql, stmt);
  return stmt;
}

void
hippo_prj_stmt_done (sqlite3_stmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

gboolean
hippo_prj_run (HippoProject *p, sqlite3_stmt *stmt, const char *what,
               GError **error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    ;
  if (rc != SQLITE_DONE)
    hippo_prj_set_error (p, rc, what, error);
  hippo_prj_stmt_done (stmt);
  return rc == SQLITE_DONE;
}

gboolean
hippo_prj_exec (HippoProject *p, const char *sql, const char *what,
                GError **error)
{
  int rc = sqlite3_exec (p->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      hippo_prj_set_error (p, rc, what, error);
      return FALSE;
    }
  return TRUE;
}

gboolean
hippo_prj_bind_text (HippoProject *p, sqlite3_stmt *stmt, int i,
                     const char *text, const char *what, GError **error)
{
  int rc = text ? sqlite3_bind_text (stmt, i, text, -1, SQLITE_TRANSIENT)
                : sqlite3_bind_null (stmt, i);

  if (rc != SQLITE_OK)
    {
      hippo_prj_set_error (p, rc, what, error);
      return FALSE;
    }
  return TRUE;
}

/* Reads one integer from a query like "PRAGMA user_version". */
gboolean
hippo_prj_query_int (HippoProject *p, const char *sql, const char *what,
                     gint64 *out, GError **error)
{
  sqlite3_stmt *stmt = hippo_prj_stmt (p, sql, what, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW && sqlite3_column_type (stmt, 0) == SQLITE_INTEGER)
    *out = sqlite3_column_int64 (stmt, 0);
  else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    {
      hippo_prj_stmt_done (stmt);
      hippo_prj_malformed (p, what, "expected a number", error);
      return FALSE;
    }
  else
    {
      hippo_prj_set_error (p, rc, what, error);
      hippo_prj_stmt_done (stmt);
      return FALSE;
    }
  hippo_prj_stmt_done (stmt);
  return TRUE;
}

/* Transactions. Outside a batch every write is its own BEGIN IMMEDIATE
 * transaction; inside, a savepoint so that a failed write is undone alone. */

gboolean
hippo_prj_write_begin (HippoProject *p, const char *what, GError **error)
{
  if (p->read_only)
    {
      g_set_error (
        error, HIPPO_ERROR, HIPPO_ERROR_PROJECT, "%s: %s: %s", p->display, what,
        p->read_only_asked ? "the project is open read-only"
                           : "the project file or its folder is not writable");
      return FALSE;
    }
  if (p->write_depth > 0)
    {
      if (sqlite3_get_autocommit (p->db))
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                       "%s: %s: the batch was aborted by an earlier error "
                       "and nothing of it was kept",
                       p->display, what);
          return FALSE;
        }
      if (!hippo_prj_exec (p, "SAVEPOINT hippo_op", what, error))
        return FALSE;
      p->write_depth++;
      return TRUE;
    }
  if (!hippo_prj_exec (p, "BEGIN IMMEDIATE", what, error))
    return FALSE;
  p->write_depth = 1;
  if (!p->wrote_meta)
    {
      sqlite3_stmt *stmt
        = hippo_prj_stmt (p,
                          "INSERT OR REPLACE INTO meta (key, value)"
                          " VALUES ('last_written_by', ?)",
                          what, error);

      if (stmt == NULL
          || !hippo_prj_bind_text (p, stmt, 1, "Hippotag " HIPPO_VERSION, what,
                                   error)
          || !hippo_prj_run (p, stmt, what, error))
        {
          if (stmt)
            hippo_prj_stmt_done (stmt);
          hippo_prj_write_end (p, FALSE, what, NULL);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
hippo_prj_write_end (HippoProject *p, gboolean ok, const char *what,
                     GError **error)
{
  int rc;

  g_return_val_if_fail (p->write_depth > 0, FALSE);

  p->write_depth--;
  if (p->write_depth > 0)
    {
      if (ok)
        {
          if (hippo_prj_exec (p, "RELEASE hippo_op", what, error))
            return TRUE;
          ok = FALSE;
        }
      /* SQLite may have rolled back the whole transaction already (I/O
       * error, disk full); the outer end or the commit reports that. */
      if (!sqlite3_get_autocommit (p->db))
        {
          sqlite3_exec (p->db, "ROLLBACK TO hippo_op", NULL, NULL, NULL);
          sqlite3_exec (p->db, "RELEASE hippo_op", NULL, NULL, NULL);
        }
      return FALSE;
    }

  if (ok)
    {
      rc = sqlite3_exec (p->db, "COMMIT", NULL, NULL, NULL);
      if (rc == SQLITE_OK)
        {
          p->wrote_meta = TRUE;
          return TRUE;
        }
      hippo_prj_set_error (p, rc, what, error);
    }
  if (!sqlite3_get_autocommit (p->db))
    sqlite3_exec (p->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

gboolean
hippo_prj_bump_revision (HippoProject *p, GError **error)
{
  sqlite3_stmt *stmt = hippo_prj_stmt (
    p, "UPDATE meta SET value = value + 1 WHERE key = 'labels_revision'",
    "updating the labels revision", error);

  return stmt != NULL
         && hippo_prj_run (p, stmt, "updating the labels revision", error);
}

gboolean
hippo_project_begin (HippoProject *project, GError **error)
{
  g_return_val_if_fail (project != NULL, FALSE);

  if (project->in_batch)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                   "%s: a batch is already open", project->display);
      return FALSE;
    }
  g_return_val_if_fail (project->write_depth == 0, FALSE);
  if (!hippo_prj_write_begin (project, "starting a batch", error))
    return FALSE;
  project->in_batch = TRUE;
  return TRUE;
}

gboolean
hippo_project_commit (HippoProject *project, GError **error)
{
  g_return_val_if_fail (project != NULL, FALSE);

  if (!project->in_batch)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                   "%s: no batch is open", project->display);
      return FALSE;
    }
  project->in_batch = FALSE;
  if (sqlite3_get_autocommit (project->db))
    {
      project->write_depth = 0;
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                   "%s: the batch was aborted by an earlier error and "
                   "nothing of it was kept",
                   project->display);
      return FALSE;
    }
  return hippo_prj_write_end (project, TRUE, "committing the batch", error);
}

void
hippo_project_rollback (HippoProject *project)
{
  g_return_if_fail (project != NULL);

  if (!project->in_batch)
    return;
  project->in_batch = FALSE;
  project->write_depth = 0;
  if (!sqlite3_get_autocommit (project->db))
    sqlite3_exec (project->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Open */

static void
stmt_finalize (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

void
hippo_project_free (HippoProject *project)
{
  if (project == NULL)
    return;
  if (project->db != NULL)
    {
      hippo_project_rollback (project);
      hippo_prj_flush_hashes (project);
      g_hash_table_destroy (project->stmts);
      sqlite3_close_v2 (project->db);
    }
  else if (project->stmts != NULL)
    g_hash_table_destroy (project->stmts);
  if (project->pending_hashes != NULL)
    g_hash_table_destroy (project->pending_hashes);
  g_free (project->path);
  g_free (project->abs_path);
  g_free (project->display);
  g_free (project);
}

const char *
hippo_project_get_path (const HippoProject *project)
{
  g_return_val_if_fail (project != NULL, NULL);
  return project->path;
}

gboolean
hippo_project_is_read_only (const HippoProject *project)
{
  g_return_val_if_fail (project != NULL, TRUE);
  return project->read_only;
}

void
hippo_project_set_busy_timeout (HippoProject *project, int ms)
{
  g_return_if_fail (project != NULL);
  project->busy_timeout = MAX (ms, 0);
  sqlite3_busy_timeout (project->db, project->busy_timeout);
}

/* Runs quick_check (whole file when table is NULL). */
static gboolean
quick_check (HippoProject *p, const char *table, GError **error)
{
  g_autofree char *sql = table
                           ? g_strdup_printf ("PRAGMA quick_check(%s)", table)
                           : g_strdup ("PRAGMA quick_check");
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (p->db, sql, -1, &stmt, NULL);
  const char *what = "checking the file";

  if (rc != SQLITE_OK)
    {
      hippo_prj_set_error (p, rc, what, error);
      sqlite3_finalize (stmt);
      return FALSE;
    }
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      const char *res = (const char *) sqlite3_column_text (stmt, 0);

      if (res == NULL || strcmp (res, "ok") != 0)
        {
          g_autofree char *first = NULL;
          const char *start = res ? res : "?";
          const char *banner = "*** in database main ***\n";

          /* The first problem on one line. */
          if (g_str_has_prefix (start, banner))
            start += strlen (banner);
          first = g_strndup (start, strcspn (start, "\n"));
          if (!g_utf8_validate (first, -1, NULL))
            g_strcanon (first,
                        "abcdefghijklmnopqrstuvwxyz"
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 :()",
                        '?');
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                       "%s: the file is damaged (%s%s%s); restore it from a "
                       "backup",
                       p->display, table ? table : "", table ? ": " : "",
                       first);
          sqlite3_finalize (stmt);
          return FALSE;
        }
    }
  else
    {
      hippo_prj_set_error (p, rc, what, error);
      sqlite3_finalize (stmt);
      return FALSE;
    }
  sqlite3_finalize (stmt);
  return TRUE;
}

gboolean
hippo_project_check (HippoProject *project, GError **error)
{
  g_return_val_if_fail (project != NULL, FALSE);
  return quick_check (project, NULL, error);
}

/* The state of a file as far as opening is concerned. */
typedef struct
{
  gint64 app_id;
  gint64 version;
  gint64 n_objects;
} FileState;

static gboolean
read_state (HippoProject *p, FileState *st, GError **error)
{
  const char *what = "cannot open";

  return hippo_prj_query_int (p, "PRAGMA application_id", what, &st->app_id,
                              error)
         && hippo_prj_query_int (p, "PRAGMA user_version", what, &st->version,
                                 error)
         && hippo_prj_query_int (p, "SELECT count(*) FROM sqlite_master", what,
                                 &st->n_objects, error);
}

static gboolean
state_is_empty (const FileState *st)
{
  return st->app_id == 0 && st->version == 0 && st->n_objects == 0;
}

/* Refuses files that are not ours or too new. */
static gboolean
check_state (HippoProject *p, const FileState *st, gboolean create,
             GError **error)
{
  if (state_is_empty (st))
    {
      if (create)
        return TRUE;
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                   "%s is empty, not a Hippotag project (create one with "
                   "hippotag init)",
                   p->display);
      return FALSE;
    }
  if (st->app_id != HIPPO_PROJECT_APPLICATION_ID)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                   "%s is not a Hippotag project (an SQLite database of "
                   "another program, application id 0x%08" G_GINT64_MODIFIER
                   "x)",
                   p->display, st->app_id & 0xffffffff);
      return FALSE;
    }
  if (st->version > HIPPO_PROJECT_SCHEMA_VERSION)
    {
      g_autofree char *by = NULL;
      sqlite3_stmt *stmt = NULL;

      /* Best effort: who wrote it. */
      if (sqlite3_prepare_v2 (p->db,
                              "SELECT value FROM meta WHERE key = "
                              "'last_written_by'",
                              -1, &stmt, NULL)
            == SQLITE_OK
          && sqlite3_step (stmt) == SQLITE_ROW
          && sqlite3_column_type (stmt, 0) == SQLITE_TEXT)
        {
          const char *t = (const char *) sqlite3_column_text (stmt, 0);

          if (t && g_utf8_validate (t, -1, NULL) && strlen (t) < 80)
            by = g_strdup (t);
        }
      sqlite3_finalize (stmt);
      g_set_error (
        error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
        "%s was written by a newer Hippotag (schema %" G_GINT64_FORMAT
        " > %d%s%s): update Hippotag to open it",
        p->display, st->version, HIPPO_PROJECT_SCHEMA_VERSION,
        by ? "; last written by " : "", by ? by : "");
      return FALSE;
    }
  if (st->version < 0)
    {
      hippo_prj_malformed (p, "cannot open", "negative schema version", error);
      return FALSE;
    }
  return TRUE;
}

/* Creates or migrates inside one IMMEDIATE transaction, re-reading the
 * state under the lock: another process may have done it meanwhile. */
static gboolean
migrate (HippoProject *p, gboolean create, GError **error)
{
  const char *what = "upgrading the project";
  FileState st;
  gboolean ok = TRUE;
  char *sql;

  if (!hippo_prj_exec (p, "BEGIN IMMEDIATE", what, error))
    return FALSE;
  if (!read_state (p, &st, error) || !check_state (p, &st, create, error))
    ok = FALSE;
  for (gint64 v = st.version; ok && v < HIPPO_PROJECT_SCHEMA_VERSION; v++)
    ok = hippo_prj_exec (p, migrations[v], what, error);
  if (ok && st.version < HIPPO_PROJECT_SCHEMA_VERSION)
    {
      sql = g_strdup_printf ("PRAGMA application_id = %d;"
                             "PRAGMA user_version = %d;",
                             HIPPO_PROJECT_APPLICATION_ID,
                             HIPPO_PROJECT_SCHEMA_VERSION);
      ok = hippo_prj_exec (p, sql, what, error);
      g_free (sql);
      if (ok && st.version == 0)
        {
          sql = g_strdup_printf (
            "INSERT OR REPLACE INTO meta (key, value) VALUES"
            " ('created_by', 'Hippotag %s'), ('created_at', %" G_GINT64_FORMAT
            ");"
            "INSERT OR IGNORE INTO settings (key, value) VALUES"
            " ('%s', 0), ('%s', '%s');",
            HIPPO_VERSION, g_get_real_time () / G_USEC_PER_SEC,
            HIPPO_SETTING_MULTI_LABEL, HIPPO_SETTING_KEYWORD_PARENT,
            HIPPO_DEFAULT_KEYWORD_PARENT);
          ok = hippo_prj_exec (p, sql, what, error);
          g_free (sql);
        }
      else if (ok)
        {
          sql
            = g_strdup_printf ("INSERT OR REPLACE INTO meta (key, value) VALUES"
                               " ('migrated_from', %" G_GINT64_FORMAT ");",
                               st.version);
          ok = hippo_prj_exec (p, sql, what, error);
          g_free (sql);
        }
      if (ok)
        ok = hippo_prj_exec (p,
                             "INSERT OR REPLACE INTO meta (key, value) VALUES"
                             " ('last_written_by', 'Hippotag " HIPPO_VERSION
                             "')",
                             what, error);
    }
  if (ok)
    ok = hippo_prj_exec (p, "COMMIT", what, error);
  if (!ok && !sqlite3_get_autocommit (p->db))
    sqlite3_exec (p->db, "ROLLBACK", NULL, NULL, NULL);
  return ok;
}

static gboolean
probe_schema (HippoProject *p, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (schema_probes); i++)
    {
      sqlite3_stmt *stmt = NULL;
      int rc = sqlite3_prepare_v2 (p->db, schema_probes[i], -1, &stmt, NULL);

      sqlite3_finalize (stmt);
      if (rc != SQLITE_OK)
        {
          hippo_prj_set_error (p, rc, "cannot open", error);
          return FALSE;
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (checked_tables); i++)
    if (!quick_check (p, checked_tables[i], error))
      return FALSE;
  return TRUE;
}

static int
open_db (HippoProject *p, const char *name, int flags)
{
  int rc;

  rc = sqlite3_open_v2 (name, &p->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    return rc;
  sqlite3_extended_result_codes (p->db, 1);
  sqlite3_busy_timeout (p->db, p->busy_timeout);
  sqlite3_limit (p->db, SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES);
  /* A project may come from anywhere: no schema tricks. */
  sqlite3_db_config (p->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  sqlite3_db_config (p->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
  sqlite3_db_config (p->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA /* 3.31 */
  sqlite3_db_config (p->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
#endif
#ifdef SQLITE_DBCONFIG_ENABLE_VIEW /* 3.35 */
  sqlite3_db_config (p->db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
#endif
  return sqlite3_exec (p->db,
                       "PRAGMA cell_size_check = ON;"
                       "PRAGMA foreign_keys = ON;"
                       "PRAGMA synchronous = FULL;",
                       NULL, NULL, NULL);
}

static void
close_db (HippoProject *p)
{
  g_hash_table_remove_all (p->stmts);
  sqlite3_close_v2 (p->db);
  p->db = NULL;
}

/* For a read-only open in a read-only folder: SQLite cannot make the -shm
 * file of a WAL database there. With no pending -wal content the database
 * file alone is the whole truth, so open it as immutable. */
static gboolean
immutable_fallback_ok (HippoProject *p)
{
  g_autofree char *wal = g_strconcat (p->abs_path, "-wal", NULL);
  GStatBuf st;

  return g_stat (wal, &st) != 0 || st.st_size == 0;
}

static char *
immutable_uri (const char *abs)
{
  g_autofree char *esc = g_uri_escape_string (abs, "/", FALSE);

  return g_strconcat ("file:", esc, "?immutable=1", NULL);
}

static gboolean
is_open_failure (int rc)
{
  return (rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_READONLY;
}

/* Opens name and reads its state; on failure closes it again. */
static gboolean
try_open (HippoProject *p, const char *name, int flags, FileState *st,
          GError **error)
{
  int rc = open_db (p, name, flags);

  if (rc != SQLITE_OK)
    {
      hippo_prj_set_error (p, rc, "cannot open", error);
      close_db (p);
      return FALSE;
    }
  if (!read_state (p, st, error))
    {
      close_db (p);
      return FALSE;
    }
  if (sqlite3_db_readonly (p->db, "main") == 1)
    p->read_only = TRUE;
  return TRUE;
}

HippoProject *
hippo_project_open (const char *path, HippoProjectOpenFlags flags,
                    GError **error)
{
  g_autoptr (HippoProject) p = NULL;
  gboolean create = (flags & HIPPO_PROJECT_OPEN_CREATE) != 0;
  gboolean ro = (flags & HIPPO_PROJECT_OPEN_READ_ONLY) != 0;
  gboolean existed;
  g_autoptr (GError) err = NULL;
  FileState st = { 0 };
  GStatBuf sb;
  gboolean ok;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);

  p = g_new0 (HippoProject, 1);
  p->path = g_strdup (path);
  /* SQLite gets an absolute path: never ":memory:" or a URI. */
  p->abs_path = hippo_prj_absolute_path (path);
  p->display = g_filename_display_name (path);
  p->busy_timeout = HIPPO_PROJECT_BUSY_TIMEOUT_DEFAULT;
  p->stmts
    = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, stmt_finalize);
  p->read_only = p->read_only_asked = ro;

  if (*path == '\0')
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "the project path is empty");
      return NULL;
    }
  if (create && ro)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s: cannot create a project read-only", p->display);
      return NULL;
    }
  existed = g_stat (p->abs_path, &sb) == 0;
  if (!existed && (errno != ENOENT || !create))
    {
      int e = errno;

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                   "%s: cannot open: %s%s", p->display, g_strerror (e),
                   e == ENOENT ? " (create it with hippotag init)" : "");
      return NULL;
    }
  if (existed && !S_ISREG (sb.st_mode))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                   "%s is not a Hippotag project (not a regular file)",
                   p->display);
      return NULL;
    }

  ok = try_open (p, p->abs_path,
                 ro ? SQLITE_OPEN_READONLY
                    : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0),
                 &st, &err);
  if (!ok && existed && is_open_failure (p->last_rc))
    {
      /* A file or folder we cannot write: read-only, and in a read-only
       * folder (no -shm possible) as immutable when that is safe. */
      g_debug ("%s", err->message);
      p->read_only = TRUE;
      g_clear_error (&err);
      ok = try_open (p, p->abs_path, SQLITE_OPEN_READONLY, &st, &err);
      if (!ok && is_open_failure (p->last_rc) && immutable_fallback_ok (p))
        {
          g_autofree char *uri = immutable_uri (p->abs_path);

          g_debug ("%s; opening it as immutable", err->message);
          g_clear_error (&err);
          ok = try_open (p, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, &st,
                         &err);
        }
    }
  /* On failure a file we created stays (empty): removing it could race
   * with another process creating the same project. */
  if (!ok)
    {
      g_propagate_error (error, g_steal_pointer (&err));
      return NULL;
    }
  if (!check_state (p, &st, create, error))
    return NULL;

  if (st.version < HIPPO_PROJECT_SCHEMA_VERSION)
    {
      if (p->read_only)
        {
          g_set_error (
            error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
            "%s: cannot open: the project has schema %" G_GINT64_FORMAT
            " and needs an upgrade to %d, but %s",
            p->display, st.version, HIPPO_PROJECT_SCHEMA_VERSION,
            p->read_only_asked ? "it is opened read-only"
                               : "it cannot be written");
          return NULL;
        }
    }
  if (!p->read_only)
    {
      /* Ours (or new): WAL, so that readers never block the writer. The
       * mode is stored in the file; failure (e.g. a file system without
       * shared memory) leaves the rollback journal, which is still safe. */
      sqlite3_stmt *stmt = NULL;

      if (sqlite3_prepare_v2 (p->db, "PRAGMA journal_mode = WAL", -1, &stmt,
                              NULL)
          == SQLITE_OK)
        {
          rc = sqlite3_step (stmt);
          if (rc != SQLITE_ROW)
            g_debug ("%s: journal_mode WAL: %s", p->display,
                     sqlite3_errmsg (p->db));
        }
      sqlite3_finalize (stmt);
    }
  if (st.version < HIPPO_PROJECT_SCHEMA_VERSION && !migrate (p, create, error))
    return NULL;
  if (!probe_schema (p, error))
    return NULL;
  if ((flags & HIPPO_PROJECT_OPEN_CHECK) && !quick_check (p, NULL, error))
    return NULL;
  return g_steal_pointer (&p);
}
