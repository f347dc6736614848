/* Hippotag trainer — the classes panel: one row per class with its key,
 * colour, name and number of examples; add, rename, delete and recolour
 * through small non-blocking dialogs. */
#include "trainer-private.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------ lookups */

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

gint64
hippo_trainer_class_id_by_name (HippoTrainer *t, const char *name)
{
  for (guint i = 0; name && i < t->classes->len; i++)
    {
      HippoClassInfo *c = t->classes->pdata[i];
      if (strcmp (c->name, name) == 0)
        return c->id;
    }
  return 0;
}

gboolean
hippo_trainer_class_style (gint64 id, GdkRGBA *colour, const char **name,
                           gpointer trainer)
{
  const HippoClassInfo *c = hippo_trainer_lookup_class (trainer, id);

  if (c == NULL || !gdk_rgba_parse (colour, c->colour))
    return FALSE;
  *name = c->name;
  return TRUE;
}

static gint64
row_class_id (GtkListBoxRow *row)
{
  GtkWidget *child = row ? gtk_bin_get_child (GTK_BIN (row)) : NULL;

  return child ? (gint64) GPOINTER_TO_SIZE (
           g_object_get_data (G_OBJECT (child), "id"))
               : 0;
}

gint64
hippo_trainer_get_selected_class (HippoTrainer *t)
{
  return row_class_id (
    gtk_list_box_get_selected_row (GTK_LIST_BOX (t->class_list)));
}

void
hippo_trainer_select_class (HippoTrainer *t, gint64 id)
{
  GtkListBox *list = GTK_LIST_BOX (t->class_list);
  GtkListBoxRow *row;

  for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
    if (row_class_id (row) == id)
      {
        gtk_list_box_select_row (list, row);
        return;
      }
  gtk_list_box_unselect_all (list);
}

/* ------------------------------------------------------------ the list */

static void
on_colour_set (GtkColorButton *button, HippoTrainer *t)
{
  gint64 id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (button), "id"));
  g_autoptr (GError) error = NULL;
  GdkRGBA rgba;

  gtk_color_chooser_get_rgba (GTK_COLOR_CHOOSER (button), &rgba);
  if (!hippo_trainer_set_class_colour (t, id, &rgba, &error))
    hippo_trainer_set_status (t, error->message);
}

static char *
row_tip (const HippoClassInfo *c, guint i)
{
  return g_strdup_printf (
    "%s: %u example%s%s", c->name, c->n_examples, c->n_examples == 1 ? "" : "s",
    i < 9 ? "; press its number to label the selected images" : "");
}

static GtkWidget *
class_row (HippoTrainer *t, const HippoClassInfo *c, guint i)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *key, *swatch, *name, *count;
  g_autofree char *key_text
    = i < 9 ? g_strdup_printf ("<b>%u</b>", i + 1) : g_strdup ("");
  g_autofree char *count_text = g_strdup_printf ("%u", c->n_examples);
  g_autofree char *tip = row_tip (c, i);
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
  g_object_set_data (G_OBJECT (row), "count", count);
  g_object_set_data_full (G_OBJECT (row), "shown",
                          g_strdup_printf ("%s\n%s", c->name, c->colour),
                          g_free);
  return row;
}

/* Whether the rows show these classes (names, colours, order), so only
 * the counts need updating: labelling does not rebuild the list, which
 * keeps its selection and an open colour chooser. */
static gboolean
rows_match (HippoTrainer *t)
{
  GtkListBox *list = GTK_LIST_BOX (t->class_list);
  guint i;

  for (i = 0; i < t->classes->len; i++)
    {
      HippoClassInfo *c = t->classes->pdata[i];
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (list, (int) i);
      GtkWidget *child = row ? gtk_bin_get_child (GTK_BIN (row)) : NULL;
      g_autofree char *want = g_strdup_printf ("%s\n%s", c->name, c->colour);
      if (child == NULL || row_class_id (row) != c->id
          || g_strcmp0 (g_object_get_data (G_OBJECT (child), "shown"), want)
               != 0)
        return FALSE;
    }
  return gtk_list_box_get_row_at_index (list, (int) i) == NULL;
}

static void
update_class_list (HippoTrainer *t)
{
  GtkListBox *list = GTK_LIST_BOX (t->class_list);
  gint64 selected = hippo_trainer_get_selected_class (t);
  GList *rows;

  if (rows_match (t))
    {
      for (guint i = 0; i < t->classes->len; i++)
        {
          HippoClassInfo *c = t->classes->pdata[i];
          GtkWidget *child = gtk_bin_get_child (
            GTK_BIN (gtk_list_box_get_row_at_index (list, (int) i)));
          g_autofree char *count = g_strdup_printf ("%u", c->n_examples);
          g_autofree char *tip = row_tip (c, i);
          gtk_label_set_text (g_object_get_data (G_OBJECT (child), "count"),
                              count);
          gtk_widget_set_tooltip_text (child, tip);
        }
      return;
    }
  rows = gtk_container_get_children (GTK_CONTAINER (list));
  for (GList *l = rows; l; l = l->next)
    gtk_widget_destroy (l->data);
  g_list_free (rows);
  for (guint i = 0; i < t->classes->len; i++)
    gtk_list_box_insert (list, class_row (t, t->classes->pdata[i], i), -1);
  gtk_widget_show_all (t->class_list);
  if (selected)
    hippo_trainer_select_class (t, selected);
}

void
hippo_trainer_reload_classes (HippoTrainer *t)
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
  update_class_list (t);
  hippo_trainer_update_filter_choices (t);
  hippo_thumb_grid_redraw (t->grid);
}

/* ------------------------------------------------------------ actions */

gboolean
hippo_trainer_add_class (HippoTrainer *t, const char *name, GError **error)
{
  g_autoptr (HippoClassInfo) info = NULL;

  if (!hippo_project_add_class (t->project, name, NULL, NULL, error))
    return FALSE;
  hippo_trainer_reload_classes (t);
  info = hippo_project_lookup_class (t->project, name, NULL);
  if (info)
    hippo_trainer_select_class (t, info->id);
  return TRUE;
}

static const HippoClassInfo *
existing_class (HippoTrainer *t, gint64 id, GError **error)
{
  const HippoClassInfo *c = hippo_trainer_lookup_class (t, id);

  if (c == NULL)
    g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_NOT_FOUND, "no such class");
  return c;
}

gboolean
hippo_trainer_rename_class (HippoTrainer *t, gint64 id, const char *name,
                            GError **error)
{
  const HippoClassInfo *c = existing_class (t, id, error);

  if (c == NULL
      || !hippo_project_rename_class (t->project, c->name, name, error))
    return FALSE;
  hippo_trainer_reload_classes (t);
  return TRUE;
}

gboolean
hippo_trainer_set_class_colour (HippoTrainer *t, gint64 id,
                                const GdkRGBA *colour, GError **error)
{
  const HippoClassInfo *c = existing_class (t, id, error);
  char hex[8];

  if (c == NULL)
    return FALSE;
  g_snprintf (hex, sizeof hex, "#%02x%02x%02x",
              (int) lround (CLAMP (colour->red, 0, 1) * 255),
              (int) lround (CLAMP (colour->green, 0, 1) * 255),
              (int) lround (CLAMP (colour->blue, 0, 1) * 255));
  if (!hippo_project_set_class_colour (t->project, c->name, hex, error))
    return FALSE;
  hippo_trainer_reload_classes (t);
  return TRUE;
}

gboolean
hippo_trainer_remove_class (HippoTrainer *t, gint64 id, GError **error)
{
  const HippoClassInfo *c = existing_class (t, id, error);

  if (c == NULL)
    return FALSE;
  /* queued label changes may still name it, a training may be reading
   * its examples: let them finish first */
  if (t->n_label_jobs > 0 || t->busy_train)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                   "%s; try again in a moment",
                   t->busy_train ? "training is running"
                                 : "label changes are still being saved");
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
  {
    /* its stored labels are gone too */
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init (&iter, t->stored);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      if (*(gint64 *) value == id)
        g_hash_table_iter_remove (&iter);
  }
  /* undo entries may name the class: drop them */
  g_array_set_size (t->undo, 0);
  hippo_trainer_reload_classes (t);
  hippo_trainer_refilter (t);
  return TRUE;
}

/* ------------------------------------------------------------ dialogs */

/* Name entry for add and rename; a refused name keeps it open, saying
 * why. */
typedef struct
{
  HippoTrainer *t;
  gint64 id; /* 0: add */
  GtkWidget *entry;
  GtkWidget *error;
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
          /* the project is the one in the title bar */
          const char *why = error->message;
          if (g_str_has_prefix (why, d->t->project_path)
              && g_str_has_prefix (why + strlen (d->t->project_path), ": "))
            why += strlen (d->t->project_path) + 2;
          gtk_label_set_text (GTK_LABEL (d->error), why);
          gtk_widget_show (d->error);
          gtk_widget_grab_focus (d->entry);
          return;
        }
    }
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

static void
name_dialog_free (gpointer data)
{
  NameDialog *d = data;

  hippo_trainer_unref (d->t);
  g_free (d);
}

GtkWidget *
hippo_trainer_name_dialog (HippoTrainer *t, gint64 id)
{
  const HippoClassInfo *c = id ? hippo_trainer_lookup_class (t, id) : NULL;
  NameDialog *d;
  GtkWidget *dialog, *content, *label;

  if (id && c == NULL)
    return NULL;
  d = g_new0 (NameDialog, 1);
  dialog = gtk_dialog_new_with_buttons (
    c ? "Rename class" : "Add class", GTK_WINDOW (t->window),
    GTK_DIALOG_DESTROY_WITH_PARENT, "_Cancel", GTK_RESPONSE_CANCEL,
    c ? "_Rename" : "_Add", GTK_RESPONSE_ACCEPT, NULL);
  content = gtk_dialog_get_content_area (GTK_DIALOG (dialog));
  label = gtk_label_new_with_mnemonic ("Class _name:");
  d->t = hippo_trainer_ref (t);
  d->id = id;
  d->entry = gtk_entry_new ();
  gtk_entry_set_activates_default (GTK_ENTRY (d->entry), TRUE);
  if (c)
    gtk_entry_set_text (GTK_ENTRY (d->entry), c->name);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), d->entry);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  d->error = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (d->error), 0);
  gtk_label_set_line_wrap (GTK_LABEL (d->error), TRUE);
  gtk_style_context_add_class (gtk_widget_get_style_context (d->error),
                               GTK_STYLE_CLASS_ERROR);
  gtk_container_set_border_width (GTK_CONTAINER (content), 12);
  gtk_box_set_spacing (GTK_BOX (content), 6);
  gtk_container_add (GTK_CONTAINER (content), label);
  gtk_container_add (GTK_CONTAINER (content), d->entry);
  gtk_container_add (GTK_CONTAINER (content), d->error);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  g_signal_connect (dialog, "response", G_CALLBACK (on_name_response), d);
  g_object_set_data_full (G_OBJECT (dialog), "hippo-name-dialog", d,
                          name_dialog_free);
  gtk_widget_show_all (dialog);
  gtk_widget_hide (d->error);
  return dialog;
}

static void
unref_closure_data (gpointer data, GClosure *closure)
{
  hippo_trainer_unref (data);
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
}

GtkWidget *
hippo_trainer_remove_dialog (HippoTrainer *t, gint64 id)
{
  const HippoClassInfo *c = hippo_trainer_lookup_class (t, id);
  GtkWidget *dialog;

  if (c == NULL)
    return NULL;
  dialog = gtk_message_dialog_new (
    GTK_WINDOW (t->window), GTK_DIALOG_DESTROY_WITH_PARENT, GTK_MESSAGE_WARNING,
    GTK_BUTTONS_NONE, "Delete the class “%s”?", c->name);
  gtk_message_dialog_format_secondary_text (
    GTK_MESSAGE_DIALOG (dialog),
    "Its %u labelled example%s lose%s the label. This cannot be undone.",
    c->n_examples, c->n_examples == 1 ? "" : "s",
    c->n_examples == 1 ? "s" : "");
  gtk_dialog_add_buttons (GTK_DIALOG (dialog), "_Keep", GTK_RESPONSE_CANCEL,
                          "_Delete", GTK_RESPONSE_ACCEPT, NULL);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_CANCEL);
  g_object_set_data (G_OBJECT (dialog), "id", GSIZE_TO_POINTER (id));
  g_signal_connect_data (dialog, "response", G_CALLBACK (on_remove_response),
                         hippo_trainer_ref (t), unref_closure_data, 0);
  gtk_widget_show (dialog);
  return dialog;
}

static void
on_add_class (GtkButton *b, HippoTrainer *t)
{
  hippo_trainer_name_dialog (t, 0);
}

static void
on_rename_class (GtkButton *b, HippoTrainer *t)
{
  gint64 id = hippo_trainer_get_selected_class (t);

  if (id)
    hippo_trainer_name_dialog (t, id);
  else
    hippo_trainer_set_status (t, "Select a class to rename first.");
}

static void
on_remove_class (GtkButton *b, HippoTrainer *t)
{
  gint64 id = hippo_trainer_get_selected_class (t);

  if (id)
    hippo_trainer_remove_dialog (t, id);
  else
    hippo_trainer_set_status (t, "Select a class to delete first.");
}

static void
on_row_activated (GtkListBox *list, GtkListBoxRow *row, HippoTrainer *t)
{
  gint64 id = row_class_id (row);

  if (id)
    hippo_trainer_name_dialog (t, id);
}

static GtkWidget *
panel_button (const char *mnemonic, const char *tip, GCallback cb,
              HippoTrainer *t)
{
  GtkWidget *b = gtk_button_new_with_mnemonic (mnemonic);

  gtk_widget_set_tooltip_text (b, tip);
  g_signal_connect (b, "clicked", cb, t);
  return b;
}

GtkWidget *
hippo_trainer_classes_panel_new (HippoTrainer *t)
{
  GtkWidget *left = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *heading = gtk_label_new (NULL);
  GtkWidget *scroller = gtk_scrolled_window_new (NULL, NULL);
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 4);

  gtk_container_set_border_width (GTK_CONTAINER (left), 6);
  gtk_label_set_markup (GTK_LABEL (heading), "<b>Classes</b>");
  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_box_pack_start (GTK_BOX (left), heading, FALSE, FALSE, 0);
  t->class_list = gtk_list_box_new ();
  gtk_widget_set_tooltip_text (t->class_list,
                               "Press 1–9 on the grid to label the selected "
                               "images with that class; double-click a class "
                               "to rename it");
  gtk_list_box_set_activate_on_single_click (GTK_LIST_BOX (t->class_list),
                                             FALSE);
  g_signal_connect (t->class_list, "row-activated",
                    G_CALLBACK (on_row_activated), t);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller),
                                  GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_container_add (GTK_CONTAINER (scroller), t->class_list);
  gtk_box_pack_start (GTK_BOX (left), scroller, TRUE, TRUE, 0);
  t->add_class_button
    = panel_button ("_Add", "Add a class", G_CALLBACK (on_add_class), t);
  t->rename_class_button = panel_button ("_Rename", "Rename the selected class",
                                         G_CALLBACK (on_rename_class), t);
  t->remove_class_button = panel_button ("_Delete",
                                         "Delete the selected class and its "
                                         "labels (asks first)",
                                         G_CALLBACK (on_remove_class), t);
  gtk_box_pack_start (GTK_BOX (row), t->add_class_button, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (row), t->rename_class_button, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (row), t->remove_class_button, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (left), row, FALSE, FALSE, 0);
  gtk_widget_set_size_request (left, 230, -1);
  return left;
}
