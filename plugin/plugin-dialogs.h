/* Hippotag GIMP plug-in — dialogs.
 */
#ifndef HIPPO_PLUGIN_DIALOGS_H
#define HIPPO_PLUGIN_DIALOGS_H

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "plugin-classify.h"

G_BEGIN_DECLS

/**
 * HippoPluginLabelFunc:
 * @class_name: the class the user chose or typed.
 * @user_data: data given with the callback.
 * @error: return location for a #GError.
 *
 * Labels the image being classified as @class_name.
 *
 * Returns: (transfer full): the class's stored name, or %NULL with @error
 *   set.
 */
typedef char *(*HippoPluginLabelFunc) (const char *class_name,
                                       gpointer user_data, GError **error);

gboolean hippo_plugin_classify_dialog (const HippoPluginResult *result,
                                       const char *const *classes,
                                       HippoPluginLabelFunc label_func,
                                       gpointer user_data,
                                       gboolean *add_keyword, char **keyword);

gboolean hippo_plugin_arguments_dialog (GimpProcedure *procedure,
                                        GimpProcedureConfig *config,
                                        const char *title, const char *why,
                                        const char *const *properties);

GtkWidget *hippo_plugin_progress_dialog_new (const char *title,
                                             const char *text,
                                             gboolean *cancelled);

void hippo_plugin_progress_dialog_set (GtkWidget *dialog, double fraction,
                                       const char *text);

G_END_DECLS

#endif /* HIPPO_PLUGIN_DIALOGS_H */
