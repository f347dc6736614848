/* Hippotag GIMP plug-in — dialogs.
 *
 * All need gimp_ui_init() first (and a display).
 */
#include "plugin-dialogs.h"

#include <string.h>

/* more classes than this scroll */
#define MAX_VISIBLE_CLASSES 12

typedef struct
{
  HippoPluginLabelFunc label_func;
  gpointer user_data;
  GtkWidget *combo;
  GtkWidget *button;
  GtkWidget *status;
  GtkWidget *check;
  char *keyword;
} ClassifyDialog;

static void
set_keyword (ClassifyDialog *d, const char *keyword)
{
  g_autofree char *text = NULL;

  g_free (d->keyword);
  d->keyword = g_strdup (keyword);
  text = g_strdup_printf ("Add “%s” as a _keyword to the image's metadata",
                          keyword);
  gtk_button_set_label (GTK_BUTTON (d->check), text);
}

static void
set_status (ClassifyDialog *d, gboolean is_error, const char *text)
{
  g_autofree char *markup = NULL;

  markup = is_error ? g_markup_printf_escaped (
             "<span foreground=\"#c01c28\">%s</span>", text)
                    : g_markup_escape_text (text, -1);
  gtk_label_set_markup (GTK_LABEL (d->status), markup);
}

static void
label_clicked (GtkButton *button, ClassifyDialog *d)
{
  g_autofree char *chosen = NULL;
  g_autofree char *stored = NULL;
  g_autofree char *text = NULL;
  GError *error = NULL;

  chosen = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (d->combo));
  if (chosen == NULL || *g_strstrip (chosen) == '\0')
    {
      set_status (d, TRUE, "Choose or type the right class first.");
      return;
    }
  stored = d->label_func (chosen, d->user_data, &error);
  if (stored == NULL)
    {
      set_status (d, TRUE, error != NULL ? error->message : "failed");
      g_clear_error (&error);
      return;
    }
  text = g_strdup_printf ("Added to the project as an example of “%s”. "
                          "Train the project again to use it.",
                          stored);
  set_status (d, FALSE, text);
  set_keyword (d, stored);
}

/* Confidence bars thick enough to read at a glance (GIMP's theme draws
 * progress bars as thin lines). */
static void
style_bar (GtkWidget *bar)
{
  static const char css[]
    = "progressbar trough, progressbar progress { min-height: 12px; }";
  g_autoptr (GtkCssProvider) provider = gtk_css_provider_new ();
  GtkStyleContext *context = gtk_widget_get_style_context (bar);

  gtk_css_provider_load_from_data (provider, css, -1, NULL);
  gtk_style_context_add_provider (context, GTK_STYLE_PROVIDER (provider),
                                  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

static GtkWidget *
score_rows (const HippoPluginResult *result)
{
  GtkWidget *grid, *scrolled;
  guint i;

  grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  for (i = 0; i < result->n_scores; i++)
    {
      GtkWidget *label, *bar;
      g_autofree char *text = NULL;
      g_autofree char *name = NULL;

      name = i == 0
               ? g_markup_printf_escaped ("<b>%s</b>", result->scores[i].name)
               : g_markup_escape_text (result->scores[i].name, -1);
      label = gtk_label_new (NULL);
      gtk_label_set_markup (GTK_LABEL (label), name);
      gtk_label_set_xalign (GTK_LABEL (label), 0.0);
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 24);
      gtk_grid_attach (GTK_GRID (grid), label, 0, (int) i, 1, 1);

      bar = gtk_progress_bar_new ();
      style_bar (bar);
      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (bar),
                                     CLAMP (result->scores[i].score, 0, 1));
      gtk_widget_set_hexpand (bar, TRUE);
      gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
      gtk_widget_set_size_request (bar, 240, -1);
      gtk_grid_attach (GTK_GRID (grid), bar, 1, (int) i, 1, 1);

      text = g_strdup_printf ("%.1f %%", 100.0 * result->scores[i].score);
      label = gtk_label_new (text);
      gtk_label_set_xalign (GTK_LABEL (label), 1.0);
      gtk_label_set_width_chars (GTK_LABEL (label), 7);
      gtk_grid_attach (GTK_GRID (grid), label, 2, (int) i, 1, 1);
    }
  if (result->n_scores <= MAX_VISIBLE_CLASSES)
    return grid;
  scrolled = gtk_scrolled_window_new (NULL, NULL);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled),
                                  GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (scrolled),
                                              MAX_VISIBLE_CLASSES * 28);
  gtk_container_add (GTK_CONTAINER (scrolled), grid);
  return scrolled;
}

/**
 * hippo_plugin_classify_dialog:
 * @result: the classification to show.
 * @classes: (nullable): the project's classes, %NULL-terminated, for
 *   "Wrong? Label as…"; %NULL or @label_func %NULL when the project cannot
 *   be written (the row is then insensitive).
 * @label_func: (nullable): labels the image as a class.
 * @user_data: data for @label_func.
 * @add_keyword: (inout): whether to add a keyword; the check box starts
 *   from it.
 * @keyword: (out) (transfer full): the keyword to add: the best class, or
 *   the class the user labelled the image as.
 *
 * Shows every class ranked with a confidence bar, the project and model in
 * use, "Add as keyword" and "Wrong? Label as…" (which calls @label_func at
 * once, so the example is stored even if the dialog is then cancelled).
 *
 * Returns: %TRUE when the user pressed OK, %FALSE on Cancel or close.
 */
gboolean
hippo_plugin_classify_dialog (const HippoPluginResult *result,
                              const char *const *classes,
                              HippoPluginLabelFunc label_func,
                              gpointer user_data, gboolean *add_keyword,
                              char **keyword)
{
  ClassifyDialog d = { label_func, user_data };
  GtkWidget *dialog, *box, *label, *frame, *row;
  g_autofree char *title = NULL;
  g_autofree char *info = NULL;
  g_autofree char *name = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *default_project = hippo_plugin_default_project ();
  gboolean ok;
  guint i;

  dialog = gimp_dialog_new ("Hippotag — Classify", "hippotag-classify", NULL, 0,
                            NULL, NULL, "_Cancel", GTK_RESPONSE_CANCEL, "_OK",
                            GTK_RESPONSE_OK, NULL);
  gimp_window_set_transient (GTK_WINDOW (dialog));
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_container_set_border_width (GTK_CONTAINER (box), 12);
  gtk_box_pack_start (
    GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))), box, TRUE,
    TRUE, 0);

  title = g_markup_printf_escaped (
    "<big><b>%s</b></big>   %.1f %%%s", result->label,
    100.0 * result->confidence,
    result->unsure ? "   <i>unsure: below the project's threshold</i>" : "");
  label = gtk_label_new (NULL);
  gtk_label_set_markup (GTK_LABEL (label), title);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_box_pack_start (GTK_BOX (box), label, FALSE, FALSE, 0);

  gtk_box_pack_start (GTK_BOX (box), score_rows (result), TRUE, TRUE, 0);

  /* the project by name; where it is in the tooltip */
  name = g_filename_display_basename (result->project);
  dir = g_path_get_dirname (result->project);
  if (g_strcmp0 (result->project, default_project) == 0)
    info = g_markup_printf_escaped ("Project: <b>%s</b> (your default "
                                    "project)\nModel: %s",
                                    name, result->model);
  else
    {
      g_autofree char *dir_display = g_filename_display_name (dir);

      info = g_markup_printf_escaped ("Project: <b>%s</b> in %s\nModel: %s",
                                      name, dir_display, result->model);
    }
  if (result->stale)
    {
      char *more = g_strconcat (info,
                                "\nLabels changed since the last training: "
                                "train the project again to use them.",
                                NULL);
      g_free (info);
      info = more;
    }
  label = gtk_label_new (NULL);
  gtk_label_set_markup (GTK_LABEL (label), info);
  gtk_widget_set_tooltip_text (label, result->project);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_line_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 56);
  gtk_style_context_add_class (gtk_widget_get_style_context (label),
                               "dim-label");
  gtk_box_pack_start (GTK_BOX (box), label, FALSE, FALSE, 0);

  d.check = gtk_check_button_new_with_mnemonic ("");
  set_keyword (&d, result->label);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (d.check), *add_keyword);
  gtk_box_pack_start (GTK_BOX (box), d.check, FALSE, FALSE, 0);

  frame = gimp_frame_new ("Wrong? _Label as…");
  gtk_box_pack_start (GTK_BOX (box), frame, FALSE, FALSE, 0);
  row = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_container_add (GTK_CONTAINER (frame), row);
  {
    GtkWidget *hbox = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
    GtkWidget *entry;

    d.combo = gtk_combo_box_text_new_with_entry ();
    for (i = 0; classes != NULL && classes[i] != NULL; i++)
      gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (d.combo), classes[i]);
    entry = gtk_bin_get_child (GTK_BIN (d.combo));
    if (GTK_IS_LABEL (gtk_frame_get_label_widget (GTK_FRAME (frame))))
      {
        GtkLabel *title_label
          = GTK_LABEL (gtk_frame_get_label_widget (GTK_FRAME (frame)));

        gtk_label_set_use_underline (title_label, TRUE);
        gtk_label_set_mnemonic_widget (title_label, entry);
      }
    gtk_entry_set_placeholder_text (GTK_ENTRY (entry), "class, or a new one");
    gtk_entry_set_width_chars (GTK_ENTRY (entry), 22);
    gtk_entry_set_activates_default (GTK_ENTRY (entry), FALSE);
    gtk_widget_set_hexpand (d.combo, TRUE);
    gtk_box_pack_start (GTK_BOX (hbox), d.combo, TRUE, TRUE, 0);
    d.button = gtk_button_new_with_mnemonic ("_Add as example");
    gtk_widget_set_tooltip_text (
      d.button, "Store this image in the project as an example of the "
                "chosen class");
    g_signal_connect (d.button, "clicked", G_CALLBACK (label_clicked), &d);
    gtk_box_pack_start (GTK_BOX (hbox), d.button, FALSE, FALSE, 0);
    gtk_box_pack_start (GTK_BOX (row), hbox, FALSE, FALSE, 0);
  }
  d.status = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (d.status), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (d.status), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (d.status), 56);
  gtk_box_pack_start (GTK_BOX (row), d.status, FALSE, FALSE, 0);
  if (label_func == NULL || classes == NULL)
    {
      gtk_widget_set_sensitive (d.combo, FALSE);
      gtk_widget_set_sensitive (d.button, FALSE);
      set_status (&d, FALSE, "The project cannot be written (read-only).");
    }

  gtk_widget_show_all (dialog);
  ok = gimp_dialog_run (GIMP_DIALOG (dialog)) == GTK_RESPONSE_OK;
  *add_keyword = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (d.check));
  *keyword = g_steal_pointer (&d.keyword);
  gtk_widget_destroy (dialog);
  return ok;
}

/**
 * hippo_plugin_arguments_dialog:
 * @procedure: the procedure.
 * @config: its config, edited in place.
 * @title: the dialog's title.
 * @why: (nullable): a message shown above the arguments (e.g. why the
 *   project must be chosen).
 * @properties: (array zero-terminated=1): the arguments to show.
 *
 * A GimpProcedureDialog for some of the procedure's arguments.
 *
 * Returns: %TRUE on OK.
 */
gboolean
hippo_plugin_arguments_dialog (GimpProcedure *procedure,
                               GimpProcedureConfig *config, const char *title,
                               const char *why, const char *const *properties)
{
  GtkWidget *dialog;
  GList *list = NULL;
  gboolean ok;
  guint i;

  dialog = gimp_procedure_dialog_new (procedure, config, title);
  if (why != NULL)
    {
      GtkWidget *label = gimp_procedure_dialog_get_label (
        GIMP_PROCEDURE_DIALOG (dialog), "hippo-why", why, FALSE, FALSE);

      gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 56);
      gtk_label_set_xalign (GTK_LABEL (label), 0.0);
      list = g_list_append (list, (gpointer) "hippo-why");
    }
  for (i = 0; properties[i] != NULL; i++)
    list = g_list_append (list, (gpointer) properties[i]);
  gimp_procedure_dialog_fill_list (GIMP_PROCEDURE_DIALOG (dialog), list);
  g_list_free (list);
  ok = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));
  gtk_widget_destroy (dialog);
  return ok;
}

static void
progress_response (GtkDialog *dialog, int response, gboolean *cancelled)
{
  *cancelled = TRUE;
  gtk_dialog_set_response_sensitive (dialog, GTK_RESPONSE_CANCEL, FALSE);
}

static gboolean
progress_delete (GtkWidget *widget, GdkEvent *event, gboolean *cancelled)
{
  *cancelled = TRUE;
  return TRUE; /* stays until the work has stopped */
}

/**
 * hippo_plugin_progress_dialog_new:
 * @title: the window title.
 * @text: a line above the bar.
 * @cancelled: set to %TRUE when the user presses Cancel or closes the
 *   window; must outlive the dialog.
 *
 * A window with a progress bar (hippo_plugin_progress_dialog_set()) and a
 * Cancel button. The caller shows it, keeps the main loop running, and
 * destroys it. (Not a GimpProgressBar: in GIMP 3.0.4 its progress callback
 * cannot be installed from a plug-in, as the core expects an int argument
 * where libgimp registers an enum.)
 *
 * Returns: (transfer full): the dialog.
 */
GtkWidget *
hippo_plugin_progress_dialog_new (const char *title, const char *text,
                                  gboolean *cancelled)
{
  GtkWidget *dialog, *box, *label, *bar;

  dialog = gimp_dialog_new (title, "hippotag-progress", NULL, 0, NULL, NULL,
                            "_Cancel", GTK_RESPONSE_CANCEL, NULL);
  gimp_window_set_transient (GTK_WINDOW (dialog));
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_container_set_border_width (GTK_CONTAINER (box), 12);
  gtk_box_pack_start (
    GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))), box, TRUE,
    TRUE, 0);
  label = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 56);
  gtk_box_pack_start (GTK_BOX (box), label, FALSE, FALSE, 0);
  bar = gtk_progress_bar_new ();
  style_bar (bar);
  gtk_progress_bar_set_show_text (GTK_PROGRESS_BAR (bar), TRUE);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (bar), " ");
  gtk_widget_set_size_request (bar, 360, -1);
  gtk_box_pack_start (GTK_BOX (box), bar, FALSE, FALSE, 0);
  g_object_set_data (G_OBJECT (dialog), "hippo-bar", bar);
  g_signal_connect (dialog, "response", G_CALLBACK (progress_response),
                    cancelled);
  g_signal_connect (dialog, "delete-event", G_CALLBACK (progress_delete),
                    cancelled);
  return dialog;
}

/**
 * hippo_plugin_progress_dialog_set:
 * @dialog: a dialog from hippo_plugin_progress_dialog_new().
 * @fraction: 0 to 1, or < 0 to pulse.
 * @text: (nullable): the text on the bar, or %NULL to keep it.
 */
void
hippo_plugin_progress_dialog_set (GtkWidget *dialog, double fraction,
                                  const char *text)
{
  GtkProgressBar *bar = g_object_get_data (G_OBJECT (dialog), "hippo-bar");

  if (fraction < 0)
    gtk_progress_bar_pulse (bar);
  else
    gtk_progress_bar_set_fraction (bar, CLAMP (fraction, 0.0, 1.0));
  if (text != NULL)
    gtk_progress_bar_set_text (bar, text);
}
