/* Bad models made from the real one: truncated, corrupted, wrong-shape,
 * absurd-size, non-finite, unknown layer, cycles. Each must load with a
 * clear error (never a crash), or load fine when the damage is harmless. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "hippotag/hippotag.h"

typedef struct
{
  char *src;       /* the real model folder */
  char *dir;       /* a scratch copy */
  char *json;      /* its model.json text */
  gsize json_len;
} Fixture;

static char *
find_real_model (void)
{
  const char *path = g_getenv ("HIPPOTAG_MODEL_PATH");
  g_auto (GStrv) dirs = g_strsplit (path ? path : "", ":", -1);

  for (int i = 0; dirs[i]; i++)
    {
      char *p = g_build_filename (dirs[i], "mobilenet_v2", NULL);
      char *j = g_build_filename (p, "model.json", NULL);
      gboolean ok = g_file_test (j, G_FILE_TEST_IS_REGULAR);
      g_free (j);
      if (ok)
        return p;
      g_free (p);
    }
  return NULL;
}

static void
copy_file (const char *from, const char *to)
{
  g_autofree char *data = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  g_assert_true (g_file_set_contents (to, data, len, NULL));
}

static gboolean
setup (Fixture *f)
{
  g_autoptr (GDir) d = NULL;
  const char *name;
  g_autofree char *mj = NULL;

  f->src = find_real_model ();
  if (f->src == NULL)
    {
      g_test_skip ("NO REAL MODEL (HIPPOTAG_MODEL_PATH has no "
                   "mobilenet_v2): run ./setup; THIS TEST DID NOT RUN");
      return FALSE;
    }
  f->dir = g_dir_make_tmp ("hippo-badmodel-XXXXXX", NULL);
  d = g_dir_open (f->src, 0, NULL);
  while ((name = g_dir_read_name (d)))
    {
      g_autofree char *a = g_build_filename (f->src, name, NULL);
      g_autofree char *b = g_build_filename (f->dir, name, NULL);
      copy_file (a, b);
    }
  mj = g_build_filename (f->dir, "model.json", NULL);
  g_assert_true (g_file_get_contents (mj, &f->json, &f->json_len, NULL));
  return TRUE;
}

static void
teardown (Fixture *f, gconstpointer unused)
{
  if (f->dir)
    {
      g_autoptr (GDir) d = g_dir_open (f->dir, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name (d)))
        {
          g_autofree char *p = g_build_filename (f->dir, name, NULL);
          g_unlink (p);
        }
      g_rmdir (f->dir);
    }
  g_free (f->src);
  g_free (f->dir);
  g_free (f->json);
}

static void
write_json (Fixture *f, const char *text, gssize len)
{
  g_autofree char *mj = g_build_filename (f->dir, "model.json", NULL);
  g_assert_true (g_file_set_contents (mj, text, len, NULL));
}

/* Loads the scratch copy; returns the error (NULL when it loaded). */
static GError *
load (Fixture *f)
{
  GError *error = NULL;
  HippoModel *m = hippo_model_load (f->dir, &error);

  if (m)
    {
      /* a model that loads must also run */
      HippoSessionParams p;
      g_autoptr (HippoSession) s = NULL;
      float *in = g_new0 (float, 224 * 224 * 3), out[8];
      hippo_session_params_default (&p);
      p.layers = hippo_model_get_output_layer (m);
      s = hippo_session_new (m, &p, NULL);
      if (s && hippo_session_get_dim (s) <= 8)
        hippo_session_run (s, in, 1, out, NULL);
      g_free (in);
      hippo_model_free (m);
    }
  return error;
}

static void
expect_error (Fixture *f, int code, const char *needle)
{
  g_autoptr (GError) error = load (f);

  g_assert_nonnull (error);
  g_test_message ("-> %s", error->message);
  g_assert_true (error->domain == HIPPO_ERROR);
  if (code >= 0)
    g_assert_cmpint (error->code, ==, code);
  if (needle)
    g_assert_nonnull (strstr (error->message, needle));
}

/* Edits model.json through json-glib: fn gets the root object. */
static void
edit_json (Fixture *f, void (*fn) (JsonObject *root, gpointer), gpointer d)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;

  g_assert_true (json_parser_load_from_data (p, f->json, f->json_len, NULL));
  fn (json_node_get_object (json_parser_get_root (p)), d);
  json_generator_set_root (gen, json_parser_get_root (p));
  text = json_generator_to_data (gen, NULL);
  write_json (f, text, -1);
}

static JsonObject *
weight_entry (JsonObject *root, const char *name)
{
  JsonArray *groups = json_object_get_array_member (root, "weightsManifest");
  JsonArray *ws = json_object_get_array_member (
    json_array_get_object_element (groups, 0), "weights");

  for (guint i = 0; i < json_array_get_length (ws); i++)
    {
      JsonObject *w = json_array_get_object_element (ws, i);
      if (strcmp (json_object_get_string_member (w, "name"), name) == 0)
        return w;
    }
  g_assert_not_reached ();
  return NULL;
}

static JsonObject *
layer_entry (JsonObject *root, const char *name)
{
  JsonArray *layers = json_object_get_array_member (
    json_object_get_object_member (
      json_object_get_object_member (
        json_object_get_object_member (root, "modelTopology"),
        "model_config"),
      "config"),
    "layers");

  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonObject *l = json_array_get_object_element (layers, i);
      if (strcmp (json_object_get_string_member (l, "name"), name) == 0)
        return l;
    }
  g_assert_not_reached ();
  return NULL;
}

static void
set_shape (JsonObject *root, gpointer data)
{
  const gint64 *dims = data;
  JsonArray *a = json_array_new ();

  for (int i = 0; i < 4; i++)
    json_array_add_int_element (a, dims[i]);
  json_object_set_array_member (weight_entry (root, "Conv1/kernel"), "shape",
                                a);
}

static void
set_scale (JsonObject *root, gpointer data)
{
  JsonObject *q = json_object_get_object_member (
    weight_entry (root, "Conv1/kernel"), "quantization");
  json_object_set_double_member (q, "scale", *(double *) data);
}

static void
set_class (JsonObject *root, gpointer data)
{
  json_object_set_string_member (layer_entry (root, "Conv1_relu"),
                                 "class_name", data);
}

static void
make_cycle (JsonObject *root, gpointer data)
{
  /* Conv1_pad takes its input from a later layer */
  g_autoptr (JsonParser) p = json_parser_new ();
  json_parser_load_from_data (p, "[[[\"block_1_pad\", 0, 0, {}]]]", -1,
                              NULL);
  json_object_set_member (layer_entry (root, "Conv1_pad"), "inbound_nodes",
                          json_node_copy (json_parser_get_root (p)));
}

static void
drop_inbound (JsonObject *root, gpointer data)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  json_parser_load_from_data (p, "[[[\"no_such_layer\", 0, 0, {}]]]", -1,
                              NULL);
  json_object_set_member (layer_entry (root, "Conv1"), "inbound_nodes",
                          json_node_copy (json_parser_get_root (p)));
}

static void
test_truncated_shard (Fixture *f, gconstpointer d)
{
  g_autofree char *bin = NULL;
  g_autofree char *data = NULL;
  gsize len;

  if (!setup (f))
    return;
  g_assert_null (load (f));   /* the copy itself is fine */
  bin = g_build_filename (f->dir, "group1-shard1of1.bin", NULL);
  g_assert_true (g_file_get_contents (bin, &data, &len, NULL));
  for (gsize cut = 0; cut < len; cut += len / 7 + 1)
    {
      g_assert_true (g_file_set_contents (bin, data, cut, NULL));
      expect_error (f, HIPPO_ERROR_MODEL_FORMAT, NULL);
    }
  /* extra bytes */
  {
    g_autofree char *more = g_malloc0 (len + 100);
    memcpy (more, data, len);
    g_assert_true (g_file_set_contents (bin, more, len + 100, NULL));
    expect_error (f, HIPPO_ERROR_MODEL_FORMAT, NULL);
  }
  g_unlink (bin);
  expect_error (f, HIPPO_ERROR_IO, NULL);
}

static void
test_truncated_json (Fixture *f, gconstpointer d)
{
  if (!setup (f))
    return;
  for (gsize cut = 0; cut < f->json_len; cut += f->json_len / 23 + 1)
    {
      write_json (f, f->json, cut);
      expect_error (f, -1, NULL);
    }
}

static void
test_corrupted_json (Fixture *f, gconstpointer d)
{
  GRand *rng;
  int loaded = 0, failed = 0;

  if (!setup (f))
    return;
  rng = g_rand_new_with_seed (42);
  for (int trial = 0; trial < 150; trial++)
    {
      g_autofree char *copy = g_memdup2 (f->json, f->json_len);
      GError *error;
      for (int k = 0; k < 1 + trial % 4; k++)
        {
          gsize at = g_rand_int_range (rng, 0, f->json_len);
          const char pool[] = "0123456789-.eE[]{}\",:ntf \\x";
          copy[at] = pool[g_rand_int_range (rng, 0, sizeof pool - 1)];
        }
      write_json (f, copy, f->json_len);
      error = load (f);
      if (error)
        {
          g_assert_true (error->domain == HIPPO_ERROR);
          failed++;
          g_error_free (error);
        }
      else
        loaded++;
    }
  g_test_message ("150 corrupted model.json: %d loaded, %d refused", loaded,
                  failed);
  g_rand_free (rng);
}

static void
test_wrong_shape (Fixture *f, gconstpointer d)
{
  gint64 fewer[4] = { 3, 3, 3, 16 };      /* fewer values than stored */
  gint64 same_n[4] = { 3, 3, 6, 16 };     /* same count, wrong layout */
  gint64 absurd[4] = { 100000, 100000, 100000, 100000 };
  gint64 negative[4] = { 3, 3, -3, 32 };

  if (!setup (f))
    return;
  edit_json (f, set_shape, fewer);
  expect_error (f, -1, NULL);
  edit_json (f, set_shape, same_n);
  expect_error (f, -1, NULL);
  edit_json (f, set_shape, absurd);
  expect_error (f, -1, NULL);
  edit_json (f, set_shape, negative);
  expect_error (f, -1, NULL);
}

static void
test_non_finite (Fixture *f, gconstpointer d)
{
  double huge = 1e38, nan = g_strtod ("nan", NULL);

  if (!setup (f))
    return;
  edit_json (f, set_scale, &huge);   /* q * 1e38 overflows to inf */
  expect_error (f, -1, NULL);
  (void) nan;   /* JSON cannot say NaN: json-glib writes it as a string */
}

static void
test_unknown_layer_and_cycle (Fixture *f, gconstpointer d)
{
  if (!setup (f))
    return;
  edit_json (f, set_class, "Swish");
  expect_error (f, HIPPO_ERROR_MODEL_UNSUPPORTED, "Swish");
  edit_json (f, make_cycle, NULL);
  expect_error (f, HIPPO_ERROR_MODEL_INVALID, NULL);
  edit_json (f, drop_inbound, NULL);
  expect_error (f, HIPPO_ERROR_MODEL_INVALID, "no_such_layer");
}

static void
test_not_a_model (Fixture *f, gconstpointer d)
{
  if (!setup (f))
    return;
  write_json (f, "", 0);
  expect_error (f, HIPPO_ERROR_MODEL_FORMAT, NULL);
  write_json (f, "[1, 2, 3]", -1);
  expect_error (f, HIPPO_ERROR_MODEL_FORMAT, NULL);
  write_json (f, "{\"modelTopology\": {}, \"weightsManifest\": []}", -1);
  expect_error (f, -1, NULL);
  write_json (f, "\x89PNG\r\n\x1a\n garbage", -1);
  expect_error (f, HIPPO_ERROR_MODEL_FORMAT, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/bad-models/truncated-shard", Fixture, NULL, NULL,
              test_truncated_shard, teardown);
  g_test_add ("/bad-models/truncated-json", Fixture, NULL, NULL,
              test_truncated_json, teardown);
  g_test_add ("/bad-models/corrupted-json", Fixture, NULL, NULL,
              test_corrupted_json, teardown);
  g_test_add ("/bad-models/wrong-shape", Fixture, NULL, NULL,
              test_wrong_shape, teardown);
  g_test_add ("/bad-models/non-finite", Fixture, NULL, NULL, test_non_finite,
              teardown);
  g_test_add ("/bad-models/unknown-layer-cycle", Fixture, NULL, NULL,
              test_unknown_layer_and_cycle, teardown);
  g_test_add ("/bad-models/not-a-model", Fixture, NULL, NULL,
              test_not_a_model, teardown);
  return g_test_run ();
}
