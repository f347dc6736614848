/* 1x1 convolutions (37 of MobileNetV2's layers, about 85 % of its
 * multiply-adds) in our own kernels, with the weights packed once per
 * session, as ONNX Runtime's MLAS does, instead of inside every sgemm call.
 *
 * The weights of a layer are laid out in blocks of nr output channels
 * ([block][k][nr], nr = 32 for AVX-512, 16 otherwise), so the inner loop
 * streams them.  A call walks the pixels in tiles whose input rows stay in
 * L2 (kernels-1x1-gemm.c then multiplies each tile by every block of
 * channels in register blocks); the bias and the clamp are applied as the
 * accumulators are stored, so each output is written once.
 *
 * The invariant.  Every output is
 *     clamp (bias + sum over k = 0 .. cin-1 of x[k] * w[k])
 * with the sum taken in that one order, starting from zero, one rounding
 * per step (an FMA; a multiply and an add in the generic variant), then
 * the bias added, then the clamp.  No step depends on how the pixels or
 * channels were tiled, on the batch, on the thread split or on OpenBLAS,
 * so a session's results are bit-identical whatever the batch and the
 * thread count, in every precision:
 *   float32      FMA in input-channel order; the AVX-512 and AVX2 variants
 *                give identical bits (same FMAs, same order); the generic
 *                one rounds products separately (within 1e-5 relative).
 *   bfloat16     activations and weights rounded to bfloat16 (nearest
 *                even, below FLT_MIN to zero); products of two bfloat16
 *                values are exact in float32, so the emulated path (the
 *                float32 kernel on rounded operands) gives identical bits
 *                in every variant, generic included (unless a product
 *                underflows below FLT_MIN).  VDPBF16PS (AVX512-BF16) sums
 *                channel pairs in order, each pair as the CPU defines, and
 *                flushes denormals; the AMX tiles sum in their own order:
 *                each path is exact across batch and threads on its CPU,
 *                and the paths agree within 1e-5 of the sum of absolute
 *                products (tests/test-kernels.c).
 * Across CPUs and variants the network's results then agree within the
 * tolerances of tests/test-reference.c (float32 1e-4 of each layer's range
 * against TensorFlow.js, bfloat16 0.05). */
#include "hippo-config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

/* Bytes of input rows a tile covers: the tile stays in L2 while every
 * block of output channels passes over it. */
#define TILE_BYTES (192 * 1024)
/* Most pixels per tile (the rounded or converted tile is the scratch). */
#define TILE_ROWS 448

gboolean
hippo_packed_applies (const HippoNode *node)
{
  return node->op == HIPPO_OP_CONV && hippo_conv_max_rows (node) == G_MAXINT64
         && node->cin >= 1 && node->c >= 1;
}

const char *
hippo__path_name (HippoPath path)
{
  switch (path)
    {
      case HIPPO_PATH_F32:
        return "float32";
      case HIPPO_PATH_BF16_EMU:
        return "bf16 emulated";
      case HIPPO_PATH_BF16_DOT:
        return "bf16 AVX512-BF16";
      case HIPPO_PATH_BF16_AMX:
        return "bf16 AMX tiles";
    }
  return "?";
}

HippoPath
hippo__bf16_path (HippoIsa isa)
{
  if (isa != HIPPO_ISA_AVX512)
    return HIPPO_PATH_BF16_EMU;
  if (hippo_bf16_amx_usable ())
    return HIPPO_PATH_BF16_AMX;
  if (hippo__bf16_dot_usable ())
    return HIPPO_PATH_BF16_DOT;
  return HIPPO_PATH_BF16_EMU;
}

/* Rows per register block of the variant (see kernels-1x1-gemm.c). */
static int
micro_rows (const HippoPacked *pk)
{
  switch (pk->isa)
    {
      case HIPPO_ISA_AVX512:
        return 14;
      case HIPPO_ISA_AVX2:
        return 6;
      default:
        return 4;
    }
}

/* Pixels per tile for this layer: a multiple of the register block. */
static gint64
tile_rows (const HippoPacked *pk)
{
  gsize row = (gsize) pk->k * 4;
  gint64 mr = micro_rows (pk);
  gint64 n = (gint64) (TILE_BYTES / row) / mr * mr;

  return CLAMP (n, mr, TILE_ROWS / mr * mr);
}

static guint32
pair_of (const float *w, gsize stride, int k, int cin)
{
  guint32 lo = hippo_bf16_round (w[(gsize) k * stride]);
  guint32 hi = k + 1 < cin ? hippo_bf16_round (w[(gsize) (k + 1) * stride]) : 0;

  return lo | hi << 16;
}

HippoPacked *
hippo__packed_new (const HippoNode *node, HippoIsa isa, HippoPath path)
{
  HippoPacked *pk;
  int cin = node->cin, cout = node->c;
  gsize n;
  void *dst;

  if (!hippo_packed_applies (node))
    return NULL;
  if ((path == HIPPO_PATH_BF16_DOT || path == HIPPO_PATH_BF16_AMX)
      && isa != HIPPO_ISA_AVX512)
    return NULL;
  if ((path == HIPPO_PATH_BF16_DOT && !hippo__bf16_dot_usable ())
      || (path == HIPPO_PATH_BF16_AMX && !hippo_bf16_amx_usable ()))
    return NULL;
  pk = g_new0 (HippoPacked, 1);
  pk->path = path;
  pk->isa = isa;
  pk->cin = cin;
  pk->cout = cout;
  if (path == HIPPO_PATH_BF16_AMX)
    {
      pk->tiles = hippo__amx_pack (node, &pk->kp);
      if (pk->tiles == NULL)
        {
          g_free (pk);
          return NULL;
        }
      return pk;
    }
  pk->k = path == HIPPO_PATH_BF16_DOT ? (cin + 1) / 2 : cin;
  pk->bias = node->bias;
  pk->nr = isa == HIPPO_ISA_AVX512 ? 32 : 16;
  pk->nblocks = (cout + pk->nr - 1) / pk->nr;
  pk->ws = pk->nr;
  pk->bstride = (gsize) pk->k * pk->nr;
  n = (gsize) pk->nblocks * pk->k * pk->nr;
  /* 64-byte aligned (g_malloc gives 16): blocks start on cache lines */
  pk->w_mem = g_try_malloc0 (n * 4 + 64);
  if (pk->w_mem == NULL)
    {
      hippo_packed_free (pk);
      return NULL;
    }
  dst = (void *) (((guintptr) pk->w_mem + 63) & ~(guintptr) 63);
  pk->w = dst;
  for (int b = 0; b < pk->nblocks; b++)
    for (int k = 0; k < pk->k; k++)
      for (int j = 0; j < pk->nr && b * pk->nr + j < cout; j++)
        {
          gsize at = ((gsize) b * pk->k + k) * pk->nr + j;
          int col = b * pk->nr + j;

          if (path == HIPPO_PATH_BF16_DOT)
            ((guint32 *) dst)[at]
              = pair_of (node->weights + col, cout, 2 * k, cin);
          else
            {
              float v = node->weights[(gsize) k * cout + col];
              if (path == HIPPO_PATH_BF16_EMU)
                v = hippo_bf16_to_float (hippo_bf16_round (v));
              ((float *) dst)[at] = v;
            }
        }
  return pk;
}

void
hippo_packed_free (HippoPacked *pk)
{
  if (pk == NULL)
    return;
  g_free (pk->tiles);
  g_free (pk->w_mem);
  g_free (pk);
}

gsize
hippo_packed_scratch_bytes (const HippoPacked *pk)
{
  switch (pk->path)
    {
      case HIPPO_PATH_BF16_AMX:
        return hippo__amx_scratch_bytes (pk->kp);
      case HIPPO_PATH_BF16_EMU:
      case HIPPO_PATH_BF16_DOT:
        return (gsize) tile_rows (pk) * pk->k * 4 + 64;
      default:
        return 0;
    }
}

/* Rounds n floats to bfloat16 and back, exactly as hippo_bf16_round(). */
static void
round_rows (const float *restrict in, float *restrict out, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      guint32 u;

      memcpy (&u, &in[i], 4);
      if ((u & 0x7f800000u) == 0)
        u &= 0x80000000u; /* below FLT_MIN: a zero of its sign */
      else if ((u & 0x7fffffffu) > 0x7f800000u)
        u |= 0x00400000u; /* NaN stays NaN */
      else
        u += 0x7fffu + ((u >> 16) & 1u);
      u &= 0xffff0000u;
      memcpy (&out[i], &u, 4);
    }
}

void
hippo__conv1x1_packed (const HippoPacked *pk, const HippoNode *node,
                       const float *in, float *out, gint64 p0, gint64 p1,
                       int c0, int c1, void *scratch, gboolean no_act)
{
  float lo = -INFINITY, hi = INFINITY;
  int cin = pk->cin, cout = pk->cout;
  void *buf = (void *) (((guintptr) scratch + 63) & ~(guintptr) 63);

  g_return_if_fail (0 <= c0 && c0 < c1 && c1 <= cout);
  if (p0 >= p1)
    return;
  if (!no_act && node->act == HIPPO_ACT_CLAMP)
    {
      lo = node->act_lo;
      hi = node->act_hi;
    }
  if (pk->path == HIPPO_PATH_BF16_AMX)
    hippo__amx_conv1x1 (pk, node, in, out, p0, p1, c0, c1, scratch, lo, hi);
  else
    {
      gint64 step = tile_rows (pk);

      for (gint64 p = p0; p < p1; p += step)
        {
          gint64 m = MIN (step, p1 - p);
          const float *a = in + p * cin;

          switch (pk->path)
            {
              case HIPPO_PATH_BF16_EMU:
                round_rows (a, buf, (gsize) m * cin);
                hippo__gemm_packed (pk, buf, cin, m, c0, c1, out + p * cout,
                                    cout, lo, hi);
                break;
              case HIPPO_PATH_BF16_DOT:
                hippo__bf16_pairs (a, cin, m, buf);
                hippo__gemm_packed (pk, buf, pk->k, m, c0, c1, out + p * cout,
                                    cout, lo, hi);
                break;
              default:
                hippo__gemm_packed (pk, a, cin, m, c0, c1, out + p * cout, cout,
                                    lo, hi);
                break;
            }
        }
    }
  if (!no_act && node->act != HIPPO_ACT_CLAMP && node->act != HIPPO_ACT_NONE)
    for (gint64 r = p0; r < p1; r++)
      hippo_act_apply (out + r * cout + c0, 1, c1 - c0, node->act, node->act_lo,
                       node->act_hi);
}
