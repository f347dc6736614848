/* Hippotag trainer — internals shared by the modules of the window and the
 * tests. Private to ui/ and tests/test-ui.c.
 *
 * The window is split along its seams, one file each:
 *   trainer-window.c   lifetime, reports from the worker, keys, assembly
 *   trainer-classes.c  the classes panel and its dialogs
 *   trainer-view.c     what the grid shows: filters, the large view
 *   trainer-label.c    labelling by keyboard, undo
 *   trainer-sources.c  adding folders, files and GIMP's images
 *   trainer-train.c    training, and predictions under the thumbnails
 *   trainer-apply.c    the tag / sort dialog
 * Everything runs on the main thread except the functions given to
 * hippo_worker_push(), which run on the project worker. */
#ifndef HIPPO_TRAINER_PRIVATE_H
#define HIPPO_TRAINER_PRIVATE_H

#include "hippo-trainer.h"
#include "thumb-grid.h"
#include "trainer-worker.h"

G_BEGIN_DECLS

typedef struct _HippoTrainer HippoTrainer;

struct _HippoTrainer
{
  gint ref;
  gboolean closed;
  GtkWidget *window;
  char *project_path;
  HippoProject *project; /* main thread: classes and settings */
  HippoWorker *worker;   /* owns the classifier */
  GPtrArray *classes;    /* HippoClassInfo, position order */
  GPtrArray *items;      /* HippoTrainerItem, owned */
  GHashTable *by_path;   /* path -> item */
  GHashTable *stored;    /* path -> class id (gint64 *) from the project */
  GArray *undo;          /* undo entries (trainer-label.c) */
  guint n_scans;
  gboolean busy_train;
  guint n_predict_jobs; /* classifying with the stored head */
  gboolean busy_apply;
  char *metrics_json;
  char *last_error;
  guint n_label_jobs;
  /* filter */
  char *filter; /* "all", "unlabelled", "uncertain", "mistakes",
                   "class:ID", "cell:ID:ID" */
  /* widgets */
  GtkWidget *class_list;
  GtkWidget *add_class_button;
  GtkWidget *rename_class_button;
  GtkWidget *remove_class_button;
  GtkWidget *grid_box;
  HippoThumbGrid *grid;
  GtkWidget *filter_box; /* its label and combo */
  GtkWidget *filter_combo;
  GtkWidget *train_button;
  GtkWidget *cancel_button;
  GtkWidget *apply_button;
  GtkWidget *progress;
  GtkWidget *status;
  GtkWidget *metrics;
  GtkWidget *stack;
  GtkWidget *large;
};

/* --- trainer-window.c ---------------------------------------------------
 * Lifetime and reports from the worker. */

HippoTrainer *hippo_trainer_from_window (GtkWidget *window);
HippoTrainer *hippo_trainer_ref (HippoTrainer *t);
void hippo_trainer_unref (HippoTrainer *t);
void hippo_trainer_set_status (HippoTrainer *t, const char *text);
/* From any thread: runs @func (@data) on the main thread unless the window
 * has been closed by then; @destroy (@data) runs either way. Reports run
 * in the order they were posted. */
void hippo_trainer_post (HippoTrainer *t, GSourceFunc func, gpointer data,
                         GDestroyNotify destroy);
/* From any thread: shows an error in the status line and keeps it in
 * t->last_error (the tests check it). */
void hippo_trainer_post_error (HippoTrainer *t, const char *fmt, ...)
  G_GNUC_PRINTF (2, 3);
/* Work queued or running (labels, training, classifying, scanning). */
gboolean hippo_trainer_is_busy (HippoTrainer *t);
/* Train while not training; Cancel while training, classifying or
 * applying. */
void hippo_trainer_update_buttons (HippoTrainer *t);

/* --- trainer-classes.c --------------------------------------------------
 * The classes panel: add, rename, delete, recolour, the examples per
 * class; class number n is what key n labels with. */

GtkWidget *hippo_trainer_classes_panel_new (HippoTrainer *t);
/* Reloads the classes from the project and rebuilds what shows them (the
 * list, the filter's choices, the grid). */
void hippo_trainer_reload_classes (HippoTrainer *t);
const HippoClassInfo *hippo_trainer_lookup_class (HippoTrainer *t, gint64 id);
gint64 hippo_trainer_class_id_by_name (HippoTrainer *t, const char *name);
/* For the grid: the colour and name of a class id. */
gboolean hippo_trainer_class_style (gint64 id, GdkRGBA *colour,
                                    const char **name, gpointer trainer);
gboolean hippo_trainer_add_class (HippoTrainer *t, const char *name,
                                  GError **error);
gboolean hippo_trainer_rename_class (HippoTrainer *t, gint64 id,
                                     const char *name, GError **error);
gboolean hippo_trainer_remove_class (HippoTrainer *t, gint64 id,
                                     GError **error);
gboolean hippo_trainer_set_class_colour (HippoTrainer *t, gint64 id,
                                         const GdkRGBA *colour, GError **error);
/* The non-blocking dialogs behind the panel's buttons (the tests drive
 * them): add (@id 0) or rename a class; delete one after asking. */
GtkWidget *hippo_trainer_name_dialog (HippoTrainer *t, gint64 id);
GtkWidget *hippo_trainer_remove_dialog (HippoTrainer *t, gint64 id);
/* The class selected in the panel, or 0. */
gint64 hippo_trainer_get_selected_class (HippoTrainer *t);
void hippo_trainer_select_class (HippoTrainer *t, gint64 id);

/* --- trainer-view.c -----------------------------------------------------
 * What the grid shows. */

void hippo_trainer_filter_init (HippoTrainer *t);
/* Rebuilds the filter's choices from t->classes, keeping the current one
 * when it still exists. */
void hippo_trainer_update_filter_choices (HippoTrainer *t);
void hippo_trainer_set_filter (HippoTrainer *t, const char *filter);
/* Applies the filter to t->items again. */
void hippo_trainer_refilter (HippoTrainer *t);
/* The metrics view's cell callback: shows those images. */
void hippo_trainer_show_cell (guint true_class, guint predicted,
                              gpointer trainer);
void hippo_trainer_show_large (HippoTrainer *t);

/* --- trainer-label.c ----------------------------------------------------
 * Labelling, saved by the worker in the order the changes were made. */

GArray *hippo_trainer_undo_new (void);
/* Labels the selection with class number @n (1-based) and moves on;
 * n == 0 unlabels. */
void hippo_trainer_label_selection (HippoTrainer *t, guint n);
gboolean hippo_trainer_undo (HippoTrainer *t);

/* --- trainer-sources.c --------------------------------------------------
 * Images in: folders and files (scanned off the main thread), GIMP's
 * images; see also hippo_trainer_add_files() and hippo_trainer_add_image()
 * in hippo-trainer.h. */

/* The labels the project holds, so added files show theirs. */
void hippo_trainer_load_stored_labels (HippoTrainer *t);
/* Connects the grid as a drop target for files and folders. */
void hippo_trainer_accept_drops (HippoTrainer *t, GtkWidget *area);
/* Asks for a folder to add (a native, non-blocking chooser). */
void hippo_trainer_choose_folder (HippoTrainer *t);

/* --- trainer-train.c ----------------------------------------------------
 * Training, then predictions under every thumbnail. */

void hippo_trainer_train (HippoTrainer *t);
/* Shows the stored head's predictions for @items (borrowed, e.g. just
 * added) when the project has a head trained on its current labels;
 * otherwise leaves them without. Runs on the worker after what is queued,
 * so a training already queued is used. */
void hippo_trainer_predict (HippoTrainer *t, GPtrArray *items);
/* Stops training, classifying or applying. */
void hippo_trainer_cancel (HippoTrainer *t);

/* --- trainer-apply.c ----------------------------------------------------
 * The tag / sort dialog: preview (dry run) first, then apply. */

GtkWidget *hippo_trainer_apply_dialog (HippoTrainer *t);

G_END_DECLS

#endif /* HIPPO_TRAINER_PRIVATE_H */
