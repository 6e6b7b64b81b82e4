// SPDX-License-Identifier: MIT
/*
 * getppid(2) seen at entry and exit (test_regs, fixture target_regs): the register checks
 * of a rewritten syscall site and of the catch-all.
 */
/* clang-format off */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
/* clang-format on */

__u64 enters = 0;
__u64 exits = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int getppid_enter(void *ctx)
{
	__sync_fetch_and_add(&enters, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_getppid")
int getppid_exit(void *ctx)
{
	__sync_fetch_and_add(&exits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
