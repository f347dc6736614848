/* Load-time constant evaluation (core/import/fold.h): the shape subgraphs
 * exporters emit, bounds of slices and reshapes, integer arithmetic that
 * must not overflow, and the limits on what a file may make us allocate.
 * Values are checked exactly (integers, and floats that are exact). */
#include <math.h>
#include <string.h>

#include "hippotag/hippotag.h"
#include "import/fold.h"

typedef struct
{
  HippoFold *fold;
} Fx;

static HippoConst *
ints (HippoFold *f, const gint64 *v, gsize n)
{
  g_autoptr (GError) error = NULL;
  HippoConst *c = hippo__const_new_ints (f, v, n, FALSE, &error);

  g_assert_no_error (error);
  return c;
}

static HippoConst *
scalar (HippoFold *f, gint64 v)
{
  return hippo__const_new_ints (f, &v, 1, TRUE, NULL);
}

static void
assert_ints (const HippoConst *c, int rank, const gint64 *dims, const gint64 *v)
{
  g_assert_nonnull (c);
  g_assert_cmpint (c->type, ==, HIPPO_CONST_INT);
  g_assert_cmpint (c->rank, ==, rank);
  for (int i = 0; i < rank; i++)
    g_assert_cmpint (c->dims[i], ==, dims[i]);
  for (gsize k = 0; k < c->n; k++)
    g_assert_cmpint (c->i[k], ==, v[k]);
}

/* Shape (x) -> Gather 0 -> Unsqueeze -> Concat [-1] -> Reshape: the
 * Flatten that exporters write for a dynamic batch, folded for batch 1. */
static void
test_shape_subgraph (void)
{
  HippoFold *f = hippo__fold_new ();
  g_autoptr (GError) error = NULL;
  gint64 x_dims[] = { 1, 768, 1, 1 }, out[4];
  HippoConst *shape = ints (f, x_dims, 4), *n, *u, *parts[2], *target;
  HippoConst *zero = scalar (f, 0);

  n = hippo__fold_gather (f, shape, zero, 0, &error);
  g_assert_no_error (error);
  assert_ints (n, 0, NULL, (gint64[]){ 1 });
  u = hippo__fold_reshape (f, n, 1, (gint64[]){ 1 }, &error);
  g_assert_no_error (error);
  parts[0] = u;
  parts[1] = ints (f, (gint64[]){ -1 }, 1);
  target
    = hippo__fold_concat (f, (const HippoConst *const *) parts, 2, 0, &error);
  g_assert_no_error (error);
  assert_ints (target, 1, (gint64[]){ 2 }, (gint64[]){ 1, -1 });
  g_assert_true (
    hippo__shape_resolve (4, x_dims, 2, target->i, FALSE, out, &error));
  g_assert_cmpint (out[0], ==, 1);
  g_assert_cmpint (out[1], ==, 768);

  /* 0 copies the input's dim; allowzero takes it literally */
  g_assert_false (hippo__shape_resolve (
    4, x_dims, 5, (gint64[]){ 0, 0, 0, 0, 0 }, FALSE, out, &error));
  g_clear_error (&error);
  g_assert_true (hippo__shape_resolve (4, x_dims, 3, (gint64[]){ 0, -1, 1 },
                                       FALSE, out, &error));
  g_assert_cmpint (out[1], ==, 768);
  g_assert_false (hippo__shape_resolve (4, x_dims, 2, (gint64[]){ 0, 768 },
                                        TRUE, out, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
  g_clear_error (&error);
  g_assert_false (hippo__shape_resolve (4, x_dims, 2, (gint64[]){ -1, -1 },
                                        FALSE, out, &error));
  g_clear_error (&error);
  g_assert_false (hippo__shape_resolve (4, x_dims, 2, (gint64[]){ 5, -1 },
                                        FALSE, out, &error));
  g_clear_error (&error);
  hippo__fold_free (f);
}

/* ONNX Slice bounds: INT64_MAX ends, negative starts and steps,
 * clamping, empty slices, step 0. */
static void
test_slice_resolve (void)
{
  g_autoptr (GError) error = NULL;
  struct
  {
    gint64 dim, start, end, step, begin, count;
  } cases[] = {
    { 10, 0, G_MAXINT64, 1, 0, 10 },
    { 10, -3, G_MAXINT64, 1, 7, 3 },
    { 10, -1, G_MININT64, -1, 9, 10 },
    { 10, 5, 2, 1, 0, 0 },
    { 10, 20, -20, -2, 9, 5 },
    { 10, 1, 8, 3, 1, 3 },
    { 10, 0, 1, G_MAXINT64, 0, 1 },
    { 1, 0, -1, 1, 0, 0 },
    { 4, -100, 100, 1, 0, 4 },
    { 4, 3, -100, -1, 3, 4 },
    { 0, 0, 5, 1, 0, 0 },
  };
  gint64 b, n;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_assert_true (hippo__slice_resolve (cases[i].dim, cases[i].start,
                                           cases[i].end, cases[i].step, &b, &n,
                                           &error));
      g_assert_cmpint (n, ==, cases[i].count);
      if (n > 0)
        g_assert_cmpint (b, ==, cases[i].begin);
    }
  g_assert_false (hippo__slice_resolve (10, 0, 5, 0, &b, &n, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
}

/* Integer arithmetic: broadcasting, Python and C remainders, overflow and
 * division by zero as errors, comparisons, Where, Not. */
static void
test_int_arith (void)
{
  HippoFold *f = hippo__fold_new ();
  g_autoptr (GError) error = NULL;
  HippoConst *a = ints (f, (gint64[]){ -7, 7, 12 }, 3);
  HippoConst *three = scalar (f, 3), *c, *big, *m;

  c = hippo__fold_binary (f, HIPPO_FOLD_MOD, a, three, &error);
  assert_ints (c, 1, (gint64[]){ 3 }, (gint64[]){ 2, 1, 0 });
  c = hippo__fold_binary (f, HIPPO_FOLD_FMOD, a, three, &error);
  assert_ints (c, 1, (gint64[]){ 3 }, (gint64[]){ -1, 1, 0 });
  c = hippo__fold_binary (f, HIPPO_BIN_DIV, a, three, &error);
  assert_ints (c, 1, (gint64[]){ 3 }, (gint64[]){ -2, 2, 4 });
  c = hippo__fold_binary (f, HIPPO_BIN_POW, three, scalar (f, 4), &error);
  assert_ints (c, 0, NULL, (gint64[]){ 81 });
  c = hippo__fold_binary (f, HIPPO_BIN_POW, scalar (f, -1), three, &error);
  assert_ints (c, 0, NULL, (gint64[]){ -1 });
  c = hippo__fold_binary (f, HIPPO_BIN_LESS, a, three, &error);
  assert_ints (c, 1, (gint64[]){ 3 }, (gint64[]){ 1, 0, 0 });
  m = hippo__fold_unary (f, HIPPO_ACT_N, 0, 0, c, &error);
  assert_ints (m, 1, (gint64[]){ 3 }, (gint64[]){ 0, 1, 1 });
  c = hippo__fold_where (f, m, a, scalar (f, 100), &error);
  assert_ints (c, 1, (gint64[]){ 3 }, (gint64[]){ 100, 7, 12 });
  g_assert_no_error (error);

  big = scalar (f, G_MAXINT64);
  g_assert_null (hippo__fold_binary (f, HIPPO_BIN_ADD, big, three, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
  g_clear_error (&error);
  g_assert_null (hippo__fold_binary (f, HIPPO_BIN_MUL, big, three, &error));
  g_clear_error (&error);
  g_assert_null (
    hippo__fold_binary (f, HIPPO_BIN_DIV, three, scalar (f, 0), &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
  g_clear_error (&error);
  g_assert_null (hippo__fold_binary (f, HIPPO_BIN_DIV, scalar (f, G_MININT64),
                                     scalar (f, -1), &error));
  g_clear_error (&error);
  g_assert_null (
    hippo__fold_unary (f, HIPPO_ACT_NEG, 0, 0, scalar (f, G_MININT64), &error));
  g_clear_error (&error);
  g_assert_null (hippo__fold_binary (f, HIPPO_BIN_ADD, a,
                                     ints (f, (gint64[]){ 1, 2 }, 2), &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
  hippo__fold_free (f);
}

/* Casts, float arithmetic with an int operand, float ops. */
static void
test_float (void)
{
  HippoFold *f = hippo__fold_new ();
  g_autoptr (GError) error = NULL;
  HippoConst *x = hippo__const_new_floats (f, (float[]){ -2.7f, 2.5f, 4 }, 3,
                                           FALSE, &error);
  HippoConst *c;
  float nan_v = NAN;

  c = hippo__fold_cast (f, x, HIPPO_CONST_INT, &error);
  assert_ints (c, 1, (gint64[]){ 3 }, (gint64[]){ -2, 2, 4 });
  c = hippo__fold_binary (f, HIPPO_BIN_MUL, x, scalar (f, 2), &error);
  g_assert_cmpint (c->type, ==, HIPPO_CONST_FLOAT);
  g_assert_cmpfloat (c->f[1], ==, 5);
  c = hippo__fold_unary (f, HIPPO_ACT_SQRT, 0, 0, scalar (f, 16), &error);
  g_assert_cmpint (c->type, ==, HIPPO_CONST_FLOAT);
  g_assert_cmpfloat (c->f[0], ==, 4);
  g_assert_no_error (error);
  c = hippo__const_new_floats (f, &nan_v, 1, TRUE, &error);
  g_assert_null (hippo__fold_cast (f, c, HIPPO_CONST_INT, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
  hippo__fold_free (f);
}

/* The ops that move values. */
static void
test_layout (void)
{
  HippoFold *f = hippo__fold_new ();
  g_autoptr (GError) error = NULL;
  HippoConst *x, *c, *idx;
  gint64 d23[] = { 2, 3 };

  /* x = [[0 1 2] [3 4 5]] */
  x = hippo__fold_reshape (f, ints (f, (gint64[]){ 0, 1, 2, 3, 4, 5 }, 6), 2,
                           d23, &error);
  c = hippo__fold_transpose (f, x, (int[]){ 1, 0 }, &error);
  assert_ints (c, 2, (gint64[]){ 3, 2 }, (gint64[]){ 0, 3, 1, 4, 2, 5 });
  c = hippo__fold_slice (f, x, (gint64[]){ 1, 2 }, (gint64[]){ 1, -1 },
                         (gint64[]){ 1, 3 }, &error);
  assert_ints (c, 2, (gint64[]){ 1, 3 }, (gint64[]){ 5, 4, 3 });
  idx = hippo__fold_reshape (f, ints (f, (gint64[]){ -1, 0 }, 2), 2,
                             (gint64[]){ 1, 2 }, &error);
  c = hippo__fold_gather (f, x, idx, 1, &error);
  assert_ints (c, 3, (gint64[]){ 2, 1, 2 }, (gint64[]){ 2, 0, 5, 3 });
  c = hippo__fold_expand (f, ints (f, (gint64[]){ 7, 8 }, 2), 3,
                          (gint64[]){ 2, 1, 1 }, &error);
  assert_ints (c, 3, (gint64[]){ 2, 1, 2 }, (gint64[]){ 7, 8, 7, 8 });
  c = hippo__fold_tile (f, x, (gint64[]){ 1, 2 }, &error);
  assert_ints (c, 2, (gint64[]){ 2, 6 },
               (gint64[]){ 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5 });
  c = hippo__fold_reduce (f, x, HIPPO_REDUCE_SUM, 1u << 1, FALSE, &error);
  assert_ints (c, 1, (gint64[]){ 2 }, (gint64[]){ 3, 12 });
  c = hippo__fold_reduce (f, x, HIPPO_REDUCE_PROD, 0, TRUE, &error);
  assert_ints (c, 2, (gint64[]){ 1, 1 }, (gint64[]){ 0 });
  c = hippo__fold_reduce (f, x, HIPPO_REDUCE_MEAN, 1u << 0, FALSE, &error);
  g_assert_cmpint (c->type, ==, HIPPO_CONST_FLOAT);
  g_assert_cmpfloat (c->f[2], ==, 3.5f);
  {
    const HippoConst *parts[] = { scalar (f, 4), scalar (f, 5) };
    c = hippo__fold_concat (f, parts, 2, 0, &error);
    assert_ints (c, 1, (gint64[]){ 2 }, (gint64[]){ 4, 5 });
  }
  g_assert_no_error (error);

  g_assert_null (hippo__fold_gather (f, x, scalar (f, 3), 1, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
  g_clear_error (&error);
  g_assert_null (hippo__fold_transpose (f, x, (int[]){ 0, 0 }, &error));
  g_clear_error (&error);
  g_assert_null (hippo__fold_slice (
    f, x, (gint64[]){ 0, 0 }, (gint64[]){ 1, 1 }, (gint64[]){ 3, 1 }, &error));
  g_clear_error (&error);
  g_assert_null (hippo__fold_reshape (f, x, 1, (gint64[]){ 5 }, &error));
  g_clear_error (&error);
  hippo__fold_free (f);
}

/* Range, ConstantOfShape, and sizes a file must not get allocated. */
static void
test_make_and_limits (void)
{
  HippoFold *f = hippo__fold_new ();
  g_autoptr (GError) error = NULL;
  HippoConst *c;

  c = hippo__fold_range (f, scalar (f, 0), scalar (f, 10), scalar (f, 3),
                         &error);
  assert_ints (c, 1, (gint64[]){ 4 }, (gint64[]){ 0, 3, 6, 9 });
  c = hippo__fold_range (f, scalar (f, 5), scalar (f, 0), scalar (f, 1),
                         &error);
  g_assert_cmpuint (c->n, ==, 0);
  c = hippo__fold_constant_of_shape (f, ints (f, (gint64[]){ 2, 3 }, 2),
                                     scalar (f, 7), &error);
  assert_ints (c, 2, (gint64[]){ 2, 3 }, (gint64[]){ 7, 7, 7, 7, 7, 7 });
  g_assert_no_error (error);

  g_assert_null (hippo__fold_range (f, scalar (f, 0), scalar (f, 10),
                                    scalar (f, 0), &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
  g_clear_error (&error);
  g_assert_null (hippo__fold_range (
    f, scalar (f, G_MININT64), scalar (f, G_MAXINT64), scalar (f, 1), &error));
  g_clear_error (&error);
  g_assert_null (hippo__fold_constant_of_shape (
    f, ints (f, (gint64[]){ 65536, 65536, 65536 }, 3), NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT);
  g_clear_error (&error);
  g_assert_null (hippo__fold_constant_of_shape (
    f, ints (f, (gint64[]){ 2, -1 }, 2), NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID);
  g_clear_error (&error);
  g_assert_null (hippo__fold_tile (f, ints (f, (gint64[]){ 1, 2 }, 2),
                                   (gint64[]){ G_MAXINT64 / 2 }, &error));
  g_clear_error (&error);
  g_assert_null (hippo__fold_expand (f, scalar (f, 1), 2,
                                     (gint64[]){ 1 << 20, 1 << 20 }, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT);
  hippo__fold_free (f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fold/shape-subgraph", test_shape_subgraph);
  g_test_add_func ("/fold/slice-resolve", test_slice_resolve);
  g_test_add_func ("/fold/int-arith", test_int_arith);
  g_test_add_func ("/fold/float", test_float);
  g_test_add_func ("/fold/layout", test_layout);
  g_test_add_func ("/fold/make-and-limits", test_make_and_limits);
  return g_test_run ();
}
