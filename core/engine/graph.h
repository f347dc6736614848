/* Private: the engine's graph, what the model readers produce and the
 * executor runs.  NHWC float32; every tensor is [batch, h, w, c].
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

typedef enum
{
  HIPPO_OP_INPUT,     /* the image; no inputs */
  HIPPO_OP_CONV,      /* 2-D convolution; also Dense/MatMul as 1x1.
                       * weights [kh][kw][cin][cout] (HWIO), bias [cout] */
  HIPPO_OP_DWCONV,    /* depthwise conv; weights [kh][kw][cin*mult], output
                       * channel ci*mult + j; bias [cin*mult] */
  HIPPO_OP_AFFINE,    /* y = x * scale[c] + shift[c]: a BatchNormalization
                       * that could not be folded, Mul/Sub by constants */
  HIPPO_OP_ACT,       /* standalone activation (see act) */
  HIPPO_OP_ADD,       /* sum of n_inputs tensors of equal shape, then act */
  HIPPO_OP_CONCAT,    /* along channels, inputs in order */
  HIPPO_OP_AVGPOOL,   /* divisor = in-bounds pixels of the window */
  HIPPO_OP_MAXPOOL,   /* padding never wins */
  HIPPO_OP_GAP,       /* global average pool -> 1x1xc */
  HIPPO_OP_PAD,       /* zero padding pad_t/b/l/r */
  HIPPO_OP_SOFTMAX,   /* over channels, per pixel */
  HIPPO_OP_RESHAPE,   /* Flatten/Squeeze: same memory, new h/w/c */
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
} HippoAct;

typedef struct
{
  char *name;         /* as in the model file; owned by the graph */
  char *type;         /* the file's class or op name, e.g. "Conv2D" */
  HippoOp op;
  int n_inputs;
  int *inputs;        /* indices of earlier nodes (topological order) */
  int h, w, c;        /* output shape per image, filled by shape inference */

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

/* Looks a name up (exact, else a unique '/'-separated suffix). */
const HippoLayerRef *hippo_graph_find (const HippoGraph *graph,
                                       const char *name, GError **error);

/* Shape inference and validation over all nodes: fills h/w/c from inputs,
 * checks kernel/weights/channel agreement, limits and finite weights.
 * Readers call it once after building; the optimiser keeps shapes valid. */
gboolean hippo_graph_infer_shapes (HippoGraph *graph, GError **error);

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
