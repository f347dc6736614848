/* Private: the TF.js model readers.  Both build the raw engine graph (no
 * fusion) from the "modelTopology" object of a model.json, taking weights
 * from the loaded manifest. */
#ifndef HIPPO_READER_H
#define HIPPO_READER_H

#include <json-glib/json-glib.h>

#include "engine/graph.h"
#include "weights.h"

G_BEGIN_DECLS

/* Keras layers format: functional, sequential and nested models. */
HippoGraph *hippo_read_layers_model (JsonObject *model_topology,
                                     HippoWeights *weights, GError **error);

/* TF graph format (GraphDef nodes). */
HippoGraph *hippo_read_graph_model (JsonObject *model_topology,
                                    HippoWeights *weights, GError **error);

G_END_DECLS

#endif /* HIPPO_READER_H */
