// SPDX-License-Identifier: MIT
/* Work in progress (issue 4). */
#include "injector_internal.h"
