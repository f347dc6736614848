/* TF.js weights manifests: decoding with hand-computed values, shard
 * groups, and rejection of hostile manifests. */
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "import/weights.h"
#include "hippotag/hippotag-common.h"

typedef struct
{
  char *dir;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  GError *error = NULL;

  f->dir = g_dir_make_tmp ("hippo-weights-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  GDir *d = g_dir_open (path, 0, NULL);
  const char *name;

  if (d != NULL)
    {
      while ((name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *p = g_build_filename (path, name, NULL);

          if (g_file_test (p, G_FILE_TEST_IS_DIR))
            remove_tree (p);
          else
            g_unlink (p);
        }
      g_dir_close (d);
    }
  g_rmdir (path);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  remove_tree (f->dir);
  g_free (f->dir);
}

static void
write_file (const char *dir, const char *name, const void *data, gsize len)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GError *error = NULL;

  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
}

static void
make_dir (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_mkdir (path, 0700), ==, 0);
}

/* JSON written with single quotes for readability. */
static JsonNode *
parse_json (const char *squoted)
{
  g_autofree char *text = g_strdup (squoted);
  g_autoptr (JsonParser) parser = json_parser_new ();
  GError *error = NULL;

  g_strdelimit (text, "'", '"');
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

static HippoWeights *
load (const char *dir, const char *manifest, GError **error)
{
  JsonNode *root = parse_json (manifest);
  HippoWeights *w;

  g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
  w = hippo_weights_load (json_node_get_array (root), dir, error);
  json_node_unref (root);
  g_assert_true ((w == NULL) == (error != NULL && *error != NULL));
  return w;
}

static void
expect_error (const char *dir, const char *manifest, int code,
              const char *fragment)
{
  GError *error = NULL;
  HippoWeights *w = load (dir, manifest, &error);

  g_assert_null (w);
  g_assert_error (error, HIPPO_ERROR, code);
  if (fragment)
    {
      if (strstr (error->message, fragment) == NULL)
        g_error ("message '%s' lacks '%s'", error->message, fragment);
    }
  g_test_message ("rejected as expected: %s", error->message);
  g_error_free (error);
}

static void
le32 (guint8 *p, guint32 v)
{
  p[0] = v, p[1] = v >> 8, p[2] = v >> 16, p[3] = v >> 24;
}

static void
put_f32 (guint8 *p, float f)
{
  guint32 v;

  memcpy (&v, &f, 4);
  le32 (p, v);
}

static void
test_quantized (Fixture *f, gconstpointer data)
{
  /* uint8 [2,2]: min -1, scale 0.5; uint16 [3]: min 0.25, scale 0.125;
   * float32 [2]; int32 [2]: all back to back in one file. */
  guint8 bin[4 + 6 + 8 + 8];
  GError *error = NULL;
  g_autoptr (HippoWeights) w = NULL;
  HippoWeight *t;
  g_autofree char *sum = NULL;

  bin[0] = 0, bin[1] = 1, bin[2] = 2, bin[3] = 255;
  bin[4] = 0, bin[5] = 0; /* 0 */
  bin[6] = 1000 & 0xff, bin[7] = 1000 >> 8;
  bin[8] = 0xff, bin[9] = 0xff; /* 65535 */
  put_f32 (bin + 10, 1.5f);
  put_f32 (bin + 14, -3.25e-3f);
  le32 (bin + 18, (guint32) -7);
  le32 (bin + 22, 123456);
  write_file (f->dir, "g.bin", bin, sizeof bin);

  w = load (f->dir,
            "[{'paths': ['g.bin'], 'weights': ["
            " {'name': 'q8', 'shape': [2, 2], 'dtype': 'float32',"
            "  'quantization': {'dtype': 'uint8', 'min': -1, 'scale': 0.5}},"
            " {'name': 'q16', 'shape': [3], 'dtype': 'float32',"
            "  'quantization': {'scale': 0.125, 'min': 0.25, "
            "                   'dtype': 'uint16'}},"
            " {'name': 'f', 'shape': [2], 'dtype': 'float32'},"
            " {'name': 'i', 'shape': [1, 2], 'dtype': 'int32'}]}]",
            &error);
  g_assert_no_error (error);

  t = hippo_weights_lookup (w, "q8");
  g_assert_nonnull (t);
  g_assert_cmpint (t->rank, ==, 2);
  g_assert_cmpint (t->shape[0], ==, 2);
  g_assert_cmpuint (t->n, ==, 4);
  g_assert_cmpfloat (t->data[0], ==, -1.0f);
  g_assert_cmpfloat (t->data[1], ==, -0.5f);
  g_assert_cmpfloat (t->data[2], ==, 0.0f);
  g_assert_cmpfloat (t->data[3], ==, 126.5f);

  t = hippo_weights_lookup (w, "q16");
  g_assert_cmpfloat (t->data[0], ==, 0.25f);
  g_assert_cmpfloat (t->data[1], ==, 125.25f);
  g_assert_cmpfloat (t->data[2], ==, 8192.125f);

  t = hippo_weights_lookup (w, "f");
  g_assert_cmpfloat (t->data[0], ==, 1.5f);
  g_assert_cmpfloat (t->data[1], ==, -3.25e-3f);

  t = hippo_weights_lookup (w, "i");
  g_assert_cmpfloat (t->data[0], ==, -7.0f);
  g_assert_cmpfloat (t->data[1], ==, 123456.0f);

  g_assert_cmpuint (hippo_weights_count (w), ==, 4 + 3 + 2 + 2);
  g_assert_cmpuint (hippo_weights_get_n (w), ==, 4);
  g_assert_true (hippo_weights_get (w, 3) == t);
  g_assert_null (hippo_weights_get (w, 4));
  g_assert_null (hippo_weights_lookup (w, "missing"));

  sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, bin, sizeof bin);
  g_assert_cmpstr (hippo_weights_get_checksum (w), ==, sum);
}

static void
test_float16 (Fixture *f, gconstpointer data)
{
  static const struct
  {
    guint16 h;
    float f;
  } cases[] = {
    { 0x0000, 0.0f },
    { 0x8000, -0.0f },
    { 0x3c00, 1.0f },
    { 0xc000, -2.0f },
    { 0x3555, 0.333251953125f },
    { 0x7bff, 65504.0f }, /* largest finite */
    { 0xfbff, -65504.0f },
    { 0x0400, 6.103515625e-05f },        /* smallest normal, 2^-14 */
    { 0x0001, 5.9604644775390625e-08f }, /* smallest subnormal, 2^-24 */
    { 0x03ff, 6.097555160522461e-05f },  /* largest subnormal */
    { 0x8200, -3.0517578125e-05f },      /* -2^-15, subnormal */
    { 0x0155, 2.0325183868408203e-05f }, /* 341 * 2^-24 */
  };
  guint8 bin[G_N_ELEMENTS (cases) * 2];
  GError *error = NULL;
  g_autoptr (HippoWeights) w = NULL;
  HippoWeight *t, *t2;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    bin[2 * i] = cases[i].h & 0xff, bin[2 * i + 1] = cases[i].h >> 8;
  write_file (f->dir, "h.bin", bin, sizeof bin);
  write_file (f->dir, "h2.bin", bin, sizeof bin);
  /* Both spellings: quantization float16 and dtype float16. */
  w = load (f->dir,
            "[{'paths': ['h.bin'], 'weights': [{'name': 'h', 'shape': [12],"
            " 'dtype': 'float32', 'quantization': {'dtype': 'float16'}}]},"
            " {'paths': ['h2.bin'], 'weights': [{'name': 'h2', "
            "  'shape': [3, 4], 'dtype': 'float16'}]}]",
            &error);
  g_assert_no_error (error);
  t = hippo_weights_lookup (w, "h");
  t2 = hippo_weights_lookup (w, "h2");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_assert_cmpfloat (t->data[i], ==, cases[i].f);
      g_assert_true (signbit (t->data[i]) == signbit (cases[i].f));
      g_assert_cmpfloat (t2->data[i], ==, cases[i].f);
    }

  /* Infinity and NaN decode, and are then refused by name. */
  bin[0] = 0x00, bin[1] = 0x7c;
  write_file (f->dir, "inf.bin", bin, 2);
  expect_error (f->dir,
                "[{'paths': ['inf.bin'], 'weights': [{'name': 'half_inf',"
                " 'shape': [1], 'dtype': 'float16'}]}]",
                HIPPO_ERROR_MODEL_INVALID, "half_inf");
  bin[0] = 0x00, bin[1] = 0xfe;
  write_file (f->dir, "nan.bin", bin, 2);
  expect_error (f->dir,
                "[{'paths': ['nan.bin'], 'weights': [{'name': 'half_nan',"
                " 'shape': [], 'dtype': 'float16'}]}]",
                HIPPO_ERROR_MODEL_INVALID, "half_nan");
}

static void
test_multi_shard (Fixture *f, gconstpointer data)
{
  /* Group 1: a float32 [3] (12 bytes) then a uint8 [5], split 5/7/5 so
   * that both tensors straddle files.  Group 2: one more file. */
  guint8 all[17], g2[4];
  GError *error = NULL;
  g_autoptr (HippoWeights) w = NULL;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  HippoWeight *t;

  put_f32 (all, 0.1f);
  put_f32 (all + 4, -2.0f);
  put_f32 (all + 8, 1e-30f);
  for (int i = 0; i < 5; i++)
    all[12 + i] = 10 * i;
  put_f32 (g2, 42.0f);
  make_dir (f->dir, "sub");
  write_file (f->dir, "s1", all, 5);
  write_file (f->dir, "s2", all + 5, 7);
  write_file (f->dir, "sub/s3", all + 12, 5);
  write_file (f->dir, "t1", g2, 4);

  w = load (f->dir,
            "[{'paths': ['s1', 's2', 'sub/s3'], 'weights': ["
            "  {'name': 'a/kernel', 'shape': [3], 'dtype': 'float32'},"
            "  {'name': 'b/kernel', 'shape': [5], 'dtype': 'float32',"
            "   'quantization': {'dtype': 'uint8', 'min': 1, "
            "                    'scale': 0.25}}]},"
            " {'paths': ['t1'], 'weights': [{'name': 'x/b/kernel', "
            "  'shape': [1, 1, 1, 1], 'dtype': 'float32'}]}]",
            &error);
  g_assert_no_error (error);
  t = hippo_weights_lookup (w, "a/kernel");
  g_assert_cmpfloat (t->data[0], ==, 0.1f);
  g_assert_cmpfloat (t->data[1], ==, -2.0f);
  g_assert_cmpfloat (t->data[2], ==, 1e-30f);
  t = hippo_weights_lookup (w, "b/kernel");
  for (int i = 0; i < 5; i++)
    g_assert_cmpfloat (t->data[i], ==, 1.0f + 2.5f * i);
  t = hippo_weights_lookup (w, "x/b/kernel");
  g_assert_cmpfloat (t->data[0], ==, 42.0f);
  g_assert_cmpuint (hippo_weights_count (w), ==, 9);

  /* Checksum over all shard bytes in manifest order. */
  g_checksum_update (sum, all, sizeof all);
  g_checksum_update (sum, g2, sizeof g2);
  g_assert_cmpstr (hippo_weights_get_checksum (w), ==,
                   g_checksum_get_string (sum));

  /* Suffix lookup: exact first, then a unique '/'-suffix. */
  {
    guint n = 99;

    g_assert_true (hippo_weights_lookup_suffix (w, "b/kernel", &n)
                   == hippo_weights_lookup (w, "b/kernel"));
    g_assert_cmpuint (n, ==, 1);
    g_assert_null (hippo_weights_lookup_suffix (w, "kernel", &n));
    g_assert_cmpuint (n, ==, 3);
    g_assert_true (hippo_weights_lookup_suffix (w, "x/b/kernel", NULL)
                   == hippo_weights_lookup (w, "x/b/kernel"));
    g_assert_null (hippo_weights_lookup_suffix (w, "/kernel", &n));
    g_assert_null (hippo_weights_lookup_suffix (w, "nel", &n));
    g_assert_cmpuint (n, ==, 0);
  }

  /* require: presence, size, used flag; errors name tensor and layer. */
  t = hippo_weights_require (w, "a/kernel", 3, "a", &error);
  g_assert_no_error (error);
  g_assert_true (t->used);
  g_assert_false (hippo_weights_lookup (w, "b/kernel")->used);
  g_assert_null (hippo_weights_require (w, "a/kernel", 4, "a", &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT);
  g_assert_nonnull (strstr (error->message, "a/kernel"));
  g_clear_error (&error);
  g_assert_null (hippo_weights_require (w, "c/bias", 0, "layer_c", &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT);
  g_assert_nonnull (strstr (error->message, "c/bias"));
  g_assert_nonnull (strstr (error->message, "layer_c"));
  g_clear_error (&error);
  g_assert_nonnull (hippo_weights_require (w, "b/kernel", 0, "b", &error));
}

static void
test_size_mismatch (Fixture *f, gconstpointer data)
{
  guint8 bin[17] = { 0 };
  const char *m = "[{'paths': ['a.bin', 'b.bin'], 'weights': ["
                  " {'name': 'k', 'shape': [2, 2], 'dtype': 'float32'}]}]";

  /* 16 bytes needed: 8 + 7 is truncated, 8 + 9 has extra bytes. */
  write_file (f->dir, "a.bin", bin, 8);
  write_file (f->dir, "b.bin", bin, 7);
  expect_error (f->dir, m, HIPPO_ERROR_MODEL_FORMAT, "group 1");
  write_file (f->dir, "b.bin", bin, 9);
  expect_error (f->dir, m, HIPPO_ERROR_MODEL_FORMAT, "group 1");
  write_file (f->dir, "b.bin", bin, 8);
  {
    GError *error = NULL;
    g_autoptr (HippoWeights) w = load (f->dir, m, &error);

    g_assert_no_error (error);
  }
  /* The second group is the short one: the message names it. */
  expect_error (f->dir,
                "[{'paths': ['a.bin', 'b.bin'], 'weights': ["
                "  {'name': 'k', 'shape': [4], 'dtype': 'int32'}]},"
                " {'paths': ['a.bin'], 'weights': ["
                "  {'name': 'j', 'shape': [3], 'dtype': 'float32'}]}]",
                HIPPO_ERROR_MODEL_FORMAT, "group 2");
  /* A missing file. */
  expect_error (f->dir,
                "[{'paths': ['nope.bin'], 'weights': ["
                " {'name': 'k', 'shape': [1], 'dtype': 'float32'}]}]",
                HIPPO_ERROR_IO, "nope.bin");
  /* A directory is not a shard. */
  make_dir (f->dir, "d");
  expect_error (f->dir,
                "[{'paths': ['d'], 'weights': ["
                " {'name': 'k', 'shape': [1], 'dtype': 'float32'}]}]",
                HIPPO_ERROR_IO, NULL);
}

static void
test_bad_dtype (Fixture *f, gconstpointer data)
{
  guint8 bin[8] = { 0 };

  write_file (f->dir, "a.bin", bin, 8);
  expect_error (f->dir,
                "[{'paths': ['a.bin'], 'weights': ["
                " {'name': 'k', 'shape': [1], 'dtype': 'complex64'}]}]",
                HIPPO_ERROR_MODEL_UNSUPPORTED, "complex64");
  expect_error (f->dir,
                "[{'paths': ['a.bin'], 'weights': ["
                " {'name': 'k', 'shape': [8], 'dtype': 'float32', "
                "  'quantization': {'dtype': 'int4', 'min': 0, "
                "                   'scale': 1}}]}]",
                HIPPO_ERROR_MODEL_UNSUPPORTED, "int4");
  expect_error (f->dir,
                "[{'paths': ['a.bin'], 'weights': ["
                " {'name': 'k', 'shape': [1], 'dtype': 7}]}]",
                HIPPO_ERROR_MODEL_FORMAT, "dtype");
}

static void
test_non_finite (Fixture *f, gconstpointer data)
{
  guint8 bin[8];

  put_f32 (bin, 1.0f);
  put_f32 (bin + 4, NAN);
  write_file (f->dir, "a.bin", bin, 8);
  expect_error (f->dir,
                "[{'paths': ['a.bin'], 'weights': ["
                " {'name': 'conv/kernel', 'shape': [2], "
                "  'dtype': 'float32'}]}]",
                HIPPO_ERROR_MODEL_INVALID, "conv/kernel");
  put_f32 (bin + 4, -INFINITY);
  write_file (f->dir, "a.bin", bin, 8);
  expect_error (f->dir,
                "[{'paths': ['a.bin'], 'weights': ["
                " {'name': 'conv/bias', 'shape': [2], "
                "  'dtype': 'float32'}]}]",
                HIPPO_ERROR_MODEL_INVALID, "conv/bias");
  /* Dequantisation overflowing float32. */
  memset (bin, 0xff, 8);
  expect_error (f->dir,
                "[{'paths': ['a.bin'], 'weights': ["
                " {'name': 'q/kernel', 'shape': [8], 'dtype': 'float32',"
                "  'quantization': {'dtype': 'uint8', 'min': 0, "
                "                   'scale': 1e37}}]}]",
                HIPPO_ERROR_MODEL_INVALID, "q/kernel");
}

static void
test_path_traversal (Fixture *f, gconstpointer data)
{
  static const char *const paths[] = {
    "../a.bin", "sub/../../a.bin", "..",      "/etc/passwd",
    "",         "a\\\\..\\\\b",    "C:a.bin",
  };
  guint8 bin[4] = { 0 };

  write_file (f->dir, "a.bin", bin, 4);
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autofree char *m = g_strdup_printf (
        "[{'paths': ['%s'], 'weights': [{'name': 'k', 'shape': [1], "
        "'dtype': 'float32'}]}]",
        paths[i]);

      expect_error (f->dir, m, HIPPO_ERROR_MODEL_FORMAT, "model folder");
    }
}

static void
test_bad_shapes (Fixture *f, gconstpointer data)
{
  static const char *const bad[] = {
    "[-1]",
    "[2, -3]",
    "[1099511627776]",
    "[65536, 65536, 65536, 65536]",
    "[1, 1, 1, 1, 1, 1, 1, 1, 1]",
    "'3'",
    "[1.5]",
    "[null]",
    "['2']",
    "{}",
    "null",
    "[[1]]",
    "[1e300]",
  };
  guint8 bin[4] = { 0 };

  write_file (f->dir, "a.bin", bin, 4);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *m = g_strdup_printf (
        "[{'paths': ['a.bin'], 'weights': [{'name': 'k', 'shape': %s, "
        "'dtype': 'float32'}]}]",
        bad[i]);
      GError *error = NULL;
      HippoWeights *w = load (f->dir, m, &error);

      g_assert_null (w);
      g_assert_true (error->domain == HIPPO_ERROR);
      g_assert_true (error->code == HIPPO_ERROR_MODEL_FORMAT
                     || error->code == HIPPO_ERROR_MODEL_INVALID
                     || error->code == HIPPO_ERROR_LIMIT);
      g_test_message ("shape %s: %s", bad[i], error->message);
      g_error_free (error);
    }
  /* Negative: MODEL_INVALID; huge: LIMIT. */
  expect_error (f->dir,
                "[{'paths': ['a.bin'], 'weights': [{'name': 'k', "
                "'shape': [-1], 'dtype': 'float32'}]}]",
                HIPPO_ERROR_MODEL_INVALID, "negative");
  expect_error (f->dir,
                "[{'paths': ['a.bin'], 'weights': [{'name': 'k', "
                "'shape': [65536, 65536, 65536, 65536], "
                "'dtype': 'float32'}]}]",
                HIPPO_ERROR_LIMIT, "too large");
}

static void
test_bad_manifest (Fixture *f, gconstpointer data)
{
  static const char *const bad[] = {
    "[1]",
    "[null]",
    "[{}]",
    "[{'paths': 'a.bin', 'weights': []}]",
    "[{'paths': ['a.bin'], 'weights': {}}]",
    "[{'paths': [3], 'weights': []}]",
    "[{'paths': [null], 'weights': []}]",
    "[{'paths': ['a.bin'], 'weights': [3]}]",
    "[{'paths': ['a.bin'], 'weights': [null]}]",
    "[{'paths': ['a.bin'], 'weights': [{'shape': [1], "
    "  'dtype': 'float32'}]}]",
    "[{'paths': ['a.bin'], 'weights': [{'name': '', 'shape': [1], "
    "  'dtype': 'float32'}]}]",
    "[{'paths': ['a.bin'], 'weights': [{'name': 'k', 'shape': [1]}]}]",
    "[{'paths': ['a.bin'], 'weights': [{'name': 'k', 'dtype': 'float32'}]}]",
    "[{'paths': ['a.bin'], 'weights': [{'name': 'k', 'shape': [4], "
    "  'dtype': 'float32', 'quantization': 'uint8'}]}]",
    "[{'paths': ['a.bin'], 'weights': [{'name': 'k', 'shape': [4], "
    "  'dtype': 'float32', 'quantization': {'dtype': 'uint8', "
    "  'min': '0', 'scale': 1}}]}]",
    "[{'paths': ['a.bin'], 'weights': [{'name': 'k', 'shape': [4], "
    "  'dtype': 'float32', 'quantization': {'dtype': 'uint8', "
    "  'min': 0}}]}]",
    "[{'paths': ['a.bin'], 'weights': [{'name': 'k', 'shape': [4], "
    "  'dtype': 'float32', 'quantization': {'min': 0, 'scale': 1}}]}]",
    "[{'paths': ['a.bin'], 'weights': [{'name': 'k', 'shape': [2], "
    "  'dtype': 'uint8'}]}]",
    "[{'paths': ['a.bin'], 'weights': [{'name': 'k', 'shape': [2], "
    "  'dtype': 'float32', 'quantization': {'dtype': 'uint8', "
    "  'min': 0, 'scale': 1}}, {'name': 'k', 'shape': [2], "
    "  'dtype': 'float32', 'quantization': {'dtype': 'uint8', "
    "  'min': 0, 'scale': 1}}]}]",
  };
  guint8 bin[4] = { 0 };

  write_file (f->dir, "a.bin", bin, 4);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      GError *error = NULL;
      HippoWeights *w = load (f->dir, bad[i], &error);

      g_assert_null (w);
      g_assert_true (error->domain == HIPPO_ERROR);
      g_assert_true (error->code == HIPPO_ERROR_MODEL_FORMAT
                     || error->code == HIPPO_ERROR_MODEL_INVALID
                     || error->code == HIPPO_ERROR_MODEL_UNSUPPORTED);
      g_test_message ("%s: %s", bad[i], error->message);
      g_error_free (error);
    }
  /* Empty manifests and zero-size tensors are fine. */
  {
    GError *error = NULL;
    g_autoptr (HippoWeights) w = load (f->dir, "[]", &error);
    g_autoptr (HippoWeights) w2 = NULL;

    g_assert_no_error (error);
    g_assert_cmpuint (hippo_weights_count (w), ==, 0);
    write_file (f->dir, "empty.bin", "", 0);
    w2 = load (f->dir,
               "[{'paths': ['empty.bin'], 'weights': [{'name': 'z', "
               "'shape': [0, 3], 'dtype': 'float32'}]}]",
               &error);
    g_assert_no_error (error);
    g_assert_cmpuint (hippo_weights_lookup (w2, "z")->n, ==, 0);
  }
}

static void
test_real_model (void)
{
  const char *base = g_getenv ("HIPPOTAG_TEST_MODEL_DIR");
  g_autofree char *dir
    = g_build_filename (base ? base : "/tmp/nsfw/out", "mobilenet_v2", NULL);
  g_autofree char *json = g_build_filename (dir, "model.json", NULL);
  g_autofree char *bin_path
    = g_build_filename (dir, "group1-shard1of1.bin", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (HippoWeights) w = NULL;
  g_autofree char *bin = NULL;
  g_autofree char *sum = NULL;
  gsize len;
  GError *error = NULL;
  JsonObject *root;
  JsonArray *manifest;
  HippoWeight *k;
  double min, scale;

  if (!g_file_test (json, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("SKIPPED: the real model is absent: no "
                   "mobilenet_v2"
                   "/model.json under $HIPPOTAG_TEST_MODEL_DIR (default "
                   "/tmp/nsfw/out); run ./setup to unwrap it");
      return;
    }
  json_parser_load_from_file (parser, json, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  manifest = json_object_get_array_member (root, "weightsManifest");
  w = hippo_weights_load (manifest, dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hippo_weights_count (w), ==, 2619461);
  g_assert_cmpuint (hippo_weights_get_n (w), ==, 266);

  g_file_get_contents (bin_path, &bin, &len, &error);
  g_assert_no_error (error);
  sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) bin, len);
  g_assert_cmpstr (hippo_weights_get_checksum (w), ==, sum);

  /* The first tensor is Conv1/kernel: check it against the bytes. */
  k = hippo_weights_lookup (w, "Conv1/kernel");
  g_assert_nonnull (k);
  g_assert_cmpuint (k->n, ==, 3 * 3 * 3 * 32);
  {
    JsonObject *q = json_object_get_object_member (
      json_array_get_object_element (
        json_object_get_array_member (
          json_array_get_object_element (manifest, 0), "weights"),
        0),
      "quantization");

    min = json_object_get_double_member (q, "min");
    scale = json_object_get_double_member (q, "scale");
  }
  for (gsize i = 0; i < k->n; i++)
    g_assert_cmpfloat_with_epsilon (k->data[i], (guint8) bin[i] * scale + min,
                                    1e-6);
}

/* The count and size limits, checked before anything big is allocated
 * or read. */
static void
test_limits (Fixture *f, gconstpointer data)
{
  GString *m = g_string_new ("[");
  g_autofree char *big = g_build_filename (f->dir, "big.bin", NULL);
  guint8 bin[4] = { 0 };
  int fd;

  write_file (f->dir, "a.bin", bin, 4);
  /* more groups, files or tensors than allowed */
  for (int i = 0; i <= 4096; i++)
    g_string_append (m, i ? ", {'paths': [], 'weights': []}"
                          : "{'paths': [], 'weights': []}");
  g_string_append (m, "]");
  expect_error (f->dir, m->str, HIPPO_ERROR_LIMIT,
                "more than 4096 weight groups");
  g_string_assign (m, "[{'paths': [");
  for (int i = 0; i <= 4096; i++)
    g_string_append (m, i ? ", 'a.bin'" : "'a.bin'");
  g_string_append (m, "], 'weights': []}]");
  expect_error (f->dir, m->str, HIPPO_ERROR_LIMIT,
                "more than 4096 weight files");
  g_string_assign (m, "[{'paths': ['a.bin'], 'weights': [");
  for (int i = 0; i <= 100000; i++)
    g_string_append_printf (m,
                            "%s{'name': 'k%d', 'shape': [0], "
                            "'dtype': 'float32'}",
                            i ? ", " : "", i);
  g_string_append (m, "]}]");
  expect_error (f->dir, m->str, HIPPO_ERROR_LIMIT,
                "more than 100000 weight tensors");
  g_string_free (m, TRUE);
  /* tensors that are each allowed but too large together */
  expect_error (f->dir,
                "[{'paths': ['a.bin'], 'weights': ["
                " {'name': 'a', 'shape': [600000000], 'dtype': 'float32'},"
                " {'name': 'b', 'shape': [600000000], 'dtype': 'float32'}]}]",
                HIPPO_ERROR_LIMIT, "the weights are too large");
  /* a shard file past the limit (sparse: nothing is read) */
  fd = open (big, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, (off_t) (G_GINT64_CONSTANT (4) << 30) + 1),
                   ==, 0);
  close (fd);
  expect_error (f->dir,
                "[{'paths': ['big.bin'], 'weights': ["
                " {'name': 'a', 'shape': [1], 'dtype': 'float32'}]}]",
                HIPPO_ERROR_LIMIT, "big.bin is too large");
  g_unlink (big);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, fn)                                                          \
  g_test_add ("/weights/" name, Fixture, NULL, fixture_setup, fn,              \
              fixture_teardown)
  ADD ("quantized", test_quantized);
  ADD ("float16", test_float16);
  ADD ("multi-shard", test_multi_shard);
  ADD ("size-mismatch", test_size_mismatch);
  ADD ("bad-dtype", test_bad_dtype);
  ADD ("non-finite", test_non_finite);
  ADD ("path-traversal", test_path_traversal);
  ADD ("bad-shapes", test_bad_shapes);
  ADD ("bad-manifest", test_bad_manifest);
  ADD ("limits", test_limits);
#undef ADD
  g_test_add_func ("/weights/real-model", test_real_model);
  return g_test_run ();
}
