/* Hippotag trainer — what the grid shows: the filters (all, unlabelled,
 * most uncertain first, mistakes, one class, a confusion cell) and the
 * large view of one image. */
#include "metrics-view.h"
#include "trainer-private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ filters */

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

void
hippo_trainer_refilter (HippoTrainer *t)
{
  g_autoptr (GPtrArray) view = g_ptr_array_new ();

  for (guint i = 0; i < t->items->len; i++)
    if (filter_keeps (t, t->items->pdata[i]))
      g_ptr_array_add (view, t->items->pdata[i]);
  if (strcmp (t->filter, "uncertain") == 0)
    g_ptr_array_sort (view, compare_uncertainty); /* stable */
  hippo_thumb_grid_set_items (t->grid, view);
}

/* The choices as "ID\tTEXT" lines. */
static GPtrArray *
filter_choices (HippoTrainer *t)
{
  GPtrArray *choices = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (choices, g_strdup ("all\tAll images"));
  g_ptr_array_add (choices, g_strdup ("unlabelled\tUnlabelled"));
  g_ptr_array_add (choices, g_strdup ("uncertain\tMost uncertain first"));
  g_ptr_array_add (choices,
                   g_strdup ("mistakes\tMistakes (label ≠ prediction)"));
  for (guint i = 0; i < t->classes->len; i++)
    {
      HippoClassInfo *c = t->classes->pdata[i];
      g_ptr_array_add (choices, g_strdup_printf ("class:%" G_GINT64_FORMAT
                                                 "\tLabelled %s",
                                                 c->id, c->name));
    }
  if (g_str_has_prefix (t->filter, "cell:"))
    g_ptr_array_add (choices,
                     g_strdup_printf ("%s\tConfusion cell", t->filter));
  return choices;
}

/* Whether the combo offers exactly @choices. */
static gboolean
combo_offers (GtkComboBox *combo, GPtrArray *choices)
{
  GtkTreeModel *model = gtk_combo_box_get_model (combo);
  GtkTreeIter iter;
  guint i = 0;
  gboolean more = gtk_tree_model_get_iter_first (model, &iter);

  for (; more; more = gtk_tree_model_iter_next (model, &iter), i++)
    {
      g_autofree char *text = NULL;
      g_autofree char *id = NULL;
      g_autofree char *line = NULL;
      gtk_tree_model_get (model, &iter, 0, &text, 1, &id, -1);
      line = g_strdup_printf ("%s\t%s", id, text);
      if (i >= choices->len || strcmp (line, choices->pdata[i]) != 0)
        return FALSE;
    }
  return i == choices->len;
}

void
hippo_trainer_update_filter_choices (HippoTrainer *t)
{
  GtkComboBoxText *combo = GTK_COMBO_BOX_TEXT (t->filter_combo);
  g_autofree char *keep = g_strdup (t->filter);
  g_autoptr (GPtrArray) choices = filter_choices (t);

  /* labelling reloads the classes: leave an unchanged list (and an open
   * popup) alone */
  if (combo_offers (GTK_COMBO_BOX (combo), choices))
    return;
  g_signal_handlers_block_matched (combo, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL,
                                   t);
  gtk_combo_box_text_remove_all (combo);
  for (guint i = 0; i < choices->len; i++)
    {
      g_auto (GStrv) parts = g_strsplit (choices->pdata[i], "\t", 2);
      gtk_combo_box_text_append (combo, parts[0], parts[1]);
    }
  if (!gtk_combo_box_set_active_id (GTK_COMBO_BOX (combo), keep))
    {
      /* its class is gone */
      g_free (t->filter);
      t->filter = g_strdup ("all");
      gtk_combo_box_set_active_id (GTK_COMBO_BOX (combo), "all");
      hippo_trainer_refilter (t);
    }
  g_signal_handlers_unblock_matched (combo, G_SIGNAL_MATCH_DATA, 0, 0, NULL,
                                     NULL, t);
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
  hippo_trainer_refilter (t);
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

void
hippo_trainer_filter_init (HippoTrainer *t)
{
  g_signal_connect (t->filter_combo, "changed", G_CALLBACK (on_filter_changed),
                    t);
}

void
hippo_trainer_show_cell (guint true_class, guint predicted, gpointer trainer)
{
  HippoTrainer *t = trainer;
  gint64 a = hippo_trainer_class_id_by_name (
    t, hippo_metrics_view_get_class_name (t->metrics, true_class));
  gint64 b = hippo_trainer_class_id_by_name (
    t, hippo_metrics_view_get_class_name (t->metrics, predicted));
  g_autofree char *f = NULL;

  if (!a || !b)
    return;
  f = g_strdup_printf ("cell:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT, a, b);
  hippo_trainer_set_filter (t, f);
  gtk_stack_set_visible_child_name (GTK_STACK (t->stack), "images");
}

/* ------------------------------------------------------------ large view */

#define LARGE_W 900
#define LARGE_H 700

typedef struct
{
  char *path;
  int scale; /* device pixels per logical pixel, decoded for */
} LargeLoad;

static void
large_load_free (gpointer data)
{
  LargeLoad *l = data;

  g_free (l->path);
  g_free (l);
}

/* @pixbuf of @scale device pixels per logical pixel into @image, drawn
 * one to one on a HiDPI screen rather than enlarged. */
static void
set_image_pixbuf (GtkWidget *image, GdkPixbuf *pixbuf, int scale)
{
  cairo_surface_t *surface = gdk_cairo_surface_create_from_pixbuf (
    pixbuf, scale, gtk_widget_get_window (image));

  gtk_image_set_from_surface (GTK_IMAGE (image), surface);
  cairo_surface_destroy (surface);
}

static void
large_loaded (GObject *source, GAsyncResult *res, gpointer data)
{
  GtkWidget *image = data;
  LargeLoad *l = g_task_get_task_data (G_TASK (res));
  g_autoptr (GdkPixbuf) pixbuf = g_task_propagate_pointer (G_TASK (res), NULL);

  if (pixbuf && gtk_widget_get_parent (image))
    set_image_pixbuf (image, pixbuf, l->scale);
  g_object_unref (image);
}

static void
large_thread (GTask *task, gpointer source, gpointer data, GCancellable *c)
{
  LargeLoad *l = data;
  GdkPixbuf *p = gdk_pixbuf_new_from_file_at_scale (
    l->path, LARGE_W * l->scale, LARGE_H * l->scale, TRUE, NULL);
  g_task_return_pointer (task, p, g_object_unref);
}

void
hippo_trainer_show_large (HippoTrainer *t)
{
  int cursor = hippo_thumb_grid_get_cursor (t->grid);
  HippoTrainerItem *it
    = cursor >= 0 ? hippo_thumb_grid_get_item (t->grid, cursor) : NULL;
  GtkWidget *area = hippo_thumb_grid_get_area (t->grid);
  int scale = gtk_widget_get_scale_factor (area);
  GtkWidget *image;

  if (it == NULL)
    return;
  if (t->large)
    gtk_widget_destroy (t->large);
  t->large = gtk_popover_new (area);
  g_object_add_weak_pointer (G_OBJECT (t->large), (gpointer *) &t->large);
  image = gtk_image_new_from_icon_name ("image-loading", GTK_ICON_SIZE_DIALOG);
  gtk_widget_set_size_request (image, 300, 300);
  gtk_container_add (GTK_CONTAINER (t->large), image);
  if (it->path)
    {
      GTask *task = g_task_new (NULL, NULL, large_loaded, g_object_ref (image));
      LargeLoad *l = g_new0 (LargeLoad, 1);
      l->path = g_strdup (it->path);
      l->scale = scale;
      g_task_set_task_data (task, l, large_load_free);
      g_task_run_in_thread (task, large_thread);
      g_object_unref (task);
    }
  else if (it->thumb)
    /* the grid decoded it for the same scale */
    set_image_pixbuf (image, it->thumb, scale);
  gtk_widget_show_all (t->large);
  gtk_popover_popup (GTK_POPOVER (t->large));
}
