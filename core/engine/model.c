/* Finding, loading and describing models. */
#include "hippo-config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "model-private.h"
#include "import/reader.h"
#include "import/weights.h"

#define MAX_MODEL_JSON_BYTES (64 * 1024 * 1024)

struct _HippoModel
{
  gint ref_count;
  HippoGraph *graph;
  char *name;
  char *path;
  const char *format;
  char *id;
  char *default_layer;
  char *output_layer;
};

/* Feature layers chosen by measurement (README.md, "Which backbone and
 * layer"); other models fall back to the input of their classifier. */
static const struct
{
  const char *model;
  const char *layer;
} default_layers[] = {
  { "mobilenet_v2", "block_13_expand_relu" },
  { "inception_v3", "mixed7" },
  { "mobilenet_v2_mid", "MobilenetV2/expanded_conv_13/expand/Relu6" },
};

static char *
find_named_model (const char *name, GError **error)
{
  g_autoptr (GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  const char *env = g_getenv ("HIPPOTAG_MODEL_PATH");
  const char *const *sys = g_get_system_data_dirs ();
  g_autoptr (GString) tried = g_string_new (NULL);

  if (env && *env)
    {
      g_auto (GStrv) parts = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);
      for (int i = 0; parts[i]; i++)
        if (*parts[i])
          g_ptr_array_add (dirs, g_strdup (parts[i]));
    }
  g_ptr_array_add (dirs, g_build_filename (g_get_user_data_dir (), "hippotag",
                                           "models", NULL));
  for (int i = 0; sys[i]; i++)
    g_ptr_array_add (dirs, g_build_filename (sys[i], "hippotag", "models",
                                             NULL));
  g_ptr_array_add (dirs, g_build_filename (HIPPO_DATADIR, "models", NULL));

  for (guint i = 0; i < dirs->len; i++)
    {
      char *p;
      gboolean dup = FALSE;

      for (guint j = 0; j < i; j++)
        dup |= strcmp (dirs->pdata[i], dirs->pdata[j]) == 0;
      if (dup)
        continue;
      p = g_build_filename (dirs->pdata[i], name, "model.json", NULL);
      if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
        return p;
      g_free (p);
      g_string_append_printf (tried, "\n  %s", (char *) dirs->pdata[i]);
    }
  g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND,
               "no model named '%s'; looked in:%s\n(run ./setup, or give a "
               "path to a model.json)", name, tried->str);
  return NULL;
}

static gboolean
is_plain_name (const char *s)
{
  if (*s == '\0' || strcmp (s, ".") == 0 || strcmp (s, "..") == 0)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!(g_ascii_isalnum (*p) || *p == '_' || *p == '-' || *p == '.'))
      return FALSE;
  return !g_str_has_suffix (s, ".json");
}

static char *
resolve_path (const char *name_or_path, GError **error)
{
  char *abs;

  if (is_plain_name (name_or_path)
      && !g_file_test (name_or_path, G_FILE_TEST_EXISTS))
    return find_named_model (name_or_path, error);

  abs = g_canonicalize_filename (name_or_path, NULL);
  if (g_file_test (abs, G_FILE_TEST_IS_DIR))
    {
      char *p = g_build_filename (abs, "model.json", NULL);
      g_free (abs);
      abs = p;
    }
  if (!g_file_test (abs, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND,
                   "no model at '%s'", abs);
      g_free (abs);
      return NULL;
    }
  return abs;
}

static char *
read_model_json (const char *path, gsize *len, GError **error)
{
  GStatBuf st;
  char *data = NULL;
  GError *local = NULL;

  if (g_stat (path, &st) != 0)
    {
      int e = errno;
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO, "%s: %s", path,
                   g_strerror (e));
      return NULL;
    }
  if (st.st_size > MAX_MODEL_JSON_BYTES)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "%s: %" G_GINT64_FORMAT " bytes is too large for a "
                   "model.json (limit %d MB)", path, (gint64) st.st_size,
                   MAX_MODEL_JSON_BYTES >> 20);
      return NULL;
    }
  if (!g_file_get_contents (path, &data, len, &local))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO, "%s", local->message);
      g_error_free (local);
      return NULL;
    }
  if (*len > MAX_MODEL_JSON_BYTES)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "%s: too large for a model.json", path);
      g_free (data);
      return NULL;
    }
  return data;
}

/* The node the graph's classifier reads: the last global pooling or
 * flatten, else the output's input. */
static char *
guess_feature_layer (const HippoGraph *graph)
{
  int node = -1;

  for (int i = graph->nodes->len - 1; i > 0 && node < 0; i--)
    {
      HippoNode *n = g_ptr_array_index (graph->nodes, i);
      if (n->op == HIPPO_OP_GAP || n->op == HIPPO_OP_RESHAPE
          || (n->op == HIPPO_OP_AVGPOOL && n->h == 1 && n->w == 1))
        node = i;
    }
  if (node < 0)
    {
      HippoNode *out = g_ptr_array_index (graph->nodes, graph->output);
      node = out->n_inputs > 0 ? out->inputs[0] : graph->output;
    }
  for (guint i = 0; i < graph->layers->len; i++)
    {
      HippoLayerRef *ref = &g_array_index (graph->layers, HippoLayerRef, i);
      if (ref->node == node && ref->kind == HIPPO_TAP_OUTPUT)
        return g_strdup (ref->name);
    }
  return g_strdup (((HippoNode *) g_ptr_array_index (graph->nodes, node))->name);
}

static char *
output_layer_name (const HippoGraph *graph)
{
  const char *best = NULL;

  for (guint i = 0; i < graph->layers->len; i++)
    {
      HippoLayerRef *ref = &g_array_index (graph->layers, HippoLayerRef, i);
      if (ref->node == graph->output && ref->kind == HIPPO_TAP_OUTPUT)
        best = ref->name;   /* the last name: Identity over Softmax */
    }
  return g_strdup (best ? best
                        : ((HippoNode *) g_ptr_array_index (graph->nodes,
                                                            graph->output))
                            ->name);
}

HippoModel *
hippo_model_load (const char *name_or_path, GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *text = NULL;
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (HippoWeights) weights = NULL;
  g_autoptr (GChecksum) sum = NULL;
  JsonNode *root;
  JsonObject *obj, *topo;
  JsonNode *manifest;
  HippoGraph *graph;
  HippoModel *model;
  gboolean is_graph;
  const char *format;
  gsize len = 0;
  GError *local = NULL;

  if (name_or_path == NULL || *name_or_path == '\0')
    name_or_path = HIPPO_DEFAULT_MODEL;
  path = resolve_path (name_or_path, error);
  if (path == NULL)
    return NULL;
  dir = g_path_get_dirname (path);
  text = read_model_json (path, &len, error);
  if (text == NULL)
    return NULL;

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, len, &local))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "%s: not valid JSON: %s", path, local->message);
      g_error_free (local);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "%s: not a TensorFlow.js model (no JSON object)", path);
      return NULL;
    }
  obj = json_node_get_object (root);
  if (!json_object_has_member (obj, "modelTopology")
      || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (obj,
                                                          "modelTopology")))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "%s: not a TensorFlow.js model (no modelTopology object)",
                   path);
      return NULL;
    }
  topo = json_object_get_object_member (obj, "modelTopology");
  manifest = json_object_get_member (obj, "weightsManifest");
  if (manifest == NULL || !JSON_NODE_HOLDS_ARRAY (manifest))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_MODEL_FORMAT,
                   "%s: no weightsManifest array", path);
      return NULL;
    }
  format = json_object_has_member (obj, "format")
               && JSON_NODE_HOLDS_VALUE (json_object_get_member (obj, "format"))
             ? json_object_get_string_member (obj, "format")
             : NULL;
  is_graph = (format && strcmp (format, "graph-model") == 0)
             || json_object_has_member (topo, "node");

  weights = hippo_weights_load (json_node_get_array (manifest), dir, error);
  if (weights == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  graph = is_graph ? hippo_read_graph_model (topo, weights, error)
                   : hippo_read_layers_model (topo, weights, error);
  if (graph == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  if (!hippo_graph_infer_shapes (graph, error)
      || !hippo_graph_optimize (graph, error))
    {
      g_prefix_error (error, "%s: ", path);
      hippo_graph_free (graph);
      return NULL;
    }

  model = g_new0 (HippoModel, 1);
  model->ref_count = 1;
  model->graph = graph;
  model->path = g_steal_pointer (&path);
  model->format = is_graph ? "graph-model" : "layers-model";
  {
    g_autofree char *parent = g_path_get_basename (dir);
    model->name = g_strdup (is_plain_name (name_or_path)
                                && !g_file_test (name_or_path,
                                                 G_FILE_TEST_EXISTS)
                              ? name_or_path
                              : parent);
  }
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, (const guchar *) text, len);
  g_checksum_update (sum,
                     (const guchar *) hippo_weights_get_checksum (weights),
                     -1);
  model->id = g_strdup_printf ("%s@%.16s", model->name,
                               g_checksum_get_string (sum));
  for (guint i = 0; i < G_N_ELEMENTS (default_layers); i++)
    if (strcmp (model->name, default_layers[i].model) == 0
        && hippo_graph_find (graph, default_layers[i].layer, NULL))
      model->default_layer = g_strdup (default_layers[i].layer);
  if (model->default_layer == NULL)
    model->default_layer = guess_feature_layer (graph);
  model->output_layer = output_layer_name (graph);
  graph->n_params = hippo_weights_count (weights);
  return model;
}

HippoModel *
hippo_model_new_for_graph (HippoGraph *graph, const char *name,
                           GError **error)
{
  HippoModel *model;

  if (!hippo_graph_infer_shapes (graph, error)
      || !hippo_graph_optimize (graph, error))
    {
      hippo_graph_free (graph);
      return NULL;
    }
  model = g_new0 (HippoModel, 1);
  model->ref_count = 1;
  model->graph = graph;
  model->name = g_strdup (name);
  model->path = g_strdup ("");
  model->format = "graph";
  model->id = g_strdup_printf ("%s@test", name);
  model->default_layer = guess_feature_layer (graph);
  model->output_layer = output_layer_name (graph);
  return model;
}

HippoModel *
hippo_model_ref (HippoModel *model)
{
  g_atomic_int_inc (&model->ref_count);
  return model;
}

void
hippo_model_free (HippoModel *model)
{
  if (model == NULL || !g_atomic_int_dec_and_test (&model->ref_count))
    return;
  hippo_graph_free (model->graph);
  g_free (model->name);
  g_free (model->path);
  g_free (model->id);
  g_free (model->default_layer);
  g_free (model->output_layer);
  g_free (model);
}

const HippoGraph *
hippo_model_get_graph (const HippoModel *model)
{
  return model->graph;
}

const char *
hippo_model_get_name (const HippoModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->name;
}

const char *
hippo_model_get_path (const HippoModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->path;
}

const char *
hippo_model_get_format (const HippoModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->format;
}

const char *
hippo_model_get_id (const HippoModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->id;
}

void
hippo_model_get_input_size (const HippoModel *model, int *width, int *height)
{
  g_return_if_fail (model != NULL);
  if (width)
    *width = model->graph->in_w;
  if (height)
    *height = model->graph->in_h;
}

guint64
hippo_model_get_n_params (const HippoModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->graph->n_params;
}

guint
hippo_model_get_n_layers (const HippoModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->graph->layers->len;
}

static void
fill_info (const HippoGraph *graph, const HippoLayerRef *ref,
           HippoLayerInfo *info)
{
  const HippoNode *node = g_ptr_array_index (graph->nodes, ref->node);

  info->name = ref->name;
  info->type = ref->type;
  info->height = node->h;
  info->width = node->w;
  info->channels = node->c;
  info->available = ref->kind != HIPPO_TAP_FOLDED;
}

void
hippo_model_get_layer (const HippoModel *model, guint index,
                       HippoLayerInfo *info)
{
  g_return_if_fail (model != NULL && info != NULL);
  g_return_if_fail (index < model->graph->layers->len);
  fill_info (model->graph,
             &g_array_index (model->graph->layers, HippoLayerRef, index),
             info);
}

gboolean
hippo_model_find_layer (const HippoModel *model, const char *name,
                        HippoLayerInfo *info, GError **error)
{
  const HippoLayerRef *ref;

  g_return_val_if_fail (model != NULL && name != NULL, FALSE);
  ref = hippo_graph_find (model->graph, name, error);
  if (ref == NULL)
    return FALSE;
  if (info)
    fill_info (model->graph, ref, info);
  return TRUE;
}

const char *
hippo_model_get_default_layer (const HippoModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->default_layer;
}

const char *
hippo_model_get_output_layer (const HippoModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->output_layer;
}
