#include "edit/brush.h"
