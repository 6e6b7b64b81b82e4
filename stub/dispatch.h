/* SPDX-License-Identifier: MIT */
/* The stub's entry points called by trampolines (stub/dispatch.c). */
#ifndef BPFI_STUB_DISPATCH_H
#define BPFI_STUB_DISPATCH_H

#include <stdint.h>

#include <bpfinject/target.h>

uint64_t stub_dispatch_entry(uint64_t *regs, struct bpfi_site *site);
void stub_dispatch_push_return(uint64_t sp, struct bpfi_site *site);
uint64_t stub_dispatch_return(uint64_t *regs, const struct bpfi_target_hdr *t);
/* Runs program @fn on @ctx, on the thread's private stack when it has one (reserved here). */
void stub_run_prog(struct bpfi_thread_state *ts, uint64_t fn, void *ctx);

#endif
