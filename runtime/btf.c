// SPDX-License-Identifier: MIT
/*
 * BPF_BTF_LOAD and BTF object info. The blob is kept as given (bpftool and bpftrace read it
 * back); it is checked as far as the kernel's btf_parse_hdr() and a walk of the type section,
 * which is what libbpf's feature-probe blobs and clang's .BTF need to be told apart from junk.
 */
#include <errno.h>
#include <linux/btf.h>
#include <stdlib.h>
#include <string.h>

#include "common/compiler.h"
#include "runtime_internal.h"

/* The kernel's BTF_MAX_SIZE. */
#define RT_BTF_MAX_SIZE (16u * 1024 * 1024)

/* Bytes that follow struct btf_type for @kind with @vlen entries; -1: unknown kind. */
static long btf_type_extra(uint32_t kind, uint32_t vlen)
{
	switch (kind) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return 4;
	case BTF_KIND_ARRAY:
		return sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return (long)vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return (long)vlen * sizeof(struct btf_enum);
	case BTF_KIND_FUNC_PROTO:
		return (long)vlen * sizeof(struct btf_param);
	case BTF_KIND_DATASEC:
		return (long)vlen * sizeof(struct btf_var_secinfo);
	case BTF_KIND_ENUM64:
		return (long)vlen * sizeof(struct btf_enum64);
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	default:
		return -1;
	}
}

/* The type section: every record complete, kinds known (up to ENUM64, a 6.x kernel's set). */
static int btf_check_types(const char *types, uint32_t len, uint32_t str_len, struct bpfi_log *log)
{
	uint32_t off = 0, id = 1;

	while (off < len) {
		const struct btf_type *t = (const void *)(types + off);
		uint32_t kind, vlen;
		long extra;

		if (len - off < sizeof(*t))
			return bpfi_log_err(log, -EINVAL, "[%u] type truncated", id);
		kind = BTF_INFO_KIND(t->info);
		vlen = BTF_INFO_VLEN(t->info);
		extra = btf_type_extra(kind, vlen);
		if (extra < 0)
			return bpfi_log_err(log, -EINVAL, "[%u] invalid kind:%u", id, kind);
		if (t->name_off >= str_len)
			return bpfi_log_err(log, -EINVAL, "[%u] invalid name_offset:%u", id,
					    t->name_off);
		if ((uint64_t)len - off - sizeof(*t) < (uint64_t)extra)
			return bpfi_log_err(log, -EINVAL, "[%u] type truncated", id);
		off += sizeof(*t) + (uint32_t)extra;
		id++;
	}
	return 0;
}

/* btf_parse_hdr() and btf_parse_str_sec(): the sections inside the blob, in order. */
static int btf_check(const void *data, uint32_t size, struct bpfi_log *log)
{
	const struct btf_header *hdr = data;
	const char *base = data;
	uint32_t end;

	if (size < sizeof(*hdr))
		return bpfi_log_err(log, -EINVAL, "btf_header not found");
	if (hdr->magic != BTF_MAGIC)
		return bpfi_log_err(log, -EINVAL, "Invalid magic");
	if (hdr->version != BTF_VERSION)
		return bpfi_log_err(log, -ENOTSUP, "Unsupported version");
	if (hdr->flags)
		return bpfi_log_err(log, -ENOTSUP, "Unsupported flags");
	if (hdr->hdr_len < sizeof(*hdr) || hdr->hdr_len > size)
		return bpfi_log_err(log, -EINVAL, "Unsupported btf_header");
	end = size - hdr->hdr_len;
	if (hdr->type_off % 4 || (uint64_t)hdr->type_off + hdr->type_len > end ||
	    (uint64_t)hdr->str_off + hdr->str_len > end ||
	    hdr->type_off + hdr->type_len > hdr->str_off)
		return bpfi_log_err(log, -EINVAL, "Invalid section offset or length");
	if (!hdr->str_len || base[hdr->hdr_len + hdr->str_off] ||
	    base[hdr->hdr_len + hdr->str_off + hdr->str_len - 1])
		return bpfi_log_err(log, -EINVAL, "Invalid string section");
	return btf_check_types(base + hdr->hdr_len + hdr->type_off, hdr->type_len, hdr->str_len,
			       log);
}

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
	err = btf_check((const void *)(unsigned long)attr->btf, attr->btf_size, &log);
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
