/* A project at work: model, feature cache, labelling, training and
 * prediction. */
#include "hippo-config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "extract-private.h"
#include "hippotag/hippotag-classifier.h"
#include "hippotag/hippotag-head.h"
#include "store/project-private.h"

/* Files hashed and looked up per round of classify: keeps memory flat. */
#define CHUNK 256

struct _HippoClassifier
{
  HippoProject *project;
  HippoModel *model;
  HippoExtractor *extractor;
  char *layers;
  guint dim;
  /* the feature cache's version key: it covers everything that changes
   * the numbers, the preprocessing and the arithmetic (bfloat16 features
   * are cached apart from float32 ones) */
  int cache_version;
  gboolean read_only;
  gboolean cache_unlabelled;
  gboolean multi_label;
  double unsure_threshold;

  /* the trained head, loaded on first use */
  HippoHead *head;
  GPtrArray *head_names;  /* char*, in head class order */
  gboolean head_stale;
  gboolean head_loaded;
};

void
hippo_classifier_params_default (HippoClassifierParams *params)
{
  g_return_if_fail (params != NULL);
  memset (params, 0, sizeof *params);
  params->n_threads = 0;
  params->max_batch = 8;
  params->cache_unlabelled = TRUE;
  params->precision = HIPPO_PRECISION_AUTO;
}

HippoClassifier *
hippo_classifier_open (const char *path, const HippoClassifierParams *params,
                       GError **error)
{
  HippoClassifierParams defaults;
  HippoClassifier *c;
  HippoSessionParams sp;
  g_autofree char *model_name = NULL;
  g_autofree char *layers = NULL;
  HippoProjectOpenFlags flags = 0;

  g_return_val_if_fail (path != NULL, NULL);
  if (params == NULL)
    {
      hippo_classifier_params_default (&defaults);
      params = &defaults;
    }
  if (params->create)
    flags |= HIPPO_PROJECT_OPEN_CREATE;
  if (params->read_only)
    flags |= HIPPO_PROJECT_OPEN_READ_ONLY;

  c = g_new0 (HippoClassifier, 1);
  c->read_only = params->read_only;
  c->cache_unlabelled = params->cache_unlabelled && !params->read_only;
  c->project = hippo_project_open (path, flags, error);
  if (c->project == NULL)
    goto fail;
  /* a file or folder that cannot be written opens read-only */
  if (hippo_project_is_read_only (c->project))
    {
      c->read_only = TRUE;
      c->cache_unlabelled = FALSE;
    }

  model_name = hippo_project_get_string (c->project, HIPPO_SETTING_MODEL,
                                         NULL, error);
  if (model_name == NULL && error && *error)
    goto fail;
  if (model_name == NULL)
    model_name = g_strdup (params->model ? params->model
                                         : HIPPO_DEFAULT_MODEL);
  c->model = hippo_model_load (model_name, error);
  if (c->model == NULL)
    goto fail;
  layers = hippo_project_get_string (c->project, HIPPO_SETTING_LAYERS,
                                     hippo_model_get_default_layer (c->model),
                                     error);
  if (layers == NULL)
    goto fail;

  /* A new project records what it is made of. */
  if (!c->read_only)
    {
      g_autofree char *stored = hippo_project_get_string (
        c->project, HIPPO_SETTING_MODEL, NULL, NULL);
      if (stored == NULL
          && (!hippo_project_set_string (c->project, HIPPO_SETTING_MODEL,
                                         model_name, error)
              || !hippo_project_set_string (c->project,
                                            HIPPO_SETTING_LAYERS, layers,
                                            error)
              || !hippo_project_set_multi_label (c->project,
                                                 params->multi_label,
                                                 error)))
        goto fail;
      g_autofree char *stored_id = hippo_project_get_string (
        c->project, HIPPO_SETTING_MODEL_ID, NULL, NULL);
      if (g_strcmp0 (stored_id, hippo_model_get_id (c->model)) != 0
          && !hippo_project_set_string (c->project, HIPPO_SETTING_MODEL_ID,
                                        hippo_model_get_id (c->model),
                                        error))
        goto fail;
    }
  c->multi_label = hippo_project_get_multi_label (c->project, NULL);
  if (!hippo_project_get_double (c->project, HIPPO_SETTING_UNSURE_THRESHOLD,
                                 0.5, &c->unsure_threshold, error))
    goto fail;

  hippo_session_params_default (&sp);
  sp.n_threads = params->n_threads;
  sp.max_batch = MAX (1, params->max_batch);
  sp.layers = layers;
  sp.precision = params->precision;
  c->extractor = hippo_extractor_new (c->model, &sp, error);
  if (c->extractor == NULL)
    goto fail;
  c->cache_version
    = HIPPO_PREPROCESS_VERSION
      + (hippo_session_get_precision (hippo_extractor_get_session (
           c->extractor))
             == HIPPO_PRECISION_BFLOAT16
           ? HIPPO_CACHE_VERSION_BFLOAT16
           : 0);
  c->layers = g_strdup (hippo_session_get_layers (
    hippo_extractor_get_session (c->extractor)));
  c->dim = hippo_extractor_get_dim (c->extractor);
  return c;

fail:
  hippo_classifier_free (c);
  return NULL;
}

static void
drop_head (HippoClassifier *c)
{
  g_clear_pointer (&c->head, hippo_head_free);
  g_clear_pointer (&c->head_names, g_ptr_array_unref);
  c->head_loaded = FALSE;
}

void
hippo_classifier_free (HippoClassifier *c)
{
  if (c == NULL)
    return;
  drop_head (c);
  hippo_extractor_free (c->extractor);
  hippo_model_free (c->model);
  hippo_project_free (c->project);
  g_free (c->layers);
  g_free (c);
}

HippoProject *
hippo_classifier_get_project (HippoClassifier *c)
{
  g_return_val_if_fail (c != NULL, NULL);
  return c->project;
}

HippoModel *
hippo_classifier_get_model (HippoClassifier *c)
{
  g_return_val_if_fail (c != NULL, NULL);
  return c->model;
}

guint
hippo_classifier_get_dim (HippoClassifier *c)
{
  g_return_val_if_fail (c != NULL, 0);
  return c->dim;
}

/* --- features with the cache ------------------------------------------- */

/* Features written to the cache per transaction: one short write now and
 * then, so other users of the project are not locked out while the
 * network runs; a failed cache write is harmless. */
#define STORE_BATCH 64

typedef struct
{
  guint n;
  char **hashes;        /* per file, NULL when hashing failed */
  float *features;      /* n * dim */
  gboolean *have;       /* features present */
  GError **errors;      /* per file */
} Batch;

static void
batch_clear (Batch *b)
{
  for (guint i = 0; i < b->n; i++)
    {
      g_free (b->hashes[i]);
      g_clear_error (&b->errors[i]);
    }
  g_free (b->hashes);
  g_free (b->features);
  g_free (b->have);
  g_free (b->errors);
  memset (b, 0, sizeof *b);
}

/* One run of files through the extractor's pipeline with the project's
 * caches: hashes and features are looked up on this thread, new features
 * stored in groups. */
typedef struct _Run Run;
struct _Run
{
  HippoClassifier *c;
  gboolean store;
  gboolean profile;
  char (*store_hashes)[HIPPO_HASH_HEX_LEN + 1]; /* STORE_BATCH */
  float *store_features;                        /* STORE_BATCH * dim */
  guint n_store;
  /* what is done with each outcome, in input order */
  gboolean (*take) (Run *run, HippoItem *item);
  Batch *batch;
  HippoFileFunc func;
  gpointer user_data;
  float *probs;         /* n_classes */
};

/* Features cached for the item's hash, if any, into item->features. */
static HippoItemAction
lookup_features (HippoClassifier *c, HippoItem *item)
{
  float *cached = NULL;
  guint dim = 0;
  gboolean hit;

  /* a damaged cache entry is a miss: it is computed and replaced */
  if (!hippo_project_get_features (c->project, item->hash,
                                   hippo_model_get_id (c->model), c->layers,
                                   c->cache_version, &cached, &dim,
                                   NULL))
    cached = NULL;
  hit = cached != NULL && dim == c->dim;
  if (hit)
    memcpy (item->features, cached, c->dim * sizeof (float));
  g_free (cached);
  return hit ? HIPPO_ITEM_HAVE : HIPPO_ITEM_EXTRACT;
}

static HippoItemAction
run_prepare (HippoItem *item, gpointer user_data)
{
  Run *run = user_data;
  HippoClassifier *c = run->c;
  char *abs = hippo_prj_absolute_path (item->path);
  char *hash = hippo_prj_cached_file_hash (c->project, abs);

  if (hash == NULL)
    {
      /* hashed on a lane, where the file is read anyway */
      item->hash_path = abs;
      return HIPPO_ITEM_HASH;
    }
  g_strlcpy (item->hash, hash, sizeof item->hash);
  g_free (hash);
  g_free (abs);
  return lookup_features (c, item);
}

static HippoItemAction
run_hashed (HippoItem *item, gpointer user_data)
{
  Run *run = user_data;

  if (item->stable)
    hippo_prj_remember_file_hash (run->c->project, item->hash_path, &item->st,
                                  item->hash);
  return lookup_features (run->c, item);
}

static void
run_flush (Run *run)
{
  HippoClassifier *c = run->c;
  gint64 t0 = run->profile ? g_get_monotonic_time () : 0;

  if (run->n_store == 0)
    return;
  if (hippo_project_begin (c->project, NULL))
    {
      for (guint j = 0; j < run->n_store; j++)
        hippo_project_put_features (c->project, run->store_hashes[j],
                                    hippo_model_get_id (c->model), c->layers,
                                    c->cache_version,
                                    run->store_features + (gsize) j * c->dim,
                                    c->dim, NULL);
      if (!hippo_project_commit (c->project, NULL))
        hippo_project_rollback (c->project);
    }
  run->n_store = 0;
  if (run->profile)
    hippo_extractor_add_time (c->extractor, HIPPO_STAGE_STORE,
                              g_get_monotonic_time () - t0);
}

static gboolean
run_deliver (HippoItem *item, gpointer user_data)
{
  Run *run = user_data;
  HippoClassifier *c = run->c;
  gboolean go = run->take (run, item);

  if (run->store && item->extracted && item->hash[0])
    {
      memcpy (run->store_hashes[run->n_store], item->hash,
              HIPPO_HASH_HEX_LEN + 1);
      memcpy (run->store_features + (gsize) run->n_store * c->dim,
              item->features, c->dim * sizeof (float));
      if (++run->n_store == STORE_BATCH)
        run_flush (run);
    }
  return go;
}

/* Runs the files; FALSE only when take stopped it (error set). */
static gboolean
run_files (HippoClassifier *c, Run *run, const char *const *paths, guint n,
           gboolean store, GError **error)
{
  static const HippoItemFuncs funcs = { run_prepare, run_hashed,
                                        run_deliver };
  gboolean ok;

  run->c = c;
  run->store = store && !c->read_only;
  run->profile = hippo_extractor_is_profiling (c->extractor);
  if (run->store)
    {
      run->store_hashes = g_malloc (STORE_BATCH * sizeof *run->store_hashes);
      run->store_features = g_new (float, (gsize) STORE_BATCH * c->dim);
    }
  ok = hippo_extractor_run_items (c->extractor, paths, n, &funcs, run,
                                  error);
  if (run->store)
    run_flush (run);
  g_free (run->store_hashes);
  g_free (run->store_features);
  return ok;
}

static gboolean
take_into_batch (Run *run, HippoItem *item)
{
  Batch *b = run->batch;
  guint i = item->index;

  if (item->hash[0])
    b->hashes[i] = g_strdup (item->hash);
  if (item->have)
    {
      memcpy (b->features + (gsize) i * run->c->dim, item->features,
              run->c->dim * sizeof (float));
      b->have[i] = TRUE;
    }
  else
    b->errors[i] = g_steal_pointer (&item->error);
  return TRUE;
}

/* Features of files: cached ones from the project, the rest through the
 * network (and into the cache when store is set). Per-file failures are in
 * b->errors; FALSE only for a failure of the project itself. */
static gboolean
batch_features (HippoClassifier *c, const char *const *paths, guint n,
                gboolean store, Batch *b, GError **error)
{
  Run run = { 0 };

  b->n = n;
  b->hashes = g_new0 (char *, n);
  b->features = g_new0 (float, (gsize) n * c->dim);
  b->have = g_new0 (gboolean, n);
  b->errors = g_new0 (GError *, n);
  run.take = take_into_batch;
  run.batch = b;
  return run_files (c, &run, paths, n, store, error);
}

static char *
image_hash (const HippoImage *image)
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

static gboolean
image_features (HippoClassifier *c, const HippoImage *image, float *out,
                GError **error)
{
  HippoSession *s = hippo_extractor_get_session (c->extractor);
  int w, h;
  g_autofree float *input = NULL;

  hippo_model_get_input_size (c->model, &w, &h);
  input = g_new (float, (gsize) w * h * 3);
  hippo_image_to_input (image, w, h, input);
  return hippo_session_run (s, input, 1, out, error);
}

/* --- labelling ---------------------------------------------------------- */

gboolean
hippo_classifier_label_files (HippoClassifier *c, const char *class_name,
                              const char *const *paths, guint n_paths,
                              HippoFileFunc func, gpointer user_data,
                              GError **error)
{
  g_autoptr (HippoClassInfo) info = NULL;

  g_return_val_if_fail (c != NULL && class_name != NULL, FALSE);
  if (c->read_only)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                   "the project is open read-only");
      return FALSE;
    }
  info = hippo_project_lookup_class (c->project, class_name, error);
  if (info == NULL)
    return FALSE;

  for (guint first = 0; first < n_paths; first += CHUNK)
    {
      guint n = MIN (CHUNK, n_paths - first);
      Batch b = { 0 };
      gboolean ok;

      if (!batch_features (c, paths + first, n, TRUE, &b, error))
        {
          batch_clear (&b);
          return FALSE;
        }
      ok = hippo_project_begin (c->project, error);
      for (guint i = 0; ok && i < n; i++)
        if (b.have[i]
            && !hippo_project_add_example (c->project, class_name,
                                           paths[first + i], b.hashes[i],
                                           HIPPO_EXAMPLE_SOURCE_FILE, NULL,
                                           &b.errors[i]))
          b.have[i] = FALSE;
      if (ok && !hippo_project_commit (c->project, error))
        {
          hippo_project_rollback (c->project);
          ok = FALSE;
        }
      for (guint i = 0; ok && func && i < n; i++)
        if (!func (first + i, paths[first + i], NULL, b.errors[i],
                   user_data))
          {
            g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED,
                         "cancelled");
            ok = FALSE;
          }
      batch_clear (&b);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

gboolean
hippo_classifier_label_image (HippoClassifier *c, const char *class_name,
                              const HippoImage *image, const char *path,
                              GError **error)
{
  g_autofree char *hash = NULL;
  g_autofree float *features = NULL;

  g_return_val_if_fail (c != NULL && class_name && image != NULL, FALSE);
  if (c->read_only)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                   "the project is open read-only");
      return FALSE;
    }
  hash = image_hash (image);
  features = g_new (float, c->dim);
  if (!image_features (c, image, features, error))
    return FALSE;
  if (!hippo_project_begin (c->project, error))
    return FALSE;
  if (!hippo_project_put_features (c->project, hash,
                                   hippo_model_get_id (c->model), c->layers,
                                   c->cache_version, features,
                                   c->dim, error)
      || !hippo_project_add_example (c->project, class_name, path, hash,
                                     HIPPO_EXAMPLE_SOURCE_GIMP, NULL, error)
      || !hippo_project_commit (c->project, error))
    {
      hippo_project_rollback (c->project);
      return FALSE;
    }
  return TRUE;
}

/* --- training ----------------------------------------------------------- */

static char *
json_quote (const char *s)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (node, s);
  return json_to_string (node, FALSE);
}

char *
hippo_classifier_train (HippoClassifier *c, guint folds,
                        HippoProgressFunc progress, gpointer user_data,
                        GError **error)
{
  g_autoptr (GPtrArray) classes = NULL;
  g_autoptr (GPtrArray) examples = NULL;
  g_autoptr (GHashTable) row_of = NULL;   /* hash -> row + 1 */
  g_autoptr (GHashTable) class_index = NULL;
  g_autoptr (GArray) x = NULL;
  g_autoptr (GArray) labels = NULL;
  g_autoptr (GByteArray) matrix = NULL;
  g_autoptr (GPtrArray) names = NULL;
  g_autoptr (HippoHead) head = NULL;
  g_autoptr (HippoMetrics) metrics = NULL;
  g_autoptr (GBytes) blob = NULL;
  g_autoptr (GString) ids = g_string_new (NULL);
  g_autofree char *json = NULL;
  HippoHeadParams hp;
  gint64 revision;
  guint n_rows = 0, n_skipped = 0, k;
  char *out;

  g_return_val_if_fail (c != NULL, NULL);
  if (c->read_only)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                   "the project is open read-only");
      return NULL;
    }
  if (!hippo_project_get_labels_revision (c->project, &revision, error))
    return NULL;
  classes = hippo_project_list_classes (c->project, error);
  if (classes == NULL)
    return NULL;
  if (classes->len < 2)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                   "the project has %u class%s; add at least two with "
                   "'hippotag class add'", classes->len,
                   classes->len == 1 ? "" : "es");
      return NULL;
    }
  k = classes->len;
  class_index = g_hash_table_new (g_str_hash, g_str_equal);
  names = g_ptr_array_new ();
  for (guint i = 0; i < k; i++)
    {
      HippoClassInfo *ci = classes->pdata[i];
      if (ci->n_examples == 0)
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                       "class '%s' has no examples; label some images as "
                       "'%s' or remove the class", ci->name, ci->name);
          return NULL;
        }
      g_hash_table_insert (class_index, ci->name, GUINT_TO_POINTER (i + 1));
      g_ptr_array_add (names, ci->name);
      g_string_append_printf (ids, "%s%" G_GINT64_FORMAT, i ? "," : "",
                              ci->id);
    }

  examples = hippo_project_list_examples (c->project, NULL, error);
  if (examples == NULL)
    return NULL;
  row_of = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  x = g_array_new (FALSE, FALSE, sizeof (float));
  labels = g_array_new (FALSE, FALSE, sizeof (guint));
  matrix = g_byte_array_new ();

  for (guint e = 0; e < examples->len; e++)
    {
      HippoExample *ex = examples->pdata[e];
      guint ci = GPOINTER_TO_UINT (g_hash_table_lookup (class_index,
                                                        ex->class_name));
      gpointer rowp;
      float *f = NULL;
      guint dim = 0;

      if (ci == 0)
        continue;
      ci--;
      if (g_hash_table_lookup_extended (row_of, ex->content_hash, NULL,
                                        &rowp))
        {
          guint row = GPOINTER_TO_UINT (rowp) - 1;
          matrix->data[(gsize) row * k + ci] = 1;
          continue;   /* multi-label: another label of the same image */
        }
      if (!hippo_project_get_features (c->project, ex->content_hash,
                                       hippo_model_get_id (c->model),
                                       c->layers, c->cache_version,
                                       &f, &dim, error))
        return NULL;
      if (f == NULL && ex->path)
        {
          Batch b = { 0 };
          const char *p = ex->path;
          if (!batch_features (c, &p, 1, TRUE, &b, error))
            {
              batch_clear (&b);
              return NULL;
            }
          if (b.have[0] && g_strcmp0 (b.hashes[0], ex->content_hash) == 0)
            {
              f = g_memdup2 (b.features, c->dim * sizeof (float));
              dim = c->dim;
            }
          batch_clear (&b);
        }
      if (f == NULL || dim != c->dim)
        {
          n_skipped++;   /* file gone or changed since it was labelled */
          g_free (f);
          continue;
        }
      g_array_append_vals (x, f, dim);
      g_free (f);
      g_array_append_val (labels, ci);
      g_byte_array_set_size (matrix, (n_rows + 1) * k);
      memset (matrix->data + (gsize) n_rows * k, 0, k);
      matrix->data[(gsize) n_rows * k + ci] = 1;
      g_hash_table_insert (row_of, g_strdup (ex->content_hash),
                           GUINT_TO_POINTER (++n_rows));
      if (progress && !progress (e + 1, examples->len, user_data))
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED,
                       "cancelled");
          return NULL;
        }
    }

  hippo_head_params_default (&hp);
  hp.multi_label = c->multi_label;
  hp.unsure_threshold = c->unsure_threshold;
  head = hippo_head_train ((const float *) x->data, n_rows, c->dim,
                           c->multi_label ? NULL
                                          : (const guint *) labels->data,
                           c->multi_label ? matrix->data : NULL, k, &hp,
                           NULL, NULL, error);
  if (head == NULL)
    return NULL;
  /* The metrics are those of the head's own cross-validation (the same
   * folds measured every strength): free, and optimistic only by the choice
   * among the strengths. With folds set apart from the head's, a full
   * cross-validation at the chosen strength is run instead. */
  if (folds == 0 || folds == hippo_head_get_cv_folds (head))
    metrics = hippo_metrics_from_training (head, NULL);
  if (metrics == NULL)
    {
      hp.l2 = hippo_head_get_l2 (head);
      metrics = hippo_metrics_cross_validate (
        (const float *) x->data, n_rows, c->dim,
        c->multi_label ? NULL : (const guint *) labels->data,
        c->multi_label ? matrix->data : NULL, k, folds ? folds : 5, &hp, 1,
        NULL, NULL, error);
    }
  if (metrics == NULL)
    return NULL;
  g_ptr_array_add (names, NULL);
  json = hippo_metrics_to_json (metrics, (const char *const *) names->pdata);
  {
    /* add what the metrics module does not know */
    gsize len = strlen (json);
    while (len > 0 && json[len - 1] != '}')
      len--;
    if (len == 0)
      out = g_strdup (json);
    else
      {
        g_autofree char *model_json = json_quote (hippo_model_get_id (c->model));
        g_autofree char *layers_json = json_quote (c->layers);
        out = g_strdup_printf ("%.*s, \"skipped_examples\": %u, \"l2\": %g, "
                               "\"model\": %s, \"layers\": %s}",
                               (int) (len - 1), json, n_skipped,
                               hippo_head_get_l2 (head), model_json,
                               layers_json);
      }
  }
  blob = hippo_head_serialize (head);
  if (!hippo_project_begin (c->project, error))
    {
      g_free (out);
      return NULL;
    }
  if (!hippo_project_save_head (c->project, blob, out,
                                hippo_model_get_id (c->model), c->layers,
                                revision, error)
      || !hippo_project_set_string (c->project, "head_class_ids", ids->str,
                                    error)
      || !hippo_project_commit (c->project, error))
    {
      hippo_project_rollback (c->project);
      g_free (out);
      return NULL;
    }
  drop_head (c);
  return out;
}

static gboolean
load_head (HippoClassifier *c, GError **error)
{
  g_autoptr (HippoHeadRecord) rec = NULL;
  g_autoptr (GPtrArray) classes = NULL;
  g_autofree char *ids = NULL;
  g_auto (GStrv) parts = NULL;

  if (c->head_loaded)
    return TRUE;
  rec = hippo_project_load_head (c->project, error);
  if (rec == NULL)
    {
      if (error && *error && (*error)->code == HIPPO_ERROR_STATE)
        {
          g_clear_error (error);
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                       "the project is not trained yet: run 'hippotag "
                       "train %s'", hippo_project_get_path (c->project));
        }
      return FALSE;
    }
  if (g_strcmp0 (rec->layer, c->layers) != 0
      || g_strcmp0 (rec->model_id, hippo_model_get_id (c->model)) != 0)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                   "the project was trained with another model or layer "
                   "(%s, %s); train it again", rec->model_id, rec->layer);
      return FALSE;
    }
  c->head = hippo_head_deserialize (rec->blob, error);
  if (c->head == NULL)
    return FALSE;
  if (hippo_head_get_dim (c->head) != c->dim)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                   "the stored head does not fit the features (%u != %u)",
                   hippo_head_get_dim (c->head), c->dim);
      drop_head (c);
      return FALSE;
    }
  classes = hippo_project_list_classes (c->project, error);
  ids = hippo_project_get_string (c->project, "head_class_ids", "", error);
  if (classes == NULL || ids == NULL)
    {
      drop_head (c);
      return FALSE;
    }
  parts = g_strsplit (ids, ",", -1);
  if (g_strv_length (parts) != hippo_head_get_n_classes (c->head))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                   "the stored head and its class list disagree; train "
                   "again");
      drop_head (c);
      return FALSE;
    }
  c->head_names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; parts[i]; i++)
    {
      const char *name = NULL;
      gint64 id = g_ascii_strtoll (parts[i], NULL, 10);
      for (guint j = 0; j < classes->len; j++)
        if (((HippoClassInfo *) classes->pdata[j])->id == id)
          name = ((HippoClassInfo *) classes->pdata[j])->name;
      g_ptr_array_add (c->head_names, g_strdup (name ? name : "(removed)"));
    }
  c->head_stale = rec->stale;
  c->head_loaded = TRUE;
  return TRUE;
}

gboolean
hippo_classifier_is_stale (HippoClassifier *c)
{
  g_return_val_if_fail (c != NULL, FALSE);
  return load_head (c, NULL) && c->head_stale;
}

char *
hippo_classifier_get_metrics_json (HippoClassifier *c, GError **error)
{
  g_autoptr (HippoHeadRecord) rec = NULL;

  g_return_val_if_fail (c != NULL, NULL);
  rec = hippo_project_load_head (c->project, error);
  if (rec == NULL)
    return NULL;
  return g_strdup (rec->metrics_json ? rec->metrics_json : "{}");
}

/* --- prediction --------------------------------------------------------- */

static void
fill_prediction (HippoClassifier *c, float *scores, HippoPrediction *p)
{
  float conf = 0;
  gint top = hippo_head_decide (c->head, scores, c->unsure_threshold, &conf);
  guint k = hippo_head_get_n_classes (c->head);

  p->n_classes = k;
  p->scores = scores;
  p->names = (const char *const *) c->head_names->pdata;
  p->unsure = top < 0;
  if (top < 0)
    {
      /* still name the most likely class, flagged unsure */
      top = 0;
      for (guint i = 1; i < k; i++)
        if (scores[i] > scores[top])
          top = i;
      conf = scores[top];
    }
  p->label = c->head_names->pdata[top];
  p->confidence = conf;
}

static gboolean
take_prediction (Run *run, HippoItem *item)
{
  HippoClassifier *c = run->c;
  HippoPrediction p = { 0 };
  gint64 t0 = run->profile ? g_get_monotonic_time () : 0, t1;
  gboolean go;

  if (item->have)
    {
      hippo_head_predict (c->head, item->features, 1, run->probs);
      fill_prediction (c, run->probs, &p);
    }
  t1 = run->profile ? g_get_monotonic_time () : 0;
  go = run->func (item->index, item->path, item->have ? &p : NULL,
                  item->error, run->user_data);
  if (run->profile)
    {
      hippo_extractor_add_time (c->extractor, HIPPO_STAGE_HEAD, t1 - t0);
      hippo_extractor_add_time (c->extractor, HIPPO_STAGE_OUTPUT,
                                g_get_monotonic_time () - t1);
    }
  return go;
}

gboolean
hippo_classifier_classify_files (HippoClassifier *c,
                                 const char *const *paths, guint n_paths,
                                 HippoFileFunc func, gpointer user_data,
                                 GError **error)
{
  g_autofree float *probs = NULL;
  Run run = { 0 };

  g_return_val_if_fail (c != NULL && func != NULL, FALSE);
  if (!load_head (c, error))
    return FALSE;
  probs = g_new (float, hippo_head_get_n_classes (c->head));
  run.take = take_prediction;
  run.func = func;
  run.user_data = user_data;
  run.probs = probs;
  return run_files (c, &run, paths, n_paths, c->cache_unlabelled, error);
}

gboolean
hippo_classifier_classify_image (HippoClassifier *c, const HippoImage *image,
                                 HippoPrediction *prediction, GError **error)
{
  g_autofree float *features = NULL;
  float *scores;

  g_return_val_if_fail (c != NULL && image && prediction, FALSE);
  memset (prediction, 0, sizeof *prediction);
  if (!load_head (c, error))
    return FALSE;
  features = g_new (float, c->dim);
  if (!image_features (c, image, features, error))
    return FALSE;
  scores = g_new (float, hippo_head_get_n_classes (c->head));
  hippo_head_predict (c->head, features, 1, scores);
  fill_prediction (c, scores, prediction);
  return TRUE;
}

void
hippo_prediction_clear (HippoPrediction *prediction)
{
  if (prediction == NULL)
    return;
  g_clear_pointer (&prediction->scores, g_free);
}

gboolean
hippo_classifier_suggest (HippoClassifier *c, const char *const *paths,
                          guint n_paths, guint n_best, guint **order,
                          float **uncertainty, guint *n_out, GError **error)
{
  g_autoptr (GArray) idx = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr (GArray) unc = g_array_new (FALSE, FALSE, sizeof (float));
  g_autofree guint *rank = NULL;
  guint k, m;

  g_return_val_if_fail (c != NULL && order && n_out, FALSE);
  *order = NULL;
  *n_out = 0;
  if (uncertainty)
    *uncertainty = NULL;
  if (!load_head (c, error))
    return FALSE;
  k = hippo_head_get_n_classes (c->head);
  for (guint first = 0; first < n_paths; first += CHUNK)
    {
      guint n = MIN (CHUNK, n_paths - first);
      Batch b = { 0 };
      g_autofree float *probs = g_new (float, (gsize) n * k);
      g_autofree float *u = g_new (float, n);

      if (!batch_features (c, paths + first, n, c->cache_unlabelled, &b,
                           error))
        {
          batch_clear (&b);
          return FALSE;
        }
      hippo_head_predict (c->head, b.features, n, probs);
      hippo_head_uncertainty (probs, n, k, c->multi_label, u);
      for (guint i = 0; i < n; i++)
        {
          g_autoptr (GPtrArray) labelled = NULL;
          guint at = first + i;
          if (!b.have[i])
            continue;
          labelled = hippo_project_find_examples_by_hash (c->project,
                                                          b.hashes[i], NULL);
          if (labelled && labelled->len > 0)
            continue;
          g_array_append_val (idx, at);
          g_array_append_val (unc, u[i]);
        }
      batch_clear (&b);
    }
  m = idx->len;
  rank = g_new (guint, MAX (m, 1));
  hippo_head_rank_uncertain ((const float *) unc->data, m, rank);
  *n_out = MIN (n_best, m);
  *order = g_new (guint, MAX (*n_out, 1));
  if (uncertainty)
    *uncertainty = g_new (float, MAX (*n_out, 1));
  for (guint i = 0; i < *n_out; i++)
    {
      (*order)[i] = g_array_index (idx, guint, rank[i]);
      if (uncertainty)
        (*uncertainty)[i] = g_array_index (unc, float, rank[i]);
    }
  return TRUE;
}
