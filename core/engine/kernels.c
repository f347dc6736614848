/* Compute kernels: convolution through OpenBLAS sgemm (1x1 directly, the
 * rest through im2col), our own depthwise, pooling and elementwise kernels.
 * The hot loops are compiled for AVX-512, AVX2 and plain x86-64, picked at
 * run time (target_clones); other CPUs get the portable build. */
#include "hippo-config.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) \
  && !defined(HIPPO_NO_CLONES)
#define HIPPO_CLONES \
  __attribute__ ((target_clones ("arch=x86-64-v4", "arch=x86-64-v3", \
                                 "default")))
#else
#define HIPPO_CLONES
#endif

HIPPO_CLONES static void
clamp_inplace (float *restrict p, gsize n, float lo, float hi)
{
  for (gsize i = 0; i < n; i++)
    {
      float v = p[i];
      v = v < lo ? lo : v;
      p[i] = v > hi ? hi : v;
    }
}

static void
softmax_pixels (float *p, gsize n_pixels, int c)
{
  for (gsize i = 0; i < n_pixels; i++, p += c)
    {
      float m = p[0], s = 0.f;
      for (int k = 1; k < c; k++)
        m = p[k] > m ? p[k] : m;
      for (int k = 0; k < c; k++)
        {
          p[k] = expf (p[k] - m);
          s += p[k];
        }
      for (int k = 0; k < c; k++)
        p[k] /= s;
    }
}

void
hippo_act_apply (float *p, gsize n_pixels, int c, HippoAct act, float lo,
                 float hi)
{
  gsize n = n_pixels * (gsize) c;

  switch (act)
    {
    case HIPPO_ACT_NONE:
      break;
    case HIPPO_ACT_CLAMP:
      clamp_inplace (p, n, lo, hi);
      break;
    case HIPPO_ACT_SIGMOID:
      for (gsize i = 0; i < n; i++)
        p[i] = 1.f / (1.f + expf (-p[i]));
      break;
    case HIPPO_ACT_TANH:
      for (gsize i = 0; i < n; i++)
        p[i] = tanhf (p[i]);
      break;
    case HIPPO_ACT_SOFTMAX:
      softmax_pixels (p, n_pixels, c);
      break;
    default:
      hippo__act_apply_extra (p, n, act, lo, hi);
      break;
    }
}

static gboolean
conv_is_pointwise (const HippoNode *node)
{
  return node->kh == 1 && node->kw == 1 && node->sh == 1 && node->sw == 1
         && node->pad_t == 0 && node->pad_b == 0 && node->pad_l == 0
         && node->pad_r == 0;
}

/* Copies the receptive fields of output pixels [p0, p1) into rows of
 * kh*kw*cin floats, zeros outside the input. */
static void
im2col (const HippoNode *node, HippoShape is, const float *in, float *col,
        gint64 p0, gint64 p1)
{
  gint64 ohw = (gint64) node->h * node->w;
  gsize cin = node->cin;
  gsize krow = (gsize) node->kw * cin;

  for (gint64 p = p0; p < p1; p++)
    {
      gint64 img = p / ohw, rem = p % ohw;
      int oy = rem / node->w, ox = rem % node->w;
      const float *base = in + (gsize) img * is.h * is.w * cin;

      for (int ky = 0; ky < node->kh; ky++, col += krow)
        {
          int iy = oy * node->sh - node->pad_t + ky * node->dh;
          if (iy < 0 || iy >= is.h)
            {
              memset (col, 0, krow * sizeof (float));
              continue;
            }
          for (int kx = 0; kx < node->kw; kx++)
            {
              int ix = ox * node->sw - node->pad_l + kx * node->dw;
              float *dst = col + (gsize) kx * cin;
              if (ix < 0 || ix >= is.w)
                memset (dst, 0, cin * sizeof (float));
              else if (cin <= 4)
                {
                  /* RGB input: a call per 12 bytes would cost more */
                  const float *src = base + ((gsize) iy * is.w + ix) * cin;
                  for (gsize ci = 0; ci < cin; ci++)
                    dst[ci] = src[ci];
                }
              else
                memcpy (dst, base + ((gsize) iy * is.w + ix) * cin,
                        cin * sizeof (float));
            }
        }
    }
}

/* Rows of one GEMM call: the output block (and the im2col block) stay in
 * L2, where the bias, the GEMM and the activation pass over it. */
#define GEMM_BLOCK_BYTES (384 * 1024)

static gint64
block_rows (const HippoNode *node)
{
  gint64 k = (gint64) node->kh * node->kw * node->cin;
  gint64 rows = GEMM_BLOCK_BYTES / (4 * MAX (node->c, 1));

  rows = CLAMP (rows, 64, 2048);
  if (!conv_is_pointwise (node))
    rows = MIN (rows, MAX (1, (gint64) HIPPO_SCRATCH_FLOATS / k));
  return rows;
}

gint64
hippo_conv_max_rows (const HippoNode *node)
{
  gint64 k = (gint64) node->kh * node->kw * node->cin;

  if (conv_is_pointwise (node))
    return G_MAXINT64;
  return MAX (1, (gint64) HIPPO_SCRATCH_FLOATS / k);
}

void
hippo_conv_pixels (const HippoNode *node, HippoShape is, const float *in,
                   float *out, gint64 p0, gint64 p1, int c0, int c1,
                   float *scratch, gboolean no_act)
{
  int cout = node->c, nc = c1 - c0;
  int k = node->kh * node->kw * node->cin;
  gboolean pointwise = conv_is_pointwise (node);
  gint64 step = block_rows (node);

  g_return_if_fail (0 <= c0 && c0 < c1 && c1 <= cout);
  g_return_if_fail (pointwise || (c0 == 0 && c1 == cout));
  for (gint64 a = p0; a < p1;)
    {
      gint64 b = MIN (p1, a + step);
      float *o = out + a * cout + c0;
      const float *src = in + a * node->cin;
      float beta = 0.f;

      if (!pointwise)
        {
          im2col (node, is, in, scratch, a, b);
          src = scratch;
        }
      if (node->bias)
        {
          for (gint64 r = a; r < b; r++)
            memcpy (out + r * cout + c0, node->bias + c0, nc * sizeof (float));
          beta = 1.f;
        }
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) (b - a),
                   nc, k, 1.f, src, pointwise ? node->cin : k,
                   node->weights + c0, cout, beta, o, cout);
      if (!no_act && nc == cout)
        hippo_act_apply (o, b - a, cout, node->act, node->act_lo,
                         node->act_hi);
      else if (!no_act)
        for (gint64 r = 0; r < b - a; r++)
          hippo_act_apply (o + r * cout, 1, nc, node->act, node->act_lo,
                           node->act_hi);
      a = b;
    }
}

gboolean
hippo_conv_split_columns (const HippoNode *node, gint64 pixels, int n_threads)
{
  /* Few rows: splitting them would make every thread pack all the weights
   * inside sgemm; split the output channels instead. */
  return n_threads > 1 && conv_is_pointwise (node) && pixels <= 49
         && node->c >= 32 * n_threads
         && node->act != HIPPO_ACT_SOFTMAX; /* over all channels at once */
}

typedef float hv8 __attribute__ ((vector_size (32), aligned (4)));

/* One output pixel of a depthwise conv with multiplier 1: the sum over its
 * in-bounds taps, 8 channels at a time in a register. */
HIPPO_CLONES static void
dw_pixel (float *restrict o, const float *const *restrict taps,
          const float *const *restrict wts, int n_taps, int c,
          const float *restrict bias)
{
  int k = 0;

  for (; k + 8 <= c; k += 8)
    {
      hv8 acc = bias ? *(const hv8 *) (bias + k) : (hv8) { 0 };
      for (int t = 0; t < n_taps; t++)
        acc += *(const hv8 *) (taps[t] + k) * *(const hv8 *) (wts[t] + k);
      *(hv8 *) (o + k) = acc;
    }
  for (; k < c; k++)
    {
      float acc = bias ? bias[k] : 0.f;
      for (int t = 0; t < n_taps; t++)
        acc += taps[t][k] * wts[t][k];
      o[k] = acc;
    }
}

static void
dw_rows_mult1 (const HippoNode *node, HippoShape is, const float *in,
               float *out, gint64 r0, gint64 r1, gboolean no_act)
{
  int c = node->c, W = node->w;
  int max_taps = node->kh * node->kw;
  const float **taps = g_newa (const float *, max_taps);
  const float **wts = g_newa (const float *, max_taps);

  for (gint64 r = r0; r < r1; r++)
    {
      gint64 img = r / node->h;
      int oy = r % node->h;
      const float *base = in + (gsize) img * is.h * is.w * c;
      float *orow = out + (gsize) r * W * c;

      for (int ox = 0; ox < W; ox++)
        {
          int n = 0;

          for (int ky = 0; ky < node->kh; ky++)
            {
              int iy = oy * node->sh - node->pad_t + ky * node->dh;
              if (iy < 0 || iy >= is.h)
                continue;
              for (int kx = 0; kx < node->kw; kx++)
                {
                  int ix = ox * node->sw - node->pad_l + kx * node->dw;
                  if (ix < 0 || ix >= is.w)
                    continue;
                  taps[n] = base + ((gsize) iy * is.w + ix) * c;
                  wts[n] = node->weights + (gsize) (ky * node->kw + kx) * c;
                  n++;
                }
            }
          dw_pixel (orow + (gsize) ox * c, taps, wts, n, c, node->bias);
        }
      if (!no_act)
        hippo_act_apply (orow, W, c, node->act, node->act_lo, node->act_hi);
    }
}

void
hippo_dwconv_rows (HippoIsa isa, const HippoNode *node, HippoShape is,
                   const float *in, float *out, gint64 r0, gint64 r1,
                   gboolean no_act)
{
  int c = node->c, cin = node->cin, mult = node->mult;

  if (hippo_dw3x3_rows (isa, node, is, in, out, r0, r1, no_act))
    return;
  if (mult == 1)
    {
      dw_rows_mult1 (node, is, in, out, r0, r1, no_act);
      return;
    }
  for (gint64 r = r0; r < r1; r++)
    {
      gint64 img = r / node->h;
      int oy = r % node->h;
      const float *base = in + (gsize) img * is.h * is.w * cin;
      float *orow = out + (gsize) r * node->w * c;

      for (int ox = 0; ox < node->w; ox++)
        {
          float *o = orow + (gsize) ox * c;

          for (int k = 0; k < c; k++)
            o[k] = node->bias ? node->bias[k] : 0.f;
          for (int ky = 0; ky < node->kh; ky++)
            {
              int iy = oy * node->sh - node->pad_t + ky * node->dh;
              if (iy < 0 || iy >= is.h)
                continue;
              for (int kx = 0; kx < node->kw; kx++)
                {
                  int ix = ox * node->sw - node->pad_l + kx * node->dw;
                  const float *ip, *wp;
                  if (ix < 0 || ix >= is.w)
                    continue;
                  ip = base + ((gsize) iy * is.w + ix) * cin;
                  wp = node->weights + (gsize) (ky * node->kw + kx) * c;
                  for (int ci = 0; ci < cin; ci++)
                    for (int j = 0; j < mult; j++)
                      o[ci * mult + j] += ip[ci] * wp[ci * mult + j];
                }
            }
        }
      if (!no_act)
        hippo_act_apply (orow, node->w, c, node->act, node->act_lo,
                         node->act_hi);
    }
}

void
hippo_pool_rows (const HippoNode *node, HippoShape is, const float *in,
                 float *out, gint64 r0, gint64 r1)
{
  int c = node->c;
  gboolean is_max = node->op == HIPPO_OP_MAXPOOL;

  for (gint64 r = r0; r < r1; r++)
    {
      gint64 img = r / node->h;
      int oy = r % node->h;
      const float *base = in + (gsize) img * is.h * is.w * c;

      for (int ox = 0; ox < node->w; ox++)
        {
          float *o = out + ((gsize) r * node->w + ox) * c;
          int y0 = oy * node->sh - node->pad_t, x0 = ox * node->sw - node->pad_l;
          int ya = MAX (y0, 0), yb = MIN (y0 + node->kh, is.h);
          int xa = MAX (x0, 0), xb = MIN (x0 + node->kw, is.w);
          int count = (yb - ya) * (xb - xa);

          for (int k = 0; k < c; k++)
            o[k] = is_max ? -INFINITY : 0.f;
          for (int y = ya; y < yb; y++)
            for (int x = xa; x < xb; x++)
              {
                const float *ip = base + ((gsize) y * is.w + x) * c;
                if (is_max)
                  for (int k = 0; k < c; k++)
                    o[k] = ip[k] > o[k] ? ip[k] : o[k];
                else
                  for (int k = 0; k < c; k++)
                    o[k] += ip[k];
              }
          if (count <= 0)
            memset (o, 0, c * sizeof (float));
          else if (!is_max)
            {
              float inv = 1.f / count;
              for (int k = 0; k < c; k++)
                o[k] *= inv;
            }
        }
    }
}

void
hippo_pad_rows (const HippoNode *node, HippoShape is, const float *in,
                float *out, gint64 r0, gint64 r1)
{
  int c = node->c;

  for (gint64 r = r0; r < r1; r++)
    {
      gint64 img = r / node->h;
      int oy = r % node->h, iy = oy - node->pad_t;
      float *o = out + (gsize) r * node->w * c;

      memset (o, 0, (gsize) node->w * c * sizeof (float));
      if (iy < 0 || iy >= is.h)
        continue;
      memcpy (o + (gsize) node->pad_l * c,
              in + (((gsize) img * is.h + iy) * is.w) * c,
              (gsize) is.w * c * sizeof (float));
    }
}

HIPPO_CLONES static void
add2 (float *restrict o, const float *restrict a, const float *restrict b,
      gsize n)
{
  for (gsize i = 0; i < n; i++)
    o[i] = a[i] + b[i];
}

HIPPO_CLONES static void
add_into (float *restrict o, const float *restrict b, gsize n)
{
  for (gsize i = 0; i < n; i++)
    o[i] += b[i];
}

void
hippo_add_pixels (const HippoNode *node, const float *const *ins, float *out,
                  gint64 p0, gint64 p1, gboolean no_act)
{
  gsize c = node->c, off = (gsize) p0 * c, n = (gsize) (p1 - p0) * c;

  if (p1 <= p0)
    return;
  add2 (out + off, ins[0] + off, ins[1] + off, n);
  for (int i = 2; i < node->n_inputs; i++)
    add_into (out + off, ins[i] + off, n);
  if (!no_act)
    hippo_act_apply (out + off, p1 - p0, c, node->act, node->act_lo,
                     node->act_hi);
}

void
hippo_affine_pixels (const HippoNode *node, const float *in, float *out,
                     gint64 p0, gint64 p1, gboolean no_act)
{
  int c = node->c;

  for (gint64 p = p0; p < p1; p++)
    {
      const float *ip = in + (gsize) p * c;
      float *o = out + (gsize) p * c;
      for (int k = 0; k < c; k++)
        o[k] = ip[k] * node->scale[k] + node->shift[k];
    }
  if (!no_act && p1 > p0)
    hippo_act_apply (out + (gsize) p0 * c, p1 - p0, c, node->act,
                     node->act_lo, node->act_hi);
}

void
hippo_concat_pixels (const HippoNode *node, const float *const *ins,
                     const int *in_c, float *out, gint64 p0, gint64 p1)
{
  for (gint64 p = p0; p < p1; p++)
    {
      float *o = out + (gsize) p * node->c;
      for (int i = 0; i < node->n_inputs; i++)
        {
          memcpy (o, ins[i] + (gsize) p * in_c[i], in_c[i] * sizeof (float));
          o += in_c[i];
        }
    }
}

void
hippo_gap (const float *in, gsize hw, int c, float *out)
{
  double *acc = g_newa (double, MIN (c, 4096));

  /* Sum in double per block of channels: features are compared at 1e-4. */
  for (int c0 = 0; c0 < c; c0 += 4096)
    {
      int cn = MIN (4096, c - c0);
      memset (acc, 0, cn * sizeof (double));
      for (gsize p = 0; p < hw; p++)
        {
          const float *ip = in + p * c + c0;
          for (int k = 0; k < cn; k++)
            acc[k] += ip[k];
        }
      for (int k = 0; k < cn; k++)
        out[c0 + k] = (float) (acc[k] / (double) hw);
    }
}
