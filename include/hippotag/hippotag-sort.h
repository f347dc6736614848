/* Hippotag — sorting files into class folders, journaled and undoable.
 *
 * Every action is written (and fsynced) to a journal before it is done, and
 * marked done after. The journal is a text file of JSON lines; a path that
 * is not UTF-8 is stored as "src_hex"/"dest_hex" (its bytes in hex).
 *
 * Guarantees: no file is ever overwritten (a name clash gets "-1", "-2", ...
 * before the extension, placed with no-clobber calls, so racing writers
 * cannot be overwritten either); a move within one file system is a single
 * rename(2), so a file is at every instant in exactly one of its old or new
 * places; a move across file systems copies to a temporary name in the
 * destination folder, fsyncs file and folder, verifies the copy (SHA-256 of
 * the source read against a re-read of the copy), renames it into place
 * and only then unlinks the source.
 *
 * Recovery rule (hippo_sort_recover(), also run by hippo_sort_journal_open()
 * on an existing journal and by hippo_sort_undo()): an action that was begun
 * but not marked done rolls FORWARD when its destination holds a complete
 * copy whose bytes equal the source (the source is then unlinked for a move)
 * and BACK otherwise (its temporary file is removed, the source stays).
 * Only a move across file systems killed between "placed" and "unlink" can
 * leave a file in both places; after recovery every file exists exactly
 * once, and a re-run of the sort finishes the rest.
 */
#ifndef HIPPOTAG_SORT_H
#define HIPPOTAG_SORT_H

#include <hippotag/hippotag-common.h>

G_BEGIN_DECLS

/**
 * HIPPO_SORT_UNSURE_DEFAULT:
 *
 * The default name of the folder for files below the confidence threshold.
 */
#define HIPPO_SORT_UNSURE_DEFAULT "unsure"

/**
 * HippoSortAction:
 * @HIPPO_SORT_COPY: copy into the class folder (verified, the source stays).
 * @HIPPO_SORT_MOVE: move into the class folder. A source that is a symbolic
 *   link is refused.
 * @HIPPO_SORT_SYMLINK: make a symbolic link to the source's absolute path.
 * @HIPPO_SORT_HARDLINK: make a hard link (same file system only; otherwise
 *   %HIPPO_ERROR_INVALID_ARGUMENT suggesting symlink or copy).
 *
 * What hippo_sort_file() does with a file.
 */
typedef enum
{
  HIPPO_SORT_COPY,
  HIPPO_SORT_MOVE,
  HIPPO_SORT_SYMLINK,
  HIPPO_SORT_HARDLINK,
} HippoSortAction;

/**
 * HippoSortUnsure:
 * @HIPPO_SORT_UNSURE_FOLDER: an unsure file goes to the @unsure_name folder.
 * @HIPPO_SORT_UNSURE_LEAVE: an unsure file stays where it is.
 *
 * What happens to a file without a confident class.
 */
typedef enum
{
  HIPPO_SORT_UNSURE_FOLDER,
  HIPPO_SORT_UNSURE_LEAVE,
} HippoSortUnsure;

/**
 * HippoSortParams:
 * @action: copy (default), move, symlink or hard link.
 * @dest_root: the folder that receives one folder per class (created if
 *   missing; a relative path is taken from the current folder). Not owned.
 * @unsure: what to do with unsure files (default: the unsure folder).
 * @unsure_name: the unsure folder's name, default
 *   %HIPPO_SORT_UNSURE_DEFAULT. Not owned.
 * @dry_run: work out each destination, change nothing, journal nothing.
 *
 * Options of hippo_sort_file(). Initialise with hippo_sort_params_default()
 * and set @dest_root.
 */
typedef struct
{
  HippoSortAction action;
  const char *dest_root;
  HippoSortUnsure unsure;
  const char *unsure_name;
  gboolean dry_run;
} HippoSortParams;

/**
 * hippo_sort_params_default:
 * @params: (out): parameters to fill: copy, no destination (must be set),
 *   unsure files into "unsure", no dry run.
 */
void hippo_sort_params_default (HippoSortParams *params);

/**
 * HippoSortJournal:
 *
 * An open journal, appended to by hippo_sort_file(). Holds an exclusive
 * lock on the journal file: one writer at a time.
 */
typedef struct _HippoSortJournal HippoSortJournal;

/**
 * hippo_sort_journal_open:
 * @path: the journal file; created if missing, appended to if it exists
 *   (after hippo_sort_recover() has settled any action a crash interrupted).
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: (transfer full): the journal, to close with
 *   hippo_sort_journal_close(), or %NULL with %HIPPO_ERROR_IO (cannot
 *   create, or another process holds it), %HIPPO_ERROR_FAILED (not a
 *   Hippotag journal, or a malformed line other than a torn last one, which
 *   a crash can leave and which is dropped).
 */
HippoSortJournal *hippo_sort_journal_open (const char *path, GError **error);

/**
 * hippo_sort_journal_close:
 * @journal: (nullable): a journal; %NULL is a no-op.
 *
 * Releases the lock and frees the journal. Every record is already on disk.
 */
void hippo_sort_journal_close (HippoSortJournal *journal);

/**
 * hippo_sort_journal_get_path:
 * @journal: a journal.
 *
 * Returns: (transfer none): the journal's file path.
 */
const char *hippo_sort_journal_get_path (const HippoSortJournal *journal);

/**
 * hippo_sort_file:
 * @journal: (nullable): the journal; may be %NULL only in a dry run (where
 *   it also remembers names planned earlier, so clashes show as suffixes).
 * @src: the file to sort (a regular file, or a symlink to one except for a
 *   move).
 * @class_label: (nullable): the class; %NULL means unsure. A '/' in it
 *   becomes '_', and "." or ".." get a leading '_', so it always names one
 *   folder directly below @dest_root.
 * @params: options; @dest_root must be set.
 * @dest_out: (out) (optional) (transfer full): where the file is now (or
 *   would be, in a dry run); @src itself when it stays (unsure with
 *   %HIPPO_SORT_UNSURE_LEAVE, or already in its class folder). Free with
 *   g_free().
 * @error: return location for a #GError, or %NULL.
 *
 * Sorts one file into DEST_ROOT/CLASS/, journaling before acting. Folders
 * it creates are journaled too, so that undo removes them when empty. When
 * the journal shows this file already copied or linked into that folder
 * (and the copy or link is still what was made), nothing is done again and
 * @dest_out names it: re-running an interrupted sort only does the rest.
 * A journal is used by one thread at a time.
 *
 * Returns: %TRUE on success. %FALSE, with the source untouched and nothing
 *   left behind, with %HIPPO_ERROR_NOT_FOUND (no source),
 *   %HIPPO_ERROR_INVALID_ARGUMENT (not a regular file, a class name too
 *   long, hard link across file systems), %HIPPO_ERROR_IO (cannot read,
 *   write or verify; the source changed during a move).
 */
gboolean hippo_sort_file (HippoSortJournal *journal, const char *src,
                          const char *class_label,
                          const HippoSortParams *params, char **dest_out,
                          GError **error);

/**
 * hippo_sort_recover:
 * @journal_path: a journal file.
 * @error: return location for a #GError, or %NULL.
 *
 * Settles every action a crash left between "begin" and "done" by the
 * recovery rule above and records the outcome. Safe to run any number of
 * times, and itself safe to interrupt.
 *
 * Returns: %TRUE on success; %FALSE with the hippo_sort_journal_open()
 *   errors, or %HIPPO_ERROR_IO when a file could not be settled (it is then
 *   left in place, never deleted).
 */
gboolean hippo_sort_recover (const char *journal_path, GError **error);

/**
 * hippo_sort_undo:
 * @journal_path: a journal file.
 * @progress: (nullable) (scope call): called after each action undone.
 * @user_data: data for @progress.
 * @error: return location for a #GError, or %NULL.
 *
 * Undoes every action in the journal, newest first: moves files back (a
 * verified copy across file systems), removes the copies and links it made
 * (only when still identical to what was made: a copy edited since stays),
 * then removes the folders it created when they are empty. Each step is
 * recorded, judged by what is on disk, and never overwrites a file, so an
 * undo that was interrupted (even by a crash) can simply be run again.
 *
 * Returns: %TRUE when everything was restored; %FALSE with
 *   %HIPPO_ERROR_CANCELLED (@progress said stop; everything done so far is
 *   consistent), the hippo_sort_journal_open() errors, or %HIPPO_ERROR_IO
 *   naming how many files could not be restored (e.g. their old place is
 *   taken, or they were deleted since); the rest were restored.
 */
gboolean hippo_sort_undo (const char *journal_path, HippoProgressFunc progress,
                          gpointer user_data, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoSortJournal, hippo_sort_journal_close)

G_END_DECLS

#endif /* HIPPOTAG_SORT_H */
