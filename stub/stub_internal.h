/* SPDX-License-Identifier: MIT */
/*
 * Internals of the stub shared across its files: the helper implementations (one file per
 * theme) and the small primitives they share. Freestanding: see STYLE.md §2.6.
 */
#ifndef BPFINJECT_STUB_INTERNAL_H
#define BPFINJECT_STUB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <bpfinject/abi.h>
#include <bpfinject/helpers.h>

/*
 * Kernel constants the helpers need. Hosted builds could take them from <linux/bpf.h>, the
 * stub cannot include it, so both use these (values from the kernel UAPI).
 */
#define STUB_MAP_TYPE_PERCPU_HASH     5
#define STUB_MAP_TYPE_PERCPU_ARRAY    6
#define STUB_MAP_TYPE_LRU_PERCPU_HASH 10
#define STUB_MAP_TYPE_PROG_ARRAY      3
#define STUB_F_INDEX_MASK	      0xffffffffULL /* BPF_F_INDEX_MASK */
#define STUB_MAX_LOOPS		      (1u << 23) /* kernel BPF_MAX_LOOPS */
#define STUB_TASK_SIZE		      0x00007ffffffff000ULL /* x86-64 TASK_SIZE_MAX, 4-level */
#define STUB_NSIG		      64

#define STUB_CLOCK_MONOTONIC	    1
#define STUB_CLOCK_MONOTONIC_COARSE 6
#define STUB_CLOCK_BOOTTIME	    7
#define STUB_PR_GET_NAME	    16

/* A helper's signature, to keep the prototypes below readable. */
#define STUB_HELPER(name)                                                                      \
	uint64_t stub__##name(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, \
			      const struct bpfi_env *env)

/* Return a negative errno through a helper's uint64_t result, as eBPF sees it in r0. */
static inline uint64_t stub_err(long err)
{
	return (uint64_t)err;
}

/*
 * Everything below is internal to the stub: hidden, so that the stub's own references are
 * PC-relative and need no GOT entry or relocation (STYLE §2.6).
 */
#pragma GCC visibility push(hidden)

/* helpers_maps.c */
STUB_HELPER(map_lookup_elem);
STUB_HELPER(map_update_elem);
STUB_HELPER(map_delete_elem);

/* helpers_time.c: time, identity, randomness, signals */
uint32_t stub__current_cpu(const struct bpfi_env *env);
/* The calling thread's ids, cached per thread in a target (helpers_time.c). */
uint32_t stub__tid(const struct bpfi_env *env);
uint32_t stub__tgid(const struct bpfi_env *env);
uint64_t stub__clock_ns(const struct bpfi_env *env, int clock);
STUB_HELPER(ktime_get_ns);
STUB_HELPER(ktime_get_boot_ns);
STUB_HELPER(ktime_get_coarse_ns);
STUB_HELPER(get_prandom_u32);
STUB_HELPER(get_smp_processor_id);
STUB_HELPER(get_current_pid_tgid);
STUB_HELPER(get_current_uid_gid);
STUB_HELPER(get_current_comm);
STUB_HELPER(get_current_task);
STUB_HELPER(get_current_cgroup_id);
STUB_HELPER(send_signal);
STUB_HELPER(send_signal_thread);

/* helpers_mem.c: fault-safe reads */
long stub__read_user(void *dst, const void *src, uint32_t size);
long stub__read_user_str(char *dst, const char *src, uint32_t size);
STUB_HELPER(probe_read);
STUB_HELPER(probe_read_str);
STUB_HELPER(probe_read_user);
STUB_HELPER(probe_read_user_str);
STUB_HELPER(probe_read_kernel);
STUB_HELPER(probe_read_kernel_str);

/* helpers_output.c: perf buffers and ring buffers */
STUB_HELPER(perf_event_output);
STUB_HELPER(ringbuf_output);
STUB_HELPER(ringbuf_reserve);
STUB_HELPER(ringbuf_submit);
STUB_HELPER(ringbuf_discard);
STUB_HELPER(ringbuf_query);

/* helpers_printk.c */
STUB_HELPER(trace_printk);

/* helpers_control.c */
STUB_HELPER(tail_call);
STUB_HELPER(get_stack);
STUB_HELPER(loop);
STUB_HELPER(override_return);

#pragma GCC visibility pop

#endif
