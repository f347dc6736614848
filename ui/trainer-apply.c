/* Hippotag trainer — Apply: tag (XMP sidecar or in place) or sort (copy or
 * link into a folder per class) the selected or all images with the
 * project's head, with the CLI's options. A dry-run preview lists what
 * will happen; Apply then does exactly that to the files previewed, and
 * only while the options are those of the preview. */
#include "trainer-private.h"

#include <errno.h>
#include <string.h>

enum
{
  COL_FILE,
  COL_CLASS,
  COL_CONFIDENCE,
  COL_WHAT,
  COL_PATH, /* tooltip of the row */
  N_COLS
};

typedef struct
{
  HippoTrainer *t;
  GtkWidget *dialog;
  GtkWidget *tag_radio;
  GtkWidget *tag_mode; /* sidecar, in place */
  GtkWidget *sort_radio;
  GtkWidget *sort_action; /* copy, symlink, hardlink */
  GtkWidget *dest;
  GtkWidget *min_confidence; /* percent */
  GtkWidget *all_check;
  GtkListStore *store;
  GtkWidget *status;
  GPtrArray *previewed; /* files of the last preview, or NULL */
  gboolean running;
  gboolean alive; /* the dialog exists */
  gint ref;
} Apply;

typedef struct
{
  Apply *a;
  gboolean ran;
  gboolean tag;
  gboolean dry_run;
  HippoTagMode tag_mode;
  HippoSortAction sort_action;
  double min_confidence;
  gboolean multi_label;
  char *dest;
  char *parent;
  GPtrArray *paths;
  GPtrArray *rows; /* char *[N_COLS + 1] */
  HippoSortJournal *journal;
  char *journal_path;
  HippoWorker *worker;
  guint n_failed;
  char *error;
} ApplyJob;

static void
apply_unref (Apply *a)
{
  if (--a->ref > 0)
    return;
  g_object_unref (a->store);
  g_clear_pointer (&a->previewed, g_ptr_array_unref);
  hippo_trainer_unref (a->t);
  g_free (a);
}

static void
apply_job_free (gpointer data)
{
  ApplyJob *j = data;

  g_free (j->dest);
  g_free (j->parent);
  g_free (j->error);
  g_free (j->journal_path);
  g_ptr_array_unref (j->paths);
  g_ptr_array_unref (j->rows);
  apply_unref (j->a);
  g_free (j);
}

/* ------------------------------------------------------------ worker */

/* The classes to write for a prediction: the best one when it is sure
 * enough, in multi-label mode every one that is. */
static GPtrArray *
labels_of (ApplyJob *j, const HippoPrediction *p)
{
  GPtrArray *labels = g_ptr_array_new ();

  if (j->multi_label)
    {
      for (guint k = 0; k < p->n_classes; k++)
        if (p->scores[k] >= j->min_confidence)
          g_ptr_array_add (labels, (gpointer) p->names[k]);
    }
  else if (p->label && p->confidence >= j->min_confidence)
    g_ptr_array_add (labels, (gpointer) p->label);
  g_ptr_array_add (labels, NULL);
  return labels;
}

static char *
tag_one (ApplyJob *j, const char *path, GPtrArray *labels)
{
  g_autoptr (GError) e = NULL;
  HippoTagParams tp;
  gboolean changed = FALSE;

  if (labels->len == 1)
    return g_strdup ("unsure: not tagged");
  hippo_tag_params_default (&tp);
  tp.mode = j->tag_mode;
  tp.parent = j->parent;
  tp.dry_run = j->dry_run;
  if (!hippo_tag_file (path, (const char *const *) labels->pdata, &tp, &changed,
                       &e))
    {
      j->n_failed++;
      return g_strdup_printf ("failed: %s", e->message);
    }
  if (!changed)
    return g_strdup ("already tagged");
  return g_strdup (j->dry_run ? "would add the keyword" : "keyword added");
}

static char *
sort_one (ApplyJob *j, const char *path, GPtrArray *labels)
{
  static const char *const verbs[][2] = {
    [HIPPO_SORT_COPY] = { "would copy to", "copied to" },
    [HIPPO_SORT_MOVE] = { "would move to", "moved to" },
    [HIPPO_SORT_SYMLINK] = { "would link to", "linked to" },
    [HIPPO_SORT_HARDLINK] = { "would link to", "linked to" },
  };
  g_autoptr (GError) e = NULL;
  g_autofree char *dest = NULL;
  g_autofree char *shown = NULL;
  HippoSortParams sp;

  hippo_sort_params_default (&sp);
  sp.action = j->sort_action;
  sp.dest_root = j->dest;
  sp.dry_run = j->dry_run;
  if (!hippo_sort_file (j->journal, path,
                        labels->len > 1 ? labels->pdata[0] : NULL, &sp, &dest,
                        &e))
    {
      j->n_failed++;
      return g_strdup_printf ("failed: %s", e->message);
    }
  shown = g_filename_display_name (dest);
  return g_strdup_printf ("%s %s", verbs[j->sort_action][!j->dry_run], shown);
}

static gboolean
on_file (guint index, const char *path, const HippoPrediction *p,
         const GError *error, gpointer user_data)
{
  ApplyJob *j = user_data;
  char **row = g_new0 (char *, N_COLS + 1);

  row[0] = g_filename_display_basename (path);
  row[4] = g_filename_display_name (path);
  row[1] = g_strdup (p && p->label ? p->label : "–");
  row[2]
    = p ? g_strdup_printf ("%.0f %%", 100.0 * p->confidence) : g_strdup ("");
  if (p == NULL)
    {
      row[3] = g_strdup_printf ("failed: %s", error ? error->message : "?");
      j->n_failed++;
    }
  else
    {
      g_autoptr (GPtrArray) labels = labels_of (j, p);
      row[3] = j->tag ? tag_one (j, path, labels) : sort_one (j, path, labels);
    }
  g_ptr_array_add (j->rows, row);
  return !hippo_worker_is_cancelled (j->worker);
}

/* Like the CLI's: DEST/.hippotag-sort-STAMP[-N].journal, a new file. */
static char *
new_journal_path (const char *dest)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");

  for (guint i = 0;; i++)
    {
      g_autofree char *name
        = i == 0 ? g_strdup_printf (".hippotag-sort-%s.journal", stamp)
                 : g_strdup_printf (".hippotag-sort-%s-%u.journal", stamp, i);
      char *path = g_build_filename (dest, name, NULL);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        return path;
      g_free (path);
    }
}

static void
run_apply (HippoWorker *w, HippoClassifier *c, gpointer data)
{
  ApplyJob *j = data;
  g_autoptr (GError) error = NULL;

  j->ran = TRUE;
  j->worker = w;
  j->multi_label
    = hippo_project_get_multi_label (hippo_classifier_get_project (c), NULL);
  if (!j->tag && !j->dry_run)
    {
      if (g_mkdir_with_parents (j->dest, 0777) != 0)
        {
          j->error = g_strdup_printf ("Cannot make %s: %s", j->dest,
                                      g_strerror (errno));
          return;
        }
      j->journal_path = new_journal_path (j->dest);
      j->journal = hippo_sort_journal_open (j->journal_path, &error);
      if (j->journal == NULL)
        {
          j->error = g_strdup (error->message);
          return;
        }
    }
  if (!hippo_classifier_classify_files (c,
                                        (const char *const *) j->paths->pdata,
                                        j->paths->len, on_file, j, &error))
    j->error = g_strdup (error->message);
  hippo_sort_journal_close (j->journal);
  j->journal = NULL;
}

/* ------------------------------------------------------------ dialog */

static void
set_apply_sensitive (Apply *a)
{
  gtk_dialog_set_response_sensitive (GTK_DIALOG (a->dialog), GTK_RESPONSE_APPLY,
                                     !a->running);
  gtk_dialog_set_response_sensitive (
    GTK_DIALOG (a->dialog), GTK_RESPONSE_ACCEPT,
    !a->running && a->previewed != NULL && a->previewed->len > 0);
}

static gboolean
job_done (gpointer data)
{
  ApplyJob *j = data;
  Apply *a = j->a;
  g_autofree char *msg = NULL;

  a->t->busy_apply = FALSE;
  hippo_trainer_update_buttons (a->t);
  if (!a->alive)
    return G_SOURCE_REMOVE;
  a->running = FALSE;
  gtk_list_store_clear (a->store);
  for (guint i = 0; i < j->rows->len; i++)
    {
      char **r = j->rows->pdata[i];
      gtk_list_store_insert_with_values (a->store, NULL, -1, COL_FILE, r[0],
                                         COL_CLASS, r[1], COL_CONFIDENCE, r[2],
                                         COL_WHAT, r[3], COL_PATH, r[4], -1);
    }
  g_clear_pointer (&a->previewed, g_ptr_array_unref);
  if (j->error || !j->ran)
    msg = g_strdup (j->error ? j->error : "Stopped.");
  else if (j->dry_run)
    {
      msg = g_strdup_printf ("Preview: %u files, %u failed; nothing is written "
                             "until Apply.",
                             j->rows->len, j->n_failed);
      a->previewed = g_ptr_array_ref (j->paths);
    }
  else if (j->journal_path)
    {
      g_autofree char *shown = g_filename_display_name (j->journal_path);
      msg = g_strdup_printf ("Done: %u files, %u failed. To undo: hippotag "
                             "sort --undo %s",
                             j->rows->len, j->n_failed, shown);
    }
  else
    msg = g_strdup_printf ("Done: %u files, %u failed.", j->rows->len,
                           j->n_failed);
  gtk_label_set_text (GTK_LABEL (a->status), msg);
  set_apply_sensitive (a);
  return G_SOURCE_REMOVE;
}

/* The job's destroy notify: it reports (or, dropped by Cancel before it
 * ran, says so) and is freed on the main thread. */
static void
job_end (gpointer data)
{
  ApplyJob *j = data;

  hippo_trainer_post (j->a->t, job_done, j, apply_job_free);
}

static void
start (Apply *a, gboolean dry_run)
{
  ApplyJob *j;
  const char *dest = gtk_entry_get_text (GTK_ENTRY (a->dest));
  gboolean tag
    = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (a->tag_radio));

  if (!tag && dest[0] == '\0')
    {
      gtk_label_set_text (GTK_LABEL (a->status),
                          "Sorting needs a destination folder.");
      gtk_widget_grab_focus (a->dest);
      return;
    }
  j = g_new0 (ApplyJob, 1);
  j->a = a;
  a->ref++;
  j->tag = tag;
  j->dry_run = dry_run;
  j->tag_mode = gtk_combo_box_get_active (GTK_COMBO_BOX (a->tag_mode)) == 1
                  ? HIPPO_TAG_MODE_IN_PLACE
                  : HIPPO_TAG_MODE_SIDECAR;
  switch (gtk_combo_box_get_active (GTK_COMBO_BOX (a->sort_action)))
    {
      case 1:
        j->sort_action = HIPPO_SORT_SYMLINK;
        break;
      case 2:
        j->sort_action = HIPPO_SORT_HARDLINK;
        break;
      default:
        j->sort_action = HIPPO_SORT_COPY;
    }
  j->min_confidence
    = gtk_spin_button_get_value (GTK_SPIN_BUTTON (a->min_confidence)) / 100.0;
  j->dest = g_canonicalize_filename (dest, NULL);
  j->parent
    = hippo_project_get_string (a->t->project, HIPPO_SETTING_KEYWORD_PARENT,
                                HIPPO_DEFAULT_KEYWORD_PARENT, NULL);
  j->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  if (!dry_run && a->previewed)
    j->paths = g_ptr_array_ref (a->previewed); /* exactly what was shown */
  else
    {
      gboolean all
        = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (a->all_check));
      g_autoptr (GPtrArray) items
        = all ? g_ptr_array_ref (a->t->items)
              : hippo_thumb_grid_get_selected (a->t->grid);
      j->paths = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < items->len; i++)
        {
          HippoTrainerItem *it = items->pdata[i];
          if (it->path)
            g_ptr_array_add (j->paths, g_strdup (it->path));
        }
    }
  a->running = TRUE;
  a->t->busy_apply = TRUE;
  hippo_trainer_update_buttons (a->t);
  gtk_label_set_text (GTK_LABEL (a->status),
                      dry_run ? "Previewing…" : "Working…");
  set_apply_sensitive (a);
  hippo_worker_push (a->t->worker, run_apply, j, job_end, TRUE);
}

/* Any change of the options: the preview no longer shows what Apply would
 * do. */
static void
on_option_changed (GtkWidget *w, Apply *a)
{
  gboolean tag
    = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (a->tag_radio));

  gtk_widget_set_sensitive (a->tag_mode, tag);
  gtk_widget_set_sensitive (a->sort_action, !tag);
  gtk_widget_set_sensitive (a->dest, !tag);
  if (a->previewed == NULL)
    return;
  g_clear_pointer (&a->previewed, g_ptr_array_unref);
  gtk_list_store_clear (a->store);
  gtk_label_set_text (GTK_LABEL (a->status),
                      "The options changed: preview again before applying.");
  set_apply_sensitive (a);
}

static void
on_response (GtkDialog *dialog, int response, Apply *a)
{
  if (response == GTK_RESPONSE_APPLY)
    start (a, TRUE);
  else if (response == GTK_RESPONSE_ACCEPT)
    start (a, FALSE);
  else
    gtk_widget_destroy (GTK_WIDGET (dialog));
}

static void
on_dialog_destroy (GtkWidget *dialog, Apply *a)
{
  a->alive = FALSE;
  apply_unref (a);
}

static GtkWidget *
combo (const char *tip, const char *const *choices)
{
  GtkWidget *c = gtk_combo_box_text_new ();

  for (guint i = 0; choices[i]; i++)
    gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (c), choices[i]);
  gtk_combo_box_set_active (GTK_COMBO_BOX (c), 0);
  gtk_widget_set_tooltip_text (c, tip);
  return c;
}

static GtkWidget *
options_grid (Apply *a)
{
  static const char *const tag_modes[]
    = { "in an XMP sidecar (FILE.xmp)", "in the image itself", NULL };
  static const char *const sort_actions[]
    = { "copy", "symbolic link", "hard link", NULL };
  GtkWidget *grid = gtk_grid_new ();
  GtkWidget *label, *row;
  double threshold = 0.5;

  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 8);
  a->tag_radio = gtk_radio_button_new_with_mnemonic (
    NULL, "_Tag: write the class as a keyword");
  a->tag_mode = combo ("Where the keyword goes; a sidecar leaves the image "
                       "untouched",
                       tag_modes);
  a->sort_radio = gtk_radio_button_new_with_mnemonic_from_widget (
    GTK_RADIO_BUTTON (a->tag_radio), "_Sort into a folder per class:");
  a->sort_action = combo ("Copy the files or link to them (moving is left to "
                          "'hippotag sort --move': the trainer shows the "
                          "files where they are)",
                          sort_actions);
  a->dest = gtk_entry_new ();
  gtk_widget_set_hexpand (a->dest, TRUE);
  gtk_widget_set_tooltip_text (a->dest, "The folder that receives one folder "
                                        "per class (and \"unsure\")");
  hippo_project_get_double (a->t->project, HIPPO_SETTING_UNSURE_THRESHOLD, 0.5,
                            &threshold, NULL);
  a->min_confidence = gtk_spin_button_new_with_range (0, 100, 5);
  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (a->min_confidence), 0);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (a->min_confidence),
                             100 * threshold);
  gtk_widget_set_tooltip_text (a->min_confidence,
                               "Below this confidence an image is unsure: not "
                               "tagged, sorted into \"unsure\"");
  a->all_check = gtk_check_button_new_with_mnemonic (
    "A_ll images (else only the selected ones)");
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (a->all_check), TRUE);

  gtk_grid_attach (GTK_GRID (grid), a->tag_radio, 0, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), a->tag_mode, 1, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), a->sort_radio, 0, 1, 1, 1);
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_box_pack_start (GTK_BOX (row), a->sort_action, FALSE, FALSE, 0);
  label = gtk_label_new_with_mnemonic ("_into");
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), a->dest);
  gtk_box_pack_start (GTK_BOX (row), label, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (row), a->dest, TRUE, TRUE, 0);
  gtk_grid_attach (GTK_GRID (grid), row, 1, 1, 1, 1);
  label = gtk_label_new_with_mnemonic ("_Minimum confidence (%):");
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), a->min_confidence);
  gtk_grid_attach (GTK_GRID (grid), label, 0, 2, 1, 1);
  gtk_widget_set_halign (a->min_confidence, GTK_ALIGN_START);
  gtk_grid_attach (GTK_GRID (grid), a->min_confidence, 1, 2, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), a->all_check, 0, 3, 2, 1);

  g_signal_connect (a->tag_radio, "toggled", G_CALLBACK (on_option_changed), a);
  g_signal_connect (a->tag_mode, "changed", G_CALLBACK (on_option_changed), a);
  g_signal_connect (a->sort_action, "changed", G_CALLBACK (on_option_changed),
                    a);
  g_signal_connect (a->dest, "changed", G_CALLBACK (on_option_changed), a);
  g_signal_connect (a->min_confidence, "value-changed",
                    G_CALLBACK (on_option_changed), a);
  g_signal_connect (a->all_check, "toggled", G_CALLBACK (on_option_changed), a);
  return grid;
}

GtkWidget *
hippo_trainer_apply_dialog (HippoTrainer *t)
{
  Apply *a = g_new0 (Apply, 1);
  GtkWidget *content, *tree, *sw;
  const char *titles[] = { "File", "Class", "Confidence", "What happens" };

  a->t = hippo_trainer_ref (t);
  a->alive = TRUE;
  a->ref = 1;
  a->dialog = gtk_dialog_new_with_buttons (
    "Apply the classes", GTK_WINDOW (t->window), GTK_DIALOG_DESTROY_WITH_PARENT,
    "_Close", GTK_RESPONSE_CLOSE, "_Preview", GTK_RESPONSE_APPLY, "_Apply",
    GTK_RESPONSE_ACCEPT, NULL);
  gtk_window_set_default_size (GTK_WINDOW (a->dialog), 760, 480);
  content = gtk_dialog_get_content_area (GTK_DIALOG (a->dialog));
  gtk_container_set_border_width (GTK_CONTAINER (content), 10);
  gtk_box_set_spacing (GTK_BOX (content), 6);
  gtk_container_add (GTK_CONTAINER (content), options_grid (a));
  a->store = gtk_list_store_new (N_COLS, G_TYPE_STRING, G_TYPE_STRING,
                                 G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  tree = gtk_tree_view_new_with_model (GTK_TREE_MODEL (a->store));
  gtk_tree_view_set_tooltip_column (GTK_TREE_VIEW (tree), COL_PATH);
  for (int i = 0; i < COL_PATH; i++)
    gtk_tree_view_append_column (
      GTK_TREE_VIEW (tree),
      gtk_tree_view_column_new_with_attributes (
        titles[i], gtk_cell_renderer_text_new (), "text", i, NULL));
  sw = gtk_scrolled_window_new (NULL, NULL);
  gtk_widget_set_vexpand (sw, TRUE);
  gtk_container_add (GTK_CONTAINER (sw), tree);
  gtk_container_add (GTK_CONTAINER (content), sw);
  a->status = gtk_label_new ("Preview lists what would happen; nothing is "
                             "written until Apply.");
  gtk_widget_set_name (a->status, "apply-status");
  gtk_label_set_xalign (GTK_LABEL (a->status), 0);
  gtk_label_set_line_wrap (GTK_LABEL (a->status), TRUE);
  gtk_label_set_selectable (GTK_LABEL (a->status), TRUE);
  gtk_container_add (GTK_CONTAINER (content), a->status);
  g_signal_connect (a->dialog, "response", G_CALLBACK (on_response), a);
  g_signal_connect (a->dialog, "destroy", G_CALLBACK (on_dialog_destroy), a);
  on_option_changed (NULL, a);
  set_apply_sensitive (a);
  gtk_widget_show_all (a->dialog);
  return a->dialog;
}
