/* Hippotag trainer — labelling: a digit labels the selection and moves on,
 * Backspace unlabels, every change can be undone. The grid shows a change
 * at once; the worker saves it to the project, in the order the changes
 * were made (its jobs run one after another). */
#include "trainer-private.h"

#include <string.h>

#define UNDO_MAX 500

typedef struct
{
  GPtrArray *items; /* borrowed */
  GArray *previous; /* gint64 class ids */
} UndoEntry;

static void
undo_entry_clear (gpointer data)
{
  UndoEntry *u = data;

  g_ptr_array_unref (u->items);
  g_array_unref (u->previous);
}

GArray *
hippo_trainer_undo_new (void)
{
  GArray *undo = g_array_new (FALSE, FALSE, sizeof (UndoEntry));

  g_array_set_clear_func (undo, undo_entry_clear);
  return undo;
}

/* ------------------------------------------------------------ saving */

typedef struct
{
  HippoTrainer *t;
  char *class_name;  /* NULL: unlabel */
  GPtrArray *paths;  /* char * */
  GPtrArray *images; /* HippoTrainerItem * without a file (borrowed) */
} LabelJob;

static void
label_job_free (gpointer data)
{
  LabelJob *j = data;

  g_free (j->class_name);
  g_ptr_array_unref (j->paths);
  g_ptr_array_unref (j->images);
  hippo_trainer_unref (j->t);
  g_free (j);
}

static gboolean
on_label_failed (guint index, const char *path, const HippoPrediction *p,
                 const GError *error, gpointer user_data)
{
  LabelJob *j = user_data;

  if (error)
    hippo_trainer_post_error (j->t, "%s", error->message);
  return TRUE;
}

static gboolean
label_job_done (gpointer data)
{
  HippoTrainer *t = data;

  t->n_label_jobs--;
  hippo_trainer_reload_classes (t);
  return G_SOURCE_REMOVE;
}

static void
unlabel (LabelJob *j, HippoProject *project)
{
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < j->paths->len; i++)
    if (!hippo_project_remove_examples_by_path (project, j->paths->pdata[i],
                                                NULL, NULL, &error))
      {
        hippo_trainer_post_error (j->t, "%s", error->message);
        g_clear_error (&error);
      }
  for (guint i = 0; i < j->images->len; i++)
    {
      HippoTrainerItem *it = j->images->pdata[i];
      if (!hippo_project_remove_examples_by_hash (project, it->hash, NULL, NULL,
                                                  &error))
        {
          hippo_trainer_post_error (j->t, "%s", error->message);
          g_clear_error (&error);
        }
    }
}

/* On the worker. */
static void
run_label_job (HippoWorker *w, HippoClassifier *c, gpointer data)
{
  LabelJob *j = data;
  g_autoptr (GError) error = NULL;

  if (j->class_name == NULL)
    unlabel (j, hippo_classifier_get_project (c));
  else
    {
      if (j->paths->len
          && !hippo_classifier_label_files (
            c, j->class_name, (const char *const *) j->paths->pdata,
            j->paths->len, on_label_failed, j, &error))
        {
          hippo_trainer_post_error (j->t, "%s", error->message);
          g_clear_error (&error);
        }
      for (guint i = 0; i < j->images->len; i++)
        {
          HippoTrainerItem *it = j->images->pdata[i];
          if (!hippo_classifier_label_image (c, j->class_name, it->image, NULL,
                                             &error))
            {
              hippo_trainer_post_error (j->t, "%s", error->message);
              g_clear_error (&error);
            }
        }
    }
  hippo_trainer_post (j->t, label_job_done, j->t, NULL);
}

/* Sets the items' labels (0: none) and queues the saving. */
static void
set_labels (HippoTrainer *t, GPtrArray *items, const gint64 *ids)
{
  g_autoptr (GPtrArray) jobs = g_ptr_array_new ();
  g_autoptr (GHashTable) groups
    = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  for (guint i = 0; i < items->len; i++)
    {
      HippoTrainerItem *it = items->pdata[i];
      LabelJob *j = g_hash_table_lookup (groups, &ids[i]);
      if (j == NULL)
        {
          const HippoClassInfo *c = hippo_trainer_lookup_class (t, ids[i]);
          if (ids[i] && c == NULL)
            continue;
          j = g_new0 (LabelJob, 1);
          j->t = hippo_trainer_ref (t);
          j->class_name = c ? g_strdup (c->name) : NULL;
          j->paths = g_ptr_array_new_with_free_func (g_free);
          j->images = g_ptr_array_new ();
          g_hash_table_insert (groups, g_memdup2 (&ids[i], sizeof (gint64)), j);
          g_ptr_array_add (jobs, j); /* in the order of the items */
        }
      it->label_id = ids[i];
      if (it->path)
        {
          g_ptr_array_add (j->paths, g_strdup (it->path));
          if (ids[i])
            g_hash_table_insert (t->stored, g_strdup (it->path),
                                 g_memdup2 (&ids[i], sizeof (gint64)));
          else
            g_hash_table_remove (t->stored, it->path);
        }
      else
        g_ptr_array_add (j->images, it);
    }
  /* unlabel first, so an image moved between classes is never lost; then
   * the classes in the order of the items, the same on every run */
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < jobs->len; i++)
      {
        LabelJob *j = jobs->pdata[i];
        if ((pass == 0) != (j->class_name == NULL))
          continue;
        t->n_label_jobs++;
        hippo_worker_push (t->worker, run_label_job, j, label_job_free, FALSE);
      }
  hippo_thumb_grid_redraw (t->grid);
}

/* ------------------------------------------------------------ actions */

void
hippo_trainer_label_selection (HippoTrainer *t, guint n)
{
  g_autoptr (GPtrArray) items = hippo_thumb_grid_get_selected (t->grid);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  UndoEntry u;
  gint64 id = 0;
  int cursor = hippo_thumb_grid_get_cursor (t->grid);
  HippoTrainerItem *next = NULL;

  if (items->len == 0)
    return;
  if (n > 0)
    {
      if (n > t->classes->len)
        {
          g_autofree char *msg = g_strdup_printf (
            "No class number %u: there %s %u; add a class first.", n,
            t->classes->len == 1 ? "is" : "are", t->classes->len);
          hippo_trainer_set_status (t, msg);
          return;
        }
      id = ((HippoClassInfo *) t->classes->pdata[n - 1])->id;
      hippo_trainer_select_class (t, id);
    }
  u.items = g_ptr_array_ref (items);
  u.previous = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < items->len; i++)
    {
      HippoTrainerItem *it = items->pdata[i];
      g_array_append_val (u.previous, it->label_id);
      g_array_append_val (ids, id);
    }
  g_array_append_val (t->undo, u);
  if (t->undo->len > UNDO_MAX)
    g_array_remove_index (t->undo, 0);
  /* the image after the last labelled one */
  {
    HippoTrainerItem *last = items->pdata[items->len - 1];
    for (guint i = 0; i + 1 < hippo_thumb_grid_get_n_items (t->grid); i++)
      if (hippo_thumb_grid_get_item (t->grid, i) == last)
        {
          next = hippo_thumb_grid_get_item (t->grid, i + 1);
          break;
        }
  }
  set_labels (t, items, (const gint64 *) ids->data);
  if (strcmp (t->filter, "all") != 0)
    hippo_trainer_refilter (t);
  /* advance: to the next image, or (filtered away) keep the position */
  for (guint i = 0; next && i < hippo_thumb_grid_get_n_items (t->grid); i++)
    if (hippo_thumb_grid_get_item (t->grid, i) == next)
      {
        cursor = i;
        next = NULL;
        break;
      }
  if (cursor >= 0)
    hippo_thumb_grid_set_cursor (t->grid, cursor, FALSE);
}

gboolean
hippo_trainer_undo (HippoTrainer *t)
{
  UndoEntry u;

  if (t->undo->len == 0)
    {
      hippo_trainer_set_status (t, "Nothing to undo.");
      return FALSE;
    }
  u = g_array_index (t->undo, UndoEntry, t->undo->len - 1);
  /* take it out without clearing it */
  g_array_set_clear_func (t->undo, NULL);
  g_array_set_size (t->undo, t->undo->len - 1);
  g_array_set_clear_func (t->undo, undo_entry_clear);
  set_labels (t, u.items, (const gint64 *) u.previous->data);
  hippo_trainer_refilter (t);
  hippo_trainer_set_status (t, "Undone.");
  undo_entry_clear (&u);
  return TRUE;
}
