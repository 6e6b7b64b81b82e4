// SPDX-License-Identifier: MIT
/*
 * bpf(2): the attr size checks the kernel makes, then one handler per command. Commands we
 * do not implement answer -EINVAL, as a kernel that does not know them.
 */
#include <errno.h>
#include <string.h>

#include "common/compiler.h"
#include "runtime_internal.h"

/*
 * The kernel accepts an attr larger than its own union only when the extra bytes are zero
 * (bpf_check_uarg_tail_zero: -E2BIG otherwise) and zero-fills a shorter one.
 */
static int attr_tail_zero(const void *attr, unsigned int size, size_t known)
{
	const unsigned char *p = attr;

	for (size_t i = known; i < size; i++) {
		if (p[i])
			return -E2BIG;
	}
	return 0;
}

long bpfi_runtime_bpf(int cmd, void *uattr, unsigned int size)
{
	union bpf_attr attr;
	long ret;
	int err;

	if (!runtime__rt.active)
		return -ENOSYS;
	if (!uattr && size)
		return -EFAULT;
	err = attr_tail_zero(uattr, size, sizeof(attr));
	if (err)
		return err;
	size = BPFI_MIN(size, (unsigned int)sizeof(attr));
	memset(&attr, 0, sizeof(attr));
	if (size)
		memcpy(&attr, uattr, size);

	if (cmd == BPF_PROG_TEST_RUN) {
		/* Runs the program without the lock: it may loop for long (repeat). */
		ret = runtime__prog_test_run(&attr, size);
	} else {
		pthread_mutex_lock(&runtime__rt.lock);
		ret = runtime__bpf(cmd, &attr, size);
		pthread_mutex_unlock(&runtime__rt.lock);
	}
	/* Output fields (ids, counts, sizes, retval) go back in place, as the kernel writes them. */
	if (size)
		memcpy(uattr, &attr, size);
	return ret;
}

int runtime__info_copy_out(void *uinfo, uint32_t *info_len, const void *info, uint32_t info_sz)
{
	uint32_t len = *info_len;
	int err;

	if (!uinfo)
		return -EFAULT;
	err = attr_tail_zero(uinfo, len, info_sz);
	if (err)
		return err;
	len = BPFI_MIN(len, info_sz);
	memcpy(uinfo, info, len);
	*info_len = len;
	return 0;
}

static int obj_get_info(union bpf_attr *attr)
{
	void *uinfo = (void *)(unsigned long)attr->info.info;
	struct rt_obj *obj;
	int err;

	if (attr->info.info_len && !uinfo)
		return -EFAULT;
	err = runtime__obj_lookup_fd((int)attr->info.bpf_fd, 0, &obj);
	if (err)
		return err;
	switch (obj->kind) {
	case RT_MAP:
		err = runtime__map_get_info(obj, uinfo, &attr->info.info_len);
		break;
	case RT_PROG:
		err = runtime__prog_get_info(obj, uinfo, &attr->info.info_len);
		break;
	case RT_BTF:
		err = runtime__btf_get_info(obj, uinfo, &attr->info.info_len);
		break;
	case RT_LINK:
		err = runtime__link_get_info(obj, uinfo, &attr->info.info_len);
		break;
	default:
		err = -EINVAL; /* a perf event fd is not a bpf object */
		break;
	}
	runtime__obj_put(obj);
	return err;
}

static enum rt_kind id_cmd_kind(int cmd)
{
	switch (cmd) {
	case BPF_PROG_GET_NEXT_ID:
	case BPF_PROG_GET_FD_BY_ID:
		return RT_PROG;
	case BPF_MAP_GET_NEXT_ID:
	case BPF_MAP_GET_FD_BY_ID:
		return RT_MAP;
	case BPF_BTF_GET_NEXT_ID:
	case BPF_BTF_GET_FD_BY_ID:
		return RT_BTF;
	default:
		return RT_LINK;
	}
}

/* BPF_*_GET_NEXT_ID: the ids of our objects only, as on a kernel that holds no other. */
static int get_next_id(int cmd, union bpf_attr *attr)
{
	return runtime__obj_next_id(attr->start_id, id_cmd_kind(cmd), &attr->next_id);
}

static int get_fd_by_id(int cmd, union bpf_attr *attr)
{
	struct rt_obj *obj;
	int fd;

	if (attr->open_flags & ~(BPF_F_RDONLY | BPF_F_WRONLY))
		return -EINVAL;
	obj = runtime__obj_get_id(attr->start_id, id_cmd_kind(cmd));
	if (!obj)
		return -ENOENT;
	fd = runtime__obj_new_fd(obj);
	runtime__obj_put(obj);
	return fd;
}

/*
 * The dispatch switch: every command libbpf 1.1, libbpf-tools and bpftrace issue
 * (reference/bpf-surface.md §2). Called with runtime__rt.lock held.
 */
long runtime__bpf(int cmd, void *vattr, unsigned int size)
{
	union bpf_attr *attr = vattr;

	switch (cmd) {
	case BPF_MAP_CREATE:
	case BPF_MAP_LOOKUP_ELEM:
	case BPF_MAP_UPDATE_ELEM:
	case BPF_MAP_DELETE_ELEM:
	case BPF_MAP_GET_NEXT_KEY:
	case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
	case BPF_MAP_FREEZE:
	case BPF_MAP_LOOKUP_BATCH:
	case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
	case BPF_MAP_UPDATE_BATCH:
	case BPF_MAP_DELETE_BATCH:
		return runtime__map_cmd(cmd, attr, size);
	case BPF_PROG_LOAD:
		return runtime__prog_load(attr, size);
	case BPF_PROG_BIND_MAP:
		return runtime__prog_bind_map(attr);
	case BPF_PROG_TEST_RUN:
		return runtime__prog_test_run(attr, size);
	case BPF_OBJ_GET_INFO_BY_FD:
		return obj_get_info(attr);
	case BPF_BTF_LOAD:
		return runtime__btf_load(attr, size);
	case BPF_PROG_GET_NEXT_ID:
	case BPF_MAP_GET_NEXT_ID:
	case BPF_BTF_GET_NEXT_ID:
	case BPF_LINK_GET_NEXT_ID:
		return get_next_id(cmd, attr);
	case BPF_PROG_GET_FD_BY_ID:
	case BPF_MAP_GET_FD_BY_ID:
	case BPF_BTF_GET_FD_BY_ID:
	case BPF_LINK_GET_FD_BY_ID:
		return get_fd_by_id(cmd, attr);
	case BPF_LINK_CREATE:
		return runtime__link_create(attr, size);
	case BPF_LINK_DETACH:
		return runtime__link_detach(attr, size);
	case BPF_OBJ_PIN:
	case BPF_OBJ_GET:
		return -EPERM; /* no bpffs here */
	default:
		return -EINVAL;
	}
}
