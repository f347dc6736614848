/* Hippotag — pretrained models, inference sessions and feature extraction.
 */
#ifndef HIPPOTAG_MODEL_H
#define HIPPOTAG_MODEL_H

#include <hippotag/hippotag-common.h>

G_BEGIN_DECLS

/**
 * HippoModel:
 *
 * A loaded network: its graph and its weights (BatchNorm folded, activations
 * fused). Read-only after loading, so one model can serve any number of
 * sessions on any number of threads. Internally reference-counted: a session
 * keeps its model alive, so hippo_model_free() may be called before the
 * sessions made from it are freed.
 */
typedef struct _HippoModel HippoModel;

/**
 * HippoSession:
 *
 * Per-run state of a model: scratch memory sized once at creation for a
 * maximum batch, the selected feature layers and the worker threads. A
 * session is used by one thread at a time.
 */
typedef struct _HippoSession HippoSession;

/**
 * HIPPO_DEFAULT_MODEL:
 *
 * The name of the model used when none is given: the backbone with the best
 * few-shot accuracy per cost on the measured data sets (README.md, "Which
 * backbone and layer").
 */
#define HIPPO_DEFAULT_MODEL "mobilenet_v2_mid"

/**
 * HippoLayerInfo:
 * @name: the layer's name as in the model file (owned by the model).
 * @type: the layer's class (layers format) or op (graph format), e.g.
 *   "Conv2D" or "FusedDepthwiseConv2dNative" (owned by the model).
 * @height: output height per image.
 * @width: output width per image.
 * @channels: output channels; the pooled feature of the layer has this many
 *   dimensions.
 * @available: %FALSE when the layer's output is folded away at load (the
 *   output of a convolution before its BatchNormalization) and so cannot be
 *   extracted; ask for the BatchNormalization layer instead.
 *
 * A description of one layer of a model.
 */
typedef struct
{
  const char *name;
  const char *type;
  int height;
  int width;
  int channels;
  gboolean available;
} HippoLayerInfo;

/**
 * hippo_model_load:
 * @name_or_path: a model name ("mobilenet_v2", "inception_v3",
 *   "mobilenet_v2_mid"), a folder holding model.json, or a path to a
 *   model.json; %NULL for %HIPPO_DEFAULT_MODEL.
 * @error: return location for a #GError, or %NULL.
 *
 * Loads a TensorFlow.js model (layers or graph format). Names are looked up,
 * in order, in the folders of $HIPPOTAG_MODEL_PATH (colon-separated), in
 * $XDG_DATA_HOME/hippotag/models, in each of $XDG_DATA_DIRS/hippotag/models
 * and in the data folder Hippotag was installed with.
 *
 * Every file is treated as hostile: sizes, counts, offsets and shapes are
 * checked against limits and non-finite weights are rejected.
 *
 * Returns: (transfer full): the model, to be freed with hippo_model_free(),
 *   or %NULL with @error set (%HIPPO_ERROR_NOT_FOUND, %HIPPO_ERROR_IO,
 *   %HIPPO_ERROR_MODEL_FORMAT, %HIPPO_ERROR_MODEL_UNSUPPORTED,
 *   %HIPPO_ERROR_MODEL_INVALID or %HIPPO_ERROR_LIMIT).
 */
HippoModel *hippo_model_load (const char *name_or_path, GError **error);

/**
 * hippo_model_free:
 * @model: (nullable): a model.
 *
 * Drops the caller's reference; the memory goes when the last session made
 * from the model is freed too. %NULL is a no-op.
 */
void hippo_model_free (HippoModel *model);

/**
 * hippo_model_get_name:
 * @model: a model.
 *
 * Returns: the model's short name: the name it was loaded by, or the name of
 *   its folder. Owned by the model.
 */
const char *hippo_model_get_name (const HippoModel *model);

/**
 * hippo_model_get_path:
 * @model: a model.
 *
 * Returns: the absolute path of the model.json it was loaded from. Owned by
 *   the model.
 */
const char *hippo_model_get_path (const HippoModel *model);

/**
 * hippo_model_get_format:
 * @model: a model.
 *
 * Returns: "layers-model" or "graph-model". Static string.
 */
const char *hippo_model_get_format (const HippoModel *model);

/**
 * hippo_model_get_id:
 * @model: a model.
 *
 * A stable identity for caches: the model's name and a SHA-256 over its
 * model.json and weight files, e.g. "mobilenet_v2@3f2a…". Computed at load.
 *
 * Returns: the identity, owned by the model.
 */
const char *hippo_model_get_id (const HippoModel *model);

/**
 * hippo_model_get_input_size:
 * @model: a model.
 * @width: (out) (optional): input width in pixels.
 * @height: (out) (optional): input height in pixels.
 *
 * The model's input is @height x @width x 3, float RGB in [0, 1], NHWC.
 */
void hippo_model_get_input_size (const HippoModel *model, int *width,
                                 int *height);

/**
 * hippo_model_get_n_params:
 * @model: a model.
 *
 * Returns: the number of weights in the file (before folding).
 */
guint64 hippo_model_get_n_params (const HippoModel *model);

/**
 * hippo_model_get_n_layers:
 * @model: a model.
 *
 * Returns: the number of named layers (layers format) or nodes other than
 *   constants (graph format), in topological order.
 */
guint hippo_model_get_n_layers (const HippoModel *model);

/**
 * hippo_model_get_layer:
 * @model: a model.
 * @index: 0 .. hippo_model_get_n_layers() - 1.
 * @info: (out): filled with the layer's description; its strings are owned
 *   by the model.
 *
 * Describes one layer.
 */
void hippo_model_get_layer (const HippoModel *model, guint index,
                            HippoLayerInfo *info);

/**
 * hippo_model_find_layer:
 * @model: a model.
 * @name: a layer name, or an unambiguous '/'-separated suffix of one (handy
 *   for the long node names of graph models).
 * @info: (out) (optional): filled with the layer's description.
 * @error: return location for a #GError, or %NULL.
 *
 * Returns: %TRUE if found; %FALSE with %HIPPO_ERROR_NOT_FOUND (unknown or
 *   ambiguous name; the message names the candidates).
 */
gboolean hippo_model_find_layer (const HippoModel *model, const char *name,
                                 HippoLayerInfo *info, GError **error);

/**
 * hippo_model_get_default_layer:
 * @model: a model.
 *
 * The feature layer used when none is asked for: chosen for each known
 * backbone by few-shot accuracy (see README.md); for other models, the input
 * of the last dense layer.
 *
 * Returns: a layer specification (see hippo_session_new()), owned by the
 *   model.
 */
const char *hippo_model_get_default_layer (const HippoModel *model);

/**
 * hippo_model_get_output_layer:
 * @model: a model.
 *
 * Returns: the name of the model's final output (e.g. its softmax), owned by
 *   the model.
 */
const char *hippo_model_get_output_layer (const HippoModel *model);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoModel, hippo_model_free)

/**
 * HippoPrecision:
 * @HIPPO_PRECISION_FLOAT32: float32 throughout (the default; matches the
 *   reference implementation to about 1e-5 of each layer's range).
 * @HIPPO_PRECISION_BFLOAT16: the 1x1 convolutions, most of a MobileNet's
 *   arithmetic, multiply activations and weights rounded to bfloat16 and
 *   sum in float32; everything else stays float32. Fast on CPUs with
 *   AMX-BF16 (the weights are laid out for it once, when the session is
 *   made); elsewhere emulated, slower than float32. Features then differ
 *   from float32 by about 1 % (cosine similarity above 0.999 on
 *   MobileNetV2; bench/README.md has the measured tolerance and accuracy).
 * @HIPPO_PRECISION_AUTO: bfloat16 where the CPU has AMX-BF16 (and Linux
 *   grants the tile state), float32 elsewhere: the default of
 *   #HippoClassifierParams and of the hippotag command, as inference
 *   engines such as OpenVINO do on these CPUs.
 *
 * Arithmetic precision of a session.
 */
typedef enum
{
  HIPPO_PRECISION_FLOAT32,
  HIPPO_PRECISION_BFLOAT16,
  HIPPO_PRECISION_AUTO,
} HippoPrecision;

/**
 * HippoSessionParams:
 * @n_threads: worker threads, including the caller's; 0 means one per core.
 *   Hippotag parallelises itself and keeps OpenBLAS single-threaded, so
 *   there are never two thread pools at once.
 * @max_batch: the largest batch hippo_session_run() will be given (>= 1).
 * @layers: the feature layers: a layer name, or several joined by '+' whose
 *   pooled outputs are concatenated in that order; %NULL for the model's
 *   default layer. Spatial outputs are global-average-pooled.
 * @precision: the arithmetic (#HippoPrecision); float32 by default.
 *
 * Options of a session. Initialise with hippo_session_params_default().
 */
typedef struct
{
  int n_threads;
  int max_batch;
  const char *layers;
  HippoPrecision precision;
} HippoSessionParams;

/**
 * hippo_session_params_default:
 * @params: (out): the parameters to fill.
 *
 * Fills @params with the defaults: 1 thread, batch 1, the default layer,
 * float32.
 */
void hippo_session_params_default (HippoSessionParams *params);

/**
 * hippo_session_new:
 * @model: a model; the session takes its own reference.
 * @params: (nullable): options, or %NULL for the defaults.
 * @error: return location for a #GError, or %NULL.
 *
 * Creates a session: resolves the feature layers, plans which layers must
 * run (nothing after the last feature layer does), and allocates all scratch
 * memory once.
 *
 * Returns: (transfer full): a session to free with hippo_session_free(), or
 *   %NULL with %HIPPO_ERROR_NOT_FOUND (unknown layer),
 *   %HIPPO_ERROR_INVALID_ARGUMENT (bad thread or batch count, a layer folded
 *   away) or %HIPPO_ERROR_LIMIT (scratch too large).
 */
HippoSession *hippo_session_new (HippoModel *model,
                                 const HippoSessionParams *params,
                                 GError **error);

/**
 * hippo_session_free:
 * @session: (nullable): a session.
 *
 * Frees the session, its scratch and threads. %NULL is a no-op.
 */
void hippo_session_free (HippoSession *session);

/**
 * hippo_session_get_model:
 * @session: a session.
 *
 * Returns: (transfer none): the session's model.
 */
HippoModel *hippo_session_get_model (const HippoSession *session);

/**
 * hippo_session_get_dim:
 * @session: a session.
 *
 * Returns: the length of one image's feature vector.
 */
guint hippo_session_get_dim (const HippoSession *session);

/**
 * hippo_session_get_layers:
 * @session: a session.
 *
 * Returns: the resolved layer specification (full layer names joined by
 *   '+'), owned by the session.
 */
const char *hippo_session_get_layers (const HippoSession *session);

/**
 * hippo_session_get_precision:
 * @session: a session.
 *
 * Returns: the session's arithmetic: %HIPPO_PRECISION_FLOAT32 or
 *   %HIPPO_PRECISION_BFLOAT16 (%HIPPO_PRECISION_AUTO resolved).
 */
HippoPrecision hippo_session_get_precision (const HippoSession *session);

/**
 * hippo_session_get_n_threads:
 * @session: a session.
 *
 * Returns: the number of threads the session computes with.
 */
int hippo_session_get_n_threads (const HippoSession *session);

/**
 * hippo_session_get_kernels:
 * @session: a session.
 *
 * Returns: what computes the session's layers: OpenBLAS's configuration
 *   (its version and the CPU kernels it picked, e.g. "OpenBLAS 0.3.21 ...
 *   SkylakeX ...") and the instruction set of our own kernels ("own kernels
 *   avx512"), owned by the session.
 */
const char *hippo_session_get_kernels (const HippoSession *session);

/**
 * hippo_session_run:
 * @session: a session.
 * @input: @n images, each the model's input (see
 *   hippo_model_get_input_size()), NHWC float32, e.g. from
 *   hippo_image_load_input().
 * @n: number of images, 1 .. max_batch.
 * @features: (out caller-allocates): @n * hippo_session_get_dim() floats.
 * @error: return location for a #GError, or %NULL.
 *
 * Runs the network on a batch and writes the pooled features of the
 * session's layers. Allocates nothing.
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_INVALID_ARGUMENT for a
 *   bad @n.
 */
gboolean hippo_session_run (HippoSession *session, const float *input,
                            guint n, float *features, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoSession, hippo_session_free)

G_END_DECLS

#endif /* HIPPOTAG_MODEL_H */
