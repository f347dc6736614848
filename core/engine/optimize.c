/* Load-time graph rewrites: zero padding into convolutions, BatchNorm (and
 * other per-channel affines) into the convolution before it, activations
 * into their producer.  Every name keeps pointing at its value, or is marked
 * folded when that value no longer exists. */
#include "hippo-config.h"

#include <string.h>

#include "graph.h"

typedef struct
{
  HippoGraph *graph;
  int *fwd;      /* node -> node that now computes its output */
  int *uses;     /* consumers of each node */
  int *ref_head; /* first layer ref of each node, -1 none */
  int *ref_next; /* next layer ref of the same node */
  gboolean *dead;
} Folder;

static HippoNode *
node_at (Folder *f, int i)
{
  return g_ptr_array_index (f->graph->nodes, i);
}

static int
resolve (const Folder *f, int i)
{
  while (f->fwd[i] != i)
    i = f->fwd[i];
  return i;
}

static HippoLayerRef *
ref_at (Folder *f, int r)
{
  return &g_array_index (f->graph->layers, HippoLayerRef, r);
}

/* Node a's value is now computed by p (a is removed). Refs that named p's
 * old output get kind old_kind; refs of a move to p. */
static void
merge_into (Folder *f, int a, int p, HippoTapKind old_kind)
{
  int r, last = -1;

  for (r = f->ref_head[p]; r >= 0; r = f->ref_next[r])
    {
      if (ref_at (f, r)->kind == HIPPO_TAP_OUTPUT)
        ref_at (f, r)->kind = old_kind;
      last = r;
    }
  for (r = f->ref_head[a]; r >= 0; r = f->ref_next[r])
    ref_at (f, r)->node = p;
  if (last >= 0)
    f->ref_next[last] = f->ref_head[a];
  else
    f->ref_head[p] = f->ref_head[a];
  f->ref_head[a] = -1;
  f->fwd[a] = p;
  f->uses[p] = f->uses[a];
  f->dead[a] = TRUE;
}

static gboolean
fold_affine (Folder *f, int a, HippoNode *aff, GError **error)
{
  int p = aff->inputs[0];
  HippoNode *prod = node_at (f, p);
  int c = prod->c;

  if ((prod->op != HIPPO_OP_CONV && prod->op != HIPPO_OP_DWCONV
       && prod->op != HIPPO_OP_GROUPCONV)
      || prod->act != HIPPO_ACT_NONE || f->uses[p] != 1)
    return TRUE;

  if (prod->bias == NULL)
    {
      prod->bias = hippo_graph_alloc (f->graph, c, error);
      if (prod->bias == NULL)
        return FALSE;
    }
  if (prod->op == HIPPO_OP_CONV || prod->op == HIPPO_OP_GROUPCONV)
    {
      gsize rows = (gsize) prod->kh * prod->kw * prod->cin;
      for (gsize k = 0; k < rows; k++)
        for (int o = 0; o < c; o++)
          prod->weights[k * c + o] *= aff->scale[o];
    }
  else
    {
      gsize taps = (gsize) prod->kh * prod->kw;
      for (gsize k = 0; k < taps; k++)
        for (int o = 0; o < c; o++)
          prod->weights[k * c + o] *= aff->scale[o];
    }
  for (int o = 0; o < c; o++)
    prod->bias[o] = prod->bias[o] * aff->scale[o] + aff->shift[o];
  merge_into (f, a, p, HIPPO_TAP_FOLDED);
  return TRUE;
}

static void
fold_act (Folder *f, int a, HippoNode *act)
{
  int p = act->inputs[0];
  HippoNode *prod = node_at (f, p);

  if (prod->op != HIPPO_OP_CONV && prod->op != HIPPO_OP_DWCONV
      && prod->op != HIPPO_OP_ADD && prod->op != HIPPO_OP_AFFINE
      && prod->op != HIPPO_OP_GROUPCONV && prod->op != HIPPO_OP_BINARY
      && prod->op != HIPPO_OP_MATMUL)
    return;
  if (prod->act != HIPPO_ACT_NONE || f->uses[p] != 1)
    return;
  prod->act = act->act;
  prod->act_lo = act->act_lo;
  prod->act_hi = act->act_hi;
  merge_into (f, a, p, HIPPO_TAP_PREACT);
}

/* A PAD of zeros on height and width alone: its pads in t, b, l, r. */
static gboolean
pad_is_spatial_zero (const HippoNode *pad, int *t, int *b, int *l, int *r)
{
  int rank = pad->rank;

  if (pad->n_pads == 0)
    {
      *t = pad->pad_t, *b = pad->pad_b, *l = pad->pad_l, *r = pad->pad_r;
      return TRUE;
    }
  if (rank < 3 || pad->pad_mode != HIPPO_PAD_CONSTANT || pad->value != 0)
    return FALSE;
  for (int i = 0; i < rank; i++)
    if (i != rank - 3 && i != rank - 2
        && (pad->pad_before[i] != 0 || pad->pad_after[i] != 0))
      return FALSE;
  *t = pad->pad_before[rank - 3], *b = pad->pad_after[rank - 3];
  *l = pad->pad_before[rank - 2], *r = pad->pad_after[rank - 2];
  return TRUE;
}

static void
fold_pad (Folder *f, int c, HippoNode *conv)
{
  int p = conv->inputs[0];
  HippoNode *pad = node_at (f, p);
  int pt, pb, pl, pr;

  if (pad->op != HIPPO_OP_PAD || f->uses[p] != 1
      || !pad_is_spatial_zero (pad, &pt, &pb, &pl, &pr))
    return;
  conv->pad_t += pt;
  conv->pad_b += pb;
  conv->pad_l += pl;
  conv->pad_r += pr;
  conv->inputs[0] = pad->inputs[0];
  /* The padded tensor is gone; its names are marked folded, at the conv. */
  for (int r = f->ref_head[p]; r >= 0; r = f->ref_next[r])
    ref_at (f, r)->kind = HIPPO_TAP_FOLDED;
  {
    int last = -1;
    for (int r = f->ref_head[c]; r >= 0; r = f->ref_next[r])
      last = r;
    for (int r = f->ref_head[p]; r >= 0; r = f->ref_next[r])
      ref_at (f, r)->node = c;
    if (last >= 0)
      f->ref_next[last] = f->ref_head[p];
    else
      f->ref_head[c] = f->ref_head[p];
    f->ref_head[p] = -1;
  }
  f->dead[p] = TRUE;
}

/* Node a is gone, its value folded into node i: its names stay, marked
 * folded, at i. */
static void
fold_away (Folder *f, int a, int i)
{
  int last = -1;

  for (int r = f->ref_head[a]; r >= 0; r = f->ref_next[r])
    {
      ref_at (f, r)->kind = HIPPO_TAP_FOLDED;
      ref_at (f, r)->node = i;
    }
  for (int r = f->ref_head[i]; r >= 0; r = f->ref_next[r])
    last = r;
  if (last >= 0)
    f->ref_next[last] = f->ref_head[a];
  else
    f->ref_head[i] = f->ref_head[a];
  f->ref_head[a] = -1;
  f->dead[a] = TRUE;
}

/* x * sigmoid (x) -> SiLU, x * hard-sigmoid (x) (1/6, 1/2) -> hard swish,
 * the multiplication taking the activation's place (and foldable into
 * x's producer in turn). */
static void
fold_gate (Folder *f, int i, HippoNode *mul)
{
  for (int k = 0; k < 2; k++)
    {
      int s = mul->inputs[k], x = mul->inputs[1 - k];
      HippoNode *gate = node_at (f, s);
      HippoAct act;

      if (gate->op != HIPPO_OP_ACT || gate->n_inputs != 1
          || gate->inputs[0] != x || f->uses[s] != 1
          || node_at (f, x)->rank != mul->rank
          || memcmp (node_at (f, x)->dims, mul->dims,
                     sizeof (int) * mul->rank) != 0)
        continue;
      if (gate->act == HIPPO_ACT_SIGMOID)
        act = HIPPO_ACT_SILU;
      else if (gate->act == HIPPO_ACT_HARDSIGMOID
               && gate->act_lo == 1.f / 6.f && gate->act_hi == 0.5f)
        act = HIPPO_ACT_HARDSWISH;
      else
        continue;
      mul->op = HIPPO_OP_ACT;
      mul->act = act;
      mul->n_inputs = 1;
      mul->inputs[0] = x;
      f->uses[x]--;
      fold_away (f, s, i);
      fold_act (f, i, mul);
      return;
    }
}

static void
compact (Folder *f)
{
  HippoGraph *g = f->graph;
  guint n = g->nodes->len;
  int *map = g_new (int, n);
  GPtrArray *kept = g_ptr_array_sized_new (n);
  int next = 0;

  for (guint i = 0; i < n; i++)
    map[i] = f->dead[i] ? -1 : next++;
  for (guint i = 0; i < n; i++)
    {
      HippoNode *node = node_at (f, i);

      if (f->dead[i])
        {
          g_free (node->inputs);
          g_free (node);
          continue;
        }
      for (int j = 0; j < node->n_inputs; j++)
        node->inputs[j] = map[resolve (f, node->inputs[j])];
      g_ptr_array_add (kept, node);
    }
  for (guint r = 0; r < g->layers->len; r++)
    {
      HippoLayerRef *ref = ref_at (f, r);
      ref->node = map[resolve (f, ref->node)];
    }
  if (g->output >= 0)
    g->output = map[resolve (f, g->output)];

  /* Swap the node array without freeing the kept nodes. */
  g_ptr_array_set_free_func (g->nodes, NULL);
  g_ptr_array_unref (g->nodes);
  g->nodes = kept;
  g_free (map);
}

static void
node_free_func (gpointer data)
{
  HippoNode *node = data;

  g_free (node->inputs);
  g_free (node);
}

gboolean
hippo_graph_optimize (HippoGraph *graph, GError **error)
{
  Folder f = { graph };
  guint n = graph->nodes->len;
  gboolean ok = TRUE;

  f.fwd = g_new (int, n);
  f.uses = g_new0 (int, n);
  f.dead = g_new0 (gboolean, n);
  f.ref_head = g_new (int, n);
  f.ref_next = g_new (int, graph->layers->len + 1);
  for (guint i = 0; i < n; i++)
    {
      f.fwd[i] = i;
      f.ref_head[i] = -1;
    }
  for (int r = graph->layers->len - 1; r >= 0; r--)
    {
      HippoLayerRef *ref = ref_at (&f, r);
      f.ref_next[r] = f.ref_head[ref->node];
      f.ref_head[ref->node] = r;
    }
  for (guint i = 0; i < n; i++)
    {
      HippoNode *node = node_at (&f, i);
      for (int j = 0; j < node->n_inputs; j++)
        f.uses[node->inputs[j]]++;
    }
  if (graph->output >= 0)
    f.uses[graph->output]++;   /* the model's output is always kept */

  for (guint i = 0; i < n && ok; i++)
    {
      HippoNode *node = node_at (&f, i);

      for (int j = 0; j < node->n_inputs; j++)
        node->inputs[j] = resolve (&f, node->inputs[j]);
      switch (node->op)
        {
        case HIPPO_OP_CONV:
        case HIPPO_OP_DWCONV:
        case HIPPO_OP_GROUPCONV:
          fold_pad (&f, i, node);
          break;
        case HIPPO_OP_AFFINE:
          ok = fold_affine (&f, i, node, error);
          break;
        case HIPPO_OP_ACT:
          if (node->act != HIPPO_ACT_NONE && node->act != HIPPO_ACT_SOFTMAX)
            fold_act (&f, i, node);
          break;
        case HIPPO_OP_BINARY:
          if (node->bin == HIPPO_BIN_MUL && node->n_inputs == 2
              && node->act == HIPPO_ACT_NONE)
            fold_gate (&f, i, node);
          break;
        default:
          break;
        }
    }
  if (ok)
    compact (&f);
  g_free (f.fwd);
  g_free (f.uses);
  g_free (f.dead);
  g_free (f.ref_head);
  g_free (f.ref_next);
  if (!ok)
    return FALSE;
  g_ptr_array_set_free_func (graph->nodes, node_free_func);
  return hippo_graph_infer_shapes (graph, error);
}
