/* Hippotag GIMP plug-in — keywords in an image's metadata.
 *
 * The label goes where photo managers look, as the CLI's tag command writes
 * it (hippotag-tag.h): XMP dc:subject, IPTC Keywords (labels up to 64
 * bytes), lr:hierarchicalSubject "Hippotag|LABEL" and digiKam TagsList
 * "Hippotag/LABEL". GIMP keeps the image's GimpMetadata and writes it on
 * export when XMP/IPTC export is on.
 */
#include "plugin-metadata.h"

#include <string.h>
#include <hippotag/hippotag-common.h>
#include <hippotag/hippotag-tag.h>

#define KEYWORD_PARENT HIPPO_TAG_PARENT_DEFAULT
/* as hippo_tag_file(): labels longer than IPTC allows go to XMP only */
#define IPTC_KEYWORD_MAX_BYTES 64
#define LABEL_MAX_BYTES 1024

static gboolean
label_is_valid (const char *label)
{
  const char *p;

  if (label == NULL || *label == '\0' || strlen (label) > LABEL_MAX_BYTES
      || !g_utf8_validate (label, -1, NULL))
    return FALSE;
  for (p = label; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

/* Adds @value to the multi-valued @tag unless it is already there. */
static gboolean
add_to_tag (GExiv2Metadata *metadata, const char *tag, const char *value,
            GError **error)
{
  g_auto (GStrv) old = NULL;
  g_autoptr (GPtrArray) values = NULL;
  GError *local_error = NULL;
  guint i;

  old = gexiv2_metadata_try_get_tag_multiple (metadata, tag, &local_error);
  if (local_error != NULL)
    {
      /* an absent tag is not an error: start a new list */
      g_clear_error (&local_error);
      g_clear_pointer (&old, g_strfreev);
    }
  values = g_ptr_array_new ();
  for (i = 0; old != NULL && old[i] != NULL; i++)
    {
      if (g_strcmp0 (old[i], value) == 0)
        return TRUE;
      g_ptr_array_add (values, old[i]);
    }
  g_ptr_array_add (values, (gpointer) value);
  g_ptr_array_add (values, NULL);
  if (!gexiv2_metadata_try_set_tag_multiple (
        metadata, tag, (const char **) values->pdata, &local_error))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED,
                   "cannot set the metadata tag %s: %s", tag,
                   local_error->message);
      g_error_free (local_error);
      return FALSE;
    }
  return TRUE;
}

/**
 * hippo_plugin_add_keyword:
 * @image: the image whose metadata to change.
 * @label: the keyword.
 * @error: return location for a #GError, or %NULL.
 *
 * Adds @label as a keyword to the image's metadata (creating the metadata
 * when the image has none); a keyword already there is not added twice.
 *
 * Returns: %TRUE on success; %FALSE with %HIPPO_ERROR_INVALID_ARGUMENT (an
 *   empty, over-long or non-UTF-8 label, or one with control characters) or
 *   %HIPPO_ERROR_FAILED.
 */
gboolean
hippo_plugin_add_keyword (GimpImage *image, const char *label, GError **error)
{
  g_autoptr (GimpMetadata) metadata = NULL;
  g_autofree char *hierarchical = NULL;
  g_autofree char *digikam = NULL;
  GExiv2Metadata *exiv;

  if (!label_is_valid (label))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "the keyword is empty, too long, not UTF-8 or holds "
                   "control characters");
      return FALSE;
    }
  metadata = gimp_image_get_metadata (image);
  if (metadata == NULL)
    metadata = gimp_metadata_new ();
  exiv = GEXIV2_METADATA (metadata);

  hierarchical = g_strconcat (KEYWORD_PARENT "|", label, NULL);
  digikam = g_strconcat (KEYWORD_PARENT "/", label, NULL);
  if (!add_to_tag (exiv, "Xmp.dc.subject", label, error)
      || (strlen (label) <= IPTC_KEYWORD_MAX_BYTES
          && !add_to_tag (exiv, "Iptc.Application2.Keywords", label, error))
      || !add_to_tag (exiv, "Xmp.lr.hierarchicalSubject", hierarchical, error)
      || !add_to_tag (exiv, "Xmp.digiKam.TagsList", digikam, error))
    return FALSE;

  if (!gimp_image_set_metadata (image, metadata))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED,
                   "cannot store the metadata in the image: %s",
                   gimp_pdb_get_last_error (gimp_get_pdb ()));
      return FALSE;
    }
  return TRUE;
}
