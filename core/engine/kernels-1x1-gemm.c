/* The register-blocked products of the packed 1x1 convolutions
 * (kernels-1x1.c): a tile of input rows times the packed weights, bias
 * and clamp applied as the accumulators are stored.
 *
 * A register block holds MR pixels x NV vectors of output channels in
 * accumulators; for each input channel k (or channel pair) the NV weight
 * vectors of row k are loaded once and each pixel's input value is
 * broadcast and multiplied into them.  The accumulators start at zero and
 * take one FMA per k in increasing k, so each output's sum has the same
 * order in every block shape, tail and variant (kernels-1x1.c states the
 * invariant):
 *   AVX-512      MR 14 x NV 2 vectors of 16 (28 of the 32 registers),
 *                weights in blocks of 32 channels;
 *   AVX512-BF16  the same with VDPBF16PS on channel pairs (two products
 *                per lane and instruction);
 *   AVX2 + FMA   MR 6 x NV 2 vectors of 8 (12 of 16), blocks of 16;
 *   generic      MR 4 x NV 2 vectors of 4 (GCC vector extensions, a
 *                multiply and an add), blocks of 16.
 * Smaller blocks (the last pixels of a tile, the last channels) are their
 * own instances, so no accumulator ever holds padding the sum would see
 * (weight columns past the layer's channels are zero and not stored). */
#include "hippo-config.h"

#include <math.h>
#include <string.h>

#include "kernels.h"

#pragma GCC diagnostic ignored "-Wpsabi"

#define INLINE static inline __attribute__ ((always_inline))

/* Input values are floats, or bfloat16 pairs read as 32-bit words. */
typedef float afloat __attribute__ ((may_alias));

/* One register block: mr rows of a (stride lda) times the nv weight
 * vectors at w (stride ws per k), K steps, into c (stride ldc), storing
 * the columns [lo_c, hi_c) of the block only; w and bias hold wn columns
 * (fewer than nv vectors: the rest is not read). */
typedef void (*MicroFn) (const afloat *a, gsize lda, int K, const float *w,
                         gsize ws, float *c, gsize ldc, const float *bias,
                         float lo, float hi, int lo_c, int hi_c, int wn);

/* Walks the column range [c0, c1) in groups of at most NVMAX vectors of
 * VW inside one packed block, and rows [0, m) in register blocks of MR. */
#define DRIVER(NAME, ATTR, VW, MR, NVMAX, TABLE)                               \
  ATTR static void NAME (const HippoPacked *pk, const void *a, gsize lda,      \
                         gint64 m, int c0, int c1, float *c, gsize ldc,        \
                         float lo, float hi)                                   \
  {                                                                            \
    const int v1 = (c1 + (VW) -1) / (VW), nvb = pk->nr / (VW);                 \
                                                                               \
    for (int vs = c0 / (VW); vs < v1;)                                         \
      {                                                                        \
        int b = vs / nvb;                                                      \
        int ve = MIN (v1, MIN ((b + 1) * nvb, vs + (NVMAX)));                  \
        const float *w = (const float *) pk->w + (gsize) b * pk->bstride       \
                         + (gsize) (vs - b * nvb) * (VW);                      \
        int col = vs * (VW);                                                   \
        int lo_c = MAX (c0 - col, 0), hi_c = MIN (c1 - col, (ve - vs) * (VW)); \
        const float *bias = pk->bias ? pk->bias + col : NULL;                  \
                                                                               \
        for (gint64 r = 0; r < m; r += (MR))                                   \
          {                                                                    \
            int mr = (int) MIN ((gint64) (MR), m - r);                         \
            TABLE[mr - 1][ve - vs - 1]((const afloat *) a + r * lda, lda,      \
                                       pk->k, w, pk->ws, c + r * ldc + col,    \
                                       ldc, bias, lo, hi, lo_c, hi_c,          \
                                       pk->cout - col);                        \
          }                                                                    \
        vs = ve;                                                               \
      }                                                                        \
  }

/* Instances of a micro body for every row count 1..MR and NV 1..2. */
#define INSTANCE(BODY, ATTR, M, N)                                             \
  ATTR __attribute__ ((noinline)) static void BODY##_##M##_##N (               \
    const afloat *a, gsize lda, int K, const float *w, gsize ws, float *c,     \
    gsize ldc, const float *bias, float lo, float hi, int lo_c, int hi_c,      \
    int wn)                                                                    \
  {                                                                            \
    BODY (M, N, a, lda, K, w, ws, c, ldc, bias, lo, hi, lo_c, hi_c, wn);       \
  }
#define INSTANCES2(BODY, ATTR, M)                                              \
  INSTANCE (BODY, ATTR, M, 1) INSTANCE (BODY, ATTR, M, 2)
#define ROW2(BODY, M)                                                          \
  {                                                                            \
    BODY##_##M##_1, BODY##_##M##_2                                             \
  }

/* ---- generic: GCC vector extensions, 4 lanes ---- */

typedef float gv4 __attribute__ ((vector_size (16)));
typedef int gi4 __attribute__ ((vector_size (16)));

INLINE void
micro_generic (const int mr, const int nv, const afloat *restrict a, gsize lda,
               int K, const float *restrict w, gsize ws, float *restrict c,
               gsize ldc, const float *bias, float lo, float hi, int lo_c,
               int hi_c, int wn)
{
  gv4 acc[4][2];
  gv4 vlo = { lo, lo, lo, lo }, vhi = { hi, hi, hi, hi };
  /* the last vector partly past the weights' columns: read lane by lane */
  const gboolean part = wn < 4 * nv;

#pragma GCC unroll 4
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 2
    for (int v = 0; v < nv; v++)
      acc[r][v] = (gv4){ 0.f, 0.f, 0.f, 0.f };
  for (int k = 0; k < K; k++, a++, w += ws)
    {
      gv4 wv[2];

#pragma GCC unroll 2
      for (int v = 0; v < nv; v++)
        if (part && 4 * v + 4 > wn)
          {
            wv[v] = (gv4){ 0.f, 0.f, 0.f, 0.f };
            for (int j = 0; 4 * v + j < wn; j++)
              wv[v][j] = w[4 * v + j];
          }
        else
          memcpy (&wv[v], w + 4 * v, sizeof wv[v]);
#pragma GCC unroll 4
      for (int r = 0; r < mr; r++)
        {
          float x = a[(gsize) r * lda];
          gv4 xv = { x, x, x, x };
#pragma GCC unroll 2
          for (int v = 0; v < nv; v++)
            acc[r][v] = acc[r][v] + xv * wv[v];
        }
    }
#pragma GCC unroll 2
  for (int v = 0; v < nv; v++)
    {
      gv4 bv = { 0.f, 0.f, 0.f, 0.f };

      for (int j = 0; bias && j < 4 && 4 * v + j < wn; j++)
        bv[j] = bias[4 * v + j];
#pragma GCC unroll 4
      for (int r = 0; r < mr; r++)
        {
          gv4 y = acc[r][v] + bv;
          gi4 m = y < vlo;
          float *o = c + (gsize) r * ldc + 4 * v;

          y = (gv4) (((gi4) y & ~m) | ((gi4) vlo & m));
          m = y > vhi;
          y = (gv4) (((gi4) y & ~m) | ((gi4) vhi & m));
          if (lo_c <= 4 * v && 4 * v + 4 <= hi_c)
            memcpy (o, &y, sizeof y);
          else
            for (int j = 0; j < 4; j++)
              if (lo_c <= 4 * v + j && 4 * v + j < hi_c)
                o[j] = y[j];
        }
    }
}

INSTANCES2 (micro_generic, , 1)
INSTANCES2 (micro_generic, , 2)
INSTANCES2 (micro_generic, , 3)
INSTANCES2 (micro_generic, , 4)
static const MicroFn generic_table[4][2]
  = { ROW2 (micro_generic, 1), ROW2 (micro_generic, 2), ROW2 (micro_generic, 3),
      ROW2 (micro_generic, 4) };
DRIVER (gemm_generic, , 4, 4, 2, generic_table)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define HAVE_X86_VARIANTS 1
#include <immintrin.h>

#define AVX512_T                                                               \
  __attribute__ ((target ("avx512f,avx512dq,avx512vl,avx512bw,fma")))
#define BF16_T                                                                 \
  __attribute__ ((target ("avx512f,avx512dq,avx512vl,avx512bw,fma,"            \
                          "avx512bf16")))
#define AVX2_T __attribute__ ((target ("avx2,fma")))

/* Bits [lo, hi) of 16, clipped. */
static inline unsigned
lane_mask (int lo, int hi)
{
  lo = CLAMP (lo, 0, 16);
  hi = CLAMP (hi, 0, 16);
  return hi > lo ? ((1u << (hi - lo)) - 1) << lo : 0;
}

/* ---- AVX-512: float32 FMA and bfloat16 pairs, 14 x 2 x 16 ---- */

/* The body both AVX-512 kernels share; STEP (acc, x, wv) is one update
 * with x the broadcast input word. */
#define MICRO512(NAME, ATTR, STEP)                                             \
  ATTR INLINE void NAME (const int mr, const int nv, const afloat *restrict a, \
                         gsize lda, int K, const float *restrict w, gsize ws,  \
                         float *restrict c, gsize ldc, const float *bias,      \
                         float lo, float hi, int lo_c, int hi_c, int wn)       \
  {                                                                            \
    __m512 acc[14][2];                                                         \
    const __m512 vlo = _mm512_set1_ps (lo), vhi = _mm512_set1_ps (hi);         \
    /* lanes of each vector inside the weights' columns */                     \
    const __mmask16 wm0 = (__mmask16) lane_mask (0, wn);                       \
    const __mmask16 wm1 = (__mmask16) lane_mask (0, wn - 16);                  \
                                                                               \
    _Pragma ("GCC unroll 14") for (int r = 0; r < mr; r++)                     \
      _Pragma ("GCC unroll 2") for (int v = 0; v < nv; v++) acc[r][v]          \
      = _mm512_setzero_ps ();                                                  \
    for (int k = 0; k < K; k++, a++, w += ws)                                  \
      {                                                                        \
        __m512 wv[2];                                                          \
                                                                               \
        wv[0] = _mm512_maskz_loadu_ps (wm0, w);                                \
        if (nv > 1)                                                            \
          wv[1] = _mm512_maskz_loadu_ps (wm1, w + 16);                         \
        _Pragma ("GCC unroll 14") for (int r = 0; r < mr; r++)                 \
        {                                                                      \
          __m512 x = _mm512_set1_ps (a[(gsize) r * lda]);                      \
          _Pragma ("GCC unroll 2") for (int v = 0; v < nv; v++) acc[r][v]      \
            = STEP (acc[r][v], x, wv[v]);                                      \
        }                                                                      \
      }                                                                        \
    _Pragma ("GCC unroll 2") for (int v = 0; v < nv; v++)                      \
    {                                                                          \
      __mmask16 m = (__mmask16) lane_mask (lo_c - 16 * v, hi_c - 16 * v);      \
      __m512 bv = bias ? _mm512_maskz_loadu_ps (v ? wm1 : wm0, bias + 16 * v)  \
                       : _mm512_setzero_ps ();                                 \
      _Pragma ("GCC unroll 14") for (int r = 0; r < mr; r++)                   \
      {                                                                        \
        __m512 y = _mm512_add_ps (acc[r][v], bv);                              \
        /* bound first: a NaN passes, as in hippo_act_apply() */               \
        y = _mm512_min_ps (vhi, _mm512_max_ps (vlo, y));                       \
        _mm512_mask_storeu_ps (c + (gsize) r * ldc + 16 * v, m, y);            \
      }                                                                        \
    }                                                                          \
  }

#define STEP_FMA(ACC, X, W) _mm512_fmadd_ps ((X), (W), (ACC))
#define STEP_DOT(ACC, X, W)                                                    \
  _mm512_dpbf16_ps ((ACC), (__m512bh) (X), (__m512bh) (W))

MICRO512 (micro_avx512, AVX512_T, STEP_FMA)
MICRO512 (micro_bf16, BF16_T, STEP_DOT)

#define INSTANCES14(BODY, ATTR)                                                \
  INSTANCES2 (BODY, ATTR, 1)                                                   \
  INSTANCES2 (BODY, ATTR, 2) INSTANCES2 (BODY, ATTR, 3)                        \
    INSTANCES2 (BODY, ATTR, 4) INSTANCES2 (BODY, ATTR, 5)                      \
      INSTANCES2 (BODY, ATTR, 6) INSTANCES2 (BODY, ATTR, 7)                    \
        INSTANCES2 (BODY, ATTR, 8) INSTANCES2 (BODY, ATTR, 9)                  \
          INSTANCES2 (BODY, ATTR, 10) INSTANCES2 (BODY, ATTR, 11)              \
            INSTANCES2 (BODY, ATTR, 12) INSTANCES2 (BODY, ATTR, 13)            \
              INSTANCES2 (BODY, ATTR, 14)
#define TABLE14(BODY)                                                          \
  {                                                                            \
    ROW2 (BODY, 1), ROW2 (BODY, 2), ROW2 (BODY, 3), ROW2 (BODY, 4),            \
      ROW2 (BODY, 5), ROW2 (BODY, 6), ROW2 (BODY, 7), ROW2 (BODY, 8),          \
      ROW2 (BODY, 9), ROW2 (BODY, 10), ROW2 (BODY, 11), ROW2 (BODY, 12),       \
      ROW2 (BODY, 13), ROW2 (BODY, 14)                                         \
  }

INSTANCES14 (micro_avx512, AVX512_T)
INSTANCES14 (micro_bf16, BF16_T)
static const MicroFn avx512_table[14][2] = TABLE14 (micro_avx512);
static const MicroFn bf16_table[14][2] = TABLE14 (micro_bf16);
DRIVER (gemm_avx512, AVX512_T, 16, 14, 2, avx512_table)
DRIVER (gemm_bf16, BF16_T, 16, 14, 2, bf16_table)

/* ---- AVX2 + FMA: 6 x 2 x 8 ---- */

AVX2_T INLINE void
micro_avx2 (const int mr, const int nv, const afloat *restrict a, gsize lda,
            int K, const float *restrict w, gsize ws, float *restrict c,
            gsize ldc, const float *bias, float lo, float hi, int lo_c,
            int hi_c, int wn)
{
  __m256 acc[6][2];
  const __m256 vlo = _mm256_set1_ps (lo), vhi = _mm256_set1_ps (hi);
  const __m256i idx = _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7);
  /* lanes of each vector inside the weights' columns (masked loads only
   * where the last vector is partly past them) */
  const __m256i wm0 = _mm256_cmpgt_epi32 (_mm256_set1_epi32 (wn), idx);
  const __m256i wm1 = _mm256_cmpgt_epi32 (_mm256_set1_epi32 (wn - 8), idx);
  const gboolean part = wn < 8 * nv;

#pragma GCC unroll 6
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 2
    for (int v = 0; v < nv; v++)
      acc[r][v] = _mm256_setzero_ps ();
  for (int k = 0; k < K; k++, a++, w += ws)
    {
      __m256 wv[2];

      if (part)
        {
          wv[0] = _mm256_maskload_ps (w, wm0);
          if (nv > 1)
            wv[1] = _mm256_maskload_ps (w + 8, wm1);
        }
      else
        {
          wv[0] = _mm256_loadu_ps (w);
          if (nv > 1)
            wv[1] = _mm256_loadu_ps (w + 8);
        }
#pragma GCC unroll 6
      for (int r = 0; r < mr; r++)
        {
          __m256 x = _mm256_broadcast_ss ((const float *) a + (gsize) r * lda);
#pragma GCC unroll 2
          for (int v = 0; v < nv; v++)
            acc[r][v] = _mm256_fmadd_ps (x, wv[v], acc[r][v]);
        }
    }
#pragma GCC unroll 2
  for (int v = 0; v < nv; v++)
    {
      gboolean full = lo_c <= 8 * v && 8 * v + 8 <= hi_c;
      __m256i m = _mm256_setzero_si256 ();
      __m256 bv = bias ? _mm256_maskload_ps (bias + 8 * v, v ? wm1 : wm0)
                       : _mm256_setzero_ps ();

      if (!full)
        {
          __m256i col = _mm256_add_epi32 (idx, _mm256_set1_epi32 (8 * v));
          m = _mm256_and_si256 (
            _mm256_cmpgt_epi32 (col, _mm256_set1_epi32 (lo_c - 1)),
            _mm256_cmpgt_epi32 (_mm256_set1_epi32 (hi_c), col));
        }
#pragma GCC unroll 6
      for (int r = 0; r < mr; r++)
        {
          __m256 y = _mm256_add_ps (acc[r][v], bv);
          float *o = c + (gsize) r * ldc + 8 * v;

          y = _mm256_min_ps (vhi, _mm256_max_ps (vlo, y));
          if (full)
            _mm256_storeu_ps (o, y);
          else
            _mm256_maskstore_ps (o, m, y);
        }
    }
}

INSTANCES2 (micro_avx2, AVX2_T, 1)
INSTANCES2 (micro_avx2, AVX2_T, 2)
INSTANCES2 (micro_avx2, AVX2_T, 3)
INSTANCES2 (micro_avx2, AVX2_T, 4)
INSTANCES2 (micro_avx2, AVX2_T, 5)
INSTANCES2 (micro_avx2, AVX2_T, 6)
static const MicroFn avx2_table[6][2]
  = { ROW2 (micro_avx2, 1), ROW2 (micro_avx2, 2), ROW2 (micro_avx2, 3),
      ROW2 (micro_avx2, 4), ROW2 (micro_avx2, 5), ROW2 (micro_avx2, 6) };
DRIVER (gemm_avx2, AVX2_T, 8, 6, 2, avx2_table)

/* Rows of cin floats to rows of (cin + 1) / 2 bfloat16 pairs, 32 floats
 * at a time (VCVTNE2PS2BF16: nearest even, denormals to zero). */
BF16_T static void
pairs_bf16 (const float *a, int cin, gint64 m, guint32 *out)
{
  const int kw = (cin + 1) / 2;

  for (gint64 r = 0; r < m; r++, a += cin, out += kw)
    for (int k = 0; k < cin; k += 32)
      {
        int left = cin - k;
        __mmask16 m0 = (__mmask16) lane_mask (0, left);
        __mmask16 m1 = (__mmask16) lane_mask (0, left - 16);
        __mmask16 mw = (__mmask16) lane_mask (0, (MIN (left, 32) + 1) / 2);
        __m512 lo = _mm512_maskz_loadu_ps (m0, a + k);
        __m512 hi = _mm512_maskz_loadu_ps (m1, a + k + 16);

        _mm512_mask_storeu_epi32 (out + k / 2, mw,
                                  (__m512i) _mm512_cvtne2ps_pbh (hi, lo));
      }
}
#endif

void
hippo__bf16_pairs (const float *a, int cin, gint64 m, guint32 *out)
{
#ifdef HAVE_X86_VARIANTS
  pairs_bf16 (a, cin, m, out);
#else
  const int kw = (cin + 1) / 2;

  for (gint64 r = 0; r < m; r++, a += cin, out += kw)
    for (int k = 0; k < kw; k++)
      out[k]
        = hippo_bf16_round (a[2 * k])
          | (guint32) (2 * k + 1 < cin ? hippo_bf16_round (a[2 * k + 1]) : 0)
              << 16;
#endif
}

void
hippo__gemm_packed (const HippoPacked *pk, const void *a, gsize lda, gint64 m,
                    int c0, int c1, float *c, gsize ldc, float lo, float hi)
{
#ifdef HAVE_X86_VARIANTS
  if (pk->path == HIPPO_PATH_BF16_DOT)
    {
      gemm_bf16 (pk, a, lda, m, c0, c1, c, ldc, lo, hi);
      return;
    }
  if (pk->isa == HIPPO_ISA_AVX512)
    {
      gemm_avx512 (pk, a, lda, m, c0, c1, c, ldc, lo, hi);
      return;
    }
  if (pk->isa == HIPPO_ISA_AVX2)
    {
      gemm_avx2 (pk, a, lda, m, c0, c1, c, ldc, lo, hi);
      return;
    }
#endif
  g_return_if_fail (pk->path != HIPPO_PATH_BF16_DOT);
  gemm_generic (pk, a, lda, m, c0, c1, c, ldc, lo, hi);
}
