/* SPDX-License-Identifier: MIT */
/* The stub's entry points called by syscall site trampolines (stub/dispatch_syscall.c). */
#ifndef BPFI_STUB_DISPATCH_SYSCALL_H
#define BPFI_STUB_DISPATCH_SYSCALL_H

#include <stdint.h>

#include <bpfinject/target.h>

uint64_t stub_syscall_enter(struct bpfi_sc_enter_ctx *rec, struct bpfi_target_hdr *t);
void stub_syscall_exit(const struct bpfi_sc_exit_ctx *rec, struct bpfi_target_hdr *t);
/* The programs alone, for the SIGSYS handler (catchall.c) which makes the call itself. */
uint64_t stub_syscall_events_enter(struct bpfi_sc_enter_ctx *rec, struct bpfi_target_hdr *t);
void stub_syscall_events_exit(const struct bpfi_sc_exit_ctx *rec, struct bpfi_target_hdr *t);
/* Drops the ids cached in the calling thread's slot: a child that shares the parent's thread
 * pointer (vfork, posix_spawn) must not report the parent's. */
void stub_syscall_forget_ids(const struct bpfi_target_hdr *t);

#endif
