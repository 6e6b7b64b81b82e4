// SPDX-License-Identifier: MIT
/*
 * Counts getppid calls (sys_enter_getppid) and every system call (raw_syscalls/sys_enter), to
 * tell which calls a run saw, and who a process about to exec says it is: test_catch_all.
 */
/* clang-format off */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
/* clang-format on */

__u64 getppids = 0;
__u64 syscalls = 0;
__u64 execve_tgid = 0; /* what a process about to exec says it is */
__u64 execve_common_pid = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
	__sync_fetch_and_add(&getppids, 1);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int count_all(void *ctx)
{
	__sync_fetch_and_add(&syscalls, 1);
	return 0;
}

/* The tracefs header: common_type (2), flags, preempt_count, common_pid (4). */
struct trace_entry_head {
	__u16 type;
	__u8 flags;
	__u8 preempt_count;
	__s32 pid;
};

SEC("tracepoint/syscalls/sys_enter_execve")
int record_execve(struct trace_entry_head *ctx)
{
	execve_tgid = bpf_get_current_pid_tgid() >> 32;
	execve_common_pid = ctx->pid;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
