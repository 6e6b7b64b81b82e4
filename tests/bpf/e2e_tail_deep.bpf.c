// SPDX-License-Identifier: MIT
/* test_e2e: e2e_tail.bpf.c with its tail call seven frames down (refused by the check). */
#define TAIL_AT_THE_END
#include "e2e_tail.bpf.c"
