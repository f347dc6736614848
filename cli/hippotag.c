/* The hippotag command: usage, version and the table of commands (each in
 * its cmd-*.c; their shared helpers in cli-*.c, declared in cli.h). */

#include <cblas.h>
#include <locale.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
  "Usage: hippotag COMMAND [OPTIONS] ...\n"
  "\n"
  "Engine:\n"
  "  model info [--model NAME|PATH] [--format text|json]\n"
  "  features [--model NAME|PATH] [--layer NAME] [--format jsonl|f32]\n"
  "           [-o FILE] PATH...\n"
  "  bench [--model NAME] [--threads T] [--batch B] [--seconds S]\n"
  "\n"
  "Project (PROJECT is a file such as photos.hippotag):\n"
  "  init PROJECT [--model NAME|PATH] [--multi-label]\n"
  "  class add|rename|remove PROJECT NAME [NEWNAME]   (class list PROJECT)\n"
  "  label PROJECT --class NAME PATH...\n"
  "  label PROJECT --tree DIR          (DIR/CLASS/... is class CLASS)\n"
  "  unlabel PROJECT PATH...\n"
  "  train PROJECT [--folds K] [--format text|json]\n"
  "  classify PROJECT [--format text|jsonl|csv] [--top N] PATH...\n"
  "  suggest PROJECT [-n N] PATH...\n"
  "  eval PROJECT --tree DIR [--format text|json]\n"
  "  tag PROJECT [--sidecar|--in-place] [--min-confidence P] [--dry-run]\n"
  "      PATH...\n"
  "  sort PROJECT --into DEST [--copy|--move|--link] [--min-confidence P]\n"
  "      [--unsure leave|folder] [--dry-run] PATH...\n"
  "  sort --undo JOURNAL\n"
  "Batch commands (label, classify, suggest, eval, tag, sort) take\n"
  "--jobs N (threads) and --shard K/N (a stable split of the files for\n"
  "parallel runs); folders are read recursively.\n"
  "\n"
  "Run 'hippotag COMMAND --help' for a command's options.\n"
  "Exit codes: 0 all done, 1 some inputs failed, 2 usage, 3 nothing ran.\n";

static int
cmd_version (void)
{
  printf ("hippotag %s\n", HIPPO_VERSION_STRING);
  printf ("OpenBLAS %s\n", openblas_get_config ());
  return CLI_OK;
}

static const struct
{
  const char *name;
  int (*run) (int argc, char **argv);
} commands[] = {
  { "model", cli_cmd_model },       { "features", cli_cmd_features },
  { "bench", cli_cmd_bench },       { "init", cli_cmd_init },
  { "class", cli_cmd_class },       { "label", cli_cmd_label },
  { "unlabel", cli_cmd_unlabel },   { "train", cli_cmd_train },
  { "classify", cli_cmd_classify }, { "suggest", cli_cmd_suggest },
  { "eval", cli_cmd_eval },         { "tag", cli_cmd_tag },
  { "sort", cli_cmd_sort },
};

int
main (int argc, char **argv)
{
  const char *cmd;

  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");   /* JSON and numbers are always C */
  if (argc < 2)
    {
      fputs (usage_text, stderr);
      return CLI_USAGE;
    }
  cmd = argv[1];
  if (strcmp (cmd, "--version") == 0 || strcmp (cmd, "version") == 0)
    return cmd_version ();
  if (strcmp (cmd, "--help") == 0 || strcmp (cmd, "-h") == 0
      || strcmp (cmd, "help") == 0)
    {
      fputs (usage_text, stdout);
      return CLI_OK;
    }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (cmd, commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);
  cli_error ("unknown command '%s'", cmd);
  fputs (usage_text, stderr);
  return CLI_USAGE;
}
