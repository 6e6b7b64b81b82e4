// SPDX-License-Identifier: MIT
/*
 * test_runtime: code that is dead once the frozen .rodata is known (as libbpf-tools' option
 * flags and libbpf's poisoned calls): it must load, and the live branch must run.
 */
/* The UAPI types must come before libbpf's helper definitions. */
/* clang-format off */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>
/* clang-format on */

static long (*bpf_no_such_helper)(void) = (void *)999;

const volatile int use_missing_helper = 0;
const volatile int use_optional_map = 0;

/* Not created when the loader sets autocreate off: libbpf poisons its ld_imm64 uses. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} optional SEC(".maps");

SEC("raw_tracepoint/rodata_dead")
int rodata_dead(void *ctx)
{
	if (use_missing_helper)
		return (int)bpf_no_such_helper();
	return 11;
}

SEC("raw_tracepoint/rodata_poisoned")
int rodata_poisoned(void *ctx)
{
	__u32 zero = 0;
	__u64 *v;

	if (use_optional_map) {
		v = bpf_map_lookup_elem(&optional, &zero);
		return v ? (int)*v : -1;
	}
	return 12;
}

char LICENSE[] SEC("license") = "GPL";
