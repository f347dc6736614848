/* Hippotag trainer — the window: lifetime, reports from the worker, keys,
 * and its assembly from the classes panel, the grid and the metrics. */
#include "metrics-view.h"
#include "trainer-private.h"

/* ------------------------------------------------------------ lifetime */

static void
item_free (gpointer data)
{
  HippoTrainerItem *it = data;

  g_free (it->path);
  g_free (it->name);
  g_free (it->hash);
  hippo_image_free (it->image);
  g_clear_object (&it->thumb);
  g_free (it);
}

HippoTrainer *
hippo_trainer_ref (HippoTrainer *t)
{
  g_atomic_int_inc (&t->ref);
  return t;
}

void
hippo_trainer_unref (HippoTrainer *t)
{
  if (!g_atomic_int_dec_and_test (&t->ref))
    return;
  g_ptr_array_unref (t->classes);
  g_hash_table_unref (t->by_path);
  g_hash_table_unref (t->stored);
  g_ptr_array_unref (t->items);
  g_array_unref (t->undo);
  g_free (t->metrics_json);
  g_free (t->last_error);
  g_free (t->filter);
  g_free (t->project_path);
  g_free (t);
}

HippoTrainer *
hippo_trainer_from_window (GtkWidget *window)
{
  return g_object_get_data (G_OBJECT (window), "hippo-trainer");
}

gboolean
hippo_trainer_is_busy (HippoTrainer *t)
{
  return t->n_scans > 0 || t->n_label_jobs > 0 || t->busy_train
         || t->n_predict_jobs > 0 || t->busy_apply
         || hippo_worker_get_pending (t->worker) > 0;
}

void
hippo_trainer_update_buttons (HippoTrainer *t)
{
  gtk_widget_set_sensitive (t->train_button, !t->busy_train);
  gtk_widget_set_sensitive (
    t->cancel_button, t->busy_train || t->n_predict_jobs > 0 || t->busy_apply);
}

/* ------------------------------------------------------------ reports */

/* A job's report to the main thread; skipped once the window is gone. */
typedef struct
{
  HippoTrainer *t;
  GSourceFunc func;
  gpointer data;
  GDestroyNotify destroy;
} Post;

static gboolean
post_run (gpointer data)
{
  Post *p = data;

  if (!p->t->closed)
    p->func (p->data);
  return G_SOURCE_REMOVE;
}

static void
post_free (gpointer data)
{
  Post *p = data;

  if (p->destroy)
    p->destroy (p->data);
  hippo_trainer_unref (p->t);
  g_free (p);
}

void
hippo_trainer_post (HippoTrainer *t, GSourceFunc func, gpointer data,
                    GDestroyNotify destroy)
{
  Post *p = g_new0 (Post, 1);

  p->t = hippo_trainer_ref (t);
  p->func = func;
  p->data = data;
  p->destroy = destroy;
  /* one priority for all reports, so they run in the order posted */
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, post_run, p, post_free);
}

void
hippo_trainer_set_status (HippoTrainer *t, const char *text)
{
  gtk_label_set_text (GTK_LABEL (t->status), text);
}

typedef struct
{
  HippoTrainer *t;
  char *message;
} Message;

static void
message_free (gpointer data)
{
  Message *m = data;

  g_free (m->message);
  g_free (m);
}

static gboolean
show_error (gpointer data)
{
  Message *m = data;

  g_free (m->t->last_error);
  m->t->last_error = g_strdup (m->message);
  hippo_trainer_set_status (m->t, m->message);
  g_warning ("%s", m->message);
  return G_SOURCE_REMOVE;
}

void
hippo_trainer_post_error (HippoTrainer *t, const char *fmt, ...)
{
  Message *m = g_new0 (Message, 1);
  va_list ap;

  va_start (ap, fmt);
  m->t = t;
  m->message = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  hippo_trainer_post (t, show_error, m, message_free);
}

/* ------------------------------------------------------------ keys */

static gboolean
on_grid_key (GtkWidget *area, GdkEventKey *ev, HippoTrainer *t)
{
  guint mods = ev->state & gtk_accelerator_get_default_mod_mask ();

  if (mods & (GDK_CONTROL_MASK | GDK_MOD1_MASK))
    return FALSE;
  if (ev->keyval >= GDK_KEY_1 && ev->keyval <= GDK_KEY_9)
    hippo_trainer_label_selection (t, ev->keyval - GDK_KEY_0);
  else if (ev->keyval >= GDK_KEY_KP_1 && ev->keyval <= GDK_KEY_KP_9)
    hippo_trainer_label_selection (t, ev->keyval - GDK_KEY_KP_0);
  else if (ev->keyval == GDK_KEY_BackSpace || ev->keyval == GDK_KEY_Delete)
    hippo_trainer_label_selection (t, 0);
  else if (ev->keyval == GDK_KEY_space)
    hippo_trainer_show_large (t);
  else
    return FALSE;
  return TRUE;
}

static gboolean
on_grid_button (GtkWidget *area, GdkEventButton *ev, HippoTrainer *t)
{
  if (ev->type == GDK_2BUTTON_PRESS && ev->button == GDK_BUTTON_PRIMARY)
    hippo_trainer_show_large (t);
  return FALSE;
}

static gboolean
accel_add_folder (HippoTrainer *t)
{
  hippo_trainer_choose_folder (t);
  return TRUE;
}

static gboolean
accel_undo (HippoTrainer *t)
{
  hippo_trainer_undo (t);
  return TRUE;
}

static gboolean
accel_train (HippoTrainer *t)
{
  hippo_trainer_train (t);
  return TRUE;
}

static void
on_add_folder (GtkWidget *w, HippoTrainer *t)
{
  hippo_trainer_choose_folder (t);
}

static void
on_train (GtkWidget *w, HippoTrainer *t)
{
  hippo_trainer_train (t);
}

static void
on_cancel (GtkWidget *w, HippoTrainer *t)
{
  hippo_trainer_cancel (t);
}

static void
on_undo (GtkWidget *w, HippoTrainer *t)
{
  hippo_trainer_undo (t);
}

static void
on_apply (GtkWidget *w, HippoTrainer *t)
{
  hippo_trainer_apply_dialog (t);
}

/* ------------------------------------------------------------ assembly */

static void
on_destroy (GtkWidget *window, HippoTrainer *t)
{
  t->closed = TRUE;
  /* waits for queued label changes; stops training */
  hippo_worker_free (t->worker);
  t->worker = NULL;
  hippo_project_free (t->project);
  t->project = NULL;
  g_object_set_data (G_OBJECT (window), "hippo-trainer", NULL);
  hippo_trainer_unref (t);
}

static GtkWidget *
button (const char *mnemonic, const char *tip, GCallback cb, HippoTrainer *t)
{
  GtkWidget *b = gtk_button_new_with_mnemonic (mnemonic);

  gtk_widget_set_tooltip_text (b, tip);
  g_signal_connect (b, "clicked", cb, t);
  return b;
}

static GtkWidget *
header_bar (HippoTrainer *t, const char *project_path)
{
  GtkWidget *header = gtk_header_bar_new ();
  g_autofree char *title = g_filename_display_basename (project_path);

  gtk_header_bar_set_show_close_button (GTK_HEADER_BAR (header), TRUE);
  gtk_header_bar_set_title (GTK_HEADER_BAR (header), "Hippotag trainer");
  gtk_header_bar_set_subtitle (GTK_HEADER_BAR (header), title);
  gtk_header_bar_pack_start (
    GTK_HEADER_BAR (header),
    button ("Add _Folder…",
            "Add the images of a folder and its subfolders "
            "(Ctrl+O); you can also drop files on the grid",
            G_CALLBACK (on_add_folder), t));
  gtk_header_bar_pack_start (GTK_HEADER_BAR (header),
                             button ("_Undo",
                                     "Undo the last label change (Ctrl+Z)",
                                     G_CALLBACK (on_undo), t));
  t->apply_button = button ("A_pply…",
                            "Tag or sort the selected or all images with the "
                            "trained classes, after a preview",
                            G_CALLBACK (on_apply), t);
  gtk_header_bar_pack_end (GTK_HEADER_BAR (header), t->apply_button);
  t->cancel_button = button ("_Cancel", "Stop training or classifying",
                             G_CALLBACK (on_cancel), t);
  gtk_widget_set_sensitive (t->cancel_button, FALSE);
  gtk_header_bar_pack_end (GTK_HEADER_BAR (header), t->cancel_button);
  t->train_button = button ("_Train",
                            "Train on the labelled images, then "
                            "classify every image shown (Ctrl+T)",
                            G_CALLBACK (on_train), t);
  gtk_style_context_add_class (gtk_widget_get_style_context (t->train_button),
                               GTK_STYLE_CLASS_SUGGESTED_ACTION);
  gtk_header_bar_pack_end (GTK_HEADER_BAR (header), t->train_button);
  return header;
}

/* The filter is about the grid: hidden with it. */
static void
on_page_changed (GtkStack *stack, GParamSpec *pspec, HippoTrainer *t)
{
  gtk_widget_set_visible (
    t->filter_box,
    g_strcmp0 (gtk_stack_get_visible_child_name (stack), "images") == 0);
}

/* Right: the switcher and filter, the grid and metrics, the status line. */
static GtkWidget *
images_pane (HippoTrainer *t)
{
  GtkWidget *right = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *switcher = gtk_stack_switcher_new ();
  GtkWidget *label = gtk_label_new_with_mnemonic ("_Show:");
  GtkWidget *area, *sw;

  gtk_container_set_border_width (GTK_CONTAINER (right), 6);
  t->stack = gtk_stack_new ();
  gtk_stack_switcher_set_stack (GTK_STACK_SWITCHER (switcher),
                                GTK_STACK (t->stack));
  gtk_box_pack_start (GTK_BOX (row), switcher, FALSE, FALSE, 0);
  t->filter_combo = gtk_combo_box_text_new ();
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), t->filter_combo);
  gtk_widget_set_tooltip_text (t->filter_combo, "Which images the grid shows");
  t->filter_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_box_pack_start (GTK_BOX (t->filter_box), label, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (t->filter_box), t->filter_combo, FALSE, FALSE,
                      0);
  gtk_box_pack_end (GTK_BOX (row), t->filter_box, FALSE, FALSE, 0);
  g_signal_connect (t->stack, "notify::visible-child-name",
                    G_CALLBACK (on_page_changed), t);
  gtk_box_pack_start (GTK_BOX (right), row, FALSE, FALSE, 0);

  t->grid_box = hippo_thumb_grid_new (hippo_trainer_class_style, t);
  t->grid = hippo_thumb_grid_get (t->grid_box);
  area = hippo_thumb_grid_get_area (t->grid);
  g_signal_connect (area, "key-press-event", G_CALLBACK (on_grid_key), t);
  g_signal_connect (area, "button-press-event", G_CALLBACK (on_grid_button), t);
  hippo_trainer_accept_drops (t, area);
  gtk_stack_add_titled (GTK_STACK (t->stack), t->grid_box, "images", "Images");
  t->metrics = hippo_metrics_view_new (hippo_trainer_show_cell, t);
  sw = gtk_scrolled_window_new (NULL, NULL);
  gtk_container_set_border_width (GTK_CONTAINER (t->metrics), 8);
  gtk_container_add (GTK_CONTAINER (sw), t->metrics);
  gtk_stack_add_titled (GTK_STACK (t->stack), sw, "metrics", "Metrics");
  gtk_box_pack_start (GTK_BOX (right), t->stack, TRUE, TRUE, 0);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  t->status = gtk_label_new ("Add a folder of images, make classes, then "
                             "label with the number keys.");
  gtk_label_set_xalign (GTK_LABEL (t->status), 0);
  gtk_label_set_ellipsize (GTK_LABEL (t->status), PANGO_ELLIPSIZE_END);
  t->progress = gtk_progress_bar_new ();
  gtk_progress_bar_set_show_text (GTK_PROGRESS_BAR (t->progress), TRUE);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (t->progress), "Idle");
  gtk_widget_set_size_request (t->progress, 220, -1);
  gtk_widget_set_valign (t->progress, GTK_ALIGN_CENTER);
  gtk_box_pack_start (GTK_BOX (row), t->status, TRUE, TRUE, 0);
  gtk_box_pack_end (GTK_BOX (row), t->progress, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (right), row, FALSE, FALSE, 0);
  return right;
}

static void
add_accelerators (HippoTrainer *t)
{
  GtkAccelGroup *accel = gtk_accel_group_new ();

  gtk_window_add_accel_group (GTK_WINDOW (t->window), accel);
  gtk_accel_group_connect (
    accel, GDK_KEY_z, GDK_CONTROL_MASK, 0,
    g_cclosure_new_swap (G_CALLBACK (accel_undo), t, NULL));
  gtk_accel_group_connect (
    accel, GDK_KEY_o, GDK_CONTROL_MASK, 0,
    g_cclosure_new_swap (G_CALLBACK (accel_add_folder), t, NULL));
  gtk_accel_group_connect (
    accel, GDK_KEY_t, GDK_CONTROL_MASK, 0,
    g_cclosure_new_swap (G_CALLBACK (accel_train), t, NULL));
  g_object_unref (accel);
}

GtkWidget *
hippo_trainer_window_new (GtkApplication *app, const char *project_path,
                          GError **error)
{
  HippoClassifierParams params;
  HippoClassifier *c;
  HippoProject *project;
  HippoTrainer *t;
  GtkWidget *header, *paned;

  g_return_val_if_fail (project_path != NULL, NULL);
  hippo_classifier_params_default (&params);
  params.create = TRUE;
  c = hippo_classifier_open (project_path, &params, error);
  if (c == NULL)
    return NULL;
  project
    = hippo_project_open (project_path, HIPPO_PROJECT_OPEN_DEFAULT, error);
  if (project == NULL)
    {
      hippo_classifier_free (c);
      return NULL;
    }
  t = g_new0 (HippoTrainer, 1);
  t->ref = 1;
  t->project_path = g_strdup (project_path);
  t->project = project;
  t->worker = hippo_worker_new (c);
  t->classes
    = g_ptr_array_new_with_free_func ((GDestroyNotify) hippo_class_info_free);
  t->items = g_ptr_array_new_with_free_func (item_free);
  t->by_path = g_hash_table_new (g_str_hash, g_str_equal);
  t->stored = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  t->undo = hippo_trainer_undo_new ();
  t->filter = g_strdup ("all");
  hippo_trainer_load_stored_labels (t);

  t->window = app ? gtk_application_window_new (app)
                  : gtk_window_new (GTK_WINDOW_TOPLEVEL);
  g_object_set_data (G_OBJECT (t->window), "hippo-trainer", t);
  gtk_window_set_default_size (GTK_WINDOW (t->window), 1100, 720);
  header = header_bar (t, project_path);
  gtk_window_set_titlebar (GTK_WINDOW (t->window), header);
  paned = gtk_paned_new (GTK_ORIENTATION_HORIZONTAL);
  gtk_paned_pack1 (GTK_PANED (paned), hippo_trainer_classes_panel_new (t),
                   FALSE, FALSE);
  gtk_paned_pack2 (GTK_PANED (paned), images_pane (t), TRUE, FALSE);
  gtk_container_add (GTK_CONTAINER (t->window), paned);
  add_accelerators (t);

  hippo_trainer_filter_init (t);
  hippo_trainer_reload_classes (t);
  {
    HippoHeadRecord *head = hippo_project_load_head (t->project, NULL);
    if (head && head->metrics_json)
      {
        t->metrics_json = g_strdup (head->metrics_json);
        hippo_metrics_view_set_json (t->metrics, t->metrics_json);
      }
    hippo_head_record_free (head);
  }
  g_signal_connect (t->window, "destroy", G_CALLBACK (on_destroy), t);
  gtk_widget_show_all (header);
  gtk_widget_show_all (paned);
  gtk_widget_grab_focus (hippo_thumb_grid_get_area (t->grid));
  return t->window;
}
