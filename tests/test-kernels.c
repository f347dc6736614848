/* The hand-vectorised kernels, every instruction-set variant this CPU runs,
 * against a scalar reference in double precision on random data: shapes
 * with channel counts around the vector widths, strides 1 and 2, every
 * padding, with and without bias and clamp.  Tolerance: 1e-5 of the sum of
 * the absolute products (float32 rounding of a 9-term sum is ~1e-7 of it);
 * the variants differ from each other only by FMA contraction.  The
 * direct convolution for few input channels (the RGB layer) the same way,
 * on kernel sizes 1, 3, 5, strides 1 and 2, dilations 1 and 2.  The
 * packed 1x1 convolutions (kernels-1x1.c) on every path (float32,
 * bfloat16 emulated, VDPBF16PS, AMX) and variant the CPU runs: splits of
 * pixels and channels bit-identical, against double precision and
 * OpenBLAS, and the variants against each other (run_packed()). */
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

/* The packed 1x1 convolutions (kernels-1x1.c): one node on random data
 * (inputs with spikes of 8x, so sums cancel), run once over all pixels and
 * channels, then again in three pixel ranges split at odd points and a
 * channel range, then pixel by pixel: the splits must give identical bits
 * (the fixed summation order: results do not depend on batch, threads or
 * tiling) and leave the columns outside the range untouched.  Checked
 * against the double-precision sum: float32 within 1e-5 of the sum of the
 * absolute products; bfloat16 within 1e-5 of it against the sum of the
 * rounded operands (float32 accumulation) and 2^-7 against the float32
 * conv (each operand is off by at most 2^-9 of itself). */
typedef struct
{
  int np, cin, c, c0, c1;
  gboolean bias;
  HippoAct act;
  gboolean no_act;
} Case;

typedef struct
{
  HippoNode node;
  float *in, *w, *b;
} Layer;

static void
layer_init (Layer *l, GRand *r, const Case *k)
{
  memset (l, 0, sizeof *l);
  l->node.op = HIPPO_OP_CONV;
  l->node.h = 1, l->node.w = k->np, l->node.c = k->c, l->node.cin = k->cin;
  l->node.kh = l->node.kw = l->node.sh = l->node.sw = 1;
  l->node.dh = l->node.dw = 1;
  l->node.act = k->act;
  l->node.act_lo = 0.f, l->node.act_hi = 1.5f;
  l->in = g_new (float, (gsize) k->np * k->cin);
  l->w = g_new (float, (gsize) k->cin * k->c);
  for (gsize i = 0; i < (gsize) k->np * k->cin; i++)
    l->in[i] = frand (r) * (i % 7 == 0 ? 8.f : 1.f);
  for (gsize i = 0; i < (gsize) k->cin * k->c; i++)
    l->w[i] = frand (r) * 0.5f;
  if (k->bias)
    {
      l->b = g_new (float, k->c);
      for (int i = 0; i < k->c; i++)
        l->b[i] = frand (r);
    }
  l->node.weights = l->w, l->node.bias = l->b;
}

static void
layer_clear (Layer *l)
{
  g_free (l->in);
  g_free (l->w);
  g_free (l->b);
}

static float *
nan_out (const Case *k)
{
  float *out = g_new (float, (gsize) k->np * k->c);

  for (gsize i = 0; i < (gsize) k->np * k->c; i++)
    out[i] = NAN;
  return out;
}

static gboolean
path_runs (HippoPath path, HippoIsa isa)
{
  if (isa > hippo_isa_best ())
    return FALSE;
  if (path == HIPPO_PATH_BF16_DOT)
    return isa == HIPPO_ISA_AVX512 && hippo__bf16_dot_usable ();
  if (path == HIPPO_PATH_BF16_AMX)
    return isa == HIPPO_ISA_AVX512 && hippo_bf16_amx_usable ();
  return TRUE;
}

static const char *
path_label (HippoPath path, HippoIsa isa)
{
  static char buf[64];

  g_snprintf (buf, sizeof buf, "%s/%s", hippo__path_name (path),
              hippo_isa_name (isa));
  return buf;
}

/* Runs the case through path on isa: all pixels and channels at once
 * (returned), then split; the splits are checked bit for bit here. */
static float *
run_packed (HippoPath path, HippoIsa isa, const Layer *l, const Case *k)
{
  HippoPacked *pk = hippo__packed_new (&l->node, isa, path);
  float *whole = nan_out (k), *split = nan_out (k);
  gsize bytes;
  void *scratch;
  gint64 np = k->np, a = np / 3, b = MIN (np, np / 3 + 33);

  g_assert_nonnull (pk);
  g_assert_cmpint (pk->path, ==, path);
  bytes = hippo_packed_scratch_bytes (pk);
  scratch = bytes ? g_malloc (bytes) : NULL;
  hippo__conv1x1_packed (pk, &l->node, l->in, whole, 0, np, 0, k->c, scratch,
                         k->no_act);
  hippo__conv1x1_packed (pk, &l->node, l->in, split, 0, a, k->c0, k->c1,
                         scratch, k->no_act);
  hippo__conv1x1_packed (pk, &l->node, l->in, split, a, b, k->c0, k->c1,
                         scratch, k->no_act);
  hippo__conv1x1_packed (pk, &l->node, l->in, split, b, np, k->c0, k->c1,
                         scratch, k->no_act);
  for (gint64 p = 0; p < np; p++)
    for (int co = 0; co < k->c; co++)
      {
        float got = split[p * k->c + co], want = whole[p * k->c + co];
        gboolean inside = co >= k->c0 && co < k->c1;

        if (inside ? memcmp (&got, &want, 4) != 0 : !isnan (got))
          g_error ("%s %dx%d -> %d [%d, %d): pixel %" G_GINT64_FORMAT
                   " channel %d: %.9g split, %.9g whole%s",
                   path_label (path, isa), k->np, k->cin, k->c, k->c0, k->c1,
                   p, co, got, want, inside ? "" : " (outside the range)");
      }
  /* pixel by pixel (a batch of one) */
  for (gint64 p = 0; p < np; p += 1 + np / 5)
    {
      float *one = split + p * k->c;
      hippo__conv1x1_packed (pk, &l->node, l->in + p * k->cin, one, 0, 1, 0,
                             k->c, scratch, k->no_act);
      if (memcmp (one, whole + p * k->c, (gsize) k->c * 4) != 0)
        g_error ("%s %dx%d -> %d: pixel %" G_GINT64_FORMAT " alone differs",
                 path_label (path, isa), k->np, k->cin, k->c, p);
    }
  g_free (scratch);
  g_free (split);
  hippo_packed_free (pk);
  return whole;
}

static double
apply_act (double v, const Case *k)
{
  if (!k->no_act && k->act == HIPPO_ACT_CLAMP)
    return CLAMP (v, 0.0, 1.5);
  if (!k->no_act && k->act == HIPPO_ACT_SIGMOID)
    return 1 / (1 + exp (-v)); /* its slope is at most 1/4 */
  return v;
}

/* Checks out against the double-precision sums; returns the worst error
 * relative to the magnitude. */
static double
check_sums (HippoPath path, HippoIsa isa, const Layer *l, const Case *k,
            const float *out)
{
  gboolean bf16 = path != HIPPO_PATH_F32;
  double worst = 0;

  for (int p = 0; p < k->np; p++)
    for (int co = 0; co < k->c; co++)
      {
        double b = l->b ? l->b[co] : 0, acc = b, exact = b;
        double mag = fabs (b);
        float got = out[(gsize) p * k->c + co];

        for (int ci = 0; ci < k->cin; ci++)
          {
            float x = l->in[(gsize) p * k->cin + ci];
            float y = l->w[(gsize) ci * k->c + co];

            acc += (double) hippo_bf16_to_float (hippo_bf16_round (x))
                   * hippo_bf16_to_float (hippo_bf16_round (y));
            exact += (double) x * y;
            mag += fabs ((double) x * y);
          }
        acc = apply_act (bf16 ? acc : exact, k);
        exact = apply_act (exact, k);
        if (mag > 0.1) /* past the absolute slack */
          worst = MAX (worst, fabs (got - acc) / mag);
        if (!(fabs (got - acc) <= 1e-5 * mag + 1e-7)
            || !(fabs (got - exact) <= (bf16 ? mag / 128 : 1e-5 * mag) + 1e-7))
          g_error ("%s %dx%d -> %d bias %d act %d no_act %d: at (%d,%d) got "
                   "%.8g want %.8g (float32 %.8g)",
                   path_label (path, isa), k->np, k->cin, k->c, k->bias,
                   k->act, k->no_act, p, co, got, acc, exact);
      }
  return worst;
}

/* The cases: input and output channels around the vector widths and
 * register blocks, pixel counts around the blocks of every variant. */
static GArray *
make_cases (void)
{
  static const int cins[] = { 1, 3, 16, 24, 31, 32, 33, 64, 70, 144 };
  static const int couts[] = { 1, 5, 8, 16, 17, 24, 32, 40, 48, 96, 160 };
  static const int rows[] = { 1, 5, 6, 13, 14, 15, 29, 31, 32, 33, 49, 70 };
  GArray *cases = g_array_new (FALSE, TRUE, sizeof (Case));

  for (guint a = 0; a < G_N_ELEMENTS (cins); a++)
    for (guint k = 0; k < G_N_ELEMENTS (couts); k++)
      {
        Case c = { rows[(a + k) % G_N_ELEMENTS (rows)], cins[a], couts[k], 0,
                   couts[k], (a + k) % 2, HIPPO_ACT_NONE, (a * k) % 5 == 4 };

        c.act = (a + k) % 3 == 0   ? HIPPO_ACT_NONE
                : (a + k) % 3 == 1 ? HIPPO_ACT_CLAMP
                                   : HIPPO_ACT_SIGMOID;
        /* the session's channel split (groups of 16), or any range */
        if (c.c > 16)
          {
            c.c0 = (a + k) % 2 ? 16 : 3;
            c.c1 = (a + k) % 2 ? c.c : c.c - 2;
          }
        g_array_append_val (cases, c);
      }
  /* MobileNetV2's 7x7 projection over 4 images and 112x112 expansion, at
   * reduced size, and its last 1x1 conv */
  {
    Case big[] = { { 196, 960, 160, 0, 160, TRUE, HIPPO_ACT_NONE, FALSE },
                   { 300, 16, 96, 0, 96, TRUE, HIPPO_ACT_CLAMP, FALSE },
                   { 49, 320, 1280, 640, 1280, TRUE, HIPPO_ACT_CLAMP,
                     FALSE } };
    g_array_append_vals (cases, big, G_N_ELEMENTS (big));
  }
  return cases;
}

/* One path and variant on every case. */
static void
test_packed (HippoPath path, HippoIsa isa)
{
  g_autoptr (GArray) cases = make_cases ();
  g_autoptr (GRand) r = g_rand_new_with_seed (23);
  double worst = 0;

  if (!path_runs (path, isa))
    {
      g_test_skip (path == HIPPO_PATH_BF16_AMX && g_getenv ("HIPPOTAG_NO_AMX")
                     ? "SKIPPED LOUDLY: AMX switched off (HIPPOTAG_NO_AMX)"
                     : "SKIPPED LOUDLY: this CPU does not run the path; the "
                       "others are tested");
      return;
    }
  for (guint i = 0; i < cases->len; i++)
    {
      const Case *k = &g_array_index (cases, Case, i);
      Layer l;
      float *out;

      layer_init (&l, r, k);
      out = run_packed (path, isa, &l, k);
      worst = MAX (worst, check_sums (path, isa, &l, k, out));
      g_free (out);
      layer_clear (&l);
    }
  g_test_message ("%s: %u shapes, splits bit-identical, worst error %.2g of "
                  "the magnitude", path_label (path, isa), cases->len, worst);
}

static void
test_f32 (gconstpointer data)
{
  test_packed (HIPPO_PATH_F32, GPOINTER_TO_INT (data));
}

static void
test_bf16_emu (gconstpointer data)
{
  test_packed (HIPPO_PATH_BF16_EMU, GPOINTER_TO_INT (data));
}

static void
test_bf16_dot (void)
{
  test_packed (HIPPO_PATH_BF16_DOT, HIPPO_ISA_AVX512);
}

static void
test_bf16_amx (void)
{
  test_packed (HIPPO_PATH_BF16_AMX, HIPPO_ISA_AVX512);
}

/* Across variants, on the cases: float32 on AVX-512 and on AVX2 give
 * identical bits (the same FMAs in the same order), generic within 1e-5 of
 * the magnitude (no FMA) and OpenBLAS sgemm (the float32 conv's old path)
 * within 1e-5 too; bfloat16 emulated gives identical bits in every variant
 * (products of bfloat16 values are exact), and VDPBF16PS and the AMX
 * tiles are within 1e-5 of it. */
static void
test_variants_agree (void)
{
  g_autoptr (GArray) cases = make_cases ();
  g_autoptr (GRand) r = g_rand_new_with_seed (29);
  HippoIsa best = hippo_isa_best ();
  double worst_generic = 0, worst_blas = 0, worst_dot = 0, worst_amx = 0;
  guint n_blas = 0;

  for (guint i = 0; i < cases->len; i++)
    {
      Case k = g_array_index (cases, Case, i);
      Layer l;
      float *f[3] = { NULL }, *e[3] = { NULL }, *blas, *dot = NULL;
      float *amx = NULL;
      gsize n = (gsize) k.np * k.c;

      k.c0 = 0, k.c1 = k.c;
      layer_init (&l, r, &k);
      for (int isa = HIPPO_ISA_GENERIC; isa <= (int) best; isa++)
        {
          f[isa] = run_packed (HIPPO_PATH_F32, isa, &l, &k);
          e[isa] = run_packed (HIPPO_PATH_BF16_EMU, isa, &l, &k);
        }
      if (path_runs (HIPPO_PATH_BF16_DOT, HIPPO_ISA_AVX512))
        dot = run_packed (HIPPO_PATH_BF16_DOT, HIPPO_ISA_AVX512, &l, &k);
      if (path_runs (HIPPO_PATH_BF16_AMX, HIPPO_ISA_AVX512))
        amx = run_packed (HIPPO_PATH_BF16_AMX, HIPPO_ISA_AVX512, &l, &k);
      blas = nan_out (&k);
      if (k.act != HIPPO_ACT_SIGMOID || k.no_act)
        {
          HippoShape is = { 1, k.np, k.cin };
          float *scratch = g_new (float, HIPPO_SCRATCH_FLOATS);
          hippo_conv_pixels (&l.node, is, l.in, blas, 0, k.np, 0, k.c, scratch,
                             k.no_act);
          g_free (scratch);
          n_blas++;
        }
      for (int isa = HIPPO_ISA_AVX2; isa <= (int) best; isa++)
        if (memcmp (f[isa], f[HIPPO_ISA_AVX2], n * 4) != 0
            || memcmp (e[isa], e[HIPPO_ISA_GENERIC], n * 4) != 0)
          g_error ("%dx%d -> %d: %s differs from avx2 (float32) or generic "
                   "(bf16 emulated)", k.np, k.cin, k.c,
                   hippo_isa_name (isa));
      if (best >= HIPPO_ISA_AVX2 && memcmp (e[HIPPO_ISA_AVX2],
                                            e[HIPPO_ISA_GENERIC], n * 4) != 0)
        g_error ("%dx%d -> %d: bf16 emulated differs between avx2 and "
                 "generic", k.np, k.cin, k.c);
      for (int p = 0; p < k.np; p++)
        for (int co = 0; co < k.c; co++)
          {
            gsize at = (gsize) p * k.c + co;
            double mag = l.b ? fabs (l.b[co]) : 0;

            for (int ci = 0; ci < k.cin; ci++)
              mag += fabs ((double) l.in[(gsize) p * k.cin + ci]
                           * l.w[(gsize) ci * k.c + co]);
            mag += 1e-2; /* absolute slack near zero */
#define AGREE(A, B, WORST, WHAT)                                               \
  do                                                                           \
    {                                                                          \
      double d_ = fabs ((double) (A)[at] - (B)[at]) / mag;                     \
      WORST = MAX (WORST, d_);                                                 \
      if (!(d_ <= 1e-5))                                                       \
        g_error ("%dx%d -> %d at (%d,%d): %s %.9g vs %.9g", k.np, k.cin, k.c,  \
                 p, co, WHAT, (A)[at], (B)[at]);                               \
    }                                                                          \
  while (0)
            AGREE (f[HIPPO_ISA_GENERIC], f[best], worst_generic,
                   "float32 generic vs best");
            if (k.act != HIPPO_ACT_SIGMOID || k.no_act)
              AGREE (blas, f[best], worst_blas, "OpenBLAS vs ours");
            if (dot)
              AGREE (dot, e[HIPPO_ISA_GENERIC], worst_dot,
                     "bf16 dot vs emulated");
            if (amx)
              AGREE (amx, e[HIPPO_ISA_GENERIC], worst_amx,
                     "bf16 AMX vs emulated");
#undef AGREE
          }
      for (int isa = 0; isa < 3; isa++)
        {
          g_free (f[isa]);
          g_free (e[isa]);
        }
      g_free (blas);
      g_free (dot);
      g_free (amx);
      layer_clear (&l);
    }
  g_test_message ("%u shapes: float32 avx512 = avx2 bit for bit, bf16 "
                  "emulated equal in every variant; worst float32 generic vs "
                  "%s %.2g, OpenBLAS vs ours %.2g (%u shapes); bf16 dot vs "
                  "emulated %.2g%s, AMX vs emulated %.2g%s (of the magnitude)",
                  cases->len, hippo_isa_name (best), worst_generic, worst_blas,
                  n_blas, worst_dot,
                  path_runs (HIPPO_PATH_BF16_DOT, HIPPO_ISA_AVX512)
                    ? "" : " (no AVX512-BF16 here)",
                  worst_amx,
                  path_runs (HIPPO_PATH_BF16_AMX, HIPPO_ISA_AVX512)
                    ? "" : " (no AMX here)");
}

/* Only 1x1 stride-1 convolutions are packed; paths the CPU lacks are
 * refused. */
static void
test_packed_declines (void)
{
  HippoNode node;
  float buf[64] = { 0 };

  memset (&node, 0, sizeof node);
  node.op = HIPPO_OP_CONV;
  node.h = node.w = 4, node.c = 2, node.cin = 2;
  node.kh = node.kw = 3, node.sh = node.sw = node.dh = node.dw = 1;
  node.weights = buf;
  g_assert_false (hippo_packed_applies (&node));
  g_assert_null (hippo__packed_new (&node, HIPPO_ISA_GENERIC,
                                    HIPPO_PATH_F32));
  node.kh = node.kw = 1, node.sh = 2;
  g_assert_null (hippo__packed_new (&node, HIPPO_ISA_GENERIC,
                                    HIPPO_PATH_F32));
  node.sh = 1, node.op = HIPPO_OP_DWCONV;
  g_assert_null (hippo__packed_new (&node, HIPPO_ISA_GENERIC,
                                    HIPPO_PATH_F32));
  node.op = HIPPO_OP_CONV;
  g_assert_true (hippo_packed_applies (&node));
  g_assert_null (hippo__packed_new (&node, HIPPO_ISA_AVX2,
                                    HIPPO_PATH_BF16_DOT));
  g_assert_null (hippo__packed_new (&node, HIPPO_ISA_GENERIC,
                                    HIPPO_PATH_BF16_AMX));
  if (!hippo_bf16_amx_usable ())
    g_assert_null (hippo__packed_new (&node, HIPPO_ISA_AVX512,
                                      HIPPO_PATH_BF16_AMX));
  if (!hippo__bf16_dot_usable ())
    g_assert_null (hippo__packed_new (&node, HIPPO_ISA_AVX512,
                                      HIPPO_PATH_BF16_DOT));
  g_assert_cmpint (hippo__bf16_path (HIPPO_ISA_AVX2), ==,
                   HIPPO_PATH_BF16_EMU);
  hippo_packed_free (hippo__packed_new (&node, HIPPO_ISA_GENERIC,
                                        HIPPO_PATH_BF16_EMU));
  hippo_packed_free (NULL);
}

/* HIPPOTAG_NO_AMX=1 turns the AMX path off as if the CPU had none. */
static void
test_no_amx (void)
{
  const char *was = g_getenv ("HIPPOTAG_NO_AMX");
  g_autofree char *saved = g_strdup (was);

  g_setenv ("HIPPOTAG_NO_AMX", "1", TRUE);
  g_assert_false (hippo_bf16_amx_usable ());
  g_assert_cmpint (hippo__bf16_path (HIPPO_ISA_AVX512), !=,
                   HIPPO_PATH_BF16_AMX);
  g_setenv ("HIPPOTAG_NO_AMX", "0", TRUE);
  g_test_message ("AMX usable with HIPPOTAG_NO_AMX=0: %s",
                  hippo_bf16_amx_usable () ? "yes" : "no (not on this CPU)");
  if (saved)
    g_setenv ("HIPPOTAG_NO_AMX", saved, TRUE);
  else
    g_unsetenv ("HIPPOTAG_NO_AMX");
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
  g_test_add_data_func ("/kernels/1x1/float32/generic",
                        GINT_TO_POINTER (HIPPO_ISA_GENERIC), test_f32);
  g_test_add_data_func ("/kernels/1x1/float32/avx2",
                        GINT_TO_POINTER (HIPPO_ISA_AVX2), test_f32);
  g_test_add_data_func ("/kernels/1x1/float32/avx512",
                        GINT_TO_POINTER (HIPPO_ISA_AVX512), test_f32);
  g_test_add_data_func ("/kernels/1x1/bf16-emulated/generic",
                        GINT_TO_POINTER (HIPPO_ISA_GENERIC), test_bf16_emu);
  g_test_add_data_func ("/kernels/1x1/bf16-emulated/avx2",
                        GINT_TO_POINTER (HIPPO_ISA_AVX2), test_bf16_emu);
  g_test_add_data_func ("/kernels/1x1/bf16-emulated/avx512",
                        GINT_TO_POINTER (HIPPO_ISA_AVX512), test_bf16_emu);
  g_test_add_func ("/kernels/1x1/bf16-dot", test_bf16_dot);
  g_test_add_func ("/kernels/1x1/bf16-amx", test_bf16_amx);
  g_test_add_func ("/kernels/1x1/variants-agree", test_variants_agree);
  g_test_add_func ("/kernels/1x1/declines", test_packed_declines);
  g_test_add_func ("/kernels/1x1/no-amx", test_no_amx);
  return g_test_run ();
}
