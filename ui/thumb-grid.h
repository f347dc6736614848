/* Hippotag trainer — a virtualised thumbnail grid: draws only the visible
 * cells, decodes thumbnails on worker threads (visible ones first, a bounded
 * number in flight) and applies them in short idle callbacks. Private to ui/.
 */
#ifndef HIPPO_THUMB_GRID_H
#define HIPPO_THUMB_GRID_H

#include "trainer-item.h"

G_BEGIN_DECLS

typedef struct _HippoThumbGrid HippoThumbGrid;

/* The side of the square a thumbnail fits in, in logical pixels; the
 * thumbnails are decoded at this times the widget's scale factor. */
#define HIPPO_THUMB_SIZE 112

/* Colour and name of a class id, for the label chip and prediction bar. */
typedef gboolean (*HippoClassLookup) (gint64 id, GdkRGBA *colour,
                                      const char **name, gpointer user_data);

/* Returns a container widget; the grid lives as long as it. */
GtkWidget *hippo_thumb_grid_new (HippoClassLookup lookup, gpointer user_data);
HippoThumbGrid *hippo_thumb_grid_get (GtkWidget *widget);
/* The focusable drawing area (key and drop events). */
GtkWidget *hippo_thumb_grid_get_area (HippoThumbGrid *grid);

/* @items: HippoTrainerItem pointers in display order (copied; the items
 * are borrowed and must outlive the grid). The cursor stays at its index,
 * clamped; the selection keeps the items still shown. */
void hippo_thumb_grid_set_items (HippoThumbGrid *grid, GPtrArray *items);
guint hippo_thumb_grid_get_n_items (HippoThumbGrid *grid);
HippoTrainerItem *hippo_thumb_grid_get_item (HippoThumbGrid *grid, guint i);

/* The cursor's index, or -1 when empty. */
int hippo_thumb_grid_get_cursor (HippoThumbGrid *grid);
void hippo_thumb_grid_set_cursor (HippoThumbGrid *grid, guint index,
                                  gboolean extend);
/* The selected items in display order (the cursor's item when none is
 * selected); free with g_ptr_array_unref(). */
GPtrArray *hippo_thumb_grid_get_selected (HippoThumbGrid *grid);
void hippo_thumb_grid_select_all (HippoThumbGrid *grid);
void hippo_thumb_grid_redraw (HippoThumbGrid *grid);

/* Visible cells and how many of them show a decoded thumbnail (tests and
 * the performance check). */
void hippo_thumb_grid_count_visible (HippoThumbGrid *grid, guint *n_visible,
                                     guint *n_loaded);
/* The cell of item @index in the drawing area's coordinates (logical
 * pixels), scrolled as shown; FALSE when @index is out of range. */
gboolean hippo_thumb_grid_get_cell_area (HippoThumbGrid *grid, guint index,
                                         GdkRectangle *cell);
/* Monotonic time of the last draw that painted a thumbnail (0: never). */
gint64 hippo_thumb_grid_get_thumb_paint_time (HippoThumbGrid *grid);

G_END_DECLS

#endif /* HIPPO_THUMB_GRID_H */
