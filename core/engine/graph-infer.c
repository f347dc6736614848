/* Shape inference and validation of the engine's graph: every node's
 * output shape from its inputs and parameters, every parameter, weight
 * count and limit checked (a model file is hostile). */
#include "hippo-config.h"

#include <math.h>
#include <string.h>

#include "graph.h"

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
  return h >= 1 && w >= 1 && c >= 1 && h <= HIPPO_MAX_DIM && w <= HIPPO_MAX_DIM
         && c <= HIPPO_MAX_DIM * 16
         && (guint64) (h * w) <= HIPPO_MAX_ELEMS_PER_TENSOR
         && (guint64) (h * w) * (guint64) c <= HIPPO_MAX_ELEMS_PER_TENSOR;
}

/* Every dim >= 1 and the product within the per-tensor limit (gint64
 * dims: callers pass sums and products before narrowing). */
static gboolean
shape_ok (int rank, const gint64 *d)
{
  guint64 n = 1;

  if (rank < 1 || rank > HIPPO_MAX_RANK)
    return FALSE;
  for (int i = 0; i < rank; i++)
    {
      if (d[i] < 1 || (guint64) d[i] > HIPPO_MAX_ELEMS_PER_TENSOR)
        return FALSE;
      n *= (guint64) d[i];
      if (n > HIPPO_MAX_ELEMS_PER_TENSOR)
        return FALSE;
    }
  return TRUE;
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

/* No NaN (infinities allowed: masks, -inf padding values). */
static gboolean
no_nan (const float *p, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (isnan (p[i]))
      return FALSE;
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

static int
norm_axis (int axis, int rank)
{
  return axis < 0 ? axis + rank : axis;
}

gboolean
hippo__broadcast_dims (int ra, const int *a, int rb, const int *b, int *rank,
                       int *out)
{
  int r = MAX (ra, rb);

  if (ra < 0 || rb < 0 || r > HIPPO_MAX_RANK)
    return FALSE;
  for (int i = 0; i < r; i++)
    {
      int da = i < r - ra ? 1 : a[i - (r - ra)];
      int db = i < r - rb ? 1 : b[i - (r - rb)];

      if (da != db && da != 1 && db != 1)
        return FALSE;
      out[i] = da == 1 ? db : da;
    }
  *rank = r;
  return TRUE;
}

static HippoNode *
input_at (HippoGraph *graph, const HippoNode *node, int i)
{
  return g_ptr_array_index (graph->nodes, node->inputs[i]);
}

/* CONV, GROUPCONV, DWCONV and the pools: [.., H, W, C] with every axis
 * before H of size 1 (a pointwise CONV, which is a matrix product over
 * the last axis, takes any shape). */
static gboolean
infer_window (HippoNode *node, const HippoNode *in, gint64 *d, GError **error)
{
  gboolean pointwise = node->op == HIPPO_OP_CONV && node->kh == 1
                       && node->kw == 1 && node->sh == 1 && node->sw == 1
                       && node->pad_t == 0 && node->pad_b == 0
                       && node->pad_l == 0 && node->pad_r == 0;
  gint64 h, w, c;

  if (node->kh < 1 || node->kw < 1 || node->kh > HIPPO_MAX_KERNEL
      || node->kw > HIPPO_MAX_KERNEL || node->sh < 1 || node->sw < 1
      || node->sh > HIPPO_MAX_STRIDE || node->sw > HIPPO_MAX_STRIDE
      || node->dh < 1 || node->dw < 1 || node->dh > HIPPO_MAX_KERNEL
      || node->dw > HIPPO_MAX_KERNEL || node->pad_t < 0 || node->pad_b < 0
      || node->pad_l < 0 || node->pad_r < 0
      || node->pad_t > HIPPO_MAX_KERNEL * HIPPO_MAX_KERNEL
      || node->pad_b > HIPPO_MAX_KERNEL * HIPPO_MAX_KERNEL
      || node->pad_l > HIPPO_MAX_KERNEL * HIPPO_MAX_KERNEL
      || node->pad_r > HIPPO_MAX_KERNEL * HIPPO_MAX_KERNEL)
    return fail_shape (error, node,
                       "kernel, stride, dilation or padding out of range");
  if (!pointwise)
    {
      for (int i = 0; i + 3 < in->rank; i++)
        if (in->dims[i] != 1)
          return fail_shape (error, node,
                             "its input is not [.., height, width, "
                             "channels] with a batch of 1");
    }
  h = window_out (in->h, node->pad_t, node->pad_b, node->kh, node->sh,
                  node->dh);
  w = window_out (in->w, node->pad_l, node->pad_r, node->kw, node->sw,
                  node->dw);
  switch (node->op)
    {
      case HIPPO_OP_CONV:
        if (node->cin != in->c)
          return fail_shape (error, node,
                             "its weights expect another channel count "
                             "than its input has");
        c = node->c;
        break;
      case HIPPO_OP_GROUPCONV:
        if (node->groups < 1 || node->groups > HIPPO_MAX_DIM || node->cin < 1
            || (gint64) node->cin * node->groups != in->c || node->c < 1
            || node->c % node->groups != 0)
          return fail_shape (error, node,
                             "its groups do not divide its channels");
        c = node->c;
        break;
      case HIPPO_OP_DWCONV:
        if (node->cin != in->c || node->mult < 1 || node->mult > 1024)
          return fail_shape (error, node,
                             "its weights do not fit its input channels");
        c = (gint64) in->c * node->mult;
        break;
      default:
        c = in->c;
        if (node->dh != 1 || node->dw != 1)
          return fail_shape (error, node, "dilated pooling");
        break;
    }
  if (in->rank < 3 && h != in->h)
    return fail_shape (error, node, "its input has no height");
  for (int i = 0; i < in->rank; i++)
    d[i] = in->dims[i];
  d[in->rank - 1] = c;
  if (in->rank >= 2)
    d[in->rank - 2] = w;
  if (in->rank >= 3)
    d[in->rank - 3] = pointwise ? d[in->rank - 3] : h;
  if (pointwise && h != in->h)
    return fail_shape (error, node, "kernel out of range");
  return TRUE;
}

static gboolean
same_dims (const HippoNode *a, const HippoNode *b)
{
  if (a->rank != b->rank)
    return FALSE;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i])
      return FALSE;
  return TRUE;
}

static gboolean
infer_pad (HippoNode *node, const HippoNode *in, gint64 *d, GError **error)
{
  int r = in->rank;

  if (node->n_pads == 0)
    {
      if (node->pad_t < 0 || node->pad_b < 0 || node->pad_l < 0
          || node->pad_r < 0 || node->pad_t > HIPPO_MAX_DIM
          || node->pad_b > HIPPO_MAX_DIM || node->pad_l > HIPPO_MAX_DIM
          || node->pad_r > HIPPO_MAX_DIM)
        return fail_shape (error, node, "padding out of range");
      if (r < 3 && (node->pad_t || node->pad_b))
        return fail_shape (error, node, "its input has no height");
      if (r < 2 && (node->pad_l || node->pad_r))
        return fail_shape (error, node, "its input has no width");
      for (int i = 0; i < r; i++)
        d[i] = in->dims[i];
      if (r >= 3)
        d[r - 3] += node->pad_t + node->pad_b;
      if (r >= 2)
        d[r - 2] += node->pad_l + node->pad_r;
      return TRUE;
    }
  if (node->n_pads != r || node->pad_mode < HIPPO_PAD_CONSTANT
      || node->pad_mode > HIPPO_PAD_EDGE || isnan (node->value))
    return fail_shape (error, node, "padding does not fit its input");
  for (int i = 0; i < r; i++)
    {
      int a = node->pad_before[i], b = node->pad_after[i];

      if (a < 0 || b < 0 || a > HIPPO_MAX_DIM || b > HIPPO_MAX_DIM
          || (node->pad_mode == HIPPO_PAD_REFLECT
              && (a >= in->dims[i] || b >= in->dims[i])))
        return fail_shape (error, node, "padding out of range");
      d[i] = (gint64) in->dims[i] + a + b;
    }
  return TRUE;
}

static gboolean
infer_binary (HippoGraph *graph, HippoNode *node, int *rank, gint64 *d,
              GError **error)
{
  int a[HIPPO_MAX_RANK], out[HIPPO_MAX_RANK];
  const HippoNode *x = input_at (graph, node, 0);

  if (node->bin < 0 || node->bin >= HIPPO_BIN_N)
    return fail_shape (error, node, "unknown function");
  if (node->n_inputs == 2)
    {
      const HippoNode *y = input_at (graph, node, 1);

      if (!hippo__broadcast_dims (x->rank, x->dims, y->rank, y->dims, rank,
                                  out))
        return fail_shape (error, node, "its inputs do not broadcast");
    }
  else if (node->n_inputs == 1)
    {
      guint64 n = 1;

      if (node->wrank < 0 || node->wrank > HIPPO_MAX_RANK
          || node->weights == NULL)
        return fail_shape (error, node, "has no constant operand");
      for (int i = 0; i < node->wrank; i++)
        {
          if (node->wdims[i] < 1
              || (guint64) node->wdims[i] > HIPPO_MAX_ELEMS_PER_TENSOR)
            return fail_shape (error, node, "constant shape out of range");
          n *= (guint64) node->wdims[i];
          if (n > HIPPO_MAX_ELEMS_PER_TENSOR)
            return fail_shape (error, node, "constant too large");
        }
      if (!no_nan (node->weights, n))
        return fail_shape (error, node, "has a NaN constant");
      if (!hippo__broadcast_dims (x->rank, x->dims, node->wrank, node->wdims,
                                  rank, out))
        return fail_shape (error, node,
                           "its input and constant do not broadcast");
    }
  else
    return fail_shape (error, node, "needs 2 operands");
  memcpy (a, out, sizeof a);
  for (int i = 0; i < *rank; i++)
    d[i] = a[i];
  return TRUE;
}

static gboolean
infer_matmul (HippoGraph *graph, HippoNode *node, int *rank, gint64 *d,
              GError **error)
{
  const HippoNode *a, *b;
  int m, k, kb, n, r;
  int out[HIPPO_MAX_RANK];

  if (node->n_inputs != 2)
    return fail_shape (error, node, "needs 2 inputs");
  a = input_at (graph, node, 0);
  b = input_at (graph, node, 1);
  if (a->rank < 2 || b->rank < 2)
    return fail_shape (error, node, "its inputs are not matrices");
  m = a->dims[a->rank - 2];
  k = a->dims[a->rank - 1];
  kb = b->dims[b->rank - (node->trans_b ? 1 : 2)];
  n = b->dims[b->rank - (node->trans_b ? 2 : 1)];
  if (k != kb)
    return fail_shape (error, node, "its matrices do not fit");
  if (!hippo__broadcast_dims (a->rank - 2, a->dims, b->rank - 2, b->dims, &r,
                              out)
      || r + 2 > HIPPO_MAX_RANK)
    return fail_shape (error, node, "its batch axes do not broadcast");
  for (int i = 0; i < r; i++)
    d[i] = out[i];
  d[r] = m;
  d[r + 1] = n;
  *rank = r + 2;
  return TRUE;
}

static gboolean
infer_slice (HippoNode *node, const HippoNode *in, gint64 *d, GError **error)
{
  if (node->shape_rank != in->rank)
    return fail_shape (error, node, "its slice does not fit its input");
  for (int i = 0; i < in->rank; i++)
    {
      gint64 b = node->begin[i], s = node->step[i], n = node->shape[i];
      gint64 last = b + (n - 1) * s;

      if (n < 1 || s == 0 || s < -HIPPO_MAX_DIM * 256 || s > HIPPO_MAX_DIM * 256
          || b < 0 || b >= in->dims[i] || last < 0 || last >= in->dims[i])
        return fail_shape (error, node, "slice out of range");
      d[i] = n;
    }
  return TRUE;
}

static gboolean
infer_reduce (HippoNode *node, const HippoNode *in, int *rank, gint64 *d,
              GError **error)
{
  int r = 0;

  if (node->reduce < 0 || node->reduce >= HIPPO_REDUCE_N || node->axes == 0
      || (in->rank < 32 && (node->axes >> in->rank) != 0))
    return fail_shape (error, node, "reduces axes its input lacks");
  for (int i = 0; i < in->rank; i++)
    {
      if (!(node->axes & (1u << i)))
        d[r++] = in->dims[i];
      else if (node->keepdims)
        d[r++] = 1;
    }
  if (r == 0)
    d[r++] = 1;
  *rank = r;
  return TRUE;
}

static gboolean
check_weights (const HippoNode *node, GError **error)
{
  if (node->op == HIPPO_OP_CONV || node->op == HIPPO_OP_DWCONV
      || node->op == HIPPO_OP_GROUPCONV)
    {
      gsize nw = (gsize) node->kh * node->kw * node->cin
                 * (node->op == HIPPO_OP_DWCONV ? (gsize) node->mult
                                                : (gsize) node->c);
      if (node->op == HIPPO_OP_GROUPCONV)
        nw /= node->groups;
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
  return TRUE;
}

static gboolean
check_act (const HippoNode *node, GError **error)
{
  if (node->act < HIPPO_ACT_NONE || node->act >= HIPPO_ACT_N)
    return fail_shape (error, node, "unknown activation");
  if (node->act == HIPPO_ACT_CLAMP
      && (isnan (node->act_lo) || isnan (node->act_hi)
          || node->act_lo > node->act_hi))
    return fail_shape (error, node, "has an empty activation range");
  if ((node->act == HIPPO_ACT_LEAKY || node->act == HIPPO_ACT_ELU)
      && !isfinite (node->act_lo))
    return fail_shape (error, node, "has no activation parameter");
  if (node->act == HIPPO_ACT_HARDSIGMOID
      && (!isfinite (node->act_lo) || !isfinite (node->act_hi)))
    return fail_shape (error, node, "has no activation parameters");
  return TRUE;
}

static gboolean
infer_node (HippoGraph *graph, HippoNode *node, GError **error)
{
  HippoNode *in = NULL;
  gint64 d[HIPPO_MAX_RANK];
  int rank = 0, a;

  if (node->op != HIPPO_OP_INPUT && node->op != HIPPO_OP_CONST)
    {
      if (node->n_inputs < 1)
        return fail_shape (error, node, "has no input");
      in = input_at (graph, node, 0);
      rank = in->rank;
    }
  if (node->op == HIPPO_OP_CONST && node->n_inputs != 0)
    return fail_shape (error, node, "a constant with inputs");

  switch (node->op)
    {
      case HIPPO_OP_INPUT:
        if (graph->in_c != 3)
          return fail_shape (error, node, "the input must have 3 channels");
        rank = graph->in_rank == 4 ? 4 : 3;
        d[0] = 1;
        d[rank - 3] = graph->in_h, d[rank - 2] = graph->in_w;
        d[rank - 1] = graph->in_c;
        break;

      case HIPPO_OP_CONV:
      case HIPPO_OP_GROUPCONV:
      case HIPPO_OP_DWCONV:
      case HIPPO_OP_AVGPOOL:
      case HIPPO_OP_MAXPOOL:
        if (!infer_window (node, in, d, error))
          return FALSE;
        break;

      case HIPPO_OP_AFFINE:
      case HIPPO_OP_ACT:
        for (int i = 0; i < rank; i++)
          d[i] = in->dims[i];
        break;

      case HIPPO_OP_SOFTMAX:
        a = norm_axis (node->axis, rank);
        if (a < 0 || a >= rank)
          return fail_shape (error, node, "axis out of range");
        for (int i = 0; i < rank; i++)
          d[i] = in->dims[i];
        break;

      case HIPPO_OP_ADD:
        for (int i = 1; i < node->n_inputs; i++)
          if (!same_dims (in, input_at (graph, node, i)))
            return fail_shape (error, node, "its inputs differ in shape");
        for (int i = 0; i < rank; i++)
          d[i] = in->dims[i];
        break;

      case HIPPO_OP_CONCAT:
        a = norm_axis (node->axis, rank);
        if (a < 0 || a >= rank)
          return fail_shape (error, node, "axis out of range");
        for (int i = 0; i < rank; i++)
          d[i] = in->dims[i];
        d[a] = 0;
        for (int i = 0; i < node->n_inputs; i++)
          {
            HippoNode *o = input_at (graph, node, i);

            if (o->rank != rank)
              return fail_shape (error, node, "its inputs differ in rank");
            for (int k = 0; k < rank; k++)
              if (k != a && o->dims[k] != in->dims[k])
                return fail_shape (error, node,
                                   "its inputs differ in shape off its axis");
            d[a] += o->dims[a];
          }
        break;

      case HIPPO_OP_GAP:
        for (int i = 0; i < rank; i++)
          d[i] = i == rank - 1 ? in->dims[i] : 1;
        break;

      case HIPPO_OP_PAD:
        if (!infer_pad (node, in, d, error))
          return FALSE;
        break;

      case HIPPO_OP_RESHAPE:
        if (node->shape_rank == 0)
          {
            rank = 3;
            d[0] = d[1] = 1;
            d[2] = (gint64) hippo__node_numel (in);
            break;
          }
        /* fall through */
      case HIPPO_OP_CONST:
        {
          guint64 n = 1;

          rank = node->shape_rank;
          if (rank < 1 || rank > HIPPO_MAX_RANK)
            return fail_shape (error, node, "shape out of range");
          for (int i = 0; i < rank; i++)
            {
              d[i] = node->shape[i];
              if (d[i] < 1 || (guint64) d[i] > HIPPO_MAX_ELEMS_PER_TENSOR)
                return fail_shape (error, node, "shape out of range");
              n *= (guint64) d[i];
              if (n > HIPPO_MAX_ELEMS_PER_TENSOR)
                return fail_shape (error, node, "shape too large");
            }
          if (node->op == HIPPO_OP_RESHAPE && n != hippo__node_numel (in))
            return fail_shape (error, node,
                               "its shape has another element count than its "
                               "input");
          if (node->op == HIPPO_OP_CONST
              && (node->weights == NULL || !no_nan (node->weights, n)))
            return fail_shape (error, node, "has no values, or NaN");
        }
        break;

      case HIPPO_OP_BINARY:
        if (!infer_binary (graph, node, &rank, d, error))
          return FALSE;
        break;

      case HIPPO_OP_WHERE:
        {
          int r1, r2, t[HIPPO_MAX_RANK], u[HIPPO_MAX_RANK];
          const HippoNode *b, *c;

          if (node->n_inputs != 3)
            return fail_shape (error, node, "needs 3 inputs");
          b = input_at (graph, node, 1);
          c = input_at (graph, node, 2);
          if (!hippo__broadcast_dims (in->rank, in->dims, b->rank, b->dims, &r1,
                                      t)
              || !hippo__broadcast_dims (r1, t, c->rank, c->dims, &r2, u))
            return fail_shape (error, node, "its inputs do not broadcast");
          rank = r2;
          for (int i = 0; i < rank; i++)
            d[i] = u[i];
        }
        break;

      case HIPPO_OP_MATMUL:
        if (!infer_matmul (graph, node, &rank, d, error))
          return FALSE;
        break;

      case HIPPO_OP_TRANSPOSE:
        {
          guint seen = 0;

          for (int i = 0; i < rank; i++)
            {
              int p = node->perm[i];

              if (p < 0 || p >= rank || (seen & (1u << p)))
                return fail_shape (error, node, "not a permutation");
              seen |= 1u << p;
              d[i] = in->dims[p];
            }
        }
        break;

      case HIPPO_OP_SLICE:
        if (!infer_slice (node, in, d, error))
          return FALSE;
        break;

      case HIPPO_OP_GATHER:
        a = norm_axis (node->axis, rank);
        if (a < 0 || a >= rank || node->index == NULL || node->n_index < 1
            || node->n_index > HIPPO_MAX_GATHER)
          return fail_shape (error, node, "axis or indices out of range");
        for (int i = 0; i < node->n_index; i++)
          if (node->index[i] < 0 || node->index[i] >= in->dims[a])
            return fail_shape (error, node, "index out of range");
        for (int i = 0; i < rank; i++)
          d[i] = in->dims[i];
        d[a] = node->n_index;
        break;

      case HIPPO_OP_REDUCE:
        if (!infer_reduce (node, in, &rank, d, error))
          return FALSE;
        break;

      case HIPPO_OP_LAYERNORM:
        {
          guint64 n = 1;

          a = norm_axis (node->axis, rank);
          if (a < 0 || a >= rank)
            return fail_shape (error, node, "axis out of range");
          for (int i = a; i < rank; i++)
            n *= in->dims[i];
          if (node->weights == NULL || !all_finite (node->weights, n)
              || (node->bias != NULL && !all_finite (node->bias, n)))
            return fail_shape (error, node,
                               "has no scale, or NaN or "
                               "infinite parameters");
          if (!isfinite (node->value) || node->value < 0)
            return fail_shape (error, node, "epsilon out of range");
          for (int i = 0; i < rank; i++)
            d[i] = in->dims[i];
        }
        break;

      case HIPPO_OP_RESIZE:
        if (rank < 3 || node->shape_rank != 2
            || node->resize_mode < HIPPO_RESIZE_NEAREST_ROUND_PREFER_FLOOR
            || node->resize_mode > HIPPO_RESIZE_LINEAR
            || node->coord < HIPPO_COORD_HALF_PIXEL
            || node->coord > HIPPO_COORD_TF_HALF_PIXEL_FOR_NN
            || !(node->resize_scale_h >= 0) || !(node->resize_scale_w >= 0)
            || !isfinite (node->resize_scale_h)
            || !isfinite (node->resize_scale_w))
          return fail_shape (error, node, "resize parameters out of range");
        for (int i = 0; i + 3 < rank; i++)
          if (in->dims[i] != 1)
            return fail_shape (error, node,
                               "its input is not [.., height, "
                               "width, channels]");
        for (int i = 0; i < rank; i++)
          d[i] = in->dims[i];
        d[rank - 3] = node->shape[0];
        d[rank - 2] = node->shape[1];
        if (node->shape[0] < 1 || node->shape[1] < 1
            || node->shape[0] > HIPPO_MAX_DIM || node->shape[1] > HIPPO_MAX_DIM)
          return fail_shape (error, node, "output size out of range");
        break;

      case HIPPO_OP_EXPAND:
        {
          int t[HIPPO_MAX_RANK];

          if (node->shape_rank < 1 || node->shape_rank > HIPPO_MAX_RANK)
            return fail_shape (error, node, "shape out of range");
          for (int i = 0; i < node->shape_rank; i++)
            if (node->shape[i] < 1)
              return fail_shape (error, node, "shape out of range");
          if (!hippo__broadcast_dims (in->rank, in->dims, node->shape_rank,
                                      node->shape, &rank, t))
            return fail_shape (error, node, "does not broadcast to its shape");
          for (int i = 0; i < rank; i++)
            d[i] = t[i];
        }
        break;

      default:
        return fail_shape (error, node, "unknown op");
    }

  if (!shape_ok (rank, d))
    return fail_shape (error, node, "its output shape is empty or too large");
  {
    int di[HIPPO_MAX_RANK];

    for (int i = 0; i < rank; i++)
      di[i] = (int) d[i];
    hippo__node_set_dims (node, rank, di);
  }
  if (!dims_ok (node->h, node->w, node->c))
    return fail_shape (error, node, "its output shape is empty or too large");
  return check_weights (node, error) && check_act (node, error);
}

gboolean
hippo__graph_infer_node (HippoGraph *graph, int index, GError **error)
{
  HippoNode *node;

  g_return_val_if_fail (index >= 0 && index < (int) graph->nodes->len, FALSE);
  node = g_ptr_array_index (graph->nodes, index);
  if (index > 0 && node->op == HIPPO_OP_INPUT)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_UNSUPPORTED,
                   "layer '%s': models with several inputs are not "
                   "supported",
                   node->name);
      return FALSE;
    }
  if (index == 0 && node->op != HIPPO_OP_INPUT)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                   "the model does not start with its input");
      return FALSE;
    }
  for (int j = 0; j < node->n_inputs; j++)
    if (node->inputs[j] < 0 || node->inputs[j] >= index)
      return fail_shape (error, node, "input out of order");
  return infer_node (graph, node, error);
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
  if (((HippoNode *) g_ptr_array_index (graph->nodes, 0))->op != HIPPO_OP_INPUT)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                   "the model does not start with its input");
      return FALSE;
    }
  if (!dims_ok (graph->in_h, graph->in_w, graph->in_c)
      || (graph->in_rank != 0 && graph->in_rank != 3 && graph->in_rank != 4))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                   "the model's input size %dx%dx%d is out of range",
                   graph->in_h, graph->in_w, graph->in_c);
      return FALSE;
    }
  for (guint i = 0; i < graph->nodes->len; i++)
    if (!hippo__graph_infer_node (graph, i, error))
      return FALSE;
  if (graph->output < 0 || graph->output >= (int) graph->nodes->len)
    graph->output = graph->nodes->len - 1;
  return TRUE;
}
