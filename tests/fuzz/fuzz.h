/* Shared helpers of the fuzz targets (tests/fuzz/fuzz-*.c).
 *
 * Each target defines LLVMFuzzerTestOneInput(). Built with -Dfuzzing=true
 * (clang) it links with libFuzzer; always, it also links with replay-main.c
 * into a plain program that runs the files and folders given on its command
 * line through the same function (the meson test suite "fuzz").
 */
#ifndef HIPPO_FUZZ_H
#define HIPPO_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

G_BEGIN_DECLS

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* A new empty folder under $TMPDIR; aborts when none can be made (the
 * harness, not the input, is broken then). */
char *fuzz_tmpdir_new (void);

/* Removes everything inside dir, then dir itself, and frees the string. */
void fuzz_tmpdir_remove (char *dir);

/* Writes len bytes to dir/name, returning the new path (g_free it); aborts
 * on failure. */
char *fuzz_write_file (const char *dir, const char *name, const void *data,
                       size_t len);

/* Prints a note about the input's outcome (e.g. the error it was refused
 * with) when $HIPPOTAG_FUZZ_VERBOSE is set; silent otherwise. */
void fuzz_note (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* Stops the run with a message: the input broke a property the API
 * promises (not a crash the sanitizers would see on their own). */
G_NORETURN void fuzz_fail (const char *format, ...) G_GNUC_PRINTF (1, 2);

G_END_DECLS

#endif /* HIPPO_FUZZ_H */
