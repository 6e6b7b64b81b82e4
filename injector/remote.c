// SPDX-License-Identifier: MIT
/*
 * System calls run inside the target, and its memory. A remote system call points one stopped
 * thread at a `syscall` instruction the target already has (its vDSO holds several), so no
 * byte of the target is written and no libc function is called (no malloc or loader lock can
 * be held against us; static binaries work the same).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "injector_internal.h"

/* Finds `0f 05` in the target's vDSO. */
static int find_gadget(struct bpfi_injector *inj, struct bpfi_log *log)
{
	uint64_t start, end;
	unsigned char buf[8192];
	size_t len;
	int err;

	err = injector__find_vdso(inj->pid, &start, &end);
	if (err)
		return bpfi_log_err(log, err, "process %d has no vDSO to run system calls through",
				    inj->pid);
	len = end - start < sizeof(buf) ? end - start : sizeof(buf);
	err = bpfi_injector_read(inj, start, buf, len, log);
	if (err)
		return err;
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
			inj->gadget = start + i;
			return 0;
		}
	}
	return bpfi_log_err(log, -ENOENT, "process %d: no syscall instruction in its vDSO",
			    inj->pid);
}

/* The thread remote calls run on: the main thread if we hold it, else any live one. */
static struct inj_thread *call_thread(struct bpfi_injector *inj)
{
	struct inj_thread *any = NULL;

	for (unsigned int i = 0; i < inj->nr_threads; i++) {
		struct inj_thread *th = &inj->threads[i];

		if (th->gone || !th->stopped)
			continue;
		if (th->tid == inj->pid)
			return th;
		if (!any)
			any = th;
	}
	return any;
}

int bpfi_injector_syscall(struct bpfi_injector *inj, long nr, const long *args, int nargs,
			  long *ret, struct bpfi_log *log)
{
	struct inj_thread *th = call_thread(inj);
	struct user_regs_struct regs;
	unsigned long long *argregs[6];
	int err;

	if (!th)
		return bpfi_log_err(log, -ESRCH, "process %d: no thread left to run a system call",
				    inj->pid);
	if (nargs < 0 || nargs > 6)
		return bpfi_log_err(log, -EINVAL, "bug: remote system call with %d arguments",
				    nargs);
	if (!inj->gadget) {
		err = find_gadget(inj, log);
		if (err)
			return err;
	}
	regs = th->saved;
	argregs[0] = &regs.rdi;
	argregs[1] = &regs.rsi;
	argregs[2] = &regs.rdx;
	argregs[3] = &regs.r10;
	argregs[4] = &regs.r8;
	argregs[5] = &regs.r9;
	for (int i = 0; i < nargs; i++)
		*argregs[i] = (unsigned long long)args[i];
	regs.rax = (unsigned long long)nr;
	/* orig_rax = -1: the kernel must not treat this as an interrupted call to restart. */
	regs.orig_rax = (unsigned long long)-1;
	regs.rip = inj->gadget;
	err = injector__step_syscall(inj, th, &regs, log);
	if (err)
		return err;
	*ret = (long)regs.rax;
	return 0;
}

int bpfi_injector_read(struct bpfi_injector *inj, uint64_t addr, void *buf, size_t len,
		       struct bpfi_log *log)
{
	ssize_t n = pread(inj->mem_fd, buf, len, (off_t)addr);

	if (n < 0)
		return bpfi_log_err(log, -errno, "reading %zu bytes at 0x%llx in process %d: %s",
				    len, (unsigned long long)addr, inj->pid, strerror(errno));
	if ((size_t)n != len)
		return bpfi_log_err(log, -EFAULT,
				    "reading %zu bytes at 0x%llx in process %d: short read", len,
				    (unsigned long long)addr, inj->pid);
	return 0;
}

int bpfi_injector_write(struct bpfi_injector *inj, uint64_t addr, const void *buf, size_t len,
			struct bpfi_log *log)
{
	ssize_t n = pwrite(inj->mem_fd, buf, len, (off_t)addr);

	if (n < 0)
		return bpfi_log_err(log, -errno, "writing %zu bytes at 0x%llx in process %d: %s",
				    len, (unsigned long long)addr, inj->pid, strerror(errno));
	if ((size_t)n != len)
		return bpfi_log_err(log, -EFAULT,
				    "writing %zu bytes at 0x%llx in process %d: short write", len,
				    (unsigned long long)addr, inj->pid);
	return 0;
}
