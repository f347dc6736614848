/* The plain-program main of every fuzz target: runs each file given, and
 * each file inside each folder given (sorted by name; names starting with
 * '.' and README files are skipped), through LLVMFuzzerTestOneInput().
 *
 *   fuzz-TARGET-replay PATH... [--allow-empty PATH...]
 *
 * Exits 0 when every input ran (a crash, a sanitizer report or a failed
 * check ends the process instead); 1 when a path cannot be read, or when a
 * folder before --allow-empty holds no input (an empty corpus tests
 * nothing; the crashers folder may well be empty). */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static gboolean
replay_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree guint8 *exact = NULL;
  gsize len = 0;
  gint64 t0;

  if (!g_file_get_contents (path, &contents, &len, &error))
    {
      fprintf (stderr, "replay: %s\n", error->message);
      return FALSE;
    }
  /* An exact-size copy: g_file_get_contents() adds a NUL that would hide a
   * one-byte over-read from AddressSanitizer. */
  exact = g_malloc (len ? len : 1);
  memcpy (exact, contents, len);
  printf ("replay: %s (%" G_GSIZE_FORMAT " bytes) ... ", path, len);
  fflush (stdout);
  t0 = g_get_monotonic_time ();
  LLVMFuzzerTestOneInput (exact, len);
  printf ("ok, %.1f ms\n", (g_get_monotonic_time () - t0) / 1000.0);
  return TRUE;
}

static gboolean
skipped_name (const char *name)
{
  return name[0] == '.' || g_str_has_prefix (name, "README");
}

int
main (int argc, char **argv)
{
  gboolean allow_empty = FALSE;
  guint total = 0;

  LLVMFuzzerInitialize (&argc, &argv);
  if (argc < 2)
    {
      fprintf (stderr, "usage: %s PATH... [--allow-empty PATH...]\n", argv[0]);
      return 1;
    }
  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];
      guint n = 0;

      if (strcmp (arg, "--allow-empty") == 0)
        {
          allow_empty = TRUE;
          continue;
        }

      if (g_file_test (arg, G_FILE_TEST_IS_DIR))
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
          GDir *d = g_dir_open (arg, 0, &error);
          const char *name;

          if (d == NULL)
            {
              fprintf (stderr, "replay: %s\n", error->message);
              return 1;
            }
          while ((name = g_dir_read_name (d)) != NULL)
            if (!skipped_name (name))
              g_ptr_array_add (names, g_strdup (name));
          g_dir_close (d);
          g_ptr_array_sort (names, compare_names);
          for (guint j = 0; j < names->len; j++)
            {
              g_autofree char *path
                = g_build_filename (arg, names->pdata[j], NULL);

              if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
                continue;
              if (!replay_file (path))
                return 1;
              n++;
            }
        }
      else if (g_file_test (arg, G_FILE_TEST_IS_REGULAR))
        {
          if (!replay_file (arg))
            return 1;
          n++;
        }
      else
        {
          fprintf (stderr, "replay: %s: no such file or folder\n", arg);
          return 1;
        }
      if (n == 0 && !allow_empty)
        {
          fprintf (stderr,
                   "replay: %s holds no inputs (an empty corpus "
                   "tests nothing)\n",
                   arg);
          return 1;
        }
      total += n;
    }
  printf ("replay: %u inputs ran\n", total);
  return 0;
}
