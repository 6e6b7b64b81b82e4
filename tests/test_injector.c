// SPDX-License-Identifier: MIT
/*
 * The ptrace session against real processes (tests/fixtures/target_threads): attach to every
 * thread, remote system calls, memory access, detach leaving the target exactly as it was,
 * and every attach error with its message.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpfinject/injector.h>

struct target {
	pid_t pid;
	int to; /* its stdin */
	int from; /* its stdout */
};

static int read_line(int fd, char *buf, size_t size, int timeout_ms)
{
	size_t len = 0;

	while (len + 1 < size) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		if (read(fd, buf + len, 1) != 1)
			return -EIO;
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = '\0';
	return 0;
}

static void target_start(struct target *t, int nthreads)
{
	char path[1024], arg[16], line[64];
	int in[2], out[2];

	snprintf(path, sizeof(path), "%s/tests/fixtures/target_threads", getenv("BPFI_BUILD_DIR"));
	snprintf(arg, sizeof(arg), "%d", nthreads);
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	t->pid = fork();
	ck_assert_int_ge(t->pid, 0);
	if (t->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(path, path, arg, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t->to = in[1];
	t->from = out[0];
	ck_assert_int_eq(read_line(t->from, line, sizeof(line), 5000), 0);
	ck_assert_msg(strncmp(line, "ready", 5) == 0, "fixture said: %s", line);
}

/* Asks the target how it is doing: it must answer, and have seen no EINTR. */
static long target_check_alive(struct target *t)
{
	char line[128];
	long ticks = -1, eintr = -1;

	ck_assert_int_eq(write(t->to, "p", 1), 1);
	ck_assert_int_eq(read_line(t->from, line, sizeof(line), 5000), 0);
	ck_assert_int_eq(sscanf(line, "alive %ld eintr %ld", &ticks, &eintr), 2);
	ck_assert_msg(eintr == 0, "the target saw %ld EINTR", eintr);
	return ticks;
}

static void target_stop(struct target *t)
{
	int status;

	ck_assert_int_eq(write(t->to, "q", 1), 1);
	ck_assert_int_eq(waitpid(t->pid, &status, 0), t->pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "target status %#x", status);
	close(t->to);
	close(t->from);
}

START_TEST(attach_detach_leaves_target_running)
{
	struct bpfi_injector *inj = NULL;
	char buf[256];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct target t;
	long before;

	target_start(&t, 7);
	before = target_check_alive(&t);
	ck_assert_int_eq(bpfi_injector_attach(t.pid, NULL, &inj, &log), 0);
	ck_assert_uint_eq(bpfi_injector_nr_threads(inj), 8);
	bpfi_injector_detach(inj);
	usleep(20000);
	ck_assert_int_gt(target_check_alive(&t), before);
	target_stop(&t);
}
END_TEST

START_TEST(remote_syscalls_and_memory)
{
	struct bpfi_injector *inj = NULL;
	char buf[256], pattern[64], back[64];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	long args[6] = { 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0 };
	long ret, addr;
	struct target t;

	target_start(&t, 3);
	ck_assert_int_eq(bpfi_injector_attach(t.pid, NULL, &inj, &log), 0);
	ck_assert_int_eq(bpfi_injector_syscall(inj, SYS_getpid, NULL, 0, &ret, &log), 0);
	ck_assert_int_eq(ret, t.pid);
	ck_assert_int_eq(bpfi_injector_syscall(inj, SYS_mmap, args, 6, &addr, &log), 0);
	ck_assert_msg(addr > 0 && (unsigned long)addr < -4096UL, "mmap in target: %ld", addr);
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (char)(i * 7 + 1);
	ck_assert_int_eq(bpfi_injector_write(inj, (uint64_t)addr, pattern, sizeof(pattern), &log),
			 0);
	ck_assert_int_eq(bpfi_injector_read(inj, (uint64_t)addr, back, sizeof(back), &log), 0);
	ck_assert_mem_eq(pattern, back, sizeof(pattern));
	args[0] = addr;
	ck_assert_int_eq(bpfi_injector_syscall(inj, SYS_munmap, args, 2, &ret, &log), 0);
	ck_assert_int_eq(ret, 0);
	/* A failing call inside the target comes back as its -errno, not as our failure. */
	args[0] = -1;
	ck_assert_int_eq(bpfi_injector_syscall(inj, SYS_close, args, 1, &ret, &log), 0);
	ck_assert_int_eq(ret, -EBADF);
	bpfi_injector_detach(inj);
	target_check_alive(&t);
	target_stop(&t);
}
END_TEST

START_TEST(attach_cycles)
{
	char buf[256];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct target t;
	long ret;

	target_start(&t, 7);
	for (int i = 0; i < 100; i++) {
		struct bpfi_injector *inj = NULL;

		ck_assert_int_eq(bpfi_injector_attach(t.pid, NULL, &inj, &log), 0);
		ck_assert_int_eq(bpfi_injector_syscall(inj, SYS_getpid, NULL, 0, &ret, &log), 0);
		ck_assert_int_eq(ret, t.pid);
		bpfi_injector_detach(inj);
	}
	target_check_alive(&t);
	target_stop(&t);
}
END_TEST

START_TEST(no_such_process)
{
	struct bpfi_injector *inj = NULL;
	char buf[256];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid); /* reaped: the pid names nothing now */
	ck_assert_int_eq(bpfi_injector_attach(pid, NULL, &inj, &log), -ESRCH);
	ck_assert_msg(strstr(buf, "no such process"), "log: %s", buf);
	ck_assert_ptr_null(inj);
}
END_TEST

START_TEST(already_traced)
{
	struct bpfi_injector *first = NULL, *second = NULL;
	char buf[256], expect[64];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct target t;

	target_start(&t, 1);
	ck_assert_int_eq(bpfi_injector_attach(t.pid, NULL, &first, &log), 0);
	ck_assert_int_eq(bpfi_injector_attach(t.pid, NULL, &second, &log), -EPERM);
	snprintf(expect, sizeof(expect), "already traced by process %d", (int)getpid());
	ck_assert_msg(strstr(buf, expect), "log: %s", buf);
	bpfi_injector_detach(first);
	target_check_alive(&t);
	target_stop(&t);
}
END_TEST

START_TEST(stopped_process_refused)
{
	struct bpfi_injector *inj = NULL;
	char buf[256];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct target t;
	int status;

	target_start(&t, 1);
	kill(t.pid, SIGSTOP);
	ck_assert_int_eq(waitpid(t.pid, &status, WUNTRACED), t.pid);
	ck_assert_int_eq(bpfi_injector_attach(t.pid, NULL, &inj, &log), -EAGAIN);
	ck_assert_msg(strstr(buf, "is stopped"), "log: %s", buf);
	kill(t.pid, SIGCONT);
	target_check_alive(&t);
	target_stop(&t);
}
END_TEST

Suite *injector_suite(void);
Suite *injector_suite(void)
{
	Suite *s = suite_create("injector");
	TCase *tc = tcase_create("session");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, attach_detach_leaves_target_running);
	tcase_add_test(tc, remote_syscalls_and_memory);
	tcase_add_test(tc, attach_cycles);
	tcase_add_test(tc, no_such_process);
	tcase_add_test(tc, already_traced);
	tcase_add_test(tc, stopped_process_refused);
	suite_add_tcase(s, tc);
	return s;
}
