// SPDX-License-Identifier: MIT
/*
 * perf_event_open and the perf ioctls, answered as the kernel does. Tracepoint and uprobe
 * events are attach points whose program is only recorded here (the next issue rewrites the
 * target); BPF_OUTPUT events get their perf buffer in the arena at their first mmap.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <bpfinject/sys.h>

#include "common/compiler.h"
#include "runtime_internal.h"

/* The kernel's PERF_FLAG_ALL. */
#define PERF_FLAGS_KNOWN \
	(PERF_FLAG_FD_NO_GROUP | PERF_FLAG_FD_OUTPUT | PERF_FLAG_PID_CGROUP | PERF_FLAG_FD_CLOEXEC)

/* The uprobe PMU's config: bit 0 is "retprobe", bits 32-63 the reference counter offset. */
#define UPROBE_CONFIG_RETPROBE (1ULL << 0)
#define UPROBE_SYSFS_TYPE      "/sys/bus/event_source/devices/uprobe/type"

/* Raw: a wrapped or preloaded close() would look the fd up among our objects first. */
static void sys_close(int fd)
{
	bpfi_syscall2(SYS_close, fd, 0);
}

static void free_strp(char **p)
{
	free(*p);
}

static const char *const tracefs_events[] = {
	"/sys/kernel/tracing/events",
	"/sys/kernel/debug/tracing/events",
};

/* The PMU type the kernel gave the uprobe PMU, or -1 when this kernel has none. */
int runtime__uprobe_pmu_type(void)
{
	char buf[32] = "";
	ssize_t n;
	int fd;

	fd = open(UPROBE_SYSFS_TYPE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	sys_close(fd);
	if (n <= 0)
		return -1;
	return atoi(buf);
}

/*
 * perf_copy_attr(): sizes below VER0 or above a page are -E2BIG with our size written back,
 * and bytes past our struct must be zero (copy_struct_from_user).
 */
static int copy_attr(void *uattr, struct perf_event_attr *attr)
{
	struct perf_event_attr *u = uattr;
	uint32_t size = u->size ? u->size : PERF_ATTR_SIZE_VER0;

	if (size < PERF_ATTR_SIZE_VER0 || size > BPFI_PAGE_SIZE)
		goto err_size;
	memset(attr, 0, sizeof(*attr));
	memcpy(attr, uattr, BPFI_MIN(size, sizeof(*attr)));
	for (uint32_t i = sizeof(*attr); i < size; i++) {
		if (((const char *)uattr)[i])
			goto err_size;
	}
	attr->size = size;
	if (attr->__reserved_1 || attr->__reserved_2 || attr->__reserved_3)
		return -EINVAL;
	if (attr->sample_type & ~(PERF_SAMPLE_MAX - 1))
		return -EINVAL;
	if (attr->read_format & ~(PERF_FORMAT_MAX - 1))
		return -EINVAL;
	if (!attr->freq && (attr->sample_period & (1ULL << 63)))
		return -EINVAL;
	return 0;
err_size:
	u->size = sizeof(*attr);
	return -E2BIG;
}

/*
 * A NUL-terminated string at @uaddr of this process, read with process_vm_readv so that a bad
 * pointer is -EFAULT (strndup_user) rather than a crash.
 */
static int copy_user_str(uint64_t uaddr, char **ret_str)
{
	_cleanup_(free_strp) char *buf = NULL;
	size_t n = 0;

	if (!uaddr)
		return -EINVAL;
	buf = malloc(PATH_MAX);
	if (!buf)
		return -ENOMEM;
	while (n < PATH_MAX) {
		uint64_t at = uaddr + n;
		size_t chunk = BPFI_MIN(BPFI_PAGE_SIZE - at % BPFI_PAGE_SIZE, PATH_MAX - n);
		struct iovec local = { buf + n, chunk };
		struct iovec remote = { (void *)(uintptr_t)at, chunk };
		ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

		if (got <= 0)
			return -EFAULT;
		if (memchr(buf + n, 0, (size_t)got)) {
			*ret_str = TAKE_PTR(buf);
			return 0;
		}
		n += (size_t)got;
	}
	return -EINVAL; /* longer than PATH_MAX */
}

/* "category:event" for tracefs id @id: 0, -ENOENT if no event has it, -ENODEV if no tracefs. */
static int tracepoint_name(uint64_t id, char **ret_name)
{
	char path[PATH_MAX], buf[32];

	for (size_t t = 0; t < ARRAY_SIZE(tracefs_events); t++) {
		DIR *cats = opendir(tracefs_events[t]);
		struct dirent *cat;

		if (!cats)
			continue;
		while ((cat = readdir(cats))) {
			DIR *evs;
			struct dirent *ev;

			if (cat->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", tracefs_events[t], cat->d_name);
			evs = opendir(path);
			if (!evs)
				continue;
			while ((ev = readdir(evs))) {
				ssize_t n;
				int fd;

				if (ev->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s/%s/id", tracefs_events[t],
					 cat->d_name, ev->d_name);
				fd = open(path, O_RDONLY | O_CLOEXEC);
				if (fd < 0)
					continue;
				n = read(fd, buf, sizeof(buf) - 1);
				sys_close(fd);
				if (n <= 0)
					continue;
				buf[n] = '\0';
				if (strtoull(buf, NULL, 10) != id)
					continue;
				if (asprintf(ret_name, "%s:%s", cat->d_name, ev->d_name) < 0)
					*ret_name = NULL;
				closedir(evs);
				closedir(cats);
				return *ret_name ? 0 : -ENOMEM;
			}
			closedir(evs);
		}
		closedir(cats);
		return -ENOENT;
	}
	return -ENODEV;
}

/* perf_uprobe_init(): the path must name a regular file that covers the offsets. */
static int check_uprobe(const struct perf_event_attr *attr, char **ret_path)
{
	_cleanup_(free_strp) char *path = NULL;
	uint64_t ref_ctr_off = attr->config >> 32;
	struct stat st;
	int err;

	err = copy_user_str(attr->config1, &path);
	if (err)
		return err;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (attr->config2 > (uint64_t)st.st_size || ref_ctr_off > (uint64_t)st.st_size)
		return -EINVAL;
	*ret_path = TAKE_PTR(path);
	return 0;
}

/* Which PMU answers @attr (perf_init_event): -ENOENT when none of ours does. */
static int check_event(const struct perf_event_attr *attr, char **ret_name)
{
	int uprobe_type = runtime__uprobe_pmu_type();
	int err;

	*ret_name = NULL;
	if (attr->type == PERF_TYPE_TRACEPOINT) {
		err = tracepoint_name(attr->config, ret_name);
		/* perf_trace_init(): an id no event has is -EINVAL; no tracefs, trust it. */
		if (err == -ENOENT)
			return -EINVAL;
		return err == -ENODEV ? 0 : err;
	}
	if (uprobe_type >= 0 && attr->type == (uint32_t)uprobe_type)
		return check_uprobe(attr, ret_name);
	if (attr->type == PERF_TYPE_SOFTWARE) {
		if (attr->config >= PERF_COUNT_SW_MAX)
			return -ENOENT;
		/* Only the output channel of bpf_perf_event_output is emulated. */
		return attr->config == PERF_COUNT_SW_BPF_OUTPUT ? 0 : -ENOENT;
	}
	return -ENOENT;
}

static int check_target(pid_t pid, int cpu, int group_fd, unsigned long flags)
{
	long nr_cpus = sysconf(_SC_NPROCESSORS_CONF);

	if (flags & ~PERF_FLAGS_KNOWN)
		return -EINVAL;
	if (flags & PERF_FLAG_PID_CGROUP)
		return pid == -1 || cpu == -1 ? -EINVAL : -EOPNOTSUPP;
	if (cpu < -1 || cpu >= nr_cpus || (pid == -1 && cpu == -1))
		return -EINVAL;
	if (pid < -1)
		return -ESRCH;
	if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH)
		return -ESRCH;
	if (group_fd != -1) {
		struct rt_obj *leader = runtime__obj_get_fd(group_fd, RT_PERF);

		if (!leader)
			return -EBADF;
		runtime__obj_put(leader);
	}
	return 0;
}

long runtime__perf_event_open(void *uattr, pid_t pid, int cpu, int group_fd, unsigned long flags)
{
	_cleanup_(free_strp) char *name = NULL;
	struct perf_event_attr attr;
	struct rt_obj *obj;
	int err, fd;

	if (!uattr)
		return -EFAULT;
	err = copy_attr(uattr, &attr);
	if (!err)
		err = check_target(pid, cpu, group_fd, flags);
	if (!err)
		err = check_event(&attr, &name);
	if (err)
		return err;

	err = runtime__obj_new(RT_PERF, "perf_event", &obj, &fd);
	if (err)
		return err;
	pthread_mutex_lock(&runtime__rt.lock);
	obj->perf.type = attr.type;
	obj->perf.config = attr.config;
	obj->perf.config1 = attr.config1;
	obj->perf.config2 = attr.config2;
	/* uprobe: the path; tracepoint: "category:event" (NULL without tracefs). */
	obj->perf.path = TAKE_PTR(name);
	obj->perf.pid = pid == 0 ? getpid() : pid;
	obj->perf.cpu = cpu;
	obj->perf.enabled = !attr.disabled;
	pthread_mutex_unlock(&runtime__rt.lock);
	/* Our memfds are born close-on-exec; perf fds are only when asked. */
	if (!(flags & PERF_FLAG_FD_CLOEXEC))
		fcntl(fd, F_SETFD, 0);
	return fd;
}

static bool perf_is_uprobe(const struct rt_perf *perf)
{
	int uprobe_type = runtime__uprobe_pmu_type();

	return uprobe_type >= 0 && perf->type == (uint32_t)uprobe_type;
}

/* Puts one program reference held under @prog_id (by a perf event). */
static void put_prog_id(uint32_t prog_id)
{
	struct rt_obj *prog;

	if (!prog_id)
		return;
	prog = runtime__obj_get_id(prog_id, RT_PROG);
	if (!prog)
		return;
	runtime__obj_put(prog); /* the lookup's reference */
	runtime__obj_put(prog); /* the one the event held */
}

/*
 * perf_event_set_bpf_prog(): @prog (whose reference the event takes on success) onto @perf.
 * Tracepoints take TRACEPOINT programs, uprobes KPROBE programs, other events PERF_EVENT ones.
 */
int runtime__perf_attach_prog(struct rt_obj *perf, struct rt_obj *prog, uint64_t cookie)
{
	uint32_t want;
	int err = 0;

	if (perf->perf.type == PERF_TYPE_TRACEPOINT)
		want = BPF_PROG_TYPE_TRACEPOINT;
	else if (perf_is_uprobe(&perf->perf))
		want = BPF_PROG_TYPE_KPROBE;
	else
		want = BPF_PROG_TYPE_PERF_EVENT;

	pthread_mutex_lock(&runtime__rt.lock);
	if (prog->prog.type != want)
		err = -EINVAL;
	else if (perf->perf.prog_id)
		err = -EEXIST;
	else {
		perf->perf.prog_id = prog->id;
		perf->perf.cookie = cookie;
	}
	pthread_mutex_unlock(&runtime__rt.lock);
	return err;
}

/* Takes the program off @perf and drops the event's reference to it. */
void runtime__perf_detach_prog(struct rt_obj *perf)
{
	uint32_t prog_id;

	pthread_mutex_lock(&runtime__rt.lock);
	prog_id = perf->perf.prog_id;
	perf->perf.prog_id = 0;
	perf->perf.cookie = 0;
	pthread_mutex_unlock(&runtime__rt.lock);
	put_prog_id(prog_id);
}

/* A program fd, with bpf_prog_get()'s errors: -EBADF (no fd), -EINVAL (not a program). */
static int get_prog_fd(int fd, struct rt_obj **ret_prog)
{
	return runtime__obj_lookup_fd(fd, RT_PROG, ret_prog);
}

static long ioctl_set_bpf(struct rt_obj *perf, unsigned long arg)
{
	struct rt_obj *prog;
	int err;

	err = get_prog_fd((int)arg, &prog);
	if (err)
		return err;
	err = runtime__perf_attach_prog(perf, prog, 0);
	if (err)
		runtime__obj_put(prog);
	return err;
}

/* PERF_EVENT_IOC_QUERY_BPF: the ids of the programs on a tracing event (at most one here). */
static long ioctl_query_bpf(struct rt_obj *perf, unsigned long arg)
{
	struct perf_event_query_bpf *q = (void *)arg;
	uint32_t prog_id = perf->perf.prog_id;
	uint32_t cnt = prog_id ? 1 : 0;

	if (perf->perf.type != PERF_TYPE_TRACEPOINT && !perf_is_uprobe(&perf->perf))
		return -EINVAL;
	if (!q)
		return -EFAULT;
	q->prog_cnt = cnt;
	if (!q->ids_len || !cnt)
		return 0;
	q->ids[0] = prog_id;
	return 0;
}

long runtime__perf_ioctl(struct rt_obj *obj, unsigned long request, unsigned long arg)
{
	switch (request) {
	case PERF_EVENT_IOC_ENABLE:
	case PERF_EVENT_IOC_DISABLE:
		pthread_mutex_lock(&runtime__rt.lock);
		obj->perf.enabled = request == PERF_EVENT_IOC_ENABLE;
		pthread_mutex_unlock(&runtime__rt.lock);
		return 0;
	case PERF_EVENT_IOC_RESET:
	case PERF_EVENT_IOC_REFRESH:
	case PERF_EVENT_IOC_PAUSE_OUTPUT:
		return 0;
	case PERF_EVENT_IOC_PERIOD:
		return arg ? 0 : -EFAULT;
	case PERF_EVENT_IOC_SET_OUTPUT: {
		struct rt_obj *out;

		if ((int)arg == -1)
			return 0;
		out = runtime__obj_get_fd((int)arg, RT_PERF);
		if (!out)
			return -EBADF;
		runtime__obj_put(out);
		return 0;
	}
	case PERF_EVENT_IOC_SET_FILTER:
		/* Accepted by the kernel for tracing events only; filters are not emulated. */
		return obj->perf.type == PERF_TYPE_TRACEPOINT ? -EOPNOTSUPP : -EINVAL;
	case PERF_EVENT_IOC_ID:
		if (!arg)
			return -EFAULT;
		*(uint64_t *)arg = obj->id;
		return 0;
	case PERF_EVENT_IOC_SET_BPF:
		return ioctl_set_bpf(obj, arg);
	case PERF_EVENT_IOC_QUERY_BPF:
		return ioctl_query_bpf(obj, arg);
	default:
		return -ENOTTY;
	}
}

void runtime__perf_release(struct rt_obj *obj)
{
	runtime__perf_detach_prog(obj);
	free(obj->perf.path);
	obj->perf.path = NULL;
}
