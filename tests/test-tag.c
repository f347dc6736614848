/* Tests of keyword tagging (core/files/tag.c): sidecars and in-place metadata.
 *
 * Keywords are read back with gexiv2 and, when installed, the exiv2 command
 * (an independent reader of the same files). Fault cases use a read-only
 * and a full tmpfs mounted inside a private mount namespace (tests run as
 * root); without the privilege they are skipped, and say so.
 */
#define _GNU_SOURCE
#include <hippotag/hippotag.h>

#include <errno.h>
#include <fcntl.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gexiv2/gexiv2.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir;
static gboolean have_mount_ns;

/* ---- helpers ---- */

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static char *
file_sha256 (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  GError *error = NULL;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data,
                                      len);
}

static void
write_file (const char *path, const char *data, gssize len)
{
  GError *error = NULL;

  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
}

static GdkPixbuf *
gradient_pixbuf (int w, int h)
{
  GdkPixbuf *p = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, w, h);

  for (int y = 0; y < h; y++)
    {
      guint8 *row
        = gdk_pixbuf_get_pixels (p) + y * gdk_pixbuf_get_rowstride (p);
      for (int x = 0; x < w; x++)
        {
          row[3 * x] = (guint8) (x * 255 / w);
          row[3 * x + 1] = (guint8) (y * 255 / h);
          row[3 * x + 2] = (guint8) ((x ^ y) & 255);
        }
    }
  return p;
}

static GdkPixbuf *
noise_pixbuf (int w, int h)
{
  GdkPixbuf *p = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, w, h);
  guint32 x = 2463534242u;

  for (int y = 0; y < h; y++)
    {
      guint8 *row
        = gdk_pixbuf_get_pixels (p) + y * gdk_pixbuf_get_rowstride (p);
      for (int i = 0; i < 3 * w; i++)
        {
          x ^= x << 13;
          x ^= x >> 17;
          x ^= x << 5;
          row[i] = x & 255;
        }
    }
  return p;
}

static char *
make_image (const char *dir, const char *name, const char *type)
{
  g_autoptr (GdkPixbuf) p = g_str_has_prefix (name, "big")
                              ? noise_pixbuf (160, 120)
                              : gradient_pixbuf (64, 48);
  char *path = g_build_filename (dir, name, NULL);
  GError *error = NULL;

  gdk_pixbuf_save (p, path, type, &error, NULL);
  g_assert_no_error (error);
  return path;
}

static char **
get_tag (const char *path, const char *key)
{
  GExiv2Metadata *m = gexiv2_metadata_new ();
  GError *error = NULL;
  char **v;

  gexiv2_metadata_open_path (m, path, &error);
  g_assert_no_error (error);
  v = gexiv2_metadata_try_get_tag_multiple (m, key, &error);
  g_assert_no_error (error);
  g_object_unref (m);
  return v;
}

static char *
get_tag_string (const char *path, const char *key)
{
  GExiv2Metadata *m = gexiv2_metadata_new ();
  GError *error = NULL;
  char *v;

  gexiv2_metadata_open_path (m, path, &error);
  g_assert_no_error (error);
  v = gexiv2_metadata_try_get_tag_string (m, key, &error);
  g_assert_no_error (error);
  g_object_unref (m);
  return v;
}

static void
assert_tag_is (const char *path, const char *key, const char *const *want)
{
  g_auto (GStrv) got = get_tag (path, key);
  g_autofree char *got_s = g_strjoinv (", ", got);
  g_autofree char *want_s = g_strjoinv (", ", (char **) want);

  g_assert_cmpstr (got_s, ==, want_s);
}

/* Output of `exiv2 -px FILE` (XMP properties), or NULL without exiv2. */
static char *
exiv2_px (const char *path)
{
  g_autofree char *exe = g_find_program_in_path ("exiv2");
  const char *argv[] = { exe, "-px", path, NULL };
  char *out = NULL;
  int status = 0;
  GError *error = NULL;

  if (exe == NULL)
    return NULL;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  return out;
}

/* Asserts exiv2 prints KEY with TYPE and exactly VALUES (", "-joined). */
static void
assert_exiv2_line (const char *out, const char *key, const char *type,
                   const char *values)
{
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  gboolean found = FALSE;

  for (gsize i = 0; lines[i] != NULL && !found; i++)
    {
      g_auto (GStrv) f = NULL;
      g_autofree char *line = g_strdup (lines[i]);

      if (!g_str_has_prefix (line, key) || line[strlen (key)] != ' ')
        continue;
      /* KEY TYPE COUNT VALUES... */
      f = g_regex_split_simple ("\\s+", line, 0, 0);
      g_assert_cmpstr (f[1], ==, type);
      {
        const char *p = strstr (line, type) + strlen (type);

        while (*p == ' ')
          p++;
        while (g_ascii_isdigit (*p))
          p++;
        while (*p == ' ')
          p++;
        g_assert_cmpstr (p, ==, values);
      }
      found = TRUE;
    }
  if (!found)
    g_error ("exiv2 -px does not list %s:\n%s", key, out);
}

static int
count_temp_files (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  int n = 0;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    if (strstr (name, ".hippotag-") != NULL)
      n++;
  g_dir_close (d);
  return n;
}

static gboolean
tag (const char *path, const char *const *labels, HippoTagMode mode,
     gboolean *changed, GError **error)
{
  HippoTagParams params;

  hippo_tag_params_default (&params);
  params.mode = mode;
  return hippo_tag_file (path, labels, &params, changed, error);
}

/* A folder holding a fresh tmpfs of SIZE bytes; NULL (and a loud skip) when
 * it cannot be mounted. */
static char *
mount_tmpfs (const char *name, const char *size)
{
  char *dir = tmp_path (name);
  g_autofree char *opts = g_strdup_printf ("size=%s,mode=0755", size);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  if (mount ("tmpfs", dir, "tmpfs", 0, opts) != 0)
    {
      g_autofree char *msg = g_strdup_printf (
        "SKIPPED: cannot mount a tmpfs (%s); needs root in a mount namespace",
        g_strerror (errno));
      g_printerr ("# %s\n", msg);
      g_test_skip (msg);
      g_free (dir);
      return NULL;
    }
  return dir;
}

static void
unmount (const char *dir)
{
  g_assert_cmpint (umount2 (dir, MNT_DETACH), ==, 0);
}

/* ---- sidecar ---- */

static void
test_sidecar_basic (void)
{
  g_autofree char *img = make_image (tmpdir, "basic.png", "png");
  g_autofree char *sidecar = hippo_tag_sidecar_path (img);
  g_autofree char *before = file_sha256 (img);
  g_autofree char *after = NULL;
  g_autofree char *px = NULL;
  const char *labels[] = { "cat", "dog", NULL };
  const char *subject[] = { "cat", "dog", NULL };
  const char *hier[] = { "Hippotag|cat", "Hippotag|dog", NULL };
  const char *tags[] = { "Hippotag/cat", "Hippotag/dog", NULL };
  gboolean changed = FALSE;
  GError *error = NULL;

  g_assert_true (g_str_has_suffix (sidecar, "basic.png.xmp"));
  g_assert_true (tag (img, labels, HIPPO_TAG_MODE_SIDECAR, &changed, &error));
  g_assert_no_error (error);
  g_assert_true (changed);
  after = file_sha256 (img);
  g_assert_cmpstr (before, ==, after);
  g_assert_true (g_file_test (sidecar, G_FILE_TEST_IS_REGULAR));

  assert_tag_is (sidecar, "Xmp.dc.subject", subject);
  assert_tag_is (sidecar, "Xmp.lr.hierarchicalSubject", hier);
  assert_tag_is (sidecar, "Xmp.digiKam.TagsList", tags);
  g_assert_cmpint (count_temp_files (tmpdir), ==, 0);

  px = exiv2_px (sidecar);
  if (px == NULL)
    g_printerr ("# exiv2 command not installed: gexiv2 read-back only\n");
  else
    {
      assert_exiv2_line (px, "Xmp.dc.subject", "XmpBag", "cat, dog");
      assert_exiv2_line (px, "Xmp.lr.hierarchicalSubject", "XmpBag",
                         "Hippotag|cat, Hippotag|dog");
      assert_exiv2_line (px, "Xmp.digiKam.TagsList", "XmpSeq",
                         "Hippotag/cat, Hippotag/dog");
    }
}

static void
test_sidecar_idempotent (void)
{
  g_autofree char *img = make_image (tmpdir, "idem.jpg", "jpeg");
  g_autofree char *sidecar = hippo_tag_sidecar_path (img);
  g_autofree char *h1 = NULL;
  g_autofree char *h2 = NULL;
  const char *labels[] = { "cat", "dog", "cat", NULL };
  const char *more[] = { "dog", "bird", NULL };
  const char *subject[] = { "cat", "dog", "bird", NULL };
  const char *hier[]
    = { "Hippotag|cat", "Hippotag|dog", "Hippotag|bird", NULL };
  gboolean changed = TRUE;
  GError *error = NULL;

  g_assert_true (tag (img, labels, HIPPO_TAG_MODE_SIDECAR, &changed, &error));
  g_assert_no_error (error);
  g_assert_true (changed);
  h1 = file_sha256 (sidecar);
  g_assert_true (tag (img, labels, HIPPO_TAG_MODE_SIDECAR, &changed, &error));
  g_assert_no_error (error);
  g_assert_false (changed);
  h2 = file_sha256 (sidecar);
  g_assert_cmpstr (h1, ==, h2);

  g_assert_true (tag (img, more, HIPPO_TAG_MODE_SIDECAR, &changed, &error));
  g_assert_no_error (error);
  g_assert_true (changed);
  assert_tag_is (sidecar, "Xmp.dc.subject", subject);
  assert_tag_is (sidecar, "Xmp.lr.hierarchicalSubject", hier);
}

static const char existing_sidecar[]
  = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
    " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
    "  <rdf:Description rdf:about=\"\"\n"
    "    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
    "    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n"
    "    xmlns:lr=\"http://ns.adobe.com/lightroom/1.0/\"\n"
    "    xmlns:darktable=\"http://darktable.sf.net/\"\n"
    "    xmp:Rating=\"3\"\n"
    "    darktable:xmp_version=\"5\">\n"
    "   <dc:subject><rdf:Bag><rdf:li>holiday</rdf:li>"
    "<rdf:li>cat</rdf:li></rdf:Bag></dc:subject>\n"
    "   <lr:hierarchicalSubject><rdf:Bag><rdf:li>Places|Paris</rdf:li>"
    "</rdf:Bag></lr:hierarchicalSubject>\n"
    "   <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">A title</rdf:li>"
    "</rdf:Alt></dc:title>\n"
    "   <darktable:history><rdf:Seq><rdf:li darktable:operation=\"exposure\""
    " darktable:enabled=\"1\"/></rdf:Seq></darktable:history>\n"
    "  </rdf:Description>\n"
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n";

static void
test_sidecar_keeps_existing (void)
{
  g_autofree char *img = make_image (tmpdir, "keep.jpg", "jpeg");
  g_autofree char *sidecar = hippo_tag_sidecar_path (img);
  g_autofree char *rating = NULL;
  g_autofree char *title = NULL;
  g_autofree char *op = NULL;
  g_autofree char *ver = NULL;
  const char *labels[] = { "cat", "dog", NULL };
  const char *subject[] = { "holiday", "cat", "dog", NULL };
  const char *hier[] = { "Places|Paris", "Hippotag|cat", "Hippotag|dog", NULL };
  g_auto (GStrv) read = NULL;
  gboolean changed = FALSE;
  GError *error = NULL;
  struct stat st;

  write_file (sidecar, existing_sidecar, -1);
  g_assert_cmpint (chmod (sidecar, 0640), ==, 0);
  g_assert_true (tag (img, labels, HIPPO_TAG_MODE_SIDECAR, &changed, &error));
  g_assert_no_error (error);
  g_assert_true (changed);
  assert_tag_is (sidecar, "Xmp.dc.subject", subject);
  assert_tag_is (sidecar, "Xmp.lr.hierarchicalSubject", hier);
  rating = get_tag_string (sidecar, "Xmp.xmp.Rating");
  g_assert_cmpstr (rating, ==, "3");
  title = get_tag_string (sidecar, "Xmp.dc.title");
  g_assert_nonnull (strstr (title, "A title"));
  ver = get_tag_string (sidecar, "Xmp.darktable.xmp_version");
  g_assert_cmpstr (ver, ==, "5");
  op = get_tag_string (sidecar, "Xmp.darktable.history[1]/darktable:operation");
  g_assert_cmpstr (op, ==, "exposure");
  g_assert_cmpint (stat (sidecar, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0640);

  read = hippo_tag_read_keywords (img, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (read), ==, 3);
  g_assert_true (g_strv_contains ((const char *const *) read, "holiday"));
  g_assert_true (g_strv_contains ((const char *const *) read, "dog"));
}

static void
test_sidecar_options (void)
{
  g_autofree char *img = make_image (tmpdir, "opts.png", "png");
  g_autofree char *sidecar = hippo_tag_sidecar_path (img);
  const char *labels[] = { "Ünïcode label", NULL };
  const char *flat[] = { "Ünïcode label", NULL };
  const char *bad1[] = { "", NULL };
  const char *bad2[] = { "tab\there", NULL };
  const char *bad3[] = { "\xff\xfe", NULL };
  const char *const *bad[] = { bad1, bad2, bad3 };
  HippoTagParams params;
  gboolean changed = FALSE;
  GError *error = NULL;

  hippo_tag_params_default (&params);
  g_assert_cmpint (params.mode, ==, HIPPO_TAG_MODE_SIDECAR);
  g_assert_cmpstr (params.parent, ==, "Hippotag");
  g_assert_false (params.dry_run);

  params.dry_run = TRUE;
  g_assert_true (hippo_tag_file (img, labels, &params, &changed, &error));
  g_assert_no_error (error);
  g_assert_true (changed);
  g_assert_false (g_file_test (sidecar, G_FILE_TEST_EXISTS));

  params.dry_run = FALSE;
  params.parent = NULL;
  g_assert_true (hippo_tag_file (img, labels, &params, &changed, &error));
  g_assert_no_error (error);
  assert_tag_is (sidecar, "Xmp.lr.hierarchicalSubject", flat);
  assert_tag_is (sidecar, "Xmp.digiKam.TagsList", flat);

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (hippo_tag_file (img, bad[i], &params, &changed, &error));
      g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  {
    g_autofree char *missing = tmp_path ("missing.jpg");

    g_assert_false (hippo_tag_file (missing, labels, NULL, NULL, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND);
    g_clear_error (&error);
    g_assert_null (hippo_tag_read_keywords (missing, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }
}

static void
test_sidecar_malformed (void)
{
  static const char *const cases[] = {
    "",
    "not xml at all",
    "<?xml version=\"1.0\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
    "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:"
    "Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/"
    "\"><dc:subject><rdf:Bag><rdf:li>truncated",
    "<?xml version=\"1.0\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\">"
    "<nothing/></x:xmpmeta>",
    /* well-formed XML, but a property in no namespace: the XMP toolkit
     * rejects it, exiv2 only logs that and would read nothing */
    "<?xml version=\"1.0\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
    "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:"
    "Description rdf:about=\"\"><nons:keyword>x</nons:keyword>"
    "</rdf:Description></rdf:RDF></x:xmpmeta>",
    "<?xml version=\"1.0\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
    "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:"
    "Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/"
    "\"><dc:subject><rdf:Bag><rdf:li>a</rdf:li></rdf:Bag></dc:subject>"
    "</rdf:Description></rdf:RDF></x:xmpmeta><junk",
  };
  g_autofree char *img = make_image (tmpdir, "malformed.jpg", "jpeg");
  g_autofree char *sidecar = hippo_tag_sidecar_path (img);
  const char *labels[] = { "cat", NULL };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *before = NULL;
      g_autofree char *after = NULL;
      gboolean changed = TRUE;
      GError *error = NULL;

      write_file (sidecar, cases[i], -1);
      before = file_sha256 (sidecar);
      g_assert_false (
        tag (img, labels, HIPPO_TAG_MODE_SIDECAR, &changed, &error));
      g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, "malformed"));
      g_clear_error (&error);
      after = file_sha256 (sidecar);
      g_assert_cmpstr (before, ==, after);
      g_assert_cmpint (count_temp_files (tmpdir), ==, 0);
      g_assert_null (hippo_tag_read_keywords (img, &error));
      g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED);
      g_clear_error (&error);
    }
}

/* A packet binding "lr" to another URI (Lightroom's is .../1.0/). */
#define FOREIGN_LR_PACKET                                                      \
  "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.o" \
  "rg/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" "            \
  "xmlns:lr=\"http://ns.adobe.com/lightroom/1.5/\" lr:x=\"1\"/></rdf:RDF>"     \
  "</x:xmpmeta>"

/* A JPEG with the packet as its XMP (APP1) segment. */
static char *
make_jpeg_with_xmp (const char *name, const char *packet)
{
  static const char xmp_id[] = "http://ns.adobe.com/xap/1.0/";
  g_autofree char *plain = make_image (tmpdir, name, "jpeg");
  g_autofree char *data = NULL;
  g_autoptr (GByteArray) a = g_byte_array_new ();
  gsize len = 0, seg = 2 + sizeof xmp_id + strlen (packet);
  guint8 head[4] = { 0xff, 0xe1, seg >> 8, seg & 0xff };

  g_assert_true (g_file_get_contents (plain, &data, &len, NULL));
  g_byte_array_append (a, (guint8 *) data, 2); /* SOI */
  g_byte_array_append (a, head, 4);
  g_byte_array_append (a, (const guint8 *) xmp_id, sizeof xmp_id);
  g_byte_array_append (a, (const guint8 *) packet, strlen (packet));
  g_byte_array_append (a, (guint8 *) data + 2, len - 2);
  write_file (plain, (const char *) a->data, a->len);
  return g_steal_pointer (&plain);
}

/* Exiv2 keeps one table of XMP prefixes per process; a file that binds
 * "lr" elsewhere must neither be rewritten with the keywords in that
 * namespace nor change how later files are written. */
static void
test_foreign_namespace (void)
{
  g_autofree char *img = make_image (tmpdir, "foreign.jpg", "jpeg");
  g_autofree char *sidecar = hippo_tag_sidecar_path (img);
  g_autofree char *embedded
    = make_jpeg_with_xmp ("foreign-in.jpg", FOREIGN_LR_PACKET);
  g_autofree char *later = make_image (tmpdir, "later.jpg", "jpeg");
  g_autofree char *later_sidecar = hippo_tag_sidecar_path (later);
  g_autofree char *before = NULL, *after = NULL, *text = NULL;
  g_auto (GStrv) keywords = NULL;
  const char *labels[] = { "cat", "dog", NULL };
  gboolean changed = FALSE;
  GError *error = NULL;

  write_file (sidecar, FOREIGN_LR_PACKET, -1);
  before = file_sha256 (sidecar);
  g_assert_false (tag (img, labels, HIPPO_TAG_MODE_SIDECAR, &changed, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "“lr”"));
  g_clear_error (&error);
  after = file_sha256 (sidecar);
  g_assert_cmpstr (before, ==, after);

  g_free (before);
  before = file_sha256 (embedded);
  keywords = hippo_tag_read_keywords (embedded, &error);
  g_assert_no_error (error);
  g_assert_false (
    tag (embedded, labels, HIPPO_TAG_MODE_IN_PLACE, &changed, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IMAGE);
  g_assert_nonnull (strstr (error->message, "“lr”"));
  g_clear_error (&error);
  g_free (after);
  after = file_sha256 (embedded);
  g_assert_cmpstr (before, ==, after);

  /* Lightroom's URI under another prefix: refused too (exiv2 would write
   * "l:hierarchicalSubject" without declaring "l", now and later) */
  write_file (sidecar,
              "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"htt"
              "p://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description "
              "rdf:about=\"\" xmlns:l=\"http://ns.adobe.com/lightroom/1.0/\" "
              "l:x=\"1\"/></rdf:RDF></x:xmpmeta>",
              -1);
  g_free (before);
  before = file_sha256 (sidecar);
  g_assert_false (tag (img, labels, HIPPO_TAG_MODE_SIDECAR, &changed, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "“l”"));
  g_clear_error (&error);
  g_free (after);
  after = file_sha256 (sidecar);
  g_assert_cmpstr (before, ==, after);

  /* a namespace URI with an escaped '&': exiv2 writes it raw, so the merged
   * sidecar would not be XML; it is checked before replacing anything */
  write_file (sidecar,
              "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"htt"
              "p://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description "
              "rdf:about=\"\" xmlns:a=\"http://example.com/a&amp;b/\" "
              "a:x=\"1\"/></rdf:RDF></x:xmpmeta>",
              -1);
  g_free (before);
  before = file_sha256 (sidecar);
  g_assert_false (tag (img, labels, HIPPO_TAG_MODE_SIDECAR, &changed, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "does not read back"));
  g_clear_error (&error);
  g_free (after);
  after = file_sha256 (sidecar);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpint (count_temp_files (tmpdir), ==, 0);

  /* later files get Lightroom's namespace and a bag of both values */
  g_assert_true (tag (later, labels, HIPPO_TAG_MODE_SIDECAR, &changed, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (later_sidecar, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "xmlns:lr=\"http://ns.adobe.com/lightroom/"
                                  "1.0/\""));
  g_assert_null (strstr (text, "lightroom/1.5"));
  g_assert_nonnull (strstr (text, "<rdf:li>Hippotag|dog</rdf:li>"));
  g_assert_nonnull (strstr (text, "<rdf:li>Hippotag|cat</rdf:li>"));
  g_assert_null (strstr (text, "<l:"));
  g_assert_true (
    tag (later, labels, HIPPO_TAG_MODE_IN_PLACE, &changed, &error));
  g_assert_no_error (error);
  g_assert_true (changed);
  {
    const char *want[] = { "Hippotag|cat", "Hippotag|dog", NULL };
    assert_tag_is (later, "Xmp.lr.hierarchicalSubject", want);
  }
}

static void
test_sidecar_symlink (void)
{
  g_autofree char *img = make_image (tmpdir, "linked.png", "png");
  g_autofree char *sidecar = hippo_tag_sidecar_path (img);
  g_autofree char *real = tmp_path ("real-sidecar.xmp");
  const char *labels[] = { "cat", NULL };
  const char *subject[] = { "holiday", "cat", NULL };
  GError *error = NULL;

  write_file (real, existing_sidecar, -1);
  g_assert_cmpint (symlink ("real-sidecar.xmp", sidecar), ==, 0);
  g_assert_true (tag (img, labels, HIPPO_TAG_MODE_SIDECAR, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (sidecar, G_FILE_TEST_IS_SYMLINK));
  assert_tag_is (real, "Xmp.dc.subject", subject);
}

/* ---- in place ---- */

static void
pixels_equal (const char *a, const char *b)
{
  GError *error = NULL;
  g_autoptr (GdkPixbuf) pa = gdk_pixbuf_new_from_file (a, &error);
  g_autoptr (GdkPixbuf) pb = NULL;

  g_assert_no_error (error);
  pb = gdk_pixbuf_new_from_file (b, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (pa), ==, gdk_pixbuf_get_width (pb));
  g_assert_cmpint (gdk_pixbuf_get_height (pa), ==, gdk_pixbuf_get_height (pb));
  g_assert_cmpmem (gdk_pixbuf_read_pixels (pa), gdk_pixbuf_get_byte_length (pa),
                   gdk_pixbuf_read_pixels (pb),
                   gdk_pixbuf_get_byte_length (pb));
}

static char *
copy_of (const char *path, const char *name)
{
  g_autofree char *data = NULL;
  char *out = tmp_path (name);
  gsize len = 0;
  GError *error = NULL;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  write_file (out, data, (gssize) len);
  return out;
}

static char *
make_jpeg_with_metadata (const char *dir, const char *name)
{
  char *img = make_image (dir, name, "jpeg");
  GExiv2Metadata *m = gexiv2_metadata_new ();
  const char *kw[] = { "existing", NULL };
  const char *iptc[] = { "existing-iptc", NULL };
  GError *error = NULL;

  gexiv2_metadata_open_path (m, img, &error);
  g_assert_no_error (error);
  gexiv2_metadata_try_set_tag_string (m, "Exif.Photo.DateTimeOriginal",
                                      "2021:06:15 10:20:30", &error);
  g_assert_no_error (error);
  gexiv2_metadata_try_set_tag_string (m, "Exif.Image.Make", "Hippocam", &error);
  g_assert_no_error (error);
  gexiv2_metadata_try_set_tag_multiple (m, "Xmp.dc.subject", kw, &error);
  g_assert_no_error (error);
  gexiv2_metadata_try_set_tag_multiple (m, "Iptc.Application2.Keywords", iptc,
                                        &error);
  g_assert_no_error (error);
  gexiv2_metadata_save_file (m, img, &error);
  g_assert_no_error (error);
  g_object_unref (m);
  return img;
}

static void
test_in_place_jpeg (void)
{
  g_autofree char *img = make_jpeg_with_metadata (tmpdir, "inplace.jpg");
  g_autofree char *orig = copy_of (img, "inplace-orig.jpg.bak");
  g_autofree char *sidecar = hippo_tag_sidecar_path (img);
  g_autofree char *date = NULL;
  g_autofree char *make = NULL;
  g_autofree char *h1 = NULL;
  g_autofree char *h2 = NULL;
  g_autofree char *px = NULL;
  const char *labels[] = { "cat", "chat noir", NULL };
  const char *subject[] = { "existing", "cat", "chat noir", NULL };
  const char *iptc[] = { "existing-iptc", "cat", "chat noir", NULL };
  const char *tags[] = { "Hippotag/cat", "Hippotag/chat noir", NULL };
  gboolean changed = FALSE;
  GError *error = NULL;
  struct stat st;

  g_assert_cmpint (chmod (img, 0640), ==, 0);
  g_assert_true (tag (img, labels, HIPPO_TAG_MODE_IN_PLACE, &changed, &error));
  g_assert_no_error (error);
  g_assert_true (changed);
  g_assert_false (g_file_test (sidecar, G_FILE_TEST_EXISTS));
  g_assert_cmpint (count_temp_files (tmpdir), ==, 0);

  date = get_tag_string (img, "Exif.Photo.DateTimeOriginal");
  g_assert_cmpstr (date, ==, "2021:06:15 10:20:30");
  make = get_tag_string (img, "Exif.Image.Make");
  g_assert_cmpstr (make, ==, "Hippocam");
  assert_tag_is (img, "Xmp.dc.subject", subject);
  assert_tag_is (img, "Iptc.Application2.Keywords", iptc);
  assert_tag_is (img, "Xmp.digiKam.TagsList", tags);
  pixels_equal (img, orig);
  g_assert_cmpint (stat (img, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0640);

  px = exiv2_px (img);
  if (px != NULL)
    assert_exiv2_line (px, "Xmp.dc.subject", "XmpBag",
                       "existing, cat, chat noir");

  h1 = file_sha256 (img);
  g_assert_true (tag (img, labels, HIPPO_TAG_MODE_IN_PLACE, &changed, &error));
  g_assert_no_error (error);
  g_assert_false (changed);
  h2 = file_sha256 (img);
  g_assert_cmpstr (h1, ==, h2);
}

static void
test_in_place_png_and_symlink (void)
{
  g_autofree char *img = make_image (tmpdir, "inplace.png", "png");
  g_autofree char *orig = copy_of (img, "inplace-orig.png.bak");
  g_autofree char *link = tmp_path ("inplace-link.png");
  g_autofree char *data = NULL;
  const char *labels[] = { "dog", NULL };
  const char *subject[] = { "dog", NULL };
  gsize len = 0;
  GError *error = NULL;

  g_assert_cmpint (symlink ("inplace.png", link), ==, 0);
  g_assert_true (tag (link, labels, HIPPO_TAG_MODE_IN_PLACE, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  assert_tag_is (img, "Xmp.dc.subject", subject);
  pixels_equal (img, orig);
  g_file_get_contents (img, &data, &len, &error);
  g_assert_no_error (error);
  g_assert_nonnull (memmem (data, len, "iTXtXML:com.adobe.xmp", 21));
  {
    g_auto (GStrv) kw = hippo_tag_read_keywords (link, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (g_strv_length (kw), ==, 1);
    g_assert_cmpstr (kw[0], ==, "dog");
  }
}

/* A 1x1 GIF. */
static const guint8 tiny_gif[]
  = { 'G', 'I', 'F', '8', '9',  'a',  1,    0,    1,    0, 0x80, 0,
      0,   0,   0,   0,   0xff, 0xff, 0xff, 0x2c, 0,    0, 0,    0,
      1,   0,   1,   0,   0,    2,    2,    0x44, 0x01, 0, 0x3b };

static void
test_in_place_unsupported (void)
{
  g_autofree char *img = tmp_path ("tiny.gif");
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *junk = tmp_path ("junk.jpg");
  g_autofree char *bmp = NULL;
  const char *labels[] = { "cat", NULL };
  GError *error = NULL;

  write_file (img, (const char *) tiny_gif, sizeof tiny_gif);
  before = file_sha256 (img);
  /* exiv2 0.27 cannot parse GIF at all; newer ones can but cannot write it */
  g_assert_false (tag (img, labels, HIPPO_TAG_MODE_IN_PLACE, NULL, &error));
  g_assert_nonnull (error);
  g_assert_true (error->code == HIPPO_ERROR_IMAGE
                 || error->code == HIPPO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "sidecar"));
  g_clear_error (&error);
  after = file_sha256 (img);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpint (count_temp_files (tmpdir), ==, 0);
  /* ... and the sidecar works for it */
  g_assert_true (tag (img, labels, HIPPO_TAG_MODE_SIDECAR, NULL, &error));
  g_assert_no_error (error);

  /* BMP: exiv2 reads it but it holds no XMP */
  bmp = make_image (tmpdir, "tiny.bmp", "bmp");
  g_free (before);
  before = file_sha256 (bmp);
  g_assert_false (tag (bmp, labels, HIPPO_TAG_MODE_IN_PLACE, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "sidecar"));
  g_clear_error (&error);
  g_free (after);
  after = file_sha256 (bmp);
  g_assert_cmpstr (before, ==, after);

  write_file (junk, "this is not a JPEG", -1);
  g_assert_false (tag (junk, labels, HIPPO_TAG_MODE_IN_PLACE, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IMAGE);
  g_clear_error (&error);
  g_assert_cmpint (count_temp_files (tmpdir), ==, 0);
}

/* ---- faults ---- */

static void
test_read_only_folder (void)
{
  g_autofree char *mnt = mount_tmpfs ("ro-mnt", "1m");
  g_autofree char *img = NULL;
  g_autofree char *sidecar = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  const char *labels[] = { "cat", NULL };
  GError *error = NULL;

  if (mnt == NULL)
    return;
  img = make_jpeg_with_metadata (mnt, "ro.jpg");
  sidecar = hippo_tag_sidecar_path (img);
  before = file_sha256 (img);
  g_assert_cmpint (mount (NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, "size=1m"),
                   ==, 0);

  g_assert_false (tag (img, labels, HIPPO_TAG_MODE_SIDECAR, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IO);
  g_clear_error (&error);
  g_assert_false (g_file_test (sidecar, G_FILE_TEST_EXISTS));
  g_assert_false (tag (img, labels, HIPPO_TAG_MODE_IN_PLACE, NULL, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IO);
  g_clear_error (&error);
  after = file_sha256 (img);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpint (count_temp_files (mnt), ==, 0);
  unmount (mnt);
}

/* A file without write permission (0444, in a writable folder) is not
 * rewritten in place, not even by root; its sidecar still works. */
static void
test_read_only_file (void)
{
  g_autofree char *img = make_jpeg_with_metadata (tmpdir, "ro-file.jpg");
  g_autofree char *sidecar = hippo_tag_sidecar_path (img);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  const char *labels[] = { "cat", NULL };
  gboolean changed = TRUE;
  GError *error = NULL;

  g_assert_cmpint (chmod (img, 0444), ==, 0);
  before = file_sha256 (img);
  g_assert_false (tag (img, labels, HIPPO_TAG_MODE_IN_PLACE, &changed, &error));
  g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "read-only"));
  g_assert_nonnull (strstr (error->message, "ro-file.jpg"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_false (changed);
  after = file_sha256 (img);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpint (count_temp_files (tmpdir), ==, 0);
  g_assert_true (tag (img, labels, HIPPO_TAG_MODE_SIDECAR, &changed, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (sidecar, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (chmod (img, 0644), ==, 0);
}

/* Fills the file system of DIR up to KEEP bytes free (tmpfs accounts in
 * pages). */
static void
fill_to (const char *filler, gsize keep)
{
  int fd = open (filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  char buf[4096];

  memset (buf, 0x5a, sizeof buf);
  g_assert_cmpint (fd, >=, 0);
  while (write (fd, buf, sizeof buf) == (ssize_t) sizeof buf)
    ;
  g_assert_cmpint (errno, ==, ENOSPC);
  if (keep > 0)
    {
      struct stat st;

      g_assert_cmpint (fstat (fd, &st), ==, 0);
      g_assert_cmpint (ftruncate (fd, st.st_size > (off_t) keep
                                        ? st.st_size - (off_t) keep
                                        : 0),
                       ==, 0);
    }
  close (fd);
}

static void
test_full_disk (void)
{
  g_autofree char *mnt = mount_tmpfs ("full-mnt", "512k");
  g_autofree char *img = NULL;
  g_autofree char *sidecar = NULL;
  g_autofree char *filler = NULL;
  g_autofree char *before = NULL;
  g_autofree char *orig = NULL;
  g_autofree char *before_sidecar = NULL;
  g_autoptr (GPtrArray) many = g_ptr_array_new_with_free_func (g_free);
  const char *const *labels;
  gboolean tagged = FALSE;
  int failures = 0;
  int roomy_failures = 0;
  struct stat st;

  if (mnt == NULL)
    return;
  img = make_jpeg_with_metadata (mnt, "big-full.jpg");
  sidecar = hippo_tag_sidecar_path (img);
  filler = g_build_filename (mnt, "filler", NULL);
  before = file_sha256 (img);
  orig = copy_of (img, "full-orig.jpg.bak");
  g_assert_cmpint (stat (img, &st), ==, 0);
  /* enough keywords to grow the file by a few pages, so that some sizes
   * fail while exiv2 rewrites the copy rather than while copying */
  for (int i = 0; i < 40; i++)
    g_ptr_array_add (
      many, g_strdup_printf ("label %02d padded to sixty bytes for IPTC %s", i,
                             "................."));
  g_ptr_array_add (many, NULL);
  labels = (const char *const *) many->pdata;

  /* No room at all: both modes fail, nothing changes. */
  fill_to (filler, 0);
  {
    GError *error = NULL;
    g_autofree char *after = NULL;

    g_assert_false (tag (img, labels, HIPPO_TAG_MODE_SIDECAR, NULL, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IO);
    g_clear_error (&error);
    g_assert_false (g_file_test (sidecar, G_FILE_TEST_EXISTS));
    g_assert_false (tag (img, labels, HIPPO_TAG_MODE_IN_PLACE, NULL, &error));
    g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IO);
    g_clear_error (&error);
    after = file_sha256 (img);
    g_assert_cmpstr (before, ==, after);
    g_assert_cmpint (count_temp_files (mnt), ==, 0);
  }

  /* Growing free space one page at a time: every attempt either fails with
   * the original intact or succeeds completely. */
  for (gsize pages = 1; pages < 64 && !tagged; pages++)
    {
      GError *error = NULL;
      g_autofree char *after = NULL;

      fill_to (filler, pages * 4096);
      tagged = tag (img, labels, HIPPO_TAG_MODE_IN_PLACE, NULL, &error);
      g_assert_cmpint (count_temp_files (mnt), ==, 0);
      after = file_sha256 (img);
      if (!tagged)
        {
          g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IO);
          g_test_message ("%zu pages free: %s", pages, error->message);
          if (pages * 4096 >= (gsize) st.st_size)
            roomy_failures++;
          g_clear_error (&error);
          g_assert_cmpstr (before, ==, after);
          failures++;
        }
      else
        {
          g_auto (GStrv) subject = get_tag (img, "Xmp.dc.subject");
          g_autofree char *date = NULL;

          g_assert_no_error (error);
          g_assert_cmpstr (before, !=, after);
          g_assert_cmpuint (g_strv_length (subject), ==, 41);
          g_assert_cmpstr (subject[0], ==, "existing");
          g_assert_cmpstr (subject[40], ==, labels[39]);
          date = get_tag_string (img, "Exif.Photo.DateTimeOriginal");
          g_assert_cmpstr (date, ==, "2021:06:15 10:20:30");
          pixels_equal (img, orig);
        }
    }
  g_assert_true (tagged);
  g_assert_cmpint (failures, >, 0);
  /* exiv2 alone would report success and leave a truncated file when there
   * is room for a copy but not for the grown file */
  g_assert_cmpint (roomy_failures, >, 0);
  g_test_message ("in place on a full disk: %d failing sizes (%d with room "
                  "for a plain copy), then success",
                  failures, roomy_failures);

  /* The same for a sidecar that grows: it is either complete or as it was.
   */
  write_file (sidecar, existing_sidecar, -1);
  before_sidecar = file_sha256 (sidecar);
  tagged = FALSE;
  failures = 0;
  for (gsize pages = 0; pages < 64 && !tagged; pages++)
    {
      GError *error = NULL;
      g_autofree char *after = NULL;

      fill_to (filler, pages * 4096);
      tagged = tag (img, labels, HIPPO_TAG_MODE_SIDECAR, NULL, &error);
      g_assert_cmpint (count_temp_files (mnt), ==, 0);
      after = file_sha256 (sidecar);
      if (!tagged)
        {
          g_assert_error (error, HIPPO_ERROR, HIPPO_ERROR_IO);
          g_clear_error (&error);
          g_assert_cmpstr (before_sidecar, ==, after);
          failures++;
        }
      else
        {
          g_auto (GStrv) subject = get_tag (sidecar, "Xmp.dc.subject");
          g_autofree char *rating = get_tag_string (sidecar, "Xmp.xmp.Rating");

          g_assert_no_error (error);
          g_assert_cmpuint (g_strv_length (subject), ==, 42);
          g_assert_cmpstr (subject[0], ==, "holiday");
          g_assert_cmpstr (rating, ==, "3");
        }
    }
  g_assert_true (tagged);
  g_assert_cmpint (failures, >, 1);
  unmount (mnt);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("hippotag-test-tag-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  /* Mounts made by the fault tests vanish with this process. */
  have_mount_ns = unshare (CLONE_NEWNS) == 0
                  && mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
  if (!have_mount_ns)
    g_printerr ("# no private mount namespace: tmpfs tests may be skipped\n");

  g_test_add_func ("/tag/sidecar/basic", test_sidecar_basic);
  g_test_add_func ("/tag/sidecar/idempotent", test_sidecar_idempotent);
  g_test_add_func ("/tag/sidecar/keeps-existing", test_sidecar_keeps_existing);
  g_test_add_func ("/tag/sidecar/options", test_sidecar_options);
  g_test_add_func ("/tag/sidecar/malformed", test_sidecar_malformed);
  g_test_add_func ("/tag/sidecar/symlink", test_sidecar_symlink);
  g_test_add_func ("/tag/foreign-namespace", test_foreign_namespace);
  g_test_add_func ("/tag/in-place/jpeg", test_in_place_jpeg);
  g_test_add_func ("/tag/in-place/png-symlink", test_in_place_png_and_symlink);
  g_test_add_func ("/tag/in-place/unsupported", test_in_place_unsupported);
  g_test_add_func ("/tag/fault/read-only-folder", test_read_only_folder);
  g_test_add_func ("/tag/fault/read-only-file", test_read_only_file);
  g_test_add_func ("/tag/fault/full-disk", test_full_disk);
  ret = g_test_run ();
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmpdir);

    (void) !system (cmd);
  }
  g_free (tmpdir);
  return ret;
}
