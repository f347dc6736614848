/* Hippotag GIMP plug-in — classifying an image.
 */
#ifndef HIPPO_PLUGIN_CLASSIFY_H
#define HIPPO_PLUGIN_CLASSIFY_H

#include <gio/gio.h>
#include <hippotag/hippotag-image.h>

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
 * @scores: every class, best first (#HippoPluginScore).
 * @n_scores: how many.
 * @project: the project file used, or %NULL (the interim classifier).
 * @classifier: a short description of what classified, for the dialog.
 *
 * The outcome of hippo_plugin_classify(); free with
 * hippo_plugin_result_free().
 */
typedef struct
{
  HippoPluginScore *scores;
  guint n_scores;
  char *project;
  char *classifier;
} HippoPluginResult;

void hippo_plugin_result_free (HippoPluginResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoPluginResult, hippo_plugin_result_free)

char *hippo_plugin_default_project (void);

gboolean hippo_plugin_check_project (GFile *project, gboolean *is_default,
                                     char **path, GError **error);

/**
 * HippoPluginClassifier:
 *
 * What classifies: a project's trained head on its model's features.
 */
typedef struct _HippoPluginClassifier HippoPluginClassifier;

HippoPluginClassifier *hippo_plugin_classifier_open (const char *project,
                                                     GError **error);
void hippo_plugin_classifier_free (HippoPluginClassifier *classifier);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoPluginClassifier,
                               hippo_plugin_classifier_free)
void
hippo_plugin_classifier_get_input_size (const HippoPluginClassifier *classifier,
                                        int *width, int *height);
HippoPluginResult *
hippo_plugin_classifier_run (HippoPluginClassifier *classifier,
                             const HippoImage *image, GError **error);

G_END_DECLS

#endif /* HIPPO_PLUGIN_CLASSIFY_H */
