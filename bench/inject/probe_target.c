// SPDX-License-Identifier: MIT
/*
 * The victim of the probe benchmark: calls bench_victim() (or, with "fp", bench_victim_fp())
 * in rounds of about 100 ms of CPU time and prints the CPU time per call of each round
 * ("ns_per_call X"), forever. CPU time of the thread includes what the kernel spends on its
 * behalf (uprobe traps), so kernel and in-process probes are measured the same way.
 *
 * The two differ only in their first instruction, which decides the kernel's path: gcc -O2
 * starts bench_victim with a RIP-relative load, which a kernel uprobe must single-step out of
 * line (its slow path); bench_victim_fp starts with `push %rbp`, which the kernel emulates
 * (its common case: most functions built with frame pointers begin so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUND_NS 100e6
#define BATCH	 4096

__attribute__((noipa)) long bench_victim(long x);
__attribute__((noipa)) long bench_victim(long x)
{
	static volatile long sink;

	sink += x;
	return x + 1;
}

/* The same body behind a frame-pointer prologue, in assembly: gcc keeps none in a leaf. */
__attribute__((visibility("hidden"))) volatile long bench_sink_fp;
long bench_victim_fp(long x);
__asm__(".text\n"
	".globl bench_victim_fp\n"
	".type bench_victim_fp, @function\n"
	"bench_victim_fp:\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	mov bench_sink_fp(%rip), %rax\n"
	"	add %rdi, %rax\n"
	"	mov %rax, bench_sink_fp(%rip)\n"
	"	lea 1(%rdi), %rax\n"
	"	pop %rbp\n"
	"	ret\n"
	".size bench_victim_fp, . - bench_victim_fp\n");

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long (*volatile victim)(long) =
		argc > 1 && !strcmp(argv[1], "fp") ? bench_victim_fp : bench_victim;

	for (;;) {
		double t0 = cpu_ns(), t;
		long n = 0;

		do {
			for (long i = 0; i < BATCH; i++)
				victim(i);
			n += BATCH;
			t = cpu_ns() - t0;
		} while (t < ROUND_NS);
		printf("ns_per_call %.2f\n", t / (double)n);
		fflush(stdout);
	}
}
