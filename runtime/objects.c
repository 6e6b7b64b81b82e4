// SPDX-License-Identifier: MIT
/*
 * The object table: every map, program, BTF, link and perf event is a memfd, found from any fd
 * that names it by the memfd's inode, so dup'ed fds and fds passed through fcntl all work.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpfinject/sys.h>

#include "common/compiler.h"
#include "runtime_internal.h"

/* What /proc/PID/fd shows for our objects, as the kernel's anon inodes name them. */
static const char *const kind_names[] = {
	[RT_MAP] = "bpf-map",	[RT_PROG] = "bpf-prog",	  [RT_BTF] = "btf",
	[RT_LINK] = "bpf_link", [RT_PERF] = "perf_event",
};

/* close(2) without going through the wrapped libc close (we may be inside __wrap_close). */
static int raw_close(int fd)
{
	return (int)bpfi_syscall2(SYS_close, fd, 0);
}

/* Makes a memfd >= 3: libbpf dups fds 0-2 away (ensure_good_fd); we do it here once. */
static int memfd_new(const char *name, ino_t *ret_ino)
{
	struct stat st;
	int fd, fd3, err;

	fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fd < 3) {
		fd3 = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		err = -errno;
		raw_close(fd);
		if (fd3 < 0)
			return err;
		fd = fd3;
	}
	if (fstat(fd, &st) < 0) {
		err = -errno;
		raw_close(fd);
		return err;
	}
	*ret_ino = st.st_ino;
	return fd;
}

static int table_add(struct rt_obj *obj)
{
	struct runtime *rt = &runtime__rt;
	struct rt_obj **objs;
	uint32_t cap;

	if (rt->nr_objs == rt->cap_objs) {
		cap = rt->cap_objs ? rt->cap_objs * 2 : 64;
		if (cap > RT_MAX_OBJS)
			return -ENOSPC;
		objs = reallocarray(rt->objs, cap, sizeof(*objs));
		if (!objs)
			return -ENOMEM;
		rt->objs = objs;
		rt->cap_objs = cap;
	}
	rt->objs[rt->nr_objs++] = obj;
	return 0;
}

static void table_del(struct rt_obj *obj)
{
	struct runtime *rt = &runtime__rt;

	for (uint32_t i = 0; i < rt->nr_objs; i++) {
		if (rt->objs[i] == obj) {
			rt->objs[i] = rt->objs[--rt->nr_objs];
			return;
		}
	}
}

/*
 * Program ids index env.progs (tail calls), so they must stay below RT_MAX_PROGS: take the
 * next id after the last one given, skipping slots still in use, as the kernel's cyclic idr.
 */
static int id_alloc(enum rt_kind kind, uint32_t *ret_id)
{
	struct runtime *rt = &runtime__rt;
	uint32_t id;

	if (kind != RT_PROG) {
		*ret_id = ++rt->next_id[kind];
		return 0;
	}
	for (uint32_t n = 1; n < RT_MAX_PROGS; n++) {
		id = (rt->next_id[kind] + n) % RT_MAX_PROGS;
		if (id && !rt->progs[id].insns) {
			rt->next_id[kind] = id;
			*ret_id = id;
			return 0;
		}
	}
	return -ENOSPC;
}

int runtime__obj_new(enum rt_kind kind, const char *name, struct rt_obj **ret_obj, int *ret_fd)
{
	struct runtime *rt = &runtime__rt;
	struct rt_obj *obj;
	int fd, err;

	obj = calloc(1, sizeof(*obj));
	if (!obj)
		return -ENOMEM;
	obj->kind = kind;
	obj->refs = 1;
	obj->fd_open = true;
	if (name)
		snprintf(obj->name, sizeof(obj->name), "%s", name);

	pthread_mutex_lock(&rt->lock);
	err = id_alloc(kind, &obj->id);
	if (!err)
		err = table_add(obj);
	pthread_mutex_unlock(&rt->lock);
	if (err) {
		free(obj);
		return err;
	}
	fd = memfd_new(kind_names[kind], &obj->ino);
	if (fd < 0) {
		pthread_mutex_lock(&rt->lock);
		table_del(obj);
		pthread_mutex_unlock(&rt->lock);
		free(obj);
		return fd;
	}
	*ret_obj = obj;
	*ret_fd = fd;
	return 0;
}

static struct rt_obj *find_ino(ino_t ino)
{
	struct runtime *rt = &runtime__rt;

	for (uint32_t i = 0; i < rt->nr_objs; i++) {
		if (rt->objs[i]->ino == ino && rt->objs[i]->fd_open)
			return rt->objs[i];
	}
	return NULL;
}

int runtime__obj_lookup_fd(int fd, enum rt_kind kind, struct rt_obj **ret_obj)
{
	struct runtime *rt = &runtime__rt;
	struct rt_obj *obj;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	if (st.st_dev != rt->memfd_dev)
		return -EINVAL;
	pthread_mutex_lock(&rt->lock);
	obj = find_ino(st.st_ino);
	if (!obj || (kind && obj->kind != kind)) {
		pthread_mutex_unlock(&rt->lock);
		return -EINVAL;
	}
	obj->refs++;
	pthread_mutex_unlock(&rt->lock);
	*ret_obj = obj;
	return 0;
}

struct rt_obj *runtime__obj_get_fd(int fd, enum rt_kind kind)
{
	struct rt_obj *obj;

	return runtime__obj_lookup_fd(fd, kind, &obj) ? NULL : obj;
}

bool runtime__obj_owns_fd(int fd)
{
	struct rt_obj *obj;

	if (!runtime__rt.active || runtime__obj_lookup_fd(fd, 0, &obj))
		return false;
	runtime__obj_put(obj);
	return true;
}

struct rt_obj *runtime__obj_get_id(uint32_t id, enum rt_kind kind)
{
	struct runtime *rt = &runtime__rt;
	struct rt_obj *found = NULL;

	pthread_mutex_lock(&rt->lock);
	for (uint32_t i = 0; i < rt->nr_objs; i++) {
		if (rt->objs[i]->kind == kind && rt->objs[i]->id == id) {
			found = rt->objs[i];
			found->refs++;
			break;
		}
	}
	pthread_mutex_unlock(&rt->lock);
	return found;
}

int runtime__obj_next_id(uint32_t id, enum rt_kind kind, uint32_t *ret_id)
{
	struct runtime *rt = &runtime__rt;
	uint32_t best = 0;

	pthread_mutex_lock(&rt->lock);
	for (uint32_t i = 0; i < rt->nr_objs; i++) {
		struct rt_obj *obj = rt->objs[i];

		if (obj->kind == kind && obj->id > id && (!best || obj->id < best))
			best = obj->id;
	}
	pthread_mutex_unlock(&rt->lock);
	if (!best)
		return -ENOENT;
	*ret_id = best;
	return 0;
}

/* Another fd of this process that names inode @ino, excluding @except; -1 if none. */
static int find_other_fd(ino_t ino, int except)
{
	struct dirent *de;
	struct stat st;
	int found = -1, dfd;
	DIR *dir;

	dir = opendir("/proc/self/fd");
	if (!dir)
		return -1;
	dfd = dirfd(dir);
	while ((de = readdir(dir))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.' || fd == dfd || fd == except)
			continue;
		if (fstat(fd, &st) == 0 && st.st_ino == ino && st.st_dev == runtime__rt.memfd_dev) {
			found = fd;
			break;
		}
	}
	closedir(dir);
	return found;
}

int runtime__obj_new_fd(struct rt_obj *obj)
{
	struct runtime *rt = &runtime__rt;
	int fd, other;
	ino_t ino;

	pthread_mutex_lock(&rt->lock);
	other = obj->fd_open ? find_other_fd(obj->ino, -1) : -1;
	if (other >= 0) {
		fd = fcntl(other, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			fd = -errno;
		pthread_mutex_unlock(&rt->lock);
		return fd;
	}
	/* Only internal users hold it (a map used by a program): give it a new memfd. */
	fd = memfd_new(kind_names[obj->kind], &ino);
	if (fd >= 0) {
		obj->ino = ino;
		if (!obj->fd_open)
			obj->refs++;
		obj->fd_open = true;
	}
	pthread_mutex_unlock(&rt->lock);
	return fd;
}

void runtime__obj_get(struct rt_obj *obj)
{
	pthread_mutex_lock(&runtime__rt.lock);
	obj->refs++;
	pthread_mutex_unlock(&runtime__rt.lock);
}

/* Frees what the object owns. Links and perf events belong to perf.c, which releases them. */
static void obj_release(struct rt_obj *obj)
{
	switch (obj->kind) {
	case RT_PROG:
		runtime__prog_release(obj);
		break;
	case RT_BTF:
		free(obj->btf.data);
		break;
	case RT_LINK:
		runtime__link_release(obj);
		break;
	case RT_PERF:
		runtime__perf_release(obj);
		break;
	case RT_MAP:
		/* The arena never reclaims maps (abi.h: brk only grows). */
		break;
	}
}

void runtime__obj_put(struct rt_obj *obj)
{
	struct runtime *rt = &runtime__rt;
	bool last;

	if (!obj)
		return;
	pthread_mutex_lock(&rt->lock);
	last = --obj->refs == 0 && !rt->finalizing;
	if (last)
		table_del(obj);
	pthread_mutex_unlock(&rt->lock);
	if (last) {
		obj_release(obj);
		free(obj);
	}
}

/*
 * The kernel frees an object when its last file reference goes; dup'ed fds share one file.
 * We see only close() calls, so after closing @fd we look for another fd on the same memfd
 * (/proc/self/fd) and drop the fds' reference only when none is left.
 */
int runtime__obj_close_fd(int fd)
{
	struct rt_obj *obj;
	bool drop = false;
	int err;

	err = runtime__obj_lookup_fd(fd, 0, &obj);
	if (err)
		return err;
	err = raw_close(fd);
	pthread_mutex_lock(&runtime__rt.lock);
	if (obj->fd_open && find_other_fd(obj->ino, fd) < 0) {
		obj->fd_open = false;
		drop = true;
	}
	pthread_mutex_unlock(&runtime__rt.lock);
	if (drop)
		runtime__obj_put(obj);
	runtime__obj_put(obj);
	return err;
}

/*
 * bpfi_runtime_fini(): the process's fds stay open (they are the caller's), the objects go.
 * Releases put other objects (a link its program); with rt->finalizing those puts only count,
 * and every object is freed here once.
 */
void runtime__obj_free_all(void)
{
	struct runtime *rt = &runtime__rt;

	rt->finalizing = true;
	for (uint32_t i = 0; i < rt->nr_objs; i++)
		obj_release(rt->objs[i]);
	for (uint32_t i = 0; i < rt->nr_objs; i++)
		free(rt->objs[i]);
	rt->nr_objs = 0;
	rt->finalizing = false;
	free(rt->objs);
	rt->objs = NULL;
	rt->cap_objs = 0;
}
