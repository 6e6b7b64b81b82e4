// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness of BTF as the shim hands it to the runtime (BPF_BTF_LOAD from an
 * unmodified tool): the input is a .BTF blob. It goes through BTF_LOAD; a blob the runtime
 * accepts is read back (OBJ_GET_INFO_BY_FD, as bpftool and bpftrace do) and parsed by libbpf,
 * and every type is followed the ways libbpf follows them (sizes, modifiers, names), which
 * must neither crash nor loop: the strict check (common/btfcheck.c) is what makes that so.
 */
#include <bpf/btf.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpfinject/btfcheck.h>
#include <bpfinject/runtime.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct bpfi_runtime_opts opts = { .sz = sizeof(opts) };

	if (bpfi_runtime_init(&opts, NULL))
		abort();
	return 0;
}

static void follow(const struct btf *btf)
{
	uint32_t n = btf__type_cnt(btf), id;

	for (id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if (!t || !btf__name_by_offset(btf, t->name_off))
			abort(); /* the check let through what libbpf cannot name */
		btf__resolve_size(btf, id);
		btf__resolve_type(btf, id);
		btf__align_of(btf, id);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union bpf_attr a = { 0 };
	struct bpf_btf_info info = { 0 };
	struct btf *btf;
	void *copy;
	long fd;

	a.btf = (uint64_t)(uintptr_t)data;
	a.btf_size = (uint32_t)size;
	fd = bpfi_runtime_bpf(BPF_BTF_LOAD, &a, sizeof(a));
	if (fd < 0)
		return 0;
	copy = malloc(size);
	if (!copy)
		abort();
	memset(&a, 0, sizeof(a));
	info.btf = (uint64_t)(uintptr_t)copy;
	info.btf_size = (uint32_t)size;
	a.info.bpf_fd = (uint32_t)fd;
	a.info.info = (uint64_t)(uintptr_t)&info;
	a.info.info_len = sizeof(info);
	if (bpfi_runtime_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) || info.btf_size != size)
		abort();
	btf = btf__new(copy, (uint32_t)size);
	if (btf) {
		follow(btf);
		btf__free(btf);
	}
	free(copy);
	bpfi_runtime_close((int)fd, &(bool){ false });
	return 0;
}
