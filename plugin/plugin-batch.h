/* Hippotag GIMP plug-in — tagging and sorting a folder in a worker thread.
 */
#ifndef HIPPO_PLUGIN_BATCH_H
#define HIPPO_PLUGIN_BATCH_H

#include <hippotag/hippotag.h>

G_BEGIN_DECLS

/**
 * HIPPO_PLUGIN_BATCH_MAX_MESSAGES:
 *
 * How many per-file failures a batch keeps word for word.
 */
#define HIPPO_PLUGIN_BATCH_MAX_MESSAGES 20

/**
 * HippoPluginBatchParams:
 * @project: the project file.
 * @folder: the folder of images, read recursively (hidden files, XMP
 *   sidecars and the destination folder are left out).
 * @tag: write the label as keywords.
 * @tag_mode: sidecar or in place.
 * @sort: sort the files into @dest/LABEL/.
 * @dest: where sorted files go (needed for @sort).
 * @action: copy, move, symlink or hard link.
 * @unsure: unsure files go to @dest/unsure or stay.
 * @min_confidence: below it a file is unsure; < 0 for the project's own
 *   unsure threshold.
 * @dry_run: work out everything, change nothing.
 *
 * What hippo_plugin_batch_start() does. With both @tag and @sort each file
 * is sorted first and then tagged where it now is (so that a moved file
 * keeps its sidecar); unsure files are never tagged.
 */
typedef struct
{
  const char *project;
  const char *folder;
  gboolean tag;
  HippoTagMode tag_mode;
  gboolean sort;
  const char *dest;
  HippoSortAction action;
  HippoSortUnsure unsure;
  double min_confidence;
  gboolean dry_run;
} HippoPluginBatchParams;

/**
 * HippoPluginBatchResult:
 * @n_files: files found.
 * @n_done: files tagged and/or sorted (or that would be, in a dry run;
 *   already tagged counts), unsure files sorted into the unsure folder
 *   included.
 * @n_failed: files that could not be read, classified, tagged or sorted.
 * @n_unsure: files below the confidence threshold.
 * @journal: (nullable): the sort journal (for undo), if one was written.
 * @messages: the first %HIPPO_PLUGIN_BATCH_MAX_MESSAGES failures as
 *   "FILE: reason", and in a dry run the first planned actions.
 * @cancelled: the user stopped it; the counts say how far it got.
 *
 * What a batch did. Clear with hippo_plugin_batch_result_clear().
 */
typedef struct
{
  guint n_files;
  guint n_done;
  guint n_failed;
  guint n_unsure;
  char *journal;
  GPtrArray *messages;
  gboolean cancelled;
} HippoPluginBatchResult;

void hippo_plugin_batch_result_clear (HippoPluginBatchResult *result);

typedef struct _HippoPluginBatch HippoPluginBatch;

HippoPluginBatch *
hippo_plugin_batch_start (const HippoPluginBatchParams *params);

gboolean hippo_plugin_batch_poll (HippoPluginBatch *batch, guint *done,
                                  guint *total);

void hippo_plugin_batch_cancel (HippoPluginBatch *batch);

gboolean hippo_plugin_batch_finish (HippoPluginBatch *batch,
                                    HippoPluginBatchResult *result,
                                    GError **error);

GPtrArray *hippo_plugin_collect_files (const char *folder, const char *skip,
                                       GError **error);

G_END_DECLS

#endif /* HIPPO_PLUGIN_BATCH_H */
