// SPDX-License-Identifier: MIT
/*
 * The seccomp evaluator (injector/seccomp.c) against the kernel: random classic-BPF filters
 * (every instruction class seccomp accepts, branches, scratch memory) are installed in a child
 * and run by the kernel on a system call, and by our evaluator on the same seccomp_data; the
 * filters return SECCOMP_RET_ERRNO with the value they computed, so every bit is compared.
 */
#include <check.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "injector/injector_internal.h"

#define BODY	  24
#define MAX_PROG  (3 + BPF_MEMWORDS + BODY + 3)
#define NR_INPUTS 4

struct gen {
	struct sock_filter insns[MAX_PROG];
	unsigned int len;
};

static void put(struct gen *g, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	g->insns[g->len++] = (struct sock_filter){ code, jt, jf, k };
}

static uint32_t rnd32(void)
{
	/* Small values, all-ones and random bits: comparisons must sometimes be true. */
	switch (random() % 4) {
	case 0:
		return (uint32_t)(random() % 8);
	case 1:
		return ~(uint32_t)(random() % 4);
	default:
		return (uint32_t)random() ^ ((uint32_t)random() << 16);
	}
}

/* A filter: getppid gets SECCOMP_RET_ERRNO | (computed & 0xfff), everything else is allowed. */
static void generate(struct gen *g)
{
	static const uint16_t alu_k[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,
					  BPF_AND, BPF_XOR, BPF_LSH, BPF_RSH, BPF_NEG };
	static const uint16_t alu_x[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_OR, BPF_AND, BPF_XOR };
	static const uint16_t jmps[] = { BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET };
	unsigned int body_start;

	g->len = 0;
	put(g, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
	put(g, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, __NR_getppid);
	put(g, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
	/* The kernel refuses a load from scratch memory no store reached: fill it first. */
	for (unsigned int i = 0; i < BPF_MEMWORDS; i++)
		put(g, BPF_ST, 0, 0, i);
	body_start = g->len;
	while (g->len < body_start + BODY) {
		unsigned int left = body_start + BODY - g->len - 1;
		uint16_t op;
		uint32_t k;

		switch (random() % 8) {
		case 0: /* nr, arch, the low or high word of an argument */
			k = random() % 2 ? (uint32_t)(random() % 2) * 4
					 : (uint32_t)offsetof(struct seccomp_data, args) +
						   (uint32_t)(random() % 12) * 4;
			put(g, BPF_LD | BPF_W | BPF_ABS, 0, 0, k);
			break;
		case 1:
			put(g, (random() % 2 ? BPF_LD : BPF_LDX) | BPF_IMM, 0, 0, rnd32());
			break;
		case 2:
			put(g, (random() % 2 ? BPF_LD : BPF_LDX) | BPF_MEM, 0, 0,
			    (uint32_t)(random() % BPF_MEMWORDS));
			put(g, random() % 2 ? BPF_ST : BPF_STX, 0, 0,
			    (uint32_t)(random() % BPF_MEMWORDS));
			break;
		case 3:
			op = alu_k[random() % (sizeof(alu_k) / sizeof(alu_k[0]))];
			k = rnd32();
			if (op == BPF_LSH || op == BPF_RSH)
				k %= 32;
			if (op == BPF_DIV && !k)
				k = 3;
			put(g, BPF_ALU | op | BPF_K, 0, 0, op == BPF_NEG ? 0 : k);
			break;
		case 4:
			op = alu_x[random() % (sizeof(alu_x) / sizeof(alu_x[0]))];
			put(g, BPF_ALU | op | BPF_X, 0, 0, 0);
			break;
		case 5:
			put(g, BPF_MISC | (random() % 2 ? BPF_TAX : BPF_TXA), 0, 0, 0);
			break;
		case 6:
			put(g, BPF_LDX | BPF_W | BPF_LEN, 0, 0, 0);
			break;
		default: /* forward, within the body or to its end */
			op = jmps[random() % 4];
			if (random() % 3 == 0) {
				put(g, BPF_JMP | BPF_JA, 0, 0, (uint32_t)(random() % (left + 1)));
				break;
			}
			put(g, BPF_JMP | op | (random() % 2 ? BPF_X : BPF_K),
			    (uint8_t)(random() % (left + 1)), (uint8_t)(random() % (left + 1)),
			    rnd32());
			break;
		}
	}
	g->len = body_start + BODY; /* a case 2 pair may have run one over: the last store */
	put(g, BPF_ALU | BPF_AND | BPF_K, 0, 0, 0xfff);
	put(g, BPF_ALU | BPF_OR | BPF_K, 0, 0, SECCOMP_RET_ERRNO);
	put(g, BPF_RET | BPF_A, 0, 0, 0);
}

/* What the kernel answered getppid with under @g, for each input: the errno. */
static void kernel_run(const struct gen *g, const uint64_t in[NR_INPUTS][6], long out[NR_INPUTS])
{
	struct sock_fprog prog = { .len = (unsigned short)g->len,
				   .filter = (struct sock_filter *)g->insns };
	int fds[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	if (pid < 0)
		ck_abort_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		long res[NR_INPUTS];

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
			_exit(2);
		}
		for (int i = 0; i < NR_INPUTS; i++) {
			long r = syscall(__NR_getppid, in[i][0], in[i][1], in[i][2], in[i][3],
					 in[i][4], in[i][5]);

			res[i] = r == -1 ? errno : r; /* errno 0 comes back as a return of 0 */
		}
		_exit(write(fds[1], res, sizeof(res)) == sizeof(res) ? 0 : 3);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], out, sizeof(long) * NR_INPUTS),
			 (ssize_t)(sizeof(long) * NR_INPUTS));
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && !WEXITSTATUS(status), "child status %#x", status);
}

START_TEST(evaluator_agrees_with_the_kernel)
{
	uint64_t in[NR_INPUTS][6];
	long kernel[NR_INPUTS];
	struct gen g;

	srandom(12345);
	for (int n = 0; n < 150; n++) {
		generate(&g);
		for (int i = 0; i < NR_INPUTS; i++) {
			for (int a = 0; a < 6; a++)
				in[i][a] = (uint64_t)rnd32() << 32 | rnd32();
		}
		kernel_run(&g, in, kernel);
		for (int i = 0; i < NR_INPUTS; i++) {
			struct seccomp_data d = { .nr = __NR_getppid, .arch = AUDIT_ARCH_X86_64 };
			uint32_t ret;

			for (int a = 0; a < 6; a++)
				d.args[a] = in[i][a];
			ret = injector__cbpf_run(g.insns, g.len, &d);
			ck_assert_uint_eq(ret & SECCOMP_RET_ACTION_FULL, SECCOMP_RET_ERRNO);
			ck_assert_msg((long)(ret & SECCOMP_RET_DATA) == kernel[i],
				      "program %d input %d: evaluator %u, kernel %ld", n, i,
				      ret & SECCOMP_RET_DATA, kernel[i]);
		}
	}
}
END_TEST

/*
 * Filters read from a live process (PTRACE_SECCOMP_GET_FILTER, newest first) and the kernel's
 * order across them: the most restrictive action wins, KILL_PROCESS above all, whatever the
 * order they were installed in.
 */
static void install_one(uint32_t nr, uint32_t action)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		_exit(2);
}

START_TEST(most_restrictive_action_wins)
{
	struct seccomp_data d = { .arch = AUDIT_ARCH_X86_64 };
	struct injector_seccomp *sc;
	int status;
	pid_t pid;

	/* No filter here: everything allowed. */
	ck_assert_int_eq(injector__seccomp_load(getpid(), getpid(), &sc), 0);
	d.nr = __NR_socket;
	ck_assert_uint_eq(injector__seccomp_eval(sc, &d), SECCOMP_RET_ALLOW);
	injector__seccomp_free(sc);

	pid = fork();
	if (pid < 0)
		ck_abort_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			_exit(2);
		install_one(__NR_socket, SECCOMP_RET_ERRNO | 5);
		install_one(__NR_socket, SECCOMP_RET_TRAP);
		install_one(__NR_socket, SECCOMP_RET_LOG);
		install_one(__NR_mmap, SECCOMP_RET_KILL_PROCESS);
		install_one(__NR_mmap, SECCOMP_RET_ERRNO | 1);
		install_one(__NR_openat, SECCOMP_RET_TRACE);
		install_one(__NR_openat, SECCOMP_RET_ERRNO | 9);
		for (;;)
			pause();
	}
	ck_assert_int_eq(ptrace(PTRACE_SEIZE, pid, 0, 0), 0);
	/* Until all seven are in: Seccomp_filters in its status. */
	for (int i = 0; i < 5000; i++) {
		char path[64], line[128];
		int n = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/status", pid);
		f = fopen(path, "r");
		ck_assert_ptr_nonnull(f);
		while (fgets(line, sizeof(line), f) && sscanf(line, "Seccomp_filters: %d", &n) != 1)
			;
		fclose(f);
		if (n == 7)
			break;
		usleep(1000);
	}
	ck_assert_int_eq(ptrace(PTRACE_INTERRUPT, pid, 0, 0), 0);
	ck_assert_int_eq(waitpid(pid, &status, __WALL), pid);
	ck_assert_int_eq(injector__seccomp_load(pid, pid, &sc), 0);
	ck_assert_int_eq(injector__seccomp_read_err(sc), 0);
	d.nr = __NR_socket;
	ck_assert_uint_eq(injector__seccomp_eval(sc, &d), SECCOMP_RET_TRAP);
	d.nr = __NR_mmap;
	ck_assert_uint_eq(injector__seccomp_eval(sc, &d), SECCOMP_RET_KILL_PROCESS);
	d.nr = __NR_openat;
	ck_assert_uint_eq(injector__seccomp_eval(sc, &d), SECCOMP_RET_ERRNO | 9);
	d.nr = __NR_getpid;
	ck_assert_uint_eq(injector__seccomp_eval(sc, &d), SECCOMP_RET_ALLOW);
	injector__seccomp_free(sc);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, __WALL);
	ck_assert_str_eq(injector__seccomp_action_str(SECCOMP_RET_KILL_PROCESS),
			 "kill the process (SECCOMP_RET_KILL_PROCESS)");
}
END_TEST

Suite *seccomp_suite(void);
Suite *seccomp_suite(void)
{
	Suite *s = suite_create("seccomp");
	TCase *tc = tcase_create("eval");

	tcase_add_test(tc, evaluator_agrees_with_the_kernel);
	tcase_add_test(tc, most_restrictive_action_wins);
	suite_add_tcase(s, tc);
	return s;
}
