/* hippotag model info | features | bench */

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"

/* --- model info ------------------------------------------------------- */

int
cli_cmd_model (int argc, char **argv)
{
  g_autofree char *model_name = NULL;
  g_autofree char *format = NULL;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model_name,
      "Model name or path (default " HIPPO_DEFAULT_MODEL ")", "NAME|PATH" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, "text or json",
      "FORMAT" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("info");
  g_autoptr (HippoModel) model = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  int w, h;
  guint n;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx, "Describe a model and its layers.");
  if (!cli_parse (ctx, &argc, &argv))
    return CLI_USAGE;
  if (argc != 2 || strcmp (argv[1], "info") != 0)
    {
      cli_error ("usage: hippotag model info [--model NAME|PATH] "
                 "[--format text|json]");
      return CLI_USAGE;
    }
  if (format && strcmp (format, "text") != 0 && strcmp (format, "json") != 0)
    {
      cli_error ("--format must be text or json");
      return CLI_USAGE;
    }
  model = cli_load_model (model_name);
  if (model == NULL)
    return CLI_NOTHING_RAN;
  hippo_model_get_input_size (model, &w, &h);
  n = hippo_model_get_n_layers (model);

  if (format && strcmp (format, "json") == 0)
    {
      g_string_append (out, "{\"name\": ");
      cli_json_string (out, hippo_model_get_name (model));
      g_string_append (out, ", \"path\": ");
      cli_json_string (out, hippo_model_get_path (model));
      g_string_append (out, ", \"format\": ");
      cli_json_string (out, hippo_model_get_format (model));
      g_string_append (out, ", \"id\": ");
      cli_json_string (out, hippo_model_get_id (model));
      g_string_append_printf (out,
                              ", \"input\": [%d, %d, 3], \"params\": %"
                              G_GUINT64_FORMAT ", \"default_layer\": ",
                              h, w, hippo_model_get_n_params (model));
      cli_json_string (out, hippo_model_get_default_layer (model));
      g_string_append (out, ", \"output_layer\": ");
      cli_json_string (out, hippo_model_get_output_layer (model));
      g_string_append (out, ", \"layers\": [");
      for (guint i = 0; i < n; i++)
        {
          HippoLayerInfo li;
          hippo_model_get_layer (model, i, &li);
          g_string_append (out, i ? ",\n  {\"name\": " : "\n  {\"name\": ");
          cli_json_string (out, li.name);
          g_string_append (out, ", \"type\": ");
          cli_json_string (out, li.type);
          g_string_append_printf (out,
                                  ", \"shape\": [%d, %d, %d], "
                                  "\"available\": %s}",
                                  li.height, li.width, li.channels,
                                  li.available ? "true" : "false");
        }
      g_string_append (out, "\n]}\n");
    }
  else
    {
      g_string_append_printf (out,
                              "name:          %s\n"
                              "path:          %s\n"
                              "format:        %s\n"
                              "id:            %s\n"
                              "input:         %dx%dx3 (RGB in [0,1])\n"
                              "parameters:    %" G_GUINT64_FORMAT "\n"
                              "default layer: %s\n"
                              "output layer:  %s\n"
                              "layers:        %u\n\n",
                              hippo_model_get_name (model),
                              hippo_model_get_path (model),
                              hippo_model_get_format (model),
                              hippo_model_get_id (model), h, w,
                              hippo_model_get_n_params (model),
                              hippo_model_get_default_layer (model),
                              hippo_model_get_output_layer (model), n);
      for (guint i = 0; i < n; i++)
        {
          HippoLayerInfo li;
          hippo_model_get_layer (model, i, &li);
          g_string_append_printf (out, "%-28s %-24s %4dx%-4dx%5d%s\n",
                                  li.type, li.name, li.height, li.width,
                                  li.channels,
                                  li.available ? "" : "  (folded at load)");
        }
    }
  fputs (out->str, stdout);
  return CLI_OK;
}

/* --- features --------------------------------------------------------- */

typedef struct
{
  FILE *out;
  gboolean jsonl;
  const char *layer;
  guint dim;
  guint n_failed;
  GString *line;
  float *nan_row;
  gboolean write_failed;
} FeaturesOut;

static gboolean
write_features (guint index, const char *path, const float *features,
                const GError *error, gpointer user_data)
{
  FeaturesOut *o = user_data;

  if (features == NULL)
    o->n_failed++;
  if (!o->jsonl)
    {
      if (features == NULL)
        cli_error ("%s", error->message);
      if (fwrite (features ? features : o->nan_row, sizeof (float), o->dim,
                  o->out) != o->dim)
        o->write_failed = TRUE;
      return !o->write_failed;
    }
  g_string_truncate (o->line, 0);
  g_string_append (o->line, "{\"file\": ");
  cli_json_string (o->line, path);
  if (features == NULL)
    {
      g_string_append (o->line, ", \"error\": ");
      cli_json_string (o->line, error->message);
    }
  else
    {
      g_string_append (o->line, ", \"layer\": ");
      cli_json_string (o->line, o->layer);
      g_string_append_printf (o->line, ", \"dim\": %u, \"features\": [",
                              o->dim);
      for (guint k = 0; k < o->dim; k++)
        g_string_append_printf (o->line, k ? ", %.9g" : "%.9g",
                                features[k]);
      g_string_append_c (o->line, ']');
    }
  g_string_append (o->line, "}\n");
  if (fwrite (o->line->str, 1, o->line->len, o->out) != o->line->len)
    o->write_failed = TRUE;
  return !o->write_failed;
}

int
cli_cmd_features (int argc, char **argv)
{
  g_autofree char *model_name = NULL;
  g_autofree char *layer = NULL;
  g_autofree char *format = NULL;
  g_autofree char *output = NULL;
  g_autofree char *precision = NULL;
  int threads = 0, batch = 8;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model_name,
      "Model name or path (default " HIPPO_DEFAULT_MODEL ")", "NAME|PATH" },
    { "layer", 'l', 0, G_OPTION_ARG_STRING, &layer,
      "Feature layer; several joined by + are concatenated", "NAME" },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
      "jsonl (default) or f32 (rows of little-endian float32; a failed "
      "image gives a row of NaN)", "FORMAT" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      "Write to FILE instead of standard output", "FILE" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads,
      "Threads (default: one per core)", "T" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Images per batch (8)",
      "B" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision,
      CLI_PRECISION_HELP, "P" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PATH...");
  g_autoptr (HippoModel) model = NULL;
  g_autoptr (HippoExtractor) ex = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GError) error = NULL;
  HippoSessionParams params;
  FeaturesOut o = { 0 };
  int rc;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx,
                                "Write the feature vector of each image "
                                "(folders are read recursively).");
  if (!cli_parse (ctx, &argc, &argv))
    return CLI_USAGE;
  if (argc < 2)
    {
      cli_error ("give at least one image or folder");
      return CLI_USAGE;
    }
  if (format && strcmp (format, "jsonl") != 0 && strcmp (format, "f32") != 0)
    {
      cli_error ("--format must be jsonl or f32");
      return CLI_USAGE;
    }
  if (batch < 1 || batch > 1024 || threads < 0 || threads > 1024)
    {
      cli_error ("--batch must be 1..1024 and --threads 0..1024");
      return CLI_USAGE;
    }
  hippo_session_params_default (&params);
  if (!cli_parse_precision (precision, &params.precision))
    return CLI_USAGE;
  model = cli_load_model (model_name);
  if (model == NULL)
    return CLI_NOTHING_RAN;
  params.n_threads = threads;
  params.max_batch = batch;
  params.layers = layer;
  ex = hippo_extractor_new (model, &params, &error);
  if (ex == NULL)
    {
      cli_error ("%s", error->message);
      return error->code == HIPPO_ERROR_NOT_FOUND
                 || error->code == HIPPO_ERROR_INVALID_ARGUMENT
               ? CLI_USAGE
               : CLI_NOTHING_RAN;
    }

  o.out = stdout;
  if (output && (o.out = fopen (output, "wb")) == NULL)
    {
      cli_error ("%s: %s", output, g_strerror (errno));
      return CLI_NOTHING_RAN;
    }
  o.jsonl = !(format && strcmp (format, "f32") == 0);
  o.layer = hippo_session_get_layers (hippo_extractor_get_session (ex));
  o.dim = hippo_extractor_get_dim (ex);
  o.line = g_string_sized_new (16 * o.dim + 256);
  o.nan_row = g_new (float, o.dim);
  for (guint k = 0; k < o.dim; k++)
    o.nan_row[k] = NAN;

  paths = cli_collect_paths (argv + 1, argc - 1);
  if (!hippo_extractor_run (ex, (const char *const *) paths->pdata,
                            paths->len, write_features, &o, &error))
    o.write_failed = TRUE;
  if (fflush (o.out) != 0 || (o.out != stdout && fclose (o.out) != 0))
    o.write_failed = TRUE;
  if (o.write_failed)
    cli_error ("writing the output failed: %s", g_strerror (errno));
  rc = o.write_failed ? CLI_NOTHING_RAN
       : o.n_failed ? CLI_SOME_FAILED
                    : CLI_OK;
  if (paths->len == 0)
    {
      cli_error ("no files found");
      rc = CLI_SOME_FAILED;
    }
  g_string_free (o.line, TRUE);
  g_free (o.nan_row);
  return rc;
}

/* --- bench ------------------------------------------------------------ */

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

int
cli_cmd_bench (int argc, char **argv)
{
  g_autofree char *model_name = NULL;
  g_autofree char *layer = NULL;
  g_autofree char *precision = NULL;
  int threads = 1, batch = 1, max_runs = 200;
  double seconds = 10;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model_name,
      "Model name or path (default " HIPPO_DEFAULT_MODEL ")", "NAME|PATH" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (1)", "T" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Batch size (1)", "B" },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds,
      "Time to spend measuring (10)", "S" },
    { "runs", 'r', 0, G_OPTION_ARG_INT, &max_runs,
      "At most this many timed runs (200)", "R" },
    { "layer", 'l', 0, G_OPTION_ARG_STRING, &layer,
      "Run only up to this layer (default: the whole model)", "NAME" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision,
      CLI_PRECISION_HELP, "P" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_autoptr (HippoModel) model = NULL;
  g_autoptr (HippoSession) session = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree float *input = NULL;
  g_autofree float *features = NULL;
  g_autoptr (GArray) times = g_array_new (FALSE, FALSE, sizeof (double));
  HippoSessionParams params;
  gint64 t0, load_us, first_us;
  double med;
  guint32 rng = 12345;
  gsize n_in;
  int w, h;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx,
                                "Time the network alone on a fixed input; "
                                "the last line is 'N img/s'.");
  if (!cli_parse (ctx, &argc, &argv))
    return CLI_USAGE;
  if (argc != 1 || threads < 1 || threads > 1024 || batch < 1
      || batch > 1024 || !(seconds > 0) || max_runs < 1)
    {
      cli_error ("usage: hippotag bench [--model NAME] [--threads T] "
                 "[--batch B] [--seconds S] [--precision P]");
      return CLI_USAGE;
    }
  hippo_session_params_default (&params);
  if (!cli_parse_precision (precision, &params.precision))
    return CLI_USAGE;
  t0 = g_get_monotonic_time ();
  model = cli_load_model (model_name);
  if (model == NULL)
    return CLI_NOTHING_RAN;
  load_us = g_get_monotonic_time () - t0;
  params.n_threads = threads;
  params.max_batch = batch;
  params.layers = layer ? layer : hippo_model_get_output_layer (model);
  session = hippo_session_new (model, &params, &error);
  if (session == NULL)
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  hippo_model_get_input_size (model, &w, &h);
  n_in = (gsize) w * h * 3 * batch;
  input = g_new (float, n_in);
  for (gsize i = 0; i < n_in; i++)
    {
      rng = rng * 1664525u + 1013904223u;
      input[i] = (rng >> 8) / 16777216.0f;
    }
  features = g_new (float, (gsize) batch * hippo_session_get_dim (session));

  /* first run: counts in "load + first image" */
  if (!hippo_session_run (session, input, batch, features, &error))
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  first_us = g_get_monotonic_time () - t0;
  hippo_session_run (session, input, batch, features, NULL);

  t0 = g_get_monotonic_time ();
  while ((int) times->len < max_runs
         && (g_get_monotonic_time () - t0) < seconds * 1e6)
    {
      gint64 a = g_get_monotonic_time ();
      double ms;
      hippo_session_run (session, input, batch, features, NULL);
      ms = (g_get_monotonic_time () - a) / 1000.0;
      g_array_append_val (times, ms);
    }
  g_array_sort (times, compare_doubles);
  med = g_array_index (times, double, times->len / 2);
  printf ("model %s, layers %s, threads %d, batch %d, precision %s\n",
          hippo_model_get_name (model), hippo_session_get_layers (session),
          threads, batch,
          hippo_session_get_precision (session) == HIPPO_PRECISION_BFLOAT16
            ? "bfloat16"
            : "float32");
  printf ("kernels: %s\n", hippo_session_get_kernels (session));
  printf ("load %.1f ms, load + first batch %.1f ms\n", load_us / 1000.0,
          first_us / 1000.0);
  printf ("%u runs: min %.2f, median %.2f, max %.2f ms/img\n", times->len,
          g_array_index (times, double, 0) / batch, med / batch,
          g_array_index (times, double, times->len - 1) / batch);
  {
    struct rusage ru;
    if (getrusage (RUSAGE_SELF, &ru) == 0)
      printf ("peak RSS %.1f MB\n", ru.ru_maxrss / 1024.0);
  }
  printf ("%.2f img/s\n", batch * 1000.0 / med);
  return CLI_OK;
}
