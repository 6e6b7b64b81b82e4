// SPDX-License-Identifier: MIT
/*
 * The demo's "service": a worker pool that handles requests of varying sizes, allocating
 * buffers for each and taking a variable time, forever. It prints one line per second so
 * that the demo can show it kept running through attach and detach.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_long handled;

/* One request: parse, allocate, work. Probed by the demo for its latency. */
__attribute__((noinline)) long handle_request(long size);
__attribute__((noinline)) long handle_request(long size)
{
	char *buf = malloc((size_t)size);
	struct timespec work = { 0, 20000 + (size % 7) * 30000 };
	long sum = 0;

	if (!buf)
		return -1;
	memset(buf, (int)(size & 0xff), (size_t)size);
	for (long i = 0; i < size; i += 64)
		sum += buf[i];
	nanosleep(&work, NULL);
	free(buf);
	atomic_fetch_add(&handled, 1);
	return sum;
}

static void *worker(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	for (;;) {
		/* Mostly small requests, a few large ones: a histogram worth looking at. */
		long size = 16L << (rand_r(&seed) % 8);

		if (rand_r(&seed) % 50 == 0)
			size = 65536 + rand_r(&seed) % 65536;
		handle_request(size);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int workers = argc > 1 ? atoi(argv[1]) : 3;

	for (int i = 0; i < workers; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, worker, (void *)(uintptr_t)(i + 1)))
			return 1;
	}
	for (;;) {
		sleep(1);
		printf("demo_service[%d]: %ld requests handled\n", (int)getpid(),
		       atomic_load(&handled));
		fflush(stdout);
	}
}
