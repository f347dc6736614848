/* Engine layer tests on tiny hand-built graphs, against values computed by
 * hand (tolerance 1e-5 absolute; these are small sums of small integers). */
#include <math.h>
#include <string.h>

#include "hippotag/hippotag.h"
#include "engine/graph.h"
#include "engine/model-private.h"

#define TOL 1e-5

static HippoGraph *
new_graph (int h, int w)
{
  HippoGraph *g = hippo_graph_new ();

  g->in_h = h, g->in_w = w, g->in_c = 3;
  g_assert_nonnull (hippo_graph_add_node (g, "input", "InputLayer",
                                          HIPPO_OP_INPUT, NULL, 0, NULL));
  return g;
}

static float *
fill (HippoGraph *g, gsize n, float v)
{
  float *p = hippo_graph_alloc (g, n, NULL);
  for (gsize i = 0; i < n; i++)
    p[i] = v;
  return p;
}

/* Runs layer of model m on input and returns its pooled-or-not output:
 * we ask for layers whose output is 1x1 or compare GAP values. */
static float *
run (HippoModel *m, const char *layer, const float *input, int batch,
     int threads, guint *dim)
{
  HippoSessionParams p;
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoSession) s = NULL;
  float *out;

  hippo_session_params_default (&p);
  p.layers = layer;
  p.max_batch = batch;
  p.n_threads = threads;
  s = hippo_session_new (m, &p, &error);
  g_assert_no_error (error);
  *dim = hippo_session_get_dim (s);
  out = g_new (float, (gsize) *dim * batch);
  g_assert_true (hippo_session_run (s, input, batch, out, &error));
  g_assert_no_error (error);
  return out;
}

static void
test_same_padding (void)
{
  int a, b;

  hippo_same_padding (224, 3, 2, 1, &a, &b);
  g_assert_cmpint (a, ==, 0);
  g_assert_cmpint (b, ==, 1);
  hippo_same_padding (7, 3, 2, 1, &a, &b);
  g_assert_cmpint (a, ==, 1);
  g_assert_cmpint (b, ==, 1);
  hippo_same_padding (5, 1, 1, 1, &a, &b);
  g_assert_cmpint (a + b, ==, 0);
  hippo_same_padding (17, 3, 1, 1, &a, &b);
  g_assert_cmpint (a, ==, 1);
  g_assert_cmpint (b, ==, 1);
  hippo_same_padding (35, 3, 2, 1, &a, &b);   /* odd: total 2 */
  g_assert_cmpint (a, ==, 1);
  g_assert_cmpint (b, ==, 1);
  hippo_same_padding (8, 3, 1, 2, &a, &b);    /* dilation 2: eff 5 */
  g_assert_cmpint (a, ==, 2);
  g_assert_cmpint (b, ==, 2);
}

/* A conv 3x3 'same' with all-ones weights: each output is the sum of its
 * in-bounds neighbours. Input 3x3, channel 0 = 1..9, channels 1, 2 = 0.
 * Output channel 0 read pixel by pixel through a 1x1 pick. */
static void
test_conv_same (void)
{
  HippoGraph *g = new_graph (3, 3);
  int in0 = 0;
  HippoNode *c = hippo_graph_add_node (g, "conv", "Conv2D", HIPPO_OP_CONV,
                                       &in0, 1, NULL);
  g_autoptr (HippoModel) m = NULL;
  float input[27] = { 0 };
  float *out;
  guint dim;
  /* sums over the 3x3 neighbourhoods of 1..9, mean over all 9 outputs */
  double sums[9] = { 12, 21, 16, 27, 45, 33, 24, 39, 28 };
  double mean = 0;

  c->kh = c->kw = 3;
  c->cin = 3;
  c->c = 1;
  hippo_same_padding (3, 3, 1, 1, &c->pad_t, &c->pad_b);
  hippo_same_padding (3, 3, 1, 1, &c->pad_l, &c->pad_r);
  c->weights = hippo_graph_alloc (g, 27, NULL);
  for (int k = 0; k < 9; k++)
    c->weights[k * 3] = 1;   /* [ky][kx][ci=0][co=0] */
  for (int i = 0; i < 9; i++)
    input[i * 3] = i + 1;
  m = hippo_model_new_for_graph (g, "t", NULL);
  g_assert_nonnull (m);
  out = run (m, "conv", input, 1, 1, &dim);
  g_assert_cmpuint (dim, ==, 1);
  for (int i = 0; i < 9; i++)
    mean += sums[i] / 9;
  g_assert_cmpfloat_with_epsilon (out[0], mean, TOL);
  g_free (out);
}

/* Depthwise 3x3 stride 2 'same' on 4x4: pads (0,1); output 2x2. Channel 0
 * sums its window of y*4+x: 45, 39, 66, 50; channel 1 has only the centre
 * tap (weight 2) on a constant 1, plus bias 0.5; channel 2 has all taps 1
 * on a constant 1, so it counts the in-bounds taps: 9, 6, 6, 4. Checked
 * through the pooled output of each channel. */
static void
test_dwconv_stride2 (void)
{
  HippoGraph *g = new_graph (4, 4);
  int in0 = 0;
  HippoNode *dw = hippo_graph_add_node (g, "dw", "DepthwiseConv2D",
                                        HIPPO_OP_DWCONV, &in0, 1, NULL);
  g_autoptr (HippoModel) m = NULL;
  float input[48];
  float *out;
  guint dim;

  dw->kh = dw->kw = 3;
  dw->sh = dw->sw = 2;
  dw->cin = 3;
  hippo_same_padding (4, 3, 2, 1, &dw->pad_t, &dw->pad_b);
  hippo_same_padding (4, 3, 2, 1, &dw->pad_l, &dw->pad_r);
  g_assert_cmpint (dw->pad_t, ==, 0);
  g_assert_cmpint (dw->pad_b, ==, 1);
  dw->weights = hippo_graph_alloc (g, 27, NULL);
  for (int k = 0; k < 9; k++)
    {
      dw->weights[k * 3 + 0] = 1;
      dw->weights[k * 3 + 1] = k == 4 ? 2 : 0;
      dw->weights[k * 3 + 2] = 1;
    }
  dw->bias = hippo_graph_alloc (g, 3, NULL);
  dw->bias[1] = 0.5f;
  for (int i = 0; i < 16; i++)
    {
      input[i * 3 + 0] = i;   /* y*4+x */
      input[i * 3 + 1] = 1;
      input[i * 3 + 2] = 1;
    }
  m = hippo_model_new_for_graph (g, "t", NULL);
  g_assert_nonnull (m);
  out = run (m, "dw", input, 1, 1, &dim);
  g_assert_cmpuint (dim, ==, 3);
  /* outputs ch0: (0,0)=45 (0,1)=39 (1,0)=66 (1,1)=50 */
  g_assert_cmpfloat_with_epsilon (out[0], (45 + 39 + 66 + 50) / 4.0, TOL);
  g_assert_cmpfloat_with_epsilon (out[1], 2.5, TOL);
  g_assert_cmpfloat_with_epsilon (out[2], (9 + 6 + 6 + 4) / 4.0, TOL);
  g_free (out);
}

/* Keras ZeroPadding2D((0,1),(0,1)) + 'valid' stride-2 conv equals TF SAME
 * at even sizes; the pad is folded into the conv at load. */
static void
test_pad_fold (void)
{
  HippoGraph *g = new_graph (6, 6);
  int in0 = 0, p = 1;
  HippoNode *pad = hippo_graph_add_node (g, "pad", "ZeroPadding2D",
                                         HIPPO_OP_PAD, &in0, 1, NULL);
  HippoNode *c = hippo_graph_add_node (g, "conv", "Conv2D", HIPPO_OP_CONV,
                                       &p, 1, NULL);
  g_autoptr (HippoModel) m = NULL;
  HippoLayerInfo li;
  float input[108];
  float *out;
  guint dim;
  double expect = 0;

  pad->pad_b = pad->pad_r = 1;
  c->kh = c->kw = 3;
  c->sh = c->sw = 2;
  c->cin = 3;
  c->c = 1;
  c->weights = fill (g, 27, 1);
  for (int i = 0; i < 108; i++)
    input[i] = (i % 7) * 0.25f;
  /* reference: direct sums over windows rows 2oy..2oy+2 (row 6 is zero) */
  for (int oy = 0; oy < 3; oy++)
    for (int ox = 0; ox < 3; ox++)
      for (int y = 2 * oy; y < 2 * oy + 3; y++)
        for (int x = 2 * ox; x < 2 * ox + 3; x++)
          if (y < 6 && x < 6)
            for (int k = 0; k < 3; k++)
              expect += input[(y * 6 + x) * 3 + k] / 9.0;
  m = hippo_model_new_for_graph (g, "t", NULL);
  g_assert_nonnull (m);
  g_assert_true (hippo_model_find_layer (m, "pad", &li, NULL));
  g_assert_false (li.available);
  g_assert_true (hippo_model_find_layer (m, "conv", &li, NULL));
  g_assert_cmpint (li.height, ==, 3);
  out = run (m, "conv", input, 1, 1, &dim);
  g_assert_cmpfloat_with_epsilon (out[0], expect, 1e-4);
  g_free (out);
}

/* AveragePooling2D 3x3 stride 1 'same': the divisor counts in-bounds
 * pixels only: corners /4, edges /6, centre /9. */
static void
test_avgpool_same_divisor (void)
{
  HippoGraph *g = new_graph (3, 3);
  int in0 = 0;
  HippoNode *ap = hippo_graph_add_node (g, "pool", "AveragePooling2D",
                                        HIPPO_OP_AVGPOOL, &in0, 1, NULL);
  g_autoptr (HippoModel) m = NULL;
  float input[27] = { 0 };
  float *out;
  guint dim;
  /* window means of 1..9 */
  double means[9] = { 12 / 4.0, 21 / 6.0, 16 / 4.0, 27 / 6.0, 45 / 9.0,
                      33 / 6.0, 24 / 4.0, 39 / 6.0, 28 / 4.0 };
  double expect = 0;

  ap->kh = ap->kw = 3;
  ap->pad_t = ap->pad_b = ap->pad_l = ap->pad_r = 1;
  for (int i = 0; i < 9; i++)
    input[i * 3] = i + 1;
  for (int i = 0; i < 9; i++)
    expect += means[i] / 9;
  m = hippo_model_new_for_graph (g, "t", NULL);
  out = run (m, "pool", input, 1, 1, &dim);
  g_assert_cmpfloat_with_epsilon (out[0], expect, TOL);
  g_free (out);
}

/* Conv -> BN (AFFINE) -> ReLU6: BN folds into the conv, the ReLU fuses;
 * the BN's name then reads the value before the activation. */
static void
test_bn_fold_and_preact (void)
{
  HippoGraph *g = new_graph (1, 1);
  int in0 = 0, ci = 1, bi = 2, ri = 3;
  HippoNode *c = hippo_graph_add_node (g, "conv", "Conv2D", HIPPO_OP_CONV,
                                       &in0, 1, NULL);
  HippoNode *bn = hippo_graph_add_node (g, "bn", "BatchNormalization",
                                        HIPPO_OP_AFFINE, &ci, 1, NULL);
  HippoNode *r = hippo_graph_add_node (g, "relu", "ReLU", HIPPO_OP_ACT, &bi,
                                       1, NULL);
  HippoNode *sm;
  g_autoptr (HippoModel) m = NULL;
  HippoLayerInfo li;
  float input[3] = { 1, 2, 3 };
  float *out;
  guint dim;

  c->cin = 3;
  c->c = 2;
  c->weights = hippo_graph_alloc (g, 6, NULL);
  /* out0 = x0 + x1 + x2 = 6 ; out1 = -x0 = -1 */
  c->weights[0] = 1, c->weights[2] = 1, c->weights[4] = 1;
  c->weights[1] = -1;
  bn->scale = fill (g, 2, 3);      /* BN: 3x + 1 -> 19, -2 */
  bn->shift = fill (g, 2, 1);
  r->act = HIPPO_ACT_CLAMP;
  r->act_lo = 0, r->act_hi = 6;   /* ReLU6 -> 6, 0 */
  sm = hippo_graph_add_node (g, "probs", "Dense", HIPPO_OP_SOFTMAX, &ri, 1,
                             NULL);
  (void) sm;
  m = hippo_model_new_for_graph (g, "t", NULL);
  g_assert_nonnull (m);
  g_assert_true (hippo_model_find_layer (m, "conv", &li, NULL));
  g_assert_false (li.available);
  out = run (m, "bn+relu+probs", input, 1, 1, &dim);
  g_assert_cmpuint (dim, ==, 6);
  g_assert_cmpfloat_with_epsilon (out[0], 19, TOL);
  g_assert_cmpfloat_with_epsilon (out[1], -2, TOL);
  g_assert_cmpfloat_with_epsilon (out[2], 6, TOL);
  g_assert_cmpfloat_with_epsilon (out[3], 0, TOL);
  g_assert_cmpfloat_with_epsilon (out[4], 1 / (1 + exp (-6.0)), TOL);
  g_assert_cmpfloat_with_epsilon (out[5], 1 / (1 + exp (6.0)), TOL);
  g_free (out);
  {
    g_autoptr (GError) error = NULL;
    HippoSessionParams p;
    hippo_session_params_default (&p);
    p.layers = "conv";
    g_assert_null (hippo_session_new (m, &p, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "folded"));
  }
}

/* Add, Concat, GAP and a batch of 3 on 2 threads equal to one by one. */
static void
test_add_concat_batch (void)
{
  HippoGraph *g = new_graph (5, 4);
  int in0 = 0;
  HippoNode *c1 = hippo_graph_add_node (g, "c1", "Conv2D", HIPPO_OP_CONV,
                                        &in0, 1, NULL);
  HippoNode *c2 = hippo_graph_add_node (g, "c2", "Conv2D", HIPPO_OP_CONV,
                                        &in0, 1, NULL);
  int pair[2] = { 1, 2 };
  HippoNode *add = hippo_graph_add_node (g, "add", "Add", HIPPO_OP_ADD, pair,
                                         2, NULL);
  int cat_in[2] = { 3, 1 };
  HippoNode *cat = hippo_graph_add_node (g, "cat", "Concatenate",
                                         HIPPO_OP_CONCAT, cat_in, 2, NULL);
  int ci = 4;
  HippoNode *gap = hippo_graph_add_node (g, "gap", "GlobalAveragePooling2D",
                                         HIPPO_OP_GAP, &ci, 1, NULL);
  g_autoptr (HippoModel) m = NULL;
  float input[3 * 60];
  float *all, *one;
  guint dim;

  (void) add, (void) cat, (void) gap;
  for (int k = 0; k < 2; k++)
    {
      HippoNode *c = k ? c2 : c1;
      c->kh = c->kw = 3;
      c->pad_t = c->pad_b = c->pad_l = c->pad_r = 1;
      c->cin = 3;
      c->c = 4;
      c->weights = hippo_graph_alloc (g, 108, NULL);
      for (int i = 0; i < 108; i++)
        c->weights[i] = sinf (i * (k + 1.3f));
    }
  for (int i = 0; i < 180; i++)
    input[i] = cosf (i * 0.37f);
  m = hippo_model_new_for_graph (g, "t", NULL);
  g_assert_nonnull (m);
  all = run (m, "gap+add", input, 3, 2, &dim);
  g_assert_cmpuint (dim, ==, 12);
  for (int b = 0; b < 3; b++)
    {
      one = run (m, "gap+add", input + b * 60, 1, 1, &dim);
      for (guint k = 0; k < dim; k++)
        g_assert_cmpfloat_with_epsilon (all[b * dim + k], one[k], 1e-5);
      /* the concat's second half is c1 itself: gap(c1) = ... consistency:
       * add = c1 + c2 so gap(add) = gap(c1) + gap(c2). */
      g_free (one);
    }
  g_free (all);
}

static void
test_bad_graphs (void)
{
  g_autoptr (GError) error = NULL;
  HippoGraph *g = new_graph (4, 4);
  int in0 = 0;
  HippoNode *c = hippo_graph_add_node (g, "conv", "Conv2D", HIPPO_OP_CONV,
                                       &in0, 1, NULL);

  c->cin = 3;
  c->c = 1;
  c->weights = fill (g, 3, 1);
  c->weights[1] = NAN;
  g_assert_null (hippo_model_new_for_graph (g, "t", &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
  g_assert_nonnull (strstr (error->message, "NaN"));
  g_clear_error (&error);

  g = new_graph (4, 4);
  c = hippo_graph_add_node (g, "conv", "Conv2D", HIPPO_OP_CONV, &in0, 1,
                            NULL);
  c->cin = 5;   /* input has 3 */
  c->c = 1;
  c->weights = fill (g, 5, 1);
  g_assert_null (hippo_model_new_for_graph (g, "t", &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
  g_clear_error (&error);

  g = new_graph (4, 4);
  c = hippo_graph_add_node (g, "conv", "Conv2D", HIPPO_OP_CONV, &in0, 1,
                            NULL);
  c->kh = c->kw = 7;   /* larger than the 4x4 input, no padding */
  c->cin = 3;
  c->c = 1;
  c->weights = fill (g, 147, 1);
  g_assert_null (hippo_model_new_for_graph (g, "t", &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
  g_clear_error (&error);

  /* an input that is not an earlier node */
  g = new_graph (4, 4);
  {
    int fwd = 5;
    g_assert_null (hippo_graph_add_node (g, "x", "Add", HIPPO_OP_ADD, &fwd, 1,
                                         &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
    g_clear_error (&error);
    g_assert_null (hippo_graph_add_node (g, "input", "Dup", HIPPO_OP_ADD,
                                         &in0, 1, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
  }
  hippo_graph_free (g);
}

static void
test_suffix_lookup (void)
{
  HippoGraph *g = new_graph (2, 2);
  int in0 = 0;
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (hippo_graph_add_node (g, "a/b/Relu6", "Relu6",
                                          HIPPO_OP_ACT, &in0, 1, NULL));
  g_assert_nonnull (hippo_graph_add_node (g, "a/c/Relu6", "Relu6",
                                          HIPPO_OP_ACT, &in0, 1, NULL));
  g_assert_nonnull (hippo_graph_find (g, "b/Relu6", NULL));
  g_assert_null (hippo_graph_find (g, "Relu6", &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "ambiguous"));
  g_clear_error (&error);
  g_assert_null (hippo_graph_find (g, "u6", &error));   /* not at a '/' */
  hippo_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/graph/same-padding", test_same_padding);
  g_test_add_func ("/graph/conv-same", test_conv_same);
  g_test_add_func ("/graph/dwconv-stride2", test_dwconv_stride2);
  g_test_add_func ("/graph/pad-fold", test_pad_fold);
  g_test_add_func ("/graph/avgpool-same-divisor", test_avgpool_same_divisor);
  g_test_add_func ("/graph/bn-fold-preact", test_bn_fold_and_preact);
  g_test_add_func ("/graph/add-concat-batch", test_add_concat_batch);
  g_test_add_func ("/graph/bad-graphs", test_bad_graphs);
  g_test_add_func ("/graph/suffix-lookup", test_suffix_lookup);
  return g_test_run ();
}
