// SPDX-License-Identifier: MIT
/*
 * `bpfinject OBJ -- CMD ARGS`: start CMD held at the first instruction of its main(), so
 * probes are in place before any of its own code runs. The child waits for us before exec;
 * we seize it, let it exec, then run it to main through a pad that is harmless should we die
 * (run_to()). For binaries without a symbol table, main is read from glibc's _start, or
 * found by running to __libc_start_main in libc, whose first argument is main.
 * A followed command (bpfi_tree_*) stays traced, with every process of its tree: each exec
 * is caught and the process held at its new main the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "injector_internal.h"

/* A tree: fork, vfork and clone children are traced too; exec is reported. No EXITKILL:
 * should bpfinject die, the command runs on. */
#define TREE_OPTIONS                                                                             \
	(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | \
	 PTRACE_O_TRACECLONE)
/* How long bpfi_tree_detach() waits for the tasks to stop so that they can be let go. */
#define DETACH_TIMEOUT_MS 2000
/* Exec after exec before reaching main (a loader that re-executes itself): gives up after. */
#define MAX_REEXECS 8

struct bpfi_tree {
	pid_t root;
	bool root_exited;
	int root_status;
	pid_t *tids; /* every task we know we trace */
	unsigned int nr_tids;
	unsigned int cap_tids;
};

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/*
 * The next stop of @pid, consumed. Its exit is not: that belongs to whoever collects the
 * tree's exits (the command's real parent must get the status). -ESRCH when it has exited.
 */
static int wait_stop(pid_t pid, int *status)
{
	for (;;) {
		siginfo_t si = { 0 };

		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WSTOPPED | WNOWAIT | __WALL)) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (si.si_code != CLD_TRAPPED && si.si_code != CLD_STOPPED)
			return -ESRCH;
		if (waitpid(pid, status, __WALL | WNOHANG) == pid)
			return 0;
	}
}

/* Runs the child until an exec event, forwarding whatever else stops it. */
static int run_to_exec(pid_t pid, struct bpfi_log *log)
{
	int status, sig, event;

	for (;;) {
		if (wait_stop(pid, &status))
			return bpfi_log_err(log, -ESRCH, "the command exited before it started");
		event = status >> 16;
		if (event == PTRACE_EVENT_EXEC)
			return 0;
		sig = WSTOPSIG(status);
		/* Group-stop (the child's own SIGSTOP), SIGCONT and events: just let it go on. */
		if (event || sig == SIGSTOP || sig == SIGCONT || sig == (SIGTRAP | 0x80))
			sig = 0;
		ptrace(PTRACE_CONT, pid, 0, (void *)(long)sig);
	}
}

/*
 * The fallback where no pad can be placed (no free range near @addr, a first instruction that
 * cannot move, a seccomp filter forbidding the executable mapping): a one-shot int3 at @addr.
 * Unlike the pad, it kills the process with SIGTRAP if we die while it is planted.
 */
static int run_to_trap(struct bpfi_injector *inj, uint64_t addr, struct user_regs_struct *regs,
		       struct bpfi_log *log)
{
	struct inj_thread *th = &inj->threads[0];
	uint8_t orig, trap = 0xcc;
	int status, err, sig, event;

	err = bpfi_injector_read(inj, addr, &orig, 1, log);
	if (!err)
		err = bpfi_injector_write(inj, addr, &trap, 1, log);
	if (err)
		return err;
	ptrace(PTRACE_CONT, inj->pid, 0, 0);
	for (;;) {
		if (wait_stop(inj->pid, &status))
			return bpfi_log_err(log, -ESRCH, "process %d exited before reaching main",
					    inj->pid);
		event = status >> 16;
		sig = WSTOPSIG(status);
		if (event == PTRACE_EVENT_EXEC)
			return -EAGAIN;
		if (!event && sig == SIGTRAP && !ptrace(PTRACE_GETREGS, inj->pid, 0, regs) &&
		    regs->rip == addr + 1)
			break;
		if (event || sig == SIGTRAP || sig == (SIGTRAP | 0x80)) {
			if (event == PTRACE_EVENT_STOP && is_stop_signal(sig) && !th->pending_sig)
				th->pending_sig = sig;
			sig = 0;
		} else if (is_stop_signal(sig)) {
			if (!th->pending_sig)
				th->pending_sig = sig;
			sig = 0;
		}
		ptrace(PTRACE_CONT, inj->pid, 0, (void *)(long)sig);
	}
	regs->rip = addr;
	if (ptrace(PTRACE_SETREGS, inj->pid, 0, regs))
		return bpfi_log_err(log, -errno, "PTRACE_SETREGS: %s", strerror(errno));
	return bpfi_injector_write(inj, addr, &orig, 1, log);
}

/*
 * Running a process to @addr (main, or on the way to it) without a moment where our death
 * would kill it (issue 11 A4: a one-shot int3 left planted killed it with SIGTRAP). @addr gets
 * a 5-byte jump to a pad in a fresh mapping near it: a few registers pushed, a marker, the
 * registers popped, @addr's first instructions relocated, a jump back. The marker is a stop
 * for us and nothing without us:
 *
 *  - tkill(gettid(), SIGURG): a signal-delivery-stop while we trace it (ignored signals are
 *    still reported to a tracer); untraced, a signal whose default action is to ignore it is
 *    discarded when sent. We run the process with PTRACE_CONT: no stop on the way.
 *  - getpid(), when SIGURG is blocked (the signal would stay pending) or a seccomp filter
 *    would not allow tkill: we run the process with PTRACE_SYSCALL and recognise the
 *    marker's syscall-exit stop; a stop at every system call of the loader (~60 per exec),
 *    so only then.
 *
 * Without us (killed, or gone before the marker), the pad runs through and the program runs
 * on as if nothing were there. At the marker we put the registers as they were at @addr,
 * then @addr's bytes, then unmap the pad: each step leaves a state that runs on by itself.
 */
#define PAD_PAGE      4096
#define FUNC_SCAN_MAX 512
#define PAD_PREFIX    33 /* room for the longer prefix */

struct pad_kind {
	const uint8_t *code;
	size_t len;
	size_t mark_end; /* offset just after the marker's syscall */
	unsigned int nsaved; /* registers pushed; run_to() pops them from the stack */
};

static const uint8_t signal_prefix[] = {
	0x50, 0x51,   0x41, 0x53, 0x57, 0x56, /* push rax, rcx, r11, rdi, rsi */
	0xb8, 0xba,   0,    0,	  0, /* mov eax, SYS_gettid */
	0x0f, 0x05, /* syscall */
	0x89, 0xc7, /* mov edi, eax */
	0xbe, SIGURG, 0,    0,	  0, /* mov esi, SIGURG */
	0xb8, 0xc8,   0,    0,	  0, /* mov eax, SYS_tkill */
	0x0f, 0x05, /* syscall: the marker */
	0x5e, 0x5f,   0x41, 0x5b, 0x59, 0x58, /* pop rsi, rdi, r11, rcx, rax */
};

static const uint8_t syscall_prefix[] = {
	0x50, 0x51, 0x41, 0x53, /* push rax, rcx, r11 */
	0xb8, 0x27, 0,	  0,	0, /* mov eax, SYS_getpid */
	0x0f, 0x05, /* syscall: the marker */
	0x41, 0x5b, 0x59, 0x58, /* pop r11, rcx, rax */
};

static const struct pad_kind signal_pad = { signal_prefix, sizeof(signal_prefix), 27, 5 };
static const struct pad_kind syscall_pad = { syscall_prefix, sizeof(syscall_prefix), 11, 3 };

/* Resumes @pid for the next stop, delivering or keeping its signal as run_to() says. */
static void pass_stop(struct inj_thread *th, pid_t pid, int status, int request)
{
	int event = status >> 16, sig = WSTOPSIG(status);

	if (event || sig == SIGTRAP || sig == (SIGTRAP | 0x80)) {
		if (event == PTRACE_EVENT_STOP && is_stop_signal(sig) && !th->pending_sig)
			th->pending_sig = sig;
		sig = 0;
	} else if (is_stop_signal(sig)) {
		if (!th->pending_sig)
			th->pending_sig = sig;
		sig = 0;
	}
	ptrace(request, pid, 0, (void *)(long)sig);
}

/*
 * From an exec stop to the exit stop of that execve, where remote system calls can be made
 * (registers set in an exec stop are overwritten by execve's return). Elsewhere: nothing.
 */
static int leave_exec_stop(struct bpfi_injector *inj, struct bpfi_log *log)
{
	siginfo_t si = { 0 };
	int status;

	if (ptrace(PTRACE_GETSIGINFO, inj->pid, 0, &si) ||
	    si.si_code != (SIGTRAP | (PTRACE_EVENT_EXEC << 8)))
		return 0;
	ptrace(PTRACE_SYSCALL, inj->pid, 0, 0);
	for (;;) {
		if (wait_stop(inj->pid, &status))
			return bpfi_log_err(log, -ESRCH, "process %d exited after its exec",
					    inj->pid);
		if ((status >> 16) == 0 && WSTOPSIG(status) == (SIGTRAP | 0x80))
			return 0;
		if ((status >> 16) == PTRACE_EVENT_EXEC)
			return -EAGAIN;
		pass_stop(&inj->threads[0], inj->pid, status, PTRACE_SYSCALL);
	}
}

/* Puts the thread's registers back as they were before our remote calls. */
static int restore_regs(struct bpfi_injector *inj, struct bpfi_log *log)
{
	struct user_regs_struct regs = inj->threads[0].saved;

	injector__restart_fixup(&regs);
	if (ptrace(PTRACE_SETREGS, inj->pid, 0, &regs))
		return bpfi_log_err(log, -errno, "PTRACE_SETREGS: %s", strerror(errno));
	return 0;
}

/* Is SIGURG blocked in @pid's main thread (a marker signal would stay pending)? */
static bool sigurg_blocked(pid_t pid)
{
	unsigned long long mask = ~0ull;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "SigBlk: %llx", &mask) == 1)
			break;
	}
	fclose(f);
	return mask & (1ull << (SIGURG - 1));
}

/* Would the thread's seccomp filters (read by our first remote call) let @nr through at @ip? */
static bool pad_call_allowed(struct inj_thread *th, long nr, uint64_t ip, long a0, long a1)
{
	struct seccomp_data d = { .nr = (int)nr,
				  .arch = AUDIT_ARCH_X86_64,
				  .instruction_pointer = ip,
				  .args = { (uint64_t)a0, (uint64_t)a1 } };
	uint32_t action;

	if (!th->seccomp)
		return true; /* no remote call needed them: none read, none installed */
	action = injector__seccomp_eval(th->seccomp, &d) & SECCOMP_RET_ACTION_FULL;
	return action == SECCOMP_RET_ALLOW || action == SECCOMP_RET_LOG;
}

/* The marker this process can take at @pad: 0 if none (run_to_trap() then). */
static const struct pad_kind *choose_marker(struct bpfi_injector *inj, uint64_t pad)
{
	struct inj_thread *th = &inj->threads[0];

	if (!sigurg_blocked(inj->pid) && pad_call_allowed(th, SYS_gettid, pad + 13, 0, 0) &&
	    pad_call_allowed(th, SYS_tkill, pad + signal_pad.mark_end, th->tid, SIGURG))
		return &signal_pad;
	if (pad_call_allowed(th, SYS_getpid, pad + syscall_pad.mark_end, 0, 0))
		return &syscall_pad;
	return NULL;
}

/*
 * The pad for @addr in a fresh mapping near it, written, and the jump at @addr. 1 when no pad
 * can be placed there (run_to_trap() then), with nothing changed in the process.
 */
static int plant_pad(struct bpfi_injector *inj, uint64_t addr, size_t func_len, uint64_t *ret_pad,
		     const struct pad_kind **ret_kind, uint8_t orig[BPFI_PATCH_LEN],
		     struct bpfi_log *log)
{
	uint8_t func[FUNC_SCAN_MAX], pad[PAD_PREFIX + BPFI_RELOC_MAX], jmp[BPFI_PATCH_LEN];
	const struct pad_kind *kind = NULL;
	struct bpfi_relocation reloc;
	long args[6], r;
	uint64_t hint;
	size_t len;
	int32_t rel;
	int err;

	len = func_len && func_len < sizeof(func) ? func_len : sizeof(func);
	/* The end of the text may be near: read less rather than fail. */
	while (len > 32 && bpfi_injector_read(inj, addr, func, len, NULL))
		len /= 2;
	hint = injector__gap_near(inj->pid, addr, PAD_PAGE);
	if (len < BPFI_PATCH_LEN || bpfi_injector_read(inj, addr, func, len, NULL) || !hint)
		return 1;
	args[0] = (long)hint;
	args[1] = PAD_PAGE;
	args[2] = PROT_READ | PROT_EXEC;
	args[3] = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
	args[4] = -1;
	args[5] = 0;
	err = bpfi_injector_syscall(inj, SYS_mmap, args, 6, &r, NULL);
	if (err == -ESRCH)
		return bpfi_log_err(log, err, "process %d exited before reaching main", inj->pid);
	if (err || r != (long)hint) {
		if (!err && (unsigned long)r < -4096UL) {
			args[0] = r;
			bpfi_injector_syscall(inj, SYS_munmap, args, 2, &r, NULL);
		}
		err = restore_regs(inj, log);
		return err ? err : 1;
	}
	kind = choose_marker(inj, hint);
	err = !kind || bpfi_hook_relocate(func, len, addr, hint + kind->len, &reloc, NULL) ? 1 : 0;
	if (!err) {
		memcpy(pad, kind->code, kind->len);
		memcpy(pad + kind->len, reloc.code, reloc.code_len);
	}
	rel = (int32_t)(hint - (addr + BPFI_PATCH_LEN));
	jmp[0] = 0xe9;
	memcpy(jmp + 1, &rel, 4);
	memcpy(orig, func, BPFI_PATCH_LEN);
	/* The pad first: a jump to a pad not yet written never exists. */
	if (!err)
		err = bpfi_injector_write(inj, hint, pad, kind->len + reloc.code_len, log);
	if (!err)
		err = bpfi_injector_write(inj, addr, jmp, sizeof(jmp), log);
	if (err) {
		args[0] = (long)hint;
		bpfi_injector_syscall(inj, SYS_munmap, args, 2, &r, NULL);
	}
	if (restore_regs(inj, log) && !err)
		err = -ESRCH;
	if (err)
		return err < 0 ? err : 1;
	*ret_pad = hint;
	*ret_kind = kind;
	return 0;
}

/* Is this stop the marker of @kind at @pad? @regs read if it may be. */
static bool at_marker(pid_t pid, int status, const struct pad_kind *kind, uint64_t pad,
		      struct user_regs_struct *regs)
{
	int want = kind == &signal_pad ? SIGURG : SIGTRAP | 0x80;

	if ((status >> 16) || WSTOPSIG(status) != want || ptrace(PTRACE_GETREGS, pid, 0, regs) ||
	    regs->rip != pad + kind->mark_end)
		return false;
	if (kind == &signal_pad)
		return true;
	/* getpid's exit, not its entry (where rax is -ENOSYS). */
	return regs->orig_rax == SYS_getpid && regs->rax != (unsigned long long)-ENOSYS;
}

/*
 * Where @addr jumps if its first instruction is a jump (a main that is `jmp Py_BytesMain`, too
 * short to take our own): the pad goes there, with the same registers on arrival.
 */
static uint64_t jump_target(struct bpfi_injector *inj, uint64_t addr)
{
	uint8_t c[5];
	int32_t rel;

	if (bpfi_injector_read(inj, addr, c, sizeof(c), NULL))
		return addr;
	if (c[0] == 0xeb)
		return addr + 2 + (uint64_t)(int64_t)(int8_t)c[1];
	if (c[0] != 0xe9)
		return addr;
	memcpy(&rel, c + 1, 4);
	return addr + 5 + (uint64_t)(int64_t)rel;
}

/*
 * Runs to @addr (a function of @func_len bytes, 0 if unknown) and leaves the process stopped
 * there with @regs as they are on entry. Signals on the way are delivered, except stopping
 * ones: those are kept for when the process is let go (it then stops, with its probes in
 * place). A fork or clone child's first stop is the tree's. -EAGAIN: the process exec'd again
 * before reaching @addr (it is in that exec's stop).
 */
static int run_to(struct bpfi_injector *inj, uint64_t addr, size_t func_len,
		  struct user_regs_struct *regs, struct bpfi_log *log)
{
	struct inj_thread *th = &inj->threads[0];
	unsigned long long *popped[5] = { &regs->rsi, &regs->rdi, &regs->r11, &regs->rcx,
					  &regs->rax };
	const struct pad_kind *kind = NULL;
	uint8_t orig[BPFI_PATCH_LEN];
	uint64_t pad = 0, saved[5], at = addr;
	int status, err, request;
	long args[2], r;

	/* Filters read before: perhaps in an image since replaced, which may have added some. */
	injector__seccomp_free(th->seccomp);
	th->seccomp = NULL;
	err = leave_exec_stop(inj, log);
	if (!err && ptrace(PTRACE_GETREGS, inj->pid, 0, &th->saved))
		err = bpfi_log_err(log, -errno, "PTRACE_GETREGS: %s", strerror(errno));
	if (!err) {
		at = jump_target(inj, addr);
		err = plant_pad(inj, at, at == addr ? func_len : 0, &pad, &kind, orig, log);
	}
	if (err == 1)
		return run_to_trap(inj, addr, regs, log);
	if (err)
		return err;
	request = kind == &signal_pad ? PTRACE_CONT : PTRACE_SYSCALL;
	ptrace(request, inj->pid, 0, 0);
	for (;;) {
		if (wait_stop(inj->pid, &status))
			return bpfi_log_err(log, -ESRCH, "process %d exited before reaching main",
					    inj->pid);
		if ((status >> 16) == PTRACE_EVENT_EXEC)
			return -EAGAIN;
		if (at_marker(inj->pid, status, kind, pad, regs))
			break;
		pass_stop(th, inj->pid, status, request);
	}
	/* As on entry to @addr: the pushed registers popped, no system call to restart. The
	 * marker signal is not delivered: we resume from this stop with no signal. */
	err = bpfi_injector_read(inj, regs->rsp, saved, kind->nsaved * 8, log);
	if (err)
		return err;
	for (unsigned int i = 0; i < kind->nsaved; i++)
		*popped[5 - kind->nsaved + i] = saved[i];
	regs->rsp += kind->nsaved * 8;
	regs->rip = addr;
	regs->orig_rax = (unsigned long long)-1;
	if (ptrace(PTRACE_SETREGS, inj->pid, 0, regs))
		return bpfi_log_err(log, -errno, "PTRACE_SETREGS: %s", strerror(errno));
	th->saved = *regs;
	err = bpfi_injector_write(inj, at, orig, sizeof(orig), log);
	if (err)
		return err;
	args[0] = (long)pad;
	args[1] = PAD_PAGE;
	bpfi_injector_syscall(inj, SYS_munmap, args, 2, &r, NULL);
	/* Its constructors may have installed seccomp filters since: read them again. */
	injector__seccomp_free(th->seccomp);
	th->seccomp = NULL;
	return restore_regs(inj, log);
}

/* AT_ENTRY from the auxiliary vector: the program's own entry point. */
static int entry_point(pid_t pid, uint64_t *ret_entry)
{
	uint64_t aux[2];
	char path[64];
	int fd, err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (read(fd, aux, sizeof(aux)) == sizeof(aux) && aux[0]) {
		if (aux[0] == 9 /* AT_ENTRY */) {
			*ret_entry = aux[1];
			err = 0;
			break;
		}
	}
	close(fd);
	return err;
}

/* Does @addr fall in an executable mapping of @pid's program file @exe? */
static bool in_exe_text(pid_t pid, uint64_t addr, const char *exe)
{
	char path[64], line[1024], perms[8], file[600];
	unsigned long start, end;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f)) {
		file[0] = '\0';
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %599s", &start, &end, perms, file) < 3)
			continue;
		found = addr >= start && addr < end && perms[2] == 'x' && !strcmp(file, exe);
	}
	if (f)
		fclose(f);
	return found;
}

/*
 * main read from glibc's x86-64 _start at @entry, without running anything: it loads main
 * into %rdi (`lea rdi, [rip + main]`, or `mov rdi, imm32` without PIE) right before its
 * `call [rip + __libc_start_main@GOT]`. 0 when the code is not that.
 */
static uint64_t main_from_start(struct bpfi_injector *inj, uint64_t entry, const char *exe)
{
	uint8_t code[64];
	uint64_t main_addr = 0;
	int32_t v;

	if (bpfi_injector_read(inj, entry, code, sizeof(code), NULL))
		return 0;
	for (size_t i = 0; i + 9 <= sizeof(code) && !main_addr; i++) {
		if (code[i + 7] != 0xff || code[i + 8] != 0x15 || code[i] != 0x48)
			continue;
		memcpy(&v, code + i + 3, 4);
		if (code[i + 1] == 0x8d && code[i + 2] == 0x3d) /* lea rdi, [rip + rel32] */
			main_addr = entry + i + 7 + (uint64_t)(int64_t)v;
		else if (code[i + 1] == 0xc7 && code[i + 2] == 0xc7) /* mov rdi, simm32 */
			main_addr = (uint64_t)(int64_t)v;
	}
	return main_addr && in_exe_text(inj->pid, main_addr, exe) ? main_addr : 0;
}

/* Where main is: its symbol, or what the C library's start routine is handed. */
static int find_main(struct bpfi_injector *inj, uint64_t *ret_main, uint64_t *ret_size,
		     struct bpfi_log *log)
{
	uint64_t size = 0;
	char exe[512], path[64], libc[512];
	struct user_regs_struct regs;
	uint64_t off, addr;
	ssize_t n;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/exe", inj->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return bpfi_log_err(log, -errno, "%s: %s", path, strerror(errno));
	exe[n] = '\0';
	if (!bpfi_elf_find_function(exe, "main", &off, ret_size, NULL))
		return bpfi_proc_offset_to_addr(inj->pid, exe, off, ret_main, log);
	/* Stripped: what glibc's _start hands __libc_start_main, read from its code; else run
	 * to the entry point (ld.so has mapped libc by then), then on to __libc_start_main,
	 * whose first argument is main. */
	*ret_size = 0;
	err = entry_point(inj->pid, &addr);
	if (!err && (*ret_main = main_from_start(inj, addr, exe)))
		return 0;
	if (!err)
		err = run_to(inj, addr, 0, &regs, log);
	if (err)
		return err == -ENOENT ? bpfi_log_err(log, err, "%s: no entry point", exe) : err;
	if (bpfi_proc_find_module(inj->pid, "libc.so", libc, sizeof(libc), NULL))
		return bpfi_log_err(log, -ENOENT, "%s: no symbol 'main' and no libc to find it",
				    exe);
	err = bpfi_elf_find_function(libc, "__libc_start_main", &off, &size, log);
	if (!err)
		err = bpfi_proc_offset_to_addr(inj->pid, libc, off, &addr, log);
	if (!err)
		err = run_to(inj, addr, size, &regs, log);
	if (err)
		return err;
	*ret_main = regs.rdi;
	return 0;
}

/* A session on @pid, which we trace and which is stopped in its exec event. */
static int new_session(pid_t pid, bool borrowed, struct bpfi_injector **ret_inj)
{
	struct bpfi_injector *inj = calloc(1, sizeof(*inj));

	if (inj)
		inj->threads = calloc(1, sizeof(*inj->threads));
	if (!inj || !inj->threads) {
		free(inj);
		return -ENOMEM;
	}
	inj->pid = pid;
	inj->mem_fd = -1;
	inj->timeout_ms = 2000;
	inj->borrowed = borrowed;
	inj->nr_threads = inj->cap_threads = 1;
	inj->threads[0].tid = pid;
	inj->threads[0].stopped = true;
	*ret_inj = inj;
	return 0;
}

static void free_session(struct bpfi_injector *inj)
{
	if (!inj)
		return;
	if (inj->mem_fd >= 0)
		close(inj->mem_fd);
	injector__seccomp_free(inj->threads[0].seccomp);
	free(inj->threads);
	free(inj);
}

/* From the exec stop to the first instruction of main, with the memory open. */
static int hold_at_main(struct bpfi_injector *inj, struct bpfi_log *log)
{
	struct user_regs_struct regs;
	uint64_t main_addr = 0, main_size = 0;
	char path[64];
	int err;

	for (int n = 0; n < MAX_REEXECS; n++) {
		if (inj->mem_fd >= 0)
			close(inj->mem_fd);
		snprintf(path, sizeof(path), "/proc/%d/mem", inj->pid);
		inj->mem_fd = open(path, O_RDWR | O_CLOEXEC);
		if (inj->mem_fd < 0)
			return bpfi_log_err(log, -errno, "%s: %s", path, strerror(errno));
		err = find_main(inj, &main_addr, &main_size, log);
		if (!err)
			err = run_to(inj, main_addr, main_size, &regs, log);
		if (err != -EAGAIN) {
			if (!err)
				inj->threads[0].saved = regs;
			return err;
		}
	}
	return bpfi_log_err(log, -ELOOP, "process %d keeps exec'ing before its main", inj->pid);
}

/*
 * Forks the command and seizes it with @options before it execs. The child waits for EOF on a
 * pipe whose other end we close once it is seized: should we die before (or after), the end
 * closes with us and the command runs on, untraced. (A child stopping itself with SIGSTOP
 * would stay stopped forever if we died before continuing it.)
 */
static int start(char *const argv[], long options, pid_t *ret_pid, struct bpfi_log *log)
{
	int sync[2], err;
	pid_t pid;
	char c;

	if (pipe2(sync, O_CLOEXEC))
		return bpfi_log_err(log, -errno, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(sync[0]);
		close(sync[1]);
		return bpfi_log_err(log, err, "fork: %s", strerror(-err));
	}
	if (pid == 0) {
		close(sync[1]);
		while (read(sync[0], &c, 1) < 0 && errno == EINTR)
			;
		execvp(argv[0], argv);
		fprintf(stderr, "bpfinject: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(sync[0]);
	if (ptrace(PTRACE_SEIZE, pid, 0, (void *)options)) {
		err = -errno;
		kill(pid, SIGKILL);
		close(sync[1]);
		waitpid(pid, NULL, 0);
		return bpfi_log_err(log, err, "PTRACE_SEIZE of the child: %s", strerror(-err));
	}
	close(sync[1]);
	*ret_pid = pid;
	return 0;
}

static int spawn_held(char *const argv[], bool tree, struct bpfi_injector **ret_inj,
		      struct bpfi_log *log)
{
	long options = tree ? TREE_OPTIONS : PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD;
	struct bpfi_injector *inj = NULL;
	pid_t pid = 0;
	int err;

	err = start(argv, options, &pid, log);
	if (err)
		return err;
	err = new_session(pid, tree, &inj);
	if (!err)
		err = run_to_exec(pid, log);
	if (!err)
		err = hold_at_main(inj, log);
	if (err) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, __WALL);
		free_session(inj);
		return err;
	}
	*ret_inj = inj;
	return 0;
}

int bpfi_injector_spawn(char *const argv[], struct bpfi_injector **ret_inj, struct bpfi_log *log)
{
	return spawn_held(argv, false, ret_inj, log);
}

/* ---- the followed tree ---- */

static bool tree_has(const struct bpfi_tree *tree, pid_t tid)
{
	for (unsigned int i = 0; i < tree->nr_tids; i++) {
		if (tree->tids[i] == tid)
			return true;
	}
	return false;
}

static int tree_add(struct bpfi_tree *tree, pid_t tid)
{
	if (tid <= 0 || tree_has(tree, tid))
		return 0;
	if (tree->nr_tids == tree->cap_tids) {
		unsigned int cap = tree->cap_tids ? tree->cap_tids * 2 : 16;
		pid_t *grown = realloc(tree->tids, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		tree->tids = grown;
		tree->cap_tids = cap;
	}
	tree->tids[tree->nr_tids++] = tid;
	return 0;
}

static void tree_remove(struct bpfi_tree *tree, pid_t tid)
{
	for (unsigned int i = 0; i < tree->nr_tids; i++) {
		if (tree->tids[i] == tid) {
			tree->tids[i] = tree->tids[--tree->nr_tids];
			return;
		}
	}
}

int bpfi_tree_spawn(char *const argv[], struct bpfi_tree **ret_tree, struct bpfi_injector **ret_inj,
		    struct bpfi_log *log)
{
	struct bpfi_tree *tree = calloc(1, sizeof(*tree));
	struct bpfi_injector *inj;
	int err;

	if (!tree)
		return -ENOMEM;
	err = spawn_held(argv, true, &inj, log);
	if (!err) {
		tree->root = inj->pid;
		err = tree_add(tree, tree->root);
		if (err) {
			kill(inj->pid, SIGKILL);
			waitpid(inj->pid, NULL, __WALL);
			free_session(inj);
		}
	}
	if (err) {
		free(tree);
		return err;
	}
	*ret_tree = tree;
	*ret_inj = inj;
	return 0;
}

bool bpfi_tree_traces(const struct bpfi_tree *tree, pid_t tid)
{
	return tree_has(tree, tid);
}

pid_t bpfi_tree_root(const struct bpfi_tree *tree)
{
	return tree->root;
}

bool bpfi_tree_root_exited(const struct bpfi_tree *tree, int *ret_status)
{
	if (tree->root_exited && ret_status)
		*ret_status = tree->root_status;
	return tree->root_exited;
}

/* A process of the tree exec'd (@pid, in its exec stop): held at its main for @on_exec. */
static void on_exec_stop(struct bpfi_tree *tree, pid_t pid, bpfi_tree_exec_fn on_exec, void *cookie)
{
	char buf[512] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct bpfi_injector *inj = NULL;
	unsigned long former = 0;
	int err;

	/* A thread other than the leader exec'd: it took the leader's tid, its own is gone. */
	if (!ptrace(PTRACE_GETEVENTMSG, pid, 0, &former) && (pid_t)former != pid)
		tree_remove(tree, (pid_t)former);
	err = new_session(pid, true, &inj);
	if (!err)
		err = hold_at_main(inj, &log);
	if (!err) {
		on_exec(pid, inj, NULL, cookie);
		return;
	}
	if (inj)
		bpfi_injector_detach(inj); /* borrowed: continued, still traced */
	else
		ptrace(PTRACE_CONT, pid, 0, 0);
	buf[strcspn(buf, "\n")] = '\0';
	on_exec(pid, NULL, buf[0] ? buf : strerror(-err), cookie);
}

/* One report of waitpid, made transparent (or, for an exec, acted upon). */
static void handle(struct bpfi_tree *tree, pid_t tid, int status, bpfi_tree_exec_fn on_exec,
		   void *cookie)
{
	unsigned long child;
	int event = status >> 16, sig;

	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		tree_remove(tree, tid);
		if (tid == tree->root) {
			tree->root_exited = true;
			tree->root_status = status;
		}
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	tree_add(tree, tid); /* a new task's first stop may come before its parent's event */
	sig = WSTOPSIG(status);
	switch (event) {
	case PTRACE_EVENT_EXEC:
		on_exec_stop(tree, tid, on_exec, cookie);
		return;
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
	case PTRACE_EVENT_CLONE:
		if (!ptrace(PTRACE_GETEVENTMSG, tid, 0, &child))
			tree_add(tree, (pid_t)child);
		sig = 0;
		break;
	case PTRACE_EVENT_STOP:
		/* A group-stop stays one: LISTEN lets SIGCONT end it. Else a new task's first
		 * stop, or the end of a group-stop. */
		if (is_stop_signal(sig) && !ptrace(PTRACE_LISTEN, tid, 0, 0))
			return;
		sig = 0;
		break;
	case 0:
		if (sig == (SIGTRAP | 0x80))
			sig = 0; /* no syscall stops are asked for; never deliver one */
		break; /* a signal-delivery-stop: delivered */
	default:
		sig = 0;
		break;
	}
	ptrace(PTRACE_CONT, tid, 0, (void *)(long)sig);
}

int bpfi_tree_poll(struct bpfi_tree *tree, bpfi_tree_exec_fn on_exec, void *cookie)
{
	int status, n = 0;
	pid_t tid;

	for (;;) {
		tid = waitpid(-1, &status, __WALL | WNOHANG);
		if (tid < 0 && errno == EINTR)
			continue;
		if (tid <= 0)
			return n;
		handle(tree, tid, status, on_exec, cookie);
		n++;
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Every task of every process we know of: threads a borrowed session saw first included. */
static void tree_add_threads(struct bpfi_tree *tree)
{
	unsigned int n = tree->nr_tids;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int nr;
		pid_t *tids;

		if (injector__list_tasks(tree->tids[i], &tids, &nr))
			continue;
		for (unsigned int j = 0; j < nr; j++)
			tree_add(tree, tids[j]);
		free(tids);
	}
}

/*
 * A task in a ptrace-stop is let go: with the signal of a signal-delivery-stop, so that it
 * is not lost; a group-stopped one stays stopped (the kernel re-arms the stop at detach).
 * A fork or clone child is interrupted in turn.
 */
static void detach_stopped(struct bpfi_tree *tree, pid_t tid, int status)
{
	int event = status >> 16, sig = WSTOPSIG(status);
	unsigned long child;

	if ((event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
	     event == PTRACE_EVENT_CLONE) &&
	    !ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) && !tree_has(tree, (pid_t)child) &&
	    !tree_add(tree, (pid_t)child))
		ptrace(PTRACE_INTERRUPT, (pid_t)child, 0, 0);
	if (event || sig == (SIGTRAP | 0x80))
		sig = 0;
	ptrace(PTRACE_DETACH, tid, 0, (void *)(long)sig);
	tree_remove(tree, tid);
}

int bpfi_tree_detach(struct bpfi_tree *tree)
{
	struct timespec pause = { 0, 100000 };
	uint64_t deadline = now_ms() + DETACH_TIMEOUT_MS;
	int status;
	pid_t tid;

	if (!tree)
		return -1;
	tree_add_threads(tree);
	for (unsigned int i = 0; i < tree->nr_tids;) {
		if (ptrace(PTRACE_INTERRUPT, tree->tids[i], 0, 0) && errno == ESRCH)
			tree_remove(tree, tree->tids[i]); /* gone, or not ours */
		else
			i++;
	}
	while (tree->nr_tids && now_ms() < deadline) {
		tid = waitpid(-1, &status, __WALL | WNOHANG);
		if (tid < 0 && errno == EINTR)
			continue;
		if (tid < 0)
			break;
		if (!tid) {
			nanosleep(&pause, NULL);
			continue;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			tree_remove(tree, tid);
			if (tid == tree->root) {
				tree->root_exited = true;
				tree->root_status = status;
			}
		} else if (WIFSTOPPED(status)) {
			detach_stopped(tree, tid, status);
		}
	}
	status = tree->root_exited ? tree->root_status : -1;
	free(tree->tids);
	free(tree);
	return status;
}

void bpfi_target_set_traced(struct bpfi_target *t, bool traced)
{
	t->traced = traced;
}
