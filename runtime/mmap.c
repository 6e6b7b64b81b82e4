// SPDX-License-Identifier: MIT
/*
 * mmap of map and perf fds: the arena memfd is mapped where the object's memory lives, so the
 * caller shares it with the programs (and later with targets), with the kernel's rules on
 * what may be mapped writable and the ring buffer's data area mapped twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpfinject/sys.h>

#include "common/compiler.h"
#include "runtime_internal.h"

#define PAGE BPFI_PAGE_SIZE

/* One mapping handed out, so that munmap knows it was ours (and a later writer count). */
struct mapping {
	uintptr_t addr;
	size_t len;
	enum rt_kind kind;
	uint32_t id;
	bool writable;
};

/*
 * The mappings of this process. Process-wide like the kernel's mm; its own lock because
 * munmap is called outside bpf() (runtime__rt.lock is not taken by it).
 */
static struct {
	pthread_mutex_t lock;
	struct mapping *list;
	uint32_t nr, cap;
} mappings = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Raw system calls: a wrapped or preloaded mmap()/munmap() would come back here. */
static void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, uint64_t off)
{
	return (void *)bpfi_syscall6(SYS_mmap, (long)addr, (long)len, prot, flags, fd, (long)off);
}

static int sys_munmap(void *addr, size_t len)
{
	return (int)bpfi_syscall2(SYS_munmap, (long)addr, (long)len);
}

/* Drops [lo, hi) from the bookkeeping, splitting a mapping that straddles it. */
static bool forget_range(uintptr_t lo, uintptr_t hi)
{
	bool ours = false;

	for (uint32_t i = 0; i < mappings.nr; i++) {
		struct mapping *m = &mappings.list[i];
		uintptr_t end = m->addr + m->len;

		if (end <= lo || m->addr >= hi)
			continue;
		ours = true;
		if (m->addr < lo && end > hi && mappings.nr < mappings.cap) {
			/* Split: the tail becomes a new entry (no room: the tail is forgotten). */
			mappings.list[mappings.nr] = *m;
			mappings.list[mappings.nr].addr = hi;
			mappings.list[mappings.nr].len = end - hi;
			mappings.nr++;
		}
		if (m->addr < lo) {
			m->len = lo - m->addr;
		} else if (end > hi) {
			m->len = end - hi;
			m->addr = hi;
		} else {
			mappings.list[i--] = mappings.list[--mappings.nr];
		}
	}
	return ours;
}

static void record(void *addr, size_t len, const struct rt_obj *obj, bool writable)
{
	struct mapping *grown;

	pthread_mutex_lock(&mappings.lock);
	/* A MAP_FIXED mapping replaces whatever of ours was there. */
	forget_range((uintptr_t)addr, (uintptr_t)addr + len);
	if (mappings.nr == mappings.cap) {
		uint32_t cap = mappings.cap ? mappings.cap * 2 : 16;

		grown = reallocarray(mappings.list, cap, sizeof(*grown));
		if (!grown) {
			/* Only bookkeeping is lost: munmap of it then goes to the real munmap. */
			pthread_mutex_unlock(&mappings.lock);
			return;
		}
		mappings.list = grown;
		mappings.cap = cap;
	}
	mappings.list[mappings.nr++] = (struct mapping){
		.addr = (uintptr_t)addr,
		.len = len,
		.kind = obj->kind,
		.id = obj->id,
		.writable = writable,
	};
	pthread_mutex_unlock(&mappings.lock);
}

/*
 * The fd to map the arena from. Read-only mappings of maps come from a read-only open of the
 * memfd, so that mprotect(PROT_WRITE) fails as it does once the kernel cleared VM_MAYWRITE.
 */
static int arena_fd_for(int prot)
{
	int fd = bpfi_arena_fd(runtime__rt.arena);
	char path[64];

	if (prot & PROT_WRITE)
		return fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? fd : bpfi_arena_fd(runtime__rt.arena);
}

static void *map_arena(void *addr, size_t len, int prot, int flags, uint64_t arena_off)
{
	int fd = arena_fd_for(prot);
	void *p;

	p = sys_mmap(addr, len, prot, (flags & ~MAP_SHARED_VALIDATE) | MAP_SHARED, fd, arena_off);
	if (fd != bpfi_arena_fd(runtime__rt.arena))
		bpfi_syscall2(SYS_close, fd, 0);
	return p;
}

/* Arena offset of page @pg of the ring buffer as the kernel maps it: data pages twice. */
static uint64_t ringbuf_page(uint64_t pg, uint64_t cons_off, uint64_t prod_off, uint64_t data_pages)
{
	if (pg == 0)
		return cons_off;
	if (pg == 1)
		return prod_off;
	return prod_off + PAGE + ((pg - 2) % data_pages) * PAGE;
}

/*
 * ringbuf_map_mmap_kern(): only the consumer page may be writable; the rest is read-only,
 * and pages 2 + data_pages onwards alias the data area so records that wrap read straight.
 * The range is reserved first, then filled with MAP_FIXED runs of contiguous arena pages.
 */
static void *mmap_ringbuf(struct bpfi_map_hdr *hdr, void *addr, size_t len, int prot, int flags,
			  uint64_t pgoff)
{
	uint64_t npages = len / PAGE, data_pages = hdr->max_entries / PAGE;
	uint64_t cons_off, prod_off, max_len;
	char *base;

	if ((prot & PROT_WRITE) && (pgoff != 0 || len > PAGE))
		return RT_ERR_PTR(-EPERM);
	if (!data_pages || pgoff + npages > 2 + 2 * data_pages)
		return RT_ERR_PTR(-EINVAL);
	if (bpfi_map_mmap_range(hdr, 0, &cons_off, &max_len) ||
	    bpfi_map_mmap_range(hdr, 1, &prod_off, &max_len))
		return RT_ERR_PTR(-EINVAL);

	base = addr;
	if (!(flags & MAP_FIXED)) {
		base = sys_mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (RT_IS_ERR(base))
			return base;
	}
	for (uint64_t i = 0; i < npages;) {
		uint64_t start = ringbuf_page(pgoff + i, cons_off, prod_off, data_pages);
		uint64_t run = 1;
		void *p;

		while (i + run < npages && ringbuf_page(pgoff + i + run, cons_off, prod_off,
							data_pages) == start + run * PAGE)
			run++;
		p = map_arena(base + i * PAGE, run * PAGE, prot, MAP_FIXED, start);
		if (RT_IS_ERR(p)) {
			sys_munmap(base, len);
			return p;
		}
		i += run;
	}
	return base;
}

/* bpf_map_mmap(): MMAPABLE arrays and ring buffers; shared mappings only. */
static void *mmap_map(struct rt_obj *obj, void *addr, size_t len, int prot, int flags,
		      uint64_t pgoff)
{
	struct bpfi_map_hdr *hdr = obj->map.hdr;
	uint64_t arena_off, max_len;

	if (hdr->type == BPF_MAP_TYPE_RINGBUF)
		return mmap_ringbuf(hdr, addr, len, prot, flags, pgoff);
	if (hdr->type != BPF_MAP_TYPE_ARRAY)
		return RT_ERR_PTR(-ENODEV); /* no map_mmap operation */
	if (!(hdr->map_flags & BPF_F_MMAPABLE))
		return RT_ERR_PTR(-EINVAL);
	if (prot & PROT_WRITE) {
		if (atomic_load(&hdr->frozen))
			return RT_ERR_PTR(-EPERM);
		/* A writable page of a read-only map would outlive the verifier's assumption. */
		if (hdr->map_flags & BPF_F_RDONLY_PROG)
			return RT_ERR_PTR(-EACCES);
	}
	if (bpfi_map_mmap_range(hdr, pgoff, &arena_off, &max_len) || len > max_len)
		return RT_ERR_PTR(-EINVAL);
	return map_arena(addr, len, prot, flags, arena_off);
}

/*
 * perf_mmap(): a user page and 2^n data pages at offset 0. The first mmap sizes the buffer and
 * allocates it in the arena; later ones must ask for the same size.
 */
static void *mmap_perf(struct rt_obj *obj, void *addr, size_t len, int prot, int flags,
		       uint64_t pgoff)
{
	uint64_t nr_pages = len / PAGE - 1, off;
	int err = 0;

	if (pgoff != 0 || (nr_pages & (nr_pages - 1)))
		return RT_ERR_PTR(-EINVAL);
	pthread_mutex_lock(&runtime__rt.lock);
	if (!obj->perf.perfbuf_off) {
		err = bpfi_perfbuf_new(runtime__rt.arena, (uint32_t)nr_pages, &off, NULL);
		if (!err) {
			obj->perf.perfbuf_off = off;
			obj->perf.data_pages = (uint32_t)nr_pages;
		}
	} else if (obj->perf.data_pages != nr_pages) {
		err = -EINVAL;
	}
	off = obj->perf.perfbuf_off;
	pthread_mutex_unlock(&runtime__rt.lock);
	if (err)
		return RT_ERR_PTR(err);
	/* Writable: libbpf advances data_tail in the user page. */
	return map_arena(addr, len, prot, flags, off);
}

void *runtime__mmap(struct rt_obj *obj, void *addr, size_t len, int prot, int flags, off_t off)
{
	void *p;

	if (!len || (off & (PAGE - 1)) || off < 0)
		return RT_ERR_PTR(-EINVAL);
	if ((flags & MAP_TYPE) != MAP_SHARED && (flags & MAP_TYPE) != MAP_SHARED_VALIDATE)
		return RT_ERR_PTR(-EINVAL);
	len = ALIGN_UP(len, (size_t)PAGE);

	switch (obj->kind) {
	case RT_MAP:
		p = mmap_map(obj, addr, len, prot, flags, (uint64_t)off / PAGE);
		break;
	case RT_PERF:
		p = mmap_perf(obj, addr, len, prot, flags, (uint64_t)off / PAGE);
		break;
	default:
		return RT_ERR_PTR(-ENODEV);
	}
	if (!RT_IS_ERR(p))
		record(p, len, obj, prot & PROT_WRITE);
	return p;
}

bool runtime__map_mmapped_writable(uint32_t map_id)
{
	bool found = false;

	pthread_mutex_lock(&mappings.lock);
	for (uint32_t i = 0; i < mappings.nr && !found; i++) {
		const struct mapping *m = &mappings.list[i];

		found = m->kind == RT_MAP && m->id == map_id && m->writable;
	}
	pthread_mutex_unlock(&mappings.lock);
	return found;
}

int runtime__munmap(void *addr, size_t len, bool *ret_handled)
{
	uintptr_t lo = (uintptr_t)addr;
	bool ours;

	pthread_mutex_lock(&mappings.lock);
	ours = forget_range(lo, lo + ALIGN_UP(len, (size_t)PAGE));
	pthread_mutex_unlock(&mappings.lock);
	*ret_handled = ours;
	return ours ? sys_munmap(addr, len) : 0;
}
