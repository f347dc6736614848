/* The hippotag command: output helpers: JSON strings and numbers, CSV
 * fields, scores ranked best first, and the check that standard output was
 * written. */

#include <errno.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "cli.h"

void
cli_json_string (GString *out, const char *s)
{
  const char *end = NULL;
  g_autofree char *valid = NULL;

  if (!g_utf8_validate (s, -1, &end))
    s = valid = g_utf8_make_valid (s, -1);
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    switch (*p)
      {
      case '"':
        g_string_append (out, "\\\"");
        break;
      case '\\':
        g_string_append (out, "\\\\");
        break;
      case '\n':
        g_string_append (out, "\\n");
        break;
      case '\r':
        g_string_append (out, "\\r");
        break;
      case '\t':
        g_string_append (out, "\\t");
        break;
      default:
        if (*p < 0x20)
          g_string_append_printf (out, "\\u%04x", *p);
        else
          g_string_append_c (out, *p);
      }
  g_string_append_c (out, '"');
}

void
cli_json_number (GString *out, double v)
{
  if (isfinite (v))
    g_string_append_printf (out, "%.6g", v);
  else
    g_string_append (out, "null");
}

void
cli_csv_field (GString *out, const char *s)
{
  g_autofree char *valid = NULL;

  if (!g_utf8_validate (s, -1, NULL))
    s = valid = g_utf8_make_valid (s, -1);
  if (strpbrk (s, ",\"\r\n") == NULL)
    {
      g_string_append (out, s);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = s; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

void
cli_rank_scores (const float *scores, guint k, guint *order)
{
  for (guint i = 0; i < k; i++)
    order[i] = i;
  for (guint i = 1; i < k; i++)
    {
      guint v = order[i], j = i;
      while (j > 0 && scores[order[j - 1]] < scores[v])
        {
          order[j] = order[j - 1];
          j--;
        }
      order[j] = v;
    }
}

gboolean
cli_finish_output (void)
{
  if (fflush (stdout) != 0 || ferror (stdout))
    {
      cli_error ("writing the output failed: %s", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

JsonNode *
cli_json_parse_object (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();

  if (!json_parser_load_from_data (parser, text, -1, NULL)
      || json_parser_get_root (parser) == NULL
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  return json_node_copy (json_parser_get_root (parser));
}

char *
cli_json_to_text (JsonNode *root)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}
