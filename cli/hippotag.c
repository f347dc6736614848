/* The hippotag command: dispatch and shared helpers. */

#include <cblas.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char usage_text[] =
  "Usage: hippotag COMMAND [OPTIONS] ...\n"
  "\n"
  "Engine:\n"
  "  model info [--model NAME|PATH] [--format text|json]\n"
  "  features [--model NAME|PATH] [--layer NAME] [--format jsonl|f32]\n"
  "           [-o FILE] PATH...\n"
  "  bench [--model NAME] [--threads T] [--batch B] [--seconds S]\n"
  "\n"
  "Project (PROJECT is a file such as photos.hippotag):\n"
  "  init PROJECT [--model NAME|PATH] [--multi-label]\n"
  "  class add|rename|remove PROJECT NAME [NEWNAME]   (class list PROJECT)\n"
  "  label PROJECT --class NAME PATH...\n"
  "  label PROJECT --tree DIR          (DIR/CLASS/... is class CLASS)\n"
  "  unlabel PROJECT PATH...\n"
  "  train PROJECT [--folds K] [--format text|json]\n"
  "  classify PROJECT [--format text|jsonl|csv] [--top N] PATH...\n"
  "  suggest PROJECT [-n N] PATH...\n"
  "  eval PROJECT --tree DIR [--format text|json]\n"
  "  tag PROJECT [--sidecar|--in-place] [--min-confidence P] [--dry-run]\n"
  "      PATH...\n"
  "  sort PROJECT --into DEST [--copy|--move|--link] [--min-confidence P]\n"
  "      [--unsure leave|folder] [--dry-run] PATH...\n"
  "  sort --undo JOURNAL\n"
  "Batch commands (label, classify, suggest, eval, tag, sort) take\n"
  "--jobs N (threads) and --shard K/N (a stable split of the files for\n"
  "parallel runs); folders are read recursively.\n"
  "\n"
  "Run 'hippotag COMMAND --help' for a command's options.\n"
  "Exit codes: 0 all done, 1 some inputs failed, 2 usage, 3 nothing ran.\n";

gboolean
cli_parse_precision (const char *value, HippoPrecision *precision)
{
  if (value == NULL || strcmp (value, "auto") == 0)
    *precision = HIPPO_PRECISION_AUTO;
  else if (strcmp (value, "float32") == 0 || strcmp (value, "f32") == 0)
    *precision = HIPPO_PRECISION_FLOAT32;
  else if (strcmp (value, "bfloat16") == 0 || strcmp (value, "bf16") == 0)
    *precision = HIPPO_PRECISION_BFLOAT16;
  else
    {
      cli_error ("--precision must be auto, float32 or bfloat16, not '%s'", value);
      return FALSE;
    }
  return TRUE;
}

void
cli_error (const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  fprintf (stderr, "hippotag: %s\n", msg);
}

gboolean
cli_parse (GOptionContext *ctx, int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;

  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      g_autofree char *help = g_option_context_get_help (ctx, TRUE, NULL);
      cli_error ("%s", error->message);
      fputs (help, stderr);
      return FALSE;
    }
  return TRUE;
}

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

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Folder walk with a set of visited (dev, inode) to break symlink loops. */
static void
collect_dir (const char *dir, GHashTable *seen, GPtrArray *out, int depth)
{
  g_autoptr (GDir) d = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  GStatBuf st;
  char *key;

  if (depth > 64 || g_stat (dir, &st) != 0)
    return;
  key = g_strdup_printf ("%ju:%ju", (uintmax_t) st.st_dev,
                         (uintmax_t) st.st_ino);
  if (!g_hash_table_add (seen, key))
    return;
  d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    {
      /* a folder that cannot be read is not skipped in silence: it is
       * reported in order, as a missing file is, with the reason */
      g_ptr_array_add (out, g_strdup (dir));
      return;
    }
  while ((name = g_dir_read_name (d)))
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len; i++)
    {
      char *p = g_build_filename (dir, names->pdata[i], NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        {
          collect_dir (p, seen, out, depth + 1);
          g_free (p);
        }
      else if (g_str_has_suffix (p, ".xmp") || g_str_has_suffix (p, ".XMP"))
        g_free (p);   /* our own sidecars are never images */
      else
        g_ptr_array_add (out, p);
    }
}

GPtrArray *
cli_collect_paths (char **args, int n_args)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash,
                                                       g_str_equal, g_free,
                                                       NULL);

  for (int i = 0; i < n_args; i++)
    {
      if (g_file_test (args[i], G_FILE_TEST_IS_DIR))
        collect_dir (args[i], seen, out, 0);
      else
        g_ptr_array_add (out, g_strdup (args[i]));
    }
  return out;
}

static int
cmd_version (void)
{
  printf ("hippotag %s\n", HIPPO_VERSION_STRING);
  printf ("OpenBLAS %s\n", openblas_get_config ());
  return CLI_OK;
}

static const struct
{
  const char *name;
  int (*run) (int argc, char **argv);
} project_commands[] = {
  { "init", cli_cmd_init },         { "class", cli_cmd_class },
  { "label", cli_cmd_label },       { "unlabel", cli_cmd_unlabel },
  { "train", cli_cmd_train },       { "classify", cli_cmd_classify },
  { "suggest", cli_cmd_suggest },   { "eval", cli_cmd_eval },
  { "tag", cli_cmd_tag },           { "sort", cli_cmd_sort },
};

int
main (int argc, char **argv)
{
  const char *cmd;

  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");   /* JSON and numbers are always C */
  if (argc < 2)
    {
      fputs (usage_text, stderr);
      return CLI_USAGE;
    }
  cmd = argv[1];
  if (strcmp (cmd, "--version") == 0 || strcmp (cmd, "version") == 0)
    return cmd_version ();
  if (strcmp (cmd, "--help") == 0 || strcmp (cmd, "-h") == 0
      || strcmp (cmd, "help") == 0)
    {
      fputs (usage_text, stdout);
      return CLI_OK;
    }
  if (strcmp (cmd, "model") == 0)
    return cli_cmd_model (argc - 1, argv + 1);
  if (strcmp (cmd, "features") == 0)
    return cli_cmd_features (argc - 1, argv + 1);
  if (strcmp (cmd, "bench") == 0)
    return cli_cmd_bench (argc - 1, argv + 1);
  for (guint i = 0; i < G_N_ELEMENTS (project_commands); i++)
    if (strcmp (cmd, project_commands[i].name) == 0)
      return project_commands[i].run (argc - 1, argv + 1);
  cli_error ("unknown command '%s'", cmd);
  fputs (usage_text, stderr);
  return CLI_USAGE;
}
