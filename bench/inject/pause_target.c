// SPDX-License-Identifier: MIT
/*
 * The target of the injection-pause benchmark: one busy thread that records the longest gap
 * it sees between two consecutive clock reads (how long it was held), N-1 threads parked in
 * the calls services park in, and a probed function the busy thread calls. Commands on stdin:
 * 'r' resets the longest gap, 'p' prints "stall_ns <max> calls <n>", 'q' exits.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static atomic_long max_gap, calls;

__attribute__((noipa)) long bench_victim(long x);
__attribute__((noipa)) long bench_victim(long x)
{
	static volatile long sink;

	sink += x;
	return x + 1;
}

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void *busy(void *arg)
{
	long last = now_ns();

	for (long i = 0;; i++) {
		long t = now_ns(), gap = t - last;

		if (gap > atomic_load_explicit(&max_gap, memory_order_relaxed))
			atomic_store(&max_gap, gap);
		last = t;
		bench_victim(i);
		atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
	}
	return arg;
}

static void *parked(void *arg)
{
	for (;;)
		sleep(100);
	return arg;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 7;
	pthread_t t;
	char c;

	if (pthread_create(&t, NULL, busy, NULL))
		return 1;
	for (int i = 2; i < n; i++) {
		if (pthread_create(&t, NULL, parked, NULL))
			return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (read(0, &c, 1) == 1) {
		if (c == 'q')
			return 0;
		if (c == 'r')
			atomic_store(&max_gap, 0);
		if (c == 'p') {
			printf("stall_ns %ld calls %ld\n", atomic_load(&max_gap),
			       atomic_load(&calls));
			fflush(stdout);
		}
	}
	return 0;
}
