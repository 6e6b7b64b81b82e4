// SPDX-License-Identifier: MIT
/*
 * The map commands of bpf(2): creation in the arena, element access through maps/, the batch
 * commands with the kernel's ENOENT-and-count protocol, and the fd-valued arrays (perf events,
 * programs) whose values arrive as fds and are stored as what the programs need.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>

#include <bpfinject/maps.h>

#include "common/compiler.h"
#include "runtime_internal.h"

#define U64_PTR(x) ((void *)(unsigned long)(x))

/* Map and program names: the kernel's bpf_obj_name_cpy() accepts [A-Za-z0-9_.] only. */
int runtime__name_copy(char *dst, const char *src, size_t size)
{
	size_t i;

	memset(dst, 0, size);
	for (i = 0; i < size && src[i]; i++) {
		char c = src[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.'))
			return -EINVAL;
		dst[i] = c;
	}
	return i == size ? -EINVAL : 0;
}

static int map_create(union bpf_attr *attr)
{
	struct bpfi_map_create_opts opts = { .sz = sizeof(opts) };
	struct bpfi_map_hdr *hdr;
	struct rt_obj *obj, *btf = NULL;
	char name[BPF_OBJ_NAME_LEN];
	int err, fd;

	err = runtime__name_copy(name, attr->map_name, sizeof(name));
	if (err)
		return err;
	if (attr->inner_map_fd || attr->map_ifindex)
		return -EINVAL; /* map-in-map and offload: not supported */
	if (attr->btf_fd) {
		btf = runtime__obj_get_fd((int)attr->btf_fd, RT_BTF);
		if (!btf)
			return -EINVAL;
	}
	opts.type = attr->map_type;
	opts.key_size = attr->key_size;
	opts.value_size = attr->value_size;
	opts.max_entries = attr->max_entries;
	opts.map_flags = attr->map_flags;
	opts.name = name;
	err = bpfi_map_new(runtime__rt.arena, &opts, &hdr, NULL);
	if (err)
		goto out;
	err = runtime__obj_new(RT_MAP, name, &obj, &fd);
	if (err)
		goto out;
	obj->id = hdr->id;
	obj->map.hdr = hdr;
	obj->map.btf_fd_id = btf ? btf->id : 0;
	obj->map.btf_key_type_id = attr->btf_key_type_id;
	obj->map.btf_value_type_id = attr->btf_value_type_id;
	obj->map.map_extra = (uint32_t)attr->map_extra;
	err = fd;
out:
	runtime__obj_put(btf);
	return err;
}

static bool is_percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* Bytes one value takes on the syscall side (percpu: every CPU's copy, 8-byte aligned). */
static size_t value_stride(const struct bpfi_map_hdr *hdr)
{
	if (is_percpu(hdr->type))
		return ALIGN_UP((size_t)hdr->value_size, 8) * hdr->nr_cpus;
	return hdr->value_size;
}

/* PERF_EVENT_ARRAY: the value is a BPF_OUTPUT perf event fd; its buffer goes into the slot. */
static int update_perf_array(struct bpfi_map_hdr *hdr, uint32_t index, int perf_fd)
{
	struct rt_obj *perf;
	int err;

	if (index >= hdr->max_entries)
		return -E2BIG;
	err = runtime__obj_lookup_fd(perf_fd, RT_PERF, &perf);
	if (err)
		return err == -EINVAL ? -EBADF : err;
	if (perf->perf.type != PERF_TYPE_SOFTWARE || perf->perf.config != 10 /* BPF_OUTPUT */ ||
	    !perf->perf.perfbuf_off)
		err = -EINVAL;
	else
		err = bpfi_perf_array_set(hdr, index, perf->perf.perfbuf_off);
	runtime__obj_put(perf);
	return err;
}

/* Drops the reference a PROG_ARRAY slot held on program @id. */
static void put_prog_id(uint32_t id)
{
	struct rt_obj *prog = id ? runtime__obj_get_id(id, RT_PROG) : NULL;

	if (prog) {
		runtime__obj_put(prog); /* the lookup's */
		runtime__obj_put(prog); /* the slot's */
	}
}

/*
 * PROG_ARRAY: the value is a program fd; the slot keeps its id (env.progs index) and, as in
 * the kernel, a reference: the program outlives its fds while a slot names it.
 */
static int update_prog_array(struct bpfi_map_hdr *hdr, const void *key, int prog_fd, uint64_t flags)
{
	uint32_t old = 0, id;
	struct rt_obj *prog;
	int err;

	err = runtime__obj_lookup_fd(prog_fd, RT_PROG, &prog);
	if (err)
		return err == -EINVAL ? -EBADF : err;
	id = prog->id;
	bpfi_map_lookup_user(hdr, key, &old, 0);
	err = (int)bpfi_map_update_user(hdr, key, &id, flags);
	if (err) {
		runtime__obj_put(prog);
		return err;
	}
	put_prog_id(old);
	return 0; /* the lookup's reference is now the slot's */
}

static int map_update(struct bpfi_map_hdr *hdr, const void *key, const void *value, uint64_t flags)
{
	if (atomic_load(&hdr->frozen))
		return -EPERM;
	/* bpf_fd_array_map_update_elem(): fd-valued slots take BPF_ANY only */
	if ((hdr->type == BPF_MAP_TYPE_PERF_EVENT_ARRAY || hdr->type == BPF_MAP_TYPE_PROG_ARRAY) &&
	    flags != BPF_ANY)
		return -EINVAL;
	switch (hdr->type) {
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
		return update_perf_array(hdr, *(const uint32_t *)key, *(const int *)value);
	case BPF_MAP_TYPE_PROG_ARRAY:
		return update_prog_array(hdr, key, *(const int *)value, flags);
	case BPF_MAP_TYPE_CGROUP_ARRAY:
		return -EOPNOTSUPP; /* created so that objects load; no cgroups here */
	default:
		return (int)bpfi_map_update_user(hdr, key, value, flags);
	}
}

static int map_delete(struct bpfi_map_hdr *hdr, const void *key)
{
	uint32_t index = *(const uint32_t *)key;

	if (atomic_load(&hdr->frozen))
		return -EPERM;
	if (hdr->type == BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
		if (index >= hdr->max_entries)
			return -E2BIG;
		return bpfi_perf_array_set(hdr, index, 0);
	}
	if (hdr->type == BPF_MAP_TYPE_PROG_ARRAY) {
		uint32_t id = 0;
		int err;

		if (bpfi_map_lookup_user(hdr, key, &id, 0) || !id)
			return -ENOENT;
		err = (int)bpfi_map_delete_elem(hdr, key);
		if (!err)
			put_prog_id(id);
		return err;
	}
	return (int)bpfi_map_delete_elem(hdr, key);
}

/*
 * BPF_MAP_FREEZE: once only (-EBUSY after), and not while a writable mapping exists (also
 * -EBUSY, bpf_map_write_active()); syscall writes fail with -EPERM afterwards.
 */
static int map_freeze(struct rt_obj *obj)
{
	struct bpfi_map_hdr *hdr = obj->map.hdr;
	uint32_t expect = 0;

	if (hdr->type == BPF_MAP_TYPE_PERF_EVENT_ARRAY || hdr->type == BPF_MAP_TYPE_PROG_ARRAY)
		return -ENOTSUP;
	if (runtime__map_mmapped_writable(obj->id))
		return -EBUSY;
	if (!atomic_compare_exchange_strong(&hdr->frozen, &expect, 1))
		return -EBUSY;
	return 0;
}

static bool batch_supported(uint32_t type, int cmd)
{
	switch (type) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		return true;
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		/* generic_map_lookup_batch/update_batch only: arrays cannot delete */
		return cmd == BPF_MAP_LOOKUP_BATCH || cmd == BPF_MAP_UPDATE_BATCH;
	default:
		return false;
	}
}

/*
 * LOOKUP_BATCH / LOOKUP_AND_DELETE_BATCH. The batch token (in_batch/out_batch) is a u32, as
 * the kernel's hash tables use (a bucket there, here the number of elements already walked in
 * get_next_key order; lookup-and-delete removes what it returns, so it always restarts at 0).
 * Returns -ENOENT when the walk reached the end, with count = elements copied (maybe 0).
 */
static int map_lookup_batch(struct bpfi_map_hdr *hdr, union bpf_attr *attr, bool del)
{
	char *keys = U64_PTR(attr->batch.keys), *values = U64_PTR(attr->batch.values);
	uint32_t skip = 0, max = attr->batch.count, cp = 0, walked = 0;
	size_t ks = hdr->key_size, vs = value_stride(hdr);
	void *prev = NULL, *cur;
	int err = 0;

	if (attr->batch.flags || (attr->batch.elem_flags & ~(uint64_t)BPF_F_LOCK))
		return -EINVAL;
	if (!max)
		return 0;
	if (!keys || !values)
		return -EFAULT;
	if (attr->batch.in_batch)
		skip = *(uint32_t *)U64_PTR(attr->batch.in_batch);
	cur = malloc(ks);
	if (!cur)
		return -ENOMEM;
	for (;;) {
		err = (int)bpfi_map_get_next_key(hdr, prev, cur);
		if (err)
			break;
		memcpy(keys + (size_t)cp * ks, cur, ks);
		prev = keys + (size_t)cp * ks;
		if (walked++ < skip)
			continue;
		err = (int)bpfi_map_lookup_user(hdr, cur, values + (size_t)cp * vs,
						attr->batch.elem_flags);
		if (err == -ENOENT) {
			err = 0; /* deleted meanwhile: skip it, as the kernel's walk would */
			continue;
		}
		if (err)
			break;
		if (++cp == max)
			break;
	}
	/*
	 * The kernel's hash batch reports the end of the walk (-ENOENT) with the last batch
	 * even when it filled count; arrays (generic_map_lookup_batch) only on the next call.
	 */
	if (!err && cp == max && hdr->type != BPF_MAP_TYPE_ARRAY &&
	    hdr->type != BPF_MAP_TYPE_PERCPU_ARRAY)
		err = (int)bpfi_map_get_next_key(hdr, prev, cur);
	free(cur);
	if (err && err != -ENOENT)
		return err;
	if (del) {
		for (uint32_t i = 0; i < cp; i++)
			bpfi_map_delete_elem(hdr, keys + (size_t)i * ks);
	}
	attr->batch.count = cp;
	if (attr->batch.out_batch)
		*(uint32_t *)U64_PTR(attr->batch.out_batch) = del ? 0 : walked;
	return err;
}

/* UPDATE_BATCH / DELETE_BATCH (generic_map_*_batch): stop at the first error, count = done. */
static int map_write_batch(struct bpfi_map_hdr *hdr, union bpf_attr *attr, bool del)
{
	const char *keys = U64_PTR(attr->batch.keys), *values = U64_PTR(attr->batch.values);
	size_t ks = hdr->key_size, vs = value_stride(hdr);
	uint32_t cp;
	int err = 0;

	if (attr->batch.flags || (attr->batch.elem_flags & ~(uint64_t)BPF_F_LOCK))
		return -EINVAL;
	if (!keys || (!del && !values))
		return attr->batch.count ? -EFAULT : 0;
	for (cp = 0; cp < attr->batch.count; cp++) {
		const void *key = keys + (size_t)cp * ks;

		err = del ? map_delete(hdr, key)
			  : map_update(hdr, key, values + (size_t)cp * vs, attr->batch.elem_flags);
		if (err)
			break;
	}
	attr->batch.count = cp;
	return err;
}

static int map_elem_cmd(int cmd, struct bpfi_map_hdr *hdr, union bpf_attr *attr)
{
	const void *key = U64_PTR(attr->key);
	void *value = U64_PTR(attr->value);

	/* ringbuf_map_ops: every element operation is ERR_PTR(-ENOTSUPP) */
	if (hdr->type == BPF_MAP_TYPE_RINGBUF)
		return -RT_ENOTSUPP;

	switch (cmd) {
	case BPF_MAP_LOOKUP_ELEM:
		/* fd arrays without a sys lookup, and rings: the kernel's -ENOTSUPP */
		if (hdr->type == BPF_MAP_TYPE_PERF_EVENT_ARRAY ||
		    hdr->type == BPF_MAP_TYPE_CGROUP_ARRAY)
			return -RT_ENOTSUPP;
		return (int)bpfi_map_lookup_user(hdr, key, value, attr->flags);
	case BPF_MAP_UPDATE_ELEM:
		return map_update(hdr, key, value, attr->flags);
	case BPF_MAP_DELETE_ELEM:
		return map_delete(hdr, key);
	case BPF_MAP_GET_NEXT_KEY:
		return (int)bpfi_map_get_next_key(hdr, key, U64_PTR(attr->next_key));
	case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
		if (atomic_load(&hdr->frozen))
			return -EPERM;
		return (int)bpfi_map_lookup_and_delete_user(hdr, key, value);
	default:
		return -EINVAL;
	}
}

static int map_batch_cmd(int cmd, struct bpfi_map_hdr *hdr, union bpf_attr *attr)
{
	if (!batch_supported(hdr->type, cmd))
		return -RT_ENOTSUPP;
	switch (cmd) {
	case BPF_MAP_LOOKUP_BATCH:
		return map_lookup_batch(hdr, attr, false);
	case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
		return map_lookup_batch(hdr, attr, true);
	case BPF_MAP_UPDATE_BATCH:
		return map_write_batch(hdr, attr, false);
	default:
		return map_write_batch(hdr, attr, true);
	}
}

long runtime__map_cmd(int cmd, union bpf_attr *attr, unsigned int size)
{
	struct rt_obj *obj;
	int fd, err;

	if (cmd == BPF_MAP_CREATE)
		return map_create(attr);
	fd = (int)(cmd >= BPF_MAP_LOOKUP_BATCH ? attr->batch.map_fd : attr->map_fd);
	err = runtime__obj_lookup_fd(fd, RT_MAP, &obj);
	if (err)
		return err;
	if (cmd == BPF_MAP_FREEZE)
		err = map_freeze(obj);
	else if (cmd >= BPF_MAP_LOOKUP_BATCH)
		err = map_batch_cmd(cmd, obj->map.hdr, attr);
	else
		err = map_elem_cmd(cmd, obj->map.hdr, attr);
	runtime__obj_put(obj);
	return err;
}

int runtime__map_get_info(struct rt_obj *obj, void *uinfo, uint32_t *info_len)
{
	const struct bpfi_map_hdr *hdr = obj->map.hdr;
	struct bpf_map_info info = {
		.type = hdr->type,
		.id = obj->id,
		.key_size = hdr->key_size,
		.value_size = hdr->value_size,
		.max_entries = hdr->max_entries,
		.map_flags = hdr->map_flags,
		.btf_id = obj->map.btf_fd_id,
		.btf_key_type_id = obj->map.btf_key_type_id,
		.btf_value_type_id = obj->map.btf_value_type_id,
		.map_extra = obj->map.map_extra,
	};

	memcpy(info.name, obj->name, sizeof(info.name));
	return runtime__info_copy_out(uinfo, info_len, &info, sizeof(info));
}
