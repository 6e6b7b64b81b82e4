/* SPDX-License-Identifier: MIT */
/*
 * The arena from the host's side: the memfd and its mapping, the lock-free bump allocators, and
 * map creation with the kernel's parameter checks. Hosted code (the stub never creates maps).
 *
 * Two regions (abi.h): the meta region holds what only the host writes (map headers with their
 * layout parameters, perf buffer descriptors) and is mapped read-only into targets; the data
 * region holds everything programs and consumers write. See maps_internal.h for why: a target
 * must not be able to steer another process of the session outside a map's storage.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpfinject/arena.h>
#include <bpfinject/maps.h>

#include "common/compiler.h"
#include "maps_internal.h"

_Static_assert(BPFI_MAP_HASH == BPF_MAP_TYPE_HASH, "map type");
_Static_assert(BPFI_MAP_PERF_EVENT_ARRAY == BPF_MAP_TYPE_PERF_EVENT_ARRAY, "map type");
_Static_assert(BPFI_MAP_CGROUP_ARRAY == BPF_MAP_TYPE_CGROUP_ARRAY, "map type");
_Static_assert(BPFI_MAP_LRU_PERCPU_HASH == BPF_MAP_TYPE_LRU_PERCPU_HASH, "map type");
_Static_assert(BPFI_MAP_RINGBUF == BPF_MAP_TYPE_RINGBUF, "map type");
_Static_assert(BPFI_F_MMAPABLE == BPF_F_MMAPABLE && BPFI_F_RDONLY_PROG == BPF_F_RDONLY_PROG,
	       "map flags");
_Static_assert(BPFI_RINGBUF_BUSY == BPF_RINGBUF_BUSY_BIT &&
		       BPFI_RINGBUF_HDR_SZ == BPF_RINGBUF_HDR_SZ,
	       "ringbuf header");
_Static_assert(offsetof(struct perf_event_mmap_page, data_head) ==
			       offsetof(struct maps_perf_page, data_head) &&
		       offsetof(struct perf_event_mmap_page, data_tail) ==
			       offsetof(struct maps_perf_page, data_tail) &&
		       offsetof(struct perf_event_mmap_page, data_offset) ==
			       offsetof(struct maps_perf_page, data_offset) &&
		       offsetof(struct perf_event_mmap_page, data_size) ==
			       offsetof(struct maps_perf_page, data_size),
	       "perf_event_mmap_page");

#define HTAB_MAX_KEY	 512 /* MAX_BPF_STACK: keys live on the program stack */
#define MAP_MAX_VALUE	 (1u << 22) /* KMALLOC_MAX_SIZE on x86-64 */
#define PERCPU_MAX_VALUE (32u * 1024) /* PCPU_MIN_UNIT_SIZE */
#define RINGBUF_MAX_DATA (1ull << 31)

struct bpfi_arena {
	int fd;
	char *base;
	size_t size;
};

int bpfi_arena_fd(const struct bpfi_arena *arena)
{
	return arena->fd;
}

char *bpfi_arena_base(const struct bpfi_arena *arena)
{
	return arena->base;
}

size_t bpfi_arena_size(const struct bpfi_arena *arena)
{
	return arena->size;
}

struct bpfi_arena_hdr *bpfi_arena_hdr(const struct bpfi_arena *arena)
{
	return (void *)arena->base;
}

void bpfi_arena_free(struct bpfi_arena *arena)
{
	if (!arena)
		return;
	if (arena->base && arena->base != MAP_FAILED)
		munmap(arena->base, arena->size);
	if (arena->fd >= 0)
		close(arena->fd);
	free(arena);
}

/* Possible CPUs as libbpf counts them (/sys/devices/system/cpu/possible, e.g. "0-1"). */
static uint32_t possible_cpus(void)
{
	char buf[256];
	uint32_t n = 0;
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	char *p = buf;

	if (!f || !fgets(buf, sizeof(buf), f)) {
		long c = sysconf(_SC_NPROCESSORS_CONF);

		if (f)
			fclose(f);
		return c > 0 ? (uint32_t)c : 1;
	}
	fclose(f);
	while (*p >= '0' && *p <= '9') {
		unsigned long a = strtoul(p, &p, 10), b = a;

		if (*p == '-')
			b = strtoul(p + 1, &p, 10);
		if (b >= a)
			n += (uint32_t)(b - a + 1);
		if (*p == ',')
			p++;
	}
	return n ? n : 1;
}

/*
 * The meta region: a 16th of the arena (sparse: untouched pages cost nothing), at least one page
 * after the header, at most 1 MiB (8191 headers).
 */
static uint64_t meta_size_for(uint64_t size)
{
	uint64_t m = MAPS_ROUNDPG(size / 16);

	if (m < 2 * BPFI_PAGE_SIZE)
		m = 2 * BPFI_PAGE_SIZE;
	return m > (1u << 20) ? (1u << 20) : m;
}

int bpfi_arena_new(size_t size, struct bpfi_arena **ret_arena, struct bpfi_log *log)
{
	struct bpfi_arena *arena;
	struct bpfi_arena_hdr *hdr;
	int err;

	size = MAPS_ROUNDPG(size);
	if (size < 3 * BPFI_PAGE_SIZE)
		return bpfi_log_err(log, -EINVAL, "arena: size %zu: at least three pages", size);
	arena = calloc(1, sizeof(*arena));
	if (!arena)
		return bpfi_log_err(log, -ENOMEM, "arena: out of memory");
	arena->fd = memfd_create("bpfinject-arena", MFD_CLOEXEC);
	if (arena->fd < 0) {
		err = -errno;
		bpfi_arena_free(arena);
		return bpfi_log_err(log, err, "arena: memfd_create failed");
	}
	/* Only this user may map the arena: other users' processes must not read or write
	 * the maps of our targets (memfds start out 0777). */
	if (fchmod(arena->fd, 0600) || ftruncate(arena->fd, (off_t)size)) {
		err = -errno;
		bpfi_arena_free(arena);
		return bpfi_log_err(log, err, "arena: cannot size the memfd to %zu bytes", size);
	}
	arena->size = size;
	arena->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, arena->fd, 0);
	if (arena->base == MAP_FAILED) {
		err = -errno;
		bpfi_arena_free(arena);
		return bpfi_log_err(log, err, "arena: mmap of %zu bytes failed", size);
	}
	hdr = bpfi_arena_hdr(arena);
	hdr->magic = BPFI_ARENA_MAGIC;
	hdr->version = BPFI_ARENA_VERSION;
	hdr->header_size = BPFI_ARENA_HDR_SIZE;
	hdr->size = size;
	hdr->nr_cpus = possible_cpus();
	hdr->meta_size = meta_size_for(size);
	atomic_store_explicit(&hdr->next_map_id, 1, memory_order_relaxed);
	atomic_store_explicit(&hdr->meta_brk, BPFI_ARENA_HDR_SIZE, memory_order_relaxed);
	/* Release: pairs with the acquire CAS in bpfi_arena_alloc(); brk is published last. */
	atomic_store_explicit(&hdr->brk, hdr->meta_size, memory_order_release);
	*ret_arena = arena;
	return 0;
}

int bpfi_arena_open_fd(int fd, struct bpfi_arena **ret_arena, struct bpfi_log *log)
{
	struct bpfi_arena *arena;
	struct bpfi_arena_hdr *hdr;
	struct stat st;
	int err;

	if (fstat(fd, &st))
		return bpfi_log_err(log, -errno, "arena: fd %d: fstat failed", fd);
	if ((uint64_t)st.st_size < 2 * BPFI_PAGE_SIZE)
		return bpfi_log_err(log, -EINVAL, "arena: fd %d: too small to be an arena", fd);
	arena = calloc(1, sizeof(*arena));
	if (!arena)
		return bpfi_log_err(log, -ENOMEM, "arena: out of memory");
	arena->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (arena->fd < 0) {
		err = -errno;
		bpfi_arena_free(arena);
		return bpfi_log_err(log, err, "arena: fd %d: dup failed", fd);
	}
	arena->size = (size_t)st.st_size;
	arena->base = mmap(NULL, arena->size, PROT_READ | PROT_WRITE, MAP_SHARED, arena->fd, 0);
	if (arena->base == MAP_FAILED) {
		err = -errno;
		bpfi_arena_free(arena);
		return bpfi_log_err(log, err, "arena: fd %d: mmap failed", fd);
	}
	hdr = bpfi_arena_hdr(arena);
	if (hdr->magic != BPFI_ARENA_MAGIC || hdr->version != BPFI_ARENA_VERSION ||
	    hdr->header_size != BPFI_ARENA_HDR_SIZE || hdr->size != arena->size ||
	    hdr->meta_size != meta_size_for(hdr->size)) {
		bpfi_arena_free(arena);
		return bpfi_log_err(log, -EINVAL, "arena: fd %d: not an arena of version %d", fd,
				    BPFI_ARENA_VERSION);
	}
	*ret_arena = arena;
	return 0;
}

uint64_t bpfi_arena_alloc(struct bpfi_arena *arena, uint64_t size, uint64_t align)
{
	struct bpfi_arena_hdr *hdr = bpfi_arena_hdr(arena);
	uint64_t brk, start;

	if (!align || (align & (align - 1)) || align > BPFI_PAGE_SIZE || !size)
		return 0;
	brk = atomic_load_explicit(&hdr->brk, memory_order_acquire);
	do {
		start = (brk + align - 1) & ~(align - 1);
		if (start < brk || start + size < start || start + size > hdr->size)
			return 0;
		/* Acq_rel: claims [start, start + size) for us alone; memory is never handed
		 * out twice, so it is still the memfd's zeroes. */
	} while (!atomic_compare_exchange_weak_explicit(
		&hdr->brk, &brk, start + size, memory_order_acq_rel, memory_order_acquire));
	return start;
}

/* @size bytes (at most BPFI_META_ALIGN) of the meta region, zeroed; 0 when it is full. */
static uint64_t meta_alloc(struct bpfi_arena *arena)
{
	struct bpfi_arena_hdr *hdr = bpfi_arena_hdr(arena);
	uint64_t brk = atomic_load_explicit(&hdr->meta_brk, memory_order_acquire);

	do {
		if (brk + BPFI_META_ALIGN > hdr->meta_size)
			return 0;
	} while (!atomic_compare_exchange_weak_explicit(&hdr->meta_brk, &brk, brk + BPFI_META_ALIGN,
							memory_order_acq_rel,
							memory_order_acquire));
	return brk;
}

/* What a map needs in the arena: its checked parameters and layout. */
struct map_layout {
	uint32_t ncopies; /* per-CPU copies of each value, else 1 */
	uint64_t data_off; /* from the start of its data block (then from the header) */
	uint64_t size; /* whole data block, page multiple */
	uint32_t n_buckets; /* hash maps */
	uint32_t elem_size;
	uint64_t buckets_off, elems_off;
};

static bool access_ok(uint32_t flags)
{
	/* Kernel bpf_map_flags_access_ok(): not both read-only and write-only for programs. */
	return (flags & (BPFI_F_RDONLY_PROG | BPFI_F_WRONLY_PROG)) !=
	       (BPFI_F_RDONLY_PROG | BPFI_F_WRONLY_PROG);
}

/* Kernel htab_map_alloc_check() and the prealloc layout. */
static int layout_htab(const struct bpfi_map_create_opts *o, uint32_t nr_cpus, struct map_layout *l,
		       struct bpfi_log *log)
{
	const uint32_t mask = BPFI_F_NO_PREALLOC | BPFI_F_NO_COMMON_LRU | BPFI_F_NUMA_NODE |
			      BPFI_F_ACCESS_MASK | BPFI_F_ZERO_SEED;
	bool lru = o->type == BPFI_MAP_LRU_HASH || o->type == BPFI_MAP_LRU_PERCPU_HASH;
	bool percpu = maps__is_percpu(o->type);
	uint64_t n = 1;

	if ((o->map_flags & ~mask) || !access_ok(o->map_flags))
		return bpfi_log_err(log, -EINVAL, "map: hash: invalid flags 0x%x", o->map_flags);
	if (!lru && (o->map_flags & BPFI_F_NO_COMMON_LRU))
		return bpfi_log_err(log, -EINVAL,
				    "map: hash: BPF_F_NO_COMMON_LRU needs an LRU map");
	if (lru && (o->map_flags & BPFI_F_NO_PREALLOC))
		return bpfi_log_err(log, -ENOTSUP,
				    "map: lru hash: BPF_F_NO_PREALLOC not supported");
	if (!o->max_entries || !o->key_size || !o->value_size)
		return bpfi_log_err(log, -EINVAL,
				    "map: hash: zero key size, value size or entries");
	if (o->key_size > HTAB_MAX_KEY)
		return bpfi_log_err(log, -E2BIG, "map: hash: key of %u bytes over %u", o->key_size,
				    HTAB_MAX_KEY);
	if (o->value_size > MAP_MAX_VALUE ||
	    (percpu && MAPS_ROUND8(o->value_size) > PERCPU_MAX_VALUE))
		return bpfi_log_err(log, -E2BIG, "map: hash: value of %u bytes too large",
				    o->value_size);
	while (n < o->max_entries)
		n <<= 1;
	if (n > (1u << 31))
		return bpfi_log_err(log, -E2BIG, "map: hash: %u entries too many", o->max_entries);
	l->ncopies = percpu ? nr_cpus : 1;
	l->n_buckets = (uint32_t)n;
	l->elem_size = (uint32_t)(sizeof(struct maps_htab_elem) + MAPS_ROUND8(o->key_size) +
				  MAPS_ROUND8(o->value_size) * l->ncopies);
	l->data_off = 0;
	l->buckets_off = ALIGN_UP(sizeof(struct maps_htab_free), 64);
	l->elems_off = ALIGN_UP(l->buckets_off + n * sizeof(struct maps_bucket), 64);
	l->size = l->elems_off + (uint64_t)o->max_entries * l->elem_size;
	return 0;
}

/* Kernel array_map_alloc_check() and fd_array_map_alloc_check(). */
static int layout_array(const struct bpfi_map_create_opts *o, uint32_t nr_cpus,
			struct map_layout *l, struct bpfi_log *log)
{
	const uint32_t mask = BPFI_F_NUMA_NODE | BPFI_F_MMAPABLE | BPFI_F_ACCESS_MASK |
			      BPFI_F_PRESERVE_ELEMS | BPFI_F_INNER_MAP;
	bool fd_array = o->type != BPFI_MAP_ARRAY && o->type != BPFI_MAP_PERCPU_ARRAY;
	uint64_t slot;

	if (fd_array && o->value_size != 4)
		return bpfi_log_err(log, -EINVAL, "map: fd array: value size %u, must be 4",
				    o->value_size);
	if (fd_array && (o->map_flags & (BPFI_F_RDONLY_PROG | BPFI_F_WRONLY_PROG)))
		return bpfi_log_err(log, -EINVAL, "map: fd array: program access flags");
	if (!o->max_entries || o->key_size != 4 || !o->value_size)
		return bpfi_log_err(
			log, -EINVAL,
			"map: array: key size %u (must be 4), value size %u, %u entries",
			o->key_size, o->value_size, o->max_entries);
	if ((o->map_flags & ~mask) || !access_ok(o->map_flags))
		return bpfi_log_err(log, -EINVAL, "map: array: invalid flags 0x%x", o->map_flags);
	if (o->type != BPFI_MAP_ARRAY && (o->map_flags & (BPFI_F_MMAPABLE | BPFI_F_INNER_MAP)))
		return bpfi_log_err(log, -EINVAL,
				    "map: BPF_F_MMAPABLE is for BPF_MAP_TYPE_ARRAY only");
	if (o->type != BPFI_MAP_PERF_EVENT_ARRAY && (o->map_flags & BPFI_F_PRESERVE_ELEMS))
		return bpfi_log_err(log, -EINVAL,
				    "map: BPF_F_PRESERVE_ELEMS is for perf event arrays only");
	if (o->value_size > MAP_MAX_VALUE ||
	    (o->type == BPFI_MAP_PERCPU_ARRAY && MAPS_ROUND8(o->value_size) > PERCPU_MAX_VALUE))
		return bpfi_log_err(log, -E2BIG, "map: array: value of %u bytes too large",
				    o->value_size);
	l->ncopies = o->type == BPFI_MAP_PERCPU_ARRAY ? nr_cpus : 1;
	if (o->type == BPFI_MAP_PERF_EVENT_ARRAY)
		slot = sizeof(uint64_t);
	else if (fd_array)
		slot = sizeof(uint32_t);
	else
		slot = MAPS_ROUND8(o->value_size) * l->ncopies;
	/* BPF_F_MMAPABLE: the values start on a page so mmap(map_fd) can map them alone. */
	l->data_off = 0; /* a page boundary: the values can be mmapped alone */
	l->size = slot * o->max_entries;
	if (l->size >= UINT32_MAX - BPFI_PAGE_SIZE && o->type == BPFI_MAP_ARRAY)
		return bpfi_log_err(log, -E2BIG, "map: array: %u entries of %u bytes too large",
				    o->max_entries, o->value_size);
	return 0;
}

/* Kernel ringbuf_map_alloc(). */
static int layout_ringbuf(const struct bpfi_map_create_opts *o, struct map_layout *l,
			  struct bpfi_log *log)
{
	if (o->map_flags & ~BPFI_F_NUMA_NODE)
		return bpfi_log_err(log, -EINVAL, "map: ringbuf: invalid flags 0x%x", o->map_flags);
	if (o->key_size || o->value_size || !o->max_entries ||
	    (o->max_entries & (o->max_entries - 1)) || (o->max_entries % BPFI_PAGE_SIZE))
		return bpfi_log_err(
			log, -EINVAL,
			"map: ringbuf: size %u must be a power of two and a page multiple, key and value sizes 0",
			o->max_entries);
	if (o->max_entries > RINGBUF_MAX_DATA)
		return bpfi_log_err(log, -E2BIG, "map: ringbuf: size %u too large", o->max_entries);
	l->ncopies = 1;
	l->data_off = 0;
	l->size = RINGBUF_DATA_PAGE * BPFI_PAGE_SIZE + (uint64_t)o->max_entries;
	return 0;
}

static int map_layout(const struct bpfi_map_create_opts *o, uint32_t nr_cpus, struct map_layout *l,
		      struct bpfi_log *log)
{
	if ((o->map_flags & BPFI_F_RDONLY) && (o->map_flags & BPFI_F_WRONLY))
		return bpfi_log_err(log, -EINVAL, "map: BPF_F_RDONLY and BPF_F_WRONLY together");
	switch (o->type) {
	case BPFI_MAP_HASH:
	case BPFI_MAP_PERCPU_HASH:
	case BPFI_MAP_LRU_HASH:
	case BPFI_MAP_LRU_PERCPU_HASH:
		return layout_htab(o, nr_cpus, l, log);
	case BPFI_MAP_ARRAY:
	case BPFI_MAP_PERCPU_ARRAY:
	case BPFI_MAP_PROG_ARRAY:
	case BPFI_MAP_PERF_EVENT_ARRAY:
	case BPFI_MAP_CGROUP_ARRAY:
		return layout_array(o, nr_cpus, l, log);
	case BPFI_MAP_RINGBUF:
		return layout_ringbuf(o, l, log);
	default:
		if (o->type == 0 || o->type > BPFI_MAP_TYPE_KNOWN_MAX)
			return bpfi_log_err(log, -EINVAL, "map: unknown map type %u", o->type);
		return bpfi_log_err(log, -ENOTSUP, "map: map type %u not supported", o->type);
	}
}

/* @l's offsets are from the data block, which is at map->data_off. */
static void init_htab(struct bpfi_map_hdr *map, const struct map_layout *l, uint32_t flags)
{
	struct maps_htab *h = (struct maps_htab *)(void *)map->impl;
	struct maps_htab_free *hf = MAPS_AT(map, map->data_off);
	struct maps_bucket *buckets = MAPS_AT(map, map->data_off + l->buckets_off);
	uint64_t seed = 0;

	h->n_buckets = l->n_buckets;
	h->elem_size = l->elem_size;
	h->key_stride = (uint32_t)MAPS_ROUND8(map->key_size);
	h->value_stride = (uint32_t)MAPS_ROUND8(map->value_size);
	h->buckets_off = map->data_off + l->buckets_off;
	h->elems_off = map->data_off + l->elems_off;
	h->elems_end = h->elems_off + (uint64_t)map->max_entries * l->elem_size;
	if (!(flags & BPFI_F_ZERO_SEED) && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)(uintptr_t)map ^ (uint64_t)getpid();
	h->seed = seed;
	for (uint32_t i = 0; i < l->n_buckets; i++)
		atomic_store_explicit(&buckets[i].head, ((uint64_t)i << 1) | 1,
				      memory_order_relaxed);
	/* The free stack holds every element, index 0 on top. */
	for (uint32_t i = 0; i < map->max_entries; i++) {
		struct maps_htab_elem *e = MAPS_AT(map, h->elems_off + (uint64_t)i * l->elem_size);

		atomic_store_explicit(&e->free_next, i + 1 < map->max_entries ? i + 2 : 0,
				      memory_order_relaxed);
	}
	atomic_store_explicit(&hf->free_head, 1, memory_order_relaxed);
}

/* Kernel bpf_obj_name_cpy(): letters, digits, '_' and '.', NUL-terminated within 16 bytes. */
static int check_name(const struct bpfi_map_create_opts *opts, struct bpfi_log *log)
{
	const char *name =
		opts->sz > offsetof(struct bpfi_map_create_opts, name) ? opts->name : NULL;
	size_t i;

	if (!name)
		return 0;
	for (i = 0; i < sizeof(((struct bpfi_map_hdr *)0)->name) && name[i]; i++) {
		char c = name[i];

		if (!(c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z')))
			return bpfi_log_err(log, -EINVAL, "map: invalid character in name '%.16s'",
					    name);
	}
	if (i == sizeof(((struct bpfi_map_hdr *)0)->name))
		return bpfi_log_err(log, -EINVAL, "map: name '%.16s' longer than 15 characters",
				    name);
	return 0;
}

int bpfi_map_new(struct bpfi_arena *arena, const struct bpfi_map_create_opts *opts,
		 struct bpfi_map_hdr **ret_map, struct bpfi_log *log)
{
	struct bpfi_arena_hdr *ahdr = bpfi_arena_hdr(arena);
	struct map_layout l = { 0 };
	struct bpfi_map_hdr *map;
	uint64_t off, data;
	int err;

	if (!opts || opts->sz < offsetof(struct bpfi_map_create_opts, name))
		return bpfi_log_err(log, -EINVAL, "map: invalid create options");
	err = check_name(opts, log);
	if (!err)
		err = map_layout(opts, ahdr->nr_cpus, &l, log);
	if (err)
		return err;
	l.size = MAPS_ROUNDPG(l.size);
	off = meta_alloc(arena);
	if (!off)
		return bpfi_log_err(log, -ENOMEM, "map: arena full: no room for another map");
	data = bpfi_arena_alloc(arena, l.size, BPFI_PAGE_SIZE);
	if (!data)
		return bpfi_log_err(log, -ENOMEM, "map: arena full: %llu bytes needed",
				    (unsigned long long)l.size);
	map = (void *)(arena->base + off);
	map->type = opts->type;
	map->key_size = opts->key_size;
	map->value_size = opts->value_size;
	map->max_entries = opts->max_entries;
	map->map_flags = opts->map_flags;
	map->nr_cpus = l.ncopies;
	map->id = atomic_fetch_add_explicit(&ahdr->next_map_id, 1, memory_order_relaxed);
	map->self_off = off;
	map->size = l.size;
	map->data_off = data - off + l.data_off;
	if (opts->sz > offsetof(struct bpfi_map_create_opts, name) && opts->name)
		strncpy(map->name, opts->name, sizeof(map->name) - 1);
	if (maps__is_htab(opts->type))
		init_htab(map, &l, opts->map_flags);
	if (opts->type == BPFI_MAP_RINGBUF)
		map->impl[0] = opts->max_entries - 1; /* the mask */
	/* Release: the magic goes last, so a process that sees it sees an initialised map. */
	atomic_store_explicit((_Atomic uint32_t *)&map->magic, BPFI_MAP_MAGIC,
			      memory_order_release);
	*ret_map = map;
	return 0;
}

int bpfi_map_mmap_range(const struct bpfi_map_hdr *map, uint64_t pgoff, uint64_t *ret_arena_off,
			uint64_t *ret_max_len)
{
	uint64_t start, len;

	if (map->type == BPFI_MAP_ARRAY && (map->map_flags & BPFI_F_MMAPABLE)) {
		/* Kernel array_map_mmap(): the value area, from page @pgoff on. */
		len = MAPS_ROUNDPG(MAPS_ROUND8(map->value_size) * map->max_entries);
		start = map->data_off;
	} else if (map->type == BPFI_MAP_RINGBUF) {
		/* Consumer page, producer page, data, and the data again: the arena holds the
		 * first three contiguously; the runtime maps the second copy of the data. */
		len = 2 * BPFI_PAGE_SIZE + 2 * (uint64_t)map->max_entries;
		start = map->data_off + RINGBUF_CONS_PAGE * BPFI_PAGE_SIZE;
		if (pgoff >= 2 + map->max_entries / BPFI_PAGE_SIZE)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (pgoff * BPFI_PAGE_SIZE >= len)
		return -EINVAL;
	*ret_arena_off = map->self_off + start + pgoff * BPFI_PAGE_SIZE;
	*ret_max_len = len - pgoff * BPFI_PAGE_SIZE;
	return 0;
}

int bpfi_perfbuf_new(struct bpfi_arena *arena, uint32_t data_pages, uint64_t *ret_off,
		     struct bpfi_log *log)
{
	struct maps_perfbuf_meta *pm;
	struct maps_perf_page *pg;
	uint64_t off, moff;

	if (!data_pages || (data_pages & (data_pages - 1)) || data_pages > (1u << 20))
		return bpfi_log_err(log, -EINVAL,
				    "perf buffer: %u data pages, must be a power of two",
				    data_pages);
	/* The descriptor (meta); a private page for the writers' lock, then what the reader
	 * maps (data). */
	moff = meta_alloc(arena);
	off = moff ? bpfi_arena_alloc(arena, (uint64_t)(2 + data_pages) * BPFI_PAGE_SIZE,
				      BPFI_PAGE_SIZE)
		   : 0;
	if (!off)
		return bpfi_log_err(log, -ENOMEM, "perf buffer: arena full");
	pm = (void *)(arena->base + moff);
	pg = (void *)(arena->base + off + BPFI_PAGE_SIZE);
	pm->page_off = off + BPFI_PAGE_SIZE;
	pm->data_pages = data_pages;
	/* Release: the magic last, as for maps (a reader that sees it sees the rest). */
	atomic_store_explicit((_Atomic uint64_t *)&pm->magic, PERFBUF_MAGIC, memory_order_release);
	pg->version = 0;
	pg->compat_version = 0;
	pg->data_offset = BPFI_PAGE_SIZE;
	pg->data_size = (uint64_t)data_pages * BPFI_PAGE_SIZE;
	*ret_off = off + BPFI_PAGE_SIZE;
	return 0;
}

/* The meta offset of the descriptor of the perf buffer at @page_off; 0 if there is none. */
static uint64_t perfbuf_meta_off(struct bpfi_map_hdr *map, uint64_t page_off)
{
	char *arena = bpfi_map_arena_base(map);
	struct bpfi_arena_hdr *ah = (void *)arena;
	uint64_t end = atomic_load_explicit(&ah->meta_brk, memory_order_acquire);

	for (uint64_t off = BPFI_ARENA_HDR_SIZE; off < end; off += BPFI_META_ALIGN) {
		struct maps_perfbuf_meta *pm = (void *)(arena + off);

		if (pm->magic == PERFBUF_MAGIC && pm->page_off == page_off)
			return off;
	}
	return 0;
}

int bpfi_perf_array_set(struct bpfi_map_hdr *map, uint32_t index, uint64_t perfbuf_off)
{
	_Atomic uint64_t *slots;
	uint64_t moff = 0;

	if (map->type != BPFI_MAP_PERF_EVENT_ARRAY)
		return -EINVAL;
	if (index >= map->max_entries)
		return -E2BIG;
	if (perfbuf_off) {
		moff = perfbuf_meta_off(map, perfbuf_off);
		if (!moff)
			return -EINVAL;
	}
	slots = MAPS_AT(map, map->data_off);
	/* The descriptor's offset, which perf_slot() (perfbuf.c) can check against the meta
	 * region: the slot itself is writable by every target. Release: pairs with the acquire
	 * load there. */
	atomic_store_explicit(&slots[index], moff, memory_order_release);
	return 0;
}
