/* Image decoding: a gdk-pixbuf loader fed from the file in chunks, the pixel
 * limit checked from the header before any pixel memory exists, reduced-size
 * JPEG decoding, EXIF orientation, alpha composited onto white.
 */
#include "image-private.h"

#define HIPPO_INPUT_DECODE_FACTOR 3

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef O_BINARY
#define O_BINARY 0
#endif

#define READ_CHUNK (64 * 1024)

struct _HippoImage
{
  int width;
  int height;
  guint8 *pixels; /* width * height * 3, rows packed */
};

/* ---- Truncation check ------------------------------------------------------
 *
 * gdk-pixbuf 2.42 does not report truncated JPEG, PNG or WebP files: libjpeg
 * pads a cut JPEG with grey and warns through a handler the loader silences;
 * the PNG and WebP loaders return what they got.  So the bytes are followed
 * through the file structure on the side: a JPEG is complete once its EOI
 * marker is seen (segments are skipped by their length, so an EXIF
 * thumbnail's EOI does not count), a PNG once its IEND chunk is seen, a WebP
 * once the RIFF size is all there.  When the structure is not understood the
 * tracker gives no verdict and the loader's own errors decide.  (The GIF
 * loader reports truncation itself; BMP and TIFF are not checked.)
 */

typedef enum
{
  TRACK_UNDECIDED,
  TRACK_NONE,
  TRACK_JPEG,
  TRACK_PNG,
  TRACK_WEBP,
} TrackKind;

typedef enum
{
  J_MARK0, /* expect 0xFF (extraneous bytes are skipped, as libjpeg does) */
  J_MARK1, /* marker code */
  J_LEN0,
  J_LEN1,
  J_SKIP,    /* skip a segment body */
  J_ENTROPY, /* entropy-coded data after SOS */
  J_ENT_FF,  /* 0xFF seen in entropy-coded data */
  P_HDR,     /* collect a PNG chunk's length and type */
  P_SKIP,    /* skip a chunk body and CRC */
  T_DONE,
} TrackState;

typedef struct
{
  TrackKind kind;
  TrackState state;
  gboolean complete;
  gboolean lost;
  guint8 head[12];
  guint n_head;
  guint64 total;    /* bytes fed */
  guint64 riff_end; /* WebP: file size the RIFF header states */
  guint8 marker;
  guint8 hdr[8];
  guint n_hdr;
  guint64 skip;
} Tracker;

static void
tracker_run (Tracker *t, const guint8 *p, gsize n)
{
  const guint8 *end = p + n;

  while (p < end && t->state != T_DONE)
    {
      switch (t->state)
        {
          case J_MARK0:
            {
              const guint8 *ff = memchr (p, 0xff, end - p);
              if (ff == NULL)
                return;
              p = ff + 1;
              t->state = J_MARK1;
              break;
            }
          case J_MARK1:
          case J_ENT_FF:
            {
              guint8 m = *p++;
              gboolean in_scan = t->state == J_ENT_FF;

              if (m == 0xff)
                break; /* fill byte */
              if (m == 0xd9)
                {
                  t->complete = TRUE;
                  t->state = T_DONE;
                }
              else if (in_scan && (m == 0x00 || (m >= 0xd0 && m <= 0xd7)))
                t->state = J_ENTROPY; /* stuffed byte or restart marker */
              else if (m == 0x00 || m == 0x01 || m == 0xd8
                       || (m >= 0xd0 && m <= 0xd7))
                t->state = J_MARK0; /* standalone marker */
              else
                {
                  t->marker = m;
                  t->state = J_LEN0;
                }
              break;
            }
          case J_LEN0:
            t->skip = (guint64) *p++ << 8;
            t->state = J_LEN1;
            break;
          case J_LEN1:
            t->skip |= *p++;
            if (t->skip < 2)
              {
                t->lost = TRUE;
                t->state = T_DONE;
                break;
              }
            t->skip -= 2;
            t->state = J_SKIP;
            break;
          case J_SKIP:
          case P_SKIP:
            {
              gsize take = (gsize) MIN (t->skip, (guint64) (end - p));
              p += take;
              t->skip -= take;
              if (t->skip == 0)
                {
                  if (t->state == P_SKIP)
                    t->state = P_HDR;
                  else
                    t->state = t->marker == 0xda ? J_ENTROPY : J_MARK0;
                }
              break;
            }
          case J_ENTROPY:
            {
              const guint8 *ff = memchr (p, 0xff, end - p);
              if (ff == NULL)
                return;
              p = ff + 1;
              t->state = J_ENT_FF;
              break;
            }
          case P_HDR:
            t->hdr[t->n_hdr++] = *p++;
            if (t->n_hdr == 8)
              {
                guint32 len = ((guint32) t->hdr[0] << 24)
                              | ((guint32) t->hdr[1] << 16)
                              | ((guint32) t->hdr[2] << 8) | t->hdr[3];
                t->n_hdr = 0;
                if (len > G_MAXINT32)
                  {
                    t->lost = TRUE;
                    t->state = T_DONE;
                  }
                else if (memcmp (t->hdr + 4, "IEND", 4) == 0)
                  {
                    t->complete = TRUE;
                    t->state = T_DONE;
                  }
                else
                  {
                    t->skip = (guint64) len + 4;
                    t->state = P_SKIP;
                  }
              }
            break;
          case T_DONE:
            break;
        }
    }
}

static void
tracker_decide (Tracker *t)
{
  static const guint8 png_sig[8]
    = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

  if (t->n_head >= 3 && t->head[0] == 0xff && t->head[1] == 0xd8
      && t->head[2] == 0xff)
    {
      t->kind = TRACK_JPEG;
      t->state = J_MARK0;
      tracker_run (t, t->head, t->n_head);
    }
  else if (t->n_head >= 8 && memcmp (t->head, png_sig, 8) == 0)
    {
      t->kind = TRACK_PNG;
      t->state = P_HDR;
      tracker_run (t, t->head + 8, t->n_head - 8);
    }
  else if (t->n_head == 12 && memcmp (t->head, "RIFF", 4) == 0
           && memcmp (t->head + 8, "WEBP", 4) == 0)
    {
      t->kind = TRACK_WEBP;
      t->riff_end
        = 8
          + ((guint64) t->head[4] | (guint64) t->head[5] << 8
             | (guint64) t->head[6] << 16 | (guint64) t->head[7] << 24);
    }
  else
    t->kind = TRACK_NONE;
}

static void
tracker_feed (Tracker *t, const guint8 *p, gsize n)
{
  t->total += n;
  if (t->kind == TRACK_UNDECIDED)
    {
      gsize take = MIN (n, sizeof t->head - t->n_head);

      memcpy (t->head + t->n_head, p, take);
      t->n_head += take;
      p += take;
      n -= take;
      if (t->n_head < sizeof t->head)
        return;
      tracker_decide (t);
    }
  if (t->kind == TRACK_JPEG || t->kind == TRACK_PNG)
    tracker_run (t, p, n);
}

/* TRUE when the file is a JPEG or PNG whose structure was followed to the
 * end of the data without meeting its end marker, or a WebP shorter than its
 * RIFF header says. */
static gboolean
tracker_truncated (Tracker *t)
{
  if (t->kind == TRACK_UNDECIDED)
    tracker_decide (t);
  if (t->kind == TRACK_WEBP)
    return t->total < t->riff_end;
  return (t->kind == TRACK_JPEG || t->kind == TRACK_PNG) && !t->lost
         && !t->complete;
}

/* ---- Reduced-size JPEG decoding --------------------------------------------
 *
 * gdk-pixbuf's JPEG loader (io-jpeg.c, 2.42) takes the size asked for with
 * gdk_pixbuf_loader_set_size() and picks the largest libjpeg scale 1/2, 1/4
 * or 1/8 whose output (ceil (W / d) x ceil (H / d),
 * jpeg_calc_output_dimensions) is still >= the request; if that output differs
 * from the request, the GdkPixbufLoader then resamples it to the request with
 * its own filter. Asking for exactly ceil (W / d) x ceil (H / d) therefore
 * gives libjpeg's DCT-scaled output with no further resampling.  Checked by
 * experiment with gdk-pixbuf 2.42.10 / libjpeg-turbo 2.1.5 on 4000x3000 and
 * 4001x3003 JPEGs: the loader's pixels equal libjpeg's own scale_denom = 2, 4,
 * 8 output byte for byte, and asking for 1 pixel less makes the loader
 * resample.
 *
 * The EXIF orientation is not known yet when the size is chosen, so the
 * reduced size must satisfy the minimum both ways round.
 */
static int
jpeg_scale_denom (int width, int height, int min_width, int min_height)
{
  int need = MAX (min_width, min_height);
  int d;

  if (min_width <= 0 || min_height <= 0)
    return 1;
  for (d = 8; d > 1; d /= 2)
    {
      int w = (int) (((gint64) width + d - 1) / d);
      int h = (int) (((gint64) height + d - 1) / d);
      if (MIN (w, h) >= need)
        return d;
    }
  return 1;
}

/* ---- Loading ----------------------------------------------------------------
 */

typedef struct
{
  const HippoImageParams *params;
  int header_width;
  int header_height;
  gboolean too_big;
} LoadState;

static void
on_size_prepared (GdkPixbufLoader *loader, int width, int height,
                  gpointer user_data)
{
  LoadState *st = user_data;
  GdkPixbufFormat *format;
  gboolean is_jpeg;
  char *name;
  int d;

  st->header_width = width;
  st->header_height = height;
  if (width <= 0 || height <= 0
      || (guint64) width * (guint64) height > st->params->max_pixels)
    {
      /* A size of 0 tells the module to stop before allocating. */
      st->too_big = TRUE;
      gdk_pixbuf_loader_set_size (loader, 0, 0);
      return;
    }

  format = gdk_pixbuf_loader_get_format (loader);
  if (format == NULL)
    return;
  name = gdk_pixbuf_format_get_name (format); /* a copy */
  is_jpeg = g_strcmp0 (name, "jpeg") == 0;
  g_free (name);
  if (!is_jpeg)
    return;
  d = jpeg_scale_denom (width, height, st->params->min_width,
                        st->params->min_height);
  if (d > 1)
    gdk_pixbuf_loader_set_size (loader, (int) (((gint64) width + d - 1) / d),
                                (int) (((gint64) height + d - 1) / d));
}

static void
set_limit_error (GError **error, const char *path, int width, int height,
                 guint64 max_pixels)
{
  char *name = g_filename_display_name (path);

  g_set_error (
    error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
    "“%s” is %d x %d pixels, more than the limit of %" G_GUINT64_FORMAT
    " pixels",
    name, width, height, max_pixels);
  g_free (name);
}

static void
set_decode_error (GError **error, const char *path, const GError *loader_error)
{
  char *name = g_filename_display_name (path);
  int code = HIPPO_ERROR_IMAGE;

  if (loader_error != NULL && loader_error->domain == GDK_PIXBUF_ERROR
      && loader_error->code == GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY)
    code = HIPPO_ERROR_LIMIT;
  g_set_error (error, HIPPO_ERROR, code, "Cannot decode “%s”: %s", name,
               loader_error != NULL ? loader_error->message
                                    : "the decoder gave no reason");
  g_free (name);
}

static void
set_io_error (GError **error, const char *path, int errsv)
{
  char *name = g_filename_display_name (path);

  g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO, "Cannot read “%s”: %s", name,
               g_strerror (errsv));
  g_free (name);
}

/* Copies 8-bit pixels of 1-4 channels into a new packed RGB image, alpha
 * composited onto white. */
static HippoImage *
image_from_pixels (const guint8 *pixels, int width, int height, gsize rowstride,
                   int n_channels, GError **error)
{
  HippoImage *image;
  gsize row_bytes, size;
  int x, y;

  if (!g_size_checked_mul (&row_bytes, (gsize) width, 3)
      || !g_size_checked_mul (&size, row_bytes, (gsize) height))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "An image of %d x %d pixels is too large", width, height);
      return NULL;
    }
  image = g_new0 (HippoImage, 1);
  image->width = width;
  image->height = height;
  image->pixels = g_try_malloc (size);
  if (image->pixels == NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "Not enough memory for an image of %d x %d pixels", width,
                   height);
      g_free (image);
      return NULL;
    }

  for (y = 0; y < height; y++)
    {
      const guint8 *s = pixels + (gsize) y * rowstride;
      guint8 *d = image->pixels + (gsize) y * row_bytes;

      switch (n_channels)
        {
          case 1:
            for (x = 0; x < width; x++, s++, d += 3)
              d[0] = d[1] = d[2] = s[0];
            break;
          case 2:
            for (x = 0; x < width; x++, s += 2, d += 3)
              {
                guint a = s[1];
                /* round (a * v / 255 + (255 - a)), exact in integers */
                guint v = (a * s[0] + (255 - a) * 255 + 127) / 255;
                d[0] = d[1] = d[2] = (guint8) v;
              }
            break;
          case 3:
            memcpy (d, s, row_bytes);
            break;
          default:
            for (x = 0; x < width; x++, s += 4, d += 3)
              {
                guint a = s[3];
                if (a == 255)
                  {
                    d[0] = s[0];
                    d[1] = s[1];
                    d[2] = s[2];
                  }
                else
                  {
                    guint w = (255 - a) * 255 + 127;
                    d[0] = (guint8) ((a * s[0] + w) / 255);
                    d[1] = (guint8) ((a * s[1] + w) / 255);
                    d[2] = (guint8) ((a * s[2] + w) / 255);
                  }
              }
            break;
        }
    }
  return image;
}

void
hippo_image_params_default (HippoImageParams *params)
{
  g_return_if_fail (params != NULL);

  params->max_pixels = HIPPO_IMAGE_MAX_PIXELS_DEFAULT;
  params->min_width = 0;
  params->min_height = 0;
}

/* ---- Header checks ---------------------------------------------------------
 *
 * Some gdk-pixbuf loaders allocate from header fields before (or without)
 * asking the size-prepared handler, so the pixel limit and the sanity of
 * those fields are checked here, before the loader sees any byte:
 *
 * - BMP (io-bmp.c, 2.42) sizes its buffer from the info header size (+ 14),
 *   the offset of the pixel data, and the palette size read as a signed
 *   number (a negative one becomes a request of almost 4 GB): a 60-byte
 *   file makes it ask for gigabytes. A file these checks rule out is one
 *   the loader would refuse anyway.
 * - WebP (webp-pixbuf-loader 0.0.5) allocates the whole canvas its header
 *   states even when the handler asks it to stop: 80 bytes made it ask for
 *   15 GB. The canvas size of a VP8X, VP8L or VP8 first chunk is read here.
 */
#define HEADER_PEEK_BYTES 50

static guint32
le32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16
         | (guint32) p[3] << 24;
}

static guint32
le24 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16;
}

/* NULL when fine; else why the BMP header in h (n bytes) is refused. */
static const char *
bmp_header_problem (const guint8 *h, gsize n, guint64 file_size)
{
  guint32 info_size = le32 (h + 14);

  if (info_size != 12 && info_size != 40 && info_size != 52 && info_size != 56
      && info_size != 64 && info_size != 108 && info_size != 124)
    return "unsupported BMP info header size";
  if (le32 (h + 10) > file_size)
    return "BMP pixel data offset past the end of the file";
  if (info_size >= 40 && n >= 50 && le32 (h + 46) > G_MAXINT32)
    return "BMP palette size out of range";
  return NULL;
}

/* The canvas size a WebP header in h (n >= 30 bytes) states, from its first
 * chunk; FALSE when that chunk is none of VP8X, VP8L, VP8 (the loader then
 * refuses the file itself). */
static gboolean
webp_header_size (const guint8 *h, guint64 *width, guint64 *height)
{
  const guint8 *d = h + 20; /* the first chunk's data */

  if (memcmp (h + 12, "VP8X", 4) == 0)
    {
      *width = (guint64) le24 (d + 4) + 1;
      *height = (guint64) le24 (d + 7) + 1;
    }
  else if (memcmp (h + 12, "VP8L", 4) == 0 && d[0] == 0x2f)
    {
      guint32 bits = le32 (d + 1);
      *width = (bits & 0x3fff) + 1;
      *height = ((bits >> 14) & 0x3fff) + 1;
    }
  else if (memcmp (h + 12, "VP8 ", 4) == 0)
    {
      *width = (d[6] | (guint32) d[7] << 8) & 0x3fff;
      *height = (d[8] | (guint32) d[9] << 8) & 0x3fff;
    }
  else
    return FALSE;
  return TRUE;
}

/* Checks the header of the file at fd; on a problem sets error and returns
 * FALSE. */
static gboolean
check_header (int fd, guint64 file_size, const char *path,
              const HippoImageParams *params, GError **error)
{
  guint8 h[HEADER_PEEK_BYTES];
  const char *problem = NULL;
  gssize n;
  char *name;

  do
    n = pread (fd, h, sizeof h, 0);
  while (n < 0 && errno == EINTR);
  if (n >= 18 && h[0] == 'B' && h[1] == 'M')
    problem = bmp_header_problem (h, (gsize) n, file_size);
  else if (n >= 30 && memcmp (h, "RIFF", 4) == 0
           && memcmp (h + 8, "WEBP", 4) == 0)
    {
      guint64 w, hh;

      if (webp_header_size (h, &w, &hh) && w * hh > params->max_pixels)
        {
          set_limit_error (error, path, (int) w, (int) hh, params->max_pixels);
          return FALSE;
        }
    }
  if (problem == NULL)
    return TRUE;
  name = g_filename_display_name (path);
  g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IMAGE, "Cannot decode “%s”: %s",
               name, problem);
  g_free (name);
  return FALSE;
}

/* Feeds the file to the loader.  On failure sets @error; the loader is then
 * closed or left for the caller to close. */
static gboolean
feed_file (GdkPixbufLoader *loader, int fd, const char *path, LoadState *st,
           Tracker *tracker, guint64 *n_read, GError **error)
{
  guint8 *buf = g_malloc (READ_CHUNK);
  gboolean ok = TRUE;

  *n_read = 0;
  for (;;)
    {
      GError *lerr = NULL;
      gssize n = read (fd, buf, READ_CHUNK);

      if (n < 0)
        {
          int errsv = errno;
          if (errsv == EINTR)
            continue;
          set_io_error (error, path, errsv);
          ok = FALSE;
          break;
        }
      if (n == 0)
        break;
      *n_read += (guint64) n;
      tracker_feed (tracker, buf, (gsize) n);
      if (!gdk_pixbuf_loader_write (loader, buf, (gsize) n, &lerr))
        {
          if (st->too_big)
            set_limit_error (error, path, st->header_width, st->header_height,
                             st->params->max_pixels);
          else
            set_decode_error (error, path, lerr);
          g_clear_error (&lerr);
          ok = FALSE;
          break;
        }
      if (st->too_big)
        {
          set_limit_error (error, path, st->header_width, st->header_height,
                           st->params->max_pixels);
          ok = FALSE;
          break;
        }
    }
  g_free (buf);
  return ok;
}

HippoImage *
hippo_image_load (const char *path, const HippoImageParams *params,
                  GError **error)
{
  HippoImageParams defaults;
  GdkPixbufLoader *loader = NULL;
  GdkPixbuf *pixbuf, *upright = NULL;
  HippoImage *image = NULL;
  LoadState st = { 0 };
  Tracker tracker = { 0 };
  GError *lerr = NULL;
  guint64 n_read = 0;
  struct stat sb;
  int fd, w, h, n_channels;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (params == NULL)
    {
      hippo_image_params_default (&defaults);
      params = &defaults;
    }
  st.params = params;

  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_BINARY, 0);
  if (fd < 0)
    {
      set_io_error (error, path, errno);
      return NULL;
    }
  if (fstat (fd, &sb) != 0)
    {
      set_io_error (error, path, errno);
      goto out;
    }
  if (!S_ISREG (sb.st_mode))
    {
      /* Directories, FIFOs and devices: never block or read forever. */
      set_io_error (error, path, S_ISDIR (sb.st_mode) ? EISDIR : EINVAL);
      goto out;
    }

  if (!check_header (fd, (guint64) sb.st_size, path, params, error))
    goto out;

  loader = gdk_pixbuf_loader_new ();
  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size_prepared),
                    &st);

  if (!feed_file (loader, fd, path, &st, &tracker, &n_read, error))
    goto out;

  if (n_read == 0)
    {
      char *name = g_filename_display_name (path);
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IMAGE,
                   "Cannot decode “%s”: the file is empty", name);
      g_free (name);
      goto out;
    }
  if (!gdk_pixbuf_loader_close (loader, &lerr))
    {
      if (st.too_big)
        set_limit_error (error, path, st.header_width, st.header_height,
                         params->max_pixels);
      else
        set_decode_error (error, path, lerr);
      g_clear_error (&lerr);
      goto out;
    }
  if (st.too_big)
    {
      set_limit_error (error, path, st.header_width, st.header_height,
                       params->max_pixels);
      goto out;
    }

  pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  if (pixbuf == NULL)
    {
      set_decode_error (error, path, NULL);
      goto out;
    }
  if (tracker_truncated (&tracker))
    {
      char *name = g_filename_display_name (path);
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IMAGE,
                   "Cannot decode “%s”: the file is truncated (%s)", name,
                   tracker.kind == TRACK_JPEG  ? "no JPEG end-of-image marker"
                   : tracker.kind == TRACK_PNG ? "no PNG IEND chunk"
                                               : "shorter than its RIFF size");
      g_free (name);
      goto out;
    }

  n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  if (gdk_pixbuf_get_colorspace (pixbuf) != GDK_COLORSPACE_RGB
      || gdk_pixbuf_get_bits_per_sample (pixbuf) != 8
      || n_channels != (gdk_pixbuf_get_has_alpha (pixbuf) ? 4 : 3))
    {
      char *name = g_filename_display_name (path);
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IMAGE,
                   "Cannot decode “%s”: the decoder gave an unsupported pixel "
                   "layout",
                   name);
      g_free (name);
      goto out;
    }

  /* Loaders that decode before announcing the size end up here. */
  w = gdk_pixbuf_get_width (pixbuf);
  h = gdk_pixbuf_get_height (pixbuf);
  if (w <= 0 || h <= 0 || (guint64) w * (guint64) h > params->max_pixels)
    {
      set_limit_error (error, path, w, h, params->max_pixels);
      goto out;
    }

  upright = gdk_pixbuf_apply_embedded_orientation (pixbuf);
  if (upright == NULL)
    {
      char *name = g_filename_display_name (path);
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "Not enough memory to rotate “%s”", name);
      g_free (name);
      goto out;
    }
  image = image_from_pixels (
    gdk_pixbuf_read_pixels (upright), gdk_pixbuf_get_width (upright),
    gdk_pixbuf_get_height (upright), (gsize) gdk_pixbuf_get_rowstride (upright),
    n_channels, error);

out:
  if (loader != NULL)
    {
      gdk_pixbuf_loader_close (loader, NULL); /* no-op if already closed */
      g_object_unref (loader);
    }
  g_clear_object (&upright);
  close (fd);
  return image;
}

HippoImage *
hippo_image_new_from_data (const guint8 *pixels, int width, int height,
                           gsize rowstride, int n_channels, GError **error)
{
  gsize row_bytes;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (pixels == NULL || width < 1 || height < 1 || n_channels < 1
      || n_channels > 4)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "Invalid image data: %d x %d pixels of %d channels", width,
                   height, n_channels);
      return NULL;
    }
  if ((guint64) width * (guint64) height > HIPPO_IMAGE_MAX_PIXELS_DEFAULT)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "An image of %d x %d pixels is more than the limit of "
                   "%" G_GUINT64_FORMAT " pixels",
                   width, height, HIPPO_IMAGE_MAX_PIXELS_DEFAULT);
      return NULL;
    }
  if (!g_size_checked_mul (&row_bytes, (gsize) width, (gsize) n_channels)
      || rowstride < row_bytes)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "Invalid image data: row stride %" G_GSIZE_FORMAT
                   " is less than %d pixels of %d channels",
                   rowstride, width, n_channels);
      return NULL;
    }
  return image_from_pixels (pixels, width, height, rowstride, n_channels,
                            error);
}

void
hippo_image_free (HippoImage *image)
{
  if (image == NULL)
    return;
  g_free (image->pixels);
  g_free (image);
}

int
hippo_image_get_width (const HippoImage *image)
{
  g_return_val_if_fail (image != NULL, 0);
  return image->width;
}

int
hippo_image_get_height (const HippoImage *image)
{
  g_return_val_if_fail (image != NULL, 0);
  return image->height;
}

const guint8 *
hippo_image_get_pixels (const HippoImage *image)
{
  g_return_val_if_fail (image != NULL, NULL);
  return image->pixels;
}

HippoImage *
hippo_image_load_for_input (const char *path, int w, int h, GError **error)
{
  HippoImageParams params;

  /* Reduced JPEG decoding down to 3x the input, not further: the
   * aligned-corner bilinear resize of the reference samples the full image
   * sparsely, and a reduction that leaves under 3 source pixels per input
   * pixel moves the features measurably away from it (cosine 0.985 on a
   * 1352x900 photo decoded at 1/2). A 12 MP photo still decodes at 1/4. */
  hippo_image_params_default (&params);
  params.min_width = HIPPO_INPUT_DECODE_FACTOR * w;
  params.min_height = HIPPO_INPUT_DECODE_FACTOR * h;
  return hippo_image_load (path, &params, error);
}

gboolean
hippo_image_load_input (const HippoModel *model, const char *path, float *dst,
                        GError **error)
{
  HippoImage *image;
  int w = 0, h = 0;

  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (dst != NULL, FALSE);

  hippo_model_get_input_size (model, &w, &h);
  g_return_val_if_fail (w > 0 && h > 0, FALSE);

  image = hippo_image_load_for_input (path, w, h, error);
  if (image == NULL)
    return FALSE;
  hippo_image_to_input (image, w, h, dst);
  hippo_image_free (image);
  return TRUE;
}
