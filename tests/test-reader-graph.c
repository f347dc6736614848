/* The TF.js graph-model reader on tiny hand-written models (weights files in
 * a temporary folder) and on the real mobilenet_v2_mid graph model.
 * Numeric checks run the read graph through the engine against values
 * computed by hand or by a direct loop over the TF layouts (HWIO filters,
 * [K][N] matrices); tolerance 1e-5 absolute on small sums. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "hippotag/hippotag.h"
#include "engine/graph.h"
#include "engine/model-private.h"
#include "import/reader.h"
#include "import/weights.h"

#define TOL 1e-5

/* JSON templates: ' stands for ", <WORD> for the base64 of WORD. */
static char *
expand (const char *t)
{
  GString *s = g_string_new (NULL);

  for (const char *p = t; *p; p++)
    {
      if (*p == '\'')
        g_string_append_c (s, '"');
      else if (*p == '<')
        {
          const char *end = strchr (p, '>');
          g_autofree char *word = g_strndup (p + 1, end - p - 1);
          g_autofree char *b64
            = g_base64_encode ((const guchar *)word, strlen (word));

          g_string_append (s, b64);
          p = end;
        }
      else
        g_string_append_c (s, *p);
    }
  return g_string_free (s, FALSE);
}

/* Node builders; all return newly allocated templates. */
static char *
n_input (int h, int w)
{
  return g_strdup_printf ("{'name':'x','op':'Placeholder','attr':{'shape':"
                          "{'shape':{'dim':[{'size':'-1'},{'size':'%d'},"
                          "{'size':'%d'},{'size':'3'}]}},'dtype':{'type':"
                          "'DT_FLOAT'}}}",
                          h, w);
}

static char *
n_const (const char *name)
{
  return g_strdup_printf ("{'name':'%s','op':'Const','attr':{'value':"
                          "{'tensor':{'dtype':'DT_FLOAT'}},'dtype':{'type':"
                          "'DT_FLOAT'}}}",
                          name);
}

/* inputs: "'a','b'"; attrs: the members of attr. */
static char *
n_op (const char *name, const char *op, const char *inputs, const char *attrs)
{
  return g_strdup_printf ("{'name':'%s','op':'%s','input':[%s],'attr':{%s}}",
                          name, op, inputs, attrs ? attrs : "");
}

#define A_T "'T':{'type':'DT_FLOAT'}"
#define A_NHWC "'data_format':{'s':'<NHWC>'}"
#define A_S1 "'strides':{'list':{'i':['1','1','1','1']}}"
#define A_S2 "'strides':{'list':{'i':['1','2','2','1']}}"
#define A_SAME "'padding':{'s':'<SAME>'}"
#define A_VALID "'padding':{'s':'<VALID>'}"
#define CONV_S2_SAME A_T "," A_NHWC "," A_S2 "," A_SAME
#define CONV_S1_VALID A_T "," A_NHWC "," A_S1 "," A_VALID

typedef struct
{
  char *dir;
  GByteArray *bin;
  GString *entries;
  HippoWeights *weights;
  JsonParser *topo;
} Fx;

static void
fx_init (Fx *fx)
{
  g_autoptr (GError) error = NULL;

  memset (fx, 0, sizeof *fx);
  fx->dir = g_dir_make_tmp ("hippo-rgraph-XXXXXX", &error);
  g_assert_no_error (error);
  fx->bin = g_byte_array_new ();
  fx->entries = g_string_new (NULL);
}

static void
fx_clear (Fx *fx)
{
  g_autofree char *bin = g_build_filename (fx->dir, "w.bin", NULL);

  g_unlink (bin);
  g_rmdir (fx->dir);
  g_free (fx->dir);
  g_byte_array_unref (fx->bin);
  g_string_free (fx->entries, TRUE);
  hippo_weights_free (fx->weights);
  g_clear_object (&fx->topo);
}

/* A float32 tensor; shape is JSON, e.g. "[3,3,3,2]" or "[]". */
static void
add_w (Fx *fx, const char *name, const char *shape, const float *v, gsize n)
{
  g_string_append_printf (fx->entries,
                          "%s{\"name\":\"%s\",\"shape\":%s,"
                          "\"dtype\":\"float32\"}",
                          fx->entries->len ? "," : "", name, shape);
  for (gsize i = 0; i < n; i++)
    {
      guint32 u;

      memcpy (&u, &v[i], 4);
      u = GUINT32_TO_LE (u);
      g_byte_array_append (fx->bin, (const guint8 *)&u, 4);
    }
}

/* A tensor of n values a + b * i. */
static void
add_ramp (Fx *fx, const char *name, const char *shape, gsize n, float a,
          float b)
{
  g_autofree float *v = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    v[i] = a + b * i;
  add_w (fx, name, shape, v, n);
}

static void
add_scalar (Fx *fx, const char *name, float v)
{
  add_w (fx, name, "[]", &v, 1);
}

/* Loads the weights and reads the graph made of the node templates (a
 * NULL-terminated list, freed here). */
static HippoGraph *
fx_read (Fx *fx, GError **error, ...)
{
  g_autofree char *bin = g_build_filename (fx->dir, "w.bin", NULL);
  g_autofree char *manifest = NULL;
  g_autoptr (JsonParser) mp = json_parser_new ();
  g_autoptr (GString) t = g_string_new ("{'node':[");
  g_autofree char *json = NULL;
  g_autoptr (GError) local = NULL;
  va_list ap;
  char *node;
  gboolean first = TRUE;

  if (fx->weights == NULL)
    {
      float one = 1;

      add_w (fx, "unused_tensor", "[1]", &one, 1);
      g_assert_true (g_file_set_contents (bin, (const char *)fx->bin->data,
                                          fx->bin->len, NULL));
      manifest = g_strdup_printf ("[{\"paths\":[\"w.bin\"],\"weights\":[%s]}]",
                                  fx->entries->str);
      g_assert_true (json_parser_load_from_data (mp, manifest, -1, NULL));
      fx->weights = hippo_weights_load (
        json_node_get_array (json_parser_get_root (mp)), fx->dir, &local);
      g_assert_no_error (local);
      g_assert_nonnull (fx->weights);
    }

  va_start (ap, error);
  while ((node = va_arg (ap, char *)) != NULL)
    {
      if (!first)
        g_string_append_c (t, ',');
      g_string_append (t, node);
      first = FALSE;
      g_free (node);
    }
  va_end (ap);
  g_string_append (t, "],'versions':{'producer':175}}");
  json = expand (t->str);
  g_clear_object (&fx->topo);
  fx->topo = json_parser_new ();
  if (!json_parser_load_from_data (fx->topo, json, -1, &local))
    g_error ("test JSON does not parse: %s\n%s", local->message, json);
  return hippo_read_graph_model (
    json_node_get_object (json_parser_get_root (fx->topo)), fx->weights, error);
}

static HippoNode *
node_named (HippoGraph *g, const char *name)
{
  const HippoLayerRef *ref = hippo_graph_find (g, name, NULL);

  g_assert_nonnull (ref);
  return g_ptr_array_index (g->nodes, ref->node);
}

/* The reader's own shapes must equal what shape inference computes. */
static void
check_shapes (HippoGraph *g)
{
  guint n = g->nodes->len;
  g_autofree int *s = g_new (int, 3 * n);
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < n; i++)
    {
      HippoNode *node = g_ptr_array_index (g->nodes, i);
      s[3 * i] = node->h, s[3 * i + 1] = node->w, s[3 * i + 2] = node->c;
    }
  g_assert_true (hippo_graph_infer_shapes (g, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      HippoNode *node = g_ptr_array_index (g->nodes, i);

      if (node->h != s[3 * i] || node->w != s[3 * i + 1]
          || node->c != s[3 * i + 2])
        g_error ("node %s: reader shape %dx%dx%d, inferred %dx%dx%d",
                 node->name, s[3 * i], s[3 * i + 1], s[3 * i + 2], node->h,
                 node->w, node->c);
    }
}

/* Runs the graph (ownership taken) and returns the pooled output of layer
 * (dim values). */
static float *
run (HippoGraph *g, const char *layer, const float *input, guint *dim)
{
  HippoSessionParams p;
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoSession) s = NULL;
  g_autoptr (HippoModel) m = hippo_model_new_for_graph (g, "t", &error);
  float *out;

  g_assert_no_error (error);
  hippo_session_params_default (&p);
  p.layers = layer;
  p.max_batch = 1;
  p.n_threads = 1;
  s = hippo_session_new (m, &p, &error);
  g_assert_no_error (error);
  *dim = hippo_session_get_dim (s);
  out = g_new (float, *dim);
  g_assert_true (hippo_session_run (s, input, 1, out, &error));
  g_assert_no_error (error);
  return out;
}

static void
test_conv_padding (void)
{
  Fx fx;
  g_autoptr (GError) error = NULL;
  HippoGraph *g;
  HippoNode *n;

  /* 5x5: SAME stride 2 -> total 2 -> (1, 1), output 3x3. */
  fx_init (&fx);
  add_ramp (&fx, "w", "[3,3,3,2]", 54, -1, 0.03f);
  g = fx_read (
    &fx, &error, n_input (5, 5), n_const ("w"),
    n_op ("same", "Conv2D", "'x','w'", CONV_S2_SAME),
    n_op ("valid", "Conv2D", "'x','w'", CONV_S1_VALID),
    n_op ("explicit", "Conv2D", "'x','w'",
          A_T "," A_S1 ",'padding':{'s':'<EXPLICIT>'},"
              "'explicit_paddings':{'list':{'i':['0','0','2','1','0','3',"
              "'0','0']}}"),
    n_op ("dilated", "Conv2D", "'x','w'",
          A_T "," A_S1 "," A_SAME
              ",'dilations':{'list':{'i':['1','2','2','1']}}"),
    NULL);
  g_assert_no_error (error);
  g_assert_nonnull (g);
  n = node_named (g, "same");
  g_assert_cmpint (n->op, ==, HIPPO_OP_CONV);
  g_assert_cmpstr (n->type, ==, "Conv2D");
  g_assert_cmpint (n->pad_t, ==, 1);
  g_assert_cmpint (n->pad_b, ==, 1);
  g_assert_cmpint (n->pad_l, ==, 1);
  g_assert_cmpint (n->pad_r, ==, 1);
  g_assert_cmpint (n->sh, ==, 2);
  g_assert_cmpint (n->h, ==, 3);
  g_assert_cmpint (n->c, ==, 2);
  g_assert_cmpint (n->cin, ==, 3);
  g_assert_cmpint (n->kh, ==, 3);
  g_assert_null (n->bias);
  g_assert_cmpint (n->act, ==, HIPPO_ACT_NONE);
  n = node_named (g, "valid");
  g_assert_cmpint (n->pad_t + n->pad_b + n->pad_l + n->pad_r, ==, 0);
  g_assert_cmpint (n->h, ==, 3);
  n = node_named (g, "explicit");
  g_assert_cmpint (n->pad_t, ==, 2);
  g_assert_cmpint (n->pad_b, ==, 1);
  g_assert_cmpint (n->pad_l, ==, 0);
  g_assert_cmpint (n->pad_r, ==, 3);
  g_assert_cmpint (n->h, ==, 6);
  g_assert_cmpint (n->w, ==, 6);
  n = node_named (g, "dilated"); /* effective kernel 5: total 4 */
  g_assert_cmpint (n->dh, ==, 2);
  g_assert_cmpint (n->pad_t, ==, 2);
  g_assert_cmpint (n->pad_b, ==, 2);
  g_assert_cmpint (n->h, ==, 5);
  g_assert_cmpint (g->in_h, ==, 5);
  g_assert_cmpint (g->in_c, ==, 3);
  /* the last unconsumed node is the output */
  g_assert_cmpint (g->output, ==, g->nodes->len - 1);
  check_shapes (g);
  hippo_graph_free (g);
  fx_clear (&fx);

  /* 6x4: SAME stride 2 -> total 1 -> (0, 1) on both axes; output 3x2. */
  fx_init (&fx);
  add_ramp (&fx, "w", "[3,3,3,2]", 54, -1, 0.03f);
  g = fx_read (&fx, &error, n_input (6, 4), n_const ("w"),
               n_op ("same", "Conv2D", "'x','w'", CONV_S2_SAME), NULL);
  g_assert_no_error (error);
  n = node_named (g, "same");
  g_assert_cmpint (n->pad_t, ==, 0);
  g_assert_cmpint (n->pad_b, ==, 1);
  g_assert_cmpint (n->pad_l, ==, 0);
  g_assert_cmpint (n->pad_r, ==, 1);
  g_assert_cmpint (n->h, ==, 3);
  g_assert_cmpint (n->w, ==, 2);
  check_shapes (g);
  hippo_graph_free (g);
  fx_clear (&fx);
}

/* Conv2D 2x2 'valid' on a 2x2x3 input: one output pixel, checked against a
 * direct loop over the HWIO filter. */
static void
test_conv_values (void)
{
  Fx fx;
  g_autoptr (GError) error = NULL;
  HippoGraph *g;
  float w[24], in[12], want[2] = { 0, 0 };
  g_autofree float *out = NULL;
  guint dim;

  for (int i = 0; i < 24; i++)
    w[i] = (i % 7) - 3;
  for (int i = 0; i < 12; i++)
    in[i] = i * 0.5f - 2;
  for (int ky = 0; ky < 2; ky++)
    for (int kx = 0; kx < 2; kx++)
      for (int ci = 0; ci < 3; ci++)
        for (int co = 0; co < 2; co++)
          want[co] += in[(ky * 2 + kx) * 3 + ci]
                      * w[((ky * 2 + kx) * 3 + ci) * 2 + co];
  fx_init (&fx);
  add_w (&fx, "w", "[2,2,3,2]", w, 24);
  g = fx_read (&fx, &error, n_input (2, 2), n_const ("w"),
               n_op ("c", "Conv2D", "'x','w'", CONV_S1_VALID), NULL);
  g_assert_no_error (error);
  out = run (g, "c", in, &dim);
  g_assert_cmpuint (dim, ==, 2);
  g_assert_cmpfloat_with_epsilon (out[0], want[0], TOL);
  g_assert_cmpfloat_with_epsilon (out[1], want[1], TOL);
  fx_clear (&fx);
}

/* _FusedConv2D 1x1 [BiasAdd, Relu6] on a 1x1 input [1, 2, 3]: pre-activations
 * -5, 3, 10, 0.5 -> 0, 3, 6, 0.5. */
static void
test_fused_conv_relu6 (void)
{
  Fx fx;
  g_autoptr (GError) error = NULL;
  HippoGraph *g;
  HippoNode *n;
  const float w[12] = { -1, 1, 0, 0, -1, 1, 0, 0, -1, 0, 3, 0 };
  const float b[4] = { 1, 0, 1, 0.5f };
  const float in[3] = { 1, 2, 3 };
  const float want[4] = { 0, 3, 6, 0.5f };
  g_autofree float *out = NULL;
  guint dim;

  fx_init (&fx);
  add_w (&fx, "w", "[1,1,3,4]", w, 12);
  add_w (&fx, "b", "[4]", b, 4);
  g = fx_read (&fx, &error, n_input (1, 1), n_const ("w"), n_const ("b"),
               n_op ("c/Relu6", "_FusedConv2D", "'x','w','b'",
                     CONV_S1_VALID ",'num_args':{'i':'1'},'epsilon':{'f':0},"
                                   "'fused_ops':{'list':{'s':['<BiasAdd>',"
                                   "'<Relu6>']}},'explicit_paddings':"
                                   "{'list':{}},'use_cudnn_on_gpu':{'b':true}"),
               NULL);
  g_assert_no_error (error);
  n = node_named (g, "c/Relu6");
  g_assert_cmpint (n->op, ==, HIPPO_OP_CONV);
  g_assert_cmpint (n->act, ==, HIPPO_ACT_CLAMP);
  g_assert_cmpfloat (n->act_lo, ==, 0);
  g_assert_cmpfloat (n->act_hi, ==, 6);
  g_assert_nonnull (n->bias);
  g_assert_cmpfloat (n->bias[3], ==, 0.5f);
  check_shapes (g);
  out = run (g, "c/Relu6", in, &dim);
  g_assert_cmpuint (dim, ==, 4);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (out[i], want[i], TOL);
  fx_clear (&fx);
}

/* _FusedConv2D [FusedBatchNorm, Relu]: the BN is applied to the weights:
 * s = gamma / sqrt(var + eps), w' = w * s, bias = beta - mean * s. */
static void
test_fused_conv_bn (void)
{
  Fx fx;
  g_autoptr (GError) error = NULL;
  HippoGraph *g;
  HippoNode *n;
  const float w[6] = { 1, 2, 3, 4, 5, 6 };
  const float gamma[2] = { 2, 0.5f }, beta[2] = { 1, -1 };
  const float mean[2] = { 0.5f, 2 }, var[2] = { 3, 0.25f };
  const double eps = 1e-3;

  fx_init (&fx);
  add_w (&fx, "w", "[1,1,3,2]", w, 6);
  add_w (&fx, "g", "[2]", gamma, 2);
  add_w (&fx, "be", "[2]", beta, 2);
  add_w (&fx, "m", "[2]", mean, 2);
  add_w (&fx, "v", "[2]", var, 2);
  g = fx_read (&fx, &error, n_input (3, 3), n_const ("w"), n_const ("g"),
               n_const ("be"), n_const ("m"), n_const ("v"),
               n_op ("c", "_FusedConv2D", "'x','w','g','be','m','v'",
                     CONV_S1_VALID ",'num_args':{'i':'4'},'epsilon':"
                                   "{'f':0.001},'fused_ops':{'list':{'s':"
                                   "['<FusedBatchNorm>','<Relu>']}}"),
               NULL);
  g_assert_no_error (error);
  n = node_named (g, "c");
  g_assert_cmpint (n->act, ==, HIPPO_ACT_CLAMP);
  g_assert_cmpfloat (n->act_lo, ==, 0);
  g_assert_true (isinf (n->act_hi));
  for (int o = 0; o < 2; o++)
    {
      double s = gamma[o] / sqrt (var[o] + eps);

      g_assert_cmpfloat_with_epsilon (n->bias[o], beta[o] - mean[o] * s, TOL);
      for (int k = 0; k < 3; k++)
        g_assert_cmpfloat_with_epsilon (n->weights[k * 2 + o], w[k * 2 + o] * s,
                                        TOL);
    }
  check_shapes (g);
  hippo_graph_free (g);
  fx_clear (&fx);
}

/* Depthwise with multiplier 2: output channel ci*2+j = in[ci] * w[ci][j]
 * + bias, then Relu6: input [1, 2, 3], w 1..6, bias -2 0 0 -3 -10 -13:
 * pre -1 2 6 5 5 5. Also the stride-2 SAME shapes. */
static void
test_depthwise (void)
{
  Fx fx;
  g_autoptr (GError) error = NULL;
  HippoGraph *g;
  HippoNode *n;
  const float b[6] = { -2, 0, 0, -3, -10, -13 };
  const float in[3] = { 1, 2, 3 };
  const float want[6] = { 0, 2, 6, 5, 5, 5 };
  g_autofree float *out = NULL;
  guint dim;

  fx_init (&fx);
  add_ramp (&fx, "w3", "[3,3,3,2]", 54, 0, 0.1f);
  g = fx_read (&fx, &error, n_input (4, 4), n_const ("w3"),
               n_op ("dw", "DepthwiseConv2dNative", "'x','w3'",
                     CONV_S2_SAME
                     ",'dilations':{'list':{'i':['1','1','1','1']}}"),
               NULL);
  g_assert_no_error (error);
  n = node_named (g, "dw");
  g_assert_cmpint (n->op, ==, HIPPO_OP_DWCONV);
  g_assert_cmpint (n->mult, ==, 2);
  g_assert_cmpint (n->cin, ==, 3);
  g_assert_cmpint (n->c, ==, 6);
  g_assert_cmpint (n->pad_t, ==, 0);
  g_assert_cmpint (n->pad_b, ==, 1);
  g_assert_cmpint (n->h, ==, 2);
  g_assert_cmpfloat_with_epsilon (n->weights[53], 5.3, TOL);
  check_shapes (g);
  hippo_graph_free (g);
  fx_clear (&fx);

  fx_init (&fx);
  add_ramp (&fx, "w", "[1,1,3,2]", 6, 1, 1);
  add_w (&fx, "b", "[6]", b, 6);
  g = fx_read (&fx, &error, n_input (1, 1), n_const ("w"), n_const ("b"),
               n_op ("dw", "FusedDepthwiseConv2dNative", "'x','w','b'",
                     CONV_S1_VALID ",'num_args':{'i':'1'},'fused_ops':"
                                   "{'list':{'s':['<BiasAdd>','<Relu6>']}}"),
               NULL);
  g_assert_no_error (error);
  check_shapes (g);
  out = run (g, "dw", in, &dim);
  g_assert_cmpuint (dim, ==, 6);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat_with_epsilon (out[i], want[i], TOL);
  fx_clear (&fx);
}

/* Mean over [1, 2] -> [1, 2, 3] (per-channel constant input); _FusedMatMul
 * with transpose_b: W (2x3) = [[1, 0, -1], [2, 1, 0]], bias [0.5, -1]:
 * [-1.5, 3]; then Softmax. */
static void
test_matmul (void)
{
  Fx fx;
  g_autoptr (GError) error = NULL;
  HippoGraph *g;
  HippoNode *n;
  const float w[6] = { 1, 0, -1, 2, 1, 0 };
  const float b[2] = { 0.5f, -1 };
  const float axes[2] = { 1, 2 };
  float in[12];
  g_autofree float *out = NULL;
  g_autofree float *sm = NULL;
  guint dim;
  double e0 = exp (-1.5), e1 = exp (3);

  for (int i = 0; i < 4; i++)
    in[i * 3] = 1, in[i * 3 + 1] = 2, in[i * 3 + 2] = 3;
  for (int round = 0; round < 2; round++)
    {
      fx_init (&fx);
      add_w (&fx, "w", "[2,3]", w, 6);
      add_w (&fx, "b", "[2]", b, 2);
      add_w (&fx, "axes", "[2]", axes, 2);
      g = fx_read (
        &fx, &error, n_input (2, 2), n_const ("w"), n_const ("b"),
        n_const ("axes"),
        n_op ("mean", "Mean", "'x','axes'",
              A_T ",'keep_dims':{'b':false},'Tidx':{'type':'DT_INT32'}"),
        n_op ("m", "_FusedMatMul", "'mean','w','b'",
              A_T ",'transpose_a':{'b':false},'transpose_b':{'b':true},"
                  "'num_args':{'i':'1'},'epsilon':{'f':0},'fused_ops':"
                  "{'list':{'s':['<BiasAdd>']}}"),
        n_op ("sm", "Softmax", "'m'", A_T), NULL);
      g_assert_no_error (error);
      n = node_named (g, "mean");
      g_assert_cmpint (n->op, ==, HIPPO_OP_GAP);
      n = node_named (g, "m");
      g_assert_cmpint (n->op, ==, HIPPO_OP_CONV);
      g_assert_cmpint (n->kh, ==, 1);
      g_assert_cmpint (n->cin, ==, 3);
      g_assert_cmpint (n->c, ==, 2);
      /* transposed at load into [K][N] */
      for (int k = 0; k < 3; k++)
        for (int j = 0; j < 2; j++)
          g_assert_cmpfloat (n->weights[k * 2 + j], ==, w[j * 3 + k]);
      g_assert_cmpint (node_named (g, "sm")->op, ==, HIPPO_OP_SOFTMAX);
      g_assert_cmpint (g->output, ==, g->nodes->len - 1);
      check_shapes (g);
      if (round == 0)
        {
          out = run (g, "m", in, &dim);
          g_assert_cmpuint (dim, ==, 2);
          g_assert_cmpfloat_with_epsilon (out[0], -1.5, TOL);
          g_assert_cmpfloat_with_epsilon (out[1], 3, TOL);
        }
      else
        {
          sm = run (g, "sm", in, &dim);
          g_assert_cmpuint (dim, ==, 2);
          g_assert_cmpfloat_with_epsilon (sm[0], e0 / (e0 + e1), TOL);
          g_assert_cmpfloat_with_epsilon (sm[1], e1 / (e0 + e1), TOL);
        }
      fx_clear (&fx);
    }

  /* Plain MatMul, [K][N] as stored; a 4-D input is refused. */
  fx_init (&fx);
  add_w (&fx, "w", "[3,2]", w, 6);
  add_w (&fx, "axes", "[2]", axes, 2);
  g = fx_read (&fx, &error, n_input (2, 2), n_const ("w"), n_const ("axes"),
               n_op ("mean", "Mean", "'x','axes'", A_T),
               n_op ("m", "MatMul", "'mean','w'", A_T), NULL);
  g_assert_no_error (error);
  n = node_named (g, "m");
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (n->weights[i], ==, w[i]);
  check_shapes (g);
  hippo_graph_free (g);
  g = fx_read (&fx, &error, n_input (2, 2), n_const ("w"),
               n_op ("m", "MatMul", "'x','w'", A_T), NULL);
  g_assert_null (g);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "2-D"));
  fx_clear (&fx);
}

/* Element-wise ops with constants, on a 1x1 input [1, 2, 3]:
 * Mul(2, x) = 2 4 6; Sub(., [1 2 3]) = 1 2 3; Sub(10, .) = 9 8 7;
 * RealDiv(., [4 2 0.5]) = 2.25 4 14; AddV2(., x) = 3.25 6 17;
 * BiasAdd(., [1 1 1]) = 4.25 7 18. */
static void
test_elementwise (void)
{
  Fx fx;
  g_autoptr (GError) error = NULL;
  HippoGraph *g;
  HippoNode *n;
  const float v[3] = { 1, 2, 3 }, d[3] = { 4, 2, 0.5f }, ones[3] = { 1, 1, 1 };
  const float in[3] = { 1, 2, 3 };
  const float want[3] = { 4.25f, 7, 18 };
  g_autofree float *out = NULL;
  guint dim;

  fx_init (&fx);
  add_scalar (&fx, "k2", 2);
  add_w (&fx, "v", "[3]", v, 3);
  add_scalar (&fx, "k10", 10);
  add_w (&fx, "d", "[1,1,1,3]", d, 3);
  add_w (&fx, "ones", "[3]", ones, 3);
  g = fx_read (&fx, &error, n_const ("k2"), n_const ("v"), n_const ("k10"),
               n_const ("d"), n_const ("ones"), n_input (1, 1),
               n_op ("mul", "Mul", "'k2','x'", A_T),
               n_op ("sub", "Sub", "'mul','v'", A_T),
               n_op ("rsub", "Sub", "'k10','sub'", A_T),
               n_op ("div", "RealDiv", "'rsub','d'", A_T),
               n_op ("add", "AddV2", "'div','x'", A_T),
               n_op ("bias", "BiasAdd", "'add','ones'", A_T "," A_NHWC), NULL);
  g_assert_no_error (error);
  n = node_named (g, "mul");
  g_assert_cmpint (n->op, ==, HIPPO_OP_AFFINE);
  g_assert_cmpfloat (n->scale[2], ==, 2);
  g_assert_cmpfloat (n->shift[2], ==, 0);
  n = node_named (g, "sub");
  g_assert_cmpfloat (n->scale[1], ==, 1);
  g_assert_cmpfloat (n->shift[1], ==, -2);
  n = node_named (g, "rsub");
  g_assert_cmpfloat (n->scale[0], ==, -1);
  g_assert_cmpfloat (n->shift[0], ==, 10);
  n = node_named (g, "div");
  g_assert_cmpfloat (n->scale[2], ==, 2);
  n = node_named (g, "add");
  g_assert_cmpint (n->op, ==, HIPPO_OP_ADD);
  g_assert_cmpint (n->n_inputs, ==, 2);
  g_assert_cmpint (n->inputs[1], ==, 0);
  g_assert_cmpint (node_named (g, "bias")->op, ==, HIPPO_OP_AFFINE);
  check_shapes (g);
  out = run (g, "bias", in, &dim);
  g_assert_cmpuint (dim, ==, 3);
  for (int i = 0; i < 3; i++)
    g_assert_cmpfloat_with_epsilon (out[i], want[i], TOL);
  fx_clear (&fx);

  /* Division by a zero constant; a constant that does not broadcast per
   * channel; two constants; Mul of two tensors. */
  fx_init (&fx);
  {
    const float z[3] = { 1, 0, 2 };
    const float col[3] = { 1, 2, 3 };

    add_w (&fx, "z", "[3]", z, 3);
    add_w (&fx, "col", "[3,1]", col, 3);
    add_scalar (&fx, "k", 3);
  }
  g = fx_read (&fx, &error, n_const ("z"), n_input (2, 2),
               n_op ("div", "RealDiv", "'x','z'", A_T), NULL);
  g_assert_null (g);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
  g_assert_nonnull (strstr (error->message, "zero"));
  g_clear_error (&error);
  g = fx_read (&fx, &error, n_const ("col"), n_input (2, 2),
               n_op ("mul", "Mul", "'x','col'", A_T), NULL);
  g_assert_null (g);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "col"));
  g_clear_error (&error);
  g = fx_read (&fx, &error, n_const ("k"), n_input (2, 2),
               n_op ("kk", "Mul", "'k','k'", A_T),
               n_op ("y", "Mul", "'x','kk'", A_T), NULL);
  g_assert_null (g);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "constant folding"));
  g_assert_nonnull (strstr (error->message, "'kk'"));
  g_clear_error (&error);
  g = fx_read (&fx, &error, n_input (2, 2), n_op ("sq", "Mul", "'x','x'", A_T),
               NULL);
  g_assert_null (g);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_UNSUPPORTED);
  fx_clear (&fx);
}

/* Mean keep_dims true/false, axes [1, 2] or [-3, -2]; a 2-D result cannot
 * feed a conv; other axes are refused. */
static void
test_mean (void)
{
  Fx fx;
  g_autoptr (GError) error = NULL;
  HippoGraph *g;
  HippoNode *n;
  const float ax[2] = { 1, 2 }, neg[2] = { -3, -2 }, ch[1] = { 3 };

  fx_init (&fx);
  add_w (&fx, "ax", "[2]", ax, 2);
  add_w (&fx, "neg", "[2]", neg, 2);
  add_w (&fx, "ch", "[1]", ch, 1);
  add_ramp (&fx, "w", "[1,1,3,4]", 12, 0, 1);
  g = fx_read (&fx, &error, n_input (4, 5), n_const ("ax"), n_const ("neg"),
               n_const ("w"),
               n_op ("keep", "Mean", "'x','ax'", A_T ",'keep_dims':{'b':true}"),
               n_op ("conv", "Conv2D", "'keep','w'", CONV_S1_VALID),
               n_op ("flat", "Mean", "'x','neg'", A_T), NULL);
  g_assert_no_error (error);
  n = node_named (g, "keep");
  g_assert_cmpint (n->op, ==, HIPPO_OP_GAP);
  g_assert_cmpint (n->h, ==, 1);
  g_assert_cmpint (n->w, ==, 1);
  g_assert_cmpint (n->c, ==, 3);
  g_assert_cmpint (node_named (g, "conv")->c, ==, 4);
  g_assert_cmpint (node_named (g, "flat")->op, ==, HIPPO_OP_GAP);
  check_shapes (g);
  hippo_graph_free (g);

  g = fx_read (&fx, &error, n_input (4, 5), n_const ("ax"), n_const ("w"),
               n_op ("flat", "Mean", "'x','ax'", A_T),
               n_op ("conv", "Conv2D", "'flat','w'", CONV_S1_VALID), NULL);
  g_assert_null (g);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "4-D"));
  g_clear_error (&error);

  g = fx_read (&fx, &error, n_input (4, 5), n_const ("ch"),
               n_op ("m", "Mean", "'x','ch'", A_T), NULL);
  g_assert_null (g);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_UNSUPPORTED);
  fx_clear (&fx);
}

/* ConcatV2 (axis last), Pad, pools, Squeeze, Reshape, activations,
 * Identity aliases, nodes out of order with control and ":0" inputs. */
static void
test_shape_ops (void)
{
  Fx fx;
  g_autoptr (GError) error = NULL;
  HippoGraph *g;
  HippoNode *n;
  const float three = 3, minus1 = -1, one = 1;
  const float pads[8] = { 0, 0, 1, 2, 0, 1, 0, 0 };
  const float flat[2] = { -1, 24 }, bad[2] = { -1, 5 };
  const float ax[2] = { 1, 2 };
  const HippoLayerRef *ref;

  fx_init (&fx);
  add_w (&fx, "axis", "[]", &three, 1);
  add_w (&fx, "axis_m1", "[]", &minus1, 1);
  add_w (&fx, "axis_1", "[]", &one, 1);
  add_w (&fx, "pads", "[4,2]", pads, 8);
  add_w (&fx, "flat", "[2]", flat, 2);
  add_w (&fx, "bad", "[2]", bad, 2);
  add_w (&fx, "ax", "[2]", ax, 2);
  /* listed backwards on purpose */
  g = fx_read (
    &fx, &error, n_op ("Identity", "Identity", "'sq'", A_T),
    n_op ("sq", "Squeeze", "'gap:0'",
          A_T ",'squeeze_dims':{'list':{'i':['1','2']}}"),
    n_op ("gap", "Mean", "'cat2','ax'", A_T ",'keep_dims':{'b':true}"),
    n_op ("reshape", "Reshape", "'cat','flat'", A_T),
    n_op ("cat2", "ConcatV2", "'cat','r','axis_m1'",
          A_T ",'N':{'i':'2'},'Tidx':{'type':'DT_INT32'}"),
    n_op ("cat", "ConcatV2", "'x','r','axis','^r'", A_T),
    n_op ("r", "Relu6", "'x'", A_T), n_op ("s", "Sigmoid", "'x'", A_T),
    n_op ("t", "Tanh", "'id'", A_T), n_op ("id", "StopGradient", "'x'", A_T),
    n_op ("pad", "Pad", "'x','pads'", A_T),
    n_op ("avg", "AvgPool", "'pad'",
          A_T "," A_NHWC "," A_S2 "," A_SAME
              ",'ksize':{'list':{'i':['1','3','3','1']}}"),
    n_op ("max", "MaxPool", "'x'",
          A_T "," A_S2 "," A_VALID ",'ksize':{'list':{'i':['1','2','2','1']}}"),
    n_op ("nop", "NoOp", "'^x'", NULL), n_const ("axis"), n_const ("axis_m1"),
    n_const ("pads"), n_const ("flat"), n_const ("ax"), n_input (2, 2), NULL);
  g_assert_no_error (error);
  g_assert_nonnull (g);
  n = g_ptr_array_index (g->nodes, 0);
  g_assert_cmpint (n->op, ==, HIPPO_OP_INPUT);
  g_assert_cmpstr (n->name, ==, "x");
  n = node_named (g, "cat");
  g_assert_cmpint (n->op, ==, HIPPO_OP_CONCAT);
  g_assert_cmpint (n->c, ==, 6);
  g_assert_cmpint (n->n_inputs, ==, 2);
  g_assert_cmpint (node_named (g, "cat2")->c, ==, 9);
  n = node_named (g, "reshape");
  g_assert_cmpint (n->op, ==, HIPPO_OP_RESHAPE);
  g_assert_cmpint (n->c, ==, 24);
  n = node_named (g, "sq");
  g_assert_cmpint (n->op, ==, HIPPO_OP_RESHAPE);
  g_assert_cmpint (n->c, ==, 9);
  n = node_named (g, "r");
  g_assert_cmpint (n->op, ==, HIPPO_OP_ACT);
  g_assert_cmpint (n->act, ==, HIPPO_ACT_CLAMP);
  g_assert_cmpfloat (n->act_hi, ==, 6);
  g_assert_cmpint (node_named (g, "s")->act, ==, HIPPO_ACT_SIGMOID);
  g_assert_cmpint (node_named (g, "t")->act, ==, HIPPO_ACT_TANH);
  /* aliases point at their input's node */
  ref = hippo_graph_find (g, "id", NULL);
  g_assert_nonnull (ref);
  g_assert_cmpint (ref->node, ==, 0);
  ref = hippo_graph_find (g, "Identity", NULL);
  g_assert_nonnull (ref);
  g_assert_cmpint (g->output, ==, ref->node);
  g_assert_true (node_named (g, "Identity") == node_named (g, "sq"));
  g_assert_null (hippo_graph_find (g, "nop", NULL));
  n = node_named (g, "pad");
  g_assert_cmpint (n->op, ==, HIPPO_OP_PAD);
  g_assert_cmpint (n->pad_t, ==, 1);
  g_assert_cmpint (n->pad_b, ==, 2);
  g_assert_cmpint (n->pad_l, ==, 0);
  g_assert_cmpint (n->pad_r, ==, 1);
  g_assert_cmpint (n->h, ==, 5);
  g_assert_cmpint (n->w, ==, 3);
  n = node_named (g, "avg"); /* 5x3, k3 s2 SAME: pads (1,1) and (1,1) */
  g_assert_cmpint (n->op, ==, HIPPO_OP_AVGPOOL);
  g_assert_cmpint (n->pad_t, ==, 1);
  g_assert_cmpint (n->pad_r, ==, 1);
  g_assert_cmpint (n->h, ==, 3);
  g_assert_cmpint (n->w, ==, 2);
  n = node_named (g, "max");
  g_assert_cmpint (n->op, ==, HIPPO_OP_MAXPOOL);
  g_assert_cmpint (n->h, ==, 1);
  check_shapes (g);
  hippo_graph_free (g);

  /* Refused: concat along another axis, an impossible reshape, squeezing
   * a spatial axis of size 2. */
  g = fx_read (&fx, &error, n_const ("axis_1"), n_input (2, 2),
               n_op ("cat", "ConcatV2", "'x','x','axis_1'", A_T), NULL);
  g_assert_null (g);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "axis 1"));
  g_clear_error (&error);
  g = fx_read (&fx, &error, n_const ("bad"), n_input (2, 2),
               n_op ("rs", "Reshape", "'x','bad'", A_T), NULL);
  g_assert_null (g);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "[-1, 5]"));
  g_clear_error (&error);
  g = fx_read (
    &fx, &error, n_input (2, 2),
    n_op ("sq", "Squeeze", "'x'", "'squeeze_dims':{'list':{'i':['1','2']}}"),
    NULL);
  g_assert_null (g);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
  fx_clear (&fx);
}

/* Read must fail with the given code and a message containing all the
 * given words. */
static void
expect_error (HippoGraph *g, GError *error, int code, const char *w1,
              const char *w2)
{
  if (g != NULL)
    g_error ("reading succeeded; expected error code %d", code);
  g_assert_nonnull (error);
  if (error->code != code || (w1 && !strstr (error->message, w1))
      || (w2 && !strstr (error->message, w2)))
    g_error ("got code %d '%s'; expected code %d with '%s' '%s'", error->code,
             error->message, code, w1 ? w1 : "", w2 ? w2 : "");
}

static void
test_errors (void)
{
  Fx fx;
  GError *error = NULL;
  HippoGraph *g;

  fx_init (&fx);
  add_ramp (&fx, "w", "[3,3,3,2]", 54, -1, 0.03f);
  add_ramp (&fx, "w2", "[3,3,2,2]", 36, -1, 0.03f);
  {
    const float ax[2] = { 1, 2 };

    add_w (&fx, "ax", "[2]", ax, 2);
  }

#define EXPECT(code, w1, w2, ...)                                              \
  do                                                                           \
    {                                                                          \
      g = fx_read (&fx, &error, __VA_ARGS__, NULL);                            \
      expect_error (g, error, code, w1, w2);                                   \
      g_clear_error (&error);                                                  \
    }                                                                          \
  while (0)

  /* an unknown op, named with its node */
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "'Erf'", "'gelu/erf'", n_input (4, 4),
          n_op ("gelu/erf", "Erf", "'x'", A_T));
  /* a cycle */
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "cycle", NULL, n_input (4, 4),
          n_op ("a", "Relu", "'x','b'", A_T), n_op ("b", "Relu", "'a'", A_T),
          n_op ("c", "Relu", "'b'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "cycle", "'self'", n_input (4, 4),
          n_op ("self", "Relu", "'self'", A_T));
  /* a missing input, named */
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "'nowhere'", "does not exist",
          n_input (4, 4), n_op ("a", "Relu", "'nowhere'", A_T));
  /* a second output of a node */
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "output 1", NULL, n_input (4, 4),
          n_op ("a", "Relu", "'x:1'", A_T));
  /* base64 garbage */
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "'padding'", "base64", n_input (4, 4),
          n_const ("w"),
          n_op ("c", "Conv2D", "'x','w'",
                A_T "," A_S1 ",'padding':{'s':'@@not base64!'}"));
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "'padding'", "base64", n_input (4, 4),
          n_const ("w"),
          n_op ("c", "Conv2D", "'x','w'",
                A_T "," A_S1 ",'padding':{'s':'AAECAw=='}"));
  EXPECT (
    HIPPO_ERROR_MODEL_UNSUPPORTED, "'HALF'", NULL, n_input (4, 4),
    n_const ("w"),
    n_op ("c", "Conv2D", "'x','w'", A_T "," A_S1 ",'padding':{'s':'<HALF>'}"));
  /* attrs of the wrong type, missing, malformed */
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "'c'", "'strides'", n_input (4, 4),
          n_const ("w"),
          n_op ("c", "Conv2D", "'x','w'",
                A_T "," A_SAME ",'strides':{'s':'<SAME>'}"));
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "'c'", "'strides'", n_input (4, 4),
          n_const ("w"),
          n_op ("c", "Conv2D", "'x','w'",
                A_T "," A_SAME ",'strides':{'list':{'i':['1','x','1','1']}}"));
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "'c'", "'strides'", n_input (4, 4),
          n_const ("w"),
          n_op ("c", "Conv2D", "'x','w'", A_T "," A_SAME ",'strides':3"));
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "'c'", "'strides' is missing",
          n_input (4, 4), n_const ("w"),
          n_op ("c", "Conv2D", "'x','w'", A_T "," A_SAME));
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "'keep_dims'", NULL, n_input (4, 4),
          n_const ("ax"),
          n_op ("m", "Mean", "'x','ax'", "'keep_dims':{'b':1}"));
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "'transpose_b'", NULL, n_input (4, 4),
          n_const ("w"),
          n_op ("m", "MatMul", "'x','w'", "'transpose_b':{'b':'yes'}"));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "NCHW", NULL, n_input (4, 4),
          n_const ("w"),
          n_op ("c", "Conv2D", "'x','w'",
                A_T "," A_S1 "," A_VALID ",'data_format':{'s':'<NCHW>'}"));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "DT_HALF", NULL, n_input (4, 4),
          n_op ("r", "Relu", "'x'", "'T':{'type':'DT_HALF'}"));
  /* unsupported fused ops and shapes */
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "'LeakyRelu'", NULL, n_input (4, 4),
          n_const ("w"), n_const ("w2"),
          n_op ("c", "_FusedConv2D", "'x','w','w2'",
                CONV_S1_VALID ",'num_args':{'i':'1'},'fused_ops':{'list':"
                              "{'s':['<BiasAdd>','<LeakyRelu>']}}"));
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "num_args", NULL, n_input (4, 4),
          n_const ("w"),
          n_op ("c", "_FusedConv2D", "'x','w'",
                CONV_S1_VALID ",'num_args':{'i':'1'},'fused_ops':{'list':"
                              "{'s':['<BiasAdd>']}}"));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "2 input channels", NULL, n_input (4, 4),
          n_const ("w2"), n_op ("c", "Conv2D", "'x','w2'", CONV_S1_VALID));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "transpose_a", NULL, n_input (1, 1),
          n_const ("w"),
          n_op ("m", "MatMul", "'x','w'", "'transpose_a':{'b':true}"));
  /* the input */
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "input size unknown", NULL,
          g_strdup ("{'name':'x','op':'Placeholder','attr':{'shape':{'shape':"
                    "{'dim':[{'size':'-1'},{'size':'-1'},{'size':'-1'},"
                    "{'size':'3'}]}}}}"),
          n_op ("r", "Relu", "'x'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "input size unknown", NULL,
          g_strdup ("{'name':'x','op':'Placeholder','attr':{}}"));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "several inputs", NULL, n_input (4, 4),
          g_strdup ("{'name':'y','op':'Placeholder','attr':{'shape':{'shape':"
                    "{'dim':[{'size':'1'},{'size':'2'},{'size':'2'},"
                    "{'size':'3'}]}}}}"));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "no input", NULL, n_const ("w"));
  /* a constant missing from the manifest */
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "ghost", NULL, n_input (4, 4),
          n_const ("ghost"),
          n_op ("c", "Conv2D", "'x','ghost'", CONV_S1_VALID));
  /* JSON of the wrong shapes */
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, NULL, NULL, g_strdup ("3"));
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "no name", NULL,
          g_strdup ("{'name':7,'op':'Relu'}"));
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "'input'", NULL, n_input (4, 4),
          g_strdup ("{'name':'r','op':'Relu','input':'x'}"));
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "input 0", NULL, n_input (4, 4),
          g_strdup ("{'name':'r','op':'Relu','input':[1]}"));
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "'attr'", NULL, n_input (4, 4),
          g_strdup ("{'name':'r','op':'Relu','input':['x'],'attr':[]}"));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "two nodes", NULL, n_input (4, 4),
          n_input (4, 4));
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "2 inputs", NULL, n_input (4, 4),
          n_op ("r", "Relu", "'x','x'", A_T));
#undef EXPECT

  /* no node array at all */
  {
    g_autoptr (JsonParser) p = json_parser_new ();
    JsonObject *o;

    g_assert_true (json_parser_load_from_data (p, "{\"node\":{}}", -1, NULL));
    o = json_node_get_object (json_parser_get_root (p));
    g = hippo_read_graph_model (o, fx.weights, &error);
    expect_error (g, error, HIPPO_ERROR_MODEL_FORMAT, "'node'", NULL);
    g_clear_error (&error);
  }
  fx_clear (&fx);
}

/* A Placeholder with the given dtype and dims (JSON members). */
static char *
n_input_dims (const char *dtype, const char *dims)
{
  return g_strdup_printf ("{'name':'x','op':'Placeholder','attr':{'shape':"
                          "{'shape':%s},'dtype':{'type':'%s'}}}",
                          dims, dtype);
}

/* The count, size, shape and range checks of the reader that the other
 * cases do not reach: each gives its error, never a crash. */
static void
test_checks (void)
{
  Fx fx;
  GError *error = NULL;
  HippoGraph *g;
  const float ax[2] = { 1, 2 }, ax5 = 5, half = 1.5f, three = 3, one = 1;
  const float ax_many[5] = { 1, 2, 1, 2, 1 }, neg[3] = { -1, -1, -1 };
  const float pads_batch[8] = { 1, 0, 0, 0, 0, 0, 0, 0 };
  const float pads_far[8] = { 0, 0, 100000, 0, 0, 0, 0, 0 };
  const float pads24[8] = { 0 };

  fx_init (&fx);
  add_ramp (&fx, "w", "[3,3,3,2]", 54, -1, 0.03f);
  add_ramp (&fx, "w3d", "[3,3,3]", 27, -1, 0.03f);
  add_ramp (&fx, "wbig", "[65,1,3,2]", 390, -1, 0.01f);
  add_ramp (&fx, "wgroup", "[1,1,1,2]", 2, -1, 0.5f);
  add_ramp (&fx, "wmult", "[1,1,3,1025]", 3075, -1, 0.001f);
  add_ramp (&fx, "mm3d", "[2,2,3]", 12, -1, 0.1f);
  add_ramp (&fx, "mm32", "[3,2]", 6, -1, 0.1f);
  add_w (&fx, "mm0", "[3,0]", NULL, 0);
  add_ramp (&fx, "b5", "[5]", 5, 0, 1);
  add_ramp (&fx, "bn3", "[3]", 3, 1, 0.5f);
  add_ramp (&fx, "bn2", "[2]", 2, 1, 0.5f);
  add_w (&fx, "bnneg", "[3]", neg, 3);
  add_w (&fx, "ax", "[2]", ax, 2);
  add_w (&fx, "ax5", "[1]", &ax5, 1);
  add_w (&fx, "axhalf", "[1]", &half, 1);
  add_w (&fx, "axmany", "[5]", ax_many, 5);
  add_w (&fx, "axis3", "[]", &three, 1);
  add_w (&fx, "noaxis", "[0]", NULL, 0);
  add_w (&fx, "one", "[]", &one, 1);
  add_w (&fx, "pads24", "[2,4]", pads24, 8);
  add_w (&fx, "padsbatch", "[4,2]", pads_batch, 8);
  add_w (&fx, "padsfar", "[4,2]", pads_far, 8);

#define EXPECT(code, w1, w2, ...)                                              \
  do                                                                           \
    {                                                                          \
      g = fx_read (&fx, &error, __VA_ARGS__, NULL);                            \
      expect_error (g, error, code, w1, w2);                                   \
      g_test_message ("rejected as expected: %s", error->message);             \
      g_clear_error (&error);                                                  \
    }                                                                          \
  while (0)
#define CONV(filter, attrs)                                                    \
  n_const (filter), n_op ("c", "Conv2D", "'x','" filter "'", attrs)

  /* the input */
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "DT_INT32", NULL,
          n_input_dims ("DT_INT32", "{'dim':[{'size':'-1'},{'size':'4'},"
                                    "{'size':'4'},{'size':'3'}]}"));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "unknown rank", NULL,
          n_input_dims ("DT_FLOAT", "{'unknownRank':true}"));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "channel count unknown", NULL,
          n_input_dims ("DT_FLOAT", "{'dim':[{'size':'-1'},{'size':'4'},"
                                    "{'size':'4'},{'size':'-1'}]}"));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "batch size 0", NULL,
          n_input_dims ("DT_FLOAT", "{'dim':[{'size':'0'},{'size':'4'},"
                                    "{'size':'4'},{'size':'3'}]}"));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "100000x4x3", "out of range",
          n_input_dims ("DT_FLOAT", "{'dim':[{'size':'1'},{'size':'100000'},"
                                    "{'size':'4'},{'size':'3'}]}"));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "4-D", "2 dimensions",
          n_input_dims ("DT_FLOAT", "{'dim':[{'size':'1'},{'size':'4'}]}"));
  /* inputs of the wrong kind */
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "is a constant where a tensor", NULL,
          n_input (4, 4), n_const ("w"), n_op ("r", "Relu", "'w'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "'nop'", "has no value", n_input (4, 4),
          n_op ("nop", "NoOp", "'^x'", NULL), n_op ("r", "Relu", "'nop'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "must be a constant", NULL,
          n_input (4, 4), n_op ("c", "Conv2D", "'x','x'", CONV_S1_VALID));
  /* strides */
  EXPECT (
    HIPPO_ERROR_MODEL_FORMAT, "'strides' has 3 entries", NULL, n_input (4, 4),
    CONV ("w", A_T "," A_VALID ",'strides':{'list':{'i':['1','1','1']}}"));
  EXPECT (
    HIPPO_ERROR_MODEL_UNSUPPORTED, "batch or channel axis", NULL,
    n_input (4, 4),
    CONV ("w", A_T "," A_VALID ",'strides':{'list':{'i':['2','1','1','1']}}"));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "out of the supported range", NULL,
          n_input (4, 4),
          CONV ("w", A_T "," A_VALID
                         ",'strides':{'list':{'i':['1','100','1','1']}}"));
  /* padding */
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "larger than the padded input", NULL,
          n_input (2, 2), CONV ("w", CONV_S1_VALID));
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "'explicit_paddings' needs 8", NULL,
          n_input (4, 4),
          CONV ("w",
                A_T "," A_S1 ",'padding':{'s':'<EXPLICIT>'},"
                    "'explicit_paddings':{'list':{'i':['0','0','1','1']}}"));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "batch or channel axis", NULL,
          n_input (4, 4),
          CONV ("w", A_T "," A_S1 ",'padding':{'s':'<EXPLICIT>'},"
                         "'explicit_paddings':{'list':{'i':['1','0','0','0',"
                         "'0','0','0','0']}}"));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "explicit padding", "out of range",
          n_input (4, 4),
          CONV ("w", A_T "," A_S1 ",'padding':{'s':'<EXPLICIT>'},"
                         "'explicit_paddings':{'list':{'i':['0','0','-1','0',"
                         "'0','0','0','0']}}"));
  /* filters */
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "'w3d' is 3-D", NULL, n_input (4, 4),
          CONV ("w3d", CONV_S1_VALID));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "[65, 1, 3, 2]", "supported range",
          n_input (70, 4), CONV ("wbig", CONV_S1_VALID));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "grouped convolution", NULL,
          n_input (4, 4), CONV ("wgroup", CONV_S1_VALID));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "channel multiplier 1025", NULL,
          n_input (4, 4), n_const ("wmult"),
          n_op ("d", "DepthwiseConv2dNative", "'x','wmult'", CONV_S1_VALID));
  /* biases and batch norms of the wrong size or value */
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "'b5' has 5 values for 2", NULL,
          n_input (4, 4), CONV ("w", CONV_S1_VALID), n_const ("b5"),
          n_op ("b", "BiasAdd", "'c','b5'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "'b5' has 5 values for 2", NULL,
          n_input (4, 4), n_const ("w"), n_const ("b5"),
          n_op ("c", "_FusedConv2D", "'x','w','b5'",
                CONV_S1_VALID ",'num_args':{'i':'1'},'fused_ops':{'list':"
                              "{'s':['<BiasAdd>']}}"));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "'bn2' has 2 values for 3", NULL,
          n_input (4, 4), n_const ("bn3"), n_const ("bn2"),
          n_op ("bn", "FusedBatchNorm", "'x','bn3','bn3','bn3','bn2'",
                A_T ",'epsilon':{'f':0.001}"));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "variance + epsilon is not positive", NULL,
          n_input (4, 4), n_const ("bn3"), n_const ("bnneg"),
          n_op ("bn", "FusedBatchNorm", "'x','bn3','bn3','bn3','bnneg'",
                A_T ",'epsilon':{'f':0.001}"));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "training-mode", NULL, n_input (4, 4),
          n_const ("bn3"),
          n_op ("bn", "FusedBatchNorm", "'x','bn3','bn3','bn3','bn3'",
                A_T ",'is_training':{'b':true}"));
  /* MatMul */
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "'mm3d' are 3-D", NULL, n_input (4, 4),
          n_const ("ax"), n_op ("m", "Mean", "'x','ax'", A_T), n_const ("mm3d"),
          n_op ("mm", "MatMul", "'m','mm3d'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "'mm0' have no outputs", NULL,
          n_input (4, 4), n_const ("ax"), n_op ("m", "Mean", "'x','ax'", A_T),
          n_const ("mm0"), n_op ("mm", "MatMul", "'m','mm0'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "'b5' has 5 values for 2 outputs", NULL,
          n_input (4, 4), n_const ("ax"), n_op ("m", "Mean", "'x','ax'", A_T),
          n_const ("mm32"), n_const ("b5"),
          n_op ("mm", "_FusedMatMul", "'m','mm32','b5'",
                A_T ",'num_args':{'i':'1'},'fused_ops':{'list':"
                    "{'s':['<BiasAdd>']}}"));
  {
    GString *ins = g_string_new ("'x'");

    for (int i = 1; i < 20; i++)
      g_string_append (ins, ",'x'");
    g_string_append (ins, ",'axis3'");
    EXPECT (HIPPO_ERROR_LIMIT, "channels are too many", NULL,
            n_input_dims ("DT_FLOAT", "{'dim':[{'size':'1'},{'size':'1'},"
                                      "{'size':'1'},{'size':'60000'}]}"),
            n_const ("axis3"), n_op ("cat", "ConcatV2", ins->str, A_T));
    g_string_free (ins, TRUE);
  }
  /* constants as integers, axes */
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "'axmany' has 5 values", NULL,
          n_input (4, 4), n_const ("axmany"),
          n_op ("m", "Mean", "'x','axmany'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "'axhalf' must hold integers", NULL,
          n_input (4, 4), n_const ("axhalf"),
          n_op ("m", "Mean", "'x','axhalf'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "axis 5 is out of range", NULL,
          n_input (4, 4), n_const ("ax5"),
          n_op ("m", "Mean", "'x','ax5'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "axis 7 is out of range", NULL,
          n_input (1, 1),
          n_op ("sq", "Squeeze", "'x'", "'squeeze_dims':{'list':{'i':['7']}}"));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "only squeezing axes [1, 2]", NULL,
          n_input (1, 1),
          n_op ("sq", "Squeeze", "'x'", "'squeeze_dims':{'list':{'i':['3']}}"));
  /* element-wise and concatenation of shapes that do not match */
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "different shapes", NULL,
          n_input (4, 4), CONV ("w", CONV_S1_VALID),
          n_op ("a", "AddV2", "'x','c'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "this form of Maximum", NULL,
          n_input (4, 4), n_const ("bn3"),
          n_op ("mx", "Maximum", "'x','bn3'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_FORMAT, "attribute 'N' = 3 but 2 tensors", NULL,
          n_input (4, 4), n_const ("axis3"),
          n_op ("cat", "ConcatV2", "'x','x','axis3'", A_T ",'N':{'i':'3'}"));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "does not match input 0", NULL,
          n_input (4, 4), CONV ("w", CONV_S1_VALID), n_const ("axis3"),
          n_op ("cat", "ConcatV2", "'x','c','axis3'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "'noaxis' is empty", NULL, n_input (4, 4),
          n_const ("noaxis"),
          n_op ("cat", "ConcatV2", "'x','x','noaxis'", A_T));
  /* Pad */
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "must have shape [4, 2]", NULL,
          n_input (4, 4), n_const ("pads24"),
          n_op ("p", "Pad", "'x','pads24'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "batch or channel axis", NULL,
          n_input (4, 4), n_const ("padsbatch"),
          n_op ("p", "Pad", "'x','padsbatch'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_INVALID, "padding 100000 is out of range", NULL,
          n_input (4, 4), n_const ("padsfar"),
          n_op ("p", "Pad", "'x','padsfar'", A_T));
  EXPECT (HIPPO_ERROR_MODEL_UNSUPPORTED, "non-zero constant", NULL,
          n_input (4, 4), n_const ("padsfar"), n_const ("one"),
          n_op ("p", "PadV2", "'x','padsfar','one'", A_T));
#undef CONV
#undef EXPECT
  fx_clear (&fx);
}

/* Every attr, input list and name of a valid model replaced by JSON of
 * other shapes: the reader either succeeds or fails with an error, never
 * crashes or warns. */
static void
test_json_shapes (void)
{
  Fx fx;
  GError *error = NULL;
  HippoGraph *g;
  JsonArray *nodes;
  const char *repl[] = { "null",
                         "7",
                         "-1",
                         "1e300",
                         "\"\"",
                         "\"AAAA\"",
                         "[]",
                         "[1,\"a\",null]",
                         "{}",
                         "{\"list\":7}",
                         "{\"list\":{\"i\":[\"99999999999999999999\"]}}",
                         "{\"list\":{\"s\":[\"@\"]}}",
                         "{\"s\":[]}",
                         "{\"i\":\"-5\"}",
                         "{\"f\":\"NaN\"}",
                         "{\"b\":null}",
                         "{\"shape\":{\"dim\":[{\"size\":\"1e9\"}]}}",
                         "{\"shape\":{\"dim\":7}}",
                         "{\"type\":5}" };
  guint n_ok = 0, n_err = 0;

  fx_init (&fx);
  add_ramp (&fx, "w", "[3,3,3,4]", 108, -1, 0.02f);
  add_ramp (&fx, "b", "[4]", 4, 0, 0.1f);
  add_ramp (&fx, "m", "[2,4]", 8, 0, 0.1f);
  g = fx_read (
    &fx, &error, n_input (6, 6), n_const ("w"), n_const ("b"), n_const ("m"),
    n_op ("c", "_FusedConv2D", "'x','w','b'",
          CONV_S2_SAME ",'num_args':{'i':'1'},'fused_ops':"
                       "{'list':{'s':['<BiasAdd>','<Relu6>']}},"
                       "'dilations':{'list':{'i':['1','1','1',"
                       "'1']}}"),
    n_op ("p", "AvgPool", "'c'",
          A_T "," A_S1 "," A_VALID ",'ksize':{'list':{'i':['1','3','3','1']}}"),
    n_op ("s", "Squeeze", "'p'", "'squeeze_dims':{'list':{'i':['1','2']}}"),
    n_op ("mm", "_FusedMatMul", "'s','m'",
          "'transpose_b':{'b':true},'fused_ops':{'list':{}}"),
    n_op ("Identity", "Identity", "'mm'", A_T), NULL);
  g_assert_no_error (error);
  g_assert_nonnull (g);
  check_shapes (g);
  hippo_graph_free (g);

  nodes = json_object_get_array_member (
    json_node_get_object (json_parser_get_root (fx.topo)), "node");
  for (guint i = 0; i < json_array_get_length (nodes); i++)
    {
      JsonObject *node = json_array_get_object_element (nodes, i);

      for (int pass = 0; pass < 2; pass++)
        {
          /* Keys are copied: replacing a member frees its old key. */
          JsonObject *target = pass == 0 ? node
                               : json_object_has_member (node, "attr")
                                 ? json_object_get_object_member (node, "attr")
                                 : NULL;
          GList *keys = target ? json_object_get_members (target) : NULL;
          g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

          for (GList *l = keys; l; l = l->next)
            g_ptr_array_add (names, g_strdup (l->data));
          g_list_free (keys);
          for (guint m = 0; m < names->len; m++)
            for (guint k = 0; k < G_N_ELEMENTS (repl); k++)
              {
                const char *key = names->pdata[m];
                JsonNode *saved
                  = json_node_copy (json_object_get_member (target, key));
                g_autoptr (JsonParser) rp = json_parser_new ();

                g_assert_true (
                  json_parser_load_from_data (rp, repl[k], -1, NULL));
                json_object_set_member (
                  target, key, json_node_copy (json_parser_get_root (rp)));
                g = hippo_read_graph_model (
                  json_node_get_object (json_parser_get_root (fx.topo)),
                  fx.weights, &error);
                if (g != NULL)
                  {
                    g_assert_no_error (error);
                    n_ok++;
                    hippo_graph_free (g);
                  }
                else
                  {
                    g_assert_nonnull (error);
                    g_assert_true (error->domain == HIPPO_ERROR);
                    n_err++;
                    g_clear_error (&error);
                  }
                json_object_set_member (target, key, saved);
              }
        }
    }
  g_test_message ("mutations: %u read, %u refused", n_ok, n_err);
  g_assert_cmpuint (n_err, >, 100);
  fx_clear (&fx);
}

/* The real graph model, unwrapped from nsfwjs. */
static void
test_real_model (void)
{
  const char *base = g_getenv ("HIPPOTAG_TEST_MODEL_DIR");
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoWeights) weights = NULL;
  JsonObject *root;
  HippoGraph *g;
  HippoNode *n;
  const HippoLayerRef *ref;
  guint n_conv = 0, n_dw = 0;

  dir = g_build_filename (base ? base : "/tmp/nsfw/out", "mobilenet_v2_mid",
                          NULL);
  path = g_build_filename (dir, "model.json", NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *msg = g_strdup_printf (
        "SKIPPED: %s is missing; set HIPPOTAG_TEST_MODEL_DIR to the folder "
        "holding mobilenet_v2_mid/ (see ./setup)",
        path);
      g_printerr ("%s\n", msg);
      g_test_skip (msg);
      return;
    }
  g_assert_true (json_parser_load_from_file (p, path, &error));
  root = json_node_get_object (json_parser_get_root (p));
  weights = hippo_weights_load (
    json_object_get_array_member (root, "weightsManifest"), dir, &error);
  g_assert_no_error (error);
  g = hippo_read_graph_model (
    json_object_get_object_member (root, "modelTopology"), weights, &error);
  g_assert_no_error (error);
  g_assert_nonnull (g);
  g_assert_cmpint (g->in_h, ==, 224);
  g_assert_cmpint (g->in_w, ==, 224);
  g_assert_cmpint (g->in_c, ==, 3);
  /* the output: Softmax, named Identity too */
  n = g_ptr_array_index (g->nodes, g->output);
  g_assert_cmpint (n->op, ==, HIPPO_OP_SOFTMAX);
  g_assert_cmpint (n->c, ==, 5);
  ref = hippo_graph_find (g, "Identity", &error);
  g_assert_no_error (error);
  g_assert_cmpint (ref->node, ==, g->output);
  n = node_named (g, "feature_vector/SpatialSqueeze");
  g_assert_cmpint (n->op, ==, HIPPO_OP_RESHAPE);
  g_assert_cmpint (n->c, ==, 1792);
  n = node_named (g, "MobilenetV2/Conv/Relu6");
  g_assert_cmpint (n->op, ==, HIPPO_OP_CONV);
  g_assert_cmpint (n->h, ==, 112);
  g_assert_cmpint (n->pad_t, ==, 0);
  g_assert_cmpint (n->pad_b, ==, 1);
  g_assert_cmpfloat (n->act_hi, ==, 6);
  /* the hub input scaling: x * 2 - 1 */
  n = node_named (g, "hub_input/Sub");
  g_assert_cmpint (n->op, ==, HIPPO_OP_AFFINE);
  g_assert_cmpfloat (n->shift[0], ==, -1);
  g_assert_cmpfloat (node_named (g, "hub_input/Mul")->scale[2], ==, 2);
  for (guint i = 0; i < g->nodes->len; i++)
    {
      n = g_ptr_array_index (g->nodes, i);
      n_conv += n->op == HIPPO_OP_CONV;
      n_dw += n->op == HIPPO_OP_DWCONV;
    }
  g_assert_cmpuint (n_conv, ==, 36); /* 35 convs + the dense layer */
  g_assert_cmpuint (n_dw, ==, 17);
  /* 178 nodes - 108 consts - Identity alias */
  g_assert_cmpuint (g->nodes->len, ==, 69);
  /* the file is in order, so the names keep the file's order */
  {
    JsonArray *nodes = json_object_get_array_member (
      json_object_get_object_member (root, "modelTopology"), "node");
    guint k = 0;

    for (guint i = 0; i < json_array_get_length (nodes); i++)
      {
        JsonObject *o = json_array_get_object_element (nodes, i);

        if (strcmp (json_object_get_string_member (o, "op"), "Const") == 0)
          continue;
        g_assert_cmpuint (k, <, g->layers->len);
        g_assert_cmpstr (g_array_index (g->layers, HippoLayerRef, k).name, ==,
                         json_object_get_string_member (o, "name"));
        k++;
      }
    g_assert_cmpuint (k, ==, g->layers->len);
  }
  check_shapes (g);
  hippo_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/reader-graph/conv-padding", test_conv_padding);
  g_test_add_func ("/reader-graph/conv-values", test_conv_values);
  g_test_add_func ("/reader-graph/fused-conv-relu6", test_fused_conv_relu6);
  g_test_add_func ("/reader-graph/fused-conv-bn", test_fused_conv_bn);
  g_test_add_func ("/reader-graph/depthwise", test_depthwise);
  g_test_add_func ("/reader-graph/matmul", test_matmul);
  g_test_add_func ("/reader-graph/elementwise", test_elementwise);
  g_test_add_func ("/reader-graph/mean", test_mean);
  g_test_add_func ("/reader-graph/shape-ops", test_shape_ops);
  g_test_add_func ("/reader-graph/errors", test_errors);
  g_test_add_func ("/reader-graph/checks", test_checks);
  g_test_add_func ("/reader-graph/json-shapes", test_json_shapes);
  g_test_add_func ("/reader-graph/real-model", test_real_model);
  return g_test_run ();
}
