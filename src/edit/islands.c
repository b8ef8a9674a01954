#include "edit/islands.h"
