// SPDX-License-Identifier: MIT
/*
 * Link-time routing of the static libbpf's system calls (DESIGN.md D1): linked with
 * -Wl,--wrap=<fn> (meson: runtime_wrap_args), every call to <fn> in the program lands in
 * __wrap_<fn>, which answers it from the runtime when the call or fd is ours and otherwise
 * calls the real libc function, __real_<fn>. Return values follow libc (-1 and errno).
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include "runtime_internal.h"

long __real_syscall(long nr, ...);
int __real_ioctl(int fd, unsigned long request, ...);
void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);
int __real_close(int fd);
int __real_epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
int __real_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);

long __wrap_syscall(long nr, ...);
int __wrap_ioctl(int fd, unsigned long request, ...);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __wrap_munmap(void *addr, size_t len);
int __wrap_close(int fd);
int __wrap_epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
int __wrap_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);

/* -errno (raw system call convention) to libc's -1 and errno. */
static long to_libc(long ret)
{
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

/*
 * syscall(2) is variadic; like glibc's own syscall(), read six argument registers whatever
 * the call passed: the unused ones are never looked at.
 */
long __wrap_syscall(long nr, ...)
{
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (bpfi_runtime_active()) {
		if (nr == SYS_bpf)
			return to_libc(
				bpfi_runtime_bpf((int)a[0], (void *)a[1], (unsigned int)a[2]));
		if (nr == SYS_perf_event_open)
			return to_libc(bpfi_runtime_perf_event_open((void *)a[0], (pid_t)a[1],
								    (int)a[2], (int)a[3],
								    (unsigned long)a[4]));
	}
	return __real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

int __wrap_ioctl(int fd, unsigned long request, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, request);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (bpfi_runtime_owns_fd(fd))
		return (int)to_libc(bpfi_runtime_ioctl(fd, request, arg));
	return __real_ioctl(fd, request, arg);
}

/* The runtime's mmap returns an address or -errno, as the raw system call does. */
static void *mmap_result(void *p)
{
	if (RT_IS_ERR(p)) {
		errno = (int)-(long)p;
		return MAP_FAILED;
	}
	return p;
}

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	bool handled;
	void *p = bpfi_runtime_mmap(addr, len, prot, flags, fd, off, &handled);

	return handled ? mmap_result(p) : __real_mmap64(addr, len, prot, flags, fd, off);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	bool handled;
	void *p = bpfi_runtime_mmap(addr, len, prot, flags, fd, off, &handled);

	return handled ? mmap_result(p) : __real_mmap(addr, len, prot, flags, fd, off);
}

int __wrap_munmap(void *addr, size_t len)
{
	bool handled;
	int err = bpfi_runtime_munmap(addr, len, &handled);

	return handled ? (int)to_libc(err) : __real_munmap(addr, len);
}

int __wrap_close(int fd)
{
	bool handled;
	int err = bpfi_runtime_close(fd, &handled);

	return handled ? (int)to_libc(err) : __real_close(fd);
}

int __wrap_epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
	bool handled;
	int err = bpfi_runtime_epoll_ctl(epfd, op, fd, event, &handled);

	return handled ? (int)to_libc(err) : __real_epoll_ctl(epfd, op, fd, event);
}

/* The runtime's epoll_wait serves every epoll fd (ours add perf and ring buffer readiness). */
int __wrap_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	if (!bpfi_runtime_active())
		return __real_epoll_wait(epfd, events, maxevents, timeout);
	return (int)to_libc(bpfi_runtime_epoll_wait(epfd, events, maxevents, timeout));
}
