/* Bad models made from the real ones (mobilenet_v2 in the layers format,
 * mobilenet_v2_mid in the graph format): truncated, corrupted, wrong-shape,
 * absurd-size, non-finite, unknown layer or op, cycles, missing inputs.
 * Each must load with a clear error (never a crash), or load fine when the
 * damage is harmless. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "hippotag/hippotag.h"

typedef struct
{
  char *src;       /* the real model folder */
  char *dir;       /* a scratch copy */
  char *json;      /* its model.json text */
  gsize json_len;
} Fixture;

static char *
find_real_model (const char *name)
{
  const char *path = g_getenv ("HIPPOTAG_MODEL_PATH");
  g_auto (GStrv) dirs = g_strsplit (path ? path : "", ":", -1);

  for (int i = 0; dirs[i]; i++)
    {
      char *p = g_build_filename (dirs[i], name, NULL);
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
setup_named (Fixture *f, const char *model)
{
  g_autoptr (GDir) d = NULL;
  const char *name;
  g_autofree char *mj = NULL;

  f->src = find_real_model (model);
  if (f->src == NULL)
    {
      g_autofree char *why = g_strdup_printf (
        "NO REAL MODEL (HIPPOTAG_MODEL_PATH has no %s): run ./setup; THIS "
        "TEST DID NOT RUN",
        model);
      g_test_skip (why);
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

static gboolean
setup (Fixture *f)
{
  return setup_named (f, "mobilenet_v2");
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
          if (g_unlink (p) != 0)
            g_rmdir (p);
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

/* ---- the graph format (mobilenet_v2_mid) ---- */

/* The k-th node of the graph that is an op (not a Const or the input). */
static JsonObject *
graph_op (JsonObject *root, guint k)
{
  JsonArray *nodes = json_object_get_array_member (
    json_object_get_object_member (root, "modelTopology"), "node");

  for (guint i = 0; i < json_array_get_length (nodes); i++)
    {
      JsonObject *n = json_array_get_object_element (nodes, i);
      const char *op = json_object_get_string_member (n, "op");

      if (strcmp (op, "Const") != 0 && strcmp (op, "Placeholder") != 0
          && k-- == 0)
        return n;
    }
  g_assert_not_reached ();
  return NULL;
}

static void
set_graph_input (JsonObject *root, gpointer data)
{
  JsonObject *n = graph_op (root, GPOINTER_TO_UINT (data) & 0xff);
  JsonArray *in = json_object_get_array_member (n, "input");
  const char *name = (GPOINTER_TO_UINT (data) >> 8) == 0
                       ? "no/such/node"
                       : json_object_get_string_member (
                         graph_op (root, GPOINTER_TO_UINT (data) >> 8), "name");

  json_array_remove_element (in, 0);
  /* put first again: json-glib has no "set element" */
  {
    g_autoptr (JsonArray) copy = json_array_new ();
    json_array_add_string_element (copy, name);
    for (guint i = 0; i < json_array_get_length (in); i++)
      json_array_add_element (copy,
                              json_node_copy (json_array_get_element (in, i)));
    json_object_set_array_member (n, "input", json_array_ref (copy));
  }
}

static void
drop_placeholder (JsonObject *root, gpointer data)
{
  JsonArray *nodes = json_object_get_array_member (
    json_object_get_object_member (root, "modelTopology"), "node");

  for (guint i = 0; i < json_array_get_length (nodes); i++)
    if (strcmp (json_object_get_string_member (
                  json_array_get_object_element (nodes, i), "op"),
                "Placeholder")
        == 0)
      {
        json_array_remove_element (nodes, i);
        return;
      }
  g_assert_not_reached ();
}

static void
set_graph_op (JsonObject *root, gpointer data)
{
  json_object_set_string_member (graph_op (root, 2), "op", data);
}

/* The first weight of the manifest: its shape's two last axes swapped
 * (same size, another layout), or its third axis doubled (another size). */
static void
first_weight_shape (JsonObject *root, gpointer data)
{
  JsonArray *groups = json_object_get_array_member (root, "weightsManifest");
  JsonObject *w = json_array_get_object_element (
    json_object_get_array_member (json_array_get_object_element (groups, 0),
                                  "weights"),
    0);
  JsonArray *shape = json_object_get_array_member (w, "shape");
  gint64 d[4];
  JsonArray *a = json_array_new ();

  g_assert_cmpuint (json_array_get_length (shape), ==, 4);
  for (int i = 0; i < 4; i++)
    d[i] = json_array_get_int_element (shape, i);
  if (GPOINTER_TO_INT (data) == 0)
    {
      gint64 t = d[2];
      d[2] = d[3], d[3] = t;
    }
  else
    d[2] *= 2;
  for (int i = 0; i < 4; i++)
    json_array_add_int_element (a, d[i]);
  json_object_set_array_member (w, "shape", a);
}

static void
first_weight_scale (JsonObject *root, gpointer data)
{
  JsonArray *groups = json_object_get_array_member (root, "weightsManifest");
  JsonObject *w = json_array_get_object_element (
    json_object_get_array_member (json_array_get_object_element (groups, 0),
                                  "weights"),
    0);

  json_object_set_double_member (
    json_object_get_object_member (w, "quantization"), "scale",
    *(double *) data);
}

static void
test_graph_truncated_shard (Fixture *f, gconstpointer d)
{
  g_autofree char *bin = NULL;
  g_autofree char *data = NULL;
  gsize len;

  if (!setup_named (f, "mobilenet_v2_mid"))
    return;
  g_assert_null (load (f));
  /* the last shard of the group: cut, grown, missing */
  bin = g_build_filename (f->dir, "group1-shard2of2.bin", NULL);
  g_assert_true (g_file_get_contents (bin, &data, &len, NULL));
  for (gsize cut = 0; cut < len; cut += len / 5 + 1)
    {
      g_assert_true (g_file_set_contents (bin, data, cut, NULL));
      expect_error (f, HIPPO_ERROR_MODEL_FORMAT, "tensors need");
    }
  {
    g_autofree char *more = g_malloc0 (len + 1);
    memcpy (more, data, len);
    g_assert_true (g_file_set_contents (bin, more, len + 1, NULL));
    expect_error (f, HIPPO_ERROR_MODEL_FORMAT, "tensors need");
  }
  g_unlink (bin);
  expect_error (f, HIPPO_ERROR_IO, "group1-shard2of2.bin");
}

static void
test_graph_topology (Fixture *f, gconstpointer d)
{
  double huge = 1e38;

  if (!setup_named (f, "mobilenet_v2_mid"))
    return;
  /* the first op takes a later one as its input: a cycle */
  edit_json (f, set_graph_input, GUINT_TO_POINTER (0 | (5 << 8)));
  expect_error (f, HIPPO_ERROR_MODEL_INVALID, "cycle");
  edit_json (f, set_graph_input, GUINT_TO_POINTER (3));
  expect_error (f, HIPPO_ERROR_MODEL_INVALID,
                "input 'no/such/node' does not exist");
  edit_json (f, drop_placeholder, NULL);
  expect_error (f, HIPPO_ERROR_MODEL_INVALID, "input 'input' does not exist");
  edit_json (f, set_graph_op, "Erf");
  expect_error (f, HIPPO_ERROR_MODEL_UNSUPPORTED, "'Erf'");
  edit_json (f, first_weight_shape, GINT_TO_POINTER (0));
  expect_error (f, HIPPO_ERROR_MODEL_INVALID, "input channels");
  edit_json (f, first_weight_shape, GINT_TO_POINTER (1));
  expect_error (f, HIPPO_ERROR_MODEL_FORMAT, "tensors need");
  edit_json (f, first_weight_scale, &huge);
  expect_error (f, HIPPO_ERROR_MODEL_INVALID, "NaN or infinite");
}

static void
test_graph_corrupted_json (Fixture *f, gconstpointer d)
{
  GRand *rng;
  int loaded = 0, failed = 0;

  if (!setup_named (f, "mobilenet_v2_mid"))
    return;
  for (gsize cut = 0; cut < f->json_len; cut += f->json_len / 11 + 1)
    {
      write_json (f, f->json, cut);
      expect_error (f, -1, NULL);
    }
  rng = g_rand_new_with_seed (43);
  for (int trial = 0; trial < 60; trial++)
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
  g_test_message ("60 corrupted graph model.json: %d loaded, %d refused",
                  loaded, failed);
  g_rand_free (rng);
}

/* ---- both formats ---- */

/* The first weight of the manifest (uint8-quantised, at offset 0 of the
 * first shard) rewritten as float32 with a NaN or an infinity at index
 * 5: the shard grows by 3 bytes a value, the rest stays in place. */
static void
first_weight_to_f32 (Fixture *f, float bad)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;
  g_autofree char *data = NULL;
  g_autofree char *bin = NULL;
  g_autofree char *src = NULL;
  g_autofree float *v = NULL;
  const char *shard;
  JsonObject *root, *w, *q;
  JsonArray *groups, *shape;
  GByteArray *out;
  gsize len, n = 1;
  double min, scale;

  g_assert_true (json_parser_load_from_data (p, f->json, f->json_len, NULL));
  root = json_node_get_object (json_parser_get_root (p));
  groups = json_object_get_array_member (root, "weightsManifest");
  w = json_array_get_object_element (
    json_object_get_array_member (json_array_get_object_element (groups, 0),
                                  "weights"),
    0);
  shape = json_object_get_array_member (w, "shape");
  for (guint i = 0; i < json_array_get_length (shape); i++)
    n *= json_array_get_int_element (shape, i);
  q = json_object_get_object_member (w, "quantization");
  g_assert_cmpstr (json_object_get_string_member (q, "dtype"), ==, "uint8");
  min = json_object_get_double_member (q, "min");
  scale = json_object_get_double_member (q, "scale");
  json_object_remove_member (w, "quantization");
  shard = json_array_get_string_element (
    json_object_get_array_member (json_array_get_object_element (groups, 0),
                                  "paths"),
    0);
  /* from the real model each time: the copy may be rewritten already */
  src = g_build_filename (f->src, shard, NULL);
  bin = g_build_filename (f->dir, shard, NULL);
  g_assert_true (g_file_get_contents (src, &data, &len, NULL));
  g_assert_cmpuint (len, >=, n);
  v = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    v[i] = (float) ((guint8) data[i] * scale + min);
  v[5] = bad;
  out = g_byte_array_new ();
  g_byte_array_append (out, (const guint8 *) v, n * sizeof (float));
  g_byte_array_append (out, (const guint8 *) data + n, len - n);
  g_assert_true (
    g_file_set_contents (bin, (const char *) out->data, out->len, NULL));
  g_byte_array_unref (out);
  json_generator_set_root (gen, json_parser_get_root (p));
  text = json_generator_to_data (gen, NULL);
  write_json (f, text, -1);
}

static void
test_f32_non_finite (Fixture *f, gconstpointer d)
{
  const char *const models[] = { "mobilenet_v2", "mobilenet_v2_mid" };

  for (guint m = 0; m < G_N_ELEMENTS (models); m++)
    {
      if (m > 0)
        {
          teardown (f, NULL);
          memset (f, 0, sizeof *f);
        }
      if (!setup_named (f, models[m]))
        return;
      first_weight_to_f32 (f, NAN);
      expect_error (f, HIPPO_ERROR_MODEL_INVALID,
                    "has a NaN or infinite value at index 5");
      first_weight_to_f32 (f, -INFINITY);
      expect_error (f, HIPPO_ERROR_MODEL_INVALID,
                    "has a NaN or infinite value at index 5");
      /* a finite value there loads: the rewriting itself is right */
      first_weight_to_f32 (f, 0.25f);
      g_assert_null (load (f));
    }
}

/* What surrounds the topology: the envelope of model.json. */
static void
test_envelope (Fixture *f, gconstpointer d)
{
  g_autofree char *mj = NULL;

  if (!setup (f))
    return;
  mj = g_build_filename (f->dir, "model.json", NULL);
  write_json (f, "{\"format\": \"layers-model\"}", -1);
  expect_error (f, HIPPO_ERROR_MODEL_FORMAT, "no modelTopology object");
  write_json (f, "{\"modelTopology\": [], \"weightsManifest\": []}", -1);
  expect_error (f, HIPPO_ERROR_MODEL_FORMAT, "no modelTopology object");
  write_json (f, "{\"modelTopology\": {}}", -1);
  expect_error (f, HIPPO_ERROR_MODEL_FORMAT, "no weightsManifest array");
  write_json (f, "{\"modelTopology\": {}, \"weightsManifest\": {}}", -1);
  expect_error (f, HIPPO_ERROR_MODEL_FORMAT, "no weightsManifest array");
  /* a model.json past the limit (sparse: nothing is read) */
  write_json (f, "{}", -1);
  g_assert_cmpint (truncate (mj, 64 * 1024 * 1024 + 1), ==, 0);
  expect_error (f, HIPPO_ERROR_LIMIT, "too large for a model.json");
  /* a folder where model.json should be */
  g_assert_cmpint (g_unlink (mj), ==, 0);
  g_assert_cmpint (g_mkdir (mj, 0755), ==, 0);
  expect_error (f, HIPPO_ERROR_NOT_FOUND, "no model at");
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
  g_test_add ("/bad-models/envelope", Fixture, NULL, NULL, test_envelope,
              teardown);
  g_test_add ("/bad-models/f32-non-finite", Fixture, NULL, NULL,
              test_f32_non_finite, teardown);
  g_test_add ("/bad-models/graph/truncated-shard", Fixture, NULL, NULL,
              test_graph_truncated_shard, teardown);
  g_test_add ("/bad-models/graph/topology", Fixture, NULL, NULL,
              test_graph_topology, teardown);
  g_test_add ("/bad-models/graph/corrupted-json", Fixture, NULL, NULL,
              test_graph_corrupted_json, teardown);
  return g_test_run ();
}
