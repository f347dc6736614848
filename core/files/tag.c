/* Writing labels as keywords: XMP sidecars and in-place metadata (gexiv2). */
#define _GNU_SOURCE
#include "hippotag/hippotag-tag.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gexiv2/gexiv2.h>

#define KEY_SUBJECT "Xmp.dc.subject"
#define KEY_HIER "Xmp.lr.hierarchicalSubject"
#define KEY_TAGSLIST "Xmp.digiKam.TagsList"
#define KEY_IPTC "Iptc.Application2.Keywords"
#define KEY_IPTC_CHARSET "Iptc.Envelope.CharacterSet"
#define IPTC_UTF8 "\033%G"
#define IPTC_KEYWORD_MAX 64
#define LABEL_MAX 1024

/* What exiv2 reads from an empty sidecar. */
static const char empty_packet[]
  = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
    "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/>"
    "</x:xmpmeta>\n";

static void
exiv2_log_to_debug (GExiv2LogLevel level, const gchar *msg)
{
  gsize len = strlen (msg);

  while (len > 0 && g_ascii_isspace (msg[len - 1]))
    len--;
  g_debug ("exiv2: %.*s", (int) len, msg);
}

static gpointer
tag_init_once (gpointer data)
{
  gexiv2_initialize ();
  /* Exiv2 warns through g_warning/g_critical by default: a bad file must
   * not look like a bug (or abort a test run). */
  gexiv2_log_set_handler (exiv2_log_to_debug);
  return NULL;
}

static void
tag_init (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, tag_init_once, NULL);
}

void
hippo_tag_params_default (HippoTagParams *params)
{
  g_return_if_fail (params != NULL);

  params->mode = HIPPO_TAG_MODE_SIDECAR;
  params->parent = HIPPO_TAG_PARENT_DEFAULT;
  params->dry_run = FALSE;
}

char *
hippo_tag_sidecar_path (const char *path)
{
  g_return_val_if_fail (path != NULL, NULL);

  return g_strconcat (path, ".xmp", NULL);
}

static void
set_errno_error (GError **error, int err, const char *what, const char *path)
{
  g_autofree char *display = g_filename_display_name (path);

  g_set_error (error, HIPPO_ERROR,
               err == ENOENT ? HIPPO_ERROR_NOT_FOUND : HIPPO_ERROR_IO,
               "%s %s: %s", what, display, g_strerror (err));
}

static void
prefix_gexiv2_error (GError **error, GError *local, HippoErrorCode code,
                     const char *what, const char *path)
{
  g_autofree char *display = g_filename_display_name (path);

  g_set_error (error, HIPPO_ERROR, code, "%s %s: %s", what, display,
               local != NULL ? local->message : "unknown exiv2 error");
}

static gboolean
check_labels (const char *const *labels, GError **error)
{
  for (gsize i = 0; labels[i] != NULL; i++)
    {
      const char *l = labels[i];
      gsize len = strlen (l);

      if (len == 0 || len > LABEL_MAX || !g_utf8_validate (l, len, NULL))
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                       "label %zu is empty, too long or not UTF-8", i + 1);
          return FALSE;
        }
      for (const char *p = l; *p != '\0'; p = g_utf8_next_char (p))
        {
          gunichar c = g_utf8_get_char (p);

          if (g_unichar_iscntrl (c))
            {
              g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                           "label \"%s\" contains a control character", l);
              return FALSE;
            }
        }
    }
  return TRUE;
}

/* Adds the values missing from tag KEY; sets *changed when any was. */
static gboolean
merge_values (GExiv2Metadata *meta, const char *key, GPtrArray *values,
              gboolean *changed, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) old = NULL;
  g_autoptr (GPtrArray) merged = g_ptr_array_new ();
  gboolean added = FALSE;

  old = gexiv2_metadata_try_get_tag_multiple (meta, key, &local);
  if (local != NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IMAGE, "cannot read %s: %s",
                   key, local->message);
      return FALSE;
    }
  for (gsize i = 0; old != NULL && old[i] != NULL; i++)
    g_ptr_array_add (merged, old[i]);
  for (guint i = 0; i < values->len; i++)
    {
      const char *v = g_ptr_array_index (values, i);
      gboolean found = FALSE;

      for (guint j = 0; j < merged->len && !found; j++)
        found = strcmp (g_ptr_array_index (merged, j), v) == 0;
      if (!found)
        {
          g_ptr_array_add (merged, (gpointer) v);
          added = TRUE;
        }
    }
  if (!added)
    return TRUE;
  g_ptr_array_add (merged, NULL);
  if (!gexiv2_metadata_try_set_tag_multiple (
        meta, key, (const gchar **) merged->pdata, &local))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IMAGE, "cannot set %s: %s",
                   key, local != NULL ? local->message : "unknown error");
      return FALSE;
    }
  *changed = TRUE;
  return TRUE;
}

static gboolean
is_ascii (const char *s)
{
  for (; *s != '\0'; s++)
    if ((guchar) *s >= 0x80)
      return FALSE;
  return TRUE;
}

/* IPTC Keywords: at most 64 bytes each; non-ASCII only when the IPTC block
 * is (or can be declared) UTF-8. */
static gboolean
merge_iptc (GExiv2Metadata *meta, const char *const *labels, gboolean *changed,
            GError **error)
{
  g_autoptr (GPtrArray) values = g_ptr_array_new ();
  g_autofree char *charset = NULL;
  gboolean utf8_ok;
  gboolean need_utf8 = FALSE;
  gboolean added = FALSE;

  charset = gexiv2_metadata_try_get_tag_string (meta, KEY_IPTC_CHARSET, NULL);
  utf8_ok = charset == NULL || strcmp (charset, IPTC_UTF8) == 0;
  for (gsize i = 0; labels[i] != NULL; i++)
    {
      if (strlen (labels[i]) > IPTC_KEYWORD_MAX)
        continue;
      if (!is_ascii (labels[i]))
        {
          if (!utf8_ok)
            continue;
          need_utf8 = TRUE;
        }
      g_ptr_array_add (values, (gpointer) labels[i]);
    }
  if (!merge_values (meta, KEY_IPTC, values, &added, error))
    return FALSE;
  if (added && need_utf8 && charset == NULL)
    {
      g_autoptr (GError) local = NULL;

      if (!gexiv2_metadata_try_set_tag_string (meta, KEY_IPTC_CHARSET,
                                               IPTC_UTF8, &local))
        {
          g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IMAGE,
                       "cannot set the IPTC character set: %s",
                       local != NULL ? local->message : "unknown error");
          return FALSE;
        }
    }
  if (added)
    *changed = TRUE;
  return TRUE;
}

/* The XMP values of the labels: dc:subject, lr:hierarchicalSubject and
 * digiKam TagsList, in these three arrays. */
static void
xmp_values (const char *const *labels, const char *parent, GPtrArray *subject,
            GPtrArray *hier, GPtrArray *tagslist)
{
  gboolean flat = parent == NULL || parent[0] == '\0';

  for (gsize i = 0; labels[i] != NULL; i++)
    {
      g_ptr_array_add (subject, g_strdup (labels[i]));
      g_ptr_array_add (hier, flat ? g_strdup (labels[i])
                                  : g_strconcat (parent, "|", labels[i], NULL));
      g_ptr_array_add (tagslist,
                       flat ? g_strdup (labels[i])
                            : g_strconcat (parent, "/", labels[i], NULL));
    }
}

static gboolean
merge_xmp (GExiv2Metadata *meta, const char *const *labels, const char *parent,
           gboolean *changed, GError **error)
{
  g_autoptr (GPtrArray) subject = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) hier = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tagslist = g_ptr_array_new_with_free_func (g_free);

  xmp_values (labels, parent, subject, hier, tagslist);
  return merge_values (meta, KEY_SUBJECT, subject, changed, error)
         && merge_values (meta, KEY_HIER, hier, changed, error)
         && merge_values (meta, KEY_TAGSLIST, tagslist, changed, error);
}

/* TRUE when the tag KEY holds every value. */
static gboolean
values_present (GExiv2Metadata *meta, const char *key, GPtrArray *values)
{
  g_auto (GStrv) have = gexiv2_metadata_try_get_tag_multiple (meta, key, NULL);

  for (guint i = 0; i < values->len; i++)
    if (have == NULL
        || !g_strv_contains ((const char *const *) have, values->pdata[i]))
      return FALSE;
  return TRUE;
}

/* The namespaces of the properties written here. Exiv2 (and the XMP
 * toolkit inside it) keeps one process-wide table of XMP prefixes, and
 * reading a packet changes it (found by fuzzing): a packet binding "lr" to
 * another URI made exiv2 write lr:hierarchicalSubject, for every later file
 * of the process, in that namespace as one text value; a packet binding the
 * Lightroom URI to the prefix "l" made it write "l:hierarchicalSubject"
 * without declaring "l", so every later sidecar was unreadable. So a packet
 * binding one of these prefixes or URIs otherwise is never given to exiv2,
 * and what a packet's prefixes mapped to is put back after each file. */
static const struct
{
  const char *prefix;
  const char *uri;
} own_ns[] = {
  { "dc", "http://purl.org/dc/elements/1.1/" },
  { "lr", "http://ns.adobe.com/lightroom/1.0/" },
  { "digiKam", "http://www.digikam.org/ns/1.0/" },
};

/* TRUE when exiv2 still maps the prefixes of own_ns to their URIs; else
 * restores them (drops the registration that replaced one), sets *prefix
 * to the first that was wrong and returns FALSE. */
static gboolean
own_namespaces_intact (const char **prefix)
{
  gboolean intact = TRUE;

  for (gsize i = 0; i < G_N_ELEMENTS (own_ns); i++)
    {
      g_autofree char *uri = gexiv2_metadata_try_get_xmp_namespace_for_tag (
        own_ns[i].prefix, NULL);

      if (g_strcmp0 (uri, own_ns[i].uri) == 0)
        continue;
      if (intact && prefix != NULL)
        *prefix = own_ns[i].prefix;
      intact = FALSE;
      if (uri != NULL)
        gexiv2_metadata_try_unregister_xmp_namespace (uri, NULL);
    }
  return intact;
}

/* At most this many prefixes in one packet (real ones have tens). */
#define MAX_BINDINGS 1000

/* A prefix a packet declares, and exiv2's URI for it before the packet was
 * read (NULL: none). */
typedef struct
{
  char *prefix;
  char *before;
} Binding;

static void
binding_free (gpointer data)
{
  Binding *b = data;

  g_free (b->prefix);
  g_free (b->before);
  g_free (b);
}

static char *
ns_for_prefix (const char *prefix)
{
  g_autoptr (GError) local = NULL;

  return gexiv2_metadata_try_get_xmp_namespace_for_tag (prefix, &local);
}

/* The xmlns:PREFIX="URI" declarations in data (a sidecar, or a whole image
 * file with its XMP packet somewhere), each prefix once, with exiv2's
 * current URI for it. NULL with *why set when one binds an own prefix to
 * another URI or an own URI to another prefix, or when there are too many:
 * such a packet must not reach exiv2. */
static GPtrArray *
read_bindings (const char *data, gsize len, char **why)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (binding_free);
  g_autoptr (GHashTable) seen
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *end = data + len;
  const char *p = data;

  while ((p = memmem (p, end - p, "xmlns:", 6)) != NULL)
    {
      const char *name = p + 6, *q = name, *close;
      g_autofree char *prefix = NULL, *uri = NULL;
      char quote;

      p = name;
      while (q < end && q - name < 256 && !strchr (" \t\r\n=/>'\"", *q))
        q++;
      if (q == name || q == end)
        continue;
      prefix = g_strndup (name, q - name);
      while (q < end && strchr (" \t\r\n", *q))
        q++;
      if (q == end || *q++ != '=')
        continue;
      while (q < end && strchr (" \t\r\n", *q))
        q++;
      if (q == end || (*q != '"' && *q != '\''))
        continue;
      quote = *q++;
      close = memchr (q, quote, MIN ((gsize) (end - q), 8192));
      if (close == NULL)
        continue;
      uri = g_strndup (q, close - q);
      for (gsize k = 0; k < G_N_ELEMENTS (own_ns); k++)
        {
          gboolean same_prefix = strcmp (prefix, own_ns[k].prefix) == 0;
          gboolean same_uri = strcmp (uri, own_ns[k].uri) == 0;

          if (same_prefix != same_uri)
            {
              g_autofree char *vp = g_utf8_make_valid (prefix, -1);
              g_autofree char *vu = g_utf8_make_valid (uri, -1);

              *why = g_strdup_printf (
                "it binds the XMP prefix “%s” to “%s”, where the keywords "
                "need “%s” bound to “%s”",
                vp, vu, own_ns[k].prefix, own_ns[k].uri);
              return NULL;
            }
        }
      if (!g_hash_table_contains (seen, prefix))
        {
          Binding *b = g_new0 (Binding, 1);

          if (out->len == MAX_BINDINGS)
            {
              *why = g_strdup_printf ("it declares more than %d XMP prefixes",
                                      MAX_BINDINGS);
              return NULL;
            }
          b->prefix = g_strdup (prefix);
          b->before = ns_for_prefix (prefix);
          g_ptr_array_add (out, b);
          g_hash_table_add (seen, g_steal_pointer (&prefix));
        }
    }
  return g_steal_pointer (&out);
}

/* Puts exiv2's prefixes back as they were before the packet of bindings was
 * read, and frees bindings. */
static void
restore_bindings (GPtrArray *bindings)
{
  if (bindings == NULL)
    return;
  for (guint i = 0; i < bindings->len; i++)
    {
      Binding *b = bindings->pdata[i];
      g_autofree char *now = ns_for_prefix (b->prefix);

      if (g_strcmp0 (now, b->before) == 0)
        continue;
      if (now != NULL)
        gexiv2_metadata_try_unregister_xmp_namespace (now, NULL);
      if (b->before != NULL)
        {
          g_autofree char *back = ns_for_prefix (b->prefix);

          if (g_strcmp0 (back, b->before) != 0)
            gexiv2_metadata_try_register_xmp_namespace (b->before, b->prefix,
                                                        NULL);
        }
    }
  own_namespaces_intact (NULL);
  g_ptr_array_unref (bindings);
}

/* The bindings of a whole file (an image), mapped; NULL with *why as
 * read_bindings(), or with *why NULL when it cannot be mapped (exiv2 will
 * not read it either then). */
static GPtrArray *
read_file_bindings (const char *path, char **why)
{
  GMappedFile *map = g_mapped_file_new (path, FALSE, NULL);
  GPtrArray *bindings;

  *why = NULL;
  if (map == NULL)
    return NULL;
  bindings = read_bindings (g_mapped_file_get_contents (map),
                            g_mapped_file_get_length (map), why);
  g_mapped_file_unref (map);
  return bindings;
}

/* Sidecar well-formedness: GMarkup must parse it, it must have an rdf:RDF,
 * and we note whether it holds any property (so that an XMP packet exiv2
 * silently fails to decode is caught instead of being overwritten). */
typedef struct
{
  int depth;
  int desc_depth;
  gboolean saw_rdf;
  gboolean has_props;
} SidecarScan;

static gboolean
name_is (const char *name, const char *local)
{
  const char *colon = strrchr (name, ':');

  return strcmp (colon != NULL ? colon + 1 : name, local) == 0;
}

static void
scan_start (GMarkupParseContext *ctx, const char *name, const char **attr,
            const char **values, gpointer data, GError **error)
{
  SidecarScan *s = data;

  s->depth++;
  if (name_is (name, "RDF"))
    s->saw_rdf = TRUE;
  if (s->desc_depth > 0 && s->depth > s->desc_depth)
    s->has_props = TRUE;
  else if (s->desc_depth == 0 && name_is (name, "Description"))
    {
      s->desc_depth = s->depth;
      for (gsize i = 0; attr[i] != NULL; i++)
        if (!g_str_has_prefix (attr[i], "xmlns") && !name_is (attr[i], "about")
            && !name_is (attr[i], "ID") && !name_is (attr[i], "nodeID"))
          s->has_props = TRUE;
    }
}

static void
scan_end (GMarkupParseContext *ctx, const char *name, gpointer data,
          GError **error)
{
  SidecarScan *s = data;

  if (s->depth == s->desc_depth)
    s->desc_depth = 0;
  s->depth--;
}

static gboolean
scan_sidecar (const char *data, gsize len, const char *path, SidecarScan *scan,
              GError **error)
{
  static const GMarkupParser parser
    = { scan_start, scan_end, NULL, NULL, NULL };
  g_autoptr (GError) local = NULL;
  g_autofree char *display = g_filename_display_name (path);
  GMarkupParseContext *ctx;
  gboolean ok;

  memset (scan, 0, sizeof *scan);
  if (len >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    {
      data += 3;
      len -= 3;
    }
  ctx = g_markup_parse_context_new (&parser, 0, scan, NULL);
  ok = g_markup_parse_context_parse (ctx, data, len, &local)
       && g_markup_parse_context_end_parse (ctx, &local);
  g_markup_parse_context_free (ctx);
  if (!ok || !scan->saw_rdf)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED,
                   "malformed XMP sidecar %s (left untouched): %s", display,
                   local != NULL ? local->message : "no rdf:RDF element");
      return FALSE;
    }
  return TRUE;
}

/* Reads all of FD (at most MAX bytes) into a new buffer. */
static gboolean
read_fd_all (int fd, gsize max, char **data_out, gsize *len_out,
             const char *path, GError **error)
{
  struct stat st;
  g_autofree char *buf = NULL;
  gsize len = 0;

  if (fstat (fd, &st) != 0)
    {
      set_errno_error (error, errno, "cannot stat", path);
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                   "%s is not a regular file", display);
      return FALSE;
    }
  if (st.st_size < 0 || (guint64) st.st_size > max)
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                   "%s is larger than %zu bytes", display, max);
      return FALSE;
    }
  buf = g_malloc ((gsize) st.st_size + 1);
  while (len <= (gsize) st.st_size)
    {
      ssize_t n = read (fd, buf + len, (gsize) st.st_size + 1 - len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          set_errno_error (error, errno, "cannot read", path);
          return FALSE;
        }
      if (n == 0)
        break;
      len += (gsize) n;
    }
  if (len > (gsize) st.st_size)
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                   "%s grew while being read", display);
      return FALSE;
    }
  *data_out = g_steal_pointer (&buf);
  *len_out = len;
  return TRUE;
}

/* Decodes sidecar bytes with the checks above. On success *bindings_out
 * holds the packet's prefixes, to be put back with restore_bindings() once
 * done with the metadata. */
static GExiv2Metadata *
parse_sidecar (const char *data, gsize len, const char *sidecar,
               GPtrArray **bindings_out, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *display = g_filename_display_name (sidecar);
  g_autofree char *why = NULL;
  GExiv2Metadata *meta;
  SidecarScan scan;
  GPtrArray *bindings;
  const char *prefix = NULL;
  gboolean opened;

  if (!scan_sidecar (data, len, sidecar, &scan, error))
    return NULL;
  bindings = read_bindings (data, len, &why);
  if (bindings == NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED,
                   "malformed XMP sidecar %s (left untouched): %s", display,
                   why);
      return NULL;
    }
  meta = gexiv2_metadata_new ();
  opened = gexiv2_metadata_open_buf (meta, (const guint8 *) data, (glong) len,
                                     &local);
  if (!own_namespaces_intact (&prefix))
    g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED,
                 "malformed XMP sidecar %s (left untouched): its XMP rebinds "
                 "the prefix “%s” of the keywords",
                 display, prefix);
  else if (!opened || (scan.has_props && !gexiv2_metadata_has_xmp (meta)))
    g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED,
                 "malformed XMP sidecar %s (left untouched): %s", display,
                 local != NULL ? local->message
                               : "exiv2 cannot decode its XMP");
  else
    {
      /* A sidecar is pure XMP: drop exiv2's derived Exif/IPTC copies so
       * that writing does not convert them back over our changes. */
      gexiv2_metadata_clear_exif (meta);
      gexiv2_metadata_clear_iptc (meta);
      *bindings_out = bindings;
      return meta;
    }
  g_object_unref (meta);
  restore_bindings (bindings);
  return NULL;
}

/* Opens an existing sidecar (or an empty packet when there is none) with
 * the checks above. *exists_out tells which; *bindings_out as
 * parse_sidecar(). */
static GExiv2Metadata *
open_sidecar (const char *sidecar, gboolean *exists_out,
              GPtrArray **bindings_out, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  int fd;

  fd = open (sidecar, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0 && errno != ENOENT)
    {
      set_errno_error (error, errno, "cannot open", sidecar);
      return NULL;
    }
  *exists_out = fd >= 0;
  if (fd >= 0)
    {
      gboolean ok = read_fd_all (fd, HIPPO_TAG_SIDECAR_MAX_BYTES, &data, &len,
                                 sidecar, error);

      close (fd);
      if (!ok)
        return NULL;
    }
  else
    {
      data = g_strdup (empty_packet);
      len = strlen (empty_packet);
    }
  return parse_sidecar (data, len, sidecar, bindings_out, error);
}

/* Exiv2 can write a packet it then cannot read (a namespace URI with an
 * escaped '&' written raw, found by fuzzing): the new sidecar, still a
 * temporary file, must decode and hold every value before it replaces
 * anything. */
static gboolean
sidecar_reads_back (const char *tmp, const char *target,
                    const char *const *labels, const char *parent,
                    GError **error)
{
  g_autoptr (GPtrArray) subject = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) hier = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tagslist = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) local = NULL;
  g_autofree char *data = NULL;
  GPtrArray *bindings = NULL;
  GExiv2Metadata *meta = NULL;
  gboolean ok = FALSE;
  gsize len = 0;
  int fd = open (tmp, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    {
      set_errno_error (error, errno, "cannot reopen", tmp);
      return FALSE;
    }
  ok = read_fd_all (fd, G_MAXSIZE - 1, &data, &len, tmp, error);
  close (fd);
  if (!ok)
    return FALSE;
  meta = parse_sidecar (data, len, target, &bindings, &local);
  xmp_values (labels, parent, subject, hier, tagslist);
  ok = meta != NULL && values_present (meta, KEY_SUBJECT, subject)
       && values_present (meta, KEY_HIER, hier)
       && values_present (meta, KEY_TAGSLIST, tagslist);
  g_clear_object (&meta);
  restore_bindings (bindings);
  if (!ok)
    {
      static const char mark[] = "(left untouched): ";
      g_autofree char *display = g_filename_display_name (target);
      const char *cause = local != NULL ? strstr (local->message, mark) : NULL;

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_FAILED,
                   "cannot merge into the XMP sidecar %s (left untouched): "
                   "exiv2 writes a sidecar that does not read back (%s)",
                   display,
                   cause != NULL ? cause + strlen (mark) : "keywords missing");
    }
  return ok;
}

static gboolean
fsync_path (const char *path, gboolean dir, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));

  if (fd < 0 || fsync (fd) != 0)
    {
      int err = errno;

      if (fd >= 0)
        close (fd);
      set_errno_error (error, err, "cannot sync", path);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* A new temporary file next to TARGET; returns its fd (mode 0600). */
static int
make_temp (const char *target, char **tmp_out, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (target);
  g_autofree char *base = g_path_get_basename (target);
  g_autofree char *name = g_strdup_printf (".%s.hippotag-XXXXXX", base);
  char *tmp = g_build_filename (dir, name, NULL);
  int fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0600);

  if (fd < 0)
    {
      set_errno_error (error, errno, "cannot create a temporary file in", dir);
      g_free (tmp);
      return -1;
    }
  *tmp_out = tmp;
  return fd;
}

static gboolean
same_file_state (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino
         && a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec
         && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Gives TMP the mode (and, where allowed, owner) of ST, syncs it, renames it
 * over TARGET (with NOREPLACE, only where TARGET does not exist) and syncs
 * the folder. */
static gboolean
commit_temp (const char *tmp, const char *target, const struct stat *st,
             gboolean keep_owner, gboolean noreplace, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (target);
  int fd = open (tmp, O_RDWR | O_CLOEXEC);

  if (fd < 0)
    {
      set_errno_error (error, errno, "cannot reopen", tmp);
      return FALSE;
    }
  if (keep_owner)
    (void) !fchown (fd, st->st_uid, st->st_gid);
  if (fchmod (fd, st->st_mode & 07777) != 0 || fsync (fd) != 0)
    {
      int err = errno;

      close (fd);
      set_errno_error (error, err, "cannot write", tmp);
      return FALSE;
    }
  if (close (fd) != 0)
    {
      set_errno_error (error, errno, "cannot write", tmp);
      return FALSE;
    }
  if (noreplace)
    {
      int r = renameat2 (AT_FDCWD, tmp, AT_FDCWD, target, RENAME_NOREPLACE);

      if (r != 0 && (errno == EINVAL || errno == ENOSYS))
        r = link (tmp, target) == 0 ? unlink (tmp) : -1;
      if (r != 0)
        {
          if (errno == EEXIST)
            {
              g_autofree char *display = g_filename_display_name (target);

              g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                           "%s appeared while being written; left as it is",
                           display);
            }
          else
            set_errno_error (error, errno, "cannot create", target);
          return FALSE;
        }
    }
  else if (rename (tmp, target) != 0)
    {
      set_errno_error (error, errno, "cannot replace", target);
      return FALSE;
    }
  /* The rename is done: a failing folder sync is reported, but the file
   * already holds the new content. */
  return fsync_path (dir, TRUE, error);
}

static gboolean
copy_fd (int in, int out, const char *src, const char *dst, GError **error)
{
  g_autofree char *buf = g_malloc (1 << 16);

  for (;;)
    {
      ssize_t n = read (in, buf, 1 << 16);
      ssize_t off = 0;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          set_errno_error (error, errno, "cannot read", src);
          return FALSE;
        }
      if (n == 0)
        return TRUE;
      while (off < n)
        {
          ssize_t w = write (out, buf + off, (gsize) (n - off));

          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              set_errno_error (error, errno, "cannot write", dst);
              return FALSE;
            }
          off += w;
        }
    }
}

/* Exiv2 does not check the result when it closes a file it wrote, so on a
 * full disk it reports success for a truncated file. It therefore writes
 * into a memory file (IN, if >= 0, is the starting content), which is then
 * copied to OUT with checked writes. */
static gboolean
write_through_memory (GExiv2Metadata *meta, gboolean sidecar, int in, int out,
                      const char *tmp, const char *target, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *mpath = NULL;
  gboolean ok = FALSE;
  int mfd;

  mfd = memfd_create ("hippotag-tag", MFD_CLOEXEC);
  if (mfd < 0)
    {
      set_errno_error (error, errno, "cannot create a memory file for", target);
      return FALSE;
    }
  if (in >= 0 && !copy_fd (in, mfd, target, "a memory file", error))
    goto out;
  mpath = g_strdup_printf ("/proc/self/fd/%d", mfd);
  if (sidecar ? !gexiv2_metadata_save_external (meta, mpath, &local)
              : !gexiv2_metadata_save_file (meta, mpath, &local))
    {
      prefix_gexiv2_error (error, local, HIPPO_ERROR_IO,
                           "cannot write the metadata of", target);
      goto out;
    }
  if (lseek (mfd, 0, SEEK_SET) != 0)
    {
      set_errno_error (error, errno, "cannot rewind the memory file for",
                       target);
      goto out;
    }
  ok = copy_fd (mfd, out, "a memory file", tmp, error);

out:
  close (mfd);
  return ok;
}

static gboolean
tag_sidecar (const char *path, const char *const *labels,
             const HippoTagParams *params, gboolean *changed, GError **error)
{
  g_autofree char *sidecar = hippo_tag_sidecar_path (path);
  g_autofree char *target = NULL;
  g_autofree char *tmp = NULL;
  GExiv2Metadata *meta = NULL;
  GPtrArray *bindings = NULL;
  struct stat st_img, st, st_before;
  gboolean exists = FALSE;
  gboolean had;
  gboolean ok = FALSE;
  int fd;

  if (stat (path, &st_img) != 0)
    {
      set_errno_error (error, errno, "cannot tag", path);
      return FALSE;
    }
  if (!S_ISREG (st_img.st_mode))
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s is not a regular file", display);
      return FALSE;
    }
  /* A symlinked sidecar is updated at its target. */
  if (lstat (sidecar, &st) == 0 && S_ISLNK (st.st_mode))
    {
      char *real = realpath (sidecar, NULL);

      if (real == NULL)
        {
          set_errno_error (error, errno, "cannot resolve", sidecar);
          return FALSE;
        }
      target = g_strdup (real);
      free (real);
    }
  else
    target = g_strdup (sidecar);

  had = stat (target, &st_before) == 0;
  meta = open_sidecar (target, &exists, &bindings, error);
  if (meta == NULL)
    return FALSE;
  if (!merge_xmp (meta, labels, params->parent, changed, error))
    goto out;
  if (!*changed || params->dry_run)
    {
      ok = TRUE;
      goto out;
    }
  if (exists
      && (!had || stat (target, &st) != 0
          || !same_file_state (&st_before, &st)))
    {
      g_autofree char *display = g_filename_display_name (target);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                   "%s changed while being read; left as it is", display);
      goto out;
    }
  if (!exists)
    {
      st = st_img;
      st.st_mode = st_img.st_mode & 0666;
    }
  fd = make_temp (target, &tmp, error);
  if (fd < 0)
    goto out;
  if (!write_through_memory (meta, TRUE, -1, fd, tmp, target, error))
    {
      close (fd);
      goto out;
    }
  if (close (fd) != 0)
    {
      set_errno_error (error, errno, "cannot write", tmp);
      goto out;
    }
  g_clear_object (&meta);
  restore_bindings (g_steal_pointer (&bindings));
  if (!sidecar_reads_back (tmp, target, labels, params->parent, error))
    goto out;
  ok = commit_temp (tmp, target, &st, TRUE, !exists, error);
  if (ok)
    g_clear_pointer (&tmp, g_free);

out:
  if (tmp != NULL)
    g_unlink (tmp);
  g_clear_object (&meta);
  restore_bindings (bindings);
  return ok;
}

/* Does the file hold an XMP packet at all (even one exiv2 cannot decode)? */
static gboolean
file_mentions_xmp (const char *path)
{
  static const char *const markers[]
    = { "<x:xmpmeta", "<x:xapmeta", "<rdf:RDF" };
  GMappedFile *map = g_mapped_file_new (path, FALSE, NULL);
  gboolean found = FALSE;

  if (map == NULL)
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (markers) && !found; i++)
    found
      = memmem (g_mapped_file_get_contents (map),
                g_mapped_file_get_length (map), markers[i], strlen (markers[i]))
        != NULL;
  g_mapped_file_unref (map);
  return found;
}

static gboolean
labels_present (GExiv2Metadata *meta, const char *const *labels)
{
  g_auto (GStrv) have
    = gexiv2_metadata_try_get_tag_multiple (meta, KEY_SUBJECT, NULL);

  for (gsize i = 0; labels[i] != NULL; i++)
    if (have == NULL
        || !g_strv_contains ((const char *const *) have, labels[i]))
      return FALSE;
  return TRUE;
}

static gboolean
tag_in_place (const char *path, const char *const *labels,
              const HippoTagParams *params, gboolean *changed, GError **error)
{
  g_autofree char *target = NULL;
  g_autofree char *tmp = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree char *why = NULL;
  GExiv2Metadata *meta = NULL;
  GExiv2Metadata *check = NULL;
  GPtrArray *bindings = NULL;
  struct stat st, st2;
  const char *prefix = NULL;
  gboolean ok = FALSE, opened;
  char *real;
  int in = -1, out = -1;

  real = realpath (path, NULL);
  if (real == NULL)
    {
      set_errno_error (error, errno, "cannot tag", path);
      return FALSE;
    }
  target = g_strdup (real);
  free (real);

  in = open (target, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (in < 0 || fstat (in, &st) != 0)
    {
      set_errno_error (error, errno, "cannot open", target);
      goto out;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s is not a regular file", display);
      goto out;
    }
  /* The rename below would replace a file whatever its mode: one that may
   * not be written (no write bit at all, so also for root) is left alone. */
  if ((st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0
      || access (target, W_OK) != 0)
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                   "%s is read-only; not rewritten (tag with a sidecar "
                   "instead)",
                   display);
      goto out;
    }
  bindings = read_file_bindings (target, &why);
  if (bindings == NULL)
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IMAGE,
                   "%s: not rewriting its metadata (a sidecar is safe): %s",
                   display, why != NULL ? why : "it cannot be read");
      goto out;
    }
  meta = gexiv2_metadata_new ();
  opened = gexiv2_metadata_open_path (meta, target, &local);
  if (!own_namespaces_intact (&prefix))
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IMAGE,
                   "%s binds the XMP prefix “%s” of the keywords to another "
                   "namespace; not rewriting it (a sidecar is safe)",
                   display, prefix);
      goto out;
    }
  if (!opened)
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IMAGE,
                   "cannot write metadata into %s (%s); tag with a sidecar "
                   "instead",
                   display, local != NULL ? local->message : "unknown");
      goto out;
    }
  if (!gexiv2_metadata_get_supports_xmp (meta))
    {
      g_autofree char *display = g_filename_display_name (path);
      const char *mime = gexiv2_metadata_get_mime_type (meta);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "%s: %s files cannot hold XMP keywords; tag with a "
                   "sidecar instead",
                   display, mime != NULL ? mime : "such");
      goto out;
    }
  if (!gexiv2_metadata_has_xmp (meta) && file_mentions_xmp (target))
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IMAGE,
                   "%s holds an XMP packet exiv2 cannot decode; not "
                   "rewriting it (a sidecar is safe)",
                   display);
      goto out;
    }
  if (!merge_xmp (meta, labels, params->parent, changed, error))
    goto out;
  if (gexiv2_metadata_get_supports_iptc (meta)
      && !merge_iptc (meta, labels, changed, error))
    goto out;
  if (!*changed || params->dry_run)
    {
      ok = TRUE;
      goto out;
    }

  out = make_temp (target, &tmp, error);
  if (out < 0)
    goto out;
  if (!write_through_memory (meta, FALSE, in, out, tmp, target, error))
    goto out;
  if (close (out) != 0)
    {
      out = -1;
      set_errno_error (error, errno, "cannot write", tmp);
      goto out;
    }
  out = -1;
  check = gexiv2_metadata_new ();
  opened = gexiv2_metadata_open_path (check, tmp, &local);
  own_namespaces_intact (NULL);
  if (!opened || !labels_present (check, labels))
    {
      prefix_gexiv2_error (error, local, HIPPO_ERROR_IO,
                           "the rewritten copy does not read back for", path);
      goto out;
    }
  if (stat (target, &st2) != 0 || !same_file_state (&st, &st2))
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_IO,
                   "%s changed while being tagged; left as it is", display);
      goto out;
    }
  ok = commit_temp (tmp, target, &st, TRUE, FALSE, error);
  if (ok)
    g_clear_pointer (&tmp, g_free);

out:
  if (out >= 0)
    close (out);
  if (in >= 0)
    close (in);
  if (tmp != NULL)
    g_unlink (tmp);
  g_clear_object (&meta);
  g_clear_object (&check);
  restore_bindings (bindings);
  return ok;
}

gboolean
hippo_tag_file (const char *path, const char *const *labels,
                const HippoTagParams *params, gboolean *changed_out,
                GError **error)
{
  HippoTagParams defaults;
  gboolean changed = FALSE;
  gboolean ok;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (labels != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (changed_out != NULL)
    *changed_out = FALSE;
  if (params == NULL)
    {
      hippo_tag_params_default (&defaults);
      params = &defaults;
    }
  if (!check_labels (labels, error))
    return FALSE;
  if (params->parent != NULL
      && (!g_utf8_validate (params->parent, -1, NULL)
          || strlen (params->parent) > LABEL_MAX))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "the keyword parent is too long or not UTF-8");
      return FALSE;
    }
  tag_init ();
  if (params->mode == HIPPO_TAG_MODE_IN_PLACE)
    ok = tag_in_place (path, labels, params, &changed, error);
  else
    ok = tag_sidecar (path, labels, params, &changed, error);
  if (ok && changed_out != NULL)
    *changed_out = changed;
  return ok;
}

static void
add_unique (GPtrArray *out, char **values)
{
  for (gsize i = 0; values != NULL && values[i] != NULL; i++)
    {
      gboolean found = FALSE;

      for (guint j = 0; j < out->len && !found; j++)
        found = strcmp (g_ptr_array_index (out, j), values[i]) == 0;
      if (!found)
        g_ptr_array_add (out, g_strdup (values[i]));
    }
}

char **
hippo_tag_read_keywords (const char *path, GError **error)
{
  g_autofree char *sidecar = NULL;
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *why = NULL;
  GExiv2Metadata *meta;
  GPtrArray *bindings = NULL;
  struct stat st;
  gboolean exists = FALSE;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (stat (path, &st) != 0)
    {
      set_errno_error (error, errno, "cannot read keywords of", path);
      return NULL;
    }
  tag_init ();
  /* An image whose XMP exiv2 must not read counts as having none. */
  if (S_ISREG (st.st_mode)
      && (bindings = read_file_bindings (path, &why)) != NULL)
    {
      meta = gexiv2_metadata_new ();
      if (gexiv2_metadata_open_path (meta, path, NULL)
          && own_namespaces_intact (NULL))
        {
          g_auto (GStrv) v
            = gexiv2_metadata_try_get_tag_multiple (meta, KEY_SUBJECT, NULL);

          add_unique (out, v);
        }
      g_object_unref (meta);
      restore_bindings (g_steal_pointer (&bindings));
    }

  sidecar = hippo_tag_sidecar_path (path);
  meta = open_sidecar (sidecar, &exists, &bindings, error);
  if (meta == NULL)
    return NULL;
  if (exists)
    {
      g_auto (GStrv) v
        = gexiv2_metadata_try_get_tag_multiple (meta, KEY_SUBJECT, NULL);

      add_unique (out, v);
    }
  g_object_unref (meta);
  restore_bindings (bindings);
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_steal (out, NULL);
}
