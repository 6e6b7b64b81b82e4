// SPDX-License-Identifier: MIT
/*
 * The probe_read family: copies from memory that may not be mapped, which must return -EFAULT
 * and never crash the process (DESIGN D7), with the kernel's return conventions.
 */
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/helpers.h>
#include <bpfinject/sys.h>

#include "stub_internal.h"

/* struct iovec of the x86-64 ABI. */
struct stub_iovec {
	void *base;
	size_t len;
};

/* Bytes read per step by the _str variants: what may be copied past the NUL lands here. */
#define STR_CHUNK 256

/*
 * Copies @size bytes from @src. The copy is process_vm_readv(2) on our own pid: the kernel
 * reads through the page tables and reports an unmapped or unreadable source as EFAULT instead
 * of raising SIGSEGV, so no signal handler is needed in the target. The cost is two system
 * calls per read (getpid, then process_vm_readv, which pins the source pages): measured here
 * 1.3 us for 16 bytes, against ~1 ns for a plain copy. A faster fault-safe copy (a fixup
 * table consulted by a SIGSEGV handler in the stub) is a later step. The pid is asked each
 * time, not cached: after fork() a cached pid would read the parent's memory.
 * A copy that stops short (the source crosses into an unmapped page) is a fault too.
 * Returns 0 or -EFAULT; @dst is not cleaned on error (the callers do, as the kernel does).
 */
long stub__read_user(void *dst, const void *src, uint32_t size)
{
	struct stub_iovec local = { dst, size };
	struct stub_iovec remote = { (void *)(uintptr_t)src, size };
	long pid, n;

	if (!size)
		return 0;
	pid = bpfi_syscall0(BPFI_NR_getpid);
	n = bpfi_syscall6(BPFI_NR_process_vm_readv, pid, (long)&local, 1, (long)&remote, 1, 0);
	return n == (long)size ? 0 : -BPFI_EFAULT;
}

/*
 * The kernel's strncpy_from_user_nofault(): copies the string at @src with its NUL, at most
 * @size bytes; a string that does not fit is cut to size - 1 bytes and a NUL.
 * Returns the bytes written including the NUL, or -EFAULT if a byte before the NUL (or
 * before the limit) cannot be read. Bytes of @dst after the NUL keep their value, as in the
 * kernel (programs use zeroed string buffers as map keys), so reads go through a bounce buffer,
 * never crossing a page boundary: a string that ends right before an unmapped page still reads.
 */
long stub__read_user_str(char *dst, const char *src, uint32_t size)
{
	char bounce[STR_CHUNK];
	uint32_t done = 0;
	long pid;

	if (!size)
		return 0;
	pid = bpfi_syscall0(BPFI_NR_getpid);
	while (done < size) {
		uintptr_t at = (uintptr_t)src + done;
		uint32_t chunk = BPFI_PAGE_SIZE - (uint32_t)(at & (BPFI_PAGE_SIZE - 1));
		struct stub_iovec local = { bounce, 0 }, remote = { (void *)at, 0 };
		size_t len;

		if (chunk > STR_CHUNK)
			chunk = STR_CHUNK;
		if (chunk > size - done)
			chunk = size - done;
		local.len = remote.len = chunk;
		if (bpfi_syscall6(BPFI_NR_process_vm_readv, pid, (long)&local, 1, (long)&remote, 1,
				  0) != (long)chunk)
			return -BPFI_EFAULT;
		len = bpfi_strnlen(bounce, chunk);
		if (len < chunk) {
			bpfi_memcpy(dst + done, bounce, len + 1);
			return (long)(done + len + 1);
		}
		bpfi_memcpy(dst + done, bounce, chunk);
		done += chunk;
	}
	dst[size - 1] = '\0';
	return size;
}

/* bpf_probe_read_user(dst, size, ptr): 0, or -EFAULT with @dst zeroed. */
STUB_HELPER(probe_read_user)
{
	void *dst = (void *)(uintptr_t)r1;
	uint32_t size = (uint32_t)r2;
	long err = stub__read_user(dst, (const void *)(uintptr_t)r3, size);

	if (err < 0)
		bpfi_memset(dst, 0, size);
	return stub_err(err);
}

/* bpf_probe_read_user_str(dst, size, ptr): the length with the NUL, or -EFAULT, dst zeroed. */
STUB_HELPER(probe_read_user_str)
{
	char *dst = (char *)(uintptr_t)r1;
	uint32_t size = (uint32_t)r2;
	long ret = stub__read_user_str(dst, (const char *)(uintptr_t)r3, size);

	if (ret < 0)
		bpfi_memset(dst, 0, size);
	return stub_err(ret);
}

/*
 * There is no kernel memory to read. The kernel returns -EFAULT for an unreadable kernel
 * address (and -ERANGE for a user one); every address is unreadable kernel memory here.
 */
STUB_HELPER(probe_read_kernel)
{
	uint32_t size = (uint32_t)r2;

	if (!size)
		return 0;
	bpfi_memset((void *)(uintptr_t)r1, 0, size);
	return stub_err(-BPFI_EFAULT);
}

STUB_HELPER(probe_read_kernel_str)
{
	uint32_t size = (uint32_t)r2;

	if (!size)
		return 0;
	bpfi_memset((void *)(uintptr_t)r1, 0, size);
	return stub_err(-BPFI_EFAULT);
}

/*
 * The old bpf_probe_read/_str (x86-64 has non-overlapping address spaces): a user read below
 * TASK_SIZE, a kernel read above it, as the kernel's bpf_probe_read_compat does.
 */
STUB_HELPER(probe_read)
{
	if (r3 < STUB_TASK_SIZE)
		return stub__probe_read_user(r1, r2, r3, r4, r5, env);
	return stub__probe_read_kernel(r1, r2, r3, r4, r5, env);
}

STUB_HELPER(probe_read_str)
{
	if (r3 < STUB_TASK_SIZE)
		return stub__probe_read_user_str(r1, r2, r3, r4, r5, env);
	return stub__probe_read_kernel_str(r1, r2, r3, r4, r5, env);
}
