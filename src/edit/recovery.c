#include "edit/recovery.h"
