/* Private: the compute kernels.  Each works on a range of output rows
 * ("pixels": index (image * h + y) * w + x) so the session can split a layer
 * across threads.  Tensors are NHWC float32. */
#ifndef HIPPO_KERNELS_H
#define HIPPO_KERNELS_H

#include "graph.h"

G_BEGIN_DECLS

/* Floats of per-thread scratch the convolution kernels may use. */
#define HIPPO_SCRATCH_FLOATS (1u << 20)

/* Shape of a node's input, per image. */
typedef struct
{
  int h, w, c;
} HippoShape;

/* Instruction sets the hand-vectorised kernels are compiled for. */
typedef enum
{
  HIPPO_ISA_GENERIC,
  HIPPO_ISA_AVX2,   /* AVX2 + FMA */
  HIPPO_ISA_AVX512, /* AVX-512 F, DQ, VL, BW */
} HippoIsa;

/* The best instruction set this CPU runs. */
HippoIsa hippo_isa_best (void);

/* hippo_isa_best(), or a lower one named by HIPPOTAG_ISA (generic, avx2,
 * avx512: tests run every variant; an unsupported one is ignored). */
HippoIsa hippo_isa_pick (void);

const char *hippo_isa_name (HippoIsa isa);

/* 3x3 depthwise conv with multiplier 1 and dilation 1 (any stride and
 * padding), with its clamp or no activation, for output rows [r0, r1);
 * FALSE (nothing done) for any other node. */
gboolean hippo_dw3x3_rows (HippoIsa isa, const HippoNode *node,
                           HippoShape in_shape, const float *in, float *out,
                           gint64 r0, gint64 r1, gboolean no_act);

/* Direct convolution (CONV with at most 4 input channels and at most 64
 * taps, a channel count that is a multiple of the variant's vector width,
 * a clamp or no activation) for output pixels [p0, p1), all channels;
 * FALSE (nothing done) for any other node, which then goes through
 * hippo_conv_pixels(). */
gboolean hippo_conv_stem_pixels (HippoIsa isa, const HippoNode *node,
                                 HippoShape in_shape, const float *in,
                                 float *out, gint64 p0, gint64 p1,
                                 gboolean no_act);

/* Applies an activation to n pixels of c channels, in place. */
void hippo_act_apply (float *p, gsize n_pixels, int c, HippoAct act,
                      float lo, float hi);

/* Convolution (CONV) for output pixels [p0, p1) and output channels
 * [c0, c1) (all of them unless the conv is 1x1); its activation is applied
 * unless no_act is TRUE. scratch holds HIPPO_SCRATCH_FLOATS floats. */
void hippo_conv_pixels (const HippoNode *node, HippoShape in_shape,
                        const float *in, float *out, gint64 p0, gint64 p1,
                        int c0, int c1, float *scratch, gboolean no_act);

/* How a 1x1 convolution multiplies (kernels-1x1.c).  Every path sums
 * each output over the input channels in one fixed order, whatever the
 * tiling (pixel blocks, channel ranges, batch, thread split): results are
 * bit-identical across batch sizes and thread counts, and OpenBLAS is not
 * involved (see kernels-1x1.c for the invariant of each path). */
typedef enum
{
  HIPPO_PATH_F32,      /* float32 FMA, our register-blocked kernel */
  HIPPO_PATH_BF16_EMU, /* bfloat16-rounded operands, the float32 kernel */
  HIPPO_PATH_BF16_DOT, /* AVX512-BF16 dot products (VDPBF16PS) */
  HIPPO_PATH_BF16_AMX, /* AMX-BF16 tiles (TDPBF16PS) */
} HippoPath;

/* A 1x1 conv's weights packed once for one path and instruction set. */
typedef struct _HippoPacked HippoPacked;
struct _HippoPacked
{
  HippoPath path;
  HippoIsa isa;
  int cin, cout;
  int k;          /* inner-loop steps: cin, or channel pairs (dot) */
  int nr;         /* columns per block of w (a multiple of the vector) */
  int nblocks;
  gsize ws;       /* elements of w per k step */
  gsize bstride;  /* elements of w between blocks */
  const void *w;  /* [nblocks][k][nr] floats (f32, emu: rounded) or pairs
                   * of bfloat16 (dot), 64-byte aligned in w_mem; or the
                   * node's own weights, one block with ws = cout */
  void *w_mem;
  const float *bias; /* cout floats or NULL */
  int kp;         /* AMX: cin rounded up to 32 */
  guint16 *tiles; /* AMX: [cout / 16 blocks][kp / 2][16][2] */
};

/* Rounds to bfloat16 (nearest even; below FLT_MIN to zero) and back. */
guint16 hippo_bf16_round (float f);
float hippo_bf16_to_float (guint16 h);

/* Whether this CPU has AMX-BF16 (and AVX-512 BF16) and the kernel lets
 * this process use the tile state (asked for here).  HIPPOTAG_NO_AMX=1 in
 * the environment answers FALSE, as on a CPU without AMX. */
gboolean hippo_bf16_amx_usable (void);

/* Whether this CPU has AVX512-BF16 (VDPBF16PS) with AVX-512 F/BW/VL. */
gboolean hippo__bf16_dot_usable (void);

/* The bfloat16 path a session with instruction set isa takes: the AMX
 * tiles where usable, else VDPBF16PS, else emulated (below avx512 always
 * emulated). */
HippoPath hippo__bf16_path (HippoIsa isa);

const char *hippo__path_name (HippoPath path);

/* Whether node is a CONV the packed kernels take (1x1, stride 1). */
gboolean hippo_packed_applies (const HippoNode *node);

/* Packs such a node's weights for path (HIPPO_PATH_BF16_DOT and _AMX need
 * isa avx512 and the CPU feature); NULL for any other node, or when the
 * memory cannot be had. */
HippoPacked *hippo__packed_new (const HippoNode *node, HippoIsa isa,
                                HippoPath path);
void hippo_packed_free (HippoPacked *packed);

/* Bytes of per-thread scratch hippo__conv1x1_packed() needs (0: none). */
gsize hippo_packed_scratch_bytes (const HippoPacked *packed);

/* hippo_conv_pixels() of a 1x1 conv through packed, for output pixels
 * [p0, p1) and channels [c0, c1); scratch holds
 * hippo_packed_scratch_bytes(). */
void hippo__conv1x1_packed (const HippoPacked *packed, const HippoNode *node,
                            const float *in, float *out, gint64 p0, gint64 p1,
                            int c0, int c1, void *scratch, gboolean no_act);

/* Internal to the packed kernels: rows [0, m) of a (row stride lda
 * elements: floats, or bfloat16 pairs for the dot path) times packed's
 * columns [c0, c1), bias added and clamped to [lo, hi], into c (row stride
 * ldc floats, column 0 at c), in packed's variant (kernels-1x1-gemm.c). */
void hippo__gemm_packed (const HippoPacked *packed, const void *a, gsize lda,
                         gint64 m, int c0, int c1, float *c, gsize ldc,
                         float lo, float hi);
/* Rows [0, m) of a (row stride cin floats) as bfloat16, rows of
 * (cin + 1) / 2 channel pairs (the odd channel's pair zero padded). */
void hippo__bf16_pairs (const float *a, int cin, gint64 m, guint32 *out);
/* AMX: the bfloat16 tile kernel of kernels-bf16.c. */
guint16 *hippo__amx_pack (const HippoNode *node, int *kp);
gsize hippo__amx_scratch_bytes (int kp);
void hippo__amx_conv1x1 (const HippoPacked *packed, const HippoNode *node,
                         const float *in, float *out, gint64 p0, gint64 p1,
                         int c0, int c1, void *scratch, float lo, float hi);

/* Whether n_threads should split a CONV over its output channels rather
 * than its pixels. */
gboolean hippo_conv_split_columns (const HippoNode *node, gint64 pixels,
                                   int n_threads);

/* Pixels a single GEMM call of CONV should cover at most (scratch limit). */
gint64 hippo_conv_max_rows (const HippoNode *node);

/* Depthwise convolution for output rows [r0, r1), a row being (image, y). */
void hippo_dwconv_rows (HippoIsa isa, const HippoNode *node,
                        HippoShape in_shape,
                        const float *in, float *out, gint64 r0, gint64 r1,
                        gboolean no_act);

/* Average / max pooling for output rows [r0, r1). */
void hippo_pool_rows (const HippoNode *node, HippoShape in_shape,
                      const float *in, float *out, gint64 r0, gint64 r1);

/* Zero padding for output rows [r0, r1). */
void hippo_pad_rows (const HippoNode *node, HippoShape in_shape,
                     const float *in, float *out, gint64 r0, gint64 r1);

/* Elementwise: ADD of node->n_inputs tensors, pixels [p0, p1). */
void hippo_add_pixels (const HippoNode *node, const float *const *ins,
                       float *out, gint64 p0, gint64 p1, gboolean no_act);

/* AFFINE (per-channel scale and shift), pixels [p0, p1). */
void hippo_affine_pixels (const HippoNode *node, const float *in, float *out,
                          gint64 p0, gint64 p1, gboolean no_act);

/* CONCAT along channels, pixels [p0, p1). */
void hippo_concat_pixels (const HippoNode *node, const float *const *ins,
                          const int *in_c, float *out, gint64 p0, gint64 p1);

/* Global average pool of one image: in h*w pixels of c channels -> c. */
void hippo_gap (const float *in, gsize hw, int c, float *out);

/* The activations after HIPPO_ACT_SOFTMAX on n values in place, with
 * alpha = act_lo and beta = act_hi (hippo_act_apply() calls it). */
void hippo__act_apply_extra (float *p, gsize n, HippoAct act, float alpha,
                            float beta);

/* The general tensor ops (kernels-tensor.c): whether node runs through
 * hippo_tensor_rows() (CONST and the ops after it, CONCAT and SOFTMAX on
 * an axis other than the last, PAD of any axis), its units of work per
 * image, and units [u0, u1) of a batch: ins[j] is input j of the first
 * image, each image's tensors following the one before; scratch holds
 * HIPPO_SCRATCH_FLOATS (GROUPCONV) floats; the node's fused activation is
 * applied unless no_act. */
gboolean hippo__tensor_op_applies (const HippoGraph *graph,
                                   const HippoNode *node);
gint64 hippo__tensor_units (const HippoGraph *graph, const HippoNode *node);
void hippo__tensor_rows (const HippoGraph *graph, const HippoNode *node,
                         const float *const *ins, float *out, gint64 u0,
                         gint64 u1, float *scratch, gboolean no_act);

/* hippo__tensor_rows() of REDUCE, SOFTMAX, LAYERNORM, MATMUL, GROUPCONV
 * and RESIZE (kernels-tensor-math.c). */
void hippo__tensor_math_rows (const HippoGraph *graph, const HippoNode *node,
                              const float *const *ins, float *out, gint64 u0,
                              gint64 u1, float *scratch, gboolean no_act);

/* Rows of a MATMUL unit of work. */
#define HIPPO_MATMUL_ROWS 128

/* Index helpers of the tensor kernels: tensors are row-major; a "row" is
 * the index of all axes but the last. */

static inline const HippoNode *
hippo__in_node (const HippoGraph *g, const HippoNode *node, int i)
{
  return g_ptr_array_index (g->nodes, node->inputs[i]);
}

static inline int
hippo__norm_axis (int axis, int rank)
{
  return axis < 0 ? axis + rank : axis;
}

/* Row-major strides of dims. */
static inline void
hippo__strides_of (int rank, const int *dims, gint64 *st)
{
  gint64 s = 1;

  for (int i = rank - 1; i >= 0; i--)
    {
      st[i] = s;
      s *= dims[i];
    }
}

/* Strides of a tensor of rank ri broadcast to rank r (aligned at the last
 * axis): 0 along the axes it lacks or has as 1. */
static inline void
hippo__bcast_strides (int r, int ri, const int *idims, gint64 *bs)
{
  gint64 s = 1;

  for (int i = r - 1; i >= 0; i--)
    {
      int k = i - (r - ri);

      if (k < 0)
        {
          bs[i] = 0;
          continue;
        }
      bs[i] = idims[k] == 1 ? 0 : s;
      s *= idims[k];
    }
}

/* The index of row `row` of dims (all axes but the last). */
static inline void
hippo__row_index (gint64 row, int rank, const int *dims, int *idx)
{
  for (int i = rank - 2; i >= 0; i--)
    {
      idx[i] = (int) (row % dims[i]);
      row /= dims[i];
    }
}

/* The next row index (odometer over all axes but the last). */
static inline void
hippo__row_next (int rank, const int *dims, int *idx)
{
  for (int i = rank - 2; i >= 0; i--)
    {
      if (++idx[i] < dims[i])
        return;
      idx[i] = 0;
    }
}

static inline gint64
hippo__row_offset (int rank, const int *idx, const gint64 *st)
{
  gint64 off = 0;

  for (int i = 0; i + 1 < rank; i++)
    off += idx[i] * st[i];
  return off;
}

/* Matrices of a MATMUL per image. */
static inline gint64
hippo__matmul_batch (const HippoNode *node)
{
  gint64 b = 1;

  for (int i = 0; i + 2 < node->rank; i++)
    b *= node->dims[i];
  return b;
}


G_END_DECLS

#endif /* HIPPO_KERNELS_H */
