/* Hippotag GIMP plug-in — optional timestamps on stderr.
 */
#ifndef HIPPO_PLUGIN_TIMING_H
#define HIPPO_PLUGIN_TIMING_H

#include <glib.h>

G_BEGIN_DECLS

/**
 * HIPPO_PLUGIN_TIMING_ENV:
 *
 * When this environment variable is set to a non-empty value other than
 * "0", the plug-in prints "hippotag-timing:" lines to stderr.
 */
#define HIPPO_PLUGIN_TIMING_ENV "HIPPOTAG_PLUGIN_TIMING"

void hippo_plugin_timing_mark (const char *what);

G_END_DECLS

#endif /* HIPPO_PLUGIN_TIMING_H */
