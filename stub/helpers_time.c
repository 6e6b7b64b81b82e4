// SPDX-License-Identifier: MIT
/*
 * Helpers about time and the current task: clocks, pid/uid/comm, the CPU number, random
 * numbers, cgroup and task pointers, signals. Freestanding: raw system calls, no globals.
 */
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/helpers.h>
#include <bpfinject/sys.h>

#include "stub_internal.h"
#include "thread_state.h"

/* struct timespec of the x86-64 ABI (the stub cannot include <time.h>). */
struct stub_timespec {
	int64_t tv_sec;
	int64_t tv_nsec;
};

/*
 * The CPU this thread runs on, as the vDSO's getcpu finds it: rdpid when the host probed it
 * (BPFI_HWCAP_RDPID), else lsl on the per-CPU GDT segment (__CPUNODE_SEG, selector
 * 15 * 8 + 3) whose limit Linux sets to (node << 12) | cpu (BPFI_HWCAP_LSL), else the getcpu
 * system call. Measured on this machine: rdpid 0.6 ns, lsl 15 ns, rdtscp 18 ns (and wrong under
 * valgrind), getcpu(2) 130 ns.
 */
uint32_t stub__current_cpu(const struct bpfi_env *env)
{
	uint32_t cpu = 0xffffffffu;

	if (env->hwcaps & BPFI_HWCAP_RDPID) {
		uint64_t v;

		/* v = IA32_TSC_AUX, which Linux sets to (node << 12) | cpu */
		__asm__ __volatile__("rdpid %0" : "=r"(v));
		cpu = (uint32_t)v & 0xfff;
	} else if (env->hwcaps & BPFI_HWCAP_LSL) {
		uint32_t limit = 0xffffffffu;

		/* limit = segment limit of selector 0x7b; unchanged (ZF=0) if it is not valid */
		__asm__ __volatile__("lsl %1, %0" : "+r"(limit) : "r"(0x7bu) : "cc");
		if (limit != 0xffffffffu)
			cpu = limit & 0xfff;
	}
	if (cpu == 0xffffffffu) {
		uint32_t c = 0;

		bpfi_syscall3(BPFI_NR_getcpu, (long)&c, 0, 0);
		cpu = c;
	}
	/* Per-CPU maps have env->nr_cpus slots; a CPU beyond them (hotplug) must not overflow. */
	if (env->nr_cpus && cpu >= env->nr_cpus)
		cpu %= env->nr_cpus;
	return cpu;
}

/* Nanoseconds of @clock: the vDSO/libc function the host supplied, else the system call. */
uint64_t stub__clock_ns(const struct bpfi_env *env, int clock)
{
	struct stub_timespec ts = { 0, 0 };

	if (!env->clock_gettime || env->clock_gettime(clock, &ts) != 0) {
		if (bpfi_syscall2(BPFI_NR_clock_gettime, clock, (long)&ts) < 0)
			return 0;
	}
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

STUB_HELPER(ktime_get_ns)
{
	return stub__clock_ns(env, STUB_CLOCK_MONOTONIC);
}

STUB_HELPER(ktime_get_boot_ns)
{
	return stub__clock_ns(env, STUB_CLOCK_BOOTTIME);
}

STUB_HELPER(ktime_get_coarse_ns)
{
	return stub__clock_ns(env, STUB_CLOCK_MONOTONIC_COARSE);
}

/*
 * The kernel keeps a per-CPU prandom state; the stub may not keep writable state, so each call
 * mixes the time stamp counter (strictly increasing, so two calls never see the same input)
 * and this frame's address (differs between threads) through splitmix64's finaliser.
 * Statistically fine for sampling decisions, which is what programs use it for; not secure.
 */
STUB_HELPER(get_prandom_u32)
{
	uint32_t lo, hi;
	uint64_t x;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	x = ((uint64_t)hi << 32 | lo) ^ ((uint64_t)(uintptr_t)&lo << 17);
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (uint32_t)(x ^ (x >> 32));
}

STUB_HELPER(get_smp_processor_id)
{
	return stub__current_cpu(env);
}

/*
 * The thread's ids, cached in its per-thread state in a target (DESIGN D6: found from the
 * thread pointer, wiped in a forked child, so a child asks again), asked of the kernel in
 * the host: a system call costs 100-400 ns here, the cache a few.
 */
static struct bpfi_thread_state *id_cache(const struct bpfi_env *env)
{
	struct bpfi_thread_state *ts = env->threads ? stub_thread_slot(env->threads) : 0;

	if (ts && (!ts->tid || !ts->tgid)) { /* the syscall dispatch may have cached tid alone */
		ts->tgid = (uint32_t)bpfi_syscall0(BPFI_NR_getpid);
		ts->tid = (uint32_t)bpfi_syscall0(BPFI_NR_gettid);
	}
	return ts;
}

uint32_t stub__tid(const struct bpfi_env *env)
{
	struct bpfi_thread_state *ts = id_cache(env);

	return ts ? ts->tid : (uint32_t)bpfi_syscall0(BPFI_NR_gettid);
}

uint32_t stub__tgid(const struct bpfi_env *env)
{
	struct bpfi_thread_state *ts = id_cache(env);

	return ts ? ts->tgid : (uint32_t)bpfi_syscall0(BPFI_NR_getpid);
}

STUB_HELPER(get_current_pid_tgid)
{
	return (uint64_t)stub__tgid(env) << 32 | stub__tid(env);
}

STUB_HELPER(get_current_uid_gid)
{
	uint64_t uid = (uint64_t)bpfi_syscall0(BPFI_NR_getuid);
	uint64_t gid = (uint64_t)bpfi_syscall0(BPFI_NR_getgid);

	return gid << 32 | (uint32_t)uid;
}

/*
 * bpf_get_current_comm(buf, size): the kernel's strscpy_pad(buf, comm, size): at most
 * size - 1 bytes of the name, then NULs up to @size; returns 0. The verifier guarantees
 * size > 0; a zero size is refused here without touching @buf.
 */
STUB_HELPER(get_current_comm)
{
	char *buf = (char *)(uintptr_t)r1;
	uint32_t size = (uint32_t)r2;
	char comm[16];
	size_t n;

	if (!size)
		return stub_err(-BPFI_EINVAL);
	bpfi_memset(comm, 0, sizeof(comm));
	if (bpfi_syscall2(BPFI_NR_prctl, STUB_PR_GET_NAME, (long)comm) < 0) {
		bpfi_memset(buf, 0, size);
		return stub_err(-BPFI_EINVAL);
	}
	n = bpfi_strnlen(comm, sizeof(comm) - 1);
	if (n > size - 1)
		n = size - 1;
	bpfi_memcpy(buf, comm, n);
	bpfi_memset(buf + n, 0, size - n);
	return 0;
}

/* There is no task_struct in userspace: 0, so that probe_read_kernel from it fails cleanly. */
STUB_HELPER(get_current_task)
{
	return 0;
}

/* No cgroup id without the kernel's help yet; 0 is what the kernel returns without cgroups. */
STUB_HELPER(get_current_cgroup_id)
{
	return 0;
}

/*
 * bpf_send_signal(sig) to the whole process, bpf_send_signal_thread(sig) to this thread. The
 * kernel queues the signal for delivery on return to user space; here kill/tgkill deliver it
 * when the system call returns, that is inside the helper, before the program has finished.
 */
STUB_HELPER(send_signal)
{
	uint32_t sig = (uint32_t)r1;

	if (sig > STUB_NSIG)
		return stub_err(-BPFI_EINVAL);
	return (uint64_t)bpfi_syscall2(BPFI_NR_kill, bpfi_syscall0(BPFI_NR_getpid), (long)sig);
}

STUB_HELPER(send_signal_thread)
{
	uint32_t sig = (uint32_t)r1;

	if (sig > STUB_NSIG)
		return stub_err(-BPFI_EINVAL);
	return (uint64_t)bpfi_syscall3(BPFI_NR_tgkill, bpfi_syscall0(BPFI_NR_getpid),
				       bpfi_syscall0(BPFI_NR_gettid), (long)sig);
}
