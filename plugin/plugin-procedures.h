/* Hippotag GIMP plug-in — what each procedure does when run.
 */
#ifndef HIPPO_PLUGIN_PROCEDURES_H
#define HIPPO_PLUGIN_PROCEDURES_H

#include <libgimp/gimp.h>

G_BEGIN_DECLS

#define HIPPO_PLUGIN_BINARY "hippotag"

GimpValueArray *
hippo_plugin_run_classify (GimpProcedure *procedure, GimpRunMode run_mode,
                           GimpImage *image, GimpDrawable **drawables,
                           GimpProcedureConfig *config, gpointer run_data);

GimpValueArray *hippo_plugin_run_label (GimpProcedure *procedure,
                                        GimpRunMode run_mode, GimpImage *image,
                                        GimpDrawable **drawables,
                                        GimpProcedureConfig *config,
                                        gpointer run_data);

GimpValueArray *hippo_plugin_run_trainer (GimpProcedure *procedure,
                                          GimpProcedureConfig *config,
                                          gpointer run_data);

GimpValueArray *hippo_plugin_run_batch (GimpProcedure *procedure,
                                        GimpProcedureConfig *config,
                                        gpointer run_data);

G_END_DECLS

#endif /* HIPPO_PLUGIN_PROCEDURES_H */
