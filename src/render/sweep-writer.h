/* sweep-writer.h: a slice sweep written frame by frame, as one animated PNG
 * (APNG: acTL and fcTL chunks, every frame whole) or as a numbered series of
 * PNGs for slides. zlib alone, no image library. GTK-free. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum {
  PULMO_SWEEP_APNG,        /* one file: path as given */
  PULMO_SWEEP_PNG_SERIES,  /* "sweep.png" → sweep-001.png, sweep-002.png, … */
} PulmoSweepFormat;

/* Largest frame side and count a sweep accepts. */
#define PULMO_SWEEP_MAX_SIDE 8192
#define PULMO_SWEEP_MAX_FRAMES 4096

typedef struct _PulmoSweepWriter PulmoSweepWriter;

/* A sweep of @n_frames frames of @width × @height at @fps frames a second
 * (1 to 60). The APNG goes to a temporary file beside @path that
 * pulmo_sweep_writer_finish renames, so a failed export leaves no half file. */
PulmoSweepWriter *pulmo_sweep_writer_new (const char *path, PulmoSweepFormat format, int width, int height,
                                          int n_frames, double fps, GError **error);
/* Appends a frame: cairo ARGB32/RGB24 pixels (0x00RRGGBB or opaque premultiplied),
 * rows @stride_bytes apart; alpha is dropped. */
gboolean pulmo_sweep_writer_add (PulmoSweepWriter *writer, const uint32_t *pixels, int stride_bytes,
                                 GError **error);
/* Checks that every frame came, closes and renames; frees @writer either way. */
gboolean pulmo_sweep_writer_finish (PulmoSweepWriter *writer, GError **error);
/* Frees without finishing: removes the temporary file. */
void pulmo_sweep_writer_abort (PulmoSweepWriter *writer);
/* The file frame @index (from 0) of a series goes to. */
char *pulmo_sweep_series_path (const char *path, int index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulmoSweepWriter, pulmo_sweep_writer_abort)

G_END_DECLS
