/* Private: the parts of the sorting module (sort.c, sort-files.c,
 * sort-journal.c, sort-undo.c) and its fault-injection hooks for the crash
 * tests. */
#ifndef HIPPO_SORT_PRIVATE_H
#define HIPPO_SORT_PRIVATE_H

#include "hippotag/hippotag-sort.h"

#include <sys/stat.h>

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define HIPPO_SORT_COPY_CHUNK (1 << 17)

/* One action, as the journal tells it. */
typedef struct
{
  gint64 id;
  HippoSortAction action;
  char *src;    /* absolute */
  char *dest;   /* absolute; the latest after clashes */
  char *token;  /* 16 hex digits naming its temporary files */
  char *sha256; /* of the bytes copied, when copied */
  gboolean done;
  gboolean aborted;
  gboolean undone;
} HippoSortEntry;

struct _HippoSortJournal
{
  char *path;
  int fd;
  gint64 next_id;
  GPtrArray *entries;  /* HippoSortEntry*, in journal order */
  GHashTable *by_id;   /* id -> HippoSortEntry* */
  GHashTable *by_src;  /* source path -> its latest HippoSortEntry* */
  GPtrArray *mkdirs;   /* folders created, in order */
  GHashTable *planned; /* dry run: destinations handed out */
  int crash_at;
  int crash_count;
};

/* "copy", "move", "symlink", "hardlink", indexed by HippoSortAction. */
extern const char *const hippo_sort_action_names[4];

/* ---- sort-files.c: file-system steps ---- */

void hippo_sort_set_errno_error (GError **error, int err, const char *what,
                                 const char *path);
gboolean hippo_sort_fsync_dir (const char *dir, GError **error);
gboolean hippo_sort_fsync_parent (const char *path, GError **error);
gboolean hippo_sort_exists (const char *path);
/* Removes a leftover temporary file, if there is one. */
gboolean hippo_sort_remove_temp (const char *path, GError **error);
gboolean hippo_sort_write_all (int fd, const char *buf, gsize len);
/* SHA-256 (hex) of a file's bytes. */
char *hippo_sort_hash_file (const char *path, GError **error);
/* Same file, or regular files with equal bytes (FALSE if unreadable). */
gboolean hippo_sort_same_content (const char *a, const char *b);
gboolean hippo_sort_same_inode (const char *a, const char *b);
gboolean hippo_sort_is_our_symlink (const char *link, const char *target);
/* Copies IN into a new file TMP (O_EXCL) with the mode and times of ST
 * (and owner when KEEP_OWNER), syncs it and reads it back to verify;
 * *sha_out gets the SHA-256 of the bytes. TMP is removed on failure. */
gboolean hippo_sort_copy_verified (int in, const struct stat *st,
                                   const char *src, const char *tmp,
                                   gboolean keep_owner, char **sha_out,
                                   GError **error);
/* rename(2) that never replaces (sets errno, EEXIST on a clash). */
int hippo_sort_rename_noreplace (const char *from, const char *to);
/* DIR_OF's folder / ".hippotag-TOKEN" SUFFIX. */
char *hippo_sort_temp_path (const char *dir_of, const char *token,
                            const char *suffix);

/* ---- sort-journal.c: records and recovery ---- */

void hippo_sort_entry_free (gpointer entry);
/* A crash-test point: see hippo_sort_journal_set_crash_point(). */
void hippo_sort_crash_point (HippoSortJournal *j);
JsonObject *hippo_sort_record_new (const char *op, gint64 id);
/* A path member, as KEY (UTF-8) or KEY_hex (other bytes). */
void hippo_sort_set_path_member (JsonObject *o, const char *key,
                                 const char *path);
/* Appends a record, fsynced when SYNC; a failed write is cut off again. */
gboolean hippo_sort_journal_write (HippoSortJournal *j, JsonObject *o,
                                   gboolean sync, GError **error);
gboolean hippo_sort_write_simple (HippoSortJournal *j, const char *op,
                                  HippoSortEntry *e, gboolean sha,
                                  gboolean sync, GError **error);
/* Records "done" or "abort" (fsynced) and marks E so. */
gboolean hippo_sort_write_mark (HippoSortJournal *j, HippoSortEntry *e,
                                const char *op, GError **error);
/* Settles an action begun but neither done nor aborted, by the recovery
 * rule. */
gboolean hippo_sort_settle (HippoSortJournal *j, HippoSortEntry *e,
                            GError **error);

/* ---- fault injection (tests) ---- */

/* The process kills itself with SIGKILL on reaching its Nth crash point
 * (1-based; 0 never). Crash points sit between every journal record, file
 * system step and sync of hippo_sort_file(). */
void hippo_sort_journal_set_crash_point (HippoSortJournal *journal, int n);

/* Crash points passed so far (to learn how many a run has). */
int hippo_sort_journal_get_crash_count (const HippoSortJournal *journal);

/* hippo_sort_undo() with a crash point as above; *n_points_out (optional)
 * receives the number of crash points passed. */
gboolean hippo_sort_undo_with_crash_point (const char *journal_path, int n,
                                           int *n_points_out, GError **error);

G_END_DECLS

#endif /* HIPPO_SORT_PRIVATE_H */
