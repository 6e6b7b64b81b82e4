// SPDX-License-Identifier: MIT
/*
 * The victim of the probe benchmark: calls bench_victim() in rounds of about 100 ms of CPU
 * time and prints the CPU time per call of each round ("ns_per_call X"), forever. CPU time of the
 * thread includes what the kernel spends on its behalf (uprobe traps), so kernel and
 * in-process probes are measured the same way.
 */
#include <stdio.h>
#include <stdlib.h>
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

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(void)
{
	for (;;) {
		double t0 = cpu_ns(), t;
		long n = 0;

		do {
			for (long i = 0; i < BATCH; i++)
				bench_victim(i);
			n += BATCH;
			t = cpu_ns() - t0;
		} while (t < ROUND_NS);
		printf("ns_per_call %.2f\n", t / (double)n);
		fflush(stdout);
	}
}
