/* Private: TF.js weights manifests and shards.
 */
#ifndef HIPPO_WEIGHTS_H
#define HIPPO_WEIGHTS_H

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define HIPPO_MAX_WEIGHT_FILES 4096
#define HIPPO_MAX_WEIGHT_TENSORS 100000
#define HIPPO_MAX_RANK 8
#define HIPPO_MAX_WEIGHT_BYTES (G_GUINT64_CONSTANT (4) << 30)

typedef struct
{
  char *name;              /* as in the manifest */
  int rank;
  int shape[HIPPO_MAX_RANK];
  gsize n;                 /* product of shape */
  float *data;             /* dequantised float32, n values */
  gboolean used;           /* set by the readers; unused weights are fine */
} HippoWeight;

typedef struct _HippoWeights HippoWeights;

/* Reads every group of a weightsManifest (a JSON array), its shard files
 * relative to dir concatenated per group as TF.js does, and decodes each
 * tensor to float32: dtype float32, float16, int32; quantization uint8 or
 * uint16 with {min, scale} (or per-tensor {scale, min} as written by the
 * converter), float16 quantization.  Checks every size and offset: a shard
 * group shorter or longer than its tensors, a shape with a negative or huge
 * dimension, an unknown dtype (named in the message), NaN or Inf values.
 * Errors: HIPPO_ERROR_IO, _MODEL_FORMAT, _MODEL_UNSUPPORTED, _MODEL_INVALID,
 * _LIMIT. */
HippoWeights *hippo_weights_load (JsonArray *manifest, const char *dir,
                                  GError **error);
void hippo_weights_free (HippoWeights *weights);

/* The tensor of that name, or NULL. */
HippoWeight *hippo_weights_lookup (HippoWeights *weights, const char *name);

/* The tensor named suffix, else the only tensor whose name ends with
 * "/" suffix; NULL when none or several match.  n_matches (optional) gets
 * the number of matches. */
HippoWeight *hippo_weights_lookup_suffix (HippoWeights *weights,
                                          const char *suffix, guint *n_matches);

/* Number of tensors, and the tensor at index (manifest order; NULL when out
 * of range). */
guint hippo_weights_get_n (const HippoWeights *weights);
HippoWeight *hippo_weights_get (HippoWeights *weights, guint index);

/* Like lookup, but an error (HIPPO_ERROR_MODEL_FORMAT naming the tensor and
 * the layer) when absent or when its element count is not expected_n
 * (expected_n 0: any). Marks it used. */
HippoWeight *hippo_weights_require (HippoWeights *weights, const char *name,
                                    gsize expected_n, const char *layer,
                                    GError **error);

/* Total count of values over all tensors. */
guint64 hippo_weights_count (const HippoWeights *weights);

/* SHA-256 over the manifest's shard files, in manifest order (hex). */
const char *hippo_weights_get_checksum (const HippoWeights *weights);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoWeights, hippo_weights_free)

G_END_DECLS

#endif /* HIPPO_WEIGHTS_H */
