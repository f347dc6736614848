/* The hippotag command: shared helpers of its subcommands. */
#ifndef HIPPO_CLI_H
#define HIPPO_CLI_H

#include <stdio.h>

#include "hippotag/hippotag.h"

G_BEGIN_DECLS

/* Exit codes, the same for every subcommand. */
enum
{
  CLI_OK = 0,          /* all done */
  CLI_SOME_FAILED = 1, /* some inputs failed, the rest were done */
  CLI_USAGE = 2,       /* bad command line */
  CLI_NOTHING_RAN = 3, /* no model, bad model, bad project... */
};

/* Parses options of a subcommand; on error prints it with the usage and
 * returns FALSE. */
gboolean cli_parse (GOptionContext *ctx, int *argc, char ***argv);

/* Expands files and folders (recursively, sorted, symlink loops broken,
 * hidden files skipped) into image paths; a missing path or a folder that
 * cannot be read is kept so that its error is reported in order. */
GPtrArray *cli_collect_paths (char **args, int n_args);

/* Appends s as a JSON string literal (quotes included); bytes that are not
 * UTF-8 become U+FFFD. */
void cli_json_string (GString *out, const char *s);

/* Parses a --precision value (NULL or "auto", the default;
 * "float32"/"f32"; "bfloat16"/"bf16") into *precision; FALSE (with the
 * error printed) for anything else. */
gboolean cli_parse_precision (const char *value, HippoPrecision *precision);

/* Help text of --precision. */
#define CLI_PRECISION_HELP                                                   \
  "auto (default: bfloat16 on CPUs with AMX, else float32), float32 or "    \
  "bfloat16 (the 1x1 convolutions in bfloat16: 2-2.6x faster with AMX, "   \
  "features within about 1 % of float32, cached apart)"

/* Prints "hippotag: MESSAGE" on stderr. */
void cli_error (const char *format, ...) G_GNUC_PRINTF (1, 2);

int cli_cmd_model (int argc, char **argv);
int cli_cmd_features (int argc, char **argv);
int cli_cmd_bench (int argc, char **argv);

/* Project commands (cmd-project.c); argv[0] is the command name. */
int cli_cmd_init (int argc, char **argv);
int cli_cmd_class (int argc, char **argv);
int cli_cmd_label (int argc, char **argv);
int cli_cmd_unlabel (int argc, char **argv);
int cli_cmd_train (int argc, char **argv);
int cli_cmd_classify (int argc, char **argv);
int cli_cmd_suggest (int argc, char **argv);
int cli_cmd_eval (int argc, char **argv);
int cli_cmd_tag (int argc, char **argv);
int cli_cmd_sort (int argc, char **argv);

G_END_DECLS

#endif /* HIPPO_CLI_H */
