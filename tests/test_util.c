// SPDX-License-Identifier: MIT
/* Helpers shared by the process-level tests (test_util.h). */
#include "test_util.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
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
