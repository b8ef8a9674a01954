/* dicom-import.h: a DICOM series folder opened as a volume, by converting it with
 * dcm2niix (run as a separate program) into a temporary folder that is removed
 * again before returning. */
#pragma once

#include <gio/gio.h>

#include "core/pulmo-progress.h"
#include "core/pulmo-volume.h"

G_BEGIN_DECLS

/* Converts the DICOM files in @folder and loads the largest series found.
 * Fails with PULMO_ERROR_MISSING_TOOL when dcm2niix is not installed and with
 * PULMO_ERROR_NOT_FOUND when the folder holds no DICOM series. */
PulmoVolume *pulmo_dicom_import (const char *folder, PulmoProgress *progress,
                                 GCancellable *cancellable, GError **error);

G_END_DECLS
