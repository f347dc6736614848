/* Hippotag GIMP plug-in — classify, label and batch-tag from inside GIMP 3.
 *
 * One executable registering four procedures (this file); what they do is
 * in plugin-procedures.c. Every option is a real procedure argument, so
 * Script-Fu, Python-Fu and batch mode can call them; errors come back as
 * GIMP_PDB_EXECUTION_ERROR with a message, never a crash.
 */

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <hippotag/hippotag.h>

#include "plugin-procedures.h"
#include "plugin-timing.h"

#define PROC_CLASSIFY "plug-in-hippotag-classify"
#define PROC_LABEL "plug-in-hippotag-label"
#define PROC_TRAINER "plug-in-hippotag-trainer"
#define PROC_BATCH "plug-in-hippotag-batch"

#define HIPPO_TYPE_PLUG_IN (hippo_plug_in_get_type ())
G_DECLARE_FINAL_TYPE (HippoPlugIn, hippo_plug_in, HIPPO, PLUG_IN, GimpPlugIn)

struct _HippoPlugIn
{
  GimpPlugIn parent_instance;
};

G_DEFINE_TYPE (HippoPlugIn, hippo_plug_in, GIMP_TYPE_PLUG_IN)

/* ------------------------------------------------------------ arguments */

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
    procedure, "source", "_Use", "Which pixels to use",
    gimp_choice_new_with_values ("image", 0, "The visible image",
                                 "all visible layers, composited", "drawable",
                                 1, "The selected drawable",
                                 "the one drawable passed in, alone", NULL),
    "image", G_PARAM_READWRITE);
}

static void
set_attribution (GimpProcedure *procedure)
{
  gimp_procedure_set_attribution (procedure, "Hippotag authors",
                                  "Hippotag authors", "2025");
}

/* ------------------------------------------------------------ procedures */

static GimpProcedure *
create_classify (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, PROC_CLASSIFY,
                                        GIMP_PDB_PROC_TYPE_PLUGIN,
                                        hippo_plugin_run_classify, NULL, NULL);
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
    "project's model and trained head and returns the best class, its "
    "probability and whether it is below the project's unsure threshold. "
    "Interactive runs show every class ranked with confidence bars, can add "
    "the label as a keyword and can label the image as the right class "
    "(\"Wrong? Label as…\"). With add-keyword the label is added to the "
    "image's metadata (XMP dc:subject, IPTC Keywords, lr:hierarchicalSubject, "
    "digiKam TagsList), which GIMP writes on export; non-interactive runs "
    "add it only when the result is not unsure, as 'hippotag tag' does.",
    PROC_CLASSIFY);
  set_attribution (procedure);
  add_project_argument (procedure);
  add_source_argument (procedure);
  gimp_procedure_add_boolean_argument (
    procedure, "add-keyword", "Add as _keyword",
    "Add the label as a keyword to the image's metadata (non-interactive: "
    "not when unsure)",
    FALSE, G_PARAM_READWRITE);
  gimp_procedure_add_string_return_value (
    procedure, "label", "Label", "The best class", NULL, G_PARAM_READWRITE);
  gimp_procedure_add_double_return_value (procedure, "confidence", "Confidence",
                                          "The probability of the best class",
                                          0.0, 1.0, 0.0, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_return_value (
    procedure, "unsure", "Unsure",
    "Whether the confidence is below the project's unsure threshold", FALSE,
    G_PARAM_READWRITE);
  return procedure;
}

static GimpProcedure *
create_label (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure
    = gimp_image_procedure_new (plug_in, PROC_LABEL, GIMP_PDB_PROC_TYPE_PLUGIN,
                                hippo_plugin_run_label, NULL, NULL);
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
    "class-name (matched ignoring case; created if missing). The image need "
    "not be saved: it is known by the hash of its pixels. Train the project "
    "again to use the new example.",
    PROC_LABEL);
  set_attribution (procedure);
  add_project_argument (procedure);
  add_source_argument (procedure);
  gimp_procedure_add_string_argument (procedure, "class-name", "Cl_ass",
                                      "The class the image belongs to", NULL,
                                      G_PARAM_READWRITE);
  gimp_procedure_add_string_return_value (procedure, "class-name", "Class",
                                          "The class's name as stored", NULL,
                                          G_PARAM_READWRITE);
  gimp_procedure_add_int_return_value (procedure, "n-examples", "Examples",
                                       "The class's number of examples now", 0,
                                       G_MAXINT, 0, G_PARAM_READWRITE);
  return procedure;
}

static GimpProcedure *
create_trainer (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure
    = gimp_procedure_new (plug_in, PROC_TRAINER, GIMP_PDB_PROC_TYPE_PLUGIN,
                          hippo_plugin_run_trainer, NULL, NULL);
  gimp_procedure_set_sensitivity_mask (procedure,
                                       GIMP_PROCEDURE_SENSITIVE_ALWAYS);
  gimp_procedure_set_menu_label (procedure, "_Train classes…");
  gimp_procedure_add_menu_path (procedure, "<Image>/Image/Hippotag");
  gimp_procedure_set_documentation (
    procedure, "Make classes and label examples for a Hippotag project",
    "Opens the Hippotag trainer window on the project (created with the "
    "default model when missing), showing every image open in GIMP (its "
    "visible composite) and, when given, the images of folder. Make "
    "classes, label by keyboard, train and apply there; labels of open "
    "images are stored under the hash of their pixels, as "
    "plug-in-hippotag-label does. Returns when the window is closed. "
    "Interactive only: a non-interactive run fails with an execution error.",
    PROC_TRAINER);
  set_attribution (procedure);
  gimp_procedure_add_enum_argument (procedure, "run-mode", "Run mode",
                                    "The run mode", GIMP_TYPE_RUN_MODE,
                                    GIMP_RUN_INTERACTIVE, G_PARAM_READWRITE);
  add_project_argument (procedure);
  gimp_procedure_add_file_argument (
    procedure, "folder", "_Folder",
    "A folder of images to show beside GIMP's open images (none: only "
    "those)",
    GIMP_FILE_CHOOSER_ACTION_SELECT_FOLDER, TRUE, NULL, G_PARAM_READWRITE);
  return procedure;
}

static GimpProcedure *
create_batch (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure
    = gimp_procedure_new (plug_in, PROC_BATCH, GIMP_PDB_PROC_TYPE_PLUGIN,
                          hippo_plugin_run_batch, NULL, NULL);
  gimp_procedure_set_sensitivity_mask (procedure,
                                       GIMP_PROCEDURE_SENSITIVE_ALWAYS);
  gimp_procedure_set_menu_label (procedure, "Tag or _sort a folder…");
  gimp_procedure_add_menu_path (procedure, "<Image>/File/Hippotag");
  gimp_procedure_set_documentation (
    procedure, "Tag or sort a folder of images with a Hippotag project",
    "Classifies every file under folder (recursively; hidden files, XMP "
    "sidecars and dest are left out) with the project's trained head, as "
    "'hippotag tag' and 'hippotag sort' do. mode \"tag\" writes the label "
    "as keywords: tag-mode \"sidecar\" into FILE.EXT.xmp (the image is not "
    "touched), \"in-place\" into the image through a temporary copy and an "
    "atomic rename. \"sort\" copies, moves or links each file into "
    "dest/LABEL/ (never overwriting; every action is journalled in "
    "dest/.hippotag-sort-*.journal, returned as journal, for 'hippotag sort "
    "--undo'). \"both\" sorts, then tags each file where it went. Files "
    "below min-confidence (-1: the project's unsure threshold) are unsure: "
    "never tagged, sorted into dest/unsure or left where they are. dry-run "
    "changes nothing. Progress goes to GIMP's progress bar; interactive runs "
    "can be cancelled between files.",
    PROC_BATCH);
  set_attribution (procedure);
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
      "tag", 0, "Tag", "write the label as keywords", "sort", 1, "Sort",
      "put the file into dest/LABEL/", "both", 2, "Sort, then tag",
      "both: sort, then tag the file where it went", NULL),
    "tag", G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument (
    procedure, "tag-mode", "_Write keywords to", "Where keywords go",
    gimp_choice_new_with_values (
      "sidecar", 0, "XMP sidecar (FILE.EXT.xmp)",
      "the image itself is not touched", "in-place", 1, "The image itself",
      "through a temporary copy and an atomic rename", NULL),
    "sidecar", G_PARAM_READWRITE);
  gimp_procedure_add_file_argument (procedure, "dest", "_Destination",
                                    "Where sorted files go (mode sort or both)",
                                    GIMP_FILE_CHOOSER_ACTION_CREATE_FOLDER,
                                    TRUE, NULL, G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument (
    procedure, "action", "_Action", "How a file is sorted",
    gimp_choice_new_with_values (
      "copy", 0, "Copy", "copy the file (verified)", "move", 1, "Move",
      "move the file (across file systems: copied, verified, then removed)",
      "link", 2, "Symbolic link", "make a symbolic link", "hardlink", 3,
      "Hard link", "make a hard link (same file system only)", NULL),
    "copy", G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument (
    procedure, "unsure", "_Unsure files", "Where unsure files go when sorting",
    gimp_choice_new_with_values (
      "folder", 0, "Into dest/unsure", "a folder of their own", "leave", 1,
      "Leave them", "they stay where they are", NULL),
    "folder", G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (
    procedure, "min-confidence", "Mi_nimum confidence",
    "Below this probability a file is unsure; -1 for the project's unsure "
    "threshold",
    -1.0, 1.0, -1.0, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "dry-run", "Dr_y run",
                                       "Only work out what would be done",
                                       FALSE, G_PARAM_READWRITE);
  gimp_procedure_add_int_return_value (procedure, "n-done", "Done",
                                       "Files tagged and/or sorted (or that "
                                       "would be, in a dry run)",
                                       0, G_MAXINT, 0, G_PARAM_READWRITE);
  gimp_procedure_add_int_return_value (
    procedure, "n-failed", "Failed",
    "Files that could not be read, tagged or sorted", 0, G_MAXINT, 0,
    G_PARAM_READWRITE);
  gimp_procedure_add_int_return_value (procedure, "n-unsure", "Unsure",
                                       "Files below the confidence threshold",
                                       0, G_MAXINT, 0, G_PARAM_READWRITE);
  gimp_procedure_add_file_return_value (
    procedure, "journal", "Journal",
    "The sort journal, for 'hippotag sort --undo' (none for tag or dry run)",
    G_PARAM_READWRITE);
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
