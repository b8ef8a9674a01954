/* pulmo-error.h: the one error domain for everything a user can cause. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PULMO_ERROR (pulmo_error_quark ())

typedef enum {
  PULMO_ERROR_NOT_FOUND,        /* the file or folder does not exist */
  PULMO_ERROR_IO,               /* reading or writing failed (permissions, disk full) */
  PULMO_ERROR_NOT_NIFTI,        /* not a NIfTI-1/NIfTI-2 file */
  PULMO_ERROR_CORRUPT,          /* damaged gzip stream, impossible header fields */
  PULMO_ERROR_TRUNCATED,        /* the file holds less data than its header says */
  PULMO_ERROR_UNSUPPORTED,      /* a valid file Pulmo cannot use (datatype, 4-D) */
  PULMO_ERROR_TOO_LARGE,        /* dimensions overflow or exceed Pulmo's limits */
  PULMO_ERROR_GRID_MISMATCH,    /* a label map that does not lie on the CT's grid */
  PULMO_ERROR_INVALID,          /* invalid values (labels out of range, bad weights) */
  PULMO_ERROR_CANCELLED,        /* the user cancelled */
  PULMO_ERROR_MISSING_TOOL,     /* an external program (dcm2niix) is not installed */
} PulmoErrorCode;

GQuark pulmo_error_quark (void);

G_END_DECLS
