/* SPDX-License-Identifier: MIT */
/*
 * Freestanding primitives shared by every part that runs in a target (stub/, maps/, the
 * interpreter, the helpers): raw system calls returning -errno (musl syscall_arch.h shape),
 * the errno numbers we return, and mem* without libc. Hosted builds use the same code, so
 * what the tests exercise is what the stub runs.
 */
#ifndef BPFINJECT_SYS_H
#define BPFINJECT_SYS_H

#include <stddef.h>
#include <stdint.h>

/* errno values (x86-64 Linux); freestanding code cannot include <errno.h>. */
#define BPFI_EPERM     1
#define BPFI_ENOENT    2
#define BPFI_ESRCH     3
#define BPFI_EINTR     4
#define BPFI_E2BIG     7
#define BPFI_EBADF     9
#define BPFI_EAGAIN    11
#define BPFI_ENOMEM    12
#define BPFI_EFAULT    14
#define BPFI_EBUSY     16
#define BPFI_EEXIST    17
#define BPFI_EINVAL    22
#define BPFI_ENOSPC    28
#define BPFI_ERANGE    34
#define BPFI_ENOSYS    38
#define BPFI_ENOTSUP   95
#define BPFI_ETIMEDOUT 110

/* System call numbers used by freestanding code (x86-64). */
#define BPFI_NR_getpid		 39
#define BPFI_NR_gettid		 186
#define BPFI_NR_getuid		 102
#define BPFI_NR_getgid		 104
#define BPFI_NR_kill		 62
#define BPFI_NR_tgkill		 234
#define BPFI_NR_prctl		 157
#define BPFI_NR_arch_prctl	 158
#define BPFI_NR_clock_gettime	 228
#define BPFI_NR_getcpu		 309
#define BPFI_NR_process_vm_readv 310
#define BPFI_NR_getrandom	 318

static inline long bpfi_syscall0(long n)
{
	unsigned long ret;

	/* ret = syscall(n); the kernel clobbers rcx (return rip) and r11 (rflags). */
	__asm__ __volatile__("syscall" : "=a"(ret) : "a"(n) : "rcx", "r11", "memory");
	return (long)ret;
}

static inline long bpfi_syscall2(long n, long a1, long a2)
{
	unsigned long ret;

	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(n), "D"(a1), "S"(a2)
			     : "rcx", "r11", "memory");
	return (long)ret;
}

static inline long bpfi_syscall3(long n, long a1, long a2, long a3)
{
	unsigned long ret;

	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(n), "D"(a1), "S"(a2), "d"(a3)
			     : "rcx", "r11", "memory");
	return (long)ret;
}

static inline long bpfi_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	unsigned long ret;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;

	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			     : "rcx", "r11", "memory");
	return (long)ret;
}

/* mem* without libc. Plain loops: the compiler must not turn them back into libc calls,
 * so freestanding builds use -fno-builtin / -fno-tree-loop-distribute-patterns. */
static inline void bpfi_memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
}

static inline void bpfi_memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
}

static inline int bpfi_memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++) {
		if (*x != *y)
			return *x < *y ? -1 : 1;
	}
	return 0;
}

static inline size_t bpfi_strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

#endif
