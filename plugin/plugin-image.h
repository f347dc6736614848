/* Hippotag GIMP plug-in — GIMP images to engine images.
 */
#ifndef HIPPO_PLUGIN_IMAGE_H
#define HIPPO_PLUGIN_IMAGE_H

#include <libgimp/gimp.h>
#include <hippotag/hippotag-image.h>

G_BEGIN_DECLS

int hippo_plugin_box_factor (int width, int height, int min_width,
                             int min_height);

HippoImage *hippo_plugin_image_read (GimpImage *image, GimpDrawable *drawable,
                                     int min_width, int min_height,
                                     GError **error);

G_END_DECLS

#endif /* HIPPO_PLUGIN_IMAGE_H */
