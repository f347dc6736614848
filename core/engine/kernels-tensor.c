/* Kernels of the general tensor ops (graph.h: CONST and after, and the
 * forms of CONCAT, SOFTMAX and PAD on any axis): broadcasting elementwise
 * ops and the layout ops here; reductions, layer normalisation, batched
 * matrix products through OpenBLAS, resizing, grouped convolution and the
 * added activations in kernels-tensor-math.c.
 *
 * Each op splits its work into units (hippo__tensor_units(): output rows,
 * lines, matrices or pixels per image); hippo__tensor_rows() runs units
 * [u0, u1) of a batch whose images follow each other in memory, so the
 * session can split an op over threads like the others.  Nothing here
 * allocates on the heap. */
#include "hippo-config.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

static gboolean
is_last_axis (const HippoNode *node, int rank)
{
  return hippo__norm_axis (node->axis, rank) == rank - 1;
}

gboolean
hippo__tensor_op_applies (const HippoGraph *g, const HippoNode *node)
{
  switch (node->op)
    {
      case HIPPO_OP_CONST:
      case HIPPO_OP_GROUPCONV:
      case HIPPO_OP_BINARY:
      case HIPPO_OP_WHERE:
      case HIPPO_OP_MATMUL:
      case HIPPO_OP_TRANSPOSE:
      case HIPPO_OP_SLICE:
      case HIPPO_OP_GATHER:
      case HIPPO_OP_REDUCE:
      case HIPPO_OP_LAYERNORM:
      case HIPPO_OP_RESIZE:
      case HIPPO_OP_EXPAND:
        return TRUE;
      case HIPPO_OP_CONCAT:
      case HIPPO_OP_SOFTMAX:
        return !is_last_axis (node, node->rank);
      case HIPPO_OP_PAD:
        return node->n_pads > 0;
      default:
        return FALSE;
    }
}

gint64
hippo__tensor_units (const HippoGraph *g, const HippoNode *node)
{
  switch (node->op)
    {
      case HIPPO_OP_MATMUL:
        return hippo__matmul_batch (node)
               * ((node->dims[node->rank - 2] + HIPPO_MATMUL_ROWS - 1)
                  / HIPPO_MATMUL_ROWS);
      case HIPPO_OP_SOFTMAX:
        return (gint64) hippo__node_numel (node)
               / node->dims[hippo__norm_axis (node->axis, node->rank)];
      case HIPPO_OP_LAYERNORM:
        {
          gint64 n = 1;
          for (int i = hippo__norm_axis (node->axis, node->rank);
               i < node->rank; i++)
            n *= node->dims[i];
          return (gint64) hippo__node_numel (node) / n;
        }
      case HIPPO_OP_RESIZE:
        return node->h; /* rows of pixels */
      case HIPPO_OP_GROUPCONV:
      default:
        /* rows of the last axis (GROUPCONV: output pixels) */
        return (gint64) node->h * node->w;
    }
}

/* --- elementwise ------------------------------------------------------ */

static inline float
bin_apply (HippoBin op, float a, float b)
{
  switch (op)
    {
      case HIPPO_BIN_ADD:
        return a + b;
      case HIPPO_BIN_SUB:
        return a - b;
      case HIPPO_BIN_MUL:
        return a * b;
      case HIPPO_BIN_DIV:
        return a / b;
      case HIPPO_BIN_MAX:
        return a > b ? a : b;
      case HIPPO_BIN_MIN:
        return a < b ? a : b;
      case HIPPO_BIN_POW:
        return b == 2.f ? a * a : b == 0.5f ? sqrtf (a) : powf (a, b);
      case HIPPO_BIN_PRELU:
        return a < 0 ? a * b : a;
      case HIPPO_BIN_EQUAL:
        return a == b ? 1.f : 0.f;
      case HIPPO_BIN_LESS:
        return a < b ? 1.f : 0.f;
      case HIPPO_BIN_GREATER:
        return a > b ? 1.f : 0.f;
      case HIPPO_BIN_SQDIFF:
        return (a - b) * (a - b);
      default:
        return 0.f;
    }
}

/* One row of c outputs from a (stride sa: 0 or 1) and b (sb). */
static void
bin_row (HippoBin op, float *restrict o, const float *a, gint64 sa,
         const float *b, gint64 sb, int c)
{
#define BIN_LOOP(expr)                                                         \
  do                                                                           \
    {                                                                          \
      if (sa == 1 && sb == 1)                                                  \
        for (int k = 0; k < c; k++)                                            \
          {                                                                    \
            float x = a[k], y = b[k];                                          \
            o[k] = (expr);                                                     \
          }                                                                    \
      else if (sa == 1)                                                        \
        for (int k = 0; k < c; k++)                                            \
          {                                                                    \
            float x = a[k], y = b[0];                                          \
            o[k] = (expr);                                                     \
          }                                                                    \
      else                                                                     \
        for (int k = 0; k < c; k++)                                            \
          {                                                                    \
            float x = a[0], y = b[k * sb];                                     \
            o[k] = (expr);                                                     \
          }                                                                    \
    }                                                                          \
  while (0)

  switch (op)
    {
      case HIPPO_BIN_ADD:
        BIN_LOOP (x + y);
        break;
      case HIPPO_BIN_SUB:
        BIN_LOOP (x - y);
        break;
      case HIPPO_BIN_MUL:
        BIN_LOOP (x * y);
        break;
      case HIPPO_BIN_DIV:
        BIN_LOOP (x / y);
        break;
      default:
        for (int k = 0; k < c; k++)
          o[k] = bin_apply (op, a[k * sa], b[k * sb]);
        break;
    }
#undef BIN_LOOP
}

static void
binary_rows (const HippoGraph *g, const HippoNode *node,
             const float *const *ins, float *out, gint64 u0, gint64 u1,
             gboolean no_act)
{
  const HippoNode *x = hippo__in_node (g, node, 0);
  int r = node->rank, c = node->c, ra, rb;
  const int *da, *db;
  gint64 sa[HIPPO_MAX_RANK], sb[HIPPO_MAX_RANK];
  gint64 per = (gint64) node->h * node->w;
  gint64 na, nb, no = (gint64) hippo__node_numel (node);
  const float *pa, *pb;
  int idx[HIPPO_MAX_RANK];

  if (node->n_inputs == 2)
    {
      const HippoNode *y = hippo__in_node (g, node, 1);
      ra = x->rank, da = x->dims, rb = y->rank, db = y->dims;
      pa = ins[0], pb = ins[1];
      na = (gint64) hippo__node_numel (x), nb = (gint64) hippo__node_numel (y);
    }
  else if (!node->const_first)
    {
      ra = x->rank, da = x->dims, rb = node->wrank, db = node->wdims;
      pa = ins[0], pb = node->weights;
      na = (gint64) hippo__node_numel (x), nb = 0;
    }
  else
    {
      ra = node->wrank, da = node->wdims, rb = x->rank, db = x->dims;
      pa = node->weights, pb = ins[0];
      na = 0, nb = (gint64) hippo__node_numel (x);
    }
  hippo__bcast_strides (r, ra, da, sa);
  hippo__bcast_strides (r, rb, db, sb);
  for (gint64 u = u0; u < u1;)
    {
      gint64 img = u / per, row = u % per;
      gint64 end = MIN (u1, (img + 1) * per);
      const float *a = pa + img * na, *b = pb + img * nb;
      float *o = out + img * no;

      hippo__row_index (row, r, node->dims, idx);
      for (; u < end; u++, row++)
        {
          float *orow = o + row * c;

          bin_row (node->bin, orow, a + hippo__row_offset (r, idx, sa),
                   sa[r - 1], b + hippo__row_offset (r, idx, sb), sb[r - 1], c);
          if (!no_act && node->act != HIPPO_ACT_NONE)
            hippo_act_apply (orow, 1, c, node->act, node->act_lo, node->act_hi);
          hippo__row_next (r, node->dims, idx);
        }
    }
}

static void
where_rows (const HippoGraph *g, const HippoNode *node, const float *const *ins,
            float *out, gint64 u0, gint64 u1)
{
  int r = node->rank, c = node->c;
  gint64 st[3][HIPPO_MAX_RANK], n[3];
  gint64 per = (gint64) node->h * node->w, no = hippo__node_numel (node);
  int idx[HIPPO_MAX_RANK];

  for (int j = 0; j < 3; j++)
    {
      const HippoNode *x = hippo__in_node (g, node, j);
      hippo__bcast_strides (r, x->rank, x->dims, st[j]);
      n[j] = (gint64) hippo__node_numel (x);
    }
  for (gint64 u = u0; u < u1;)
    {
      gint64 img = u / per, row = u % per;
      gint64 end = MIN (u1, (img + 1) * per);

      hippo__row_index (row, r, node->dims, idx);
      for (; u < end; u++, row++)
        {
          const float *p[3];
          float *o = out + img * no + row * c;

          for (int j = 0; j < 3; j++)
            p[j] = ins[j] + img * n[j] + hippo__row_offset (r, idx, st[j]);
          for (int k = 0; k < c; k++)
            o[k] = p[0][k * st[0][r - 1]] != 0.f ? p[1][k * st[1][r - 1]]
                                                 : p[2][k * st[2][r - 1]];
          hippo__row_next (r, node->dims, idx);
        }
    }
}

/* EXPAND and CONST: a broadcast copy of src (rank rs, dims ds, n floats
 * per image; n 0: the same for every image). */
static void
copy_rows (const HippoNode *node, const float *src, int rs, const int *ds,
           gint64 n, float *out, gint64 u0, gint64 u1)
{
  int r = node->rank, c = node->c;
  gint64 st[HIPPO_MAX_RANK];
  gint64 per = (gint64) node->h * node->w, no = hippo__node_numel (node);
  int idx[HIPPO_MAX_RANK];

  hippo__bcast_strides (r, rs, ds, st);
  for (gint64 u = u0; u < u1;)
    {
      gint64 img = u / per, row = u % per;
      gint64 end = MIN (u1, (img + 1) * per);

      hippo__row_index (row, r, node->dims, idx);
      for (; u < end; u++, row++)
        {
          const float *s = src + img * n + hippo__row_offset (r, idx, st);
          float *o = out + img * no + row * c;

          if (st[r - 1] == 1)
            memcpy (o, s, c * sizeof (float));
          else
            for (int k = 0; k < c; k++)
              o[k] = s[0];
          hippo__row_next (r, node->dims, idx);
        }
    }
}

/* --- layout ----------------------------------------------------------- */

/* TRANSPOSE, SLICE, GATHER, CONCAT on an axis, PAD on any axis: each
 * output row gathered from its input(s). */
static void
transpose_rows (const HippoGraph *g, const HippoNode *node, const float *in,
                float *out, gint64 u0, gint64 u1)
{
  const HippoNode *x = hippo__in_node (g, node, 0);
  int r = node->rank, c = node->c;
  gint64 ist[HIPPO_MAX_RANK], st[HIPPO_MAX_RANK];
  gint64 per = (gint64) node->h * node->w, no = hippo__node_numel (node);
  int idx[HIPPO_MAX_RANK];

  hippo__strides_of (x->rank, x->dims, ist);
  for (int i = 0; i < r; i++)
    st[i] = ist[node->perm[i]];
  for (gint64 u = u0; u < u1;)
    {
      gint64 img = u / per, row = u % per;
      gint64 end = MIN (u1, (img + 1) * per);

      hippo__row_index (row, r, node->dims, idx);
      for (; u < end; u++, row++)
        {
          const float *s = in + img * no + hippo__row_offset (r, idx, st);
          float *o = out + img * no + row * c;
          gint64 sl = st[r - 1];

          if (sl == 1)
            memcpy (o, s, c * sizeof (float));
          else
            for (int k = 0; k < c; k++)
              o[k] = s[k * sl];
          hippo__row_next (r, node->dims, idx);
        }
    }
}

static void
slice_rows (const HippoGraph *g, const HippoNode *node, const float *in,
            float *out, gint64 u0, gint64 u1)
{
  const HippoNode *x = hippo__in_node (g, node, 0);
  int r = node->rank, c = node->c;
  gint64 ist[HIPPO_MAX_RANK], st[HIPPO_MAX_RANK], base = 0;
  gint64 per = (gint64) node->h * node->w, no = hippo__node_numel (node);
  gint64 ni = hippo__node_numel (x);
  int idx[HIPPO_MAX_RANK];

  hippo__strides_of (r, x->dims, ist);
  for (int i = 0; i < r; i++)
    {
      st[i] = ist[i] * node->step[i];
      base += ist[i] * node->begin[i];
    }
  for (gint64 u = u0; u < u1;)
    {
      gint64 img = u / per, row = u % per;
      gint64 end = MIN (u1, (img + 1) * per);

      hippo__row_index (row, r, node->dims, idx);
      for (; u < end; u++, row++)
        {
          const float *s
            = in + img * ni + base + hippo__row_offset (r, idx, st);
          float *o = out + img * no + row * c;
          gint64 sl = st[r - 1];

          if (sl == 1)
            memcpy (o, s, c * sizeof (float));
          else
            for (int k = 0; k < c; k++)
              o[k] = s[k * sl];
          hippo__row_next (r, node->dims, idx);
        }
    }
}

static void
gather_rows (const HippoGraph *g, const HippoNode *node, const float *in,
             float *out, gint64 u0, gint64 u1)
{
  const HippoNode *x = hippo__in_node (g, node, 0);
  int r = node->rank, c = node->c, a = hippo__norm_axis (node->axis, r);
  gint64 ist[HIPPO_MAX_RANK];
  gint64 per = (gint64) node->h * node->w, no = hippo__node_numel (node);
  gint64 ni = hippo__node_numel (x);
  int idx[HIPPO_MAX_RANK];

  hippo__strides_of (r, x->dims, ist);
  for (gint64 u = u0; u < u1;)
    {
      gint64 img = u / per, row = u % per;
      gint64 end = MIN (u1, (img + 1) * per);

      hippo__row_index (row, r, node->dims, idx);
      for (; u < end; u++, row++)
        {
          const float *s = in + img * ni;
          float *o = out + img * no + row * c;

          for (int i = 0; i + 1 < r; i++)
            s += (i == a ? node->index[idx[i]] : idx[i]) * ist[i];
          if (a == r - 1)
            for (int k = 0; k < c; k++)
              o[k] = s[node->index[k]];
          else
            memcpy (o, s, c * sizeof (float));
          hippo__row_next (r, node->dims, idx);
        }
    }
}

static void
concat_rows (const HippoGraph *g, const HippoNode *node,
             const float *const *ins, float *out, gint64 u0, gint64 u1)
{
  int r = node->rank, c = node->c, a = hippo__norm_axis (node->axis, r);
  gint64 per = (gint64) node->h * node->w, no = hippo__node_numel (node);
  int idx[HIPPO_MAX_RANK];

  for (gint64 u = u0; u < u1;)
    {
      gint64 img = u / per, row = u % per;
      gint64 end = MIN (u1, (img + 1) * per);

      hippo__row_index (row, r, node->dims, idx);
      for (; u < end; u++, row++)
        {
          int j = 0, at = idx[a];
          const HippoNode *x;
          gint64 ist[HIPPO_MAX_RANK], off = 0;

          /* the input holding this row, and the row's index in it */
          while (at >= (x = hippo__in_node (g, node, j))->dims[a])
            at -= x->dims[a], j++;
          hippo__strides_of (r, x->dims, ist);
          for (int i = 0; i + 1 < r; i++)
            off += (i == a ? at : idx[i]) * ist[i];
          memcpy (out + img * no + row * c,
                  ins[j] + img * (gint64) hippo__node_numel (x) + off,
                  c * sizeof (float));
          hippo__row_next (r, node->dims, idx);
        }
    }
}

/* Source index of output index o along an axis of n padded by a before,
 * or -1 for the constant. */
static inline gint64
pad_source (HippoPadMode mode, gint64 o, int a, int n)
{
  gint64 i = o - a;

  if (i >= 0 && i < n)
    return i;
  if (mode == HIPPO_PAD_CONSTANT)
    return -1;
  if (mode == HIPPO_PAD_EDGE)
    return i < 0 ? 0 : n - 1;
  /* reflect (pads < n, checked at load) */
  if (n == 1)
    return 0;
  return i < 0 ? -i : 2 * (gint64) (n - 1) - i;
}

static void
pad_general_rows (const HippoGraph *g, const HippoNode *node, const float *in,
                  float *out, gint64 u0, gint64 u1)
{
  const HippoNode *x = hippo__in_node (g, node, 0);
  int r = node->rank, c = node->c;
  gint64 ist[HIPPO_MAX_RANK];
  gint64 per = (gint64) node->h * node->w, no = hippo__node_numel (node);
  gint64 ni = hippo__node_numel (x);
  int idx[HIPPO_MAX_RANK];

  hippo__strides_of (r, x->dims, ist);
  for (gint64 u = u0; u < u1;)
    {
      gint64 img = u / per, row = u % per;
      gint64 end = MIN (u1, (img + 1) * per);

      hippo__row_index (row, r, node->dims, idx);
      for (; u < end; u++, row++)
        {
          float *o = out + img * no + row * c;
          const float *s = in + img * ni;
          gboolean fill = FALSE;

          for (int i = 0; i + 1 < r && !fill; i++)
            {
              gint64 k = pad_source (node->pad_mode, idx[i],
                                     node->pad_before[i], x->dims[i]);
              if (k < 0)
                fill = TRUE;
              else
                s += k * ist[i];
            }
          for (int k = 0; k < c; k++)
            {
              gint64 j
                = fill ? -1
                       : pad_source (node->pad_mode, k, node->pad_before[r - 1],
                                     x->dims[r - 1]);
              o[k] = j < 0 ? node->value : s[j];
            }
          hippo__row_next (r, node->dims, idx);
        }
    }
}

void
hippo__tensor_rows (const HippoGraph *g, const HippoNode *node,
                    const float *const *ins, float *out, gint64 u0, gint64 u1,
                    float *scratch, gboolean no_act)
{
  if (u0 >= u1)
    return;
  switch (node->op)
    {
      case HIPPO_OP_CONST:
        copy_rows (node, node->weights, node->rank, node->dims, 0, out, u0, u1);
        break;
      case HIPPO_OP_EXPAND:
        {
          const HippoNode *x = hippo__in_node (g, node, 0);
          copy_rows (node, ins[0], x->rank, x->dims, hippo__node_numel (x), out,
                     u0, u1);
        }
        break;
      case HIPPO_OP_BINARY:
        binary_rows (g, node, ins, out, u0, u1, no_act);
        break;
      case HIPPO_OP_WHERE:
        where_rows (g, node, ins, out, u0, u1);
        break;
      case HIPPO_OP_TRANSPOSE:
        transpose_rows (g, node, ins[0], out, u0, u1);
        break;
      case HIPPO_OP_SLICE:
        slice_rows (g, node, ins[0], out, u0, u1);
        break;
      case HIPPO_OP_GATHER:
        gather_rows (g, node, ins[0], out, u0, u1);
        break;
      case HIPPO_OP_CONCAT:
        concat_rows (g, node, ins, out, u0, u1);
        break;
      case HIPPO_OP_PAD:
        pad_general_rows (g, node, ins[0], out, u0, u1);
        break;
      default:
        hippo__tensor_math_rows (g, node, ins, out, u0, u1, scratch, no_act);
        break;
    }
}
