// SPDX-License-Identifier: MIT
/*
 * The ptrace session against real processes (tests/fixtures/target_threads): attach to every
 * thread, remote system calls, memory access, detach leaving the target exactly as it was,
 * and every attach error with its message.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
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

#include "test_util.h"

struct target {
	pid_t pid;
	int to; /* its stdin */
	int from; /* its stdout */
};

static void target_start(struct target *t, int nthreads)
{
	char path[1024], arg[16], line[64];
	int in[2], out[2];

	snprintf(path, sizeof(path), "%s/tests/fixtures/target_threads", getenv("BPFI_BUILD_DIR"));
	snprintf(arg, sizeof(arg), "%d", nthreads);
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	t->pid = fork();
	if (t->pid < 0)
		ck_abort_msg("fork: %s", strerror(errno));
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
	ck_assert_int_eq(test_read_line(t->from, line, sizeof(line), 5000), 0);
	ck_assert_msg(strncmp(line, "ready", 5) == 0, "fixture said: %s", line);
}

/* Asks the target how it is doing: it must answer, and have seen no EINTR. */
static long target_check_alive(struct target *t)
{
	char line[128];
	long ticks = -1, eintr = -1;

	ck_assert_int_eq(write(t->to, "p", 1), 1);
	ck_assert_int_eq(test_read_line(t->from, line, sizeof(line), 5000), 0);
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

/*
 * Another user's process: a child of ours that becomes `nobody` (as root; a non-root run has
 * no other user to be) is refused by the kernel, told in one line, and the target runs on.
 */
START_TEST(another_users_process_refused)
{
	struct target t;
	int status;
	pid_t pid;

	if (geteuid() != 0) {
		printf("injector: not root: cannot become another user, not tested\n");
		return;
	}
	target_start(&t, 1);
	pid = fork();
	if (pid == 0) {
		struct bpfi_injector *inj = NULL;
		char buf[256] = "";
		struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
		int err;

		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(2);
		err = bpfi_injector_attach(t.pid, NULL, &inj, &log);
		_exit(err == -EPERM && strstr(buf, "not permitted to trace") &&
				      strcspn(buf, "\n") + 1 >= strlen(buf)
			      ? 0
			      : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
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

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The permissions /proc/PID/maps shows for the mapping at @addr ("" if none). */
static void maps_perms(pid_t pid, uint64_t addr, char perms[8])
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	perms[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 && addr >= start &&
		    addr < end)
			break;
		perms[0] = '\0';
	}
	if (f)
		fclose(f);
}

START_TEST(shared_memory_through_passed_fd)
{
	const size_t size = 65536;
	struct bpfi_injector *inj = NULL;
	char buf[256], perms[8], msg[] = "written by the host", back[sizeof(msg)];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	int fd = memfd_create("bpfi-test", MFD_CLOEXEC), tfd = -1, fds_before;
	uint64_t addr = 0;
	long args[1], ret;
	struct target t;
	char *host;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(host, MAP_FAILED);
	target_start(&t, 3);
	fds_before = count_fds(t.pid);
	ck_assert_int_eq(bpfi_injector_attach(t.pid, NULL, &inj, &log), 0);
	ck_assert_msg(bpfi_injector_send_fd(inj, fd, &tfd, &log) == 0, "log: %s", buf);
	ck_assert_int_ge(tfd, 0);
	ck_assert_msg(
		bpfi_injector_map_fd(inj, tfd, size, PROT_READ | PROT_WRITE, 0, &addr, &log) == 0,
		"log: %s", buf);
	/* Host writes are seen at the target's address, and the other way round. */
	memcpy(host + 4096, msg, sizeof(msg));
	ck_assert_int_eq(bpfi_injector_read(inj, addr + 4096, back, sizeof(back), &log), 0);
	ck_assert_str_eq(back, msg);
	ck_assert_int_eq(bpfi_injector_write(inj, addr + 100, "target", 7, &log), 0);
	ck_assert_str_eq(host + 100, "target");
	args[0] = tfd;
	ck_assert_int_eq(bpfi_injector_syscall(inj, SYS_close, args, 1, &ret, &log), 0);
	ck_assert_int_eq(ret, 0);
	maps_perms(t.pid, addr, perms);
	ck_assert_str_eq(perms, "rw-s");
	bpfi_injector_detach(inj);
	/* No socket or fd left behind in the target; the mapping stays. */
	ck_assert_int_eq(count_fds(t.pid), fds_before);
	target_check_alive(&t);
	munmap(host, size);
	close(fd);
	target_stop(&t);
}
END_TEST

START_TEST(code_mapped_near_a_module)
{
	struct bpfi_injector *inj = NULL;
	char buf[256], perms[8], exe[512], line[600], path[64];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	int fd = memfd_create("bpfi-code", MFD_CLOEXEC), tfd = -1;
	unsigned long exe_start = 0;
	uint64_t addr = 0;
	struct target t;
	FILE *f;

	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	target_start(&t, 1);
	snprintf(path, sizeof(path), "/proc/%d/maps", t.pid);
	ck_assert_int_eq(bpfi_proc_find_module(t.pid, "target_threads", exe, sizeof(exe), &log), 0);
	f = fopen(path, "r");
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, exe) && sscanf(line, "%lx", &exe_start) == 1)
			break;
	}
	fclose(f);
	ck_assert_uint_gt(exe_start, 0);
	ck_assert_int_eq(bpfi_injector_attach(t.pid, NULL, &inj, &log), 0);
	ck_assert_int_eq(bpfi_injector_send_fd(inj, fd, &tfd, &log), 0);
	ck_assert_msg(bpfi_injector_map_fd(inj, tfd, 4096, PROT_READ | PROT_EXEC, exe_start, &addr,
					   &log) == 0,
		      "log: %s", buf);
	ck_assert_msg((addr > exe_start ? addr - exe_start : exe_start - addr) < (2ull << 30),
		      "mapped at %#llx, module at %#lx", (unsigned long long)addr, exe_start);
	maps_perms(t.pid, addr, perms);
	ck_assert_str_eq(perms, "r-xs");
	bpfi_injector_detach(inj);
	target_check_alive(&t);
	close(fd);
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
	tcase_add_test(tc, another_users_process_refused);
	tcase_add_test(tc, stopped_process_refused);
	tcase_add_test(tc, shared_memory_through_passed_fd);
	tcase_add_test(tc, code_mapped_near_a_module);
	suite_add_tcase(s, tc);
	return s;
}
