/* The project file: typed settings and the multi-label mode. */
#include "hippo-config.h"

#include <math.h>
#include <string.h>

#include "project-private.h"

static gboolean
check_key (HippoProject *p, const char *key, GError **error)
{
  gsize n = strlen (key);

  if (n == 0 || n > 64
      || strspn (key, "abcdefghijklmnopqrstuvwxyz"
                      "0123456789_.-")
           != n)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s: bad settings key \"%s\" (use 1 to 64 of a-z 0-9 _ . "
                   "-)",
                   p->display, g_utf8_validate (key, -1, NULL) ? key : "?");
      return FALSE;
    }
  return TRUE;
}

/* Steps the settings lookup of key; returns SQLITE_ROW with stmt positioned
 * on the value, SQLITE_DONE when unset, or 0 with error set. */
static int
get_setting (HippoProject *p, const char *key, sqlite3_stmt **out,
             GError **error)
{
  const char *what = "reading a setting";
  sqlite3_stmt *stmt;
  int rc;

  if (!check_key (p, key, error))
    return 0;
  stmt = hippo_prj_stmt (p, "SELECT value FROM settings WHERE key = ?", what,
                         error);
  if (stmt == NULL || !hippo_prj_bind_text (p, stmt, 1, key, what, error))
    return 0;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      hippo_prj_set_error (p, rc, what, error);
      hippo_prj_stmt_done (stmt);
      return 0;
    }
  if (rc == SQLITE_DONE)
    hippo_prj_stmt_done (stmt);
  *out = stmt;
  return rc;
}

static void
bad_setting (HippoProject *p, const char *key, const char *want, GError **error)
{
  g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
               "%s: the setting %s is not %s", p->display, key, want);
}

char *
hippo_project_get_string (HippoProject *project, const char *key,
                          const char *default_value, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  const char *t;
  char *res;
  int rc;

  g_return_val_if_fail (project != NULL && key != NULL, NULL);

  rc = get_setting (project, key, &stmt, error);
  if (rc == 0)
    return NULL;
  if (rc == SQLITE_DONE)
    return g_strdup (default_value);
  if (sqlite3_column_type (stmt, 0) == SQLITE_NULL
      || sqlite3_column_type (stmt, 0) == SQLITE_BLOB)
    {
      hippo_prj_stmt_done (stmt);
      bad_setting (project, key, "text", error);
      return NULL;
    }
  t = (const char *) sqlite3_column_text (stmt, 0);
  if (t == NULL || !g_utf8_validate (t, sqlite3_column_bytes (stmt, 0), NULL)
      || strlen (t) != (gsize) sqlite3_column_bytes (stmt, 0))
    {
      hippo_prj_stmt_done (stmt);
      bad_setting (project, key, "UTF-8 text", error);
      return NULL;
    }
  res = g_strdup (t);
  hippo_prj_stmt_done (stmt);
  return res;
}

gboolean
hippo_project_get_int (HippoProject *project, const char *key,
                       gint64 default_value, gint64 *value, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  g_return_val_if_fail (project != NULL && key != NULL && value != NULL, FALSE);

  rc = get_setting (project, key, &stmt, error);
  if (rc == 0)
    return FALSE;
  if (rc == SQLITE_DONE)
    {
      *value = default_value;
      return TRUE;
    }
  if (sqlite3_column_type (stmt, 0) != SQLITE_INTEGER)
    {
      hippo_prj_stmt_done (stmt);
      bad_setting (project, key, "an integer", error);
      return FALSE;
    }
  *value = sqlite3_column_int64 (stmt, 0);
  hippo_prj_stmt_done (stmt);
  return TRUE;
}

gboolean
hippo_project_get_double (HippoProject *project, const char *key,
                          double default_value, double *value, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc, type;
  double v;

  g_return_val_if_fail (project != NULL && key != NULL && value != NULL, FALSE);

  rc = get_setting (project, key, &stmt, error);
  if (rc == 0)
    return FALSE;
  if (rc == SQLITE_DONE)
    {
      *value = default_value;
      return TRUE;
    }
  type = sqlite3_column_type (stmt, 0);
  v = sqlite3_column_double (stmt, 0);
  hippo_prj_stmt_done (stmt);
  if ((type != SQLITE_INTEGER && type != SQLITE_FLOAT) || !isfinite (v))
    {
      bad_setting (project, key, "a finite number", error);
      return FALSE;
    }
  *value = v;
  return TRUE;
}

gboolean
hippo_project_get_bool (HippoProject *project, const char *key,
                        gboolean default_value, gboolean *value, GError **error)
{
  gint64 v;

  g_return_val_if_fail (value != NULL, FALSE);

  if (!hippo_project_get_int (project, key, default_value ? 1 : 0, &v, error))
    return FALSE;
  if (v != 0 && v != 1)
    {
      bad_setting (project, key, "a boolean (0 or 1)", error);
      return FALSE;
    }
  *value = v == 1;
  return TRUE;
}

typedef enum
{
  VAL_NULL,
  VAL_TEXT,
  VAL_INT,
  VAL_DOUBLE,
} ValueType;

/* Writes one setting in its own transaction (or savepoint). */
static gboolean
set_setting (HippoProject *p, const char *key, ValueType type, const char *text,
             gint64 i, double d, GError **error)
{
  const char *what = "writing a setting";
  sqlite3_stmt *stmt;
  gboolean ok;

  if (!check_key (p, key, error))
    return FALSE;
  if (!hippo_prj_write_begin (p, what, error))
    return FALSE;
  if (type == VAL_NULL)
    {
      stmt
        = hippo_prj_stmt (p, "DELETE FROM settings WHERE key = ?", what, error);
      ok = stmt != NULL && hippo_prj_bind_text (p, stmt, 1, key, what, error);
    }
  else
    {
      stmt = hippo_prj_stmt (p,
                             "INSERT OR REPLACE INTO settings (key, value)"
                             " VALUES (?, ?)",
                             what, error);
      ok = stmt != NULL && hippo_prj_bind_text (p, stmt, 1, key, what, error);
      if (ok && type == VAL_TEXT)
        ok = hippo_prj_bind_text (p, stmt, 2, text, what, error);
      else if (ok && type == VAL_INT)
        sqlite3_bind_int64 (stmt, 2, i);
      else if (ok)
        sqlite3_bind_double (stmt, 2, d);
    }
  if (ok)
    ok = hippo_prj_run (p, stmt, what, error);
  else if (stmt != NULL)
    hippo_prj_stmt_done (stmt);
  return hippo_prj_write_end (p, ok, what, error);
}

gboolean
hippo_project_set_string (HippoProject *project, const char *key,
                          const char *value, GError **error)
{
  g_return_val_if_fail (project != NULL && key != NULL, FALSE);

  if (strcmp (key, HIPPO_SETTING_MULTI_LABEL) == 0)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s: the setting %s is a boolean", project->display, key);
      return FALSE;
    }
  if (value != NULL && !g_utf8_validate (value, -1, NULL))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s: the value of %s is not UTF-8", project->display, key);
      return FALSE;
    }
  return set_setting (project, key, value ? VAL_TEXT : VAL_NULL, value, 0, 0,
                      error);
}

gboolean
hippo_project_set_int (HippoProject *project, const char *key, gint64 value,
                       GError **error)
{
  g_return_val_if_fail (project != NULL && key != NULL, FALSE);

  if (strcmp (key, HIPPO_SETTING_MULTI_LABEL) == 0)
    {
      if (value != 0 && value != 1)
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                       "%s: the setting %s is a boolean", project->display,
                       key);
          return FALSE;
        }
      return hippo_project_set_multi_label (project, value == 1, error);
    }
  return set_setting (project, key, VAL_INT, NULL, value, 0, error);
}

gboolean
hippo_project_set_double (HippoProject *project, const char *key, double value,
                          GError **error)
{
  g_return_val_if_fail (project != NULL && key != NULL, FALSE);

  if (!isfinite (value))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s: the setting %s must be finite", project->display, key);
      return FALSE;
    }
  if (strcmp (key, HIPPO_SETTING_MULTI_LABEL) == 0)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s: the setting %s is a boolean", project->display, key);
      return FALSE;
    }
  return set_setting (project, key, VAL_DOUBLE, NULL, 0, value, error);
}

gboolean
hippo_project_set_bool (HippoProject *project, const char *key, gboolean value,
                        GError **error)
{
  return hippo_project_set_int (project, key, value ? 1 : 0, error);
}

char **
hippo_project_list_settings (HippoProject *project, GError **error)
{
  const char *what = "listing settings";
  g_autoptr (GPtrArray) keys = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (project != NULL, NULL);

  stmt = hippo_prj_stmt (project, "SELECT key FROM settings ORDER BY key", what,
                         error);
  if (stmt == NULL)
    return NULL;
  keys = g_ptr_array_new_with_free_func (g_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *k = (const char *) sqlite3_column_text (stmt, 0);

      if (k != NULL && g_utf8_validate (k, -1, NULL))
        g_ptr_array_add (keys, g_strdup (k));
    }
  if (rc != SQLITE_DONE)
    {
      hippo_prj_set_error (project, rc, what, error);
      hippo_prj_stmt_done (stmt);
      return NULL;
    }
  hippo_prj_stmt_done (stmt);
  g_ptr_array_add (keys, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&keys), FALSE);
}

gboolean
hippo_project_get_multi_label (HippoProject *project, GError **error)
{
  gboolean v = FALSE;

  if (!hippo_project_get_bool (project, HIPPO_SETTING_MULTI_LABEL, FALSE, &v,
                               error))
    return FALSE;
  return v;
}

gboolean
hippo_project_set_multi_label (HippoProject *project, gboolean multi_label,
                               GError **error)
{
  const char *what = "changing the multi-label mode";
  gboolean ok, old = FALSE;
  gint64 n_multi = 0;

  g_return_val_if_fail (project != NULL, FALSE);

  if (!hippo_prj_write_begin (project, what, error))
    return FALSE;
  ok = hippo_project_get_bool (project, HIPPO_SETTING_MULTI_LABEL, FALSE, &old,
                               error);
  if (ok && !multi_label && old)
    {
      ok = hippo_prj_query_int (
        project,
        "SELECT count(*) FROM (SELECT content_hash FROM examples"
        " GROUP BY content_hash HAVING count(*) > 1)",
        what, &n_multi, error);
      if (ok && n_multi > 0)
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                       "%s: cannot switch to single-label: %" G_GINT64_FORMAT
                       " images have several classes; unlabel them first",
                       project->display, n_multi);
          ok = FALSE;
        }
    }
  if (ok && old != multi_label)
    ok = set_setting (project, HIPPO_SETTING_MULTI_LABEL, VAL_INT, NULL,
                      multi_label ? 1 : 0, 0, error)
         && hippo_prj_bump_revision (project, error);
  return hippo_prj_write_end (project, ok, what, error);
}
