/* Tests of the file pipeline (core/extract.c) and of classifying files
 * through it with a project's caches (core/classifier.c): outcomes in
 * input order with every thread count and batch, the features those of each
 * file alone, failures in their place, stopping, and the caches. Needs the
 * default model (skips without it).
 */
#include <hippotag/hippotag.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *tmpdir;
static HippoModel *model;

static void
rm_rf (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR)
          && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
        rm_rf (p);
      else
        g_unlink (p);
    }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
}

/* a JPEG of w x h pixels: a colour gradient with some noise */
static char *
make_jpeg (const char *name, int w, int h, guint seed)
{
  g_autoptr (GdkPixbuf) p = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, w, h);
  guint8 *px = gdk_pixbuf_get_pixels (p);
  int stride = gdk_pixbuf_get_rowstride (p);
  char *path = g_build_filename (tmpdir, name, NULL);
  guint32 x = seed * 2654435761u + 1;
  GError *error = NULL;

  for (int y = 0; y < h; y++)
    for (int i = 0; i < w; i++)
      {
        guint8 *d = px + (gsize) y * stride + 3 * i;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        d[0] = (guint8) ((i * 255 / w + seed * 40) & 255);
        d[1] = (guint8) ((y * 255 / h + (x & 31)) & 255);
        d[2] = (guint8) ((seed * 90 + (x >> 8 & 63)) & 255);
      }
  g_assert_true (gdk_pixbuf_save (p, path, "jpeg", &error, "quality", "90",
                                  NULL));
  g_assert_no_error (error);
  return path;
}

typedef enum
{
  GOOD,
  MISSING,
  FOLDER,
  NOT_IMAGE,
} Kind;

typedef struct
{
  GPtrArray *paths; /* char* */
  GArray *kinds;    /* Kind */
  float *ref;       /* n * dim: each good file alone */
  guint dim;
} Files;

static void
files_add (Files *f, char *path, Kind kind)
{
  g_ptr_array_add (f->paths, path);
  g_array_append_val (f->kinds, kind);
}

/* 24 files: JPEGs of several sizes (one large enough for reduced decoding),
 * a copy of one under another name, and failures among them. */
static void
files_init (Files *f)
{
  g_autoptr (HippoSession) s = NULL;
  g_autofree float *input = NULL;
  HippoSessionParams sp;
  GError *error = NULL;
  int w, h;

  f->paths = g_ptr_array_new_with_free_func (g_free);
  f->kinds = g_array_new (FALSE, FALSE, sizeof (Kind));
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *name = g_strdup_printf ("img-%02u.jpg", i);
      int size = i == 3 ? 1400 : 120 + 37 * (int) i;
      files_add (f, make_jpeg (name, size, size * 3 / 4 + 1, i), GOOD);
      if (i == 4)
        files_add (f, g_build_filename (tmpdir, "missing.jpg", NULL), MISSING);
      if (i == 9)
        files_add (f, g_strdup (tmpdir), FOLDER);
      if (i == 15)
        {
          char *path = g_build_filename (tmpdir, "text.jpg", NULL);
          g_assert_true (g_file_set_contents (path, "not an image", -1, NULL));
          files_add (f, path, NOT_IMAGE);
        }
    }
  {
    g_autofree char *data = NULL;
    gsize len;
    char *copy = g_build_filename (tmpdir, "copy-of-img-07.jpg", NULL);
    g_assert_true (g_file_get_contents (f->paths->pdata[8], &data, &len, NULL));
    g_assert_true (g_file_set_contents (copy, data, (gssize) len, NULL));
    files_add (f, copy, GOOD);
  }

  hippo_session_params_default (&sp);
  sp.n_threads = 1;
  s = hippo_session_new (model, &sp, &error);
  g_assert_no_error (error);
  f->dim = hippo_session_get_dim (s);
  hippo_model_get_input_size (model, &w, &h);
  input = g_new (float, (gsize) w * h * 3);
  f->ref = g_new0 (float, (gsize) f->paths->len * f->dim);
  for (guint i = 0; i < f->paths->len; i++)
    if (g_array_index (f->kinds, Kind, i) == GOOD)
      {
        g_assert_true (hippo_image_load_input (model, f->paths->pdata[i],
                                               input, &error));
        g_assert_no_error (error);
        g_assert_true (hippo_session_run (s, input, 1,
                                          f->ref + (gsize) i * f->dim,
                                          &error));
        g_assert_no_error (error);
      }
}

static void
files_clear (Files *f)
{
  g_ptr_array_unref (f->paths);
  g_array_unref (f->kinds);
  g_free (f->ref);
}

/* Equal up to the rounding a different batch may bring. */
static void
assert_close (const float *a, const float *b, guint n)
{
  for (guint k = 0; k < n; k++)
    if (!(fabsf (a[k] - b[k]) <= 1e-4f * (1.0f + fabsf (b[k]))))
      g_error ("feature %u: %.9g != %.9g", k, a[k], b[k]);
}

typedef struct
{
  Files *files;
  guint next;      /* the index expected next */
  guint stop_at;   /* return FALSE at this index */
} Seen;

static gboolean
on_features (guint index, const char *path, const float *features,
             const GError *error, gpointer user_data)
{
  Seen *seen = user_data;
  Files *f = seen->files;
  Kind kind = g_array_index (f->kinds, Kind, index);

  g_assert_cmpuint (index, ==, seen->next);
  g_assert_true (path == f->paths->pdata[index]);
  seen->next++;
  switch (kind)
    {
    case GOOD:
      g_assert_no_error ((GError *) error);
      g_assert_nonnull (features);
      assert_close (features, f->ref + (gsize) index * f->dim, f->dim);
      break;
    case MISSING:
    case FOLDER:
      g_assert_null (features);
      g_assert_error ((GError *) error, HIPPO_ERROR, HIPPO_ERROR_IO);
      break;
    case NOT_IMAGE:
      g_assert_null (features);
      g_assert_error ((GError *) error, HIPPO_ERROR, HIPPO_ERROR_IMAGE);
      break;
    }
  return index != seen->stop_at;
}

/* Every outcome in input order, features as of each file alone, with 1 to
 * 3 threads and batches of 1 to 8; the same extractor runs again. */
static void
test_order (void)
{
  static const int configs[][2]
    = { { 1, 1 }, { 1, 4 }, { 2, 1 }, { 2, 3 }, { 3, 8 }, { 4, 2 } };
  Files f;
  if (model == NULL)
    {
      g_test_skip ("no default model (run ./setup or set "
                   "HIPPOTAG_MODEL_PATH)");
      return;
    }

  files_init (&f);
  for (guint c = 0; c < G_N_ELEMENTS (configs); c++)
    {
      g_autoptr (HippoExtractor) ex = NULL;
      HippoSessionParams sp;
      GError *error = NULL;

      hippo_session_params_default (&sp);
      sp.n_threads = configs[c][0];
      sp.max_batch = configs[c][1];
      ex = hippo_extractor_new (model, &sp, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (hippo_extractor_get_dim (ex), ==, f.dim);
      for (int round = 0; round < 2; round++)
        {
          Seen seen = { &f, 0, G_MAXUINT };
          g_assert_true (hippo_extractor_run (
            ex, (const char *const *) f.paths->pdata, f.paths->len,
            on_features, &seen, &error));
          g_assert_no_error (error);
          g_assert_cmpuint (seen.next, ==, f.paths->len);
        }
      /* nothing to do */
      {
        Seen seen = { &f, 0, G_MAXUINT };
        g_assert_true (hippo_extractor_run (ex, NULL, 0, on_features, &seen,
                                            &error));
        g_assert_cmpuint (seen.next, ==, 0);
      }
    }
  files_clear (&f);
}

/* A callback that returns FALSE stops the run: nothing after it is
 * reported, the run fails with HIPPO_ERROR_CANCELLED, and the extractor
 * works again afterwards. */
static void
test_stop (void)
{
  Files f;
  g_autoptr (HippoExtractor) ex = NULL;
  HippoSessionParams sp;
  GError *error = NULL;
  if (model == NULL)
    {
      g_test_skip ("no default model (run ./setup or set "
                   "HIPPOTAG_MODEL_PATH)");
      return;
    }

  files_init (&f);
  hippo_session_params_default (&sp);
  sp.n_threads = 2;
  sp.max_batch = 2;
  ex = hippo_extractor_new (model, &sp, &error);
  g_assert_no_error (error);
  for (guint stop = 0; stop < 12; stop += 5)
    {
      Seen seen = { &f, 0, stop };
      g_assert_false (hippo_extractor_run (
        ex, (const char *const *) f.paths->pdata, f.paths->len, on_features,
        &seen, &error));
      g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED);
      g_clear_error (&error);
      g_assert_cmpuint (seen.next, ==, stop + 1);
    }
  {
    Seen seen = { &f, 0, G_MAXUINT };
    g_assert_true (hippo_extractor_run (ex,
                                        (const char *const *) f.paths->pdata,
                                        f.paths->len, on_features, &seen,
                                        &error));
    g_assert_cmpuint (seen.next, ==, f.paths->len);
  }
  files_clear (&f);
}

typedef struct
{
  Files *files;
  guint next;
  GPtrArray *labels; /* char*, per file, NULL for failures */
  GArray *confidence;
} Predicted;

static gboolean
on_predicted (guint index, const char *path, const HippoPrediction *p,
              const GError *error, gpointer user_data)
{
  Predicted *r = user_data;
  Kind kind = g_array_index (r->files->kinds, Kind, index);
  float conf = p ? p->confidence : -1;

  g_assert_cmpuint (index, ==, r->next);
  g_assert_true (path == r->files->paths->pdata[index]);
  r->next++;
  if (kind == GOOD)
    {
      g_assert_no_error ((GError *) error);
      g_assert_nonnull (p);
      g_assert_nonnull (p->label);
      g_assert_cmpuint (p->n_classes, ==, 2);
    }
  else
    {
      g_assert_null (p);
      g_assert_nonnull (error);
    }
  g_ptr_array_add (r->labels, p ? g_strdup (p->label) : NULL);
  g_array_append_val (r->confidence, conf);
  return TRUE;
}

static void
classify (HippoClassifier *c, Files *f, Predicted *r)
{
  GError *error = NULL;

  r->files = f;
  r->next = 0;
  r->labels = g_ptr_array_new_with_free_func (g_free);
  r->confidence = g_array_new (FALSE, FALSE, sizeof (float));
  g_assert_true (hippo_classifier_classify_files (
    c, (const char *const *) f->paths->pdata, f->paths->len, on_predicted, r,
    &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r->next, ==, f->paths->len);
}

static void
predicted_clear (Predicted *r)
{
  g_ptr_array_unref (r->labels);
  g_array_unref (r->confidence);
}

/* Classifying through the project: the outcomes in order, the features of
 * every good file stored under its content hash (the copy shares its
 * original's), the hash cache filled; a second run (from the caches) and
 * runs with other thread counts predict the same. */
static void
test_classify (void)
{
  g_autofree char *project_path = g_build_filename (tmpdir, "p.hippotag",
                                                    NULL);
  Files f;
  Predicted first, again;
  GError *error = NULL;
  if (model == NULL)
    {
      g_test_skip ("no default model (run ./setup or set "
                   "HIPPOTAG_MODEL_PATH)");
      return;
    }

  files_init (&f);
  {
    g_autoptr (HippoClassifier) c = NULL;
    HippoClassifierParams cp;
    HippoProject *project;
    const char *a[] = { f.paths->pdata[0], f.paths->pdata[2] };
    const char *b[] = { f.paths->pdata[12], f.paths->pdata[14] };
    g_autofree char *layers = NULL;
    char *metrics;

    hippo_classifier_params_default (&cp);
    g_assert_cmpint (cp.precision, ==, HIPPO_PRECISION_AUTO);
    /* float32: the cache is compared with the extractor's float32 rows */
    cp.precision = HIPPO_PRECISION_FLOAT32;
    cp.create = TRUE;
    cp.n_threads = 2;
    c = hippo_classifier_open (project_path, &cp, &error);
    g_assert_no_error (error);
    project = hippo_classifier_get_project (c);
    g_assert_true (hippo_project_add_class (project, "a", NULL, NULL, &error));
    g_assert_true (hippo_project_add_class (project, "b", NULL, NULL, &error));
    g_assert_true (
      hippo_classifier_label_files (c, "a", a, 2, NULL, NULL, &error));
    g_assert_no_error (error);
    g_assert_true (
      hippo_classifier_label_files (c, "b", b, 2, NULL, NULL, &error));
    g_assert_no_error (error);
    metrics = hippo_classifier_train (c, 0, NULL, NULL, &error);
    g_assert_no_error (error);
    g_free (metrics);

    classify (c, &f, &first);
    /* stored under each good file's content hash: the features of the
     * file alone */
    layers = hippo_project_get_string (project, HIPPO_SETTING_LAYERS, NULL,
                                       &error);
    g_assert_no_error (error);
    {
      HippoSessionParams sp;
      HippoSession *s;

      hippo_session_params_default (&sp);
      sp.layers = layers;
      s = hippo_session_new (model, &sp, &error);
      g_assert_no_error (error);
      g_free (layers);
      layers = g_strdup (hippo_session_get_layers (s));
      hippo_session_free (s);
    }
    for (guint i = 0; i < f.paths->len; i++)
      {
        g_autofree char *hash = NULL;
        g_autofree float *cached = NULL;
        guint dim = 0;

        if (g_array_index (f.kinds, Kind, i) != GOOD)
          continue;
        hash = hippo_file_hash (f.paths->pdata[i], &error);
        g_assert_no_error (error);
        g_assert_true (hippo_project_get_features (
          project, hash, hippo_model_get_id (model), layers,
          HIPPO_PREPROCESS_VERSION, &cached, &dim, &error));
        g_assert_no_error (error);
        g_assert_nonnull (cached);
        g_assert_cmpuint (dim, ==, f.dim);
        assert_close (cached, f.ref + (gsize) i * f.dim, f.dim);
      }
    classify (c, &f, &again);
    for (guint i = 0; i < f.paths->len; i++)
      {
        g_assert_cmpstr (first.labels->pdata[i], ==, again.labels->pdata[i]);
        g_assert_cmpfloat (g_array_index (first.confidence, float, i), ==,
                           g_array_index (again.confidence, float, i));
      }
    /* the copy is its original */
    g_assert_cmpstr (first.labels->pdata[8], ==,
                     first.labels->pdata[f.paths->len - 1]);
    g_assert_cmpfloat (g_array_index (first.confidence, float, 8), ==,
                       g_array_index (first.confidence, float,
                                      f.paths->len - 1));
    predicted_clear (&again);
  }
  for (int threads = 1; threads <= 3; threads++)
    {
      g_autoptr (HippoClassifier) c = NULL;
      HippoClassifierParams cp;

      hippo_classifier_params_default (&cp);
      cp.precision = HIPPO_PRECISION_FLOAT32;
      cp.n_threads = threads;
      cp.max_batch = threads;
      cp.cache_unlabelled = FALSE;
      c = hippo_classifier_open (project_path, &cp, &error);
      g_assert_no_error (error);
      classify (c, &f, &again);
      for (guint i = 0; i < f.paths->len; i++)
        {
          g_assert_cmpstr (first.labels->pdata[i], ==,
                           again.labels->pdata[i]);
          g_assert_cmpfloat_with_epsilon (
            g_array_index (first.confidence, float, i),
            g_array_index (again.confidence, float, i), 1e-4);
        }
      predicted_clear (&again);
    }
  predicted_clear (&first);
  files_clear (&f);
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  int rc;

  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("hippotag-test-extract-XXXXXX", &error);
  g_assert_no_error (error);
  model = hippo_model_load (NULL, &error);
  if (model == NULL)
    {
      g_printerr ("no default model (run ./setup or set "
                  "HIPPOTAG_MODEL_PATH): %s\n",
                  error->message);
      g_clear_error (&error);
    }
  g_test_add_func ("/extract/order", test_order);
  g_test_add_func ("/extract/stop", test_stop);
  g_test_add_func ("/extract/classify", test_classify);
  rc = g_test_run ();
  hippo_model_free (model);
  rm_rf (tmpdir);
  g_free (tmpdir);
  return rc;
}
