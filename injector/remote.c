// SPDX-License-Identifier: MIT
/*
 * System calls run inside the target, and its memory. A remote system call points one stopped
 * thread at a `syscall` instruction the target already has (its vDSO holds several), so no
 * byte of the target is written and no libc function is called (no malloc or loader lock can
 * be held against us; static binaries work the same).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "injector_internal.h"
#include "tramp_emit.h"

/*
 * The restore pad. A remote system call borrows a thread: if we were killed while it held our
 * registers, it would resume with them and crash. So the `syscall` we point it at is followed
 * by code that puts every register back from a save area we wrote below its red zone, and
 * returns where it was with `ret imm16`, which pops the saved rip and lands rsp exactly on
 * the saved one. We normally never run that code: we stop the thread at the syscall's exit
 * and restore the registers ourselves.
 *
 *   area = saved rsp - PAD_DEPTH (below the 128-byte red zone, signal frames go lower still)
 *   area[0] rip, area[1..15] r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi,
 *   area[16] rflags
 *
 * The pad lives in the unused zero bytes at the end of the target's vDSO (a copy-on-write
 * page of that process once written), where it is left: it is found again by later sessions.
 */
#define PAD_DEPTH 392 /* area + 8 + PAD_DEPTH - 8 = saved rsp: the `ret imm16` operand */
#define PAD_MAX	  128

static const uint8_t pad_regs[15] = { 15, 14, 13, 12, 5, 3, 11, 10, 9, 8, 0, 1, 2, 6, 7 };

static size_t pad_code(uint8_t *out)
{
	struct tbuf b = { .p = out, .size = PAD_MAX };
	uint16_t imm = PAD_DEPTH - 8;

	put(&b, "\x0f\x05", 2); /* syscall */
	put(&b, "\xff\xb4\x24", 3); /* push qword [rsp + 128]: rflags */
	put4(&b, 8 + 15 * 8);
	put1(&b, 0x9d); /* popfq */
	for (unsigned int i = 0; i < 15; i++)
		mov_rsp(&b, pad_regs[i], 8 + 8 * i, true); /* mov reg, [rsp + 8 + 8i] */
	put1(&b, 0xc2); /* ret imm16: rip = [rsp]; rsp += 8 + imm */
	put(&b, &imm, 2);
	return b.len;
}

static void pad_area(const struct user_regs_struct *r, uint64_t area[17])
{
	const unsigned long long v[15] = { r->r15, r->r14, r->r13, r->r12, r->rbp,
					   r->rbx, r->r11, r->r10, r->r9,  r->r8,
					   r->rax, r->rcx, r->rdx, r->rsi, r->rdi };

	area[0] = r->rip;
	for (unsigned int i = 0; i < 15; i++)
		area[1 + i] = v[i];
	area[16] = r->eflags;
}

/*
 * Where remote system calls go: the restore pad at the end of the vDSO if there is room (or it
 * is already there), else the first `0f 05` of the vDSO, with no way back if we die.
 */
static int find_gadget(struct bpfi_injector *inj, struct bpfi_log *log)
{
	uint8_t buf[16384], pad[PAD_MAX];
	size_t len, plen = pad_code(pad), zeros = 0;
	uint64_t start, end, at;
	int err;

	err = injector__find_vdso(inj->pid, &start, &end);
	if (err)
		return bpfi_log_err(log, err, "process %d has no vDSO to run system calls through",
				    inj->pid);
	len = end - start < sizeof(buf) ? end - start : sizeof(buf);
	err = bpfi_injector_read(inj, start, buf, len, log);
	if (err)
		return err;
	at = (len - plen) & ~(size_t)15;
	if (!memcmp(buf + at, pad, plen)) {
		inj->gadget = start + at;
		inj->pad = true;
		return 0;
	}
	while (zeros < len && !buf[len - 1 - zeros])
		zeros++;
	if (zeros >= plen + 64 && !bpfi_injector_write(inj, start + at, pad, plen, NULL)) {
		inj->gadget = start + at;
		inj->pad = true;
		return 0;
	}
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

/*
 * What the thread's seccomp filters would do with the call in @regs (seccomp.c), before we
 * make it: 0 to make it (allowed, or only logged); 1 when the filter answers without the call
 * running (an errno; ENOSYS for a tracer's action, as we never ask for PTRACE_EVENT_SECCOMP),
 * that answer in regs->rax; -EPERM with one line for a call that would kill the target, send
 * it SIGSYS or hand it to a supervisor: never attempted.
 */
/*
 * The calls the stub itself makes in the target's threads, whatever the programs do: the
 * thread id (dispatch, the per-thread state), the FS base (once per thread, to trust %fs:0),
 * the process id, and the private stack (mmap of 36 KiB, mprotect of its guard page; see
 * stub/dispatch.c). A filter that answers one with an errno only costs a feature; one that
 * would kill or trap would kill the target at its first probe hit: refuse to attach.
 */
static int check_stub_calls(struct bpfi_injector *inj, const struct inj_thread *th,
			    struct bpfi_log *log)
{
	static const struct {
		const char *name;
		int nr;
		uint64_t args[6];
	} calls[] = {
		{ "gettid()", SYS_gettid, { 0 } },
		{ "getpid()", SYS_getpid, { 0 } },
		{ "arch_prctl(ARCH_GET_FS)", SYS_arch_prctl, { 0x1003 } },
		{ "mmap() of its private stack",
		  SYS_mmap,
		  { 0, 36864, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, (uint64_t)-1, 0 } },
		{ "mprotect() of its guard page", SYS_mprotect, { 0, 4096, PROT_NONE } },
	};

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		struct seccomp_data d = {
			.nr = calls[i].nr,
			.arch = AUDIT_ARCH_X86_64,
			.instruction_pointer = inj->gadget + 2,
		};
		uint32_t action;

		memcpy(d.args, calls[i].args, sizeof(d.args));
		action = injector__seccomp_eval(th->seccomp, &d) & SECCOMP_RET_ACTION_FULL;
		if (action == SECCOMP_RET_ALLOW || action == SECCOMP_RET_LOG ||
		    action == SECCOMP_RET_ERRNO || action == SECCOMP_RET_TRACE)
			continue;
		if (injector__seccomp_is_strict(th->seccomp) ||
		    injector__seccomp_read_err(th->seccomp))
			return 0; /* the remote call itself is refused, with its own reason */
		return bpfi_log_err(log, -EPERM,
				    "process %d: its seccomp filter would %s on %s, which the "
				    "probes make in the target; not attached",
				    inj->pid, injector__seccomp_action_str(action), calls[i].name);
	}
	return 0;
}

static int check_seccomp(struct bpfi_injector *inj, struct inj_thread *th,
			 struct user_regs_struct *regs, struct bpfi_log *log)
{
	struct seccomp_data d = {
		.nr = (int)regs->rax,
		.arch = AUDIT_ARCH_X86_64,
		.instruction_pointer = inj->gadget + 2, /* the kernel's: after the `syscall` */
		.args = { regs->rdi, regs->rsi, regs->rdx, regs->r10, regs->r8, regs->r9 },
	};
	const struct bpfi_syscall *sc;
	char name[32];
	uint32_t action, data;
	int err;

	if (!th->seccomp) {
		err = injector__seccomp_load(inj->pid, th->tid, &th->seccomp);
		if (err)
			return bpfi_log_err(log, err, "process %d: reading its seccomp filters: %s",
					    inj->pid, strerror(-err));
		err = check_stub_calls(inj, th, log);
		if (err)
			return err;
	}
	action = injector__seccomp_eval(th->seccomp, &d);
	data = action & SECCOMP_RET_DATA;
	switch (action & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_ALLOW:
	case SECCOMP_RET_LOG:
		return 0;
	case SECCOMP_RET_ERRNO:
		regs->rax = (unsigned long long)-(long)(data > 4095 ? 4095 : data);
		return 1;
	case SECCOMP_RET_TRACE:
		regs->rax = (unsigned long long)-ENOSYS;
		return 1;
	default:
		break;
	}
	if (bpfi_syscall_by_nr(d.nr, &sc, NULL))
		snprintf(name, sizeof(name), "system call %d", d.nr);
	else
		snprintf(name, sizeof(name), "%s()", sc->name);
	if (injector__seccomp_is_strict(th->seccomp))
		return bpfi_log_err(log, -EPERM,
				    "process %d runs in seccomp strict mode: %s would kill it; not "
				    "attempted",
				    inj->pid, name);
	err = injector__seccomp_read_err(th->seccomp);
	if (err)
		return bpfi_log_err(
			log, -EPERM,
			"process %d has seccomp filters bpfinject cannot read "
			"(PTRACE_SECCOMP_GET_FILTER: %s): %s could kill it; not attempted",
			inj->pid, strerror(-err), name);
	return bpfi_log_err(log, -EPERM,
			    "process %d: its seccomp filter would %s on %s; not attempted",
			    inj->pid, injector__seccomp_action_str(action), name);
}

int bpfi_injector_syscall(struct bpfi_injector *inj, long nr, const long *args, int nargs,
			  long *ret, struct bpfi_log *log)
{
	return injector__syscall_on(inj, 0, nr, args, nargs, ret, log);
}

int injector__syscall_on(struct bpfi_injector *inj, pid_t tid, long nr, const long *args, int nargs,
			 long *ret, struct bpfi_log *log)
{
	struct inj_thread *th = call_thread(inj);
	struct user_regs_struct regs;
	unsigned long long *argregs[6];
	struct injector_sud sud;
	bool suspended = false;
	int err;

	for (unsigned int i = 0; tid && i < inj->nr_threads; i++) {
		th = &inj->threads[i];
		if (th->tid == tid)
			break;
		th = NULL;
	}
	if (!th || th->gone || !th->stopped)
		return bpfi_log_err(log, -ESRCH, "process %d: no thread %sto run a system call",
				    inj->pid, tid ? "held " : "left ");
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
	err = check_seccomp(inj, th, &regs, log);
	if (err) {
		*ret = (long)regs.rax;
		return err < 0 ? err : 0;
	}
	if (inj->pad) {
		/* What the thread must resume with if we vanish: as release would set it. */
		struct user_regs_struct back = th->saved;
		uint64_t area[17];

		injector__restart_fixup(&back);
		pad_area(&back, area);
		if (!bpfi_injector_write(inj, back.rsp - PAD_DEPTH, area, sizeof(area), NULL))
			regs.rsp = back.rsp - PAD_DEPTH;
		else
			regs.rip =
				inj->gadget; /* no room on its stack: the pad still runs the call */
	}
	/* A thread under Syscall User Dispatch (our catch-all, or the target's own) would get
	 * SIGSYS for a call from the vDSO: dispatch is off for the call and back after. */
	if (!injector__sud_get(th->tid, &sud) && sud.mode)
		suspended = !injector__sud_set(th->tid, &(struct injector_sud){ 0 });
	err = injector__step_syscall(inj, th, &regs, log);
	if (suspended)
		injector__sud_set(th->tid, &sud);
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
