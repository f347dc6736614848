/* Load-time constant evaluation (fold.h): shape subgraphs and other ops on
 * constants, evaluated once when a model is read.  Every size is checked
 * and integer arithmetic never overflows silently. */
#include "hippo-config.h"

#include <math.h>
#include <string.h>

#include "fold.h"
#include "engine/kernels.h"

struct _HippoFold
{
  GPtrArray *blocks; /* owned memory */
  guint64 used;      /* elements made so far */
};

HippoFold *
hippo__fold_new (void)
{
  HippoFold *fold = g_new0 (HippoFold, 1);

  fold->blocks = g_ptr_array_new_with_free_func (g_free);
  return fold;
}

void
hippo__fold_free (HippoFold *fold)
{
  if (fold == NULL)
    return;
  g_ptr_array_unref (fold->blocks);
  g_free (fold);
}

gpointer
hippo__fold_alloc (HippoFold *fold, gsize n, gsize size, GError **error)
{
  gpointer p;

  if (n > HIPPO_CONST_MAX_ELEMS || fold->used + n > HIPPO_FOLD_MAX_ELEMS)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "constants of %" G_GSIZE_FORMAT " values are too large "
                   "to evaluate at load",
                   n);
      return NULL;
    }
  p = g_try_malloc0 (MAX (n, 1) * size);
  if (p == NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "out of memory for a constant of %" G_GSIZE_FORMAT " values",
                   n);
      return NULL;
    }
  fold->used += n;
  g_ptr_array_add (fold->blocks, p);
  return p;
}

HippoConst *
hippo__const_new (HippoFold *fold, HippoConstType type, int rank,
                  const gint64 *dims, GError **error)
{
  HippoConst *c;
  guint64 n = 1;

  if (rank < 0 || rank > HIPPO_MAX_RANK)
    {
      hippo__fold_invalid (error, "a constant has too many axes");
      return NULL;
    }
  for (int i = 0; i < rank; i++)
    {
      if (dims[i] < 0 || (guint64) dims[i] > HIPPO_CONST_MAX_ELEMS)
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                       "a constant has a dimension of %" G_GINT64_FORMAT,
                       dims[i]);
          return NULL;
        }
      n *= (guint64) dims[i];
      if (n > HIPPO_CONST_MAX_ELEMS)
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                       "a constant has more than %" G_GUINT64_FORMAT " values",
                       HIPPO_CONST_MAX_ELEMS);
          return NULL;
        }
    }
  c = hippo__fold_alloc (fold, 1, sizeof (HippoConst), error);
  if (c == NULL)
    return NULL;
  fold->used--; /* the header is not an element */
  c->type = type;
  c->rank = rank;
  for (int i = 0; i < rank; i++)
    c->dims[i] = dims[i];
  c->n = n;
  if (type == HIPPO_CONST_FLOAT)
    c->f = hippo__fold_alloc (fold, n, sizeof (float), error);
  else
    c->i = hippo__fold_alloc (fold, n, sizeof (gint64), error);
  if (c->f == NULL && c->i == NULL)
    return NULL;
  return c;
}

HippoConst *
hippo__const_new_ints (HippoFold *fold, const gint64 *v, gsize n,
                       gboolean scalar, GError **error)
{
  gint64 d = n;
  HippoConst *c;

  g_return_val_if_fail (!scalar || n == 1, NULL);
  c = hippo__const_new (fold, HIPPO_CONST_INT, scalar ? 0 : 1, &d, error);
  if (c != NULL && n > 0)
    memcpy (c->i, v, n * sizeof (gint64));
  return c;
}

HippoConst *
hippo__const_new_floats (HippoFold *fold, const float *v, gsize n,
                         gboolean scalar, GError **error)
{
  gint64 d = n;
  HippoConst *c;

  g_return_val_if_fail (!scalar || n == 1, NULL);
  c = hippo__const_new (fold, HIPPO_CONST_FLOAT, scalar ? 0 : 1, &d, error);
  if (c != NULL && n > 0)
    memcpy (c->f, v, n * sizeof (float));
  return c;
}

double
hippo__const_float_at (const HippoConst *c, gsize k)
{
  return c->type == HIPPO_CONST_FLOAT ? (double) c->f[k] : (double) c->i[k];
}

gboolean
hippo__const_int_at (const HippoConst *c, gsize k, gint64 *out)
{
  float f;

  if (c->type == HIPPO_CONST_INT)
    {
      *out = c->i[k];
      return TRUE;
    }
  f = c->f[k];
  if (!isfinite (f) || f != floorf (f) || fabsf (f) > 9.0e18f)
    return FALSE;
  *out = (gint64) f;
  return TRUE;
}

gboolean
hippo__const_get_ints (const HippoConst *c, gint64 *out, gsize max,
                       GError **error)
{
  if (c->n > max)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                   "a constant has %" G_GSIZE_FORMAT " values where at most "
                   "%" G_GSIZE_FORMAT " are expected",
                   c->n, max);
      return FALSE;
    }
  for (gsize k = 0; k < c->n; k++)
    if (!hippo__const_int_at (c, k, &out[k]))
      return hippo__fold_invalid (
        error, "a constant that must hold integers does not");
  return TRUE;
}

const float *
hippo__const_get_floats (HippoFold *fold, const HippoConst *c, GError **error)
{
  float *f;

  if (c->type == HIPPO_CONST_FLOAT)
    return c->f;
  f = hippo__fold_alloc (fold, c->n, sizeof (float), error);
  if (f != NULL)
    for (gsize k = 0; k < c->n; k++)
      f[k] = (float) c->i[k];
  return f;
}

HippoConst *
hippo__fold_cast (HippoFold *fold, const HippoConst *x, HippoConstType type,
                  GError **error)
{
  HippoConst *c = hippo__fold_new_like (fold, x, type, error);

  if (c == NULL)
    return NULL;
  for (gsize k = 0; k < x->n; k++)
    {
      if (type == HIPPO_CONST_FLOAT)
        c->f[k] = (float) hippo__const_float_at (x, k);
      else if (x->type == HIPPO_CONST_INT)
        c->i[k] = x->i[k];
      else
        {
          float f = x->f[k];

          if (!isfinite (f) || fabsf (f) >= 9.2e18f)
            {
              hippo__fold_invalid (
                error, "a value cast to an integer is out of range");
              return NULL;
            }
          c->i[k] = (gint64) f;
        }
    }
  return c;
}

static gboolean
int_binary (int op, gint64 a, gint64 b, gint64 *out, GError **error)
{
  gint64 r = 0;

  switch (op)
    {
      case HIPPO_BIN_ADD:
        if (__builtin_add_overflow (a, b, &r))
          return hippo__fold_invalid (error, "integer overflow in a constant");
        break;
      case HIPPO_BIN_SUB:
      case HIPPO_BIN_SQDIFF:
        if (__builtin_sub_overflow (a, b, &r))
          return hippo__fold_invalid (error, "integer overflow in a constant");
        if (op == HIPPO_BIN_SQDIFF && __builtin_mul_overflow (r, r, &r))
          return hippo__fold_invalid (error, "integer overflow in a constant");
        break;
      case HIPPO_BIN_MUL:
        if (__builtin_mul_overflow (a, b, &r))
          return hippo__fold_invalid (error, "integer overflow in a constant");
        break;
      case HIPPO_BIN_DIV:
      case HIPPO_FOLD_MOD:
      case HIPPO_FOLD_FMOD:
        if (b == 0 || (a == G_MININT64 && b == -1))
          return hippo__fold_invalid (
            error, "integer division by zero (or overflow) in a "
                   "constant");
        if (op == HIPPO_BIN_DIV)
          r = a / b;
        else
          {
            r = a % b;
            if (op == HIPPO_FOLD_MOD && r != 0 && ((r < 0) != (b < 0)))
              r += b;
          }
        break;
      case HIPPO_BIN_MAX:
        r = MAX (a, b);
        break;
      case HIPPO_BIN_MIN:
        r = MIN (a, b);
        break;
      case HIPPO_BIN_POW:
        if (b < 0)
          return hippo__fold_invalid (error,
                                      "a negative integer power in a constant");
        r = 1;
        if (a == 0 || a == 1)
          r = b == 0 ? 1 : a;
        else if (a == -1)
          r = b % 2 ? -1 : 1;
        else
          for (gint64 e = 0; e < b; e++)
            if (__builtin_mul_overflow (r, a, &r))
              return hippo__fold_invalid (error,
                                          "integer overflow in a constant");
        break;
      case HIPPO_BIN_EQUAL:
        r = a == b;
        break;
      case HIPPO_BIN_LESS:
        r = a < b;
        break;
      case HIPPO_BIN_GREATER:
        r = a > b;
        break;
      case HIPPO_FOLD_AND:
        r = a != 0 && b != 0;
        break;
      case HIPPO_FOLD_OR:
        r = a != 0 || b != 0;
        break;
      case HIPPO_FOLD_XOR:
        r = (a != 0) != (b != 0);
        break;
      case HIPPO_BIN_PRELU:
        r = a;
        if (a < 0 && __builtin_mul_overflow (a, b, &r))
          return hippo__fold_invalid (error, "integer overflow in a constant");
        break;
      default:
        return hippo__fold_invalid (error, "unknown operation on constants");
    }
  *out = r;
  return TRUE;
}

static float
float_binary (int op, float a, float b)
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
        return powf (a, b);
      case HIPPO_BIN_PRELU:
        return a < 0 ? a * b : a;
      case HIPPO_BIN_SQDIFF:
        return (a - b) * (a - b);
      case HIPPO_FOLD_MOD:
        {
          float r = fmodf (a, b);
          return r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
        }
      case HIPPO_FOLD_FMOD:
        return fmodf (a, b);
      default:
        return 0;
    }
}

static gboolean
is_compare (int op)
{
  return op == HIPPO_BIN_EQUAL || op == HIPPO_BIN_LESS
         || op == HIPPO_BIN_GREATER || op == HIPPO_FOLD_AND
         || op == HIPPO_FOLD_OR || op == HIPPO_FOLD_XOR;
}

HippoConst *
hippo__fold_binary (HippoFold *fold, int op, const HippoConst *a,
                    const HippoConst *b, GError **error)
{
  gint64 dims[HIPPO_MAX_RANK], sa[HIPPO_MAX_RANK], sb[HIPPO_MAX_RANK];
  gboolean as_int = a->type == HIPPO_CONST_INT && b->type == HIPPO_CONST_INT;
  HippoConst *c;
  int r;

  if (op < 0 || op > HIPPO_FOLD_XOR)
    {
      hippo__fold_invalid (error, "unknown operation on constants");
      return NULL;
    }
  if (!hippo__fold_bcast_shape (a, b, &r, dims, error))
    return NULL;
  c = hippo__const_new (
    fold, as_int || is_compare (op) ? HIPPO_CONST_INT : HIPPO_CONST_FLOAT, r,
    dims, error);
  if (c == NULL)
    return NULL;
  hippo__fold_bcast_strides (r, a, sa);
  hippo__fold_bcast_strides (r, b, sb);
  for (gsize k = 0; k < c->n; k++)
    {
      gsize ka = hippo__fold_bcast_offset (k, r, dims, sa),
            kb = hippo__fold_bcast_offset (k, r, dims, sb);

      if (as_int)
        {
          if (!int_binary (op, a->i[ka], b->i[kb], &c->i[k], error))
            return NULL;
        }
      else
        {
          float x = (float) hippo__const_float_at (a, ka);
          float y = (float) hippo__const_float_at (b, kb);

          if (is_compare (op))
            {
              gint64 ix = x != 0, iy = y != 0;

              c->i[k] = op == HIPPO_BIN_EQUAL     ? x == y
                        : op == HIPPO_BIN_LESS    ? x < y
                        : op == HIPPO_BIN_GREATER ? x > y
                        : op == HIPPO_FOLD_AND    ? ix && iy
                        : op == HIPPO_FOLD_OR     ? ix || iy
                                                  : ix != iy;
            }
          else
            c->f[k] = float_binary (op, x, y);
        }
    }
  return c;
}

HippoConst *
hippo__fold_unary (HippoFold *fold, HippoAct act, float alpha, float beta,
                   const HippoConst *x, GError **error)
{
  HippoConst *c;

  if (act < HIPPO_ACT_NONE || act > HIPPO_ACT_N)
    {
      hippo__fold_invalid (error, "unknown operation on constants");
      return NULL;
    }
  if (x->type == HIPPO_CONST_INT
      && (act == HIPPO_ACT_ABS || act == HIPPO_ACT_NEG || act == HIPPO_ACT_N
          || act == HIPPO_ACT_NONE))
    {
      c = hippo__fold_new_like (fold, x, HIPPO_CONST_INT, error);
      if (c == NULL)
        return NULL;
      for (gsize k = 0; k < x->n; k++)
        {
          gint64 v = x->i[k];

          if (v == G_MININT64 && act != HIPPO_ACT_N && act != HIPPO_ACT_NONE)
            {
              hippo__fold_invalid (error, "integer overflow in a constant");
              return NULL;
            }
          c->i[k] = act == HIPPO_ACT_ABS   ? ABS (v)
                    : act == HIPPO_ACT_NEG ? -v
                    : act == HIPPO_ACT_N   ? v == 0
                                           : v;
        }
      return c;
    }
  if (act == HIPPO_ACT_N)
    {
      c = hippo__fold_new_like (fold, x, HIPPO_CONST_INT, error);
      if (c != NULL)
        for (gsize k = 0; k < x->n; k++)
          c->i[k] = x->f[k] == 0;
      return c;
    }
  if (act == HIPPO_ACT_SOFTMAX)
    {
      hippo__fold_invalid (error, "softmax of a constant");
      return NULL;
    }
  c = hippo__fold_cast (fold, x, HIPPO_CONST_FLOAT, error);
  if (c != NULL && x->n > 0 && act != HIPPO_ACT_NONE)
    hippo_act_apply (c->f, x->n, 1, act, alpha, beta);
  return c;
}

HippoConst *
hippo__fold_where (HippoFold *fold, const HippoConst *cond, const HippoConst *a,
                   const HippoConst *b, GError **error)
{
  gint64 d1[HIPPO_MAX_RANK] = { 0 }, dims[HIPPO_MAX_RANK];
  gint64 sc[HIPPO_MAX_RANK], sa[HIPPO_MAX_RANK], sb[HIPPO_MAX_RANK];
  HippoConst tmp = { 0 }, *c;
  int r1, r;

  if (!hippo__fold_bcast_shape (cond, a, &r1, d1, error))
    return NULL;
  tmp.rank = r1;
  memcpy (tmp.dims, d1, sizeof d1);
  if (!hippo__fold_bcast_shape (&tmp, b, &r, dims, error))
    return NULL;
  c = hippo__const_new (fold,
                        a->type == HIPPO_CONST_INT && b->type == HIPPO_CONST_INT
                          ? HIPPO_CONST_INT
                          : HIPPO_CONST_FLOAT,
                        r, dims, error);
  if (c == NULL)
    return NULL;
  hippo__fold_bcast_strides (r, cond, sc);
  hippo__fold_bcast_strides (r, a, sa);
  hippo__fold_bcast_strides (r, b, sb);
  for (gsize k = 0; k < c->n; k++)
    {
      gboolean t = hippo__const_float_at (
                     cond, hippo__fold_bcast_offset (k, r, dims, sc))
                   != 0;
      const HippoConst *src = t ? a : b;
      gsize o = hippo__fold_bcast_offset (k, r, dims, t ? sa : sb);

      if (c->type == HIPPO_CONST_INT)
        c->i[k] = src->i[o];
      else
        c->f[k] = (float) hippo__const_float_at (src, o);
    }
  return c;
}

HippoConst *
hippo__fold_range (HippoFold *fold, const HippoConst *start,
                   const HippoConst *limit, const HippoConst *delta,
                   GError **error)
{
  double s, l, d, n;
  gint64 count;
  HippoConst *c;

  if (start->n != 1 || limit->n != 1 || delta->n != 1)
    {
      hippo__fold_invalid (error, "range bounds are not scalars");
      return NULL;
    }
  s = hippo__const_float_at (start, 0);
  l = hippo__const_float_at (limit, 0);
  d = hippo__const_float_at (delta, 0);
  n = d != 0 ? ceil ((l - s) / d) : NAN;
  if (!isfinite (n) || n > (double) HIPPO_CONST_MAX_ELEMS)
    {
      hippo__fold_invalid (error, "a range of constants out of bounds");
      return NULL;
    }
  count = n < 0 ? 0 : (gint64) n;
  c = hippo__const_new (fold, start->type, 1, &count, error);
  if (c == NULL)
    return NULL;
  for (gint64 k = 0; k < count; k++)
    {
      if (c->type == HIPPO_CONST_FLOAT)
        c->f[k] = (float) (s + k * d);
      else
        {
          gint64 is, id, off;

          if (!hippo__const_int_at (start, 0, &is)
              || !hippo__const_int_at (delta, 0, &id))
            {
              hippo__fold_invalid (error,
                                   "an integer range with non-integer bounds");
              return NULL;
            }
          if (__builtin_mul_overflow (k, id, &off)
              || __builtin_add_overflow (is, off, &c->i[k]))
            {
              hippo__fold_invalid (error, "integer overflow in a range");
              return NULL;
            }
        }
    }
  return c;
}

HippoConst *
hippo__fold_constant_of_shape (HippoFold *fold, const HippoConst *shape,
                               const HippoConst *value, GError **error)
{
  gint64 dims[HIPPO_MAX_RANK];
  HippoConst *c;

  if (shape->rank > 1 || shape->n > HIPPO_MAX_RANK)
    {
      hippo__fold_invalid (error, "a constant shape of too many axes");
      return NULL;
    }
  if (!hippo__const_get_ints (shape, dims, HIPPO_MAX_RANK, error))
    return NULL;
  if (value != NULL && value->n != 1)
    {
      hippo__fold_invalid (error, "a fill value that is not a single value");
      return NULL;
    }
  c = hippo__const_new (fold, value ? value->type : HIPPO_CONST_FLOAT,
                        (int) shape->n, dims, error);
  if (c == NULL)
    return NULL;
  for (gsize k = 0; value != NULL && k < c->n; k++)
    hippo__fold_copy_elem (c, k, value, 0);
  return c;
}

gboolean
hippo__slice_resolve (gint64 dim, gint64 start, gint64 end, gint64 step,
                      gint64 *begin, gint64 *count, GError **error)
{
  gint64 n;

  if (step == 0 || step == G_MININT64)
    return hippo__fold_invalid (error, "a slice with step 0");
  if (dim < 0)
    return hippo__fold_invalid (error, "a slice of a negative dimension");
  if (start < 0)
    start += dim;
  if (end < 0)
    end += dim;
  if (dim == 0)
    n = 0;
  else if (step > 0)
    {
      start = CLAMP (start, 0, dim);
      end = CLAMP (end, 0, dim);
      n = end > start ? (end - start - 1) / step + 1 : 0;
    }
  else
    {
      start = CLAMP (start, 0, dim - 1);
      end = CLAMP (end, -1, dim - 1);
      n = start > end ? (start - end - 1) / (-step) + 1 : 0;
    }
  *begin = n > 0 ? start : 0;
  *count = n;
  return TRUE;
}

gboolean
hippo__shape_resolve (int in_rank, const gint64 *in_dims, int rank,
                      const gint64 *target, gboolean allowzero, gint64 *out,
                      GError **error)
{
  guint64 in_n = 1, known = 1;
  int minus = -1;

  if (rank < 0 || rank > HIPPO_MAX_RANK)
    return hippo__fold_invalid (error, "a reshape to too many axes");
  for (int i = 0; i < in_rank; i++)
    in_n *= (guint64) in_dims[i];
  for (int i = 0; i < rank; i++)
    {
      gint64 d = target[i];

      if (d == 0 && !allowzero)
        {
          if (i >= in_rank)
            return hippo__fold_invalid (
              error, "a reshape copies a dimension its input "
                     "lacks");
          d = in_dims[i];
        }
      if (d == -1)
        {
          if (minus >= 0)
            return hippo__fold_invalid (error,
                                        "a reshape with two -1 dimensions");
          minus = i;
          out[i] = -1;
          continue;
        }
      if (d < 0 || (guint64) d > HIPPO_CONST_MAX_ELEMS)
        return hippo__fold_invalid (error, "a reshape dimension out of range");
      out[i] = d;
      known *= (guint64) d;
      if (known > HIPPO_CONST_MAX_ELEMS)
        return hippo__fold_invalid (error, "a reshape too large");
    }
  if (minus >= 0)
    {
      if (known == 0 || in_n % known != 0)
        return hippo__fold_invalid (error,
                                    "a reshape whose -1 dimension does not "
                                    "divide");
      out[minus] = (gint64) (in_n / known);
      known = in_n;
    }
  if (known != in_n)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID,
                   "a reshape of %" G_GUINT64_FORMAT
                   " values to %" G_GUINT64_FORMAT,
                   in_n, known);
      return FALSE;
    }
  return TRUE;
}
