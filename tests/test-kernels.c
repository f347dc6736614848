/* The hand-vectorised kernels, every instruction-set variant this CPU runs,
 * against a scalar reference in double precision on random data: shapes
 * with channel counts around the vector widths, strides 1 and 2, every
 * padding, with and without bias and clamp.  Tolerance: 1e-5 of the sum of
 * the absolute products (float32 rounding of a 9-term sum is ~1e-7 of it);
 * the variants differ from each other only by FMA contraction.  The
 * direct convolution for few input channels (the RGB layer) the same way,
 * on kernel sizes 1, 3, 5, strides 1 and 2, dilations 1 and 2.  The
 * bfloat16 1x1 convolution, on the AMX tiles and emulated, against the
 * sum of its rounded operands and against float32 (check_bf16()). */
#include <float.h>
#include <math.h>
#include <string.h>

#include <glib.h>

#include "engine/kernels.h"

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

/* bfloat16 rounding: nearest even, below FLT_MIN to zero, NaN kept. */
static void
test_bf16_round (void)
{
  g_assert_cmphex (hippo_bf16_round (1.f), ==, 0x3f80);
  g_assert_cmphex (hippo_bf16_round (-2.f), ==, 0xc000);
  /* 1 + 2^-8 lies halfway: to the even 1.0; 1 + 3 * 2^-8 to 1 + 2^-6 */
  g_assert_cmphex (hippo_bf16_round (1.f + 1.f / 256), ==, 0x3f80);
  g_assert_cmphex (hippo_bf16_round (1.f + 3.f / 256), ==, 0x3f82);
  g_assert_cmphex (hippo_bf16_round (1.f + 1.f / 256 + 1.f / 65536), ==,
                   0x3f81);
  g_assert_cmphex (hippo_bf16_round (1e-40f), ==, 0x0000);
  g_assert_cmphex (hippo_bf16_round (-1e-40f), ==, 0x8000);
  g_assert_cmphex (hippo_bf16_round (INFINITY), ==, 0x7f80);
  g_assert_cmphex (hippo_bf16_round (FLT_MAX), ==, 0x7f80);
  g_assert_true (isnan (hippo_bf16_to_float (hippo_bf16_round (NAN))));
  g_assert_cmpfloat (hippo_bf16_to_float (0x3fc0), ==, 1.5f);
}

/* One 1x1 conv in bfloat16 (amx or emulated) on random data, computed in
 * three pixel ranges and, for channel splits, in column ranges.  Checked
 * against (a) the double-precision sum of the bf16-rounded operands,
 * within 1e-5 of the sum of absolute products (float32 accumulation), and
 * (b) the float32 conv of the unrounded operands, within 2^-7 of that sum
 * (each operand is off by at most 2^-9 of itself); columns outside the
 * range are left alone. */
static double
check_bf16 (gboolean amx, GRand *r, int np, int cin, int c, int c0, int c1,
            gboolean bias, HippoAct act, gboolean no_act)
{
  HippoNode node;
  HippoPacked *pk;
  float *in, *out, *w, *b = NULL;
  void *scratch;
  double worst = 0;

  memset (&node, 0, sizeof node);
  node.op = HIPPO_OP_CONV;
  node.h = 1, node.w = np, node.c = c, node.cin = cin;
  node.kh = node.kw = node.sh = node.sw = node.dh = node.dw = 1;
  node.act = act;
  node.act_lo = 0.f, node.act_hi = 1.5f;
  in = g_new (float, (gsize) np * cin);
  out = g_new (float, (gsize) np * c);
  w = g_new (float, (gsize) cin * c);
  for (gsize i = 0; i < (gsize) np * cin; i++)
    in[i] = frand (r) * (i % 7 == 0 ? 8.f : 1.f);
  for (gsize i = 0; i < (gsize) cin * c; i++)
    w[i] = frand (r) * 0.5f;
  if (bias)
    {
      b = g_new (float, c);
      for (int i = 0; i < c; i++)
        b[i] = frand (r);
    }
  for (gsize i = 0; i < (gsize) np * c; i++)
    out[i] = NAN;
  node.weights = w, node.bias = b;
  pk = hippo_packed_new (&node, amx);
  g_assert_nonnull (pk);
  g_assert_true (hippo_packed_is_amx (pk) == amx);
  scratch = g_malloc (hippo_packed_scratch_bytes (pk));
  hippo_conv1x1_bf16 (pk, &node, in, out, 0, np / 3, c0, c1, scratch, no_act);
  hippo_conv1x1_bf16 (pk, &node, in, out, np / 3, MIN (np, np / 3 + 33), c0,
                      c1, scratch, no_act);
  hippo_conv1x1_bf16 (pk, &node, in, out, MIN (np, np / 3 + 33), np, c0, c1,
                      scratch, no_act);
  for (int p = 0; p < np; p++)
    for (int co = 0; co < c; co++)
      {
        double acc = b ? b[co] : 0, exact = acc, mag = b ? fabs (b[co]) : 0;
        float got = out[(gsize) p * c + co];

        if (co < c0 || co >= c1)
          {
            if (!isnan (got))
              g_error ("bf16 %s %dx%d -> %d: column %d outside [%d, %d) "
                       "written", amx ? "amx" : "emulated", np, cin, c, co,
                       c0, c1);
            continue;
          }
        for (int ci = 0; ci < cin; ci++)
          {
            float x = in[(gsize) p * cin + ci], y = w[(gsize) ci * c + co];
            double t = (double) hippo_bf16_to_float (hippo_bf16_round (x))
                       * hippo_bf16_to_float (hippo_bf16_round (y));
            acc += t;
            exact += (double) x * y;
            mag += fabs ((double) x * y);
          }
        if (!no_act && act == HIPPO_ACT_CLAMP)
          {
            acc = CLAMP (acc, 0.0, 1.5);
            exact = CLAMP (exact, 0.0, 1.5);
          }
        else if (!no_act && act == HIPPO_ACT_SIGMOID)
          {
            /* the sigmoid's slope is at most 1/4 */
            acc = 1 / (1 + exp (-acc));
            exact = 1 / (1 + exp (-exact));
          }
        if (mag > 0.1) /* past the absolute slack */
          worst = MAX (worst, fabs (got - acc) / mag);
        if (!(fabs (got - acc) <= 1e-5 * mag + 1e-7)
            || !(fabs (got - exact) <= mag / 128 + 1e-7))
          g_error ("bf16 %s %dx%d -> %d [%d, %d) bias %d act %d no_act %d: "
                   "at (%d,%d) got %.8g want %.8g (float32 %.8g)",
                   amx ? "amx" : "emulated", np, cin, c, c0, c1, bias, act,
                   no_act, p, co, got, acc, exact);
      }
  g_free (scratch);
  hippo_packed_free (pk);
  g_free (in);
  g_free (out);
  g_free (w);
  g_free (b);
  return worst;
}

static void
test_bf16 (gconstpointer data)
{
  gboolean amx = GPOINTER_TO_INT (data);
  static const int cins[] = { 1, 3, 16, 24, 31, 32, 33, 64, 70, 144 };
  static const int couts[] = { 1, 5, 16, 17, 24, 32, 40, 48, 96, 160 };
  static const int rows[] = { 1, 5, 31, 32, 33, 49, 70 };
  g_autoptr (GRand) r = g_rand_new_with_seed (23);
  double worst = 0;
  guint n = 0;

  if (amx && !hippo_bf16_amx_usable ())
    {
      g_test_skip ("SKIPPED LOUDLY: no AMX-BF16 on this CPU (or the kernel "
                   "refused the tile state); the emulated path is tested");
      return;
    }
  for (guint a = 0; a < G_N_ELEMENTS (cins); a++)
    for (guint k = 0; k < G_N_ELEMENTS (couts); k++)
      {
        int cin = cins[a], c = couts[k];
        int np = rows[(a + k) % G_N_ELEMENTS (rows)];
        HippoAct act = (a + k) % 3 == 0   ? HIPPO_ACT_NONE
                       : (a + k) % 3 == 1 ? HIPPO_ACT_CLAMP
                                          : HIPPO_ACT_SIGMOID;

        worst = MAX (worst, check_bf16 (amx, r, np, cin, c, 0, c, (a + k) % 2,
                                        act, (a * k) % 5 == 4));
        n++;
        /* the session's channel split: groups of 16, and any range */
        if (c > 16)
          {
            worst = MAX (worst, check_bf16 (amx, r, np, cin, c, 16, c, TRUE,
                                            act, FALSE));
            worst = MAX (worst, check_bf16 (amx, r, np, cin, c, 3, c - 2,
                                            FALSE, HIPPO_ACT_CLAMP, FALSE));
            n += 2;
          }
      }
  /* MobileNetV2's 7x7 projection and 112x112 expansion, at reduced size */
  worst = MAX (worst, check_bf16 (amx, r, 49, 960, 160, 0, 160, TRUE,
                                  HIPPO_ACT_NONE, FALSE));
  worst = MAX (worst, check_bf16 (amx, r, 300, 16, 96, 0, 96, TRUE,
                                  HIPPO_ACT_CLAMP, FALSE));
  g_test_message ("bf16 %s: %u shapes, worst error %.2g of the magnitude "
                  "against the rounded operands",
                  amx ? "amx" : "emulated", n + 2, worst);
}

/* Only 1x1 stride-1 convolutions are packed. */
static void
test_bf16_declines (void)
{
  HippoNode node;
  float buf[64] = { 0 };

  memset (&node, 0, sizeof node);
  node.op = HIPPO_OP_CONV;
  node.h = node.w = 4, node.c = 2, node.cin = 2;
  node.kh = node.kw = 3, node.sh = node.sw = node.dh = node.dw = 1;
  node.weights = buf;
  g_assert_false (hippo_packed_applies (&node));
  g_assert_null (hippo_packed_new (&node, FALSE));
  node.kh = node.kw = 1, node.sh = 2;
  g_assert_null (hippo_packed_new (&node, FALSE));
  node.sh = 1, node.op = HIPPO_OP_DWCONV;
  g_assert_null (hippo_packed_new (&node, FALSE));
  node.op = HIPPO_OP_CONV;
  g_assert_true (hippo_packed_applies (&node));
  hippo_packed_free (hippo_packed_new (&node, FALSE));
  hippo_packed_free (NULL);
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
  g_test_add_func ("/kernels/bf16/round", test_bf16_round);
  g_test_add_data_func ("/kernels/bf16/emulated", GINT_TO_POINTER (FALSE),
                        test_bf16);
  g_test_add_data_func ("/kernels/bf16/amx", GINT_TO_POINTER (TRUE),
                        test_bf16);
  g_test_add_func ("/kernels/bf16/declines", test_bf16_declines);
  return g_test_run ();
}
