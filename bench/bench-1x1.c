/* The 1x1 convolutions of MobileNetV2 (224x224) in each of our kernel
 * paths against OpenBLAS sgemm (the engine's general convolution: bias
 * rows, sgemm with beta 1, clamp), interleaved in one process.  Times are
 * thread CPU time, the minimum over rounds (robust to other jobs on a
 * shared machine); GFLOP/s and the ratio to OpenBLAS per shape and over
 * the network's shapes weighted by their multiply-adds.
 *
 *   bench-1x1 [--rounds R] [--reps N] [--pixels P]
 *
 * --pixels caps the pixels per call (the engine calls the large maps in
 * strips; default: MobileNetV2's fused-chain strips, 1344 at 112x112).
 * The paths this CPU lacks are left out and named.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "engine/kernels.h"

typedef struct
{
  int hw, cin, cout;
} Shape;

/* MobileNetV2's 1x1 convs: map side, input and output channels */
static const Shape shapes[] = {
  { 112, 32, 16 }, { 112, 16, 96 }, { 56, 96, 24 },   { 56, 24, 144 },
  { 56, 144, 24 }, { 28, 144, 32 }, { 28, 32, 192 },  { 28, 192, 32 },
  { 14, 192, 64 }, { 14, 64, 384 }, { 14, 384, 64 },  { 14, 384, 96 },
  { 14, 96, 576 }, { 14, 576, 96 }, { 7, 576, 160 },  { 7, 160, 960 },
  { 7, 960, 160 }, { 7, 960, 320 }, { 7, 320, 1280 },
};

static double
cpu_now (void)
{
  struct timespec t;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct
{
  const char *name;
  HippoPath path;
  HippoIsa isa;
  gboolean blas;
} Variant;

int
main (int argc, char **argv)
{
  int rounds = 7, reps = 0, cap = 1344;
  Variant all[] = {
    { "OpenBLAS", HIPPO_PATH_F32, HIPPO_ISA_GENERIC, TRUE },
    { "f32 avx512", HIPPO_PATH_F32, HIPPO_ISA_AVX512, FALSE },
    { "f32 avx2", HIPPO_PATH_F32, HIPPO_ISA_AVX2, FALSE },
    { "f32 generic", HIPPO_PATH_F32, HIPPO_ISA_GENERIC, FALSE },
    { "bf16 dot", HIPPO_PATH_BF16_DOT, HIPPO_ISA_AVX512, FALSE },
    { "bf16 amx", HIPPO_PATH_BF16_AMX, HIPPO_ISA_AVX512, FALSE },
    { "bf16 emu", HIPPO_PATH_BF16_EMU, HIPPO_ISA_AVX512, FALSE },
  };
  Variant v[G_N_ELEMENTS (all)];
  int nv = 0;
  double total_flops = 0, *total_s;
  float *scratch = g_new (float, HIPPO_SCRATCH_FLOATS);

  for (int i = 1; i < argc; i++)
    {
      if (i + 1 < argc && strcmp (argv[i], "--rounds") == 0)
        rounds = atoi (argv[++i]);
      else if (i + 1 < argc && strcmp (argv[i], "--reps") == 0)
        reps = atoi (argv[++i]);
      else if (i + 1 < argc && strcmp (argv[i], "--pixels") == 0)
        cap = atoi (argv[++i]);
      else
        {
          fprintf (stderr, "usage: %s [--rounds R] [--reps N] [--pixels P]\n",
                   argv[0]);
          return 2;
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    {
      gboolean ok = all[i].isa <= hippo_isa_best ();
      if (all[i].path == HIPPO_PATH_BF16_DOT)
        ok = ok && hippo__bf16_dot_usable ();
      if (all[i].path == HIPPO_PATH_BF16_AMX)
        ok = ok && hippo_bf16_amx_usable ();
      if (ok)
        v[nv++] = all[i];
      else
        printf ("# %s: not on this CPU\n", all[i].name);
    }
  total_s = g_new0 (double, nv);
  printf ("# thread CPU time, min of %d interleaved rounds; GFLOP/s, "
          "ratio to OpenBLAS\n%-16s",
          rounds, "pixels cin cout");
  for (int j = 0; j < nv; j++)
    printf (" %14s", v[j].name);
  printf ("\n");
  for (guint si = 0; si < G_N_ELEMENTS (shapes); si++)
    {
      const Shape *sh = &shapes[si];
      int np = MIN (sh->hw * sh->hw, cap);
      HippoNode node;
      HippoPacked *pk[G_N_ELEMENTS (all)] = { NULL };
      float *in = g_new (float, (gsize) np * sh->cin);
      float *out = g_new (float, (gsize) np * sh->cout);
      float *w = g_new (float, (gsize) sh->cin * sh->cout);
      float *b = g_new (float, sh->cout);
      void *pscratch = g_malloc (1 << 22);
      double best[G_N_ELEMENTS (all)];
      double flops = 2.0 * np * sh->cin * sh->cout;
      int n = reps > 0 ? reps : (int) MAX (1, 2e8 / flops);
      HippoShape is = { 1, np, sh->cin };

      memset (&node, 0, sizeof node);
      node.op = HIPPO_OP_CONV;
      node.h = 1, node.w = np, node.c = sh->cout, node.cin = sh->cin;
      node.kh = node.kw = node.sh = node.sw = node.dh = node.dw = 1;
      node.act = HIPPO_ACT_CLAMP, node.act_lo = 0, node.act_hi = 6;
      for (gsize i = 0; i < (gsize) np * sh->cin; i++)
        in[i] = (float) ((i * 7919) % 1000) / 1000.f;
      for (gsize i = 0; i < (gsize) sh->cin * sh->cout; i++)
        w[i] = (float) ((i * 104729) % 2001) / 1000.f - 1.f;
      for (int i = 0; i < sh->cout; i++)
        b[i] = 0.01f * i;
      node.weights = w, node.bias = b;
      for (int j = 0; j < nv; j++)
        {
          best[j] = INFINITY;
          if (!v[j].blas)
            pk[j] = hippo__packed_new (&node, v[j].isa, v[j].path);
        }
      for (int r = 0; r < rounds; r++)
        for (int j = 0; j < nv; j++)
          {
            double t0 = cpu_now ();
            for (int k = 0; k < n; k++)
              if (v[j].blas)
                hippo_conv_pixels (&node, is, in, out, 0, np, 0, sh->cout,
                                   scratch, FALSE);
              else
                hippo__conv1x1_packed (pk[j], &node, in, out, 0, np, 0,
                                       sh->cout, pscratch, FALSE);
            best[j] = MIN (best[j], (cpu_now () - t0) / n);
          }
      printf ("%5d %4d %5d  ", np, sh->cin, sh->cout);
      for (int j = 0; j < nv; j++)
        {
          printf (" %7.1f %5.2fx", flops / best[j] / 1e9, best[0] / best[j]);
          /* per image: the whole map, not one strip of it */
          total_s[j] += best[j] * ((double) sh->hw * sh->hw / np);
        }
      printf ("\n");
      total_flops += flops * ((double) sh->hw * sh->hw / np);
      for (int j = 0; j < nv; j++)
        hippo_packed_free (pk[j]);
      g_free (in);
      g_free (out);
      g_free (w);
      g_free (b);
      g_free (pscratch);
    }
  printf ("%-16s", "all, per image");
  for (int j = 0; j < nv; j++)
    printf (" %7.3fms %4.2fx", total_s[j] * 1e3, total_s[0] / total_s[j]);
  printf ("\n# %.3f GFLOP per image in these shapes\n", total_flops / 1e9);
  g_free (total_s);
  g_free (scratch);
  return 0;
}
