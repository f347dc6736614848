/* Hippotag trainer — make classes, label images by keyboard, train and
 * apply, as a window for the hippotag-trainer application and the GIMP
 * plug-in. GTK 3. */
#ifndef HIPPO_TRAINER_H
#define HIPPO_TRAINER_H

#include <gtk/gtk.h>
#include <hippotag/hippotag.h>

G_BEGIN_DECLS

/**
 * hippo_trainer_window_new:
 * @app: (nullable): the application the window belongs to, or %NULL (the
 *   GIMP plug-in runs its own main loop).
 * @project_path: the project file; created with the default model when it
 *   does not exist.
 * @error: return location for a #GError, or %NULL.
 *
 * Opens the project (loading its model) and builds the trainer window,
 * not yet shown. Closing the window finishes queued label changes and
 * frees everything.
 *
 * Returns: (transfer floating): the window, or %NULL with @error from
 *   hippo_classifier_open() or hippo_project_open().
 */
GtkWidget *hippo_trainer_window_new (GtkApplication *app,
                                     const char *project_path, GError **error);

/**
 * hippo_trainer_add_files:
 * @window: a trainer window.
 * @paths: (array length=n_paths): image files or folders (read
 *   recursively, off the main thread).
 * @n_paths: how many.
 *
 * Adds images to the grid; a file already shown is not added twice.
 */
void hippo_trainer_add_files (GtkWidget *window, const char *const *paths,
                              guint n_paths);

/**
 * hippo_trainer_add_image:
 * @window: a trainer window.
 * @name: what to call it (e.g. GIMP's image name).
 * @path: (nullable): its file, if it has one (then it is treated as that
 *   file; @image only makes the thumbnail).
 * @image: its pixels (copied).
 *
 * Adds an image that need not exist as a file, such as an image open in
 * GIMP: labelling stores its features under the hash of its pixels.
 */
void hippo_trainer_add_image (GtkWidget *window, const char *name,
                              const char *path, const HippoImage *image);

G_END_DECLS

#endif /* HIPPO_TRAINER_H */
