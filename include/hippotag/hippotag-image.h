/* Hippotag — decoding images and turning them into model input.
 */
#ifndef HIPPOTAG_IMAGE_H
#define HIPPOTAG_IMAGE_H

#include <hippotag/hippotag-common.h>
#include <hippotag/hippotag-model.h>

G_BEGIN_DECLS

/**
 * HippoImage:
 *
 * A decoded image: 8-bit RGB, rows packed (stride 3 * width), upright (EXIF
 * orientation applied), alpha already composited onto white.
 */
typedef struct _HippoImage HippoImage;

/**
 * HIPPO_IMAGE_MAX_PIXELS_DEFAULT:
 *
 * The default limit on width * height of an image as its header states it,
 * checked before any pixel memory is allocated (decompression bombs).
 */
#define HIPPO_IMAGE_MAX_PIXELS_DEFAULT (G_GUINT64_CONSTANT (100000000))

/**
 * HIPPO_PREPROCESS_VERSION:
 *
 * Bumped whenever decoding or preprocessing changes the model input for the
 * same file; part of the key of every feature cache.
 */
#define HIPPO_PREPROCESS_VERSION 1

/**
 * HippoImageParams:
 * @max_pixels: reject images whose header states more pixels than this.
 * @min_width: if > 0 with @min_height, the decoder may reduce large JPEGs
 *   (libjpeg DCT scaling by 1/2, 1/4 or 1/8, giving ceil (W / d) x
 *   ceil (H / d) with no further resampling) as long as the result stays at
 *   least @min_width x @min_height. As the EXIF orientation is only known
 *   after the size is chosen, the reduced size must hold both ways round
 *   (its shorter side >= MAX (@min_width, @min_height)). Other formats are
 *   always decoded at full size; 0 decodes at full size.
 * @min_height: see @min_width.
 *
 * Options of hippo_image_load(). Initialise with
 * hippo_image_params_default().
 */
typedef struct
{
  guint64 max_pixels;
  int min_width;
  int min_height;
} HippoImageParams;

/**
 * hippo_image_params_default:
 * @params: (out): parameters to fill: %HIPPO_IMAGE_MAX_PIXELS_DEFAULT, full
 *   size.
 */
void hippo_image_params_default (HippoImageParams *params);

/**
 * hippo_image_load:
 * @path: a file in any format gdk-pixbuf reads (JPEG, PNG, TIFF, GIF, WebP
 *   where a loader is installed, ...). An animation gives its first frame.
 * @params: (nullable): options, or %NULL for the defaults.
 * @error: return location for a #GError, or %NULL.
 *
 * Decodes an image, applies its EXIF orientation and composites any alpha
 * onto white (a transparent background becomes white, as on a page). The
 * file is fed to the decoder in chunks and the pixel limit is checked from
 * the header, before any pixel memory is allocated. A JPEG without its
 * end-of-image marker, a PNG without its IEND chunk and a WebP shorter than
 * its RIFF size are refused as truncated (the decoders would return a
 * partly grey image). Only regular files are read.
 *
 * Returns: (transfer full): the image, to free with hippo_image_free(), or
 *   %NULL with %HIPPO_ERROR_IO (cannot open or read, not a regular file),
 *   %HIPPO_ERROR_IMAGE (empty, not an image, unknown format, truncated,
 *   corrupt; the message gives the decoder's reason) or %HIPPO_ERROR_LIMIT
 *   (more than @params->max_pixels, or out of memory).
 */
HippoImage *hippo_image_load (const char *path,
                              const HippoImageParams *params, GError **error);

/**
 * hippo_image_new_from_data:
 * @pixels: 8-bit samples, rows of @width pixels of @n_channels each.
 * @width: width in pixels (>= 1).
 * @height: height in pixels (>= 1).
 * @rowstride: bytes from one row to the next.
 * @n_channels: 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA);
 *   non-premultiplied alpha.
 * @error: return location for a #GError, or %NULL.
 *
 * Makes an image from pixels in memory (e.g. a GIMP drawable), compositing
 * alpha onto white like hippo_image_load(): round (a * c / 255 + 255 - a).
 * Grey is copied to R, G and B. The pixels are copied.
 *
 * Returns: (transfer full): a new image, or %NULL with
 *   %HIPPO_ERROR_INVALID_ARGUMENT (bad size, channel count or @rowstride
 *   below @width * @n_channels) or %HIPPO_ERROR_LIMIT (more than
 *   %HIPPO_IMAGE_MAX_PIXELS_DEFAULT pixels, or out of memory).
 */
HippoImage *hippo_image_new_from_data (const guint8 *pixels, int width,
                                       int height, gsize rowstride,
                                       int n_channels, GError **error);

/**
 * hippo_image_free:
 * @image: (nullable): an image. %NULL is a no-op.
 */
void hippo_image_free (HippoImage *image);

/**
 * hippo_image_get_width:
 * @image: an image.
 *
 * Returns: the width in pixels.
 */
int hippo_image_get_width (const HippoImage *image);

/**
 * hippo_image_get_height:
 * @image: an image.
 *
 * Returns: the height in pixels.
 */
int hippo_image_get_height (const HippoImage *image);

/**
 * hippo_image_get_pixels:
 * @image: an image.
 *
 * Returns: the RGB pixels, 3 * width bytes a row, owned by the image.
 */
const guint8 *hippo_image_get_pixels (const HippoImage *image);

/**
 * hippo_image_to_input:
 * @image: an image.
 * @width: the model's input width.
 * @height: the model's input height.
 * @dst: (out caller-allocates): @height * @width * 3 floats, NHWC.
 *
 * The preprocessing of the nsfwjs models: the whole image bilinear-resized
 * to @width x @height with aligned corners (source = dest * (in - 1) /
 * (out - 1); an output size of 1 takes the first row or column), no crop,
 * RGB values divided by 255. The result equals, bit for bit, nsfwjs's
 * tf.image.resizeBilinear (x / 255, size, true) on the tfjs CPU backend
 * (4.22.0), including the same-size case where nsfwjs skips the resize.
 */
void hippo_image_to_input (const HippoImage *image, int width, int height,
                           float *dst);

/**
 * hippo_image_load_input:
 * @model: the model whose input to make.
 * @path: an image file.
 * @dst: (out caller-allocates): the model's input size in floats.
 * @error: return location for a #GError, or %NULL.
 *
 * hippo_image_load() with reduced-scale decoding allowed down to 3 times the
 * model's input size, then hippo_image_to_input().
 *
 * Returns: %TRUE on success, %FALSE with @error as hippo_image_load().
 */
gboolean hippo_image_load_input (const HippoModel *model, const char *path,
                                 float *dst, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HippoImage, hippo_image_free)

G_END_DECLS

#endif /* HIPPOTAG_IMAGE_H */
