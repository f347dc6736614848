/* The HIPPO_ERROR domain. */
#include "hippotag/hippotag-common.h"

G_DEFINE_QUARK (hippo-error-quark, hippo_error)
