/* The engine against TensorFlow.js: reference features written by
 * tools/make-references (peers/ref.js, the tfjs CPU backend) into
 * $HIPPOTAG_REF_DIR, read through index.json. Public API only.
 *
 * For each model and layer of the index:
 *   exact-input  fed the reference's own input dump: every value within
 *                1e-4 * max |reference value| of the layer (probabilities:
 *                1e-4 absolute);
 *   from-file    from the image files via hippo_image_load_input (our
 *                decoding and resizing): cosine >= 0.995 per image, and the
 *                same top class for the probabilities.
 *   bfloat16     (MobileNets) a bfloat16 session fed the exact input:
 *                within 0.05 * max |reference value| (probabilities: 0.03
 *                absolute, same top class), cosine >= 0.999 per image
 *                (measured worst: 0.034 on the logits of mobilenet_v2_mid,
 *                0.013 on a pooled feature layer; cosine 0.99969).
 * And per model: all its reference layers joined with '+', batches on 1
 * and 2 threads (whole images per thread, several at once in the late
 * layers) and one image split over 2 threads equal one image at a time on
 * 1 thread, and each slice of the joined features matches its own
 * reference as in exact-input.
 *
 * Batch and thread invariance, per precision (see core/engine/kernels-1x1.c):
 *   float32   the MobileNets: bit-identical (every convolution runs in our
 *             own kernels, 1x1, depthwise and first layer, each output's
 *             sum in one fixed order whatever the tiling); InceptionV3,
 *             whose other convolutions go through im2col and OpenBLAS
 *             sgemm: within 1e-5 of each layer's largest |value| (OpenBLAS
 *             does not promise one summation order across matrix shapes;
 *             measured exact under its Haswell, Sandybridge, SkylakeX and
 *             Cooperlake kernels).
 *   bfloat16  (MobileNets) bit-identical: every image of a batch of 7 on 2
 *             threads equals it alone on 1 thread, and the first alone
 *             split over 2 threads.
 * These hold on any CPU, instruction-set variant (HIPPOTAG_ISA), OpenBLAS
 * core type and with AMX on or off (HIPPOTAG_NO_AMX=1): what differs
 * between those is the arithmetic, checked against TensorFlow.js within
 * the tolerances above, never the invariance.
 */
#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <math.h>
#include <string.h>

#include <hippotag/hippotag.h>

#define TOL_EXACT 1e-4   /* times the layer's max |reference value| */
#define TOL_PROBS 1e-4   /* absolute, on probabilities */
#define MIN_COSINE 0.995 /* from-file, per image */
#define TOL_BATCH 1e-5   /* batch vs one at a time, relative, where
                          * OpenBLAS sums (see batch_tol()) */
#define TOL_BF16 0.05    /* bfloat16, times the layer's max |reference| */
#define TOL_BF16_PROBS 0.03 /* bfloat16, absolute, on probabilities */
#define MIN_COSINE_BF16 0.999 /* bfloat16, per image, exact input */
#define MAX_REF_FLOATS ((gsize) 1 << 28)

typedef struct
{
  char *name; /* as in the model, e.g. "flatten_1" or a long graph node */
  char *short_name;
  char *file;
  guint dim;
  gboolean probs;
  float *ref; /* n * dim, loaded on first use */
} RefLayer;

typedef struct
{
  char *name;
  char *dir;
  char *input_file;
  int input_size;
  guint n;
  char **files;      /* n image paths, NULL-terminated */
  GPtrArray *layers; /* of RefLayer */
  float *input;      /* n * input_size^2 * 3, loaded on first use */
  HippoModel *model; /* loaded on first use */
  char *skip_reason; /* why the model cannot be had */
} RefModel;

typedef struct
{
  RefModel *model;
  RefLayer *layer;
  gboolean shallow; /* test_batch: the layer with the largest map alone */
} RefCase;

static void
ref_layer_free (gpointer p)
{
  RefLayer *l = p;

  g_free (l->name);
  g_free (l->short_name);
  g_free (l->file);
  g_free (l->ref);
  g_free (l);
}

static void
ref_model_free (gpointer p)
{
  RefModel *m = p;

  g_free (m->name);
  g_free (m->dir);
  g_free (m->input_file);
  g_strfreev (m->files);
  g_ptr_array_unref (m->layers);
  g_free (m->input);
  hippo_model_free (m->model);
  g_free (m->skip_reason);
  g_free (m);
}

static void fail (const char *format, ...) G_GNUC_PRINTF (1, 2);

static void
fail (const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_test_message ("FAIL: %s", msg);
  g_test_fail ();
}

/* Reads exactly n_floats little-endian float32 values. */
static float *
read_f32 (const char *path, gsize n_floats, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0, want;
  float *out;

  if (n_floats == 0 || n_floats > MAX_REF_FLOATS)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "%s: implausible size of %" G_GSIZE_FORMAT " floats", path,
                   n_floats);
      return NULL;
    }
  if (!g_file_get_contents (path, &data, &len, error))
    return NULL;
  want = n_floats * sizeof (float);
  if (len != want)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "%s: %" G_GSIZE_FORMAT " bytes, expected %" G_GSIZE_FORMAT,
                   path, len, want);
      return NULL;
    }
  out = g_new (float, n_floats);
  memcpy (out, data, want);
#if G_BYTE_ORDER == G_BIG_ENDIAN
  for (gsize i = 0; i < n_floats; i++)
    {
      guint32 u;
      memcpy (&u, &out[i], 4);
      u = GUINT32_FROM_LE (u);
      memcpy (&out[i], &u, 4);
    }
#endif
  return out;
}

static const char *
get_string (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n)
      || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static gint64
get_int (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n)
      || json_node_get_value_type (n) != G_TYPE_INT64)
    return -1;
  return json_node_get_int (n);
}

/* Parses one entry of index.json "models". */
static RefModel *
parse_model (const char *ref_dir, const char *name, JsonNode *node,
             GError **error)
{
  JsonObject *o;
  JsonArray *files, *layers;
  const char *input;
  gint64 n, size;
  RefModel *m;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    goto bad;
  o = json_node_get_object (node);
  input = get_string (o, "input");
  n = get_int (o, "n");
  size = get_int (o, "input_size");
  if (input == NULL || strchr (input, '/') != NULL || n < 1 || n > 1000
      || size < 1 || size > 4096 || !json_object_has_member (o, "files")
      || !json_object_has_member (o, "layers")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "files"))
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "layers")))
    goto bad;
  files = json_object_get_array_member (o, "files");
  layers = json_object_get_array_member (o, "layers");
  if (json_array_get_length (files) != (guint) n
      || json_array_get_length (layers) == 0)
    goto bad;

  m = g_new0 (RefModel, 1);
  m->name = g_strdup (name);
  m->dir = g_build_filename (ref_dir, name, NULL);
  m->input_file = g_build_filename (m->dir, input, NULL);
  m->input_size = (int) size;
  m->n = (guint) n;
  m->files = g_new0 (char *, m->n + 1);
  m->layers = g_ptr_array_new_with_free_func (ref_layer_free);
  for (guint i = 0; i < m->n; i++)
    {
      JsonNode *f = json_array_get_element (files, i);
      if (!JSON_NODE_HOLDS_VALUE (f)
          || json_node_get_value_type (f) != G_TYPE_STRING)
        {
          ref_model_free (m);
          goto bad;
        }
      m->files[i] = g_strdup (json_node_get_string (f));
    }
  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonNode *ln = json_array_get_element (layers, i);
      JsonObject *lo;
      const char *lname, *lfile;
      gint64 dim;
      RefLayer *l;

      if (!JSON_NODE_HOLDS_OBJECT (ln))
        {
          ref_model_free (m);
          goto bad;
        }
      lo = json_node_get_object (ln);
      lname = get_string (lo, "name");
      lfile = get_string (lo, "file");
      dim = get_int (lo, "dim");
      if (lname == NULL || lfile == NULL || strchr (lfile, '/') != NULL
          || dim < 1 || dim > 1000000)
        {
          ref_model_free (m);
          goto bad;
        }
      l = g_new0 (RefLayer, 1);
      l->name = g_strdup (lname);
      l->short_name
        = g_strdup (strrchr (lname, '/') ? strrchr (lname, '/') + 1 : lname);
      l->file = g_build_filename (m->dir, lfile, NULL);
      l->dim = (guint) dim;
      l->probs = json_object_has_member (lo, "probs")
                 && json_object_get_boolean_member (lo, "probs");
      g_ptr_array_add (m->layers, l);
    }
  return m;

bad:
  g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
               "index.json: bad entry for model '%s'", name);
  return NULL;
}

/* Loads index.json; NULL with @error when it cannot be read. */
static GPtrArray *
load_index (const char *ref_dir, GError **error)
{
  g_autofree char *path = g_build_filename (ref_dir, "index.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GPtrArray) models = NULL;
  g_autoptr (GList) names = NULL;
  JsonNode *root;
  JsonObject *mo;

  if (!json_parser_load_from_file (parser, path, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)
      || !json_object_has_member (json_node_get_object (root), "models")
      || !JSON_NODE_HOLDS_OBJECT (
        json_object_get_member (json_node_get_object (root), "models")))
    {
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
                   "%s: no \"models\" object", path);
      return NULL;
    }
  mo = json_object_get_object_member (json_node_get_object (root), "models");
  models = g_ptr_array_new_with_free_func (ref_model_free);
  names = json_object_get_members (mo);
  for (GList *l = names; l != NULL; l = l->next)
    {
      RefModel *m = parse_model (ref_dir, l->data,
                                 json_object_get_member (mo, l->data), error);
      if (m == NULL)
        return NULL;
      g_ptr_array_add (models, m);
    }
  return g_steal_pointer (&models);
}

/* The model, loaded once; NULL after g_test_skip() (not installed) or
 * fail() (broken). */
static HippoModel *
get_model (RefModel *m)
{
  g_autoptr (GError) error = NULL;
  int w = 0, h = 0;

  if (m->model != NULL)
    return m->model;
  if (m->skip_reason != NULL)
    {
      g_test_skip (m->skip_reason);
      return NULL;
    }
  m->model = hippo_model_load (m->name, &error);
  if (m->model == NULL)
    {
      if (g_error_matches (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND))
        {
          m->skip_reason = g_strdup_printf (
            "MODEL %s NOT FOUND (HIPPOTAG_MODEL_PATH=%s): %s; run "
            "tools/fetch-models and set HIPPOTAG_MODEL_PATH, or ./run-tests",
            m->name, g_getenv ("HIPPOTAG_MODEL_PATH"), error->message);
          g_test_skip (m->skip_reason);
        }
      else
        fail ("loading model %s: %s", m->name, error->message);
      return NULL;
    }
  hippo_model_get_input_size (m->model, &w, &h);
  if (w != m->input_size || h != m->input_size)
    {
      fail ("model %s: input %dx%d, the reference used %dx%d", m->name, w, h,
            m->input_size, m->input_size);
      g_clear_pointer (&m->model, hippo_model_free);
      return NULL;
    }
  return m->model;
}

static gsize
input_floats (const RefModel *m)
{
  return (gsize) m->input_size * m->input_size * 3;
}

static const float *
get_input (RefModel *m)
{
  g_autoptr (GError) error = NULL;

  if (m->input == NULL)
    m->input = read_f32 (m->input_file, input_floats (m) * m->n, &error);
  if (m->input == NULL)
    fail ("reading the reference input: %s", error->message);
  return m->input;
}

static const float *
get_ref (RefModel *m, RefLayer *l)
{
  g_autoptr (GError) error = NULL;

  if (l->ref == NULL)
    l->ref = read_f32 (l->file, (gsize) l->dim * m->n, &error);
  if (l->ref == NULL)
    fail ("reading the reference features: %s", error->message);
  return l->ref;
}

/* A session for @layers; for a probabilities layer the engine does not know
 * by the reference's name (e.g. a graph model's Identity folded away), the
 * model's own output layer. NULL after fail(). */
static HippoSession *
new_session_p (HippoModel *model, const RefLayer *l, const char *layers,
               int threads, int batch, HippoPrecision precision)
{
  HippoSessionParams p;
  g_autoptr (GError) error = NULL;
  HippoSession *s;

  hippo_session_params_default (&p);
  p.precision = precision;
  p.n_threads = threads;
  p.max_batch = batch;
  p.layers = layers;
  s = hippo_session_new (model, &p, &error);
  if (s == NULL && l != NULL && l->probs
      && g_error_matches (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND))
    {
      g_test_message ("layer %s not found (%s); using the model's output "
                      "layer %s",
                      layers, error->message,
                      hippo_model_get_output_layer (model));
      g_clear_error (&error);
      p.layers = hippo_model_get_output_layer (model);
      s = hippo_session_new (model, &p, &error);
    }
  if (s == NULL)
    fail ("hippo_session_new (layers '%s', %d threads, batch %d): %s",
          layers ? layers : "(default)", threads, batch, error->message);
  return s;
}

static HippoSession *
new_session (HippoModel *model, const RefLayer *l, const char *layers,
             int threads, int batch)
{
  return new_session_p (model, l, layers, threads, batch,
                        HIPPO_PRECISION_FLOAT32);
}

static guint
argmax (const float *v, guint n)
{
  guint best = 0;

  for (guint i = 1; i < n; i++)
    if (v[i] > v[best])
      best = i;
  return best;
}

static const char *
basename_of (const char *path)
{
  const char *s = strrchr (path, '/');

  return s ? s + 1 : path;
}

/* Compares n rows of dim values (row stride @stride in @ours) with the
 * reference; reports and checks the worst error. */
static void
check_close (const RefModel *m, const RefLayer *l, const float *ours,
             gsize stride, const float *ref, const char *what)
{
  double max_ref = 0, worst = 0, tol;
  guint worst_img = 0, worst_k = 0;
  gboolean finite = TRUE;

  for (gsize i = 0; i < (gsize) m->n * l->dim; i++)
    max_ref = MAX (max_ref, fabs (ref[i]));
  for (guint img = 0; img < m->n; img++)
    for (guint k = 0; k < l->dim; k++)
      {
        double a = ours[img * stride + k], b = ref[(gsize) img * l->dim + k];
        double e = fabs (a - b);

        if (!isfinite (a))
          finite = FALSE;
        if (e > worst || !isfinite (e))
          {
            worst = e;
            worst_img = img;
            worst_k = k;
          }
      }
  tol = l->probs ? TOL_PROBS : TOL_EXACT * max_ref;
  g_test_message ("%s %s %s: worst |error| %.3g at %s [%u] (tolerance %.3g; "
                  "max |reference| %.4g)",
                  m->name, l->short_name, what, worst,
                  basename_of (m->files[worst_img]), worst_k, tol, max_ref);
  if (!finite)
    fail ("%s %s %s: non-finite features", m->name, l->short_name, what);
  if (!(worst <= tol))
    fail ("%s %s %s: worst |error| %.3g > tolerance %.3g", m->name,
          l->short_name, what, worst, tol);
}

static void
test_exact_input (gconstpointer data)
{
  const RefCase *c = data;
  RefModel *m = c->model;
  RefLayer *l = c->layer;
  g_autoptr (HippoSession) s = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree float *ours = NULL;
  HippoModel *model;
  const float *input, *ref;

  if ((model = get_model (m)) == NULL || (input = get_input (m)) == NULL
      || (ref = get_ref (m, l)) == NULL)
    return;
  s = new_session (model, l, l->name, 1, 1);
  if (s == NULL)
    return;
  if (hippo_session_get_dim (s) != l->dim)
    {
      fail ("%s %s: %u dimensions, the reference has %u", m->name,
            l->short_name, hippo_session_get_dim (s), l->dim);
      return;
    }
  ours = g_new0 (float, (gsize) m->n * l->dim);
  for (guint i = 0; i < m->n; i++)
    if (!hippo_session_run (s, input + i * input_floats (m), 1,
                            ours + (gsize) i * l->dim, &error))
      {
        fail ("hippo_session_run: %s", error->message);
        return;
      }
  check_close (m, l, ours, l->dim, ref, "exact input");
}

/* bfloat16 sessions (the AMX tiles, VDPBF16PS, or the emulated path under
 * HIPPOTAG_ISA=avx2|generic or on CPUs without them) against the float32
 * reference: all images in one batch on 2 threads (whole images per
 * thread, several at once in the late layers); and bit for bit, each
 * image alone on 1 thread and the first alone on 2 (layers split in rows
 * and channels) against the batch. */
static void
test_bf16 (gconstpointer data)
{
  const RefCase *c = data;
  RefModel *m = c->model;
  RefLayer *l = c->layer;
  g_autoptr (HippoSession) s = NULL;
  g_autoptr (HippoSession) one = NULL;
  g_autoptr (HippoSession) two = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree float *ours = NULL;
  g_autofree float *alone = NULL;
  g_autofree float *split = NULL;
  HippoModel *model;
  const float *input, *ref;
  double max_ref = 0, worst = 0, worst_cos = 2, worst_one = 0;

  if ((model = get_model (m)) == NULL || (input = get_input (m)) == NULL
      || (ref = get_ref (m, l)) == NULL)
    return;
  s = new_session_p (model, l, l->name, 2, (int) m->n,
                     HIPPO_PRECISION_BFLOAT16);
  one = new_session_p (model, l, l->name, 1, 1, HIPPO_PRECISION_BFLOAT16);
  two = new_session_p (model, l, l->name, 2, 1, HIPPO_PRECISION_BFLOAT16);
  if (s == NULL || one == NULL || two == NULL)
    return;
  g_test_message ("kernels: %s", hippo_session_get_kernels (s));
  ours = g_new0 (float, (gsize) m->n * l->dim);
  alone = g_new0 (float, (gsize) m->n * l->dim);
  split = g_new0 (float, l->dim);
  if (!hippo_session_run (s, input, m->n, ours, &error)
      || !hippo_session_run (two, input, 1, split, &error))
    {
      fail ("hippo_session_run: %s", error->message);
      return;
    }
  for (guint img = 0; img < m->n; img++)
    if (!hippo_session_run (one, input + img * input_floats (m), 1,
                            alone + (gsize) img * l->dim, &error))
      {
        fail ("hippo_session_run: %s", error->message);
        return;
      }
  for (gsize i = 0; i < (gsize) m->n * l->dim; i++)
    max_ref = MAX (max_ref, fabs (ref[i]));
  for (guint img = 0; img < m->n; img++)
    {
      const float *a = ours + (gsize) img * l->dim;
      const float *b = ref + (gsize) img * l->dim;
      double dot = 0, na = 0, nb = 0, cosine;

      for (guint k = 0; k < l->dim; k++)
        {
          double e = fabs ((double) a[k] - b[k]);
          worst = isfinite (e) ? MAX (worst, e) : INFINITY;
          dot += (double) a[k] * b[k];
          na += (double) a[k] * a[k];
          nb += (double) b[k] * b[k];
          worst_one = MAX (worst_one,
                           fabs ((double) alone[img * l->dim + k] - a[k]));
          if (img == 0)
            worst_one = MAX (worst_one, fabs ((double) split[k] - a[k]));
        }
      cosine = na > 0 && nb > 0 ? dot / sqrt (na * nb) : (na == nb ? 1 : 0);
      worst_cos = isfinite (cosine) ? MIN (worst_cos, cosine) : -2;
      if (l->probs && argmax (a, l->dim) != argmax (b, l->dim))
        fail ("%s %s bfloat16 %s: top class %u, the reference's %u", m->name,
              l->short_name, basename_of (m->files[img]),
              argmax (a, l->dim), argmax (b, l->dim));
    }
  g_test_message ("%s %s bfloat16: worst |error| %.3g (%.2g of max "
                  "|reference| %.4g), worst cosine %.6f; images alone on "
                  "1 and 2 threads vs in the batch: %.3g (must be 0)",
                  m->name, l->short_name, worst, worst / (max_ref + 1e-30),
                  max_ref, worst_cos, worst_one);
  if (!(worst <= (l->probs ? TOL_BF16_PROBS : TOL_BF16 * max_ref)))
    fail ("%s %s bfloat16: worst |error| %.3g > tolerance", m->name,
          l->short_name, worst);
  if (!(worst_cos >= MIN_COSINE_BF16))
    fail ("%s %s bfloat16: cosine %.6f < %.4f", m->name, l->short_name,
          worst_cos, MIN_COSINE_BF16);
  if (!(worst_one == 0))
    fail ("%s %s bfloat16: an image alone differs from the batch by %.3g",
          m->name, l->short_name, worst_one);
}

static void
test_from_file (gconstpointer data)
{
  const RefCase *c = data;
  RefModel *m = c->model;
  RefLayer *l = c->layer;
  g_autoptr (HippoSession) s = NULL;
  g_autofree float *in = NULL, *ours = NULL;
  HippoModel *model;
  const float *ref;
  double worst_cos = 2;
  guint worst_img = 0;

  if ((model = get_model (m)) == NULL || (ref = get_ref (m, l)) == NULL)
    return;
  s = new_session (model, l, l->name, 1, 1);
  if (s == NULL)
    return;
  if (hippo_session_get_dim (s) != l->dim)
    {
      fail ("%s %s: %u dimensions, the reference has %u", m->name,
            l->short_name, hippo_session_get_dim (s), l->dim);
      return;
    }
  in = g_new (float, input_floats (m));
  ours = g_new (float, l->dim);
  for (guint i = 0; i < m->n; i++)
    {
      g_autoptr (GError) error = NULL;
      const float *r = ref + (gsize) i * l->dim;
      double dot = 0, na = 0, nb = 0, cosine;

      if (!hippo_image_load_input (model, m->files[i], in, &error)
          || !hippo_session_run (s, in, 1, ours, &error))
        {
          fail ("%s: %s", m->files[i], error->message);
          continue;
        }
      for (guint k = 0; k < l->dim; k++)
        {
          dot += (double) ours[k] * r[k];
          na += (double) ours[k] * ours[k];
          nb += (double) r[k] * r[k];
        }
      cosine = na > 0 && nb > 0 ? dot / sqrt (na * nb) : (na == nb ? 1 : 0);
      if (!isfinite (cosine))
        cosine = -2;
      if (cosine < worst_cos)
        {
          worst_cos = cosine;
          worst_img = i;
        }
      if (l->probs)
        {
          guint a = argmax (ours, l->dim), b = argmax (r, l->dim);

          g_test_message ("%s %s: cosine %.5f, top class %u (%.4f), "
                          "reference %u (%.4f)",
                          m->name, basename_of (m->files[i]), cosine, a,
                          ours[a], b, r[b]);
          if (a != b)
            fail ("%s %s: top class %u, the reference's is %u", m->name,
                  basename_of (m->files[i]), a, b);
        }
      if (!(cosine >= MIN_COSINE))
        fail ("%s %s %s: cosine %.5f < %.3f", m->name, l->short_name,
              basename_of (m->files[i]), cosine, MIN_COSINE);
    }
  g_test_message ("%s %s from file: worst cosine %.5f (%s)", m->name,
                  l->short_name, worst_cos, basename_of (m->files[worst_img]));
}

/* The largest difference allowed between a batch and its images one at a
 * time (max_abs: the largest |value| compared): none for the MobileNets,
 * whose every convolution runs in our fixed-order kernels; TOL_BATCH
 * relative for models with convolutions through im2col and OpenBLAS. */
static double
batch_tol (const RefModel *m, double max_abs)
{
  return g_str_has_prefix (m->name, "mobilenet") ? 0 : TOL_BATCH * max_abs;
}

/* A model's reference layers joined (or one layer alone: a network cut
 * before its small maps runs differently): batch of n on 2 threads (and
 * on 1), and one at a time on 2 threads, vs one at a time on 1 thread, and
 * each slice vs its reference. */
static void
test_batch (gconstpointer data)
{
  const RefCase *rc = data;
  RefModel *m = rc->model;
  g_autoptr (GPtrArray) layers = g_ptr_array_new ();
  g_autoptr (HippoSession) one = NULL, batch = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) spec = g_string_new (NULL);
  g_autofree float *a = NULL, *b = NULL;
  HippoModel *model;
  const float *input;
  guint dim = 0, off = 0;
  gsize total;

  if ((model = get_model (m)) == NULL || (input = get_input (m)) == NULL)
    return;
  if (rc->shallow)
    {
      RefLayer *best = NULL;
      guint best_hw = 0;

      for (guint j = 0; j < m->layers->len; j++)
        {
          RefLayer *l = m->layers->pdata[j];
          HippoLayerInfo info;

          if (hippo_model_find_layer (model, l->name, &info, NULL)
              && (guint) (info.height * info.width) > best_hw)
            {
              best = l;
              best_hw = info.height * info.width;
            }
        }
      if (best == NULL)
        {
          fail ("%s: no reference layer found in the model", m->name);
          return;
        }
      g_ptr_array_add (layers, best);
    }
  else
    for (guint j = 0; j < m->layers->len; j++)
      g_ptr_array_add (layers, m->layers->pdata[j]);
  for (guint j = 0; j < layers->len; j++)
    {
      RefLayer *l = layers->pdata[j];

      if (get_ref (m, l) == NULL)
        return;
      g_string_append_printf (spec, "%s%s", j ? "+" : "", l->name);
      dim += l->dim;
    }
  g_test_message ("layers %s", spec->str);
  one = new_session (model, NULL, spec->str, 1, 1);
  batch = new_session (model, NULL, spec->str, 2, (int) m->n);
  if (one == NULL || batch == NULL)
    return;
  if (hippo_session_get_dim (one) != dim
      || hippo_session_get_dim (batch) != dim)
    {
      fail ("joined layers: %u and %u dimensions, expected %u",
            hippo_session_get_dim (one), hippo_session_get_dim (batch), dim);
      return;
    }
  if (hippo_session_get_n_threads (batch) != 2)
    g_test_message ("note: the batch session runs %d threads, not 2",
                    hippo_session_get_n_threads (batch));
  total = (gsize) m->n * dim;
  a = g_new0 (float, total);
  b = g_new0 (float, total);
  for (guint i = 0; i < m->n; i++)
    if (!hippo_session_run (one, input + i * input_floats (m), 1,
                            a + (gsize) i * dim, &error))
      {
        fail ("one at a time: %s", error->message);
        return;
      }
  if (!hippo_session_run (batch, input, m->n, b, &error))
    {
      fail ("batch of %u: %s", m->n, error->message);
      return;
    }
  /* the images 4 times over on 2 threads: each thread then takes several
   * images at once (a chunk) */
  {
    guint n4 = 4 * m->n;
    g_autoptr (HippoSession) batch4 = new_session (model, NULL, spec->str, 2,
                                                   (int) n4);
    g_autofree float *in4 = g_new (float, (gsize) n4 * input_floats (m));
    g_autofree float *c4 = g_new0 (float, (gsize) n4 * dim);
    double worst = 0, max_a = 0;

    if (batch4 == NULL)
      return;
    for (guint r = 0; r < 4; r++)
      memcpy (in4 + (gsize) r * m->n * input_floats (m), input,
              (gsize) m->n * input_floats (m) * sizeof (float));
    if (!hippo_session_run (batch4, in4, n4, c4, &error))
      {
        fail ("batch of %u: %s", n4, error->message);
        return;
      }
    for (gsize i = 0; i < (gsize) n4 * dim; i++)
      {
        double e = fabs ((double) c4[i] - a[i % total]);
        max_a = MAX (max_a, fabs (a[i % total]));
        if (e > worst || !isfinite (e))
          worst = e;
      }
    g_test_message ("%s: batch of %u (4 copies) on 2 threads vs one at a "
                    "time: worst |error| %.3g", m->name, n4, worst);
    if (!(worst <= batch_tol (m, max_a)))
      fail ("%s: batch of %u on 2 threads differs from one at a time by %.3g",
            m->name, n4, worst);
  }
  /* the same batch on 1 thread (late layers batched, no image split) */
  {
    g_autoptr (HippoSession) batch1 = new_session (model, NULL, spec->str, 1,
                                                   (int) m->n);
    g_autofree float *c = g_new0 (float, total);
    double worst = 0, max_b = 0;

    if (batch1 == NULL)
      return;
    if (!hippo_session_run (batch1, input, m->n, c, &error))
      {
        fail ("batch of %u on 1 thread: %s", m->n, error->message);
        return;
      }
    for (gsize i = 0; i < total; i++)
      {
        double e = fabs ((double) c[i] - b[i]);
        max_b = MAX (max_b, fabs (b[i]));
        if (e > worst || !isfinite (e))
          worst = e;
      }
    g_test_message ("%s: batch of %u on 1 vs 2 threads: worst |error| %.3g",
                    m->name, m->n, worst);
    if (!(worst <= batch_tol (m, max_b)))
      fail ("%s: batch on 1 thread differs from 2 threads by %.3g", m->name,
            worst);
  }
  /* one image at a time on 2 threads: each layer (and each fused
   * 1x1 -> depthwise -> 1x1 group, in row parts) split over both */
  {
    g_autoptr (HippoSession) two = new_session (model, NULL, spec->str, 2, 1);
    g_autofree float *c = g_new0 (float, total);
    double worst = 0, max_a = 0;

    if (two == NULL)
      return;
    for (guint i = 0; i < m->n; i++)
      if (!hippo_session_run (two, input + i * input_floats (m), 1,
                              c + (gsize) i * dim, &error))
        {
          fail ("one at a time on 2 threads: %s", error->message);
          return;
        }
    for (gsize i = 0; i < total; i++)
      {
        double e = fabs ((double) c[i] - a[i]);
        max_a = MAX (max_a, fabs (a[i]));
        if (e > worst || !isfinite (e))
          worst = e;
      }
    g_test_message ("%s: one at a time on 2 vs 1 thread: worst |error| %.3g",
                    m->name, worst);
    if (!(worst <= batch_tol (m, max_a)))
      fail ("%s: one image on 2 threads differs from 1 thread by %.3g",
            m->name, worst);
  }
  for (guint j = 0; j < layers->len; j++)
    {
      RefLayer *l = layers->pdata[j];
      double max_a = 0, worst = 0;

      for (guint i = 0; i < m->n; i++)
        for (guint k = 0; k < l->dim; k++)
          {
            gsize at = (gsize) i * dim + off + k;
            double e = fabs ((double) a[at] - b[at]);

            max_a = MAX (max_a, fabs (a[at]));
            if (e > worst || !isfinite (e))
              worst = e;
          }
      g_test_message ("%s %s: batch of %u vs one at a time: worst |error| "
                      "%.3g (max |value| %.4g)",
                      m->name, l->short_name, m->n, worst, max_a);
      if (!(worst <= batch_tol (m, max_a)))
        fail ("%s %s: batch differs from one at a time by %.3g > %.3g", m->name,
              l->short_name, worst, batch_tol (m, max_a));
      check_close (m, l, b + off, dim, l->ref, "joined, batch");
      off += l->dim;
    }
}

static void
test_skip (gconstpointer data)
{
  g_test_skip ((const char *) data);
}

static void
test_fail (gconstpointer data)
{
  fail ("%s", (const char *) data);
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) models = NULL;
  g_autoptr (GPtrArray) cases = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  const char *ref_dir = g_getenv ("HIPPOTAG_REF_DIR");
  int rc;

  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();

  if (ref_dir == NULL || *ref_dir == '\0')
    reason = g_strdup ("NO REFERENCE DATA: HIPPOTAG_REF_DIR is not set; "
                       "run tools/make-references and set it, or ./run-tests");
  else if (!g_file_test (ref_dir, G_FILE_TEST_IS_DIR))
    reason = g_strdup_printf ("NO REFERENCE DATA: HIPPOTAG_REF_DIR=%s does not "
                              "exist; run tools/make-references %s",
                              ref_dir, ref_dir);
  if (reason != NULL)
    {
      g_test_add_data_func ("/reference/skipped", reason, test_skip);
      return g_test_run ();
    }

  models = load_index (ref_dir, &error);
  if (models == NULL)
    {
      reason = g_strdup_printf ("reading the references in %s: %s", ref_dir,
                                error->message);
      g_test_add_data_func ("/reference/index", reason, test_fail);
      return g_test_run ();
    }

  for (guint i = 0; i < models->len; i++)
    {
      RefModel *m = models->pdata[i];

      for (guint j = 0; j < m->layers->len; j++)
        {
          RefCase *c = g_new0 (RefCase, 1);
          g_autofree char *p1 = NULL, *p2 = NULL;

          c->model = m;
          c->layer = m->layers->pdata[j];
          g_ptr_array_add (cases, c);
          p1 = g_strdup_printf ("/reference/%s/%s/exact-input", m->name,
                                c->layer->short_name);
          p2 = g_strdup_printf ("/reference/%s/%s/from-file", m->name,
                                c->layer->short_name);
          g_test_add_data_func (p1, c, test_exact_input);
          g_test_add_data_func (p2, c, test_from_file);
          if (g_str_has_prefix (m->name, "mobilenet"))
            {
              g_autofree char *p3 = g_strdup_printf (
                "/reference/%s/%s/bfloat16", m->name, c->layer->short_name);
              g_test_add_data_func (p3, c, test_bf16);
            }
        }
      /* batches: all layers joined, and the shallowest alone (the
       * MobileNets; InceptionV3 costs too much for it) */
      for (int k = 0; k < 2; k++)
        {
          RefCase *c;
          g_autofree char *path = NULL;

          if (k == 1 && !g_str_has_prefix (m->name, "mobilenet"))
            break;
          c = g_new0 (RefCase, 1);
          c->model = m;
          c->shallow = k == 1;
          g_ptr_array_add (cases, c);
          path = g_strdup_printf ("/reference/%s/batch%s", m->name,
                                  c->shallow ? "-shallow-layer" : "");
          g_test_add_data_func (path, c, test_batch);
        }
    }

  rc = g_test_run ();
  return rc;
}
