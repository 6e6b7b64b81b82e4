// SPDX-License-Identifier: MIT
/*
 * Counts the calls of the Go fixture's main.work with the sum of its argument (in RAX: Go's
 * register ABI), its getpid calls at sys_enter_getpid, and its calls of main.tidcheck whose
 * argument (the caller's thread id) bpf_get_current_pid_tgid() disagrees with: test_go_threads.
 */
/* clang-format off */
#include <linux/bpf.h>
#include <linux/types.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
/* clang-format on */

__u64 calls = 0;
__u64 arg_sum = 0;
__u64 getpids = 0;
__u64 tid_checks = 0;
__u64 tid_wrong = 0;

SEC("uprobe")
int count_work(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&calls, 1);
	__sync_fetch_and_add(&arg_sum, ctx->rax);
	return 0;
}

SEC("uprobe")
int check_tid(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&tid_checks, 1);
	if ((__u32)bpf_get_current_pid_tgid() != (__u32)ctx->rax)
		__sync_fetch_and_add(&tid_wrong, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int count_getpid(void *ctx)
{
	__sync_fetch_and_add(&getpids, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
