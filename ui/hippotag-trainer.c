/* hippotag-trainer: the trainer as a standalone application.
 * Usage: hippotag-trainer [PROJECT.hippotag] [FOLDER|IMAGE...] */
#include "hippo-trainer.h"

static void
open_window (GtkApplication *app, const char *project, char **paths,
             int n_paths)
{
  g_autoptr (GError) error = NULL;
  GtkWidget *window = hippo_trainer_window_new (app, project, &error);

  if (window == NULL)
    {
      GtkWidget *dialog
        = gtk_message_dialog_new (NULL, 0, GTK_MESSAGE_ERROR, GTK_BUTTONS_CLOSE,
                                  "Cannot open the project");
      gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                                "%s", error->message);
      gtk_application_add_window (app, GTK_WINDOW (dialog));
      g_signal_connect (dialog, "response", G_CALLBACK (gtk_widget_destroy),
                        NULL);
      gtk_widget_show (dialog);
      return;
    }
  if (n_paths > 0)
    hippo_trainer_add_files (window, (const char *const *) paths,
                             (guint) n_paths);
  gtk_window_present (GTK_WINDOW (window));
}

static char *
default_project (void)
{
  char *dir = g_build_filename (g_get_user_data_dir (), "hippotag", NULL);

  char *path;

  g_mkdir_with_parents (dir, 0700);
  path = g_build_filename (dir, "default.hippotag", NULL);
  g_free (dir);
  return path;
}

static int
on_command_line (GApplication *gapp, GApplicationCommandLine *cmd,
                 gpointer data)
{
  int argc;
  char **argv = g_application_command_line_get_arguments (cmd, &argc);
  g_autofree char *project = NULL;
  int first = 1;

  if (argc > 1 && g_str_has_suffix (argv[1], ".hippotag"))
    {
      project = g_canonicalize_filename (
        argv[1], g_application_command_line_get_cwd (cmd));
      first = 2;
    }
  else
    project = default_project ();
  for (int i = first; i < argc; i++)
    {
      char *abs = g_canonicalize_filename (
        argv[i], g_application_command_line_get_cwd (cmd));
      g_free (argv[i]);
      argv[i] = abs;
    }
  open_window (GTK_APPLICATION (gapp), project, argv + first, argc - first);
  g_strfreev (argv);
  return 0;
}

int
main (int argc, char **argv)
{
  g_autoptr (GtkApplication) app = gtk_application_new (
    "org.hippotag.Trainer",
    G_APPLICATION_HANDLES_COMMAND_LINE | G_APPLICATION_NON_UNIQUE);

  g_signal_connect (app, "command-line", G_CALLBACK (on_command_line), NULL);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
