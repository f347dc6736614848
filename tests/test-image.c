/* Tests of image decoding (core/image/image.c) and model-input preprocessing
 * (core/image/preprocess.c).
 *
 * Test images are made here with gdk-pixbuf's savers or written byte by byte
 * (PNG chunks, GIF, EXIF APP1), in a temporary folder; three small fixtures
 * made with ImageMagick are in tests/data (CMYK JPEG, progressive JPEG,
 * interlaced PNG).
 */
#include <hippotag/hippotag.h>

#include <errno.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>

static char *tmpdir;

/* ---- helpers ----------------------------------------------------------------
 */

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static char *
write_tmp (const char *name, const void *data, gsize len)
{
  char *path = tmp_path (name);
  GError *error = NULL;

  /* no fsync: hundreds of files are written */
  g_file_set_contents_full (path, data, (gssize) len, G_FILE_SET_CONTENTS_NONE,
                            0644, &error);
  g_assert_no_error (error);
  return path;
}

static char *
data_path (const char *name)
{
  const char *srcdir = g_getenv ("HIPPOTAG_SRCDIR");

  if (srcdir != NULL)
    return g_build_filename (srcdir, "tests", "data", name, NULL);
  return g_test_build_filename (G_TEST_DIST, "data", name, NULL);
}

static guint32
xorshift (guint32 *x)
{
  *x ^= *x << 13;
  *x ^= *x >> 17;
  *x ^= *x << 5;
  return *x;
}

static GdkPixbuf *
noise_pixbuf (int w, int h, gboolean alpha, guint32 seed)
{
  GdkPixbuf *p = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, w, h);
  int n = alpha ? 4 : 3, x, y;

  for (y = 0; y < h; y++)
    {
      guint8 *row
        = gdk_pixbuf_get_pixels (p) + y * gdk_pixbuf_get_rowstride (p);
      for (x = 0; x < w * n; x++)
        row[x] = xorshift (&seed) & 255;
    }
  return p;
}

static char *
save_pixbuf (GdkPixbuf *p, const char *type, const char *name)
{
  char *path = tmp_path (name);
  GError *error = NULL;

  if (strcmp (type, "jpeg") == 0)
    gdk_pixbuf_save (p, path, type, &error, "quality", "95", NULL);
  else
    gdk_pixbuf_save (p, path, type, &error, NULL);
  g_assert_no_error (error);
  return path;
}

static HippoImage *
load_ok (const char *path, const HippoImageParams *params)
{
  GError *error = NULL;
  HippoImage *image = hippo_image_load (path, params, &error);

  g_assert_no_error (error);
  g_assert_nonnull (image);
  return image;
}

static void
load_fails (const char *path, int code)
{
  GError *error = NULL;
  HippoImage *image = hippo_image_load (path, NULL, &error);

  g_assert_null (image);
  g_assert_error (error, HIPPO_ERROR, code);
  g_test_message ("%s", error->message);
  g_error_free (error);
}

static const guint8 *
pixel (const HippoImage *image, int x, int y)
{
  return hippo_image_get_pixels (image)
         + ((gsize) y * hippo_image_get_width (image) + x) * 3;
}

static void
assert_rgb_near (const guint8 *p, int r, int g, int b, int tol)
{
  if (ABS (p[0] - r) > tol || ABS (p[1] - g) > tol || ABS (p[2] - b) > tol)
    g_error ("pixel (%d, %d, %d), expected (%d, %d, %d) +- %d", p[0], p[1],
             p[2], r, g, b, tol);
}

/* CRC-32 of PNG chunks (ISO 3309, as in the PNG spec's sample code). */
static guint32
crc32_update (guint32 crc, const guint8 *p, gsize n)
{
  gsize i;
  int k;

  crc = ~crc;
  for (i = 0; i < n; i++)
    {
      crc ^= p[i];
      for (k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
  return ~crc;
}

static void
be32 (GByteArray *a, guint32 v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };
  g_byte_array_append (a, b, 4);
}

static void
png_chunk (GByteArray *a, const char *type, const guint8 *data, guint32 len)
{
  guint32 crc;

  be32 (a, len);
  g_byte_array_append (a, (const guint8 *) type, 4);
  if (len > 0)
    g_byte_array_append (a, data, len);
  crc = crc32_update (0, (const guint8 *) type, 4);
  crc = crc32_update (crc, data, len);
  be32 (a, crc);
}

/* A PNG from raw scanlines (each with its filter byte), compressed with
 * stored deflate blocks; @raw may be NULL for a header-only file. */
static GByteArray *
png_build (guint32 w, guint32 h, int depth, int color_type, const guint8 *raw,
           gsize raw_len)
{
  static const guint8 sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  GByteArray *a = g_byte_array_new ();
  guint8 ihdr[13];

  g_byte_array_append (a, sig, 8);
  ihdr[0] = w >> 24, ihdr[1] = w >> 16, ihdr[2] = w >> 8, ihdr[3] = w;
  ihdr[4] = h >> 24, ihdr[5] = h >> 16, ihdr[6] = h >> 8, ihdr[7] = h;
  ihdr[8] = depth, ihdr[9] = color_type, ihdr[10] = ihdr[11] = ihdr[12] = 0;
  png_chunk (a, "IHDR", ihdr, 13);
  if (raw != NULL)
    {
      GByteArray *z = g_byte_array_new ();
      guint32 s1 = 1, s2 = 0;
      guint8 hdr[2] = { 0x78, 0x01 };
      gsize i;

      g_assert_cmpuint (raw_len, <=, 65535);
      g_byte_array_append (z, hdr, 2);
      {
        guint8 blk[5] = { 1, raw_len & 255, raw_len >> 8, ~raw_len & 255,
                          (~raw_len >> 8) & 255 };
        g_byte_array_append (z, blk, 5);
      }
      g_byte_array_append (z, raw, raw_len);
      for (i = 0; i < raw_len; i++)
        {
          s1 = (s1 + raw[i]) % 65521;
          s2 = (s2 + s1) % 65521;
        }
      be32 (z, (s2 << 16) | s1);
      png_chunk (a, "IDAT", z->data, z->len);
      g_byte_array_unref (z);
    }
  png_chunk (a, "IEND", NULL, 0);
  return a;
}

static char *
png_write (const char *name, guint32 w, guint32 h, int depth, int color_type,
           const guint8 *raw, gsize raw_len)
{
  GByteArray *a = png_build (w, h, depth, color_type, raw, raw_len);
  char *path = write_tmp (name, a->data, a->len);

  g_byte_array_unref (a);
  return path;
}

static guint8 *
read_all (const char *path, gsize *len)
{
  char *data;
  GError *error = NULL;

  g_file_get_contents (path, &data, len, &error);
  g_assert_no_error (error);
  return (guint8 *) data;
}

static guint64
fnv1a (const float *v, gsize n)
{
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325);
  const guint8 *p = (const guint8 *) v;
  gsize i;

  /* bytes of the float32 values, little-endian as tfjs wrote them */
  for (i = 0; i < n; i++)
    {
      guint32 u;
      int k;
      memcpy (&u, p + 4 * i, 4);
      for (k = 0; k < 4; k++)
        {
          h ^= (u >> (8 * k)) & 255;
          h *= G_GUINT64_CONSTANT (0x100000001b3);
        }
    }
  return h;
}

/* ---- preprocessing ----------------------------------------------------------
 */

/* Hand-computed: a 2x2 image to 3x3 with aligned corners keeps the corners
 * and puts midpoints in between (TensorFlow's own test case, here on R). */
static void
test_resize_2x2_to_3x3 (void)
{
  const guint8 px[12] = { 0, 10, 255, 60, 20, 255, 120, 30, 255, 180, 40, 255 };
  const double want_r[9] = { 0, 30, 60, 60, 90, 120, 120, 150, 180 };
  const double want_g[9] = { 10, 15, 20, 20, 25, 30, 30, 35, 40 };
  g_autoptr (HippoImage) image = NULL;
  float out[27];
  int i;

  image = hippo_image_new_from_data (px, 2, 2, 6, 3, NULL);
  g_assert_nonnull (image);
  hippo_image_to_input (image, 3, 3, out);
  for (i = 0; i < 9; i++)
    {
      g_assert_cmpfloat_with_epsilon (out[3 * i], want_r[i] / 255.0, 1e-6);
      g_assert_cmpfloat_with_epsilon (out[3 * i + 1], want_g[i] / 255.0, 1e-6);
      g_assert_cmpfloat (out[3 * i + 2], ==, 1.0f);
    }
}

/* 1 x N and N x 1, and output size 1 (tfjs takes the top-left sample then,
 * not the centre). */
static void
test_resize_lines (void)
{
  const guint8 row[12] = { 0, 0, 0, 30, 0, 0, 60, 0, 0, 255, 0, 0 };
  g_autoptr (HippoImage) wide
    = hippo_image_new_from_data (row, 4, 1, 12, 3, NULL);
  g_autoptr (HippoImage) tall
    = hippo_image_new_from_data (row, 1, 4, 3, 3, NULL);
  float out[7 * 3 * 3], one[3];
  int x, y;

  /* 4x1 -> 7x3: x positions 0, .5, 1, 1.5, 2, 2.5, 3; rows all equal */
  {
    const double want[7] = { 0, 15, 30, 45, 60, 157.5, 255 };
    hippo_image_to_input (wide, 7, 3, out);
    for (y = 0; y < 3; y++)
      for (x = 0; x < 7; x++)
        g_assert_cmpfloat_with_epsilon (out[(y * 7 + x) * 3], want[x] / 255.0,
                                        1e-6);
  }
  /* 1x4 -> 1x3: y positions 0, 1.5, 3 */
  hippo_image_to_input (tall, 1, 3, out);
  g_assert_cmpfloat_with_epsilon (out[0], 0.0, 1e-7);
  g_assert_cmpfloat_with_epsilon (out[3], 45 / 255.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (out[6], 1.0, 1e-7);

  hippo_image_to_input (wide, 1, 1, one);
  g_assert_cmpfloat (one[0], ==, 0.0f);
}

/* Upscale 2x1 -> 5x1 and downscale 5x1 -> 3x1 by hand. */
static void
test_resize_up_down (void)
{
  const guint8 two[6] = { 0, 0, 0, 200, 100, 40 };
  const guint8 five[15] = { 10, 0, 0, 20, 0, 0, 40, 0, 0, 80, 0, 0, 160, 0, 0 };
  g_autoptr (HippoImage) a = hippo_image_new_from_data (two, 2, 1, 6, 3, NULL);
  g_autoptr (HippoImage) b
    = hippo_image_new_from_data (five, 5, 1, 15, 3, NULL);
  float out[15];
  int i;

  hippo_image_to_input (a, 5, 1, out);
  for (i = 0; i < 5; i++)
    {
      g_assert_cmpfloat_with_epsilon (out[3 * i], 50.0 * i / 255.0, 1e-6);
      g_assert_cmpfloat_with_epsilon (out[3 * i + 1], 25.0 * i / 255.0, 1e-6);
      g_assert_cmpfloat_with_epsilon (out[3 * i + 2], 10.0 * i / 255.0, 1e-6);
    }
  /* 5 -> 3: x = 0, 2, 4 exactly */
  hippo_image_to_input (b, 3, 1, out);
  g_assert_cmpfloat_with_epsilon (out[0], 10 / 255.0, 1e-7);
  g_assert_cmpfloat_with_epsilon (out[3], 40 / 255.0, 1e-7);
  g_assert_cmpfloat_with_epsilon (out[6], 160 / 255.0, 1e-7);
}

/* Same size: exactly float32 (v / 255), as nsfwjs (which skips the resize). */
static void
test_resize_identity (void)
{
  guint8 px[16 * 16 * 3];
  float out[16 * 16 * 3];
  g_autoptr (HippoImage) image = NULL;
  guint32 seed = 99;
  gsize i;

  for (i = 0; i < sizeof px; i++)
    px[i] = xorshift (&seed) & 255;
  image = hippo_image_new_from_data (px, 16, 16, 48, 3, NULL);
  hippo_image_to_input (image, 16, 16, out);
  for (i = 0; i < sizeof px; i++)
    g_assert_cmpfloat (out[i], ==, (float) (px[i] / 255.0));
}

/* Reference outputs of tfjs-backend-cpu 4.22.0: tf.div (tf.cast (img,
 * 'float32'), 255) then tf.image.resizeBilinear (x, [oh, ow], true), on
 * xorshift32 pixels (seed as given, samples x & 255).  Small cases list every
 * float32 bit pattern; all give the FNV-1a 64 hash of the output bytes.  The
 * match must be exact. */
typedef struct
{
  int iw, ih, ow, oh;
  guint32 seed;
  guint64 fnv;
  guint n;
  const guint32 *bits;
} ResizeVector;

static const ResizeVector resize_vectors[] = {
#include "test-image-vectors.inc"
};

static void
test_resize_tfjs (void)
{
  gsize k;

  for (k = 0; k < G_N_ELEMENTS (resize_vectors); k++)
    {
      const ResizeVector *v = &resize_vectors[k];
      gsize n_in = (gsize) v->iw * v->ih * 3, n_out = (gsize) v->ow * v->oh * 3;
      guint8 *px = g_malloc (n_in);
      float *out = g_malloc (n_out * sizeof (float));
      guint32 x = v->seed;
      HippoImage *image;
      gsize i;

      for (i = 0; i < n_in; i++)
        px[i] = xorshift (&x) & 255;
      image = hippo_image_new_from_data (px, v->iw, v->ih, (gsize) v->iw * 3, 3,
                                         NULL);
      g_assert_nonnull (image);
      hippo_image_to_input (image, v->ow, v->oh, out);
      if (v->bits != NULL)
        {
          g_assert_cmpuint (v->n, ==, n_out);
          for (i = 0; i < n_out; i++)
            {
              guint32 u;
              memcpy (&u, &out[i], 4);
              if (u != v->bits[i])
                g_error ("%dx%d -> %dx%d: value %" G_GSIZE_FORMAT
                         " is %.9g (0x%08x), tfjs 0x%08x",
                         v->iw, v->ih, v->ow, v->oh, i, out[i], u, v->bits[i]);
            }
        }
      if (fnv1a (out, n_out) != v->fnv)
        g_error ("%dx%d -> %dx%d: output differs from tfjs (hash)", v->iw,
                 v->ih, v->ow, v->oh);
      hippo_image_free (image);
      g_free (px);
      g_free (out);
    }
}

/* ---- images from memory -----------------------------------------------------
 */

static void
test_alpha_composite (void)
{
  /* RGBA: opaque, transparent, half (a = 128), a = 1, a = 254 */
  const guint8 rgba[20] = { 10,  20,  30, 255, 10, 20, 30,  0, 0,   100,
                            200, 128, 0,  0,   0,  1,  200, 0, 100, 254 };
  g_autoptr (HippoImage) image
    = hippo_image_new_from_data (rgba, 5, 1, 20, 4, NULL);
  const guint8 *p = hippo_image_get_pixels (image);
  int i, c;

  /* round (a * c / 255 + (255 - a)) */
  for (i = 0; i < 5; i++)
    for (c = 0; c < 3; c++)
      {
        double a = rgba[4 * i + 3], v = rgba[4 * i + c];
        int want = (int) floor (a * v / 255.0 + (255.0 - a) + 0.5);
        g_assert_cmpint (p[3 * i + c], ==, want);
      }
  /* spot values by hand */
  g_assert_cmpint (p[0], ==, 10);
  g_assert_cmpint (p[3], ==, 255);
  g_assert_cmpint (p[6], ==, 127);  /* 127 exactly */
  g_assert_cmpint (p[7], ==, 177);  /* 177.196 */
  g_assert_cmpint (p[8], ==, 227);  /* 227.392 */
  g_assert_cmpint (p[9], ==, 254);  /* 254 */
  g_assert_cmpint (p[12], ==, 200); /* 199.78 + 1 */
  g_assert_cmpint (p[13], ==, 1);   /* 1 */
  g_assert_cmpint (p[14], ==, 101); /* 99.61 + 1 */
}

static void
test_grey (void)
{
  /* rows padded to a stride of 8 */
  const guint8 grey[16]
    = { 0, 128, 255, 9, 9, 9, 9, 9, 7, 8, 9, 9, 9, 9, 9, 9 };
  const guint8 ga[12] = { 100, 128, 0, 0, 50, 255, 7, 7, 7, 7, 7, 7 };
  g_autoptr (HippoImage) g1
    = hippo_image_new_from_data (grey, 3, 2, 8, 1, NULL);
  g_autoptr (HippoImage) g2 = hippo_image_new_from_data (ga, 3, 1, 12, 2, NULL);

  assert_rgb_near (pixel (g1, 0, 0), 0, 0, 0, 0);
  assert_rgb_near (pixel (g1, 1, 0), 128, 128, 128, 0);
  assert_rgb_near (pixel (g1, 2, 0), 255, 255, 255, 0);
  assert_rgb_near (pixel (g1, 0, 1), 7, 7, 7, 0);
  assert_rgb_near (pixel (g1, 2, 1), 9, 9, 9, 0);
  assert_rgb_near (pixel (g2, 0, 0), 177, 177, 177, 0); /* 177.196 */
  assert_rgb_near (pixel (g2, 1, 0), 255, 255, 255, 0);
  assert_rgb_near (pixel (g2, 2, 0), 50, 50, 50, 0);
}

static void
test_new_from_data_errors (void)
{
  const guint8 px[12] = { 0 };
  GError *error = NULL;

  g_assert_null (hippo_image_new_from_data (px, 0, 1, 3, 3, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (hippo_image_new_from_data (px, 1, 1, 5, 5, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (hippo_image_new_from_data (px, 4, 1, 11, 3, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (hippo_image_new_from_data (NULL, 1, 1, 3, 3, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* never read: the size is refused first */
  g_assert_null (
    hippo_image_new_from_data (px, 100000, 100000, 300000, 3, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT);
  g_clear_error (&error);
  hippo_image_free (NULL);
}

/* ---- decoding files ---------------------------------------------------------
 */

static void
test_png_alpha_and_names (void)
{
  g_autoptr (GdkPixbuf) p = gdk_pixbuf_new (GDK_COLORSPACE_RGB, TRUE, 8, 2, 1);
  guint8 *d = gdk_pixbuf_get_pixels (p);
  g_autofree char *path = NULL, *wrong = NULL;
  g_autoptr (HippoImage) a = NULL;
  g_autoptr (HippoImage) b = NULL;

  d[0] = 0, d[1] = 100, d[2] = 200, d[3] = 128;
  d[4] = 1, d[5] = 2, d[6] = 3, d[7] = 0;
  path = save_pixbuf (p, "png", "alpha.png");
  a = load_ok (path, NULL);
  g_assert_cmpint (hippo_image_get_width (a), ==, 2);
  assert_rgb_near (pixel (a, 0, 0), 127, 177, 227, 0);
  assert_rgb_near (pixel (a, 1, 0), 255, 255, 255, 0);

  /* a PNG named .jpg: the content decides */
  wrong = save_pixbuf (p, "png", "really-a-png.jpg");
  b = load_ok (wrong, NULL);
  assert_rgb_near (pixel (b, 0, 0), 127, 177, 227, 0);
}

static void
test_png_kinds (void)
{
  /* 16-bit RGB 2x1: high bytes 0xab 0x12 0x00 / 0xff 0x80 0x01 */
  const guint8 rgb16[13] = { 0,    0xab, 0x40, 0x12, 0x20, 0x00, 0x10,
                             0xff, 0x00, 0x80, 0x10, 0x01, 0x00 };
  /* 8-bit grey + alpha 2x1: (100, 128), (30, 0) */
  const guint8 ga8[5] = { 0, 100, 128, 30, 0 };
  /* 8-bit grey 1x1 */
  const guint8 g8[2] = { 0, 77 };
  /* 16-bit grey + alpha 1x1: grey 0x6410, alpha 0x8000 */
  const guint8 ga16[5] = { 0, 0x64, 0x10, 0x80, 0x00 };
  g_autofree char *p1 = png_write ("rgb16.png", 2, 1, 16, 2, rgb16, 13);
  g_autofree char *p2 = png_write ("ga8.png", 2, 1, 8, 4, ga8, 5);
  g_autofree char *p3 = png_write ("g8-1x1.png", 1, 1, 8, 0, g8, 2);
  g_autofree char *p4 = png_write ("ga16.png", 1, 1, 16, 4, ga16, 5);
  g_autoptr (HippoImage) i1 = load_ok (p1, NULL);
  g_autoptr (HippoImage) i2 = load_ok (p2, NULL);
  g_autoptr (HippoImage) i3 = load_ok (p3, NULL);
  g_autoptr (HippoImage) i4 = load_ok (p4, NULL);
  float in[224 * 224 * 3];
  int i;

  /* 16 -> 8 bits: the high byte (or rounding, which agrees for these) */
  assert_rgb_near (pixel (i1, 0, 0), 0xab, 0x12, 0x00, 0);
  assert_rgb_near (pixel (i1, 1, 0), 0xff, 0x80, 0x01, 0);
  assert_rgb_near (pixel (i2, 0, 0), 177, 177, 177, 0);
  assert_rgb_near (pixel (i2, 1, 0), 255, 255, 255, 0);
  g_assert_cmpint (hippo_image_get_width (i3), ==, 1);
  g_assert_cmpint (hippo_image_get_height (i3), ==, 1);
  assert_rgb_near (pixel (i3, 0, 0), 77, 77, 77, 0);
  /* grey 100, alpha 128 -> 177 (+-1 for 16-bit reduction) */
  assert_rgb_near (pixel (i4, 0, 0), 177, 177, 177, 1);

  /* a 1x1 image fills the whole input with its value */
  hippo_image_to_input (i3, 224, 224, in);
  for (i = 0; i < 224 * 224 * 3; i++)
    g_assert_cmpfloat (in[i], ==, (float) (77 / 255.0));
}

/* Inserts an EXIF APP1 segment with only an Orientation tag after SOI. */
static char *
jpeg_with_orientation (const char *src, const char *name, int orientation)
{
  const guint8 app1[36] = {
    0xff,        0xe1, 0x00, 0x22, 'E',  'x',  'i',  'f',  0, 0,
    'I',         'I',  0x2a, 0x00, 0x08, 0x00, 0x00, 0x00, /* TIFF header, IFD
                                                              at 8 */
    0x01,        0x00,                                     /* 1 entry */
    0x12,        0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, /* 0x0112 SHORT x1 */
    orientation, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* value, next */
  };
  gsize len;
  guint8 *data = read_all (src, &len);
  GByteArray *a = g_byte_array_new ();
  char *path;

  g_assert_cmpuint (len, >, 2);
  g_assert_cmpint (data[0], ==, 0xff);
  g_assert_cmpint (data[1], ==, 0xd8);
  g_byte_array_append (a, data, 2);
  g_byte_array_append (a, app1, sizeof app1);
  g_byte_array_append (a, data + 2, len - 2);
  path = write_tmp (name, a->data, a->len);
  g_byte_array_unref (a);
  g_free (data);
  return path;
}

static void
test_exif_orientation (void)
{
  /* 32x16: left half red, right half blue */
  g_autoptr (GdkPixbuf) p
    = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 32, 16);
  g_autofree char *plain = NULL;
  int x, y;

  for (y = 0; y < 16; y++)
    for (x = 0; x < 32; x++)
      {
        guint8 *d = gdk_pixbuf_get_pixels (p) + y * gdk_pixbuf_get_rowstride (p)
                    + x * 3;
        d[0] = x < 16 ? 255 : 0, d[1] = 0, d[2] = x < 16 ? 0 : 255;
      }
  plain = save_pixbuf (p, "jpeg", "plain.jpg");

  {
    g_autoptr (HippoImage) i1 = load_ok (plain, NULL);
    g_autofree char *o1 = jpeg_with_orientation (plain, "o1.jpg", 1);
    g_autoptr (HippoImage) j1 = load_ok (o1, NULL);
    g_assert_cmpint (hippo_image_get_width (i1), ==, 32);
    assert_rgb_near (pixel (i1, 2, 8), 255, 0, 0, 24);
    g_assert_cmpint (hippo_image_get_width (j1), ==, 32);
    assert_rgb_near (pixel (j1, 29, 8), 0, 0, 255, 24);
  }
  {
    /* 3: rotate 180 -> red on the right */
    g_autofree char *o = jpeg_with_orientation (plain, "o3.jpg", 3);
    g_autoptr (HippoImage) i = load_ok (o, NULL);
    g_assert_cmpint (hippo_image_get_width (i), ==, 32);
    assert_rgb_near (pixel (i, 29, 8), 255, 0, 0, 24);
    assert_rgb_near (pixel (i, 2, 8), 0, 0, 255, 24);
  }
  {
    /* 6: row 0 is the right side, column 0 the top -> red on top */
    g_autofree char *o = jpeg_with_orientation (plain, "o6.jpg", 6);
    g_autoptr (HippoImage) i = load_ok (o, NULL);
    g_assert_cmpint (hippo_image_get_width (i), ==, 16);
    g_assert_cmpint (hippo_image_get_height (i), ==, 32);
    assert_rgb_near (pixel (i, 8, 2), 255, 0, 0, 24);
    assert_rgb_near (pixel (i, 8, 29), 0, 0, 255, 24);
  }
  {
    /* 8: row 0 is the left side, column 0 the bottom -> red at the bottom */
    g_autofree char *o = jpeg_with_orientation (plain, "o8.jpg", 8);
    g_autoptr (HippoImage) i = load_ok (o, NULL);
    g_assert_cmpint (hippo_image_get_width (i), ==, 16);
    g_assert_cmpint (hippo_image_get_height (i), ==, 32);
    assert_rgb_near (pixel (i, 8, 29), 255, 0, 0, 24);
    assert_rgb_near (pixel (i, 8, 2), 0, 0, 255, 24);
  }
}

static glong
max_rss_kb (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* Headers claiming huge sizes must fail fast, before pixel memory. */
static void
test_decompression_bomb (void)
{
  /* libpng announces the size at the first IDAT: give it one */
  static const guint8 zeros[1000] = { 0 };
  GByteArray *a = png_build (100000, 100000, 8, 2, zeros, sizeof zeros);
  g_autofree char *png = write_tmp ("bomb.png", a->data, a->len);
  g_autofree char *jpg = NULL, *small = NULL;
  g_autoptr (GdkPixbuf) p = noise_pixbuf (64, 64, FALSE, 5);
  HippoImageParams params;
  GError *error = NULL;
  glong rss0 = max_rss_kb ();
  gsize len, i;
  guint8 *data;
  double t;

  g_test_message ("bomb PNG: %u bytes", a->len);
  g_byte_array_unref (a);
  g_test_timer_start ();
  load_fails (png, HIPPO_ERROR_LIMIT);

  /* a real JPEG with its SOF patched to 60000 x 60000 */
  small = save_pixbuf (p, "jpeg", "small.jpg");
  data = read_all (small, &len);
  for (i = 2; i + 8 < len; i++)
    if (data[i] == 0xff && data[i + 1] == 0xc0)
      break;
  g_assert_cmpuint (i + 8, <, len);
  data[i + 5] = 60000 >> 8, data[i + 6] = 60000 & 255;
  data[i + 7] = 60000 >> 8, data[i + 8] = 60000 & 255;
  jpg = write_tmp ("bomb.jpg", data, len);
  g_free (data);
  load_fails (jpg, HIPPO_ERROR_LIMIT);

  /* WebP headers (VP8X canvas, VP8L, VP8) of 60000 x 60000 and
   * 16383 x 16383: refused from the header, whether a loader exists or not
   * (webp-pixbuf-loader allocates the canvas even when told to stop) */
  {
    static const guint8 webp[][34] = {
      { 'R',  'I', 'F', 'F', 26,   0,    0,  0,    'W',  'E',
        'B',  'P', 'V', 'P', '8',  'X',  10, 0,    0,    0,
        0x10, 0,   0,   0,   0x5f, 0xea, 0,  0x5f, 0xea, 0 },
      { 'R', 'I', 'F', 'F', 26, 0, 0, 0,    'W',  'E',  'B',  'P', 'V',
        'P', '8', 'L', 10,  0,  0, 0, 0x2f, 0xfe, 0xff, 0xff, 0x0f },
      { 'R',  'I',  'F', 'F',  26,   0,    0,    0,    'W',  'E',
        'B',  'P',  'V', 'P',  '8',  ' ',  10,   0,    0,    0,
        0x50, 0x02, 0,   0x9d, 0x01, 0x2a, 0xff, 0x3f, 0xff, 0x3f },
    };

    for (i = 0; i < G_N_ELEMENTS (webp); i++)
      {
        g_autofree char *name
          = g_strdup_printf ("bomb-%" G_GSIZE_FORMAT ".webp", i);
        g_autofree char *path = write_tmp (name, webp[i], sizeof webp[i]);

        load_fails (path, HIPPO_ERROR_LIMIT);
      }
  }

  /* the limit is the caller's */
  hippo_image_params_default (&params);
  params.max_pixels = 64 * 64 - 1;
  g_assert_null (hippo_image_load (small, &params, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT);
  g_clear_error (&error);
  params.max_pixels = 64 * 64;
  hippo_image_free (load_ok (small, &params));

  t = g_test_timer_elapsed ();
  g_test_message ("bombs refused in %.3f s, peak RSS %ld -> %ld KiB", t, rss0,
                  max_rss_kb ());
  g_assert_cmpfloat (t, <, 2.0);
  g_assert_cmpint (max_rss_kb () - rss0, <, 64 * 1024);
}

static void
test_bad_files (void)
{
  g_autofree char *empty = write_tmp ("empty.jpg", "", 0);
  g_autofree char *text = write_tmp ("text.png", "hello, world\n", 13);
  g_autofree char *missing = tmp_path ("does-not-exist.png");
  g_autofree char *noise = NULL;
  guint8 junk[5000];
  guint32 seed = 3;
  gsize i;

  load_fails (empty, HIPPO_ERROR_IMAGE);
  load_fails (text, HIPPO_ERROR_IMAGE);
  load_fails (missing, HIPPO_ERROR_IO);
  load_fails (tmpdir, HIPPO_ERROR_IO);
  for (i = 0; i < sizeof junk; i++)
    junk[i] = xorshift (&seed) & 255;
  noise = write_tmp ("noise.bin", junk, sizeof junk);
  load_fails (noise, HIPPO_ERROR_IMAGE);

  {
    GError *error = NULL;
    g_assert_null (hippo_image_load (missing, NULL, &error));
    g_assert_nonnull (strstr (error->message, "does-not-exist.png"));
    g_assert_nonnull (strstr (error->message, g_strerror (ENOENT)));
    g_error_free (error);
  }
}

/* A BMP of 2x2 pixels: 24-bit, or 8-bit with a 2-colour palette. */
static GByteArray *
make_bmp (int bpp, guint32 info_size, guint32 data_offset, guint32 n_colours)
{
  GByteArray *a = g_byte_array_new ();
  guint8 h[54] = { 'B', 'M' };
  gsize row = bpp == 24 ? 8 : 4, palette = bpp == 8 ? 8 : 0;
  guint32 offset = data_offset ? data_offset : 54 + palette;
  guint32 size = 54 + palette + 2 * row;
  guint8 body[24] = { 0 };

  memcpy (h + 2, &size, 4);
  memcpy (h + 10, &offset, 4);
  memcpy (h + 14, &info_size, 4);
  h[18] = 2; /* width */
  h[22] = 2; /* height */
  h[26] = 1; /* planes */
  h[28] = bpp;
  memcpy (h + 46, &n_colours, 4);
  g_byte_array_append (a, h, sizeof h);
  body[0] = 0xff; /* colour 0: blue (BGRA); the pixels are 0 */
  g_byte_array_append (a, body, palette + 2 * row);
  return a;
}

/* Header fields gdk-pixbuf's BMP loader sizes buffers from before checking
 * them (up to 4 GB for a 60-byte file) are refused first. */
static void
test_bmp_headers (void)
{
  static const struct
  {
    int bpp;
    guint32 info_size, offset, n_colours;
    const char *fragment;
  } bad[] = {
    { 24, 0xffffff28, 0, 0, "info header size" },
    { 24, 20, 0, 0, "info header size" },
    { 24, 40, 0xfffffff0, 0, "offset past the end" },
    { 8, 40, 0, 0xe4000000, "palette size" },
  };
  g_autoptr (GByteArray) good = make_bmp (24, 40, 0, 0);
  g_autoptr (GByteArray) good8 = make_bmp (8, 40, 0, 2);
  g_autofree char *path = write_tmp ("good.bmp", good->data, good->len);
  g_autofree char *path8 = write_tmp ("good8.bmp", good8->data, good8->len);
  HippoImage *image;

  image = load_ok (path, NULL);
  g_assert_cmpint (hippo_image_get_width (image), ==, 2);
  hippo_image_free (image);
  image = load_ok (path8, NULL);
  assert_rgb_near (pixel (image, 0, 0), 0, 0, 255, 0);
  hippo_image_free (image);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GByteArray) b = make_bmp (bad[i].bpp, bad[i].info_size,
                                           bad[i].offset, bad[i].n_colours);
      g_autofree char *bpath = write_tmp ("bad.bmp", b->data, b->len);
      GError *error = NULL;

      g_assert_null (hippo_image_load (bpath, NULL, &error));
      g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IMAGE);
      if (strstr (error->message, bad[i].fragment) == NULL)
        g_error ("case %" G_GSIZE_FORMAT ": '%s' lacks '%s'", i, error->message,
                 bad[i].fragment);
      g_error_free (error);
    }
}

static void
check_truncations (const char *path, const char *what)
{
  gsize len, cut;
  guint8 *data = read_all (path, &len);
  g_autofree char *tpath = NULL;

  gboolean shown = FALSE;

  /* every cut must be refused (a full image otherwise) and nothing crash */
  for (cut = 1; cut < len; cut += 1 + cut / 8)
    {
      g_autofree char *name = g_strdup_printf ("cut-%s", what);
      GError *error = NULL;
      HippoImage *image;

      g_free (tpath);
      tpath = write_tmp (name, data, cut);
      image = hippo_image_load (tpath, NULL, &error);
      if (image != NULL)
        g_error ("%s cut to %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                 " bytes was accepted",
                 what, cut, len);
      g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IMAGE);
      if (!shown && cut >= len / 2 && (shown = TRUE))
        g_test_message ("%s cut in half: %s", what, error->message);
      g_error_free (error);
    }
  hippo_image_free (load_ok (path, NULL));
  g_free (data);
}

static void
test_truncated (void)
{
  g_autoptr (GdkPixbuf) p = noise_pixbuf (40, 30, FALSE, 11);
  g_autoptr (GdkPixbuf) pa = noise_pixbuf (40, 30, TRUE, 12);
  g_autofree char *jpg = save_pixbuf (p, "jpeg", "t.jpg");
  g_autofree char *png = save_pixbuf (pa, "png", "t.png");
  g_autofree char *prog = data_path ("progressive.jpg");
  g_autofree char *inter = data_path ("interlaced.png");

  check_truncations (jpg, "baseline.jpg");
  check_truncations (png, "rgba.png");
  check_truncations (prog, "progressive.jpg");
  check_truncations (inter, "interlaced.png");
}

static gboolean
have_writable_format (const char *name)
{
  GSList *formats = gdk_pixbuf_get_formats (), *l;
  gboolean found = FALSE;

  for (l = formats; l != NULL && !found; l = l->next)
    {
      char *n = gdk_pixbuf_format_get_name (l->data);
      found = strcmp (n, name) == 0 && gdk_pixbuf_format_is_writable (l->data);
      g_free (n);
    }
  g_slist_free (formats);
  return found;
}

/* The WebP loader returns a partial image for a cut file; the RIFF size
 * catches it. */
static void
test_truncated_webp (void)
{
  g_autoptr (GdkPixbuf) p = noise_pixbuf (40, 30, FALSE, 13);
  g_autofree char *path = NULL;

  if (!have_writable_format ("webp"))
    {
      g_test_skip ("no gdk-pixbuf WebP loader (Debian: webp-pixbuf-loader)");
      return;
    }
  path = save_pixbuf (p, "webp", "t.webp");
  check_truncations (path, "lossy.webp");
}

/* Writes a 2x2 two-frame GIF: frame 1 red, frame 2 blue. */
static char *
write_gif (void)
{
  static const guint8 head[] = {
    'G',  'I',  'F', '8', '9', 'a', 2,   0,   2,   0,   0x80, 0,   0, /* 2-colour
                                                                         table
                                                                       */
    255,  0,    0,   0,   0,   255, /* red, blue */
    0x21, 0xff, 11,  'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E',  '2', '.', '0',
    3,    1,    0,   0,   0,
  };
  GByteArray *a = g_byte_array_new ();
  char *path;
  int f;

  g_byte_array_append (a, head, sizeof head);
  for (f = 0; f < 2; f++)
    {
      const guint8 gce[8] = { 0x21, 0xf9, 4, 0x04, 10, 0, 0, 0 };
      const guint8 desc[10] = { 0x2c, 0, 0, 0, 0, 2, 0, 2, 0, 0 };
      /* LZW, 3-bit codes: CLEAR (4) before each pixel so the code width
       * never grows, then EOI (5). */
      guint codes[9] = { 4, f, 4, f, 4, f, 4, f, 5 };
      guint8 data[8] = { 0 };
      guint bit = 0, i;

      for (i = 0; i < 9; i++, bit += 3)
        {
          data[bit / 8] |= (guint8) (codes[i] << (bit % 8));
          if (bit % 8 > 5)
            data[bit / 8 + 1] |= (guint8) (codes[i] >> (8 - bit % 8));
        }
      g_byte_array_append (a, gce, 8);
      g_byte_array_append (a, desc, 10);
      {
        guint8 sub[2] = { 2, (bit + 7) / 8 };
        g_byte_array_append (a, sub, 2);
      }
      g_byte_array_append (a, data, (bit + 7) / 8);
      {
        guint8 z = 0;
        g_byte_array_append (a, &z, 1);
      }
    }
  {
    guint8 t = 0x3b;
    g_byte_array_append (a, &t, 1);
  }
  path = write_tmp ("anim.gif", a->data, a->len);
  g_byte_array_unref (a);
  return path;
}

static void
test_animated_gif (void)
{
  g_autofree char *path = write_gif ();
  g_autoptr (GdkPixbufAnimation) anim = NULL;
  g_autoptr (HippoImage) image = NULL;
  GError *error = NULL;

  /* is it really an animation to gdk-pixbuf? */
  anim = gdk_pixbuf_animation_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_false (gdk_pixbuf_animation_is_static_image (anim));

  image = load_ok (path, NULL);
  g_assert_cmpint (hippo_image_get_width (image), ==, 2);
  g_assert_cmpint (hippo_image_get_height (image), ==, 2);
  assert_rgb_near (pixel (image, 0, 0), 255, 0, 0, 0);
  assert_rgb_near (pixel (image, 1, 1), 255, 0, 0, 0);
}

static void
test_cmyk_jpeg (void)
{
  g_autofree char *path = data_path ("cmyk.jpg");
  g_autoptr (HippoImage) image = NULL;

  /* made with: convert -size 16x16 'xc:rgb(200,60,40)' -colorspace CMYK */
  image = load_ok (path, NULL);
  g_assert_cmpint (hippo_image_get_width (image), ==, 16);
  assert_rgb_near (pixel (image, 0, 0), 200, 60, 40, 4);
  assert_rgb_near (pixel (image, 15, 15), 200, 60, 40, 4);
}

static double
mean_abs_diff (const float *a, const float *b, gsize n)
{
  double s = 0;
  gsize i;

  for (i = 0; i < n; i++)
    s += fabs ((double) a[i] - b[i]);
  return s / n;
}

/* A 4000x3000 JPEG decoded with min 448x448: libjpeg's 1/4 scale (1000x750)
 * and a 224x224 input close to the one from the full decode. */
static void
test_scaled_jpeg (void)
{
  const int W = 4000, H = 3000;
  g_autoptr (GdkPixbuf) p = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, W, H);
  g_autofree char *path = NULL;
  g_autoptr (HippoImage) full = NULL;
  g_autoptr (HippoImage) scaled = NULL;
  HippoImageParams params;
  float *a, *b;
  double t_full, t_scaled, diff;
  guint32 seed = 77;
  int x, y, w, h;

  /* smooth structure (periods >= 300 px) plus mild per-pixel noise */
  for (y = 0; y < H; y++)
    {
      guint8 *row
        = gdk_pixbuf_get_pixels (p) + (gsize) y * gdk_pixbuf_get_rowstride (p);
      for (x = 0; x < W; x++)
        {
          int n = (int) (xorshift (&seed) % 9) - 4;
          double r = 128 + 90 * sin (x / 300.0 + y / 500.0);
          double g = 128 + 90 * cos (y / 250.0 - x / 700.0);
          double bl = (x + y) * 255.0 / (W + H);
          row[3 * x] = (guint8) CLAMP (r + n, 0, 255);
          row[3 * x + 1] = (guint8) CLAMP (g + n, 0, 255);
          row[3 * x + 2] = (guint8) CLAMP (bl + n, 0, 255);
        }
    }
  path = save_pixbuf (p, "jpeg", "big.jpg");

  g_test_timer_start ();
  full = load_ok (path, NULL);
  t_full = g_test_timer_elapsed ();
  hippo_image_params_default (&params);
  params.min_width = 448;
  params.min_height = 448;
  g_test_timer_start ();
  scaled = load_ok (path, &params);
  t_scaled = g_test_timer_elapsed ();

  g_assert_cmpint (hippo_image_get_width (full), ==, W);
  g_assert_cmpint (hippo_image_get_height (full), ==, H);
  w = hippo_image_get_width (scaled);
  h = hippo_image_get_height (scaled);
  g_test_message ("4000x3000 JPEG: full %.1f ms, scaled to %dx%d %.1f ms",
                  t_full * 1e3, w, h, t_scaled * 1e3);
  g_assert_cmpint (w, >=, 448);
  g_assert_cmpint (h, >=, 448);
  g_assert_true (w <= 2 * 448 || h <= 2 * 448);
  g_assert_cmpint (w, ==, 1000); /* exactly libjpeg's 1/4 scale */
  g_assert_cmpint (h, ==, 750);

  a = g_new (float, 224 * 224 * 3);
  b = g_new (float, 224 * 224 * 3);
  hippo_image_to_input (full, 224, 224, a);
  hippo_image_to_input (scaled, 224, 224, b);
  diff = mean_abs_diff (a, b, 224 * 224 * 3);
  g_test_message ("mean |full - scaled| of the 224x224 input: %.5f", diff);
  /* Tolerance 0.01 (2.6 levels of 255): the scaled decode averages the
   * +-4 noise that the full decode samples point-wise. */
  g_assert_cmpfloat (diff, <, 0.01);

  /* no reduction when the minimum would not hold */
  params.min_width = 1500;
  params.min_height = 1500;
  {
    g_autoptr (HippoImage) half = load_ok (path, &params);
    g_assert_cmpint (hippo_image_get_width (half), ==, 2000);
    g_assert_cmpint (hippo_image_get_height (half), ==, 1500);
  }
  params.min_width = 1500;
  params.min_height = 1501;
  {
    g_autoptr (HippoImage) none = load_ok (path, &params);
    g_assert_cmpint (hippo_image_get_width (none), ==, 4000);
  }
  /* 2000x1500 would do upright, not turned by an EXIF orientation: the
   * reduced size must hold both ways round */
  params.min_width = 1900;
  params.min_height = 1400;
  {
    g_autoptr (HippoImage) none = load_ok (path, &params);
    g_assert_cmpint (hippo_image_get_width (none), ==, 4000);
  }
  /* PNG: never reduced */
  {
    g_autoptr (GdkPixbuf) s = gdk_pixbuf_new_subpixbuf (p, 0, 0, 1000, 900);
    g_autofree char *png = save_pixbuf (s, "png", "big.png");
    g_autoptr (HippoImage) i = NULL;
    params.min_width = params.min_height = 100;
    i = load_ok (png, &params);
    g_assert_cmpint (hippo_image_get_width (i), ==, 1000);
    g_assert_cmpint (hippo_image_get_height (i), ==, 900);
  }

  g_free (a);
  g_free (b);
}

/* hippo_image_load_input = hippo_image_load with a minimum of twice the
 * model's input size, then hippo_image_to_input. */
static void
test_load_input (void)
{
  GError *error = NULL;
  g_autoptr (HippoModel) model = hippo_model_load (NULL, &error);
  g_autoptr (GdkPixbuf) p = NULL;
  g_autoptr (HippoImage) image = NULL;
  g_autofree char *path = NULL;
  g_autofree float *a = NULL, *b = NULL;
  HippoImageParams params;
  gsize n;
  int w, h;

  if (model == NULL)
    {
      g_autofree char *why = g_strdup_printf (
        "no default model (run ./setup or set HIPPOTAG_MODEL_PATH): %s",
        error->message);
      g_strdelimit (why, "\n", ' ');
      g_clear_error (&error);
      g_test_skip (why);
      return;
    }
  hippo_model_get_input_size (model, &w, &h);
  g_assert_cmpint (w, >, 0);
  g_assert_cmpint (h, >, 0);
  n = (gsize) w * h * 3;

  /* large enough for a 1/2 JPEG reduction that stays >= 3x the input */
  p = noise_pixbuf (7 * w, 7 * h, FALSE, 31);
  path = save_pixbuf (p, "jpeg", "input.jpg");
  a = g_new (float, n);
  b = g_new (float, n);
  g_assert_true (hippo_image_load_input (model, path, a, &error));
  g_assert_no_error (error);

  hippo_image_params_default (&params);
  params.min_width = 3 * w;
  params.min_height = 3 * h;
  image = load_ok (path, &params);
  g_assert_cmpint (hippo_image_get_width (image), <, 7 * w);
  hippo_image_to_input (image, w, h, b);
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));

  g_assert_false (hippo_image_load_input (model, tmpdir, a, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IO);
  g_clear_error (&error);
}

/* Random byte flips in valid files: an image or a HIPPO_ERROR, never a
 * crash. */
static void
test_corrupt_bytes (void)
{
  g_autoptr (GdkPixbuf) p = noise_pixbuf (24, 16, FALSE, 21);
  g_autoptr (GdkPixbuf) pa = noise_pixbuf (24, 16, TRUE, 22);
  char *srcs[4];
  guint32 seed = 1234;
  int s, k, n_ok = 0, n_err = 0;

  srcs[0] = save_pixbuf (p, "jpeg", "f.jpg");
  srcs[1] = save_pixbuf (pa, "png", "f.png");
  srcs[2] = write_gif ();
  srcs[3] = data_path ("progressive.jpg");
  for (s = 0; s < 4; s++)
    {
      gsize len;
      guint8 *orig = read_all (srcs[s], &len);

      for (k = 0; k < 60; k++)
        {
          guint8 *d = g_malloc (len);
          GError *error = NULL;
          HippoImage *image;
          char *path;
          int j, n = 1 + xorshift (&seed) % 4;

          memcpy (d, orig, len);

          for (j = 0; j < n; j++)
            d[xorshift (&seed) % len] = xorshift (&seed) & 255;
          path = write_tmp ("fuzz.bin", d, len);
          image = hippo_image_load (path, NULL, &error);
          if (image != NULL)
            {
              g_assert_no_error (error);
              g_assert_cmpint (hippo_image_get_width (image), >, 0);
              n_ok++;
            }
          else
            {
              g_assert_nonnull (error);
              g_assert_true (error->domain == HIPPO_ERROR);
              n_err++;
            }
          hippo_image_free (image);
          g_free (path);
          g_free (d);
        }
      g_free (orig);
      g_free (srcs[s]);
    }
  g_test_message ("corrupted files: %d decoded, %d refused", n_ok, n_err);
}

/* gdk-pixbuf may g_warning() on broken input; that is not a test failure. */
static gboolean
log_not_fatal (const char *domain, GLogLevelFlags level, const char *message,
               gpointer user_data)
{
  return g_strcmp0 (domain, "GdkPixbuf") != 0;
}

static void
remove_tmpdir (void)
{
  GDir *dir = g_dir_open (tmpdir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      char *p = g_build_filename (tmpdir, name, NULL);
      g_unlink (p);
      g_free (p);
    }
  if (dir != NULL)
    g_dir_close (dir);
  g_rmdir (tmpdir);
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  g_test_log_set_fatal_handler (log_not_fatal, NULL);
  tmpdir = g_dir_make_tmp ("hippotag-test-image-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/preprocess/2x2-to-3x3", test_resize_2x2_to_3x3);
  g_test_add_func ("/preprocess/lines", test_resize_lines);
  g_test_add_func ("/preprocess/up-down", test_resize_up_down);
  g_test_add_func ("/preprocess/identity", test_resize_identity);
  g_test_add_func ("/preprocess/tfjs", test_resize_tfjs);
  g_test_add_func ("/image/alpha", test_alpha_composite);
  g_test_add_func ("/image/grey", test_grey);
  g_test_add_func ("/image/data-errors", test_new_from_data_errors);
  g_test_add_func ("/image/png-alpha", test_png_alpha_and_names);
  g_test_add_func ("/image/png-kinds", test_png_kinds);
  g_test_add_func ("/image/exif-orientation", test_exif_orientation);
  g_test_add_func ("/image/bomb", test_decompression_bomb);
  g_test_add_func ("/image/bad-files", test_bad_files);
  g_test_add_func ("/image/bmp-headers", test_bmp_headers);
  g_test_add_func ("/image/truncated", test_truncated);
  g_test_add_func ("/image/truncated-webp", test_truncated_webp);
  g_test_add_func ("/image/animated-gif", test_animated_gif);
  g_test_add_func ("/image/cmyk", test_cmyk_jpeg);
  g_test_add_func ("/image/scaled-jpeg", test_scaled_jpeg);
  g_test_add_func ("/image/load-input", test_load_input);
  g_test_add_func ("/image/corrupt", test_corrupt_bytes);

  ret = g_test_run ();
  remove_tmpdir ();
  g_free (tmpdir);
  return ret;
}
