/* Private: the engine's graph, what the model readers produce and the
 * executor runs.
 *
 * Tensors are float32, row-major, one per image: a node's output has the
 * shape dims[0..rank) for each image of a batch, and the images of a batch
 * follow each other in memory.  The shape has no batch axis of its own
 * (the ONNX reader keeps the file's unit batch axis as dims[0]).  Spatial
 * ops (CONV, GROUPCONV, DWCONV, the pools, GAP, RESIZE and the
 * legacy PAD) read [.., H, W, C] (channels last; every axis before H is 1),
 * which is also how the ONNX reader lays out NCHW values: it transposes
 * weights at import and remaps the axes of layout-sensitive ops instead
 * (core/import/onnx-*.c).
 *
 * h, w and c view any shape as rows of channels: c = dims[rank - 1],
 * w = dims[rank - 2] (1 when rank < 2) and h = the product of the dims
 * before (1 when rank < 3), so h * w * c is the element count.  Kernels
 * that work on "pixels" (h * w rows of c values) thus take any shape.
 *
 * Readers add nodes with hippo_graph_add_node(), set the op's parameters
 * (below) and may call hippo__graph_infer_node() at once to learn the output
 * shape; hippo_graph_infer_shapes() checks the whole graph at the end.  The
 * TF.js readers leave rank at 0: every op then infers its output from its
 * input as before (rank 3, [h, w, c]).
 */
#ifndef HIPPO_GRAPH_H
#define HIPPO_GRAPH_H

#include <glib.h>
#include "hippotag/hippotag-common.h"

G_BEGIN_DECLS

/* Safety limits on what a model file may ask for. */
#define HIPPO_MAX_NODES 100000
#define HIPPO_MAX_DIM 65536              /* any single dimension */
#define HIPPO_MAX_KERNEL 64              /* kernel height or width */
#define HIPPO_MAX_STRIDE 64
#define HIPPO_MAX_ELEMS_PER_TENSOR (G_GUINT64_CONSTANT (1) << 28) /* per image */
#define HIPPO_MAX_PARAMS (G_GUINT64_CONSTANT (1) << 30)           /* floats */
#ifndef HIPPO_MAX_RANK
#define HIPPO_MAX_RANK 8                 /* axes of a tensor */
#endif
#define HIPPO_MAX_GATHER 65536           /* indices of a GATHER */

typedef enum
{
  HIPPO_OP_INPUT,     /* the image; no inputs */
  HIPPO_OP_CONV,      /* 2-D convolution; also Dense/MatMul as 1x1.
                       * weights [kh][kw][cin][cout] (HWIO), bias [cout] */
  HIPPO_OP_DWCONV,    /* depthwise conv; weights [kh][kw][cin*mult], output
                       * channel ci*mult + j; bias [cin*mult] */
  HIPPO_OP_AFFINE,    /* y = x * scale[c] + shift[c] along the last axis: a
                       * BatchNormalization that could not be folded,
                       * Mul/Sub by per-channel constants */
  HIPPO_OP_ACT,       /* standalone activation (see act) */
  HIPPO_OP_ADD,       /* sum of n_inputs tensors of equal shape, then act */
  HIPPO_OP_CONCAT,    /* along axis (default: the last), inputs in order */
  HIPPO_OP_AVGPOOL,   /* divisor = in-bounds pixels of the window */
  HIPPO_OP_MAXPOOL,   /* padding never wins */
  HIPPO_OP_GAP,       /* global average pool -> 1x1xc */
  HIPPO_OP_PAD,       /* zero padding pad_t/b/l/r of H and W; or, with
                       * n_pads > 0, pad_before/after of every axis with
                       * pad_mode and value */
  HIPPO_OP_SOFTMAX,   /* over axis (default: the last) */
  HIPPO_OP_RESHAPE,   /* same values, new shape: shape[0..shape_rank); with
                       * shape_rank 0, flattened to [1, 1, n] */
  /* Added for transformers and general graphs (ONNX, TF.js graph ops). */
  HIPPO_OP_CONST,     /* no inputs: the tensor weights of shape shape[] */
  HIPPO_OP_GROUPCONV, /* CONV in groups: input channels in groups of cin,
                       * output channels in groups of c / groups; weights
                       * [kh][kw][cin][c] (group g uses columns g * c /
                       * groups ..), bias [c] */
  HIPPO_OP_BINARY,    /* bin (a, b), numpy broadcasting: two inputs, or one
                       * input and the constant weights of shape wdims[0..
                       * wrank) (const_first: the constant is a), then act */
  HIPPO_OP_WHERE,     /* inputs cond, a, b broadcast: cond != 0 ? a : b */
  HIPPO_OP_MATMUL,    /* A [.., M, K] x B [.., K, N] (trans_b: B is
                       * [.., N, K]), batch axes broadcast; then act */
  HIPPO_OP_TRANSPOSE, /* out dims[i] = in dims[perm[i]] */
  HIPPO_OP_SLICE,     /* out[i..] = in[begin + i * step ..] per axis; the
                       * counts are shape[] */
  HIPPO_OP_GATHER,    /* along axis, the constant indices index[0..
                       * n_index) (each in range) */
  HIPPO_OP_REDUCE,    /* reduce over the axes in the bit mask axes;
                       * keepdims keeps them as 1 */
  HIPPO_OP_LAYERNORM, /* (x - mean) / sqrt (var + value) over the axes from
                       * axis on, times weights, plus bias (may be NULL),
                       * each of the normalised size */
  HIPPO_OP_RESIZE,    /* [.., H, W, C] -> [.., shape[0], shape[1], C] with
                       * resize_mode and coord (see HippoResize) */
  HIPPO_OP_EXPAND,    /* broadcast to shape[0..shape_rank) (numpy rules
                       * against the input) */
  HIPPO_OP_N_OPS
} HippoOp;

typedef enum
{
  HIPPO_ACT_NONE,
  HIPPO_ACT_CLAMP,    /* y = min(max(x, act_lo), act_hi): ReLU, ReLU6 */
  HIPPO_ACT_SIGMOID,
  HIPPO_ACT_TANH,
  HIPPO_ACT_SOFTMAX,  /* over channels; only as the fused activation of a
                       * 1x1 CONV made from Dense */
  /* Parametrised ones take their parameters from act_lo (alpha) and
   * act_hi (beta). */
  HIPPO_ACT_LEAKY,    /* x < 0 ? alpha * x : x */
  HIPPO_ACT_ELU,      /* x < 0 ? alpha * (exp (x) - 1) : x */
  HIPPO_ACT_HARDSIGMOID, /* clamp (alpha * x + beta, 0, 1) */
  HIPPO_ACT_HARDSWISH, /* x * clamp (x / 6 + 1 / 2, 0, 1) */
  HIPPO_ACT_GELU,     /* x / 2 * (1 + erf (x / sqrt 2)) */
  HIPPO_ACT_GELU_TANH, /* the tanh approximation of GELU */
  HIPPO_ACT_SILU,     /* x * sigmoid (x) */
  HIPPO_ACT_ERF,
  HIPPO_ACT_SQRT,
  HIPPO_ACT_EXP,
  HIPPO_ACT_LOG,
  HIPPO_ACT_ABS,
  HIPPO_ACT_NEG,
  HIPPO_ACT_RECIP,    /* 1 / x */
  HIPPO_ACT_SOFTPLUS, /* log (1 + exp (x)) */
  HIPPO_ACT_FLOOR,
  HIPPO_ACT_CEIL,
  HIPPO_ACT_N
} HippoAct;

/* HIPPO_OP_BINARY's functions. */
typedef enum
{
  HIPPO_BIN_ADD,
  HIPPO_BIN_SUB,
  HIPPO_BIN_MUL,
  HIPPO_BIN_DIV,
  HIPPO_BIN_MAX,
  HIPPO_BIN_MIN,
  HIPPO_BIN_POW,
  HIPPO_BIN_PRELU,    /* a < 0 ? a * b : a */
  HIPPO_BIN_EQUAL,    /* 1 or 0 */
  HIPPO_BIN_LESS,
  HIPPO_BIN_GREATER,
  HIPPO_BIN_SQDIFF,   /* (a - b)^2 */
  HIPPO_BIN_N
} HippoBin;

/* HIPPO_OP_REDUCE's functions. */
typedef enum
{
  HIPPO_REDUCE_MEAN,
  HIPPO_REDUCE_SUM,
  HIPPO_REDUCE_MAX,
  HIPPO_REDUCE_MIN,
  HIPPO_REDUCE_PROD,
  HIPPO_REDUCE_N
} HippoReduce;

/* HIPPO_OP_PAD's modes. */
typedef enum
{
  HIPPO_PAD_CONSTANT, /* value */
  HIPPO_PAD_REFLECT,  /* mirrored without the edge (pad < dim) */
  HIPPO_PAD_EDGE,     /* the edge repeated */
} HippoPadMode;

/* HIPPO_OP_RESIZE: the interpolation and how output pixel x maps to an
 * input position (scale = out / in unless resize_scale_h/w are set). */
typedef enum
{
  HIPPO_RESIZE_NEAREST_ROUND_PREFER_FLOOR, /* ONNX nearest modes */
  HIPPO_RESIZE_NEAREST_ROUND_PREFER_CEIL,
  HIPPO_RESIZE_NEAREST_FLOOR,
  HIPPO_RESIZE_NEAREST_CEIL,
  HIPPO_RESIZE_LINEAR,                     /* bilinear */
} HippoResizeMode;

typedef enum
{
  HIPPO_COORD_HALF_PIXEL,         /* (x + 0.5) / scale - 0.5 */
  HIPPO_COORD_PYTORCH_HALF_PIXEL, /* the same, 0 when the output is 1 */
  HIPPO_COORD_ALIGN_CORNERS,      /* x * (in - 1) / (out - 1) */
  HIPPO_COORD_ASYMMETRIC,         /* x / scale */
  HIPPO_COORD_TF_HALF_PIXEL_FOR_NN, /* (x + 0.5) / scale */
} HippoCoord;

typedef struct
{
  char *name;         /* as in the model file; owned by the graph */
  char *type;         /* the file's class or op name, e.g. "Conv2D" */
  HippoOp op;
  int n_inputs;
  int *inputs;        /* indices of earlier nodes (topological order) */
  int rank;           /* output shape per image, filled by shape inference */
  int dims[HIPPO_MAX_RANK];
  int h, w, c;        /* the same shape as rows of channels (see above) */

  /* CONV, DWCONV, AVGPOOL, MAXPOOL, PAD */
  int kh, kw;         /* kernel / window */
  int sh, sw;         /* strides */
  int dh, dw;         /* dilations (conv only) */
  int pad_t, pad_b, pad_l, pad_r; /* explicit; readers resolve 'same' */
  int mult;           /* DWCONV channel multiplier */
  int cin;            /* CONV/DWCONV input channels the weights expect */

  /* Fused or standalone activation: CONV, DWCONV, AFFINE, ADD, ACT */
  HippoAct act;
  float act_lo, act_hi;

  float *weights;     /* owned by the graph (see hippo_graph_alloc) */
  float *bias;        /* may be NULL */
  float *scale;       /* AFFINE */
  float *shift;       /* AFFINE */

  /* The ops added for general graphs.  hippo_graph_add_node() sets axis to
   * -1 (the last), groups to 1, resize_scale_h/w to 0 (out / in). */
  int groups;         /* GROUPCONV */
  int axis;           /* CONCAT, SOFTMAX, GATHER, LAYERNORM; negative:
                       * counted from the end */
  int shape_rank;     /* RESHAPE, EXPAND, CONST, SLICE (= rank), RESIZE (2) */
  int shape[HIPPO_MAX_RANK];
  int perm[HIPPO_MAX_RANK];       /* TRANSPOSE */
  int begin[HIPPO_MAX_RANK];      /* SLICE */
  int step[HIPPO_MAX_RANK];       /* SLICE; non-zero, may be negative */
  int n_pads;                     /* PAD: 0 (legacy pad_t/b/l/r) or rank */
  int pad_before[HIPPO_MAX_RANK]; /* PAD */
  int pad_after[HIPPO_MAX_RANK];  /* PAD */
  HippoPadMode pad_mode;          /* PAD */
  float value;        /* PAD constant, LAYERNORM epsilon */
  HippoBin bin;       /* BINARY */
  gboolean const_first; /* BINARY: the constant is the first operand */
  int wrank;          /* BINARY: the constant's shape */
  int wdims[HIPPO_MAX_RANK];
  gboolean trans_b;   /* MATMUL */
  int *index;         /* GATHER: owned by the graph */
  int n_index;
  guint axes;         /* REDUCE: bit i = axis i */
  gboolean keepdims;  /* REDUCE */
  HippoReduce reduce; /* REDUCE */
  HippoResizeMode resize_mode;    /* RESIZE */
  HippoCoord coord;               /* RESIZE */
  float resize_scale_h, resize_scale_w; /* RESIZE; 0: out / in */
} HippoNode;

/* Where a name points after optimisation. */
typedef enum
{
  HIPPO_TAP_OUTPUT,   /* the node's output after its fused activation */
  HIPPO_TAP_PREACT,   /* the node's output before its fused activation */
  HIPPO_TAP_FOLDED,   /* gone: folded into the node (e.g. conv before BN) */
} HippoTapKind;

typedef struct
{
  char *name;         /* owned by the graph */
  char *type;         /* owned by the graph */
  int node;
  HippoTapKind kind;
} HippoLayerRef;

typedef struct
{
  GPtrArray *nodes;        /* HippoNode*, topological order; nodes[0] is
                            * the INPUT */
  GArray *layers;          /* HippoLayerRef: every named layer of the file,
                            * in file order */
  GHashTable *by_name;     /* name -> index into layers */
  GPtrArray *blocks;       /* owned float buffers */
  GStringChunk *strings;
  int in_h, in_w, in_c;
  int in_rank;             /* 3 ([h, w, c], the default when 0) or 4 ([1,
                            * h, w, c], the ONNX reader's) */
  int output;              /* node of the model's final output */
  guint64 n_params;        /* weights as stored in the file */
  guint8 *chunk;           /* free part of the block hippo_graph_alloc */
  gsize chunk_left;        /* cuts large buffers from, and its size */
} HippoGraph;

HippoGraph *hippo_graph_new (void);
void hippo_graph_free (HippoGraph *graph);

/* Allocates n floats owned by the graph (zeroed); NULL with
 * HIPPO_ERROR_LIMIT when too large. */
float *hippo_graph_alloc (HippoGraph *graph, gsize n, GError **error);

/* Interns a string in the graph. */
char *hippo_graph_intern (HippoGraph *graph, const char *s);

/* Appends a node with the given name, type and inputs (copied) and returns
 * it, zeroed otherwise (strides and dilations 1, mult 1, act_lo -inf,
 * act_hi +inf); registers the name as a layer that points to the node.
 * Fails (HIPPO_ERROR_MODEL_INVALID) on a duplicate name, an input index that
 * is not an earlier node, or too many nodes. */
HippoNode *hippo_graph_add_node (HippoGraph *graph, const char *name,
                                 const char *type, HippoOp op,
                                 const int *inputs, int n_inputs,
                                 GError **error);

/* Registers another name for the output of node (Dropout, Identity, a
 * folded BN...). */
gboolean hippo_graph_add_alias (HippoGraph *graph, const char *name,
                                const char *type, int node,
                                HippoTapKind kind, GError **error);

/* Allocates n ints owned by the graph (zeroed; GATHER indices); NULL with
 * HIPPO_ERROR_LIMIT when too large. */
int *hippo__graph_alloc_ints (HippoGraph *graph, gsize n, GError **error);

/* Sets node->rank and node->dims (copied) and the h, w, c view. */
void hippo__node_set_dims (HippoNode *node, int rank, const int *dims);

/* Element count of a node's output per image. */
guint64 hippo__node_numel (const HippoNode *node);

/* Looks a name up (exact, else a unique '/'-separated suffix). */
const HippoLayerRef *hippo_graph_find (const HippoGraph *graph,
                                       const char *name, GError **error);

/* Shape inference and validation over all nodes: fills rank/dims and
 * h/w/c from inputs, checks kernel/weights/channel agreement, parameters,
 * limits and finite weights.  Readers call it once after building; the
 * optimiser keeps shapes valid. */
gboolean hippo_graph_infer_shapes (HippoGraph *graph, GError **error);

/* The same for node index alone (its inputs inferred already): readers
 * call it right after adding a node to learn its output shape. */
gboolean hippo__graph_infer_node (HippoGraph *graph, int index,
                                 GError **error);

/* Broadcasts shapes a and b (numpy rules, aligned at the last axis) into
 * out (rank MAX (ra, rb)); FALSE when they do not broadcast. */
gboolean hippo__broadcast_dims (int ra, const int *a, int rb, const int *b,
                               int *rank, int *out);

/* Folds AFFINE into a preceding CONV/DWCONV used only by it, PAD into a
 * following CONV/DWCONV, and activations into their producer; keeps every
 * name reachable through its HippoLayerRef.  Requires inferred shapes. */
gboolean hippo_graph_optimize (HippoGraph *graph, GError **error);

/* Resolves Keras/TF "same" padding for one axis: total = max((ceil(in/s) -
 * 1) * s + (k - 1) * d + 1 - in, 0); before = total / 2, after = rest. */
void hippo_same_padding (int in, int k, int s, int d, int *before,
                         int *after);

G_END_DECLS

#endif /* HIPPO_GRAPH_H */
