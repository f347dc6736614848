/* Fuzz target: the TF.js model readers (layers and graph format) and the
 * weights manifest.
 *
 * Input: the model.json text, then up to four weight shards, each after
 * the 7-byte separator "\0shard\0", written as w0.bin .. w3.bin beside it
 * (a manifest names them in its "paths"). The folder is loaded with
 * hippo_model_load(); a model that loads is described layer by layer and,
 * when small (see the limits below), run once through a session. */
#include "fuzz.h"

#include <string.h>

#include "hippotag/hippotag.h"

#define SEPARATOR "\0shard\0"
#define SEPARATOR_LEN 7
#define MAX_SHARDS 4

/* Limits of this harness, not of the library: only small models are run
 * (one image, one thread), so that each input takes milliseconds. */
#define RUN_MAX_INPUT_PIXELS (64 * 64)
#define RUN_MAX_LAYER_VALUES (1 << 20)
#define RUN_MAX_LAYERS 2000

static const uint8_t *
find_separator (const uint8_t *p, const uint8_t *end)
{
  while ((size_t) (end - p) >= SEPARATOR_LEN)
    {
      const uint8_t *z = memchr (p, '\0', (end - p) - (SEPARATOR_LEN - 1));

      if (z == NULL)
        return NULL;
      if (memcmp (z, SEPARATOR, SEPARATOR_LEN) == 0)
        return z;
      p = z + 1;
    }
  return NULL;
}

static void
run_small_model (HippoModel *model)
{
  HippoSessionParams params;
  g_autoptr (HippoSession) session = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree float *input = NULL;
  g_autofree float *features = NULL;
  guint n_layers = hippo_model_get_n_layers (model);
  gsize n_input;
  int w = 0, h = 0;

  hippo_model_get_input_size (model, &w, &h);
  if (w <= 0 || h <= 0 || (gint64) w * h > RUN_MAX_INPUT_PIXELS
      || n_layers > RUN_MAX_LAYERS)
    return;
  for (guint i = 0; i < n_layers; i++)
    {
      HippoLayerInfo info;

      hippo_model_get_layer (model, i, &info);
      if ((gint64) info.height * info.width * info.channels
          > RUN_MAX_LAYER_VALUES)
        return;
    }

  hippo_session_params_default (&params);
  params.n_threads = 1;
  params.max_batch = 1;
  session = hippo_session_new (model, &params, &error);
  if (session == NULL)
    {
      fuzz_note ("no session: %s", error->message);
      return;
    }
  if (hippo_session_get_dim (session) == 0)
    fuzz_fail ("a session with 0 feature dimensions");
  n_input = (gsize) w * (gsize) h * 3;
  input = g_new (float, n_input);
  for (gsize i = 0; i < n_input; i++)
    input[i] = (float) (i % 7) / 6.0f;
  features = g_new (float, hippo_session_get_dim (session));
  if (!hippo_session_run (session, input, 1, features, &error))
    fuzz_fail ("hippo_session_run failed on a valid batch: %s", error->message);
  fuzz_note ("ran: %u features of %s", hippo_session_get_dim (session),
             hippo_session_get_layers (session));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *end = data + size;
  const uint8_t *part = data;
  char *dir = fuzz_tmpdir_new ();
  g_autoptr (GError) error = NULL;
  HippoModel *model;

  for (int i = -1; i < MAX_SHARDS; i++)
    {
      const uint8_t *sep
        = i + 1 < MAX_SHARDS ? find_separator (part, end) : NULL;
      const uint8_t *stop = sep ? sep : end;
      g_autofree char *name
        = i < 0 ? g_strdup ("model.json") : g_strdup_printf ("w%d.bin", i);

      g_free (fuzz_write_file (dir, name, part, stop - part));
      if (sep == NULL)
        break;
      part = sep + SEPARATOR_LEN;
    }

  model = hippo_model_load (dir, &error);
  if (model == NULL)
    {
      if (error == NULL || error->domain != HIPPO_ERROR)
        fuzz_fail ("hippo_model_load failed without a HIPPO_ERROR");
      fuzz_note ("refused: %s", error->message);
    }
  else
    {
      guint n_layers = hippo_model_get_n_layers (model);
      const char *layer = hippo_model_get_default_layer (model);
      HippoLayerInfo info;

      if (layer == NULL || hippo_model_get_output_layer (model) == NULL
          || hippo_model_get_id (model) == NULL)
        fuzz_fail ("a loaded model without a default layer, output or id");
      for (guint i = 0; i < n_layers; i++)
        {
          hippo_model_get_layer (model, i, &info);
          if (info.name == NULL || info.type == NULL)
            fuzz_fail ("layer %u has no name or type", i);
        }
      g_clear_error (&error);
      if (strchr (layer, '+') == NULL
          && !hippo_model_find_layer (model, layer, &info, &error))
        fuzz_fail ("the default layer '%s' is not found: %s", layer,
                   error->message);
      run_small_model (model);
      hippo_model_free (model);
    }
  fuzz_tmpdir_remove (dir);
  return 0;
}
