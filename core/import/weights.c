/* TF.js weights manifests: shard groups, dequantisation, checks. */
#include "hippo-config.h"

#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "hippotag/hippotag-common.h"
#include "alloc.h"
#include "digest.h"
#include "engine/graph.h"
#include "weights.h"

struct _HippoWeights
{
  GPtrArray *tensors;  /* HippoWeight*, manifest order */
  GHashTable *by_name; /* name -> HippoWeight* */
  GPtrArray *arenas;   /* the tensors' float data, one block per group */
  guint64 n_values;
  char *checksum;
};

/* How a tensor is stored in the shard bytes. */
typedef enum
{
  STORE_F32,
  STORE_I32,
  STORE_F16,
  STORE_U8,
  STORE_U16,
} Storage;

typedef struct
{
  HippoWeight *weight;
  Storage storage;
  double min, scale; /* STORE_U8, STORE_U16 */
  gboolean round;    /* quantised int32: round like TF.js */
  gsize offset;      /* in the group's byte stream */
  gsize bytes;
} Entry;

static void
weight_free (gpointer data)
{
  HippoWeight *w = data;

  g_free (w->name); /* w->data is in an arena */
  g_free (w);
}

void
hippo_weights_free (HippoWeights *weights)
{
  if (weights == NULL)
    return;
  g_ptr_array_unref (weights->tensors);
  g_hash_table_unref (weights->by_name);
  g_ptr_array_unref (weights->arenas);
  g_free (weights->checksum);
  g_free (weights);
}

/* IEEE 754 binary16 to binary32, exact for every input. */
static float
half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exp = (h >> 10) & 0x1f;
  guint32 mant = h & 0x3ff;
  guint32 bits;
  float f;

  if (exp == 0x1f)
    bits = sign | 0x7f800000u | (mant << 13); /* inf, nan */
  else if (exp != 0)
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  else if (mant == 0)
    bits = sign; /* +-0 */
  else
    {
      /* Subnormal: normalise the mantissa. */
      int e = -1;

      do
        {
          mant <<= 1;
          e++;
        }
      while ((mant & 0x400) == 0);
      bits = sign | ((guint32) (112 - e) << 23) | ((mant & 0x3ff) << 13);
    }
  memcpy (&f, &bits, sizeof f);
  return f;
}

static gboolean
get_number (JsonNode *node, double *out)
{
  GType t;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  t = json_node_get_value_type (node);
  if (t == G_TYPE_INT64)
    *out = (double) json_node_get_int (node);
  else if (t == G_TYPE_DOUBLE)
    *out = json_node_get_double (node);
  else
    return FALSE;
  return TRUE;
}

static const char *
get_string (JsonObject *obj, const char *key)
{
  JsonNode *node = json_object_get_member (obj, key);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean fail (GError **error, int code, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

static gboolean
fail (GError **error, int code, const char *format, ...)
{
  va_list args;
  char *msg;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, HIPPO_ERROR, code, msg);
  g_free (msg);
  return FALSE;
}

/* A shard path must stay inside the model folder. */
static gboolean
path_is_safe (const char *path)
{
  g_auto (GStrv) parts = NULL;

  if (*path == '\0' || g_path_is_absolute (path) || strchr (path, '\\')
      || strchr (path, ':'))
    return FALSE;
  parts = g_strsplit (path, "/", -1);
  for (int i = 0; parts[i]; i++)
    if (strcmp (parts[i], "..") == 0)
      return FALSE;
  return TRUE;
}

/* Parses the shape and storage of one manifest entry. */
static gboolean
parse_entry (JsonNode *node, guint group, Entry *e, GError **error)
{
  JsonObject *obj, *quant = NULL;
  JsonNode *shape_node, *qnode;
  JsonArray *shape;
  const char *name, *dtype, *qdtype = NULL;
  HippoWeight *w;
  gsize n = 1, elem = 4;
  guint rank;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, HIPPO_ERROR_MODEL_FORMAT,
                 "weight group %u: a weight entry is not an object", group + 1);
  obj = json_node_get_object (node);
  name = get_string (obj, "name");
  if (name == NULL || *name == '\0')
    return fail (error, HIPPO_ERROR_MODEL_FORMAT,
                 "weight group %u: a weight has no name", group + 1);
  dtype = get_string (obj, "dtype");
  if (dtype == NULL)
    return fail (error, HIPPO_ERROR_MODEL_FORMAT, "weight '%s' has no dtype",
                 name);
  shape_node = json_object_get_member (obj, "shape");
  if (shape_node == NULL || !JSON_NODE_HOLDS_ARRAY (shape_node))
    return fail (error, HIPPO_ERROR_MODEL_FORMAT,
                 "weight '%s' has no shape array", name);
  shape = json_node_get_array (shape_node);
  rank = json_array_get_length (shape);
  if (rank > HIPPO_MAX_RANK)
    return fail (error, HIPPO_ERROR_LIMIT,
                 "weight '%s' has rank %u (at most %d)", name, rank,
                 HIPPO_MAX_RANK);

  w = g_new0 (HippoWeight, 1);
  e->weight = w;
  w->name = g_strdup (name);
  w->rank = rank;
  for (guint i = 0; i < rank; i++)
    {
      double d;

      if (!get_number (json_array_get_element (shape, i), &d) || d != floor (d))
        return fail (error, HIPPO_ERROR_MODEL_FORMAT,
                     "weight '%s': shape entries must be integers", name);
      if (d < 0)
        return fail (error, HIPPO_ERROR_MODEL_INVALID,
                     "weight '%s' has a negative dimension", name);
      if (d > (double) HIPPO_MAX_PARAMS
          || !g_size_checked_mul (&n, n, (gsize) d) || n > HIPPO_MAX_PARAMS)
        return fail (error, HIPPO_ERROR_LIMIT, "weight '%s' is too large",
                     name);
      w->shape[i] = (int) d;
    }
  w->n = n;

  qnode = json_object_get_member (obj, "quantization");
  if (qnode != NULL && !JSON_NODE_HOLDS_NULL (qnode))
    {
      if (!JSON_NODE_HOLDS_OBJECT (qnode))
        return fail (error, HIPPO_ERROR_MODEL_FORMAT,
                     "weight '%s': quantization is not an object", name);
      quant = json_node_get_object (qnode);
      qdtype = get_string (quant, "dtype");
      if (qdtype == NULL)
        return fail (error, HIPPO_ERROR_MODEL_FORMAT,
                     "weight '%s': quantization has no dtype", name);
    }

  if (strcmp (dtype, "float32") != 0 && strcmp (dtype, "int32") != 0
      && strcmp (dtype, "float16") != 0)
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED,
                 "weight '%s' has unsupported dtype '%s'", name, dtype);

  if (quant == NULL)
    {
      if (strcmp (dtype, "float32") == 0)
        e->storage = STORE_F32, elem = 4;
      else if (strcmp (dtype, "int32") == 0)
        e->storage = STORE_I32, elem = 4;
      else
        e->storage = STORE_F16, elem = 2;
    }
  else if (strcmp (qdtype, "float16") == 0)
    e->storage = STORE_F16, elem = 2;
  else if (strcmp (qdtype, "uint8") == 0 || strcmp (qdtype, "uint16") == 0)
    {
      e->storage = qdtype[4] == '8' ? STORE_U8 : STORE_U16;
      elem = e->storage == STORE_U8 ? 1 : 2;
      if (!get_number (json_object_get_member (quant, "min"), &e->min)
          || !get_number (json_object_get_member (quant, "scale"), &e->scale))
        return fail (error, HIPPO_ERROR_MODEL_FORMAT,
                     "weight '%s': quantization needs numbers min and scale",
                     name);
      if (!isfinite (e->min) || !isfinite (e->scale))
        return fail (error, HIPPO_ERROR_MODEL_INVALID,
                     "weight '%s': quantization min or scale is not finite",
                     name);
      e->round = strcmp (dtype, "int32") == 0;
    }
  else
    return fail (error, HIPPO_ERROR_MODEL_UNSUPPORTED,
                 "weight '%s' has unsupported quantization dtype '%s'", name,
                 qdtype);

  e->bytes = n * elem; /* n <= 2^30, cannot overflow */
  return TRUE;
}

/* The index of the first NaN or infinite value, or n: a test of the
 * exponent bits the compiler vectorises, block by block. */
static gsize
first_non_finite (const float *p, gsize n)
{
  for (gsize i = 0; i < n; i += 1024)
    {
      gsize m = MIN (1024, n - i);
      guint32 bad = 0;

      for (gsize j = 0; j < m; j++)
        {
          guint32 b;

          memcpy (&b, p + i + j, 4);
          bad |= (b & 0x7f800000u) == 0x7f800000u;
        }
      if (bad)
        for (gsize j = 0; j < m; j++)
          if (!isfinite (p[i + j]))
            return i + j;
    }
  return n;
}

static gboolean
decode_entry (const Entry *e, const guint8 *src, float *dst, GError **error)
{
  HippoWeight *w = e->weight;
  gsize bad;

  w->data = dst;
  /* one loop per storage, so each vectorises */
  switch (e->storage)
    {
    case STORE_F32:
      for (gsize i = 0; i < w->n; i++)
        {
          guint32 bits;

          memcpy (&bits, src + 4 * i, 4);
          bits = GUINT32_FROM_LE (bits);
          memcpy (dst + i, &bits, 4);
        }
      break;
    case STORE_I32:
      for (gsize i = 0; i < w->n; i++)
        {
          gint32 q;

          memcpy (&q, src + 4 * i, 4);
          dst[i] = (float) GINT32_FROM_LE (q);
        }
      break;
    case STORE_F16:
      for (gsize i = 0; i < w->n; i++)
        {
          guint16 q;

          memcpy (&q, src + 2 * i, 2);
          dst[i] = half_to_float (GUINT16_FROM_LE (q));
        }
      break;
    case STORE_U8:
      for (gsize i = 0; i < w->n; i++)
        dst[i] = (float) (src[i] * e->scale + e->min);
      break;
    case STORE_U16:
      for (gsize i = 0; i < w->n; i++)
        {
          guint16 q;

          memcpy (&q, src + 2 * i, 2);
          dst[i] = (float) (GUINT16_FROM_LE (q) * e->scale + e->min);
        }
      break;
    default:
      for (gsize i = 0; i < w->n; i++)
        dst[i] = NAN;
      break;
    }
  if (e->round)
    for (gsize i = 0; i < w->n; i++)
      dst[i] = rintf (dst[i]);
  bad = first_non_finite (dst, w->n);
  if (bad < w->n)
    return fail (
      error, HIPPO_ERROR_MODEL_INVALID,
      "weight '%s' has a NaN or infinite value at index %" G_GSIZE_FORMAT,
      w->name, bad);
  return TRUE;
}

static gboolean
load_group (HippoWeights *weights, JsonNode *gnode, guint g, const char *dir,
            HippoDigest *sum, guint *n_files, GError **error)
{
  JsonObject *gobj;
  JsonNode *paths_node, *wnode;
  JsonArray *paths, *wlist;
  guint n_paths, n_w;
  Entry *entries = NULL;
  guint n_entries = 0;
  guint64 need = 0, have = 0;
  gsize off = 0;
  guint8 *buf = NULL;
  gsize *sizes = NULL;
  gboolean ok = FALSE;
  GString *first = g_string_new (NULL);

  if (gnode == NULL || !JSON_NODE_HOLDS_OBJECT (gnode))
    {
      fail (error, HIPPO_ERROR_MODEL_FORMAT,
            "weightsManifest entry %u is not an object", g + 1);
      goto out;
    }
  gobj = json_node_get_object (gnode);
  paths_node = json_object_get_member (gobj, "paths");
  wnode = json_object_get_member (gobj, "weights");
  if (paths_node == NULL || !JSON_NODE_HOLDS_ARRAY (paths_node) || wnode == NULL
      || !JSON_NODE_HOLDS_ARRAY (wnode))
    {
      fail (error, HIPPO_ERROR_MODEL_FORMAT,
            "weight group %u needs arrays 'paths' and 'weights'", g + 1);
      goto out;
    }
  paths = json_node_get_array (paths_node);
  wlist = json_node_get_array (wnode);
  n_paths = json_array_get_length (paths);
  n_w = json_array_get_length (wlist);
  if (n_paths > HIPPO_MAX_WEIGHT_FILES - *n_files)
    {
      fail (error, HIPPO_ERROR_LIMIT, "more than %d weight files",
            HIPPO_MAX_WEIGHT_FILES);
      goto out;
    }
  *n_files += n_paths;
  if (n_w > HIPPO_MAX_WEIGHT_TENSORS - weights->tensors->len)
    {
      fail (error, HIPPO_ERROR_LIMIT, "more than %d weight tensors",
            HIPPO_MAX_WEIGHT_TENSORS);
      goto out;
    }

  /* The bytes the tensors need. */
  entries = g_new0 (Entry, n_w ? n_w : 1);
  for (guint i = 0; i < n_w; i++)
    {
      Entry *e = &entries[i];

      if (!parse_entry (json_array_get_element (wlist, i), g, e, error))
        {
          if (e->weight)
            weight_free (e->weight);
          e->weight = NULL;
          goto out;
        }
      n_entries++;
      g_ptr_array_add (weights->tensors, e->weight);
      if (g_hash_table_contains (weights->by_name, e->weight->name))
        {
          fail (error, HIPPO_ERROR_MODEL_INVALID, "two weights are named '%s'",
                e->weight->name);
          goto out;
        }
      g_hash_table_insert (weights->by_name, e->weight->name, e->weight);
      e->offset = need;
      need += e->bytes;
      weights->n_values += e->weight->n;
      if (need > HIPPO_MAX_WEIGHT_BYTES || weights->n_values > HIPPO_MAX_PARAMS)
        {
          fail (error, HIPPO_ERROR_LIMIT, "the weights are too large");
          goto out;
        }
    }

  /* The bytes the files hold, checked before reading any. */
  sizes = g_new0 (gsize, n_paths ? n_paths : 1);
  for (guint i = 0; i < n_paths; i++)
    {
      JsonNode *p = json_array_get_element (paths, i);
      const char *rel;
      g_autofree char *full = NULL;
      GStatBuf st;

      if (p == NULL || !JSON_NODE_HOLDS_VALUE (p)
          || json_node_get_value_type (p) != G_TYPE_STRING)
        {
          fail (error, HIPPO_ERROR_MODEL_FORMAT,
                "weight group %u: a path is not a string", g + 1);
          goto out;
        }
      rel = json_node_get_string (p);
      if (!path_is_safe (rel))
        {
          fail (error, HIPPO_ERROR_MODEL_FORMAT,
                "weight group %u: path '%s' leaves the model folder", g + 1,
                rel);
          goto out;
        }
      if (i == 0)
        g_string_append (first, rel);
      full = g_build_filename (dir, rel, NULL);
      if (g_stat (full, &st) != 0)
        {
          int err = errno;

          fail (error, HIPPO_ERROR_IO, "cannot read weight file %s: %s", full,
                g_strerror (err));
          goto out;
        }
      if (!S_ISREG (st.st_mode))
        {
          fail (error, HIPPO_ERROR_IO, "weight file %s is not a regular file",
                full);
          goto out;
        }
      if ((guint64) st.st_size > HIPPO_MAX_WEIGHT_BYTES - have)
        {
          fail (error, HIPPO_ERROR_LIMIT, "weight file %s is too large", full);
          goto out;
        }
      have += st.st_size;
      sizes[i] = st.st_size;
    }
  if (n_paths > 1)
    g_string_append_printf (first, " and %u more", n_paths - 1);
  if (have != need)
    {
      fail (error, HIPPO_ERROR_MODEL_FORMAT,
            "weight group %u (%s) has %" G_GUINT64_FORMAT " bytes but its "
            "%u tensors need %" G_GUINT64_FORMAT,
            g + 1, n_paths ? first->str : "no files", have, n_w, need);
      goto out;
    }

  if (need > G_MAXSIZE)
    {
      fail (error, HIPPO_ERROR_LIMIT, "weight group %u is too large", g + 1);
      goto out;
    }
  buf = hippo_alloc_large (need);
  if (buf == NULL)
    {
      fail (error, HIPPO_ERROR_LIMIT, "out of memory for weight group %u",
            g + 1);
      goto out;
    }
  for (guint i = 0; i < n_paths; i++)
    {
      const char *rel = json_array_get_string_element (paths, i);
      g_autofree char *full = g_build_filename (dir, rel, NULL);
      gsize len = sizes[i], got = 0;
      FILE *fp;
      int err;

      /* Plain reads: a mapped file truncated under us would SIGBUS. */
      fp = g_fopen (full, "rb");
      if (fp == NULL)
        {
          err = errno;
          fail (error, HIPPO_ERROR_IO, "cannot read weight file %s: %s", full,
                g_strerror (err));
          goto out;
        }
      if (len > 0)
        got = fread (buf + off, 1, len, fp);
      err = ferror (fp);
      if (got != len || err || fgetc (fp) != EOF)
        {
          fclose (fp);
          fail (error, err ? HIPPO_ERROR_IO : HIPPO_ERROR_MODEL_FORMAT,
                "weight file %s could not be read whole, or changed while "
                "being read",
                full);
          goto out;
        }
      fclose (fp);
      hippo_digest_update (sum, buf + off, len);
      off += len;
    }
  if (off != need)
    {
      fail (error, HIPPO_ERROR_MODEL_FORMAT,
            "weight group %u changed while being read", g + 1);
      goto out;
    }

  {
    /* one block for the group's tensors, each at a multiple of 64 bytes */
    gsize total = 0;
    float *arena;

    for (guint i = 0; i < n_entries; i++)
      total += (MAX (entries[i].weight->n, 1) + 15) / 16 * 16;
    arena = hippo_alloc_large (total * sizeof (float));
    if (arena == NULL)
      {
        fail (error, HIPPO_ERROR_LIMIT, "out of memory for weight group %u",
              g + 1);
        goto out;
      }
    g_ptr_array_add (weights->arenas, arena);
    for (guint i = 0; i < n_entries; i++)
      {
        if (!decode_entry (&entries[i], buf + entries[i].offset, arena,
                           error))
          goto out;
        arena += (MAX (entries[i].weight->n, 1) + 15) / 16 * 16;
      }
  }
  ok = TRUE;

out:
  g_free (buf);
  g_free (sizes);
  g_free (entries);
  g_string_free (first, TRUE);
  return ok;
}

HippoWeights *
hippo_weights_load (JsonArray *manifest, const char *dir, GError **error)
{
  HippoWeights *weights;
  g_autoptr (HippoDigest) sum = NULL;
  char hex[HIPPO_HASH_HEX_LEN + 1];
  guint n_groups, n_files = 0;

  g_return_val_if_fail (manifest != NULL, NULL);
  g_return_val_if_fail (dir != NULL, NULL);

  weights = g_new0 (HippoWeights, 1);
  weights->tensors = g_ptr_array_new_with_free_func (weight_free);
  weights->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  weights->arenas = g_ptr_array_new_with_free_func (g_free);
  sum = hippo_digest_new ();

  n_groups = json_array_get_length (manifest);
  if (n_groups > HIPPO_MAX_WEIGHT_FILES)
    {
      fail (error, HIPPO_ERROR_LIMIT, "more than %d weight groups",
            HIPPO_MAX_WEIGHT_FILES);
      hippo_weights_free (weights);
      return NULL;
    }
  for (guint g = 0; g < n_groups; g++)
    if (!load_group (weights, json_array_get_element (manifest, g), g, dir, sum,
                     &n_files, error))
      {
        hippo_weights_free (weights);
        return NULL;
      }
  hippo_digest_finish (g_steal_pointer (&sum), hex);
  weights->checksum = g_strdup (hex);
  return weights;
}

HippoWeight *
hippo_weights_lookup (HippoWeights *weights, const char *name)
{
  g_return_val_if_fail (weights != NULL, NULL);

  if (name == NULL)
    return NULL;
  return g_hash_table_lookup (weights->by_name, name);
}

HippoWeight *
hippo_weights_lookup_suffix (HippoWeights *weights, const char *suffix,
                             guint *n_matches)
{
  HippoWeight *found;
  gsize len;
  guint n = 0;

  g_return_val_if_fail (weights != NULL, NULL);

  if (n_matches)
    *n_matches = 0;
  if (suffix == NULL || *suffix == '\0')
    return NULL;
  found = g_hash_table_lookup (weights->by_name, suffix);
  if (found)
    {
      if (n_matches)
        *n_matches = 1;
      return found;
    }
  len = strlen (suffix);
  for (guint i = 0; i < weights->tensors->len; i++)
    {
      HippoWeight *w = g_ptr_array_index (weights->tensors, i);
      gsize wl = strlen (w->name);

      if (wl > len && w->name[wl - len - 1] == '/'
          && strcmp (w->name + wl - len, suffix) == 0)
        {
          found = w;
          n++;
        }
    }
  if (n_matches)
    *n_matches = n;
  return n == 1 ? found : NULL;
}

HippoWeight *
hippo_weights_require (HippoWeights *weights, const char *name,
                       gsize expected_n, const char *layer, GError **error)
{
  HippoWeight *w = hippo_weights_lookup (weights, name);

  if (w == NULL)
    {
      fail (error, HIPPO_ERROR_MODEL_FORMAT,
            "layer '%s': weight '%s' is missing from the weights manifest",
            layer ? layer : "?", name ? name : "(null)");
      return NULL;
    }
  if (expected_n != 0 && w->n != expected_n)
    {
      fail (error, HIPPO_ERROR_MODEL_FORMAT,
            "layer '%s': weight '%s' has %" G_GSIZE_FORMAT " values, "
            "expected %" G_GSIZE_FORMAT,
            layer ? layer : "?", name, w->n, expected_n);
      return NULL;
    }
  w->used = TRUE;
  return w;
}

guint64
hippo_weights_count (const HippoWeights *weights)
{
  g_return_val_if_fail (weights != NULL, 0);

  return weights->n_values;
}

guint
hippo_weights_get_n (const HippoWeights *weights)
{
  g_return_val_if_fail (weights != NULL, 0);

  return weights->tensors->len;
}

HippoWeight *
hippo_weights_get (HippoWeights *weights, guint index)
{
  g_return_val_if_fail (weights != NULL, NULL);

  if (index >= weights->tensors->len)
    return NULL;
  return g_ptr_array_index (weights->tensors, index);
}

const char *
hippo_weights_get_checksum (const HippoWeights *weights)
{
  g_return_val_if_fail (weights != NULL, NULL);

  return weights->checksum;
}
