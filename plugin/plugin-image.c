/* Hippotag GIMP plug-in — GIMP images to engine images.
 *
 * Any image (RGB, grey or indexed; with or without alpha; 8 to 32-bit,
 * integer or float; any colour profile) is read as 8-bit sRGB: the visible
 * composite, or one drawable alone. 8-bit sRGB pixels are read as they are;
 * anything else is first converted by GIMP into a temporary 8-bit sRGB
 * image.
 *
 * Speed (measured in GIMP 3.0.4 on a 12 MP photo): reading all pixels
 * through gegl_buffer_get takes ~90 ms, while scaling in GIMP takes 0.5-1.8 s
 * (linear) and a scaled gegl_buffer_get ~560 ms. So pixels are read at full
 * size in strips and box-averaged here, down to no less than twice the
 * model's input (as the CLI's JPEG decoder does with DCT scaling). A single
 * plain layer is read in place; only other images are duplicated and merged
 * (a temporary image, deleted on every path). The user's image is never
 * changed.
 */
#include "plugin-image.h"

#include <string.h>

#include "plugin-timing.h"

/* The message of the last failed PDB call, as a new error. */
static void
set_pdb_error (GError **error, const char *what)
{
  const char *msg = gimp_pdb_get_last_error (gimp_get_pdb ());

  g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED, "%s: %s", what,
               msg != NULL && *msg != '\0' ? msg : "GIMP gave no reason");
}

/* The one layer whose pixels are the image's composite, when there is one:
 * the only visible top-level layer, not a group, canvas-sized at the
 * origin, opaque, in normal mode, without an active mask. */
static GimpLayer *
find_plain_layer (GimpImage *image)
{
  GimpLayer **layers;
  GimpLayer *found = NULL;
  gboolean plain = TRUE;
  int i, offx = 0, offy = 0;

  if (gimp_image_get_floating_sel (image) != NULL)
    return NULL;
  layers = gimp_image_get_layers (image);
  for (i = 0; layers != NULL && layers[i] != NULL; i++)
    if (gimp_item_get_visible (GIMP_ITEM (layers[i])))
      {
        if (found != NULL)
          plain = FALSE;
        found = layers[i];
      }
  if (found != NULL && plain)
    {
      GimpLayerMode mode = gimp_layer_get_mode (found);
      GimpLayerMask *mask = gimp_layer_get_mask (found);

      gimp_drawable_get_offsets (GIMP_DRAWABLE (found), &offx, &offy);
      plain = !gimp_item_is_group (GIMP_ITEM (found)) && offx == 0 && offy == 0
              && gimp_drawable_get_width (GIMP_DRAWABLE (found))
                   == gimp_image_get_width (image)
              && gimp_drawable_get_height (GIMP_DRAWABLE (found))
                   == gimp_image_get_height (image)
              && gimp_layer_get_opacity (found) >= 100.0
              && (mode == GIMP_LAYER_MODE_NORMAL
                  || mode == GIMP_LAYER_MODE_NORMAL_LEGACY)
              && (mask == NULL || !gimp_layer_get_apply_mask (found));
    }
  g_free (layers);
  return plain ? found : NULL;
}

/* A duplicate of @image with its visible layers merged into one
 * canvas-sized layer; NULL with @error set on failure. */
static GimpImage *
image_composite (GimpImage *image, GimpLayer **layer, GError **error)
{
  GimpImage *tmp = gimp_image_duplicate (image);

  if (tmp == NULL)
    {
      set_pdb_error (error, "cannot duplicate the image");
      return NULL;
    }
  gimp_image_undo_disable (tmp);
  *layer = gimp_image_merge_visible_layers (tmp, GIMP_CLIP_TO_IMAGE);
  if (*layer == NULL)
    {
      set_pdb_error (error, "cannot merge the visible layers (does the "
                            "image have a visible layer?)");
      gimp_image_delete (tmp);
      return NULL;
    }
  /* a merged layer may be smaller than the canvas */
  if (!gimp_layer_resize_to_image_size (*layer))
    {
      set_pdb_error (error, "cannot resize the merged layer");
      gimp_image_delete (tmp);
      return NULL;
    }
  return tmp;
}

/* A new 8-bit sRGB RGB image holding a copy of @drawable as its one layer;
 * GIMP converts the pixels (type, precision, colour profile) on the way in,
 * with its warm conversions, which is much cheaper than babl planning a
 * conversion in this fresh process (e.g. ~0.5 s to open an indexed
 * drawable's buffer). NULL with @error set on failure. */
static GimpImage *
image_as_srgb_u8 (GimpDrawable *drawable, GimpLayer **layer, GError **error)
{
  GimpImage *tmp;

  tmp = gimp_image_new_with_precision (gimp_drawable_get_width (drawable),
                                       gimp_drawable_get_height (drawable),
                                       GIMP_RGB, GIMP_PRECISION_U8_NON_LINEAR);
  if (tmp == NULL)
    {
      set_pdb_error (error, "cannot create a temporary image");
      return NULL;
    }
  gimp_image_undo_disable (tmp);
  *layer = gimp_layer_new_from_drawable (drawable, tmp);
  if (*layer == NULL || !gimp_image_insert_layer (tmp, *layer, NULL, 0))
    {
      set_pdb_error (error, "cannot copy the pixels to 8-bit RGB");
      gimp_image_delete (tmp);
      return NULL;
    }
  gimp_layer_set_offsets (*layer, 0, 0);
  return tmp;
}

/**
 * hippo_plugin_box_factor:
 * @width: the image's width.
 * @height: the image's height.
 * @min_width: the smallest width wanted after reduction; 0 for no
 *   reduction.
 * @min_height: the smallest height wanted.
 *
 * Returns: the largest integer factor f >= 1 such that @width / f >=
 *   @min_width and @height / f >= @min_height.
 */
int
hippo_plugin_box_factor (int width, int height, int min_width, int min_height)
{
  int f;

  if (min_width <= 0 || min_height <= 0)
    return 1;
  f = MIN (width / min_width, height / min_height);
  return MAX (f, 1);
}

/* The channels of @format when the engine can take its pixels as they are
 * (8-bit sRGB: grey, grey + alpha, RGB, RGBA); 0 otherwise. Reading in the
 * drawable's own format needs no babl conversion, whose first use costs
 * 25-400 ms in every plug-in process (babl plans each conversion path). */
static int
native_channels (const Babl *format)
{
  if (format == babl_format ("R'G'B' u8"))
    return 3;
  if (format == babl_format ("R'G'B'A u8"))
    return 4;
  if (format == babl_format ("Y' u8"))
    return 1;
  if (format == babl_format ("Y'A u8"))
    return 2;
  return 0;
}

/* Reads @buffer in @format (@nc 8-bit channels, alpha last when @nc is 2 or
 * 4) and box-averages f x f blocks into RGB (partial blocks at the right and
 * bottom edges average what they hold), compositing alpha onto white first
 * so that transparent pixels do not bleed their colour. Strips keep the
 * memory small whatever the image's size. */
static HippoImage *
read_box_averaged (GeglBuffer *buffer, const Babl *format, int nc, int w, int h,
                   int f, GError **error)
{
  int ow = (w + f - 1) / f;
  int oh = (h + f - 1) / f;
  int strip_rows = f * MAX (1, 128 / f);
  gboolean has_alpha = (nc == 2 || nc == 4);
  int ncolor = has_alpha ? nc - 1 : nc;
  g_autofree guint8 *strip = NULL;
  g_autofree guint8 *out = NULL;
  g_autofree guint64 *acc = NULL;
  gsize stride, size;
  int y0, oy, x, y, c;

  if (!g_size_checked_mul (&stride, (gsize) w, (gsize) nc)
      || !g_size_checked_mul (&size, stride, (gsize) strip_rows)
      || (strip = g_try_malloc (size)) == NULL
      || (out = g_try_malloc ((gsize) ow * oh * 3)) == NULL
      || (acc = g_try_new (guint64, (gsize) ow * 3)) == NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "the image (%d x %d) does not fit in memory", w, h);
      return NULL;
    }
  for (y0 = 0; y0 < h; y0 += strip_rows)
    {
      int rows = MIN (strip_rows, h - y0);

      gegl_buffer_get (buffer, GEGL_RECTANGLE (0, y0, w, rows), 1.0, format,
                       strip, (gint) stride, GEGL_ABYSS_NONE);
      /* strip_rows is a multiple of f: output rows never span strips */
      for (oy = y0 / f; oy * f < y0 + rows; oy++)
        {
          int ya = oy * f - y0, yb = MIN (ya + f, rows);
          guint8 *dst = out + (gsize) oy * ow * 3;

          memset (acc, 0, sizeof *acc * (gsize) ow * 3);
          for (y = ya; y < yb; y++)
            {
              const guint8 *p = strip + (gsize) y * stride;

              for (x = 0; x < w; x++, p += nc)
                {
                  guint64 *a = acc + (gsize) (x / f) * 3;
                  guint32 alpha = has_alpha ? p[nc - 1] : 255u;
                  guint32 white = 255u * (255u - alpha);

                  for (c = 0; c < 3; c++)
                    a[c] += (guint32) p[ncolor == 1 ? 0 : c] * alpha + white;
                }
            }
          for (x = 0; x < ow; x++)
            {
              guint64 n = (guint64) (MIN (f, w - x * f)) * (yb - ya) * 255u;

              for (c = 0; c < 3; c++)
                dst[x * 3 + c] = (guint8) ((acc[x * 3 + c] + n / 2) / n);
            }
        }
    }
  return hippo_image_new_from_data (out, ow, oh, (gsize) ow * 3, 3, error);
}

/* Reads a whole buffer in @format (@nc 8-bit channels); the engine
 * composites any alpha. */
static HippoImage *
read_full (GeglBuffer *buffer, const Babl *format, int nc, int w, int h,
           GError **error)
{
  g_autofree guint8 *pixels = NULL;
  gsize stride, size;

  if (!g_size_checked_mul (&stride, (gsize) w, (gsize) nc)
      || !g_size_checked_mul (&size, stride, (gsize) h)
      || (pixels = g_try_malloc (size)) == NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "the image (%d x %d) does not fit in memory", w, h);
      return NULL;
    }
  gegl_buffer_get (buffer, GEGL_RECTANGLE (0, 0, w, h), 1.0, format, pixels,
                   (gint) stride, GEGL_ABYSS_NONE);
  return hippo_image_new_from_data (pixels, w, h, stride, nc, error);
}

/**
 * hippo_plugin_image_read:
 * @image: the image.
 * @drawable: (nullable): read this drawable alone (a layer, channel or
 *   mask of @image, at its own size); %NULL for the image's visible
 *   composite.
 * @min_width: reduce the pixels by box-averaging, but not below this width
 *   (e.g. twice the model's input width); 0 keeps the full size.
 * @min_height: the same for the height.
 * @error: return location for a #GError, or %NULL.
 *
 * Reads the pixels the classifier sees, as sRGB with alpha composited onto
 * white. Must run on the plug-in's main thread (PDB calls). The image is not
 * changed.
 *
 * Returns: (transfer full): the image, or %NULL with @error set
 *   (%HIPPO_ERROR_FAILED with GIMP's message when a PDB call fails,
 *   %HIPPO_ERROR_LIMIT when the pixels do not fit in memory).
 */
HippoImage *
hippo_plugin_image_read (GimpImage *image, GimpDrawable *drawable,
                         int min_width, int min_height, GError **error)
{
  GimpImage *tmp = NULL;
  GimpImage *converted = NULL;
  GimpLayer *layer = NULL;
  GeglBuffer *buffer;
  HippoImage *result;
  int w, h, f;

  g_return_val_if_fail (GIMP_IS_IMAGE (image), NULL);
  g_return_val_if_fail (drawable == NULL || GIMP_IS_DRAWABLE (drawable), NULL);

  if (drawable == NULL)
    {
      layer = find_plain_layer (image);
      if (layer == NULL)
        {
          tmp = image_composite (image, &layer, error);
          if (tmp == NULL)
            return NULL;
          hippo_plugin_timing_mark ("image: visible layers merged");
        }
      drawable = GIMP_DRAWABLE (layer);
    }
  /* indexed (whose format alone costs ~0.5 s to make here), high bit
   * depth, linear or another colour space: let GIMP convert a copy */
  if (gimp_drawable_is_indexed (drawable)
      || native_channels (gimp_drawable_get_format (drawable)) == 0)
    {
      converted = image_as_srgb_u8 (drawable, &layer, error);
      if (converted == NULL)
        {
          if (tmp != NULL)
            gimp_image_delete (tmp);
          return NULL;
        }
      drawable = GIMP_DRAWABLE (layer);
      hippo_plugin_timing_mark ("image: converted to 8-bit sRGB");
    }

  buffer = gimp_drawable_get_buffer (drawable);
  hippo_plugin_timing_mark ("image: buffer opened");
  w = gegl_buffer_get_width (buffer);
  h = gegl_buffer_get_height (buffer);
  if (w < 1 || h < 1)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "the drawable is empty (%d x %d)", w, h);
      result = NULL;
    }
  else
    {
      const Babl *format = gegl_buffer_get_format (buffer);
      int nc = native_channels (format);

      if (nc == 0)
        {
          /* should not happen after the conversion above; correct anyway */
          format = babl_format ("R'G'B'A u8");
          nc = 4;
        }
      f = hippo_plugin_box_factor (w, h, min_width, min_height);
      if (f > 1)
        result = read_box_averaged (buffer, format, nc, w, h, f, error);
      else
        result = read_full (buffer, format, nc, w, h, error);
    }
  g_object_unref (buffer);
  if (converted != NULL)
    gimp_image_delete (converted);
  if (tmp != NULL)
    gimp_image_delete (tmp);
  hippo_plugin_timing_mark ("image: pixels read");
  return result;
}
