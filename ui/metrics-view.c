/* Hippotag trainer — the metrics pane. */
#include "metrics-view.h"

#include <json-glib/json-glib.h>
#include <math.h>

#define MAX_CLASSES 64
#define CELL 34
#define NAME_W 110

typedef struct
{
  GtkWidget *box;
  GtkWidget *summary;
  GtkWidget *area;
  GPtrArray *names;
  GArray *precision; /* double */
  GArray *recall;
  GArray *confusion; /* k * k gint64 */
  guint k;
  HippoCellFunc func;
  gpointer user_data;
} View;

static View *
view_get (GtkWidget *w)
{
  return g_object_get_data (G_OBJECT (w), "hippo-metrics-view");
}

static double
member_double (JsonObject *o, const char *key)
{
  JsonNode *n = o ? json_object_get_member (o, key) : NULL;

  if (n == NULL || JSON_NODE_TYPE (n) != JSON_NODE_VALUE)
    return NAN;
  return json_node_get_double (n);
}

static gint64
member_int (JsonObject *o, const char *key)
{
  JsonNode *n = o ? json_object_get_member (o, key) : NULL;

  if (n == NULL || JSON_NODE_TYPE (n) != JSON_NODE_VALUE)
    return 0;
  return json_node_get_int (n);
}

static void
grid_origin (View *v, double *x0, double *y0)
{
  *x0 = NAME_W + 8;
  *y0 = 26;
}

static gboolean
on_draw (GtkWidget *area, cairo_t *cr, View *v)
{
  GtkStyleContext *style = gtk_widget_get_style_context (area);
  PangoLayout *layout = gtk_widget_create_pango_layout (area, NULL);
  GdkRGBA fg;
  double x0, y0;
  gint64 row_max = 1;

  gtk_style_context_get_color (style, GTK_STATE_FLAG_NORMAL, &fg);
  grid_origin (v, &x0, &y0);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  if (v->k == 0)
    {
      pango_layout_set_text (layout, "Train to see the confusion matrix.", -1);
      gdk_cairo_set_source_rgba (cr, &fg);
      cairo_move_to (cr, 8, 8);
      pango_cairo_show_layout (cr, layout);
      g_object_unref (layout);
      return TRUE;
    }
  gdk_cairo_set_source_rgba (cr, &fg);
  pango_layout_set_text (layout, "true ↓  predicted →", -1);
  cairo_move_to (cr, 4, 4);
  pango_cairo_show_layout (cr, layout);
  for (guint i = 0; i < v->k; i++)
    {
      gint64 sum = 0;
      for (guint j = 0; j < v->k; j++)
        sum += g_array_index (v->confusion, gint64, i * v->k + j);
      row_max = MAX (row_max, sum);
    }
  for (guint i = 0; i < v->k; i++)
    {
      gint64 sum = 0;
      int tw, th;
      char num[32];

      for (guint j = 0; j < v->k; j++)
        sum += g_array_index (v->confusion, gint64, i * v->k + j);
      /* row name */
      pango_layout_set_width (layout, NAME_W * PANGO_SCALE);
      pango_layout_set_text (layout, v->names->pdata[i], -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      gdk_cairo_set_source_rgba (cr, &fg);
      cairo_move_to (cr, 4, y0 + i * CELL + (CELL - th) / 2.0);
      pango_cairo_show_layout (cr, layout);
      /* column number (names would not fit above narrow cells) */
      pango_layout_set_width (layout, -1);
      g_snprintf (num, sizeof num, "%u", i + 1);
      pango_layout_set_text (layout, num, -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      cairo_move_to (cr, x0 + i * CELL + (CELL - tw) / 2.0, y0 - th - 2);
      pango_cairo_show_layout (cr, layout);
      for (guint j = 0; j < v->k; j++)
        {
          gint64 n = g_array_index (v->confusion, gint64, i * v->k + j);
          double f = sum > 0 ? (double) n / sum : 0;
          double x = x0 + j * CELL, y = y0 + i * CELL;
          if (i == j)
            cairo_set_source_rgba (cr, 0.18, 0.55, 0.25, 0.15 + 0.85 * f);
          else
            cairo_set_source_rgba (cr, 0.85, 0.2, 0.15, n ? 0.2 + 0.8 * f : 0);
          cairo_rectangle (cr, x + 1, y + 1, CELL - 2, CELL - 2);
          cairo_fill (cr);
          cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.25);
          cairo_set_line_width (cr, 1);
          cairo_rectangle (cr, x + 0.5, y + 0.5, CELL - 1, CELL - 1);
          cairo_stroke (cr);
          g_snprintf (num, sizeof num, "%" G_GINT64_FORMAT, n);
          pango_layout_set_text (layout, num, -1);
          pango_layout_get_pixel_size (layout, &tw, &th);
          if (f > 0.6)
            cairo_set_source_rgb (cr, 1, 1, 1);
          else
            gdk_cairo_set_source_rgba (cr, &fg);
          cairo_move_to (cr, x + (CELL - tw) / 2.0, y + (CELL - th) / 2.0);
          pango_cairo_show_layout (cr, layout);
        }
      /* precision and recall beside the row */
      {
        g_autofree char *pr = g_strdup_printf (
          "%u  P %.2f  R %.2f", i + 1, g_array_index (v->precision, double, i),
          g_array_index (v->recall, double, i));
        pango_layout_set_text (layout, pr, -1);
        pango_layout_get_pixel_size (layout, &tw, &th);
        gdk_cairo_set_source_rgba (cr, &fg);
        cairo_move_to (cr, x0 + v->k * CELL + 10,
                       y0 + i * CELL + (CELL - th) / 2.0);
        pango_cairo_show_layout (cr, layout);
      }
    }
  g_object_unref (layout);
  return TRUE;
}

static gboolean
on_button (GtkWidget *area, GdkEventButton *ev, View *v)
{
  double x0, y0;
  int i, j;

  grid_origin (v, &x0, &y0);
  if (v->k == 0 || ev->x < x0 || ev->y < y0)
    return FALSE;
  j = (int) ((ev->x - x0) / CELL);
  i = (int) ((ev->y - y0) / CELL);
  if (i < 0 || j < 0 || i >= (int) v->k || j >= (int) v->k)
    return FALSE;
  if (v->func)
    v->func ((guint) i, (guint) j, v->user_data);
  return TRUE;
}

static void
view_free (gpointer data)
{
  View *v = data;

  g_ptr_array_unref (v->names);
  g_array_unref (v->precision);
  g_array_unref (v->recall);
  g_array_unref (v->confusion);
  g_free (v);
}

GtkWidget *
hippo_metrics_view_new (HippoCellFunc func, gpointer user_data)
{
  View *v = g_new0 (View, 1);

  v->func = func;
  v->user_data = user_data;
  v->names = g_ptr_array_new_with_free_func (g_free);
  v->precision = g_array_new (FALSE, TRUE, sizeof (double));
  v->recall = g_array_new (FALSE, TRUE, sizeof (double));
  v->confusion = g_array_new (FALSE, TRUE, sizeof (gint64));
  v->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  v->summary = gtk_label_new ("Not trained yet.");
  gtk_label_set_xalign (GTK_LABEL (v->summary), 0);
  gtk_label_set_line_wrap (GTK_LABEL (v->summary), TRUE);
  v->area = gtk_drawing_area_new ();
  gtk_widget_add_events (v->area, GDK_BUTTON_PRESS_MASK);
  gtk_widget_set_tooltip_text (
    v->area, "Cross-validated confusion matrix: rows are the true classes, "
             "columns the predicted ones (numbered as the rows). Click a cell "
             "to show the images with that label and that prediction of the "
             "trained classifier.");
  gtk_box_pack_start (GTK_BOX (v->box), v->summary, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (v->box), v->area, TRUE, TRUE, 0);
  g_signal_connect (v->area, "draw", G_CALLBACK (on_draw), v);
  g_signal_connect (v->area, "button-press-event", G_CALLBACK (on_button), v);
  g_object_set_data_full (G_OBJECT (v->box), "hippo-metrics-view", v,
                          view_free);
  return v->box;
}

gboolean
hippo_metrics_view_set_json (GtkWidget *widget, const char *json)
{
  View *v = view_get (widget);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *text = NULL;
  JsonObject *o;
  JsonArray *classes, *confusion;
  guint k;

  v->k = 0;
  g_ptr_array_set_size (v->names, 0);
  gtk_widget_queue_draw (v->area);
  if (json == NULL)
    {
      gtk_label_set_text (GTK_LABEL (v->summary), "Not trained yet.");
      return TRUE;
    }
  if (!json_parser_load_from_data (parser, json, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    goto bad;
  o = json_node_get_object (json_parser_get_root (parser));
  if (!json_object_has_member (o, "classes"))
    goto bad;
  classes = json_object_get_array_member (o, "classes");
  k = classes ? json_array_get_length (classes) : 0;
  if (k == 0 || k > MAX_CLASSES)
    goto bad;
  confusion = json_object_has_member (o, "confusion")
                ? json_object_get_array_member (o, "confusion")
                : NULL;
  g_array_set_size (v->precision, k);
  g_array_set_size (v->recall, k);
  g_array_set_size (v->confusion, k * k);
  for (guint i = 0; i < k; i++)
    {
      JsonNode *n = json_array_get_element (classes, i);
      JsonObject *ci
        = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
      const char *name = ci && json_object_has_member (ci, "name")
                           ? json_object_get_string_member (ci, "name")
                           : NULL;
      JsonArray *row = NULL;

      g_ptr_array_add (v->names, g_strdup (name ? name : "?"));
      g_array_index (v->precision, double, i) = member_double (ci, "precision");
      g_array_index (v->recall, double, i) = member_double (ci, "recall");
      if (confusion && i < json_array_get_length (confusion)
          && JSON_NODE_HOLDS_ARRAY (json_array_get_element (confusion, i)))
        row = json_array_get_array_element (confusion, i);
      for (guint j = 0; j < k; j++)
        g_array_index (v->confusion, gint64, i * k + j)
          = row && j < json_array_get_length (row)
              ? json_array_get_int_element (row, j)
              : 0;
    }
  v->k = confusion ? k : 0;
  text = g_strdup_printf (
    "<b>Accuracy %.1f %%</b> (balanced %.1f %%) on %" G_GINT64_FORMAT
    " of %" G_GINT64_FORMAT " examples, %" G_GINT64_FORMAT
    "-fold cross-validation.\nPer class: P = precision, R = recall.",
    100 * member_double (o, "accuracy"),
    100 * member_double (o, "balanced_accuracy"), member_int (o, "n_tested"),
    member_int (o, "n_samples"), member_int (o, "folds"));
  gtk_label_set_markup (GTK_LABEL (v->summary), text);
  gtk_widget_set_size_request (v->area, NAME_W + 8 + k * CELL + 150,
                               26 + k * CELL + 8);
  return TRUE;

bad:
  gtk_label_set_text (GTK_LABEL (v->summary),
                      "The metrics of the last training cannot be read.");
  return FALSE;
}

const char *
hippo_metrics_view_get_class_name (GtkWidget *widget, guint i)
{
  View *v = view_get (widget);

  return i < v->names->len ? v->names->pdata[i] : NULL;
}
