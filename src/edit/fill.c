#include "edit/fill.h"
