/* Hippotag trainer — images in: folders (read recursively off the main
 * thread), dropped files, and images without a file such as GIMP's open
 * images. Added images show their stored label and, when the project's
 * head is up to date, its prediction. */
#include "trainer-private.h"

#include <math.h>
#include <string.h>

void
hippo_trainer_load_stored_labels (HippoTrainer *t)
{
  g_autoptr (GPtrArray) ex
    = hippo_project_list_examples (t->project, NULL, NULL);

  for (guint i = 0; ex && i < ex->len; i++)
    {
      HippoExample *e = ex->pdata[i];
      if (e->path)
        g_hash_table_insert (t->stored, g_strdup (e->path),
                             g_memdup2 (&e->class_id, sizeof (gint64)));
    }
}

/* Takes @path, @name and @image. Returns the new item, or NULL when the
 * file is shown already. */
static HippoTrainerItem *
add_item (HippoTrainer *t, char *path, char *name, HippoImage *image)
{
  HippoTrainerItem *it;
  gint64 *stored;

  if (path && g_hash_table_contains (t->by_path, path))
    {
      g_free (path);
      g_free (name);
      hippo_image_free (image);
      return NULL;
    }
  it = g_new0 (HippoTrainerItem, 1);
  it->path = path;
  it->name = name ? name : g_filename_display_basename (path);
  it->image = image;
  it->uncertainty = NAN;
  stored = path ? g_hash_table_lookup (t->stored, path) : NULL;
  it->label_id = stored ? *stored : 0;
  g_ptr_array_add (t->items, it);
  if (path)
    g_hash_table_insert (t->by_path, path, it);
  return it;
}

/* ------------------------------------------------------------ scanning */

static gboolean
is_image_name (const char *name)
{
  static const char *const ext[] = { ".png", ".jpg", ".jpeg", ".webp", ".gif",
                                     ".bmp", ".tif", ".tiff", ".ppm",  NULL };
  g_autofree char *lower = g_ascii_strdown (name, -1);

  if (name[0] == '.')
    return FALSE;
  for (guint i = 0; ext[i]; i++)
    if (g_str_has_suffix (lower, ext[i]))
      return TRUE;
  return FALSE;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Recursive, sorted, symlinked folders not followed (no loops). */
static void
scan (const char *dir, GPtrArray *out, guint depth, GCancellable *cancel)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (d == NULL || depth > 64)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len && !g_cancellable_is_cancelled (cancel); i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      if (g_file_test (path, G_FILE_TEST_IS_SYMLINK)
          && g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (((const char *) names->pdata[i])[0] != '.')
            scan (path, out, depth + 1, cancel);
        }
      else if (is_image_name (names->pdata[i]))
        g_ptr_array_add (out, g_steal_pointer (&path));
    }
}

static void
scan_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
  char **paths = data;
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; paths[i]; i++)
    {
      g_autofree char *abs = g_canonicalize_filename (paths[i], NULL);
      if (g_file_test (abs, G_FILE_TEST_IS_DIR))
        scan (abs, out, 0, cancel);
      else if (g_file_test (abs, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (out, g_steal_pointer (&abs));
    }
  g_task_return_pointer (task, out, (GDestroyNotify) g_ptr_array_unref);
}

static void
scan_done (GObject *source, GAsyncResult *res, gpointer data)
{
  HippoTrainer *t = data;
  g_autoptr (GPtrArray) paths = g_task_propagate_pointer (G_TASK (res), NULL);
  g_autoptr (GPtrArray) added = g_ptr_array_new ();

  t->n_scans--;
  if (!t->closed && paths)
    {
      g_autofree char *msg = NULL;
      for (guint i = 0; i < paths->len; i++)
        {
          HippoTrainerItem *it
            = add_item (t, g_steal_pointer (&paths->pdata[i]), NULL, NULL);
          if (it)
            g_ptr_array_add (added, it);
        }
      hippo_trainer_refilter (t);
      if (hippo_thumb_grid_get_cursor (t->grid) < 0
          && hippo_thumb_grid_get_n_items (t->grid) > 0)
        hippo_thumb_grid_set_cursor (t->grid, 0, FALSE);
      msg = g_strdup_printf ("%u images added (%u in all).", added->len,
                             t->items->len);
      hippo_trainer_set_status (t, msg);
      hippo_trainer_predict (t, added);
    }
  hippo_trainer_unref (t);
}

void
hippo_trainer_add_files (GtkWidget *window, const char *const *paths,
                         guint n_paths)
{
  HippoTrainer *t = hippo_trainer_from_window (window);
  GTask *task;
  char **copy;

  g_return_if_fail (t != NULL);
  copy = g_new0 (char *, n_paths + 1);
  for (guint i = 0; i < n_paths; i++)
    copy[i] = g_strdup (paths[i]);
  t->n_scans++;
  task = g_task_new (NULL, NULL, scan_done, hippo_trainer_ref (t));
  g_task_set_task_data (task, copy, (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, scan_thread);
  g_object_unref (task);
}

/* ------------------------------------------------------------ no file */

/* Must match image_hash() of core/classifier.c: labels of images without
 * a file are stored under it. */
static char *
pixel_hash (const HippoImage *image)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint32 wh[2] = { GUINT32_TO_LE (hippo_image_get_width (image)),
                    GUINT32_TO_LE (hippo_image_get_height (image)) };
  char *hex;

  g_checksum_update (sum, (const guchar *) "hippotag-rgb8", -1);
  g_checksum_update (sum, (const guchar *) wh, sizeof wh);
  g_checksum_update (sum, hippo_image_get_pixels (image),
                     (gssize) hippo_image_get_width (image) * 3
                       * hippo_image_get_height (image));
  hex = g_strdup (g_checksum_get_string (sum));
  g_checksum_free (sum);
  return hex;
}

void
hippo_trainer_add_image (GtkWidget *window, const char *name, const char *path,
                         const HippoImage *image)
{
  HippoTrainer *t = hippo_trainer_from_window (window);
  g_autoptr (GPtrArray) added = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  HippoTrainerItem *it;
  HippoImage *copy;

  g_return_if_fail (t != NULL && image != NULL);
  if (path)
    it = add_item (t, g_canonicalize_filename (path, NULL), g_strdup (name),
                   NULL);
  else
    {
      g_autoptr (GPtrArray) ex = NULL;
      copy = hippo_image_new_from_data (
        hippo_image_get_pixels (image), hippo_image_get_width (image),
        hippo_image_get_height (image), hippo_image_get_width (image) * 3, 3,
        &error);
      if (copy == NULL)
        {
          hippo_trainer_set_status (t, error->message);
          return;
        }
      it = add_item (t, NULL, g_strdup (name), copy);
      it->hash = pixel_hash (copy);
      /* its stored label, by pixel hash */
      ex = hippo_project_find_examples_by_hash (t->project, it->hash, NULL);
      if (ex && ex->len)
        it->label_id = ((HippoExample *) ex->pdata[0])->class_id;
    }
  hippo_trainer_refilter (t);
  if (it)
    {
      g_ptr_array_add (added, it);
      hippo_trainer_predict (t, added);
    }
}

/* ------------------------------------------------------------ choosers */

static void
on_drop (GtkWidget *w, GdkDragContext *ctx, int x, int y,
         GtkSelectionData *data, guint info, guint time, HippoTrainer *t)
{
  g_auto (GStrv) uris = gtk_selection_data_get_uris (data);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; uris && uris[i]; i++)
    {
      char *p = g_filename_from_uri (uris[i], NULL, NULL);
      if (p)
        g_ptr_array_add (paths, p);
    }
  if (paths->len)
    hippo_trainer_add_files (t->window, (const char *const *) paths->pdata,
                             paths->len);
  gtk_drag_finish (ctx, paths->len > 0, FALSE, time);
}

void
hippo_trainer_accept_drops (HippoTrainer *t, GtkWidget *area)
{
  gtk_drag_dest_set (area, GTK_DEST_DEFAULT_ALL, NULL, 0, GDK_ACTION_COPY);
  gtk_drag_dest_add_uri_targets (area);
  g_signal_connect (area, "drag-data-received", G_CALLBACK (on_drop), t);
}

static void
on_folder_response (GtkNativeDialog *dialog, int response, HippoTrainer *t)
{
  if (response == GTK_RESPONSE_ACCEPT && !t->closed)
    {
      g_autofree char *dir
        = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (dialog));
      if (dir)
        hippo_trainer_add_files (t->window, (const char *const *) &dir, 1);
    }
  g_object_unref (dialog);
  hippo_trainer_unref (t);
}

void
hippo_trainer_choose_folder (HippoTrainer *t)
{
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (
    "Add a folder of images", GTK_WINDOW (t->window),
    GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Add", "_Cancel");

  g_signal_connect (dialog, "response", G_CALLBACK (on_folder_response),
                    hippo_trainer_ref (t));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}
