/* Fuzz target: the image loading path (gdk-pixbuf fed in chunks, the
 * truncation tracker, the pixel limit from the header, reduced JPEG
 * decoding, EXIF orientation, alpha onto white) and the preprocessing.
 *
 * Input: the bytes of one image file. It is loaded at full size and, when
 * the input is a JPEG, a second time with reduced decoding allowed; each
 * image is then turned into model input of two sizes. The input bytes also
 * go through hippo_image_new_from_data() as raw pixels. */
#include "fuzz.h"

#include <math.h>
#include <string.h>

#include "hippotag/hippotag.h"

/* Limit of this harness: 4 megapixels (16 MB of RGBA in the decoder) keeps
 * each input fast; the library's default limit is tested elsewhere. */
#define FUZZ_MAX_PIXELS (G_GUINT64_CONSTANT (4) << 20)

static void
check_image (HippoImage *image)
{
  int w = hippo_image_get_width (image);
  int h = hippo_image_get_height (image);
  const guint8 *pixels = hippo_image_get_pixels (image);
  static const int sizes[][2] = { { 1, 1 }, { 7, 5 }, { 32, 24 } };
  guint sum = 0;

  if (w < 1 || h < 1 || (guint64) w * h > FUZZ_MAX_PIXELS || pixels == NULL)
    fuzz_fail ("a loaded image of %d x %d pixels", w, h);
  /* Every pixel is readable (AddressSanitizer checks the bounds). */
  for (gsize i = 0; i < (gsize) w * h * 3; i++)
    sum += pixels[i];
  (void) sum;
  for (gsize k = 0; k < G_N_ELEMENTS (sizes); k++)
    {
      int iw = sizes[k][0], ih = sizes[k][1];
      gsize n = (gsize) iw * (gsize) ih * 3;
      g_autofree float *dst = g_new (float, n);

      hippo_image_to_input (image, iw, ih, dst);
      for (gsize i = 0; i < n; i++)
        if (!(dst[i] >= 0.0f && dst[i] <= 1.0f))
          fuzz_fail ("input value %g outside [0, 1] at %" G_GSIZE_FORMAT
                     " for %dx%d",
                     dst[i], i, iw, ih);
    }
}

static void
load (const char *path, const HippoImageParams *params)
{
  g_autoptr (GError) error = NULL;
  HippoImage *image = hippo_image_load (path, params, &error);

  if (image == NULL)
    {
      if (error == NULL || error->domain != HIPPO_ERROR
          || (error->code != HIPPO_ERROR_IMAGE
              && error->code != HIPPO_ERROR_LIMIT
              && error->code != HIPPO_ERROR_IO))
        fuzz_fail ("hippo_image_load failed without a documented error: %s",
                   error ? error->message : "(none)");
      fuzz_note ("refused: %s", error->message);
      return;
    }
  fuzz_note ("loaded: %d x %d", hippo_image_get_width (image),
             hippo_image_get_height (image));
  check_image (image);
  hippo_image_free (image);
}

/* The first four bytes choose width, height, channels and row padding; the
 * rest are the pixels. */
static void
from_data (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  HippoImage *image;
  int w, h, ch;
  gsize stride, need;

  if (size < 4)
    return;
  w = data[0] % 64 + 1;
  h = data[1] % 64 + 1;
  ch = data[2] % 4 + 1;
  stride = (gsize) w * ch + data[3] % 8;
  need = stride * (h - 1) + (gsize) w * ch;
  if (size - 4 < need)
    return;
  image = hippo_image_new_from_data (data + 4, w, h, stride, ch, &error);
  if (image == NULL)
    fuzz_fail ("hippo_image_new_from_data refused valid data: %s",
               error->message);
  check_image (image);
  hippo_image_free (image);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *dir = fuzz_tmpdir_new ();
  g_autofree char *path = fuzz_write_file (dir, "image", data, size);
  HippoImageParams params;

  hippo_image_params_default (&params);
  params.max_pixels = FUZZ_MAX_PIXELS;
  load (path, &params);
  if (size >= 2 && data[0] == 0xff && data[1] == 0xd8)
    {
      params.min_width = 3;
      params.min_height = 2;
      load (path, &params);
    }
  fuzz_tmpdir_remove (dir);
  from_data (data, size);
  return 0;
}
