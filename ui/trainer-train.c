/* Hippotag trainer — training in the worker with progress and Cancel, then
 * a prediction (class, confidence, uncertainty) under every thumbnail. The
 * same classifying shows the stored head's predictions for images added
 * later, e.g. when a trained project is opened again. */
#include "metrics-view.h"
#include "trainer-private.h"

#include <math.h>
#include <string.h>

#define POST_BATCH 64

typedef struct
{
  HippoTrainerItem *item;
  char *label;
  float confidence;
  float uncertainty;
} Result;

/* Files classified per job: a long classifying goes on in a chain of jobs,
 * so label changes made meanwhile are saved between two of them. */
#define FILES_PER_JOB 32

/* One link of the chain; the arrays are shared along it. */
typedef struct
{
  HippoTrainer *t;
  gboolean train;    /* else: predictions of the stored head only */
  gboolean started;  /* a continuation: trained, images done */
  GPtrArray *images; /* items without a file (borrowed) */
  GPtrArray *items;  /* items with a file (borrowed) */
  GPtrArray *paths;  /* their files, for the worker */
  guint first;       /* the first file of this link */
  GArray *batch;     /* Result, not yet posted */
  gboolean multi_label;
  gboolean ran;
  guint done;
  gint64 last_post;
} ClassifyJob;

static void
classify_job_free (gpointer data)
{
  ClassifyJob *j = data;

  for (guint i = 0; i < j->batch->len; i++)
    g_free (g_array_index (j->batch, Result, i).label);
  g_ptr_array_unref (j->images);
  g_ptr_array_unref (j->items);
  g_ptr_array_unref (j->paths);
  g_array_unref (j->batch);
  hippo_trainer_unref (j->t);
  g_free (j);
}

/* ------------------------------------------------------------ reports */

typedef struct
{
  HippoTrainer *t;
  double fraction;
  char *text;
} Progress;

static void
progress_free (gpointer data)
{
  Progress *p = data;

  g_free (p->text);
  g_free (p);
}

static gboolean
show_progress (gpointer data)
{
  Progress *p = data;

  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (p->t->progress),
                                 p->fraction);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (p->t->progress), p->text);
  return G_SOURCE_REMOVE;
}

static void
post_progress (HippoTrainer *t, double fraction, const char *text)
{
  Progress *p = g_new0 (Progress, 1);

  p->t = t;
  p->fraction = fraction;
  p->text = g_strdup (text);
  hippo_trainer_post (t, show_progress, p, progress_free);
}

typedef struct
{
  HippoTrainer *t;
  GArray *results;
} ResultBatch;

static void
result_batch_free (gpointer data)
{
  ResultBatch *b = data;

  for (guint i = 0; i < b->results->len; i++)
    g_free (g_array_index (b->results, Result, i).label);
  g_array_unref (b->results);
  g_free (b);
}

static gboolean
apply_results (gpointer data)
{
  ResultBatch *b = data;

  for (guint i = 0; i < b->results->len; i++)
    {
      Result *r = &g_array_index (b->results, Result, i);
      r->item->pred_id = hippo_trainer_class_id_by_name (b->t, r->label);
      r->item->confidence = r->confidence;
      r->item->uncertainty = r->uncertainty;
    }
  if (strcmp (b->t->filter, "mistakes") == 0
      || g_str_has_prefix (b->t->filter, "cell:"))
    hippo_trainer_refilter (b->t);
  hippo_thumb_grid_redraw (b->t->grid);
  return G_SOURCE_REMOVE;
}

static void
flush_results (ClassifyJob *j)
{
  ResultBatch *b;

  if (j->batch->len == 0)
    return;
  b = g_new0 (ResultBatch, 1);
  b->t = j->t;
  b->results = j->batch;
  j->batch = g_array_new (FALSE, FALSE, sizeof (Result));
  hippo_trainer_post (j->t, apply_results, b, result_batch_free);
}

typedef struct
{
  HippoTrainer *t;
  gboolean train;
  char *json;    /* metrics of a training */
  char *error;   /* it failed or was cancelled */
  char *message; /* something to say otherwise */
  gboolean last; /* the job's last report */
  guint n_shown;
} Done;

static void
done_free (gpointer data)
{
  Done *d = data;

  g_free (d->json);
  g_free (d->error);
  g_free (d->message);
  g_free (d);
}

static gboolean
job_finished (gpointer data)
{
  Done *d = data;
  HippoTrainer *t = d->t;
  g_autofree char *text = NULL;

  if (d->json)
    {
      g_free (t->metrics_json);
      t->metrics_json = g_strdup (d->json);
      hippo_metrics_view_set_json (t->metrics, t->metrics_json);
    }
  if (!d->last)
    return G_SOURCE_REMOVE; /* classifying follows */
  if (d->train)
    t->busy_train = FALSE;
  else
    t->n_predict_jobs--;
  hippo_trainer_update_buttons (t);
  if (d->error)
    {
      g_free (t->last_error);
      t->last_error = g_strdup (d->error);
    }
  if (d->train || d->error || d->n_shown > 0)
    {
      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (t->progress),
                                     d->error ? 0 : 1);
      gtk_progress_bar_set_text (GTK_PROGRESS_BAR (t->progress),
                                 d->error ? "Stopped" : "Done");
    }
  if (d->error)
    hippo_trainer_set_status (t, d->error);
  else if (d->train)
    hippo_trainer_set_status (t, "Trained; predictions shown under each "
                                 "image.");
  else if (d->message)
    hippo_trainer_set_status (t, d->message);
  else if (d->n_shown > 0)
    {
      text = g_strdup_printf ("%u image%s added; predictions of the last "
                              "training shown.",
                              d->n_shown, d->n_shown == 1 ? "" : "s");
      hippo_trainer_set_status (t, text);
    }
  hippo_trainer_refilter (t);
  return G_SOURCE_REMOVE;
}

static void
post_done (ClassifyJob *j, char *json, const char *error, const char *message,
           gboolean last)
{
  Done *d = g_new0 (Done, 1);

  d->t = j->t;
  d->train = j->train;
  d->json = json;
  d->error = g_strdup (error);
  d->message = g_strdup (message);
  d->last = last;
  d->n_shown = j->done;
  hippo_trainer_post (j->t, job_finished, d, done_free);
}

/* ------------------------------------------------------------ worker */

static void
add_result (ClassifyJob *j, HippoTrainerItem *it, const HippoPrediction *p)
{
  Result r = { it, g_strdup (p->label), p->confidence, NAN };

  if (p->n_classes > 0)
    hippo_head_uncertainty (p->scores, 1, p->n_classes, j->multi_label,
                            &r.uncertainty);
  g_array_append_val (j->batch, r);
}

static gboolean
on_classified (guint index, const char *path, const HippoPrediction *p,
               const GError *error, gpointer user_data)
{
  ClassifyJob *j = user_data;
  gint64 now = g_get_monotonic_time ();
  guint total = j->images->len + j->items->len;
  char text[64];

  j->done++;
  if (p)
    add_result (j, j->items->pdata[j->first + index], p);
  if (j->batch->len >= POST_BATCH || now - j->last_post > 250000)
    {
      flush_results (j);
      g_snprintf (text, sizeof text, "Classifying %u of %u", j->done, total);
      post_progress (j->t, (double) j->done / MAX (1, total), text);
      j->last_post = now;
    }
  return !hippo_worker_is_cancelled (j->t->worker);
}

static gboolean
on_train_progress (guint64 done, guint64 total, gpointer user_data)
{
  ClassifyJob *j = user_data;
  gint64 now = g_get_monotonic_time ();

  if (now - j->last_post > 100000)
    {
      post_progress (j->t, total ? (double) done / total : 0, "Training");
      j->last_post = now;
    }
  return !hippo_worker_is_cancelled (j->t->worker);
}

/* Whether the stored head may classify: it exists and was trained on the
 * current labels. Else *message says why not (NULL: never trained). */
static gboolean
head_is_current (HippoClassifier *c, char **message, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (HippoHeadRecord) rec
    = hippo_project_load_head (hippo_classifier_get_project (c), &local);

  *message = NULL;
  if (rec == NULL)
    {
      if (local == NULL)
        return FALSE;
      if (local->domain == HIPPO_ERROR && local->code == HIPPO_ERROR_STATE)
        return FALSE; /* not trained: nothing to show */
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (rec->stale)
    {
      *message = g_strdup ("The labels changed since the last training: "
                           "train (Ctrl+T) to see predictions.");
      return FALSE;
    }
  return TRUE;
}

static void run_classify_job (HippoWorker *w, HippoClassifier *c,
                              gpointer data);
static void classify_job_end (gpointer data);

/* The next link of @j's chain, from file @first on. */
static ClassifyJob *
continuation (ClassifyJob *j, guint first)
{
  ClassifyJob *next = g_new0 (ClassifyJob, 1);

  next->t = hippo_trainer_ref (j->t);
  next->train = j->train;
  next->started = TRUE;
  next->images = g_ptr_array_ref (j->images);
  next->items = g_ptr_array_ref (j->items);
  next->paths = g_ptr_array_ref (j->paths);
  next->first = first;
  next->batch = g_array_new (FALSE, FALSE, sizeof (Result));
  next->multi_label = j->multi_label;
  next->done = j->done;
  next->last_post = j->last_post;
  return next;
}

/* The first link: trains (for a training), then classifies the images
 * without a file. FALSE when it reported the end. */
static gboolean
start_chain (ClassifyJob *j, HippoWorker *w, HippoClassifier *c)
{
  g_autoptr (GError) error = NULL;

  if (j->train)
    {
      char *json = hippo_classifier_train (c, 0, on_train_progress, j, &error);
      if (json == NULL)
        {
          post_done (j, NULL, error->message, NULL, TRUE);
          return FALSE;
        }
      post_done (j, json, NULL, NULL, FALSE);
    }
  j->multi_label
    = hippo_project_get_multi_label (hippo_classifier_get_project (c), NULL);
  for (guint i = 0; i < j->images->len && !hippo_worker_is_cancelled (w); i++)
    {
      HippoTrainerItem *it = j->images->pdata[i];
      HippoPrediction p;
      if (!hippo_classifier_classify_image (c, it->image, &p, &error))
        {
          flush_results (j);
          post_done (j, NULL, error->message, NULL, TRUE);
          return FALSE;
        }
      add_result (j, it, &p);
      hippo_prediction_clear (&p);
      j->done++;
    }
  return TRUE;
}

/* On the worker: one link of the chain. */
static void
run_classify_job (HippoWorker *w, HippoClassifier *c, gpointer data)
{
  ClassifyJob *j = data;
  g_autoptr (GError) error = NULL;
  guint n;

  j->ran = TRUE;
  if (!j->train && !j->started)
    {
      g_autofree char *why = NULL;
      if (!head_is_current (c, &why, &error))
        {
          post_done (j, NULL, error ? error->message : NULL, why, TRUE);
          return;
        }
    }
  if (!j->started && !start_chain (j, w, c))
    return;
  n = MIN (FILES_PER_JOB, j->paths->len - j->first);
  if (hippo_worker_is_cancelled (w))
    g_set_error (&error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED, "cancelled");
  else if (n > 0)
    hippo_classifier_classify_files (
      c, (const char *const *) j->paths->pdata + j->first, n, on_classified, j,
      &error);
  flush_results (j);
  if (error && g_error_matches (error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED))
    post_done (j, NULL, "Stopped.", NULL, TRUE);
  else if (error)
    post_done (j, NULL, error->message, NULL, TRUE);
  else if (j->first + n < j->paths->len)
    hippo_worker_push_next (w, run_classify_job, continuation (j, j->first + n),
                            classify_job_end);
  else
    post_done (j, NULL, NULL, NULL, TRUE);
}

/* ------------------------------------------------------------ actions */

/* The job's destroy notify: one that Cancel dropped before it ran still
 * reports its end (on the worker, or on the main thread when the window
 * closes, where the report is skipped). */
static void
classify_job_end (gpointer data)
{
  ClassifyJob *j = data;

  if (!j->ran)
    post_done (j, NULL, j->train || j->started ? "Stopped." : NULL, NULL, TRUE);
  classify_job_free (j);
}

static ClassifyJob *
classify_job_new (HippoTrainer *t, GPtrArray *items, gboolean train)
{
  ClassifyJob *j = g_new0 (ClassifyJob, 1);

  j->t = hippo_trainer_ref (t);
  j->train = train;
  j->images = g_ptr_array_new ();
  j->items = g_ptr_array_new ();
  j->paths = g_ptr_array_new_with_free_func (g_free);
  j->batch = g_array_new (FALSE, FALSE, sizeof (Result));
  for (guint i = 0; i < items->len; i++)
    {
      HippoTrainerItem *it = items->pdata[i];
      if (it->path)
        {
          g_ptr_array_add (j->items, it);
          g_ptr_array_add (j->paths, g_strdup (it->path));
        }
      else if (it->image)
        g_ptr_array_add (j->images, it);
    }
  return j;
}

void
hippo_trainer_train (HippoTrainer *t)
{
  if (t->busy_train)
    return;
  t->busy_train = TRUE;
  hippo_trainer_update_buttons (t);
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (t->progress), 0);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (t->progress), "Training");
  hippo_trainer_set_status (t, "Training…");
  hippo_worker_push (t->worker, run_classify_job,
                     classify_job_new (t, t->items, TRUE), classify_job_end,
                     TRUE);
}

void
hippo_trainer_predict (HippoTrainer *t, GPtrArray *items)
{
  ClassifyJob *j;

  if (items->len == 0 || t->closed)
    return;
  j = classify_job_new (t, items, FALSE);
  t->n_predict_jobs++;
  hippo_trainer_update_buttons (t);
  hippo_worker_push (t->worker, run_classify_job, j, classify_job_end, TRUE);
}

void
hippo_trainer_cancel (HippoTrainer *t)
{
  hippo_worker_cancel (t->worker);
  hippo_trainer_set_status (t, "Stopping…");
}
