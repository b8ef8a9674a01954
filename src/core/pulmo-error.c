#include "core/pulmo-error.h"

G_DEFINE_QUARK (pulmo-error-quark, pulmo_error)
