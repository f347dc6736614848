/* hippotag train: train the head and print its metrics. */

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "cli.h"

static double
json_double (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);

  if (n == NULL || JSON_NODE_TYPE (n) != JSON_NODE_VALUE)
    return NAN;
  return json_node_get_double (n);
}

static gint64
json_int (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);

  if (n == NULL || JSON_NODE_TYPE (n) != JSON_NODE_VALUE)
    return 0;
  return json_node_get_int (n);
}

static void
pad_utf8 (GString *out, const char *s, guint width, gboolean right)
{
  glong len = g_utf8_strlen (s, -1);

  if (right)
    for (glong j = len; j < (glong) width; j++)
      g_string_append_c (out, ' ');
  g_string_append (out, s);
  if (!right)
    for (glong j = len; j < (glong) width; j++)
      g_string_append_c (out, ' ');
}

static void
fixed3 (GString *out, double v)
{
  if (isnan (v))
    g_string_append (out, "      -");
  else
    g_string_append_printf (out, " %6.3f", v);
}

/* Renders the metrics JSON of hippo_classifier_train() (or of
 * hippo_metrics_to_json()) as a table. */
static char *
metrics_text (JsonObject *o)
{
  GString *out = g_string_new (NULL);
  JsonArray *classes = json_object_has_member (o, "classes")
                         ? json_object_get_array_member (o, "classes")
                         : NULL;
  JsonArray *confusion = json_object_has_member (o, "confusion")
                           ? json_object_get_array_member (o, "confusion")
                           : NULL;
  JsonArray *notes = json_object_has_member (o, "notes")
                       ? json_object_get_array_member (o, "notes")
                       : NULL;
  guint k = classes ? json_array_get_length (classes) : 0;
  guint w = 5, cw = 4;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  gint64 folds = json_int (o, "folds");
  double sure = json_double (o, "sure_accuracy");

  for (guint i = 0; i < k; i++)
    {
      JsonObject *ci = json_array_get_object_element (classes, i);
      const char *name = ci && json_object_has_member (ci, "name")
                           ? json_object_get_string_member (ci, "name")
                           : NULL;
      const char *text = name ? name : "?";
      /* g_utf8_substring () must not be asked past the end */
      char *shown = g_utf8_substring (text, 0,
                                      MIN (40, g_utf8_strlen (text, -1)));
      w = MAX (w, (guint) g_utf8_strlen (shown, -1));
      g_ptr_array_add (names, shown);
    }
  if (confusion && json_array_get_length (confusion) == k)
    for (guint i = 0; i < k; i++)
      {
        JsonArray *row = json_array_get_array_element (confusion, i);
        for (guint j = 0; row && j < json_array_get_length (row); j++)
          {
            g_autofree char *num = g_strdup_printf (
              "%" G_GINT64_FORMAT, json_array_get_int_element (row, j));
            cw = MAX (cw, (guint) strlen (num) + 1);
          }
      }

  g_string_append_printf (
    out,
    "Accuracy %.1f %% (balanced %.1f %%) on %" G_GINT64_FORMAT
    " of %" G_GINT64_FORMAT " examples",
    100 * json_double (o, "accuracy"),
    100 * json_double (o, "balanced_accuracy"), json_int (o, "n_tested"),
    json_int (o, "n_samples"));
  if (folds > 0)
    g_string_append_printf (out, ", %" G_GINT64_FORMAT "-fold cross-validation",
                            folds);
  g_string_append_printf (out,
                          "\nLog-loss %.3f; %.1f %% of predictions at or "
                          "above %.2f confidence",
                          json_double (o, "log_loss"),
                          100 * json_double (o, "coverage"),
                          json_double (o, "unsure_threshold"));
  if (!isnan (sure))
    g_string_append_printf (out, ", %.1f %% of those right", 100 * sure);
  g_string_append (out, "\n\n  # ");
  pad_utf8 (out, "class", w, FALSE);
  g_string_append (out, " precision recall     f1 support\n");
  for (guint i = 0; i < k; i++)
    {
      JsonObject *ci = json_array_get_object_element (classes, i);
      g_string_append_printf (out, "%3u ", i);
      pad_utf8 (out, names->pdata[i], w, FALSE);
      g_string_append (out, "   ");
      fixed3 (out, json_double (ci, "precision"));
      fixed3 (out, json_double (ci, "recall"));
      fixed3 (out, json_double (ci, "f1"));
      g_string_append_printf (out, " %7" G_GINT64_FORMAT "\n",
                              json_int (ci, "support"));
    }
  if (confusion && json_array_get_length (confusion) == k)
    {
      g_string_append (out, "\nConfusion (rows = true class, columns = "
                            "predicted, by #):\n    ");
      pad_utf8 (out, "", w, FALSE);
      for (guint j = 0; j < k; j++)
        {
          g_autofree char *num = g_strdup_printf ("%u", j);
          pad_utf8 (out, num, cw, TRUE);
        }
      g_string_append_c (out, '\n');
      for (guint i = 0; i < k; i++)
        {
          JsonArray *row = json_array_get_array_element (confusion, i);
          g_string_append_printf (out, "%3u ", i);
          pad_utf8 (out, names->pdata[i], w, FALSE);
          for (guint j = 0; row && j < json_array_get_length (row); j++)
            {
              g_autofree char *num = g_strdup_printf (
                "%" G_GINT64_FORMAT, json_array_get_int_element (row, j));
              pad_utf8 (out, num, cw, TRUE);
            }
          g_string_append_c (out, '\n');
        }
    }
  if (notes && json_array_get_length (notes) > 0)
    {
      g_string_append_c (out, '\n');
      for (guint j = 0; j < json_array_get_length (notes); j++)
        g_string_append_printf (out, "Note: %s.\n",
                                json_array_get_string_element (notes, j));
    }
  return g_string_free (out, FALSE);
}

int
cli_cmd_train (int argc, char **argv)
{
  g_autofree char *format = NULL;
  g_autofree char *precision = NULL;
  HippoPrecision prec;
  int folds = 5, jobs = 0;
  GOptionEntry entries[]
    = { { "folds", 'k', 0, G_OPTION_ARG_INT, &folds,
          "Folds of the cross-validation that measures the head (5; clipped "
          "to the smallest class)",
          "K" },
        { "format", 0, 0, G_OPTION_ARG_STRING, &format,
          "text (default) or json", "FORMAT" },
        { "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs,
          "Threads for features not yet cached (default: one per core)", "N" },
        { "precision", 0, 0, G_OPTION_ARG_STRING, &precision, CLI_PRECISION_HELP,
          "P" },
        { NULL } };
  static const char *const formats[] = { "text", "json", NULL };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *json = NULL;
  gboolean as_json;
  CliProgress progress;
  gint64 t0;
  double seconds;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Train the classifier head on every labelled example and measure "
         "it by stratified k-fold cross-validation: accuracy, per-class "
         "precision and recall, confusion matrix. Needs two classes with "
         "examples.");
  if (!cli_parse (ctx, &argc, &argv))
    return CLI_USAGE;
  if (argc != 2 || !cli_check_format (format, formats) || folds < 2 || folds > 100
      || jobs < 0 || jobs > 1024)
    {
      cli_error ("usage: hippotag train PROJECT [--folds K (2..100)] "
                 "[--format text|json]");
      return CLI_USAGE;
    }
  if (!cli_parse_precision (precision, &prec))
    return CLI_USAGE;
  as_json = format && strcmp (format, "json") == 0;
  c = cli_open_project (argv[1], jobs, prec, CLI_OPEN_WRITE);
  if (c == NULL)
    return CLI_NOTHING_RAN;

  cli_progress_start (&progress, "features", 1);
  t0 = g_get_monotonic_time ();
  json = hippo_classifier_train (c, (guint) folds, cli_progress_func, &progress,
                                 &error);
  seconds = (g_get_monotonic_time () - t0) / 1e6;
  cli_progress_clear (&progress);
  if (json == NULL)
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  root = cli_json_parse_object (json);
  if (root == NULL)
    {
      /* not expected; show what the library gave */
      cli_error ("the metrics are not valid JSON; printed as they are");
      printf ("%s\n", json);
      return cli_finish_output () ? CLI_OK : CLI_NOTHING_RAN;
    }
  json_object_set_double_member (json_node_get_object (root), "train_seconds",
                                 seconds);
  if (as_json)
    {
      g_autofree char *text = cli_json_to_text (root);
      printf ("%s\n", text);
    }
  else
    {
      JsonObject *o = json_node_get_object (root);
      g_autofree char *text = metrics_text (o);
      gint64 skipped = json_int (o, "skipped_examples");

      printf ("Trained on %" G_GINT64_FORMAT " examples in %.2f s "
              "(L2 %g, model %s, layers %s)\n",
              json_int (o, "n_samples"), seconds, json_double (o, "l2"),
              hippo_model_get_name (hippo_classifier_get_model (c)),
              json_object_has_member (o, "layers")
                ? json_object_get_string_member (o, "layers")
                : "?");
      if (skipped > 0)
        printf ("%" G_GINT64_FORMAT " examples skipped: their files are "
                "gone or changed and their features were not cached\n",
                skipped);
      printf ("\n%s", text);
    }
  return cli_finish_output () ? CLI_OK : CLI_NOTHING_RAN;
}
