/* Hippotag — the project file (NAME.hippotag): an SQLite database holding
 * settings, classes, labelled examples, a feature cache and the trained head.
 *
 * Safe for several processes at once (GIMP and the CLI): WAL journal, every
 * write in a short IMMEDIATE transaction, a busy timeout. A HippoProject is
 * used by one thread at a time; each thread or process opens its own.
 */
#ifndef HIPPOTAG_PROJECT_H
#define HIPPOTAG_PROJECT_H

#include <hippotag/hippotag-common.h>

G_BEGIN_DECLS

/**
 * HIPPO_PROJECT_SCHEMA_VERSION:
 *
 * The schema version this library writes (PRAGMA user_version). Older files
 * are migrated on a read-write open; newer ones are refused.
 */
#define HIPPO_PROJECT_SCHEMA_VERSION 2

/**
 * HIPPO_PROJECT_APPLICATION_ID:
 *
 * PRAGMA application_id of every project file ("HPTG").
 */
#define HIPPO_PROJECT_APPLICATION_ID 0x48505447

/**
 * HIPPO_PROJECT_BUSY_TIMEOUT_DEFAULT:
 *
 * Milliseconds a call waits for another process's write before failing with
 * %HIPPO_ERROR_PROJECT.
 */
#define HIPPO_PROJECT_BUSY_TIMEOUT_DEFAULT 5000

/**
 * HIPPO_HASH_HEX_LEN:
 *
 * Length of a content hash: SHA-256 as lowercase hex.
 */
#define HIPPO_HASH_HEX_LEN 64

/**
 * HIPPO_PROJECT_MAX_FEATURE_DIM:
 *
 * The longest feature vector the cache stores or accepts from a file.
 */
#define HIPPO_PROJECT_MAX_FEATURE_DIM (1u << 20)

/**
 * HIPPO_CLASS_NAME_MAX:
 *
 * Longest class name in bytes (it becomes a folder name when sorting).
 */
#define HIPPO_CLASS_NAME_MAX 200

/* Well-known settings keys. Any key of [a-z0-9_.-], up to 64 bytes, may be
 * used; these are the ones the library and the tools share. */

/** HIPPO_SETTING_MODEL: string, the model name or path given to init. */
#define HIPPO_SETTING_MODEL "model"
/** HIPPO_SETTING_MODEL_ID: string, hippo_model_get_id() of that model. */
#define HIPPO_SETTING_MODEL_ID "model_id"
/** HIPPO_SETTING_LAYERS: string, the feature layer spec. */
#define HIPPO_SETTING_LAYERS "layers"
/** HIPPO_SETTING_MULTI_LABEL: boolean (int 0/1), default 0; see
 * hippo_project_set_multi_label(). */
#define HIPPO_SETTING_MULTI_LABEL "multi_label"
/** HIPPO_SETTING_UNSURE_THRESHOLD: double, confidence below which a result is
 * "unsure". */
#define HIPPO_SETTING_UNSURE_THRESHOLD "unsure_threshold"
/** HIPPO_SETTING_KEYWORD_PARENT: string, parent of hierarchical keywords,
 * default %HIPPO_DEFAULT_KEYWORD_PARENT (written at creation). */
#define HIPPO_SETTING_KEYWORD_PARENT "keyword_parent"
/** HIPPO_DEFAULT_KEYWORD_PARENT: the default of %HIPPO_SETTING_KEYWORD_PARENT.
 */
#define HIPPO_DEFAULT_KEYWORD_PARENT "Hippotag"

/**
 * HippoProject:
 *
 * An open project file. Opaque.
 */
typedef struct _HippoProject HippoProject;

/**
 * HippoProjectOpenFlags:
 * @HIPPO_PROJECT_OPEN_DEFAULT: open an existing project read-write (falls
 *   back to read-only when the file or its folder cannot be written; every
 *   write then fails with %HIPPO_ERROR_PROJECT).
 * @HIPPO_PROJECT_OPEN_CREATE: create the file when it does not exist or is
 *   empty (0 bytes, or an SQLite database with no tables and no
 *   application id). An existing project is opened as usual.
 * @HIPPO_PROJECT_OPEN_READ_ONLY: never write the file; older schemas are
 *   refused (they need a migration). Works in read-only folders.
 * @HIPPO_PROJECT_OPEN_CHECK: run PRAGMA quick_check over the whole file on
 *   open (its cost grows with the feature cache; without it the small
 *   tables are checked on every open, the caches on every read).
 *
 * Flags of hippo_project_open().
 */
typedef enum
{
  HIPPO_PROJECT_OPEN_DEFAULT = 0,
  HIPPO_PROJECT_OPEN_CREATE = 1 << 0,
  HIPPO_PROJECT_OPEN_READ_ONLY = 1 << 1,
  HIPPO_PROJECT_OPEN_CHECK = 1 << 2,
} HippoProjectOpenFlags;

/**
 * HippoClassInfo:
 * @id: the class's row id (stable across renames).
 * @name: its name (NFC-normalised UTF-8).
 * @colour: "#rrggbb".
 * @position: its place in listings (ascending).
 * @n_examples: how many examples it has.
 *
 * A class as listed by hippo_project_list_classes(). Free with
 * hippo_class_info_free().
 */
typedef struct
{
  gint64 id;
  char *name;
  char *colour;
  int position;
  guint n_examples;
} HippoClassInfo;

/**
 * HippoExampleSource:
 * @HIPPO_EXAMPLE_SOURCE_FILE: labelled from a file; the hash is over its
 *   bytes.
 * @HIPPO_EXAMPLE_SOURCE_GIMP: labelled in GIMP, maybe without a file; the
 *   hash is over its pixels.
 *
 * Where an example came from.
 */
typedef enum
{
  HIPPO_EXAMPLE_SOURCE_FILE,
  HIPPO_EXAMPLE_SOURCE_GIMP,
} HippoExampleSource;

/**
 * HippoExample:
 * @id: its row id.
 * @class_id: its class's id.
 * @class_name: its class's name.
 * @path: (nullable): the absolute file it was labelled from, or %NULL.
 * @content_hash: SHA-256 hex of the file bytes or of the pixels.
 * @source: where it came from.
 * @added_at: when it was labelled (Unix time, seconds).
 *
 * A labelled example. Free with hippo_example_free().
 */
typedef struct
{
  gint64 id;
  gint64 class_id;
  char *class_name;
  char *path;
  char content_hash[HIPPO_HASH_HEX_LEN + 1];
  HippoExampleSource source;
  gint64 added_at;
} HippoExample;

/**
 * HippoExampleChange:
 * @HIPPO_EXAMPLE_UNCHANGED: it already had that label.
 * @HIPPO_EXAMPLE_ADDED: a new label.
 * @HIPPO_EXAMPLE_MOVED: the image (or the file at that path) had another
 *   class, which this label replaced (single-label mode), or an older
 *   content of the same path was replaced.
 *
 * What hippo_project_add_example() did.
 */
typedef enum
{
  HIPPO_EXAMPLE_UNCHANGED,
  HIPPO_EXAMPLE_ADDED,
  HIPPO_EXAMPLE_MOVED,
} HippoExampleChange;

/**
 * HippoHeadRecord:
 * @blob: the head as serialised by the head module (opaque here).
 * @metrics_json: (nullable): its metrics as JSON text.
 * @model_id: the model whose features it was trained on.
 * @layer: the feature layer spec it was trained on.
 * @trained_at: when (Unix time, seconds).
 * @labels_revision: the labels revision it was trained on.
 * @stale: %TRUE when the labels changed since (the project's labels
 *   revision differs from @labels_revision).
 *
 * The trained head, as returned by hippo_project_load_head(). Free with
 * hippo_head_record_free().
 */
typedef struct
{
  GBytes *blob;
  char *metrics_json;
  char *model_id;
  char *layer;
  gint64 trained_at;
  gint64 labels_revision;
  gboolean stale;
} HippoHeadRecord;

/**
 * hippo_project_open:
 * @path: the project file (any bytes the file system accepts).
 * @flags: #HippoProjectOpenFlags.
 * @error: return location for a #GError, or %NULL.
 *
 * Opens (and with %HIPPO_PROJECT_OPEN_CREATE creates) a project, migrating
 * an older schema in one transaction.
 *
 * Returns: (transfer full): the project, to free with hippo_project_free(),
 *   or %NULL with %HIPPO_ERROR_PROJECT when the file is missing (without
 *   CREATE), not an SQLite database, an SQLite database of another program
 *   ("not a Hippotag project"), corrupted, written by a newer Hippotag,
 *   locked beyond the busy timeout, or unreadable; the message names the
 *   file and the cause. %HIPPO_ERROR_INVALID_ARGUMENT for CREATE with
 *   READ_ONLY.
 */
HippoProject *hippo_project_open (const char *path, HippoProjectOpenFlags flags,
                                  GError **error);

/**
 * hippo_project_free:
 * @project: (nullable): a project. %NULL is a no-op.
 *
 * Closes it. An open batch (hippo_project_begin()) is rolled back.
 */
void hippo_project_free (HippoProject *project);

/**
 * hippo_project_get_path:
 * @project: a project.
 *
 * Returns: the path it was opened with, owned by @project.
 */
const char *hippo_project_get_path (const HippoProject *project);

/**
 * hippo_project_is_read_only:
 * @project: a project.
 *
 * Returns: %TRUE when writes are refused (opened read-only, or the file or
 *   its folder is not writable).
 */
gboolean hippo_project_is_read_only (const HippoProject *project);

/**
 * hippo_project_set_busy_timeout:
 * @project: a project.
 * @ms: milliseconds to wait for another process's lock (0: fail at once).
 *
 * Sets how long calls wait for another writer before failing with
 * %HIPPO_ERROR_PROJECT ("locked"). Default
 * %HIPPO_PROJECT_BUSY_TIMEOUT_DEFAULT.
 */
void hippo_project_set_busy_timeout (HippoProject *project, int ms);

/**
 * hippo_project_check:
 * @project: a project.
 * @error: return location for a #GError, or %NULL.
 *
 * Runs PRAGMA quick_check over the whole file (O(file size)).
 *
 * Returns: %TRUE when it is sound; %FALSE with %HIPPO_ERROR_PROJECT naming
 *   the first problem.
 */
gboolean hippo_project_check (HippoProject *project, GError **error);

/* Batches */

/**
 * hippo_project_begin:
 * @project: a project.
 * @error: return location for a #GError, or %NULL.
 *
 * Starts a batch: every write until hippo_project_commit() is one
 * transaction (one disk sync). While it is open other processes cannot
 * write (they wait up to their busy timeout), so keep it short: commit
 * every few hundred files in long runs. A write that fails inside a batch
 * is undone alone and the batch goes on.
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_PROJECT when read-only
 *   or locked, %HIPPO_ERROR_STATE when a batch is already open.
 */
gboolean hippo_project_begin (HippoProject *project, GError **error);

/**
 * hippo_project_commit:
 * @project: a project.
 * @error: return location for a #GError, or %NULL.
 *
 * Ends the batch, keeping its writes.
 *
 * Returns: %TRUE when they are on disk; %FALSE with %HIPPO_ERROR_PROJECT
 *   when the commit failed or SQLite had to abort the batch earlier (disk
 *   full, I/O error): then nothing of the batch was kept.
 *   %HIPPO_ERROR_STATE when no batch is open.
 */
gboolean hippo_project_commit (HippoProject *project, GError **error);

/**
 * hippo_project_rollback:
 * @project: a project.
 *
 * Ends the batch, dropping its writes. No-op without a batch.
 */
void hippo_project_rollback (HippoProject *project);

/* Settings */

/**
 * hippo_project_get_string:
 * @project: a project.
 * @key: a settings key.
 * @default_value: (nullable): returned when the key is not set.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: (transfer full) (nullable): the value (numbers are converted
 *   to text) or a copy of @default_value; %NULL with @error set on failure
 *   (%HIPPO_ERROR_PROJECT), %NULL without error when unset and
 *   @default_value is %NULL.
 */
char *hippo_project_get_string (HippoProject *project, const char *key,
                                const char *default_value, GError **error);

/**
 * hippo_project_get_int:
 * @project: a project.
 * @key: a settings key.
 * @default_value: stored in @value when the key is not set.
 * @value: (out): the value.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_PROJECT when the
 *   stored value is not an integer or the file fails.
 */
gboolean hippo_project_get_int (HippoProject *project, const char *key,
                                gint64 default_value, gint64 *value,
                                GError **error);

/**
 * hippo_project_get_double:
 * @project: a project.
 * @key: a settings key.
 * @default_value: stored in @value when the key is not set.
 * @value: (out): the value (finite).
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_PROJECT when the
 *   stored value is not a finite number or the file fails.
 */
gboolean hippo_project_get_double (HippoProject *project, const char *key,
                                   double default_value, double *value,
                                   GError **error);

/**
 * hippo_project_get_bool:
 * @project: a project.
 * @key: a settings key.
 * @default_value: stored in @value when the key is not set.
 * @value: (out): the value.
 * @error: return location for a #GError, or %NULL.
 *
 * Booleans are stored as integers 0 and 1.
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_PROJECT when the
 *   stored value is not 0 or 1.
 */
gboolean hippo_project_get_bool (HippoProject *project, const char *key,
                                 gboolean default_value, gboolean *value,
                                 GError **error);

/**
 * hippo_project_set_string:
 * @project: a project.
 * @key: a settings key ([a-z0-9_.-], 1 to 64 bytes).
 * @value: (nullable): UTF-8 text, or %NULL to remove the key.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_INVALID_ARGUMENT for
 *   a bad key or non-UTF-8 value, %HIPPO_ERROR_PROJECT when the write
 *   fails.
 */
gboolean hippo_project_set_string (HippoProject *project, const char *key,
                                   const char *value, GError **error);

/**
 * hippo_project_set_int:
 * @project: a project.
 * @key: a settings key.
 * @value: the value.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: %TRUE on success; errors as hippo_project_set_string().
 */
gboolean hippo_project_set_int (HippoProject *project, const char *key,
                                gint64 value, GError **error);

/**
 * hippo_project_set_double:
 * @project: a project.
 * @key: a settings key.
 * @value: a finite value.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: %TRUE on success; %HIPPO_ERROR_INVALID_ARGUMENT for a
 *   non-finite value; otherwise errors as hippo_project_set_string().
 */
gboolean hippo_project_set_double (HippoProject *project, const char *key,
                                   double value, GError **error);

/**
 * hippo_project_set_bool:
 * @project: a project.
 * @key: a settings key.
 * @value: the value.
 * @error: return location for a #GError, or %NULL.
 *
 * Setting %HIPPO_SETTING_MULTI_LABEL goes through
 * hippo_project_set_multi_label().
 *
 * Returns: %TRUE on success; errors as hippo_project_set_string().
 */
gboolean hippo_project_set_bool (HippoProject *project, const char *key,
                                 gboolean value, GError **error);

/**
 * hippo_project_list_settings:
 * @project: a project.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: (transfer full): a %NULL-terminated array of the keys set,
 *   sorted, to free with g_strfreev(); %NULL with %HIPPO_ERROR_PROJECT.
 */
char **hippo_project_list_settings (HippoProject *project, GError **error);

/**
 * hippo_project_get_multi_label:
 * @project: a project.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: the %HIPPO_SETTING_MULTI_LABEL setting; %FALSE also on error
 *   (check @error).
 */
gboolean hippo_project_get_multi_label (HippoProject *project, GError **error);

/**
 * hippo_project_set_multi_label:
 * @project: a project.
 * @multi_label: in multi-label mode an image may have several classes.
 * @error: return location for a #GError, or %NULL.
 *
 * Switching it off is refused while an image has more than one class.
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_STATE when images
 *   have several classes (the message says how many), %HIPPO_ERROR_PROJECT
 *   when the write fails.
 */
gboolean hippo_project_set_multi_label (HippoProject *project,
                                        gboolean multi_label, GError **error);

/* Classes */

/**
 * hippo_class_info_free:
 * @info: (nullable): a class. %NULL is a no-op.
 */
void hippo_class_info_free (HippoClassInfo *info);

/**
 * hippo_project_add_class:
 * @project: a project.
 * @name: the name: UTF-8, stored NFC-normalised with surrounding white
 *   space removed; 1 to %HIPPO_CLASS_NAME_MAX bytes; no control
 *   characters, '/', '\\' or '|'; not "." or "..".
 * @colour: (nullable): "#rrggbb", or %NULL to pick an unused colour of a
 *   fixed palette.
 * @id: (out) (optional): the new class's id.
 * @error: return location for a #GError, or %NULL.
 *
 * Adds a class at the end of the list. Names are unique ignoring case
 * ("Cat" and "cat" would share a folder on many file systems).
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_INVALID_ARGUMENT for
 *   a bad or taken name or colour, %HIPPO_ERROR_PROJECT when the write
 *   fails.
 */
gboolean hippo_project_add_class (HippoProject *project, const char *name,
                                  const char *colour, gint64 *id,
                                  GError **error);

/**
 * hippo_project_rename_class:
 * @project: a project.
 * @name: the class.
 * @new_name: its new name, with the rules of hippo_project_add_class(); it
 *   may differ from @name in case only.
 * @error: return location for a #GError, or %NULL.
 *
 * Its examples follow. Class ids do not change, so a trained head that
 * maps its outputs to class ids stays valid (not stale).
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_NOT_FOUND when there
 *   is no class @name, %HIPPO_ERROR_INVALID_ARGUMENT when @new_name is bad
 *   or taken by another class, %HIPPO_ERROR_PROJECT when the write fails.
 */
gboolean hippo_project_rename_class (HippoProject *project, const char *name,
                                     const char *new_name, GError **error);

/**
 * hippo_project_set_class_colour:
 * @project: a project.
 * @name: the class.
 * @colour: "#rrggbb".
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_NOT_FOUND,
 *   %HIPPO_ERROR_INVALID_ARGUMENT or %HIPPO_ERROR_PROJECT.
 */
gboolean hippo_project_set_class_colour (HippoProject *project,
                                         const char *name, const char *colour,
                                         GError **error);

/**
 * hippo_project_remove_class:
 * @project: a project.
 * @name: the class.
 * @force: also delete its examples.
 * @n_examples_removed: (out) (optional): how many examples went with it.
 * @error: return location for a #GError, or %NULL.
 *
 * Removes a class. A class that has examples is kept unless @force: losing
 * labels must be asked for.
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_NOT_FOUND when there
 *   is no such class, %HIPPO_ERROR_STATE when it has examples and @force is
 *   %FALSE (the message says how many), %HIPPO_ERROR_PROJECT when the write
 *   fails.
 */
gboolean hippo_project_remove_class (HippoProject *project, const char *name,
                                     gboolean force, guint *n_examples_removed,
                                     GError **error);

/**
 * hippo_project_list_classes:
 * @project: a project.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: (transfer full) (element-type HippoClassInfo): the classes in
 *   position order, with their example counts, freeing its elements; %NULL
 *   with %HIPPO_ERROR_PROJECT.
 */
GPtrArray *hippo_project_list_classes (HippoProject *project, GError **error);

/**
 * hippo_project_lookup_class:
 * @project: a project.
 * @name: a class name, normalised as by hippo_project_add_class(); in any
 *   case (names are unique ignoring case), the exact case first.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: (transfer full): the class, with its stored name, or %NULL with
 *   %HIPPO_ERROR_NOT_FOUND or %HIPPO_ERROR_PROJECT.
 */
HippoClassInfo *hippo_project_lookup_class (HippoProject *project,
                                            const char *name, GError **error);

/* Examples */

/**
 * hippo_example_free:
 * @example: (nullable): an example. %NULL is a no-op.
 */
void hippo_example_free (HippoExample *example);

/**
 * hippo_project_add_example:
 * @project: a project.
 * @class_name: an existing class.
 * @path: (nullable): the file; made absolute (not resolving symlinks), or
 *   %NULL for an image without a file.
 * @content_hash: SHA-256 hex (64 characters; upper case is folded).
 * @source: where it came from.
 * @change: (out) (optional): what happened.
 * @error: return location for a #GError, or %NULL.
 *
 * Labels an image. An image is its content hash: in single-label mode it
 * has one class, and labelling it again moves it; a path too names one
 * example, so labelling a path whose file changed replaces its old
 * content's label. In multi-label mode an image has each class at most
 * once, and a path's older content is replaced within the same class only.
 * The stored path is updated to the latest one. A label added or moved
 * bumps the labels revision (a path update alone does not).
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_NOT_FOUND for an
 *   unknown class, %HIPPO_ERROR_INVALID_ARGUMENT for a malformed hash,
 *   %HIPPO_ERROR_PROJECT when the write fails.
 */
gboolean hippo_project_add_example (HippoProject *project,
                                    const char *class_name, const char *path,
                                    const char *content_hash,
                                    HippoExampleSource source,
                                    HippoExampleChange *change, GError **error);

/**
 * hippo_project_remove_examples_by_path:
 * @project: a project.
 * @path: the file (made absolute as by hippo_project_add_example()).
 * @class_name: (nullable): only this class's label, or %NULL for all.
 * @n_removed: (out) (optional): how many labels were removed (0 when it
 *   had none: not an error).
 * @error: return location for a #GError, or %NULL.
 *
 * Unlabels a file.
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_NOT_FOUND for an
 *   unknown @class_name, %HIPPO_ERROR_PROJECT when the write fails.
 */
gboolean hippo_project_remove_examples_by_path (HippoProject *project,
                                                const char *path,
                                                const char *class_name,
                                                guint *n_removed,
                                                GError **error);

/**
 * hippo_project_remove_examples_by_hash:
 * @project: a project.
 * @content_hash: SHA-256 hex.
 * @class_name: (nullable): only this class's label, or %NULL for all.
 * @n_removed: (out) (optional): how many labels were removed.
 * @error: return location for a #GError, or %NULL.
 *
 * Unlabels an image by content.
 *
 * Returns: as hippo_project_remove_examples_by_path(), and
 *   %HIPPO_ERROR_INVALID_ARGUMENT for a malformed hash.
 */
gboolean hippo_project_remove_examples_by_hash (HippoProject *project,
                                                const char *content_hash,
                                                const char *class_name,
                                                guint *n_removed,
                                                GError **error);

/**
 * hippo_project_list_examples:
 * @project: a project.
 * @class_name: (nullable): only this class, or %NULL for all.
 * @error: return location for a #GError, or %NULL.
 *
 * For training, read hippo_project_get_labels_revision() first and pass
 * that to hippo_project_save_head().
 *
 * Returns: (transfer full) (element-type HippoExample): the examples by
 *   class position then id, freeing its elements; %NULL with
 *   %HIPPO_ERROR_NOT_FOUND or %HIPPO_ERROR_PROJECT.
 */
GPtrArray *hippo_project_list_examples (HippoProject *project,
                                        const char *class_name, GError **error);

/**
 * hippo_project_find_examples_by_path:
 * @project: a project.
 * @path: a file (made absolute).
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: (transfer full) (element-type HippoExample): its labels (empty
 *   when none); %NULL with %HIPPO_ERROR_PROJECT.
 */
GPtrArray *hippo_project_find_examples_by_path (HippoProject *project,
                                                const char *path,
                                                GError **error);

/**
 * hippo_project_find_examples_by_hash:
 * @project: a project.
 * @content_hash: SHA-256 hex.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: (transfer full) (element-type HippoExample): its labels (empty
 *   when none); %NULL with %HIPPO_ERROR_INVALID_ARGUMENT or
 *   %HIPPO_ERROR_PROJECT.
 */
GPtrArray *hippo_project_find_examples_by_hash (HippoProject *project,
                                                const char *content_hash,
                                                GError **error);

/**
 * hippo_project_get_labels_revision:
 * @project: a project.
 * @revision: (out): a counter bumped by every change of the labels an
 *   image has: an example added, moved or removed (also by removing a class
 *   with its examples), and the multi-label mode switched. Adding,
 *   renaming or recolouring classes does not count.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_PROJECT.
 */
gboolean hippo_project_get_labels_revision (HippoProject *project,
                                            gint64 *revision, GError **error);

/* Feature cache */

/**
 * hippo_project_get_features:
 * @project: a project.
 * @content_hash: SHA-256 hex of the image.
 * @model_id: hippo_model_get_id().
 * @layer: the layer spec.
 * @preprocess_version: %HIPPO_PREPROCESS_VERSION.
 * @features: (out) (transfer full): the cached features to g_free(), or
 *   %NULL when not cached.
 * @dim: (out): their length (0 when not cached).
 * @error: return location for a #GError, or %NULL.
 *
 * Looks up cached features. An entry whose blob does not hold exactly @dim
 * float32 values, or holds a non-finite one, is an error (a damaged or
 * hostile file).
 *
 * Returns: %TRUE when the lookup worked (cached or not); %FALSE with
 *   %HIPPO_ERROR_PROJECT.
 */
gboolean hippo_project_get_features (HippoProject *project,
                                     const char *content_hash,
                                     const char *model_id, const char *layer,
                                     int preprocess_version, float **features,
                                     guint *dim, GError **error);

/**
 * hippo_project_put_features:
 * @project: a project.
 * @content_hash: SHA-256 hex of the image.
 * @model_id: hippo_model_get_id().
 * @layer: the layer spec.
 * @preprocess_version: %HIPPO_PREPROCESS_VERSION.
 * @features: @dim finite values.
 * @dim: 1 to %HIPPO_PROJECT_MAX_FEATURE_DIM.
 * @error: return location for a #GError, or %NULL.
 *
 * Stores (or replaces) features, as little-endian float32. Wrap many puts
 * in hippo_project_begin() / hippo_project_commit().
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_INVALID_ARGUMENT for
 *   a bad hash, dim or a non-finite value, %HIPPO_ERROR_PROJECT when the
 *   write fails.
 */
gboolean hippo_project_put_features (HippoProject *project,
                                     const char *content_hash,
                                     const char *model_id, const char *layer,
                                     int preprocess_version,
                                     const float *features, guint dim,
                                     GError **error);

/**
 * hippo_project_clear_features:
 * @project: a project.
 * @n_removed: (out) (optional): how many entries were dropped.
 * @error: return location for a #GError, or %NULL.
 *
 * Empties the feature cache (e.g. after a model change, or when the cache
 * is damaged: the table is dropped and made again).
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_PROJECT.
 */
gboolean hippo_project_clear_features (HippoProject *project,
                                       guint64 *n_removed, GError **error);

/* Content hashes */

/**
 * hippo_file_hash:
 * @path: a regular file.
 * @error: return location for a #GError, or %NULL.
 *
 * Computes the SHA-256 of a file's bytes, streaming. FIFOs, devices and
 * folders are refused rather than read.
 *
 * Returns: (transfer full): 64 lowercase hex characters to g_free(), or
 *   %NULL with %HIPPO_ERROR_IO (cannot open or read; the message names the
 *   file) or %HIPPO_ERROR_INVALID_ARGUMENT (not a regular file).
 */
char *hippo_file_hash (const char *path, GError **error);

/**
 * hippo_project_hash_file:
 * @project: a project.
 * @path: a regular file.
 * @error: return location for a #GError, or %NULL.
 *
 * hippo_file_hash() through a cache keyed by path, size, modification
 * time, inode and change time, so a second pass over a folder reads no
 * image bytes. New entries are written inside an open batch, else in
 * groups of 256 and when the project is freed. A read-only project only
 * reads the cache; a cache write that fails (e.g. locked) is ignored.
 *
 * Returns: (transfer full): as hippo_file_hash().
 */
char *hippo_project_hash_file (HippoProject *project, const char *path,
                               GError **error);

/* Trained head */

/**
 * hippo_head_record_free:
 * @record: (nullable): a head record. %NULL is a no-op.
 */
void hippo_head_record_free (HippoHeadRecord *record);

/**
 * hippo_project_save_head:
 * @project: a project.
 * @blob: the serialised head.
 * @metrics_json: (nullable): metrics as JSON text (stored as given).
 * @model_id: the model it was trained with.
 * @layer: the layer spec it was trained with.
 * @labels_revision: hippo_project_get_labels_revision() read before the
 *   training data was read: the head is stale once the revision moves on.
 * @error: return location for a #GError, or %NULL.
 *
 * Replaces the trained head.
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_INVALID_ARGUMENT for
 *   non-UTF-8 text, %HIPPO_ERROR_PROJECT when the write fails.
 */
gboolean hippo_project_save_head (HippoProject *project, GBytes *blob,
                                  const char *metrics_json,
                                  const char *model_id, const char *layer,
                                  gint64 labels_revision, GError **error);

/**
 * hippo_project_load_head:
 * @project: a project.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: (transfer full): the head, or %NULL with %HIPPO_ERROR_STATE
 *   when the project was never trained, %HIPPO_ERROR_PROJECT when the file
 *   fails or the row is malformed.
 */
HippoHeadRecord *hippo_project_load_head (HippoProject *project,
                                          GError **error);

/**
 * hippo_project_delete_head:
 * @project: a project.
 * @error: return location for a #GError, or %NULL.
 *
 * Forgets the trained head (no-op when there is none).
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_PROJECT.
 */
gboolean hippo_project_delete_head (HippoProject *project, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoProject, hippo_project_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoClassInfo, hippo_class_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoExample, hippo_example_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoHeadRecord, hippo_head_record_free)

G_END_DECLS

#endif /* HIPPOTAG_PROJECT_H */
