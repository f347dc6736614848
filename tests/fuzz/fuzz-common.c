/* Shared helpers of the fuzz targets: temporary folders, files, and the
 * process-wide setup both the libFuzzer and the replay builds run. */
#include "fuzz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* A critical (a g_return_if_fail hit) means the library was driven into
   * a programmer-error path by input: stop there, as a crash. Warnings of
   * the system decoders about bad files are expected and not fatal. */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_FATAL_MASK);
  /* One thread: the machine is shared, and the core threads itself. */
  g_setenv ("OPENBLAS_NUM_THREADS", "1", FALSE);
  return 0;
}

char *
fuzz_tmpdir_new (void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp ("hippotag-fuzz-XXXXXX", &error);

  if (dir == NULL)
    {
      fprintf (stderr, "fuzz: cannot make a temporary folder: %s\n",
               error->message);
      abort ();
    }
  return dir;
}

static void
remove_tree (const char *path)
{
  GDir *d = g_dir_open (path, 0, NULL);
  const char *name;

  if (d != NULL)
    {
      while ((name = g_dir_read_name (d)) != NULL)
        {
          char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR)
              && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            remove_tree (child);
          else
            g_unlink (child);
          g_free (child);
        }
      g_dir_close (d);
    }
  g_rmdir (path);
}

void
fuzz_tmpdir_remove (char *dir)
{
  if (dir == NULL)
    return;
  remove_tree (dir);
  if (g_file_test (dir, G_FILE_TEST_EXISTS))
    {
      fprintf (stderr, "fuzz: cannot remove %s\n", dir);
      abort ();
    }
  g_free (dir);
}

char *
fuzz_write_file (const char *dir, const char *name, const void *data,
                 size_t len)
{
  char *path = g_build_filename (dir, name, NULL);
  GError *error = NULL;

  if (!g_file_set_contents (path, data ? data : "", (gssize) len, &error))
    {
      fprintf (stderr, "fuzz: cannot write %s: %s\n", path, error->message);
      abort ();
    }
  return path;
}

void
fuzz_note (const char *format, ...)
{
  va_list args;

  if (g_getenv ("HIPPOTAG_FUZZ_VERBOSE") == NULL)
    return;
  va_start (args, format);
  fputs ("fuzz: ", stderr);
  vfprintf (stderr, format, args);
  fputc ('\n', stderr);
  va_end (args);
}

void
fuzz_fail (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  fputs ("fuzz: FAILED: ", stderr);
  vfprintf (stderr, format, args);
  fputc ('\n', stderr);
  va_end (args);
  abort ();
}
