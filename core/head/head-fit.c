/* The numerical core of the classifier head: L2-regularised softmax (or
 * per-label sigmoid) regression fitted with L-BFGS, several fits advanced
 * in lockstep so that one GEMM serves all cross-validation folds, the walk
 * down the λ grid with warm starts, and the temperature.
 *
 * Deterministic: reductions in a fixed order, OpenBLAS on one thread (set
 * by the caller), each fold's arithmetic independent of which other fits
 * share its GEMM and of the thread that runs it (a test checks that 1 and 2
 * threads give identical heads).
 */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "head-private.h"
#include "pool.h"

#define LB_MEMORY 10
#define LS_C1 1e-4
#define LS_C2 0.9
#define LS_MAX_EVALS 12
#define LS_EPS_F 1e-6
#define LS_DELTA 0.1
#define CV_TOL_MIN 1e-3
/* The preconditioner's curvature: a fraction of the loss curvature at
 * uniform predictions (predictions sharpen as the fit proceeds); 0.3
 * measured best on MobileNetV2 features, the results hardly depend on it. */
#define PRECOND_C 0.3
#define PROGRESS_EVERY 16

/* --- small vector helpers (4 accumulators: fixed order, some ILP) ------ */

static double
vdot (const double *a, const double *b, gsize n)
{
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  gsize i = 0;

  for (; i + 4 <= n; i += 4)
    {
      s0 += a[i] * b[i];
      s1 += a[i + 1] * b[i + 1];
      s2 += a[i + 2] * b[i + 2];
      s3 += a[i + 3] * b[i + 3];
    }
  for (; i < n; i++)
    s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

static void
vaxpy (double a, const double *x, double *y, gsize n)
{
  for (gsize i = 0; i < n; i++)
    y[i] += a * x[i];
}

static double
vmaxabs (const double *a, gsize n)
{
  double m = 0;

  for (gsize i = 0; i < n; i++)
    m = MAX (m, fabs (a[i]));
  return m;
}

static double
softplus (double v)
{
  return (v > 0 ? v : 0) + log1p (exp (-fabs (v)));
}

static double
sigmoid (double v)
{
  if (v >= 0)
    return 1 / (1 + exp (-v));
  else
    {
      double e = exp (v);
      return e / (1 + e);
    }
}

/* --- L-BFGS by reverse communication ------------------------------------
 *
 * The owner evaluates f and g at xt (f into ft, g into gt) while
 * !done, then calls lb_tell(). Memory LB_MEMORY, two-loop recursion with
 * an optional diagonal preconditioner as H0. The line search looks for a
 * step meeting the strong Wolfe conditions (Nocedal & Wright, algorithms
 * 3.5 and 3.6, cubic interpolation with safeguards) or Hager & Zhang's
 * approximate Wolfe conditions.
 */

typedef struct
{
  gsize p;
  double *x, *g, f;    /* iterate */
  double *xt, *gt, ft; /* the point to evaluate */
  double *d;
  double *s, *y, *rho, *al;
  guint n_pairs, newest;
  double *g_prev, *g_lo;
  double f0, dg0;
  double a, a_prev, f_prev, dg_prev;
  double a_lo, f_lo, dg_lo, a_hi, f_hi, dg_hi;
  gboolean zoom, first;
  guint ls_evals;
  guint iter, max_iter;
  double tol;
  gboolean done;
  double *h0; /* diagonal preconditioner, or NULL */
} Lbfgs;

static void
lb_init (Lbfgs *lb, gsize p)
{
  memset (lb, 0, sizeof *lb);
  lb->p = p;
  lb->x = g_new0 (double, p);
  lb->g = g_new0 (double, p);
  lb->xt = g_new0 (double, p);
  lb->gt = g_new0 (double, p);
  lb->d = g_new0 (double, p);
  lb->g_prev = g_new0 (double, p);
  lb->g_lo = g_new0 (double, p);
  lb->s = g_new0 (double, p * LB_MEMORY);
  lb->y = g_new0 (double, p * LB_MEMORY);
  lb->rho = g_new0 (double, LB_MEMORY);
  lb->al = g_new0 (double, LB_MEMORY);
}

static void
lb_clear (Lbfgs *lb)
{
  g_free (lb->x);
  g_free (lb->g);
  g_free (lb->xt);
  g_free (lb->gt);
  g_free (lb->d);
  g_free (lb->g_prev);
  g_free (lb->g_lo);
  g_free (lb->s);
  g_free (lb->y);
  g_free (lb->rho);
  g_free (lb->al);
  g_free (lb->h0);
}

/* Starts a new minimisation from lb->x (memory cleared). */
static void
lb_start (Lbfgs *lb, double tol, guint max_iter)
{
  lb->n_pairs = 0;
  lb->newest = 0;
  lb->iter = 0;
  lb->tol = tol;
  lb->max_iter = max_iter;
  lb->first = TRUE;
  lb->done = FALSE;
  memcpy (lb->xt, lb->x, lb->p * sizeof (double));
}

/* Starts again from lb->x after λ changed by dl2, keeping the curvature
 * pairs: only the λ I part of the Hessian changed, so y += dl2 s keeps
 * them exact. */
static void
lb_restart (Lbfgs *lb, double tol, guint max_iter, double dl2)
{
  guint n_pairs = lb->n_pairs, newest = lb->newest;
  gsize p = lb->p;

  lb_start (lb, tol, max_iter);
  for (guint j = 0; j < n_pairs; j++)
    {
      guint k = (newest + LB_MEMORY - j) % LB_MEMORY;
      double *s = lb->s + k * p, *y = lb->y + k * p, sy;

      vaxpy (dl2, s, y, p);
      sy = vdot (s, y, p);
      if (!(sy > 1e-10 * vdot (y, y, p)))
        break;
      lb->rho[k] = 1 / sy;
      lb->n_pairs = j + 1;
    }
  lb->newest = newest;
}

/* d = -H g by the two-loop recursion. */
static void
lb_direction (Lbfgs *lb)
{
  gsize p = lb->p;
  guint m = lb->n_pairs;
  double *d = lb->d;

  for (gsize i = 0; i < p; i++)
    d[i] = -lb->g[i];
  for (guint j = 0; j < m; j++)
    {
      guint k = (lb->newest + LB_MEMORY - j) % LB_MEMORY;
      lb->al[k] = lb->rho[k] * vdot (lb->s + k * p, d, p);
      vaxpy (-lb->al[k], lb->y + k * p, d, p);
    }
  if (lb->h0)
    {
      /* H0 = γ D with the diagonal preconditioner D */
      double gamma = 1;

      if (m > 0)
        {
          const double *yk = lb->y + lb->newest * p;
          double ydy = 0;

          for (gsize i = 0; i < p; i++)
            ydy += yk[i] * lb->h0[i] * yk[i];
          gamma = vdot (lb->s + lb->newest * p, yk, p) / ydy;
        }
      for (gsize i = 0; i < p; i++)
        d[i] *= gamma * lb->h0[i];
    }
  else if (m > 0)
    {
      const double *yk = lb->y + lb->newest * p;
      double gamma = vdot (lb->s + lb->newest * p, yk, p) / vdot (yk, yk, p);

      for (gsize i = 0; i < p; i++)
        d[i] *= gamma;
    }
  for (guint j = m; j-- > 0;)
    {
      guint k = (lb->newest + LB_MEMORY - j) % LB_MEMORY;
      double beta = lb->rho[k] * vdot (lb->y + k * p, d, p);

      vaxpy (lb->al[k] - beta, lb->s + k * p, d, p);
    }
}

static void
lb_set_trial (Lbfgs *lb)
{
  for (gsize i = 0; i < lb->p; i++)
    lb->xt[i] = lb->x[i] + lb->a * lb->d[i];
}

/* Chooses a direction and the first trial step. */
static void
lb_begin_search (Lbfgs *lb)
{
  gsize p = lb->p;

  lb_direction (lb);
  lb->dg0 = vdot (lb->g, lb->d, p);
  if (!(lb->dg0 < 0))
    {
      lb->n_pairs = 0;
      lb_direction (lb);
      lb->dg0 = vdot (lb->g, lb->d, p);
    }
  if (lb->n_pairs == 0 && !lb->h0)
    lb->a = MIN (1.0, 1.0 / sqrt (vdot (lb->g, lb->g, p)));
  else
    lb->a = 1.0;
  lb->f0 = lb->f;
  lb->a_prev = 0;
  lb->f_prev = lb->f;
  lb->dg_prev = lb->dg0;
  memcpy (lb->g_prev, lb->g, p * sizeof (double));
  lb->zoom = FALSE;
  lb->ls_evals = 0;
  lb_set_trial (lb);
}

static void
lb_accept (Lbfgs *lb, double a, double f, const double *g)
{
  gsize p = lb->p;
  guint k = lb->n_pairs == 0 ? 0 : (lb->newest + 1) % LB_MEMORY;
  double *s = lb->s + k * p, *y = lb->y + k * p;
  double sy, yy;

  for (gsize i = 0; i < p; i++)
    {
      s[i] = a * lb->d[i];
      y[i] = g[i] - lb->g[i];
      lb->x[i] += s[i];
    }
  memcpy (lb->g, g, p * sizeof (double));
  lb->f = f;
  sy = vdot (s, y, p);
  yy = vdot (y, y, p);
  if (sy > 1e-10 * yy && yy > 0)
    {
      lb->rho[k] = 1 / sy;
      lb->newest = k;
      lb->n_pairs = MIN (lb->n_pairs + 1, LB_MEMORY);
    }
  lb->iter++;
  if (vmaxabs (lb->g, p) <= lb->tol || lb->iter >= lb->max_iter)
    {
      lb->done = TRUE;
      return;
    }
  lb_begin_search (lb);
}

/* The search failed: retry once along -g, else stop where we are. */
static void
lb_fail (Lbfgs *lb)
{
  if (lb->a_lo > 0 && lb->f_lo < lb->f0)
    {
      lb_accept (lb, lb->a_lo, lb->f_lo, lb->g_lo);
      return;
    }
  if (lb->n_pairs > 0)
    {
      lb->n_pairs = 0;
      lb_begin_search (lb);
      return;
    }
  lb->done = TRUE;
}

static double
lb_interpolate (double a1, double f1, double d1, double a2, double f2,
                double d2)
{
  double lo = MIN (a1, a2), hi = MAX (a1, a2), w = hi - lo;
  double e1 = d1 + d2 - 3 * (f1 - f2) / (a1 - a2);
  double disc = e1 * e1 - d1 * d2;
  double a = 0.5 * (a1 + a2);

  if (disc >= 0)
    {
      double e2 = (a2 > a1 ? 1 : -1) * sqrt (disc);
      double c = a2 - (a2 - a1) * (d2 + e2 - e1) / (d2 - d1 + 2 * e2);

      if (isfinite (c))
        a = c;
    }
  return CLAMP (a, lo + 0.1 * w, hi - 0.1 * w);
}

static void
lb_zoom_next (Lbfgs *lb)
{
  if (lb->ls_evals >= LS_MAX_EVALS
      || fabs (lb->a_hi - lb->a_lo) <= 1e-12 * MAX (lb->a_lo, lb->a_hi))
    {
      lb_fail (lb);
      return;
    }
  lb->a = lb_interpolate (lb->a_lo, lb->f_lo, lb->dg_lo, lb->a_hi, lb->f_hi,
                          lb->dg_hi);
  lb_set_trial (lb);
}

/* Takes the value at xt. */
static void
lb_tell (Lbfgs *lb)
{
  gsize p = lb->p;
  double ft = lb->ft, dg;
  double armijo;

  if (lb->first)
    {
      lb->first = FALSE;
      lb->f = ft;
      memcpy (lb->g, lb->gt, p * sizeof (double));
      if (vmaxabs (lb->g, p) <= lb->tol || lb->max_iter == 0)
        lb->done = TRUE;
      else
        lb_begin_search (lb);
      return;
    }

  lb->ls_evals++;
  dg = vdot (lb->gt, lb->d, p);
  if (!isfinite (ft) || !isfinite (dg))
    {
      /* overflow: treated as too far; interpolation then bisects */
      ft = HUGE_VAL;
      dg = HUGE_VAL;
    }
  armijo = lb->f0 + LS_C1 * lb->a * lb->dg0;

  /* Hager & Zhang's approximate Wolfe conditions: near the optimum the
   * decrease is below the rounding of f (float GEMMs), the slope is not */
  if (ft <= lb->f0 + LS_EPS_F * fabs (lb->f0) && dg >= LS_C2 * lb->dg0
      && dg <= (2 * LS_DELTA - 1) * lb->dg0)
    {
      lb_accept (lb, lb->a, ft, lb->gt);
      return;
    }

  if (!lb->zoom)
    {
      if (ft > armijo || (lb->ls_evals > 1 && ft >= lb->f_prev))
        {
          lb->a_lo = lb->a_prev, lb->f_lo = lb->f_prev, lb->dg_lo = lb->dg_prev;
          memcpy (lb->g_lo, lb->g_prev, p * sizeof (double));
          lb->a_hi = lb->a, lb->f_hi = ft, lb->dg_hi = dg;
          lb->zoom = TRUE;
          lb_zoom_next (lb);
        }
      else if (fabs (dg) <= -LS_C2 * lb->dg0)
        lb_accept (lb, lb->a, ft, lb->gt);
      else if (dg >= 0)
        {
          lb->a_lo = lb->a, lb->f_lo = ft, lb->dg_lo = dg;
          memcpy (lb->g_lo, lb->gt, p * sizeof (double));
          lb->a_hi = lb->a_prev, lb->f_hi = lb->f_prev, lb->dg_hi = lb->dg_prev;
          lb->zoom = TRUE;
          lb_zoom_next (lb);
        }
      else if (lb->ls_evals >= LS_MAX_EVALS)
        lb_accept (lb, lb->a, ft, lb->gt);
      else
        {
          lb->a_prev = lb->a, lb->f_prev = ft, lb->dg_prev = dg;
          memcpy (lb->g_prev, lb->gt, p * sizeof (double));
          lb->a *= 4;
          lb_set_trial (lb);
        }
      return;
    }

  if (ft > armijo || ft >= lb->f_lo)
    {
      lb->a_hi = lb->a, lb->f_hi = ft, lb->dg_hi = dg;
    }
  else
    {
      if (fabs (dg) <= -LS_C2 * lb->dg0)
        {
          lb_accept (lb, lb->a, ft, lb->gt);
          return;
        }
      if (dg * (lb->a_hi - lb->a_lo) >= 0)
        lb->a_hi = lb->a_lo, lb->f_hi = lb->f_lo, lb->dg_hi = lb->dg_lo;
      lb->a_lo = lb->a, lb->f_lo = ft, lb->dg_lo = dg;
      memcpy (lb->g_lo, lb->gt, p * sizeof (double));
    }
  lb_zoom_next (lb);
}

/* --- the objective, several fits at once -------------------------------- */

typedef struct
{
  gint fold;  /* held-out fold, -1 for none */
  double *cw; /* class weights: single K; multi 2K (negative, positive) */
  Lbfgs lb;
} Fit;

typedef struct
{
  float *wcat; /* cols × dim */
  float *z;    /* n × cols */
  float *r;    /* n × cols */
  float *gcat; /* cols × dim */
  double *tmp; /* n_classes */
  double *gb;  /* n_classes */
} Work;

static void
held_out (const HippoHeadFit *p, gint fold, guint *lo, guint *hi)
{
  if (fold < 0)
    *lo = *hi = p->n;
  else
    *lo = p->block[fold], *hi = p->block[fold + 1];
}

/* Class weights of a fold's training rows. */
static void
class_weights (const HippoHeadFit *p, gint fold, double *cw)
{
  guint K = p->n_classes, lo, hi, n_tr, present = 0;
  g_autofree guint *count = g_new0 (guint, 2 * K);

  held_out (p, fold, &lo, &hi);
  n_tr = p->n - (hi - lo);
  for (guint i = 0; i < p->n; i++)
    {
      if (i >= lo && i < hi)
        continue;
      if (p->multi_label)
        for (guint k = 0; k < K; k++)
          count[2 * k + p->label_matrix[(gsize) i * K + k]]++;
      else
        count[p->labels[i]]++;
    }
  if (p->multi_label)
    for (guint k = 0; k < 2 * K; k++)
      cw[k] = !p->class_balanced ? 1.0
              : count[k]         ? (double) n_tr / (2.0 * count[k])
                                 : 0;
  else
    {
      for (guint k = 0; k < K; k++)
        present += count[k] > 0;
      for (guint k = 0; k < K; k++)
        cw[k] = !p->class_balanced ? 1.0
                : count[k] ? (double) n_tr / ((double) present * count[k])
                           : 0;
    }
}

static void
pack_weights (const HippoHeadFit *p, Fit **fits, guint n_fits, gboolean trial,
              float *wcat)
{
  gsize kd = (gsize) p->n_classes * p->dim;

  for (guint j = 0; j < n_fits; j++)
    {
      const double *x = trial ? fits[j]->lb.xt : fits[j]->lb.x;

      for (gsize t = 0; t < kd; t++)
        wcat[j * kd + t] = (float) x[t];
    }
}

/* f and g at every fit's trial point. */
static void
evaluate (const HippoHeadFit *p, Fit **fits, guint n_fits, double l2, Work *w)
{
  const guint K = p->n_classes, d = p->dim, n = p->n;
  const gsize kd = (gsize) K * d, cols = (gsize) n_fits * K;

  pack_weights (p, fits, n_fits, TRUE, w->wcat);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) n, (int) cols,
               (int) d, 1.0f, p->x, (int) d, w->wcat, (int) d, 0.0f, w->z,
               (int) cols);

  for (guint j = 0; j < n_fits; j++)
    {
      Fit *fit = fits[j];
      const double *b = fit->lb.xt + kd;
      double loss = 0, reg = 0, inv_s;
      guint lo, hi;

      held_out (p, fit->fold, &lo, &hi);
      inv_s = 1.0 / (double) (n - (hi - lo));
      memset (w->gb, 0, K * sizeof (double));
      for (guint i = 0; i < n; i++)
        {
          const float *zi = w->z + i * cols + j * K;
          float *ri = w->r + i * cols + j * K;

          if (i >= lo && i < hi)
            {
              memset (ri, 0, K * sizeof (float));
              continue;
            }
          if (p->multi_label)
            {
              const guint8 *yi = p->label_matrix + (gsize) i * K;

              for (guint k = 0; k < K; k++)
                {
                  double v = zi[k] + b[k], s = fit->cw[2 * k + yi[k]], rk;

                  loss += s * (softplus (v) - yi[k] * v);
                  rk = s * (sigmoid (v) - yi[k]) * inv_s;
                  ri[k] = (float) rk;
                  w->gb[k] += rk;
                }
            }
          else
            {
              guint yi = p->labels[i];
              double m = -HUGE_VAL, sum = 0, s = fit->cw[yi];
              double zy = zi[yi] + b[yi];

              for (guint k = 0; k < K; k++)
                {
                  w->tmp[k] = zi[k] + b[k];
                  m = MAX (m, w->tmp[k]);
                }
              for (guint k = 0; k < K; k++)
                sum += (w->tmp[k] = exp (w->tmp[k] - m));
              loss += s * (m + log (sum) - zy);
              for (guint k = 0; k < K; k++)
                {
                  double rk = s * (w->tmp[k] / sum - (k == yi)) * inv_s;

                  ri[k] = (float) rk;
                  w->gb[k] += rk;
                }
            }
        }
      for (gsize t = 0; t < kd; t++)
        reg += fit->lb.xt[t] * fit->lb.xt[t];
      fit->lb.ft = loss * inv_s + 0.5 * l2 * reg;
      for (guint k = 0; k < K; k++)
        fit->lb.gt[kd + k] = w->gb[k];
    }

  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) cols, (int) d,
               (int) n, 1.0f, w->r, (int) cols, p->x, (int) d, 0.0f, w->gcat,
               (int) d);
  for (guint j = 0; j < n_fits; j++)
    for (gsize t = 0; t < kd; t++)
      fits[j]->lb.gt[t] = w->gcat[j * kd + t] + l2 * fits[j]->lb.xt[t];
}

/* Advances the fits until all have converged. FALSE when cancelled (by
 * the progress callback, which only the calling thread may call, or by
 * another thread through *cancel). */
static gboolean
run (const HippoHeadFit *p, Fit **fits, guint n_fits, double l2, Work *w,
     gboolean report, guint64 done, guint64 total, gint *cancel,
     guint *iterations, guint *evaluations)
{
  g_autofree Fit **act = g_new (Fit *, n_fits);
  guint rounds = 0;

  for (;;)
    {
      guint n_act = 0;

      for (guint j = 0; j < n_fits; j++)
        if (!fits[j]->lb.done)
          act[n_act++] = fits[j];
      if (n_act == 0)
        return TRUE;
      evaluate (p, act, n_act, l2, w);
      (*evaluations)++;
      for (guint j = 0; j < n_act; j++)
        {
          guint it = act[j]->lb.iter;

          lb_tell (&act[j]->lb);
          *iterations += act[j]->lb.iter - it;
        }
      if (++rounds % PROGRESS_EVERY == 0)
        {
          if (report && p->progress && !p->progress (done, total, p->user_data))
            g_atomic_int_set (cancel, 1);
          if (g_atomic_int_get (cancel))
            return FALSE;
        }
    }
}

/* The folds' fits split over threads: group g has the folds f with
 * f % n_groups == g, each group its own buffers. */
typedef struct
{
  const HippoHeadFit *p;
  Fit **fits;
  guint n_fits;
  guint n_groups;
  Work *work;
  double l2;
  guint64 done, total;
  gint cancel;
  guint *iterations;  /* per group */
  guint *evaluations; /* per group */
} GroupJob;

static void
group_task (gpointer data, int index, int thread)
{
  GroupJob *job = data;
  g_autofree Fit **mine = g_new (Fit *, job->n_fits);
  guint m = 0;

  for (guint f = (guint) index; f < job->n_fits; f += job->n_groups)
    mine[m++] = job->fits[f];
  run (job->p, mine, m, job->l2, &job->work[index], thread == 0, job->done,
       job->total, &job->cancel, &job->iterations[index],
       &job->evaluations[index]);
}

/* Held-out logits of every fold at its current solution. */
static void
predict_oof (const HippoHeadFit *p, Fit **fits, guint n_fits, Work *w,
             float *oof)
{
  const guint K = p->n_classes, d = p->dim;
  const gsize kd = (gsize) K * d, cols = (gsize) n_fits * K;

  pack_weights (p, fits, n_fits, FALSE, w->wcat);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) p->n, (int) cols,
               (int) d, 1.0f, p->x, (int) d, w->wcat, (int) d, 0.0f, w->z,
               (int) cols);
  for (gsize i = 0; i < (gsize) p->n * K; i++)
    oof[i] = NAN;
  for (guint j = 0; j < n_fits; j++)
    {
      guint lo, hi;

      held_out (p, fits[j]->fold, &lo, &hi);
      for (guint i = lo; i < hi; i++)
        for (guint k = 0; k < K; k++)
          oof[(gsize) i * K + k]
            = (float) (w->z[i * cols + j * K + k] + fits[j]->lb.x[kd + k]);
    }
}

/* Balanced accuracy of logits (multi-label: mean per-label balanced
 * accuracy at logit 0); rows with NaN skipped. */
static double
balanced_accuracy (const HippoHeadFit *p, const float *logits)
{
  guint K = p->n_classes;
  g_autofree double *hit = g_new0 (double, 2 * K);
  g_autofree double *cnt = g_new0 (double, 2 * K);
  double sum = 0;
  guint terms = 0;

  for (guint i = 0; i < p->n; i++)
    {
      const float *li = logits + (gsize) i * K;
      guint best = 0;

      if (isnan (li[0]))
        continue;
      if (p->multi_label)
        {
          for (guint k = 0; k < K; k++)
            {
              guint t = p->label_matrix[(gsize) i * K + k];

              cnt[2 * k + t]++;
              hit[2 * k + t] += (li[k] > 0) == (t == 1);
            }
          continue;
        }
      for (guint k = 1; k < K; k++)
        if (li[k] > li[best])
          best = k;
      cnt[p->labels[i]]++;
      hit[p->labels[i]] += best == p->labels[i];
    }
  if (p->multi_label)
    {
      for (guint k = 0; k < K; k++)
        {
          double a = 0;
          guint sides = 0;

          for (guint v = 0; v < 2; v++)
            if (cnt[2 * k + v] > 0)
              a += hit[2 * k + v] / cnt[2 * k + v], sides++;
          if (sides)
            sum += a / sides, terms++;
        }
    }
  else
    for (guint k = 0; k < K; k++)
      if (cnt[k] > 0)
        sum += hit[k] / cnt[k], terms++;
  return terms ? sum / terms : 0;
}

static void
alloc_fit (Fit *fit, const HippoHeadFit *p, gint fold)
{
  gsize np = (gsize) p->n_classes * (p->dim + 1);

  fit->fold = fold;
  fit->cw = g_new0 (double, 2 * p->n_classes);
  class_weights (p, fold, fit->cw);
  lb_init (&fit->lb, np);
}

/* D = diag (1 / (c m_j + λ)) for the weights, 1 / c for the biases: the
 * inverse Hessian diagonal when the columns are uncorrelated (principal
 * axes) and the loss curvature is c. */
static void
set_precond (const HippoHeadFit *p, Fit *fit, double l2)
{
  const guint K = p->n_classes, d = p->dim;
  double c = PRECOND_C * (p->multi_label ? 0.25 : 1.0 / K);

  if (p->precond == NULL)
    return;
  if (fit->lb.h0 == NULL)
    fit->lb.h0 = g_new (double, fit->lb.p);
  for (guint k = 0; k < K; k++)
    {
      for (guint j = 0; j < d; j++)
        fit->lb.h0[(gsize) k * d + j] = 1 / (c * p->precond[j] + l2);
      fit->lb.h0[(gsize) K * d + k] = 1 / c;
    }
}

static void
work_init (Work *w, const HippoHeadFit *p, guint capacity)
{
  gsize kd = (gsize) p->n_classes * p->dim;

  w->wcat = g_new (float, capacity * kd);
  w->gcat = g_new (float, capacity * kd);
  w->z = g_new (float, (gsize) p->n * capacity * p->n_classes);
  w->r = g_new (float, (gsize) p->n * capacity * p->n_classes);
  w->tmp = g_new (double, p->n_classes);
  w->gb = g_new (double, p->n_classes);
}

static void
work_clear (Work *w)
{
  g_free (w->wcat);
  g_free (w->gcat);
  g_free (w->z);
  g_free (w->r);
  g_free (w->tmp);
  g_free (w->gb);
}

gboolean
hippo_head_fit (HippoHeadFit *p, GError **error)
{
  const guint K = p->n_classes, d = p->dim;
  const gsize kd = (gsize) K * d, np = kd + K;
  const guint n_cv = p->n_folds;
  const guint n_fits = MAX (n_cv, 1);
  const guint n_groups = CLAMP (p->n_threads, 1, n_fits);
  const double cv_tol = MAX (p->tol, CV_TOL_MIN);
  const guint64 total = (guint64) p->n_grid * n_cv + 1;
  g_autofree Fit *fits = g_new0 (Fit, n_fits + 1);
  g_autofree Fit **fp = g_new (Fit *, n_fits);
  g_autofree double *best_sol = NULL;
  g_autofree double *prev = g_new (double, n_fits * np);
  g_autofree float *oof = NULL;
  g_autofree Work *work = g_new0 (Work, n_groups);
  g_autofree guint *iterations = g_new0 (guint, n_groups);
  g_autofree guint *evaluations = g_new0 (guint, n_groups);
  HippoPool *pool = NULL;
  GroupJob job = { 0 };
  Fit *final = &fits[n_fits];
  gboolean ok = FALSE;
  guint best = 0;
  double best_nll = HUGE_VAL, best_acc = -1;

  g_return_val_if_fail (p->n_grid >= 1, FALSE);

  /* group 0 also serves the final fit and the held-out predictions */
  work_init (&work[0], p, n_fits);
  for (guint g = 1; g < n_groups; g++)
    work_init (&work[g], p, (n_fits + n_groups - 1) / n_groups);
  if (n_groups > 1)
    pool = hippo_pool_new ((int) n_groups, NULL);
  p->iterations = p->evaluations = p->n_evaluated = 0;
  p->temperature = 1.0;
  p->oof = NULL;

  alloc_fit (final, p, -1);
  if (n_cv > 0)
    {
      best_sol = g_new0 (double, n_cv * np);
      oof = g_new (float, (gsize) p->n * K);
      p->oof = g_new (float, (gsize) p->n * K);
      for (guint f = 0; f < n_cv; f++)
        {
          alloc_fit (&fits[f], p, (gint) f);
          fp[f] = &fits[f];
        }
      job.p = p;
      job.fits = fp;
      job.n_fits = n_cv;
      job.n_groups = n_groups;
      job.work = work;
      job.total = total;
      job.iterations = iterations;
      job.evaluations = evaluations;
      for (guint gi = 0; gi < p->n_grid; gi++)
        {
          double nll, acc = 0;
          gboolean better;

          if (p->progress
              && !p->progress ((guint64) gi * n_cv, total, p->user_data))
            goto cancelled;
          for (guint f = 0; f < n_cv; f++)
            set_precond (p, &fits[f], p->l2_grid[gi]);
          for (guint f = 0; f < n_cv; f++)
            {
              Lbfgs *lb = &fits[f].lb;

              /* predict the next solution: the path is smooth in log λ
               * and the grid uniform, so extrapolate the last step */
              if (gi >= 2)
                for (gsize t = 0; t < np; t++)
                  {
                    double x = lb->x[t];

                    lb->x[t] += x - prev[f * np + t];
                    prev[f * np + t] = x;
                  }
              else
                memcpy (prev + f * np, lb->x, np * sizeof (double));
              if (gi == 0)
                lb_start (lb, cv_tol, p->max_iter);
              else
                lb_restart (lb, cv_tol, p->max_iter,
                            p->l2_grid[gi] - p->l2_grid[gi - 1]);
            }
          job.l2 = p->l2_grid[gi];
          job.done = (guint64) gi * n_cv;
          if (pool)
            hippo_pool_run (pool, (int) n_groups, group_task, &job);
          else
            for (guint g = 0; g < n_groups; g++)
              group_task (&job, (int) g, 0);
          if (g_atomic_int_get (&job.cancel))
            goto cancelled;
          p->n_evaluated++;
          predict_oof (p, fp, n_cv, &work[0], oof);
          hippo_head_fit_temperature (oof, p->n, K, p->multi_label, p->labels,
                                      p->label_matrix, p->class_balanced, &nll);
          if (p->select == HIPPO_HEAD_SELECT_ACCURACY)
            {
              acc = balanced_accuracy (p, oof);
              better = acc > best_acc + 1e-12
                       || (acc >= best_acc - 1e-12
                           && nll < best_nll - 1e-12 * fabs (best_nll));
            }
          else
            better = nll < best_nll - 1e-12 * fabs (best_nll);
          if (gi == 0 || better)
            {
              best = gi;
              best_nll = nll;
              best_acc = acc;
              for (guint f = 0; f < n_cv; f++)
                memcpy (best_sol + f * np, fits[f].lb.x, np * sizeof (double));
              memcpy (p->oof, oof, (gsize) p->n * K * sizeof (float));
            }
          else if (gi - best >= HIPPO_HEAD_PATIENCE)
            break;
        }
      /* warm start of the final fit: the mean of the folds' solutions */
      for (guint f = 0; f < n_cv; f++)
        vaxpy (1.0 / n_cv, best_sol + f * np, final->lb.x, np);
      if (p->calibrate)
        p->temperature = hippo_head_fit_temperature (
          p->oof, p->n, K, p->multi_label, p->labels, p->label_matrix,
          p->class_balanced, NULL);
    }
  p->l2 = p->l2_grid[best];
  if (n_cv == 0 && p->init)
    for (gsize t = 0; t < np; t++)
      final->lb.x[t] = p->init[t];

  set_precond (p, final, p->l2);
  lb_start (&final->lb, p->tol, p->max_iter);
  if (p->progress
      && !p->progress ((guint64) p->n_grid * n_cv, total, p->user_data))
    goto cancelled;
  if (!run (p, &final, 1, p->l2, &work[0], TRUE, (guint64) p->n_grid * n_cv,
            total, &job.cancel, &iterations[0], &evaluations[0]))
    goto cancelled;
  p->weights = g_new (float, kd);
  p->bias = g_new (float, K);
  for (gsize t = 0; t < kd; t++)
    p->weights[t] = (float) final->lb.x[t];
  for (guint k = 0; k < K; k++)
    p->bias[k] = (float) final->lb.x[kd + k];
  ok = TRUE;
  if (p->progress)
    p->progress (total, total, p->user_data);
  goto out;

cancelled:
  g_set_error_literal (error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED,
                       "training was cancelled");
  g_clear_pointer (&p->oof, g_free);
out:
  for (guint g = 0; g < n_groups; g++)
    {
      p->iterations += iterations[g];
      p->evaluations += evaluations[g];
      work_clear (&work[g]);
    }
  hippo_pool_free (pool);
  for (guint f = 0; f <= n_fits; f++)
    if (fits[f].cw)
      {
        g_free (fits[f].cw);
        lb_clear (&fits[f].lb);
      }
  return ok;
}

double
hippo_head_objective (const float *x, guint n, guint dim, const guint *labels,
                      const guint8 *label_matrix, guint n_classes,
                      gboolean class_balanced, double l2, const double *theta,
                      double *grad)
{
  HippoHeadFit p = { 0 };
  Fit fit = { 0 }, *fp = &fit;
  Work w = { 0 };
  gsize np = (gsize) n_classes * (dim + 1);
  double f;

  p.x = x, p.n = n, p.dim = dim, p.n_classes = n_classes;
  p.multi_label = label_matrix != NULL;
  p.labels = labels, p.label_matrix = label_matrix;
  p.class_balanced = class_balanced;
  alloc_fit (&fit, &p, -1);
  memcpy (fit.lb.xt, theta, np * sizeof (double));
  w.wcat = g_new (float, np);
  w.gcat = g_new (float, np);
  w.z = g_new (float, (gsize) n * n_classes);
  w.r = g_new (float, (gsize) n * n_classes);
  w.tmp = g_new (double, n_classes);
  w.gb = g_new (double, n_classes);
  evaluate (&p, &fp, 1, l2, &w);
  f = fit.lb.ft;
  if (grad)
    memcpy (grad, fit.lb.gt, np * sizeof (double));
  g_free (fit.cw);
  lb_clear (&fit.lb);
  g_free (w.wcat);
  g_free (w.gcat);
  g_free (w.z);
  g_free (w.r);
  g_free (w.tmp);
  g_free (w.gb);
  return f;
}

/* --- temperature --------------------------------------------------------- */

/* F(β), F'(β), F''(β) of the weighted NLL of β × logits. */
static void
nll_beta (const float *logits, guint n, guint K, gboolean multi,
          const guint *labels, const guint8 *label_matrix, const double *cw,
          double beta, double *f, double *df, double *d2f, double *tmp)
{
  double F = 0, G = 0, H = 0;

  for (guint i = 0; i < n; i++)
    {
      const float *li = logits + (gsize) i * K;

      if (isnan (li[0]))
        continue;
      if (multi)
        {
          const guint8 *yi = label_matrix + (gsize) i * K;

          for (guint k = 0; k < K; k++)
            {
              double l = li[k], v = beta * l, s = cw[2 * k + yi[k]];
              double sg = sigmoid (v);

              F += s * (softplus (v) - yi[k] * v);
              G += s * (sg - yi[k]) * l;
              H += s * sg * (1 - sg) * l * l;
            }
        }
      else
        {
          guint y = labels[i];
          double m = -HUGE_VAL, sum = 0, e1 = 0, e2 = 0, s = cw[y];

          for (guint k = 0; k < K; k++)
            m = MAX (m, beta * li[k]);
          for (guint k = 0; k < K; k++)
            sum += (tmp[k] = exp (beta * li[k] - m));
          for (guint k = 0; k < K; k++)
            {
              double pk = tmp[k] / sum;

              e1 += pk * li[k];
              e2 += pk * (double) li[k] * li[k];
            }
          F += s * (m + log (sum) - beta * li[y]);
          G += s * (e1 - li[y]);
          H += s * MAX (0.0, e2 - e1 * e1);
        }
    }
  *f = F, *df = G, *d2f = H;
}

double
hippo_head_fit_temperature (const float *logits, guint n, guint n_classes,
                            gboolean multi_label, const guint *labels,
                            const guint8 *label_matrix, gboolean class_balanced,
                            double *nll)
{
  const guint K = n_classes;
  g_autofree double *cw = g_new0 (double, 2 * K);
  g_autofree double *tmp = g_new (double, K);
  g_autofree guint *count = g_new0 (guint, 2 * K);
  double lo = 1.0 / 20, hi = 1.0 / 0.05, beta = 1.0, f, g, h, wsum = 0;
  guint rows = 0, present = 0;
  gboolean any = FALSE;

  for (guint i = 0; i < n; i++)
    {
      const float *li = logits + (gsize) i * K;

      if (isnan (li[0]))
        continue;
      rows++;
      for (guint k = 0; k < K; k++)
        any |= li[k] != li[0] || (multi_label && li[k] != 0);
      if (multi_label)
        for (guint k = 0; k < K; k++)
          count[2 * k + label_matrix[(gsize) i * K + k]]++;
      else
        count[labels[i]]++;
    }
  if (multi_label)
    for (guint k = 0; k < 2 * K; k++)
      cw[k] = !class_balanced ? 1.0
              : count[k]      ? (double) rows / (2.0 * count[k])
                              : 0;
  else
    {
      for (guint k = 0; k < K; k++)
        present += count[k] > 0;
      for (guint k = 0; k < K; k++)
        cw[k] = !class_balanced ? 1.0
                : count[k]      ? (double) rows / ((double) present * count[k])
                                : 0;
    }
  for (guint k = 0; k < (multi_label ? 2 * K : K); k++)
    wsum += cw[k] * count[k];
  if (rows == 0 || wsum <= 0)
    {
      if (nll)
        *nll = NAN;
      return 1.0;
    }
  if (any)
    {
      /* F is convex in β: safeguarded Newton inside a sign bracket */
      nll_beta (logits, n, K, multi_label, labels, label_matrix, cw, lo, &f, &g,
                &h, tmp);
      if (g >= 0)
        beta = lo;
      else
        {
          nll_beta (logits, n, K, multi_label, labels, label_matrix, cw, hi, &f,
                    &g, &h, tmp);
          if (g <= 0)
            beta = hi;
          else
            for (guint it = 0; it < 100; it++)
              {
                double next;

                nll_beta (logits, n, K, multi_label, labels, label_matrix, cw,
                          beta, &f, &g, &h, tmp);
                if (g > 0)
                  hi = beta;
                else
                  lo = beta;
                next = h > 0 ? beta - g / h : 0.5 * (lo + hi);
                if (!(next > lo && next < hi))
                  next = 0.5 * (lo + hi);
                if (fabs (next - beta) <= 1e-12 * beta || hi - lo <= 1e-12)
                  {
                    beta = next;
                    break;
                  }
                beta = next;
              }
        }
    }
  if (nll)
    {
      nll_beta (logits, n, K, multi_label, labels, label_matrix, cw, beta, &f,
                &g, &h, tmp);
      *nll = f / wsum;
    }
  return 1.0 / beta;
}
