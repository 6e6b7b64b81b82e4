// SPDX-License-Identifier: MIT
/* Helpers shared by the process-level tests (test_util.h). */
#include "test_util.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int test_read_line(int fd, char *buf, size_t size, int timeout_ms)
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

void test_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)addr), (ssize_t)len);
	close(fd);
}

uint8_t *test_map_near(uintptr_t addr, size_t len)
{
	uint8_t *p = MAP_FAILED;

	for (uintptr_t hint = (addr & ~(uintptr_t)4095) - (8u << 20); p == MAP_FAILED;
	     hint -= (1u << 20))
		p = mmap((void *)hint, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	return p;
}

void test_patch_text(uintptr_t at, const void *bytes, size_t n)
{
	uintptr_t page = at & ~(uintptr_t)4095;

	ck_assert_int_eq(mprotect((void *)page, 8192, PROT_READ | PROT_WRITE | PROT_EXEC), 0);
	memcpy((void *)at, bytes, n);
	ck_assert_int_eq(mprotect((void *)page, 8192, PROT_READ | PROT_EXEC), 0);
}

void test_spawn(struct test_proc *p, char *const argv[])
{
	int in[2], out[2], err[2];

	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	p->pid = fork();
	if (p->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	p->to = in[1];
	p->out = out[0];
	p->err = err[0];
}

char *test_read_all(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;

	while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2)
			buf = realloc(buf, cap *= 2);
	}
	ck_assert_ptr_nonnull(buf);
	buf[len] = '\0';
	return buf;
}

int test_finish(struct test_proc *p, char **ret_out, char **ret_err)
{
	int status;

	if (p->to >= 0)
		close(p->to);
	*ret_out = test_read_all(p->out);
	*ret_err = test_read_all(p->err);
	ck_assert_int_eq(waitpid(p->pid, &status, 0), p->pid);
	close(p->out);
	close(p->err);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

long test_json_global(const char *json, const char *name)
{
	char pat[64];
	const char *at;

	snprintf(pat, sizeof(pat), "{\"%s\":", name);
	at = strstr(json, pat);
	return at ? strtol(at + strlen(pat), NULL, 10) : -1;
}

long test_json_counter(const char *json, int key)
{
	const char *m = strstr(json, "\"name\":\"counters\"");
	char pat[64];
	const char *at;

	ck_assert_msg(m != NULL, "no counters map in: %s", json);
	snprintf(pat, sizeof(pat), "{\"key\":%d,\"value\":", key);
	at = strstr(m, pat);
	ck_assert_msg(at != NULL, "no key %d in: %s", key, m);
	return strtol(at + strlen(pat), NULL, 10);
}
