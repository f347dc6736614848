/* Private: the SHA-256 of a file's bytes (nettle's, which uses the CPU's
 * SHA instructions where there are some, else GLib's). */
#ifndef HIPPO_DIGEST_H
#define HIPPO_DIGEST_H

#include <sys/stat.h>

#include "hippotag/hippotag-project.h"

G_BEGIN_DECLS

/* A SHA-256 being computed over pieces of data. */
typedef struct _HippoDigest HippoDigest;

HippoDigest *hippo_digest_new (void);
void hippo_digest_update (HippoDigest *digest, const void *data, gsize len);
/* Writes the digest of all the data as 64 lowercase hex digits and a NUL,
 * and frees the digest. */
void hippo_digest_finish (HippoDigest *digest,
                          char hex[HIPPO_HASH_HEX_LEN + 1]);
/* Frees a digest without finishing it. NULL is a no-op. */
void hippo_digest_free (HippoDigest *digest);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoDigest, hippo_digest_free)

/* Hashes the file at path into hex (64 lowercase hex digits and a NUL).
 * *st is its state when opened; *stable tells whether it did not change
 * while being read. FIFOs, devices and folders are refused without being
 * read (HIPPO_ERROR_INVALID_ARGUMENT); other failures are HIPPO_ERROR_IO,
 * the message naming the file. */
gboolean hippo_digest_file (const char *path, char hex[HIPPO_HASH_HEX_LEN + 1],
                            struct stat *st, gboolean *stable, GError **error);

G_END_DECLS

#endif /* HIPPO_DIGEST_H */
