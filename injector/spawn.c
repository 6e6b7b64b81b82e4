// SPDX-License-Identifier: MIT
/*
 * `bpfinject OBJ -- CMD ARGS`: start CMD held at the first instruction of its main(), so
 * probes are in place before any of its own code runs. The child stops itself before exec;
 * we seize it, let it exec, then run it to a one-shot breakpoint on main (or, for binaries
 * without a symbol table, to __libc_start_main in libc, whose first argument is main).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "injector_internal.h"

static int wait_stop(pid_t pid, int *status)
{
	for (;;) {
		if (waitpid(pid, status, __WALL) == pid)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* Runs the child until an exec event, forwarding whatever else stops it. */
static int run_to_exec(pid_t pid, struct bpfi_log *log)
{
	int status, sig;

	for (;;) {
		if (wait_stop(pid, &status))
			return bpfi_log_err(log, -ECHILD, "lost the child %d", pid);
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return bpfi_log_err(log, -ESRCH, "the command exited before it started");
		if ((status >> 8) == (SIGTRAP | (PTRACE_EVENT_EXEC << 8)))
			return 0;
		sig = WSTOPSIG(status);
		/* Group-stop (the child's own SIGSTOP) and SIGCONT: just let it go on. */
		if ((status >> 16) == PTRACE_EVENT_STOP || sig == SIGSTOP || sig == SIGCONT)
			sig = 0;
		ptrace(PTRACE_CONT, pid, 0, (void *)(long)sig);
	}
}

/* Plants int3 at @addr, runs there, and puts the byte back with rip = @addr. */
static int run_to(struct bpfi_injector *inj, uint64_t addr, struct user_regs_struct *regs,
		  struct bpfi_log *log)
{
	uint8_t orig, trap = 0xcc;
	int status, err, sig;

	err = bpfi_injector_read(inj, addr, &orig, 1, log);
	if (!err)
		err = bpfi_injector_write(inj, addr, &trap, 1, log);
	if (err)
		return err;
	ptrace(PTRACE_CONT, inj->pid, 0, 0);
	for (;;) {
		if (wait_stop(inj->pid, &status))
			return bpfi_log_err(log, -ECHILD, "lost the child %d", inj->pid);
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return bpfi_log_err(log, -ESRCH, "the command exited before reaching main");
		sig = WSTOPSIG(status);
		if (sig == SIGTRAP && !ptrace(PTRACE_GETREGS, inj->pid, 0, regs) &&
		    regs->rip == addr + 1)
			break;
		ptrace(PTRACE_CONT, inj->pid, 0, (void *)(long)(sig == SIGTRAP ? 0 : sig));
	}
	regs->rip = addr;
	if (ptrace(PTRACE_SETREGS, inj->pid, 0, regs))
		return bpfi_log_err(log, -errno, "PTRACE_SETREGS: %s", strerror(errno));
	return bpfi_injector_write(inj, addr, &orig, 1, log);
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

/* Where main is: its symbol, or what the C library's start routine is handed. */
static int find_main(struct bpfi_injector *inj, uint64_t *ret_main, struct bpfi_log *log)
{
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
	if (!bpfi_elf_find_function(exe, "main", &off, NULL, NULL))
		return bpfi_proc_offset_to_addr(inj->pid, exe, off, ret_main, log);
	/* Stripped: run to the entry point (ld.so has mapped libc by then), then on to
	 * __libc_start_main, whose first argument is main. */
	err = entry_point(inj->pid, &addr);
	if (!err)
		err = run_to(inj, addr, &regs, log);
	if (err)
		return err == -ENOENT ? bpfi_log_err(log, err, "%s: no entry point", exe) : err;
	if (bpfi_proc_find_module(inj->pid, "libc.so", libc, sizeof(libc), NULL))
		return bpfi_log_err(log, -ENOENT, "%s: no symbol 'main' and no libc to find it",
				    exe);
	err = bpfi_elf_find_function(libc, "__libc_start_main", &off, NULL, log);
	if (!err)
		err = bpfi_proc_offset_to_addr(inj->pid, libc, off, &addr, log);
	if (!err)
		err = run_to(inj, addr, &regs, log);
	if (err)
		return err;
	*ret_main = regs.rdi;
	return 0;
}

int bpfi_injector_spawn(char *const argv[], struct bpfi_injector **ret_inj, struct bpfi_log *log)
{
	struct user_regs_struct regs;
	struct bpfi_injector *inj;
	uint64_t main_addr = 0;
	char path[64];
	int status, err;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return bpfi_log_err(log, -errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		raise(SIGSTOP);
		execvp(argv[0], argv);
		fprintf(stderr, "bpfinject: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status))
		return bpfi_log_err(log, -ECHILD, "the child %d did not start", pid);
	if (ptrace(PTRACE_SEIZE, pid, 0,
		   (void *)(long)(PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD))) {
		err = -errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return bpfi_log_err(log, err, "PTRACE_SEIZE of the child: %s", strerror(-err));
	}
	kill(pid, SIGCONT);
	inj = calloc(1, sizeof(*inj));
	if (inj)
		inj->threads = calloc(1, sizeof(*inj->threads));
	if (!inj || !inj->threads) {
		err = -ENOMEM;
		goto fail;
	}
	inj->pid = pid;
	inj->mem_fd = -1;
	inj->timeout_ms = 2000;
	inj->nr_threads = inj->cap_threads = 1;
	inj->threads[0].tid = pid;
	inj->threads[0].stopped = true;
	err = run_to_exec(pid, log);
	if (!err) {
		snprintf(path, sizeof(path), "/proc/%d/mem", pid);
		inj->mem_fd = open(path, O_RDWR | O_CLOEXEC);
		if (inj->mem_fd < 0)
			err = bpfi_log_err(log, -errno, "%s: %s", path, strerror(errno));
	}
	if (!err)
		err = find_main(inj, &main_addr, log);
	if (!err)
		err = run_to(inj, main_addr, &regs, log);
	if (err)
		goto fail;
	inj->threads[0].saved = regs;
	*ret_inj = inj;
	return 0;
fail:
	kill(pid, SIGKILL);
	waitpid(pid, NULL, __WALL);
	if (inj) {
		if (inj->mem_fd >= 0)
			close(inj->mem_fd);
		free(inj->threads);
	}
	free(inj);
	return err;
}
