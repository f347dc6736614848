/* The trainer driven through its real widgets under Xvfb (run by
 * tests/ui/run-ui-tests): labelling by key presses, undo, training with
 * predictions on the thumbnails, the same outcome on every run and under
 * load, reopening the project (labels and predictions), the class dialogs,
 * the Apply dialog (preview, then tag or sort), the 5,000-image folder:
 * first thumbnails and main-loop gaps, and the scale factor (HiDPI; the
 * test-ui-hidpi test runs that case with GDK_SCALE=2). */
#include "trainer-private.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <math.h>
#include <string.h>

typedef struct
{
  char *dir;
} Fixture;

static const char *
datasets (void)
{
  static char path[4096];
  const char *shared = g_getenv ("HIPPOTAG_SHARED");
  const char *src = g_getenv ("HIPPOTAG_SRCDIR");

  if (shared)
    g_snprintf (path, sizeof path, "%s/datasets", shared);
  else
    g_snprintf (path, sizeof path, "%s/../shared/datasets", src ? src : ".");
  return path;
}

static gboolean
have_display (void)
{
  if (g_getenv ("DISPLAY") == NULL || !gtk_init_check (NULL, NULL))
    {
      g_test_skip ("SKIPPED LOUDLY: no X server (run through "
                   "tests/ui/run-ui-tests, which starts Xvfb)");
      return FALSE;
    }
  return TRUE;
}

static void
spin_until (gboolean (*done) (gpointer), gpointer data, double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * 1e6);

  while (!done (data) && g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

static gboolean
idle_done (gpointer data)
{
  return !hippo_trainer_is_busy (data);
}

/* Waits for the trainer's work, then for what it posted to the main loop. */
static void
wait_idle (HippoTrainer *t, double seconds)
{
  spin_until (idle_done, t, seconds);
  g_assert_false (hippo_trainer_is_busy (t));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
send_key (GtkWidget *window, guint keyval, GdkModifierType state)
{
  GdkEvent *ev = gdk_event_new (GDK_KEY_PRESS);
  GdkDisplay *display = gtk_widget_get_display (window);
  GdkKeymapKey *keys = NULL;
  gint n_keys = 0;

  ev->key.window = g_object_ref (gtk_widget_get_window (window));
  ev->key.send_event = TRUE;
  ev->key.time = GDK_CURRENT_TIME;
  ev->key.state = state;
  ev->key.keyval = keyval;
  if (gdk_keymap_get_entries_for_keyval (gdk_keymap_get_for_display (display),
                                         keyval, &keys, &n_keys)
      && n_keys > 0)
    ev->key.hardware_keycode = keys[0].keycode;
  g_free (keys);
  gdk_event_set_device (
    ev, gdk_seat_get_keyboard (gdk_display_get_default_seat (display)));
  gtk_main_do_event (ev);
  gdk_event_free (ev);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("hippotag-ui-XXXXXX", NULL);
}

static void
rm_rf (const char *path)
{
  g_autofree char *cmd = NULL;

  g_assert_true (g_str_has_prefix (path, g_get_tmp_dir ()));
  cmd = g_strdup_printf ("rm -rf '%s'", path);
  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  rm_rf (f->dir);
  g_free (f->dir);
}

/* g_ptr_array_sort() passes pointers to the elements. */
static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Copies the first N images of CLASS (in byte order of their names) into
 * DIR under their own names, adding the names to @copied. */
static guint
copy_images_named (const char *set, const char *cls, guint n, const char *dir,
                   GPtrArray *copied)
{
  g_autofree char *src = g_build_filename (datasets (), set, cls, NULL);
  g_autoptr (GDir) d = g_dir_open (src, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  guint done = 0;

  if (d == NULL)
    return 0;
  while ((name = g_dir_read_name (d)))
    if (g_str_has_suffix (name, ".png"))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 1; i < names->len; i++)
    g_assert_cmpint (strcmp (names->pdata[i - 1], names->pdata[i]), <, 0);
  for (guint i = 0; i < names->len && done < n; i++)
    {
      g_autofree char *from = g_build_filename (src, names->pdata[i], NULL);
      g_autofree char *to = g_build_filename (dir, names->pdata[i], NULL);
      gchar *bytes;
      gsize len;
      g_assert_false (g_file_test (to, G_FILE_TEST_EXISTS));
      if (g_file_get_contents (from, &bytes, &len, NULL))
        {
          g_assert_true (g_file_set_contents (to, bytes, len, NULL));
          g_free (bytes);
          g_ptr_array_add (copied, g_strdup (names->pdata[i]));
          done++;
        }
    }
  return done;
}

/* The same, renamed CLASS-i.png (i in the sorted order) in DIR. */
static guint
copy_images (const char *set, const char *cls, guint n, const char *dir)
{
  g_autoptr (GPtrArray) copied = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *tmp = g_build_filename (dir, ".copying", NULL);
  guint done;

  g_mkdir (tmp, 0755);
  done = copy_images_named (set, cls, n, tmp, copied);
  for (guint i = 0; i < copied->len; i++)
    {
      g_autofree char *from = g_build_filename (tmp, copied->pdata[i], NULL);
      g_autofree char *base = g_strdup_printf ("%s-%02u.png", cls, i);
      g_autofree char *to = g_build_filename (dir, base, NULL);
      g_assert_cmpint (g_rename (from, to), ==, 0);
    }
  g_assert_cmpint (g_rmdir (tmp), ==, 0);
  return done;
}

static int
grid_index_of_name (HippoTrainer *t, const char *name)
{
  for (guint i = 0; i < hippo_thumb_grid_get_n_items (t->grid); i++)
    if (strcmp (hippo_thumb_grid_get_item (t->grid, i)->name, name) == 0)
      return i;
  return -1;
}

static HippoTrainerItem *
item_named (HippoTrainer *t, const char *name)
{
  for (guint i = 0; i < t->items->len; i++)
    {
      HippoTrainerItem *it = t->items->pdata[i];
      if (strcmp (it->name, name) == 0)
        return it;
    }
  return NULL;
}

static gint64
class_id (HippoTrainer *t, guint position)
{
  g_assert_cmpuint (position, <, t->classes->len);
  return ((HippoClassInfo *) t->classes->pdata[position])->id;
}

/* --- the widgets of dialogs ---------------------------------------------- */

static void
collect (GtkWidget *w, gpointer data)
{
  GPtrArray *out = data;

  g_ptr_array_add (out, w);
  if (GTK_IS_CONTAINER (w))
    gtk_container_forall (GTK_CONTAINER (w), collect, out);
}

/* The @n-th (0-based) widget of exactly @type (not a subclass: a radio
 * button is no check button here) inside @root, depth first. */
static GtkWidget *
find_widget (GtkWidget *root, GType type, guint n)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new ();

  collect (root, all);
  for (guint i = 0; i < all->len; i++)
    if (G_OBJECT_TYPE (all->pdata[i]) == type && n-- == 0)
      return all->pdata[i];
  return NULL;
}

/* The button inside @root whose label (mnemonic and all) starts with
 * @prefix. */
static GtkWidget *
find_button (GtkWidget *root, const char *prefix)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new ();

  collect (root, all);
  for (guint i = 0; i < all->len; i++)
    if (GTK_IS_BUTTON (all->pdata[i])
        && g_str_has_prefix (gtk_button_get_label (all->pdata[i])
                               ? gtk_button_get_label (all->pdata[i])
                               : "",
                             prefix))
      return all->pdata[i];
  g_error ("no button \"%s…\"", prefix);
}

/* The shown dialog of @parent titled @title, or NULL. */
static GtkWidget *
find_dialog (GtkWidget *parent, const char *title)
{
  GList *tops = gtk_window_list_toplevels ();
  GtkWidget *found = NULL;

  for (GList *l = tops; l && !found; l = l->next)
    if (GTK_IS_DIALOG (l->data)
        && gtk_window_get_transient_for (l->data) == GTK_WINDOW (parent)
        && gtk_widget_get_visible (l->data)
        && g_strcmp0 (gtk_window_get_title (l->data), title) == 0)
      found = l->data;
  g_list_free (tops);
  return found;
}

/* The shown message dialog of @parent, or NULL. */
static GtkWidget *
find_message_dialog (GtkWidget *parent)
{
  GList *tops = gtk_window_list_toplevels ();
  GtkWidget *found = NULL;

  for (GList *l = tops; l && !found; l = l->next)
    if (GTK_IS_MESSAGE_DIALOG (l->data)
        && gtk_window_get_transient_for (l->data) == GTK_WINDOW (parent)
        && gtk_widget_get_visible (l->data))
      found = l->data;
  g_list_free (tops);
  return found;
}

/* Clicks a dialog's button, as a user can: only a sensitive one. */
static void
click_response (GtkWidget *dialog, int response)
{
  GtkWidget *b
    = gtk_dialog_get_widget_for_response (GTK_DIALOG (dialog), response);

  g_assert_nonnull (b);
  g_assert_true (gtk_widget_is_sensitive (b));
  gtk_button_clicked (GTK_BUTTON (b));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gboolean
response_sensitive (GtkWidget *dialog, int response)
{
  return gtk_widget_is_sensitive (
    gtk_dialog_get_widget_for_response (GTK_DIALOG (dialog), response));
}

/* The row of the class list that shows class @id. */
static GtkWidget *
class_row (HippoTrainer *t, gint64 id)
{
  GtkListBoxRow *row;

  for (int i = 0;
       (row = gtk_list_box_get_row_at_index (GTK_LIST_BOX (t->class_list), i))
       != NULL;
       i++)
    {
      GtkWidget *child = gtk_bin_get_child (GTK_BIN (row));
      if ((gint64) GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (child), "id"))
          == id)
        return GTK_WIDGET (row);
    }
  return NULL;
}

/* --- what the project holds --------------------------------------------- */

/* Checks that the features cached for @path are its own: those of a
 * session of the test's (one thread, one image) on the file alone. */
static void
assert_features_of (HippoProject *project, const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *model_id
    = hippo_project_get_string (project, HIPPO_SETTING_MODEL_ID, NULL, &error);
  g_autofree char *layers
    = hippo_project_get_string (project, HIPPO_SETTING_LAYERS, NULL, &error);
  g_autofree char *hash = hippo_project_hash_file (project, path, &error);
  g_autoptr (HippoModel) model = hippo_model_load (HIPPO_DEFAULT_MODEL, &error);
  g_autoptr (HippoSession) session = NULL;
  g_autofree float *input = NULL;
  g_autofree float *cached = NULL;
  g_autofree float *ref = NULL;
  HippoSessionParams sp;
  guint dim = 0;
  double worst = 0, scale = 0;
  int w, h;

  g_assert_no_error (error);
  g_assert_cmpstr (hippo_model_get_id (model), ==, model_id);
  hippo_session_params_default (&sp);
  sp.layers = layers;
  sp.precision = HIPPO_PRECISION_AUTO; /* the trainer's, as the CLI's */
  session = hippo_session_new (model, &sp, &error);
  g_assert_no_error (error);
  hippo_model_get_input_size (model, &w, &h);
  input = g_new (float, (gsize) w *h * 3);
  g_assert_true (hippo_image_load_input (model, path, input, &error));
  g_assert_no_error (error);
  ref = g_new (float, hippo_session_get_dim (session));
  g_assert_true (hippo_session_run (session, input, 1, ref, &error));
  g_assert_no_error (error);
  /* the cache is keyed by the resolved layer names */
  g_assert_true (hippo_project_get_features (
    project, hash, model_id, hippo_session_get_layers (session),
    HIPPO_PREPROCESS_VERSION
      + (hippo_session_get_precision (session) == HIPPO_PRECISION_BFLOAT16
           ? HIPPO_CACHE_VERSION_BFLOAT16
           : 0),
    &cached, &dim, &error));
  g_assert_no_error (error);
  g_assert_nonnull (cached);
  g_assert_cmpuint (dim, ==, hippo_session_get_dim (session));
  for (guint i = 0; i < dim; i++)
    {
      worst = MAX (worst, fabs (cached[i] - ref[i]));
      scale = MAX (scale, fabs (ref[i]));
    }
  if (worst > 1e-5 * MAX (scale, 1e-3))
    g_error ("the features cached for %s are not its own: worst |error| %g "
             "(max |value| %g)",
             path, worst, scale);
}

/* "NAME=CLASS" of every example, sorted. */
static char *
examples_text (HippoProject *project)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) ex
    = hippo_project_list_examples (project, NULL, &error);
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  g_assert_no_error (error);
  for (guint i = 0; i < ex->len; i++)
    {
      HippoExample *e = ex->pdata[i];
      g_autofree char *base = g_path_get_basename (e->path);
      g_ptr_array_add (lines, g_strdup_printf ("%s=%s", base, e->class_name));
    }
  g_ptr_array_sort (lines, compare_names);
  g_ptr_array_add (lines, NULL);
  return g_strjoinv (" ", (char **) lines->pdata);
}

/* "NAME CLASS CONFIDENCE" of every image in the grid, in order. */
static char *
predictions_text (HippoTrainer *t)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < t->items->len; i++)
    {
      HippoTrainerItem *it = t->items->pdata[i];
      const HippoClassInfo *c = hippo_trainer_lookup_class (t, it->pred_id);
      g_string_append_printf (s, "%s %s %.6f\n", it->name, c ? c->name : "-",
                              it->confidence);
    }
  return g_string_free (s, FALSE);
}

/* "NAME CLASS CONFIDENCE" of every image of @dir (sorted), each classified
 * alone by a classifier of its own on @project. */
static gboolean
append_prediction (guint index, const char *path, const HippoPrediction *p,
                   const GError *error, gpointer user_data)
{
  g_autofree char *base = g_path_get_basename (path);

  g_assert_no_error ((GError *) error);
  g_assert_nonnull (p);
  g_string_append_printf (user_data, "%s %s %.6f\n", base, p->label,
                          p->confidence);
  return TRUE;
}

static char *
classify_alone (const char *project, const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoClassifier) c = hippo_classifier_open (project, NULL, &error);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  GString *s = g_string_new (NULL);
  const char *name;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (d)))
    if (g_str_has_suffix (name, ".png"))
      g_ptr_array_add (paths, g_build_filename (dir, name, NULL));
  g_ptr_array_sort (paths, compare_names);
  for (guint i = 0; i < paths->len; i++)
    {
      g_assert_true (hippo_classifier_classify_files (
        c, (const char *const *) &paths->pdata[i], 1, append_prediction, s,
        &error));
      g_assert_no_error (error);
    }
  return g_string_free (s, FALSE);
}

/* --- labelling, training, reopening --------------------------------------- */

static const char *const scenario_classes[] = { "animals", "vehicles", "food" };

/* Copies 8 stamps of each class into DIR/images; FALSE (skipped loudly)
 * without the data set. */
static gboolean
scenario_images (const char *dir, char **images)
{
  *images = g_build_filename (dir, "images", NULL);
  g_mkdir (*images, 0755);
  for (guint c = 0; c < 3; c++)
    if (copy_images ("tuxpaint-stamps", scenario_classes[c], 8, *images) < 8)
      {
        g_test_skip ("SKIPPED LOUDLY: the tuxpaint-stamps data set is "
                     "missing (HIPPOTAG_SHARED)");
        return FALSE;
      }
  return TRUE;
}

/* A new project in @project on @images: three classes, each run of 8
 * labelled by its key with Shift+Right, food-03 wrongly labelled and undone
 * (Ctrl+Z), vehicles-07 unlabelled (Backspace), then Ctrl+T. Leaves the
 * window open, trained. */
static GtkWidget *
label_and_train (const char *project, const char *images)
{
  g_autoptr (GError) error = NULL;
  GtkWidget *window = hippo_trainer_window_new (NULL, project, &error);
  HippoTrainer *t;
  int i;

  g_assert_no_error (error);
  t = hippo_trainer_from_window (window);
  gtk_widget_show (window);
  hippo_trainer_add_files (window, &images, 1);
  wait_idle (t, 10);
  g_assert_cmpuint (hippo_thumb_grid_get_n_items (t->grid), ==, 24);
  for (guint c = 0; c < 3; c++)
    {
      g_assert_true (hippo_trainer_add_class (t, scenario_classes[c], &error));
      g_assert_no_error (error);
    }
  g_assert_cmpuint (t->classes->len, ==, 3);

  /* files sort as animals-*, food-*, vehicles-*: label each run of 8 by
   * pressing its class number on the first and holding Shift+Right */
  gtk_widget_grab_focus (hippo_thumb_grid_get_area (t->grid));
  for (guint c = 0; c < 3; c++)
    {
      g_autofree char *first
        = g_strdup_printf ("%s-00.png", scenario_classes[c]);
      i = grid_index_of_name (t, first);
      g_assert_cmpint (i, >=, 0);
      hippo_thumb_grid_set_cursor (t->grid, i, FALSE);
      for (guint k = 0; k < 7; k++)
        send_key (window, GDK_KEY_Right, GDK_SHIFT_MASK);
      send_key (window, GDK_KEY_1 + c, 0);
      /* the key's class is selected in the panel */
      g_assert_cmpint (hippo_trainer_get_selected_class (t), ==,
                       class_id (t, c));
    }
  for (guint j = 0; j < 24; j++)
    g_assert_cmpint (hippo_thumb_grid_get_item (t->grid, j)->label_id, !=, 0);

  /* a single key label, then undo it */
  i = grid_index_of_name (t, "food-03.png");
  hippo_thumb_grid_set_cursor (t->grid, i, FALSE);
  send_key (window, GDK_KEY_1, 0); /* wrongly "animals" */
  g_assert_cmpint (hippo_thumb_grid_get_item (t->grid, i)->label_id, ==,
                   class_id (t, 0));
  /* the cursor moved on to the next image */
  g_assert_cmpint (hippo_thumb_grid_get_cursor (t->grid), ==, i + 1);
  send_key (window, GDK_KEY_z, GDK_CONTROL_MASK);
  g_assert_cmpint (hippo_thumb_grid_get_item (t->grid, i)->label_id, ==,
                   class_id (t, 2));
  /* Backspace unlabels one */
  i = grid_index_of_name (t, "vehicles-07.png");
  hippo_thumb_grid_set_cursor (t->grid, i, FALSE);
  send_key (window, GDK_KEY_BackSpace, 0);
  g_assert_cmpint (hippo_thumb_grid_get_item (t->grid, i)->label_id, ==, 0);
  wait_idle (t, 60);
  g_assert_null (t->last_error);
  for (guint c = 0; c < 3; c++)
    g_assert_cmpuint (((HippoClassInfo *) t->classes->pdata[c])->n_examples, ==,
                      c == 1 ? 7 : 8);
  /* the panel kept the last key's class selected while the counts
   * changed */
  g_assert_cmpint (hippo_trainer_get_selected_class (t), ==, class_id (t, 0));

  send_key (window, GDK_KEY_t, GDK_CONTROL_MASK);
  g_assert_true (t->busy_train);
  g_assert_false (gtk_widget_get_sensitive (t->train_button));
  g_assert_true (gtk_widget_get_sensitive (t->cancel_button));
  wait_idle (t, 120);
  g_assert_null (t->last_error);
  g_assert_nonnull (t->metrics_json);
  g_assert_true (gtk_widget_get_sensitive (t->train_button));
  g_assert_false (gtk_widget_get_sensitive (t->cancel_button));
  return window;
}

/* What the project holds after label_and_train(): exactly these examples,
 * each with the features of its own file. */
static void
assert_scenario_project (HippoTrainer *t, const char *images)
{
  g_autofree char *have = examples_text (t->project);
  g_autoptr (GPtrArray) want = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *want_text = NULL;
  g_autoptr (GPtrArray) ex
    = hippo_project_list_examples (t->project, NULL, NULL);
  g_autofree char *v07 = g_build_filename (images, "vehicles-07.png", NULL);

  for (guint c = 0; c < 3; c++)
    for (guint k = 0; k < 8; k++)
      if (!(c == 1 && k == 7))
        g_ptr_array_add (want,
                         g_strdup_printf ("%s-%02u.png=%s", scenario_classes[c],
                                          k, scenario_classes[c]));
  g_ptr_array_sort (want, compare_names);
  g_ptr_array_add (want, NULL);
  want_text = g_strjoinv (" ", (char **) want->pdata);
  g_assert_cmpstr (have, ==, want_text);
  for (guint i = 0; i < ex->len; i++)
    assert_features_of (t->project, ((HippoExample *) ex->pdata[i])->path);
  /* labelled, then unlabelled: still cached, and its own */
  assert_features_of (t->project, v07);
}

static void
test_label_train_undo_reopen (Fixture *f, gconstpointer data)
{
  g_autofree char *images = NULL;
  g_autofree char *more = g_build_filename (f->dir, "more", NULL);
  g_autofree char *project = g_build_filename (f->dir, "t.hippotag", NULL);
  g_autofree char *shown = NULL;
  g_autofree char *reshown = NULL;
  g_autofree char *independent = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoHeadRecord) head = NULL;
  g_autoptr (HippoHeadRecord) head_after = NULL;
  GtkWidget *window;
  HippoTrainer *t;
  guint n_pred = 0, n_right = 0;

  if (!have_display () || !scenario_images (f->dir, &images))
    return;
  window = label_and_train (project, images);
  t = hippo_trainer_from_window (window);
  assert_scenario_project (t, images);
  for (guint j = 0; j < t->items->len; j++)
    {
      HippoTrainerItem *it = t->items->pdata[j];
      if (it->pred_id)
        n_pred++;
      if (it->label_id && it->pred_id == it->label_id)
        n_right++;
      if (it->label_id == 0)
        g_assert_false (isnan (it->uncertainty));
    }
  g_test_message ("predictions: %u of 24; %u of 23 labelled agree; "
                  "vehicles-07 %.3f",
                  n_pred, n_right,
                  item_named (t, "vehicles-07.png")->confidence);
  g_assert_cmpuint (n_pred, ==, 24);
  g_assert_cmpuint (n_right, >=, 20);
  /* the unlabelled one is predicted as a vehicle */
  g_assert_cmpint (item_named (t, "vehicles-07.png")->pred_id, ==,
                   class_id (t, 1));
  hippo_trainer_set_filter (t, "unlabelled");
  g_assert_cmpuint (hippo_thumb_grid_get_n_items (t->grid), ==, 1);
  hippo_trainer_set_filter (t, "all");
  shown = predictions_text (t);
  gtk_widget_destroy (window);

  /* the grid showed what the stored head predicts, file by file, as the
   * CLI would */
  independent = classify_alone (project, images);
  g_assert_cmpstr (shown, ==, independent);

  /* reopen: labels and the stored head's predictions, without training */
  {
    g_autoptr (HippoProject) p
      = hippo_project_open (project, HIPPO_PROJECT_OPEN_DEFAULT, &error);
    g_assert_no_error (error);
    head = hippo_project_load_head (p, &error);
    g_assert_no_error (error);
    g_assert_false (head->stale);
  }
  window = hippo_trainer_window_new (NULL, project, &error);
  g_assert_no_error (error);
  t = hippo_trainer_from_window (window);
  for (guint c = 0; c < 3; c++)
    g_assert_cmpuint (((HippoClassInfo *) t->classes->pdata[c])->n_examples, ==,
                      c == 1 ? 7 : 8);
  g_assert_nonnull (t->metrics_json);
  gtk_widget_show (window);
  hippo_trainer_add_files (window, (const char *const *) &images, 1);
  wait_idle (t, 60);
  g_assert_null (t->last_error);
  g_assert_false (t->busy_train);
  g_assert_cmpint (item_named (t, "food-03.png")->label_id, ==,
                   class_id (t, 2));
  g_assert_cmpint (item_named (t, "vehicles-07.png")->label_id, ==, 0);
  reshown = predictions_text (t);
  g_assert_cmpstr (reshown, ==, shown);
  for (guint j = 0; j < t->items->len; j++)
    g_assert_false (
      isnan (((HippoTrainerItem *) t->items->pdata[j])->uncertainty));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (t->status)),
                            "predictions of the last training"));
  /* shown, not trained again */
  head_after = hippo_project_load_head (t->project, &error);
  g_assert_no_error (error);
  g_assert_cmpint (head_after->trained_at, ==, head->trained_at);
  g_assert_true (g_bytes_equal (head_after->blob, head->blob));

  /* a label change makes the head stale: images added now get no
   * prediction, and the status says why */
  hippo_thumb_grid_set_cursor (t->grid, grid_index_of_name (t, "food-00.png"),
                               FALSE);
  gtk_widget_grab_focus (hippo_thumb_grid_get_area (t->grid));
  send_key (window, GDK_KEY_BackSpace, 0);
  wait_idle (t, 30);
  g_mkdir (more, 0755);
  g_assert_cmpuint (copy_images ("tuxpaint-stamps", "plants", 2, more), ==, 2);
  hippo_trainer_add_files (window, (const char *const *) &more, 1);
  wait_idle (t, 30);
  g_assert_cmpuint (t->items->len, ==, 26);
  g_assert_cmpint (item_named (t, "plants-00.png")->pred_id, ==, 0);
  g_assert_cmpint (item_named (t, "plants-01.png")->pred_id, ==, 0);
  g_assert_nonnull (
    strstr (gtk_label_get_text (GTK_LABEL (t->status)), "train (Ctrl+T)"));
  gtk_widget_destroy (window);
}

/* --- the same outcome on every run, under load ---------------------------- */

static gpointer
spin_cpu (gpointer data)
{
  volatile guint64 x = 0;

  while (!g_atomic_int_get ((gint *) data))
    x++;
  return NULL;
}

static void
test_deterministic_under_load (Fixture *f, gconstpointer data)
{
  g_autofree char *images = NULL;
  g_autofree char *first_metrics = NULL;
  g_autofree char *first_predictions = NULL;
  GThread *burners[2];
  gint stop = 0;
  const guint runs = 3;

  if (!have_display () || !scenario_images (f->dir, &images))
    return;
  /* two threads that keep both cores of the test machine busy, so the
   * worker, the decoders and the engine's threads interleave differently
   * on every run */
  for (guint b = 0; b < G_N_ELEMENTS (burners); b++)
    burners[b] = g_thread_new ("burn", spin_cpu, &stop);
  for (guint run = 0; run < runs; run++)
    {
      g_autofree char *name = g_strdup_printf ("run%u.hippotag", run);
      g_autofree char *project = g_build_filename (f->dir, name, NULL);
      g_autofree char *predictions = NULL;
      gint64 t0 = g_get_monotonic_time ();
      GtkWidget *window = label_and_train (project, images);
      HippoTrainer *t = hippo_trainer_from_window (window);

      assert_scenario_project (t, images);
      predictions = predictions_text (t);
      g_test_message ("run %u under load: %.2f s, vehicles-07 %s %.4f", run,
                      (g_get_monotonic_time () - t0) / 1e6,
                      hippo_trainer_lookup_class (
                        t, item_named (t, "vehicles-07.png")->pred_id)
                        ->name,
                      item_named (t, "vehicles-07.png")->confidence);
      if (run == 0)
        {
          first_metrics = g_strdup (t->metrics_json);
          first_predictions = g_steal_pointer (&predictions);
        }
      else
        {
          g_assert_cmpstr (t->metrics_json, ==, first_metrics);
          g_assert_cmpstr (predictions, ==, first_predictions);
        }
      gtk_widget_destroy (window);
    }
  g_atomic_int_set (&stop, 1);
  for (guint b = 0; b < G_N_ELEMENTS (burners); b++)
    g_thread_join (burners[b]);
}

/* --- labels saved while a long classifying goes on ---------------------- */

static gboolean
some_prediction (gpointer data)
{
  HippoTrainer *t = data;

  if (!t->busy_train)
    return TRUE;
  for (guint i = 0; i < t->items->len; i++)
    if (((HippoTrainerItem *) t->items->pdata[i])->pred_id)
      return TRUE;
  return FALSE;
}

static gboolean
labels_saved (gpointer data)
{
  return ((HippoTrainer *) data)->n_label_jobs == 0;
}

static void
test_label_while_classifying (Fixture *f, gconstpointer data)
{
  const char *classes[] = { "animals", "vehicles" };
  g_autofree char *images = g_build_filename (f->dir, "images", NULL);
  g_autofree char *more = g_build_filename (f->dir, "more", NULL);
  g_autofree char *project = g_build_filename (f->dir, "l.hippotag", NULL);
  const char *folders[] = { images, more };
  g_autoptr (GError) error = NULL;
  g_autofree char *ex = NULL;
  GtkWidget *window;
  HippoTrainer *t;
  guint n_pred = 0;

  if (!have_display ())
    return;
  g_mkdir (images, 0755);
  g_mkdir (more, 0755);
  /* 12 to label, 100 others whose features are not cached yet */
  if (copy_images ("tuxpaint-stamps", "animals", 6, images) < 6
      || copy_images ("tuxpaint-stamps", "vehicles", 6, images) < 6
      || copy_images ("tuxpaint-stamps", "household", 60, more) < 60
      || copy_images ("tuxpaint-stamps", "clothes", 40, more) < 40)
    {
      g_test_skip ("SKIPPED LOUDLY: the tuxpaint-stamps data set is missing");
      return;
    }
  window = hippo_trainer_window_new (NULL, project, &error);
  g_assert_no_error (error);
  t = hippo_trainer_from_window (window);
  gtk_widget_show (window);
  hippo_trainer_add_files (window, folders, 2);
  wait_idle (t, 10);
  g_assert_cmpuint (t->items->len, ==, 112);
  for (guint c = 0; c < 2; c++)
    g_assert_true (hippo_trainer_add_class (t, classes[c], &error));
  gtk_widget_grab_focus (hippo_thumb_grid_get_area (t->grid));
  for (guint c = 0; c < 2; c++)
    {
      g_autofree char *first = g_strdup_printf ("%s-00.png", classes[c]);
      hippo_thumb_grid_set_cursor (t->grid, grid_index_of_name (t, first),
                                   FALSE);
      for (guint k = 0; k < 5; k++)
        send_key (window, GDK_KEY_Right, GDK_SHIFT_MASK);
      send_key (window, GDK_KEY_1 + c, 0);
    }
  wait_idle (t, 60);

  /* train; while the first predictions come in, label one more */
  send_key (window, GDK_KEY_t, GDK_CONTROL_MASK);
  spin_until (some_prediction, t, 120);
  g_assert_true (t->busy_train);
  hippo_thumb_grid_set_cursor (
    t->grid, grid_index_of_name (t, "household-59.png"), FALSE);
  send_key (window, GDK_KEY_1, 0);
  spin_until (labels_saved, t, 120);
  /* saved while the classifying goes on, not after it */
  g_assert_true (t->busy_train);
  ex = examples_text (t->project);
  g_assert_nonnull (strstr (ex, "household-59.png=animals"));
  wait_idle (t, 300);
  g_assert_null (t->last_error);
  for (guint i = 0; i < t->items->len; i++)
    if (((HippoTrainerItem *) t->items->pdata[i])->pred_id)
      n_pred++;
  g_assert_cmpuint (n_pred, ==, 112);
  gtk_widget_destroy (window);
}

/* --- the class dialogs and keys 1-9 ------------------------------------- */

static void
add_class_by_dialog (HippoTrainer *t, const char *name)
{
  GtkWidget *dialog;

  gtk_button_clicked (GTK_BUTTON (t->add_class_button));
  dialog = find_dialog (t->window, "Add class");
  g_assert_nonnull (dialog);
  gtk_entry_set_text (GTK_ENTRY (find_widget (dialog, GTK_TYPE_ENTRY, 0)),
                      name);
  click_response (dialog, GTK_RESPONSE_ACCEPT);
}

static void
test_class_dialogs (Fixture *f, gconstpointer data)
{
  g_autofree char *images = g_build_filename (f->dir, "images", NULL);
  g_autofree char *project = g_build_filename (f->dir, "c.hippotag", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HippoClassInfo) info = NULL;
  GtkWidget *window, *dialog, *swatch, *label;
  HippoTrainer *t;
  gint64 dogs, wolves;
  GdkRGBA rgba, shown;
  const char *cname;

  if (!have_display ())
    return;
  g_mkdir (images, 0755);
  if (copy_images ("tuxpaint-stamps", "animals", 12, images) < 12)
    {
      g_test_skip ("SKIPPED LOUDLY: the tuxpaint-stamps data set is missing");
      return;
    }
  window = hippo_trainer_window_new (NULL, project, &error);
  g_assert_no_error (error);
  t = hippo_trainer_from_window (window);
  gtk_widget_show (window);
  hippo_trainer_add_files (window, (const char *const *) &images, 1);
  wait_idle (t, 10);
  gtk_widget_grab_focus (hippo_thumb_grid_get_area (t->grid));

  /* a key without a class says so and labels nothing */
  hippo_thumb_grid_set_cursor (t->grid, 0, FALSE);
  send_key (window, GDK_KEY_1, 0);
  g_assert_cmpint (hippo_thumb_grid_get_item (t->grid, 0)->label_id, ==, 0);
  g_assert_nonnull (
    strstr (gtk_label_get_text (GTK_LABEL (t->status)), "No class number 1"));

  /* Add: the button, the dialog, its entry and button */
  add_class_by_dialog (t, "cats");
  g_assert_null (find_dialog (window, "Add class"));
  add_class_by_dialog (t, "dogs");
  g_assert_cmpuint (t->classes->len, ==, 2);
  dogs = class_id (t, 1);
  g_assert_cmpstr (hippo_trainer_lookup_class (t, dogs)->name, ==, "dogs");
  /* the new class is selected, in the filter too */
  g_assert_cmpint (hippo_trainer_get_selected_class (t), ==, dogs);
  {
    g_autofree char *id = g_strdup_printf ("class:%" G_GINT64_FORMAT, dogs);
    hippo_trainer_set_filter (t, id);
    g_assert_cmpstr (t->filter, ==, id);
    hippo_trainer_set_filter (t, "all");
  }
  /* a taken name (case does not count) keeps the dialog open, saying why */
  gtk_button_clicked (GTK_BUTTON (t->add_class_button));
  dialog = find_dialog (window, "Add class");
  gtk_entry_set_text (GTK_ENTRY (find_widget (dialog, GTK_TYPE_ENTRY, 0)),
                      "Cats");
  click_response (dialog, GTK_RESPONSE_ACCEPT);
  g_assert_true (find_dialog (window, "Add class") == dialog);
  label = find_widget (gtk_dialog_get_content_area (GTK_DIALOG (dialog)),
                       GTK_TYPE_LABEL, 1);
  g_assert_true (gtk_widget_get_visible (label));
  g_test_message ("a taken name: %s", gtk_label_get_text (GTK_LABEL (label)));
  g_assert_true (g_str_has_prefix (gtk_label_get_text (GTK_LABEL (label)),
                                   "a class \"cats\" exists already"));
  click_response (dialog, GTK_RESPONSE_CANCEL);
  g_assert_null (find_dialog (window, "Add class"));
  g_assert_cmpuint (t->classes->len, ==, 2);

  /* label two images by keys 1 and 2 (and the keypad's 2) */
  hippo_thumb_grid_set_cursor (t->grid, 0, FALSE);
  send_key (window, GDK_KEY_1, 0);
  send_key (window, GDK_KEY_2, 0);
  send_key (window, GDK_KEY_KP_2, 0);
  g_assert_cmpint (hippo_thumb_grid_get_item (t->grid, 0)->label_id, ==,
                   class_id (t, 0));
  g_assert_cmpint (hippo_thumb_grid_get_item (t->grid, 1)->label_id, ==, dogs);
  g_assert_cmpint (hippo_thumb_grid_get_item (t->grid, 2)->label_id, ==, dogs);
  wait_idle (t, 30);
  g_assert_cmpuint (hippo_trainer_lookup_class (t, dogs)->n_examples, ==, 2);
  /* the selection survived the counts' update */
  g_assert_cmpint (hippo_trainer_get_selected_class (t), ==, dogs);

  /* Rename the selected class through its dialog */
  gtk_list_box_select_row (GTK_LIST_BOX (t->class_list),
                           GTK_LIST_BOX_ROW (class_row (t, dogs)));
  gtk_button_clicked (GTK_BUTTON (t->rename_class_button));
  dialog = find_dialog (window, "Rename class");
  g_assert_nonnull (dialog);
  g_assert_cmpstr (
    gtk_entry_get_text (GTK_ENTRY (find_widget (dialog, GTK_TYPE_ENTRY, 0))),
    ==, "dogs");
  gtk_entry_set_text (GTK_ENTRY (find_widget (dialog, GTK_TYPE_ENTRY, 0)),
                      "wolves");
  click_response (dialog, GTK_RESPONSE_ACCEPT);
  g_assert_null (find_dialog (window, "Rename class"));
  wolves = dogs;
  g_assert_cmpstr (hippo_trainer_lookup_class (t, wolves)->name, ==, "wolves");
  /* the filter offers the new name */
  {
    g_autofree char *id = g_strdup_printf ("class:%" G_GINT64_FORMAT, wolves);
    g_autofree char *text = NULL;
    hippo_trainer_set_filter (t, id);
    text = gtk_combo_box_text_get_active_text (
      GTK_COMBO_BOX_TEXT (t->filter_combo));
    g_assert_cmpstr (text, ==, "Labelled wolves");
    g_assert_cmpuint (hippo_thumb_grid_get_n_items (t->grid), ==, 2);
    hippo_trainer_set_filter (t, "all");
  }
  info = hippo_project_lookup_class (t->project, "wolves", &error);
  g_assert_no_error (error);
  g_assert_cmpint (info->id, ==, wolves);
  g_assert_cmpuint (info->n_examples, ==, 2);
  g_clear_pointer (&info, hippo_class_info_free);

  /* Recolour: the row's colour button */
  swatch = find_widget (class_row (t, wolves), GTK_TYPE_COLOR_BUTTON, 0);
  g_assert_nonnull (swatch);
  gdk_rgba_parse (&rgba, "#123456");
  gtk_color_chooser_set_rgba (GTK_COLOR_CHOOSER (swatch), &rgba);
  g_signal_emit_by_name (swatch, "color-set");
  info = hippo_project_lookup_class (t->project, "wolves", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->colour, ==, "#123456");
  g_clear_pointer (&info, hippo_class_info_free);
  /* what the grid paints the label with */
  g_assert_true (hippo_trainer_class_style (wolves, &shown, &cname, t));
  g_assert_true (gdk_rgba_equal (&shown, &rgba));
  g_assert_cmpstr (cname, ==, "wolves");

  /* keys 1-9: the ninth class has key 9, a tenth none */
  for (guint i = 3; i <= 10; i++)
    {
      g_autofree char *name = g_strdup_printf ("class %u", i);
      g_assert_true (hippo_trainer_add_class (t, name, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpuint (t->classes->len, ==, 10);
  hippo_thumb_grid_set_cursor (t->grid, 5, FALSE);
  send_key (window, GDK_KEY_9, 0);
  g_assert_cmpint (hippo_thumb_grid_get_item (t->grid, 5)->label_id, ==,
                   class_id (t, 8));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (find_widget (
                     class_row (t, class_id (t, 8)), GTK_TYPE_LABEL, 0))),
                   ==, "9");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (find_widget (
                     class_row (t, class_id (t, 9)), GTK_TYPE_LABEL, 0))),
                   ==, "");
  wait_idle (t, 30);

  /* Delete: Keep first, then Delete */
  gtk_list_box_select_row (GTK_LIST_BOX (t->class_list),
                           GTK_LIST_BOX_ROW (class_row (t, wolves)));
  gtk_button_clicked (GTK_BUTTON (t->remove_class_button));
  dialog = find_message_dialog (window);
  g_assert_nonnull (dialog);
  click_response (dialog, GTK_RESPONSE_CANCEL);
  g_assert_null (find_message_dialog (window));
  g_assert_nonnull (hippo_trainer_lookup_class (t, wolves));
  gtk_button_clicked (GTK_BUTTON (t->remove_class_button));
  dialog = find_message_dialog (window);
  g_assert_nonnull (dialog);
  click_response (dialog, GTK_RESPONSE_ACCEPT);
  g_assert_null (hippo_trainer_lookup_class (t, wolves));
  g_assert_cmpuint (t->classes->len, ==, 9);
  g_assert_cmpint (hippo_thumb_grid_get_item (t->grid, 1)->label_id, ==, 0);
  g_assert_cmpint (hippo_thumb_grid_get_item (t->grid, 2)->label_id, ==, 0);
  g_assert_null (hippo_project_lookup_class (t->project, "wolves", NULL));
  {
    g_autofree char *ex = examples_text (t->project);
    g_assert_null (strstr (ex, "wolves"));
    g_assert_nonnull (strstr (ex, "animals-00.png=cats"));
  }
  /* what was key 3 is key 2 now */
  hippo_thumb_grid_set_cursor (t->grid, 7, FALSE);
  send_key (window, GDK_KEY_2, 0);
  g_assert_cmpint (hippo_thumb_grid_get_item (t->grid, 7)->label_id, ==,
                   class_id (t, 1));
  g_assert_cmpstr (hippo_trainer_lookup_class (t, class_id (t, 1))->name, ==,
                   "class 3");
  wait_idle (t, 30);
  g_assert_null (t->last_error);
  gtk_widget_destroy (window);
}

/* --- Apply: preview, then tag or sort ------------------------------------- */

static gboolean
dialog_idle (gpointer data)
{
  HippoTrainer *t = data;

  return !t->busy_apply && !hippo_trainer_is_busy (t);
}

static guint
n_rows (GtkWidget *dialog)
{
  GtkTreeModel *model = gtk_tree_view_get_model (
    GTK_TREE_VIEW (find_widget (dialog, GTK_TYPE_TREE_VIEW, 0)));

  return (guint) gtk_tree_model_iter_n_children (model, NULL);
}

/* Column @col of row @i of the dialog's list. */
static char *
row_text (GtkWidget *dialog, guint i, int col)
{
  GtkTreeModel *model = gtk_tree_view_get_model (
    GTK_TREE_VIEW (find_widget (dialog, GTK_TYPE_TREE_VIEW, 0)));
  GtkTreeIter iter;
  char *text = NULL;

  g_assert_true (gtk_tree_model_iter_nth_child (model, &iter, NULL, (int) i));
  gtk_tree_model_get (model, &iter, col, &text, -1);
  return text;
}

static const char *
dialog_status (GtkWidget *dialog)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new ();

  collect (dialog, all);
  for (guint i = 0; i < all->len; i++)
    if (g_strcmp0 (gtk_widget_get_name (all->pdata[i]), "apply-status") == 0)
      return gtk_label_get_text (all->pdata[i]);
  g_assert_not_reached ();
}

static guint
count_files (const char *dir, const char *suffix)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (d && (name = g_dir_read_name (d)))
    if (g_str_has_suffix (name, suffix))
      n++;
  return n;
}

static void
test_apply (Fixture *f, gconstpointer data)
{
  const char *classes[] = { "household", "clothes" };
  g_autofree char *images = g_build_filename (f->dir, "images", NULL);
  g_autofree char *project = g_build_filename (f->dir, "a.hippotag", NULL);
  g_autofree char *sorted = g_build_filename (f->dir, "sorted", NULL);
  g_autoptr (GError) error = NULL;
  GtkWidget *window, *dialog;
  HippoTrainer *t;
  guint n_sure = 0, n_unsure = 0, n_copied = 0;
  double min_percent;
  int i;

  if (!have_display ())
    return;
  g_mkdir (images, 0755);
  for (guint c = 0; c < 2; c++)
    if (copy_images ("tuxpaint-stamps", classes[c], 7, images) < 7)
      {
        g_test_skip ("SKIPPED LOUDLY: the tuxpaint-stamps data set is "
                     "missing");
        return;
      }
  window = hippo_trainer_window_new (NULL, project, &error);
  g_assert_no_error (error);
  t = hippo_trainer_from_window (window);
  gtk_widget_show (window);
  hippo_trainer_add_files (window, (const char *const *) &images, 1);
  wait_idle (t, 10);
  for (guint c = 0; c < 2; c++)
    g_assert_true (hippo_trainer_add_class (t, classes[c], &error));
  /* label 5 of each 7 by keys, train */
  gtk_widget_grab_focus (hippo_thumb_grid_get_area (t->grid));
  for (guint c = 0; c < 2; c++)
    {
      g_autofree char *first = g_strdup_printf ("%s-00.png", classes[c]);
      hippo_thumb_grid_set_cursor (t->grid, grid_index_of_name (t, first),
                                   FALSE);
      for (guint k = 0; k < 4; k++)
        send_key (window, GDK_KEY_Right, GDK_SHIFT_MASK);
      send_key (window, GDK_KEY_1 + c, 0);
    }
  wait_idle (t, 60);
  send_key (window, GDK_KEY_t, GDK_CONTROL_MASK);
  wait_idle (t, 120);
  g_assert_null (t->last_error);

  /* the header button opens the dialog; nothing to apply before a preview */
  gtk_button_clicked (GTK_BUTTON (t->apply_button));
  dialog = find_dialog (window, "Apply the classes");
  g_assert_nonnull (dialog);
  g_assert_false (response_sensitive (dialog, GTK_RESPONSE_ACCEPT));

  /* tag the two selected (unlabelled) images: preview, then apply */
  i = grid_index_of_name (t, "household-05.png");
  hippo_thumb_grid_set_cursor (t->grid, i, FALSE);
  hippo_thumb_grid_set_cursor (t->grid, i + 1, TRUE);
  gtk_toggle_button_set_active (
    GTK_TOGGLE_BUTTON (find_button (dialog, "A_ll images")), FALSE);
  click_response (dialog, GTK_RESPONSE_APPLY);
  spin_until (dialog_idle, t, 60);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_test_message ("tag preview: %s", dialog_status (dialog));
  g_assert_cmpuint (n_rows (dialog), ==, 2);
  for (guint r = 0; r < 2; r++)
    {
      g_autofree char *file = row_text (dialog, r, 0);
      g_autofree char *what = row_text (dialog, r, 3);
      g_autofree char *sidecar = g_strdup_printf ("%s/%s.xmp", images, file);
      g_test_message ("  %s: %s", file, what);
      g_assert_true (g_str_equal (what, "would add the keyword")
                     || g_str_equal (what, "unsure: not tagged"));
      g_assert_false (g_file_test (sidecar, G_FILE_TEST_EXISTS));
    }
  g_assert_cmpuint (count_files (images, ".xmp"), ==, 0);
  g_assert_true (response_sensitive (dialog, GTK_RESPONSE_ACCEPT));
  /* the selection changes after the preview: Apply does what was shown */
  hippo_thumb_grid_set_cursor (t->grid, 0, FALSE);
  click_response (dialog, GTK_RESPONSE_ACCEPT);
  spin_until (dialog_idle, t, 60);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_test_message ("tag: %s", dialog_status (dialog));
  g_assert_true (g_str_has_prefix (dialog_status (dialog), "Done: 2 files"));
  g_assert_false (response_sensitive (dialog, GTK_RESPONSE_ACCEPT));
  for (guint r = 0; r < 2; r++)
    {
      g_autofree char *file = row_text (dialog, r, 0);
      g_autofree char *cls = row_text (dialog, r, 1);
      g_autofree char *what = row_text (dialog, r, 3);
      g_autofree char *path = g_build_filename (images, file, NULL);
      g_autofree char *sidecar = g_strdup_printf ("%s.xmp", path);
      g_auto (GStrv) keywords = NULL;
      if (g_str_equal (what, "unsure: not tagged"))
        {
          g_assert_false (g_file_test (sidecar, G_FILE_TEST_EXISTS));
          continue;
        }
      g_assert_cmpstr (what, ==, "keyword added");
      g_assert_true (g_file_test (sidecar, G_FILE_TEST_IS_REGULAR));
      keywords = hippo_tag_read_keywords (path, &error);
      g_assert_no_error (error);
      g_assert_true (g_strv_contains ((const char *const *) keywords, cls));
      /* the class the grid shows for it */
      g_assert_cmpint (hippo_trainer_class_id_by_name (t, cls), ==,
                       item_named (t, file)->pred_id);
    }
  g_assert_cmpuint (count_files (images, ".xmp"), >=, 1);

  /* sort all images: preview, a changed option voids it, preview again,
   * apply */
  gtk_toggle_button_set_active (
    GTK_TOGGLE_BUTTON (find_button (dialog, "A_ll images")), TRUE);
  gtk_toggle_button_set_active (
    GTK_TOGGLE_BUTTON (find_button (dialog, "_Sort")), TRUE);
  click_response (dialog, GTK_RESPONSE_APPLY); /* no destination yet */
  g_assert_cmpstr (dialog_status (dialog), ==,
                   "Sorting needs a destination folder.");
  gtk_entry_set_text (GTK_ENTRY (find_widget (dialog, GTK_TYPE_ENTRY, 0)),
                      sorted);
  click_response (dialog, GTK_RESPONSE_APPLY);
  spin_until (dialog_idle, t, 60);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (n_rows (dialog), ==, 14);
  g_assert_false (g_file_test (sorted, G_FILE_TEST_EXISTS));
  g_assert_true (response_sensitive (dialog, GTK_RESPONSE_ACCEPT));
  /* a minimum between the least and the most confident image */
  {
    float lo = 1, hi = 0;
    for (guint j = 0; j < t->items->len; j++)
      {
        HippoTrainerItem *it = t->items->pdata[j];
        lo = MIN (lo, it->confidence);
        hi = MAX (hi, it->confidence);
      }
    min_percent = floor (100 * (lo + hi) / 2);
    g_test_message ("confidences %.3f to %.3f: minimum %.0f %%", lo, hi,
                    min_percent);
    g_assert_cmpfloat (lo, <, min_percent / 100);
    g_assert_cmpfloat (hi, >=, min_percent / 100);
  }
  gtk_spin_button_set_value (
    GTK_SPIN_BUTTON (find_widget (dialog, GTK_TYPE_SPIN_BUTTON, 0)),
    min_percent);
  g_assert_false (response_sensitive (dialog, GTK_RESPONSE_ACCEPT));
  g_assert_cmpuint (n_rows (dialog), ==, 0);
  g_test_message ("after a change: %s", dialog_status (dialog));
  click_response (dialog, GTK_RESPONSE_APPLY);
  spin_until (dialog_idle, t, 60);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (n_rows (dialog), ==, 14);
  for (guint r = 0; r < 14; r++)
    {
      g_autofree char *file = row_text (dialog, r, 0);
      g_autofree char *what = row_text (dialog, r, 3);
      HippoTrainerItem *it = item_named (t, file);
      const HippoClassInfo *c = hippo_trainer_lookup_class (t, it->pred_id);
      gboolean sure = it->confidence >= min_percent / 100;
      const char *want = sure ? c->name : "unsure";
      g_autofree char *dest
        = g_strdup_printf ("would copy to %s/%s/%s", sorted, want, file);
      g_assert_cmpstr (what, ==, dest);
      if (sure)
        n_sure++;
      else
        n_unsure++;
    }
  g_test_message ("sort preview at %.0f %%: %u sure, %u unsure", min_percent,
                  n_sure, n_unsure);
  g_assert_cmpuint (n_sure, >, 0);
  g_assert_cmpuint (n_unsure, >, 0);
  click_response (dialog, GTK_RESPONSE_ACCEPT);
  spin_until (dialog_idle, t, 60);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_test_message ("sort: %s", dialog_status (dialog));
  g_assert_true (g_str_has_prefix (dialog_status (dialog), "Done: 14 files, 0 "
                                                           "failed. To undo: "
                                                           "hippotag sort "
                                                           "--undo "));
  for (guint r = 0; r < 14; r++)
    {
      g_autofree char *file = row_text (dialog, r, 0);
      g_autofree char *what = row_text (dialog, r, 3);
      g_autofree char *from = g_build_filename (images, file, NULL);
      const char *to = what + strlen ("copied to ");
      g_autofree char *a = NULL, *b = NULL;
      gsize la, lb;
      g_assert_true (g_str_has_prefix (what, "copied to "));
      g_assert_true (g_file_get_contents (from, &a, &la, NULL));
      g_assert_true (g_file_get_contents (to, &b, &lb, NULL));
      g_assert_true (la == lb && memcmp (a, b, la) == 0);
      n_copied++;
    }
  g_assert_cmpuint (n_copied, ==, 14);
  g_assert_cmpuint (count_files (sorted, ".journal"), ==, 1);
  {
    g_autofree char *unsure = g_build_filename (sorted, "unsure", NULL);
    g_autofree char *first = g_build_filename (sorted, classes[0], NULL);
    g_autofree char *second = g_build_filename (sorted, classes[1], NULL);
    g_assert_cmpuint (count_files (unsure, ".png") + count_files (first, ".png")
                        + count_files (second, ".png"),
                      ==, 14);
    g_assert_cmpuint (count_files (unsure, ".png"), ==, n_unsure);
  }
  g_assert_false (response_sensitive (dialog, GTK_RESPONSE_ACCEPT));
  click_response (dialog, GTK_RESPONSE_CLOSE);
  g_assert_null (find_dialog (window, "Apply the classes"));
  g_assert_null (t->last_error);
  gtk_widget_destroy (window);
}

/* --- 5,000 images ------------------------------------------------------ */

typedef struct
{
  gint64 last;
  gint64 max_gap;
} Gaps;

static gboolean
tick (gpointer data)
{
  Gaps *g = data;
  gint64 now = g_get_monotonic_time ();

  if (g->last)
    g->max_gap = MAX (g->max_gap, now - g->last);
  g->last = now;
  return G_SOURCE_CONTINUE;
}

static gboolean
first_visible (gpointer data)
{
  HippoTrainer *t = data;
  guint n_vis, n_loaded;

  hippo_thumb_grid_count_visible (t->grid, &n_vis, &n_loaded);
  return n_vis > 0 && n_loaded == n_vis
         && hippo_thumb_grid_get_thumb_paint_time (t->grid) > 0;
}

static gboolean
scrolled_loaded (gpointer data)
{
  return first_visible (data);
}

static void
test_5000 (Fixture *f, gconstpointer data)
{
  g_autofree char *images = g_build_filename (f->dir, "many", NULL);
  g_autofree char *project = g_build_filename (f->dir, "p.hippotag", NULL);
  g_autofree char *src_dir
    = g_build_filename (datasets (), "emoji-google", NULL);
  g_autoptr (GPtrArray) sources = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) top = NULL;
  GtkWidget *window;
  HippoTrainer *t;
  Gaps gaps = { 0 };
  guint tick_id;
  gint64 t0, t_first, scroll_gap;
  const char *cls;
  double load;
  GtkAdjustment *adj;

  if (!have_display ())
    return;
  top = g_dir_open (src_dir, 0, NULL);
  if (top == NULL)
    {
      g_test_skip ("SKIPPED LOUDLY: the emoji-google data set is missing");
      return;
    }
  while ((cls = g_dir_read_name (top)))
    {
      g_autofree char *sub = g_build_filename (src_dir, cls, NULL);
      g_autoptr (GDir) d = g_dir_open (sub, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name (d)))
        if (g_str_has_suffix (name, ".png"))
          g_ptr_array_add (sources, g_build_filename (sub, name, NULL));
    }
  g_assert_cmpuint (sources->len, >, 0);
  g_mkdir (images, 0755);
  for (guint i = 0; i < 5000; i++)
    {
      g_autofree char *sub = g_strdup_printf ("%s/d%02u", images, i / 500);
      g_autofree char *to = g_strdup_printf ("%s/img%05u.png", sub, i);
      g_mkdir (sub, 0755);
      g_assert_cmpint (symlink (sources->pdata[i % sources->len], to), ==, 0);
    }

  window = hippo_trainer_window_new (NULL, project, &error);
  g_assert_no_error (error);
  t = hippo_trainer_from_window (window);
  gtk_widget_show (window);
  spin_until (idle_done, t, 2); /* let it map */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  tick_id = g_timeout_add_full (G_PRIORITY_HIGH, 5, tick, &gaps, NULL);
  t0 = g_get_monotonic_time ();
  gaps.last = t0;
  hippo_trainer_add_files (window, (const char *const *) &images, 1);
  spin_until (first_visible, t, 10);
  t_first = g_get_monotonic_time () - t0;
  g_assert_cmpuint (hippo_thumb_grid_get_n_items (t->grid), ==, 5000);
  /* scroll through the whole grid, a page at a time */
  adj = gtk_range_get_adjustment (GTK_RANGE (g_list_nth_data (
    gtk_container_get_children (GTK_CONTAINER (t->grid_box)), 1)));
  for (int page = 0; page < 30; page++)
    {
      gtk_adjustment_set_value (adj,
                                gtk_adjustment_get_value (adj)
                                  + gtk_adjustment_get_page_size (adj) * 3);
      spin_until (scrolled_loaded, t, 5);
    }
  scroll_gap = gaps.max_gap;
  g_source_remove (tick_id);
  load = 0;
  {
    double l[3];
    if (getloadavg (l, 1) == 1)
      load = l[0];
  }
  g_test_message ("5000 images: first thumbnails visible after %.0f ms; "
                  "longest main-loop gap %.1f ms (load average %.2f on %u "
                  "cores)",
                  t_first / 1000.0, scroll_gap / 1000.0, load,
                  g_get_num_processors ());
  g_assert_cmpint (t_first, <, 1000000);
  if (scroll_gap >= 50000 && load > 2.0 * g_get_num_processors ())
    g_test_message ("the machine is heavily loaded (load %.2f): the gap "
                    "bound is not asserted",
                    load);
  else
    g_assert_cmpint (scroll_gap, <, 50000);
  gtk_widget_destroy (window);
}

/* --- screenshots ------------------------------------------------------- */

/* Not a check: with HIPPOTAG_SCREENSHOTS=DIR, captures the trainer with 70
 * tuxpaint stamps (14 of each of 5 classes, under their own names), 10
 * labelled per class and trained, into DIR/trainer.png and
 * DIR/trainer-metrics.png. */
static void
snap (GtkWidget *window, const char *path)
{
  GdkWindow *w = gtk_widget_get_window (window);
  g_autoptr (GdkPixbuf) p = NULL;

  for (int k = 0; k < 50; k++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10000);
    }
  p = gdk_pixbuf_get_from_window (w, 0, 0, gdk_window_get_width (w),
                                  gdk_window_get_height (w));
  g_assert_nonnull (p);
  g_assert_true (gdk_pixbuf_save (p, path, "png", NULL, NULL));
}

static void
test_screenshots (Fixture *f, gconstpointer data)
{
  const char *out = g_getenv ("HIPPOTAG_SCREENSHOTS");
  const char *classes[]
    = { "animals", "buildings", "food", "plants", "vehicles" };
  g_autofree char *images = g_build_filename (f->dir, "stamps", NULL);
  g_autofree char *project = g_build_filename (f->dir, "stamps.hippotag", NULL);
  g_autofree char *shot1 = NULL, *shot2 = NULL;
  g_autoptr (GError) error = NULL;
  GPtrArray *names[G_N_ELEMENTS (classes)];
  GtkWidget *window;
  HippoTrainer *t;

  if (out == NULL)
    {
      g_test_skip ("screenshots only with HIPPOTAG_SCREENSHOTS=DIR");
      return;
    }
  if (!have_display ())
    return;
  /* one folder of mixed stamps under their own names */
  g_mkdir (images, 0755);
  for (guint c = 0; c < G_N_ELEMENTS (classes); c++)
    {
      names[c] = g_ptr_array_new_with_free_func (g_free);
      g_assert_cmpuint (
        copy_images_named ("tuxpaint-stamps", classes[c], 14, images, names[c]),
        ==, 14);
    }
  window = hippo_trainer_window_new (NULL, project, &error);
  g_assert_no_error (error);
  t = hippo_trainer_from_window (window);
  /* with its title bar and shadow within Xvfb's 1280x800 screen */
  gtk_window_resize (GTK_WINDOW (window), 1180, 700);
  gtk_widget_show (window);
  hippo_trainer_add_files (window, (const char *const *) &images, 1);
  wait_idle (t, 10);
  g_assert_cmpuint (t->items->len, ==, 70);
  for (guint c = 0; c < G_N_ELEMENTS (classes); c++)
    g_assert_true (hippo_trainer_add_class (t, classes[c], &error));
  /* label 10 of each 14 by keys, leaving 4 per class for the predictions */
  gtk_widget_grab_focus (hippo_thumb_grid_get_area (t->grid));
  for (guint c = 0; c < G_N_ELEMENTS (classes); c++)
    for (guint k = 0; k < 10; k++)
      {
        int i = grid_index_of_name (t, names[c]->pdata[k]);
        g_assert_cmpint (i, >=, 0);
        hippo_thumb_grid_set_cursor (t->grid, i, FALSE);
        send_key (window, GDK_KEY_1 + c, 0);
      }
  wait_idle (t, 60);
  hippo_trainer_train (t);
  wait_idle (t, 120);
  g_assert_null (t->last_error);
  /* from the top, an unlabelled image selected, the pointer away from
   * the window (no tooltip over the picture) */
  hippo_thumb_grid_set_cursor (t->grid, 0, FALSE);
  hippo_thumb_grid_set_cursor (
    t->grid, grid_index_of_name (t, names[0]->pdata[12]), FALSE);
  {
    GdkDisplay *display = gtk_widget_get_display (window);
    gdk_device_warp (
      gdk_seat_get_pointer (gdk_display_get_default_seat (display)),
      gdk_display_get_default_screen (display), 1279, 799);
  }
  shot1 = g_build_filename (out, "trainer.png", NULL);
  snap (window, shot1);
  gtk_stack_set_visible_child_name (GTK_STACK (t->stack), "metrics");
  g_assert_false (gtk_widget_get_visible (t->filter_box));
  shot2 = g_build_filename (out, "trainer-metrics.png", NULL);
  snap (window, shot2);
  g_test_message ("wrote %s and %s", shot1, shot2);
  gtk_widget_destroy (window);
  for (guint c = 0; c < G_N_ELEMENTS (classes); c++)
    g_ptr_array_unref (names[c]);
}

/* --- the scale factor (HiDPI) ------------------------------------------- */

/* An opaque pattern that changes from pixel to pixel, so that a shifted or
 * resampled copy of it does not match. */
static GdkPixbuf *
pattern_pixbuf (int width, int height)
{
  GdkPixbuf *p = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  guchar *px = gdk_pixbuf_get_pixels (p);
  int rowstride = gdk_pixbuf_get_rowstride (p);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        guchar *q = px + y * rowstride + x * 3;
        q[0] = (x * 7 + y * 3) & 255;
        q[1] = (x ^ (y * 5)) & 255;
        q[2] = ((x / 3) * (y / 5) + x) & 255;
      }
  return p;
}

/* Where @part appears pixel for pixel (RGB) within @box of @shot, with its
 * top left corner in *@at_x, *@at_y; how many places it appears. */
static guint
find_pixels (GdkPixbuf *shot, GdkPixbuf *part, const GdkRectangle *box,
             int *at_x, int *at_y)
{
  const guchar *s = gdk_pixbuf_get_pixels (shot);
  const guchar *p = gdk_pixbuf_get_pixels (part);
  int srs = gdk_pixbuf_get_rowstride (shot);
  int prs = gdk_pixbuf_get_rowstride (part);
  int sn = gdk_pixbuf_get_n_channels (shot);
  int pn = gdk_pixbuf_get_n_channels (part);
  int pw = gdk_pixbuf_get_width (part), ph = gdk_pixbuf_get_height (part);
  int x1 = MIN (box->x + box->width, gdk_pixbuf_get_width (shot)) - pw;
  int y1 = MIN (box->y + box->height, gdk_pixbuf_get_height (shot)) - ph;
  guint found = 0;

  for (int oy = MAX (box->y, 0); oy <= y1; oy++)
    for (int ox = MAX (box->x, 0); ox <= x1; ox++)
      {
        gboolean same = TRUE;
        for (int y = 0; y < ph && same; y++)
          for (int x = 0; x < pw && same; x++)
            {
              const guchar *a = s + (oy + y) * srs + (ox + x) * sn;
              const guchar *b = p + y * prs + x * pn;
              same = a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
            }
        if (same)
          {
            *at_x = ox;
            *at_y = oy;
            found++;
          }
      }
  return found;
}

/* The drawing area as on screen, in device pixels, once it has drawn what
 * it has. */
static GdkPixbuf *
capture (GtkWidget *widget)
{
  GdkWindow *w = gtk_widget_get_window (widget);

  for (int k = 0; k < 30; k++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10000);
    }
  g_assert_true (gtk_widget_get_has_window (widget));
  return gdk_pixbuf_get_from_window (w, 0, 0, gdk_window_get_width (w),
                                     gdk_window_get_height (w));
}

static gboolean
thumb_done (gpointer data)
{
  HippoThumbState s = ((HippoTrainerItem *) data)->thumb_state;

  return s == HIPPO_THUMB_DONE || s == HIPPO_THUMB_FAILED;
}

/* A click of the primary button at (@x, @y) in @widget's window, in
 * logical pixels. */
static void
send_click (GtkWidget *widget, double x, double y)
{
  const GdkEventType types[] = { GDK_BUTTON_PRESS, GDK_BUTTON_RELEASE };
  GdkDisplay *display = gtk_widget_get_display (widget);
  GdkDevice *pointer
    = gdk_seat_get_pointer (gdk_display_get_default_seat (display));

  for (guint k = 0; k < G_N_ELEMENTS (types); k++)
    {
      GdkEvent *ev = gdk_event_new (types[k]);
      ev->button.window = g_object_ref (gtk_widget_get_window (widget));
      ev->button.send_event = TRUE;
      ev->button.time = GDK_CURRENT_TIME;
      ev->button.x = x;
      ev->button.y = y;
      ev->button.button = GDK_BUTTON_PRIMARY;
      gdk_event_set_device (ev, pointer);
      gtk_main_do_event (ev);
      gdk_event_free (ev);
    }
}

static gboolean
large_shown (gpointer data)
{
  HippoTrainer *t = data;
  GtkWidget *image = t->large ? gtk_bin_get_child (GTK_BIN (t->large)) : NULL;

  return image
         && gtk_image_get_storage_type (GTK_IMAGE (image))
              != GTK_IMAGE_ICON_NAME;
}

/* Space on the cursor's image: the large view shows it as a cairo surface
 * @device_w device pixels wide at the scale factor, and is @natural_w
 * logical pixels wide. */
static void
assert_large_view (HippoTrainer *t, GtkWidget *window, int scale, int device_w,
                   int natural_w)
{
  GtkWidget *image;
  cairo_surface_t *surface = NULL;
  double sx = 0, sy = 0;
  GtkRequisition natural;

  gtk_widget_grab_focus (hippo_thumb_grid_get_area (t->grid));
  send_key (window, GDK_KEY_space, 0);
  g_assert_nonnull (t->large);
  spin_until (large_shown, t, 10);
  image = gtk_bin_get_child (GTK_BIN (t->large));
  g_assert_cmpint (gtk_image_get_storage_type (GTK_IMAGE (image)), ==,
                   GTK_IMAGE_SURFACE);
  g_object_get (image, "surface", &surface, NULL);
  g_assert_nonnull (surface);
  g_assert_cmpint (cairo_surface_get_type (surface), ==,
                   CAIRO_SURFACE_TYPE_IMAGE);
  cairo_surface_get_device_scale (surface, &sx, &sy);
  g_assert_cmpfloat (sx, ==, scale);
  g_assert_cmpfloat (sy, ==, scale);
  g_assert_cmpint (cairo_image_surface_get_width (surface), ==, device_w);
  gtk_widget_get_preferred_size (image, NULL, &natural);
  g_assert_cmpint (natural.width, ==, natural_w);
  cairo_surface_destroy (surface);
  gtk_widget_destroy (t->large);
  g_assert_null (t->large);
}

/* Run once as is and once by the test-ui-hidpi test with GDK_SCALE=2: the
 * grid sees the scale factor, decodes thumbnails at that many device
 * pixels per logical pixel and paints them one to one onto the screen,
 * while cells, text and the window keep their logical size; labelling by
 * keys and training give what the classifier alone gives. */
static void
test_scale_factor (Fixture *f, gconstpointer data)
{
  const char *env = g_getenv ("GDK_SCALE");
  int scale = env ? atoi (env) : 1;
  g_autofree char *images = NULL;
  g_autofree char *project = g_build_filename (f->dir, "s.hippotag", NULL);
  g_autofree char *patterns = g_build_filename (f->dir, "patterns", NULL);
  g_autofree char *shown = NULL, *independent = NULL;
  g_autoptr (GdkPixbuf) shot = NULL;
  g_autoptr (GError) error = NULL;
  GtkWidget *window, *area;
  HippoTrainer *t;
  PangoLayout *layout;
  PangoFontDescription *font;
  GdkRectangle cell, next, screen;
  int text_h, cols, i;
  guint n_pred = 0, n_right = 0;
  /* two landscape patterns: their thumbnails' heights differ by one
   * device pixel, so one of them is centred on a half logical pixel at
   * scale 1 */
  const int sizes[][2] = { { 2400, 1600 }, { 2400, 1580 } };

  g_assert_cmpint (scale, >=, 1);
  if (!have_display () || !scenario_images (f->dir, &images))
    return;
  g_test_message ("GDK_SCALE=%s", env ? env : "(unset)");

  /* labelling by keys and training, at this scale */
  window = label_and_train (project, images);
  t = hippo_trainer_from_window (window);
  area = hippo_thumb_grid_get_area (t->grid);
  g_assert_cmpint (gtk_widget_get_scale_factor (area), ==, scale);
  g_assert_cmpint (gdk_window_get_scale_factor (gtk_widget_get_window (area)),
                   ==, scale);
  assert_scenario_project (t, images);
  for (guint j = 0; j < t->items->len; j++)
    {
      HippoTrainerItem *it = t->items->pdata[j];
      n_pred += it->pred_id != 0;
      n_right += it->label_id && it->pred_id == it->label_id;
    }
  g_assert_cmpuint (n_pred, ==, 24);
  g_assert_cmpuint (n_right, >=, 20);
  shown = predictions_text (t);
  independent = classify_alone (project, images);
  g_assert_cmpstr (shown, ==, independent);

  /* the window keeps its logical size (1100x720 by default, a little
   * wider for its contents) on the screen's logical 1280x800, and so do
   * the grid's cells */
  gdk_monitor_get_geometry (
    gdk_display_get_monitor_at_window (gtk_widget_get_display (window),
                                       gtk_widget_get_window (window)),
    &screen);
  g_test_message ("window %dx%d on a screen of %dx%d logical pixels",
                  gtk_widget_get_allocated_width (window),
                  gtk_widget_get_allocated_height (window), screen.width,
                  screen.height);
  g_assert_cmpint (screen.width, ==, 1280);
  g_assert_cmpint (screen.height, ==, 800);
  g_assert_cmpint (gtk_widget_get_allocated_width (window), >=, 1100);
  g_assert_cmpint (gtk_widget_get_allocated_width (window), <=, screen.width);
  g_assert_cmpint (gtk_widget_get_allocated_height (window), >=, 720);
  g_assert_cmpint (gtk_widget_get_allocated_height (window), <=, screen.height);
  g_assert_true (hippo_thumb_grid_get_cell_area (t->grid, 0, &cell));
  g_assert_cmpint (cell.width, >, HIPPO_THUMB_SIZE);
  g_assert_cmpint (cell.width, <, HIPPO_THUMB_SIZE * 3 / 2);
  g_assert_cmpint (cell.height, >, HIPPO_THUMB_SIZE);
  g_assert_cmpint (cell.height, <, HIPPO_THUMB_SIZE * 3 / 2);
  cols = gtk_widget_get_allocated_width (area) / cell.width;
  g_assert_cmpint (cols, >=, 3);
  g_assert_true (hippo_thumb_grid_get_cell_area (t->grid, cols - 1, &next));
  g_assert_cmpint (next.x, ==, cell.x + (cols - 1) * cell.width);
  g_assert_cmpint (next.y, ==, cell.y);
  g_assert_true (hippo_thumb_grid_get_cell_area (t->grid, cols, &next));
  g_assert_cmpint (next.x, ==, cell.x);
  g_assert_cmpint (next.y, ==, cell.y + cell.height);
  /* a click in a cell, in logical coordinates, picks that cell */
  hippo_thumb_grid_set_cursor (t->grid, 0, FALSE);
  send_click (area, next.x + next.width / 2.0, next.y + next.height / 2.0);
  g_assert_cmpint (hippo_thumb_grid_get_cursor (t->grid), ==, cols);
  /* the grid's 8-point text fits the 16-pixel line under the thumbnail:
   * not scaled twice */
  layout = gtk_widget_create_pango_layout (area, "Agj vehicles-07.png");
  font = pango_font_description_copy (
    pango_context_get_font_description (pango_layout_get_context (layout)));
  pango_font_description_set_size (font, 8 * PANGO_SCALE);
  pango_layout_set_font_description (layout, font);
  pango_layout_get_pixel_size (layout, NULL, &text_h);
  g_test_message ("8-point text: %d logical pixels high", text_h);
  g_assert_cmpint (text_h, >=, 8);
  g_assert_cmpint (text_h, <=, 16);
  pango_font_description_free (font);
  g_object_unref (layout);

  /* thumbnails at device resolution, painted one to one */
  g_mkdir (patterns, 0755);
  for (guint k = 0; k < G_N_ELEMENTS (sizes); k++)
    {
      g_autoptr (GdkPixbuf) p = pattern_pixbuf (sizes[k][0], sizes[k][1]);
      g_autofree char *name = g_strdup_printf ("pattern-%u.png", k);
      g_autofree char *path = g_build_filename (patterns, name, NULL);
      g_assert_true (gdk_pixbuf_save (p, path, "png", &error, NULL));
      g_assert_no_error (error);
    }
  hippo_trainer_add_files (window, (const char *const *) &patterns, 1);
  wait_idle (t, 30);
  g_assert_null (t->last_error);
  g_assert_cmpuint (hippo_thumb_grid_get_n_items (t->grid), ==, 26);
  /* the pointer away from the window: no tooltip over the grid */
  gdk_device_warp (gdk_seat_get_pointer (gdk_display_get_default_seat (
                     gtk_widget_get_display (window))),
                   gtk_widget_get_screen (window), 0, 0);
  for (guint k = 0; k < G_N_ELEMENTS (sizes); k++)
    {
      g_autofree char *name = g_strdup_printf ("pattern-%u.png", k);
      HippoTrainerItem *it;
      GdkRectangle box;
      int tw, th, at_x = -1, at_y = -1;

      i = grid_index_of_name (t, name);
      g_assert_cmpint (i, >=, 0);
      it = hippo_thumb_grid_get_item (t->grid, i);
      hippo_thumb_grid_set_cursor (t->grid, i, FALSE);
      spin_until (thumb_done, it, 10);
      g_assert_cmpint (it->thumb_state, ==, HIPPO_THUMB_DONE);
      tw = gdk_pixbuf_get_width (it->thumb);
      th = gdk_pixbuf_get_height (it->thumb);
      g_test_message ("%s: thumbnail %dx%d device pixels", name, tw, th);
      g_assert_cmpint (tw, ==, HIPPO_THUMB_SIZE * scale);
      g_assert_cmpint (abs (th - tw * sizes[k][1] / sizes[k][0]), <=, 1);

      g_clear_object (&shot);
      shot = capture (area);
      g_assert_nonnull (shot);
      g_assert_cmpint (gdk_pixbuf_get_width (shot), ==,
                       gtk_widget_get_allocated_width (area) * scale);
      g_assert_cmpint (gdk_pixbuf_get_height (shot), ==,
                       gtk_widget_get_allocated_height (area) * scale);
      g_assert_true (hippo_thumb_grid_get_cell_area (t->grid, i, &cell));
      box.x = cell.x * scale;
      box.y = cell.y * scale;
      box.width = cell.width * scale;
      box.height = cell.height * scale;
      g_assert_cmpuint (find_pixels (shot, it->thumb, &box, &at_x, &at_y), ==,
                        1);
      /* centred across the cell to the device pixel */
      g_assert_cmpint (abs ((at_x - box.x) - (box.x + box.width - at_x - tw)),
                       <=, 1);
      g_assert_cmpint (at_y - box.y, <, HIPPO_THUMB_SIZE * scale / 2);
    }
  if (g_getenv ("HIPPOTAG_SCREENSHOTS"))
    {
      g_autofree char *base = g_strdup_printf ("trainer-scale%d.png", scale);
      g_autofree char *path
        = g_build_filename (g_getenv ("HIPPOTAG_SCREENSHOTS"), base, NULL);
      snap (window, path);
      g_test_message ("wrote %s", path);
    }

  /* the large view of a file: 900 logical pixels wide, decoded at the
   * device's resolution */
  i = grid_index_of_name (t, "pattern-0.png");
  hippo_thumb_grid_set_cursor (t->grid, i, FALSE);
  assert_large_view (t, window, scale, 900 * scale, 900);

  /* an image without a file (GIMP's): its thumbnail at device resolution,
   * and the large view shows that thumbnail one to one (in a view of at
   * least 300x300) */
  {
    g_autoptr (GdkPixbuf) p = pattern_pixbuf (1000, 700);
    HippoImage *gimp_image;
    HippoTrainerItem *it;

    gimp_image
      = hippo_image_new_from_data (gdk_pixbuf_get_pixels (p), 1000, 700,
                                   gdk_pixbuf_get_rowstride (p), 3, &error);
    g_assert_no_error (error);
    hippo_trainer_add_image (window, "zz-gimp-image", NULL, gimp_image);
    hippo_image_free (gimp_image);
    i = grid_index_of_name (t, "zz-gimp-image");
    g_assert_cmpint (i, >=, 0);
    it = hippo_thumb_grid_get_item (t->grid, i);
    hippo_thumb_grid_set_cursor (t->grid, i, FALSE);
    spin_until (thumb_done, it, 10);
    g_assert_cmpint (it->thumb_state, ==, HIPPO_THUMB_DONE);
    g_assert_cmpint (gdk_pixbuf_get_width (it->thumb), ==,
                     HIPPO_THUMB_SIZE * scale);
    wait_idle (t, 30);
    assert_large_view (t, window, scale, HIPPO_THUMB_SIZE * scale, 300);
  }

  /* a key still labels at the cursor and moves on */
  i = grid_index_of_name (t, "pattern-1.png");
  hippo_thumb_grid_set_cursor (t->grid, i, FALSE);
  gtk_widget_grab_focus (area);
  send_key (window, GDK_KEY_3, 0);
  g_assert_cmpint (hippo_thumb_grid_get_item (t->grid, i)->label_id, ==,
                   class_id (t, 2));
  g_assert_cmpint (hippo_thumb_grid_get_cursor (t->grid), ==, i + 1);
  wait_idle (t, 60);
  g_assert_null (t->last_error);
  gtk_widget_destroy (window);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/ui/label-train-undo-reopen", Fixture, NULL, fixture_set_up,
              test_label_train_undo_reopen, fixture_tear_down);
  g_test_add ("/ui/deterministic-under-load", Fixture, NULL, fixture_set_up,
              test_deterministic_under_load, fixture_tear_down);
  g_test_add ("/ui/label-while-classifying", Fixture, NULL, fixture_set_up,
              test_label_while_classifying, fixture_tear_down);
  g_test_add ("/ui/class-dialogs", Fixture, NULL, fixture_set_up,
              test_class_dialogs, fixture_tear_down);
  g_test_add ("/ui/apply", Fixture, NULL, fixture_set_up, test_apply,
              fixture_tear_down);
  g_test_add ("/ui/5000-images", Fixture, NULL, fixture_set_up, test_5000,
              fixture_tear_down);
  g_test_add ("/ui/scale-factor", Fixture, NULL, fixture_set_up,
              test_scale_factor, fixture_tear_down);
  g_test_add ("/ui/screenshots", Fixture, NULL, fixture_set_up,
              test_screenshots, fixture_tear_down);
  return g_test_run ();
}
