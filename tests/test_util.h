/* SPDX-License-Identifier: MIT */
/*
 * Small helpers the process-level tests share: children on pipes, lines from them, a
 * process's memory, and code pages of this test process patched in place. They assert with
 * Check on failure.
 */
#ifndef BPFI_TESTS_TEST_UTIL_H
#define BPFI_TESTS_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One line (with its '\n') from @fd within @timeout_ms: 0, -ETIMEDOUT or -EIO. */
int test_read_line(int fd, char *buf, size_t size, int timeout_ms);

/* @len bytes at @addr in process @pid, through /proc/PID/mem. */
void test_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len);

/* A fresh read-write page range within a few MiB below @addr (rel32 reach of it). */
uint8_t *test_map_near(uintptr_t addr, size_t len);

/* Writes @n bytes over this process's code at @at (made writable for the moment). */
void test_patch_text(uintptr_t at, const void *bytes, size_t n);

/* A child whose stdin (@to), stdout (@out) and stderr (@err) are pipes of ours. */
struct test_proc {
	pid_t pid;
	int to, out, err;
};

/* Starts @argv[0] with @argv. Our ends are close-on-exec: only fds 0-2 reach the child (a
 * descendant that outlives it must not keep our pipes open). */
void test_spawn(struct test_proc *p, char *const argv[]);
/* Everything left on @fd until EOF, NUL-terminated (free it). */
char *test_read_all(int fd);
/* Closes its stdin (unless @p->to is -1), collects its output, reaps it: the exit code, or
 * 128 + the signal that killed it. */
int test_finish(struct test_proc *p, char **ret_out, char **ret_err);

/* bpfinject's --json map dump: global @name of a datasec (-1 if absent), and counters[@key]
 * of the "counters" map (tests/bpf/e2e_count.bpf.c; a failed check if absent). */
long test_json_global(const char *json, const char *name);
long test_json_counter(const char *json, int key);

#endif
