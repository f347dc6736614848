/* Private: image decoding for the model's input, in two timed steps. */
#ifndef HIPPO_IMAGE_PRIVATE_H
#define HIPPO_IMAGE_PRIVATE_H

#include "hippotag/hippotag-image.h"

G_BEGIN_DECLS

/* The first half of hippo_image_load_input(): the image decoded as
 * hippo_image_load() does, JPEGs at the most reduced scale that keeps
 * enough pixels for a w x h input. */
HippoImage *hippo_image_load_for_input (const char *path, int w, int h,
                                        GError **error);

G_END_DECLS

#endif /* HIPPO_IMAGE_PRIVATE_H */
