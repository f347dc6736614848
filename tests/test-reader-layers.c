/* The layers-model reader: hand-written Keras topologies (functional,
 * sequential, nested as Teachable Machine exports), 'same' padding,
 * hostile JSON, and the real nsfwjs models when present. */
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "engine/graph.h"
#include "import/reader.h"
#include "import/weights.h"

/* Weights written to a temporary folder as float32 and loaded back. */
typedef struct
{
  GString *manifest;
  GByteArray *bin;
  char *dir;
  int n;
} WB;

static WB *
wb_new (void)
{
  WB *wb = g_new0 (WB, 1);
  GError *error = NULL;

  wb->manifest = g_string_new ("[{\"paths\": [\"w.bin\"], \"weights\": [");
  wb->bin = g_byte_array_new ();
  wb->dir = g_dir_make_tmp ("hippo-layers-XXXXXX", &error);
  g_assert_no_error (error);
  return wb;
}

static void
wb_free (WB *wb)
{
  g_autofree char *bin = g_build_filename (wb->dir, "w.bin", NULL);

  g_unlink (bin);
  g_rmdir (wb->dir);
  g_free (wb->dir);
  g_string_free (wb->manifest, TRUE);
  g_byte_array_unref (wb->bin);
  g_free (wb);
}

/* Value i of a generated tensor: small, varied, positive when base > 0. */
static float
gen (float base, gsize i)
{
  return base + 0.01f * (float) ((i * 7 + 3) % 11) - (base > 0 ? 0 : 0.05f);
}

/* Adds a tensor with the given shape (-1 terminated) and values (NULL:
 * generated from base). */
static void
wb_add (WB *wb, const char *name, const float *values, float base, ...)
{
  va_list args;
  int d;
  gsize n = 1;

  g_string_append_printf (wb->manifest,
                          "%s{\"name\": \"%s\", \"dtype\": \"float32\", "
                          "\"shape\": [",
                          wb->n++ ? ", " : "", name);
  va_start (args, base);
  for (int k = 0; (d = va_arg (args, int)) >= 0; k++)
    {
      g_string_append_printf (wb->manifest, "%s%d", k ? ", " : "", d);
      n *= d;
    }
  va_end (args);
  g_string_append (wb->manifest, "]}");
  for (gsize i = 0; i < n; i++)
    {
      float v = values ? values[i] : gen (base, i);

      g_byte_array_append (wb->bin, (guint8 *) &v, 4);
    }
}

static HippoWeights *
wb_load (WB *wb)
{
  g_autofree char *bin = g_build_filename (wb->dir, "w.bin", NULL);
  g_autofree char *text = g_strconcat (wb->manifest->str, "]}]", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  GError *error = NULL;
  HippoWeights *w;

  g_file_set_contents (bin, (char *) wb->bin->data, wb->bin->len, &error);
  g_assert_no_error (error);
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  w = hippo_weights_load (json_node_get_array (json_parser_get_root (parser)),
                          wb->dir, &error);
  g_assert_no_error (error);
  return w;
}

/* JSON written with single quotes for readability. */
static JsonParser *
parse_squoted (const char *squoted)
{
  g_autofree char *text = g_strdup (squoted);
  JsonParser *parser = json_parser_new ();
  GError *error = NULL;

  g_strdelimit (text, "'", '"');
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return parser;
}

/* Reads a topology; on success also runs the lead's shape inference and
 * checks that it agrees with the shapes the reader computed. */
static HippoGraph *
read_model (JsonNode *root, HippoWeights *w, GError **error)
{
  HippoGraph *g;
  GArray *shapes;

  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  g = hippo_read_layers_model (json_node_get_object (root), w, error);
  if (g == NULL)
    return NULL;
  shapes = g_array_new (FALSE, FALSE, sizeof (int));
  for (guint i = 0; i < g->nodes->len; i++)
    {
      HippoNode *n = g_ptr_array_index (g->nodes, i);

      g_array_append_val (shapes, n->h);
      g_array_append_val (shapes, n->w);
      g_array_append_val (shapes, n->c);
    }
  if (!hippo_graph_infer_shapes (g, error))
    {
      g_array_unref (shapes);
      hippo_graph_free (g);
      return NULL;
    }
  for (guint i = 0; i < g->nodes->len; i++)
    {
      HippoNode *n = g_ptr_array_index (g->nodes, i);
      int *s = &g_array_index (shapes, int, 3 * i);

      if (s[0] != n->h || s[1] != n->w || s[2] != n->c)
        g_error ("node %s: reader shape %dx%dx%d, inferred %dx%dx%d", n->name,
                 s[0], s[1], s[2], n->h, n->w, n->c);
    }
  g_array_unref (shapes);
  return g;
}

static HippoGraph *
read_squoted (const char *topology, HippoWeights *w, GError **error)
{
  g_autoptr (JsonParser) parser = parse_squoted (topology);

  return read_model (json_parser_get_root (parser), w, error);
}

static HippoNode *
node_named (HippoGraph *g, const char *name)
{
  const HippoLayerRef *ref = hippo_graph_find (g, name, NULL);

  if (ref == NULL)
    g_error ("no layer '%s'", name);
  return g_ptr_array_index (g->nodes, ref->node);
}

static int
index_of (HippoGraph *g, const char *name)
{
  const HippoLayerRef *ref = hippo_graph_find (g, name, NULL);

  if (ref == NULL)
    g_error ("no layer '%s'", name);
  return ref->node;
}

static void
assert_shape (HippoNode *n, int h, int w, int c)
{
  if (n->h != h || n->w != w || n->c != c)
    g_error ("%s: %dx%dx%d, expected %dx%dx%d", n->name, n->h, n->w, n->c, h, w,
             c);
}

/* A functional model with branches, listed out of order on purpose. */
static const char functional[]
  = "{'keras_version': '2.2.4', 'backend': 'tensorflow', 'model_config': "
    "{'class_name': 'Model', 'config': {'name': 'm', 'layers': ["
    " {'name': 'add', 'class_name': 'Add', 'config': {'name': 'add'},"
    "  'inbound_nodes': [[['b1', 0, 0, {}], ['dw', 0, 0, {}]]]},"
    " {'name': 'in', 'class_name': 'InputLayer', 'config': "
    "  {'batch_input_shape': [null, 9, 9, 3], 'dtype': 'float32', "
    "   'name': 'in'}, 'inbound_nodes': []},"
    " {'name': 'pad', 'class_name': 'ZeroPadding2D', 'config': {'name': 'pad',"
    "  'padding': [[0, 1], [0, 1]], 'data_format': 'channels_last'},"
    "  'inbound_nodes': [[['in', 0, 0, {}]]]},"
    " {'name': 'c1', 'class_name': 'Conv2D', 'config': {'name': 'c1', "
    "  'filters': 4, 'kernel_size': [3, 3], 'strides': [2, 2], "
    "  'padding': 'valid', 'data_format': 'channels_last', "
    "  'dilation_rate': [1, 1], 'activation': 'relu', 'use_bias': true},"
    "  'inbound_nodes': [[['pad', 0, 0, {}]]]},"
    " {'name': 'bn', 'class_name': 'BatchNormalization', 'config': "
    "  {'name': 'bn', 'axis': -1, 'epsilon': 0.001, 'center': true, "
    "   'scale': true}, 'inbound_nodes': [[['c1', 0, 0, {}]]]},"
    " {'name': 'r6', 'class_name': 'ReLU', 'config': {'name': 'r6', "
    "  'max_value': 6, 'negative_slope': 0, 'threshold': 0},"
    "  'inbound_nodes': [[['bn', 0, 0, {}]]]},"
    " {'name': 'b1', 'class_name': 'Conv2D', 'config': {'name': 'b1', "
    "  'filters': 4, 'kernel_size': 1, 'strides': 1, 'padding': 'same', "
    "  'activation': 'linear', 'use_bias': false},"
    "  'inbound_nodes': [[['r6', 0, 0, {}]]]},"
    " {'name': 'dw', 'class_name': 'DepthwiseConv2D', 'config': {'name': 'dw',"
    "  'kernel_size': [3, 3], 'strides': [1, 1], 'padding': 'same', "
    "  'depth_multiplier': 1, 'activation': 'relu6', 'use_bias': false},"
    "  'inbound_nodes': [[['r6', 0, 0, {}]]]},"
    " {'name': 'cat', 'class_name': 'Concatenate', 'config': {'name': 'cat',"
    "  'axis': 3}, 'inbound_nodes': [[['add', 0, 0, {}], ['r6', 0, 0, {}]]]},"
    " {'name': 'drop', 'class_name': 'Dropout', 'config': {'name': 'drop', "
    "  'rate': 0.5}, 'inbound_nodes': [[['cat', 0, 0, {}]]]},"
    " {'name': 'gap', 'class_name': 'GlobalAveragePooling2D', 'config': "
    "  {'name': 'gap'}, 'inbound_nodes': [[['drop', 0, 0, {}]]]},"
    " {'name': 'fc', 'class_name': 'Dense', 'config': {'name': 'fc', "
    "  'units': 3, 'activation': 'softmax', 'use_bias': true},"
    "  'inbound_nodes': [[['gap', 0, 0, {}]]]}],"
    " 'input_layers': [['in', 0, 0]], 'output_layers': [['fc', 0, 0]]}}}";

static const float bn_gamma[4] = { 1.0f, 2.0f, 0.5f, 1.0f };
static const float bn_beta[4] = { 0.0f, 1.0f, -1.0f, 0.25f };
static const float bn_mean[4] = { 0.5f, 0.0f, 2.0f, -1.0f };
static const float bn_var[4] = { 0.999f, 3.999f, 0.249f, 15.999f };

static HippoWeights *
functional_weights (WB *wb)
{
  wb_add (wb, "c1/kernel", NULL, 0.0f, 3, 3, 3, 4, -1);
  wb_add (wb, "c1/bias", NULL, 0.1f, 4, -1);
  wb_add (wb, "bn/gamma", bn_gamma, 0, 4, -1);
  wb_add (wb, "bn/beta", bn_beta, 0, 4, -1);
  wb_add (wb, "bn/moving_mean", bn_mean, 0, 4, -1);
  wb_add (wb, "bn/moving_variance", bn_var, 0, 4, -1);
  wb_add (wb, "b1/kernel", NULL, 0.0f, 1, 1, 4, 4, -1);
  wb_add (wb, "dw/depthwise_kernel", NULL, 0.0f, 3, 3, 4, 1, -1);
  wb_add (wb, "fc/kernel", NULL, 0.0f, 8, 3, -1);
  wb_add (wb, "fc/bias", NULL, 0.0f, 3, -1);
  return wb_load (wb);
}

static void
test_functional (void)
{
  WB *wb = wb_new ();
  g_autoptr (HippoWeights) w = functional_weights (wb);
  GError *error = NULL;
  HippoGraph *g;
  HippoNode *n;

  g = read_squoted (functional, w, &error);
  g_assert_no_error (error);

  /* 12 layers: 11 nodes and the Dropout as an alias. */
  g_assert_cmpuint (g->layers->len, ==, 12);
  g_assert_cmpuint (g->nodes->len, ==, 11);
  g_assert_cmpint (g->in_h, ==, 9);
  g_assert_cmpint (g->in_w, ==, 9);
  g_assert_cmpint (g->in_c, ==, 3);
  n = g_ptr_array_index (g->nodes, 0);
  g_assert_cmpint (n->op, ==, HIPPO_OP_INPUT);
  g_assert_cmpstr (n->name, ==, "in");
  g_assert_cmpstr (n->type, ==, "InputLayer");
  g_assert_cmpint (g->output, ==, index_of (g, "fc"));
  g_assert_cmpuint (g->n_params, ==, 108 + 4 + 16 + 16 + 36 + 24 + 3);

  n = node_named (g, "pad");
  g_assert_cmpint (n->op, ==, HIPPO_OP_PAD);
  g_assert_cmpint (n->pad_t, ==, 0);
  g_assert_cmpint (n->pad_b, ==, 1);
  g_assert_cmpint (n->pad_l, ==, 0);
  g_assert_cmpint (n->pad_r, ==, 1);
  assert_shape (n, 10, 10, 3);

  n = node_named (g, "c1");
  g_assert_cmpint (n->op, ==, HIPPO_OP_CONV);
  g_assert_cmpint (n->kh, ==, 3);
  g_assert_cmpint (n->sh, ==, 2);
  g_assert_cmpint (n->cin, ==, 3);
  g_assert_cmpint (n->pad_t + n->pad_b + n->pad_l + n->pad_r, ==, 0);
  g_assert_cmpint (n->act, ==, HIPPO_ACT_CLAMP);
  g_assert_cmpfloat (n->act_lo, ==, 0.0f);
  g_assert_true (isinf (n->act_hi) && n->act_hi > 0);
  assert_shape (n, 4, 4, 4);
  /* Kernel copied in HWIO order as stored. */
  for (int i = 0; i < 108; i++)
    g_assert_cmpfloat (n->weights[i], ==, gen (0.0f, i));
  g_assert_nonnull (n->bias);
  g_assert_cmpfloat (n->bias[3], ==, gen (0.1f, 3));

  /* BN: scale = gamma / sqrt(var + eps), shift = beta - mean * scale. */
  n = node_named (g, "bn");
  g_assert_cmpint (n->op, ==, HIPPO_OP_AFFINE);
  {
    const float scale[4] = { 1.0f, 1.0f, 1.0f, 0.25f };
    const float shift[4] = { -0.5f, 1.0f, -3.0f, 0.5f };

    for (int i = 0; i < 4; i++)
      {
        g_assert_cmpfloat_with_epsilon (n->scale[i], scale[i], 1e-6);
        g_assert_cmpfloat_with_epsilon (n->shift[i], shift[i], 1e-6);
      }
  }

  n = node_named (g, "r6");
  g_assert_cmpint (n->op, ==, HIPPO_OP_ACT);
  g_assert_cmpint (n->act, ==, HIPPO_ACT_CLAMP);
  g_assert_cmpfloat (n->act_lo, ==, 0.0f);
  g_assert_cmpfloat (n->act_hi, ==, 6.0f);

  n = node_named (g, "b1");
  g_assert_null (n->bias);
  g_assert_cmpint (n->act, ==, HIPPO_ACT_NONE);
  assert_shape (n, 4, 4, 4);

  n = node_named (g, "dw");
  g_assert_cmpint (n->op, ==, HIPPO_OP_DWCONV);
  g_assert_cmpint (n->mult, ==, 1);
  g_assert_cmpint (n->cin, ==, 4);
  g_assert_cmpint (n->pad_t, ==, 1);
  g_assert_cmpint (n->pad_r, ==, 1);
  g_assert_cmpfloat (n->act_hi, ==, 6.0f);
  assert_shape (n, 4, 4, 4);

  n = node_named (g, "add");
  g_assert_cmpint (n->op, ==, HIPPO_OP_ADD);
  g_assert_cmpint (n->n_inputs, ==, 2);
  g_assert_cmpint (n->inputs[0], ==, index_of (g, "b1"));
  g_assert_cmpint (n->inputs[1], ==, index_of (g, "dw"));

  n = node_named (g, "cat");
  g_assert_cmpint (n->op, ==, HIPPO_OP_CONCAT);
  g_assert_cmpint (n->inputs[0], ==, index_of (g, "add"));
  g_assert_cmpint (n->inputs[1], ==, index_of (g, "r6"));
  assert_shape (n, 4, 4, 8);

  /* Dropout is another name for its input. */
  {
    const HippoLayerRef *ref = hippo_graph_find (g, "drop", NULL);

    g_assert_cmpint (ref->node, ==, index_of (g, "cat"));
    g_assert_cmpint (ref->kind, ==, HIPPO_TAP_OUTPUT);
    g_assert_cmpstr (ref->type, ==, "Dropout");
  }
  n = node_named (g, "gap");
  g_assert_cmpint (n->op, ==, HIPPO_OP_GAP);
  g_assert_cmpint (n->inputs[0], ==, index_of (g, "cat"));
  assert_shape (n, 1, 1, 8);

  n = node_named (g, "fc");
  g_assert_cmpint (n->op, ==, HIPPO_OP_CONV);
  g_assert_cmpint (n->kh, ==, 1);
  g_assert_cmpint (n->cin, ==, 8);
  g_assert_cmpint (n->act, ==, HIPPO_ACT_SOFTMAX);
  assert_shape (n, 1, 1, 3);

  /* Topological order: every input is an earlier node. */
  for (guint i = 0; i < g->nodes->len; i++)
    {
      n = g_ptr_array_index (g->nodes, i);
      for (int j = 0; j < n->n_inputs; j++)
        g_assert_cmpint (n->inputs[j], <, (int) i);
    }
  /* Every weight was used. */
  for (guint i = 0; i < hippo_weights_get_n (w); i++)
    g_assert_true (hippo_weights_get (w, i)->used);

  hippo_graph_free (g);
  wb_free (wb);
}

/* One conv or pool on an input of size h x w; returns the graph. */
static HippoGraph *
one_layer (const char *cls, const char *config, int h, int wd, int cin,
           int cout, int kh, int kw, GError **error)
{
  g_autofree char *topo = g_strdup_printf (
    "{'class_name': 'Functional', 'config': {'name': 'm', 'layers': ["
    " {'name': 'x', 'class_name': 'InputLayer', 'config': "
    "  {'batch_input_shape': [null, %d, %d, %d]}, 'inbound_nodes': []},"
    " {'name': 'y', 'class_name': '%s', 'config': {%s},"
    "  'inbound_nodes': [[['x', 0, 0, {}]]]}],"
    " 'input_layers': [['x', 0, 0]], 'output_layers': [['y', 0, 0]]}}",
    h, wd, cin, cls, config);
  WB *wb = wb_new ();
  g_autoptr (HippoWeights) w = NULL;
  HippoGraph *g;

  wb_add (wb, "y/bias", NULL, 0.0f, cout, -1);
  if (strcmp (cls, "Conv2D") == 0)
    wb_add (wb, "y/kernel", NULL, 0.0f, kh, kw, cin, cout, -1);
  else if (strcmp (cls, "DepthwiseConv2D") == 0)
    wb_add (wb, "y/depthwise_kernel", NULL, 0.0f, kh, kw, cin, cout / cin, -1);
  w = wb_load (wb);
  g = read_squoted (topo, w, error);
  wb_free (wb);
  return g;
}

static void
check_pads (const char *cls, const char *config, int h, int wd, int c, int kh,
            int kw, int t, int b, int l, int r, int oh, int ow)
{
  GError *error = NULL;
  HippoGraph *g = one_layer (cls, config, h, wd, 3, c, kh, kw, &error);
  HippoNode *n;

  g_assert_no_error (error);
  n = g_ptr_array_index (g->nodes, 1);
  if (n->pad_t != t || n->pad_b != b || n->pad_l != l || n->pad_r != r
      || n->h != oh || n->w != ow)
    g_error ("%s {%s} on %dx%d: pads %d,%d,%d,%d out %dx%d; expected "
             "%d,%d,%d,%d out %dx%d",
             cls, config, h, wd, n->pad_t, n->pad_b, n->pad_l, n->pad_r, n->h,
             n->w, t, b, l, r, oh, ow);
  hippo_graph_free (g);
}

static void
test_same_padding (void)
{
  /* TF 'SAME': total = max((ceil(in/s) - 1) * s + k - in, 0), the odd
   * pixel after.  3x3 s2: 7 -> total 2 (1, 1); 8 -> total 1 (0, 1). */
  check_pads ("Conv2D",
              "'filters': 2, 'kernel_size': 3, 'strides': 2, "
              "'padding': 'same'",
              7, 8, 2, 3, 3, 1, 1, 0, 1, 4, 4);
  check_pads ("Conv2D",
              "'filters': 2, 'kernel_size': [3, 3], 'strides': [2, 2], "
              "'padding': 'same'",
              224, 225, 2, 3, 3, 0, 1, 1, 1, 112, 113);
  /* 1x7 and 7x1 (InceptionV3). */
  check_pads ("Conv2D",
              "'filters': 2, 'kernel_size': [1, 7], 'padding': 'same'", 17, 17,
              2, 1, 7, 0, 0, 3, 3, 17, 17);
  check_pads ("Conv2D",
              "'filters': 2, 'kernel_size': [7, 1], 'padding': 'same'", 17, 17,
              2, 7, 1, 3, 3, 0, 0, 17, 17);
  /* 5x5 s2 same on 5: out 3, total (3-1)*2+5-5 = 4 -> 2, 2. */
  check_pads ("Conv2D",
              "'filters': 2, 'kernel_size': 5, 'strides': 2, "
              "'padding': 'same'",
              5, 6, 2, 5, 5, 2, 2, 1, 2, 3, 3);
  /* Dilation 2, 3x3 same: effective 5 -> 2, 2. */
  check_pads ("Conv2D",
              "'filters': 2, 'kernel_size': 3, 'dilation_rate': 2, "
              "'padding': 'same'",
              9, 9, 2, 3, 3, 2, 2, 2, 2, 9, 9);
  /* Valid: no pads, floor. */
  check_pads ("Conv2D",
              "'filters': 2, 'kernel_size': 3, 'strides': 2, "
              "'padding': 'valid'",
              8, 9, 2, 3, 3, 0, 0, 0, 0, 3, 4);
  check_pads ("DepthwiseConv2D",
              "'kernel_size': 3, 'strides': 2, 'padding': 'same', "
              "'depth_multiplier': 2",
              8, 7, 6, 3, 3, 0, 1, 1, 1, 4, 4);
  /* Pools: strides default to pool_size. */
  check_pads ("MaxPooling2D",
              "'pool_size': [3, 3], 'strides': [2, 2], 'padding': 'valid'", 7,
              8, 3, 3, 3, 0, 0, 0, 0, 3, 3);
  check_pads ("AveragePooling2D",
              "'pool_size': [3, 3], 'strides': [1, 1], 'padding': 'same'", 7, 8,
              3, 3, 3, 1, 1, 1, 1, 7, 8);
  check_pads ("AveragePooling2D",
              "'pool_size': [7, 7], 'strides': null, 'padding': 'valid'", 7, 14,
              3, 7, 7, 0, 0, 0, 0, 1, 2);
  check_pads ("MaxPooling2D", "'padding': 'same'", 5, 4, 3, 2, 2, 0, 1, 0, 0, 3,
              2);
  /* ZeroPadding2D forms: int, symmetric pair, explicit pairs. */
  check_pads ("ZeroPadding2D", "'padding': 2", 4, 4, 3, 1, 1, 2, 2, 2, 2, 8, 8);
  check_pads ("ZeroPadding2D", "'padding': [1, 3]", 4, 4, 3, 1, 1, 1, 1, 3, 3,
              6, 10);
  check_pads ("ZeroPadding2D", "'padding': [[0, 1], [2, 0]]", 4, 4, 3, 1, 1, 0,
              1, 2, 0, 5, 6);
}

static void
test_sequential (void)
{
  /* The list form of Keras 2.2.4 and the {name, layers} form; no
   * InputLayer: the first layer's batch_input_shape makes the input. */
  static const char *const forms[] = {
    "{'class_name': 'Sequential', 'config': [%s]}",
    "{'model_config': {'class_name': 'Sequential', 'config': "
    " {'name': 'seq', 'layers': [%s]}}}",
  };
  const char *layers
    = "{'class_name': 'Conv2D', 'config': {'name': 'conv', 'filters': 2, "
      " 'kernel_size': 3, 'batch_input_shape': [null, 6, 6, 3], "
      " 'activation': 'tanh', 'use_bias': false}},"
      "{'class_name': 'MaxPooling2D', 'config': {'name': 'pool'}},"
      "{'class_name': 'Flatten', 'config': {'name': 'flat'}},"
      "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 5, "
      " 'activation': 'sigmoid'}},"
      "{'class_name': 'Dropout', 'config': {'name': 'drop', 'rate': 0.1}},"
      "{'class_name': 'Reshape', 'config': {'name': 'rs', "
      " 'target_shape': [1, 1, 5]}},"
      "{'class_name': 'Activation', 'config': {'name': 'sm', "
      " 'activation': 'softmax'}},"
      "{'class_name': 'Activation', 'config': {'name': 'lin', "
      " 'activation': 'linear'}}";

  for (guint f = 0; f < G_N_ELEMENTS (forms); f++)
    {
      g_autofree char *topo = g_strdup_printf (forms[f], layers);
      WB *wb = wb_new ();
      g_autoptr (HippoWeights) w = NULL;
      GError *error = NULL;
      HippoGraph *g;
      HippoNode *n;

      wb_add (wb, "conv/kernel", NULL, 0.0f, 3, 3, 3, 2, -1);
      wb_add (wb, "d1/kernel", NULL, 0.0f, 8, 5, -1);
      wb_add (wb, "d1/bias", NULL, 0.0f, 5, -1);
      w = wb_load (wb);
      g = read_squoted (topo, w, &error);
      g_assert_no_error (error);

      n = g_ptr_array_index (g->nodes, 0);
      g_assert_cmpint (n->op, ==, HIPPO_OP_INPUT);
      g_assert_cmpstr (n->name, ==, "conv_input");
      assert_shape (n, 6, 6, 3);
      n = node_named (g, "conv");
      g_assert_cmpint (n->act, ==, HIPPO_ACT_TANH);
      g_assert_null (n->bias);
      assert_shape (n, 4, 4, 2);
      n = node_named (g, "pool");
      g_assert_cmpint (n->op, ==, HIPPO_OP_MAXPOOL);
      g_assert_cmpint (n->kh, ==, 2);
      g_assert_cmpint (n->sh, ==, 2);
      assert_shape (n, 2, 2, 2);
      n = node_named (g, "flat");
      g_assert_cmpint (n->op, ==, HIPPO_OP_RESHAPE);
      assert_shape (n, 1, 1, 8);
      n = node_named (g, "d1");
      g_assert_cmpint (n->act, ==, HIPPO_ACT_SIGMOID);
      assert_shape (n, 1, 1, 5);
      g_assert_cmpint (hippo_graph_find (g, "drop", NULL)->node, ==,
                       index_of (g, "d1"));
      n = node_named (g, "rs");
      g_assert_cmpint (n->op, ==, HIPPO_OP_RESHAPE);
      g_assert_cmpint (n->inputs[0], ==, index_of (g, "d1"));
      n = node_named (g, "sm");
      g_assert_cmpint (n->op, ==, HIPPO_OP_SOFTMAX);
      g_assert_cmpint (hippo_graph_find (g, "lin", NULL)->node, ==,
                       index_of (g, "sm"));
      g_assert_cmpint (g->output, ==, index_of (g, "sm"));
      /* input + 8 layers; Dropout and linear Activation are aliases. */
      g_assert_cmpuint (g->layers->len, ==, 9);
      g_assert_cmpuint (g->nodes->len, ==, 7);
      hippo_graph_free (g);
      wb_free (wb);
    }
}

/* As Teachable Machine exports: a Sequential holding a Sequential that
 * holds a functional MobileNet, and a Sequential head. */
static const char nested[]
  = "{'model_config': {'class_name': 'Sequential', "
    "'config': {'name': 'sequential_3', 'layers': ["
    " {'class_name': 'Sequential', 'config': {'name': 'sequential_1', "
    "  'layers': ["
    "   {'class_name': 'Model', 'config': {'name': 'model1', 'layers': ["
    "     {'name': 'input_1', 'class_name': 'InputLayer', 'config': "
    "      {'batch_input_shape': [null, 8, 8, 3], 'name': 'input_1'},"
    "      'inbound_nodes': []},"
    "     {'name': 'Conv1', 'class_name': 'Conv2D', 'config': {'name': "
    "      'Conv1', 'filters': 4, 'kernel_size': [3, 3], 'strides': [2, 2],"
    "      'padding': 'same', 'use_bias': false, 'activation': 'linear'},"
    "      'inbound_nodes': [[['input_1', 0, 0, {}]]]},"
    "     {'name': 'Conv1_relu', 'class_name': 'ReLU', 'config': {'name': "
    "      'Conv1_relu', 'max_value': 6}, "
    "      'inbound_nodes': [[['Conv1', 0, 0, {}]]]},"
    "     {'name': 'gap', 'class_name': 'GlobalAveragePooling2D', "
    "      'config': {'name': 'gap'}, "
    "      'inbound_nodes': [[['Conv1_relu', 0, 0, {}]]]}],"
    "    'input_layers': [['input_1', 0, 0]], "
    "    'output_layers': [['gap', 0, 0]]}}]}},"
    " {'class_name': 'Sequential', 'config': {'name': 'sequential_2', "
    "  'layers': ["
    "   {'class_name': 'Dense', 'config': {'name': 'dense_Dense1', "
    "    'units': 6, 'activation': 'relu', 'use_bias': true, "
    "    'batch_input_shape': [null, 4]}},"
    "   {'class_name': 'Dropout', 'config': {'name': 'dropout_Dropout1', "
    "    'rate': 0.5}},"
    "   {'class_name': 'Dense', 'config': {'name': 'dense_Dense2', "
    "    'units': 2, 'activation': 'softmax', 'use_bias': false}}]}}]}}}";

static void
test_nested (void)
{
  WB *wb = wb_new ();
  g_autoptr (HippoWeights) w = NULL;
  GError *error = NULL;
  HippoGraph *g;
  HippoNode *n;
  const HippoLayerRef *ref;

  /* Weight names plain, scope-qualified, and under an outer prefix. */
  wb_add (wb, "Conv1/kernel", NULL, 0.0f, 3, 3, 3, 4, -1);
  wb_add (wb, "sequential_2/dense_Dense1/kernel", NULL, 0.0f, 4, 6, -1);
  wb_add (wb, "dense_Dense1/bias", NULL, 0.0f, 6, -1);
  wb_add (wb, "tm/dense_Dense2/kernel", NULL, 0.0f, 6, 2, -1);
  /* A decoy: a qualified name wins over a bare one. */
  wb_add (wb, "dense_Dense1/kernel", NULL, 5.0f, 2, 2, -1);
  w = wb_load (wb);

  g = read_squoted (nested, w, &error);
  g_assert_no_error (error);

  n = g_ptr_array_index (g->nodes, 0);
  g_assert_cmpint (n->op, ==, HIPPO_OP_INPUT);
  g_assert_cmpstr (n->name, ==, "input_1");
  g_assert_cmpint (g->in_h, ==, 8);
  n = node_named (g, "Conv1");
  assert_shape (n, 4, 4, 4);
  g_assert_cmpint (n->pad_t, ==, 0);
  g_assert_cmpint (n->pad_b, ==, 1);
  n = node_named (g, "gap");
  assert_shape (n, 1, 1, 4);
  /* The nested models' names point at their outputs. */
  ref = hippo_graph_find (g, "model1", NULL);
  g_assert_cmpint (ref->node, ==, index_of (g, "gap"));
  g_assert_cmpstr (ref->type, ==, "Model");
  ref = hippo_graph_find (g, "sequential_1", NULL);
  g_assert_cmpint (ref->node, ==, index_of (g, "gap"));
  ref = hippo_graph_find (g, "sequential_2", NULL);
  g_assert_cmpint (ref->node, ==, index_of (g, "dense_Dense2"));
  g_assert_cmpstr (ref->type, ==, "Sequential");
  n = node_named (g, "dense_Dense1");
  g_assert_cmpint (n->inputs[0], ==, index_of (g, "gap"));
  g_assert_cmpint (n->cin, ==, 4);
  g_assert_cmpfloat (n->weights[0], ==, gen (0.0f, 0));
  n = node_named (g, "dense_Dense2");
  g_assert_cmpint (n->inputs[0], ==, index_of (g, "dense_Dense1"));
  g_assert_cmpint (n->act, ==, HIPPO_ACT_SOFTMAX);
  assert_shape (n, 1, 1, 2);
  g_assert_cmpint (g->output, ==, index_of (g, "dense_Dense2"));
  g_assert_false (hippo_weights_lookup (w, "dense_Dense1/kernel")->used);
  hippo_graph_free (g);
  wb_free (wb);
}

/* A nested functional model fed by an outer layer, with an inner layer
 * whose name the outer model already uses. */
static void
test_nested_in_functional (void)
{
  static const char topo[]
    = "{'class_name': 'Model', 'config': {'name': 'outer', 'layers': ["
      " {'name': 'img', 'class_name': 'InputLayer', 'config': "
      "  {'batch_input_shape': [null, 4, 4, 3]}, 'inbound_nodes': []},"
      " {'name': 'conv', 'class_name': 'Conv2D', 'config': {'filters': 3, "
      "  'kernel_size': 1}, 'inbound_nodes': [[['img', 0, 0, {}]]]},"
      " {'name': 'inner', 'class_name': 'Functional', 'config': {"
      "  'layers': ["
      "   {'name': 'in2', 'class_name': 'InputLayer', 'config': "
      "    {'batch_input_shape': [null, 4, 4, 3]}, 'inbound_nodes': []},"
      "   {'name': 'conv', 'class_name': 'Conv2D', 'config': {'filters': 2,"
      "    'kernel_size': 1, 'use_bias': false}, "
      "    'inbound_nodes': [[['in2', 0, 0, {}]]]}],"
      "  'input_layers': [['in2', 0, 0]], 'output_layers': [['conv', 0, 0]]},"
      "  'inbound_nodes': [[['conv', 0, 0, {}]]]},"
      " {'name': 'sum', 'class_name': 'Concatenate', 'config': {}, "
      "  'inbound_nodes': [[['inner', 0, 0, {}], ['conv', 0, 0, {}]]]}],"
      " 'input_layers': [['img', 0, 0]], 'output_layers': [['sum', 0, 0]]}}";
  WB *wb = wb_new ();
  g_autoptr (HippoWeights) w = NULL;
  GError *error = NULL;
  HippoGraph *g;
  HippoNode *n;

  wb_add (wb, "conv/kernel", NULL, 0.0f, 1, 1, 3, 3, -1);
  wb_add (wb, "conv/bias", NULL, 0.0f, 3, -1);
  wb_add (wb, "inner/conv/kernel", NULL, 1.0f, 1, 1, 3, 2, -1);
  w = wb_load (wb);
  g = read_squoted (topo, w, &error);
  g_assert_no_error (error);
  n = node_named (g, "inner/conv");
  g_assert_cmpint (n->inputs[0], ==, index_of (g, "conv"));
  g_assert_cmpfloat (n->weights[0], ==, gen (1.0f, 0));
  g_assert_cmpint (hippo_graph_find (g, "in2", NULL)->node, ==,
                   index_of (g, "conv"));
  g_assert_cmpint (hippo_graph_find (g, "inner", NULL)->node, ==,
                   index_of (g, "inner/conv"));
  assert_shape (node_named (g, "sum"), 4, 4, 5);
  hippo_graph_free (g);
  wb_free (wb);
}

/* Errors: code and a fragment of the message. */
static void
expect_error (const char *topo, HippoWeights *w, int code, const char *fragment)
{
  GError *error = NULL;
  HippoGraph *g = read_squoted (topo, w, &error);

  g_assert_null (g);
  g_assert_error (error, HIPPO_ERROR, code);
  if (fragment && strstr (error->message, fragment) == NULL)
    g_error ("message '%s' lacks '%s'", error->message, fragment);
  g_test_message ("rejected as expected: %s", error->message);
  g_error_free (error);
}

/* The functional model with one substring replaced. */
static char *
patched (const char *find, const char *replace)
{
  const char *p = strstr (functional, find);
  GString *s;

  g_assert_nonnull (p);
  s = g_string_new_len (functional, p - functional);
  g_string_append (s, replace);
  g_string_append (s, p + strlen (find));
  return g_string_free (s, FALSE);
}

static void
expect_patched (HippoWeights *w, const char *find, const char *replace,
                int code, const char *fragment)
{
  g_autofree char *topo = patched (find, replace);

  expect_error (topo, w, code, fragment);
}

static void
test_errors (void)
{
  WB *wb = wb_new ();
  g_autoptr (HippoWeights) w = functional_weights (wb);

  expect_patched (w, "'class_name': 'Add'", "'class_name': 'LSTM'",
                  HIPPO_ERROR_MODEL_UNSUPPORTED, "LSTM");
  /* A cycle: pad takes its input from add, which depends on pad. */
  expect_patched (w, "'inbound_nodes': [[['in', 0, 0, {}]]]",
                  "'inbound_nodes': [[['add', 0, 0, {}]]]",
                  HIPPO_ERROR_MODEL_INVALID, "cycle");
  expect_patched (w, "[['bn', 0, 0, {}]]", "[['nowhere', 0, 0, {}]]",
                  HIPPO_ERROR_MODEL_INVALID, "nowhere");
  expect_patched (w, "[['bn', 0, 0, {}]]", "[['bn', 1, 0, {}]]",
                  HIPPO_ERROR_MODEL_UNSUPPORTED, "shared");
  expect_patched (w, "[['bn', 0, 0, {}]]",
                  "[['bn', 0, 0, {}]], [['c1', 0, 0, {}]]",
                  HIPPO_ERROR_MODEL_UNSUPPORTED, "shared");
  expect_patched (w, "[['bn', 0, 0, {}]]", "[['bn', 0, 1, {}]]",
                  HIPPO_ERROR_MODEL_UNSUPPORTED, "output");
  expect_patched (w, "'filters': 4, 'kernel_size': [3, 3]",
                  "'filters': '4', 'kernel_size': [3, 3]",
                  HIPPO_ERROR_MODEL_FORMAT, "filters");
  expect_patched (w, "'filters': 4, 'kernel_size': [3, 3]",
                  "'filters': -4, 'kernel_size': [3, 3]",
                  HIPPO_ERROR_MODEL_INVALID, "filters");
  expect_patched (w, "'filters': 4, 'kernel_size': [3, 3]", "'filters': 4",
                  HIPPO_ERROR_MODEL_FORMAT, "kernel_size");
  expect_patched (w, "'kernel_size': [3, 3], 'strides': [2, 2]",
                  "'kernel_size': [300, 3], 'strides': [2, 2]",
                  HIPPO_ERROR_LIMIT, "kernel_size");
  expect_patched (w, "'kernel_size': [3, 3], 'strides': [2, 2]",
                  "'kernel_size': [3, 3, 3], 'strides': [2, 2]",
                  HIPPO_ERROR_MODEL_FORMAT, "kernel_size");
  expect_patched (w, "'activation': 'relu', 'use_bias': true",
                  "'activation': 'elu', 'use_bias': true",
                  HIPPO_ERROR_MODEL_UNSUPPORTED, "elu");
  expect_patched (w, "'activation': 'relu', 'use_bias': true",
                  "'activation': 3, 'use_bias': true", HIPPO_ERROR_MODEL_FORMAT,
                  "activation");
  expect_patched (w, "'padding': 'valid', 'data_format': 'channels_last'",
                  "'padding': 'valid', 'data_format': 'channels_first'",
                  HIPPO_ERROR_MODEL_UNSUPPORTED, "channels_first");
  expect_patched (w, "'padding': 'valid', 'data_format'",
                  "'padding': 'causal', 'data_format'",
                  HIPPO_ERROR_MODEL_UNSUPPORTED, "causal");
  expect_patched (w, "'dilation_rate': [1, 1]", "'dilation_rate': [2, 2]",
                  HIPPO_ERROR_MODEL_UNSUPPORTED, "dilation");
  expect_patched (w, "'dilation_rate': [1, 1]",
                  "'dilation_rate': [1, 1], 'groups': 2",
                  HIPPO_ERROR_MODEL_UNSUPPORTED, "groups");
  expect_patched (w, "'negative_slope': 0", "'negative_slope': 0.1",
                  HIPPO_ERROR_MODEL_UNSUPPORTED, "negative_slope");
  expect_patched (w, "'axis': -1, 'epsilon'", "'axis': 1, 'epsilon'",
                  HIPPO_ERROR_MODEL_UNSUPPORTED, "axis");
  expect_patched (w, "'axis': 3}", "'axis': 2}", HIPPO_ERROR_MODEL_UNSUPPORTED,
                  "axis");
  expect_patched (w, "'use_bias': true},", "'use_bias': 'yes'},",
                  HIPPO_ERROR_MODEL_FORMAT, "use_bias");
  expect_patched (w, "'units': 3", "'units': 4", HIPPO_ERROR_MODEL_FORMAT,
                  "fc/kernel");
  /* A weight missing from the manifest. */
  expect_patched (w, "'activation': 'linear', 'use_bias': false",
                  "'activation': 'linear', 'use_bias': true",
                  HIPPO_ERROR_MODEL_FORMAT, "b1/bias");
  expect_patched (w,
                  "{'name': 'add', 'class_name': 'Add', 'config': "
                  "{'name': 'add'},",
                  "{'name': 'add', 'class_name': 'Add', 'config': null,",
                  HIPPO_ERROR_MODEL_FORMAT, "config");
  expect_patched (w, "'output_layers': [['fc', 0, 0]]",
                  "'output_layers': [['fcc', 0, 0]]", HIPPO_ERROR_MODEL_INVALID,
                  "fcc");
  expect_patched (w, "'output_layers': [['fc', 0, 0]]",
                  "'output_layers': [['fc', 0, 0], ['gap', 0, 0]]",
                  HIPPO_ERROR_MODEL_UNSUPPORTED, "output_layers");
  /* The flat form of newer tf.keras reads the same. */
  {
    g_autofree char *topo = patched ("'output_layers': [['fc', 0, 0]]",
                                     "'output_layers': ['fc', 0, 0]");
    GError *error = NULL;
    HippoGraph *g = read_squoted (topo, w, &error);

    g_assert_no_error (error);
    g_assert_cmpint (g->output, ==, index_of (g, "fc"));
    hippo_graph_free (g);
  }
  expect_patched (w, "'batch_input_shape': [null, 9, 9, 3]",
                  "'batch_input_shape': [null, null, null, 3]",
                  HIPPO_ERROR_MODEL_UNSUPPORTED, "fixed size");
  expect_patched (w, "'batch_input_shape': [null, 9, 9, 3]",
                  "'batch_input_shape': [null, 9, -9, 3]",
                  HIPPO_ERROR_MODEL_INVALID, "batch_input_shape");
  expect_patched (w, "'batch_input_shape': [null, 9, 9, 3]",
                  "'batch_input_shape': [null, 9, 1e12, 3]", HIPPO_ERROR_LIMIT,
                  "batch_input_shape");
  /* A 'valid' window larger than its input. */
  expect_patched (w, "'batch_input_shape': [null, 9, 9, 3]",
                  "'batch_input_shape': [null, 1, 9, 3]",
                  HIPPO_ERROR_MODEL_INVALID, "window");
  /* Two layers of one name. */
  expect_patched (w, "{'name': 'drop', 'class_name'",
                  "{'name': 'gap', 'class_name'", HIPPO_ERROR_MODEL_INVALID,
                  "gap");
  expect_error ("{'class_name': 'Model', 'config': {'layers': 3}}", w,
                HIPPO_ERROR_MODEL_FORMAT, "layers");
  expect_error ("{'model_config': []}", w, HIPPO_ERROR_MODEL_FORMAT,
                "model_config");
  expect_error ("{}", w, HIPPO_ERROR_MODEL_FORMAT, "class_name");
  expect_error ("{'class_name': 'Graph', 'config': {}}", w,
                HIPPO_ERROR_MODEL_UNSUPPORTED, "Graph");
  expect_error ("{'class_name': 'Sequential', 'config': []}", w,
                HIPPO_ERROR_MODEL_FORMAT, "no layers");
  expect_error ("{'class_name': 'Sequential', 'config': [{'class_name': "
                "'Dense', 'config': {'name': 'd', 'units': 2}}]}",
                w, HIPPO_ERROR_MODEL_FORMAT, "batch_input_shape");
  wb_free (wb);
}

/* The functional model's weights with other batch-norm values. */
static HippoWeights *
functional_weights_bn (WB *wb, const float *gamma, const float *var)
{
  wb_add (wb, "c1/kernel", NULL, 0.0f, 3, 3, 3, 4, -1);
  wb_add (wb, "c1/bias", NULL, 0.1f, 4, -1);
  wb_add (wb, "bn/gamma", gamma, 0, 4, -1);
  wb_add (wb, "bn/beta", bn_beta, 0, 4, -1);
  wb_add (wb, "bn/moving_mean", bn_mean, 0, 4, -1);
  wb_add (wb, "bn/moving_variance", var, 0, 4, -1);
  wb_add (wb, "b1/kernel", NULL, 0.0f, 1, 1, 4, 4, -1);
  wb_add (wb, "dw/depthwise_kernel", NULL, 0.0f, 3, 3, 4, 1, -1);
  wb_add (wb, "fc/kernel", NULL, 0.0f, 8, 3, -1);
  wb_add (wb, "fc/bias", NULL, 0.0f, 3, -1);
  return wb_load (wb);
}

#define SEQ(layers)                                                            \
  "{'class_name': 'Sequential', 'config': {'name': 's', 'layers': [" layers    \
  "]}}"
#define SEQ_IN(h, w, c)                                                        \
  "{'class_name': 'InputLayer', 'config': {'name': 'i', "                      \
  "'batch_input_shape': [null, " #h ", " #w ", " #c "]}}, "

/* The count, size and shape checks of the reader that the other cases do
 * not reach: each gives its error, never a crash. */
static void
test_checks (void)
{
  WB *wb = wb_new ();
  g_autoptr (HippoWeights) w = functional_weights (wb);

  /* counts of inputs */
  expect_patched (w, "'inbound_nodes': [[['b1', 0, 0, {}], ['dw', 0, 0, {}]]]",
                  "'inbound_nodes': [[['b1', 0, 0, {}]]]",
                  HIPPO_ERROR_MODEL_INVALID, "has 1 inputs");
  expect_patched (w, "'inbound_nodes': [[['in', 0, 0, {}]]]",
                  "'inbound_nodes': []", HIPPO_ERROR_MODEL_INVALID,
                  "has no input");
  expect_patched (w, "[['bn', 0, 0, {}]]", "[['bn', 0]]",
                  HIPPO_ERROR_MODEL_FORMAT, "an inbound node is not");
  expect_patched (w, "[['bn', 0, 0, {}]]", "[[3, 0, 0, {}]]",
                  HIPPO_ERROR_MODEL_FORMAT, "an inbound node is not");
  /* shapes that do not fit */
  expect_patched (w, "[['add', 0, 0, {}], ['r6', 0, 0, {}]]",
                  "[['add', 0, 0, {}], ['pad', 0, 0, {}]]",
                  HIPPO_ERROR_MODEL_INVALID, "differ in height or width");
  expect_patched (w, "'padding': [[0, 1], [0, 1]]",
                  "'padding': [[0, 100000], [0, 1]]", HIPPO_ERROR_LIMIT,
                  "padding");
  /* the input layers */
  expect_patched (w, "'input_layers': [['in', 0, 0]], ", "",
                  HIPPO_ERROR_MODEL_FORMAT, "no 'input_layers' array");
  expect_patched (w, "'input_layers': [['in', 0, 0]]", "'input_layers': [[3]]",
                  HIPPO_ERROR_MODEL_FORMAT, "entries must be");
  expect_patched (w, "'input_layers': [['in', 0, 0]]",
                  "'input_layers': [['pad', 0, 0]]",
                  HIPPO_ERROR_MODEL_UNSUPPORTED, "not an InputLayer");
  expect_patched (w, "'name': 'in'}, 'inbound_nodes': []},",
                  "'name': 'in'}, 'inbound_nodes': []},"
                  " {'name': 'in2', 'class_name': 'InputLayer', 'config': "
                  "  {'batch_input_shape': [null, 9, 9, 3], 'name': 'in2'},"
                  "  'inbound_nodes': [[['in', 0, 0, {}]]]},",
                  HIPPO_ERROR_MODEL_INVALID, "an InputLayer has inputs");
  expect_patched (w, "'name': 'in'}, 'inbound_nodes': []},",
                  "'name': 'in'}, 'inbound_nodes': []},"
                  " {'name': 'in2', 'class_name': 'InputLayer', 'config': "
                  "  {'batch_input_shape': [null, 9, 9, 3], 'name': 'in2'},"
                  "  'inbound_nodes': []},",
                  HIPPO_ERROR_MODEL_UNSUPPORTED, "several inputs");
  expect_error ("{'class_name': 'Model'}", w, HIPPO_ERROR_MODEL_FORMAT,
                "no 'config' object");
  expect_error ("{'class_name': 'Sequential', 'config': {'name': 's'}}", w,
                HIPPO_ERROR_MODEL_FORMAT, "no 'layers' array");
  /* keys */
  expect_error (SEQ (SEQ_IN (2, 2, 3) "{'class_name': 'Activation', "
                                      "'config': {'name': 'a'}}"),
                w, HIPPO_ERROR_MODEL_FORMAT, "missing key 'activation'");
  /* sizes past the limits */
  expect_error (SEQ (SEQ_IN (1, 1, 2000) "{'class_name': 'DepthwiseConv2D', "
                                         "'config': {'name': 'd', "
                                         "'kernel_size': 1, "
                                         "'depth_multiplier': 1000}}"),
                w, HIPPO_ERROR_LIMIT, "too many channels");
  expect_error (SEQ (SEQ_IN (100, 100, 200) "{'class_name': 'Flatten', "
                                            "'config': {'name': 'f'}}"),
                w, HIPPO_ERROR_LIMIT, "too many to flatten");
  {
    GString *cat = g_string_new (
      "{'class_name': 'Model', 'config': {'name': 'm', 'layers': ["
      " {'name': 'in', 'class_name': 'InputLayer', 'config': "
      "  {'batch_input_shape': [null, 1, 1, 60000], 'name': 'in'},"
      "  'inbound_nodes': []},"
      " {'name': 'cat', 'class_name': 'Concatenate', 'config': "
      "  {'name': 'cat', 'axis': -1}, 'inbound_nodes': [[");

    for (int i = 0; i < 20; i++)
      g_string_append (cat, i ? ", ['in', 0, 0, {}]" : "['in', 0, 0, {}]");
    g_string_append (cat, "]]}], 'input_layers': [['in', 0, 0]],"
                          " 'output_layers': [['cat', 0, 0]]}}");
    expect_error (cat->str, w, HIPPO_ERROR_LIMIT, "too many channels");
    g_string_free (cat, TRUE);
  }
  /* Reshape */
#define RESHAPE(cfg)                                                           \
  SEQ (SEQ_IN (1, 1, 6) "{'class_name': 'Reshape', 'config': {'name': 'r'" cfg \
                        "}}")
  expect_error (RESHAPE (""), w, HIPPO_ERROR_MODEL_FORMAT,
                "missing array 'target_shape'");
  expect_error (RESHAPE (", 'target_shape': [1, 1, 1, 1, 6]"), w,
                HIPPO_ERROR_MODEL_UNSUPPORTED, "rank");
  expect_error (RESHAPE (", 'target_shape': ['a', 6]"), w,
                HIPPO_ERROR_MODEL_FORMAT, "must hold integers");
  expect_error (RESHAPE (", 'target_shape': [1, 'a']"), w,
                HIPPO_ERROR_MODEL_FORMAT, "must hold integers");
  expect_error (RESHAPE (", 'target_shape': [2, 3]"), w,
                HIPPO_ERROR_MODEL_UNSUPPORTED, "[..., 1, n]");
  expect_error (RESHAPE (", 'target_shape': [1, 5]"), w,
                HIPPO_ERROR_MODEL_INVALID, "cannot reshape 6 values to 5");
#undef RESHAPE
  wb_free (wb);

  /* weight values: a negative variance, a scale that overflows float */
  {
    const float var[4] = { 0.999f, 3.999f, -0.5f, 15.999f };
    const float tiny_var[4] = { 0.999f, -0.000999f, 0.249f, 15.999f };
    const float big_gamma[4] = { 1.0f, 3e38f, 0.5f, 1.0f };
    g_autoptr (HippoWeights) w2 = NULL;

    wb = wb_new ();
    w2 = functional_weights_bn (wb, bn_gamma, var);
    expect_error (functional, w2, HIPPO_ERROR_MODEL_INVALID,
                  "moving_variance + epsilon is not positive at channel 2");
    wb_free (wb);
    g_clear_pointer (&w2, hippo_weights_free);
    wb = wb_new ();
    w2 = functional_weights_bn (wb, big_gamma, tiny_var);
    expect_error (functional, w2, HIPPO_ERROR_MODEL_INVALID,
                  "not finite at channel 1");
    wb_free (wb);
  }
  /* a weight found only by suffix, and not uniquely */
  {
    g_autoptr (HippoWeights) w3 = NULL;

    wb = wb_new ();
    wb_add (wb, "x/c1/kernel", NULL, 0.0f, 3, 3, 3, 4, -1);
    wb_add (wb, "y/c1/kernel", NULL, 0.0f, 3, 3, 3, 4, -1);
    w3 = wb_load (wb);
    expect_error (functional, w3, HIPPO_ERROR_MODEL_FORMAT,
                  "2 weights end in 'c1/kernel'");
    wb_free (wb);
  }
}
#undef SEQ
#undef SEQ_IN

/* Nesting deeper than the limit fails cleanly. */
static void
test_deep_nesting (void)
{
  GString *s = g_string_new (NULL);
  WB *wb = wb_new ();
  g_autoptr (HippoWeights) w = wb_load (wb);

  for (int i = 0; i < 40; i++)
    g_string_append_printf (s,
                            "{'class_name': 'Sequential', 'config': "
                            "{'name': 's%d', 'layers': [",
                            i);
  g_string_append (s, "{'class_name': 'InputLayer', 'config': {'name': 'i',"
                      " 'batch_input_shape': [null, 2, 2, 3]}}");
  for (int i = 0; i < 40; i++)
    g_string_append (s, "]}}");
  expect_error (s->str, w, HIPPO_ERROR_LIMIT, "nested");
  g_string_free (s, TRUE);
  wb_free (wb);
}

/* Every config value, inbound node and layer of the functional model
 * replaced by each of several wrong things: never a crash, and any error
 * is a HIPPO_ERROR. */
static void
test_hostile_json (void)
{
  static const char *const junk[] = {
    "null",
    "'x'",
    "-1",
    "0",
    "1e300",
    "-1e300",
    "2147483648",
    "[]",
    "[null]",
    "[[]]",
    "{}",
    "true",
    "[1, 2, 3, 4, 5]",
    "[-5, 2]",
    "[[1, 2], [3]]",
    "[['in', 0, 0, {}]]",
  };
  WB *wb = wb_new ();
  g_autoptr (HippoWeights) w = functional_weights (wb);
  g_autoptr (JsonParser) parser = parse_squoted (functional);
  JsonArray *layers = json_object_get_array_member (
    json_object_get_object_member (
      json_object_get_object_member (
        json_node_get_object (json_parser_get_root (parser)), "model_config"),
      "config"),
    "layers");
  guint n_ok = 0, n_err = 0;

  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonObject *layer = json_array_get_object_element (layers, i);
      JsonObject *cfg = json_object_get_object_member (layer, "config");
      GList *keys = json_object_get_members (cfg);
      GList *targets = NULL;

      /* (object, key) pairs to spoil. */
      for (GList *k = keys; k; k = k->next)
        targets
          = g_list_prepend (targets, g_strdup_printf ("c%s", (char *) k->data));
      targets = g_list_prepend (targets, g_strdup ("linbound_nodes"));
      targets = g_list_prepend (targets, g_strdup ("lclass_name"));
      targets = g_list_prepend (targets, g_strdup ("lconfig"));
      targets = g_list_prepend (targets, g_strdup ("lname"));
      targets = g_list_prepend (targets, g_strdup ("L"));
      g_list_free (keys);

      for (GList *t = targets; t; t = t->next)
        for (guint j = 0; j < G_N_ELEMENTS (junk); j++)
          {
            const char *spec = t->data;
            g_autoptr (JsonParser) p2 = parse_squoted (functional);
            g_autoptr (JsonParser) jp = parse_squoted (junk[j]);
            JsonNode *root = json_parser_get_root (p2);
            JsonArray *l2 = json_object_get_array_member (
              json_object_get_object_member (
                json_object_get_object_member (json_node_get_object (root),
                                               "model_config"),
                "config"),
              "layers");
            JsonObject *lay = json_array_get_object_element (l2, i);
            JsonNode *val = json_node_copy (json_parser_get_root (jp));
            GError *error = NULL;
            HippoGraph *g;

            if (spec[0] == 'c')
              json_object_set_member (
                json_object_get_object_member (lay, "config"), spec + 1, val);
            else if (spec[0] == 'l')
              json_object_set_member (lay, spec + 1, val);
            else
              {
                json_array_remove_element (l2, i);
                json_array_add_element (l2, val);
              }
            g = read_model (root, w, &error);
            if (g)
              {
                n_ok++;
                hippo_graph_free (g);
              }
            else
              {
                g_assert_true (error->domain == HIPPO_ERROR);
                n_err++;
                g_error_free (error);
              }
          }
      g_list_free_full (targets, g_free);
    }
  g_test_message ("%u spoiled models read, %u rejected", n_ok, n_err);
  g_assert_cmpuint (n_err, >, 100);
  wb_free (wb);
}

/* The real models, when unwrapped. */
static HippoGraph *
read_real (const char *name, HippoWeights **weights_out)
{
  const char *base = g_getenv ("HIPPOTAG_TEST_MODEL_DIR");
  g_autofree char *dir
    = g_build_filename (base ? base : "/tmp/nsfw/out", name, NULL);
  g_autofree char *json = g_build_filename (dir, "model.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  GError *error = NULL;
  JsonObject *root;
  HippoWeights *w;
  HippoGraph *g;

  if (!g_file_test (json, G_FILE_TEST_EXISTS))
    {
      g_autofree char *msg
        = g_strdup_printf ("SKIPPED: the real model is absent: no %s (set "
                           "HIPPOTAG_TEST_MODEL_DIR or run ./setup)",
                           json);

      g_test_skip (msg);
      return NULL;
    }
  json_parser_load_from_file (parser, json, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  w = hippo_weights_load (
    json_object_get_array_member (root, "weightsManifest"), dir, &error);
  g_assert_no_error (error);
  g = read_model (json_object_get_member (root, "modelTopology"), w, &error);
  g_assert_no_error (error);
  *weights_out = w;
  return g;
}

static void
test_real_mobilenet (void)
{
  HippoWeights *w = NULL;
  HippoGraph *g = read_real ("mobilenet_v2", &w);
  HippoNode *n;
  guint n_bn = 0;

  if (g == NULL)
    return;
  g_assert_cmpuint (g->layers->len, ==, 162);
  g_assert_cmpuint (g->nodes->len, ==, 160); /* two Dropouts are aliases */
  g_assert_cmpuint (g->n_params, ==, 2619461);
  g_assert_cmpint (g->in_h, ==, 224);
  g_assert_cmpint (g->in_w, ==, 224);
  assert_shape (node_named (g, "Conv1"), 112, 112, 32);
  assert_shape (node_named (g, "block_10_expand_relu"), 14, 14, 384);
  assert_shape (node_named (g, "block_10_project_BN"), 14, 14, 96);
  assert_shape (node_named (g, "out_relu"), 7, 7, 1280);
  assert_shape (node_named (g, "flatten_1"), 1, 1, 1280);
  n = node_named (g, "dense_3");
  assert_shape (n, 1, 1, 5);
  g_assert_cmpint (n->act, ==, HIPPO_ACT_SOFTMAX);
  g_assert_cmpint (g->output, ==, index_of (g, "dense_3"));
  n = node_named (g, "block_1_depthwise");
  g_assert_cmpint (n->op, ==, HIPPO_OP_DWCONV);
  g_assert_cmpint (n->sh, ==, 2);
  g_assert_cmpint (n->pad_t + n->pad_b + n->pad_l + n->pad_r, ==, 0);
  n = node_named (g, "expanded_conv_depthwise");
  g_assert_cmpint (n->pad_t, ==, 1);
  g_assert_cmpint (n->pad_b, ==, 1);
  for (guint i = 0; i < g->nodes->len; i++)
    n_bn
      += ((HippoNode *) g_ptr_array_index (g->nodes, i))->op == HIPPO_OP_AFFINE;
  g_assert_cmpuint (n_bn, ==, 52);
  for (guint i = 0; i < hippo_weights_get_n (w); i++)
    if (!hippo_weights_get (w, i)->used)
      g_error ("weight %s unused", hippo_weights_get (w, i)->name);
  hippo_graph_free (g);
  hippo_weights_free (w);
}

static void
test_real_inception (void)
{
  HippoWeights *w = NULL;
  HippoGraph *g = read_real ("inception_v3", &w);
  HippoNode *n;

  if (g == NULL)
    return;
  g_assert_cmpuint (g->layers->len, ==, 318);
  g_assert_cmpuint (g->n_params, ==, 22360869);
  g_assert_cmpint (g->in_h, ==, 299);
  assert_shape (node_named (g, "conv2d_1"), 149, 149, 32);
  assert_shape (node_named (g, "mixed5"), 17, 17, 768);
  assert_shape (node_named (g, "mixed10"), 8, 8, 2048);
  n = node_named (g, "average_pooling2d_1");
  g_assert_cmpint (n->op, ==, HIPPO_OP_AVGPOOL);
  g_assert_cmpint (n->pad_t, ==, 1);
  g_assert_cmpint (n->pad_r, ==, 1);
  /* BN with scale=false: no gamma, so scale = 1/sqrt(var + eps) > 0. */
  n = node_named (g, "batch_normalization_1");
  g_assert_cmpint (n->op, ==, HIPPO_OP_AFFINE);
  for (int i = 0; i < n->c; i++)
    g_assert_cmpfloat (n->scale[i], >, 0.0f);
  for (guint i = 0; i < hippo_weights_get_n (w); i++)
    g_assert_true (hippo_weights_get (w, i)->used);
  hippo_graph_free (g);
  hippo_weights_free (w);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/reader-layers/functional", test_functional);
  g_test_add_func ("/reader-layers/same-padding", test_same_padding);
  g_test_add_func ("/reader-layers/sequential", test_sequential);
  g_test_add_func ("/reader-layers/nested", test_nested);
  g_test_add_func ("/reader-layers/nested-in-functional",
                   test_nested_in_functional);
  g_test_add_func ("/reader-layers/errors", test_errors);
  g_test_add_func ("/reader-layers/checks", test_checks);
  g_test_add_func ("/reader-layers/deep-nesting", test_deep_nesting);
  g_test_add_func ("/reader-layers/hostile-json", test_hostile_json);
  g_test_add_func ("/reader-layers/real-mobilenet-v2", test_real_mobilenet);
  g_test_add_func ("/reader-layers/real-inception-v3", test_real_inception);
  return g_test_run ();
}
