/* SPDX-License-Identifier: MIT */
/* What the two files of test_maps share: arena and map set-up, a clock, the buffer cases. */
#ifndef BPFI_TESTS_MAPS_TEST_H
#define BPFI_TESTS_MAPS_TEST_H

#include <check.h>
#include <stdint.h>

#include <bpfinject/arena.h>

#define ARENA_SIZE (64u << 20)
#define PAGE	   4096u

struct bpfi_arena *test_arena_new(void);
struct bpfi_map_hdr *test_map_new(struct bpfi_arena *arena, uint32_t type, uint32_t key_size,
				  uint32_t value_size, uint32_t max_entries, uint32_t flags);
uint64_t test_now_ns(void);

/* test_maps_buffers.c */
TCase *maps_buffers_tcase(void);

/* test_maps_libbpf.c */
TCase *maps_libbpf_tcase(void);

/* test_maps_hostile.c */
TCase *maps_hostile_tcase(void);

#endif
