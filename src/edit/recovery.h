/* recovery.h: the file that keeps an annotator's edits through a crash. One per
 * CT, in g_get_user_state_dir()/pulmo/recovery/, named by a hash of the CT's
 * absolute path; it records that path, the CT's content hash, the grid, the
 * label table and the deflated labels under a CRC, and is written atomically. */
#pragma once

#include "core/pulmo-label-map.h"

G_BEGIN_DECLS

/* SHA-256 (hex) of the CT's grid, affine and voxels: a recovery file restores
 * only onto the very CT it was made for. */
char *pulmo_recovery_ct_hash (PulmoVolume *ct);
/* Where the recovery file of the CT at @ct_path lives (made absolute). */
char *pulmo_recovery_path (const char *ct_path);

/* Writes @labels (on @ct's grid) with @table; a reader sees the old file or the new, never a torn one. */
gboolean pulmo_recovery_write (const char *path, const char *ct_path, const char *ct_hash,
                               PulmoVolume *ct, const uint8_t *labels, const PulmoLabelTable *table,
                               GError **error);
/* The labels kept at @path, if it holds them for @ct (@ct_hash); else an error
 * that says why (another CT, damaged, from a newer Pulmo). */
PulmoLabelMap *pulmo_recovery_read (const char *path, PulmoVolume *ct, const char *ct_hash,
                                    GError **error);
/* Removes the file once the edits are saved or declined; no error if absent. */
void pulmo_recovery_discard (const char *path);

/* Autosave: keeps a label map's recovery file current, within about a second of
 * each change, on a worker thread. The main thread only copies the changed box. */
typedef struct _PulmoAutosave PulmoAutosave;

/* Follows @map's "changed" signal (main thread); @ct_hash as from pulmo_recovery_ct_hash. */
PulmoAutosave *pulmo_autosave_new (PulmoLabelMap *map, const char *ct_path, const char *ct_hash);
/* Writes now and waits for it (before a deliberate quit, and in tests). */
gboolean pulmo_autosave_flush (PulmoAutosave *autosave, GError **error);
/* The last write's error, if any (shown by the app once). */
const GError *pulmo_autosave_get_error (PulmoAutosave *autosave);
const char *pulmo_autosave_get_path (PulmoAutosave *autosave);
/* Stops autosaving; with @discard the recovery file goes too (saved or declined edits). */
void pulmo_autosave_free (PulmoAutosave *autosave, gboolean discard);

G_END_DECLS
