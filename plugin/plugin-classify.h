/* Hippotag GIMP plug-in — projects, classifying and labelling an image.
 */
#ifndef HIPPO_PLUGIN_CLASSIFY_H
#define HIPPO_PLUGIN_CLASSIFY_H

#include <libgimp/gimp.h>
#include <hippotag/hippotag.h>

G_BEGIN_DECLS

/**
 * HippoPluginScore:
 * @name: a class name.
 * @score: its probability.
 */
typedef struct
{
  char *name;
  double score;
} HippoPluginScore;

/**
 * HippoPluginResult:
 * @scores: every class of the trained head, best first.
 * @n_scores: how many.
 * @label: the predicted class (the best one, also when unsure).
 * @confidence: its probability.
 * @unsure: %TRUE when @confidence is below the project's unsure threshold.
 * @project: the project file used.
 * @model: the name of the project's model.
 * @stale: %TRUE when the labels changed after the last training.
 *
 * The outcome of hippo_plugin_classify(); free with
 * hippo_plugin_result_free().
 */
typedef struct
{
  HippoPluginScore *scores;
  guint n_scores;
  char *label;
  double confidence;
  gboolean unsure;
  char *project;
  char *model;
  gboolean stale;
} HippoPluginResult;

void hippo_plugin_result_free (HippoPluginResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoPluginResult, hippo_plugin_result_free)

char *hippo_plugin_default_project (void);

gboolean hippo_plugin_check_project (GFile *project, char **path,
                                     GError **error);

HippoClassifier *hippo_plugin_open_classifier (const char *path,
                                               gboolean read_only,
                                               GError **error);

HippoImage *hippo_plugin_read_image (HippoClassifier *classifier,
                                     GimpImage *image, GimpDrawable *drawable,
                                     GError **error);

HippoPluginResult *hippo_plugin_classify (HippoClassifier *classifier,
                                          const HippoImage *image,
                                          GError **error);

char **hippo_plugin_list_classes (HippoClassifier *classifier, GError **error);

char *hippo_plugin_label (HippoClassifier *classifier, const char *class_name,
                          const HippoImage *image, gboolean *created,
                          GError **error);

G_END_DECLS

#endif /* HIPPO_PLUGIN_CLASSIFY_H */
