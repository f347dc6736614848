/* The hippotag command: helpers of every command: messages, option
 * parsing, the files a command is given, the model it loads. */

#include <glib/gstdio.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* --- messages and options ---------------------------------------------- */

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

gboolean
cli_check_format (const char *format, const char *const *allowed)
{
  g_autofree char *list = NULL;

  if (format == NULL)
    return TRUE;
  for (guint i = 0; allowed[i]; i++)
    if (strcmp (format, allowed[i]) == 0)
      return TRUE;
  list = g_strjoinv ("|", (char **) allowed);
  cli_error ("--format must be %s", list);
  return FALSE;
}

int
cli_error_rc (const GError *error)
{
  if (error->domain == HIPPO_ERROR
      && error->code == HIPPO_ERROR_INVALID_ARGUMENT)
    return CLI_USAGE;
  return CLI_NOTHING_RAN;
}

HippoModel *
cli_load_model (const char *name)
{
  g_autoptr (GError) error = NULL;
  HippoModel *model = hippo_model_load (name, &error);

  if (model == NULL)
    cli_error ("%s", error->message);
  return model;
}

/* --- files and folders ------------------------------------------------- */

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

GPtrArray *
cli_list_subdirs (const char *dir, guint *n_loose)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  GPtrArray *out;
  const char *name;

  *n_loose = 0;
  if (d == NULL)
    {
      cli_error ("%s", error->message);
      return NULL;
    }
  out = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (d)))
    {
      g_autofree char *p = NULL;
      if (name[0] == '.')
        continue;
      p = g_build_filename (dir, name, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        g_ptr_array_add (out, g_strdup (name));
      else
        (*n_loose)++;
    }
  g_ptr_array_sort (out, compare_strings);
  return out;
}
