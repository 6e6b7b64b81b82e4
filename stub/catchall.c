// SPDX-License-Identifier: MIT
/*
 * The catch-all (DESIGN.md D9, issue 4): a system call made where no trampoline could go —
 * a site that could not be rewritten, code generated at run time, a module loaded since —
 * reaches the stub as SIGSYS through Syscall User Dispatch. The handler runs the sys_enter
 * programs on the caller's registers, makes the call itself from inside the stub (the one
 * region the kernel lets through), runs the sys_exit programs and returns the result in %rax.
 *
 * What the mode must keep true, here and at rewritten sites (dispatch_syscall.c):
 *   - no thread blocks SIGSYS: a SIGSYS forced while blocked kills the process, so masks
 *     that would block it (sigfillset before pthread_create, a handler's sa_mask) are
 *     applied without it;
 *   - every new task is armed: the kernel clears the dispatch in new tasks and at exec, so
 *     children of clone/fork/vfork arm themselves before they run code of their own.
 * Freestanding: part of the stub.
 */
#include "catchall.h"

#include <stdatomic.h>
#include <stdint.h>

#include <bpfinject/sys.h>
#include <bpfinject/target.h>

#include "dispatch_syscall.h"

/* The stub's header, where the host wrote the block's address at upload (blob/header.S). */
extern const struct bpfi_stub_header stub_header __attribute__((visibility("hidden")));

/* asm (catchall.S) */
int64_t stub_clone_jump(const uint64_t *gregs, int64_t nr) __attribute__((visibility("hidden")));
__attribute__((noreturn)) void stub_sigreturn_at(uint64_t rsp)
	__attribute__((visibility("hidden")));
int64_t stub_int80(const uint64_t *gregs) __attribute__((visibility("hidden")));

#define SIGSYS_		     31
#define SIGSYS_BIT	     (1ull << (SIGSYS_ - 1))
#define SYS_USER_DISPATCH_   2
#define AUDIT_ARCH_X86_64_   0xc000003eu
#define PR_SYSCALL_DISPATCH  59
#define SIG_BLOCK_	     0
#define SIG_SETMASK_	     2
#define CLONE_VM_	     0x100ull
#define CLONE_VFORK_	     0x4000ull
#define SIGCHLD_	     17
#define NR_process_vm_readv_ 310
#define NR_tgkill_	     234

/* The kernel's x86-64 signal frame (uapi asm/ucontext.h and asm/sigcontext.h). */
enum {
	G_R8,
	G_R9,
	G_R10,
	G_R11,
	G_R12,
	G_R13,
	G_R14,
	G_R15,
	G_RDI,
	G_RSI,
	G_RBP,
	G_RBX,
	G_RDX,
	G_RAX,
	G_RCX,
	G_RSP,
	G_RIP,
	G_EFL,
	G_NR
};

struct k_ucontext {
	uint64_t flags;
	uint64_t link;
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t ss_pad;
	uint64_t ss_size;
	uint64_t gregs[G_NR]; /* struct sigcontext starts with them, at 40 */
	uint64_t sigcontext_rest[14];
	uint64_t sigmask; /* at 296 */
};

struct k_siginfo {
	int32_t signo;
	int32_t err;
	int32_t code;
	int32_t pad;
	uint64_t call_addr; /* the instruction after the `syscall` */
	int32_t syscall;
	uint32_t arch;
};

_Static_assert(__builtin_offsetof(struct k_ucontext, gregs) == 40, "sigcontext at 40");
_Static_assert(__builtin_offsetof(struct k_ucontext, sigmask) == 296, "uc_sigmask at 296");

static inline struct bpfi_target_hdr *block(void)
{
	return (struct bpfi_target_hdr *)(uintptr_t)stub_header.block;
}

/* A copy of user memory that may not be mapped: 0, or -EFAULT. */
static long read_user(void *dst, uint64_t src, uint64_t len)
{
	struct {
		uint64_t base, len;
	} l = { (uint64_t)(uintptr_t)dst, len }, r = { src, len };
	long n = bpfi_syscall6(NR_process_vm_readv_, bpfi_syscall0(BPFI_NR_getpid), (long)&l, 1,
			       (long)&r, 1, 0);

	return n == (long)len ? 0 : -14;
}

void stub_catchall_arm(const struct bpfi_target_hdr *t)
{
	const struct bpfi_sc_catch_all *c = &t->sc.catch_all;

	if (atomic_load_explicit((_Atomic uint32_t *)&c->on, memory_order_relaxed))
		bpfi_syscall6(BPFI_NR_prctl, PR_SYSCALL_DISPATCH, 1, (long)c->region_lo,
			      (long)c->region_len, 0, 0);
}

/* Called by the child of a new-stack clone (catchall.S), on its new stack. */
__attribute__((visibility("hidden"))) void stub_catchall_child(void);
void stub_catchall_child(void)
{
	stub_catchall_arm(block());
	stub_syscall_forget_ids(block()); /* posix_spawn's child runs on the parent's TLS */
}

int stub_catchall_sanitize(int64_t nr, const uint64_t a[6], int64_t *ret)
{
	uint64_t v[4];

	if (nr == STUB_NR_rt_sigprocmask) {
		if ((a[0] != SIG_BLOCK_ && a[0] != SIG_SETMASK_) || !a[1] || a[3] != 8 ||
		    read_user(v, a[1], 8) || !(v[0] & SIGSYS_BIT))
			return 0;
		v[0] &= ~SIGSYS_BIT;
		*ret = bpfi_syscall6(nr, (long)a[0], (long)v, (long)a[2], 8, 0, 0);
		return 1;
	}
	if (nr != STUB_NR_rt_sigaction || !a[1])
		return 0;
	if (a[0] == SIGSYS_) {
		*ret = -22; /* EINVAL: SIGSYS is the catch-all's while it is on */
		return 1;
	}
	if (a[3] != 8 || read_user(v, a[1], sizeof(v)) || !(v[3] & SIGSYS_BIT))
		return 0;
	v[3] &= ~SIGSYS_BIT;
	*ret = bpfi_syscall6(nr, (long)a[0], (long)v, (long)a[2], 8, 0, 0);
	return 1;
}

/*
 * rt_sigprocmask inside the handler: the mask the caller runs with after the handler is the
 * frame's, so the call is made on that mask and the result written back to the frame.
 */
static int64_t sigprocmask_in_frame(const uint64_t a[6], struct k_ucontext *uc)
{
	uint64_t cur = 0;
	int64_t r;

	bpfi_syscall6(STUB_NR_rt_sigprocmask, SIG_SETMASK_, (long)&uc->sigmask, 0, 8, 0, 0);
	if (stub_catchall_sanitize(STUB_NR_rt_sigprocmask, a, &r) == 0)
		r = bpfi_syscall6(STUB_NR_rt_sigprocmask, (long)a[0], (long)a[1], (long)a[2],
				  (long)a[3], 0, 0);
	bpfi_syscall6(STUB_NR_rt_sigprocmask, SIG_BLOCK_, 0, (long)&cur, 8, 0, 0);
	uc->sigmask = cur & ~SIGSYS_BIT;
	return r;
}

/*
 * clone, clone3, fork, vfork. A child on a new stack cannot come back through this frame: it
 * gets the caller's registers and rip (stub_clone_jump). One on the caller's stack returns
 * through it, armed first. vfork shares that stack, which the child would overwrite under
 * our frame before the parent returns through it: it runs as fork that still waits for the
 * child's exec or exit (CLONE_VFORK without CLONE_VM), which POSIX vfork allows.
 */
static int64_t fork_call(int64_t nr, const uint64_t a[6], struct k_ucontext *uc,
			 const struct bpfi_target_hdr *t)
{
	uint64_t ca[11] = { 0 }, top = 0, size = a[1] < sizeof(ca) ? a[1] : sizeof(ca);
	int64_t r;

	if (nr == STUB_NR_clone)
		top = a[1];
	else if (nr == STUB_NR_clone3 && !read_user(ca, a[0], size) && ca[5])
		top = ca[5] + ca[6]; /* stack + stack_size */
	if (top) {
		/* Where the child finds the caller's rip and flags: just below the top of its
		 * stack (stub_clone_jump). */
		*(volatile uint64_t *)(uintptr_t)(top - 8) = uc->gregs[G_RIP];
		*(volatile uint64_t *)(uintptr_t)(top - 16) = uc->gregs[G_EFL];
		return stub_clone_jump(uc->gregs, nr);
	}
	if (nr == STUB_NR_vfork)
		r = bpfi_syscall6(STUB_NR_clone, CLONE_VFORK_ | SIGCHLD_, 0, 0, 0, 0, 0);
	else if (nr == STUB_NR_clone)
		r = bpfi_syscall6(nr, (long)(a[0] & CLONE_VFORK_ ? a[0] & ~CLONE_VM_ : a[0]), 0,
				  (long)a[2], (long)a[3], (long)a[4], 0);
	else if (nr == STUB_NR_clone3 && size >= 8 && (ca[0] & CLONE_VFORK_)) {
		ca[0] &= ~CLONE_VM_;
		r = bpfi_syscall6(nr, (long)ca, (long)size, 0, 0, 0, 0);
	} else
		r = bpfi_syscall6(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4],
				  (long)a[5]);
	if (r == 0)
		stub_catchall_arm(t);
	stub_syscall_forget_ids(t);
	return r;
}

static int64_t make_call(int64_t nr, const uint64_t a[6], struct k_ucontext *uc,
			 const struct bpfi_target_hdr *t)
{
	int64_t r;

	switch (nr) {
	case STUB_NR_rt_sigprocmask:
		return sigprocmask_in_frame(a, uc);
	case STUB_NR_rt_sigaction:
		if (stub_catchall_sanitize(nr, a, &r))
			return r;
		break;
	case STUB_NR_clone:
	case STUB_NR_clone3:
	case STUB_NR_fork:
	case STUB_NR_vfork:
		return fork_call(nr, a, uc, t);
	}
	return bpfi_syscall6(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4],
			     (long)a[5]);
}

/*
 * A SIGSYS that is not a dispatched call (a seccomp trap, a kill): what the process would
 * have had without us — ignored if it ignored SIGSYS, else the default action, raised again
 * to take effect when the handler returns (SIGSYS is blocked until then).
 */
static void not_dispatched(const struct bpfi_target_hdr *t)
{
	uint64_t dfl[4] = { 0 };

	if (t->sc.catch_all.old_act[0] == 1) /* SIG_IGN */
		return;
	bpfi_syscall6(STUB_NR_rt_sigaction, SIGSYS_, (long)dfl, 0, 8, 0, 0);
	bpfi_syscall3(NR_tgkill_, bpfi_syscall0(BPFI_NR_getpid), bpfi_syscall0(BPFI_NR_gettid),
		      SIGSYS_);
}

void stub_sigsys(int sig, void *info, void *ucontext)
{
	struct bpfi_target_hdr *t = block();
	const struct k_siginfo *si = info;
	struct k_ucontext *uc = ucontext;
	uint64_t *g = uc->gregs;
	struct bpfi_sc_enter_ctx rec = { .nr = (int64_t)g[G_RAX] };
	struct bpfi_sc_exit_ctx x = { .nr = (int64_t)g[G_RAX] };

	(void)sig;
	if (si->code != SYS_USER_DISPATCH_) {
		not_dispatched(t);
		return;
	}
	if (!atomic_load_explicit((_Atomic uint32_t *)&t->sc.catch_all.on, memory_order_relaxed)) {
		/* Detached since this thread was armed: no more dispatch for it, and the call
		 * runs again where it was made, as it would have. */
		bpfi_syscall6(BPFI_NR_prctl, PR_SYSCALL_DISPATCH, 0, 0, 0, 0, 0);
		g[G_RIP] -= 2;
		return;
	}
	atomic_fetch_add_explicit(&t->sc.catch_all.caught, 1, memory_order_relaxed);
	if (si->arch != AUDIT_ARCH_X86_64_) {
		/* int $0x80: 32-bit numbers and registers, which no 64-bit event describes; made
		 * as it was asked, without programs. */
		g[G_RAX] = (uint64_t)stub_int80(g);
		return;
	}
	rec.args[0] = g[G_RDI];
	rec.args[1] = g[G_RSI];
	rec.args[2] = g[G_RDX];
	rec.args[3] = g[G_R10];
	rec.args[4] = g[G_R8];
	rec.args[5] = g[G_R9];
	if (rec.nr == STUB_NR_rt_sigreturn) {
		stub_syscall_events_enter(&rec, t);
		stub_sigreturn_at(g[G_RSP]); /* the caller's frame is at its rsp */
	}
	if (stub_syscall_events_enter(&rec, t))
		x.ret = rec.override_ret;
	else
		x.ret = make_call(rec.nr, rec.args, uc, t);
	stub_syscall_events_exit(&x, t);
	g[G_RAX] = (uint64_t)x.ret;
}
