// SPDX-License-Identifier: MIT
/*
 * BPF_BTF_LOAD and BTF object info. The blob is kept as given (bpftool and bpftrace read it
 * back) once the strict check (common/btfcheck.c) has passed it: header, sections, records,
 * string offsets, type ids and loops, so that nothing that reads it back trusts junk.
 */
#include <errno.h>
#include <linux/btf.h>
#include <stdlib.h>
#include <string.h>

#include <bpfinject/btfcheck.h>

#include "common/compiler.h"
#include "runtime_internal.h"

/* The kernel's BTF_MAX_SIZE. */
#define RT_BTF_MAX_SIZE (16u * 1024 * 1024)

int runtime__btf_load(union bpf_attr *attr, unsigned int size)
{
	char *ubuf = (char *)(unsigned long)attr->btf_log_buf;
	struct bpfi_log log = {
		.buf = attr->btf_log_level ? ubuf : NULL,
		.size = attr->btf_log_size,
		.level = attr->btf_log_level,
	};
	struct rt_obj *obj;
	void *data;
	int err, fd;

	if (attr->btf_log_level && (!ubuf || attr->btf_log_size < 128))
		return -EINVAL;
	if (!attr->btf_size || attr->btf_size > RT_BTF_MAX_SIZE)
		return -E2BIG;
	if (!attr->btf)
		return -EFAULT;
	err = bpfi_btf_check((const void *)(unsigned long)attr->btf, attr->btf_size, NULL, 0, &log);
	if (err)
		return err;
	data = malloc(attr->btf_size);
	if (!data)
		return -ENOMEM;
	memcpy(data, (const void *)(unsigned long)attr->btf, attr->btf_size);
	err = runtime__obj_new(RT_BTF, NULL, &obj, &fd);
	if (err) {
		free(data);
		return err;
	}
	obj->btf.data = data;
	obj->btf.size = attr->btf_size;
	return fd;
}

int runtime__btf_get_info(struct rt_obj *obj, void *uinfo, uint32_t *info_len)
{
	struct bpf_btf_info info = { 0 };

	/* Pointers and buffer sizes come from the caller's struct, as the kernel reads them. */
	if (uinfo)
		memcpy(&info, uinfo, BPFI_MIN(*info_len, (uint32_t)sizeof(info)));
	if (info.btf && info.btf_size)
		memcpy((void *)(unsigned long)info.btf, obj->btf.data,
		       BPFI_MIN(info.btf_size, obj->btf.size));
	info.btf_size = obj->btf.size;
	info.id = obj->id;
	if (info.name && info.name_len)
		*(char *)(unsigned long)info.name = 0; /* user BTF has no name */
	info.name_len = 0;
	info.kernel_btf = 0;
	return runtime__info_copy_out(uinfo, info_len, &info, sizeof(info));
}
