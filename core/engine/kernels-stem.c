/* Direct convolution for layers with few input channels: the first layer
 * of a network, which reads the RGB image.  Through im2col its GEMM has an
 * inner dimension of only kh*kw*cin (27 for a 3x3 RGB conv), where sgemm
 * spends more time packing than multiplying (about 28 GFLOP/s on
 * MobileNetV2's first layer).
 *
 * Here eight output pixels are computed at once: their receptive fields
 * are gathered into a small patch (zeros outside the input, as im2col),
 * then for each vector of output channels the eight accumulators stay in
 * registers while every tap adds a broadcast input value times the tap's
 * weight vector.  The patch is reused for every channel vector.  One
 * body, compiled for AVX-512, AVX2 + FMA and plain x86-64 like the
 * depthwise kernel, picked by the session's HippoIsa; every variant is
 * tested against a double-precision reference (tests/test-kernels.c). */
#include "hippo-config.h"

#include <math.h>
#include <string.h>

#include "kernels.h"

#pragma GCC diagnostic ignored "-Wpsabi"

typedef float v16 __attribute__ ((vector_size (64), aligned (4)));
typedef int i16v __attribute__ ((vector_size (64), aligned (4)));
typedef float v8 __attribute__ ((vector_size (32), aligned (4)));
typedef int i8v __attribute__ ((vector_size (32), aligned (4)));
typedef float v4 __attribute__ ((vector_size (16), aligned (4)));
typedef int i4v __attribute__ ((vector_size (16), aligned (4)));

/* Kernel rows the direct path takes (larger kernels are gathered). */
#define MAX_KH 16

/* Output pixels per block: eight accumulators plus a weight vector fit
 * the registers of every variant. */
#define PIX 8

/* Largest kh*kw*cin this kernel takes (its patch lives on the stack): a
 * 7x7 RGB conv. */
#define MAX_TAPS 160

/* Gathers the receptive fields of output pixels [p, p + n) (n <= PIX) into
 * patch[j * taps + t], as im2col does: taps outside the input, and pixels
 * past n, are zero. */
static void
gather (const HippoNode *node, HippoShape is, const float *in, gint64 p, int n,
        float *patch)
{
  const int cin = node->cin, taps = node->kh * node->kw * cin;
  const gint64 ohw = (gint64) node->h * node->w;
  gint64 img = p / ohw, rem = p % ohw;
  int oy = (int) (rem / node->w), ox = (int) (rem % node->w);
  int j = 0;

  for (; j < n; j++)
    {
      const float *base = in + (gsize) img * is.h * is.w * cin;
      float *dst = patch + (gsize) j * taps;
      int ix0 = ox * node->sw - node->pad_l;
      /* all columns of the window inside: copy runs of kw * cin floats */
      gboolean cols_in = node->dw == 1 && ix0 >= 0 && ix0 + node->kw <= is.w;

      for (int ky = 0; ky < node->kh; ky++, dst += node->kw * cin)
        {
          int iy = oy * node->sh - node->pad_t + ky * node->dh;
          const float *row = base + (gsize) iy * is.w * cin;

          if (iy < 0 || iy >= is.h)
            memset (dst, 0, sizeof (float) * node->kw * cin);
          else if (cols_in)
            for (int k = 0; k < node->kw * cin; k++)
              dst[k] = row[(gsize) ix0 * cin + k];
          else
            for (int kx = 0; kx < node->kw; kx++)
              {
                int ix = ix0 + kx * node->dw;
                for (int ci = 0; ci < cin; ci++)
                  dst[kx * cin + ci]
                    = ix >= 0 && ix < is.w ? row[(gsize) ix * cin + ci] : 0.f;
              }
        }
      if (++ox == node->w)
        {
          ox = 0;
          if (++oy == node->h)
            oy = 0, img++;
        }
    }
  if (j < PIX)
    memset (patch + (gsize) j * taps, 0, sizeof (float) * taps * (PIX - j));
}

/* STEM_BODY (NAME, V, IV, N, ATTR) defines NAME: output pixels [p0, p1),
 * all channels (a multiple of N), clamped to [lo, hi].  Its arrays (patch:
 * MAX_TAPS * PIX floats, xrow: MAX_KH pointers) come from the caller, so
 * the vector function has no addressable locals: AddressSanitizer's fake
 * stack frames would not keep them 64-byte aligned for AVX-512 spills. */
#define STEM_BODY(NAME, V, IV, N, ATTR)                                        \
  ATTR static void NAME (const HippoNode *node, HippoShape is,                 \
                         const float *in, float *out, gint64 p0, gint64 p1,    \
                         float lo, float hi, float *patch,                     \
                         const float **xrow)                                   \
  {                                                                            \
    const int taps = node->kh * node->kw * node->cin, c = node->c;             \
    V vlo, vhi, zero;                                                          \
                                                                               \
    for (int k = 0; k < N; k++)                                                \
      {                                                                        \
        vlo[k] = lo;                                                           \
        vhi[k] = hi;                                                           \
        zero[k] = 0.f;                                                         \
      }                                                                        \
    const int krow = node->kw * node->cin;                                     \
    const gint64 ohw = (gint64) node->h * node->w;                             \
    for (gint64 p = p0; p < p1; p += PIX)                                      \
      {                                                                        \
        int n = (int) MIN ((gint64) PIX, p1 - p);                              \
        gint64 img = p / ohw, rem = p % ohw;                                   \
        int oy = (int) (rem / node->w), ox = (int) (rem % node->w);            \
        int iy0 = oy * node->sh - node->pad_t;                                 \
        int ix0 = ox * node->sw - node->pad_l;                                 \
        gsize js;                                                              \
                                                                               \
        /* eight pixels of one row, all taps inside: read the input where    \
         * it is (pixel j at j * sw * cin); else gather them */                \
        if (n == PIX && ox + PIX <= node->w && node->dw == 1                   \
            && node->kh <= MAX_KH && iy0 >= 0                                  \
            && iy0 + (node->kh - 1) * node->dh < is.h && ix0 >= 0              \
            && ix0 + (PIX - 1) * node->sw + node->kw <= is.w)                  \
          {                                                                    \
            const float *base = in + (gsize) img * is.h * is.w * node->cin;    \
            for (int ky = 0; ky < node->kh; ky++)                              \
              xrow[ky] = base                                                  \
                         + ((gsize) (iy0 + ky * node->dh) * is.w + ix0)        \
                             * node->cin;                                      \
            js = (gsize) node->sw * node->cin;                                 \
          }                                                                    \
        else                                                                   \
          {                                                                    \
            gather (node, is, in, p, n, patch);                                \
            for (int ky = 0; ky < node->kh && ky < MAX_KH; ky++)               \
              xrow[ky] = patch + (gsize) ky * krow;                            \
            js = (gsize) taps;                                                 \
          }                                                                    \
        for (int cb = 0; cb < c; cb += N)                                      \
          {                                                                    \
            V b = node->bias ? *(const V *) (node->bias + cb) : zero;          \
            V a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b;  \
            const float *w = node->weights + cb;                               \
            float *o = out + p * c + cb;                                       \
                                                                               \
            for (int ky = 0; ky < node->kh; ky++)                              \
              {                                                                \
                const float *x = ky < MAX_KH ? xrow[ky] : NULL;                \
                if (x == NULL) /* more rows than MAX_KH: gathered */           \
                  x = patch + (gsize) ky * krow;                               \
                for (int q = 0; q < krow; q++, w += c, x++)                    \
                  {                                                            \
                    const V wv = *(const V *) w;                               \
                    a0 += x[0] * wv;                                           \
                    a1 += x[js] * wv;                                          \
                    a2 += x[2 * js] * wv;                                      \
                    a3 += x[3 * js] * wv;                                      \
                    a4 += x[4 * js] * wv;                                      \
                    a5 += x[5 * js] * wv;                                      \
                    a6 += x[6 * js] * wv;                                      \
                    a7 += x[7 * js] * wv;                                      \
                  }                                                            \
              }                                                                \
            STEM_STORE (V, IV, o, 0, a0);                                      \
            STEM_STORE (V, IV, o, 1, a1);                                      \
            STEM_STORE (V, IV, o, 2, a2);                                      \
            STEM_STORE (V, IV, o, 3, a3);                                      \
            STEM_STORE (V, IV, o, 4, a4);                                      \
            STEM_STORE (V, IV, o, 5, a5);                                      \
            STEM_STORE (V, IV, o, 6, a6);                                      \
            STEM_STORE (V, IV, o, 7, a7);                                      \
          }                                                                    \
      }                                                                        \
  }

/* Stores accumulator A of pixel J of the block, clamped, if the pixel is
 * one of the n in range. */
#define STEM_STORE(V, IV, O, J, A)                                             \
  do                                                                           \
    {                                                                          \
      if ((J) < n)                                                             \
        {                                                                      \
          V a_ = (A);                                                          \
          IV m_ = a_ < vlo;                                                    \
          a_ = (V) (((IV) a_ & ~m_) | ((IV) vlo & m_));                        \
          m_ = a_ > vhi;                                                       \
          *(V *) ((O) + (gsize) (J) *c)                                        \
            = (V) (((IV) a_ & ~m_) | ((IV) vhi & m_));                         \
        }                                                                      \
    }                                                                          \
  while (0)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define HAVE_X86_VARIANTS 1
STEM_BODY (stem_avx512, v16, i16v, 16,
           __attribute__ ((target ("avx512f,avx512dq,avx512vl,avx512bw,fma"))))
STEM_BODY (stem_avx2, v8, i8v, 8, __attribute__ ((target ("avx2,fma"))))
#endif
STEM_BODY (stem_generic, v4, i4v, 4, )

gboolean
hippo_conv_stem_pixels (HippoIsa isa, const HippoNode *node, HippoShape is,
                        const float *in, float *out, gint64 p0, gint64 p1,
                        gboolean no_act)
{
  float lo = -INFINITY, hi = INFINITY;
  float patch[MAX_TAPS * PIX];
  const float *xrow[MAX_KH];
  int width;

  if (node->op != HIPPO_OP_CONV || node->cin > 4
      || node->kh * node->kw * node->cin > MAX_TAPS)
    return FALSE;
  if (!no_act && node->act == HIPPO_ACT_CLAMP)
    {
      lo = node->act_lo;
      hi = node->act_hi;
    }
  else if (!no_act && node->act != HIPPO_ACT_NONE)
    return FALSE;
#ifdef HAVE_X86_VARIANTS
  width = isa == HIPPO_ISA_AVX512 ? 16 : isa == HIPPO_ISA_AVX2 ? 8 : 4;
#else
  width = 4;
  (void) isa;
#endif
  if (node->c % width != 0)
    return FALSE;
  if (p0 >= p1)
    return TRUE;
  switch (width)
    {
#ifdef HAVE_X86_VARIANTS
      case 16:
        stem_avx512 (node, is, in, out, p0, p1, lo, hi, patch, xrow);
        break;
      case 8:
        stem_avx2 (node, is, in, out, p0, p1, lo, hi, patch, xrow);
        break;
#endif
      default:
        stem_generic (node, is, in, out, p0, p1, lo, hi, patch, xrow);
        break;
    }
  return TRUE;
}
