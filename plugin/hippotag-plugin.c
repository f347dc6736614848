/* Hippotag GIMP plug-in — classify, label and batch-tag from inside GIMP 3.
 *
 * One executable registering four procedures. Every option is a real
 * procedure argument, so Script-Fu, Python-Fu and batch mode can call them;
 * errors come back as GIMP_PDB_EXECUTION_ERROR with a message, never a crash.
 */
#include "hippo-config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <hippotag/hippotag.h>

#include "plugin-classify.h"
#include "plugin-dialogs.h"
#include "plugin-image.h"
#include "plugin-metadata.h"
#include "plugin-timing.h"

#define PROC_CLASSIFY "plug-in-hippotag-classify"
#define PROC_LABEL "plug-in-hippotag-label"
#define PROC_TRAINER "plug-in-hippotag-trainer"
#define PROC_BATCH "plug-in-hippotag-batch"
#define PLUG_IN_BINARY "hippotag"

#define HIPPO_TYPE_PLUG_IN (hippo_plug_in_get_type ())
G_DECLARE_FINAL_TYPE (HippoPlugIn, hippo_plug_in, HIPPO, PLUG_IN, GimpPlugIn)

struct _HippoPlugIn
{
  GimpPlugIn parent_instance;
};

G_DEFINE_TYPE (HippoPlugIn, hippo_plug_in, GIMP_TYPE_PLUG_IN)

/* ------------------------------------------------------------ helpers */

static GimpValueArray *
fail (GimpProcedure *procedure, GError *error)
{
  return gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR,
                                           error);
}

static GimpValueArray *
not_available_yet (GimpProcedure *procedure, const char *what)
{
  return fail (procedure, g_error_new (HIPPO_ERROR, HIPPO_ERROR_STATE,
                                       "%s: not available yet in this build of "
                                       "Hippotag %s (%s)",
                                       gimp_procedure_get_name (procedure),
                                       HIPPO_VERSION, what));
}

/* A "save" file argument: GIMP itself then accepts a missing file, so the
 * plug-in can say clearly what is wrong with it (an "open" argument naming a
 * missing file is refused by GIMP as "out of range"). */
static void
add_project_argument (GimpProcedure *procedure)
{
  gimp_procedure_add_file_argument (
    procedure, "project", "_Project",
    "The Hippotag project (.hippotag file); none for the per-user default "
    "project, hippotag/default.hippotag in GIMP's configuration folder",
    GIMP_FILE_CHOOSER_ACTION_SAVE, TRUE, NULL, G_PARAM_READWRITE);
}

static void
add_source_argument (GimpProcedure *procedure)
{
  gimp_procedure_add_choice_argument (
    procedure, "source", "_Source", "Which pixels to classify",
    gimp_choice_new_with_values ("image", 0, "The visible image",
                                 "all visible layers, composited", "drawable",
                                 1, "The selected drawable",
                                 "the one drawable passed in, alone", NULL),
    "image", G_PARAM_READWRITE);
}

/* The drawable to read (NULL for the composite) by the "source" argument. */
static gboolean
pick_drawable (GimpProcedureConfig *config, GimpDrawable **drawables,
               GimpDrawable **drawable, GError **error)
{
  g_autofree char *source = NULL;

  *drawable = NULL;
  g_object_get (config, "source", &source, NULL);
  if (g_strcmp0 (source, "drawable") != 0)
    return TRUE;
  if (drawables == NULL || drawables[0] == NULL || drawables[1] != NULL)
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                   "source \"drawable\" needs exactly one drawable");
      return FALSE;
    }
  *drawable = drawables[0];
  return TRUE;
}

/* ------------------------------------------------------------ classify */

static GimpValueArray *
run_classify (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
              GimpDrawable **drawables, GimpProcedureConfig *config,
              gpointer run_data)
{
  g_autoptr (GFile) project = NULL;
  g_autofree char *project_path = NULL;
  g_autoptr (HippoImage) pixels = NULL;
  g_autoptr (HippoPluginResult) result = NULL;
  g_autoptr (HippoPluginClassifier) classifier = NULL;
  GimpDrawable *drawable;
  GimpValueArray *ret;
  int w, h;
  GError *error = NULL;
  gboolean add_keyword = FALSE;
  gboolean is_default;

  hippo_plugin_timing_mark ("classify: run");
  g_object_get (config, "project", &project, "add-keyword", &add_keyword, NULL);
  if (!hippo_plugin_check_project (project, &is_default, &project_path, &error)
      || !pick_drawable (config, drawables, &drawable, &error))
    return fail (procedure, error);

  if (run_mode == GIMP_RUN_INTERACTIVE)
    gimp_progress_init ("Hippotag: classifying");
  classifier = hippo_plugin_classifier_open (project_path, &error);
  if (classifier == NULL)
    return fail (procedure, error);
  /* box-average big images down to no less than twice the model's input */
  hippo_plugin_classifier_get_input_size (classifier, &w, &h);
  pixels = hippo_plugin_image_read (image, drawable, 2 * w, 2 * h, &error);
  if (pixels == NULL)
    return fail (procedure, error);
  result = hippo_plugin_classifier_run (classifier, pixels, &error);
  if (result == NULL)
    return fail (procedure, error);
  if (result->n_scores == 0)
    return fail (procedure, g_error_new (HIPPO_ERROR, HIPPO_ERROR_STATE,
                                         "the classifier has no classes"));
  if (run_mode == GIMP_RUN_INTERACTIVE)
    gimp_progress_end ();

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      /* the check box starts from the last value */
      gimp_ui_init (PLUG_IN_BINARY);
      if (!hippo_plugin_classify_dialog (result, &add_keyword))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL,
                                                 NULL);
      g_object_set (config, "add-keyword", add_keyword, NULL);
    }
  if (add_keyword
      && !hippo_plugin_add_keyword (image, result->scores[0].name, &error))
    return fail (procedure, error);

  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_STRING (ret, 1, result->scores[0].name);
  GIMP_VALUES_SET_DOUBLE (ret, 2, result->scores[0].score);
  hippo_plugin_timing_mark ("classify: result");
  return ret;
}

static GimpProcedure *
create_classify (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, PROC_CLASSIFY,
                                        GIMP_PDB_PROC_TYPE_PLUGIN, run_classify,
                                        NULL, NULL);
  gimp_procedure_set_image_types (procedure, "*");
  gimp_procedure_set_sensitivity_mask (
    procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE
                 | GIMP_PROCEDURE_SENSITIVE_DRAWABLES
                 | GIMP_PROCEDURE_SENSITIVE_NO_DRAWABLES);
  gimp_procedure_set_menu_label (procedure, "_Classify…");
  gimp_procedure_add_menu_path (procedure, "<Image>/Image/Hippotag");
  gimp_procedure_set_documentation (
    procedure, "Classify the image with a Hippotag project",
    "Runs the image (its visible composite, or one drawable) through the "
    "project's classifier and returns the best class and its probability. "
    "Interactive runs show every class ranked, with confidence bars. With "
    "add-keyword the label is added to the image's metadata (XMP dc:subject, "
    "IPTC Keywords, lr:hierarchicalSubject, digiKam TagsList), which GIMP "
    "writes on export.",
    PROC_CLASSIFY);
  gimp_procedure_set_attribution (procedure, "Hippotag authors",
                                  "Hippotag authors", "2025");
  add_project_argument (procedure);
  add_source_argument (procedure);
  gimp_procedure_add_boolean_argument (
    procedure, "add-keyword", "Add as _keyword",
    "Add the label as a keyword to the image's metadata", FALSE,
    G_PARAM_READWRITE);
  gimp_procedure_add_string_return_value (
    procedure, "label", "Label", "The best class", NULL, G_PARAM_READWRITE);
  gimp_procedure_add_double_return_value (procedure, "confidence", "Confidence",
                                          "The probability of the best class",
                                          0.0, 1.0, 0.0, G_PARAM_READWRITE);
  return procedure;
}

/* ------------------------------------------------------------ label */

static GimpValueArray *
run_label (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
           GimpDrawable **drawables, GimpProcedureConfig *config,
           gpointer run_data)
{
  g_autoptr (GFile) project = NULL;
  g_autofree char *project_path = NULL;
  g_autofree char *class_name = NULL;
  GimpDrawable *drawable;
  GError *error = NULL;
  gboolean is_default;

  g_object_get (config, "project", &project, "class-name", &class_name, NULL);
  if (class_name == NULL || *g_strstrip (class_name) == '\0')
    return fail (procedure,
                 g_error_new (HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                              "class-name is empty"));
  if (!hippo_plugin_check_project (project, &is_default, &project_path, &error)
      || !pick_drawable (config, drawables, &drawable, &error))
    return fail (procedure, error);
  /* UNFINISHED: needs the project API (store the image's features as an
   * example of class-name). */
  return not_available_yet (procedure, "adding examples needs the project "
                                       "API");
}

static GimpProcedure *
create_label (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (
    plug_in, PROC_LABEL, GIMP_PDB_PROC_TYPE_PLUGIN, run_label, NULL, NULL);
  gimp_procedure_set_image_types (procedure, "*");
  gimp_procedure_set_sensitivity_mask (
    procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE
                 | GIMP_PROCEDURE_SENSITIVE_DRAWABLES
                 | GIMP_PROCEDURE_SENSITIVE_NO_DRAWABLES);
  gimp_procedure_set_menu_label (procedure, "_Label as…");
  gimp_procedure_add_menu_path (procedure, "<Image>/Image/Hippotag");
  gimp_procedure_set_documentation (
    procedure, "Add the image to a Hippotag project as an example of a class",
    "Stores the image's features in the project as a labelled example of "
    "class-name (created if missing). The image need not be saved.",
    PROC_LABEL);
  gimp_procedure_set_attribution (procedure, "Hippotag authors",
                                  "Hippotag authors", "2025");
  add_project_argument (procedure);
  add_source_argument (procedure);
  gimp_procedure_add_string_argument (procedure, "class-name", "C_lass",
                                      "The class the image belongs to", NULL,
                                      G_PARAM_READWRITE);
  return procedure;
}

/* ------------------------------------------------------------ trainer */

static GimpValueArray *
run_trainer (GimpProcedure *procedure, GimpProcedureConfig *config,
             gpointer run_data)
{
  /* UNFINISHED: opens the trainer from ui/ (issue 5). */
  return not_available_yet (procedure, "the trainer dialog is not built "
                                       "in yet");
}

static GimpProcedure *
create_trainer (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = gimp_procedure_new (
    plug_in, PROC_TRAINER, GIMP_PDB_PROC_TYPE_PLUGIN, run_trainer, NULL, NULL);
  gimp_procedure_set_sensitivity_mask (procedure,
                                       GIMP_PROCEDURE_SENSITIVE_ALWAYS);
  gimp_procedure_set_menu_label (procedure, "_Train classes…");
  gimp_procedure_add_menu_path (procedure, "<Image>/Image/Hippotag");
  gimp_procedure_set_documentation (
    procedure, "Make classes and label examples for a Hippotag project",
    "Opens the Hippotag trainer on the project, offering GIMP's open images "
    "as a source beside folders.",
    PROC_TRAINER);
  gimp_procedure_set_attribution (procedure, "Hippotag authors",
                                  "Hippotag authors", "2025");
  gimp_procedure_add_enum_argument (procedure, "run-mode", "Run mode",
                                    "The run mode", GIMP_TYPE_RUN_MODE,
                                    GIMP_RUN_INTERACTIVE, G_PARAM_READWRITE);
  add_project_argument (procedure);
  return procedure;
}

/* ------------------------------------------------------------ batch */

static GimpValueArray *
run_batch (GimpProcedure *procedure, GimpProcedureConfig *config,
           gpointer run_data)
{
  /* UNFINISHED: tag/sort a folder through the classifier API, with GIMP's
   * progress bar, cancellable. */
  return not_available_yet (procedure, "folder tagging and sorting need the "
                                       "classifier API");
}

static GimpProcedure *
create_batch (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = gimp_procedure_new (
    plug_in, PROC_BATCH, GIMP_PDB_PROC_TYPE_PLUGIN, run_batch, NULL, NULL);
  gimp_procedure_set_sensitivity_mask (procedure,
                                       GIMP_PROCEDURE_SENSITIVE_ALWAYS);
  gimp_procedure_set_menu_label (procedure, "Tag or _sort a folder…");
  gimp_procedure_add_menu_path (procedure, "<Image>/File/Hippotag");
  gimp_procedure_set_documentation (
    procedure, "Tag or sort a folder of images with a Hippotag project",
    "Classifies every image under folder (recursively). mode \"tag\" writes "
    "the label as a keyword (an XMP sidecar FILE.EXT.xmp; the original is "
    "not touched); \"sort\" copies, moves or links each file into "
    "dest/LABEL/ (never overwriting; journalled); \"both\" does both. Files "
    "below min-confidence are tagged nothing and sorted into dest/unsure. "
    "dry-run only reports what would be done.",
    PROC_BATCH);
  gimp_procedure_set_attribution (procedure, "Hippotag authors",
                                  "Hippotag authors", "2025");
  gimp_procedure_add_enum_argument (procedure, "run-mode", "Run mode",
                                    "The run mode", GIMP_TYPE_RUN_MODE,
                                    GIMP_RUN_INTERACTIVE, G_PARAM_READWRITE);
  add_project_argument (procedure);
  gimp_procedure_add_file_argument (
    procedure, "folder", "_Folder", "The folder of images",
    GIMP_FILE_CHOOSER_ACTION_SELECT_FOLDER, TRUE, NULL, G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument (
    procedure, "mode", "_Mode", "What to do with each image",
    gimp_choice_new_with_values (
      "tag", 0, "Tag", "write the label as a keyword (XMP sidecar)", "sort", 1,
      "Sort", "put the file into dest/LABEL/", "both", 2, "Tag and sort",
      "both", NULL),
    "tag", G_PARAM_READWRITE);
  gimp_procedure_add_file_argument (procedure, "dest", "_Destination",
                                    "Where sorted files go (mode sort or both)",
                                    GIMP_FILE_CHOOSER_ACTION_CREATE_FOLDER,
                                    TRUE, NULL, G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument (
    procedure, "action", "_Action", "How a file is sorted",
    gimp_choice_new_with_values (
      "copy", 0, "Copy", "copy the file", "move", 1, "Move",
      "move the file (copied, verified, then removed across file systems)",
      "link", 2, "Link", "make a symbolic link", NULL),
    "copy", G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "min-confidence",
                                      "Minimum _confidence",
                                      "Below this probability a file is unsure",
                                      0.0, 1.0, 0.0, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "dry-run", "_Dry run",
                                       "Only report what would be done", FALSE,
                                       G_PARAM_READWRITE);
  gimp_procedure_add_int_return_value (procedure, "n-done", "Done",
                                       "Files tagged or sorted", 0, G_MAXINT, 0,
                                       G_PARAM_READWRITE);
  gimp_procedure_add_int_return_value (procedure, "n-failed", "Failed",
                                       "Files that could not be read", 0,
                                       G_MAXINT, 0, G_PARAM_READWRITE);
  return procedure;
}

/* ------------------------------------------------------------ plug-in */

static GList *
hippo_plug_in_query_procedures (GimpPlugIn *plug_in)
{
  GList *list = NULL;

  list = g_list_append (list, g_strdup (PROC_CLASSIFY));
  list = g_list_append (list, g_strdup (PROC_LABEL));
  list = g_list_append (list, g_strdup (PROC_TRAINER));
  list = g_list_append (list, g_strdup (PROC_BATCH));
  return list;
}

static GimpProcedure *
hippo_plug_in_create_procedure (GimpPlugIn *plug_in, const char *name)
{
  if (g_strcmp0 (name, PROC_CLASSIFY) == 0)
    return create_classify (plug_in);
  if (g_strcmp0 (name, PROC_LABEL) == 0)
    return create_label (plug_in);
  if (g_strcmp0 (name, PROC_TRAINER) == 0)
    return create_trainer (plug_in);
  if (g_strcmp0 (name, PROC_BATCH) == 0)
    return create_batch (plug_in);
  return NULL;
}

/* No translations yet; FALSE also stops GIMP's "catalog directory does not
 * exist" message on every call. */
static gboolean
hippo_plug_in_set_i18n (GimpPlugIn *plug_in, const char *procedure_name,
                        char **gettext_domain, char **catalog_dir)
{
  return FALSE;
}

static void
hippo_plug_in_class_init (HippoPlugInClass *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);

  plug_in_class->query_procedures = hippo_plug_in_query_procedures;
  plug_in_class->create_procedure = hippo_plug_in_create_procedure;
  plug_in_class->set_i18n = hippo_plug_in_set_i18n;
}

static void
hippo_plug_in_init (HippoPlugIn *plug_in)
{
}

int
main (int argc, char **argv)
{
  hippo_plugin_timing_mark ("main");
  return gimp_main (HIPPO_TYPE_PLUG_IN, argc, argv);
}
