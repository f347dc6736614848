/* Features of many files: a pipeline over the extractor's T threads.
 *
 * Each thread (a "lane") has a session of its own that runs on that thread
 * alone, and takes the next piece of work there is: hashing a file, or
 * decoding up to a batch of files and running the network on them. So one
 * lane decodes while another runs the network, and T lanes never keep more
 * than T cores busy: the sessions' GEMMs run on the lane that calls them
 * (OpenBLAS single-threaded, as every session sets it). The calling thread
 * is lane 0: between its own pieces of work it admits files into a window
 * of slots, asks the caller what each needs (prepare, hashed: e.g. cache
 * look-ups, which so stay on the caller's thread) and delivers the outcomes
 * in input order. The window bounds the memory whatever the number of
 * files.
 *
 * Single images (hippo_extractor_get_session()) use a session of T
 * threads that splits each layer instead; the lanes and their threads are
 * made on the first run.
 */
#include "hippo-config.h"

#include <string.h>

#include "digest.h"
#include "extract-private.h"
#include "hippotag/hippotag-image.h"
#include "image/image-private.h"
#include "engine/model-private.h"

typedef enum
{
  SLOT_NEW,  /* admitted; prepare not called yet */
  SLOT_HASH, /* to hash */
  SLOT_HASHING,
  SLOT_HASHED,  /* hashed or failed; hashed not called yet */
  SLOT_EXTRACT, /* to decode and run */
  SLOT_EXTRACTING,
  SLOT_DONE, /* to deliver */
} SlotState;

typedef struct
{
  HippoItem item;
  SlotState state;
} Slot;

typedef struct
{
  HippoExtractor *ex;
  GThread *thread;       /* NULL for lane 0, the calling thread */
  HippoSession *session; /* runs on this lane alone */
  gboolean own_session;
  float *inputs;   /* batch * in_floats */
  float *features; /* batch * dim */
  Slot **claimed;  /* batch */
  int n_claimed;
  gboolean hashing; /* what was claimed */
  gint64 us[HIPPO_N_STAGES];
} Lane;

struct _HippoExtractor
{
  HippoModel *model;
  HippoSession *session; /* n_threads threads, batch 1: single images */
  HippoSessionParams lane_params;
  char *layers;
  int n_threads;
  int batch; /* per lane */
  guint dim;
  int in_w, in_h;
  gsize in_floats;

  Lane *lanes; /* n_threads */
  int n_lanes; /* made so far; 0 before the first run */

  GMutex lock;
  GCond work_cond; /* lanes 1.. wait here for work */
  GCond main_cond; /* lane 0 waits here for a slot to change */
  gboolean quit;
  gboolean main_waiting;

  /* the run */
  Slot *slots;          /* window */
  float *slot_features; /* window * dim */
  guint window;
  gboolean running;
  gboolean stopping; /* delivery stopped: no new work */
  guint next_in;     /* next file to admit */
  guint next_out;    /* next file to deliver */
  int n_busy;        /* slots being worked on */

  /* HIPPOTAG_PROFILE */
  gboolean profile;
  gint64 run_start;
  gint64 wall_us;
  guint64 n_files;
  guint64 n_extracted;
  guint64 n_failed;
};

static Slot *
slot_at (HippoExtractor *ex, guint i)
{
  return &ex->slots[i % ex->window];
}

static gint64
now_if (const HippoExtractor *ex)
{
  return ex->profile ? g_get_monotonic_time () : 0;
}

HippoExtractor *
hippo_extractor_new (HippoModel *model, const HippoSessionParams *params,
                     GError **error)
{
  HippoSessionParams defaults, single;
  HippoSession *probe;
  HippoExtractor *ex;
  const char *prof;

  g_return_val_if_fail (model != NULL, NULL);
  if (params == NULL)
    {
      hippo_session_params_default (&defaults);
      params = &defaults;
    }
  ex = g_new0 (HippoExtractor, 1);
  g_mutex_init (&ex->lock);
  g_cond_init (&ex->work_cond);
  g_cond_init (&ex->main_cond);
  ex->model = hippo_model_ref (model);
  ex->batch = params->max_batch;
  ex->n_threads
    = params->n_threads > 0 ? params->n_threads : (int) g_get_num_processors ();

  /* The session for single images (with one thread, lane 0's too) checks
   * the parameters for all. */
  single = *params;
  single.n_threads = ex->n_threads;
  if (ex->n_threads > 1 && single.max_batch >= 1)
    single.max_batch = 1;
  ex->session = hippo_session_new (model, &single, error);
  if (ex->session == NULL)
    {
      hippo_extractor_free (ex);
      return NULL;
    }
  if (ex->n_threads > 1 && ex->batch > 1)
    {
      /* a batch out of range is refused here, with its message */
      single.n_threads = 1;
      single.max_batch = ex->batch;
      probe = hippo_session_new (model, &single, error);
      if (probe == NULL)
        {
          hippo_extractor_free (ex);
          return NULL;
        }
      hippo_session_free (probe);
    }
  ex->layers = g_strdup (hippo_session_get_layers (ex->session));
  ex->lane_params = *params;
  ex->lane_params.n_threads = 1;
  ex->lane_params.max_batch = ex->batch;
  ex->lane_params.layers = ex->layers;
  ex->dim = hippo_session_get_dim (ex->session);
  hippo_model_get_input_size (model, &ex->in_w, &ex->in_h);
  ex->in_floats = (gsize) ex->in_w * ex->in_h * 3;
  ex->lanes = g_new0 (Lane, ex->n_threads);
  /* room for every lane to work on a batch while as many wait, and for
   * the calling thread to be busy with a piece of its own meanwhile */
  ex->window = MAX (16, 4 * ex->n_threads * ex->batch);
  ex->slots = g_new0 (Slot, ex->window);
  ex->slot_features
    = g_try_malloc_n ((gsize) ex->window * ex->dim, sizeof (float));
  if (ex->slot_features == NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "out of memory for the features of %u files", ex->window);
      hippo_extractor_free (ex);
      return NULL;
    }
  for (guint i = 0; i < ex->window; i++)
    ex->slots[i].item.features = ex->slot_features + (gsize) i * ex->dim;
  prof = g_getenv ("HIPPOTAG_PROFILE");
  ex->profile = g_strcmp0 (prof, "1") == 0 || g_strcmp0 (prof, "pipeline") == 0;
  return ex;
}

static void lane_clear (Lane *lane);

static void
print_profile (HippoExtractor *ex)
{
  static const char *const names[HIPPO_N_STAGES]
    = { "hash", "decode", "resize", "network", "lookup",
        "head", "output", "store",  "idle" };
  gint64 sum[HIPPO_N_STAGES] = { 0 };
  double threads_us, busy = 0, per;

  if (ex->n_files == 0 || ex->wall_us <= 0)
    return;
  for (int l = 0; l < ex->n_lanes; l++)
    for (int s = 0; s < HIPPO_N_STAGES; s++)
      sum[s] += ex->lanes[l].us[s];
  for (int s = 0; s < HIPPO_N_STAGES; s++)
    if (s != HIPPO_STAGE_IDLE)
      busy += sum[s];
  threads_us = (double) ex->wall_us * MAX (ex->n_lanes, 1);
  per = (double) ex->n_files;
  g_printerr ("hippotag pipeline: %" G_GUINT64_FORMAT
              " files (%" G_GUINT64_FORMAT
              " through the network, %" G_GUINT64_FORMAT
              " failed) in %.2f s: %.1f files/s, %d threads, batch %d\n",
              ex->n_files, ex->n_extracted, ex->n_failed, ex->wall_us / 1e6,
              ex->n_files * 1e6 / ex->wall_us, MAX (ex->n_lanes, 1), ex->batch);
  g_printerr ("  %-8s %10s %9s %9s\n", "stage", "ms/file", "of time",
              "of work");
  for (int s = 0; s < HIPPO_N_STAGES; s++)
    {
      char work_share[32] = "";

      if (s != HIPPO_STAGE_IDLE && busy > 0)
        g_snprintf (work_share, sizeof work_share, "%.1f%%",
                    100.0 * sum[s] / busy);
      g_printerr ("  %-8s %10.3f %8.1f%% %8s\n", names[s],
                  sum[s] / 1000.0 / per, 100.0 * sum[s] / threads_us,
                  work_share);
    }
  g_printerr ("  (ms/file: thread time; of time: share of %d threads x "
              "the wall time; of work: share of the busy time)\n",
              MAX (ex->n_lanes, 1));
}

void
hippo_extractor_free (HippoExtractor *ex)
{
  if (ex == NULL)
    return;
  if (ex->profile)
    print_profile (ex);
  g_mutex_lock (&ex->lock);
  ex->quit = TRUE;
  g_cond_broadcast (&ex->work_cond);
  g_mutex_unlock (&ex->lock);
  for (int l = 0; ex->lanes && l < ex->n_lanes; l++)
    {
      Lane *lane = &ex->lanes[l];
      if (lane->thread)
        g_thread_join (lane->thread);
      lane_clear (lane);
    }
  g_free (ex->lanes);
  g_free (ex->slots);
  g_free (ex->slot_features);
  hippo_session_free (ex->session);
  hippo_model_free (ex->model);
  g_free (ex->layers);
  g_mutex_clear (&ex->lock);
  g_cond_clear (&ex->work_cond);
  g_cond_clear (&ex->main_cond);
  g_free (ex);
}

guint
hippo_extractor_get_dim (const HippoExtractor *ex)
{
  g_return_val_if_fail (ex != NULL, 0);
  return ex->dim;
}

HippoSession *
hippo_extractor_get_session (const HippoExtractor *ex)
{
  g_return_val_if_fail (ex != NULL, NULL);
  return ex->session;
}

gboolean
hippo_extractor_is_profiling (const HippoExtractor *ex)
{
  return ex->profile;
}

void
hippo_extractor_add_time (HippoExtractor *ex, HippoStage stage, gint64 us)
{
  if (ex->profile && ex->lanes != NULL)
    ex->lanes[0].us[stage] += us;
}

/* --- lanes -------------------------------------------------------------- */

/* Under the lock: claims work for a lane, the oldest first: one file to
 * hash, or up to a batch of files to extract. Lane 0 prefers hashing (a
 * short piece, so it is soon back to its other duties), the others
 * extracting; max bounds the batch. Returns how many slots were
 * claimed. */
static int
claim (HippoExtractor *ex, Lane *lane, gboolean prefer_hash, int max)
{
  Slot *hash = NULL;
  int n = 0;

  if (!ex->running || ex->stopping)
    return 0;
  for (guint i = ex->next_out; i < ex->next_in; i++)
    {
      Slot *s = slot_at (ex, i);

      if (s->state == SLOT_HASH && hash == NULL)
        hash = s;
      else if (s->state == SLOT_EXTRACT && n < max)
        lane->claimed[n++] = s;
      if (hash && (prefer_hash || n == max))
        break;
    }
  if (hash && (prefer_hash || n == 0))
    {
      hash->state = SLOT_HASHING;
      lane->claimed[0] = hash;
      lane->hashing = TRUE;
      n = 1;
    }
  else
    {
      for (int k = 0; k < n; k++)
        lane->claimed[k]->state = SLOT_EXTRACTING;
      lane->hashing = FALSE;
    }
  lane->n_claimed = n;
  ex->n_busy += n;
  return n;
}

/* Without the lock: does what the lane claimed. */
static void
work (HippoExtractor *ex, Lane *lane)
{
  gint64 t0 = now_if (ex), t1;
  int n = lane->n_claimed, n_ok = 0;
  int *map = g_newa (int, n);

  if (lane->hashing)
    {
      HippoItem *item = &lane->claimed[0]->item;

      hippo_digest_file (item->hash_path ? item->hash_path : item->path,
                         item->hash, &item->st, &item->stable, &item->error);
      if (ex->profile)
        lane->us[HIPPO_STAGE_HASH] += g_get_monotonic_time () - t0;
      return;
    }
  for (int k = 0; k < n; k++)
    {
      HippoItem *item = &lane->claimed[k]->item;
      HippoImage *image;

      map[k] = -1;
      image = hippo_image_load_for_input (item->path, ex->in_w, ex->in_h,
                                          &item->error);
      t1 = now_if (ex);
      lane->us[HIPPO_STAGE_DECODE] += t1 - t0;
      t0 = t1;
      if (image == NULL)
        continue;
      hippo_image_to_input (image, ex->in_w, ex->in_h,
                            lane->inputs + (gsize) n_ok * ex->in_floats);
      hippo_image_free (image);
      map[k] = n_ok++;
      t1 = now_if (ex);
      lane->us[HIPPO_STAGE_RESIZE] += t1 - t0;
      t0 = t1;
    }
  if (n_ok > 0)
    {
      GError *local = NULL;

      if (!hippo_session_run (lane->session, lane->inputs, n_ok, lane->features,
                              &local))
        {
          for (int k = 0; k < n; k++)
            if (map[k] >= 0)
              {
                lane->claimed[k]->item.error = g_error_copy (local);
                map[k] = -1;
              }
          g_error_free (local);
        }
      lane->us[HIPPO_STAGE_NETWORK] += now_if (ex) - t0;
    }
  for (int k = 0; k < n; k++)
    if (map[k] >= 0)
      {
        HippoItem *item = &lane->claimed[k]->item;

        memcpy (item->features, lane->features + (gsize) map[k] * ex->dim,
                ex->dim * sizeof (float));
        item->have = TRUE;
        item->extracted = TRUE;
      }
}

/* Under the lock: hands the finished work back. */
static void
finish (HippoExtractor *ex, Lane *lane)
{
  for (int k = 0; k < lane->n_claimed; k++)
    lane->claimed[k]->state = lane->hashing ? SLOT_HASHED : SLOT_DONE;
  ex->n_busy -= lane->n_claimed;
  lane->n_claimed = 0;
  if (ex->main_waiting)
    g_cond_signal (&ex->main_cond);
}

static gpointer
lane_main (gpointer data)
{
  Lane *lane = data;
  HippoExtractor *ex = lane->ex;

  g_mutex_lock (&ex->lock);
  while (!ex->quit)
    {
      if (claim (ex, lane, FALSE, ex->batch) == 0)
        {
          gint64 t0 = now_if (ex);
          g_cond_wait (&ex->work_cond, &ex->lock);
          /* idle between runs is not counted */
          if (ex->running)
            lane->us[HIPPO_STAGE_IDLE] += now_if (ex) - MAX (t0, ex->run_start);
          continue;
        }
      g_mutex_unlock (&ex->lock);
      work (ex, lane);
      g_mutex_lock (&ex->lock);
      finish (ex, lane);
    }
  g_mutex_unlock (&ex->lock);
  return NULL;
}

static gboolean
lane_init (HippoExtractor *ex, Lane *lane, HippoSession *session,
           GError **error)
{
  lane->ex = ex;
  if (session)
    lane->session = session;
  else
    {
      lane->session = hippo_session_new (ex->model, &ex->lane_params, error);
      if (lane->session == NULL)
        return FALSE;
      lane->own_session = TRUE;
    }
  lane->inputs
    = g_try_malloc_n ((gsize) ex->batch * ex->in_floats, sizeof (float));
  lane->features = g_try_malloc_n ((gsize) ex->batch * ex->dim, sizeof (float));
  lane->claimed = g_new0 (Slot *, ex->batch);
  if (lane->inputs == NULL || lane->features == NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "out of memory for a batch of %d", ex->batch);
      return FALSE;
    }
  return TRUE;
}

static void
lane_clear (Lane *lane)
{
  if (lane->own_session)
    hippo_session_free (lane->session);
  g_free (lane->inputs);
  g_free (lane->features);
  g_free (lane->claimed);
  memset (lane, 0, sizeof *lane);
}

/* Makes the lanes on the first run: T lanes of one thread each; when that
 * fails (memory, threads), as many as could be made, and at worst lane 0
 * alone with the T-thread session, whose layers use all the threads. */
static gboolean
ensure_lanes (HippoExtractor *ex, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (ex->n_lanes > 0)
    return TRUE;
  if (ex->n_threads > 1)
    {
      if (lane_init (ex, &ex->lanes[0], NULL, &local))
        {
          ex->n_lanes = 1;
          for (int l = 1; l < ex->n_threads; l++)
            {
              Lane *lane = &ex->lanes[l];

              if (!lane_init (ex, lane, NULL, &local))
                {
                  lane_clear (lane);
                  break;
                }
              lane->thread
                = g_thread_try_new ("hippo-lane", lane_main, lane, &local);
              if (lane->thread == NULL)
                {
                  lane_clear (lane);
                  break;
                }
              ex->n_lanes++;
            }
          if (ex->n_lanes > 1)
            return TRUE;
          lane_clear (&ex->lanes[0]);
          ex->n_lanes = 0;
        }
      g_debug ("the file pipeline runs on one thread: %s",
               local ? local->message : "no threads");
      g_clear_error (&local);
      ex->batch = 1; /* the batch of the session of all threads */
    }
  /* one lane: the calling thread with the session of all threads */
  if (!lane_init (ex, &ex->lanes[0], ex->session, error))
    {
      lane_clear (&ex->lanes[0]);
      return FALSE;
    }
  ex->n_lanes = 1;
  return TRUE;
}

/* --- the run ------------------------------------------------------------ */

static SlotState
decide (HippoExtractor *ex, Slot *s, const HippoItemFuncs *funcs,
        gpointer user_data)
{
  HippoItem *item = &s->item;
  HippoItemAction action;

  if (s->state == SLOT_HASHED)
    {
      if (item->error)
        return SLOT_DONE;
      action
        = funcs->hashed ? funcs->hashed (item, user_data) : HIPPO_ITEM_EXTRACT;
      if (action == HIPPO_ITEM_HASH)
        action = HIPPO_ITEM_EXTRACT;
    }
  else
    action
      = funcs->prepare ? funcs->prepare (item, user_data) : HIPPO_ITEM_EXTRACT;
  switch (action)
    {
      case HIPPO_ITEM_HASH:
        return SLOT_HASH;
      case HIPPO_ITEM_HAVE:
        item->have = TRUE;
        return SLOT_DONE;
      case HIPPO_ITEM_FAIL:
        if (item->error == NULL)
          g_set_error (&item->error, HIPPO_ERROR, HIPPO_ERROR_IO, "%s: failed",
                       item->path);
        return SLOT_DONE;
      case HIPPO_ITEM_EXTRACT:
      default:
        return SLOT_EXTRACT;
    }
}

static void
item_reset (HippoItem *item, guint index, const char *path)
{
  item->index = index;
  item->path = path;
  g_clear_pointer (&item->hash_path, g_free);
  item->hash[0] = '\0';
  memset (&item->st, 0, sizeof item->st);
  item->stable = FALSE;
  item->have = FALSE;
  item->extracted = FALSE;
  g_clear_error (&item->error);
}

gboolean
hippo_extractor_run_items (HippoExtractor *ex, const char *const *paths,
                           guint n_paths, const HippoItemFuncs *funcs,
                           gpointer user_data, GError **error)
{
  Lane *me;
  gboolean ok = TRUE;
  gint64 start;

  g_return_val_if_fail (ex != NULL && funcs != NULL && funcs->deliver, FALSE);
  g_return_val_if_fail (n_paths == 0 || paths != NULL, FALSE);
  g_return_val_if_fail (!ex->running, FALSE);
  if (n_paths == 0)
    return TRUE;
  if (!ensure_lanes (ex, error))
    return FALSE;
  me = &ex->lanes[0];
  start = now_if (ex);
  ex->run_start = start;

  g_mutex_lock (&ex->lock);
  ex->running = TRUE;
  ex->stopping = FALSE;
  ex->next_in = ex->next_out = 0;
  for (;;)
    {
      gboolean changed = FALSE, new_work = FALSE;

      while (!ex->stopping && ex->next_in < n_paths
             && ex->next_in - ex->next_out < ex->window)
        {
          Slot *s = slot_at (ex, ex->next_in);
          item_reset (&s->item, ex->next_in, paths[ex->next_in]);
          s->state = SLOT_NEW;
          ex->next_in++;
        }
      /* Slots in NEW and HASHED are the calling thread's alone. */
      for (guint i = ex->next_out; !ex->stopping && i < ex->next_in; i++)
        {
          Slot *s = slot_at (ex, i);
          SlotState next;
          gint64 t0;

          if (s->state != SLOT_NEW && s->state != SLOT_HASHED)
            continue;
          g_mutex_unlock (&ex->lock);
          t0 = now_if (ex);
          next = decide (ex, s, funcs, user_data);
          me->us[HIPPO_STAGE_LOOKUP] += now_if (ex) - t0;
          g_mutex_lock (&ex->lock);
          s->state = next;
          new_work |= next == SLOT_HASH || next == SLOT_EXTRACT;
          changed = TRUE;
        }
      if (new_work && ex->n_lanes > 1)
        g_cond_broadcast (&ex->work_cond);
      /* deliver in order */
      while (ex->next_out < ex->next_in
             && slot_at (ex, ex->next_out)->state == SLOT_DONE)
        {
          Slot *s = slot_at (ex, ex->next_out);
          gboolean go;

          g_mutex_unlock (&ex->lock);
          ex->n_files++;
          if (s->item.extracted)
            ex->n_extracted++;
          if (!s->item.have)
            ex->n_failed++;
          go = funcs->deliver (&s->item, user_data);
          item_reset (&s->item, 0, NULL);
          g_mutex_lock (&ex->lock);
          ex->next_out++;
          changed = TRUE;
          if (!go)
            {
              ex->stopping = TRUE;
              ok = FALSE;
              break;
            }
        }
      if (ex->stopping)
        {
          /* wait for the work in flight, then leave */
          ex->main_waiting = TRUE;
          while (ex->n_busy > 0)
            g_cond_wait (&ex->main_cond, &ex->lock);
          ex->main_waiting = FALSE;
          break;
        }
      if (ex->next_out == n_paths)
        break;
      if (changed)
        continue;
      /* one file at a time when other lanes wait on this one's duties */
      if (claim (ex, me, TRUE, ex->n_lanes > 1 ? 1 : ex->batch) > 0)
        {
          g_mutex_unlock (&ex->lock);
          work (ex, me);
          g_mutex_lock (&ex->lock);
          finish (ex, me);
          continue;
        }
      {
        gint64 t0 = now_if (ex);
        ex->main_waiting = TRUE;
        g_cond_wait (&ex->main_cond, &ex->lock);
        ex->main_waiting = FALSE;
        me->us[HIPPO_STAGE_IDLE] += now_if (ex) - t0;
      }
    }
  for (guint i = ex->next_out; i < ex->next_in; i++)
    item_reset (&slot_at (ex, i)->item, 0, NULL);
  ex->running = FALSE;
  ex->next_in = ex->next_out = 0;
  g_mutex_unlock (&ex->lock);
  if (ex->profile)
    ex->wall_us += g_get_monotonic_time () - start;
  if (!ok)
    g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED, "cancelled");
  return ok;
}

/* --- the public run ----------------------------------------------------- */

typedef struct
{
  HippoExtractor *ex;
  HippoExtractFunc func;
  gpointer user_data;
} PlainRun;

static gboolean
plain_deliver (HippoItem *item, gpointer user_data)
{
  PlainRun *r = user_data;
  gint64 t0 = now_if (r->ex);
  gboolean go;

  go = r->func (item->index, item->path, item->have ? item->features : NULL,
                item->error, r->user_data);
  hippo_extractor_add_time (r->ex, HIPPO_STAGE_OUTPUT, now_if (r->ex) - t0);
  return go;
}

gboolean
hippo_extractor_run (HippoExtractor *ex, const char *const *paths,
                     guint n_paths, HippoExtractFunc func, gpointer user_data,
                     GError **error)
{
  static const HippoItemFuncs funcs = { NULL, NULL, plain_deliver };
  PlainRun r = { ex, func, user_data };

  g_return_val_if_fail (ex != NULL && func != NULL, FALSE);
  g_return_val_if_fail (n_paths == 0 || paths != NULL, FALSE);
  return hippo_extractor_run_items (ex, paths, n_paths, &funcs, &r, error);
}
