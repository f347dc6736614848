/* bfloat16 arithmetic: rounding, CPU features, and the AMX tile kernel
 * of the 1x1 convolutions (the other paths are in kernels-1x1.c).
 * Activations and weights are rounded to bfloat16 (round to nearest even;
 * values below FLT_MIN become zero, as the hardware conversion does),
 * products summed in float32.
 *
 * On CPUs with AMX-BF16 the weights are laid out once, when the session
 * is made, in the tile unit's pair-interleaved format: for each block of 16
 * output channels, rows of 16 channel pairs (input channels 2j and 2j+1),
 * the input channels padded with zeros to a multiple of 32.  A call then
 * converts 32 pixels at a time to bfloat16 (zero padded the same way),
 * multiplies them by two blocks of channels in four 16x16 accumulator
 * tiles, and adds the bias and the clamp while storing the tiles.  Each
 * output sums its channel pairs in one order whatever the pixel block, so
 * the result does not depend on batch or threads.  HIPPOTAG_NO_AMX=1
 * turns this path off as if the CPU had no AMX.  Tested against the sum
 * of the rounded operands and float32 (tests/test-kernels.c). */
#include "hippo-config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)            \
  && defined(__linux__)
#define HAVE_AMX 1
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* Pixels per tile pass (two 16-row tiles). */
#define ROWS 32

guint16
hippo_bf16_round (float f)
{
  guint32 u;

  if (fabsf (f) < FLT_MIN)
    f = copysignf (0.f, f);
  memcpy (&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return (guint16) ((u >> 16) | 0x40); /* NaN stays NaN */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (guint16) (u >> 16);
}

float
hippo_bf16_to_float (guint16 h)
{
  guint32 u = (guint32) h << 16;
  float f;

  memcpy (&f, &u, 4);
  return f;
}

gboolean
hippo_bf16_amx_usable (void)
{
#ifdef HAVE_AMX
  const char *off = g_getenv ("HIPPOTAG_NO_AMX");

  if (off != NULL && *off != '\0' && strcmp (off, "0") != 0)
    return FALSE;
  /* Linux hands out the 8 KB tile state only to a process that asks for
   * it; asking again is harmless. */
  __builtin_cpu_init ();
  if (!__builtin_cpu_supports ("avx512f")
      || !__builtin_cpu_supports ("avx512bw")
      || !__builtin_cpu_supports ("avx512vl"))
    return FALSE;
  {
    unsigned a, b, c, d;

    /* CPUID.(7,0):EDX bit 22 AMX-BF16, bit 24 AMX-TILE;
     * CPUID.(7,1):EAX bit 5 AVX512-BF16 */
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    if (!(d & (1u << 22)) || !(d & (1u << 24)))
      return FALSE;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
    if (!(a & (1u << 5)))
      return FALSE;
  }
  /* ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA */
  return syscall (SYS_arch_prctl, 0x1023, 18) == 0;
#else
  return FALSE;
#endif
}

gboolean
hippo__bf16_dot_usable (void)
{
#ifdef HAVE_AMX
  unsigned a, b, c, d;

  __builtin_cpu_init ();
  if (!__builtin_cpu_supports ("avx512f")
      || !__builtin_cpu_supports ("avx512bw")
      || !__builtin_cpu_supports ("avx512vl"))
    return FALSE;
  /* CPUID.(7,1):EAX bit 5 AVX512-BF16 */
  __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
  return (a & (1u << 5)) != 0;
#else
  return FALSE;
#endif
}

/* The AMX layout: [cout / 16 blocks][kp / 2][16][2], kp = cin rounded up
 * to 32, zeros in the padding. */
guint16 *
hippo__amx_pack (const HippoNode *node, int *kp_out)
{
  int cin = node->cin, cout = node->c;
  int kp = (cin + 31) / 32 * 32, nblocks = (cout + 15) / 16;
  gsize block = (gsize) kp * 16;
  guint16 *tiles = g_try_malloc0_n ((gsize) nblocks * block, sizeof (guint16));

  if (tiles == NULL)
    return NULL;
  for (int k = 0; k < cin; k++)
    for (int n = 0; n < cout; n++)
      tiles[(gsize) (n / 16) * block + (gsize) (k / 2) * 32
            + (gsize) (n % 16) * 2 + (k & 1)]
        = hippo_bf16_round (node->weights[(gsize) k * cout + n]);
  *kp_out = kp;
  return tiles;
}

gsize
hippo__amx_scratch_bytes (int kp)
{
  return (gsize) ROWS * kp * sizeof (guint16) + (gsize) ROWS * 32 * sizeof (float)
         + 64;
}

#ifdef HAVE_AMX
typedef struct
{
  guint8 palette, start_row;
  guint8 reserved[14];
  guint16 colsb[16];
  guint8 rows[16];
} TileConfig;

#define AMX_TARGET                                                             \
  __attribute__ ((target ("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,"       \
                          "avx512bf16")))

/* Rows [0, nr) of in (row stride cin) to bfloat16 in a (row stride kp),
 * zeros after cin and in rows nr..ROWS-1. */
AMX_TARGET static void
convert_rows (const float *in, int cin, int kp, int nr, guint16 *a)
{
  for (int r = 0; r < ROWS; r++)
    {
      guint16 *dst = a + (gsize) r * kp;
      const float *src = in + (gsize) r * cin;

      if (r >= nr)
        {
          memset (dst, 0, (gsize) kp * sizeof (guint16));
          continue;
        }
      for (int k = 0; k < kp; k += 32)
        {
          int left = cin - k;
          __mmask16 m0 = left >= 16 ? 0xffff
                         : left > 0 ? (__mmask16) ((1u << left) - 1)
                                    : 0;
          __mmask16 m1 = left >= 32  ? 0xffff
                         : left > 16 ? (__mmask16) ((1u << (left - 16)) - 1)
                                     : 0;
          __m512 lo = _mm512_maskz_loadu_ps (m0, src + k);
          __m512 hi = _mm512_maskz_loadu_ps (m1, src + k + 16);

          _mm512_storeu_si512 ((void *) (dst + k),
                               (__m512i) _mm512_cvtne2ps_pbh (hi, lo));
        }
    }
}

AMX_TARGET static void
conv1x1_amx (const HippoPacked *pk, const HippoNode *node, const float *in,
             float *out, gint64 p0, gint64 p1, int c0, int c1, guint16 *a,
             float *c, float lo_f, float hi_f)
{
  TileConfig cfg;
  const int kp = pk->kp, cout = pk->cout;
  const gsize block = (gsize) kp * 16;
  const int nb0 = c0 / 16, nb1 = (c1 + 15) / 16;
  const __m512 lo = _mm512_set1_ps (lo_f), hi = _mm512_set1_ps (hi_f);

  memset (&cfg, 0, sizeof cfg);
  cfg.palette = 1;
  for (int t = 0; t < 8; t++)
    {
      cfg.rows[t] = 16;
      cfg.colsb[t] = 64;
    }
  _tile_loadconfig (&cfg);
  for (gint64 r0 = p0; r0 < p1; r0 += ROWS)
    {
      int nr = (int) MIN (ROWS, p1 - r0);

      convert_rows (in + r0 * pk->cin, pk->cin, kp, nr, a);
      for (int nb = nb0; nb < nb1; nb += 2)
        {
          const guint16 *b0 = pk->tiles + (gsize) nb * block;
          int nj = nb + 1 < nb1 ? 2 : 1;

          _tile_zero (0);
          _tile_zero (2);
          if (nj == 2)
            {
              const guint16 *b1 = b0 + block;

              _tile_zero (1);
              _tile_zero (3);
              for (int k = 0; k < kp; k += 32)
                {
                  _tile_loadd (4, a + k, kp * 2);
                  _tile_loadd (6, b0 + (gsize) k * 16, 64);
                  _tile_loadd (5, a + (gsize) 16 * kp + k, kp * 2);
                  _tile_loadd (7, b1 + (gsize) k * 16, 64);
                  _tile_dpbf16ps (0, 4, 6);
                  _tile_dpbf16ps (1, 4, 7);
                  _tile_dpbf16ps (2, 5, 6);
                  _tile_dpbf16ps (3, 5, 7);
                }
              _tile_stored (1, c + 16, 128);
              _tile_stored (3, c + 16 * 32 + 16, 128);
            }
          else
            for (int k = 0; k < kp; k += 32)
              {
                _tile_loadd (4, a + k, kp * 2);
                _tile_loadd (6, b0 + (gsize) k * 16, 64);
                _tile_loadd (5, a + (gsize) 16 * kp + k, kp * 2);
                _tile_dpbf16ps (0, 4, 6);
                _tile_dpbf16ps (2, 5, 6);
              }
          _tile_stored (0, c, 128);
          _tile_stored (2, c + 16 * 32, 128);
          for (int j = 0; j < nj; j++)
            {
              int col = (nb + j) * 16;
              int from = MAX (col, c0), to = MIN (col + 16, c1);
              __mmask16 m
                = (__mmask16) (((1u << (to - from)) - 1) << (from - col));
              __m512 bias = node->bias
                              ? _mm512_maskz_loadu_ps (m, node->bias + col)
                              : _mm512_setzero_ps ();
              float *o = out + r0 * cout + col;

              for (int r = 0; r < nr; r++, o += cout)
                {
                  __m512 v = _mm512_add_ps (
                    _mm512_loadu_ps (c + r * 32 + j * 16), bias);

                  /* bound first: a NaN passes, as in hippo_act_apply() */
                  v = _mm512_min_ps (hi, _mm512_max_ps (lo, v));
                  _mm512_mask_storeu_ps (o, m, v);
                }
            }
        }
    }
  _tile_release ();
}
#endif

void
hippo__amx_conv1x1 (const HippoPacked *pk, const HippoNode *node,
                    const float *in, float *out, gint64 p0, gint64 p1, int c0,
                    int c1, void *scratch, float lo, float hi)
{
#ifdef HAVE_AMX
  char *base = (char *) (((guintptr) scratch + 63) & ~(guintptr) 63);
  guint16 *a = (guint16 *) base;
  float *c = (float *) (base + (gsize) ROWS * pk->kp * sizeof (guint16));

  if (p0 < p1)
    conv1x1_amx (pk, node, in, out, p0, p1, c0, c1, a, c, lo, hi);
#else
  g_return_if_reached ();
#endif
}
