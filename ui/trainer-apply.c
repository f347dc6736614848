/* Hippotag trainer — Apply: tag (XMP sidecars) or sort (copy into class
 * folders) the selected or all images, after a dry-run preview. */
#include "trainer-private.h"

#include <string.h>

enum
{
  COL_FILE,
  COL_CLASS,
  COL_CONFIDENCE,
  COL_WHAT,
  N_COLS
};

typedef struct
{
  HippoTrainer *t;
  GtkWidget *dialog;
  GtkWidget *tag_radio;
  GtkWidget *all_check;
  GtkWidget *dest;
  GtkListStore *store;
  GtkWidget *status;
  gboolean alive;
  gint ref;
} Apply;

typedef struct
{
  Apply *a;
  gboolean tag;
  gboolean dry_run;
  char *dest;
  char *parent;
  GPtrArray *paths;
  GPtrArray *rows; /* char *[4] */
  HippoSortJournal *journal;
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
  hippo_trainer_unref (a->t);
  g_free (a);
}

static void
row_free (gpointer data)
{
  g_strfreev (data);
}

static void
apply_job_free (gpointer data)
{
  ApplyJob *j = data;

  g_free (j->dest);
  g_free (j->parent);
  g_free (j->error);
  g_ptr_array_unref (j->paths);
  g_ptr_array_unref (j->rows);
  g_free (j);
}

static gboolean
on_file (guint index, const char *path, const HippoPrediction *p,
         const GError *error, gpointer user_data)
{
  ApplyJob *j = user_data;
  g_autoptr (GError) e = NULL;
  char **row = g_new0 (char *, 5);
  gboolean unsure = p == NULL || p->label == NULL || p->unsure;

  row[0] = g_filename_display_name (path);
  row[1] = g_strdup (p && p->label ? p->label : "-");
  row[2] = g_strdup_printf ("%.0f %%", p ? 100.0 * p->confidence : 0.0);
  if (p == NULL)
    {
      row[3] = g_strdup_printf ("failed: %s", error ? error->message : "?");
      j->n_failed++;
    }
  else if (j->tag)
    {
      HippoTagParams tp;
      const char *labels[] = { p->label, NULL };
      gboolean changed = FALSE;
      hippo_tag_params_default (&tp);
      tp.parent = j->parent;
      tp.dry_run = j->dry_run;
      if (unsure)
        row[3] = g_strdup ("unsure: not tagged");
      else if (!hippo_tag_file (path, labels, &tp, &changed, &e))
        {
          row[3] = g_strdup_printf ("failed: %s", e->message);
          j->n_failed++;
        }
      else
        row[3] = g_strdup (
          changed ? (j->dry_run ? "would add keyword" : "keyword added")
                  : "already tagged");
    }
  else
    {
      HippoSortParams sp;
      g_autofree char *dest = NULL;
      hippo_sort_params_default (&sp);
      sp.dest_root = j->dest;
      sp.dry_run = j->dry_run;
      if (!hippo_sort_file (j->journal, path, unsure ? NULL : p->label, &sp,
                            &dest, &e))
        {
          row[3] = g_strdup_printf ("failed: %s", e->message);
          j->n_failed++;
        }
      else
        {
          g_autofree char *shown = g_filename_display_name (dest);
          row[3] = g_strdup_printf (
            "%s %s", j->dry_run ? "would copy to" : "copied to", shown);
        }
    }
  g_ptr_array_add (j->rows, row);
  return !hippo_worker_is_cancelled (j->worker);
}

static gboolean
job_done (gpointer data)
{
  ApplyJob *j = data;
  Apply *a = j->a;
  g_autofree char *msg = NULL;

  a->t->busy_apply = FALSE;
  if (a->alive)
    {
      gtk_list_store_clear (a->store);
      for (guint i = 0; i < j->rows->len; i++)
        {
          char **r = j->rows->pdata[i];
          gtk_list_store_insert_with_values (a->store, NULL, -1, COL_FILE, r[0],
                                             COL_CLASS, r[1], COL_CONFIDENCE,
                                             r[2], COL_WHAT, r[3], -1);
        }
      msg = j->error ? g_strdup (j->error)
                     : g_strdup_printf ("%s: %u files, %u failed.",
                                        j->dry_run ? "Preview (nothing written)"
                                                   : "Done",
                                        j->rows->len, j->n_failed);
      gtk_label_set_text (GTK_LABEL (a->status), msg);
      gtk_dialog_set_response_sensitive (GTK_DIALOG (a->dialog),
                                         GTK_RESPONSE_ACCEPT, j->dry_run);
      gtk_dialog_set_response_sensitive (GTK_DIALOG (a->dialog),
                                         GTK_RESPONSE_APPLY, TRUE);
    }
  apply_unref (a);
  return G_SOURCE_REMOVE;
}

static void
run_apply (HippoWorker *w, HippoClassifier *c, gpointer data)
{
  ApplyJob *j = data;
  g_autoptr (GError) error = NULL;

  j->worker = w;
  if (!j->tag && !j->dry_run)
    {
      g_autofree char *stamp = NULL;
      g_autofree char *name = NULL;
      g_autofree char *journal = NULL;
      g_autoptr (GDateTime) now = g_date_time_new_now_local ();
      stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
      name = g_strdup_printf (".hippotag-sort-%s.journal", stamp);
      g_mkdir_with_parents (j->dest, 0777);
      journal = g_build_filename (j->dest, name, NULL);
      j->journal = hippo_sort_journal_open (journal, &error);
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

static void
run_apply_and_report (HippoWorker *w, HippoClassifier *c, gpointer data)
{
  ApplyJob *j = data;

  run_apply (w, c, data);
  /* the job is handed to the main thread, which frees it */
  g_idle_add_full (G_PRIORITY_DEFAULT, job_done, j, apply_job_free);
}

static void
start (Apply *a, gboolean dry_run)
{
  ApplyJob *j = g_new0 (ApplyJob, 1);
  gboolean all
    = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (a->all_check));
  g_autoptr (GPtrArray) items = NULL;

  j->a = a;
  a->ref++;
  j->tag = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (a->tag_radio));
  j->dry_run = dry_run;
  j->dest = g_strdup (gtk_entry_get_text (GTK_ENTRY (a->dest)));
  j->parent
    = hippo_project_get_string (a->t->project, HIPPO_SETTING_KEYWORD_PARENT,
                                HIPPO_DEFAULT_KEYWORD_PARENT, NULL);
  j->paths = g_ptr_array_new_with_free_func (g_free);
  j->rows = g_ptr_array_new_with_free_func (row_free);
  if (all)
    items = g_ptr_array_ref (a->t->items);
  else
    items = hippo_thumb_grid_get_selected (a->t->grid);
  for (guint i = 0; i < items->len; i++)
    {
      HippoTrainerItem *it = items->pdata[i];
      if (it->path)
        g_ptr_array_add (j->paths, g_strdup (it->path));
    }
  if (!j->tag && j->dest[0] == '\0')
    {
      gtk_label_set_text (GTK_LABEL (a->status),
                          "Sorting needs a destination folder.");
      apply_unref (a);
      apply_job_free (j);
      return;
    }
  a->t->busy_apply = TRUE;
  gtk_label_set_text (GTK_LABEL (a->status), "Working…");
  gtk_dialog_set_response_sensitive (GTK_DIALOG (a->dialog),
                                     GTK_RESPONSE_ACCEPT, FALSE);
  gtk_dialog_set_response_sensitive (GTK_DIALOG (a->dialog), GTK_RESPONSE_APPLY,
                                     FALSE);
  hippo_worker_push (a->t->worker, run_apply_and_report, j, NULL, TRUE);
}

static void
on_response (GtkDialog *dialog, int response, Apply *a)
{
  if (response == GTK_RESPONSE_APPLY)
    start (a, TRUE);
  else if (response == GTK_RESPONSE_ACCEPT)
    start (a, FALSE);
  else
    {
      a->alive = FALSE;
      gtk_widget_destroy (GTK_WIDGET (dialog));
      apply_unref (a);
    }
}

GtkWidget *
hippo_trainer_apply_dialog (HippoTrainer *t)
{
  Apply *a = g_new0 (Apply, 1);
  GtkWidget *content, *sort_radio, *tree, *sw, *grid, *label;
  const char *titles[] = { "File", "Class", "Confidence", "What happens" };

  a->t = hippo_trainer_ref (t);
  a->alive = TRUE;
  a->ref = 1;
  a->dialog = gtk_dialog_new_with_buttons (
    "Apply the classes", GTK_WINDOW (t->window), GTK_DIALOG_DESTROY_WITH_PARENT,
    "_Close", GTK_RESPONSE_CLOSE, "_Preview", GTK_RESPONSE_APPLY, "_Apply",
    GTK_RESPONSE_ACCEPT, NULL);
  gtk_dialog_set_response_sensitive (GTK_DIALOG (a->dialog),
                                     GTK_RESPONSE_ACCEPT, FALSE);
  gtk_window_set_default_size (GTK_WINDOW (a->dialog), 760, 480);
  content = gtk_dialog_get_content_area (GTK_DIALOG (a->dialog));
  gtk_container_set_border_width (GTK_CONTAINER (content), 10);
  gtk_box_set_spacing (GTK_BOX (content), 6);
  grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 8);
  a->tag_radio = gtk_radio_button_new_with_mnemonic (
    NULL, "_Tag: write the class as a keyword in an XMP sidecar");
  sort_radio = gtk_radio_button_new_with_mnemonic_from_widget (
    GTK_RADIO_BUTTON (a->tag_radio), "_Sort: copy into a folder per class");
  a->dest = gtk_entry_new ();
  gtk_widget_set_hexpand (a->dest, TRUE);
  gtk_widget_set_tooltip_text (a->dest, "The folder that receives one folder "
                                        "per class (and \"unsure\")");
  label = gtk_label_new_with_mnemonic ("_Into:");
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), a->dest);
  a->all_check = gtk_check_button_new_with_mnemonic (
    "A_ll images (else only the selected ones)");
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (a->all_check), TRUE);
  gtk_grid_attach (GTK_GRID (grid), a->tag_radio, 0, 0, 2, 1);
  gtk_grid_attach (GTK_GRID (grid), sort_radio, 0, 1, 2, 1);
  gtk_grid_attach (GTK_GRID (grid), label, 0, 2, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), a->dest, 1, 2, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), a->all_check, 0, 3, 2, 1);
  gtk_container_add (GTK_CONTAINER (content), grid);
  a->store = gtk_list_store_new (N_COLS, G_TYPE_STRING, G_TYPE_STRING,
                                 G_TYPE_STRING, G_TYPE_STRING);
  tree = gtk_tree_view_new_with_model (GTK_TREE_MODEL (a->store));
  for (int i = 0; i < N_COLS; i++)
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
  gtk_label_set_xalign (GTK_LABEL (a->status), 0);
  gtk_container_add (GTK_CONTAINER (content), a->status);
  g_signal_connect (a->dialog, "response", G_CALLBACK (on_response), a);
  gtk_widget_show_all (a->dialog);
  return a->dialog;
}
