// SPDX-License-Identifier: MIT
/*
 * The runtime's life cycle (the arena, the helper environment, the trace_printk ring) and the
 * fd-based entry points of runtime.h, which route calls on our fds to the owning file.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpfinject/maps.h>
#include <bpfinject/sys.h>

#include "common/compiler.h"
#include "runtime_internal.h"

struct runtime runtime__rt = {
	.lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP,
};

#define RT_DEFAULT_ARENA_SIZE (256ull << 20)
/* trace_printk ring: 1 MiB holds ~10k lines of 80 characters between two drains. */
#define RT_PRINTK_RING_SIZE (1u << 20)

/* env.clock_gettime: libc's clock_gettime goes through the vDSO, no system call. */
static int rt_clock_gettime(int clock, void *ts)
{
	return clock_gettime((clockid_t)clock, ts);
}

static int memfd_dev(dev_t *ret_dev)
{
	struct stat st;
	int fd, err = 0;

	fd = memfd_create("bpfi-probe", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	bpfi_syscall2(SYS_close, fd, 0);
	if (!err)
		*ret_dev = st.st_dev;
	return err;
}

static int printk_ring_new(struct runtime *rt, struct bpfi_log *log)
{
	struct bpfi_map_create_opts mopts = {
		.sz = sizeof(mopts),
		.type = BPF_MAP_TYPE_RINGBUF,
		.max_entries = RT_PRINTK_RING_SIZE,
		.name = "trace_printk",
	};
	struct bpfi_map_hdr *ring;
	int err;

	err = bpfi_map_new(rt->arena, &mopts, &ring, log);
	if (err)
		return err;
	rt->printk_ring = ring;
	rt->env.printk_ring = ring;
	bpfi_arena_hdr(rt->arena)->printk_off = ring->self_off;
	return 0;
}

/* libbpf's OPTS_VALID: a newer caller's struct may be longer if the extra bytes are zero. */
static bool opts_valid(const struct bpfi_runtime_opts *opts)
{
	const char *p = (const char *)opts;

	if (opts->sz < sizeof(opts->sz))
		return false;
	for (size_t i = sizeof(*opts); i < opts->sz; i++) {
		if (p[i])
			return false;
	}
	return true;
}

int bpfi_runtime_init(const struct bpfi_runtime_opts *opts, struct bpfi_log *log)
{
	struct runtime *rt = &runtime__rt;
	size_t size = RT_DEFAULT_ARENA_SIZE;
	int err;

	if (opts && !opts_valid(opts))
		return bpfi_log_err(log, -EINVAL, "runtime: bad opts size %zu", opts->sz);
	pthread_mutex_lock(&rt->lock);
	if (rt->active) {
		pthread_mutex_unlock(&rt->lock);
		return bpfi_log_err(log, -EBUSY, "runtime: already initialised");
	}
	memset(&rt->opts, 0, sizeof(rt->opts));
	if (opts)
		memcpy(&rt->opts, opts, BPFI_MIN(opts->sz, sizeof(rt->opts)));
	rt->opts.sz = sizeof(rt->opts);
	if (rt->opts.arena_size)
		size = rt->opts.arena_size;
	if (rt->opts.backend != BPFI_JIT_INTERP && rt->opts.backend != BPFI_JIT_X86_64) {
		err = bpfi_log_err(log, -ENOTSUP, "runtime: backend %d is not built in",
				   (int)rt->opts.backend);
		goto out;
	}
	if (rt->opts.verify > BPFI_VERIFY_BOTH) {
		err = bpfi_log_err(log, -EINVAL, "runtime: unknown verify mode %d",
				   (int)rt->opts.verify);
		goto out;
	}
	/* Asked for the kernel's verdict: say now, in one line, when it cannot be had. */
	if (rt->opts.verify != BPFI_VERIFY_OURS) {
		err = runtime__kernel_check_available(log);
		if (err)
			goto out;
	}

	err = memfd_dev(&rt->memfd_dev);
	if (err) {
		bpfi_log_err(log, err, "runtime: memfd_create failed");
		goto out;
	}
	err = bpfi_arena_new(size, &rt->arena, log);
	if (err)
		goto out;
	memset(&rt->env, 0, sizeof(rt->env));
	memset(rt->progs, 0, sizeof(rt->progs));
	memset(rt->next_id, 0, sizeof(rt->next_id));
	bpfi_helpers_fill(rt->helpers);
	rt->env.arena = bpfi_arena_base(rt->arena);
	rt->env.nr_cpus = bpfi_arena_hdr(rt->arena)->nr_cpus;
	rt->env.unwind_helper_id = -1;
	rt->env.helpers = rt->helpers;
	rt->env.progs = rt->progs;
	rt->env.max_progs = RT_MAX_PROGS;
	rt->env.clock_gettime = rt_clock_gettime;
	rt->env.hwcaps = bpfi_helpers_hwcaps();
	err = printk_ring_new(rt, log);
	if (err) {
		bpfi_arena_free(rt->arena);
		rt->arena = NULL;
		goto out;
	}
	rt->active = true;
out:
	pthread_mutex_unlock(&rt->lock);
	return err;
}

void bpfi_runtime_fini(void)
{
	struct runtime *rt = &runtime__rt;

	pthread_mutex_lock(&rt->lock);
	if (rt->active) {
		rt->active = false;
		runtime__obj_free_all();
		bpfi_arena_free(rt->arena);
		rt->arena = NULL;
		rt->printk_ring = NULL;
		memset(&rt->env, 0, sizeof(rt->env));
		memset(rt->progs, 0, sizeof(rt->progs));
	}
	pthread_mutex_unlock(&rt->lock);
}

bool bpfi_runtime_active(void)
{
	return runtime__rt.active;
}

struct bpfi_arena *bpfi_runtime_arena(void)
{
	return runtime__rt.arena;
}

const struct bpfi_env *bpfi_runtime_env(void)
{
	return &runtime__rt.env;
}

long bpfi_runtime_perf_event_open(void *attr, pid_t pid, int cpu, int group_fd, unsigned long flags)
{
	long ret;

	if (!runtime__rt.active)
		return -ENOSYS;
	pthread_mutex_lock(&runtime__rt.lock);
	ret = runtime__perf_event_open(attr, pid, cpu, group_fd, flags);
	pthread_mutex_unlock(&runtime__rt.lock);
	return ret;
}

bool bpfi_runtime_owns_fd(int fd)
{
	return runtime__obj_owns_fd(fd);
}

/* Only perf events take ioctls; bpf fds answer -ENOTTY as the kernel's anon inodes do. */
long bpfi_runtime_ioctl(int fd, unsigned long request, unsigned long arg)
{
	struct rt_obj *obj;
	long ret;

	ret = runtime__obj_lookup_fd(fd, 0, &obj);
	if (ret)
		return ret;
	ret = obj->kind == RT_PERF ? runtime__perf_ioctl(obj, request, arg) : -ENOTTY;
	runtime__obj_put(obj);
	return ret;
}

void *bpfi_runtime_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off,
			bool *ret_handled)
{
	struct rt_obj *obj;
	void *ret;

	*ret_handled = false;
	if (!runtime__rt.active || fd < 0 || (flags & MAP_ANONYMOUS) ||
	    runtime__obj_lookup_fd(fd, 0, &obj))
		return NULL;
	*ret_handled = true;
	ret = runtime__mmap(obj, addr, len, prot, flags, off);
	runtime__obj_put(obj);
	return ret;
}

int bpfi_runtime_munmap(void *addr, size_t len, bool *ret_handled)
{
	*ret_handled = false;
	if (!runtime__rt.active)
		return 0;
	return runtime__munmap(addr, len, ret_handled);
}

int bpfi_runtime_close(int fd, bool *ret_handled)
{
	int err;

	*ret_handled = false;
	if (!runtime__rt.active)
		return 0;
	err = runtime__obj_close_fd(fd);
	if (err == -EBADF || err == -EINVAL)
		return 0; /* not ours: the caller closes it */
	*ret_handled = true;
	return err;
}

int bpfi_runtime_epoll_ctl(int epfd, int op, int fd, void *event, bool *ret_handled)
{
	*ret_handled = false;
	if (!runtime__rt.active)
		return 0;
	return runtime__epoll_ctl(epfd, op, fd, event, ret_handled);
}

int bpfi_runtime_epoll_wait(int epfd, void *events, int maxevents, int timeout)
{
	return runtime__epoll_wait(epfd, events, maxevents, timeout);
}

/* Copies @len bytes at ring position @pos, wrapping: the arena maps the data area once. */
static void ring_copy(void *dst, const char *data, uint64_t mask, uint64_t pos, size_t len)
{
	char *d = dst;

	for (size_t i = 0; i < len; i++)
		d[i] = data[(pos + i) & mask];
}

#define RINGBUF_BUSY_BIT    (1u << 31)
#define RINGBUF_DISCARD_BIT (1u << 30)
#define RINGBUF_HDR_SZ	    8

/*
 * Reads the trace_printk ring as libbpf's ringbuf consumer reads a kernel ring: consumer_pos
 * on page 0, producer_pos on page 1, data from page 2; records 8-byte aligned behind a
 * {u32 len (BUSY, DISCARD bits), u32 pg_off} header.
 */
int bpfi_runtime_drain_printk(void (*fn)(const struct bpfi_printk_line *line, void *cookie),
			      void *cookie)
{
	struct runtime *rt = &runtime__rt;
	uint64_t cons_off, prod_off, max, mask, cons, prod;
	_Atomic uint64_t *cons_pos, *prod_pos;
	char buf[sizeof(struct bpfi_printk_rec) + BPFI_PRINTK_MAX + 1];
	const char *data;
	char *base;
	int n = 0;

	if (!rt->active || !rt->printk_ring)
		return 0;
	if (bpfi_map_mmap_range(rt->printk_ring, 0, &cons_off, &max) ||
	    bpfi_map_mmap_range(rt->printk_ring, 1, &prod_off, &max))
		return -EINVAL;
	base = bpfi_arena_base(rt->arena);
	cons_pos = (_Atomic uint64_t *)(void *)(base + cons_off);
	prod_pos = (_Atomic uint64_t *)(void *)(base + prod_off);
	data = base + prod_off + BPFI_PAGE_SIZE;
	mask = rt->printk_ring->max_entries - 1;

	/* Positions and headers are in the arena, which targets can write: aligned before use,
	 * and at most a ring's worth of records per call, whatever producer_pos says. */
	cons = atomic_load_explicit(cons_pos, memory_order_relaxed) & ~7ull;
	/* Synchronizes with the release store of producer_pos in the reserve helper. */
	prod = atomic_load_explicit(prod_pos, memory_order_acquire);
	for (uint64_t left = (mask + 1) / 8; cons < prod && left; left--) {
		uint32_t hdr[2], len;

		ring_copy(hdr, data, mask, cons, sizeof(hdr));
		/* The len word is published last by submit; re-read it with acquire ordering. */
		hdr[0] = atomic_load_explicit((_Atomic uint32_t *)(void *)(data + (cons & mask)),
					      memory_order_acquire);
		if (hdr[0] & RINGBUF_BUSY_BIT)
			break;
		len = hdr[0] & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
		if (!(hdr[0] & RINGBUF_DISCARD_BIT) && len >= sizeof(struct bpfi_printk_rec) &&
		    len <= sizeof(buf) - 1) {
			struct bpfi_printk_rec *rec = (struct bpfi_printk_rec *)(void *)buf;
			struct bpfi_printk_line line = { 0 };

			ring_copy(buf, data, mask, cons + RINGBUF_HDR_SZ, len);
			buf[len] = 0;
			if (rec->len < len - sizeof(*rec))
				rec->msg[rec->len] = 0;
			line.ts_ns = rec->ts_ns;
			line.pid = rec->pid;
			line.tid = rec->tid;
			line.cpu = rec->cpu;
			memcpy(line.comm, rec->comm, sizeof(line.comm));
			line.comm[sizeof(line.comm) - 1] = 0;
			line.msg = rec->msg;
			if (fn)
				fn(&line, cookie);
			n++;
		}
		cons += ALIGN_UP((uint64_t)len + RINGBUF_HDR_SZ, 8);
		/* Synchronizes with the acquire load of consumer_pos in the reserve helper. */
		atomic_store_explicit(cons_pos, cons, memory_order_release);
	}
	return n;
}
