/* Private parts of the classifier head, shared by head.c, head-fit.c,
 * metrics.c and the tests. */
#ifndef HIPPO_HEAD_PRIVATE_H
#define HIPPO_HEAD_PRIVATE_H

#include "hippotag/hippotag-common.h"
#include "hippotag/hippotag-head.h"

G_BEGIN_DECLS

/* The fold of an example that is never held out (its class has one). */
#define HIPPO_FOLD_TRAIN_ONLY G_MAXUINT

/* The grid has this many points per decade. */
#define HIPPO_HEAD_GRID_PER_DECADE 2

/* The walk down the grid stops after this many points worse than the
 * best. */
#define HIPPO_HEAD_PATIENCE 2

/* λ when there is no cross-validation to choose it (one example per
 * class): strong, close to a nearest-class-mean rule, which measured best
 * with one example per class on tuxpaint-stamps and emoji-google. */
#define HIPPO_HEAD_DEFAULT_L2 10.0

/* splitmix64: a small, seedable, platform-independent generator. */
static inline guint64
hippo_rng_next (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Uniform in [0, bound), bound > 0 (rejection, no modulo bias). */
static inline guint64
hippo_rng_below (guint64 *state, guint64 bound)
{
  guint64 limit = G_MAXUINT64 - G_MAXUINT64 % bound;
  guint64 r;

  do
    r = hippo_rng_next (state);
  while (r >= limit);
  return r % bound;
}

/* Stratified k-fold: fills fold_of[n] with a fold in [0, k) or
 * HIPPO_FOLD_TRAIN_ONLY and returns k = min (folds, smallest count of a
 * stratum with >= 2 examples), at least 2; 0 when no stratum has two
 * examples. Strata are the classes, or in multi-label mode each example's
 * rarest positive label (or "none"). Within a stratum the examples are
 * shuffled with the seed and dealt round-robin, continuing where the
 * previous stratum stopped. */
guint hippo_head_assign_folds (const guint *labels, const guint8 *label_matrix,
                               guint n, guint n_classes, guint folds,
                               guint64 seed, guint *fold_of);

/* Checks labels: range, 0/1, and unless lenient that every class has an
 * example (and in multi-label mode a non-example). */
gboolean hippo_head_check_labels (const guint *labels,
                                  const guint8 *label_matrix, guint n,
                                  guint n_classes, gboolean lenient,
                                  GError **error);

/* hippo_head_train() with lenient label checks (used for the folds of
 * hippo_metrics_cross_validate(), where a label may miss a side). */
HippoHead *hippo_head_train_full (const float *x, guint n, guint dim,
                                  const guint *labels,
                                  const guint8 *label_matrix, guint n_classes,
                                  const HippoHeadParams *params,
                                  gboolean lenient, HippoProgressFunc progress,
                                  gpointer user_data, GError **error);

/* The out-of-fold probabilities a fresh head keeps (input order, NaN rows
 * for train-only examples), with the labels it was trained on; NULL after
 * deserialisation or without cross-validation. */
const float *hippo_head_get_oof (const HippoHead *head, guint *n,
                                 const guint **labels,
                                 const guint8 **label_matrix);

/* One fitting job on normalised data. Rows are ordered by fold: fold f
 * holds out rows [block[f], block[f + 1]); rows from block[n_folds] on are
 * always trained on. With n_folds = 0 there is one fit on all rows at
 * l2_grid[0]. */
typedef struct
{
  /* in */
  const float *x;
  guint n;
  guint dim;
  guint n_classes;
  gboolean multi_label;
  const guint *labels;
  const guint8 *label_matrix;
  const guint *block;
  guint n_folds;
  gboolean class_balanced;
  const double *l2_grid; /* strongest first */
  guint n_grid;
  HippoHeadSelect select;
  gboolean calibrate;
  guint max_iter;
  double tol;
  const double *precond; /* dim: mean square of each column, for a
                          * diagonal preconditioner (columns should be
                          * uncorrelated), or NULL */
  const float *init;     /* n_classes × (dim + 1): start of a fit without
                          * folds (weights, then biases), or NULL for 0 */
  guint n_threads;       /* threads for the folds' fits (>= 1) */
  HippoProgressFunc progress;
  gpointer user_data;

  /* out */
  double l2;
  double temperature;
  float *weights;    /* n_classes × dim, g_free() */
  float *bias;       /* n_classes, g_free() */
  float *oof;        /* n × n_classes logits at the chosen λ (rows held out
                      * by a fold; others NaN), g_free(); NULL without CV */
  guint n_evaluated; /* grid points tried */
  guint iterations;  /* L-BFGS iterations, all fits */
  guint evaluations; /* objective evaluations (batched count once) */
} HippoHeadFit;

/* Runs the job. Fails only with HIPPO_ERROR_CANCELLED. */
gboolean hippo_head_fit (HippoHeadFit *fit, GError **error);

/* The training objective on all rows and its gradient, for tests: theta is
 * W (n_classes × dim) then b (n_classes). */
double hippo_head_objective (const float *x, guint n, guint dim,
                             const guint *labels, const guint8 *label_matrix,
                             guint n_classes, gboolean class_balanced,
                             double l2, const double *theta, double *grad);

/* Temperature T in [0.05, 20] minimising the (class-weighted when
 * class_balanced) negative log-likelihood of logits / T; rows with NaN are
 * skipped. Stores that mean NLL in *nll when nll is not NULL. */
double hippo_head_fit_temperature (const float *logits, guint n,
                                   guint n_classes, gboolean multi_label,
                                   const guint *labels,
                                   const guint8 *label_matrix,
                                   gboolean class_balanced, double *nll);

G_END_DECLS

#endif /* HIPPO_HEAD_PRIVATE_H */
