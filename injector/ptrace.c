// SPDX-License-Identifier: MIT
/*
 * The ptrace boundary: one wrapper per request, with the request named in the message
 * (kubo ptrace.c), waits that time out, and the syscall-restart fix-up applied when we give a
 * thread back registers we changed (reference/injection.md §3.3).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "injector_internal.h"

/* Kernel-internal restart codes a stopped thread's rax can hold (include/linux/errno.h). */
#define ERESTARTSYS	      512
#define ERESTARTNOINTR	      513
#define ERESTARTNOHAND	      514
#define ERESTART_RESTARTBLOCK 516
#define NR_restart_syscall    219

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int injector__seize(struct bpfi_injector *inj, pid_t tid, struct bpfi_log *log)
{
	int err;

	/* TRACESYSGOOD: syscall stops say so (SIGTRAP | 0x80), told apart from a real SIGTRAP. */
	if (ptrace(PTRACE_SEIZE, tid, 0, (void *)(long)PTRACE_O_TRACESYSGOOD) < 0) {
		err = -errno;
		if (err == -ESRCH)
			return err; /* the thread exited between the scan and now */
		return bpfi_log_err(log, err, "PTRACE_SEIZE of thread %d: %s", tid, strerror(-err));
	}
	return injector__interrupt(tid, log);
}

int injector__interrupt(pid_t tid, struct bpfi_log *log)
{
	int err;

	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
		err = -errno;
		if (err == -ESRCH)
			return err; /* exited, or (borrowed) not one of ours after all */
		return bpfi_log_err(log, err, "PTRACE_INTERRUPT of thread %d: %s", tid,
				    strerror(-err));
	}
	return 0;
}

/*
 * Has @tid exited? Asked without reaping it (WNOWAIT): in a borrowed session the exit is the
 * tracer's to collect (it may be the process's real parent, waiting for the exit status).
 */
static bool exited(pid_t tid, int *status)
{
	siginfo_t si = { 0 };

	if (waitid(P_PID, (id_t)tid, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) || si.si_pid != tid)
		return false;
	if (si.si_code == CLD_EXITED)
		*status = (si.si_status & 0xff) << 8;
	else
		*status = si.si_status & 0x7f; /* killed or dumped: WIFSIGNALED */
	return si.si_code == CLD_EXITED || si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED;
}

/*
 * waitpid on one thread, giving up at @deadline: ptrace stops cannot be waited for with poll.
 * A stop usually comes within microseconds, so yield first (the tracee may need this CPU to
 * reach it), then sleep in short steps: every microsecond here is a microsecond the target's
 * other threads are held.
 */
static int wait_thread(pid_t tid, int *status, uint64_t deadline, bool leave_exits)
{
	struct timespec pause = { 0, 50000 };

	for (unsigned int n = 0;; n++) {
		pid_t r;

		if (leave_exits && exited(tid, status))
			return 0;
		r = waitpid(tid, status, __WALL | WNOHANG);
		if (r == tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		if (n < 500)
			sched_yield();
		else
			nanosleep(&pause, NULL);
	}
}

/* The signal @tid is stopped to deliver is a SIGSYS of Syscall User Dispatch. */
static bool dispatched(pid_t tid)
{
	siginfo_t si;

	return !ptrace(PTRACE_GETSIGINFO, tid, 0, &si) && si.si_signo == SIGSYS &&
	       si.si_code == 2 /* SYS_USER_DISPATCH */;
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/*
 * Waits for the stop that PTRACE_INTERRUPT asked for. A signal that arrives first is held
 * (delivered when we let go) and the thread continued so that the interrupt can land. Any
 * trap clears a pending interrupt, so it is asked for again before continuing. In a
 * borrowed session the thread may also report an event of its tracer's options first (a
 * fork, clone or exec): the child's own stop stays for the tracer; an exec replaced the
 * image we meant to work on, so the process is given up on (-ESRCH).
 */
int injector__wait_stop(struct bpfi_injector *inj, struct inj_thread *th, struct bpfi_log *log)
{
	uint64_t deadline = now_ns() + (uint64_t)inj->timeout_ms * 1000000ull;
	int status, err, event;

	for (;;) {
		err = wait_thread(th->tid, &status, deadline, inj->borrowed);
		if (err == -ETIMEDOUT)
			return bpfi_log_err(log, err, "thread %d did not stop within %u ms",
					    th->tid, inj->timeout_ms);
		if (err)
			return bpfi_log_err(log, err, "waitpid on thread %d: %s", th->tid,
					    strerror(-err));
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			th->gone = true;
			return -ESRCH;
		}
		if (!WIFSTOPPED(status))
			continue;
		event = status >> 16;
		if (event == PTRACE_EVENT_STOP) {
			/* Interrupt stop (SIGTRAP) or a group-stop: either way it is held. */
			th->stopped = true;
			th->group_stop = is_stop_signal(WSTOPSIG(status));
			return 0;
		}
		if (event == PTRACE_EVENT_EXEC) {
			/* Stopped all the same; given back (continued) with the others. */
			th->stopped = true;
			return bpfi_log_err(log, -ESRCH, "process %d replaced its image (exec)",
					    inj->pid);
		}
		/*
		 * Syscall User Dispatch's SIGSYS (the catch-all): the call was rolled back and only
		 * the handler makes it. Held and sent again later it would come with a new
		 * siginfo, or not at all (a restart in a stop other than its own is not bound to
		 * inject), and the call would be lost. Delivered now; the interrupt lands after.
		 */
		if (!event && WSTOPSIG(status) == SIGSYS && dispatched(th->tid)) {
			if (ptrace(PTRACE_INTERRUPT, th->tid, 0, 0) < 0 ||
			    ptrace(PTRACE_CONT, th->tid, 0, (void *)(long)SIGSYS) < 0)
				return -errno;
			continue;
		}
		/* A signal-delivery-stop: keep the signal for later, let the interrupt land. */
		if (!event && !th->pending_sig)
			th->pending_sig = WSTOPSIG(status);
		if (ptrace(PTRACE_INTERRUPT, th->tid, 0, 0) < 0 ||
		    ptrace(PTRACE_CONT, th->tid, 0, 0) < 0)
			return -errno;
	}
}

/*
 * Runs the `syscall` at regs->rip with @regs, through its entry and exit stops, and reads the
 * registers back. Syscall stops rather than a single step: a single step leaves a SIGTRAP
 * pending, which kills the target if we are killed before collecting it, while a syscall
 * stop is no signal at all. A seccomp filter that traps the call shows up as SIGSYS.
 */
int injector__step_syscall(struct bpfi_injector *inj, struct inj_thread *th,
			   struct user_regs_struct *regs, struct bpfi_log *log)
{
	uint64_t deadline = now_ns() + (uint64_t)inj->timeout_ms * 1000000ull;
	int status, err, sig, stops = 0;

	th->dirty = true;
	if (ptrace(PTRACE_SETREGS, th->tid, 0, regs) < 0)
		return bpfi_log_err(log, -errno, "PTRACE_SETREGS of thread %d: %s", th->tid,
				    strerror(errno));
	while (stops < 2) {
		if (ptrace(PTRACE_SYSCALL, th->tid, 0, 0) < 0)
			return bpfi_log_err(log, -errno, "PTRACE_SYSCALL of thread %d: %s", th->tid,
					    strerror(errno));
		err = wait_thread(th->tid, &status, deadline, inj->borrowed);
		if (err)
			return bpfi_log_err(log, err, "remote system call in thread %d: %s",
					    th->tid, strerror(-err));
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			th->gone = true;
			return bpfi_log_err(log, -ESRCH,
					    "target thread %d died in a remote system call",
					    th->tid);
		}
		if (!WIFSTOPPED(status))
			continue;
		sig = WSTOPSIG(status);
		if (sig == (SIGTRAP | 0x80)) {
			stops++; /* entry, then exit */
			continue;
		}
		if (sig == SIGSYS)
			return bpfi_log_err(
				log, -EPERM,
				"a seccomp filter refused system call %llu in the target",
				(unsigned long long)regs->rax);
		/* Another signal arrived meanwhile: keep it for when we let go. */
		if (!th->pending_sig && (status >> 16) == 0)
			th->pending_sig = sig;
	}
	if (ptrace(PTRACE_GETREGS, th->tid, 0, regs) < 0)
		return -errno;
	return 0;
}

void injector__restart_fixup(struct user_regs_struct *regs)
{
	if ((long)regs->orig_rax >= 0) {
		long rax = (long)regs->rax;

		if (rax == -ERESTARTSYS || rax == -ERESTARTNOINTR || rax == -ERESTARTNOHAND) {
			regs->rax = regs->orig_rax;
			regs->rip -= 2;
		} else if (rax == -ERESTART_RESTARTBLOCK) {
			regs->rax = NR_restart_syscall;
			regs->rip -= 2;
		}
	}
	regs->orig_rax = (unsigned long long)-1;
}

/*
 * A borrowed thread goes back to its tracer's care, still traced: continued, or left in its
 * group-stop with PTRACE_LISTEN (so that SIGCONT still wakes it). A group-stopped thread we
 * ran code on is no longer in that stop: it is interrupted on its way out, and, the process
 * being stopped, reports the group-stop to the tracer again.
 */
static void give_back(struct inj_thread *th)
{
	if (th->group_stop && !th->dirty && !th->pending_sig &&
	    !ptrace(PTRACE_LISTEN, th->tid, 0, 0))
		return;
	if (th->group_stop)
		ptrace(PTRACE_INTERRUPT, th->tid, 0, 0);
	ptrace(PTRACE_CONT, th->tid, 0, (void *)(long)th->pending_sig);
}

/* Gives a thread back: its registers as found (restarting an interrupted call), its signal. */
void injector__release(struct bpfi_injector *inj, struct inj_thread *th)
{
	struct user_regs_struct regs = th->saved;

	if (th->gone)
		return;
	if (!th->stopped) {
		/*
		 * Seized and interrupted, but not seen stopping yet (an attach that failed half
		 * way): PTRACE_DETACH needs a stopped tracee, so wait for the stop briefly. If it
		 * never comes, the kernel detaches it when this process exits.
		 */
		unsigned int saved_timeout = inj->timeout_ms;

		inj->timeout_ms = 200;
		if (injector__wait_stop(inj, th, NULL) && !th->stopped) {
			inj->timeout_ms = saved_timeout;
			return;
		}
		inj->timeout_ms = saved_timeout;
	}
	if (th->dirty) {
		/*
		 * We ran code on this thread, so the kernel's own restart logic no longer sees
		 * the interrupted call: redo it by hand, then tell the kernel it is not in one.
		 */
		injector__restart_fixup(&regs);
		ptrace(PTRACE_SETREGS, th->tid, 0, &regs);
	}
	if (inj->borrowed)
		give_back(th);
	else
		ptrace(PTRACE_DETACH, th->tid, 0, (void *)(long)th->pending_sig);
	th->stopped = false;
}
