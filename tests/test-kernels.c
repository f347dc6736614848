/* The hand-vectorised kernels, every instruction-set variant this CPU runs,
 * against a scalar reference in double precision on random data: shapes
 * with channel counts around the vector widths, strides 1 and 2, every
 * padding, with and without bias and clamp.  Tolerance: 1e-5 of the sum of
 * the absolute products (float32 rounding of a 9-term sum is ~1e-7 of it);
 * the variants differ from each other only by FMA contraction.  The
 * direct convolution for few input channels (the RGB layer) the same way,
 * on kernel sizes 1, 3, 5, strides 1 and 2, dilations 1 and 2. */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "core/kernels.h"

static float
frand (GRand *r)
{
  return (float) g_rand_double_range (r, -1.0, 1.0);
}

/* Compares one variant with the reference on one configuration; returns
 * the worst error relative to the magnitude. */
static double
check_dw3x3 (HippoIsa isa, GRand *r, int ih, int iw, int c, int s, int pt,
             int pl, gboolean bias, gboolean clamp)
{
  HippoNode node;
  HippoShape is = { ih, iw, c };
  int oh, ow;
  float *in, *out, *w, *b = NULL;
  double worst = 0;
  gboolean done;

  memset (&node, 0, sizeof node);
  /* output size as 'same' with this stride, at least 1 */
  oh = MAX (1, (ih + 2 * pt - 3) / s + 1);
  ow = MAX (1, (iw + 2 * pl - 3) / s + 1);
  node.op = HIPPO_OP_DWCONV;
  node.h = oh, node.w = ow, node.c = c, node.cin = c, node.mult = 1;
  node.kh = node.kw = 3, node.sh = node.sw = s, node.dh = node.dw = 1;
  node.pad_t = pt, node.pad_l = pl;
  node.act = clamp ? HIPPO_ACT_CLAMP : HIPPO_ACT_NONE;
  node.act_lo = 0.f, node.act_hi = 0.5f;
  in = g_new (float, (gsize) 2 * ih * iw * c);
  out = g_new (float, (gsize) 2 * oh * ow * c);
  w = g_new (float, 9 * c);
  for (gsize i = 0; i < (gsize) 2 * ih * iw * c; i++)
    in[i] = frand (r);
  for (int i = 0; i < 9 * c; i++)
    w[i] = frand (r);
  if (bias)
    {
      b = g_new (float, c);
      for (int i = 0; i < c; i++)
        b[i] = frand (r);
    }
  node.weights = w, node.bias = b;
  /* two images; rows split in two calls, as threads split them */
  done = hippo_dw3x3_rows (isa, &node, is, in, out, 0, oh, FALSE);
  done = done && hippo_dw3x3_rows (isa, &node, is, in, out, oh, 2 * oh, FALSE);
  g_assert_true (done);
  for (int img = 0; img < 2; img++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++)
        for (int k = 0; k < c; k++)
          {
            double acc = b ? b[k] : 0, mag = b ? fabs (b[k]) : 0;
            float got = out[(((gsize) img * oh + oy) * ow + ox) * c + k];
            for (int ky = 0; ky < 3; ky++)
              for (int kx = 0; kx < 3; kx++)
                {
                  int iy = oy * s - pt + ky, ix = ox * s - pl + kx;
                  double t;
                  if (iy < 0 || iy >= ih || ix < 0 || ix >= iw)
                    continue;
                  t = (double) in[(((gsize) img * ih + iy) * iw + ix) * c + k]
                      * w[(ky * 3 + kx) * c + k];
                  acc += t;
                  mag += fabs (t);
                }
            if (clamp)
              acc = CLAMP (acc, 0.0, 0.5);
            worst = MAX (worst, fabs (got - acc) / (mag + 1e-30));
            if (fabs (got - acc) > 1e-5 * mag + 1e-30)
              g_error ("%s dw3x3 %dx%dx%d s%d pad %d,%d bias %d clamp %d: "
                       "at (%d,%d,%d,%d) got %.8g want %.8g",
                       hippo_isa_name (isa), ih, iw, c, s, pt, pl, bias,
                       clamp, img, oy, ox, k, got, acc);
          }
  g_free (in);
  g_free (out);
  g_free (w);
  g_free (b);
  return worst;
}

static void
test_dw3x3 (gconstpointer data)
{
  HippoIsa isa = GPOINTER_TO_INT (data);
  static const int sizes[] = { 1, 2, 3, 4, 5, 7, 8, 13 };
  static const int channels[] = { 1, 3, 4, 5, 8, 9, 15, 16, 17, 24, 33, 48 };
  g_autoptr (GRand) r = g_rand_new_with_seed (7);
  double worst = 0;
  guint n = 0;

  if (isa > hippo_isa_best ())
    {
      g_test_skip ("SKIPPED LOUDLY: this CPU does not run the variant");
      return;
    }
  for (guint a = 0; a < G_N_ELEMENTS (sizes); a++)
    for (guint ci = 0; ci < G_N_ELEMENTS (channels); ci++)
      for (int s = 1; s <= 2; s++)
        for (int pad = 0; pad <= 1; pad++)
          {
            int ih = sizes[a], iw = sizes[(a + ci) % G_N_ELEMENTS (sizes)];
            int pl = (pad + ci) % 2;
            if (ih + 2 * pad < 3 || iw + 2 * pl < 3)
              continue;
            worst = MAX (worst, check_dw3x3 (isa, r, ih, iw, channels[ci], s,
                                             pad, pl, (a + ci) % 2,
                                             (a + s) % 2));
            n++;
          }
  /* a MobileNet-sized layer */
  worst = MAX (worst, check_dw3x3 (isa, r, 28, 28, 144, 1, 1, 1, TRUE, TRUE));
  worst = MAX (worst, check_dw3x3 (isa, r, 28, 28, 144, 2, 0, 0, TRUE, TRUE));
  g_test_message ("%s: %u shapes, worst error %.2g of the magnitude",
                  hippo_isa_name (isa), n + 2, worst);
}

/* Nodes the 3x3 kernel is not for are left to the general one. */
static void
test_dw3x3_declines (void)
{
  HippoNode node;
  HippoShape is = { 4, 4, 2 };
  float buf[64] = { 0 };

  memset (&node, 0, sizeof node);
  node.op = HIPPO_OP_DWCONV;
  node.h = node.w = 4, node.c = node.cin = 2, node.mult = 1;
  node.kh = node.kw = 5, node.sh = node.sw = 1, node.dh = node.dw = 1;
  node.weights = buf;
  g_assert_false (hippo_dw3x3_rows (HIPPO_ISA_GENERIC, &node, is, buf, buf,
                                    0, 1, FALSE));
  node.kh = node.kw = 3, node.dh = 2;
  g_assert_false (hippo_dw3x3_rows (HIPPO_ISA_GENERIC, &node, is, buf, buf,
                                    0, 1, FALSE));
  node.dh = 1, node.act = HIPPO_ACT_SIGMOID;
  g_assert_false (hippo_dw3x3_rows (HIPPO_ISA_GENERIC, &node, is, buf, buf,
                                    0, 1, FALSE));
}

/* One direct-conv configuration (two images, pixels split in three calls
 * at odd points, as threads split them) against the reference; returns
 * the worst error relative to the magnitude. */
static double
check_stem (HippoIsa isa, GRand *r, int ih, int iw, int cin, int c, int k,
            int s, int d, int pt, int pl, gboolean bias, gboolean clamp)
{
  HippoNode node;
  HippoShape is = { ih, iw, cin };
  int oh, ow, taps = k * k * cin;
  gint64 np;
  float *in, *out, *w, *b = NULL;
  double worst = 0;
  gboolean done;

  memset (&node, 0, sizeof node);
  oh = MAX (1, (ih + 2 * pt - d * (k - 1) - 1) / s + 1);
  ow = MAX (1, (iw + 2 * pl - d * (k - 1) - 1) / s + 1);
  np = (gint64) 2 * oh * ow;
  node.op = HIPPO_OP_CONV;
  node.h = oh, node.w = ow, node.c = c, node.cin = cin;
  node.kh = node.kw = k, node.sh = node.sw = s, node.dh = node.dw = d;
  node.pad_t = node.pad_b = pt, node.pad_l = node.pad_r = pl;
  node.act = clamp ? HIPPO_ACT_CLAMP : HIPPO_ACT_NONE;
  node.act_lo = 0.f, node.act_hi = 0.5f;
  in = g_new (float, (gsize) 2 * ih * iw * cin);
  out = g_new (float, (gsize) np * c);
  w = g_new (float, (gsize) taps * c);
  for (gsize i = 0; i < (gsize) 2 * ih * iw * cin; i++)
    in[i] = frand (r);
  for (gsize i = 0; i < (gsize) taps * c; i++)
    w[i] = frand (r);
  if (bias)
    {
      b = g_new (float, c);
      for (int i = 0; i < c; i++)
        b[i] = frand (r);
    }
  node.weights = w, node.bias = b;
  done = hippo_conv_stem_pixels (isa, &node, is, in, out, 0, np / 3, FALSE);
  done = done
         && hippo_conv_stem_pixels (isa, &node, is, in, out, np / 3,
                                    MIN (np, np / 3 + 5), FALSE);
  done = done
         && hippo_conv_stem_pixels (isa, &node, is, in, out,
                                    MIN (np, np / 3 + 5), np, FALSE);
  g_assert_true (done);
  for (gint64 p = 0; p < np; p++)
    {
      int img = (int) (p / (oh * ow)), oy = (int) (p % (oh * ow)) / ow;
      int ox = (int) (p % ow);
      for (int co = 0; co < c; co++)
        {
          double acc = b ? b[co] : 0, mag = b ? fabs (b[co]) : 0;
          float got = out[p * c + co];
          for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
              for (int ci = 0; ci < cin; ci++)
                {
                  int iy = oy * s - pt + ky * d, ix = ox * s - pl + kx * d;
                  double t;
                  if (iy < 0 || iy >= ih || ix < 0 || ix >= iw)
                    continue;
                  t = (double) in[(((gsize) img * ih + iy) * iw + ix) * cin
                                  + ci]
                      * w[(gsize) ((ky * k + kx) * cin + ci) * c + co];
                  acc += t;
                  mag += fabs (t);
                }
          if (clamp)
            acc = CLAMP (acc, 0.0, 0.5);
          worst = MAX (worst, fabs (got - acc) / (mag + 1e-30));
          if (fabs (got - acc) > 1e-5 * mag + 1e-30)
            g_error ("%s stem %dx%dx%d -> %d k%d s%d d%d pad %d,%d: at "
                     "(%" G_GINT64_FORMAT ",%d) got %.8g want %.8g",
                     hippo_isa_name (isa), ih, iw, cin, c, k, s, d, pt, pl,
                     p, co, got, acc);
        }
    }
  g_free (in);
  g_free (out);
  g_free (w);
  g_free (b);
  return worst;
}

static void
test_stem (gconstpointer data)
{
  HippoIsa isa = GPOINTER_TO_INT (data);
  static const int sizes[] = { 1, 2, 3, 5, 8, 13, 17 };
  static const int couts[] = { 16, 32, 48, 64 };
  g_autoptr (GRand) r = g_rand_new_with_seed (11);
  double worst = 0;
  guint n = 0;

  if (isa > hippo_isa_best ())
    {
      g_test_skip ("SKIPPED LOUDLY: this CPU does not run the variant");
      return;
    }
  for (guint a = 0; a < G_N_ELEMENTS (sizes); a++)
    for (int cin = 1; cin <= 4; cin++)
      for (int k = 1; k <= 5; k += 2)
        for (int s = 1; s <= 2; s++)
          {
            int ih = sizes[a], iw = sizes[(a + cin) % G_N_ELEMENTS (sizes)];
            int d = (a + k) % 3 == 0 && k > 1 ? 2 : 1;
            int pt = (a + s) % 2 ? k / 2 : 0, pl = (cin + k) % 2 ? k / 2 : 1;
            if (ih + 2 * pt < d * (k - 1) + 1 || iw + 2 * pl < d * (k - 1) + 1)
              continue;
            worst = MAX (worst,
                         check_stem (isa, r, ih, iw, cin,
                                     couts[(a + cin + k) % 4], k, s, d, pt, pl,
                                     (a + s) % 2, (cin + s) % 2));
            n++;
          }
  /* MobileNetV2's and InceptionV3's first layers, at reduced size */
  worst = MAX (worst, check_stem (isa, r, 33, 31, 3, 32, 3, 2, 1, 1, 1, TRUE,
                                  TRUE));
  worst = MAX (worst, check_stem (isa, r, 29, 30, 3, 48, 3, 2, 1, 0, 0, TRUE,
                                  FALSE));
  g_test_message ("%s: %u shapes, worst error %.2g of the magnitude",
                  hippo_isa_name (isa), n + 2, worst);
}

/* Nodes the direct kernel is not for are left to im2col + sgemm. */
static void
test_stem_declines (void)
{
  HippoNode node;
  HippoShape is = { 4, 4, 3 };
  float buf[2048] = { 0 };

  memset (&node, 0, sizeof node);
  node.op = HIPPO_OP_CONV;
  node.h = node.w = 4, node.c = 16, node.cin = 8;
  node.kh = node.kw = 3, node.sh = node.sw = 1, node.dh = node.dw = 1;
  node.weights = buf;
  /* too many input channels */
  g_assert_false (hippo_conv_stem_pixels (HIPPO_ISA_GENERIC, &node, is, buf,
                                          buf, 0, 1, FALSE));
  /* too many taps */
  node.cin = 3, node.kh = node.kw = 9;
  g_assert_false (hippo_conv_stem_pixels (HIPPO_ISA_GENERIC, &node, is, buf,
                                          buf, 0, 1, FALSE));
  /* channels not a multiple of the vector width */
  node.kh = node.kw = 3, node.c = 6;
  g_assert_false (hippo_conv_stem_pixels (HIPPO_ISA_GENERIC, &node, is, buf,
                                          buf, 0, 1, FALSE));
  /* an activation it does not fuse */
  node.c = 16, node.act = HIPPO_ACT_SIGMOID;
  g_assert_false (hippo_conv_stem_pixels (HIPPO_ISA_GENERIC, &node, is, buf,
                                          buf, 0, 1, FALSE));
  g_assert_true (hippo_conv_stem_pixels (HIPPO_ISA_GENERIC, &node, is, buf,
                                         buf, 0, 1, TRUE));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/kernels/dw3x3/generic",
                        GINT_TO_POINTER (HIPPO_ISA_GENERIC), test_dw3x3);
  g_test_add_data_func ("/kernels/dw3x3/avx2",
                        GINT_TO_POINTER (HIPPO_ISA_AVX2), test_dw3x3);
  g_test_add_data_func ("/kernels/dw3x3/avx512",
                        GINT_TO_POINTER (HIPPO_ISA_AVX512), test_dw3x3);
  g_test_add_func ("/kernels/dw3x3/declines", test_dw3x3_declines);
  g_test_add_data_func ("/kernels/stem/generic",
                        GINT_TO_POINTER (HIPPO_ISA_GENERIC), test_stem);
  g_test_add_data_func ("/kernels/stem/avx2",
                        GINT_TO_POINTER (HIPPO_ISA_AVX2), test_stem);
  g_test_add_data_func ("/kernels/stem/avx512",
                        GINT_TO_POINTER (HIPPO_ISA_AVX512), test_stem);
  g_test_add_func ("/kernels/stem/declines", test_stem_declines);
  return g_test_run ();
}
