/* hippotag init | class | label | unlabel | train | classify | suggest |
 * eval | tag | sort: the commands that work on a project. */

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* --- shared ------------------------------------------------------------ */

#define SHARD_HELP                                                             \
  "Only shard K of N (1-based): a file belongs to shard (FNV-1a 64 of its "    \
  "path as given or found in a folder) mod N + 1, so N runs with the same "    \
  "arguments split the files exactly; concatenate their outputs (GNU "         \
  "parallel, a Slurm job array...)"

typedef struct
{
  int jobs;
  char *shard;
  guint shard_k;
  guint shard_n;
  char *precision;
  HippoPrecision prec;
} BatchArgs;

/* clang-format off */
#define BATCH_ENTRIES(b)                                                     \
  { "jobs", 'j', 0, G_OPTION_ARG_INT, &(b).jobs,                             \
    "Threads for decoding and the network (default: one per core)", "N" },   \
  { "shard", 0, 0, G_OPTION_ARG_STRING, &(b).shard, SHARD_HELP, "K/N" },   \
  { "precision", 0, 0, G_OPTION_ARG_STRING, &(b).precision, CLI_PRECISION_HELP, \
    "P" }
/* clang-format on */

static void
batch_args_clear (BatchArgs *b)
{
  g_clear_pointer (&b->shard, g_free);
  g_clear_pointer (&b->precision, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (BatchArgs, batch_args_clear)

static gboolean
batch_args_check (BatchArgs *b)
{
  if (b->jobs < 0 || b->jobs > 1024)
    {
      cli_error ("--jobs must be 0..1024");
      return FALSE;
    }
  if (!cli_parse_precision (b->precision, &b->prec))
    return FALSE;
  b->shard_k = b->shard_n = 1;
  if (b->shard)
    {
      guint64 k, n;
      char *end;

      k = g_ascii_strtoull (b->shard, &end, 10);
      if (end == b->shard || *end != '/')
        goto bad;
      n = g_ascii_strtoull (end + 1, &end, 10);
      if (*end != '\0' || n < 1 || n > 1000000 || k < 1 || k > n)
        goto bad;
      b->shard_k = (guint) k;
      b->shard_n = (guint) n;
    }
  return TRUE;

bad:
  cli_error ("--shard must be K/N with 1 <= K <= N, e.g. 2/8");
  return FALSE;
}

static guint64
fnv1a64 (const char *s)
{
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325);

  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      h ^= *p;
      h *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  return h;
}

static gboolean
in_shard (const BatchArgs *b, const char *path)
{
  return b->shard_n <= 1 || fnv1a64 (path) % b->shard_n == b->shard_k - 1;
}

/* Keeps the paths of this shard, in order. */
static void
shard_filter (const BatchArgs *b, GPtrArray *paths)
{
  guint j = 0;

  if (b->shard_n <= 1)
    return;
  for (guint i = 0; i < paths->len; i++)
    if (in_shard (b, paths->pdata[i]))
      {
        char *tmp = paths->pdata[j];
        paths->pdata[j++] = paths->pdata[i];
        paths->pdata[i] = tmp;
      }
  g_ptr_array_set_size (paths, j);
}

/* A progress bar with ETA on stderr, only when stderr is a terminal. */
typedef struct
{
  gboolean on;
  const char *what;
  guint64 total;
  gint64 t0;
  gint64 last;
  gboolean drawn;
} Progress;

static void
progress_start (Progress *p, const char *what, guint64 total)
{
  p->on = total > 0 && isatty (STDERR_FILENO);
  p->what = what;
  p->total = total;
  p->t0 = g_get_monotonic_time ();
  p->last = 0;
  p->drawn = FALSE;
}

static void
progress_update (Progress *p, guint64 done)
{
  enum
  {
    WIDTH = 30
  };
  char bar[WIDTH + 1];
  gint64 now;
  guint filled;
  double elapsed, eta;

  if (!p->on)
    return;
  now = g_get_monotonic_time ();
  if (done < p->total && now - p->last < 100000)
    return;
  p->last = now;
  done = MIN (done, p->total);
  filled = (guint) (WIDTH * done / p->total);
  memset (bar, '#', filled);
  memset (bar + filled, '.', WIDTH - filled);
  bar[WIDTH] = '\0';
  elapsed = (now - p->t0) / 1e6;
  fprintf (stderr,
           "\r%s [%s] %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " %3d%%",
           p->what, bar, done, p->total, (int) (100 * done / p->total));
  if (done > 0 && done < p->total)
    {
      eta = elapsed * (p->total - done) / done;
      fprintf (stderr, " ETA %d:%02d", (int) (eta / 60), (int) eta % 60);
    }
  fputs ("\033[K", stderr);
  fflush (stderr);
  p->drawn = TRUE;
}

static void
progress_clear (Progress *p)
{
  if (p->on && p->drawn)
    {
      fputs ("\r\033[K", stderr);
      fflush (stderr);
      p->drawn = FALSE;
    }
}

static gboolean
progress_func (guint64 done, guint64 total, gpointer user_data)
{
  Progress *p = user_data;

  if (total > 0)
    p->total = total;
  progress_update (p, done);
  return TRUE;
}

/* "hippotag: PATH: MESSAGE" (the path only when the message lacks it). */
static void
file_error (Progress *p, const char *path, const char *message)
{
  g_autofree char *display = g_filename_display_name (path);

  if (p)
    progress_clear (p);
  if (strstr (message, display) || strstr (message, path))
    cli_error ("%s", message);
  else
    cli_error ("%s: %s", display, message);
}

static int
error_rc (const GError *error)
{
  if (error->domain == HIPPO_ERROR
      && error->code == HIPPO_ERROR_INVALID_ARGUMENT)
    return CLI_USAGE;
  return CLI_NOTHING_RAN;
}

static gboolean
check_format (const char *format, const char *const *allowed)
{
  g_autofree char *list = NULL;

  if (format == NULL)
    return TRUE;
  for (guint i = 0; allowed[i]; i++)
    if (strcmp (format, allowed[i]) == 0)
      return TRUE;
  list = g_strjoinv ("|", (char **) allowed);
  cli_error ("--format must be %s", list);
  return FALSE;
}

typedef enum
{
  OPEN_WRITE, /* labels, training: fail when it cannot be written */
  OPEN_READ,  /* prediction: fall back to read-only */
} OpenMode;

/* Opens a project with its model; prints the error and returns NULL on
 * failure (exit code CLI_NOTHING_RAN). */
static HippoClassifier *
open_project (const char *path, int jobs, HippoPrecision precision,
              OpenMode mode)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) error_ro = NULL;
  HippoClassifierParams params;
  HippoClassifier *c;

  hippo_classifier_params_default (&params);
  params.n_threads = jobs;
  params.precision = precision;
  c = hippo_classifier_open (path, &params, &error);
  if (c != NULL
      && hippo_project_is_read_only (hippo_classifier_get_project (c)))
    {
      /* the file or its folder cannot be written: the core opened it
       * read-only */
      if (mode == OPEN_WRITE)
        {
          cli_error ("%s: the project is not writable (a read-only file or "
                     "folder)", path);
          hippo_classifier_free (c);
          return NULL;
        }
      cli_error ("%s is not writable; opened read-only (new features are "
                 "not cached)", path);
    }
  if (c != NULL)
    return c;
  if (mode == OPEN_READ && error->domain == HIPPO_ERROR
      && error->code == HIPPO_ERROR_PROJECT
      && g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      params.read_only = TRUE;
      c = hippo_classifier_open (path, &params, &error_ro);
      if (c != NULL)
        {
          cli_error ("%s; opened read-only (new features are not cached)",
                     error->message);
          return c;
        }
    }
  cli_error ("%s", error->message);
  return NULL;
}

static void
warn_if_stale (HippoClassifier *c)
{
  if (hippo_classifier_is_stale (c))
    cli_error ("warning: classes or labels changed since the last training; "
               "run 'hippotag train %s'",
               hippo_project_get_path (hippo_classifier_get_project (c)));
}

static gboolean
finish_output (void)
{
  if (fflush (stdout) != 0 || ferror (stdout))
    {
      cli_error ("writing the output failed: %s", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

/* NFC, trimmed and case-folded: how class names are compared. */
static char *
class_key (const char *name)
{
  g_autofree char *nfc = NULL;

  if (!g_utf8_validate (name, -1, NULL))
    return NULL;
  nfc = g_utf8_normalize (name, -1, G_NORMALIZE_NFC);
  if (nfc == NULL)
    return NULL;
  g_strstrip (nfc);
  return g_utf8_casefold (nfc, -1);
}

/* The stored name of the class called @name (any case), or NULL. */
static char *
find_class (HippoProject *project, const char *name, GError **error)
{
  g_autoptr (HippoClassInfo) ci = NULL;
  GError *local = NULL;

  ci = hippo_project_lookup_class (project, name, &local);
  if (ci != NULL)
    return g_strdup (ci->name);
  if (TRUE)
    g_propagate_error (error, local);
  else
    g_error_free (local);
  return NULL;
}

/* The stored name of class @name, created when missing. */
static char *
ensure_class (HippoProject *project, const char *name, gboolean *created,
              GError **error)
{
  g_autoptr (GError) local = NULL;
  char *found;

  *created = FALSE;
  found = find_class (project, name, &local);
  if (found || local->code != HIPPO_ERROR_NOT_FOUND)
    {
      if (!found)
        g_propagate_error (error, g_steal_pointer (&local));
      return found;
    }
  if (!hippo_project_add_class (project, name, NULL, NULL, error))
    {
      /* another process may have added it meanwhile */
      found = find_class (project, name, NULL);
      if (found)
        g_clear_error (error);
      return found;
    }
  *created = TRUE;
  return find_class (project, name, error);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The non-hidden sub-folders of dir, sorted; NULL with a message when dir
 * cannot be read. */
static GPtrArray *
list_subdirs (const char *dir, guint *n_loose)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  GPtrArray *out;
  const char *name;

  *n_loose = 0;
  if (d == NULL)
    {
      cli_error ("%s", error->message);
      return NULL;
    }
  out = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (d)))
    {
      g_autofree char *p = NULL;
      if (name[0] == '.')
        continue;
      p = g_build_filename (dir, name, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        g_ptr_array_add (out, g_strdup (name));
      else
        (*n_loose)++;
    }
  g_ptr_array_sort (out, compare_names);
  return out;
}

/* Index order of the scores, best first (ties by index). */
static void
rank_scores (const float *scores, guint k, guint *order)
{
  for (guint i = 0; i < k; i++)
    order[i] = i;
  for (guint i = 1; i < k; i++)
    {
      guint v = order[i], j = i;
      while (j > 0 && scores[order[j - 1]] < scores[v])
        {
          order[j] = order[j - 1];
          j--;
        }
      order[j] = v;
    }
}

static void
json_number (GString *out, double v)
{
  if (isfinite (v))
    g_string_append_printf (out, "%.6g", v);
  else
    g_string_append (out, "null");
}

/* Appends an RFC 4180 field. */
static void
csv_field (GString *out, const char *s)
{
  g_autofree char *valid = NULL;

  if (!g_utf8_validate (s, -1, NULL))
    s = valid = g_utf8_make_valid (s, -1);
  if (strpbrk (s, ",\"\r\n") == NULL)
    {
      g_string_append (out, s);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = s; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

/* --- init -------------------------------------------------------------- */

static void
remove_project_files (const char *path)
{
  static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (path, suffixes[i], NULL);
      g_unlink (p);
    }
}

/* A model given as a path is stored absolute, so the project works from
 * any folder; a plain name stays a name. */
static char *
model_argument (const char *model)
{
  if (model == NULL)
    return NULL;
  if (strchr (model, G_DIR_SEPARATOR) || g_str_has_suffix (model, ".json")
      || g_file_test (model, G_FILE_TEST_IS_DIR))
    return g_canonicalize_filename (model, NULL);
  return g_strdup (model);
}

int
cli_cmd_init (int argc, char **argv)
{
  g_autofree char *model_name = NULL;
  g_autofree char *model_arg = NULL;
  g_autofree char *layers = NULL;
  gboolean multi_label = FALSE;
  GOptionEntry entries[]
    = { { "model", 'm', 0, G_OPTION_ARG_STRING, &model_name,
          "Model name or path (default " HIPPO_DEFAULT_MODEL ")", "NAME|PATH" },
        { "multi-label", 0, 0, G_OPTION_ARG_NONE, &multi_label,
          "An image may have several classes (independent yes/no per class)",
          NULL },
        { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GError) error = NULL;
  HippoClassifierParams params;
  const char *path;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx, "Create a project file (e.g. "
                                     "photos.hippotag); fails if it exists.");
  if (!cli_parse (ctx, &argc, &argv))
    return CLI_USAGE;
  if (argc != 2)
    {
      cli_error ("usage: hippotag init PROJECT [--model NAME|PATH] "
                 "[--multi-label]");
      return CLI_USAGE;
    }
  path = argv[1];
  if (g_file_test (path, G_FILE_TEST_EXISTS)
      || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      cli_error ("%s already exists; not touched", path);
      return CLI_NOTHING_RAN;
    }
  model_arg = model_argument (model_name);
  hippo_classifier_params_default (&params);
  params.create = TRUE;
  params.model = model_arg;
  params.multi_label = multi_label;
  c = hippo_classifier_open (path, &params, &error);
  if (c == NULL)
    {
      cli_error ("%s", error->message);
      remove_project_files (path);
      return CLI_NOTHING_RAN;
    }
  layers = hippo_project_get_string (hippo_classifier_get_project (c),
                                     HIPPO_SETTING_LAYERS, "", NULL);
  printf ("created %s: model %s, layers %s, %s\n", path,
          hippo_model_get_name (hippo_classifier_get_model (c)),
          layers ? layers : "", multi_label ? "multi-label" : "single-label");
  return finish_output () ? CLI_OK : CLI_NOTHING_RAN;
}

/* --- class ------------------------------------------------------------- */

int
cli_cmd_class (int argc, char **argv)
{
  gboolean force = FALSE;
  GOptionEntry entries[]
    = { { "force", 'f', 0, G_OPTION_ARG_NONE, &force,
          "remove: also delete the class's labelled examples (their cached "
          "features stay)",
          NULL },
        { NULL } };
  g_autoptr (GOptionContext) ctx
    = g_option_context_new ("add|rename|remove|list PROJECT [NAME [NEWNAME]]");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *stored = NULL;
  HippoProject *project;
  const char *sub;
  gboolean ok = FALSE;
  int want;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Manage the classes of a project.\n\n"
         "  add PROJECT NAME         add a class\n"
         "  rename PROJECT NAME NEW  rename it (its examples follow)\n"
         "  remove PROJECT NAME      remove a class without examples; with\n"
         "                           --force also unlabel its examples\n"
         "  list PROJECT             list classes and example counts\n\n"
         "Any change marks the trained head stale: train again.");
  if (!cli_parse (ctx, &argc, &argv))
    return CLI_USAGE;
  sub = argc > 1 ? argv[1] : "";
  want = strcmp (sub, "add") == 0      ? 4
         : strcmp (sub, "rename") == 0 ? 5
         : strcmp (sub, "remove") == 0 ? 4
         : strcmp (sub, "list") == 0   ? 3
                                       : -1;
  if (want < 0 || argc != want)
    {
      cli_error ("usage: hippotag class add|rename|remove PROJECT NAME "
                 "[NEWNAME], or class list PROJECT");
      return CLI_USAGE;
    }
  c = open_project (argv[2], 0, HIPPO_PRECISION_FLOAT32,
                    strcmp (sub, "list") == 0 ? OPEN_READ : OPEN_WRITE);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  project = hippo_classifier_get_project (c);

  if (strcmp (sub, "list") == 0)
    {
      g_autoptr (GPtrArray) classes
        = hippo_project_list_classes (project, &error);
      if (classes == NULL)
        {
          cli_error ("%s", error->message);
          return CLI_NOTHING_RAN;
        }
      for (guint i = 0; i < classes->len; i++)
        {
          HippoClassInfo *ci = classes->pdata[i];
          printf ("%s\t%u\n", ci->name, ci->n_examples);
        }
      return finish_output () ? CLI_OK : CLI_NOTHING_RAN;
    }
  if (strcmp (sub, "add") == 0)
    {
      ok = hippo_project_add_class (project, argv[3], NULL, NULL, &error);
      if (ok)
        printf ("added class '%s'\n", argv[3]);
    }
  else if ((stored = find_class (project, argv[3], &error)) == NULL)
    ok = FALSE;
  else if (strcmp (sub, "rename") == 0)
    {
      ok = hippo_project_rename_class (project, stored, argv[4], &error);
      if (ok)
        printf ("renamed class '%s' to '%s'\n", stored, argv[4]);
    }
  else
    {
      guint n = 0;
      ok = hippo_project_remove_class (project, stored, force, &n, &error);
      if (ok)
        printf ("removed class '%s' and %u labelled example%s\n", stored, n,
                n == 1 ? "" : "s");
      else if (error->code == HIPPO_ERROR_STATE)
        {
          cli_error ("%s", error->message);
          cli_error ("not removed; 'hippotag class remove --force %s %s' "
                     "deletes its examples too",
                     argv[2], argv[3]);
          return CLI_NOTHING_RAN;
        }
    }
  if (!ok)
    {
      cli_error ("%s", error->message);
      return error_rc (error);
    }
  return finish_output () ? CLI_OK : CLI_NOTHING_RAN;
}

/* --- label / unlabel --------------------------------------------------- */

typedef struct
{
  Progress *progress;
  guint64 done_before;
  guint n_ok;
  guint n_failed;
} LabelCtx;

static gboolean
on_labelled (guint index, const char *path, const HippoPrediction *pred,
             const GError *error, gpointer user_data)
{
  LabelCtx *l = user_data;

  if (error)
    {
      file_error (l->progress, path, error->message);
      l->n_failed++;
    }
  else
    l->n_ok++;
  progress_update (l->progress, l->done_before + index + 1);
  return TRUE;
}

typedef struct
{
  char *name; /* as given (folder name or --class) */
  GPtrArray *paths;
} LabelJob;

static void
label_job_free (gpointer p)
{
  LabelJob *j = p;

  g_free (j->name);
  g_ptr_array_unref (j->paths);
  g_free (j);
}

int
cli_cmd_label (int argc, char **argv)
{
  g_autofree char *class_name = NULL;
  g_autofree char *tree = NULL;
  g_auto (BatchArgs) b = { 0 };
  GOptionEntry entries[]
    = { { "class", 'c', 0, G_OPTION_ARG_STRING, &class_name,
          "Label the files as this class (created if missing)", "NAME" },
        { "tree", 't', 0, G_OPTION_ARG_FILENAME, &tree,
          "Label every image under DIR/CLASS/ as CLASS (classes are created "
          "as needed; files directly in DIR are ignored)",
          "DIR" },
        BATCH_ENTRIES (b),
        { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT [PATH...]");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GPtrArray) jobs = g_ptr_array_new_with_free_func (label_job_free);
  HippoProject *project;
  Progress progress;
  LabelCtx l = { &progress, 0, 0, 0 };
  guint64 total = 0;
  int rc = CLI_OK;
  gboolean fatal = FALSE;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Label images (files or folders, read recursively) as a class. "
         "Features are computed once and cached in the project.");
  if (!cli_parse (ctx, &argc, &argv) || !batch_args_check (&b))
    return CLI_USAGE;
  if (argc < 2 || (class_name == NULL) == (tree == NULL)
      || (class_name && argc < 3) || (tree && argc != 2))
    {
      cli_error ("usage: hippotag label PROJECT --class NAME PATH..., or "
                 "hippotag label PROJECT --tree DIR");
      return CLI_USAGE;
    }

  if (class_name)
    {
      LabelJob *j = g_new0 (LabelJob, 1);
      j->name = g_strdup (class_name);
      j->paths = cli_collect_paths (argv + 2, argc - 2);
      g_ptr_array_add (jobs, j);
    }
  else
    {
      guint n_loose;
      g_autoptr (GPtrArray) dirs = list_subdirs (tree, &n_loose);
      if (dirs == NULL)
        return CLI_NOTHING_RAN;
      if (n_loose > 0)
        cli_error ("%u file%s directly in %s ignored: not in a class folder",
                   n_loose, n_loose == 1 ? "" : "s", tree);
      for (guint i = 0; i < dirs->len; i++)
        {
          g_autofree char *sub = g_build_filename (tree, dirs->pdata[i], NULL);
          LabelJob *j = g_new0 (LabelJob, 1);
          j->name = g_strdup (dirs->pdata[i]);
          j->paths = cli_collect_paths (&sub, 1);
          if (j->paths->len == 0)
            {
              cli_error ("%s has no files; class '%s' skipped", sub, j->name);
              label_job_free (j);
              continue;
            }
          g_ptr_array_add (jobs, j);
        }
      if (jobs->len == 0)
        {
          cli_error ("no class folders with files in %s", tree);
          return CLI_SOME_FAILED;
        }
    }
  for (guint i = 0; i < jobs->len; i++)
    {
      LabelJob *j = jobs->pdata[i];
      shard_filter (&b, j->paths);
      total += j->paths->len;
    }

  c = open_project (argv[1], b.jobs, b.prec, OPEN_WRITE);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  project = hippo_classifier_get_project (c);

  progress_start (&progress, "label", total);
  for (guint i = 0; i < jobs->len && !fatal; i++)
    {
      LabelJob *j = jobs->pdata[i];
      g_autoptr (GError) error = NULL;
      g_autofree char *stored = NULL;
      gboolean created;
      guint ok_before = l.n_ok, failed_before = l.n_failed;

      stored = ensure_class (project, j->name, &created, &error);
      if (stored == NULL)
        {
          progress_clear (&progress);
          cli_error ("class '%s': %s", j->name, error->message);
          if (error->code == HIPPO_ERROR_PROJECT)
            fatal = TRUE;
          l.n_failed += j->paths->len;
          l.done_before += j->paths->len;
          continue;
        }
      if (created)
        {
          progress_clear (&progress);
          cli_error ("created class '%s'", stored);
        }
      if (!hippo_classifier_label_files (
            c, stored, (const char *const *) j->paths->pdata, j->paths->len,
            on_labelled, &l, &error))
        {
          progress_clear (&progress);
          cli_error ("%s", error->message);
          fatal = TRUE;
          break;
        }
      l.done_before += j->paths->len;
      progress_clear (&progress);
      printf ("%s\t%u labelled", stored, l.n_ok - ok_before);
      if (l.n_failed > failed_before)
        printf (", %u failed", l.n_failed - failed_before);
      putchar ('\n');
    }
  progress_clear (&progress);
  if (total == 0)
    cli_error ("no files to label");
  if (fatal)
    rc = l.n_ok > 0 ? CLI_SOME_FAILED : CLI_NOTHING_RAN;
  else if (l.n_failed > 0 || total == 0)
    rc = CLI_SOME_FAILED;
  if (!finish_output ())
    rc = CLI_NOTHING_RAN;
  return rc;
}

int
cli_cmd_unlabel (int argc, char **argv)
{
  g_autofree char *class_name = NULL;
  GOptionEntry entries[]
    = { { "class", 'c', 0, G_OPTION_ARG_STRING, &class_name,
          "Only remove this class's label", "NAME" },
        { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT PATH...");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *stored = NULL;
  HippoProject *project;
  guint n_failed = 0, n_total = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Remove the labels of files (folders are read recursively). A file "
         "is found by its path, or by its content when it was labelled "
         "under another path.");
  if (!cli_parse (ctx, &argc, &argv))
    return CLI_USAGE;
  if (argc < 3)
    {
      cli_error ("usage: hippotag unlabel PROJECT PATH...");
      return CLI_USAGE;
    }
  c = open_project (argv[1], 0, HIPPO_PRECISION_FLOAT32, OPEN_WRITE);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  project = hippo_classifier_get_project (c);
  if (class_name && (stored = find_class (project, class_name, &error)) == NULL)
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  paths = cli_collect_paths (argv + 2, argc - 2);
  if (!hippo_project_begin (project, &error))
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = paths->pdata[i];
      g_autofree char *display = g_filename_display_name (path);
      g_autoptr (GError) e = NULL;
      guint n = 0;

      if (!hippo_project_remove_examples_by_path (project, path, stored, &n,
                                                  &e))
        {
          file_error (NULL, path, e->message);
          n_failed++;
          continue;
        }
      if (n == 0 && g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          g_autofree char *hash = hippo_project_hash_file (project, path, &e);
          if (hash == NULL
              || !hippo_project_remove_examples_by_hash (project, hash, stored,
                                                         &n, &e))
            {
              file_error (NULL, path, e->message);
              n_failed++;
              continue;
            }
        }
      if (n == 0 && !g_file_test (path, G_FILE_TEST_EXISTS))
        {
          file_error (NULL, path, "no such file, and not labelled");
          n_failed++;
          continue;
        }
      n_total += n;
      if (n == 0)
        printf ("%s\tnot labelled\n", display);
      else
        printf ("%s\t%u label%s removed\n", display, n, n == 1 ? "" : "s");
    }
  if (!hippo_project_commit (project, &error))
    {
      hippo_project_rollback (project);
      cli_error ("%s; nothing was unlabelled", error->message);
      return CLI_NOTHING_RAN;
    }
  if (!finish_output ())
    return CLI_NOTHING_RAN;
  return n_failed ? CLI_SOME_FAILED : CLI_OK;
}

/* --- train ------------------------------------------------------------- */

static double
json_double (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);

  if (n == NULL || JSON_NODE_TYPE (n) != JSON_NODE_VALUE)
    return NAN;
  return json_node_get_double (n);
}

static gint64
json_int (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);

  if (n == NULL || JSON_NODE_TYPE (n) != JSON_NODE_VALUE)
    return 0;
  return json_node_get_int (n);
}

static void
pad_utf8 (GString *out, const char *s, guint width, gboolean right)
{
  glong len = g_utf8_strlen (s, -1);

  if (right)
    for (glong j = len; j < (glong) width; j++)
      g_string_append_c (out, ' ');
  g_string_append (out, s);
  if (!right)
    for (glong j = len; j < (glong) width; j++)
      g_string_append_c (out, ' ');
}

static void
fixed3 (GString *out, double v)
{
  if (isnan (v))
    g_string_append (out, "      -");
  else
    g_string_append_printf (out, " %6.3f", v);
}

/* Renders the metrics JSON of hippo_classifier_train() (or of
 * hippo_metrics_to_json()) as a table. */
static char *
metrics_text (JsonObject *o)
{
  GString *out = g_string_new (NULL);
  JsonArray *classes = json_object_has_member (o, "classes")
                         ? json_object_get_array_member (o, "classes")
                         : NULL;
  JsonArray *confusion = json_object_has_member (o, "confusion")
                           ? json_object_get_array_member (o, "confusion")
                           : NULL;
  JsonArray *notes = json_object_has_member (o, "notes")
                       ? json_object_get_array_member (o, "notes")
                       : NULL;
  guint k = classes ? json_array_get_length (classes) : 0;
  guint w = 5, cw = 4;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  gint64 folds = json_int (o, "folds");
  double sure = json_double (o, "sure_accuracy");

  for (guint i = 0; i < k; i++)
    {
      JsonObject *ci = json_array_get_object_element (classes, i);
      const char *name = ci && json_object_has_member (ci, "name")
                           ? json_object_get_string_member (ci, "name")
                           : NULL;
      const char *text = name ? name : "?";
      /* g_utf8_substring () must not be asked past the end */
      char *shown = g_utf8_substring (text, 0,
                                      MIN (40, g_utf8_strlen (text, -1)));
      w = MAX (w, (guint) g_utf8_strlen (shown, -1));
      g_ptr_array_add (names, shown);
    }
  if (confusion && json_array_get_length (confusion) == k)
    for (guint i = 0; i < k; i++)
      {
        JsonArray *row = json_array_get_array_element (confusion, i);
        for (guint j = 0; row && j < json_array_get_length (row); j++)
          {
            g_autofree char *num = g_strdup_printf (
              "%" G_GINT64_FORMAT, json_array_get_int_element (row, j));
            cw = MAX (cw, (guint) strlen (num) + 1);
          }
      }

  g_string_append_printf (
    out,
    "Accuracy %.1f %% (balanced %.1f %%) on %" G_GINT64_FORMAT
    " of %" G_GINT64_FORMAT " examples",
    100 * json_double (o, "accuracy"),
    100 * json_double (o, "balanced_accuracy"), json_int (o, "n_tested"),
    json_int (o, "n_samples"));
  if (folds > 0)
    g_string_append_printf (out, ", %" G_GINT64_FORMAT "-fold cross-validation",
                            folds);
  g_string_append_printf (out,
                          "\nLog-loss %.3f; %.1f %% of predictions at or "
                          "above %.2f confidence",
                          json_double (o, "log_loss"),
                          100 * json_double (o, "coverage"),
                          json_double (o, "unsure_threshold"));
  if (!isnan (sure))
    g_string_append_printf (out, ", %.1f %% of those right", 100 * sure);
  g_string_append (out, "\n\n  # ");
  pad_utf8 (out, "class", w, FALSE);
  g_string_append (out, " precision recall     f1 support\n");
  for (guint i = 0; i < k; i++)
    {
      JsonObject *ci = json_array_get_object_element (classes, i);
      g_string_append_printf (out, "%3u ", i);
      pad_utf8 (out, names->pdata[i], w, FALSE);
      g_string_append (out, "   ");
      fixed3 (out, json_double (ci, "precision"));
      fixed3 (out, json_double (ci, "recall"));
      fixed3 (out, json_double (ci, "f1"));
      g_string_append_printf (out, " %7" G_GINT64_FORMAT "\n",
                              json_int (ci, "support"));
    }
  if (confusion && json_array_get_length (confusion) == k)
    {
      g_string_append (out, "\nConfusion (rows = true class, columns = "
                            "predicted, by #):\n    ");
      pad_utf8 (out, "", w, FALSE);
      for (guint j = 0; j < k; j++)
        {
          g_autofree char *num = g_strdup_printf ("%u", j);
          pad_utf8 (out, num, cw, TRUE);
        }
      g_string_append_c (out, '\n');
      for (guint i = 0; i < k; i++)
        {
          JsonArray *row = json_array_get_array_element (confusion, i);
          g_string_append_printf (out, "%3u ", i);
          pad_utf8 (out, names->pdata[i], w, FALSE);
          for (guint j = 0; row && j < json_array_get_length (row); j++)
            {
              g_autofree char *num = g_strdup_printf (
                "%" G_GINT64_FORMAT, json_array_get_int_element (row, j));
              pad_utf8 (out, num, cw, TRUE);
            }
          g_string_append_c (out, '\n');
        }
    }
  if (notes && json_array_get_length (notes) > 0)
    {
      g_string_append_c (out, '\n');
      for (guint j = 0; j < json_array_get_length (notes); j++)
        g_string_append_printf (out, "Note: %s.\n",
                                json_array_get_string_element (notes, j));
    }
  return g_string_free (out, FALSE);
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();

  if (!json_parser_load_from_data (parser, text, -1, NULL)
      || json_parser_get_root (parser) == NULL
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  return json_node_copy (json_parser_get_root (parser));
}

static char *
json_to_text (JsonNode *root)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}

int
cli_cmd_train (int argc, char **argv)
{
  g_autofree char *format = NULL;
  g_autofree char *precision = NULL;
  HippoPrecision prec;
  int folds = 5, jobs = 0;
  GOptionEntry entries[]
    = { { "folds", 'k', 0, G_OPTION_ARG_INT, &folds,
          "Folds of the cross-validation that measures the head (5; clipped "
          "to the smallest class)",
          "K" },
        { "format", 0, 0, G_OPTION_ARG_STRING, &format,
          "text (default) or json", "FORMAT" },
        { "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs,
          "Threads for features not yet cached (default: one per core)", "N" },
        { "precision", 0, 0, G_OPTION_ARG_STRING, &precision, CLI_PRECISION_HELP,
          "P" },
        { NULL } };
  static const char *const formats[] = { "text", "json", NULL };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *json = NULL;
  gboolean as_json;
  Progress progress;
  gint64 t0;
  double seconds;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Train the classifier head on every labelled example and measure "
         "it by stratified k-fold cross-validation: accuracy, per-class "
         "precision and recall, confusion matrix. Needs two classes with "
         "examples.");
  if (!cli_parse (ctx, &argc, &argv))
    return CLI_USAGE;
  if (argc != 2 || !check_format (format, formats) || folds < 2 || folds > 100
      || jobs < 0 || jobs > 1024)
    {
      cli_error ("usage: hippotag train PROJECT [--folds K (2..100)] "
                 "[--format text|json]");
      return CLI_USAGE;
    }
  if (!cli_parse_precision (precision, &prec))
    return CLI_USAGE;
  as_json = format && strcmp (format, "json") == 0;
  c = open_project (argv[1], jobs, prec, OPEN_WRITE);
  if (c == NULL)
    return CLI_NOTHING_RAN;

  progress_start (&progress, "features", 1);
  t0 = g_get_monotonic_time ();
  json = hippo_classifier_train (c, (guint) folds, progress_func, &progress,
                                 &error);
  seconds = (g_get_monotonic_time () - t0) / 1e6;
  progress_clear (&progress);
  if (json == NULL)
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  root = parse_json (json);
  if (root == NULL)
    {
      /* not expected; show what the library gave */
      cli_error ("the metrics are not valid JSON; printed as they are");
      printf ("%s\n", json);
      return finish_output () ? CLI_OK : CLI_NOTHING_RAN;
    }
  json_object_set_double_member (json_node_get_object (root), "train_seconds",
                                 seconds);
  if (as_json)
    {
      g_autofree char *text = json_to_text (root);
      printf ("%s\n", text);
    }
  else
    {
      JsonObject *o = json_node_get_object (root);
      g_autofree char *text = metrics_text (o);
      gint64 skipped = json_int (o, "skipped_examples");

      printf ("Trained on %" G_GINT64_FORMAT " examples in %.2f s "
              "(L2 %g, model %s, layers %s)\n",
              json_int (o, "n_samples"), seconds, json_double (o, "l2"),
              hippo_model_get_name (hippo_classifier_get_model (c)),
              json_object_has_member (o, "layers")
                ? json_object_get_string_member (o, "layers")
                : "?");
      if (skipped > 0)
        printf ("%" G_GINT64_FORMAT " examples skipped: their files are "
                "gone or changed and their features were not cached\n",
                skipped);
      printf ("\n%s", text);
    }
  return finish_output () ? CLI_OK : CLI_NOTHING_RAN;
}

/* --- classify ---------------------------------------------------------- */

typedef enum
{
  FORMAT_TEXT,
  FORMAT_JSONL,
  FORMAT_CSV,
} Format;

typedef struct
{
  Format format;
  int top;
  Progress *progress;
  GString *line;
  guint n_ok;
  guint n_failed;
  gboolean multi_label;
  gboolean write_failed;
} ClassifyCtx;

static void
append_scores_json (GString *out, const HippoPrediction *p, int top)
{
  g_autofree guint *order = g_new (guint, MAX (p->n_classes, 1));
  guint n = p->n_classes;

  if (top > 0)
    {
      rank_scores (p->scores, p->n_classes, order);
      n = MIN (n, (guint) top);
    }
  else
    for (guint i = 0; i < n; i++)
      order[i] = i;
  g_string_append_c (out, '{');
  for (guint i = 0; i < n; i++)
    {
      if (i)
        g_string_append (out, ", ");
      cli_json_string (out, p->names[order[i]]);
      g_string_append (out, ": ");
      json_number (out, p->scores[order[i]]);
    }
  g_string_append_c (out, '}');
}

static gboolean
on_classified (guint index, const char *path, const HippoPrediction *p,
               const GError *error, gpointer user_data)
{
  ClassifyCtx *x = user_data;
  GString *line = x->line;

  g_string_truncate (line, 0);
  if (p == NULL)
    {
      x->n_failed++;
      file_error (x->progress, path, error ? error->message : "failed");
      if (x->format == FORMAT_JSONL)
        {
          g_string_append (line, "{\"file\": ");
          cli_json_string (line, path);
          g_string_append (line, ", \"error\": ");
          cli_json_string (line, error ? error->message : "failed");
          g_string_append (line, "}\n");
        }
      else if (x->format == FORMAT_CSV)
        {
          csv_field (line, path);
          g_string_append (line, ",,,,,");
          csv_field (line, error ? error->message : "failed");
          g_string_append (line, "\r\n");
        }
    }
  else if (x->format == FORMAT_JSONL)
    {
      x->n_ok++;
      g_string_append (line, "{\"file\": ");
      cli_json_string (line, path);
      g_string_append (line, ", \"label\": ");
      if (p->label)
        cli_json_string (line, p->label);
      else
        g_string_append (line, "null");
      g_string_append (line, ", \"confidence\": ");
      json_number (line, p->confidence);
      g_string_append_printf (line, ", \"unsure\": %s",
                              p->unsure ? "true" : "false");
      if (x->multi_label)
        {
          gboolean first = TRUE;
          g_string_append (line, ", \"labels\": [");
          for (guint i = 0; i < p->n_classes; i++)
            if (p->scores[i] >= 0.5f)
              {
                if (!first)
                  g_string_append (line, ", ");
                cli_json_string (line, p->names[i]);
                first = FALSE;
              }
          g_string_append_c (line, ']');
        }
      g_string_append (line, ", \"scores\": ");
      append_scores_json (line, p, x->top);
      g_string_append (line, "}\n");
    }
  else if (x->format == FORMAT_CSV)
    {
      g_autofree guint *order = g_new (guint, MAX (p->n_classes, 1));
      g_autoptr (GString) scores = g_string_new (NULL);
      guint n = x->top > 0 ? MIN ((guint) x->top, p->n_classes) : p->n_classes;

      x->n_ok++;
      rank_scores (p->scores, p->n_classes, order);
      for (guint i = 0; i < n; i++)
        g_string_append_printf (scores, "%s%s:%.4f", i ? ";" : "",
                                p->names[order[i]], p->scores[order[i]]);
      csv_field (line, path);
      g_string_append_c (line, ',');
      csv_field (line, p->label ? p->label : "");
      g_string_append_printf (line, ",%.4f,%s,", p->confidence,
                              p->unsure ? "true" : "false");
      csv_field (line, scores->str);
      g_string_append (line, ",\r\n");
    }
  else
    {
      g_autofree char *display = g_filename_display_name (path);
      x->n_ok++;
      g_string_append_printf (line, "%s\t%s\t%.3f%s\n", display,
                              p->label ? p->label : "-", p->confidence,
                              p->unsure ? "\tunsure" : "");
    }
  if (line->len > 0)
    {
      progress_clear (x->progress);
      if (fwrite (line->str, 1, line->len, stdout) != line->len)
        x->write_failed = TRUE;
    }
  progress_update (x->progress, index + 1);
  return !x->write_failed;
}

int
cli_cmd_classify (int argc, char **argv)
{
  g_autofree char *format = NULL;
  int top = 0;
  g_auto (BatchArgs) b = { 0 };
  GOptionEntry entries[]
    = { { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
          "text (FILE<TAB>LABEL<TAB>CONFIDENCE[<TAB>unsure], the default), "
          "jsonl (one object per file, errors included) or csv (RFC 4180 with "
          "a header: file,label,confidence,unsure,scores,error)",
          "FORMAT" },
        { "top", 'n', 0, G_OPTION_ARG_INT, &top,
          "Only the N best classes in the scores, best first", "N" },
        BATCH_ENTRIES (b),
        { NULL } };
  static const char *const formats[] = { "text", "jsonl", "csv", NULL };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT PATH...");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GError) error = NULL;
  Progress progress;
  ClassifyCtx x = { 0 };
  gboolean ok;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Classify images (folders are read recursively) with the trained "
         "head. A file that fails is reported (stderr, and a line in jsonl "
         "and csv) and the rest go on.");
  if (!cli_parse (ctx, &argc, &argv) || !batch_args_check (&b))
    return CLI_USAGE;
  if (argc < 3 || !check_format (format, formats) || top < 0)
    {
      cli_error ("usage: hippotag classify PROJECT [--format "
                 "text|jsonl|csv] [--top N] PATH...");
      return CLI_USAGE;
    }
  x.format = format == NULL || strcmp (format, "text") == 0 ? FORMAT_TEXT
             : strcmp (format, "jsonl") == 0                ? FORMAT_JSONL
                                                            : FORMAT_CSV;
  x.top = top;
  x.progress = &progress;
  paths = cli_collect_paths (argv + 2, argc - 2);
  shard_filter (&b, paths);

  c = open_project (argv[1], b.jobs, b.prec, OPEN_READ);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  x.multi_label
    = hippo_project_get_multi_label (hippo_classifier_get_project (c), NULL);
  warn_if_stale (c);
  x.line = g_string_new (NULL);
  if (x.format == FORMAT_CSV)
    fputs ("file,label,confidence,unsure,scores,error\r\n", stdout);
  progress_start (&progress, "classify", paths->len);
  ok = hippo_classifier_classify_files (c, (const char *const *) paths->pdata,
                                        paths->len, on_classified, &x, &error);
  progress_clear (&progress);
  g_string_free (x.line, TRUE);
  if (!ok && !x.write_failed)
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  if (!finish_output () || x.write_failed)
    return CLI_NOTHING_RAN;
  if (paths->len == 0)
    {
      cli_error ("no files to classify");
      return CLI_SOME_FAILED;
    }
  return x.n_failed ? CLI_SOME_FAILED : CLI_OK;
}

/* --- suggest ----------------------------------------------------------- */

typedef struct
{
  HippoClassifier *c;
  Progress *progress;
  gboolean multi_label;
  GArray *index;       /* guint: candidates (unlabelled, classified) */
  GArray *uncertainty; /* float */
  GPtrArray *guess;    /* char*: their best class */
  guint n_failed;
} SuggestCtx;

static gboolean
on_suggest (guint index, const char *path, const HippoPrediction *p,
            const GError *error, gpointer user_data)
{
  SuggestCtx *s = user_data;
  HippoProject *project = hippo_classifier_get_project (s->c);
  g_autoptr (GPtrArray) labelled = NULL;
  g_autofree char *hash = NULL;
  float u;

  progress_update (s->progress, index + 1);
  if (p == NULL)
    {
      s->n_failed++;
      file_error (s->progress, path, error ? error->message : "failed");
      return TRUE;
    }
  hash = hippo_project_hash_file (project, path, NULL);
  if (hash)
    labelled = hippo_project_find_examples_by_hash (project, hash, NULL);
  if (labelled && labelled->len > 0)
    return TRUE;
  hippo_head_uncertainty (p->scores, 1, p->n_classes, s->multi_label, &u);
  g_array_append_val (s->index, index);
  g_array_append_val (s->uncertainty, u);
  g_ptr_array_add (s->guess, g_strdup (p->label ? p->label : "-"));
  return TRUE;
}

int
cli_cmd_suggest (int argc, char **argv)
{
  int n_best = 10;
  g_auto (BatchArgs) b = { 0 };
  GOptionEntry entries[] = { { "number", 'n', 0, G_OPTION_ARG_INT, &n_best,
                               "How many files to suggest (10)", "N" },
                             BATCH_ENTRIES (b),
                             { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT PATH...");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) index = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr (GArray) unc = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr (GPtrArray) guess = g_ptr_array_new_with_free_func (g_free);
  g_autofree guint *rank = NULL;
  Progress progress;
  SuggestCtx s = { 0 };
  guint m;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Active learning: print the N unlabelled images the head is least "
         "sure about (labelling those helps most), as "
         "FILE<TAB>UNCERTAINTY<TAB>BEST-GUESS, most uncertain first. "
         "Uncertainty is 1 - (p1 - p2) of the two best classes, in [0, 1]. "
         "Files already labelled (same content) are left out.");
  if (!cli_parse (ctx, &argc, &argv) || !batch_args_check (&b))
    return CLI_USAGE;
  if (argc < 3 || n_best < 1)
    {
      cli_error ("usage: hippotag suggest PROJECT [-n N] PATH...");
      return CLI_USAGE;
    }
  paths = cli_collect_paths (argv + 2, argc - 2);
  shard_filter (&b, paths);
  c = open_project (argv[1], b.jobs, b.prec, OPEN_READ);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  warn_if_stale (c);
  s.c = c;
  s.progress = &progress;
  s.multi_label
    = hippo_project_get_multi_label (hippo_classifier_get_project (c), NULL);
  s.index = index;
  s.uncertainty = unc;
  s.guess = guess;
  progress_start (&progress, "suggest", paths->len);
  if (!hippo_classifier_classify_files (c, (const char *const *) paths->pdata,
                                        paths->len, on_suggest, &s, &error))
    {
      progress_clear (&progress);
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  progress_clear (&progress);
  m = index->len;
  rank = g_new (guint, MAX (m, 1));
  hippo_head_rank_uncertain ((const float *) unc->data, m, rank);
  for (guint i = 0; i < MIN (m, (guint) n_best); i++)
    {
      guint r = rank[i];
      const char *path = paths->pdata[g_array_index (index, guint, r)];
      g_autofree char *display = g_filename_display_name (path);
      printf ("%s\t%.4f\t%s\n", display, g_array_index (unc, float, r),
              (const char *) guess->pdata[r]);
    }
  if (!finish_output ())
    return CLI_NOTHING_RAN;
  if (paths->len == 0)
    {
      cli_error ("no files given");
      return CLI_SOME_FAILED;
    }
  if (m == 0 && s.n_failed == 0)
    cli_error ("every file given is already labelled");
  return s.n_failed ? CLI_SOME_FAILED : CLI_OK;
}

/* --- eval -------------------------------------------------------------- */

typedef struct
{
  Progress *progress;
  guint n_files;
  guint k;               /* classes of the head, once known */
  GPtrArray *head_names; /* char*, copied from the first prediction */
  float *probs;          /* n_files * k, from the first prediction on */
  gboolean *ok;          /* n_files */
  guint n_failed;
} EvalCtx;

static gboolean
on_eval (guint index, const char *path, const HippoPrediction *p,
         const GError *error, gpointer user_data)
{
  EvalCtx *e = user_data;

  progress_update (e->progress, index + 1);
  if (p == NULL)
    {
      e->n_failed++;
      file_error (e->progress, path, error ? error->message : "failed");
      return TRUE;
    }
  if (e->head_names == NULL)
    {
      e->k = p->n_classes;
      e->head_names = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < p->n_classes; i++)
        g_ptr_array_add (e->head_names, g_strdup (p->names[i]));
      g_ptr_array_add (e->head_names, NULL);
      e->probs = g_new (float, (gsize) e->n_files * e->k);
    }
  memcpy (e->probs + (gsize) index * e->k, p->scores, e->k * sizeof (float));
  e->ok[index] = TRUE;
  return TRUE;
}

int
cli_cmd_eval (int argc, char **argv)
{
  g_autofree char *tree = NULL;
  g_autofree char *format = NULL;
  g_auto (BatchArgs) b = { 0 };
  GOptionEntry entries[]
    = { { "tree", 't', 0, G_OPTION_ARG_FILENAME, &tree,
          "Held-out images as DIR/CLASS/...; every CLASS must be a class of "
          "the project",
          "DIR" },
        { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
          "text (default) or json", "FORMAT" },
        BATCH_ENTRIES (b),
        { NULL } };
  static const char *const formats[] = { "text", "json", NULL };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GPtrArray) dirs = NULL;
  g_autoptr (GPtrArray) stored = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) truth = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr (GString) unknown = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoMetrics) metrics = NULL;
  g_autoptr (GPtrArray) head_names = NULL;
  g_autofree float *probs = NULL;
  g_autofree gboolean *ok = NULL;
  g_autofree guint *dir_to_head = NULL;
  g_autofree float *tested = NULL;
  g_autofree guint *labels = NULL;
  g_autofree guint8 *matrix = NULL;
  HippoProject *project;
  Progress progress;
  EvalCtx e = { 0 };
  gboolean multi_label;
  double threshold = 0.5;
  guint n_loose, n_tested = 0, k;
  int rc;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Measure the trained head on labelled images it has not seen: "
         "accuracy, per-class precision and recall, confusion matrix.");
  if (!cli_parse (ctx, &argc, &argv) || !batch_args_check (&b))
    return CLI_USAGE;
  if (argc != 2 || tree == NULL || !check_format (format, formats))
    {
      cli_error ("usage: hippotag eval PROJECT --tree DIR "
                 "[--format text|json]");
      return CLI_USAGE;
    }
  dirs = list_subdirs (tree, &n_loose);
  if (dirs == NULL)
    return CLI_NOTHING_RAN;
  if (dirs->len == 0)
    {
      cli_error ("%s has no class folders (DIR/CLASS/...)", tree);
      return CLI_USAGE;
    }
  if (n_loose > 0)
    cli_error ("%u file%s directly in %s ignored: not in a class folder",
               n_loose, n_loose == 1 ? "" : "s", tree);
  c = open_project (argv[1], b.jobs, b.prec, OPEN_READ);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  project = hippo_classifier_get_project (c);
  multi_label = hippo_project_get_multi_label (project, NULL);
  if (!hippo_project_get_double (project, HIPPO_SETTING_UNSURE_THRESHOLD, 0.5,
                                 &threshold, &error))
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }

  for (guint i = 0; i < dirs->len; i++)
    {
      g_autoptr (GError) local = NULL;
      char *name = find_class (project, dirs->pdata[i], &local);
      if (name == NULL && local->code != HIPPO_ERROR_NOT_FOUND)
        {
          cli_error ("%s", local->message);
          return CLI_NOTHING_RAN;
        }
      if (name == NULL)
        {
          g_autofree char *display = g_filename_display_name (dirs->pdata[i]);
          g_string_append_printf (unknown, "%s'%s'", unknown->len ? ", " : "",
                                  display);
        }
      g_ptr_array_add (stored, name);
    }
  if (unknown->len > 0)
    {
      cli_error ("classes in %s that the project does not have: %s", tree,
                 unknown->str);
      return CLI_USAGE;
    }
  for (guint i = 0; i < dirs->len; i++)
    {
      g_autofree char *sub = g_build_filename (tree, dirs->pdata[i], NULL);
      g_autoptr (GPtrArray) found = cli_collect_paths (&sub, 1);

      shard_filter (&b, found);
      for (guint j = 0; j < found->len; j++)
        {
          g_ptr_array_add (paths, g_steal_pointer (&found->pdata[j]));
          g_array_append_val (truth, i);
        }
    }
  if (paths->len == 0)
    {
      cli_error ("no images under %s", tree);
      return CLI_SOME_FAILED;
    }
  warn_if_stale (c);

  e.progress = &progress;
  e.n_files = paths->len;
  ok = g_new0 (gboolean, paths->len);
  e.ok = ok;
  progress_start (&progress, "eval", paths->len);
  if (!hippo_classifier_classify_files (c, (const char *const *) paths->pdata,
                                        paths->len, on_eval, &e, &error))
    {
      progress_clear (&progress);
      g_clear_pointer (&e.head_names, g_ptr_array_unref);
      g_free (e.probs);
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  progress_clear (&progress);
  head_names = e.head_names;
  probs = e.probs;
  k = e.k;
  if (head_names == NULL)
    {
      cli_error ("no image could be classified");
      return CLI_NOTHING_RAN;
    }

  /* folder classes -> head classes */
  dir_to_head = g_new (guint, dirs->len);
  g_string_truncate (unknown, 0);
  for (guint i = 0; i < dirs->len; i++)
    {
      g_autofree char *key = class_key (stored->pdata[i]);
      dir_to_head[i] = G_MAXUINT;
      for (guint j = 0; j < k; j++)
        {
          g_autofree char *hk = class_key (head_names->pdata[j]);
          if (g_strcmp0 (key, hk) == 0)
            dir_to_head[i] = j;
        }
      if (dir_to_head[i] == G_MAXUINT)
        g_string_append_printf (unknown, "%s'%s'", unknown->len ? ", " : "",
                                (const char *) stored->pdata[i]);
    }
  if (unknown->len > 0)
    {
      cli_error ("the trained head does not know %s (added or renamed after "
                 "training); run 'hippotag train %s'",
                 unknown->str, argv[1]);
      return CLI_NOTHING_RAN;
    }

  tested = g_new (float, (gsize) paths->len *k);
  labels = g_new (guint, paths->len);
  matrix = g_new0 (guint8, (gsize) paths->len * k);
  for (guint i = 0; i < paths->len; i++)
    if (ok[i])
      {
        guint t = dir_to_head[g_array_index (truth, guint, i)];
        memcpy (tested + (gsize) n_tested * k, probs + (gsize) i * k,
                k * sizeof (float));
        labels[n_tested] = t;
        matrix[(gsize) n_tested * k + t] = 1;
        n_tested++;
      }
  if (n_tested == 0)
    {
      cli_error ("no image could be classified");
      return CLI_NOTHING_RAN;
    }
  metrics = hippo_metrics_from_predictions (
    tested, n_tested, multi_label ? NULL : labels, multi_label ? matrix : NULL,
    k, threshold, &error);
  if (metrics == NULL)
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  if (format && strcmp (format, "json") == 0)
    {
      g_autofree char *json = hippo_metrics_to_json (
        metrics, (const char *const *) head_names->pdata);
      g_autoptr (JsonNode) root = parse_json (json);
      if (root)
        {
          g_autofree char *text = NULL;
          json_object_set_int_member (json_node_get_object (root), "failed",
                                      e.n_failed);
          text = json_to_text (root);
          printf ("%s\n", text);
        }
      else
        printf ("%s\n", json);
    }
  else
    {
      g_autofree char *text = hippo_metrics_to_text (
        metrics, (const char *const *) head_names->pdata);
      printf ("%s", text);
      if (e.n_failed > 0)
        printf ("%u file%s could not be classified\n", e.n_failed,
                e.n_failed == 1 ? "" : "s");
    }
  rc = e.n_failed ? CLI_SOME_FAILED : CLI_OK;
  return finish_output () ? rc : CLI_NOTHING_RAN;
}

/* --- tag --------------------------------------------------------------- */

typedef struct
{
  Progress *progress;
  HippoTagParams params;
  double min_confidence; /* < 0: the project's unsure flag */
  gboolean multi_label;
  guint n_failed;
  guint n_tagged;
  guint n_unsure;
} TagCtx;

static gboolean
is_unsure (const HippoPrediction *p, double min_confidence)
{
  return min_confidence >= 0 ? p->confidence < min_confidence : p->unsure;
}

static gboolean
on_tag (guint index, const char *path, const HippoPrediction *p,
        const GError *error, gpointer user_data)
{
  TagCtx *t = user_data;
  g_autofree char *display = g_filename_display_name (path);
  g_autoptr (GPtrArray) labels = g_ptr_array_new ();
  g_autoptr (GError) e = NULL;
  g_autoptr (GString) shown = g_string_new (NULL);
  gboolean changed = FALSE;
  const char *status;
  guint n_labels;

  progress_update (t->progress, index + 1);
  if (p == NULL)
    {
      t->n_failed++;
      file_error (t->progress, path, error ? error->message : "failed");
      return TRUE;
    }
  if (t->multi_label)
    {
      for (guint i = 0; i < p->n_classes; i++)
        if (p->scores[i] >= 0.5f)
          g_ptr_array_add (labels, (gpointer) p->names[i]);
    }
  else if (p->label)
    g_ptr_array_add (labels, (gpointer) p->label);
  for (guint i = 0; i < labels->len; i++)
    g_string_append_printf (shown, "%s%s", i ? "," : "",
                            (const char *) labels->pdata[i]);
  n_labels = labels->len;
  g_ptr_array_add (labels, NULL);

  progress_clear (t->progress);
  if (is_unsure (p, t->min_confidence) || n_labels == 0)
    {
      t->n_unsure++;
      printf ("%s\t%s\t%.3f\tunsure: not tagged\n", display,
              p->label ? p->label : "-", p->confidence);
      return TRUE;
    }
  if (!hippo_tag_file (path, (const char *const *) labels->pdata, &t->params,
                       &changed, &e))
    {
      t->n_failed++;
      file_error (t->progress, path, e->message);
      return TRUE;
    }
  if (t->params.dry_run)
    status = changed ? "would tag" : "already tagged";
  else
    status = changed ? "tagged" : "already tagged";
  if (changed)
    t->n_tagged++;
  printf ("%s\t%s\t%.3f\t%s\n", display, shown->str, p->confidence, status);
  return TRUE;
}

int
cli_cmd_tag (int argc, char **argv)
{
  gboolean sidecar = FALSE, in_place = FALSE, dry_run = FALSE;
  double min_confidence = -1;
  g_autofree char *parent_opt = NULL;
  g_auto (BatchArgs) b = { 0 };
  GOptionEntry entries[]
    = { { "sidecar", 0, 0, G_OPTION_ARG_NONE, &sidecar,
          "Write an XMP sidecar FILE.EXT.xmp; the image is not touched "
          "(default)",
          NULL },
        { "in-place", 0, 0, G_OPTION_ARG_NONE, &in_place,
          "Write into the image through a temporary copy and an atomic rename, "
          "keeping all other metadata",
          NULL },
        { "min-confidence", 'p', 0, G_OPTION_ARG_DOUBLE, &min_confidence,
          "Below this confidence nothing is written and the file is reported "
          "unsure (default: the project's unsure threshold)",
          "P" },
        { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
          "Print what would be written; write nothing", NULL },
        { "parent", 0, 0, G_OPTION_ARG_STRING, &parent_opt,
          "Parent of the hierarchical keywords (default: the project's "
          "keyword_parent setting, else Hippotag); \"\" for none",
          "NAME" },
        BATCH_ENTRIES (b),
        { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT PATH...");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *parent = NULL;
  HippoProject *project;
  Progress progress;
  TagCtx t = { 0 };

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Classify images and write the predicted class as keywords: XMP "
         "dc:subject, lr:hierarchicalSubject PARENT|LABEL, digiKam TagsList "
         "and (in place) IPTC Keywords. Keywords already there are not "
         "added twice. Prints FILE<TAB>LABEL<TAB>CONFIDENCE<TAB>STATUS.");
  if (!cli_parse (ctx, &argc, &argv) || !batch_args_check (&b))
    return CLI_USAGE;
  if (argc < 3 || (sidecar && in_place)
      || (min_confidence != -1
          && !(min_confidence >= 0 && min_confidence <= 1)))
    {
      cli_error ("usage: hippotag tag PROJECT [--sidecar|--in-place] "
                 "[--min-confidence P (0..1)] [--dry-run] PATH...");
      return CLI_USAGE;
    }
  paths = cli_collect_paths (argv + 2, argc - 2);
  shard_filter (&b, paths);
  c = open_project (argv[1], b.jobs, b.prec, OPEN_READ);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  project = hippo_classifier_get_project (c);
  warn_if_stale (c);
  parent = parent_opt
             ? g_strdup (parent_opt)
             : hippo_project_get_string (project, HIPPO_SETTING_KEYWORD_PARENT,
                                         HIPPO_DEFAULT_KEYWORD_PARENT, NULL);
  hippo_tag_params_default (&t.params);
  t.params.mode = in_place ? HIPPO_TAG_MODE_IN_PLACE : HIPPO_TAG_MODE_SIDECAR;
  t.params.parent = parent;
  t.params.dry_run = dry_run;
  t.min_confidence = min_confidence;
  t.multi_label = hippo_project_get_multi_label (project, NULL);
  t.progress = &progress;
  progress_start (&progress, "tag", paths->len);
  if (!hippo_classifier_classify_files (c, (const char *const *) paths->pdata,
                                        paths->len, on_tag, &t, &error))
    {
      progress_clear (&progress);
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  progress_clear (&progress);
  if (!finish_output ())
    return CLI_NOTHING_RAN;
  if (dry_run)
    cli_error ("dry run: nothing was written");
  if (paths->len == 0)
    {
      cli_error ("no files to tag");
      return CLI_SOME_FAILED;
    }
  return t.n_failed ? CLI_SOME_FAILED : CLI_OK;
}

/* --- sort -------------------------------------------------------------- */

typedef struct
{
  Progress *progress;
  HippoSortJournal *journal;
  HippoSortParams params;
  double min_confidence;
  guint n_failed;
  guint n_unsure;
} SortCtx;

static gboolean
on_sort (guint index, const char *path, const HippoPrediction *p,
         const GError *error, gpointer user_data)
{
  SortCtx *s = user_data;
  g_autofree char *display = g_filename_display_name (path);
  g_autofree char *dest = NULL;
  g_autofree char *dest_display = NULL;
  g_autoptr (GError) e = NULL;
  gboolean unsure;

  progress_update (s->progress, index + 1);
  if (p == NULL)
    {
      s->n_failed++;
      file_error (s->progress, path, error ? error->message : "failed");
      return TRUE;
    }
  unsure = is_unsure (p, s->min_confidence) || p->label == NULL;
  if (unsure)
    s->n_unsure++;
  if (!hippo_sort_file (s->journal, path, unsure ? NULL : p->label, &s->params,
                        &dest, &e))
    {
      s->n_failed++;
      file_error (s->progress, path, e->message);
      return TRUE;
    }
  dest_display = g_filename_display_name (dest);
  progress_clear (s->progress);
  printf ("%s\t%s\t%s\t%.3f\n", display, dest_display,
          unsure ? "unsure" : p->label, p->confidence);
  return TRUE;
}

static gboolean
undo_progress (guint64 done, guint64 total, gpointer user_data)
{
  Progress *p = user_data;

  if (!p->on && total > 0 && p->total == 0)
    progress_start (p, "undo", total);
  return progress_func (done, total, user_data);
}

static int
sort_undo (const char *journal)
{
  g_autoptr (GError) error = NULL;
  Progress progress = { 0 };
  gboolean ok;

  ok = hippo_sort_undo (journal, undo_progress, &progress, &error);
  progress_clear (&progress);
  if (!ok)
    {
      cli_error ("%s", error->message);
      return error->code == HIPPO_ERROR_IO ? CLI_SOME_FAILED : CLI_NOTHING_RAN;
    }
  printf ("undone: %s\n", journal);
  return finish_output () ? CLI_OK : CLI_NOTHING_RAN;
}

static char *
default_journal (const char *dest)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");

  for (guint i = 0;; i++)
    {
      g_autofree char *name
        = i == 0 ? g_strdup_printf (".hippotag-sort-%s.journal", stamp)
                 : g_strdup_printf (".hippotag-sort-%s-%u.journal", stamp, i);
      g_autofree char *rel = g_build_filename (dest, name, NULL);
      char *p = g_canonicalize_filename (rel, NULL);
      if (!g_file_test (p, G_FILE_TEST_EXISTS))
        return p;
      g_free (p);
    }
}

int
cli_cmd_sort (int argc, char **argv)
{
  g_autofree char *into = NULL;
  g_autofree char *undo = NULL;
  g_autofree char *journal_path = NULL;
  g_autofree char *unsure = NULL;
  gboolean copy = FALSE, move = FALSE, symlink = FALSE, hardlink = FALSE;
  gboolean dry_run = FALSE;
  double min_confidence = -1;
  g_auto (BatchArgs) b = { 0 };
  GOptionEntry entries[]
    = { { "into", 'o', 0, G_OPTION_ARG_FILENAME, &into,
          "Destination: one folder per class is made in DEST", "DEST" },
        { "copy", 0, 0, G_OPTION_ARG_NONE, &copy,
          "Copy the files (verified; the default)", NULL },
        { "move", 0, 0, G_OPTION_ARG_NONE, &move,
          "Move the files (across file systems: copy, sync, verify, then "
          "unlink)",
          NULL },
        { "link", 0, 0, G_OPTION_ARG_NONE, &symlink,
          "Make symbolic links to the files", NULL },
        { "hardlink", 0, 0, G_OPTION_ARG_NONE, &hardlink,
          "Make hard links (same file system only)", NULL },
        { "min-confidence", 'p', 0, G_OPTION_ARG_DOUBLE, &min_confidence,
          "Files below this confidence are unsure (default: the project's "
          "unsure threshold)",
          "P" },
        { "unsure", 0, 0, G_OPTION_ARG_STRING, &unsure,
          "folder: unsure files go to DEST/unsure (default); leave: they stay",
          "leave|folder" },
        { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
          "Print where each file would go; change nothing", NULL },
        { "journal", 0, 0, G_OPTION_ARG_FILENAME, &journal_path,
          "Journal file (default DEST/.hippotag-sort-DATE-TIME.journal); an "
          "existing one is appended to, and files it records as done are "
          "skipped",
          "FILE" },
        { "undo", 0, 0, G_OPTION_ARG_FILENAME, &undo,
          "Undo the sort recorded in JOURNAL (no PROJECT or PATH)", "JOURNAL" },
        BATCH_ENTRIES (b),
        { NULL } };
  g_autoptr (GOptionContext) ctx
    = g_option_context_new ("PROJECT --into DEST PATH... | --undo JOURNAL");
  g_autoptr (HippoClassifier) c = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoSortJournal) journal = NULL;
  Progress progress;
  SortCtx s = { 0 };
  gboolean ok;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (
    ctx, "Classify images and sort them into DEST/CLASS/. No file is "
         "overwritten (clashes get -1, -2, ...); every action is journaled "
         "before it is done, so a crash loses nothing and 'sort --undo "
         "JOURNAL' restores everything. Prints SOURCE<TAB>DESTINATION<TAB>"
         "LABEL<TAB>CONFIDENCE; the journal is named on stderr.");
  if (!cli_parse (ctx, &argc, &argv) || !batch_args_check (&b))
    return CLI_USAGE;
  if (undo)
    {
      if (argc != 1 || into)
        {
          cli_error ("usage: hippotag sort --undo JOURNAL");
          return CLI_USAGE;
        }
      return sort_undo (undo);
    }
  if (argc < 3 || into == NULL || copy + move + symlink + hardlink > 1
      || (unsure && strcmp (unsure, "leave") != 0
          && strcmp (unsure, "folder") != 0)
      || (min_confidence != -1
          && !(min_confidence >= 0 && min_confidence <= 1)))
    {
      cli_error ("usage: hippotag sort PROJECT --into DEST "
                 "[--copy|--move|--link] [--min-confidence P] "
                 "[--unsure leave|folder] [--dry-run] PATH...");
      return CLI_USAGE;
    }
  paths = cli_collect_paths (argv + 2, argc - 2);
  shard_filter (&b, paths);
  c = open_project (argv[1], b.jobs, b.prec, OPEN_READ);
  if (c == NULL)
    return CLI_NOTHING_RAN;
  warn_if_stale (c);

  hippo_sort_params_default (&s.params);
  s.params.action = move       ? HIPPO_SORT_MOVE
                    : symlink  ? HIPPO_SORT_SYMLINK
                    : hardlink ? HIPPO_SORT_HARDLINK
                               : HIPPO_SORT_COPY;
  s.params.dest_root = into;
  s.params.unsure = unsure && strcmp (unsure, "leave") == 0
                      ? HIPPO_SORT_UNSURE_LEAVE
                      : HIPPO_SORT_UNSURE_FOLDER;
  s.params.dry_run = dry_run;
  s.min_confidence = min_confidence;
  s.progress = &progress;
  if (!dry_run)
    {
      if (g_mkdir_with_parents (into, 0777) != 0)
        {
          cli_error ("cannot create %s: %s", into, g_strerror (errno));
          return CLI_NOTHING_RAN;
        }
      if (journal_path == NULL)
        journal_path = default_journal (into);
      else
        {
          char *abs = g_canonicalize_filename (journal_path, NULL);
          g_free (journal_path);
          journal_path = abs;
        }
      journal = hippo_sort_journal_open (journal_path, &error);
      if (journal == NULL)
        {
          cli_error ("%s", error->message);
          return CLI_NOTHING_RAN;
        }
      s.journal = journal;
      cli_error ("journal: %s", journal_path);
    }
  progress_start (&progress, "sort", paths->len);
  ok = hippo_classifier_classify_files (c, (const char *const *) paths->pdata,
                                        paths->len, on_sort, &s, &error);
  progress_clear (&progress);
  if (!ok)
    {
      cli_error ("%s", error->message);
      return CLI_NOTHING_RAN;
    }
  if (!finish_output ())
    return CLI_NOTHING_RAN;
  if (dry_run)
    cli_error ("dry run: nothing was changed");
  else
    cli_error ("undo with: hippotag sort --undo %s", journal_path);
  if (paths->len == 0)
    {
      cli_error ("no files to sort");
      return CLI_SOME_FAILED;
    }
  return s.n_failed ? CLI_SOME_FAILED : CLI_OK;
}
