/* Private parts of the project file shared by project*.c. */
#ifndef HIPPO_PROJECT_PRIVATE_H
#define HIPPO_PROJECT_PRIVATE_H

#include <sqlite3.h>
#include <sys/stat.h>

#include "hippotag/hippotag-project.h"

struct _HippoProject
{
  sqlite3 *db;
  char *path;
  char *abs_path; /* what SQLite opens */
  char *display;  /* UTF-8 form of path, for messages */
  gboolean read_only;
  gboolean read_only_asked; /* opened with READ_ONLY, not by permissions */
  gboolean in_batch;        /* hippo_project_begin() is open */
  int write_depth;          /* nested write_begin calls; > 1: savepoints */
  gboolean wrote_meta;      /* last_written_by updated by this connection */
  int busy_timeout;
  int last_rc;                /* SQLite code of the last error reported */
  GHashTable *pending_hashes; /* abs path -> hash cache entry to write */
  GHashTable *stmts;          /* SQL text -> sqlite3_stmt*, prepared once */
};

/* The features table as made by migrations and by clear_features. */
#define HIPPO_PRJ_FEATURES_TABLE_SQL                                           \
  "CREATE TABLE features ("                                                    \
  " content_hash TEXT NOT NULL,"                                               \
  " model_id TEXT NOT NULL,"                                                   \
  " layer TEXT NOT NULL,"                                                      \
  " preprocess_version INTEGER NOT NULL,"                                      \
  " dim INTEGER NOT NULL,"                                                     \
  " data BLOB NOT NULL,"                                                       \
  " PRIMARY KEY (content_hash, model_id, layer, preprocess_version))"

void hippo_prj_set_error (HippoProject *p, int rc, const char *what,
                          GError **error);
void hippo_prj_malformed (HippoProject *p, const char *what, const char *detail,
                          GError **error);
sqlite3_stmt *hippo_prj_stmt (HippoProject *p, const char *sql,
                              const char *what, GError **error);
void hippo_prj_stmt_done (sqlite3_stmt *stmt);
gboolean hippo_prj_run (HippoProject *p, sqlite3_stmt *stmt, const char *what,
                        GError **error);
gboolean hippo_prj_exec (HippoProject *p, const char *sql, const char *what,
                         GError **error);
gboolean hippo_prj_query_int (HippoProject *p, const char *sql,
                              const char *what, gint64 *out, GError **error);
gboolean hippo_prj_write_begin (HippoProject *p, const char *what,
                                GError **error);
gboolean hippo_prj_write_end (HippoProject *p, gboolean ok, const char *what,
                              GError **error);
void hippo_prj_flush_hashes (HippoProject *p);
/* The hash cache alone, for hashes computed elsewhere (the file pipeline
 * hashes on its own threads): the cached hash of the file at the absolute
 * path abs when its stat still matches, else NULL, without reading it; and
 * recording the hash of a file that did not change while it was read (st:
 * its state then), as hippo_project_hash_file() does. */
char *hippo_prj_cached_file_hash (HippoProject *p, const char *abs);
void hippo_prj_remember_file_hash (HippoProject *p, const char *abs,
                                   const struct stat *st, const char *hash);
gboolean hippo_prj_bump_revision (HippoProject *p, GError **error);
gboolean hippo_prj_normalize_hash (const char *in,
                                   char out[HIPPO_HASH_HEX_LEN + 1],
                                   GError **error);
gboolean hippo_prj_is_hash (const char *s);
char *hippo_prj_absolute_path (const char *path);
gboolean hippo_prj_bind_text (HippoProject *p, sqlite3_stmt *stmt, int i,
                              const char *text, const char *what,
                              GError **error);

#endif /* HIPPO_PROJECT_PRIVATE_H */
