// SPDX-License-Identifier: MIT
/*
 * The shim (DESIGN.md D1, §3): preloaded into an unmodified tool (a libbpf-tools binary, a
 * libbpf skeleton program), it answers the tool's bpf(2) and perf_event_open(2), and the
 * ioctl, mmap, munmap, close and epoll calls on the fds they give, from runtime/ — what the
 * bpfinject command's wrapped libbpf does. What the tool attaches is injected into the
 * processes named by BPFINJECT_PIDS when the tool next waits (epoll_wait, poll, sleep, ...),
 * injected again when it attaches more, and taken out when the tool exits.
 *
 *   bpfinject run -p 1234 -- /usr/sbin/opensnoop -p 1234
 *   BPFINJECT_PIDS=1234 LD_PRELOAD=.../libbpfinject-shim.so /usr/sbin/opensnoop   (the same)
 *
 * Without BPFINJECT_PIDS the library passes every call through.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpfinject/runtime.h>

#include "shim_internal.h"

/* The tool's calls to these land here (everything else in the library is hidden). */
#define SHIM_EXPORT __attribute__((visibility("default")))

/* The libc functions we stand in front of, found once. */
static struct {
	long (*syscall)(long, long, long, long, long, long, long);
	int (*ioctl)(int, unsigned long, unsigned long);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
	int (*close)(int);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*epoll_wait)(int, struct epoll_event *, int, int);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*nanosleep)(const struct timespec *, struct timespec *);
	int (*clock_nanosleep)(clockid_t, int, const struct timespec *, struct timespec *);
	unsigned int (*sleep)(unsigned int);
	int (*usleep)(useconds_t);
	int (*pause)(void);
	int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	FILE *(*fopen)(const char *, const char *);
	int (*access)(const char *, int);
} real;

static void *next(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);

	if (!fn) {
		fprintf(stderr, "bpfinject-shim: no %s to stand in front of\n", name);
		abort();
	}
	return fn;
}

/* Also from the first interposed call: a library loaded before us may call one from its own
 * constructor, before ours has run. */
static void resolve(void)
{
	*(void **)&real.syscall = next("syscall");
	*(void **)&real.ioctl = next("ioctl");
	*(void **)&real.mmap = next("mmap");
	*(void **)&real.munmap = next("munmap");
	*(void **)&real.close = next("close");
	*(void **)&real.epoll_ctl = next("epoll_ctl");
	*(void **)&real.epoll_wait = next("epoll_wait");
	*(void **)&real.poll = next("poll");
	*(void **)&real.nanosleep = next("nanosleep");
	*(void **)&real.clock_nanosleep = next("clock_nanosleep");
	*(void **)&real.sleep = next("sleep");
	*(void **)&real.usleep = next("usleep");
	*(void **)&real.pause = next("pause");
	*(void **)&real.select = next("select");
	*(void **)&real.fopen = next("fopen");
	*(void **)&real.access = next("access");
}

static inline void ensure(void)
{
	if (__builtin_expect(!real.access, 0))
		resolve();
}

__attribute__((constructor)) static void shim_load(void)
{
	ensure();
	shim__start();
}

__attribute__((destructor)) static void shim_unload(void)
{
	shim__stop();
}

/* -errno (the raw system call convention) to libc's -1 and errno. */
static long to_libc(long ret)
{
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

/* syscall(2) is variadic: read six argument registers whatever the call passed, as glibc's. */
SHIM_EXPORT long syscall(long nr, ...)
{
	long a[6];
	va_list ap;

	ensure();
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_bpf && shim__runtime())
		return to_libc(bpfi_runtime_bpf((int)a[0], (void *)a[1], (unsigned int)a[2]));
	if (nr == SYS_perf_event_open && shim__runtime())
		return to_libc(bpfi_runtime_perf_event_open((void *)a[0], (pid_t)a[1], (int)a[2],
							    (int)a[3], (unsigned long)a[4]));
	return real.syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

SHIM_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	unsigned long arg;
	va_list ap;

	ensure();
	va_start(ap, request);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (bpfi_runtime_active() && bpfi_runtime_owns_fd(fd))
		return (int)to_libc(bpfi_runtime_ioctl(fd, request, arg));
	return real.ioctl(fd, request, arg);
}

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	bool handled = false;
	void *p = bpfi_runtime_active()
			  ? bpfi_runtime_mmap(addr, len, prot, flags, fd, off, &handled)
			  : NULL;

	ensure();
	if (!handled)
		return real.mmap(addr, len, prot, flags, fd, off);
	if ((unsigned long)p > -4096UL) {
		errno = (int)-(long)p;
		return MAP_FAILED;
	}
	return p;
}

/* Where glibc has both names for one function (64-bit off_t everywhere on x86-64). */
SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((alias("mmap")));

SHIM_EXPORT int munmap(void *addr, size_t len)
{
	bool handled = false;
	int err = bpfi_runtime_active() ? bpfi_runtime_munmap(addr, len, &handled) : 0;

	ensure();
	return handled ? (int)to_libc(err) : real.munmap(addr, len);
}

SHIM_EXPORT int close(int fd)
{
	bool handled = false;
	int err = bpfi_runtime_active() ? bpfi_runtime_close(fd, &handled) : 0;

	ensure();
	return handled ? (int)to_libc(err) : real.close(fd);
}

SHIM_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
	bool handled = false;
	int err = bpfi_runtime_active() ? bpfi_runtime_epoll_ctl(epfd, op, fd, event, &handled) : 0;

	ensure();
	return handled ? (int)to_libc(err) : real.epoll_ctl(epfd, op, fd, event);
}

/* The tool waits: the moment to bring the targets up to date with what it attached. */
SHIM_EXPORT int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	ensure();
	if (!bpfi_runtime_active())
		return real.epoll_wait(epfd, events, maxevents, timeout);
	shim__sync();
	return (int)to_libc(bpfi_runtime_epoll_wait(epfd, events, maxevents, timeout));
}

SHIM_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	ensure();
	shim__sync();
	return real.poll(fds, n, timeout);
}

SHIM_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	ensure();
	shim__sync();
	return real.nanosleep(req, rem);
}

SHIM_EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
				struct timespec *rem)
{
	ensure();
	shim__sync();
	return real.clock_nanosleep(clock, flags, req, rem);
}

SHIM_EXPORT unsigned int sleep(unsigned int seconds)
{
	ensure();
	shim__sync();
	return real.sleep(seconds);
}

SHIM_EXPORT int usleep(useconds_t us)
{
	ensure();
	shim__sync();
	return real.usleep(us);
}

SHIM_EXPORT int pause(void)
{
	ensure();
	shim__sync();
	return real.pause();
}

SHIM_EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *timeout)
{
	ensure();
	shim__sync();
	return real.select(n, r, w, e, timeout);
}

/*
 * libbpf finds a tracepoint's id in tracefs (events/CATEGORY/EVENT/id). Where tracefs is not
 * mounted (no root, a container), the syscall events' ids come from bpfinject's own table,
 * as the CLI's do.
 */
SHIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
	FILE *f = real.fopen(path, mode);
	char text[32];

	ensure();
	if (f || !bpfi_runtime_active() || !shim__tracepoint_id_text(path, text, sizeof(text)))
		return f;
	return fmemopen(strdup(text), strlen(text), "r");
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode) __attribute__((alias("fopen")));

/* Tools ask whether a tracepoint exists by looking for its files (libbpf-tools'
 * tracepoint_exists() only in debugfs): the syscall events do, tracefs mounted or not. */
SHIM_EXPORT int access(const char *path, int mode)
{
	int r = real.access(path, mode);

	ensure();
	if (r && errno == ENOENT && (mode & W_OK) == 0 && shim__tracepoint_exists(path))
		return 0;
	return r;
}
