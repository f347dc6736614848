/* Hippotag trainer — internals shared by the window, the apply dialog and
 * the tests. Private to ui/ and tests/test-ui.c. */
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
  GArray *undo;          /* UndoEntry */
  guint n_scans;
  gboolean busy_train;
  gboolean busy_apply;
  char *metrics_json;
  char *last_error;
  guint n_label_jobs;
  /* filter */
  char *filter; /* "all", "unlabelled", "uncertain", "mistakes",
                   "class:ID", "cell:ID:ID" */
  /* widgets */
  GtkWidget *class_list;
  GtkWidget *grid_box;
  HippoThumbGrid *grid;
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

HippoTrainer *hippo_trainer_from_window (GtkWidget *window);
HippoTrainer *hippo_trainer_ref (HippoTrainer *t);
void hippo_trainer_unref (HippoTrainer *t);

/* The actions the buttons and keys run. */
gboolean hippo_trainer_add_class (HippoTrainer *t, const char *name,
                                  GError **error);
gboolean hippo_trainer_rename_class (HippoTrainer *t, gint64 id,
                                     const char *name, GError **error);
gboolean hippo_trainer_remove_class (HippoTrainer *t, gint64 id,
                                     GError **error);
/* Labels the selection with class number @n (1-based) and moves on;
 * n == 0 unlabels. */
void hippo_trainer_label_selection (HippoTrainer *t, guint n);
gboolean hippo_trainer_undo (HippoTrainer *t);
void hippo_trainer_train (HippoTrainer *t);
void hippo_trainer_cancel (HippoTrainer *t);
void hippo_trainer_set_filter (HippoTrainer *t, const char *filter);
void hippo_trainer_show_large (HippoTrainer *t);
/* Work queued or running (labels, training, classifying, scanning). */
gboolean hippo_trainer_is_busy (HippoTrainer *t);
const HippoClassInfo *hippo_trainer_lookup_class (HippoTrainer *t, gint64 id);
void hippo_trainer_set_status (HippoTrainer *t, const char *text);

/* trainer-apply.c: the tag / sort dialog. */
void hippo_trainer_apply_dialog (HippoTrainer *t);

G_END_DECLS

#endif /* HIPPO_TRAINER_PRIVATE_H */
