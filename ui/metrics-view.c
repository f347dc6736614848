/* Hippotag trainer — the metrics pane. */
#include "metrics-view.h"

#include <json-glib/json-glib.h>
#include <math.h>

#define MAX_CLASSES 64
#define CELL_MIN 34
#define CELL_MAX 64
#define NAME_W_MAX 140
#define STAT_W 84
#define N_STATS 3

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

/* Where things go: row names left, column names turned upright above,
 * the per-class figures right; cells grow with the room there is. */
typedef struct
{
  double name_w; /* widest class name, capped */
  double line_h;
  double x0, y0; /* the matrix's top left */
  double cell;
} Geometry;

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

/* @width, @height: the room, or 0 for the smallest layout. */
static void
geometry (View *v, PangoLayout *layout, int width, int height, Geometry *g)
{
  int tw, th;
  double room;

  pango_layout_set_width (layout, -1);
  pango_layout_set_text (layout, "True class ↓", -1);
  pango_layout_get_pixel_size (layout, &tw, &th);
  g->name_w = tw;
  g->line_h = th;
  for (guint i = 0; i < v->names->len; i++)
    {
      pango_layout_set_text (layout, v->names->pdata[i], -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      g->name_w = MAX (g->name_w, tw);
    }
  g->name_w = MIN (g->name_w, NAME_W_MAX);
  g->x0 = 4 + g->name_w + 10;
  g->y0 = 4 + g->line_h + 6 + g->name_w + 6;
  g->cell = CELL_MIN;
  if (v->k > 0 && width > 0 && height > 0)
    {
      room = MIN (width - g->x0 - 12 - N_STATS * STAT_W, height - g->y0 - 4);
      g->cell = CLAMP (floor (room / v->k), CELL_MIN, CELL_MAX);
    }
}

static void
show_text (cairo_t *cr, PangoLayout *layout, const char *text, double x,
           double y, double align)
{
  int tw, th;

  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &tw, &th);
  cairo_move_to (cr, x - align * tw, y);
  pango_cairo_show_layout (cr, layout);
}

static void
format_share (char *buf, gsize size, double f)
{
  if (isnan (f))
    g_strlcpy (buf, "–", size);
  else
    g_snprintf (buf, size, "%.0f %%", 100 * f);
}

static gboolean
on_draw (GtkWidget *area, cairo_t *cr, View *v)
{
  GtkStyleContext *style = gtk_widget_get_style_context (area);
  PangoLayout *layout = gtk_widget_create_pango_layout (area, NULL);
  GdkRGBA fg;
  Geometry g;
  double sx;
  static const char *const heads[N_STATS]
    = { "Examples", "Precision", "Recall" };

  gtk_style_context_get_color (style, GTK_STATE_FLAG_NORMAL, &fg);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  gdk_cairo_set_source_rgba (cr, &fg);
  if (v->k == 0)
    {
      pango_layout_set_text (layout, "Train to see the confusion matrix.", -1);
      cairo_move_to (cr, 8, 8);
      pango_cairo_show_layout (cr, layout);
      g_object_unref (layout);
      return TRUE;
    }
  geometry (v, layout, gtk_widget_get_allocated_width (area),
            gtk_widget_get_allocated_height (area), &g);
  sx = g.x0 + v->k * g.cell + 12;
  /* axis titles and the headings of the figures */
  show_text (cr, layout, "Predicted class →", g.x0, 4, 0);
  show_text (cr, layout, "True class ↓", 4, g.y0 - g.line_h - 4, 0);
  for (guint s = 0; s < N_STATS; s++)
    show_text (cr, layout, heads[s], sx + (s + 1) * STAT_W - 8,
               g.y0 - g.line_h - 4, 1);
  for (guint i = 0; i < v->k; i++)
    {
      gint64 sum = 0;
      char num[32];
      double ry = g.y0 + i * g.cell + (g.cell - g.line_h) / 2.0;

      for (guint j = 0; j < v->k; j++)
        sum += g_array_index (v->confusion, gint64, i * v->k + j);
      /* row name, and the column name turned upright */
      gdk_cairo_set_source_rgba (cr, &fg);
      pango_layout_set_width (layout, (int) g.name_w * PANGO_SCALE);
      show_text (cr, layout, v->names->pdata[i], 4, ry, 0);
      cairo_save (cr);
      cairo_move_to (cr, g.x0 + i * g.cell + (g.cell - g.line_h) / 2.0,
                     g.y0 - 6);
      cairo_rotate (cr, -G_PI / 2);
      pango_cairo_update_layout (cr, layout);
      pango_cairo_show_layout (cr, layout);
      cairo_restore (cr);
      pango_cairo_update_layout (cr, layout);
      pango_layout_set_width (layout, -1);
      for (guint j = 0; j < v->k; j++)
        {
          gint64 n = g_array_index (v->confusion, gint64, i * v->k + j);
          double f = sum > 0 ? (double) n / sum : 0;
          double x = g.x0 + j * g.cell, y = g.y0 + i * g.cell;
          if (i == j)
            cairo_set_source_rgba (cr, 0.18, 0.55, 0.25, 0.15 + 0.85 * f);
          else
            cairo_set_source_rgba (cr, 0.85, 0.2, 0.15, n ? 0.2 + 0.8 * f : 0);
          cairo_rectangle (cr, x + 1, y + 1, g.cell - 2, g.cell - 2);
          cairo_fill (cr);
          cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.25);
          cairo_set_line_width (cr, 1);
          cairo_rectangle (cr, x + 0.5, y + 0.5, g.cell - 1, g.cell - 1);
          cairo_stroke (cr);
          if (f > 0.6)
            cairo_set_source_rgb (cr, 1, 1, 1);
          else
            gdk_cairo_set_source_rgba (cr, &fg);
          g_snprintf (num, sizeof num, "%" G_GINT64_FORMAT, n);
          show_text (cr, layout, num, x + g.cell / 2.0, ry, 0.5);
        }
      /* the class's figures beside its row */
      gdk_cairo_set_source_rgba (cr, &fg);
      g_snprintf (num, sizeof num, "%" G_GINT64_FORMAT, sum);
      show_text (cr, layout, num, sx + STAT_W - 8, ry, 1);
      format_share (num, sizeof num, g_array_index (v->precision, double, i));
      show_text (cr, layout, num, sx + 2 * STAT_W - 8, ry, 1);
      format_share (num, sizeof num, g_array_index (v->recall, double, i));
      show_text (cr, layout, num, sx + 3 * STAT_W - 8, ry, 1);
    }
  g_object_unref (layout);
  return TRUE;
}

static gboolean
on_button (GtkWidget *area, GdkEventButton *ev, View *v)
{
  PangoLayout *layout;
  Geometry g;
  int i, j;

  if (v->k == 0)
    return FALSE;
  layout = gtk_widget_create_pango_layout (area, NULL);
  geometry (v, layout, gtk_widget_get_allocated_width (area),
            gtk_widget_get_allocated_height (area), &g);
  g_object_unref (layout);
  if (ev->x < g.x0 || ev->y < g.y0)
    return FALSE;
  j = (int) ((ev->x - g.x0) / g.cell);
  i = (int) ((ev->y - g.y0) / g.cell);
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
             "columns the predicted ones. Click a cell "
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
    "-fold cross-validation. Click a cell to see its images.",
    100 * member_double (o, "accuracy"),
    100 * member_double (o, "balanced_accuracy"), member_int (o, "n_tested"),
    member_int (o, "n_samples"), member_int (o, "folds"));
  gtk_label_set_markup (GTK_LABEL (v->summary), text);
  {
    PangoLayout *layout = gtk_widget_create_pango_layout (v->area, NULL);
    Geometry g;

    geometry (v, layout, 0, 0, &g);
    g_object_unref (layout);
    gtk_widget_set_size_request (
      v->area, (int) (g.x0 + k * g.cell + 12 + N_STATS * STAT_W),
      (int) (g.y0 + k * g.cell + 8));
  }
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
