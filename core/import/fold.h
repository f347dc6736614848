/* Private: load-time constant evaluation for the model readers.
 *
 * Graph files compute much of what the engine needs from constants: the
 * shape subgraphs exporters emit (Shape -> Gather -> Unsqueeze -> Concat ->
 * Reshape, ConstantOfShape, Equal/Where on shapes...), weights transformed
 * by ops (a Transpose or Cast of an initialiser), scalar arithmetic.  Once
 * the input size is fixed, all of it is known at load.  A reader keeps the
 * value of every such tensor as a HippoConst and evaluates ops whose
 * inputs are all constants with the hippo__fold_*() functions below; only
 * ops on the image's values become engine nodes (engine/graph.h).
 *
 * How a reader uses it:
 *  - one HippoFold per load: it owns every HippoConst made through it, and
 *    bounds their total size (HIPPO_FOLD_MAX_ELEMS), so a file cannot make
 *    the load allocate without limit;
 *  - a tensor from the file (an initialiser, a Const node, a weights
 *    manifest entry) becomes a HippoConst with hippo__const_new() (and its
 *    values filled in), or hippo__const_new_ints()/_floats() for small ones;
 *  - the shape of an engine value (the reader knows it from
 *    hippo__graph_infer_node()) becomes a constant with
 *    hippo__const_new_ints(): that is how Shape folds;
 *  - each op then maps onto one hippo__fold_*() call; the reader resolves
 *    its own attribute conventions first (negative axes, ONNX Slice or TF
 *    StridedSlice bounds through hippo__slice_resolve(), Reshape's 0 and -1
 *    through hippo__shape_resolve(), which the engine's RESHAPE and SLICE
 *    nodes use too);
 *  - hippo__const_get_ints() reads a constant as axes, pads, sizes...
 *
 * Types: every constant is float32 or int64.  Integer types of the files
 * (int8 .. uint64, bool) are held as int64, float16, bfloat16 and float64
 * as float32.  Operations on a float and an int operand compute in float.
 * Integer arithmetic is checked: overflow and division by zero are errors
 * (HIPPO_ERROR_MODEL_INVALID), never undefined behaviour.  Every function
 * returns NULL (or FALSE) with a HIPPO_ERROR set on bad input; the error
 * does not name the node: the reader prefixes that.
 */
#ifndef HIPPO_FOLD_H
#define HIPPO_FOLD_H

#include <glib.h>

#include "engine/graph.h"

G_BEGIN_DECLS

/* Elements of all the constants made by folding during one load, and of
 * one constant. */
#define HIPPO_FOLD_MAX_ELEMS (G_GUINT64_CONSTANT (1) << 28)
#define HIPPO_CONST_MAX_ELEMS (G_GUINT64_CONSTANT (1) << 28)

typedef enum
{
  HIPPO_CONST_FLOAT,
  HIPPO_CONST_INT,
} HippoConstType;

typedef struct
{
  HippoConstType type;
  int rank;                    /* 0: a scalar */
  gint64 dims[HIPPO_MAX_RANK]; /* >= 0; a 0 makes an empty tensor */
  gsize n;                     /* product of dims (1 for a scalar) */
  float *f;                    /* FLOAT: n values, else NULL */
  gint64 *i;                   /* INT: n values, else NULL */
} HippoConst;

typedef struct _HippoFold HippoFold;

HippoFold *hippo__fold_new (void);
void hippo__fold_free (HippoFold *fold);

/* A new constant of that type and shape, zeroed, owned by fold; NULL with
 * HIPPO_ERROR_LIMIT when too large or the load's budget is spent, or
 * HIPPO_ERROR_MODEL_INVALID for a negative or huge dim or rank. */
HippoConst *hippo__const_new (HippoFold *fold, HippoConstType type, int rank,
                              const gint64 *dims, GError **error);

/* A rank-1 constant of n values (rank 0 when scalar is TRUE, n then 1). */
HippoConst *hippo__const_new_ints (HippoFold *fold, const gint64 *v, gsize n,
                                   gboolean scalar, GError **error);
HippoConst *hippo__const_new_floats (HippoFold *fold, const float *v, gsize n,
                                     gboolean scalar, GError **error);

/* Value k as a double / as an integer (a float must be integral then). */
double hippo__const_float_at (const HippoConst *c, gsize k);
gboolean hippo__const_int_at (const HippoConst *c, gsize k, gint64 *out);

/* All values as integers into out (at most max of them); FALSE with
 * HIPPO_ERROR_MODEL_INVALID when there are more, or a float is not
 * integral. */
gboolean hippo__const_get_ints (const HippoConst *c, gint64 *out, gsize max,
                                GError **error);

/* The values as float32, converted when INT: a pointer into c or into
 * memory owned by fold. */
const float *hippo__const_get_floats (HippoFold *fold, const HippoConst *c,
                                      GError **error);

/* Type conversion (float to int truncates toward zero; NaN or out of the
 * int64 range is an error). */
HippoConst *hippo__fold_cast (HippoFold *fold, const HippoConst *x,
                              HippoConstType type, GError **error);

/* Elementwise with numpy broadcasting: the engine's HippoBin functions
 * (comparisons give INT 0/1), and the integer-only ones below. */
typedef enum
{
  HIPPO_FOLD_MOD = HIPPO_BIN_N, /* sign of the divisor, like Python's % */
  HIPPO_FOLD_FMOD,              /* sign of the dividend, like C's % */
  HIPPO_FOLD_AND,
  HIPPO_FOLD_OR,
  HIPPO_FOLD_XOR,
} HippoFoldBin;

HippoConst *hippo__fold_binary (HippoFold *fold, int op, const HippoConst *a,
                                const HippoConst *b, GError **error);

/* Unary: a float activation of the engine (HippoAct with alpha/beta as in
 * graph.h), computed in float32 as the engine does; on INT constants
 * HIPPO_ACT_ABS and _NEG stay integers and the others convert to float.
 * HIPPO_ACT_N stands for logical not (INT 0/1). */
HippoConst *hippo__fold_unary (HippoFold *fold, HippoAct act, float alpha,
                               float beta, const HippoConst *x, GError **error);

/* cond != 0 ? a : b, broadcast. */
HippoConst *hippo__fold_where (HippoFold *fold, const HippoConst *cond,
                               const HippoConst *a, const HippoConst *b,
                               GError **error);

/* The same values with a new shape of the same element count. */
HippoConst *hippo__fold_reshape (HippoFold *fold, const HippoConst *x, int rank,
                                 const gint64 *dims, GError **error);

/* out dims[i] = x dims[perm[i]]. */
HippoConst *hippo__fold_transpose (HippoFold *fold, const HippoConst *x,
                                   const int *perm, GError **error);

/* Along axis (>= 0), all of rank x[0]->rank; scalars are taken as [1]
 * (TF.js Pack of scalars goes through hippo__fold_reshape() first). */
HippoConst *hippo__fold_concat (HippoFold *fold, const HippoConst *const *x,
                                int n, int axis, GError **error);

/* Canonical slice: per axis, count values from begin in steps of step
 * (non-zero), all in range (hippo__slice_resolve() makes them). */
HippoConst *hippo__fold_slice (HippoFold *fold, const HippoConst *x,
                               const gint64 *begin, const gint64 *step,
                               const gint64 *count, GError **error);

/* Takes along axis (>= 0) at the indices (INT, any shape; negative ones
 * count from the end): out shape = x dims before axis + indices dims +
 * x dims after. */
HippoConst *hippo__fold_gather (HippoFold *fold, const HippoConst *x,
                                const HippoConst *indices, int axis,
                                GError **error);

/* Broadcast to dims (numpy rules against x, as ONNX Expand). */
HippoConst *hippo__fold_expand (HippoFold *fold, const HippoConst *x, int rank,
                                const gint64 *dims, GError **error);

/* x repeated repeats[i] times along axis i. */
HippoConst *hippo__fold_tile (HippoFold *fold, const HippoConst *x,
                              const gint64 *repeats, GError **error);

/* Reduction over the axes in the bit mask (0: every axis). */
HippoConst *hippo__fold_reduce (HippoFold *fold, const HippoConst *x,
                                HippoReduce op, guint axes, gboolean keepdims,
                                GError **error);

/* start, start + delta, ... below limit (above when delta < 0), in the
 * type of start. */
HippoConst *hippo__fold_range (HippoFold *fold, const HippoConst *start,
                               const HippoConst *limit, const HippoConst *delta,
                               GError **error);

/* A tensor of the shape given by the INT values of shape, every element
 * value's single element (NULL: float 0). */
HippoConst *hippo__fold_constant_of_shape (HippoFold *fold,
                                           const HippoConst *shape,
                                           const HippoConst *value,
                                           GError **error);

/* Resolves a slice of one axis of size dim with numpy/ONNX bounds: start
 * and end negative count from the end, both clamped to the axis (to [0,
 * dim] for step > 0, [-1, dim - 1] for step < 0).  Gives the canonical
 * begin and count (0 for an empty slice; begin 0 then). */
gboolean hippo__slice_resolve (gint64 dim, gint64 start, gint64 end,
                               gint64 step, gint64 *begin, gint64 *count,
                               GError **error);

/* Resolves a Reshape target against an input shape: a 0 copies the input
 * dim at that index (unless allowzero), one -1 takes the rest.  FALSE
 * with HIPPO_ERROR_MODEL_INVALID when the counts differ or the target is
 * malformed. */
gboolean hippo__shape_resolve (int in_rank, const gint64 *in_dims, int rank,
                               const gint64 *target, gboolean allowzero,
                               gint64 *out, GError **error);

/* Shared by fold.c and fold-layout.c. */

/* n zeroed elements of size bytes counted against fold's budget. */
gpointer hippo__fold_alloc (HippoFold *fold, gsize n, gsize size,
                            GError **error);

static inline gboolean
hippo__fold_invalid (GError **error, const char *what)
{
  g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_INVALID, "%s", what);
  return FALSE;
}

static inline HippoConst *
hippo__fold_new_like (HippoFold *fold, const HippoConst *x, HippoConstType type,
                      GError **error)
{
  return hippo__const_new (fold, type, x->rank, x->dims, error);
}

/* Strides of x broadcast to out's rank r (0 along missing or 1 axes). */
static inline void
hippo__fold_bcast_strides (int r, const HippoConst *x, gint64 *st)
{
  gint64 s = 1;

  for (int i = r - 1; i >= 0; i--)
    {
      int k = i - (r - x->rank);

      if (k < 0 || x->dims[k] == 1)
        st[i] = 0;
      else
        st[i] = s;
      if (k >= 0)
        s *= x->dims[k];
    }
}

static inline gboolean
hippo__fold_bcast_shape (const HippoConst *a, const HippoConst *b, int *rank,
                         gint64 *out, GError **error)
{
  int r = MAX (a->rank, b->rank);

  for (int i = 0; i < r; i++)
    {
      gint64 da = i < r - a->rank ? 1 : a->dims[i - (r - a->rank)];
      gint64 db = i < r - b->rank ? 1 : b->dims[i - (r - b->rank)];

      if (da != db && da != 1 && db != 1)
        return hippo__fold_invalid (error, "constants that do not broadcast");
      out[i] = da == 1 ? db : da;
    }
  *rank = r;
  return TRUE;
}

/* Offset of element k of a tensor of rank r and dims d in a tensor with
 * (broadcast) strides st. */
static inline gint64
hippo__fold_bcast_offset (gsize k, int r, const gint64 *d, const gint64 *st)
{
  gint64 off = 0;

  for (int i = r - 1; i >= 0; i--)
    {
      off += (gint64) (k % d[i]) * st[i];
      k /= d[i];
    }
  return off;
}

/* Element k of src into element j of dst (same type). */
static inline inline void
hippo__fold_copy_elem (HippoConst *dst, gsize j, const HippoConst *src, gsize k)
{
  if (dst->type == HIPPO_CONST_INT)
    dst->i[j] = src->i[k];
  else
    dst->f[j] = src->f[k];
}

static inline void
hippo__fold_strides_of (int rank, const gint64 *dims, gint64 *st)
{
  gint64 s = 1;

  for (int i = rank - 1; i >= 0; i--)
    {
      st[i] = s;
      s *= dims[i];
    }
}

G_END_DECLS

#endif /* HIPPO_FOLD_H */
