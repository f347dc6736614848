/* Few-shot accuracy of the head on a labelled folder tree (DIR/CLASS/FILE),
 * the protocol of README.md: k labelled images per class, the rest held
 * out, near-duplicate groups (DIR/near_duplicates.tsv) kept on one side,
 * several seeds; or cross-style: train on one tree, test on another with
 * the same classes.
 *
 *   fewshot --model NAME --layers "A+B,C,..." [--k 1,5,10,20] [--seeds 10]
 *           [--test DIR2] [--cache DIR] [--json] [--bf16] DIR
 *
 * Every candidate in --layers (comma-separated; each a '+'-joined spec) is
 * scored on the same splits. Features are extracted once for the union of
 * the layers and cached in --cache (default /var/cache/hippotag/features).
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hippotag/hippotag.h"

typedef struct
{
  char *root;
  GPtrArray *classes;   /* char* */
  GPtrArray *paths;     /* char*, absolute */
  GArray *label;        /* guint */
  GArray *group;        /* guint: near-duplicate group, unique otherwise */
  float *x;             /* n * dim of the union */
  guint dim;
} Set;

static int
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static GPtrArray *
sorted_entries (const char *dir, gboolean want_dirs)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    {
      char *p = g_build_filename (dir, name, NULL);
      if (name[0] != '.' && g_file_test (p, G_FILE_TEST_IS_DIR) == want_dirs)
        g_ptr_array_add (out, g_strdup (name));
      g_free (p);
    }
  if (d)
    g_dir_close (d);
  g_ptr_array_sort (out, cmp_str);
  return out;
}

static Set *
set_open (const char *root, GPtrArray *class_order)
{
  Set *s = g_new0 (Set, 1);
  GHashTable *groups = g_hash_table_new_full (g_str_hash, g_str_equal,
                                              g_free, NULL);
  g_autofree char *tsv = g_build_filename (root, "near_duplicates.tsv",
                                           NULL);
  g_autofree char *text = NULL;
  guint next_group = 1000000;

  s->root = g_strdup (root);
  s->classes = class_order ? g_ptr_array_ref (class_order)
                           : sorted_entries (root, TRUE);
  s->paths = g_ptr_array_new_with_free_func (g_free);
  s->label = g_array_new (FALSE, FALSE, sizeof (guint));
  s->group = g_array_new (FALSE, FALSE, sizeof (guint));
  if (g_file_get_contents (tsv, &text, NULL, NULL))
    {
      g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
      for (int i = 0; lines[i]; i++)
        {
          g_auto (GStrv) f = g_strsplit (lines[i], "\t", 2);
          if (lines[i][0] == '#' || !f[0] || !f[1])
            continue;
          g_hash_table_insert (groups, g_strdup (g_strstrip (f[1])),
                               GUINT_TO_POINTER (atoi (f[0]) + 1));
        }
    }
  for (guint c = 0; c < s->classes->len; c++)
    {
      g_autofree char *cdir = g_build_filename (root, s->classes->pdata[c],
                                                NULL);
      g_autoptr (GPtrArray) files = sorted_entries (cdir, FALSE);
      for (guint i = 0; i < files->len; i++)
        {
          g_autofree char *rel = g_build_filename (s->classes->pdata[c],
                                                   files->pdata[i], NULL);
          guint grp = GPOINTER_TO_UINT (g_hash_table_lookup (groups, rel));
          if (g_str_has_suffix (files->pdata[i], ".txt")
              || g_str_has_suffix (files->pdata[i], ".tsv"))
            continue;
          g_ptr_array_add (s->paths, g_build_filename (cdir, files->pdata[i],
                                                       NULL));
          g_array_append_val (s->label, c);
          grp = grp ? grp - 1 : next_group++;
          g_array_append_val (s->group, grp);
        }
    }
  g_hash_table_unref (groups);
  return s;
}

typedef struct
{
  Set *s;
  guint dim;
  guint n_failed;
} FillCtx;

static gboolean
on_features (guint index, const char *path, const float *f,
             const GError *error, gpointer data)
{
  FillCtx *ctx = data;

  if (f == NULL)
    {
      g_printerr ("fewshot: %s: %s\n", path, error->message);
      memset (ctx->s->x + (gsize) index * ctx->dim, 0,
              ctx->dim * sizeof (float));
      ctx->n_failed++;
    }
  else
    memcpy (ctx->s->x + (gsize) index * ctx->dim, f,
            ctx->dim * sizeof (float));
  return TRUE;
}

static gboolean
set_features (Set *s, HippoModel *model, const char *layers,
              HippoPrecision precision, const char *cache_dir)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *cache = NULL;
  g_autofree char *bytes = NULL;
  gsize len = 0;
  HippoSessionParams p;
  g_autoptr (HippoExtractor) ex = NULL;
  g_autoptr (GError) error = NULL;
  FillCtx ctx = { s };

  hippo_session_params_default (&p);
  p.n_threads = 0;
  p.max_batch = 8;
  p.layers = layers;
  p.precision = precision;
  ex = hippo_extractor_new (model, &p, &error);
  if (ex == NULL)
    {
      g_printerr ("fewshot: %s\n", error->message);
      return FALSE;
    }
  s->dim = ctx.dim = hippo_extractor_get_dim (ex);
  g_checksum_update (sum, (const guchar *) hippo_model_get_id (model), -1);
  g_checksum_update (sum, (const guchar *) layers, -1);
  g_checksum_update (sum, (const guchar *) G_STRINGIFY (
                       HIPPO_PREPROCESS_VERSION), -1);
  if (precision != HIPPO_PRECISION_FLOAT32)
    g_checksum_update (sum, (const guchar *) "bfloat16", -1);
  for (guint i = 0; i < s->paths->len; i++)
    g_checksum_update (sum, (const guchar *) s->paths->pdata[i], -1);
  g_mkdir_with_parents (cache_dir, 0755);
  cache = g_strdup_printf ("%s/%.24s.f32", cache_dir,
                           g_checksum_get_string (sum));
  s->x = g_new (float, (gsize) s->paths->len * s->dim);
  if (g_file_get_contents (cache, &bytes, &len, NULL)
      && len == (gsize) s->paths->len * s->dim * sizeof (float))
    {
      memcpy (s->x, bytes, len);
      return TRUE;
    }
  hippo_extractor_run (ex, (const char *const *) s->paths->pdata,
                       s->paths->len, on_features, &ctx, NULL);
  g_file_set_contents (cache, (const char *) s->x,
                       (gsize) s->paths->len * s->dim * sizeof (float),
                       NULL);
  return ctx.n_failed == 0;
}

/* Columns of each layer of the union, by name. */
static gboolean
layer_columns (HippoModel *model, const char *union_spec, const char *name,
               guint *offset, guint *width)
{
  g_auto (GStrv) parts = g_strsplit (union_spec, "+", -1);
  guint off = 0;

  for (int i = 0; parts[i]; i++)
    {
      HippoLayerInfo li;
      if (!hippo_model_find_layer (model, parts[i], &li, NULL))
        return FALSE;
      if (strcmp (parts[i], name) == 0)
        {
          *offset = off;
          *width = li.channels;
          return TRUE;
        }
      off += li.channels;
    }
  return FALSE;
}

/* Gathers rows and the columns of a candidate into a dense matrix. */
static float *
gather (const Set *s, const guint *rows, guint n, const guint *cols,
        guint n_cols)
{
  float *out = g_new (float, (gsize) n * n_cols);

  for (guint i = 0; i < n; i++)
    for (guint j = 0; j < n_cols; j++)
      out[(gsize) i * n_cols + j] = s->x[(gsize) rows[i] * s->dim + cols[j]];
  return out;
}

/* Picks k images per class by whole near-duplicate groups. */
static void
split (const Set *s, guint k, guint seed, GArray *train, GArray *test)
{
  GRand *rng = g_rand_new_with_seed (seed * 7919 + k);
  guint n = s->paths->len;
  g_autoptr (GHashTable) in_train = g_hash_table_new (NULL, NULL);

  for (guint c = 0; c < s->classes->len; c++)
    {
      g_autoptr (GArray) groups = g_array_new (FALSE, FALSE, sizeof (guint));
      g_autoptr (GHashTable) seen = g_hash_table_new (NULL, NULL);
      guint taken = 0;

      for (guint i = 0; i < n; i++)
        if (g_array_index (s->label, guint, i) == c)
          {
            guint g = g_array_index (s->group, guint, i);
            if (g_hash_table_add (seen, GUINT_TO_POINTER (g + 1)))
              g_array_append_val (groups, g);
          }
      for (guint i = groups->len; i > 1; i--)   /* Fisher-Yates */
        {
          guint j = g_rand_int_range (rng, 0, i);
          guint t = g_array_index (groups, guint, i - 1);
          g_array_index (groups, guint, i - 1) = g_array_index (groups,
                                                               guint, j);
          g_array_index (groups, guint, j) = t;
        }
      for (guint gi = 0; gi < groups->len && taken < k; gi++)
        {
          guint g = g_array_index (groups, guint, gi), size = 0;
          for (guint i = 0; i < n; i++)
            if (g_array_index (s->group, guint, i) == g
                && g_array_index (s->label, guint, i) == c)
              size++;
          if (taken + size > k)
            continue;
          taken += size;
          g_hash_table_add (in_train, GUINT_TO_POINTER (g + 1));
        }
    }
  for (guint i = 0; i < n; i++)
    {
      gboolean tr = g_hash_table_contains (
        in_train, GUINT_TO_POINTER (g_array_index (s->group, guint, i) + 1));
      g_array_append_val (tr ? train : test, i);
    }
  g_rand_free (rng);
}

static double
score (const Set *tr_set, const GArray *train, const Set *te_set,
       const GArray *test, const guint *cols, guint n_cols)
{
  g_autofree float *xtr = gather (tr_set, (const guint *) train->data,
                                  train->len, cols, n_cols);
  g_autofree float *xte = gather (te_set, (const guint *) test->data,
                                  test->len, cols, n_cols);
  g_autofree guint *ytr = g_new (guint, train->len);
  g_autofree float *probs = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoHead) head = NULL;
  HippoHeadParams hp;
  guint k = tr_set->classes->len, correct = 0;

  for (guint i = 0; i < train->len; i++)
    ytr[i] = g_array_index (tr_set->label, guint,
                            g_array_index (train, guint, i));
  hippo_head_params_default (&hp);
  head = hippo_head_train (xtr, train->len, n_cols, ytr, NULL, k, &hp, NULL,
                           NULL, &error);
  if (head == NULL)
    {
      g_printerr ("fewshot: training failed: %s\n", error->message);
      return NAN;
    }
  probs = g_new (float, (gsize) test->len * k);
  hippo_head_predict (head, xte, test->len, probs);
  for (guint i = 0; i < test->len; i++)
    {
      guint best = 0;
      for (guint c = 1; c < k; c++)
        if (probs[(gsize) i * k + c] > probs[(gsize) i * k + best])
          best = c;
      correct += best == g_array_index (te_set->label, guint,
                                        g_array_index (test, guint, i));
    }
  return test->len ? (double) correct / test->len : NAN;
}

int
main (int argc, char **argv)
{
  g_autofree char *model_name = NULL;
  g_autofree char *layers_opt = NULL;
  g_autofree char *ks_opt = NULL;
  g_autofree char *test_dir = NULL;
  g_autofree char *cache_dir = NULL;
  gboolean bf16 = FALSE;
  HippoPrecision precision;
  int seeds = 10;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model_name, "Model", "NAME" },
    { "layers", 'l', 0, G_OPTION_ARG_STRING, &layers_opt,
      "Candidates, comma-separated", "SPECS" },
    { "k", 'k', 0, G_OPTION_ARG_STRING, &ks_opt, "Shots per class (1,5,10,20)",
      "LIST" },
    { "seeds", 's', 0, G_OPTION_ARG_INT, &seeds, "Seeds (10)", "N" },
    { "test", 't', 0, G_OPTION_ARG_FILENAME, &test_dir,
      "Cross-style: test on this tree", "DIR" },
    { "cache", 0, 0, G_OPTION_ARG_FILENAME, &cache_dir, "Feature cache",
      "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "JSON lines", NULL },
    { "bf16", 0, 0, G_OPTION_ARG_NONE, &bf16,
      "Features from a bfloat16 session", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("DIR");
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoModel) model = NULL;
  g_auto (GStrv) cands = NULL;
  g_auto (GStrv) ks = NULL;
  g_autoptr (GPtrArray) uni = g_ptr_array_new ();
  g_autofree char *union_spec = NULL;
  Set *s, *t = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2)
    {
      g_printerr ("usage: fewshot --model M --layers SPECS [--k LIST] "
                  "[--seeds N] [--test DIR2] DIR\n");
      return 2;
    }
  model = hippo_model_load (model_name, &error);
  if (model == NULL)
    {
      g_printerr ("fewshot: %s\n", error->message);
      return 3;
    }
  cands = g_strsplit (layers_opt ? layers_opt
                                 : hippo_model_get_default_layer (model),
                      ",", -1);
  ks = g_strsplit (ks_opt ? ks_opt : (test_dir ? "20" : "1,5,10,20"), ",",
                   -1);
  for (int i = 0; cands[i]; i++)
    {
      g_auto (GStrv) parts = g_strsplit (cands[i], "+", -1);
      for (int j = 0; parts[j]; j++)
        {
          gboolean have = FALSE;
          for (guint u = 0; u < uni->len; u++)
            have |= strcmp (uni->pdata[u], parts[j]) == 0;
          if (!have)
            g_ptr_array_add (uni, g_strdup (parts[j]));
        }
    }
  g_ptr_array_add (uni, NULL);
  union_spec = g_strjoinv ("+", (char **) uni->pdata);

  s = set_open (argv[1], NULL);
  precision = bf16 ? HIPPO_PRECISION_BFLOAT16 : HIPPO_PRECISION_FLOAT32;
  if (!set_features (s, model, union_spec, precision,
                     cache_dir ? cache_dir : "/var/cache/hippotag/features"))
    g_printerr ("fewshot: some images failed (zero features used)\n");
  if (test_dir)
    {
      t = set_open (test_dir, s->classes);
      set_features (t, model, union_spec, precision,
                    cache_dir ? cache_dir : "/var/cache/hippotag/features");
    }

  for (int ci = 0; cands[ci]; ci++)
    {
      g_auto (GStrv) parts = g_strsplit (cands[ci], "+", -1);
      g_autoptr (GArray) cols = g_array_new (FALSE, FALSE, sizeof (guint));
      for (int j = 0; parts[j]; j++)
        {
          guint off = 0, w = 0;
          if (!layer_columns (model, union_spec, parts[j], &off, &w))
            {
              g_printerr ("fewshot: unknown layer %s\n", parts[j]);
              return 2;
            }
          for (guint q = 0; q < w; q++)
            {
              guint col = off + q;
              g_array_append_val (cols, col);
            }
        }
      for (int ki = 0; ks[ki]; ki++)
        {
          guint k = atoi (ks[ki]);
          double sum = 0, sum2 = 0;
          int n_ok = 0;
          for (int seed = 0; seed < seeds; seed++)
            {
              g_autoptr (GArray) train = g_array_new (FALSE, FALSE,
                                                      sizeof (guint));
              g_autoptr (GArray) test = g_array_new (FALSE, FALSE,
                                                     sizeof (guint));
              double acc;
              split (s, k, seed, train, test);
              if (t)
                {
                  g_array_set_size (test, 0);
                  for (guint i = 0; i < t->paths->len; i++)
                    g_array_append_val (test, i);
                }
              acc = score (s, train, t ? t : s, test, (guint *) cols->data,
                           cols->len);
              if (!isnan (acc))
                {
                  sum += acc;
                  sum2 += acc * acc;
                  n_ok++;
                }
            }
          {
            double mean = n_ok ? sum / n_ok : NAN;
            double sd = n_ok > 1 ? sqrt (MAX (0, (sum2 - n_ok * mean * mean)
                                                    / (n_ok - 1)))
                                 : 0;
            if (json)
              printf ("{\"dataset\": \"%s\", \"test\": \"%s\", \"model\": "
                      "\"%s\", \"layers\": \"%s\", \"dim\": %u, \"k\": %u, "
                      "\"seeds\": %d, \"accuracy\": %.4f, \"sd\": %.4f}\n",
                      argv[1], test_dir ? test_dir : "", hippo_model_get_name (model),
                      cands[ci], cols->len, k, n_ok, mean, sd);
            else
              printf ("%-16s %-48s dim %5u k=%-3u %5.1f %% +- %4.1f (%d seeds)\n",
                      hippo_model_get_name (model), cands[ci], cols->len, k,
                      100 * mean, 100 * sd, n_ok);
            fflush (stdout);
          }
        }
    }
  return 0;
}
