/* Hippotag — a project at work: its model, feature cache, labelling,
 * training and prediction in one object, used by the CLI, the trainer and
 * the GIMP plug-in alike.
 */
#ifndef HIPPOTAG_CLASSIFIER_H
#define HIPPOTAG_CLASSIFIER_H

#include <hippotag/hippotag-common.h>
#include <hippotag/hippotag-image.h>
#include <hippotag/hippotag-model.h>
#include <hippotag/hippotag-project.h>

G_BEGIN_DECLS

/**
 * HippoClassifier:
 *
 * An open project with its model and an inference session. Features are
 * cached in the project by content hash, model and layer, so labelling or
 * classifying the same file twice runs the network once. Used by one thread
 * at a time; open one per thread (the project file is safe to share).
 */
typedef struct _HippoClassifier HippoClassifier;

/**
 * HIPPO_CACHE_VERSION_BFLOAT16:
 *
 * Added to %HIPPO_PREPROCESS_VERSION in the feature cache's version key
 * (hippo_project_get_features()) of features a classifier made in
 * bfloat16, so they are never served as float32 ones or the other way.
 */
#define HIPPO_CACHE_VERSION_BFLOAT16 (1 << 16)

/**
 * HippoClassifierParams:
 * @n_threads: threads for decoding and the network; 0 = one per core.
 * @max_batch: images per network batch (default 8).
 * @model: for a new project only: the model name or path (%NULL: the
 *   default model). An existing project always uses its own model.
 * @multi_label: for a new project only: independent yes/no per class.
 * @create: create the project file when it does not exist.
 * @read_only: open the project read-only (classify, suggest, eval only).
 * @cache_unlabelled: also cache the features of files that are only
 *   classified (default %TRUE), so later runs and suggestions are instant.
 * @precision: the network's arithmetic (#HippoPrecision; by default
 *   %HIPPO_PRECISION_AUTO: bfloat16 on CPUs with AMX, else float32).
 *   bfloat16 features are cached apart from float32 ones; a head trained
 *   on either classifies both (they agree to about 1 %).
 *
 * Options of hippo_classifier_open(). Initialise with
 * hippo_classifier_params_default().
 */
typedef struct
{
  int n_threads;
  int max_batch;
  const char *model;
  gboolean multi_label;
  gboolean create;
  gboolean read_only;
  gboolean cache_unlabelled;
  HippoPrecision precision;
} HippoClassifierParams;

/**
 * HippoPrediction:
 * @label: the best class (owned by the classifier), or %NULL when the
 *   project is multi-label and no class passes the threshold.
 * @confidence: its probability after calibration.
 * @unsure: %TRUE when @confidence is below the project's unsure threshold.
 * @n_classes: the length of @scores and @names.
 * @scores: (array length=n_classes): every class's probability, in the
 *   order of @names (owned by the caller of the function that filled it).
 * @names: (array length=n_classes): class names (owned by the classifier).
 *
 * The outcome for one image.
 */
typedef struct
{
  const char *label;
  float confidence;
  gboolean unsure;
  guint n_classes;
  float *scores;
  const char *const *names;
} HippoPrediction;

/**
 * HippoFileFunc:
 * @index: the file's position in the list.
 * @path: the file.
 * @prediction: (nullable): its prediction (classify), or %NULL for
 *   labelling, or when it failed.
 * @error: (nullable): why it failed.
 * @user_data: data given with the callback.
 *
 * Receives the outcome of each file, in input order.
 *
 * Returns: %TRUE to go on, %FALSE to stop with %HIPPO_ERROR_CANCELLED.
 */
typedef gboolean (*HippoFileFunc) (guint index, const char *path,
                                   const HippoPrediction *prediction,
                                   const GError *error, gpointer user_data);

/**
 * hippo_classifier_params_default:
 * @params: (out): the parameters to fill.
 */
void hippo_classifier_params_default (HippoClassifierParams *params);

/**
 * hippo_classifier_open:
 * @path: the project file (NAME.hippotag).
 * @params: (nullable): options, or %NULL for the defaults.
 * @error: return location for a #GError, or %NULL.
 *
 * Opens (or creates) a project and loads its model.
 *
 * Returns: (transfer full): a classifier to free with
 *   hippo_classifier_free(), or %NULL with @error from hippo_project_open()
 *   or hippo_model_load().
 */
HippoClassifier *hippo_classifier_open (const char *path,
                                        const HippoClassifierParams *params,
                                        GError **error);

/**
 * hippo_classifier_free:
 * @classifier: (nullable): a classifier. %NULL is a no-op.
 */
void hippo_classifier_free (HippoClassifier *classifier);

/**
 * hippo_classifier_get_project:
 * @classifier: a classifier.
 *
 * Returns: (transfer none): its project, for classes and settings.
 */
HippoProject *hippo_classifier_get_project (HippoClassifier *classifier);

/**
 * hippo_classifier_get_model:
 * @classifier: a classifier.
 *
 * Returns: (transfer none): its model.
 */
HippoModel *hippo_classifier_get_model (HippoClassifier *classifier);

/**
 * hippo_classifier_get_dim:
 * @classifier: a classifier.
 *
 * Returns: the length of the feature vectors of its layers.
 */
guint hippo_classifier_get_dim (HippoClassifier *classifier);

/**
 * hippo_classifier_label_files:
 * @classifier: a classifier (not read-only).
 * @class_name: an existing class.
 * @paths: (array length=n_paths): image files.
 * @n_paths: how many.
 * @func: (nullable): receives each file's outcome (prediction %NULL).
 * @user_data: data for @func.
 * @error: return location for a #GError, or %NULL.
 *
 * Labels files as @class_name: hashes each, computes its features unless
 * cached, and records the example, all in one transaction. A file that
 * cannot be read or decoded is reported to @func and not labelled; the
 * rest are.
 *
 * Returns: %TRUE when every file was handled (successfully or not);
 *   %FALSE with %HIPPO_ERROR_NOT_FOUND (unknown class), %HIPPO_ERROR_PROJECT
 *   (write failed: nothing was labelled) or %HIPPO_ERROR_CANCELLED.
 */
gboolean hippo_classifier_label_files (HippoClassifier *classifier,
                                       const char *class_name,
                                       const char *const *paths,
                                       guint n_paths, HippoFileFunc func,
                                       gpointer user_data, GError **error);

/**
 * hippo_classifier_label_image:
 * @classifier: a classifier (not read-only).
 * @class_name: an existing class.
 * @image: decoded pixels, e.g. from a GIMP drawable.
 * @path: (nullable): the image's file, if it has one (informative).
 * @error: return location for a #GError, or %NULL.
 *
 * Labels an image that need not exist as a file: its features are stored
 * under the hash of its pixels.
 *
 * Returns: %TRUE on success, %FALSE with @error set.
 */
gboolean hippo_classifier_label_image (HippoClassifier *classifier,
                                       const char *class_name,
                                       const HippoImage *image,
                                       const char *path, GError **error);

/**
 * hippo_classifier_train:
 * @classifier: a classifier (not read-only).
 * @folds: folds of the cross-validation that measures the head (0: 5).
 * @progress: (nullable): progress and cancellation.
 * @user_data: data for @progress.
 * @error: return location for a #GError, or %NULL.
 *
 * Trains the head on every labelled example and measures it by stratified
 * k-fold cross-validation; stores the head and its metrics in the project.
 * Examples whose features are not cached are computed from their files.
 *
 * Returns: (transfer full): the metrics as JSON text (see README.md), or
 *   %NULL with %HIPPO_ERROR_STATE (no classes, a class without examples,
 *   fewer than two classes), %HIPPO_ERROR_PROJECT or
 *   %HIPPO_ERROR_CANCELLED.
 */
char *hippo_classifier_train (HippoClassifier *classifier, guint folds,
                              HippoProgressFunc progress, gpointer user_data,
                              GError **error);

/**
 * hippo_classifier_get_metrics_json:
 * @classifier: a classifier.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: (transfer full): the stored metrics of the last training, the
 *   JSON text hippo_classifier_train() returned, or %NULL with
 *   %HIPPO_ERROR_STATE when untrained.
 */
char *hippo_classifier_get_metrics_json (HippoClassifier *classifier,
                                         GError **error);

/**
 * hippo_classifier_is_stale:
 * @classifier: a classifier.
 *
 * Returns: %TRUE when labels changed after the last training.
 */
gboolean hippo_classifier_is_stale (HippoClassifier *classifier);

/**
 * hippo_classifier_classify_files:
 * @classifier: a trained classifier.
 * @paths: (array length=n_paths): image files.
 * @n_paths: how many.
 * @func: receives each file's prediction or error, in order.
 * @user_data: data for @func.
 * @error: return location for a #GError, or %NULL.
 *
 * Classifies files, using cached features where the project has them.
 *
 * Returns: %TRUE when every file was reported; %FALSE with
 *   %HIPPO_ERROR_STATE (untrained project) or %HIPPO_ERROR_CANCELLED.
 */
gboolean hippo_classifier_classify_files (HippoClassifier *classifier,
                                          const char *const *paths,
                                          guint n_paths, HippoFileFunc func,
                                          gpointer user_data, GError **error);

/**
 * hippo_classifier_classify_image:
 * @classifier: a trained classifier.
 * @image: decoded pixels.
 * @prediction: (out caller-allocates): filled in; free its scores with
 *   hippo_prediction_clear().
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_STATE (untrained).
 */
gboolean hippo_classifier_classify_image (HippoClassifier *classifier,
                                          const HippoImage *image,
                                          HippoPrediction *prediction,
                                          GError **error);

/**
 * hippo_prediction_clear:
 * @prediction: a prediction filled by hippo_classifier_classify_image().
 *
 * Frees its scores.
 */
void hippo_prediction_clear (HippoPrediction *prediction);

/**
 * hippo_classifier_suggest:
 * @classifier: a trained classifier.
 * @paths: (array length=n_paths): unlabelled candidate files.
 * @n_paths: how many.
 * @n_best: how many suggestions to return.
 * @order: (out) (array length=n_best) (transfer full): indices into @paths,
 *   most useful to label first (free with g_free()).
 * @uncertainty: (out) (optional) (transfer full): their uncertainty in
 *   [0, 1], same order.
 * @n_out: (out): the number returned (files that failed are left out;
 *   labelled files too).
 * @error: return location for a #GError, or %NULL.
 *
 * Active learning: ranks files by how unsure the head is about them.
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_STATE (untrained).
 */
gboolean hippo_classifier_suggest (HippoClassifier *classifier,
                                   const char *const *paths, guint n_paths,
                                   guint n_best, guint **order,
                                   float **uncertainty, guint *n_out,
                                   GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoClassifier, hippo_classifier_free)

G_END_DECLS

#endif /* HIPPOTAG_CLASSIFIER_H */
