/* Hippotag GIMP plug-in — dialogs.
 *
 * Need gimp_ui_init() first (and a display).
 */
#include "plugin-dialogs.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#define HELP_ID "plug-in-hippotag-classify"

/**
 * hippo_plugin_classify_dialog:
 * @result: the classification to show.
 * @add_keyword: (inout): whether to add the best class as a keyword; the
 *   check box starts from it.
 *
 * Shows every class ranked, with a confidence bar each, the project and the
 * classifier in use; lets the user add the best class as a keyword.
 *
 * Returns: %TRUE when the user pressed OK, %FALSE on Cancel or close.
 */
gboolean
hippo_plugin_classify_dialog (const HippoPluginResult *result,
                              gboolean *add_keyword)
{
  GtkWidget *dialog, *box, *grid, *label, *check;
  g_autofree char *project_text = NULL;
  g_autofree char *title = NULL;
  gboolean ok;
  guint i;

  dialog = gimp_dialog_new ("Hippotag — Classify", "hippotag-classify", NULL, 0,
                            gimp_standard_help_func, HELP_ID, "_Cancel",
                            GTK_RESPONSE_CANCEL, "_OK", GTK_RESPONSE_OK, NULL);
  gimp_window_set_transient (GTK_WINDOW (dialog));
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_container_set_border_width (GTK_CONTAINER (box), 12);
  gtk_box_pack_start (
    GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))), box, TRUE,
    TRUE, 0);

  title = g_markup_printf_escaped ("<big><b>%s</b></big>  %.1f %%",
                                   result->scores[0].name,
                                   100.0 * result->scores[0].score);
  label = gtk_label_new (NULL);
  gtk_label_set_markup (GTK_LABEL (label), title);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_box_pack_start (GTK_BOX (box), label, FALSE, FALSE, 0);

  grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  gtk_box_pack_start (GTK_BOX (box), grid, TRUE, TRUE, 0);
  for (i = 0; i < result->n_scores; i++)
    {
      GtkWidget *bar;
      g_autofree char *text = NULL;

      label = gtk_label_new (result->scores[i].name);
      gtk_label_set_xalign (GTK_LABEL (label), 0.0);
      gtk_grid_attach (GTK_GRID (grid), label, 0, (int) i, 1, 1);
      bar = gtk_progress_bar_new ();
      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (bar),
                                     CLAMP (result->scores[i].score, 0, 1));
      text = g_strdup_printf ("%.1f %%", 100.0 * result->scores[i].score);
      gtk_progress_bar_set_text (GTK_PROGRESS_BAR (bar), text);
      gtk_progress_bar_set_show_text (GTK_PROGRESS_BAR (bar), TRUE);
      gtk_widget_set_hexpand (bar, TRUE);
      gtk_widget_set_size_request (bar, 240, -1);
      gtk_grid_attach (GTK_GRID (grid), bar, 1, (int) i, 1, 1);
    }

  project_text = g_strdup_printf (
    "Project: %s\nClassifier: %s",
    result->project != NULL ? result->project
                            : "none (the default project does not exist yet)",
    result->classifier != NULL ? result->classifier : "?");
  label = gtk_label_new (project_text);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 60);
  gtk_widget_set_sensitive (label, FALSE);
  gtk_box_pack_start (GTK_BOX (box), label, FALSE, FALSE, 0);

  check = gtk_check_button_new_with_mnemonic (
    "Add the best class as a _keyword to the image's metadata");
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (check), *add_keyword);
  gtk_box_pack_start (GTK_BOX (box), check, FALSE, FALSE, 0);

  gtk_widget_show_all (dialog);
  ok = gimp_dialog_run (GIMP_DIALOG (dialog)) == GTK_RESPONSE_OK;
  *add_keyword = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (check));
  gtk_widget_destroy (dialog);
  return ok;
}
