// SPDX-License-Identifier: MIT
/*
 * One injected process (DESIGN.md §2, D2, D4, D5, D8): the stub, the arena, the target block
 * and the per-thread state mapped into it, code areas for JIT'd programs and trampolines,
 * and the sites patched in one short stop of every thread.
 *
 *   host                                      target
 *   stub memfd      (RW, a copy of the image)  R-X   anywhere (called by absolute address)
 *   arena memfd     (RW, the session's)        R--   its meta region (map headers: host-only)
 *                                              RW    then its data region: maps' storage
 *   block memfd     (RW, struct bpfi_target_hdr) RW  env, helper and program tables, sites
 *   -                                          RW    per-thread state, private, WIPEONFORK
 *   code memfds     (RW)                       R-X   each within ±2 GiB of the sites it serves
 *
 * Setting up stops the target only while remote system calls run; patching stops it again
 * just for the writes (after checking no thread executes the bytes being replaced). Nothing
 * mapped is ever unmapped: a thread may still be inside a trampoline or owe a return to the
 * return trampoline when we leave (D8).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpfinject/abi.h>

#include "injector_internal.h"

#define MADV_WIPEONFORK_ 18
/* Tries at finding no thread inside a window being patched, 1 ms apart. */
#define PATCH_TRIES 20
/* How much of a function is read to check it: branches into the window, the site's start. */
#define FUNC_SCAN_MAX (256 * 1024)

static int new_memfd(const char *name, size_t size, void **ret_map, struct bpfi_log *log)
{
	int fd = memfd_create(name, MFD_CLOEXEC), err;
	void *p;

	if (fd < 0)
		return bpfi_log_err(log, -errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(fd, (off_t)size)) {
		err = -errno;
		close(fd);
		return bpfi_log_err(log, err, "ftruncate of %s: %s", name, strerror(-err));
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		close(fd);
		return bpfi_log_err(log, err, "mmap of %s: %s", name, strerror(-err));
	}
	*ret_map = p;
	return fd;
}

/* Gives the target our @fd mapped with @prot (near @near if non-zero) and closes its copy. */
static int share_fd(struct bpfi_target *t, int fd, size_t size, int prot, uint64_t near,
		    uint64_t *ret_addr, struct bpfi_log *log)
{
	long args[1], r;
	int tfd, err;

	err = bpfi_injector_send_fd(t->inj, fd, &tfd, log);
	if (err)
		return err;
	err = bpfi_injector_map_fd(t->inj, tfd, size, prot, near, ret_addr, log);
	args[0] = tfd;
	bpfi_injector_syscall(t->inj, SYS_close, args, 1, &r, NULL);
	return err;
}

/*
 * The arena: its meta region read-only, from an O_RDONLY open of the memfd (a shared mapping
 * without VM_MAYWRITE: the target can neither mprotect it writable nor write it through
 * /proc/self/mem), then the data region read-write over the rest, from the read-write fd (it
 * starts after the meta region, and mremap only grows a mapping forward). Neither fd stays
 * open in the target, so it cannot map the meta region writable again. See maps_internal.h.
 */
static int share_arena(struct bpfi_target *t, int fd, const struct bpfi_arena_hdr *ah,
		       struct bpfi_log *log)
{
	char path[64];
	long args[6], r;
	int ro, tfd, err;

	if (ah->meta_size < BPFI_ARENA_HDR_SIZE || ah->meta_size >= ah->size ||
	    ah->meta_size % BPFI_PAGE_SIZE)
		return bpfi_log_err(log, -EINVAL, "bug: arena meta region of %llu bytes",
				    (unsigned long long)ah->meta_size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		return bpfi_log_err(log, -errno, "arena: cannot open it read-only: %s",
				    strerror(errno));
	err = share_fd(t, ro, ah->size, PROT_READ, 0, &t->arena, log);
	close(ro);
	if (err)
		return err;
	err = bpfi_injector_send_fd(t->inj, fd, &tfd, log);
	if (err)
		return err;
	args[0] = (long)(t->arena + ah->meta_size);
	args[1] = (long)(ah->size - ah->meta_size);
	args[2] = PROT_READ | PROT_WRITE;
	args[3] = MAP_SHARED | MAP_FIXED;
	args[4] = tfd;
	args[5] = (long)ah->meta_size;
	err = bpfi_injector_syscall(t->inj, SYS_mmap, args, 6, &r, log);
	if (!err && r != args[0])
		err = bpfi_log_err(log, r < 0 && r > -4096 ? (int)r : -ENOMEM,
				   "mmap in process %d: arena data region: %s", t->pid,
				   strerror(r < 0 && r > -4096 ? (int)-r : ENOMEM));
	args[0] = tfd;
	bpfi_injector_syscall(t->inj, SYS_close, args, 1, &r, NULL);
	return err;
}

static void resume(struct bpfi_target *t)
{
	bpfi_injector_detach(t->inj);
	t->inj = NULL;
}

/*
 * Holds the target: just its main thread for remote system calls (@all false), or every
 * thread for patching. A hold of one thread is widened by releasing and stopping all.
 */
static int hold(struct bpfi_target *t, bool all, struct bpfi_log *log)
{
	struct bpfi_injector_opts o = { .sz = sizeof(o),
					.timeout_ms = t->timeout_ms,
					.one_thread = !all,
					.borrow = t->traced };

	int err;

	if (t->inj && (!all || t->all_held))
		return 0;
	if (t->inj)
		resume(t);
	t->all_held = all;
	err = bpfi_injector_attach(t->pid, &o, &t->inj, log);
	/* A process that exec'd since has a new image: no address we know is ours any more, and
	 * nothing may be written there (not even the bytes we would "restore"). */
	if (!err && t->block_addr &&
	    !injector__maps_has(t->pid, t->block_addr, "bpfinject-target")) {
		resume(t);
		return bpfi_log_err(log, -ESRCH, "process %d has exec'd since it was injected",
				    t->pid);
	}
	return err;
}

static int stop(struct bpfi_target *t, struct bpfi_log *log)
{
	return hold(t, false, log);
}

int inject__hold_one(struct bpfi_target *t, struct bpfi_log *log)
{
	return stop(t, log);
}

/*
 * The stub: uploaded once; its helpers' addresses there come from running its own fill here.
 * Behind the image, in the same mapping, room for the catch-all's syscall gadgets
 * (catch_all.c): the kernel lets one address range make system calls, so both share it. It
 * costs address space only until a gadget is written.
 */
static int upload_stub(struct bpfi_target *t, struct bpfi_log *log)
{
	const uint8_t *image;
	size_t size, map_size;
	void *host, *local;
	int fd, err;

	err = bpfi_stub_image(&image, &size, log);
	if (err)
		return err;
	memcpy(&t->stub_hdr, image, sizeof(t->stub_hdr));
	t->gadgets_off = (size + 4095) & ~(size_t)4095;
	map_size = t->gadgets_off + GADGET_AREA_SIZE;
	fd = new_memfd("bpfinject-stub", map_size, &host, log);
	if (fd < 0)
		return fd;
	memcpy(host, image, size);
	((struct bpfi_stub_header *)host)->block = t->block_addr;
	t->stub_host = host;
	t->stub_size = map_size;
	err = share_fd(t, fd, map_size, PROT_READ | PROT_EXEC, 0, &t->stub, log);
	if (!err) {
		/* Run the image's own fill locally: offsets of its helpers = their addresses there. */
		local = mmap(NULL, map_size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
		if (local == MAP_FAILED) {
			err = bpfi_log_err(log, -errno, "mmap of the stub: %s", strerror(errno));
		} else {
			bpfi_helper_fn table[BPFI_HELPER_MAX] = { 0 };

			((void (*)(bpfi_helper_fn *))(uintptr_t)((uint8_t *)local +
								 t->stub_hdr.helpers_fill))(table);
			for (int id = 0; id < BPFI_HELPER_MAX; id++)
				t->block->helpers[id] =
					table[id] ? (bpfi_helper_fn)(uintptr_t)(t->stub +
										((uintptr_t)
											 table[id] -
										 (uintptr_t)local))
						  : NULL;
			munmap(local, map_size);
		}
	}
	close(fd);
	return err;
}

/*
 * Whether every thread as we found it keeps its TCB's self pointer at %fs:0 (glibc, musl): the
 * stub's lookup by thread pointer. Not in Go's threads (%fs:0 is a word of Go's TLS), nor in
 * a program without libc, whose %fs may be 0 (reading %fs:0 there would kill it).
 */
static bool tls_self_pointers(const struct bpfi_target *t)
{
	for (unsigned int i = 0; i < t->inj->nr_threads; i++) {
		const struct inj_thread *th = &t->inj->threads[i];
		uint64_t word = 0;

		if (th->gone || !th->saved.rip) /* exited as we attached: no registers */
			continue;
		if (!th->saved.fs_base ||
		    bpfi_injector_read(t->inj, th->saved.fs_base, &word, sizeof(word), NULL) ||
		    word != th->saved.fs_base)
			return false;
	}
	return true;
}

/* Per-thread state: private to the target and wiped in forked children (D6). */
static int map_thread_state(struct bpfi_target *t, struct bpfi_log *log)
{
	size_t size = BPFI_MAX_THREADS * sizeof(struct bpfi_thread_state);
	long args[6] = {
		0, (long)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0
	};
	long addr, r;
	int err;

	err = bpfi_injector_syscall(t->inj, SYS_mmap, args, 6, &addr, log);
	if (err)
		return err;
	if ((unsigned long)addr > -4096UL)
		return bpfi_log_err(log, (int)addr, "mmap in process %d: %s", t->pid,
				    strerror((int)-addr));
	args[0] = addr;
	args[2] = MADV_WIPEONFORK_;
	err = bpfi_injector_syscall(t->inj, SYS_madvise, args, 3, &r, log);
	if (!err && r)
		err = bpfi_log_err(log, (int)r, "madvise(MADV_WIPEONFORK) in process %d: %s",
				   t->pid, strerror((int)-r));
	t->block->threads = (uint64_t)addr | (tls_self_pointers(t) ? 0 : BPFI_THREADS_BY_ID);
	return err;
}

/*
 * The target's vDSO clock_gettime, so that ktime helpers make no system call there. The
 * vDSO is the kernel's, the same bytes in every process: the symbol's offset in ours,
 * added to where the target has its own. 0 when either has none.
 */
static uint64_t target_vdso_clock(pid_t pid)
{
	uint64_t ours = getauxval(AT_SYSINFO_EHDR), start, end, ours_end, off;

	if (!ours || injector__find_vdso(getpid(), &start, &ours_end) ||
	    bpfi_elf_image_symbol((const void *)(uintptr_t)ours, ours_end - ours,
				  "__vdso_clock_gettime", &off) ||
	    injector__find_vdso(pid, &start, &end) || end - start != ours_end - ours)
		return 0;
	return start + off;
}

static void fill_env(struct bpfi_target *t, const struct bpfi_arena_hdr *ah)
{
	struct bpfi_target_hdr *b = t->block;

	b->magic = BPFI_TARGET_MAGIC;
	b->version = BPFI_TARGET_VERSION;
	b->size = (uint32_t)sizeof(*b);
	b->self = t->block_addr;
	b->stub = t->stub;
	b->owner = (uint64_t)getpid();
	b->env.arena = (char *)(uintptr_t)t->arena;
	b->env.nr_cpus = ah->nr_cpus;
	b->env.unwind_helper_id = -1;
	b->env.helpers =
		(const bpfi_helper_fn *)(uintptr_t)(t->block_addr +
						    offsetof(struct bpfi_target_hdr, helpers));
	b->env.progs = (const struct bpfi_prog_entry *)(uintptr_t)(t->block_addr +
								   offsetof(struct bpfi_target_hdr,
									    progs));
	b->env.max_progs = BPFI_MAX_PROGS;
	b->env.printk_ring = ah->printk_off
				     ? (struct bpfi_map_hdr *)(uintptr_t)(t->arena + ah->printk_off)
				     : NULL;
	b->env.hwcaps = bpfi_helpers_hwcaps();
	b->env.threads = b->threads;
	b->env.clock_gettime = (int (*)(int, void *))(uintptr_t)target_vdso_clock(t->pid);
}

int bpfi_target_open(pid_t pid, const struct bpfi_target_opts *opts, struct bpfi_target **ret_t,
		     struct bpfi_log *log)
{
	struct bpfi_arena_hdr ah;
	struct bpfi_target *t;
	void *block;
	int err;

	/* opts->inj is ours from here on, whatever happens: let go on failure. */
	if (pread(opts->arena_fd, &ah, sizeof(ah), 0) != sizeof(ah) ||
	    ah.magic != BPFI_ARENA_MAGIC) {
		bpfi_injector_detach(opts->inj);
		return bpfi_log_err(log, -EINVAL, "bug: fd %d is not an arena", opts->arena_fd);
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		bpfi_injector_detach(opts->inj);
		return -ENOMEM;
	}
	t->pid = pid;
	t->timeout_ms = opts->timeout_ms;
	t->inj = opts->inj;
	t->hold = opts->inj != NULL;
	t->all_held = t->hold; /* held at main before any thread of its own exists */
	/* A borrowed session: we trace the process (a followed tree), so we hold it that way. */
	t->traced = opts->inj && opts->inj->borrowed;
	t->block_fd = new_memfd("bpfinject-target", sizeof(*t->block), &block, log);
	if (t->block_fd < 0) {
		err = t->block_fd;
		bpfi_injector_detach(opts->inj);
		free(t);
		return err;
	}
	t->block = block;
	err = stop(t, log);
	if (!err)
		err = share_fd(t, t->block_fd, sizeof(*t->block), PROT_READ | PROT_WRITE, 0,
			       &t->block_addr, log);
	if (!err)
		err = share_arena(t, opts->arena_fd, &ah, log);
	if (!err)
		err = upload_stub(t, log);
	if (!err)
		err = map_thread_state(t, log);
	if (t->inj && !t->hold)
		resume(t);
	if (err) {
		bpfi_target_close(t);
		return err;
	}
	fill_env(t, &ah);
	*ret_t = t;
	return 0;
}

void bpfi_target_close(struct bpfi_target *t)
{
	if (!t)
		return;
	if (t->inj)
		resume(t);
	for (unsigned int i = 0; i < t->nr_areas; i++) {
		munmap(t->areas[i].host, CODE_AREA_SIZE);
		close(t->areas[i].fd);
	}
	if (t->stub_host)
		munmap(t->stub_host, t->stub_size);
	if (t->block)
		munmap(t->block, sizeof(*t->block));
	if (t->block_fd >= 0)
		close(t->block_fd);
	free(t->sites);
	free(t);
}

struct bpfi_target_hdr *bpfi_target_block(const struct bpfi_target *t)
{
	return t->block;
}

uint64_t bpfi_target_arena_addr(const struct bpfi_target *t)
{
	return t->arena;
}

void bpfi_target_jit_opts(const struct bpfi_target *t, struct bpfi_jit_opts *opts,
			  uint64_t helper_addrs[BPFI_HELPER_MAX])
{
	for (int id = 0; id < BPFI_HELPER_MAX; id++)
		helper_addrs[id] = (uint64_t)(uintptr_t)t->block->helpers[id];
	memset(opts, 0, sizeof(*opts));
	opts->sz = sizeof(*opts);
	opts->env_addr = t->block_addr + offsetof(struct bpfi_target_hdr, env);
	opts->helper_addrs = helper_addrs;
	opts->nr_helpers = BPFI_HELPER_MAX;
	opts->unwind_helper_id = -1;
	opts->tail_call_addr = t->stub + t->stub_hdr.tail_call_target;
}

/* A code area within reach of @near (any when 0), with @len bytes free. */
static struct code_area *area_for(struct bpfi_target *t, uint64_t near, size_t len,
				  struct bpfi_log *log)
{
	const uint64_t reach = (2ull << 30) - (CODE_AREA_SIZE * 2ull);
	struct code_area *a;
	void *host;
	int err;

	for (unsigned int i = 0; i < t->nr_areas; i++) {
		a = &t->areas[i];
		if (a->used + len > CODE_AREA_SIZE)
			continue;
		if (!near || (a->addr > near ? a->addr - near : near - a->addr) < reach)
			return a;
	}
	if (t->nr_areas == MAX_CODE_AREAS) {
		bpfi_log_err(log, -E2BIG, "process %d: too many code areas", t->pid);
		return NULL;
	}
	a = &t->areas[t->nr_areas];
	a->fd = new_memfd("bpfinject-code", CODE_AREA_SIZE, &host, log);
	if (a->fd < 0)
		return NULL;
	a->host = host;
	a->used = 0;
	err = stop(t, log);
	if (!err)
		err = share_fd(t, a->fd, CODE_AREA_SIZE, PROT_READ | PROT_EXEC, near, &a->addr,
			       log);
	if (err) {
		munmap(a->host, CODE_AREA_SIZE);
		close(a->fd);
		return NULL;
	}
	t->nr_areas++;
	return a;
}

int bpfi_target_add_code(struct bpfi_target *t, const void *code, size_t len, uint64_t near,
			 uint64_t *ret_addr, struct bpfi_log *log)
{
	struct code_area *a = area_for(t, near, len + 16, log);

	if (!a)
		return -ENOMEM;
	a->used = (a->used + 15) & ~(size_t)15;
	memcpy(a->host + a->used, code, len);
	*ret_addr = a->addr + a->used;
	a->used += len;
	return 0;
}

int bpfi_target_set_prog(struct bpfi_target *t, uint32_t id, uint64_t fn, uint64_t tail_entry)
{
	if (id >= BPFI_MAX_PROGS)
		return -E2BIG;
	t->block->progs[id].jit_func = (bpfi_jit_fn)(uintptr_t)fn;
	t->block->progs[id].tail_entry = tail_entry;
	return 0;
}

static struct pending_site *find_site(struct bpfi_target *t, uint64_t addr)
{
	for (unsigned int i = 0; i < t->nr_sites; i++) {
		if (t->sites[i].addr == addr)
			return &t->sites[i];
	}
	return NULL;
}

/*
 * A call displaced from @addr's window is made so that unwinders can pass it only in code
 * that unwinds (Go, C++ exceptions): elsewhere the cheaper form, whose return is predicted.
 */
static bool unwindable_call(const struct bpfi_target *t, uint64_t addr)
{
	char path[512];

	return injector__file_at(t->pid, addr, path, sizeof(path)) ||
	       injector__module_unwinds(path);
}

/* The same, with a buffer for @scan bytes of the function. */
static int new_site_in(struct bpfi_target *t, uint64_t addr, uint64_t func, uint64_t func_size,
		       uint8_t *bytes, size_t scan, struct pending_site **ret, struct bpfi_log *log)
{
	uint32_t n = atomic_load(&t->block->nr_sites);
	uint8_t tramp[BPFI_TRAMP_MAX];
	struct bpfi_relocation r;
	struct pending_site *ps, *grown;
	struct code_area *a;
	size_t len;
	uint64_t at;
	int32_t rel;
	bool mid;
	int err;

	err = stop(t, log);
	if (!err)
		err = bpfi_injector_read(t->inj, func, bytes, scan, log);
	if (!err && addr != func)
		err = bpfi_hook_check_boundary(bytes, scan, func, addr, log);
	if (err)
		return err;
	/* Only a known function start has dead flags; anywhere else they are kept. */
	mid = !(func_size && addr == func);
	a = area_for(t, addr, BPFI_TRAMP_MAX + 16, log);
	if (!a)
		return -ENOMEM;
	a->used = (a->used + 15) & ~(size_t)15;
	at = a->addr + a->used;
	err = bpfi_hook_relocate_call(bytes + (addr - func), scan - (addr - func), addr,
				      at + bpfi_tramp_reloc_offset(mid, true),
				      unwindable_call(t, addr), &r, log);
	if (!err && addr != func)
		err = bpfi_hook_check_branches(bytes, scan, func, addr, r.patch_len, log);
	if (err)
		return err;
	{
		struct bpfi_tramp_opts o = {
			.site_addr = addr,
			.tramp_addr = at,
			.reloc_addr = at + bpfi_tramp_reloc_offset(mid, true),
			.reloc = &r,
			.dispatch_addr = t->stub + t->stub_hdr.dispatch_entry,
			.cookie = t->block_addr + offsetof(struct bpfi_target_hdr, sites) +
				  n * sizeof(struct bpfi_site),
			.mid_function = mid,
			.push_return_addr = t->stub + t->stub_hdr.dispatch_push_return,
		};

		err = bpfi_tramp_build(&o, tramp, sizeof(tramp), &len, log);
	}
	if (err)
		return err;
	grown = realloc(t->sites, (t->nr_sites + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	t->sites = grown;
	memcpy(a->host + a->used, tramp, len);
	a->used += len;
	ps = &t->sites[t->nr_sites++];
	memset(ps, 0, sizeof(*ps));
	ps->site = &t->block->sites[n];
	ps->site->addr = addr;
	ps->site->block = t->block_addr;
	ps->addr = addr;
	ps->patch_len = r.patch_len;
	memcpy(ps->orig, bytes + (addr - func), BPFI_PATCH_LEN);
	ps->jmp[0] = 0xe9;
	rel = (int32_t)(at - (addr + BPFI_PATCH_LEN));
	memcpy(ps->jmp + 1, &rel, 4);
	memcpy(ps->site->orig, ps->orig, BPFI_PATCH_LEN);
	memcpy(ps->site->jump, ps->jmp, BPFI_PATCH_LEN);
	ps->site->patch_len = ps->patch_len;
	atomic_store(&t->block->nr_sites, n + 1);
	*ret = ps;
	return 0;
}

/* A new site at @addr: relocate its entry, build its trampoline near it, prepare the jump. */
static int new_site(struct bpfi_target *t, uint64_t addr, uint64_t func, uint64_t func_size,
		    struct pending_site **ret, struct bpfi_log *log)
{
	uint32_t n = atomic_load(&t->block->nr_sites);
	uint8_t *bytes;
	size_t scan;
	int err;

	if (n == BPFI_MAX_SITES)
		return bpfi_log_err(log, -E2BIG, "process %d: more than %d hooked addresses",
				    t->pid, BPFI_MAX_SITES);
	/*
	 * The function from its start, so that branches into the window are seen and, for a
	 * site inside it, that the site starts an instruction. A site inside a function of
	 * unknown extent cannot be checked and is refused.
	 */
	if (addr != func && (!func_size || addr < func || addr - func >= func_size))
		return bpfi_log_err(log, -EINVAL,
				    "site 0x%llx: %s: cannot check that it starts an instruction",
				    (unsigned long long)addr,
				    !func_size ? "inside no function of known size"
					       : "past the function's end");
	if (addr != func && addr - func + 256 > FUNC_SCAN_MAX)
		return bpfi_log_err(log, -E2BIG,
				    "site 0x%llx: %llu bytes into its function, further than %d",
				    (unsigned long long)addr, (unsigned long long)(addr - func),
				    FUNC_SCAN_MAX - 256);
	scan = !func_size ? 256 : func_size < FUNC_SCAN_MAX ? func_size : FUNC_SCAN_MAX;
	bytes = malloc(scan);
	if (!bytes)
		return -ENOMEM;
	err = new_site_in(t, addr, func, func_size, bytes, scan, ret, log);
	free(bytes);
	return err;
}

int bpfi_target_add_probe(struct bpfi_target *t, uint64_t addr, uint64_t func, uint64_t func_size,
			  bool retprobe, uint64_t prog_fn, struct bpfi_log *log)
{
	struct pending_site *ps = find_site(t, addr);
	struct bpfi_site *s;
	int err;

	if (!ps) {
		err = new_site(t, addr, func, func_size, &ps, log);
		if (err)
			return err;
	}
	s = ps->site;
	if ((retprobe ? s->nr_return : s->nr_entry) == BPFI_SITE_MAX_PROGS)
		return bpfi_log_err(log, -E2BIG, "0x%llx: more than %d programs on one address",
				    (unsigned long long)addr, BPFI_SITE_MAX_PROGS);
	/* Publish the program before the count that makes dispatch read it. */
	if (retprobe) {
		if (!t->block->ret_tramp) {
			uint8_t code[BPFI_TRAMP_MAX];
			size_t len;

			err = bpfi_tramp_build_return(t->stub + t->stub_hdr.dispatch_return,
						      t->block_addr, code, sizeof(code), &len, log);
			if (!err)
				err = bpfi_target_add_code(t, code, len, 0, &t->block->ret_tramp,
							   log);
			if (err)
				return err;
		}
		s->return_progs[s->nr_return] = prog_fn;
		atomic_thread_fence(memory_order_release);
		s->nr_return++;
	} else {
		s->entry_progs[s->nr_entry] = prog_fn;
		atomic_thread_fence(memory_order_release);
		s->nr_entry++;
	}
	return 0;
}

/* Is a thread about to execute the middle of a window (between instruction starts we move)? */
static bool threads_in_windows(const struct bpfi_target *t, uint64_t *ret_rip)
{
	for (unsigned int i = 0; i < t->inj->nr_threads; i++) {
		const struct inj_thread *th = &t->inj->threads[i];

		if (th->gone)
			continue;
		for (unsigned int s = 0; s < t->nr_sites; s++) {
			const struct pending_site *ps = &t->sites[s];

			if (!ps->patched && th->saved.rip > ps->addr &&
			    th->saved.rip < ps->addr + ps->patch_len) {
				*ret_rip = th->saved.rip;
				return true;
			}
		}
	}
	return false;
}

/* Stops every thread at a moment none is inside a window; retries a few times. */
static int stop_outside_windows(struct bpfi_target *t, struct bpfi_log *log)
{
	struct timespec ms = { 0, 1000000 };
	uint64_t rip = 0;
	int err;

	for (int try = 0; try < PATCH_TRIES; try++) {
		err = hold(t, true, log);
		if (err)
			return err;
		if (!threads_in_windows(t, &rip))
			return 0;
		resume(t);
		nanosleep(&ms, NULL);
	}
	return bpfi_log_err(
		log, -EBUSY,
		"process %d keeps executing 0x%llx, inside bytes to be patched; try again", t->pid,
		(unsigned long long)rip);
}

int bpfi_target_commit(struct bpfi_target *t, struct bpfi_log *log)
{
	uint8_t now[BPFI_PATCH_LEN];
	int err;

	if (t->inj && !t->hold)
		resume(t); /* setup is done: let the target run until the patch itself */
	t->hold = false;
	err = stop_outside_windows(t, log);
	for (unsigned int i = 0; i < t->nr_sites && !err; i++) {
		struct pending_site *ps = &t->sites[i];

		if (ps->patched)
			continue;
		err = bpfi_injector_read(t->inj, ps->addr, now, sizeof(now), log);
		if (!err && memcmp(now, ps->orig, sizeof(now)))
			err = bpfi_log_err(log, -EBUSY,
					   "0x%llx in process %d changed since it was planned",
					   (unsigned long long)ps->addr, t->pid);
		if (!err)
			err = bpfi_injector_write(t->inj, ps->addr, ps->jmp, sizeof(ps->jmp), log);
		if (!err) {
			ps->patched = true;
			ps->site->patched = 1;
		}
	}
	if (!err) /* syscall sites (inject_syscalls.c), in the same stop */
		err = inject__syscalls_commit(t, log);
	if (t->inj)
		resume(t);
	if (err)
		bpfi_target_restore(t, NULL); /* all or nothing */
	return err;
}

int bpfi_target_restore(struct bpfi_target *t, struct bpfi_log *log)
{
	int err = hold(t, true, log), first = 0;

	for (unsigned int i = 0; i < t->nr_sites && !err; i++) {
		struct pending_site *ps = &t->sites[i];

		/* Programs stop running before the bytes come back; trampolines stay mapped. */
		ps->site->nr_entry = 0;
		ps->site->nr_return = 0;
		if (!ps->patched)
			continue;
		err = bpfi_injector_write(t->inj, ps->addr, ps->orig, sizeof(ps->orig), log);
		if (!err) {
			ps->patched = false;
			ps->site->patched = 0;
		} else if (!first)
			first = err;
	}
	if (!err) { /* syscall sites (inject_syscalls.c), in the same stop */
		int sc_err = inject__syscalls_restore(t, log);

		if (!first)
			first = sc_err;
	}
	if (t->inj)
		resume(t);
	return err ? err : first;
}
