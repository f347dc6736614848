/* Hippotag — transfer learning for images, in C.
 *
 * The one public header of libhippotag: include this one, not the parts.
 */
#ifndef HIPPOTAG_H
#define HIPPOTAG_H

#define HIPPOTAG_H_INSIDE

#include <hippotag/hippotag-common.h>
#include <hippotag/hippotag-model.h>
#include <hippotag/hippotag-image.h>
#include <hippotag/hippotag-extract.h>
#include <hippotag/hippotag-classifier.h>
#include <hippotag/hippotag-head.h>
#include <hippotag/hippotag-tag.h>
#include <hippotag/hippotag-sort.h>
#include <hippotag/hippotag-project.h>

#undef HIPPOTAG_H_INSIDE

#endif /* HIPPOTAG_H */
