/* Hippotag GIMP plug-in — what each procedure does when run.
 *
 * Every failure comes back as GIMP_PDB_EXECUTION_ERROR with a message
 * (GIMP prints it, and under --quit exits non-zero); a user's Cancel as
 * GIMP_PDB_CANCEL. PDB calls stay on this, the main, thread.
 */

#include "plugin-procedures.h"

#include <errno.h>

#include <libgimp/gimpui.h>
#include <hippotag/hippotag.h>

#include "plugin-batch.h"
#include "plugin-classify.h"
#include "plugin-dialogs.h"
#include "plugin-metadata.h"
#include "plugin-timing.h"

#include "hippo-trainer.h"

/* how often the main thread looks at a running batch */
#define BATCH_POLL_MS 100

static GimpValueArray *
fail (GimpProcedure *procedure, GError *error)
{
  if (g_error_matches (error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED))
    {
      g_error_free (error);
      return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL,
                                               NULL);
    }
  return gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR,
                                           error);
}

/* A file argument as a local path, or NULL. */
static char *
file_path (GimpProcedureConfig *config, const char *name)
{
  g_autoptr (GFile) file = NULL;

  g_object_get (config, name, &file, NULL);
  return file != NULL ? g_file_get_path (file) : NULL;
}

/* The drawable to read (NULL for the composite) by the "source" argument. */
static gboolean
pick_drawable (GimpProcedureConfig *config, GimpDrawable **drawables,
               GimpDrawable **drawable, GError **error)
{
  g_autofree char *source = NULL;

  *drawable = NULL;
  g_object_get (config, "source", &source, NULL);
  if (g_strcmp0 (source, "drawable") != 0)
    return TRUE;
  if (drawables == NULL || drawables[0] == NULL || drawables[1] != NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "source \"drawable\" needs exactly one drawable");
      return FALSE;
    }
  *drawable = drawables[0];
  return TRUE;
}

/* The project argument as a checked path. Interactive runs whose project
 * is missing or unusable ask for one, saying why (GIMP remembers the
 * choice for the next interactive run); a Cancel gives
 * HIPPO_ERROR_CANCELLED. */
static gboolean
resolve_project (GimpProcedure *procedure, GimpProcedureConfig *config,
                 GimpRunMode run_mode, const char *title,
                 const char *const *properties, char **path, GError **error)
{
  g_autoptr (GFile) project = NULL;
  GError *local_error = NULL;
  gboolean ok;

  g_object_get (config, "project", &project, NULL);
  if (hippo_plugin_check_project (project, path, &local_error))
    return TRUE;
  if (run_mode != GIMP_RUN_INTERACTIVE)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  gimp_ui_init (HIPPO_PLUGIN_BINARY);
  ok = hippo_plugin_arguments_dialog (procedure, config, title,
                                      local_error->message, properties);
  g_clear_error (&local_error);
  if (!ok)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED, "cancelled");
      return FALSE;
    }
  g_clear_object (&project);
  g_object_get (config, "project", &project, NULL);
  return hippo_plugin_check_project (project, path, error);
}

/* ------------------------------------------------------------ classify */

typedef struct
{
  HippoClassifier *classifier;
  const HippoImage *pixels;
} LabelContext;

static char *
label_from_dialog (const char *class_name, gpointer user_data, GError **error)
{
  LabelContext *l = user_data;

  return hippo_plugin_label (l->classifier, class_name, l->pixels, NULL, error);
}

/**
 * hippo_plugin_run_classify:
 *
 * plug-in-hippotag-classify: the image (or one drawable) through the
 * project's model and trained head. Returns label, confidence and unsure;
 * add-keyword writes the label into the image's metadata (non-interactive:
 * only when not unsure, as 'hippotag tag' does). Interactive runs show the
 * ranked classes, "Add as keyword" and "Wrong? Label as…".
 */
GimpValueArray *
hippo_plugin_run_classify (GimpProcedure *procedure, GimpRunMode run_mode,
                           GimpImage *image, GimpDrawable **drawables,
                           GimpProcedureConfig *config, gpointer run_data)
{
  static const char *const properties[] = { "project", "source", NULL };
  g_autofree char *project_path = NULL;
  g_autofree char *keyword = NULL;
  g_autoptr (HippoClassifier) classifier = NULL;
  g_autoptr (HippoImage) pixels = NULL;
  g_autoptr (HippoPluginResult) result = NULL;
  GimpDrawable *drawable;
  GimpValueArray *ret;
  GError *error = NULL;
  gboolean add_keyword = FALSE;
  gboolean interactive = run_mode == GIMP_RUN_INTERACTIVE;

  hippo_plugin_timing_mark ("classify: run");
  g_object_get (config, "add-keyword", &add_keyword, NULL);
  if (!resolve_project (procedure, config, run_mode, "Hippotag — Classify",
                        properties, &project_path, &error)
      || !pick_drawable (config, drawables, &drawable, &error))
    return fail (procedure, error);

  if (interactive)
    gimp_progress_init ("Hippotag: classifying");
  /* read-write only where "Wrong? Label as…" may write */
  classifier
    = hippo_plugin_open_classifier (project_path, !interactive, &error);
  if (classifier == NULL)
    return fail (procedure, error);
  pixels = hippo_plugin_read_image (classifier, image, drawable, &error);
  if (pixels == NULL)
    return fail (procedure, error);
  result = hippo_plugin_classify (classifier, pixels, &error);
  if (result == NULL)
    return fail (procedure, error);
  keyword = g_strdup (result->label);

  if (interactive)
    {
      LabelContext l = { classifier, pixels };
      HippoProject *project = hippo_classifier_get_project (classifier);
      g_auto (GStrv) classes = NULL;

      gimp_progress_end ();
      if (!hippo_project_is_read_only (project))
        classes = hippo_plugin_list_classes (classifier, NULL);
      gimp_ui_init (HIPPO_PLUGIN_BINARY);
      g_clear_pointer (&keyword, g_free);
      if (!hippo_plugin_classify_dialog (result, (const char *const *) classes,
                                         classes != NULL ? label_from_dialog
                                                         : NULL,
                                         &l, &add_keyword, &keyword))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL,
                                                 NULL);
      g_object_set (config, "add-keyword", add_keyword, NULL);
    }
  else if (result->unsure)
    add_keyword = FALSE;
  if (add_keyword && !hippo_plugin_add_keyword (image, keyword, &error))
    return fail (procedure, error);

  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_STRING (ret, 1, result->label);
  GIMP_VALUES_SET_DOUBLE (ret, 2, result->confidence);
  GIMP_VALUES_SET_BOOLEAN (ret, 3, result->unsure);
  hippo_plugin_timing_mark ("classify: result");
  return ret;
}

/* ------------------------------------------------------------ label */

/**
 * hippo_plugin_run_label:
 *
 * plug-in-hippotag-label: stores the image's (or drawable's) features in
 * the project as an example of class-name, created when missing. Returns
 * the class's stored name and its number of examples.
 */
GimpValueArray *
hippo_plugin_run_label (GimpProcedure *procedure, GimpRunMode run_mode,
                        GimpImage *image, GimpDrawable **drawables,
                        GimpProcedureConfig *config, gpointer run_data)
{
  static const char *const properties[]
    = { "project", "source", "class-name", NULL };
  g_autofree char *project_path = NULL;
  g_autofree char *class_name = NULL;
  g_autofree char *stored = NULL;
  g_autoptr (HippoClassifier) classifier = NULL;
  g_autoptr (HippoImage) pixels = NULL;
  g_autoptr (HippoClassInfo) info = NULL;
  GimpDrawable *drawable;
  GimpValueArray *ret;
  GError *error = NULL;
  gboolean created = FALSE;

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gimp_ui_init (HIPPO_PLUGIN_BINARY);
      if (!hippo_plugin_arguments_dialog (
            procedure, config, "Hippotag — Label as…",
            "Adds this image to the project as an example of the class "
            "(created if missing). Train the project again to use it.",
            properties))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL,
                                                 NULL);
    }
  g_object_get (config, "class-name", &class_name, NULL);
  if (class_name == NULL || *g_strstrip (class_name) == '\0')
    return fail (procedure,
                 g_error_new (HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                              "class-name is empty"));
  if (!resolve_project (procedure, config, run_mode, "Hippotag — Label as…",
                        properties, &project_path, &error)
      || !pick_drawable (config, drawables, &drawable, &error))
    return fail (procedure, error);

  classifier = hippo_plugin_open_classifier (project_path, FALSE, &error);
  if (classifier == NULL)
    return fail (procedure, error);
  pixels = hippo_plugin_read_image (classifier, image, drawable, &error);
  if (pixels == NULL)
    return fail (procedure, error);
  stored
    = hippo_plugin_label (classifier, class_name, pixels, &created, &error);
  if (stored == NULL)
    return fail (procedure, error);
  info = hippo_project_lookup_class (hippo_classifier_get_project (classifier),
                                     stored, &error);
  if (info == NULL)
    return fail (procedure, error);
  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      g_autofree char *text = g_strdup_printf (
        "Hippotag: added to %s as an example of “%s”%s (%u examples). Train "
        "the project again to use it.",
        project_path, stored, created ? " (a new class)" : "",
        info->n_examples);

      gimp_message (text);
    }

  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_STRING (ret, 1, stored);
  GIMP_VALUES_SET_INT (ret, 2, (int) MIN (info->n_examples, G_MAXINT));
  return ret;
}

/* ------------------------------------------------------------ trainer */

/* What the trainer calls an open image: the name of its file (XCF,
 * imported or exported), or Untitled-ID (images a script loaded have no
 * file). */
static char *
image_display_name (GimpImage *image)
{
  g_autoptr (GFile) file = gimp_image_get_file (image);

  if (file == NULL)
    file = gimp_image_get_imported_file (image);
  if (file == NULL)
    file = gimp_image_get_exported_file (image);
  if (file != NULL)
    return g_file_get_basename (file);
  return g_strdup_printf ("Untitled-%d", gimp_image_get_id (image));
}

/* Every image open in GIMP, as the classifier reads it (the visible
 * composite, by hippo_plugin_read_image(), so the pixel hash is the one
 * plug-in-hippotag-label stores), into the trainer. An image that cannot
 * be read is left out with a message on stderr; returns how many were
 * added. */
static guint
add_open_images (GtkWidget *window, const char *project_path)
{
  g_autoptr (HippoClassifier) classifier = NULL;
  GimpImage **images;
  GError *error = NULL;
  guint i, n = 0, n_open = 0;

  images = gimp_get_images ();
  if (images == NULL || images[0] == NULL)
    {
      g_free (images);
      return 0;
    }
  /* a second, read-only classifier, only for the model's input size */
  classifier = hippo_plugin_open_classifier (project_path, TRUE, &error);
  if (classifier == NULL)
    {
      g_printerr ("hippotag: GIMP's open images are not offered: %s\n",
                  error->message);
      g_error_free (error);
      g_free (images);
      return 0;
    }
  while (images[n_open] != NULL)
    n_open++;
  /* GIMP lists the newest first: show them in the order they were opened */
  for (i = n_open; i-- > 0;)
    {
      g_autofree char *name = image_display_name (images[i]);
      g_autoptr (HippoImage) pixels
        = hippo_plugin_read_image (classifier, images[i], NULL, &error);

      if (pixels == NULL)
        {
          g_printerr ("hippotag: the image %s is left out: %s\n", name,
                      error->message);
          g_clear_error (&error);
          continue;
        }
      hippo_trainer_add_image (window, name, NULL, pixels);
      n++;
    }
  g_free (images);
  return n;
}

/**
 * hippo_plugin_run_trainer:
 *
 * plug-in-hippotag-trainer: opens the trainer window of ui/ on the project
 * (created when missing, the per-user default one included), with every
 * image open in GIMP and the optional folder's images, and returns when
 * the window is closed. Interactive only: a non-interactive run fails with
 * an execution error.
 */
GimpValueArray *
hippo_plugin_run_trainer (GimpProcedure *procedure, GimpProcedureConfig *config,
                          gpointer run_data)
{
  static const char *const properties[] = { "project", "folder", NULL };
  g_autoptr (GFile) project = NULL;
  g_autofree char *project_path = NULL;
  g_autofree char *folder = NULL;
  GtkWidget *window;
  GMainLoop *loop;
  GimpRunMode run_mode;
  GError *error = NULL;
  guint n_images;

  g_object_get (config, "run-mode", &run_mode, "project", &project, NULL);
  if (run_mode == GIMP_RUN_NONINTERACTIVE)
    return fail (procedure,
                 g_error_new (HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                              "%s: the trainer is interactive (a window to "
                              "label images by hand); run it with "
                              "RUN-INTERACTIVE, or use "
                              "plug-in-hippotag-label and 'hippotag train' "
                              "from scripts",
                              gimp_procedure_get_name (procedure)));
  gimp_ui_init (HIPPO_PLUGIN_BINARY);

  /* a missing project is made by the trainer; an unusable one is asked
   * for again, as by the other procedures */
  project_path = project != NULL ? g_file_get_path (project)
                                 : hippo_plugin_default_project ();
  if (project_path != NULL && !g_file_test (project_path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *dir = g_path_get_dirname (project_path);

      if (project == NULL && g_mkdir_with_parents (dir, 0700) != 0)
        {
          int saved = errno;

          return fail (procedure, g_error_new (HIPPO_ERROR, HIPPO_ERROR_IO,
                                               "cannot make the folder %s: %s",
                                               dir, g_strerror (saved)));
        }
    }
  else
    {
      g_clear_pointer (&project_path, g_free);
      if (!resolve_project (procedure, config, run_mode,
                            "Hippotag — Train classes", properties,
                            &project_path, &error))
        return fail (procedure, error);
    }
  folder = file_path (config, "folder");

  window = hippo_trainer_window_new (NULL, project_path, &error);
  if (window == NULL)
    {
      g_prefix_error (&error, "cannot open the trainer on %s: ", project_path);
      return fail (procedure, error);
    }
  /* GIMP's name for it; GTK puts it into the header bar too (the
   * project's name stays the subtitle) */
  gtk_window_set_title (GTK_WINDOW (window), "Hippotag — Train classes");
  n_images = add_open_images (window, project_path);
  if (folder != NULL)
    {
      const char *paths[] = { folder };

      hippo_trainer_add_files (window, paths, 1);
    }
  g_printerr ("hippotag: trainer on %s with %u open image%s%s%s\n",
              project_path, n_images, n_images == 1 ? "" : "s",
              folder != NULL ? " and the folder " : "",
              folder != NULL ? folder : "");

  loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect_swapped (window, "destroy", G_CALLBACK (g_main_loop_quit),
                            loop);
  gtk_window_present (GTK_WINDOW (window));
  /* GIMP's windows stay usable; the procedure returns when the window
   * closes (its queued label changes are written by then) */
  g_main_loop_run (loop);
  g_main_loop_unref (loop);
  return gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
}

/* ------------------------------------------------------------ batch */

typedef struct
{
  HippoPluginBatch *batch;
  GMainLoop *loop;
  GtkWidget *dialog;      /* interactive: our window, graceful Cancel */
  gboolean gimp_progress; /* report to GIMP's progress too */
  gboolean cancelled;     /* set by the dialog */
  gboolean cancel_sent;
  guint last_done;
  guint last_total;
} BatchLoop;

/* Main thread: hands progress to GIMP and the dialog, a cancel to the
 * worker. */
static gboolean
batch_tick (gpointer data)
{
  BatchLoop *t = data;
  g_autofree char *text = NULL;
  guint done, total;
  gboolean finished;

  if (t->cancelled && !t->cancel_sent)
    {
      hippo_plugin_batch_cancel (t->batch);
      t->cancel_sent = TRUE;
      if (t->dialog != NULL)
        hippo_plugin_progress_dialog_set (
          t->dialog, (double) t->last_done / MAX (t->last_total, 1),
          "stopping after the current files…");
    }
  finished = hippo_plugin_batch_poll (t->batch, &done, &total);
  if (total == 0)
    {
      if (t->gimp_progress)
        gimp_progress_pulse ();
      if (t->dialog != NULL)
        hippo_plugin_progress_dialog_set (t->dialog, -1, "reading the folder");
    }
  else if (done != t->last_done || total != t->last_total)
    {
      text = g_strdup_printf ("%u of %u files", done, total);
      if (t->gimp_progress)
        {
          if (!t->cancel_sent)
            gimp_progress_set_text_printf ("Hippotag: %s", text);
          gimp_progress_update ((double) done / total);
        }
      if (t->dialog != NULL)
        hippo_plugin_progress_dialog_set (t->dialog, (double) done / total,
                                          t->cancel_sent ? NULL : text);
      t->last_done = done;
      t->last_total = total;
    }
  if (!finished)
    return G_SOURCE_CONTINUE;
  g_main_loop_quit (t->loop);
  return G_SOURCE_REMOVE;
}

static char *
batch_summary (const HippoPluginBatchParams *bp,
               const HippoPluginBatchResult *r)
{
  GString *s = g_string_new (NULL);
  guint i;

  g_string_append_printf (
    s, "Hippotag: %s%s %s: %u file%s, %u %s, %u failed, %u unsure.",
    bp->dry_run ? "dry run of " : "",
    bp->tag && bp->sort ? "tag and sort"
    : bp->tag           ? "tag"
                        : "sort",
    bp->folder, r->n_files, r->n_files == 1 ? "" : "s", r->n_done,
    bp->dry_run ? "would be done" : "done", r->n_failed, r->n_unsure);
  if (r->cancelled)
    g_string_append (s, " Cancelled: the rest was not touched.");
  if (r->journal != NULL)
    g_string_append_printf (s, "\nUndo with: hippotag sort --undo %s",
                            r->journal);
  for (i = 0; r->messages != NULL && i < r->messages->len; i++)
    g_string_append_printf (s, "\n  %s", (char *) r->messages->pdata[i]);
  if (r->messages != NULL
      && r->messages->len >= HIPPO_PLUGIN_BATCH_MAX_MESSAGES)
    g_string_append (s, "\n  …");
  return g_string_free (s, FALSE);
}

/**
 * hippo_plugin_run_batch:
 *
 * plug-in-hippotag-batch: tags and/or sorts a folder in a worker thread
 * (plugin-batch.c) while this thread reports progress to GIMP. Interactive
 * runs ask for the arguments and show a progress window whose Cancel
 * stops the worker after the current file. Returns n-done, n-failed,
 * n-unsure and the sort journal.
 */
GimpValueArray *
hippo_plugin_run_batch (GimpProcedure *procedure, GimpProcedureConfig *config,
                        gpointer run_data)
{
  static const char *const properties[]
    = { "project", "folder", "mode",           "tag-mode", "dest",
        "action",  "unsure", "min-confidence", "dry-run",  NULL };
  static const HippoSortAction actions[]
    = { HIPPO_SORT_COPY, HIPPO_SORT_MOVE, HIPPO_SORT_SYMLINK,
        HIPPO_SORT_HARDLINK };
  g_autofree char *project_path = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *dest = NULL;
  g_autofree char *summary = NULL;
  HippoPluginBatchParams bp = { 0 };
  HippoPluginBatchResult r = { 0 };
  BatchLoop t = { 0 };
  GtkWidget *dialog = NULL;
  GimpValueArray *ret;
  GimpRunMode run_mode;
  GError *error = NULL;
  int mode, action;
  gboolean ok;

  g_object_get (config, "run-mode", &run_mode, NULL);
  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gimp_ui_init (HIPPO_PLUGIN_BINARY);
      if (!hippo_plugin_arguments_dialog (procedure, config,
                                          "Hippotag — Tag or sort a folder",
                                          NULL, properties))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL,
                                                 NULL);
    }
  if (!resolve_project (procedure, config, run_mode,
                        "Hippotag — Tag or sort a folder", properties,
                        &project_path, &error))
    return fail (procedure, error);
  folder = file_path (config, "folder");
  dest = file_path (config, "dest");
  mode = gimp_procedure_config_get_choice_id (config, "mode");
  action = gimp_procedure_config_get_choice_id (config, "action");
  g_object_get (config, "min-confidence", &bp.min_confidence, "dry-run",
                &bp.dry_run, NULL);
  bp.project = project_path;
  bp.folder = folder;
  bp.dest = dest;
  bp.tag = mode == 0 || mode == 2;
  bp.sort = mode == 1 || mode == 2;
  bp.tag_mode = gimp_procedure_config_get_choice_id (config, "tag-mode") == 1
                  ? HIPPO_TAG_MODE_IN_PLACE
                  : HIPPO_TAG_MODE_SIDECAR;
  bp.action = actions[CLAMP (action, 0, (int) G_N_ELEMENTS (actions) - 1)];
  bp.unsure = gimp_procedure_config_get_choice_id (config, "unsure") == 1
                ? HIPPO_SORT_UNSURE_LEAVE
                : HIPPO_SORT_UNSURE_FOLDER;
  if (folder == NULL)
    return fail (procedure,
                 g_error_new (HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                              "no folder given (a local folder of images)"));
  if (bp.sort && dest == NULL)
    return fail (procedure,
                 g_error_new (HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                              "mode \"%s\" needs a destination folder (dest)",
                              mode == 1 ? "sort" : "both"));

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      g_autofree char *text
        = g_strdup_printf ("%s%s %s with %s", bp.dry_run ? "Dry run: " : "",
                           bp.tag && bp.sort ? "Tagging and sorting"
                           : bp.tag          ? "Tagging"
                                             : "Sorting",
                           folder, project_path);

      dialog = hippo_plugin_progress_dialog_new ("Hippotag — Working", text,
                                                 &t.cancelled);
      gtk_widget_show_all (dialog);
    }
  /* GIMP's own progress: always for a script; interactively only in the
   * image window it was started from (with no image GIMP would open a
   * second progress window, whose Cancel kills the plug-in) */
  t.dialog = dialog;
  t.gimp_progress
    = run_mode != GIMP_RUN_INTERACTIVE || gimp_default_display () != NULL;
  if (t.gimp_progress)
    gimp_progress_init_printf ("Hippotag: reading %s", folder);
  t.batch = hippo_plugin_batch_start (&bp);
  t.loop = g_main_loop_new (NULL, FALSE);
  g_timeout_add (BATCH_POLL_MS, batch_tick, &t);
  g_main_loop_run (t.loop);
  g_main_loop_unref (t.loop);
  ok = hippo_plugin_batch_finish (t.batch, &r, &error);
  if (t.gimp_progress)
    gimp_progress_end ();
  if (dialog != NULL)
    gtk_widget_destroy (dialog);
  if (!ok)
    {
      hippo_plugin_batch_result_clear (&r);
      return fail (procedure, error);
    }

  summary = batch_summary (&bp, &r);
  if (run_mode == GIMP_RUN_INTERACTIVE)
    gimp_message (summary);
  else
    g_printerr ("%s\n", summary);
  if (r.cancelled)
    {
      hippo_plugin_batch_result_clear (&r);
      return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL,
                                               NULL);
    }
  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_INT (ret, 1, (int) MIN (r.n_done, G_MAXINT));
  GIMP_VALUES_SET_INT (ret, 2, (int) MIN (r.n_failed, G_MAXINT));
  GIMP_VALUES_SET_INT (ret, 3, (int) MIN (r.n_unsure, G_MAXINT));
  if (r.journal != NULL)
    GIMP_VALUES_TAKE_FILE (ret, 4, g_file_new_for_path (r.journal));
  hippo_plugin_batch_result_clear (&r);
  return ret;
}
