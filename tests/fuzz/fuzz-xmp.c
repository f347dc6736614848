/* Fuzz target: the XMP sidecar merge. The input is an existing sidecar
 * (img.jpg.xmp beside an image); labels are merged into it in a dry run and
 * for real, the keywords are read back, and a second run must change
 * nothing. A refused sidecar must be left byte for byte as it was.
 *
 * Input: the bytes of the sidecar. */
#include "fuzz.h"

#include <string.h>

#include "hippotag/hippotag.h"

static const char *const labels[] = { "cat", "Animals|dog", "ünïcødé", NULL };

static gboolean
file_equals (const char *path, const uint8_t *data, size_t size)
{
  g_autofree char *now = NULL;
  gsize len = 0;

  return g_file_get_contents (path, &now, &len, NULL) && len == size
         && memcmp (now, data, size) == 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *dir = fuzz_tmpdir_new ();
  g_autofree char *image = fuzz_write_file (dir, "img.jpg", "not a jpeg", 10);
  g_autofree char *sidecar = fuzz_write_file (dir, "img.jpg.xmp", data, size);
  g_autoptr (GError) error = NULL;
  HippoTagParams params;
  gboolean changed = FALSE;
  g_auto (GStrv) keywords = NULL;

  hippo_tag_params_default (&params);
  params.dry_run = TRUE;
  if (!hippo_tag_file (image, labels, &params, &changed, &error))
    {
      if (error == NULL || error->domain != HIPPO_ERROR)
        fuzz_fail ("a refused sidecar without a HIPPO_ERROR");
      if (!file_equals (sidecar, data, size))
        fuzz_fail ("a refused sidecar was changed in a dry run");
      fuzz_note ("refused: %s", error->message);
      goto out;
    }
  if (!file_equals (sidecar, data, size))
    fuzz_fail ("a dry run changed the sidecar");

  params.dry_run = FALSE;
  if (!hippo_tag_file (image, labels, &params, &changed, &error))
    {
      /* The dry run accepted it: writing, or exiv2's output not reading
       * back, can still fail; the sidecar must then be as it was. */
      if (!file_equals (sidecar, data, size))
        fuzz_fail ("a failed merge changed the sidecar: %s", error->message);
      fuzz_note ("not merged: %s", error->message);
      goto out;
    }
  keywords = hippo_tag_read_keywords (image, &error);
  if (keywords == NULL)
    fuzz_fail ("the merged sidecar does not read back: %s", error->message);
  for (gsize i = 0; labels[i] != NULL; i++)
    if (!g_strv_contains ((const char *const *) keywords, labels[i]))
      fuzz_fail ("keyword '%s' missing after the merge", labels[i]);
  if (!hippo_tag_file (image, labels, &params, &changed, &error))
    fuzz_fail ("a second merge failed: %s", error->message);
  if (changed)
    fuzz_fail ("a second merge changed the sidecar again");
  fuzz_note ("merged: %u keywords", g_strv_length (keywords));

out:
  fuzz_tmpdir_remove (dir);
  return 0;
}
