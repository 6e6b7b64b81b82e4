/* SPDX-License-Identifier: MIT */
/*
 * The userspace bpf(2) (DESIGN.md D1): the object table of maps, programs, BTF, links and
 * perf events, answering what libbpf, libbpf-tools and bpftrace ask of the kernel. Every
 * object is a real fd (a memfd), so close, dup and mmap behave.
 *
 * The runtime is process-wide, like the kernel it stands in for. Front ends route system
 * calls here: the CLI links the static libbpf with -Wl,--wrap= (runtime/wrap.c), the shim
 * preloads the same entry points.
 */
#ifndef BPFINJECT_RUNTIME_H
#define BPFINJECT_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <bpfinject/arena.h>
#include <bpfinject/common.h>
#include <bpfinject/helpers.h>
#include <bpfinject/jit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whose verdict a program needs before it runs (--verify). */
enum bpfi_verify_mode {
	BPFI_VERIFY_OURS = 0, /* verifier/ */
	BPFI_VERIFY_KERNEL = 1, /* the running kernel's verifier alone (root or CAP_BPF) */
	BPFI_VERIFY_BOTH = 2, /* both must accept */
};

struct bpfi_runtime_opts {
	size_t sz;
	size_t arena_size; /* 0: default (256 MiB, sparse) */
	enum bpfi_jit_backend backend; /* how PROG_TEST_RUN runs programs here */
	bool no_verify; /* skip the load-time check (warned about by the CLI) */
	enum bpfi_verify_mode verify;
};
#define bpfi_runtime_opts__last_field verify

/** @brief **bpfi_runtime_init()** creates the arena and the object table. Once per process. */
int bpfi_runtime_init(const struct bpfi_runtime_opts *opts, struct bpfi_log *log);
/** @brief **bpfi_runtime_fini()** closes every object and the arena. */
void bpfi_runtime_fini(void);
bool bpfi_runtime_active(void);

/* The system calls, answered: the same return conventions as the raw syscall (-errno). */
long bpfi_runtime_bpf(int cmd, void *attr, unsigned int size);
long bpfi_runtime_perf_event_open(void *attr, pid_t pid, int cpu, int group_fd,
				  unsigned long flags);

/*
 * fd-based calls: each returns true in @ret_handled when @fd is one of ours, and then it has
 * done the call itself (bpfi_runtime_close() has closed @fd); otherwise the caller makes the
 * real call. Errors are -errno; bpfi_runtime_mmap() returns the address or (void *)-errno.
 * bpfi_runtime_ioctl() expects bpfi_runtime_owns_fd(@fd). bpfi_runtime_epoll_wait() serves
 * every epoll fd (its events merge ours with the kernel's).
 */
bool bpfi_runtime_owns_fd(int fd);
long bpfi_runtime_ioctl(int fd, unsigned long request, unsigned long arg);
void *bpfi_runtime_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off,
			bool *ret_handled);
int bpfi_runtime_munmap(void *addr, size_t len, bool *ret_handled);
int bpfi_runtime_close(int fd, bool *ret_handled);
int bpfi_runtime_epoll_ctl(int epfd, int op, int fd, void *event, bool *ret_handled);
int bpfi_runtime_epoll_wait(int epfd, void *events, int maxevents, int timeout);

/* For the CLI. */
struct bpfi_arena *bpfi_runtime_arena(void);
const struct bpfi_env *bpfi_runtime_env(void);

/** One trace_printk line, as the helper recorded it. */
struct bpfi_printk_line {
	uint64_t ts_ns;
	uint32_t pid;
	uint32_t tid;
	uint32_t cpu;
	char comm[16];
	const char *msg; /* NUL-terminated, valid during the callback */
};

/**
 * @brief **bpfi_runtime_drain_printk()** calls @fn for each trace_printk line not yet
 * consumed. @return the number of lines
 */
int bpfi_runtime_drain_printk(void (*fn)(const struct bpfi_printk_line *line, void *cookie),
			      void *cookie);

/**
 * struct bpfi_runtime_attach - a program recorded on a perf event (tracepoint or uprobe), by
 * LINK_CREATE or PERF_EVENT_IOC_SET_BPF. Rewriting the target to fire it comes later.
 * @name: uprobe: the path; tracepoint: "category:event" (NULL without tracefs); valid
 *        during the callback only
 */
struct bpfi_runtime_attach {
	uint32_t perf_id; /* the perf event's object id (PERF_EVENT_IOC_ID) */
	uint32_t prog_id;
	uint32_t link_id; /* 0: attached with PERF_EVENT_IOC_SET_BPF */
	uint32_t perf_type; /* PERF_TYPE_TRACEPOINT (2) or the uprobe PMU's type */
	uint64_t config; /* tracepoint id; uprobe: bit 0 retprobe, bits 32-63 ref_ctr_offset */
	uint64_t offset; /* uprobe: file offset of the probed instruction */
	uint64_t cookie; /* bpf_cookie of the link */
	const char *name;
	pid_t pid; /* -1: every process */
	int cpu;
	bool enabled;
	bool uprobe;
	bool retprobe;
};

/**
 * @brief **bpfi_runtime_foreach_attach()** calls @fn for each recorded attachment (a
 * snapshot: @fn may call into the runtime); a non-zero return from @fn stops the walk.
 * @return the number of attachments visited, or a negative errno
 */
int bpfi_runtime_foreach_attach(int (*fn)(const struct bpfi_runtime_attach *attach, void *cookie),
				void *cookie);

/**
 * @brief **bpfi_runtime_prog_compile_for()** JIT-compiles loaded program @prog_id for another
 * process of the session, whose arena is at @arena_addr and whose helpers and env @opts
 * describe. The image's bytes are ready to copy there.
 * @return 0, or -ENOENT (no such program) or the JIT's error, with one line in @log
 */
int bpfi_runtime_prog_compile_for(uint32_t prog_id, uint64_t arena_addr,
				  const struct bpfi_jit_opts *opts,
				  struct bpfi_jit_image **ret_image, struct bpfi_log *log);

/** @brief **bpfi_runtime_map_arena_off()** where map @map_fd's header is in the arena. */
int bpfi_runtime_map_arena_off(int map_fd, uint64_t *ret_off);

#ifdef __cplusplus
}
#endif

#endif
