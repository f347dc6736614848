/* Training time of the classifier head with automatic λ (inner 5-fold
 * cross-validation over the grid, calibration, final fit), and prediction
 * time.
 *
 *   bench-head [--n 1000] [--dim 1280] [--classes 10] [--repeat 5]
 *   bench-head --features FILE.f32 --list FILES.txt [--n N]
 *
 * Without --features the data are synthetic and CNN-like: ReLU of a random
 * 64-dimensional latent projection (correlated, non-negative, low rank plus
 * noise). With --features, FILE.f32 holds rows of float32 (as written by
 * `hippotag features --format f32`) for the paths in FILES.txt, one a line,
 * whose parent folder names the class; --n takes a random subset.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "hippotag/hippotag.h"

static double
wall_now (void)
{
  struct timespec t;

  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static double
cpu_now (void)
{
  struct timespec t;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static guint64
next (guint64 *s)
{
  guint64 z = (*s += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static double
gauss (guint64 *s)
{
  double u = ((next (s) >> 11) + 0.5) / 9007199254740992.0;
  double v = ((next (s) >> 11) + 0.5) / 9007199254740992.0;

  return sqrt (-2 * log (u)) * cos (2 * G_PI * v);
}

static void
synthetic (guint n, guint dim, guint n_classes, float **x, guint **labels)
{
  const guint L = 64;
  guint64 s = 42;
  g_autofree double *a = g_new (double, (gsize) dim * L);
  g_autofree double *mu = g_new (double, (gsize) n_classes * L);
  g_autofree double *h = g_new (double, L);

  for (gsize t = 0; t < (gsize) dim * L; t++)
    a[t] = gauss (&s) / sqrt (L);
  for (gsize t = 0; t < (gsize) n_classes * L; t++)
    mu[t] = gauss (&s);
  *x = g_new (float, (gsize) n * dim);
  *labels = g_new (guint, n);
  for (guint i = 0; i < n; i++)
    {
      guint y = i % n_classes;

      (*labels)[i] = y;
      for (guint l = 0; l < L; l++)
        h[l] = mu[(gsize) y * L + l] + 4.0 * gauss (&s);
      for (guint j = 0; j < dim; j++)
        {
          double v = 0.05 * gauss (&s) + 0.1;

          for (guint l = 0; l < L; l++)
            v += a[(gsize) j * L + l] * h[l];
          (*x)[(gsize) i * dim + j] = (float) MAX (v, 0.0);
        }
    }
}

static gboolean
load (const char *features, const char *list, guint want, float **x,
      guint **labels, guint *n, guint *dim, guint *n_classes)
{
  g_autofree char *buf = NULL, *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree guint *perm = NULL;
  gsize len;
  guint rows;
  guint64 s = 7;

  if (!g_file_get_contents (features, &buf, &len, NULL)
      || !g_file_get_contents (list, &text, NULL, NULL))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  rows = g_strv_length (lines);
  while (rows > 0 && lines[rows - 1][0] == '\0')
    rows--;
  if (rows == 0 || len % ((gsize) rows * 4) != 0)
    return FALSE;
  *dim = (guint) (len / 4 / rows);
  perm = g_new (guint, rows);
  for (guint i = 0; i < rows; i++)
    perm[i] = i;
  for (guint i = rows - 1; i > 0; i--)
    {
      guint j = (guint) (next (&s) % (i + 1)), t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
  *n = want && want < rows ? want : rows;
  *x = g_new (float, (gsize) * n **dim);
  *labels = g_new (guint, *n);
  for (guint r = 0; r < *n; r++)
    {
      guint i = perm[r], c;
      g_autofree char *dir = g_path_get_dirname (lines[i]);
      g_autofree char *cls = g_path_get_basename (dir);

      for (c = 0; c < names->len; c++)
        if (strcmp (g_ptr_array_index (names, c), cls) == 0)
          break;
      if (c == names->len)
        g_ptr_array_add (names, g_strdup (cls));
      (*labels)[r] = c;
      memcpy (*x + (gsize) r * *dim, buf + (gsize) i * *dim * 4,
              *dim * sizeof (float));
    }
  *n_classes = names->len;
  return TRUE;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  gint n = 1000, dim = 1280, n_classes = 10, repeat = 5, threads = 1;
  g_autofree char *features = NULL, *list = NULL, *save = NULL;
  GOptionEntry entries[] = {
    { "n", 0, 0, G_OPTION_ARG_INT, &n, "Examples (default 1000)", "N" },
    { "dim", 0, 0, G_OPTION_ARG_INT, &dim, "Synthetic feature length", "D" },
    { "classes", 0, 0, G_OPTION_ARG_INT, &n_classes, "Synthetic classes", "K" },
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat, "Trainings (median)", "R" },
    { "features", 0, 0, G_OPTION_ARG_FILENAME, &features, "float32 rows",
      "FILE" },
    { "list", 0, 0, G_OPTION_ARG_FILENAME, &list, "paths of the rows", "FILE" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads,
      "Training threads (default 1; 0: one per processor)", "T" },
    { "save", 0, 0, G_OPTION_ARG_FILENAME, &save,
      "Write the serialised head to FILE", "FILE" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("");
  g_autoptr (GError) error = NULL;
  g_autofree float *x = NULL, *probs = NULL;
  g_autofree guint *labels = NULL;
  g_autofree double *wall = NULL, *cpu = NULL;
  g_autoptr (HippoHead) head = NULL;
  g_autoptr (HippoMetrics) metrics = NULL;
  HippoHeadParams params;
  guint un, ud, uk, right = 0;
  double t0, c0, pred_wall;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || n < 2 || dim < 1
      || n_classes < 2 || repeat < 1)
    {
      fprintf (stderr, "bench-head: %s\n",
               error ? error->message : "bad arguments");
      return 2;
    }
  if (features)
    {
      if (!list
          || !load (features, list, (guint) n, &x, &labels, &un, &ud, &uk))
        {
          fprintf (stderr, "bench-head: cannot read %s with --list\n",
                   features);
          return 2;
        }
    }
  else
    {
      un = (guint) n, ud = (guint) dim, uk = (guint) n_classes;
      synthetic (un, ud, uk, &x, &labels);
    }
  printf ("data: %s, %u examples x %u features, %u classes\n",
          features ? features : "synthetic", un, ud, uk);
  printf ("OpenBLAS threads at start: %d (OPENBLAS_NUM_THREADS=%s)\n",
          openblas_get_num_threads (),
          g_getenv ("OPENBLAS_NUM_THREADS") ? g_getenv ("OPENBLAS_NUM_THREADS")
                                            : "unset");

  hippo_head_params_default (&params);
  params.n_threads = (guint) MAX (threads, 0);
  printf ("training threads: %u\n", params.n_threads);
  wall = g_new (double, repeat);
  cpu = g_new (double, repeat);
  for (gint r = 0; r < repeat; r++)
    {
      g_clear_pointer (&head, hippo_head_free);
      t0 = wall_now ();
      c0 = cpu_now ();
      head = hippo_head_train (x, un, ud, labels, NULL, uk, &params, NULL, NULL,
                               &error);
      wall[r] = wall_now () - t0;
      cpu[r] = cpu_now () - c0;
      if (head == NULL)
        {
          fprintf (stderr, "bench-head: %s\n", error->message);
          return 1;
        }
    }
  qsort (wall, repeat, sizeof (double), cmp_double);
  qsort (cpu, repeat, sizeof (double), cmp_double);

  probs = g_new (float, (gsize) un * uk);
  t0 = wall_now ();
  hippo_head_predict (head, x, un, probs);
  pred_wall = wall_now () - t0;
  for (guint i = 0; i < un; i++)
    right += hippo_head_decide (head, probs + (gsize) i * uk, 0, NULL)
             == (gint) labels[i];
  metrics = hippo_metrics_from_training (head, &error);

  printf ("train (automatic λ, %u-fold CV, calibration), median of %d: "
          "%.3f s wall, %.3f s CPU (min %.3f, max %.3f wall)\n",
          hippo_head_get_cv_folds (head), repeat, wall[repeat / 2],
          cpu[repeat / 2], wall[0], wall[repeat - 1]);
  printf ("λ %g, temperature %.3f, training accuracy %.1f %%, "
          "cross-validated accuracy %.1f %%\n",
          hippo_head_get_l2 (head), hippo_head_get_temperature (head),
          100.0 * right / un,
          metrics ? 100 * hippo_metrics_get_accuracy (metrics) : NAN);
  printf ("predict %u examples: %.4f s\n", un, pred_wall);
  if (save)
    {
      g_autoptr (GBytes) blob = hippo_head_serialize (head);

      if (!g_file_set_contents (save, g_bytes_get_data (blob, NULL),
                                (gssize) g_bytes_get_size (blob), &error))
        {
          fprintf (stderr, "bench-head: %s\n", error->message);
          return 1;
        }
    }
  return 0;
}
