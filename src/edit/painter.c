#include "edit/painter.h"
