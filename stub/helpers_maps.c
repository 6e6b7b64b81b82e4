// SPDX-License-Identifier: MIT
/*
 * The map helpers: thin adapters from the helper convention to maps/, choosing the CPU's copy
 * for per-CPU maps (the kernel uses the CPU the program runs on; so do we, the thread's CPU).
 */
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/helpers.h>
#include <bpfinject/maps.h>

#include "stub_internal.h"

/* Only per-CPU maps pay for finding the CPU. */
static uint32_t map_cpu(const struct bpfi_map_hdr *map, const struct bpfi_env *env)
{
	switch (map->type) {
	case STUB_MAP_TYPE_PERCPU_HASH:
	case STUB_MAP_TYPE_PERCPU_ARRAY:
	case STUB_MAP_TYPE_LRU_PERCPU_HASH:
		return stub__current_cpu(env);
	default:
		return 0;
	}
}

/* bpf_map_lookup_elem(map, key): a pointer to the value in the arena, or NULL. */
STUB_HELPER(map_lookup_elem)
{
	struct bpfi_map_hdr *map = (struct bpfi_map_hdr *)(uintptr_t)r1;

	return (uint64_t)(uintptr_t)bpfi_map_lookup_elem(map, (const void *)(uintptr_t)r2,
							 map_cpu(map, env));
}

/* bpf_map_update_elem(map, key, value, flags): 0 or a negative errno. */
STUB_HELPER(map_update_elem)
{
	struct bpfi_map_hdr *map = (struct bpfi_map_hdr *)(uintptr_t)r1;

	return stub_err(bpfi_map_update_elem_tid(map, (const void *)(uintptr_t)r2,
						 (const void *)(uintptr_t)r3, r4, map_cpu(map, env),
						 stub__tid(env)));
}

/* bpf_map_delete_elem(map, key): 0 or a negative errno. */
STUB_HELPER(map_delete_elem)
{
	return stub_err(bpfi_map_delete_elem_tid((struct bpfi_map_hdr *)(uintptr_t)r1,
						 (const void *)(uintptr_t)r2, stub__tid(env)));
}
