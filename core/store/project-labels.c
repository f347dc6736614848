/* The project file: classes, labelled examples, the labels revision. */
#include "hippo-config.h"

#include <string.h>

#include "project-private.h"

/* Distinct colours for new classes (Tableau 10, then two more). */
static const char *const palette[] = {
  "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
  "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#17becf", "#8c564b",
};

gboolean
hippo_prj_is_hash (const char *s)
{
  if (s == NULL)
    return FALSE;
  for (int i = 0; i < HIPPO_HASH_HEX_LEN; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return FALSE;
  return s[HIPPO_HASH_HEX_LEN] == '\0';
}

gboolean
hippo_prj_normalize_hash (const char *in, char out[HIPPO_HASH_HEX_LEN + 1],
                          GError **error)
{
  gsize n = in ? strlen (in) : 0;

  if (n == HIPPO_HASH_HEX_LEN)
    {
      for (gsize i = 0; i < n; i++)
        out[i] = g_ascii_tolower (in[i]);
      out[n] = '\0';
      if (hippo_prj_is_hash (out))
        return TRUE;
    }
  g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
               "a content hash must be %d hexadecimal digits (SHA-256)",
               HIPPO_HASH_HEX_LEN);
  return FALSE;
}

char *
hippo_prj_absolute_path (const char *path)
{
  return g_canonicalize_filename (path, NULL);
}

/* Checks and normalises a class name: NFC, no surrounding white space. */
static char *
normalize_name (HippoProject *p, const char *name, GError **error)
{
  g_autofree char *nfc = NULL;
  const char *why = NULL;
  gsize n;

  if (name == NULL || !g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s: a class name must be UTF-8", p->display);
      return NULL;
    }
  nfc = g_utf8_normalize (name, -1, G_NORMALIZE_NFC);
  if (nfc == NULL)
    why = "it is not valid Unicode";
  else
    {
      g_strstrip (nfc);
      n = strlen (nfc);
      if (n == 0)
        why = "it is empty";
      else if (n > HIPPO_CLASS_NAME_MAX)
        why = "it is too long";
      else if (strcmp (nfc, ".") == 0 || strcmp (nfc, "..") == 0)
        why = "it names a folder";
      else if (strpbrk (nfc, "/\\|") != NULL)
        why = "it contains '/', '\\' or '|'";
      else
        for (const char *c = nfc; *c; c = g_utf8_next_char (c))
          if (g_unichar_iscntrl (g_utf8_get_char (c)))
            {
              why = "it contains a control character";
              break;
            }
    }
  if (why != NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s: bad class name \"%s\": %s", p->display, name, why);
      return NULL;
    }
  return g_steal_pointer (&nfc);
}

static gboolean
check_colour (HippoProject *p, const char *colour, GError **error)
{
  if (colour != NULL && strlen (colour) == 7 && colour[0] == '#'
      && strspn (colour + 1, "0123456789abcdefABCDEF") == 6)
    return TRUE;
  g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
               "%s: bad colour \"%s\" (use #rrggbb)", p->display,
               colour && g_utf8_validate (colour, -1, NULL) ? colour : "?");
  return FALSE;
}

/* Reads a text column that must be non-NULL UTF-8 without NULs. */
static const char *
column_utf8 (sqlite3_stmt *stmt, int i)
{
  const char *t;

  if (sqlite3_column_type (stmt, i) != SQLITE_TEXT)
    return NULL;
  t = (const char *) sqlite3_column_text (stmt, i);
  if (t == NULL || strlen (t) != (gsize) sqlite3_column_bytes (stmt, i)
      || !g_utf8_validate (t, -1, NULL))
    return NULL;
  return t;
}

void
hippo_class_info_free (HippoClassInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->colour);
  g_free (info);
}

/* Finds a class id by exact (normalised) name: 1 found, 0 not, -1 error. */
static int
find_class (HippoProject *p, const char *name, gint64 *id, const char *what,
            GError **error)
{
  sqlite3_stmt *stmt
    = hippo_prj_stmt (p, "SELECT id FROM classes WHERE name = ?", what, error);
  int rc;

  if (stmt == NULL || !hippo_prj_bind_text (p, stmt, 1, name, what, error))
    return -1;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *id = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    hippo_prj_set_error (p, rc, what, error);
  hippo_prj_stmt_done (stmt);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int
find_class_or_fail (HippoProject *p, const char *name, gint64 *id,
                    const char *what, GError **error)
{
  int r = find_class (p, name, id, what, error);

  if (r == 0)
    g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND,
                 "%s: no class \"%s\"", p->display, name);
  return r;
}

/* Fails when another class (not except_id) has name ignoring case. Also
 * picks the first palette colour not in use into *free_colour. */
static gboolean
check_clash (HippoProject *p, const char *name, gint64 except_id,
             const char **free_colour, const char *what, GError **error)
{
  g_autofree char *fold = g_utf8_casefold (name, -1);
  sqlite3_stmt *stmt = hippo_prj_stmt (p,
                                       "SELECT id, name, colour"
                                       " FROM classes",
                                       what, error);
  guint used = 0, n = 0;
  gboolean clash = FALSE;
  int rc;

  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *other = column_utf8 (stmt, 1);
      const char *colour = column_utf8 (stmt, 2);

      n++;
      for (guint i = 0; colour && i < G_N_ELEMENTS (palette); i++)
        if (g_ascii_strcasecmp (colour, palette[i]) == 0)
          used |= 1u << i;
      if (other != NULL && sqlite3_column_int64 (stmt, 0) != except_id)
        {
          g_autofree char *ofold = g_utf8_casefold (other, -1);

          if (strcmp (fold, ofold) == 0)
            {
              clash = TRUE;
              g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                           "%s: a class \"%s\" exists already%s", p->display,
                           other,
                           strcmp (other, name) != 0 ? " (names differing "
                                                       "only in case would "
                                                       "share a folder)"
                                                     : "");
              break;
            }
        }
    }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      hippo_prj_set_error (p, rc, what, error);
      hippo_prj_stmt_done (stmt);
      return FALSE;
    }
  hippo_prj_stmt_done (stmt);
  if (free_colour != NULL)
    {
      *free_colour = palette[n % G_N_ELEMENTS (palette)];
      for (guint i = 0; i < G_N_ELEMENTS (palette); i++)
        if (!(used & (1u << i)))
          {
            *free_colour = palette[i];
            break;
          }
    }
  return !clash;
}

gboolean
hippo_project_add_class (HippoProject *project, const char *name,
                         const char *colour, gint64 *id, GError **error)
{
  const char *what = "adding a class";
  g_autofree char *norm = NULL;
  g_autofree char *lower = NULL;
  const char *auto_colour = NULL;
  sqlite3_stmt *stmt;
  gboolean ok;

  g_return_val_if_fail (project != NULL, FALSE);

  norm = normalize_name (project, name, error);
  if (norm == NULL)
    return FALSE;
  if (colour != NULL && !check_colour (project, colour, error))
    return FALSE;
  if (!hippo_prj_write_begin (project, what, error))
    return FALSE;
  ok = check_clash (project, norm, -1, &auto_colour, what, error);
  if (ok)
    {
      lower = g_ascii_strdown (colour ? colour : auto_colour, -1);
      stmt = hippo_prj_stmt (project,
                             "INSERT INTO classes (name, colour, position)"
                             " SELECT ?, ?, coalesce (max (position), -1) + 1"
                             " FROM classes",
                             what, error);
      ok = stmt != NULL
           && hippo_prj_bind_text (project, stmt, 1, norm, what, error)
           && hippo_prj_bind_text (project, stmt, 2, lower, what, error)
           && hippo_prj_run (project, stmt, what, error);
      if (!ok && stmt != NULL)
        hippo_prj_stmt_done (stmt);
    }
  if (ok && id != NULL)
    *id = sqlite3_last_insert_rowid (project->db);
  return hippo_prj_write_end (project, ok, what, error);
}

gboolean
hippo_project_rename_class (HippoProject *project, const char *name,
                            const char *new_name, GError **error)
{
  const char *what = "renaming a class";
  g_autofree char *norm = NULL;
  g_autofree char *new_norm = NULL;
  sqlite3_stmt *stmt;
  gint64 id = -1;
  gboolean ok;

  g_return_val_if_fail (project != NULL, FALSE);

  norm = normalize_name (project, name, error);
  if (norm == NULL)
    return FALSE;
  new_norm = normalize_name (project, new_name, error);
  if (new_norm == NULL)
    return FALSE;
  if (!hippo_prj_write_begin (project, what, error))
    return FALSE;
  ok = find_class_or_fail (project, norm, &id, what, error) == 1
       && check_clash (project, new_norm, id, NULL, what, error);
  if (ok && strcmp (norm, new_norm) != 0)
    {
      stmt = hippo_prj_stmt (
        project, "UPDATE classes SET name = ? WHERE id = ?", what, error);
      ok = stmt != NULL
           && hippo_prj_bind_text (project, stmt, 1, new_norm, what, error);
      if (ok)
        {
          sqlite3_bind_int64 (stmt, 2, id);
          ok = hippo_prj_run (project, stmt, what, error);
        }
      else if (stmt != NULL)
        hippo_prj_stmt_done (stmt);
    }
  return hippo_prj_write_end (project, ok, what, error);
}

gboolean
hippo_project_set_class_colour (HippoProject *project, const char *name,
                                const char *colour, GError **error)
{
  const char *what = "setting a class colour";
  g_autofree char *norm = NULL;
  g_autofree char *lower = NULL;
  sqlite3_stmt *stmt;
  gint64 id = -1;
  gboolean ok;

  g_return_val_if_fail (project != NULL, FALSE);

  norm = normalize_name (project, name, error);
  if (norm == NULL || !check_colour (project, colour, error))
    return FALSE;
  lower = g_ascii_strdown (colour, -1);
  if (!hippo_prj_write_begin (project, what, error))
    return FALSE;
  ok = find_class_or_fail (project, norm, &id, what, error) == 1;
  if (ok)
    {
      stmt = hippo_prj_stmt (
        project, "UPDATE classes SET colour = ? WHERE id = ?", what, error);
      ok = stmt != NULL
           && hippo_prj_bind_text (project, stmt, 1, lower, what, error);
      if (ok)
        {
          sqlite3_bind_int64 (stmt, 2, id);
          ok = hippo_prj_run (project, stmt, what, error);
        }
      else if (stmt != NULL)
        hippo_prj_stmt_done (stmt);
    }
  return hippo_prj_write_end (project, ok, what, error);
}

static gboolean
count_examples (HippoProject *p, gint64 class_id, gint64 *n, const char *what,
                GError **error)
{
  sqlite3_stmt *stmt = hippo_prj_stmt (
    p, "SELECT count(*) FROM examples WHERE class_id = ?", what, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, class_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *n = sqlite3_column_int64 (stmt, 0);
  else
    hippo_prj_set_error (p, rc, what, error);
  hippo_prj_stmt_done (stmt);
  return rc == SQLITE_ROW;
}

gboolean
hippo_project_remove_class (HippoProject *project, const char *name,
                            gboolean force, guint *n_examples_removed,
                            GError **error)
{
  const char *what = "removing a class";
  g_autofree char *norm = NULL;
  sqlite3_stmt *stmt;
  gint64 id = -1, n = 0;
  gboolean ok;

  g_return_val_if_fail (project != NULL, FALSE);

  if (n_examples_removed)
    *n_examples_removed = 0;
  norm = normalize_name (project, name, error);
  if (norm == NULL)
    return FALSE;
  if (!hippo_prj_write_begin (project, what, error))
    return FALSE;
  ok = find_class_or_fail (project, norm, &id, what, error) == 1
       && count_examples (project, id, &n, what, error);
  if (ok && n > 0 && !force)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                   "%s: class \"%s\" has %" G_GINT64_FORMAT " example%s; "
                   "unlabel them first or force the removal to delete "
                   "them too",
                   project->display, norm, n, n == 1 ? "" : "s");
      ok = FALSE;
    }
  if (ok)
    {
      stmt = hippo_prj_stmt (project, "DELETE FROM examples WHERE class_id = ?",
                             what, error);
      if (stmt != NULL)
        {
          sqlite3_bind_int64 (stmt, 1, id);
          ok = hippo_prj_run (project, stmt, what, error);
        }
      else
        ok = FALSE;
    }
  if (ok)
    {
      stmt = hippo_prj_stmt (project, "DELETE FROM classes WHERE id = ?", what,
                             error);
      if (stmt != NULL)
        {
          sqlite3_bind_int64 (stmt, 1, id);
          ok = hippo_prj_run (project, stmt, what, error);
        }
      else
        ok = FALSE;
    }
  if (ok && n > 0)
    ok = hippo_prj_bump_revision (project, error);
  ok = hippo_prj_write_end (project, ok, what, error);
  if (ok && n_examples_removed)
    *n_examples_removed = (guint) MIN (n, G_MAXUINT);
  return ok;
}

#define CLASS_COLUMNS                                                          \
  "SELECT c.id, c.name, c.colour, c.position,"                                 \
  " (SELECT count(*) FROM examples e WHERE e.class_id = c.id)"                 \
  " FROM classes c "

/* Reads one class row of CLASS_COLUMNS. */
static HippoClassInfo *
read_class (HippoProject *p, sqlite3_stmt *stmt, const char *what,
            GError **error)
{
  const char *name = column_utf8 (stmt, 1);
  const char *colour = column_utf8 (stmt, 2);
  HippoClassInfo *c;

  if (name == NULL || colour == NULL || strlen (colour) != 7 || colour[0] != '#'
      || strspn (colour + 1, "0123456789abcdefABCDEF") != 6)
    {
      hippo_prj_malformed (p, what, "a class with a bad name or colour", error);
      return NULL;
    }
  c = g_new0 (HippoClassInfo, 1);
  c->id = sqlite3_column_int64 (stmt, 0);
  c->name = g_strdup (name);
  c->colour = g_strdup (colour);
  c->position
    = (int) CLAMP (sqlite3_column_int64 (stmt, 3), G_MININT, G_MAXINT);
  c->n_examples = (guint) CLAMP (sqlite3_column_int64 (stmt, 4), 0, G_MAXUINT);
  return c;
}

GPtrArray *
hippo_project_list_classes (HippoProject *project, GError **error)
{
  const char *what = "listing classes";
  g_autoptr (GPtrArray) res = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (project != NULL, NULL);

  stmt = hippo_prj_stmt (project, CLASS_COLUMNS "ORDER BY c.position, c.id",
                         what, error);
  if (stmt == NULL)
    return NULL;
  res = g_ptr_array_new_with_free_func ((GDestroyNotify) hippo_class_info_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      HippoClassInfo *c = read_class (project, stmt, what, error);

      if (c == NULL)
        {
          hippo_prj_stmt_done (stmt);
          return NULL;
        }
      g_ptr_array_add (res, c);
    }
  if (rc != SQLITE_DONE)
    {
      hippo_prj_set_error (project, rc, what, error);
      hippo_prj_stmt_done (stmt);
      return NULL;
    }
  hippo_prj_stmt_done (stmt);
  return g_steal_pointer (&res);
}

HippoClassInfo *
hippo_project_lookup_class (HippoProject *project, const char *name,
                            GError **error)
{
  const char *what = "looking up a class";
  g_autofree char *norm = NULL;
  HippoClassInfo *c = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (project != NULL, NULL);

  norm = normalize_name (project, name, error);
  if (norm == NULL)
    return NULL;
  stmt
    = hippo_prj_stmt (project, CLASS_COLUMNS "WHERE c.name = ?", what, error);
  if (stmt == NULL
      || !hippo_prj_bind_text (project, stmt, 1, norm, what, error))
    return NULL;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    c = read_class (project, stmt, what, error);
  else if (rc != SQLITE_DONE)
    hippo_prj_set_error (project, rc, what, error);
  hippo_prj_stmt_done (stmt);
  if (rc == SQLITE_DONE)
    {
      /* names are unique ignoring case, so another case finds the one */
      g_autoptr (GPtrArray) all = hippo_project_list_classes (project, error);
      g_autofree char *fold = g_utf8_casefold (norm, -1);

      for (guint i = 0; all != NULL && c == NULL && i < all->len; i++)
        {
          HippoClassInfo *ci = all->pdata[i];
          g_autofree char *ofold = g_utf8_casefold (ci->name, -1);
          if (strcmp (fold, ofold) == 0)
            c = g_ptr_array_steal_index (all, i);
        }
      if (all != NULL && c == NULL)
        g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND,
                     "%s: no class \"%s\"", project->display, norm);
    }
  return c;
}

/* Examples */

void
hippo_example_free (HippoExample *example)
{
  if (example == NULL)
    return;
  g_free (example->class_name);
  g_free (example->path);
  g_free (example);
}

#define EXAMPLE_COLUMNS                                                        \
  "SELECT e.id, e.class_id, c.name, e.path, e.content_hash, e.source,"         \
  " e.added_at FROM examples e JOIN classes c ON c.id = e.class_id "

/* Runs a bound EXAMPLE_COLUMNS query into a new array; resets stmt. */
static GPtrArray *
read_examples (HippoProject *p, sqlite3_stmt *stmt, const char *what,
               GError **error)
{
  g_autoptr (GPtrArray) res
    = g_ptr_array_new_with_free_func ((GDestroyNotify) hippo_example_free);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *name = column_utf8 (stmt, 2);
      const char *hash = column_utf8 (stmt, 4);
      const char *source = column_utf8 (stmt, 5);
      const char *path = NULL;
      HippoExample *e;

      if (sqlite3_column_type (stmt, 3) == SQLITE_TEXT)
        {
          path = (const char *) sqlite3_column_text (stmt, 3);
          if (path != NULL
              && strlen (path) != (gsize) sqlite3_column_bytes (stmt, 3))
            path = NULL;
          if (path == NULL)
            name = NULL; /* reject the row below */
        }
      else if (sqlite3_column_type (stmt, 3) != SQLITE_NULL)
        name = NULL;
      if (name == NULL || !hippo_prj_is_hash (hash) || source == NULL
          || (strcmp (source, "file") != 0 && strcmp (source, "gimp") != 0))
        {
          hippo_prj_stmt_done (stmt);
          hippo_prj_malformed (p, what,
                               "an example with a bad class name, "
                               "path, hash or source",
                               error);
          return NULL;
        }
      e = g_new0 (HippoExample, 1);
      e->id = sqlite3_column_int64 (stmt, 0);
      e->class_id = sqlite3_column_int64 (stmt, 1);
      e->class_name = g_strdup (name);
      e->path = g_strdup (path);
      memcpy (e->content_hash, hash, HIPPO_HASH_HEX_LEN + 1);
      e->source = strcmp (source, "gimp") == 0 ? HIPPO_EXAMPLE_SOURCE_GIMP
                                               : HIPPO_EXAMPLE_SOURCE_FILE;
      e->added_at = sqlite3_column_int64 (stmt, 6);
      g_ptr_array_add (res, e);
    }
  if (rc != SQLITE_DONE)
    {
      hippo_prj_set_error (p, rc, what, error);
      hippo_prj_stmt_done (stmt);
      return NULL;
    }
  hippo_prj_stmt_done (stmt);
  return g_steal_pointer (&res);
}

GPtrArray *
hippo_project_list_examples (HippoProject *project, const char *class_name,
                             GError **error)
{
  const char *what = "listing examples";
  g_autofree char *norm = NULL;
  sqlite3_stmt *stmt;
  gint64 id = -1;

  g_return_val_if_fail (project != NULL, NULL);

  if (class_name == NULL)
    {
      stmt = hippo_prj_stmt (project,
                             EXAMPLE_COLUMNS "ORDER BY c.position, c.id, e.id",
                             what, error);
      return stmt ? read_examples (project, stmt, what, error) : NULL;
    }
  norm = normalize_name (project, class_name, error);
  if (norm == NULL || find_class_or_fail (project, norm, &id, what, error) != 1)
    return NULL;
  stmt = hippo_prj_stmt (
    project, EXAMPLE_COLUMNS "WHERE e.class_id = ? ORDER BY e.id", what, error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, id);
  return read_examples (project, stmt, what, error);
}

GPtrArray *
hippo_project_find_examples_by_path (HippoProject *project, const char *path,
                                     GError **error)
{
  const char *what = "looking up a file's labels";
  g_autofree char *abs = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (project != NULL && path != NULL, NULL);

  abs = hippo_prj_absolute_path (path);
  stmt = hippo_prj_stmt (project,
                         EXAMPLE_COLUMNS "WHERE e.path = ?"
                                         " ORDER BY c.position, c.id",
                         what, error);
  if (stmt == NULL || !hippo_prj_bind_text (project, stmt, 1, abs, what, error))
    return NULL;
  return read_examples (project, stmt, what, error);
}

GPtrArray *
hippo_project_find_examples_by_hash (HippoProject *project,
                                     const char *content_hash, GError **error)
{
  const char *what = "looking up an image's labels";
  char hash[HIPPO_HASH_HEX_LEN + 1];
  sqlite3_stmt *stmt;

  g_return_val_if_fail (project != NULL, NULL);

  if (!hippo_prj_normalize_hash (content_hash, hash, error))
    return NULL;
  stmt = hippo_prj_stmt (project,
                         EXAMPLE_COLUMNS "WHERE e.content_hash = ?"
                                         " ORDER BY c.position, c.id",
                         what, error);
  if (stmt == NULL
      || !hippo_prj_bind_text (project, stmt, 1, hash, what, error))
    return NULL;
  return read_examples (project, stmt, what, error);
}

gboolean
hippo_project_add_example (HippoProject *project, const char *class_name,
                           const char *path, const char *content_hash,
                           HippoExampleSource source,
                           HippoExampleChange *change, GError **error)
{
  const char *what = "labelling an image";
  char hash[HIPPO_HASH_HEX_LEN + 1];
  g_autofree char *norm = NULL;
  g_autofree char *abs = NULL;
  g_autoptr (GArray) drop = g_array_new (FALSE, FALSE, sizeof (gint64));
  sqlite3_stmt *stmt;
  gint64 class_id = -1, keep_id = -1;
  gboolean ok, multi = FALSE, same_path = TRUE;
  int rc = SQLITE_DONE;

  g_return_val_if_fail (project != NULL, FALSE);
  g_return_val_if_fail (source == HIPPO_EXAMPLE_SOURCE_FILE
                          || source == HIPPO_EXAMPLE_SOURCE_GIMP,
                        FALSE);

  if (change)
    *change = HIPPO_EXAMPLE_UNCHANGED;
  if (!hippo_prj_normalize_hash (content_hash, hash, error))
    return FALSE;
  norm = normalize_name (project, class_name, error);
  if (norm == NULL)
    return FALSE;
  if (path != NULL)
    abs = hippo_prj_absolute_path (path);

  if (!hippo_prj_write_begin (project, what, error))
    return FALSE;
  ok = find_class_or_fail (project, norm, &class_id, what, error) == 1
       && hippo_project_get_bool (project, HIPPO_SETTING_MULTI_LABEL, FALSE,
                                  &multi, error);
  /* The rows this label replaces or confirms. */
  stmt = !ok     ? NULL
         : multi ? hippo_prj_stmt (project,
                                   "SELECT id, class_id, content_hash, path"
                                   " FROM examples WHERE class_id = ?3 AND"
                                   " (content_hash = ?1 OR path = ?2)",
                                   what, error)
                 : hippo_prj_stmt (project,
                                   "SELECT id, class_id, content_hash, path"
                                   " FROM examples WHERE content_hash = ?1"
                                   " OR path = ?2",
                                   what, error);
  if (ok && stmt == NULL)
    ok = FALSE;
  if (ok)
    {
      ok = hippo_prj_bind_text (project, stmt, 1, hash, what, error)
           && hippo_prj_bind_text (project, stmt, 2, abs, what, error);
      if (ok && multi)
        sqlite3_bind_int64 (stmt, 3, class_id);
      while (ok && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          gint64 id = sqlite3_column_int64 (stmt, 0);
          const char *h = (const char *) sqlite3_column_text (stmt, 2);
          const char *pa = (const char *) sqlite3_column_text (stmt, 3);

          if (sqlite3_column_int64 (stmt, 1) == class_id && h != NULL
              && strcmp (h, hash) == 0)
            {
              keep_id = id;
              same_path = abs == NULL || (pa != NULL && strcmp (pa, abs) == 0);
            }
          else
            g_array_append_val (drop, id);
        }
      if (ok && rc != SQLITE_DONE)
        {
          hippo_prj_set_error (project, rc, what, error);
          ok = FALSE;
        }
      hippo_prj_stmt_done (stmt);
    }
  for (guint i = 0; ok && i < drop->len; i++)
    {
      stmt = hippo_prj_stmt (project, "DELETE FROM examples WHERE id = ?", what,
                             error);
      ok = stmt != NULL;
      if (ok)
        {
          sqlite3_bind_int64 (stmt, 1, g_array_index (drop, gint64, i));
          ok = hippo_prj_run (project, stmt, what, error);
        }
    }
  if (ok && keep_id >= 0 && !same_path)
    {
      stmt = hippo_prj_stmt (
        project, "UPDATE examples SET path = ? WHERE id = ?", what, error);
      ok = stmt != NULL
           && hippo_prj_bind_text (project, stmt, 1, abs, what, error);
      if (ok)
        {
          sqlite3_bind_int64 (stmt, 2, keep_id);
          ok = hippo_prj_run (project, stmt, what, error);
        }
      else if (stmt != NULL)
        hippo_prj_stmt_done (stmt);
    }
  if (ok && keep_id < 0)
    {
      stmt = hippo_prj_stmt (project,
                             "INSERT INTO examples (class_id, path,"
                             " content_hash, source, added_at)"
                             " VALUES (?, ?, ?, ?, ?)",
                             what, error);
      ok = stmt != NULL;
      if (ok)
        {
          sqlite3_bind_int64 (stmt, 1, class_id);
          ok = hippo_prj_bind_text (project, stmt, 2, abs, what, error)
               && hippo_prj_bind_text (project, stmt, 3, hash, what, error)
               && hippo_prj_bind_text (
                 project, stmt, 4,
                 source == HIPPO_EXAMPLE_SOURCE_GIMP ? "gimp" : "file", what,
                 error);
          sqlite3_bind_int64 (stmt, 5, g_get_real_time () / G_USEC_PER_SEC);
          if (ok)
            ok = hippo_prj_run (project, stmt, what, error);
          else
            hippo_prj_stmt_done (stmt);
        }
    }
  if (ok && (keep_id < 0 || drop->len > 0))
    ok = hippo_prj_bump_revision (project, error);
  ok = hippo_prj_write_end (project, ok, what, error);
  if (ok && change)
    *change = drop->len > 0 ? HIPPO_EXAMPLE_MOVED
              : keep_id < 0 ? HIPPO_EXAMPLE_ADDED
                            : HIPPO_EXAMPLE_UNCHANGED;
  return ok;
}

/* Deletes examples where column = key (and class, when given). */
static gboolean
remove_examples (HippoProject *p, gboolean by_path, const char *key,
                 const char *class_name, guint *n_removed, GError **error)
{
  const char *what = "unlabelling";
  g_autofree char *norm = NULL;
  sqlite3_stmt *stmt;
  gint64 class_id = -1;
  gboolean ok = TRUE;
  int changes = 0;

  if (n_removed)
    *n_removed = 0;
  if (class_name != NULL)
    {
      norm = normalize_name (p, class_name, error);
      if (norm == NULL)
        return FALSE;
    }
  if (!hippo_prj_write_begin (p, what, error))
    return FALSE;
  if (norm != NULL)
    ok = find_class_or_fail (p, norm, &class_id, what, error) == 1;
  if (ok)
    {
      stmt = by_path ? hippo_prj_stmt (p,
                                       "DELETE FROM examples WHERE path = ?1"
                                       " AND (?2 < 0 OR class_id = ?2)",
                                       what, error)
                     : hippo_prj_stmt (p,
                                       "DELETE FROM examples"
                                       " WHERE content_hash = ?1"
                                       " AND (?2 < 0 OR class_id = ?2)",
                                       what, error);
      ok = stmt != NULL && hippo_prj_bind_text (p, stmt, 1, key, what, error);
      if (ok)
        {
          sqlite3_bind_int64 (stmt, 2, class_id);
          ok = hippo_prj_run (p, stmt, what, error);
          changes = sqlite3_changes (p->db);
        }
      else if (stmt != NULL)
        hippo_prj_stmt_done (stmt);
    }
  if (ok && changes > 0)
    ok = hippo_prj_bump_revision (p, error);
  ok = hippo_prj_write_end (p, ok, what, error);
  if (ok && n_removed)
    *n_removed = (guint) MAX (changes, 0);
  return ok;
}

gboolean
hippo_project_remove_examples_by_path (HippoProject *project, const char *path,
                                       const char *class_name, guint *n_removed,
                                       GError **error)
{
  g_autofree char *abs = NULL;

  g_return_val_if_fail (project != NULL && path != NULL, FALSE);

  abs = hippo_prj_absolute_path (path);
  return remove_examples (project, TRUE, abs, class_name, n_removed, error);
}

gboolean
hippo_project_remove_examples_by_hash (HippoProject *project,
                                       const char *content_hash,
                                       const char *class_name, guint *n_removed,
                                       GError **error)
{
  char hash[HIPPO_HASH_HEX_LEN + 1];

  g_return_val_if_fail (project != NULL, FALSE);

  if (n_removed)
    *n_removed = 0;
  if (!hippo_prj_normalize_hash (content_hash, hash, error))
    return FALSE;
  return remove_examples (project, FALSE, hash, class_name, n_removed, error);
}

gboolean
hippo_project_get_labels_revision (HippoProject *project, gint64 *revision,
                                   GError **error)
{
  const char *what = "reading the labels revision";
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (project != NULL && revision != NULL, FALSE);

  stmt = hippo_prj_stmt (project,
                         "SELECT value FROM meta"
                         " WHERE key = 'labels_revision'",
                         what, error);
  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW && sqlite3_column_type (stmt, 0) == SQLITE_INTEGER)
    {
      *revision = sqlite3_column_int64 (stmt, 0);
      hippo_prj_stmt_done (stmt);
      return TRUE;
    }
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    hippo_prj_malformed (project, what, "no labels revision", error);
  else
    hippo_prj_set_error (project, rc, what, error);
  hippo_prj_stmt_done (stmt);
  return FALSE;
}
