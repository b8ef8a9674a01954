#include "edit/morphology.h"
