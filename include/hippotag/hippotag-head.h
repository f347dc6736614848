/* Hippotag — the classifier head: L2-regularised logistic regression on
 * feature vectors, its cross-validated metrics, and uncertainty ranking for
 * active learning. Pure numerics on float matrices (rows = samples).
 */
#ifndef HIPPOTAG_HEAD_H
#define HIPPOTAG_HEAD_H

#include <hippotag/hippotag-common.h>

G_BEGIN_DECLS

/**
 * HippoHeadNormalise:
 * @HIPPO_HEAD_NORMALISE_NONE: features are used as given.
 * @HIPPO_HEAD_NORMALISE_L2: each feature vector is scaled to unit L2 norm
 *   (an all-zero vector stays zero).
 * @HIPPO_HEAD_NORMALISE_STANDARDISE: each dimension is centred and scaled
 *   by the mean and standard deviation of the training set (stored in the
 *   head); a dimension constant on the training set is ignored.
 * @HIPPO_HEAD_NORMALISE_L2_STANDARDISE: L2 first, then standardise (the
 *   default).
 *
 * How feature vectors are normalised before the linear model. The values
 * are bit flags and are stored in serialised heads: never renumber them.
 */
typedef enum
{
  HIPPO_HEAD_NORMALISE_NONE = 0,
  HIPPO_HEAD_NORMALISE_L2 = 1,
  HIPPO_HEAD_NORMALISE_STANDARDISE = 2,
  HIPPO_HEAD_NORMALISE_L2_STANDARDISE = 3,
} HippoHeadNormalise;

/**
 * HippoHeadSelect:
 * @HIPPO_HEAD_SELECT_LOG_LOSS: the mean out-of-fold log-loss after the
 *   best temperature for that strength (scale-free, so it ranks how well
 *   the classes are separated, not how confident the raw model is).
 * @HIPPO_HEAD_SELECT_ACCURACY: the out-of-fold balanced accuracy (mean
 *   per-class recall; per-label accuracy in multi-label mode), ties broken
 *   by the calibrated log-loss.
 *
 * What the inner cross-validation optimises when it picks the L2
 * strength. Remaining ties go to the stronger regularisation. The default
 * (log-loss) measured as good or better in accuracy on the shared data
 * sets.
 */
typedef enum
{
  HIPPO_HEAD_SELECT_LOG_LOSS = 0,
  HIPPO_HEAD_SELECT_ACCURACY = 1,
} HippoHeadSelect;

/**
 * HippoHeadParams:
 * @l2: the L2 strength λ of the objective
 *   (1/n) Σ_i w_i loss_i + (λ/2) ‖W‖² (biases are not penalised, w_i are
 *   the class weights); <= 0 chooses it automatically by stratified inner
 *   cross-validation over a log grid from @l2_max down to @l2_min (two
 *   points per decade), warm-started from strong to weak; the walk stops
 *   early once two points in a row are worse than the best. Default 0.
 * @l2_min: the weakest strength tried (default 1e-4).
 * @l2_max: the strongest strength tried (default 1e2).
 * @select: the criterion of that choice (default
 *   %HIPPO_HEAD_SELECT_LOG_LOSS).
 * @folds: folds of the inner cross-validation (default 5; 2 to 20),
 *   clipped to the smallest class count (classes of one example stay in
 *   training; in multi-label mode examples are stratified by their rarest
 *   label). When no class has two examples there is no cross-validation:
 *   λ is then 10 (strong: close to a nearest-class-mean rule) and the
 *   temperature 1.
 * @class_balanced: weight each example by n / (K n_k) so that every class
 *   counts the same (multi-label: n / (2 n_pos) and n / (2 n_neg) per
 *   label). Default %TRUE.
 * @multi_label: independent sigmoids, one per label, trained from a 0/1
 *   label matrix; otherwise one softmax over exclusive classes. Default
 *   %FALSE.
 * @normalise: feature normalisation (default
 *   %HIPPO_HEAD_NORMALISE_L2_STANDARDISE); its statistics come from all
 *   the training examples, the inner cross-validation included (they use
 *   no labels).
 * @calibrate: temperature scaling: one scalar T in [0.05, 20] (all
 *   classes or labels share it; probabilities come from logits / T, so
 *   the top class never changes) minimising the negative log-likelihood of
 *   the out-of-fold logits of the inner cross-validation at the chosen λ,
 *   class-weighted like training when @class_balanced (the probabilities
 *   are then calibrated for a class-balanced population). The final model,
 *   trained on all examples, uses that T. With a fixed @l2 the
 *   cross-validation runs at that strength just for this. Default %TRUE.
 * @unsure_threshold: a prediction whose top probability is below this is
 *   "unsure" (multi-label: when some label's max(p, 1 - p) is below it).
 *   Default 0.5.
 * @max_iter: L-BFGS iteration limit of each fit (default 1000).
 * @tol: convergence tolerance on the largest gradient component of the
 *   final fit (default 1e-5); the inner cross-validation fits, which only
 *   rank the strengths, use max(@tol, 1e-3).
 * @seed: seed of the fold assignment; the same inputs and seed give
 *   identical heads.
 * @n_threads: threads that fit the cross-validation folds in parallel (0:
 *   one per processor); the result does not depend on it. Default 1: on
 *   the 2-core reference machine a second thread gained 5-15 % when idle
 *   and lost up to 70 % when the machine was busy. During training
 *   OpenBLAS runs on one thread (its setting is restored afterwards).
 *
 * Options of hippo_head_train(). Initialise with
 * hippo_head_params_default() and change fields.
 */
typedef struct
{
  double l2;
  double l2_min;
  double l2_max;
  HippoHeadSelect select;
  guint folds;
  gboolean class_balanced;
  gboolean multi_label;
  HippoHeadNormalise normalise;
  gboolean calibrate;
  double unsure_threshold;
  guint max_iter;
  double tol;
  guint64 seed;
  guint n_threads;
} HippoHeadParams;

/**
 * hippo_head_params_default:
 * @params: (out caller-allocates): the struct to fill.
 *
 * Fills @params with the defaults documented at #HippoHeadParams.
 */
void hippo_head_params_default (HippoHeadParams *params);

/**
 * HippoHead:
 *
 * A trained classifier head: normalisation, weights, biases, temperature.
 * Immutable after training; may be used from several threads at once.
 */
typedef struct _HippoHead HippoHead;

/**
 * hippo_head_train:
 * @x: @n feature vectors of @dim floats, row after row.
 * @n: number of examples.
 * @dim: feature length.
 * @labels: (nullable): single-label mode: @n class indices below
 *   @n_classes; must be %NULL in multi-label mode.
 * @label_matrix: (nullable): multi-label mode: an @n × @n_classes matrix
 *   of 0/1 (row after row); must be %NULL in single-label mode.
 * @n_classes: number of classes (labels).
 * @params: (nullable): options, or %NULL for the defaults.
 * @progress: (nullable): called between fits; returning %FALSE cancels.
 * @user_data: data for @progress.
 * @error: return location for a #GError, or %NULL.
 *
 * Trains a head: normalises, picks λ by cross-validation if asked, fits
 * the model with L-BFGS to convergence, fits the temperature. The fits run
 * on the principal axes of the normalised features (an exact change of
 * variables for an L2 penalty, with at most min(n, dim) variables) with a
 * diagonal preconditioner, and the final model is polished on the
 * features themselves. Nothing is random except the folds, which depend on
 * @params->seed only.
 *
 * Returns: (transfer full): a head to free with hippo_head_free(), or
 *   %NULL with @error set: %HIPPO_ERROR_STATE when fewer than two classes
 *   are given (one label is enough in multi-label mode), a class has no
 *   example, or a label is on every or no example;
 *   %HIPPO_ERROR_INVALID_ARGUMENT for a NaN or infinite feature, a label
 *   out of range or a label matrix value other than 0/1, a non-finite
 *   option; %HIPPO_ERROR_LIMIT beyond 2^24 examples, 2^24 features,
 *   65536 classes, 2^30 feature values or 2^24 example × class outputs;
 *   %HIPPO_ERROR_CANCELLED when @progress stopped it.
 */
HippoHead *hippo_head_train (const float *x, guint n, guint dim,
                             const guint *labels, const guint8 *label_matrix,
                             guint n_classes, const HippoHeadParams *params,
                             HippoProgressFunc progress, gpointer user_data,
                             GError **error);

/**
 * hippo_head_free:
 * @head: (nullable): a head. %NULL is a no-op.
 */
void hippo_head_free (HippoHead *head);

/**
 * hippo_head_predict:
 * @head: a head.
 * @x: @n feature vectors of hippo_head_get_dim() floats.
 * @n: number of vectors.
 * @probs: (out caller-allocates): @n × hippo_head_get_n_classes()
 *   calibrated probabilities, row after row: a softmax (rows sum to 1) or,
 *   in multi-label mode, one independent probability per label. A vector
 *   with a NaN or infinite value gets a row of NaN.
 *
 * Classifies feature vectors. Cannot fail.
 */
void hippo_head_predict (const HippoHead *head, const float *x, guint n,
                         float *probs);

/**
 * hippo_head_decide:
 * @head: a head.
 * @probs: one row of hippo_head_predict() output.
 * @min_confidence: the unsure threshold, or a negative value for the
 *   head's own (#HippoHeadParams.unsure_threshold).
 * @confidence: (out) (optional): the top probability (multi-label: the
 *   smallest max(p, 1 - p) over the labels).
 *
 * Turns probabilities into a decision. In multi-label mode the labels
 * with p >= 0.5 are the ones that apply; this returns the most probable.
 *
 * Returns: the top class, or -1 when the prediction is unsure (below
 *   @min_confidence, or a NaN row).
 */
gint hippo_head_decide (const HippoHead *head, const float *probs,
                        double min_confidence, float *confidence);

/**
 * hippo_head_get_n_classes:
 * @head: a head.
 *
 * Returns: the number of classes (labels).
 */
guint hippo_head_get_n_classes (const HippoHead *head);

/**
 * hippo_head_get_dim:
 * @head: a head.
 *
 * Returns: the feature length it expects.
 */
guint hippo_head_get_dim (const HippoHead *head);

/**
 * hippo_head_get_multi_label:
 * @head: a head.
 *
 * Returns: %TRUE for independent sigmoids, %FALSE for a softmax.
 */
gboolean hippo_head_get_multi_label (const HippoHead *head);

/**
 * hippo_head_get_l2:
 * @head: a head.
 *
 * Returns: the L2 strength the final model was fitted with.
 */
double hippo_head_get_l2 (const HippoHead *head);

/**
 * hippo_head_get_temperature:
 * @head: a head.
 *
 * Returns: the calibration temperature T (probabilities are computed from
 *   logits / T); 1 when not calibrated.
 */
double hippo_head_get_temperature (const HippoHead *head);

/**
 * hippo_head_get_unsure_threshold:
 * @head: a head.
 *
 * Returns: the threshold hippo_head_decide() uses by default.
 */
double hippo_head_get_unsure_threshold (const HippoHead *head);

/**
 * hippo_head_get_normalise:
 * @head: a head.
 *
 * Returns: the feature normalisation it applies.
 */
HippoHeadNormalise hippo_head_get_normalise (const HippoHead *head);

/**
 * hippo_head_get_cv_folds:
 * @head: a head.
 *
 * Returns: the folds of the inner cross-validation it was trained with, or
 *   0 when there was none (λ fixed and no calibration, or too few
 *   examples).
 */
guint hippo_head_get_cv_folds (const HippoHead *head);

/**
 * hippo_head_get_weights:
 * @head: a head.
 * @bias: (out) (optional) (transfer none): the n_classes biases.
 *
 * The linear model on normalised features: logit_k = W_k · x' + b_k
 * (before the temperature).
 *
 * Returns: (transfer none): W, n_classes × dim floats, row after row,
 *   owned by @head.
 */
const float *hippo_head_get_weights (const HippoHead *head, const float **bias);

/**
 * hippo_head_serialize:
 * @head: a head.
 *
 * Stores a head in a versioned little-endian binary format: a magic, the
 * sizes and options, float32 payload (normalisation, weights, biases) and
 * a SHA-256 of all of it.
 *
 * Returns: (transfer full): the bytes; free with g_bytes_unref().
 */
GBytes *hippo_head_serialize (const HippoHead *head);

/**
 * hippo_head_deserialize:
 * @bytes: bytes from hippo_head_serialize(), possibly hostile.
 * @error: return location for a #GError, or %NULL.
 *
 * Reads a head back. Every size, count and value is checked.
 *
 * Returns: (transfer full): a head, or %NULL with %HIPPO_ERROR_PROJECT
 *   set when the bytes are truncated, corrupted or of a newer version.
 */
HippoHead *hippo_head_deserialize (GBytes *bytes, GError **error);

/**
 * hippo_head_uncertainty:
 * @probs: @n rows of @n_classes probabilities (hippo_head_predict()).
 * @n: number of rows.
 * @n_classes: probabilities per row.
 * @multi_label: %TRUE when the rows are independent per-label
 *   probabilities.
 * @out: (out caller-allocates): @n uncertainties in [0, 1].
 *
 * Margin uncertainty 1 - (p1 - p2) of the two most probable classes
 * (multi-label: the largest 1 - |2p - 1| over the labels). The margin
 * looks at the decision the user would correct; unlike entropy it is not
 * inflated by probability spread over many irrelevant classes. A NaN row
 * gets NaN.
 */
void hippo_head_uncertainty (const float *probs, guint n, guint n_classes,
                             gboolean multi_label, float *out);

/**
 * hippo_head_rank_uncertain:
 * @uncertainty: @n values from hippo_head_uncertainty().
 * @n: number of values.
 * @order: (out caller-allocates): the @n indices, most uncertain first;
 *   ties keep index order and NaN values come last.
 *
 * Orders examples for labelling.
 */
void hippo_head_rank_uncertain (const float *uncertainty, guint n,
                                guint *order);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoHead, hippo_head_free)

/**
 * HippoMetrics:
 *
 * Classification metrics of a set of predictions against true labels:
 * accuracy, balanced accuracy, log-loss, per-class precision / recall / F1
 * / support and (single-label) the confusion matrix, plus the predictions.
 */
typedef struct _HippoMetrics HippoMetrics;

/**
 * hippo_metrics_cross_validate:
 * @x: @n feature vectors of @dim floats.
 * @n: number of examples.
 * @dim: feature length.
 * @labels: (nullable): as for hippo_head_train().
 * @label_matrix: (nullable): as for hippo_head_train().
 * @n_classes: number of classes.
 * @folds: requested folds (stratified k-fold); clipped to the smallest
 *   count of a class with at least two examples, at least 2. An example
 *   of a class with a single example is only ever in training: it gets no
 *   prediction and the metrics count it as untested.
 * @params: (nullable): head options of each fold's training (%NULL: the
 *   defaults). With @params->l2 <= 0 each fold picks λ on its own training
 *   part (nested, honest, folds × the training cost); to measure a trained
 *   head cheaply pass its λ (the result is then slightly optimistic).
 * @seed: seed of the fold assignment.
 * @progress: (nullable): progress and cancellation.
 * @user_data: data for @progress.
 * @error: return location for a #GError, or %NULL.
 *
 * Trains one head per fold and measures it on the held-out part.
 *
 * Returns: (transfer full): metrics to free with hippo_metrics_free(), or
 *   %NULL with @error set as by hippo_head_train(), or
 *   %HIPPO_ERROR_STATE when no class has two examples.
 */
HippoMetrics *hippo_metrics_cross_validate (
  const float *x, guint n, guint dim, const guint *labels,
  const guint8 *label_matrix, guint n_classes, guint folds,
  const HippoHeadParams *params, guint64 seed, HippoProgressFunc progress,
  gpointer user_data, GError **error);

/**
 * hippo_metrics_from_predictions:
 * @probs: @n × @n_classes probabilities (hippo_head_predict()); a row of
 *   NaN counts as an untested example.
 * @n: number of examples.
 * @labels: (nullable): @n true classes (single-label).
 * @label_matrix: (nullable): @n × @n_classes true 0/1 labels
 *   (multi-label); exactly one of @labels and @label_matrix is given.
 * @n_classes: number of classes.
 * @unsure_threshold: predictions below it count as unsure in
 *   hippo_metrics_get_coverage() (0 for none).
 * @error: return location for a #GError, or %NULL.
 *
 * Measures predictions, e.g. of a held-out folder.
 *
 * Returns: (transfer full): metrics (a copy of @probs inside), or %NULL
 *   with %HIPPO_ERROR_INVALID_ARGUMENT for a label out of range.
 */
HippoMetrics *hippo_metrics_from_predictions (
  const float *probs, guint n, const guint *labels, const guint8 *label_matrix,
  guint n_classes, double unsure_threshold, GError **error);

/**
 * hippo_metrics_from_training:
 * @head: a head just returned by hippo_head_train().
 * @error: return location for a #GError, or %NULL.
 *
 * The metrics of the out-of-fold predictions of the inner cross-validation
 * at the chosen λ (calibrated with the head's temperature). Cheap, but
 * slightly optimistic since λ was chosen on the same folds. The
 * predictions are kept in the head only until it is freed; a deserialised
 * head has none.
 *
 * Returns: (transfer full): metrics, or %NULL with %HIPPO_ERROR_STATE when
 *   the head had no cross-validation or was deserialised.
 */
HippoMetrics *hippo_metrics_from_training (const HippoHead *head,
                                           GError **error);

/**
 * hippo_metrics_free:
 * @metrics: (nullable): metrics. %NULL is a no-op.
 */
void hippo_metrics_free (HippoMetrics *metrics);

/**
 * hippo_metrics_get_n_classes:
 * @metrics: metrics.
 *
 * Returns: the number of classes.
 */
guint hippo_metrics_get_n_classes (const HippoMetrics *metrics);

/**
 * hippo_metrics_get_multi_label:
 * @metrics: metrics.
 *
 * Returns: %TRUE for multi-label metrics.
 */
gboolean hippo_metrics_get_multi_label (const HippoMetrics *metrics);

/**
 * hippo_metrics_get_n_samples:
 * @metrics: metrics.
 *
 * Returns: all examples, tested or not.
 */
guint hippo_metrics_get_n_samples (const HippoMetrics *metrics);

/**
 * hippo_metrics_get_n_tested:
 * @metrics: metrics.
 *
 * Returns: the examples that got a prediction and are measured.
 */
guint hippo_metrics_get_n_tested (const HippoMetrics *metrics);

/**
 * hippo_metrics_get_folds:
 * @metrics: metrics.
 *
 * Returns: the folds used, 0 for metrics of given predictions.
 */
guint hippo_metrics_get_folds (const HippoMetrics *metrics);

/**
 * hippo_metrics_is_tested:
 * @metrics: metrics.
 * @index: an example below hippo_metrics_get_n_samples().
 *
 * Returns: %TRUE when the example got a prediction.
 */
gboolean hippo_metrics_is_tested (const HippoMetrics *metrics, guint index);

/**
 * hippo_metrics_get_accuracy:
 * @metrics: metrics.
 *
 * Returns: the fraction of tested examples whose top class is right
 *   (multi-label: whose whole label set is right); NaN with none tested.
 */
double hippo_metrics_get_accuracy (const HippoMetrics *metrics);

/**
 * hippo_metrics_get_balanced_accuracy:
 * @metrics: metrics.
 *
 * Returns: the mean recall over the classes with tested examples
 *   (multi-label: the mean over labels of (TPR + TNR) / 2).
 */
double hippo_metrics_get_balanced_accuracy (const HippoMetrics *metrics);

/**
 * hippo_metrics_get_log_loss:
 * @metrics: metrics.
 *
 * Returns: the mean negative log-likelihood of the true labels (natural
 *   log; probabilities clipped to [1e-15, 1]).
 */
double hippo_metrics_get_log_loss (const HippoMetrics *metrics);

/**
 * hippo_metrics_get_coverage:
 * @metrics: metrics.
 * @sure_accuracy: (out) (optional): the accuracy on the sure ones (NaN if
 *   none).
 *
 * Returns: the fraction of tested examples that are not unsure.
 */
double hippo_metrics_get_coverage (const HippoMetrics *metrics,
                                   double *sure_accuracy);

/**
 * hippo_metrics_get_class:
 * @metrics: metrics.
 * @class_index: a class.
 * @precision: (out) (optional): TP / (TP + FP), NaN when nothing was
 *   predicted as the class.
 * @recall: (out) (optional): TP / (TP + FN), NaN when the class has no
 *   tested example.
 * @f1: (out) (optional): their harmonic mean (0 when TP = 0, NaN when
 *   both are NaN).
 * @support: (out) (optional): tested examples of the class.
 *
 * Per-class figures (multi-label: per label, decided at p >= 0.5).
 */
void hippo_metrics_get_class (const HippoMetrics *metrics, guint class_index,
                              double *precision, double *recall, double *f1,
                              guint *support);

/**
 * hippo_metrics_get_confusion:
 * @metrics: metrics.
 *
 * Returns: (transfer none) (nullable): the n_classes × n_classes confusion
 *   matrix (rows = true class, columns = predicted), or %NULL in
 *   multi-label mode.
 */
const guint *hippo_metrics_get_confusion (const HippoMetrics *metrics);

/**
 * hippo_metrics_get_predictions:
 * @metrics: metrics.
 *
 * Returns: (transfer none): n_samples × n_classes probabilities in input
 *   order (out-of-fold for cross-validation); NaN rows for untested
 *   examples.
 */
const float *hippo_metrics_get_predictions (const HippoMetrics *metrics);

/**
 * hippo_metrics_to_json:
 * @metrics: metrics.
 * @class_names: (nullable) (array): n_classes names, or %NULL for
 *   "class 0", "class 1", ...
 *
 * A JSON object: n_samples, n_tested, folds, accuracy, balanced_accuracy,
 * log_loss, coverage, classes (name, precision, recall, f1, support; null
 * for NaN), confusion (rows = true; absent in multi-label mode), untested
 * (indices of untested examples) and notes (sentences).
 *
 * Returns: (transfer full): the JSON text; g_free() it.
 */
char *hippo_metrics_to_json (const HippoMetrics *metrics,
                             const char *const *class_names);

/**
 * hippo_metrics_to_text:
 * @metrics: metrics.
 * @class_names: (nullable) (array): as for hippo_metrics_to_json().
 *
 * A readable report: the summary, a per-class table and the confusion
 * matrix, with notes such as classes that were only used for training.
 *
 * Returns: (transfer full): the text (ends with a newline); g_free() it.
 */
char *hippo_metrics_to_text (const HippoMetrics *metrics,
                             const char *const *class_names);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoMetrics, hippo_metrics_free)

G_END_DECLS

#endif /* HIPPOTAG_HEAD_H */
