// SPDX-License-Identifier: MIT
/*
 * Fault injection the way a user writes it: every write(2) to standard output fails with EIO
 * (bpf_override_return in a sys_enter program), and the syscalls are counted.
 */
/* clang-format off */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
/* clang-format on */

/* The tracefs layout of syscalls/sys_enter_write: common header, __syscall_nr, the args. */
struct sys_enter_write {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__u64 fd;
	__u64 buf;
	__u64 count;
};

__u64 failed_writes = 0;
__u64 openats = 0;
__u64 openat_tgid = 0; /* what bpf_get_current_pid_tgid says inside a syscall program */

SEC("tracepoint/syscalls/sys_enter_write")
int fail_stdout_writes(struct sys_enter_write *ctx)
{
	if (ctx->fd != 1)
		return 0;
	__sync_fetch_and_add(&failed_writes, 1);
	bpf_override_return((void *)ctx, -5 /* EIO */);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int count_openat(void *ctx)
{
	__sync_fetch_and_add(&openats, 1);
	openat_tgid = bpf_get_current_pid_tgid() >> 32;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
