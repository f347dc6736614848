/* Private: what sessions see of a model. */
#ifndef HIPPO_MODEL_PRIVATE_H
#define HIPPO_MODEL_PRIVATE_H

#include "hippotag/hippotag-model.h"
#include "graph.h"

G_BEGIN_DECLS

/* The model's graph after optimisation; read-only. */
const HippoGraph *hippo_model_get_graph (const HippoModel *model);

/* Takes another reference (sessions hold one). */
HippoModel *hippo_model_ref (HippoModel *model);

/* Wraps a hand-built graph (tests): infers shapes, optimises, and takes
 * ownership of the graph, also on failure. */
HippoModel *hippo_model_new_for_graph (HippoGraph *graph, const char *name,
                                       GError **error);

G_END_DECLS

#endif /* HIPPO_MODEL_PRIVATE_H */
