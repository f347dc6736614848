/* Hippotag trainer — the metrics pane: accuracy, per-class precision and
 * recall, and a confusion matrix drawn with cairo. Private to ui/. */
#ifndef HIPPO_METRICS_VIEW_H
#define HIPPO_METRICS_VIEW_H

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Called with the true and predicted class index of a clicked cell. */
typedef void (*HippoCellFunc) (guint true_class, guint predicted,
                               gpointer user_data);

GtkWidget *hippo_metrics_view_new (HippoCellFunc func, gpointer user_data);
/* @json: the metrics of hippo_classifier_train(), or %NULL to clear.
 * Returns %FALSE when it cannot be read (the pane then says so). */
gboolean hippo_metrics_view_set_json (GtkWidget *view, const char *json);
/* The class names in the order of the confusion matrix (for the filter). */
const char *hippo_metrics_view_get_class_name (GtkWidget *view, guint i);

G_END_DECLS

#endif /* HIPPO_METRICS_VIEW_H */
