/* Hippotag — writing class labels as keywords into image metadata.
 */
#ifndef HIPPOTAG_TAG_H
#define HIPPOTAG_TAG_H

#include <hippotag/hippotag-common.h>

G_BEGIN_DECLS

/**
 * HIPPO_TAG_PARENT_DEFAULT:
 *
 * The default parent of the hierarchical keywords: a label "cat" becomes
 * lr:hierarchicalSubject "Hippotag|cat" and digiKam TagsList "Hippotag/cat".
 */
#define HIPPO_TAG_PARENT_DEFAULT "Hippotag"

/**
 * HIPPO_TAG_SIDECAR_MAX_BYTES:
 *
 * An existing XMP sidecar larger than this is refused (%HIPPO_ERROR_LIMIT).
 */
#define HIPPO_TAG_SIDECAR_MAX_BYTES (16 * 1024 * 1024)

/**
 * HippoTagMode:
 * @HIPPO_TAG_MODE_SIDECAR: write an XMP sidecar `FILE.EXT.xmp` next to the
 *   file (merged into an existing one); the image is never touched.
 * @HIPPO_TAG_MODE_IN_PLACE: write into the image itself, through a temporary
 *   copy in the same folder that is renamed over the original.
 *
 * Where hippo_tag_file() writes.
 */
typedef enum
{
  HIPPO_TAG_MODE_SIDECAR,
  HIPPO_TAG_MODE_IN_PLACE,
} HippoTagMode;

/**
 * HippoTagParams:
 * @mode: sidecar (default) or in place.
 * @parent: (nullable): parent of the hierarchical keywords, default
 *   %HIPPO_TAG_PARENT_DEFAULT; %NULL or "" writes the labels at the top level.
 *   Not owned.
 * @dry_run: work out whether anything would change, write nothing.
 *
 * Options of hippo_tag_file(). Initialise with hippo_tag_params_default().
 */
typedef struct
{
  HippoTagMode mode;
  const char *parent;
  gboolean dry_run;
} HippoTagParams;

/**
 * hippo_tag_params_default:
 * @params: (out): parameters to fill: sidecar, parent "Hippotag", no dry run.
 */
void hippo_tag_params_default (HippoTagParams *params);

/**
 * hippo_tag_sidecar_path:
 * @path: an image path.
 *
 * Returns: (transfer full): the sidecar path of @path (`PATH.xmp`), to free
 *   with g_free().
 */
char *hippo_tag_sidecar_path (const char *path);

/**
 * hippo_tag_file:
 * @path: an existing image file.
 * @labels: (array zero-terminated=1): labels to add: valid UTF-8, not empty,
 *   no control characters, at most 1024 bytes each. A '|' or '/' inside a
 *   label makes a deeper level in the hierarchical keywords.
 * @params: (nullable): options, or %NULL for the defaults.
 * @changed_out: (out) (optional): set to %TRUE when a keyword was added (or,
 *   in a dry run, would be), %FALSE when every keyword was already there.
 * @error: return location for a #GError, or %NULL.
 *
 * Adds each label as XMP dc:subject, lr:hierarchicalSubject "PARENT|LABEL",
 * digiKam TagsList "PARENT/LABEL" and, in place where the format has IPTC,
 * IPTC Keywords (labels longer than IPTC's 64 bytes are left out of IPTC
 * only). Values already present are not added again and every other keyword
 * or tag is kept, so running twice changes nothing the second time.
 *
 * Sidecar mode merges into `PATH.xmp` (a symlinked sidecar is written at its
 * target); in place writes a temporary copy of the image in its folder,
 * fsyncs it, checks it reads back, and renames it over the original (a
 * symlink is resolved first; the file mode and, where allowed, the owner are
 * kept; other hard links to the old file keep the old content). Either way a
 * failure at any point (full disk, read-only folder, crash) leaves the
 * original file and sidecar as they were; no temporary file is left behind
 * except after a crash (named `.NAME.hippotag-XXXXXX`).
 *
 * Exiv2's log messages are routed to g_debug() from the first call on.
 *
 * Returns: %TRUE on success. %FALSE with %HIPPO_ERROR_NOT_FOUND (no such
 *   file), %HIPPO_ERROR_INVALID_ARGUMENT (bad label; a format that cannot
 *   hold XMP in place, e.g. GIF: use a sidecar), %HIPPO_ERROR_IMAGE (the
 *   image or its embedded XMP cannot be parsed), %HIPPO_ERROR_FAILED (a
 *   malformed sidecar, left untouched), %HIPPO_ERROR_LIMIT (a huge sidecar),
 *   %HIPPO_ERROR_IO (cannot read or write, or the file changed meanwhile).
 */
gboolean hippo_tag_file (const char *path, const char *const *labels,
                         const HippoTagParams *params, gboolean *changed_out,
                         GError **error);

/**
 * hippo_tag_read_keywords:
 * @path: an image file.
 * @error: return location for a #GError, or %NULL.
 *
 * Reads the XMP dc:subject keywords of @path and of its sidecar
 * `PATH.xmp` if there is one: the image's own first, then the sidecar's
 * that are not already listed. An image that exiv2 cannot parse counts as
 * having none as long as the file exists.
 *
 * Returns: (transfer full) (array zero-terminated=1): the keywords (possibly
 *   none), to free with g_strfreev(), or %NULL with %HIPPO_ERROR_NOT_FOUND
 *   or the sidecar errors of hippo_tag_file().
 */
char **hippo_tag_read_keywords (const char *path, GError **error);

G_END_DECLS

#endif /* HIPPOTAG_TAG_H */
