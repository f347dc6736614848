/* Load-time constant evaluation, continued (fold.h): the ops that move
 * values (reshape, transpose, concatenation, slices, gather, expand,
 * tile) and reductions. */
#include "hippo-config.h"

#include <math.h>
#include <string.h>

#include "fold.h"

HippoConst *
hippo__fold_reshape (HippoFold *fold, const HippoConst *x, int rank,
                     const gint64 *dims, GError **error)
{
  HippoConst *c = hippo__const_new (fold, x->type, rank, dims, error);

  if (c == NULL)
    return NULL;
  if (c->n != x->n)
    {
      hippo__fold_invalid (error,
                           "a constant reshaped to another element count");
      return NULL;
    }
  for (gsize k = 0; k < x->n; k++)
    hippo__fold_copy_elem (c, k, x, k);
  return c;
}

HippoConst *
hippo__fold_transpose (HippoFold *fold, const HippoConst *x, const int *perm,
                       GError **error)
{
  gint64 dims[HIPPO_MAX_RANK], st[HIPPO_MAX_RANK], pst[HIPPO_MAX_RANK];
  guint seen = 0;
  HippoConst *c;

  for (int i = 0; i < x->rank; i++)
    {
      if (perm[i] < 0 || perm[i] >= x->rank || (seen & (1u << perm[i])))
        {
          hippo__fold_invalid (error, "a transpose that is not a permutation");
          return NULL;
        }
      seen |= 1u << perm[i];
      dims[i] = x->dims[perm[i]];
    }
  c = hippo__const_new (fold, x->type, x->rank, dims, error);
  if (c == NULL)
    return NULL;
  hippo__fold_strides_of (x->rank, x->dims, st);
  for (int i = 0; i < x->rank; i++)
    pst[i] = st[perm[i]];
  for (gsize k = 0; k < c->n; k++)
    hippo__fold_copy_elem (c, k, x,
                           hippo__fold_bcast_offset (k, x->rank, dims, pst));
  return c;
}

HippoConst *
hippo__fold_concat (HippoFold *fold, const HippoConst *const *x, int n,
                    int axis, GError **error)
{
  gint64 dims[HIPPO_MAX_RANK], outer = 1;
  gboolean any_float = FALSE;
  int rank;
  HippoConst *c;
  gsize at = 0;

  if (n < 1)
    {
      hippo__fold_invalid (error, "a concatenation of nothing");
      return NULL;
    }
  rank = MAX (x[0]->rank, 1);
  if (axis < 0 || axis >= rank)
    {
      hippo__fold_invalid (error, "concatenation axis out of range");
      return NULL;
    }
  for (int i = 0; i < rank; i++)
    dims[i] = x[0]->rank == 0 ? 1 : x[0]->dims[i];
  dims[axis] = 0;
  for (int j = 0; j < n; j++)
    {
      int rj = MAX (x[j]->rank, 1);

      any_float |= x[j]->type == HIPPO_CONST_FLOAT;
      if (rj != rank)
        {
          hippo__fold_invalid (error, "concatenated constants differ in rank");
          return NULL;
        }
      for (int i = 0; i < rank; i++)
        {
          gint64 d = x[j]->rank == 0 ? 1 : x[j]->dims[i];

          if (i == axis)
            dims[i] += d;
          else if (d != dims[i])
            {
              hippo__fold_invalid (error,
                                   "concatenated constants differ in shape");
              return NULL;
            }
        }
      if (dims[axis] > (gint64) HIPPO_CONST_MAX_ELEMS)
        {
          hippo__fold_invalid (error, "a concatenation too large");
          return NULL;
        }
    }
  c = hippo__const_new (fold, any_float ? HIPPO_CONST_FLOAT : HIPPO_CONST_INT,
                        rank, dims, error);
  if (c == NULL)
    return NULL;
  for (int i = 0; i < axis; i++)
    outer *= dims[i];
  for (gint64 o = 0; o < outer; o++)
    for (int j = 0; j < n; j++)
      {
        gsize block = outer ? x[j]->n / outer : 0;

        for (gsize k = 0; k < block; k++, at++)
          {
            gsize src = o * block + k;

            if (c->type == HIPPO_CONST_INT)
              c->i[at] = x[j]->i[src];
            else
              c->f[at] = (float) hippo__const_float_at (x[j], src);
          }
      }
  return c;
}

HippoConst *
hippo__fold_slice (HippoFold *fold, const HippoConst *x, const gint64 *begin,
                   const gint64 *step, const gint64 *count, GError **error)
{
  gint64 st[HIPPO_MAX_RANK], sst[HIPPO_MAX_RANK], base = 0;
  HippoConst *c;

  for (int i = 0; i < x->rank; i++)
    {
      if (count[i] < 0
          || (count[i] > 0
              && (step[i] == 0 || begin[i] < 0 || begin[i] >= x->dims[i]
                  || begin[i] + (count[i] - 1) * step[i] < 0
                  || begin[i] + (count[i] - 1) * step[i] >= x->dims[i])))
        {
          hippo__fold_invalid (error, "a slice of a constant out of range");
          return NULL;
        }
    }
  c = hippo__const_new (fold, x->type, x->rank, count, error);
  if (c == NULL)
    return NULL;
  hippo__fold_strides_of (x->rank, x->dims, st);
  for (int i = 0; i < x->rank; i++)
    {
      sst[i] = st[i] * step[i];
      base += count[i] > 0 ? begin[i] * st[i] : 0;
    }
  for (gsize k = 0; k < c->n; k++)
    hippo__fold_copy_elem (
      c, k, x, base + hippo__fold_bcast_offset (k, x->rank, count, sst));
  return c;
}

HippoConst *
hippo__fold_gather (HippoFold *fold, const HippoConst *x,
                    const HippoConst *indices, int axis, GError **error)
{
  gint64 dims[HIPPO_MAX_RANK], outer = 1, inner = 1, len;
  int rank = x->rank - 1 + indices->rank;
  HippoConst *c;
  gsize at = 0;

  if (axis < 0 || axis >= x->rank || rank > HIPPO_MAX_RANK)
    {
      hippo__fold_invalid (error, "gather axis out of range");
      return NULL;
    }
  for (int i = 0; i < axis; i++)
    dims[i] = x->dims[i], outer *= x->dims[i];
  for (int i = 0; i < indices->rank; i++)
    dims[axis + i] = indices->dims[i];
  for (int i = axis + 1; i < x->rank; i++)
    dims[indices->rank + i - 1] = x->dims[i], inner *= x->dims[i];
  len = x->dims[axis];
  c = hippo__const_new (fold, x->type, rank, dims, error);
  if (c == NULL)
    return NULL;
  for (gint64 o = 0; o < outer; o++)
    for (gsize j = 0; j < indices->n; j++)
      {
        gint64 k;

        if (!hippo__const_int_at (indices, j, &k) || k < -len || k >= len)
          {
            hippo__fold_invalid (error, "gather index out of range");
            return NULL;
          }
        if (k < 0)
          k += len;
        for (gint64 t = 0; t < inner; t++)
          hippo__fold_copy_elem (c, at++, x, (o * len + k) * inner + t);
      }
  return c;
}

HippoConst *
hippo__fold_expand (HippoFold *fold, const HippoConst *x, int rank,
                    const gint64 *dims, GError **error)
{
  HippoConst shape = { 0 }, *c;
  gint64 out[HIPPO_MAX_RANK] = { 0 }, st[HIPPO_MAX_RANK];
  int r;

  if (rank < 0 || rank > HIPPO_MAX_RANK)
    {
      hippo__fold_invalid (error, "expand shape out of range");
      return NULL;
    }
  shape.rank = rank;
  for (int i = 0; i < rank; i++)
    {
      if (dims[i] < 0)
        {
          hippo__fold_invalid (error, "expand shape out of range");
          return NULL;
        }
      shape.dims[i] = dims[i];
    }
  if (!hippo__fold_bcast_shape (x, &shape, &r, out, error))
    return NULL;
  c = hippo__const_new (fold, x->type, r, out, error);
  if (c == NULL)
    return NULL;
  hippo__fold_bcast_strides (r, x, st);
  for (gsize k = 0; k < c->n; k++)
    hippo__fold_copy_elem (c, k, x, hippo__fold_bcast_offset (k, r, out, st));
  return c;
}

HippoConst *
hippo__fold_tile (HippoFold *fold, const HippoConst *x, const gint64 *repeats,
                  GError **error)
{
  gint64 dims[HIPPO_MAX_RANK], st[HIPPO_MAX_RANK];
  HippoConst *c;

  for (int i = 0; i < x->rank; i++)
    {
      if (repeats[i] < 0 || repeats[i] > (gint64) HIPPO_CONST_MAX_ELEMS
          || (x->dims[i] > 0
              && repeats[i] > (gint64) HIPPO_CONST_MAX_ELEMS / x->dims[i]))
        {
          hippo__fold_invalid (error, "tile repeats out of range");
          return NULL;
        }
      dims[i] = x->dims[i] * repeats[i];
    }
  c = hippo__const_new (fold, x->type, x->rank, dims, error);
  if (c == NULL)
    return NULL;
  hippo__fold_strides_of (x->rank, x->dims, st);
  for (gsize k = 0; k < c->n; k++)
    {
      gsize rem = k, off = 0;

      for (int i = x->rank - 1; i >= 0; i--)
        {
          off += (rem % dims[i]) % x->dims[i] * st[i];
          rem /= dims[i];
        }
      hippo__fold_copy_elem (c, k, x, off);
    }
  return c;
}

HippoConst *
hippo__fold_reduce (HippoFold *fold, const HippoConst *x, HippoReduce op,
                    guint axes, gboolean keepdims, GError **error)
{
  gint64 dims[HIPPO_MAX_RANK], kdims[HIPPO_MAX_RANK], kst[HIPPO_MAX_RANK];
  int r = 0;
  HippoConst *c;
  double *acc;
  gint64 *cnt;

  if (axes == 0)
    axes = x->rank >= 32 ? ~0u : (1u << x->rank) - 1;
  if (x->rank < 32 && (axes >> x->rank) != 0)
    {
      hippo__fold_invalid (error, "reduction axes out of range");
      return NULL;
    }
  for (int i = 0; i < x->rank; i++)
    {
      kdims[i] = axes & (1u << i) ? 1 : x->dims[i];
      if (!(axes & (1u << i)))
        dims[r++] = x->dims[i];
      else if (keepdims)
        dims[r++] = 1;
    }
  c = hippo__const_new (fold,
                        op == HIPPO_REDUCE_MEAN ? HIPPO_CONST_FLOAT : x->type,
                        r, dims, error);
  if (c == NULL)
    return NULL;
  acc = hippo__fold_alloc (fold, c->n, sizeof (double), error);
  cnt = acc ? hippo__fold_alloc (fold, c->n, sizeof (gint64), error) : NULL;
  if (cnt == NULL)
    return NULL;
  for (gsize j = 0; j < c->n; j++)
    acc[j] = op == HIPPO_REDUCE_MAX    ? -INFINITY
             : op == HIPPO_REDUCE_MIN  ? INFINITY
             : op == HIPPO_REDUCE_PROD ? 1.0
                                       : 0.0;
  hippo__fold_strides_of (x->rank, kdims, kst);
  for (int i = 0; i < x->rank; i++)
    if (axes & (1u << i))
      kst[i] = 0;
  for (gsize k = 0; k < x->n; k++)
    {
      gsize j = hippo__fold_bcast_offset (k, x->rank, x->dims, kst);
      double v = hippo__const_float_at (x, k);

      switch (op)
        {
          case HIPPO_REDUCE_MAX:
            acc[j] = MAX (acc[j], v);
            break;
          case HIPPO_REDUCE_MIN:
            acc[j] = MIN (acc[j], v);
            break;
          case HIPPO_REDUCE_PROD:
            acc[j] *= v;
            break;
          default:
            acc[j] += v;
            break;
        }
      cnt[j]++;
    }
  for (gsize j = 0; j < c->n; j++)
    {
      double v = op == HIPPO_REDUCE_MEAN && cnt[j] ? acc[j] / cnt[j] : acc[j];

      if (c->type == HIPPO_CONST_FLOAT)
        c->f[j] = (float) v;
      else if (!(fabs (v) < 9.2e18))
        {
          hippo__fold_invalid (error,
                               "integer overflow in a reduction of a constant");
          return NULL;
        }
      else
        c->i[j] = (gint64) v;
    }
  return c;
}
