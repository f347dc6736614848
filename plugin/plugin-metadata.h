/* Hippotag GIMP plug-in — keywords in an image's metadata.
 */
#ifndef HIPPO_PLUGIN_METADATA_H
#define HIPPO_PLUGIN_METADATA_H

#include <libgimp/gimp.h>

G_BEGIN_DECLS

gboolean hippo_plugin_add_keyword (GimpImage *image, const char *label,
                                   GError **error);

G_END_DECLS

#endif /* HIPPO_PLUGIN_METADATA_H */
