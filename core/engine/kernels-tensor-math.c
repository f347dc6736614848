/* Kernels of the general tensor ops, continued (see kernels-tensor.c):
 * reductions, softmax on an axis, layer normalisation, batched matrix
 * products and grouped convolution through OpenBLAS, resizing, and the
 * activations added for general graphs. */
#include "hippo-config.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

/* --- reductions and normalisation -------------------------------------- */

static void
reduce_rows (const HippoGraph *g, const HippoNode *node, const float *in,
             float *out, gint64 u0, gint64 u1)
{
  const HippoNode *x = hippo__in_node (g, node, 0);
  int r = x->rank, nk = 0, kept[HIPPO_MAX_RANK], red[HIPPO_MAX_RANK];
  gint64 ist[HIPPO_MAX_RANK], count = 1;
  gint64 per = (gint64) node->h * node->w, no = hippo__node_numel (node);
  gint64 ni = hippo__node_numel (x);
  int nr = 0;

  hippo__strides_of (r, x->dims, ist);
  for (int i = 0; i < r; i++)
    {
      if (node->axes & (1u << i))
        {
          red[nr++] = i;
          count *= x->dims[i];
        }
      else
        kept[nk++] = i;
    }
  for (gint64 u = u0; u < u1; u++)
    {
      gint64 img = u / per, row = u % per;

      for (int k = 0; k < node->c; k++)
        {
          /* output element -> input base over the kept axes */
          gint64 e = row * node->c + k, base = 0;
          double acc;
          int ri[HIPPO_MAX_RANK] = { 0 };

          for (int i = nk - 1; i >= 0; i--)
            {
              int d = x->dims[kept[i]];
              base += (e % d) * ist[kept[i]];
              e /= d;
            }
          acc = node->reduce == HIPPO_REDUCE_MAX    ? -INFINITY
                : node->reduce == HIPPO_REDUCE_MIN  ? INFINITY
                : node->reduce == HIPPO_REDUCE_PROD ? 1.0
                                                    : 0.0;
          for (gint64 t = 0; t < count; t++)
            {
              gint64 off = base;
              float v;

              for (int i = 0; i < nr; i++)
                off += ri[i] * ist[red[i]];
              v = in[img * ni + off];
              switch (node->reduce)
                {
                  case HIPPO_REDUCE_MAX:
                    acc = v > acc ? v : acc;
                    break;
                  case HIPPO_REDUCE_MIN:
                    acc = v < acc ? v : acc;
                    break;
                  case HIPPO_REDUCE_PROD:
                    acc *= v;
                    break;
                  default:
                    acc += v;
                    break;
                }
              for (int i = nr - 1; i >= 0; i--)
                {
                  if (++ri[i] < x->dims[red[i]])
                    break;
                  ri[i] = 0;
                }
            }
          if (node->reduce == HIPPO_REDUCE_MEAN)
            acc /= (double) count;
          out[img * no + row * node->c + k] = (float) acc;
        }
    }
}

static void
softmax_lines (const HippoNode *node, const float *in, float *out, gint64 u0,
               gint64 u1)
{
  int r = node->rank, a = hippo__norm_axis (node->axis, r), n = node->dims[a];
  gint64 inner = 1, per, no = hippo__node_numel (node);

  for (int i = a + 1; i < r; i++)
    inner *= node->dims[i];
  per = no / n;
  for (gint64 u = u0; u < u1; u++)
    {
      gint64 img = u / per, line = u % per;
      gint64 off = img * no + (line / inner) * inner * n + line % inner;
      const float *s = in + off;
      float *o = out + off;
      float m = s[0], sum = 0.f;

      for (int k = 1; k < n; k++)
        m = s[k * inner] > m ? s[k * inner] : m;
      for (int k = 0; k < n; k++)
        {
          o[k * inner] = expf (s[k * inner] - m);
          sum += o[k * inner];
        }
      for (int k = 0; k < n; k++)
        o[k * inner] /= sum;
    }
}

static void
layernorm_rows (const HippoNode *node, const float *in, float *out, gint64 u0,
                gint64 u1, gboolean no_act)
{
  gint64 n = 1;

  for (int i = hippo__norm_axis (node->axis, node->rank); i < node->rank; i++)
    n *= node->dims[i];
  for (gint64 u = u0; u < u1; u++)
    {
      const float *s = in + u * n;
      float *o = out + u * n;
      double mean = 0, var = 0;
      float inv, fm;

      for (gint64 k = 0; k < n; k++)
        mean += s[k];
      mean /= (double) n;
      for (gint64 k = 0; k < n; k++)
        var += (s[k] - mean) * (s[k] - mean);
      var /= (double) n;
      inv = (float) (1.0 / sqrt (var + node->value));
      fm = (float) mean;
      if (node->bias)
        for (gint64 k = 0; k < n; k++)
          o[k] = (s[k] - fm) * inv * node->weights[k] + node->bias[k];
      else
        for (gint64 k = 0; k < n; k++)
          o[k] = (s[k] - fm) * inv * node->weights[k];
      if (!no_act && node->act != HIPPO_ACT_NONE)
        hippo_act_apply (o, n / node->c, node->c, node->act, node->act_lo,
                         node->act_hi);
    }
}

/* --- matrix products ---------------------------------------------------- */

static void
matmul_units (const HippoGraph *g, const HippoNode *node,
              const float *const *ins, float *out, gint64 u0, gint64 u1,
              gboolean no_act)
{
  const HippoNode *A = hippo__in_node (g, node, 0),
                  *B = hippo__in_node (g, node, 1);
  int r = node->rank, M = node->dims[r - 2], N = node->dims[r - 1];
  int K = A->dims[A->rank - 1];
  gint64 mb = (M + HIPPO_MATMUL_ROWS - 1) / HIPPO_MATMUL_ROWS;
  gint64 per = hippo__matmul_batch (node) * mb;
  gint64 sa[HIPPO_MAX_RANK], sb[HIPPO_MAX_RANK];
  gint64 na = hippo__node_numel (A), nb = hippo__node_numel (B);
  gint64 no = hippo__node_numel (node);
  int bdims[HIPPO_MAX_RANK], idx[HIPPO_MAX_RANK];

  /* batch strides in matrices, broadcast */
  hippo__bcast_strides (r - 2, A->rank - 2, A->dims, sa);
  hippo__bcast_strides (r - 2, B->rank - 2, B->dims, sb);
  for (int i = 0; i < r - 2; i++)
    bdims[i] = node->dims[i];
  for (gint64 u = u0; u < u1; u++)
    {
      gint64 img = u / per, rem = u % per, m = rem / mb;
      int m0 = (int) (rem % mb) * HIPPO_MATMUL_ROWS;
      int rows = MIN (HIPPO_MATMUL_ROWS, M - m0);
      gint64 oa = 0, ob = 0;
      float *o;

      /* matrix m's batch index: like a row index over bdims + [1] */
      if (r > 2)
        {
          gint64 t = m;
          for (int i = r - 3; i >= 0; i--)
            {
              idx[i] = (int) (t % bdims[i]);
              t /= bdims[i];
            }
          for (int i = 0; i < r - 2; i++)
            {
              oa += idx[i] * sa[i];
              ob += idx[i] * sb[i];
            }
        }
      o = out + img * no + (m * M + m0) * (gint64) N;
      cblas_sgemm (CblasRowMajor, CblasNoTrans,
                   node->trans_b ? CblasTrans : CblasNoTrans, rows, N, K, 1.f,
                   ins[0] + img * na + (oa * M + m0) * (gint64) K, K,
                   ins[1] + img * nb + ob * (gint64) K * N,
                   node->trans_b ? K : N, 0.f, o, N);
      if (!no_act && node->act != HIPPO_ACT_NONE)
        hippo_act_apply (o, rows, N, node->act, node->act_lo, node->act_hi);
    }
}

/* GROUPCONV on output pixels [p0, p1): per group, the receptive fields of
 * the group's channels into scratch, then one GEMM against the group's
 * weight columns. */
static void
groupconv_pixels (const HippoGraph *g, const HippoNode *node, const float *in,
                  float *out, gint64 p0, gint64 p1, float *scratch,
                  gboolean no_act)
{
  const HippoNode *x = hippo__in_node (g, node, 0);
  int G = node->groups, cin = node->cin, cg = node->c / G, cout = node->c;
  int k = node->kh * node->kw * cin, C = x->c;
  gint64 ohw = (gint64) node->h * node->w;
  gint64 step = MAX (1, (gint64) HIPPO_SCRATCH_FLOATS / k);

  for (gint64 a = p0; a < p1; a += step)
    {
      gint64 b = MIN (p1, a + step);

      if (node->bias)
        for (gint64 p = a; p < b; p++)
          memcpy (out + p * cout, node->bias, cout * sizeof (float));
      for (int gi = 0; gi < G; gi++)
        {
          float *col = scratch;

          for (gint64 p = a; p < b; p++)
            {
              gint64 img = p / ohw, rem = p % ohw;
              int oy = (int) (rem / node->w), ox = (int) (rem % node->w);
              const float *base
                = in + img * (gint64) x->h * x->w * C + (gint64) gi * cin;

              for (int ky = 0; ky < node->kh; ky++)
                for (int kx = 0; kx < node->kw; kx++, col += cin)
                  {
                    int iy = oy * node->sh - node->pad_t + ky * node->dh;
                    int ix = ox * node->sw - node->pad_l + kx * node->dw;

                    if (iy < 0 || iy >= x->h || ix < 0 || ix >= x->w)
                      memset (col, 0, cin * sizeof (float));
                    else
                      memcpy (col, base + ((gint64) iy * x->w + ix) * C,
                              cin * sizeof (float));
                  }
            }
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) (b - a),
                       cg, k, 1.f, scratch, k, node->weights + (gint64) gi * cg,
                       cout, node->bias ? 1.f : 0.f, out + a * cout + gi * cg,
                       cout);
        }
      if (!no_act && node->act != HIPPO_ACT_NONE)
        hippo_act_apply (out + a * cout, b - a, cout, node->act, node->act_lo,
                         node->act_hi);
    }
}

/* --- resize ------------------------------------------------------------ */

static float
resize_coord (HippoCoord coord, int o, int in, int out, float scale)
{
  switch (coord)
    {
      case HIPPO_COORD_HALF_PIXEL:
        return ((float) o + 0.5f) / scale - 0.5f;
      case HIPPO_COORD_PYTORCH_HALF_PIXEL:
        return out > 1 ? ((float) o + 0.5f) / scale - 0.5f : 0.f;
      case HIPPO_COORD_ALIGN_CORNERS:
        return out > 1 ? (float) o * (float) (in - 1) / (float) (out - 1) : 0.f;
      case HIPPO_COORD_ASYMMETRIC:
        return (float) o / scale;
      case HIPPO_COORD_TF_HALF_PIXEL_FOR_NN:
      default:
        return ((float) o + 0.5f) / scale;
    }
}

static int
resize_nearest (HippoResizeMode mode, float x, int in)
{
  float f = floorf (x);
  int i;

  switch (mode)
    {
      case HIPPO_RESIZE_NEAREST_ROUND_PREFER_FLOOR:
        i = (int) (x - f == 0.5f ? f : roundf (x));
        break;
      case HIPPO_RESIZE_NEAREST_ROUND_PREFER_CEIL:
        i = (int) (x - f == 0.5f ? f + 1 : roundf (x));
        break;
      case HIPPO_RESIZE_NEAREST_FLOOR:
        i = (int) f;
        break;
      default:
        i = (int) ceilf (x);
        break;
    }
  return CLAMP (i, 0, in - 1);
}

/* Input position of output index o along an axis: lo, hi and the weight
 * of hi (linear), or lo alone (nearest). */
static void
resize_axis (const HippoNode *node, int o, int in, int out, float scale,
             int *lo, int *hi, float *f)
{
  float x = resize_coord (node->coord, o, in, out, scale);

  if (node->resize_mode != HIPPO_RESIZE_LINEAR)
    {
      *lo = *hi = resize_nearest (node->resize_mode, x, in);
      *f = 0.f;
      return;
    }
  x = CLAMP (x, 0.f, (float) (in - 1));
  *lo = (int) x;
  *hi = MIN (*lo + 1, in - 1);
  *f = x - (float) *lo;
}

static void
resize_rows (const HippoGraph *g, const HippoNode *node, const float *in,
             float *out, gint64 u0, gint64 u1)
{
  const HippoNode *x = hippo__in_node (g, node, 0);
  int c = node->c, ih = x->h, iw = x->w, oh = node->h, ow = node->w;
  float sh
    = node->resize_scale_h > 0 ? node->resize_scale_h : (float) oh / (float) ih;
  float sw
    = node->resize_scale_w > 0 ? node->resize_scale_w : (float) ow / (float) iw;
  gint64 ni = hippo__node_numel (x), no = hippo__node_numel (node);

  for (gint64 u = u0; u < u1; u++)
    {
      gint64 img = u / oh;
      int oy = (int) (u % oh), y0, y1;
      float fy;
      const float *base = in + img * ni;

      resize_axis (node, oy, ih, oh, sh, &y0, &y1, &fy);
      for (int ox = 0; ox < ow; ox++)
        {
          int x0, x1;
          float fx;
          float *o = out + img * no + ((gint64) oy * ow + ox) * c;
          const float *p00, *p01, *p10, *p11;

          resize_axis (node, ox, iw, ow, sw, &x0, &x1, &fx);
          p00 = base + ((gint64) y0 * iw + x0) * c;
          if (node->resize_mode != HIPPO_RESIZE_LINEAR)
            {
              memcpy (o, p00, c * sizeof (float));
              continue;
            }
          p01 = base + ((gint64) y0 * iw + x1) * c;
          p10 = base + ((gint64) y1 * iw + x0) * c;
          p11 = base + ((gint64) y1 * iw + x1) * c;
          for (int k = 0; k < c; k++)
            {
              float top = p00[k] + (p01[k] - p00[k]) * fx;
              float bot = p10[k] + (p11[k] - p10[k]) * fx;
              o[k] = top + (bot - top) * fy;
            }
        }
    }
}

/* --- activations beyond the original four ---------------------------- */

void
hippo__act_apply_extra (float *p, gsize n, HippoAct act, float alpha,
                        float beta)
{
  switch (act)
    {
      case HIPPO_ACT_LEAKY:
        for (gsize i = 0; i < n; i++)
          p[i] = p[i] < 0 ? alpha * p[i] : p[i];
        break;
      case HIPPO_ACT_ELU:
        for (gsize i = 0; i < n; i++)
          p[i] = p[i] < 0 ? alpha * expm1f (p[i]) : p[i];
        break;
      case HIPPO_ACT_HARDSIGMOID:
        for (gsize i = 0; i < n; i++)
          {
            float v = alpha * p[i] + beta;
            p[i] = v < 0 ? 0 : v > 1 ? 1 : v;
          }
        break;
      case HIPPO_ACT_HARDSWISH:
        for (gsize i = 0; i < n; i++)
          {
            float v = p[i] * (1.f / 6.f) + 0.5f;
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            p[i] *= v;
          }
        break;
      case HIPPO_ACT_GELU:
        for (gsize i = 0; i < n; i++)
          p[i] = 0.5f * p[i] * (1.f + erff (p[i] * (float) M_SQRT1_2));
        break;
      case HIPPO_ACT_GELU_TANH:
        for (gsize i = 0; i < n; i++)
          {
            float x = p[i];
            p[i]
              = 0.5f * x
                * (1.f + tanhf (0.7978845608f * (x + 0.044715f * x * x * x)));
          }
        break;
      case HIPPO_ACT_SILU:
        for (gsize i = 0; i < n; i++)
          p[i] = p[i] / (1.f + expf (-p[i]));
        break;
      case HIPPO_ACT_ERF:
        for (gsize i = 0; i < n; i++)
          p[i] = erff (p[i]);
        break;
      case HIPPO_ACT_SQRT:
        for (gsize i = 0; i < n; i++)
          p[i] = sqrtf (p[i]);
        break;
      case HIPPO_ACT_EXP:
        for (gsize i = 0; i < n; i++)
          p[i] = expf (p[i]);
        break;
      case HIPPO_ACT_LOG:
        for (gsize i = 0; i < n; i++)
          p[i] = logf (p[i]);
        break;
      case HIPPO_ACT_ABS:
        for (gsize i = 0; i < n; i++)
          p[i] = fabsf (p[i]);
        break;
      case HIPPO_ACT_NEG:
        for (gsize i = 0; i < n; i++)
          p[i] = -p[i];
        break;
      case HIPPO_ACT_RECIP:
        for (gsize i = 0; i < n; i++)
          p[i] = 1.f / p[i];
        break;
      case HIPPO_ACT_SOFTPLUS:
        for (gsize i = 0; i < n; i++)
          p[i] = p[i] > 20.f ? p[i] : log1pf (expf (p[i]));
        break;
      case HIPPO_ACT_FLOOR:
        for (gsize i = 0; i < n; i++)
          p[i] = floorf (p[i]);
        break;
      case HIPPO_ACT_CEIL:
        for (gsize i = 0; i < n; i++)
          p[i] = ceilf (p[i]);
        break;
      default:
        break;
    }
}

void
hippo__tensor_math_rows (const HippoGraph *g, const HippoNode *node,
                         const float *const *ins, float *out, gint64 u0,
                         gint64 u1, float *scratch, gboolean no_act)
{
  switch (node->op)
    {
      case HIPPO_OP_REDUCE:
        reduce_rows (g, node, ins[0], out, u0, u1);
        break;
      case HIPPO_OP_SOFTMAX:
        softmax_lines (node, ins[0], out, u0, u1);
        break;
      case HIPPO_OP_LAYERNORM:
        layernorm_rows (node, ins[0], out, u0, u1, no_act);
        break;
      case HIPPO_OP_MATMUL:
        matmul_units (g, node, ins, out, u0, u1, no_act);
        break;
      case HIPPO_OP_GROUPCONV:
        groupconv_pixels (g, node, ins[0], out, u0, u1, scratch, no_act);
        break;
      case HIPPO_OP_RESIZE:
        resize_rows (g, node, ins[0], out, u0, u1);
        break;
      default:
        g_return_if_reached ();
    }
}
