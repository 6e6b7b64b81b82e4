/* SPDX-License-Identifier: MIT */
/*
 * ARRAY, PERCPU_ARRAY and the fd arrays (PROG_ARRAY, PERF_EVENT_ARRAY, CGROUP_ARRAY): fixed
 * slots addressed by a u32 index, updated in place as the kernel's arraymap.c does.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/abi.h>
#include <bpfinject/sys.h>

#include "maps_internal.h"

static uint64_t array_elem_size(const struct bpfi_map_hdr *map)
{
	return MAPS_ROUND8(map->value_size);
}

static char *array_value(struct bpfi_map_hdr *map, uint32_t index, uint32_t cpu)
{
	uint64_t esz = array_elem_size(map);

	return MAPS_AT(map, map->data_off + (uint64_t)index * esz * map->nr_cpus + cpu * esz);
}

static bool is_value_array(uint32_t type)
{
	return type == BPFI_MAP_ARRAY || type == BPFI_MAP_PERCPU_ARRAY;
}

void *maps__array_lookup(struct bpfi_map_hdr *map, const void *key, uint32_t cpu)
{
	uint32_t index;

	if (!is_value_array(map->type) || (map->nr_cpus > 1 && cpu >= map->nr_cpus))
		return NULL;
	bpfi_memcpy(&index, key, sizeof(index));
	if (index >= map->max_entries)
		return NULL;
	return array_value(map, index, map->type == BPFI_MAP_PERCPU_ARRAY ? cpu : 0);
}

static long fd_array_update(struct bpfi_map_hdr *map, uint32_t index, const void *value,
			    uint64_t flags)
{
	_Atomic uint32_t *slots = MAPS_AT(map, map->data_off);
	uint32_t id;

	/* Kernel bpf_fd_array_map_update_elem(): only BPF_ANY. */
	if (flags != BPFI_ANY)
		return -BPFI_EINVAL;
	if (index >= map->max_entries)
		return -BPFI_E2BIG;
	if (map->type != BPFI_MAP_PROG_ARRAY)
		return -BPFI_ENOTSUP; /* perf slots: bpfi_perf_array_set(); cgroups: none */
	bpfi_memcpy(&id, value, sizeof(id));
	if (!id)
		return -BPFI_EINVAL;
	/* Release: pairs with the acquire load in bpfi_prog_array_get(). */
	atomic_store_explicit(&slots[index], id, memory_order_release);
	return 0;
}

/* @cpu >= 0: the program side, that CPU's copy; -1: the syscall side, every copy. */
long maps__array_update(struct bpfi_map_hdr *map, const void *key, const void *value,
			uint64_t flags, int64_t cpu)
{
	uint32_t index;

	bpfi_memcpy(&index, key, sizeof(index));
	if (!is_value_array(map->type))
		return cpu < 0 ? fd_array_update(map, index, value, flags) : -BPFI_EINVAL;
	if (flags > BPFI_EXIST)
		return -BPFI_EINVAL;
	if (index >= map->max_entries)
		return -BPFI_E2BIG;
	if (flags == BPFI_NOEXIST)
		return -BPFI_EEXIST; /* every element of an array exists */
	if (map->type == BPFI_MAP_PERCPU_ARRAY && cpu >= (int64_t)map->nr_cpus)
		return -BPFI_EINVAL;
	if (map->type == BPFI_MAP_ARRAY) {
		bpfi_memcpy(array_value(map, index, 0), value, map->value_size);
	} else if (cpu >= 0) {
		bpfi_memcpy(array_value(map, index, (uint32_t)cpu), value, map->value_size);
	} else {
		for (uint32_t c = 0; c < map->nr_cpus; c++)
			bpfi_memcpy(array_value(map, index, c),
				    (const char *)value + c * array_elem_size(map),
				    array_elem_size(map));
	}
	return 0;
}

long maps__array_lookup_user(struct bpfi_map_hdr *map, const void *key, void *value)
{
	_Atomic uint32_t *slots = MAPS_AT(map, map->data_off);
	uint32_t index, id;

	bpfi_memcpy(&index, key, sizeof(index));
	if (map->type == BPFI_MAP_PERF_EVENT_ARRAY || map->type == BPFI_MAP_CGROUP_ARRAY)
		return -BPFI_ENOTSUP;
	if (index >= map->max_entries)
		return -BPFI_ENOENT;
	switch (map->type) {
	case BPFI_MAP_ARRAY:
		bpfi_memcpy(value, array_value(map, index, 0), map->value_size);
		return 0;
	case BPFI_MAP_PERCPU_ARRAY:
		for (uint32_t c = 0; c < map->nr_cpus; c++)
			bpfi_memcpy((char *)value + c * array_elem_size(map),
				    array_value(map, index, c), array_elem_size(map));
		return 0;
	case BPFI_MAP_PROG_ARRAY:
		/* The kernel answers with the program id (map_fd_sys_lookup_elem). */
		id = atomic_load_explicit(&slots[index], memory_order_acquire);
		if (!id)
			return -BPFI_ENOENT;
		bpfi_memcpy(value, &id, sizeof(id));
		return 0;
	default:
		return -BPFI_ENOTSUP;
	}
}

long maps__array_delete(struct bpfi_map_hdr *map, const void *key)
{
	uint32_t index;

	if (is_value_array(map->type))
		return -BPFI_EINVAL;
	bpfi_memcpy(&index, key, sizeof(index));
	if (index >= map->max_entries)
		return -BPFI_E2BIG;
	if (map->type == BPFI_MAP_PERF_EVENT_ARRAY) {
		_Atomic uint64_t *perf = MAPS_AT(map, map->data_off);

		return atomic_exchange_explicit(&perf[index], 0, memory_order_acq_rel)
			       ? 0
			       : -BPFI_ENOENT;
	}
	_Atomic uint32_t *slots = MAPS_AT(map, map->data_off);

	return atomic_exchange_explicit(&slots[index], 0, memory_order_acq_rel) ? 0 : -BPFI_ENOENT;
}

/* Kernel array_map_get_next_key(): index + 1; an out-of-range (or NULL) key restarts at 0. */
long maps__array_get_next_key(struct bpfi_map_hdr *map, const void *key, void *next_key)
{
	uint32_t index = 0, next;

	if (key)
		bpfi_memcpy(&index, key, sizeof(index));
	if (!key || index >= map->max_entries) {
		next = 0;
	} else {
		if (index == map->max_entries - 1)
			return -BPFI_ENOENT;
		next = index + 1;
	}
	bpfi_memcpy(next_key, &next, sizeof(next));
	return 0;
}

uint32_t bpfi_prog_array_get(const struct bpfi_map_hdr *map, uint32_t index)
{
	_Atomic uint32_t *slots;

	if (map->type != BPFI_MAP_PROG_ARRAY || index >= map->max_entries)
		return 0;
	slots = MAPS_AT((struct bpfi_map_hdr *)map, map->data_off);
	/* Acquire: pairs with the release store in fd_array_update(). */
	return atomic_load_explicit(&slots[index], memory_order_acquire);
}
