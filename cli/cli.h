/* The hippotag command: what its commands share. Each command is a
 * function int cli_cmd_NAME (int argc, char **argv) with argv[0] the
 * command's name, run by the table in hippotag.c. */
#ifndef HIPPO_CLI_H
#define HIPPO_CLI_H

#include <json-glib/json-glib.h>
#include <stdio.h>

#include "hippotag/hippotag.h"

G_BEGIN_DECLS

/* Exit codes, the same for every command. */
enum
{
  CLI_OK = 0,          /* all done */
  CLI_SOME_FAILED = 1, /* some inputs failed, the rest were done */
  CLI_USAGE = 2,       /* bad command line */
  CLI_NOTHING_RAN = 3, /* no model, bad model, bad project... */
};

/* --- cli-common.c: messages, options, files, model ---------------------- */

/* Prints "hippotag: MESSAGE" on stderr. */
void cli_error (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* Parses options of a command; on error prints it with the usage and
 * returns FALSE. */
gboolean cli_parse (GOptionContext *ctx, int *argc, char ***argv);

/* Parses a --precision value (NULL or "auto", the default;
 * "float32"/"f32"; "bfloat16"/"bf16") into *precision; FALSE (with the
 * error printed) for anything else. */
gboolean cli_parse_precision (const char *value, HippoPrecision *precision);

/* Help text of --precision. */
#define CLI_PRECISION_HELP                                                   \
  "auto (default: bfloat16 on CPUs with AMX, else float32), float32 or "    \
  "bfloat16 (the 1x1 convolutions in bfloat16: 2-2.6x faster with AMX, "   \
  "features within about 1 % of float32, cached apart)"

/* TRUE when format is NULL or one of the NULL-terminated allowed; else
 * prints "--format must be A|B" and returns FALSE. */
gboolean cli_check_format (const char *format, const char *const *allowed);

/* The exit code of a failed call: CLI_USAGE for HIPPO_ERROR_INVALID_ARGUMENT,
 * else CLI_NOTHING_RAN. */
int cli_error_rc (const GError *error);

/* hippo_model_load(), the error printed; NULL on failure. */
HippoModel *cli_load_model (const char *name);

/* Expands files and folders (recursively, sorted, symlink loops broken,
 * hidden files skipped) into image paths; a missing path or a folder that
 * cannot be read is kept so that its error is reported in order. */
GPtrArray *cli_collect_paths (char **args, int n_args);

/* The non-hidden sub-folders of dir, sorted, and in *n_loose the number of
 * other entries; NULL with a message when dir cannot be read. */
GPtrArray *cli_list_subdirs (const char *dir, guint *n_loose);

/* --- cli-output.c: output --------------------------------------------- */

/* Appends s as a JSON string literal (quotes included); bytes that are not
 * UTF-8 become U+FFFD. */
void cli_json_string (GString *out, const char *s);

/* Appends v as a JSON number ("%.6g"), null when it is not finite. */
void cli_json_number (GString *out, double v);

/* Appends an RFC 4180 field. */
void cli_csv_field (GString *out, const char *s);

/* Index order of the k scores into order, best first (ties by index). */
void cli_rank_scores (const float *scores, guint k, guint *order);

/* Flushes standard output; FALSE (with a message) when writing failed. */
gboolean cli_finish_output (void);

/* The JSON object in text (a new node), or NULL when text is not one. */
JsonNode *cli_json_parse_object (const char *text);

/* root pretty-printed (a new string). */
char *cli_json_to_text (JsonNode *root);

/* --- cli-batch.c: --jobs, --shard, --precision, progress ---------------- */

/* The options every batch command takes; with g_auto (CliBatch) b = { 0 }
 * and BATCH_ENTRIES (b) in the command's GOptionEntry list. */
typedef struct
{
  int jobs;
  char *shard;
  guint shard_k;
  guint shard_n;
  char *precision;
  HippoPrecision prec;
} CliBatch;

#define CLI_SHARD_HELP                                                         \
  "Only shard K of N (1-based): a file belongs to shard (FNV-1a 64 of its "    \
  "path as given or found in a folder) mod N + 1, so N runs with the same "    \
  "arguments split the files exactly; concatenate their outputs (GNU "         \
  "parallel, a Slurm job array...)"

/* clang-format off */
#define BATCH_ENTRIES(b)                                                     \
  { "jobs", 'j', 0, G_OPTION_ARG_INT, &(b).jobs,                             \
    "Threads for decoding and the network (default: one per core)", "N" },   \
  { "shard", 0, 0, G_OPTION_ARG_STRING, &(b).shard, CLI_SHARD_HELP, "K/N" }, \
  { "precision", 0, 0, G_OPTION_ARG_STRING, &(b).precision, CLI_PRECISION_HELP, \
    "P" }
/* clang-format on */

void cli_batch_clear (CliBatch *b);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliBatch, cli_batch_clear)

/* Checks the parsed options and fills in shard_k, shard_n and prec; FALSE
 * with the error printed. */
gboolean cli_batch_check (CliBatch *b);

/* Keeps the paths of this shard, in order. */
void cli_shard_filter (const CliBatch *b, GPtrArray *paths);

/* cli_collect_paths() then cli_shard_filter(). */
GPtrArray *cli_batch_paths (const CliBatch *b, char **args, int n_args);

/* A progress bar with ETA on stderr, only when stderr is a terminal. */
typedef struct
{
  gboolean on;
  const char *what;
  guint64 total;
  gint64 t0;
  gint64 last;
  gboolean drawn;
} CliProgress;

void cli_progress_start (CliProgress *p, const char *what, guint64 total);
void cli_progress_update (CliProgress *p, guint64 done);
/* Erases the bar before other output. */
void cli_progress_clear (CliProgress *p);
/* A HippoProgressFunc that draws the bar (user_data: the CliProgress). */
gboolean cli_progress_func (guint64 done, guint64 total, gpointer user_data);

/* "hippotag: PATH: MESSAGE" (the path only when the message lacks it),
 * after clearing the progress bar p (may be NULL). */
void cli_file_error (CliProgress *p, const char *path, const char *message);

/* --- cli-project.c: projects and classes --------------------------------- */

typedef enum
{
  CLI_OPEN_WRITE, /* labels, training: fail when it cannot be written */
  CLI_OPEN_READ,  /* prediction: fall back to read-only */
} CliOpenMode;

/* Opens a project with its model; prints the error and returns NULL on
 * failure (exit code CLI_NOTHING_RAN). */
HippoClassifier *cli_open_project (const char *path, int jobs,
                                   HippoPrecision precision,
                                   CliOpenMode mode);

/* Warns on stderr when the head is older than the classes or labels. */
void cli_warn_if_stale (HippoClassifier *c);

/* NFC, trimmed and case-folded: how class names are compared; NULL for
 * a name that is not UTF-8. */
char *cli_class_key (const char *name);

/* The stored name of the class called name (any case), or NULL. */
char *cli_find_class (HippoProject *project, const char *name,
                      GError **error);

/* The stored name of class name, created when missing (*created says). */
char *cli_ensure_class (HippoProject *project, const char *name,
                        gboolean *created, GError **error);

/* --- the commands ------------------------------------------------------- */

int cli_cmd_model (int argc, char **argv);    /* cmd-engine.c */
int cli_cmd_features (int argc, char **argv);
int cli_cmd_bench (int argc, char **argv);
int cli_cmd_init (int argc, char **argv);     /* cmd-init.c */
int cli_cmd_class (int argc, char **argv);
int cli_cmd_label (int argc, char **argv);    /* cmd-label.c */
int cli_cmd_unlabel (int argc, char **argv);
int cli_cmd_train (int argc, char **argv);    /* cmd-train.c */
int cli_cmd_classify (int argc, char **argv); /* cmd-classify.c */
int cli_cmd_suggest (int argc, char **argv);  /* cmd-eval.c */
int cli_cmd_eval (int argc, char **argv);
int cli_cmd_tag (int argc, char **argv);      /* cmd-tag-sort.c */
int cli_cmd_sort (int argc, char **argv);

G_END_DECLS

#endif /* HIPPO_CLI_H */
