/* Sessions: a plan over the model's graph (which nodes run, where each
 * tensor lives), scratch allocated once, and the executor. */
#include "hippo-config.h"

#include <cblas.h>
#include <string.h>

#include "kernels.h"
#include "model-private.h"
#include "pool.h"

#define MAX_SESSION_BATCH 4096
#define MAX_ARENA_FLOATS (G_GUINT64_CONSTANT (1) << 32) /* 16 GiB */
#define ALIGN_FLOATS 16
/* Maps of at most this many pixels run batched (7x7 in an ImageNet
 * network at 224x224; batching 14x14 too measured slower: 16 of its maps
 * no longer fit in L2). */
#define LATE_PIXELS 49
/* Images the late segment runs at once at most: 4 and 8 measured 5-10 %
 * faster than 16 at 1 thread (the 7x7 maps of 4 images stay in L2 while
 * the weights of their layers are read once). */
#define MAX_CHUNK 4

typedef struct
{
  int node;
  HippoTapKind kind;
  guint offset;   /* in the feature vector */
  int c;
  gboolean first; /* the first position (class token), not the mean */
} Tap;

typedef struct
{
  double us[HIPPO_OP_N_OPS];
  double flops[HIPPO_OP_N_OPS];
  guint64 images;
} Profile;

struct _HippoSession
{
  HippoModel *model;
  const HippoGraph *graph;
  int max_batch;
  int n_threads;
  HippoIsa isa;        /* of the hand-vectorised kernels */
  char *kernels;       /* hippo_session_get_kernels() */
  HippoPool *pool;
  char *layers;
  guint dim;

  Tap *taps;
  int n_taps;
  int last;            /* last node to run */
  gboolean *needed;
  gboolean *preact;    /* a tap wants the value before the activation */
  gsize *offset;       /* of each node's tensor in an arena */
  /* Two segments: the layers before node late_from, whose maps are large,
   * run one image at a time (its tensors stay in cache); the later ones,
   * whose weights are large and maps small, run on up to chunk images at
   * once (one pass over the weights for all). A tensor made early and
   * read late (cross[]) holds chunk images in a region of its own.
   * Arenas: one, whose layers are split over the threads, or one per
   * thread, each running its own images alone (batches of 2 or more on 2
   * or more threads: no synchronisation per layer). */
  int chunk;
  int late_from;
  gboolean *cross;
  /* group[i] = 2 or 3: nodes i.. form a 1x1 conv -> depthwise (-> 1x1
   * conv) chain run in strips of rows, each strip's expanded rows still in
   * cache when the depthwise and projection read them (one image, one
   * thread at a time); 0 otherwise */
  guint8 *group;
  int n_arenas;
  gsize arena_floats;
  float *arena;        /* n_arenas * arena_floats */
  float *scratch;      /* n_threads * HIPPO_SCRATCH_FLOATS, or NULL */
  /* packed[i]: node i's weights packed once for our 1x1 kernels
   * (kernels-1x1.c: float32, or bfloat16 on the path the CPU has; NULL
   * for other nodes), and their per-thread scratch */
  HippoPrecision precision;
  HippoPath path;
  HippoPacked **packed;
  gsize packed_bytes;
  char *packed_scratch;

  /* HIPPOTAG_PROFILE=1: time per op kind, per arena, printed when freed */
  gboolean profile;
  gboolean profile_nodes;
  Profile *prof;       /* n_arenas */
};

static const char *const op_names[HIPPO_OP_N_OPS] = {
  "input", "conv", "depthwise", "affine", "activation", "add", "concat",
  "avgpool", "maxpool", "global-pool", "pad", "softmax", "reshape",
  "const", "groupconv", "binary", "where", "matmul", "transpose", "slice",
  "gather", "reduce", "layernorm", "resize", "expand",
};

static double
node_flops (const HippoGraph *graph, const HippoNode *node)
{
  double px = (double) node->h * node->w;

  if (node->op == HIPPO_OP_CONV)
    return 2.0 * px * node->c * node->kh * node->kw * node->cin;
  if (node->op == HIPPO_OP_DWCONV)
    return 2.0 * px * node->c * node->kh * node->kw;
  if (node->op == HIPPO_OP_GROUPCONV)
    return 2.0 * px * node->c * node->kh * node->kw * node->cin;
  if (node->op == HIPPO_OP_MATMUL && node->n_inputs == 2)
    {
      const HippoNode *a = g_ptr_array_index (graph->nodes, node->inputs[0]);
      return 2.0 * px * node->c * a->c;
    }
  return px * node->c;
}

static void
print_profile (const HippoSession *s)
{
  Profile sum = { { 0 } };
  double total = 0;

  for (int a = 0; a < s->n_arenas; a++)
    {
      for (int op = 0; op < HIPPO_OP_N_OPS; op++)
        {
          sum.us[op] += s->prof[a].us[op];
          sum.flops[op] += s->prof[a].flops[op];
        }
      sum.images += s->prof[a].images;
    }
  for (int op = 0; op < HIPPO_OP_N_OPS; op++)
    total += sum.us[op];
  if (sum.images == 0 || total <= 0)
    return;
  if (s->n_arenas > 1)
    g_printerr ("hippotag profile: %d threads, each running whole images: "
                "times are per thread\n", s->n_arenas);
  g_printerr ("hippotag profile: %" G_GUINT64_FORMAT " images, %.3f ms per "
              "image, %d threads, %s kernels\n", sum.images,
              total / 1000.0 / sum.images, s->n_threads,
              hippo_isa_name (s->isa));
  for (int op = 0; op < HIPPO_OP_N_OPS; op++)
    if (sum.us[op] > 0)
      g_printerr ("  %-12s %7.3f ms/img %5.1f%%  %7.1f GFLOP/s\n",
                  op_names[op], sum.us[op] / 1000.0 / sum.images,
                  100.0 * sum.us[op] / total,
                  sum.flops[op] / (sum.us[op] * 1e3));
}

/* What one layer's tasks need. */
typedef struct
{
  HippoSession *s;
  const HippoNode *node;
  int index;           /* of node */
  int thread;          /* >= 0: run alone on this thread, no pool */
  const float *in;
  const float *const *ins;
  const int *in_c;
  HippoShape is;
  float *out;
  gint64 total;        /* pixels or rows (or column groups, below) */
  gint64 pixels;       /* CONV split over its output channels: all pixels, */
  gboolean split_cols; /* tasks take groups of 16 channels */
  gboolean tensor_op;  /* hippo__tensor_rows() over its units */
  int n_tasks;
  gboolean no_act;
  float *features;
  const float *input;
} Job;

void
hippo_session_params_default (HippoSessionParams *params)
{
  g_return_if_fail (params != NULL);
  memset (params, 0, sizeof *params);
  params->n_threads = 1;
  params->max_batch = 1;
  params->layers = NULL;
}

static HippoNode *
node_at (const HippoGraph *graph, int i)
{
  return g_ptr_array_index (graph->nodes, i);
}

/* A CONV, node i, for output pixels [p0, p1) and channels [c0, c1) on
 * this thread: in our own kernel where the session has packed its
 * weights (1x1 convs), else through im2col and OpenBLAS. */
static void
conv_pixels (const HippoSession *s, int thread, int i, const HippoNode *node,
             HippoShape is, const float *in, float *out, gint64 p0,
             gint64 p1, int c0, int c1, float *scratch, gboolean no_act)
{
  if (s->packed != NULL && s->packed[i] != NULL)
    hippo__conv1x1_packed (s->packed[i], node, in, out, p0, p1, c0, c1,
                           s->packed_scratch
                             + (gsize) thread * s->packed_bytes,
                           no_act);
  else
    hippo_conv_pixels (node, is, in, out, p0, p1, c0, c1, scratch, no_act);
}

static gboolean
resolve_layers (HippoSession *s, const char *spec, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (spec, "+", -1);
  g_autoptr (GString) joined = g_string_new (NULL);
  GArray *taps = g_array_new (FALSE, TRUE, sizeof (Tap));
  guint dim = 0;

  for (int i = 0; parts[i]; i++)
    {
      const char *name = g_strstrip (parts[i]);
      const HippoLayerRef *ref;
      Tap tap;

      if (*name == '\0')
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                       "empty layer name in '%s'", spec);
          goto fail;
        }
      tap.first = FALSE;
      ref = hippo_graph_find (s->graph, name, NULL);
      if (ref == NULL
          && (g_str_has_suffix (name, ":cls") || g_str_has_suffix (name,
                                                                  ":mean")))
        {
          /* NAME:cls, the first position of a token sequence (the class
           * token); NAME:mean, the mean of the positions (the default) */
          g_autofree char *base = g_strndup (name, strrchr (name, ':') - name);

          tap.first = g_str_has_suffix (name, ":cls");
          ref = hippo_graph_find (s->graph, base, NULL);
        }
      if (ref == NULL)
        ref = hippo_graph_find (s->graph, name, error);
      if (ref == NULL)
        goto fail;
      if (ref->kind == HIPPO_TAP_FOLDED)
        {
          const HippoNode *n = node_at (s->graph, ref->node);
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                       "layer '%s' is folded into '%s' when the model "
                       "loads, so its own output does not exist; ask for "
                       "a later layer", ref->name, n->name);
          goto fail;
        }
      tap.node = ref->node;
      tap.kind = ref->kind;
      tap.offset = dim;
      tap.c = node_at (s->graph, ref->node)->c;
      dim += tap.c;
      g_array_append_val (taps, tap);
      g_string_append_printf (joined, "%s%s%s", i ? "+" : "", ref->name,
                              tap.first ? ":cls" : "");
    }
  if (taps->len == 0 || taps->len > 256)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "give 1 to 256 feature layers, not %u", taps->len);
      goto fail;
    }
  s->dim = dim;
  s->n_taps = taps->len;
  s->taps = (Tap *) g_array_free (taps, FALSE);
  s->layers = g_string_free (g_steal_pointer (&joined), FALSE);
  return TRUE;

fail:
  g_array_free (taps, TRUE);
  return FALSE;
}

static gboolean
is_fusable (const HippoSession *s, int i, HippoOp op, int input)
{
  const HippoNode *node;

  if (i > s->last || i >= s->late_from || !s->needed[i] || s->preact[i]
      || s->cross[i])
    return FALSE;
  node = node_at (s->graph, i);
  if (node->op != op || node->inputs[0] != input || node->n_inputs != 1)
    return FALSE;
  if (op == HIPPO_OP_CONV)
    return hippo_conv_max_rows (node) == G_MAXINT64; /* 1x1, stride 1 */
  return node->mult == 1 && node->h > 1;
}

/* Finds 1x1 conv -> depthwise (-> 1x1 conv) chains, each read only by the
 * next, in the early segment (see group[]). */
static void
find_groups (HippoSession *s, const int *last_use)
{
  for (int i = 1; i + 1 <= s->last; i++)
    {
      if (!s->needed[i] || node_at (s->graph, i)->n_inputs == 0
          || !is_fusable (s, i, HIPPO_OP_CONV, node_at (s->graph, i)->inputs[0])
          || !is_fusable (s, i + 1, HIPPO_OP_DWCONV, i)
          || last_use[i] != i + 1)
        continue;
      s->group[i] = 2;
      if (is_fusable (s, i + 2, HIPPO_OP_CONV, i + 1)
          && last_use[i + 1] == i + 2)
        s->group[i] = 3;
      i += s->group[i] - 1;
    }
}

/* Marks the nodes the taps depend on and lays their tensors out in one
 * arena, reusing memory of tensors no longer needed. */
static gboolean
plan (HippoSession *s, GError **error)
{
  const HippoGraph *g = s->graph;
  int n = g->nodes->len;
  int *last_use = g_new (int, n);
  GArray *live = g_array_new (FALSE, FALSE, sizeof (gsize) * 3);
  gsize arena = 0;
  gboolean need_scratch = FALSE;
  gboolean ok = TRUE;

  s->needed = g_new0 (gboolean, n);
  s->cross = g_new0 (gboolean, n);
  s->group = g_new0 (guint8, n);
  s->preact = g_new0 (gboolean, n);
  s->offset = g_new0 (gsize, n);
  s->last = 0;
  for (int t = 0; t < s->n_taps; t++)
    {
      s->needed[s->taps[t].node] = TRUE;
      s->last = MAX (s->last, s->taps[t].node);
      if (s->taps[t].kind == HIPPO_TAP_PREACT)
        s->preact[s->taps[t].node] = TRUE;
    }
  for (int i = s->last; i >= 0; i--)
    if (s->needed[i])
      {
        const HippoNode *node = node_at (g, i);
        for (int j = 0; j < node->n_inputs; j++)
          s->needed[node->inputs[j]] = TRUE;
      }
  /* the late segment: from the first map of at most LATE_PIXELS */
  s->late_from = s->last + 1;
  for (int i = 1; i <= s->last && s->chunk > 1; i++)
    if (s->needed[i]
        && (gint64) node_at (g, i)->h * node_at (g, i)->w <= LATE_PIXELS)
      {
        s->late_from = i;
        break;
      }
  /* no late segment: every tensor holds one image, so does a chunk */
  if (s->late_from > s->last)
    s->chunk = 1;
  for (int i = s->late_from; i <= s->last; i++)
    if (s->needed[i])
      {
        const HippoNode *node = node_at (g, i);
        for (int j = 0; j < node->n_inputs; j++)
          if (node->inputs[j] > 0 && node->inputs[j] < s->late_from)
            s->cross[node->inputs[j]] = TRUE;
      }
  for (int i = 0; i <= s->last; i++)
    last_use[i] = i;
  for (int i = 0; i <= s->last; i++)
    if (s->needed[i])
      {
        const HippoNode *node = node_at (g, i);
        for (int j = 0; j < node->n_inputs; j++)
          last_use[node->inputs[j]] = MAX (last_use[node->inputs[j]], i);
      }
  find_groups (s, last_use);
  /* a group's tensors are all written strip by strip, its input read so:
   * none may share memory with another of them */
  for (int i = 1; i <= s->last; i++)
    if (s->group[i])
      {
        int in = node_at (g, i)->inputs[0];

        last_use[in] = MAX (last_use[in], i + s->group[i] - 1);
        for (int k = 0; k < s->group[i]; k++)
          last_use[i + k] = MAX (last_use[i + k], i + s->group[i] - 1);
      }

  for (int i = 1; i <= s->last && ok; i++)
    {
      const HippoNode *node = node_at (g, i);
      guint64 size;
      gsize off = 0, *e;
      gboolean moved;

      if (!s->needed[i])
        continue;
      if ((node->op == HIPPO_OP_CONV && hippo_conv_max_rows (node) < G_MAXINT64)
          || node->op == HIPPO_OP_GROUPCONV)
        need_scratch = TRUE;
      if (s->cross[i])
        continue; /* placed after the loop */
      size = (guint64) node->h * node->w * node->c
             * (i >= s->late_from ? s->chunk : 1);
      size = (size + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
      if (size > MAX_ARENA_FLOATS)
        {
          ok = FALSE;
          break;
        }
      /* drop tensors dead before i */
      for (guint k = 0; k < live->len;)
        {
          e = &g_array_index (live, gsize, k * 3);
          if ((int) e[2] < i)
            g_array_remove_index_fast (live, k);
          else
            k++;
        }
      /* lowest offset that overlaps no live tensor */
      do
        {
          moved = FALSE;
          for (guint k = 0; k < live->len; k++)
            {
              e = &g_array_index (live, gsize, k * 3);
              if (off < e[0] + e[1] && e[0] < off + size)
                {
                  off = e[0] + e[1];
                  moved = TRUE;
                }
            }
        }
      while (moved);
      s->offset[i] = off;
      arena = MAX (arena, off + size);
      if (arena > MAX_ARENA_FLOATS)
        ok = FALSE;
      {
        gsize entry[3] = { off, size, (gsize) last_use[i] };
        g_array_append_vals (live, entry, 1);
      }
    }
  g_free (last_use);
  g_array_free (live, TRUE);
  for (int i = 1; i <= s->last && ok; i++)
    if (s->cross[i])
      {
        const HippoNode *node = node_at (g, i);
        guint64 size = (guint64) node->h * node->w * node->c * s->chunk;

        size = (size + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
        s->offset[i] = arena;
        arena += size;
        ok = size <= MAX_ARENA_FLOATS && arena <= MAX_ARENA_FLOATS;
      }
  arena = MAX (arena, ALIGN_FLOATS);
  s->arena_floats = arena;
  if (ok)
    s->arena = g_try_malloc_n ((gsize) s->n_arenas * arena, sizeof (float));
  if (ok && need_scratch)
    s->scratch = g_try_malloc ((gsize) s->n_threads * HIPPO_SCRATCH_FLOATS
                               * sizeof (float));
  if (!ok || s->arena == NULL || (need_scratch && s->scratch == NULL))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "cannot allocate %.0f MB of scratch for batch %d",
                   s->n_arenas * arena * 4.0 / 1e6, s->max_batch);
      return FALSE;
    }
  return TRUE;
}

/* Packs the weights of every 1x1 conv that runs for our kernels, once
 * (in bfloat16 on the session's path: the AMX tiles, VDPBF16PS or
 * emulated), and allocates their scratch. */
static gboolean
pack_weights (HippoSession *s, GError **error)
{
  int n = s->graph->nodes->len, packed = 0;
  char *kernels;

  s->path = s->precision == HIPPO_PRECISION_BFLOAT16
              ? hippo__bf16_path (s->isa)
              : HIPPO_PATH_F32;
  s->packed = g_new0 (HippoPacked *, n);
  for (int i = 1; i <= s->last; i++)
    if (s->needed[i])
      {
        const HippoNode *node = node_at (s->graph, i);
        gsize b;

        if (!hippo_packed_applies (node))
          continue;
        s->packed[i] = hippo__packed_new (node, s->isa, s->path);
        if (s->packed[i] == NULL)
          {
            g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                         "cannot allocate the packed weights of layer %s",
                         node->name ? node->name : "(unnamed)");
            return FALSE;
          }
        b = hippo_packed_scratch_bytes (s->packed[i]);
        s->packed_bytes = MAX (s->packed_bytes, (b + 63) / 64 * 64);
        packed++;
      }
  if (s->packed_bytes > 0)
    {
      s->packed_scratch
        = g_try_malloc ((gsize) s->n_threads * s->packed_bytes);
      if (s->packed_scratch == NULL)
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                       "cannot allocate %.0f MB of kernel scratch",
                       s->n_threads * s->packed_bytes / 1e6);
          return FALSE;
        }
    }
  kernels = g_strdup_printf ("%s, %d 1x1 convs %s", s->kernels, packed,
                             hippo__path_name (s->path));
  g_free (s->kernels);
  s->kernels = kernels;
  return TRUE;
}

HippoSession *
hippo_session_new (HippoModel *model, const HippoSessionParams *params,
                   GError **error)
{
  HippoSessionParams defaults;
  HippoSession *s;
  int threads;

  g_return_val_if_fail (model != NULL, NULL);
  if (params == NULL)
    {
      hippo_session_params_default (&defaults);
      params = &defaults;
    }
  threads = params->n_threads > 0 ? params->n_threads
                                  : (int) g_get_num_processors ();
  if (params->max_batch < 1 || params->max_batch > MAX_SESSION_BATCH)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "batch size %d out of range 1..%d", params->max_batch,
                   MAX_SESSION_BATCH);
      return NULL;
    }
  if (params->precision != HIPPO_PRECISION_FLOAT32
      && params->precision != HIPPO_PRECISION_BFLOAT16
      && params->precision != HIPPO_PRECISION_AUTO)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "unknown precision %d", (int) params->precision);
      return NULL;
    }
  if (threads < 1 || threads > 1024)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "thread count %d out of range 1..1024", threads);
      return NULL;
    }

  s = g_new0 (HippoSession, 1);
  s->model = hippo_model_ref (model);
  s->graph = hippo_model_get_graph (model);
  s->max_batch = params->max_batch;
  s->n_threads = threads;
  s->isa = hippo_isa_pick ();
  s->precision = params->precision;
  if (s->precision == HIPPO_PRECISION_AUTO)
    s->precision = hippo__bf16_path (s->isa) == HIPPO_PATH_BF16_AMX
                     ? HIPPO_PRECISION_BFLOAT16
                     : HIPPO_PRECISION_FLOAT32;
  s->kernels = g_strdup_printf ("%s, own kernels %s", openblas_get_config (),
                                hippo_isa_name (s->isa));
  /* whole images per thread once there are images enough for each */
  s->n_arenas = s->max_batch >= 2 && threads >= 2 ? MIN (threads, s->max_batch)
                                                  : 1;
  s->chunk = MIN (MAX_CHUNK, (s->max_batch + s->n_arenas - 1) / s->n_arenas);
  s->prof = g_new0 (Profile, s->n_arenas);
  s->profile = g_strcmp0 (g_getenv ("HIPPOTAG_PROFILE"), "1") == 0
               || g_strcmp0 (g_getenv ("HIPPOTAG_PROFILE"), "nodes") == 0;
  s->profile_nodes = g_strcmp0 (g_getenv ("HIPPOTAG_PROFILE"), "nodes") == 0;
  if (!resolve_layers (s,
                       params->layers ? params->layers
                                      : hippo_model_get_default_layer (model),
                       error)
      || !plan (s, error))
    {
      hippo_session_free (s);
      return NULL;
    }
  if (!pack_weights (s, error))
    {
      hippo_session_free (s);
      return NULL;
    }
  s->pool = hippo_pool_new (threads, error);
  if (s->pool == NULL)
    {
      hippo_session_free (s);
      return NULL;
    }
  /* We split every layer over our own threads; each GEMM runs on one. */
  openblas_set_num_threads (1);
  return s;
}

void
hippo_session_free (HippoSession *session)
{
  if (session == NULL)
    return;
  if (session->profile)
    print_profile (session);
  hippo_pool_free (session->pool);
  g_free (session->taps);
  g_free (session->layers);
  g_free (session->needed);
  g_free (session->cross);
  g_free (session->group);
  g_free (session->preact);
  g_free (session->offset);
  g_free (session->arena);
  g_free (session->scratch);
  if (session->packed != NULL)
    for (guint i = 0; i < session->graph->nodes->len; i++)
      hippo_packed_free (session->packed[i]);
  g_free (session->packed);
  g_free (session->packed_scratch);
  g_free (session->prof);
  g_free (session->kernels);
  hippo_model_free (session->model);
  g_free (session);
}

HippoModel *
hippo_session_get_model (const HippoSession *session)
{
  g_return_val_if_fail (session != NULL, NULL);
  return session->model;
}

guint
hippo_session_get_dim (const HippoSession *session)
{
  g_return_val_if_fail (session != NULL, 0);
  return session->dim;
}

const char *
hippo_session_get_layers (const HippoSession *session)
{
  g_return_val_if_fail (session != NULL, NULL);
  return session->layers;
}

HippoPrecision
hippo_session_get_precision (const HippoSession *session)
{
  g_return_val_if_fail (session != NULL, HIPPO_PRECISION_FLOAT32);
  return session->precision;
}

const char *
hippo_session_get_kernels (const HippoSession *session)
{
  g_return_val_if_fail (session != NULL, NULL);
  return session->kernels;
}

int
hippo_session_get_n_threads (const HippoSession *session)
{
  g_return_val_if_fail (session != NULL, 0);
  return session->n_threads;
}

static void
task_range (const Job *job, int index, gint64 *a, gint64 *b)
{
  gint64 per = (job->total + job->n_tasks - 1) / job->n_tasks;

  *a = MIN (job->total, per * index);
  *b = MIN (job->total, *a + per);
}

static void
run_task (gpointer data, int index, int thread)
{
  const Job *job = data;
  const HippoNode *node = job->node;
  gint64 a, b;

  task_range (job, index, &a, &b);
  if (a >= b)
    return;
  if (job->tensor_op)
    {
      hippo__tensor_rows (job->s->graph, node, job->ins, job->out, a, b,
                         job->s->scratch ? job->s->scratch
                                             + (gsize) thread
                                                 * HIPPO_SCRATCH_FLOATS
                                         : NULL,
                         job->no_act);
      return;
    }
  switch (node->op)
    {
    case HIPPO_OP_CONV:
      {
        float *scratch = job->s->scratch ? job->s->scratch
                                             + (gsize) thread
                                                 * HIPPO_SCRATCH_FLOATS
                                         : NULL;
        if (job->split_cols)
          conv_pixels (job->s, thread, job->index, node, job->is, job->in,
                       job->out, 0, job->pixels, (int) a * 16,
                       (int) MIN (b * 16, node->c), scratch, job->no_act);
        else if (!hippo_conv_stem_pixels (job->s->isa, node, job->is,
                                          job->in, job->out, a, b,
                                          job->no_act))
          conv_pixels (job->s, thread, job->index, node, job->is, job->in,
                       job->out, a, b, 0, node->c, scratch, job->no_act);
      }
      break;
    case HIPPO_OP_DWCONV:
      hippo_dwconv_rows (job->s->isa, node, job->is, job->in, job->out, a, b,
                         job->no_act);
      break;
    case HIPPO_OP_AVGPOOL:
    case HIPPO_OP_MAXPOOL:
      hippo_pool_rows (node, job->is, job->in, job->out, a, b);
      break;
    case HIPPO_OP_PAD:
      hippo_pad_rows (node, job->is, job->in, job->out, a, b);
      break;
    case HIPPO_OP_ADD:
      hippo_add_pixels (node, job->ins, job->out, a, b, job->no_act);
      break;
    case HIPPO_OP_AFFINE:
      hippo_affine_pixels (node, job->in, job->out, a, b, job->no_act);
      break;
    case HIPPO_OP_CONCAT:
      hippo_concat_pixels (node, job->ins, job->in_c, job->out, a, b);
      break;
    case HIPPO_OP_ACT:
      if (job->out != job->in)
        memcpy (job->out + a * node->c, job->in + a * node->c,
                (b - a) * node->c * sizeof (float));
      if (!job->no_act)
        hippo_act_apply (job->out + a * node->c, b - a, node->c, node->act,
                         node->act_lo, node->act_hi);
      break;
    case HIPPO_OP_SOFTMAX:
      memcpy (job->out + a * node->c, job->in + a * node->c,
              (b - a) * node->c * sizeof (float));
      hippo_act_apply (job->out + a * node->c, b - a, node->c,
                       HIPPO_ACT_SOFTMAX, 0, 0);
      break;
    case HIPPO_OP_GAP:
      for (gint64 img = a; img < b; img++)
        hippo_gap (job->in + img * (gsize) job->is.h * job->is.w * job->is.c,
                   (gsize) job->is.h * job->is.w, job->is.c,
                   job->out + img * node->c);
      break;
    case HIPPO_OP_RESHAPE:
      memcpy (job->out + a * node->c, job->in + a * node->c,
              (b - a) * node->c * sizeof (float));
      break;
    default:
      break;
    }
}

/* Applies a node's activation after its pre-activation taps were read. */
static void
act_task (gpointer data, int index, int thread)
{
  const Job *job = data;
  gint64 a, b;

  task_range (job, index, &a, &b);
  if (a < b)
    hippo_act_apply (job->out + a * job->node->c, b - a, job->node->c,
                     job->node->act, job->node->act_lo, job->node->act_hi);
}

static void
read_taps (HippoSession *s, int i, HippoTapKind kind, const float *t,
           guint n, float *features)
{
  const HippoNode *node = node_at (s->graph, i);
  gsize hw = (gsize) node->h * node->w;

  for (int k = 0; k < s->n_taps; k++)
    if (s->taps[k].node == i && s->taps[k].kind == kind)
      for (guint img = 0; img < n; img++)
        {
          float *f = features + (gsize) img * s->dim + s->taps[k].offset;

          if (s->taps[k].first)
            memcpy (f, t + img * hw * node->c, node->c * sizeof (float));
          else
            hippo_gap (t + img * hw * node->c, hw, node->c, f);
        }
}

/* Runs a job's tasks: over the pool, or all on job->thread. */
static void
run_job (HippoSession *s, Job *job, HippoTaskFunc func)
{
  if (job->thread >= 0)
    {
      job->n_tasks = 1;
      func (job, 0, job->thread);
    }
  else
    hippo_pool_run (s->pool, job->n_tasks, func, job);
}

/* Where node k's tensor is in arena A; img: the image of an early pass
 * (tensors read by the late segment keep one slot per image). */
static inline float *
tensor_at (const HippoSession *s, float *arena, int k, guint img)
{
  const HippoNode *node = node_at (s->graph, k);

  return arena + s->offset[k]
         + (s->cross[k] ? (gsize) img * node->h * node->w * node->c : 0);
}

/* Floats of expanded rows a strip of a group covers, about. */
#define STRIP_FLOATS 131072

/* A group's rows split in parts, one per thread (the depthwise output
 * rows [r_lo, r_hi) of part k).  Part k owns the expanded rows [e_lo,
 * e_hi) and writes only those; the first rows of its range, up to e_pre,
 * are also read by part k - 1, so they are made first, before a barrier
 * (phase 1), and everything else after it (phase 2), strip by strip. */
typedef struct
{
  int r_lo, r_hi, e_lo, e_hi, e_pre;
} GroupPart;

/* Expanded rows the depthwise rows below r read (clamped to the map). */
static int
group_need (const HippoNode *e, const HippoNode *d, int r)
{
  return CLAMP ((r - 1) * d->sh - d->pad_t + (d->kh - 1) * d->dh + 1, 0,
                e->h);
}

static int
group_first (const HippoNode *e, const HippoNode *d, int r)
{
  return CLAMP (r * d->sh - d->pad_t, 0, e->h);
}

static void
group_part (const HippoNode *e, const HippoNode *d, int k, int parts,
            GroupPart *gp)
{
  gp->r_lo = (int) ((gint64) d->h * k / parts);
  gp->r_hi = (int) ((gint64) d->h * (k + 1) / parts);
  gp->e_lo = k == 0 ? 0 : group_first (e, d, gp->r_lo);
  gp->e_hi = k == parts - 1 ? e->h : group_first (e, d, gp->r_hi);
  gp->e_pre = k == 0 ? gp->e_lo
                     : CLAMP (group_need (e, d, gp->r_lo), gp->e_lo,
                              gp->e_hi);
}

/* Whether group i can run split in parts: each part's rows at least 4 and
 * the rows part k - 1 reads of part k's range inside that range. */
static gboolean
group_splits (const HippoSession *s, int i, int parts)
{
  const HippoNode *e = node_at (s->graph, i);
  const HippoNode *d = node_at (s->graph, i + 1);

  if (parts < 2 || d->h / parts < 4)
    return FALSE;
  for (int k = 1; k < parts; k++)
    {
      GroupPart gp, prev;
      group_part (e, d, k, parts, &gp);
      group_part (e, d, k - 1, parts, &prev);
      if (gp.e_lo < prev.e_lo || group_need (e, d, gp.r_lo) > gp.e_hi
          || group_first (e, d, gp.r_lo) < gp.e_lo)
        return FALSE;
    }
  return TRUE;
}

static gboolean
node_tapped (const HippoSession *s, int i)
{
  for (int t = 0; t < s->n_taps; t++)
    if (s->taps[t].node == i)
      return TRUE;
  return FALSE;
}

/* Depthwise output rows per strip of group i. */
static int
group_strip (const HippoSession *s, int i)
{
  const HippoNode *e = node_at (s->graph, i);
  const HippoNode *d = node_at (s->graph, i + 1);

  return MAX (1, STRIP_FLOATS / (d->sh * e->w * e->c));
}

/* Floats of the thread's scratch a group run in rows needs: the expanded
 * rows of one strip (with the rows above it the depthwise reads) and,
 * with a 1x1 conv after it, the strip's depthwise output. */
static gsize
group_rows_floats (const HippoSession *s, int i)
{
  const HippoNode *e = node_at (s->graph, i);
  const HippoNode *d = node_at (s->graph, i + 1);
  gsize strip = (gsize) group_strip (s, i);
  gsize rows = (strip - 1) * d->sh + (gsize) (d->kh - 1) * d->dh + 1;
  gsize n = MIN (rows, (gsize) e->h) * e->w * e->c;

  if (s->group[i] == 3)
    n += strip * d->w * d->c;
  return n;
}

/* Whether group i keeps only a strip's rows of its expanded (and
 * depthwise) tensors, in the thread's scratch, so they stay in cache and
 * are never written to the arena: when nothing else reads them (no
 * feature is taken from them) and they fit. */
static gboolean
group_in_rows (const HippoSession *s, int i)
{
  return s->scratch != NULL && !node_tapped (s, i)
         && !(s->group[i] == 3 && node_tapped (s, i + 1))
         && group_rows_floats (s, i) <= HIPPO_SCRATCH_FLOATS;
}

/* Part k of parts of group i in rows (see group_in_rows()): each strip
 * makes the expanded rows it reads in the scratch, after the ones it
 * shares with the strip before (moved to the front); a part makes the
 * rows it shares with the part before again, so parts need no barrier. */
static void
run_group_rows (HippoSession *s, float *arena, int thread, int i, guint img,
                const float *input, int k, int parts)
{
  const HippoNode *e = node_at (s->graph, i);
  const HippoNode *d = node_at (s->graph, i + 1);
  const HippoNode *p = s->group[i] == 3 ? node_at (s->graph, i + 2) : NULL;
  const float *in = e->inputs[0] == 0 ? input
                                      : tensor_at (s, arena, e->inputs[0], img);
  float *ring = s->scratch + (gsize) thread * HIPPO_SCRATCH_FLOATS;
  gsize e_row = (gsize) e->w * e->c, d_row = (gsize) d->w * d->c;
  int strip = group_strip (s, i);
  gsize rows = (gsize) (strip - 1) * d->sh + (gsize) (d->kh - 1) * d->dh + 1;
  float *dbuf = ring + MIN (rows, (gsize) e->h) * e_row;
  float *dout = tensor_at (s, arena, i + 1, img);
  HippoShape e_is = { 0, 0, e->cin }; /* 1x1: not read */
  HippoShape p_is = { d->h, d->w, d->c };
  int r_lo = (int) ((gint64) d->h * k / parts);
  int r_hi = (int) ((gint64) d->h * (k + 1) / parts);
  int have_lo = 0, have_hi = 0; /* expanded rows in ring[0..] */

  for (int r0 = r_lo; r0 < r_hi; r0 += strip)
    {
      int r1 = MIN (r_hi, r0 + strip);
      int lo = group_first (e, d, r0), hi = group_need (e, d, r1);
      HippoNode dn = *d;
      HippoShape d_is = { hi - lo, e->w, e->c };

      if (have_lo <= lo && lo < have_hi)
        {
          memmove (ring, ring + (gsize) (lo - have_lo) * e_row,
                   (gsize) (have_hi - lo) * e_row * sizeof (float));
          have_lo = lo;
        }
      else
        have_lo = have_hi = lo;
      if (hi > have_hi)
        {
          conv_pixels (s, thread, i, e, e_is,
                       in + (gsize) have_hi * e->w * e->cin,
                       ring + (gsize) (have_hi - have_lo) * e_row, 0,
                       (gint64) (hi - have_hi) * e->w, 0, e->c, NULL, FALSE);
          have_hi = hi;
        }
      /* the depthwise on the strip alone: its first input row is lo */
      dn.h = r1 - r0;
      dn.pad_t = d->pad_t - r0 * d->sh + lo;
      hippo_dwconv_rows (s->isa, &dn, d_is, ring, p ? dbuf : dout + r0 * d_row,
                         0, r1 - r0, FALSE);
      if (p)
        conv_pixels (s, thread, i + 2, p, p_is, dbuf,
                     tensor_at (s, arena, i + 2, img)
                       + (gsize) r0 * d->w * p->c,
                     0, (gint64) (r1 - r0) * d->w, 0, p->c, NULL, FALSE);
    }
}

/* Runs part k of parts of group i (see group[]) on one image on this
 * thread: phase 1, 2, or 0 for both (parts == 1: the whole group). */
static void
run_group (HippoSession *s, float *arena, int thread, int i, guint img,
           const float *input, int k, int parts, int phase)
{
  const HippoNode *e = node_at (s->graph, i);
  const HippoNode *d = node_at (s->graph, i + 1);
  const HippoNode *p = s->group[i] == 3 ? node_at (s->graph, i + 2) : NULL;
  const HippoNode *e_in = node_at (s->graph, e->inputs[0]);
  const float *in = e->inputs[0] == 0 ? input
                                      : tensor_at (s, arena, e->inputs[0], img);
  float *eo = tensor_at (s, arena, i, img);
  float *dout = tensor_at (s, arena, i + 1, img);
  float *scratch = s->scratch ? s->scratch
                                  + (gsize) thread * HIPPO_SCRATCH_FLOATS
                              : NULL;
  HippoShape e_is = { e_in->h, e_in->w, e_in->c };
  HippoShape d_is = { e->h, e->w, e->c };
  HippoShape p_is = { d->h, d->w, d->c };
  int strip = MAX (1, STRIP_FLOATS / (d->sh * e->w * e->c));
  GroupPart gp;
  int e_done;

  if (group_in_rows (s, i))
    {
      run_group_rows (s, arena, thread, i, img, input, k, parts);
      return;
    }
  group_part (e, d, k, parts, &gp);
  if (phase != 2 && gp.e_pre > gp.e_lo)
    conv_pixels (s, thread, i, e, e_is, in, eo, (gint64) gp.e_lo * e->w,
                 (gint64) gp.e_pre * e->w, 0, e->c, scratch, FALSE);
  if (phase == 1)
    return;
  e_done = gp.e_pre;
  for (int r0 = gp.r_lo; r0 < gp.r_hi; r0 += strip)
    {
      int r1 = MIN (gp.r_hi, r0 + strip);
      /* rows past e_hi are the next part's, made in its phase 1 */
      int need = MIN (group_need (e, d, r1), gp.e_hi);

      if (need > e_done)
        {
          conv_pixels (s, thread, i, e, e_is, in, eo, (gint64) e_done * e->w,
                       (gint64) need * e->w, 0, e->c, scratch, FALSE);
          e_done = need;
        }
      hippo_dwconv_rows (s->isa, d, d_is, eo, dout, r0, r1, FALSE);
      if (p)
        conv_pixels (s, thread, i + 2, p, p_is, dout,
                     tensor_at (s, arena, i + 2, img), (gint64) r0 * d->w,
                     (gint64) r1 * d->w, 0, p->c, scratch, FALSE);
    }
  /* rows below the last the depthwise read (none with 'same' padding) */
  if (e_done < gp.e_hi)
    conv_pixels (s, thread, i, e, e_is, in, eo, (gint64) e_done * e->w,
                 (gint64) gp.e_hi * e->w, 0, e->c, scratch, FALSE);
}

typedef struct
{
  HippoSession *s;
  float *arena;
  int i, parts, phase;
  guint img;
  const float *input;
} GroupJob;

static void
group_task (gpointer data, int index, int thread)
{
  GroupJob *gj = data;

  run_group (gj->s, gj->arena, thread, gj->i, gj->img, gj->input, index,
             gj->parts, gj->phase);
}

/* Runs nodes [first, end) on n images with arena number a (input: the
 * first image's input; img: which slot of the late segment's inputs an
 * early pass fills); thread >= 0 runs every layer on that thread alone, -1
 * splits each over the pool. */
static void
run_nodes (HippoSession *s, int a, int thread, int first, int end, guint img,
           const float *input, guint n, float *features)
{
  const HippoGraph *g = s->graph;
  float *arena = s->arena + (gsize) a * s->arena_floats;
  Profile *prof = &s->prof[a];
  const float *ins_buf[64];
  int inc_buf[64];

  if (first == 1)
    read_taps (s, 0, HIPPO_TAP_OUTPUT, input, n, features);
  for (int i = first; i < end; i++)
    {
      const HippoNode *node = node_at (g, i);
      const HippoNode *in0;
      const float **ins = ins_buf;
      int *in_c = inc_buf;
      Job job = { s, node, i, thread };
      int T = s->n_threads;
      gint64 t0 = s->profile ? g_get_monotonic_time () : 0;

      if (!s->needed[i])
        continue;
      if (s->group[i] && n == 1 && i + s->group[i] <= end
          && (thread >= 0 || T == 1 || group_splits (s, i, T)))
        {
          if (thread >= 0 || T == 1)
            run_group (s, arena, MAX (thread, 0), i, img, input, 0, 1, 0);
          else
            {
              /* the parts' shared rows first, then the rest (in rows:
               * the parts make shared rows each for itself) */
              GroupJob gj = { s, arena, i, T, 1, img, input };
              if (group_in_rows (s, i))
                {
                  gj.phase = 0;
                  hippo_pool_run (s->pool, T, group_task, &gj);
                }
              else
                {
                  hippo_pool_run (s->pool, T, group_task, &gj);
                  gj.phase = 2;
                  hippo_pool_run (s->pool, T, group_task, &gj);
                }
            }
          for (int k = 0; k < s->group[i]; k++)
            {
              const HippoNode *gk = node_at (g, i + k);
              read_taps (s, i + k, HIPPO_TAP_OUTPUT,
                         tensor_at (s, arena, i + k, img), n, features);
              if (s->profile)
                prof->flops[HIPPO_OP_CONV] += node_flops (g, gk) * n;
            }
          if (s->profile)
            {
              if (s->profile_nodes)
                g_printerr ("node %3d %-10s %4dx%-4dx%5d group of %d %8.3f "
                            "ms\n",
                            i, "fused", node->h, node->w, node->c,
                            s->group[i],
                            (g_get_monotonic_time () - t0) / 1000.0);
              /* counted as conv: mostly GEMM time */
              prof->us[HIPPO_OP_CONV] += g_get_monotonic_time () - t0;
            }
          i += s->group[i] - 1;
          continue;
        }
      in0 = node_at (g, node->n_inputs > 0 ? node->inputs[0] : 0);
      if (node->n_inputs > 64)
        {
          ins = g_newa (const float *, node->n_inputs);
          in_c = g_newa (int, node->n_inputs);
        }
      for (int j = 0; j < node->n_inputs; j++)
        {
          int k = node->inputs[j];
          ins[j] = k == 0 ? input : tensor_at (s, arena, k, img);
          in_c[j] = node_at (g, k)->c;
        }
      job.in = ins[0];
      job.ins = ins;
      job.in_c = in_c;
      job.is.h = in0->h, job.is.w = in0->w, job.is.c = in0->c;
      job.out = tensor_at (s, arena, i, img);
      job.no_act = s->preact[i];
      job.tensor_op = hippo__tensor_op_applies (g, node);
      if (job.tensor_op)
        {
          job.total = (gint64) n * hippo__tensor_units (g, node);
          job.n_tasks = (int) MIN (job.total, T);
        }
      else
        {
        switch (node->op)
          {
          case HIPPO_OP_DWCONV:
          case HIPPO_OP_AVGPOOL:
          case HIPPO_OP_MAXPOOL:
          case HIPPO_OP_PAD:
            job.total = (gint64) n * node->h;
            job.n_tasks = (int) MIN (job.total, T * 4);
            break;
          case HIPPO_OP_GAP:
            job.total = n;
            job.n_tasks = (int) MIN (job.total, T);
            break;
          default:
            job.total = (gint64) n * node->h * node->w;
            job.n_tasks = (int) MIN (job.total, T);
            if (node->op == HIPPO_OP_CONV && thread < 0
                && hippo_conv_split_columns (node, job.total, T))
              {
                job.pixels = job.total;
                job.split_cols = TRUE;
                job.total = (node->c + 15) / 16;
                job.n_tasks = (int) MIN (job.total, T);
              }
            break;
          }
        }
      run_job (s, &job, run_task);
      if (s->preact[i])
        {
          read_taps (s, i, HIPPO_TAP_PREACT, job.out, n, features);
          job.split_cols = FALSE;
          job.total = (gint64) n * node->h * node->w;
          job.n_tasks = (int) MIN (job.total, T);
          run_job (s, &job, act_task);
        }
      read_taps (s, i, HIPPO_TAP_OUTPUT, job.out, n, features);
      if (s->profile)
        {
          if (s->profile_nodes)
            g_printerr ("node %3d %-10s %4dx%-4dx%5d k%dx%d s%d %8.3f ms\n", i,
                        op_names[node->op], node->h, node->w, node->c,
                        node->kh, node->kw, node->sh,
                        (g_get_monotonic_time () - t0) / 1000.0);
          prof->us[node->op] += g_get_monotonic_time () - t0;
          prof->flops[node->op] += node_flops (g, node) * n;
        }
    }
  if (s->profile && end > s->last)
    prof->images += n;
}

/* Runs the network on n <= s->chunk images with arena a: the early
 * segment image by image, then the late one on all. */
static void
run_chunk (HippoSession *s, int a, int thread, const float *input, guint n,
           float *features)
{
  const HippoGraph *g = s->graph;
  gsize in_floats = (gsize) g->in_h * g->in_w * g->in_c;

  if (s->late_from > s->last)
    {
      /* one segment: chunk, so n, is 1 */
      run_nodes (s, a, thread, 1, s->last + 1, 0, input, n, features);
      return;
    }
  for (guint j = 0; j < n; j++)
    run_nodes (s, a, thread, 1, s->late_from, j, input + j * in_floats, 1,
               features + (gsize) j * s->dim);
  run_nodes (s, a, thread, s->late_from, s->last + 1, 0, input, n, features);
}

/* Chunks of images, one chunk at a time per thread, taken in turn. */
typedef struct
{
  HippoSession *s;
  const float *input;
  float *features;
  guint n;
  guint per;           /* images per chunk */
  gsize in_floats;
  gint next;           /* atomic: the next chunk */
} ImageJob;

static void
image_task (gpointer data, int index, int thread)
{
  ImageJob *job = data;
  guint c;

  while ((c = (guint) g_atomic_int_add (&job->next, 1)) * job->per < job->n)
    {
      guint first = c * job->per;
      run_chunk (job->s, index, thread, job->input + first * job->in_floats,
                 MIN (job->per, job->n - first),
                 job->features + (gsize) first * job->s->dim);
    }
}

gboolean
hippo_session_run (HippoSession *s, const float *input, guint n,
                   float *features, GError **error)
{
  const HippoGraph *g;
  gsize in_floats;

  g_return_val_if_fail (s != NULL && input != NULL && features != NULL,
                        FALSE);
  if (n < 1 || n > (guint) s->max_batch)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "batch of %u images; this session takes 1..%d", n,
                   s->max_batch);
      return FALSE;
    }
  g = s->graph;
  in_floats = (gsize) g->in_h * g->in_w * g->in_c;
  if (s->n_arenas > 1 && n >= 2)
    {
      guint per = MIN ((guint) s->chunk, (n + s->n_arenas - 1) / s->n_arenas);
      ImageJob job = { s, input, features, n, per, in_floats, 0 };

      /* task i uses arena i; the pool gives each task its own thread */
      hippo_pool_run (s->pool, MIN ((int) ((n + per - 1) / per), s->n_arenas),
                      image_task, &job);
      return TRUE;
    }
  for (guint a = 0; a < n; a += s->chunk)
    run_chunk (s, 0, -1, input + a * in_floats, MIN (n - a, (guint) s->chunk),
               features + (gsize) a * s->dim);
  return TRUE;
}
