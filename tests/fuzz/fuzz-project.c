/* Fuzz target: the project file (SQLite): open read-only, open read-write
 * (which migrates an older schema), read everything through the public API
 * (settings, classes, examples, labels revision, the feature cache, the
 * trained head, deserialised and used), make a few writes, and check.
 *
 * Input: the bytes of a project file. */
#include "fuzz.h"

#include <math.h>
#include <string.h>

#include "hippotag/hippotag.h"

static const char hash_a[]
  = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void
expect_project_error (const GError *error, const char *what)
{
  if (error == NULL || error->domain != HIPPO_ERROR)
    fuzz_fail ("%s failed without a HIPPO_ERROR", what);
}

static void
read_settings (HippoProject *p)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) keys = hippo_project_list_settings (p, &error);

  if (keys == NULL)
    {
      expect_project_error (error, "hippo_project_list_settings");
      return;
    }
  for (gsize i = 0; keys[i] != NULL; i++)
    {
      g_autoptr (GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;
      g_autofree char *s = hippo_project_get_string (p, keys[i], "", &e1);
      gint64 v = 0;
      double d = 0;
      gboolean b = FALSE;

      if (s != NULL && !g_utf8_validate (s, -1, NULL))
        fuzz_fail ("setting '%s' is not UTF-8", keys[i]);
      if (hippo_project_get_double (p, keys[i], 0, &d, &e3) && !isfinite (d))
        fuzz_fail ("setting '%s' is not finite", keys[i]);
      hippo_project_get_int (p, keys[i], 0, &v, &e2);
      hippo_project_get_bool (p, keys[i], FALSE, &b, &e4);
    }
  g_clear_error (&error);
  hippo_project_get_multi_label (p, &error);
}

static void
read_examples (HippoProject *p, const char *model_id, const char *layer)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) classes = hippo_project_list_classes (p, &error);
  g_autoptr (GPtrArray) all = NULL;
  gint64 revision = 0;

  if (classes == NULL)
    {
      expect_project_error (error, "hippo_project_list_classes");
      return;
    }
  for (guint i = 0; i < classes->len; i++)
    {
      HippoClassInfo *c = classes->pdata[i];
      g_autoptr (GError) e = NULL;
      g_autoptr (HippoClassInfo) found = NULL;
      g_autoptr (GPtrArray) ex = NULL;

      if (c->name == NULL || !g_utf8_validate (c->name, -1, NULL)
          || c->colour == NULL)
        fuzz_fail ("class %u has a bad name or colour", i);
      found = hippo_project_lookup_class (p, c->name, &e);
      g_clear_error (&e);
      ex = hippo_project_list_examples (p, c->name, &e);
    }
  all = hippo_project_list_examples (p, NULL, &error);
  if (all == NULL)
    {
      expect_project_error (error, "hippo_project_list_examples");
      return;
    }
  fuzz_note ("%u classes, %u examples", classes->len, all->len);
  for (guint i = 0; i < all->len && i < 64; i++)
    {
      HippoExample *ex = all->pdata[i];
      g_autoptr (GError) e = NULL;
      g_autoptr (GPtrArray) by_hash = NULL;
      g_autoptr (GPtrArray) by_path = NULL;
      g_autofree float *features = NULL;
      guint dim = 0;

      if (strlen (ex->content_hash) != HIPPO_HASH_HEX_LEN
          || ex->class_name == NULL)
        fuzz_fail ("example %u has a bad hash or class", i);
      by_hash = hippo_project_find_examples_by_hash (p, ex->content_hash, &e);
      g_clear_error (&e);
      if (ex->path != NULL)
        by_path = hippo_project_find_examples_by_path (p, ex->path, &e);
      g_clear_error (&e);
      if (model_id != NULL && layer != NULL
          && hippo_project_get_features (p, ex->content_hash, model_id, layer,
                                         HIPPO_PREPROCESS_VERSION, &features,
                                         &dim, &e)
          && features != NULL)
        for (guint k = 0; k < dim; k++)
          if (!isfinite (features[k]))
            fuzz_fail ("cached features with a non-finite value");
    }
  g_clear_error (&error);
  hippo_project_get_labels_revision (p, &revision, &error);
}

static void
read_head (HippoProject *p)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoHeadRecord) r = hippo_project_load_head (p, &error);
  g_autoptr (HippoHead) head = NULL;

  if (r == NULL)
    {
      expect_project_error (error, "hippo_project_load_head");
      fuzz_note ("no head: %s", error->message);
      return;
    }
  read_examples (p, r->model_id, r->layer);
  head = hippo_head_deserialize (r->blob, &error);
  if (head == NULL)
    fuzz_note ("bad head: %s", error->message);
  if (head != NULL)
    {
      guint dim = hippo_head_get_dim (head);
      guint k = hippo_head_get_n_classes (head);
      g_autofree float *x = g_new0 (float, dim);
      g_autofree float *probs = g_new (float, k);

      x[0] = 1.0f;
      hippo_head_predict (head, x, 1, probs);
      fuzz_note ("head: %u classes, %u dimensions, decides %d", k, dim,
                 hippo_head_decide (head, probs, -1, NULL));
    }
}

static void
read_all (HippoProject *p)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *model_id
    = hippo_project_get_string (p, HIPPO_SETTING_MODEL_ID, NULL, &error);
  g_autofree char *layer = NULL;

  g_clear_error (&error);
  layer = hippo_project_get_string (p, HIPPO_SETTING_LAYERS, NULL, &error);
  read_settings (p);
  read_examples (p, model_id, layer);
  read_head (p);
}

static gboolean
write_some (HippoProject *p, GError **error)
{
  HippoExampleChange change;
  float f[3] = { 1, 2, 3 };
  guint n = 0;

  if (!hippo_project_add_class (p, "fuzz class", NULL, NULL, error)
      || !hippo_project_add_example (p, "fuzz class", "/nonexistent/a.jpg",
                                     hash_a, HIPPO_EXAMPLE_SOURCE_FILE, &change,
                                     error)
      || !hippo_project_put_features (p, hash_a, "m@1", "l", 1, f, 3, error)
      || !hippo_project_set_string (p, "fuzz.key", "v", error))
    return FALSE;
  read_all (p);
  return hippo_project_rename_class (p, "fuzz class", "Fuzz Class", error)
         && hippo_project_remove_class (p, "Fuzz Class", TRUE, &n, error);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *dir = fuzz_tmpdir_new ();
  g_autofree char *path = fuzz_write_file (dir, "p.hippotag", data, size);
  g_autoptr (GError) error = NULL;
  HippoProject *p;

  p = hippo_project_open (path, HIPPO_PROJECT_OPEN_READ_ONLY, &error);
  if (p == NULL)
    {
      expect_project_error (error, "a read-only open");
      fuzz_note ("read-only open: %s", error->message);
    }
  else
    {
      read_all (p);
      hippo_project_free (p);
    }
  g_clear_error (&error);

  p = hippo_project_open (path, HIPPO_PROJECT_OPEN_DEFAULT, &error);
  if (p == NULL)
    {
      expect_project_error (error, "a read-write open");
      fuzz_note ("read-write open: %s", error->message);
    }
  else
    {
      read_all (p);
      if (!write_some (p, &error))
        {
          expect_project_error (error, "writing");
          fuzz_note ("writing: %s", error->message);
        }
      g_clear_error (&error);
      if (!hippo_project_check (p, &error))
        fuzz_note ("check: %s", error->message);
      hippo_project_free (p);
    }
  fuzz_tmpdir_remove (dir);
  return 0;
}
