/* Hippotag trainer — the virtualised thumbnail grid. */
#include "thumb-grid.h"

#include <math.h>

#define THUMB_SIZE HIPPO_THUMB_SIZE
#define CELL_W (THUMB_SIZE + 16)
#define CELL_H (THUMB_SIZE + 40)
#define MAX_IN_FLIGHT 6
#define MAX_LOADED 1500
#define APPLY_BUDGET_US 6000

/* Shared with the decoding threads; freed by the last holder. */
typedef struct
{
  gint ref;
  gint alive;        /* atomic: 0 once the grid is gone */
  gint idle_pending; /* atomic */
  GAsyncQueue *results;
  HippoThumbGrid *grid; /* only touched on the main thread while alive */
} Loader;

typedef struct
{
  Loader *loader;
  HippoTrainerItem *item; /* only dereferenced on the main thread */
  char *path;
  int size;
  GdkPixbuf *pixbuf;
} Request;

struct _HippoThumbGrid
{
  GtkWidget *box;
  GtkWidget *area;
  GtkAdjustment *vadj;
  GPtrArray *items;
  GHashTable *selected; /* item pointers */
  int cursor;
  int anchor;
  guint in_flight;
  guint n_loaded;
  GThreadPool *pool;
  Loader *loader;
  HippoClassLookup lookup;
  gpointer lookup_data;
  gint64 thumb_paint_time;
  guint pump_id;
};

static void
loader_unref (Loader *l)
{
  if (!g_atomic_int_dec_and_test (&l->ref))
    return;
  g_async_queue_unref (l->results);
  g_free (l);
}

static int
n_cols (HippoThumbGrid *g)
{
  int w = gtk_widget_get_allocated_width (g->area);
  return MAX (1, w / CELL_W);
}

static void
visible_range (HippoThumbGrid *g, int *first, int *last)
{
  int cols = n_cols (g);
  double top = gtk_adjustment_get_value (g->vadj);
  int h = gtk_widget_get_allocated_height (g->area);
  int r0 = (int) (top / CELL_H), r1 = (int) ((top + h) / CELL_H);

  *first = r0 * cols;
  *last = MIN ((int) g->items->len - 1, (r1 + 1) * cols - 1);
}

/* The top left corner of cell @i in the area, as drawn. */
static void
cell_origin (HippoThumbGrid *g, int i, int *x, int *y)
{
  int cols = n_cols (g);
  int w = gtk_widget_get_allocated_width (g->area);

  *x = (w - cols * CELL_W) / 2 + (i % cols) * CELL_W;
  *y = (int) ((i / cols) * CELL_H - gtk_adjustment_get_value (g->vadj));
}

static void pump (HippoThumbGrid *g);

static void
evict (HippoThumbGrid *g)
{
  int first, last, span;

  if (g->n_loaded <= MAX_LOADED)
    return;
  visible_range (g, &first, &last);
  span = MAX (200, (last - first + 1) * 3);
  for (guint i = 0; i < g->items->len && g->n_loaded > MAX_LOADED / 2; i++)
    {
      HippoTrainerItem *it = g->items->pdata[i];
      if (it->thumb_state != HIPPO_THUMB_DONE || it->path == NULL
          || ((int) i >= first - span && (int) i <= last + span))
        continue;
      g_clear_object (&it->thumb);
      it->thumb_state = HIPPO_THUMB_NONE;
      g->n_loaded--;
    }
}

static gboolean
apply_results (gpointer data)
{
  Loader *l = data;
  gint64 t0 = g_get_monotonic_time ();
  gboolean any = FALSE;
  Request *r;

  g_atomic_int_set (&l->idle_pending, 0);
  while ((r = g_async_queue_try_pop (l->results)) != NULL)
    {
      if (g_atomic_int_get (&l->alive))
        {
          HippoThumbGrid *g = l->grid;
          g->in_flight--;
          if (r->item->thumb_state == HIPPO_THUMB_QUEUED)
            {
              r->item->thumb = g_steal_pointer (&r->pixbuf);
              r->item->thumb_state
                = r->item->thumb ? HIPPO_THUMB_DONE : HIPPO_THUMB_FAILED;
              if (r->item->thumb)
                g->n_loaded++;
            }
          any = TRUE;
        }
      g_clear_object (&r->pixbuf);
      g_free (r->path);
      g_free (r);
      loader_unref (l);
      if (g_get_monotonic_time () - t0 > APPLY_BUDGET_US)
        break;
    }
  if (any && g_atomic_int_get (&l->alive))
    {
      evict (l->grid);
      gtk_widget_queue_draw (l->grid->area);
      pump (l->grid);
    }
  if (g_async_queue_length (l->results) > 0
      && g_atomic_int_compare_and_exchange (&l->idle_pending, 0, 1))
    return G_SOURCE_CONTINUE;
  return G_SOURCE_REMOVE;
}

static void
decode (gpointer data, gpointer user_data)
{
  Request *r = data;
  Loader *l = r->loader;

  if (g_atomic_int_get (&l->alive))
    r->pixbuf = gdk_pixbuf_new_from_file_at_scale (r->path, r->size, r->size,
                                                   TRUE, NULL);
  g_async_queue_push (l->results, r);
  if (g_atomic_int_compare_and_exchange (&l->idle_pending, 0, 1))
    g_idle_add_full (G_PRIORITY_DEFAULT_IDLE - 10, apply_results, l, NULL);
}

static GdkPixbuf *
thumb_from_image (const HippoImage *image, int size)
{
  int w = hippo_image_get_width (image), h = hippo_image_get_height (image);
  double s = MIN ((double) size / w, (double) size / h);
  g_autoptr (GdkPixbuf) full = gdk_pixbuf_new_from_data (
    hippo_image_get_pixels (image), GDK_COLORSPACE_RGB, FALSE, 8, w, h, w * 3,
    NULL, NULL);

  return gdk_pixbuf_scale_simple (full, MAX (1, (int) (w * s)),
                                  MAX (1, (int) (h * s)), GDK_INTERP_BILINEAR);
}

static void
request (HippoThumbGrid *g, HippoTrainerItem *it)
{
  int size = THUMB_SIZE * gtk_widget_get_scale_factor (g->area);
  Request *r;

  if (it->path == NULL)
    {
      /* an image without a file: a few at most, scaled right here */
      it->thumb = it->image ? thumb_from_image (it->image, size) : NULL;
      it->thumb_state = it->thumb ? HIPPO_THUMB_DONE : HIPPO_THUMB_FAILED;
      return;
    }
  r = g_new0 (Request, 1);
  r->loader = g->loader;
  g_atomic_int_inc (&g->loader->ref);
  r->item = it;
  r->path = g_strdup (it->path);
  r->size = size;
  it->thumb_state = HIPPO_THUMB_QUEUED;
  g->in_flight++;
  g_thread_pool_push (g->pool, r, NULL);
}

/* Queues the visible cells first, then one screen ahead. */
static void
pump (HippoThumbGrid *g)
{
  int first, last, ahead;

  if (g->items->len == 0 || !gtk_widget_get_realized (g->area))
    return;
  visible_range (g, &first, &last);
  ahead = MIN ((int) g->items->len - 1, last + (last - first + 1));
  for (int i = MAX (first, 0); i <= ahead && g->in_flight < MAX_IN_FLIGHT; i++)
    {
      HippoTrainerItem *it = g->items->pdata[i];
      if (it->thumb_state == HIPPO_THUMB_NONE)
        request (g, it);
    }
}

static gboolean
pump_idle (gpointer data)
{
  HippoThumbGrid *g = data;

  g->pump_id = 0;
  pump (g);
  return G_SOURCE_REMOVE;
}

static void
queue_pump (HippoThumbGrid *g)
{
  if (g->pump_id == 0)
    g->pump_id = g_idle_add (pump_idle, g);
}

static void
update_adjustment (HippoThumbGrid *g)
{
  int cols = n_cols (g);
  int rows = (g->items->len + cols - 1) / cols;
  double h = gtk_widget_get_allocated_height (g->area);
  double upper = MAX ((double) rows * CELL_H, h);

  gtk_adjustment_configure (
    g->vadj, CLAMP (gtk_adjustment_get_value (g->vadj), 0, MAX (0, upper - h)),
    0, upper, CELL_H / 3.0, MAX (CELL_H, h - CELL_H), h);
}

static void
scroll_to_cursor (HippoThumbGrid *g)
{
  int cols = n_cols (g), row;
  double top, h = gtk_widget_get_allocated_height (g->area);

  if (g->cursor < 0)
    return;
  row = g->cursor / cols;
  top = gtk_adjustment_get_value (g->vadj);
  if (row * CELL_H < top)
    gtk_adjustment_set_value (g->vadj, row * CELL_H);
  else if ((row + 1) * CELL_H > top + h)
    gtk_adjustment_set_value (g->vadj, (row + 1) * CELL_H - h);
}

static double
linear (double c)
{
  return c <= 0.04045 ? c / 12.92 : pow ((c + 0.055) / 1.055, 2.4);
}

/* Black or white text on @bg, whichever contrasts more; both contrast
 * equally at a relative luminance of about 0.18, and white reads better
 * on mid tones, so the switch is a little above. */
static void
set_ink_for (cairo_t *cr, const GdkRGBA *bg)
{
  double l = 0.2126 * linear (bg->red) + 0.7152 * linear (bg->green)
             + 0.0722 * linear (bg->blue);
  double v = l < 0.22 ? 1 : 0;

  cairo_set_source_rgb (cr, v, v, v);
}

static void
draw_cell (HippoThumbGrid *g, cairo_t *cr, GtkStyleContext *style,
           PangoLayout *layout, HippoTrainerItem *it, int x, int y,
           gboolean selected, gboolean is_cursor, int scale)
{
  GdkRGBA colour, fg;
  const char *cname = NULL;

  gtk_style_context_get_color (style, GTK_STATE_FLAG_NORMAL, &fg);
  if (selected)
    {
      cairo_set_source_rgba (cr, 0.21, 0.52, 0.89, 0.35);
      cairo_rectangle (cr, x + 2, y + 2, CELL_W - 4, CELL_H - 4);
      cairo_fill (cr);
    }
  if (it->thumb)
    {
      /* one thumbnail pixel to one device pixel, centred to the whole
       * device pixel: on a half pixel it would be resampled, blurred */
      int tw = gdk_pixbuf_get_width (it->thumb);
      int th = gdk_pixbuf_get_height (it->thumb);
      cairo_save (cr);
      cairo_translate (cr, x, y);
      cairo_scale (cr, 1.0 / scale, 1.0 / scale);
      gdk_cairo_set_source_pixbuf (cr, it->thumb, (CELL_W * scale - tw) / 2,
                                   (6 + THUMB_SIZE / 2) * scale - th / 2);
      cairo_paint (cr);
      cairo_restore (cr);
      g->thumb_paint_time = g_get_monotonic_time ();
    }
  else
    {
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.08);
      cairo_rectangle (cr, x + 8, y + 6, THUMB_SIZE, THUMB_SIZE);
      cairo_fill (cr);
    }
  /* the label: a coloured frame and a chip with the class name */
  if (it->label_id && g->lookup (it->label_id, &colour, &cname, g->lookup_data))
    {
      int tw;
      gdk_cairo_set_source_rgba (cr, &colour);
      cairo_set_line_width (cr, 3);
      cairo_rectangle (cr, x + 6.5, y + 4.5, THUMB_SIZE + 3, THUMB_SIZE + 3);
      cairo_stroke (cr);
      pango_layout_set_text (layout, cname, -1);
      pango_layout_set_width (layout, (THUMB_SIZE - 8) * PANGO_SCALE);
      pango_layout_get_pixel_size (layout, &tw, NULL);
      cairo_rectangle (cr, x + 8, y + 6, tw + 6, 16);
      cairo_fill (cr);
      set_ink_for (cr, &colour);
      cairo_move_to (cr, x + 11, y + 6);
      pango_cairo_show_layout (cr, layout);
    }
  /* the file name */
  pango_layout_set_width (layout, (CELL_W - 8) * PANGO_SCALE);
  pango_layout_set_text (layout, it->name, -1);
  gdk_cairo_set_source_rgba (cr, &fg);
  cairo_move_to (cr, x + 4, y + THUMB_SIZE + 8);
  pango_cairo_show_layout (cr, layout);
  /* the prediction: a bar as long as the confidence, in the class colour */
  if (it->pred_id && g->lookup (it->pred_id, &colour, &cname, g->lookup_data))
    {
      g_autofree char *text
        = g_strdup_printf ("%s %.0f%%", cname, 100.0 * it->confidence);
      double bw = (CELL_W - 8) * CLAMP (it->confidence, 0.f, 1.f);
      cairo_set_source_rgba (cr, colour.red, colour.green, colour.blue, 0.3);
      cairo_rectangle (cr, x + 4, y + THUMB_SIZE + 24, CELL_W - 8, 14);
      cairo_fill (cr);
      gdk_cairo_set_source_rgba (cr, &colour);
      cairo_rectangle (cr, x + 4, y + THUMB_SIZE + 24, bw, 14);
      cairo_fill (cr);
      pango_layout_set_text (layout, text, -1);
      /* the text crosses the bar and the pale rest: ink for each part */
      cairo_save (cr);
      cairo_rectangle (cr, x + 4, y + THUMB_SIZE + 22, bw, 18);
      cairo_clip (cr);
      set_ink_for (cr, &colour);
      cairo_move_to (cr, x + 7, y + THUMB_SIZE + 23);
      pango_cairo_show_layout (cr, layout);
      cairo_restore (cr);
      cairo_save (cr);
      cairo_rectangle (cr, x + 4 + bw, y + THUMB_SIZE + 22, CELL_W - 8 - bw,
                       18);
      cairo_clip (cr);
      gdk_cairo_set_source_rgba (cr, &fg);
      cairo_move_to (cr, x + 7, y + THUMB_SIZE + 23);
      pango_cairo_show_layout (cr, layout);
      cairo_restore (cr);
      if (it->label_id && it->label_id != it->pred_id)
        {
          /* a mistake: a red corner mark */
          cairo_set_source_rgb (cr, 0.85, 0.1, 0.1);
          cairo_move_to (cr, x + CELL_W - 8, y + 4);
          cairo_line_to (cr, x + CELL_W - 24, y + 4);
          cairo_line_to (cr, x + CELL_W - 8, y + 20);
          cairo_fill (cr);
        }
    }
  if (is_cursor && gtk_widget_has_focus (g->area))
    gtk_render_focus (style, cr, x + 1, y + 1, CELL_W - 2, CELL_H - 2);
  else if (is_cursor)
    {
      cairo_set_source_rgba (cr, 0.21, 0.52, 0.89, 0.8);
      cairo_set_line_width (cr, 1);
      cairo_rectangle (cr, x + 1.5, y + 1.5, CELL_W - 3, CELL_H - 3);
      cairo_stroke (cr);
    }
}

static gboolean
on_draw (GtkWidget *area, cairo_t *cr, gpointer data)
{
  HippoThumbGrid *g = data;
  GtkStyleContext *style = gtk_widget_get_style_context (area);
  int first, last, scale;
  int w = gtk_widget_get_allocated_width (area);
  int h = gtk_widget_get_allocated_height (area);
  PangoLayout *layout = gtk_widget_create_pango_layout (area, NULL);
  PangoFontDescription *font = pango_font_description_copy (
    pango_context_get_font_description (pango_layout_get_context (layout)));

  gtk_render_background (style, cr, 0, 0, w, h);
  pango_font_description_set_size (font, 8 * PANGO_SCALE);
  pango_layout_set_font_description (layout, font);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_MIDDLE);
  scale = gtk_widget_get_scale_factor (area);
  visible_range (g, &first, &last);
  for (int i = MAX (0, first); i <= last; i++)
    {
      HippoTrainerItem *it = g->items->pdata[i];
      int x, y;
      cell_origin (g, i, &x, &y);
      draw_cell (g, cr, style, layout, it, x, y,
                 g_hash_table_contains (g->selected, it), i == g->cursor,
                 scale);
    }
  if (g->items->len == 0)
    {
      int tw, th;
      pango_font_description_set_size (font, 12 * PANGO_SCALE);
      pango_layout_set_font_description (layout, font);
      pango_layout_set_width (layout, -1);
      pango_layout_set_text (
        layout, "No images here: add a folder, or drop images on this grid.",
        -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      cairo_set_source_rgba (cr, 0.5, 0.5, 0.5, 1);
      cairo_move_to (cr, (w - tw) / 2.0, (h - th) / 2.0);
      pango_cairo_show_layout (cr, layout);
    }
  pango_font_description_free (font);
  g_object_unref (layout);
  queue_pump (g);
  return TRUE;
}

static void
on_size_allocate (GtkWidget *area, GdkRectangle *alloc, gpointer data)
{
  HippoThumbGrid *g = data;

  update_adjustment (g);
  queue_pump (g);
}

static void
on_value_changed (GtkAdjustment *adj, gpointer data)
{
  HippoThumbGrid *g = data;

  gtk_widget_queue_draw (g->area);
  queue_pump (g);
}

static gboolean
on_scroll (GtkWidget *area, GdkEventScroll *ev, gpointer data)
{
  HippoThumbGrid *g = data;
  double dx = 0, dy = 0;

  if (ev->direction == GDK_SCROLL_UP)
    dy = -1;
  else if (ev->direction == GDK_SCROLL_DOWN)
    dy = 1;
  else if (ev->direction == GDK_SCROLL_SMOOTH)
    gdk_event_get_scroll_deltas ((GdkEvent *) ev, &dx, &dy);
  gtk_adjustment_set_value (g->vadj, gtk_adjustment_get_value (g->vadj)
                                       + dy * CELL_H / 1.5);
  return TRUE;
}

static int
index_at (HippoThumbGrid *g, double x, double y)
{
  int cols = n_cols (g);
  int w = gtk_widget_get_allocated_width (g->area);
  int x0 = (w - cols * CELL_W) / 2;
  int col = (int) floor ((x - x0) / CELL_W);
  int row = (int) floor ((y + gtk_adjustment_get_value (g->vadj)) / CELL_H);
  int i = row * cols + col;

  if (col < 0 || col >= cols || row < 0 || i >= (int) g->items->len)
    return -1;
  return i;
}

static void
select_range (HippoThumbGrid *g, int a, int b)
{
  for (int i = MIN (a, b); i <= MAX (a, b); i++)
    if (i >= 0 && i < (int) g->items->len)
      g_hash_table_add (g->selected, g->items->pdata[i]);
}

static gboolean
on_button_press (GtkWidget *area, GdkEventButton *ev, gpointer data)
{
  HippoThumbGrid *g = data;
  int i = index_at (g, ev->x, ev->y);
  gpointer it;

  gtk_widget_grab_focus (area);
  if (ev->button != GDK_BUTTON_PRIMARY || ev->type != GDK_BUTTON_PRESS || i < 0)
    return FALSE;
  it = g->items->pdata[i];
  if (ev->state & GDK_SHIFT_MASK)
    {
      if (!(ev->state & GDK_CONTROL_MASK))
        g_hash_table_remove_all (g->selected);
      select_range (g, g->anchor >= 0 ? g->anchor : i, i);
    }
  else if (ev->state & GDK_CONTROL_MASK)
    {
      if (!g_hash_table_remove (g->selected, it))
        g_hash_table_add (g->selected, it);
      g->anchor = i;
    }
  else
    {
      g_hash_table_remove_all (g->selected);
      g_hash_table_add (g->selected, it);
      g->anchor = i;
    }
  g->cursor = i;
  gtk_widget_queue_draw (area);
  return FALSE; /* the trainer sees double clicks */
}

static gboolean
on_key_press (GtkWidget *area, GdkEventKey *ev, gpointer data)
{
  HippoThumbGrid *g = data;
  int cols = n_cols (g), rows_page, step = 0, target;
  gboolean extend = (ev->state & GDK_SHIFT_MASK) != 0;

  if (g->items->len == 0)
    return FALSE;
  rows_page = MAX (1, gtk_widget_get_allocated_height (area) / CELL_H);
  switch (ev->keyval)
    {
      case GDK_KEY_Left:
      case GDK_KEY_KP_Left:
        step = -1;
        break;
      case GDK_KEY_Right:
      case GDK_KEY_KP_Right:
        step = 1;
        break;
      case GDK_KEY_Up:
      case GDK_KEY_KP_Up:
        step = -cols;
        break;
      case GDK_KEY_Down:
      case GDK_KEY_KP_Down:
        step = cols;
        break;
      case GDK_KEY_Page_Up:
        step = -cols * rows_page;
        break;
      case GDK_KEY_Page_Down:
        step = cols * rows_page;
        break;
      case GDK_KEY_Home:
        step = -(int) g->items->len;
        break;
      case GDK_KEY_End:
        step = g->items->len;
        break;
      case GDK_KEY_a:
        if (ev->state & GDK_CONTROL_MASK)
          {
            hippo_thumb_grid_select_all (g);
            return TRUE;
          }
        return FALSE;
      default:
        return FALSE;
    }
  target = CLAMP (MAX (g->cursor, 0) + step, 0, (int) g->items->len - 1);
  hippo_thumb_grid_set_cursor (g, target, extend);
  return TRUE;
}

static void
on_focus_change (GtkWidget *area, GdkEvent *ev, gpointer data)
{
  gtk_widget_queue_draw (area);
}

static void
grid_free (gpointer data)
{
  HippoThumbGrid *g = data;

  if (g->pump_id)
    g_source_remove (g->pump_id);
  g_atomic_int_set (&g->loader->alive, 0);
  /* queued requests skip decoding and come back at once */
  g_thread_pool_free (g->pool, FALSE, TRUE);
  g_idle_remove_by_data (g->loader);
  for (Request *r; (r = g_async_queue_try_pop (g->loader->results)) != NULL;)
    {
      g_clear_object (&r->pixbuf);
      g_free (r->path);
      g_free (r);
      loader_unref (g->loader);
    }
  loader_unref (g->loader);
  g_ptr_array_unref (g->items);
  g_hash_table_unref (g->selected);
  g_object_unref (g->vadj);
  g_free (g);
}

GtkWidget *
hippo_thumb_grid_new (HippoClassLookup lookup, gpointer user_data)
{
  HippoThumbGrid *g = g_new0 (HippoThumbGrid, 1);
  GtkWidget *scrollbar;

  g->lookup = lookup;
  g->lookup_data = user_data;
  g->items = g_ptr_array_new ();
  g->selected = g_hash_table_new (NULL, NULL);
  g->cursor = -1;
  g->anchor = -1;
  g->loader = g_new0 (Loader, 1);
  g->loader->ref = 1;
  g->loader->alive = 1;
  g->loader->results = g_async_queue_new ();
  g->loader->grid = g;
  g->pool = g_thread_pool_new (
    decode, NULL, CLAMP (g_get_num_processors (), 1, 4), TRUE, NULL);
  g->vadj = g_object_ref_sink (gtk_adjustment_new (0, 0, 1, 1, 1, 1));
  g->box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  g->area = gtk_drawing_area_new ();
  gtk_widget_set_can_focus (g->area, TRUE);
  gtk_widget_set_hexpand (g->area, TRUE);
  gtk_widget_set_vexpand (g->area, TRUE);
  gtk_widget_set_size_request (g->area, CELL_W * 2, CELL_H * 2);
  gtk_widget_add_events (g->area, GDK_SCROLL_MASK | GDK_SMOOTH_SCROLL_MASK
                                    | GDK_BUTTON_PRESS_MASK | GDK_KEY_PRESS_MASK
                                    | GDK_FOCUS_CHANGE_MASK);
  gtk_style_context_add_class (gtk_widget_get_style_context (g->area),
                               GTK_STYLE_CLASS_VIEW);
  gtk_widget_set_tooltip_text (
    g->area, "Arrows move, Shift extends the selection, 1–9 label and go to "
             "the next image, Backspace unlabels, Space shows the image "
             "large, Ctrl+Z undoes");
  scrollbar = gtk_scrollbar_new (GTK_ORIENTATION_VERTICAL, g->vadj);
  gtk_container_add (GTK_CONTAINER (g->box), g->area);
  gtk_container_add (GTK_CONTAINER (g->box), scrollbar);
  g_signal_connect (g->area, "draw", G_CALLBACK (on_draw), g);
  g_signal_connect (g->area, "size-allocate", G_CALLBACK (on_size_allocate), g);
  g_signal_connect (g->area, "scroll-event", G_CALLBACK (on_scroll), g);
  g_signal_connect (g->area, "button-press-event", G_CALLBACK (on_button_press),
                    g);
  g_signal_connect (g->area, "key-press-event", G_CALLBACK (on_key_press), g);
  g_signal_connect (g->area, "focus-in-event", G_CALLBACK (on_focus_change), g);
  g_signal_connect (g->area, "focus-out-event", G_CALLBACK (on_focus_change),
                    g);
  g_signal_connect (g->vadj, "value-changed", G_CALLBACK (on_value_changed), g);
  g_object_set_data_full (G_OBJECT (g->box), "hippo-thumb-grid", g, grid_free);
  return g->box;
}

HippoThumbGrid *
hippo_thumb_grid_get (GtkWidget *widget)
{
  return g_object_get_data (G_OBJECT (widget), "hippo-thumb-grid");
}

GtkWidget *
hippo_thumb_grid_get_area (HippoThumbGrid *grid)
{
  return grid->area;
}

void
hippo_thumb_grid_set_items (HippoThumbGrid *g, GPtrArray *items)
{
  g_autoptr (GHashTable) shown = g_hash_table_new (NULL, NULL);
  GHashTableIter iter;
  gpointer key;

  g_ptr_array_set_size (g->items, 0);
  for (guint i = 0; i < items->len; i++)
    {
      g_ptr_array_add (g->items, items->pdata[i]);
      g_hash_table_add (shown, items->pdata[i]);
    }
  g_hash_table_iter_init (&iter, g->selected);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (shown, key))
      g_hash_table_iter_remove (&iter);
  if (g->items->len == 0)
    g->cursor = -1;
  else
    g->cursor = CLAMP (g->cursor, 0, (int) g->items->len - 1);
  g->anchor = MIN (g->anchor, g->cursor);
  update_adjustment (g);
  gtk_widget_queue_draw (g->area);
  queue_pump (g);
}

guint
hippo_thumb_grid_get_n_items (HippoThumbGrid *grid)
{
  return grid->items->len;
}

HippoTrainerItem *
hippo_thumb_grid_get_item (HippoThumbGrid *grid, guint i)
{
  return i < grid->items->len ? grid->items->pdata[i] : NULL;
}

int
hippo_thumb_grid_get_cursor (HippoThumbGrid *grid)
{
  return grid->cursor;
}

void
hippo_thumb_grid_set_cursor (HippoThumbGrid *g, guint index, gboolean extend)
{
  if (g->items->len == 0)
    return;
  index = MIN (index, g->items->len - 1);
  if (extend)
    {
      if (g->anchor < 0)
        g->anchor = MAX (g->cursor, 0);
      g_hash_table_remove_all (g->selected);
      select_range (g, g->anchor, index);
    }
  else
    {
      g_hash_table_remove_all (g->selected);
      g_hash_table_add (g->selected, g->items->pdata[index]);
      g->anchor = index;
    }
  g->cursor = index;
  scroll_to_cursor (g);
  gtk_widget_queue_draw (g->area);
}

GPtrArray *
hippo_thumb_grid_get_selected (HippoThumbGrid *g)
{
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; i < g->items->len; i++)
    if (g_hash_table_contains (g->selected, g->items->pdata[i]))
      g_ptr_array_add (out, g->items->pdata[i]);
  if (out->len == 0 && g->cursor >= 0)
    g_ptr_array_add (out, g->items->pdata[g->cursor]);
  return out;
}

void
hippo_thumb_grid_select_all (HippoThumbGrid *g)
{
  select_range (g, 0, (int) g->items->len - 1);
  gtk_widget_queue_draw (g->area);
}

void
hippo_thumb_grid_redraw (HippoThumbGrid *grid)
{
  gtk_widget_queue_draw (grid->area);
}

void
hippo_thumb_grid_count_visible (HippoThumbGrid *g, guint *n_visible,
                                guint *n_loaded)
{
  int first, last;

  *n_visible = *n_loaded = 0;
  if (g->items->len == 0 || !gtk_widget_get_realized (g->area))
    return;
  visible_range (g, &first, &last);
  for (int i = MAX (first, 0); i <= last; i++)
    {
      HippoTrainerItem *it = g->items->pdata[i];
      (*n_visible)++;
      if (it->thumb_state == HIPPO_THUMB_DONE
          || it->thumb_state == HIPPO_THUMB_FAILED)
        (*n_loaded)++;
    }
}

gboolean
hippo_thumb_grid_get_cell_area (HippoThumbGrid *g, guint index,
                                GdkRectangle *cell)
{
  if (index >= g->items->len)
    return FALSE;
  cell_origin (g, index, &cell->x, &cell->y);
  cell->width = CELL_W;
  cell->height = CELL_H;
  return TRUE;
}

gint64
hippo_thumb_grid_get_thumb_paint_time (HippoThumbGrid *grid)
{
  return grid->thumb_paint_time;
}
