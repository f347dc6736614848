/* Hippotag trainer — one image shown in the grid. Private to ui/. */
#ifndef HIPPO_TRAINER_ITEM_H
#define HIPPO_TRAINER_ITEM_H

#include <gtk/gtk.h>
#include <hippotag/hippotag.h>

G_BEGIN_DECLS

typedef enum
{
  HIPPO_THUMB_NONE,
  HIPPO_THUMB_QUEUED,
  HIPPO_THUMB_DONE,
  HIPPO_THUMB_FAILED,
} HippoThumbState;

/* Owned by the trainer, freed only with it, so pointers stay valid. */
typedef struct
{
  char *path;        /* NULL for an image without a file (GIMP) */
  char *name;        /* shown under the thumbnail */
  HippoImage *image; /* pixels of an image without a file, else NULL */
  char *hash;        /* pixel hash of such an image, else NULL */
  GdkPixbuf *thumb;
  HippoThumbState thumb_state;
  gint64 label_id; /* class id, 0 = unlabelled */
  gint64 pred_id;  /* predicted class id, 0 = none */
  float confidence;
  float uncertainty; /* NaN until classified */
} HippoTrainerItem;

G_END_DECLS

#endif /* HIPPO_TRAINER_ITEM_H */
