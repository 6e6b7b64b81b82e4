/* SPDX-License-Identifier: MIT */
/*
 * The map operations of maps.h: flag and permission checks as the kernel's syscall.c and
 * helpers do them, then dispatch on the map type.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/abi.h>
#include <bpfinject/maps.h>
#include <bpfinject/sys.h>

#include "maps_internal.h"

static bool is_array(uint32_t type)
{
	return type == BPFI_MAP_ARRAY || type == BPFI_MAP_PERCPU_ARRAY ||
	       type == BPFI_MAP_PROG_ARRAY || type == BPFI_MAP_PERF_EVENT_ARRAY ||
	       type == BPFI_MAP_CGROUP_ARRAY;
}

void *bpfi_map_lookup_elem(struct bpfi_map_hdr *map, const void *key, uint32_t cpu)
{
	if (maps__is_htab(map->type))
		return maps__htab_lookup(map, key, cpu);
	if (is_array(map->type))
		return maps__array_lookup(map, key, cpu);
	return NULL;
}

long bpfi_map_update_elem(struct bpfi_map_hdr *map, const void *key, const void *value,
			  uint64_t flags, uint32_t cpu)
{
	return bpfi_map_update_elem_tid(map, key, value, flags, cpu, 0);
}

long bpfi_map_update_elem_tid(struct bpfi_map_hdr *map, const void *key, const void *value,
			      uint64_t flags, uint32_t cpu, uint32_t tid)
{
	if (map->map_flags & BPFI_F_RDONLY_PROG)
		return -BPFI_EPERM; /* the verifier's job in the kernel; refuse at run time too */
	if (maps__is_htab(map->type))
		return maps__htab_update(map, key, value, flags, cpu, tid);
	if (map->type == BPFI_MAP_ARRAY || map->type == BPFI_MAP_PERCPU_ARRAY)
		return maps__array_update(map, key, value, flags, cpu);
	return -BPFI_EINVAL;
}

long bpfi_map_delete_elem(struct bpfi_map_hdr *map, const void *key)
{
	return bpfi_map_delete_elem_tid(map, key, 0);
}

long bpfi_map_delete_elem_tid(struct bpfi_map_hdr *map, const void *key, uint32_t tid)
{
	if (map->map_flags & BPFI_F_RDONLY_PROG)
		return -BPFI_EPERM;
	if (maps__is_htab(map->type))
		return maps__htab_delete(map, key, NULL, tid);
	if (is_array(map->type))
		return maps__array_delete(map, key);
	return -BPFI_EINVAL;
}

/* Syscall-side access checks (kernel map_get_sys_perms(), bpf_map_is_frozen()). */
static long check_sys(const struct bpfi_map_hdr *map, bool write)
{
	if (map->magic != BPFI_MAP_MAGIC)
		return -BPFI_EINVAL;
	if (write && (map->map_flags & BPFI_F_RDONLY))
		return -BPFI_EPERM;
	if (!write && (map->map_flags & BPFI_F_WRONLY))
		return -BPFI_EPERM;
	if (write &&
	    atomic_load_explicit(&((struct bpfi_map_hdr *)map)->frozen, memory_order_acquire))
		return -BPFI_EPERM;
	return 0;
}

long bpfi_map_lookup_user(struct bpfi_map_hdr *map, const void *key, void *value, uint64_t flags)
{
	long err = check_sys(map, false);

	if (err)
		return err;
	if (flags)
		return -BPFI_EINVAL; /* BPF_F_LOCK: no map here holds a bpf_spin_lock */
	if (maps__is_htab(map->type))
		return maps__htab_lookup_user(map, key, value);
	if (is_array(map->type))
		return maps__array_lookup_user(map, key, value);
	return -BPFI_ENOTSUP;
}

long bpfi_map_update_user(struct bpfi_map_hdr *map, const void *key, const void *value,
			  uint64_t flags)
{
	long err = check_sys(map, true);

	if (err)
		return err;
	if (flags > BPFI_EXIST)
		return -BPFI_EINVAL;
	if (maps__is_htab(map->type))
		return maps__htab_update(map, key, value, flags, -1, 0);
	if (is_array(map->type))
		return maps__array_update(map, key, value, flags, -1);
	return -BPFI_ENOTSUP;
}

long bpfi_map_delete_user(struct bpfi_map_hdr *map, const void *key)
{
	long err = check_sys(map, true);

	if (err)
		return err;
	if (maps__is_htab(map->type))
		return maps__htab_delete(map, key, NULL, 0);
	if (is_array(map->type))
		return maps__array_delete(map, key);
	return -BPFI_ENOTSUP;
}

long bpfi_map_lookup_and_delete_user(struct bpfi_map_hdr *map, const void *key, void *value)
{
	long err = check_sys(map, true);

	if (!err)
		err = check_sys(map, false);
	if (err)
		return err;
	if (maps__is_htab(map->type))
		return maps__htab_delete(map, key, value, 0);
	return -BPFI_ENOTSUP;
}

long bpfi_map_get_next_key(struct bpfi_map_hdr *map, const void *key, void *next_key)
{
	long err = check_sys(map, false);

	if (err)
		return err;
	if (maps__is_htab(map->type))
		return maps__htab_get_next_key(map, key, next_key);
	if (is_array(map->type))
		return maps__array_get_next_key(map, key, next_key);
	return -BPFI_ENOTSUP;
}

long bpfi_map_freeze(struct bpfi_map_hdr *map)
{
	uint32_t expected = 0;

	if (map->magic != BPFI_MAP_MAGIC)
		return -BPFI_EINVAL;
	/* Release: pairs with the acquire load in check_sys(). */
	if (!atomic_compare_exchange_strong_explicit(&map->frozen, &expected, 1,
						     memory_order_release, memory_order_relaxed))
		return -BPFI_EBUSY;
	return 0;
}
