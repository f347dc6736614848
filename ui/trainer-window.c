/* Hippotag trainer — the window: classes, grid, labelling, training. */
#include "metrics-view.h"
#include "trainer-private.h"

#include <math.h>
#include <string.h>

#define UNDO_MAX 500
#define POST_BATCH 64

typedef struct
{
  GPtrArray *items; /* borrowed */
  GArray *previous; /* gint64 class ids */
} UndoEntry;

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

static void
undo_entry_clear (gpointer data)
{
  UndoEntry *u = data;

  g_ptr_array_unref (u->items);
  g_array_unref (u->previous);
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

static void
post (HippoTrainer *t, GSourceFunc func, gpointer data, GDestroyNotify destroy)
{
  Post *p = g_new0 (Post, 1);

  p->t = hippo_trainer_ref (t);
  p->func = func;
  p->data = data;
  p->destroy = destroy;
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, post_run, p, post_free);
}

/* ------------------------------------------------------------ status */

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

static void post_error (HippoTrainer *t, const char *fmt, ...)
  G_GNUC_PRINTF (2, 3);

static void
post_error (HippoTrainer *t, const char *fmt, ...)
{
  Message *m = g_new0 (Message, 1);
  va_list ap;

  va_start (ap, fmt);
  m->t = t;
  m->message = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  post (t, show_error, m, message_free);
}

/* ------------------------------------------------------------ classes */

const HippoClassInfo *
hippo_trainer_lookup_class (HippoTrainer *t, gint64 id)
{
  for (guint i = 0; i < t->classes->len; i++)
    {
      HippoClassInfo *c = t->classes->pdata[i];
      if (c->id == id)
        return c;
    }
  return NULL;
}

static gint64
class_id_by_name (HippoTrainer *t, const char *name)
{
  for (guint i = 0; name && i < t->classes->len; i++)
    {
      HippoClassInfo *c = t->classes->pdata[i];
      if (strcmp (c->name, name) == 0)
        return c->id;
    }
  return 0;
}

static gboolean
lookup_for_grid (gint64 id, GdkRGBA *colour, const char **name,
                 gpointer user_data)
{
  const HippoClassInfo *c = hippo_trainer_lookup_class (user_data, id);

  if (c == NULL || !gdk_rgba_parse (colour, c->colour))
    return FALSE;
  *name = c->name;
  return TRUE;
}

static void refresh_filter_combo (HippoTrainer *t);
static void refilter (HippoTrainer *t);

static void
on_colour_set (GtkColorButton *button, HippoTrainer *t)
{
  gint64 id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (button), "id"));
  const HippoClassInfo *c = hippo_trainer_lookup_class (t, id);
  g_autoptr (GError) error = NULL;
  GdkRGBA rgba;
  char hex[8];

  if (c == NULL)
    return;
  gtk_color_chooser_get_rgba (GTK_COLOR_CHOOSER (button), &rgba);
  g_snprintf (hex, sizeof hex, "#%02x%02x%02x", (int) lround (rgba.red * 255),
              (int) lround (rgba.green * 255), (int) lround (rgba.blue * 255));
  if (!hippo_project_set_class_colour (t->project, c->name, hex, &error))
    hippo_trainer_set_status (t, error->message);
  hippo_trainer_ref (t);
  refresh_filter_combo (t); /* reloads the classes */
  hippo_thumb_grid_redraw (t->grid);
  hippo_trainer_unref (t);
}

static void
rebuild_class_list (HippoTrainer *t)
{
  GList *rows = gtk_container_get_children (GTK_CONTAINER (t->class_list));

  for (GList *l = rows; l; l = l->next)
    gtk_widget_destroy (l->data);
  g_list_free (rows);
  for (guint i = 0; i < t->classes->len; i++)
    {
      HippoClassInfo *c = t->classes->pdata[i];
      GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      GtkWidget *key, *swatch, *name, *count;
      g_autofree char *key_text
        = i < 9 ? g_strdup_printf ("<b>%u</b>", i + 1) : g_strdup ("");
      g_autofree char *count_text = g_strdup_printf ("%u", c->n_examples);
      g_autofree char *tip = g_strdup_printf (
        "%s: %u examples%s", c->name, c->n_examples,
        i < 9 ? "; press its number to label the selected images" : "");
      GdkRGBA rgba;

      key = gtk_label_new (NULL);
      gtk_label_set_markup (GTK_LABEL (key), key_text);
      gtk_widget_set_size_request (key, 14, -1);
      gdk_rgba_parse (&rgba, c->colour);
      swatch = gtk_color_button_new_with_rgba (&rgba);
      gtk_widget_set_tooltip_text (swatch, "Change the class's colour");
      g_object_set_data (G_OBJECT (swatch), "id", GSIZE_TO_POINTER (c->id));
      g_signal_connect (swatch, "color-set", G_CALLBACK (on_colour_set), t);
      name = gtk_label_new (c->name);
      gtk_label_set_xalign (GTK_LABEL (name), 0);
      gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
      gtk_widget_set_hexpand (name, TRUE);
      count = gtk_label_new (count_text);
      gtk_box_pack_start (GTK_BOX (row), key, FALSE, FALSE, 0);
      gtk_box_pack_start (GTK_BOX (row), swatch, FALSE, FALSE, 0);
      gtk_box_pack_start (GTK_BOX (row), name, TRUE, TRUE, 0);
      gtk_box_pack_start (GTK_BOX (row), count, FALSE, FALSE, 0);
      gtk_widget_set_tooltip_text (row, tip);
      g_object_set_data (G_OBJECT (row), "id", GSIZE_TO_POINTER (c->id));
      gtk_list_box_insert (GTK_LIST_BOX (t->class_list), row, -1);
    }
  gtk_widget_show_all (t->class_list);
}

/* Reloads the classes from the project and rebuilds what shows them. */
static void
reload_classes (HippoTrainer *t)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *classes = hippo_project_list_classes (t->project, &error);

  if (classes == NULL)
    {
      hippo_trainer_set_status (t, error->message);
      return;
    }
  g_ptr_array_unref (t->classes);
  t->classes = classes;
  rebuild_class_list (t);
}

static void
refresh_filter_combo (HippoTrainer *t)
{
  GtkComboBoxText *combo = GTK_COMBO_BOX_TEXT (t->filter_combo);
  g_autofree char *keep = g_strdup (t->filter);

  reload_classes (t);
  g_signal_handlers_block_matched (combo, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL,
                                   t);
  gtk_combo_box_text_remove_all (combo);
  gtk_combo_box_text_append (combo, "all", "All images");
  gtk_combo_box_text_append (combo, "unlabelled", "Unlabelled");
  gtk_combo_box_text_append (combo, "uncertain", "Most uncertain first");
  gtk_combo_box_text_append (combo, "mistakes",
                             "Mistakes (label ≠ prediction)");
  for (guint i = 0; i < t->classes->len; i++)
    {
      HippoClassInfo *c = t->classes->pdata[i];
      g_autofree char *id = g_strdup_printf ("class:%" G_GINT64_FORMAT, c->id);
      g_autofree char *text = g_strdup_printf ("Labelled %s", c->name);
      gtk_combo_box_text_append (combo, id, text);
    }
  if (g_str_has_prefix (keep, "cell:"))
    gtk_combo_box_text_append (combo, keep, "Confusion cell");
  if (!gtk_combo_box_set_active_id (GTK_COMBO_BOX (combo), keep))
    {
      g_free (t->filter);
      t->filter = g_strdup ("all");
      gtk_combo_box_set_active_id (GTK_COMBO_BOX (combo), "all");
    }
  g_signal_handlers_unblock_matched (combo, G_SIGNAL_MATCH_DATA, 0, 0, NULL,
                                     NULL, t);
}

gboolean
hippo_trainer_add_class (HippoTrainer *t, const char *name, GError **error)
{
  if (!hippo_project_add_class (t->project, name, NULL, NULL, error))
    return FALSE;
  refresh_filter_combo (t);
  return TRUE;
}

gboolean
hippo_trainer_rename_class (HippoTrainer *t, gint64 id, const char *name,
                            GError **error)
{
  const HippoClassInfo *c = hippo_trainer_lookup_class (t, id);

  if (c == NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND, "no such class");
      return FALSE;
    }
  if (!hippo_project_rename_class (t->project, c->name, name, error))
    return FALSE;
  refresh_filter_combo (t);
  hippo_thumb_grid_redraw (t->grid);
  return TRUE;
}

gboolean
hippo_trainer_remove_class (HippoTrainer *t, gint64 id, GError **error)
{
  const HippoClassInfo *c = hippo_trainer_lookup_class (t, id);

  if (c == NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND, "no such class");
      return FALSE;
    }
  /* queued label changes may still name it: let them land first */
  if (t->n_label_jobs > 0)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                   "label changes are still being saved; try again in a "
                   "moment");
      return FALSE;
    }
  if (!hippo_project_remove_class (t->project, c->name, TRUE, NULL, error))
    return FALSE;
  for (guint i = 0; i < t->items->len; i++)
    {
      HippoTrainerItem *it = t->items->pdata[i];
      if (it->label_id == id)
        it->label_id = 0;
      if (it->pred_id == id)
        it->pred_id = 0;
    }
  /* undo entries may name the class: drop them */
  g_array_set_size (t->undo, 0);
  refresh_filter_combo (t);
  refilter (t);
  return TRUE;
}

static gint64
selected_class_id (HippoTrainer *t)
{
  GtkListBoxRow *row
    = gtk_list_box_get_selected_row (GTK_LIST_BOX (t->class_list));
  GtkWidget *child = row ? gtk_bin_get_child (GTK_BIN (row)) : NULL;

  return child ? (gint64) GPOINTER_TO_SIZE (
           g_object_get_data (G_OBJECT (child), "id"))
               : 0;
}

/* Name entry in a small non-blocking dialog, for add and rename. */
typedef struct
{
  HippoTrainer *t;
  gint64 id; /* 0: add */
  GtkWidget *entry;
} NameDialog;

static void
on_name_response (GtkDialog *dialog, int response, NameDialog *d)
{
  if (response == GTK_RESPONSE_ACCEPT && !d->t->closed)
    {
      g_autoptr (GError) error = NULL;
      const char *name = gtk_entry_get_text (GTK_ENTRY (d->entry));
      gboolean ok = d->id
                      ? hippo_trainer_rename_class (d->t, d->id, name, &error)
                      : hippo_trainer_add_class (d->t, name, &error);
      if (!ok)
        {
          hippo_trainer_set_status (d->t, error->message);
          return; /* keep the dialog open to fix the name */
        }
    }
  hippo_trainer_unref (d->t);
  g_free (d);
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

static void
name_dialog (HippoTrainer *t, gint64 id)
{
  const HippoClassInfo *c = id ? hippo_trainer_lookup_class (t, id) : NULL;
  NameDialog *d = g_new0 (NameDialog, 1);
  GtkWidget *dialog = gtk_dialog_new_with_buttons (
    c ? "Rename class" : "Add class", GTK_WINDOW (t->window),
    GTK_DIALOG_DESTROY_WITH_PARENT, "_Cancel", GTK_RESPONSE_CANCEL,
    c ? "_Rename" : "_Add", GTK_RESPONSE_ACCEPT, NULL);
  GtkWidget *content = gtk_dialog_get_content_area (GTK_DIALOG (dialog));
  GtkWidget *label = gtk_label_new_with_mnemonic ("Class _name:");

  d->t = hippo_trainer_ref (t);
  d->id = id;
  d->entry = gtk_entry_new ();
  gtk_entry_set_activates_default (GTK_ENTRY (d->entry), TRUE);
  if (c)
    gtk_entry_set_text (GTK_ENTRY (d->entry), c->name);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), d->entry);
  gtk_container_set_border_width (GTK_CONTAINER (content), 12);
  gtk_box_set_spacing (GTK_BOX (content), 6);
  gtk_container_add (GTK_CONTAINER (content), label);
  gtk_container_add (GTK_CONTAINER (content), d->entry);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  g_signal_connect (dialog, "response", G_CALLBACK (on_name_response), d);
  gtk_widget_show_all (dialog);
}

static void
on_add_class (GtkButton *b, HippoTrainer *t)
{
  name_dialog (t, 0);
}

static void
on_rename_class (GtkButton *b, HippoTrainer *t)
{
  gint64 id = selected_class_id (t);

  if (id)
    name_dialog (t, id);
  else
    hippo_trainer_set_status (t, "Select a class to rename first.");
}

static void
on_remove_response (GtkDialog *dialog, int response, HippoTrainer *t)
{
  gint64 id
    = (gint64) GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (dialog), "id"));

  if (response == GTK_RESPONSE_ACCEPT && !t->closed)
    {
      g_autoptr (GError) error = NULL;
      if (!hippo_trainer_remove_class (t, id, &error))
        hippo_trainer_set_status (t, error->message);
    }
  gtk_widget_destroy (GTK_WIDGET (dialog));
  hippo_trainer_unref (t);
}

static void
on_remove_class (GtkButton *b, HippoTrainer *t)
{
  gint64 id = selected_class_id (t);
  const HippoClassInfo *c = hippo_trainer_lookup_class (t, id);
  GtkWidget *dialog;

  if (c == NULL)
    {
      hippo_trainer_set_status (t, "Select a class to delete first.");
      return;
    }
  dialog = gtk_message_dialog_new (
    GTK_WINDOW (t->window), GTK_DIALOG_DESTROY_WITH_PARENT, GTK_MESSAGE_WARNING,
    GTK_BUTTONS_NONE, "Delete the class “%s”?", c->name);
  gtk_message_dialog_format_secondary_text (
    GTK_MESSAGE_DIALOG (dialog),
    "Its %u labelled examples lose their label. This cannot be undone.",
    c->n_examples);
  gtk_dialog_add_buttons (GTK_DIALOG (dialog), "_Keep", GTK_RESPONSE_CANCEL,
                          "_Delete", GTK_RESPONSE_ACCEPT, NULL);
  g_object_set_data (G_OBJECT (dialog), "id", GSIZE_TO_POINTER (id));
  g_signal_connect (dialog, "response", G_CALLBACK (on_remove_response),
                    hippo_trainer_ref (t));
  gtk_widget_show (dialog);
}

/* ------------------------------------------------------------ filtering */

static int
compare_uncertainty (gconstpointer a, gconstpointer b)
{
  const HippoTrainerItem *x = *(HippoTrainerItem *const *) a;
  const HippoTrainerItem *y = *(HippoTrainerItem *const *) b;
  float ux = isnan (x->uncertainty) ? -1 : x->uncertainty;
  float uy = isnan (y->uncertainty) ? -1 : y->uncertainty;

  return ux > uy ? -1 : ux < uy ? 1 : 0;
}

static gboolean
filter_keeps (HippoTrainer *t, HippoTrainerItem *it)
{
  const char *f = t->filter;
  gint64 a, b;

  if (strcmp (f, "unlabelled") == 0 || strcmp (f, "uncertain") == 0)
    return it->label_id == 0;
  if (strcmp (f, "mistakes") == 0)
    return it->label_id && it->pred_id && it->label_id != it->pred_id;
  if (sscanf (f, "class:%" G_GINT64_FORMAT, &a) == 1)
    return it->label_id == a;
  if (sscanf (f, "cell:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT, &a, &b) == 2)
    return it->label_id == a && it->pred_id == b;
  return TRUE;
}

static void
refilter (HippoTrainer *t)
{
  g_autoptr (GPtrArray) view = g_ptr_array_new ();

  for (guint i = 0; i < t->items->len; i++)
    if (filter_keeps (t, t->items->pdata[i]))
      g_ptr_array_add (view, t->items->pdata[i]);
  if (strcmp (t->filter, "uncertain") == 0)
    g_ptr_array_sort (view, compare_uncertainty); /* stable */
  hippo_thumb_grid_set_items (t->grid, view);
}

void
hippo_trainer_set_filter (HippoTrainer *t, const char *filter)
{
  if (!gtk_combo_box_set_active_id (GTK_COMBO_BOX (t->filter_combo), filter))
    {
      /* a confusion cell: a temporary entry */
      gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (t->filter_combo), filter,
                                 "Confusion cell");
      gtk_combo_box_set_active_id (GTK_COMBO_BOX (t->filter_combo), filter);
    }
}

static void
on_filter_changed (GtkComboBox *combo, HippoTrainer *t)
{
  const char *id = gtk_combo_box_get_active_id (combo);

  if (id == NULL)
    return;
  g_free (t->filter);
  t->filter = g_strdup (id);
  refilter (t);
  if (hippo_thumb_grid_get_n_items (t->grid) > 0 || t->items->len == 0)
    return;
  if (g_str_has_prefix (id, "cell:"))
    hippo_trainer_set_status (
      t, "No image has this label and this prediction now: the matrix counts "
         "cross-validation, the grid shows the classifier trained on all "
         "labels.");
  else if (strcmp (id, "all") != 0)
    hippo_trainer_set_status (t, "No image matches this filter.");
}

static void
on_cell (guint i, guint j, gpointer user_data)
{
  HippoTrainer *t = user_data;
  gint64 a
    = class_id_by_name (t, hippo_metrics_view_get_class_name (t->metrics, i));
  gint64 b
    = class_id_by_name (t, hippo_metrics_view_get_class_name (t->metrics, j));
  g_autofree char *f = NULL;

  if (!a || !b)
    return;
  f = g_strdup_printf ("cell:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT, a, b);
  hippo_trainer_set_filter (t, f);
  gtk_stack_set_visible_child_name (GTK_STACK (t->stack), "images");
}

/* ------------------------------------------------------------ labelling */

typedef struct
{
  HippoTrainer *t;
  char *class_name;  /* NULL: unlabel */
  GPtrArray *paths;  /* char * */
  GPtrArray *images; /* HippoTrainerItem * without a file (borrowed) */
} LabelJob;

static void
label_job_free (gpointer data)
{
  LabelJob *j = data;

  g_free (j->class_name);
  g_ptr_array_unref (j->paths);
  g_ptr_array_unref (j->images);
  hippo_trainer_unref (j->t);
  g_free (j);
}

static gboolean
on_label_failed (guint index, const char *path, const HippoPrediction *p,
                 const GError *error, gpointer user_data)
{
  LabelJob *j = user_data;

  if (error)
    post_error (j->t, "%s", error->message);
  return TRUE;
}

static gboolean
label_job_done (gpointer data)
{
  HippoTrainer *t = data;

  t->n_label_jobs--;
  reload_classes (t);
  return G_SOURCE_REMOVE;
}

static void
run_label_job (HippoWorker *w, HippoClassifier *c, gpointer data)
{
  LabelJob *j = data;
  HippoProject *project = hippo_classifier_get_project (c);
  g_autoptr (GError) error = NULL;

  if (j->class_name == NULL)
    {
      for (guint i = 0; i < j->paths->len; i++)
        if (!hippo_project_remove_examples_by_path (project, j->paths->pdata[i],
                                                    NULL, NULL, &error))
          {
            post_error (j->t, "%s", error->message);
            g_clear_error (&error);
          }
      for (guint i = 0; i < j->images->len; i++)
        {
          HippoTrainerItem *it = j->images->pdata[i];
          if (!hippo_project_remove_examples_by_hash (project, it->hash, NULL,
                                                      NULL, &error))
            {
              post_error (j->t, "%s", error->message);
              g_clear_error (&error);
            }
        }
    }
  else
    {
      if (j->paths->len
          && !hippo_classifier_label_files (
            c, j->class_name, (const char *const *) j->paths->pdata,
            j->paths->len, on_label_failed, j, &error))
        {
          post_error (j->t, "%s", error->message);
          g_clear_error (&error);
        }
      for (guint i = 0; i < j->images->len; i++)
        {
          HippoTrainerItem *it = j->images->pdata[i];
          if (!hippo_classifier_label_image (c, j->class_name, it->image, NULL,
                                             &error))
            {
              post_error (j->t, "%s", error->message);
              g_clear_error (&error);
            }
        }
    }
  post (j->t, label_job_done, j->t, NULL);
}

/* Sets the items' labels (0: none), saving them in the background in the
 * order the changes were made. */
static void
set_labels (HippoTrainer *t, GPtrArray *items, const gint64 *ids)
{
  g_autoptr (GHashTable) groups
    = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer key, value;

  for (guint i = 0; i < items->len; i++)
    {
      HippoTrainerItem *it = items->pdata[i];
      LabelJob *j = g_hash_table_lookup (groups, &ids[i]);
      if (j == NULL)
        {
          const HippoClassInfo *c = hippo_trainer_lookup_class (t, ids[i]);
          if (ids[i] && c == NULL)
            continue;
          j = g_new0 (LabelJob, 1);
          j->t = hippo_trainer_ref (t);
          j->class_name = c ? g_strdup (c->name) : NULL;
          j->paths = g_ptr_array_new_with_free_func (g_free);
          j->images = g_ptr_array_new ();
          g_hash_table_insert (groups, g_memdup2 (&ids[i], sizeof (gint64)), j);
        }
      it->label_id = ids[i];
      if (it->path)
        {
          g_ptr_array_add (j->paths, g_strdup (it->path));
          if (ids[i])
            g_hash_table_insert (t->stored, g_strdup (it->path),
                                 g_memdup2 (&ids[i], sizeof (gint64)));
          else
            g_hash_table_remove (t->stored, it->path);
        }
      else
        g_ptr_array_add (j->images, it);
    }
  /* unlabel first, so an image moved between classes is never lost */
  for (int pass = 0; pass < 2; pass++)
    {
      g_hash_table_iter_init (&iter, groups);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          LabelJob *j = value;
          if ((pass == 0) != (j->class_name == NULL))
            continue;
          t->n_label_jobs++;
          hippo_worker_push (t->worker, run_label_job, j, label_job_free,
                             FALSE);
        }
    }
  hippo_thumb_grid_redraw (t->grid);
}

void
hippo_trainer_label_selection (HippoTrainer *t, guint n)
{
  g_autoptr (GPtrArray) items = hippo_thumb_grid_get_selected (t->grid);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  UndoEntry u;
  gint64 id = 0;
  int cursor = hippo_thumb_grid_get_cursor (t->grid);
  HippoTrainerItem *next = NULL;

  if (items->len == 0)
    return;
  if (n > 0)
    {
      if (n > t->classes->len)
        {
          hippo_trainer_set_status (t, "No class with that number: add a "
                                       "class first.");
          return;
        }
      id = ((HippoClassInfo *) t->classes->pdata[n - 1])->id;
      gtk_list_box_select_row (
        GTK_LIST_BOX (t->class_list),
        gtk_list_box_get_row_at_index (GTK_LIST_BOX (t->class_list), n - 1));
    }
  u.items = g_ptr_array_ref (items);
  u.previous = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < items->len; i++)
    {
      HippoTrainerItem *it = items->pdata[i];
      g_array_append_val (u.previous, it->label_id);
      g_array_append_val (ids, id);
    }
  g_array_append_val (t->undo, u);
  if (t->undo->len > UNDO_MAX)
    g_array_remove_index (t->undo, 0);
  /* the image after the last labelled one */
  {
    HippoTrainerItem *last = items->pdata[items->len - 1];
    for (guint i = 0; i + 1 < hippo_thumb_grid_get_n_items (t->grid); i++)
      if (hippo_thumb_grid_get_item (t->grid, i) == last)
        {
          next = hippo_thumb_grid_get_item (t->grid, i + 1);
          break;
        }
  }
  set_labels (t, items, (const gint64 *) ids->data);
  if (strcmp (t->filter, "all") != 0)
    refilter (t);
  /* advance: to the next image, or (filtered away) keep the position */
  for (guint i = 0; next && i < hippo_thumb_grid_get_n_items (t->grid); i++)
    if (hippo_thumb_grid_get_item (t->grid, i) == next)
      {
        cursor = i;
        next = NULL;
        break;
      }
  if (cursor >= 0)
    hippo_thumb_grid_set_cursor (t->grid, cursor, FALSE);
}

gboolean
hippo_trainer_undo (HippoTrainer *t)
{
  UndoEntry u;

  if (t->undo->len == 0)
    {
      hippo_trainer_set_status (t, "Nothing to undo.");
      return FALSE;
    }
  u = g_array_index (t->undo, UndoEntry, t->undo->len - 1);
  /* take it out without clearing it */
  g_array_set_clear_func (t->undo, NULL);
  g_array_set_size (t->undo, t->undo->len - 1);
  g_array_set_clear_func (t->undo, undo_entry_clear);
  set_labels (t, u.items, (const gint64 *) u.previous->data);
  refilter (t);
  hippo_trainer_set_status (t, "Undone.");
  undo_entry_clear (&u);
  return TRUE;
}

/* ------------------------------------------------------------ adding */

static void
add_item (HippoTrainer *t, char *path, char *name, HippoImage *image)
{
  HippoTrainerItem *it;
  gint64 *stored;

  if (path && g_hash_table_contains (t->by_path, path))
    {
      g_free (path);
      g_free (name);
      hippo_image_free (image);
      return;
    }
  it = g_new0 (HippoTrainerItem, 1);
  it->path = path;
  it->name = name ? name : g_filename_display_basename (path);
  it->image = image;
  it->uncertainty = NAN;
  stored = path ? g_hash_table_lookup (t->stored, path) : NULL;
  it->label_id = stored ? *stored : 0;
  g_ptr_array_add (t->items, it);
  if (path)
    g_hash_table_insert (t->by_path, path, it);
}

static gboolean
is_image_name (const char *name)
{
  static const char *const ext[] = { ".png", ".jpg", ".jpeg", ".webp", ".gif",
                                     ".bmp", ".tif", ".tiff", ".ppm",  NULL };
  g_autofree char *lower = g_ascii_strdown (name, -1);

  if (name[0] == '.')
    return FALSE;
  for (guint i = 0; ext[i]; i++)
    if (g_str_has_suffix (lower, ext[i]))
      return TRUE;
  return FALSE;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Recursive, sorted, symlinked folders not followed (no loops). */
static void
scan (const char *dir, GPtrArray *out, guint depth, GCancellable *cancel)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (d == NULL || depth > 64)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len && !g_cancellable_is_cancelled (cancel); i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      if (g_file_test (path, G_FILE_TEST_IS_SYMLINK)
          && g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (((const char *) names->pdata[i])[0] != '.')
            scan (path, out, depth + 1, cancel);
        }
      else if (is_image_name (names->pdata[i]))
        g_ptr_array_add (out, g_steal_pointer (&path));
    }
}

static void
scan_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
  char **paths = data;
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; paths[i]; i++)
    {
      g_autofree char *abs = g_canonicalize_filename (paths[i], NULL);
      if (g_file_test (abs, G_FILE_TEST_IS_DIR))
        scan (abs, out, 0, cancel);
      else if (g_file_test (abs, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (out, g_steal_pointer (&abs));
    }
  g_task_return_pointer (task, out, (GDestroyNotify) g_ptr_array_unref);
}

static void
scan_done (GObject *source, GAsyncResult *res, gpointer data)
{
  HippoTrainer *t = data;
  g_autoptr (GPtrArray) paths = g_task_propagate_pointer (G_TASK (res), NULL);
  guint before = t->items->len;

  t->n_scans--;
  if (!t->closed && paths)
    {
      for (guint i = 0; i < paths->len; i++)
        add_item (t, g_steal_pointer (&paths->pdata[i]), NULL, NULL);
      refilter (t);
      if (hippo_thumb_grid_get_cursor (t->grid) < 0
          && hippo_thumb_grid_get_n_items (t->grid) > 0)
        hippo_thumb_grid_set_cursor (t->grid, 0, FALSE);
      {
        g_autofree char *msg
          = g_strdup_printf ("%u images added (%u in all).",
                             t->items->len - before, t->items->len);
        hippo_trainer_set_status (t, msg);
      }
    }
  hippo_trainer_unref (t);
}

void
hippo_trainer_add_files (GtkWidget *window, const char *const *paths,
                         guint n_paths)
{
  HippoTrainer *t = hippo_trainer_from_window (window);
  GTask *task;
  char **copy;

  g_return_if_fail (t != NULL);
  copy = g_new0 (char *, n_paths + 1);
  for (guint i = 0; i < n_paths; i++)
    copy[i] = g_strdup (paths[i]);
  t->n_scans++;
  task = g_task_new (NULL, NULL, scan_done, hippo_trainer_ref (t));
  g_task_set_task_data (task, copy, (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, scan_thread);
  g_object_unref (task);
}

/* Must match image_hash() of core/classifier.c: labels of images without
 * a file are stored under it. */
static char *
pixel_hash (const HippoImage *image)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint32 wh[2] = { GUINT32_TO_LE (hippo_image_get_width (image)),
                    GUINT32_TO_LE (hippo_image_get_height (image)) };
  char *hex;

  g_checksum_update (sum, (const guchar *) "hippotag-rgb8", -1);
  g_checksum_update (sum, (const guchar *) wh, sizeof wh);
  g_checksum_update (sum, hippo_image_get_pixels (image),
                     (gssize) hippo_image_get_width (image) * 3
                       * hippo_image_get_height (image));
  hex = g_strdup (g_checksum_get_string (sum));
  g_checksum_free (sum);
  return hex;
}

void
hippo_trainer_add_image (GtkWidget *window, const char *name, const char *path,
                         const HippoImage *image)
{
  HippoTrainer *t = hippo_trainer_from_window (window);
  HippoImage *copy;
  g_autoptr (GError) error = NULL;

  g_return_if_fail (t != NULL && image != NULL);
  if (path)
    {
      add_item (t, g_canonicalize_filename (path, NULL), g_strdup (name), NULL);
      refilter (t);
      return;
    }
  copy = hippo_image_new_from_data (
    hippo_image_get_pixels (image), hippo_image_get_width (image),
    hippo_image_get_height (image), hippo_image_get_width (image) * 3, 3,
    &error);
  if (copy == NULL)
    {
      hippo_trainer_set_status (t, error->message);
      return;
    }
  add_item (t, NULL, g_strdup (name), copy);
  ((HippoTrainerItem *) t->items->pdata[t->items->len - 1])->hash
    = pixel_hash (copy);
  {
    /* its stored label, by pixel hash */
    HippoTrainerItem *it = t->items->pdata[t->items->len - 1];
    g_autoptr (GPtrArray) ex
      = hippo_project_find_examples_by_hash (t->project, it->hash, NULL);
    if (ex && ex->len)
      it->label_id = ((HippoExample *) ex->pdata[0])->class_id;
  }
  refilter (t);
}

/* ------------------------------------------------------------ training */

typedef struct
{
  HippoTrainerItem *item;
  char *label;
  float confidence;
  float uncertainty;
} Result;

typedef struct
{
  HippoTrainer *t;
  GPtrArray *items; /* borrowed */
  GPtrArray *paths; /* char *, NULL for images without a file */
  GArray *batch;    /* Result */
  gboolean multi_label;
  guint done;
  gint64 last_post;
} TrainJob;

typedef struct
{
  HippoTrainer *t;
  double fraction;
  char *text;
} Progress;

static void
progress_free (gpointer data)
{
  Progress *p = data;

  g_free (p->text);
  g_free (p);
}

static gboolean
show_progress (gpointer data)
{
  Progress *p = data;

  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (p->t->progress),
                                 p->fraction);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (p->t->progress), p->text);
  return G_SOURCE_REMOVE;
}

static void
post_progress (HippoTrainer *t, double fraction, const char *text)
{
  Progress *p = g_new0 (Progress, 1);

  p->t = t;
  p->fraction = fraction;
  p->text = g_strdup (text);
  post (t, show_progress, p, progress_free);
}

static void
train_job_free (gpointer data)
{
  TrainJob *j = data;

  g_ptr_array_unref (j->items);
  g_ptr_array_unref (j->paths);
  g_array_unref (j->batch);
  hippo_trainer_unref (j->t);
  g_free (j);
}

typedef struct
{
  HippoTrainer *t;
  GArray *results;
} ResultBatch;

static void
result_batch_free (gpointer data)
{
  ResultBatch *b = data;

  for (guint i = 0; i < b->results->len; i++)
    g_free (g_array_index (b->results, Result, i).label);
  g_array_unref (b->results);
  g_free (b);
}

static gboolean
apply_results (gpointer data)
{
  ResultBatch *b = data;

  for (guint i = 0; i < b->results->len; i++)
    {
      Result *r = &g_array_index (b->results, Result, i);
      r->item->pred_id = class_id_by_name (b->t, r->label);
      r->item->confidence = r->confidence;
      r->item->uncertainty = r->uncertainty;
    }
  if (strcmp (b->t->filter, "mistakes") == 0
      || g_str_has_prefix (b->t->filter, "cell:"))
    refilter (b->t);
  hippo_thumb_grid_redraw (b->t->grid);
  return G_SOURCE_REMOVE;
}

static void
flush_results (TrainJob *j)
{
  ResultBatch *b;

  if (j->batch->len == 0)
    return;
  b = g_new0 (ResultBatch, 1);
  b->t = j->t;
  b->results = j->batch;
  j->batch = g_array_new (FALSE, FALSE, sizeof (Result));
  post (j->t, apply_results, b, result_batch_free);
}

static void
add_result (TrainJob *j, HippoTrainerItem *it, const HippoPrediction *p)
{
  Result r = { it, g_strdup (p->label), p->confidence, NAN };

  if (p->n_classes > 0)
    hippo_head_uncertainty (p->scores, 1, p->n_classes, j->multi_label,
                            &r.uncertainty);
  g_array_append_val (j->batch, r);
}

static gboolean
on_classified (guint index, const char *path, const HippoPrediction *p,
               const GError *error, gpointer user_data)
{
  TrainJob *j = user_data;
  gint64 now = g_get_monotonic_time ();
  char text[64];

  j->done++;
  if (p)
    add_result (j, j->items->pdata[index], p);
  if (j->batch->len >= POST_BATCH || now - j->last_post > 250000)
    {
      flush_results (j);
      g_snprintf (text, sizeof text, "Classifying %u of %u", j->done,
                  j->items->len);
      post_progress (j->t, (double) j->done / MAX (1, j->items->len), text);
      j->last_post = now;
    }
  return !hippo_worker_is_cancelled (j->t->worker);
}

static gboolean
on_train_progress (guint64 done, guint64 total, gpointer user_data)
{
  TrainJob *j = user_data;
  gint64 now = g_get_monotonic_time ();

  if (now - j->last_post > 100000)
    {
      post_progress (j->t, total ? (double) done / total : 0, "Training");
      j->last_post = now;
    }
  return !hippo_worker_is_cancelled (j->t->worker);
}

typedef struct
{
  HippoTrainer *t;
  char *json; /* NULL: failed or cancelled */
  char *message;
  gboolean classify_phase;
} TrainDone;

static void
train_done_free (gpointer data)
{
  TrainDone *d = data;

  g_free (d->json);
  g_free (d->message);
  g_free (d);
}

static gboolean
train_finished (gpointer data)
{
  TrainDone *d = data;
  HippoTrainer *t = d->t;

  if (d->json)
    {
      g_free (t->metrics_json);
      t->metrics_json = g_strdup (d->json);
      hippo_metrics_view_set_json (t->metrics, t->metrics_json);
    }
  if (!d->classify_phase && d->json)
    return G_SOURCE_REMOVE; /* classification follows */
  t->busy_train = FALSE;
  gtk_widget_set_sensitive (t->train_button, TRUE);
  gtk_widget_set_sensitive (t->cancel_button, FALSE);
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (t->progress),
                                 d->message ? 0 : 1);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (t->progress),
                             d->message ? "Stopped" : "Done");
  hippo_trainer_set_status (t, d->message ? d->message
                                          : "Trained; predictions shown "
                                            "under each image.");
  if (d->message)
    {
      g_free (t->last_error);
      t->last_error = g_strdup (d->message);
    }
  refilter (t);
  return G_SOURCE_REMOVE;
}

static void
post_train_done (TrainJob *j, char *json, const char *message,
                 gboolean classify_phase)
{
  TrainDone *d = g_new0 (TrainDone, 1);

  d->t = j->t;
  d->json = json;
  d->message = g_strdup (message);
  d->classify_phase = classify_phase;
  post (j->t, train_finished, d, train_done_free);
}

static void
run_train_job (HippoWorker *w, HippoClassifier *c, gpointer data)
{
  TrainJob *j = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  g_autoptr (GArray) index = g_array_new (FALSE, FALSE, sizeof (guint));
  char *json;

  json = hippo_classifier_train (c, 0, on_train_progress, j, &error);
  if (json == NULL)
    {
      post_train_done (j, NULL, error->message, FALSE);
      return;
    }
  post_train_done (j, json, NULL, FALSE);
  j->multi_label
    = hippo_project_get_multi_label (hippo_classifier_get_project (c), NULL);
  /* images without a file first (few), then the files in one call */
  for (guint i = 0; i < j->items->len; i++)
    {
      HippoTrainerItem *it = j->items->pdata[i];
      HippoPrediction p;
      if (it->path)
        continue;
      if (hippo_classifier_classify_image (c, it->image, &p, NULL))
        {
          add_result (j, it, &p);
          hippo_prediction_clear (&p);
        }
    }
  flush_results (j);
  {
    /* classify_files reports by index into the files: remap */
    g_autoptr (GPtrArray) file_items = g_ptr_array_new ();
    for (guint i = 0; i < j->items->len; i++)
      {
        HippoTrainerItem *it = j->items->pdata[i];
        if (it->path)
          {
            g_ptr_array_add (paths, j->paths->pdata[i]);
            g_ptr_array_add (file_items, it);
          }
      }
    g_ptr_array_unref (j->items);
    j->items = g_ptr_array_ref (file_items);
  }
  if (paths->len
      && !hippo_classifier_classify_files (
        c, (const char *const *) paths->pdata, paths->len, on_classified, j,
        &error))
    {
      flush_results (j);
      post_train_done (j, NULL, error->message, TRUE);
      return;
    }
  flush_results (j);
  post_train_done (j, NULL, NULL, TRUE);
}

void
hippo_trainer_train (HippoTrainer *t)
{
  TrainJob *j;

  if (t->busy_train)
    return;
  j = g_new0 (TrainJob, 1);
  j->t = hippo_trainer_ref (t);
  j->items = g_ptr_array_new ();
  j->paths = g_ptr_array_new_with_free_func (g_free);
  j->batch = g_array_new (FALSE, FALSE, sizeof (Result));
  for (guint i = 0; i < t->items->len; i++)
    {
      HippoTrainerItem *it = t->items->pdata[i];
      g_ptr_array_add (j->items, it);
      g_ptr_array_add (j->paths, g_strdup (it->path));
    }
  t->busy_train = TRUE;
  gtk_widget_set_sensitive (t->train_button, FALSE);
  gtk_widget_set_sensitive (t->cancel_button, TRUE);
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (t->progress), 0);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (t->progress), "Training");
  hippo_trainer_set_status (t, "Training…");
  hippo_worker_push (t->worker, run_train_job, j, train_job_free, TRUE);
}

void
hippo_trainer_cancel (HippoTrainer *t)
{
  hippo_worker_cancel (t->worker);
  hippo_trainer_set_status (t, "Stopping…");
}

gboolean
hippo_trainer_is_busy (HippoTrainer *t)
{
  return t->n_scans > 0 || t->n_label_jobs > 0 || t->busy_train || t->busy_apply
         || hippo_worker_get_pending (t->worker) > 0;
}

/* ------------------------------------------------------------ large view */

static void
large_loaded (GObject *source, GAsyncResult *res, gpointer data)
{
  GtkWidget *image = data;
  g_autoptr (GdkPixbuf) pixbuf = g_task_propagate_pointer (G_TASK (res), NULL);

  if (pixbuf && gtk_widget_get_parent (image))
    gtk_image_set_from_pixbuf (GTK_IMAGE (image), pixbuf);
  g_object_unref (image);
}

static void
large_thread (GTask *task, gpointer source, gpointer data, GCancellable *c)
{
  GdkPixbuf *p = gdk_pixbuf_new_from_file_at_scale (data, 900, 700, TRUE, NULL);
  g_task_return_pointer (task, p, g_object_unref);
}

void
hippo_trainer_show_large (HippoTrainer *t)
{
  int cursor = hippo_thumb_grid_get_cursor (t->grid);
  HippoTrainerItem *it
    = cursor >= 0 ? hippo_thumb_grid_get_item (t->grid, cursor) : NULL;
  GtkWidget *image;

  if (it == NULL)
    return;
  if (t->large)
    gtk_widget_destroy (t->large);
  t->large = gtk_popover_new (hippo_thumb_grid_get_area (t->grid));
  g_object_add_weak_pointer (G_OBJECT (t->large), (gpointer *) &t->large);
  image = gtk_image_new_from_icon_name ("image-loading", GTK_ICON_SIZE_DIALOG);
  gtk_widget_set_size_request (image, 300, 300);
  gtk_container_add (GTK_CONTAINER (t->large), image);
  if (it->path)
    {
      GTask *task = g_task_new (NULL, NULL, large_loaded, g_object_ref (image));
      g_task_set_task_data (task, g_strdup (it->path), g_free);
      g_task_run_in_thread (task, large_thread);
      g_object_unref (task);
    }
  else if (it->thumb)
    gtk_image_set_from_pixbuf (GTK_IMAGE (image), it->thumb);
  gtk_widget_show_all (t->large);
  gtk_popover_popup (GTK_POPOVER (t->large));
}

/* ------------------------------------------------------------ window */

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

static void
on_drop (GtkWidget *w, GdkDragContext *ctx, int x, int y,
         GtkSelectionData *data, guint info, guint time, HippoTrainer *t)
{
  g_auto (GStrv) uris = gtk_selection_data_get_uris (data);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; uris && uris[i]; i++)
    {
      char *p = g_filename_from_uri (uris[i], NULL, NULL);
      if (p)
        g_ptr_array_add (paths, p);
    }
  if (paths->len)
    hippo_trainer_add_files (t->window, (const char *const *) paths->pdata,
                             paths->len);
  gtk_drag_finish (ctx, paths->len > 0, FALSE, time);
}

static void
on_folder_response (GtkNativeDialog *dialog, int response, HippoTrainer *t)
{
  if (response == GTK_RESPONSE_ACCEPT && !t->closed)
    {
      g_autofree char *dir
        = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (dialog));
      if (dir)
        hippo_trainer_add_files (t->window, (const char *const *) &dir, 1);
    }
  g_object_unref (dialog);
  hippo_trainer_unref (t);
}

static void
on_add_folder (GtkWidget *w, HippoTrainer *t)
{
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (
    "Add a folder of images", GTK_WINDOW (t->window),
    GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Add", "_Cancel");

  g_signal_connect (dialog, "response", G_CALLBACK (on_folder_response),
                    hippo_trainer_ref (t));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static gboolean
accel_add_folder (HippoTrainer *t)
{
  on_add_folder (NULL, t);
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

static void
load_stored_labels (HippoTrainer *t)
{
  g_autoptr (GPtrArray) ex
    = hippo_project_list_examples (t->project, NULL, NULL);

  for (guint i = 0; ex && i < ex->len; i++)
    {
      HippoExample *e = ex->pdata[i];
      if (e->path)
        g_hash_table_insert (t->stored, g_strdup (e->path),
                             g_memdup2 (&e->class_id, sizeof (gint64)));
    }
}

GtkWidget *
hippo_trainer_window_new (GtkApplication *app, const char *project_path,
                          GError **error)
{
  HippoClassifierParams params;
  HippoClassifier *c;
  HippoProject *project;
  HippoTrainer *t;
  GtkWidget *header, *paned, *left, *scroller, *row, *right, *switcher;
  GtkWidget *area;
  GtkAccelGroup *accel;
  g_autofree char *title = NULL;

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
  t->undo = g_array_new (FALSE, FALSE, sizeof (UndoEntry));
  g_array_set_clear_func (t->undo, undo_entry_clear);
  t->filter = g_strdup ("all");
  load_stored_labels (t);

  t->window = app ? gtk_application_window_new (app)
                  : gtk_window_new (GTK_WINDOW_TOPLEVEL);
  g_object_set_data (G_OBJECT (t->window), "hippo-trainer", t);
  gtk_window_set_default_size (GTK_WINDOW (t->window), 1100, 720);
  header = gtk_header_bar_new ();
  gtk_header_bar_set_show_close_button (GTK_HEADER_BAR (header), TRUE);
  title = g_filename_display_basename (project_path);
  gtk_header_bar_set_title (GTK_HEADER_BAR (header), "Hippotag trainer");
  gtk_header_bar_set_subtitle (GTK_HEADER_BAR (header), title);
  gtk_window_set_titlebar (GTK_WINDOW (t->window), header);
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

  paned = gtk_paned_new (GTK_ORIENTATION_HORIZONTAL);
  /* left: classes */
  left = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_container_set_border_width (GTK_CONTAINER (left), 6);
  {
    GtkWidget *heading = gtk_label_new (NULL);
    gtk_label_set_markup (GTK_LABEL (heading), "<b>Classes</b>");
    gtk_label_set_xalign (GTK_LABEL (heading), 0);
    gtk_box_pack_start (GTK_BOX (left), heading, FALSE, FALSE, 0);
  }
  t->class_list = gtk_list_box_new ();
  gtk_widget_set_tooltip_text (t->class_list,
                               "Press 1–9 on the grid to label the selected "
                               "images with that class");
  scroller = gtk_scrolled_window_new (NULL, NULL);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller),
                                  GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_container_add (GTK_CONTAINER (scroller), t->class_list);
  gtk_box_pack_start (GTK_BOX (left), scroller, TRUE, TRUE, 0);
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
  gtk_box_pack_start (
    GTK_BOX (row), button ("_Add", "Add a class", G_CALLBACK (on_add_class), t),
    TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (row),
                      button ("_Rename", "Rename the selected class",
                              G_CALLBACK (on_rename_class), t),
                      TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (row),
                      button ("_Delete",
                              "Delete the selected class and its "
                              "labels (asks first)",
                              G_CALLBACK (on_remove_class), t),
                      TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (left), row, FALSE, FALSE, 0);
  gtk_widget_set_size_request (left, 230, -1);
  gtk_paned_pack1 (GTK_PANED (paned), left, FALSE, FALSE);

  /* right: filter, stack of grid and metrics, progress */
  right = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  gtk_container_set_border_width (GTK_CONTAINER (right), 6);
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  t->stack = gtk_stack_new ();
  switcher = gtk_stack_switcher_new ();
  gtk_stack_switcher_set_stack (GTK_STACK_SWITCHER (switcher),
                                GTK_STACK (t->stack));
  gtk_box_pack_start (GTK_BOX (row), switcher, FALSE, FALSE, 0);
  {
    GtkWidget *label = gtk_label_new_with_mnemonic ("_Show:");
    t->filter_combo = gtk_combo_box_text_new ();
    gtk_label_set_mnemonic_widget (GTK_LABEL (label), t->filter_combo);
    gtk_widget_set_tooltip_text (t->filter_combo,
                                 "Which images the grid shows");
    gtk_box_pack_end (GTK_BOX (row), t->filter_combo, FALSE, FALSE, 0);
    gtk_box_pack_end (GTK_BOX (row), label, FALSE, FALSE, 0);
  }
  gtk_box_pack_start (GTK_BOX (right), row, FALSE, FALSE, 0);
  t->grid_box = hippo_thumb_grid_new (lookup_for_grid, t);
  t->grid = hippo_thumb_grid_get (t->grid_box);
  area = hippo_thumb_grid_get_area (t->grid);
  g_signal_connect (area, "key-press-event", G_CALLBACK (on_grid_key), t);
  g_signal_connect (area, "button-press-event", G_CALLBACK (on_grid_button), t);
  gtk_drag_dest_set (area, GTK_DEST_DEFAULT_ALL, NULL, 0, GDK_ACTION_COPY);
  gtk_drag_dest_add_uri_targets (area);
  g_signal_connect (area, "drag-data-received", G_CALLBACK (on_drop), t);
  gtk_stack_add_titled (GTK_STACK (t->stack), t->grid_box, "images", "Images");
  t->metrics = hippo_metrics_view_new (on_cell, t);
  {
    GtkWidget *sw = gtk_scrolled_window_new (NULL, NULL);
    gtk_container_set_border_width (GTK_CONTAINER (t->metrics), 8);
    gtk_container_add (GTK_CONTAINER (sw), t->metrics);
    gtk_stack_add_titled (GTK_STACK (t->stack), sw, "metrics", "Metrics");
  }
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
  gtk_paned_pack2 (GTK_PANED (paned), right, TRUE, FALSE);
  gtk_container_add (GTK_CONTAINER (t->window), paned);

  accel = gtk_accel_group_new ();
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

  g_signal_connect (t->filter_combo, "changed", G_CALLBACK (on_filter_changed),
                    t);
  refresh_filter_combo (t);
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
  gtk_widget_grab_focus (area);
  return t->window;
}
