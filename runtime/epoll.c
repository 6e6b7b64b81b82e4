// SPDX-License-Identifier: MIT
/*
 * epoll on perf event and ring buffer fds. Ours are memfds, which a real epoll refuses
 * (EPERM), and their buffers are written by programs that cannot wake anyone. So each of our
 * fds added to an epoll instance is stood for, inside that real epoll, by an eventfd carrying
 * the caller's events and data; epoll_wait sets or drains those eventfds from the buffers'
 * state between short waits on the real epoll, which reports them with every other fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpfinject/sys.h>

#include "common/compiler.h"
#include "runtime_internal.h"

/* How long epoll_wait sleeps on the real epoll before looking at our buffers again. */
#define EPOLL_SLICE_MS 10

struct epoll_reg {
	int epfd;
	int fd;
	int efd; /* the eventfd standing for @fd in the real epoll */
	enum rt_kind kind; /* RT_PERF, or RT_MAP for a ring buffer */
	uint32_t id;
	ino_t ino; /* with kind and id: still the object that was added */
	struct epoll_event ev; /* as the caller gave it */
	uint64_t last_head; /* producer position when the eventfd was last written */
	bool signalled; /* the eventfd is readable */
};

/* Process-wide, like the kernel's epoll instances; its own lock (epoll_wait sleeps). */
static struct {
	pthread_mutex_t lock;
	struct epoll_reg *list;
	uint32_t nr, cap;
} regs = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Raw system calls: wrapped or preloaded epoll_*() and close() would come back here. */
static int sys_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	return (int)bpfi_syscall6(SYS_epoll_wait, epfd, (long)events, maxevents, timeout, 0, 0);
}

static int sys_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	return (int)bpfi_syscall6(SYS_epoll_ctl, epfd, op, fd, (long)ev, 0, 0);
}

static void sys_close(int fd)
{
	bpfi_syscall2(SYS_close, fd, 0);
}

static void reg_drop(uint32_t i)
{
	sys_close(regs.list[i].efd); /* also takes it out of the real epoll */
	regs.list[i] = regs.list[--regs.nr];
}

/*
 * Is @reg still what it was added as? The kernel drops an epoll item when its file is
 * released: here when no fd names the object any more (or it is gone). With @check_epoll,
 * also whether its epoll fd is still the instance it was added to (closed, or reused by
 * another instance: the real epoll no longer holds the eventfd).
 */
static bool reg_alive(struct epoll_reg *reg, bool check_epoll)
{
	struct rt_obj *obj = runtime__obj_get_id(reg->id, reg->kind);
	bool alive = obj && obj->fd_open && obj->ino == reg->ino;

	runtime__obj_put(obj);
	if (alive && check_epoll)
		alive = sys_epoll_ctl(reg->epfd, EPOLL_CTL_MOD, reg->efd, &reg->ev) == 0;
	return alive;
}

/*
 * The live registration of @fd in @epfd for @obj (what @fd names now), dropping a stale one
 * found on the way.
 */
static struct epoll_reg *reg_find(int epfd, int fd, const struct rt_obj *obj)
{
	for (uint32_t i = 0; i < regs.nr; i++) {
		struct epoll_reg *reg = &regs.list[i];

		if (reg->epfd != epfd || reg->fd != fd)
			continue;
		if (reg->kind == obj->kind && reg->id == obj->id && reg_alive(reg, true))
			return reg;
		reg_drop(i);
		return NULL;
	}
	return NULL;
}

/* Is @epfd an epoll instance (ep_op_has_event's "file is not an epoll" is -EINVAL)? */
static int check_epfd(int epfd)
{
	char path[64], target[64];
	ssize_t n;

	if (fcntl(epfd, F_GETFD) < 0)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", epfd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return 0; /* no /proc: the real epoll_ctl will tell */
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventpoll]") ? -EINVAL : 0;
}

/* Our fds that poll: perf events and ring buffers. Others are left to the real epoll. */
static struct rt_obj *pollable_obj(int fd)
{
	struct rt_obj *obj;

	if (!runtime__rt.active || runtime__obj_lookup_fd(fd, 0, &obj))
		return NULL;
	if (obj->kind == RT_PERF ||
	    (obj->kind == RT_MAP && obj->map.hdr->type == BPF_MAP_TYPE_RINGBUF))
		return obj;
	runtime__obj_put(obj);
	return NULL;
}

static int reg_add(int epfd, int fd, const struct rt_obj *obj, const struct epoll_event *ev)
{
	struct epoll_reg reg = {
		.epfd = epfd,
		.fd = fd,
		.kind = obj->kind,
		.id = obj->id,
		.ino = obj->ino,
		.ev = *ev,
	};
	struct epoll_reg *grown;
	int err;

	if (regs.nr == regs.cap) {
		uint32_t cap = regs.cap ? regs.cap * 2 : 16;

		grown = reallocarray(regs.list, cap, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		regs.list = grown;
		regs.cap = cap;
	}
	reg.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (reg.efd < 0)
		return -errno;
	err = sys_epoll_ctl(epfd, EPOLL_CTL_ADD, reg.efd, &reg.ev);
	if (err) {
		sys_close(reg.efd);
		return err;
	}
	regs.list[regs.nr++] = reg;
	return 0;
}

static int reg_ctl(int epfd, int op, int fd, const struct rt_obj *obj, const struct epoll_event *ev)
{
	struct epoll_reg *reg = reg_find(epfd, fd, obj);
	int err;

	switch (op) {
	case EPOLL_CTL_ADD:
		return reg ? -EEXIST : reg_add(epfd, fd, obj, ev);
	case EPOLL_CTL_MOD:
		if (!reg)
			return -ENOENT;
		err = sys_epoll_ctl(epfd, EPOLL_CTL_MOD, reg->efd, (struct epoll_event *)ev);
		if (!err)
			reg->ev = *ev;
		return err;
	case EPOLL_CTL_DEL:
		if (!reg)
			return -ENOENT;
		reg_drop((uint32_t)(reg - regs.list));
		return 0;
	default:
		return -EINVAL;
	}
}

int runtime__epoll_ctl(int epfd, int op, int fd, void *event, bool *ret_handled)
{
	const struct epoll_event *ev = event;
	struct rt_obj *obj;
	int err;

	*ret_handled = false;
	obj = pollable_obj(fd);
	if (!obj)
		return 0;
	*ret_handled = true;
	err = check_epfd(epfd);
	if (!err && epfd == fd)
		err = -EINVAL;
	if (!err && op != EPOLL_CTL_DEL && !ev)
		err = -EFAULT;
	if (!err) {
		pthread_mutex_lock(&regs.lock);
		err = reg_ctl(epfd, op, fd, obj, ev);
		pthread_mutex_unlock(&regs.lock);
	}
	runtime__obj_put(obj);
	return err;
}

/*
 * The producer position of @obj's buffer and whether unread data is there: perf buffers
 * compare data_head with data_tail, ring buffers producer_pos with consumer_pos.
 */
static bool buffer_ready(const struct rt_obj *obj, uint64_t *ret_head)
{
	char *arena = bpfi_arena_base(runtime__rt.arena);
	_Atomic uint64_t *head, *tail;

	if (obj->kind == RT_PERF) {
		struct perf_event_mmap_page *pg;

		if (!obj->perf.perfbuf_off)
			return false;
		pg = (void *)(arena + obj->perf.perfbuf_off);
		head = (_Atomic uint64_t *)(void *)&pg->data_head;
		tail = (_Atomic uint64_t *)(void *)&pg->data_tail;
	} else {
		uint64_t cons_off, prod_off, max_len;

		if (bpfi_map_mmap_range(obj->map.hdr, 0, &cons_off, &max_len) ||
		    bpfi_map_mmap_range(obj->map.hdr, 1, &prod_off, &max_len))
			return false;
		head = (_Atomic uint64_t *)(void *)(arena + prod_off);
		tail = (_Atomic uint64_t *)(void *)(arena + cons_off);
	}
	/* Pairs with the writers' release of the head (perf_output_put_handle, ringbuf commit). */
	*ret_head = atomic_load_explicit(head, memory_order_acquire);
	return *ret_head != atomic_load_explicit(tail, memory_order_acquire);
}

/*
 * Brings the eventfds of @epfd in line with their buffers: readable while data is unread,
 * written again when more arrives (an edge for EPOLLET), drained once consumed.
 * @return whether @epfd has any of our fds at all
 */
static bool sync_epoll(int epfd)
{
	bool any = false;

	pthread_mutex_lock(&regs.lock);
	for (uint32_t i = 0; i < regs.nr; i++) {
		struct epoll_reg *reg = &regs.list[i];
		struct rt_obj *obj;
		uint64_t head = 0, val;
		bool ready;

		if (reg->epfd != epfd)
			continue;
		obj = runtime__obj_get_id(reg->id, reg->kind);
		if (!obj || !obj->fd_open || obj->ino != reg->ino) {
			runtime__obj_put(obj);
			reg_drop(i--);
			continue;
		}
		any = true;
		ready = buffer_ready(obj, &head);
		runtime__obj_put(obj);
		if (ready && (!reg->signalled || head != reg->last_head)) {
			val = 1;
			if (write(reg->efd, &val, sizeof(val)) == sizeof(val)) {
				reg->signalled = true;
				reg->last_head = head;
			}
		} else if (!ready && reg->signalled) {
			if (read(reg->efd, &val, sizeof(val)) == sizeof(val) || errno == EAGAIN)
				reg->signalled = false;
		}
	}
	pthread_mutex_unlock(&regs.lock);
	return any;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int runtime__epoll_wait(int epfd, void *uevents, int maxevents, int timeout)
{
	struct epoll_event *events = uevents;
	int64_t deadline = timeout > 0 ? now_ms() + timeout : 0;
	sigset_t all, caller;
	int r;

	if (maxevents <= 0)
		return -EINVAL;
	if (!runtime__rt.active || !sync_epoll(epfd))
		return sys_epoll_wait(epfd, events, maxevents, timeout);

	if (timeout == 0)
		return sys_epoll_wait(epfd, events, maxevents, 0);
	/*
	 * The kernel's epoll_wait returns EINTR for a signal that comes at any moment of the
	 * call; ours waits in slices with our own work between them. Signals stay blocked during
	 * that work and are let in only inside the wait (epoll_pwait with the caller's mask), so
	 * one that comes then still ends the call with EINTR: tools that wait forever and stop
	 * on SIGINT (bpftrace) rely on it.
	 */
	sigfillset(&all);
	bpfi_syscall6(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all, (long)&caller, 8, 0, 0);
	for (;;) {
		int slice = EPOLL_SLICE_MS;

		if (timeout > 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0) {
				r = 0;
				break;
			}
			slice = (int)BPFI_MIN(left, (int64_t)EPOLL_SLICE_MS);
		}
		r = (int)bpfi_syscall6(SYS_epoll_pwait, epfd, (long)events, maxevents, slice,
				       (long)&caller, 8);
		if (r != 0)
			break;
		sync_epoll(epfd);
	}
	bpfi_syscall6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&caller, 0, 8, 0, 0);
	return r;
}
