/* The engine's general tensor ops (graph.h: CONST .. EXPAND, CONCAT and
 * SOFTMAX on any axis, PAD of any axis, the added activations) on tiny
 * hand-built graphs, against values computed by hand (tolerance 1e-5
 * absolute: small sums of small numbers).  Each case also runs as a batch
 * of 3 images on 2 threads, which must equal the images one by one
 * exactly. */
#include <math.h>
#include <string.h>

#include "hippotag/hippotag.h"
#include "engine/graph.h"
#include "engine/model-private.h"

#define TOL 1e-5

/* A graph with input [1, w, 3] reshaped to dims (of w * 3 values). */
static HippoGraph *
new_graph (int w, int rank, const int *dims, int *x)
{
  HippoGraph *g = hippo_graph_new ();
  HippoNode *r;
  int in0 = 0;

  g->in_h = 1, g->in_w = w, g->in_c = 3;
  g_assert_nonnull (
    hippo_graph_add_node (g, "input", "Input", HIPPO_OP_INPUT, NULL, 0, NULL));
  r = hippo_graph_add_node (g, "x", "Reshape", HIPPO_OP_RESHAPE, &in0, 1, NULL);
  r->shape_rank = rank;
  memcpy (r->shape, dims, rank * sizeof (int));
  *x = 1;
  return g;
}

static HippoNode *
add (HippoGraph *g, const char *name, HippoOp op, const int *ins, int n)
{
  g_autoptr (GError) error = NULL;
  HippoNode *node = hippo_graph_add_node (g, name, name, op, ins, n, &error);

  g_assert_no_error (error);
  return node;
}

static float *
floats (HippoGraph *g, gsize n, const float *v)
{
  float *p = hippo_graph_alloc (g, n, NULL);

  memcpy (p, v, n * sizeof (float));
  return p;
}

/* Runs the graph up to layer (its values flattened, so the pooled
 * feature is every value) on input of in_n floats; checks the batch of 3
 * on 2 threads against one image at a time; returns the values of one
 * image. */
static float *
run_model (HippoGraph *g, const char *layer, const float *input, gsize in_n,
           guint *dim, HippoModel **keep)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoModel) m = NULL;
  g_autoptr (HippoSession) s1 = NULL;
  g_autoptr (HippoSession) s3 = NULL;
  HippoSessionParams p;
  g_autofree float *in3 = g_new (float, in_n * 3);
  g_autofree float *out3 = NULL;
  float *out;
  const HippoLayerRef *ref = hippo_graph_find (g, layer, &error);
  HippoNode *flat;
  int src;

  g_assert_no_error (error);
  src = ref->node;
  flat = add (g, "flat", HIPPO_OP_RESHAPE, &src, 1);
  (void) flat;
  m = hippo_model_new_for_graph (g, "t", &error);
  g_assert_no_error (error);
  hippo_session_params_default (&p);
  p.layers = "flat";
  s1 = hippo_session_new (m, &p, &error);
  g_assert_no_error (error);
  *dim = hippo_session_get_dim (s1);
  out = g_new (float, *dim);
  g_assert_true (hippo_session_run (s1, input, 1, out, &error));
  g_assert_no_error (error);

  /* a batch of 3: the input, its negation, the input plus 1 */
  p.max_batch = 3;
  p.n_threads = 2;
  s3 = hippo_session_new (m, &p, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < in_n; i++)
    {
      in3[i] = input[i];
      in3[in_n + i] = -input[i];
      in3[2 * in_n + i] = input[i] + 1;
    }
  out3 = g_new (float, *dim * 3);
  g_assert_true (hippo_session_run (s3, in3, 3, out3, &error));
  for (int b = 0; b < 3; b++)
    {
      g_autofree float *one = g_new (float, *dim);

      g_assert_true (hippo_session_run (s1, in3 + b * in_n, 1, one, &error));
      for (guint k = 0; k < *dim; k++)
        if (!(isnan (one[k]) && isnan (out3[b * *dim + k])))
          g_assert_cmpfloat (one[k], ==, out3[b * *dim + k]);
    }
  if (keep != NULL)
    *keep = hippo_model_ref (m);
  return out;
}

static float *
run_values (HippoGraph *g, const char *layer, const float *input, gsize in_n,
            guint *dim)
{
  return run_model (g, layer, input, in_n, dim, NULL);
}

static void
assert_values (const float *got, guint dim, const float *want, guint n)
{
  g_assert_cmpuint (dim, ==, n);
  for (guint k = 0; k < n; k++)
    g_assert_cmpfloat_with_epsilon (got[k], want[k], TOL);
}

static void
ramp (float *v, gsize n)
{
  for (gsize i = 0; i < n; i++)
    v[i] = (float) i;
}

/* x [2, 3] (0..5) + [10, 20, 30]; [2, 3] * [2, 1] of two tensors (the
 * second a slice); 1 / x with the constant first; PReLU. */
static void
test_binary (void)
{
  int dims[] = { 2, 3 }, x;
  HippoGraph *g = new_graph (2, 2, dims, &x);
  float in[6], bias[] = { 10, 20, 30 };
  HippoNode *n;
  int ins[2];
  g_autofree float *out = NULL;
  guint dim;

  ramp (in, 6);
  n = add (g, "add", HIPPO_OP_BINARY, &x, 1);
  n->bin = HIPPO_BIN_ADD;
  n->wrank = 1, n->wdims[0] = 3;
  n->weights = floats (g, 3, bias);
  out = run_values (g, "add", in, 6, &dim);
  assert_values (out, dim, (float[]){ 10, 21, 32, 13, 24, 35 }, 6);
  g_clear_pointer (&out, g_free);

  g = new_graph (2, 2, dims, &x);
  n = add (g, "col", HIPPO_OP_SLICE, &x, 1); /* x[:, 1:2] = [1, 4] */
  n->shape_rank = 2;
  n->begin[0] = 0, n->step[0] = 1, n->shape[0] = 2;
  n->begin[1] = 1, n->step[1] = 1, n->shape[1] = 1;
  ins[0] = x, ins[1] = 2;
  n = add (g, "mul", HIPPO_OP_BINARY, ins, 2);
  n->bin = HIPPO_BIN_MUL;
  out = run_values (g, "mul", in, 6, &dim);
  assert_values (out, dim, (float[]){ 0, 1, 2, 12, 16, 20 }, 6);
  g_clear_pointer (&out, g_free);

  g = new_graph (2, 2, dims, &x);
  n = add (g, "div", HIPPO_OP_BINARY, &x, 1);
  n->bin = HIPPO_BIN_DIV;
  n->const_first = TRUE;
  n->wrank = 0;
  n->weights = floats (g, 1, (float[]){ 60 });
  in[0] = 3;
  out = run_values (g, "div", in, 6, &dim);
  assert_values (out, dim, (float[]){ 20, 60, 30, 20, 15, 12 }, 6);
  g_clear_pointer (&out, g_free);

  g = new_graph (2, 2, dims, &x);
  n = add (g, "prelu", HIPPO_OP_BINARY, &x, 1);
  n->bin = HIPPO_BIN_PRELU;
  n->wrank = 1, n->wdims[0] = 3;
  n->weights = floats (g, 3, (float[]){ 0.5f, 0.25f, 2 });
  for (int i = 0; i < 6; i++)
    in[i] = (float) (i - 3);
  out = run_values (g, "prelu", in, 6, &dim);
  assert_values (out, dim, (float[]){ -1.5f, -0.5f, -2, 0, 1, 2 }, 6);
  g_clear_pointer (&out, g_free);

  g = new_graph (2, 2, dims, &x);
  n = add (g, "less", HIPPO_OP_BINARY, &x, 1);
  n->bin = HIPPO_BIN_LESS;
  n->wrank = 2, n->wdims[0] = 2, n->wdims[1] = 1;
  n->weights = floats (g, 2, (float[]){ 0, 1 });
  out = run_values (g, "less", in, 6, &dim);
  /* [-3 -2 -1] < 0, [0 1 2] < 1 */
  assert_values (out, dim, (float[]){ 1, 1, 1, 1, 0, 0 }, 6);
}

/* cond ? a : b with a broadcast constant row (CONST [3]). */
static void
test_where_const (void)
{
  int dims[] = { 2, 3 }, x, ins[3];
  HippoGraph *g = new_graph (2, 2, dims, &x);
  float in[6] = { 1, 0, 2, 0, 0, 3 };
  HippoNode *n;
  g_autofree float *out = NULL;
  guint dim;

  n = add (g, "row", HIPPO_OP_CONST, NULL, 0);
  n->shape_rank = 1, n->shape[0] = 3;
  n->weights = floats (g, 3, (float[]){ 7, 8, 9 });
  n = add (g, "neg", HIPPO_OP_ACT, &x, 1);
  n->act = HIPPO_ACT_NEG;
  ins[0] = x, ins[1] = 2, ins[2] = 3;
  add (g, "where", HIPPO_OP_WHERE, ins, 3);
  out = run_values (g, "where", in, 6, &dim);
  assert_values (out, dim, (float[]){ 7, -0.f, 9, -0.f, -0.f, 9 }, 6);
}

/* [2, 2, 3] x [2, 3, 2] in two batches, and x [4, 3] times the
 * transpose of a slice [2, 3] of itself (trans_b), and a broadcast batch. */
static void
test_matmul (void)
{
  int dims[] = { 2, 2, 3 }, x, ins[2];
  HippoGraph *g = new_graph (4, 3, dims, &x);
  float in[12];
  HippoNode *n;
  g_autofree float *out = NULL;
  guint dim;

  ramp (in, 12);
  /* B = x reshaped to [2, 3, 2]: batch 0 rows (0 1)(2 3)(4 5), batch 1
   * rows (6 7)(8 9)(10 11) */
  n = add (g, "b", HIPPO_OP_RESHAPE, &x, 1);
  n->shape_rank = 3, n->shape[0] = 2, n->shape[1] = 3, n->shape[2] = 2;
  ins[0] = x, ins[1] = 2;
  add (g, "mm", HIPPO_OP_MATMUL, ins, 2);
  out = run_values (g, "mm", in, 12, &dim);
  /* A0 = (0 1 2)(3 4 5), A1 = (6 7 8)(9 10 11) */
  assert_values (out, dim, (float[]){ 10, 13, 28, 40, 172, 193, 244, 274 }, 8);
  g_clear_pointer (&out, g_free);

  dims[0] = 4, dims[1] = 3;
  g = new_graph (4, 2, dims, &x);
  n = add (g, "top", HIPPO_OP_SLICE, &x, 1); /* rows 0 and 1: [2, 3] */
  n->shape_rank = 2;
  n->begin[0] = 0, n->step[0] = 1, n->shape[0] = 2;
  n->begin[1] = 0, n->step[1] = 1, n->shape[1] = 3;
  ins[0] = x, ins[1] = 2;
  n = add (g, "mmt", HIPPO_OP_MATMUL, ins, 2);
  n->trans_b = TRUE;
  out = run_values (g, "mmt", in, 12, &dim);
  /* rows (0 1 2)(3 4 5)(6 7 8)(9 10 11) . rows (0 1 2), (3 4 5) */
  assert_values (out, dim, (float[]){ 5, 14, 14, 50, 23, 86, 32, 122 }, 8);
  g_clear_pointer (&out, g_free);

  /* [2, 2, 3] x a constant [3, 1]: B broadcast over the batch axis */
  dims[0] = 2, dims[1] = 2, dims[2] = 3;
  g = new_graph (4, 3, dims, &x);
  n = add (g, "col", HIPPO_OP_CONST, NULL, 0);
  n->shape_rank = 2, n->shape[0] = 3, n->shape[1] = 1;
  n->weights = floats (g, 3, (float[]){ 1, 10, 100 });
  ins[0] = x, ins[1] = 2;
  add (g, "mmb", HIPPO_OP_MATMUL, ins, 2);
  out = run_values (g, "mmb", in, 12, &dim);
  assert_values (out, dim, (float[]){ 210, 543, 876, 1209 }, 4);
}

/* Transpose [2, 3, 2] by (2, 0, 1); slices with negative steps; gather. */
static void
test_layout (void)
{
  int dims[] = { 2, 3, 2 }, x;
  HippoGraph *g = new_graph (4, 3, dims, &x);
  float in[12];
  HippoNode *n;
  g_autofree float *out = NULL;
  guint dim;

  ramp (in, 12);
  n = add (g, "t", HIPPO_OP_TRANSPOSE, &x, 1);
  n->perm[0] = 2, n->perm[1] = 0, n->perm[2] = 1;
  out = run_values (g, "t", in, 12, &dim);
  /* out[k][i][j] = in[i][j][k] = 6i + 2j + k */
  assert_values (out, dim, (float[]){ 0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11 },
                 12);
  g_clear_pointer (&out, g_free);

  g = new_graph (4, 3, dims, &x);
  n = add (g, "s", HIPPO_OP_SLICE, &x, 1);
  n->shape_rank = 3;
  n->begin[0] = 1, n->step[0] = -1, n->shape[0] = 2; /* both, reversed */
  n->begin[1] = 2, n->step[1] = -2, n->shape[1] = 2; /* rows 2, 0 */
  n->begin[2] = 1, n->step[2] = 1, n->shape[2] = 1;  /* column 1 */
  out = run_values (g, "s", in, 12, &dim);
  assert_values (out, dim, (float[]){ 11, 7, 5, 1 }, 4);
  g_clear_pointer (&out, g_free);

  g = new_graph (4, 3, dims, &x);
  n = add (g, "g", HIPPO_OP_GATHER, &x, 1);
  n->axis = 1;
  n->n_index = 3;
  n->index = hippo__graph_alloc_ints (g, 3, NULL);
  n->index[0] = 2, n->index[1] = 2, n->index[2] = 0;
  out = run_values (g, "g", in, 12, &dim);
  assert_values (out, dim, (float[]){ 4, 5, 4, 5, 0, 1, 10, 11, 10, 11, 6, 7 },
                 12);
  g_clear_pointer (&out, g_free);

  g = new_graph (4, 3, dims, &x);
  n = add (g, "gl", HIPPO_OP_GATHER, &x, 1);
  n->axis = -1;
  n->n_index = 1;
  n->index = hippo__graph_alloc_ints (g, 1, NULL);
  n->index[0] = 1;
  out = run_values (g, "gl", in, 12, &dim);
  assert_values (out, dim, (float[]){ 1, 3, 5, 7, 9, 11 }, 6);
}

/* Concatenation along the first axis with a constant (a class token),
 * expand, and the legacy channel concatenation on rank 2. */
static void
test_concat_expand (void)
{
  int dims[] = { 2, 3 }, x, ins[2];
  HippoGraph *g = new_graph (2, 2, dims, &x);
  float in[6];
  HippoNode *n;
  g_autofree float *out = NULL;
  guint dim;

  ramp (in, 6);
  n = add (g, "cls", HIPPO_OP_CONST, NULL, 0);
  n->shape_rank = 2, n->shape[0] = 1, n->shape[1] = 3;
  n->weights = floats (g, 3, (float[]){ -1, -2, -3 });
  ins[0] = 2, ins[1] = x;
  n = add (g, "cat", HIPPO_OP_CONCAT, ins, 2);
  n->axis = 0;
  out = run_values (g, "cat", in, 6, &dim);
  assert_values (out, dim, (float[]){ -1, -2, -3, 0, 1, 2, 3, 4, 5 }, 9);
  g_clear_pointer (&out, g_free);

  g = new_graph (2, 2, dims, &x);
  ins[0] = x, ins[1] = x;
  add (g, "catc", HIPPO_OP_CONCAT, ins, 2);
  out = run_values (g, "catc", in, 6, &dim);
  assert_values (out, dim, (float[]){ 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5 }, 12);
  g_clear_pointer (&out, g_free);

  g = new_graph (2, 2, dims, &x);
  n = add (g, "first", HIPPO_OP_SLICE, &x, 1); /* [1, 3] */
  n->shape_rank = 2;
  n->begin[0] = 0, n->step[0] = 1, n->shape[0] = 1;
  n->begin[1] = 0, n->step[1] = 1, n->shape[1] = 3;
  n = add (g, "e", HIPPO_OP_EXPAND, (int[]){ 2 }, 1);
  n->shape_rank = 3, n->shape[0] = 2, n->shape[1] = 2, n->shape[2] = 1;
  out = run_values (g, "e", in, 6, &dim);
  /* [1, 3] broadcast with [2, 2, 1] -> [2, 2, 3] */
  assert_values (out, dim, (float[]){ 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2 }, 12);
}

/* Padding of every axis: constant, reflect, edge. */
static void
test_pad (void)
{
  int dims[] = { 2, 3 }, x;
  HippoGraph *g;
  float in[6];
  HippoNode *n;
  g_autofree float *out = NULL;
  guint dim;
  static const float want[3][20] = {
    /* 4 x 5 from [[0 1 2] [3 4 5]] padded (1, 0) rows, (1, 1) columns */
    { 9, 9, 9, 9, 9, 9, 0, 1, 2, 9, 9, 3, 4, 5, 9 },
    { 4, 3, 4, 5, 4, 1, 0, 1, 2, 1, 4, 3, 4, 5, 4 },
    { 0, 0, 1, 2, 2, 0, 0, 1, 2, 2, 3, 3, 4, 5, 5 },
  };

  ramp (in, 6);
  for (int mode = 0; mode < 3; mode++)
    {
      g = new_graph (2, 2, dims, &x);
      n = add (g, "pad", HIPPO_OP_PAD, &x, 1);
      n->n_pads = 2;
      n->pad_before[0] = 1, n->pad_after[0] = 0;
      n->pad_before[1] = 1, n->pad_after[1] = 1;
      n->pad_mode = mode;
      n->value = 9;
      out = run_values (g, "pad", in, 6, &dim);
      assert_values (out, dim, want[mode], 15);
      g_clear_pointer (&out, g_free);
    }
}

/* Reductions, softmax on the first axis, layer normalisation. */
static void
test_reduce_norm (void)
{
  int dims[] = { 2, 3 }, x;
  HippoGraph *g;
  float in[6] = { 1, 2, 3, 4, 6, 8 };
  HippoNode *n;
  g_autofree float *out = NULL;
  guint dim;
  double e1 = exp (-3), e2 = exp (-4), e3 = exp (-5);

  g = new_graph (2, 2, dims, &x);
  n = add (g, "mean", HIPPO_OP_REDUCE, &x, 1);
  n->reduce = HIPPO_REDUCE_MEAN;
  n->axes = 1u << 1;
  n->keepdims = TRUE;
  out = run_values (g, "mean", in, 6, &dim);
  assert_values (out, dim, (float[]){ 2, 6 }, 2);
  g_clear_pointer (&out, g_free);

  g = new_graph (2, 2, dims, &x);
  n = add (g, "max", HIPPO_OP_REDUCE, &x, 1);
  n->reduce = HIPPO_REDUCE_MAX;
  n->axes = 1u << 0;
  out = run_values (g, "max", in, 6, &dim);
  assert_values (out, dim, (float[]){ 4, 6, 8 }, 3);
  g_clear_pointer (&out, g_free);

  g = new_graph (2, 2, dims, &x);
  n = add (g, "sm", HIPPO_OP_SOFTMAX, &x, 1);
  n->axis = 0;
  out = run_values (g, "sm", in, 6, &dim);
  assert_values (out, dim,
                 (float[]){ e1 / (1 + e1), e2 / (1 + e2), e3 / (1 + e3),
                            1 / (1 + e1), 1 / (1 + e2), 1 / (1 + e3) },
                 6);
  g_clear_pointer (&out, g_free);

  g = new_graph (2, 2, dims, &x);
  n = add (g, "ln", HIPPO_OP_LAYERNORM, &x, 1);
  n->axis = -1;
  n->value = 0;
  n->weights = floats (g, 3, (float[]){ 1, 2, 3 });
  n->bias = floats (g, 3, (float[]){ 0, 0, 1 });
  out = run_values (g, "ln", in, 6, &dim);
  /* rows (1 2 3), (4 6 8): mean 2, 6; std sqrt(2/3), 2 sqrt(2/3) */
  {
    double s = sqrt (1.5);
    assert_values (out, dim, (float[]){ -s, 0, 3 * s + 1, -s, 0, 3 * s + 1 },
                   6);
  }
}

/* Nearest and bilinear resizing of a 2x2 map of 3 channels to 4x3. */
static void
test_resize (void)
{
  int dims[] = { 1, 2, 2, 3 }, x;
  HippoGraph *g;
  float in[12];
  HippoNode *n;
  g_autofree float *out = NULL;
  guint dim;

  /* channel 0: (0 1)(2 3); channels 1, 2: constant 1, 2 */
  for (int p = 0; p < 4; p++)
    in[p * 3] = p, in[p * 3 + 1] = 1, in[p * 3 + 2] = 2;
  g = new_graph (4, 4, dims, &x);
  n = add (g, "rs", HIPPO_OP_RESIZE, &x, 1);
  n->shape_rank = 2, n->shape[0] = 4, n->shape[1] = 3;
  n->resize_mode = HIPPO_RESIZE_LINEAR;
  n->coord = HIPPO_COORD_ALIGN_CORNERS;
  out = run_values (g, "rs", in, 12, &dim);
  g_assert_cmpuint (dim, ==, 36);
  /* align corners: y = oy * 1/3, x = ox * 1/2: value 2y + x */
  for (int oy = 0; oy < 4; oy++)
    for (int ox = 0; ox < 3; ox++)
      {
        g_assert_cmpfloat_with_epsilon (out[(oy * 3 + ox) * 3],
                                        2.0 * oy / 3 + 0.5 * ox, TOL);
        g_assert_cmpfloat_with_epsilon (out[(oy * 3 + ox) * 3 + 2], 2, TOL);
      }
  g_clear_pointer (&out, g_free);

  g = new_graph (4, 4, dims, &x);
  n = add (g, "rh", HIPPO_OP_RESIZE, &x, 1);
  n->shape_rank = 2, n->shape[0] = 4, n->shape[1] = 3;
  n->resize_mode = HIPPO_RESIZE_LINEAR;
  n->coord = HIPPO_COORD_HALF_PIXEL;
  out = run_values (g, "rh", in, 12, &dim);
  /* half pixel: y = (oy + .5) / 2 - .5 clamped: 0, .25, .75, 1;
   * x = (ox + .5) / 1.5 - .5 clamped: 0, .5, 1 */
  {
    const double ys[] = { 0, .25, .75, 1 }, xs[] = { 0, .5, 1 };
    for (int oy = 0; oy < 4; oy++)
      for (int ox = 0; ox < 3; ox++)
        g_assert_cmpfloat_with_epsilon (out[(oy * 3 + ox) * 3],
                                        2 * ys[oy] + xs[ox], TOL);
  }
  g_clear_pointer (&out, g_free);

  g = new_graph (4, 4, dims, &x);
  n = add (g, "rn", HIPPO_OP_RESIZE, &x, 1);
  n->shape_rank = 2, n->shape[0] = 4, n->shape[1] = 3;
  n->resize_mode = HIPPO_RESIZE_NEAREST_FLOOR;
  n->coord = HIPPO_COORD_ASYMMETRIC;
  out = run_values (g, "rn", in, 12, &dim);
  /* y = floor (oy / 2), x = floor (ox / 1.5): 0 0 1 1; 0 0 1 */
  {
    const int ys[] = { 0, 0, 1, 1 }, xs[] = { 0, 0, 1 };
    for (int oy = 0; oy < 4; oy++)
      for (int ox = 0; ox < 3; ox++)
        g_assert_cmpfloat_with_epsilon (out[(oy * 3 + ox) * 3],
                                        2 * ys[oy] + xs[ox], TOL);
  }
}

/* A grouped convolution (2 groups of 2 channels, 3x3, 'same') against the
 * two halves computed as plain convolutions, with a folded affine. */
static void
test_groupconv (void)
{
  int dims[] = { 1, 3, 4, 4 }, x, ins[1];
  HippoGraph *g = new_graph (16, 4, dims, &x);
  float in[48], w[3 * 3 * 2 * 4];
  HippoNode *n;
  g_autofree float *out = NULL;
  guint dim;

  for (int i = 0; i < 48; i++)
    in[i] = (float) ((i * 7) % 11) - 5;
  for (int i = 0; i < 72; i++)
    w[i] = (float) ((i * 5) % 7) - 3;
  n = add (g, "gc", HIPPO_OP_GROUPCONV, &x, 1);
  n->groups = 2, n->cin = 2, n->c = 4;
  n->kh = n->kw = 3;
  n->pad_t = n->pad_b = n->pad_l = n->pad_r = 1;
  n->weights = floats (g, 72, w);
  n->bias = floats (g, 4, (float[]){ 1, 2, 3, 4 });
  ins[0] = 2;
  n = add (g, "bn", HIPPO_OP_AFFINE, ins, 1);
  n->scale = floats (g, 4, (float[]){ 2, 2, 0.5f, 1 });
  n->shift = floats (g, 4, (float[]){ 0, 1, 0, -1 });
  out = run_values (g, "bn", in, 48, &dim);
  g_assert_cmpuint (dim, ==, 48);
  for (int y = 0; y < 3; y++)
    for (int xx = 0; xx < 4; xx++)
      for (int o = 0; o < 4; o++)
        {
          int gi = o / 2;
          double acc = (double[]){ 1, 2, 3, 4 }[o];
          double sc = (double[]){ 2, 2, 0.5, 1 }[o];
          double sh = (double[]){ 0, 1, 0, -1 }[o];

          for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++)
              {
                int iy = y + ky - 1, ix = xx + kx - 1;
                if (iy < 0 || iy >= 3 || ix < 0 || ix >= 4)
                  continue;
                for (int ci = 0; ci < 2; ci++)
                  acc += in[(iy * 4 + ix) * 4 + gi * 2 + ci]
                         * w[((ky * 3 + kx) * 2 + ci) * 4 + o];
              }
          g_assert_cmpfloat_with_epsilon (out[(y * 4 + xx) * 4 + o],
                                          acc * sc + sh, 1e-4);
        }
}

/* The added activations at a few points, and x * sigmoid (x) folded into
 * one SiLU (the sigmoid's name then marked folded). */
static void
test_acts (void)
{
  int dims[] = { 2, 3 }, x, ins[2];
  HippoGraph *g;
  float in[6] = { -2, -0.5f, 0, 0.5f, 1, 3 };
  struct
  {
    HippoAct act;
    float a, b;
  } cases[] = {
    { HIPPO_ACT_LEAKY, 0.1f, 0 },  { HIPPO_ACT_HARDSIGMOID, 0.2f, 0.5f },
    { HIPPO_ACT_HARDSWISH, 0, 0 }, { HIPPO_ACT_GELU, 0, 0 },
    { HIPPO_ACT_ERF, 0, 0 },       { HIPPO_ACT_ABS, 0, 0 },
    { HIPPO_ACT_ELU, 1, 0 },
  };
  g_autofree float *out = NULL;
  g_autoptr (HippoModel) m = NULL;
  guint dim;
  HippoNode *n;

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g = new_graph (2, 2, dims, &x);
      n = add (g, "act", HIPPO_OP_ACT, &x, 1);
      n->act = cases[c].act;
      n->act_lo = cases[c].a, n->act_hi = cases[c].b;
      out = run_values (g, "act", in, 6, &dim);
      g_assert_cmpuint (dim, ==, 6);
      for (int k = 0; k < 6; k++)
        {
          double v = in[k], want;

          switch (cases[c].act)
            {
              case HIPPO_ACT_LEAKY:
                want = v < 0 ? 0.1 * v : v;
                break;
              case HIPPO_ACT_HARDSIGMOID:
                want = CLAMP (0.2 * v + 0.5, 0, 1);
                break;
              case HIPPO_ACT_HARDSWISH:
                want = v * CLAMP (v / 6 + 0.5, 0, 1);
                break;
              case HIPPO_ACT_GELU:
                want = 0.5 * v * (1 + erf (v / sqrt (2)));
                break;
              case HIPPO_ACT_ERF:
                want = erf (v);
                break;
              case HIPPO_ACT_ELU:
                want = v < 0 ? exp (v) - 1 : v;
                break;
              default:
                want = fabs (v);
                break;
            }
          g_assert_cmpfloat_with_epsilon (out[k], want, TOL);
        }
      g_clear_pointer (&out, g_free);
    }

  g = new_graph (2, 2, dims, &x);
  n = add (g, "sig", HIPPO_OP_ACT, &x, 1);
  n->act = HIPPO_ACT_SIGMOID;
  ins[0] = x, ins[1] = 2;
  n = add (g, "swish", HIPPO_OP_BINARY, ins, 2);
  n->bin = HIPPO_BIN_MUL;
  out = run_model (g, "swish", in, 6, &dim, &m);
  for (int k = 0; k < 6; k++)
    g_assert_cmpfloat_with_epsilon (out[k], in[k] / (1 + exp (-in[k])), TOL);
  g = (HippoGraph *) hippo_model_get_graph (m);
  {
    const HippoLayerRef *ref = hippo_graph_find (g, "sig", NULL);
    const HippoNode *fused;

    g_assert_nonnull (ref);
    g_assert_cmpint (ref->kind, ==, HIPPO_TAP_FOLDED);
    fused
      = g_ptr_array_index (g->nodes, hippo_graph_find (g, "swish", NULL)->node);
    g_assert_cmpint (fused->op, ==, HIPPO_OP_ACT);
    g_assert_cmpint (fused->act, ==, HIPPO_ACT_SILU);
  }
}

/* The ONNX reader's input [1, h, w, 3]: a conv on rank 4, features of a
 * token sequence as the mean or the first position (":cls"). */
static void
test_rank4_and_cls (void)
{
  HippoGraph *g = hippo_graph_new ();
  g_autoptr (HippoModel) m = NULL;
  g_autoptr (HippoSession) s = NULL;
  g_autoptr (GError) error = NULL;
  HippoSessionParams p;
  HippoNode *n;
  int in0 = 0, one = 1;
  float in[2 * 2 * 3], f[3];

  g->in_h = 2, g->in_w = 2, g->in_c = 3, g->in_rank = 4;
  add (g, "input", HIPPO_OP_INPUT, NULL, 0);
  n = add (g, "conv", HIPPO_OP_CONV, &in0, 1);
  n->cin = 3, n->c = 3;
  n->weights = hippo_graph_alloc (g, 9, NULL);
  for (int k = 0; k < 3; k++)
    n->weights[k * 3 + k] = 1;
  n = add (g, "tokens", HIPPO_OP_RESHAPE, &one, 1);
  n->shape_rank = 3, n->shape[0] = 1, n->shape[1] = 4, n->shape[2] = 3;
  ramp (in, 12);
  m = hippo_model_new_for_graph (g, "t", &error);
  g_assert_no_error (error);
  {
    HippoLayerInfo info;
    g_assert_true (hippo_model_find_layer (m, "conv", &info, NULL));
    g_assert_cmpint (info.height, ==, 2);
    g_assert_cmpint (info.width, ==, 2);
  }
  hippo_session_params_default (&p);
  p.layers = "tokens:cls";
  s = hippo_session_new (m, &p, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hippo_session_get_layers (s), ==, "tokens:cls");
  g_assert_true (hippo_session_run (s, in, 1, f, &error));
  g_assert_cmpfloat (f[0], ==, 0);
  g_assert_cmpfloat (f[2], ==, 2);
  g_clear_pointer (&s, hippo_session_free);
  p.layers = "tokens:mean";
  s = hippo_session_new (m, &p, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hippo_session_get_layers (s), ==, "tokens");
  g_assert_true (hippo_session_run (s, in, 1, f, &error));
  g_assert_cmpfloat_with_epsilon (f[0], 4.5, TOL);
  g_assert_cmpfloat_with_epsilon (f[2], 6.5, TOL);
}

/* Parameters that do not fit are refused at load, never run. */
static void
test_refused (void)
{
  int dims[] = { 2, 3 }, x;
  struct
  {
    HippoOp op;
    const char *what;
  } cases[] = {
    { HIPPO_OP_TRANSPOSE, "not a permutation" },
    { HIPPO_OP_SLICE, "slice out of range" },
    { HIPPO_OP_GATHER, "index out of range" },
    { HIPPO_OP_BINARY, "do not broadcast" },
    { HIPPO_OP_REDUCE, "reduces axes" },
    { HIPPO_OP_RESHAPE, "element count" },
    { HIPPO_OP_PAD, "padding out of range" },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      HippoGraph *g = new_graph (2, 2, dims, &x);
      HippoNode *n = add (g, "bad", cases[c].op, &x, 1);
      g_autoptr (GError) error = NULL;
      HippoModel *m;

      switch (cases[c].op)
        {
          case HIPPO_OP_TRANSPOSE:
            n->perm[0] = 1, n->perm[1] = 1;
            break;
          case HIPPO_OP_SLICE:
            n->shape_rank = 2;
            n->begin[0] = 1, n->step[0] = 1, n->shape[0] = 2;
            n->begin[1] = 0, n->step[1] = 1, n->shape[1] = 3;
            break;
          case HIPPO_OP_GATHER:
            n->axis = 0, n->n_index = 1;
            n->index = hippo__graph_alloc_ints (g, 1, NULL);
            n->index[0] = 2;
            break;
          case HIPPO_OP_BINARY:
            n->bin = HIPPO_BIN_ADD, n->wrank = 1, n->wdims[0] = 2;
            n->weights = hippo_graph_alloc (g, 2, NULL);
            break;
          case HIPPO_OP_REDUCE:
            n->axes = 1u << 2;
            break;
          case HIPPO_OP_RESHAPE:
            n->shape_rank = 1, n->shape[0] = 5;
            break;
          default:
            n->n_pads = 2, n->pad_mode = HIPPO_PAD_REFLECT;
            n->pad_before[0] = 2;
            break;
        }
      m = hippo_model_new_for_graph (g, "t", &error);
      g_assert_null (m);
      g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, cases[c].what));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tensor-ops/binary", test_binary);
  g_test_add_func ("/tensor-ops/where-const", test_where_const);
  g_test_add_func ("/tensor-ops/matmul", test_matmul);
  g_test_add_func ("/tensor-ops/layout", test_layout);
  g_test_add_func ("/tensor-ops/concat-expand", test_concat_expand);
  g_test_add_func ("/tensor-ops/pad", test_pad);
  g_test_add_func ("/tensor-ops/reduce-norm", test_reduce_norm);
  g_test_add_func ("/tensor-ops/resize", test_resize);
  g_test_add_func ("/tensor-ops/groupconv", test_groupconv);
  g_test_add_func ("/tensor-ops/acts", test_acts);
  g_test_add_func ("/tensor-ops/rank4-and-cls", test_rank4_and_cls);
  g_test_add_func ("/tensor-ops/refused", test_refused);
  return g_test_run ();
}
