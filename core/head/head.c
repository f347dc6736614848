/* The classifier head: argument checks, normalisation, folds, training
 * orchestration, prediction, decisions, uncertainty and the binary format.
 * The numerics of the fits are in head-fit.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "head-private.h"

/* Binary format, version 1, little-endian:
 *   0  "HIPPOHD\0"           magic
 *   8  u32 version           1
 *  12  u32 flags             bit 0: multi-label
 *  16  u32 normalise         HippoHeadNormalise
 *  20  u32 n_classes         1 ..= HEAD_MAX_CLASSES
 *  24  u32 dim               1 ..= HEAD_MAX_DIM
 *  28  u32 cv_folds
 *  32  f64 l2, f64 temperature, f64 unsure_threshold
 *  56  u32 reserved (0) x 2
 *  64  f32 mean[dim], f32 inv_std[dim], f32 weights[n_classes * dim],
 *      f32 bias[n_classes]
 *  end-32: SHA-256 of every byte before it */
#define HEAD_MAGIC "HIPPOHD"
#define HEAD_VERSION 1
#define HEAD_HEADER 64
#define HEAD_DIGEST 32
#define HEAD_MAX_CLASSES 65536
#define HEAD_MAX_DIM (1u << 24)
#define HEAD_MAX_PARAMS ((gsize) 1 << 28)
#define PREDICT_CHUNK 256
#define HEAD_MAX_ROTATE 4096
#define HEAD_MAX_EXAMPLES (1u << 24)
#define HEAD_MAX_VALUES ((gsize) 1 << 30)
#define HEAD_MAX_OUTPUTS ((gsize) 1 << 24)
#define HEAD_MAX_FOLDS 20

struct _HippoHead
{
  guint n_classes;
  guint dim;
  gboolean multi_label;
  HippoHeadNormalise normalise;
  double l2;
  double temperature;
  double unsure_threshold;
  guint cv_folds;
  float *mean;    /* dim */
  float *inv_std; /* dim */
  float *weights; /* n_classes × dim */
  float *bias;    /* n_classes */

  /* by-products of training, not serialised */
  guint n_train;
  float *oof; /* n_train × n_classes probabilities, NaN rows untested */
  guint *labels;
  guint8 *label_matrix;
};

void
hippo_head_params_default (HippoHeadParams *params)
{
  g_return_if_fail (params != NULL);

  memset (params, 0, sizeof *params);
  params->l2 = 0;
  params->l2_min = 1e-4;
  params->l2_max = 1e2;
  params->select = HIPPO_HEAD_SELECT_LOG_LOSS;
  params->folds = 5;
  params->class_balanced = TRUE;
  params->multi_label = FALSE;
  params->normalise = HIPPO_HEAD_NORMALISE_L2_STANDARDISE;
  params->calibrate = TRUE;
  params->unsure_threshold = 0.5;
  params->max_iter = 1000;
  params->tol = 1e-5;
  params->seed = 0;
  params->n_threads = 1;
}

void
hippo_head_free (HippoHead *head)
{
  if (head == NULL)
    return;
  g_free (head->mean);
  g_free (head->inv_std);
  g_free (head->weights);
  g_free (head->bias);
  g_free (head->oof);
  g_free (head->labels);
  g_free (head->label_matrix);
  g_free (head);
}

static HippoHead *
head_alloc (guint n_classes, guint dim)
{
  HippoHead *h = g_new0 (HippoHead, 1);

  h->n_classes = n_classes;
  h->dim = dim;
  h->mean = g_new0 (float, dim);
  h->inv_std = g_new (float, dim);
  for (guint t = 0; t < dim; t++)
    h->inv_std[t] = 1;
  h->bias = g_new0 (float, n_classes);
  h->temperature = 1;
  return h;
}

/* --- labels and folds ---------------------------------------------------- */

gboolean
hippo_head_check_labels (const guint *labels, const guint8 *label_matrix,
                         guint n, guint n_classes, gboolean lenient,
                         GError **error)
{
  g_autofree guint *count = g_new0 (guint, 2 * (gsize) n_classes);

  for (guint i = 0; i < n; i++)
    {
      if (label_matrix)
        for (guint k = 0; k < n_classes; k++)
          {
            guint8 v = label_matrix[(gsize) i * n_classes + k];

            if (v > 1)
              {
                g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                             "label matrix value %u at example %u, label %u "
                             "is not 0 or 1",
                             v, i, k);
                return FALSE;
              }
            count[2 * k + v]++;
          }
      else if (labels[i] >= n_classes)
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                       "example %u has class %u but there are only %u "
                       "classes",
                       i, labels[i], n_classes);
          return FALSE;
        }
      else
        count[labels[i]]++;
    }
  if (lenient)
    return TRUE;
  for (guint k = 0; k < n_classes; k++)
    {
      if (label_matrix && count[2 * k + 1] == 0)
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                       "label %u is on no example: every label needs at "
                       "least one example",
                       k);
          return FALSE;
        }
      if (label_matrix && count[2 * k] == 0)
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                       "label %u is on every example: it needs at least one "
                       "example without it",
                       k);
          return FALSE;
        }
      if (!label_matrix && count[k] == 0)
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                       "class %u has no examples: every class needs at least "
                       "one",
                       k);
          return FALSE;
        }
    }
  return TRUE;
}

guint
hippo_head_assign_folds (const guint *labels, const guint8 *label_matrix,
                         guint n, guint n_classes, guint folds, guint64 seed,
                         guint *fold_of)
{
  guint n_keys = label_matrix ? n_classes + 1 : n_classes;
  g_autofree guint *key = g_new (guint, MAX (n, 1));
  g_autofree guint *count = g_new0 (guint, n_keys + 1);
  g_autofree guint *pos_count = NULL;
  g_autofree guint *idx = g_new (guint, MAX (n, 1));
  guint64 rng = seed;
  guint min_count = G_MAXUINT, k, start = 0;

  if (label_matrix)
    {
      pos_count = g_new0 (guint, n_classes);
      for (gsize i = 0; i < (gsize) n * n_classes; i++)
        pos_count[i % n_classes] += label_matrix[i] != 0;
    }
  for (guint i = 0; i < n; i++)
    {
      if (label_matrix)
        {
          const guint8 *yi = label_matrix + (gsize) i * n_classes;

          key[i] = n_classes;
          for (guint c = 0; c < n_classes; c++)
            if (yi[c]
                && (key[i] == n_classes || pos_count[c] < pos_count[key[i]]))
              key[i] = c;
        }
      else
        key[i] = labels[i];
      count[key[i] + 1]++;
    }
  for (guint c = 1; c <= n_keys; c++)
    if (count[c] >= 2)
      min_count = MIN (min_count, count[c]);
  for (guint i = 0; i < n; i++)
    fold_of[i] = HIPPO_FOLD_TRAIN_ONLY;
  if (min_count == G_MAXUINT)
    return 0;
  k = MIN (MAX (folds, 2), min_count);

  /* counting sort by key, input order within a key */
  for (guint c = 1; c <= n_keys; c++)
    count[c] += count[c - 1];
  for (guint i = 0; i < n; i++)
    idx[count[key[i]]++] = i;
  for (guint c = n_keys; c > 0; c--)
    count[c] = count[c - 1];
  count[0] = 0;

  for (guint c = 0; c < n_keys; c++)
    {
      guint *ix = idx + count[c], m = count[c + 1] - count[c];

      if (m < 2)
        continue;
      for (guint j = m - 1; j > 0; j--)
        {
          guint r = (guint) hippo_rng_below (&rng, (guint64) j + 1), t = ix[j];

          ix[j] = ix[r];
          ix[r] = t;
        }
      for (guint j = 0; j < m; j++)
        fold_of[ix[j]] = (start + j) % k;
      start = (start + m) % k;
    }
  return k;
}

/* --- normalisation ------------------------------------------------------- */

static gboolean
row_finite (const float *x, guint dim)
{
  for (guint t = 0; t < dim; t++)
    if (!isfinite (x[t]))
      return FALSE;
  return TRUE;
}

static double
row_scale (const HippoHead *h, const float *x)
{
  double ss = 0;

  if (!(h->normalise & HIPPO_HEAD_NORMALISE_L2))
    return 1.0;
  for (guint t = 0; t < h->dim; t++)
    ss += (double) x[t] * x[t];
  return ss > 0 ? 1.0 / sqrt (ss) : 0.0;
}

static void
normalise_row (const HippoHead *h, const float *x, float *out)
{
  double s = row_scale (h, x);

  for (guint t = 0; t < h->dim; t++)
    out[t] = (float) ((x[t] * s - h->mean[t]) * h->inv_std[t]);
}

/* Mean and 1/std per dimension of the (L2-normalised) rows. */
static void
fit_standardise (HippoHead *h, const float *x, guint n)
{
  guint d = h->dim;
  g_autofree double *sum = g_new0 (double, d);
  g_autofree double *sq = g_new0 (double, d);
  double max_sd = 0;

  for (guint i = 0; i < n; i++)
    {
      const float *xi = x + (gsize) i * d;
      double s = row_scale (h, xi);

      for (guint t = 0; t < d; t++)
        sum[t] += xi[t] * s;
    }
  for (guint t = 0; t < d; t++)
    sum[t] /= n;
  for (guint i = 0; i < n; i++)
    {
      const float *xi = x + (gsize) i * d;
      double s = row_scale (h, xi);

      for (guint t = 0; t < d; t++)
        {
          double v = xi[t] * s - sum[t];
          sq[t] += v * v;
        }
    }
  for (guint t = 0; t < d; t++)
    {
      sq[t] = sqrt (sq[t] / n);
      max_sd = MAX (max_sd, sq[t]);
    }
  for (guint t = 0; t < d; t++)
    {
      h->mean[t] = (float) sum[t];
      /* a dimension (nearly) constant on the training set is ignored */
      h->inv_std[t]
        = sq[t] > 1e-6 * max_sd && sq[t] > 0 ? (float) (1.0 / sq[t]) : 0.0f;
    }
}

/* --- principal axes ------------------------------------------------------ */

/* LAPACK (in OpenBLAS), Fortran calling convention. */
extern void ssyevd_ (const char *jobz, const char *uplo, const int *n, float *a,
                     const int *lda, float *w, float *work, const int *lwork,
                     int *iwork, const int *liwork, int *info, size_t jobz_len,
                     size_t uplo_len);

/* Eigen-decomposition of a symmetric m × m matrix whose row-major upper
 * triangle is filled: eigenvalues ascending in w, eigenvector j in row j
 * of a. FALSE when LAPACK failed. */
static gboolean
sym_eigen (float *a, int m, float *w)
{
  int lwork = -1, liwork = -1, info = 0, iq = 0;
  float wq = 0;
  g_autofree float *work = NULL;
  g_autofree int *iwork = NULL;

  /* row-major upper = column-major lower */
  ssyevd_ ("V", "L", &m, a, &m, w, &wq, &lwork, &iq, &liwork, &info, 1, 1);
  if (info != 0)
    return FALSE;
  lwork = (int) wq + 1;
  liwork = iq;
  work = g_try_new (float, lwork);
  iwork = g_try_new (int, MAX (liwork, 1));
  if (work == NULL || iwork == NULL)
    return FALSE;
  ssyevd_ ("V", "L", &m, a, &m, w, work, &lwork, iwork, &liwork, &info, 1, 1);
  return info == 0;
}

/* Rotates the rows of x (n × d) to principal axes: x ≈ z axes with z
 * (n × r) of orthogonal columns (mean squares in msq) and axes (r × d)
 * orthonormal rows; directions with less than 1e-5 of the largest
 * second moment are dropped. A linear model on z with an isotropic L2
 * penalty is the same model on x (the optimum lies in the row space), so
 * fits are done on the smaller, uncorrelated z. Returns r, 0 on failure. */
static guint
principal_axes (const float *x, guint n, guint d, float **z, float **axes,
                double **msq)
{
  guint m = MIN (n, d), r = 0;
  g_autofree float *a = NULL;
  g_autofree float *w = g_new (float, m);
  g_autofree guint *keep = g_new (guint, m);
  float thr;

  /* beyond this the O(m³) eigen-decomposition and its O(m²) memory cost
   * more than the fits gain */
  if (m > HEAD_MAX_ROTATE)
    return 0;
  a = g_try_new (float, (gsize) m * m);
  if (a == NULL)
    return 0;
  if (n <= d)
    cblas_ssyrk (CblasRowMajor, CblasUpper, CblasNoTrans, (int) n, (int) d,
                 1.0f, x, (int) d, 0.0f, a, (int) n);
  else
    cblas_ssyrk (CblasRowMajor, CblasUpper, CblasTrans, (int) d, (int) n, 1.0f,
                 x, (int) d, 0.0f, a, (int) d);
  if (!sym_eigen (a, (int) m, w) || !(w[m - 1] > 0))
    return 0;
  thr = 1e-5f * w[m - 1];
  for (guint j = m; j-- > 0;)
    if (w[j] > thr)
      keep[r++] = j;

  *msq = g_new (double, r);
  for (guint q = 0; q < r; q++)
    (*msq)[q] = (double) w[keep[q]] / n;
  *z = g_new (float, (gsize) n * r);
  *axes = g_new (float, (gsize) r * d);
  if (n <= d)
    {
      /* a's rows are eigenvectors u of x xᵀ: z = u √w, axes = uᵀ x / √w */
      g_autofree float *ut = g_new (float, (gsize) r * n);

      for (guint q = 0; q < r; q++)
        {
          const float *u = a + (gsize) keep[q] * n;
          double sw = sqrt ((double) w[keep[q]]);

          for (guint i = 0; i < n; i++)
            {
              (*z)[(gsize) i * r + q] = (float) (u[i] * sw);
              ut[(gsize) q * n + i] = (float) (u[i] / sw);
            }
        }
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) r, (int) d,
                   (int) n, 1.0f, ut, (int) n, x, (int) d, 0.0f, *axes,
                   (int) d);
    }
  else
    {
      /* a's rows are eigenvectors of xᵀ x: axes = them, z = x axesᵀ */
      for (guint q = 0; q < r; q++)
        memcpy (*axes + (gsize) q * d, a + (gsize) keep[q] * d,
                d * sizeof (float));
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) n, (int) r,
                   (int) d, 1.0f, x, (int) d, *axes, (int) d, 0.0f, *z,
                   (int) r);
    }
  return r;
}

/* --- training ------------------------------------------------------------ */

static gboolean
check_params (const HippoHeadParams *p, GError **error)
{
  if (!isfinite (p->l2) || !isfinite (p->l2_min) || !isfinite (p->l2_max)
      || (p->l2 <= 0 && !(p->l2_min > 0 && p->l2_max >= p->l2_min))
      || !(p->tol > 0) || !isfinite (p->tol)
      || !(p->unsure_threshold >= 0 && p->unsure_threshold <= 1)
      || (guint) p->normalise > HIPPO_HEAD_NORMALISE_L2_STANDARDISE
      || (guint) p->select > HIPPO_HEAD_SELECT_ACCURACY)
    {
      g_set_error_literal (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                           "invalid head parameters (l2, l2_min, l2_max, "
                           "tol, unsure_threshold, normalise or select)");
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_sizes (guint n, guint dim, guint n_classes, GError **error)
{
  gsize a, b;

  /* bounds that keep every buffer (a normalised copy of x, n × classes ×
   * folds logits) to a few GB at most */
  if (n > HEAD_MAX_EXAMPLES || dim > HEAD_MAX_DIM
      || n_classes > HEAD_MAX_CLASSES || !g_size_checked_mul (&a, n, dim)
      || a > HEAD_MAX_VALUES || !g_size_checked_mul (&b, dim, n_classes)
      || b > HEAD_MAX_PARAMS || !g_size_checked_mul (&b, n, n_classes)
      || b > HEAD_MAX_OUTPUTS)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "training data too large (%u examples of %u features, %u "
                   "classes)",
                   n, dim, n_classes);
      return FALSE;
    }
  return TRUE;
}

/* logit / T, kept finite (absurd raw features can overflow a float). */
static double
scaled (float logit, double temperature)
{
  return CLAMP (logit / temperature, -1e30, 1e30);
}

/* Softmax or sigmoids of logits / T; out may be logits. */
static void
probabilities (gboolean multi, double temperature, const float *logits,
               guint n_classes, float *out)
{
  if (multi)
    for (guint k = 0; k < n_classes; k++)
      {
        double v = scaled (logits[k], temperature);
        out[k]
          = (float) (v >= 0 ? 1 / (1 + exp (-v)) : exp (v) / (1 + exp (v)));
      }
  else
    {
      double m = -HUGE_VAL, sum = 0;

      for (guint k = 0; k < n_classes; k++)
        m = MAX (m, scaled (logits[k], temperature));
      for (guint k = 0; k < n_classes; k++)
        sum += exp (scaled (logits[k], temperature) - m);
      for (guint k = 0; k < n_classes; k++)
        out[k] = (float) (exp (scaled (logits[k], temperature) - m) / sum);
    }
}

static HippoHead *
train (const float *x, guint n, guint dim, const guint *labels,
       const guint8 *label_matrix, guint n_classes,
       const HippoHeadParams *params, gboolean lenient,
       HippoProgressFunc progress, gpointer user_data, GError **error)
{
  HippoHeadParams defaults;
  g_autoptr (HippoHead) h = NULL;
  g_autofree guint *fold_of = NULL;
  g_autofree guint *perm = NULL;
  g_autofree guint *block = NULL;
  g_autofree float *xn = NULL;
  g_autofree guint *py = NULL;
  g_autofree guint8 *pY = NULL;
  g_autofree double *grid = NULL;
  g_autofree float *z = NULL;
  g_autofree float *axes = NULL;
  g_autofree double *msq = NULL;
  HippoHeadFit fit = { 0 };
  gboolean multi, need_cv;
  guint k = 0, n_grid, pos, r;

  if (params == NULL)
    {
      hippo_head_params_default (&defaults);
      params = &defaults;
    }
  multi = params->multi_label;
  g_return_val_if_fail (n == 0 || x != NULL, NULL);
  g_return_val_if_fail (multi ? label_matrix != NULL && labels == NULL
                              : labels != NULL && label_matrix == NULL,
                        NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_params (params, error))
    return NULL;
  if (n_classes < (multi ? 1u : 2u))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                   "training needs at least two classes (%u given)", n_classes);
      return NULL;
    }
  if (n == 0)
    {
      g_set_error_literal (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                           "training needs examples (none given)");
      return NULL;
    }
  if (dim == 0)
    {
      g_set_error_literal (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                           "feature vectors are empty");
      return NULL;
    }
  if (!check_sizes (n, dim, n_classes, error)
      || !hippo_head_check_labels (labels, label_matrix, n, n_classes, lenient,
                                   error))
    return NULL;
  for (guint i = 0; i < n; i++)
    if (!row_finite (x + (gsize) i * dim, dim))
      {
        g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                     "feature vector %u has a NaN or infinite value", i);
        return NULL;
      }

  h = head_alloc (n_classes, dim);
  h->multi_label = multi;
  h->normalise = params->normalise;
  h->unsure_threshold = params->unsure_threshold;
  if (h->normalise & HIPPO_HEAD_NORMALISE_STANDARDISE)
    fit_standardise (h, x, n);

  /* λ grid, strongest first */
  if (params->l2 > 0)
    {
      n_grid = 1;
      grid = g_new (double, 1);
      grid[0] = params->l2;
    }
  else
    {
      double decades = log10 (params->l2_max / params->l2_min);

      n_grid = (guint) MIN (floor (decades * HIPPO_HEAD_GRID_PER_DECADE + 1e-9),
                            1000.0)
               + 1;
      grid = g_new (double, n_grid);
      for (guint g = 0; g < n_grid; g++)
        grid[g] = params->l2_max
                  * pow (10.0, -(double) g / HIPPO_HEAD_GRID_PER_DECADE);
    }

  /* folds, then the rows ordered by fold (train-only rows last) */
  fold_of = g_new (guint, n);
  need_cv = params->l2 <= 0 || params->calibrate;
  if (need_cv)
    k = hippo_head_assign_folds (labels, label_matrix, n, n_classes,
                                 MIN (params->folds, HEAD_MAX_FOLDS),
                                 params->seed, fold_of);
  else
    for (guint i = 0; i < n; i++)
      fold_of[i] = HIPPO_FOLD_TRAIN_ONLY;
  if (k == 0 && params->l2 <= 0)
    {
      n_grid = 1;
      grid[0] = HIPPO_HEAD_DEFAULT_L2;
    }
  block = g_new0 (guint, k + 2);
  perm = g_new (guint, n);
  pos = 0;
  for (guint f = 0; f <= k; f++)
    {
      guint want = f < k ? f : HIPPO_FOLD_TRAIN_ONLY;

      block[f] = pos;
      for (guint i = 0; i < n; i++)
        if (fold_of[i] == want)
          perm[pos++] = i;
    }
  block[k + 1] = n;

  xn = g_new (float, (gsize) n * dim);
  if (multi)
    pY = g_new (guint8, (gsize) n * n_classes);
  else
    py = g_new (guint, n);
  for (guint row = 0; row < n; row++)
    {
      guint i = perm[row];

      normalise_row (h, x + (gsize) i * dim, xn + (gsize) row * dim);
      if (multi)
        memcpy (pY + (gsize) row * n_classes,
                label_matrix + (gsize) i * n_classes, n_classes);
      else
        py[row] = labels[i];
    }

  r = principal_axes (xn, n, dim, &z, &axes, &msq);
  fit.x = r ? z : xn;
  fit.n = n;
  fit.dim = r ? r : dim;
  fit.precond = r ? msq : NULL;
  fit.n_classes = n_classes;
  fit.multi_label = multi;
  fit.labels = py;
  fit.label_matrix = pY;
  fit.block = block;
  fit.n_folds = k;
  fit.class_balanced = params->class_balanced;
  fit.l2_grid = grid;
  fit.n_grid = n_grid;
  fit.select = params->select;
  fit.calibrate = params->calibrate;
  fit.max_iter = params->max_iter;
  fit.tol = params->tol;
  fit.n_threads
    = params->n_threads ? params->n_threads : (guint) g_get_num_processors ();
  fit.progress = progress;
  fit.user_data = user_data;
  if (!hippo_head_fit (&fit, error))
    return NULL;
  g_debug ("head: %u x %u (rank %u), %u classes, %u folds, %u of %u grid "
           "points, l2 %g, T %g, %u iterations, %u evaluations",
           n, dim, r, n_classes, k, fit.n_evaluated, n_grid, fit.l2,
           fit.temperature, fit.iterations, fit.evaluations);

  if (r)
    {
      /* back to feature space, then polish there: the rotation is exact
       * only up to rounding and the dropped directions */
      HippoHeadFit polish = fit;
      g_autofree float *init = g_new (float, (gsize) n_classes * (dim + 1));

      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) n_classes,
                   (int) dim, (int) r, 1.0f, fit.weights, (int) r, axes,
                   (int) dim, 0.0f, init, (int) dim);
      memcpy (init + (gsize) n_classes * dim, fit.bias,
              n_classes * sizeof (float));
      polish.x = xn;
      polish.dim = dim;
      polish.precond = NULL;
      polish.init = init;
      polish.n_folds = 0;
      polish.l2_grid = &fit.l2;
      polish.n_grid = 1;
      polish.progress = NULL;
      polish.n_threads = 1;
      g_free (fit.weights);
      g_free (fit.bias);
      if (!hippo_head_fit (&polish, error))
        {
          g_free (fit.oof);
          return NULL;
        }
      g_debug ("head: polish %u iterations", polish.iterations);
      fit.weights = polish.weights;
      fit.bias = polish.bias;
    }

  h->weights = fit.weights;
  g_free (h->bias);
  h->bias = fit.bias;
  h->l2 = fit.l2;
  h->cv_folds = k;
  h->temperature = params->calibrate && k > 0 ? fit.temperature : 1.0;

  if (fit.oof)
    {
      h->n_train = n;
      h->oof = g_new (float, (gsize) n * n_classes);
      for (guint row = 0; row < n; row++)
        {
          const float *lr = fit.oof + (gsize) row * n_classes;
          float *out = h->oof + (gsize) perm[row] * n_classes;

          if (isnan (lr[0]))
            for (guint c = 0; c < n_classes; c++)
              out[c] = NAN;
          else
            probabilities (multi, h->temperature, lr, n_classes, out);
        }
      if (multi)
        h->label_matrix = g_memdup2 (label_matrix, (gsize) n * n_classes);
      else
        h->labels = g_memdup2 (labels, (gsize) n * sizeof (guint));
      g_free (fit.oof);
    }
  return g_steal_pointer (&h);
}

HippoHead *
hippo_head_train_full (const float *x, guint n, guint dim, const guint *labels,
                       const guint8 *label_matrix, guint n_classes,
                       const HippoHeadParams *params, gboolean lenient,
                       HippoProgressFunc progress, gpointer user_data,
                       GError **error)
{
  /* One OpenBLAS thread, as sessions do: our GEMMs are thin, the folds
   * run on our own threads, and results must not depend on the thread
   * count (a threaded eigen-decomposition rounds differently). */
  int blas_threads = openblas_get_num_threads ();
  HippoHead *head;

  openblas_set_num_threads (1);
  head = train (x, n, dim, labels, label_matrix, n_classes, params, lenient,
                progress, user_data, error);
  openblas_set_num_threads (blas_threads);
  return head;
}

HippoHead *
hippo_head_train (const float *x, guint n, guint dim, const guint *labels,
                  const guint8 *label_matrix, guint n_classes,
                  const HippoHeadParams *params, HippoProgressFunc progress,
                  gpointer user_data, GError **error)
{
  return hippo_head_train_full (x, n, dim, labels, label_matrix, n_classes,
                                params, FALSE, progress, user_data, error);
}

const float *
hippo_head_get_oof (const HippoHead *head, guint *n, const guint **labels,
                    const guint8 **label_matrix)
{
  *n = head->n_train;
  *labels = head->labels;
  *label_matrix = head->label_matrix;
  return head->oof;
}

/* --- prediction ---------------------------------------------------------- */

void
hippo_head_predict (const HippoHead *head, const float *x, guint n,
                    float *probs)
{
  guint d, K;
  g_autofree float *buf = NULL;
  g_autofree gboolean *bad = NULL;

  g_return_if_fail (head != NULL);
  g_return_if_fail (n == 0 || (x != NULL && probs != NULL));

  d = head->dim;
  K = head->n_classes;
  buf = g_new (float, (gsize) MIN (n, PREDICT_CHUNK) * d);
  bad = g_new (gboolean, MIN (n, PREDICT_CHUNK));
  for (guint i0 = 0; i0 < n; i0 += PREDICT_CHUNK)
    {
      guint m = MIN (PREDICT_CHUNK, n - i0);
      float *out = probs + (gsize) i0 * K;

      for (guint r = 0; r < m; r++)
        {
          const float *xi = x + (gsize) (i0 + r) * d;

          bad[r] = !row_finite (xi, d);
          if (bad[r])
            memset (buf + (gsize) r * d, 0, d * sizeof (float));
          else
            normalise_row (head, xi, buf + (gsize) r * d);
        }
      /* One row at a time, in double: a file's scores must not depend on
       * which other files share its batch (a GEMM's rounding does), so
       * that sharded runs concatenate to exactly the full run. */
      for (guint r = 0; r < m; r++)
        {
          const float *xr = buf + (gsize) r * d;
          for (guint k = 0; k < K; k++)
            {
              const float *wk = head->weights + (gsize) k * d;
              double acc = 0;
              for (guint j = 0; j < d; j++)
                acc += (double) xr[j] * wk[j];
              out[(gsize) r * K + k] = (float) acc;
            }
        }
      for (guint r = 0; r < m; r++)
        {
          float *o = out + (gsize) r * K;

          if (bad[r])
            {
              for (guint k = 0; k < K; k++)
                o[k] = NAN;
              continue;
            }
          for (guint k = 0; k < K; k++)
            o[k] += head->bias[k];
          probabilities (head->multi_label, head->temperature, o, K, o);
        }
    }
}

gint
hippo_head_decide (const HippoHead *head, const float *probs,
                   double min_confidence, float *confidence)
{
  double thr;
  guint K, top = 0;
  float conf;

  g_return_val_if_fail (head != NULL && probs != NULL, -1);

  thr = min_confidence < 0 ? head->unsure_threshold : min_confidence;
  K = head->n_classes;
  for (guint k = 1; k < K; k++)
    if (probs[k] > probs[top])
      top = k;
  if (head->multi_label)
    {
      conf = 1;
      for (guint k = 0; k < K; k++)
        conf = MIN (conf, MAX (probs[k], 1 - probs[k]));
    }
  else
    conf = probs[top];
  for (guint k = 0; k < K; k++)
    if (isnan (probs[k]))
      conf = NAN;
  if (confidence)
    *confidence = conf;
  if (isnan (conf) || conf < thr)
    return -1;
  return (gint) top;
}

guint
hippo_head_get_n_classes (const HippoHead *head)
{
  g_return_val_if_fail (head != NULL, 0);
  return head->n_classes;
}

guint
hippo_head_get_dim (const HippoHead *head)
{
  g_return_val_if_fail (head != NULL, 0);
  return head->dim;
}

gboolean
hippo_head_get_multi_label (const HippoHead *head)
{
  g_return_val_if_fail (head != NULL, FALSE);
  return head->multi_label;
}

double
hippo_head_get_l2 (const HippoHead *head)
{
  g_return_val_if_fail (head != NULL, 0);
  return head->l2;
}

double
hippo_head_get_temperature (const HippoHead *head)
{
  g_return_val_if_fail (head != NULL, 1);
  return head->temperature;
}

double
hippo_head_get_unsure_threshold (const HippoHead *head)
{
  g_return_val_if_fail (head != NULL, 0);
  return head->unsure_threshold;
}

HippoHeadNormalise
hippo_head_get_normalise (const HippoHead *head)
{
  g_return_val_if_fail (head != NULL, HIPPO_HEAD_NORMALISE_NONE);
  return head->normalise;
}

guint
hippo_head_get_cv_folds (const HippoHead *head)
{
  g_return_val_if_fail (head != NULL, 0);
  return head->cv_folds;
}

const float *
hippo_head_get_weights (const HippoHead *head, const float **bias)
{
  g_return_val_if_fail (head != NULL, NULL);
  if (bias)
    *bias = head->bias;
  return head->weights;
}

/* --- active learning ----------------------------------------------------- */

void
hippo_head_uncertainty (const float *probs, guint n, guint n_classes,
                        gboolean multi_label, float *out)
{
  g_return_if_fail (n == 0 || (probs != NULL && out != NULL));
  g_return_if_fail (n_classes >= 1);

  for (guint i = 0; i < n; i++)
    {
      const float *p = probs + (gsize) i * n_classes;
      double u = 0, p1 = -1, p2 = 0;
      gboolean nan = FALSE;

      for (guint k = 0; k < n_classes; k++)
        {
          nan |= isnan (p[k]);
          if (multi_label)
            u = MAX (u, 1 - fabs (2.0 * p[k] - 1));
          else if (p[k] > p1)
            p2 = MAX (p1, 0), p1 = p[k];
          else if (p[k] > p2)
            p2 = p[k];
        }
      if (!multi_label)
        u = n_classes == 1 ? 0 : 1 - (p1 - p2);
      out[i] = nan ? NAN : (float) CLAMP (u, 0.0, 1.0);
    }
}

typedef struct
{
  float u;
  guint i;
} Ranked;

static int
cmp_ranked (const void *pa, const void *pb)
{
  const Ranked *a = pa, *b = pb;
  gboolean na = isnan (a->u), nb = isnan (b->u);

  if (na != nb)
    return na ? 1 : -1;
  if (!na && a->u != b->u)
    return a->u > b->u ? -1 : 1;
  return a->i < b->i ? -1 : a->i > b->i;
}

void
hippo_head_rank_uncertain (const float *uncertainty, guint n, guint *order)
{
  g_autofree Ranked *r = NULL;

  g_return_if_fail (n == 0 || (uncertainty != NULL && order != NULL));

  r = g_new (Ranked, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    r[i].u = uncertainty[i], r[i].i = i;
  qsort (r, n, sizeof *r, cmp_ranked);
  for (guint i = 0; i < n; i++)
    order[i] = r[i].i;
}

/* --- binary format ------------------------------------------------------- */

static void
put_u32 (guint8 *p, guint32 v)
{
  v = GUINT32_TO_LE (v);
  memcpy (p, &v, 4);
}

static guint32
get_u32 (const guint8 *p)
{
  guint32 v;

  memcpy (&v, p, 4);
  return GUINT32_FROM_LE (v);
}

static void
put_f64 (guint8 *p, double d)
{
  guint64 v;

  memcpy (&v, &d, 8);
  v = GUINT64_TO_LE (v);
  memcpy (p, &v, 8);
}

static double
get_f64 (const guint8 *p)
{
  guint64 v;
  double d;

  memcpy (&v, p, 8);
  v = GUINT64_FROM_LE (v);
  memcpy (&d, &v, 8);
  return d;
}

static guint8 *
put_floats (guint8 *p, const float *f, gsize n)
{
  for (gsize i = 0; i < n; i++, p += 4)
    {
      guint32 v;

      memcpy (&v, &f[i], 4);
      put_u32 (p, v);
    }
  return p;
}

/* Reads n floats; FALSE when one is not finite. */
static gboolean
get_floats (const guint8 **p, float *f, gsize n)
{
  for (gsize i = 0; i < n; i++, *p += 4)
    {
      guint32 v = get_u32 (*p);

      memcpy (&f[i], &v, 4);
      if (!isfinite (f[i]))
        return FALSE;
    }
  return TRUE;
}

static void
sha256 (const guint8 *data, gsize len, guint8 *digest)
{
  g_autoptr (GChecksum) c = g_checksum_new (G_CHECKSUM_SHA256);
  gsize dlen = HEAD_DIGEST;

  g_checksum_update (c, data, (gssize) len);
  g_checksum_get_digest (c, digest, &dlen);
}

/* Payload floats of a head; FALSE when the sizes are out of range. */
static gboolean
payload_floats (guint n_classes, guint dim, gsize *n_floats)
{
  gsize kd;

  if (n_classes < 1 || n_classes > HEAD_MAX_CLASSES || dim < 1
      || dim > HEAD_MAX_DIM || !g_size_checked_mul (&kd, n_classes, dim)
      || kd > HEAD_MAX_PARAMS)
    return FALSE;
  *n_floats = 2 * (gsize) dim + kd + n_classes;
  return TRUE;
}

GBytes *
hippo_head_serialize (const HippoHead *head)
{
  gsize n_floats, len;
  guint8 *buf, *p;

  g_return_val_if_fail (head != NULL, NULL);
  if (!payload_floats (head->n_classes, head->dim, &n_floats))
    g_return_val_if_reached (NULL);

  len = HEAD_HEADER + 4 * n_floats + HEAD_DIGEST;
  buf = g_malloc0 (len);
  memcpy (buf, HEAD_MAGIC, 8);
  put_u32 (buf + 8, HEAD_VERSION);
  put_u32 (buf + 12, head->multi_label ? 1 : 0);
  put_u32 (buf + 16, head->normalise);
  put_u32 (buf + 20, head->n_classes);
  put_u32 (buf + 24, head->dim);
  put_u32 (buf + 28, head->cv_folds);
  put_f64 (buf + 32, head->l2);
  put_f64 (buf + 40, head->temperature);
  put_f64 (buf + 48, head->unsure_threshold);
  p = buf + HEAD_HEADER;
  p = put_floats (p, head->mean, head->dim);
  p = put_floats (p, head->inv_std, head->dim);
  p = put_floats (p, head->weights, (gsize) head->n_classes * head->dim);
  p = put_floats (p, head->bias, head->n_classes);
  sha256 (buf, (gsize) (p - buf), p);
  return g_bytes_new_take (buf, len);
}

static HippoHead *
bad_head (GError **error, const char *what)
{
  g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
               "the stored classifier head is damaged: %s", what);
  return NULL;
}

HippoHead *
hippo_head_deserialize (GBytes *bytes, GError **error)
{
  const guint8 *data, *p;
  gsize len, n_floats;
  guint32 version, flags, normalise, n_classes, dim;
  guint8 digest[HEAD_DIGEST];
  g_autoptr (HippoHead) h = NULL;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (bytes, &len);
  if (len < HEAD_HEADER + HEAD_DIGEST || data == NULL)
    return bad_head (error, "too short");
  if (memcmp (data, HEAD_MAGIC, 8) != 0)
    return bad_head (error, "not a classifier head (bad magic)");
  version = get_u32 (data + 8);
  if (version > HEAD_VERSION)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_PROJECT,
                   "the stored classifier head has format version %u; this "
                   "Hippotag reads up to %u: update Hippotag or train again",
                   version, HEAD_VERSION);
      return NULL;
    }
  if (version == 0)
    return bad_head (error, "version 0");
  flags = get_u32 (data + 12);
  normalise = get_u32 (data + 16);
  n_classes = get_u32 (data + 20);
  dim = get_u32 (data + 24);
  if (!payload_floats (n_classes, dim, &n_floats))
    return bad_head (error, "class count or feature length out of range");
  if (len != HEAD_HEADER + 4 * n_floats + HEAD_DIGEST)
    return bad_head (error, "wrong size (truncated or extended)");
  sha256 (data, len - HEAD_DIGEST, digest);
  if (memcmp (digest, data + len - HEAD_DIGEST, HEAD_DIGEST) != 0)
    return bad_head (error, "checksum mismatch");
  if ((flags & ~1u) != 0 || normalise > HIPPO_HEAD_NORMALISE_L2_STANDARDISE
      || get_u32 (data + 56) != 0 || get_u32 (data + 60) != 0
      || (!(flags & 1) && n_classes < 2))
    return bad_head (error, "unknown flags or options");

  h = head_alloc (n_classes, dim);
  h->multi_label = (flags & 1) != 0;
  h->normalise = normalise;
  h->cv_folds = get_u32 (data + 28);
  h->l2 = get_f64 (data + 32);
  h->temperature = get_f64 (data + 40);
  h->unsure_threshold = get_f64 (data + 48);
  if (!(h->l2 >= 0) || !isfinite (h->l2) || !(h->temperature > 0)
      || !isfinite (h->temperature)
      || !(h->unsure_threshold >= 0 && h->unsure_threshold <= 1))
    return bad_head (error, "a parameter is out of range");
  h->weights = g_new (float, (gsize) n_classes * dim);
  p = data + HEAD_HEADER;
  if (!get_floats (&p, h->mean, dim) || !get_floats (&p, h->inv_std, dim)
      || !get_floats (&p, h->weights, (gsize) n_classes * dim)
      || !get_floats (&p, h->bias, n_classes))
    return bad_head (error, "a weight is NaN or infinite");
  for (guint t = 0; t < dim; t++)
    if (h->inv_std[t] < 0)
      return bad_head (error, "a negative scale");
  return g_steal_pointer (&h);
}
