// SPDX-License-Identifier: MIT
/*
 * Helper prototypes (the kernel's struct bpf_func_proto, reduced): argument and return types
 * of the helpers libbpf-tools and bpftrace use, so calls to them are checked like the
 * kernel checks them. Helpers missing here are still callable when known; their arguments
 * are then not checked and R0 is an unknown scalar. Growing this table is how the check
 * grows into the full verifier.
 */
#include <stddef.h>

#include "verifier_internal.h"

#define P(id_, name_, ret_, map_type_, ...) \
	[id_] = { .name = name_, .ret = ret_, .map_type = map_type_, .args = { __VA_ARGS__ } }

static const struct helper_proto protos[] = {
	P(1, "map_lookup_elem", VRET_MAP_VALUE_OR_NULL, 0, VARG_CONST_MAP_PTR, VARG_PTR_TO_MAP_KEY),
	P(2, "map_update_elem", VRET_INTEGER, 0, VARG_CONST_MAP_PTR, VARG_PTR_TO_MAP_KEY,
	  VARG_PTR_TO_MAP_VALUE, VARG_ANYTHING),
	P(3, "map_delete_elem", VRET_INTEGER, 0, VARG_CONST_MAP_PTR, VARG_PTR_TO_MAP_KEY),
	P(4, "probe_read", VRET_INTEGER, 0, VARG_PTR_TO_UNINIT_MEM, VARG_CONST_SIZE_OR_ZERO,
	  VARG_ANYTHING),
	P(5, "ktime_get_ns", VRET_INTEGER, 0, 0),
	/* trace_printk: R3-R5 are the format's arguments, read only if the format says so. */
	P(6, "trace_printk", VRET_INTEGER, 0, VARG_PTR_TO_MEM, VARG_CONST_SIZE),
	P(7, "get_prandom_u32", VRET_INTEGER, 0, 0),
	P(8, "get_smp_processor_id", VRET_INTEGER, 0, 0),
	P(12, "tail_call", VRET_INTEGER, BPF_MAP_TYPE_PROG_ARRAY, VARG_PTR_TO_CTX,
	  VARG_CONST_MAP_PTR, VARG_ANYTHING),
	P(14, "get_current_pid_tgid", VRET_INTEGER, 0, 0),
	P(15, "get_current_uid_gid", VRET_INTEGER, 0, 0),
	P(16, "get_current_comm", VRET_INTEGER, 0, VARG_PTR_TO_UNINIT_MEM, VARG_CONST_SIZE),
	P(25, "perf_event_output", VRET_INTEGER, BPF_MAP_TYPE_PERF_EVENT_ARRAY, VARG_PTR_TO_CTX,
	  VARG_CONST_MAP_PTR, VARG_ANYTHING, VARG_PTR_TO_MEM, VARG_CONST_SIZE_OR_ZERO),
	P(35, "get_current_task", VRET_INTEGER, 0, 0),
	P(37, "current_task_under_cgroup", VRET_INTEGER, BPF_MAP_TYPE_CGROUP_ARRAY,
	  VARG_CONST_MAP_PTR, VARG_ANYTHING),
	P(45, "probe_read_str", VRET_INTEGER, 0, VARG_PTR_TO_UNINIT_MEM, VARG_CONST_SIZE_OR_ZERO,
	  VARG_ANYTHING),
	P(58, "override_return", VRET_INTEGER, 0, VARG_PTR_TO_CTX, VARG_ANYTHING),
	P(67, "get_stack", VRET_INTEGER, 0, VARG_PTR_TO_CTX, VARG_PTR_TO_UNINIT_MEM,
	  VARG_CONST_SIZE_OR_ZERO, VARG_ANYTHING),
	P(80, "get_current_cgroup_id", VRET_INTEGER, 0, 0),
	P(109, "send_signal", VRET_INTEGER, 0, VARG_ANYTHING),
	P(112, "probe_read_user", VRET_INTEGER, 0, VARG_PTR_TO_UNINIT_MEM, VARG_CONST_SIZE_OR_ZERO,
	  VARG_ANYTHING),
	P(113, "probe_read_kernel", VRET_INTEGER, 0, VARG_PTR_TO_UNINIT_MEM,
	  VARG_CONST_SIZE_OR_ZERO, VARG_ANYTHING),
	P(114, "probe_read_user_str", VRET_INTEGER, 0, VARG_PTR_TO_UNINIT_MEM,
	  VARG_CONST_SIZE_OR_ZERO, VARG_ANYTHING),
	P(115, "probe_read_kernel_str", VRET_INTEGER, 0, VARG_PTR_TO_UNINIT_MEM,
	  VARG_CONST_SIZE_OR_ZERO, VARG_ANYTHING),
	P(125, "ktime_get_boot_ns", VRET_INTEGER, 0, 0),
	P(130, "ringbuf_output", VRET_INTEGER, BPF_MAP_TYPE_RINGBUF, VARG_CONST_MAP_PTR,
	  VARG_PTR_TO_MEM, VARG_CONST_SIZE_OR_ZERO, VARG_ANYTHING),
	P(131, "ringbuf_reserve", VRET_ALLOC_MEM_OR_NULL, BPF_MAP_TYPE_RINGBUF, VARG_CONST_MAP_PTR,
	  VARG_CONST_ALLOC_SIZE, VARG_ANYTHING),
	P(132, "ringbuf_submit", VRET_VOID, 0, VARG_PTR_TO_ALLOC_MEM, VARG_ANYTHING),
	P(133, "ringbuf_discard", VRET_VOID, 0, VARG_PTR_TO_ALLOC_MEM, VARG_ANYTHING),
	P(134, "ringbuf_query", VRET_INTEGER, BPF_MAP_TYPE_RINGBUF, VARG_CONST_MAP_PTR,
	  VARG_ANYTHING),
	P(160, "ktime_get_coarse_ns", VRET_INTEGER, 0, 0),
	P(VERIFIER_FUNC_LOOP, "loop", VRET_INTEGER, 0, VARG_ANYTHING, VARG_PTR_TO_FUNC,
	  VARG_PTR_TO_STACK_OR_NULL, VARG_ANYTHING),
};

const struct helper_proto *verifier__helper_proto(int32_t id)
{
	if (id < 0 || (size_t)id >= sizeof(protos) / sizeof(protos[0]) || !protos[id].name)
		return NULL;
	return &protos[id];
}
