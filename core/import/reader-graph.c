/* The TF.js graph-model reader: the GraphDef nodes of a model.json
 * ("modelTopology": {node: [{name, op, input, attr}]}) to the raw engine
 * graph.  Const values come from the weights manifest by node name.  Only
 * the fusions the file states (_FusedConv2D and friends) are applied here;
 * the optimiser does the rest.
 */
#include "hippo-config.h"

#include <math.h>
#include <string.h>

#include "reader.h"

#define MAX_FILE_NODES (HIPPO_MAX_NODES + HIPPO_MAX_WEIGHT_TENSORS)
#define MAX_NODE_INPUTS 65536
#define MAX_EDGES (G_GUINT64_CONSTANT (1) << 24)
#define MAX_ATTR_LIST 64
#define MAX_ATTR_B64 1024

typedef enum
{
  VAL_NONE,  /* not processed yet, or no value (NoOp) */
  VAL_NODE,  /* an engine node */
  VAL_CONST, /* a constant from the weights manifest */
} ValKind;

typedef struct
{
  ValKind kind;
  int node;           /* VAL_NODE: engine node index */
  int rank;           /* VAL_NODE: 4 (NHWC) or 2 ([N, C], kept as 1x1xC) */
  const char *tensor; /* VAL_CONST: the manifest name */
} Value;

typedef struct
{
  const char *name;
  const char *op;
  JsonObject *attr; /* NULL when absent */
  int *in;          /* data inputs, as file node indices */
  int n_in;
} FileNode;

typedef struct
{
  HippoGraph *graph;
  HippoWeights *weights;
  FileNode *fn;
  Value *val;
  guint n;
} Reader;

typedef gboolean (*OpFunc) (Reader *r, const FileNode *f, int flags, Value *out,
                            GError **error);

/* Flags of the op table. */
enum
{
  F_DEPTHWISE = 1 << 0,
  F_FUSED = 1 << 1,
  F_MAX = 1 << 2,
  F_V2 = 1 << 3,
};

/* Element-wise ops with a constant. */
typedef enum
{
  BIN_ADD,
  BIN_SUB,
  BIN_MUL,
  BIN_DIV,
  BIN_MAX,
  BIN_MIN,
} BinOp;

static gboolean fail (GError **error, int code, const FileNode *f,
                      const char *fmt, ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail (GError **error, int code, const FileNode *f, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, HIPPO_ERROR, code, "node '%s' (%s): %s", f->name, f->op,
               msg);
  return FALSE;
}

/* JSON scalars: TF writes int64 as strings, floats as numbers. */

static gboolean
json_to_i64 (JsonNode *n, gint64 *out)
{
  GType t;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  t = json_node_get_value_type (n);
  if (t == G_TYPE_INT64)
    {
      *out = json_node_get_int (n);
      return TRUE;
    }
  if (t == G_TYPE_STRING)
    return g_ascii_string_to_signed (json_node_get_string (n), 10, G_MININT64,
                                     G_MAXINT64, out, NULL);
  if (t == G_TYPE_DOUBLE)
    {
      double d = json_node_get_double (n);

      if (!isfinite (d) || d != floor (d) || fabs (d) > 9e15)
        return FALSE;
      *out = (gint64)d;
      return TRUE;
    }
  return FALSE;
}

static gboolean
json_to_double (JsonNode *n, double *out)
{
  GType t;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  t = json_node_get_value_type (n);
  if (t == G_TYPE_INT64)
    *out = (double)json_node_get_int (n);
  else if (t == G_TYPE_DOUBLE)
    *out = json_node_get_double (n);
  else if (t == G_TYPE_STRING)
    {
      const char *s = json_node_get_string (n);
      char *end = NULL;

      *out = g_ascii_strtod (s, &end);
      if (end == s || *end != '\0')
        return FALSE;
    }
  else
    return FALSE;
  return TRUE;
}

static const char *
member_string (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n)
      || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

/* Decodes a base64 attr string; NULL unless it is strict base64 of
 * printable ASCII. */
static char *
decode_b64 (const char *s)
{
  gsize len = strlen (s), out_len = 0;
  guchar *raw;
  char *res;

  if (len == 0)
    return g_strdup ("");
  if (len > MAX_ATTR_B64 || len % 4 != 0)
    return NULL;
  for (gsize i = 0; i < len; i++)
    {
      char c = s[i];

      if (g_ascii_isalnum (c) || c == '+' || c == '/')
        continue;
      if (c == '=' && (i == len - 1 || (i == len - 2 && s[len - 1] == '=')))
        continue;
      return NULL;
    }
  raw = g_base64_decode (s, &out_len);
  for (gsize i = 0; i < out_len; i++)
    if (raw[i] < 0x20 || raw[i] > 0x7e)
      {
        g_free (raw);
        return NULL;
      }
  res = g_strndup ((const char *)raw, out_len);
  g_free (raw);
  return res;
}

/* Attributes.  An attr is {"KEY": value}; an absent attr or an empty
 * object gives the default, another key is a type error. */

static gboolean
attr_get (const FileNode *f, const char *name, const char *key, JsonNode **out,
          GError **error)
{
  JsonNode *a;
  JsonObject *o;

  *out = NULL;
  if (f->attr == NULL || (a = json_object_get_member (f->attr, name)) == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (a))
    return fail (error, HIPPO_ERROR_MODEL_FORMAT, f,
                 "attribute '%s' is not an object", name);
  o = json_node_get_object (a);
  *out = json_object_get_member (o, key);
  if (*out == NULL && json_object_get_size (o) > 0)
    return fail (error, HIPPO_ERROR_MODEL_FORMAT, f,
                 "attribute '%s' has the wrong type (expected '%s')", name,
                 key);
  return TRUE;
}

static gboolean
missing_attr (const FileNode *f, const char *name, GError **error)
{
  return fail (error, HIPPO_ERROR_MODEL_FORMAT, f, "attribute '%s' is missing",
               name);
}

static gboolean
bad_attr (const FileNode *f, const char *name, GError **error)
{
  return fail (error, HIPPO_ERROR_MODEL_FORMAT, f,
               "attribute '%s' has a malformed value", name);
}

static gboolean
attr_bool (const FileNode *f, const char *name, gboolean def, gboolean *out,
           GError **error)
{
  JsonNode *v;

  if (!attr_get (f, name, "b", &v, error))
    return FALSE;
  *out = def;
  if (v == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (v)
      || json_node_get_value_type (v) != G_TYPE_BOOLEAN)
    return bad_attr (f, name, error);
  *out = json_node_get_boolean (v);
  return TRUE;
}

static gboolean
attr_int (const FileNode *f, const char *name, gint64 def, gint64 *out,
          GError **error)
{
  JsonNode *v;

  if (!attr_get (f, name, "i", &v, error))
    return FALSE;
  *out = def;
  if (v != NULL && !json_to_i64 (v, out))
    return bad_attr (f, name, error);
  return TRUE;
}

static gboolean
attr_float (const FileNode *f, const char *name, double def, double *out,
            GError **error)
{
  JsonNode *v;

  if (!attr_get (f, name, "f", &v, error))
    return FALSE;
  *out = def;
  if (v != NULL && (!json_to_double (v, out) || !isfinite (*out)))
    return bad_attr (f, name, error);
  return TRUE;
}

/* A string attr, decoded; def (may be NULL) when absent.  *out is
 * allocated (NULL only when absent and def is NULL). */
static gboolean
attr_string (const FileNode *f, const char *name, const char *def, char **out,
             GError **error)
{
  JsonNode *v;

  if (!attr_get (f, name, "s", &v, error))
    return FALSE;
  *out = NULL;
  if (v == NULL)
    {
      *out = g_strdup (def);
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (v)
      || json_node_get_value_type (v) != G_TYPE_STRING)
    return bad_attr (f, name, error);
  *out = decode_b64 (json_node_get_string (v));
  if (*out == NULL)
    return fail (error, HIPPO_ERROR_MODEL_FORMAT, f,
                 "attribute '%s' is not a valid base64 string", name);
  return TRUE;
}

static gboolean
attr_type (const FileNode *f, const char *name, const char **out,
           GError **error)
{
  JsonNode *v;

  if (!attr_get (f, name, "type", &v, error))
    return FALSE;
  *out = NULL;
  if (v == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (v)
      || json_node_get_value_type (v) != G_TYPE_STRING)
    return bad_attr (f, name, error);
  *out = json_node_get_string (v);
  return TRUE;
}

/* The JSON array of a list attr, {"list": {key: [...]}}; NULL when absent
 * or empty ({"list": {}}). */
static gboolean
attr_list (const FileNode *f, const char *name, const char *key,
           JsonArray **out, gboolean *present, GError **error)
{
  JsonNode *v, *items;
  JsonObject *lo;

  *out = NULL;
  *present = FALSE;
  if (!attr_get (f, name, "list", &v, error))
    return FALSE;
  if (v == NULL)
    return TRUE;
  *present = TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (v))
    return bad_attr (f, name, error);
  lo = json_node_get_object (v);
  items = json_object_get_member (lo, key);
  if (items == NULL)
    {
      if (json_object_get_size (lo) > 0)
        return fail (error, HIPPO_ERROR_MODEL_FORMAT, f,
                     "attribute '%s' has the wrong list type (expected "
                     "'%s')",
                     name, key);
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (items)
      || json_array_get_length (json_node_get_array (items)) > MAX_ATTR_LIST)
    return bad_attr (f, name, error);
  *out = json_node_get_array (items);
  return TRUE;
}

/* An int list attr into out[max]; *n = -1 when absent. */
static gboolean
attr_ints (const FileNode *f, const char *name, gint64 *out, int max, int *n,
           GError **error)
{
  JsonArray *a;
  gboolean present;

  *n = -1;
  if (!attr_list (f, name, "i", &a, &present, error))
    return FALSE;
  if (!present)
    return TRUE;
  *n = a ? (int)json_array_get_length (a) : 0;
  if (*n > max)
    return bad_attr (f, name, error);
  for (int i = 0; i < *n; i++)
    if (!json_to_i64 (json_array_get_element (a, i), &out[i]))
      return bad_attr (f, name, error);
  return TRUE;
}

/* A string list attr, decoded, as a NULL-terminated vector. */
static gboolean
attr_strings (const FileNode *f, const char *name, GStrv *out, GError **error)
{
  JsonArray *a;
  gboolean present;
  guint n;

  *out = NULL;
  if (!attr_list (f, name, "s", &a, &present, error))
    return FALSE;
  n = a ? json_array_get_length (a) : 0;
  *out = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (a, i);

      if (!JSON_NODE_HOLDS_VALUE (e)
          || json_node_get_value_type (e) != G_TYPE_STRING)
        return bad_attr (f, name, error);
      (*out)[i] = decode_b64 (json_node_get_string (e));
      if ((*out)[i] == NULL)
        return fail (error, HIPPO_ERROR_MODEL_FORMAT, f,
                     "attribute '%s' holds an invalid base64 string", name);
    }
  return TRUE;
}

static gboolean
check_nhwc (const FileNode *f, GError **error)
{
  g_autofree char *fmt = NULL;

  if (!attr_string (f, "data_format", "NHWC", &fmt, error))
    return FALSE;
  if (strcmp (fmt, "NHWC") != 0)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "data format '%s' is not supported (only NHWC)", fmt);
  return TRUE;
}

/* A 4-entry NHWC list attr [1, y, x, 1] (strides, ksize, dilations). */
static gboolean
attr_hw (const FileNode *f, const char *name, gboolean required, int max,
         int *y, int *x, GError **error)
{
  gint64 v[MAX_ATTR_LIST];
  int n;

  if (!attr_ints (f, name, v, MAX_ATTR_LIST, &n, error))
    return FALSE;
  if (n < 0)
    {
      if (required)
        return missing_attr (f, name, error);
      *y = *x = 1;
      return TRUE;
    }
  if (n != 4)
    return fail (error, HIPPO_ERROR_MODEL_FORMAT, f,
                 "attribute '%s' has %d entries, not 4", name, n);
  if (v[0] != 1 || v[3] != 1)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "attribute '%s' acts on the batch or channel axis", name);
  if (v[1] < 1 || v[2] < 1 || v[1] > max || v[2] > max)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "attribute '%s' = %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                 " is out of the supported range 1..%d",
                 name, v[1], v[2], max);
  *y = (int)v[1];
  *x = (int)v[2];
  return TRUE;
}

/* Input values. */

static HippoNode *
node_at (Reader *r, int i)
{
  return g_ptr_array_index (r->graph->nodes, i);
}

static gboolean
want_inputs (const FileNode *f, int lo, int hi, GError **error)
{
  if (f->n_in < lo || f->n_in > hi)
    {
      if (lo == hi)
        return fail (error, HIPPO_ERROR_MODEL_FORMAT, f,
                     "has %d inputs, expected %d", f->n_in, lo);
      return fail (error, HIPPO_ERROR_MODEL_FORMAT, f,
                   "has %d inputs, expected %d to %d", f->n_in, lo, hi);
    }
  return TRUE;
}

/* Input i as a tensor (an engine node); rank 0 = any. */
static const Value *
in_node (Reader *r, const FileNode *f, int i, int rank, GError **error)
{
  const Value *v = &r->val[f->in[i]];

  if (v->kind == VAL_CONST)
    {
      fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
            "input %d ('%s') is a constant where a tensor is expected "
            "(constant folding is not implemented)",
            i, r->fn[f->in[i]].name);
      return NULL;
    }
  if (v->kind != VAL_NODE)
    {
      fail (error, HIPPO_ERROR_MODEL_INVALID, f, "input %d ('%s') has no value",
            i, r->fn[f->in[i]].name);
      return NULL;
    }
  if (rank != 0 && v->rank != rank)
    {
      fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
            "expects a %d-D input, '%s' is %d-D", rank, r->fn[f->in[i]].name,
            v->rank);
      return NULL;
    }
  return v;
}

/* Input i as a constant tensor from the manifest. */
static HippoWeight *
in_const (Reader *r, const FileNode *f, int i, GError **error)
{
  const Value *v = &r->val[f->in[i]];

  if (v->kind != VAL_CONST)
    {
      fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
            "input %d ('%s') must be a constant", i, r->fn[f->in[i]].name);
      return NULL;
    }
  return hippo_weights_require (r->weights, v->tensor, 0, f->name, error);
}

/* The values of a constant as integers. */
static gboolean
const_ints (const FileNode *f, const HippoWeight *w, gint64 *out, gsize max,
            GError **error)
{
  if (w->n > max)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "constant '%s' has %" G_GSIZE_FORMAT " values, expected at "
                 "most %" G_GSIZE_FORMAT,
                 w->name, w->n, max);
  for (gsize i = 0; i < w->n; i++)
    {
      float x = w->data[i];

      if (!isfinite (x) || x != floorf (x) || fabsf (x) > 1e9f)
        return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                     "constant '%s' must hold integers", w->name);
      out[i] = (gint64)x;
    }
  return TRUE;
}

static float *
copy_floats (Reader *r, const float *src, gsize n, GError **error)
{
  float *p = hippo_graph_alloc (r->graph, n, error);

  if (p != NULL)
    memcpy (p, src, n * sizeof (float));
  return p;
}

/* Adds the engine node for f; checks the data type attribute T. */
static HippoNode *
new_node (Reader *r, const FileNode *f, HippoOp op, const int *inputs,
          int n_inputs, int rank, Value *out, GError **error)
{
  const char *t;
  HippoNode *node;

  if (!attr_type (f, "T", &t, error))
    return NULL;
  if (t != NULL && strcmp (t, "DT_FLOAT") != 0)
    {
      fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
            "data type %s is not supported (only DT_FLOAT)", t);
      return NULL;
    }
  node = hippo_graph_add_node (r->graph, f->name, f->op, op, inputs, n_inputs,
                               error);
  if (node == NULL)
    return NULL;
  out->kind = VAL_NODE;
  out->node = r->graph->nodes->len - 1;
  out->rank = rank;
  return node;
}

static gboolean
act_of (const char *name, HippoAct *act, float *lo, float *hi)
{
  *lo = -INFINITY;
  *hi = INFINITY;
  if (strcmp (name, "Relu") == 0)
    *act = HIPPO_ACT_CLAMP, *lo = 0;
  else if (strcmp (name, "Relu6") == 0)
    *act = HIPPO_ACT_CLAMP, *lo = 0, *hi = 6;
  else if (strcmp (name, "Sigmoid") == 0)
    *act = HIPPO_ACT_SIGMOID;
  else if (strcmp (name, "Tanh") == 0)
    *act = HIPPO_ACT_TANH;
  else
    return FALSE;
  return TRUE;
}

/* Output size of a window along one axis. */
static gboolean
window_out (const FileNode *f, int in, int pa, int pb, int k, int s, int d,
            int *out, GError **error)
{
  gint64 eff = (gint64)(k - 1) * d + 1;
  gint64 span = (gint64)in + pa + pb - eff;

  if (span < 0)
    return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                 "the window (%d, dilation %d) is larger than the padded "
                 "input (%d)",
                 k, d, in + pa + pb);
  *out = (int)(span / s + 1);
  return TRUE;
}

/* Resolves the padding attr into pads t, b, l, r. */
static gboolean
read_padding (const FileNode *f, gboolean allow_explicit, const HippoNode *in,
              int kh, int kw, int sh, int sw, int dh, int dw, int pads[4],
              GError **error)
{
  g_autofree char *mode = NULL;

  if (!attr_string (f, "padding", NULL, &mode, error))
    return FALSE;
  if (mode == NULL)
    return missing_attr (f, "padding", error);
  if (strcmp (mode, "VALID") == 0)
    {
      pads[0] = pads[1] = pads[2] = pads[3] = 0;
      return TRUE;
    }
  if (strcmp (mode, "SAME") == 0)
    {
      hippo_same_padding (in->h, kh, sh, dh, &pads[0], &pads[1]);
      hippo_same_padding (in->w, kw, sw, dw, &pads[2], &pads[3]);
      return TRUE;
    }
  if (strcmp (mode, "EXPLICIT") == 0 && allow_explicit)
    {
      gint64 v[MAX_ATTR_LIST];
      int n;

      if (!attr_ints (f, "explicit_paddings", v, MAX_ATTR_LIST, &n, error))
        return FALSE;
      if (n != 8)
        return fail (error, HIPPO_ERROR_MODEL_FORMAT, f,
                     "attribute 'explicit_paddings' needs 8 entries");
      if (v[0] != 0 || v[1] != 0 || v[6] != 0 || v[7] != 0)
        return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                     "padding of the batch or channel axis");
      for (int i = 0; i < 4; i++)
        {
          if (v[2 + i] < 0 || v[2 + i] > HIPPO_MAX_KERNEL * HIPPO_MAX_KERNEL)
            return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                         "explicit padding %" G_GINT64_FORMAT
                         " is out of range",
                         v[2 + i]);
          pads[i] = (int)v[2 + i];
        }
      return TRUE;
    }
  return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
               "padding '%s' is not supported", mode);
}

/* The ops. */

static gboolean
read_placeholder (Reader *r, const FileNode *f, int flags, Value *out,
                  GError **error)
{
  const char *dtype;
  JsonNode *v;
  JsonObject *shape;
  JsonNode *dims_node;
  JsonArray *dims;
  gint64 d[4];
  HippoNode *node;

  if (r->graph->nodes->len > 0)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "models with several inputs are not supported");
  if (!attr_type (f, "dtype", &dtype, error))
    return FALSE;
  if (dtype != NULL && strcmp (dtype, "DT_FLOAT") != 0)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "input data type %s is not supported (only DT_FLOAT)", dtype);
  if (!attr_get (f, "shape", "shape", &v, error))
    return FALSE;
  if (v == NULL)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "input size unknown (no shape)");
  if (!JSON_NODE_HOLDS_OBJECT (v))
    return bad_attr (f, "shape", error);
  shape = json_node_get_object (v);
  dims_node = json_object_get_member (shape, "dim");
  if (dims_node == NULL)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "input size unknown (unknown rank)");
  if (!JSON_NODE_HOLDS_ARRAY (dims_node))
    return bad_attr (f, "shape", error);
  dims = json_node_get_array (dims_node);
  if (json_array_get_length (dims) != 4)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "the input must be 4-D [batch, height, width, channels], "
                 "it has %u dimensions",
                 json_array_get_length (dims));
  for (int i = 0; i < 4; i++)
    {
      JsonNode *e = json_array_get_element (dims, i);
      JsonNode *size;

      if (!JSON_NODE_HOLDS_OBJECT (e))
        return bad_attr (f, "shape", error);
      size = json_object_get_member (json_node_get_object (e), "size");
      d[i] = 0;
      if (size != NULL && !json_to_i64 (size, &d[i]))
        return bad_attr (f, "shape", error);
    }
  if (d[1] < 0 || d[2] < 0)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "input size unknown (shape [%" G_GINT64_FORMAT
                 ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                 ", %" G_GINT64_FORMAT "])",
                 d[0], d[1], d[2], d[3]);
  if (d[3] < 0)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "input channel count unknown");
  if (d[0] == 0 || d[0] < -1)
    return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                 "input batch size %" G_GINT64_FORMAT " is invalid", d[0]);
  if (d[1] < 1 || d[2] < 1 || d[3] < 1 || d[1] > HIPPO_MAX_DIM
      || d[2] > HIPPO_MAX_DIM || d[3] > HIPPO_MAX_DIM)
    return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                 "input size %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                 "x%" G_GINT64_FORMAT " is out of range",
                 d[1], d[2], d[3]);
  if (!want_inputs (f, 0, 0, error))
    return FALSE;
  node = hippo_graph_add_node (r->graph, f->name, f->op, HIPPO_OP_INPUT, NULL,
                               0, error);
  if (node == NULL)
    return FALSE;
  r->graph->in_h = node->h = (int)d[1];
  r->graph->in_w = node->w = (int)d[2];
  r->graph->in_c = node->c = (int)d[3];
  out->kind = VAL_NODE;
  out->node = 0;
  out->rank = 4;
  return TRUE;
}

static gboolean
read_const (Reader *r, const FileNode *f, int flags, Value *out, GError **error)
{
  out->kind = VAL_CONST;
  out->tensor = f->name;
  return TRUE;
}

static gboolean
read_identity (Reader *r, const FileNode *f, int flags, Value *out,
               GError **error)
{
  const Value *v;

  if (!want_inputs (f, 1, 1, error))
    return FALSE;
  v = &r->val[f->in[0]];
  if (v->kind == VAL_CONST)
    {
      *out = *v;
      return TRUE;
    }
  if ((v = in_node (r, f, 0, 0, error)) == NULL)
    return FALSE;
  if (!hippo_graph_add_alias (r->graph, f->name, f->op, v->node,
                              HIPPO_TAP_OUTPUT, error))
    return FALSE;
  *out = *v;
  return TRUE;
}

static gboolean
read_noop (Reader *r, const FileNode *f, int flags, Value *out, GError **error)
{
  out->kind = VAL_NONE;
  return TRUE;
}

/* The fused ops of _FusedConv2D, FusedDepthwiseConv2dNative and
 * _FusedMatMul. */
typedef struct
{
  gboolean bias;
  gboolean bn;
  double epsilon;
  HippoAct act;
  float lo, hi;
} Fused;

static gboolean
read_fused (const FileNode *f, gboolean allow_bn, int n_extra, Fused *fu,
            GError **error)
{
  g_auto (GStrv) ops = NULL;
  int n, n_args = 0;
  gint64 num_args;

  memset (fu, 0, sizeof *fu);
  fu->act = HIPPO_ACT_NONE;
  fu->lo = -INFINITY;
  fu->hi = INFINITY;
  if (!attr_strings (f, "fused_ops", &ops, error))
    return FALSE;
  n = g_strv_length (ops);
  for (int i = 0; i < n; i++)
    {
      if (i == 0 && strcmp (ops[i], "BiasAdd") == 0)
        fu->bias = TRUE, n_args = 1;
      else if (i == 0 && allow_bn && strcmp (ops[i], "FusedBatchNorm") == 0)
        fu->bn = TRUE, n_args = 4;
      else if (i != n - 1 || !act_of (ops[i], &fu->act, &fu->lo, &fu->hi))
        return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                     "fused op '%s' is not supported", ops[i]);
    }
  if (!attr_int (f, "num_args", n_args, &num_args, error))
    return FALSE;
  if (num_args != n_args || n_extra != n_args)
    return fail (error, HIPPO_ERROR_MODEL_FORMAT, f,
                 "has %d extra inputs and num_args %" G_GINT64_FORMAT
                 ", its fused ops need %d",
                 n_extra, num_args, n_args);
  if (fu->bn)
    {
      if (!attr_float (f, "epsilon", 1e-4, &fu->epsilon, error))
        return FALSE;
      if (fu->epsilon < 0)
        return bad_attr (f, "epsilon", error);
    }
  return TRUE;
}

/* Per-channel batch normalisation from inputs first..first+3 (scale,
 * offset, mean, variance) into scale and shift of c values each. */
static gboolean
read_bn (Reader *r, const FileNode *f, int first, int c, double eps,
         float *scale, float *shift, GError **error)
{
  HippoWeight *w[4];

  for (int i = 0; i < 4; i++)
    {
      w[i] = in_const (r, f, first + i, error);
      if (w[i] == NULL)
        return FALSE;
      if (w[i]->n != (gsize)c)
        return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                     "batch-norm parameter '%s' has %" G_GSIZE_FORMAT
                     " values for %d channels",
                     w[i]->name, w[i]->n, c);
    }
  for (int o = 0; o < c; o++)
    {
      double var = (double)w[3]->data[o] + eps;
      double s;

      if (!(var > 0))
        return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                     "batch-norm variance + epsilon is not positive "
                     "(channel %d)",
                     o);
      s = w[0]->data[o] / sqrt (var);
      scale[o] = (float)s;
      shift[o] = (float)(w[1]->data[o] - w[2]->data[o] * s);
    }
  return TRUE;
}

static gboolean
read_conv (Reader *r, const FileNode *f, int flags, Value *out, GError **error)
{
  gboolean dw = (flags & F_DEPTHWISE) != 0;
  const Value *x;
  HippoNode *in, *node;
  HippoWeight *filter;
  Fused fu;
  int kh, kw, sh, sw, dh, dwi, pads[4], oh = 0, ow = 0, cin, cout;
  gsize n_w;

  if (!want_inputs (f, 2, (flags & F_FUSED) ? 6 : 2, error))
    return FALSE;
  if ((x = in_node (r, f, 0, 4, error)) == NULL)
    return FALSE;
  in = node_at (r, x->node);
  if (!check_nhwc (f, error))
    return FALSE;
  if ((filter = in_const (r, f, 1, error)) == NULL)
    return FALSE;
  if (filter->rank != 4)
    return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                 "filter '%s' is %d-D, expected 4-D", filter->name,
                 filter->rank);
  kh = filter->shape[0], kw = filter->shape[1];
  cin = filter->shape[2];
  if (kh < 1 || kw < 1 || kh > HIPPO_MAX_KERNEL || kw > HIPPO_MAX_KERNEL
      || filter->shape[3] < 1)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "filter shape [%d, %d, %d, %d] is out of the supported "
                 "range",
                 kh, kw, cin, filter->shape[3]);
  if (cin != in->c)
    {
      if (!dw && cin > 0 && in->c % cin == 0)
        return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                     "grouped convolution is not supported");
      return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                   "filter expects %d input channels, the input has %d", cin,
                   in->c);
    }
  cout = dw ? cin * filter->shape[3] : filter->shape[3];
  if (dw && filter->shape[3] > 1024)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "channel multiplier %d is too large", filter->shape[3]);
  if (!attr_hw (f, "strides", TRUE, HIPPO_MAX_STRIDE, &sh, &sw, error)
      || !attr_hw (f, "dilations", FALSE, HIPPO_MAX_KERNEL, &dh, &dwi, error))
    return FALSE;
  if (!read_padding (f, TRUE, in, kh, kw, sh, sw, dh, dwi, pads, error))
    return FALSE;
  if (!window_out (f, in->h, pads[0], pads[1], kh, sh, dh, &oh, error)
      || !window_out (f, in->w, pads[2], pads[3], kw, sw, dwi, &ow, error))
    return FALSE;
  if (flags & F_FUSED)
    {
      if (!read_fused (f, TRUE, f->n_in - 2, &fu, error))
        return FALSE;
    }
  else
    {
      memset (&fu, 0, sizeof fu);
      fu.act = HIPPO_ACT_NONE;
      fu.lo = -INFINITY, fu.hi = INFINITY;
    }

  node = new_node (r, f, dw ? HIPPO_OP_DWCONV : HIPPO_OP_CONV, &x->node, 1, 4,
                   out, error);
  if (node == NULL)
    return FALSE;
  node->kh = kh, node->kw = kw;
  node->sh = sh, node->sw = sw;
  node->dh = dh, node->dw = dwi;
  node->pad_t = pads[0], node->pad_b = pads[1];
  node->pad_l = pads[2], node->pad_r = pads[3];
  node->cin = cin;
  node->mult = dw ? filter->shape[3] : 1;
  node->h = oh, node->w = ow, node->c = cout;
  n_w = filter->n;
  node->weights = copy_floats (r, filter->data, n_w, error);
  if (node->weights == NULL)
    return FALSE;
  if (fu.bias)
    {
      HippoWeight *b = in_const (r, f, 2, error);

      if (b == NULL)
        return FALSE;
      if (b->n != (gsize)cout)
        return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                     "bias '%s' has %" G_GSIZE_FORMAT " values for %d "
                     "channels",
                     b->name, b->n, cout);
      node->bias = copy_floats (r, b->data, b->n, error);
      if (node->bias == NULL)
        return FALSE;
    }
  else if (fu.bn)
    {
      /* The file fused the BatchNorm into this conv: apply it to the
       * weights (layout [..][cout] for both conv kinds). */
      g_autofree float *scale = g_new (float, cout);

      node->bias = hippo_graph_alloc (r->graph, cout, error);
      if (node->bias == NULL)
        return FALSE;
      if (!read_bn (r, f, 2, cout, fu.epsilon, scale, node->bias, error))
        return FALSE;
      for (gsize k = 0; k < n_w / cout; k++)
        for (int o = 0; o < cout; o++)
          node->weights[k * cout + o] *= scale[o];
    }
  node->act = fu.act;
  node->act_lo = fu.lo;
  node->act_hi = fu.hi;
  return TRUE;
}

static gboolean
read_matmul (Reader *r, const FileNode *f, int flags, Value *out,
             GError **error)
{
  const Value *x;
  HippoNode *in, *node;
  HippoWeight *w;
  gboolean ta, tb;
  Fused fu;
  int k, n;

  if (!attr_bool (f, "transpose_a", FALSE, &ta, error)
      || !attr_bool (f, "transpose_b", FALSE, &tb, error))
    return FALSE;
  if (ta)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "transpose_a is not supported");
  if (!want_inputs (f, 2, (flags & F_FUSED) ? 3 : 2, error))
    return FALSE;
  if ((x = in_node (r, f, 0, 2, error)) == NULL)
    return FALSE;
  in = node_at (r, x->node);
  if ((w = in_const (r, f, 1, error)) == NULL)
    return FALSE;
  if (w->rank != 2)
    return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                 "weights '%s' are %d-D, expected 2-D", w->name, w->rank);
  k = tb ? w->shape[1] : w->shape[0];
  n = tb ? w->shape[0] : w->shape[1];
  if (k != in->c)
    return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                 "weights '%s' expect %d inputs, the input has %d", w->name, k,
                 in->c);
  if (n < 1)
    return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                 "weights '%s' have no outputs", w->name);
  if (flags & F_FUSED)
    {
      if (!read_fused (f, FALSE, f->n_in - 2, &fu, error))
        return FALSE;
    }
  else
    {
      memset (&fu, 0, sizeof fu);
      fu.act = HIPPO_ACT_NONE;
      fu.lo = -INFINITY, fu.hi = INFINITY;
    }

  node = new_node (r, f, HIPPO_OP_CONV, &x->node, 1, 2, out, error);
  if (node == NULL)
    return FALSE;
  node->cin = k;
  node->h = node->w = 1;
  node->c = n;
  if (tb)
    {
      node->weights = hippo_graph_alloc (r->graph, w->n, error);
      if (node->weights == NULL)
        return FALSE;
      for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++)
          node->weights[(gsize)j * n + i] = w->data[(gsize)i * k + j];
    }
  else if ((node->weights = copy_floats (r, w->data, w->n, error)) == NULL)
    return FALSE;
  if (fu.bias)
    {
      HippoWeight *b = in_const (r, f, 2, error);

      if (b == NULL)
        return FALSE;
      if (b->n != (gsize)n)
        return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                     "bias '%s' has %" G_GSIZE_FORMAT " values for %d "
                     "outputs",
                     b->name, b->n, n);
      if ((node->bias = copy_floats (r, b->data, b->n, error)) == NULL)
        return FALSE;
    }
  node->act = fu.act;
  node->act_lo = fu.lo;
  node->act_hi = fu.hi;
  return TRUE;
}

/* A standalone AFFINE node on x with c channels; scale/shift filled by the
 * caller. */
static HippoNode *
new_affine (Reader *r, const FileNode *f, const Value *x, Value *out,
            GError **error)
{
  HippoNode *in = node_at (r, x->node);
  HippoNode *node;

  node = new_node (r, f, HIPPO_OP_AFFINE, &x->node, 1, x->rank, out, error);
  if (node == NULL)
    return NULL;
  node->h = in->h, node->w = in->w, node->c = in->c;
  node->scale = hippo_graph_alloc (r->graph, in->c, error);
  node->shift = node->scale ? hippo_graph_alloc (r->graph, in->c, error) : NULL;
  if (node->shift == NULL)
    return NULL;
  for (int o = 0; o < in->c; o++)
    node->scale[o] = 1;
  return node;
}

static gboolean
read_bias_add (Reader *r, const FileNode *f, int flags, Value *out,
               GError **error)
{
  const Value *x;
  HippoWeight *b;
  HippoNode *node;
  int c;

  if (!want_inputs (f, 2, 2, error))
    return FALSE;
  if ((x = in_node (r, f, 0, 0, error)) == NULL || !check_nhwc (f, error)
      || (b = in_const (r, f, 1, error)) == NULL)
    return FALSE;
  c = node_at (r, x->node)->c;
  if (b->rank != 1 || b->n != (gsize)c)
    return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                 "bias '%s' has %" G_GSIZE_FORMAT " values for %d channels",
                 b->name, b->n, c);
  if ((node = new_affine (r, f, x, out, error)) == NULL)
    return FALSE;
  memcpy (node->shift, b->data, c * sizeof (float));
  return TRUE;
}

static gboolean
read_batch_norm (Reader *r, const FileNode *f, int flags, Value *out,
                 GError **error)
{
  const Value *x;
  HippoNode *node;
  gboolean training;
  double eps;

  if (!want_inputs (f, 5, 5, error))
    return FALSE;
  if ((x = in_node (r, f, 0, 0, error)) == NULL || !check_nhwc (f, error)
      || !attr_bool (f, "is_training", FALSE, &training, error)
      || !attr_float (f, "epsilon", 1e-4, &eps, error))
    return FALSE;
  if (training)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "training-mode batch normalisation is not supported");
  if (eps < 0)
    return bad_attr (f, "epsilon", error);
  if ((node = new_affine (r, f, x, out, error)) == NULL)
    return FALSE;
  return read_bn (r, f, 1, node->c, eps, node->scale, node->shift, error);
}

static gboolean
read_act (Reader *r, const FileNode *f, int flags, Value *out, GError **error)
{
  const Value *x;
  HippoNode *node;

  if (!want_inputs (f, 1, 1, error)
      || (x = in_node (r, f, 0, 0, error)) == NULL)
    return FALSE;
  node = new_node (r, f, HIPPO_OP_ACT, &x->node, 1, x->rank, out, error);
  if (node == NULL)
    return FALSE;
  node->h = node_at (r, x->node)->h;
  node->w = node_at (r, x->node)->w;
  node->c = node_at (r, x->node)->c;
  act_of (f->op, &node->act, &node->act_lo, &node->act_hi);
  return TRUE;
}

static gboolean
read_softmax (Reader *r, const FileNode *f, int flags, Value *out,
              GError **error)
{
  const Value *x;
  HippoNode *node;

  if (!want_inputs (f, 1, 1, error)
      || (x = in_node (r, f, 0, 0, error)) == NULL)
    return FALSE;
  node = new_node (r, f, HIPPO_OP_SOFTMAX, &x->node, 1, x->rank, out, error);
  if (node == NULL)
    return FALSE;
  node->h = node_at (r, x->node)->h;
  node->w = node_at (r, x->node)->w;
  node->c = node_at (r, x->node)->c;
  return TRUE;
}

/* Add, Sub, Mul, RealDiv, Maximum, Minimum with a constant operand, and Add
 * of two tensors. */
static gboolean
read_binary (Reader *r, const FileNode *f, int flags, Value *out,
             GError **error)
{
  BinOp bop = (BinOp)(flags >> 8);
  const Value *a, *b, *x;
  HippoNode *in, *node;
  HippoWeight *w;
  int xi, c;
  gboolean const_first;

  if (!want_inputs (f, 2, 2, error))
    return FALSE;
  a = &r->val[f->in[0]];
  b = &r->val[f->in[1]];
  if (a->kind == VAL_CONST && b->kind == VAL_CONST)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "both inputs are constants (constant folding is not "
                 "implemented)");
  if (a->kind != VAL_CONST && b->kind != VAL_CONST)
    {
      int ins[2];
      HippoNode *na, *nb;

      if ((a = in_node (r, f, 0, 0, error)) == NULL
          || (b = in_node (r, f, 1, 0, error)) == NULL)
        return FALSE;
      if (bop != BIN_ADD)
        return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                     "%s of two tensors is not supported (only with a "
                     "constant)",
                     f->op);
      na = node_at (r, a->node);
      nb = node_at (r, b->node);
      if (a->rank != b->rank || na->h != nb->h || na->w != nb->w
          || na->c != nb->c)
        return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                     "adding tensors of different shapes (%dx%dx%d and "
                     "%dx%dx%d): broadcasting is not supported",
                     na->h, na->w, na->c, nb->h, nb->w, nb->c);
      ins[0] = a->node, ins[1] = b->node;
      node = new_node (r, f, HIPPO_OP_ADD, ins, 2, a->rank, out, error);
      if (node == NULL)
        return FALSE;
      node->h = na->h, node->w = na->w, node->c = na->c;
      return TRUE;
    }

  const_first = a->kind == VAL_CONST;
  xi = const_first ? 1 : 0;
  if ((x = in_node (r, f, xi, 0, error)) == NULL
      || (w = in_const (r, f, 1 - xi, error)) == NULL)
    return FALSE;
  in = node_at (r, x->node);
  c = in->c;
  /* The constant must broadcast along channels only: [], [1], [c],
   * [1, .., 1, c] of at most the tensor's rank. */
  {
    gboolean ok = w->rank <= x->rank && (w->n == 1 || w->n == (gsize)c);

    for (int i = 0; ok && i + 1 < w->rank; i++)
      ok = w->shape[i] == 1;
    if (!ok)
      return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                   "constant '%s' (%" G_GSIZE_FORMAT " values, %d-D) does "
                   "not broadcast per channel over %d channels",
                   w->name, w->n, w->rank, c);
  }
  if ((bop == BIN_DIV && const_first)
      || ((bop == BIN_MAX || bop == BIN_MIN) && w->n != 1))
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "this form of %s is not supported", f->op);

  if (bop == BIN_MAX || bop == BIN_MIN)
    {
      node = new_node (r, f, HIPPO_OP_ACT, &x->node, 1, x->rank, out, error);
      if (node == NULL)
        return FALSE;
      node->h = in->h, node->w = in->w, node->c = c;
      node->act = HIPPO_ACT_CLAMP;
      if (bop == BIN_MAX)
        node->act_lo = w->data[0];
      else
        node->act_hi = w->data[0];
      return TRUE;
    }
  if (bop == BIN_DIV)
    for (gsize i = 0; i < w->n; i++)
      if (w->data[i] == 0)
        return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                     "divides by zero (constant '%s')", w->name);

  if ((node = new_affine (r, f, x, out, error)) == NULL)
    return FALSE;
  for (int o = 0; o < c; o++)
    {
      float v = w->data[w->n == 1 ? 0 : o];

      switch (bop)
        {
          case BIN_ADD:
            node->shift[o] = v;
            break;
          case BIN_SUB:
            node->scale[o] = const_first ? -1 : 1;
            node->shift[o] = const_first ? v : -v;
            break;
          case BIN_MUL:
            node->scale[o] = v;
            break;
          case BIN_DIV:
            node->scale[o] = 1.0f / v;
            break;
          default:
            break;
        }
    }
  return TRUE;
}

static gboolean
read_pool (Reader *r, const FileNode *f, int flags, Value *out, GError **error)
{
  const Value *x;
  HippoNode *in, *node;
  int kh, kw, sh, sw, pads[4], oh = 0, ow = 0;

  if (!want_inputs (f, 1, 1, error) || (x = in_node (r, f, 0, 4, error)) == NULL
      || !check_nhwc (f, error))
    return FALSE;
  in = node_at (r, x->node);
  if (!attr_hw (f, "ksize", TRUE, HIPPO_MAX_KERNEL, &kh, &kw, error)
      || !attr_hw (f, "strides", TRUE, HIPPO_MAX_STRIDE, &sh, &sw, error)
      || !read_padding (f, FALSE, in, kh, kw, sh, sw, 1, 1, pads, error)
      || !window_out (f, in->h, pads[0], pads[1], kh, sh, 1, &oh, error)
      || !window_out (f, in->w, pads[2], pads[3], kw, sw, 1, &ow, error))
    return FALSE;
  node = new_node (r, f, (flags & F_MAX) ? HIPPO_OP_MAXPOOL : HIPPO_OP_AVGPOOL,
                   &x->node, 1, 4, out, error);
  if (node == NULL)
    return FALSE;
  node->kh = kh, node->kw = kw;
  node->sh = sh, node->sw = sw;
  node->pad_t = pads[0], node->pad_b = pads[1];
  node->pad_l = pads[2], node->pad_r = pads[3];
  node->h = oh, node->w = ow, node->c = in->c;
  return TRUE;
}

static gboolean
read_mean (Reader *r, const FileNode *f, int flags, Value *out, GError **error)
{
  const Value *x;
  HippoWeight *axes;
  HippoNode *node;
  gint64 ax[4];
  gboolean keep, seen[4] = { FALSE };

  if (!want_inputs (f, 2, 2, error) || (x = in_node (r, f, 0, 4, error)) == NULL
      || (axes = in_const (r, f, 1, error)) == NULL
      || !const_ints (f, axes, ax, 4, error)
      || !attr_bool (f, "keep_dims", FALSE, &keep, error))
    return FALSE;
  for (gsize i = 0; i < axes->n; i++)
    {
      gint64 a = ax[i] < 0 ? ax[i] + 4 : ax[i];

      if (a < 0 || a > 3)
        return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                     "axis %" G_GINT64_FORMAT " is out of range", ax[i]);
      seen[a] = TRUE;
    }
  if (seen[0] || !seen[1] || !seen[2] || seen[3])
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "a mean over axes other than height and width [1, 2] is "
                 "not supported");
  node = new_node (r, f, HIPPO_OP_GAP, &x->node, 1, keep ? 4 : 2, out, error);
  if (node == NULL)
    return FALSE;
  node->h = node->w = 1;
  node->c = node_at (r, x->node)->c;
  return TRUE;
}

static HippoNode *
new_reshape (Reader *r, const FileNode *f, const Value *x, int rank, Value *out,
             GError **error)
{
  HippoNode *in = node_at (r, x->node);
  HippoNode *node;

  node = new_node (r, f, HIPPO_OP_RESHAPE, &x->node, 1, rank, out, error);
  if (node == NULL)
    return NULL;
  node->h = node->w = 1;
  node->c = in->h * in->w * in->c;
  return node;
}

static gboolean
read_squeeze (Reader *r, const FileNode *f, int flags, Value *out,
              GError **error)
{
  const Value *x;
  HippoNode *in;
  gint64 d[MAX_ATTR_LIST];
  gboolean sq[4] = { FALSE };
  int n;

  if (!want_inputs (f, 1, 1, error)
      || (x = in_node (r, f, 0, 4, error)) == NULL)
    return FALSE;
  in = node_at (r, x->node);
  if (!attr_ints (f, "squeeze_dims", d, MAX_ATTR_LIST, &n, error))
    return FALSE;
  if (n < 0 && !attr_ints (f, "axis", d, MAX_ATTR_LIST, &n, error))
    return FALSE;
  if (n <= 0)
    sq[1] = sq[2] = TRUE; /* all size-1 axes; the batch axis stays */
  for (int i = 0; i < n; i++)
    {
      gint64 a = d[i] < 0 ? d[i] + 4 : d[i];

      if (a < 0 || a > 3)
        return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                     "axis %" G_GINT64_FORMAT " is out of range", d[i]);
      sq[a] = TRUE;
    }
  if (sq[0] || sq[3] || !sq[1] || !sq[2])
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "only squeezing axes [1, 2] is supported");
  if (in->h != 1 || in->w != 1)
    return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                 "squeezes axes of size %dx%d", in->h, in->w);
  return new_reshape (r, f, x, 2, out, error) != NULL;
}

static gboolean
read_reshape (Reader *r, const FileNode *f, int flags, Value *out,
              GError **error)
{
  const Value *x;
  HippoNode *in;
  HippoWeight *shape;
  gint64 d[4], k;
  gboolean ok;

  if (!want_inputs (f, 2, 2, error) || (x = in_node (r, f, 0, 0, error)) == NULL
      || (shape = in_const (r, f, 1, error)) == NULL
      || !const_ints (f, shape, d, 4, error))
    return FALSE;
  in = node_at (r, x->node);
  k = (gint64)in->h * in->w * in->c;
  if (shape->n == 4 && x->rank == 4 && (d[0] == -1 || d[0] == 1)
      && d[1] == in->h && d[2] == in->w && d[3] == in->c)
    {
      /* A no-op reshape. */
      if (!hippo_graph_add_alias (r->graph, f->name, f->op, x->node,
                                  HIPPO_TAP_OUTPUT, error))
        return FALSE;
      *out = *x;
      return TRUE;
    }
  /* Flattening: [b, k] or [b, 1, 1, k] with b -1 or 1, k may be -1 when b
   * is 1. */
  ok = (shape->n == 2 || shape->n == 4) && (d[0] == -1 || d[0] == 1);
  if (ok && shape->n == 4)
    ok = d[1] == 1 && d[2] == 1;
  if (ok)
    {
      gint64 kk = d[shape->n - 1];

      ok = kk == k || (kk == -1 && d[0] == 1);
    }
  if (!ok)
    {
      g_autoptr (GString) s = g_string_new (NULL);

      for (gsize i = 0; i < shape->n; i++)
        g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", d[i]);
      return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                   "reshaping %dx%dx%d to [%s] is not supported (only "
                   "flattening to [-1, %" G_GINT64_FORMAT "])",
                   in->h, in->w, in->c, s->str, k);
    }
  return new_reshape (r, f, x, (int)shape->n, out, error) != NULL;
}

static gboolean
read_concat (Reader *r, const FileNode *f, int flags, Value *out,
             GError **error)
{
  HippoWeight *axis_w;
  gint64 axis, n_attr;
  g_autofree int *ins = NULL;
  int n = f->n_in - 1, rank = 0, h = 0, w = 0;
  gint64 c = 0;
  HippoNode *node;

  if (!want_inputs (f, 2, MAX_NODE_INPUTS, error)
      || (axis_w = in_const (r, f, n, error)) == NULL
      || !const_ints (f, axis_w, &axis, 1, error)
      || !attr_int (f, "N", n, &n_attr, error))
    return FALSE;
  if (axis_w->n != 1)
    return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                 "the axis constant '%s' is empty", axis_w->name);
  if (n_attr != n)
    return fail (error, HIPPO_ERROR_MODEL_FORMAT, f,
                 "attribute 'N' = %" G_GINT64_FORMAT " but %d tensors are "
                 "given",
                 n_attr, n);
  ins = g_new (int, n);
  for (int i = 0; i < n; i++)
    {
      const Value *v = in_node (r, f, i, 0, error);
      HippoNode *in;

      if (v == NULL)
        return FALSE;
      in = node_at (r, v->node);
      if (i == 0)
        rank = v->rank, h = in->h, w = in->w;
      else if (v->rank != rank || in->h != h || in->w != w)
        return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                     "input %d (%dx%d, %d-D) does not match input 0 (%dx%d, "
                     "%d-D)",
                     i, in->h, in->w, v->rank, h, w, rank);
      ins[i] = v->node;
      c += in->c;
    }
  if (axis != -1 && axis != rank - 1)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "concatenation along axis %" G_GINT64_FORMAT
                 " is not supported (only channels)",
                 axis);
  if (c > (gint64)HIPPO_MAX_DIM * 16)
    return fail (error, HIPPO_ERROR_LIMIT, f,
                 "%" G_GINT64_FORMAT " channels are too many", c);
  node = new_node (r, f, HIPPO_OP_CONCAT, ins, n, rank, out, error);
  if (node == NULL)
    return FALSE;
  node->h = h, node->w = w, node->c = (int)c;
  return TRUE;
}

static gboolean
read_pad (Reader *r, const FileNode *f, int flags, Value *out, GError **error)
{
  const Value *x;
  HippoWeight *pw;
  HippoNode *in, *node;
  gint64 p[8];

  if (!want_inputs (f, 2, (flags & F_V2) ? 3 : 2, error)
      || (x = in_node (r, f, 0, 4, error)) == NULL
      || (pw = in_const (r, f, 1, error)) == NULL)
    return FALSE;
  if (pw->rank != 2 || pw->shape[0] != 4 || pw->shape[1] != 2)
    return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                 "paddings '%s' must have shape [4, 2]", pw->name);
  if (!const_ints (f, pw, p, 8, error))
    return FALSE;
  if (f->n_in == 3)
    {
      HippoWeight *cv = in_const (r, f, 2, error);

      if (cv == NULL)
        return FALSE;
      if (cv->n != 1 || cv->data[0] != 0)
        return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                     "padding with a non-zero constant is not supported");
    }
  if (p[0] != 0 || p[1] != 0 || p[6] != 0 || p[7] != 0)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                 "padding of the batch or channel axis");
  for (int i = 2; i < 6; i++)
    if (p[i] < 0 || p[i] > HIPPO_MAX_DIM)
      return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                   "padding %" G_GINT64_FORMAT " is out of range", p[i]);
  in = node_at (r, x->node);
  node = new_node (r, f, HIPPO_OP_PAD, &x->node, 1, 4, out, error);
  if (node == NULL)
    return FALSE;
  node->pad_t = (int)p[2], node->pad_b = (int)p[3];
  node->pad_l = (int)p[4], node->pad_r = (int)p[5];
  node->h = in->h + node->pad_t + node->pad_b;
  node->w = in->w + node->pad_l + node->pad_r;
  node->c = in->c;
  return TRUE;
}

#define BIN(op) ((op) << 8)

static const struct
{
  const char *op;
  OpFunc fn;
  int flags;
} op_table[] = {
  { "Placeholder", read_placeholder, 0 },
  { "Const", read_const, 0 },
  { "Identity", read_identity, 0 },
  { "StopGradient", read_identity, 0 },
  { "Snapshot", read_identity, 0 },
  { "PreventGradient", read_identity, 0 },
  { "NoOp", read_noop, 0 },
  { "Conv2D", read_conv, 0 },
  { "_FusedConv2D", read_conv, F_FUSED },
  { "DepthwiseConv2dNative", read_conv, F_DEPTHWISE },
  { "FusedDepthwiseConv2dNative", read_conv, F_DEPTHWISE | F_FUSED },
  { "MatMul", read_matmul, 0 },
  { "_FusedMatMul", read_matmul, F_FUSED },
  { "BiasAdd", read_bias_add, 0 },
  { "BiasAddV1", read_bias_add, 0 },
  { "FusedBatchNorm", read_batch_norm, 0 },
  { "FusedBatchNormV2", read_batch_norm, 0 },
  { "FusedBatchNormV3", read_batch_norm, 0 },
  { "Relu", read_act, 0 },
  { "Relu6", read_act, 0 },
  { "Sigmoid", read_act, 0 },
  { "Tanh", read_act, 0 },
  { "Softmax", read_softmax, 0 },
  { "Add", read_binary, BIN (BIN_ADD) },
  { "AddV2", read_binary, BIN (BIN_ADD) },
  { "Sub", read_binary, BIN (BIN_SUB) },
  { "Mul", read_binary, BIN (BIN_MUL) },
  { "RealDiv", read_binary, BIN (BIN_DIV) },
  { "Maximum", read_binary, BIN (BIN_MAX) },
  { "Minimum", read_binary, BIN (BIN_MIN) },
  { "AvgPool", read_pool, 0 },
  { "MaxPool", read_pool, F_MAX },
  { "Mean", read_mean, 0 },
  { "Squeeze", read_squeeze, 0 },
  { "Reshape", read_reshape, 0 },
  { "ConcatV2", read_concat, 0 },
  { "Pad", read_pad, 0 },
  { "PadV2", read_pad, F_V2 },
};

/* Parsing the node list. */

static void
reader_clear (Reader *r)
{
  for (guint i = 0; r->fn != NULL && i < r->n; i++)
    g_free (r->fn[i].in);
  g_free (r->fn);
  g_free (r->val);
}

/* An input reference "name", "name:0", "name:N" or "^name" (control);
 * *name is allocated, NULL for a control input. */
static gboolean
parse_input (const FileNode *f, const char *s, char **name, GError **error)
{
  const char *colon = strrchr (s, ':');

  *name = NULL;
  if (s[0] == '^')
    return TRUE;
  if (colon != NULL && colon[1] != '\0'
      && strspn (colon + 1, "0123456789") == strlen (colon + 1))
    {
      if (strspn (colon + 1, "0") != strlen (colon + 1))
        return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
                     "uses output %s of '%.*s'; only first outputs are "
                     "supported",
                     colon + 1, (int)(colon - s), s);
      *name = g_strndup (s, colon - s);
    }
  else
    *name = g_strdup (s);
  return TRUE;
}

static gboolean
parse_nodes (Reader *r, JsonArray *nodes, GHashTable *index, GError **error)
{
  guint64 n_edges = 0;

  r->n = json_array_get_length (nodes);
  if (r->n > MAX_FILE_NODES)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "the graph has %u nodes, more than %d", r->n,
                   MAX_FILE_NODES);
      return FALSE;
    }
  r->fn = g_new0 (FileNode, r->n);
  r->val = g_new0 (Value, r->n);

  for (guint i = 0; i < r->n; i++)
    {
      JsonNode *e = json_array_get_element (nodes, i);
      JsonObject *o;
      JsonNode *attr;
      FileNode *f = &r->fn[i];

      if (!JSON_NODE_HOLDS_OBJECT (e))
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                       "graph node %u is not an object", i);
          return FALSE;
        }
      o = json_node_get_object (e);
      f->name = member_string (o, "name");
      f->op = member_string (o, "op");
      if (f->name == NULL || *f->name == '\0' || f->op == NULL
          || *f->op == '\0')
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                       "graph node %u has no name or no op", i);
          return FALSE;
        }
      attr = json_object_get_member (o, "attr");
      if (attr != NULL && !JSON_NODE_HOLDS_NULL (attr))
        {
          if (!JSON_NODE_HOLDS_OBJECT (attr))
            return fail (error, HIPPO_ERROR_MODEL_FORMAT, f,
                         "'attr' is not an object");
          f->attr = json_node_get_object (attr);
        }
      if (g_hash_table_contains (index, f->name))
        return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                     "two nodes have this name");
      g_hash_table_insert (index, (gpointer)f->name, GUINT_TO_POINTER (i));
    }

  for (guint i = 0; i < r->n; i++)
    {
      FileNode *f = &r->fn[i];
      JsonObject *o = json_node_get_object (json_array_get_element (nodes, i));
      JsonNode *in = json_object_get_member (o, "input");
      JsonArray *a;
      guint n;

      if (in == NULL || JSON_NODE_HOLDS_NULL (in))
        continue;
      if (!JSON_NODE_HOLDS_ARRAY (in))
        return fail (error, HIPPO_ERROR_MODEL_FORMAT, f,
                     "'input' is not an array");
      a = json_node_get_array (in);
      n = json_array_get_length (a);
      n_edges += n;
      if (n > MAX_NODE_INPUTS || n_edges > MAX_EDGES)
        return fail (error, HIPPO_ERROR_LIMIT, f, "too many inputs");
      f->in = g_new (int, MAX (n, 1));
      for (guint j = 0; j < n; j++)
        {
          JsonNode *s = json_array_get_element (a, j);
          g_autofree char *name = NULL;
          gpointer idx;

          if (!JSON_NODE_HOLDS_VALUE (s)
              || json_node_get_value_type (s) != G_TYPE_STRING)
            return fail (error, HIPPO_ERROR_MODEL_FORMAT, f,
                         "input %u is not a string", j);
          if (!parse_input (f, json_node_get_string (s), &name, error))
            return FALSE;
          if (name == NULL)
            continue;
          if (!g_hash_table_lookup_extended (index, name, NULL, &idx))
            return fail (error, HIPPO_ERROR_MODEL_INVALID, f,
                         "input '%s' does not exist", name);
          f->in[f->n_in++] = GPOINTER_TO_INT (idx);
        }
    }
  return TRUE;
}

/* A min-heap of node indices for the topological sort; Placeholders
 * first, else file order. */
typedef struct
{
  int *v;
  guint n;
  const Reader *r;
} Heap;

static gint64
heap_key (const Heap *h, int i)
{
  return strcmp (h->r->fn[i].op, "Placeholder") == 0 ? (gint64)i - h->r->n : i;
}

static void
heap_push (Heap *h, int i)
{
  guint k = h->n++;

  while (k > 0 && heap_key (h, h->v[(k - 1) / 2]) > heap_key (h, i))
    {
      h->v[k] = h->v[(k - 1) / 2];
      k = (k - 1) / 2;
    }
  h->v[k] = i;
}

static int
heap_pop (Heap *h)
{
  int top = h->v[0], last = h->v[--h->n];
  guint k = 0;

  for (;;)
    {
      guint c = 2 * k + 1;

      if (c >= h->n)
        break;
      if (c + 1 < h->n && heap_key (h, h->v[c + 1]) < heap_key (h, h->v[c]))
        c++;
      if (heap_key (h, h->v[c]) >= heap_key (h, last))
        break;
      h->v[k] = h->v[c];
      k = c;
    }
  if (h->n > 0)
    h->v[k] = last;
  return top;
}

/* Kahn's algorithm over data edges, taking the ready node that comes first
 * in the file (Placeholders before all): a file already in order keeps its
 * order.  Returns the order (r->n entries) or NULL on a cycle. */
static int *
sort_nodes (Reader *r, GError **error)
{
  g_autofree int *indeg = g_new0 (int, r->n);
  g_autofree int *start = g_new0 (int, r->n + 1);
  g_autofree int *cons = NULL;
  g_autofree int *fill = NULL;
  int *order = g_new (int, r->n);
  g_autofree int *heap_v = g_new (int, MAX (r->n, 1));
  Heap heap = { heap_v, 0, r };
  guint tail = 0;
  gsize n_edges = 0;

  for (guint i = 0; i < r->n; i++)
    {
      indeg[i] = r->fn[i].n_in;
      n_edges += r->fn[i].n_in;
      for (int j = 0; j < r->fn[i].n_in; j++)
        start[r->fn[i].in[j] + 1]++;
    }
  for (guint i = 0; i < r->n; i++)
    start[i + 1] += start[i];
  cons = g_new (int, MAX (n_edges, 1));
  fill = g_memdup2 (start, sizeof (int) * r->n);
  for (guint i = 0; i < r->n; i++)
    for (int j = 0; j < r->fn[i].n_in; j++)
      cons[fill[r->fn[i].in[j]]++] = i;

  for (guint i = 0; i < r->n; i++)
    if (indeg[i] == 0)
      heap_push (&heap, i);
  while (heap.n > 0)
    {
      int i = heap_pop (&heap);

      order[tail++] = i;
      for (int e = start[i]; e < start[i + 1]; e++)
        if (--indeg[cons[e]] == 0)
          heap_push (&heap, cons[e]);
    }
  if (tail < r->n)
    {
      /* Walk inputs still waiting until a node repeats: it is on a cycle. */
      int i = -1;

      for (guint k = 0; k < r->n && i < 0; k++)
        if (indeg[k] > 0)
          i = k;
      for (guint step = 0; step < r->n; step++)
        for (int j = 0; j < r->fn[i].n_in; j++)
          if (indeg[r->fn[i].in[j]] > 0)
            {
              i = r->fn[i].in[j];
              break;
            }
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                   "the graph has a cycle through node '%s'", r->fn[i].name);
      g_free (order);
      return NULL;
    }
  return order;
}

static gboolean
read_node (Reader *r, int i, GError **error)
{
  const FileNode *f = &r->fn[i];

  for (guint k = 0; k < G_N_ELEMENTS (op_table); k++)
    if (strcmp (op_table[k].op, f->op) == 0)
      return op_table[k].fn (r, f, op_table[k].flags, &r->val[i], error);
  return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED, f,
               "op '%s' is not supported", f->op);
}

HippoGraph *
hippo_read_graph_model (JsonObject *model_topology, HippoWeights *weights,
                        GError **error)
{
  g_autoptr (GHashTable) index = NULL;
  g_autofree int *order = NULL;
  g_autofree gboolean *consumed = NULL;
  Reader r = { 0 };
  JsonNode *nodes;
  int out = -1;

  g_return_val_if_fail (model_topology != NULL, NULL);
  g_return_val_if_fail (weights != NULL, NULL);

  nodes = json_object_get_member (model_topology, "node");
  if (nodes == NULL || !JSON_NODE_HOLDS_ARRAY (nodes))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "the graph model has no 'node' array");
      return NULL;
    }
  index = g_hash_table_new (g_str_hash, g_str_equal);
  r.weights = weights;
  if (!parse_nodes (&r, json_node_get_array (nodes), index, error)
      || (order = sort_nodes (&r, error)) == NULL)
    {
      reader_clear (&r);
      return NULL;
    }

  r.graph = hippo_graph_new ();
  for (guint k = 0; k < r.n; k++)
    if (!read_node (&r, order[k], error))
      {
        hippo_graph_free (r.graph);
        reader_clear (&r);
        return NULL;
      }
  if (r.graph->nodes->len == 0 || node_at (&r, 0)->op != HIPPO_OP_INPUT)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                   "the graph has no input (Placeholder) feeding its nodes");
      hippo_graph_free (r.graph);
      reader_clear (&r);
      return NULL;
    }

  /* The output: a node nobody consumes, "Identity" first, else the last. */
  consumed = g_new0 (gboolean, r.n);
  for (guint i = 0; i < r.n; i++)
    for (int j = 0; j < r.fn[i].n_in; j++)
      consumed[r.fn[i].in[j]] = TRUE;
  for (guint k = 0; k < r.n; k++)
    {
      int i = order[k];

      if (r.val[i].kind != VAL_NODE || consumed[i])
        continue;
      if (out < 0 || strcmp (r.fn[out].name, "Identity") != 0)
        out = i;
    }
  r.graph->output = out >= 0 ? r.val[out].node : 0;
  reader_clear (&r);
  return r.graph;
}
