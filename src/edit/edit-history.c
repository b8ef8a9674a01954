#include "edit/edit-history.h"
