/* Hippotag GIMP plug-in — dialogs.
 */
#ifndef HIPPO_PLUGIN_DIALOGS_H
#define HIPPO_PLUGIN_DIALOGS_H

#include "plugin-classify.h"

G_BEGIN_DECLS

gboolean hippo_plugin_classify_dialog (const HippoPluginResult *result,
                                       gboolean *add_keyword);

G_END_DECLS

#endif /* HIPPO_PLUGIN_DIALOGS_H */
