/* Depthwise convolution, channel multiplier 1: the kernel of MobileNet's
 * 3x3 layers.  One body, compiled three times (AVX-512, AVX2 + FMA, plain
 * x86-64 or whatever the target is) and picked per session by
 * hippo_isa_pick(); every variant is tested against the scalar reference
 * (tests/test-graph.c).
 *
 * The layout is NHWC.  For each output row and each vector of channels
 * the nine weights and the bias stay in registers while the row is swept;
 * every pixel takes the unrolled 3x3 sum: taps in rows or columns outside
 * the input get zero weights and read a pixel that exists instead.  The clamp activation (ReLU6 after BatchNorm folding) is applied
 * before the store, so the output is written once. */
#include "hippo-config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

/* the vector helpers are always inlined: no vector crosses a call */
#pragma GCC diagnostic ignored "-Wpsabi"

typedef float v16 __attribute__ ((vector_size (64), aligned (4)));
typedef int i16v __attribute__ ((vector_size (64), aligned (4)));
typedef float v8 __attribute__ ((vector_size (32), aligned (4)));
typedef int i8v __attribute__ ((vector_size (32), aligned (4)));
typedef float v4 __attribute__ ((vector_size (16), aligned (4)));
typedef int i4v __attribute__ ((vector_size (16), aligned (4)));

/* Stores vector A (type V, integer twin IV) at P, clamped to [vlo, vhi]. */
#define STORE_CLAMPED(V, IV, P, A)                                           \
  do                                                                         \
    {                                                                        \
      V a_ = (A);                                                            \
      IV m_ = a_ < vlo;                                                      \
      a_ = (V) (((IV) a_ & ~m_) | ((IV) vlo & m_));                          \
      m_ = a_ > vhi;                                                         \
      *(V *) (P) = (V) (((IV) a_ & ~m_) | ((IV) vhi & m_));                  \
    }                                                                        \
  while (0)

/* DW3X3_BODY (NAME, V, IV, N, ATTR) defines NAME: output rows [r0, r1) of
 * a 3x3 multiplier-1 depthwise conv (any stride and padding, dilation 1)
 * for channels [0, cv) in blocks of N (vector type V of N floats, IV its
 * integer twin), clamped to [lo, hi] (-inf, inf for none). */
#define DW3X3_BODY(NAME, V, IV, N, ATTR)                                     \
  ATTR static void NAME (const HippoNode *node, HippoShape is,               \
                         const float *in, float *out, gint64 r0, gint64 r1,  \
                         int cv, float lo, float hi)                          \
  {                                                                          \
    const int W = node->w, sh = node->sh, sw = node->sw;                     \
    const gsize cs = (gsize) node->c;                                        \
    /* output columns whose 3 taps are all inside the input */               \
    int ox_hi = is.w - 3 + node->pad_l >= 0                                  \
                  ? (is.w - 3 + node->pad_l) / sw + 1                        \
                  : 0;                                                       \
    int ox_lo;                                                               \
    V vlo, vhi, zero;                                                        \
                                                                             \
    for (int k = 0; k < N; k++)                                              \
      {                                                                      \
        vlo[k] = lo;                                                         \
        vhi[k] = hi;                                                         \
        zero[k] = 0.f;                                                       \
      }                                                                      \
    ox_hi = MIN (ox_hi, W);                                                  \
    ox_lo = MIN ((node->pad_l + sw - 1) / sw, ox_hi);                        \
    for (gint64 r = r0; r < r1; r++)                                         \
      {                                                                      \
        gint64 img = r / node->h;                                            \
        int oy = r % node->h;                                                \
        int iy0 = oy * sh - node->pad_t;                                     \
        const float *base = in + (gsize) img * is.h * is.w * cs;             \
        float *orow = out + (gsize) r * W * cs;                              \
        /* rows above or below the input: their taps get zero weights   \
         * and read a row that exists (iy1), so the top and bottom rows    \
         * take the unrolled path too */                                   \
        const gboolean ok0 = iy0 >= 0 && iy0 < is.h;                         \
        const gboolean ok1 = iy0 + 1 >= 0 && iy0 + 1 < is.h;                 \
        const gboolean ok2 = iy0 + 2 >= 0 && iy0 + 2 < is.h;                 \
        const int iy1 = CLAMP (iy0 + 1, 0, is.h - 1);                        \
                                                                             \
        for (int cb = 0; cb < cv; cb += N)                                   \
          {                                                                  \
            const float *wp = node->weights + cb;                            \
            const V u0 = *(const V *) wp, u1 = *(const V *) (wp + cs);       \
            const V u2 = *(const V *) (wp + 2 * cs);                         \
            const V u3 = *(const V *) (wp + 3 * cs);                         \
            const V u4 = *(const V *) (wp + 4 * cs);                         \
            const V u5 = *(const V *) (wp + 5 * cs);                         \
            const V u6 = *(const V *) (wp + 6 * cs);                         \
            const V u7 = *(const V *) (wp + 7 * cs);                         \
            const V u8 = *(const V *) (wp + 8 * cs);                         \
            const V bias = node->bias ? *(const V *) (node->bias + cb) : zero; \
            int ox;                                                          \
                                                                             \
              {                                                              \
                const float *i0 = base + (gsize) (ok0 ? iy0 : iy1) * is.w * cs \
                                  + cb;                                      \
                const float *i1 = base + (gsize) (ok1 ? iy0 + 1 : iy1) * is.w \
                                  * cs + cb;                                 \
                const float *i2 = base + (gsize) (ok2 ? iy0 + 2 : iy1) * is.w \
                                  * cs + cb;                                 \
                const V w0 = ok0 ? u0 : zero, w1 = ok0 ? u1 : zero;          \
                const V w2 = ok0 ? u2 : zero, w3 = ok1 ? u3 : zero;          \
                const V w4 = ok1 ? u4 : zero, w5 = ok1 ? u5 : zero;          \
                const V w6 = ok2 ? u6 : zero, w7 = ok2 ? u7 : zero;          \
                const V w8 = ok2 ? u8 : zero;                                \
                                                                             \
                for (ox = ox_lo; ox < ox_hi; ox++)                           \
                  {                                                          \
                    gsize p = (gsize) (ox * sw - node->pad_l) * cs;          \
                    V a = bias + *(const V *) (i0 + p) * w0;                 \
                    V b = *(const V *) (i0 + p + cs) * w1;                   \
                                                                             \
                    a += *(const V *) (i0 + p + 2 * cs) * w2;                \
                    b += *(const V *) (i1 + p) * w3;                         \
                    a += *(const V *) (i1 + p + cs) * w4;                    \
                    b += *(const V *) (i1 + p + 2 * cs) * w5;                \
                    a += *(const V *) (i2 + p) * w6;                         \
                    b += *(const V *) (i2 + p + cs) * w7;                    \
                    a += *(const V *) (i2 + p + 2 * cs) * w8;                \
                    a += b;                                                  \
                    STORE_CLAMPED (V, IV, orow + (gsize) ox * cs + cb, a);   \
                  }                                                          \
                /* the left and right border columns: the same sum, with    \
                 * zero weights for the columns outside (reading one that   \
                 * exists instead) */                                       \
                for (ox = 0; ox < W; ox++)                                   \
                  {                                                          \
                    const int ix0 = ox * sw - node->pad_l;                   \
                    const int ixv = CLAMP (ix0 + 1, 0, is.w - 1);            \
                    const gboolean k0 = ix0 >= 0 && ix0 < is.w;              \
                    const gboolean k1 = ix0 + 1 >= 0 && ix0 + 1 < is.w;      \
                    const gboolean k2 = ix0 + 2 >= 0 && ix0 + 2 < is.w;      \
                    const gsize q0 = (gsize) (k0 ? ix0 : ixv) * cs;          \
                    const gsize q1 = (gsize) (k1 ? ix0 + 1 : ixv) * cs;      \
                    const gsize q2 = (gsize) (k2 ? ix0 + 2 : ixv) * cs;      \
                    V a, b;                                                  \
                                                                             \
                    if (ox >= ox_lo && ox < ox_hi)                           \
                      {                                                      \
                        ox = ox_hi - 1;                                      \
                        continue;                                            \
                      }                                                      \
                    a = bias + *(const V *) (i0 + q0) * (k0 ? w0 : zero);    \
                    b = *(const V *) (i0 + q1) * (k1 ? w1 : zero);           \
                    a += *(const V *) (i0 + q2) * (k2 ? w2 : zero);          \
                    b += *(const V *) (i1 + q0) * (k0 ? w3 : zero);          \
                    a += *(const V *) (i1 + q1) * (k1 ? w4 : zero);          \
                    b += *(const V *) (i1 + q2) * (k2 ? w5 : zero);          \
                    a += *(const V *) (i2 + q0) * (k0 ? w6 : zero);          \
                    b += *(const V *) (i2 + q1) * (k1 ? w7 : zero);          \
                    a += *(const V *) (i2 + q2) * (k2 ? w8 : zero);          \
                    a += b;                                                  \
                    STORE_CLAMPED (V, IV, orow + (gsize) ox * cs + cb, a);   \
                  }                                                          \
              }                                                              \
          }                                                                  \
      }                                                                      \
  }

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define HAVE_X86_VARIANTS 1
DW3X3_BODY (dw3x3_avx512, v16, i16v, 16,
            __attribute__ ((target ("avx512f,avx512dq,avx512vl,avx512bw,fma"))))
DW3X3_BODY (dw3x3_avx2, v8, i8v, 8, __attribute__ ((target ("avx2,fma"))))
#endif
DW3X3_BODY (dw3x3_generic, v4, i4v, 4, )

/* Channels [c0, c) of rows [r0, r1), one at a time (the few channels past
 * the last whole vector). */
static void
dw3x3_tail (const HippoNode *node, HippoShape is, const float *in, float *out,
            gint64 r0, gint64 r1, int c0, float lo, float hi)
{
  const int c = node->c;

  for (gint64 r = r0; r < r1; r++)
    {
      gint64 img = r / node->h;
      int oy = r % node->h;
      const float *base = in + (gsize) img * is.h * is.w * c;

      for (int ox = 0; ox < node->w; ox++)
        for (int k = c0; k < c; k++)
          {
            float acc = node->bias ? node->bias[k] : 0.f;
            for (int ky = 0; ky < 3; ky++)
              {
                int iy = oy * node->sh - node->pad_t + ky;
                if (iy < 0 || iy >= is.h)
                  continue;
                for (int kx = 0; kx < 3; kx++)
                  {
                    int ix = ox * node->sw - node->pad_l + kx;
                    if (ix < 0 || ix >= is.w)
                      continue;
                    acc += base[((gsize) iy * is.w + ix) * c + k]
                           * node->weights[(gsize) (ky * 3 + kx) * c + k];
                  }
              }
            acc = acc < lo ? lo : acc;
            out[((gsize) r * node->w + ox) * c + k] = acc > hi ? hi : acc;
          }
    }
}

gboolean
hippo_dw3x3_rows (HippoIsa isa, const HippoNode *node, HippoShape is,
                  const float *in, float *out, gint64 r0, gint64 r1,
                  gboolean no_act)
{
  int cv;
  float lo = -INFINITY, hi = INFINITY;

  if (node->mult != 1 || node->kh != 3 || node->kw != 3 || node->dh != 1
      || node->dw != 1)
    return FALSE;
  if (!no_act && node->act == HIPPO_ACT_CLAMP)
    {
      lo = node->act_lo;
      hi = node->act_hi;
    }
  else if (!no_act && node->act != HIPPO_ACT_NONE)
    return FALSE;
  switch (isa)
    {
#ifdef HAVE_X86_VARIANTS
    case HIPPO_ISA_AVX512:
      cv = node->c & ~15;
      dw3x3_avx512 (node, is, in, out, r0, r1, cv, lo, hi);
      break;
    case HIPPO_ISA_AVX2:
      cv = node->c & ~7;
      dw3x3_avx2 (node, is, in, out, r0, r1, cv, lo, hi);
      break;
#endif
    default:
      cv = node->c & ~3;
      dw3x3_generic (node, is, in, out, r0, r1, cv, lo, hi);
      break;
    }
  if (cv < node->c)
    dw3x3_tail (node, is, in, out, r0, r1, cv, lo, hi);
  return TRUE;
}

HippoIsa
hippo_isa_best (void)
{
#ifdef HAVE_X86_VARIANTS
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512dq")
      && __builtin_cpu_supports ("avx512vl")
      && __builtin_cpu_supports ("avx512bw"))
    return HIPPO_ISA_AVX512;
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return HIPPO_ISA_AVX2;
#endif
  return HIPPO_ISA_GENERIC;
}

HippoIsa
hippo_isa_pick (void)
{
  HippoIsa best = hippo_isa_best ();
  const char *want = g_getenv ("HIPPOTAG_ISA");

  if (want == NULL || *want == '\0')
    return best;
  if (strcmp (want, "generic") == 0)
    return HIPPO_ISA_GENERIC;
  if (strcmp (want, "avx2") == 0 && best >= HIPPO_ISA_AVX2)
    return HIPPO_ISA_AVX2;
  if (strcmp (want, "avx512") == 0 && best >= HIPPO_ISA_AVX512)
    return HIPPO_ISA_AVX512;
  return best;
}

const char *
hippo_isa_name (HippoIsa isa)
{
  switch (isa)
    {
    case HIPPO_ISA_AVX512:
      return "avx512";
    case HIPPO_ISA_AVX2:
      return "avx2";
    default:
      return "generic";
    }
}
