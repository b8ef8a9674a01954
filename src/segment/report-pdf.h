/* report-pdf.h: the one-page PDF form of a report, drawn with cairo. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "core/pulmo-volume.h"
#include "segment/report.h"

G_BEGIN_DECLS

/* An A4 page: the figures per lung and in total, the distribution, three key
 * axial slices (the most lesion voxels in the upper, middle and lower third of
 * the lungs' extent) with the overlay, the model's name and a line saying the
 * figures must be checked. FALSE with a message only when cairo fails. */
GBytes *pulmo_report_pdf (const PulmoReport *report, PulmoVolume *ct, const uint8_t *labels,
                          const char *ct_name, const char *model_name, GError **error);

G_END_DECLS
