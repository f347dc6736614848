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

int *
hippo__graph_alloc_ints (HippoGraph *graph, gsize n, GError **error)
{
  int *p;

  if (n == 0 || n > HIPPO_MAX_PARAMS)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "an index buffer of %" G_GSIZE_FORMAT " values is out "
                   "of range", n);
      return NULL;
    }
  p = g_try_new0 (int, n);
  if (p == NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "out of memory for %" G_GSIZE_FORMAT " indices", n);
      return NULL;
    }
  g_ptr_array_add (graph->blocks, p);
  return p;
}

void
hippo__node_set_dims (HippoNode *node, int rank, const int *dims)
{
  gint64 h = 1;

  g_return_if_fail (rank >= 0 && rank <= HIPPO_MAX_RANK);
  node->rank = rank;
  for (int i = 0; i < rank; i++)
    node->dims[i] = dims[i];
  for (int i = 0; i + 2 < rank; i++)
    h *= dims[i];
  node->c = rank >= 1 ? dims[rank - 1] : 1;
  node->w = rank >= 2 ? dims[rank - 2] : 1;
  node->h = (int) CLAMP (h, 0, G_MAXINT);
}

guint64
hippo__node_numel (const HippoNode *node)
{
  return (guint64) node->h * (guint64) node->w * (guint64) node->c;
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
  node->groups = 1;
  node->axis = -1;
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
