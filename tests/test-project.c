/* Project file tests: schema, migrations, hostile and damaged files,
 * read-only and locked files, concurrent writers, labels, caches, head. */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "hippotag/hippotag.h"

/* A fresh temporary folder per test, removed at the end. */
typedef struct
{
  char *dir;
  char *path; /* dir/p.hippotag */
} Fixture;

static void
rm_rf (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);

      if (g_file_test (p, G_FILE_TEST_IS_DIR)
          && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
        {
          g_chmod (p, 0755);
          rm_rf (p);
        }
      else
        g_unlink (p);
    }
  g_rmdir (dir);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  /* A re-run in a subprocess works on its parent's files. */
  if (g_test_subprocess ())
    return;
  f->dir = g_dir_make_tmp ("hippo-project-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->path = g_build_filename (f->dir, "p.hippotag", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->dir == NULL)
    return;
  g_chmod (f->dir, 0755);
  rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

/* The SHA-256 hex of a short text: a stand-in content hash. */
static char *
fake_hash (const char *fmt, int i)
{
  g_autofree char *s = g_strdup_printf (fmt, i);

  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, s, -1);
}

static HippoProject *
new_project (const char *path)
{
  g_autoptr (GError) error = NULL;
  HippoProject *p
    = hippo_project_open (path, HIPPO_PROJECT_OPEN_CREATE, &error);

  g_assert_no_error (error);
  g_assert_nonnull (p);
  return p;
}

/* Runs SQL on a file with plain SQLite (to tamper with it). */
static void
raw_exec (const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  char *msg = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    g_error ("raw_exec %s: %s", sql, msg);
  sqlite3_close (db);
}

static gint64
raw_int (const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 v;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  v = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return v;
}

static char *
file_sha (const char *path)
{
  g_autofree char *data = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) data, len);
}

static gint64
revision (HippoProject *p)
{
  g_autoptr (GError) error = NULL;
  gint64 r = -1;

  g_assert_true (hippo_project_get_labels_revision (p, &r, &error));
  g_assert_no_error (error);
  return r;
}

static guint
class_count (HippoProject *p, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoClassInfo) c = hippo_project_lookup_class (p, name, &error);

  g_assert_no_error (error);
  return c->n_examples;
}

static void
add_class (HippoProject *p, const char *name)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (hippo_project_add_class (p, name, NULL, NULL, &error));
  g_assert_no_error (error);
}

static HippoExampleChange
label (HippoProject *p, const char *cls, const char *path, const char *hash)
{
  g_autoptr (GError) error = NULL;
  HippoExampleChange ch = 99;

  g_assert_true (hippo_project_add_example (
    p, cls, path, hash, HIPPO_EXAMPLE_SOURCE_FILE, &ch, &error));
  g_assert_no_error (error);
  return ch;
}

/* Create, settings, reopen. */
static void
test_create_reopen (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p = NULL;
  g_autofree char *s = NULL;
  g_auto (GStrv) keys = NULL;
  gint64 i = 0;
  double d = 0;
  gboolean b = TRUE;

  p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_DEFAULT, &error);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
  g_assert_null (p);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);
  p = hippo_project_open (
    f->path, HIPPO_PROJECT_OPEN_CREATE | HIPPO_PROJECT_OPEN_READ_ONLY, &error);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  p = hippo_project_open ("", HIPPO_PROJECT_OPEN_CREATE, &error);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* Names SQLite would take for special ones are plain files here, and a
   * relative path stays valid after a chdir. */
  {
    g_autofree char *cwd = g_get_current_dir ();
    g_autofree char *mem = g_build_filename (f->dir, ":memory:", NULL);
    g_autofree char *uri = g_build_filename (f->dir, "file:x.hippotag", NULL);
    g_autofree char *odd = g_build_filename (f->dir, "p\xff?#%.hippotag", NULL);
    static const char *const names[]
      = { ":memory:", "file:x.hippotag", "p\xff?#%.hippotag" };

    g_assert_cmpint (g_chdir (f->dir), ==, 0);
    for (guint k = 0; k < G_N_ELEMENTS (names); k++)
      {
        p = hippo_project_open (names[k], HIPPO_PROJECT_OPEN_CREATE, &error);
        g_assert_no_error (error);
        g_assert_cmpint (g_chdir ("/"), ==, 0);
        add_class (p, "cat");
        g_clear_pointer (&p, hippo_project_free);
        g_assert_cmpint (g_chdir (f->dir), ==, 0);
      }
    g_assert_cmpint (g_chdir (cwd), ==, 0);
    g_assert_true (g_file_test (mem, G_FILE_TEST_IS_REGULAR));
    g_assert_true (g_file_test (uri, G_FILE_TEST_IS_REGULAR));
    g_assert_true (g_file_test (odd, G_FILE_TEST_IS_REGULAR));
  }

  p = new_project (f->path);
  g_assert_cmpstr (hippo_project_get_path (p), ==, f->path);
  g_assert_false (hippo_project_is_read_only (p));
  s = hippo_project_get_string (p, HIPPO_SETTING_KEYWORD_PARENT, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (s, ==, "Hippotag");
  g_clear_pointer (&s, g_free);
  g_assert_false (hippo_project_get_multi_label (p, &error));
  g_assert_no_error (error);

  g_assert_true (
    hippo_project_set_string (p, HIPPO_SETTING_MODEL, "mobilenet_v2", &error));
  g_assert_true (hippo_project_set_string (
    p, HIPPO_SETTING_LAYERS, "block_10_expand_relu+out_relu", &error));
  g_assert_true (hippo_project_set_double (p, HIPPO_SETTING_UNSURE_THRESHOLD,
                                           0.1 + 0.2, &error));
  g_assert_true (hippo_project_set_int (p, "folds", -5, &error));
  g_assert_true (hippo_project_set_bool (p, "augment", TRUE, &error));
  g_assert_true (hippo_project_set_int (p, "big", G_MAXINT64, &error));
  g_assert_no_error (error);
  g_clear_pointer (&p, hippo_project_free);

  /* Reopen: everything is there, and the file is what we say it is. */
  g_assert_cmpint (raw_int (f->path, "PRAGMA application_id"), ==,
                   HIPPO_PROJECT_APPLICATION_ID);
  g_assert_cmpint (raw_int (f->path, "PRAGMA user_version"), ==,
                   HIPPO_PROJECT_SCHEMA_VERSION);
  g_assert_cmpint (
    raw_int (f->path,
             "SELECT count(*) FROM meta WHERE key ="
             " 'created_by' AND value = 'Hippotag " HIPPO_VERSION_STRING "'"),
    ==, 1);
  g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM meta WHERE key ="
                                     " 'last_written_by'"),
                   ==, 1);
  p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  {
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;

    /* WAL is stored in the file. */
    g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
    sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "wal");
    sqlite3_finalize (stmt);
    sqlite3_close (db);
  }
  s = hippo_project_get_string (p, HIPPO_SETTING_MODEL, NULL, &error);
  g_assert_cmpstr (s, ==, "mobilenet_v2");
  g_clear_pointer (&s, g_free);
  g_assert_true (hippo_project_get_double (p, HIPPO_SETTING_UNSURE_THRESHOLD, 0,
                                           &d, &error));
  g_assert_cmpfloat (d, ==, 0.1 + 0.2);
  g_assert_true (hippo_project_get_int (p, "folds", 0, &i, &error));
  g_assert_cmpint (i, ==, -5);
  g_assert_true (hippo_project_get_int (p, "big", 0, &i, &error));
  g_assert_cmpint (i, ==, G_MAXINT64);
  g_assert_true (hippo_project_get_bool (p, "augment", FALSE, &b, &error));
  g_assert_true (b);
  g_assert_no_error (error);
  /* Defaults for unset keys; an int reads as a double and as text. */
  g_assert_true (hippo_project_get_int (p, "unset", 42, &i, &error));
  g_assert_cmpint (i, ==, 42);
  g_assert_true (hippo_project_get_double (p, "folds", 0, &d, &error));
  g_assert_cmpfloat (d, ==, -5.0);
  s = hippo_project_get_string (p, "folds", NULL, &error);
  g_assert_cmpstr (s, ==, "-5");
  g_clear_pointer (&s, g_free);
  s = hippo_project_get_string (p, "unset", NULL, &error);
  g_assert_null (s);
  g_assert_no_error (error);
  /* Wrong types and bad keys. */
  g_assert_false (
    hippo_project_get_int (p, HIPPO_SETTING_MODEL, 0, &i, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
  g_clear_error (&error);
  g_assert_false (hippo_project_get_bool (p, "folds", FALSE, &b, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
  g_clear_error (&error);
  g_assert_false (hippo_project_set_int (p, "Bad Key", 1, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (hippo_project_set_double (p, "x", NAN, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (hippo_project_set_string (p, "x", "\xff\xfe", &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (
    hippo_project_set_string (p, HIPPO_SETTING_MULTI_LABEL, "yes", &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* Removing a key. */
  g_assert_true (hippo_project_set_string (p, "big", NULL, &error));
  g_assert_true (hippo_project_get_int (p, "big", 7, &i, &error));
  g_assert_cmpint (i, ==, 7);
  keys = hippo_project_list_settings (p, &error);
  g_assert_no_error (error);
  g_clear_pointer (&s, g_free);
  s = g_strjoinv (",", keys);
  g_assert_cmpstr (s, ==,
                   "augment,folds,keyword_parent,layers,model,multi_label,"
                   "unsure_threshold");
  /* A stored NaN or a text in an integer setting (hostile file). */
  g_clear_pointer (&p, hippo_project_free);
  raw_exec (f->path, "UPDATE settings SET value = 9e999 WHERE key ="
                     " 'unsure_threshold'");
  p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_false (hippo_project_get_double (p, HIPPO_SETTING_UNSURE_THRESHOLD,
                                            0.5, &d, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
}

/* Classes: unicode, normalisation, clashes, rename, colours, remove. */
static void
test_classes (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p = new_project (f->path);
  g_autoptr (GPtrArray) list = NULL;
  g_autofree char *h = fake_hash ("img%d", 1);
  static const char *const bad[] = {
    "",  "   ", "a/b",       "a\\b",    "x|y",
    ".", "..",  "tab\there", "nul\x7f", "\xc3\x28",
  };
  gint64 id = 0, rev;
  guint n = 0;

  add_class (p, "cat");
  add_class (p, "  dog  "); /* stripped */
  add_class (p, "Ærø 猫 🐱");
  g_assert_true (hippo_project_add_class (p, "caf\xc3\xa9", "#A0B0C0", &id,
                                          &error)); /* NFC "café" */
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  /* The same name in NFD, or differing in case, clashes. */
  g_assert_false (
    hippo_project_add_class (p, "cafe\xcc\x81", NULL, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (hippo_project_add_class (p, "CAT", NULL, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "case"));
  g_clear_error (&error);
  g_assert_false (hippo_project_add_class (p, "ærø 猫 🐱", NULL, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (hippo_project_add_class (p, bad[i], NULL, NULL, &error));
      g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  {
    g_autofree char *long_name = g_strnfill (HIPPO_CLASS_NAME_MAX + 1, 'x');

    g_assert_false (hippo_project_add_class (p, long_name, NULL, NULL, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
  g_assert_false (hippo_project_add_class (p, "bird", "red", NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  list = hippo_project_list_classes (p, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 4);
  g_assert_cmpstr (((HippoClassInfo *) list->pdata[0])->name, ==, "cat");
  g_assert_cmpstr (((HippoClassInfo *) list->pdata[1])->name, ==, "dog");
  g_assert_cmpstr (((HippoClassInfo *) list->pdata[2])->name, ==, "Ærø 猫 🐱");
  g_assert_cmpstr (((HippoClassInfo *) list->pdata[3])->colour, ==, "#a0b0c0");
  for (guint i = 0; i < list->len; i++)
    {
      HippoClassInfo *c = list->pdata[i];

      g_assert_cmpint (c->position, ==, i);
      g_assert_cmpuint (c->n_examples, ==, 0);
      for (guint j = 0; j < i; j++)
        g_assert_cmpstr (c->colour, !=,
                         ((HippoClassInfo *) list->pdata[j])->colour);
    }
  g_clear_pointer (&list, g_ptr_array_unref);

  /* Lookup accepts the NFD spelling. */
  {
    g_autoptr (HippoClassInfo) c
      = hippo_project_lookup_class (p, "cafe\xcc\x81", &error);

    g_assert_no_error (error);
    g_assert_cmpint (c->id, ==, id);
  }

  /* Rename: examples follow; clash refused; case-only rename allowed. */
  label (p, "dog", "/x/a.png", h);
  rev = revision (p);
  g_assert_true (hippo_project_rename_class (p, "dog", "Hund", &error));
  g_assert_no_error (error);
  g_assert_cmpint (revision (p), ==, rev); /* ids stay: not stale */
  g_assert_cmpuint (class_count (p, "Hund"), ==, 1);
  g_assert_false (hippo_project_rename_class (p, "Hund", "Cat", &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (hippo_project_rename_class (p, "nope", "x", &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (hippo_project_rename_class (p, "Hund", "a/b", &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (hippo_project_rename_class (p, "Hund", "HUND", &error));
  g_assert_no_error (error);
  g_assert_true (hippo_project_rename_class (p, "HUND", "HUND", &error));
  g_assert_no_error (error);
  g_assert_true (hippo_project_set_class_colour (p, "HUND", "#FFFFFF", &error));
  g_assert_no_error (error);
  {
    g_autoptr (HippoClassInfo) c
      = hippo_project_lookup_class (p, "HUND", &error);

    g_assert_cmpstr (c->colour, ==, "#ffffff");
    g_assert_cmpuint (c->n_examples, ==, 1);
  }

  /* Remove: refused with examples unless forced; nothing lost. */
  g_assert_false (hippo_project_remove_class (p, "HUND", FALSE, &n, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE);
  g_assert_nonnull (strstr (error->message, "1 example"));
  g_clear_error (&error);
  g_assert_cmpuint (class_count (p, "HUND"), ==, 1);
  g_assert_true (hippo_project_remove_class (p, "cat", FALSE, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 0);
  g_assert_true (hippo_project_remove_class (p, "HUND", TRUE, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM examples"), ==, 0);
  g_assert_false (hippo_project_remove_class (p, "HUND", TRUE, &n, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  list = hippo_project_list_classes (p, &error);
  g_assert_cmpuint (list->len, ==, 2);
  /* A new class goes last. */
  add_class (p, "cat");
  g_clear_pointer (&list, g_ptr_array_unref);
  list = hippo_project_list_classes (p, &error);
  g_assert_cmpstr (((HippoClassInfo *) list->pdata[2])->name, ==, "cat");
}

/* Examples: single-label moves, paths, GIMP images, unlabel, multi-label. */
static void
test_examples (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p = new_project (f->path);
  g_autoptr (GPtrArray) ex = NULL;
  g_autofree char *h1 = fake_hash ("img%d", 1);
  g_autofree char *h2 = fake_hash ("img%d", 2);
  g_autofree char *h3 = fake_hash ("img%d", 3);
  g_autofree char *upper = g_ascii_strup (h3, -1);
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *abs = g_build_filename (cwd, "rel.png", NULL);
  HippoExampleChange ch = 0;
  gint64 rev;
  guint n = 9;

  add_class (p, "cat");
  add_class (p, "dog");
  add_class (p, "bird");
  rev = revision (p);
  g_assert_cmpint (label (p, "cat", "/x/a.png", h1), ==, HIPPO_EXAMPLE_ADDED);
  g_assert_cmpint (revision (p), ==, rev + 1);
  g_assert_cmpint (label (p, "cat", "/x/a.png", h1), ==,
                   HIPPO_EXAMPLE_UNCHANGED);
  g_assert_cmpint (revision (p), ==, rev + 1);
  /* Same image by another path: still one example, path updated. */
  g_assert_cmpint (label (p, "cat", "/x/../y/copy.png", h1), ==,
                   HIPPO_EXAMPLE_UNCHANGED);
  ex = hippo_project_list_examples (p, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ex->len, ==, 1);
  g_assert_cmpstr (((HippoExample *) ex->pdata[0])->path, ==, "/y/copy.png");
  g_clear_pointer (&ex, g_ptr_array_unref);
  /* Labelling again with another class moves it. */
  g_assert_cmpint (label (p, "dog", "/y/copy.png", h1), ==,
                   HIPPO_EXAMPLE_MOVED);
  g_assert_cmpuint (class_count (p, "cat"), ==, 0);
  g_assert_cmpuint (class_count (p, "dog"), ==, 1);
  /* The file at a path changed: its old content's label is replaced. */
  g_assert_cmpint (label (p, "dog", "/y/copy.png", h2), ==,
                   HIPPO_EXAMPLE_MOVED);
  ex = hippo_project_list_examples (p, NULL, &error);
  g_assert_cmpuint (ex->len, ==, 1);
  g_assert_cmpstr (((HippoExample *) ex->pdata[0])->content_hash, ==, h2);
  g_clear_pointer (&ex, g_ptr_array_unref);
  /* Relative paths are made absolute; hashes are case-folded. */
  g_assert_cmpint (label (p, "bird", "rel.png", upper), ==,
                   HIPPO_EXAMPLE_ADDED);
  ex = hippo_project_find_examples_by_path (p, abs, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ex->len, ==, 1);
  g_assert_cmpstr (((HippoExample *) ex->pdata[0])->content_hash, ==, h3);
  g_assert_cmpstr (((HippoExample *) ex->pdata[0])->class_name, ==, "bird");
  g_assert_cmpint (((HippoExample *) ex->pdata[0])->source, ==,
                   HIPPO_EXAMPLE_SOURCE_FILE);
  g_assert_cmpint (((HippoExample *) ex->pdata[0])->added_at, >, 1700000000);
  g_clear_pointer (&ex, g_ptr_array_unref);
  /* A GIMP image without a file. */
  {
    g_autofree char *hg = fake_hash ("pixels%d", 1);

    g_assert_true (hippo_project_add_example (
      p, "cat", NULL, hg, HIPPO_EXAMPLE_SOURCE_GIMP, &ch, &error));
    g_assert_no_error (error);
    g_assert_cmpint (ch, ==, HIPPO_EXAMPLE_ADDED);
    ex = hippo_project_find_examples_by_hash (p, hg, &error);
    g_assert_cmpuint (ex->len, ==, 1);
    g_assert_null (((HippoExample *) ex->pdata[0])->path);
    g_assert_cmpint (((HippoExample *) ex->pdata[0])->source, ==,
                     HIPPO_EXAMPLE_SOURCE_GIMP);
    g_clear_pointer (&ex, g_ptr_array_unref);
  }
  ex = hippo_project_list_examples (p, "cat", &error);
  g_assert_cmpuint (ex->len, ==, 1);
  g_clear_pointer (&ex, g_ptr_array_unref);
  ex = hippo_project_list_examples (p, NULL, &error);
  g_assert_cmpuint (ex->len, ==, 3);
  /* Class position order: cat, dog, bird. */
  g_assert_cmpstr (((HippoExample *) ex->pdata[0])->class_name, ==, "cat");
  g_assert_cmpstr (((HippoExample *) ex->pdata[2])->class_name, ==, "bird");
  g_clear_pointer (&ex, g_ptr_array_unref);

  /* Errors. */
  g_assert_false (hippo_project_add_example (
    p, "fish", "/a", h1, HIPPO_EXAMPLE_SOURCE_FILE, &ch, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (hippo_project_add_example (
    p, "cat", "/a", "abc", HIPPO_EXAMPLE_SOURCE_FILE, &ch, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  ex = hippo_project_list_examples (p, "fish", &error);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Unlabel. */
  rev = revision (p);
  g_assert_true (hippo_project_remove_examples_by_path (p, "/nowhere.png", NULL,
                                                        &n, &error));
  g_assert_cmpuint (n, ==, 0);
  g_assert_cmpint (revision (p), ==, rev);
  g_assert_true (
    hippo_project_remove_examples_by_path (p, "rel.png", "cat", &n, &error));
  g_assert_cmpuint (n, ==, 0); /* it is a bird */
  g_assert_true (
    hippo_project_remove_examples_by_path (p, "rel.png", NULL, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpint (revision (p), ==, rev + 1);
  g_assert_true (
    hippo_project_remove_examples_by_hash (p, h2, NULL, &n, &error));
  g_assert_cmpuint (n, ==, 1);
  g_assert_false (
    hippo_project_remove_examples_by_hash (p, "zz", NULL, &n, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (class_count (p, "dog"), ==, 0);

  /* Multi-label: one image, two classes; switching back is refused. */
  g_assert_true (hippo_project_set_multi_label (p, TRUE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (label (p, "cat", "/m.png", h1), ==, HIPPO_EXAMPLE_ADDED);
  g_assert_cmpint (label (p, "dog", "/m.png", h1), ==, HIPPO_EXAMPLE_ADDED);
  g_assert_cmpint (label (p, "dog", "/m.png", h1), ==, HIPPO_EXAMPLE_UNCHANGED);
  ex = hippo_project_find_examples_by_path (p, "/m.png", &error);
  g_assert_cmpuint (ex->len, ==, 2);
  g_clear_pointer (&ex, g_ptr_array_unref);
  /* New content at that path replaces the old within one class only. */
  g_assert_cmpint (label (p, "dog", "/m.png", h2), ==, HIPPO_EXAMPLE_MOVED);
  ex = hippo_project_find_examples_by_path (p, "/m.png", &error);
  g_assert_cmpuint (ex->len, ==, 2);
  g_assert_cmpstr (((HippoExample *) ex->pdata[0])->content_hash, ==, h1);
  g_assert_cmpstr (((HippoExample *) ex->pdata[1])->content_hash, ==, h2);
  g_clear_pointer (&ex, g_ptr_array_unref);
  g_assert_cmpint (label (p, "dog", "/m2.png", h1), ==, HIPPO_EXAMPLE_ADDED);
  g_assert_false (hippo_project_set_multi_label (p, FALSE, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE);
  g_assert_nonnull (strstr (error->message, "1 images"));
  g_clear_error (&error);
  g_assert_true (hippo_project_get_multi_label (p, &error));
  g_assert_true (
    hippo_project_remove_examples_by_hash (p, h1, "dog", &n, &error));
  g_assert_cmpuint (n, ==, 1);
  g_assert_true (
    hippo_project_set_bool (p, HIPPO_SETTING_MULTI_LABEL, FALSE, &error));
  g_assert_no_error (error);
  g_assert_false (hippo_project_get_multi_label (p, &error));
}

/* Feature cache: exact round trip; damaged entries are errors. */
static void
test_features (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p = new_project (f->path);
  g_autofree char *h = fake_hash ("img%d", 1);
  g_autofree char *h2 = fake_hash ("img%d", 2);
  float v[1280], *got = NULL;
  guint dim = 7;
  guint64 n = 0;

  for (guint i = 0; i < G_N_ELEMENTS (v); i++)
    v[i] = (float) sin (i * 0.37) * (float) (i + 1) / 7.0f;
  v[0] = 0.0f;
  v[1] = -0.0f;
  v[2] = FLT_MIN / 8; /* subnormal */
  v[3] = FLT_MAX;
  v[4] = -FLT_MAX;
  v[5] = 1.0f / 3.0f;

  /* Miss: TRUE without features. */
  g_assert_true (hippo_project_get_features (p, h, "m@1", "out_relu", 1, &got,
                                             &dim, &error));
  g_assert_no_error (error);
  g_assert_null (got);
  g_assert_cmpuint (dim, ==, 0);

  g_assert_true (hippo_project_put_features (p, h, "m@1", "out_relu", 1, v,
                                             G_N_ELEMENTS (v), &error));
  g_assert_no_error (error);
  g_assert_true (hippo_project_get_features (p, h, "m@1", "out_relu", 1, &got,
                                             &dim, &error));
  g_assert_cmpuint (dim, ==, G_N_ELEMENTS (v));
  g_assert_cmpmem (got, dim * 4, v, sizeof v); /* bit for bit */
  g_clear_pointer (&got, g_free);
  /* Every key part counts. */
  g_assert_true (hippo_project_get_features (p, h, "m@2", "out_relu", 1, &got,
                                             &dim, &error));
  g_assert_null (got);
  g_assert_true (
    hippo_project_get_features (p, h, "m@1", "other", 1, &got, &dim, &error));
  g_assert_null (got);
  g_assert_true (hippo_project_get_features (p, h, "m@1", "out_relu", 2, &got,
                                             &dim, &error));
  g_assert_null (got);
  /* Replace with a different length. */
  g_assert_true (
    hippo_project_put_features (p, h, "m@1", "out_relu", 1, v, 3, &error));
  g_assert_true (hippo_project_get_features (p, h, "m@1", "out_relu", 1, &got,
                                             &dim, &error));
  g_assert_cmpuint (dim, ==, 3);
  g_clear_pointer (&got, g_free);
  /* Little-endian on disk. */
  {
    float one = 1.0f;

    g_assert_true (hippo_project_put_features (p, h2, "m@1", "out_relu", 1,
                                               &one, 1, &error));
    g_assert_cmpint (raw_int (f->path, "SELECT hex (data) = '0000803F'"
                                       " FROM features WHERE dim = 1"),
                     ==, 1);
  }
  /* Bad input. */
  v[7] = INFINITY;
  g_assert_false (
    hippo_project_put_features (p, h, "m@1", "l", 1, v, 10, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (
    hippo_project_put_features (p, h, "m@1", "l", 1, v, 0, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (
    hippo_project_put_features (p, "x", "m@1", "l", 1, v, 1, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* Tampered entries: wrong length, wrong type, absurd dim, NaN. */
  {
    static const char *const tamper[] = {
      "UPDATE features SET data = zeroblob (10) WHERE dim = 3",
      "UPDATE features SET data = 'text' WHERE dim = 3",
      "UPDATE features SET dim = -1 WHERE dim = 3",
      "UPDATE features SET dim = 'x', data = zeroblob (12) WHERE dim = 3",
      "UPDATE features SET data = x'0000803F0000C07F00000000' WHERE dim = 3",
      "UPDATE features SET dim = 4294967299 WHERE dim = 3",
    };

    for (guint i = 0; i < G_N_ELEMENTS (tamper); i++)
      {
        g_assert_true (hippo_project_put_features (p, h, "m@1", "out_relu", 1,
                                                   v, 3, &error));
        raw_exec (f->path, tamper[i]);
        g_assert_false (hippo_project_get_features (p, h, "m@1", "out_relu", 1,
                                                    &got, &dim, &error));
        g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
        g_assert_null (got);
        g_test_message ("tamper %u: %s", i, error->message);
        g_clear_error (&error);
      }
  }
  g_assert_true (hippo_project_clear_features (p, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);
  g_assert_true (hippo_project_get_features (p, h2, "m@1", "out_relu", 1, &got,
                                             &dim, &error));
  g_assert_null (got);
  g_assert_true (
    hippo_project_put_features (p, h2, "m@1", "out_relu", 1, v, 2, &error));
  g_assert_no_error (error);
}

/* The trained head and its stale flag. */
static void
test_head (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p = new_project (f->path);
  g_autoptr (HippoHeadRecord) r = NULL;
  g_autoptr (GBytes) blob = g_bytes_new ("\0\1\2head\xff", 8);
  g_autofree char *h = fake_hash ("img%d", 1);
  g_autofree char *h0 = NULL;
  gint64 rev;

  r = hippo_project_load_head (p, &error);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE);
  g_assert_null (r);
  g_clear_error (&error);

  add_class (p, "cat");
  label (p, "cat", "/a.png", h);
  rev = revision (p);
  g_assert_true (hippo_project_save_head (p, blob, "{\"accuracy\": 0.9}", "m@1",
                                          "out_relu", rev, &error));
  g_assert_no_error (error);
  r = hippo_project_load_head (p, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (r->blob, blob));
  g_assert_cmpstr (r->metrics_json, ==, "{\"accuracy\": 0.9}");
  g_assert_cmpstr (r->model_id, ==, "m@1");
  g_assert_cmpstr (r->layer, ==, "out_relu");
  g_assert_cmpint (r->labels_revision, ==, rev);
  g_assert_cmpint (r->trained_at, >, 1700000000);
  g_assert_false (r->stale);
  g_clear_pointer (&r, hippo_head_record_free);

  /* Not stale after changes that are no label change. */
  label (p, "cat", "/a.png", h);
  label (p, "cat", "/moved/a.png", h);
  g_assert_true (hippo_project_set_string (p, "x", "y", &error));
  add_class (p, "dog");
  g_assert_true (hippo_project_rename_class (p, "dog", "Dog", &error));
  g_assert_true (hippo_project_set_class_colour (p, "Dog", "#123456", &error));
  add_class (p, "empty");
  g_assert_true (hippo_project_remove_class (p, "empty", FALSE, NULL, &error));
  g_assert_no_error (error);
  r = hippo_project_load_head (p, &error);
  g_assert_false (r->stale);
  g_clear_pointer (&r, hippo_head_record_free);

  /* Stale after each kind of label change, fresh after saving again. */
  h0 = fake_hash ("other%d", 0);
  for (int step = 0; step < 6; step++)
    {
      g_autofree char *h2 = fake_hash ("other%d", step);

      switch (step)
        {
          case 0:
            label (p, "Dog", NULL, h2); /* added */
            break;
          case 1:
            g_assert_cmpint (label (p, "cat", NULL, h0), ==,
                             HIPPO_EXAMPLE_MOVED);
            break;
          case 2:
            g_assert_true (hippo_project_remove_examples_by_path (
              p, "/moved/a.png", NULL, NULL, &error));
            break;
          case 3:
            g_assert_true (hippo_project_set_multi_label (p, TRUE, &error));
            break;
          case 4:
            g_assert_true (hippo_project_set_multi_label (p, FALSE, &error));
            break;
          case 5:
            label (p, "Dog", NULL, h2);
            g_assert_true (
              hippo_project_remove_class (p, "Dog", TRUE, NULL, &error));
            break;
        }
      g_assert_no_error (error);
      r = hippo_project_load_head (p, &error);
      g_assert_no_error (error);
      g_assert_true (r->stale);
      g_clear_pointer (&r, hippo_head_record_free);
      g_assert_true (hippo_project_save_head (p, blob, NULL, "m@1", "l",
                                              revision (p), &error));
      r = hippo_project_load_head (p, &error);
      g_assert_false (r->stale);
      g_assert_null (r->metrics_json);
      g_clear_pointer (&r, hippo_head_record_free);
    }
  /* An empty blob stays an empty blob; delete. */
  {
    g_autoptr (GBytes) empty = g_bytes_new (NULL, 0);

    g_assert_true (
      hippo_project_save_head (p, empty, NULL, "m", "l", 0, &error));
    r = hippo_project_load_head (p, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (g_bytes_get_size (r->blob), ==, 0);
    g_assert_true (r->stale);
    g_clear_pointer (&r, hippo_head_record_free);
  }
  g_assert_true (hippo_project_delete_head (p, &error));
  r = hippo_project_load_head (p, &error);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE);
  g_clear_error (&error);
  /* A malformed head row. */
  g_assert_true (hippo_project_save_head (p, blob, NULL, "m", "l", 0, &error));
  raw_exec (f->path, "UPDATE head SET blob = 'text', trained_at = 'x'");
  r = hippo_project_load_head (p, &error);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
}

/* Batches: 1000 labels in one transaction; rollback; a failed write inside
 * a batch is undone alone. */
static void
test_batch (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p = new_project (f->path);
  gint64 t0, t1, rev;

  add_class (p, "cat");
  rev = revision (p);
  t0 = g_get_monotonic_time ();
  g_assert_true (hippo_project_begin (p, &error));
  for (int i = 0; i < 1000; i++)
    {
      g_autofree char *h = fake_hash ("img%d", i);
      g_autofree char *path = g_strdup_printf ("/photos/%d.jpg", i);

      label (p, "cat", path, h);
    }
  /* A failing write inside: undone alone, the batch goes on. */
  {
    g_autofree char *h = fake_hash ("bad%d", 0);

    g_assert_false (hippo_project_add_example (
      p, "nope", "/b", h, HIPPO_EXAMPLE_SOURCE_FILE, NULL, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND);
    g_clear_error (&error);
    g_assert_false (hippo_project_add_class (p, "cat", NULL, NULL, &error));
    g_clear_error (&error);
  }
  g_assert_false (hippo_project_begin (p, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE);
  g_clear_error (&error);
  /* Another connection does not see it yet. */
  {
    g_autoptr (HippoProject) q
      = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_READ_ONLY, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (class_count (q, "cat"), ==, 0);
  }
  g_assert_true (hippo_project_commit (p, &error));
  g_assert_no_error (error);
  t1 = g_get_monotonic_time ();
  g_test_message ("1000 labels in one batch: %.1f ms", (t1 - t0) / 1000.0);
  g_assert_cmpuint (class_count (p, "cat"), ==, 1000);
  g_assert_cmpint (revision (p), ==, rev + 1000);
  g_assert_false (hippo_project_commit (p, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE);
  g_clear_error (&error);

  /* Rollback, and free with an open batch, keep nothing. */
  g_assert_true (hippo_project_begin (p, &error));
  for (int i = 0; i < 10; i++)
    {
      g_autofree char *h = fake_hash ("rb%d", i);

      label (p, "cat", NULL, h);
    }
  add_class (p, "dog");
  hippo_project_rollback (p);
  hippo_project_rollback (p);
  g_assert_cmpuint (class_count (p, "cat"), ==, 1000);
  g_assert_true (hippo_project_begin (p, &error));
  add_class (p, "dog");
  g_clear_pointer (&p, hippo_project_free);
  p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  {
    g_autoptr (GPtrArray) list = hippo_project_list_classes (p, &error);

    g_assert_cmpuint (list->len, ==, 1);
  }
  /* Single writes, each its own transaction, for comparison. */
  t0 = g_get_monotonic_time ();
  for (int i = 0; i < 50; i++)
    {
      g_autofree char *h = fake_hash ("single%d", i);

      label (p, "cat", NULL, h);
    }
  t1 = g_get_monotonic_time ();
  g_test_message ("50 labels one transaction each: %.1f ms",
                  (t1 - t0) / 1000.0);
}

/* The schema 1 layout, frozen as released. */
static const char v1_schema[]
  = "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value);"
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
    "CREATE INDEX examples_path ON examples (path);"
    "PRAGMA application_id = 1213224007;" /* "HPTG" */
    "PRAGMA user_version = 1;";

static void
make_v1 (const char *path)
{
  G_STATIC_ASSERT (HIPPO_PROJECT_APPLICATION_ID == 1213224007);
  g_autofree char *h1 = fake_hash ("img%d", 1);
  g_autofree char *h2 = fake_hash ("img%d", 2);
  g_autofree char *sql = g_strdup_printf (
    "%s"
    "INSERT INTO meta VALUES ('created_by', 'Hippotag 0.0.1');"
    "INSERT INTO settings VALUES ('model', 'mobilenet_v2'), "
    " ('multi_label', 0);"
    "INSERT INTO classes VALUES (1, 'cat', '#4e79a7', 0),"
    " (2, 'dög', '#f28e2b', 1);"
    "INSERT INTO examples VALUES (1, 1, '/a.png', '%s', 1700000001),"
    " (2, 2, NULL, '%s', 1700000002);",
    v1_schema, h1, h2);

  raw_exec (path, sql);
}

/* Migration from schema 1 keeps everything and adds the new parts. */
static void
test_migrate (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p = NULL;
  g_autoptr (GPtrArray) ex = NULL;
  g_autofree char *before = NULL;
  g_autofree char *h = fake_hash ("img%d", 1);
  g_autofree char *s = NULL;
  float v = 2.5f, *got = NULL;
  guint dim = 0;

  make_v1 (f->path);
  before = file_sha (f->path);
  /* Read-only cannot migrate: refused, file untouched. */
  p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_READ_ONLY, &error);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "upgrade"));
  g_clear_error (&error);
  {
    g_autofree char *after = file_sha (f->path);

    g_assert_cmpstr (after, ==, before);
  }

  p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (raw_int (f->path, "PRAGMA user_version"), ==,
                   HIPPO_PROJECT_SCHEMA_VERSION);
  g_assert_cmpint (raw_int (f->path, "SELECT value FROM meta WHERE key ="
                                     " 'migrated_from'"),
                   ==, 1);
  ex = hippo_project_list_examples (p, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ex->len, ==, 2);
  g_assert_cmpstr (((HippoExample *) ex->pdata[0])->path, ==, "/a.png");
  g_assert_cmpstr (((HippoExample *) ex->pdata[0])->content_hash, ==, h);
  g_assert_cmpint (((HippoExample *) ex->pdata[0])->added_at, ==, 1700000001);
  g_assert_cmpint (((HippoExample *) ex->pdata[0])->source, ==,
                   HIPPO_EXAMPLE_SOURCE_FILE);
  g_assert_cmpstr (((HippoExample *) ex->pdata[1])->class_name, ==, "dög");
  g_assert_null (((HippoExample *) ex->pdata[1])->path);
  s = hippo_project_get_string (p, HIPPO_SETTING_MODEL, NULL, &error);
  g_assert_cmpstr (s, ==, "mobilenet_v2");
  g_assert_cmpint (revision (p), >=, 1);
  g_assert_true (hippo_project_put_features (p, h, "m", "l", 1, &v, 1, &error));
  g_assert_true (
    hippo_project_get_features (p, h, "m", "l", 1, &got, &dim, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (got[0], ==, 2.5f);
  g_free (got);
  g_clear_pointer (&p, hippo_project_free);
  /* Reopening does not migrate again. */
  before = (g_free (before), file_sha (f->path));
  p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_READ_ONLY, &error);
  g_assert_no_error (error);
  g_clear_pointer (&p, hippo_project_free);
  {
    g_autofree char *after = file_sha (f->path);

    g_assert_cmpstr (after, ==, before);
  }

  /* A file with our id and version 0 (nothing in it) is a new project. */
  g_unlink (f->path);
  raw_exec (f->path, "PRAGMA application_id = 1213224007");
  p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (revision (p), ==, 1);
  g_clear_pointer (&p, hippo_project_free);

  /* A migration that fails (here: a v1 file whose examples already have a
   * source column) leaves the file as it was. */
  g_unlink (f->path);
  make_v1 (f->path);
  raw_exec (f->path, "ALTER TABLE examples ADD COLUMN source TEXT");
  before = (g_free (before), file_sha (f->path));
  p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_DEFAULT, &error);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
  g_test_message ("failed migration: %s", error->message);
  g_clear_error (&error);
  g_assert_cmpint (raw_int (f->path, "PRAGMA user_version"), ==, 1);
  g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM examples"), ==, 2);
}

static void
test_newer (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p = new_project (f->path);
  g_autofree char *before = NULL;

  g_clear_pointer (&p, hippo_project_free);
  raw_exec (f->path, "PRAGMA user_version = 99;"
                     "UPDATE meta SET value = 'Hippotag 9.0' WHERE key ="
                     " 'last_written_by'");
  before = file_sha (f->path);
  for (int ro = 0; ro < 2; ro++)
    {
      p = hippo_project_open (
        f->path, ro ? HIPPO_PROJECT_OPEN_READ_ONLY : HIPPO_PROJECT_OPEN_CREATE,
        &error);
      g_assert_null (p);
      g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
      g_assert_nonnull (
        strstr (error->message, "written by a newer Hippotag (schema 99 > 2"));
      g_assert_nonnull (strstr (error->message, "Hippotag 9.0"));
      g_clear_error (&error);
    }
  {
    g_autofree char *after = file_sha (f->path);

    g_assert_cmpstr (after, ==, before);
  }
}

/* Files that are no project: open fails with a clear error and the file is
 * not modified. */
static void
test_not_a_project (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  guint8 noise[8192];
  struct
  {
    const char *name;
    const char *expect;
  } cases[] = {
    { "random", "not an SQLite database" },
    { "text", "not an SQLite database" },
    { "empty", "is empty" },
    { "sqlite-other", "not a Hippotag project" },
    { "sqlite-otherid", "application id 0x12345678" },
    { "sqlite-header-only", "not an SQLite database" },
    { "folder", "not a regular file" },
  };

  for (guint i = 0; i < sizeof noise; i++)
    noise[i] = g_rand_int (rand);
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autofree char *path
        = g_strdup_printf ("%s/%s.hippotag", f->dir, cases[c].name);
      g_autofree char *before = NULL;

      if (c == 0)
        g_file_set_contents (path, (char *) noise, sizeof noise, NULL);
      else if (c == 1)
        g_file_set_contents (path, "cat,dog\n1,2\n", -1, NULL);
      else if (c == 2)
        g_file_set_contents (path, "", 0, NULL);
      else if (c == 3)
        raw_exec (path, "CREATE TABLE classes (x); INSERT INTO classes"
                        " VALUES (1)");
      else if (c == 4)
        raw_exec (path, "PRAGMA application_id = 305419896;"
                        "CREATE TABLE t (x)");
      else if (c == 5)
        {
          /* The SQLite magic then noise. */
          memcpy (noise, "SQLite format 3", 16);
          g_file_set_contents (path, (char *) noise, sizeof noise, NULL);
        }
      else
        g_mkdir (path, 0755);
      if (c != 6)
        before = file_sha (path);
      for (int ro = 0; ro < 2; ro++)
        {
          p = hippo_project_open (path,
                                  ro ? HIPPO_PROJECT_OPEN_READ_ONLY
                                     : HIPPO_PROJECT_OPEN_DEFAULT,
                                  &error);
          g_assert_null (p);
          g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
          g_test_message ("%s: %s", cases[c].name, error->message);
          if (strstr (error->message, cases[c].expect) == NULL)
            g_error ("%s: expected \"%s\" in \"%s\"", cases[c].name,
                     cases[c].expect, error->message);
          g_clear_error (&error);
        }
      if (before != NULL)
        {
          g_autofree char *after = file_sha (path);
          g_autofree char *wal = g_strconcat (path, "-wal", NULL);

          g_assert_cmpstr (after, ==, before);
          g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
        }
      /* CREATE does not take over anything but an empty file. */
      p = hippo_project_open (path, HIPPO_PROJECT_OPEN_CREATE, &error);
      if (c == 2)
        {
          g_assert_no_error (error);
          g_assert_nonnull (p);
          g_clear_pointer (&p, hippo_project_free);
        }
      else
        {
          g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
          g_clear_error (&error);
        }
    }
}

/* Exercises every read call; the project may be damaged: each call either
 * works or fails with a HIPPO_ERROR. Returns how many failed. */
static int
read_everything (HippoProject *p, const char *hash)
{
  g_autoptr (GError) error = NULL;
  int failed = 0;
  float *v = NULL;
  guint dim;
  gint64 r;
  GPtrArray *a;
  HippoHeadRecord *h;
  char *s;

#define CHECK(ok)                                                              \
  G_STMT_START                                                                 \
  {                                                                            \
    if (!(ok))                                                                 \
      {                                                                        \
        g_assert_nonnull (error);                                              \
        g_assert_true (error->domain == HIPPO_ERROR);                          \
        failed++;                                                              \
      }                                                                        \
    g_clear_error (&error);                                                    \
  }                                                                            \
  G_STMT_END

  a = hippo_project_list_classes (p, &error);
  CHECK (a != NULL);
  g_clear_pointer (&a, g_ptr_array_unref);
  a = hippo_project_list_examples (p, NULL, &error);
  CHECK (a != NULL);
  g_clear_pointer (&a, g_ptr_array_unref);
  a = hippo_project_find_examples_by_hash (p, hash, &error);
  CHECK (a != NULL);
  g_clear_pointer (&a, g_ptr_array_unref);
  a = hippo_project_find_examples_by_path (p, "/photos/1.jpg", &error);
  CHECK (a != NULL);
  g_clear_pointer (&a, g_ptr_array_unref);
  CHECK (hippo_project_get_features (p, hash, "m@1", "l", 1, &v, &dim, &error));
  g_clear_pointer (&v, g_free);
  CHECK (hippo_project_get_labels_revision (p, &r, &error));
  h = hippo_project_load_head (p, &error);
  CHECK (h != NULL || error->code == HIPPO_ERROR_STATE);
  hippo_head_record_free (h);
  s = hippo_project_get_string (p, HIPPO_SETTING_MODEL, "x", &error);
  CHECK (s != NULL);
  g_free (s);
  CHECK (hippo_project_check (p, &error));
#undef CHECK
  return failed;
}

/* A project with a few pages of everything. */
static void
fill_project (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p = new_project (path);
  g_autoptr (GBytes) blob = g_bytes_new_static ("head", 4);
  float v[256];

  for (guint i = 0; i < G_N_ELEMENTS (v); i++)
    v[i] = i * 0.5f;
  add_class (p, "cat");
  add_class (p, "dog");
  g_assert_true (
    hippo_project_set_string (p, HIPPO_SETTING_MODEL, "m", &error));
  g_assert_true (hippo_project_begin (p, &error));
  for (int i = 0; i < 200; i++)
    {
      g_autofree char *h = fake_hash ("img%d", i);
      g_autofree char *path_i = g_strdup_printf ("/photos/%d.jpg", i);

      label (p, i % 2 ? "cat" : "dog", path_i, h);
    }
  /* The cache after the labels: its pages are last in the file. */
  for (int i = 0; i < 200; i++)
    {
      g_autofree char *h = fake_hash ("img%d", i);

      g_assert_true (hippo_project_put_features (p, h, "m@1", "l", 1, v,
                                                 G_N_ELEMENTS (v), &error));
    }
  g_assert_true (hippo_project_commit (p, &error));
  g_assert_true (
    hippo_project_save_head (p, blob, "{}", "m@1", "l", 1, &error));
  g_assert_no_error (error);
}

/* Truncated and bit-flipped projects: clear errors, never a crash. */
static void
test_damaged (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *orig = NULL;
  g_autofree char *hash = fake_hash ("img%d", 1);
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);
  gsize len;
  int n_open_failed = 0, n_read_failed = 0, n_ok = 0;

  fill_project (f->path);
  g_assert_true (g_file_get_contents (f->path, &orig, &len, NULL));
  g_assert_cmpuint (len % 4096, ==, 0);
  g_test_message ("project of %" G_GSIZE_FORMAT " bytes", len);

  /* Truncations, at page boundaries and inside pages. */
  for (gsize cut = 0; cut < len; cut += (cut < 8192 ? 1000 : 4096 * 7 + 13))
    {
      g_autoptr (HippoProject) p = NULL;

      g_assert_true (g_file_set_contents (f->path, orig, cut, NULL));
      p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_DEFAULT, &error);
      if (p == NULL)
        {
          g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
          n_open_failed++;
          g_clear_error (&error);
          continue;
        }
      /* Opened: the damage must show as errors on reading. */
      g_assert_cmpint (read_everything (p, hash), >, 0);
      n_read_failed++;
    }
  g_test_message ("truncations: %d refused on open, %d failed on read",
                  n_open_failed, n_read_failed);

  /* The full-check flag refuses a file whose feature cache is damaged,
   * which a plain open accepts (the small tables are fine). */
  {
    g_autoptr (HippoProject) p = NULL;
    g_autofree char *copy = g_memdup2 (orig, len);

    /* Garbage over the page headers (or overflow links) of the last
     * pages, which hold cached features. */
    for (int k = 1; k <= 8; k++)
      memset (copy + len - 4096 * k, 0x5a, 8);
    g_assert_true (g_file_set_contents (f->path, copy, len, NULL));
    p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_DEFAULT, &error);
    g_assert_no_error (error);
    g_assert_cmpint (read_everything (p, hash), >, 0);
    g_clear_pointer (&p, hippo_project_free);
    p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_CHECK, &error);
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
    g_test_message ("checked open: %s", error->message);
    g_clear_error (&error);
  }

  /* Random byte damage. */
  n_open_failed = n_read_failed = 0;
  for (int trial = 0; trial < 300; trial++)
    {
      g_autoptr (HippoProject) p = NULL;
      g_autofree char *copy = g_memdup2 (orig, len);
      int n_flips = 1 + g_rand_int_range (rand, 0, 16);

      for (int k = 0; k < n_flips; k++)
        {
          /* Mostly in the first pages, where the schema and small tables
           * live. */
          gsize at = g_rand_boolean (rand)
                       ? g_rand_int_range (rand, 0, MIN (len, 16384))
                       : g_rand_int_range (rand, 0, len);

          copy[at] = g_rand_int (rand);
        }
      g_assert_true (g_file_set_contents (f->path, copy, len, NULL));
      p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_DEFAULT, &error);
      if (p == NULL)
        {
          g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
          n_open_failed++;
          g_clear_error (&error);
          continue;
        }
      if (read_everything (p, hash) > 0)
        n_read_failed++;
      else
        n_ok++;
    }
  g_test_message ("random damage: %d refused on open, %d failed on read, "
                  "%d read fine",
                  n_open_failed, n_read_failed, n_ok);
}

/* READ_ONLY: reading works, every write fails clearly, the file is not
 * touched. */
static void
test_read_only_flag (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p = NULL;
  g_autofree char *before = NULL;
  g_autofree char *h = fake_hash ("img%d", 1);
  g_autoptr (GBytes) blob = g_bytes_new_static ("x", 1);
  float v = 1;

  fill_project (f->path);
  before = file_sha (f->path);
  p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_READ_ONLY, &error);
  g_assert_no_error (error);
  g_assert_true (hippo_project_is_read_only (p));
  g_assert_cmpint (read_everything (p, h), ==, 0);
  g_assert_cmpuint (class_count (p, "cat"), ==, 100);

#define WRITE_FAILS(call)                                                      \
  G_STMT_START                                                                 \
  {                                                                            \
    g_assert_false (call);                                                     \
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);                  \
    g_assert_nonnull (strstr (error->message, "read-only"));                   \
    g_clear_error (&error);                                                    \
  }                                                                            \
  G_STMT_END

  WRITE_FAILS (hippo_project_add_class (p, "bird", NULL, NULL, &error));
  WRITE_FAILS (hippo_project_rename_class (p, "cat", "Cat", &error));
  WRITE_FAILS (hippo_project_remove_class (p, "cat", TRUE, NULL, &error));
  WRITE_FAILS (hippo_project_add_example (
    p, "cat", "/z", h, HIPPO_EXAMPLE_SOURCE_FILE, NULL, &error));
  WRITE_FAILS (
    hippo_project_remove_examples_by_hash (p, h, NULL, NULL, &error));
  WRITE_FAILS (hippo_project_put_features (p, h, "m", "l", 1, &v, 1, &error));
  WRITE_FAILS (hippo_project_save_head (p, blob, NULL, "m", "l", 1, &error));
  WRITE_FAILS (hippo_project_set_int (p, "k", 1, &error));
  WRITE_FAILS (hippo_project_begin (p, &error));
  WRITE_FAILS (hippo_project_clear_features (p, NULL, &error));
#undef WRITE_FAILS
  g_clear_pointer (&p, hippo_project_free);
  {
    g_autofree char *after = file_sha (f->path);

    g_assert_cmpstr (after, ==, before);
  }
  g_assert_cmpuint (raw_int (f->path, "SELECT count(*) FROM examples"), ==,
                    200);
}

/* Opens path as the current user and checks: opens read-only, reads, and
 * refuses writes with a clear message. */
static void
check_not_writable (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p = NULL;
  g_autofree char *h = fake_hash ("img%d", 1);

  p = hippo_project_open (path, HIPPO_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_true (hippo_project_is_read_only (p));
  g_assert_cmpint (read_everything (p, h), ==, 0);
  g_assert_cmpuint (class_count (p, "dog"), ==, 100);
  g_assert_false (hippo_project_add_class (p, "bird", NULL, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
  g_assert_nonnull (strstr (error->message, "not writable"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_clear_pointer (&p, hippo_project_free);
  p = hippo_project_open (path, HIPPO_PROJECT_OPEN_READ_ONLY, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (class_count (p, "cat"), ==, 100);
}

/* The folder shared with subprocess re-runs of a test (set before any
 * thread exists: setenv is not thread-safe). */
static char *
shared_dir (const char *name)
{
  const char *base = g_getenv ("HIPPO_TEST_BASE");
  char *dir;

  g_assert_nonnull (base);
  dir = g_build_filename (base, name, NULL);
  return dir;
}

static const char *const ro_cases[] = { "file", "folder", "folder-rw-file" };

/* Read-only by permissions: a 0444 file in a writable folder, a 0444 file
 * in a 0555 folder, a 0666 file in a 0555 folder. Root ignores
 * permissions, so as root the checks run in a child that becomes
 * nobody. */
static void
test_read_only_perms (Fixture *f, gconstpointer data)
{
  guint c = GPOINTER_TO_UINT (data);
  g_autofree char *sub = NULL;
  g_autofree char *path = NULL;
  g_autofree char *before = NULL;
  g_autoptr (GDir) d = NULL;

  sub = shared_dir (ro_cases[c]);
  /* A name that needs escaping in the immutable URI. */
  path = g_build_filename (sub, "p\xff?#%.hippotag", NULL);
  if (g_test_subprocess ())
    {
      if (getuid () == 0 && (setgid (65534) != 0 || setuid (65534) != 0))
        {
          g_printerr ("cannot become nobody: %s\n", g_strerror (errno));
          exit (1);
        }
      check_not_writable (path);
      return;
    }

  g_mkdir (sub, 0755);
  fill_project (path);
  before = file_sha (path);
  if (c == 0)
    {
      g_chmod (sub, 0777);
      g_chmod (path, 0444);
    }
  else if (c == 1)
    {
      g_chmod (path, 0444);
      g_chmod (sub, 0555);
    }
  else
    {
      g_chmod (path, 0666); /* the file is writable, its folder not */
      g_chmod (sub, 0555);
    }
  if (getuid () != 0)
    check_not_writable (path);
  else
    {
      g_test_message ("running as root: checking as nobody in a child");
      g_test_trap_subprocess (NULL, 0,
                              G_TEST_SUBPROCESS_INHERIT_STDOUT
                                | G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
    }
  {
    g_autofree char *after = file_sha (path);

    g_assert_cmpstr (after, ==, before);
  }
  /* No -wal or -shm left behind where they could not be made. */
  if (c != 0)
    {
      d = g_dir_open (sub, 0, NULL);
      g_assert_cmpstr (g_dir_read_name (d), ==, "p\xff?#%.hippotag");
      g_assert_null (g_dir_read_name (d));
    }
}

/* A writer holding the lock beyond the busy timeout: a clear error; a
 * reader goes on. */
static void
test_locked (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) a = new_project (f->path);
  g_autoptr (HippoProject) b = NULL;
  g_autofree char *h = fake_hash ("img%d", 1);
  gint64 t0, waited;

  add_class (a, "cat");
  b = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  hippo_project_set_busy_timeout (b, 300);
  g_assert_true (hippo_project_begin (a, &error));
  label (a, "cat", "/a.png", h);

  t0 = g_get_monotonic_time ();
  g_assert_false (hippo_project_add_class (b, "dog", NULL, NULL, &error));
  waited = g_get_monotonic_time () - t0;
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
  g_assert_nonnull (strstr (error->message, "locked"));
  g_test_message ("%s (after %.0f ms)", error->message, waited / 1000.0);
  g_assert_cmpint (waited, >=, 250000);
  g_clear_error (&error);
  /* Reading is not blocked, and sees the last commit. */
  g_assert_cmpuint (class_count (b, "cat"), ==, 0);
  g_assert_false (hippo_project_begin (b, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
  g_clear_error (&error);
  /* A fresh open while locked works (nothing to migrate). */
  {
    g_autoptr (HippoProject) c
      = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_DEFAULT, &error);

    g_assert_no_error (error);
  }
  g_assert_true (hippo_project_commit (a, &error));
  g_assert_cmpuint (class_count (b, "cat"), ==, 1);
  add_class (b, "dog");
}

typedef struct
{
  const char *path;
  int id;
  int n;
  int errors;
} Worker;

/* Labels n images into class w<id>, one transaction each, reading and
 * caching features in between. */
static gpointer
worker (gpointer data)
{
  Worker *w = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p = NULL;
  g_autofree char *cls = g_strdup_printf ("w%d", w->id);
  float v[64];

  p = hippo_project_open (w->path, HIPPO_PROJECT_OPEN_CREATE, &error);
  if (p == NULL)
    {
      g_printerr ("worker %d: %s\n", w->id, error->message);
      w->errors++;
      return NULL;
    }
  if (!hippo_project_add_class (p, cls, NULL, NULL, &error))
    {
      g_printerr ("worker %d: %s\n", w->id, error->message);
      w->errors++;
      return NULL;
    }
  for (int i = 0; i < w->n; i++)
    {
      g_autofree char *h = fake_hash (w->id ? "b%d" : "a%d", i);
      g_autoptr (GPtrArray) list = NULL;
      float *got = NULL;
      guint dim;

      for (guint k = 0; k < G_N_ELEMENTS (v); k++)
        v[k] = i + k * 0.25f + w->id;
      if (!hippo_project_add_example (p, cls, NULL, h,
                                      HIPPO_EXAMPLE_SOURCE_GIMP, NULL, &error)
          || !hippo_project_put_features (p, h, "m", "l", 1, v,
                                          G_N_ELEMENTS (v), &error)
          || !hippo_project_get_features (p, h, "m", "l", 1, &got, &dim, &error)
          || (list = hippo_project_list_classes (p, &error)) == NULL)
        {
          g_printerr ("worker %d, %d: %s\n", w->id, i, error->message);
          g_clear_error (&error);
          w->errors++;
          continue;
        }
      if (got == NULL || dim != G_N_ELEMENTS (v)
          || memcmp (got, v, sizeof v) != 0)
        w->errors++;
      g_free (got);
    }
  return NULL;
}

static void
check_workers (const char *path, int n)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p
    = hippo_project_open (path, HIPPO_PROJECT_OPEN_DEFAULT, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (class_count (p, "w0"), ==, n);
  g_assert_cmpuint (class_count (p, "w1"), ==, n);
  /* 1 at creation, 2n labels. */
  g_assert_cmpint (revision (p), ==, 1 + 2 * n);
  g_assert_true (hippo_project_check (p, &error));
  g_assert_no_error (error);
}

/* Two threads create the same project at once and write concurrently. */
static void
test_concurrent_threads (Fixture *f, gconstpointer data)
{
  Worker w[2] = { { f->path, 0, 300, 0 }, { f->path, 1, 300, 0 } };
  GThread *t[2];

  for (int i = 0; i < 2; i++)
    t[i] = g_thread_new ("worker", worker, &w[i]);
  for (int i = 0; i < 2; i++)
    g_thread_join (t[i]);
  g_assert_cmpint (w[0].errors, ==, 0);
  g_assert_cmpint (w[1].errors, ==, 0);
  check_workers (f->path, 300);
}

/* The same with two processes (as GIMP and the CLI). */
static void
test_concurrent_processes (Fixture *f, gconstpointer data)
{
  pid_t pid[2];

  for (int i = 0; i < 2; i++)
    {
      pid[i] = fork ();
      g_assert_cmpint (pid[i], >=, 0);
      if (pid[i] == 0)
        {
          Worker w = { f->path, i, 300, 0 };

          worker (&w);
          _exit (w.errors == 0 ? 0 : 1);
        }
    }
  for (int i = 0; i < 2; i++)
    {
      int status = 0;

      g_assert_cmpint (waitpid (pid[i], &status, 0), ==, pid[i]);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    }
  check_workers (f->path, 300);
}

/* A full disk (simulated with RLIMIT_FSIZE in a child) while writing:
 * errors, and the project keeps every earlier commit. */
static void
test_disk_full (Fixture *f, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (HippoProject) p = NULL;
      g_autofree char *dir = shared_dir ("disk-full");
      g_autofree char *path = g_build_filename (dir, "p.hippotag", NULL);
      struct rlimit rl;
      GStatBuf st;
      float v[1280] = { 0 };
      gboolean failed = FALSE;

      signal (SIGXFSZ, SIG_IGN);
      p = hippo_project_open (path, HIPPO_PROJECT_OPEN_DEFAULT, &error);
      g_assert_no_error (error);
      g_assert_cmpint (g_stat (path, &st), ==, 0);
      rl.rlim_cur = rl.rlim_max = st.st_size + 64 * 1024;
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &rl), ==, 0);
      /* One big batch: fails somewhere, nothing of it kept. */
      g_assert_true (hippo_project_begin (p, &error));
      for (int i = 0; i < 2000 && !failed; i++)
        {
          g_autofree char *h = fake_hash ("full%d", i);

          if (!hippo_project_put_features (p, h, "m", "l", 1, v,
                                           G_N_ELEMENTS (v), &error))
            {
              g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
              g_printerr ("put %d: %s\n", i, error->message);
              g_clear_error (&error);
              failed = TRUE;
            }
        }
      if (hippo_project_commit (p, &error))
        {
          g_printerr ("commit worked?\n");
          exit (1);
        }
      g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
      g_printerr ("commit: %s\n", error->message);
      g_clear_error (&error);
      /* Single writes: some may fit; each either works or fails whole. */
      for (int i = 0; i < 200; i++)
        {
          g_autofree char *h = fake_hash ("single%d", i);

          if (!hippo_project_put_features (p, h, "m", "l", 1, v,
                                           G_N_ELEMENTS (v), &error))
            {
              g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
              g_printerr ("single %d: %s\n", i, error->message);
              g_clear_error (&error);
              break;
            }
        }
      /* exit () skips the autoptr cleanups: free what leak checkers see */
      g_clear_pointer (&p, hippo_project_free);
      g_clear_pointer (&dir, g_free);
      g_clear_pointer (&path, g_free);
      exit (0);
    }

  g_autofree char *dir = shared_dir ("disk-full");

  g_free (f->path);
  f->path = g_build_filename (dir, "p.hippotag", NULL);
  g_mkdir (dir, 0755);
  fill_project (f->path);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*commit: *");
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (HippoProject) p
      = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_CHECK, &error);
    g_autofree char *h = fake_hash ("img%d", 3);

    g_assert_no_error (error);
    g_assert_cmpuint (class_count (p, "cat"), ==, 100);
    g_assert_cmpuint (class_count (p, "dog"), ==, 100);
    g_assert_cmpint (read_everything (p, h), ==, 0);
    g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM features WHERE"
                                       " content_hash IN (SELECT content_hash"
                                       " FROM examples)"),
                     ==, 200);
    g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM features WHERE"
                                       " dim = 1280 AND length (data) !="
                                       " 5120"),
                     ==, 0);
  }
}

/* SHA-256 of files, hostile cases, and the hash cache. */
static void
test_hash (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p = new_project (f->path);
  g_autofree char *abc = g_build_filename (f->dir, "abc.png", NULL);
  g_autofree char *empty = g_build_filename (f->dir, "empty", NULL);
  g_autofree char *big = g_build_filename (f->dir, "big", NULL);
  g_autofree char *fifo = g_build_filename (f->dir, "fifo", NULL);
  g_autofree char *missing = g_build_filename (f->dir, "missing", NULL);
  g_autofree char *bigdata = g_malloc (3 * 1024 * 1024 + 17);
  g_autofree char *h = NULL;
  g_autofree char *want = NULL;
  g_autofree char *sql = NULL;

  g_file_set_contents (abc, "abc", 3, NULL);
  g_file_set_contents (empty, "", 0, NULL);
  for (gsize i = 0; i < 3 * 1024 * 1024 + 17; i++)
    bigdata[i] = (char) (i * 7 + (i >> 11));
  g_file_set_contents (big, bigdata, 3 * 1024 * 1024 + 17, NULL);

  /* FIPS 180-2 test vectors. */
  h = hippo_file_hash (abc, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (h, ==,
                   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9c"
                   "b410ff61f20015ad");
  g_clear_pointer (&h, g_free);
  h = hippo_file_hash (empty, &error);
  g_assert_cmpstr (h, ==,
                   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c"
                   "a495991b7852b855");
  g_clear_pointer (&h, g_free);
  h = hippo_file_hash (big, &error);
  want = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) bigdata,
                                      3 * 1024 * 1024 + 17);
  g_assert_cmpstr (h, ==, want);
  g_clear_pointer (&h, g_free);

  h = hippo_file_hash (missing, &error);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "missing"));
  g_clear_error (&error);
  h = hippo_file_hash (f->dir, &error);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  h = hippo_file_hash (fifo, &error); /* must not hang */
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  h = hippo_project_hash_file (p, fifo, &error);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (h);

  /* Through the cache: the first call stores (at once inside a batch),
   * the second reads the cache (proved by tampering with the stored hash),
   * a changed file is hashed again. */
  g_assert_true (hippo_project_begin (p, &error));
  h = hippo_project_hash_file (p, abc, &error);
  g_assert_true (hippo_project_commit (p, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (h, ==,
                   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9c"
                   "b410ff61f20015ad");
  g_clear_pointer (&h, g_free);
  g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM file_hashes"), ==,
                   1);
  sql = g_strdup_printf ("UPDATE file_hashes SET content_hash = '%s'", want);
  raw_exec (f->path, sql);
  h = hippo_project_hash_file (p, abc, &error);
  g_assert_cmpstr (h, ==, want);
  g_clear_pointer (&h, g_free);
  g_usleep (20000);
  g_file_set_contents (abc, "abd", 3, NULL);
  h = hippo_project_hash_file (p, abc, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (h, !=, want);
  g_assert_cmpstr (h, !=,
                   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9c"
                   "b410ff61f20015ad");
  g_clear_pointer (&h, g_free);
  /* A garbage cache entry is ignored. */
  raw_exec (f->path, "UPDATE file_hashes SET content_hash = 'nonsense'");
  h = hippo_project_hash_file (p, abc, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (h), ==, 64);
  g_clear_pointer (&h, g_free);
  /* Many files outside a batch: written in groups, and on close. */
  {
    g_autoptr (HippoProject) q = new_project (f->path);
    g_autofree char *sub = g_build_filename (f->dir, "many", NULL);
    g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
    gint64 n0 = raw_int (f->path, "SELECT count(*) FROM file_hashes");

    g_mkdir (sub, 0755);
    for (int i = 0; i < 300; i++)
      {
        char *fp = g_strdup_printf ("%s/%d.png", sub, i);

        g_file_set_contents (fp, fp, -1, NULL);
        g_ptr_array_add (paths, fp);
      }
    for (guint i = 0; i < paths->len; i++)
      {
        g_autofree char *got
          = hippo_project_hash_file (q, paths->pdata[i], &error);
        g_autofree char *exp = g_compute_checksum_for_string (
          G_CHECKSUM_SHA256, paths->pdata[i], -1);

        g_assert_no_error (error);
        g_assert_cmpstr (got, ==, exp);
      }
    g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM file_hashes"), ==,
                     n0 + 256);
    /* Pending entries answer too. */
    for (guint i = 0; i < paths->len; i++)
      {
        g_autofree char *got
          = hippo_project_hash_file (q, paths->pdata[i], &error);

        g_assert_cmpuint (strlen (got), ==, 64);
      }
    g_clear_pointer (&q, hippo_project_free);
    g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM file_hashes"), ==,
                     n0 + 300);
  }
  /* Read-only: hashes without writing. */
  {
    g_autoptr (HippoProject) q
      = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_READ_ONLY, &error);

    h = hippo_project_hash_file (q, big, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (h, ==, want);
  }
}

/* Cost of the whole-file check against the per-open checks, with a
 * feature cache of 5000 images x 1280 floats (25 MB). */
static void
test_check_cost (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoProject) p = new_project (f->path);
  float v[1280];
  gint64 t0;
  double t_open, t_check, t_checked_open;
  GStatBuf st;

  if (!g_test_perf ())
    {
      g_test_skip ("timing only with -m perf");
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (v); i++)
    v[i] = i;
  add_class (p, "cat");
  g_assert_true (hippo_project_begin (p, &error));
  for (int i = 0; i < 5000; i++)
    {
      g_autofree char *h = fake_hash ("img%d", i);

      v[0] = i;
      if (i < 1000)
        label (p, "cat", NULL, h);
      g_assert_true (hippo_project_put_features (p, h, "m", "l", 1, v,
                                                 G_N_ELEMENTS (v), &error));
    }
  g_assert_true (hippo_project_commit (p, &error));
  g_clear_pointer (&p, hippo_project_free);
  g_stat (f->path, &st);

  t0 = g_get_monotonic_time ();
  p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_DEFAULT, &error);
  t_open = (g_get_monotonic_time () - t0) / 1000.0;
  t0 = g_get_monotonic_time ();
  g_assert_true (hippo_project_check (p, &error));
  t_check = (g_get_monotonic_time () - t0) / 1000.0;
  g_clear_pointer (&p, hippo_project_free);
  t0 = g_get_monotonic_time ();
  p = hippo_project_open (f->path, HIPPO_PROJECT_OPEN_CHECK, &error);
  t_checked_open = (g_get_monotonic_time () - t0) / 1000.0;
  g_assert_no_error (error);
  g_test_minimized_result (t_open, "open %.1f ms", t_open);
  g_test_message ("%.1f MB, 1000 examples, 5000 cached features: open %.1f "
                  "ms, quick_check %.1f ms, open with CHECK %.1f ms",
                  st.st_size / 1e6, t_open, t_check, t_checked_open);
}

int
main (int argc, char **argv)
{
  g_autofree char *base = NULL;
  int rc;

  g_test_init (&argc, &argv, NULL);
  if (!g_test_subprocess ())
    {
      base = g_dir_make_tmp ("hippo-project-shared-XXXXXX", NULL);
      g_assert_nonnull (base);
      g_chmod (base, 0755);
      g_setenv ("HIPPO_TEST_BASE", base, TRUE);
    }

#define ADD(name, fn)                                                          \
  g_test_add ("/project/" name, Fixture, NULL, fixture_setup, fn,              \
              fixture_teardown)
  ADD ("create-reopen", test_create_reopen);
  ADD ("classes", test_classes);
  ADD ("examples", test_examples);
  ADD ("features", test_features);
  ADD ("head", test_head);
  ADD ("batch", test_batch);
  ADD ("migrate", test_migrate);
  ADD ("newer", test_newer);
  ADD ("not-a-project", test_not_a_project);
  ADD ("damaged", test_damaged);
  ADD ("read-only-flag", test_read_only_flag);
  for (guint c = 0; c < G_N_ELEMENTS (ro_cases); c++)
    {
      g_autofree char *name
        = g_strdup_printf ("/project/read-only-perms/%s", ro_cases[c]);

      g_test_add (name, Fixture, GUINT_TO_POINTER (c), fixture_setup,
                  test_read_only_perms, fixture_teardown);
    }
  ADD ("locked", test_locked);
  ADD ("concurrent-threads", test_concurrent_threads);
  ADD ("concurrent-processes", test_concurrent_processes);
  ADD ("disk-full", test_disk_full);
  ADD ("hash", test_hash);
  ADD ("check-cost", test_check_cost);
#undef ADD
  rc = g_test_run ();
  if (base != NULL)
    rm_rf (base);
  return rc;
}
