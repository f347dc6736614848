/* The TF.js layers-model reader: Keras functional, sequential and nested
 * models to the raw engine graph. */
#include "hippo-config.h"

#include <math.h>
#include <string.h>

#include "reader.h"

#define MAX_NESTING 16

typedef struct
{
  HippoGraph *graph;
  HippoWeights *weights;
  GArray *rank;     /* int per node: 4 (NHWC) or 2 (flattened) */
  GPtrArray *scope; /* names of the enclosing models */
  HippoWeight *last;   /* the weight copy_weight() found last */
} Ctx;

typedef struct
{
  const char *name;  /* as in the file */
  const char *gname; /* as registered in the graph (unique) */
  const char *cls;
  JsonNode *config; /* may be NULL */
  JsonObject *cfg;  /* config as an object, or NULL */
} Layer;

typedef gboolean (*BuildFunc) (Ctx *ctx, const Layer *L, const int *in,
                               int n_in, int *out, GError **error);

static gboolean build_model (Ctx *ctx, const char *cls, JsonNode *config,
                             int outer_input, int *out, GError **error);

/* Errors */

static gboolean layer_fail (GError **error, int code, const Layer *L,
                            const char *format, ...) G_GNUC_PRINTF (4, 5);

static gboolean
layer_fail (GError **error, int code, const Layer *L, const char *format, ...)
{
  va_list args;
  char *msg;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, HIPPO_ERROR, code, "layer '%s' (%s): %s", L->name, L->cls,
               msg);
  g_free (msg);
  return FALSE;
}

/* JSON access that never trusts the file */

static JsonNode *
obj_member (JsonObject *obj, const char *key)
{
  JsonNode *node;

  if (obj == NULL)
    return NULL;
  node = json_object_get_member (obj, key);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return node;
}

static const char *
node_string (JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
node_number (JsonNode *node, double *out)
{
  GType t;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  t = json_node_get_value_type (node);
  if (t == G_TYPE_INT64)
    *out = (double) json_node_get_int (node);
  else if (t == G_TYPE_DOUBLE)
    *out = json_node_get_double (node);
  else
    return FALSE;
  return isfinite (*out);
}

/* 1: an integer in [lo, hi]; 0: not an integer; -1: below; -2: above. */
static int
node_int (JsonNode *node, int lo, int hi, int *out)
{
  double d;

  if (!node_number (node, &d) || d != floor (d))
    return 0;
  if (d < lo)
    return -1;
  if (d > hi)
    return -2;
  *out = (int) d;
  return 1;
}

static gboolean
int_fail (GError **error, const Layer *L, const char *key, int r, int lo,
          int hi)
{
  if (r == 0)
    return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                       "'%s' must be an integer", key);
  if (r == -1)
    return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L, "'%s' is below %d",
                       key, lo);
  return layer_fail (error, HIPPO_ERROR_LIMIT, L, "'%s' is above %d", key, hi);
}

static gboolean
cfg_int (const Layer *L, const char *key, gboolean required, int def, int lo,
         int hi, int *out, GError **error)
{
  JsonNode *node = obj_member (L->cfg, key);
  int r;

  if (node == NULL)
    {
      if (required)
        return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                           "missing key '%s'", key);
      *out = def;
      return TRUE;
    }
  r = node_int (node, lo, hi, out);
  if (r != 1)
    return int_fail (error, L, key, r, lo, hi);
  return TRUE;
}

/* An int or a list of one or two ints, e.g. kernel_size, strides. */
static gboolean
cfg_pair (const Layer *L, const char *key, gboolean required, int def, int lo,
          int hi, int out[2], GError **error)
{
  JsonNode *node = obj_member (L->cfg, key);
  int r;

  if (node == NULL)
    {
      if (required)
        return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                           "missing key '%s'", key);
      out[0] = out[1] = def;
      return TRUE;
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);
      guint len = json_array_get_length (a);

      if (len != 1 && len != 2)
        return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                           "'%s' must have two entries", key);
      for (guint i = 0; i < 2; i++)
        {
          r = node_int (json_array_get_element (a, len == 1 ? 0 : i), lo, hi,
                        &out[i]);
          if (r != 1)
            return int_fail (error, L, key, r, lo, hi);
        }
      return TRUE;
    }
  r = node_int (node, lo, hi, &out[0]);
  if (r != 1)
    return int_fail (error, L, key, r, lo, hi);
  out[1] = out[0];
  return TRUE;
}

static gboolean
cfg_string (const Layer *L, const char *key, const char *def, const char **out,
            GError **error)
{
  JsonNode *node = obj_member (L->cfg, key);

  if (node == NULL)
    {
      if (def == NULL)
        return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                           "missing key '%s'", key);
      *out = def;
      return TRUE;
    }
  *out = node_string (node);
  if (*out == NULL)
    return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                       "'%s' must be a string", key);
  return TRUE;
}

static gboolean
cfg_bool (const Layer *L, const char *key, gboolean def, gboolean *out,
          GError **error)
{
  JsonNode *node = obj_member (L->cfg, key);

  if (node == NULL)
    {
      *out = def;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                       "'%s' must be true or false", key);
  *out = json_node_get_boolean (node);
  return TRUE;
}

/* A number; has_value FALSE when absent or null. */
static gboolean
cfg_number (const Layer *L, const char *key, double *out, gboolean *has_value,
            GError **error)
{
  JsonNode *node = obj_member (L->cfg, key);

  *has_value = node != NULL;
  if (node == NULL)
    return TRUE;
  if (!node_number (node, out))
    return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                       "'%s' must be a number", key);
  return TRUE;
}

static gboolean
check_data_format (const Layer *L, GError **error)
{
  const char *df;

  if (!cfg_string (L, "data_format", "channels_last", &df, error))
    return FALSE;
  if (strcmp (df, "channels_last") != 0)
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "data_format '%s' is not supported", df);
  return TRUE;
}

/* Channel axis given as -1, rank - 1, or a list of one of those. */
static gboolean
check_channel_axis (const Layer *L, int rank, int def, GError **error)
{
  JsonNode *node = obj_member (L->cfg, "axis");
  int axis = def;

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node)
      && json_array_get_length (json_node_get_array (node)) == 1)
    node = json_array_get_element (json_node_get_array (node), 0);
  if (node != NULL && node_int (node, -8, 8, &axis) != 1)
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "this 'axis' is not supported (only the channels)");
  if (axis != -1 && axis != rank - 1)
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "axis %d is not supported (only the channels)", axis);
  return TRUE;
}

/* Activations */

static gboolean
parse_activation (const Layer *L, const char *name, HippoAct *act, float *lo,
                  float *hi, GError **error)
{
  *lo = -INFINITY;
  *hi = INFINITY;
  if (strcmp (name, "linear") == 0)
    *act = HIPPO_ACT_NONE;
  else if (strcmp (name, "relu") == 0)
    *act = HIPPO_ACT_CLAMP, *lo = 0.0f;
  else if (strcmp (name, "relu6") == 0)
    *act = HIPPO_ACT_CLAMP, *lo = 0.0f, *hi = 6.0f;
  else if (strcmp (name, "sigmoid") == 0)
    *act = HIPPO_ACT_SIGMOID;
  else if (strcmp (name, "tanh") == 0)
    *act = HIPPO_ACT_TANH;
  else if (strcmp (name, "softmax") == 0)
    *act = HIPPO_ACT_SOFTMAX;
  else
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "activation '%s' is not supported", name);
  return TRUE;
}

static gboolean
cfg_activation (const Layer *L, HippoNode *node, GError **error)
{
  const char *name;

  if (!cfg_string (L, "activation", "linear", &name, error))
    return FALSE;
  return parse_activation (L, name, &node->act, &node->act_lo, &node->act_hi,
                           error);
}

/* Graph helpers */

static HippoNode *
node_at (Ctx *ctx, int i)
{
  return g_ptr_array_index (ctx->graph->nodes, i);
}

static int
rank_at (Ctx *ctx, int i)
{
  return g_array_index (ctx->rank, int, i);
}

static HippoNode *
add_node (Ctx *ctx, const Layer *L, HippoOp op, const int *in, int n_in,
          int rank, int *out, GError **error)
{
  HippoNode *node
    = hippo_graph_add_node (ctx->graph, L->gname, L->cls, op, in, n_in, error);

  if (node == NULL)
    return NULL;
  g_array_append_val (ctx->rank, rank);
  *out = ctx->graph->nodes->len - 1;
  return node;
}

/* The graph name of a layer: its own, or qualified by its enclosing models
 * when another layer already took it. */
static const char *
graph_name (Ctx *ctx, const char *name)
{
  GString *s;
  const char *r;

  if (!g_hash_table_contains (ctx->graph->by_name, name)
      || ctx->scope->len == 0)
    return hippo_graph_intern (ctx->graph, name);
  s = g_string_new (NULL);
  for (guint i = 0; i < ctx->scope->len; i++)
    g_string_append_printf (s, "%s/", (char *) ctx->scope->pdata[i]);
  g_string_append (s, name);
  r = hippo_graph_intern (ctx->graph, s->str);
  g_string_free (s, TRUE);
  return r;
}

static gboolean
need_inputs (const Layer *L, int n_in, int min, int max, GError **error)
{
  if (n_in < min || n_in > max)
    return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L,
                       "has %d inputs, expected %s%d", n_in,
                       max > min ? "at least " : "", min);
  return TRUE;
}

static gboolean
need_spatial (Ctx *ctx, const Layer *L, int in, GError **error)
{
  if (rank_at (ctx, in) != 4)
    return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L,
                       "needs an image-shaped (4-D) input");
  return TRUE;
}

/* Finds "<layer>/<what>" among the weights: scope-qualified, bare, or by a
 * unique '/'-suffix; checks its size and copies it into the graph. */
static float *
copy_weight (Ctx *ctx, const Layer *L, const char *what, guint64 expected,
             GError **error)
{
  g_autofree char *bare = g_strdup_printf ("%s/%s", L->name, what);
  HippoWeight *w = NULL;
  float *dst;
  guint n_matches = 0;

  if (expected == 0 || expected > HIPPO_MAX_PARAMS)
    {
      layer_fail (error, HIPPO_ERROR_LIMIT, L, "weight '%s' is too large",
                  bare);
      return NULL;
    }
  for (guint k = 0; w == NULL && k < ctx->scope->len; k++)
    {
      GString *s = g_string_new (NULL);

      for (guint i = k; i < ctx->scope->len; i++)
        g_string_append_printf (s, "%s/", (char *) ctx->scope->pdata[i]);
      g_string_append (s, bare);
      w = hippo_weights_lookup (ctx->weights, s->str);
      g_string_free (s, TRUE);
    }
  if (w == NULL)
    w = hippo_weights_lookup_suffix (ctx->weights, bare, &n_matches);
  if (w == NULL && n_matches > 1)
    {
      layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L, "%u weights end in '%s'",
                  n_matches, bare);
      return NULL;
    }
  if (!hippo_weights_require (ctx->weights, w ? w->name : bare,
                              (gsize) expected, L->name, error))
    return NULL;
  dst = hippo_graph_alloc (ctx->graph, (gsize) expected, error);
  if (dst == NULL)
    return NULL;
  memcpy (dst, w->data, sizeof (float) * (gsize) expected);
  ctx->last = w;
  return dst;
}

/* The shape of the weight copy_weight() just found must be exactly dims:
 * the same count in another layout is a wrong model, not a reshape. */
static gboolean
last_shape_is (Ctx *ctx, const Layer *L, const gint64 *dims, int rank,
               GError **error)
{
  const HippoWeight *w = ctx->last;
  gboolean ok = w != NULL && w->rank == rank;

  for (int i = 0; ok && i < rank; i++)
    ok = w->shape[i] == dims[i];
  if (!ok)
    return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L,
                       "weight '%s' has a shape that does not fit the layer",
                       w ? w->name : "?");
  return TRUE;
}

/* Window ops: pads from 'padding', output size. */
static gboolean
set_window (Ctx *ctx, const Layer *L, HippoNode *node, int in, GError **error)
{
  const HippoNode *src = node_at (ctx, in);
  const char *padding;
  gint64 eh, ew, h, w;

  if (!cfg_string (L, "padding", "valid", &padding, error))
    return FALSE;
  if (strcmp (padding, "same") == 0)
    {
      hippo_same_padding (src->h, node->kh, node->sh, node->dh, &node->pad_t,
                          &node->pad_b);
      hippo_same_padding (src->w, node->kw, node->sw, node->dw, &node->pad_l,
                          &node->pad_r);
    }
  else if (strcmp (padding, "valid") != 0)
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "padding '%s' is not supported", padding);
  eh = (gint64) (node->kh - 1) * node->dh + 1;
  ew = (gint64) (node->kw - 1) * node->dw + 1;
  h = (gint64) src->h + node->pad_t + node->pad_b - eh;
  w = (gint64) src->w + node->pad_l + node->pad_r - ew;
  if (h < 0 || w < 0)
    return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L,
                       "its %dx%d window does not fit its %dx%d input",
                       (int) eh, (int) ew, src->h, src->w);
  node->h = (int) (h / node->sh + 1);
  node->w = (int) (w / node->sw + 1);
  return TRUE;
}

static gboolean
conv_geometry (const Layer *L, HippoNode *node, GError **error)
{
  int k[2], s[2], d[2];

  if (!cfg_pair (L, "kernel_size", TRUE, 1, 1, HIPPO_MAX_KERNEL, k, error)
      || !cfg_pair (L, "strides", FALSE, 1, 1, HIPPO_MAX_STRIDE, s, error)
      || !cfg_pair (L, "dilation_rate", FALSE, 1, 1, HIPPO_MAX_KERNEL, d,
                    error))
    return FALSE;
  if ((d[0] > 1 || d[1] > 1) && (s[0] > 1 || s[1] > 1))
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "dilation_rate > 1 together with strides > 1 is not "
                       "supported");
  node->kh = k[0], node->kw = k[1];
  node->sh = s[0], node->sw = s[1];
  node->dh = d[0], node->dw = d[1];
  return TRUE;
}

/* Layer builders */

static gboolean
build_conv2d (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
              GError **error)
{
  HippoNode *node;
  int filters, groups, cin;
  gboolean use_bias;

  if (!need_inputs (L, n_in, 1, 1, error)
      || !need_spatial (ctx, L, in[0], error) || !check_data_format (L, error)
      || !cfg_int (L, "filters", TRUE, 0, 1, HIPPO_MAX_DIM, &filters, error)
      || !cfg_int (L, "groups", FALSE, 1, 1, HIPPO_MAX_DIM, &groups, error)
      || !cfg_bool (L, "use_bias", TRUE, &use_bias, error))
    return FALSE;
  if (groups != 1)
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "groups %d is not supported", groups);
  cin = node_at (ctx, in[0])->c;
  node = add_node (ctx, L, HIPPO_OP_CONV, in, 1, 4, out, error);
  if (node == NULL || !conv_geometry (L, node, error)
      || !set_window (ctx, L, node, in[0], error)
      || !cfg_activation (L, node, error))
    return FALSE;
  node->cin = cin;
  node->c = filters;
  node->weights = copy_weight (
    ctx, L, "kernel", (guint64) node->kh * node->kw * cin * filters, error);
  if (node->weights == NULL)
    return FALSE;
  {
    gint64 dims[4] = { node->kh, node->kw, cin, filters };
    if (!last_shape_is (ctx, L, dims, 4, error))
      return FALSE;
  }
  if (use_bias)
    {
      node->bias = copy_weight (ctx, L, "bias", filters, error);
      if (node->bias == NULL)
        return FALSE;
    }
  return TRUE;
}

static gboolean
build_dwconv2d (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
                GError **error)
{
  HippoNode *node;
  int mult, cin;
  gboolean use_bias;
  guint64 cout;

  if (!need_inputs (L, n_in, 1, 1, error)
      || !need_spatial (ctx, L, in[0], error) || !check_data_format (L, error)
      || !cfg_int (L, "depth_multiplier", FALSE, 1, 1, 1024, &mult, error)
      || !cfg_bool (L, "use_bias", TRUE, &use_bias, error))
    return FALSE;
  cin = node_at (ctx, in[0])->c;
  cout = (guint64) cin * mult;
  if (cout > HIPPO_MAX_DIM * 16)
    return layer_fail (error, HIPPO_ERROR_LIMIT, L, "too many channels");
  node = add_node (ctx, L, HIPPO_OP_DWCONV, in, 1, 4, out, error);
  if (node == NULL || !conv_geometry (L, node, error)
      || !set_window (ctx, L, node, in[0], error)
      || !cfg_activation (L, node, error))
    return FALSE;
  node->cin = cin;
  node->mult = mult;
  node->c = (int) cout;
  node->weights = copy_weight (ctx, L, "depthwise_kernel",
                               (guint64) node->kh * node->kw * cout, error);
  if (node->weights == NULL)
    return FALSE;
  {
    gint64 dims[4] = { node->kh, node->kw, cin, mult };
    if (!last_shape_is (ctx, L, dims, 4, error))
      return FALSE;
  }
  if (use_bias)
    {
      node->bias = copy_weight (ctx, L, "bias", cout, error);
      if (node->bias == NULL)
        return FALSE;
    }
  return TRUE;
}

static gboolean
build_dense (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
             GError **error)
{
  HippoNode *node;
  const HippoNode *src;
  int units;
  gboolean use_bias;

  if (!need_inputs (L, n_in, 1, 1, error)
      || !cfg_int (L, "units", TRUE, 0, 1, HIPPO_MAX_DIM * 16, &units, error)
      || !cfg_bool (L, "use_bias", TRUE, &use_bias, error))
    return FALSE;
  src = node_at (ctx, in[0]);
  node
    = add_node (ctx, L, HIPPO_OP_CONV, in, 1, rank_at (ctx, in[0]), out, error);
  if (node == NULL || !cfg_activation (L, node, error))
    return FALSE;
  node->h = src->h, node->w = src->w;
  node->cin = src->c;
  node->c = units;
  node->weights
    = copy_weight (ctx, L, "kernel", (guint64) src->c * units, error);
  if (node->weights == NULL)
    return FALSE;
  {
    gint64 dims[2] = { src->c, units };
    if (!last_shape_is (ctx, L, dims, 2, error))
      return FALSE;
  }
  if (use_bias)
    {
      node->bias = copy_weight (ctx, L, "bias", units, error);
      if (node->bias == NULL)
        return FALSE;
    }
  return TRUE;
}

static gboolean
build_batchnorm (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
                 GError **error)
{
  HippoNode *node;
  const HippoNode *src;
  gboolean center, scale, has_eps;
  double eps = 1e-3;
  float *gamma = NULL, *beta = NULL, *mean, *var;
  int c;

  if (!need_inputs (L, n_in, 1, 1, error)
      || !check_channel_axis (L, rank_at (ctx, in[0]), -1, error)
      || !cfg_bool (L, "center", TRUE, &center, error)
      || !cfg_bool (L, "scale", TRUE, &scale, error)
      || !cfg_number (L, "epsilon", &eps, &has_eps, error))
    return FALSE;
  if (!has_eps)
    eps = 1e-3;
  if (eps < 0)
    return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L,
                       "epsilon is negative");
  src = node_at (ctx, in[0]);
  c = src->c;
  node = add_node (ctx, L, HIPPO_OP_AFFINE, in, 1, rank_at (ctx, in[0]), out,
                   error);
  if (node == NULL)
    return FALSE;
  node->h = src->h, node->w = src->w, node->c = c;
  if ((scale && (gamma = copy_weight (ctx, L, "gamma", c, error)) == NULL)
      || (center && (beta = copy_weight (ctx, L, "beta", c, error)) == NULL)
      || (mean = copy_weight (ctx, L, "moving_mean", c, error)) == NULL
      || (var = copy_weight (ctx, L, "moving_variance", c, error)) == NULL)
    return FALSE;
  /* The graph owns these copies; reuse two of them as scale and shift. */
  for (int i = 0; i < c; i++)
    {
      double v = (double) var[i] + eps;
      double s, t;

      if (!(v > 0))
        return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L,
                           "moving_variance + epsilon is not positive at "
                           "channel %d",
                           i);
      s = (gamma ? gamma[i] : 1.0) / sqrt (v);
      t = (beta ? beta[i] : 0.0) - mean[i] * s;
      if (!isfinite ((float) s) || !isfinite ((float) t))
        return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L,
                           "its scale or shift is not finite at channel %d", i);
      var[i] = (float) s;
      mean[i] = (float) t;
    }
  node->scale = var;
  node->shift = mean;
  return TRUE;
}

static gboolean
build_alias (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
             GError **error)
{
  if (!need_inputs (L, n_in, 1, 1, error)
      || !hippo_graph_add_alias (ctx->graph, L->gname, L->cls, in[0],
                                 HIPPO_TAP_OUTPUT, error))
    return FALSE;
  *out = in[0];
  return TRUE;
}

static gboolean
add_act_node (Ctx *ctx, const Layer *L, int in, HippoAct act, float lo,
              float hi, int *out, GError **error)
{
  const HippoNode *src = node_at (ctx, in);
  HippoNode *node;

  node = add_node (ctx, L,
                   act == HIPPO_ACT_SOFTMAX ? HIPPO_OP_SOFTMAX : HIPPO_OP_ACT,
                   &in, 1, rank_at (ctx, in), out, error);
  if (node == NULL)
    return FALSE;
  node->h = src->h, node->w = src->w, node->c = src->c;
  if (act != HIPPO_ACT_SOFTMAX)
    {
      node->act = act;
      node->act_lo = lo;
      node->act_hi = hi;
    }
  return TRUE;
}

static gboolean
build_relu (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
            GError **error)
{
  double max = INFINITY, slope = 0, threshold = 0;
  gboolean has_max, has;

  if (!need_inputs (L, n_in, 1, 1, error)
      || !cfg_number (L, "max_value", &max, &has_max, error)
      || !cfg_number (L, "negative_slope", &slope, &has, error)
      || !cfg_number (L, "threshold", &threshold, &has, error))
    return FALSE;
  if (!has_max)
    max = INFINITY;
  if (slope != 0)
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "negative_slope %g is not supported", slope);
  if (threshold != 0)
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "threshold %g is not supported", threshold);
  if (max < 0)
    return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L,
                       "max_value is negative");
  return add_act_node (ctx, L, in[0], HIPPO_ACT_CLAMP, 0.0f, (float) max, out,
                       error);
}

static gboolean
build_activation (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
                  GError **error)
{
  const char *name;
  HippoAct act = HIPPO_ACT_NONE;
  float lo, hi;

  if (!need_inputs (L, n_in, 1, 1, error)
      || !cfg_string (L, "activation", NULL, &name, error)
      || !parse_activation (L, name, &act, &lo, &hi, error))
    return FALSE;
  if (act == HIPPO_ACT_NONE)
    return build_alias (ctx, L, in, n_in, out, error);
  return add_act_node (ctx, L, in[0], act, lo, hi, out, error);
}

static gboolean
build_softmax (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
               GError **error)
{
  if (!need_inputs (L, n_in, 1, 1, error)
      || !check_channel_axis (L, rank_at (ctx, in[0]), -1, error))
    return FALSE;
  return add_act_node (ctx, L, in[0], HIPPO_ACT_SOFTMAX, 0, 0, out, error);
}

static gboolean
build_add (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
           GError **error)
{
  const HippoNode *a;
  HippoNode *node;

  if (!need_inputs (L, n_in, 2, HIPPO_MAX_NODES, error))
    return FALSE;
  a = node_at (ctx, in[0]);
  for (int i = 1; i < n_in; i++)
    {
      const HippoNode *b = node_at (ctx, in[i]);

      if (b->h != a->h || b->w != a->w || b->c != a->c)
        return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L,
                           "its inputs differ in shape (%dx%dx%d, %dx%dx%d)",
                           a->h, a->w, a->c, b->h, b->w, b->c);
    }
  node = add_node (ctx, L, HIPPO_OP_ADD, in, n_in, rank_at (ctx, in[0]), out,
                   error);
  if (node == NULL)
    return FALSE;
  node->h = a->h, node->w = a->w, node->c = a->c;
  return TRUE;
}

static gboolean
build_concat (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
              GError **error)
{
  const HippoNode *a;
  HippoNode *node;
  gint64 c = 0;

  if (!need_inputs (L, n_in, 2, HIPPO_MAX_NODES, error)
      || !check_channel_axis (L, rank_at (ctx, in[0]), -1, error))
    return FALSE;
  a = node_at (ctx, in[0]);
  for (int i = 0; i < n_in; i++)
    {
      const HippoNode *b = node_at (ctx, in[i]);

      if (b->h != a->h || b->w != a->w
          || rank_at (ctx, in[i]) != rank_at (ctx, in[0]))
        return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L,
                           "its inputs differ in height or width");
      c += b->c;
    }
  if (c > HIPPO_MAX_DIM * 16)
    return layer_fail (error, HIPPO_ERROR_LIMIT, L, "too many channels");
  node = add_node (ctx, L, HIPPO_OP_CONCAT, in, n_in, rank_at (ctx, in[0]), out,
                   error);
  if (node == NULL)
    return FALSE;
  node->h = a->h, node->w = a->w, node->c = (int) c;
  return TRUE;
}

static gboolean
build_zeropad (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
               GError **error)
{
  JsonNode *p;
  int pad[4] = { 1, 1, 1, 1 }; /* t, b, l, r */
  const HippoNode *src;
  HippoNode *node;

  if (!need_inputs (L, n_in, 1, 1, error)
      || !need_spatial (ctx, L, in[0], error) || !check_data_format (L, error))
    return FALSE;
  p = obj_member (L->cfg, "padding");
  if (p != NULL && JSON_NODE_HOLDS_ARRAY (p))
    {
      JsonArray *a = json_node_get_array (p);

      if (json_array_get_length (a) != 2)
        return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                           "'padding' must have two entries");
      for (int axis = 0; axis < 2; axis++)
        {
          JsonNode *e = json_array_get_element (a, axis);
          int r;

          if (JSON_NODE_HOLDS_ARRAY (e))
            {
              JsonArray *pair = json_node_get_array (e);

              if (json_array_get_length (pair) != 2)
                return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                                   "'padding' pairs must have two entries");
              for (int j = 0; j < 2; j++)
                {
                  r = node_int (json_array_get_element (pair, j), 0,
                                HIPPO_MAX_DIM, &pad[axis * 2 + j]);
                  if (r != 1)
                    return int_fail (error, L, "padding", r, 0, HIPPO_MAX_DIM);
                }
            }
          else
            {
              r = node_int (e, 0, HIPPO_MAX_DIM, &pad[axis * 2]);
              if (r != 1)
                return int_fail (error, L, "padding", r, 0, HIPPO_MAX_DIM);
              pad[axis * 2 + 1] = pad[axis * 2];
            }
        }
    }
  else if (p != NULL)
    {
      int r = node_int (p, 0, HIPPO_MAX_DIM, &pad[0]);

      if (r != 1)
        return int_fail (error, L, "padding", r, 0, HIPPO_MAX_DIM);
      pad[1] = pad[2] = pad[3] = pad[0];
    }
  src = node_at (ctx, in[0]);
  node = add_node (ctx, L, HIPPO_OP_PAD, in, 1, 4, out, error);
  if (node == NULL)
    return FALSE;
  node->pad_t = pad[0], node->pad_b = pad[1];
  node->pad_l = pad[2], node->pad_r = pad[3];
  node->h = src->h + pad[0] + pad[1];
  node->w = src->w + pad[2] + pad[3];
  node->c = src->c;
  return TRUE;
}

static gboolean
build_pool (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
            GError **error)
{
  HippoNode *node;
  int k[2], s[2];

  if (!need_inputs (L, n_in, 1, 1, error)
      || !need_spatial (ctx, L, in[0], error) || !check_data_format (L, error)
      || !cfg_pair (L, "pool_size", FALSE, 2, 1, HIPPO_MAX_KERNEL, k, error))
    return FALSE;
  if (!cfg_pair (L, "strides", FALSE, 0, 1, HIPPO_MAX_STRIDE, s, error))
    return FALSE;
  if (s[0] == 0)
    s[0] = k[0], s[1] = k[1];
  if (s[0] > HIPPO_MAX_STRIDE || s[1] > HIPPO_MAX_STRIDE)
    return layer_fail (error, HIPPO_ERROR_LIMIT, L, "stride too large");
  node = add_node (ctx, L,
                   strcmp (L->cls, "MaxPooling2D") == 0 ? HIPPO_OP_MAXPOOL
                                                        : HIPPO_OP_AVGPOOL,
                   in, 1, 4, out, error);
  if (node == NULL)
    return FALSE;
  node->kh = k[0], node->kw = k[1];
  node->sh = s[0], node->sw = s[1];
  if (!set_window (ctx, L, node, in[0], error))
    return FALSE;
  node->c = node_at (ctx, in[0])->c;
  return TRUE;
}

static gboolean
build_gap (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
           GError **error)
{
  HippoNode *node;
  gboolean keepdims;

  if (!need_inputs (L, n_in, 1, 1, error)
      || !need_spatial (ctx, L, in[0], error) || !check_data_format (L, error)
      || !cfg_bool (L, "keepdims", FALSE, &keepdims, error))
    return FALSE;
  node = add_node (ctx, L, HIPPO_OP_GAP, in, 1, keepdims ? 4 : 2, out, error);
  if (node == NULL)
    return FALSE;
  node->h = node->w = 1;
  node->c = node_at (ctx, in[0])->c;
  return TRUE;
}

static gboolean
add_reshape (Ctx *ctx, const Layer *L, int in, int rank, int *out,
             GError **error)
{
  const HippoNode *src = node_at (ctx, in);
  guint64 n = (guint64) src->h * src->w * src->c;
  HippoNode *node;

  if (n > HIPPO_MAX_DIM * 16)
    return layer_fail (error, HIPPO_ERROR_LIMIT, L,
                       "%" G_GUINT64_FORMAT " values are too many to flatten",
                       n);
  node = add_node (ctx, L, HIPPO_OP_RESHAPE, &in, 1, rank, out, error);
  if (node == NULL)
    return FALSE;
  node->h = node->w = 1;
  node->c = (int) n;
  return TRUE;
}

static gboolean
build_flatten (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
               GError **error)
{
  if (!need_inputs (L, n_in, 1, 1, error)
      || (rank_at (ctx, in[0]) == 4 && !check_data_format (L, error)))
    return FALSE;
  return add_reshape (ctx, L, in[0], 2, out, error);
}

/* Reshape to [n], [1, n] or [1, 1, n] (-1 allowed for n). */
static gboolean
build_reshape (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
               GError **error)
{
  JsonNode *t;
  JsonArray *a;
  guint len;
  const HippoNode *src;
  gint64 n;
  int last;

  if (!need_inputs (L, n_in, 1, 1, error))
    return FALSE;
  t = obj_member (L->cfg, "target_shape");
  if (t == NULL || !JSON_NODE_HOLDS_ARRAY (t))
    return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                       "missing array 'target_shape'");
  a = json_node_get_array (t);
  len = json_array_get_length (a);
  if (len < 1 || len > 3)
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "target_shape of rank %u is not supported", len);
  for (guint i = 0; i + 1 < len; i++)
    {
      int d;

      if (node_int (json_array_get_element (a, i), -1, HIPPO_MAX_DIM, &d) != 1)
        return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                           "'target_shape' must hold integers");
      if (d != 1)
        return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                           "only reshapes to [..., 1, n] are supported");
    }
  if (node_int (json_array_get_element (a, len - 1), -1, G_MAXINT, &last) != 1)
    return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                       "'target_shape' must hold integers");
  src = node_at (ctx, in[0]);
  n = (gint64) src->h * src->w * src->c;
  if (last != -1 && last != n)
    return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L,
                       "cannot reshape %" G_GINT64_FORMAT " values to %d", n,
                       last);
  return add_reshape (ctx, L, in[0], len == 3 ? 4 : 2, out, error);
}

static gboolean
build_nested (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
              GError **error)
{
  gboolean ok;

  if (!need_inputs (L, n_in, 0, 1, error))
    return FALSE;
  if (ctx->scope->len >= MAX_NESTING)
    return layer_fail (error, HIPPO_ERROR_LIMIT, L,
                       "models nested more than %d deep", MAX_NESTING);
  g_ptr_array_add (ctx->scope, (gpointer) L->name);
  ok = build_model (ctx, L->cls, L->config, n_in ? in[0] : -1, out, error);
  g_ptr_array_remove_index (ctx->scope, ctx->scope->len - 1);
  if (!ok)
    return FALSE;
  return hippo_graph_add_alias (ctx->graph, graph_name (ctx, L->name), L->cls,
                                *out, HIPPO_TAP_OUTPUT, error);
}

static const struct
{
  const char *cls;
  BuildFunc build;
} builders[] = {
  { "Conv2D", build_conv2d },
  { "Convolution2D", build_conv2d },
  { "DepthwiseConv2D", build_dwconv2d },
  { "Dense", build_dense },
  { "BatchNormalization", build_batchnorm },
  { "ReLU", build_relu },
  { "Activation", build_activation },
  { "Softmax", build_softmax },
  { "Add", build_add },
  { "Concatenate", build_concat },
  { "ZeroPadding2D", build_zeropad },
  { "AveragePooling2D", build_pool },
  { "MaxPooling2D", build_pool },
  { "GlobalAveragePooling2D", build_gap },
  { "Flatten", build_flatten },
  { "Reshape", build_reshape },
  { "Dropout", build_alias },
  { "SpatialDropout2D", build_alias },
  { "GaussianNoise", build_alias },
  { "GaussianDropout", build_alias },
  { "AlphaDropout", build_alias },
  { "Model", build_nested },
  { "Functional", build_nested },
  { "Sequential", build_nested },
};

static gboolean
is_model_class (const char *cls)
{
  return strcmp (cls, "Model") == 0 || strcmp (cls, "Functional") == 0
         || strcmp (cls, "Sequential") == 0;
}

/* Input */

static gboolean
make_input (Ctx *ctx, const Layer *L, JsonNode *shape_node, gboolean own,
            int *out, GError **error)
{
  Layer input = *L;
  JsonArray *a;
  guint len;
  int dims[3] = { 1, 1, 1 };
  HippoNode *node;

  if (shape_node == NULL || !JSON_NODE_HOLDS_ARRAY (shape_node))
    return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                       "missing array 'batch_input_shape' (the model's "
                       "input size)");
  a = json_node_get_array (shape_node);
  len = json_array_get_length (a);
  if (len != 4 && len != 2)
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "an input of rank %u is not supported", len);
  for (guint i = 1; i < len; i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      int r;

      if (JSON_NODE_HOLDS_NULL (e))
        return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                           "an input without a fixed size is not supported");
      r = node_int (e, 1, HIPPO_MAX_DIM, &dims[len == 4 ? i - 1 : 2]);
      if (r != 1)
        return int_fail (error, L, "batch_input_shape", r, 1, HIPPO_MAX_DIM);
    }
  if (!own)
    {
      /* A Sequential without an InputLayer: Keras names it so. */
      g_autofree char *name = g_strdup_printf ("%s_input", L->name);

      input.name = hippo_graph_intern (ctx->graph, name);
      input.gname = graph_name (ctx, name);
      input.cls = "InputLayer";
    }
  node = add_node (ctx, &input, HIPPO_OP_INPUT, NULL, 0, len, out, error);
  if (node == NULL)
    return FALSE;
  ctx->graph->in_h = node->h = dims[0];
  ctx->graph->in_w = node->w = dims[1];
  ctx->graph->in_c = node->c = dims[2];
  return TRUE;
}

static JsonNode *
input_shape_of (const Layer *L)
{
  JsonNode *s = obj_member (L->cfg, "batch_input_shape");

  return s ? s : obj_member (L->cfg, "batch_shape");
}

/* An InputLayer: the graph's input when there is none yet, else (nested
 * models) another name for the tensor fed in. */
static gboolean
build_input_layer (Ctx *ctx, const Layer *L, int outer_input, int *out,
                   GError **error)
{
  if (outer_input >= 0)
    {
      *out = outer_input;
      return hippo_graph_add_alias (ctx->graph, L->gname, L->cls, outer_input,
                                    HIPPO_TAP_OUTPUT, error);
    }
  if (ctx->graph->nodes->len > 0)
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "models with several inputs are not supported");
  return make_input (ctx, L, input_shape_of (L), TRUE, out, error);
}

/* Fills L from a layer object; index is for messages. */
static gboolean
parse_layer (Ctx *ctx, JsonNode *node, guint index, Layer *L, GError **error)
{
  JsonObject *obj;
  JsonNode *config;

  memset (L, 0, sizeof *L);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "layer %u is not an object", index + 1);
      return FALSE;
    }
  obj = json_node_get_object (node);
  config = obj_member (obj, "config");
  L->config = config;
  if (config != NULL && JSON_NODE_HOLDS_OBJECT (config))
    L->cfg = json_node_get_object (config);
  L->name = node_string (obj_member (obj, "name"));
  if (L->name == NULL)
    L->name = node_string (obj_member (L->cfg, "name"));
  if (L->name == NULL || *L->name == '\0')
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "layer %u has no name", index + 1);
      return FALSE;
    }
  L->cls = node_string (obj_member (obj, "class_name"));
  if (L->cls == NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "layer '%s' has no class_name", L->name);
      return FALSE;
    }
  if (L->cfg == NULL
      && !(strcmp (L->cls, "Sequential") == 0 && config
           && JSON_NODE_HOLDS_ARRAY (config)))
    return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                       "missing object 'config'");
  L->gname = graph_name (ctx, L->name);
  return TRUE;
}

static gboolean
build_layer (Ctx *ctx, const Layer *L, const int *in, int n_in, int *out,
             GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (builders); i++)
    if (strcmp (L->cls, builders[i].cls) == 0)
      {
        if (n_in == 0 && !is_model_class (L->cls))
          return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L,
                             "has no input");
        return builders[i].build (ctx, L, in, n_in, out, error);
      }
  return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                     "layer class '%s' is not supported", L->cls);
}

/* Sequential */

static gboolean
build_sequential (Ctx *ctx, JsonNode *config, int outer_input, int *out,
                  GError **error)
{
  JsonNode *ln = config;
  JsonArray *layers;
  guint n;
  int cur = outer_input;

  if (config != NULL && JSON_NODE_HOLDS_OBJECT (config))
    ln = obj_member (json_node_get_object (config), "layers");
  if (ln == NULL || !JSON_NODE_HOLDS_ARRAY (ln))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "a Sequential model has no 'layers' array");
      return FALSE;
    }
  layers = json_node_get_array (ln);
  n = json_array_get_length (layers);
  if (n > HIPPO_MAX_NODES)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT, "more than %d layers",
                   HIPPO_MAX_NODES);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      Layer L;
      int next;

      if (!parse_layer (ctx, json_array_get_element (layers, i), i, &L, error))
        return FALSE;
      if (strcmp (L.cls, "InputLayer") == 0)
        {
          if (!build_input_layer (ctx, &L, cur, &next, error))
            return FALSE;
        }
      else
        {
          if (cur < 0 && !is_model_class (L.cls)
              && !make_input (ctx, &L, input_shape_of (&L), FALSE, &cur, error))
            return FALSE;
          if (!build_layer (ctx, &L, &cur, cur < 0 ? 0 : 1, &next, error))
            return FALSE;
        }
      cur = next;
    }
  if (cur < 0)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "a Sequential model has no layers");
      return FALSE;
    }
  *out = cur;
  return TRUE;
}

/* Functional */

typedef struct
{
  Layer *layers;
  guint n;
  GHashTable *index; /* name -> 1 + position */
  guint *dep_start;  /* n + 1 */
  GArray *deps;      /* guint positions */
  int *node;         /* graph node of each layer's output */
} Functional;

static void
functional_clear (Functional *f)
{
  g_free (f->layers);
  if (f->index)
    g_hash_table_unref (f->index);
  g_free (f->dep_start);
  if (f->deps)
    g_array_unref (f->deps);
  g_free (f->node);
}

/* Parses a [name, node_index, tensor_index, kwargs?] reference. */
static gboolean
parse_ref (const Functional *f, const Layer *L, JsonNode *ref, guint *pos,
           GError **error)
{
  JsonArray *a;
  const char *name;
  int node_index, tensor_index;
  gpointer v;

  if (ref == NULL || !JSON_NODE_HOLDS_ARRAY (ref)
      || json_array_get_length (json_node_get_array (ref)) < 3)
    return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                       "an inbound node is not [name, node_index, "
                       "tensor_index, kwargs]");
  a = json_node_get_array (ref);
  name = node_string (json_array_get_element (a, 0));
  if (name == NULL
      || node_int (json_array_get_element (a, 1), 0, G_MAXINT, &node_index) != 1
      || node_int (json_array_get_element (a, 2), 0, G_MAXINT, &tensor_index)
           != 1)
    return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                       "an inbound node is not [name, node_index, "
                       "tensor_index, kwargs]");
  if (node_index != 0)
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "shared layers are not supported (input '%s' node "
                       "%d)",
                       name, node_index);
  if (tensor_index != 0)
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "layers with several outputs are not supported "
                       "(input '%s' tensor %d)",
                       name, tensor_index);
  if (!g_hash_table_lookup_extended (f->index, name, NULL, &v))
    return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L,
                       "its input '%s' is not a layer of the model", name);
  *pos = GPOINTER_TO_UINT (v) - 1;
  return TRUE;
}

static gboolean
parse_inbound (Functional *f, guint i, JsonNode *layer_node, GError **error)
{
  const Layer *L = &f->layers[i];
  JsonNode *in
    = obj_member (json_node_get_object (layer_node), "inbound_nodes");
  JsonArray *calls, *refs;
  JsonNode *call;

  f->dep_start[i] = f->deps->len;
  if (in == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (in))
    return layer_fail (error, HIPPO_ERROR_MODEL_FORMAT, L,
                       "'inbound_nodes' must be an array");
  calls = json_node_get_array (in);
  if (json_array_get_length (calls) == 0)
    return TRUE;
  if (json_array_get_length (calls) > 1)
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "shared layers (called %u times) are not supported",
                       json_array_get_length (calls));
  call = json_array_get_element (calls, 0);
  if (!JSON_NODE_HOLDS_ARRAY (call))
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                       "this 'inbound_nodes' format is not supported");
  refs = json_node_get_array (call);
  if (json_array_get_length (refs) > HIPPO_MAX_NODES)
    return layer_fail (error, HIPPO_ERROR_LIMIT, L, "too many inputs");
  for (guint k = 0; k < json_array_get_length (refs); k++)
    {
      guint pos;

      if (!parse_ref (f, L, json_array_get_element (refs, k), &pos, error))
        return FALSE;
      g_array_append_val (f->deps, pos);
    }
  return TRUE;
}

/* Depth-first post-order in file order: the file order itself when the
 * file is already topological. */
static gboolean
topo_sort (Functional *f, guint *order, GError **error)
{
  g_autofree guint8 *state = g_new0 (guint8, f->n ? f->n : 1);
  g_autofree guint *stack = g_new (guint, 2 * (f->n ? f->n : 1));
  guint n_order = 0;
  const guint *deps = (const guint *) f->deps->data;

  for (guint s = 0; s < f->n; s++)
    {
      guint top = 0;

      if (state[s])
        continue;
      state[s] = 1;
      stack[0] = s, stack[1] = f->dep_start[s];
      top = 1;
      while (top > 0)
        {
          guint v = stack[2 * (top - 1)];
          guint k = stack[2 * (top - 1) + 1];

          if (k < f->dep_start[v + 1])
            {
              guint d = deps[k];

              stack[2 * (top - 1) + 1]++;
              if (state[d] == 1)
                return layer_fail (
                  error, HIPPO_ERROR_MODEL_INVALID, &f->layers[v],
                  "its input '%s' depends on it (a cycle)", f->layers[d].name);
              if (state[d] == 0)
                {
                  state[d] = 1;
                  stack[2 * top] = d, stack[2 * top + 1] = f->dep_start[d];
                  top++;
                }
            }
          else
            {
              state[v] = 2;
              order[n_order++] = v;
              top--;
            }
        }
    }
  return TRUE;
}

static gboolean
io_layer (Functional *f, JsonObject *cfg, const char *key, guint *pos,
          GError **error)
{
  JsonNode *node = obj_member (cfg, key);
  JsonArray *a;
  JsonNode *ref;
  const char *name;
  gpointer v;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "a functional model has no '%s' array", key);
      return FALSE;
    }
  a = json_node_get_array (node);
  /* One input written flat, [name, 0, 0], as newer tf.keras does. */
  if (json_array_get_length (a) >= 1
      && node_string (json_array_get_element (a, 0)) != NULL)
    name = node_string (json_array_get_element (a, 0));
  else if (json_array_get_length (a) != 1)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_UNSUPPORTED,
                   "models with %u %s are not supported (only one)",
                   json_array_get_length (a), key);
      return FALSE;
    }
  else
    name = NULL;
  ref = json_array_get_element (a, 0);
  if (name == NULL
      && (ref == NULL || !JSON_NODE_HOLDS_ARRAY (ref)
          || json_array_get_length (json_node_get_array (ref)) < 1
          || (name = node_string (
                json_array_get_element (json_node_get_array (ref), 0)))
               == NULL))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "'%s' entries must be [name, node_index, tensor_index]",
                   key);
      return FALSE;
    }
  if (!g_hash_table_lookup_extended (f->index, name, NULL, &v))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                   "'%s' names '%s', which is not a layer of the model", key,
                   name);
      return FALSE;
    }
  *pos = GPOINTER_TO_UINT (v) - 1;
  return TRUE;
}

static gboolean
build_functional_layers (Ctx *ctx, Functional *f, JsonObject *cfg,
                         int outer_input, int *out, GError **error)
{
  JsonNode *ln = obj_member (cfg, "layers");
  JsonArray *layers;
  g_autofree guint *order = NULL;
  g_autofree int *in = NULL;
  guint out_pos, in_pos;
  gboolean seen_input = FALSE;

  if (ln == NULL || !JSON_NODE_HOLDS_ARRAY (ln))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "a functional model has no 'layers' array");
      return FALSE;
    }
  layers = json_node_get_array (ln);
  f->n = json_array_get_length (layers);
  if (f->n > HIPPO_MAX_NODES)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT, "more than %d layers",
                   HIPPO_MAX_NODES);
      return FALSE;
    }
  f->layers = g_new0 (Layer, f->n ? f->n : 1);
  f->index = g_hash_table_new (g_str_hash, g_str_equal);
  f->dep_start = g_new0 (guint, f->n + 1);
  f->deps = g_array_new (FALSE, FALSE, sizeof (guint));
  f->node = g_new (int, f->n ? f->n : 1);
  for (guint i = 0; i < f->n; i++)
    {
      Layer *L = &f->layers[i];

      f->node[i] = -1;
      if (!parse_layer (ctx, json_array_get_element (layers, i), i, L, error))
        return FALSE;
      if (g_hash_table_contains (f->index, L->name))
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                       "two layers are named '%s'", L->name);
          return FALSE;
        }
      g_hash_table_insert (f->index, (gpointer) L->name,
                           GUINT_TO_POINTER (i + 1));
    }
  for (guint i = 0; i < f->n; i++)
    if (!parse_inbound (f, i, json_array_get_element (layers, i), error))
      return FALSE;
  f->dep_start[f->n] = f->deps->len;
  if (!io_layer (f, cfg, "input_layers", &in_pos, error)
      || !io_layer (f, cfg, "output_layers", &out_pos, error))
    return FALSE;

  order = g_new (guint, f->n ? f->n : 1);
  if (!topo_sort (f, order, error))
    return FALSE;

  in = g_new (int, f->deps->len ? f->deps->len : 1);
  for (guint j = 0; j < f->n; j++)
    {
      guint i = order[j];
      Layer *L = &f->layers[i];
      guint n_in = f->dep_start[i + 1] - f->dep_start[i];

      /* Names are resolved when built, so that a nested model's layers
       * claim theirs first in graph order. */
      L->gname = graph_name (ctx, L->name);
      for (guint k = 0; k < n_in; k++)
        in[k] = f->node[g_array_index (f->deps, guint, f->dep_start[i] + k)];
      if (strcmp (L->cls, "InputLayer") == 0)
        {
          if (n_in != 0)
            return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L,
                               "an InputLayer has inputs");
          if (seen_input)
            return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, L,
                               "models with several inputs are not "
                               "supported");
          seen_input = TRUE;
          if (!build_input_layer (ctx, L, outer_input, &f->node[i], error))
            return FALSE;
        }
      else
        {
          if (n_in == 0)
            return layer_fail (error, HIPPO_ERROR_MODEL_INVALID, L,
                               "has no input");
          if (!build_layer (ctx, L, in, n_in, &f->node[i], error))
            return FALSE;
        }
    }
  if (strcmp (f->layers[in_pos].cls, "InputLayer") != 0)
    return layer_fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, &f->layers[in_pos],
                       "the model's input is not an InputLayer");
  *out = f->node[out_pos];
  return TRUE;
}

static gboolean
build_functional (Ctx *ctx, JsonNode *config, int outer_input, int *out,
                  GError **error)
{
  Functional f = { 0 };
  gboolean ok;

  if (config == NULL || !JSON_NODE_HOLDS_OBJECT (config))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "a functional model has no 'config' object");
      return FALSE;
    }
  ok = build_functional_layers (ctx, &f, json_node_get_object (config),
                                outer_input, out, error);
  functional_clear (&f);
  return ok;
}

static gboolean
build_model (Ctx *ctx, const char *cls, JsonNode *config, int outer_input,
             int *out, GError **error)
{
  if (strcmp (cls, "Sequential") == 0)
    return build_sequential (ctx, config, outer_input, out, error);
  if (strcmp (cls, "Model") == 0 || strcmp (cls, "Functional") == 0)
    return build_functional (ctx, config, outer_input, out, error);
  g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_UNSUPPORTED,
               "model class '%s' is not supported", cls);
  return FALSE;
}

HippoGraph *
hippo_read_layers_model (JsonObject *model_topology, HippoWeights *weights,
                         GError **error)
{
  JsonObject *mc = model_topology;
  JsonNode *mcn;
  const char *cls;
  Ctx ctx;
  int out = -1;
  gboolean ok;

  g_return_val_if_fail (model_topology != NULL, NULL);
  g_return_val_if_fail (weights != NULL, NULL);

  mcn = obj_member (model_topology, "model_config");
  if (mcn != NULL)
    {
      if (!JSON_NODE_HOLDS_OBJECT (mcn))
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                       "'model_config' is not an object");
          return NULL;
        }
      mc = json_node_get_object (mcn);
    }
  cls = node_string (obj_member (mc, "class_name"));
  if (cls == NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "the model topology has no class_name");
      return NULL;
    }

  ctx.graph = hippo_graph_new ();
  ctx.weights = weights;
  ctx.rank = g_array_new (FALSE, FALSE, sizeof (int));
  ctx.scope = g_ptr_array_new ();
  ok = build_model (&ctx, cls, obj_member (mc, "config"), -1, &out, error);
  g_array_unref (ctx.rank);
  g_ptr_array_unref (ctx.scope);
  if (!ok)
    {
      hippo_graph_free (ctx.graph);
      return NULL;
    }
  ctx.graph->output = out;
  ctx.graph->n_params = hippo_weights_count (weights);
  return ctx.graph;
}
