/* Classifier head and metrics tests on small synthetic problems, against
 * values computed independently here (Newton's method in double, Bayes
 * posteriors, finite differences, hand-counted confusions). Tolerances are
 * stated at each check. */
#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "hippotag/hippotag.h"
#include "head/head-private.h"

/* --- helpers ------------------------------------------------------------- */

static double
uniform (guint64 *s)
{
  return ((hippo_rng_next (s) >> 11) + 0.5) / 9007199254740992.0;
}

static double
gauss (guint64 *s)
{
  return sqrt (-2 * log (uniform (s))) * cos (2 * G_PI * uniform (s));
}

/* n points of n_classes Gaussian classes (identity covariance, means
 * given), labels i % n_classes. */
static float *
gaussian_data (guint n, guint dim, guint n_classes, const double *means,
               double sigma, guint64 seed, guint **labels)
{
  float *x = g_new (float, (gsize) n * dim);
  guint64 s = seed;

  *labels = g_new (guint, n);
  for (guint i = 0; i < n; i++)
    {
      guint y = i % n_classes;

      (*labels)[i] = y;
      for (guint j = 0; j < dim; j++)
        x[(gsize) i * dim + j]
          = (float) (means[(gsize) y * dim + j] + sigma * gauss (&s));
    }
  return x;
}

static HippoHeadParams
params_default (void)
{
  HippoHeadParams p;

  hippo_head_params_default (&p);
  return p;
}

static guint
count_right (const HippoHead *head, const float *probs, const guint *labels,
             guint n)
{
  guint K = hippo_head_get_n_classes (head), right = 0;

  for (guint i = 0; i < n; i++)
    right += hippo_head_decide (head, probs + (gsize) i * K, 0, NULL)
             == (gint) labels[i];
  return right;
}

/* --- training ------------------------------------------------------------ */

/* Three well separated clusters in 5-D: every training example right and
 * confident (true-class probability >= 0.9). */
static void
test_separable (void)
{
  const double means[] = { 4, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 4, 0, 0 };
  g_autofree guint *y = NULL;
  g_autofree float *x = gaussian_data (60, 5, 3, means, 0.5, 1, &y);
  g_autofree float *p = g_new (float, 60 * 3);
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoHead) head = NULL;
  HippoHeadParams params = params_default ();

  head = hippo_head_train (x, 60, 5, y, NULL, 3, &params, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (head);
  g_assert_cmpuint (hippo_head_get_cv_folds (head), ==, 5);
  hippo_head_predict (head, x, 60, p);
  g_assert_cmpuint (count_right (head, p, y, 60), ==, 60);
  for (guint i = 0; i < 60; i++)
    {
      double sum = p[i * 3] + p[i * 3 + 1] + p[i * 3 + 2];

      g_assert_cmpfloat (p[i * 3 + y[i]], >=, 0.9);
      g_assert_cmpfloat (fabs (sum - 1), <=, 1e-5);
    }
}

/* Binary logistic regression, 1-D, L2 penalty λ/4 u² on u = w0 - w1 (the
 * 2-class softmax with (λ/2)(w0² + w1²) has w0 = -w1 at the optimum), no
 * penalty on β = b0 - b1; solved by Newton's method in double. */
static void
newton_1d (const float *x, const guint *y, guint n, double l2, double *u,
           double *beta)
{
  double a = 0, b = 0;

  for (int it = 0; it < 100; it++)
    {
      double ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0, det, da, db;

      for (guint i = 0; i < n; i++)
        {
          double t = y[i] == 0 ? 1 : -1;
          double m = t * (a * x[i] + b);
          double s = 1 / (1 + exp (m)); /* sigma(-m) */
          double h = s * (1 - s);

          ga += -t * s * x[i] / n;
          gb += -t * s / n;
          haa += h * x[i] * x[i] / n;
          hab += h * x[i] / n;
          hbb += h / n;
        }
      ga += l2 * a / 2;
      haa += l2 / 2;
      det = haa * hbb - hab * hab;
      da = (hbb * ga - hab * gb) / det;
      db = (haa * gb - hab * ga) / det;
      a -= da;
      b -= db;
      if (fabs (da) + fabs (db) < 1e-15)
        break;
    }
  *u = a;
  *beta = b;
}

/* The head's optimum equals the independent Newton solution within 1e-4
 * (w0 - w1 vs u, w0 + w1 vs 0, b0 - b1 vs β). */
static void
test_known_optimum (void)
{
  const double means[] = { -1, 1 };
  g_autofree guint *y = NULL;
  g_autofree float *x = gaussian_data (50, 1, 2, means, 1.0, 2, &y);
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoHead) head = NULL;
  HippoHeadParams params = params_default ();
  const float *w, *b;
  double u, beta;

  for (double l2 = 0.01; l2 < 2; l2 *= 10)
    {
      params.l2 = l2;
      params.normalise = HIPPO_HEAD_NORMALISE_NONE;
      params.class_balanced = FALSE;
      params.calibrate = FALSE;
      params.tol = 1e-8;
      g_clear_pointer (&head, hippo_head_free);
      head
        = hippo_head_train (x, 50, 1, y, NULL, 2, &params, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpfloat (hippo_head_get_l2 (head), ==, l2);
      g_assert_cmpfloat (hippo_head_get_temperature (head), ==, 1);
      g_assert_cmpuint (hippo_head_get_cv_folds (head), ==, 0);
      w = hippo_head_get_weights (head, &b);
      newton_1d (x, y, 50, l2, &u, &beta);
      g_test_message ("l2 %g: head u %.7f beta %.7f, Newton u %.7f beta %.7f",
                      l2, w[0] - w[1], b[0] - b[1], u, beta);
      g_assert_cmpfloat (fabs ((w[0] - w[1]) - u), <=, 1e-4);
      g_assert_cmpfloat (fabs (w[0] + w[1]), <=, 1e-4);
      g_assert_cmpfloat (fabs ((b[0] - b[1]) - beta), <=, 1e-4);
    }
}

/* Central differences with Richardson extrapolation (error O(h⁴), h = 1e-2)
 * against the analytic gradient, softmax and sigmoid, class-weighted:
 * within 2e-4 absolute (the objective uses float GEMMs: f is exact to
 * ~1e-7). */
static void
check_gradient (gboolean multi)
{
  const guint n = 30, d = 5, K = 3;
  const gsize np = K * (d + 1);
  g_autofree float *x = g_new (float, n * d);
  g_autofree guint *y = g_new (guint, n);
  g_autofree guint8 *Y = g_new (guint8, n * K);
  g_autofree double *theta = g_new (double, np);
  g_autofree double *grad = g_new (double, np);
  g_autofree double *t = g_new (double, np);
  guint64 s = 3;
  const double h = 1e-2;
  double worst = 0;

  for (guint i = 0; i < n * d; i++)
    x[i] = (float) gauss (&s);
  for (guint i = 0; i < n; i++)
    {
      y[i] = i < 20 ? 0 : i < 27 ? 1 : 2; /* imbalanced: weights matter */
      for (guint k = 0; k < K; k++)
        Y[i * K + k] = (i * (k + 2) + k) % 3 == 0;
    }
  for (gsize j = 0; j < np; j++)
    theta[j] = 0.5 * gauss (&s);

  hippo_head_objective (x, n, d, multi ? NULL : y, multi ? Y : NULL, K, TRUE,
                        0.3, theta, grad);
  for (gsize j = 0; j < np; j++)
    {
      double f[4];
      const double steps[4] = { -2 * h, -h, h, 2 * h };
      double fd;

      for (int q = 0; q < 4; q++)
        {
          memcpy (t, theta, np * sizeof (double));
          t[j] += steps[q];
          f[q] = hippo_head_objective (x, n, d, multi ? NULL : y,
                                       multi ? Y : NULL, K, TRUE, 0.3, t, NULL);
        }
      fd = (8 * (f[2] - f[1]) - (f[3] - f[0])) / (12 * h);
      worst = MAX (worst, fabs (fd - grad[j]));
      g_assert_cmpfloat (fabs (fd - grad[j]), <=, 2e-4);
    }
  g_test_message ("largest gradient difference %g", worst);
}

static void
test_gradient_softmax (void)
{
  check_gradient (FALSE);
}

static void
test_gradient_sigmoid (void)
{
  check_gradient (TRUE);
}

/* Bayes posterior of equal-prior unit-variance Gaussian classes. */
static void
bayes (const double *means, guint K, guint dim, const float *x, double *p)
{
  double m = -HUGE_VAL, sum = 0;

  for (guint k = 0; k < K; k++)
    {
      double v = 0;

      for (guint j = 0; j < dim; j++)
        v += means[k * dim + j] * x[j]
             - 0.5 * means[k * dim + j] * means[k * dim + j];
      p[k] = v;
      m = MAX (m, v);
    }
  for (guint k = 0; k < K; k++)
    sum += (p[k] = exp (p[k] - m));
  for (guint k = 0; k < K; k++)
    p[k] /= sum;
}

/* Three overlapping classes: test accuracy within 0.03 of the Bayes
 * classifier's on the same 3000 test points. */
static void
test_multinomial (void)
{
  const double means[] = { -1, 0, 1, 0, 0, 1.5 };
  g_autofree guint *y = NULL, *yt = NULL;
  g_autofree float *x = gaussian_data (600, 2, 3, means, 1, 4, &y);
  g_autofree float *xt = gaussian_data (3000, 2, 3, means, 1, 5, &yt);
  g_autofree float *p = g_new (float, 3000 * 3);
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoHead) head = NULL;
  HippoHeadParams params = params_default ();
  guint right, bayes_right = 0;

  params.normalise = HIPPO_HEAD_NORMALISE_STANDARDISE;
  head = hippo_head_train (x, 600, 2, y, NULL, 3, &params, NULL, NULL, &error);
  g_assert_no_error (error);
  hippo_head_predict (head, xt, 3000, p);
  right = count_right (head, p, yt, 3000);
  for (guint i = 0; i < 3000; i++)
    {
      double pb[3];
      guint top = 0;

      bayes (means, 3, 2, xt + i * 2, pb);
      for (guint k = 1; k < 3; k++)
        if (pb[k] > pb[top])
          top = k;
      bayes_right += top == yt[i];
    }
  g_test_message ("accuracy %u / 3000, Bayes %u", right, bayes_right);
  g_assert_cmpuint (right + 90, >=, bayes_right);
}

/* Temperature scaling against known Bayes probabilities (a well-specified
 * softmax problem on standardised features). A strong fixed λ shrinks the
 * logits: calibrated probabilities are within 0.02 of Bayes on average
 * (0.1 at worst) while uncalibrated ones are not; automatic λ is within
 * 0.02 too. */
static void
test_calibration (void)
{
  const double means[] = { -1, 0, 1, 0, 0, 1.5 };
  g_autofree guint *y = NULL, *yt = NULL;
  g_autofree float *x = gaussian_data (3000, 2, 3, means, 1, 6, &y);
  g_autofree float *xt = gaussian_data (3000, 2, 3, means, 1, 7, &yt);
  g_autofree float *p = g_new (float, 3000 * 3);
  HippoHeadParams params = params_default ();
  double err[3], worst[3];

  params.normalise = HIPPO_HEAD_NORMALISE_STANDARDISE;
  for (int run = 0; run < 3; run++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (HippoHead) head = NULL;

      params.l2 = run < 2 ? 0.3 : 0;
      params.calibrate = run != 1;
      head = hippo_head_train (x, 3000, 2, y, NULL, 3, &params, NULL, NULL,
                               &error);
      g_assert_no_error (error);
      hippo_head_predict (head, xt, 3000, p);
      err[run] = worst[run] = 0;
      for (guint i = 0; i < 3000; i++)
        {
          double pb[3];

          bayes (means, 3, 2, xt + i * 2, pb);
          for (guint k = 0; k < 3; k++)
            {
              double e = fabs (pb[k] - p[i * 3 + k]);

              err[run] += e / 9000;
              worst[run] = MAX (worst[run], e);
            }
        }
      g_test_message ("run %d: l2 %g T %.3f mean |p - p_Bayes| %.4f max %.4f",
                      run, hippo_head_get_l2 (head),
                      hippo_head_get_temperature (head), err[run], worst[run]);
      if (run == 0)
        g_assert_cmpfloat (hippo_head_get_temperature (head), <, 0.8);
    }
  g_assert_cmpfloat (err[0], <=, 0.02);
  g_assert_cmpfloat (worst[0], <=, 0.1);
  g_assert_cmpfloat (err[1], >, 2 * err[0]);
  g_assert_cmpfloat (err[2], <=, 0.02);
  g_assert_cmpfloat (worst[2], <=, 0.1);
}

/* 200 vs 20 overlapping examples: class weights raise the minority's
 * recall on a balanced test set by at least 0.1. */
static void
test_class_balance (void)
{
  const double means[] = { -0.5, 0.5 };
  g_autofree guint *yt = NULL;
  g_autofree float *xt = gaussian_data (2000, 1, 2, means, 1, 8, &yt);
  g_autofree float *x = g_new (float, 220);
  g_autofree guint *y = g_new (guint, 220);
  g_autofree float *p = g_new (float, 2000 * 2);
  HippoHeadParams params = params_default ();
  guint64 s = 9;
  double recall[2];

  for (guint i = 0; i < 220; i++)
    {
      y[i] = i < 200 ? 0 : 1;
      x[i] = (float) (means[y[i]] + gauss (&s));
    }
  params.l2 = 0.01;
  params.normalise = HIPPO_HEAD_NORMALISE_STANDARDISE;
  for (int balanced = 0; balanced < 2; balanced++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (HippoHead) head = NULL;
      guint hit = 0;

      params.class_balanced = balanced;
      head
        = hippo_head_train (x, 220, 1, y, NULL, 2, &params, NULL, NULL, &error);
      g_assert_no_error (error);
      hippo_head_predict (head, xt, 2000, p);
      for (guint i = 0; i < 2000; i++)
        hit += yt[i] == 1 && p[i * 2 + 1] > p[i * 2];
      recall[balanced] = hit / 1000.0;
    }
  g_test_message ("minority recall: unweighted %.3f, balanced %.3f", recall[0],
                  recall[1]);
  g_assert_cmpfloat (recall[1], >=, recall[0] + 0.1);
}

/* Independent sigmoids: three labels, each a half-space of its own
 * coordinate flipped by noise 0.3 (Bayes per-label accuracy
 * 1 - atan (0.3) / π = 0.907), labels co-occur freely; per-label accuracy
 * >= 0.87 on fresh points. Cross-validation works in multi-label mode. */
static void
test_multi_label (void)
{
  const guint n = 400, d = 4, K = 3;
  g_autofree float *x = g_new (float, n * d);
  g_autofree guint8 *Y = g_new (guint8, n * K);
  g_autofree float *p = g_new (float, n * K);
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoHead) head = NULL;
  g_autoptr (HippoMetrics) m = NULL;
  HippoHeadParams params = params_default ();
  guint64 s = 10;
  guint right = 0;

  for (guint i = 0; i < n * d; i++)
    x[i] = (float) gauss (&s);
  for (guint i = 0; i < n; i++)
    for (guint k = 0; k < K; k++)
      Y[i * K + k] = x[i * d + k] + 0.3 * gauss (&s) > 0;
  params.multi_label = TRUE;
  head
    = hippo_head_train (x, n / 2, d, NULL, Y, K, &params, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (hippo_head_get_multi_label (head));
  hippo_head_predict (head, x + (n / 2) * d, n / 2, p);
  for (guint i = 0; i < n / 2; i++)
    for (guint k = 0; k < K; k++)
      right += (p[i * K + k] >= 0.5) == Y[(n / 2 + i) * K + k];
  g_test_message ("per-label accuracy %.3f", right / (double) (n / 2 * K));
  g_assert_cmpfloat (right / (double) (n / 2 * K), >=, 0.87);

  m = hippo_metrics_from_training (head, &error);
  g_assert_no_error (error);
  g_assert_true (hippo_metrics_get_multi_label (m));
  g_assert_null (hippo_metrics_get_confusion (m));
  g_assert_cmpfloat (hippo_metrics_get_balanced_accuracy (m), >=, 0.85);

  g_clear_pointer (&m, hippo_metrics_free);
  m = hippo_metrics_cross_validate (x, n, d, NULL, Y, K, 3, &params, 1, NULL,
                                    NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hippo_metrics_get_n_tested (m), ==, n);
  g_assert_cmpfloat (hippo_metrics_get_balanced_accuracy (m), >=, 0.85);
  {
    g_autofree char *json = hippo_metrics_to_json (m, NULL);

    g_assert_nonnull (strstr (json, "\"multi_label\" : true"));
    g_assert_null (strstr (json, "confusion"));
  }

  /* a label on every example cannot be learnt */
  for (guint i = 0; i < n; i++)
    Y[i * K + 1] = 1;
  g_clear_pointer (&head, hippo_head_free);
  head = hippo_head_train (x, n, d, NULL, Y, K, &params, NULL, NULL, &error);
  g_assert_null (head);
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE);
}

static gboolean
cancel_after (guint64 done, guint64 total, gpointer data)
{
  guint *calls = data;

  g_assert_cmpuint (done, <=, total);
  return ++*calls < 3;
}

/* Bad inputs fail with the documented codes and never crash. */
static void
test_errors (void)
{
  const double means[] = { -1, 1 };
  g_autofree guint *y = NULL;
  g_autofree float *x = gaussian_data (40, 1, 2, means, 1, 11, &y);
  g_autoptr (GError) error = NULL;
  HippoHeadParams params = params_default ();
  guint8 Y[40 * 2];
  guint calls = 0;

  g_assert_null (
    hippo_head_train (x, 40, 1, y, NULL, 1, NULL, NULL, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE);
  g_clear_error (&error);

  /* class 2 of 3 has no example */
  g_assert_null (
    hippo_head_train (x, 40, 1, y, NULL, 3, NULL, NULL, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE);
  g_assert_nonnull (strstr (error->message, "class 2"));
  g_clear_error (&error);

  y[5] = 7;
  g_assert_null (
    hippo_head_train (x, 40, 1, y, NULL, 2, NULL, NULL, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  y[5] = 1;

  x[17] = NAN;
  g_assert_null (
    hippo_head_train (x, 40, 1, y, NULL, 2, NULL, NULL, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "17"));
  g_clear_error (&error);
  x[17] = INFINITY;
  g_assert_null (hippo_metrics_cross_validate (x, 40, 1, y, NULL, 2, 5, NULL, 1,
                                               NULL, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  x[17] = 0;

  params.tol = NAN;
  g_assert_null (
    hippo_head_train (x, 40, 1, y, NULL, 2, &params, NULL, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  params = params_default ();

  g_assert_null (hippo_head_train (x, 40, 1, y, NULL, 2, &params, cancel_after,
                                   &calls, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED);
  g_assert_cmpuint (calls, ==, 3);
  g_clear_error (&error);

  params.multi_label = TRUE;
  for (guint i = 0; i < 80; i++)
    Y[i] = (i / 2) % 2;
  Y[3] = 2;
  g_assert_null (
    hippo_head_train (x, 40, 1, NULL, Y, 2, &params, NULL, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  Y[3] = 0;
  for (guint i = 0; i < 40; i++)
    Y[i * 2] = 0;
  g_assert_null (
    hippo_head_train (x, 40, 1, NULL, Y, 2, &params, NULL, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE);
  g_assert_nonnull (strstr (error->message, "label 0"));
}

/* A class with one example: training works (that example only ever in
 * training), the cross-validation metrics leave it untested and say so. */
static void
test_one_example_class (void)
{
  const double means[] = { -2, 0, 2, 0 };
  g_autofree guint *y2 = NULL;
  g_autofree float *x2 = gaussian_data (30, 2, 2, means, 0.7, 12, &y2);
  g_autofree float *x = g_new (float, 31 * 2);
  g_autofree guint *y = g_new (guint, 31);
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoHead) head = NULL;
  g_autoptr (HippoMetrics) m = NULL;
  g_autofree char *text = NULL;
  g_autofree char *json = NULL;
  const char *names[] = { "cat", "dog", "lonely", NULL };
  const guint single = 17;
  guint support;

  /* two classes of 15 and, at row 17, the one example of class 2 */
  for (guint i = 0, j = 0; i < 31; i++)
    {
      if (i == single)
        {
          x[i * 2] = 0, x[i * 2 + 1] = 2, y[i] = 2;
          continue;
        }
      x[i * 2] = x2[j * 2], x[i * 2 + 1] = x2[j * 2 + 1], y[i] = y2[j];
      j++;
    }
  head = hippo_head_train (x, 31, 2, y, NULL, 3, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hippo_head_get_cv_folds (head), ==, 5);
  m = hippo_metrics_from_training (head, &error);
  g_assert_no_error (error);
  g_assert_false (hippo_metrics_is_tested (m, single));
  g_assert_cmpuint (hippo_metrics_get_n_tested (m), ==, 30);
  hippo_metrics_get_class (m, 2, NULL, NULL, NULL, &support);
  g_assert_cmpuint (support, ==, 0);

  g_clear_pointer (&m, hippo_metrics_free);
  m = hippo_metrics_cross_validate (x, 31, 2, y, NULL, 3, 10, NULL, 5, NULL,
                                    NULL, &error);
  g_assert_no_error (error);
  g_assert_false (hippo_metrics_is_tested (m, single));
  g_assert_cmpuint (hippo_metrics_get_n_tested (m), ==, 30);
  g_assert_cmpuint (hippo_metrics_get_folds (m), ==, 10);
  g_assert_cmpfloat (hippo_metrics_get_accuracy (m), >=, 0.8);
  text = hippo_metrics_to_text (m, names);
  g_test_message ("%s", text);
  g_assert_nonnull (strstr (text, "lonely has 1 example: used for training "
                                  "only, not tested"));
  json = hippo_metrics_to_json (m, names);
  g_assert_nonnull (strstr (json, "used for training only"));

  /* no class with two examples: no cross-validation, λ fixed */
  {
    const guint y3[3] = { 0, 1, 2 };
    g_autoptr (HippoHead) h3 = NULL;
    g_autoptr (HippoMetrics) m3 = NULL;

    h3 = hippo_head_train (x, 3, 2, y3, NULL, 3, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (hippo_head_get_cv_folds (h3), ==, 0);
    g_assert_cmpfloat (hippo_head_get_l2 (h3), ==, HIPPO_HEAD_DEFAULT_L2);
    g_assert_cmpfloat (hippo_head_get_temperature (h3), ==, 1);
    g_assert_null (hippo_metrics_from_training (h3, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE);
    g_clear_error (&error);
    g_assert_null (hippo_metrics_cross_validate (x, 3, 2, y3, NULL, 3, 5, NULL,
                                                 1, NULL, NULL, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE);
  }
}

/* --- folds --------------------------------------------------------------- */

/* Counts (7, 12, 3, 1) asking for 5 folds: k = 3 (the smallest class of
 * two or more), every class spread over the folds as evenly as possible,
 * the single example train-only, reproducible from the seed. */
static void
test_folds (void)
{
  const guint counts[4] = { 7, 12, 3, 1 };
  guint y[23], fold[23], fold2[23], n = 0, k;
  guint per[4][3] = { { 0 } };
  gboolean differs = FALSE;

  for (guint c = 0; c < 4; c++)
    for (guint j = 0; j < counts[c]; j++)
      y[n++] = c; /* grouped input order */
  k = hippo_head_assign_folds (y, NULL, n, 4, 5, 42, fold);
  g_assert_cmpuint (k, ==, 3);
  for (guint i = 0; i < n; i++)
    {
      if (y[i] == 3)
        {
          g_assert_cmpuint (fold[i], ==, HIPPO_FOLD_TRAIN_ONLY);
          continue;
        }
      g_assert_cmpuint (fold[i], <, 3);
      per[y[i]][fold[i]]++;
    }
  for (guint c = 0; c < 3; c++)
    for (guint f = 0; f < 3; f++)
      {
        g_assert_cmpuint (per[c][f], >=, counts[c] / 3);
        g_assert_cmpuint (per[c][f], <=, (counts[c] + 2) / 3);
      }
  g_assert_cmpuint (hippo_head_assign_folds (y, NULL, n, 4, 5, 42, fold2), ==,
                    3);
  g_assert_cmpmem (fold, sizeof fold, fold2, sizeof fold2);
  for (guint64 seed = 1; seed < 10 && !differs; seed++)
    {
      hippo_head_assign_folds (y, NULL, n, 4, 5, seed, fold2);
      differs = memcmp (fold, fold2, sizeof fold) != 0;
    }
  g_assert_true (differs);

  /* all folds of total size within one of each other */
  {
    guint size[3] = { 0 };

    for (guint i = 0; i < n; i++)
      if (fold[i] < 3)
        size[fold[i]]++;
    g_assert_cmpuint (MAX (size[0], MAX (size[1], size[2]))
                        - MIN (size[0], MIN (size[1], size[2])),
                      <=, 1);
  }

  /* requested 1 fold means 2; nothing to split gives 0 */
  g_assert_cmpuint (hippo_head_assign_folds (y, NULL, n, 4, 1, 1, fold), ==, 2);
  {
    const guint y1[3] = { 0, 1, 2 };
    guint f1[3];

    g_assert_cmpuint (hippo_head_assign_folds (y1, NULL, 3, 3, 5, 1, f1), ==,
                      0);
    for (guint i = 0; i < 3; i++)
      g_assert_cmpuint (f1[i], ==, HIPPO_FOLD_TRAIN_ONLY);
  }
}

/* --- binary format ------------------------------------------------------- */

static HippoHead *
small_head (HippoHeadParams *params)
{
  const double means[] = { -1, 0, 1, 1, 0, 1, 2, 2, 2, 0, -1, 1 };
  g_autofree guint *y = NULL;
  g_autofree float *x = gaussian_data (90, 4, 3, means, 1, 13, &y);
  g_autoptr (GError) error = NULL;
  HippoHead *head;

  head = hippo_head_train (x, 90, 4, y, NULL, 3, params, NULL, NULL, &error);
  g_assert_no_error (error);
  return head;
}

/* Round trip: same bytes, same getters, bit-identical predictions. */
static void
test_serialize_round_trip (void)
{
  HippoHeadParams params = params_default ();
  g_autoptr (HippoHead) head = small_head (&params);
  g_autoptr (HippoHead) back = NULL;
  g_autoptr (GBytes) blob = hippo_head_serialize (head);
  g_autoptr (GBytes) blob2 = NULL;
  g_autoptr (GError) error = NULL;
  float x[3 * 4] = { 0.1f, 2, -1, 0, 3, 3, 3, 3, -2, 0.5f, 0, 1 };
  float p1[9], p2[9];

  back = hippo_head_deserialize (blob, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hippo_head_get_n_classes (back), ==, 3);
  g_assert_cmpuint (hippo_head_get_dim (back), ==, 4);
  g_assert_cmpfloat (hippo_head_get_l2 (back), ==, hippo_head_get_l2 (head));
  g_assert_cmpfloat (hippo_head_get_temperature (back), ==,
                     hippo_head_get_temperature (head));
  g_assert_cmpuint (hippo_head_get_cv_folds (back), ==,
                    hippo_head_get_cv_folds (head));
  g_assert_cmpint (hippo_head_get_normalise (back), ==,
                   HIPPO_HEAD_NORMALISE_L2_STANDARDISE);
  hippo_head_predict (head, x, 3, p1);
  hippo_head_predict (back, x, 3, p2);
  g_assert_cmpmem (p1, sizeof p1, p2, sizeof p2);
  blob2 = hippo_head_serialize (back);
  g_assert_true (g_bytes_equal (blob, blob2));
  g_assert_null (hippo_metrics_from_training (back, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE);
}

/* Every truncation, an extension, 3000 random byte flips, a newer version
 * and an absurd size all fail with HIPPO_ERROR_PROJECT. */
static void
test_serialize_hostile (void)
{
  HippoHeadParams params = params_default ();
  g_autoptr (HippoHead) head = small_head (&params);
  g_autoptr (GBytes) blob = hippo_head_serialize (head);
  gsize len;
  const guint8 *data = g_bytes_get_data (blob, &len);
  g_autofree guint8 *buf = g_malloc (len + 1);
  guint64 s = 14;

  for (gsize cut = 0; cut < len; cut++)
    {
      g_autoptr (GBytes) b = g_bytes_new (data, cut);
      g_autoptr (GError) error = NULL;

      g_assert_null (hippo_head_deserialize (b, &error));
      g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
    }
  memcpy (buf, data, len);
  buf[len] = 0;
  {
    g_autoptr (GBytes) b = g_bytes_new (buf, len + 1);
    g_autoptr (GError) error = NULL;

    g_assert_null (hippo_head_deserialize (b, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
  }
  for (int t = 0; t < 3000; t++)
    {
      gsize at = hippo_rng_below (&s, len);
      guint8 flip = (guint8) (1 + hippo_rng_below (&s, 255));
      g_autoptr (GBytes) b = NULL;
      g_autoptr (GError) error = NULL;

      memcpy (buf, data, len);
      buf[at] ^= flip;
      b = g_bytes_new (buf, len);
      g_assert_null (hippo_head_deserialize (b, &error));
      g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
    }

  /* a newer version, with a valid checksum: refused by version */
  {
    g_autoptr (GChecksum) c = g_checksum_new (G_CHECKSUM_SHA256);
    g_autoptr (GBytes) b = NULL;
    g_autoptr (GError) error = NULL;
    gsize dlen = 32;

    memcpy (buf, data, len);
    buf[8] = 2;
    g_checksum_update (c, buf, (gssize) (len - 32));
    g_checksum_get_digest (c, buf + len - 32, &dlen);
    b = g_bytes_new (buf, len);
    g_assert_null (hippo_head_deserialize (b, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
    g_assert_nonnull (strstr (error->message, "version 2"));
  }

  /* sizes claiming 2^16 classes x 2^24 features: refused before any
   * allocation (the length does not match) */
  {
    g_autoptr (GBytes) b = NULL;
    g_autoptr (GError) error = NULL;

    memcpy (buf, data, len);
    buf[20] = 0, buf[21] = 0, buf[22] = 1, buf[23] = 0;
    buf[24] = 0, buf[25] = 0, buf[26] = 0, buf[27] = 1;
    b = g_bytes_new (buf, len);
    g_assert_null (hippo_head_deserialize (b, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT);
  }
}

/* Same data and seed give identical bytes, whatever the thread count. */
static void
test_determinism (void)
{
  HippoHeadParams params = params_default ();
  g_autoptr (HippoHead) a = NULL, b = NULL, c = NULL;
  g_autoptr (GBytes) ba = NULL, bb = NULL, bc = NULL;

  params.seed = 99;
  params.n_threads = 1;
  a = small_head (&params);
  b = small_head (&params);
  params.n_threads = 2;
  c = small_head (&params);
  ba = hippo_head_serialize (a);
  bb = hippo_head_serialize (b);
  bc = hippo_head_serialize (c);
  g_assert_true (g_bytes_equal (ba, bb));
  g_assert_true (g_bytes_equal (ba, bc));
}

/* --- prediction, decisions, active learning ------------------------------ */

static void
test_predict_nan_and_decide (void)
{
  HippoHeadParams params = params_default ();
  g_autoptr (HippoHead) head = small_head (&params);
  float x[2 * 4] = { 1, 1, 1, 1, 1, NAN, 1, 1 };
  float p[6], conf;
  const float sure[3] = { 0.7f, 0.2f, 0.1f };
  const float unsure[3] = { 0.4f, 0.35f, 0.25f };

  hippo_head_predict (head, x, 2, p);
  g_assert_false (isnan (p[0]));
  for (int k = 0; k < 3; k++)
    g_assert_true (isnan (p[3 + k]));
  g_assert_cmpint (hippo_head_decide (head, p + 3, -1, &conf), ==, -1);
  g_assert_true (isnan (conf));
  g_assert_cmpint (hippo_head_decide (head, sure, -1, &conf), ==, 0);
  g_assert_cmpfloat (conf, ==, 0.7f);
  g_assert_cmpint (hippo_head_decide (head, unsure, -1, NULL), ==, -1);
  g_assert_cmpint (hippo_head_decide (head, unsure, 0.3, NULL), ==, 0);
  g_assert_cmpint (hippo_head_decide (head, sure, 0.8, NULL), ==, -1);
}

/* Margin uncertainty by hand: 1 - (p1 - p2). */
static void
test_uncertainty (void)
{
  const float p[5 * 3] = { 0.5f, 0.3f, 0.2f, 1,    0,    0,    0.4f, 0.2f,
                           0.4f, NAN,  0.5f, 0.5f, 0.1f, 0.6f, 0.3f };
  const float pm[2 * 2] = { 0.5f, 0.9f, 0.95f, 0.1f };
  float u[5], um[2];
  guint order[5];

  hippo_head_uncertainty (p, 5, 3, FALSE, u);
  g_assert_cmpfloat (fabs (u[0] - 0.8), <=, 1e-6);
  g_assert_cmpfloat (u[1], ==, 0);
  g_assert_cmpfloat (fabs (u[2] - 1), <=, 1e-6);
  g_assert_true (isnan (u[3]));
  g_assert_cmpfloat (fabs (u[4] - 0.7), <=, 1e-6);
  hippo_head_rank_uncertain (u, 5, order);
  g_assert_cmpuint (order[0], ==, 2);
  g_assert_cmpuint (order[1], ==, 0);
  g_assert_cmpuint (order[2], ==, 4);
  g_assert_cmpuint (order[3], ==, 1);
  g_assert_cmpuint (order[4], ==, 3);

  hippo_head_uncertainty (pm, 2, 2, TRUE, um);
  g_assert_cmpfloat (fabs (um[0] - 1), <=, 1e-6);
  g_assert_cmpfloat (fabs (um[1] - 0.2), <=, 1e-6);

  /* ties keep index order */
  {
    const float t[4] = { 0.5f, 0.7f, 0.5f, 0.7f };
    guint o[4];

    hippo_head_rank_uncertain (t, 4, o);
    g_assert_cmpuint (o[0], ==, 1);
    g_assert_cmpuint (o[1], ==, 3);
    g_assert_cmpuint (o[2], ==, 0);
    g_assert_cmpuint (o[3], ==, 2);
  }
}

/* --- metrics ------------------------------------------------------------- */

/* Ten hand-made predictions over three classes.
 *   true:      0 0 0 0 1 1 1 2 2 2
 *   predicted: 0 0 1 0 1 2 1 2 0 -   (the last row NaN: untested)
 * confusion (rows true): [3 1 0; 0 2 1; 1 0 1]
 * precision: 3/4, 2/3, 1/2; recall: 3/4, 2/3, 1/2; F1 the same;
 * accuracy 6/9; balanced (3/4 + 2/3 + 1/2) / 3;
 * log-loss: mean of -ln p_true over the nine rows. */
static void
test_metrics_by_hand (void)
{
  const guint y[10] = { 0, 0, 0, 0, 1, 1, 1, 2, 2, 2 };
  const guint pred[9] = { 0, 0, 1, 0, 1, 2, 1, 2, 0 };
  float p[30];
  g_autoptr (HippoMetrics) m = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *json = NULL;
  g_autofree char *text = NULL;
  const char *names[] = { "apple", "pear", "plum", NULL };
  const guint want[9] = { 3, 1, 0, 0, 2, 1, 1, 0, 1 };
  const double pr[3] = { 3 / 4.0, 2 / 3.0, 1 / 2.0 };
  double ll = 0, prec, rec, f1, sure_acc;
  const guint *conf;
  guint support;
  JsonObject *root;
  JsonArray *classes;

  for (guint i = 0; i < 10; i++)
    for (guint k = 0; k < 3; k++)
      p[i * 3 + k] = i == 9 ? NAN : k == pred[i] ? 0.6f : 0.2f;
  p[0] = 0.45f, p[1] = 0.3f, p[2] = 0.25f; /* unsure at 0.5 but right */
  for (guint i = 0; i < 9; i++)
    ll -= log ((double) p[i * 3 + y[i]]);
  ll /= 9;

  m = hippo_metrics_from_predictions (p, 10, y, NULL, 3, 0.5, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hippo_metrics_get_n_samples (m), ==, 10);
  g_assert_cmpuint (hippo_metrics_get_n_tested (m), ==, 9);
  g_assert_false (hippo_metrics_is_tested (m, 9));
  g_assert_cmpfloat (fabs (hippo_metrics_get_accuracy (m) - 6 / 9.0), <=,
                     1e-12);
  g_assert_cmpfloat (fabs (hippo_metrics_get_balanced_accuracy (m)
                           - (pr[0] + pr[1] + pr[2]) / 3),
                     <=, 1e-12);
  g_assert_cmpfloat (fabs (hippo_metrics_get_log_loss (m) - ll), <=, 1e-12);
  g_assert_cmpfloat (fabs (hippo_metrics_get_coverage (m, &sure_acc) - 8 / 9.0),
                     <=, 1e-12);
  g_assert_cmpfloat (fabs (sure_acc - 5 / 8.0), <=, 1e-12);
  conf = hippo_metrics_get_confusion (m);
  g_assert_cmpmem (conf, 9 * sizeof (guint), want, sizeof want);
  for (guint c = 0; c < 3; c++)
    {
      hippo_metrics_get_class (m, c, &prec, &rec, &f1, &support);
      g_assert_cmpfloat (fabs (prec - pr[c]), <=, 1e-12);
      g_assert_cmpfloat (fabs (rec - pr[c]), <=, 1e-12);
      g_assert_cmpfloat (fabs (f1 - pr[c]), <=, 1e-12);
      g_assert_cmpuint (support, ==, c == 2 ? 2 : c == 0 ? 4 : 3);
    }

  json = hippo_metrics_to_json (m, names);
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (root, "n_tested"), ==, 9);
  g_assert_cmpfloat (
    fabs (json_object_get_double_member (root, "accuracy") - 6 / 9.0), <=,
    1e-9);
  classes = json_object_get_array_member (root, "classes");
  g_assert_cmpuint (json_array_get_length (classes), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (
                     json_array_get_object_element (classes, 2), "name"),
                   ==, "plum");
  g_assert_cmpint (json_array_get_int_element (
                     json_array_get_array_element (
                       json_object_get_array_member (root, "confusion"), 0),
                     1),
                   ==, 1);
  g_assert_cmpint (json_array_get_int_element (
                     json_object_get_array_member (root, "untested"), 0),
                   ==, 9);

  text = hippo_metrics_to_text (m, names);
  g_test_message ("%s", text);
  g_assert_nonnull (strstr (text, "Accuracy 66.7 %"));
  g_assert_nonnull (strstr (text, "pear"));
  g_assert_nonnull (strstr (text, "Confusion"));
  g_assert_nonnull (strstr (text, "1 of 10 examples got no prediction"));

  /* nothing tested: NaN figures, null in JSON, said in text */
  g_clear_pointer (&m, hippo_metrics_free);
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&json, g_free);
  m = hippo_metrics_from_predictions (p + 27, 1, y + 9, NULL, 3, 0.5, &error);
  g_assert_no_error (error);
  g_assert_true (isnan (hippo_metrics_get_accuracy (m)));
  text = hippo_metrics_to_text (m, NULL);
  g_assert_nonnull (strstr (text, "No example of 1 got a prediction"));
  json = hippo_metrics_to_json (m, NULL);
  g_assert_nonnull (strstr (json, "\"accuracy\" : null"));

  /* a label out of range */
  g_clear_pointer (&m, hippo_metrics_free);
  {
    const guint bad[10] = { 0, 0, 0, 0, 1, 1, 1, 2, 2, 3 };

    g_assert_null (
      hippo_metrics_from_predictions (p, 10, bad, NULL, 3, 0.5, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  }
}

/* Cross-validation on an easy problem: every example tested, high
 * accuracy, predictions are probabilities. */
static void
test_cross_validate (void)
{
  const double means[] = { -2, 0, 2, 0, 0, 2 };
  g_autofree guint *y = NULL;
  g_autofree float *x = gaussian_data (60, 2, 3, means, 0.6, 15, &y);
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoMetrics) m = NULL;
  const float *p;

  m = hippo_metrics_cross_validate (x, 60, 2, y, NULL, 3, 4, NULL, 3, NULL,
                                    NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hippo_metrics_get_folds (m), ==, 4);
  g_assert_cmpuint (hippo_metrics_get_n_tested (m), ==, 60);
  g_assert_cmpfloat (hippo_metrics_get_accuracy (m), >=, 0.9);
  p = hippo_metrics_get_predictions (m);
  for (guint i = 0; i < 60; i++)
    g_assert_cmpfloat (fabs (p[i * 3] + p[i * 3 + 1] + p[i * 3 + 2] - 1), <=,
                       1e-5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/head/separable", test_separable);
  g_test_add_func ("/head/known-optimum", test_known_optimum);
  g_test_add_func ("/head/gradient-softmax", test_gradient_softmax);
  g_test_add_func ("/head/gradient-sigmoid", test_gradient_sigmoid);
  g_test_add_func ("/head/multinomial", test_multinomial);
  g_test_add_func ("/head/calibration", test_calibration);
  g_test_add_func ("/head/class-balance", test_class_balance);
  g_test_add_func ("/head/multi-label", test_multi_label);
  g_test_add_func ("/head/errors", test_errors);
  g_test_add_func ("/head/one-example-class", test_one_example_class);
  g_test_add_func ("/head/folds", test_folds);
  g_test_add_func ("/head/serialize-round-trip", test_serialize_round_trip);
  g_test_add_func ("/head/serialize-hostile", test_serialize_hostile);
  g_test_add_func ("/head/determinism", test_determinism);
  g_test_add_func ("/head/predict-nan-decide", test_predict_nan_and_decide);
  g_test_add_func ("/head/uncertainty", test_uncertainty);
  g_test_add_func ("/metrics/by-hand", test_metrics_by_hand);
  g_test_add_func ("/metrics/cross-validate", test_cross_validate);
  return g_test_run ();
}
