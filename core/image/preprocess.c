/* Model input from an image: the nsfwjs preprocessing, bit for bit.
 *
 * nsfwjs computes x = float32 (v / 255) per sample, then
 * tf.image.resizeBilinear (x, [h, w], alignCorners = true).  The tfjs CPU
 * kernel (tfjs-backend-cpu ResizeBilinear) works in JavaScript doubles on the
 * float32 samples and stores the result as float32:
 *   ratio = (in - 1) / (out - 1)          (in / out when out == 1)
 *   src = ratio * i;  lo = max (0, floor (src));  frac = src - lo;
 *   hi = min (in - 1, ceil (src))
 *   top = tl + (tr - tl) * xfrac;  bottom = bl + (br - bl) * xfrac
 *   out = float32 (top + (bottom - top) * yfrac)
 * The same operations in the same order in double give the same bits (checked
 * against tfjs 4.22.0 in tests/test-image.c).  Fused multiply-adds would
 * change the rounding, so contraction is switched off for this file.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "hippotag/hippotag-image.h"

#include <math.h>

/* Source positions of one output axis. */
static void
axis_table (int in, int out, int *lo, int *hi, double *frac)
{
  double ratio = out > 1 ? (double) (in - 1) / (double) (out - 1) : (double) in;
  int i;

  for (i = 0; i < out; i++)
    {
      double src = ratio * (double) i;
      double fl = floor (src);
      double ce = ceil (src);

      if (fl < 0.0)
        fl = 0.0;
      if (fl > (double) (in - 1)) /* cannot happen; keeps reads in bounds */
        fl = (double) (in - 1);
      if (ce > (double) (in - 1))
        ce = (double) (in - 1);
      lo[i] = (int) fl;
      hi[i] = (int) ce;
      frac[i] = src - fl;
    }
}

void
hippo_image_to_input (const HippoImage *image, int width, int height,
                      float *dst)
{
  const guint8 *pixels;
  double lut[256];
  double *xfrac, *yfrac, *rows[2];
  int *xlo, *xhi, *ylo, *yhi;
  int row_y[2] = { -1, -1 };
  int in_w, in_h, n_out, r, c, i;
  gsize in_stride;

  g_return_if_fail (image != NULL);
  g_return_if_fail (width >= 1 && height >= 1 && width <= G_MAXINT / 3);
  g_return_if_fail (dst != NULL);

  in_w = hippo_image_get_width (image);
  in_h = hippo_image_get_height (image);
  pixels = hippo_image_get_pixels (image);
  in_stride = (gsize) in_w * 3;
  n_out = width * 3;

  for (i = 0; i < 256; i++)
    lut[i] = (double) (float) ((double) i / 255.0);

  xlo = g_new (int, width);
  xhi = g_new (int, width);
  xfrac = g_new (double, width);
  ylo = g_new (int, height);
  yhi = g_new (int, height);
  yfrac = g_new (double, height);
  rows[0] = g_new (double, 2 * (gsize) n_out);
  rows[1] = rows[0] + n_out;
  axis_table (in_w, width, xlo, xhi, xfrac);
  axis_table (in_h, height, ylo, yhi, yfrac);
  for (c = 0; c < width; c++)
    {
      xlo[c] *= 3;
      xhi[c] *= 3;
    }

  for (r = 0; r < height; r++)
    {
      int want[2] = { ylo[r], yhi[r] };
      const double *top, *bot;
      double yf = yfrac[r];
      float *out = dst + (gsize) r * n_out;
      int slot[2], k;

      /* Horizontally interpolated source rows, cached in two slots. */
      for (k = 0; k < 2; k++)
        {
          if (row_y[0] == want[k])
            slot[k] = 0;
          else if (row_y[1] == want[k])
            slot[k] = 1;
          else
            {
              const guint8 *src = pixels + (gsize) want[k] * in_stride;
              double *h;
              int s;

              /* Do not evict the row fetched for top. */
              s = k == 1 ? 1 - slot[0] : (row_y[0] == want[1] ? 1 : 0);
              h = rows[s];
              for (c = 0; c < width; c++)
                {
                  const guint8 *pl = src + xlo[c];
                  const guint8 *pr = src + xhi[c];
                  double xf = xfrac[c];
                  double l0 = lut[pl[0]], l1 = lut[pl[1]], l2 = lut[pl[2]];

                  h[3 * c] = l0 + (lut[pr[0]] - l0) * xf;
                  h[3 * c + 1] = l1 + (lut[pr[1]] - l1) * xf;
                  h[3 * c + 2] = l2 + (lut[pr[2]] - l2) * xf;
                }
              row_y[s] = want[k];
              slot[k] = s;
            }
        }

      top = rows[slot[0]];
      bot = rows[slot[1]];
      for (i = 0; i < n_out; i++)
        out[i] = (float) (top[i] + (bot[i] - top[i]) * yf);
    }

  g_free (rows[0]);
  g_free (xlo);
  g_free (xhi);
  g_free (xfrac);
  g_free (ylo);
  g_free (yhi);
  g_free (yfrac);
}
