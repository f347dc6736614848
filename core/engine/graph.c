/* The engine's graph: nodes, names, shape inference and validation. */
#include "hippo-config.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "graph.h"

static void
node_free (gpointer data)
{
  HippoNode *node = data;

  g_free (node->inputs);
  g_free (node);
}

HippoGraph *
hippo_graph_new (void)
{
  HippoGraph *graph = g_new0 (HippoGraph, 1);

  graph->nodes = g_ptr_array_new_with_free_func (node_free);
  graph->layers = g_array_new (FALSE, TRUE, sizeof (HippoLayerRef));
  graph->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  graph->blocks = g_ptr_array_new_with_free_func (g_free);
  graph->strings = g_string_chunk_new (4096);
  graph->output = -1;
  return graph;
}

void
hippo_graph_free (HippoGraph *graph)
{
  if (graph == NULL)
    return;
  g_ptr_array_unref (graph->nodes);
  g_array_unref (graph->layers);
  g_hash_table_unref (graph->by_name);
  g_ptr_array_unref (graph->blocks);
  g_string_chunk_free (graph->strings);
  g_free (graph);
}

/* Buffers from this size on are cut from blocks of at least CHUNK_BYTES
 * (hippo_alloc_large: huge pages), at multiples of 64 bytes. */
#define LARGE_BYTES (64 * 1024)
#define CHUNK_BYTES ((gsize) 8 << 20)

float *
hippo_graph_alloc (HippoGraph *graph, gsize n, GError **error)
{
  gsize bytes;
  float *p;

  if (n == 0 || n > HIPPO_MAX_PARAMS
      || !g_size_checked_mul (&bytes, n, sizeof (float)))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "a weight buffer of %" G_GSIZE_FORMAT " values is "
                   "out of range", n);
      return NULL;
    }
  if (bytes >= LARGE_BYTES)
    {
      gsize need = (bytes + 63) / 64 * 64;

      if (graph->chunk_left < need)
        {
          gsize size = MAX (CHUNK_BYTES, need);
          guint8 *chunk = hippo_alloc_large (size);

          if (chunk == NULL)
            {
              g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                           "out of memory for %" G_GSIZE_FORMAT " weights", n);
              return NULL;
            }
          g_ptr_array_add (graph->blocks, chunk);
          graph->chunk = chunk;
          graph->chunk_left = size;
        }
      p = (float *) graph->chunk;
      graph->chunk += need;
      graph->chunk_left -= need;
      memset (p, 0, bytes);
      return p;
    }
  p = g_try_malloc0 (bytes);
  if (p == NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "out of memory for %" G_GSIZE_FORMAT " weights", n);
      return NULL;
    }
  g_ptr_array_add (graph->blocks, p);
  return p;
}

char *
hippo_graph_intern (HippoGraph *graph, const char *s)
{
  return g_string_chunk_insert_const (graph->strings, s ? s : "");
}

static gboolean
register_name (HippoGraph *graph, const char *name, const char *type,
               int node, HippoTapKind kind, GError **error)
{
  HippoLayerRef ref;

  if (name == NULL || *name == '\0')
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "a layer has no name");
      return FALSE;
    }
  if (g_hash_table_contains (graph->by_name, name))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                   "two layers are named '%s'", name);
      return FALSE;
    }
  ref.name = hippo_graph_intern (graph, name);
  ref.type = hippo_graph_intern (graph, type);
  ref.node = node;
  ref.kind = kind;
  g_array_append_val (graph->layers, ref);
  g_hash_table_insert (graph->by_name, ref.name,
                       GUINT_TO_POINTER (graph->layers->len));
  return TRUE;
}

HippoNode *
hippo_graph_add_node (HippoGraph *graph, const char *name, const char *type,
                      HippoOp op, const int *inputs, int n_inputs,
                      GError **error)
{
  HippoNode *node;
  int index = graph->nodes->len;

  if (index >= HIPPO_MAX_NODES)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "more than %d nodes", HIPPO_MAX_NODES);
      return NULL;
    }
  if (n_inputs < 0 || n_inputs > HIPPO_MAX_NODES)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                   "layer '%s' has %d inputs", name, n_inputs);
      return NULL;
    }
  for (int i = 0; i < n_inputs; i++)
    if (inputs[i] < 0 || inputs[i] >= index)
      {
        g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                     "layer '%s' has an input that is not an earlier layer",
                     name);
        return NULL;
      }
  if (!register_name (graph, name, type, index, HIPPO_TAP_OUTPUT, error))
    return NULL;

  node = g_new0 (HippoNode, 1);
  node->name = hippo_graph_intern (graph, name);
  node->type = hippo_graph_intern (graph, type);
  node->op = op;
  node->n_inputs = n_inputs;
  node->inputs = n_inputs ? g_memdup2 (inputs, sizeof (int) * n_inputs) : NULL;
  node->kh = node->kw = 1;
  node->sh = node->sw = 1;
  node->dh = node->dw = 1;
  node->mult = 1;
  node->act = HIPPO_ACT_NONE;
  node->act_lo = -INFINITY;
  node->act_hi = INFINITY;
  g_ptr_array_add (graph->nodes, node);
  return node;
}

gboolean
hippo_graph_add_alias (HippoGraph *graph, const char *name, const char *type,
                       int node, HippoTapKind kind, GError **error)
{
  if (node < 0 || node >= (int) graph->nodes->len)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                   "layer '%s' refers to a missing layer", name);
      return FALSE;
    }
  return register_name (graph, name, type, node, kind, error);
}

const HippoLayerRef *
hippo_graph_find (const HippoGraph *graph, const char *name, GError **error)
{
  gpointer v;
  gsize len;
  int found = -1, n_found = 0;
  GString *cands;

  if (g_hash_table_lookup_extended (graph->by_name, name, NULL, &v))
    return &g_array_index (graph->layers, HippoLayerRef,
                           GPOINTER_TO_UINT (v) - 1);

  /* A unique '/'-separated suffix, for the long names of graph models. */
  len = strlen (name);
  cands = g_string_new (NULL);
  for (guint i = 0; len > 0 && i < graph->layers->len; i++)
    {
      const HippoLayerRef *ref = &g_array_index (graph->layers,
                                                 HippoLayerRef, i);
      gsize rl = strlen (ref->name);

      if (rl > len && ref->name[rl - len - 1] == '/'
          && strcmp (ref->name + rl - len, name) == 0)
        {
          found = i;
          if (n_found++ < 4)
            g_string_append_printf (cands, "%s'%s'", n_found > 1 ? ", " : "",
                                    ref->name);
        }
    }
  if (n_found == 1)
    {
      g_string_free (cands, TRUE);
      return &g_array_index (graph->layers, HippoLayerRef, found);
    }
  if (n_found > 1)
    g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND,
                 "layer name '%s' is ambiguous: %s%s", name, cands->str,
                 n_found > 4 ? ", ..." : "");
  else
    g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND,
                 "no layer named '%s' (see 'hippotag model info')", name);
  g_string_free (cands, TRUE);
  return NULL;
}

void
hippo_same_padding (int in, int k, int s, int d, int *before, int *after)
{
  gint64 out = (in + s - 1) / s;
  gint64 eff = (gint64) (k - 1) * d + 1;
  gint64 total = (out - 1) * s + eff - in;

  if (total < 0)
    total = 0;
  *before = (int) (total / 2);
  *after = (int) (total - total / 2);
}

static gboolean
fail_shape (GError **error, const HippoNode *node, const char *what)
{
  g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
               "layer '%s' (%s): %s", node->name, node->type, what);
  return FALSE;
}

static gboolean
dims_ok (gint64 h, gint64 w, gint64 c)
{
  return h >= 1 && w >= 1 && c >= 1 && h <= HIPPO_MAX_DIM
         && w <= HIPPO_MAX_DIM && c <= HIPPO_MAX_DIM * 16
         && (guint64) (h * w) <= HIPPO_MAX_ELEMS_PER_TENSOR
         && (guint64) (h * w) * (guint64) c <= HIPPO_MAX_ELEMS_PER_TENSOR;
}

static gboolean
all_finite (const float *p, gsize n)
{
  /* a test of the exponent bits the compiler vectorises, block by block:
   * millions of weights are checked at every load */
  for (gsize i = 0; i < n; i += 1024)
    {
      gsize m = MIN (1024, n - i);
      guint32 bad = 0;

      for (gsize j = 0; j < m; j++)
        {
          guint32 b;

          memcpy (&b, p + i + j, 4);
          bad |= (b & 0x7f800000u) == 0x7f800000u;
        }
      if (bad)
        return FALSE;
    }
  return TRUE;
}

/* Output size of a window op along one axis with explicit pads. */
static gint64
window_out (gint64 in, int pad_a, int pad_b, int k, int s, int d)
{
  gint64 eff = (gint64) (k - 1) * d + 1;
  gint64 span = in + pad_a + pad_b - eff;

  if (span < 0)
    return 0;
  return span / s + 1;
}

static gboolean
infer_node (HippoGraph *graph, HippoNode *node, GError **error)
{
  HippoNode *in = NULL;
  gint64 h = 0, w = 0, c = 0;

  if (node->op != HIPPO_OP_INPUT)
    {
      if (node->n_inputs < 1)
        return fail_shape (error, node, "has no input");
      in = g_ptr_array_index (graph->nodes, node->inputs[0]);
    }

  switch (node->op)
    {
    case HIPPO_OP_INPUT:
      h = graph->in_h, w = graph->in_w, c = graph->in_c;
      if (c != 3)
        return fail_shape (error, node, "the input must have 3 channels");
      break;

    case HIPPO_OP_CONV:
    case HIPPO_OP_DWCONV:
    case HIPPO_OP_AVGPOOL:
    case HIPPO_OP_MAXPOOL:
      if (node->kh < 1 || node->kw < 1 || node->kh > HIPPO_MAX_KERNEL
          || node->kw > HIPPO_MAX_KERNEL || node->sh < 1 || node->sw < 1
          || node->sh > HIPPO_MAX_STRIDE || node->sw > HIPPO_MAX_STRIDE
          || node->dh < 1 || node->dw < 1 || node->dh > HIPPO_MAX_KERNEL
          || node->dw > HIPPO_MAX_KERNEL || node->pad_t < 0
          || node->pad_b < 0 || node->pad_l < 0 || node->pad_r < 0
          || node->pad_t > HIPPO_MAX_KERNEL * HIPPO_MAX_KERNEL
          || node->pad_b > HIPPO_MAX_KERNEL * HIPPO_MAX_KERNEL
          || node->pad_l > HIPPO_MAX_KERNEL * HIPPO_MAX_KERNEL
          || node->pad_r > HIPPO_MAX_KERNEL * HIPPO_MAX_KERNEL)
        return fail_shape (error, node,
                           "kernel, stride, dilation or padding out of range");
      h = window_out (in->h, node->pad_t, node->pad_b, node->kh, node->sh,
                      node->dh);
      w = window_out (in->w, node->pad_l, node->pad_r, node->kw, node->sw,
                      node->dw);
      if (node->op == HIPPO_OP_CONV)
        {
          if (node->cin != in->c)
            return fail_shape (error, node,
                               "its weights expect another channel count "
                               "than its input has");
          c = node->c;
        }
      else if (node->op == HIPPO_OP_DWCONV)
        {
          if (node->cin != in->c || node->mult < 1 || node->mult > 1024)
            return fail_shape (error, node,
                               "its weights do not fit its input channels");
          c = (gint64) in->c * node->mult;
        }
      else
        {
          c = in->c;
          if (node->dh != 1 || node->dw != 1)
            return fail_shape (error, node, "dilated pooling");
        }
      break;

    case HIPPO_OP_AFFINE:
    case HIPPO_OP_ACT:
    case HIPPO_OP_SOFTMAX:
      h = in->h, w = in->w, c = in->c;
      break;

    case HIPPO_OP_ADD:
      h = in->h, w = in->w, c = in->c;
      for (int i = 1; i < node->n_inputs; i++)
        {
          HippoNode *o = g_ptr_array_index (graph->nodes, node->inputs[i]);
          if (o->h != h || o->w != w || o->c != c)
            return fail_shape (error, node, "its inputs differ in shape");
        }
      break;

    case HIPPO_OP_CONCAT:
      h = in->h, w = in->w, c = 0;
      for (int i = 0; i < node->n_inputs; i++)
        {
          HippoNode *o = g_ptr_array_index (graph->nodes, node->inputs[i]);
          if (o->h != h || o->w != w)
            return fail_shape (error, node,
                               "its inputs differ in height or width");
          c += o->c;
        }
      break;

    case HIPPO_OP_GAP:
      h = 1, w = 1, c = in->c;
      break;

    case HIPPO_OP_PAD:
      if (node->pad_t < 0 || node->pad_b < 0 || node->pad_l < 0
          || node->pad_r < 0 || node->pad_t > HIPPO_MAX_DIM
          || node->pad_b > HIPPO_MAX_DIM || node->pad_l > HIPPO_MAX_DIM
          || node->pad_r > HIPPO_MAX_DIM)
        return fail_shape (error, node, "padding out of range");
      h = (gint64) in->h + node->pad_t + node->pad_b;
      w = (gint64) in->w + node->pad_l + node->pad_r;
      c = in->c;
      break;

    case HIPPO_OP_RESHAPE:
      /* Flatten/Squeeze: h*w*c kept; readers set c, or we flatten. */
      h = 1, w = 1, c = (gint64) in->h * in->w * in->c;
      break;

    default:
      return fail_shape (error, node, "unknown op");
    }

  if (!dims_ok (h, w, c))
    return fail_shape (error, node, "its output shape is empty or too large");
  node->h = (int) h, node->w = (int) w, node->c = (int) c;

  /* Weights: presence, and finite values. */
  if (node->op == HIPPO_OP_CONV || node->op == HIPPO_OP_DWCONV)
    {
      gsize nw = (gsize) node->kh * node->kw * node->cin
                 * (node->op == HIPPO_OP_CONV ? (gsize) node->c
                                              : (gsize) node->mult);
      if (node->weights == NULL)
        return fail_shape (error, node, "has no weights");
      if (!all_finite (node->weights, nw))
        return fail_shape (error, node, "has NaN or infinite weights");
      if (node->bias && !all_finite (node->bias, node->c))
        return fail_shape (error, node, "has NaN or infinite biases");
    }
  if (node->op == HIPPO_OP_AFFINE)
    {
      if (node->scale == NULL || node->shift == NULL)
        return fail_shape (error, node, "has no scale or shift");
      if (!all_finite (node->scale, node->c)
          || !all_finite (node->shift, node->c))
        return fail_shape (error, node, "has NaN or infinite parameters");
    }
  if (node->act == HIPPO_ACT_CLAMP
      && (isnan (node->act_lo) || isnan (node->act_hi)
          || node->act_lo > node->act_hi))
    return fail_shape (error, node, "has an empty activation range");
  return TRUE;
}

gboolean
hippo_graph_infer_shapes (HippoGraph *graph, GError **error)
{
  if (graph->nodes->len == 0)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                   "the model has no layers");
      return FALSE;
    }
  if (((HippoNode *) g_ptr_array_index (graph->nodes, 0))->op
      != HIPPO_OP_INPUT)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                   "the model does not start with its input");
      return FALSE;
    }
  if (!dims_ok (graph->in_h, graph->in_w, graph->in_c))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                   "the model's input size %dx%dx%d is out of range",
                   graph->in_h, graph->in_w, graph->in_c);
      return FALSE;
    }
  for (guint i = 0; i < graph->nodes->len; i++)
    {
      HippoNode *node = g_ptr_array_index (graph->nodes, i);

      if (i > 0 && node->op == HIPPO_OP_INPUT)
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_UNSUPPORTED,
                       "layer '%s': models with several inputs are not "
                       "supported", node->name);
          return FALSE;
        }
      for (int j = 0; j < node->n_inputs; j++)
        if (node->inputs[j] < 0 || node->inputs[j] >= (int) i)
          return fail_shape (error, node, "input out of order");
      if (!infer_node (graph, node, error))
        return FALSE;
    }
  if (graph->output < 0 || graph->output >= (int) graph->nodes->len)
    graph->output = graph->nodes->len - 1;
  return TRUE;
}
