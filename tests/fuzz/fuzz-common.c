/* Shared helpers of the fuzz targets: temporary folders, files, and the
 * process-wide setup both the libFuzzer and the replay builds run. */
#define _GNU_SOURCE
#include "fuzz.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

/* TRUE when the log call comes from inside a gdk-pixbuf decoder module
 * (e.g. the GIF loader asking for a 0-pixel frame, the WebP loader
 * unreffing a failed animation): the load then fails with an error, and
 * the core cannot prevent the module's message. */
static gboolean
is_decoder_internal (void)
{
  void *frames[64];
  int n = backtrace (frames, G_N_ELEMENTS (frames));

  for (int i = 0; i < n; i++)
    {
      Dl_info info;

      if (dladdr (frames[i], &info) != 0 && info.dli_fname != NULL
          && strstr (info.dli_fname, "/gdk-pixbuf-2.0/") != NULL
          && strstr (info.dli_fname, "/loaders/") != NULL)
        return TRUE;
    }
  return FALSE;
}

/* A critical (a g_return_if_fail hit) or an error means the code was driven
 * into a programmer-error path by input: abort there, so that libFuzzer
 * saves the input as a crash. Warnings of the system decoders about bad
 * files, and their internal criticals, are expected and pass through. */
static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
            gpointer user_data)
{
  if ((level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR))
      && !is_decoder_internal ())
    {
      g_log_writer_standard_streams (level, fields, n_fields, user_data);
      fprintf (stderr, "fuzz: FAILED: a critical or error was logged\n");
      abort ();
    }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_writer_func (log_writer, NULL, NULL);
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
