// SPDX-License-Identifier: MIT
/*
 * The helper table: which kernel helper ids this build implements, their names, and the CPU
 * features the helpers may use. Freestanding; the implementations live in helpers_*.c.
 */
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/helpers.h>

#include "stub_internal.h"

/*
 * Explicit stores rather than a static table: function addresses in static data would need
 * relocations, and the stub has none (STYLE §2.6). Each store is a RIP-relative lea.
 * Keep in step with bpfi_helper_name(): the tests check that both agree on every id.
 */
void bpfi_helpers_fill(bpfi_helper_fn *table)
{
	for (int i = 0; i < BPFI_HELPER_MAX; i++)
		table[i] = NULL;
	table[1] = stub__map_lookup_elem;
	table[2] = stub__map_update_elem;
	table[3] = stub__map_delete_elem;
	table[4] = stub__probe_read;
	table[5] = stub__ktime_get_ns;
	table[6] = stub__trace_printk;
	table[7] = stub__get_prandom_u32;
	table[8] = stub__get_smp_processor_id;
	table[12] = stub__tail_call;
	table[14] = stub__get_current_pid_tgid;
	table[15] = stub__get_current_uid_gid;
	table[16] = stub__get_current_comm;
	table[25] = stub__perf_event_output;
	table[35] = stub__get_current_task;
	table[45] = stub__probe_read_str;
	table[58] = stub__override_return;
	table[67] = stub__get_stack;
	table[80] = stub__get_current_cgroup_id;
	table[109] = stub__send_signal;
	table[112] = stub__probe_read_user;
	table[113] = stub__probe_read_kernel;
	table[114] = stub__probe_read_user_str;
	table[115] = stub__probe_read_kernel_str;
	table[117] = stub__send_signal_thread;
	table[125] = stub__ktime_get_boot_ns;
	table[130] = stub__ringbuf_output;
	table[131] = stub__ringbuf_reserve;
	table[132] = stub__ringbuf_submit;
	table[133] = stub__ringbuf_discard;
	table[134] = stub__ringbuf_query;
	table[160] = stub__ktime_get_coarse_ns;
	table[181] = stub__loop;
}

int bpfi_helper_is_known(int32_t id)
{
	return bpfi_helper_name(id) != NULL;
}

/*
 * A switch of string literals: each case is a RIP-relative lea, and gcc 12 makes the switch a
 * jump table of 32-bit PC-relative offsets, resolved at link time: no dynamic relocation.
 */
const char *bpfi_helper_name(int32_t id)
{
	switch (id) {
	case 1:
		return "bpf_map_lookup_elem";
	case 2:
		return "bpf_map_update_elem";
	case 3:
		return "bpf_map_delete_elem";
	case 4:
		return "bpf_probe_read";
	case 5:
		return "bpf_ktime_get_ns";
	case 6:
		return "bpf_trace_printk";
	case 7:
		return "bpf_get_prandom_u32";
	case 8:
		return "bpf_get_smp_processor_id";
	case 12:
		return "bpf_tail_call";
	case 14:
		return "bpf_get_current_pid_tgid";
	case 15:
		return "bpf_get_current_uid_gid";
	case 16:
		return "bpf_get_current_comm";
	case 25:
		return "bpf_perf_event_output";
	case 35:
		return "bpf_get_current_task";
	case 45:
		return "bpf_probe_read_str";
	case 58:
		return "bpf_override_return";
	case 67:
		return "bpf_get_stack";
	case 80:
		return "bpf_get_current_cgroup_id";
	case 109:
		return "bpf_send_signal";
	case 112:
		return "bpf_probe_read_user";
	case 113:
		return "bpf_probe_read_kernel";
	case 114:
		return "bpf_probe_read_user_str";
	case 115:
		return "bpf_probe_read_kernel_str";
	case 117:
		return "bpf_send_signal_thread";
	case 125:
		return "bpf_ktime_get_boot_ns";
	case 130:
		return "bpf_ringbuf_output";
	case 131:
		return "bpf_ringbuf_reserve";
	case 132:
		return "bpf_ringbuf_submit";
	case 133:
		return "bpf_ringbuf_discard";
	case 134:
		return "bpf_ringbuf_query";
	case 160:
		return "bpf_ktime_get_coarse_ns";
	case 181:
		return "bpf_loop";
	default:
		return NULL;
	}
}

/*
 * cpuid leaf 7, subleaf 0: ECX bit 22 is RDPID (Intel SDM vol. 2A, CPUID). The per-CPU
 * segment that lsl reads exists on every x86-64 Linux (the vDSO's getcpu uses it).
 */
uint32_t bpfi_helpers_hwcaps(void)
{
	uint32_t eax = 0, ebx, ecx, edx;
	uint32_t caps = BPFI_HWCAP_LSL;

	__asm__ __volatile__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0), "c"(0));
	if (eax < 7)
		return caps;
	__asm__ __volatile__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(7), "c"(0));
	if (ecx & (1u << 22))
		caps |= BPFI_HWCAP_RDPID;
	return caps;
}
