#include "edit/interpolate.h"
